//! The ledger: every audited state change, applied in batches (group commit).
//!
//! A single writer task per process drains a queue of operations, applies a batch of them in one
//! audited transaction and answers each caller once the batch has committed. Under load this
//! turns thousands of tiny transactions per second into a few dozen, each still atomic: an
//! operation's change and its audit entry are always in the same commit. Outside `serve` (the
//! CLI) the same code runs a batch of one, without the task.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use crate::audit::{Action, Actor, Checkpoint, CompactRange, Event};
use crate::crypto::PrivateKey;
use crate::error::{Error, Result};
use crate::store::{AuditedTx, AuthorityRow, CertRow, ClientRow, KeyRow, SealRow, Store};

/// One audited state change.
#[derive(Debug)]
pub(crate) enum Op {
    /// Register an approval system.
    RegisterClient(ClientRow, Actor),
    /// Revoke an approval system by name.
    RevokeClient { name: String, actor: Actor },
    /// Store a new key.
    CreateKey(KeyRow, Event),
    /// Disable a key of an owner.
    DisableKey {
        id: String,
        owner: String,
        actor: Actor,
    },
    /// Replace an active key of an owner with a new one (the old one is disabled, still verifies).
    RotateKey {
        old_id: String,
        new: KeyRow,
        created: Event,
        actor: Actor,
    },
    /// Record a signature made with a key; refused if the key or its client is no longer active.
    RecordSignature {
        key_id: String,
        owner: String,
        event: Event,
    },
    /// Store keys, certificates, authorities and a seal made together, all or nothing.
    Issue(Box<Issuance>),
    /// Revoke a seal with its certificate and key (`owner` None: an admin may revoke any seal).
    RevokeSeal {
        id: String,
        owner: Option<String>,
        reason: String,
        actor: Actor,
    },
}

/// Rows created together: the vault's authorities at initialisation, or a seal with its key and
/// certificate. Each row comes with the audit event that records it.
#[derive(Debug, Default)]
pub(crate) struct Issuance {
    pub(crate) keys: Vec<(KeyRow, Event)>,
    pub(crate) certs: Vec<(CertRow, Event)>,
    pub(crate) authorities: Vec<AuthorityRow>,
    pub(crate) seal: Option<(SealRow, Event)>,
}

/// The audit index of the entry that records an operation (none for a no-op).
pub(crate) type Outcome = Option<u64>;

/// Signs checkpoints and keeps their copy outside the database.
#[derive(Debug)]
pub(crate) struct Checkpointer {
    pub(crate) origin: String,
    pub(crate) key_id: String,
    pub(crate) key: PrivateKey,
    pub(crate) file: PathBuf,
}

impl Checkpointer {
    /// Signs the head, stores it in the database and appends it to the outside copy.
    pub(crate) async fn checkpoint(
        &self,
        store: &Store,
        head: &CompactRange,
    ) -> Result<Checkpoint> {
        let cp = Checkpoint::sign(
            &self.origin,
            head.size(),
            &head.root(),
            now_ms(),
            &self.key_id,
            &self.key,
        )?;
        store.insert_checkpoint(&cp).await?;
        let mut line = serde_json::to_vec(&cp).map_err(|e| Error::Corrupt(e.to_string()))?;
        line.push(b'\n');
        let file = self.file.clone();
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            use std::io::Write;
            let mut f = crate::config::private_options()
                .create(true)
                .append(true)
                .open(file)?;
            f.write_all(&line)?;
            f.sync_data()
        })
        .await
        .map_err(|_| Error::Unavailable)??;
        Ok(cp)
    }
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> i64 {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    i64::try_from(ms).unwrap_or(i64::MAX)
}

/// Applies a batch in one audited transaction; per-operation refusals do not abort the batch.
pub(crate) async fn apply_batch(store: &Store, ops: &[Op]) -> Result<Vec<Result<Outcome>>> {
    let mut tx = store.begin().await?;
    let at = now_ms();
    let sign_ids: Vec<&str> = ops
        .iter()
        .filter_map(|op| match op {
            Op::RecordSignature { key_id, .. } => Some(key_id.as_str()),
            _ => None,
        })
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let states = if sign_ids.is_empty() {
        Default::default()
    } else {
        tx.key_states(&sign_ids).await?
    };
    let mut results = Vec::with_capacity(ops.len());
    for op in ops {
        let result = match op {
            Op::RegisterClient(row, actor) => {
                if tx.client_name_taken(&row.name).await? {
                    Err(Error::ClientExists(row.name.clone()))
                } else {
                    tx.insert_client(row).await?;
                    let event = Event::new(
                        actor.clone(),
                        Action::ClientRegistered,
                        format!("client:{}", row.id),
                    )
                    .with("name", row.name.as_str())
                    .with("scopes", row.scopes.as_str());
                    Ok(Some(tx.append(event, at)))
                }
            }
            Op::RevokeClient { name, actor } => match tx.revoke_client(name, at).await? {
                Some(id) => {
                    let event =
                        Event::new(actor.clone(), Action::ClientRevoked, format!("client:{id}"))
                            .with("name", name.as_str());
                    Ok(Some(tx.append(event, at)))
                }
                None => Err(Error::NotFound("active client")),
            },
            Op::CreateKey(row, event) => {
                tx.insert_key(row).await?;
                Ok(Some(tx.append(event.clone(), at)))
            }
            Op::DisableKey { id, owner, actor } => {
                if tx.disable_key(id, owner, at).await? {
                    let event = Event::new(actor.clone(), Action::KeyDisabled, format!("key:{id}"));
                    Ok(Some(tx.append(event, at)))
                } else {
                    match tx.key_states(&[id.as_str()]).await?.get(id.as_str()) {
                        // Already disabled: disabling is idempotent and changes nothing.
                        Some(s) if &s.owner == owner => Ok(None),
                        _ => Err(Error::NotFound("key")),
                    }
                }
            }
            Op::RotateKey {
                old_id,
                new,
                created,
                actor,
            } => {
                if tx.disable_key(old_id, &new.owner, at).await? {
                    tx.insert_key(new).await?;
                    tx.append(created.clone(), at);
                    let event =
                        Event::new(actor.clone(), Action::KeyRotated, format!("key:{old_id}"))
                            .with("replaced_by", new.id.as_str());
                    Ok(Some(tx.append(event, at)))
                } else {
                    match tx
                        .key_states(&[old_id.as_str()])
                        .await?
                        .get(old_id.as_str())
                    {
                        Some(s) if s.owner == new.owner => Err(Error::KeyDisabled),
                        _ => Err(Error::NotFound("key")),
                    }
                }
            }
            Op::RecordSignature {
                key_id,
                owner,
                event,
            } => match states.get(key_id.as_str()) {
                Some(s) if &s.owner == owner && s.active => Ok(Some(tx.append(event.clone(), at))),
                Some(s) if &s.owner == owner => Err(Error::KeyDisabled),
                _ => Err(Error::NotFound("key")),
            },
            Op::Issue(issuance) => apply_issuance(&mut tx, issuance, at).await,
            Op::RevokeSeal {
                id,
                owner,
                reason,
                actor,
            } => revoke_seal(&mut tx, id, owner.as_deref(), reason, actor, at).await,
        };
        results.push(result);
    }
    tx.commit().await?;
    Ok(results)
}

async fn apply_issuance(tx: &mut AuditedTx, issuance: &Issuance, at: i64) -> Result<Outcome> {
    for authority in &issuance.authorities {
        if tx.has_authority(&authority.name).await? {
            // Another process made these authorities first: theirs stand, ours are dropped.
            return Ok(None);
        }
    }
    if let Some((seal, _)) = &issuance.seal
        && tx.es_id_taken(&seal.es_id).await?
    {
        return Err(Error::Conflict(format!(
            "esID {} is taken; retry",
            seal.es_id
        )));
    }
    let mut last = None;
    for (key, event) in &issuance.keys {
        tx.insert_key(key).await?;
        last = Some(tx.append(event.clone(), at));
    }
    for (cert, event) in &issuance.certs {
        tx.insert_cert(cert).await?;
        last = Some(tx.append(event.clone(), at));
    }
    for authority in &issuance.authorities {
        tx.insert_authority(authority).await?;
    }
    if let Some((seal, event)) = &issuance.seal {
        tx.insert_seal(seal).await?;
        last = Some(tx.append(event.clone(), at));
    }
    Ok(last)
}

async fn revoke_seal(
    tx: &mut AuditedTx,
    id: &str,
    owner: Option<&str>,
    reason: &str,
    actor: &Actor,
    at: i64,
) -> Result<Outcome> {
    let Some(seal) = tx.seal(id).await? else {
        return Err(Error::NotFound("seal"));
    };
    if owner.is_some_and(|o| o != seal.owner) {
        return Err(Error::NotFound("seal"));
    }
    if tx.revoke_seal(id, at, reason).await?.is_none() {
        // Already revoked: revoking is idempotent and changes nothing.
        return Ok(None);
    }
    if tx
        .revoke_cert(&seal.cert_id, at, "cessation_of_operation")
        .await?
    {
        let event = Event::new(
            actor.clone(),
            Action::CertificateRevoked,
            format!("certificate:{}", seal.cert_id),
        )
        .with("reason", "cessation_of_operation")
        .with("seal", id);
        tx.append(event, at);
    }
    if tx.disable_key(&seal.key_id, &seal.owner, at).await? {
        let event = Event::new(
            actor.clone(),
            Action::KeyDisabled,
            format!("key:{}", seal.key_id),
        );
        tx.append(event, at);
    }
    let event = Event::new(actor.clone(), Action::SealRevoked, format!("seal:{id}")).with(
        "reason_sha256",
        hex::encode(crate::crypto::sha256(reason.as_bytes())),
    );
    Ok(Some(tx.append(event, at)))
}

enum Msg {
    Op(Box<Op>, oneshot::Sender<Result<Outcome>>),
    Checkpoint(oneshot::Sender<Result<Checkpoint>>),
}

/// The queue in front of the writer task.
#[derive(Debug, Clone)]
pub(crate) struct Ledger {
    tx: mpsc::Sender<Msg>,
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Msg")
    }
}

/// Most operations in one transaction: bounds latency and statement size.
const MAX_BATCH: usize = 1024;
/// A new checkpoint is signed at most this long after the log grows.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

impl Ledger {
    /// Starts the writer on a thread and runtime of its own, with its own connections; the
    /// receiver fires when it has ended (after a final checkpoint), which happens once every
    /// `Ledger` is dropped.
    ///
    /// Its own thread so that its wake-ups (a batch awaits the database about seven times) do
    /// not queue behind CPU-bound signing tasks on the request runtime. Measured under SM2 load
    /// a batch still takes ≈ 2 ms: ≈ 1.1 ms for the durable COMMIT (fsync) and ≈ 0.1–0.3 ms per
    /// round trip to the database thread (tools/bench/README.md).
    pub(crate) fn start(
        store: Store,
        checkpointer: Arc<Checkpointer>,
    ) -> Result<(Self, oneshot::Receiver<()>)> {
        let (tx, rx) = mpsc::channel(8 * MAX_BATCH);
        let (done_tx, done_rx) = oneshot::channel();
        std::thread::Builder::new()
            .name("sidian-ledger".into())
            .spawn(move || {
                match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt.block_on(async move {
                        match store.reopen(2).await {
                            Ok(own) => {
                                writer(own.clone(), checkpointer, rx).await;
                                own.close().await;
                            }
                            Err(e) => tracing::error!(error = %e, "audit writer cannot connect"),
                        }
                    }),
                    Err(e) => tracing::error!(error = %e, "audit writer runtime failed to start"),
                }
                let _ = done_tx.send(());
            })?;
        Ok((Self { tx }, done_rx))
    }

    /// Applies one operation and waits until it is committed.
    pub(crate) async fn submit(&self, op: Op) -> Result<Outcome> {
        let (done, wait) = oneshot::channel();
        self.tx
            .send(Msg::Op(Box::new(op), done))
            .await
            .map_err(|_| Error::Unavailable)?;
        wait.await.map_err(|_| Error::Unavailable)?
    }

    /// Asks for a checkpoint covering everything committed so far.
    pub(crate) async fn checkpoint(&self) -> Result<Checkpoint> {
        let (done, wait) = oneshot::channel();
        self.tx
            .send(Msg::Checkpoint(done))
            .await
            .map_err(|_| Error::Unavailable)?;
        wait.await.map_err(|_| Error::Unavailable)?
    }
}

async fn writer(store: Store, cp: Arc<Checkpointer>, mut rx: mpsc::Receiver<Msg>) {
    let mut due: Option<Instant> = None;
    let mut ops = Vec::with_capacity(MAX_BATCH);
    let mut waiters = Vec::with_capacity(MAX_BATCH);
    let mut cp_waiters: Vec<oneshot::Sender<Result<Checkpoint>>> = Vec::new();
    loop {
        let first = match due {
            Some(at) => tokio::select! {
                m = rx.recv() => m,
                () = tokio::time::sleep_until(at.into()) => {
                    due = None;
                    checkpoint_now(&store, &cp, &mut cp_waiters).await;
                    continue;
                }
            },
            None => rx.recv().await,
        };
        let Some(first) = first else { break };
        let mut next = Some(first);
        while let Some(msg) = next.take() {
            match msg {
                Msg::Op(op, done) => {
                    ops.push(*op);
                    waiters.push(done);
                }
                Msg::Checkpoint(done) => cp_waiters.push(done),
            }
            if ops.len() < MAX_BATCH {
                next = rx.try_recv().ok();
            }
        }
        if !ops.is_empty() {
            match apply_batch(&store, &ops).await {
                Ok(results) => {
                    for (w, r) in waiters.drain(..).zip(results) {
                        let _ = w.send(r);
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, batch = ops.len(), "audited batch failed; nothing of it was committed");
                    for w in waiters.drain(..) {
                        let _ = w.send(Err(Error::Unavailable));
                    }
                }
            }
            ops.clear();
            due.get_or_insert_with(|| Instant::now() + CHECKPOINT_EVERY);
        }
        if !cp_waiters.is_empty() {
            checkpoint_now(&store, &cp, &mut cp_waiters).await;
            due = None;
        }
    }
    // Shutting down: leave the log covered by a checkpoint.
    checkpoint_now(&store, &cp, &mut cp_waiters).await;
}

/// Signs a checkpoint of the current head (unless the newest one covers it) and answers waiters.
pub(crate) async fn checkpoint_now(
    store: &Store,
    cp: &Checkpointer,
    waiters: &mut Vec<oneshot::Sender<Result<Checkpoint>>>,
) -> Option<Checkpoint> {
    let result = async {
        // Read the head from the database: other processes (the CLI, other nodes) append too.
        let head = store.head().await?;
        match store.latest_checkpoint().await? {
            Some(latest) if latest.size == head.size() => Ok(latest),
            _ => cp.checkpoint(store, &head).await,
        }
    }
    .await;
    if let Err(e) = &result {
        tracing::error!(error = %e, "checkpoint failed");
    }
    for w in waiters.drain(..) {
        let _ = w.send(match &result {
            Ok(c) => Ok(c.clone()),
            Err(_) => Err(Error::Unavailable),
        });
    }
    result.ok()
}
