//! GB/T 38540 (v4) and GM/T 0031 (v1, v5) electronic seal and signature structures: DER in and out.
//!
//! * Decoding accepts v1 (GM/T 0031-2014), v4 (GB/T 38540-2020) and v5
//!   (GM/T 0031-2025). The version is detected by structure (number of
//!   elements of the outer SEQUENCE), then the seal header version splits v4
//!   from v5 — header version numbers in the wild are unreliable.
//! * Encoding produces v4 only.
//! * Signature checks run over the *received* bytes of `SES_SealInfo` /
//!   `TBS_Sign`, never a re-encoding: real seals carry an explicit
//!   `critical FALSE` that a strict DER re-encoder would drop.
//! * DER is read with the crate's bounded reader, [`crate::asn1`] (see its module doc
//!   for why it is hand-written): 16 MiB input, nesting depth 32, definite lengths only.
//!
//! The ASN.1 implemented here is in `schemas/asn1/GBT38540.asn1`.

mod encode;
mod seal;
mod signature;
mod time;
mod verify;

#[cfg(test)]
mod tests;

use ::time::OffsetDateTime;

use crate::asn1::Asn1Error;

pub use encode::{
    SealInfoParams, SealTemplate, TbsSign, assemble_seal, assemble_signature, encode_seal_info,
    encode_tbs_sign,
};
pub use seal::Seal;
pub use signature::Signature;
pub use verify::{
    signature_algorithm, signature_algorithm_oid, spki_of_cert, verify_maker_signature,
    verify_signer_signature,
};

/// Which standard a seal or signature follows, as detected from its structure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SesVersion {
    /// GM/T 0031-2014: `SESeal` and `SES_Signature` of 2 elements, UTCTime.
    V1,
    /// GB/T 38540-2020: flat `SESeal` of 4 elements, GeneralizedTime.
    V4,
    /// GM/T 0031-2025: v4 layout with header version 5 and an optional seal timestamp.
    V5,
}

/// The seal image (`SES_ESPictrueInfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Picture {
    /// Image format as written by the producer, e.g. "PNG", "ofd", "GIF".
    pub kind: String,
    /// The image bytes.
    pub data: Vec<u8>,
    /// Display width in millimetres.
    pub width_mm: i64,
    /// Display height in millimetres.
    pub height_mm: i64,
}

/// One `ExtData` extension of `SES_SealInfo` or `TBS_Sign`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtData {
    /// Dotted extension OID.
    pub oid: String,
    /// The `critical` flag (FALSE when absent).
    pub critical: bool,
    /// The `extnValue` octets.
    pub value: Vec<u8>,
}

/// The certificates allowed to use a seal (`SES_CertList`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertList {
    /// `certListType` 1 (and every v1 seal): DER certificates.
    Certs(Vec<Vec<u8>>),
    /// `certListType` 2: certificate digests.
    Digests(Vec<CertDigest>),
}

/// One `CertDigestObj`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertDigest {
    /// The `type` string; its meaning is not defined by any reachable source.
    pub kind: String,
    /// The digest value.
    pub value: Vec<u8>,
}

impl CertList {
    /// Whether `cert_der` is one of the listed signer certificates.
    ///
    /// For `Certs` this is byte equality. For `Digests` no source says which
    /// hash or what input is used, so a digest matches when it equals SM3 or
    /// SHA-256 of the whole certificate DER (the natural reading); the `kind`
    /// string is not interpreted because its format is unknown.
    pub fn contains(&self, cert_der: &[u8]) -> bool {
        match self {
            CertList::Certs(certs) => certs.iter().any(|c| c.as_slice() == cert_der),
            CertList::Digests(digests) => {
                let sm3 = crate::crypto::sm3(cert_der);
                let sha256 = crate::crypto::sha256(cert_der);
                digests
                    .iter()
                    .any(|d| d.value.as_slice() == sm3 || d.value.as_slice() == sha256)
            }
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        match self {
            CertList::Certs(c) => c.len(),
            CertList::Digests(d) => d.len(),
        }
    }

    /// Whether the list has no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The signing time of a signature (`TBS_Sign.timeInfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimeInfo {
    /// A time that could be read (always the case for v4/v5).
    Time(OffsetDateTime),
    /// A v1 BIT STRING whose content is not a recognised time format.
    Opaque(Vec<u8>),
}

/// Why an SES structure could not be decoded, encoded or verified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SesError {
    /// The DER is malformed, or an element is missing or has the wrong tag or value.
    #[error(transparent)]
    Asn1(#[from] Asn1Error),
    /// The element count matches no known version.
    #[error("{at}: {count} elements match no known SES version (2 = v1, 4 or 5 = v4/v5)")]
    UnknownStructure {
        /// Where in the structure.
        at: &'static str,
        /// Elements found.
        count: usize,
    },
    /// `certListType` is neither 1 nor 2.
    #[error("SES_SealInfo.property.certListType: {0} is neither 1 (certificates) nor 2 (digests)")]
    CertListType(i64),
    /// The seal embedded in a signature is invalid.
    #[error("TBS_Sign.eseal: {0}")]
    InSeal(Box<SesError>),
    /// A signature's layout and its embedded seal's layout are of different versions.
    #[error("SES_Signature of the {signature} layout embeds a seal of the {seal} layout")]
    VersionMismatch {
        /// Layout of the signature.
        signature: &'static str,
        /// Layout of the seal.
        seal: &'static str,
    },
    /// The signature algorithm OID is not supported.
    #[error("unsupported signature algorithm {0}")]
    UnsupportedAlgorithm(String),
    /// A certificate or its public key could not be used.
    #[error("{which} certificate: {reason}")]
    Certificate {
        /// Which certificate ("maker", "signer", ...).
        which: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The certificate's key type cannot produce the named algorithm.
    #[error("{which} certificate key does not fit signature algorithm {alg}")]
    KeyAlgorithmMismatch {
        /// Which certificate.
        which: &'static str,
        /// The algorithm OID.
        alg: String,
    },
    /// A signature does not verify.
    #[error("{which} signature does not verify")]
    BadSignature {
        /// Which signature ("maker" or "signer").
        which: &'static str,
    },
    /// Input to an encoder is invalid.
    #[error("cannot encode: {0}")]
    Encode(String),
}
