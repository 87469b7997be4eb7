//! The one definition of active content (docs/threats.md §2.2): what the vault refuses to seal
//! (`policy`) and what no revision may add after a seal (`diff`). It is a whitelist: what is not
//! named here as passive is active.
//!
//! - Nothing acts by itself: no `/AA` anywhere (document, page, annotation, form field), and an
//!   `/OpenAction` only as a go-to (an explicit destination on a page of this file, or a named
//!   destination) without a `/Next` chain.
//! - Annotations are of the kinds that only show something ([`PASSIVE`]), links, or widgets of
//!   signature fields. 3D, RichMedia, Screen, Movie, Sound, FileAttachment, Redact (applying
//!   it removes sealed content), Widget of any other field and every unknown subtype are active.
//! - Only a link acts, and only when clicked: `/URI` to an `http`, `https` or `mailto` address
//!   (listed in the verification report, see [`Link`]), `/GoTo` within this file, or one of the four standard page-navigation `/Named`
//!   actions; no `/Next` chains, no `/PA`. Outline items only go to places in this file.
//! - Nothing embedded or hidden: no embedded or associated files (`/EF`, `/EmbeddedFiles`,
//!   `/AF`), no portfolio, no JavaScript anywhere (`/JS`, the `/JavaScript` name tree), no XFA,
//!   no templates (pages only a script shows), and no optional content: with `/OCProperties` the
//!   same signed bytes can show one thing on screen and print another, or change on a click.
//!
//! Places are judged where a reader looks (catalog, pages, their annotations, form fields), and
//! every object reachable from the trailer is also checked on its own for the constructs that
//! are active wherever they sit (JavaScript, embedded files, actions other than go-to, URI and
//! page navigation, `/AA`), so that nothing depends on having found every place.

use std::collections::HashSet;
use std::fmt;

use super::PdfError;
use super::file::PdfFile;
use super::object::{Dict, Object, Ref};
use super::policy::reachable;
use super::signatures::{FormState, form_state, text_string};

/// Annotation subtypes that only show something (ISO 32000-2 §12.5.6).
pub(crate) const PASSIVE: &[&[u8]] = &[
    b"Text",
    b"FreeText",
    b"Line",
    b"Square",
    b"Circle",
    b"Polygon",
    b"PolyLine",
    b"Highlight",
    b"Underline",
    b"Squiggly",
    b"StrikeOut",
    b"Caret",
    b"Ink",
    b"Popup",
    b"Stamp",
    b"Watermark",
];

/// Every action type of ISO 32000-2 §12.6.4, to recognise an action dictionary without `/Type`.
const ACTIONS: &[&[u8]] = &[
    b"GoTo",
    b"GoToR",
    b"GoToE",
    b"GoToDp",
    b"Launch",
    b"Thread",
    b"URI",
    b"Sound",
    b"Movie",
    b"Hide",
    b"Named",
    b"SubmitForm",
    b"ResetForm",
    b"ImportData",
    b"JavaScript",
    b"SetOCGState",
    b"Rendition",
    b"Trans",
    b"GoTo3DView",
    b"RichMediaExecute",
];

/// The `/Named` actions every viewer implements: page navigation (§12.6.4.11).
const NAVIGATION: &[&[u8]] = &[b"NextPage", b"PrevPage", b"FirstPage", b"LastPage"];

/// The `/Names` trees that hold no active or hidden content.
const NAME_TREES: &[&[u8]] = &[b"Dests", b"AP", b"Pages", b"IDS", b"URLS"];

/// What a document holds that acts, or that a reader can act on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Survey {
    /// Link annotations that open an address when clicked, in page order.
    pub links: Vec<Link>,
    /// Active content, the findings at the places a reader looks first.
    pub active: Vec<Finding>,
}

/// A link annotation whose action opens an address (`/S /URI`) when the reader clicks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The page it lies on, from 1.
    pub page: usize,
    /// The address, as written in the file.
    pub uri: String,
}

/// One piece of active content and where it is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Finding {
    /// Where it is.
    pub place: Place,
    /// What it is, e.g. `/AA /O action /SubmitForm runs by itself`.
    pub what: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.place, self.what)
    }
}

/// Where a finding is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Place {
    /// The document catalog.
    Catalog,
    /// A page, from 1.
    Page(usize),
    /// An annotation (its object number when indirect) on a page, from 1.
    Annotation {
        /// The page, from 1.
        page: usize,
        /// The annotation's object number, when it is an indirect object.
        object: Option<u32>,
    },
    /// A form field, by full name.
    Field(String),
    /// An object found anywhere else, by number.
    Object(u32),
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::Catalog => f.write_str("document catalog"),
            Place::Page(n) => write!(f, "page {n}"),
            Place::Annotation {
                page,
                object: Some(o),
            } => write!(f, "annotation {o} on page {page}"),
            Place::Annotation { page, object: None } => {
                write!(f, "a direct annotation on page {page}")
            }
            Place::Field(name) => write!(f, "form field {name:?}"),
            Place::Object(n) => write!(f, "object {n}"),
        }
    }
}

/// The survey of `file` as of its first `upto` sections.
pub fn survey(file: &PdfFile<'_>, upto: usize) -> Result<Survey, PdfError> {
    let form = form_state(file, upto)?;
    // The file's own limits bound the objects there are to visit.
    let mut budget = usize::MAX;
    survey_with(file, upto, &form, &mut budget)
}

/// [`survey`] with the form already read, charging each object visited to `budget`.
pub(crate) fn survey_with(
    file: &PdfFile<'_>,
    upto: usize,
    form: &FormState,
    budget: &mut usize,
) -> Result<Survey, PdfError> {
    let mut s = Surveyor {
        file,
        upto,
        pages: form.pages.iter().map(|p| p.page).collect(),
        out: Survey::default(),
    };
    let (_, catalog) = file.catalog_at(upto)?;
    s.catalog(&catalog);
    let signature_widgets: HashSet<Ref> = form
        .fields
        .iter()
        .filter(|f| f.is_signature())
        .flat_map(|f| f.widgets.iter().map(|w| w.annot))
        .collect();
    for (i, page) in form.pages.iter().enumerate() {
        let n = i + 1;
        if let Object::Dict(d) = &*file.shared_at(page.page, upto)? {
            s.automatic(Place::Page(n), d.get(b"AA"));
            s.associated_files(Place::Page(n), d);
        }
        for annot in &page.annots {
            let object = annot.as_ref();
            if let Object::Dict(d) = file.resolve_at(annot, upto)? {
                let place = Place::Annotation {
                    page: n,
                    object: object.map(|r| r.num),
                };
                let widget_of_signature = object.is_some_and(|r| signature_widgets.contains(&r));
                s.annotation(place, n, &d, widget_of_signature);
            }
        }
    }
    for f in &form.fields {
        for r in &f.chain {
            if let Object::Dict(d) = &*file.shared_at(*r, upto)? {
                s.automatic(Place::Field(f.name.clone()), d.get(b"AA"));
            }
        }
    }
    reachable(file, upto, budget, &mut |r, o| s.anywhere(r, o))?;
    Ok(s.out)
}

struct Surveyor<'s, 'a> {
    file: &'s PdfFile<'a>,
    upto: usize,
    pages: HashSet<Ref>,
    out: Survey,
}

impl Surveyor<'_, '_> {
    fn found(&mut self, place: Place, what: impl Into<String>) {
        self.out.active.push(Finding {
            place,
            what: what.into(),
        });
    }

    /// `o` with one reference followed; what cannot be read counts as null.
    fn resolve(&self, o: &Object) -> Object {
        self.file.resolve_at(o, self.upto).unwrap_or(Object::Null)
    }

    /// The action type of an action dictionary (`/S`), resolved.
    fn action(&self, o: &Object) -> Option<(Dict, String)> {
        match self.resolve(o) {
            Object::Dict(d) => {
                let s = d.name(b"S").map(name).unwrap_or_else(|| "?".into());
                Some((d, s))
            }
            _ => None,
        }
    }

    fn catalog(&mut self, catalog: &Dict) {
        self.automatic(Place::Catalog, catalog.get(b"AA"));
        self.associated_files(Place::Catalog, catalog);
        if let Some(open) = catalog.get(b"OpenAction") {
            match self.resolve(open) {
                Object::Dict(d) => {
                    if let Err(why) = self.go_to(&d) {
                        self.found(
                            Place::Catalog,
                            format!("/OpenAction {why}, and it runs when the document opens"),
                        );
                    }
                }
                dest if self.local_destination(&dest) => {}
                _ => self.found(
                    Place::Catalog,
                    "/OpenAction is no destination in this document",
                ),
            }
        }
        if let Object::Dict(names) = self.resolve(catalog.get(b"Names").unwrap_or(&Object::Null)) {
            for (key, _) in &names.0 {
                if !NAME_TREES.contains(&key.as_slice()) {
                    self.found(
                        Place::Catalog,
                        format!("the /Names /{} tree is active or hidden content", name(key)),
                    );
                }
            }
        }
        if catalog.get(b"OCProperties").is_some() {
            self.found(
                Place::Catalog,
                "optional content (/OCProperties) can show other content on screen than on paper",
            );
        }
        if catalog.get(b"Collection").is_some() {
            self.found(
                Place::Catalog,
                "a portfolio (/Collection) of embedded files",
            );
        }
        if let Some(Object::Dict(form)) = catalog.get(b"AcroForm").map(|f| self.resolve(f))
            && form.get(b"XFA").is_some()
        {
            self.found(Place::Catalog, "an XFA form (/AcroForm /XFA)");
        }
    }

    /// Every trigger of an `/AA` dictionary is a finding: nothing may run by itself.
    fn automatic(&mut self, place: Place, aa: Option<&Object>) {
        let Some(aa) = aa else { return };
        match self.resolve(aa) {
            Object::Dict(d) if !d.0.is_empty() => {
                for (trigger, action) in &d.0 {
                    let kind = self.action(action).map_or_else(|| "?".into(), |(_, s)| s);
                    self.found(
                        place.clone(),
                        format!("/AA /{} action /{kind} runs by itself", name(trigger)),
                    );
                }
            }
            Object::Dict(_) | Object::Null => {}
            _ => self.found(place, "/AA (additional actions)"),
        }
    }

    fn associated_files(&mut self, place: Place, d: &Dict) {
        if d.get(b"AF").is_some() {
            self.found(place, "associated files (/AF) are embedded files");
        }
    }

    /// One annotation of page `page`.
    fn annotation(&mut self, place: Place, page: usize, d: &Dict, widget_of_signature: bool) {
        let subtype = d.name(b"Subtype").map(<[u8]>::to_vec);
        self.automatic(place.clone(), d.get(b"AA"));
        self.associated_files(place.clone(), d);
        match subtype.as_deref() {
            Some(b"Link") => {
                if d.get(b"PA").is_some() {
                    self.found(place.clone(), "a link's /PA action");
                }
                if let Some(dest) = d.get(b"Dest")
                    && !self.local_destination(&self.resolve(dest))
                {
                    self.found(
                        place.clone(),
                        "a link whose /Dest is in no page of this document",
                    );
                }
                if let Some(a) = d.get(b"A") {
                    match self.clicked(a) {
                        Ok(Some(uri)) => self.out.links.push(Link { page, uri }),
                        Ok(None) => {}
                        Err(why) => self.found(place, format!("link {why}")),
                    }
                }
            }
            Some(b"Widget") if !widget_of_signature => {
                self.found(place, "a widget of a form field that is no signature field");
            }
            Some(s) if s == b"Widget" || PASSIVE.contains(&s) => {
                if d.get(b"A").is_some() {
                    self.found(
                        place,
                        format!("a /{} annotation with an action (/A)", name(s)),
                    );
                }
            }
            Some(s) => self.found(
                place,
                format!("/Subtype /{} is no passive annotation", name(s)),
            ),
            None => self.found(place, "an annotation without /Subtype"),
        }
    }

    /// What a link may do when clicked: open an address (returned) or go somewhere in this
    /// file; otherwise why not.
    fn clicked(&self, a: &Object) -> Result<Option<String>, String> {
        let Some((d, kind)) = self.action(a) else {
            return Err("/A is no action dictionary".into());
        };
        if d.get(b"Next").is_some() {
            return Err(format!("action /{kind} chains further actions (/Next)"));
        }
        match kind.as_str() {
            "URI" => match d.get(b"URI").map(|u| self.resolve(u)) {
                Some(Object::String { bytes, .. }) if web_address(&bytes) => {
                    Ok(Some(text_string(&bytes)))
                }
                Some(Object::String { bytes, .. }) => Err(format!(
                    "action /URI to {:?}, which is no http, https or mailto address",
                    text_string(&bytes)
                )),
                _ => Err("action /URI without an address".into()),
            },
            _ => self.go_to(&d).map(|()| None),
        }
    }

    /// Whether an action stays in this document: `/GoTo` to a local destination or page
    /// navigation, without `/Next`; otherwise why not (`action /X is active content`).
    fn go_to(&self, d: &Dict) -> Result<(), String> {
        let kind = d.name(b"S").map(name).unwrap_or_else(|| "?".into());
        if d.get(b"Next").is_some() {
            return Err(format!("action /{kind} chains further actions (/Next)"));
        }
        match kind.as_str() {
            "GoTo" => match d.get(b"D").map(|x| self.resolve(x)) {
                Some(dest) if self.local_destination(&dest) => Ok(()),
                _ => Err("action /GoTo goes to no page of this document".into()),
            },
            "Named" if d.name(b"N").is_some_and(|n| NAVIGATION.contains(&n)) => Ok(()),
            _ => Err(format!("action /{kind} is active content")),
        }
    }

    /// A destination in this file: a named one (resolved by the reader within this file), or
    /// an explicit one whose first element is one of its pages.
    fn local_destination(&self, dest: &Object) -> bool {
        match dest {
            Object::Name(_) | Object::String { .. } => true,
            Object::Array(a) => a
                .first()
                .and_then(Object::as_ref)
                .is_some_and(|p| self.pages.contains(&p)),
            _ => false,
        }
    }

    /// The constructs that are active wherever they sit, in every dictionary of object `r`.
    fn anywhere(&mut self, r: Ref, o: &Object) {
        let place = Place::Object(r.num);
        let mut stack = vec![o];
        while let Some(o) = stack.pop() {
            let d = match o {
                Object::Array(a) => {
                    stack.extend(a.iter());
                    continue;
                }
                Object::Dict(d) => d,
                Object::Stream(s) => &s.dict,
                _ => continue,
            };
            stack.extend(d.0.iter().map(|(_, v)| v));
            if d.get(b"AA").is_some() {
                self.found(place.clone(), "/AA (actions that run by themselves)");
            }
            if d.get(b"JS").is_some() {
                self.found(place.clone(), "JavaScript (/JS)");
            }
            if d.get(b"EF").is_some()
                || d.get(b"EmbeddedFiles").is_some()
                || d.is_type(b"EmbeddedFile")
                || d.get(b"AF").is_some()
            {
                self.found(place.clone(), "an embedded file");
            }
            if d.get(b"XFA").is_some() {
                self.found(place.clone(), "an XFA form");
            }
            if d.is_type(b"OCG") || d.is_type(b"OCMD") {
                self.found(place.clone(), "optional content (/OCG, /OCMD)");
            }
            if d.is_type(b"Annot")
                && let Some(s) = d.name(b"Subtype")
                && !(PASSIVE.contains(&s) || s == b"Link" || s == b"Widget")
            {
                self.found(
                    place.clone(),
                    format!("/Subtype /{} is no passive annotation", name(s)),
                );
            }
            let s = d.name(b"S");
            if d.is_type(b"Action") || s.is_some_and(|s| ACTIONS.contains(&s)) {
                match s {
                    Some(b"GoTo" | b"URI") => {}
                    Some(b"Named") if d.name(b"N").is_some_and(|n| NAVIGATION.contains(&n)) => {}
                    other => {
                        let kind = other.map(name).unwrap_or_else(|| "?".into());
                        self.found(place.clone(), format!("action /{kind} is active content"));
                    }
                }
                if d.get(b"Next").is_some() {
                    self.found(place.clone(), "an action chain (/Next)");
                }
            }
            // An outline item acts when clicked; it may only go somewhere in this file.
            if d.get(b"Title").is_some()
                && d.get(b"Parent").is_some()
                && let Some((a, _)) = d.get(b"A").and_then(|a| self.action(a))
                && let Err(why) = self.go_to(&a)
            {
                self.found(place.clone(), format!("outline item {why}"));
            }
        }
    }
}

/// Whether a URI opens a web page or a mail: other schemes (`file:`, `javascript:`, a
/// relative reference resolved against `/URI /Base`) reach the reader's machine or a script.
fn web_address(uri: &[u8]) -> bool {
    let scheme = uri.split(|&b| b == b':').next().unwrap_or_default();
    scheme.len() < uri.len()
        && [&b"http"[..], b"https", b"mailto"]
            .iter()
            .any(|s| s.eq_ignore_ascii_case(scheme))
}

/// A PDF name for messages.
fn name(n: &[u8]) -> String {
    String::from_utf8_lossy(n).into_owned()
}

#[cfg(test)]
mod tests;
