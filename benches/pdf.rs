//! Speed of PDF sealing in-process, the counterpart of pyHanko's `pyhanko_bench.py` (one
//! process, key loaded once, seal image prepared once as the vault caches it per seal): lay
//! out the incremental update, hash the byte ranges, sign the CMS, fill the hole. Issue goals:
//! ≤ 0.24 ms per 1-page P-256 seal, ≤ 2 ms per 200-page seal. `tools/bench-pdf.sh` runs this
//! beside pyHanko.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use sidian::cms::{self, Content, OID_DATA, SignOptions, SignerInput};
use sidian::crypto::{KeyType, PrivateKey};
use sidian::pdf::{self, Certify, Limits, Placement, SealImage, StampOptions, SubFilter};
use sidian::pki::{self, Certificate, Name, Profile};
use time::{Duration, OffsetDateTime};

const DOC_1P: &[u8] = include_bytes!("../tests/data/pdf/doc-1p.pdf");
const DOC_200P: &[u8] = include_bytes!("../tests/data/pdf/doc-200p.pdf");

struct Signer {
    key: PrivateKey,
    cert: Certificate,
    ca: Certificate,
}

fn signer(key_type: KeyType) -> Signer {
    let now = OffsetDateTime::now_utc();
    let ca_key = PrivateKey::generate(key_type).expect("key");
    let ca = pki::self_signed(
        &ca_key,
        &Name::cn("bench CA"),
        now - Duration::days(1),
        now + Duration::days(30),
    )
    .expect("ca");
    let key = PrivateKey::generate(key_type).expect("key");
    let cert = pki::issue(
        &ca,
        &ca_key,
        &key.public_key(),
        &Name::cn("bench seal"),
        Profile::SealHolder,
        &pki::random_serial().expect("serial"),
        ca.not_before(),
        ca.not_after(),
    )
    .expect("cert");
    Signer { key, cert, ca }
}

fn image() -> SealImage {
    let png = sidian::render::render_official_seal(&sidian::render::SealImageSpec::new(
        "某某市市场监督管理局",
        "合同专用章",
    ))
    .expect("png");
    pdf::seal_image(&sidian::ses::Picture {
        kind: "PNG".into(),
        data: png,
        width_mm: 40,
        height_mm: 40,
    })
    .expect("image")
}

/// One seal: what `Vault::stamp_pdf` does per request before its audit commit.
fn stamp(doc: &[u8], s: &Signer, image: &SealImage) -> Vec<u8> {
    stamp_at(doc, s, image, 100.0)
}

fn stamp_at(doc: &[u8], s: &Signer, image: &SealImage, x: f64) -> Vec<u8> {
    let now = OffsetDateTime::now_utc();
    let opts = StampOptions {
        placement: Placement {
            page: 1,
            x: Some(x),
            y: Some(100.0),
            cross_page: false,
        },
        image,
        certify: Certify::None,
        sub_filter: SubFilter::CadesDetached,
        signer_name: "bench seal",
        signing_time: now,
        text: Default::default(),
        field: None,
        keyword: None,
        capacity: 6000,
    };
    let p = pdf::prepare(doc, &opts, &Limits::default()).expect("prepare");
    let digest = p.digest(cms::digest_algorithm(s.key.key_type()));
    let cms = cms::sign(
        &SignerInput {
            cert: &s.cert,
            key: &s.key,
            chain: std::slice::from_ref(&s.ca),
            include_certs: true,
        },
        Content::Detached { digest: &digest },
        &SignOptions {
            content_type: OID_DATA,
            signing_time: Some(now),
            ess_signing_certificate_v2: true,
            extra_signed_attrs: &[],
        },
    )
    .expect("cms");
    p.finish(&cms).expect("finish")
}

fn stamping(c: &mut Criterion) {
    let image = image();
    let mut g = c.benchmark_group("stamp");
    for (name, kt) in [("P-256", KeyType::P256), ("RSA-2048", KeyType::Rsa2048)] {
        let s = signer(kt);
        g.bench_function(format!("1-page {name}"), |b| {
            b.iter(|| stamp(black_box(DOC_1P), &s, &image))
        });
        g.bench_function(format!("200-page {name}"), |b| {
            b.iter(|| stamp(black_box(DOC_200P), &s, &image))
        });
    }
    g.finish();
}

/// The full verdict (CMS, chain, coverage, difference analysis of every later revision) of a
/// 200-page PDF with three seals, each its own revision. The file and its root are written to
/// `target/bench-pdf/` so that `tools/bench-pdf.sh` gives pyHanko the very same file.
fn verification(c: &mut Criterion) {
    use sidian::verify::{Revocations, Verdict, Verifier};
    let image = image();
    let s = signer(KeyType::P256);
    let mut doc = DOC_200P.to_vec();
    for x in [20.0, 200.0, 380.0] {
        doc = stamp_at(&doc, &s, &image, x);
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-pdf");
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("200p-3seals.pdf"), &doc).expect("write");
    std::fs::write(dir.join("root.pem"), s.ca.to_pem()).expect("write");
    let mut trust = sidian::pki::TrustStore::new();
    trust.add_anchor(s.ca.clone());
    let verifier = Verifier::new(std::sync::Arc::new(trust), Revocations::default());
    let now = OffsetDateTime::now_utc();
    let report = verifier.verify_document(&doc, None, now);
    assert_eq!(report.verdict, Verdict::Valid, "{report:?}");
    assert_eq!(report.signatures.len(), 3);
    c.bench_function("verify/200-page, 3 P-256 seals", |b| {
        b.iter(|| verifier.verify_document(black_box(&doc), None, now))
    });
}

criterion_group!(benches, stamping, verification);
criterion_main!(benches);
