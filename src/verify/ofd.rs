//! OFD documents: every §18 signature verified, then what changed after each one judged.
//!
//! An OFD has no revisions: what a later signature changed is read from the references.
//! For each signature, in signing order (`Signatures.xml` order):
//! - a protected file that is gone, or whose hash no longer matches and that no later valid
//!   signature explains, is evidence: `MODIFIED_AFTER_SEALING`, the file named in
//!   `ofd.later_changes`;
//! - explained, and listed in `ofd.later_changes` as allowed (`VALID_WITH_ALLOWED_LATER_CHANGES`):
//!   a signature list (`Signatures.xml`) that changed when a later valid signature added
//!   itself, any other protected file that changed and a later valid signature protects as it
//!   is now (`OFD.xml` gaining its `Signatures` entry, an annotation file), the later
//!   signatures' own folders, and files only a later valid signature protects;
//! - files no signature protects, with no evidence that they changed, keep the verdict and
//!   are named in a warning: `ofd.coverage_displayed` for displayed content ([`displayed`]),
//!   `ofd.coverage` for the rest;
//! - when `OFD.xml` is not protected as it is, its `DocRoot` must still lead to a
//!   `Document.xml` the signature protects (`ofd.doc_root`); otherwise the reader is shown
//!   another document: `MODIFIED_AFTER_SEALING`.
//!
//! A later signature is valid here when it is intact and trusted and its own verdict is
//! `VALID` or `VALID_WITH_ALLOWED_LATER_CHANGES`; later signatures are judged first.

use std::collections::HashSet;

use time::OffsetDateTime;

use super::clock::{not_in_future, revocation_check};
use super::document::{Format, fold, invalid};
use super::ses::{Original, Verifier, unreadable};
use crate::ofd::{self, Limits, OfdSignature, OfdSignatures, Protection, SignatureKind};
use crate::pki::{Certificate, Usage};
use crate::report::{
    Check, Report, SignatureIdentity, SignatureReport, TimeSource, Verdict, Warning,
};
use crate::ses::Signature;

impl Verifier {
    /// Verifies every signature of an OFD package (GB/T 33190 §18) and judges what changed
    /// after each one (see the module documentation). The document takes the worst verdict,
    /// except that a signature whose later changes are only later signatures valid for the
    /// document counts as VALID, as for PDF.
    pub fn verify_ofd(&self, bytes: &[u8], now: OffsetDateTime) -> Report {
        let found = match ofd::read_signatures(bytes, &Limits::default()) {
            Ok(f) => f,
            Err(e) => return invalid("ofd", format!("unreadable OFD package: {e}")),
        };
        let mut signatures: Vec<SignatureReport> = found
            .signatures
            .iter()
            .map(|s| self.ofd_signature(s, now))
            .collect();
        let for_document = judge_later(&found, &mut signatures);
        let claim = super::licence::ofd_claim(&found);
        let mut report = fold(Format::Ofd, signatures, found.problems);
        report.licence_claim = claim;
        if !report.signatures.is_empty() {
            report.verdict = report
                .signatures
                .iter()
                .zip(&for_document)
                .fold(Verdict::Valid, |v, (s, &as_valid)| {
                    v.worst(if as_valid { Verdict::Valid } else { s.verdict })
                });
        }
        report
    }

    fn ofd_signature(&self, s: &OfdSignature, now: OffsetDateTime) -> SignatureReport {
        let mut report = match s.kind {
            SignatureKind::Seal => match Signature::from_der(&s.signed_value) {
                Ok(sig) => {
                    let mut r = self.verify_parsed(&sig, Original::Data(&s.signature_xml), now);
                    if let Some(esl) = &s.seal_esl {
                        let same = esl.as_slice() == sig.seal().der();
                        r.checks.push(Check::new(
                            "ofd.seal_esl",
                            same,
                            if same {
                                "Seal.esl equals TBS_Sign.eseal"
                            } else {
                                "Seal.esl differs from TBS_Sign.eseal"
                            },
                        ));
                        if !same {
                            r.intact = false;
                            r.verdict = Verdict::Invalid;
                        }
                    }
                    r
                }
                Err(e) => unreadable("ses", "signature.format", &format!("SignedValue: {e}")),
            },
            SignatureKind::Sign => self.ofd_cms(s, now),
        };
        // A protected file changed or gone is judged with the later signatures
        // ([`judge_later`]); any other failing reference check (no CheckValue, an ambiguous
        // path …) leaves nothing to compare against.
        let judged_later: HashSet<String> = s
            .protected
            .iter()
            .filter(|(_, p)| *p != Protection::Matches)
            .map(|(f, _)| format!("reference:{f}"))
            .collect();
        if !s
            .checks
            .iter()
            .all(|c| c.ok || judged_later.contains(&c.name))
        {
            report.intact = false;
            report.verdict = report.verdict.worst(Verdict::ModifiedAfterSealing);
        }
        let mut checks = Vec::with_capacity(s.checks.len() + report.checks.len() + 1);
        checks.push(Check::new(
            "ofd.signature",
            true,
            format!("Signature ID {} at {}", s.id, s.base_loc),
        ));
        checks.extend(s.checks.iter().cloned());
        checks.append(&mut report.checks);
        report.checks = checks;
        report
    }

    fn ofd_cms(&self, s: &OfdSignature, now: OffsetDateTime) -> SignatureReport {
        let cms = ofd::verify_sign_cms(&s.signed_value, &s.signature_xml);
        let mut report = SignatureReport::blank("ofd-sign-cms");
        report.intact = cms.checks.iter().all(|c| c.ok);
        report.signed_at = cms.signed_at;
        report.checks = cms.checks;
        let mut refused = false;
        if let Some(t) = cms.signed_at {
            let c = not_in_future("cms.signing_time_not_in_future", "signingTime", t, now);
            refused |= !c.ok;
            report.checks.push(c);
        }
        if let Some(der) = &cms.signer_cert {
            match Certificate::from_der(der) {
                Ok(cert) => {
                    report.set_signer(&cert);
                    // The vault never makes Type="Sign" CMS: no signature value to look up.
                    report.identity = Some(SignatureIdentity {
                        signer_fingerprint: cert.fingerprint_sha256(),
                        signature_sha256: None,
                    });
                    let (at, source) = match cms.signed_at {
                        Some(t) => (t, TimeSource::SigningTime),
                        None => (now, TimeSource::VerificationTime),
                    };
                    report.signed_at_source = Some(source);
                    let v = crate::pki::validate(
                        &cert,
                        &[],
                        self.trust(),
                        at,
                        Usage::Signing,
                        self.revocations(),
                    );
                    report.trusted = v.trusted;
                    report.trust_anchor = v.chain.last().filter(|_| v.trusted).cloned();
                    report.revoked_at = v.revoked_at;
                    report.checks.extend(
                        v.checks.into_iter().map(|c| {
                            Check::new(format!("signer_chain.{}", c.name), c.ok, c.detail)
                        }),
                    );
                    if let Some(revoked) = v.revoked_at {
                        let c = revocation_check("signer_chain.revocation", at, revoked);
                        refused |= !c.ok;
                        report.checks.push(c);
                    }
                }
                Err(e) => {
                    report.intact = false;
                    report.checks.push(Check::new(
                        "signer_chain.certificate",
                        false,
                        e.to_string(),
                    ));
                }
            }
        }
        report.verdict = if !report.intact || refused {
            Verdict::Invalid
        } else if !report.trusted {
            Verdict::Untrusted
        } else {
            Verdict::Valid
        };
        report
    }
}

/// Judges what changed after each signature, later signatures first; says for each whether
/// it counts as VALID for the document.
fn judge_later(found: &OfdSignatures, reports: &mut [SignatureReport]) -> Vec<bool> {
    let sigs = &found.signatures;
    let n = reports.len();
    let mut sound = vec![false; n];
    let mut for_document = vec![false; n];
    for i in (0..n).rev() {
        let s = &sigs[i];
        let vouched = |path: &str| {
            (i + 1..n)
                .find(|&j| sound[j] && protection(&sigs[j], path) == Some(Protection::Matches))
        };
        let mut allowed = Vec::new();
        let mut disallowed = Vec::new();
        for j in i + 1..n {
            allowed.push(format!(
                "signature ID {} added at {}{}",
                sigs[j].id,
                sigs[j].base_loc,
                if sound[j] {
                    ""
                } else {
                    " (not valid itself: see its verdict)"
                }
            ));
        }
        let report = &mut reports[i];
        for (path, state) in &s.protected {
            let why = match state {
                Protection::Matches => continue,
                Protection::Missing => None,
                Protection::Changed
                    if found.lists.contains(path) && sound[i + 1..].contains(&true) =>
                {
                    Some(format!(
                        "{path} changed: later signatures added themselves to the list"
                    ))
                }
                Protection::Changed => vouched(path).map(|j| {
                    format!(
                        "{path} changed, and the later signature ID {} protects it as it is now",
                        sigs[j].id
                    )
                }),
            };
            match why {
                Some(why) => {
                    if let Some(c) = report
                        .checks
                        .iter_mut()
                        .find(|c| c.name == format!("reference:{path}"))
                    {
                        c.ok = true;
                        c.detail = format!("{}; allowed: {why}", c.detail);
                    }
                    allowed.push(why);
                }
                None if *state == Protection::Missing => {
                    disallowed.push(format!("{path}, which this signature protects, is gone"));
                }
                None => disallowed.push(format!("{path} changed after sealing")),
            }
        }
        let mut gaps = (Vec::new(), Vec::new());
        for path in &s.unreferenced {
            if let Some(j) = vouched(path) {
                allowed.push(format!(
                    "{path} is protected by the later signature ID {}",
                    sigs[j].id
                ));
            } else if !sigs
                .iter()
                .any(|o| protection(o, path) == Some(Protection::Matches))
            {
                if displayed(path) {
                    &mut gaps.0
                } else {
                    &mut gaps.1
                }
                .push(path.as_str());
            }
        }
        if protection(s, "/OFD.xml") != Some(Protection::Matches) {
            let check = doc_root_check(s, &found.doc_roots);
            if !check.ok {
                disallowed.push(check.detail.clone());
            }
            report.checks.push(check);
        }
        if !gaps.0.is_empty() {
            report.warnings.push(Warning {
                name: "ofd.coverage_displayed".into(),
                detail: format!(
                    "displayed content no signature protects (a reader sees it, nothing shows \
                     whether it changed): {}",
                    gaps.0.join(", ")
                ),
            });
        }
        if !gaps.1.is_empty() {
            report.warnings.push(Warning {
                name: "ofd.coverage".into(),
                detail: format!("files no signature protects: {}", gaps.1.join(", ")),
            });
        }
        report.checks.push(later_check(&allowed, &disallowed));
        if !disallowed.is_empty() {
            report.intact = false;
            report.verdict = report.verdict.worst(Verdict::ModifiedAfterSealing);
        } else if report.verdict == Verdict::Valid && !allowed.is_empty() {
            report.verdict = Verdict::ValidWithAllowedLaterChanges;
        }
        sound[i] = report.intact
            && report.trusted
            && matches!(
                report.verdict,
                Verdict::Valid | Verdict::ValidWithAllowedLaterChanges
            );
        for_document[i] = match report.verdict {
            Verdict::Valid => true,
            Verdict::ValidWithAllowedLaterChanges => for_document[i + 1..].iter().all(|&v| v),
            _ => false,
        };
    }
    for_document
}

/// What became of `path` for signature `s`, if it protects it.
fn protection(s: &OfdSignature, path: &str) -> Option<Protection> {
    s.protected.iter().find(|(p, _)| p == path).map(|(_, p)| *p)
}

/// `ofd.doc_root`: every `DocRoot` of `OFD.xml` names a `Document.xml` the signature protects.
fn doc_root_check(s: &OfdSignature, roots: &[String]) -> Check {
    let unprotected: Vec<&str> = roots
        .iter()
        .filter(|r| protection(s, r) != Some(Protection::Matches))
        .map(String::as_str)
        .collect();
    if roots.is_empty() {
        Check::new("ofd.doc_root", false, "OFD.xml names no DocRoot")
    } else if unprotected.is_empty() {
        Check::new(
            "ofd.doc_root",
            true,
            format!(
                "OFD.xml is not protected as it is, but its DocRoot leads to the protected {}",
                roots.join(", ")
            ),
        )
    } else {
        Check::new(
            "ofd.doc_root",
            false,
            format!(
                "OFD.xml's DocRoot leads to {}, which this signature does not protect as it is",
                unprotected.join(", ")
            ),
        )
    }
}

/// Whether a package file is displayed content: pages, template pages, annotations and
/// resources by their folders (`Pages/`, `Tpls/`, `Annots/`, `Res/`), the files that list
/// them (`Document.xml`, `PublicRes.xml`, `DocumentRes.xml`, `Annotations.xml`), fonts and
/// images by their extensions.
fn displayed(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    let name = lower.rsplit('/').next().unwrap_or_default();
    let ext = name.rsplit_once('.').map_or("", |(_, e)| e);
    ["/pages/", "/tpls/", "/annots/", "/res/"]
        .iter()
        .any(|d| lower.contains(d))
        || matches!(
            name,
            "document.xml" | "publicres.xml" | "documentres.xml" | "annotations.xml"
        )
        || matches!(
            ext,
            "ttf"
                | "otf"
                | "ttc"
                | "woff"
                | "woff2"
                | "png"
                | "jpg"
                | "jpeg"
                | "bmp"
                | "gif"
                | "tif"
                | "tiff"
                | "svg"
                | "jb2"
        )
}

/// `ofd.later_changes`: passes when nothing disallowed happened after the signature.
fn later_check(allowed: &[String], disallowed: &[String]) -> Check {
    let mut parts = Vec::new();
    if !disallowed.is_empty() {
        parts.push(format!("NOT allowed: {}", disallowed.join("; ")));
    }
    if !allowed.is_empty() {
        parts.push(format!("allowed: {}", allowed.join("; ")));
    }
    if parts.is_empty() {
        parts.push("no changes after signing".into());
    }
    Check::new("ofd.later_changes", disallowed.is_empty(), parts.join(". "))
}

#[cfg(test)]
mod tests;
