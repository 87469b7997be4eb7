//! One error contract everywhere: every error status the server answers with carries
//! `{"error":{"code","message"}}` as `application/json`, whatever produced it (a handler, an
//! extractor, the router, the timeout, the limits); media types with parameters and the bearer
//! scheme in any case are accepted; and the small leaks are closed (file modes, a group-writable
//! data directory, `size_mm`).

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use sidian::api::Limits;
use tower::ServiceExt;

use common::{TestVault, b64, unb64};

/// A request body whose bytes never come.
struct Never;

impl hyper::body::Body for Never {
    type Data = axum::body::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        std::task::Poll::Pending
    }
}

/// What one call should answer.
struct Case {
    what: &'static str,
    method: Method,
    path: String,
    auth: Option<String>,
    content_type: Option<&'static str>,
    content_length: Option<usize>,
    body: Body,
    status: StatusCode,
}

fn case(what: &'static str, method: Method, path: &str, status: StatusCode) -> Case {
    Case {
        what,
        method,
        path: path.to_owned(),
        auth: None,
        content_type: None,
        content_length: None,
        body: Body::empty(),
        status,
    }
}

impl Case {
    fn key(self, key: &str) -> Self {
        self.auth(&format!("Bearer {key}"))
    }

    fn auth(mut self, value: &str) -> Self {
        self.auth = Some(value.to_owned());
        self
    }

    fn body(mut self, content_type: &'static str, body: impl Into<Body>) -> Self {
        self.content_type = Some(content_type);
        self.body = body.into();
        self
    }

    fn json(self, value: &str) -> Self {
        self.body("application/json", value.to_owned())
    }

    fn declared(mut self, len: usize) -> Self {
        self.content_length = Some(len);
        self
    }

    fn request(self) -> Request<Body> {
        let mut req = Request::builder().method(self.method).uri(&self.path);
        if let Some(v) = &self.auth {
            req = req.header(header::AUTHORIZATION, v);
        }
        if let Some(ct) = self.content_type {
            req = req.header(header::CONTENT_TYPE, ct);
        }
        if let Some(len) = self.content_length {
            req = req.header(header::CONTENT_LENGTH, len);
        }
        let mut req = req.body(self.body).expect("request");
        req.extensions_mut()
            .insert(ConnectInfo(SocketAddr::from(([192, 0, 2, 1], 50_000))));
        req
    }
}

/// Sends the case and checks the contract; returns the error code.
async fn check(app: &Router, c: Case) -> String {
    let (what, status) = (c.what, c.status);
    let resp = app.clone().oneshot(c.request()).await.expect("infallible");
    assert_eq!(resp.status(), status, "{what}");
    let ct = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert_eq!(ct, "application/json", "{what}: content type");
    if matches!(status.as_u16(), 429 | 503) {
        assert!(
            resp.headers().contains_key(header::RETRY_AFTER),
            "{what}: Retry-After"
        );
    }
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    let v: Value = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
        panic!(
            "{what}: body is not JSON: {}",
            String::from_utf8_lossy(&bytes)
        )
    });
    let err = v["error"]
        .as_object()
        .unwrap_or_else(|| panic!("{what}: {v}"));
    assert_eq!(err.len(), 2, "{what}: only code and message: {v}");
    let code = err["code"].as_str().unwrap_or_default();
    let message = err["message"].as_str().unwrap_or_default();
    assert!(!code.is_empty() && !message.is_empty(), "{what}: {v}");
    for leak in ["Request", "struct ", "enum ", "Rejection", "sidian::"] {
        assert!(
            !message.contains(leak),
            "{what}: message names a type: {message}"
        );
    }
    code.to_owned()
}

#[tokio::test]
async fn every_error_status_has_a_json_body() {
    let tv = TestVault::open(None).await;
    let a = tv.client("contract-a", &[]).await;
    let reader = tv.client("contract-reader", &["verify"]).await;
    let app = sidian::api::app(tv.vault.clone());
    let (st, key) = tv.post("/v1/keys", &a, json!({"alg": "ed25519"})).await;
    assert_eq!(st, StatusCode::CREATED, "{key}");
    let key_id = key["id"].as_str().expect("id").to_owned();
    let sign = format!("/v1/keys/{key_id}/sign");

    use StatusCode as S;
    let cases = vec![
        (
            case("malformed JSON", Method::POST, "/v1/keys", S::BAD_REQUEST)
                .key(&a)
                .json("{\"alg\":"),
            "malformed_json",
        ),
        (
            case("array body", Method::POST, "/v1/keys", S::BAD_REQUEST)
                .key(&a)
                .json("[]"),
            "invalid_request",
        ),
        (
            case("string body", Method::POST, "/v1/keys", S::BAD_REQUEST)
                .key(&a)
                .json("\"sm2\""),
            "invalid_request",
        ),
        (
            case("nested type", Method::POST, "/v1/seals", S::BAD_REQUEST)
                .key(&a)
                .json(r#"{"name":"某某有限公司合同专用章","holder":5}"#),
            "invalid_request",
        ),
        (
            case(
                "negative index",
                Method::GET,
                "/v1/audit/entries/-1/proof",
                S::BAD_REQUEST,
            )
            .key(&a),
            "invalid_request",
        ),
        (
            case(
                "index beyond u64",
                Method::GET,
                "/v1/audit/entries/18446744073709551616/proof",
                S::BAD_REQUEST,
            )
            .key(&a),
            "invalid_request",
        ),
        (
            case(
                "invalid UTF-8 in the path",
                Method::GET,
                "/v1/keys/%FF%FE",
                S::BAD_REQUEST,
            )
            .key(&a),
            "invalid_request",
        ),
        (
            case(
                "invalid UTF-8 in a public path",
                Method::GET,
                "/v1/pki/crl/%FF%FE",
                S::BAD_REQUEST,
            ),
            "invalid_request",
        ),
        (
            case(
                "no API key",
                Method::GET,
                &format!("/v1/keys/{key_id}"),
                S::UNAUTHORIZED,
            ),
            "unauthorized",
        ),
        (
            case(
                "another scheme",
                Method::GET,
                &format!("/v1/keys/{key_id}"),
                S::UNAUTHORIZED,
            )
            .auth("Basic dXNlcjpwYXNz"),
            "unauthorized",
        ),
        (
            case("missing scope", Method::POST, "/v1/keys", S::FORBIDDEN)
                .key(&reader)
                .json("{}"),
            "forbidden",
        ),
        (
            case("unknown route", Method::GET, "/v1/nothing", S::NOT_FOUND),
            "not_found",
        ),
        (
            case("unknown id", Method::GET, "/v1/keys/key_nope", S::NOT_FOUND).key(&a),
            "not_found",
        ),
        (
            case(
                "wrong method",
                Method::DELETE,
                "/v1/keys",
                S::METHOD_NOT_ALLOWED,
            )
            .key(&a),
            "method_not_allowed",
        ),
        (
            case(
                "digest on Ed25519",
                Method::POST,
                &sign,
                S::UNPROCESSABLE_ENTITY,
            )
            .key(&a)
            .json(&json!({"digest": b64(&[0; 32])}).to_string()),
            "digest_signing_unsupported",
        ),
        (
            case(
                "TSA query over 16 KiB",
                Method::POST,
                "/v1/tsa",
                S::PAYLOAD_TOO_LARGE,
            )
            .key(&a)
            .body("application/timestamp-query", vec![0x30; 17 << 10]),
            "payload_too_large",
        ),
        (
            case(
                "empty document",
                Method::POST,
                "/v1/documents/verify",
                S::BAD_REQUEST,
            )
            .body("application/pdf", Body::empty()),
            "invalid_request",
        ),
        (
            case(
                "document over 32 MiB, declared",
                Method::POST,
                "/v1/documents/verify",
                S::PAYLOAD_TOO_LARGE,
            )
            .body("application/pdf", Body::empty())
            .declared(33 << 20),
            "payload_too_large",
        ),
        (
            case(
                "stamp over 32 MiB, declared",
                Method::POST,
                "/v1/seals/seal_x/stamp",
                S::PAYLOAD_TOO_LARGE,
            )
            .key(&a)
            .body("application/pdf", Body::empty())
            .declared(33 << 20),
            "payload_too_large",
        ),
        (
            case(
                "JSON over 1 MiB",
                Method::POST,
                "/v1/keys",
                S::PAYLOAD_TOO_LARGE,
            )
            .key(&a)
            .json(&json!({"alg": "x".repeat(2 << 20)}).to_string()),
            "payload_too_large",
        ),
        (
            case(
                "JSON as text",
                Method::POST,
                "/v1/keys",
                S::UNSUPPORTED_MEDIA_TYPE,
            )
            .key(&a)
            .body("text/plain", "{}"),
            "unsupported_media_type",
        ),
        (
            case(
                "TSA query as JSON",
                Method::POST,
                "/v1/tsa",
                S::UNSUPPORTED_MEDIA_TYPE,
            )
            .key(&a)
            .json("{}"),
            "unsupported_media_type",
        ),
        (
            case(
                "document as text",
                Method::POST,
                "/v1/documents/verify",
                S::UNSUPPORTED_MEDIA_TYPE,
            )
            .body("text/plain", "x"),
            "unsupported_media_type",
        ),
    ];
    for (c, code) in cases {
        let what = c.what;
        assert_eq!(check(&app, c).await, code, "{what}");
    }

    // 409: a disabled key signs nothing.
    let (st, v) = tv
        .post(&format!("/v1/keys/{key_id}/disable"), &a, json!({}))
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let c = case("disabled key", Method::POST, &sign, S::CONFLICT)
        .key(&a)
        .json(&json!({"data": b64(b"x")}).to_string());
    assert_eq!(check(&app, c).await, "key_disabled");

    // 408: a body that never arrives, with a short timeout.
    let slow = sidian::api::app_with(
        tv.vault.clone(),
        Limits {
            request_timeout: Duration::from_millis(200),
            ..Limits::default()
        },
    );
    let c = case(
        "body never sent",
        Method::POST,
        "/v1/documents/verify",
        S::REQUEST_TIMEOUT,
    )
    .body("application/pdf", Body::new(Never));
    assert_eq!(check(&slow, c).await, "request_timeout");

    // 429 and 503: the limits on anonymous callers.
    let strict = sidian::api::app_with(
        tv.vault.clone(),
        Limits {
            upload_budget: 1000,
            rate_per_sec: 0.001,
            rate_burst: 2,
            ..Limits::default()
        },
    );
    let c = case(
        "upload over the budget",
        Method::POST,
        "/v1/documents/verify",
        S::SERVICE_UNAVAILABLE,
    )
    .body("application/pdf", vec![b'%'; 2000])
    .declared(2000);
    assert_eq!(check(&strict, c).await, "busy");
    let big = json!({"signature": b64(&[0; 1500])}).to_string();
    let c = case(
        "SES over the budget",
        Method::POST,
        "/v1/ses/verify",
        S::SERVICE_UNAVAILABLE,
    )
    .declared(big.len())
    .json(&big);
    assert_eq!(check(&strict, c).await, "busy");
    let c = case(
        "over the rate",
        Method::GET,
        "/v1/trust-list",
        S::TOO_MANY_REQUESTS,
    );
    assert_eq!(check(&strict, c).await, "rate_limited");
}

/// Sends `req` through a fresh router; the status and the JSON body.
async fn send(tv: &TestVault, req: Request<Body>) -> (StatusCode, Vec<u8>) {
    let resp = sidian::api::app(tv.vault.clone())
        .oneshot(req)
        .await
        .expect("infallible");
    let status = resp.status();
    (
        status,
        resp.into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes()
            .to_vec(),
    )
}

#[tokio::test]
async fn media_types_with_parameters_are_accepted() {
    let tv = TestVault::open(None).await;
    let a = tv.client("media", &[]).await;
    for ct in [
        "application/json; charset=utf-8",
        "Application/JSON;charset=UTF-8",
        "application/merge+json",
    ] {
        let req = Request::post("/v1/keys")
            .header(header::AUTHORIZATION, format!("Bearer {a}"))
            .header(header::CONTENT_TYPE, ct)
            .body(Body::from(r#"{"alg":"p256"}"#))
            .expect("request");
        let (status, body) = send(&tv, req).await;
        assert_eq!(
            status,
            StatusCode::CREATED,
            "{ct}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    let query = sidian::tsa::TimeStampReq {
        hash_alg: sidian::tsa::HashAlg::Sha256,
        hashed_message: sidian::crypto::sha256(b"x").to_vec(),
        policy: None,
        nonce: None,
        cert_req: true,
    }
    .to_der();
    for ct in [
        "application/timestamp-query; x=y",
        "Application/Timestamp-Query",
    ] {
        let req = Request::post("/v1/tsa")
            .header(header::AUTHORIZATION, format!("Bearer {a}"))
            .header(header::CONTENT_TYPE, ct)
            .body(Body::from(query.clone()))
            .expect("request");
        let (status, body) = send(&tv, req).await;
        assert_eq!(status, StatusCode::OK, "{ct}");
        assert!(
            sidian::tsa::granted_token(&body).is_some(),
            "{ct}: no token"
        );
    }
    let req = Request::post("/v1/documents/verify")
        .header(header::CONTENT_TYPE, "application/pdf; name=x.pdf")
        .body(Body::from("%PDF-1.7\n"))
        .expect("request");
    let (status, body) = send(&tv, req).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let tv = TestVault::open(None).await;
    let a = tv.client("bearer", &[]).await;
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let req = Request::get("/v1/seals")
            .header(header::AUTHORIZATION, format!("{scheme} {a}"))
            .body(Body::empty())
            .expect("request");
        let (status, _) = send(&tv, req).await;
        assert_eq!(status, StatusCode::OK, "{scheme}");
    }
    for value in [format!("Bearer{a}"), format!("Token {a}"), a.clone()] {
        let req = Request::get("/v1/seals")
            .header(header::AUTHORIZATION, value.as_str())
            .body(Body::empty())
            .expect("request");
        let (status, _) = send(&tv, req).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{value}");
    }
}

#[cfg(unix)]
#[tokio::test]
async fn vault_files_are_private_and_a_group_writable_data_dir_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| {
        std::fs::metadata(p)
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
            .permissions()
            .mode()
            & 0o777
    };
    let tv = TestVault::open(None).await;
    let a = tv.client("files", &[]).await;
    let (st, _) = tv.post("/v1/keys", &a, json!({})).await;
    assert_eq!(st, StatusCode::CREATED);
    let data = tv.config.data_dir.clone();
    assert_eq!(mode(&data), 0o700);
    for name in [
        "sidian.db",
        "sidian.db-wal",
        "sidian.db-shm",
        "master.key",
        "audit-key.pem",
        "audit-checkpoints.jsonl",
    ] {
        assert_eq!(mode(&data.join(name)), 0o600, "{name}");
    }

    // A data directory that group or others may write is refused, new or existing.
    for perms in [0o770, 0o702] {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = sidian::Config::new(dir.path().join("data"));
        std::fs::create_dir(&config.data_dir).expect("mkdir");
        std::fs::set_permissions(&config.data_dir, std::fs::Permissions::from_mode(perms))
            .expect("chmod");
        let err = sidian::Vault::open(config.clone(), true)
            .await
            .expect_err("group-writable data dir accepted");
        assert!(matches!(err, sidian::Error::Config(_)), "{err}");
        assert!(
            err.to_string().contains("writable by group or others"),
            "{err}"
        );
        assert!(
            !config.data_dir.join("master.key").exists(),
            "nothing is created in it"
        );
    }
    let config = tv.config.clone();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o775)).expect("chmod");
    let err = sidian::Vault::open(config, false)
        .await
        .expect_err("group-writable data dir accepted");
    assert!(err.to_string().contains("chmod 700"), "{err}");
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).expect("chmod");
}

#[tokio::test]
async fn a_drawn_seal_honours_size_mm_within_its_range() {
    let tv = TestVault::open(None).await;
    let a = tv.client("sizes", &[]).await;
    let seal = |size: u32, image: Option<String>| {
        let mut req = json!({
            "name": "某某有限公司合同专用章",
            "type": "contract",
            "holder": {"name": "某某有限公司", "uscc": "91370406L24894136J"},
            "size_mm": size,
        });
        if let Some(png) = image {
            req["image"] = json!(png);
        }
        req
    };
    let mut png = None;
    for size in [20, 30, 58, 80] {
        let (st, v) = tv.post("/v1/seals", &a, seal(size, None)).await;
        assert_eq!(st, StatusCode::CREATED, "{size} mm: {v}");
        let parsed = sidian::ses::Seal::from_der(&unb64(&v["seal"])).expect("seal");
        assert_eq!(parsed.picture().width_mm, i64::from(size));
        // Drawn at 300 dpi: the picture's pixels are the size asked for.
        let (w, h) = sidian::render::png_dimensions(&parsed.picture().data).expect("png");
        let expected = (f64::from(size) / 25.4 * 300.0).round();
        assert_eq!(
            (f64::from(w), f64::from(h)),
            (expected, expected),
            "{size} mm"
        );
        png = Some(b64(&parsed.picture().data));
    }
    for size in [0, 19, 81, 100] {
        let (st, v) = tv.post("/v1/seals", &a, seal(size, None)).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{size} mm: {v}");
        assert_eq!(v["error"]["code"], "invalid_request");
        assert!(
            v["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("size_mm")),
            "{v}"
        );
    }
    // An uploaded picture is not redrawn: a wider range of sizes is only a label for it.
    let (st, v) = tv.post("/v1/seals", &a, seal(15, png.clone())).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let (st, v) = tv.post("/v1/seals", &a, seal(101, png)).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("size_mm")),
        "{v}"
    );
}
