//! Tampering with the stored audit log or key rows is detected; the database holds no
//! unwrapped private key. Run on SQLite and (when reachable) PostgreSQL.

mod common;

use serde_json::json;
use sidian::Error;
use sqlx::{AnyPool, AssertSqlSafe};

use common::{PgDatabase, TestVault, b64, owner_pool};

async fn exec(pool: &AnyPool, sql: &str) {
    sqlx::query(AssertSqlSafe(sql.to_owned()))
        .execute(pool)
        .await
        .expect(sql);
}

/// A vault with some history: clients, keys of every type, signatures, a checkpoint.
async fn with_history(db: Option<String>) -> (TestVault, String, Vec<String>) {
    let tv = TestVault::open(db).await;
    let a = tv.client("system-a", &[]).await;
    let mut ids = Vec::new();
    for alg in ["sm2", "p256", "ed25519", "rsa2048"] {
        let (_, k) = tv.post("/v1/keys", &a, json!({ "alg": alg })).await;
        let id = k["id"].as_str().expect("id").to_owned();
        for i in 0..3u8 {
            let (st, _) = tv
                .post(
                    &format!("/v1/keys/{id}/sign"),
                    &a,
                    json!({ "data": b64(&[i]) }),
                )
                .await;
            assert!(st.is_success());
        }
        ids.push(id);
    }
    tv.vault.checkpoint().await.expect("checkpoint");
    tv.vault
        .verify_audit_log()
        .await
        .expect("intact before tampering");
    (tv, a, ids)
}

fn broken_at(result: Result<sidian::audit::VerifySummary, Error>) -> u64 {
    match result {
        Err(Error::AuditBroken { index, .. }) => index,
        other => panic!("tampering not detected: {other:?}"),
    }
}

async fn tampering(db: impl AsyncFn() -> Option<String>) {
    // A column edited.
    let (tv, _, _) = with_history(db().await).await;
    let pool = owner_pool(&tv).await;
    exec(
        &pool,
        "UPDATE audit_entries SET actor = 'client:mallory' WHERE idx = 5",
    )
    .await;
    assert_eq!(broken_at(tv.vault.verify_audit_log().await), 5);

    // A record rewritten together with its leaf hash: only the signed checkpoint can tell.
    let (tv, _, _) = with_history(db().await).await;
    let pool = owner_pool(&tv).await;
    let e = tv.vault.verify_audit_log().await.expect("intact");
    let entry = sqlx::query_scalar::<_, Vec<u8>>("SELECT record FROM audit_entries WHERE idx = 7")
        .fetch_one(&pool)
        .await
        .expect("row");
    let forged = String::from_utf8(entry)
        .expect("utf8")
        .replace("signature.created", "signature.createD");
    let leaf = sidian::audit::leaf_hash(forged.as_bytes());
    sqlx::query("UPDATE audit_entries SET record = $1, leaf_hash = $2, action = 'signature.createD' WHERE idx = 7")
        .bind(forged.into_bytes())
        .bind(leaf.to_vec())
        .execute(&pool)
        .await
        .expect("forge");
    let at = broken_at(tv.vault.verify_audit_log().await);
    assert!(at >= 7 && at <= e.entries, "reported at {at}");

    // A row in the middle deleted.
    let (tv, _, _) = with_history(db().await).await;
    let pool = owner_pool(&tv).await;
    exec(&pool, "DELETE FROM audit_entries WHERE idx = 4").await;
    assert_eq!(broken_at(tv.vault.verify_audit_log().await), 4);

    // The last row deleted (and the head row rewound to hide it).
    let (tv, _, _) = with_history(db().await).await;
    let pool = owner_pool(&tv).await;
    exec(
        &pool,
        "DELETE FROM audit_entries WHERE idx = (SELECT MAX(idx) FROM audit_entries)",
    )
    .await;
    broken_at(tv.vault.verify_audit_log().await);

    // Two records swapped.
    let (tv, _, _) = with_history(db().await).await;
    let pool = owner_pool(&tv).await;
    exec(&pool, "UPDATE audit_entries SET idx = -1 WHERE idx = 8").await;
    exec(&pool, "UPDATE audit_entries SET idx = 8 WHERE idx = 9").await;
    exec(&pool, "UPDATE audit_entries SET idx = 9 WHERE idx = -1").await;
    assert_eq!(broken_at(tv.vault.verify_audit_log().await), 8);

    // A wrapped private key copied onto another key row does not unwrap there.
    let (tv, a, ids) = with_history(db().await).await;
    let pool = owner_pool(&tv).await;
    let (_, k) = tv.post("/v1/keys", &a, json!({ "alg": "sm2" })).await;
    let victim = k["id"].as_str().expect("id");
    exec(
        &pool,
        &format!(
            "UPDATE keys SET wrapped_private = (SELECT wrapped_private FROM keys WHERE id = '{}') WHERE id = '{victim}'",
            ids[0]
        ),
    )
    .await;
    let (st, e) = tv
        .post(
            &format!("/v1/keys/{victim}/sign"),
            &a,
            json!({ "data": b64(b"x") }),
        )
        .await;
    assert_eq!(st.as_u16(), 500, "{e}");
    assert_eq!(e["error"]["code"], "internal");
    assert!(
        !e.to_string().contains("wrap"),
        "no internals in the message: {e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampering_is_detected_sqlite() {
    tampering(async || None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampering_is_detected_postgres() {
    let mut dbs = Vec::new();
    if PgDatabase::create().await.map(|d| dbs.push(d)).is_none() {
        return;
    }
    let dbs = std::sync::Mutex::new(dbs);
    tampering(async || {
        let db = PgDatabase::create().await.expect("second database");
        let url = db.url.clone();
        dbs.lock().expect("lock").push(db);
        Some(url)
    })
    .await;
    for db in dbs.into_inner().expect("lock") {
        db.drop_db().await;
    }
}

/// id, owner, key_type, wrapped_private, public_key
type KeyColumns = (String, String, String, Vec<u8>, Vec<u8>);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_private_key_in_database() {
    use base64::Engine;
    let (tv, _, _) = with_history(None).await;
    let pool = owner_pool(&tv).await;
    let master_b64 =
        std::fs::read_to_string(tv.config.data_dir.join("master.key")).expect("master key");
    let master_bytes = base64::engine::general_purpose::STANDARD
        .decode(master_b64.trim())
        .expect("b64");
    let master = sidian::crypto::MasterKey::from_bytes(&master_bytes).expect("master");
    let rows: Vec<KeyColumns> =
        sqlx::query_as("SELECT id, owner, key_type, wrapped_private, public_key FROM keys")
            .fetch_all(&pool)
            .await
            .expect("keys");
    pool.close().await;
    // Flush the WAL into the main file too, and scan both.
    tv.vault.clone().close().await;
    let mut stored = Vec::new();
    for f in ["sidian.db", "sidian.db-wal"] {
        stored.extend(std::fs::read(tv.config.data_dir.join(f)).unwrap_or_default());
    }
    assert!(rows.len() >= 5);
    let contains = |needle: &[u8]| stored.windows(needle.len()).any(|w| w == needle);
    for (id, owner, key_type, blob, public_key) in rows {
        assert!(
            contains(&public_key),
            "the scan finds what is stored in clear"
        );
        let aad = format!("sidian/v1/key\0{id}\0{owner}\0{key_type}");
        let pkcs8 = master
            .unwrap(&blob, aad.as_bytes())
            .expect("unwraps with its own AAD");
        assert!(!contains(&pkcs8), "PKCS#8 of {id} is stored in clear");
        // The secret itself: the EC scalar (ECPrivateKey `02 01 01 04 20 ‖ d`), the Ed25519
        // seed (`04 22 04 20 ‖ seed`), or for RSA the tail (CRT coefficient). The public key
        // that PKCS#8 may also carry is stored in clear on purpose.
        let secret = [&[2u8, 1, 1, 4, 32][..], &[4, 34, 4, 32]]
            .iter()
            .find_map(|p| {
                pkcs8
                    .windows(p.len())
                    .position(|w| w == *p)
                    .map(|i| &pkcs8[i + p.len()..i + p.len() + 32])
            })
            .unwrap_or(&pkcs8[pkcs8.len() - 32..]);
        assert!(
            !contains(secret),
            "private key bytes of {id} ({key_type}) are stored in clear"
        );
    }
    assert!(!contains(&master_bytes), "master key in the database");
    assert!(
        !contains(master_b64.trim().as_bytes()),
        "master key (base64) in the database"
    );
}
