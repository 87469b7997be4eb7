//! Sealing a PDF by incremental update (ISO 32000-1 §7.5.6, §12.8; ETSI EN 319 142-1 PAdES):
//! the original bytes stay untouched, a new revision adds the signature field and its widget
//! with the seal image, and a `/Contents` hole that [`Prepared::finish`] fills with the CMS.
//!
//! Two steps so that the caller, who holds the key, signs between them:
//! [`prepare`] → [`Prepared::digest`] → sign → [`Prepared::finish`].

use std::ops::Range;

use time::OffsetDateTime;

use super::file::{PdfFile, XrefKind};
use super::image::SealImage;
use super::object::{Dict, Object, Ref, pdf_date, text_string};
use super::policy::{self, Existing};
use super::signatures::{SubFilter, form_fields, rect};
use super::text::find_text;
use super::{Limits, PdfError};
use crate::cms::DigestAlg;

/// Points per millimetre.
pub const PT_PER_MM: f64 = 72.0 / 25.4;

/// Certification of the document by this signature (DocMDP, §12.8.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Certify {
    /// An approval signature (no DocMDP).
    None,
    /// No changes allowed after this signature.
    NoChanges,
    /// Form filling and further signatures allowed.
    FormFillAndSign,
}

/// Where the seal goes: page (1-based) and the lower-left corner of the image, in points from
/// the lower-left corner of the page's crop box; `None` puts it 15 mm from the bottom-right.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placement {
    /// 1-based page number.
    pub page: usize,
    /// Horizontal offset in points, or `None` for the default.
    pub x: Option<f64>,
    /// Vertical offset in points, or `None` for the default.
    pub y: Option<f64>,
    /// A 骑缝章: the seal split over the right edge of every page (`page` and `x` unused).
    pub cross_page: bool,
}

/// What the signer states in the signature dictionary (§12.8.1, table 252), as readers show it.
#[derive(Debug, Clone, Copy, Default)]
pub struct SigText<'a> {
    /// `/Reason`.
    pub reason: Option<&'a str>,
    /// `/Location`.
    pub location: Option<&'a str>,
    /// `/ContactInfo`.
    pub contact: Option<&'a str>,
}

/// Text on a page to centre the seal on.
#[derive(Debug, Clone, Copy)]
pub struct Keyword<'a> {
    /// The text (white space ignored).
    pub text: &'a str,
    /// The 1-based page to look on, or `None` for the first page that has it.
    pub page: Option<usize>,
}

/// A drawing in PDF path operators: what a handwritten signature looks like on the page, crisp
/// at any zoom, where a seal is a picture.
#[derive(Debug, Clone, PartialEq)]
pub struct VectorArt {
    /// Width on the page in millimetres.
    pub width_mm: f64,
    /// Height on the page in millimetres.
    pub height_mm: f64,
    /// Content-stream operators drawing within `[0, width] × [0, height]` points.
    pub content: Vec<u8>,
}

/// What the signature's widget shows.
#[derive(Debug, Clone, Copy)]
pub enum Appearance<'a> {
    /// A seal picture, as an image XObject.
    Image(&'a SealImage),
    /// Path operators (handwriting).
    Vector(&'a VectorArt),
}

impl Appearance<'_> {
    /// Width and height on the page in millimetres.
    fn size_mm(&self) -> (f64, f64) {
        match self {
            Appearance::Image(i) => (i.width_mm, i.height_mm),
            Appearance::Vector(v) => (v.width_mm, v.height_mm),
        }
    }
}

/// What to stamp.
#[derive(Debug, Clone, Copy)]
pub struct StampOptions<'a> {
    /// Page and position.
    pub placement: Placement,
    /// What the widget shows, and its size.
    pub appearance: Appearance<'a>,
    /// DocMDP certification.
    pub certify: Certify,
    /// `/SubFilter`.
    pub sub_filter: SubFilter,
    /// `/Name` of the signer (shown by readers), e.g. the seal name.
    pub signer_name: &'a str,
    /// `/M`, the claimed signing time.
    pub signing_time: OffsetDateTime,
    /// `/Reason`, `/Location` and `/ContactInfo`.
    pub text: SigText<'a>,
    /// An existing empty signature field to sign into (its widget gives page and place;
    /// `placement` is then unused), instead of a new field.
    pub field: Option<&'a str>,
    /// Text to centre the seal on (`placement` is then unused).
    pub keyword: Option<Keyword<'a>>,
    /// Bytes reserved for the CMS in `/Contents`.
    pub capacity: usize,
}

/// A sealed revision laid out, waiting for its CMS.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub(super) bytes: Vec<u8>,
    pub(super) hole: Range<usize>,
    /// Whether the input was rewritten into one clean revision first (docs/threats.md §2.1).
    pub normalised: bool,
    /// The field name given to the seal.
    pub field_name: String,
    /// The widget rectangle `[x1 y1 x2 y2]` in default user space.
    pub rect: [f64; 4],
}

impl Prepared {
    /// `/ByteRange`: everything but the hole.
    pub fn byte_range(&self) -> [usize; 4] {
        [
            0,
            self.hole.start,
            self.hole.end,
            self.bytes.len() - self.hole.end,
        ]
    }

    /// The digest of the two signed ranges.
    pub fn digest(&self, alg: DigestAlg) -> Vec<u8> {
        let (a, b) = (&self.bytes[..self.hole.start], &self.bytes[self.hole.end..]);
        match alg {
            DigestAlg::Sm3 => {
                use sm3::Digest;
                let mut h = sm3::Sm3::new();
                h.update(a);
                h.update(b);
                h.finalize().to_vec()
            }
            other => {
                let mut ctx = ring::digest::Context::new(match other {
                    DigestAlg::Sha384 => &ring::digest::SHA384,
                    DigestAlg::Sha512 => &ring::digest::SHA512,
                    _ => &ring::digest::SHA256,
                });
                ctx.update(a);
                ctx.update(b);
                ctx.finish().as_ref().to_vec()
            }
        }
    }

    /// Bytes available for the CMS.
    pub fn capacity(&self) -> usize {
        (self.hole.len() - 2) / 2
    }

    /// Writes `cms` (hex, zero-padded) into the hole and returns the sealed file.
    pub fn finish(mut self, cms: &[u8]) -> Result<Vec<u8>, PdfError> {
        if cms.len() > self.capacity() {
            return Err(PdfError::PlaceholderTooSmall {
                needed: cms.len(),
                capacity: self.capacity(),
            });
        }
        let start = self.hole.start + 1;
        let hex = hex::encode_upper(cms);
        self.bytes[start..start + hex.len()].copy_from_slice(hex.as_bytes());
        Ok(self.bytes)
    }
}

/// Lays out the sealed revision of `input`: normalises an unsigned foreign file first (one
/// revision, unreachable objects dropped) or refuses it, then appends the update.
pub fn prepare(
    input: &[u8],
    opts: &StampOptions<'_>,
    limits: &Limits,
) -> Result<Prepared, PdfError> {
    if opts.sub_filter == SubFilter::Rfc3161 {
        return Err(PdfError::Refused(
            "a seal is a CMS signature, not a document timestamp".into(),
        ));
    }
    let file = PdfFile::open(input, limits)?;
    let existing = policy::inspect(&file)?;
    if existing.signed && opts.certify != Certify::None {
        return Err(PdfError::Refused(
            "only the first signature of a document can certify it".into(),
        ));
    }
    if existing.mdp == Some(1) {
        return Err(PdfError::Refused(
            "the document is certified with no changes allowed (DocMDP P1)".into(),
        ));
    }
    if !existing.signed && !existing.normal {
        let normal = policy::normalise(&file)?;
        drop(file);
        let file = PdfFile::open(&normal, limits)?;
        let existing = policy::inspect(&file)?;
        let mut p = append(&file, &existing, opts)?;
        p.normalised = true;
        return Ok(p);
    }
    append(&file, &existing, opts)
}

/// Object numbers handed out in the update.
pub(super) struct Numbers(u32);

impl Numbers {
    /// The numbers after those the file uses: from its trailer's `/Size` on.
    pub(super) fn after(trailer: &Dict) -> Result<Numbers, PdfError> {
        trailer
            .get(b"Size")
            .and_then(Object::as_int)
            .and_then(|s| u32::try_from(s).ok())
            .map(Numbers)
            .ok_or_else(|| PdfError::Structure("trailer without /Size".into()))
    }

    pub(super) fn next(&mut self) -> Ref {
        self.0 += 1;
        Ref::new(self.0 - 1)
    }
}

fn append(
    file: &PdfFile<'_>,
    existing: &Existing,
    opts: &StampOptions<'_>,
) -> Result<Prepared, PdfError> {
    let input = file.bytes();
    let upto = file.sections().len();
    let pages = file.pages_at(upto)?;
    let (w, h) = {
        let (w, h) = opts.appearance.size_mm();
        (w * PT_PER_MM, h * PT_PER_MM)
    };
    let target = opts
        .field
        .map(|name| empty_field(file, upto, name, w, h))
        .transpose()?;
    let plan = if let Some(t) = &target {
        vec![t.part.clone()]
    } else if opts.placement.cross_page {
        cross_page_plan(file, existing.signed, &pages, opts, w, h)?
    } else if let Some(keyword) = opts.keyword {
        let page = keyword.page.map(|p| p.saturating_sub(1));
        let Some((k, [cx, cy])) = find_text(file, upto, page, keyword.text)? else {
            return Err(PdfError::KeywordNotFound(keyword.text.to_owned()));
        };
        // Centred on the text, moved only as far as it takes to stay on the page.
        let bbox = page_box(file, pages[k], upto)?;
        let centred =
            |c: f64, lo: f64, hi: f64, size: f64| (c - size / 2.0).min(hi - size).max(lo) - lo;
        let placement = Placement {
            page: k + 1,
            x: Some(centred(cx, bbox[0], bbox[2], w)),
            y: Some(centred(cy, bbox[1], bbox[3], h)),
            cross_page: false,
        };
        single_plan(file, &pages, &StampOptions { placement, ..*opts }, w, h)?
    } else {
        single_plan(file, &pages, opts, w, h)?
    };
    let trailer = file.trailer();
    let mut nums = Numbers::after(trailer)?;
    let sig = nums.next();
    // The field merged with its widget (the seal, or a cross-page seal's first strip), then
    // (cross-page) a stamp annotation per further page: poppler reads each widget of a
    // multi-widget signature field as an unsigned signature, so strips after the first are
    // plain annotations, signed content of this revision.
    let (field, first_widget) = match &target {
        Some(t) => (t.field, t.widget),
        None => {
            let f = nums.next();
            (f, f)
        }
    };
    let widgets: Vec<(Ref, Ref)> = plan
        .iter()
        .enumerate()
        .map(|(k, _)| (if k == 0 { first_widget } else { nums.next() }, nums.next()))
        .collect();
    /// The appearance with the numbers of its image objects.
    enum Drawn<'a> {
        Image(&'a SealImage, Ref, Option<Ref>),
        Vector(&'a VectorArt),
    }
    let drawn = match opts.appearance {
        Appearance::Image(im) => {
            Drawn::Image(im, nums.next(), im.smask.as_ref().map(|_| nums.next()))
        }
        Appearance::Vector(v) => Drawn::Vector(v),
    };

    let mut out = input.to_vec();
    if !out.ends_with(b"\n") && !out.ends_with(b"\r") {
        out.push(b'\n');
    }
    let mut offsets: Vec<(Ref, usize)> = Vec::new();

    let (byte_range_at, hole) = open_signature(
        &mut out,
        &mut offsets,
        sig,
        b"Sig",
        opts.sub_filter,
        opts.capacity,
    );
    out.extend_from_slice(b"/M ");
    Object::string(pdf_date(opts.signing_time).as_bytes()).write(&mut out);
    out.extend_from_slice(b"/Name ");
    text_string(opts.signer_name).write(&mut out);
    let t = opts.text;
    for (key, value) in [
        (&b"/Reason "[..], t.reason),
        (b"/Location ", t.location),
        (b"/ContactInfo ", t.contact),
    ] {
        if let Some(v) = value {
            out.extend_from_slice(key);
            text_string(v).write(&mut out);
        }
    }
    if let Some(p) = mdp_level(opts.certify) {
        out.extend_from_slice(
            format!(
                "/Reference [<</Type /SigRef/TransformMethod /DocMDP/TransformParams <</Type /TransformParams/P {p}/V /1.2>>>>]"
            )
            .as_bytes(),
        );
    }
    out.extend_from_slice(b">>\nendobj\n");

    // The field and its widget(s) (§12.7.3.1), each widget with its own appearance.
    // Signing into an existing field changes only its /V and its widget's /AP, all a verifier
    // allows a later signature to change there.
    let field_name = match &target {
        Some(t) => t.name.clone(),
        None => existing.free_field_name(),
    };
    if let Some(t) = &target {
        let dict_at = |r: Ref| match file.get_at(r, upto)? {
            Object::Dict(d) => Ok(d),
            _ => Err(PdfError::Structure(format!(
                "object {} is not a dictionary",
                r.num
            ))),
        };
        let mut apd = Dict::default();
        apd.set(b"N", Object::Ref(widgets[0].1));
        let mut fd = dict_at(t.field)?;
        fd.set(b"V", Object::Ref(sig));
        if t.widget == t.field {
            fd.set(b"AP", Object::Dict(apd));
        } else {
            let mut wd = dict_at(t.widget)?;
            wd.set(b"AP", Object::Dict(apd));
            write_obj(&mut out, &mut offsets, t.widget, &Object::Dict(wd));
        }
        write_obj(&mut out, &mut offsets, t.field, &Object::Dict(fd));
    }
    for (k, ((widget, ap), part)) in widgets.iter().zip(&plan).enumerate() {
        // An existing field's widget was written above.
        if target.is_none() || k > 0 {
            let mut wd = Dict::default();
            wd.set(b"Type", Object::name(b"Annot"));
            if k == 0 {
                wd.set(b"Subtype", Object::name(b"Widget"));
                wd.set(b"FT", Object::name(b"Sig"));
                wd.set(b"T", text_string(&field_name));
                wd.set(b"V", Object::Ref(sig));
            } else {
                wd.set(b"Subtype", Object::name(b"Stamp"));
                wd.set(
                    b"NM",
                    text_string(&format!("{field_name} {}/{}", k + 1, plan.len())),
                );
            }
            // Print + Locked: shown when printed, not movable in a reader.
            wd.set(b"F", Object::Int(132));
            wd.set(
                b"Rect",
                Object::Array(part.rect.iter().map(|&v| Object::Real(v)).collect()),
            );
            wd.set(b"P", Object::Ref(part.page));
            let mut apd = Dict::default();
            apd.set(b"N", Object::Ref(*ap));
            wd.set(b"AP", Object::Dict(apd));
            write_obj(&mut out, &mut offsets, *widget, &Object::Dict(wd));
        }

        // The appearance: the picture where the part says, so that this widget shows its part.
        let real = super::object::format_real;
        let [ix, iy, iw, ih] = part.image;
        let mut res = Dict::default();
        let content = match drawn {
            Drawn::Image(_, img, _) => {
                let mut xo = Dict::default();
                xo.set(b"Im0", Object::Ref(img));
                res.set(b"XObject", Object::Dict(xo));
                format!(
                    "q {} 0 0 {} {} {} cm /Im0 Do Q",
                    real(iw),
                    real(ih),
                    real(ix),
                    real(iy)
                )
                .into_bytes()
            }
            Drawn::Vector(art) => {
                // Scaled from the drawing's own box to the part's.
                let mut c = format!(
                    "q {} 0 0 {} {} {} cm\n",
                    real(iw / (art.width_mm * PT_PER_MM)),
                    real(ih / (art.height_mm * PT_PER_MM)),
                    real(ix),
                    real(iy)
                )
                .into_bytes();
                c.extend_from_slice(&art.content);
                c.extend_from_slice(b"\nQ");
                c
            }
        };
        let mut apx = Dict::default();
        apx.set(b"Type", Object::name(b"XObject"));
        apx.set(b"Subtype", Object::name(b"Form"));
        apx.set(
            b"BBox",
            Object::Array(vec![
                Object::Int(0),
                Object::Int(0),
                Object::Real(part.rect[2] - part.rect[0]),
                Object::Real(part.rect[3] - part.rect[1]),
            ]),
        );
        apx.set(b"Resources", Object::Dict(res));
        write_stream(&mut out, &mut offsets, *ap, apx, &content);
    }

    if let Drawn::Image(im, img, smask) = drawn {
        let mut imd = Dict::default();
        imd.set(b"Type", Object::name(b"XObject"));
        imd.set(b"Subtype", Object::name(b"Image"));
        imd.set(b"Width", Object::Int(i64::from(im.width)));
        imd.set(b"Height", Object::Int(i64::from(im.height)));
        imd.set(b"ColorSpace", Object::name(im.color_space.as_bytes()));
        imd.set(
            b"BitsPerComponent",
            Object::Int(i64::from(im.bits_per_component)),
        );
        imd.set(b"Filter", Object::name(im.filter.as_bytes()));
        if let Some(s) = smask {
            imd.set(b"SMask", Object::Ref(s));
        }
        write_stream(&mut out, &mut offsets, img, imd, &im.data);
        if let (Some(s), Some(alpha)) = (smask, &im.smask) {
            let mut sd = Dict::default();
            sd.set(b"Type", Object::name(b"XObject"));
            sd.set(b"Subtype", Object::name(b"Image"));
            sd.set(b"Width", Object::Int(i64::from(im.width)));
            sd.set(b"Height", Object::Int(i64::from(im.height)));
            sd.set(b"ColorSpace", Object::name(b"DeviceGray"));
            sd.set(b"BitsPerComponent", Object::Int(8));
            sd.set(b"Filter", Object::name(b"FlateDecode"));
            write_stream(&mut out, &mut offsets, s, sd, alpha);
        }
    }

    // Each page's /Annots gains its widget; an existing field's widget is there already.
    let added = usize::from(target.is_some());
    for ((widget, _), part) in widgets.iter().zip(&plan).skip(added) {
        add_annot(file, &mut out, &mut offsets, part.page, *widget)?;
    }

    // The AcroForm gains the field; the catalog changes only if it must.
    let (root, mut catalog) = file.catalog_at(upto)?;
    let mut catalog_changed =
        // An existing field (`field=`) is listed already: only /SigFlags may change.
        add_field(file, &mut out, &mut offsets, &mut nums, &mut catalog, target.is_none().then_some(field))?;
    if opts.certify != Certify::None {
        let mut perms = Dict::default();
        perms.set(b"DocMDP", Object::Ref(sig));
        catalog.set(b"Perms", Object::Dict(perms));
        catalog_changed = true;
    }
    if catalog_changed {
        write_obj(&mut out, &mut offsets, root, &Object::Dict(catalog));
    }

    end_update(file, &mut out, trailer, &mut offsets, &mut nums)?;

    // ByteRange, now that the length is known; padded with spaces inside its fixed slot.
    close_byte_range(&mut out, byte_range_at, &hole)?;
    Ok(Prepared {
        bytes: out,
        hole,
        normalised: false,
        field_name,
        rect: plan[0].rect,
    })
}

/// Adds `field` (if any) to the AcroForm's /Fields, creating the AcroForm if need be, and sets
/// /SigFlags 3; true if `catalog` changed and must be written.
pub(super) fn add_field(
    file: &PdfFile<'_>,
    out: &mut Vec<u8>,
    offsets: &mut Vec<(Ref, usize)>,
    nums: &mut Numbers,
    catalog: &mut Dict,
    field: Option<Ref>,
) -> Result<bool, PdfError> {
    let upto = file.sections().len();
    let add_field = |form: &mut Dict| -> Result<Option<(Ref, Vec<Object>)>, PdfError> {
        form.set(b"SigFlags", Object::Int(3));
        let Some(field) = field else {
            return Ok(None);
        };
        match form.get(b"Fields") {
            Some(Object::Ref(arr)) => {
                let arr = *arr;
                let mut items = match file.get_at(arr, upto)? {
                    Object::Array(a) => a,
                    _ => return Err(PdfError::Structure("/Fields is not an array".into())),
                };
                items.push(Object::Ref(field));
                Ok(Some((arr, items)))
            }
            Some(Object::Array(a)) => {
                let mut items = a.clone();
                items.push(Object::Ref(field));
                form.set(b"Fields", Object::Array(items));
                Ok(None)
            }
            _ => {
                form.set(b"Fields", Object::Array(vec![Object::Ref(field)]));
                Ok(None)
            }
        }
    };
    match catalog.get(b"AcroForm").cloned() {
        Some(Object::Ref(form_ref)) => {
            let Object::Dict(mut form) = file.get_at(form_ref, upto)? else {
                return Err(PdfError::Structure("/AcroForm is not a dictionary".into()));
            };
            if let Some((arr, items)) = add_field(&mut form)? {
                write_obj(out, offsets, arr, &Object::Array(items));
            }
            write_obj(out, offsets, form_ref, &Object::Dict(form));
            Ok(false)
        }
        Some(Object::Dict(mut form)) => {
            if let Some((arr, items)) = add_field(&mut form)? {
                write_obj(out, offsets, arr, &Object::Array(items));
            }
            catalog.set(b"AcroForm", Object::Dict(form));
            Ok(true)
        }
        _ => {
            let form_ref = nums.next();
            let mut form = Dict::default();
            add_field(&mut form)?;
            write_obj(out, offsets, form_ref, &Object::Dict(form));
            catalog.set(b"AcroForm", Object::Ref(form_ref));
            Ok(true)
        }
    }
}

/// Writes the start of signature dictionary `sig` by hand, to know where its `/ByteRange` slot
/// and `/Contents` hole (`capacity` bytes) are; the caller adds entries and closes it.
pub(super) fn open_signature(
    out: &mut Vec<u8>,
    offsets: &mut Vec<(Ref, usize)>,
    sig: Ref,
    sig_type: &[u8],
    sub_filter: SubFilter,
    capacity: usize,
) -> (usize, Range<usize>) {
    offsets.push((sig, out.len()));
    out.extend_from_slice(format!("{} 0 obj\n<</Type ", sig.num).as_bytes());
    Object::name(sig_type).write(out);
    out.extend_from_slice(b"/Filter /Adobe.PPKLite/SubFilter ");
    Object::name(sub_filter.name()).write(out);
    out.extend_from_slice(b"/ByteRange ");
    let byte_range_at = out.len();
    out.extend_from_slice(&[b' '; 40]);
    out.extend_from_slice(b"/Contents ");
    let hole_start = out.len();
    out.push(b'<');
    out.resize(out.len() + capacity * 2, b'0');
    out.push(b'>');
    (byte_range_at, hole_start..out.len())
}

/// Writes the `/ByteRange` of a finished update into its slot: everything but the hole.
pub(super) fn close_byte_range(
    out: &mut [u8],
    byte_range_at: usize,
    hole: &Range<usize>,
) -> Result<(), PdfError> {
    let len = out.len();
    let br = format!("[0 {} {} {}]", hole.start, hole.end, len - hole.end);
    if br.len() > 40 {
        return Err(PdfError::TooLarge("file"));
    }
    out[byte_range_at..byte_range_at + br.len()].copy_from_slice(br.as_bytes());
    Ok(())
}
/// Adds `widget` to `page`'s /Annots: the indirect array if there is one, else the page.
pub(super) fn add_annot(
    file: &PdfFile<'_>,
    out: &mut Vec<u8>,
    offsets: &mut Vec<(Ref, usize)>,
    page_ref: Ref,
    widget: Ref,
) -> Result<(), PdfError> {
    let upto = file.sections().len();
    let Object::Dict(mut page) = file.get_at(page_ref, upto)? else {
        return Err(PdfError::Structure("page is not a dictionary".into()));
    };
    match page.get(b"Annots") {
        Some(Object::Ref(arr)) => {
            let arr = *arr;
            let mut items = match file.get_at(arr, upto)? {
                Object::Array(a) => a,
                Object::Null => Vec::new(),
                _ => return Err(PdfError::Structure("page /Annots is not an array".into())),
            };
            items.push(Object::Ref(widget));
            write_obj(out, offsets, arr, &Object::Array(items));
        }
        other => {
            let mut items = match other {
                Some(Object::Array(a)) => a.clone(),
                None | Some(Object::Null) => Vec::new(),
                Some(_) => {
                    return Err(PdfError::Structure("page /Annots is not an array".into()));
                }
            };
            items.push(Object::Ref(widget));
            page.set(b"Annots", Object::Array(items));
            write_obj(out, offsets, page_ref, &Object::Dict(page));
        }
    }
    Ok(())
}

/// One widget of the seal: its page, rectangle, and where the image goes in its appearance
/// (`[x y width height]` relative to the rectangle's lower-left corner).
#[derive(Clone)]
struct Part {
    page: Ref,
    rect: [f64; 4],
    image: [f64; 4],
}

/// An existing empty signature field to sign into.
struct Target {
    name: String,
    field: Ref,
    widget: Ref,
    part: Part,
}

/// The field named `name`, which must be an unsigned signature field with one widget on a page:
/// the seal goes centred in that widget, at its own size or shrunk to fit.
fn empty_field(
    file: &PdfFile<'_>,
    upto: usize,
    name: &str,
    w: f64,
    h: f64,
) -> Result<Target, PdfError> {
    let refuse = |why: &str| Err(PdfError::Refused(format!("field {name:?} {why}")));
    let fields = form_fields(file, upto)?;
    let Some(f) = fields.iter().find(|f| f.name == name) else {
        return refuse("does not exist");
    };
    if !f.is_signature() {
        return refuse("is not a signature field");
    }
    if f.is_filled() {
        return refuse("is already signed");
    }
    let [widget] = f.widgets.as_slice() else {
        return refuse("does not have exactly one widget");
    };
    let (Some(page), Some(rect)) = (widget.page, widget.rect) else {
        return refuse("has no widget placed on a page");
    };
    let (rw, rh) = (rect[2] - rect[0], rect[3] - rect[1]);
    if !(rw >= 1.0 && rh >= 1.0) {
        return refuse("has an invisible widget");
    }
    let k = (rw / w).min(rh / h).min(1.0);
    Ok(Target {
        name: f.name.clone(),
        field: f.field,
        widget: widget.annot,
        part: Part {
            page,
            rect,
            image: [(rw - w * k) / 2.0, (rh - h * k) / 2.0, w * k, h * k],
        },
    })
}

/// The page's crop box (else media box), inherited if need be.
fn page_box(file: &PdfFile<'_>, page: Ref, upto: usize) -> Result<[f64; 4], PdfError> {
    let Object::Dict(dict) = file.get_at(page, upto)? else {
        return Err(PdfError::Structure("page is not a dictionary".into()));
    };
    let crop = file.inherited(&dict, b"CropBox", upto)?;
    let media = file.inherited(&dict, b"MediaBox", upto)?;
    let usable = |r: [f64; 4]| (r[2] > r[0] && r[3] > r[1]).then_some(r);
    rect(crop.as_ref())
        .and_then(usable)
        .or_else(|| rect(media.as_ref()).and_then(usable))
        .ok_or_else(|| PdfError::Structure("page without a usable /MediaBox".into()))
}

/// The whole seal on one page, at (x, y) or 15 mm from the bottom-right corner.
fn single_plan(
    file: &PdfFile<'_>,
    pages: &[Ref],
    opts: &StampOptions<'_>,
    w: f64,
    h: f64,
) -> Result<Vec<Part>, PdfError> {
    let page = *pages
        .get(opts.placement.page.wrapping_sub(1))
        .ok_or_else(|| {
            PdfError::Refused(format!(
                "page {} does not exist (the document has {})",
                opts.placement.page,
                pages.len()
            ))
        })?;
    let bbox = page_box(file, page, file.sections().len())?;
    let margin = 15.0 * PT_PER_MM;
    let x = opts.placement.x.unwrap_or(bbox[2] - bbox[0] - w - margin);
    let y = opts.placement.y.unwrap_or(margin);
    let r = [bbox[0] + x, bbox[1] + y, bbox[0] + x + w, bbox[1] + y + h];
    let eps = 0.01;
    if !(r[0] >= bbox[0] - eps
        && r[1] >= bbox[1] - eps
        && r[2] <= bbox[2] + eps
        && r[3] <= bbox[3] + eps)
    {
        return Err(PdfError::Refused(format!(
            "a {:.0}×{:.0} mm seal at ({:.1}, {:.1}) mm does not fit on page {} ({:.0}×{:.0} mm)",
            w / PT_PER_MM,
            h / PT_PER_MM,
            x / PT_PER_MM,
            y / PT_PER_MM,
            opts.placement.page,
            (bbox[2] - bbox[0]) / PT_PER_MM,
            (bbox[3] - bbox[1]) / PT_PER_MM
        )));
    }
    Ok(vec![Part {
        page,
        rect: r,
        image: [0.0, 0.0, w, h],
    }])
}

/// A 骑缝章 (cross-page seal): the seal cut into vertical strips, strip k of a group on the
/// right edge of the group's page k, at height y (default: centred), so that the stacked pages
/// show the whole seal and no page can be swapped unnoticed on paper. As on paper, a long
/// document is split into consecutive groups (sizes differing by at most one) small enough
/// that every strip is at least `MIN_STRIP_MM` wide, the seal repeated per group.
fn cross_page_plan(
    file: &PdfFile<'_>,
    existing_signed: bool,
    pages: &[Ref],
    opts: &StampOptions<'_>,
    w: f64,
    h: f64,
) -> Result<Vec<Part>, PdfError> {
    if pages.len() < 2 {
        return Err(PdfError::Refused(
            "a cross-page seal needs at least two pages".into(),
        ));
    }
    if existing_signed {
        // Its strips on later pages are annotations, which no seal allows after it.
        return Err(PdfError::Refused(
            "a cross-page seal must be the first signature of a document".into(),
        ));
    }
    if pages.len() > MAX_CROSS_PAGES {
        return Err(PdfError::Refused(format!(
            "a cross-page seal spans at most {MAX_CROSS_PAGES} pages"
        )));
    }
    let upto = file.sections().len();
    let groups = cross_page_groups(pages.len(), w / PT_PER_MM);
    pages
        .iter()
        .zip(groups)
        .enumerate()
        .map(|(k, (&page, (index, size)))| {
            let bbox = page_box(file, page, upto)?;
            let y = opts
                .placement
                .y
                .unwrap_or((bbox[3] - bbox[1] - h) / 2.0)
                .max(0.0);
            if y + h > bbox[3] - bbox[1] + 0.01 {
                return Err(PdfError::Refused(format!(
                    "the cross-page seal does not fit on page {}",
                    k + 1
                )));
            }
            #[allow(clippy::cast_precision_loss)]
            let strip = w / size as f64;
            #[allow(clippy::cast_precision_loss)]
            let shift = strip * index as f64;
            Ok(Part {
                page,
                rect: [bbox[2] - strip, bbox[1] + y, bbox[2], bbox[1] + y + h],
                image: [-shift, 0.0, w, h],
            })
        })
        .collect()
}

/// Most pages a cross-page seal is stamped over (each group repeats the seal).
const MAX_CROSS_PAGES: usize = 200;
/// Narrowest strip of a cross-page seal: thinner strips are lost in the paper's edge and
/// cannot be matched by eye, so seal makers start a new group instead.
const MIN_STRIP_MM: f64 = 3.0;

/// For each of `pages` pages of a cross-page seal `width_mm` wide, its strip's index in its
/// group and the group's size: as few groups as keep strips `MIN_STRIP_MM` wide, as even as
/// possible (so never a group of one page when the seal spans at least three strips).
pub(crate) fn cross_page_groups(pages: usize, width_mm: f64) -> Vec<(usize, usize)> {
    // The float is a small positive width; at least two strips a group, as a 骑缝章 needs.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let per_group = ((width_mm / MIN_STRIP_MM).floor() as usize).max(2);
    let groups = pages.div_ceil(per_group).max(1);
    let (base, larger) = (pages / groups, pages % groups);
    (0..groups)
        .flat_map(|g| {
            let size = base + usize::from(g < larger);
            (0..size).map(move |i| (i, size))
        })
        .collect()
}

fn mdp_level(c: Certify) -> Option<u8> {
    match c {
        Certify::None => None,
        Certify::NoChanges => Some(1),
        Certify::FormFillAndSign => Some(2),
    }
}

pub(super) fn write_obj(out: &mut Vec<u8>, offsets: &mut Vec<(Ref, usize)>, r: Ref, o: &Object) {
    offsets.push((r, out.len()));
    out.extend_from_slice(format!("{} {} obj\n", r.num, r.generation).as_bytes());
    o.write(out);
    out.extend_from_slice(b"\nendobj\n");
}

pub(super) fn write_stream(
    out: &mut Vec<u8>,
    offsets: &mut Vec<(Ref, usize)>,
    r: Ref,
    mut dict: Dict,
    data: &[u8],
) {
    offsets.push((r, out.len()));
    out.extend_from_slice(format!("{} {} obj\n", r.num, r.generation).as_bytes());
    dict.set(
        b"Length",
        Object::Int(i64::try_from(data.len()).unwrap_or(i64::MAX)),
    );
    dict.write(out);
    out.extend_from_slice(b"\nstream\n");
    out.extend_from_slice(data);
    out.extend_from_slice(b"\nendstream\nendobj\n");
}

/// Ends an incremental update of `file`: its cross-reference section, in the form of the last
/// one, pointing back at it.
pub(super) fn end_update(
    file: &PdfFile<'_>,
    out: &mut Vec<u8>,
    trailer: &Dict,
    offsets: &mut Vec<(Ref, usize)>,
    nums: &mut Numbers,
) -> Result<(), PdfError> {
    let last = &file.sections()[file.sections().len() - 1];
    write_xref(out, last.kind, trailer, offsets, nums, last.xref_offset)
}

/// The update's cross-reference section, of the same kind as the previous one (a table after a
/// table or hybrid, a stream after a stream), then `startxref` and `%%EOF`.
fn write_xref(
    out: &mut Vec<u8>,
    prev_kind: XrefKind,
    prev_trailer: &Dict,
    offsets: &mut Vec<(Ref, usize)>,
    nums: &mut Numbers,
    prev: usize,
) -> Result<(), PdfError> {
    let mut trailer = Dict::default();
    for key in [&b"Root"[..], b"Info", b"ID"] {
        if let Some(v) = prev_trailer.get(key) {
            trailer.set(key, v.clone());
        }
    }
    trailer.set(
        b"Prev",
        Object::Int(i64::try_from(prev).unwrap_or(i64::MAX)),
    );
    if prev_kind == XrefKind::Stream {
        let me = nums.next();
        let at = out.len();
        offsets.push((me, at));
        offsets.sort_unstable();
        let index = subsections(offsets);
        let mut data = Vec::with_capacity(offsets.len() * 7);
        for (_, off) in offsets.iter() {
            data.push(1);
            data.extend_from_slice(
                &u32::try_from(*off)
                    .map_err(|_| PdfError::TooLarge("file"))?
                    .to_be_bytes(),
            );
            data.extend_from_slice(&[0, 0]);
        }
        let mut d = Dict::default();
        d.set(b"Type", Object::name(b"XRef"));
        d.set(b"Size", Object::Int(i64::from(nums.0)));
        d.set(
            b"W",
            Object::Array(vec![Object::Int(1), Object::Int(4), Object::Int(2)]),
        );
        d.set(
            b"Index",
            Object::Array(
                index
                    .iter()
                    .flat_map(|&(s, n)| [Object::Int(i64::from(s)), Object::Int(n)])
                    .collect(),
            ),
        );
        for (k, v) in trailer.0 {
            d.set(&k, v);
        }
        let mut ignore = Vec::new();
        write_stream(out, &mut ignore, me, d, &data);
        out.extend_from_slice(format!("startxref\n{at}\n%%EOF\n").as_bytes());
        return Ok(());
    }
    offsets.sort_unstable();
    let at = out.len();
    out.extend_from_slice(b"xref\n");
    let index = subsections(offsets);
    let mut rows = offsets.iter();
    for (start, n) in index {
        out.extend_from_slice(format!("{start} {n}\n").as_bytes());
        for (r, off) in rows.by_ref().take(usize::try_from(n).unwrap_or(0)) {
            out.extend_from_slice(format!("{off:010} {:05} n\r\n", r.generation).as_bytes());
        }
    }
    trailer.set(b"Size", Object::Int(i64::from(nums.0)));
    out.extend_from_slice(b"trailer\n");
    trailer.write(out);
    out.extend_from_slice(format!("\nstartxref\n{at}\n%%EOF\n").as_bytes());
    Ok(())
}

/// Consecutive runs of object numbers in sorted `offsets`: (first, count).
fn subsections(offsets: &[(Ref, usize)]) -> Vec<(u32, i64)> {
    let mut index: Vec<(u32, i64)> = Vec::new();
    for (r, _) in offsets {
        match index.last_mut() {
            Some((s, n)) if i64::from(*s) + *n == i64::from(r.num) => *n += 1,
            _ => index.push((r.num, 1)),
        }
    }
    index
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cross_page_groups_keep_every_strip_three_millimetres_wide() {
        // A 42 mm seal takes at most 14 pages a group: 30 pages are three groups of ten.
        let groups = cross_page_groups(30, 42.0);
        assert_eq!(groups.len(), 30);
        assert!(groups.iter().all(|&(_, size)| size == 10));
        assert_eq!(groups[9], (9, 10));
        assert_eq!(groups[10], (0, 10));
        for (pages, width) in [
            (2, 42.0),
            (14, 42.0),
            (15, 42.0),
            (200, 42.0),
            (7, 10.0),
            (5, 38.0),
        ] {
            let groups = cross_page_groups(pages, width);
            assert_eq!(groups.len(), pages);
            for &(index, size) in &groups {
                assert!(index < size);
                assert!(size >= 2, "{pages} pages of {width} mm: a group of one");
                assert!(
                    width / size as f64 >= MIN_STRIP_MM,
                    "{pages} pages of {width} mm"
                );
            }
            // Strips of a group are consecutive: each group starts at index 0.
            assert_eq!(groups[0].0, 0);
            for w in groups.windows(2) {
                assert!(w[1].0 == w[0].0 + 1 || (w[1].0 == 0 && w[0].0 + 1 == w[0].1));
            }
        }
        // Short documents keep one group, as before.
        assert_eq!(
            cross_page_groups(14, 42.0),
            (0..14).map(|i| (i, 14)).collect::<Vec<_>>()
        );
    }
}
