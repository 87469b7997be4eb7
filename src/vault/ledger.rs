//! The ledger: every audited state change, applied in batches (group commit).
//!
//! A single writer task per process drains a queue of operations, applies a batch of them in one
//! audited transaction and answers each caller once the batch has committed. Under load this
//! turns thousands of tiny transactions per second into a few dozen, each still atomic: an
//! operation's change and its audit entry are always in the same commit. Outside `serve` (the
//! CLI) the same code runs a batch of one, without the task.
//!
//! A batch applies its operations in order against the state as it changes within the batch: a
//! signature queued after a revocation in the same batch is refused like one in a later batch,
//! and every operation of a client is refused once that client is revoked, whatever a node's
//! authentication cache still believes.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use crate::audit::{Action, Actor, Checkpoint, CompactRange, Event};
use crate::crypto::PrivateKey;
use crate::error::{Error, Result};
use crate::pki::RevocationReason;
use crate::store::{
    AuditedTx, AuthorityRow, BatchStates, CertRow, ClientRow, KeyPurpose, KeyRow, SealRow, Store,
};

/// One audited state change; refused (401) when its actor is a client that is no longer active.
#[derive(Debug)]
pub(crate) enum Op {
    /// Register an approval system.
    RegisterClient(ClientRow, Actor),
    /// Revoke an approval system by name.
    RevokeClient { name: String, actor: Actor },
    /// Replace an active client's API key; the old key is accepted until `old_expires_at` (ms).
    RotateClientKey {
        client: RotatingClient,
        new_hmac: Vec<u8>,
        old_expires_at: i64,
        actor: Actor,
    },
    /// Record an operator's decision that changes no row (e.g. accepting a log rollback).
    Record(Event),
    /// Store a new key.
    CreateKey(KeyRow, Event),
    /// Disable a general key of an owner.
    DisableKey {
        id: String,
        owner: String,
        actor: Actor,
    },
    /// Replace an active general key of an owner with a new one (the old one is disabled, still
    /// verifies).
    RotateKey {
        old_id: String,
        new: KeyRow,
        created: Event,
        actor: Actor,
    },
    /// Record a signature made with a key; refused unless the key was made for `signed_as` and
    /// it, its owner (and for a seal the seal) are still active.
    RecordSignature {
        key_id: String,
        owner: String,
        signed_as: SignedAs,
        /// The signing time written into the signature (ms; for a time stated to the second, the
        /// last millisecond of that second); revocations are recorded after it.
        signed_at: i64,
        event: Event,
    },
    /// Store keys, certificates, authorities and a seal made together, all or nothing.
    Issue(Box<Issuance>),
    /// Bind the active client of this name to issuers (each must exist).
    BindIssuers {
        client: String,
        issuers: Vec<String>,
        actor: Actor,
    },
    /// Give an issuer that has none its presentation key (the first of racing requests wins).
    AddPresentationKey {
        issuer_id: String,
        key: KeyRow,
        event: Event,
    },
    /// Store a holder's device key for a licence (device-bound presentation).
    RegisterDevice {
        device: crate::store::DeviceRow,
        event: Event,
    },
    /// Store a licence in a random free slot of its issuer's current status list.
    IssueLicence(Box<super::licences::IssuingLicence>),
    /// Move a licence to another status, if the transition is legal from its current one.
    ChangeLicence(Box<super::licences::LicenceChange>),
    /// Store a licence's next version and mark the licence superseded by it (变更).
    SupersedeLicence(Box<super::licences::Superseding>),
    /// Store a holder's grant of a licence to a department (用证).
    GrantLicence(Box<crate::store::GrantRow>, Event),
    /// Withdraw a grant of a licence (no change if it is withdrawn already).
    WithdrawGrant {
        licence_id: String,
        grant_id: String,
        actor: Actor,
    },
    /// Give a department a link to a licence file, consuming the grant it showed, if any.
    FetchLicence(Box<super::licence_use::Fetching>),
    /// Revoke a seal with its certificate and key (`owner` None: an admin may revoke any seal).
    RevokeSeal {
        id: String,
        owner: Option<String>,
        reason: String,
        /// The CRLReason the holder certificate is revoked with.
        reason_code: RevocationReason,
        actor: Actor,
    },
    /// Cancel (注销) a signer: its certificate revoked, its key disabled.
    CancelSigner {
        id: String,
        owner: String,
        reason: String,
        actor: Actor,
    },
    /// Add wrapped reference captures to an active signer of `owner`.
    AddReferences {
        signer_id: String,
        owner: String,
        captures: Vec<Vec<u8>>,
        event: Event,
    },
}

/// Whose API key a rotation replaces.
#[derive(Debug)]
pub(crate) enum RotatingClient {
    /// The active client of this name (an operator's rotation).
    Named(String),
    /// The client presenting this key, which must still be its current one (self-service: a
    /// key already rotated out cannot rotate again, so two racing rotations make one new key).
    Presenting { id: String, hmac: Vec<u8> },
}

/// The role a signature was made in: the key must have been made for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SignedAs {
    /// A client's general key, through `/v1/keys/{id}/sign`.
    Key,
    /// The seal of this id, with its holder key, while the seal is active.
    Seal(String),
    /// One of the vault's time-stamping authorities.
    Tsa,
    /// A handwritten signer's key, while the signer is enrolled (cancelling disables the key);
    /// the capture evidence is stored with the signature's entry.
    Handwritten(Box<crate::store::EvidenceRow>),
}

impl SignedAs {
    fn purpose(&self) -> KeyPurpose {
        match self {
            SignedAs::Key => KeyPurpose::General,
            SignedAs::Seal(_) => KeyPurpose::Seal,
            SignedAs::Tsa => KeyPurpose::Tsa,
            SignedAs::Handwritten(_) => KeyPurpose::HandwrittenSigner,
        }
    }
}

impl Op {
    /// Who asks for the operation (every event of an issuance has the same actor).
    fn actor(&self) -> Option<&Actor> {
        match self {
            Op::RegisterClient(_, actor)
            | Op::RevokeClient { actor, .. }
            | Op::RotateClientKey { actor, .. }
            | Op::DisableKey { actor, .. }
            | Op::RotateKey { actor, .. }
            | Op::RevokeSeal { actor, .. }
            | Op::CancelSigner { actor, .. }
            | Op::BindIssuers { actor, .. }
            | Op::WithdrawGrant { actor, .. } => Some(actor),
            Op::FetchLicence(f) => Some(&f.event.actor),
            Op::IssueLicence(issuing) => Some(&issuing.event.actor),
            Op::ChangeLicence(change) => Some(&change.actor),
            Op::SupersedeLicence(s) => Some(&s.next.event.actor),
            Op::Record(event)
            | Op::CreateKey(_, event)
            | Op::RecordSignature { event, .. }
            | Op::AddPresentationKey { event, .. }
            | Op::GrantLicence(_, event)
            | Op::AddReferences { event, .. }
            | Op::RegisterDevice { event, .. } => Some(&event.actor),
            Op::Issue(issuance) => issuance.keys.first().map(|(_, event)| &event.actor),
        }
    }
}

/// Rows created together: the vault's authorities at initialisation, or a seal with its key and
/// certificate. Each row comes with the audit event that records it.
#[derive(Debug, Default)]
pub(crate) struct Issuance {
    pub(crate) keys: Vec<(KeyRow, Event)>,
    pub(crate) certs: Vec<(CertRow, Event)>,
    pub(crate) authorities: Vec<AuthorityRow>,
    pub(crate) seal: Option<(SealRow, Event)>,
    /// An issuing authority made with the seal (its licence seal) and its keys.
    pub(crate) issuer: Option<Box<super::issuers::IssuerRows>>,
    /// An issuer's P-256 licence seal for PDFs: (issuer id, seal, event). With `issuer`, the
    /// new issuer's row names it already; alone, it is given to an issuer that has none, and
    /// the whole issuance is no change if the issuer has one by then.
    pub(crate) pdf_seal: Option<(String, SealRow, Event)>,
    /// A handwritten signer enrolled with its key and certificate.
    pub(crate) signer: Option<(crate::store::SignerRow, Event)>,
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

/// The state a batch works on: read once under the log lock, then kept current by each
/// operation as it applies, so that later operations of the same batch see it.
pub(super) struct Batch {
    states: BatchStates,
    /// When the batch began (ms).
    start: i64,
    /// The time recorded for the next entry: never goes backwards within the batch.
    now: i64,
    /// The latest signing time of a signature accepted so far.
    latest_signed: i64,
}

impl Batch {
    async fn read(tx: &mut AuditedTx, ops: &[Op]) -> Result<Batch> {
        let mut keys = HashSet::new();
        let mut clients = HashSet::new();
        let mut seals = HashSet::new();
        for op in ops {
            if let Some(Actor::Client(id)) = op.actor() {
                clients.insert(id.as_str());
            }
            match op {
                Op::RecordSignature {
                    key_id, signed_as, ..
                } => {
                    keys.insert(key_id.as_str());
                    if let SignedAs::Seal(id) = signed_as {
                        seals.insert(id.as_str());
                    }
                }
                Op::DisableKey { id, .. } => {
                    keys.insert(id.as_str());
                }
                Op::RotateKey { old_id, .. } => {
                    keys.insert(old_id.as_str());
                }
                _ => {}
            }
        }
        let states = if keys.is_empty() && clients.is_empty() {
            BatchStates::default()
        } else {
            let [keys, clients, seals] =
                [keys, clients, seals].map(|set| set.into_iter().collect::<Vec<_>>());
            tx.batch_states(&keys, &clients, &seals).await?
        };
        let start = now_ms();
        Ok(Batch {
            states,
            start,
            now: start,
            latest_signed: i64::MIN,
        })
    }

    /// The time a revocation (or a key disabled) takes effect: strictly after every signature
    /// released before it. Signatures of earlier batches read the clock before this batch began
    /// (while the clock does not step back; nodes must keep their clocks in step), but one that
    /// states only its second (a PDF's signingTime and `/M`) claims that second's last instant:
    /// so the revocation takes effect at the next whole second. Those of this batch are known
    /// exactly.
    pub(super) fn revocation_time(&mut self) -> i64 {
        let next_second = (self.start.div_euclid(1000) + 1) * 1000;
        self.now = self
            .now
            .max(next_second)
            .max(self.latest_signed.saturating_add(1));
        self.now
    }

    /// Refuses the operation of a client that is revoked (or unknown) at this point.
    fn check_actor(&self, op: &Op) -> Result<()> {
        match op.actor() {
            Some(Actor::Client(id)) if self.states.clients.get(id) != Some(&true) => {
                Err(Error::Unauthorized)
            }
            _ => Ok(()),
        }
    }

    /// Whether a signature may be recorded: the key was made for `signed_as`, belongs to
    /// `owner`, and it, its owner and its seal are still active.
    fn check_signature(&self, key_id: &str, owner: &str, signed_as: &SignedAs) -> Result<()> {
        let key = match self.states.keys.get(key_id) {
            Some(k) if k.owner == owner && k.purpose == signed_as.purpose() => k,
            _ => return Err(Error::NotFound("key")),
        };
        let seal_active = match signed_as {
            SignedAs::Seal(id) => match self.states.seals.get(id) {
                Some(s) if s.key_id == key_id => s.active,
                _ => return Err(Error::NotFound("seal")),
            },
            SignedAs::Key | SignedAs::Tsa | SignedAs::Handwritten(_) => true,
        };
        if key.active && key.owner_active && seal_active {
            Ok(())
        } else {
            Err(Error::KeyDisabled)
        }
    }

    fn signed(&mut self, signed_at: i64) {
        self.latest_signed = self.latest_signed.max(signed_at);
    }

    pub(super) fn key_disabled(&mut self, id: &str) {
        if let Some(k) = self.states.keys.get_mut(id) {
            k.active = false;
        }
    }

    fn seal_revoked(&mut self, id: &str, key_id: &str) {
        if let Some(s) = self.states.seals.get_mut(id) {
            s.active = false;
        }
        self.key_disabled(key_id);
    }

    fn client_revoked(&mut self, id: &str) {
        self.states.clients.insert(id.to_owned(), false);
        for k in self.states.keys.values_mut().filter(|k| k.owner == id) {
            k.owner_active = false;
        }
    }
}

/// Milliseconds since the Unix epoch of `t` (the signing time a signature carries).
pub(crate) fn unix_ms(t: time::OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// Applies a batch in one audited transaction, each operation against the state the ones before
/// it left; per-operation refusals do not abort the batch. `request_ids[i]` (when there is one)
/// names the request operation `i` was submitted in, in each of its audit entries.
pub(crate) async fn apply_batch(
    store: &Store,
    ops: &[Op],
    request_ids: &[Option<String>],
) -> Result<Vec<Result<Outcome>>> {
    let started = Instant::now();
    let tx = store.begin().await?;
    apply_locked(tx, ops, request_ids, started).await
}

/// [`apply_batch`] in a transaction that holds the log lock already.
async fn apply_locked(
    mut tx: AuditedTx,
    ops: &[Op],
    request_ids: &[Option<String>],
    started: Instant,
) -> Result<Vec<Result<Outcome>>> {
    let mut batch = Batch::read(&mut tx, ops).await?;
    let request_id = |i: usize| request_ids.get(i).and_then(Option::as_deref);
    let mut results: Vec<Result<Outcome>> = Vec::with_capacity(ops.len());
    while results.len() < ops.len() {
        let i = results.len();
        // Consecutive issuances go together: one set of reads for the run.
        let run: Vec<&super::licences::IssuingLicence> = ops[i..]
            .iter()
            .map_while(|op| match op {
                Op::IssueLicence(issuing) => Some(&**issuing),
                _ => None,
            })
            .collect();
        if !run.is_empty() {
            let mut allowed = Vec::with_capacity(run.len());
            let mut refused = Vec::with_capacity(run.len());
            for (j, issuing) in run.iter().enumerate() {
                match batch.check_actor(&ops[i + j]) {
                    Ok(()) => {
                        allowed.push((*issuing, request_id(i + j)));
                        refused.push(None);
                    }
                    Err(e) => refused.push(Some(e)),
                }
            }
            let mut applied = super::licences::apply_issues(&mut tx, &allowed, batch.now)
                .await?
                .into_iter();
            for r in refused {
                results.push(match r {
                    Some(e) => Err(e),
                    None => applied.next().ok_or_else(|| {
                        Error::Corrupt("an issuance of the batch was not decided".into())
                    })?,
                });
            }
            continue;
        }
        let op = &ops[i];
        tx.set_request_id(request_id(i));
        let result = match batch.check_actor(op) {
            Ok(()) => apply_op(&mut tx, &mut batch, op).await?,
            Err(e) => Err(e),
        };
        results.push(result);
    }
    tx.commit().await?;
    crate::metrics::ledger_batch(ops.len(), started.elapsed());
    Ok(results)
}

/// Applies one operation; the outer error aborts the batch, the inner one refuses the operation.
async fn apply_op(tx: &mut AuditedTx, batch: &mut Batch, op: &Op) -> Result<Result<Outcome>> {
    Ok(match op {
        Op::RegisterClient(row, actor) => {
            if tx.client_name_taken(&row.name).await? {
                Err(Error::ClientExists(row.name.clone()))
            } else {
                tx.insert_client(row).await?;
                batch.states.clients.insert(row.id.clone(), true);
                let event = Event::new(
                    actor.clone(),
                    Action::ClientRegistered,
                    format!("client:{}", row.id),
                )
                .with("name", row.name.as_str())
                .with("scopes", row.scopes.as_str());
                Ok(Some(tx.append(event, batch.now)))
            }
        }
        Op::RevokeClient { name, actor } => {
            let at = batch.revocation_time();
            match tx.revoke_client(name, at).await? {
                Some(id) => {
                    batch.client_revoked(&id);
                    let event =
                        Event::new(actor.clone(), Action::ClientRevoked, format!("client:{id}"))
                            .with("name", name.as_str());
                    Ok(Some(tx.append(event, at)))
                }
                None => Err(Error::NotFound("active client")),
            }
        }
        Op::RotateClientKey {
            client,
            new_hmac,
            old_expires_at,
            actor,
        } => {
            let current = match client {
                RotatingClient::Named(name) => tx.active_client_key(name).await?,
                RotatingClient::Presenting { id, hmac } => Some((id.clone(), hmac.clone())),
            };
            let rotated = match &current {
                Some((id, old)) => {
                    tx.rotate_client_key(id, old, new_hmac, *old_expires_at)
                        .await?
                }
                None => false,
            };
            match current {
                Some((id, _)) if rotated => {
                    let event = Event::new(
                        actor.clone(),
                        Action::ClientKeyRotated,
                        format!("client:{id}"),
                    )
                    .with("old_key_expires_at", *old_expires_at);
                    Ok(Some(tx.append(event, batch.now)))
                }
                _ => match client {
                    RotatingClient::Named(_) => Err(Error::NotFound("active client")),
                    RotatingClient::Presenting { .. } => Err(Error::Unauthorized),
                },
            }
        }
        Op::Record(event) => Ok(Some(tx.append(event.clone(), batch.now))),
        Op::CreateKey(row, event) => {
            tx.insert_key(row).await?;
            Ok(Some(tx.append(event.clone(), batch.now)))
        }
        Op::DisableKey { id, owner, actor } => match batch.states.keys.get(id.as_str()) {
            // Only general keys are reachable this way: a seal's key is disabled by revoking
            // the seal, the vault's keys never.
            Some(k) if &k.owner == owner && k.purpose == KeyPurpose::General => {
                let at = batch.revocation_time();
                if tx.disable_key(id, owner, at).await? {
                    batch.key_disabled(id);
                    let event = Event::new(actor.clone(), Action::KeyDisabled, format!("key:{id}"));
                    Ok(Some(tx.append(event, at)))
                } else {
                    // Already disabled: disabling is idempotent and changes nothing.
                    Ok(None)
                }
            }
            _ => Err(Error::NotFound("key")),
        },
        Op::RotateKey {
            old_id,
            new,
            created,
            actor,
        } => match batch.states.keys.get(old_id.as_str()) {
            Some(k)
                if k.owner == new.owner
                    && k.purpose == KeyPurpose::General
                    && new.purpose == KeyPurpose::General =>
            {
                let at = batch.revocation_time();
                if tx.disable_key(old_id, &new.owner, at).await? {
                    batch.key_disabled(old_id);
                    tx.insert_key(new).await?;
                    tx.append(created.clone(), at);
                    let event =
                        Event::new(actor.clone(), Action::KeyRotated, format!("key:{old_id}"))
                            .with("replaced_by", new.id.as_str());
                    Ok(Some(tx.append(event, at)))
                } else {
                    Err(Error::KeyDisabled)
                }
            }
            _ => Err(Error::NotFound("key")),
        },
        Op::RecordSignature {
            key_id,
            owner,
            signed_as,
            signed_at,
            event,
        } => match batch.check_signature(key_id, owner, signed_as) {
            Ok(()) => {
                if let SignedAs::Handwritten(evidence) = signed_as {
                    tx.insert_evidence(evidence).await?;
                }
                batch.signed(*signed_at);
                let event = event.clone().with("signed_at_ms", *signed_at);
                Ok(Some(tx.append(event, batch.now)))
            }
            Err(e) => Err(e),
        },
        Op::Issue(issuance) => apply_issuance(tx, issuance, batch.now).await,
        Op::BindIssuers {
            client,
            issuers,
            actor,
        } => super::issuers::bind(tx, client, issuers, actor, batch.now).await?,
        Op::AddPresentationKey {
            issuer_id,
            key,
            event,
        } => {
            if tx.set_issuer_presentation_key(issuer_id, &key.id).await? {
                tx.insert_key(key).await?;
                Ok(Some(tx.append(event.clone(), batch.now)))
            } else {
                // Another request gave the issuer its key first (or the issuer is gone).
                Ok(None)
            }
        }
        Op::RegisterDevice { device, event } => {
            tx.insert_device(device).await?;
            Ok(Some(tx.append(event.clone(), batch.now)))
        }
        // Applied in runs by `apply_batch`, never one by one.
        Op::IssueLicence(_) => return Err(Error::Corrupt("an issuance outside its run".into())),
        Op::ChangeLicence(change) => super::licences::apply_change(tx, change, batch.now).await?,
        Op::SupersedeLicence(s) => super::licences::apply_supersede(tx, s, batch.now).await?,
        Op::GrantLicence(grant, event) => {
            tx.insert_grant(grant).await?;
            Ok(Some(tx.append(event.clone(), batch.now)))
        }
        Op::WithdrawGrant {
            licence_id,
            grant_id,
            actor,
        } => super::grants::apply_withdraw(tx, licence_id, grant_id, actor, batch.now).await?,
        Op::FetchLicence(f) => super::licence_use::apply_fetch(tx, f, batch.now).await?,
        Op::RevokeSeal {
            id,
            owner,
            reason,
            reason_code,
            actor,
        } => revoke_seal(tx, batch, id, owner.as_deref(), reason, *reason_code, actor).await,
        Op::CancelSigner {
            id,
            owner,
            reason,
            actor,
        } => super::handsign::apply_cancel(tx, batch, id, owner, reason, actor).await,
        Op::AddReferences {
            signer_id,
            owner,
            captures,
            event,
        } => {
            match tx.signer(signer_id).await? {
                Some(s) if s.client_id == *owner && s.status == "active" => {}
                Some(s) if s.client_id == *owner => {
                    return Err(Error::Conflict("the signer is cancelled".into()));
                }
                _ => return Err(Error::NotFound("signer")),
            }
            let n = tx.insert_references(signer_id, captures, batch.now).await?;
            Ok(Some(
                tx.append(event.clone().with("references", n), batch.now),
            ))
        }
    })
}

async fn apply_issuance(tx: &mut AuditedTx, issuance: &Issuance, at: i64) -> Result<Outcome> {
    for authority in &issuance.authorities {
        if tx.has_authority(&authority.name).await? {
            // Another process made these authorities first: theirs stand, ours are dropped.
            return Ok(None);
        }
    }
    for seal in issuance
        .seal
        .iter()
        .map(|(s, _)| s)
        .chain(issuance.pdf_seal.iter().map(|(_, s, _)| s))
    {
        if tx.es_id_taken(&seal.es_id).await? {
            return Err(Error::Conflict(format!(
                "esID {} is taken; retry",
                seal.es_id
            )));
        }
    }
    if let Some((issuer, seal, _)) = &issuance.pdf_seal
        && issuance.issuer.is_none()
        && !tx.set_issuer_pdf_seal(issuer, &seal.id).await?
    {
        // Another request gave the issuer its seal first: that one stands.
        return Ok(None);
    }
    if let Some(issuer) = &issuance.issuer
        && tx.issuer_uscc_taken(&issuer.issuer.uscc).await?
    {
        return Err(Error::Conflict(
            "an issuer with this 统一社会信用代码 is registered already".into(),
        ));
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
    if let Some(issuer) = &issuance.issuer {
        last = Some(super::issuers::insert(tx, issuer, at).await?);
    }
    if let Some((_, seal, event)) = &issuance.pdf_seal {
        tx.insert_seal(seal).await?;
        last = Some(tx.append(event.clone(), at));
    }
    if let Some((signer, event)) = &issuance.signer {
        tx.insert_signer(signer).await?;
        last = Some(tx.append(event.clone(), at));
    }
    Ok(last)
}

async fn revoke_seal(
    tx: &mut AuditedTx,
    batch: &mut Batch,
    id: &str,
    owner: Option<&str>,
    reason: &str,
    reason_code: RevocationReason,
    actor: &Actor,
) -> Result<Outcome> {
    let Some(seal) = tx.seal(id).await? else {
        return Err(Error::NotFound("seal"));
    };
    if owner.is_some_and(|o| o != seal.owner) {
        return Err(Error::NotFound("seal"));
    }
    let at = batch.revocation_time();
    if tx.revoke_seal(id, at, reason).await?.is_none() {
        // Already revoked: revoking is idempotent and changes nothing.
        return Ok(None);
    }
    batch.seal_revoked(id, &seal.key_id);
    if tx
        .revoke_cert(&seal.cert_id, at, reason_code.as_str())
        .await?
    {
        let event = Event::new(
            actor.clone(),
            Action::CertificateRevoked,
            format!("certificate:{}", seal.cert_id),
        )
        .with("reason", reason_code.as_str())
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

/// An operation, the request it was submitted in, and who waits for its outcome.
type Msg = (Box<Op>, Option<String>, oneshot::Sender<Result<Outcome>>);

/// What the checkpointing task is told.
enum CheckpointMsg {
    /// The log grew: a checkpoint is due within [`CHECKPOINT_EVERY`].
    Grew,
    /// Someone waits for a checkpoint covering everything committed so far.
    Now(oneshot::Sender<Result<Checkpoint>>),
}

/// The queue in front of the writer task.
#[derive(Debug, Clone)]
pub(crate) struct Ledger {
    tx: mpsc::Sender<Msg>,
    checkpoints: mpsc::UnboundedSender<CheckpointMsg>,
}

impl std::fmt::Debug for CheckpointMsg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CheckpointMsg")
    }
}

/// Most operations in one transaction: bounds latency and statement size.
const MAX_BATCH: usize = 1024;
/// A new checkpoint is signed at most this long after the log grows.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

impl Ledger {
    /// Starts the writer and the checkpointing task on a thread and runtime of their own, with
    /// their own connections; the receiver fires when both have ended (after a final
    /// checkpoint), which happens once every `Ledger` is dropped.
    ///
    /// Its own thread so that its wake-ups (a batch awaits the database about seven times) do
    /// not queue behind CPU-bound signing tasks on the request runtime. Checkpoints are signed
    /// beside the writer, never between its batches: a checkpoint is a commit of its own plus an
    /// fsync of the outside copy, and batches waiting behind it were PostgreSQL's stalls of
    /// 100 ms and more (tools/bench/README.md).
    pub(crate) fn start(
        store: Store,
        checkpointer: Arc<Checkpointer>,
    ) -> Result<(Self, oneshot::Receiver<()>)> {
        let (tx, rx) = mpsc::channel(8 * MAX_BATCH);
        let (cp_tx, cp_rx) = mpsc::unbounded_channel();
        let grew = cp_tx.clone();
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
                                let checkpoints =
                                    tokio::spawn(checkpoints(own.clone(), checkpointer, cp_rx));
                                writer(own.clone(), rx, grew).await;
                                let _ = checkpoints.await;
                                own.close().await;
                            }
                            Err(e) => tracing::error!(error = %e, "audit writer cannot connect"),
                        }
                    }),
                    Err(e) => tracing::error!(error = %e, "audit writer runtime failed to start"),
                }
                let _ = done_tx.send(());
            })?;
        Ok((
            Self {
                tx,
                checkpoints: cp_tx,
            },
            done_rx,
        ))
    }

    /// Applies one operation and waits until it is committed; its audit entries name the
    /// request this task serves ([`crate::request_id`]), read here because the writer runs
    /// outside the request's task.
    pub(crate) async fn submit(&self, op: Op) -> Result<Outcome> {
        let (done, wait) = oneshot::channel();
        self.tx
            .send((Box::new(op), crate::request_id::current(), done))
            .await
            .map_err(|_| Error::Unavailable)?;
        wait.await.map_err(|_| Error::Unavailable)?
    }

    /// Whether the writer still takes operations.
    pub(crate) fn is_running(&self) -> bool {
        !self.tx.is_closed()
    }

    /// Asks for a checkpoint covering everything committed so far.
    pub(crate) async fn checkpoint(&self) -> Result<Checkpoint> {
        let (done, wait) = oneshot::channel();
        self.checkpoints
            .send(CheckpointMsg::Now(done))
            .map_err(|_| Error::Unavailable)?;
        wait.await.map_err(|_| Error::Unavailable)?
    }
}

async fn writer(
    store: Store,
    mut rx: mpsc::Receiver<Msg>,
    grew: mpsc::UnboundedSender<CheckpointMsg>,
) {
    let mut ops = Vec::with_capacity(MAX_BATCH);
    let mut request_ids = Vec::with_capacity(MAX_BATCH);
    let mut waiters = Vec::with_capacity(MAX_BATCH);
    while let Some((op, request_id, done)) = rx.recv().await {
        let started = Instant::now();
        ops.push(*op);
        request_ids.push(request_id);
        waiters.push(done);
        // The lock first, then everything queued meanwhile: while this node waits for another
        // node's (or the CLI's) commit its requests keep arriving, and they join this batch
        // instead of waiting for the next turn of the lock.
        let locked = store.begin().await;
        if locked.is_ok() {
            while ops.len() < MAX_BATCH {
                let Ok((op, request_id, done)) = rx.try_recv() else {
                    break;
                };
                ops.push(*op);
                request_ids.push(request_id);
                waiters.push(done);
            }
        }
        let applied = match locked {
            Ok(tx) => apply_locked(tx, &ops, &request_ids, started).await,
            Err(e) => Err(e),
        };
        match applied {
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
        request_ids.clear();
        let _ = grew.send(CheckpointMsg::Grew);
    }
}

/// Signs a checkpoint at most [`CHECKPOINT_EVERY`] after the log grew, at once when asked, and
/// a last one when every sender is gone (shutting down: the log is left covered).
async fn checkpoints(
    store: Store,
    cp: Arc<Checkpointer>,
    mut rx: mpsc::UnboundedReceiver<CheckpointMsg>,
) {
    let mut due: Option<Instant> = None;
    let mut waiters = Vec::new();
    loop {
        let msg = match due {
            Some(at) => tokio::select! {
                m = rx.recv() => m,
                () = tokio::time::sleep_until(at.into()) => {
                    due = None;
                    checkpoint_now(&store, &cp, &mut waiters).await;
                    continue;
                }
            },
            None => rx.recv().await,
        };
        match msg {
            None => break,
            Some(CheckpointMsg::Grew) => {
                due.get_or_insert_with(|| Instant::now() + CHECKPOINT_EVERY);
            }
            Some(CheckpointMsg::Now(w)) => {
                waiters.push(w);
                checkpoint_now(&store, &cp, &mut waiters).await;
                due = None;
            }
        }
    }
    checkpoint_now(&store, &cp, &mut waiters).await;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A store with three clients (`cli_a`, `cli_b`, `cli_c`), a general key of `cli_a` (`key_a`) and a
    /// seal of `cli_a` (`seal_a`, holder key `key_s`).
    async fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let store = Store::connect(&url).await.expect("store");
        let op = Actor::Operator("test".into());
        let key = |id: &str, purpose| KeyRow {
            id: id.into(),
            owner: "cli_a".into(),
            purpose,
            key_type: "sm2".into(),
            status: "active".into(),
            public_key: vec![1],
            wrapped_private: vec![2],
            created_at: 0,
            disabled_at: None,
        };
        let client = |id: &str| {
            Op::RegisterClient(
                ClientRow {
                    id: id.into(),
                    name: id.into(),
                    key_hmac: id.as_bytes().to_vec(),
                    scopes: String::new(),
                    status: "active".into(),
                    created_at: 0,
                    revoked_at: None,
                },
                op.clone(),
            )
        };
        let created = |id: &str| Event::new(op.clone(), Action::KeyCreated, format!("key:{id}"));
        let seal = SealRow {
            id: "seal_a".into(),
            es_id: "37040612345678".into(),
            owner: "cli_a".into(),
            name: "n".into(),
            seal_type: 1,
            holder_name: "h".into(),
            holder_id: "u".into(),
            alg: "sm2".into(),
            key_id: "key_s".into(),
            cert_id: "crt_s".into(),
            valid_from: 0,
            valid_to: i64::MAX,
            image: Vec::new(),
            seal_der: Vec::new(),
            status: "active".into(),
            created_at: 0,
            revoked_at: None,
            revoke_reason: None,
        };
        let ops = [
            client("cli_a"),
            client("cli_b"),
            client("cli_c"),
            Op::CreateKey(key("key_a", KeyPurpose::General), created("key_a")),
            Op::Issue(Box::new(Issuance {
                keys: vec![(key("key_s", KeyPurpose::Seal), created("key_s"))],
                seal: Some((
                    seal,
                    Event::new(op.clone(), Action::SealCreated, "seal:seal_a"),
                )),
                ..Issuance::default()
            })),
        ];
        for r in apply_batch(&store, &ops, &[]).await.expect("setup") {
            r.expect("setup op");
        }
        (dir, store)
    }

    fn client(id: &str) -> Actor {
        Actor::Client(id.into())
    }

    /// A general key row of `owner` (its key material is never used by these tests).
    fn general_key(id: &str, owner: &str) -> KeyRow {
        KeyRow {
            id: id.into(),
            owner: owner.into(),
            purpose: KeyPurpose::General,
            key_type: "sm2".into(),
            status: "active".into(),
            public_key: vec![1],
            wrapped_private: vec![2],
            created_at: 0,
            disabled_at: None,
        }
    }

    fn sig(key_id: &str, signed_as: SignedAs, actor: &str, signed_at: i64) -> Op {
        Op::RecordSignature {
            key_id: key_id.into(),
            owner: "cli_a".into(),
            signed_as,
            signed_at,
            event: Event::new(client(actor), Action::SignatureCreated, "x"),
        }
    }

    fn seal_a() -> SignedAs {
        SignedAs::Seal("seal_a".into())
    }

    fn codes(results: &[Result<Outcome>]) -> Vec<&'static str> {
        results
            .iter()
            .map(|r| match r {
                Ok(Some(_)) => "ok",
                Ok(None) => "none",
                Err(e) => e.code(),
            })
            .collect()
    }

    #[tokio::test]
    async fn a_revocation_stops_the_signatures_after_it_in_the_same_batch() {
        let (_dir, store) = store().await;
        // A signing time ahead of the clock: the revocation is still recorded after it.
        let ahead = now_ms() + 60_000;
        let ops = [
            sig("key_a", SignedAs::Key, "cli_a", ahead),
            sig("key_s", seal_a(), "cli_a", ahead + 1),
            Op::DisableKey {
                id: "key_a".into(),
                owner: "cli_a".into(),
                actor: client("cli_a"),
            },
            Op::RevokeSeal {
                id: "seal_a".into(),
                owner: Some("cli_a".into()),
                reason: String::new(),
                reason_code: RevocationReason::CessationOfOperation,
                actor: client("cli_a"),
            },
            sig("key_a", SignedAs::Key, "cli_a", ahead),
            sig("key_s", seal_a(), "cli_a", ahead),
        ];
        let results = apply_batch(&store, &ops, &[]).await.expect("batch");
        assert_eq!(
            codes(&results),
            ["ok", "ok", "ok", "ok", "key_disabled", "key_disabled"]
        );
        let key = store.key("key_a").await.expect("read").expect("key");
        assert!(key.disabled_at.expect("disabled") > ahead + 1);
        let seal = store.seal("seal_a").await.expect("read").expect("seal");
        assert!(seal.revoked_at.expect("revoked") > ahead + 1);
        let seal_key = store.key("key_s").await.expect("read").expect("key");
        assert!(seal_key.disabled_at.expect("disabled") > ahead + 1);
    }

    #[tokio::test]
    async fn a_key_signs_only_in_the_role_it_was_made_for() {
        let (_dir, store) = store().await;
        let now = now_ms();
        let ops = [
            // The seal's key as a general key, a general key as the seal, a seal it is not.
            sig("key_s", SignedAs::Key, "cli_a", now),
            sig("key_a", seal_a(), "cli_a", now),
            sig("key_s", SignedAs::Seal("seal_b".into()), "cli_a", now),
            sig("key_s", SignedAs::Tsa, "cli_a", now),
            Op::DisableKey {
                id: "key_s".into(),
                owner: "cli_a".into(),
                actor: client("cli_a"),
            },
            Op::RotateKey {
                old_id: "key_s".into(),
                new: general_key("key_n", "cli_a"),
                created: Event::new(client("cli_a"), Action::KeyCreated, "key:key_n"),
                actor: client("cli_a"),
            },
            sig("key_s", seal_a(), "cli_a", now),
        ];
        let results = apply_batch(&store, &ops, &[]).await.expect("batch");
        assert_eq!(
            codes(&results),
            [
                "not_found",
                "not_found",
                "not_found",
                "not_found",
                "not_found",
                "not_found",
                "ok"
            ]
        );
        assert!(store.key("key_n").await.expect("read").is_none());
    }

    #[tokio::test]
    async fn a_revoked_client_is_refused_as_actor_and_as_owner() {
        let (_dir, store) = store().await;
        let now = now_ms();
        let revoke = |name: &str| Op::RevokeClient {
            name: name.into(),
            actor: Actor::Operator("test".into()),
        };
        let ops = [
            // cli_b (an admin, say) signs with cli_a's seal until cli_b is revoked.
            sig("key_s", seal_a(), "cli_b", now),
            revoke("cli_b"),
            sig("key_s", seal_a(), "cli_b", now),
            Op::CreateKey(
                general_key("key_b", "cli_b"),
                Event::new(client("cli_b"), Action::KeyCreated, "key:key_b"),
            ),
            // cli_a still signs; once revoked, neither it nor an admin may use its seal.
            sig("key_s", seal_a(), "cli_a", now),
            revoke("cli_a"),
            sig("key_a", SignedAs::Key, "cli_a", now),
        ];
        let results = apply_batch(&store, &ops, &[]).await.expect("batch");
        assert_eq!(
            codes(&results),
            [
                "ok",
                "ok",
                "unauthorized",
                "unauthorized",
                "ok",
                "ok",
                "unauthorized"
            ]
        );
        // In a later batch too; an active admin (cli_c) gets the seal of a revoked owner refused.
        let ops = [
            sig("key_s", seal_a(), "cli_b", now),
            sig("key_s", seal_a(), "cli_c", now),
        ];
        let results = apply_batch(&store, &ops, &[]).await.expect("batch");
        assert_eq!(codes(&results), ["unauthorized", "key_disabled"]);
        let clients = store.clients().await.expect("clients");
        let revoked: Vec<i64> = clients.iter().filter_map(|c| c.revoked_at).collect();
        assert_eq!(revoked.len(), 2);
        assert!(revoked.iter().all(|&at| at > now));
    }
}
