//! The ledger's order of things: a key signs only in the role it was made for, nothing is signed
//! after a revocation commits (even when both sit in one batch), and a revoked client stops at
//! once on every signing route, whatever an authentication cache still holds.

mod common;

use std::sync::Arc;

use axum::http::StatusCode;
use common::{PgDatabase, TestVault, b64, call_bytes, create_contract_seal, json_answer};
use serde_json::{Value, json};
use sidian::audit::{Actor, StoredEntry};
use sidian::store::Store;
use sidian::tsa::{HashAlg, TimeStampReq};
use sidian::vault::{HolderId, NewSeal, SealInput, SealKind, StampParams};
use sidian::{Error, Vault};

const DOC_1P: &[u8] = include_bytes!("data/pdf/doc-1p.pdf");

/// Milliseconds of an RFC 3339 time in a response.
fn ms(v: &Value) -> i64 {
    let s = v.as_str().expect("a time");
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .expect("RFC 3339");
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).expect("ms")
}

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}

/// Every entry of the log, read straight from the database.
async fn entries(store: &Store) -> Vec<StoredEntry> {
    let mut all = Vec::new();
    loop {
        let page = store
            .entries(all.len() as u64, 5000)
            .await
            .expect("entries");
        if page.is_empty() {
            return all;
        }
        all.extend(page);
    }
}

/// The index of the one entry of `action` on `subject`.
fn index_of(log: &[StoredEntry], action: &str, subject: &str) -> u64 {
    let found: Vec<u64> = log
        .iter()
        .filter(|e| e.action == action && e.subject == subject)
        .map(|e| e.index)
        .collect();
    assert_eq!(found.len(), 1, "{action} {subject}: {found:?}");
    found[0]
}

/// The signatures the log records on `subject`: (index, signing time in ms).
fn signatures(log: &[StoredEntry], subject: &str) -> Vec<(u64, i64)> {
    log.iter()
        .filter(|e| e.action == "signature.created" && e.subject == subject)
        .map(|e| {
            let record: Value = serde_json::from_slice(&e.record).expect("record");
            let at = record["details"]["signed_at_ms"]
                .as_i64()
                .expect("signing time recorded");
            (e.index, at)
        })
        .collect()
}

async fn seal_sign(tv: &TestVault, key: &str, seal: &str) -> (StatusCode, Value) {
    tv.post(
        &format!("/v1/seals/{seal}/sign"),
        key,
        json!({"digest": b64(&[7; 32]), "property_info": "ledger-order"}),
    )
    .await
}

async fn tsa(tv: &TestVault, key: &str) -> StatusCode {
    let req = TimeStampReq {
        hash_alg: HashAlg::Sha256,
        hashed_message: vec![9; 32],
        policy: None,
        nonce: None,
        cert_req: false,
    };
    let (status, _) = call_bytes(
        tv,
        "/v1/tsa",
        Some(key),
        "application/timestamp-query",
        req.to_der(),
    )
    .await;
    status
}

async fn stamp(tv: &TestVault, key: &str, seal: &str) -> (StatusCode, Value) {
    json_answer(
        call_bytes(
            tv,
            &format!("/v1/seals/{seal}/stamp"),
            Some(key),
            "application/pdf",
            DOC_1P.to_vec(),
        )
        .await,
    )
}

#[tokio::test]
async fn seal_key_is_unreachable_through_keys_routes() {
    let tv = TestVault::open(None).await;
    let holder = tv.client("holder", &[]).await;
    let admin = tv.client("admin", &["admin"]).await;
    let seal = create_contract_seal(&tv, &holder, "sm2").await;
    let (_, info) = tv.get(&format!("/v1/seals/{seal}"), &holder).await;
    let key_id = info["key_id"].as_str().expect("key id").to_owned();
    // Neither the holder nor an admin reaches the seal's key as a key: 404 as if absent, the
    // same answer as for another client's key.
    for who in [&holder, &admin] {
        let (status, body) = tv.get(&format!("/v1/keys/{key_id}"), who).await;
        assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, "not_found"));
        for (route, body) in [
            ("sign", json!({"digest": b64(&[1; 32])})),
            ("rotate", json!({})),
            ("disable", json!({})),
        ] {
            let (status, answer) = tv
                .post(&format!("/v1/keys/{key_id}/{route}"), who, body)
                .await;
            assert_eq!(
                (status, code(&answer)),
                (StatusCode::NOT_FOUND, "not_found"),
                "{route}: {answer}"
            );
        }
    }
    let (status, body) = tv
        .post(
            "/v1/verify",
            &holder,
            json!({"key_id": key_id, "data": b64(b"x"), "signature": b64(b"y")}),
        )
        .await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, "not_found"));
    // The seal is untouched and still signs; its key was neither disabled nor replaced.
    let (status, body) = seal_sign(&tv, &holder, &seal).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, info) = tv.get(&format!("/v1/seals/{seal}"), &holder).await;
    assert_eq!(info["status"], "active");
    assert_eq!(info["key_id"], key_id.as_str());
    // General keys still work as before.
    let (status, key) = tv.post("/v1/keys", &holder, json!({})).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = tv
        .post(
            &format!("/v1/keys/{}/sign", key["id"].as_str().expect("id")),
            &holder,
            json!({"data": b64(b"general")}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// What a burst of signing requests with a revocation in the middle gave back.
#[derive(Default)]
struct Burst {
    released: usize,
    refused: usize,
}

/// Waits until one of `tasks` has finished: the revocation then goes out while the rest are in
/// flight, so each round releases some signatures and refuses others however loaded the machine.
async fn first_done<T>(tasks: &[tokio::task::JoinHandle<T>]) {
    while !tasks.iter().any(tokio::task::JoinHandle::is_finished) {
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
}

/// 200 concurrent seal signatures with a revocation sent once the first of 100 has answered.
async fn seal_round(tv: &Arc<TestVault>, store: &Store, key: &str, burst: &mut Burst) {
    let seal = create_contract_seal(tv, key, "p256").await;
    let mut signing = Vec::new();
    let mut revoking = None;
    for i in 0..200 {
        if i == 100 {
            first_done(&signing).await;
            let (tv, key, seal) = (tv.clone(), key.to_owned(), seal.clone());
            revoking = Some(tokio::spawn(async move {
                tv.post(
                    &format!("/v1/seals/{seal}/revoke"),
                    &key,
                    json!({"reason": "mid-burst"}),
                )
                .await
            }));
        }
        let (tv, key, seal) = (tv.clone(), key.to_owned(), seal.clone());
        signing.push(tokio::spawn(
            async move { seal_sign(&tv, &key, &seal).await },
        ));
    }
    let (status, revoked) = revoking.expect("spawned").await.expect("revoke task");
    assert_eq!(status, StatusCode::OK, "{revoked}");
    let revoked_at = ms(&revoked["revoked_at"]);
    let log = entries(store).await;
    let revocation = index_of(&log, "seal.revoked", &format!("seal:{seal}"));
    let mut released = 0;
    for task in signing {
        let (status, body) = task.await.expect("sign task");
        if status == StatusCode::OK {
            released += 1;
            let index = body["audit_index"].as_u64().expect("audit index");
            assert!(
                index < revocation,
                "signature {index} after revocation {revocation}"
            );
            assert!(ms(&body["signed_at"]) < revoked_at, "{body}");
        } else {
            burst.refused += 1;
            assert_eq!(
                (status, code(&body)),
                (StatusCode::CONFLICT, "seal_revoked"),
                "{body}"
            );
        }
    }
    burst.released += released;
    // The log agrees: it holds exactly the released signatures, all before the revocation in
    // order and in time.
    let recorded = signatures(&log, &format!("seal:{seal}"));
    assert_eq!(recorded.len(), released);
    for (index, signed_at) in recorded {
        assert!(index < revocation && signed_at < revoked_at);
    }
}

/// 200 concurrent key signatures with the key disabled once the first of 50 has answered (key
/// signatures are quick: later, most would be done before the disabling is queued).
async fn key_round(tv: &Arc<TestVault>, store: &Store, key: &str, burst: &mut Burst) {
    let (status, created) = tv.post("/v1/keys", key, json!({"alg": "p256"})).await;
    assert_eq!(status, StatusCode::CREATED);
    let id = created["id"].as_str().expect("id").to_owned();
    let mut signing = Vec::new();
    let mut disabling = None;
    for i in 0..200 {
        if i == 50 {
            first_done(&signing).await;
            let (tv, key, id) = (tv.clone(), key.to_owned(), id.clone());
            disabling = Some(tokio::spawn(async move {
                tv.post(&format!("/v1/keys/{id}/disable"), &key, json!({}))
                    .await
            }));
        }
        let (tv, key, id) = (tv.clone(), key.to_owned(), id.clone());
        signing.push(tokio::spawn(async move {
            tv.post(
                &format!("/v1/keys/{id}/sign"),
                &key,
                json!({"data": b64(i.to_string().as_bytes())}),
            )
            .await
        }));
    }
    let (status, body) = disabling.expect("spawned").await.expect("disable task");
    assert_eq!(status, StatusCode::OK, "{body}");
    let disabled_at = store
        .key(&id)
        .await
        .expect("read")
        .and_then(|k| k.disabled_at)
        .expect("disabled");
    let log = entries(store).await;
    let disabling = index_of(&log, "key.disabled", &format!("key:{id}"));
    let mut released = 0;
    for task in signing {
        let (status, body) = task.await.expect("sign task");
        if status == StatusCode::OK {
            released += 1;
            let index = body["audit_index"].as_u64().expect("audit index");
            assert!(
                index < disabling,
                "signature {index} after disabling {disabling}"
            );
        } else {
            burst.refused += 1;
            assert_eq!(
                (status, code(&body)),
                (StatusCode::CONFLICT, "key_disabled"),
                "{body}"
            );
        }
    }
    burst.released += released;
    let recorded = signatures(&log, &format!("key:{id}"));
    assert_eq!(recorded.len(), released);
    for (index, signed_at) in recorded {
        assert!(index < disabling && signed_at < disabled_at);
    }
}

async fn no_signature_after_revocation(database_url: Option<String>, rounds: usize) {
    let tv = Arc::new(TestVault::open(database_url).await);
    let store = Store::connect(&tv.config.database_url())
        .await
        .expect("store");
    let key = tv.client("burst", &[]).await;
    let mut seals = Burst::default();
    for _ in 0..rounds {
        seal_round(&tv, &store, &key, &mut seals).await;
    }
    let mut keys = Burst::default();
    for _ in 0..rounds.div_ceil(2) {
        key_round(&tv, &store, &key, &mut keys).await;
    }
    // The race really happened: the revocations landed mid-burst, not before or after it.
    for (what, burst) in [("seal", &seals), ("key", &keys)] {
        println!(
            "{what}: {} released, {} refused",
            burst.released, burst.refused
        );
        assert!(
            burst.released > 0 && burst.refused > 0,
            "{what}: {} released, {} refused",
            burst.released,
            burst.refused
        );
    }
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_signature_after_seal_revocation() {
    no_signature_after_revocation(None, 10).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_signature_after_seal_revocation_postgres() {
    let Some(db) = PgDatabase::create().await else {
        return;
    };
    no_signature_after_revocation(Some(db.url.clone()), 3).await;
    db.drop_db().await;
}

async fn revoked_client_story(database_url: Option<String>) {
    let tv = TestVault::open(database_url).await;
    let holder = tv.client("holder", &[]).await;
    let stamper = tv.client("stamper", &["sign", "seals"]).await;
    let admin = tv.client("admin", &["admin"]).await;
    let theirs = create_contract_seal(&tv, &holder, "p256").await;
    let own = create_contract_seal(&tv, &stamper, "p256").await;
    // Everything works before, and warms the caches: API keys, loaded seals.
    assert_eq!(tsa(&tv, &stamper).await, StatusCode::OK);
    assert_eq!(seal_sign(&tv, &stamper, &own).await.0, StatusCode::OK);
    assert_eq!(seal_sign(&tv, &admin, &theirs).await.0, StatusCode::OK);
    assert_eq!(stamp(&tv, &admin, &theirs).await.0, StatusCode::OK);
    let stale_stamper = tv.vault.authenticate(&stamper).await.expect("auth");
    let stale_admin = tv.vault.authenticate(&admin).await.expect("auth");

    // Revoked by another process on the same database (as `sidian client revoke` does): this
    // vault's authentication cache may still hold both clients.
    let other = Vault::open(tv.config.clone(), false).await.expect("open");
    for name in ["stamper", "admin"] {
        other
            .revoke_client(name, Actor::Operator("test".into()))
            .await
            .expect("revoke");
    }
    other.close().await;

    // Over HTTP: 401 `unauthorized`, from the cache's miss or from the ledger's re-check.
    assert_eq!(tsa(&tv, &stamper).await, StatusCode::UNAUTHORIZED);
    for (key, seal) in [(&stamper, &own), (&admin, &theirs)] {
        let (status, body) = seal_sign(&tv, key, seal).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::UNAUTHORIZED, "unauthorized")
        );
    }
    let (status, body) = stamp(&tv, &admin, &theirs).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "unauthorized")
    );

    // With the clients as a cache would still hold them, the ledger refuses every operation.
    let vault = &tv.vault;
    let req = TimeStampReq {
        hash_alg: HashAlg::Sha256,
        hashed_message: vec![9; 32],
        policy: None,
        nonce: None,
        cert_req: false,
    };
    let refused = |r: Result<(), Error>| assert!(matches!(r, Err(Error::Unauthorized)), "{r:?}");
    refused(
        vault
            .timestamp(&stale_stamper, &req.to_der())
            .await
            .map(drop),
    );
    for (client, seal) in [(&stale_stamper, &own), (&stale_admin, &theirs)] {
        refused(
            vault
                .seal_sign(client, seal, &SealInput::Digest(vec![7; 32]), "stale")
                .await
                .map(drop),
        );
    }
    let req_stamp = StampParams::default().resolve().expect("defaults");
    refused(
        vault
            .stamp_pdf(&stale_admin, &theirs, DOC_1P.to_vec(), req_stamp)
            .await
            .map(drop),
    );
    refused(
        vault
            .create_key(&stale_stamper, sidian::crypto::KeyType::P256)
            .await
            .map(drop),
    );
    refused(
        vault
            .revoke_seal(
                &stale_stamper,
                &own,
                "stale",
                sidian::pki::RevocationReason::CessationOfOperation,
            )
            .await
            .map(drop),
    );
    let seal = NewSeal {
        name: "某某有限公司合同专用章".into(),
        kind: SealKind::Contract,
        holder_name: "某某有限公司".into(),
        holder_id: HolderId::Uscc("91370406L24894136J".into()),
        valid_from: None,
        valid_to: None,
        image: None,
        size_mm: None,
        shape: None,
        alg: sidian::crypto::KeyType::P256,
        grant_to: None,
    };
    refused(vault.create_seal(&stale_stamper, seal).await.map(drop));

    // The holder is not affected.
    let (status, body) = seal_sign(&tv, &holder, &theirs).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn revoked_client_gets_nothing_after_revoke_returns() {
    revoked_client_story(None).await;
}

#[tokio::test]
async fn revoked_client_gets_nothing_after_revoke_returns_postgres() {
    let Some(db) = PgDatabase::create().await else {
        return;
    };
    revoked_client_story(Some(db.url.clone())).await;
    db.drop_db().await;
}
