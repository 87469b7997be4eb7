#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::Arc;

use time::OffsetDateTime;
use time::macros::datetime;

use super::*;
use crate::cms::tests::{Fixture, fixture};
use crate::cms::{Content, OID_DATA, SignOptions};
use crate::crypto::KeyType;
use crate::pdf::{Dict, Object};
use crate::pki::{Profile, TrustStore};
use crate::testutil::minimal_pdf;
use crate::verify::Revocations;

const EC_BT: &[u8] = include_bytes!("../../../tests/data/pdf/ec-bt.pdf");
const RSA_PKCS7: &[u8] = include_bytes!("../../../tests/data/pdf/rsa-pkcs7.pdf");
const TWO_SEALS: &[u8] = include_bytes!("../../../tests/data/pdf/two-seals.pdf");
const CERTIFIED_P1: &[u8] = include_bytes!("../../../tests/data/pdf/certified-p1-then-seal.pdf");
const CERTIFIED_P2: &[u8] = include_bytes!("../../../tests/data/pdf/certified-p2-then-seal.pdf");
const EC_THEN_SM2: &[u8] = include_bytes!("../../../tests/data/pdf/ec-then-sm2.pdf");
const PAGES_200: &[u8] = include_bytes!("../../../tests/data/pdf/200p-3sigs.pdf");
const TAMPERED: &[u8] = include_bytes!("../../../tests/data/pdf/rsa-pkcs7-incr.pdf");
const XREF_STREAMS: &[u8] = include_bytes!("../../../tests/data/pdf/xref-streams.pdf");
const ROOT: &str = include_str!("../../../tests/data/pdf/root.pem");
const SM2_ROOT: &str = include_str!("../../../tests/data/pdf/sm2-root.pem");
const DOC_1P: &[u8] = include_bytes!("../../../tests/data/pdf/doc-1p.pdf");

/// Inside the fixtures' validity; the chains are checked at each signature's own time anyway.
const AT: OffsetDateTime = datetime!(2027-01-01 0:00 UTC);

fn verifier(roots: &[&str], extra: &[&Certificate]) -> Verifier {
    let mut store = TrustStore::new();
    for pem in roots {
        for c in Certificate::parse_pem_bundle(pem).unwrap() {
            store.add_anchor(c);
        }
    }
    for c in extra {
        store.add_anchor((*c).clone());
    }
    Verifier::new(Arc::new(store), Revocations::default())
}

fn verify(bytes: &[u8]) -> Report {
    verifier(&[ROOT], &[]).verify_pdf(bytes, AT)
}

fn verdicts(r: &Report) -> Vec<Verdict> {
    r.signatures.iter().map(|s| s.verdict).collect()
}

fn check<'r>(s: &'r SignatureReport, name: &str) -> &'r Check {
    s.checks
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no check {name} in {:#?}", s.checks))
}

fn failing(s: &SignatureReport) -> Vec<&str> {
    s.checks
        .iter()
        .filter(|c| !c.ok)
        .map(|c| c.name.as_str())
        .collect()
}

/// The later-changes detail of signature `i`.
fn later(r: &Report, i: usize) -> String {
    check(&r.signatures[i], "pdf.later_changes").detail.clone()
}

// ---------------------------------------------------------------------------------------------
// Building variants

/// The first `n` revisions of `pdf`, through the end of line after their `%%EOF`.
fn revisions(pdf: &[u8], n: usize) -> Vec<u8> {
    let f = PdfFile::open(pdf, &Limits::default()).unwrap();
    let eof = f.sections()[n - 1].eof;
    let end = match &pdf[eof..] {
        [b'\r', b'\n', ..] => eof + 2,
        [b'\n' | b'\r', ..] => eof + 1,
        _ => eof,
    };
    pdf[..end].to_vec()
}

fn replace_once(pdf: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let at = pdf
        .windows(from.len())
        .position(|w| w == from)
        .unwrap_or_else(|| panic!("{:?} not found", String::from_utf8_lossy(from)));
    [&pdf[..at], to, &pdf[at + from.len()..]].concat()
}

/// `/ByteRange [...]` of the last signature dictionary in the file, with the spaces pyHanko
/// pads it with.
fn last_byte_range(pdf: &[u8]) -> (usize, usize) {
    let at = pdf.windows(11).rposition(|w| w == b"/ByteRange ").unwrap();
    let close = at + pdf[at..].iter().position(|&b| b == b']').unwrap() + 1;
    let end = close + pdf[close..].iter().take_while(|&&b| b == b' ').count();
    (at, end)
}

/// Rewrites the last `/ByteRange` in place with `text` padded to the same length.
fn set_byte_range(pdf: &[u8], text: &str) -> Vec<u8> {
    let (at, end) = last_byte_range(pdf);
    let len = end - at;
    assert!(text.len() <= len, "{text} does not fit");
    let padded = format!("{text:<len$}");
    let mut out = pdf.to_vec();
    out[at..end].copy_from_slice(padded.as_bytes());
    out
}

/// The numbers of the last `/ByteRange`.
fn byte_range_numbers(pdf: &[u8]) -> [usize; 4] {
    let (at, end) = last_byte_range(pdf);
    let text = String::from_utf8_lossy(&pdf[at + 11..end])
        .trim_end()
        .to_owned();
    let v: Vec<usize> = text
        .trim_matches(|c: char| c == '[' || c == ']' || c.is_whitespace())
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    [v[0], v[1], v[2], v[3]]
}

/// Appends an incremental update (classic xref table) with `objects` (number, body between
/// `obj` and `endobj`) and free entries `free`; the trailer is the last one with `/Prev` and
/// `/Size` updated and `trailer_set` applied.
fn update(
    base: &[u8],
    objects: &[(u32, Vec<u8>)],
    free: &[u32],
    trailer_set: &[(&[u8], Object)],
) -> Vec<u8> {
    let f = PdfFile::open(base, &Limits::default()).unwrap();
    let last = f.sections().last().unwrap();
    let mut trailer = last.trailer.clone();
    let mut out = base.to_vec();
    if !out.ends_with(b"\n") {
        out.push(b'\n');
    }
    let mut entries: BTreeMap<u32, Option<usize>> = BTreeMap::new();
    for (num, body) in objects {
        entries.insert(*num, Some(out.len()));
        out.extend_from_slice(format!("{num} 0 obj\n").as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    for num in free {
        entries.insert(*num, None);
    }
    let xref = out.len();
    out.extend_from_slice(b"xref\n0 1\n0000000000 65535 f \n");
    for (num, at) in &entries {
        match at {
            Some(at) => out.extend_from_slice(format!("{num} 1\n{at:010} 00000 n \n").as_bytes()),
            None => out.extend_from_slice(format!("{num} 1\n0000000000 00001 f \n").as_bytes()),
        }
    }
    let size = trailer.get(b"Size").and_then(Object::as_int).unwrap();
    let max = entries.keys().max().map_or(0, |&m| i64::from(m) + 1);
    trailer.set(b"Size", Object::Int(size.max(max)));
    trailer.set(
        b"Prev",
        Object::Int(i64::try_from(last.xref_offset).unwrap()),
    );
    for (k, v) in trailer_set {
        trailer.set(k, v.clone());
    }
    out.extend_from_slice(b"trailer\n");
    trailer.write(&mut out);
    out.extend_from_slice(format!("\nstartxref\n{xref}\n%%EOF\n").as_bytes());
    out
}

/// The text of an object (dictionaries and arrays; a stream's dictionary only).
fn text(o: &Object) -> Vec<u8> {
    let mut out = Vec::new();
    o.write(&mut out);
    out
}

/// A document's newest catalog, first page and their numbers; the next free object number.
struct Doc {
    catalog: (Ref, Dict),
    page: (Ref, Dict),
    next: u32,
}

fn doc(pdf: &[u8]) -> Doc {
    let f = PdfFile::open(pdf, &Limits::default()).unwrap();
    let n = f.sections().len();
    let catalog = f.catalog_at(n).unwrap();
    let page = f.pages_at(n).unwrap()[0];
    let Object::Dict(pd) = f.get(page).unwrap() else {
        panic!("page")
    };
    let next = u32::try_from(f.trailer().get(b"Size").and_then(Object::as_int).unwrap()).unwrap();
    Doc {
        catalog,
        page: (page, pd),
        next,
    }
}

/// The page dictionary with `annot` appended to a direct `/Annots`.
fn with_annot(page: &Dict, annot: Ref) -> Vec<u8> {
    let mut d = page.clone();
    let mut annots = d
        .get(b"Annots")
        .and_then(Object::as_array)
        .map(<[Object]>::to_vec)
        .unwrap_or_default();
    annots.push(Object::Ref(annot));
    d.set(b"Annots", Object::Array(annots));
    text(&Object::Dict(d))
}

/// An approval signature made here with `signer` in a new field `name` on page 1 at `rect`
/// (`ETSI.CAdES.detached`, signingTime now, ESS signingCertificateV2), in a new revision.
fn sign_here(base: &[u8], signer: &Fixture, name: &str, rect: [i32; 4]) -> Vec<u8> {
    sign_here_with(base, signer, name, rect, "")
}

/// [`sign_here`] with `widget_extra` entries in the widget dictionary.
fn sign_here_with(
    base: &[u8],
    signer: &Fixture,
    name: &str,
    rect: [i32; 4],
    widget_extra: &str,
) -> Vec<u8> {
    let d = doc(base);
    let f = PdfFile::open(base, &Limits::default()).unwrap();
    let (field, sig) = (d.next, d.next + 1);
    let mut objects = Vec::new();
    // The form: the existing indirect AcroForm gains the field, or a new one is made.
    let n = f.sections().len();
    match d.catalog.1.get(b"AcroForm") {
        Some(Object::Ref(af)) => {
            let Object::Dict(mut afd) = f.get_at(*af, n).unwrap() else {
                panic!("acroform")
            };
            let mut fields = afd
                .get(b"Fields")
                .and_then(Object::as_array)
                .unwrap()
                .to_vec();
            fields.push(Object::Ref(Ref::new(field)));
            afd.set(b"Fields", Object::Array(fields));
            objects.push((af.num, text(&Object::Dict(afd))));
        }
        _ => {
            let af = d.next + 2;
            objects.push((
                af,
                format!("<< /Fields [{field} 0 R] /SigFlags 3 >>").into_bytes(),
            ));
            let mut cat = d.catalog.1.clone();
            cat.set(b"AcroForm", Object::Ref(Ref::new(af)));
            objects.push((d.catalog.0.num, text(&Object::Dict(cat))));
        }
    }
    objects.push((d.page.0.num, with_annot(&d.page.1, Ref::new(field))));
    objects.push((
        field,
        format!(
            "<< /FT /Sig /T ({name}) /Type /Annot /Subtype /Widget /F 132 /Rect [{} {} {} {}] /P {} 0 R /V {sig} 0 R {widget_extra} >>",
            rect[0], rect[1], rect[2], rect[3], d.page.0.num
        )
        .into_bytes(),
    ));
    let placeholder = format!(
        "<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached /M (D:20261201000000Z) /ByteRange [0 0000000000 0000000000 0000000000] /Contents <{}> >>",
        "0".repeat(8192)
    );
    objects.push((sig, placeholder.into_bytes()));
    objects.sort_by_key(|(n, _)| *n);
    let unsigned = update(base, &objects, &[], &[]);
    let hole_start = unsigned
        .windows(10)
        .rposition(|w| w == b"/Contents ")
        .unwrap()
        + 10;
    let hole_end = hole_start + 8194;
    let rest = unsigned.len() - hole_end;
    let mut out = set_byte_range(
        &unsigned,
        &format!("/ByteRange [0 {hole_start} {hole_end} {rest}]"),
    );
    let digest = crate::crypto::sha256(&[&out[..hole_start], &out[hole_end..]].concat());
    let cms = crate::cms::sign(
        &signer.signer(),
        Content::Detached { digest: &digest },
        &SignOptions {
            content_type: OID_DATA,
            signing_time: Some(OffsetDateTime::now_utc()),
            ess_signing_certificate_v2: true,
            extra_signed_attrs: &[],
        },
    )
    .unwrap();
    let hex = hex::encode(&cms);
    out[hole_start + 1..hole_start + 1 + hex.len()].copy_from_slice(hex.as_bytes());
    out
}

fn p256() -> Fixture {
    fixture(KeyType::P256, Profile::SealHolder)
}

// ---------------------------------------------------------------------------------------------
// pyHanko-signed documents

#[test]
fn ecdsa_with_a_signature_time_stamp_is_valid() {
    let r = verify(EC_BT);
    assert_eq!(r.verdict, Verdict::Valid, "{r:#?}");
    assert_eq!(r.format, "pdf");
    let s = &r.signatures[0];
    assert_eq!(s.kind, "pdf-cades");
    assert!(s.intact && s.trusted);
    assert!(s.signer.as_deref().unwrap().contains("CN=Test Seal EC"));
    for name in [
        "pdf.byte_range",
        "pdf.contents",
        "pdf.revision_end",
        "cms.message_digest",
        "cms.signature",
        "timestamp.signature",
        "timestamp.imprint",
        "timestamp.chain.path",
        "signer_chain.chain.path",
    ] {
        assert!(check(s, name).ok, "{name}");
    }
    assert!(check(s, "pdf.coverage").detail.contains("whole file"));
    assert!(check(s, "pdf.signing_time").detail.contains("time-stamp"));
}

#[test]
fn rsa_pkcs7_is_valid() {
    let r = verify(RSA_PKCS7);
    assert_eq!(verdicts(&r), [Verdict::Valid], "{r:#?}");
    assert_eq!(r.signatures[0].kind, "pdf-pkcs7");
    assert!(
        check(&r.signatures[0], "pdf.signing_time")
            .detail
            .contains("signingTime")
    );
}

#[test]
fn without_the_anchor_the_signer_is_untrusted() {
    let r = verifier(&[], &[]).verify_pdf(EC_BT, AT);
    assert_eq!(r.verdict, Verdict::Untrusted);
    let s = &r.signatures[0];
    assert!(s.intact && !s.trusted);
    assert_eq!(
        failing(s),
        ["timestamp.chain.path", "signer_chain.chain.path"]
    );
}

#[test]
fn a_second_signature_is_an_allowed_change_and_the_document_is_valid() {
    let r = verify(TWO_SEALS);
    assert_eq!(
        verdicts(&r),
        [Verdict::ValidWithAllowedLaterChanges, Verdict::Valid]
    );
    assert_eq!(r.verdict, Verdict::Valid);
    assert!(later(&r, 0).contains("signature field \"Seal2\" added in revision 3"));
    // The first revision alone: one signature over the whole file.
    let first = revisions(TWO_SEALS, 2);
    assert_eq!(verdicts(&verify(&first)), [Verdict::Valid]);
}

#[test]
fn a_signature_after_a_p1_certification_is_a_change_after_sealing() {
    let r = verify(CERTIFIED_P1);
    assert_eq!(
        verdicts(&r),
        [Verdict::ModifiedAfterSealing, Verdict::Valid]
    );
    assert_eq!(r.verdict, Verdict::ModifiedAfterSealing);
    assert!(
        check(&r.signatures[0], "pdf.doc_mdp")
            .detail
            .contains("P=1")
    );
    assert!(later(&r, 0).contains("DocMDP P1"));
    // Before the second signature the certification stands alone.
    assert_eq!(verify(&revisions(CERTIFIED_P1, 2)).verdict, Verdict::Valid);
}

#[test]
fn a_trusted_signature_after_a_p2_certification_is_allowed() {
    let r = verify(CERTIFIED_P2);
    assert_eq!(
        verdicts(&r),
        [Verdict::ValidWithAllowedLaterChanges, Verdict::Valid]
    );
    assert_eq!(r.verdict, Verdict::Valid);
    assert!(
        check(&r.signatures[0], "pdf.doc_mdp")
            .detail
            .contains("P=2")
    );
}

#[test]
fn sm2_after_ecdsa_and_a_later_untrusted_signer() {
    // Both roots trusted: the SM2/SM3 signature verifies (SM3 over the ranges).
    let r = verifier(&[ROOT, SM2_ROOT], &[]).verify_pdf(EC_THEN_SM2, AT);
    assert_eq!(
        verdicts(&r),
        [Verdict::ValidWithAllowedLaterChanges, Verdict::Valid],
        "{r:#?}"
    );
    assert_eq!(r.verdict, Verdict::Valid);
    let sm2 = &r.signatures[1];
    assert!(check(sm2, "cms.signature").detail.contains("sm2"));
    assert!(check(sm2, "cms.message_digest").detail.contains("Sm3"));
    // Only the first signer trusted: the later seal is an attacker's as far as the verifier
    // knows, so the first signature is not valid any more.
    let r = verify(EC_THEN_SM2);
    assert_eq!(
        verdicts(&r),
        [Verdict::ModifiedAfterSealing, Verdict::Untrusted]
    );
    assert!(later(&r, 0).contains("\"SealSM2\" is not trusted"));
    assert_eq!(r.verdict, Verdict::ModifiedAfterSealing);
}

#[test]
fn two_hundred_pages_three_signatures() {
    let v = verifier(&[ROOT], &[]);
    let start = std::time::Instant::now();
    let r = v.verify_pdf(PAGES_200, AT);
    let took = start.elapsed();
    eprintln!("verify_pdf: 200 pages, 3 signatures: {took:?}");
    assert_eq!(
        verdicts(&r),
        [
            Verdict::ValidWithAllowedLaterChanges,
            Verdict::ValidWithAllowedLaterChanges,
            Verdict::Valid
        ],
        "{r:#?}"
    );
    assert_eq!(r.verdict, Verdict::Valid);
    assert_eq!(r.signatures[2].kind, "pdf-doc-timestamp");
    assert!(check(&r.signatures[2], "timestamp.imprint").ok);
    assert!(
        r.signatures[2]
            .signer
            .as_deref()
            .unwrap()
            .contains("Test TSA")
    );
    // A DSS after the time-stamp is allowed, but no signature covers it.
    let with_dss = add_dss(PAGES_200);
    let r = v.verify_pdf(&with_dss, AT);
    assert_eq!(r.verdict, Verdict::ValidWithAllowedLaterChanges, "{r:#?}");
}

#[test]
fn a_signer_revoked_before_or_in_the_second_of_signing_is_invalid() {
    let f = PdfFile::open(RSA_PKCS7, &Limits::default()).unwrap();
    let sig = &crate::pdf::find_signatures(&f).unwrap()[0];
    let signer = crate::cms::verify(sig.contents.as_deref().unwrap(), None, &[])
        .signer
        .unwrap();
    let signed = sig.claimed_time.unwrap();
    let store = Arc::new({
        let mut s = TrustStore::new();
        s.add_anchor(Certificate::parse_pem_bundle(ROOT).unwrap().remove(0));
        s
    });
    for (revoked, expected) in [
        (signed - time::Duration::days(1), Verdict::Invalid),
        // Later, but within the second the whole-second signing time names: not VALID.
        (signed + time::Duration::milliseconds(500), Verdict::Invalid),
        (signed + time::Duration::days(1), Verdict::Valid),
    ] {
        let revocations = Revocations::new(
            Default::default(),
            [(signer.fingerprint_sha256(), (revoked, None))].into(),
        );
        let r = Verifier::new(store.clone(), revocations).verify_pdf(RSA_PKCS7, AT);
        assert_eq!(verdicts(&r), [expected]);
        assert_eq!(r.signatures[0].revoked_at, Some(revoked));
    }
}

#[test]
fn xref_streams_and_object_streams_in_the_original() {
    let r = verify(XREF_STREAMS);
    assert_eq!(
        verdicts(&r),
        [Verdict::ValidWithAllowedLaterChanges, Verdict::Valid],
        "{r:#?}"
    );
    assert_eq!(r.verdict, Verdict::Valid);
}

/// Appends an update written as a cross-reference stream: `objects` in the file, and
/// `packed` inside a new object stream.
fn xref_stream_update(
    base: &[u8],
    objects: &[(u32, Vec<u8>)],
    packed: &[(u32, Vec<u8>)],
) -> Vec<u8> {
    let f = PdfFile::open(base, &Limits::default()).unwrap();
    let last = f.sections().last().unwrap();
    let size = u32::try_from(last.trailer.get(b"Size").and_then(Object::as_int).unwrap()).unwrap();
    let mut next = objects
        .iter()
        .chain(packed)
        .map(|(n, _)| n + 1)
        .fold(size, u32::max);
    let mut out = base.to_vec();
    // (number, type, field 2, field 3)
    let mut rows: Vec<(u32, u8, u32, u16)> = Vec::new();
    for (num, body) in objects {
        rows.push((*num, 1, u32::try_from(out.len()).unwrap(), 0));
        out.extend_from_slice(format!("{num} 0 obj\n").as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    if !packed.is_empty() {
        let stm = next;
        next += 1;
        let mut header = String::new();
        let mut data = Vec::new();
        for (i, (num, body)) in packed.iter().enumerate() {
            header.push_str(&format!("{num} {} ", data.len()));
            data.extend_from_slice(body);
            data.push(b' ');
            rows.push((*num, 2, stm, u16::try_from(i).unwrap()));
        }
        rows.push((stm, 1, u32::try_from(out.len()).unwrap(), 0));
        let all = [header.as_bytes(), &data].concat();
        out.extend_from_slice(
            format!(
                "{stm} 0 obj\n<< /Type /ObjStm /N {} /First {} /Length {} >>\nstream\n",
                packed.len(),
                header.len(),
                all.len()
            )
            .as_bytes(),
        );
        out.extend_from_slice(&all);
        out.extend_from_slice(b"\nendstream\nendobj\n");
    }
    let xs = next;
    next += 1;
    let at = out.len();
    rows.push((xs, 1, u32::try_from(at).unwrap(), 0));
    rows.sort_unstable();
    let mut data = Vec::new();
    let mut index = Vec::new();
    for (num, ty, a, b) in &rows {
        data.push(*ty);
        data.extend_from_slice(&a.to_be_bytes());
        data.extend_from_slice(&b.to_be_bytes());
        index.push(format!("{num} 1"));
    }
    let mut dict = last.trailer.clone();
    for k in [
        &b"Filter"[..],
        b"DecodeParms",
        b"Index",
        b"W",
        b"Length",
        b"XRefStm",
    ] {
        dict.remove(k);
    }
    dict.set(b"Type", Object::name(b"XRef"));
    dict.set(b"Size", Object::Int(i64::from(next)));
    dict.set(
        b"Prev",
        Object::Int(i64::try_from(last.xref_offset).unwrap()),
    );
    dict.set(
        b"W",
        Object::Array(vec![Object::Int(1), Object::Int(4), Object::Int(2)]),
    );
    let mut text_index = format!("[{}]", index.join(" ")).into_bytes();
    let mut d = Vec::new();
    dict.set(b"Length", Object::Int(i64::try_from(data.len()).unwrap()));
    dict.write(&mut d);
    // /Index goes in as text: the writer has no array-of-pairs helper and needs none.
    d.truncate(d.len() - 2);
    d.extend_from_slice(b"/Index ");
    d.append(&mut text_index);
    d.extend_from_slice(b">>");
    out.extend_from_slice(format!("{xs} 0 obj\n").as_bytes());
    out.extend_from_slice(&d);
    out.extend_from_slice(b"\nstream\n");
    out.extend_from_slice(&data);
    out.extend_from_slice(format!("\nendstream\nendobj\nstartxref\n{at}\n%%EOF\n").as_bytes());
    out
}

#[test]
fn updates_as_cross_reference_streams() {
    // A clean xref-stream update (what pyHanko writes for such files) that adds a DSS.
    let d = doc(XREF_STREAMS);
    let mut cat = d.catalog.1.clone();
    cat.set(b"DSS", Object::Ref(Ref::new(d.next)));
    let clean = xref_stream_update(
        XREF_STREAMS,
        &[
            (d.catalog.0.num, text(&Object::Dict(cat))),
            (d.next, b"<< /Type /DSS /Certs [] >>".to_vec()),
        ],
        &[],
    );
    let r = verify(&clean);
    assert_eq!(
        verdicts(&r),
        [
            Verdict::ValidWithAllowedLaterChanges,
            Verdict::ValidWithAllowedLaterChanges
        ],
        "{r:#?}"
    );
    // The same change from inside an object stream is refused.
    let mut cat = d.catalog.1.clone();
    cat.set(b"DSS", Object::Dict(Dict::default()));
    let packed = xref_stream_update(
        XREF_STREAMS,
        &[],
        &[(d.catalog.0.num, text(&Object::Dict(cat)))],
    );
    let r = verify(&packed);
    assert_eq!(
        verdicts(&r),
        [Verdict::ModifiedAfterSealing, Verdict::ModifiedAfterSealing],
        "{r:#?}"
    );
    assert!(later(&r, 1).contains("into object stream"));
}

// ---------------------------------------------------------------------------------------------
// Coverage attacks on the signed bytes (USF, SWA)

#[test]
fn a_flipped_byte_in_a_signed_range_is_invalid() {
    let flipped = replace_once(RSA_PKCS7, b"AMOUNT: 1000.00", b"AMOUNT: 9000.00");
    let r = verify(&flipped);
    assert_eq!(r.verdict, Verdict::Invalid);
    assert_eq!(failing(&r.signatures[0]), ["cms.message_digest"]);
}

#[test]
fn a_literal_string_contents_is_invalid() {
    let [_, a, b, _] = byte_range_numbers(EC_BT);
    let mut pdf = EC_BT.to_vec();
    pdf[a] = b'(';
    pdf[b - 1] = b')';
    let r = verify(&pdf);
    assert_eq!(r.verdict, Verdict::Invalid);
    assert_eq!(failing(&r.signatures[0]), ["pdf.contents"]);
    assert!(
        check(&r.signatures[0], "pdf.contents")
            .detail
            .contains("literal")
    );
}

#[test]
fn a_widened_or_shifted_hole_is_invalid() {
    let [_, a, b, c] = byte_range_numbers(EC_BT);
    for br in [
        format!("/ByteRange [0 {} {} {}]", a - 1, b + 1, c - 1),
        format!("/ByteRange [0 {} {} {}]", a - 10, b, c),
        format!("/ByteRange [0 {} {} {}]", a + 2, b, c),
    ] {
        let r = verify(&set_byte_range(EC_BT, &br));
        assert_eq!(r.verdict, Verdict::Invalid, "{br}");
        assert_eq!(failing(&r.signatures[0]), ["pdf.contents"], "{br}");
    }
}

#[test]
fn odd_byte_ranges_are_invalid() {
    let [_, a, b, c] = byte_range_numbers(EC_BT);
    for (br, failed) in [
        (format!("/ByteRange [0 {a} {b}]"), "pdf.byte_range"),
        (format!("/ByteRange [0 {a} {b} {c} 0]"), "pdf.byte_range"),
        (format!("/ByteRange [0 {a} {b} -{c}]"), "pdf.byte_range"),
        (format!("/ByteRange [0 -{a} {b} {c}]"), "pdf.byte_range"),
        (format!("/ByteRange [1 {a} {b} {c}]"), "pdf.byte_range"),
        (
            format!("/ByteRange [0 {a} {b} {}]", c + 1),
            "pdf.byte_range",
        ),
        (
            format!("/ByteRange [0 {a} {b} {}]", c - 10),
            "pdf.revision_end",
        ),
        ("/ByteRange null".to_owned(), "pdf.byte_range"),
    ] {
        let r = verify(&set_byte_range(EC_BT, &br));
        assert_eq!(r.verdict, Verdict::Invalid, "{br}");
        assert_eq!(failing(&r.signatures[0]), [failed], "{br}");
    }
    // No /ByteRange or no /Contents at all.
    let no_br = replace_once(EC_BT, b"/ByteRange [", b"/ByteRangX [");
    assert_eq!(failing(&verify(&no_br).signatures[0]), ["pdf.byte_range"]);
    let no_contents = replace_once(EC_BT, b"/Contents <", b"/Contentz <");
    assert_eq!(
        failing(&verify(&no_contents).signatures[0]),
        ["pdf.contents"]
    );
}

#[test]
fn a_transplanted_cms_is_invalid() {
    let [_, a, b, _] = byte_range_numbers(RSA_PKCS7);
    let foreign = &RSA_PKCS7[a + 1..b - 1];
    let [_, a, b, _] = byte_range_numbers(EC_BT);
    let room = b - a - 2;
    assert!(foreign.len() <= room);
    let mut pdf = EC_BT.to_vec();
    pdf[a + 1..b - 1].copy_from_slice(&[foreign, &vec![b'0'; room - foreign.len()]].concat());
    let r = verify(&pdf);
    assert_eq!(r.verdict, Verdict::Invalid);
    assert!(failing(&r.signatures[0]).contains(&"cms.message_digest"));
}

#[test]
fn data_after_the_cms_in_contents_is_invalid() {
    // The padding after the DER is unsigned: it must stay zeros.
    let [_, _, b, _] = byte_range_numbers(EC_BT);
    let mut pdf = EC_BT.to_vec();
    pdf[b - 3] = b'1';
    assert_eq!(failing(&verify(&pdf).signatures[0]), ["pdf.contents"]);
}

#[test]
fn two_fields_sharing_one_signature_are_invalid() {
    let d = doc(EC_BT);
    let f = PdfFile::open(EC_BT, &Limits::default()).unwrap();
    let af = d
        .catalog
        .1
        .get(b"AcroForm")
        .and_then(Object::as_ref)
        .unwrap();
    let Object::Dict(mut afd) = f.get(af).unwrap() else {
        panic!()
    };
    let seal1 = afd.get(b"Fields").and_then(Object::as_array).unwrap()[0].clone();
    let Object::Dict(seal1d) = f.get(seal1.as_ref().unwrap()).unwrap() else {
        panic!()
    };
    let sig = seal1d.get(b"V").and_then(Object::as_ref).unwrap();
    afd.set(
        b"Fields",
        Object::Array(vec![seal1, Object::Ref(Ref::new(d.next))]),
    );
    let pdf = update(
        EC_BT,
        &[
            (af.num, text(&Object::Dict(afd))),
            (
                d.next,
                format!("<< /FT /Sig /T (Copy) /V {} 0 R >>", sig.num).into_bytes(),
            ),
        ],
        &[],
        &[],
    );
    let r = verify(&pdf);
    assert_eq!(verdicts(&r), [Verdict::Invalid, Verdict::Invalid]);
    assert!(failing(&r.signatures[0]).contains(&"pdf.unique"));
}

// ---------------------------------------------------------------------------------------------
// Changes after sealing (ISA, shadow attacks, evil annotation, sneaky signature)

#[test]
fn tamper_py_content_redefinition_is_modified() {
    let r = verify(TAMPERED);
    assert_eq!(verdicts(&r), [Verdict::ModifiedAfterSealing]);
    assert!(r.signatures[0].intact, "the signature itself is intact");
    assert!(later(&r, 0).contains("changes object 9"));
}

#[test]
fn trailing_bytes_and_appended_objects_without_xref_are_modified() {
    for tail in [
        &b"garbage\n"[..],
        b"9 0 obj\n<< /Length 8 >>\nstream\nBT ET q\nendstream\nendobj\n",
    ] {
        let pdf = [EC_BT, tail].concat();
        let r = verify(&pdf);
        assert_eq!(verdicts(&r), [Verdict::ModifiedAfterSealing]);
        assert!(later(&r, 0).contains("after the last %%EOF"));
    }
    // White space after %%EOF is no change.
    let pdf = [EC_BT, b"\r\n \n"].concat();
    assert_eq!(verify(&pdf).verdict, Verdict::Valid);
}

#[test]
fn a_freed_object_is_modified() {
    let pdf = update(EC_BT, &[], &[9], &[]);
    let r = verify(&pdf);
    assert_eq!(verdicts(&r), [Verdict::ModifiedAfterSealing]);
    assert!(later(&r, 0).contains("frees object 9"));
}

#[test]
fn changed_content_fonts_and_pages_are_modified() {
    let f = PdfFile::open(EC_BT, &Limits::default()).unwrap();
    let d = doc(EC_BT);
    // The font resources (shadow "replace"): another font for /F1.
    let font_res = d
        .page
        .1
        .get(b"Resources")
        .and_then(Object::as_dict)
        .unwrap()
        .get(b"Font")
        .and_then(Object::as_ref)
        .unwrap();
    let Object::Dict(mut fonts) = f.get(font_res).unwrap() else {
        panic!()
    };
    fonts.set(b"F9", Object::Ref(Ref::new(d.next)));
    let pdf = update(
        EC_BT,
        &[
            (font_res.num, text(&Object::Dict(fonts))),
            (
                d.next,
                b"<< /Type /Font /Subtype /Type1 /BaseFont /Courier >>".to_vec(),
            ),
        ],
        &[],
        &[],
    );
    let r = verify(&pdf);
    assert_eq!(verdicts(&r), [Verdict::ModifiedAfterSealing]);
    assert!(later(&r, 0).contains(&format!("changes object {}", font_res.num)));
    // A page's /MediaBox.
    let mut page = d.page.1.clone();
    page.set(
        b"MediaBox",
        Object::Array(vec![
            Object::Int(0),
            Object::Int(0),
            Object::Int(100),
            Object::Int(100),
        ]),
    );
    let pdf = update(
        EC_BT,
        &[(d.page.0.num, text(&Object::Dict(page)))],
        &[],
        &[],
    );
    let r = verify(&pdf);
    assert_eq!(verdicts(&r), [Verdict::ModifiedAfterSealing]);
    assert!(later(&r, 0).contains("/MediaBox of the page"));
    // An added page.
    let Object::Dict(pages) = f
        .get(d.page.1.get(b"Parent").and_then(Object::as_ref).unwrap())
        .unwrap()
    else {
        panic!()
    };
    let parent = d.page.1.get(b"Parent").and_then(Object::as_ref).unwrap();
    let mut pages = pages;
    let mut kids = pages
        .get(b"Kids")
        .and_then(Object::as_array)
        .unwrap()
        .to_vec();
    kids.push(Object::Ref(Ref::new(d.next)));
    pages.set(b"Kids", Object::Array(kids));
    pages.set(b"Count", Object::Int(2));
    let pdf = update(
        EC_BT,
        &[
            (parent.num, text(&Object::Dict(pages))),
            (
                d.next,
                format!(
                    "<< /Type /Page /Parent {} 0 R /MediaBox [0 0 595 842] >>",
                    parent.num
                )
                .into_bytes(),
            ),
        ],
        &[],
        &[],
    );
    let r = verify(&pdf);
    assert_eq!(verdicts(&r), [Verdict::ModifiedAfterSealing]);
    assert!(later(&r, 0).contains("pages"));
}

/// A FreeText annotation added to page 1 in a new revision.
fn free_text(base: &[u8]) -> Vec<u8> {
    let d = doc(base);
    update(
        base,
        &[
            (d.page.0.num, with_annot(&d.page.1, Ref::new(d.next))),
            (
                d.next,
                b"<< /Type /Annot /Subtype /FreeText /Rect [72 700 400 760] /Contents (PAID IN FULL) /DA (/Helv 24 Tf 1 0 0 rg) >>".to_vec(),
            ),
        ],
        &[],
        &[],
    )
}

#[test]
fn an_added_free_text_annotation_is_modified() {
    // On an approval signature, and on a P2 certification (the "evil annotation").
    for base in [EC_BT.to_vec(), revisions(CERTIFIED_P2, 2)] {
        let r = verify(&free_text(&base));
        assert_eq!(verdicts(&r), [Verdict::ModifiedAfterSealing], "{r:#?}");
        assert!(later(&r, 0).contains("/FreeText"));
    }
}

#[test]
fn unsigned_or_other_fields_added_later_are_modified() {
    let f = PdfFile::open(EC_BT, &Limits::default()).unwrap();
    let d = doc(EC_BT);
    let af = d
        .catalog
        .1
        .get(b"AcroForm")
        .and_then(Object::as_ref)
        .unwrap();
    let Object::Dict(afd) = f.get(af).unwrap() else {
        panic!()
    };
    for (field, why) in [
        (
            "<< /FT /Sig /T (Empty) /Type /Annot /Subtype /Widget /Rect [0 0 0 0] >>",
            "without a signature",
        ),
        (
            "<< /FT /Tx /T (Amount) /V (9000.00) /Type /Annot /Subtype /Widget /Rect [72 600 300 620] >>",
            "of type /Tx",
        ),
    ] {
        let mut afd = afd.clone();
        let mut fields = afd
            .get(b"Fields")
            .and_then(Object::as_array)
            .unwrap()
            .to_vec();
        fields.push(Object::Ref(Ref::new(d.next)));
        afd.set(b"Fields", Object::Array(fields));
        let pdf = update(
            EC_BT,
            &[
                (af.num, text(&Object::Dict(afd))),
                (d.next, field.as_bytes().to_vec()),
            ],
            &[],
            &[],
        );
        let r = verify(&pdf);
        assert_eq!(verdicts(&r), [Verdict::ModifiedAfterSealing]);
        assert!(later(&r, 0).contains(why), "{}", later(&r, 0));
    }
}

/// A DSS with one certificate added in a new revision.
fn add_dss(base: &[u8]) -> Vec<u8> {
    add_dss_with(base, &[])
}

/// [`add_dss`], with `catalog` entries also set in the same revision.
fn add_dss_with(base: &[u8], catalog: &[(&[u8], Object)]) -> Vec<u8> {
    let d = doc(base);
    let cert = Certificate::parse_pem_bundle(ROOT).unwrap().remove(0);
    let mut cat = d.catalog.1.clone();
    cat.set(b"DSS", Object::Ref(Ref::new(d.next)));
    for (k, v) in catalog {
        cat.set(k, v.clone());
    }
    let mut stream = format!("<< /Length {} >>\nstream\n", cert.der().len()).into_bytes();
    stream.extend_from_slice(cert.der());
    stream.extend_from_slice(b"\nendstream");
    update(
        base,
        &[
            (d.catalog.0.num, text(&Object::Dict(cat))),
            (
                d.next,
                format!("<< /Type /DSS /Certs [{} 0 R] >>", d.next + 1).into_bytes(),
            ),
            (d.next + 1, stream),
        ],
        &[],
        &[],
    )
}

#[test]
fn dss_and_document_information_updates_are_allowed() {
    let r = verify(&add_dss(EC_BT));
    assert_eq!(
        verdicts(&r),
        [Verdict::ValidWithAllowedLaterChanges],
        "{r:#?}"
    );
    assert_eq!(r.verdict, Verdict::ValidWithAllowedLaterChanges);
    assert!(later(&r, 0).contains("DSS added in revision 3"));
    // Under P1 too: a DSS is what long-term validation adds.
    let r = verify(&add_dss(&revisions(CERTIFIED_P1, 2)));
    assert_eq!(verdicts(&r), [Verdict::ValidWithAllowedLaterChanges]);

    let f = PdfFile::open(EC_BT, &Limits::default()).unwrap();
    let info = f.trailer().get(b"Info").and_then(Object::as_ref).unwrap();
    let Object::Dict(mut d) = f.get(info).unwrap() else {
        panic!()
    };
    d.set(b"ModDate", Object::string(b"D:20270101000000Z"));
    let pdf = update(EC_BT, &[(info.num, text(&Object::Dict(d)))], &[], &[]);
    let r = verify(&pdf);
    assert_eq!(verdicts(&r), [Verdict::ValidWithAllowedLaterChanges]);
    assert!(later(&r, 0).contains("document information updated"));

    // A DSS carrying something else is not a DSS.
    let d = doc(EC_BT);
    let mut cat = d.catalog.1.clone();
    cat.set(b"DSS", Object::Ref(Ref::new(d.next)));
    let pdf = update(
        EC_BT,
        &[
            (d.catalog.0.num, text(&Object::Dict(cat))),
            (
                d.next,
                b"<< /Type /DSS /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >>".to_vec(),
            ),
        ],
        &[],
        &[],
    );
    assert_eq!(verdicts(&verify(&pdf)), [Verdict::ModifiedAfterSealing]);
}

/// The catalog entries LTV tools change with the validation data they add: pyHanko raises
/// `/Version`, Acrobat adds `/Extensions` (ADBE and ESIC developer extension levels).
fn ltv_catalog_keys() -> Vec<(&'static [u8], Object)> {
    let level = |n| {
        let mut d = Dict::default();
        d.set(b"BaseVersion", Object::name(b"1.7"));
        d.set(b"ExtensionLevel", Object::Int(n));
        Object::Dict(d)
    };
    let mut ext = Dict::default();
    ext.set(b"ADBE", level(8));
    ext.set(b"ESIC", level(1));
    vec![
        (b"Version", Object::name(b"2.0")),
        (b"Extensions", Object::Dict(ext)),
    ]
}

#[test]
fn a_dss_added_by_another_tool_with_version_and_extensions_is_allowed() {
    // Sealed here, on a document whose catalog names no /Version (as the vault's seals are).
    let signer = p256();
    let sealed = sign_here(DOC_1P, &signer, "Seal", [100, 40, 300, 120]);
    let v = verifier(&[], &[&signer.root]);
    assert_eq!(verdicts(&v.verify_pdf(&sealed, AT)), [Verdict::Valid]);
    let r = v.verify_pdf(&add_dss_with(&sealed, &ltv_catalog_keys()), AT);
    assert_eq!(
        verdicts(&r),
        [Verdict::ValidWithAllowedLaterChanges],
        "{r:#?}"
    );
    let changes = later(&r, 0);
    assert!(changes.contains("DSS added in revision 3"), "{changes}");
    assert!(
        changes.contains("catalog /Version none → /2.0 in revision 3"),
        "{changes}"
    );
    assert!(
        changes.contains("catalog /Extensions updated in revision 3"),
        "{changes}"
    );

    // Without validation data in the same revision, /Version may not change: it says how
    // a reader must read the whole file.
    let d = doc(&sealed);
    let mut cat = d.catalog.1.clone();
    cat.set(b"Version", Object::name(b"2.0"));
    let pdf = update(
        &sealed,
        &[(d.catalog.0.num, text(&Object::Dict(cat)))],
        &[],
        &[],
    );
    let r = v.verify_pdf(&pdf, AT);
    assert_eq!(verdicts(&r), [Verdict::ModifiedAfterSealing], "{r:#?}");
    assert!(
        later(&r, 0).contains("only a revision adding validation data"),
        "{}",
        later(&r, 0)
    );
}

#[test]
fn an_identical_rewrite_is_listed_but_changes_nothing_else() {
    let d = doc(EC_BT);
    let pdf = update(
        EC_BT,
        &[(d.page.0.num, text(&Object::Dict(d.page.1.clone())))],
        &[],
        &[],
    );
    let r = verify(&pdf);
    assert_eq!(verdicts(&r), [Verdict::ValidWithAllowedLaterChanges]);
    assert!(later(&r, 0).contains("without changing them"));
}

#[test]
fn a_hybrid_update_is_modified() {
    // The table lists nothing; the /XRefStm stream (which table-only readers skip) redefines
    // the page content.
    let d = doc(EC_BT);
    let f = PdfFile::open(EC_BT, &Limits::default()).unwrap();
    let last = f.sections().last().unwrap();
    let mut out = EC_BT.to_vec();
    let content = b"BT /F1 24 Tf 72 700 Td (AMOUNT: 9000.00) Tj ET";
    let at = out.len();
    out.extend_from_slice(format!("9 0 obj\n<< /Length {} >>\nstream\n", content.len()).as_bytes());
    out.extend_from_slice(content);
    out.extend_from_slice(b"\nendstream\nendobj\n");
    let xs = out.len();
    let offset = u32::try_from(at).unwrap().to_be_bytes();
    let row = [&[1u8][..], &offset, &[0]].concat();
    out.extend_from_slice(
        format!(
            "{} 0 obj\n<< /Type /XRef /Size {} /W [1 4 1] /Index [9 1] /Length {} >>\nstream\n",
            d.next,
            d.next + 1,
            row.len()
        )
        .as_bytes(),
    );
    out.extend_from_slice(&row);
    out.extend_from_slice(b"\nendstream\nendobj\n");
    let xref = out.len();
    let mut trailer = last.trailer.clone();
    trailer.set(
        b"Prev",
        Object::Int(i64::try_from(last.xref_offset).unwrap()),
    );
    trailer.set(b"XRefStm", Object::Int(i64::try_from(xs).unwrap()));
    trailer.set(b"Size", Object::Int(i64::from(d.next + 1)));
    out.extend_from_slice(b"xref\n0 1\n0000000000 65535 f \ntrailer\n");
    trailer.write(&mut out);
    out.extend_from_slice(format!("\nstartxref\n{xref}\n%%EOF\n").as_bytes());
    let r = verify(&out);
    assert_eq!(verdicts(&r), [Verdict::ModifiedAfterSealing], "{r:#?}");
    assert!(later(&r, 0).contains("hybrid"));
}

#[test]
fn an_update_pointing_into_signed_bytes_is_refused() {
    // No new bytes for object 9: the update re-points it at another object's offset in the
    // signed revision (a shadow "hide" without writing anything visible).
    let f = PdfFile::open(EC_BT, &Limits::default()).unwrap();
    let n = f.sections().len();
    let Some(crate::pdf::Entry::InFile { offset, .. }) = f.entry(1, n) else {
        panic!()
    };
    let last = f.sections().last().unwrap();
    let mut out = EC_BT.to_vec();
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 1\n0000000000 65535 f \n9 1\n{offset:010} 00000 n \ntrailer\n").as_bytes(),
    );
    let mut trailer = last.trailer.clone();
    trailer.set(
        b"Prev",
        Object::Int(i64::try_from(last.xref_offset).unwrap()),
    );
    trailer.write(&mut out);
    out.extend_from_slice(format!("\nstartxref\n{xref}\n%%EOF\n").as_bytes());
    let r = verify(&out);
    assert_eq!(
        r.verdict,
        Verdict::Invalid,
        "the reader refuses object 1 where 9 is listed: {r:#?}"
    );
}

#[test]
fn an_update_pointing_back_at_a_superseded_object_is_modified() {
    // Prepared before signing: revision 2 replaces the page content ("1000.00" → "5.00"), so
    // the signer sees 5.00 while the 1000.00 version still sits in revision 1's bytes.
    let f = PdfFile::open(DOC_1P, &Limits::default()).unwrap();
    let d = doc(DOC_1P);
    let content = d.page.1.get(b"Contents").and_then(Object::as_ref).unwrap();
    let Some(crate::pdf::Entry::InFile { offset: old_at, .. }) = f.entry(content.num, 1) else {
        panic!()
    };
    let Object::Stream(s) = f.get(content).unwrap() else {
        panic!()
    };
    let shown = String::from_utf8_lossy(&DOC_1P[s.data.clone()]).replace("1000.00", "5.00");
    let mut body = format!("<< /Length {} >>\nstream\n", shown.len()).into_bytes();
    body.extend_from_slice(shown.as_bytes());
    body.extend_from_slice(b"\nendstream");
    let prepared = update(DOC_1P, &[(content.num, body)], &[], &[]);
    let signer = p256();
    let signed = sign_here(&prepared, &signer, "Seal", [100, 40, 300, 120]);
    // The update writes no object: its xref points the content back at the old bytes.
    let g = PdfFile::open(&signed, &Limits::default()).unwrap();
    let last = g.sections().last().unwrap();
    let mut out = signed.clone();
    let xref = out.len();
    out.extend_from_slice(
        format!(
            "xref\n0 1\n0000000000 65535 f \n{} 1\n{old_at:010} 00000 n \ntrailer\n",
            content.num
        )
        .as_bytes(),
    );
    let mut trailer = last.trailer.clone();
    trailer.set(
        b"Prev",
        Object::Int(i64::try_from(last.xref_offset).unwrap()),
    );
    trailer.write(&mut out);
    out.extend_from_slice(format!("\nstartxref\n{xref}\n%%EOF\n").as_bytes());
    let v = verifier(&[], &[&signer.root]);
    assert_eq!(v.verify_pdf(&signed, AT).verdict, Verdict::Valid);
    let r = v.verify_pdf(&out, AT);
    assert_eq!(verdicts(&r), [Verdict::ModifiedAfterSealing], "{r:#?}");
    assert!(
        later(&r, 0).contains("outside its own body"),
        "{}",
        later(&r, 0)
    );
}

// ---------------------------------------------------------------------------------------------
// Signatures made here (for the cases pyHanko will not produce)

#[test]
fn a_trusted_later_signature_made_here_is_allowed() {
    let signer = p256();
    let pdf = sign_here(EC_BT, &signer, "Counter", [100, 40, 300, 120]);
    let r = verifier(&[ROOT], &[&signer.root]).verify_pdf(&pdf, AT);
    assert_eq!(
        verdicts(&r),
        [Verdict::ValidWithAllowedLaterChanges, Verdict::Valid],
        "{r:#?}"
    );
    assert_eq!(r.verdict, Verdict::Valid);
    // A form created by the later signer (the first revision had none).
    let unsigned_base = DOC_1P.to_vec();
    let pdf = sign_here(&unsigned_base, &signer, "Only", [100, 40, 300, 120]);
    let r = verifier(&[], &[&signer.root]).verify_pdf(&pdf, AT);
    assert_eq!(verdicts(&r), [Verdict::Valid], "{r:#?}");
}

#[test]
fn a_trusted_later_signature_whose_widget_acts_is_a_change_after_sealing() {
    let signer = p256();
    for (extra, says) in [
        (
            "/AA << /PO << /S /URI /URI (https://attacker.test/) >> >>",
            "/AA /PO action /URI runs by itself",
        ),
        (
            "/A << /S /JavaScript /JS (app.alert(1)) >>",
            "a /Widget annotation with an action (/A)",
        ),
    ] {
        let pdf = sign_here_with(EC_BT, &signer, "Counter", [100, 40, 300, 120], extra);
        let r = verifier(&[ROOT], &[&signer.root]).verify_pdf(&pdf, AT);
        assert_eq!(
            verdicts(&r),
            [Verdict::ModifiedAfterSealing, Verdict::Valid],
            "{extra}: {r:#?}"
        );
        assert_eq!(r.verdict, Verdict::ModifiedAfterSealing);
        let later = later(&r, 0);
        assert!(
            later.contains("revision 3 adds active content: annotation") && later.contains(says),
            "{extra}: {later}"
        );
    }
}

#[test]
fn a_sneaky_signature_on_a_certified_document() {
    let certified = revisions(CERTIFIED_P2, 2);
    let attacker = p256();
    // A seal by an unknown key whose appearance covers the page text.
    let pdf = sign_here(&certified, &attacker, "Sneaky", [50, 500, 550, 800]);
    let r = verify(&pdf);
    assert_eq!(
        verdicts(&r),
        [Verdict::ModifiedAfterSealing, Verdict::Untrusted],
        "{r:#?}"
    );
    assert!(later(&r, 0).contains("\"Sneaky\" is not trusted"));
    assert_eq!(r.verdict, Verdict::ModifiedAfterSealing);
    // A trusted signer whose widget covers the certification seal's widget.
    let pdf = sign_here(&certified, &attacker, "Over", [400, 60, 560, 140]);
    let r = verifier(&[ROOT], &[&attacker.root]).verify_pdf(&pdf, AT);
    assert_eq!(
        verdicts(&r),
        [Verdict::ModifiedAfterSealing, Verdict::Valid],
        "{r:#?}"
    );
    assert!(later(&r, 0).contains("overlaps"));
}

#[test]
fn an_information_dictionary_that_is_also_a_font_resource_cannot_change() {
    // Prepared before signing: the trailer's /Info is the page's font resource dictionary.
    let f = PdfFile::open(DOC_1P, &Limits::default()).unwrap();
    let d = doc(DOC_1P);
    let font_res = d
        .page
        .1
        .get(b"Resources")
        .and_then(Object::as_dict)
        .unwrap()
        .get(b"Font")
        .and_then(Object::as_ref)
        .unwrap();
    let prepared = update(DOC_1P, &[], &[], &[(b"Info", Object::Ref(font_res))]);
    let signer = p256();
    let signed = sign_here(&prepared, &signer, "Seal", [100, 40, 300, 120]);
    // After signing, "updating the document information" swaps the font.
    let Object::Dict(mut fonts) = f.get(font_res).unwrap() else {
        panic!()
    };
    let first = fonts.0[0].0.clone();
    fonts.set(&first, Object::Ref(Ref::new(doc(&signed).next)));
    let attack = update(
        &signed,
        &[
            (font_res.num, text(&Object::Dict(fonts))),
            (
                doc(&signed).next,
                b"<< /Type /Font /Subtype /Type1 /BaseFont /Symbol >>".to_vec(),
            ),
        ],
        &[],
        &[],
    );
    let v = verifier(&[], &[&signer.root]);
    assert_eq!(v.verify_pdf(&signed, AT).verdict, Verdict::Valid);
    let r = v.verify_pdf(&attack, AT);
    assert_eq!(verdicts(&r), [Verdict::ModifiedAfterSealing], "{r:#?}");
    assert!(later(&r, 0).contains("also uses it elsewhere"));
}

#[test]
fn an_xmp_stream_that_is_also_page_content_cannot_change() {
    let f = PdfFile::open(DOC_1P, &Limits::default()).unwrap();
    let d = doc(DOC_1P);
    let content = d.page.1.get(b"Contents").and_then(Object::as_ref).unwrap();
    let Object::Stream(s) = f.get(content).unwrap() else {
        panic!()
    };
    assert!(
        s.dict.get(b"Filter").is_none(),
        "doc-1p's content is not compressed"
    );
    let data = &DOC_1P[s.data.clone()];
    let as_xmp = |data: &[u8]| {
        let mut o = format!(
            "<< /Type /Metadata /Subtype /XML /Length {} >>\nstream\n",
            data.len()
        )
        .into_bytes();
        o.extend_from_slice(data);
        o.extend_from_slice(b"\nendstream");
        o
    };
    let mut cat = d.catalog.1.clone();
    cat.set(b"Metadata", Object::Ref(content));
    let prepared = update(
        DOC_1P,
        &[
            (content.num, as_xmp(data)),
            (d.catalog.0.num, text(&Object::Dict(cat))),
        ],
        &[],
        &[],
    );
    let signer = p256();
    let signed = sign_here(&prepared, &signer, "Seal", [100, 40, 300, 120]);
    let forged = String::from_utf8_lossy(data).replace("1000.00", "9000.00");
    let attack = update(
        &signed,
        &[(content.num, as_xmp(forged.as_bytes()))],
        &[],
        &[],
    );
    let r = verifier(&[], &[&signer.root]).verify_pdf(&attack, AT);
    assert_eq!(verdicts(&r), [Verdict::ModifiedAfterSealing], "{r:#?}");
    assert!(later(&r, 0).contains("also uses it elsewhere"));
}

// ---------------------------------------------------------------------------------------------
// Hostile files: a clean INVALID, quickly

fn catalog_and_page() -> Vec<Vec<u8>> {
    vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 10 10] >>".to_vec(),
    ]
}

#[test]
fn an_unsigned_document_is_indeterminate() {
    let r = verify(DOC_1P);
    assert_eq!(r.verdict, Verdict::Indeterminate);
    assert_eq!(r.problems, ["no signatures found"]);
    let r = verify(&minimal_pdf(&catalog_and_page()));
    assert_eq!(r.verdict, Verdict::Indeterminate);
}

#[test]
fn deep_nesting_a_page_cycle_and_no_pages_are_invalid() {
    let mut deep = catalog_and_page();
    deep.push([b"[".repeat(20_000), b"]".repeat(20_000)].concat());
    let r = verify(&minimal_pdf(&deep));
    assert_eq!(r.verdict, Verdict::Invalid);
    assert!(
        r.problems[0].contains("nested too deeply"),
        "{:?}",
        r.problems
    );

    let mut cycle = catalog_and_page();
    cycle[1] = b"<< /Type /Pages /Kids [2 0 R] /Count 1 >>".to_vec();
    let r = verify(&minimal_pdf(&cycle));
    assert_eq!(r.verdict, Verdict::Invalid);
    assert!(r.problems[0].contains("cycle"), "{:?}", r.problems);

    let mut empty = catalog_and_page();
    empty[1] = b"<< /Type /Pages /Kids [] /Count 0 >>".to_vec();
    let r = verify(&minimal_pdf(&empty));
    assert_eq!(r.verdict, Verdict::Invalid);
    assert!(r.problems[0].contains("no pages"), "{:?}", r.problems);

    let r = verify(b"%PDF-1.7\nnothing else");
    assert_eq!(r.verdict, Verdict::Invalid);
}

#[test]
fn a_flate_bomb_is_invalid_without_inflating_it() {
    use std::io::Write as _;
    // 300 MB of zeros, deflated streaming (about 300 KB); the budget is 128 MB.
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..300 {
        z.write_all(&zeros).unwrap();
    }
    let bomb = z.finish().unwrap();
    let mut objects = catalog_and_page();
    let mut stream = format!(
        "<< /Length {} /Filter /FlateDecode >>\nstream\n",
        bomb.len()
    )
    .into_bytes();
    stream.extend_from_slice(&bomb);
    stream.extend_from_slice(b"\nendstream");
    objects.push(stream);
    let start = std::time::Instant::now();
    let r = verify(&minimal_pdf(&objects));
    eprintln!("flate bomb refused in {:?}", start.elapsed());
    assert_eq!(r.verdict, Verdict::Invalid);
    assert!(r.problems[0].contains("decompressed"), "{:?}", r.problems);
}

#[test]
fn a_field_tree_cycle_is_invalid() {
    let mut objects = catalog_and_page();
    objects[0] = b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [4 0 R] >> >>".to_vec();
    objects.push(b"<< /T (a) /Kids [5 0 R] >>".to_vec());
    objects.push(b"<< /T (b) /Kids [4 0 R] >>".to_vec());
    let r = verify(&minimal_pdf(&objects));
    assert_eq!(r.verdict, Verdict::Invalid);
    assert!(r.problems[0].contains("twice"), "{:?}", r.problems);
}

/// Random damage to signed files never panics: every outcome is a report. A smoke test of the
/// property a fuzz target would check (`PDF_MUTATIONS=n` runs more).
#[test]
fn mutated_files_never_panic() {
    let runs: usize = std::env::var("PDF_MUTATIONS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(60);
    let v = verifier(&[ROOT, SM2_ROOT], &[]);
    let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
    let mut next = move |bound: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        usize::try_from(seed % u64::try_from(bound.max(1)).unwrap()).unwrap()
    };
    let bases = [EC_BT, TWO_SEALS, CERTIFIED_P2, EC_THEN_SM2, TAMPERED];
    for i in 0..runs {
        let mut pdf = bases[i % bases.len()].to_vec();
        for _ in 0..=next(3) {
            if pdf.is_empty() {
                break;
            }
            let at = next(pdf.len());
            match next(5) {
                0 => pdf[at] = u8::try_from(next(256)).unwrap(),
                1 => pdf.truncate(at.max(16)),
                2 => {
                    let len = next(64).min(pdf.len() - at);
                    let copy = pdf[at..at + len].to_vec();
                    let to = next(pdf.len());
                    pdf.splice(to..to, copy);
                }
                3 => {
                    // Digits are what offsets and lengths are made of.
                    pdf[at] = b"0123456789"[next(10)];
                }
                _ => {
                    let len = next(32).min(pdf.len() - at);
                    pdf.drain(at..at + len);
                }
            }
        }
        let r = v.verify_pdf(&pdf, AT);
        assert!(!r.format.is_empty());
    }
}
