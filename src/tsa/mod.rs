//! RFC 3161 time-stamping authority as a pure library: parse a `TimeStampReq`, answer with a
//! `TimeStampResp` carrying a signed token, and verify tokens.
//!
//! Nothing here stores or serves anything: the caller supplies the TSA certificate and key, the
//! serial number and the time, and wires the bytes to HTTP. Tokens are the base of PAdES B-T
//! (a timestamp over a CMS signature value) and of GB/T 38540 timestamps.
//!
//! The CMS `SignedData` around the TSTInfo is written and verified by [`crate::cms`], the one
//! SignedData implementation the service has (see there why it is hand-written); this module
//! adds what RFC 3161 asks on top: the TSTInfo, the timeStamping EKU, the response envelope.

mod client;
mod request;
mod token;
mod verify;

#[cfg(test)]
mod tests;

pub use client::{TsaClientError, fetch_token};
pub use request::TimeStampReq;
pub use token::{Tsa, granted_token};
pub use verify::{TokenCheck, TstInfo, verify_token};

use crate::cms::CmsError;
use crate::crypto::CryptoError;
use crate::pki::PkiError;

/// id-ct-TSTInfo: the eContentType of a time-stamp token.
pub const OID_TST_INFO: &str = "1.2.840.113549.1.9.16.1.4";

const OID_KP_TIME_STAMPING: &str = "1.3.6.1.5.5.7.3.8";

/// The hash algorithms a request's message imprint may use (the CMS digest algorithms).
pub use crate::cms::DigestAlg as HashAlg;

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

impl From<CmsError> for TsaError {
    fn from(e: CmsError) -> TsaError {
        match e {
            CmsError::UnsupportedDigest(d) => TsaError::UnsupportedHash(d),
            CmsError::DigestLength { expected, found } => {
                TsaError::ImprintLength { expected, found }
            }
            CmsError::Pki(e) => TsaError::Pki(e),
            CmsError::Crypto(e) => TsaError::Crypto(e),
            CmsError::InvalidOid(o) => TsaError::UnacceptedPolicy(o),
            CmsError::Malformed(m) => TsaError::Malformed(m),
        }
    }
}

/// A `Malformed` error from a DER reader error (the reader's message names the problem).
fn malformed(e: impl std::fmt::Display) -> TsaError {
    TsaError::Malformed(e.to_string())
}
