//! Handwritten e-signatures through the API: enrolment (identity kept masked and hashed, a
//! certificate under the signers' CA with its policy), a capture session, signing a PDF (the
//! strokes as paths, the binding verified, the evidence matched), a seal after the signature,
//! cancellation (new signing refused, the earlier document still verifies as signed before it),
//! tampering with the evidence, the consent or the placement detected, bad captures refused
//! with their reason, and the compare endpoint.

mod common;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use sidian::handsign::synthetic;
use sidian::pki::{Certificate, HANDWRITTEN_SIGNER_POLICY};

use common::{TestVault, call_bytes, json_answer};

const DOC_1P: &[u8] = include_bytes!("data/pdf/doc-1p.pdf");
const OFD_3P: &[u8] = include_bytes!("data/ofd/sample-3p.ofd");
const CONSENT: &str = "本人已阅读并同意以上内容，自愿签署。I have read and agree.";
const BOUNDARY: &str = "sidian-test-boundary-7f3a";

fn enrolment() -> Value {
    json!({
        "name": "张三",
        "id_type": "resident_id",
        "id_number": "11010519491231002X",
        "phone": "13800138000",
        "verified_by": "face",
    })
}

/// A capture of a synthetic signer's signature, with the test's consent text.
fn capture(signer: u64, sample: u64) -> Value {
    let style = synthetic::signer(signer);
    let mut c = synthetic::genuine(&style, sample);
    c.consent = CONSENT.into();
    serde_json::to_value(c).expect("json")
}

fn multipart(document: &[u8], capture: &Value, placement: &Value) -> Vec<u8> {
    let media = if document.starts_with(b"%PDF") {
        "application/pdf"
    } else {
        "application/ofd"
    };
    let mut body = Vec::new();
    for (name, media, bytes) in [
        ("document", media, document.to_vec()),
        (
            "capture",
            "application/json",
            capture.to_string().into_bytes(),
        ),
        (
            "placement",
            "application/json",
            placement.to_string().into_bytes(),
        ),
    ] {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{name}\"\r\nContent-Type: {media}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(&bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

fn placement() -> Value {
    json!({"page": 1, "x": 30, "y": 40, "width": 60, "height": 24, "unit": "mm"})
}

async fn sign(
    tv: &TestVault,
    key: &str,
    signer: &str,
    document: &[u8],
    capture: &Value,
) -> (StatusCode, Vec<u8>) {
    tv.send(
        Method::POST,
        &format!("/v1/signers/{signer}/sign"),
        Some(key),
        Some(Body::from(multipart(document, capture, &placement()))),
        &format!("multipart/form-data; boundary={BOUNDARY}"),
    )
    .await
}

async fn verify(tv: &TestVault, pdf: &[u8]) -> Value {
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
    report
}

fn handwritten(report: &Value) -> &Value {
    report["signatures"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["kind"] == "pdf-handwritten"))
        .unwrap_or_else(|| panic!("no handwritten signature in {report}"))
}

async fn story(tv: TestVault) {
    let key = tv.client("approvals", &["sign", "seals"]).await;
    let other = tv.client("another", &["sign"]).await;

    // Enrolment: masked identity, a certificate under the signers' CA with the policy.
    let (st, signer) = tv.post("/v1/signers", &key, enrolment()).await;
    assert_eq!(st, StatusCode::CREATED, "{signer}");
    let id = signer["id"].as_str().expect("id").to_owned();
    assert_eq!(signer["name"], "张*");
    assert_eq!(signer["id_number"], "1101**********002X");
    assert_eq!(signer["phone"], "138****8000");
    let cert = Certificate::from_pem(signer["cert_pem"].as_str().expect("pem")).expect("cert");
    assert!(cert.subject().contains("张三"), "{}", cert.subject());
    assert!(!cert.subject().contains("11010519491231002X"));
    assert_eq!(cert.policies(), [HANDWRITTEN_SIGNER_POLICY.to_owned()]);
    assert!(
        cert.issuer().contains("Handwritten Signer CA"),
        "{}",
        cert.issuer()
    );
    let (st, _) = tv.get(&format!("/v1/signers/{id}"), &other).await;
    assert_eq!(
        st,
        StatusCode::NOT_FOUND,
        "another client's signer is absent"
    );
    let mut bad = enrolment();
    bad["id_number"] = "110105194912310021".into();
    let (st, err) = tv.post("/v1/signers", &key, bad).await;
    assert_eq!(
        (st, err["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_id_number"))
    );

    // A capture session: the page, one submission, the capture read back.
    let (st, session) = tv
        .post(
            &format!("/v1/signers/{id}/sessions"),
            &key,
            json!({"consent": CONSENT}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{session}");
    let url = session["url"].as_str().expect("url").to_owned();
    let (st, page) = tv.send(Method::GET, &url, None, None, "").await;
    assert_eq!(st, StatusCode::OK);
    assert!(String::from_utf8_lossy(&page).contains("本人已阅读并同意"));
    let drawn = capture(1, 1);
    let mut wrong = drawn.clone();
    wrong["consent"] = "别的内容".into();
    let (st, err) = json_answer(
        call_bytes(
            &tv,
            &format!("{url}/capture"),
            None,
            "application/json",
            wrong.to_string().into_bytes(),
        )
        .await,
    );
    assert_eq!(st, StatusCode::BAD_REQUEST, "{err}");
    let (st, _) = call_bytes(
        &tv,
        &format!("{url}/capture"),
        None,
        "application/json",
        drawn.to_string().into_bytes(),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    let (st, _) = call_bytes(
        &tv,
        &format!("{url}/capture"),
        None,
        "application/json",
        drawn.to_string().into_bytes(),
    )
    .await;
    assert_eq!(st, StatusCode::CONFLICT, "one drawing per link");
    let (st, state) = tv
        .get(
            &format!(
                "/v1/signers/{id}/sessions/{}",
                session["id"].as_str().expect("id")
            ),
            &key,
        )
        .await;
    assert_eq!(
        (st, state["status"].as_str()),
        (StatusCode::OK, Some("captured")),
        "{state}"
    );
    let from_session = state["capture"].clone();

    // Bad captures are refused with their reason.
    for (edit, what) in [
        (json!({"strokes": []}), "empty"),
        (
            json!({"strokes": [[{"x": 10, "y": 10, "t_ms": 0}, {"x": 12, "y": 10, "t_ms": 5}]]}),
            "too short",
        ),
    ] {
        let mut c = drawn.clone();
        c["strokes"] = edit["strokes"].clone();
        let (st, err) = json_answer(sign(&tv, &key, &id, DOC_1P, &c).await);
        assert_eq!(st, StatusCode::BAD_REQUEST, "{what}: {err}");
        assert_eq!(err["error"]["code"], "invalid_capture", "{what}: {err}");
    }
    let mut backwards = drawn.clone();
    backwards["strokes"][0][5]["t_ms"] = json!(0.0);
    let (st, err) = json_answer(sign(&tv, &key, &id, DOC_1P, &backwards).await);
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("backwards"),
        "{err}"
    );

    // Signing: the PDF verifies with the handwriting evidence matched.
    let (st, signed) = sign(&tv, &key, &id, DOC_1P, &from_session).await;
    assert_eq!(st, StatusCode::OK, "{}", String::from_utf8_lossy(&signed));
    assert!(signed.starts_with(DOC_1P), "an incremental update");
    let report = verify(&tv, &signed).await;
    assert_eq!(report["verdict"], "VALID", "{report}");
    let hw = &handwritten(&report)["handwriting"];
    assert_eq!(hw["evidence"], "matched", "{report}");
    assert_eq!(hw["signer"], "张*");
    assert_eq!(hw["signer_status"], "active");
    assert_eq!(hw["digest_alg"], "sha256");

    // The authority's seal after the applicant's signature: both verify.
    let seal = common::create_contract_seal(&tv, &key, "p256").await;
    let (st, sealed) = call_bytes(
        &tv,
        &format!("/v1/seals/{seal}/stamp?x=120&y=40"),
        Some(&key),
        "application/pdf",
        signed.clone(),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{}", String::from_utf8_lossy(&sealed));
    let report = verify(&tv, &sealed).await;
    assert_eq!(report["verdict"], "VALID", "{report}");
    let sigs = report["signatures"].as_array().expect("signatures");
    assert_eq!(sigs.len(), 2);
    // The seal's revision is a change the handwritten signature allows (a new signature field).
    assert_eq!(
        sigs[0]["verdict"], "VALID_WITH_ALLOWED_LATER_CHANGES",
        "{report}"
    );
    assert_eq!(sigs[0]["handwriting"]["evidence"], "matched", "{report}");
    assert!(sigs[0]["seal"].is_null(), "a person, not a seal: {report}");
    assert_eq!(sigs[1]["verdict"], "VALID", "{report}");

    // SM2 on request.
    let (st, sm2) = tv
        .send(
            Method::POST,
            &format!("/v1/signers/{id}/sign"),
            Some(&key),
            Some(Body::from(multipart(
                DOC_1P,
                &from_session,
                &json!({"x": 30, "y": 40, "width": 60, "height": 24, "alg": "sm2"}),
            ))),
            &format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{}", String::from_utf8_lossy(&sm2));
    let report = verify(&tv, &sm2).await;
    assert_eq!(report["verdict"], "VALID", "{report}");
    assert_eq!(handwritten(&report)["handwriting"]["digest_alg"], "sm3");

    // The signature's appearance moved onto another document: the byte ranges no longer match.
    let other_doc = common::pdf_of(&[
        "<< /Type /Catalog /Pages 2 0 R >>".into(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".into(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>".into(),
    ]);
    let mut moved = other_doc.clone();
    moved.extend_from_slice(&signed[DOC_1P.len()..]);
    let (st, report) =
        json_answer(call_bytes(&tv, "/v1/documents/verify", None, "application/pdf", moved).await);
    assert!(
        st != StatusCode::OK || report["verdict"] != "VALID",
        "{report}"
    );

    // Cancellation: new signing refused; the earlier document verifies as signed before it.
    let (st, cancelled) = tv
        .post(
            &format!("/v1/signers/{id}/cancel"),
            &key,
            json!({"reason": "申请人注销"}),
        )
        .await;
    assert_eq!(
        (st, cancelled["status"].as_str()),
        (StatusCode::OK, Some("cancelled")),
        "{cancelled}"
    );
    let (st, err) = json_answer(sign(&tv, &key, &id, DOC_1P, &from_session).await);
    assert_eq!(
        (st, err["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("signer_cancelled")),
        "{err}"
    );
    let (st, _) = tv
        .post(
            &format!("/v1/signers/{id}/sessions"),
            &key,
            json!({"consent": CONSENT}),
        )
        .await;
    assert_eq!(st, StatusCode::CONFLICT);
    let report = verify(&tv, &signed).await;
    assert_eq!(report["verdict"], "VALID", "{report}");
    let hw = &handwritten(&report)["handwriting"];
    assert_eq!(hw["signer_status"], "cancelled", "{report}");
    assert_eq!(hw["signed_before_cancellation"], true, "{report}");
}

#[tokio::test]
async fn enrol_capture_sign_seal_cancel_on_sqlite() {
    story(TestVault::open(None).await).await;
}

#[tokio::test]
async fn enrol_capture_sign_seal_cancel_on_postgres() {
    common::on_postgres(story).await;
}

/// Replacing the kept evidence (another capture, or the same with another consent text) is
/// detected: the kept capture no longer hashes to what the signature bound.
#[tokio::test]
async fn replaced_evidence_or_consent_is_detected() {
    let tv = TestVault::open(None).await;
    let key = tv.client("approvals", &["sign"]).await;
    let (_, signer) = tv.post("/v1/signers", &key, enrolment()).await;
    let id = signer["id"].as_str().expect("id");
    let (st, signed) = sign(&tv, &key, id, DOC_1P, &capture(2, 1)).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(
        handwritten(&verify(&tv, &signed).await)["handwriting"]["evidence"],
        "matched"
    );

    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&tv.config.database_url())
        .await
        .expect("db");
    // Another evidence row's blob (of another signature) moved into this one's place.
    let (st, second) = sign(&tv, &key, id, DOC_1P, &capture(3, 1)).await;
    assert_eq!(st, StatusCode::OK);
    let rows: Vec<(String, Vec<u8>)> = sqlx::query_as(
        "SELECT signature_sha256, capture FROM handsign_evidence ORDER BY created_at",
    )
    .fetch_all(&mut conn)
    .await
    .expect("rows");
    assert_eq!(rows.len(), 2);
    sqlx::query("UPDATE handsign_evidence SET capture = $1 WHERE signature_sha256 = $2")
        .bind(&rows[1].1)
        .bind(&rows[0].0)
        .execute(&mut conn)
        .await
        .expect("swap");
    let report = verify(&tv, &signed).await;
    assert_eq!(report["verdict"], "INVALID", "{report}");
    assert_eq!(handwritten(&report)["handwriting"]["evidence"], "mismatch");
    // The other signature is untouched.
    assert_eq!(verify(&tv, &second).await["verdict"], "VALID");

    // An insider with the master key re-wraps the same strokes with another consent text, under
    // the row's own binding: it opens, but no longer hashes to what the signature bound.
    let master = tv.config.load_master_key(false).expect("master key");
    let mut altered = capture(2, 1);
    altered["consent"] = "本人不同意。".into();
    let altered =
        sidian::handsign::Capture::from_json(altered.to_string().as_bytes()).expect("capture");
    let rewrapped = master
        .wrap(
            tv.config.wrap_alg,
            &altered.canonical(),
            format!("sidian/v1/handsign-evidence\0{}", rows[0].0).as_bytes(),
        )
        .expect("wrap");
    sqlx::query("UPDATE handsign_evidence SET capture = $1 WHERE signature_sha256 = $2")
        .bind(&rewrapped)
        .bind(&rows[0].0)
        .execute(&mut conn)
        .await
        .expect("replace");
    let report = verify(&tv, &signed).await;
    assert_eq!(report["verdict"], "INVALID", "{report}");
    assert_eq!(handwritten(&report)["handwriting"]["evidence"], "mismatch");

    // Evidence gone: undecidable.
    sqlx::query("DELETE FROM handsign_evidence WHERE signature_sha256 = $1")
        .bind(&rows[0].0)
        .execute(&mut conn)
        .await
        .expect("delete");
    let report = verify(&tv, &signed).await;
    assert_eq!(
        handwritten(&report)["handwriting"]["evidence"],
        "missing",
        "{report}"
    );
    assert_ne!(report["verdict"], "VALID");
}

/// The compare endpoint scores genuine samples above other signers' and above the same shape
/// drawn with other dynamics.
#[tokio::test]
async fn compare_separates_genuine_from_forged() {
    let tv = TestVault::open(None).await;
    let key = tv.client("approvals", &["sign"]).await;
    let (_, signer) = tv.post("/v1/signers", &key, enrolment()).await;
    let id = signer["id"].as_str().expect("id");
    let refs: Vec<Value> = (10..14).map(|s| capture(7, s)).collect();
    let (st, out) = tv
        .post(
            &format!("/v1/signers/{id}/references"),
            &key,
            json!({"references": refs}),
        )
        .await;
    assert_eq!(
        (st, out["references"].as_u64()),
        (StatusCode::CREATED, Some(4)),
        "{out}"
    );
    let score = |c: Value| {
        let tv = &tv;
        let key = key.clone();
        async move {
            let (st, out) = tv
                .post(
                    "/v1/handwriting/compare",
                    &key,
                    json!({"signer_id": id, "capture": c}),
                )
                .await;
            assert_eq!(st, StatusCode::OK, "{out}");
            out["score"].as_f64().expect("score")
        }
    };
    let genuine = score(capture(7, 99)).await;
    let random = score(capture(8, 99)).await;
    let style = synthetic::signer(7);
    let mut skilled = synthetic::forgery(&style, 5);
    skilled.consent = CONSENT.into();
    let skilled = score(serde_json::to_value(skilled).expect("json")).await;
    assert!(
        genuine > random && genuine > skilled,
        "genuine {genuine}, random {random}, skilled {skilled}"
    );
}

/// An OFD signed by hand: one GB/T 33190 signature whose seal pictures the handwriting and whose
/// TBS_Sign binds the capture; sidian verifies it with the evidence matched, and an SM2 seal
/// after it leaves both valid.
#[tokio::test]
async fn an_ofd_signed_by_hand_then_sealed() {
    let tv = TestVault::open(None).await;
    let key = tv.client("approvals", &["sign", "seals"]).await;
    let (_, signer) = tv.post("/v1/signers", &key, enrolment()).await;
    let id = signer["id"].as_str().expect("id");
    let (st, signed) = tv
        .send(
            Method::POST,
            &format!("/v1/signers/{id}/sign"),
            Some(&key),
            Some(Body::from(multipart(
                OFD_3P,
                &capture(4, 1),
                &json!({"page": 1, "x": 120, "y": 230, "width": 50, "height": 20}),
            ))),
            &format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{}", String::from_utf8_lossy(&signed));
    let esl = common::unzip_entry(&signed, "Doc_0/Signs/Sign_0/Seal.esl");
    let seal = sidian::ses::Seal::from_der(&esl).expect("the seal made for the signature");
    assert_eq!(seal.picture().kind, "PNG");
    assert_eq!(seal.picture().width_mm, 50);
    let verify_ofd = |bytes: Vec<u8>| {
        let tv = &tv;
        async move {
            let (st, report) = json_answer(
                call_bytes(tv, "/v1/documents/verify", None, "application/ofd", bytes).await,
            );
            assert_eq!(st, StatusCode::OK, "{report}");
            report
        }
    };
    let report = verify_ofd(signed.clone()).await;
    assert_eq!(report["verdict"], "VALID", "{report}");
    let sig = &report["signatures"][0];
    assert_eq!(sig["kind"], "ses-handwritten", "{report}");
    assert_eq!(sig["handwriting"]["evidence"], "matched", "{report}");
    assert_eq!(sig["handwriting"]["digest_alg"], "sm3");

    let seal = common::create_contract_seal(&tv, &key, "sm2").await;
    let (st, sealed) = call_bytes(
        &tv,
        &format!("/v1/seals/{seal}/stamp?page=1&x=30&y=230"),
        Some(&key),
        "application/ofd",
        signed,
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{}", String::from_utf8_lossy(&sealed));
    let report = verify_ofd(sealed).await;
    assert_eq!(report["verdict"], "VALID", "{report}");
    assert_eq!(report["signatures"].as_array().map(Vec::len), Some(2));
}
