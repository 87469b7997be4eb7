//! Approval systems: registration, revocation, API-key rotation and authentication.

use std::time::{Duration, Instant};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64URL};
use ring::rand::SecureRandom;

use super::ledger::{Op, RotatingClient, now_ms};
use super::{Vault, random_id};
use crate::audit::Actor;
use crate::error::{Error, Result};
use crate::store::ClientRow;

/// Every scope a client may hold (`admin` implies all the others).
pub const SCOPES: &[&str] = &[
    "admin",
    "audit",
    "keys",
    "seals",
    "sign",
    "verify",
    "present",
    "inspect",
    "licence:use",
];

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
    /// Only the licences of this holder (持证主体代码, as licences store it): the wallet's
    /// session for a logged-in holder. The vault enforces it wherever a licence is presented,
    /// its uses read or a device registered to it, whatever the request names.
    pub holder: Option<String>,
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
            holder: None,
        }
    }

    /// The vault's own wallet acting for one holder: scope `present`, restricted to the
    /// licences whose 持证主体代码 is `holder_code`.
    pub fn wallet(holder_code: &str) -> AuthClient {
        AuthClient {
            id: String::new(),
            name: "wallet".to_owned(),
            scopes: vec![super::presentations::PRESENT_SCOPE.to_owned()],
            holder: Some(holder_code.to_owned()),
        }
    }

    /// How the audit log names this client.
    pub(super) fn actor(&self) -> Actor {
        // Client ids are never empty: only `operator` and `wallet` make one without an id.
        if self.id.is_empty() && self.holder.is_some() {
            Actor::Wallet
        } else if self.id.is_empty() {
            Actor::Operator(self.name.clone())
        } else {
            Actor::Client(self.id.clone())
        }
    }
}

/// How long an authenticated API key is trusted without asking the database again.
const CLIENT_CACHE_TTL: Duration = Duration::from_secs(2);
const CLIENT_CACHE_MAX: usize = 10_000;

impl Vault {
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
            .find(|s| !SCOPES.contains(&s.as_str()) && !super::is_licence_scope(s))
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
            holder: None,
        };
        let mut cache = self.inner.clients.write().map_err(|_| Error::Unavailable)?;
        if cache.len() >= CLIENT_CACHE_MAX {
            cache.clear();
        }
        cache.insert(mac, (Instant::now() + trust_for, client.clone()));
        Ok(client)
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
