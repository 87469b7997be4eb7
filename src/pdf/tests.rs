#![allow(clippy::unwrap_used)]

use super::*;

pub(crate) const DOC_1P: &[u8] = include_bytes!("../../tests/data/pdf/doc-1p.pdf");
pub(crate) const DOC_200P: &[u8] = include_bytes!("../../tests/data/pdf/doc-200p.pdf");

#[test]
fn reads_reportlab_documents() {
    for (doc, pages) in [(DOC_1P, 1), (DOC_200P, 200)] {
        let f = PdfFile::open(doc, &Limits::default()).unwrap();
        assert_eq!(f.sections().len(), 1);
        assert_eq!(f.pages_at(1).unwrap().len(), pages);
        assert!(f.check_all_objects().unwrap() > pages);
        let eof = f.sections()[0].eof;
        assert_eq!(&doc[eof - 5..eof], b"%%EOF");
    }
}

#[test]
fn refuses_broken_structure() {
    let l = Limits::default();
    assert!(matches!(PdfFile::open(b"hello", &l), Err(PdfError::NotPdf)));
    let mut cut = DOC_1P.to_vec();
    cut.truncate(cut.len() - 40);
    assert!(PdfFile::open(&cut, &l).is_err());
    // An xref offset that points one byte off is refused, not repaired.
    let s = String::from_utf8_lossy(DOC_1P).into_owned();
    let at = s.rfind("startxref").unwrap();
    let n: usize = s[at + 10..]
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let moved = format!("{}startxref\n{}\n%%EOF\n", &s[..at], n + 1);
    assert!(PdfFile::open(moved.as_bytes(), &l).is_err());
}

/// A seal picture rendered the way the vault renders official seals (40 mm).
pub(crate) fn seal_picture() -> SealImage {
    let png = crate::render::render_official_seal(&crate::render::SealImageSpec::new(
        "某某市市场监督管理局",
        "合同专用章",
    ))
    .unwrap();
    seal_image(&crate::ses::Picture {
        kind: "PNG".into(),
        data: png,
        width_mm: 40,
        height_mm: 40,
    })
    .unwrap()
}

/// Stamps `doc` with a fresh key of `key_type` (certificate from the cms test fixture).
pub(crate) fn stamp_with(
    doc: &[u8],
    fx: &crate::cms::tests::Fixture,
    certify: Certify,
    placement: Placement,
) -> Vec<u8> {
    use crate::cms::{Content, OID_DATA, SignOptions, digest_algorithm, sign};
    let image = seal_picture();
    let opts = StampOptions {
        placement,
        appearance: Appearance::Image(&image),
        certify,
        sub_filter: SubFilter::CadesDetached,
        signer_name: "某某公司",
        signing_time: time::OffsetDateTime::now_utc(),
        text: Default::default(),
        field: None,
        keyword: None,
        capacity: 8192,
    };
    let p = prepare(doc, &opts, &Limits::default()).unwrap();
    let alg = digest_algorithm(fx.key.key_type());
    let cms = sign(
        &fx.signer(),
        Content::Detached {
            digest: &p.digest(alg),
        },
        &SignOptions {
            content_type: OID_DATA,
            signing_time: Some(opts.signing_time),
            ess_signing_certificate_v2: true,
            extra_signed_attrs: &[],
        },
    )
    .unwrap();
    p.finish(&cms).unwrap()
}

#[test]
fn stamps_by_incremental_update() {
    use crate::crypto::KeyType;
    use crate::pki::Profile;
    let fx = crate::cms::tests::fixture(KeyType::P256, Profile::SealHolder);
    for doc in [DOC_1P, DOC_200P] {
        let out = stamp_with(
            doc,
            &fx,
            Certify::None,
            Placement {
                page: 1,
                x: Some(100.0),
                y: Some(100.0),
                cross_page: false,
            },
        );
        assert_eq!(&out[..doc.len()], doc, "original bytes untouched");
        let f = PdfFile::open(&out, &Limits::default()).unwrap();
        assert_eq!(f.sections().len(), 2);
        assert_eq!(f.sections()[1].eof + 1, out.len());
        f.check_all_objects().unwrap();
        if let Ok(dir) = std::env::var("SIDIAN_PDF_OUT") {
            let name = format!("{dir}/stamped-{}.pdf", doc.len());
            std::fs::write(name, &out).unwrap();
            std::fs::write(format!("{dir}/root.pem"), fx.root.to_pem()).unwrap();
        }
    }
}

const TWO_SEALS: &[u8] = include_bytes!("../../tests/data/pdf/two-seals.pdf");
const CERTIFIED_P1: &[u8] = include_bytes!("../../tests/data/pdf/certified-p1-then-seal.pdf");
const PAGES_200: &[u8] = include_bytes!("../../tests/data/pdf/200p-3sigs.pdf");

#[test]
fn signature_facts_of_a_pyhanko_document() {
    let f = PdfFile::open(TWO_SEALS, &Limits::default()).unwrap();
    let first_page = f.pages_at(3).unwrap()[0];
    let sigs = find_signatures(&f).unwrap();
    assert_eq!(sigs.len(), 2);
    let (a, b) = (&sigs[0], &sigs[1]);
    assert!(a.structure_ok() && b.structure_ok(), "{:#?}", a.checks);
    assert_eq!(
        (a.field.name.as_str(), b.field.name.as_str()),
        ("Seal1", "Seal2")
    );
    assert_eq!((a.revision, b.revision), (Some(1), Some(2)));
    assert_eq!(a.sig_type, Some(SigType::Signature));
    assert_eq!(a.sub_filter, Some(SubFilter::CadesDetached));
    assert!(!a.covers_whole_file && b.covers_whole_file);
    assert_eq!(a.name.as_deref(), Some("Test Seal EC"));
    assert_eq!(a.reason.as_deref(), Some("sidian test fixture"));
    assert!(a.claimed_time.is_some());
    assert_eq!(a.doc_mdp, None);
    assert_eq!(a.field.widgets[0].page, Some(first_page));
    assert_eq!(a.field.widgets[0].rect, Some([380.0, 40.0, 540.0, 120.0]));
    // The CMS is cut at its DER length: one SEQUENCE, no padding.
    let cms = a.contents.as_deref().unwrap();
    assert_eq!(cms[0], 0x30);
    assert!(crate::cms::parse(cms).is_ok());
    let br = a.byte_range.as_ref().unwrap();
    assert_eq!(br.end, f.sections()[1].eof + 1);
    assert_eq!(&TWO_SEALS[br.hole.start..br.hole.start + 1], b"<");

    let later = later_changes(&f, &sigs);
    let first = later[0].as_ref().unwrap();
    assert_eq!(first.added_signatures, [b.sig_ref.unwrap()]);
    assert!(first.disallowed.is_empty(), "{first:#?}");
    assert!(!first.beyond_signatures);
    assert_eq!(later[1], Some(LaterChanges::default()));

    // The form as of each revision.
    assert!(form_fields(&f, 1).unwrap().is_empty());
    assert_eq!(form_fields(&f, 2).unwrap().len(), 1);
    assert_eq!(form_fields(&f, 3).unwrap().len(), 2);
}

#[test]
fn certification_and_document_time_stamps() {
    let f = PdfFile::open(CERTIFIED_P1, &Limits::default()).unwrap();
    let sigs = find_signatures(&f).unwrap();
    assert_eq!(sigs[0].doc_mdp, Some(1));
    assert_eq!(sigs[1].doc_mdp, None);
    let later = later_changes(&f, &sigs);
    let first = later[0].as_ref().unwrap();
    assert!(first.disallowed[0].contains("DocMDP P1"), "{first:#?}");

    let f = PdfFile::open(PAGES_200, &Limits::default()).unwrap();
    let sigs = find_signatures(&f).unwrap();
    assert_eq!(sigs.len(), 3);
    assert_eq!(sigs[2].sig_type, Some(SigType::DocTimeStamp));
    assert_eq!(sigs[2].sub_filter, Some(SubFilter::Rfc3161));
    // Seal2 sits on the last page.
    assert_eq!(
        sigs[1].field.widgets[0].page,
        f.pages_at(4).unwrap().last().copied()
    );
    let later = later_changes(&f, &sigs);
    assert_eq!(later[0].as_ref().unwrap().added_signatures.len(), 2);
}
