//! Status lists (IETF Token Status List, `statuslist+jwt`): each issuer's lists, signed ES256
//! with its P-256 status list key and served publicly. A token is made on demand from the slots
//! that are not valid, and kept until a slot of its list changes (every node sees the change in
//! the list's `updated_at`) or it is a minute old.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::Vault;
use super::ledger::now_ms;
use crate::crypto::{SignatureAlgorithm, ec_signature, sha256};
use crate::error::{Error, Result};
use crate::licence::status_list::{self, TokenClaims};
use crate::licence::{SlotStatus, StatusList};
use crate::store::KeyPurpose;

/// How long a status list token may be relied on after it was made (`exp − iat`).
const TOKEN_LIFETIME_S: i64 = 24 * 3600;

/// `ttl` of a status list token: how long a verifier may cache it (seconds); the route's
/// `Cache-Control: max-age` says the same.
pub const TOKEN_TTL_S: i64 = 5;

/// A cached token is signed again after this long even when no slot changed, so that licences
/// reaching the end of their validity show as invalid within it, and `iat` stays recent.
const TOKEN_REFRESH: Duration = Duration::from_secs(60);

/// A signed status list token (`statuslist+jwt`).
#[derive(Debug)]
pub struct StatusToken {
    /// The compact JWS.
    pub token: String,
    /// Its entity tag (quoted).
    pub etag: String,
    /// The list's `updated_at` it was made from.
    list_updated_at: i64,
    /// When it was made.
    made: Instant,
}

impl Vault {
    /// The signed token of a status list (public), made again when a slot changed since the
    /// cached one or when it is older than a minute.
    pub async fn status_list_token(&self, id: &str) -> Result<Arc<StatusToken>> {
        let store = &self.inner.store;
        let list = store
            .status_list(id)
            .await?
            .ok_or(Error::NotFound("status list"))?;
        if let Some(t) = self
            .inner
            .licensing
            .tokens
            .read()
            .map_err(|_| Error::Unavailable)?
            .get(id)
            && t.list_updated_at == list.updated_at
            && t.made.elapsed() < TOKEN_REFRESH
        {
            return Ok(t.clone());
        }
        let issuer = store
            .issuer(&list.issuer_id)
            .await?
            .ok_or_else(|| Error::Corrupt(format!("issuer of status list {id} is missing")))?;
        let key = self
            .issuer_key(&issuer.status_key_id, KeyPurpose::StatusList)
            .await?;
        let now = now_ms();
        let slots = store.status_slots(id, now).await?;
        let base = self.config().public_url.clone().unwrap_or_default();
        let (id_owned, key_id) = (id.to_owned(), issuer.status_key_id.clone());
        // Packing and compressing a million slots takes milliseconds: off the async workers.
        let token = tokio::task::spawn_blocking(move || -> Result<String> {
            let size = usize::try_from(list.slots).map_err(|_| Error::Corrupt("slots".into()))?;
            let mut bits = StatusList::new(size);
            for (index, status) in slots {
                let slot = match status.as_str() {
                    "suspended" => SlotStatus::Suspended,
                    _ => SlotStatus::Invalid,
                };
                if let Ok(i) = usize::try_from(index) {
                    bits.set(i, slot);
                }
            }
            let iat = now / 1000;
            let claims = TokenClaims {
                sub: format!("{base}/v1/status-lists/{id_owned}"),
                iat,
                exp: iat + TOKEN_LIFETIME_S,
                ttl: TOKEN_TTL_S,
            };
            let input = status_list::signing_input(&key_id, &claims, &bits);
            let der = key.sign(SignatureAlgorithm::EcdsaP256Sha256, input.as_bytes())?;
            let raw = ec_signature::raw_from_der(&der)
                .map_err(|_| Error::Corrupt("an ECDSA signature that is not DER".into()))?;
            Ok(status_list::token(&input, &raw))
        })
        .await
        .map_err(|_| Error::Unavailable)??;
        let made = Arc::new(StatusToken {
            etag: format!("\"{}\"", &hex::encode(sha256(token.as_bytes()))[..32]),
            token,
            list_updated_at: list.updated_at,
            made: Instant::now(),
        });
        self.inner
            .licensing
            .tokens
            .write()
            .map_err(|_| Error::Unavailable)?
            .insert(id.to_owned(), made.clone());
        Ok(made)
    }
}
