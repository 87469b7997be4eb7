#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::testutil::*;
use super::*;
use crate::crypto::{SignatureAlgorithm, sm3};

const DOC_REF: &str = "reference:/Doc_0/Document.xml";

fn read(bytes: &[u8]) -> Result<OfdSignatures, OfdError> {
    read_signatures(bytes, &Limits::default())
}

fn check<'a>(sig: &'a OfdSignature, name: &str) -> &'a Check {
    sig.checks
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no check {name}: {:#?}", sig.checks))
}

#[test]
fn v4signed_fixture() {
    let bytes = v4signed();
    assert!(is_ofd(&bytes));
    let found = read(&bytes).unwrap();
    assert!(found.problems.is_empty(), "{:?}", found.problems);
    assert_eq!(found.signatures.len(), 1);
    let sig = &found.signatures[0];
    assert_eq!(sig.id, "1");
    assert_eq!(sig.kind, SignatureKind::Seal);
    assert_eq!(sig.base_loc, "/Doc_0/Signs/Sign_0/Signature.xml");
    assert!(sig.checks.iter().all(|c| c.ok), "{:#?}", sig.checks);
    assert_eq!(
        sig.checks
            .iter()
            .filter(|c| c.name.starts_with("reference:"))
            .count(),
        13
    );
    assert!(check(sig, DOC_REF).ok);
    assert!(check(sig, "references.check_method").ok);
    assert!(sig.unreferenced.is_empty(), "{:?}", sig.unreferenced);
    // The reference hash the fixture's README quotes.
    let pkg = Package::open(&bytes, &Limits::default()).unwrap();
    let doc = pkg.read("/Doc_0/Document.xml").unwrap();
    use base64::Engine;
    assert_eq!(
        base64::engine::general_purpose::STANDARD.encode(sm3(&doc)),
        "irDUTKhO4arvN+6OVL2oJiRAQs+UTDrvc+kQh6P+PYY="
    );
    assert_eq!(&sig.signed_value[..4], &[0x30, 0x82, 0x19, 0x23]);
    assert_eq!(sig.signed_value.len(), 0x1923 + 4);
    // This fixture has no Seal.esl: the seal is inside the SES_Signature only.
    assert!(sig.seal_esl.is_none());
    assert_eq!(
        hex::encode(sm3(&sig.signature_xml)),
        "14859b925039a50fe268d40e4a903da44d64cc56b1eebd0902d45a5a41a134b5"
    );
    assert_eq!(sig.signature_method.as_deref(), Some("1.2.156.10197.1.501"));
    assert_eq!(sig.signature_date_time.as_deref(), Some("20201010151120"));
    assert_eq!(sig.provider.as_deref(), Some("gomain_eseal"));
    assert_eq!(pkg.names().len(), 16);
}

#[test]
fn tampered_document_fails_its_reference() {
    let bytes = rewrite_zip(&v4signed(), "Doc_0/Document.xml", |d| d[100] ^= 1);
    let sig = &read(&bytes).unwrap().signatures[0];
    let c = check(sig, DOC_REF);
    assert!(!c.ok);
    assert!(c.detail.contains("hash mismatch"), "{}", c.detail);
    let failing: Vec<_> = sig
        .checks
        .iter()
        .filter(|c| !c.ok)
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(failing, [DOC_REF]);
}

#[test]
fn added_file_is_unreferenced_and_missing_file_fails_reference() {
    let bytes = with_entries(
        &v4signed(),
        &[("Doc_0/Pages/Page_1/Content.xml", b"<Page/>")],
    );
    let sig = &read(&bytes).unwrap().signatures[0];
    assert_eq!(sig.unreferenced, ["/Doc_0/Pages/Page_1/Content.xml"]);
    assert!(
        sig.protected.iter().all(|(_, p)| *p == Protection::Matches),
        "{:?}",
        sig.protected
    );

    let entries: Vec<_> = unzip(&v4signed())
        .into_iter()
        .filter(|(n, _)| n != "Doc_0/Res/qr.png")
        .collect();
    let refs: Vec<(&str, &[u8])> = entries
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice()))
        .collect();
    let sig = &read(&build_zip(&refs)).unwrap().signatures[0];
    let c = check(sig, "reference:/Doc_0/Res/qr.png");
    assert!(!c.ok && c.detail.contains("missing"), "{}", c.detail);
    assert!(
        sig.protected
            .contains(&("/Doc_0/Res/qr.png".to_owned(), Protection::Missing))
    );
}

fn sig_xml(
    check_method: &str,
    refs: &[(&str, &[u8])],
    signed_value: &str,
    seal: Option<&str>,
) -> Vec<u8> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut s = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?><Signature xmlns="http://www.ofdspec.org/2016">"#,
    );
    // SignedValue first and SignedInfo children shuffled: order must not matter.
    s += &format!("<SignedValue>{signed_value}</SignedValue><SignedInfo>");
    if let Some(seal) = seal {
        s += &format!("<Seal><BaseLoc>{seal}</BaseLoc></Seal>");
    }
    s += &format!(r#"<References CheckMethod="{check_method}">"#);
    for (path, data) in refs {
        let h = if check_method.contains("SHA") || check_method.starts_with("2.16") {
            crate::crypto::sha256(data)
        } else {
            sm3(data)
        };
        s += &format!(
            r#"<Reference FileRef="{path}"><CheckValue>{}</CheckValue></Reference>"#,
            b64.encode(h)
        );
    }
    s += r#"</References><SignatureMethod>1.2.156.10197.1.501</SignatureMethod><Provider ProviderName="t"/></SignedInfo></Signature>"#;
    s.into_bytes()
}

const OFD_XML: &[u8] = br#"<ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016" Version="1.1"><ofd:DocBody><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot><ofd:Signatures>Doc_0/Signs/Signatures.xml</ofd:Signatures></ofd:DocBody></ofd:OFD>"#;
const DOC: &[u8] = b"<ofd:Document xmlns:ofd=\"http://www.ofdspec.org/2016\"/>";

fn one_sig_ofd(signatures_xml: &[u8], signature_xml: &[u8], extra: &[(&str, &[u8])]) -> Vec<u8> {
    let mut entries: Vec<(&str, &[u8])> = vec![
        ("OFD.xml", OFD_XML),
        ("Doc_0/Document.xml", DOC),
        ("Doc_0/Signs/Signatures.xml", signatures_xml),
        ("Doc_0/Signs/Sign_0/Signature.xml", signature_xml),
    ];
    entries.extend_from_slice(extra);
    build_zip(&entries)
}

const LIST_REL: &[u8] =
    br#"<Signatures><Signature BaseLoc="Sign_0/Signature.xml" ID="7"/></Signatures>"#;

#[test]
fn check_methods_relative_paths_and_seal() {
    for (method, ok) in [
        ("SM3", true),
        ("sm3", true),
        ("1.2.156.10197.1.401", true),
        ("SHA256", true),
        ("SHA-256", true),
        ("2.16.840.1.101.3.4.2.1", true),
        ("MD5", false),
    ] {
        let sx = sig_xml(
            method,
            &[("../../Document.xml", DOC), ("/OFD.xml", OFD_XML)],
            "SignedValue.dat",
            Some("Seal.esl"),
        );
        let bytes = one_sig_ofd(
            LIST_REL,
            &sx,
            &[
                ("Doc_0/Signs/Sign_0/SignedValue.dat", b"sv"),
                ("Doc_0/Signs/Sign_0/Seal.esl", b"esl"),
            ],
        );
        let found = read(&bytes).unwrap();
        let sig = &found.signatures[0];
        assert_eq!(sig.id, "7");
        assert_eq!(sig.signed_value, b"sv");
        assert_eq!(sig.seal_esl.as_deref(), Some(&b"esl"[..]));
        assert_eq!(check(sig, "references.check_method").ok, ok, "{method}");
        assert_eq!(check(sig, DOC_REF).ok, ok, "{method}: {:?}", sig.checks);
        assert_eq!(check(sig, "reference:/OFD.xml").ok, ok);
        assert!(sig.unreferenced.is_empty(), "{:?}", sig.unreferenced);
    }
}

#[test]
fn root_relative_without_slash_and_ambiguity() {
    // "Doc_0/Document.xml" relative to Sign_0/ does not exist: found from the root.
    let sx = sig_xml(
        "SM3",
        &[("Doc_0/Document.xml", DOC)],
        "SignedValue.dat",
        None,
    );
    let bytes = one_sig_ofd(
        LIST_REL,
        &sx,
        &[("Doc_0/Signs/Sign_0/SignedValue.dat", b"sv")],
    );
    assert!(check(&read(&bytes).unwrap().signatures[0], DOC_REF).ok);
    // A planted copy where the relative reading points makes the reference ambiguous.
    let bytes = one_sig_ofd(
        LIST_REL,
        &sx,
        &[
            ("Doc_0/Signs/Sign_0/SignedValue.dat", b"sv"),
            ("Doc_0/Signs/Sign_0/Doc_0/Document.xml", DOC),
        ],
    );
    let sig = &read(&bytes).unwrap().signatures[0];
    let bad: Vec<_> = sig.checks.iter().filter(|c| !c.ok).collect();
    assert!(
        bad.iter().any(|c| c.detail.contains("ambiguous")),
        "{bad:?}"
    );
}

#[test]
fn broken_parts_are_checks_or_problems_not_aborts() {
    // Missing SignedValue file, escaping reference, broken second signature, bad Type.
    let good = sig_xml(
        "SM3",
        &[
            ("/Doc_0/Document.xml", DOC),
            ("/OFD.xml", OFD_XML),
            ("/../../etc/passwd", b""),
        ],
        "/nowhere.dat",
        None,
    );
    let list = br#"<Signatures><Signature ID="1" BaseLoc="Sign_0/Signature.xml"/><Signature ID="2" Type="Odd" BaseLoc="Sign_1/Signature.xml"/><Signature ID="3"/><Signature ID="4" BaseLoc="/../x"/></Signatures>"#;
    let deep = format!(
        "<Signature>{}{}</Signature>",
        "<a>".repeat(200),
        "</a>".repeat(200)
    );
    let bytes = one_sig_ofd(
        list,
        &good,
        &[("Doc_0/Signs/Sign_1/Signature.xml", deep.as_bytes())],
    );
    let found = read(&bytes).unwrap();
    assert_eq!(found.signatures.len(), 2);
    assert_eq!(found.problems.len(), 2, "{:?}", found.problems);
    let s1 = &found.signatures[0];
    assert!(!check(s1, "signed_value").ok);
    assert!(check(s1, DOC_REF).ok);
    assert!(
        s1.checks
            .iter()
            .any(|c| c.name.starts_with("reference:") && !c.ok && c.detail.contains("escapes")),
        "{:?}",
        s1.checks
    );
    let s2 = &found.signatures[1];
    assert!(!check(s2, "signature.type").ok);
    assert!(!check(s2, "signature.xml").ok);

    // An unreadable Signatures.xml in one DocBody does not hide the other DocBody's signatures.
    let ofd2 = br#"<OFD><DocBody><Signatures>/broken.xml</Signatures></DocBody><DocBody><Signatures>Doc_0/Signs/Signatures.xml</Signatures></DocBody></OFD>"#;
    let sx = sig_xml(
        "SM3",
        &[("/Doc_0/Document.xml", DOC), ("/OFD.xml", ofd2)],
        "SignedValue.dat",
        None,
    );
    let bytes = build_zip(&[
        ("OFD.xml", ofd2),
        ("broken.xml", b"<Signatures><Signature></Signatures>"),
        ("Doc_0/Document.xml", DOC),
        ("Doc_0/Signs/Signatures.xml", LIST_REL),
        ("Doc_0/Signs/Sign_0/Signature.xml", &sx),
        ("Doc_0/Signs/Sign_0/SignedValue.dat", b"sv"),
    ]);
    let found = read(&bytes).unwrap();
    assert_eq!(found.signatures.len(), 1);
    assert_eq!(found.problems.len(), 1);
    assert!(
        found.signatures[0].checks.iter().all(|c| c.ok),
        "{:?}",
        found.signatures[0].checks
    );
}

#[test]
fn no_signatures_and_not_ofd() {
    let bytes = build_zip(&[(
        "OFD.xml",
        b"<OFD><DocBody><DocRoot>Doc_0/Document.xml</DocRoot></DocBody></OFD>",
    )]);
    assert!(is_ofd(&bytes));
    let found = read(&bytes).unwrap();
    assert!(found.signatures.is_empty() && found.problems.is_empty());
    let other = build_zip(&[("word/document.xml", b"<w/>")]);
    assert!(!is_ofd(&other));
    assert_eq!(
        read(&other).unwrap_err(),
        OfdError::Missing("OFD.xml".into())
    );
    assert!(matches!(
        read(&build_zip(&[("OFD.xml", b"<html/>")])),
        Err(OfdError::NotOfd(_))
    ));
    assert_eq!(read(b"").unwrap_err(), OfdError::NotZip);
    assert_eq!(read(b"%PDF-1.7").unwrap_err(), OfdError::NotZip);
    assert!(!is_ofd(b"PK\x03\x04garbage"));
    assert!(read(b"PK\x03\x04garbage").is_err());
}

#[test]
fn doctype_and_depth_in_ofd_xml_rejected() {
    let dt = build_zip(&[(
        "OFD.xml",
        br#"<!DOCTYPE OFD [<!ENTITY x SYSTEM "file:///etc/passwd">]><OFD>&x;</OFD>"#,
    )]);
    assert!(matches!(read(&dt), Err(OfdError::Xml { .. })));
    let deep = format!("<OFD>{}{}</OFD>", "<a>".repeat(70), "</a>".repeat(70));
    assert!(matches!(
        read(&build_zip(&[("OFD.xml", deep.as_bytes())])),
        Err(OfdError::Xml { .. })
    ));
}

#[test]
fn hostile_zip_structure() {
    // '..' in an entry name, and two names that normalise to the same path.
    let esc = build_zip(&[("OFD.xml", OFD_XML), ("../evil.xml", b"x")]);
    assert!(matches!(
        Package::open(&esc, &Limits::default()),
        Err(OfdError::PathEscape(_))
    ));
    let dup = build_zip(&[("OFD.xml", OFD_XML), ("/OFD.xml", b"<OFD/>")]);
    assert!(matches!(
        Package::open(&dup, &Limits::default()),
        Err(OfdError::DuplicateEntry(_))
    ));
    // Entry count.
    let names: Vec<String> = (0..5000).map(|i| format!("f{i}")).collect();
    let entries: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b""[..])).collect();
    assert!(matches!(
        read(&build_zip(&entries)),
        Err(OfdError::TooManyEntries { count: 5000, .. })
    ));
    let small = Limits {
        max_entries: 10,
        ..Limits::default()
    };
    assert!(matches!(
        read_signatures(&v4signed(), &small),
        Err(OfdError::TooManyEntries { .. })
    ));
    // Package::read path handling.
    let pkg = Package::open(&v4signed(), &Limits::default()).unwrap();
    assert_eq!(
        pkg.read("\\Doc_0\\Document.xml").unwrap(),
        pkg.read("Doc_0/Document.xml").unwrap()
    );
    assert!(matches!(
        pkg.read("/../OFD.xml"),
        Err(OfdError::PathEscape(_))
    ));
    assert!(matches!(pkg.read("/ofd.xml"), Err(OfdError::Missing(_))));
    // Total budget across reads.
    let tight = Limits {
        max_total: 40_000,
        ..Limits::default()
    };
    assert!(Package::open(&v4signed(), &tight).is_ok());
    let tighter = Limits {
        max_total: 30_000,
        ..Limits::default()
    };
    assert!(matches!(
        Package::open(&v4signed(), &tighter),
        Err(OfdError::TooLarge { .. })
    ));
}

#[test]
fn zip_bombs_rejected_fast() {
    let start = Instant::now();
    // 1 GiB of zeros, honestly declared: refused from the header, nothing decompressed.
    let bomb = zeros_zip("OFD.xml", 1 << 30, 1);
    eprintln!(
        "1 GiB bomb: {} compressed bytes, built in {:?}",
        bomb.len(),
        start.elapsed()
    );
    let t = Instant::now();
    assert!(matches!(read(&bomb), Err(OfdError::TooLarge { .. })));
    assert!(t.elapsed() < Duration::from_secs(1));

    // Same bomb with lying headers (declared 2 MiB, ratio looks fine): cut while decompressing.
    let mut liar = bomb.clone();
    patch_declared_size(&mut liar, 2 << 20);
    let t = Instant::now();
    let err = read(&liar).unwrap_err();
    assert!(
        matches!(err, OfdError::SizeMismatch { .. } | OfdError::Zip(_)),
        "{err:?}"
    );
    assert!(t.elapsed() < Duration::from_secs(2));

    // Declared small (1 KiB): also cut at declared + 1.
    let mut liar = bomb;
    patch_declared_size(&mut liar, 1024);
    assert!(read(&liar).is_err());

    // Under the size limit but 1000:1.
    let ratio = zeros_zip("OFD.xml", 8 << 20, 9);
    assert!(matches!(read(&ratio), Err(OfdError::ZipBomb { .. })));
}

#[test]
fn every_truncation_fails_cleanly() {
    let bytes = v4signed();
    for i in 0..64 {
        let len = bytes.len() * i / 64;
        let r = read(&bytes[..len]);
        let passing = r
            .as_ref()
            .is_ok_and(|f| f.signatures.iter().any(|s| s.checks.iter().all(|c| c.ok)));
        assert!(!passing, "truncated at {len} still passes");
    }
}

// ---- Type="Sign" (GB/T 35275 CMS) ----

fn assert_all_ok(r: &SignCms) {
    assert!(r.ok(), "{:#?}", r.checks);
}

fn failing(r: &SignCms) -> Vec<&str> {
    r.checks
        .iter()
        .filter(|c| !c.ok)
        .map(|c| c.name.as_str())
        .collect()
}

#[test]
fn sign_cms_verifies_and_detects_tampering() {
    let s = signer();
    let xml = b"<ofd:Signature>...</ofd:Signature>".to_vec();

    // The observed form: detached, attributes, messageDigest = SM3(Signature.xml).
    let cms = build_cms(&s, &xml, false, true, true);
    let r = verify_sign_cms(&cms, &xml);
    assert_all_ok(&r);
    assert_eq!(r.signer_cert.as_deref(), Some(s.cert.as_slice()));
    assert_eq!(
        r.signed_at,
        Some(time::OffsetDateTime::from_unix_timestamp(1_704_164_645).unwrap())
    );
    assert!(
        r.checks
            .iter()
            .any(|c| c.detail.contains("SM3(Signature.xml)"))
    );

    // ofdrw's readings: content = SM3(xml) or base64 of it, attached or not, with or without attributes.
    let h = sm3(&xml);
    use base64::Engine;
    let h64 = base64::engine::general_purpose::STANDARD.encode(h);
    for content in [h.as_slice(), h64.as_bytes()] {
        for (attached, attrs) in [(false, true), (true, true), (true, false), (false, false)] {
            let r = verify_sign_cms(&build_cms(&s, content, attached, attrs, true), &xml);
            assert_all_ok(&r);
        }
    }

    // Tampered Signature.xml: the digest no longer matches.
    let mut other = xml.clone();
    other[3] ^= 1;
    assert_eq!(
        failing(&verify_sign_cms(&cms, &other)),
        ["cms.message_digest"]
    );
    // Without attributes the signature itself fails.
    let plain = build_cms(&s, &h64.clone().into_bytes(), false, false, true);
    assert_eq!(failing(&verify_sign_cms(&plain, &other)), ["cms.signature"]);
    // Tampered signature value (last byte of s).
    let mut bad = cms.clone();
    let n = bad.len();
    bad[n - 1] ^= 1;
    assert_eq!(failing(&verify_sign_cms(&bad, &xml)), ["cms.signature"]);
    // A signature by another key, with the first key's certificate.
    let mut s2 = signer();
    s2.cert = s.cert.clone();
    assert!(
        failing(&verify_sign_cms(
            &build_cms(&s2, &xml, false, true, true),
            &xml
        ))
        .contains(&"cms.signature")
    );
    // No certificate.
    let r = verify_sign_cms(&build_cms(&s, &xml, false, true, false), &xml);
    assert!(failing(&r).contains(&"cms.signer_certificate"));
    // A bare SEQUENCE{r, s}.
    let bare = s.key.sign(SignatureAlgorithm::Sm2Sm3, &xml).unwrap();
    let r = verify_sign_cms(&bare, &xml);
    let c = r
        .checks
        .iter()
        .find(|c| c.name == "cms.signer_certificate")
        .unwrap();
    assert!(
        !c.ok
            && c.detail
                .contains("no signer certificate: cannot be verified")
    );
    // Garbage and every truncation: failing checks, no panic.
    assert!(!verify_sign_cms(b"", &xml).ok());
    for len in 0..cms.len() {
        assert!(!verify_sign_cms(&cms[..len], &xml).ok());
    }
}

#[test]
fn sign_signature_end_to_end() {
    let s = signer();
    let list = br#"<Signatures><Signature ID="1" Type="Sign" BaseLoc="/Doc_0/Signs/Sign_0/Signature.xml"/></Signatures>"#;
    let sx = sig_xml(
        "1.2.156.10197.1.401",
        &[("/Doc_0/Document.xml", DOC), ("/OFD.xml", OFD_XML)],
        "SignedValue.dat",
        None,
    );
    let cms = build_cms(&s, &sx, false, true, true);
    let bytes = one_sig_ofd(list, &sx, &[("Doc_0/Signs/Sign_0/SignedValue.dat", &cms)]);
    let found = read(&bytes).unwrap();
    let sig = &found.signatures[0];
    assert_eq!(sig.kind, SignatureKind::Sign);
    assert!(sig.checks.iter().all(|c| c.ok), "{:?}", sig.checks);
    assert_all_ok(&verify_sign_cms(&sig.signed_value, &sig.signature_xml));

    // The whole document through the verifier: UNTRUSTED without an anchor, VALID with the
    // signer's certificate as one, MODIFIED_AFTER_SEALING when a protected file changes.
    use crate::pki::{Certificate, TrustStore};
    use crate::verify::{Revocations, Verdict, Verifier};
    let now = time::OffsetDateTime::now_utc();
    let bare = Verifier::new(Arc::new(TrustStore::new()), Revocations::default());
    let report = bare.verify_document(&bytes, None, now);
    assert_eq!(report.verdict, Verdict::Untrusted, "{report:?}");
    assert_eq!(report.signatures[0].kind, "ofd-sign-cms");
    assert!(report.signatures[0].intact);
    let mut trust = TrustStore::new();
    trust.add_anchor(Certificate::from_der(&s.cert).unwrap());
    let anchored = Verifier::new(Arc::new(trust), Revocations::default());
    assert_eq!(
        anchored.verify_document(&bytes, None, now).verdict,
        Verdict::Valid
    );
    let changed = rewrite_zip(&bytes, "Doc_0/Document.xml", |d| d[0] ^= 1);
    let report = anchored.verify_document(&changed, None, now);
    assert_eq!(report.verdict, Verdict::ModifiedAfterSealing, "{report:?}");
}

/// A zip64 end record claiming 2^39 entries in a 2^50-byte directory at offset 2^40 must fail
/// cleanly, not make the zip reader allocate for the claim.
#[test]
fn lying_zip64_directory() {
    let mut z = b"PK\x03\x04".to_vec();
    z.resize(64, 0);
    let p64 = z.len() as u64;
    z.extend_from_slice(b"PK\x06\x06");
    z.extend_from_slice(&44u64.to_le_bytes());
    z.extend_from_slice(&[45, 0, 45, 0]);
    z.extend_from_slice(&0u32.to_le_bytes());
    z.extend_from_slice(&0u32.to_le_bytes());
    z.extend_from_slice(&(1u64 << 39).to_le_bytes());
    z.extend_from_slice(&(1u64 << 39).to_le_bytes());
    z.extend_from_slice(&(1u64 << 50).to_le_bytes());
    z.extend_from_slice(&(1u64 << 40).to_le_bytes());
    z.extend_from_slice(b"PK\x06\x07");
    z.extend_from_slice(&0u32.to_le_bytes());
    z.extend_from_slice(&p64.to_le_bytes());
    z.extend_from_slice(&1u32.to_le_bytes());
    z.extend_from_slice(b"PK\x05\x06");
    z.extend_from_slice(&[0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF]);
    z.extend_from_slice(&[0xFF; 8]);
    z.extend_from_slice(&[0, 0]);
    assert!(read(&z).is_err());
    assert!(!is_ofd(&z));
}
