//! Clients' general keys: creation, rotation, disabling, signing (each signature audited) and
//! verification.

use std::sync::Arc;

use super::ledger::{Op, SignedAs, now_ms};
use super::{AuthClient, Vault, key_type_of, new_key_row, unwrap_key};
use crate::audit::{Action, Event};
use crate::crypto::{KeyType, PrivateKey, PublicKey, SignatureAlgorithm, sha256};
use crate::error::{Error, Result};
use crate::store::{KeyPurpose, KeyRow};

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

/// An unwrapped key in the vault's cache, with the client that owns it.
pub(super) struct LoadedKey {
    owner: String,
    key: PrivateKey,
}

impl Vault {
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

fn key_info(row: &KeyRow) -> Result<KeyInfo> {
    Ok(KeyInfo {
        id: row.id.clone(),
        key_type: key_type_of(row)?,
        status: row.status.clone(),
        public_key_pem: PublicKey::from_spki_der(&row.public_key)?.to_pem(),
        created_at: row.created_at,
    })
}
