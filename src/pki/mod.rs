//! The vault's certificate authority: certificate and CRL building, parsing, and chain validation.
//!
//! A pure library: nothing here stores anything. Certificates are built as DER by this module
//! (with [`crate::asn1`]) and signed through [`crate::crypto::PrivateKey`], so SM2 (SM2-with-SM3,
//! default user ID `1234567812345678`, DER `SEQUENCE { r, s }`), ECDSA P-256, Ed25519 and RSA
//! issuers all work the same way; the issuer's key type picks the signature algorithm.
//! Parsing uses `x509-parser`, but every signature is verified here over the TBS bytes exactly
//! as received, because `x509-parser` cannot verify SM2.

mod access;
mod build;
mod cert;
mod crl;
mod name;
mod validate;

#[cfg(test)]
mod tests;

pub use access::PublicationPoints;
pub(crate) use build::algorithm_identifier;
pub use build::{
    HANDWRITTEN_SIGNER_POLICY, Profile, issue, issue_published, random_serial, self_signed,
    sm2_empty_id_rendering,
};
pub use cert::{Certificate, ExtensionInfo};
pub use crl::{Crl, CrlEntry, RevocationReason, RevokedEntry, build_crl};
pub use name::Name;
pub use validate::{
    CrlRevocation, MAX_PATH_LEN, NoRevocation, RevocationSource, RevocationStatus, TrustStore,
    Usage, Validation, validate,
};

use crate::asn1::Asn1Error;
use crate::crypto::CryptoError;

/// Errors from building or parsing certificates and CRLs.
///
/// Messages describe the input, never key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PkiError {
    /// The DER (or a part of it) is not a well-formed certificate, CRL or name.
    #[error("malformed {0}")]
    Malformed(String),
    /// Bytes follow the certificate or CRL.
    #[error("trailing data after the DER structure")]
    TrailingData,
    /// PEM framing or base64 was wrong.
    #[error("PEM: {0}")]
    Pem(String),
    /// A subject name field is not encodable.
    #[error("invalid name: {0}")]
    InvalidName(String),
    /// A serial number is zero, negative or too long.
    #[error("invalid serial number: {0}")]
    InvalidSerial(String),
    /// A validity period or CRL update interval is empty or out of range.
    #[error("invalid validity: {0}")]
    InvalidValidity(String),
    /// The profile cannot be used this way.
    #[error("invalid profile: {0}")]
    InvalidProfile(String),
    /// The issuer's private key does not belong to the issuer certificate.
    #[error("the issuer key does not match the issuer certificate")]
    KeyMismatch,
    /// The issuer certificate is not a CA (basicConstraints cA FALSE or absent).
    #[error("issuer {0:?} is not a CA")]
    NotACa(String),
    /// A CRL's issuer name is not the certificate's subject.
    #[error("CRL issuer {expected:?} is not {found:?}")]
    IssuerMismatch {
        /// The issuer named in the CRL.
        expected: String,
        /// The subject of the certificate offered as issuer.
        found: String,
    },
    /// The certificate offered as CRL issuer may not sign CRLs (keyUsage lacks cRLSign).
    #[error("{0:?} may not sign CRLs")]
    NoCrlSign(String),
    /// A signature algorithm OID this module cannot verify.
    #[error("unsupported signature algorithm {0}")]
    UnsupportedAlgorithm(String),
    /// A signature did not verify.
    #[error("signature does not verify")]
    BadSignature,
    /// A revocation reason name was not recognised.
    #[error("unknown revocation reason {0:?}")]
    UnknownReason(String),
    /// Reading a trust-anchor file or directory failed.
    #[error("{path}: {message}")]
    Io {
        /// The file or directory.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// The system random number generator failed.
    #[error("system random number generator failed")]
    Random,
    /// A key or signature operation failed.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

impl From<Asn1Error> for PkiError {
    /// A time the writer cannot encode is a validity problem; anything else is malformed DER.
    fn from(e: Asn1Error) -> PkiError {
        match e {
            Asn1Error::YearOutOfRange { .. } => PkiError::InvalidValidity(e.to_string()),
            _ => PkiError::Malformed(e.to_string()),
        }
    }
}
