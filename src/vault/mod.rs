//! The vault: the one service object behind the CLI and the HTTP API. It owns the store, the
//! master key, the ledger of audited changes and the caches of authenticated clients and
//! unwrapped keys, and it enforces who may use which key.
//!
//! This file holds the vault itself (opening, closing, the ledger hand-off) and the key-wrapping
//! helpers its parts share; each concern adds its methods in its own `impl Vault` submodule.

mod audit;
mod backup;
mod clients;
mod devices;
mod grants;
mod handsign;
mod idempotency;
mod import;
mod issuers;
mod keys;
mod ledger;
mod licence_files;
mod licence_pdf;
mod licence_use;
mod licence_verification;
mod licences;
mod ofd_stamping;
mod pki;
mod presentations;
mod provenance;
mod seals;
mod stamping;
mod status_lists;
mod timestamps;
mod trust;
mod uses;
mod verification;
mod wallet;
mod workers;

pub use audit::InclusionProof;
pub use backup::{BACKUP_FORMAT, BackupManifest, LogBehind, restore};
pub use clients::{
    AuthClient, DEFAULT_KEY_OVERLAP, DEFAULT_SCOPES, MAX_KEY_OVERLAP, RotatedApiKey, SCOPES,
};
pub use devices::{
    CHALLENGE_TTL_MS, Challenge, Device, DeviceAnswer, device_message, is_challenge,
};
pub use grants::{
    DEFAULT_GRANT_TTL_S, Grant, GrantStatus, IssuedGrant, MAX_GRANT_TTL_S, MAX_REASON_CHARS,
    NewGrant, USE_SCOPE,
};
pub use handsign::{
    Enrolment, OpenedSession, SIGN_SCOPE, SignPlacement, Signer, Unit as PlacementUnit,
};
pub use idempotency::{Idempotency, IdempotentRequest};
pub use import::{IMPORT_BATCH, ImportOutcome, ImportRow, Importer, Prepared};
pub use issuers::{IssuerInfo, NewIssuer, STATUS_LIST_SLOTS};
pub use keys::{KeyInfo, SignInput, Signed, VerifyKey};
pub use licence_pdf::LicencePdfSeal;
pub use licence_use::{
    Authority, FETCH_LINK_TTL_S, FetchLink, UseOperation, UseRequest, UseTarget, UseVerification,
};
pub use licence_verification::PublicLicence;
pub use licences::{
    LONG_TERM, Licence, LicenceHolder, LicenceRequest, LicenceStatus, LicenceUpdate, Respond,
    Transition, canonical, date_of, is_licence_scope, may_issue, valid_to_text,
};
pub use ofd_stamping::StampedOfd;
pub use pki::{Family, Role};
pub use presentations::{Checker, Presentation, PresentationCheck, Trust};
pub use seals::{HolderId, NewSeal, SealInfo, SealInput, SealKind, SealSigned};
pub use stamping::{Level, StampParams, StampRequest, Stamped};
pub use status_lists::{StatusToken, TOKEN_TTL_S};
pub use timestamps::TSA_POLICY;
pub use trust::TrustEntry;
pub use wallet::{HolderLicence, SESSION_TTL_MS, WalletSession};

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use ring::rand::{SecureRandom, SystemRandom};

use crate::audit::{Action, Actor, Event};
use crate::config::Config;
use crate::crypto::{KeyType, MasterKey, PrivateKey, sha256};
use crate::error::{Error, Result};
use crate::store::{KeyPurpose, KeyRow, Store};
use crate::verify::Verifier;
use keys::LoadedKey;
pub(crate) use ledger::now_ms;
use ledger::{Checkpointer, Ledger, Op, Outcome, apply_batch, checkpoint_now};

struct Inner {
    config: Config,
    store: Store,
    master: MasterKey,
    api_key_secret: ring::hmac::Key,
    checkpointer: Arc<Checkpointer>,
    rng: SystemRandom,
    keys: RwLock<HashMap<String, Arc<LoadedKey>>>,
    /// Authenticated API keys (by HMAC) and until when each may be trusted without the database.
    clients: RwLock<HashMap<Vec<u8>, (Instant, AuthClient)>>,
    authorities: pki::Authorities,
    trust: Arc<crate::pki::TrustStore>,
    verifier: RwLock<(Instant, Arc<Verifier>)>,
    seals: RwLock<HashMap<String, Arc<seals::LoadedSeal>>>,
    /// Runs document verifications, one per core: each may hold up to the OFD reader's memory
    /// budget (docs/threats.md §3.3), so a burst of hostile files queues instead of exhausting
    /// memory, on threads that yield the cores to the runtime answering requests.
    verifying: workers::Workers,
    /// The issuers' keys and their status list tokens, loaded and signed on first use.
    licensing: issuers::Caches,
    licence_types: crate::licence::Catalogue,
    /// The presentation keys' trust list and the codes known to verify.
    presenting: presentations::Presenting,
}

/// The vault (cheap to clone: all clones share one state).
#[derive(Clone)]
pub struct Vault {
    inner: Arc<Inner>,
    ledger: Option<Ledger>,
    /// Records checks of presentation tokens in batches (under `serve`).
    uses: Option<uses::Recorder>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("data_dir", &self.inner.config.data_dir)
            .finish_non_exhaustive()
    }
}

/// The running writer tasks of a serving vault: the ledger and the recorder of checks.
#[derive(Debug)]
pub struct Writer {
    ledger: tokio::sync::oneshot::Receiver<()>,
    uses: tokio::sync::oneshot::Receiver<()>,
}

impl Writer {
    /// Waits until the writers have drained their queues and the ledger signed a final
    /// checkpoint.
    pub async fn finish(self) {
        let _ = self.ledger.await;
        let _ = self.uses.await;
    }
}

/// Longest a readiness probe waits for the database, so that the probe never hangs.
pub const READY_TIMEOUT: Duration = Duration::from_secs(2);

fn key_aad(id: &str, owner: &str, key_type: &str) -> Vec<u8> {
    format!("sidian/v1/key\0{id}\0{owner}\0{key_type}").into_bytes()
}

fn key_type_of(row: &KeyRow) -> Result<KeyType> {
    row.key_type
        .parse()
        .map_err(|_| Error::Corrupt(format!("key {} has unknown type", row.id)))
}

impl Vault {
    /// Opens the vault in `config`, creating it (data dir, master key, database, audit key) when
    /// `create` is true and it does not exist yet.
    pub async fn open(config: Config, create: bool) -> Result<Self> {
        if create {
            config.ensure_data_dir()?;
        } else if !config.data_dir.is_dir() {
            return Err(Error::Config(format!(
                "data directory {} does not exist; run `sidian init` first",
                config.data_dir.display()
            )));
        }
        config.check_data_dir()?;
        // Before anything else: a bad type file stops the start, naming the file and the key.
        let licence_types = crate::licence::Catalogue::load(&config.licence_types_dir())?;
        let master = config.load_master_key(create)?;
        config.protect_database_file()?;
        let store = Store::connect(&config.database_url()).await?;
        let rng = SystemRandom::new();
        let check = hex::encode(&master.derive("sidian/v1/master-key-check")[..16]);

        let mut tx = store.begin().await?;
        let vault_id = match tx.meta("vault_id").await? {
            Some(id) => {
                if tx.meta("master_key_check").await?.as_deref() != Some(check.as_str()) {
                    return Err(Error::MasterKey(
                        "the master key does not match this database".into(),
                    ));
                }
                drop(tx);
                id
            }
            None if create => {
                let vault_id = random_id(&rng, "vault")?;
                tx.set_meta("vault_id", &vault_id).await?;
                tx.set_meta("master_key_check", &check).await?;
                let at = now_ms();
                tx.append(
                    Event::new(
                        Actor::Vault,
                        Action::VaultInitialized,
                        format!("vault:{vault_id}"),
                    ),
                    at,
                );
                let (row, event) = new_key_row(
                    &master,
                    &rng,
                    &config,
                    KeyType::Sm2,
                    "vault",
                    KeyPurpose::Audit,
                    Actor::Vault,
                )?;
                tx.insert_key(&row).await?;
                tx.append(event, at);
                tx.commit().await?;
                vault_id
            }
            None => {
                return Err(Error::Config(
                    "the database holds no vault; run `sidian init` first".into(),
                ));
            }
        };

        let audit_row = store
            .vault_key(KeyPurpose::Audit)
            .await?
            .ok_or_else(|| Error::Corrupt("the vault has no active audit key".into()))?;
        let audit_key = unwrap_key(&master, &audit_row)?;
        let pin = config.audit_key_file();
        if !pin.exists() {
            crate::config::write_private(&pin, audit_key.public_key().to_pem().as_bytes())?;
        }
        let checkpointer = Arc::new(Checkpointer {
            origin: format!("sidian/audit/{vault_id}"),
            key_id: audit_row.id.clone(),
            key: audit_key,
            file: config.checkpoint_file(),
        });
        if store.authorities().await?.is_empty() {
            // First start (or a vault made before seals existed): make the CA hierarchy.
            let plan = pki::plan_authorities(&master, &rng, &config, &vault_id)?;
            for r in apply_batch(&store, &[Op::Issue(Box::new(plan))], &[]).await? {
                r?;
            }
        }
        let mut authorities = pki::load_authorities(&store, &master).await?;
        if let Some(plan) = pki::plan_missing(&authorities, &master, &rng, &config, &vault_id)? {
            // A vault made by an earlier version: add what it lacks (the TSAs).
            for r in apply_batch(&store, &[Op::Issue(Box::new(plan))], &[]).await? {
                r?;
            }
            authorities = pki::load_authorities(&store, &master).await?;
        }
        let trust = Arc::new(pki::trust_store(&authorities, &config)?);
        let verifier = pki::verifier(&store, &authorities, &trust).await?;
        let api_key_secret = ring::hmac::Key::new(
            ring::hmac::HMAC_SHA256,
            &master.derive("sidian/v1/api-key-hmac")[..],
        );
        let vault = Vault {
            inner: Arc::new(Inner {
                config,
                store,
                master,
                api_key_secret,
                checkpointer,
                rng,
                keys: RwLock::default(),
                clients: RwLock::default(),
                authorities,
                trust,
                verifier: RwLock::new((Instant::now(), Arc::new(verifier))),
                seals: RwLock::default(),
                verifying: workers::Workers::start(
                    std::thread::available_parallelism().map_or(2, |n| n.get()),
                )?,
                licensing: issuers::Caches::default(),
                licence_types,
                presenting: presentations::Presenting::default(),
            }),
            ledger: None,
            uses: None,
        };
        // Whatever was appended before (this run's initialisation, a crash) gets covered.
        checkpoint_now(
            &vault.inner.store,
            &vault.inner.checkpointer,
            &mut Vec::new(),
        )
        .await;
        Ok(vault)
    }

    /// Starts the batching writers: from now on audited changes, and checks of presentation
    /// tokens, are group-committed. Call it inside a Tokio runtime.
    pub fn start_writer(&mut self) -> Result<Writer> {
        let (ledger, done) =
            Ledger::start(self.inner.store.clone(), self.inner.checkpointer.clone())?;
        let (recorder, recorded) = uses::Recorder::start(self.inner.store.clone());
        self.ledger = Some(ledger);
        self.uses = Some(recorder);
        Ok(Writer {
            ledger: done,
            uses: recorded,
        })
    }

    /// Stops a serving vault: lets the writer drain its queue and sign a final checkpoint, then
    /// closes the database. Every other clone (the router's) must be gone, or this waits for them.
    pub async fn shutdown(mut self, writer: Writer) {
        self.ledger = None;
        self.uses = None;
        let store = self.inner.store.clone();
        drop(self);
        writer.finish().await;
        store.close().await;
    }

    /// Closes the database pool.
    pub async fn close(self) {
        let store = self.inner.store.clone();
        drop(self);
        store.close().await;
    }

    /// Readiness: the database answers a trivial query within [`READY_TIMEOUT`] and the audit
    /// writer (when started) still runs. The vault's own keys (authorities, audit key) need no
    /// check: [`Vault::open`] fails without them.
    pub async fn ready(&self) -> Result<()> {
        if self.ledger.as_ref().is_some_and(|l| !l.is_running()) {
            return Err(Error::NotReady("the audit writer has stopped"));
        }
        match tokio::time::timeout(READY_TIMEOUT, self.inner.store.ping()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "readiness: the database does not answer");
                Err(Error::NotReady("the database does not answer"))
            }
            Err(_) => Err(Error::NotReady("the database does not answer")),
        }
    }

    /// The configuration the vault was opened with.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The catalogue of licence types, loaded at open.
    pub fn licence_types(&self) -> &crate::licence::Catalogue {
        &self.inner.licence_types
    }

    async fn apply(&self, op: Op) -> Result<Outcome> {
        match &self.ledger {
            Some(ledger) => ledger.submit(op).await,
            None => {
                let request_id = [crate::request_id::current()];
                let mut results =
                    apply_batch(&self.inner.store, std::slice::from_ref(&op), &request_id).await?;
                let result = results.pop().ok_or(Error::Unavailable)?;
                checkpoint_now(&self.inner.store, &self.inner.checkpointer, &mut Vec::new()).await;
                result
            }
        }
    }
}

impl Vault {
    /// Has a checkpoint cover what was committed outside the ledger (an import), now or, under
    /// `serve`, with the writer's next one; a failure is logged and retried by later ones.
    pub(crate) async fn checkpoint_soon(&self) {
        match &self.ledger {
            Some(ledger) => {
                if let Err(e) = ledger.checkpoint().await {
                    tracing::warn!(error = %e, "checkpoint after an import failed");
                }
            }
            None => {
                checkpoint_now(&self.inner.store, &self.inner.checkpointer, &mut Vec::new()).await;
            }
        }
    }
}

fn random_id(rng: &SystemRandom, prefix: &str) -> Result<String> {
    let mut b = [0u8; 16];
    rng.fill(&mut b)
        .map_err(|_| Error::Crypto(crate::crypto::CryptoError::Random))?;
    Ok(format!("{prefix}_{}", hex::encode(b)))
}

fn unwrap_key(master: &MasterKey, row: &KeyRow) -> Result<PrivateKey> {
    let key_type = key_type_of(row)?;
    let pkcs8 = master.unwrap(
        &row.wrapped_private,
        &key_aad(&row.id, &row.owner, &row.key_type),
    )?;
    Ok(PrivateKey::from_pkcs8_der(key_type, &pkcs8)?)
}

fn new_key_row(
    master: &MasterKey,
    rng: &SystemRandom,
    config: &Config,
    key_type: KeyType,
    owner: &str,
    purpose: KeyPurpose,
    actor: Actor,
) -> Result<(KeyRow, Event)> {
    let key = PrivateKey::generate(key_type)?;
    let id = random_id(rng, "key")?;
    let public = key.public_key();
    let wrapped = master.wrap(
        config.wrap_alg,
        &key.to_pkcs8_der(),
        &key_aad(&id, owner, key_type.as_str()),
    )?;
    let event = Event::new(actor, Action::KeyCreated, format!("key:{id}"))
        .with("alg", key_type.as_str())
        .with("purpose", purpose.as_str())
        .with("spki_sha256", hex::encode(sha256(public.spki_der())));
    let row = KeyRow {
        id,
        owner: owner.to_owned(),
        purpose,
        key_type: key_type.as_str().to_owned(),
        status: "active".into(),
        public_key: public.spki_der().to_vec(),
        wrapped_private: wrapped,
        created_at: now_ms(),
        disabled_at: None,
    };
    Ok((row, event))
}
