//! A report as a person reads it, as DSS's simple report and pyHanko's executive summary: the
//! verdict first, then per signature the seal and its holder, who signed, when and by whose
//! clock, the trust anchor, revocation, what changed since, the vault's audit-log finding, and
//! the checks that failed by name. What `sidian verify` prints on a terminal; the JSON report
//! stays the contract.

use std::fmt::Write as _;

use super::audit::AUDIT_CHECK;
use super::clock::rfc3339;
use crate::report::{Check, LicenceReport, Report, SignatureReport, Verdict};

/// The summary of `report`, lines ending in `\n`; the first line is the verdict.
pub fn summary(report: &Report) -> String {
    let mut out = String::new();
    let count = report.signatures.len();
    let _ = write!(
        out,
        "{}: {} ({}, {count} signature{}",
        report.verdict.as_str(),
        meaning(report.verdict),
        report.format,
        if count == 1 { "" } else { "s" }
    );
    if let Some(t) = report.validation_time {
        let _ = write!(out, ", checked as of {}", rfc3339(t));
    }
    out.push(')');
    if let Some(l) = &report.licence {
        let _ = write!(out, "; {}", licence_headline(l));
    }
    out.push('\n');
    for (i, sig) in report.signatures.iter().enumerate() {
        out.push('\n');
        signature(&mut out, i + 1, count, sig);
    }
    if let Some(l) = &report.licence {
        out.push('\n');
        licence(&mut out, l);
    }
    if !report.problems.is_empty() {
        out.push_str("\nProblems:\n");
        for p in &report.problems {
            let _ = writeln!(out, "  - {p}");
        }
    }
    if !report.links.is_empty() {
        out.push_str("\nLinks a reader may open:\n");
        for l in &report.links {
            let _ = writeln!(out, "  - page {}: {}", l.page, l.uri);
        }
    }
    out
}

/// What a verdict means, in words.
fn meaning(v: Verdict) -> &'static str {
    match v {
        Verdict::Valid => "every signature is intact and its signer trusted",
        Verdict::ValidWithAllowedLaterChanges => {
            "valid; the document was changed after signing only in ways the signer allowed"
        }
        Verdict::ModifiedAfterSealing => {
            "the signatures are intact, but the document was changed after sealing"
        }
        Verdict::Invalid => "a signature, hash, format or policy check failed",
        Verdict::Untrusted => "intact, but a signer does not chain to a trusted anchor",
        Verdict::Indeterminate => "could not be decided",
    }
}

/// A handwritten signature's evidence and signer, as one line.
fn handwriting(hw: &crate::report::Handwriting) -> String {
    let mut text = match hw.evidence.as_str() {
        "matched" => "the pen capture kept as evidence matches what was signed".to_owned(),
        "mismatch" => "the pen capture kept as evidence does NOT match what was signed".to_owned(),
        "missing" => "no pen capture is kept for this signature".to_owned(),
        _ => "the pen capture was not checked (no vault knows the signer)".to_owned(),
    };
    if let (Some(signer), Some(how)) = (&hw.signer, &hw.verified_by) {
        let _ = write!(text, "; signer {signer}, identity verified by {how}");
    }
    if let Some(at) = hw.cancelled_at {
        let before = if hw.signed_before_cancellation == Some(true) {
            "signed before"
        } else {
            "NOT signed before"
        };
        let _ = write!(text, "; cancelled {}, {before} that", rfc3339(at));
    }
    text
}

fn signature(out: &mut String, n: usize, of: usize, sig: &SignatureReport) {
    let _ = writeln!(
        out,
        "Signature {n} of {of} ({}): {}",
        sig.kind,
        sig.verdict.as_str()
    );
    let mut line = |label: &str, text: &str| {
        let _ = writeln!(out, "  {:<11} {text}", format!("{label}:"));
    };
    if let Some(seal) = &sig.seal {
        let mut text = seal.name.clone();
        if let Some(holder) = &seal.holder {
            let _ = write!(text, ", held by {holder}");
        }
        if let Some(id) = &seal.holder_id {
            let _ = write!(text, " ({id})");
        }
        if let Some(es_id) = &seal.es_id {
            let _ = write!(text, ", esID {es_id}");
        }
        line("Seal", &text);
    }
    match (&sig.signer_name, &sig.signer) {
        (Some(name), Some(dn)) if name != dn => line("Signer", &format!("{name} [{dn}]")),
        (_, Some(dn)) => line("Signer", dn),
        _ => line("Signer", "unknown"),
    }
    line(
        "Signed at",
        &match (sig.signed_at, sig.signed_at_source) {
            (Some(t), Some(source)) => format!("{}, from {}", rfc3339(t), source.describe()),
            (Some(t), None) => rfc3339(t),
            (None, _) => "unknown".to_owned(),
        },
    );
    line(
        "Integrity",
        if sig.intact { "intact" } else { "NOT intact" },
    );
    line(
        "Trust",
        &match (&sig.trust_anchor, sig.trusted) {
            (Some(anchor), _) => format!("chains to the trust anchor {anchor}"),
            (None, true) => "trusted".to_owned(),
            (None, false) => "NOT trusted: no valid chain to a trust anchor".to_owned(),
        },
    );
    line("Revocation", &revocation(sig));
    if let Some(changes) = changes(&sig.checks) {
        line("Since", &changes);
    }
    if let Some(audit) = find(&sig.checks, |name| name == AUDIT_CHECK) {
        line("Audit log", &audit.detail);
    }
    if let Some(hw) = &sig.handwriting {
        line("Handwriting", &handwriting(hw));
    }
    for w in &sig.warnings {
        line("Warning", &format!("{}: {}", w.name, w.detail));
    }
    let failed: Vec<&Check> = sig.checks.iter().filter(|c| !c.ok).collect();
    if !failed.is_empty() {
        line("Failed", &format!("{} check(s)", failed.len()));
        for c in failed {
            let _ = writeln!(out, "    - {}: {}", c.name, c.detail);
        }
    }
}

/// The licence in a few words for the first line: its status when the claim is confirmed.
fn licence_headline(l: &LicenceReport) -> String {
    let status = status_text(l);
    match &l.unconfirmed_reason {
        None => format!("licence {status}"),
        Some(reason) if reason == "no_vault" => "licence status unknown (no vault)".into(),
        Some(reason) if l.status_code.is_some() => {
            format!("licence claim UNCONFIRMED ({reason}); the named licence is {status}")
        }
        Some(reason) => format!("licence claim UNCONFIRMED ({reason})"),
    }
}

/// The status and its national code, e.g. `REVOKED (07)`.
fn status_text(l: &LicenceReport) -> String {
    match &l.status_code {
        Some(code) => format!("{} ({code})", l.status.to_uppercase()),
        None if l.unconfirmed_reason.as_deref() == Some("no_vault") => {
            "unknown (no vault)".to_owned()
        }
        None => l.status.to_uppercase(),
    }
}

fn licence(out: &mut String, l: &LicenceReport) {
    let _ = writeln!(out, "Licence {}", l.id);
    let mut line = |label: &str, text: &str| {
        let _ = writeln!(out, "  {:<11} {text}", format!("{label}:"));
    };
    line(
        "Type",
        &match &l.type_name {
            Some(name) => format!("{name} ({})", l.type_code),
            None => l.type_code.clone(),
        },
    );
    line(
        "Issuer",
        &match (&l.issuer.name, &l.issuer.id) {
            (Some(name), Some(id)) => format!("{name} ({}), issuer {id}", l.issuer.uscc),
            _ => l.issuer.uscc.clone(),
        },
    );
    line(
        "Claim",
        &match (&l.unconfirmed_reason, l.sealed_by) {
            (None, Some(i)) => format!(
                "confirmed: sealed by the issuer's licence seal (signature {})",
                i + 1
            ),
            (None, None) => "confirmed".to_owned(),
            (Some(reason), _) => format!("UNCONFIRMED ({reason})"),
        },
    );
    line("Status", &status_text(l));
    if let Some(slot) = &l.status_list {
        line(
            "Status list",
            &format!("{} slot {}: {}", slot.uri, slot.index, slot.slot),
        );
    }
    let failed: Vec<&Check> = l.checks.iter().filter(|c| !c.ok).collect();
    if !failed.is_empty() {
        line("Failed", &format!("{} check(s)", failed.len()));
        for c in failed {
            let _ = writeln!(out, "    - {}: {}", c.name, c.detail);
        }
    }
}

fn find(checks: &[Check], name: impl Fn(&str) -> bool) -> Option<&Check> {
    checks.iter().find(|c| name(&c.name))
}

/// The signer's revocation status: the revocation time when revoked (and whether the signature
/// predates it), otherwise the leaf's `chain.revocation` check (`timestamp.*` is the TSA's).
fn revocation(sig: &SignatureReport) -> String {
    if let Some(at) = sig.revoked_at {
        // `signer_chain.revocation` (`signature.signer_chain.revocation` for SES) judges the
        // revocation against the signing time; `….chain.revocation` is the status alone.
        let before_signing =
            find(&sig.checks, |n| n.ends_with("_chain.revocation")).is_some_and(|c| !c.ok);
        return if before_signing {
            format!("REVOKED at {}, not after the signing time", rfc3339(at))
        } else {
            format!(
                "revoked at {}, after the signing time: the signature stands",
                rfc3339(at)
            )
        };
    }
    find(&sig.checks, |n| {
        n.ends_with(".chain.revocation") && !n.starts_with("timestamp.")
    })
    .map_or_else(|| "not checked".to_owned(), |c| c.detail.clone())
}

/// What changed after signing: the later-change analysis (PDF, OFD), or the references.
fn changes(checks: &[Check]) -> Option<String> {
    if let Some(c) = find(checks, |n| {
        n == "pdf.later_changes" || n == "ofd.later_changes"
    }) {
        return Some(c.detail.clone());
    }
    let references: Vec<&Check> = checks
        .iter()
        .filter(|c| c.name.starts_with("reference:"))
        .collect();
    if references.is_empty() {
        return None;
    }
    let changed: Vec<&str> = references
        .iter()
        .filter(|c| !c.ok)
        .map(|c| c.name.trim_start_matches("reference:"))
        .collect();
    Some(if changed.is_empty() {
        format!(
            "no change: all {} protected files unchanged",
            references.len()
        )
    } else {
        format!("CHANGED after sealing: {}", changed.join(", "))
    })
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::report::{DocumentLink, SealSummary, TimeSource};

    fn pdf_seal() -> SignatureReport {
        let mut s = SignatureReport::blank("pdf-cades");
        s.intact = true;
        s.trusted = true;
        s.verdict = Verdict::ValidWithAllowedLaterChanges;
        s.signer = Some(
            "CN=某某有限公司,serialNumber=91370406L24894136J,OU=合同专用章,O=某某有限公司,C=CN"
                .into(),
        );
        s.signer_name = Some("某某有限公司".into());
        s.seal = Some(SealSummary {
            name: "合同专用章".into(),
            holder: Some("某某有限公司".into()),
            holder_id: Some("91370406L24894136J".into()),
            es_id: None,
            version: None,
        });
        s.signed_at = Some(datetime!(2026-03-01 08:00 UTC));
        s.signed_at_source = Some(TimeSource::TimeStamp);
        s.trust_anchor = Some("CN=sidian SM2 root,C=CN".into());
        s.checks = vec![
            Check::new("signer_chain.chain.revocation", true, "not revoked"),
            Check::new(
                "pdf.later_changes",
                true,
                "allowed: a later signature in field Seal2",
            ),
            Check::new(
                AUDIT_CHECK,
                true,
                "this vault recorded making this signature in audit entry 7",
            ),
        ];
        s
    }

    #[test]
    fn a_handwritten_signature_says_what_its_evidence_and_signer_are() {
        let mut s = pdf_seal();
        s.kind = "pdf-handwritten".into();
        s.seal = None;
        s.handwriting = Some(crate::report::Handwriting {
            digest_alg: "sha256".into(),
            capture_digest: "00".repeat(32),
            consent_digest: "11".repeat(32),
            signer: Some("张*".into()),
            verified_by: Some("face".into()),
            evidence: "matched".into(),
            signer_status: Some("cancelled".into()),
            cancelled_at: Some(datetime!(2026-03-05 10:00 UTC)),
            signed_before_cancellation: Some(true),
        });
        let text = summary(&report(Verdict::Valid, vec![s]));
        assert!(
            text.contains(
                "Handwriting: the pen capture kept as evidence matches what was signed; signer 张*, \
                 identity verified by face; cancelled 2026-03-05T10:00:00Z, signed before that"
            ),
            "{text}"
        );
    }

    fn report(verdict: Verdict, signatures: Vec<SignatureReport>) -> Report {
        Report {
            verdict,
            validation_time: Some(datetime!(2026-03-02 09:30 UTC)),
            format: "pdf".into(),
            signatures,
            problems: Vec::new(),
            links: Vec::new(),
            licence: None,
            licence_claim: None,
        }
    }

    #[test]
    fn verdict_names_are_the_json_names() {
        for v in [
            Verdict::Valid,
            Verdict::ValidWithAllowedLaterChanges,
            Verdict::ModifiedAfterSealing,
            Verdict::Invalid,
            Verdict::Untrusted,
            Verdict::Indeterminate,
        ] {
            assert_eq!(serde_json::to_value(v).expect("json"), v.as_str());
        }
    }

    #[test]
    fn verdict_first_then_seal_time_trust_revocation_changes_audit() {
        let text = summary(&report(
            Verdict::ValidWithAllowedLaterChanges,
            vec![pdf_seal()],
        ));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "VALID_WITH_ALLOWED_LATER_CHANGES: valid; the document was changed after signing only \
             in ways the signer allowed (pdf, 1 signature, checked as of 2026-03-02T09:30:00Z)"
        );
        for expected in [
            "Signature 1 of 1 (pdf-cades): VALID_WITH_ALLOWED_LATER_CHANGES",
            "  Seal:       合同专用章, held by 某某有限公司 (91370406L24894136J)",
            "  Signed at:  2026-03-01T08:00:00Z, from the time-stamp",
            "  Trust:      chains to the trust anchor CN=sidian SM2 root,C=CN",
            "  Revocation: not revoked",
            "  Since:      allowed: a later signature in field Seal2",
            "  Audit log:  this vault recorded making this signature in audit entry 7",
        ] {
            assert!(
                lines.contains(&expected),
                "{expected:?} missing in:\n{text}"
            );
        }
        let signer = lines
            .iter()
            .find(|l| l.starts_with("  Signer:"))
            .expect("signer line");
        assert!(
            signer.contains("某某有限公司 [CN=某某有限公司,"),
            "{signer}"
        );
        assert!(!text.contains("Failed"), "nothing failed:\n{text}");
    }

    #[test]
    fn failing_checks_untrusted_and_revoked_before_signing_are_named() {
        let mut s = pdf_seal();
        s.verdict = Verdict::Invalid;
        s.trusted = false;
        s.trust_anchor = None;
        s.revoked_at = Some(datetime!(2026-02-01 00:00 UTC));
        s.checks.push(Check::new(
            "signer_chain.revocation",
            false,
            "revoked at 2026-02-01T00:00:00Z, NOT strictly after the signing time",
        ));
        s.checks.push(Check::new(
            "signer_chain.chain.path",
            false,
            "no path to a trust anchor",
        ));
        let mut r = report(Verdict::Invalid, vec![s]);
        r.problems.push("signature 1: something".into());
        r.links.push(DocumentLink {
            page: 2,
            uri: "https://example.org/".into(),
        });
        let text = summary(&r);
        assert!(text.starts_with("INVALID: "), "{text}");
        for expected in [
            "  Trust:      NOT trusted: no valid chain to a trust anchor",
            "  Revocation: REVOKED at 2026-02-01T00:00:00Z, not after the signing time",
            "  Failed:     2 check(s)",
            "    - signer_chain.revocation: revoked at 2026-02-01T00:00:00Z, NOT strictly after the signing time",
            "    - signer_chain.chain.path: no path to a trust anchor",
            "  - signature 1: something",
            "  - page 2: https://example.org/",
        ] {
            assert!(
                text.lines().any(|l| l == expected),
                "{expected:?} missing in:\n{text}"
            );
        }
    }

    #[test]
    fn missing_original_and_ofd_references_show() {
        let mut s = SignatureReport::blank("ses-v4");
        s.intact = true;
        s.verdict = Verdict::Indeterminate;
        s.signed_at = Some(datetime!(2026-03-01 08:00 UTC));
        s.signed_at_source = Some(TimeSource::TimeInfo);
        s.seal = Some(SealSummary {
            name: "某某有限公司合同专用章".into(),
            holder: Some("某某有限公司".into()),
            holder_id: None,
            es_id: Some("37040600000001".into()),
            version: Some(4),
        });
        s.checks = vec![
            Check::new("reference:/Doc_0/Document.xml", true, "digest matches"),
            Check::new(
                "reference:/Doc_0/Pages/Page_0/Content.xml",
                false,
                "digest differs",
            ),
            Check::new(
                "signature.data_hash",
                false,
                "original_missing: not supplied",
            ),
        ];
        let mut r = report(Verdict::Indeterminate, vec![s]);
        r.format = "ses-signature".into();
        let text = summary(&r);
        assert!(
            text.starts_with("INDETERMINATE: could not be decided (ses-signature,"),
            "{text}"
        );
        for expected in [
            "  Seal:       某某有限公司合同专用章, held by 某某有限公司, esID 37040600000001",
            "  Signer:     unknown",
            "  Signed at:  2026-03-01T08:00:00Z, from the signature's timeInfo",
            "  Integrity:  intact",
            "  Since:      CHANGED after sealing: /Doc_0/Pages/Page_0/Content.xml",
            "    - signature.data_hash: original_missing: not supplied",
        ] {
            assert!(
                text.lines().any(|l| l == expected),
                "{expected:?} missing in:\n{text}"
            );
        }
    }
}
