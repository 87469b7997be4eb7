//! Finding the §18 signatures of an OFD and checking their references.
//!
//! Path resolution: OFD paths starting with `/` are package-absolute; other paths are relative
//! to the directory of the file that contains them (GB/T 33190 §7.5). Some writers put
//! root-relative paths without the leading `/`, so a relative reference that does not exist is
//! retried from the root; when both readings exist and differ the reference is refused as
//! ambiguous, because an attacker could plant a copy where the verifier looks while the viewer
//! shows the other. `v4signed.ofd` uses absolute paths throughout.

use std::collections::{BTreeSet, HashMap};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use super::package::{Package, resolve_path};
use super::xml::{self, Element};
use super::{Check, Limits, OfdError};
use crate::crypto::{sha256, sm3};

/// The `Type` attribute of a `Signature` entry in `Signatures.xml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureKind {
    /// `Type="Seal"` or absent: an electronic seal, `SignedValue` is an `SES_Signature`.
    Seal,
    /// `Type="Sign"`: a pure digital signature, `SignedValue` is a GB/T 35275 SM2 CMS.
    Sign,
}

/// What became of a file a signature protects, as its `Reference` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protection {
    /// The file's hash equals the `CheckValue`.
    Matches,
    /// The file is there but its hash differs from the `CheckValue`.
    Changed,
    /// The file is gone.
    Missing,
}

/// One signature found in an OFD, with the OFD-level checks already made.
#[derive(Debug, Clone)]
pub struct OfdSignature {
    /// The `ID` attribute in `Signatures.xml`.
    pub id: String,
    /// Seal or Sign.
    pub kind: SignatureKind,
    /// Resolved absolute path of `Signature.xml` (with a leading `/`).
    pub base_loc: String,
    /// Exact bytes of `Signature.xml` (the "original" an SES or CMS signature covers).
    pub signature_xml: Vec<u8>,
    /// Bytes of the file named by `<SignedValue>`; empty when it could not be read.
    pub signed_value: Vec<u8>,
    /// Bytes of `<Seal><BaseLoc>` (`Seal.esl`) when present and readable.
    pub seal_esl: Option<Vec<u8>>,
    /// `<SignatureMethod>` text.
    pub signature_method: Option<String>,
    /// `<SignatureDateTime>` text, as written.
    pub signature_date_time: Option<String>,
    /// `<Provider ProviderName>` attribute.
    pub provider: Option<String>,
    /// Package files (absolute paths) neither referenced by this signature nor part of any
    /// signature's own files: what this signature does not protect.
    pub unreferenced: Vec<String>,
    /// Each file (absolute path) a well-formed `Reference` names, with what became of it; its
    /// check is `reference:<path>`.
    pub protected: Vec<(String, Protection)>,
    /// The signature's own files (absolute paths): `Signature.xml`, `SignedValue`, `Seal`.
    pub own_files: Vec<String>,
    /// `references.check_method`, one `reference:<path>` per Reference, and failing structural
    /// checks (`signature.xml`, `signed_value`, `seal.esl`, `signature.type`).
    pub checks: Vec<Check>,
}

/// Every signature of a document plus document-level problems found while looking for them.
#[derive(Debug, Clone, Default)]
pub struct OfdSignatures {
    /// Signatures in document order (DocBody, then Signatures.xml order).
    pub signatures: Vec<OfdSignature>,
    /// Problems that could not be attached to one signature (unreadable `Signatures.xml` …).
    pub problems: Vec<String>,
    /// The signature lists (`Signatures.xml`, absolute paths) `OFD.xml` names.
    pub lists: Vec<String>,
    /// The documents (`DocRoot`, absolute paths) `OFD.xml` names.
    pub doc_roots: Vec<String>,
    /// Every `DocInfo/CustomDatas/CustomData` of `OFD.xml` as (`Name`, trimmed text), in
    /// document order: the metadata a licence file's claim is read from.
    pub custom_data: Vec<(String, String)>,
    /// Every non-empty `DocInfo/Title` of `OFD.xml`, in document order.
    pub titles: Vec<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum HashAlg {
    Sm3,
    Sha256,
}

impl HashAlg {
    fn from_check_method(m: &str) -> Option<HashAlg> {
        let m = m.trim();
        if m == "1.2.156.10197.1.401" || m.eq_ignore_ascii_case("SM3") {
            Some(HashAlg::Sm3)
        } else if m == "2.16.840.1.101.3.4.2.1"
            || m.eq_ignore_ascii_case("SHA256")
            || m.eq_ignore_ascii_case("SHA-256")
        {
            Some(HashAlg::Sha256)
        } else {
            None
        }
    }

    fn name(self) -> &'static str {
        match self {
            HashAlg::Sm3 => "SM3",
            HashAlg::Sha256 => "SHA-256",
        }
    }
}

/// A `Signatures.xml` entry before its `Signature.xml` is read.
struct Listed {
    id: String,
    kind: Result<SignatureKind, String>,
    /// Normalised path (no leading `/`).
    path: String,
}

/// Read every signature of the OFD in `bytes`: `OFD.xml` → each `DocBody/Signatures` →
/// `Signatures.xml` → each `Signature`. A document without signatures gives an empty list.
pub fn read_signatures(bytes: &[u8], limits: &Limits) -> Result<OfdSignatures, OfdError> {
    let pkg = Package::open(bytes, limits)?;
    let ofd_xml = pkg.read("OFD.xml")?;
    let root = xml::parse(&ofd_xml, "OFD.xml", limits.max_xml_depth)?;
    if root.name != "OFD" {
        return Err(OfdError::NotOfd(format!(
            "root element of OFD.xml is <{}>",
            root.name
        )));
    }
    let mut out = OfdSignatures::default();

    // Every Signatures.xml, deduplicated: a repeated one would list the same signatures twice.
    let mut lists: Vec<String> = Vec::new();
    for body in root.children_named("DocBody") {
        if let Some(info) = body.child("DocInfo") {
            out.titles.extend(info.child_text("Title"));
            let data = info
                .children_named("CustomDatas")
                .flat_map(|c| c.children_named("CustomData"));
            out.custom_data.extend(data.map(|d| {
                (
                    d.attr("Name").unwrap_or_default().to_owned(),
                    d.text.trim().to_owned(),
                )
            }));
        }
        if let Some(loc) = body.child_text("DocRoot") {
            match resolve_path("OFD.xml", &loc) {
                Ok(p) => out.doc_roots.push(format!("/{p}")),
                Err(e) => out.problems.push(format!("DocBody/DocRoot: {e}")),
            }
        }
        if let Some(loc) = body.child_text("Signatures") {
            match resolve_path("OFD.xml", &loc) {
                Ok(p) if !lists.contains(&p) => lists.push(p),
                Ok(_) => {}
                Err(e) => out.problems.push(format!("DocBody/Signatures: {e}")),
            }
        }
    }

    let mut listed: Vec<Listed> = Vec::new();
    for list in &lists {
        let root = match pkg
            .read(list)
            .and_then(|b| xml::parse(&b, list, limits.max_xml_depth))
        {
            Ok(r) => r,
            Err(e) => {
                out.problems
                    .push(format!("signature list /{list} unreadable: {e}"));
                continue;
            }
        };
        for sig in root.children_named("Signature") {
            let id = sig.attr("ID").unwrap_or_default().to_owned();
            let kind = match sig.attr("Type").map(str::trim) {
                None | Some("Seal") => Ok(SignatureKind::Seal),
                Some("Sign") => Ok(SignatureKind::Sign),
                Some(other) => Err(other.to_owned()),
            };
            let Some(loc) = sig.attr("BaseLoc") else {
                out.problems
                    .push(format!("/{list}: Signature ID={id:?} has no BaseLoc"));
                continue;
            };
            // Same lookup as references: relative, then root-relative if only that exists.
            let path = match locate(&pkg, list, loc) {
                Ok(p) => Ok(p),
                Err(e) if e.starts_with("missing") => {
                    resolve_path(list, loc).map_err(|e| e.to_string())
                }
                Err(e) => Err(e),
            };
            match path {
                // One Signature.xml listed twice would be counted as two signatures.
                Ok(path) if listed.iter().any(|l| l.path == path) => {
                    out.problems.push(format!(
                        "/{list}: Signature ID={id:?} repeats BaseLoc /{path}"
                    ));
                }
                Ok(path) => listed.push(Listed { id, kind, path }),
                Err(e) => out
                    .problems
                    .push(format!("/{list}: Signature ID={id:?}: {e}")),
            }
        }
    }

    out.lists = lists.iter().map(|l| format!("/{l}")).collect();
    if let Some(names) = case_twins(&pkg.names()) {
        // A case-insensitive unzip (Windows, macOS) keeps one of them: viewers may show
        // the file the signature did not check.
        out.problems.push(format!(
            "zip entries whose names differ only in letter case: {names}"
        ));
    }

    let mut hashes = HashCache::default();
    let mut parsed: Vec<(OfdSignature, Option<Element>)> = Vec::new();
    for l in &listed {
        parsed.push(read_one(&pkg, l, limits, &mut hashes));
    }

    // Files that belong to the signatures themselves are outside every signature's coverage.
    let mut infrastructure: BTreeSet<String> = lists.iter().cloned().collect();
    for (sig, el) in &mut parsed {
        sig.own_files.push(sig.base_loc.clone());
        if let Some(el) = el {
            let own = own_files(el, &sig.base_loc, &pkg);
            sig.own_files.extend(own.iter().map(|p| format!("/{p}")));
        }
        infrastructure.extend(sig.own_files.iter().map(|p| strip(p).to_owned()));
    }
    for (mut sig, el) in parsed {
        let covered: BTreeSet<String> = el
            .as_ref()
            .map(|el| referenced(el, &sig.base_loc, &pkg).into_iter().collect())
            .unwrap_or_default();
        sig.unreferenced = pkg
            .names()
            .into_iter()
            .filter(|n| !covered.contains(n) && !infrastructure.contains(n))
            .map(|n| format!("/{n}"))
            .collect();
        out.signatures.push(sig);
    }
    Ok(out)
}

/// The entry names that equal another but for letter case, joined for a message.
fn case_twins(names: &[String]) -> Option<String> {
    let mut by_lower: HashMap<String, Vec<&str>> = HashMap::new();
    for n in names {
        by_lower.entry(n.to_lowercase()).or_default().push(n);
    }
    let mut twins: Vec<String> = by_lower
        .into_values()
        .filter(|v| v.len() > 1)
        .map(|v| {
            v.iter()
                .map(|n| format!("/{n}"))
                .collect::<Vec<_>>()
                .join(" and ")
        })
        .collect();
    twins.sort();
    (!twins.is_empty()).then(|| twins.join("; "))
}

fn strip(p: &str) -> &str {
    p.strip_prefix('/').unwrap_or(p)
}

/// Digests already computed, so a hostile file with many references to one large entry costs
/// one hash per (file, algorithm).
#[derive(Default)]
struct HashCache(HashMap<(String, HashAlg), [u8; 32]>);

impl HashCache {
    fn get(&mut self, pkg: &Package, path: &str, alg: HashAlg) -> Result<[u8; 32], OfdError> {
        if let Some(h) = self.0.get(&(path.to_owned(), alg)) {
            return Ok(*h);
        }
        let bytes = pkg.read(path)?;
        let h = match alg {
            HashAlg::Sm3 => sm3(&bytes),
            HashAlg::Sha256 => sha256(&bytes),
        };
        self.0.insert((path.to_owned(), alg), h);
        Ok(h)
    }
}

/// Locate a file named inside `base` (see the module doc on relative paths).
fn locate(pkg: &Package, base: &str, reference: &str) -> Result<String, String> {
    let primary = resolve_path(base, reference).map_err(|e| e.to_string())?;
    let reference = reference.trim();
    if reference.starts_with(['/', '\\']) {
        return if pkg.contains(&primary) {
            Ok(primary)
        } else {
            Err(format!("missing file /{primary}"))
        };
    }
    let from_root = resolve_path("", reference)
        .ok()
        .filter(|p| *p != primary && pkg.contains(p));
    match (pkg.contains(&primary), from_root) {
        (true, None) => Ok(primary),
        (false, Some(root)) => Ok(root),
        (true, Some(root)) => Err(format!(
            "ambiguous path {reference:?}: both /{primary} and /{root} exist"
        )),
        (false, None) => Err(format!("missing file /{primary}")),
    }
}

/// Paths (normalised) of the files a Signature.xml names as its own: SignedValue and Seal.
fn own_files(el: &Element, base: &str, pkg: &Package) -> Vec<String> {
    let mut v = Vec::new();
    if let Some(p) = el
        .child_text("SignedValue")
        .and_then(|t| locate(pkg, base, &t).ok())
    {
        v.push(p);
    }
    let seal = el
        .child("SignedInfo")
        .and_then(|si| si.child("Seal"))
        .and_then(|s| s.child_text("BaseLoc"));
    if let Some(p) = seal.and_then(|t| locate(pkg, base, &t).ok()) {
        v.push(p);
    }
    v
}

fn referenced(el: &Element, base: &str, pkg: &Package) -> Vec<String> {
    let Some(refs) = el.child("SignedInfo").and_then(|si| si.child("References")) else {
        return Vec::new();
    };
    refs.children_named("Reference")
        .filter_map(|r| r.attr("FileRef"))
        .filter_map(|f| locate(pkg, base, f).ok())
        .collect()
}

fn read_one(
    pkg: &Package,
    listed: &Listed,
    limits: &Limits,
    hashes: &mut HashCache,
) -> (OfdSignature, Option<Element>) {
    let base = format!("/{}", listed.path);
    let mut sig = OfdSignature {
        id: listed.id.clone(),
        kind: *listed.kind.as_ref().unwrap_or(&SignatureKind::Seal),
        base_loc: base.clone(),
        signature_xml: Vec::new(),
        signed_value: Vec::new(),
        seal_esl: None,
        signature_method: None,
        signature_date_time: None,
        provider: None,
        unreferenced: Vec::new(),
        protected: Vec::new(),
        own_files: Vec::new(),
        checks: Vec::new(),
    };
    if let Err(t) = &listed.kind {
        sig.checks.push(Check::new(
            "signature.type",
            false,
            format!("unknown signature Type {t:?}"),
        ));
    }
    match pkg.read(&listed.path) {
        Ok(b) => sig.signature_xml = b,
        Err(e) => {
            sig.checks.push(Check::new(
                "signature.xml",
                false,
                format!("cannot read {base}: {e}"),
            ));
            return (sig, None);
        }
    }
    let el = match xml::parse(&sig.signature_xml, &base, limits.max_xml_depth) {
        Ok(el) if el.name == "Signature" => el,
        Ok(el) => {
            let detail = format!("{base}: root element is <{}>, not <Signature>", el.name);
            sig.checks.push(Check::new("signature.xml", false, detail));
            return (sig, None);
        }
        Err(e) => {
            sig.checks
                .push(Check::new("signature.xml", false, e.to_string()));
            return (sig, None);
        }
    };

    let info = el.child("SignedInfo");
    if let Some(info) = info {
        sig.signature_method = info.child_text("SignatureMethod");
        sig.signature_date_time = info.child_text("SignatureDateTime");
        sig.provider = info
            .child("Provider")
            .and_then(|p| p.attr("ProviderName"))
            .map(str::to_owned);
    } else {
        sig.checks
            .push(Check::new("signature.xml", false, "no <SignedInfo>"));
    }

    match el.child_text("SignedValue") {
        None => sig
            .checks
            .push(Check::new("signed_value", false, "no <SignedValue>")),
        Some(loc) => {
            match locate(pkg, &base, &loc).and_then(|p| pkg.read(&p).map_err(|e| e.to_string())) {
                Ok(b) => sig.signed_value = b,
                Err(e) => sig.checks.push(Check::new("signed_value", false, e)),
            }
        }
    }

    if let Some(seal) = info.and_then(|i| i.child("Seal")) {
        match seal.child_text("BaseLoc") {
            None => sig
                .checks
                .push(Check::new("seal.esl", false, "<Seal> without <BaseLoc>")),
            Some(loc) => match locate(pkg, &base, &loc)
                .and_then(|p| pkg.read(&p).map_err(|e| e.to_string()))
            {
                Ok(b) => sig.seal_esl = Some(b),
                Err(e) => sig.checks.push(Check::new("seal.esl", false, e)),
            },
        }
    }

    check_references(
        pkg,
        &base,
        info.and_then(|i| i.child("References")),
        hashes,
        &mut sig,
    );
    (sig, Some(el))
}

fn check_references(
    pkg: &Package,
    base: &str,
    refs: Option<&Element>,
    hashes: &mut HashCache,
    sig: &mut OfdSignature,
) {
    let checks = &mut sig.checks;
    let Some(refs) = refs else {
        checks.push(Check::new(
            "references.check_method",
            false,
            "no <References>: nothing is protected",
        ));
        return;
    };
    let method = refs.attr("CheckMethod").map(str::trim);
    let alg = method.and_then(HashAlg::from_check_method);
    let detail = match (method, alg) {
        (_, Some(a)) => format!("{} ({})", a.name(), method.unwrap_or_default()),
        (None, None) => "no CheckMethod attribute".to_owned(),
        (Some(m), None) => format!("unsupported CheckMethod {m:?}"),
    };
    checks.push(Check::new(
        "references.check_method",
        alg.is_some(),
        detail.clone(),
    ));
    let mut count = 0usize;
    for r in refs.children_named("Reference") {
        count += 1;
        let Some(file_ref) = r.attr("FileRef") else {
            checks.push(Check::new("reference:", false, "Reference without FileRef"));
            continue;
        };
        let (name, path) = match locate(pkg, base, file_ref) {
            Ok(p) => (format!("reference:/{p}"), Ok(p)),
            Err(e) => {
                let shown = resolve_path(base, file_ref)
                    .map_or_else(|_| file_ref.to_owned(), |p| format!("/{p}"));
                (format!("reference:{shown}"), Err(e))
            }
        };
        let path = match path {
            Ok(p) => p,
            Err(e) => {
                if e.starts_with("missing") {
                    sig.protected
                        .push((name["reference:".len()..].to_owned(), Protection::Missing));
                }
                checks.push(Check::new(name, false, e));
                continue;
            }
        };
        let Some(alg) = alg else {
            checks.push(Check::new(name, false, detail.clone()));
            continue;
        };
        let expected = r
            .child("CheckValue")
            .map(|c| c.text.split_whitespace().collect::<String>());
        let expected = match expected.as_deref().map(|t| B64.decode(t)) {
            None => {
                checks.push(Check::new(name, false, "no <CheckValue>"));
                continue;
            }
            Some(Err(_)) => {
                checks.push(Check::new(name, false, "CheckValue is not base64"));
                continue;
            }
            Some(Ok(v)) => v,
        };
        match hashes.get(pkg, &path, alg) {
            Ok(actual) if actual.as_slice() == expected.as_slice() => {
                sig.protected
                    .push((format!("/{path}"), Protection::Matches));
                checks.push(Check::new(name, true, format!("{} matches", alg.name())));
            }
            Ok(actual) => {
                let detail = format!(
                    "hash mismatch: CheckValue {}, {} of the file {}",
                    B64.encode(&expected),
                    alg.name(),
                    B64.encode(actual)
                );
                sig.protected
                    .push((format!("/{path}"), Protection::Changed));
                checks.push(Check::new(name, false, detail));
            }
            Err(e) => checks.push(Check::new(name, false, format!("cannot read file: {e}"))),
        }
    }
    if count == 0 {
        checks.push(Check::new(
            "references",
            false,
            "<References> is empty: nothing is protected",
        ));
    }
}
