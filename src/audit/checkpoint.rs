//! Signed checkpoints (tree heads) in the C2SP checkpoint format (c2sp.org/tlog-checkpoint):
//! origin, tree size, base64 root — one per line — then one extension line with the signing time
//! in milliseconds, signed by the vault's audit key; served as a signed note (`note.rs`) whose
//! key name is the origin.
//!
//! The signed text has had this shape since the first checkpoint, so checkpoints stored before
//! the signed-note form existed are read and served the same way.

use base64::{Engine, engine::general_purpose::STANDARD as B64};
use serde::{Deserialize, Serialize};

use super::merkle::Hash;
use super::note::{NoteSignature, SignedNote, sm2_key_id, valid_key_name};
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
    /// The audit key that signed it: the vault's key id, or for a checkpoint read from a signed
    /// note the note's 4-byte key ID in hex.
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
        let body = Body::parse(&self.note)?;
        (body.size == self.size).then_some(body.root)
    }

    /// The log's origin (the note's first line), which also names the signing key.
    pub fn origin(&self) -> Option<&str> {
        self.note.lines().next().filter(|o| valid_key_name(o))
    }

    /// Checks the signature with the audit public key and returns the stated root.
    pub fn verify(&self, key: &PublicKey) -> Option<Hash> {
        key.verify(CHECKPOINT_ALG, self.note.as_bytes(), &self.signature)
            .ok()?;
        self.root()
    }

    /// The checkpoint as a C2SP signed note, signed by `key` under the origin as key name.
    pub fn signed_note(&self, key: &PublicKey) -> Option<String> {
        let name = self.origin()?;
        let note = SignedNote {
            text: self.note.clone(),
            signatures: vec![NoteSignature {
                name: name.to_owned(),
                key_id: sm2_key_id(name, key),
                signature: self.signature.clone(),
            }],
        };
        Some(note.to_text())
    }

    /// Reads a C2SP signed note and checks its signature by `key` (named by the note's origin);
    /// signatures by other keys are ignored, as the note specification asks.
    pub fn from_signed_note(text: &str, key: &PublicKey) -> Result<Self, NoteError> {
        let note = SignedNote::parse(text).ok_or(NoteError::Malformed)?;
        let body = Body::parse(&note.text).ok_or(NoteError::Malformed)?;
        let key_id = sm2_key_id(body.origin, key);
        let sig = note
            .signature_by(body.origin, key_id)
            .ok_or(NoteError::NotSignedByKey)?;
        let cp = Self {
            size: body.size,
            at_ms: body.at_ms,
            note: note.text.clone(),
            key_id: hex::encode(key_id),
            signature: sig.signature.clone(),
        };
        cp.verify(key).ok_or(NoteError::BadSignature)?;
        Ok(cp)
    }

    /// Reads a checkpoint as an operator or a witness saved it and checks its signature by `key`:
    /// the signed note, or the JSON body of `GET /v1/audit/checkpoint` (its `signed_note`, or
    /// for bodies saved before that field existed, its `note` and DER `signature`).
    pub fn from_saved(text: &str, key: &PublicKey) -> Result<Self, NoteError> {
        if !text.trim_start().starts_with('{') {
            return Self::from_signed_note(text, key);
        }
        let json: serde_json::Value =
            serde_json::from_str(text).map_err(|_| NoteError::Malformed)?;
        if let Some(note) = json["signed_note"].as_str() {
            return Self::from_signed_note(note, key);
        }
        let (Some(note), Some(sig)) = (json["note"].as_str(), json["signature"].as_str()) else {
            return Err(NoteError::Malformed);
        };
        let body = Body::parse(note).ok_or(NoteError::Malformed)?;
        let cp = Self {
            size: body.size,
            at_ms: body.at_ms,
            note: note.to_owned(),
            key_id: json["key_id"].as_str().unwrap_or_default().to_owned(),
            signature: B64.decode(sig).map_err(|_| NoteError::Malformed)?,
        };
        cp.verify(key).ok_or(NoteError::BadSignature)?;
        Ok(cp)
    }
}

/// Why a signed note is not a checkpoint of the audit key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    /// Not a signed note, or its text is not a checkpoint.
    #[error("not a signed checkpoint note")]
    Malformed,
    /// No signature line of the audit key (by name and key ID).
    #[error("the checkpoint carries no signature by the audit key")]
    NotSignedByKey,
    /// The audit key's signature line does not verify.
    #[error("the checkpoint signature does not verify")]
    BadSignature,
}

/// The lines of a checkpoint's signed text.
struct Body<'a> {
    origin: &'a str,
    size: u64,
    root: Hash,
    /// The signing time from the first extension line (0 when absent).
    at_ms: i64,
}

impl<'a> Body<'a> {
    fn parse(text: &'a str) -> Option<Self> {
        let mut lines = text.lines();
        let origin = lines.next().filter(|o| !o.is_empty())?;
        let size_line = lines.next()?;
        // Decimal without a sign or leading zeros, as the checkpoint format asks.
        if size_line.starts_with('+') || (size_line.len() > 1 && size_line.starts_with('0')) {
            return None;
        }
        let size = size_line.parse().ok()?;
        let root = B64.decode(lines.next()?).ok()?.try_into().ok()?;
        let at_ms = lines.next().and_then(|l| l.parse().ok()).unwrap_or(0);
        Some(Self {
            origin,
            size,
            root,
            at_ms,
        })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::KeyType;

    #[test]
    fn signed_note_round_trip_and_refusals() {
        let key = PrivateKey::generate(KeyType::Sm2).expect("key");
        let public = key.public_key();
        let root = [7u8; 32];
        let cp = Checkpoint::sign("sidian/audit/v1", 12, &root, 1_700_000_000_123, "k1", &key)
            .expect("sign");
        assert_eq!(
            cp.note,
            format!("sidian/audit/v1\n12\n{}\n1700000000123\n", B64.encode(root))
        );
        let text = cp.signed_note(&public).expect("note");
        let (body, sig_line) = text.split_once("\n\n").expect("blank line");
        assert_eq!(format!("{body}\n"), cp.note);
        let id = sm2_key_id("sidian/audit/v1", &public);
        let b64 = sig_line
            .strip_prefix("\u{2014} sidian/audit/v1 ")
            .and_then(|l| l.strip_suffix('\n'))
            .expect("signature line");
        let raw = B64.decode(b64).expect("base64");
        assert_eq!(raw[..4], id);
        assert_eq!(raw[4..], cp.signature);

        let back = Checkpoint::from_signed_note(&text, &public).expect("verifies");
        assert_eq!(
            (back.size, back.at_ms, back.root()),
            (12, cp.at_ms, Some(root))
        );
        assert_eq!(back.key_id, hex::encode(id));

        let other = PrivateKey::generate(KeyType::Sm2)
            .expect("key")
            .public_key();
        assert_eq!(
            Checkpoint::from_signed_note(&text, &other),
            Err(NoteError::NotSignedByKey)
        );
        let grown = text.replacen("\n12\n", "\n13\n", 1);
        assert_eq!(
            Checkpoint::from_signed_note(&grown, &public),
            Err(NoteError::BadSignature)
        );
        let padded = text.replacen("\n12\n", "\n012\n", 1);
        assert_eq!(
            Checkpoint::from_signed_note(&padded, &public),
            Err(NoteError::Malformed)
        );
        // A second signature by an unknown key is ignored.
        let cosigned = format!("{text}\u{2014} witness.example/w AAAAAAEC\n");
        assert!(Checkpoint::from_signed_note(&cosigned, &public).is_ok());

        // Saved as the JSON body, with the signed note or (older bodies) without it.
        let json = serde_json::json!({ "signed_note": text }).to_string();
        assert_eq!(
            Checkpoint::from_saved(&json, &public).map(|c| c.size),
            Ok(12)
        );
        let old = serde_json::json!({
            "note": cp.note, "signature": B64.encode(&cp.signature), "key_id": "k1"
        })
        .to_string();
        assert_eq!(Checkpoint::from_saved(&old, &public), Ok(cp.clone()));
        let forged = old.replace("\\n12\\n", "\\n13\\n");
        assert_ne!(forged, old);
        assert_eq!(
            Checkpoint::from_saved(&forged, &public),
            Err(NoteError::BadSignature)
        );
        assert_eq!(
            Checkpoint::from_saved(&text, &public).map(|c| c.size),
            Ok(12)
        );
        assert_eq!(
            Checkpoint::from_saved("{}", &public),
            Err(NoteError::Malformed)
        );
    }
}
