//! Client credentials: rotation with an overlap (CLI, vault and self-service route), a revoked
//! client's name reused without confusing the audit log, and unknown scopes refused.

mod common;

use std::process::{Command, Output};
use std::time::Duration;

use axum::http::StatusCode;
use common::{PgDatabase, TestVault};
use serde_json::json;
use sidian::Error;
use sidian::audit::Actor;

fn operator() -> Actor {
    Actor::Operator("test".into())
}

const LONG: Duration = Duration::from_secs(3600);

/// Whether the key is accepted by an authenticated route (creating a key needs only `keys`).
async fn accepted(tv: &TestVault, key: &str) -> bool {
    let (st, body) = tv.post("/v1/keys", key, json!({"alg": "p256"})).await;
    match st {
        StatusCode::CREATED => true,
        StatusCode::UNAUTHORIZED => false,
        other => panic!("unexpected answer {other}: {body}"),
    }
}

async fn rotation_by_operator(tv: &TestVault) {
    let first = tv.client("rotating", &[]).await;
    let second = tv
        .vault
        .rotate_client_key("rotating", LONG, operator())
        .await
        .expect("rotate");
    assert_ne!(second.api_key, first);
    // Both keys work during the overlap.
    assert!(accepted(tv, &first).await, "old key during the overlap");
    assert!(accepted(tv, &second.api_key).await, "new key");
    let third = tv
        .vault
        .rotate_client_key("rotating", Duration::ZERO, operator())
        .await
        .expect("rotate again");
    // Overlap 0 ends the previous key at once, and shortens the older key's overlap too.
    assert!(
        !accepted(tv, &second.api_key).await,
        "rotated out with overlap 0"
    );
    assert!(
        !accepted(tv, &first).await,
        "older key cut by the later rotation"
    );
    assert!(accepted(tv, &third.api_key).await);
    // The same client keeps its id and objects.
    assert_eq!(second.client_id, third.client_id);
    assert!(matches!(
        tv.vault
            .rotate_client_key(
                "rotating",
                sidian::vault::MAX_KEY_OVERLAP + Duration::from_secs(1),
                operator()
            )
            .await,
        Err(Error::InvalidRequest(_))
    ));
    assert!(matches!(
        tv.vault.rotate_client_key("nobody", LONG, operator()).await,
        Err(Error::NotFound(_))
    ));
    // Audited: one client.key_rotated entry per rotation, naming the client by id.
    let rotations = audit_entries(tv)
        .await
        .into_iter()
        .filter(|e| e.action == "client.key_rotated")
        .collect::<Vec<_>>();
    assert_eq!(rotations.len(), 2);
    assert!(
        rotations
            .iter()
            .all(|e| e.subject == format!("client:{}", third.client_id)
                && e.actor == "operator:test")
    );
    tv.vault.verify_audit_log().await.expect("log intact");
}

async fn self_service_rotation(tv: &TestVault) {
    let old = tv.client("self-rotating", &[]).await;
    let (st, body) = tv.post("/v1/clients/self/rotate", &old, json!({})).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    let new = body["api_key"].as_str().expect("api_key").to_owned();
    let expires = time::OffsetDateTime::parse(
        body["old_key_expires_at"].as_str().expect("expiry"),
        &time::format_description::well_known::Rfc3339,
    )
    .expect("RFC 3339");
    let default_overlap = expires - time::OffsetDateTime::now_utc();
    assert!(
        default_overlap > time::Duration::hours(23) && default_overlap <= time::Duration::hours(24),
        "the default overlap is 24 h: {default_overlap}"
    );
    assert!(accepted(tv, &old).await, "old key during the overlap");
    // A key already rotated out cannot rotate again (nor make a second new key).
    let (st, _) = tv
        .post(
            "/v1/clients/self/rotate",
            &old,
            json!({"overlap_seconds": 0}),
        )
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    // Out of bounds, or unknown fields: 400, and nothing changes.
    for bad in [json!({"overlap_seconds": 604_801}), json!({"overlap": 1})] {
        let (st, body) = tv.post("/v1/clients/self/rotate", &new, bad).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{body}");
    }
    assert!(accepted(tv, &new).await);
    // An empty body takes the defaults; overlap 0 refuses the old key at once.
    let (st, body) = tv
        .call(
            axum::http::Method::POST,
            "/v1/clients/self/rotate",
            Some(&new),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    let newer = body["api_key"].as_str().expect("api_key").to_owned();
    let (st, body) = tv
        .post(
            "/v1/clients/self/rotate",
            &newer,
            json!({"overlap_seconds": 0}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    let newest = body["api_key"].as_str().expect("api_key").to_owned();
    assert!(!accepted(tv, &newer).await, "overlap 0: refused at once");
    assert!(!accepted(tv, &new).await, "the older overlap is cut too");
    assert!(!accepted(tv, &old).await);
    assert!(accepted(tv, &newest).await);
    // Anonymous callers are refused.
    let (st, _) = tv
        .call(
            axum::http::Method::POST,
            "/v1/clients/self/rotate",
            None,
            None,
        )
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    // The rotations are the client's own entries.
    let me = tv.vault.authenticate(&newest).await.expect("auth");
    let own = audit_entries(tv)
        .await
        .into_iter()
        .filter(|e| e.action == "client.key_rotated" && e.subject == format!("client:{}", me.id))
        .collect::<Vec<_>>();
    assert_eq!(own.len(), 3);
    assert!(own.iter().all(|e| e.actor == format!("client:{}", me.id)));
}

async fn name_reuse_after_revoke(tv: &TestVault) {
    let (first, first_key) = tv
        .vault
        .add_client("acme", &[], operator())
        .await
        .expect("add");
    assert!(matches!(
        tv.vault.add_client("acme", &[], operator()).await,
        Err(Error::ClientExists(_))
    ));
    tv.vault
        .revoke_client("acme", operator())
        .await
        .expect("revoke");
    let (second, second_key) = tv
        .vault
        .add_client("acme", &[], operator())
        .await
        .expect("a revoked client's name is free again");
    assert_ne!(first.id, second.id);
    assert!(
        !accepted(tv, &first_key).await,
        "the revoked client stays revoked"
    );
    assert!(accepted(tv, &second_key).await);
    // Revoking by name reaches the active client only, and the log tells them apart by id.
    tv.vault
        .revoke_client("acme", operator())
        .await
        .expect("revoke the new one");
    assert!(!accepted(tv, &second_key).await);
    let entries = audit_entries(tv).await;
    for (id, actions) in [(&first.id, 2), (&second.id, 2)] {
        let subject = format!("client:{id}");
        let about: Vec<_> = entries.iter().filter(|e| e.subject == subject).collect();
        assert_eq!(about.len(), actions, "{id}: {about:?}");
    }
    let created_by_first = entries
        .iter()
        .filter(|e| e.actor == format!("client:{}", first.id) && e.action == "key.created")
        .count();
    assert_eq!(
        created_by_first, 0,
        "the first client made nothing under the new one's id"
    );
    let listed = tv.vault.clients().await.expect("list");
    assert_eq!(listed.iter().filter(|c| c.name == "acme").count(), 2);
    tv.vault.verify_audit_log().await.expect("log intact");
}

async fn unknown_scope_refused(tv: &TestVault) {
    match tv
        .vault
        .add_client("scoped", &["bogus".to_owned()], operator())
        .await
    {
        Err(Error::InvalidRequest(m)) => {
            assert!(m.contains("bogus"), "{m}");
            for s in sidian::vault::SCOPES {
                assert!(m.contains(s), "{m} lacks {s}");
            }
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    tv.vault
        .add_client(
            "scoped",
            &["sign".to_owned(), "audit".to_owned()],
            operator(),
        )
        .await
        .expect("known scopes");
}

struct Entry {
    actor: String,
    action: String,
    subject: String,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} {}", self.actor, self.action, self.subject)
    }
}

/// Every entry of the log, through inclusion proofs (as an auditor client sees them).
async fn audit_entries(tv: &TestVault) -> Vec<Entry> {
    let auditor = sidian::vault::AuthClient::operator("auditor");
    let size = tv.vault.checkpoint().await.expect("checkpoint").size;
    let mut out = Vec::new();
    for i in 0..size {
        let e = tv
            .vault
            .inclusion_proof(&auditor, i)
            .await
            .expect("entry")
            .entry;
        out.push(Entry {
            actor: e.actor,
            action: e.action,
            subject: e.subject,
        });
    }
    out
}

async fn all(tv: &TestVault) {
    rotation_by_operator(tv).await;
    self_service_rotation(tv).await;
    name_reuse_after_revoke(tv).await;
    unknown_scope_refused(tv).await;
}

#[tokio::test]
async fn clients_sqlite() {
    all(&TestVault::open(None).await).await;
}

#[tokio::test]
async fn clients_postgres() {
    let Some(db) = PgDatabase::create().await else {
        return;
    };
    all(&TestVault::open(Some(db.url.clone())).await).await;
    db.drop_db().await;
}

fn sidian(data: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sidian"))
        .arg("--data")
        .arg(data)
        .args(args)
        .env("RUST_LOG", "warn")
        .env_remove("SIDIAN_DATABASE_URL")
        .env_remove("SIDIAN_MASTER_KEY")
        .output()
        .expect("run sidian")
}

fn last_line(o: &Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .last()
        .expect("a line")
        .to_owned()
}

/// The CLI: `client rotate` prints the new key alone on the last line, `--overlap 0` refuses the
/// old key at once, and `--scope` takes the known scopes only, listed in `--help`.
#[tokio::test]
async fn cli_rotate_and_scopes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    assert!(sidian(&data, &["init"]).status.success());
    let old = last_line(&sidian(&data, &["client", "add", "cli-client"]));
    let new = last_line(&sidian(
        &data,
        &["client", "rotate", "cli-client", "--overlap", "0"],
    ));
    assert!(new.starts_with("sdk_") && new != old, "{new}");

    let mut config = sidian::Config::new(&data);
    config.database_url = None;
    let vault = sidian::Vault::open(config, false).await.expect("open");
    assert!(matches!(
        vault.authenticate(&old).await,
        Err(Error::Unauthorized)
    ));
    let client = vault.authenticate(&new).await.expect("the new key");
    assert_eq!(client.name, "cli-client");
    vault.close().await;

    let bad = sidian(
        &data,
        &["client", "rotate", "cli-client", "--overlap", "soon"],
    );
    assert!(!bad.status.success());
    let bad = sidian(&data, &["client", "add", "other", "--scope", "bogus"]);
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("bogus") && err.contains("verify"), "{err}");
    let help = sidian(&data, &["client", "add", "--help"]);
    let help = String::from_utf8_lossy(&help.stdout);
    for s in sidian::vault::SCOPES {
        assert!(help.contains(s), "--help lacks {s}: {help}");
    }
}
