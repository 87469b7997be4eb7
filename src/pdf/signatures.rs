//! The PDF facts about each signature (ISO 32000-2 §12.8, ETSI EN 319 142-1): which form fields
//! hold one, where their widgets sit, what `/ByteRange` covers, what `/Contents` holds, and the
//! certification (DocMDP) level. No trust decisions: `crate::verify` turns these facts, the CMS
//! checks and the later-change analysis ([`super::diff`]) into verdicts.
//!
//! The coverage rules are those of docs/threats.md §1.2, checked exactly, because every published
//! PDF signature attack (USF, SWA, ISA) lives in a gap a lenient reader leaves: a `/ByteRange` of
//! another length or with negative numbers, a hole wider than the `<hex>` string, a literal
//! string in the hole, a range that ends in the middle of a revision.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

use super::PdfError;
use super::file::{Entry, PdfFile};
use super::object::{Dict, Object, Ref, is_whitespace};
use super::parse::Lexer;
use crate::report::Check;

/// Most form fields and widgets walked in one revision.
const MAX_FIELDS: usize = 10_000;
/// Deepest `/Kids` nesting of the field tree.
const MAX_FIELD_DEPTH: usize = 32;

/// A terminal form field (one without child fields) as of one revision.
#[derive(Debug, Clone, PartialEq)]
pub struct FormField {
    /// Fully qualified name: the `/T` of the field and its ancestors, joined with dots.
    pub name: String,
    /// The field dictionary.
    pub field: Ref,
    /// The field and its ancestors, from the `/Fields` entry down to the field.
    pub chain: Vec<Ref>,
    /// `/FT`, inherited from ancestors when absent.
    pub field_type: Option<Vec<u8>>,
    /// `/V`, inherited, as written (a signature field's value is a reference).
    pub value: Option<Object>,
    /// The field's widget annotations.
    pub widgets: Vec<Widget>,
}

impl FormField {
    /// The `/Fields` entry this field descends from.
    pub fn top(&self) -> Ref {
        self.chain.first().copied().unwrap_or(self.field)
    }

    /// Whether this is a signature field (`/FT /Sig`).
    pub fn is_signature(&self) -> bool {
        self.field_type.as_deref() == Some(b"Sig")
    }

    /// Whether the field has a value (`/V` present and not null).
    pub fn is_filled(&self) -> bool {
        !matches!(self.value, None | Some(Object::Null))
    }
}

/// A widget annotation of a form field.
#[derive(Debug, Clone, PartialEq)]
pub struct Widget {
    /// The annotation (the field itself when field and widget are merged).
    pub annot: Ref,
    /// The page whose `/Annots` lists it, else its `/P`.
    pub page: Option<Ref>,
    /// `/Rect`, normalised to `[llx, lly, urx, ury]`.
    pub rect: Option<[f64; 4]>,
}

/// What a signature dictionary is (`/Type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigType {
    /// `/Type /Sig`: a signature (approval or certification).
    Signature,
    /// `/Type /DocTimeStamp`: a document time-stamp (PAdES, ISO 32000-2 §12.8.5).
    DocTimeStamp,
}

impl SigType {
    /// The type of a signature dictionary: `/Type` is optional for `/Sig` (§12.8.1, Table 255)
    /// and required for `/DocTimeStamp`; any other `/Type` is no signature dictionary.
    pub fn of(dict: &Dict) -> Option<SigType> {
        match dict.get(b"Type") {
            None => Some(SigType::Signature),
            Some(Object::Name(n)) if n == b"Sig" => Some(SigType::Signature),
            Some(Object::Name(n)) if n == b"DocTimeStamp" => Some(SigType::DocTimeStamp),
            Some(_) => None,
        }
    }
}

/// The `/SubFilter`s this verifier reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubFilter {
    /// `ETSI.CAdES.detached`: PAdES baseline, CAdES over the byte ranges.
    CadesDetached,
    /// `adbe.pkcs7.detached`: CMS over the byte ranges.
    Pkcs7Detached,
    /// `ETSI.RFC3161`: an RFC 3161 token whose imprint is the digest of the byte ranges.
    Rfc3161,
}

impl SubFilter {
    /// The `/SubFilter` name for `name`, if supported.
    pub fn from_name(name: &[u8]) -> Option<SubFilter> {
        match name {
            b"ETSI.CAdES.detached" => Some(SubFilter::CadesDetached),
            b"adbe.pkcs7.detached" => Some(SubFilter::Pkcs7Detached),
            b"ETSI.RFC3161" => Some(SubFilter::Rfc3161),
            _ => None,
        }
    }

    /// The name written in `/SubFilter`.
    pub fn name(self) -> &'static [u8] {
        match self {
            SubFilter::CadesDetached => b"ETSI.CAdES.detached",
            SubFilter::Pkcs7Detached => b"adbe.pkcs7.detached",
            SubFilter::Rfc3161 => b"ETSI.RFC3161",
        }
    }
}

/// The two signed ranges `[0, hole.start)` and `[hole.end, end)`, once every coverage rule held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ByteRange {
    /// The unsigned hole: exactly the `<hex>` `/Contents` token.
    pub hole: Range<usize>,
    /// Where the second range ends (the end of the signed revision).
    pub end: usize,
}

impl ByteRange {
    /// The signed bytes of `buf`, in order (empty where the range does not fit `buf`).
    pub fn ranges<'b>(&self, buf: &'b [u8]) -> [&'b [u8]; 2] {
        [
            buf.get(..self.hole.start).unwrap_or_default(),
            buf.get(self.hole.end..self.end).unwrap_or_default(),
        ]
    }
}

/// One signature (or document time-stamp) found in a form field, with the facts about it.
#[derive(Debug, Clone)]
pub struct PdfSignature {
    /// The field holding it, as of the newest revision.
    pub field: FormField,
    /// The signature dictionary (`/V`), when it is an indirect reference.
    pub sig_ref: Option<Ref>,
    /// `/Type`, when the dictionary could be read.
    pub sig_type: Option<SigType>,
    /// `/SubFilter`, when supported.
    pub sub_filter: Option<SubFilter>,
    /// The coverage, when every `/ByteRange` and `/Contents` rule held.
    pub byte_range: Option<ByteRange>,
    /// The CMS (or RFC 3161 token) bytes: `/Contents` cut at the DER length of its outer TLV.
    pub contents: Option<Vec<u8>>,
    /// The index (in [`PdfFile::sections`]) of the revision the signature ends at.
    pub revision: Option<usize>,
    /// Whether the signed ranges reach the end of the file (only white space follows).
    pub covers_whole_file: bool,
    /// `/M`, the signing time the signer claims.
    pub claimed_time: Option<OffsetDateTime>,
    /// `/Reason`.
    pub reason: Option<String>,
    /// `/Name`.
    pub name: Option<String>,
    /// `/Location`.
    pub location: Option<String>,
    /// The DocMDP permission level (1–3) when this is the document's certification signature.
    pub doc_mdp: Option<u8>,
    /// Facts checked, named `pdf.*`; a failed one makes the signature INVALID.
    pub checks: Vec<Check>,
}

impl PdfSignature {
    /// Whether every structural check passed.
    pub fn structure_ok(&self) -> bool {
        self.checks.iter().all(|c| c.ok)
    }

    fn fail(&mut self, name: &str, detail: impl Into<String>) {
        self.checks.push(Check::new(name, false, detail));
    }

    fn pass(&mut self, name: &str, detail: impl Into<String>) {
        self.checks.push(Check::new(name, true, detail));
    }
}

/// The pages and form of one revision: what signature discovery and the difference analysis
/// both need.
#[derive(Debug, Clone)]
pub(crate) struct FormState {
    /// Pages in order, each with its `/Annots` (resolved) and the array's own reference.
    pub(crate) pages: Vec<PageAnnots>,
    /// The catalog's `/AcroForm`, resolved, and its reference when indirect.
    pub(crate) acroform: Option<(Option<Ref>, Dict)>,
    /// The `/Fields` array items, and the array's reference when indirect.
    pub(crate) top_fields: (Option<Ref>, Vec<Object>),
    /// Every terminal field.
    pub(crate) fields: Vec<FormField>,
}

/// A page and its annotations.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PageAnnots {
    pub(crate) page: Ref,
    pub(crate) annots_ref: Option<Ref>,
    pub(crate) annots: Vec<Object>,
}

/// The terminal form fields as of the first `upto` sections.
pub fn form_fields(file: &PdfFile<'_>, upto: usize) -> Result<Vec<FormField>, PdfError> {
    Ok(form_state(file, upto)?.fields)
}

/// Pages, annotations and the field tree as of `upto`, walked with cycle, depth and size bounds.
pub(crate) fn form_state(file: &PdfFile<'_>, upto: usize) -> Result<FormState, PdfError> {
    let mut pages = Vec::new();
    let mut annot_page = HashMap::new();
    for page in file.pages_at(upto)? {
        let object = file.shared_at(page, upto)?;
        let Object::Dict(dict) = &*object else {
            return Err(PdfError::Structure(format!(
                "page {} is not a dictionary",
                page.num
            )));
        };
        let (annots_ref, annots) = array_at(file, dict.get(b"Annots"), upto, "/Annots")?;
        for a in &annots {
            if let Some(r) = a.as_ref() {
                annot_page.entry(r).or_insert(page);
            }
        }
        pages.push(PageAnnots {
            page,
            annots_ref,
            annots,
        });
    }
    let (_, catalog) = file.catalog_at(upto)?;
    let acroform = match catalog.get(b"AcroForm") {
        None => None,
        Some(o) => match file.resolve_at(o, upto)? {
            Object::Dict(d) => Some((o.as_ref(), d)),
            Object::Null => None,
            _ => {
                return Err(PdfError::Structure("/AcroForm is not a dictionary".into()));
            }
        },
    };
    let top_fields = match &acroform {
        Some((_, af)) => array_at(file, af.get(b"Fields"), upto, "/Fields")?,
        None => (None, Vec::new()),
    };
    let mut walk = FieldWalk {
        file,
        upto,
        annot_page: &annot_page,
        seen: HashSet::new(),
        out: Vec::new(),
    };
    for item in &top_fields.1 {
        let r = item.as_ref().ok_or_else(|| {
            PdfError::Structure("a /Fields entry is not an indirect reference".into())
        })?;
        walk.field(
            r,
            Inherited {
                chain: Vec::new(),
                name: String::new(),
                field_type: None,
                value: None,
            },
        )?;
    }
    let fields = walk.out;
    Ok(FormState {
        pages,
        acroform,
        top_fields,
        fields,
    })
}

/// An array value (direct or through one reference) and the reference; absent or null → empty.
fn array_at(
    file: &PdfFile<'_>,
    value: Option<&Object>,
    upto: usize,
    what: &str,
) -> Result<(Option<Ref>, Vec<Object>), PdfError> {
    let Some(value) = value else {
        return Ok((None, Vec::new()));
    };
    match file.resolve_at(value, upto)? {
        Object::Array(items) => Ok((value.as_ref(), items)),
        Object::Null => Ok((value.as_ref(), Vec::new())),
        _ => Err(PdfError::Structure(format!("{what} is not an array"))),
    }
}

/// What a field inherits from its ancestors (§12.7.4.1).
#[derive(Clone)]
struct Inherited {
    chain: Vec<Ref>,
    name: String,
    field_type: Option<Vec<u8>>,
    value: Option<Object>,
}

struct FieldWalk<'w, 'a> {
    file: &'w PdfFile<'a>,
    upto: usize,
    annot_page: &'w HashMap<Ref, Ref>,
    seen: HashSet<Ref>,
    out: Vec<FormField>,
}

impl FieldWalk<'_, '_> {
    fn visit(&mut self, r: Ref) -> Result<Dict, PdfError> {
        if !self.seen.insert(r) {
            return Err(PdfError::Structure(format!(
                "form field or widget {} {} R is reached twice (cycle or shared node)",
                r.num, r.generation
            )));
        }
        if self.seen.len() > MAX_FIELDS {
            return Err(PdfError::TooLarge("form fields"));
        }
        match self.file.get_at(r, self.upto)? {
            Object::Dict(d) => Ok(d),
            _ => Err(PdfError::Structure(format!(
                "form field {} {} R is not a dictionary",
                r.num, r.generation
            ))),
        }
    }

    fn field(&mut self, r: Ref, parent: Inherited) -> Result<(), PdfError> {
        if parent.chain.len() >= MAX_FIELD_DEPTH {
            return Err(PdfError::Structure("form field tree too deep".into()));
        }
        let d = self.visit(r)?;
        let mut here = parent;
        here.chain.push(r);
        if let Some(Object::String { bytes, .. }) = d.get(b"T") {
            let t = text_string(bytes);
            here.name = if here.name.is_empty() {
                t
            } else {
                format!("{}.{t}", here.name)
            };
        }
        if let Some(ft) = d.name(b"FT") {
            here.field_type = Some(ft.to_vec());
        }
        if let Some(v) = d.get(b"V") {
            here.value = Some(v.clone());
        }
        let (_, kids) = array_at(self.file, d.get(b"Kids"), self.upto, "/Kids")?;
        let mut widgets = Vec::new();
        let mut child_fields = Vec::new();
        for kid in &kids {
            let kr = kid.as_ref().ok_or_else(|| {
                PdfError::Structure("a /Kids entry is not an indirect reference".into())
            })?;
            let Object::Dict(kd) = self.file.get_at(kr, self.upto)? else {
                return Err(PdfError::Structure(format!(
                    "form field kid {} is not a dictionary",
                    kr.num
                )));
            };
            // A kid without a name that is a widget belongs to this field (§12.7.4.1).
            if kd.get(b"T").is_none() && kd.name(b"Subtype") == Some(b"Widget") {
                self.visit(kr)?;
                widgets.push(self.widget(kr, &kd));
            } else {
                child_fields.push(kr);
            }
        }
        for kr in child_fields.iter().copied() {
            self.field(kr, here.clone())?;
        }
        if child_fields.is_empty() {
            if d.name(b"Subtype") == Some(b"Widget") {
                widgets.insert(0, self.widget(r, &d));
            }
            self.out.push(FormField {
                name: here.name,
                field: r,
                chain: here.chain,
                field_type: here.field_type,
                value: here.value,
                widgets,
            });
        }
        Ok(())
    }

    fn widget(&self, r: Ref, d: &Dict) -> Widget {
        Widget {
            annot: r,
            page: self
                .annot_page
                .get(&r)
                .copied()
                .or_else(|| d.get(b"P").and_then(Object::as_ref)),
            rect: rect(d.get(b"Rect")),
        }
    }
}

/// A `/Rect` of four numbers, normalised.
pub(crate) fn rect(o: Option<&Object>) -> Option<[f64; 4]> {
    let a = o?.as_array()?;
    let [x1, y1, x2, y2] = a else { return None };
    let (x1, y1, x2, y2) = (
        x1.as_number()?,
        y1.as_number()?,
        x2.as_number()?,
        y2.as_number()?,
    );
    Some([x1.min(x2), y1.min(y2), x1.max(x2), y1.max(y2)])
}

/// Whether two rectangles share an area (touching edges and empty rectangles do not).
pub(crate) fn overlaps(a: &[f64; 4], b: &[f64; 4]) -> bool {
    a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3]
}

/// A PDF text string (§7.9.2.2): UTF-16BE with a BOM, UTF-8 with a BOM, else PDFDocEncoding
/// (read as Latin-1, which it equals for the printable range).
pub fn text_string(b: &[u8]) -> String {
    if let Some(rest) = b.strip_prefix(&[0xFE, 0xFF]) {
        let units: Vec<u16> = rest
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16_lossy(&units)
    } else if let Some(rest) = b.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        String::from_utf8_lossy(rest).into_owned()
    } else {
        b.iter().map(|&c| char::from(c)).collect()
    }
}

/// A PDF date `D:YYYYMMDDHHmmSSOHH'mm'` (§7.9.4); everything after the year is optional.
pub fn parse_date(s: &[u8]) -> Option<OffsetDateTime> {
    let s = s.strip_prefix(b"D:").unwrap_or(s);
    let n = s.iter().take(14).take_while(|b| b.is_ascii_digit()).count();
    if n < 4 || n % 2 != 0 {
        return None;
    }
    let two = |d: &[u8]| (d[0] - b'0') * 10 + (d[1] - b'0');
    let field = |from: usize, default: u8| if from < n { two(&s[from..]) } else { default };
    let year = i32::from(two(s)) * 100 + i32::from(two(&s[2..]));
    let date =
        Date::from_calendar_date(year, Month::try_from(field(4, 1)).ok()?, field(6, 1)).ok()?;
    let time = Time::from_hms(field(8, 0), field(10, 0), field(12, 0).min(59)).ok()?;
    let offset = match &s[n..] {
        [] | [b'Z', ..] => UtcOffset::UTC,
        [sign @ (b'+' | b'-'), rest @ ..] => {
            let digits = |d: &[u8]| d.len() >= 2 && d[..2].iter().all(u8::is_ascii_digit);
            if !digits(rest) {
                return None;
            }
            let rest_m = rest[2..].strip_prefix(b"'").unwrap_or(&rest[2..]);
            let m = if digits(rest_m) { two(rest_m) } else { 0 };
            let (h, m) = (i8::try_from(two(rest)).ok()?, i8::try_from(m).ok()?);
            let (h, m) = if *sign == b'-' { (-h, -m) } else { (h, m) };
            UtcOffset::from_hms(h, m, 0).ok()?
        }
        _ => return None,
    };
    Some(PrimitiveDateTime::new(date, time).assume_offset(offset))
}

/// Finds every signed signature field of the newest revision and checks its coverage.
///
/// A field counts when its `/FT` (inherited) is `/Sig` and it has a `/V`. The result is in
/// signing order (by the revision each signature ends at; unreadable ones last). Errors are
/// for a form that cannot be walked at all (a cycle, a non-dictionary field); anything wrong
/// with one signature is a failed check on it instead.
pub fn find_signatures(file: &PdfFile<'_>) -> Result<Vec<PdfSignature>, PdfError> {
    let n = file.sections().len();
    let state = form_state(file, n)?;
    let mut sigs: Vec<PdfSignature> = state
        .fields
        .into_iter()
        .filter(|f| f.is_signature() && f.is_filled())
        .map(|f| read_signature(file, f))
        .collect();
    sigs.sort_by_key(|s| s.revision.unwrap_or(usize::MAX));
    uniqueness(&mut sigs);
    for i in 0..sigs.len() {
        let field_check = field_in_revision(file, &sigs[i]);
        if let Some(c) = field_check {
            sigs[i].checks.push(c);
        }
        if let Some((c, level)) = doc_mdp(file, &sigs, i) {
            sigs[i].checks.push(c);
            sigs[i].doc_mdp = level;
        }
    }
    Ok(sigs)
}

/// Reads one signature field's value and checks its dictionary, `/ByteRange` and `/Contents`.
fn read_signature(file: &PdfFile<'_>, field: FormField) -> PdfSignature {
    let buf = file.bytes();
    let n = file.sections().len();
    let mut sig = PdfSignature {
        sig_ref: field.value.as_ref().and_then(Object::as_ref),
        field,
        sig_type: None,
        sub_filter: None,
        byte_range: None,
        contents: None,
        revision: None,
        covers_whole_file: false,
        claimed_time: None,
        reason: None,
        name: None,
        location: None,
        doc_mdp: None,
        checks: Vec::new(),
    };
    let field_detail = format!(
        "field {:?} ({} {} R)",
        sig.field.name, sig.field.field.num, sig.field.field.generation
    );
    sig.pass("pdf.signature_field", field_detail);

    // The dictionary: indirect, in the file itself (not in an object stream, whose bytes the
    // hole could not lie in), of a known /Type.
    let Some(sig_ref) = sig.sig_ref else {
        sig.fail(
            "pdf.signature_dictionary",
            "/V is not an indirect reference to a signature dictionary",
        );
        return sig;
    };
    let offset = match file.entry(sig_ref.num, n) {
        Some(Entry::InFile { offset, .. }) => offset,
        Some(Entry::InStream { .. }) => {
            sig.fail(
                "pdf.signature_dictionary",
                "the signature dictionary is inside an object stream",
            );
            return sig;
        }
        _ => {
            sig.fail("pdf.signature_dictionary", "/V refers to a missing object");
            return sig;
        }
    };
    let dict = match file.get_at(sig_ref, n) {
        Ok(Object::Dict(d)) => d,
        Ok(_) => {
            sig.fail(
                "pdf.signature_dictionary",
                "/V is not a dictionary (or its generation differs)",
            );
            return sig;
        }
        Err(e) => {
            sig.fail("pdf.signature_dictionary", e.to_string());
            return sig;
        }
    };
    sig.sig_type = SigType::of(&dict);
    let Some(sig_type) = sig.sig_type else {
        sig.fail(
            "pdf.signature_dictionary",
            "/Type is neither /Sig nor /DocTimeStamp",
        );
        return sig;
    };
    sig.pass(
        "pdf.signature_dictionary",
        format!(
            "{} {} R, /Type /{}",
            sig_ref.num,
            sig_ref.generation,
            match sig_type {
                SigType::Signature => "Sig",
                SigType::DocTimeStamp => "DocTimeStamp",
            }
        ),
    );
    let text = |k: &[u8]| match dict.get(k) {
        Some(Object::String { bytes, .. }) => Some(text_string(bytes)),
        _ => None,
    };
    sig.reason = text(b"Reason");
    sig.name = text(b"Name");
    sig.location = text(b"Location");
    sig.claimed_time = match dict.get(b"M") {
        Some(Object::String { bytes, .. }) => parse_date(bytes),
        _ => None,
    };

    let sub_filter = dict.name(b"SubFilter");
    sig.sub_filter = sub_filter.and_then(SubFilter::from_name);
    let shown = sub_filter.map_or_else(
        || "absent".to_owned(),
        |n| format!("/{}", String::from_utf8_lossy(n)),
    );
    match (sig_type, sig.sub_filter) {
        (SigType::Signature, Some(SubFilter::CadesDetached | SubFilter::Pkcs7Detached))
        | (SigType::DocTimeStamp, Some(SubFilter::Rfc3161)) => {
            sig.pass("pdf.sub_filter", shown);
        }
        (_, None) => {
            sig.fail(
                "pdf.sub_filter",
                format!("/SubFilter {shown} is not supported"),
            );
            return sig;
        }
        _ => {
            sig.fail(
                "pdf.sub_filter",
                format!("/SubFilter {shown} does not fit the dictionary's /Type"),
            );
            return sig;
        }
    }

    let br = match byte_range(dict.get(b"ByteRange"), buf.len()) {
        Ok(br) => br,
        Err(why) => {
            sig.fail("pdf.byte_range", why);
            return sig;
        }
    };
    sig.pass(
        "pdf.byte_range",
        format!(
            "[0 {} {} {}]",
            br.hole.start,
            br.hole.end,
            br.end - br.hole.end
        ),
    );

    match contents(file, &dict, offset, &br) {
        Ok(cms) => {
            sig.pass(
                "pdf.contents",
                format!(
                    "the hole holds exactly the hex /Contents string of the signature dictionary ({} bytes of {} used)",
                    cms.len(),
                    (br.hole.len() - 2) / 2
                ),
            );
            sig.contents = Some(cms);
        }
        Err(why) => {
            sig.fail("pdf.contents", why);
            return sig;
        }
    }

    let Some(k) = revision_ending_at(file, br.end) else {
        sig.fail(
            "pdf.revision_end",
            format!(
                "the signed ranges end at byte {}, which is not the end of a revision (%%EOF)",
                br.end
            ),
        );
        return sig;
    };
    sig.revision = Some(k);
    sig.pass(
        "pdf.revision_end",
        format!("the signed ranges end with revision {} of {n}", k + 1),
    );
    let rest = &buf[br.end..];
    sig.covers_whole_file = rest.iter().all(|&b| is_whitespace(b));
    sig.pass(
        "pdf.coverage",
        if sig.covers_whole_file {
            "the signature covers the whole file".to_owned()
        } else {
            format!(
                "the signature covers revision {} of {n}; {} bytes follow",
                k + 1,
                rest.len()
            )
        },
    );
    sig.byte_range = Some(br);
    sig
}

/// `/ByteRange`: exactly four direct non-negative integers `[0 a b c]` with `a ≤ b` and
/// `b + c ≤ len`.
fn byte_range(value: Option<&Object>, len: usize) -> Result<ByteRange, String> {
    let items = match value {
        Some(Object::Array(a)) => a,
        Some(Object::Ref(_)) => {
            return Err("/ByteRange is an indirect reference (it must be signed itself)".into());
        }
        Some(_) => return Err("/ByteRange is not an array".into()),
        None => return Err("no /ByteRange".into()),
    };
    if items.len() != 4 {
        return Err(format!(
            "/ByteRange has {} entries, not exactly 4",
            items.len()
        ));
    }
    let mut v = [0usize; 4];
    for (slot, item) in v.iter_mut().zip(items) {
        let Object::Int(i) = item else {
            return Err("/ByteRange holds something other than integers".into());
        };
        *slot = usize::try_from(*i).map_err(|_| "/ByteRange holds a negative number".to_owned())?;
    }
    let [start, a, b, c] = v;
    if start != 0 {
        return Err(format!("/ByteRange starts at {start}, not 0"));
    }
    if b < a {
        return Err("/ByteRange's second range starts before the first ends".into());
    }
    let end = b
        .checked_add(c)
        .filter(|&e| e <= len)
        .ok_or_else(|| format!("/ByteRange reaches past the end of the file ({len} bytes)"))?;
    Ok(ByteRange { hole: a..b, end })
}

/// Checks that the hole is exactly the `<hex>` `/Contents` value of the signature dictionary's
/// own indirect object, and returns the CMS bytes with the zero padding cut.
fn contents(
    file: &PdfFile<'_>,
    dict: &Dict,
    offset: usize,
    br: &ByteRange,
) -> Result<Vec<u8>, String> {
    let buf = file.bytes();
    let value = match dict.get(b"Contents") {
        Some(Object::String { bytes, hex: true }) => bytes,
        Some(Object::String { hex: false, .. }) => {
            return Err("/Contents is a literal string, not a hex string".into());
        }
        Some(_) => return Err("/Contents is not a string".into()),
        None => return Err("no /Contents".into()),
    };
    let (a, b) = (br.hole.start, br.hole.end);
    let hole = &buf[a..b];
    if hole.len() < 2 || hole[0] != b'<' || hole[hole.len() - 1] != b'>' {
        return Err(format!(
            "the hole [{a}, {b}) is not one <hex> string: it must start with '<' and end with '>'"
        ));
    }
    let digits = &hole[1..hole.len() - 1];
    if !digits.iter().all(u8::is_ascii_hexdigit) || !digits.len().is_multiple_of(2) {
        return Err(format!(
            "the hole [{a}, {b}) holds more than an even run of hex digits"
        ));
    }
    let decoded = hex::decode(digits).map_err(|e| e.to_string())?;
    if decoded != *value {
        return Err("the hole's bytes are not the dictionary's /Contents".into());
    }
    match value_span(buf, offset, b"Contents") {
        Ok(Some(span)) if span == br.hole => {}
        Ok(Some(span)) => {
            return Err(format!(
                "the hole [{a}, {b}) is not the /Contents value of the signature dictionary, which lies at [{}, {})",
                span.start, span.end
            ));
        }
        Ok(None) => return Err("/Contents not found in the signature object".into()),
        Err(e) => return Err(e.to_string()),
    }
    // The DER length of the outer TLV decides where the CMS ends; what follows is padding and
    // must be zeros (anything else would be unsigned data riding along).
    let cms = match crate::asn1::read(&decoded) {
        Ok((tlv, rest)) if tlv.tag == 0x30 => {
            if rest.iter().any(|&z| z != 0) {
                return Err("non-zero bytes follow the CMS in /Contents".into());
            }
            tlv.raw.to_vec()
        }
        // Not DER at all: left to the CMS parser to report.
        _ => decoded,
    };
    Ok(cms)
}

/// The byte span of `key`'s value in the top-level dictionary of the indirect object at
/// `offset` (the object parses, so its keys are unique).
fn value_span(buf: &[u8], offset: usize, key: &[u8]) -> Result<Option<Range<usize>>, PdfError> {
    let mut lx = Lexer::new(buf, offset);
    lx.uint()?;
    lx.uint()?;
    lx.expect_keyword(b"obj")?;
    lx.skip_ws();
    if !buf[lx.pos..].starts_with(b"<<") {
        return Ok(None);
    }
    lx.pos += 2;
    loop {
        lx.skip_ws();
        if buf[lx.pos..].starts_with(b">>") {
            return Ok(None);
        }
        let k = lx.object(1)?;
        lx.skip_ws();
        let start = lx.pos;
        lx.object(1)?;
        if k == Object::Name(key.to_vec()) {
            return Ok(Some(start..lx.pos));
        }
    }
}

/// The section whose `%%EOF` (optionally followed by one end-of-line) ends exactly at `end`.
pub(crate) fn revision_ending_at(file: &PdfFile<'_>, end: usize) -> Option<usize> {
    let buf = file.bytes();
    file.sections()
        .iter()
        .rposition(|s| s.eof == end || matches!(buf.get(s.eof..end), Some(b"\n" | b"\r\n" | b"\r")))
}

/// Where the next revision may start after a `%%EOF` ending at `eof`: past one end-of-line.
pub(crate) fn after_eol(buf: &[u8], eof: usize) -> usize {
    match buf.get(eof..eof + 2) {
        Some(b"\r\n") => eof + 2,
        _ if matches!(buf.get(eof), Some(b'\n' | b'\r')) => eof + 1,
        _ => eof,
    }
}

/// Holes of different signatures must not overlap, and a signature dictionary belongs to one
/// field only: otherwise one signed container could stand for two signatures.
fn uniqueness(sigs: &mut [PdfSignature]) {
    let mut problems: Vec<Vec<String>> = vec![Vec::new(); sigs.len()];
    for i in 0..sigs.len() {
        for j in i + 1..sigs.len() {
            let (x, y) = (&sigs[i], &sigs[j]);
            if x.sig_ref.is_some() && x.sig_ref == y.sig_ref {
                problems[i].push(format!(
                    "shares its signature dictionary with field {:?}",
                    y.field.name
                ));
                problems[j].push(format!(
                    "shares its signature dictionary with field {:?}",
                    x.field.name
                ));
            } else if let (Some(p), Some(q)) = (&x.byte_range, &y.byte_range)
                && p.hole.start < q.hole.end
                && q.hole.start < p.hole.end
            {
                problems[i].push(format!(
                    "its hole overlaps that of field {:?}",
                    y.field.name
                ));
                problems[j].push(format!(
                    "its hole overlaps that of field {:?}",
                    x.field.name
                ));
            }
        }
    }
    for (sig, found) in sigs.iter_mut().zip(problems) {
        if sig.sig_ref.is_none() {
            continue;
        }
        if found.is_empty() {
            sig.pass(
                "pdf.unique",
                "no other field shares this signature or its hole",
            );
        } else {
            sig.fail("pdf.unique", found.join("; "));
        }
    }
}

/// The signed revision must already hold the field with this signature as its value: a
/// signature dictionary only later attached to a field was not signed as that field's value.
/// (Whether the form of that revision lists the field is the later-change analysis' business:
/// attaching an old field to the form later is a disallowed change.)
fn field_in_revision(file: &PdfFile<'_>, sig: &PdfSignature) -> Option<Check> {
    let (k, sig_ref) = (sig.revision?, sig.sig_ref?);
    let name = "pdf.field_in_revision";
    // /V is inheritable: the nearest dictionary on the chain that has one decides.
    let mut value = None;
    for r in sig.field.chain.iter().rev() {
        match file.get_at(*r, k + 1) {
            Ok(Object::Dict(d)) => {
                if let Some(v) = d.get(b"V") {
                    value = Some(v.clone());
                    break;
                }
            }
            Ok(_) => break,
            Err(e) => return Some(Check::new(name, false, e.to_string())),
        }
    }
    Some(if value == Some(Object::Ref(sig_ref)) {
        Check::new(
            name,
            true,
            "the signed revision holds the field with this value",
        )
    } else {
        Check::new(
            name,
            false,
            "in the signed revision the field does not hold this signature",
        )
    })
}

/// DocMDP (§12.8.2.2): a certification signature has a `/Reference` with a DocMDP transform
/// and the catalog of its revision names it in `/Perms /DocMDP`; it must be the first signature.
fn doc_mdp(file: &PdfFile<'_>, sigs: &[PdfSignature], i: usize) -> Option<(Check, Option<u8>)> {
    let sig = &sigs[i];
    let (k, sig_ref) = (sig.revision?, sig.sig_ref?);
    let upto = k + 1;
    let name = "pdf.doc_mdp";
    let dict = match file.get_at(sig_ref, upto) {
        Ok(Object::Dict(d)) => d,
        _ => return None,
    };
    let mut level: Option<Result<u8, String>> = None;
    if let Some(reference) = dict.get(b"Reference") {
        let items = match file.resolve_at(reference, upto) {
            Ok(Object::Array(a)) => a,
            _ => return Some((Check::new(name, false, "/Reference is not an array"), None)),
        };
        for item in items {
            let Ok(Object::Dict(sr)) = file.resolve_at(&item, upto) else {
                continue;
            };
            if sr.name(b"TransformMethod") != Some(b"DocMDP") {
                continue;
            }
            let p = match sr.get(b"TransformParams").map(|t| file.resolve_at(t, upto)) {
                None => Ok(2),
                Some(Ok(Object::Dict(tp))) => match tp.get(b"P") {
                    None => Ok(2),
                    Some(Object::Int(p @ 1..=3)) => Ok(u8::try_from(*p).unwrap_or(2)),
                    Some(other) => Err(format!("DocMDP /P {other:?} is not 1, 2 or 3")),
                },
                Some(_) => Err("DocMDP /TransformParams is not a dictionary".to_owned()),
            };
            level = Some(p);
        }
    }
    let perms_names_it = file.catalog_at(upto).ok().is_some_and(|(_, cat)| {
        cat.get(b"Perms")
            .and_then(|p| file.resolve_at(p, upto).ok())
            .and_then(|p| {
                p.as_dict()
                    .and_then(|d| d.get(b"DocMDP"))
                    .and_then(Object::as_ref)
            })
            == Some(sig_ref)
    });
    let fail = |why: &str| Some((Check::new(name, false, why), None));
    match (level, perms_names_it) {
        (None, false) => None,
        (None, true) => {
            fail("the catalog's /Perms /DocMDP names this signature, which has no DocMDP transform")
        }
        (Some(_), false) => {
            fail("a DocMDP transform without the catalog's /Perms /DocMDP naming this signature")
        }
        (Some(Err(why)), true) => fail(&why),
        (Some(Ok(p)), true) => {
            if i != 0 || sig.sig_type != Some(SigType::Signature) {
                return fail("a certification signature must be the document's first signature");
            }
            let check = Check::new(
                name,
                true,
                format!(
                    "certification signature, DocMDP P={p} ({})",
                    match p {
                        1 => "no changes allowed",
                        2 => "form filling and signing allowed",
                        _ => "form filling, signing and annotations allowed",
                    }
                ),
            );
            Some((check, Some(p)))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn pdf_dates() {
        let t = parse_date(b"D:20261125195612Z").unwrap();
        assert_eq!(t.unix_timestamp(), 1_795_636_572);
        let t = parse_date(b"D:20261125205612+01'00'").unwrap();
        assert_eq!(t.unix_timestamp(), 1_795_636_572);
        let t = parse_date(b"D:20261125145612-05'00").unwrap();
        assert_eq!(t.unix_timestamp(), 1_795_636_572);
        assert_eq!(
            parse_date(b"D:2026").unwrap().date(),
            Date::from_calendar_date(2026, Month::January, 1).unwrap()
        );
        assert!(parse_date(b"D:2026x1").is_none());
        assert!(parse_date(b"D:20261345").is_none());
        assert!(parse_date(b"yesterday").is_none());
    }

    #[test]
    fn text_strings() {
        assert_eq!(text_string(b"Seal1"), "Seal1");
        assert_eq!(text_string(&[0xFE, 0xFF, 0x53, 0x70, 0x4E, 0x0A]), "印上");
        assert_eq!(text_string(&[0xEF, 0xBB, 0xBF, b'a']), "a");
    }

    #[test]
    fn byte_range_rules() {
        let ok = |v: &[i64]| {
            byte_range(
                Some(&Object::Array(v.iter().map(|&i| Object::Int(i)).collect())),
                100,
            )
        };
        assert_eq!(
            ok(&[0, 10, 20, 80]).unwrap(),
            ByteRange {
                hole: 10..20,
                end: 100
            }
        );
        assert!(ok(&[0, 10, 20]).is_err());
        assert!(ok(&[0, 10, 20, 80, 0]).is_err());
        assert!(ok(&[1, 10, 20, 70]).is_err());
        assert!(ok(&[0, -10, 20, 70]).is_err());
        assert!(ok(&[0, 10, 20, -1]).is_err());
        assert!(ok(&[0, 20, 10, 70]).is_err());
        assert!(ok(&[0, 10, 20, 81]).is_err());
        assert!(byte_range(Some(&Object::Ref(Ref::new(3))), 100).is_err());
        assert!(
            byte_range(
                Some(&Object::Array(vec![
                    Object::Int(0),
                    Object::Real(1.0),
                    Object::Int(2),
                    Object::Int(3)
                ])),
                100
            )
            .is_err()
        );
        assert!(byte_range(None, 100).is_err());
    }

    #[test]
    fn signature_dictionary_types() {
        let with = |t: Option<Object>| {
            let mut d = Dict::default();
            if let Some(t) = t {
                d.set(b"Type", t);
            }
            SigType::of(&d)
        };
        assert_eq!(
            with(None),
            Some(SigType::Signature),
            "/Type is optional for /Sig"
        );
        assert_eq!(with(Some(Object::name(b"Sig"))), Some(SigType::Signature));
        assert_eq!(
            with(Some(Object::name(b"DocTimeStamp"))),
            Some(SigType::DocTimeStamp)
        );
        assert_eq!(with(Some(Object::name(b"Annot"))), None);
        assert_eq!(with(Some(Object::string(b"Sig"))), None);
    }

    #[test]
    fn rect_overlap() {
        let a = rect(Some(&Object::Array(vec![
            Object::Int(10),
            Object::Int(10),
            Object::Int(0),
            Object::Int(0),
        ])))
        .unwrap();
        assert_eq!(a, [0.0, 0.0, 10.0, 10.0]);
        assert!(overlaps(&a, &[5.0, 5.0, 15.0, 15.0]));
        assert!(!overlaps(&a, &[10.0, 0.0, 20.0, 10.0]), "touching edges");
        assert!(!overlaps(&[0.0; 4], &[0.0; 4]), "empty rectangles");
    }
}
