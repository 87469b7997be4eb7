//! Signed checkpoints (tree heads) in the signed-note text form used by transparency logs:
//! origin, size, base64 root, time — one per line — signed by the vault's audit key.

use base64::{Engine, engine::general_purpose::STANDARD as B64};
use serde::{Deserialize, Serialize};

use super::merkle::Hash;
use crate::crypto::{PrivateKey, PublicKey, SignatureAlgorithm};

/// A signed statement that the log had `size` entries with root `root` at `at_ms`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Number of entries covered.
    pub size: u64,
    /// When it was signed, milliseconds since the Unix epoch.
    pub at_ms: i64,
    /// The signed text.
    pub note: String,
    /// The audit key that signed it.
    pub key_id: String,
    /// SM2-with-SM3 DER signature over `note`.
    #[serde(with = "b64")]
    pub signature: Vec<u8>,
}

/// The body that is signed; parsing it back is how verifiers learn size and root.
fn note_text(origin: &str, size: u64, root: &Hash, at_ms: i64) -> String {
    format!("{origin}\n{size}\n{}\n{at_ms}\n", B64.encode(root))
}

/// The checkpoint signature algorithm (the audit key is SM2).
pub const CHECKPOINT_ALG: SignatureAlgorithm = SignatureAlgorithm::Sm2Sm3;

impl Checkpoint {
    /// Signs a tree head.
    pub fn sign(
        origin: &str,
        size: u64,
        root: &Hash,
        at_ms: i64,
        key_id: &str,
        key: &PrivateKey,
    ) -> Result<Self, crate::crypto::CryptoError> {
        let note = note_text(origin, size, root, at_ms);
        let signature = key.sign(CHECKPOINT_ALG, note.as_bytes())?;
        Ok(Self {
            size,
            at_ms,
            note,
            key_id: key_id.to_owned(),
            signature,
        })
    }

    /// The root hash stated in the note, if the note is well-formed and agrees with `size`.
    pub fn root(&self) -> Option<Hash> {
        let mut lines = self.note.lines();
        let _origin = lines.next()?;
        let size: u64 = lines.next()?.parse().ok()?;
        let root = B64.decode(lines.next()?).ok()?;
        (size == self.size).then(|| root.try_into().ok()).flatten()
    }

    /// Checks the signature with the audit public key and returns the stated root.
    pub fn verify(&self, key: &PublicKey) -> Option<Hash> {
        key.verify(CHECKPOINT_ALG, self.note.as_bytes(), &self.signature)
            .ok()?;
        self.root()
    }
}

mod b64 {
    use base64::{Engine, engine::general_purpose::STANDARD as B64};
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&B64.encode(v))
    }
    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        B64.decode(s).map_err(serde::de::Error::custom)
    }
}
