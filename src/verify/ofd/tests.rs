//! The later-change analysis on packages made as other signers' software makes them: the real
//! tax e-invoice fixture (`v4signed.ofd`, one SES seal), and `Type="Sign"` signatures added to
//! it or to its unsigned content.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use crate::crypto::{SignatureAlgorithm, sm3};
use crate::ofd::testutil::{TestSigner, build_cms, build_zip, signer, unzip, v4signed};
use crate::pki::{Certificate, TrustStore};
use crate::verify::{Report, Revocations, Verdict, Verifier};

type Files = Vec<(String, Vec<u8>)>;

const LIST: &str = "Doc_0/Signs/Signatures.xml";
const SM2_SM3: &str = "1.2.156.10197.1.501";

fn set(files: &mut Files, name: &str, data: Vec<u8>) {
    match files.iter_mut().find(|(n, _)| n == name) {
        Some(f) => f.1 = data,
        None => files.push((name.to_owned(), data)),
    }
}

fn get<'f>(files: &'f Files, name: &str) -> &'f [u8] {
    &files.iter().find(|(n, _)| n == name).expect(name).1
}

/// `files[name]` with `from` replaced by `to` (once, which must be there).
fn edit(files: &mut Files, name: &str, from: &str, to: &str) {
    let text = String::from_utf8(get(files, name).to_vec()).unwrap();
    assert!(text.contains(from), "{name} has no {from:?}");
    set(files, name, text.replacen(from, to, 1).into_bytes());
}

fn zip(files: &Files) -> Vec<u8> {
    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice()))
        .collect();
    build_zip(&refs)
}

/// The invoice as it was before it was sealed: the fixture without its signature.
fn unsigned_invoice() -> Files {
    unzip(&v4signed())
        .into_iter()
        .filter(|(n, _)| !n.starts_with("Doc_0/Signs/"))
        .collect()
}

/// Signs the package as other signers' software does: lists a new signature in
/// `Signatures.xml` (made when absent), then protects the files `protect` picks as they are
/// now with a `Type="Sign"` CMS in `Doc_0/Signs/Sign_N/`.
fn add_signature(files: &mut Files, s: &TestSigner, protect: impl Fn(&str) -> bool) {
    add(files, s, false, protect);
}

/// A v4 seal of `s` (its own maker) naming `s` as its signer.
fn seal_of(s: &TestSigner) -> Vec<u8> {
    use crate::ses::{Picture, SealInfoParams, assemble_seal, encode_seal_info};
    let t = |y| {
        time::Date::from_calendar_date(y, time::Month::January, 1)
            .unwrap()
            .midnight()
            .assume_utc()
    };
    let info = encode_seal_info(&SealInfoParams {
        vid: "test".into(),
        es_id: "1".into(),
        seal_type: 1,
        name: "测试章".into(),
        certs: vec![s.cert.clone()],
        create_date: t(2025),
        valid_start: t(2025),
        valid_end: t(2033),
        picture: Picture {
            kind: "PNG".into(),
            data: b"img".to_vec(),
            width_mm: 40,
            height_mm: 40,
        },
        ext_datas: Vec::new(),
    })
    .unwrap();
    let sig = s.key.sign(SignatureAlgorithm::Sm2Sm3, &info).unwrap();
    assemble_seal(&info, &s.cert, SM2_SM3, &sig).unwrap()
}

/// [`add_signature`] with an SES seal (`Type="Seal"`, `Seal.esl` beside it) instead of a CMS.
fn add_seal(files: &mut Files, s: &TestSigner, protect: impl Fn(&str) -> bool) {
    add(files, s, true, protect);
}

fn add(files: &mut Files, s: &TestSigner, seal: bool, protect: impl Fn(&str) -> bool) {
    let n = files
        .iter()
        .filter(|(f, _)| f.starts_with("Doc_0/Signs/Sign_") && f.ends_with("/Signature.xml"))
        .count();
    let dir = format!("Doc_0/Signs/Sign_{n}");
    if !files.iter().any(|(f, _)| f == LIST) {
        set(
            files,
            LIST,
            br#"<ofd:Signatures xmlns:ofd="http://www.ofdspec.org/2016"></ofd:Signatures>"#
                .to_vec(),
        );
    }
    let entry = format!(
        r#"<ofd:Signature ID="{}" Type="{}" BaseLoc="/{dir}/Signature.xml"/></ofd:Signatures>"#,
        n + 101,
        if seal { "Seal" } else { "Sign" }
    );
    edit(files, LIST, "</ofd:Signatures>", &entry);
    let mut xml = String::from(
        r#"<ofd:Signature xmlns:ofd="http://www.ofdspec.org/2016"><ofd:SignedInfo><ofd:Provider ProviderName="other"/><ofd:SignatureMethod>1.2.156.10197.1.501</ofd:SignatureMethod>"#,
    );
    if seal {
        xml += "<ofd:Seal><ofd:BaseLoc>Seal.esl</ofd:BaseLoc></ofd:Seal>";
    }
    xml += r#"<ofd:References CheckMethod="1.2.156.10197.1.401">"#;
    for (name, data) in files.iter().filter(|(f, _)| protect(f)) {
        xml += &format!(
            r#"<ofd:Reference FileRef="/{name}"><ofd:CheckValue>{}</ofd:CheckValue></ofd:Reference>"#,
            B64.encode(sm3(data))
        );
    }
    xml += &format!(
        "</ofd:References></ofd:SignedInfo><ofd:SignedValue>/{dir}/SignedValue.dat</ofd:SignedValue></ofd:Signature>"
    );
    let value = if seal {
        use crate::ses::SealTemplate;
        let esl = seal_of(s);
        let template = SealTemplate::new(esl.clone()).unwrap();
        let now = time::OffsetDateTime::now_utc() - time::Duration::hours(1);
        let tbs = template
            .tbs_sign(now, &sm3(xml.as_bytes()), &format!("/{dir}/Signature.xml"))
            .unwrap();
        let sig = s.key.sign(SignatureAlgorithm::Sm2Sm3, tbs.der()).unwrap();
        set(files, &format!("{dir}/Seal.esl"), esl);
        template.signature(&tbs, &s.cert, SM2_SM3, &sig).unwrap()
    } else {
        build_cms(s, xml.as_bytes(), false, true, true)
    };
    set(files, &format!("{dir}/Signature.xml"), xml.into_bytes());
    set(files, &format!("{dir}/SignedValue.dat"), value);
}

/// Trusts `signers` and the fixture's seal (its signer and maker certificates).
fn verifier(signers: &[&TestSigner]) -> Verifier {
    let mut trust = TrustStore::new();
    for s in signers {
        trust.add_anchor(Certificate::from_der(&s.cert).unwrap());
    }
    let files = unzip(&v4signed());
    let der = get(&files, "Doc_0/Signs/Sign_0/SignedValue.dat");
    let sig = crate::ses::Signature::from_der(der).unwrap();
    for c in [sig.signer_cert(), sig.seal().maker_cert()] {
        trust.add_anchor(Certificate::from_der(c).unwrap());
    }
    Verifier::new(Arc::new(trust), Revocations::default())
}

fn verify(v: &Verifier, files: &Files) -> Report {
    v.verify_document(&zip(files), None, time::OffsetDateTime::now_utc())
}

fn verdicts(r: &Report) -> Vec<Verdict> {
    r.signatures.iter().map(|s| s.verdict).collect()
}

fn detail(r: &Report, i: usize, name: &str) -> String {
    let s = &r.signatures[i];
    s.checks
        .iter()
        .find(|c| c.name == name)
        .map(|c| c.detail.clone())
        .or_else(|| {
            s.warnings
                .iter()
                .find(|w| w.name == name)
                .map(|w| w.detail.clone())
        })
        .unwrap_or_else(|| panic!("no {name} in {s:#?}"))
}

fn warnings(r: &Report, i: usize) -> Vec<&str> {
    r.signatures[i]
        .warnings
        .iter()
        .map(|w| w.name.as_str())
        .collect()
}

#[test]
fn the_real_invoice_is_valid_and_a_changed_page_is_named() {
    let v = verifier(&[]);
    let files = unzip(&v4signed());
    let r = verify(&v, &files);
    assert_eq!(r.verdict, Verdict::Valid, "{r:#?}");
    assert!(warnings(&r, 0).is_empty());

    let mut changed = files.clone();
    edit(&mut changed, "Doc_0/Pages/Page_0/Content.xml", "<", " <");
    let r = verify(&v, &changed);
    assert_eq!(verdicts(&r), [Verdict::ModifiedAfterSealing], "{r:#?}");
    let later = detail(&r, 0, "ofd.later_changes");
    assert!(
        later.contains("NOT allowed: /Doc_0/Pages/Page_0/Content.xml changed after sealing"),
        "{later}"
    );

    let mut gone = files;
    gone.retain(|(n, _)| n != "Doc_0/Res/qr.png");
    let r = verify(&v, &gone);
    assert_eq!(verdicts(&r), [Verdict::ModifiedAfterSealing]);
    assert!(
        detail(&r, 0, "ofd.later_changes")
            .contains("/Doc_0/Res/qr.png, which this signature protects, is gone")
    );
}

#[test]
fn a_page_added_is_modified_a_stray_page_file_is_a_warning() {
    let v = verifier(&[]);
    let files = unzip(&v4signed());
    // A new page file alone is displayed content nobody protects, but no evidence of change:
    // nothing shows it, since the protected Document.xml does not list it.
    let mut stray = files.clone();
    set(
        &mut stray,
        "Doc_0/Pages/Page_1/Content.xml",
        b"<ofd:Page/>".to_vec(),
    );
    let r = verify(&v, &stray);
    assert_eq!(verdicts(&r), [Verdict::Valid], "{r:#?}");
    assert_eq!(warnings(&r, 0), ["ofd.coverage_displayed"]);
    assert!(detail(&r, 0, "ofd.coverage_displayed").contains("/Doc_0/Pages/Page_1/Content.xml"));

    // Listing it changes the protected Document.xml: evidence.
    let mut added = stray;
    edit(
        &mut added,
        "Doc_0/Document.xml",
        "</ofd:Pages>",
        r#"<ofd:Page ID="99" BaseLoc="Pages/Page_1/Content.xml"/></ofd:Pages>"#,
    );
    let r = verify(&v, &added);
    assert_eq!(verdicts(&r), [Verdict::ModifiedAfterSealing], "{r:#?}");
    assert!(
        detail(&r, 0, "ofd.later_changes").contains("/Doc_0/Document.xml changed after sealing")
    );
}

#[test]
fn a_seal_over_every_file_but_ofd_xml_is_valid_while_the_doc_root_holds() {
    let s = signer();
    let v = verifier(&[&s]);
    let mut files = unsigned_invoice();
    add_signature(&mut files, &s, |f| f != "OFD.xml" && f != LIST);
    let r = verify(&v, &files);
    assert_eq!(verdicts(&r), [Verdict::Valid], "{r:#?}");
    assert_eq!(warnings(&r, 0), ["ofd.coverage"]);
    assert_eq!(
        detail(&r, 0, "ofd.coverage"),
        "files no signature protects: /OFD.xml"
    );
    assert!(detail(&r, 0, "ofd.doc_root").contains("leads to the protected /Doc_0/Document.xml"));

    // OFD.xml pointed at another document: the reader no longer sees what was sealed.
    let mut moved = files;
    let doc = get(&moved, "Doc_0/Document.xml").to_vec();
    set(&mut moved, "Doc_1/Document.xml", doc);
    edit(
        &mut moved,
        "OFD.xml",
        "<ofd:DocRoot>Doc_0/",
        "<ofd:DocRoot>Doc_1/",
    );
    let r = verify(&v, &moved);
    assert_eq!(verdicts(&r), [Verdict::ModifiedAfterSealing], "{r:#?}");
    assert!(detail(&r, 0, "ofd.doc_root").contains("/Doc_1/Document.xml"));
}

#[test]
fn an_invoice_seal_without_its_template_pages_is_valid_with_a_warning() {
    let s = signer();
    let v = verifier(&[&s]);
    let mut files = unsigned_invoice();
    add_signature(&mut files, &s, |f| {
        !f.starts_with("Doc_0/Tpls/") && f != LIST
    });
    let r = verify(&v, &files);
    assert_eq!(verdicts(&r), [Verdict::Valid], "{r:#?}");
    assert_eq!(warnings(&r, 0), ["ofd.coverage_displayed"]);
    assert!(detail(&r, 0, "ofd.coverage_displayed").contains("/Doc_0/Tpls/Tpl_0/Content.xml"));
    // The summary a person reads says it too.
    let text = crate::verify::summary(&r);
    assert!(
        text.contains("Warning") && text.contains("ofd.coverage_displayed: displayed content"),
        "{text}"
    );
}

#[test]
fn a_second_seal_changes_the_list_the_first_protects() {
    let (first, second, stranger) = (signer(), signer(), signer());
    let v = verifier(&[&first, &second]);
    let mut files = unsigned_invoice();
    add_signature(&mut files, &first, |f| !f.starts_with("Doc_0/Signs/Sign_"));
    let before_second = files.clone();
    add_signature(&mut files, &second, |f| !f.starts_with("Doc_0/Signs/"));
    let r = verify(&v, &files);
    assert_eq!(
        verdicts(&r),
        [Verdict::ValidWithAllowedLaterChanges, Verdict::Valid],
        "{r:#?}"
    );
    assert_eq!(r.verdict, Verdict::Valid);
    let later = detail(&r, 0, "ofd.later_changes");
    assert!(
        later.contains("/Doc_0/Signs/Signatures.xml changed: later signatures added themselves"),
        "{later}"
    );
    assert!(
        later.contains("signature ID 102 added at /Doc_0/Signs/Sign_1/Signature.xml"),
        "{later}"
    );
    assert!(r.signatures[0].checks.iter().all(|c| c.ok), "{r:#?}");

    // A second signature nobody trusts explains nothing.
    let mut files = before_second;
    add_signature(&mut files, &stranger, |f| !f.starts_with("Doc_0/Signs/"));
    let r = verify(&v, &files);
    assert_eq!(
        verdicts(&r),
        [Verdict::ModifiedAfterSealing, Verdict::Untrusted],
        "{r:#?}"
    );

    // The real seal followed by a second signature: its list is not protected, so the
    // second signature is the only later change.
    let mut files = unzip(&v4signed());
    add_signature(&mut files, &second, |f| !f.starts_with("Doc_0/Signs/"));
    let r = verify(&v, &files);
    assert_eq!(
        verdicts(&r),
        [Verdict::ValidWithAllowedLaterChanges, Verdict::Valid],
        "{r:#?}"
    );
}

#[test]
fn a_second_signature_that_adds_annotations_and_protects_them() {
    let (first, second) = (signer(), signer());
    let v = verifier(&[&first, &second]);
    let mut files = unsigned_invoice();
    let annots: Files = files
        .iter()
        .filter(|(n, _)| n.starts_with("Doc_0/Annots/"))
        .cloned()
        .collect();
    files.retain(|(n, _)| !n.starts_with("Doc_0/Annots/"));
    add_signature(&mut files, &first, |f| !f.starts_with("Doc_0/Signs/"));
    for (n, d) in annots {
        set(&mut files, &n, d);
    }
    edit(
        &mut files,
        "OFD.xml",
        "</ofd:CustomDatas>",
        r#"<ofd:CustomData Name="批注">已核对</ofd:CustomData></ofd:CustomDatas>"#,
    );
    let unprotected = files.clone();
    add_signature(&mut files, &second, |f| !f.starts_with("Doc_0/Signs/"));
    let r = verify(&v, &files);
    assert_eq!(
        verdicts(&r),
        [Verdict::ValidWithAllowedLaterChanges, Verdict::Valid],
        "{r:#?}"
    );
    assert_eq!(r.verdict, Verdict::Valid);
    let later = detail(&r, 0, "ofd.later_changes");
    for what in [
        "/OFD.xml changed, and the later signature ID 102 protects it as it is now",
        "/Doc_0/Annots/Annotations.xml is protected by the later signature ID 102",
        "/Doc_0/Annots/Page_0/Annotation.xml is protected by the later signature ID 102",
    ] {
        assert!(later.contains(what), "{what}: {later}");
    }
    assert!(warnings(&r, 0).is_empty(), "{r:#?}");

    // The same changes without a signature that protects them: OFD.xml changed is evidence.
    let mut files = unprotected;
    add_signature(&mut files, &second, |f| {
        !f.starts_with("Doc_0/Signs/") && f != "OFD.xml" && !f.starts_with("Doc_0/Annots/")
    });
    let r = verify(&v, &files);
    assert_eq!(verdicts(&r)[0], Verdict::ModifiedAfterSealing, "{r:#?}");
    assert!(detail(&r, 0, "ofd.later_changes").contains("/OFD.xml changed after sealing"));
}

#[test]
fn entry_names_that_differ_only_in_case_are_flagged() {
    let v = verifier(&[]);
    let mut files = unzip(&v4signed());
    set(
        &mut files,
        "Doc_0/pages/Page_0/Content.xml",
        b"<ofd:Page/>".to_vec(),
    );
    let r = verify(&v, &files);
    assert!(
        r.problems.iter().any(|p| p.contains(
            "differ only in letter case: /Doc_0/Pages/Page_0/Content.xml and /Doc_0/pages/Page_0/Content.xml"
        )),
        "{:?}",
        r.problems
    );
}

#[test]
fn a_swapped_seal_esl_is_invalid() {
    let (s, other) = (signer(), signer());
    let v = verifier(&[&s, &other]);
    let mut files = unsigned_invoice();
    add_seal(&mut files, &s, |f| !f.starts_with("Doc_0/Signs/"));
    let r = verify(&v, &files);
    assert_eq!(verdicts(&r), [Verdict::Valid], "{r:#?}");
    assert_eq!(r.signatures[0].kind, "ses-v4");

    set(&mut files, "Doc_0/Signs/Sign_0/Seal.esl", seal_of(&other));
    let r = verify(&v, &files);
    assert_eq!(verdicts(&r), [Verdict::Invalid], "{r:#?}");
    assert_eq!(
        detail(&r, 0, "ofd.seal_esl"),
        "Seal.esl differs from TBS_Sign.eseal"
    );
}
