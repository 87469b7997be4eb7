use super::*;
use crate::ofd::{OfdSignature, SignatureKind};
use crate::report::{SignatureIdentity, SignatureReport, Verdict};
use crate::verify::summary;

const TYPE: &str = "111000009000000146001";
const ISSUER: &str = "11370100004312345D";
const ISSUER_SEAL: &str = "aa11";

fn licence_id() -> String {
    LicenceId::new(TYPE, ISSUER, "20260101ABCDEF", 1)
        .expect("id")
        .to_string()
}

fn signature(fingerprint: &str, verdict: Verdict) -> SignatureReport {
    let mut s = SignatureReport::blank("ses-v4");
    s.intact = verdict != Verdict::Invalid;
    s.trusted = true;
    s.verdict = verdict;
    s.identity = Some(SignatureIdentity {
        signer_fingerprint: fingerprint.into(),
        signature_sha256: None,
    });
    s
}

fn claim(signed_by: Vec<usize>) -> LicenceClaim {
    LicenceClaim {
        id: licence_id(),
        type_code: TYPE.into(),
        issuer_uscc: ISSUER.into(),
        title: Some("营业执照".into()),
        signed_by,
        problem: None,
    }
}

fn report(signatures: Vec<SignatureReport>, claim: LicenceClaim) -> Report {
    Report {
        verdict: Verdict::Valid,
        validation_time: None,
        format: "ofd".into(),
        signatures,
        problems: Vec::new(),
        links: Vec::new(),
        licence: None,
        licence_claim: Some(claim),
    }
}

fn record(status: &'static str, code: &'static str, slot: &'static str) -> LicenceLookup {
    LicenceLookup::Known(Box::new(LicenceRecord {
        type_code: TYPE.into(),
        type_name: "营业执照".into(),
        issuer_id: "iss_1".into(),
        issuer_name: "济南市市场监督管理局".into(),
        issuer_uscc: ISSUER.into(),
        status,
        status_code: code,
        seal_fingerprints: vec![ISSUER_SEAL.into()],
        slot: LicenceSlot {
            id: "sl_1".into(),
            index: 7,
            uri: "/v1/status-lists/sl_1".into(),
            slot: slot.into(),
        },
        expected_slot: if status == "valid" {
            "valid"
        } else {
            "invalid"
        },
    }))
}

fn judged(mut r: Report, lookup: LicenceLookup) -> (Report, LicenceReport) {
    r.apply_licence(lookup);
    let l = r.licence.clone().expect("licence section");
    (r, l)
}

fn failed(l: &LicenceReport) -> Vec<&str> {
    l.checks
        .iter()
        .filter(|c| !c.ok)
        .map(|c| c.name.as_str())
        .collect()
}

#[test]
fn sealed_by_the_issuer_and_matching_the_record_is_confirmed() {
    let (_, l) = judged(
        report(vec![signature(ISSUER_SEAL, Verdict::Valid)], claim(vec![0])),
        record("valid", "01", "valid"),
    );
    assert!(l.confirmed, "{l:?}");
    assert_eq!(l.unconfirmed_reason, None);
    assert_eq!(l.sealed_by, Some(0));
    assert_eq!(
        (l.status.as_str(), l.status_code.as_deref()),
        ("valid", Some("01"))
    );
    assert_eq!(l.issuer.name.as_deref(), Some("济南市市场监督管理局"));
    assert!(failed(&l).is_empty(), "{l:?}");
}

#[test]
fn a_revoked_licence_keeps_the_verdict_and_says_revoked() {
    let (r, l) = judged(
        report(vec![signature(ISSUER_SEAL, Verdict::Valid)], claim(vec![0])),
        record("revoked", "07", "invalid"),
    );
    assert_eq!(r.verdict, Verdict::Valid);
    assert!(l.confirmed);
    assert_eq!(
        (l.status.as_str(), l.status_code.as_deref()),
        ("revoked", Some("07"))
    );
    let text = summary(&r);
    let first = text.lines().next().expect("line");
    assert!(first.starts_with("VALID: "), "{first}");
    assert!(first.ends_with("; licence REVOKED (07)"), "{first}");
    assert!(text.contains("  Status:     REVOKED (07)"), "{text}");
}

#[test]
fn another_seal_does_not_confirm() {
    let (r, l) = judged(
        report(vec![signature("bb22", Verdict::Valid)], claim(vec![0])),
        record("valid", "01", "valid"),
    );
    assert!(!l.confirmed);
    assert_eq!(
        l.unconfirmed_reason.as_deref(),
        Some("not_sealed_by_issuer")
    );
    assert_eq!(failed(&l), ["licence.issuer_seal"]);
    assert_eq!(l.sealed_by, None);
    assert!(
        summary(&r).lines().next().expect("line").ends_with(
            "; licence claim UNCONFIRMED (not_sealed_by_issuer); the named licence is VALID (01)"
        ),
        "{}",
        summary(&r)
    );
}

#[test]
fn an_invalid_issuer_signature_does_not_confirm() {
    let (_, l) = judged(
        report(
            vec![signature(ISSUER_SEAL, Verdict::Invalid)],
            claim(vec![0]),
        ),
        record("valid", "01", "valid"),
    );
    assert_eq!(
        l.unconfirmed_reason.as_deref(),
        Some("not_sealed_by_issuer")
    );
    let c = l
        .checks
        .iter()
        .find(|c| c.name == "licence.issuer_seal")
        .expect("check");
    assert!(c.detail.contains("signature 1: INVALID"), "{}", c.detail);
}

#[test]
fn metadata_no_signature_protects_is_not_signed() {
    // The issuer's seal is there, but not over the metadata as it is.
    let (_, l) = judged(
        report(
            vec![
                signature(ISSUER_SEAL, Verdict::Valid),
                signature("bb22", Verdict::Valid),
            ],
            claim(vec![1]),
        ),
        record("valid", "01", "valid"),
    );
    assert_eq!(l.unconfirmed_reason.as_deref(), Some("metadata_not_signed"));
    let (_, l) = judged(
        report(vec![signature(ISSUER_SEAL, Verdict::Valid)], claim(vec![])),
        record("valid", "01", "valid"),
    );
    assert_eq!(l.unconfirmed_reason.as_deref(), Some("metadata_not_signed"));
    assert!(failed(&l).contains(&"licence.metadata_signed"), "{l:?}");
}

#[test]
fn without_a_vault_the_status_is_unknown() {
    let (r, l) = judged(
        report(vec![signature(ISSUER_SEAL, Verdict::Valid)], claim(vec![0])),
        LicenceLookup::NoVault,
    );
    assert_eq!(l.unconfirmed_reason.as_deref(), Some("no_vault"));
    assert_eq!(
        (l.status.as_str(), l.status_code.as_deref()),
        ("unknown", None)
    );
    assert_eq!(
        l.type_name.as_deref(),
        Some("营业执照"),
        "the title stands in"
    );
    assert!(
        summary(&r)
            .lines()
            .next()
            .expect("line")
            .ends_with("; licence status unknown (no vault)")
    );
    let json = serde_json::to_value(&l).expect("json");
    assert_eq!(json["status"], "unknown");
    assert!(json.get("status_code").is_none(), "{json}");
}

#[test]
fn unknown_mismatched_ambiguous_and_malformed_claims() {
    let sealed = || vec![signature(ISSUER_SEAL, Verdict::Valid)];
    let (_, l) = judged(report(sealed(), claim(vec![0])), LicenceLookup::Unknown);
    assert_eq!(l.unconfirmed_reason.as_deref(), Some("unknown_licence"));

    let mut other_title = claim(vec![0]);
    other_title.title = Some("食品经营许可证".into());
    let (_, l) = judged(
        report(sealed(), other_title),
        record("valid", "01", "valid"),
    );
    assert_eq!(l.unconfirmed_reason.as_deref(), Some("mismatch"));
    assert_eq!(failed(&l), ["licence.matches_record"]);

    let mut other_issuer = claim(vec![0]);
    other_issuer.issuer_uscc = "91370100MA3C123459".into();
    let (_, l) = judged(
        report(sealed(), other_issuer),
        record("valid", "01", "valid"),
    );
    assert_eq!(l.unconfirmed_reason.as_deref(), Some("mismatch"));
    assert!(failed(&l).contains(&"licence.id"), "{l:?}");

    let mut twice = claim(vec![0]);
    twice.problem = Some("the CustomData 证照标识 is given 2 times".into());
    let (_, l) = judged(report(sealed(), twice), record("valid", "01", "valid"));
    assert_eq!(l.unconfirmed_reason.as_deref(), Some("ambiguous_metadata"));

    let mut bad = claim(vec![0]);
    let last = bad.id.pop().expect("check character");
    bad.id.push(if last == '0' { '1' } else { '0' });
    let (_, l) = judged(report(sealed(), bad), LicenceLookup::Unknown);
    assert_eq!(l.unconfirmed_reason.as_deref(), Some("invalid_id"));
}

#[test]
fn a_status_list_that_disagrees_is_shown_but_keeps_the_claim() {
    let (_, l) = judged(
        report(vec![signature(ISSUER_SEAL, Verdict::Valid)], claim(vec![0])),
        record("revoked", "07", "valid"),
    );
    assert!(l.confirmed);
    assert_eq!(failed(&l), ["licence.status_list"]);
}

#[test]
fn the_ofd_claim_comes_from_custom_data_and_counts_signatures_over_ofd_xml_as_it_is() {
    let sig = |state| OfdSignature {
        id: "s1".into(),
        kind: SignatureKind::Seal,
        base_loc: "/Doc_0/Signs/Sign_0/Signature.xml".into(),
        signature_xml: Vec::new(),
        signed_value: Vec::new(),
        seal_esl: None,
        signature_method: None,
        signature_date_time: None,
        provider: None,
        unreferenced: Vec::new(),
        protected: vec![("/OFD.xml".into(), state)],
        own_files: Vec::new(),
        checks: Vec::new(),
    };
    let mut found = OfdSignatures {
        signatures: vec![sig(Protection::Changed), sig(Protection::Matches)],
        custom_data: vec![
            ("证照标识".into(), licence_id()),
            ("证照类型代码".into(), TYPE.into()),
            ("颁发机构代码".into(), ISSUER.into()),
            ("其他".into(), "x".into()),
        ],
        titles: vec!["营业执照".into()],
        ..OfdSignatures::default()
    };
    let c = ofd_claim(&found).expect("claim");
    assert_eq!(c, claim(vec![1]));
    found
        .custom_data
        .push(("证照类型代码".into(), "111000009000000146002".into()));
    let c = ofd_claim(&found).expect("claim");
    assert!(
        c.problem
            .as_deref()
            .is_some_and(|p| p.contains("证照类型代码 is given 2 times")),
        "{c:?}"
    );
    found.custom_data.retain(|(n, _)| n != "证照标识");
    assert_eq!(ofd_claim(&found), None, "no 证照标识, no claim");
}
