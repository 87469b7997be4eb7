//! Speed of the seal paths in-process: verifying the third-party sealed OFD (issue goal:
//! ≤ 2 ms per file) and building one SES_Signature v4 with an SM2 seal (what
//! `POST /v1/seals/{id}/sign` does per request, before its audit commit), and sealing an OFD
//! written by `ofd::write` (1 and 50 pages; issue goals ≤ 1 ms and ≤ 5 ms) beside its floor,
//! SM3 over every file of the package; and verifying a 10-page OFD sealed twice (goal ≤ 3 ms).

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use sidian::crypto::{KeyType, PrivateKey, SignatureAlgorithm, sm3};
use sidian::pki::{self, Certificate, Name, TrustStore};
use sidian::ses::{self, Picture, SealInfoParams};
use sidian::verify::{Revocations, Verifier};
use sm3::Digest as _;
use time::OffsetDateTime;

const OFD: &[u8] = include_bytes!("../tests/data/ses/v4signed.ofd");

fn fixture_anchors() -> TrustStore {
    use std::io::Read;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(OFD)).expect("zip");
    let mut der = Vec::new();
    zip.by_name("Doc_0/Signs/Sign_0/SignedValue.dat")
        .expect("entry")
        .read_to_end(&mut der)
        .expect("read");
    let sig = ses::Signature::from_der(&der).expect("signature");
    let mut trust = TrustStore::new();
    for cert in [sig.signer_cert(), sig.seal().maker_cert()] {
        trust.add_anchor(Certificate::from_der(cert).expect("cert"));
    }
    trust
}

fn verify_ofd(c: &mut Criterion) {
    let now = OffsetDateTime::now_utc();
    let untrusted = Verifier::new(Arc::new(TrustStore::new()), Revocations::default());
    let anchored = Verifier::new(Arc::new(fixture_anchors()), Revocations::default());
    assert_eq!(
        anchored.verify_document(OFD, None, now).verdict,
        sidian::verify::Verdict::Valid
    );
    let mut g = c.benchmark_group("verify v4signed.ofd");
    g.bench_function("no anchors (UNTRUSTED)", |b| {
        b.iter(|| untrusted.verify_document(black_box(OFD), None, now))
    });
    g.bench_function("its certificates as anchors (VALID)", |b| {
        b.iter(|| anchored.verify_document(black_box(OFD), None, now))
    });
    g.finish();
}

fn seal_sign(c: &mut Criterion) {
    let now = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .expect("time");
    let ca_key = PrivateKey::generate(KeyType::Sm2).expect("key");
    let ca = pki::self_signed(
        &ca_key,
        &Name::cn("bench CA"),
        now,
        now + time::Duration::days(30),
    )
    .expect("ca");
    // A key and its certificate under the CA (the maker signs with its own, as the vault's does).
    let under_ca = |cn: &str, profile| {
        let key = PrivateKey::generate(KeyType::Sm2).expect("key");
        let cert = pki::issue(
            &ca,
            &ca_key,
            &key.public_key(),
            &Name::cn(cn),
            profile,
            &pki::random_serial().expect("serial"),
            now,
            now + time::Duration::days(10),
        )
        .expect("certificate");
        (key, cert)
    };
    let (holder, cert) = under_ca("某某市市场监督管理局", pki::Profile::SealHolder);
    let (maker_key, maker) = under_ca("bench seal maker", pki::Profile::SealMaker);
    let image = sidian::render::render_official_seal(&sidian::render::SealImageSpec::new(
        "某某市市场监督管理局",
        "合同专用章",
    ))
    .expect("image");
    let info = ses::encode_seal_info(&SealInfoParams {
        vid: "sidian".into(),
        es_id: "10000012345678".into(),
        seal_type: 4,
        name: "某某市市场监督管理局合同专用章".into(),
        certs: vec![cert.der().to_vec()],
        create_date: now,
        valid_start: now,
        valid_end: now + time::Duration::days(10),
        picture: Picture {
            kind: "PNG".into(),
            data: image,
            width_mm: 42,
            height_mm: 42,
        },
        ext_datas: Vec::new(),
    })
    .expect("seal info");
    let maker_sig = maker_key
        .sign(SignatureAlgorithm::Sm2Sm3, &info)
        .expect("sign");
    let seal =
        ses::assemble_seal(&info, maker.der(), "1.2.156.10197.1.501", &maker_sig).expect("seal");
    let data_hash = sm3(b"approval decision");
    let mut g = c.benchmark_group(format!("SES_Signature v4, SM2, {} byte seal", seal.len()));
    g.bench_function("checked encoders", |b| {
        b.iter(|| {
            let tbs = ses::encode_tbs_sign(black_box(&seal), now, &data_hash, "decision.xml")
                .expect("tbs");
            let sig = holder.sign(SignatureAlgorithm::Sm2Sm3, &tbs).expect("sign");
            ses::assemble_signature(&tbs, cert.der(), "1.2.156.10197.1.501", &sig).expect("sig")
        })
    });
    // What the vault does per request: the seal decoded once, the hash state of
    // Z_A ‖ TBS prefix cached, so only the tail is hashed.
    let template = ses::SealTemplate::new(seal.clone()).expect("template");
    let z_a = holder.public_key().sm2_z_a().expect("sm2");
    let probe = template
        .tbs_sign(now, &data_hash, "decision.xml")
        .expect("tbs");
    // The tail after the seal: timeInfo (17), dataHash (35), propertyInfo (2 + length).
    let prefix_end = probe.der().len() - (17 + 35 + 2 + "decision.xml".len());
    let prefix = {
        let mut h = sm3::Sm3::new();
        h.update(z_a);
        h.update(&probe.der()[..prefix_end]);
        h
    };
    let tail_digest = |tbs: &[u8]| -> [u8; 32] {
        let mut h = prefix.clone();
        h.update(&tbs[prefix_end..]);
        h.finalize().into()
    };
    assert_eq!(
        Ok(tail_digest(probe.der())),
        holder
            .public_key()
            .message_digest(SignatureAlgorithm::Sm2Sm3, probe.der()),
        "the cached prefix state gives the full digest"
    );
    g.bench_function("template, cached prefix hash (the vault's path)", |b| {
        b.iter(|| {
            let tbs = template
                .tbs_sign(now, &data_hash, "decision.xml")
                .expect("tbs");
            let e = tail_digest(tbs.der());
            let sig = holder
                .sign_digest(SignatureAlgorithm::Sm2Sm3, &e)
                .expect("sign");
            template
                .signature(&tbs, cert.der(), "1.2.156.10197.1.501", &sig)
                .expect("sig")
        })
    });
    g.finish();

    // What `Vault::stamp_ofd` does per request before its audit commit: lay out one more §18
    // signature, SM3 over Signature.xml, the SES_Signature, the new zip.
    let stamp_date = "20261202093000";
    let placement = sidian::ofd::Placement::At {
        page: 1,
        x: Some(140.0),
        y: Some(230.0),
    };
    let opts = sidian::ofd::StampOptions {
        placement: &placement,
        seal_esl: &seal,
        size_mm: (42.0, 42.0),
        method_oid: "1.2.156.10197.1.501",
        date_time: stamp_date,
        provider: ("sidian", env!("CARGO_PKG_VERSION")),
    };
    let limits = sidian::ofd::Limits::default();
    let seal_ofd = |doc: &[u8], opts: &sidian::ofd::StampOptions<'_>| {
        let prepared = sidian::ofd::prepare(doc, opts, &limits).expect("prepare");
        let tbs = template
            .tbs_sign(
                now,
                &sm3(prepared.signature_xml()),
                prepared.property_info(),
            )
            .expect("tbs");
        // The whole TBS_Sign is hashed: the cached prefix above holds the TBS length, which
        // differs with this propertyInfo, so `tail_digest` would give a wrong digest here.
        let sig = holder
            .sign(SignatureAlgorithm::Sm2Sm3, tbs.der())
            .expect("sign");
        let der = template
            .signature(&tbs, cert.der(), "1.2.156.10197.1.501", &sig)
            .expect("sig");
        prepared.finish(&der).expect("zip")
    };
    let mut g = c.benchmark_group("OFD sealing, SM2");
    for pages in [1, 50] {
        let doc = ofd_document(pages);
        g.bench_function(format!("{pages} page(s), {} bytes", doc.len()), |b| {
            b.iter(|| seal_ofd(black_box(&doc), &opts))
        });
        let pkg = sidian::ofd::Package::open(&doc, &limits).expect("package");
        let names = pkg.names();
        g.bench_function(format!("{pages} page(s): floor, SM3 of every file"), |b| {
            b.iter(|| {
                for name in &names {
                    black_box(sm3(&pkg.read(name).expect("read")));
                }
            })
        });
    }
    g.finish();

    // Verifying what was sealed: a 10-page OFD with two seals (issue goal ≤ 3 ms), the vault's CA
    // as the anchor, so every check runs to VALID.
    let stamp_date = now
        .format(time::macros::format_description!(
            "[year][month][day][hour][minute][second]"
        ))
        .expect("date");
    let mut doc = ofd_document(10);
    for (page, x, y) in [(1, 140.0, 230.0), (10, 30.0, 230.0)] {
        let placement = sidian::ofd::Placement::At {
            page,
            x: Some(x),
            y: Some(y),
        };
        let opts = sidian::ofd::StampOptions {
            placement: &placement,
            date_time: &stamp_date,
            ..opts
        };
        doc = seal_ofd(&doc, &opts);
    }
    let mut trust = TrustStore::new();
    trust.add_anchor(ca.clone());
    let verifier = Verifier::new(Arc::new(trust), Revocations::default());
    let report = verifier.verify_document(&doc, None, now);
    assert_eq!(report.verdict, sidian::verify::Verdict::Valid, "{report:?}");
    assert_eq!(report.signatures.len(), 2);
    let mut g = c.benchmark_group("verify OFD sealed by sidian");
    g.bench_function(
        format!("10 pages, 2 seals, {} bytes (VALID)", doc.len()),
        |b| b.iter(|| verifier.verify_document(black_box(&doc), None, now)),
    );
    g.finish();
}

/// An OFD of `pages` A4 pages with a heading and three lines of Chinese text each.
fn ofd_document(pages: usize) -> Vec<u8> {
    use sidian::ofd::write::{Color, DocInfo, Document, Object, Page, Point, Size, Text};
    let text = |y: f64, s: &str| {
        Object::Text(Text {
            origin: Point { x: 20.0, y },
            size: 5.0,
            color: Color::BLACK,
            text: s.to_owned(),
        })
    };
    let page = |n: usize| Page {
        size: Size::A4,
        objects: vec![
            text(40.0, "行政许可决定书"),
            text(70.0, "经审查，你单位提交的申请材料齐全、符合法定形式，"),
            text(80.0, "决定准予行政许可。"),
            text(280.0, &format!("第{n}页")),
        ],
    };
    sidian::ofd::write::write(&Document {
        info: DocInfo::new([7; 16], time::macros::date!(2026 - 12 - 02)),
        pages: (1..=pages).map(page).collect(),
        template: None,
        custom_tags: Vec::new(),
    })
    .expect("write")
}

criterion_group!(benches, verify_ofd, seal_sign);
criterion_main!(benches);
