//! The whitelist difference analysis of docs/threats.md §1.3: every revision after a
//! signature's signed revision must be a clean incremental update whose changes the whitelist
//! allows; anything else is a change after sealing.
//!
//! Two layers. Structure: a later revision's body is exactly the objects its cross-reference
//! section lists, back to back after the previous `%%EOF`, with no frees, no object streams and
//! no hybrid sections (each is a way to make the bytes say something other than what a reader
//! shows, ISA and shadow attacks). Content: objects are compared as parsed values before and
//! after the revision (an identical rewrite is no change), and each changed object must play a
//! role whose change is whitelisted — the catalog (`/AcroForm`, `/DSS`, `/Extensions`,
//! `/Metadata`, and `/Version` in a revision that adds only validation data or time-stamps), the form (`/Fields` growing, `/SigFlags`), a page (`/Annots` growing), the
//! `/Fields` and `/Annots` arrays growing, a signature field being signed, the document
//! information dictionary, the XMP stream and the DSS. New objects must hang off those changes
//! (objects nothing refers to are listed: they cannot be displayed).
//! What a growing `/Fields` or `/Annots` adds must be signature fields with a value and their
//! widgets; a widget must not cover an earlier signature's widget.
//!
//! Whatever the roles allow, a revision may add no active content: the active content of the
//! document after it (as `active` defines it, the same definition that decides what the vault
//! will seal) must be no more than before it.
//!
//! Whether the added signatures are themselves intact and trusted is for the caller, which has
//! the CMS and the trust store: [`LaterChanges::added_signatures`] names them.
//!
//! DocMDP P3 is treated as P2: we do not whitelist annotations (an annotation can draw anything
//! over sealed content — the "evil annotation" attack), so P3's extra permission is not granted.
//! The document information dictionary and the XMP stream may change (pyHanko and others update
//! `/ModDate` with every signature); neither is rendered, and each must be referenced from its
//! trailer or catalog entry alone, so it cannot double as a font or content stream.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::rc::Rc;

use super::PdfError;
use super::active::{Finding, survey_with};
use super::file::{Entry, PdfFile, XrefKind};
use super::object::{Dict, Object, Ref, is_whitespace};
use super::signatures::{
    FormField, FormState, PdfSignature, SigType, after_eol, form_state, overlaps,
};

/// Object visits the analysis of one file may make (pages, fields, alias walks), so that many
/// revisions over many pages cannot multiply into unbounded work.
const BUDGET: usize = 2_000_000;

/// What changed after one signature's signed revision, judged against the whitelist.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LaterChanges {
    /// Allowed changes, in words (e.g. `signature field "Seal2" added in revision 2`).
    pub allowed: Vec<String>,
    /// Changes the whitelist does not allow, each with what was found.
    pub disallowed: Vec<String>,
    /// Signature dictionaries (signatures and document time-stamps) added after the signed
    /// revision: each must itself be intact and trusted for the changes to be allowed.
    pub added_signatures: Vec<Ref>,
    /// Whether the last revision adds no signature (a DSS alone, say), or bytes follow the last
    /// revision: then no later signature covers everything that changed.
    pub beyond_signatures: bool,
}

/// The later changes for each signature, in the order given; `None` for a signature whose
/// signed revision is unknown (its coverage failed, so there is nothing to compare against).
pub fn later_changes(file: &PdfFile<'_>, signatures: &[PdfSignature]) -> Vec<Option<LaterChanges>> {
    let n = file.sections().len();
    let first = signatures.iter().filter_map(|s| s.revision).min();
    let mut analysis = Analysis {
        file,
        states: HashMap::new(),
        budget: BUDGET,
    };
    let sections: Vec<Option<SectionChanges>> = (0..n)
        .map(|j| match first {
            Some(k) if j > k => Some(analysis.section(j)),
            _ => None,
        })
        .collect();
    let trailing = trailing_bytes(file);
    signatures
        .iter()
        .map(|sig| {
            let k = sig.revision?;
            let mut out = LaterChanges::default();
            for section in sections.iter().skip(k + 1).flatten() {
                out.allowed.extend(section.allowed.iter().cloned());
                out.disallowed.extend(section.disallowed.iter().cloned());
                // A revision without a signature (a DSS, say) is covered by any later one
                // that adds a signature, such as a B-LTA document time-stamp; only the last
                // revisions, after the last signature added, are covered by nothing.
                out.beyond_signatures = section.added.is_empty();
                for added in &section.added {
                    out.added_signatures.push(added.sig);
                    if sig.doc_mdp == Some(1) && added.ty == SigType::Signature {
                        out.disallowed.push(format!(
                            "{}, but the certification signature allows no changes (DocMDP P1)",
                            added.message
                        ));
                    } else {
                        out.allowed.push(added.message.clone());
                    }
                }
            }
            if let Some(t) = &trailing {
                out.disallowed.push(t.clone());
                out.beyond_signatures = true;
            }
            Some(out)
        })
        .collect()
}

/// Bytes after the last `%%EOF` other than white space: appended data no revision accounts for.
fn trailing_bytes(file: &PdfFile<'_>) -> Option<String> {
    let last = file.sections().last()?.eof;
    let rest = &file.bytes()[last..];
    (!rest.iter().all(|&b| is_whitespace(b))).then(|| {
        format!(
            "{} bytes after the last %%EOF belong to no revision",
            rest.len()
        )
    })
}

/// A signature added by one revision.
struct Added {
    sig: Ref,
    ty: SigType,
    message: String,
}

/// The findings of one revision.
#[derive(Default)]
struct SectionChanges {
    allowed: Vec<String>,
    disallowed: Vec<String>,
    added: Vec<Added>,
}

/// What the analysis needs of one revision.
struct State {
    root: Ref,
    catalog: Dict,
    form: FormState,
    page_set: HashSet<Ref>,
    annots_arrays: HashSet<Ref>,
    info: Option<Ref>,
    encrypt: Option<Object>,
    /// The active content of the revision (`active`): a later one may add none.
    active: Vec<Finding>,
}

impl State {
    fn catalog_ref(&self, key: &[u8]) -> Option<Ref> {
        self.catalog.get(key).and_then(Object::as_ref)
    }
}

/// Roles a changed object may play, each with what may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Catalog,
    AcroForm,
    Page,
    FieldsArray,
    AnnotsArray,
    SignedField,
    Info,
    Metadata,
    Dss,
}

impl Role {
    /// The dictionary keys that may differ, for dictionary roles.
    fn keys(self) -> Option<&'static [&'static [u8]]> {
        match self {
            // `/Version` is judged with the catalog entries: only LTV updates may bump it.
            Role::Catalog => Some(&[b"AcroForm", b"DSS", b"Extensions", b"Metadata", b"Version"]),
            Role::AcroForm => Some(&[b"Fields", b"SigFlags"]),
            Role::Page => Some(&[b"Annots"]),
            Role::SignedField => Some(&[b"V", b"AP"]),
            _ => None,
        }
    }

    fn what(self) -> &'static str {
        match self {
            Role::Catalog => "catalog",
            Role::AcroForm => "form dictionary",
            Role::Page => "page",
            Role::FieldsArray => "/Fields array",
            Role::AnnotsArray => "/Annots array",
            Role::SignedField => "signature field",
            Role::Info => "document information dictionary",
            Role::Metadata => "XMP metadata stream",
            Role::Dss => "DSS",
        }
    }
}

struct Analysis<'f, 'a> {
    file: &'f PdfFile<'a>,
    states: HashMap<usize, Rc<State>>,
    budget: usize,
}

impl Analysis<'_, '_> {
    fn state(&mut self, upto: usize) -> Result<Rc<State>, PdfError> {
        if let Some(s) = self.states.get(&upto) {
            return Ok(s.clone());
        }
        let (root, catalog) = self.file.catalog_at(upto)?;
        let form = form_state(self.file, upto)?;
        let visits = form.pages.len() + form.fields.len();
        self.budget = self
            .budget
            .checked_sub(visits)
            .ok_or(PdfError::TooLarge("revisions to analyse"))?;
        let active = survey_with(self.file, upto, &form, &mut self.budget)?.active;
        let trailer = &self.file.sections()[upto - 1].trailer;
        let state = Rc::new(State {
            root,
            catalog,
            page_set: form.pages.iter().map(|p| p.page).collect(),
            annots_arrays: form.pages.iter().filter_map(|p| p.annots_ref).collect(),
            form,
            info: trailer.get(b"Info").and_then(Object::as_ref),
            encrypt: trailer.get(b"Encrypt").cloned(),
            active,
        });
        self.states.insert(upto, state.clone());
        Ok(state)
    }

    /// Judges section `j` (index in chain order, `j ≥ 1`): revision `j + 1` in words.
    fn section(&mut self, j: usize) -> SectionChanges {
        let mut out = SectionChanges::default();
        self.structure(j, &mut out);
        if let Err(e) = self.objects(j, &mut out) {
            out.disallowed
                .push(format!("revision {} could not be analysed: {e}", j + 1));
        }
        if out.allowed.is_empty() && out.disallowed.is_empty() && out.added.is_empty() {
            out.allowed.push(format!(
                "revision {} rewrites objects without changing them",
                j + 1
            ));
        }
        out
    }

    /// The clean-update rules: the body is exactly the listed objects, back to back.
    fn structure(&self, j: usize, out: &mut SectionChanges) {
        let file = self.file;
        let buf = file.bytes();
        let sections = file.sections();
        let section = &sections[j];
        let rev = j + 1;
        if section.kind == XrefKind::Hybrid {
            out.disallowed.push(format!(
                "revision {rev} has a hybrid cross-reference section (/XRefStm)"
            ));
        }
        let mut listed: HashMap<usize, Ref> = HashMap::new();
        for (&num, &entry) in &section.entries {
            match entry {
                Entry::Free(_) if num == 0 => {}
                Entry::Free(_) => out
                    .disallowed
                    .push(format!("revision {rev} frees object {num}")),
                Entry::InStream { stream, .. } => out.disallowed.push(format!(
                    "revision {rev} puts object {num} into object stream {stream}"
                )),
                Entry::InFile { offset, generation } => {
                    let own_xref =
                        section.kind == XrefKind::Stream && offset == section.xref_offset;
                    if !own_xref {
                        listed.insert(offset, Ref { num, generation });
                    }
                }
            }
        }
        let start = after_eol(buf, sections[j - 1].eof);
        if start > section.xref_offset {
            out.disallowed.push(format!(
                "revision {rev}'s cross-reference section lies before the end of revision {j}"
            ));
            return;
        }
        let mut pos = start;
        let mut found = 0usize;
        loop {
            while pos < section.xref_offset && is_whitespace(buf[pos]) {
                pos += 1;
            }
            if pos >= section.xref_offset {
                break;
            }
            let Some(&id) = listed.get(&pos) else {
                out.disallowed.push(format!(
                    "revision {rev} holds bytes at offset {pos} that are no object its cross-reference section lists"
                ));
                return;
            };
            match file.indirect(pos, j + 1) {
                Ok(ind) if ind.id == id => {
                    found += 1;
                    pos = ind.end;
                }
                Ok(ind) => {
                    out.disallowed.push(format!(
                        "revision {rev} lists object {} at offset {pos}, where object {} is",
                        id.num, ind.id.num
                    ));
                    return;
                }
                Err(e) => {
                    out.disallowed
                        .push(format!("revision {rev}: object at offset {pos}: {e}"));
                    return;
                }
            }
        }
        if pos != section.xref_offset {
            out.disallowed.push(format!(
                "revision {rev}'s last object runs into its cross-reference section"
            ));
        }
        if found != listed.len() {
            let mut outside: Vec<u32> = listed
                .iter()
                .filter(|&(&offset, _)| offset < start || offset >= section.xref_offset)
                .map(|(_, r)| r.num)
                .collect();
            outside.sort_unstable();
            out.disallowed.push(format!(
                "revision {rev} points objects {outside:?} at bytes outside its own body"
            ));
        }
    }

    /// Compares the objects revision `j + 1` lists with their previous values.
    fn objects(&mut self, j: usize, out: &mut SectionChanges) -> Result<(), PdfError> {
        let file = self.file;
        let section = &file.sections()[j];
        let rev = j + 1;
        let before = self.state(j)?;
        let after = self.state(j + 1)?;
        if before.root != after.root {
            out.disallowed
                .push(format!("revision {rev} replaces the document catalog"));
            return Ok(());
        }
        if before.encrypt != after.encrypt {
            out.disallowed
                .push(format!("revision {rev} changes the trailer's /Encrypt"));
        }
        for finding in added_findings(&before.active, &after.active) {
            out.disallowed
                .push(format!("revision {rev} adds active content: {finding}"));
        }
        let mut new_objects = BTreeSet::new();
        let mut changed = Vec::new();
        for (&num, &entry) in &section.entries {
            let Entry::InFile { offset, generation } = entry else {
                continue;
            };
            if num == 0 || (section.kind == XrefKind::Stream && offset == section.xref_offset) {
                continue;
            }
            let r = Ref { num, generation };
            match file.entry(num, j) {
                None | Some(Entry::Free(_)) => {
                    new_objects.insert(r);
                }
                Some(Entry::InFile { generation: g, .. }) if g != generation => {
                    out.disallowed.push(format!(
                        "revision {rev} replaces object {num} under another generation"
                    ));
                }
                Some(Entry::InStream { .. }) if generation != 0 => {
                    out.disallowed.push(format!(
                        "revision {rev} replaces object {num} under another generation"
                    ));
                }
                Some(_) => {
                    let old = file.get_at(r, j)?;
                    let new = file.get_at(r, j + 1)?;
                    if !same(file.bytes(), &old, &new) {
                        changed.push((r, old, new));
                    }
                }
            }
        }
        let mut judge = Judge {
            file,
            rev,
            upto: j + 1,
            before: &before,
            after: &after,
            new_objects: &new_objects,
            out,
            signed_objects: HashSet::new(),
            new_widgets: HashSet::new(),
            roots: Vec::new(),
            aliases: Vec::new(),
            dss_changed: false,
        };
        judge.form();
        judge.pages();
        for (r, old, new) in &changed {
            judge.changed(*r, old, new);
        }
        judge.catalog_entries();
        judge.reachable(&changed);
        let aliases = std::mem::take(&mut judge.aliases);
        if !aliases.is_empty() {
            let incoming = self.incoming(j + 1)?;
            for (r, role, allowed_from) in aliases {
                let from = incoming.get(&r).map(Vec::as_slice).unwrap_or_default();
                if from.is_empty() || !from.iter().all(|src| allowed_from.allows(src)) {
                    out.disallowed.push(format!(
                        "revision {rev} changes object {} as the {}, but the document also uses it elsewhere",
                        r.num,
                        role.what()
                    ));
                }
            }
        }
        Ok(())
    }

    /// Who refers to each object as of `upto`: (referring object or `None` for the trailer,
    /// the top-level key under which the reference sits). Bounded by the analysis budget.
    fn incoming(&mut self, upto: usize) -> Result<HashMap<Ref, Vec<Source>>, PdfError> {
        let trailer = &self.file.sections()[upto - 1].trailer;
        let mut map: HashMap<Ref, Vec<Source>> = HashMap::new();
        let mut queue = Vec::new();
        let mut seen = HashSet::new();
        let mut note = |target: Ref, source: Source, queue: &mut Vec<Ref>| {
            let list = map.entry(target).or_default();
            if list.len() < 8 {
                list.push(source);
            }
            if seen.insert(target) {
                queue.push(target);
            }
        };
        for (key, value) in &trailer.0 {
            if matches!(key.as_slice(), b"Prev" | b"XRefStm") {
                continue;
            }
            let mut refs = Vec::new();
            collect_refs(value, &mut refs);
            for r in refs {
                note(r, (None, key.clone()), &mut queue);
            }
        }
        while let Some(r) = queue.pop() {
            if self.budget == 0 {
                return Err(PdfError::TooLarge("objects to analyse"));
            }
            self.budget -= 1;
            let object = self.file.shared_at(r, upto)?;
            let mut refs = Vec::new();
            if let Some(d) = object.as_dict() {
                for (key, value) in &d.0 {
                    collect_refs(value, &mut refs);
                    for t in refs.drain(..) {
                        note(t, (Some(r), key.clone()), &mut queue);
                    }
                }
            } else {
                collect_refs(&object, &mut refs);
                for t in refs {
                    note(t, (Some(r), Vec::new()), &mut queue);
                }
            }
        }
        Ok(map)
    }
}

/// A place a reference sits: the referring object (`None` for the trailer) and the top-level
/// key of that object's dictionary (empty for an array).
type Source = (Option<Ref>, Vec<u8>);

/// Where an object changed in a shared role may be referred from.
struct AllowedFrom {
    /// These exact places.
    exact: Vec<Source>,
    /// Any key of these objects (the DSS and its parts: VRI keys are hashes).
    objects: Vec<Ref>,
}

impl AllowedFrom {
    fn allows(&self, source: &Source) -> bool {
        self.exact.contains(source) || source.0.is_some_and(|o| self.objects.contains(&o))
    }
}

/// The judgement of one revision's changes.
struct Judge<'j, 'a> {
    file: &'j PdfFile<'a>,
    rev: usize,
    upto: usize,
    before: &'j State,
    after: &'j State,
    new_objects: &'j BTreeSet<Ref>,
    out: &'j mut SectionChanges,
    /// Existing signature fields (and their widgets) this revision signs.
    signed_objects: HashSet<Ref>,
    /// Widgets of the signatures this revision adds.
    new_widgets: HashSet<Ref>,
    /// New objects the allowed changes refer to.
    roots: Vec<Ref>,
    /// Objects changed in a role that must not be shared: (object, role, allowed sources).
    aliases: Vec<(Ref, Role, AllowedFrom)>,
    /// Whether this revision adds or updates the DSS.
    dss_changed: bool,
}

impl Judge<'_, '_> {
    fn deny(&mut self, what: String) {
        self.out.disallowed.push(what);
    }

    fn page_number(&self, page: Option<Ref>) -> String {
        page.and_then(|p| self.after.form.pages.iter().position(|x| x.page == p))
            .map_or_else(|| "?".to_owned(), |i| (i + 1).to_string())
    }

    /// The form: `/Fields` may only grow, and only by signature fields with a value.
    fn form(&mut self) {
        let rev = self.rev;
        let (before, after) = (self.before, self.after);
        let added_tops: Vec<Object> = match (&before.form.acroform, &after.form.acroform) {
            (None, None) => Vec::new(),
            (Some(_), None) => {
                self.deny(format!("revision {rev} removes the form"));
                Vec::new()
            }
            (None, Some((_, new))) => {
                for (key, _) in &new.0 {
                    if !matches!(key.as_slice(), b"Fields" | b"SigFlags") {
                        self.deny(format!(
                            "revision {rev} creates a form with /{}",
                            String::from_utf8_lossy(key)
                        ));
                    }
                }
                after.form.top_fields.1.clone()
            }
            (Some((_, old)), Some((_, new))) => {
                for key in differing_keys(self.file.bytes(), old, new) {
                    if !matches!(key.as_slice(), b"Fields" | b"SigFlags") {
                        self.deny(format!(
                            "revision {rev} changes the form's /{}",
                            String::from_utf8_lossy(&key)
                        ));
                    }
                }
                let (o, n) = (&before.form.top_fields.1, &after.form.top_fields.1);
                if n.len() >= o.len() && n[..o.len()] == o[..] {
                    n[o.len()..].to_vec()
                } else {
                    self.deny(format!("revision {rev} removes or reorders form fields"));
                    n.iter().filter(|x| !o.contains(x)).cloned().collect()
                }
            }
        };
        let added_tops: HashSet<Ref> = added_tops.iter().filter_map(Object::as_ref).collect();
        let old_fields: HashMap<Ref, &FormField> =
            before.form.fields.iter().map(|f| (f.field, f)).collect();
        for f in &after.form.fields {
            if added_tops.contains(&f.top()) {
                if let Some(old) = f.chain.iter().find(|r| !self.new_objects.contains(r)) {
                    self.deny(format!(
                        "revision {rev} adds field {:?} through object {}, which is not new",
                        f.name, old.num
                    ));
                } else if !f.is_signature() {
                    self.deny(format!(
                        "revision {rev} adds form field {:?} of type /{}",
                        f.name,
                        String::from_utf8_lossy(f.field_type.as_deref().unwrap_or(b"?"))
                    ));
                } else if !f.is_filled() {
                    self.deny(format!(
                        "revision {rev} adds signature field {:?} without a signature",
                        f.name
                    ));
                } else {
                    self.signature(f, "added");
                }
            } else if let Some(old) = old_fields.get(&f.field) {
                if f.is_signature() && !old.is_filled() && f.is_filled() {
                    self.signed_objects.insert(f.field);
                    self.signed_objects
                        .extend(f.widgets.iter().map(|w| w.annot));
                    self.signature(f, "signed");
                }
            } else {
                self.deny(format!(
                    "revision {rev} adds field {:?} below an existing field",
                    f.name
                ));
            }
        }
    }

    /// A signature a field gains in this revision: a new signature dictionary, widgets that
    /// cover no earlier signature's widget (an action on them is active content, which the
    /// revision's survey judges).
    fn signature(&mut self, f: &FormField, verb: &str) {
        let rev = self.rev;
        let Some(Object::Ref(v)) = &f.value else {
            self.deny(format!(
                "revision {rev} {verb} signature field {:?} whose /V is not a reference",
                f.name
            ));
            return;
        };
        if !self.new_objects.contains(v) {
            self.deny(format!(
                "revision {rev} {verb} signature field {:?} with the signature dictionary {} of an earlier revision",
                f.name, v.num
            ));
            return;
        }
        let ty = match self.file.get_at(*v, self.upto) {
            Ok(Object::Dict(d)) => SigType::of(&d),
            _ => None,
        };
        let Some(ty) = ty else {
            self.deny(format!(
                "revision {rev} {verb} signature field {:?} whose value is not a signature dictionary",
                f.name
            ));
            return;
        };
        self.roots.push(*v);
        self.roots.extend(f.chain.iter().copied());
        let earlier: Vec<(String, Option<Ref>, [f64; 4])> = self
            .before
            .form
            .fields
            .iter()
            .filter(|e| e.is_signature() && e.is_filled())
            .flat_map(|e| {
                e.widgets
                    .iter()
                    .filter_map(|w| Some((e.name.clone(), w.page, w.rect?)))
            })
            .collect();
        for w in &f.widgets {
            self.new_widgets.insert(w.annot);
            self.roots.push(w.annot);
            if verb == "added" && !self.new_objects.contains(&w.annot) {
                self.deny(format!(
                    "revision {rev} adds signature field {:?} with the widget {} of an earlier revision",
                    f.name, w.annot.num
                ));
            }
            let Some(rect) = w.rect else { continue };
            for (name, page, r) in &earlier {
                if w.page.is_some() && *page == w.page && overlaps(&rect, r) {
                    self.deny(format!(
                        "the widget of signature field {:?} added in revision {rev} overlaps that of signature {name:?} on page {}",
                        f.name,
                        self.page_number(w.page)
                    ));
                }
            }
        }
        let what = match ty {
            SigType::Signature => "signature field",
            SigType::DocTimeStamp => "document time-stamp field",
        };
        self.out.added.push(Added {
            sig: *v,
            ty,
            message: format!("{what} {:?} {verb} in revision {rev}", f.name),
        });
    }

    /// Pages: the same pages, each `/Annots` only growing, and only by new signature widgets.
    fn pages(&mut self) {
        let rev = self.rev;
        let (before, after) = (self.before, self.after);
        let same_pages = before.form.pages.len() == after.form.pages.len()
            && before
                .form
                .pages
                .iter()
                .zip(&after.form.pages)
                .all(|(a, b)| a.page == b.page);
        if !same_pages {
            self.deny(format!("revision {rev} adds, removes or reorders pages"));
            return;
        }
        for (i, (old, new)) in before.form.pages.iter().zip(&after.form.pages).enumerate() {
            let (o, n) = (&old.annots, &new.annots);
            if o == n {
                continue;
            }
            if n.len() < o.len() || n[..o.len()] != o[..] {
                self.deny(format!(
                    "revision {rev} removes or reorders annotations of page {}",
                    i + 1
                ));
                continue;
            }
            for item in &n[o.len()..] {
                match item.as_ref() {
                    Some(r) if self.new_widgets.contains(&r) => {}
                    Some(r) => {
                        let kind = self
                            .file
                            .get_at(r, self.upto)
                            .ok()
                            .map_or_else(|| "?".to_owned(), |o| describe(&o));
                        self.deny(format!(
                            "revision {rev} adds annotation {} ({kind}) to page {}, which is no new signature's widget",
                            r.num,
                            i + 1
                        ));
                    }
                    None => self.deny(format!(
                        "revision {rev} adds a direct annotation to page {}",
                        i + 1
                    )),
                }
            }
        }
    }

    fn roles(&self, r: Ref) -> Vec<Role> {
        let b = self.before;
        let mut roles = Vec::new();
        if r == b.root {
            roles.push(Role::Catalog);
        }
        if b.form.acroform.as_ref().and_then(|(r, _)| *r) == Some(r) {
            roles.push(Role::AcroForm);
        }
        if b.page_set.contains(&r) {
            roles.push(Role::Page);
        }
        if b.form.top_fields.0 == Some(r) {
            roles.push(Role::FieldsArray);
        }
        if b.annots_arrays.contains(&r) {
            roles.push(Role::AnnotsArray);
        }
        if self.signed_objects.contains(&r) {
            roles.push(Role::SignedField);
        }
        if b.info == Some(r) {
            roles.push(Role::Info);
        }
        if b.catalog_ref(b"Metadata") == Some(r) {
            roles.push(Role::Metadata);
        }
        if dss_parts(self.file, b, self.upto - 1).contains(&r) {
            roles.push(Role::Dss);
        }
        roles
    }

    /// One changed object: allowed only in a whitelisted role, and only as that role allows.
    fn changed(&mut self, r: Ref, old: &Object, new: &Object) {
        let rev = self.rev;
        let roles = self.roles(r);
        if roles.is_empty() {
            self.deny(format!(
                "revision {rev} changes object {} ({})",
                r.num,
                describe(old)
            ));
            return;
        }
        let shared = [Role::Info, Role::Metadata, Role::Dss];
        if let Some(&role) = roles.iter().find(|x| shared.contains(x)) {
            if roles.len() > 1 {
                self.deny(format!(
                    "revision {rev} changes object {}, which plays several roles",
                    r.num
                ));
                return;
            }
            self.shared_role(r, role, old, new);
            return;
        }
        if roles
            .iter()
            .all(|x| matches!(x, Role::FieldsArray | Role::AnnotsArray))
        {
            // What the arrays gain is judged with the form and the pages.
            if !matches!((old, new), (Object::Array(_), Object::Array(_))) {
                self.deny(format!(
                    "revision {rev} turns the {} {} into another kind of object",
                    roles[0].what(),
                    r.num
                ));
            }
            return;
        }
        let (Object::Dict(od), Object::Dict(nd)) = (old, new) else {
            self.deny(format!(
                "revision {rev} changes object {} ({}) into another kind of object",
                r.num,
                describe(old)
            ));
            return;
        };
        for key in differing_keys(self.file.bytes(), od, nd) {
            let allowed = roles
                .iter()
                .all(|x| x.keys().is_some_and(|k| k.contains(&key.as_slice())));
            if !allowed {
                self.deny(format!(
                    "revision {rev} changes /{} of the {} (object {})",
                    String::from_utf8_lossy(&key),
                    roles[0].what(),
                    r.num
                ));
            }
        }
    }

    /// Info, XMP and DSS objects: the right kind of object, used nowhere else.
    fn shared_role(&mut self, r: Ref, role: Role, old: &Object, new: &Object) {
        let rev = self.rev;
        let root = self.after.root;
        let exact = |source: Source| AllowedFrom {
            exact: vec![source],
            objects: Vec::new(),
        };
        let (fits, allowed_from) = match role {
            Role::Info => (
                matches!((old, new), (Object::Dict(_), Object::Dict(_))),
                exact((None, b"Info".to_vec())),
            ),
            Role::Metadata => (
                matches!(new, Object::Stream(s) if s.dict.is_type(b"Metadata") && s.dict.name(b"Subtype") == Some(b"XML")),
                exact((Some(root), b"Metadata".to_vec())),
            ),
            _ => (
                // The DSS's own dictionaries and arrays; its data streams never change.
                !matches!(old, Object::Stream(_)) && !matches!(new, Object::Stream(_)),
                AllowedFrom {
                    exact: vec![(Some(root), b"DSS".to_vec())],
                    objects: dss_parts(self.file, self.after, self.upto),
                },
            ),
        };
        if !fits {
            self.deny(format!(
                "revision {rev} changes the {} {} into an unexpected object",
                role.what(),
                r.num
            ));
            return;
        }
        let message = match role {
            Role::Info => format!("document information updated in revision {rev}"),
            Role::Metadata => format!("XMP metadata updated in revision {rev}"),
            _ => {
                self.dss_changed = true;
                format!("DSS updated in revision {rev}")
            }
        };
        if !self.out.allowed.contains(&message) {
            self.out.allowed.push(message);
        }
        self.aliases.push((r, role, allowed_from));
    }

    /// Catalog and trailer entries that may point somewhere new: DSS, XMP, information.
    fn catalog_entries(&mut self) {
        let rev = self.rev;
        let buf = self.file.bytes();
        let (b, a) = (self.before, self.after);
        if !same_opt(buf, b.catalog.get(b"DSS"), a.catalog.get(b"DSS")) {
            match a
                .catalog
                .get(b"DSS")
                .map(|d| self.file.resolve_at(d, self.upto))
            {
                None => self.deny(format!("revision {rev} removes the DSS")),
                Some(Ok(Object::Dict(dss))) => {
                    for (key, _) in &dss.0 {
                        if !matches!(
                            key.as_slice(),
                            b"Type" | b"VRI" | b"Certs" | b"CRLs" | b"OCSPs"
                        ) {
                            self.deny(format!(
                                "revision {rev} adds a DSS with /{}",
                                String::from_utf8_lossy(key)
                            ));
                        }
                    }
                    self.dss_changed = true;
                    let message = if b.catalog.get(b"DSS").is_some() {
                        format!("DSS updated in revision {rev}")
                    } else {
                        format!("DSS added in revision {rev}")
                    };
                    if !self.out.allowed.contains(&message) {
                        self.out.allowed.push(message);
                    }
                }
                Some(_) => self.deny(format!(
                    "revision {rev} adds a DSS that is not a dictionary"
                )),
            }
        }
        if !same_opt(buf, b.catalog.get(b"Metadata"), a.catalog.get(b"Metadata")) {
            match a.catalog.get(b"Metadata").map(|m| self.file.resolve_at(m, self.upto)) {
                Some(Ok(Object::Stream(s)))
                    if s.dict.is_type(b"Metadata") && s.dict.name(b"Subtype") == Some(b"XML") =>
                {
                    self.out
                        .allowed
                        .push(format!("XMP metadata replaced in revision {rev}"));
                }
                _ => self.deny(format!(
                    "revision {rev} sets the catalog's /Metadata to something other than an XMP stream"
                )),
            }
        }
        if !same_opt(
            buf,
            b.catalog.get(b"Extensions"),
            a.catalog.get(b"Extensions"),
        ) {
            self.out
                .allowed
                .push(format!("catalog /Extensions updated in revision {rev}"));
        }
        self.version(rev);
        if b.info != a.info {
            self.out
                .allowed
                .push(format!("document information replaced in revision {rev}"));
        }
    }

    /// The catalog's `/Version`: LTV tools (pyHanko) raise it when they add validation data, so
    /// it may change in a revision that adds only a DSS or document time-stamps; a revision
    /// that adds a signature or changes nothing else of that kind may not change it.
    fn version(&mut self, rev: usize) {
        let (b, a) = (
            self.before.catalog.get(b"Version"),
            self.after.catalog.get(b"Version"),
        );
        if same_opt(self.file.bytes(), b, a) {
            return;
        }
        let show = |v: Option<&Object>| match v {
            Some(Object::Name(n)) => format!("/{}", String::from_utf8_lossy(n)),
            Some(other) => describe(other),
            None => "none".to_owned(),
        };
        let change = format!(
            "catalog /Version {} → {} in revision {rev}",
            show(b),
            show(a)
        );
        let ltv_only = self.out.added.iter().all(|x| x.ty == SigType::DocTimeStamp)
            && (self.dss_changed || !self.out.added.is_empty());
        if ltv_only {
            self.out.allowed.push(change);
        } else {
            self.deny(format!(
                "{change}, which only a revision adding validation data or a document time-stamp may do"
            ));
        }
    }

    /// New objects must hang off the changes judged above: reachable, through new objects
    /// only, from a changed object, the trailer or an added signature. What nothing refers to
    /// cannot be displayed: it is listed, not refused (pyHanko leaves the empty appearance of a
    /// field it then signs with another), and a later revision that starts using it is judged
    /// by that revision's rules.
    fn reachable(&mut self, changed: &[(Ref, Object, Object)]) {
        let rev = self.rev;
        let mut queue: Vec<Ref> = Vec::new();
        let mut refs = Vec::new();
        for (_, _, new) in changed {
            collect_refs(new, &mut refs);
        }
        for (key, value) in &self.file.sections()[self.upto - 1].trailer.0 {
            if !matches!(key.as_slice(), b"Prev" | b"XRefStm") {
                collect_refs(value, &mut refs);
            }
        }
        queue.append(&mut refs);
        queue.append(&mut self.roots);
        let mut seen: HashSet<Ref> = HashSet::new();
        while let Some(r) = queue.pop() {
            if !self.new_objects.contains(&r) || !seen.insert(r) {
                continue;
            }
            if let Ok(o) = self.file.get_at(r, self.upto) {
                collect_refs(&o, &mut refs);
                queue.append(&mut refs);
            }
        }
        let orphans: HashSet<Ref> = self
            .new_objects
            .iter()
            .filter(|r| !seen.contains(r))
            .copied()
            .collect();
        if orphans.is_empty() {
            return;
        }
        // An "orphan" that signed content already refers to (a dangling reference in the sealed
        // revision, defined only now) is displayed from now on: a shadow attack, not an orphan.
        let used = self.referenced_from_document(&orphans);
        if !used.is_empty() {
            self.deny(format!(
                "revision {rev} defines objects {used:?} that sealed content already refers to"
            ));
            return;
        }
        let mut orphans: Vec<u32> = orphans.iter().map(|r| r.num).collect();
        orphans.sort_unstable();
        orphans.truncate(20);
        {
            self.out.allowed.push(format!(
                "revision {rev} adds objects {orphans:?} that nothing refers to (never displayed)"
            ));
        }
    }
}

impl Judge<'_, '_> {
    /// Which of `targets` any object reachable from the trailer (as of this revision) refers
    /// to. Bounded: past the budget every target counts as referred to.
    fn referenced_from_document(&self, targets: &HashSet<Ref>) -> Vec<u32> {
        let trailer = &self.file.sections()[self.upto - 1].trailer;
        let mut queue: Vec<Ref> = Vec::new();
        for key in [&b"Root"[..], b"Info"] {
            if let Some(v) = trailer.get(key) {
                collect_refs(v, &mut queue);
            }
        }
        let mut seen: HashSet<Ref> = HashSet::new();
        let mut hit: Vec<u32> = Vec::new();
        let mut refs = Vec::new();
        let mut budget = BUDGET;
        while let Some(r) = queue.pop() {
            if !seen.insert(r) {
                continue;
            }
            if budget == 0 {
                return targets.iter().map(|r| r.num).collect();
            }
            budget -= 1;
            if targets.contains(&r) {
                hit.push(r.num);
                continue;
            }
            if let Ok(o) = self.file.shared_at(r, self.upto) {
                collect_refs(&o, &mut refs);
                queue.append(&mut refs);
            }
        }
        hit.sort_unstable();
        hit
    }
}

/// The findings of `after` beyond those of `before`, counted with repetition (a second 3D
/// annotation is new even when the first was signed).
fn added_findings<'f>(before: &[Finding], after: &'f [Finding]) -> Vec<&'f Finding> {
    let mut left: HashMap<&Finding, usize> = HashMap::new();
    for f in before {
        *left.entry(f).or_default() += 1;
    }
    after
        .iter()
        .filter(|f| match left.get_mut(f) {
            Some(n) if *n > 0 => {
                *n -= 1;
                false
            }
            _ => true,
        })
        .collect()
}

/// The DSS dictionary's own reference and the references of its direct parts (the VRI
/// dictionary and its entries, the certificate, CRL and OCSP arrays).
fn dss_parts(file: &PdfFile<'_>, state: &State, upto: usize) -> Vec<Ref> {
    let mut parts = Vec::new();
    let Some(value) = state.catalog.get(b"DSS") else {
        return parts;
    };
    parts.extend(value.as_ref());
    let Ok(Object::Dict(dss)) = file.resolve_at(value, upto) else {
        return parts;
    };
    for key in [&b"Certs"[..], b"CRLs", b"OCSPs", b"VRI"] {
        if let Some(v) = dss.get(key) {
            parts.extend(v.as_ref());
            if key == b"VRI"
                && let Ok(Object::Dict(vri)) = file.resolve_at(v, upto)
            {
                parts.extend(vri.0.iter().filter_map(|(_, x)| x.as_ref()));
            }
        }
    }
    parts
}

/// The keys whose values differ between two dictionaries.
fn differing_keys(buf: &[u8], a: &Dict, b: &Dict) -> Vec<Vec<u8>> {
    let mut keys: Vec<Vec<u8>> = Vec::new();
    for (k, _) in a.0.iter().chain(&b.0) {
        if !keys.contains(k) && !same_opt(buf, a.get(k), b.get(k)) {
            keys.push(k.clone());
        }
    }
    keys
}

fn same_opt(buf: &[u8], a: Option<&Object>, b: Option<&Object>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(x), Some(y)) => same(buf, x, y),
        _ => false,
    }
}

/// Equality of parsed values: dictionaries regardless of key order, strings regardless of
/// notation, streams by dictionary and raw data.
fn same(buf: &[u8], a: &Object, b: &Object) -> bool {
    match (a, b) {
        (Object::Stream(x), Object::Stream(y)) => {
            same_dict(buf, &x.dict, &y.dict) && buf.get(x.data.clone()) == buf.get(y.data.clone())
        }
        (Object::Dict(x), Object::Dict(y)) => same_dict(buf, x, y),
        (Object::Array(x), Object::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(buf, p, q))
        }
        (Object::String { bytes: x, .. }, Object::String { bytes: y, .. }) => x == y,
        _ => a == b,
    }
}

fn same_dict(buf: &[u8], x: &Dict, y: &Dict) -> bool {
    x.0.len() == y.0.len()
        && x.0
            .iter()
            .all(|(k, v)| y.get(k).is_some_and(|w| same(buf, v, w)))
}

/// Every reference inside `o` (a stream's dictionary included).
fn collect_refs(o: &Object, out: &mut Vec<Ref>) {
    match o {
        Object::Ref(r) => out.push(*r),
        Object::Array(items) => items.iter().for_each(|i| collect_refs(i, out)),
        Object::Dict(d) => d.0.iter().for_each(|(_, v)| collect_refs(v, out)),
        Object::Stream(s) => s.dict.0.iter().for_each(|(_, v)| collect_refs(v, out)),
        _ => {}
    }
}

/// A short description of an object for messages: its `/Type` or `/Subtype`, else its kind.
fn describe(o: &Object) -> String {
    let name = |d: &Dict| {
        let names: Vec<String> = [d.name(b"Type"), d.name(b"Subtype")]
            .into_iter()
            .flatten()
            .map(|n| format!("/{}", String::from_utf8_lossy(n)))
            .collect();
        (!names.is_empty()).then(|| names.join(" "))
    };
    match o {
        Object::Dict(d) => name(d).unwrap_or_else(|| "dictionary".into()),
        Object::Stream(s) => {
            name(&s.dict).map_or_else(|| "stream".into(), |n| format!("{n} stream"))
        }
        Object::Array(_) => "array".into(),
        Object::Null => "null".into(),
        _ => "value".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_compare_by_meaning() {
        let buf = b"abcabc";
        let dict = |pairs: &[(&[u8], Object)]| {
            Object::Dict(Dict(
                pairs.iter().map(|(k, v)| (k.to_vec(), v.clone())).collect(),
            ))
        };
        let a = dict(&[(b"A", Object::Int(1)), (b"B", Object::string(b"x"))]);
        let b = dict(&[
            (
                b"B",
                Object::String {
                    bytes: b"x".to_vec(),
                    hex: true,
                },
            ),
            (b"A", Object::Int(1)),
        ]);
        assert!(
            same(buf, &a, &b),
            "key order and string notation do not count"
        );
        assert!(!same(buf, &a, &dict(&[(b"A", Object::Int(1))])));
        assert!(!same(buf, &Object::Int(1), &Object::Real(1.0)));
        let stream = |data| {
            Object::Stream(super::super::Stream {
                dict: Dict::default(),
                data,
            })
        };
        assert!(
            same(buf, &stream(0..3), &stream(3..6)),
            "same bytes elsewhere"
        );
        assert!(!same(buf, &stream(0..3), &stream(1..4)));
        assert_eq!(
            describe(&dict(&[
                (b"Type", Object::name(b"Annot")),
                (b"Subtype", Object::name(b"FreeText"))
            ])),
            "/Annot /FreeText"
        );
    }
}
