//! Writing a new PDF from the page model of `ofd::write` ([`Document`]), so that a licence face
//! laid out once gives both the OFD and the PDF.
//!
//! One revision, objects numbered in the order written, a classic cross-reference table, and
//! the same bytes for the same model: no clock and no randomness is read (the creation date is
//! the model's `DocInfo` date, the file `/ID` the SHA-256 of everything before the
//! cross-reference table, the font subset's tag a hash of its glyphs). Objects are the crate's
//! own ([`Object::write`]), as in stamping.
//!
//! Millimetres from the top-left with y downwards become points from the bottom-left. Text is
//! set in the bundled font embedded as a subset (`font.rs`), so `pdftotext` gives the Chinese
//! back; paths become path operators; PNGs become FlateDecode image XObjects with their alpha as
//! a soft mask. The template's objects are drawn first on every page.
//!
//! "PDF/A-style": the XMP metadata claims PDF/A-2B (`pdfaid:part` 2, `conformance` B) with the
//! title and dates matching the Info dictionary, every font is embedded, nothing is encrypted
//! or scripted, the metadata stream is not filtered, and the catalog's `/OutputIntents` names
//! an sRGB ICC profile for the DeviceRGB colours. No sRGB profile file with terms that plainly
//! allow shipping it was at hand, so `icc.rs` computes one from the numbers of IEC 61966-2-1.
//! Not done: the caller's custom Info keys are not mirrored into XMP (that needs an XMP
//! extension schema), and no PDF/A validator has checked the result.

mod font;
mod icc;
#[cfg(test)]
mod tests;
mod xmp;

use std::collections::HashMap;
use std::io::Write as _;

use flate2::{Compression, write::ZlibEncoder};
use sha2::{Digest, Sha256};

pub use crate::ofd::write::Document;
use crate::ofd::write::{Color, Image, Object as Drawn, Page, Place, Point, Segment, Text};
use crate::pdf::PT_PER_MM;
use crate::pdf::object::{Dict, Object, Ref, format_real, pdf_date, text_string};

/// The document Info dictionary and XMP entries the caller chooses.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Metadata {
    /// `/Title` and `dc:title`.
    pub title: String,
    /// Further Info entries, (key without the slash, text) in this order; keys are ASCII
    /// letters and digits and must not be one of the standard keys this writer sets.
    pub custom: Vec<(String, String)>,
}

/// Why a PDF could not be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// The model is unusable (the same rules as for the OFD).
    #[error(transparent)]
    Model(#[from] crate::ofd::write::WriteError),
    /// A custom Info key is not a plain name or is one this writer sets itself.
    #[error("metadata key {0:?} is not usable (ASCII letters and digits, not a standard key)")]
    BadMetadataKey(String),
}

/// Info keys the writer sets; a custom entry may not replace them.
const STANDARD_KEYS: [&str; 9] = [
    "Title",
    "Author",
    "Subject",
    "Keywords",
    "Creator",
    "Producer",
    "CreationDate",
    "ModDate",
    "Trapped",
];

/// The PDF file for `doc` with `meta` in its Info dictionary and XMP metadata.
pub fn document(doc: &Document, meta: &Metadata) -> Result<Vec<u8>, WriteError> {
    use crate::ofd::write::WriteError as Model;
    if doc.pages.is_empty() {
        return Err(Model::NoPages.into());
    }
    if let Some((key, _)) = meta.custom.iter().find(|(k, _)| {
        k.is_empty()
            || !k.bytes().all(|b| b.is_ascii_alphanumeric())
            || STANDARD_KEYS.contains(&k.as_str())
    }) {
        return Err(WriteError::BadMetadataKey(key.clone()));
    }
    let mut body = Body::new();
    let catalog = body.reserve();
    let pages_ref = body.reserve();

    // Every drawn object with where it is, template first (it is painted first on each page).
    let template = doc.template.iter().flat_map(|t| {
        t.objects
            .iter()
            .enumerate()
            .map(|(o, obj)| (Place::Template(o), obj))
    });
    let on_pages = doc.pages.iter().enumerate().flat_map(|(page, p)| {
        p.objects
            .iter()
            .enumerate()
            .map(move |(object, obj)| (Place::Object { page, object }, obj))
    });
    let all: Vec<(Place, &Drawn)> = template.chain(on_pages).collect();

    let mut font: Option<font::Font> = None;
    for (at, obj) in &all {
        if let Drawn::Text(t) = obj {
            let f = match &mut font {
                Some(f) => f,
                None => font.insert(font::Font::bundled()?),
            };
            f.add(&t.text)
                .map_err(|ch| Model::MissingGlyph { at: *at, ch })?;
        }
    }
    let mut resources = Resources::default();
    if let Some(f) = &font {
        let (r, subset) = f.write(&mut body)?;
        resources.font = Some((r, subset));
    }
    for (at, obj) in &all {
        if let Drawn::Image(Image { png, .. }) = obj
            && !resources.image_names.contains_key(png.as_slice())
        {
            let raster = crate::pdf::image::png_image(png).map_err(|e| Model::InvalidPng {
                at: *at,
                reason: e.to_string(),
            })?;
            let r = image_xobject(&mut body, &raster);
            let name = format!("Im{}", resources.images.len() + 1).into_bytes();
            resources.image_names.insert(png, name.clone());
            resources.images.push((name, r));
        }
    }
    let resource_dict = body.object(Object::Dict(resources.dict()));

    let mut kids = Vec::with_capacity(doc.pages.len());
    for (i, page) in doc.pages.iter().enumerate() {
        let content = page_content(doc, i, page, &resources)?;
        let contents = body.stream(Dict::default(), &content, true);
        let (w, h) = page_box(page, i)?;
        let mut p = Dict::default();
        p.set(b"Type", Object::name(b"Page"));
        p.set(b"Parent", Object::Ref(pages_ref));
        p.set(
            b"MediaBox",
            Object::Array(vec![
                Object::Int(0),
                Object::Int(0),
                Object::Real(w),
                Object::Real(h),
            ]),
        );
        p.set(b"Resources", Object::Ref(resource_dict));
        p.set(b"Contents", Object::Ref(contents));
        kids.push(Object::Ref(body.object(Object::Dict(p))));
    }
    let mut pages = Dict::default();
    pages.set(b"Type", Object::name(b"Pages"));
    pages.set(b"Count", Object::Int(len(kids.len())));
    pages.set(b"Kids", Object::Array(kids));
    body.put(pages_ref, Object::Dict(pages));

    let created = pdf_date(doc.info.creation_date.midnight().assume_utc());
    let producer = format!("sidian {}", env!("CARGO_PKG_VERSION"));
    let xmp = xmp::packet(&xmp::Fields {
        title: &meta.title,
        creator: &doc.info.creator,
        producer: &producer,
        created: doc.info.creation_date,
    });
    let mut xmp_dict = Dict::default();
    xmp_dict.set(b"Type", Object::name(b"Metadata"));
    xmp_dict.set(b"Subtype", Object::name(b"XML"));
    // Unfiltered, as PDF/A asks, so that tools that do not parse PDF can still find it.
    let metadata = body.stream(xmp_dict, xmp.as_bytes(), false);
    let mut profile = Dict::default();
    profile.set(b"N", Object::Int(3));
    let profile = body.stream(profile, &icc::srgb(), true);
    let mut intent = Dict::default();
    intent.set(b"Type", Object::name(b"OutputIntent"));
    intent.set(b"S", Object::name(b"GTS_PDFA1"));
    intent.set(
        b"OutputConditionIdentifier",
        Object::string(icc::DESCRIPTION.as_bytes()),
    );
    intent.set(b"Info", Object::string(icc::DESCRIPTION.as_bytes()));
    intent.set(b"DestOutputProfile", Object::Ref(profile));
    let mut cat = Dict::default();
    cat.set(b"Type", Object::name(b"Catalog"));
    cat.set(b"Pages", Object::Ref(pages_ref));
    cat.set(b"Metadata", Object::Ref(metadata));
    cat.set(b"OutputIntents", Object::Array(vec![Object::Dict(intent)]));
    body.put(catalog, Object::Dict(cat));

    let mut info = Dict::default();
    info.set(b"Title", text_string(&meta.title));
    info.set(b"Creator", text_string(&doc.info.creator));
    info.set(b"Producer", text_string(&producer));
    info.set(b"CreationDate", Object::string(created.as_bytes()));
    for (k, v) in &meta.custom {
        info.set(k.as_bytes(), text_string(v));
    }
    let info = body.object(Object::Dict(info));
    Ok(body.finish(catalog, info))
}

/// What the pages' content refers to by name.
#[derive(Default)]
struct Resources<'a> {
    /// The font (`/F1`) and its CIDs, when there is text.
    font: Option<(Ref, font::Subset)>,
    /// Each distinct image's name and XObject, in first-use order.
    images: Vec<(Vec<u8>, Ref)>,
    /// The name of each PNG by its bytes.
    image_names: HashMap<&'a [u8], Vec<u8>>,
}

impl Resources<'_> {
    /// The one resource dictionary every page shares.
    fn dict(&self) -> Dict {
        let mut d = Dict::default();
        if let Some((r, _)) = &self.font {
            let mut fonts = Dict::default();
            fonts.set(b"F1", Object::Ref(*r));
            d.set(b"Font", Object::Dict(fonts));
        }
        if !self.images.is_empty() {
            let mut x = Dict::default();
            for (name, r) in &self.images {
                x.set(name, Object::Ref(*r));
            }
            d.set(b"XObject", Object::Dict(x));
        }
        d
    }
}

/// An image XObject for `raster`, with its soft mask when it has one.
fn image_xobject(body: &mut Body, raster: &crate::pdf::image::Raster) -> Ref {
    let image_dict = |color_space: &str| {
        let mut d = Dict::default();
        d.set(b"Type", Object::name(b"XObject"));
        d.set(b"Subtype", Object::name(b"Image"));
        d.set(b"Width", Object::Int(i64::from(raster.width)));
        d.set(b"Height", Object::Int(i64::from(raster.height)));
        d.set(b"ColorSpace", Object::name(color_space.as_bytes()));
        d.set(b"BitsPerComponent", Object::Int(8));
        d.set(b"Filter", Object::name(raster.filter.as_bytes()));
        d
    };
    let mut d = image_dict(raster.color_space);
    if let Some(alpha) = &raster.smask {
        let mut m = image_dict("DeviceGray");
        m.set(b"Filter", Object::name(b"FlateDecode"));
        let smask = body.stream(m, alpha, false);
        d.set(b"SMask", Object::Ref(smask));
    }
    body.stream(d, &raster.data, false)
}

/// The page's size in points, checked.
fn page_box(page: &Page, index: usize) -> Result<(f64, f64), WriteError> {
    let (w, h) = (page.size.width, page.size.height);
    if !(positive(w) && positive(h)) {
        return Err(invalid(Place::Page(index), "the page size is not positive"));
    }
    Ok((w * PT_PER_MM, h * PT_PER_MM))
}

/// The content stream of page `index`: the template's objects, then the page's.
fn page_content(
    doc: &Document,
    index: usize,
    page: &Page,
    res: &Resources<'_>,
) -> Result<Vec<u8>, WriteError> {
    let (_, height) = page_box(page, index)?;
    let mut c = Content {
        out: Vec::new(),
        height,
    };
    if let Some(t) = &doc.template {
        for (o, obj) in t.objects.iter().enumerate() {
            c.object(obj, res, Place::Template(o))?;
        }
    }
    for (object, obj) in page.objects.iter().enumerate() {
        c.object(
            obj,
            res,
            Place::Object {
                page: index,
                object,
            },
        )?;
    }
    Ok(c.out)
}

/// A content stream being written, for a page `height` points high.
struct Content {
    out: Vec<u8>,
    height: f64,
}

impl Content {
    /// Appends numbers and an operator: `1 2 re`.
    fn op(&mut self, nums: &[f64], operator: &str) {
        for n in nums {
            self.out.extend_from_slice(format_real(*n).as_bytes());
            self.out.push(b' ');
        }
        self.out.extend_from_slice(operator.as_bytes());
        self.out.push(b'\n');
    }

    /// A model point as PDF user space coordinates.
    fn xy(&self, p: Point) -> [f64; 2] {
        [p.x * PT_PER_MM, self.height - p.y * PT_PER_MM]
    }

    fn color(&mut self, c: Color, operator: &str) {
        let k = |v: u8| f64::from(v) / 255.0;
        self.op(&[k(c.r), k(c.g), k(c.b)], operator);
    }

    /// One drawn object in its own graphics state (`q … Q`).
    fn object(&mut self, obj: &Drawn, res: &Resources<'_>, at: Place) -> Result<(), WriteError> {
        self.op(&[], "q");
        match obj {
            Drawn::Text(t) => self.text(t, res, at)?,
            Drawn::Path(p) => self.path(p, at)?,
            Drawn::Image(img) => self.image(img, res, at)?,
        }
        self.op(&[], "Q");
        Ok(())
    }

    fn text(&mut self, t: &Text, res: &Resources<'_>, at: Place) -> Result<(), WriteError> {
        use crate::ofd::write::WriteError as Model;
        if !finite(t.origin) {
            return Err(invalid(at, "the text's origin is not a finite point"));
        }
        if !positive(t.size) {
            return Err(invalid(at, "the font size is not a positive number"));
        }
        if t.text.is_empty() {
            return Err(invalid(at, "the text is empty"));
        }
        let (_, subset) = res
            .font
            .as_ref()
            .ok_or_else(|| Model::Font("no font for a text".into()))?;
        let cids = subset
            .encode(&t.text)
            .map_err(|ch| Model::MissingGlyph { at, ch })?;
        self.color(t.color, "rg");
        self.op(&[], "BT");
        self.out.extend_from_slice(b"/F1 ");
        self.op(&[t.size * PT_PER_MM], "Tf");
        let [x, y] = self.xy(t.origin);
        self.op(&[1.0, 0.0, 0.0, 1.0, x, y], "Tm");
        Object::String {
            bytes: cids,
            hex: true,
        }
        .write(&mut self.out);
        self.out.extend_from_slice(b" Tj\nET\n");
        Ok(())
    }

    fn path(&mut self, p: &crate::ofd::write::Path, at: Place) -> Result<(), WriteError> {
        if !matches!(p.segments.first(), Some(Segment::MoveTo(_))) {
            return Err(invalid(at, "a path must start with a move"));
        }
        let paint = match (p.stroke, p.fill) {
            (None, None) => return Err(invalid(at, "the path is neither stroked nor filled")),
            (Some(s), _) if !positive(s.width) => {
                return Err(invalid(at, "the line width is not a positive number"));
            }
            (Some(_), Some(_)) => "B",
            (Some(_), None) => "S",
            (None, Some(_)) => "f",
        };
        if let Some(s) = p.stroke {
            self.op(&[s.width * PT_PER_MM], "w");
            self.color(s.color, "RG");
        }
        if let Some(c) = p.fill {
            self.color(c, "rg");
        }
        for s in &p.segments {
            let points: &[Point] = match s {
                Segment::MoveTo(a) | Segment::LineTo(a) => std::slice::from_ref(a),
                Segment::CubicTo(a, b, c) => &[*a, *b, *c],
                Segment::Close => &[],
            };
            if !points.iter().copied().all(finite) {
                return Err(invalid(at, "a point of the path is not finite"));
            }
            let nums: Vec<f64> = points.iter().flat_map(|q| self.xy(*q)).collect();
            let operator = match s {
                Segment::MoveTo(_) => "m",
                Segment::LineTo(_) => "l",
                Segment::CubicTo(..) => "c",
                Segment::Close => "h",
            };
            self.op(&nums, operator);
        }
        self.op(&[], paint);
        Ok(())
    }

    fn image(&mut self, img: &Image, res: &Resources<'_>, at: Place) -> Result<(), WriteError> {
        use crate::ofd::write::WriteError as Model;
        let r = img.rect;
        if !(r.x.is_finite() && r.y.is_finite() && positive(r.width) && positive(r.height)) {
            return Err(invalid(at, "the image's rectangle is empty or not finite"));
        }
        let name = res
            .image_names
            .get(img.png.as_slice())
            .ok_or_else(|| Model::Package("an image without its resource".into()))?;
        // The image's unit square, first row at the top, scaled onto the rectangle.
        let [x, bottom] = self.xy(Point {
            x: r.x,
            y: r.y + r.height,
        });
        self.op(
            &[
                r.width * PT_PER_MM,
                0.0,
                0.0,
                r.height * PT_PER_MM,
                x,
                bottom,
            ],
            "cm",
        );
        Object::Name(name.clone()).write(&mut self.out);
        self.out.extend_from_slice(b" Do\n");
        Ok(())
    }
}

fn invalid(at: Place, problem: &'static str) -> WriteError {
    crate::ofd::write::WriteError::Invalid { at, problem }.into()
}

fn finite(p: Point) -> bool {
    p.x.is_finite() && p.y.is_finite()
}

fn positive(v: f64) -> bool {
    v.is_finite() && v > 0.0
}

/// A count as a PDF integer.
fn len(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The numbered objects of the file; object 0 is the free list's head.
pub(super) struct Body {
    objects: Vec<Option<(Object, Option<Vec<u8>>)>>,
}

impl Body {
    fn new() -> Self {
        Body {
            objects: Vec::new(),
        }
    }

    /// A number for an object given later with [`Body::put`].
    fn reserve(&mut self) -> Ref {
        self.objects.push(None);
        Ref::new(u32::try_from(self.objects.len()).unwrap_or(u32::MAX))
    }

    fn put(&mut self, r: Ref, obj: Object) {
        if let Some(slot) = usize::try_from(r.num)
            .ok()
            .and_then(|n| self.objects.get_mut(n - 1))
        {
            *slot = Some((obj, None));
        }
    }

    /// A new direct object.
    pub(super) fn object(&mut self, obj: Object) -> Ref {
        let r = self.reserve();
        self.put(r, obj);
        r
    }

    /// A new stream of `data`, deflated first when `deflate` (the data is taken as it is
    /// otherwise, with whatever `/Filter` the dictionary names).
    pub(super) fn stream(&mut self, mut dict: Dict, data: &[u8], deflate: bool) -> Ref {
        let data = if deflate {
            dict.set(b"Filter", Object::name(b"FlateDecode"));
            let mut z = ZlibEncoder::new(Vec::new(), Compression::new(6));
            // Writing into a Vec cannot fail.
            let _ = z.write_all(data);
            z.finish().unwrap_or_default()
        } else {
            data.to_vec()
        };
        dict.set(b"Length", Object::Int(len(data.len())));
        let r = self.reserve();
        if let Some(slot) = self.objects.last_mut() {
            *slot = Some((Object::Dict(dict), Some(data)));
        }
        r
    }

    /// The whole file: header, objects, cross-reference table and trailer.
    fn finish(self, root: Ref, info: Ref) -> Vec<u8> {
        let mut out: Vec<u8> = b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n".to_vec();
        let mut offsets = Vec::with_capacity(self.objects.len());
        for (i, obj) in self.objects.iter().enumerate() {
            offsets.push(out.len());
            out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
            match obj {
                Some((o, data)) => {
                    o.write(&mut out);
                    if let Some(data) = data {
                        out.extend_from_slice(b"\nstream\n");
                        out.extend_from_slice(data);
                        out.extend_from_slice(b"\nendstream");
                    }
                }
                None => out.extend_from_slice(b"null"),
            }
            out.extend_from_slice(b"\nendobj\n");
        }
        let id = Sha256::digest(&out)[..16].to_vec();
        let xref = out.len();
        out.extend_from_slice(format!("xref\n0 {}\n", offsets.len() + 1).as_bytes());
        out.extend_from_slice(b"0000000000 65535 f \n");
        for o in offsets {
            out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
        }
        let mut trailer = Dict::default();
        trailer.set(b"Size", Object::Int(len(self.objects.len() + 1)));
        trailer.set(b"Root", Object::Ref(root));
        trailer.set(b"Info", Object::Ref(info));
        let id = Object::String {
            bytes: id,
            hex: true,
        };
        trailer.set(b"ID", Object::Array(vec![id.clone(), id]));
        out.extend_from_slice(b"trailer\n");
        trailer.write(&mut out);
        out.extend_from_slice(format!("\nstartxref\n{xref}\n%%EOF\n").as_bytes());
        out
    }
}
