//! Device-bound presentation (亮证 against a relayed screenshot): a holder's phone registers a
//! P-256 key it cannot export to a licence, an inspector asks for a challenge (8 random digits,
//! 120 s) and shows it, the phone signs `"sidian-device-v1\n" + challenge + "\n" + licence id`,
//! and a check of a token given that challenge says whether a device of the token's licence
//! answered it. A screenshot relayed to someone else's phone shows a valid token, but nobody
//! there can answer for it.
//!
//! Who registers a device and answers: the same clients as may present the licence
//! (`Vault::presentable`): the wallet's holder session for that holder's licences, a `present`
//! client bound to the issuer, the issuing client, `admin`.

use p256::ecdsa::signature::Verifier as _;
use p256::pkcs8::DecodePublicKey as _;
use ring::rand::SecureRandom;

use super::ledger::{Op, now_ms};
use super::presentations::PRESENT_SCOPE;
use super::{AuthClient, Vault, random_id};
use crate::audit::{Action, Event};
use crate::crypto::sha256;
use crate::error::{Error, Result};
use crate::store::{ChallengeRow, DeviceRow};

/// How long a challenge can be answered, and counts in a check (ms).
pub const CHALLENGE_TTL_MS: i64 = 120_000;

/// The most device keys one licence may have (a phone replaced now and then, not a fleet).
pub(super) const MAX_DEVICES_PER_LICENCE: i64 = 16;

/// The domain separation of what a device signs.
const DEVICE_CONTEXT: &str = "sidian-device-v1";

/// Challenges expired this long ago are deleted when a new one is made (ms).
const CHALLENGE_KEPT_MS: i64 = 3_600_000;

/// A registered device key.
#[derive(Debug, Clone)]
pub struct Device {
    /// Its id (`dev_` and 32 hex digits), which the device names when it answers.
    pub key_id: String,
    /// When it was registered (ms).
    pub created_at: i64,
}

/// A challenge made for an inspector.
#[derive(Debug, Clone)]
pub struct Challenge {
    /// 8 decimal digits.
    pub challenge: String,
    /// When it expires (ms).
    pub expires_at: i64,
}

/// Whether a check's challenge was answered by a device of the token's licence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceAnswer {
    /// Answered, unexpired, by a device key registered to the licence the token names.
    Answered,
    /// Anything else: unknown, expired, unanswered, or answered for another licence.
    NotAnswered,
}

impl DeviceAnswer {
    /// `answered` or `not_answered`.
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceAnswer::Answered => "answered",
            DeviceAnswer::NotAnswered => "not_answered",
        }
    }
}

/// The message a device signs for `challenge` and `licence_id`.
pub fn device_message(challenge: &str, licence_id: &str) -> String {
    format!("{DEVICE_CONTEXT}\n{challenge}\n{licence_id}")
}

/// Whether `challenge` has the form of one (8 ASCII digits).
pub fn is_challenge(challenge: &str) -> bool {
    challenge.len() == 8 && challenge.bytes().all(|b| b.is_ascii_digit())
}

/// The P-256 verifying key of an SPKI, refused (400 `invalid_field`) when it is anything else.
fn p256_key(spki: &[u8]) -> Result<p256::ecdsa::VerifyingKey> {
    p256::ecdsa::VerifyingKey::from_public_key_der(spki).map_err(|_| {
        Error::InvalidField(
            "public_key: must be the SubjectPublicKeyInfo (DER, base64url) of an ECDSA P-256 key"
                .into(),
        )
    })
}

impl Vault {
    /// Registers a device key (SPKI DER of a P-256 key) to a licence the client may present:
    /// one audited change (`device.registered`, the holder named by a keyed hash).
    pub async fn register_device(
        &self,
        client: &AuthClient,
        licence_id: &str,
        public_key: &[u8],
        label: &str,
    ) -> Result<Device> {
        client.require(PRESENT_SCOPE)?;
        let label = label.trim();
        if label.chars().count() > 64 || label.chars().any(char::is_control) {
            return Err(Error::InvalidField(
                "label: at most 64 characters without control characters".into(),
            ));
        }
        p256_key(public_key)?;
        let (row, _) = self.presentable(client, licence_id).await?;
        if self.inner.store.device_count(&row.id).await? >= MAX_DEVICES_PER_LICENCE {
            return Err(Error::Conflict(format!(
                "the licence has {MAX_DEVICES_PER_LICENCE} devices already"
            )));
        }
        let device = DeviceRow {
            key_id: random_id(&self.inner.rng, "dev")?,
            licence_id: row.id.clone(),
            public_key: public_key.to_vec(),
            label: label.to_owned(),
            created_at: now_ms(),
        };
        let event = Event::new(
            client.actor(),
            Action::DeviceRegistered,
            format!("device:{}", device.key_id),
        )
        .with("licence", row.id.as_str())
        .with(
            "holder_id_hmac",
            super::licences::holder_id_hmac(&self.inner.master, &row.holder_id_number),
        )
        .with("spki_sha256", hex::encode(sha256(public_key)));
        let out = Device {
            key_id: device.key_id.clone(),
            created_at: device.created_at,
        };
        self.apply(Op::RegisterDevice { device, event }).await?;
        Ok(out)
    }

    /// A new challenge (8 random digits, living [`CHALLENGE_TTL_MS`]), for `client` (an
    /// inspector's system) or anyone.
    pub async fn new_challenge(&self, client: Option<&AuthClient>) -> Result<Challenge> {
        let now = now_ms();
        for _ in 0..16 {
            let mut b = [0u8; 4];
            self.inner
                .rng
                .fill(&mut b)
                .map_err(|_| Error::Crypto(crate::crypto::CryptoError::Random))?;
            // 2^32 is 42.9 times 10^8: the bias towards low values is below 2.5 %.
            let challenge = format!("{:08}", u32::from_be_bytes(b) % 100_000_000);
            let row = ChallengeRow {
                challenge: challenge.clone(),
                client_id: client.map(|c| c.id.clone()).filter(|id| !id.is_empty()),
                created_at: now,
                expires_at: now + CHALLENGE_TTL_MS,
                licence_id: None,
                key_id: None,
                answered_at: None,
            };
            if self
                .inner
                .store
                .insert_challenge(&row, now - CHALLENGE_KEPT_MS)
                .await?
            {
                return Ok(Challenge {
                    challenge,
                    expires_at: row.expires_at,
                });
            }
        }
        Err(Error::Unavailable)
    }

    /// Answers a challenge for a licence the client may present, with the signature (raw
    /// `r‖s`, 64 bytes) of one of the licence's device keys over [`device_message`]. An
    /// unknown, expired or already answered challenge is 404; a key of another licence or a
    /// bad signature is 403 `device_not_verified`.
    pub async fn answer_challenge(
        &self,
        client: &AuthClient,
        challenge: &str,
        licence_id: &str,
        key_id: &str,
        signature: &[u8],
    ) -> Result<()> {
        client.require(PRESENT_SCOPE)?;
        if !is_challenge(challenge) {
            return Err(Error::InvalidField("challenge: must be 8 digits".into()));
        }
        // A licence the client may not present, or none, is answered as a key not registered
        // to it: 404 is kept for the challenge, the resource this route acts on.
        let (row, _) = match self.presentable(client, licence_id).await {
            Err(Error::NotFound(_)) => return Err(Error::DeviceNotVerified),
            other => other?,
        };
        let store = &self.inner.store;
        let device = store
            .device(key_id)
            .await?
            .filter(|d| d.licence_id == row.id)
            .ok_or(Error::DeviceNotVerified)?;
        let key = p256_key(&device.public_key)
            .map_err(|_| Error::Corrupt(format!("device key {key_id}")))?;
        let sig = p256::ecdsa::Signature::from_slice(signature).map_err(|_| {
            Error::InvalidField("signature: must be r‖s, 64 bytes, base64url".into())
        })?;
        key.verify(device_message(challenge, &row.id).as_bytes(), &sig)
            .map_err(|_| Error::DeviceNotVerified)?;
        if store
            .answer_challenge(challenge, &row.id, &device.key_id, now_ms())
            .await?
        {
            Ok(())
        } else {
            Err(Error::NotFound("challenge"))
        }
    }

    /// Whether `challenge` was answered, unexpired at `now`, by a device registered to
    /// `licence_id`.
    pub(super) async fn device_answer(
        &self,
        challenge: &str,
        licence_id: &str,
        now: i64,
    ) -> Result<DeviceAnswer> {
        let store = &self.inner.store;
        let Some(c) = store.challenge(challenge).await? else {
            return Ok(DeviceAnswer::NotAnswered);
        };
        let answered = match (&c.licence_id, &c.key_id) {
            (Some(l), Some(k)) if now < c.expires_at && l == licence_id => store
                .device(k)
                .await?
                .is_some_and(|d| d.licence_id == licence_id),
            _ => false,
        };
        Ok(if answered {
            DeviceAnswer::Answered
        } else {
            DeviceAnswer::NotAnswered
        })
    }
}
