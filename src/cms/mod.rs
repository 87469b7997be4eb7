//! CMS `SignedData` (RFC 5652): one writer and one verifier for every signature container the
//! service produces — RFC 3161 time-stamp tokens ([`crate::tsa`]) and detached CAdES signatures
//! for PAdES (`/SubFilter /ETSI.CAdES.detached`) — and the one reader, which also takes the
//! GB/T 35275 SignedData of OFD `Type="Sign"` signatures ([`crate::ofd::verify_sign_cms`]).
//!
//! Hand-written with [`crate::asn1`] rather than a CMS crate because SM2 (SM2-with-SM3 over
//! the signed attributes with the default user ID, SM3 as digest algorithm) must work exactly
//! like P-256, RSA and Ed25519 through [`crate::crypto`]; because the signature covers the DER
//! of the signed attributes, so writing them ourselves and checking them exactly as received
//! keeps those bytes under our control; and because the `cms` crate's release candidate sits on
//! another signature stack than ours. The DER writer the certificates use is enough.
//!
//! Only what the callers need is supported: one SignerInfo identified by
//! issuerAndSerialNumber (a [0] subjectKeyIdentifier is accepted when verifying), signed
//! attributes always written and required by [`verify`] (a GB/T 35275 SignerInfo may lack them).

mod parse;
mod sign;
mod verify;

#[cfg(test)]
pub(crate) mod tests;

pub use parse::{Attribute, SignedDataView, SignerInfoView, parse, signature_value};
pub use sign::{Content, SignOptions, SignerInput, add_unsigned_attribute, sign};
pub use verify::{CmsCheck, verify};

pub(crate) use parse::digest_alg_from_identifier;
pub(crate) use verify::{check_signature, find_signer, signature_algorithm, strip_leading_zeros};

use crate::asn1::Asn1Error;
use crate::crypto::{CryptoError, KeyType};
use crate::pki::PkiError;

/// id-data: arbitrary octets (the content type of a detached CAdES signature).
pub const OID_DATA: &str = "1.2.840.113549.1.7.1";
/// id-signedData: the ContentInfo content type of every structure written here.
pub const OID_SIGNED_DATA: &str = "1.2.840.113549.1.7.2";
/// GB/T 35275 signedData: the ContentInfo content type Chinese SM2 CMS writers use instead.
pub const OID_SM2_SIGNED_DATA: &str = "1.2.156.10197.6.1.4.2.2";
/// id-contentType signed attribute.
pub const OID_CONTENT_TYPE: &str = "1.2.840.113549.1.9.3";
/// id-messageDigest signed attribute.
pub const OID_MESSAGE_DIGEST: &str = "1.2.840.113549.1.9.4";
/// id-signingTime signed attribute.
pub const OID_SIGNING_TIME: &str = "1.2.840.113549.1.9.5";
/// ESS signingCertificate (RFC 2634, SHA-1 ESSCertID), accepted when verifying.
pub const OID_SIGNING_CERTIFICATE: &str = "1.2.840.113549.1.9.16.2.12";
/// ESS signingCertificateV2 (RFC 5035), written when asked.
pub const OID_SIGNING_CERTIFICATE_V2: &str = "1.2.840.113549.1.9.16.2.47";
/// id-aa-signatureTimeStampToken: the unsigned attribute of a CAdES B-T signature.
pub const OID_SIGNATURE_TIME_STAMP_TOKEN: &str = "1.2.840.113549.1.9.16.2.14";
/// GM/T 0006 sm2-1 (SM2 signature) OID that GB/T 35275 writers use as the signatureAlgorithm
/// instead of SM2-with-SM3; accepted when verifying.
const OID_SM2_1: &str = "1.2.156.10197.1.301.1";
/// GM/T 0006 SM2 curve OID, seen in the same place from older writers; accepted too.
const OID_SM2: &str = "1.2.156.10197.1.301";

const OID_SHA256: &str = "2.16.840.1.101.3.4.2.1";
const OID_SHA384: &str = "2.16.840.1.101.3.4.2.2";
const OID_SHA512: &str = "2.16.840.1.101.3.4.2.3";
const OID_SM3: &str = "1.2.156.10197.1.401";

/// The digest algorithms CMS structures (and RFC 3161 message imprints) may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DigestAlg {
    /// SHA-256 (2.16.840.1.101.3.4.2.1).
    Sha256,
    /// SHA-384 (2.16.840.1.101.3.4.2.2).
    Sha384,
    /// SHA-512 (2.16.840.1.101.3.4.2.3).
    Sha512,
    /// SM3 (1.2.156.10197.1.401).
    Sm3,
}

impl DigestAlg {
    /// The algorithm's dotted OID.
    pub fn oid(self) -> &'static str {
        match self {
            DigestAlg::Sha256 => OID_SHA256,
            DigestAlg::Sha384 => OID_SHA384,
            DigestAlg::Sha512 => OID_SHA512,
            DigestAlg::Sm3 => OID_SM3,
        }
    }

    /// The algorithm for a dotted OID; `None` for anything else (SHA-1 included).
    pub fn from_oid(oid: &str) -> Option<DigestAlg> {
        [
            DigestAlg::Sha256,
            DigestAlg::Sha384,
            DigestAlg::Sha512,
            DigestAlg::Sm3,
        ]
        .into_iter()
        .find(|h| h.oid() == oid)
    }

    /// Digest length in bytes.
    pub fn digest_len(self) -> usize {
        match self {
            DigestAlg::Sha256 | DigestAlg::Sm3 => 32,
            DigestAlg::Sha384 => 48,
            DigestAlg::Sha512 => 64,
        }
    }

    /// The digest of `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        use sha2::Digest;
        match self {
            DigestAlg::Sha256 => crate::crypto::sha256(data).to_vec(),
            DigestAlg::Sha384 => sha2::Sha384::digest(data).to_vec(),
            DigestAlg::Sha512 => sha2::Sha512::digest(data).to_vec(),
            DigestAlg::Sm3 => crate::crypto::sm3(data).to_vec(),
        }
    }

    /// DER AlgorithmIdentifier with NULL parameters (what OpenSSL writes and requires).
    pub(crate) fn algorithm_identifier(self) -> Vec<u8> {
        use crate::asn1 as der;
        der::seq(&[&der::oid(self.oid()), &der::tlv(der::NULL, &[])])
    }
}

/// The digest algorithm of a SignedData signed with `key_type`: SM3 with SM2 (GM/T 0010),
/// SHA-512 with Ed25519 (RFC 8419), SHA-256 with P-256 and RSA.
pub fn digest_algorithm(key_type: KeyType) -> DigestAlg {
    match key_type {
        KeyType::Sm2 => DigestAlg::Sm3,
        KeyType::Ed25519 => DigestAlg::Sha512,
        KeyType::P256 | KeyType::Rsa2048 | KeyType::Rsa3072 => DigestAlg::Sha256,
    }
}

/// Errors from writing and parsing CMS structures.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CmsError {
    /// The input is not DER of the expected CMS shape.
    #[error("malformed CMS: {0}")]
    Malformed(String),
    /// A digest AlgorithmIdentifier names an algorithm (or parameters) not supported here.
    #[error("unsupported digest algorithm {0}")]
    UnsupportedDigest(String),
    /// A detached content digest does not have the length of the key's digest algorithm.
    #[error("content digest must be {expected} bytes, found {found}")]
    DigestLength {
        /// Digest length of the algorithm chosen for the key.
        expected: usize,
        /// Length given.
        found: usize,
    },
    /// A content type or attribute OID is not a valid dotted OID.
    #[error("invalid OID {0:?}")]
    InvalidOid(String),
    /// Encoding a certificate field or time failed, or the key does not match the certificate.
    #[error(transparent)]
    Pki(#[from] PkiError),
    /// Signing failed.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

impl From<Asn1Error> for CmsError {
    /// A time the writer cannot encode (its only error) is reported as for certificate fields;
    /// reader errors become `Malformed` where they are read.
    fn from(e: Asn1Error) -> CmsError {
        CmsError::Pki(e.into())
    }
}

/// A `Malformed` error from a DER reader error (the reader's message names the problem).
fn malformed(e: impl std::fmt::Display) -> CmsError {
    CmsError::Malformed(e.to_string())
}
