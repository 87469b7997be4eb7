//! What the vault will seal (docs/threats.md §2.2): a foreign PDF must not carry active content or
//! hidden material that a later update could reveal. Refused: encryption, active content as
//! `active` defines it (the same definition judges what a revision adds after a seal), and
//! interactive form fields other than signature fields (we do not flatten forms; refusing is
//! the safe half of "normalise or refuse"). Normalised: an unsigned file with several
//! revisions or unreferenced objects is rewritten as one revision of its reachable objects.
//! A file that already carries signatures is never rewritten: it gets another revision.

use std::collections::{BTreeSet, HashSet};

use super::PdfError;
use super::active::survey_with;
use super::file::{Entry, PdfFile};
use super::object::{Dict, Object, Ref};
use super::signatures::{find_signatures, form_state};

/// What an existing document already holds.
#[derive(Debug, Clone, Default)]
pub struct Existing {
    /// Whether a signature field has a value.
    pub signed: bool,
    /// The DocMDP level of a certification signature, when there is one.
    pub mdp: Option<u8>,
    /// One revision and every listed object reachable from the trailer.
    pub normal: bool,
    /// Names of the top-level fields.
    pub field_names: Vec<String>,
}

impl Existing {
    /// `SealN` with the smallest N not already a field name.
    pub fn free_field_name(&self) -> String {
        (1..)
            .map(|n| format!("Seal{n}"))
            .find(|n| !self.field_names.contains(n))
            .unwrap_or_default()
    }
}

/// Refuses encryption, active content and form fields other than signature fields, and
/// reports the signatures, certification level and whether the file is already normal.
pub(crate) fn inspect(file: &PdfFile<'_>) -> Result<Existing, PdfError> {
    let trailer = file.trailer();
    if trailer.get(b"Encrypt").is_some() {
        return Err(PdfError::Refused("encrypted PDFs cannot be sealed".into()));
    }
    let upto = file.sections().len();
    let form = form_state(file, upto)?;
    // The file's own limits bound the objects there are to visit.
    let mut budget = usize::MAX;
    let survey = survey_with(file, upto, &form, &mut budget)?;
    if let Some(first) = survey.active.first() {
        let more = match survey.active.len() - 1 {
            0 => String::new(),
            n => format!(" (and {n} more)"),
        };
        return Err(refused(&format!("active content: {first}{more}")));
    }
    let fields = form.fields;
    if fields.iter().any(|f| !f.is_signature()) {
        return Err(refused("interactive form fields"));
    }
    let mut out = Existing {
        signed: fields.iter().any(|f| f.value.is_some()),
        field_names: fields.iter().map(|f| f.name.clone()).collect(),
        ..Existing::default()
    };
    if out.signed {
        out.mdp = find_signatures(file)?.iter().find_map(|s| s.doc_mdp);
    }
    // Normal: one revision whose listed objects are exactly those reachable, so no unreferenced
    // (shadow) object and no reference to an undefined one (which a later update could define).
    let listed: BTreeSet<Ref> = file
        .sections()
        .iter()
        .flat_map(|s| s.entries.iter())
        .filter_map(|(n, e)| match e {
            Entry::InFile { generation, .. } if *n != 0 => Some(Ref {
                num: *n,
                generation: *generation,
            }),
            Entry::InStream { .. } if *n != 0 => Some(Ref::new(*n)),
            _ => None,
        })
        .collect();
    let mut budget = usize::MAX;
    out.normal =
        file.sections().len() == 1 && listed == reachable(file, upto, &mut budget, &mut |_, _| {})?;
    Ok(out)
}

fn refused(what: &str) -> PdfError {
    PdfError::Refused(format!(
        "the PDF carries {what}; the vault seals only documents without active or hidden content (docs/threats.md §2.2)"
    ))
}

/// Every object reachable from `/Root` and `/Info` as of the first `upto` sections, each
/// passed to `visit` once; each visit is charged to `budget`.
pub(super) fn reachable(
    file: &PdfFile<'_>,
    upto: usize,
    budget: &mut usize,
    visit: &mut dyn FnMut(Ref, &Object),
) -> Result<BTreeSet<Ref>, PdfError> {
    let trailer = &file.sections()[upto.clamp(1, file.sections().len()) - 1].trailer;
    let mut seen: BTreeSet<Ref> = BTreeSet::new();
    let mut stack: Vec<Ref> = [&b"Root"[..], b"Info"]
        .iter()
        .filter_map(|k| trailer.get(k).and_then(Object::as_ref))
        .collect();
    let mut pending = HashSet::new();
    while let Some(r) = stack.pop() {
        if seen.contains(&r) {
            continue;
        }
        *budget = budget
            .checked_sub(1)
            .ok_or(PdfError::TooLarge("objects to analyse"))?;
        let o = file.shared_at(r, upto)?;
        visit(r, &o);
        refs(&o, &mut |child| {
            if !seen.contains(&child) && pending.insert(child) {
                stack.push(child);
            }
        });
        pending.remove(&r);
        seen.insert(r);
    }
    Ok(seen)
}

/// Calls `found` for each reference inside `o`.
fn refs(o: &Object, found: &mut dyn FnMut(Ref)) {
    let mut stack = vec![o];
    while let Some(o) = stack.pop() {
        match o {
            Object::Ref(r) => found(*r),
            Object::Array(a) => stack.extend(a.iter()),
            Object::Dict(d) => stack.extend(d.0.iter().map(|(_, v)| v)),
            Object::Stream(s) => stack.extend(s.dict.0.iter().map(|(_, v)| v)),
            _ => {}
        }
    }
}

/// The file rewritten as one revision of its reachable objects (numbers kept), a classic xref
/// table and a trailer with `/Root`, `/Info` and `/ID`.
pub(crate) fn normalise(file: &PdfFile<'_>) -> Result<Vec<u8>, PdfError> {
    let mut budget = usize::MAX;
    let objects = reachable(file, file.sections().len(), &mut budget, &mut |_, _| {})?;
    let src = file.bytes();
    let header_end = src
        .iter()
        .position(|&b| b == b'\n' || b == b'\r')
        .unwrap_or(8)
        .min(16);
    let mut out = Vec::with_capacity(src.len());
    out.extend_from_slice(&src[..header_end]);
    out.extend_from_slice(b"\n%\xE2\xE3\xCF\xD3\n");
    let mut offsets = Vec::with_capacity(objects.len());
    for r in &objects {
        let o = file.shared_at(*r, usize::MAX)?;
        offsets.push((*r, out.len()));
        out.extend_from_slice(format!("{} {} obj\n", r.num, r.generation).as_bytes());
        o.write(&mut out);
        if let Object::Stream(s) = &*o {
            out.extend_from_slice(b"\nstream\n");
            out.extend_from_slice(&src[s.data.clone()]);
            out.extend_from_slice(b"\nendstream");
        }
        out.extend_from_slice(b"\nendobj\n");
    }
    let size = objects.iter().last().map_or(1, |r| r.num + 1);
    let xref_at = out.len();
    out.extend_from_slice(format!("xref\n0 {size}\n").as_bytes());
    let mut next = offsets.iter().peekable();
    for num in 0..size {
        match next.peek() {
            Some((r, off)) if r.num == num => {
                out.extend_from_slice(format!("{off:010} {:05} n\r\n", r.generation).as_bytes());
                next.next();
            }
            _ if num == 0 => out.extend_from_slice(b"0000000000 65535 f\r\n"),
            _ => out.extend_from_slice(b"0000000000 00001 f\r\n"),
        }
    }
    let mut trailer = Dict::default();
    trailer.set(b"Size", Object::Int(i64::from(size)));
    for key in [&b"Root"[..], b"Info", b"ID"] {
        if let Some(v) = file.trailer().get(key) {
            trailer.set(key, v.clone());
        }
    }
    out.extend_from_slice(b"trailer\n");
    trailer.write(&mut out);
    out.extend_from_slice(format!("\nstartxref\n{xref_at}\n%%EOF\n").as_bytes());
    Ok(out)
}
