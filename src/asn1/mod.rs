//! The one DER reader and writer, and the one UTCTime/GeneralizedTime parser and formatter.
//!
//! Hand-written rather than derived with the `der` crate for two reasons. Reading: the formats
//! in the wild need tolerance a strict derive cannot express (SES: a CHOICE whose alternatives
//! share the SEQUENCE tag, `[0]` fields that may be explicit or implicit, an explicitly encoded
//! DEFAULT `critical FALSE`), and signature checks need slices of the *received* bytes.
//! Writing: certificates, CRLs, CMS and seals are signed over the exact bytes written, and SM2
//! signs through `crate::crypto`, so the TLVs are written directly rather than bending a
//! generic builder around it.
//!
//! The reader is bounded: definite lengths only (at most four length octets), each inside its
//! parent; nesting at most `MAX_DEPTH` (32) levels below the input of `Reader::single`, which
//! is at most `MAX_INPUT` (16 MiB); it never recurses on attacker-chosen structure. A leaf
//! module: it imports no other sidian module.

mod read;
mod time;
mod write;

#[cfg(test)]
mod tests;

pub(crate) use read::{Reader, Tlv, bit_string_octets, children, decode_oid, oid_to_string, read};
pub(crate) use time::{
    Precision, Rules, generalized_time, parse_generalized, parse_time, parse_utc, time,
};
pub(crate) use write::{
    bit_string, bool_true, checked_oid, integer, named_bits, oid, seq, tlv, uint,
};

/// Deepest constructed nesting the reader will enter.
pub(crate) const MAX_DEPTH: usize = 32;
/// Largest input [`Reader::single`] accepts.
pub(crate) const MAX_INPUT: usize = 16 * 1024 * 1024;

/// BOOLEAN.
pub(crate) const BOOLEAN: u8 = 0x01;
/// INTEGER.
pub(crate) const INTEGER: u8 = 0x02;
/// BIT STRING.
pub(crate) const BIT_STRING: u8 = 0x03;
/// OCTET STRING.
pub(crate) const OCTET_STRING: u8 = 0x04;
/// NULL.
pub(crate) const NULL: u8 = 0x05;
/// OBJECT IDENTIFIER.
pub(crate) const OID: u8 = 0x06;
/// ENUMERATED.
pub(crate) const ENUMERATED: u8 = 0x0A;
/// UTF8String.
pub(crate) const UTF8_STRING: u8 = 0x0C;
/// PrintableString.
pub(crate) const PRINTABLE_STRING: u8 = 0x13;
/// IA5String.
pub(crate) const IA5_STRING: u8 = 0x16;
/// UTCTime.
pub(crate) const UTC_TIME: u8 = 0x17;
/// GeneralizedTime.
pub(crate) const GENERALIZED_TIME: u8 = 0x18;
/// SEQUENCE (constructed).
pub(crate) const SEQUENCE: u8 = 0x30;
/// SET (constructed).
pub(crate) const SET: u8 = 0x31;

/// Why DER could not be read or written. `at` names the place in the structure (the caller's
/// label, e.g. `"SESeal.cert"`, or `"DER"` for the free functions `read` and `children`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Asn1Error {
    /// The input is larger than the 16 MiB limit.
    #[error("input of {len} bytes exceeds the 16 MiB limit")]
    TooLarge {
        /// Input length in bytes.
        len: usize,
    },
    /// A TLV runs past the end of its input or parent.
    #[error("{at}: truncated")]
    Truncated {
        /// Where in the structure.
        at: &'static str,
    },
    /// A required element is absent.
    #[error("{at}: required element missing")]
    Missing {
        /// Where in the structure.
        at: &'static str,
    },
    /// An indefinite length (BER) was found.
    #[error("{at}: indefinite length is not allowed")]
    IndefiniteLength {
        /// Where in the structure.
        at: &'static str,
    },
    /// A length is malformed or too large.
    #[error("{at}: invalid length encoding")]
    BadLength {
        /// Where in the structure.
        at: &'static str,
    },
    /// Bytes follow the last expected element.
    #[error("{at}: unexpected trailing bytes")]
    TrailingData {
        /// Where in the structure.
        at: &'static str,
    },
    /// Constructed values nest deeper than the reader allows.
    #[error("{at}: nesting deeper than {MAX_DEPTH} levels")]
    TooDeep {
        /// Where in the structure.
        at: &'static str,
    },
    /// An element has the wrong tag.
    #[error("{at}: expected {expected}, found tag 0x{found:02x}")]
    UnexpectedTag {
        /// Where in the structure.
        at: &'static str,
        /// What was expected.
        expected: &'static str,
        /// The tag octet found.
        found: u8,
    },
    /// An element has the right tag but an invalid value.
    #[error("{at}: {reason}")]
    BadValue {
        /// Where in the structure.
        at: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A signature or hash BIT STRING has unused bits.
    #[error("{at}: BIT STRING has {unused} unused bits, 0 required")]
    UnusedBits {
        /// Where in the structure.
        at: &'static str,
        /// The unused-bit count found.
        unused: u8,
    },
    /// A time outside the years 0000–9999 that UTCTime and GeneralizedTime can hold.
    #[error("year {year} cannot be encoded")]
    YearOutOfRange {
        /// The UTC year asked for.
        year: i32,
    },
}
