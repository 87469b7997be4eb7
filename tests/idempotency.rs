//! `Idempotency-Key` on the creating calls: duplicates (concurrent ones too) create one object
//! and replay its answer byte for byte; another request under the key is 422; keys are per
//! client.

mod common;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use common::{PgDatabase, TestVault};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use sidian::Vault;
use sidian::store::Store;
use tower::ServiceExt;

const DOC_1P: &[u8] = include_bytes!("data/pdf/doc-1p.pdf");

/// One answer: status, headers and the exact body.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("JSON answer")
    }

    fn code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    }

    fn replayed(&self) -> bool {
        self.headers
            .get("idempotent-replayed")
            .is_some_and(|v| v == "true")
    }
}

/// Sends `body` (of `content_type`) to `path` as `api_key`, with `idem` as Idempotency-Key.
async fn post(
    vault: Vault,
    path: &str,
    api_key: &str,
    idem: Option<&str>,
    content_type: &str,
    body: Vec<u8>,
) -> Answer {
    let mut req = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header("authorization", format!("Bearer {api_key}"))
        .header("content-type", content_type);
    if let Some(k) = idem {
        req = req.header("idempotency-key", k);
    }
    let resp = sidian::api::app(vault)
        .oneshot(req.body(Body::from(body)).expect("request"))
        .await
        .expect("infallible");
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes()
        .to_vec();
    Answer {
        status,
        headers,
        body,
    }
}

async fn post_json(
    tv: &TestVault,
    path: &str,
    api_key: &str,
    idem: Option<&str>,
    v: &Value,
) -> Answer {
    let body = v.to_string().into_bytes();
    post(
        tv.vault.clone(),
        path,
        api_key,
        idem,
        "application/json",
        body,
    )
    .await
}

/// `n` copies of one request sent at once, each from its own task.
async fn at_once(
    tv: &TestVault,
    n: usize,
    path: &str,
    api_key: &str,
    idem: &str,
    content_type: &'static str,
    body: &[u8],
) -> Vec<Answer> {
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..n {
        let (vault, path, api_key, idem, body) = (
            tv.vault.clone(),
            path.to_owned(),
            api_key.to_owned(),
            idem.to_owned(),
            body.to_vec(),
        );
        set.spawn(
            async move { post(vault, &path, &api_key, Some(&idem), content_type, body).await },
        );
    }
    let mut answers = Vec::with_capacity(n);
    while let Some(a) = set.join_next().await {
        answers.push(a.expect("request task"));
    }
    answers
}

fn seal_request(name: &str) -> Value {
    json!({
        "name": name,
        "type": "contract",
        "holder": {"name": "某某有限公司", "uscc": "91370406L24894136J"},
        "alg": "p256",
    })
}

/// The number of entries in the audit log.
async fn log_size(tv: &TestVault) -> usize {
    let store = Store::connect(&tv.config.database_url())
        .await
        .expect("store");
    let n = store.entries(0, 1_000_000).await.expect("entries").len();
    store.close().await;
    n
}

/// The seals a client can list (every page).
async fn seal_count(tv: &TestVault, api_key: &str) -> usize {
    let (status, list) = tv.get("/v1/seals?limit=200", api_key).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert!(list["next_cursor"].is_null());
    list["items"].as_array().expect("items").len()
}

async fn idempotent_creation(tv: &TestVault) {
    let a = tv.client("idem-a", &[]).await;
    let b = tv.client("idem-b", &[]).await;
    let req = seal_request("某某有限公司合同专用章");

    // Ten concurrent duplicates make one seal (3 audit entries: key, certificate, seal) and all
    // answer with its body.
    let before = log_size(tv).await;
    let body = req.to_string().into_bytes();
    let answers = at_once(
        tv,
        10,
        "/v1/seals",
        &a,
        "order-42",
        "application/json",
        &body,
    )
    .await;
    for ans in &answers {
        assert_eq!(
            ans.status,
            StatusCode::CREATED,
            "{}",
            String::from_utf8_lossy(&ans.body)
        );
        assert_eq!(ans.body, answers[0].body);
    }
    assert_eq!(answers.iter().filter(|a| !a.replayed()).count(), 1);
    assert_eq!(seal_count(tv, &a).await, 1);
    assert_eq!(log_size(tv).await - before, 3);

    // A later replay: same body, marked, nothing made.
    let again = post_json(tv, "/v1/seals", &a, Some("order-42"), &req).await;
    assert_eq!(again.status, StatusCode::CREATED);
    assert!(again.replayed());
    assert_eq!(again.body, answers[0].body);
    assert_eq!(
        again.headers["content-type"],
        answers[0].headers["content-type"]
    );
    assert_eq!(seal_count(tv, &a).await, 1);

    // The key with another body, or on another route, is refused.
    let other = post_json(
        tv,
        "/v1/seals",
        &a,
        Some("order-42"),
        &seal_request("另一个合同专用章"),
    )
    .await;
    assert_eq!(other.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(other.code(), "idempotency_mismatch");
    let other = post_json(tv, "/v1/keys", &a, Some("order-42"), &json!({})).await;
    assert_eq!(other.code(), "idempotency_mismatch");

    // Another client's key of the same name is its own.
    let theirs = post_json(tv, "/v1/seals", &b, Some("order-42"), &req).await;
    assert_eq!(theirs.status, StatusCode::CREATED);
    assert!(!theirs.replayed());
    assert_ne!(theirs.json()["id"], answers[0].json()["id"]);
    assert_eq!(seal_count(tv, &b).await, 1);
    assert_eq!(seal_count(tv, &a).await, 1);

    // Without a key every request creates.
    for _ in 0..2 {
        assert_eq!(
            post_json(tv, "/v1/seals", &a, None, &req).await.status,
            StatusCode::CREATED
        );
    }
    assert_eq!(seal_count(tv, &a).await, 3);

    // A failed creation releases its key: the corrected request may use it.
    let bad =
        json!({"name": "x", "holder": {"name": "某某有限公司", "uscc": "91370406L24894136X"}});
    let failed = post_json(tv, "/v1/seals", &a, Some("fix-me"), &bad).await;
    assert_eq!(failed.status, StatusCode::BAD_REQUEST);
    let failed_again = post_json(tv, "/v1/seals", &a, Some("fix-me"), &bad).await;
    assert!(!failed_again.replayed());
    let fixed = post_json(tv, "/v1/seals", &a, Some("fix-me"), &req).await;
    assert_eq!(fixed.status, StatusCode::CREATED);
    assert!(!fixed.replayed());

    // Keys: five concurrent duplicates make one key.
    let body = json!({"alg": "p256"}).to_string().into_bytes();
    let keys = at_once(tv, 5, "/v1/keys", &a, "key-1", "application/json", &body).await;
    for k in &keys {
        assert_eq!(k.status, StatusCode::CREATED);
        assert_eq!(k.body, keys[0].body);
    }
    let (_, list) = tv.get("/v1/keys", &a).await;
    assert_eq!(list["items"].as_array().expect("items").len(), 1);

    // Malformed keys are 400 before anything is made.
    for bad_key in ["", "with space", &"k".repeat(256)] {
        let ans = post_json(tv, "/v1/keys", &a, Some(bad_key), &json!({})).await;
        assert_eq!(ans.status, StatusCode::BAD_REQUEST, "{bad_key:?}");
        assert_eq!(ans.code(), "invalid_request");
    }
    let (_, list) = tv.get("/v1/keys", &a).await;
    assert_eq!(list["items"].as_array().expect("items").len(), 1);
}

async fn idempotent_stamping(tv: &TestVault) {
    let a = tv.client("stamper", &[]).await;
    let seal = common::create_contract_seal(tv, &a, "p256").await;
    let path = format!("/v1/seals/{seal}/stamp?x=20&y=20");
    let before = log_size(tv).await;
    let answers = at_once(tv, 4, &path, &a, "stamp-1", "application/pdf", DOC_1P).await;
    for ans in &answers {
        assert_eq!(
            ans.status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(&ans.body)
        );
        assert_eq!(ans.body, answers[0].body);
        for h in [
            "content-type",
            "x-sidian-field",
            "x-sidian-audit-index",
            "x-sidian-normalised",
        ] {
            assert_eq!(ans.headers.get(h), answers[0].headers.get(h), "{h}");
        }
    }
    assert_eq!(answers[0].headers["content-type"], "application/pdf");
    // One signature recorded.
    assert_eq!(log_size(tv).await - before, 1);

    // Another position under the same key is another request.
    let moved = format!("/v1/seals/{seal}/stamp?x=30&y=20");
    let other = post(
        tv.vault.clone(),
        &moved,
        &a,
        Some("stamp-1"),
        "application/pdf",
        DOC_1P.to_vec(),
    )
    .await;
    assert_eq!(other.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(other.code(), "idempotency_mismatch");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn duplicates_create_once_sqlite() {
    idempotent_creation(&TestVault::open(None).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn duplicates_create_once_postgres() {
    let Some(db) = PgDatabase::create().await else {
        return;
    };
    idempotent_creation(&TestVault::open(Some(db.url.clone())).await).await;
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stamping_is_idempotent_sqlite() {
    idempotent_stamping(&TestVault::open(None).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stamping_is_idempotent_postgres() {
    let Some(db) = PgDatabase::create().await else {
        return;
    };
    idempotent_stamping(&TestVault::open(Some(db.url.clone())).await).await;
    db.drop_db().await;
}
