//! Key types and signature algorithms, with their stable string names.
//!
//! The string names are part of the HTTP API and the database schema: never
//! rename one.

use std::fmt;
use std::str::FromStr;

use super::CryptoError;

/// The kind of an asymmetric key pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum KeyType {
    /// SM2 on the GM/T 0003.5 recommended curve.
    #[serde(rename = "sm2")]
    Sm2,
    /// NIST P-256 (secp256r1).
    #[serde(rename = "p256")]
    P256,
    /// Ed25519 (RFC 8032).
    #[serde(rename = "ed25519")]
    Ed25519,
    /// RSA with a 2048-bit modulus.
    #[serde(rename = "rsa2048")]
    Rsa2048,
    /// RSA with a 3072-bit modulus.
    #[serde(rename = "rsa3072")]
    Rsa3072,
}

impl KeyType {
    /// Every key type, in a stable order.
    pub const ALL: [KeyType; 5] = [
        KeyType::Sm2,
        KeyType::P256,
        KeyType::Ed25519,
        KeyType::Rsa2048,
        KeyType::Rsa3072,
    ];

    /// Canonical lowercase name, e.g. "sm2" or "rsa3072".
    pub fn as_str(&self) -> &'static str {
        match self {
            KeyType::Sm2 => "sm2",
            KeyType::P256 => "p256",
            KeyType::Ed25519 => "ed25519",
            KeyType::Rsa2048 => "rsa2048",
            KeyType::Rsa3072 => "rsa3072",
        }
    }

    /// The algorithm used when a caller does not name one.
    pub fn default_signature_algorithm(&self) -> SignatureAlgorithm {
        match self {
            KeyType::Sm2 => SignatureAlgorithm::Sm2Sm3,
            KeyType::P256 => SignatureAlgorithm::EcdsaP256Sha256,
            KeyType::Ed25519 => SignatureAlgorithm::Ed25519,
            KeyType::Rsa2048 | KeyType::Rsa3072 => SignatureAlgorithm::RsaPkcs1Sha256,
        }
    }

    /// The longest signature value a key of this type makes (DER ECDSA/SM2 with both integers
    /// at full length plus a sign byte; RSA the modulus length).
    pub fn max_signature_len(&self) -> usize {
        match self {
            KeyType::Sm2 | KeyType::P256 => 72,
            KeyType::Ed25519 => 64,
            KeyType::Rsa2048 => 256,
            KeyType::Rsa3072 => 384,
        }
    }

    /// Whether a key of this type can produce / verify `alg` signatures.
    pub fn supports(&self, alg: SignatureAlgorithm) -> bool {
        matches!(
            (self, alg),
            (KeyType::Sm2, SignatureAlgorithm::Sm2Sm3)
                | (KeyType::P256, SignatureAlgorithm::EcdsaP256Sha256)
                | (KeyType::Ed25519, SignatureAlgorithm::Ed25519)
                | (
                    KeyType::Rsa2048 | KeyType::Rsa3072,
                    SignatureAlgorithm::RsaPkcs1Sha256 | SignatureAlgorithm::RsaPssSha256
                )
        )
    }

    /// Signature algorithms usable with this key type, default first.
    pub fn signature_algorithms(&self) -> &'static [SignatureAlgorithm] {
        match self {
            KeyType::Sm2 => &[SignatureAlgorithm::Sm2Sm3],
            KeyType::P256 => &[SignatureAlgorithm::EcdsaP256Sha256],
            KeyType::Ed25519 => &[SignatureAlgorithm::Ed25519],
            KeyType::Rsa2048 | KeyType::Rsa3072 => &[
                SignatureAlgorithm::RsaPkcs1Sha256,
                SignatureAlgorithm::RsaPssSha256,
            ],
        }
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for KeyType {
    type Err = CryptoError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        KeyType::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| super::unknown_name(s))
    }
}

/// A signature scheme (padding, hash and encoding all fixed by the name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum SignatureAlgorithm {
    /// SM2 signature over SM3(Z_A ‖ M), default ID, DER `SEQUENCE { r, s }`.
    #[serde(rename = "sm2-sm3")]
    Sm2Sm3,
    /// ECDSA P-256 over SHA-256(M), DER `SEQUENCE { r, s }`.
    #[serde(rename = "ecdsa-p256-sha256")]
    EcdsaP256Sha256,
    /// Pure Ed25519, raw 64-byte signature.
    #[serde(rename = "ed25519")]
    Ed25519,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    #[serde(rename = "rsa-pkcs1-sha256")]
    RsaPkcs1Sha256,
    /// RSASSA-PSS with SHA-256, MGF1-SHA-256 and a 32-byte salt.
    #[serde(rename = "rsa-pss-sha256")]
    RsaPssSha256,
}

impl SignatureAlgorithm {
    /// Every signature algorithm, in a stable order.
    pub const ALL: [SignatureAlgorithm; 5] = [
        SignatureAlgorithm::Sm2Sm3,
        SignatureAlgorithm::EcdsaP256Sha256,
        SignatureAlgorithm::Ed25519,
        SignatureAlgorithm::RsaPkcs1Sha256,
        SignatureAlgorithm::RsaPssSha256,
    ];

    /// Canonical lowercase name, e.g. "sm2-sm3".
    pub fn as_str(&self) -> &'static str {
        match self {
            SignatureAlgorithm::Sm2Sm3 => "sm2-sm3",
            SignatureAlgorithm::EcdsaP256Sha256 => "ecdsa-p256-sha256",
            SignatureAlgorithm::Ed25519 => "ed25519",
            SignatureAlgorithm::RsaPkcs1Sha256 => "rsa-pkcs1-sha256",
            SignatureAlgorithm::RsaPssSha256 => "rsa-pss-sha256",
        }
    }

    /// Length of the digest accepted by digest signing, or `None` if the
    /// algorithm cannot sign a precomputed digest.
    ///
    /// For SM2 the digest is e = SM3(Z_A ‖ M), not SM3(M).
    pub fn digest_len(&self) -> Option<usize> {
        match self {
            SignatureAlgorithm::Sm2Sm3
            | SignatureAlgorithm::EcdsaP256Sha256
            | SignatureAlgorithm::RsaPkcs1Sha256
            | SignatureAlgorithm::RsaPssSha256 => Some(32),
            SignatureAlgorithm::Ed25519 => None,
        }
    }

    /// The OID an AlgorithmIdentifier names this algorithm by (X.509, CMS, SES); `None` for
    /// RSA-PSS, whose identifier needs its parameters too.
    pub fn oid(&self) -> Option<&'static str> {
        match self {
            // GB/T 33560 (SM2 with SM3).
            SignatureAlgorithm::Sm2Sm3 => Some("1.2.156.10197.1.501"),
            // RFC 5758 ecdsa-with-SHA256.
            SignatureAlgorithm::EcdsaP256Sha256 => Some("1.2.840.10045.4.3.2"),
            // RFC 8410 id-Ed25519.
            SignatureAlgorithm::Ed25519 => Some("1.3.101.112"),
            // RFC 4055 sha256WithRSAEncryption.
            SignatureAlgorithm::RsaPkcs1Sha256 => Some("1.2.840.113549.1.1.11"),
            SignatureAlgorithm::RsaPssSha256 => None,
        }
    }

    /// The algorithm an AlgorithmIdentifier OID names, if it is one of [`Self::oid`]'s.
    pub fn from_oid(oid: &str) -> Option<SignatureAlgorithm> {
        SignatureAlgorithm::ALL
            .into_iter()
            .find(|a| a.oid() == Some(oid))
    }

    /// The hash applied to the message (for SM2, to Z_A ‖ M), if any.
    pub fn hash_algorithm(&self) -> Option<super::HashAlgorithm> {
        match self {
            SignatureAlgorithm::Sm2Sm3 => Some(super::HashAlgorithm::Sm3),
            SignatureAlgorithm::EcdsaP256Sha256
            | SignatureAlgorithm::RsaPkcs1Sha256
            | SignatureAlgorithm::RsaPssSha256 => Some(super::HashAlgorithm::Sha256),
            SignatureAlgorithm::Ed25519 => None,
        }
    }
}

impl fmt::Display for SignatureAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SignatureAlgorithm {
    type Err = CryptoError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SignatureAlgorithm::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| super::unknown_name(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_type_names_roundtrip() {
        let names: Vec<&str> = KeyType::ALL.iter().map(KeyType::as_str).collect();
        assert_eq!(names, ["sm2", "p256", "ed25519", "rsa2048", "rsa3072"]);
        for kt in KeyType::ALL {
            assert_eq!(kt.as_str().parse::<KeyType>(), Ok(kt));
            assert_eq!(kt.to_string(), kt.as_str());
            let json = serde_json::to_string(&kt).expect("serialize");
            assert_eq!(json, format!("\"{kt}\""));
            assert_eq!(
                serde_json::from_str::<KeyType>(&json).expect("deserialize"),
                kt
            );
        }
        for bad in ["SM2", "Sm2", " sm2", "sm2 ", "rsa", "rsa4096", "", "p-256"] {
            assert!(bad.parse::<KeyType>().is_err(), "{bad:?} must not parse");
        }
        assert!(serde_json::from_str::<KeyType>("\"SM2\"").is_err());
    }

    #[test]
    fn signature_algorithm_names_roundtrip() {
        let names: Vec<&str> = SignatureAlgorithm::ALL
            .iter()
            .map(SignatureAlgorithm::as_str)
            .collect();
        assert_eq!(
            names,
            [
                "sm2-sm3",
                "ecdsa-p256-sha256",
                "ed25519",
                "rsa-pkcs1-sha256",
                "rsa-pss-sha256"
            ]
        );
        for alg in SignatureAlgorithm::ALL {
            assert_eq!(alg.as_str().parse::<SignatureAlgorithm>(), Ok(alg));
            let json = serde_json::to_string(&alg).expect("serialize");
            assert_eq!(json, format!("\"{alg}\""));
            assert_eq!(
                serde_json::from_str::<SignatureAlgorithm>(&json).expect("deserialize"),
                alg
            );
        }
        assert!("SM2-SM3".parse::<SignatureAlgorithm>().is_err());
        assert!("rsa-pss".parse::<SignatureAlgorithm>().is_err());
    }

    #[test]
    fn support_matrix() {
        for kt in KeyType::ALL {
            assert!(kt.supports(kt.default_signature_algorithm()));
            assert_eq!(
                kt.signature_algorithms()[0],
                kt.default_signature_algorithm()
            );
            for alg in SignatureAlgorithm::ALL {
                assert_eq!(
                    kt.supports(alg),
                    kt.signature_algorithms().contains(&alg),
                    "{kt} / {alg}"
                );
            }
        }
        assert!(KeyType::Rsa3072.supports(SignatureAlgorithm::RsaPssSha256));
        assert!(!KeyType::Sm2.supports(SignatureAlgorithm::EcdsaP256Sha256));
        assert!(!KeyType::P256.supports(SignatureAlgorithm::Sm2Sm3));
        assert_eq!(
            KeyType::Rsa2048.default_signature_algorithm(),
            SignatureAlgorithm::RsaPkcs1Sha256
        );
    }

    #[test]
    fn oids_round_trip() {
        for alg in SignatureAlgorithm::ALL {
            match alg.oid() {
                Some(oid) => assert_eq!(SignatureAlgorithm::from_oid(oid), Some(alg)),
                None => assert_eq!(alg, SignatureAlgorithm::RsaPssSha256),
            }
        }
        assert_eq!(
            SignatureAlgorithm::from_oid("1.2.156.10197.1.501"),
            Some(SignatureAlgorithm::Sm2Sm3)
        );
        for other in [
            "1.2.840.113549.1.1.10",
            "1.2.840.10045.4.3.3",
            "",
            "1.2.156.10197.1.501.1",
        ] {
            assert_eq!(SignatureAlgorithm::from_oid(other), None, "{other}");
        }
    }

    #[test]
    fn digest_lengths() {
        assert_eq!(SignatureAlgorithm::Ed25519.digest_len(), None);
        for alg in SignatureAlgorithm::ALL {
            if alg != SignatureAlgorithm::Ed25519 {
                assert_eq!(alg.digest_len(), Some(32));
            }
        }
    }
}
