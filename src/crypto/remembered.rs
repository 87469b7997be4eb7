//! Signatures that recur across documents, verified once: a certificate's signature by its
//! issuer and a seal maker's signature over SES_SealInfo are the same bytes in every document a
//! seal stamps, and an SM2 verification costs a quarter of a millisecond.
//!
//! Only successes are remembered, keyed by SHA-256 over the key, the algorithm, the message and
//! the signature (each length-prefixed), so a hit means these exact bytes verified before; a
//! forgery would need a SHA-256 collision. Callers use it for those recurring signatures only,
//! never for a document's own signature, so a verification report still checks every document's
//! signature afresh. The set is bounded: when full it is emptied and refills.

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};

use super::{CryptoError, PublicKey, SignatureAlgorithm};

/// How many verified signatures are kept (32 bytes each).
const CAPACITY: usize = 16_384;

fn remembered() -> &'static Mutex<HashSet<[u8; 32]>> {
    static SET: OnceLock<Mutex<HashSet<[u8; 32]>>> = OnceLock::new();
    SET.get_or_init(|| Mutex::new(HashSet::new()))
}

fn key_of(key: &PublicKey, alg: SignatureAlgorithm, message: &[u8], signature: &[u8]) -> [u8; 32] {
    let mut h = ring::digest::Context::new(&ring::digest::SHA256);
    for part in [key.spki_der(), alg.as_str().as_bytes(), message, signature] {
        h.update(&(part.len() as u64).to_be_bytes());
        h.update(part);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(h.finish().as_ref());
    out
}

impl PublicKey {
    /// [`PublicKey::verify`], answered from memory when these exact bytes verified before.
    pub fn verify_recurring(
        &self,
        alg: SignatureAlgorithm,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), CryptoError> {
        let id = key_of(self, alg, message, signature);
        let known = |set: &HashSet<[u8; 32]>| set.contains(&id);
        // A poisoned lock only means another thread panicked mid-insert: the set is still sound.
        if known(&remembered().lock().unwrap_or_else(|e| e.into_inner())) {
            return Ok(());
        }
        self.verify(alg, message, signature)?;
        let mut set = remembered().lock().unwrap_or_else(|e| e.into_inner());
        if set.len() >= CAPACITY {
            set.clear();
        }
        set.insert(id);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::crypto::{KeyType, PrivateKey, SignatureAlgorithm};

    #[test]
    fn only_what_verified_is_remembered() {
        let key = PrivateKey::generate(KeyType::Sm2).expect("key");
        let public = key.public_key();
        let alg = SignatureAlgorithm::Sm2Sm3;
        let sig = key.sign(alg, b"tbsCertificate").expect("sign");
        assert!(public.verify_recurring(alg, b"other", &sig).is_err());
        assert!(
            public
                .verify_recurring(alg, b"tbsCertificate", &sig)
                .is_ok()
        );
        assert!(
            public
                .verify_recurring(alg, b"tbsCertificate", &sig)
                .is_ok()
        );
        // A remembered success says nothing about other bytes or another key.
        assert!(public.verify_recurring(alg, b"other", &sig).is_err());
        let stranger = PrivateKey::generate(KeyType::Sm2)
            .expect("key")
            .public_key();
        assert!(
            stranger
                .verify_recurring(alg, b"tbsCertificate", &sig)
                .is_err()
        );
    }
}
