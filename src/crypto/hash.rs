//! Message digests (SM3 and SHA-256).

use std::fmt;
use std::str::FromStr;

use sm3::Digest as _;

use super::CryptoError;

/// SM3 digest (GB/T 32905) of `data`.
pub fn sm3(data: &[u8]) -> [u8; 32] {
    sm3::Sm3::digest(data).into()
}

/// SHA-256 digest of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let digest = ring::digest::digest(&ring::digest::SHA256, data);
    let mut out = [0u8; 32];
    // ring's SHA-256 output is always 32 bytes, so the copy cannot mismatch.
    out.copy_from_slice(digest.as_ref());
    out
}

/// A 256-bit hash function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum HashAlgorithm {
    /// SM3 (GB/T 32905).
    #[serde(rename = "sm3")]
    Sm3,
    /// SHA-256 (FIPS 180-4).
    #[serde(rename = "sha256")]
    Sha256,
}

impl HashAlgorithm {
    /// Every hash algorithm, in a stable order.
    pub const ALL: [HashAlgorithm; 2] = [HashAlgorithm::Sm3, HashAlgorithm::Sha256];

    /// Digest of `data` under this algorithm.
    pub fn digest(&self, data: &[u8]) -> [u8; 32] {
        match self {
            HashAlgorithm::Sm3 => sm3(data),
            HashAlgorithm::Sha256 => sha256(data),
        }
    }

    /// Canonical lowercase name ("sm3" / "sha256").
    pub fn as_str(&self) -> &'static str {
        match self {
            HashAlgorithm::Sm3 => "sm3",
            HashAlgorithm::Sha256 => "sha256",
        }
    }
}

impl fmt::Display for HashAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for HashAlgorithm {
    type Err = CryptoError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        HashAlgorithm::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| super::unknown_name(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sm3_known_answers() {
        // GB/T 32905-2016 Appendix A examples 1 and 2.
        assert_eq!(
            hex::encode(sm3(b"abc")),
            "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
        );
        assert_eq!(
            hex::encode(sm3(&b"abcd".repeat(16))),
            "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"
        );
    }

    #[test]
    fn sha256_known_answer() {
        assert_eq!(
            hex::encode(sha256(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn enum_dispatch_and_names() {
        assert_eq!(HashAlgorithm::Sm3.digest(b"abc"), sm3(b"abc"));
        assert_eq!(HashAlgorithm::Sha256.digest(b"abc"), sha256(b"abc"));
        for alg in HashAlgorithm::ALL {
            assert_eq!(alg.as_str().parse::<HashAlgorithm>(), Ok(alg));
            let json = serde_json::to_string(&alg).expect("serialize");
            assert_eq!(json, format!("\"{}\"", alg.as_str()));
        }
        assert!("SM3".parse::<HashAlgorithm>().is_err());
        assert!("sha-256".parse::<HashAlgorithm>().is_err());
    }
}
