//! Speed of PDF sealing in-process, the counterpart of pyHanko's `pyhanko_bench.py` (one
//! process, key loaded once, seal image prepared once as the vault caches it per seal): lay
//! out the incremental update, hash the byte ranges, sign the CMS, fill the hole. Issue goals:
//! ≤ 0.24 ms per 1-page P-256 seal, ≤ 2 ms per 200-page seal. `tools/bench-pdf.sh` runs this
//! beside pyHanko. `licence pdf`: a licence face written by `pdf::write` (issue goal with the
//! seal: ≤ 3 ms), alone and then sealed with P-256 and certified (DocMDP P1).

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
    stamp_at(doc, s, image, 100.0, Certify::None)
}

fn stamp_at(doc: &[u8], s: &Signer, image: &SealImage, x: f64, certify: Certify) -> Vec<u8> {
    let now = OffsetDateTime::now_utc();
    let opts = StampOptions {
        placement: Placement {
            page: 1,
            x: Some(x),
            y: Some(100.0),
            cross_page: false,
        },
        appearance: sidian::pdf::Appearance::Image(image),
        certify,
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
        doc = stamp_at(&doc, &s, &image, x, Certify::None);
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

/// A licence face as `licence::face` lays one out: an A4 page, a border, the title, a dozen
/// labelled fields in Chinese (about 120 distinct characters) and a QR code picture.
fn licence_face() -> sidian::ofd::write::Document {
    use sidian::ofd::write::{
        Color, DocInfo, Document, Image, Object, Page, Path, Point, Rect, Size, Stroke, Text,
    };
    let text = |x: f64, y: f64, size_pt: f64, s: &str| {
        Object::Text(Text {
            origin: Point { x, y },
            size: size_pt * 0.3528,
            color: Color::BLACK,
            text: s.to_owned(),
        })
    };
    let fields = [
        ("经营者名称", "某某市某某区某某餐饮管理有限公司"),
        ("统一社会信用代码", "91370102MA3C4L2X5Q"),
        ("法定代表人", "张三丰"),
        ("住所", "山东省济南市历下区泉城路一百八十八号"),
        ("经营场所", "山东省济南市历下区泉城路一百八十八号一层"),
        ("主体业态", "餐饮服务经营者（中型餐馆）"),
        ("经营项目", "热食类食品制售；冷食类食品制售；生食类食品制售"),
        ("许可证编号", "JY23701020000123"),
        ("日常监督管理机构", "历下区市场监督管理局泉城路监管所"),
        ("日常监督管理人员", "李四、王五"),
        ("投诉举报电话", "12315"),
        ("有效期至", "2029年05月05日"),
        ("发证机关", "济南市历下区市场监督管理局"),
        ("签发日期", "2024年05月06日"),
    ];
    let mut objects = vec![
        Object::Path(Path::rect(
            Rect {
                x: 10.0,
                y: 10.0,
                width: 190.0,
                height: 277.0,
            },
            Some(Stroke {
                width: 0.8,
                color: Color { r: 160, g: 0, b: 0 },
            }),
            None,
        )),
        text(62.0, 45.0, 26.0, "食品经营许可证"),
    ];
    for (i, (label, value)) in fields.iter().enumerate() {
        let y = 80.0 + 12.0 * i as f64;
        objects.push(text(25.0, y, 11.0, label));
        objects.push(text(75.0, y, 11.0, value));
    }
    // A 37-module QR-like picture, 4 pixels a module.
    let side: u32 = 37 * 4;
    let mut px = vec![255u8; (side * side) as usize];
    for (i, p) in px.iter_mut().enumerate() {
        let (x, y) = ((i % side as usize) / 4, (i / side as usize) / 4);
        if (x * 7 + y * 13) % 5 < 2 {
            *p = 0;
        }
    }
    let mut png = Vec::new();
    let mut enc = png::Encoder::new(&mut png, side, side);
    enc.set_color(png::ColorType::Grayscale);
    let mut w = enc.write_header().expect("png");
    w.write_image_data(&px).expect("png");
    w.finish().expect("png");
    objects.push(Object::Image(Image {
        png,
        rect: Rect {
            x: 160.0,
            y: 15.0,
            width: 30.0,
            height: 30.0,
        },
    }));
    let mut info = DocInfo::new([7; 16], time::macros::date!(2024 - 05 - 06));
    info.title = Some("食品经营许可证".into());
    Document {
        info,
        pages: vec![Page {
            size: Size::A4,
            objects,
        }],
        template: None,
        custom_tags: Vec::new(),
    }
}

fn licence_pdf(c: &mut Criterion) {
    let face = licence_face();
    let meta = sidian::pdf::write::Metadata {
        title: "食品经营许可证".into(),
        custom: vec![
            (
                "LicenceID".into(),
                "1.2.156.3005.2.11370102MB28543212.JY001.0001".into(),
            ),
            ("LicenceType".into(), "11100000000013338WJY001".into()),
            ("LicenceIssuer".into(), "11370102MB28543212".into()),
        ],
    };
    let image = image();
    let s = signer(KeyType::P256);
    let mut g = c.benchmark_group("licence pdf");
    g.bench_function("write licence PDF", |b| {
        b.iter(|| sidian::pdf::write::document(black_box(&face), &meta).expect("write"))
    });
    g.bench_function("write + seal licence PDF", |b| {
        b.iter(|| {
            let pdf = sidian::pdf::write::document(black_box(&face), &meta).expect("write");
            stamp_at(&pdf, &s, &image, 340.0, Certify::NoChanges)
        })
    });
    g.finish();
}

criterion_group!(benches, stamping, verification, licence_pdf);
criterion_main!(benches);
