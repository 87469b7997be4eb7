//! RFC 3161 time-stamping authority as a pure library: parse a `TimeStampReq`, answer with a
//! `TimeStampResp` carrying a signed token, and verify tokens.
//!
//! Nothing here stores or serves anything: the caller supplies the TSA certificate and key, the
//! serial number and the time, and wires the bytes to HTTP. Tokens are the base of PAdES B-T
//! (a timestamp over a CMS signature value) and of GB/T 38540 timestamps.
//!
//! The CMS `SignedData` is written and read by hand with [`crate::pki::der`] rather than a
//! generic CMS crate because SM2 (SM2-with-SM3 over the signed attributes with the default user
//! ID, SM3 as digest algorithm) must work exactly like P-256 and RSA, and because the signature
//! covers the DER of the signed attributes: writing them ourselves and checking them exactly as
//! received keeps those bytes under our control, with the same small DER writer the
//! certificates already use.

mod request;
mod token;
mod verify;

#[cfg(test)]
mod tests;

pub use request::TimeStampReq;
pub use token::{Tsa, granted_token};
pub use verify::{TokenCheck, TstInfo, verify_token};

use crate::crypto::CryptoError;
use crate::pki::PkiError;

/// id-ct-TSTInfo: the eContentType of a time-stamp token.
pub const OID_TST_INFO: &str = "1.2.840.113549.1.9.16.1.4";

const OID_SHA256: &str = "2.16.840.1.101.3.4.2.1";
const OID_SHA384: &str = "2.16.840.1.101.3.4.2.2";
const OID_SHA512: &str = "2.16.840.1.101.3.4.2.3";
const OID_SM3: &str = "1.2.156.10197.1.401";
const OID_SIGNED_DATA: &str = "1.2.840.113549.1.7.2";
const OID_CONTENT_TYPE: &str = "1.2.840.113549.1.9.3";
const OID_MESSAGE_DIGEST: &str = "1.2.840.113549.1.9.4";
const OID_SIGNING_TIME: &str = "1.2.840.113549.1.9.5";
const OID_SIGNING_CERTIFICATE: &str = "1.2.840.113549.1.9.16.2.12";
const OID_SIGNING_CERTIFICATE_V2: &str = "1.2.840.113549.1.9.16.2.47";
const OID_KP_TIME_STAMPING: &str = "1.3.6.1.5.5.7.3.8";
/// GM/T 0006 "SM2 encryption/signature" OID that some Chinese CMS writers use as the
/// signatureAlgorithm instead of SM2-with-SM3; accepted when verifying.
const OID_SM2_1: &str = "1.2.156.10197.1.301.1";

/// The hash algorithms a request's message imprint may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashAlg {
    /// SHA-256 (2.16.840.1.101.3.4.2.1).
    Sha256,
    /// SHA-384 (2.16.840.1.101.3.4.2.2).
    Sha384,
    /// SHA-512 (2.16.840.1.101.3.4.2.3).
    Sha512,
    /// SM3 (1.2.156.10197.1.401).
    Sm3,
}

impl HashAlg {
    /// The algorithm's dotted OID.
    pub fn oid(self) -> &'static str {
        match self {
            HashAlg::Sha256 => OID_SHA256,
            HashAlg::Sha384 => OID_SHA384,
            HashAlg::Sha512 => OID_SHA512,
            HashAlg::Sm3 => OID_SM3,
        }
    }

    /// The algorithm for a dotted OID; `None` for anything else (SHA-1 included).
    pub fn from_oid(oid: &str) -> Option<HashAlg> {
        [
            HashAlg::Sha256,
            HashAlg::Sha384,
            HashAlg::Sha512,
            HashAlg::Sm3,
        ]
        .into_iter()
        .find(|h| h.oid() == oid)
    }

    /// Digest length in bytes.
    pub fn digest_len(self) -> usize {
        match self {
            HashAlg::Sha256 | HashAlg::Sm3 => 32,
            HashAlg::Sha384 => 48,
            HashAlg::Sha512 => 64,
        }
    }

    /// The digest of `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        use sha2::Digest;
        match self {
            HashAlg::Sha256 => crate::crypto::sha256(data).to_vec(),
            HashAlg::Sha384 => sha2::Sha384::digest(data).to_vec(),
            HashAlg::Sha512 => sha2::Sha512::digest(data).to_vec(),
            HashAlg::Sm3 => crate::crypto::sm3(data).to_vec(),
        }
    }

    /// DER AlgorithmIdentifier with NULL parameters (what OpenSSL writes and requires).
    pub(crate) fn algorithm_identifier(self) -> Vec<u8> {
        use crate::pki::der;
        der::seq(&[&der::oid(self.oid()), &der::tlv(der::NULL, &[])])
    }
}

/// PKIFailureInfo bits (RFC 3161 §2.4.2) a rejection carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureInfo {
    /// Unrecognized or unsupported algorithm identifier (bit 0).
    BadAlg = 0,
    /// Transaction not permitted or supported (bit 2).
    BadRequest = 2,
    /// The data submitted has the wrong format (bit 5).
    BadDataFormat = 5,
    /// The requested TSA policy is not supported (bit 15).
    UnacceptedPolicy = 15,
    /// The requested extension is not supported (bit 16).
    UnacceptedExtension = 16,
    /// The request cannot be handled due to system failure (bit 25).
    SystemFailure = 25,
}

impl FailureInfo {
    /// Bit position in the PKIFailureInfo BIT STRING.
    pub fn bit(self) -> u8 {
        self as u8
    }
}

/// Errors from parsing requests and producing tokens.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TsaError {
    /// A request (or a token's TSTInfo) is not well-formed DER of the expected shape.
    #[error("malformed: {0}")]
    Malformed(String),
    /// The request version is not 1.
    #[error("unsupported request version {0}")]
    UnsupportedVersion(String),
    /// The imprint hash algorithm is not SHA-256/384/512 or SM3.
    #[error("unsupported hash algorithm {0}")]
    UnsupportedHash(String),
    /// The hashed message length does not fit the hash algorithm.
    #[error("message imprint must be {expected} bytes, found {found}")]
    ImprintLength {
        /// Digest length of the algorithm.
        expected: usize,
        /// Length received.
        found: usize,
    },
    /// The request asks for a policy this TSA does not use.
    #[error("unaccepted policy {0}")]
    UnacceptedPolicy(String),
    /// The request carries extensions, none of which this TSA supports.
    #[error("request extensions are not supported")]
    UnacceptedExtension,
    /// The serial number is empty or zero.
    #[error("invalid serial number")]
    InvalidSerial,
    /// Encoding a certificate field or time failed.
    #[error(transparent)]
    Pki(#[from] PkiError),
    /// Signing failed.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

impl TsaError {
    /// The PKIFailureInfo bit a rejection for this error carries.
    pub fn failure_info(&self) -> FailureInfo {
        match self {
            TsaError::Malformed(_) | TsaError::ImprintLength { .. } => FailureInfo::BadDataFormat,
            TsaError::UnsupportedVersion(_) => FailureInfo::BadRequest,
            TsaError::UnsupportedHash(_) => FailureInfo::BadAlg,
            TsaError::UnacceptedPolicy(_) => FailureInfo::UnacceptedPolicy,
            TsaError::UnacceptedExtension => FailureInfo::UnacceptedExtension,
            TsaError::InvalidSerial | TsaError::Pki(_) | TsaError::Crypto(_) => {
                FailureInfo::SystemFailure
            }
        }
    }
}

/// A `Malformed` error from a DER reader error (the reader's message names the problem).
fn malformed(e: impl std::fmt::Display) -> TsaError {
    TsaError::Malformed(e.to_string())
}
