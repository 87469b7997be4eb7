//! Operations: the readiness probe follows the database, and `/metrics` serves parseable
//! OpenMetrics text with route templates (never raw paths), signatures by algorithm, the
//! ledger's batches and the verification runner's gauges.

mod common;

use std::collections::HashMap;

use axum::http::{Method, StatusCode};
use serde_json::json;
use sqlx::Connection;

use common::{PgDatabase, TestVault, b64, json_answer, postgres_admin_url};

async fn readyz(tv: &TestVault) -> (StatusCode, serde_json::Value) {
    json_answer(tv.send(Method::GET, "/readyz", None, None, "").await)
}

#[tokio::test]
async fn readiness_fails_once_the_pool_is_closed_sqlite() {
    let tv = TestVault::open(None).await;
    let (status, _) = readyz(&tv).await;
    assert_eq!(status, StatusCode::OK);
    tv.vault.clone().close().await;
    let (status, body) = readyz(&tv).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["error"]["code"], "not_ready", "{body}");
    // Liveness is not readiness: the process still answers.
    let (status, _) = tv.send(Method::GET, "/healthz", None, None, "").await;
    assert_eq!(status, StatusCode::OK);
}

async fn admin(sql: String) {
    let mut conn = sqlx::PgConnection::connect(&postgres_admin_url())
        .await
        .expect("admin connection");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(&mut conn)
        .await
        .expect("admin statement");
}

#[tokio::test]
async fn readiness_follows_postgres_away_and_back() {
    let Some(db) = PgDatabase::create().await else {
        return;
    };
    let tv = TestVault::open(Some(db.url.clone())).await;
    // An audited change commits only once the audit writer has its own connections: before
    // that, dropping the database would stop the writer for good (it connects once, at start).
    let key = tv.client("ready", &[]).await;
    let (status, created) = tv.post("/v1/keys", &key, json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(readyz(&tv).await.0, StatusCode::OK);
    let name = db.url.rsplit('/').next().expect("database name").to_owned();

    // The database goes away under the running vault (its connections are terminated).
    admin(format!("DROP DATABASE {name} WITH (FORCE)")).await;
    let (status, body) = readyz(&tv).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"]["code"], "not_ready");

    // Reachable again: ready again, without a restart.
    admin(format!("CREATE DATABASE {name}")).await;
    let (status, body) = readyz(&tv).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    db.drop_db().await;
}

/// A small parser of the text exposition: sample name with its labels → value.
fn samples(text: &str) -> HashMap<String, f64> {
    let mut out = HashMap::new();
    for line in text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let (series, value) = line.rsplit_once(' ').expect("`series value`");
        let value: f64 = value.parse().expect("numeric value");
        if let Some((name, labels)) = series.split_once('{') {
            assert!(labels.ends_with('}'), "{line}");
            assert!(
                name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                "{line}"
            );
        }
        assert!(
            out.insert(series.to_owned(), value).is_none(),
            "duplicate {series}"
        );
    }
    assert!(
        text.ends_with("# EOF\n"),
        "OpenMetrics text ends with # EOF"
    );
    out
}

#[tokio::test]
async fn metrics_count_routes_signatures_and_batches() {
    let tv = TestVault::open(None).await;
    let key = tv.client("portal", &[]).await;
    let (status, created) = tv.post("/v1/keys", &key, json!({"alg": "sm2"})).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().expect("id");
    let (status, signed) = tv
        .post(
            &format!("/v1/keys/{id}/sign"),
            &key,
            json!({"data": b64(b"hello")}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{signed}");
    let (status, _) = tv.get("/v1/keys/no_such_key", &key).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, bytes) = tv.send(Method::GET, "/metrics", None, None, "").await;
    assert_eq!(status, StatusCode::OK);
    let text = String::from_utf8(bytes).expect("utf-8");
    let s = samples(&text);
    let at_least_one = |series: &str| {
        let v = s.get(series).copied().unwrap_or_default();
        assert!(v >= 1.0, "{series} = {v} in\n{text}");
    };
    at_least_one(r#"sidian_http_requests_total{method="POST",route="/v1/keys",status="201"}"#);
    at_least_one(
        r#"sidian_http_requests_total{method="POST",route="/v1/keys/{id}/sign",status="200"}"#,
    );
    at_least_one(r#"sidian_http_requests_total{method="GET",route="/v1/keys/{id}",status="404"}"#);
    at_least_one(
        r#"sidian_http_request_duration_seconds_count{method="POST",route="/v1/keys/{id}/sign"}"#,
    );
    at_least_one(
        r#"sidian_http_request_duration_seconds_bucket{le="+Inf",method="POST",route="/v1/keys"}"#,
    );
    at_least_one(r#"sidian_signatures_total{algorithm="sm2"}"#);
    at_least_one("sidian_ledger_batch_size_count");
    at_least_one("sidian_ledger_commit_duration_seconds_count");
    assert!(s.contains_key("sidian_verification_waiting"), "{text}");
    assert!(s.contains_key("sidian_verification_running"), "{text}");
    // Route templates only: no key id (nor any raw path) becomes a label value.
    assert!(!text.contains(id), "{text}");
    assert!(!text.contains("no_such_key"), "{text}");
}
