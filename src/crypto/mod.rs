//! Cryptographic primitives for the trust service.
//!
//! Everything that touches key material lives here so the rest of the crate
//! only ever sees opaque [`PrivateKey`] / [`PublicKey`] / [`MasterKey`] values
//! and byte strings. The guomi (SM2/SM3/SM4) algorithms are first-class and the
//! defaults; P-256, Ed25519 and RSA exist for interoperability.
//!
//! Wire formats are chosen so that stock OpenSSL 3 verifies every signature:
//! SM2 and ECDSA signatures are DER `SEQUENCE { r, s }` ([`ec_signature`] turns the raw
//! `r‖s` some vendors write into it), Ed25519 signatures are
//! the raw 64 bytes, RSA signatures are the raw modulus-sized integer (PKCS#1
//! v1.5, or PSS with a 32-byte salt). SM2 always uses the default user ID
//! `1234567812345678`.

pub mod algorithm;
pub mod ec_signature;
pub mod hash;
pub mod keys;
mod remembered;
mod sm2_sign;
pub mod wrap;

pub use algorithm::{KeyType, SignatureAlgorithm};
pub use hash::{HashAlgorithm, sha256, sm3};
pub use keys::{PrivateKey, PublicKey, SM2_DEFAULT_ID};
pub use wrap::{MasterKey, WrapAlgorithm};

/// Errors from the crypto layer.
///
/// Messages are safe to log and to return to API clients: they never contain
/// key material, plaintext or signature bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// The signature algorithm cannot be used with this key type.
    #[error("signature algorithm is not supported by this key type")]
    UnsupportedAlgorithm,
    /// A key type, signature, hash or wrap algorithm name was not recognised.
    #[error("unknown algorithm name {0:?}")]
    UnknownAlgorithm(String),
    /// The algorithm has no prehash form (Ed25519 signs the whole message).
    #[error("this signature algorithm cannot sign a precomputed digest")]
    DigestSigningUnsupported,
    /// A precomputed digest had the wrong length for the algorithm.
    #[error("digest must be exactly {expected} bytes")]
    BadDigestLength {
        /// Required digest length in bytes.
        expected: usize,
    },
    /// A public key (PEM, SPKI or key parameters) was malformed or unsupported.
    #[error("invalid public key: {0}")]
    InvalidPublicKey(String),
    /// A private key was malformed, inconsistent, or not of the expected type.
    #[error("invalid private key")]
    InvalidPrivateKey,
    /// The signature is malformed or does not verify.
    #[error("invalid signature")]
    InvalidSignature,
    /// Key generation failed.
    #[error("key generation failed")]
    KeyGeneration,
    /// Producing a signature failed.
    #[error("signing failed")]
    Signing,
    /// A master key had the wrong length.
    #[error("master key must be exactly 32 bytes")]
    InvalidMasterKey,
    /// Encrypting a key for storage failed.
    #[error("key wrapping failed")]
    Wrap,
    /// A wrapped blob failed authentication: wrong master key, wrong
    /// associated data, or the blob was truncated or tampered with.
    #[error("unwrap failed: wrong key, wrong associated data, or corrupted blob")]
    Unwrap,
    /// The system random number generator failed.
    #[error("system random number generator failed")]
    Random,
}

/// A PEM block (RFC 7468): `label`, 64-column base64 of `der`, a trailing newline.
pub fn pem_block(label: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut pem = String::with_capacity(b64.len() + b64.len() / 64 + 2 * label.len() + 32);
    pem.push_str(&format!("-----BEGIN {label}-----\n"));
    let mut rest = b64.as_str();
    while !rest.is_empty() {
        // Base64 output is ASCII, so every byte index is a char boundary.
        let (line, tail) = rest.split_at(rest.len().min(64));
        pem.push_str(line);
        pem.push('\n');
        rest = tail;
    }
    pem.push_str(&format!("-----END {label}-----\n"));
    pem
}

/// Bounds attacker-controlled names echoed back in [`CryptoError::UnknownAlgorithm`].
fn unknown_name(name: &str) -> CryptoError {
    CryptoError::UnknownAlgorithm(name.chars().take(64).collect())
}
