//! The trust list of presentation keys (`GET /v1/presentations/trust`): for each issuer its
//! presentation keys with the window each was current in, its status list key, and the names
//! of the licence types, so an inspector checks tokens without the vault.
//!
//! A token's key id is only looked up here, in the keys the list names, and verified with the
//! algorithm the list registers for that key; a key is trusted for the tokens issued inside its
//! window only, so a retired key cannot vouch for a token dated after it was retired. Each
//! key id is recomputed from the key: a list whose id does not match its key is refused.

use std::collections::HashMap;

use base64::{Engine, engine::general_purpose::STANDARD as B64};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::token::{KEY_ID_LEN, Token, key_id, signature_algorithm};
use crate::crypto::{KeyType, PublicKey};

/// The `format` of a trust list this module reads and writes.
pub const FORMAT: &str = "sidian-presentation-trust/1";

/// A trust list document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustList {
    /// Always [`FORMAT`].
    pub format: String,
    /// The issuing authorities whose tokens verify.
    pub issuers: Vec<TrustedIssuer>,
    /// The licence types' names, to show with a verdict.
    pub licence_types: Vec<TypeName>,
}

/// An issuing authority and its keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustedIssuer {
    /// The vault's id of the issuer.
    pub id: String,
    /// 颁证单位.
    pub name: String,
    /// Its 统一社会信用代码.
    pub uscc: String,
    /// Its presentation keys, current and retired.
    pub presentation_keys: Vec<PresentationKey>,
    /// The key its status lists (`statuslist+jwt`, ES256) are signed with.
    pub status_key: StatusKey,
    /// The ids of its status lists (`sl_…`, each served at `/v1/status-lists/{id}`), so that a
    /// device that checks offline knows which lists to fetch while it has a network. Absent in
    /// older lists: a verifier then only has the lists it was given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub status_lists: Vec<String>,
}

/// A presentation key and the window it signed tokens in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresentationKey {
    /// Its key id: 16 lowercase hex digits, the first 8 bytes of the SHA-256 of `public_key`.
    pub kid: String,
    /// `sm2` (SM2 with SM3, user ID `1234567812345678`), `p256` (ECDSA with SHA-256) or
    /// `ed25519`.
    pub alg: String,
    /// Its SubjectPublicKeyInfo, DER in base64.
    pub public_key: String,
    /// Tokens issued at or after this time (RFC 3339) verify with it.
    pub not_before: String,
    /// Tokens issued at or after this time do not; `null` while it is current.
    pub not_after: Option<String>,
}

/// An issuer's status list key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusKey {
    /// The `kid` of its status list tokens' JOSE header.
    pub kid: String,
    /// Always `ES256`.
    pub alg: String,
    /// Its SubjectPublicKeyInfo (P-256), DER in base64.
    pub public_key: String,
}

/// A licence type's code and name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypeName {
    /// 证照类型代码.
    pub code: String,
    /// 证照名称.
    pub name: String,
}

/// Why a trust list cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrustError {
    /// Not a trust list of this format.
    #[error("not a {FORMAT} document")]
    Format,
    /// A key that cannot be read, of an algorithm a presentation key may not have, or whose
    /// id or algorithm does not match it (issuer and key named).
    #[error("issuer {issuer}: key {kid}: {reason}")]
    Key {
        /// The issuer's id.
        issuer: String,
        /// The key id as written.
        kid: String,
        /// What is wrong.
        reason: &'static str,
    },
}

/// An issuer with its keys read.
#[derive(Debug, Clone)]
pub struct Issuer {
    /// The vault's id of the issuer.
    pub id: String,
    /// 颁证单位.
    pub name: String,
    /// Its 统一社会信用代码.
    pub uscc: String,
    /// The `kid` its status list tokens name.
    pub status_kid: String,
    /// Its status list key.
    pub status_key: PublicKey,
    keys: Vec<TrustedKey>,
}

/// A presentation key with its window.
#[derive(Debug, Clone)]
struct TrustedKey {
    kid: [u8; KEY_ID_LEN],
    key: PublicKey,
    /// Seconds since the Unix epoch.
    not_before: i64,
    not_after: Option<i64>,
}

impl TrustedKey {
    fn covers(&self, issued_at: i64) -> bool {
        self.not_before <= issued_at && self.not_after.is_none_or(|end| issued_at < end)
    }
}

/// A trust list read and checked, to look keys up by id.
#[derive(Debug, Clone, Default)]
pub struct Keyring {
    issuers: Vec<Issuer>,
    by_kid: HashMap<[u8; KEY_ID_LEN], Vec<(usize, usize)>>,
    type_names: HashMap<String, String>,
}

/// Seconds since the Unix epoch of an RFC 3339 time.
pub(crate) fn parse_time(text: &str) -> Option<i64> {
    OffsetDateTime::parse(text, &Rfc3339)
        .ok()
        .map(OffsetDateTime::unix_timestamp)
}

/// The RFC 3339 text (UTC, whole seconds) of seconds since the Unix epoch.
pub(crate) fn time_text(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

fn public_key(b64: &str) -> Option<PublicKey> {
    PublicKey::from_spki_der(&B64.decode(b64).ok()?).ok()
}

impl Keyring {
    /// Reads a trust list, checking every key against its id and algorithm.
    pub fn new(list: &TrustList) -> Result<Self, TrustError> {
        if list.format != FORMAT {
            return Err(TrustError::Format);
        }
        let mut ring = Keyring {
            type_names: list
                .licence_types
                .iter()
                .map(|t| (t.code.clone(), t.name.clone()))
                .collect(),
            ..Keyring::default()
        };
        for issuer in &list.issuers {
            let bad = |kid: &str, reason| TrustError::Key {
                issuer: issuer.id.clone(),
                kid: kid.to_owned(),
                reason,
            };
            let status_key = public_key(&issuer.status_key.public_key)
                .filter(|k| k.key_type() == KeyType::P256 && issuer.status_key.alg == "ES256")
                .ok_or_else(|| bad(&issuer.status_key.kid, "not a P-256 ES256 key"))?;
            let mut keys = Vec::new();
            for k in &issuer.presentation_keys {
                let key = public_key(&k.public_key).ok_or_else(|| bad(&k.kid, "unreadable"))?;
                if key.key_type().as_str() != k.alg || signature_algorithm(key.key_type()).is_none()
                {
                    return Err(bad(
                        &k.kid,
                        "its algorithm is not the key's, or not allowed",
                    ));
                }
                let kid = key_id(key.spki_der());
                if hex::encode(kid) != k.kid {
                    return Err(bad(&k.kid, "the key id is not the key's"));
                }
                let not_before =
                    parse_time(&k.not_before).ok_or_else(|| bad(&k.kid, "not_before"))?;
                let not_after = match &k.not_after {
                    Some(t) => Some(parse_time(t).ok_or_else(|| bad(&k.kid, "not_after"))?),
                    None => None,
                };
                ring.by_kid
                    .entry(kid)
                    .or_default()
                    .push((ring.issuers.len(), keys.len()));
                keys.push(TrustedKey {
                    kid,
                    key,
                    not_before,
                    not_after,
                });
            }
            ring.issuers.push(Issuer {
                id: issuer.id.clone(),
                name: issuer.name.clone(),
                uscc: issuer.uscc.clone(),
                status_kid: issuer.status_key.kid.clone(),
                status_key,
                keys,
            });
        }
        Ok(ring)
    }

    /// The issuer whose key signed `token`: a key with the token's id whose window holds the
    /// token's issue time and under which its signature verifies, or, when `signature_known`
    /// (these exact bytes verified before), the first such key without verifying again.
    pub fn authenticate(&self, token: &Token, signature_known: bool) -> Option<&Issuer> {
        let issued_at = i64::from(token.payload.issued_at);
        self.by_kid
            .get(&token.payload.key_id)?
            .iter()
            .filter_map(|&(i, k)| Some((self.issuers.get(i)?, self.issuers.get(i)?.keys.get(k)?)))
            .find(|(_, key)| {
                key.kid == token.payload.key_id
                    && key.covers(issued_at)
                    && (signature_known || token.verify(&key.key))
            })
            .map(|(issuer, _)| issuer)
    }

    /// Whether a key of this id is in the list (whatever its window).
    pub fn knows(&self, kid: &[u8; KEY_ID_LEN]) -> bool {
        self.by_kid.contains_key(kid)
    }

    /// The name of a licence type, if the list has it.
    pub fn type_name(&self, code: &str) -> Option<&str> {
        self.type_names.get(code).map(String::as_str)
    }

    /// The issuers.
    pub fn issuers(&self) -> &[Issuer] {
        &self.issuers
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::PrivateKey;
    use crate::present::token::{Payload, Profile};

    fn entry(key: &PublicKey, not_before: &str, not_after: Option<&str>) -> PresentationKey {
        PresentationKey {
            kid: hex::encode(key_id(key.spki_der())),
            alg: key.key_type().as_str().to_owned(),
            public_key: B64.encode(key.spki_der()),
            not_before: not_before.to_owned(),
            not_after: not_after.map(str::to_owned),
        }
    }

    fn list(keys: Vec<PresentationKey>) -> TrustList {
        let status = PrivateKey::generate(KeyType::P256)
            .expect("key")
            .public_key();
        TrustList {
            format: FORMAT.to_owned(),
            issuers: vec![TrustedIssuer {
                id: "iss_1".into(),
                name: "某某局".into(),
                uscc: "11370100004312345D".into(),
                presentation_keys: keys,
                status_key: StatusKey {
                    kid: "key_s".into(),
                    alg: "ES256".into(),
                    public_key: B64.encode(status.spki_der()),
                },
                status_lists: vec![],
            }],
            licence_types: vec![],
        }
    }

    fn token(key: &PrivateKey, issued_at: u32) -> Token {
        let payload = Payload {
            profile: Profile::Valid,
            key_id: key_id(key.public_key().spki_der()),
            handle: [0; 16],
            nonce: [0; 8],
            issued_at,
            ttl_s: 60,
            list: [0; 16],
            slot: 0,
            type_code: "T1".into(),
            disclosed: None,
        };
        Token::parse(&payload.sign(key).expect("sign")).expect("parse")
    }

    #[test]
    fn a_retired_key_verifies_only_tokens_from_its_window() {
        let old = PrivateKey::generate(KeyType::Sm2).expect("key");
        let new = PrivateKey::generate(KeyType::Ed25519).expect("key");
        let ring = Keyring::new(&list(vec![
            entry(
                &old.public_key(),
                "2026-01-01T00:00:00Z",
                Some("2026-02-01T00:00:00Z"),
            ),
            entry(&new.public_key(), "2026-02-01T00:00:00Z", None),
        ]))
        .expect("ring");
        let jan = 1_768_000_000; // 2026-01-09
        let feb = 1_770_000_000; // 2026-02-02
        assert!(ring.authenticate(&token(&old, jan), false).is_some());
        assert!(ring.authenticate(&token(&old, feb), false).is_none());
        assert!(
            ring.authenticate(&token(&old, feb), true).is_none(),
            "window even when known"
        );
        assert!(ring.authenticate(&token(&new, feb), false).is_some());
        assert!(ring.authenticate(&token(&new, jan), false).is_none());
    }

    #[test]
    fn a_list_whose_ids_or_algorithms_lie_is_refused() {
        let key = PrivateKey::generate(KeyType::Sm2)
            .expect("key")
            .public_key();
        let mut wrong_kid = entry(&key, "2026-01-01T00:00:00Z", None);
        wrong_kid.kid = "0000000000000000".into();
        let mut wrong_alg = entry(&key, "2026-01-01T00:00:00Z", None);
        wrong_alg.alg = "p256".into();
        let rsa = PrivateKey::generate(KeyType::Rsa2048)
            .expect("key")
            .public_key();
        for bad in [
            wrong_kid,
            wrong_alg,
            entry(&rsa, "2026-01-01T00:00:00Z", None),
        ] {
            assert!(matches!(
                Keyring::new(&list(vec![bad])),
                Err(TrustError::Key { .. })
            ));
        }
        let mut other = list(vec![]);
        other.format = "x".into();
        assert_eq!(Keyring::new(&other).err(), Some(TrustError::Format));
    }
}
