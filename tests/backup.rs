//! Backup and restore: an online backup taken while signatures are being made restores into a
//! new data directory whose log verifies and holds every signature answered before the backup
//! began; a vault whose log is behind a checkpoint it published refuses to serve unless told.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::{PgDatabase, TestVault};
use sidian::audit::{Actor, SIGNATURE_SHA256};
use sidian::crypto::KeyType;
use sidian::vault::{AuthClient, SignInput};
use sidian::{Config, Error, Vault};

/// A signature the vault answered, and whether that was before the backup began.
struct Answered {
    index: u64,
    signature: Vec<u8>,
    before_backup: bool,
}

/// Signs in `tasks` concurrent loops until `stop` is set.
fn start_signing(
    vault: &Vault,
    client: &AuthClient,
    key_id: &str,
    started: &Arc<AtomicBool>,
    stop: &Arc<AtomicBool>,
    tasks: usize,
) -> Vec<tokio::task::JoinHandle<Vec<Answered>>> {
    (0..tasks)
        .map(|t| {
            let (vault, client, key_id) = (vault.clone(), client.clone(), key_id.to_owned());
            let (started, stop) = (started.clone(), stop.clone());
            tokio::spawn(async move {
                let mut out = Vec::new();
                let mut n = 0u64;
                while !stop.load(Ordering::SeqCst) {
                    let msg = SignInput::Data(format!("task {t} message {n}").into_bytes());
                    let signed = vault
                        .sign(&client, &key_id, None, &msg)
                        .await
                        .expect("sign");
                    // Read after the answer: false means the answer came before the backup began.
                    let before_backup = !started.load(Ordering::SeqCst);
                    out.push(Answered {
                        index: signed.audit_index,
                        signature: signed.signature,
                        before_backup,
                    });
                    n += 1;
                    tokio::task::yield_now().await;
                }
                out
            })
        })
        .collect()
}

/// Copies the master key of `from` into the data directory of `to` (it is never in a backup).
fn copy_master_key(from: &Config, to: &Config) {
    let key = std::fs::read(from.data_dir.join("master.key")).expect("master key");
    let path = to.data_dir.join("master.key");
    std::fs::write(&path, key).expect("write master key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }
}

async fn backup_under_load(source_url: Option<String>, restore_url: Option<String>) {
    let tv = TestVault::open(source_url).await;
    let api_key = tv.client("loader", &[]).await;
    let client = tv.vault.authenticate(&api_key).await.expect("auth");
    let key = tv
        .vault
        .create_key(&client, KeyType::P256)
        .await
        .expect("key");
    let started = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let tasks = start_signing(&tv.vault, &client, &key.id, &started, &stop, 4);
    // Let signatures be answered before the backup, then take it while they go on.
    while tv.vault.checkpoint().await.expect("checkpoint").size < 40 {
        tokio::task::yield_now().await;
    }
    let archive = tv.dir.path().join("backup.zip");
    started.store(true, Ordering::SeqCst);
    let manifest = tv.vault.backup(&archive).await.expect("backup");
    stop.store(true, Ordering::SeqCst);
    let mut answered = Vec::new();
    for t in tasks {
        answered.extend(t.await.expect("task"));
    }
    let before: Vec<&Answered> = answered.iter().filter(|a| a.before_backup).collect();
    assert!(
        !before.is_empty(),
        "signatures were answered before the backup"
    );
    assert!(manifest.members.contains_key("audit-key.pem"));
    assert!(manifest.members.contains_key("audit-checkpoints.jsonl"));
    assert!(!manifest.members.keys().any(|m| m.contains("master")));

    // Restore into a new data directory (and a new database for PostgreSQL).
    let target = tempfile::tempdir().expect("tempdir");
    let mut config = Config::new(target.path().join("restored"));
    config.database_url = restore_url;
    let restored_manifest = sidian::vault::restore(&archive, &config)
        .await
        .expect("restore");
    assert_eq!(restored_manifest, manifest);
    // A second restore into the now non-empty directory is refused.
    assert!(matches!(
        sidian::vault::restore(&archive, &config).await,
        Err(Error::Config(_))
    ));
    copy_master_key(&tv.config, &config);
    let vault = Vault::open(config, false)
        .await
        .expect("open the restored vault");
    let summary = vault
        .verify_audit_log()
        .await
        .expect("the restored log verifies");
    assert!(summary.entries >= manifest.log_size);
    vault
        .check_log_not_behind()
        .await
        .expect("not behind its checkpoints");
    let auditor = AuthClient::operator("auditor");
    for a in before {
        assert!(
            a.index < summary.entries,
            "entry {} is in the backup",
            a.index
        );
        let entry = vault
            .inclusion_proof(&auditor, a.index)
            .await
            .expect("entry")
            .entry;
        let record: serde_json::Value = serde_json::from_slice(&entry.record).expect("json");
        assert_eq!(
            record["details"][SIGNATURE_SHA256].as_str(),
            Some(hex::encode(sidian::crypto::sha256(&a.signature)).as_str()),
            "entry {} records this signature",
            a.index
        );
    }
    vault.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn backup_under_load_sqlite() {
    backup_under_load(None, None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn backup_under_load_postgres() {
    if Command::new("pg_dump").arg("--version").output().is_err()
        || Command::new("pg_restore")
            .arg("--version")
            .output()
            .is_err()
    {
        eprintln!("skipped: pg_dump or pg_restore is not on the PATH");
        return;
    }
    let Some(source) = PgDatabase::create().await else {
        return;
    };
    let Some(target) = PgDatabase::create().await else {
        return;
    };
    backup_under_load(Some(source.url.clone()), Some(target.url.clone())).await;
    source.drop_db().await;
    target.drop_db().await;
}

fn sidian(data: &Path, args: &[&str]) -> std::process::Output {
    // `timeout`: should the refusal ever fail, `serve` would otherwise run forever.
    Command::new("timeout")
        .arg("60")
        .arg(env!("CARGO_BIN_EXE_sidian"))
        .arg("--data")
        .arg(data)
        .args(args)
        .env("RUST_LOG", "warn")
        .env_remove("SIDIAN_DATABASE_URL")
        .env_remove("SIDIAN_MASTER_KEY")
        .output()
        .expect("run sidian")
}

/// A backup at size N, while the live vault goes on to publish a checkpoint M > N: the restored
/// vault next to the later checkpoint copy refuses to serve, `audit verify --against` the later
/// checkpoint fails, and only `--allow-log-rollback` starts it (audited).
#[tokio::test]
async fn refuses_to_serve_behind_a_published_checkpoint() {
    let tv = TestVault::open(None).await;
    let api_key = tv.client("signer", &[]).await;
    let client = tv.vault.authenticate(&api_key).await.expect("auth");
    let key = tv
        .vault
        .create_key(&client, KeyType::P256)
        .await
        .expect("key");
    let archive = tv.dir.path().join("old.zip");
    let old = tv.vault.backup(&archive).await.expect("backup");
    for n in 0..5 {
        let msg = SignInput::Data(vec![n]);
        tv.vault
            .sign(&client, &key.id, None, &msg)
            .await
            .expect("sign");
    }
    let later = tv.vault.checkpoint().await.expect("checkpoint");
    assert!(later.size > old.log_size);
    let later_file = tv.dir.path().join("later-checkpoint.json");
    std::fs::write(&later_file, serde_json::to_string(&later).expect("json")).expect("write");

    let target = tempfile::tempdir().expect("tempdir");
    let data = target.path().join("restored");
    let config = Config::new(&data);
    sidian::vault::restore(&archive, &config)
        .await
        .expect("restore");
    copy_master_key(&tv.config, &config);
    // As restored, the vault is consistent with itself.
    let ok = sidian(&data, &["audit", "verify"]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    // Held outside, the later checkpoint exposes the rollback.
    let against = sidian(
        &data,
        &[
            "audit",
            "verify",
            "--against",
            later_file.to_str().expect("utf-8"),
        ],
    );
    assert!(
        !against.status.success(),
        "verify --against a later checkpoint must fail"
    );
    // The data directory still holds the live vault's later checkpoints (restored in place).
    std::fs::copy(tv.config.checkpoint_file(), config.checkpoint_file()).expect("copy");
    let refused = sidian(&data, &["serve", "--listen", "127.0.0.1:0"]);
    let err = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "serve must refuse: {err}");
    assert!(err.contains("allow-log-rollback"), "{err}");

    let vault = Vault::open(config.clone(), false).await.expect("open");
    assert!(matches!(
        vault.check_log_not_behind().await,
        Err(Error::AuditBroken { .. })
    ));
    let behind = vault
        .accept_log_rollback(Actor::Operator("test".into()))
        .await
        .expect("accept")
        .expect("was behind");
    assert_eq!(behind.published, later.size);
    vault.check_log_not_behind().await.expect("accepted");
    vault
        .verify_audit_log()
        .await
        .expect("the log verifies after the decision");
    let size = vault.checkpoint().await.expect("checkpoint").size;
    let last = vault
        .inclusion_proof(&AuthClient::operator("auditor"), size - 1)
        .await
        .expect("entry")
        .entry;
    assert_eq!(last.action, "audit.rollback_accepted");
    let aside = std::fs::read_dir(&data)
        .expect("dir")
        .filter_map(|e| e.ok())
        .any(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("audit-checkpoints.rolled-back-")
        });
    assert!(aside, "the later checkpoints are kept aside");
    vault.close().await;
}
