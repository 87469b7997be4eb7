//! The canonical audit record: what is hashed into the log for each state change.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Who caused a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// The vault itself (initialisation, its own keys).
    Vault,
    /// An operator at the CLI, named by the OS user when known.
    Operator(String),
    /// An approval system, by client id.
    Client(String),
    /// The vault's own wallet pages (`/wallet`), acting for a holder it logged in (the holder
    /// is named in the entry's details by a keyed hash, never in clear).
    Wallet,
}

impl std::fmt::Display for Actor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Actor::Vault => f.write_str("vault"),
            Actor::Operator(user) => write!(f, "operator:{user}"),
            Actor::Client(id) => write!(f, "client:{id}"),
            Actor::Wallet => f.write_str("wallet"),
        }
    }
}

/// The kinds of change the log records; names are stable (they are hashed into the log).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// The vault was created.
    VaultInitialized,
    /// An approval system was registered.
    ClientRegistered,
    /// An approval system's credential was revoked.
    ClientRevoked,
    /// An approval system's API key was replaced (the old one expires after an overlap).
    ClientKeyRotated,
    /// A key was generated.
    KeyCreated,
    /// A key was disabled.
    KeyDisabled,
    /// A key was replaced by a new one.
    KeyRotated,
    /// A signature was made with a key.
    SignatureCreated,
    /// A certificate was issued by one of the vault's authorities.
    CertificateIssued,
    /// A certificate was revoked.
    CertificateRevoked,
    /// An electronic seal was made.
    SealCreated,
    /// An electronic seal was revoked.
    SealRevoked,
    /// A time-stamp token was issued (RFC 3161).
    TimestampIssued,
    /// An operator started the vault on a log shorter than a checkpoint it had published
    /// (restored from an older backup), explicitly.
    LogRollbackAccepted,
    /// An issuing authority (颁证单位) was registered with its seal, keys and status list.
    IssuerCreated,
    /// A client was bound to issuing authorities it may issue licences for.
    ClientIssuersBound,
    /// An issuer's status list was opened (its previous one was half full).
    StatusListOpened,
    /// A licence was issued.
    LicenceIssued,
    /// A licence was suspended (暂扣).
    LicenceSuspended,
    /// A suspended licence was made valid again.
    LicenceReinstated,
    /// A licence was revoked (吊销).
    LicenceRevoked,
    /// A licence was cancelled (注销).
    LicenceCancelled,
    /// A licence was replaced by its next version (变更).
    LicenceSuperseded,
    /// A holder granted a department the use (用证) of a licence.
    LicenceGrantCreated,
    /// A holder withdrew a grant.
    LicenceGrantWithdrawn,
    /// A department fetched a licence's file (用证), with its reason and its authorisation.
    LicenceFetched,
    /// A holder's device key was registered to a licence (device-bound presentation).
    DeviceRegistered,
    /// A handwritten signer was enrolled (identity as verified by the approval system).
    SignerEnrolled,
    /// A handwritten signer was cancelled (注销).
    SignerCancelled,
    /// Reference signatures were added to a signer.
    SignerReferencesAdded,
}

impl Action {
    /// The stable dotted name.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::VaultInitialized => "vault.initialized",
            Action::ClientRegistered => "client.registered",
            Action::ClientRevoked => "client.revoked",
            Action::ClientKeyRotated => "client.key_rotated",
            Action::KeyCreated => "key.created",
            Action::KeyDisabled => "key.disabled",
            Action::KeyRotated => "key.rotated",
            Action::SignatureCreated => "signature.created",
            Action::CertificateIssued => "certificate.issued",
            Action::CertificateRevoked => "certificate.revoked",
            Action::SealCreated => "seal.created",
            Action::SealRevoked => "seal.revoked",
            Action::TimestampIssued => "timestamp.issued",
            Action::LogRollbackAccepted => "audit.rollback_accepted",
            Action::IssuerCreated => "issuer.created",
            Action::ClientIssuersBound => "client.issuers_bound",
            Action::StatusListOpened => "status_list.opened",
            Action::LicenceIssued => "licence.issued",
            Action::LicenceSuspended => "licence.suspended",
            Action::LicenceReinstated => "licence.reinstated",
            Action::LicenceRevoked => "licence.revoked",
            Action::LicenceCancelled => "licence.cancelled",
            Action::LicenceSuperseded => "licence.superseded",
            Action::LicenceGrantCreated => "licence.grant_created",
            Action::LicenceGrantWithdrawn => "licence.grant_withdrawn",
            Action::LicenceFetched => "licence.fetched",
            Action::DeviceRegistered => "device.registered",
            Action::SignerEnrolled => "signer.enrolled",
            Action::SignerCancelled => "signer.cancelled",
            Action::SignerReferencesAdded => "signer.references_added",
        }
    }
}

/// A state change waiting to be appended; personal data only as commitments (hashes).
#[derive(Debug, Clone)]
pub struct Event {
    /// Who did it.
    pub actor: Actor,
    /// What was done.
    pub action: Action,
    /// What it was done to, e.g. `key:<id>`.
    pub subject: String,
    /// Extra facts (algorithm, digests); never secrets or personal data in clear.
    pub details: Map<String, Value>,
}

impl Event {
    /// An event with no details.
    pub fn new(actor: Actor, action: Action, subject: impl Into<String>) -> Self {
        Self {
            actor,
            action,
            subject: subject.into(),
            details: Map::new(),
        }
    }

    /// Adds one detail.
    pub fn with(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.details.insert(name.to_owned(), value.into());
        self
    }

    /// Records the signature this event releases: [`SIGNATURE_SHA256`] of its raw value, so the
    /// store indexes it and a verifier can find this entry from the signature alone.
    pub fn with_signature(self, value: &[u8]) -> Self {
        let sha = signature_sha256(value);
        self.with(SIGNATURE_SHA256, hex::encode(sha))
    }
}

/// The detail that holds the hex SHA-256 of a released signature's raw value.
pub const SIGNATURE_SHA256: &str = "signature_sha256";

/// The one hash that identifies a signature in the audit log: SHA-256 of the raw signature value
/// as it appears in the signed artefact (the content of `SES_Signature.signature`, of a CMS
/// `SignerInfo.signature`, or what the key-signing route returns), so the verifier computes it
/// from the artefact alone.
pub fn signature_sha256(value: &[u8]) -> [u8; 32] {
    crate::crypto::sha256(value)
}

/// One log entry as hashed: serialised once, stored byte for byte, verified over the stored bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// Record format version (1).
    pub v: u32,
    /// Position in the log.
    pub index: u64,
    /// When, in milliseconds since the Unix epoch.
    pub at_ms: i64,
    /// Who (`vault`, `operator:NAME`, `client:ID`).
    pub actor: String,
    /// What (`key.created`, …).
    pub action: String,
    /// To what (`key:ID`, `client:ID`, …).
    pub subject: String,
    /// Facts about the change.
    pub details: Map<String, Value>,
}

impl Record {
    /// Fixes an event at a position and time.
    pub fn new(event: Event, index: u64, at_ms: i64) -> Self {
        Self {
            v: 1,
            index,
            at_ms,
            actor: event.actor.to_string(),
            action: event.action.as_str().to_owned(),
            subject: event.subject,
            details: event.details,
        }
    }

    /// The canonical bytes (compact JSON, fields in declaration order, details sorted by name).
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_else(|_| unreachable!("a Record always serialises"))
    }

    /// Parses stored bytes.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        serde_json::from_slice(bytes).ok()
    }

    /// The [`SIGNATURE_SHA256`] of the signature this entry released, if it released one.
    pub fn signature_sha256(&self) -> Option<[u8; 32]> {
        let text = self.details.get(SIGNATURE_SHA256)?.as_str()?;
        hex::decode(text).ok()?.try_into().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_bytes_are_stable() {
        let e = Event::new(Actor::Client("c1".into()), Action::KeyCreated, "key:k1")
            .with("alg", "sm2")
            .with("a", 1);
        let r = Record::new(e, 7, 1_700_000_000_000);
        let bytes = r.to_bytes();
        assert_eq!(
            std::str::from_utf8(&bytes).expect("utf8"),
            r#"{"v":1,"index":7,"at_ms":1700000000000,"actor":"client:c1","action":"key.created","subject":"key:k1","details":{"a":1,"alg":"sm2"}}"#
        );
        assert_eq!(Record::from_bytes(&bytes), Some(r));
        assert_eq!(Record::from_bytes(b"{\"v\":1}"), None);
    }
}
