//! The only place with SQL: SQLite (embedded default) and PostgreSQL through sqlx's `Any` driver,
//! one migrations folder per backend, rows mapped to plain structs here.
//!
//! Every audited change goes through [`AuditedTx`]: it locks the single `audit_head` row first,
//! which serialises audited writers across threads, processes and nodes, so the Merkle tree can be
//! extended in the same transaction as the change it records.

use std::borrow::Cow;
use std::collections::HashMap;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyPool, AssertSqlSafe, Executor, Row, SqlSafeStr};

use crate::audit::{Checkpoint, CompactRange, Event, Hash, NodeId, Record, StoredEntry, leaf_hash};
use crate::error::{Error, Result};

mod devices;
mod handsign;
mod idempotency;
mod licence_files;
mod licence_use;
mod licences;
mod pki;
mod presentations;
mod purpose;

pub use devices::{ChallengeRow, DeviceRow};
pub use handsign::{EvidenceRow, SessionRow, SignerRow};
pub use idempotency::{IdempotencyRow, IdempotentAnswer, Reservation, StoredResponse};
pub use licence_use::{DenialRow, FetchLinkRow, GrantRow};
pub use licences::{IssuerRow, LicenceFilter, LicenceRow, StatusListRow};
pub use pki::{AuthorityRow, CertRow, SealRow};
pub use presentations::{PresentedLicence, UseRow};
pub use purpose::KeyPurpose;

/// Which database a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An embedded SQLite file (WAL mode).
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// A connection pool plus the SQL of the vault.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    url: String,
}

/// A registered approval system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRow {
    /// Random id.
    pub id: String,
    /// Unique human name.
    pub name: String,
    /// HMAC-SHA256 of the API key under the server secret.
    pub key_hmac: Vec<u8>,
    /// Space-separated scopes; empty means the default set.
    pub scopes: String,
    /// `active` or `revoked`.
    pub status: String,
    /// Creation time (ms).
    pub created_at: i64,
    /// Revocation time (ms).
    pub revoked_at: Option<i64>,
}

/// A key as stored: public part in clear, private part wrapped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRow {
    /// Random id.
    pub id: String,
    /// Owning client id, or `vault`.
    pub owner: String,
    /// What it is for.
    pub purpose: KeyPurpose,
    /// Key type name (`sm2`, `p256`, …).
    pub key_type: String,
    /// `active` or `disabled`.
    pub status: String,
    /// SubjectPublicKeyInfo DER.
    pub public_key: Vec<u8>,
    /// The wrapped PKCS#8 private key.
    pub wrapped_private: Vec<u8>,
    /// Creation time (ms).
    pub created_at: i64,
    /// Disabling time (ms).
    pub disabled_at: Option<i64>,
}

/// What the writer needs to know about a key before recording a signature made with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyState {
    /// Owning client id, or `vault`.
    pub owner: String,
    /// What the key is for.
    pub purpose: KeyPurpose,
    /// The key is active.
    pub active: bool,
    /// The owner is not a revoked client (the vault counts as active).
    pub owner_active: bool,
}

/// What the writer needs to know about a seal before recording a signature made with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealState {
    /// The seal's holder key.
    pub key_id: String,
    /// The seal is active.
    pub active: bool,
}

/// The state of the keys, clients and seals a batch of audited operations names, read at once.
#[derive(Debug, Default)]
pub struct BatchStates {
    /// Keys by id.
    pub keys: HashMap<String, KeyState>,
    /// Clients by id: whether each is active.
    pub clients: HashMap<String, bool>,
    /// Seals by id.
    pub seals: HashMap<String, SealState>,
}

const CLIENT_COLS: &str = "id, name, key_hmac, scopes, status, created_at, revoked_at";
const KEY_COLS: &str =
    "id, owner, purpose, key_type, status, public_key, wrapped_private, created_at, disabled_at";
/// The keyset condition of a page: rows after `($3, $4)` in `(created_at, id)` order (with
/// `(i64::MIN, "")` for the first page, which every row follows).
const AFTER: &str = "AND (created_at > $3 OR (created_at = $3 AND id > $4))";
const ENTRY_COLS: &str = "idx, at_ms, actor, action, subject, record, leaf_hash";

fn client_row(r: &AnyRow) -> Result<ClientRow> {
    Ok(ClientRow {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        key_hmac: r.try_get("key_hmac")?,
        scopes: r.try_get("scopes")?,
        status: r.try_get("status")?,
        created_at: r.try_get("created_at")?,
        revoked_at: r.try_get("revoked_at")?,
    })
}

fn key_row(r: &AnyRow) -> Result<KeyRow> {
    let id: String = r.try_get("id")?;
    Ok(KeyRow {
        owner: r.try_get("owner")?,
        purpose: KeyPurpose::parse(&r.try_get::<String, _>("purpose")?, &id)?,
        key_type: r.try_get("key_type")?,
        status: r.try_get("status")?,
        public_key: r.try_get("public_key")?,
        wrapped_private: r.try_get("wrapped_private")?,
        created_at: r.try_get("created_at")?,
        disabled_at: r.try_get("disabled_at")?,
        id,
    })
}

fn entry_row(r: &AnyRow) -> Result<StoredEntry> {
    Ok(StoredEntry {
        index: u64_col(r, "idx")?,
        at_ms: r.try_get("at_ms")?,
        actor: r.try_get("actor")?,
        action: r.try_get("action")?,
        subject: r.try_get("subject")?,
        record: r.try_get("record")?,
        leaf_hash: r.try_get("leaf_hash")?,
    })
}

fn checkpoint_row(r: &AnyRow) -> Result<Checkpoint> {
    Ok(Checkpoint {
        size: u64_col(r, "size")?,
        at_ms: r.try_get("at_ms")?,
        note: r.try_get("note")?,
        key_id: r.try_get("key_id")?,
        signature: r.try_get("signature")?,
    })
}

fn u64_col(r: &AnyRow, name: &str) -> Result<u64> {
    let v: i64 = r.try_get(name)?;
    u64::try_from(v).map_err(|_| Error::Corrupt(format!("negative {name}")))
}

fn i64_of(v: u64) -> Result<i64> {
    i64::try_from(v).map_err(|_| Error::Corrupt("index overflow".into()))
}

fn hash_of(bytes: &[u8]) -> Result<Hash> {
    bytes
        .try_into()
        .map_err(|_| Error::Corrupt("stored hash is not 32 bytes".into()))
}

/// `$from, $from+1, …`: `n` placeholders for an `IN (…)` list.
fn placeholders(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// `$1, $2, …` placeholders for a multi-row VALUES list, understood by SQLite and PostgreSQL.
fn values_list(rows: usize, cols: usize) -> String {
    values_list_from(1, rows, cols)
}

/// A multi-row VALUES list whose placeholders start at `$first`.
fn values_list_from(first: usize, rows: usize, cols: usize) -> String {
    let mut s = String::with_capacity(rows * cols * 5);
    for r in 0..rows {
        if r > 0 {
            s.push(',');
        }
        s.push('(');
        for c in 0..cols {
            if c > 0 {
                s.push(',');
            }
            s.push('$');
            s.push_str(&(first + r * cols + c).to_string());
        }
        s.push(')');
    }
    s
}

/// The migrations of a backend, embedded in the binary (without sqlx's proc macros, which
/// would compile a second copy of both database drivers for the build host).
fn migrator(backend: Backend) -> Migrator {
    let files: &[(i64, &str, &'static str)] = match backend {
        Backend::Sqlite => &[
            (
                1,
                "core",
                include_str!("../../migrations/sqlite/0001_core.sql"),
            ),
            (
                2,
                "pki_seals",
                include_str!("../../migrations/sqlite/0002_pki_seals.sql"),
            ),
            (
                3,
                "audit_signatures",
                include_str!("../../migrations/sqlite/0003_audit_signatures.sql"),
            ),
            (
                4,
                "idempotency",
                include_str!("../../migrations/sqlite/0004_idempotency.sql"),
            ),
            (
                5,
                "client_keys",
                include_str!("../../migrations/sqlite/0005_client_keys.sql"),
            ),
            (
                6,
                "licences",
                include_str!("../../migrations/sqlite/0006_licences.sql"),
            ),
            (
                7,
                "licence_files",
                include_str!("../../migrations/sqlite/0007_licence_files.sql"),
            ),
            (
                8,
                "issuer_pdf_seal",
                include_str!("../../migrations/sqlite/0008_issuer_pdf_seal.sql"),
            ),
            (
                9,
                "presentations",
                include_str!("../../migrations/sqlite/0009_presentations.sql"),
            ),
            (
                10,
                "licence_use",
                include_str!("../../migrations/sqlite/0010_licence_use.sql"),
            ),
            (
                11,
                "wallet_devices",
                include_str!("../../migrations/sqlite/0011_wallet_devices.sql"),
            ),
            (
                12,
                "handsign",
                include_str!("../../migrations/sqlite/0012_handsign.sql"),
            ),
            (
                13,
                "append_only_audit",
                include_str!("../../migrations/sqlite/0013_append_only_audit.sql"),
            ),
        ],
        Backend::Postgres => &[
            (
                1,
                "core",
                include_str!("../../migrations/postgres/0001_core.sql"),
            ),
            (
                2,
                "pki_seals",
                include_str!("../../migrations/postgres/0002_pki_seals.sql"),
            ),
            (
                3,
                "audit_signatures",
                include_str!("../../migrations/postgres/0003_audit_signatures.sql"),
            ),
            (
                4,
                "idempotency",
                include_str!("../../migrations/postgres/0004_idempotency.sql"),
            ),
            (
                5,
                "client_keys",
                include_str!("../../migrations/postgres/0005_client_keys.sql"),
            ),
            (
                6,
                "licences",
                include_str!("../../migrations/postgres/0006_licences.sql"),
            ),
            (
                7,
                "licence_files",
                include_str!("../../migrations/postgres/0007_licence_files.sql"),
            ),
            (
                8,
                "issuer_pdf_seal",
                include_str!("../../migrations/postgres/0008_issuer_pdf_seal.sql"),
            ),
            (
                9,
                "presentations",
                include_str!("../../migrations/postgres/0009_presentations.sql"),
            ),
            (
                10,
                "licence_use",
                include_str!("../../migrations/postgres/0010_licence_use.sql"),
            ),
            (
                11,
                "wallet_devices",
                include_str!("../../migrations/postgres/0011_wallet_devices.sql"),
            ),
            (
                12,
                "handsign",
                include_str!("../../migrations/postgres/0012_handsign.sql"),
            ),
        ],
    };
    Migrator::with_migrations(
        files
            .iter()
            .map(|&(version, name, sql)| {
                Migration::new(
                    version,
                    Cow::Borrowed(name),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

/// Bound parameters per statement at most. Far below SQLite's and PostgreSQL's limits, because
/// binding costs grow with the square of the count on SQLite: sqlx looks every parameter up by
/// its name, and SQLite's lookup walks the statement's list of names (a 4,000-parameter INSERT
/// spent a third of an import's CPU there).
const MAX_PARAMS: usize = 256;

/// Rows per multi-row statement of `cols` parameters a row.
const fn chunk_rows(cols: usize) -> usize {
    let rows = MAX_PARAMS / cols;
    if rows == 0 { 1 } else { rows }
}

/// Runs the migrations, on PostgreSQL as the user of the URL (who owns the tables) and then
/// `service_role.sql`, since the service's connections work as a role that may not create them.
async fn migrate_on_own_connection(url: &str, backend: Backend) -> Result<()> {
    use sqlx::Connection as _;
    let mut conn = sqlx::AnyConnection::connect(url).await?;
    if backend == Backend::Sqlite {
        conn.execute("PRAGMA busy_timeout = 10000").await?;
    }
    migrator(backend).run(&mut conn).await?;
    if backend == Backend::Postgres {
        sqlx::raw_sql(include_str!("../../migrations/postgres/service_role.sql"))
            .execute(&mut conn)
            .await
            .map_err(|e| {
                Error::Config(format!(
                    "cannot set up the role sidian_service (the database user must be its \
                     member, or may create roles; see the README's deployment section): {e}"
                ))
            })?;
    }
    conn.close().await?;
    Ok(())
}

impl Store {
    /// Connects (creating a SQLite file if needed) and runs the migrations.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::open(url, 8, true).await
    }

    /// A second pool on the same database (no migrations), for a task on another runtime.
    pub async fn reopen(&self, max_connections: u32) -> Result<Self> {
        Self::open(&self.url, max_connections, false).await
    }

    async fn open(url: &str, max_connections: u32, migrate: bool) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(Error::Config(
                "database URL must start with sqlite: or postgres://".into(),
            ));
        };
        if migrate {
            migrate_on_own_connection(url, backend).await?;
        }
        // No ping before each acquire: it is a database round trip per audited batch, and a
        // connection that broke fails its statement and is replaced anyway.
        let opts = AnyPoolOptions::new()
            .max_connections(max_connections)
            .test_before_acquire(false)
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    match backend {
                        // WAL lets readers run beside the one writer; FULL makes each commit
                        // durable (group commit in the ledger amortises the fsync).
                        Backend::Sqlite => {
                            conn.execute("PRAGMA journal_mode = WAL").await?;
                            conn.execute("PRAGMA synchronous = FULL").await?;
                            conn.execute("PRAGMA busy_timeout = 10000").await?;
                        }
                        // The service's own role: the audit tables only grow (service_role.sql).
                        Backend::Postgres => {
                            conn.execute("SET ROLE sidian_service").await?;
                        }
                    }
                    Ok(())
                })
            });
        let pool = opts.connect(url).await?;
        Ok(Self {
            pool,
            backend,
            url: url.to_owned(),
        })
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The URL this store connected to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Writes a consistent copy of a SQLite database to a new file (`VACUUM INTO` reads in one
    /// transaction, so writers go on meanwhile under WAL); PostgreSQL is copied with `pg_dump`.
    pub async fn snapshot_sqlite(&self, path: &std::path::Path) -> Result<()> {
        if self.backend != Backend::Sqlite {
            return Err(Error::Config("VACUUM INTO is for SQLite only".into()));
        }
        let path = path
            .to_str()
            .ok_or_else(|| Error::Config("the snapshot path is not UTF-8".into()))?;
        sqlx::query("VACUUM INTO $1")
            .bind(path)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Closes the pool, waiting for connections to finish.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Starts an audited transaction, waiting for the log head lock.
    ///
    /// The transaction is begun by hand rather than with sqlx's `begin`, so that the `BEGIN` and
    /// the lock are one round trip (to SQLite's connection thread, or PostgreSQL), as the writes
    /// and, on SQLite, the `COMMIT` are in [`AuditedTx::commit`].
    pub async fn begin(&self) -> Result<AuditedTx> {
        // A write first, so SQLite takes its write lock now (no deferred-upgrade deadlock)
        // and PostgreSQL locks the row until commit.
        const LOCK: &str =
            "UPDATE audit_head SET size = size WHERE id = 1 RETURNING size, frontier";
        let mut tx = AuditedTx {
            tx: self.pool.acquire().await?,
            open: true,
            backend: self.backend,
            range: CompactRange::default(),
            entries: Vec::new(),
            nodes: Vec::new(),
            request_id: None,
        };
        let begin = match self.backend {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres => "BEGIN",
        };
        // One round trip: no parameters, so both take the two statements as one script (and
        // PostgreSQL keeps the transaction open after it).
        let row = sqlx::raw_sql(AssertSqlSafe(format!("{begin}; {LOCK}")))
            .fetch_all(&mut *tx.tx)
            .await?
            .pop()
            .ok_or(Error::Corrupt("the audit head row is missing".into()))?;
        let size = u64_col(&row, "size")?;
        let frontier: Vec<u8> = row.try_get("frontier")?;
        tx.range = CompactRange::from_parts(size, &frontier)
            .ok_or_else(|| Error::Corrupt("audit head frontier does not fit its size".into()))?;
        Ok(tx)
    }

    /// Whether the database answers a trivial query. Pooled connections are not tested before
    /// use, so after an outage idle ones may be dead: each that fails is discarded and the next
    /// tried, until one answers or a new connection cannot be made.
    pub async fn ping(&self) -> Result<()> {
        let mut tries = self.pool.size() + 1;
        loop {
            let mut conn = self.pool.acquire().await?;
            match sqlx::query("SELECT 1").execute(&mut *conn).await {
                Ok(_) => return Ok(()),
                Err(e) => {
                    conn.close_on_drop();
                    tries = tries.saturating_sub(1);
                    if tries == 0 {
                        return Err(e.into());
                    }
                }
            }
        }
    }

    /// A vault setting.
    pub async fn meta(&self, name: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT value FROM vault_meta WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get("value")).transpose()?)
    }

    /// The client whose API key has this HMAC, active or not.
    pub async fn client_by_hmac(&self, hmac: &[u8]) -> Result<Option<ClientRow>> {
        let sql = format!("SELECT {CLIENT_COLS} FROM clients WHERE key_hmac = $1");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(hmac)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(client_row).transpose()
    }

    /// The client an API key replaced by a rotation belongs to, and when that key expires (ms).
    pub async fn client_by_retired_hmac(&self, hmac: &[u8]) -> Result<Option<(ClientRow, i64)>> {
        let cols = CLIENT_COLS
            .split(", ")
            .map(|c| format!("c.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {cols}, r.expires_at FROM client_retired_keys r \
             JOIN clients c ON c.id = r.client_id WHERE r.key_hmac = $1"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(hmac)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok((client_row(&r)?, r.try_get("expires_at")?)))
            .transpose()
    }

    /// The client with this id, active or not.
    pub async fn client_by_id(&self, id: &str) -> Result<Option<ClientRow>> {
        let sql = format!("SELECT {CLIENT_COLS} FROM clients WHERE id = $1");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(client_row).transpose()
    }

    /// The active client of this name, or else the newest revoked one.
    pub async fn client_by_name(&self, name: &str) -> Result<Option<ClientRow>> {
        let sql = format!(
            "SELECT {CLIENT_COLS} FROM clients WHERE name = $1 \
             ORDER BY status = 'active' DESC, created_at DESC LIMIT 1"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(client_row).transpose()
    }

    /// All clients, by name.
    pub async fn clients(&self) -> Result<Vec<ClientRow>> {
        let sql = format!("SELECT {CLIENT_COLS} FROM clients ORDER BY name");
        let rows = sqlx::query(AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(client_row).collect()
    }

    /// One key by id.
    pub async fn key(&self, id: &str) -> Result<Option<KeyRow>> {
        let sql = format!("SELECT {KEY_COLS} FROM keys WHERE id = $1");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(key_row).transpose()
    }

    /// Up to `limit` of an owner's keys of one purpose in creation order (then id), after the
    /// `(created_at, id)` position `after` (keyset pagination).
    pub async fn keys_page(
        &self,
        owner: &str,
        purpose: KeyPurpose,
        after: Option<(i64, &str)>,
        limit: u32,
    ) -> Result<Vec<KeyRow>> {
        let sql = format!(
            "SELECT {KEY_COLS} FROM keys WHERE owner = $1 AND purpose = $2 {AFTER} \
             ORDER BY created_at, id LIMIT $5"
        );
        let (at, id) = after.unwrap_or((i64::MIN, ""));
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(owner)
            .bind(purpose.as_str())
            .bind(at)
            .bind(id)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(key_row).collect()
    }

    /// The vault's own active key for a purpose.
    pub async fn vault_key(&self, purpose: KeyPurpose) -> Result<Option<KeyRow>> {
        let sql = format!(
            "SELECT {KEY_COLS} FROM keys WHERE owner = 'vault' AND purpose = $1 AND status = 'active' \
             ORDER BY created_at DESC LIMIT 1"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(purpose.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(key_row).transpose()
    }

    /// Up to `limit` log entries from index `from`, in order.
    pub async fn entries(&self, from: u64, limit: u32) -> Result<Vec<StoredEntry>> {
        let sql =
            format!("SELECT {ENTRY_COLS} FROM audit_entries WHERE idx >= $1 ORDER BY idx LIMIT $2");
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(i64_of(from)?)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(entry_row).collect()
    }

    /// One log entry (none for an index past the log, however large).
    pub async fn entry(&self, index: u64) -> Result<Option<StoredEntry>> {
        // Indexes are stored as BIGINT: one beyond i64 names no entry, it is not corruption.
        let Ok(index) = i64::try_from(index) else {
            return Ok(None);
        };
        let sql = format!("SELECT {ENTRY_COLS} FROM audit_entries WHERE idx = $1");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(index)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(entry_row).transpose()
    }

    /// The index of the entry that released the signature whose raw value hashes to `sha256`
    /// ([`crate::audit::signature_sha256`]).
    pub async fn signature_entry(&self, sha256: &[u8; 32]) -> Result<Option<u64>> {
        let row = sqlx::query("SELECT idx FROM audit_signatures WHERE sha256 = $1")
            .bind(sha256.as_slice())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(|r| u64_col(r, "idx")).transpose()
    }

    /// The current head (size and right edge) of the log.
    pub async fn head(&self) -> Result<CompactRange> {
        let row = sqlx::query("SELECT size, frontier FROM audit_head WHERE id = 1")
            .fetch_one(&self.pool)
            .await?;
        let frontier: Vec<u8> = row.try_get("frontier")?;
        CompactRange::from_parts(u64_col(&row, "size")?, &frontier)
            .ok_or_else(|| Error::Corrupt("audit head frontier does not fit its size".into()))
    }

    /// The stored subtree roots named (height 0 = leaf hashes); absent ones are left out.
    pub async fn nodes(&self, ids: &[NodeId]) -> Result<HashMap<NodeId, Hash>> {
        let mut out = HashMap::with_capacity(ids.len());
        for id in ids {
            let idx = i64_of(id.index)?;
            let row = if id.height == 0 {
                sqlx::query("SELECT leaf_hash AS hash FROM audit_entries WHERE idx = $1")
                    .bind(idx)
                    .fetch_optional(&self.pool)
                    .await?
            } else {
                sqlx::query("SELECT hash FROM audit_nodes WHERE height = $1 AND idx = $2")
                    .bind(i64::from(id.height))
                    .bind(idx)
                    .fetch_optional(&self.pool)
                    .await?
            };
            if let Some(row) = row {
                let h: Vec<u8> = row.try_get("hash")?;
                out.insert(*id, hash_of(&h)?);
            }
        }
        Ok(out)
    }

    /// Every signed checkpoint, smallest first.
    pub async fn checkpoints(&self) -> Result<Vec<Checkpoint>> {
        let rows = sqlx::query(
            "SELECT size, at_ms, note, key_id, signature FROM audit_checkpoints ORDER BY size",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(checkpoint_row).collect()
    }

    /// The newest signed checkpoint.
    pub async fn latest_checkpoint(&self) -> Result<Option<Checkpoint>> {
        let row = sqlx::query(
            "SELECT size, at_ms, note, key_id, signature FROM audit_checkpoints ORDER BY size DESC LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(checkpoint_row).transpose()
    }

    /// Stores a checkpoint; one already stored for the same size (another node's) is kept.
    pub async fn insert_checkpoint(&self, cp: &Checkpoint) -> Result<()> {
        sqlx::query(
            "INSERT INTO audit_checkpoints (size, at_ms, note, key_id, signature) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (size) DO NOTHING",
        )
        .bind(i64_of(cp.size)?)
        .bind(cp.at_ms)
        .bind(cp.note.as_str())
        .bind(cp.key_id.as_str())
        .bind(cp.signature.as_slice())
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

/// A transaction holding the audit-log lock: state changes plus the entries that record them,
/// committed together or not at all.
pub struct AuditedTx {
    /// A connection inside `BEGIN`, until `open` is false.
    tx: PoolConnection<Any>,
    open: bool,
    backend: Backend,
    range: CompactRange,
    entries: Vec<(Record, Vec<u8>, Hash)>,
    nodes: Vec<(NodeId, Hash)>,
    request_id: Option<String>,
}

impl AuditedTx {
    /// A vault setting, read under the lock.
    pub async fn meta(&mut self, name: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT value FROM vault_meta WHERE name = $1")
            .bind(name)
            .fetch_optional(&mut *self.tx)
            .await?;
        Ok(row.map(|r| r.try_get("value")).transpose()?)
    }

    /// Sets a vault setting.
    pub async fn set_meta(&mut self, name: &str, value: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO vault_meta (name, value) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        )
        .bind(name)
        .bind(value)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Whether an active client has this name (a revoked client's name may be reused).
    pub async fn client_name_taken(&mut self, name: &str) -> Result<bool> {
        let row = sqlx::query("SELECT 1 AS one FROM clients WHERE name = $1 AND status = 'active'")
            .bind(name)
            .fetch_optional(&mut *self.tx)
            .await?;
        Ok(row.is_some())
    }

    /// Registers a client.
    pub async fn insert_client(&mut self, c: &ClientRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO clients (id, name, key_hmac, scopes, status, created_at, revoked_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(c.id.as_str())
        .bind(c.name.as_str())
        .bind(c.key_hmac.as_slice())
        .bind(c.scopes.as_str())
        .bind(c.status.as_str())
        .bind(c.created_at)
        .bind(c.revoked_at)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Revokes the active client of this name; `None` if there is none.
    pub async fn revoke_client(&mut self, name: &str, at_ms: i64) -> Result<Option<String>> {
        let row = sqlx::query(
            "UPDATE clients SET status = 'revoked', revoked_at = $1 \
             WHERE name = $2 AND status = 'active' RETURNING id",
        )
        .bind(at_ms)
        .bind(name)
        .fetch_optional(&mut *self.tx)
        .await?;
        Ok(row.map(|r| r.try_get("id")).transpose()?)
    }

    /// The id and current API-key HMAC of the active client of this name.
    pub async fn active_client_key(&mut self, name: &str) -> Result<Option<(String, Vec<u8>)>> {
        let row =
            sqlx::query("SELECT id, key_hmac FROM clients WHERE name = $1 AND status = 'active'")
                .bind(name)
                .fetch_optional(&mut *self.tx)
                .await?;
        row.map(|r| Ok((r.try_get("id")?, r.try_get("key_hmac")?)))
            .transpose()
    }

    /// Replaces an active client's API key if its current key is `old_hmac`; the old key (and
    /// any rotated out before) stays valid until `old_expires_at` at the latest (ms). False if
    /// the client is not active or its key changed.
    pub async fn rotate_client_key(
        &mut self,
        id: &str,
        old_hmac: &[u8],
        new_hmac: &[u8],
        old_expires_at: i64,
    ) -> Result<bool> {
        let updated = sqlx::query(
            "UPDATE clients SET key_hmac = $1 \
             WHERE id = $2 AND key_hmac = $3 AND status = 'active'",
        )
        .bind(new_hmac)
        .bind(id)
        .bind(old_hmac)
        .execute(&mut *self.tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Ok(false);
        }
        // A rotation shortens, never lengthens, the life of keys rotated out before: after a
        // rotation with overlap 0 (a leaked key) only the new key works.
        sqlx::query(
            "UPDATE client_retired_keys SET expires_at = $1 WHERE client_id = $2 AND expires_at > $1",
        )
        .bind(old_expires_at)
        .bind(id)
        .execute(&mut *self.tx)
        .await?;
        sqlx::query(
            "INSERT INTO client_retired_keys (key_hmac, client_id, expires_at) VALUES ($1, $2, $3)",
        )
        .bind(old_hmac)
        .bind(id)
        .bind(old_expires_at)
        .execute(&mut *self.tx)
        .await?;
        Ok(true)
    }

    /// Stores a new key.
    pub async fn insert_key(&mut self, k: &KeyRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO keys (id, owner, purpose, key_type, status, public_key, wrapped_private, created_at, disabled_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(k.id.as_str())
        .bind(k.owner.as_str())
        .bind(k.purpose.as_str())
        .bind(k.key_type.as_str())
        .bind(k.status.as_str())
        .bind(k.public_key.as_slice())
        .bind(k.wrapped_private.as_slice())
        .bind(k.created_at)
        .bind(k.disabled_at)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Disables an active key of this owner; false if there is none (absent, foreign or disabled).
    pub async fn disable_key(&mut self, id: &str, owner: &str, at_ms: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE keys SET status = 'disabled', disabled_at = $1 \
             WHERE id = $2 AND owner = $3 AND status = 'active'",
        )
        .bind(at_ms)
        .bind(id)
        .bind(owner)
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The named keys (each with its owner's status), clients and seals, read under the lock.
    ///
    /// One `UNION ALL` statement per few hundred ids: the ledger's writer waits on every round
    /// trip, so what a batch needs to know is read at once.
    pub async fn batch_states(
        &mut self,
        keys: &[&str],
        clients: &[&str],
        seals: &[&str],
    ) -> Result<BatchStates> {
        const SELECTS: [(&str, &str); 3] = [
            (
                "key",
                "SELECT 'key' AS kind, k.id AS id, k.owner AS ref, k.purpose AS purpose, \
                 k.status AS status, c.status AS owner_status \
                 FROM keys k LEFT JOIN clients c ON c.id = k.owner WHERE k.id IN",
            ),
            (
                "client",
                "SELECT 'client' AS kind, id AS id, NULL AS ref, NULL AS purpose, \
                 status AS status, NULL AS owner_status FROM clients WHERE id IN",
            ),
            (
                "seal",
                "SELECT 'seal' AS kind, id AS id, key_id AS ref, NULL AS purpose, \
                 status AS status, NULL AS owner_status FROM seals WHERE id IN",
            ),
        ];
        // Grouped by kind in the order of SELECTS, so placeholders and binds line up.
        let named: Vec<(&str, &str)> = [keys, clients, seals]
            .into_iter()
            .zip(SELECTS)
            .flat_map(|(ids, (kind, _))| ids.iter().map(move |id| (kind, *id)))
            .collect();
        let mut out = BatchStates::default();
        for chunk in named.chunks(chunk_rows(1)) {
            let mut parts = Vec::with_capacity(SELECTS.len());
            let mut next = 1;
            for (kind, select) in SELECTS {
                let n = chunk.iter().filter(|(k, _)| *k == kind).count();
                if n > 0 {
                    let placeholders: Vec<String> =
                        (next..next + n).map(|i| format!("${i}")).collect();
                    parts.push(format!("{select} ({})", placeholders.join(",")));
                    next += n;
                }
            }
            let mut q = sqlx::query(AssertSqlSafe(parts.join(" UNION ALL ")));
            for (_, id) in chunk {
                q = q.bind(*id);
            }
            for row in q.fetch_all(&mut *self.tx).await? {
                let kind: String = row.try_get("kind")?;
                let id: String = row.try_get("id")?;
                let active = row.try_get::<String, _>("status")? == "active";
                let reference = || -> Result<String> {
                    row.try_get::<Option<String>, _>("ref")?
                        .ok_or_else(|| Error::Corrupt(format!("{kind} {id} names no owner")))
                };
                match kind.as_str() {
                    "key" => {
                        let purpose: Option<String> = row.try_get("purpose")?;
                        let owner_status: Option<String> = row.try_get("owner_status")?;
                        let state = KeyState {
                            owner: reference()?,
                            purpose: KeyPurpose::parse(purpose.as_deref().unwrap_or(""), &id)?,
                            active,
                            owner_active: owner_status.as_deref() != Some("revoked"),
                        };
                        out.keys.insert(id, state);
                    }
                    "client" => {
                        out.clients.insert(id, active);
                    }
                    _ => {
                        let key_id = reference()?;
                        out.seals.insert(id, SealState { key_id, active });
                    }
                }
            }
        }
        Ok(out)
    }

    /// Names the request the next entries come from ([`crate::request_id::AUDIT_DETAIL`]), or
    /// none.
    pub fn set_request_id(&mut self, id: Option<&str>) {
        self.request_id = id.map(str::to_owned);
    }

    /// Queues an audit entry for this transaction and returns its index in the log, with the
    /// request id set by [`Self::set_request_id`] among its details.
    pub fn append(&mut self, mut event: Event, at_ms: i64) -> u64 {
        if let Some(id) = &self.request_id {
            event.details.insert(
                crate::request_id::AUDIT_DETAIL.to_owned(),
                id.clone().into(),
            );
        }
        let index = self.range.size();
        let record = Record::new(event, index, at_ms);
        let bytes = record.to_bytes();
        let leaf = leaf_hash(&bytes);
        let nodes = &mut self.nodes;
        self.range.append(leaf, |id, h| nodes.push((id, h)));
        self.entries.push((record, bytes, leaf));
        index
    }

    /// Writes the queued entries, the index of the signatures they release, tree nodes and head,
    /// and commits everything.
    ///
    /// The writes are one round trip: on SQLite one query of several statements (its driver
    /// binds `$N` across them), on PostgreSQL one statement of data-modifying CTEs. The ledger's
    /// writer waits on every round trip, and every node waits on the writer holding the lock.
    pub async fn commit(mut self) -> Result<CompactRange> {
        if !self.entries.is_empty() {
            let mut writes = Writes::default();
            for chunk in self.entries.chunks(chunk_rows(7)) {
                let values = writes.values(chunk.len(), 7);
                writes.statement(format!(
                    "INSERT INTO audit_entries ({ENTRY_COLS}) VALUES {values}"
                ));
            }
            let signatures: Vec<([u8; 32], u64)> = self
                .entries
                .iter()
                .filter_map(|(rec, _, _)| rec.signature_sha256().map(|sha| (sha, rec.index)))
                .collect();
            for chunk in signatures.chunks(chunk_rows(2)) {
                // A value already indexed keeps its first entry (see the migration).
                let values = writes.values(chunk.len(), 2);
                writes.statement(format!(
                    "INSERT INTO audit_signatures (sha256, idx) VALUES {values} \
                     ON CONFLICT (sha256) DO NOTHING"
                ));
            }
            for chunk in self.nodes.chunks(chunk_rows(3)) {
                let values = writes.values(chunk.len(), 3);
                writes.statement(format!(
                    "INSERT INTO audit_nodes (height, idx, hash) VALUES {values}"
                ));
            }
            let head = writes.values(1, 2);
            let last = format!("UPDATE audit_head SET (size, frontier) = {head} WHERE id = 1");
            let sql = writes.finish(self.backend, last);
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for (rec, bytes, leaf) in &self.entries {
                q = q
                    .bind(i64_of(rec.index)?)
                    .bind(rec.at_ms)
                    .bind(rec.actor.as_str())
                    .bind(rec.action.as_str())
                    .bind(rec.subject.as_str())
                    .bind(bytes.as_slice())
                    .bind(leaf.as_slice());
            }
            for (sha, index) in &signatures {
                q = q.bind(sha.as_slice()).bind(i64_of(*index)?);
            }
            for (id, h) in &self.nodes {
                q = q
                    .bind(i64::from(id.height))
                    .bind(i64_of(id.index)?)
                    .bind(h.as_slice());
            }
            q = q
                .bind(i64_of(self.range.size())?)
                .bind(self.range.frontier_bytes());
            q.execute(&mut *self.tx).await?;
            if self.backend == Backend::Postgres {
                self.tx.execute("COMMIT").await?;
            }
        } else {
            self.tx.execute("COMMIT").await?;
        }
        self.open = false;
        Ok(std::mem::take(&mut self.range))
    }
}

impl Drop for AuditedTx {
    /// Not committed (an error, a refusal, a cancelled future): the connection is closed, not
    /// pooled, which rolls the transaction back and releases the lock.
    fn drop(&mut self) {
        if self.open {
            self.tx.close_on_drop();
        }
    }
}

/// The statements of one commit, numbered placeholders running on across them.
#[derive(Default)]
struct Writes {
    statements: Vec<String>,
    params: usize,
}

impl Writes {
    /// Placeholders for `rows` rows of `cols` parameters, after those handed out so far.
    fn values(&mut self, rows: usize, cols: usize) -> String {
        let list = values_list_from(self.params + 1, rows, cols);
        self.params += rows * cols;
        list
    }

    fn statement(&mut self, sql: String) {
        self.statements.push(sql);
    }

    /// The statements then `last` as one query: a script on SQLite that commits too, CTEs on
    /// PostgreSQL (whose extended protocol takes one statement; the caller commits after).
    fn finish(self, backend: Backend, last: String) -> String {
        match backend {
            Backend::Sqlite => {
                let mut sql = self.statements.join("; ");
                if !sql.is_empty() {
                    sql.push_str("; ");
                }
                sql.push_str(&last);
                sql.push_str("; COMMIT");
                sql
            }
            Backend::Postgres if self.statements.is_empty() => last,
            Backend::Postgres => {
                let ctes: Vec<String> = self
                    .statements
                    .iter()
                    .enumerate()
                    .map(|(i, st)| format!("w{i} AS ({st})"))
                    .collect();
                format!("WITH {} {last}", ctes.join(", "))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{Action, Actor};

    /// Appends one entry, then tries to rewrite and delete the log through the service's pool.
    async fn rewrite_the_log(store: &Store) -> Vec<String> {
        // Two entries (so a tree node), one releasing a signature, and a checkpoint: every
        // table has a row, since SQLite's triggers fire per row.
        let mut tx = store.begin().await.expect("begin");
        tx.append(
            Event::new(Actor::Operator("t".into()), Action::KeyCreated, "key:k"),
            1,
        );
        tx.append(
            Event::new(
                Actor::Operator("t".into()),
                Action::SignatureCreated,
                "key:k",
            )
            .with_signature(b"signature"),
            1,
        );
        tx.commit().await.expect("commit");
        sqlx::query(
            "INSERT INTO audit_checkpoints (size, at_ms, note, key_id, signature) \
             VALUES (2, 1, 'n', 'k', $1)",
        )
        .bind(vec![0u8])
        .execute(&store.pool)
        .await
        .expect("checkpoint");
        let mut refused = Vec::new();
        for sql in [
            "UPDATE audit_entries SET actor = 'someone else'",
            "DELETE FROM audit_entries",
            "UPDATE audit_nodes SET hash = hash",
            "DELETE FROM audit_nodes",
            "UPDATE audit_signatures SET idx = idx",
            "DELETE FROM audit_signatures",
            "UPDATE audit_checkpoints SET note = 'other'",
            "DELETE FROM audit_checkpoints",
        ] {
            match sqlx::query(sql).execute(&store.pool).await {
                Ok(_) => panic!("the service's connection ran {sql}"),
                Err(e) => refused.push(e.to_string()),
            }
        }
        // The log still holds its entries, and appending still works.
        assert_eq!(store.head().await.expect("head").size(), 2);
        let mut tx = store.begin().await.expect("begin");
        tx.append(
            Event::new(Actor::Operator("t".into()), Action::KeyCreated, "key:l"),
            2,
        );
        tx.commit().await.expect("second commit");
        refused
    }

    #[tokio::test]
    async fn sqlite_refuses_to_change_the_audit_log() {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let store = Store::connect(&url).await.expect("store");
        for e in rewrite_the_log(&store).await {
            assert!(e.contains("is append-only"), "{e}");
        }
    }

    #[tokio::test]
    async fn the_postgres_service_role_cannot_change_the_audit_log() {
        use sqlx::Connection as _;
        let admin = std::env::var("SIDIAN_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let mut conn = match sqlx::PgConnection::connect(&admin).await {
            Ok(c) => c,
            Err(e) if std::env::var_os("SIDIAN_REQUIRE_POSTGRES").is_none() => {
                eprintln!("skipped: PostgreSQL unreachable at {admin} ({e})");
                return;
            }
            Err(e) => panic!("PostgreSQL required but unreachable at {admin}: {e}"),
        };
        let name = format!("sidian_test_role_{}", std::process::id());
        sqlx::query(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name}")))
            .execute(&mut conn)
            .await
            .expect("drop");
        sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("create");
        let url = format!("{}/{name}", admin.rsplit_once('/').expect("db").0);
        let store = Store::connect(&url).await.expect("store");
        let role: String = sqlx::query_scalar("SELECT current_user::text")
            .fetch_one(&store.pool)
            .await
            .expect("role");
        let refused = rewrite_the_log(&store).await;
        store.close().await;
        sqlx::query(AssertSqlSafe(format!("DROP DATABASE {name} WITH (FORCE)")))
            .execute(&mut conn)
            .await
            .expect("drop");
        assert_eq!(role, "sidian_service");
        for e in refused {
            assert!(e.contains("permission denied"), "{e}");
        }
    }
}
