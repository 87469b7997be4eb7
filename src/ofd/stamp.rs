//! Sealing an OFD with a GB/T 38540 seal (GB/T 33190 §18): a new `Sign_N` folder with
//! `Signature.xml`, `Seal.esl` and `SignedValue.dat`, listed in `Signatures.xml`.
//!
//! What earlier signatures protect never changes: every existing file is copied with the same
//! decompressed bytes. Two files may change, and neither is protected by anyone: `Signatures.xml`
//! (every signature's folder and the list itself are outside every signature's coverage, so later
//! seals can extend it) and, on the first seal only, `OFD.xml`, which gains its
//! `<Signatures>` reference by a textual insertion (nothing else in it moves). The new
//! signature's `References` cover every file of the package but the signature lists and its own
//! folder, `OFD.xml` as changed included, so it sees what it seals.
//!
//! The seal's picture is drawn by the reader from `Seal.esl` into each `StampAnnot`'s
//! `Boundary` (millimetres, from the page's top-left corner). A 骑缝章 is one signature with a
//! `StampAnnot` per page: the whole seal's box placed so that its `i`-th vertical strip lies on
//! page `i`'s right edge, and a `Clip` (in the box's own coordinates) keeping only that strip;
//! strips stay at least 3 mm wide by grouping the pages as PDF stamping does
//! ([`crate::pdf::cross_page_groups`]), the seal repeated per group.
//!
//! `keyword` looks at each `TextObject`'s `TextCode`s (white space ignored), locates the keyword
//! inside a code with its `X` and `DeltaX`, and centres the seal on the keyword's characters
//! (vertically on the object's `Boundary`), moved only as far as it takes to stay on the page. A keyword split across `TextCode`s or objects, and
//! objects with a `CTM`, are not found where they are drawn: the first is not found, the second
//! is placed by its `Boundary` as written.

use std::borrow::Cow;
use std::collections::BTreeSet;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use super::package::{normalize_path, resolve_path};
use super::source::Source;
use super::write::package::{self, add};
use super::write::parts::{Packing, Part};
use super::write::xml::{El, nums, to_bytes};
use super::write::{Files, WriteError};
use super::xml::{self, Element};
use super::{Limits, OfdError};
use crate::crypto::sm3;

/// `CheckMethod` of the references: SM3.
const SM3_OID: &str = "1.2.156.10197.1.401";
/// Distance of a seal from the page's right and bottom edges when no position is given (mm).
const MARGIN: f64 = 15.0;
/// Rounding allowed when checking that a seal fits on its page (mm).
const EPS: f64 = 0.01;

/// Why an OFD could not be sealed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StampError {
    /// The package could not be read.
    #[error(transparent)]
    Ofd(#[from] OfdError),
    /// The document's structure does not allow sealing as asked (no such page, no page size …).
    #[error("{0}")]
    Refused(String),
    /// The keyword is on no page looked at.
    #[error("text {0:?} not found")]
    KeywordNotFound(String),
    /// The new files could not be written.
    #[error("writing the sealed package: {0}")]
    Write(String),
}

impl From<WriteError> for StampError {
    fn from(e: WriteError) -> Self {
        match e {
            // Only the document's own values (entry names, ids, paths) can hold such characters.
            WriteError::InvalidXmlChar(_) => {
                StampError::Refused(format!("the document's names or ids: {e}"))
            }
            e => StampError::Write(e.to_string()),
        }
    }
}

/// Where the seal goes.
#[derive(Debug, Clone, PartialEq)]
pub enum Placement {
    /// On `page` (1-based), its top-left corner at `x`, `y` mm from the page's top-left (default:
    /// 15 mm from the right and bottom edges).
    At {
        /// 1-based page.
        page: usize,
        /// Left edge (mm).
        x: Option<f64>,
        /// Top edge (mm).
        y: Option<f64>,
    },
    /// A 骑缝章 over the right edge of every page, its top edge `y` mm from the top (default:
    /// centred).
    CrossPage {
        /// Top edge (mm).
        y: Option<f64>,
    },
    /// Centred on the first occurrence of `text` on `page` (1-based), else on any page.
    Keyword {
        /// The text, white space ignored.
        text: String,
        /// The page to look on.
        page: Option<usize>,
    },
}

/// What the signer says about itself and its seal.
#[derive(Debug, Clone, Copy)]
pub struct StampOptions<'a> {
    /// Where the seal goes.
    pub placement: &'a Placement,
    /// The SESeal (written as `Seal.esl`).
    pub seal_esl: &'a [u8],
    /// The seal picture's size in mm (width, height).
    pub size_mm: (f64, f64),
    /// `SignatureMethod`: the seal key's signature algorithm OID.
    pub method_oid: &'a str,
    /// `SignatureDateTime` as written (`YYYYMMDDhhmmss`, UTC).
    pub date_time: &'a str,
    /// `Provider` `ProviderName` and `Version`.
    pub provider: (&'a str, &'a str),
}

/// One file of the sealed package.
enum Piece {
    /// Bytes written (and deflated or stored) here.
    New(Part),
    /// A file of the source, copied unchanged.
    Kept(String),
}

/// A package laid out for one more signature, waiting for its `SignedValue.dat`.
pub struct Prepared {
    /// What is sealed: its unchanged files are copied from it.
    source: Source,
    /// Every file of the new package before `Signature.xml`, in writing order.
    pieces: Vec<Piece>,
    /// `Signature.xml`, written after them, then `SignedValue.dat`.
    signature: Part,
    /// Package path of `SignedValue.dat`.
    signed_value: String,
    /// `/…/Signature.xml`.
    property_info: String,
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared")
            .field("property_info", &self.property_info)
            .finish_non_exhaustive()
    }
}

impl Prepared {
    /// The exact `Signature.xml`: the SES_Signature's dataHash is over these bytes.
    pub fn signature_xml(&self) -> &[u8] {
        &self.signature.data
    }

    /// The absolute path of `Signature.xml`, the SES_Signature's `propertyInfo`.
    pub fn property_info(&self) -> &str {
        &self.property_info
    }

    /// The sealed package, with `signed_value` (the SES_Signature DER) as `SignedValue.dat`.
    pub fn finish(self, signed_value: &[u8]) -> Result<Vec<u8>, StampError> {
        let mut w = package::writer();
        for piece in &self.pieces {
            match piece {
                Piece::New(part) => add(&mut w, part)?,
                // A package's files are copied as stored, without inflating and deflating them
                // again (most of the time of sealing a long document otherwise).
                Piece::Kept(name) => self.source.copy(name, &mut w)?,
            }
        }
        add(&mut w, &self.signature)?;
        // Holds the seal, picture and all: stored, as `Seal.esl` is.
        add(
            &mut w,
            &Part {
                path: self.signed_value,
                data: signed_value.to_vec(),
                packing: Packing::Stored,
            },
        )?;
        Ok(package::finish(w)?)
    }
}

/// Lays out one more signature of the OFD in `input` (see the module doc).
pub fn prepare(
    input: &[u8],
    opts: &StampOptions<'_>,
    limits: &Limits,
) -> Result<Prepared, StampError> {
    prepare_source(Source::open(input, limits)?, opts, limits)
}

/// Lays out the first signature of a document just written: the package [`prepare`] makes of
/// `files` zipped, without zipping them and reading them back first.
pub fn prepare_files(files: Files, opts: &StampOptions<'_>) -> Result<Prepared, StampError> {
    prepare_source(Source::written(files), opts, &Limits::default())
}

fn prepare_source(
    pkg: Source,
    opts: &StampOptions<'_>,
    limits: &Limits,
) -> Result<Prepared, StampError> {
    let ofd_xml = pkg.read("OFD.xml")?;
    let root = xml::parse(&ofd_xml, "OFD.xml", limits.max_xml_depth)?;
    if root.name != "OFD" {
        return Err(OfdError::NotOfd(format!("root element of OFD.xml is <{}>", root.name)).into());
    }
    let body = root
        .child("DocBody")
        .ok_or_else(|| OfdError::NotOfd("OFD.xml has no DocBody".into()))?;
    let doc_root = body
        .child_text("DocRoot")
        .ok_or_else(|| OfdError::NotOfd("DocBody has no DocRoot".into()))?;
    let doc_path = resolve_path("OFD.xml", &doc_root)?;
    // Every document's signature list is outside every signature's coverage.
    let mut lists = BTreeSet::new();
    for b in root.children_named("DocBody") {
        if let Some(loc) = b.child_text("Signatures") {
            lists.insert(resolve_path("OFD.xml", &loc)?);
        }
    }
    let (list, new_ofd_xml) = match body.child_text("Signatures") {
        Some(loc) => (resolve_path("OFD.xml", &loc)?, None),
        None => {
            let dir = doc_path.rsplit_once('/').map_or("", |(d, _)| d);
            let list = normalize_path(&format!("{dir}/Signs/Signatures.xml"))?;
            let edited = with_signatures_ref(&ofd_xml, &list)?;
            lists.insert(list.clone());
            (list, Some(edited))
        }
    };

    let pages = pages(&pkg, &doc_path, limits)?;
    let annots = annotations(&pkg, &pages, opts, limits)?;

    let (entries, max_id) = match pkg.contains(&list) {
        true => listed(&pkg, &list, limits)?,
        false => (Vec::new(), 0),
    };
    let id = max_id + 1;
    // The first `Sign_N` beside the list that holds no file yet (the package is finite).
    let list_dir = list
        .rsplit_once('/')
        .map_or(String::new(), |(d, _)| format!("{d}/"));
    let names = pkg.names();
    let taken = |n: &usize| {
        let prefix = format!("{list_dir}Sign_{n}/");
        names.iter().any(|name| name.starts_with(&prefix))
    };
    let n = (0..=names.len())
        .find(|n| !taken(n))
        .unwrap_or(names.len() + 1);
    let folder = format!("{list_dir}Sign_{n}");
    let signature_path = format!("{folder}/Signature.xml");
    let seal_path = format!("{folder}/Seal.esl");
    let signed_value = format!("{folder}/SignedValue.dat");

    let mut pieces = Vec::with_capacity(names.len() + 3);
    let mut references = El::new("ofd:References").attr("CheckMethod", SM3_OID);
    for name in &names {
        if lists.contains(name) {
            continue;
        }
        let data = match (&new_ofd_xml, name.as_str()) {
            (Some(edited), "OFD.xml") => {
                pieces.push(Piece::New(Part {
                    path: name.clone(),
                    data: edited.clone(),
                    packing: Packing::Xml,
                }));
                Cow::Borrowed(edited.as_slice())
            }
            _ => {
                pieces.push(Piece::Kept(name.clone()));
                pkg.read(name)?
            }
        };
        references = references.child(
            El::new("ofd:Reference")
                .attr("FileRef", format!("/{name}"))
                .leaf("ofd:CheckValue", B64.encode(sm3(&data))),
        );
    }
    for l in &lists {
        if pkg.contains(l) && *l != list {
            pieces.push(Piece::Kept(l.clone()));
        }
    }
    let mut list_el = El::root("ofd:Signatures").leaf("ofd:MaxSignId", id.to_string());
    for e in entries.into_iter().chain([Listed {
        id: id.to_string(),
        kind: Some("Seal".into()),
        base_loc: format!("/{signature_path}"),
    }]) {
        let mut el = El::new("ofd:Signature").attr("ID", e.id);
        if let Some(kind) = e.kind {
            el = el.attr("Type", kind);
        }
        list_el = list_el.child(el.attr("BaseLoc", e.base_loc));
    }
    pieces.push(Piece::New(Part {
        path: list.clone(),
        data: to_bytes(&list_el)?,
        packing: Packing::Xml,
    }));

    let (provider, version) = opts.provider;
    let mut info = El::new("ofd:SignedInfo")
        .child(
            El::new("ofd:Provider")
                .attr("ProviderName", provider)
                .attr("Version", version),
        )
        .leaf("ofd:SignatureMethod", opts.method_oid)
        .leaf("ofd:SignatureDateTime", opts.date_time)
        .child(references);
    for (n, a) in annots.iter().enumerate() {
        let mut el = El::new("ofd:StampAnnot")
            .attr("ID", n + 1)
            .attr("PageRef", &a.page_id)
            .attr("Boundary", nums(a.boundary));
        if let Some(clip) = a.clip {
            el = el.attr("Clip", nums(clip));
        }
        info = info.child(el);
    }
    let info = info.child(El::new("ofd:Seal").leaf("ofd:BaseLoc", format!("/{seal_path}")));
    let signature = El::root("ofd:Signature")
        .child(info)
        .leaf("ofd:SignedValue", format!("/{signed_value}"));
    // The seal is mostly its picture, compressed already: deflating it again costs more time
    // than the whole rest of the seal and saves little.
    pieces.push(Piece::New(Part {
        path: seal_path,
        data: opts.seal_esl.to_vec(),
        packing: Packing::Stored,
    }));
    Ok(Prepared {
        signature: Part {
            path: signature_path.clone(),
            data: to_bytes(&signature)?,
            packing: Packing::Xml,
        },
        source: pkg,
        pieces,
        signed_value,
        property_info: format!("/{signature_path}"),
    })
}

/// `OFD.xml` with `<Signatures>` inserted at the end of the first `DocBody` (where GB/T 33190
/// puts it), with the same prefix as the `DocBody` end tag; every other byte as it was.
fn with_signatures_ref(ofd_xml: &[u8], list: &str) -> Result<Vec<u8>, StampError> {
    let mut at = 0;
    while let Some(i) = find(&ofd_xml[at..], b"</").map(|i| i + at) {
        let end = find(&ofd_xml[i..], b">")
            .map(|e| e + i)
            .ok_or_else(|| StampError::Refused("OFD.xml: unterminated end tag".into()))?;
        let name = String::from_utf8_lossy(&ofd_xml[i + 2..end]);
        let name = name.trim();
        let (prefix, local) = name.rsplit_once(':').map_or(("", name), |(p, l)| (p, l));
        if local == "DocBody" {
            let tag = if prefix.is_empty() {
                "Signatures".to_owned()
            } else {
                format!("{prefix}:Signatures")
            };
            let mut out = ofd_xml[..i].to_vec();
            out.extend_from_slice(format!("<{tag}>/{list}</{tag}>").as_bytes());
            out.extend_from_slice(&ofd_xml[i..]);
            return Ok(out);
        }
        at = end;
    }
    Err(OfdError::NotOfd("OFD.xml has no DocBody end tag".into()).into())
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// One entry of an existing `Signatures.xml`, kept as written.
struct Listed {
    id: String,
    kind: Option<String>,
    base_loc: String,
}

/// The entries of `Signatures.xml` and the largest signature id (numeric ids and `MaxSignId`).
fn listed(pkg: &Source, list: &str, limits: &Limits) -> Result<(Vec<Listed>, u64), StampError> {
    let root = xml::parse(&pkg.read(list)?, list, limits.max_xml_depth)?;
    let mut max = root
        .child_text("MaxSignId")
        .and_then(|t| t.parse::<u64>().ok())
        .unwrap_or(0);
    let mut out = Vec::new();
    for s in root.children_named("Signature") {
        let id = s.attr("ID").unwrap_or_default().to_owned();
        max = max.max(id.trim().parse().unwrap_or(0));
        let base_loc = s.attr("BaseLoc").ok_or_else(|| {
            StampError::Refused(format!("/{list}: Signature ID={id:?} has no BaseLoc"))
        })?;
        out.push(Listed {
            kind: s.attr("Type").map(str::to_owned),
            base_loc: base_loc.to_owned(),
            id,
        });
    }
    Ok((out, max))
}

/// A page: its `ID`, its content file and its size (mm).
struct PageRef {
    id: String,
    content: String,
    size: (f64, f64),
}

/// The pages of the document at `doc_path`, in order.
fn pages(pkg: &Source, doc_path: &str, limits: &Limits) -> Result<Vec<PageRef>, StampError> {
    let doc = xml::parse(&pkg.read(doc_path)?, doc_path, limits.max_xml_depth)?;
    let default = doc
        .child("CommonData")
        .and_then(|c| c.child("PageArea"))
        .and_then(|a| a.child_text("PhysicalBox"))
        .and_then(|b| parse_box(&b));
    let mut out = Vec::new();
    for page in doc
        .child("Pages")
        .into_iter()
        .flat_map(|p| p.children_named("Page"))
    {
        let (Some(id), Some(loc)) = (page.attr("ID"), page.attr("BaseLoc")) else {
            return Err(StampError::Refused(format!(
                "/{doc_path}: a Page without ID or BaseLoc"
            )));
        };
        let relative = resolve_path(doc_path, loc)?;
        let content = if pkg.contains(&relative) {
            relative
        } else {
            normalize_path(loc)?
        };
        let el = xml::parse(&pkg.read(&content)?, &content, limits.max_xml_depth)?;
        let size = el
            .child("Area")
            .and_then(|a| a.child_text("PhysicalBox"))
            .and_then(|b| parse_box(&b))
            .or(default)
            .map(|b| (b[2], b[3]))
            .ok_or_else(|| StampError::Refused(format!("/{content}: no page size")))?;
        out.push(PageRef {
            id: id.to_owned(),
            content,
            size,
        });
    }
    if out.is_empty() {
        return Err(StampError::Refused("the document has no page".into()));
    }
    Ok(out)
}

fn parse_box(s: &str) -> Option<[f64; 4]> {
    let v: Vec<f64> = s
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    let b: [f64; 4] = v.try_into().ok()?;
    (b.iter().all(|n| n.is_finite()) && b[2] > 0.0 && b[3] > 0.0).then_some(b)
}

/// One `StampAnnot`.
struct Annot {
    page_id: String,
    boundary: [f64; 4],
    clip: Option<[f64; 4]>,
}

fn annotations(
    pkg: &Source,
    pages: &[PageRef],
    opts: &StampOptions<'_>,
    limits: &Limits,
) -> Result<Vec<Annot>, StampError> {
    let (w, h) = opts.size_mm;
    let on = |n: usize| {
        n.checked_sub(1).and_then(|i| pages.get(i)).ok_or_else(|| {
            StampError::Refused(format!(
                "page {n} does not exist (the document has {} pages)",
                pages.len()
            ))
        })
    };
    match opts.placement {
        Placement::At { page, x, y } => {
            let p = on(*page)?;
            let (pw, ph) = p.size;
            let (x, y) = (x.unwrap_or(pw - MARGIN - w), y.unwrap_or(ph - MARGIN - h));
            if x < -EPS || y < -EPS || x + w > pw + EPS || y + h > ph + EPS {
                return Err(StampError::Refused(format!(
                    "a {w:.0}×{h:.0} mm seal at ({x:.1}, {y:.1}) mm does not fit on page {page} \
                     ({pw:.0}×{ph:.0} mm)"
                )));
            }
            Ok(vec![Annot {
                page_id: p.id.clone(),
                boundary: [x, y, w, h],
                clip: None,
            }])
        }
        Placement::CrossPage { y } => {
            // Long documents in groups of pages, the seal repeated per group, as for PDFs.
            let groups = crate::pdf::cross_page_groups(pages.len(), w);
            pages
                .iter()
                .zip(groups)
                .enumerate()
                .map(|(k, (p, (i, n)))| {
                    let (pw, ph) = p.size;
                    let (i, strip) = (i as f64, w / n as f64);
                    let top = y.unwrap_or((ph - h) / 2.0).max(0.0);
                    if top + h > ph + EPS {
                        return Err(StampError::Refused(format!(
                            "the cross-page seal does not fit on page {}",
                            k + 1
                        )));
                    }
                    Ok(Annot {
                        page_id: p.id.clone(),
                        boundary: [pw - (i + 1.0) * strip, top, w, h],
                        clip: Some([i * strip, 0.0, strip, h]),
                    })
                })
                .collect()
        }
        Placement::Keyword { text, page } => {
            let wanted: Vec<char> = text.chars().filter(|c| !c.is_whitespace()).collect();
            let looked: Vec<&PageRef> = match page {
                Some(n) => vec![on(*n)?],
                None => pages.iter().collect(),
            };
            for p in looked {
                let content = xml::parse(&pkg.read(&p.content)?, &p.content, limits.max_xml_depth)?;
                if let Some([x, y, bw, bh]) = find_text(&content, &wanted) {
                    // Centred on the text, moved only as far as it takes to stay on the page.
                    let (pw, ph) = p.size;
                    let centred =
                        |c: f64, size: f64, page: f64| (c - size / 2.0).min(page - size).max(0.0);
                    return Ok(vec![Annot {
                        page_id: p.id.clone(),
                        boundary: [
                            centred(x + bw / 2.0, w, pw),
                            centred(y + bh / 2.0, h, ph),
                            w,
                            h,
                        ],
                        clip: None,
                    }]);
                }
            }
            Err(StampError::KeywordNotFound(text.clone()))
        }
    }
}

/// The box (page mm) of the first occurrence of `wanted` in a `TextCode` under `el`.
fn find_text(el: &Element, wanted: &[char]) -> Option<[f64; 4]> {
    if el.name == "TextObject" {
        let b = el.attr("Boundary").and_then(parse_box)?;
        let size: f64 = el.attr("Size").and_then(|s| s.parse().ok()).unwrap_or(b[3]);
        for code in el.children_named("TextCode") {
            if let Some((left, right)) = locate_in_code(code, wanted, size) {
                return Some([b[0] + left, b[1], right - left, b[3]]);
            }
        }
        return None;
    }
    el.children.iter().find_map(|c| find_text(c, wanted))
}

/// Horizontal extent, relative to the object's boundary, of `wanted` in one `TextCode`.
fn locate_in_code(code: &Element, wanted: &[char], size: f64) -> Option<(f64, f64)> {
    if wanted.is_empty() {
        return None;
    }
    let chars: Vec<char> = code.text.chars().collect();
    let deltas = delta_x(code.attr("DeltaX").unwrap_or_default());
    let x0: f64 = code.attr("X").and_then(|x| x.parse().ok()).unwrap_or(0.0);
    // Pen position of every character; the last delta repeats when the list is short (§11.3).
    let mut pos = Vec::with_capacity(chars.len() + 1);
    let mut x = x0;
    for i in 0..chars.len() {
        pos.push(x);
        x += deltas.get(i).or(deltas.last()).copied().unwrap_or(size);
    }
    pos.push(x);
    let visible: Vec<usize> = (0..chars.len())
        .filter(|&i| !chars[i].is_whitespace())
        .collect();
    let start = visible
        .windows(wanted.len())
        .find(|w| w.iter().zip(wanted).all(|(&i, c)| chars[i] == *c))?;
    let (first, last) = (*start.first()?, *start.last()?);
    let advance = deltas.get(last).copied().unwrap_or(size);
    Some((pos[first], pos[last] + advance))
}

/// `DeltaX` values, with the `g count value` repetition of GB/T 33190 §11.3 expanded (bounded).
fn delta_x(s: &str) -> Vec<f64> {
    const MAX: usize = 1 << 16;
    let mut out = Vec::new();
    let mut tokens = s.split_whitespace();
    while let Some(t) = tokens.next() {
        if out.len() >= MAX {
            break;
        }
        if t == "g" {
            let n: usize = tokens.next().and_then(|n| n.parse().ok()).unwrap_or(0);
            let v: f64 = tokens.next().and_then(|v| v.parse().ok()).unwrap_or(0.0);
            out.extend(std::iter::repeat_n(v, n.min(MAX - out.len())));
        } else if let Ok(v) = t.parse() {
            out.push(v);
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn signatures_ref_goes_at_the_end_of_doc_body_with_its_prefix() {
        let x = br#"<?xml version="1.0"?><ofd:OFD xmlns:ofd="u"><ofd:DocBody><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>"#;
        let out = with_signatures_ref(x, "Doc_0/Signs/Signatures.xml").unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"<?xml version="1.0"?><ofd:OFD xmlns:ofd="u"><ofd:DocBody><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot><ofd:Signatures>/Doc_0/Signs/Signatures.xml</ofd:Signatures></ofd:DocBody></ofd:OFD>"#
        );
        assert!(with_signatures_ref(b"<OFD/>", "x").is_err());
    }

    #[test]
    fn sealing_written_files_makes_the_package_sealing_their_zip_makes() {
        let doc = crate::ofd::write::tests::sample();
        let placement = Placement::At {
            page: 2,
            x: Some(20.0),
            y: None,
        };
        let opts = StampOptions {
            placement: &placement,
            seal_esl: b"the seal",
            size_mm: (40.0, 30.0),
            method_oid: "1.2.156.10197.1.501",
            date_time: "20260101000000",
            provider: ("sidian", "test"),
        };
        let zipped = crate::ofd::write::write(&doc).unwrap();
        let from_zip = prepare(&zipped, &opts, &Limits::default()).unwrap();
        let from_files = prepare_files(crate::ofd::write::files(&doc).unwrap(), &opts).unwrap();
        assert_eq!(from_zip.signature_xml(), from_files.signature_xml());
        assert_eq!(from_zip.property_info(), from_files.property_info());
        let sealed = from_files.finish(b"value").unwrap();
        assert_eq!(from_zip.finish(b"value").unwrap(), sealed);
        // And it is a package with the signature where its list says.
        let pkg = crate::ofd::Package::open(&sealed, &Limits::default()).unwrap();
        assert_eq!(
            pkg.read("Doc_0/Signs/Sign_0/SignedValue.dat").unwrap(),
            b"value"
        );
        assert!(pkg.read("Doc_0/Signs/Signatures.xml").is_ok());
    }

    #[test]
    fn delta_x_expands_repetitions() {
        assert_eq!(delta_x("1 g 3 2.5 4"), vec![1.0, 2.5, 2.5, 2.5, 4.0]);
        assert_eq!(delta_x("g 99999999 1").len(), 1 << 16);
    }

    #[test]
    fn keyword_is_located_by_delta_x() {
        let code = Element {
            name: "TextCode".into(),
            attrs: vec![("X".into(), "1".into()), ("DeltaX".into(), "5 5 5".into())],
            text: "甲 乙丙".into(),
            children: vec![],
        };
        // Pen positions 1, 6, 11, 16: 乙丙 spans 11..21 (the last advance is the last delta).
        assert_eq!(
            locate_in_code(&code, &['乙', '丙'], 5.0),
            Some((11.0, 21.0))
        );
        assert_eq!(locate_in_code(&code, &['甲', '乙'], 5.0), Some((1.0, 16.0)));
        assert_eq!(locate_in_code(&code, &['丁'], 5.0), None);
    }
}
