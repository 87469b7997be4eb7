//! Asymmetric key pairs: generation, PKCS#8 / SPKI encoding, signing and
//! verification.
//!
//! Private keys are parsed once into ready-to-use signers so that the signing
//! hot path is the bare library call plus one allocation for the output.

use std::fmt;
use std::sync::OnceLock;

use base64::Engine as _;
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{self as ring_sig, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RsaKeyPair};
use sm2::dsa::signature::Verifier as _;
use sm2::dsa::signature::hazmat::PrehashSigner;
use sm2::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _};
use sm3::Digest as _;
use spki::der::asn1::{AnyRef, BitStringRef};
use spki::der::{Decode as _, Encode as _};
use spki::{AlgorithmIdentifierRef, ObjectIdentifier, SubjectPublicKeyInfoRef};
use zeroize::Zeroizing;

use super::{CryptoError, KeyType, SignatureAlgorithm};

/// The SM2 distinguishing identifier used for every signature (GM/T 0009
/// default); it is hashed into Z_A, so signer and verifier must agree on it.
pub const SM2_DEFAULT_ID: &str = "1234567812345678";

const ID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const SM2_CURVE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.156.10197.1.301");
const P256_CURVE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const ID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

/// PSS salt length; equal to the SHA-256 output so ring, the `rsa` crate and
/// OpenSSL (`rsa_pss_saltlen:32`) all agree.
const PSS_SALT_LEN: usize = 32;

/// The DER `SEQUENCE { r, s }` of the one signature in `sigs`.
fn sm2_der(sigs: Vec<sm2::dsa::Signature>) -> Result<Vec<u8>, CryptoError> {
    match sigs.as_slice() {
        [sig] => Ok(sig.to_der().to_vec()),
        _ => Err(CryptoError::Signing),
    }
}

/// SM2 curve parameters hashed into Z_A (GM/T 0003.5 recommended curve).
const SM2_A: [u8; 32] = hex_32("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC");
const SM2_B: [u8; 32] = hex_32("28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93");
const SM2_GX: [u8; 32] = hex_32("32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7");
const SM2_GY: [u8; 32] = hex_32("BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0");

/// Compile-time hex decoding so curve constants stay readable and cannot fail at run time.
const fn hex_32(s: &str) -> [u8; 32] {
    const fn nibble(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => panic!("invalid hex digit in constant"),
        }
    }
    let bytes = s.as_bytes();
    assert!(bytes.len() == 64, "hex constant must be 32 bytes");
    let mut out = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        out[i] = (nibble(bytes[2 * i]) << 4) | nibble(bytes[2 * i + 1]);
        i += 1;
    }
    out
}

/// Adapter exposing ring's `SystemRandom` through `rand_core`, so every
/// library (`rsa`, `sm2`) draws from the one audited OS RNG.
struct RingRng(SystemRandom);

#[derive(Debug)]
struct RngFailure;

impl fmt::Display for RngFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("system RNG failure")
    }
}

impl std::error::Error for RngFailure {}

impl rsa::rand_core::TryRng for RingRng {
    type Error = RngFailure;

    fn try_next_u32(&mut self) -> Result<u32, RngFailure> {
        let mut b = [0u8; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn try_next_u64(&mut self) -> Result<u64, RngFailure> {
        let mut b = [0u8; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), RngFailure> {
        self.0.fill(dst).map_err(|_| RngFailure)
    }
}

impl rsa::rand_core::TryCryptoRng for RingRng {}

fn rsa_bits(key_type: KeyType) -> Option<usize> {
    match key_type {
        KeyType::Rsa2048 => Some(2048),
        KeyType::Rsa3072 => Some(3072),
        KeyType::Sm2 | KeyType::P256 | KeyType::Ed25519 => None,
    }
}

/// Initialises a lazily-built signer; a racing duplicate build is harmless.
fn cached<T>(
    cell: &OnceLock<T>,
    init: impl FnOnce() -> Result<T, CryptoError>,
) -> Result<&T, CryptoError> {
    if let Some(value) = cell.get() {
        return Ok(value);
    }
    let value = init()?;
    Ok(cell.get_or_init(|| value))
}

/// A private signing key.
///
/// Opaque on purpose: the only way to get the secret out is
/// [`PrivateKey::to_pkcs8_der`], which is meant for wrapping with
/// [`super::MasterKey::wrap`] before storage.
pub struct PrivateKey {
    signer: Signer,
    pkcs8: Zeroizing<Vec<u8>>,
    public: PublicKey,
}

enum Signer {
    Sm2(Box<super::sm2_sign::Sm2Signer>),
    P256 {
        pair: EcdsaKeyPair,
        // ring cannot sign a prehash; built from the PKCS#8 on first use.
        prehash: OnceLock<p256::ecdsa::SigningKey>,
    },
    Ed25519(Ed25519KeyPair),
    Rsa {
        pair: RsaKeyPair,
        // ring cannot sign a prehash; built from the PKCS#8 on first use.
        prehash: OnceLock<rsa::PrivateKey>,
    },
}

impl PrivateKey {
    /// A fresh key pair of the given type from the system RNG.
    ///
    /// RSA generation takes from a few hundred milliseconds (2048) to
    /// several seconds (3072); call it off the async executor.
    pub fn generate(key_type: KeyType) -> Result<PrivateKey, CryptoError> {
        let rng = SystemRandom::new();
        match key_type {
            KeyType::Sm2 => {
                let secret =
                    <sm2::SecretKey as sm2::elliptic_curve::Generate>::try_generate_from_rng(
                        &mut RingRng(rng),
                    )
                    .map_err(|_| CryptoError::Random)?;
                let doc = secret
                    .to_pkcs8_der()
                    .map_err(|_| CryptoError::KeyGeneration)?;
                Self::from_pkcs8_der(key_type, doc.as_bytes())
            }
            KeyType::P256 => {
                let doc =
                    EcdsaKeyPair::generate_pkcs8(&ring_sig::ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
                        .map_err(|_| CryptoError::KeyGeneration)?;
                Self::from_pkcs8_der(key_type, doc.as_ref())
            }
            KeyType::Ed25519 => {
                let doc =
                    Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| CryptoError::KeyGeneration)?;
                Self::from_pkcs8_der(key_type, doc.as_ref())
            }
            KeyType::Rsa2048 | KeyType::Rsa3072 => {
                let bits = rsa_bits(key_type).ok_or(CryptoError::KeyGeneration)?;
                // `RsaPrivateKey::new` uses e = 65537.
                let key = rsa::PrivateKey::new(&mut RingRng(rng), bits)
                    .map_err(|_| CryptoError::KeyGeneration)?;
                let doc = key.to_pkcs8_der().map_err(|_| CryptoError::KeyGeneration)?;
                let private = Self::from_pkcs8_der(key_type, doc.as_bytes())?;
                if let Signer::Rsa { prehash, .. } = &private.signer {
                    // Saves a re-parse if this key is used for digest signing.
                    let _ = prehash.set(key);
                }
                Ok(private)
            }
        }
    }

    /// Parse a PKCS#8 `PrivateKeyInfo` (v1 or v2) and check it really is a
    /// `key_type` key (curve, algorithm and RSA modulus size).
    pub fn from_pkcs8_der(key_type: KeyType, der: &[u8]) -> Result<PrivateKey, CryptoError> {
        let rng = SystemRandom::new();
        let mut pkcs8 = Zeroizing::new(der.to_vec());
        let (signer, public) = match key_type {
            KeyType::Sm2 => {
                // Checks id-ecPublicKey with the SM2 curve OID.
                let secret = sm2::SecretKey::from_pkcs8_der(der)
                    .map_err(|_| CryptoError::InvalidPrivateKey)?;
                let signing_key = sm2::dsa::SigningKey::new(SM2_DEFAULT_ID, &secret)
                    .map_err(|_| CryptoError::InvalidPrivateKey)?;
                let public = PublicKey::sm2_from_verifying_key(signing_key.verifying_key().clone())
                    .map_err(|_| CryptoError::InvalidPrivateKey)?;
                let signer = super::sm2_sign::Sm2Signer::new(secret.to_nonzero_scalar())?;
                (Signer::Sm2(Box::new(signer)), public)
            }
            KeyType::P256 => {
                let alg = &ring_sig::ECDSA_P256_SHA256_ASN1_SIGNING;
                let pair = match EcdsaKeyPair::from_pkcs8(alg, der, &rng) {
                    Ok(pair) => pair,
                    Err(_) => {
                        // ring insists on the optional embedded public key; other
                        // encoders may omit it, so normalise through p256 and retry.
                        let secret = p256::SecretKey::from_pkcs8_der(der)
                            .map_err(|_| CryptoError::InvalidPrivateKey)?;
                        let doc = secret
                            .to_pkcs8_der()
                            .map_err(|_| CryptoError::InvalidPrivateKey)?;
                        pkcs8 = Zeroizing::new(doc.as_bytes().to_vec());
                        EcdsaKeyPair::from_pkcs8(alg, &pkcs8, &rng)
                            .map_err(|_| CryptoError::InvalidPrivateKey)?
                    }
                };
                let public = PublicKey::p256_from_point(pair.public_key().as_ref())
                    .map_err(|_| CryptoError::InvalidPrivateKey)?;
                let signer = Signer::P256 {
                    pair,
                    prehash: OnceLock::new(),
                };
                (signer, public)
            }
            KeyType::Ed25519 => {
                // "maybe_unchecked" accepts PKCS#8 v1 (no public key), as OpenSSL writes.
                let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
                    .map_err(|_| CryptoError::InvalidPrivateKey)?;
                let public = PublicKey::ed25519_from_bytes(pair.public_key().as_ref())
                    .map_err(|_| CryptoError::InvalidPrivateKey)?;
                (Signer::Ed25519(pair), public)
            }
            KeyType::Rsa2048 | KeyType::Rsa3072 => {
                let pair =
                    RsaKeyPair::from_pkcs8(der).map_err(|_| CryptoError::InvalidPrivateKey)?;
                let public = PublicKey::rsa_from_pkcs1(pair.public().as_ref())
                    .map_err(|_| CryptoError::InvalidPrivateKey)?;
                let signer = Signer::Rsa {
                    pair,
                    prehash: OnceLock::new(),
                };
                (signer, public)
            }
        };
        if public.key_type() != key_type {
            return Err(CryptoError::InvalidPrivateKey);
        }
        Ok(PrivateKey {
            signer,
            pkcs8,
            public,
        })
    }

    /// The PKCS#8 encoding to wrap and store; round-trips through
    /// [`PrivateKey::from_pkcs8_der`].
    pub fn to_pkcs8_der(&self) -> Zeroizing<Vec<u8>> {
        self.pkcs8.clone()
    }

    /// The type of this key.
    pub fn key_type(&self) -> KeyType {
        self.public.key_type()
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        self.public.clone()
    }

    /// Sign `message` (hashing it as `alg` prescribes).
    ///
    /// Output: DER for SM2 and ECDSA, raw 64 bytes for Ed25519, a
    /// modulus-sized big-endian integer for RSA. SM2 (RFC 6979 nonces) and
    /// Ed25519 are deterministic; ECDSA and RSA-PSS are randomised.
    pub fn sign(&self, alg: SignatureAlgorithm, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        match (&self.signer, alg) {
            (Signer::Sm2(key), SignatureAlgorithm::Sm2Sm3) => {
                let digest = self.public.message_digest(alg, message)?;
                sm2_der(key.sign_digests(&[digest])?)
            }
            (Signer::P256 { pair, .. }, SignatureAlgorithm::EcdsaP256Sha256) => {
                let sig = pair
                    .sign(&SystemRandom::new(), message)
                    .map_err(|_| CryptoError::Signing)?;
                Ok(sig.as_ref().to_vec())
            }
            (Signer::Ed25519(pair), SignatureAlgorithm::Ed25519) => {
                Ok(pair.sign(message).as_ref().to_vec())
            }
            (Signer::Rsa { pair, .. }, SignatureAlgorithm::RsaPkcs1Sha256) => {
                rsa_sign_ring(pair, &ring_sig::RSA_PKCS1_SHA256, message)
            }
            (Signer::Rsa { pair, .. }, SignatureAlgorithm::RsaPssSha256) => {
                rsa_sign_ring(pair, &ring_sig::RSA_PSS_SHA256, message)
            }
            _ => Err(CryptoError::UnsupportedAlgorithm),
        }
    }

    /// Signs each message as [`Self::sign`] does, in order; SM2 shares the inversions of the
    /// batch (the signatures are the same as one by one).
    pub fn sign_many(
        &self,
        alg: SignatureAlgorithm,
        messages: &[&[u8]],
    ) -> Result<Vec<Vec<u8>>, CryptoError> {
        match (&self.signer, alg) {
            (Signer::Sm2(key), SignatureAlgorithm::Sm2Sm3) => {
                let digests = messages
                    .iter()
                    .map(|m| self.public.message_digest(alg, m))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(key
                    .sign_digests(&digests)?
                    .iter()
                    .map(|sig| sig.to_der().to_vec())
                    .collect())
            }
            _ => messages.iter().map(|m| self.sign(alg, m)).collect(),
        }
    }

    /// Sign a precomputed digest: same output encoding as [`PrivateKey::sign`],
    /// and the result verifies with [`PublicKey::verify`] over the original
    /// message (byte-identical to `sign` for the deterministic SM2 path).
    ///
    /// The digest is SHA-256(M) for ECDSA and RSA, and e = SM3(Z_A ‖ M) for
    /// SM2 ([`PublicKey::message_digest`] computes either). Ed25519 has no
    /// prehash form and returns [`CryptoError::DigestSigningUnsupported`].
    pub fn sign_digest(
        &self,
        alg: SignatureAlgorithm,
        digest: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        if !self.key_type().supports(alg) {
            return Err(CryptoError::UnsupportedAlgorithm);
        }
        let expected = alg
            .digest_len()
            .ok_or(CryptoError::DigestSigningUnsupported)?;
        if digest.len() != expected {
            return Err(CryptoError::BadDigestLength { expected });
        }
        match (&self.signer, alg) {
            (Signer::Sm2(key), SignatureAlgorithm::Sm2Sm3) => {
                let digest: [u8; 32] = digest
                    .try_into()
                    .map_err(|_| CryptoError::BadDigestLength { expected: 32 })?;
                sm2_der(key.sign_digests(&[digest])?)
            }
            (Signer::P256 { prehash, .. }, SignatureAlgorithm::EcdsaP256Sha256) => {
                let key = cached(prehash, || {
                    p256::ecdsa::SigningKey::from_pkcs8_der(&self.pkcs8)
                        .map_err(|_| CryptoError::InvalidPrivateKey)
                })?;
                let sig: p256::ecdsa::Signature =
                    key.sign_prehash(digest).map_err(|_| CryptoError::Signing)?;
                Ok(sig.to_der().as_bytes().to_vec())
            }
            (Signer::Rsa { prehash, .. }, SignatureAlgorithm::RsaPkcs1Sha256) => {
                let key = cached(prehash, || self.rsa_private_key())?;
                key.sign_with_rng(
                    &mut RingRng(SystemRandom::new()),
                    rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
                    digest,
                )
                .map_err(|_| CryptoError::Signing)
            }
            (Signer::Rsa { prehash, .. }, SignatureAlgorithm::RsaPssSha256) => {
                let key = cached(prehash, || self.rsa_private_key())?;
                key.sign_with_rng(
                    &mut RingRng(SystemRandom::new()),
                    rsa::Pss::<sha2::Sha256>::new_with_salt(PSS_SALT_LEN),
                    digest,
                )
                .map_err(|_| CryptoError::Signing)
            }
            (Signer::Ed25519(_), _) => Err(CryptoError::DigestSigningUnsupported),
            _ => Err(CryptoError::UnsupportedAlgorithm),
        }
    }

    fn rsa_private_key(&self) -> Result<rsa::PrivateKey, CryptoError> {
        rsa::PrivateKey::from_pkcs8_der(&self.pkcs8).map_err(|_| CryptoError::InvalidPrivateKey)
    }
}

fn rsa_sign_ring(
    pair: &RsaKeyPair,
    padding: &'static dyn ring_sig::RsaEncoding,
    message: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let mut sig = vec![0u8; pair.public().modulus_len()];
    pair.sign(padding, &SystemRandom::new(), message, &mut sig)
        .map_err(|_| CryptoError::Signing)?;
    Ok(sig)
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey")
            .field("key_type", &self.key_type())
            .finish_non_exhaustive()
    }
}

/// A public key: canonical SPKI DER plus a verifier prepared at parse time.
#[derive(Clone)]
pub struct PublicKey {
    key_type: KeyType,
    spki: Box<[u8]>,
    verifier: Verifier,
}

#[derive(Clone)]
enum Verifier {
    Sm2 {
        key: Box<sm2::dsa::VerifyingKey>,
        z_a: [u8; 32],
    },
    /// Uncompressed SEC1 point, as ring wants it.
    P256([u8; 65]),
    Ed25519([u8; 32]),
    /// PKCS#1 `RSAPublicKey` DER, as ring wants it.
    Rsa(Box<[u8]>),
}

fn invalid(msg: impl Into<String>) -> CryptoError {
    CryptoError::InvalidPublicKey(msg.into())
}

impl PublicKey {
    /// Parse a PEM `PUBLIC KEY` block (SubjectPublicKeyInfo).
    pub fn from_pem(pem: &str) -> Result<PublicKey, CryptoError> {
        const BEGIN: &str = "-----BEGIN PUBLIC KEY-----";
        const END: &str = "-----END PUBLIC KEY-----";
        let body = pem
            .trim()
            .strip_prefix(BEGIN)
            .and_then(|rest| rest.strip_suffix(END))
            .ok_or_else(|| invalid("expected a single PEM \"PUBLIC KEY\" block"))?;
        let b64: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|_| invalid("PEM body is not valid base64"))?;
        Self::from_spki_der(&der)
    }

    /// Parse a DER SubjectPublicKeyInfo for any supported key type.
    ///
    /// The key type is inferred: the EC curve OID distinguishes SM2 from
    /// P-256, and RSA keys must have a 2048- or 3072-bit modulus.
    pub fn from_spki_der(der: &[u8]) -> Result<PublicKey, CryptoError> {
        let spki = SubjectPublicKeyInfoRef::from_der(der)
            .map_err(|_| invalid("malformed SubjectPublicKeyInfo DER"))?;
        let key = spki
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| invalid("public key BIT STRING has unused bits"))?;
        let alg = &spki.algorithm;
        if alg.oid == ID_EC_PUBLIC_KEY {
            let curve = alg
                .parameters_oid()
                .map_err(|_| invalid("EC key parameters must be a named curve OID"))?;
            if curve == SM2_CURVE {
                Self::sm2_from_point(key)
            } else if curve == P256_CURVE {
                Self::p256_from_point(key)
            } else {
                Err(invalid(format!("unsupported elliptic curve {curve}")))
            }
        } else if alg.oid == SM2_CURVE {
            // Some older SM2 toolchains put the curve OID in the algorithm field.
            Self::sm2_from_point(key)
        } else if alg.oid == ID_ED25519 {
            if alg.parameters.is_some() {
                return Err(invalid("Ed25519 key must not have algorithm parameters"));
            }
            Self::ed25519_from_bytes(key)
        } else if alg.oid == RSA_ENCRYPTION {
            if alg.parameters.is_some_and(|p| p != AnyRef::NULL) {
                return Err(invalid("rsaEncryption parameters must be NULL"));
            }
            Self::rsa_from_pkcs1(key)
        } else {
            Err(invalid(format!(
                "unsupported public key algorithm {}",
                alg.oid
            )))
        }
    }

    /// The type of this key.
    pub fn key_type(&self) -> KeyType {
        self.key_type
    }

    /// Canonical DER SubjectPublicKeyInfo (re-encoded, so equal keys give
    /// equal bytes whatever encoding they were parsed from).
    pub fn spki_der(&self) -> &[u8] {
        &self.spki
    }

    /// PEM `PUBLIC KEY` block: 64-column base64 with a trailing newline.
    pub fn to_pem(&self) -> String {
        super::pem_block("PUBLIC KEY", &self.spki)
    }

    /// Verify `signature` over `message`.
    ///
    /// Returns [`CryptoError::UnsupportedAlgorithm`] if `alg` does not fit this
    /// key type and [`CryptoError::InvalidSignature`] for any malformed or
    /// non-matching signature.
    pub fn verify(
        &self,
        alg: SignatureAlgorithm,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), CryptoError> {
        type RingAlg = &'static dyn ring_sig::VerificationAlgorithm;
        let (ring_alg, key_bytes): (RingAlg, &[u8]) = match (&self.verifier, alg) {
            (Verifier::Sm2 { key, .. }, SignatureAlgorithm::Sm2Sm3) => {
                let sig = sm2::dsa::Signature::from_der(signature)
                    .map_err(|_| CryptoError::InvalidSignature)?;
                return key
                    .verify(message, &sig)
                    .map_err(|_| CryptoError::InvalidSignature);
            }
            (Verifier::P256(point), SignatureAlgorithm::EcdsaP256Sha256) => {
                (&ring_sig::ECDSA_P256_SHA256_ASN1, point)
            }
            (Verifier::Ed25519(key), SignatureAlgorithm::Ed25519) => (&ring_sig::ED25519, key),
            (Verifier::Rsa(der), SignatureAlgorithm::RsaPkcs1Sha256) => {
                (&ring_sig::RSA_PKCS1_2048_8192_SHA256, der)
            }
            (Verifier::Rsa(der), SignatureAlgorithm::RsaPssSha256) => {
                (&ring_sig::RSA_PSS_2048_8192_SHA256, der)
            }
            _ => return Err(CryptoError::UnsupportedAlgorithm),
        };
        ring_sig::UnparsedPublicKey::new(ring_alg, key_bytes)
            .verify(message, signature)
            .map_err(|_| CryptoError::InvalidSignature)
    }

    /// The digest that [`PrivateKey::sign_digest`] expects for `message`:
    /// SM3(Z_A ‖ M) with the default ID for SM2, SHA-256(M) for ECDSA/RSA.
    pub fn message_digest(
        &self,
        alg: SignatureAlgorithm,
        message: &[u8],
    ) -> Result<[u8; 32], CryptoError> {
        if !self.key_type.supports(alg) {
            return Err(CryptoError::UnsupportedAlgorithm);
        }
        match &self.verifier {
            Verifier::Sm2 { z_a, .. } => {
                let mut h = sm3::Sm3::new();
                h.update(z_a);
                h.update(message);
                Ok(h.finalize().into())
            }
            Verifier::P256(_) | Verifier::Rsa(_) => Ok(super::sha256(message)),
            Verifier::Ed25519(_) => Err(CryptoError::DigestSigningUnsupported),
        }
    }

    /// Z_A = SM3(ENTL ‖ ID ‖ a ‖ b ‖ xG ‖ yG ‖ xA ‖ yA) for the default ID;
    /// `None` for non-SM2 keys.
    pub fn sm2_z_a(&self) -> Option<[u8; 32]> {
        match &self.verifier {
            Verifier::Sm2 { z_a, .. } => Some(*z_a),
            _ => None,
        }
    }

    /// Z = SM3(ENTL ‖ ID ‖ a ‖ b ‖ xG ‖ yG ‖ xA ‖ yA) for another user ID; `None` for non-SM2
    /// keys. Only for interoperating with software that does not use the default ID.
    pub fn sm2_z(&self, id: &[u8]) -> Option<[u8; 32]> {
        match &self.verifier {
            Verifier::Sm2 { key, .. } => sm2_z(id, &key.to_sec1_bytes()[1..]).ok(),
            _ => None,
        }
    }

    fn sm2_from_point(point: &[u8]) -> Result<PublicKey, CryptoError> {
        // Rejects off-curve points and the identity.
        let key = sm2::dsa::VerifyingKey::from_sec1_bytes(SM2_DEFAULT_ID, point)
            .map_err(|_| invalid("SM2 public key is not a valid curve point"))?;
        Self::sm2_from_verifying_key(key)
    }

    fn sm2_from_verifying_key(key: sm2::dsa::VerifyingKey) -> Result<PublicKey, CryptoError> {
        let point = key.to_sec1_bytes();
        if point.len() != 65 || point[0] != 0x04 {
            return Err(invalid("SM2 point did not encode uncompressed"));
        }
        let z_a = sm2_z(SM2_DEFAULT_ID.as_bytes(), &point[1..])?;
        let spki = encode_spki(ID_EC_PUBLIC_KEY, Some(SM2_CURVE), &point)?;
        Ok(PublicKey {
            key_type: KeyType::Sm2,
            spki,
            verifier: Verifier::Sm2 {
                key: Box::new(key),
                z_a,
            },
        })
    }

    fn p256_from_point(point: &[u8]) -> Result<PublicKey, CryptoError> {
        // Validates the point and normalises compressed input to uncompressed.
        let key = p256::PublicKey::from_sec1_bytes(point)
            .map_err(|_| invalid("P-256 public key is not a valid curve point"))?;
        let encoded = key.to_sec1_bytes();
        let uncompressed: [u8; 65] = encoded
            .as_ref()
            .try_into()
            .map_err(|_| invalid("P-256 point did not encode uncompressed"))?;
        let spki = encode_spki(ID_EC_PUBLIC_KEY, Some(P256_CURVE), &uncompressed)?;
        Ok(PublicKey {
            key_type: KeyType::P256,
            spki,
            verifier: Verifier::P256(uncompressed),
        })
    }

    fn ed25519_from_bytes(key: &[u8]) -> Result<PublicKey, CryptoError> {
        let key: [u8; 32] = key
            .try_into()
            .map_err(|_| invalid("Ed25519 public key must be 32 bytes"))?;
        let spki = encode_spki(ID_ED25519, None, &key)?;
        Ok(PublicKey {
            key_type: KeyType::Ed25519,
            spki,
            verifier: Verifier::Ed25519(key),
        })
    }

    fn rsa_from_pkcs1(der: &[u8]) -> Result<PublicKey, CryptoError> {
        let parsed = rsa::pkcs1::RsaPublicKeyRef::from_der(der)
            .map_err(|_| invalid("malformed RSAPublicKey"))?;
        let n = parsed.modulus.as_bytes();
        let e = parsed.public_exponent.as_bytes();
        let bits = match n.first() {
            Some(&top) => n.len() * 8 - top.leading_zeros() as usize,
            None => 0,
        };
        let key_type = match bits {
            2048 => KeyType::Rsa2048,
            3072 => KeyType::Rsa3072,
            _ => {
                return Err(invalid(format!(
                    "unsupported RSA modulus size {bits} bits (only 2048 and 3072 are accepted)"
                )));
            }
        };
        if n.last().is_none_or(|b| b & 1 == 0) {
            return Err(invalid("RSA modulus must be odd"));
        }
        // Same bounds ring enforces at verification time: odd, 3 <= e < 2^33.
        let e_ok = match e {
            [] => false,
            [.., last] if last & 1 == 0 => false,
            _ if e.len() > 5 => false,
            _ => {
                let value = e.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
                (3..(1u64 << 33)).contains(&value)
            }
        };
        if !e_ok {
            return Err(invalid("RSA public exponent must be odd and in [3, 2^33)"));
        }
        let canonical = parsed
            .to_der()
            .map_err(|_| invalid("cannot re-encode RSAPublicKey"))?;
        let spki = encode_spki_with_null(&canonical)?;
        Ok(PublicKey {
            key_type,
            spki,
            verifier: Verifier::Rsa(canonical.into_boxed_slice()),
        })
    }
}

fn encode_spki(
    alg: ObjectIdentifier,
    curve: Option<ObjectIdentifier>,
    key: &[u8],
) -> Result<Box<[u8]>, CryptoError> {
    let curve_der = curve
        .map(|oid| oid.to_der())
        .transpose()
        .map_err(|_| invalid("cannot encode curve OID"))?;
    let parameters = curve_der
        .as_deref()
        .map(AnyRef::from_der)
        .transpose()
        .map_err(|_| invalid("cannot encode curve OID"))?;
    spki_to_der(alg, parameters, key)
}

fn encode_spki_with_null(key: &[u8]) -> Result<Box<[u8]>, CryptoError> {
    spki_to_der(RSA_ENCRYPTION, Some(AnyRef::NULL), key)
}

fn spki_to_der(
    oid: ObjectIdentifier,
    parameters: Option<AnyRef<'_>>,
    key: &[u8],
) -> Result<Box<[u8]>, CryptoError> {
    let spki = SubjectPublicKeyInfoRef {
        algorithm: AlgorithmIdentifierRef { oid, parameters },
        subject_public_key: BitStringRef::from_bytes(key)
            .map_err(|_| invalid("cannot encode public key BIT STRING"))?,
    };
    spki.to_der()
        .map(Vec::into_boxed_slice)
        .map_err(|_| invalid("cannot encode SubjectPublicKeyInfo"))
}

/// Z = SM3(ENTL ‖ ID ‖ a ‖ b ‖ xG ‖ yG ‖ x ‖ y) (GB/T 32918.2 §5.5) for the point `x ‖ y`.
fn sm2_z(id: &[u8], xy: &[u8]) -> Result<[u8; 32], CryptoError> {
    let entl = u16::try_from(id.len() * 8).map_err(|_| invalid("SM2 ID too long"))?;
    let mut h = sm3::Sm3::new();
    h.update(entl.to_be_bytes());
    h.update(id);
    h.update(SM2_A);
    h.update(SM2_B);
    h.update(SM2_GX);
    h.update(SM2_GY);
    h.update(xy);
    Ok(h.finalize().into())
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.spki == other.spki
    }
}

impl Eq for PublicKey {}

impl std::hash::Hash for PublicKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.spki.hash(state);
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The SPKI fingerprint is what audit records carry; the full DER is noise.
        f.debug_struct("PublicKey")
            .field("key_type", &self.key_type)
            .field("spki_sha256", &hex::encode(super::sha256(&self.spki)))
            .finish()
    }
}

#[cfg(test)]
mod tests;
