//! PDF stamping through the API: every algorithm and level, several seals on one document,
//! the foreign-PDF policy, and the typed errors of bad requests.

mod common;

use axum::http::StatusCode;
use common::{TestVault, call_bytes, json_answer};
use serde_json::json;
use sidian::pdf::{Limits, PdfFile};

const DOC_1P: &[u8] = include_bytes!("data/pdf/doc-1p.pdf");
const DOC_200P: &[u8] = include_bytes!("data/pdf/doc-200p.pdf");

async fn create_seal(tv: &TestVault, key: &str, alg: &str) -> String {
    common::create_contract_seal(tv, key, alg).await
}

async fn stamp(
    tv: &TestVault,
    key: &str,
    seal: &str,
    query: &str,
    pdf: &[u8],
) -> (StatusCode, Vec<u8>) {
    call_bytes(
        tv,
        &format!("/v1/seals/{seal}/stamp?{query}"),
        Some(key),
        "application/pdf",
        pdf.to_vec(),
    )
    .await
}

async fn stamp_ok(tv: &TestVault, key: &str, seal: &str, query: &str, pdf: &[u8]) -> Vec<u8> {
    let (status, out) = stamp(tv, key, seal, query, pdf).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&out));
    out
}

async fn error_code(
    tv: &TestVault,
    key: &str,
    seal: &str,
    query: &str,
    pdf: &[u8],
) -> (StatusCode, String) {
    let (status, body) = json_answer(stamp(tv, key, seal, query, pdf).await);
    let code = body["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        !body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .is_empty(),
        "{body}"
    );
    (status, code)
}

async fn verdict(tv: &TestVault, pdf: &[u8]) -> String {
    let (status, report) = json_answer(
        call_bytes(
            tv,
            "/v1/documents/verify",
            None,
            "application/pdf",
            pdf.to_vec(),
        )
        .await,
    );
    assert_eq!(status, StatusCode::OK, "{report}");
    report["verdict"].as_str().unwrap_or_default().to_owned()
}

fn sections(pdf: &[u8]) -> usize {
    let f = PdfFile::open(pdf, &Limits::default()).expect("stamped output opens strictly");
    f.check_all_objects().expect("every object reads");
    f.sections().len()
}

async fn stamping(tv: &TestVault) {
    let a = tv.client("approval-a", &[]).await;
    let b = tv.client("approval-b", &[]).await;
    for alg in ["p256", "rsa2048", "sm2"] {
        let seal = create_seal(tv, &a, alg).await;
        for (doc, query) in [
            (DOC_1P, "page=1&x=20&y=20&unit=mm"),
            (DOC_200P, "page=200&level=b-t"),
            (DOC_1P, "certify=p2&subfilter=pkcs7&x=100&y=100&unit=pt"),
        ] {
            let out = stamp_ok(tv, &a, &seal, query, doc).await;
            assert_eq!(&out[..doc.len()], doc, "{alg} {query}: original bytes kept");
            assert_eq!(sections(&out), 2, "{alg} {query}");
            assert_eq!(verdict(tv, &out).await, "VALID", "{alg} {query}");
        }
        // A second seal on the output is a third revision; the first two stay byte-identical.
        let once = stamp_ok(tv, &a, &seal, "x=20&y=20", DOC_1P).await;
        let twice = stamp_ok(tv, &a, &seal, "x=120&y=20", &once).await;
        assert_eq!(&twice[..once.len()], once.as_slice());
        assert_eq!(sections(&twice), 3);
        assert_eq!(verdict(tv, &twice).await, "VALID");
        // A 骑缝章 over all 200 pages is one signature; it must come first.
        let cross = stamp_ok(tv, &a, &seal, "cross_page=true&level=b-t", DOC_200P).await;
        assert_eq!(verdict(tv, &cross).await, "VALID");
        // Split into groups as on paper: no strip of the 42 mm seal is under 3 mm wide (give or
        // take the rounding of the written /Rect).
        let widths = strip_widths_mm(&cross[DOC_200P.len()..]);
        assert_eq!(widths.len(), 200, "one strip a page");
        assert!(widths.iter().all(|&w| w >= 3.0 - 1e-3), "{widths:?}");
        assert_eq!(
            error_code(tv, &a, &seal, "cross_page=true", &once).await,
            (StatusCode::UNPROCESSABLE_ENTITY, "pdf_refused".into())
        );
        assert_eq!(
            error_code(tv, &a, &seal, "cross_page=true", DOC_1P).await,
            (StatusCode::UNPROCESSABLE_ENTITY, "pdf_refused".into())
        );
        // Certifying is for the first signature only.
        assert_eq!(
            error_code(tv, &a, &seal, "certify=p1", &once).await,
            (StatusCode::UNPROCESSABLE_ENTITY, "pdf_refused".into())
        );
        // Another system's seal does not exist for B.
        assert_eq!(
            error_code(tv, &b, &seal, "", DOC_1P).await,
            (StatusCode::NOT_FOUND, "not_found".into())
        );
    }

    let seal = create_seal(tv, &a, "p256").await;
    for (query, status, code) in [
        ("unit=furlong", StatusCode::BAD_REQUEST, "invalid_request"),
        ("certify=p3", StatusCode::BAD_REQUEST, "invalid_request"),
        ("level=b-ltv", StatusCode::BAD_REQUEST, "invalid_request"),
        ("page=0", StatusCode::BAD_REQUEST, "invalid_request"),
        ("x=-5", StatusCode::BAD_REQUEST, "invalid_request"),
        ("owner=b", StatusCode::BAD_REQUEST, "invalid_request"),
        ("page=2", StatusCode::UNPROCESSABLE_ENTITY, "pdf_refused"),
        ("x=1000", StatusCode::UNPROCESSABLE_ENTITY, "pdf_refused"),
    ] {
        assert_eq!(
            error_code(tv, &a, &seal, query, DOC_1P).await,
            (status, code.to_owned()),
            "{query}"
        );
    }
    assert_eq!(
        error_code(tv, &a, &seal, "", b"%PDF-1.7\nnot really").await,
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_pdf".into())
    );
    let (status, body) = json_answer(
        call_bytes(
            tv,
            &format!("/v1/seals/{seal}/stamp"),
            Some(&a),
            "text/plain",
            DOC_1P.to_vec(),
        )
        .await,
    );
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{body}");

    // Active content is refused; an unsigned file with a stray revision is normalised.
    let js = add_revision(DOC_1P, |catalog| {
        catalog.replace(
            "<<",
            "<< /OpenAction << /S /JavaScript /JS (app.alert(1)) >>",
        )
    });
    assert_eq!(
        error_code(tv, &a, &seal, "", &js).await,
        (StatusCode::UNPROCESSABLE_ENTITY, "pdf_refused".into())
    );
    let revised = add_revision(DOC_1P, |catalog| catalog);
    let out = stamp_ok(tv, &a, &seal, "", &revised).await;
    assert_ne!(&out[..revised.len()], revised.as_slice(), "rewritten");
    assert_eq!(sections(&out), 2, "one clean revision plus the seal's");
    assert!(
        !out.windows(12).any(|w| w == b"(stray text)"),
        "the unreferenced object is gone"
    );

    // A revoked seal stamps nothing.
    let (status, _) = tv
        .post(
            &format!("/v1/seals/{seal}/revoke"),
            &a,
            json!({"reason": "lost"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        error_code(tv, &a, &seal, "", DOC_1P).await,
        (StatusCode::CONFLICT, "seal_revoked".into())
    );
}

/// `doc` plus an incremental update that rewrites the catalog through `edit` and adds an
/// unreferenced object.
fn add_revision(doc: &[u8], edit: impl FnOnce(String) -> String) -> Vec<u8> {
    let f = PdfFile::open(doc, &Limits::default()).expect("open");
    let root = f
        .trailer()
        .get(b"Root")
        .and_then(sidian::pdf::Object::as_ref)
        .expect("root");
    let size = f
        .trailer()
        .get(b"Size")
        .and_then(sidian::pdf::Object::as_int)
        .expect("size");
    let prev = f.sections()[0].xref_offset;
    let mut catalog = Vec::new();
    f.get(root).expect("catalog").write(&mut catalog);
    let catalog = edit(String::from_utf8(catalog).expect("ascii"));
    let mut out = doc.to_vec();
    let at_catalog = out.len();
    out.extend_from_slice(format!("{} 0 obj\n{catalog}\nendobj\n", root.num).as_bytes());
    let at_stray = out.len();
    out.extend_from_slice(format!("{size} 0 obj\n(stray text)\nendobj\n").as_bytes());
    let xref = out.len();
    out.extend_from_slice(
        format!(
            "xref\n{} 1\n{at_catalog:010} 00000 n\r\n{size} 1\n{at_stray:010} 00000 n\r\ntrailer\n<</Size {}/Root {} 0 R/Prev {prev}>>\nstartxref\n{xref}\n%%EOF\n",
            root.num,
            size + 1,
            root.num
        )
        .as_bytes(),
    );
    out
}

#[tokio::test]
async fn stamping_sqlite() {
    stamping(&TestVault::open(None).await).await;
}

#[tokio::test]
async fn stamping_postgres() {
    let Some(db) = common::PgDatabase::create().await else {
        return;
    };
    stamping(&TestVault::open(Some(db.url.clone())).await).await;
    db.drop_db().await;
}

/// With `tsa_url` set, B-T seals carry a token from that TSA (a local RFC 3161 server here),
/// and an unreachable TSA is a typed 502, not a seal without its timestamp.
#[tokio::test]
async fn b_t_with_an_external_tsa() {
    use sidian::crypto::{KeyType, PrivateKey};
    use sidian::pki::{self, Name, Profile};
    use time::{Duration, OffsetDateTime};

    let now = OffsetDateTime::now_utc();
    let root_key = PrivateKey::generate(KeyType::P256).expect("key");
    let root = pki::self_signed(
        &root_key,
        &Name::cn("external TSA root"),
        now - Duration::days(1),
        now + Duration::days(30),
    )
    .expect("root");
    let tsa_key = PrivateKey::generate(KeyType::P256).expect("key");
    let tsa_cert = pki::issue(
        &root,
        &root_key,
        &tsa_key.public_key(),
        &Name::cn("external TSA"),
        Profile::TimeStamping,
        &pki::random_serial().expect("serial"),
        root.not_before(),
        root.not_after(),
    )
    .expect("tsa cert");
    let (cert, key) = (tsa_cert.clone(), std::sync::Arc::new(tsa_key));
    let app = axum::Router::new().route(
        "/tsa",
        axum::routing::post(move |body: axum::body::Bytes| {
            let (cert, key) = (cert.clone(), key.clone());
            async move {
                let tsa = sidian::tsa::Tsa {
                    cert: &cert,
                    key: &key,
                    chain: &[],
                    policy: "1.2.3.4",
                };
                let serial = pki::random_serial().expect("serial");
                tsa.respond(&body, &serial, OffsetDateTime::now_utc())
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });

    let tv = TestVault::open_with(None, |c, _| {
        c.tsa_url = Some(format!("http://{addr}/tsa"));
    })
    .await;
    let a = tv.client("approval-a", &[]).await;
    let seal = create_seal(&tv, &a, "p256").await;
    let out = stamp_ok(&tv, &a, &seal, "level=b-t", DOC_1P).await;
    let tsa_hex = hex::encode_upper(tsa_cert.der());
    assert!(
        out.windows(tsa_hex.len()).any(|w| w == tsa_hex.as_bytes()),
        "the external TSA's certificate is in the signature's token"
    );

    let down = TestVault::open_with(None, |c, _| {
        c.tsa_url = Some("http://127.0.0.1:9/tsa".into());
    })
    .await;
    let a = down.client("approval-a", &[]).await;
    let seal = create_seal(&down, &a, "p256").await;
    assert_eq!(
        error_code(&down, &a, &seal, "level=b-t", DOC_1P).await,
        (StatusCode::BAD_GATEWAY, "tsa_unavailable".into())
    );
}

/// A signed input is never rewritten: a seal on pyHanko's two-signature file with xref and
/// object streams goes in as a third revision with an xref stream of its own, and all three
/// signatures stay valid (the fixture's root is a trust anchor here).
#[tokio::test]
async fn a_seal_on_a_signed_xref_stream_document() {
    let input = include_bytes!("data/pdf/xref-streams.pdf");
    let tv = TestVault::open_with(None, |c, tmp| {
        let dir = tmp.join("trusted");
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::write(dir.join("root.pem"), include_bytes!("data/pdf/root.pem")).expect("root");
        c.trust_dir = Some(dir);
    })
    .await;
    let a = tv.client("approval-a", &[]).await;
    let seal = create_seal(&tv, &a, "p256").await;
    let out = stamp_ok(&tv, &a, &seal, "x=100&y=100", input).await;
    assert_eq!(&out[..input.len()], input.as_slice());
    let f = PdfFile::open(&out, &Limits::default()).expect("open");
    assert_eq!(
        f.sections().last().map(|s| s.kind),
        Some(sidian::pdf::XrefKind::Stream)
    );
    let (status, report) =
        json_answer(call_bytes(&tv, "/v1/documents/verify", None, "application/pdf", out).await);
    assert_eq!(status, StatusCode::OK);
    assert_eq!(report["verdict"], "VALID", "{report}");
    let verdicts: Vec<&str> = report["signatures"]
        .as_array()
        .expect("signatures")
        .iter()
        .map(|s| s["verdict"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        verdicts,
        [
            "VALID_WITH_ALLOWED_LATER_CHANGES",
            "VALID_WITH_ALLOWED_LATER_CHANGES",
            "VALID"
        ]
    );
}

/// Widths in millimetres of every annotation rectangle (`/Rect [x0 y0 x1 y1]`) in `update`.
fn strip_widths_mm(update: &[u8]) -> Vec<f64> {
    let text = String::from_utf8_lossy(update);
    text.match_indices("/Rect")
        .filter_map(|(at, _)| {
            let rest = text[at + 5..].trim_start().strip_prefix('[')?;
            let nums: Vec<f64> = rest
                .split(']')
                .next()?
                .split_whitespace()
                .filter_map(|n| n.parse().ok())
                .collect();
            (nums.len() == 4).then(|| (nums[2] - nums[0]) * 25.4 / 72.0)
        })
        .collect()
}
