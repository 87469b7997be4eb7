//! What an OFD document says, as values: document → pages → objects. Lengths are millimetres,
//! and positions are measured from the page's top-left corner with y growing downwards (OFD's
//! own coordinate system), so a model reads like the layout it describes.

/// One OFD document (one `DocBody`).
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// `DocInfo` in `OFD.xml`.
    pub info: DocInfo,
    /// The pages in reading order; at least one.
    pub pages: Vec<Page>,
    /// Objects drawn beneath every page (`TemplatePage`, `ZOrder="Background"`).
    pub template: Option<Template>,
    /// Machine-readable metadata pointing at what the pages show (`CustomTags`).
    pub custom_tags: Vec<CustomTag>,
}

/// Document metadata (`DocInfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocInfo {
    /// `DocID`: 128 bits written as 32 lowercase hex digits (a UUID without dashes).
    pub doc_id: [u8; 16],
    /// `Title`, if any.
    pub title: Option<String>,
    /// `CreationDate`.
    pub creation_date: time::Date,
    /// `Creator`: the application that made the file.
    pub creator: String,
    /// `CreatorVersion`, if any.
    pub creator_version: Option<String>,
    /// `CustomDatas`: (name, value) pairs in this order.
    pub custom_data: Vec<(String, String)>,
}

impl DocInfo {
    /// Metadata naming this build of sidian as the creator, with no title and no custom data.
    pub fn new(doc_id: [u8; 16], creation_date: time::Date) -> Self {
        DocInfo {
            doc_id,
            title: None,
            creation_date,
            creator: "sidian".to_owned(),
            creator_version: Some(env!("CARGO_PKG_VERSION").to_owned()),
            custom_data: Vec::new(),
        }
    }
}

/// One page.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// The page's physical size.
    pub size: Size,
    /// What the page shows, painted in this order (later objects cover earlier ones).
    pub objects: Vec<Object>,
}

/// A template page: objects every page shows beneath its own.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    /// What the template shows, painted in this order.
    pub objects: Vec<Object>,
}

/// Width and height in millimetres.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Size {
    /// Width.
    pub width: f64,
    /// Height.
    pub height: f64,
}

impl Size {
    /// ISO 216 A4 portrait, 210 × 297 mm.
    pub const A4: Size = Size {
        width: 210.0,
        height: 297.0,
    };
}

/// A point in millimetres from the page's top-left corner.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Distance from the left edge.
    pub x: f64,
    /// Distance from the top edge.
    pub y: f64,
}

/// A rectangle: its top-left corner and its size, in millimetres.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    /// Left edge.
    pub x: f64,
    /// Top edge.
    pub y: f64,
    /// Width.
    pub width: f64,
    /// Height.
    pub height: f64,
}

/// An sRGB colour, 8 bits per component (OFD's default colour space).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Color {
    /// Red.
    pub r: u8,
    /// Green.
    pub g: u8,
    /// Blue.
    pub b: u8,
}

impl Color {
    /// Black.
    pub const BLACK: Color = Color { r: 0, g: 0, b: 0 };
}

/// Something drawn on a page.
#[derive(Debug, Clone, PartialEq)]
pub enum Object {
    /// One line of text (`TextObject`).
    Text(Text),
    /// Lines and curves (`PathObject`).
    Path(Path),
    /// A picture (`ImageObject`).
    Image(Image),
}

/// One line of text in the bundled font (Noto Serif SC Bold: GB2312 hanzi, ASCII and common
/// punctuation); a character the font lacks is an error, never a blank box.
#[derive(Debug, Clone, PartialEq)]
pub struct Text {
    /// Where the line starts: the left end of its baseline.
    pub origin: Point,
    /// Font size (the em), in millimetres: 1 pt is 0.3528 mm.
    pub size: f64,
    /// Fill colour of the glyphs.
    pub color: Color,
    /// The characters, drawn one after the other at their advance widths.
    pub text: String,
}

/// A path, stroked, filled or both.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    /// The outline; it starts with [`Segment::MoveTo`].
    pub segments: Vec<Segment>,
    /// How the outline is stroked, if it is.
    pub stroke: Option<Stroke>,
    /// The fill colour (non-zero winding), if the path is filled.
    pub fill: Option<Color>,
}

impl Path {
    /// A straight line from `from` to `to`.
    pub fn line(from: Point, to: Point, stroke: Stroke) -> Self {
        Path {
            segments: vec![Segment::MoveTo(from), Segment::LineTo(to)],
            stroke: Some(stroke),
            fill: None,
        }
    }

    /// The outline of `rect`, stroked and/or filled.
    pub fn rect(rect: Rect, stroke: Option<Stroke>, fill: Option<Color>) -> Self {
        let corner = |dx: f64, dy: f64| Point {
            x: rect.x + dx,
            y: rect.y + dy,
        };
        Path {
            segments: vec![
                Segment::MoveTo(corner(0.0, 0.0)),
                Segment::LineTo(corner(rect.width, 0.0)),
                Segment::LineTo(corner(rect.width, rect.height)),
                Segment::LineTo(corner(0.0, rect.height)),
                Segment::Close,
            ],
            stroke,
            fill,
        }
    }
}

/// A stroke: line width and colour.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stroke {
    /// Line width in millimetres.
    pub width: f64,
    /// Line colour.
    pub color: Color,
}

/// One piece of a path outline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Segment {
    /// Start a new subpath here (`M`).
    MoveTo(Point),
    /// A straight line to here (`L`).
    LineTo(Point),
    /// A cubic Bézier curve through two control points to the third point (`B`).
    CubicTo(Point, Point, Point),
    /// Close the subpath with a straight line to its start (`C`).
    Close,
}

/// A PNG picture scaled into a rectangle.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    /// The PNG file; identical bytes are stored once however often they are drawn.
    pub png: Vec<u8>,
    /// Where the picture goes (it is stretched to fill it).
    pub rect: Rect,
}

/// A custom tag (GB/T 33190 §16): an XML file in a namespace of its own whose fields hold values
/// or point at the page objects that show them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomTag {
    /// `TypeID`: what kind of tag file this is.
    pub type_id: String,
    /// The XML namespace of the tag file (also written as `NameSpace`).
    pub namespace: String,
    /// Local name of the tag file's root element (an ASCII XML name).
    pub root: String,
    /// The root's children, in this order.
    pub fields: Vec<TagField>,
}

/// One field of a custom tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagField {
    /// Local name of the field's element (an ASCII XML name).
    pub name: String,
    /// What the field holds.
    pub content: TagContent,
}

/// The content of a [`TagField`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagContent {
    /// A value that no page shows as such.
    Value(String),
    /// The page objects that show the value (`ObjectRef`, by page and object ID).
    Objects(Vec<ObjectRef>),
}

/// A page object by position in the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectRef {
    /// Index into [`Document::pages`].
    pub page: usize,
    /// Index into that page's [`Page::objects`].
    pub object: usize,
}
