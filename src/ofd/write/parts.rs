//! The files of the package, built from the model: IDs, resources, text layout and the XML trees.

use std::collections::{BTreeSet, HashMap};

use super::font::Font;
use super::model::{
    Color, CustomTag, DocInfo, Document, Image, Object, Page, Path, Point, Rect, Segment, Size,
    TagContent, Text,
};
use super::xml::{self, El, num, nums, push_num};
use super::{Place, WriteError};

/// One file of the package.
pub(in crate::ofd) struct Part {
    /// Path inside the zip.
    pub(in crate::ofd) path: String,
    /// Its bytes.
    pub(in crate::ofd) data: Vec<u8>,
    /// How it is put in the zip.
    pub(in crate::ofd) packing: Packing,
}

/// How a file is put in the zip (`package.rs` says at which deflate levels and why).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::ofd) enum Packing {
    /// As it is: PNGs and seals are compressed already.
    Stored,
    /// Deflated: XML.
    Xml,
    /// Deflated: the embedded font.
    Font,
}

impl Part {
    fn xml(path: String, root: &El) -> Result<Part, WriteError> {
        Ok(Part {
            path,
            data: xml::to_bytes(root)?,
            packing: Packing::Xml,
        })
    }
}

/// The document's folder; one `DocBody`, so one document.
const DOC: &str = "Doc_0";
/// Resource files' folder, relative to the resource lists (their `BaseLoc`).
const RES: &str = "Res";
/// The template page, relative to `Document.xml`.
const TEMPLATE: &str = "Tpls/Tpl_0/Content.xml";
/// The custom tag list, relative to `Document.xml`.
const TAGS: &str = "Tags/CustomTags.xml";

/// Unique increasing IDs; the last one given is `MaxUnitID`.
#[derive(Default)]
struct Ids(u32);

impl Ids {
    fn next(&mut self) -> u32 {
        self.0 += 1;
        self.0
    }
}

/// What page objects refer to by ID.
struct Resources<'a> {
    /// The bundled font and its ID, when the document has text.
    font: Option<(Font, u32)>,
    /// Each distinct PNG with its ID, in first-use order.
    images: Vec<(&'a [u8], u32)>,
    /// The ID of each PNG by its bytes.
    image_ids: HashMap<&'a [u8], u32>,
}

/// Every file of the package for `doc`, in package order.
pub(super) fn parts(doc: &Document) -> Result<Vec<Part>, WriteError> {
    if doc.pages.is_empty() {
        return Err(WriteError::NoPages);
    }
    check_tags(doc)?;
    let mut ids = Ids::default();
    let (res, chars) = resources(doc, &mut ids)?;
    let mut body = Vec::new();

    if let Some((font, id)) = &res.font {
        let family = font.family()?;
        // Named after the family without spaces: easyofd registers the file under its name and
        // then looks the font up by FontName without spaces.
        let file = format!("{}.ttf", family.replace(' ', ""));
        let mut el = El::new("ofd:Font")
            .attr("ID", id)
            .attr("FontName", &family)
            .attr("FamilyName", &family);
        if font.is_bold() {
            el = el.attr("Bold", "true");
        }
        let list = El::root("ofd:Res")
            .attr("BaseLoc", RES)
            .child(El::new("ofd:Fonts").child(el.leaf("ofd:FontFile", file.clone())));
        body.push(Part::xml(format!("{DOC}/PublicRes.xml"), &list)?);
        body.push(Part {
            path: format!("{DOC}/{RES}/{file}"),
            data: font.subset(&chars)?,
            packing: Packing::Font,
        });
    }
    if !res.images.is_empty() {
        let media = res.images.iter().map(|(_, id)| {
            El::new("ofd:MultiMedia")
                .attr("ID", id)
                .attr("Type", "Image")
                .attr("Format", "PNG")
                .leaf("ofd:MediaFile", image_file(*id))
        });
        let list = El::root("ofd:Res")
            .attr("BaseLoc", RES)
            .child(El::new("ofd:MultiMedias").children(media));
        body.push(Part::xml(format!("{DOC}/DocumentRes.xml"), &list)?);
        for (png, id) in &res.images {
            body.push(Part {
                path: format!("{DOC}/{RES}/{}", image_file(*id)),
                data: png.to_vec(),
                packing: Packing::Stored,
            });
        }
    }

    let template_id = match &doc.template {
        Some(template) => {
            let id = ids.next();
            let layer = layer(&template.objects, &res, &mut ids, Place::Template)?;
            let content = El::root("ofd:Page").child(El::new("ofd:Content").child(layer.el));
            body.push(Part::xml(format!("{DOC}/{TEMPLATE}"), &content)?);
            Some(id)
        }
        None => None,
    };

    let page_ids: Vec<u32> = doc.pages.iter().map(|_| ids.next()).collect();
    let mut object_ids = Vec::with_capacity(doc.pages.len());
    for (i, page) in doc.pages.iter().enumerate() {
        let layer = layer(&page.objects, &res, &mut ids, |object| Place::Object {
            page: i,
            object,
        })?;
        let content = El::root("ofd:Page")
            .children(template_id.map(|id| {
                El::new("ofd:Template")
                    .attr("TemplateID", id)
                    .attr("ZOrder", "Background")
            }))
            .child(El::new("ofd:Area").leaf("ofd:PhysicalBox", physical_box(page, i)?))
            .child(El::new("ofd:Content").child(layer.el));
        body.push(Part::xml(page_file(i, true), &content)?);
        object_ids.push(layer.object_ids);
    }

    if !doc.custom_tags.is_empty() {
        let list = El::root("ofd:CustomTags").children(doc.custom_tags.iter().enumerate().map(
            |(i, tag)| {
                El::new("ofd:CustomTag")
                    .attr("TypeID", &tag.type_id)
                    .attr("NameSpace", &tag.namespace)
                    .leaf("ofd:FileLoc", format!("Tag_{i}.xml"))
            },
        ));
        body.push(Part::xml(format!("{DOC}/{TAGS}"), &list)?);
        for (i, tag) in doc.custom_tags.iter().enumerate() {
            let el = tag_file(tag, &page_ids, &object_ids);
            body.push(Part::xml(format!("{DOC}/Tags/Tag_{i}.xml"), &el)?);
        }
    }

    let document = El::root("ofd:Document")
        .child(
            El::new("ofd:CommonData")
                .leaf("ofd:MaxUnitID", ids.0.to_string())
                .child(
                    El::new("ofd:PageArea")
                        .leaf("ofd:PhysicalBox", physical_box(&doc.pages[0], 0)?),
                )
                .children(
                    res.font
                        .is_some()
                        .then(|| El::new("ofd:PublicRes").text("PublicRes.xml")),
                )
                .children(
                    (!res.images.is_empty())
                        .then(|| El::new("ofd:DocumentRes").text("DocumentRes.xml")),
                )
                .children(template_id.map(|id| {
                    El::new("ofd:TemplatePage")
                        .attr("ID", id)
                        .attr("BaseLoc", TEMPLATE)
                })),
        )
        .child(
            El::new("ofd:Pages").children(page_ids.iter().enumerate().map(|(i, id)| {
                El::new("ofd:Page")
                    .attr("ID", id)
                    .attr("BaseLoc", page_file(i, false))
            })),
        )
        .children((!doc.custom_tags.is_empty()).then(|| El::new("ofd:CustomTags").text(TAGS)));

    let ofd = El::root("ofd:OFD")
        .attr("Version", "1.0")
        .attr("DocType", "OFD")
        .child(
            El::new("ofd:DocBody")
                .child(doc_info(&doc.info))
                .leaf("ofd:DocRoot", format!("{DOC}/Document.xml")),
        );
    let mut parts = vec![
        Part::xml("OFD.xml".into(), &ofd)?,
        Part::xml(format!("{DOC}/Document.xml"), &document)?,
    ];
    parts.extend(body);
    Ok(parts)
}

/// A page's content file: package path, or relative to `Document.xml`. The folder counts from
/// 0, as readers that take the page number from it expect.
fn page_file(index: usize, in_package: bool) -> String {
    let rel = format!("Pages/Page_{index}/Content.xml");
    if in_package {
        format!("{DOC}/{rel}")
    } else {
        rel
    }
}

fn image_file(id: u32) -> String {
    format!("image_{id}.png")
}

/// The font (when any text needs it) and the images, with their IDs; and every character the
/// texts use. Fails on the first text the font cannot draw and the first image that is no PNG.
fn resources<'a>(
    doc: &'a Document,
    ids: &mut Ids,
) -> Result<(Resources<'a>, BTreeSet<char>), WriteError> {
    let objects = || {
        let template = doc
            .template
            .iter()
            .flat_map(|t| t.objects.iter().enumerate());
        let template = template.map(|(o, obj)| (Place::Template(o), obj));
        let pages = doc.pages.iter().enumerate().flat_map(|(page, p)| {
            p.objects
                .iter()
                .enumerate()
                .map(move |(object, obj)| (Place::Object { page, object }, obj))
        });
        template.chain(pages)
    };
    let mut chars = BTreeSet::new();
    let mut font = None;
    for (at, obj) in objects() {
        if let Object::Text(t) = obj {
            let f = match &mut font {
                Some(f) => f,
                None => font.insert(Font::bundled()?),
            };
            f.measure(&t.text)
                .map_err(|ch| WriteError::MissingGlyph { at, ch })?;
            chars.extend(t.text.chars());
        }
    }
    let mut res = Resources {
        font: font.map(|f| (f, ids.next())),
        images: Vec::new(),
        image_ids: HashMap::new(),
    };
    for (at, obj) in objects() {
        if let Object::Image(Image { png, .. }) = obj
            && !res.image_ids.contains_key(png.as_slice())
        {
            crate::render::png_dimensions(png).map_err(|e| WriteError::InvalidPng {
                at,
                reason: e.to_string(),
            })?;
            let id = ids.next();
            res.images.push((png, id));
            res.image_ids.insert(png, id);
        }
    }
    Ok((res, chars))
}

/// A layer's element and the IDs given to its objects (in order).
struct Layer {
    el: El,
    object_ids: Vec<u32>,
}

/// One layer holding `objects`; `place` says where object `i` is, for errors.
fn layer(
    objects: &[Object],
    res: &Resources<'_>,
    ids: &mut Ids,
    place: impl Fn(usize) -> Place,
) -> Result<Layer, WriteError> {
    let mut el = El::new("ofd:Layer").attr("ID", ids.next());
    let mut object_ids = Vec::with_capacity(objects.len());
    for (i, obj) in objects.iter().enumerate() {
        let id = ids.next();
        let at = place(i);
        el = el.child(match obj {
            Object::Text(t) => text(t, id, res, at)?,
            Object::Path(p) => path(p, id, at)?,
            Object::Image(img) => image(img, id, res, at)?,
        });
        object_ids.push(id);
    }
    Ok(Layer { el, object_ids })
}

fn invalid(at: Place, problem: &'static str) -> WriteError {
    WriteError::Invalid { at, problem }
}

fn finite(p: Point) -> bool {
    p.x.is_finite() && p.y.is_finite()
}

fn positive(v: f64) -> bool {
    v.is_finite() && v > 0.0
}

fn color(name: &'static str, c: Color) -> El {
    El::new(name).attr("Value", format!("{} {} {}", c.r, c.g, c.b))
}

/// A `TextObject`: the box is the em box (plus any ink beyond it) from the baseline start, and
/// `DeltaX` the advance of every character but the last, scaled from font units to the size.
fn text(t: &Text, id: u32, res: &Resources<'_>, at: Place) -> Result<El, WriteError> {
    if !finite(t.origin) {
        return Err(invalid(at, "the text's origin is not a finite point"));
    }
    if !positive(t.size) {
        return Err(invalid(at, "the font size is not a positive number"));
    }
    if t.text.is_empty() {
        return Err(invalid(at, "the text is empty"));
    }
    let (font, font_id) = res
        .font
        .as_ref()
        .ok_or_else(|| WriteError::Font("no font for a text".into()))?;
    let m = font
        .measure(&t.text)
        .map_err(|ch| WriteError::MissingGlyph { at, ch })?;
    let k = t.size / font.upem();
    let boundary = [
        t.origin.x + m.left * k,
        t.origin.y - m.top * k,
        (m.right - m.left) * k,
        (m.top - m.bottom) * k,
    ];
    let mut code = El::new("ofd:TextCode")
        .attr("X", num(-m.left * k))
        .attr("Y", num(m.top * k));
    if m.pen.len() > 1 {
        code = code.attr("DeltaX", nums(m.pen.windows(2).map(|w| (w[1] - w[0]) * k)));
    }
    Ok(El::new("ofd:TextObject")
        .attr("ID", id)
        .attr("Boundary", nums(boundary))
        .attr("Font", font_id)
        .attr("Size", num(t.size))
        .child(color("ofd:FillColor", t.color))
        .child(code.text(t.text.clone())))
}

/// A `PathObject`: the box encloses every point (control points too, so the curves) and half
/// the line width around them; the outline is written relative to the box.
fn path(p: &Path, id: u32, at: Place) -> Result<El, WriteError> {
    if !matches!(p.segments.first(), Some(Segment::MoveTo(_))) {
        return Err(invalid(at, "a path must start with a move"));
    }
    if p.stroke.is_none() && p.fill.is_none() {
        return Err(invalid(at, "the path is neither stroked nor filled"));
    }
    if p.stroke.is_some_and(|s| !positive(s.width)) {
        return Err(invalid(at, "the line width is not a positive number"));
    }
    let points = || {
        p.segments.iter().flat_map(|s| {
            let (_, points, n) = operation(s);
            points.into_iter().take(n)
        })
    };
    if !points().all(finite) {
        return Err(invalid(at, "a point of the path is not finite"));
    }
    let half = p.stroke.map_or(0.0, |s| s.width / 2.0);
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for q in points() {
        (x0, y0, x1, y1) = (x0.min(q.x), y0.min(q.y), x1.max(q.x), y1.max(q.y));
    }
    let (left, top) = (x0 - half, y0 - half);
    // One string for the whole outline (a QR code has hundreds of segments).
    let mut data = String::new();
    for s in &p.segments {
        let (name, points, n) = operation(s);
        if !data.is_empty() {
            data.push(' ');
        }
        data.push(name);
        for q in points.iter().take(n) {
            data.push(' ');
            push_num(&mut data, q.x - left);
            data.push(' ');
            push_num(&mut data, q.y - top);
        }
    }
    let mut el = El::new("ofd:PathObject").attr("ID", id).attr(
        "Boundary",
        nums([left, top, x1 - x0 + 2.0 * half, y1 - y0 + 2.0 * half]),
    );
    if let Some(s) = p.stroke {
        el = el.attr("LineWidth", num(s.width));
    }
    Ok(el
        .attr("Stroke", p.stroke.is_some())
        .attr("Fill", p.fill.is_some())
        .children(p.stroke.map(|s| color("ofd:StrokeColor", s.color)))
        .children(p.fill.map(|c| color("ofd:FillColor", c)))
        .leaf("ofd:AbbreviatedData", data))
}

/// A segment as `AbbreviatedData` writes it: the operator and its first `n` points.
fn operation(s: &Segment) -> (char, [Point; 3], usize) {
    const NONE: Point = Point { x: 0.0, y: 0.0 };
    match *s {
        Segment::MoveTo(a) => ('M', [a, NONE, NONE], 1),
        Segment::LineTo(a) => ('L', [a, NONE, NONE], 1),
        Segment::CubicTo(a, b, c) => ('B', [a, b, c], 3),
        Segment::Close => ('C', [NONE; 3], 0),
    }
}

/// An `ImageObject`: the CTM scales the image's unit square to the box.
fn image(img: &Image, id: u32, res: &Resources<'_>, at: Place) -> Result<El, WriteError> {
    let Rect {
        x,
        y,
        width,
        height,
    } = img.rect;
    if !(x.is_finite() && y.is_finite() && positive(width) && positive(height)) {
        return Err(invalid(at, "the image's rectangle is empty or not finite"));
    }
    let resource = res
        .image_ids
        .get(img.png.as_slice())
        .ok_or_else(|| WriteError::Package("an image without its resource".into()))?;
    Ok(El::new("ofd:ImageObject")
        .attr("ID", id)
        .attr("Boundary", nums([x, y, width, height]))
        .attr("CTM", nums([width, 0.0, 0.0, height, 0.0, 0.0]))
        .attr("ResourceID", resource))
}

/// `PhysicalBox` of page `index`.
fn physical_box(page: &Page, index: usize) -> Result<String, WriteError> {
    let Size { width, height } = page.size;
    if !(positive(width) && positive(height)) {
        return Err(invalid(Place::Page(index), "the page size is not positive"));
    }
    Ok(nums([0.0, 0.0, width, height]))
}

fn doc_info(info: &DocInfo) -> El {
    let mut el = El::new("ofd:DocInfo").leaf("ofd:DocID", hex::encode(info.doc_id));
    if let Some(title) = &info.title {
        el = el.leaf("ofd:Title", title.clone());
    }
    el = el
        .leaf("ofd:CreationDate", info.creation_date.to_string())
        .leaf("ofd:Creator", info.creator.clone());
    if let Some(version) = &info.creator_version {
        el = el.leaf("ofd:CreatorVersion", version.clone());
    }
    if !info.custom_data.is_empty() {
        el = el.child(
            El::new("ofd:CustomDatas").children(info.custom_data.iter().map(|(name, value)| {
                El::new("ofd:CustomData")
                    .attr("Name", name)
                    .text(value.clone())
            })),
        );
    }
    el
}

/// Refuses unusable names and references in the custom tags before anything is built.
fn check_tags(doc: &Document) -> Result<(), WriteError> {
    for tag in &doc.custom_tags {
        for s in [&tag.type_id, &tag.namespace] {
            if s.trim().is_empty() {
                return Err(WriteError::BadTagName(s.clone()));
            }
        }
        let names = std::iter::once(&tag.root).chain(tag.fields.iter().map(|f| &f.name));
        if let Some(bad) = names.into_iter().find(|n| !xml::is_local_name(n)) {
            return Err(WriteError::BadTagName(bad.clone()));
        }
        for field in &tag.fields {
            if let TagContent::Objects(refs) = &field.content
                && let Some(r) = refs.iter().find(|r| {
                    doc.pages
                        .get(r.page)
                        .is_none_or(|p| r.object >= p.objects.len())
                })
            {
                return Err(WriteError::BadObjectRef(*r));
            }
        }
    }
    Ok(())
}

/// A custom tag file: the root in the tag's namespace, one element per field holding its value
/// or `ObjectRef`s (page ID, object ID) to what shows it.
fn tag_file(tag: &CustomTag, page_ids: &[u32], object_ids: &[Vec<u32>]) -> El {
    let fields = tag.fields.iter().map(|f| {
        let el = El::new(f.name.clone());
        match &f.content {
            TagContent::Value(v) => el.text(v.clone()),
            TagContent::Objects(refs) => el.children(refs.iter().map(|r| {
                El::new("ofd:ObjectRef")
                    .attr("PageRef", page_ids[r.page])
                    .text(object_ids[r.page][r.object].to_string())
            })),
        }
    });
    El::new(tag.root.clone())
        .attr("xmlns", &tag.namespace)
        .attr("xmlns:ofd", xml::OFD_NS)
        .children(fields)
}
