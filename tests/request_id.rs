//! Request ids: a caller's `X-Request-Id` is echoed and recorded in the audit entries the
//! request causes; without one (or with one unfit to log) the service makes one.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use sqlx::AnyPool;
use tower::ServiceExt;

use common::{PgDatabase, TestVault};

/// Sends a request with the given `X-Request-Id` header bytes; returns the status, the echoed
/// id and the JSON body.
async fn send(
    tv: &TestVault,
    method: Method,
    path: &str,
    key: Option<&str>,
    body: Option<Value>,
    id: Option<&[u8]>,
) -> (StatusCode, String, Value) {
    let mut req = Request::builder().method(method).uri(path);
    if let Some(k) = key {
        req = req.header("authorization", format!("Bearer {k}"));
    }
    if let Some(id) = id {
        req = req.header("x-request-id", id);
    }
    if body.is_some() {
        req = req.header("content-type", "application/json");
    }
    let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
    let resp = sidian::api::app(tv.vault.clone())
        .oneshot(req.body(body).expect("request"))
        .await
        .expect("infallible");
    let status = resp.status();
    let echoed = resp
        .headers()
        .get("x-request-id")
        .expect("every response carries x-request-id")
        .to_str()
        .expect("ascii")
        .to_owned();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, echoed, json)
}

/// The audit record (details) of the `key.created` entry of a key.
async fn key_created_details(tv: &TestVault, key_id: &str) -> Value {
    sqlx::any::install_default_drivers();
    let pool = AnyPool::connect(&tv.config.database_url())
        .await
        .expect("raw connection");
    let record: Vec<u8> = sqlx::query_scalar(
        "SELECT record FROM audit_entries WHERE action = 'key.created' AND subject = $1",
    )
    .bind(format!("key:{key_id}"))
    .fetch_one(&pool)
    .await
    .expect("the key's entry");
    pool.close().await;
    let record: Value = serde_json::from_slice(&record).expect("record JSON");
    record["details"].clone()
}

async fn a_given_id_reaches_the_response_and_the_audit_log(tv: TestVault) {
    let key = tv.client("portal", &[]).await;
    let (status, echoed, body) = send(
        &tv,
        Method::POST,
        "/v1/keys",
        Some(&key),
        Some(json!({"alg": "sm2"})),
        Some(b"portal-7f3a:42"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(echoed, "portal-7f3a:42");
    let id = body["id"].as_str().expect("key id");
    let details = key_created_details(&tv, id).await;
    assert_eq!(details["request_id"], "portal-7f3a:42", "{details}");

    // Without a header, a new id is made, echoed and recorded.
    let (status, made, body) = send(
        &tv,
        Method::POST,
        "/v1/keys",
        Some(&key),
        Some(json!({})),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(made.len(), 32);
    assert!(made.bytes().all(|b| b.is_ascii_hexdigit()), "{made}");
    let details = key_created_details(&tv, body["id"].as_str().expect("id")).await;
    assert_eq!(details["request_id"], made.as_str());
}

#[tokio::test]
async fn a_given_id_is_echoed_and_audited_sqlite() {
    a_given_id_reaches_the_response_and_the_audit_log(TestVault::open(None).await).await;
}

#[tokio::test]
async fn a_given_id_is_echoed_and_audited_postgres() {
    let Some(db) = PgDatabase::create().await else {
        return;
    };
    let tv = TestVault::open(Some(db.url.clone())).await;
    a_given_id_reaches_the_response_and_the_audit_log(tv).await;
    db.drop_db().await;
}

#[tokio::test]
async fn errors_carry_the_id_too() {
    let tv = TestVault::open(None).await;
    let (status, echoed, body) = send(
        &tv,
        Method::GET,
        "/v1/keys/nope",
        None,
        None,
        Some(b"abc-1"),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "unauthorized");
    assert_eq!(echoed, "abc-1");
    let (status, echoed, _) = send(&tv, Method::GET, "/no/such/route", None, None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(echoed.len(), 32);
}

#[tokio::test]
async fn hostile_ids_are_replaced() {
    let tv = TestVault::open(None).await;
    let long = [b'a'; sidian::request_id::MAX_LEN + 1];
    for hostile in [
        &long[..],
        b"line\tbreak",
        b"a b",
        b"quote\"d",
        "\u{e9}t\u{e9}".as_bytes(),
    ] {
        let (status, echoed, _) =
            send(&tv, Method::GET, "/healthz", None, None, Some(hostile)).await;
        assert_eq!(status, StatusCode::OK);
        assert_ne!(echoed.as_bytes(), hostile);
        assert_eq!(
            echoed.len(),
            32,
            "a fresh id, not a cleaned-up copy: {echoed}"
        );
    }
    // (Other control characters cannot even be sent: HTTP refuses them in header values.)
    // The longest acceptable id is kept as it is.
    let longest = [b'z'; sidian::request_id::MAX_LEN];
    let (_, echoed, _) = send(&tv, Method::GET, "/healthz", None, None, Some(&longest)).await;
    assert_eq!(echoed.as_bytes(), &longest[..]);
}
