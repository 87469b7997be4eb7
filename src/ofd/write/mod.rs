//! Writing OFD (GB/T 33190-2016) documents from a typed model ([`Document`] → [`Page`] →
//! [`Object`]).
//!
//! The package has the usual layout (`OFD.xml`; `Doc_0/Document.xml`, `PublicRes.xml` with the
//! font, `DocumentRes.xml` with the images, `Res/`, `Tpls/Tpl_0/`, `Pages/Page_N/Content.xml`,
//! `Tags/`), every XML file built as an element tree ([`xml`]) in the schema's element order.
//! IDs are given out in one increasing sequence (font, images, template page, then each page,
//! its layer and its objects) and the last one is `MaxUnitID`.
//!
//! Text is set in the bundled font, embedded as a subset with only the glyphs the document uses
//! (`font.rs` says how the subset keeps a `cmap` and why it is a subset), so every reader draws
//! the same glyphs whatever fonts its machine has. A `TextCode` carries the baseline start and
//! `DeltaX`, the advance width of each character but the last (the font's `hmtx` scaled by the
//! font size); the object's `Boundary` holds the em box and any ink beyond it.
//!
//! The same model always gives the same bytes: zip entries in a fixed order with fixed
//! timestamps and attributes, numbers formatted one way, resources in first-use order. A package
//! can therefore be rebuilt and compared, and sealing can rely on it. (Across builds the entries'
//! contents stay the same; a different deflate implementation could compress them differently.)
//!
//! What independent readers need beyond the standard (checked by `tools/ofd-interop.sh`):
//! easyofd finds XML elements by their `ofd:` prefix (so no default namespace), takes page
//! numbers from the digits in `Pages/Page_N/`, reads fonts only from `PublicRes` and images only
//! from `DocumentRes`, and registers an embedded font under its file name, then looks it up by
//! `FontName` without spaces: the font file is therefore named after the family without spaces
//! (`NotoSerifSC.ttf`).

mod font;
mod model;
pub(super) mod package;
pub(super) mod parts;
pub(super) mod xml;

pub use model::{
    Color, CustomTag, DocInfo, Document, Image, Object, ObjectRef, Page, Path, Point, Rect,
    Segment, Size, Stroke, TagContent, TagField, Template, Text,
};

/// Where in a [`Document`] a problem is (indexes as in the model; messages count from 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// A page as a whole.
    Page(usize),
    /// An object of a page.
    Object {
        /// Index into [`Document::pages`].
        page: usize,
        /// Index into [`Page::objects`].
        object: usize,
    },
    /// An object of the template.
    Template(usize),
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Place::Page(p) => write!(f, "page {}", p + 1),
            Place::Object { page, object } => write!(f, "page {}, object {}", page + 1, object + 1),
            Place::Template(o) => write!(f, "template object {}", o + 1),
        }
    }
}

/// Why a document could not be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// The document has no page.
    #[error("a document needs at least one page")]
    NoPages,
    /// A length, size or position is unusable (not finite, or not positive where it must be).
    #[error("{at}: {problem}")]
    Invalid {
        /// Where.
        at: Place,
        /// What is wrong.
        problem: &'static str,
    },
    /// The bundled font has no glyph for a character of a text.
    #[error("{at}: the font has no glyph for {ch:?} (U+{code:04X})", code = u32::from(*.ch))]
    MissingGlyph {
        /// Where.
        at: Place,
        /// The character.
        ch: char,
    },
    /// The bundled font has no glyph for a character [`advances`] was asked to measure.
    #[error("the font has no glyph for {0:?} (U+{code:04X})", code = u32::from(*.0))]
    NoGlyph(char),
    /// An image is not a PNG that decodes.
    #[error("{at}: {reason}")]
    InvalidPng {
        /// Where.
        at: Place,
        /// What the PNG check said.
        reason: String,
    },
    /// A string holds a character XML cannot carry (most control characters).
    #[error("the character U+{code:04X} cannot be written in XML", code = u32::from(*.0))]
    InvalidXmlChar(char),
    /// A custom tag's type, namespace or element name is unusable.
    #[error("custom tag: {0:?} is not usable here")]
    BadTagName(String),
    /// A custom tag points at a page or object the document does not have.
    #[error("custom tag: no object {} on page {}", .0.object + 1, .0.page + 1)]
    BadObjectRef(ObjectRef),
    /// The bundled font could not be subset (a build defect, not bad input).
    #[error("font: {0}")]
    Font(String),
    /// Assembling the zip failed.
    #[error("package: {0}")]
    Package(String),
}

/// The advance width of each character of `text` set in the bundled font at `size` mm: the
/// widths a [`Text`] is laid out with, so that callers can fit and wrap lines before building
/// one. A character the font lacks is [`WriteError::NoGlyph`].
pub fn advances(text: &str, size: f64) -> Result<Vec<f64>, WriteError> {
    let font = font::Font::bundled()?;
    let k = size / font.upem();
    text.chars()
        .map(|c| Ok(font.advance(c).map_err(WriteError::NoGlyph)? * k))
        .collect()
}

/// The files of a document's package, written but not zipped yet: what
/// [`prepare_files`](crate::ofd::prepare_files) seals without zipping them and reading them
/// back first.
pub struct Files(pub(super) Vec<parts::Part>);

impl Files {
    /// The OFD file.
    pub fn zip(&self) -> Result<Vec<u8>, WriteError> {
        package::zip(&self.0)
    }
}

/// The files of the package for `doc`.
pub fn files(doc: &Document) -> Result<Files, WriteError> {
    Ok(Files(parts::parts(doc)?))
}

/// The OFD file for `doc`.
pub fn write(doc: &Document) -> Result<Vec<u8>, WriteError> {
    files(doc)?.zip()
}

#[cfg(test)]
pub(super) mod tests;
