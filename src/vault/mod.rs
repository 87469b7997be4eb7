//! The vault: the one service object behind the CLI and the HTTP API. It owns the store, the
//! master key, the ledger of audited changes and the caches of authenticated clients and
//! unwrapped keys, and it enforces who may use which key.

mod backup;
mod idempotency;
mod issuers;
mod ledger;
mod licences;
mod ofd_stamping;
mod pki;
mod provenance;
mod seals;
mod stamping;
mod status_lists;
mod timestamps;
mod workers;

pub use backup::{BACKUP_FORMAT, BackupManifest, LogBehind, restore};
pub use idempotency::{Idempotency, IdempotentRequest};
pub use issuers::{IssuerInfo, NewIssuer, STATUS_LIST_SLOTS};
pub use licences::{
    LONG_TERM, Licence, LicenceHolder, LicenceRequest, LicenceStatus, LicenceUpdate, Transition,
    canonical, date_of, is_licence_scope, may_issue, valid_to_text,
};
pub use ofd_stamping::StampedOfd;
pub use pki::{Family, Role};
pub use seals::{HolderId, NewSeal, SealInfo, SealInput, SealKind, SealSigned};
pub use stamping::{Level, StampParams, StampRequest, Stamped};
pub use status_lists::{StatusToken, TOKEN_TTL_S};
pub use timestamps::TSA_POLICY;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64URL};
use ring::rand::{SecureRandom, SystemRandom};

use crate::audit::{
    Action, Actor, Checkpoint, Event, Hash, LogVerifier, StoredEntry, VerifySummary,
    consistency_proof, consistency_proof_nodes, inclusion_proof, inclusion_proof_nodes,
};
use crate::config::Config;
use crate::crypto::{KeyType, MasterKey, PrivateKey, PublicKey, SignatureAlgorithm, sha256};
use crate::error::{Error, Result};
use crate::store::{ClientRow, KeyPurpose, KeyRow, Store};
use crate::verify::{Format, Report, Verifier};
use ledger::{
    Checkpointer, Ledger, Op, Outcome, RotatingClient, SignedAs, apply_batch, checkpoint_now,
    now_ms,
};

/// Every scope a client may hold (`admin` implies all the others).
pub const SCOPES: &[&str] = &["admin", "audit", "keys", "seals", "sign", "verify"];

/// Scopes a client registered without `--scope` holds.
pub const DEFAULT_SCOPES: &[&str] = &["keys", "sign", "verify", "seals"];

/// How long a client's old API key stays valid after a rotation unless told otherwise.
pub const DEFAULT_KEY_OVERLAP: Duration = Duration::from_secs(24 * 3600);

/// The longest overlap a rotation may give the old API key.
pub const MAX_KEY_OVERLAP: Duration = Duration::from_secs(7 * 24 * 3600);

/// A client's new API key after a rotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotatedApiKey {
    /// The client.
    pub client_id: String,
    /// The new API key (shown once; stored as an HMAC).
    pub api_key: String,
    /// When the old key stops being accepted (ms since the Unix epoch).
    pub old_key_expires_at: i64,
}

/// An authenticated approval system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthClient {
    /// Client id.
    pub id: String,
    /// Client name.
    pub name: String,
    /// Explicit scopes (empty = [`DEFAULT_SCOPES`]).
    pub scopes: Vec<String>,
}

impl AuthClient {
    /// Whether this client may use routes that need `scope` (`admin` may use all).
    pub fn allows(&self, scope: &str) -> bool {
        if self.scopes.is_empty() {
            return DEFAULT_SCOPES.contains(&scope);
        }
        self.scopes.iter().any(|s| s == scope || s == "admin")
    }

    /// Fails with `Forbidden` unless the client holds `scope`.
    pub fn require(&self, scope: &str) -> Result<()> {
        if self.allows(scope) {
            Ok(())
        } else {
            Err(Error::Forbidden(scope.to_owned()))
        }
    }

    /// An operator at the CLI, acting with every scope on every client's objects; the audit log
    /// names the operator, not a client.
    pub fn operator(user: &str) -> AuthClient {
        AuthClient {
            id: String::new(),
            name: user.to_owned(),
            scopes: vec!["admin".to_owned()],
        }
    }

    fn actor(&self) -> Actor {
        // Client ids are never empty: only `operator` makes one without an id.
        if self.id.is_empty() {
            Actor::Operator(self.name.clone())
        } else {
            Actor::Client(self.id.clone())
        }
    }
}

/// A key as shown to its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    /// Key id.
    pub id: String,
    /// Key type.
    pub key_type: KeyType,
    /// `active` or `disabled`.
    pub status: String,
    /// SubjectPublicKeyInfo as PEM.
    pub public_key_pem: String,
    /// Creation time (ms).
    pub created_at: i64,
}

/// What to sign: the message, or its digest where the algorithm allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInput {
    /// The message itself.
    Data(Vec<u8>),
    /// The digest the algorithm would compute (SM2: e = SM3(Z_A ‖ M); others: SHA-256(M)).
    Digest(Vec<u8>),
}

/// A signature and the audit entry that records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// The signature (DER for SM2/ECDSA, raw for Ed25519/RSA).
    pub signature: Vec<u8>,
    /// The key's type.
    pub key_type: KeyType,
    /// The signature algorithm used.
    pub alg: SignatureAlgorithm,
    /// Index of the audit entry.
    pub audit_index: u64,
}

/// Which public key a verification uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyKey {
    /// A PEM SubjectPublicKeyInfo supplied by the caller.
    Pem(String),
    /// One of the caller's own keys.
    KeyId(String),
}

/// An audit entry with its inclusion proof against a signed checkpoint.
#[derive(Debug, Clone)]
pub struct InclusionProof {
    /// The entry.
    pub entry: StoredEntry,
    /// Sibling hashes, leaf to root (RFC 6962 audit path).
    pub audit_path: Vec<Hash>,
    /// The checkpoint the path leads to.
    pub checkpoint: Checkpoint,
}

struct LoadedKey {
    owner: String,
    key: PrivateKey,
}

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
}

/// The vault (cheap to clone: all clones share one state).
#[derive(Clone)]
pub struct Vault {
    inner: Arc<Inner>,
    ledger: Option<Ledger>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("data_dir", &self.inner.config.data_dir)
            .finish_non_exhaustive()
    }
}

/// The running writer task of a serving vault.
#[derive(Debug)]
pub struct Writer(tokio::sync::oneshot::Receiver<()>);

impl Writer {
    /// Waits until the writer has drained its queue and signed a final checkpoint.
    pub async fn finish(self) {
        let _ = self.0.await;
    }
}

/// Longest a readiness probe waits for the database, so that the probe never hangs.
pub const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// How long an authenticated API key is trusted without asking the database again.
const CLIENT_CACHE_TTL: Duration = Duration::from_secs(2);
const CLIENT_CACHE_MAX: usize = 10_000;

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
            }),
            ledger: None,
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

    /// Starts the batching writer: from now on audited changes are group-committed.
    pub fn start_writer(&mut self) -> Result<Writer> {
        let (ledger, done) =
            Ledger::start(self.inner.store.clone(), self.inner.checkpointer.clone())?;
        self.ledger = Some(ledger);
        Ok(Writer(done))
    }

    /// Stops a serving vault: lets the writer drain its queue and sign a final checkpoint, then
    /// closes the database. Every other clone (the router's) must be gone, or this waits for them.
    pub async fn shutdown(mut self, writer: Writer) {
        self.ledger = None;
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

    // ---- clients ----

    /// Registers an approval system; returns it and its API key (shown once, stored as an HMAC).
    pub async fn add_client(
        &self,
        name: &str,
        scopes: &[String],
        actor: Actor,
    ) -> Result<(ClientRow, String)> {
        validate_name(name)?;
        if let Some(s) = scopes
            .iter()
            .find(|s| !SCOPES.contains(&s.as_str()) && !is_licence_scope(s))
        {
            return Err(Error::InvalidRequest(format!(
                "unknown scope `{s}` (valid: {}, licence:issue, licence:issue:<type code>)",
                SCOPES.join(", ")
            )));
        }
        let api_key = self.new_api_key()?;
        let row = ClientRow {
            id: random_id(&self.inner.rng, "cli")?,
            name: name.to_owned(),
            key_hmac: self.api_key_hmac(&api_key),
            scopes: scopes.join(" "),
            status: "active".into(),
            created_at: now_ms(),
            revoked_at: None,
        };
        self.apply(Op::RegisterClient(row.clone(), actor)).await?;
        Ok((row, api_key))
    }

    /// Revokes an approval system's credential.
    pub async fn revoke_client(&self, name: &str, actor: Actor) -> Result<()> {
        self.apply(Op::RevokeClient {
            name: name.to_owned(),
            actor,
        })
        .await?;
        self.inner
            .clients
            .write()
            .map_err(|_| Error::Unavailable)?
            .clear();
        Ok(())
    }

    /// Replaces the API key of the active client of this name (an operator's rotation); the old
    /// key stays valid for `overlap` (at most [`MAX_KEY_OVERLAP`]).
    pub async fn rotate_client_key(
        &self,
        name: &str,
        overlap: Duration,
        actor: Actor,
    ) -> Result<RotatedApiKey> {
        self.rotate_api_key(RotatingClient::Named(name.to_owned()), overlap, actor)
            .await
    }

    /// Replaces the API key presented by a client with a new one (self-service); only the
    /// client's current key may do so, not one already rotated out.
    pub async fn rotate_own_api_key(
        &self,
        api_key: &str,
        overlap: Duration,
    ) -> Result<RotatedApiKey> {
        let client = self.authenticate(api_key).await?;
        let presenting = RotatingClient::Presenting {
            id: client.id.clone(),
            hmac: self.api_key_hmac(api_key),
        };
        self.rotate_api_key(presenting, overlap, client.actor())
            .await
    }

    async fn rotate_api_key(
        &self,
        client: RotatingClient,
        overlap: Duration,
        actor: Actor,
    ) -> Result<RotatedApiKey> {
        if overlap > MAX_KEY_OVERLAP {
            return Err(Error::InvalidRequest(format!(
                "the overlap may be at most {} s",
                MAX_KEY_OVERLAP.as_secs()
            )));
        }
        let api_key = self.new_api_key()?;
        let overlap_ms = i64::try_from(overlap.as_millis()).unwrap_or(i64::MAX);
        let old_key_expires_at = now_ms().saturating_add(overlap_ms);
        let new_hmac = self.api_key_hmac(&api_key);
        self.apply(Op::RotateClientKey {
            client,
            new_hmac: new_hmac.clone(),
            old_expires_at: old_key_expires_at,
            actor,
        })
        .await?;
        // This node forgets the old key at once; other nodes within CLIENT_CACHE_TTL.
        self.inner
            .clients
            .write()
            .map_err(|_| Error::Unavailable)?
            .clear();
        let client = self
            .inner
            .store
            .client_by_hmac(&new_hmac)
            .await?
            .ok_or_else(|| Error::Corrupt("a rotated API key is not stored".into()))?;
        Ok(RotatedApiKey {
            client_id: client.id,
            api_key,
            old_key_expires_at,
        })
    }

    /// All registered clients.
    pub async fn clients(&self) -> Result<Vec<ClientRow>> {
        self.inner.store.clients().await
    }

    /// A fresh random API key.
    fn new_api_key(&self) -> Result<String> {
        let mut secret = [0u8; 32];
        self.inner
            .rng
            .fill(&mut secret)
            .map_err(|_| Error::Crypto(crate::crypto::CryptoError::Random))?;
        Ok(format!("sdk_{}", B64URL.encode(secret)))
    }

    fn api_key_hmac(&self, api_key: &str) -> Vec<u8> {
        ring::hmac::sign(&self.inner.api_key_secret, api_key.as_bytes())
            .as_ref()
            .to_vec()
    }

    /// Finds the active client an API key belongs to.
    pub async fn authenticate(&self, api_key: &str) -> Result<AuthClient> {
        if api_key.len() > 128 {
            return Err(Error::Unauthorized);
        }
        let mac = self.api_key_hmac(api_key);
        if let Some((until, client)) = self
            .inner
            .clients
            .read()
            .map_err(|_| Error::Unavailable)?
            .get(&mac)
            && Instant::now() < *until
        {
            return Ok(client.clone());
        }
        let store = &self.inner.store;
        let mut trust_for = CLIENT_CACHE_TTL;
        let row = match store.client_by_hmac(&mac).await? {
            Some(row) => row,
            None => {
                let (row, expires_at) = store
                    .client_by_retired_hmac(&mac)
                    .await?
                    .ok_or(Error::Unauthorized)?;
                let left = retired_key_left(expires_at, now_ms()).ok_or(Error::Unauthorized)?;
                trust_for = trust_for.min(left);
                row
            }
        };
        if row.status != "active" {
            return Err(Error::Unauthorized);
        }
        let client = AuthClient {
            id: row.id,
            name: row.name,
            scopes: row.scopes.split_whitespace().map(str::to_owned).collect(),
        };
        let mut cache = self.inner.clients.write().map_err(|_| Error::Unavailable)?;
        if cache.len() >= CLIENT_CACHE_MAX {
            cache.clear();
        }
        cache.insert(mac, (Instant::now() + trust_for, client.clone()));
        Ok(client)
    }

    // ---- keys ----

    /// Generates a key for a client.
    pub async fn create_key(&self, client: &AuthClient, key_type: KeyType) -> Result<KeyInfo> {
        let (row, event) = self.generate_row(client, key_type).await?;
        self.apply(Op::CreateKey(row.clone(), event)).await?;
        key_info(&row)
    }

    /// One of the client's general keys. Any other key (a seal's holder key, the vault's own)
    /// answers 404 as if absent, like another client's key: `/v1/keys` reveals nothing about
    /// keys it cannot use, and a seal's key signs only as its seal, with the time the seal routes
    /// set themselves.
    async fn own_key_row(&self, client: &AuthClient, id: &str) -> Result<KeyRow> {
        match self.inner.store.key(id).await? {
            Some(row) if row.owner == client.id && row.purpose == KeyPurpose::General => Ok(row),
            _ => Err(Error::NotFound("key")),
        }
    }

    /// Up to `limit` of the client's general keys in creation order, after the
    /// `(created_at, id)` position `after`.
    pub async fn keys(
        &self,
        client: &AuthClient,
        after: Option<(i64, &str)>,
        limit: u32,
    ) -> Result<Vec<KeyInfo>> {
        let rows = self
            .inner
            .store
            .keys_page(&client.id, KeyPurpose::General, after, limit)
            .await?;
        rows.iter().map(key_info).collect()
    }

    /// One of the client's keys.
    pub async fn key(&self, client: &AuthClient, id: &str) -> Result<KeyInfo> {
        key_info(&self.own_key_row(client, id).await?)
    }

    /// Disables one of the client's keys (idempotent); it verifies but never signs again.
    pub async fn disable_key(&self, client: &AuthClient, id: &str) -> Result<KeyInfo> {
        self.apply(Op::DisableKey {
            id: id.to_owned(),
            owner: client.id.clone(),
            actor: client.actor(),
        })
        .await?;
        self.inner
            .keys
            .write()
            .map_err(|_| Error::Unavailable)?
            .remove(id);
        self.key(client, id).await
    }

    /// Replaces one of the client's active keys with a new key of the same type; the old key is
    /// disabled (it still verifies) in the same transaction.
    pub async fn rotate_key(&self, client: &AuthClient, id: &str) -> Result<KeyInfo> {
        let old = self.own_key_row(client, id).await?;
        if old.status != "active" {
            return Err(Error::KeyDisabled);
        }
        let key_type = key_type_of(&old)?;
        let (new, created) = self.generate_row(client, key_type).await?;
        self.apply(Op::RotateKey {
            old_id: old.id,
            new: new.clone(),
            created,
            actor: client.actor(),
        })
        .await?;
        self.inner
            .keys
            .write()
            .map_err(|_| Error::Unavailable)?
            .remove(id);
        key_info(&new)
    }

    async fn generate_row(
        &self,
        client: &AuthClient,
        key_type: KeyType,
    ) -> Result<(KeyRow, Event)> {
        let inner = self.inner.clone();
        let owner = client.id.clone();
        let actor = client.actor();
        // RSA generation takes tens of milliseconds: keep it off the async workers.
        tokio::task::spawn_blocking(move || {
            new_key_row(
                &inner.master,
                &inner.rng,
                &inner.config,
                key_type,
                &owner,
                KeyPurpose::General,
                actor,
            )
        })
        .await
        .map_err(|_| Error::Unavailable)?
    }

    async fn loaded_key(&self, client: &AuthClient, id: &str) -> Result<Arc<LoadedKey>> {
        let cached = self
            .inner
            .keys
            .read()
            .map_err(|_| Error::Unavailable)?
            .get(id)
            .cloned();
        let loaded = match cached {
            Some(k) => k,
            None => {
                let row = self.own_key_row(client, id).await?;
                if row.status != "active" {
                    return Err(Error::KeyDisabled);
                }
                let loaded = Arc::new(LoadedKey {
                    owner: row.owner.clone(),
                    key: unwrap_key(&self.inner.master, &row)?,
                });
                self.inner
                    .keys
                    .write()
                    .map_err(|_| Error::Unavailable)?
                    .insert(row.id, loaded.clone());
                loaded
            }
        };
        if loaded.owner != client.id {
            return Err(Error::NotFound("key"));
        }
        Ok(loaded)
    }

    /// Signs with one of the client's keys and records the signature in the audit log.
    ///
    /// The signature is released only after its audit entry has committed, and the commit
    /// re-checks under the log lock that the key and its client are still active.
    pub async fn sign(
        &self,
        client: &AuthClient,
        key_id: &str,
        alg: Option<SignatureAlgorithm>,
        input: &SignInput,
    ) -> Result<Signed> {
        let loaded = self.loaded_key(client, key_id).await?;
        let key_type = loaded.key.key_type();
        let alg = alg.unwrap_or_else(|| key_type.default_signature_algorithm());
        let signed_at = now_ms();
        let (signature, commitment) = match input {
            SignInput::Data(data) => (
                loaded.key.sign(alg, data)?,
                ("data_sha256", hex::encode(sha256(data))),
            ),
            SignInput::Digest(d) => (loaded.key.sign_digest(alg, d)?, ("digest", hex::encode(d))),
        };
        let event = Event::new(
            client.actor(),
            Action::SignatureCreated,
            format!("key:{key_id}"),
        )
        .with("alg", alg.as_str())
        .with(commitment.0, commitment.1)
        .with_signature(&signature);
        let index = self
            .apply(Op::RecordSignature {
                key_id: key_id.to_owned(),
                owner: client.id.clone(),
                signed_as: SignedAs::Key,
                signed_at,
                event,
            })
            .await;
        let audit_index = match index {
            Ok(Some(i)) => i,
            Ok(None) => return Err(Error::Unavailable),
            Err(e) => {
                if matches!(e, Error::KeyDisabled | Error::NotFound(_)) {
                    self.inner
                        .keys
                        .write()
                        .map_err(|_| Error::Unavailable)?
                        .remove(key_id);
                }
                return Err(e);
            }
        };
        crate::metrics::signature(key_type.as_str());
        Ok(Signed {
            signature,
            key_type,
            alg,
            audit_index,
        })
    }

    /// Verifies a signature; `alg` may name a key type (its default scheme) or a scheme (default: the key's).
    pub async fn verify(
        &self,
        client: &AuthClient,
        key: &VerifyKey,
        alg: Option<&str>,
        data: &[u8],
        signature: &[u8],
    ) -> Result<bool> {
        let public = match key {
            VerifyKey::Pem(pem) => PublicKey::from_pem(pem)?,
            VerifyKey::KeyId(id) => {
                PublicKey::from_spki_der(&self.own_key_row(client, id).await?.public_key)?
            }
        };
        let alg = match alg {
            Some(name) => parse_alg(name, public.key_type())?,
            None => public.key_type().default_signature_algorithm(),
        };
        match public.verify(alg, data, signature) {
            Ok(()) => Ok(true),
            Err(crate::crypto::CryptoError::InvalidSignature) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    // ---- audit ----

    /// The newest signed checkpoint, and the audit public key that signed it.
    pub async fn latest_checkpoint(&self) -> Result<(Checkpoint, PublicKey)> {
        let cp = match self.inner.store.latest_checkpoint().await? {
            Some(cp) => cp,
            None => self.checkpoint().await?,
        };
        Ok((cp, self.inner.checkpointer.key.public_key()))
    }

    /// Signs a checkpoint covering every entry committed so far (or returns the one that does).
    pub async fn checkpoint(&self) -> Result<Checkpoint> {
        match &self.ledger {
            Some(l) => l.checkpoint().await,
            None => checkpoint_now(&self.inner.store, &self.inner.checkpointer, &mut Vec::new())
                .await
                .ok_or(Error::Unavailable),
        }
    }

    /// An audit entry and its inclusion proof; clients see their own entries unless they hold `audit`.
    pub async fn inclusion_proof(&self, client: &AuthClient, index: u64) -> Result<InclusionProof> {
        let store = &self.inner.store;
        let entry = store
            .entry(index)
            .await?
            .ok_or(Error::NotFound("audit entry"))?;
        if !client.allows("audit") && entry.actor != client.actor().to_string() {
            return Err(Error::NotFound("audit entry"));
        }
        let mut checkpoint = self.latest_checkpoint().await?.0;
        if checkpoint.size <= index {
            checkpoint = self.checkpoint().await?;
        }
        let nodes = store
            .nodes(&inclusion_proof_nodes(index, checkpoint.size))
            .await?;
        let audit_path = inclusion_proof(index, checkpoint.size, |id| nodes.get(&id).copied())
            .ok_or_else(|| Error::Corrupt("audit tree nodes are missing".into()))?;
        Ok(InclusionProof {
            entry,
            audit_path,
            checkpoint,
        })
    }

    /// An RFC 6962 consistency proof from the log's first `from` entries to its first `to`
    /// (`from ≤ to ≤` the log's size; empty when `from` is 0 or equals `to`).
    pub async fn consistency_proof(&self, from: u64, to: u64) -> Result<Vec<Hash>> {
        if from > to {
            return Err(Error::InvalidRequest("`from` exceeds `to`".into()));
        }
        let store = &self.inner.store;
        if to > store.head().await?.size() {
            return Err(Error::NotFound("log size"));
        }
        let nodes = store.nodes(&consistency_proof_nodes(from, to)).await?;
        consistency_proof(from, to, |id| nodes.get(&id).copied())
            .ok_or_else(|| Error::Corrupt("audit tree nodes are missing".into()))
    }

    /// The audit public key pinned outside the database (the vault's own when no pin is found).
    pub fn audit_public_key(&self) -> Result<PublicKey> {
        match std::fs::read_to_string(self.inner.config.audit_key_file()) {
            Ok(pem) => Ok(PublicKey::from_pem(&pem)?),
            Err(_) => Ok(self.inner.checkpointer.key.public_key()),
        }
    }

    /// Replays the whole log against the signed checkpoints (in the database and outside it).
    pub async fn verify_audit_log(&self) -> Result<VerifySummary> {
        self.verify_audit_log_against(None).await
    }

    /// Replays the whole log against the signed checkpoints and, when given, a checkpoint saved
    /// away from the data directory (the text of a signed note or of the JSON body of
    /// `GET /v1/audit/checkpoint`): the log must then extend that checkpoint, which is what
    /// catches a truncation that also removed the later checkpoints here.
    pub async fn verify_audit_log_against(&self, saved: Option<&str>) -> Result<VerifySummary> {
        let config = &self.inner.config;
        let pinned = self.audit_public_key()?;
        let saved_broken = |reason: String| Error::AuditBroken { index: 0, reason };
        let saved = saved
            .map(|text| {
                let cp = Checkpoint::from_saved(text, &pinned)
                    .map_err(|e| saved_broken(format!("the saved checkpoint: {e}")))?;
                match cp.origin() {
                    Some(o) if o == self.inner.checkpointer.origin => Ok(cp),
                    o => Err(saved_broken(format!(
                        "the saved checkpoint is of another log ({})",
                        o.unwrap_or("no origin")
                    ))),
                }
            })
            .transpose()?;
        // Checkpoints first, then the head: a writer running meanwhile only ever adds.
        let mut checkpoints = self.inner.store.checkpoints().await?;
        match std::fs::read_to_string(config.checkpoint_file()) {
            Ok(text) => {
                for (n, line) in text
                    .lines()
                    .enumerate()
                    .filter(|(_, l)| !l.trim().is_empty())
                {
                    let cp: Checkpoint =
                        serde_json::from_str(line).map_err(|_| Error::AuditBroken {
                            index: 0,
                            reason: format!(
                                "line {} of {} is not a checkpoint",
                                n + 1,
                                config.checkpoint_file().display()
                            ),
                        })?;
                    checkpoints.push(cp);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
        checkpoints.extend(saved);
        let mut verifier = LogVerifier::new(&checkpoints, &pinned)?;
        let head = self.inner.store.head().await?;
        let mut next = 0u64;
        while next < head.size() {
            let page = self.inner.store.entries(next, 5000).await?;
            if page.is_empty() {
                break;
            }
            for e in page.iter().take_while(|e| e.index < head.size()) {
                verifier.feed(e)?;
                next = e.index + 1;
            }
            if page.last().is_some_and(|e| e.index >= head.size()) {
                break;
            }
        }
        verifier.finish(&head)
    }
}

/// How long the revocation state used by verification may lag behind the database (another
/// process may have revoked something; this process's own revocations apply at once).
const VERIFIER_TTL: Duration = Duration::from_secs(2);

/// One entry of the trust list.
#[derive(Debug, Clone)]
pub struct TrustEntry {
    /// Authority name, e.g. `sm2-root` (the `{ca}` of the CRL route).
    pub name: String,
    /// `sm2` or `p256`.
    pub family: Family,
    /// `root` or `issuing`.
    pub role: Role,
    /// The certificate.
    pub cert: crate::pki::Certificate,
}

impl Vault {
    /// The verifier with the current trust anchors and revocation state.
    pub async fn verifier(&self) -> Result<Arc<Verifier>> {
        {
            let cached = self.inner.verifier.read().map_err(|_| Error::Unavailable)?;
            if cached.0.elapsed() < VERIFIER_TTL {
                return Ok(cached.1.clone());
            }
        }
        self.refresh_verifier().await
    }

    async fn refresh_verifier(&self) -> Result<Arc<Verifier>> {
        let fresh = Arc::new(
            pki::verifier(
                &self.inner.store,
                &self.inner.authorities,
                &self.inner.trust,
            )
            .await?,
        );
        *self
            .inner
            .verifier
            .write()
            .map_err(|_| Error::Unavailable)? = (Instant::now(), fresh.clone());
        Ok(fresh)
    }

    /// Runs one job on untrusted input (a verification, or laying out a PDF to seal) on the
    /// low-priority workers, at most one per core at once, with the current trust anchors and
    /// revocation state.
    async fn verifying<T: Send + 'static>(
        &self,
        job: impl FnOnce(&Verifier, time::OffsetDateTime) -> T + Send + 'static,
    ) -> Result<T> {
        self.verifying_at(None, job).await
    }

    /// [`Vault::verifying`] as of `at` (`None`: now), with the revocations known then.
    async fn verifying_at<T: Send + 'static>(
        &self,
        at: Option<time::OffsetDateTime>,
        job: impl FnOnce(&Verifier, time::OffsetDateTime) -> T + Send + 'static,
    ) -> Result<T> {
        let verifier = match at {
            Some(t) => Arc::new(self.verifier().await?.as_of(t)),
            None => self.verifier().await?,
        };
        let now = at.unwrap_or_else(time::OffsetDateTime::now_utc);
        self.inner.verifying.run(move || job(&verifier, now)).await
    }

    /// Verifies a document (OFD, PDF, SES structure; format given or sniffed) at the current
    /// time, with this vault's audit-log finding for its own signers' signatures.
    pub async fn verify_document(&self, bytes: Vec<u8>, format: Option<Format>) -> Result<Report> {
        self.verify_document_at(bytes, format, None).await
    }

    /// [`Vault::verify_document`] as of the validation time `at` (`None`: now): the future-time
    /// checks, a seal's own validity and the revocations known are judged at `at`.
    pub async fn verify_document_at(
        &self,
        bytes: Vec<u8>,
        format: Option<Format>,
        at: Option<time::OffsetDateTime>,
    ) -> Result<Report> {
        let mut report = self
            .verifying_at(at, move |v, now| v.verify_document(&bytes, format, now))
            .await?;
        self.add_audit_findings(&mut report).await?;
        Ok(report)
    }

    /// Verifies a detached SES_Signature (or a SESeal on its own) as of `at` (`None`: now),
    /// against its original when given (without it INDETERMINATE at best).
    pub async fn verify_ses(
        &self,
        signature: Vec<u8>,
        data: Option<Vec<u8>>,
        at: Option<time::OffsetDateTime>,
    ) -> Result<Report> {
        let mut report = self
            .verifying_at(at, move |v, now| {
                let original = match &data {
                    Some(d) => crate::verify::Original::Data(d),
                    None => crate::verify::Original::Absent,
                };
                v.verify_ses(&signature, original, now)
            })
            .await?;
        self.add_audit_findings(&mut report).await?;
        Ok(report)
    }

    /// The vault's roots and issuing CAs.
    pub fn trust_list(&self) -> Vec<TrustEntry> {
        self.inner
            .authorities
            .iter()
            .filter(|a| matches!(a.role, Role::Root | Role::Issuing))
            .map(|a| TrustEntry {
                name: a.name.clone(),
                family: a.family,
                role: a.role,
                cert: a.cert.clone(),
            })
            .collect()
    }

    /// PEM for `openssl verify -CAfile`: the roots, then (unless `roots_only`) the issuing CAs,
    /// SM2 ones re-signed over the same TBS with the empty ID OpenSSL 3.0 expects of CA
    /// certificates ([`crate::pki::sm2_empty_id_rendering`]).
    pub fn trust_export(&self, roots_only: bool) -> Result<String> {
        let mut pem = String::new();
        let authorities = &self.inner.authorities;
        for a in authorities.iter().filter(|a| a.role == Role::Root) {
            pem.push_str(&a.cert.to_pem());
        }
        if !roots_only {
            for a in authorities.iter().filter(|a| a.role == Role::Issuing) {
                let cert = match a.family {
                    Family::Sm2 => {
                        let root = authorities.get(Family::Sm2, Role::Root)?;
                        crate::pki::sm2_empty_id_rendering(&a.cert, &root.key)?
                    }
                    Family::P256 => a.cert.clone(),
                };
                pem.push_str(&cert.to_pem());
            }
        }
        Ok(pem)
    }

    /// A freshly signed CRL (DER) of one of the vault's CAs.
    pub async fn crl(&self, ca: &str) -> Result<Vec<u8>> {
        pki::crl(&self.inner.store, &self.inner.authorities, ca).await
    }
}

fn parse_alg(name: &str, key_type: KeyType) -> Result<SignatureAlgorithm> {
    let alg = match (name.parse::<SignatureAlgorithm>(), name.parse::<KeyType>()) {
        (Ok(a), _) => a,
        (_, Ok(t)) if t == key_type => t.default_signature_algorithm(),
        (_, Ok(_)) => return Err(crate::crypto::CryptoError::UnsupportedAlgorithm.into()),
        _ => return Err(Error::UnknownAlgorithm(name.to_owned())),
    };
    if key_type.supports(alg) {
        Ok(alg)
    } else {
        Err(crate::crypto::CryptoError::UnsupportedAlgorithm.into())
    }
}

fn validate_name(name: &str) -> Result<()> {
    if name.is_empty()
        || name.chars().count() > 128
        || name.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        return Err(Error::InvalidRequest(
            "client name must be 1–128 characters without spaces or control characters".into(),
        ));
    }
    Ok(())
}

/// How long an API key rotated out and expiring at `expires_at` is still valid at `now` (both ms);
/// `None` once it has expired (an overlap of 0 expires it at the rotation).
fn retired_key_left(expires_at: i64, now: i64) -> Option<Duration> {
    let left = expires_at.checked_sub(now).filter(|&ms| ms > 0)?;
    Some(Duration::from_millis(u64::try_from(left).ok()?))
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

fn key_info(row: &KeyRow) -> Result<KeyInfo> {
    Ok(KeyInfo {
        id: row.id.clone(),
        key_type: key_type_of(row)?,
        status: row.status.clone(),
        public_key_pem: PublicKey::from_spki_der(&row.public_key)?.to_pem(),
        created_at: row.created_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retired_key_expires_at_its_time() {
        assert_eq!(
            retired_key_left(1_000, 400),
            Some(Duration::from_millis(600))
        );
        assert_eq!(retired_key_left(1_000, 999), Some(Duration::from_millis(1)));
        // An overlap of 0 expires the key at the rotation itself.
        assert_eq!(retired_key_left(1_000, 1_000), None);
        assert_eq!(retired_key_left(1_000, 5_000), None);
        assert_eq!(retired_key_left(i64::MIN, i64::MAX), None);
    }
}
