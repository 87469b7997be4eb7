//! Backup and restore that keep the audit log honest.
//!
//! A backup is one ZIP archive: `manifest.json` (format version, backend, the checkpoint the
//! database contains at least, SHA-256 of every member), the database (`database.sqlite`, a
//! `VACUUM INTO` snapshot, or `database.pgdump`, `pg_dump --format=custom`), the checkpoint copy,
//! the pinned audit key and the trusted certificates. Never the master key: it is backed up on
//! its own. The checkpoint copy is read *before* the database snapshot, so every checkpoint in
//! the archive is covered by the database in it; a restored vault whose log is behind a
//! checkpoint it published refuses to serve (see [`Vault::check_log_not_behind`]).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Vault, now_ms};
use crate::audit::{Action, Actor, Checkpoint, Event};
use crate::config::{Config, private_options};
use crate::error::{Error, Result};
use crate::store::Backend;

use super::ledger::Op;

/// The archive format this code writes and reads.
pub const BACKUP_FORMAT: u32 = 1;

const MANIFEST: &str = "manifest.json";
const SQLITE_MEMBER: &str = "database.sqlite";
const PGDUMP_MEMBER: &str = "database.pgdump";
const CHECKPOINTS_MEMBER: &str = "audit-checkpoints.jsonl";
const AUDIT_KEY_MEMBER: &str = "audit-key.pem";
const TRUSTED_PREFIX: &str = "certs/trusted/";

/// What a backup archive holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupManifest {
    /// [`BACKUP_FORMAT`].
    pub format: u32,
    /// `sqlite` or `postgres`.
    pub backend: String,
    /// When the backup was taken (ms since the Unix epoch).
    pub created_at: i64,
    /// Size of the log at the checkpoint signed just before the snapshot (the database holds at
    /// least this many entries).
    pub log_size: u64,
    /// Root of the log at that size (hex).
    pub log_root: String,
    /// SHA-256 (hex) of every other member, by name.
    pub members: BTreeMap<String, String>,
}

/// The log's length against the newest checkpoint the vault published.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogBehind {
    /// Entries in the log.
    pub log_size: u64,
    /// Size of the newest published checkpoint.
    pub published: u64,
}

impl Vault {
    /// Writes a consistent online backup to `out` (which must not exist).
    pub async fn backup(&self, out: &Path) -> Result<BackupManifest> {
        let config = self.inner.config.clone();
        let backend = self.inner.store.backend();
        // A fresh checkpoint, then the files outside the database, then the snapshot: every
        // checkpoint copied is covered by the snapshot (checkpoints follow their commits).
        let cp = self.checkpoint().await?;
        let mut small: Vec<(String, Vec<u8>)> = Vec::new();
        for (name, path) in [
            (CHECKPOINTS_MEMBER, config.checkpoint_file()),
            (AUDIT_KEY_MEMBER, config.audit_key_file()),
        ] {
            if let Some(bytes) = read_if_exists(&path)? {
                small.push((name.to_owned(), bytes));
            }
        }
        for path in pem_files(&config.trust_dir())? {
            if let (Some(name), Some(bytes)) = (path.file_name(), read_if_exists(&path)?) {
                small.push((format!("{TRUSTED_PREFIX}{}", name.to_string_lossy()), bytes));
            }
        }
        let snapshot = sibling(out, "db-snapshot")?;
        let (member, backend_name) = match backend {
            Backend::Sqlite => {
                self.inner.store.snapshot_sqlite(&snapshot).await?;
                (SQLITE_MEMBER, "sqlite")
            }
            Backend::Postgres => {
                let url = self.inner.store.url().to_owned();
                let file = snapshot.clone();
                blocking(move || pg_dump(&url, &file)).await?;
                (PGDUMP_MEMBER, "postgres")
            }
        };
        let manifest = BackupManifest {
            format: BACKUP_FORMAT,
            backend: backend_name.to_owned(),
            created_at: now_ms(),
            log_size: cp.size,
            log_root: cp.root().map(hex::encode).unwrap_or_default(),
            members: BTreeMap::new(),
        };
        let out = out.to_owned();
        blocking(move || write_archive(&out, manifest, small, member, &snapshot)).await
    }

    /// Fails with `AuditBroken` when the log is shorter than a checkpoint the vault published
    /// (in the database or in the data directory's copy): a vault restored from an older backup
    /// would otherwise sign a fork of the history its witnesses hold.
    pub async fn check_log_not_behind(&self) -> Result<()> {
        match self.log_behind().await? {
            None => Ok(()),
            Some(b) => Err(Error::AuditBroken {
                index: b.log_size,
                reason: format!(
                    "the log has {} entries but a checkpoint of size {} was published: was it \
                     restored from an older backup? `serve --allow-log-rollback` starts it anyway \
                     (audited)",
                    b.log_size, b.published
                ),
            }),
        }
    }

    /// Accepts a log shorter than a published checkpoint: the checkpoints beyond it move from
    /// the data directory's copy to `audit-checkpoints.rolled-back-<ms>.jsonl`, and the
    /// decision is recorded in the log. Returns what was behind, if anything.
    pub async fn accept_log_rollback(&self, actor: Actor) -> Result<Option<LogBehind>> {
        let Some(behind) = self.log_behind().await? else {
            return Ok(None);
        };
        let file = self.inner.config.checkpoint_file();
        let text = read_if_exists(&file)?.unwrap_or_default();
        let text = String::from_utf8_lossy(&text);
        let (mut kept, mut beyond) = (String::new(), String::new());
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let size = serde_json::from_str::<Checkpoint>(line).map_or(u64::MAX, |c| c.size);
            let to = if size <= behind.log_size {
                &mut kept
            } else {
                &mut beyond
            };
            to.push_str(line);
            to.push('\n');
        }
        let aside =
            file.with_file_name(format!("audit-checkpoints.rolled-back-{}.jsonl", now_ms()));
        crate::config::write_private(&aside, beyond.trim_end().as_bytes())?;
        let tmp = file.with_extension("jsonl.tmp");
        private_options()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)?
            .write_all(kept.as_bytes())?;
        std::fs::rename(&tmp, &file)?;
        let event = Event::new(actor, Action::LogRollbackAccepted, "audit:log")
            .with("log_size", behind.log_size)
            .with("published_size", behind.published);
        self.apply(Op::Record(event)).await?;
        Ok(Some(behind))
    }

    async fn log_behind(&self) -> Result<Option<LogBehind>> {
        let store = &self.inner.store;
        let mut published = store.latest_checkpoint().await?.map_or(0, |c| c.size);
        if let Some(text) = read_if_exists(&self.inner.config.checkpoint_file())? {
            for line in String::from_utf8_lossy(&text).lines() {
                if let Ok(cp) = serde_json::from_str::<Checkpoint>(line) {
                    published = published.max(cp.size);
                }
            }
        }
        let log_size = store.head().await?.size();
        Ok((published > log_size).then_some(LogBehind {
            log_size,
            published,
        }))
    }
}

/// Restores a backup into a new data directory (absent or empty) and, for a PostgreSQL backup,
/// into the empty database of `config.database_url` (`pg_restore` from the PATH). The master key
/// is not in the archive: put it in place before opening the vault.
pub async fn restore(archive: &Path, config: &Config) -> Result<BackupManifest> {
    let archive = archive.to_owned();
    let config = config.clone();
    blocking(move || restore_blocking(&archive, &config)).await
}

fn restore_blocking(archive: &Path, config: &Config) -> Result<BackupManifest> {
    let dir = &config.data_dir;
    if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
        return Err(Error::Config(format!(
            "{} is not empty: restore only into a new data directory",
            dir.display()
        )));
    }
    let mut zip = zip::ZipArchive::new(std::fs::File::open(archive)?).map_err(bad_archive)?;
    let manifest: BackupManifest = {
        let mut text = Vec::new();
        zip.by_name(MANIFEST)
            .map_err(bad_archive)?
            .take(1 << 20)
            .read_to_end(&mut text)?;
        serde_json::from_slice(&text).map_err(|e| bad_archive(format!("manifest: {e}")))?
    };
    if manifest.format != BACKUP_FORMAT {
        return Err(bad_archive(format!(
            "format {} is not supported",
            manifest.format
        )));
    }
    let pg = match (manifest.backend.as_str(), config.database_url.as_deref()) {
        ("sqlite", None) => false,
        ("postgres", Some(url)) if url.starts_with("postgres") => true,
        (b, _) => {
            return Err(Error::Config(format!(
                "a {b} backup restores into {}",
                if b == "sqlite" {
                    "the data directory's SQLite file (no --database)"
                } else {
                    "an empty PostgreSQL database (--database postgres://…)"
                }
            )));
        }
    };
    config.ensure_data_dir()?;
    for (name, sha) in &manifest.members {
        let target = match name.as_str() {
            SQLITE_MEMBER => dir.join("sidian.db"),
            PGDUMP_MEMBER => dir.join("restore.pgdump"),
            CHECKPOINTS_MEMBER => config.checkpoint_file(),
            AUDIT_KEY_MEMBER => config.audit_key_file(),
            other => match other.strip_prefix(TRUSTED_PREFIX) {
                Some(file) if !file.is_empty() && !file.contains(['/', '\\']) && file != ".." => {
                    let trusted = dir.join("certs").join("trusted");
                    std::fs::create_dir_all(&trusted)?;
                    trusted.join(file)
                }
                _ => return Err(bad_archive(format!("unexpected member {other}"))),
            },
        };
        let mut member = zip.by_name(name).map_err(bad_archive)?;
        let mut file = private_options()
            .write(true)
            .create_new(true)
            .open(&target)?;
        let got = copy_hashing(&mut member, &mut file)?;
        file.sync_all()?;
        if &got != sha {
            return Err(bad_archive(format!("{name} does not match its SHA-256")));
        }
    }
    if pg {
        let dump = dir.join("restore.pgdump");
        let url = config.database_url.clone().unwrap_or_default();
        let restored = pg_restore(&url, &dump);
        std::fs::remove_file(&dump)?;
        restored?;
    }
    Ok(manifest)
}

fn write_archive(
    out: &Path,
    mut manifest: BackupManifest,
    small: Vec<(String, Vec<u8>)>,
    db_member: &str,
    snapshot: &Path,
) -> Result<BackupManifest> {
    use zip::write::SimpleFileOptions;
    let written = (|| -> Result<BackupManifest> {
        let file = private_options().write(true).create_new(true).open(out)?;
        let mut zip = zip::ZipWriter::new(file);
        let options = SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .large_file(true);
        zip.start_file(db_member, options).map_err(bad_archive)?;
        let sha = copy_hashing(&mut std::fs::File::open(snapshot)?, &mut zip)?;
        manifest.members.insert(db_member.to_owned(), sha);
        for (name, bytes) in small {
            zip.start_file(name.as_str(), options)
                .map_err(bad_archive)?;
            zip.write_all(&bytes)?;
            manifest
                .members
                .insert(name, hex::encode(Sha256::digest(&bytes)));
        }
        zip.start_file(MANIFEST, options).map_err(bad_archive)?;
        let json =
            serde_json::to_vec_pretty(&manifest).map_err(|e| Error::Corrupt(e.to_string()))?;
        zip.write_all(&json)?;
        zip.finish().map_err(bad_archive)?.sync_all()?;
        Ok(manifest)
    })();
    let _ = std::fs::remove_file(snapshot);
    if written.is_err() {
        let _ = std::fs::remove_file(out);
    }
    written
}

/// Copies `from` into `to`; the SHA-256 of what was copied, in hex.
fn copy_hashing(from: &mut impl Read, to: &mut impl Write) -> Result<String> {
    let mut sha = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = from.read(&mut buf)?;
        if n == 0 {
            break;
        }
        sha.update(&buf[..n]);
        to.write_all(&buf[..n])?;
    }
    Ok(hex::encode(sha.finalize()))
}

fn pg_dump(url: &str, file: &Path) -> Result<()> {
    run_tool(
        Command::new("pg_dump")
            .args(["--format=custom", "--no-owner", "--file"])
            .arg(file)
            .arg("--dbname")
            .arg(url),
        "pg_dump",
    )
}

/// Without privileges: the grants to `sidian_service` are made again at the next start, so a dump
/// restores into a cluster where the role does not exist yet.
fn pg_restore(url: &str, file: &Path) -> Result<()> {
    run_tool(
        Command::new("pg_restore")
            .args([
                "--no-owner",
                "--no-privileges",
                "--exit-on-error",
                "--dbname",
            ])
            .arg(url)
            .arg(file),
        "pg_restore",
    )
}

fn run_tool(cmd: &mut Command, name: &str) -> Result<()> {
    let out = cmd.output().map_err(|e| {
        Error::Config(format!(
            "cannot run {name} ({e}): install the PostgreSQL client tools on the PATH"
        ))
    })?;
    if out.status.success() {
        Ok(())
    } else {
        // Its message may name the database but never a password: URLs here are the
        // operator's own, and the error goes to the operator's terminal only.
        Err(Error::Config(format!(
            "{name} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

fn read_if_exists(path: &Path) -> Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn pem_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let mut files = Vec::new();
    for entry in entries {
        let path = entry?.path();
        if path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// A temporary file next to `out`, so the snapshot lands on the same file system.
fn sibling(out: &Path, suffix: &str) -> Result<PathBuf> {
    let name = out
        .file_name()
        .ok_or_else(|| Error::Config("--out must name a file".into()))?;
    let path = out.with_file_name(format!("{}.{suffix}", name.to_string_lossy()));
    if out.exists() || path.exists() {
        return Err(Error::Config(format!(
            "{} (or its temporary {}) exists already",
            out.display(),
            path.display()
        )));
    }
    Ok(path)
}

fn bad_archive(e: impl std::fmt::Display) -> Error {
    Error::Config(format!("backup archive: {e}"))
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| Error::Unavailable)?
}
