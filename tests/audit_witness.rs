//! A witnessed audit log: consistency proofs checked by an RFC 6962 implementation written here,
//! checkpoints as C2SP signed notes, and a truncation of the data directory caught by
//! `sidian audit watch` and `sidian audit verify --against`.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use axum::http::{Method, StatusCode};
use base64::{Engine, engine::general_purpose::STANDARD as B64};
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::{AnyPool, AssertSqlSafe};

use common::{PgDatabase, TestVault, owner_pool};

type Hash = [u8; 32];

// ---- RFC 6962 §2.1, straight from the text (no code of the crate) ----

fn sha256(parts: &[&[u8]]) -> Hash {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// Largest power of two smaller than `n` (n > 1).
fn split(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// `MTH(D[n])` over leaf hashes.
fn mth(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => sha256(&[]),
        1 => leaves[0],
        n => {
            let k = split(n);
            sha256(&[&[1], &mth(&leaves[..k]), &mth(&leaves[k..])])
        }
    }
}

/// `SUBPROOF(m, D[n], b)`.
fn subproof(m: usize, leaves: &[Hash], b: bool) -> Vec<Hash> {
    let n = leaves.len();
    if m == n {
        return if b { vec![] } else { vec![mth(leaves)] };
    }
    let k = split(n);
    if m <= k {
        let mut p = subproof(m, &leaves[..k], b);
        p.push(mth(&leaves[k..]));
        p
    } else {
        let mut p = subproof(m - k, &leaves[k..], false);
        p.push(mth(&leaves[..k]));
        p
    }
}

/// `PROOF(m, D[n])`, empty where RFC 9162 §2.1.4 says so (m = 0 or m = n).
fn proof(m: usize, leaves: &[Hash]) -> Vec<Hash> {
    if m == 0 || m == leaves.len() {
        vec![]
    } else {
        subproof(m, leaves, true)
    }
}

/// Walks `SUBPROOF` backwards: rebuilds the old and new roots from a proof of `m` in a tree of
/// `n` leaves, taking proof hashes from the end. The old root itself stands for the one subtree
/// a `b = true` branch leaves out.
fn rebuild(m: usize, n: usize, b: bool, p: &mut Vec<Hash>, old: &Hash) -> Option<(Hash, Hash)> {
    if m == n {
        return if b {
            Some((*old, *old))
        } else {
            p.pop().map(|h| (h, h))
        };
    }
    let k = split(n);
    if m <= k {
        let right = p.pop()?;
        let (o, new) = rebuild(m, k, b, p, old)?;
        Some((o, sha256(&[&[1], &new, &right])))
    } else {
        let left = p.pop()?;
        let (o, new) = rebuild(m - k, n - k, false, p, old)?;
        Some((sha256(&[&[1], &left, &o]), sha256(&[&[1], &left, &new])))
    }
}

/// Independent check that `p` proves the tree (n, new) extends (m, old).
fn consistent(m: usize, n: usize, p: &[Hash], old: &Hash, new: &Hash) -> bool {
    if m == 0 || m == n {
        return p.is_empty() && (m == 0 || old == new);
    }
    if m > n {
        return false;
    }
    let mut rest = p.to_vec();
    matches!(rebuild(m, n, true, &mut rest, old), Some((o, nw)) if rest.is_empty() && o == *old && nw == *new)
}

// ---- helpers ----

/// Leaf hashes of every stored entry, computed here from the stored records.
async fn leaves(pool: &AnyPool) -> Vec<Hash> {
    let records: Vec<Vec<u8>> = sqlx::query_scalar("SELECT record FROM audit_entries ORDER BY idx")
        .fetch_all(pool)
        .await
        .expect("records");
    records.iter().map(|r| sha256(&[&[0], r])).collect()
}

async fn log_size(tv: &TestVault) -> u64 {
    tv.vault.checkpoint().await.expect("checkpoint").size
}

/// Registers clients (one entry each) until the log has `n` entries.
async fn grow_to(tv: &TestVault, n: u64, tag: &str) {
    let mut i = 0;
    while log_size(tv).await < n {
        tv.client(&format!("{tag}-{i}"), &[]).await;
        i += 1;
    }
    assert_eq!(log_size(tv).await, n);
}

fn hashes(v: &Value) -> Vec<Hash> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|h| {
            B64.decode(h.as_str().expect("string"))
                .expect("base64")
                .try_into()
                .expect("32 bytes")
        })
        .collect()
}

fn sidian(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sidian"))
        .args(args)
        .env("RUST_LOG", "warn")
        .env_remove("SIDIAN_DATABASE_URL")
        .env_remove("SIDIAN_MASTER_KEY")
        .output()
        .expect("run sidian")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Serves the vault's router on a loopback socket (until the test's runtime ends).
async fn serve(tv: &TestVault) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = sidian::api::app(tv.vault.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

/// `sidian audit watch URL --state STATE --once [--key KEY]`, off the runtime's threads.
async fn watch_once(url: &str, state: &Path, key: Option<&Path>) -> Output {
    let mut args = vec![
        "audit".to_owned(),
        "watch".into(),
        url.into(),
        "--state".into(),
        state.display().to_string(),
        "--once".into(),
    ];
    if let Some(k) = key {
        args.extend(["--key".into(), k.display().to_string()]);
    }
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        sidian(&args)
    })
    .await
    .expect("join")
}

async fn verify_against(data: &Path, saved: &Path) -> Output {
    let (data, saved) = (data.display().to_string(), saved.display().to_string());
    tokio::task::spawn_blocking(move || {
        sidian(&["audit", "verify", "--data", &data, "--against", &saved])
    })
    .await
    .expect("join")
}

// ---- tests ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consistency_proofs_verify_with_an_independent_rfc6962_sqlite() {
    consistency_proofs(TestVault::open(None).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consistency_proofs_verify_with_an_independent_rfc6962_postgres() {
    let Some(db) = PgDatabase::create().await else {
        return;
    };
    consistency_proofs(TestVault::open(Some(db.url.clone())).await).await;
    db.drop_db().await;
}

/// Every proof between two sizes up to 70 is the one RFC 6962 defines and verifies; tampered
/// ones do not.
async fn consistency_proofs(tv: TestVault) {
    grow_to(&tv, 70, "c").await;
    let pool = owner_pool(&tv).await;
    let leaves = leaves(&pool).await;
    assert_eq!(leaves.len(), 70);
    let root = |n: usize| mth(&leaves[..n]);
    // The served checkpoint states the root computed here.
    let (st, cp) = tv
        .call(Method::GET, "/v1/audit/checkpoint", None, None)
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(cp["size"], 70);
    assert_eq!(cp["root_hash"], B64.encode(root(70)));

    let mut checked = 0;
    for to in 0..=70usize {
        for from in 0..=to {
            let (st, body) = tv
                .call(
                    Method::GET,
                    &format!("/v1/audit/consistency?from={from}&to={to}"),
                    None,
                    None,
                )
                .await;
            assert_eq!(st, StatusCode::OK, "{from}→{to}: {body}");
            assert_eq!(
                (body["from"].as_u64(), body["to"].as_u64()),
                (Some(from as u64), Some(to as u64))
            );
            let p = hashes(&body["proof"]);
            assert_eq!(p, proof(from, &leaves[..to]), "{from}→{to}");
            let (old, new) = (root(from), root(to));
            assert!(consistent(from, to, &p, &old, &new), "{from}→{to}");
            assert!(
                sidian::audit::verify_consistency(from as u64, to as u64, &p, &old, &new),
                "crate verifier, {from}→{to}"
            );
            // Every tampered proof fails both verifiers.
            for i in 0..p.len() {
                let mut bad = p.clone();
                bad[i][31] ^= 0x80;
                assert!(!consistent(from, to, &bad, &old, &new));
                assert!(!sidian::audit::verify_consistency(
                    from as u64,
                    to as u64,
                    &bad,
                    &old,
                    &new
                ));
            }
            if !p.is_empty() {
                let short = &p[..p.len() - 1];
                assert!(!consistent(from, to, short, &old, &new));
                assert!(!sidian::audit::verify_consistency(
                    from as u64,
                    to as u64,
                    short,
                    &old,
                    &new
                ));
                let other = root(from - 1);
                assert!(!consistent(from, to, &p, &other, &new));
                assert!(!sidian::audit::verify_consistency(
                    from as u64,
                    to as u64,
                    &p,
                    &other,
                    &new
                ));
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 71 * 72 / 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consistency_route_refuses_bad_sizes_with_json_errors() {
    let tv = TestVault::open(None).await;
    let size = log_size(&tv).await;
    let past_the_log = format!("from=1&to={}", size + 1);
    for (query, status, code) in [
        ("from=x&to=1", StatusCode::BAD_REQUEST, "invalid_request"),
        ("from=1", StatusCode::BAD_REQUEST, "invalid_request"),
        ("from=-1&to=2", StatusCode::BAD_REQUEST, "invalid_request"),
        (
            "from=1&to=2&extra=3",
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        ("from=3&to=2", StatusCode::BAD_REQUEST, "invalid_request"),
        (past_the_log.as_str(), StatusCode::NOT_FOUND, "not_found"),
        (
            "from=1&to=18446744073709551615",
            StatusCode::NOT_FOUND,
            "not_found",
        ),
    ] {
        let (st, body) = tv
            .call(
                Method::GET,
                &format!("/v1/audit/consistency?{query}"),
                None,
                None,
            )
            .await;
        assert_eq!(st, status, "{query}: {body}");
        assert_eq!(body["error"]["code"], code, "{query}: {body}");
        assert!(body["error"]["message"].is_string());
    }
    for query in [
        format!("from=0&to={size}"),
        format!("from={size}&to={size}"),
    ] {
        let (st, body) = tv
            .call(
                Method::GET,
                &format!("/v1/audit/consistency?{query}"),
                None,
                None,
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{query}");
        assert_eq!(body["proof"], serde_json::json!([]), "{query}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoint_is_a_c2sp_signed_note() {
    use sm2::dsa::signature::Verifier;
    use sm2::pkcs8::DecodePublicKey;

    let tv = TestVault::open(None).await;
    tv.client("someone", &[]).await;
    let size = log_size(&tv).await;
    let mut req = axum::http::Request::builder()
        .uri("/v1/audit/checkpoint")
        .header("accept", "text/plain");
    req = req.method(Method::GET);
    let resp = tower::ServiceExt::oneshot(
        sidian::api::app(tv.vault.clone()),
        req.body(axum::body::Body::empty()).expect("request"),
    )
    .await
    .expect("infallible");
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("text/plain")
    );
    let body = http_body_util::BodyExt::collect(resp.into_body())
        .await
        .expect("body")
        .to_bytes();
    let note = String::from_utf8(body.to_vec()).expect("utf-8");

    // Text, a blank line, one signature line; no control characters but newlines.
    assert!(!note.chars().any(|c| c < ' ' && c != '\n'));
    let (text, sigs) = note.rsplit_once("\n\n").expect("blank line");
    let text = format!("{text}\n");
    let lines: Vec<&str> = text.lines().collect();
    let origin = lines[0];
    assert!(origin.starts_with("sidian/audit/"));
    assert_eq!(lines[1], size.to_string());
    let root = B64.decode(lines[2]).expect("base64 root");
    assert_eq!(root.len(), 32);
    assert!(lines[3].parse::<i64>().is_ok(), "time extension line");
    let sig_line = sigs.strip_suffix('\n').expect("ends in a newline");
    assert!(!sig_line.contains('\n'), "one signature line");
    let rest = sig_line
        .strip_prefix("\u{2014} ")
        .expect("em dash and space");
    let (name, sig_b64) = rest.split_once(' ').expect("name and signature");
    assert_eq!(name, origin);
    let raw = B64.decode(sig_b64).expect("base64 signature");

    // The key ID: SHA-256(name ‖ 0x0A ‖ 0xff ‖ "sm2-sm3-der" ‖ SPKI DER)[:4], 0xff being the
    // signed-note type for algorithms it does not assign.
    let pem = std::fs::read_to_string(tv.config.audit_key_file()).expect("pinned key");
    let spki: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let spki = B64.decode(spki).expect("pem body");
    let id = sha256(&[name.as_bytes(), b"\n", b"\xff", b"sm2-sm3-der", &spki]);
    assert_eq!(raw[..4], id[..4]);

    // The rest is an SM2-with-SM3 DER signature (default user ID) over the text, checked with
    // the sm2 crate directly.
    let public = sm2::PublicKey::from_public_key_der(&spki).expect("sm2 key");
    let vk = sm2::dsa::VerifyingKey::new("1234567812345678", public).expect("verifying key");
    let sig = sm2::dsa::Signature::from_der(&raw[4..]).expect("DER signature");
    vk.verify(text.as_bytes(), &sig)
        .expect("signature verifies");
    let mut forged = text.clone().into_bytes();
    forged[origin.len() + 1] ^= 1;
    assert!(vk.verify(&forged, &sig).is_err());

    // The JSON body carries the same note, and its text as before.
    let (_, json) = tv
        .call(Method::GET, "/v1/audit/checkpoint", None, None)
        .await;
    assert_eq!(json["signed_note"], note);
    assert_eq!(json["note"], text);
    assert_eq!(json["root_hash"], lines[2]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proof_for_out_of_range_index_is_404() {
    let tv = TestVault::open(None).await;
    let auditor = tv.client("auditor", &["audit"]).await;
    let size = log_size(&tv).await;
    let (st, _) = tv
        .get(&format!("/v1/audit/entries/{}/proof", size - 1), &auditor)
        .await;
    assert_eq!(st, StatusCode::OK);
    for index in [
        size.to_string(),
        (size + 1000).to_string(),
        i64::MAX.to_string(),
        (i64::MAX as u64 + 1).to_string(),
        u64::MAX.to_string(),
    ] {
        let (st, body) = tv
            .get(&format!("/v1/audit/entries/{index}/proof"), &auditor)
            .await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{index}: {body}");
        assert_eq!(body["error"]["code"], "not_found", "{index}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncation_is_caught_by_watch_and_verify_against() {
    let tv = TestVault::open(None).await;
    let data = tv.config.data_dir.clone();
    let work = tv.dir.path();
    let pool = owner_pool(&tv).await;

    // 50 entries, signed, and the head row as it is then (what the attacker will restore).
    grow_to(&tv, 50, "early").await;
    let (head50_size, head50_frontier): (i64, Vec<u8>) =
        sqlx::query_as("SELECT size, frontier FROM audit_head WHERE id = 1")
            .fetch_one(&pool)
            .await
            .expect("head");
    assert_eq!(head50_size, 50);
    let url = serve(&tv).await;
    let state = work.join("witness.json");
    let key = tv.config.audit_key_file();
    let o = watch_once(&url, &state, Some(&key)).await;
    assert!(o.status.success(), "{}", stderr(&o));

    // 80 entries; the operator saves the checkpoint body, the witness sees it.
    grow_to(&tv, 80, "late").await;
    let (_, saved_body) = tv
        .send(Method::GET, "/v1/audit/checkpoint", None, None, "")
        .await;
    let saved = work.join("checkpoint-80.json");
    std::fs::write(&saved, &saved_body).expect("save checkpoint");
    let saved_note = work.join("checkpoint-80.note");
    let note: Value = serde_json::from_slice(&saved_body).expect("json");
    std::fs::write(&saved_note, note["signed_note"].as_str().expect("note")).expect("save note");
    let o = watch_once(&url, &state, None).await;
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("50 → 80 consistent"));
    let state_before = std::fs::read_to_string(&state).expect("state");
    assert!(tv.vault.verify_audit_log().await.is_ok());
    assert!(verify_against(&data, &saved).await.status.success());

    // The attack: entries 50–79 and their tree nodes deleted, the head row of size 50 restored,
    // the later checkpoints removed from the database and from the copy outside it.
    for sql in [
        "DELETE FROM audit_entries WHERE idx >= 50",
        "DELETE FROM audit_nodes WHERE ((idx + 1) << height) > 50",
        "DELETE FROM audit_checkpoints WHERE size > 50",
    ] {
        sqlx::query(AssertSqlSafe(sql))
            .execute(&pool)
            .await
            .expect(sql);
    }
    sqlx::query("UPDATE audit_head SET size = $1, frontier = $2 WHERE id = 1")
        .bind(head50_size)
        .bind(head50_frontier)
        .execute(&pool)
        .await
        .expect("restore head");
    let jsonl = tv.config.checkpoint_file();
    let kept: String = std::fs::read_to_string(&jsonl)
        .expect("checkpoints file")
        .lines()
        .filter(|l| serde_json::from_str::<Value>(l).expect("json")["size"].as_u64() <= Some(50))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&jsonl, kept).expect("rewrite checkpoints file");

    // The limitation: the data directory alone agrees with itself.
    let summary = tv.vault.verify_audit_log().await.expect("self-consistent");
    assert_eq!(summary.entries, 50);
    let data_s = data.display().to_string();
    let o = tokio::task::spawn_blocking(move || sidian(&["audit", "verify", "--data", &data_s]))
        .await
        .expect("join");
    assert!(o.status.success(), "{}", stderr(&o));

    // A checkpoint kept elsewhere is not: the log no longer extends it (JSON body or note).
    for file in [&saved, &saved_note] {
        let o = verify_against(&data, file).await;
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(out.contains("BROKEN") && out.contains("truncated"), "{out}");
    }
    match tv
        .vault
        .verify_audit_log_against(Some(&String::from_utf8_lossy(&saved_body)))
        .await
    {
        Err(sidian::Error::AuditBroken { index, reason }) => {
            assert_eq!(index, 50);
            assert!(reason.contains("covers 80"), "{reason}");
        }
        other => panic!("truncation not detected: {other:?}"),
    }

    // And the witness raises the alarm: the log now signs a size below the one it holds.
    let o = watch_once(&url, &state, None).await;
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("ROLLBACK"), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(&state).expect("state"),
        state_before
    );

    // Growing the log back to 80 with other entries is a fork, and beyond 80 it still is.
    grow_to(&tv, 80, "forged").await;
    let o = watch_once(&url, &state, None).await;
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("FORK"), "{}", stderr(&o));
    let o = verify_against(&data, &saved).await;
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("two checkpoints state different roots"),
        "{out}"
    );
    grow_to(&tv, 81, "forged-more").await;
    let o = watch_once(&url, &state, None).await;
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("consistency proof fails"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        std::fs::read_to_string(&state).expect("state"),
        state_before
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_pins_a_key_and_refuses_another_logs_checkpoints() {
    let tv = TestVault::open(None).await;
    let other = TestVault::open(None).await;
    let url = serve(&tv).await;
    let other_url = serve(&other).await;
    let state = tv.dir.path().join("witness.json");

    // First use without --key: trusted, loudly.
    let o = watch_once(&url, &state, None).await;
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("WARNING"), "{}", stderr(&o));
    let st: Value =
        serde_json::from_str(&std::fs::read_to_string(&state).expect("state")).expect("json");
    let pinned = std::fs::read_to_string(tv.config.audit_key_file()).expect("pem");
    assert_eq!(
        st["public_key_pem"].as_str().map(str::trim),
        Some(pinned.trim())
    );
    // The state file is itself a saved checkpoint for `verify --against`.
    let o = verify_against(&tv.config.data_dir, &state).await;
    assert!(o.status.success(), "{}", stderr(&o));

    // Another vault's checkpoints are not signed by the pinned key.
    let o = watch_once(&other_url, &state, None).await;
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("not signed by the pinned audit key"),
        "{}",
        stderr(&o)
    );
    // Nor is another vault's saved checkpoint accepted by `verify --against`.
    let o = verify_against(&other.config.data_dir, &state).await;
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    // A --key other than the pinned one is refused; an unreachable log is not an alert.
    let o = watch_once(&url, &state, Some(&other.config.audit_key_file())).await;
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let o = watch_once("http://127.0.0.1:9", &state, None).await;
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}
