//! Wrapping (authenticated encryption) of private keys at rest.
//!
//! Blob format: `alg_id (1 byte) ‖ nonce (12 bytes) ‖ ciphertext ‖ tag (16 bytes)`
//! with `alg_id` 1 = SM4-GCM, 2 = AES-256-GCM. The GCM associated data is
//! `alg_id ‖ aad`, so the algorithm byte cannot be swapped without detection
//! and a blob only opens in the context (`aad`, e.g. the key id) it was sealed for.

use std::fmt;
use std::str::FromStr;

use aes_gcm::aead::AeadInOut;
use aes_gcm::{Aes256Gcm, AesGcm, KeyInit, Nonce, Tag};
use ring::rand::{SecureRandom, SystemRandom};
use sm4::Sm4;
use sm4::cipher::consts::{U12, U16};
use zeroize::Zeroizing;

use super::CryptoError;

/// SM4 in GCM mode with a 96-bit nonce (RFC 8998).
type Sm4Gcm = AesGcm<Sm4, U12>;

const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const HEADER_LEN: usize = 1 + NONCE_LEN;

/// Label of the SM4-GCM wrapping subkey; changing it orphans every stored key.
const SM4_LABEL: &str = "sidian/v1/wrap/sm4-gcm";
/// Label of the AES-256-GCM wrapping subkey; changing it orphans every stored key.
const AES_LABEL: &str = "sidian/v1/wrap/aes-256-gcm";

/// Cipher used to wrap keys at rest.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
pub enum WrapAlgorithm {
    /// SM4-GCM (GB/T 32907 block cipher, RFC 8998 GCM profile).
    #[default]
    #[serde(rename = "sm4-gcm")]
    Sm4Gcm,
    /// AES-256-GCM.
    #[serde(rename = "aes-256-gcm")]
    Aes256Gcm,
}

impl WrapAlgorithm {
    /// Every wrap algorithm, in a stable order.
    pub const ALL: [WrapAlgorithm; 2] = [WrapAlgorithm::Sm4Gcm, WrapAlgorithm::Aes256Gcm];

    /// Canonical lowercase name ("sm4-gcm" / "aes-256-gcm").
    pub fn as_str(&self) -> &'static str {
        match self {
            WrapAlgorithm::Sm4Gcm => "sm4-gcm",
            WrapAlgorithm::Aes256Gcm => "aes-256-gcm",
        }
    }

    /// The algorithm a wrapped blob was sealed with, read from its first byte.
    pub fn of_blob(blob: &[u8]) -> Option<WrapAlgorithm> {
        blob.first().copied().and_then(Self::from_id)
    }

    fn id(self) -> u8 {
        match self {
            WrapAlgorithm::Sm4Gcm => 1,
            WrapAlgorithm::Aes256Gcm => 2,
        }
    }

    fn from_id(id: u8) -> Option<WrapAlgorithm> {
        match id {
            1 => Some(WrapAlgorithm::Sm4Gcm),
            2 => Some(WrapAlgorithm::Aes256Gcm),
            _ => None,
        }
    }
}

impl fmt::Display for WrapAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for WrapAlgorithm {
    type Err = CryptoError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        WrapAlgorithm::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| super::unknown_name(s))
    }
}

/// The service master key: 32 secret bytes from which every wrapping and
/// MAC key is derived.
///
/// Both GCM ciphers are keyed once at construction so that wrapping and
/// unwrapping do no key schedule work per call.
pub struct MasterKey {
    secret: Zeroizing<[u8; 32]>,
    sm4: Sm4Gcm,
    aes: Aes256Gcm,
}

impl MasterKey {
    /// Length of a master key in bytes.
    pub const LEN: usize = 32;

    /// A fresh master key from the system RNG.
    pub fn generate() -> Result<MasterKey, CryptoError> {
        let mut bytes = Zeroizing::new([0u8; Self::LEN]);
        SystemRandom::new()
            .fill(bytes.as_mut_slice())
            .map_err(|_| CryptoError::Random)?;
        MasterKey::from_bytes(bytes.as_slice())
    }

    /// Load a master key from exactly 32 bytes (e.g. the key file contents).
    pub fn from_bytes(bytes: &[u8]) -> Result<MasterKey, CryptoError> {
        let mut secret = Zeroizing::new([0u8; Self::LEN]);
        if bytes.len() != Self::LEN {
            return Err(CryptoError::InvalidMasterKey);
        }
        secret.copy_from_slice(bytes);

        let sm4_key = derive_subkey(&secret, SM4_LABEL);
        let sm4 =
            Sm4Gcm::new_from_slice(&sm4_key[..16]).map_err(|_| CryptoError::InvalidMasterKey)?;
        let aes_key = derive_subkey(&secret, AES_LABEL);
        let aes = Aes256Gcm::new_from_slice(aes_key.as_slice())
            .map_err(|_| CryptoError::InvalidMasterKey)?;

        Ok(MasterKey { secret, sm4, aes })
    }

    /// The raw key bytes, for writing the master key file only; never log them.
    pub fn expose_secret(&self) -> &[u8; 32] {
        &self.secret
    }

    /// A purpose-specific 32-byte subkey: HMAC-SHA256(master, label).
    ///
    /// Labels should be namespaced like `"sidian/v1/<purpose>"`; distinct
    /// labels give independent keys.
    pub fn derive(&self, label: &str) -> Zeroizing<[u8; 32]> {
        derive_subkey(&self.secret, label)
    }

    /// Seal `plaintext` (typically PKCS#8) bound to `aad`; see the module docs
    /// for the blob format.
    pub fn wrap(
        &self,
        alg: WrapAlgorithm,
        plaintext: &[u8],
        aad: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| CryptoError::Random)?;
        let nonce = Nonce::<U12>::from(nonce);
        let full_aad = bound_aad(alg, aad);

        let mut out = Vec::with_capacity(HEADER_LEN + plaintext.len() + TAG_LEN);
        out.push(alg.id());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(plaintext);
        let body = &mut out[HEADER_LEN..];
        let tag = match alg {
            WrapAlgorithm::Sm4Gcm => {
                self.sm4
                    .encrypt_inout_detached(&nonce, &full_aad, body.into())
            }
            WrapAlgorithm::Aes256Gcm => {
                self.aes
                    .encrypt_inout_detached(&nonce, &full_aad, body.into())
            }
        }
        .map_err(|_| CryptoError::Wrap)?;
        out.extend_from_slice(&tag);
        Ok(out)
    }

    /// Open a blob produced by [`MasterKey::wrap`] with the same `aad`.
    ///
    /// Every failure (unknown algorithm byte, short blob, bad tag) is the same
    /// [`CryptoError::Unwrap`] so callers cannot build an oracle from it.
    pub fn unwrap(&self, blob: &[u8], aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        if blob.len() < HEADER_LEN + TAG_LEN {
            return Err(CryptoError::Unwrap);
        }
        let alg = WrapAlgorithm::of_blob(blob).ok_or(CryptoError::Unwrap)?;
        let nonce =
            Nonce::<U12>::try_from(&blob[1..HEADER_LEN]).map_err(|_| CryptoError::Unwrap)?;
        let (ciphertext, tag) = blob[HEADER_LEN..].split_at(blob.len() - HEADER_LEN - TAG_LEN);
        let tag = Tag::<U16>::try_from(tag).map_err(|_| CryptoError::Unwrap)?;
        let full_aad = bound_aad(alg, aad);

        let mut plaintext = Zeroizing::new(ciphertext.to_vec());
        let buf = plaintext.as_mut_slice();
        match alg {
            WrapAlgorithm::Sm4Gcm => {
                self.sm4
                    .decrypt_inout_detached(&nonce, &full_aad, buf.into(), &tag)
            }
            WrapAlgorithm::Aes256Gcm => {
                self.aes
                    .decrypt_inout_detached(&nonce, &full_aad, buf.into(), &tag)
            }
        }
        .map_err(|_| CryptoError::Unwrap)?;
        Ok(plaintext)
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

fn derive_subkey(master: &[u8; 32], label: &str) -> Zeroizing<[u8; 32]> {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, master);
    let tag = ring::hmac::sign(&key, label.as_bytes());
    let mut out = Zeroizing::new([0u8; 32]);
    // HMAC-SHA256 output is always 32 bytes.
    out.copy_from_slice(tag.as_ref());
    out
}

/// Prepends the algorithm byte so a blob cannot be re-labelled as the other cipher.
fn bound_aad(alg: WrapAlgorithm, aad: &[u8]) -> Vec<u8> {
    let mut full = Vec::with_capacity(1 + aad.len());
    full.push(alg.id());
    full.extend_from_slice(aad);
    full
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        hex::decode(s).expect("test hex")
    }

    const PLAINTEXT: &[u8] = b"-----PKCS#8 private key bytes go here-----";
    const AAD: &[u8] = b"key:3f6b1c";

    #[test]
    fn rfc8998_sm4_gcm_vector() {
        // RFC 8998 Appendix A.1, cross-checked against GmSSL, Nettle and
        // Go's gmsm test suites.
        let key = hex("0123456789ABCDEFFEDCBA9876543210");
        let iv = hex("00001234567800000000ABCD");
        let aad = hex("FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2");
        let plaintext = hex(concat!(
            "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDD",
            "EEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFFEEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA"
        ));
        let ciphertext = hex(concat!(
            "17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735",
            "D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D"
        ));
        let expected_tag = hex("83DE3541E4C2B58177E065A9BF7B62EC");

        let cipher = Sm4Gcm::new_from_slice(&key).expect("key");
        let nonce = Nonce::<U12>::try_from(iv.as_slice()).expect("nonce");
        let mut buf = plaintext.clone();
        let tag = cipher
            .encrypt_inout_detached(&nonce, &aad, buf.as_mut_slice().into())
            .expect("encrypt");
        assert_eq!(buf, ciphertext);
        assert_eq!(tag.as_slice(), expected_tag.as_slice());

        cipher
            .decrypt_inout_detached(&nonce, &aad, buf.as_mut_slice().into(), &tag)
            .expect("decrypt");
        assert_eq!(buf, plaintext);
    }

    #[test]
    fn roundtrip_both_algorithms() {
        let mk = MasterKey::generate().expect("master key");
        for alg in WrapAlgorithm::ALL {
            let blob = mk.wrap(alg, PLAINTEXT, AAD).expect("wrap");
            assert_eq!(blob.len(), 1 + 12 + PLAINTEXT.len() + 16);
            assert_eq!(blob[0], alg.id());
            assert_eq!(WrapAlgorithm::of_blob(&blob), Some(alg));
            assert_ne!(&blob[HEADER_LEN..HEADER_LEN + PLAINTEXT.len()], PLAINTEXT);
            let opened = mk.unwrap(&blob, AAD).expect("unwrap");
            assert_eq!(opened.as_slice(), PLAINTEXT);

            // Empty plaintext and empty aad are legal.
            let blob = mk.wrap(alg, b"", b"").expect("wrap empty");
            assert!(mk.unwrap(&blob, b"").expect("unwrap empty").is_empty());
        }
    }

    #[test]
    fn nonces_are_fresh() {
        let mk = MasterKey::generate().expect("master key");
        let a = mk
            .wrap(WrapAlgorithm::Sm4Gcm, PLAINTEXT, AAD)
            .expect("wrap");
        let b = mk
            .wrap(WrapAlgorithm::Sm4Gcm, PLAINTEXT, AAD)
            .expect("wrap");
        assert_ne!(a, b);
    }

    #[test]
    fn wrong_aad_fails() {
        let mk = MasterKey::generate().expect("master key");
        for alg in WrapAlgorithm::ALL {
            let blob = mk.wrap(alg, PLAINTEXT, AAD).expect("wrap");
            assert_eq!(mk.unwrap(&blob, b"key:other"), Err(CryptoError::Unwrap));
            assert_eq!(mk.unwrap(&blob, b""), Err(CryptoError::Unwrap));
        }
    }

    #[test]
    fn any_flipped_bit_fails() {
        let mk = MasterKey::generate().expect("master key");
        for alg in WrapAlgorithm::ALL {
            let blob = mk.wrap(alg, PLAINTEXT, AAD).expect("wrap");
            for i in 0..blob.len() {
                let mut bad = blob.clone();
                bad[i] ^= 0x01;
                assert_eq!(mk.unwrap(&bad, AAD), Err(CryptoError::Unwrap), "byte {i}");
            }
        }
    }

    #[test]
    fn algorithm_byte_cannot_be_swapped() {
        let mk = MasterKey::generate().expect("master key");
        let mut blob = mk
            .wrap(WrapAlgorithm::Sm4Gcm, PLAINTEXT, AAD)
            .expect("wrap");
        blob[0] = WrapAlgorithm::Aes256Gcm.id();
        assert_eq!(mk.unwrap(&blob, AAD), Err(CryptoError::Unwrap));
        blob[0] = 0;
        assert_eq!(mk.unwrap(&blob, AAD), Err(CryptoError::Unwrap));
        blob[0] = 0xff;
        assert_eq!(mk.unwrap(&blob, AAD), Err(CryptoError::Unwrap));
    }

    #[test]
    fn wrong_master_key_fails() {
        let mk = MasterKey::generate().expect("master key");
        let other = MasterKey::generate().expect("master key");
        for alg in WrapAlgorithm::ALL {
            let blob = mk.wrap(alg, PLAINTEXT, AAD).expect("wrap");
            assert_eq!(other.unwrap(&blob, AAD), Err(CryptoError::Unwrap));
        }
    }

    #[test]
    fn truncated_blobs_fail_without_panic() {
        let mk = MasterKey::generate().expect("master key");
        for alg in WrapAlgorithm::ALL {
            let blob = mk.wrap(alg, PLAINTEXT, AAD).expect("wrap");
            for len in 0..blob.len() {
                assert_eq!(
                    mk.unwrap(&blob[..len], AAD),
                    Err(CryptoError::Unwrap),
                    "len {len}"
                );
            }
            let mut longer = blob.clone();
            longer.push(0);
            assert_eq!(mk.unwrap(&longer, AAD), Err(CryptoError::Unwrap));
        }
    }

    #[test]
    fn master_key_from_bytes_is_deterministic() {
        let bytes = [7u8; 32];
        let a = MasterKey::from_bytes(&bytes).expect("key");
        let b = MasterKey::from_bytes(&bytes).expect("key");
        assert_eq!(a.expose_secret(), &bytes);
        let blob = a
            .wrap(WrapAlgorithm::Aes256Gcm, PLAINTEXT, AAD)
            .expect("wrap");
        assert_eq!(b.unwrap(&blob, AAD).expect("unwrap").as_slice(), PLAINTEXT);
        assert_eq!(a.derive("sidian/v1/api-key"), b.derive("sidian/v1/api-key"));
        assert_ne!(*a.derive("sidian/v1/api-key"), *a.derive("sidian/v1/other"));
        assert_ne!(*a.derive("x"), [7u8; 32]);

        assert_eq!(
            MasterKey::from_bytes(&[0u8; 31]).err(),
            Some(CryptoError::InvalidMasterKey)
        );
        assert_eq!(
            MasterKey::from_bytes(&[0u8; 33]).err(),
            Some(CryptoError::InvalidMasterKey)
        );
        assert_eq!(
            MasterKey::from_bytes(&[]).err(),
            Some(CryptoError::InvalidMasterKey)
        );
    }

    #[test]
    fn subkeys_follow_the_documented_derivation() {
        // Pin the derivation so a refactor cannot silently orphan stored keys:
        // the SM4 key is the first half of HMAC(master, label).
        let mk = MasterKey::from_bytes(&[0x42; 32]).expect("key");
        let sm4_key = mk.derive(SM4_LABEL);
        let direct = Sm4Gcm::new_from_slice(&sm4_key[..16]).expect("key");
        let blob = mk
            .wrap(WrapAlgorithm::Sm4Gcm, PLAINTEXT, AAD)
            .expect("wrap");
        let nonce = Nonce::<U12>::try_from(&blob[1..13]).expect("nonce");
        let mut body = blob[13..blob.len() - 16].to_vec();
        let tag = Tag::<U16>::try_from(&blob[blob.len() - 16..]).expect("tag");
        let mut aad = vec![1u8];
        aad.extend_from_slice(AAD);
        direct
            .decrypt_inout_detached(&nonce, &aad, body.as_mut_slice().into(), &tag)
            .expect("decrypt with directly derived key");
        assert_eq!(body, PLAINTEXT);

        let aes_key = mk.derive(AES_LABEL);
        let direct = Aes256Gcm::new_from_slice(aes_key.as_slice()).expect("key");
        let blob = mk
            .wrap(WrapAlgorithm::Aes256Gcm, PLAINTEXT, AAD)
            .expect("wrap");
        let nonce = Nonce::<U12>::try_from(&blob[1..13]).expect("nonce");
        let mut body = blob[13..blob.len() - 16].to_vec();
        let tag = Tag::<U16>::try_from(&blob[blob.len() - 16..]).expect("tag");
        let mut aad = vec![2u8];
        aad.extend_from_slice(AAD);
        direct
            .decrypt_inout_detached(&nonce, &aad, body.as_mut_slice().into(), &tag)
            .expect("decrypt with directly derived key");
        assert_eq!(body, PLAINTEXT);
    }

    #[test]
    fn names_and_debug() {
        for alg in WrapAlgorithm::ALL {
            assert_eq!(alg.as_str().parse::<WrapAlgorithm>(), Ok(alg));
            assert_eq!(
                serde_json::to_string(&alg).expect("serialize"),
                format!("\"{alg}\"")
            );
        }
        assert_eq!(WrapAlgorithm::default(), WrapAlgorithm::Sm4Gcm);
        assert!("SM4-GCM".parse::<WrapAlgorithm>().is_err());
        let mk = MasterKey::from_bytes(&[0xAB; 32]).expect("key");
        assert_eq!(format!("{mk:?}"), "MasterKey(..)");
        assert_eq!(format!("{:#?}", mk), "MasterKey(..)");
    }
}
