//! Shared test harness: a vault in a temp dir on SQLite or on a fresh PostgreSQL database, and
//! an in-process HTTP client over the router (no socket).

#![allow(dead_code, unreachable_pub, missing_docs)]

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use sidian::audit::Actor;
use sidian::{Config, Vault};
use tower::ServiceExt;

/// The 统一社会信用代码 of the issuer [`TestVault::licence_issuer`] registers.
pub const ISSUER_USCC: &str = "11370100004312345D";

/// Where the PostgreSQL tests connect (the server must allow creating databases).
pub fn postgres_admin_url() -> String {
    std::env::var("SIDIAN_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A database for one test: created before, dropped after.
pub struct PgDatabase {
    pub url: String,
    name: String,
}

impl PgDatabase {
    /// Creates a fresh database, or returns None (and says so) if PostgreSQL is unreachable and
    /// `SIDIAN_REQUIRE_POSTGRES` is not set.
    pub async fn create() -> Option<Self> {
        use sqlx::Connection;
        let admin = postgres_admin_url();
        let mut conn = match sqlx::PgConnection::connect(&admin).await {
            Ok(c) => c,
            Err(e) => {
                if std::env::var_os("SIDIAN_REQUIRE_POSTGRES").is_some() {
                    panic!("PostgreSQL required but unreachable at {admin}: {e}");
                }
                eprintln!("skipped: PostgreSQL unreachable at {admin} ({e})");
                return None;
            }
        };
        let name = format!("sidian_test_{}_{}", std::process::id(), rand_suffix());
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("create database");
        let base = admin
            .rsplit_once('/')
            .map(|(b, _)| b.to_owned())
            .expect("url has a database");
        Some(Self {
            url: format!("{base}/{name}"),
            name,
        })
    }

    /// Drops the database.
    pub async fn drop_db(self) {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&postgres_admin_url())
            .await
            .expect("connect");
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        )))
        .execute(&mut conn)
        .await
        .expect("drop database");
    }
}

fn rand_suffix() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let n = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{n:x}")
}

/// The database as its owner sees it, not through the service's connections (which work as the
/// role `sidian_service` on PostgreSQL). On SQLite the owner of the file first drops the
/// triggers that keep the audit tables append-only (the first time: they are checked to refuse
/// a DELETE), since they stop the vault's own statements, not whoever can write the file.
pub async fn owner_pool(tv: &TestVault) -> sqlx::AnyPool {
    sqlx::any::install_default_drivers();
    let url = tv.config.database_url();
    let pool = sqlx::AnyPool::connect(&url).await.expect("raw connection");
    if url.starts_with("sqlite:") {
        let triggers: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE '%append_only%'",
        )
        .fetch_all(&pool)
        .await
        .expect("triggers");
        if !triggers.is_empty() {
            assert_eq!(triggers.len(), 8);
            let refused = sqlx::query("DELETE FROM audit_entries")
                .execute(&pool)
                .await;
            assert!(
                refused.is_err(),
                "the append-only trigger let a DELETE through"
            );
        }
        for t in triggers {
            sqlx::query(sqlx::AssertSqlSafe(format!("DROP TRIGGER {t}")))
                .execute(&pool)
                .await
                .expect("drop trigger");
        }
    }
    pool
}

/// A running vault (writer started) and its router.
/// Runs `story` on a vault over a fresh PostgreSQL database, dropped after; nothing when
/// PostgreSQL is unreachable (as [`PgDatabase::create`] decides).
pub async fn on_postgres<F, Fut>(story: F)
where
    F: FnOnce(TestVault) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let Some(db) = PgDatabase::create().await else {
        return;
    };
    story(TestVault::open(Some(db.url.clone())).await).await;
    db.drop_db().await;
}

pub struct TestVault {
    pub dir: tempfile::TempDir,
    pub vault: Vault,
    pub config: Config,
}

impl TestVault {
    pub async fn open(database_url: Option<String>) -> Self {
        Self::open_with(database_url, |_, _| {}).await
    }

    /// Opens a vault after `adjust` changed its configuration (given the temp dir).
    pub async fn open_with(
        database_url: Option<String>,
        adjust: impl FnOnce(&mut Config, &std::path::Path),
    ) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = Config::new(dir.path().join("data"));
        config.database_url = database_url;
        adjust(&mut config, dir.path());
        let mut vault = Vault::open(config.clone(), true).await.expect("open vault");
        // The writer task lives as long as the runtime of the test.
        std::mem::forget(vault.start_writer().expect("writer"));
        Self { dir, vault, config }
    }

    pub async fn client(&self, name: &str, scopes: &[&str]) -> String {
        let scopes: Vec<String> = scopes.iter().map(|s| (*s).to_owned()).collect();
        let (_, key) = self
            .vault
            .add_client(name, &scopes, Actor::Operator("test".into()))
            .await
            .expect("add client");
        key
    }

    /// Registers 济南市市场监督管理局 (`ISSUER_USCC`) as an issuing authority through the API, as
    /// `admin`; its answer.
    pub async fn licence_issuer(&self, admin: &str) -> Value {
        let (st, issuer) = self
            .post(
                "/v1/issuers",
                admin,
                serde_json::json!({"name": "济南市市场监督管理局", "uscc": ISSUER_USCC}),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{issuer}");
        issuer
    }

    /// A client with `scopes`, bound to the issuer with id `issuer`; its API key.
    pub async fn bound_client(&self, name: &str, scopes: &[&str], issuer: &Value) -> String {
        let key = self.client(name, scopes).await;
        let id = issuer["id"].as_str().expect("issuer id").to_owned();
        self.vault
            .bind_issuers(name, &[id], Actor::Operator("test".into()))
            .await
            .expect("bind to the issuer");
        key
    }

    /// Sends a request; `body` is sent as JSON unless it is a raw string.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<Body>,
    ) -> (StatusCode, Value) {
        json_answer(self.send(method, path, key, body, "application/json").await)
    }

    /// Sends a request through the router; returns the status and the raw body.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<Body>,
        content_type: &str,
    ) -> (StatusCode, Vec<u8>) {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(k) = key {
            req = req.header("authorization", format!("Bearer {k}"));
        }
        if body.is_some() {
            req = req.header("content-type", content_type);
        }
        let req = req.body(body.unwrap_or_else(Body::empty)).expect("request");
        let resp = sidian::api::app(self.vault.clone())
            .oneshot(req)
            .await
            .expect("infallible");
        let status = resp.status();
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        (status, bytes.to_vec())
    }

    pub async fn post(&self, path: &str, key: &str, json: Value) -> (StatusCode, Value) {
        self.call(
            Method::POST,
            path,
            Some(key),
            Some(Body::from(json.to_string())),
        )
        .await
    }

    pub async fn get(&self, path: &str, key: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, Some(key), None).await
    }
}

/// Sends raw bytes with a content type (and an API key when given); returns the raw answer.
pub async fn call_bytes(
    tv: &TestVault,
    path: &str,
    key: Option<&str>,
    content_type: &str,
    bytes: Vec<u8>,
) -> (StatusCode, Vec<u8>) {
    tv.send(
        Method::POST,
        path,
        key,
        Some(Body::from(bytes)),
        content_type,
    )
    .await
}

/// Sends raw bytes with a content type, unauthenticated.
pub async fn post_raw(
    tv: &TestVault,
    path: &str,
    content_type: &str,
    bytes: Vec<u8>,
) -> (StatusCode, Value) {
    json_answer(call_bytes(tv, path, None, content_type, bytes).await)
}

/// The answer's body as JSON (or as a JSON string when it is not JSON).
pub fn json_answer((status, bytes): (StatusCode, Vec<u8>)) -> (StatusCode, Value) {
    let value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, value)
}

/// Rebuilds a zip with one entry's bytes changed by `edit`.
pub fn rezip(zip_bytes: &[u8], entry: &str, edit: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    use std::io::{Read, Write};
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip_bytes)).expect("zip");
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let mut edit = Some(edit);
    for i in 0..archive.len() {
        let mut f = archive.by_index(i).expect("entry");
        let name = f.name().expect("utf-8 name").into_owned();
        let mut data = Vec::new();
        f.read_to_end(&mut data).expect("read entry");
        if name.trim_start_matches('/') == entry.trim_start_matches('/') {
            (edit.take().expect("entry appears once"))(&mut data);
        }
        out.start_file(name, zip::write::SimpleFileOptions::default())
            .expect("start");
        out.write_all(&data).expect("write");
    }
    assert!(edit.is_none(), "no entry named {entry}");
    out.finish().expect("finish").into_inner()
}

/// Reads one entry of a zip.
pub fn unzip_entry(zip_bytes: &[u8], entry: &str) -> Vec<u8> {
    use std::io::Read;
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip_bytes)).expect("zip");
    let mut f = archive.by_name(entry).expect("entry");
    let mut data = Vec::new();
    f.read_to_end(&mut data).expect("read");
    data
}

pub fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub fn unb64(s: &Value) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(s.as_str().expect("string"))
        .expect("base64")
}

/// Makes a contract seal (holder 某某有限公司) with a key of `alg` for the client `key`; its id.
pub async fn create_contract_seal(tv: &TestVault, key: &str, alg: &str) -> String {
    let (status, seal) = tv
        .post(
            "/v1/seals",
            key,
            serde_json::json!({
                "name": "某某有限公司合同专用章",
                "type": "contract",
                "holder": {"name": "某某有限公司", "uscc": "91370406L24894136J"},
                "alg": alg,
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{seal}");
    seal["id"].as_str().expect("seal id").to_owned()
}

/// A PDF of `objects` (numbered 1…, the catalog first) with an exact cross-reference table.
pub fn pdf_of(objects: &[String]) -> Vec<u8> {
    let mut out = b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f\r\n", objects.len() + 1).as_bytes(),
    );
    for at in offsets {
        out.extend_from_slice(format!("{at:010} 00000 n\r\n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}
