//! Cost of handwritten signatures: signing a 1-page PDF with a 2,000-point capture (the capture
//! checked and hashed, the strokes drawn as paths, the revision laid out, the PAdES signature
//! made with P-256 and the hole filled; what `Vault::handsign_pdf` does around its audit
//! commit), and comparing a 2,000-point sample (a long signature on a fast pad) against one
//! 2,000-point reference, and `compare` against four, which also measures the references'
//! spread (4 sample-to-reference and 6 reference-to-reference warps).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use sidian::cms::DigestAlg;
use sidian::crypto::{KeyType, PrivateKey};
use sidian::handsign::capture::Capture;
use sidian::handsign::compare::{compare, distance};
use sidian::handsign::pdf::PdfSigning;
use sidian::handsign::{Binding, draw, synthetic};
use sidian::pdf::{PT_PER_MM, Placement};
use sidian::pki::{self, Name};
use time::{Duration, OffsetDateTime};

const POINTS: usize = 2_000;
const DOC_1P: &[u8] = include_bytes!("../tests/data/pdf/doc-1p.pdf");

fn signing(c: &mut Criterion) {
    let key = PrivateKey::generate(KeyType::P256).expect("key");
    let now = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .expect("whole second");
    let cert = pki::self_signed(
        &key,
        &Name::cn("张三"),
        now - Duration::hours(1),
        now + Duration::days(365),
    )
    .expect("certificate");
    let capture = synthetic::genuine_with_points(&synthetic::signer(1), 1, POINTS);
    let json = serde_json::to_vec(&capture).expect("json");
    c.bench_function(
        "handsign: sign a 1-page PDF, 2,000-point capture, P-256",
        |b| {
            b.iter(|| {
                let capture = Capture::from_json(black_box(&json)).expect("capture");
                let binding =
                    Binding::of(DigestAlg::Sha256, &capture.canonical(), &capture.consent);
                let art = draw::vector_art(&capture, 60.0, 24.0);
                let (prepared, cms, _) = PdfSigning {
                    key: &key,
                    cert: &cert,
                    chain: &[],
                    art: &art,
                    binding: &binding,
                    name: "张*",
                    placement: Placement {
                        page: 1,
                        x: Some(30.0 * PT_PER_MM),
                        y: Some(40.0 * PT_PER_MM),
                        cross_page: false,
                    },
                    now,
                    capacity: 4096,
                }
                .sign(black_box(DOC_1P))
                .expect("signed");
                prepared.finish(&cms).expect("finished")
            })
        },
    );
}

fn comparing(c: &mut Criterion) {
    let style = synthetic::signer(1);
    let sample = synthetic::genuine_with_points(&style, 1, POINTS);
    let refs: Vec<Capture> = (0..4)
        .map(|i| synthetic::genuine_with_points(&style, 100 + i, POINTS))
        .collect();

    let mut g = c.benchmark_group("handsign-compare-2000-points");
    g.bench_function("per pair", |b| {
        b.iter(|| distance(black_box(&sample), black_box(&refs[0])).expect("distance"))
    });
    g.bench_function("compare, 4 references", |b| {
        b.iter(|| compare(black_box(&sample), black_box(&refs)).expect("compare"))
    });
    g.finish();
}

criterion_group!(benches, signing, comparing);
criterion_main!(benches);
