//! OFD (GB/T 33190) packages: bounded reading, the signatures of §18, and writing.
//!
//! An OFD is a zip of XML files. Signatures hang off `OFD.xml` → `DocBody/Signatures` →
//! `Signatures.xml` → one `Signature.xml` per signature, which lists hashed `References`, names
//! the `SignedValue` file (an `SES_Signature` DER for `Type="Seal"`, a GB/T 35275 SM2 CMS for
//! `Type="Sign"`) and optionally the seal (`Seal.esl`).
//!
//! This module does what is OFD's business: open the package without trusting it
//! ([`Package`], [`Limits`]), find every signature ([`read_signatures`]), check the reference
//! hashes, say what each leaves unprotected ([`OfdSignature::unreferenced`]), and verify
//! `Type="Sign"` CMS ([`verify_sign_cms`]). Whether a change is allowed is for
//! `verify`, which sees every signature's verdict. The SES codec (`Type="Seal"`) is a separate
//! module; it gets [`OfdSignature::signed_value`] and
//! [`OfdSignature::signature_xml`] (the signed original) from here.
//!
//! [`prepare`] seals a package: one more §18 signature, every earlier byte kept.
//!
//! [`write`] makes OFD documents (text in the bundled font, paths, images, custom tags) from a
//! typed model, which the reader above opens like any other package.
//!
//! Nothing here panics on hostile input: unreadable containers are [`OfdError`]s, unreadable
//! parts of one signature are failing [`Check`]s or [`OfdSignatures::problems`].

mod cms;
mod package;
mod signatures;
mod source;
mod stamp;
pub mod write;
mod xml;

#[cfg(test)]
pub(crate) mod testutil;

pub use cms::{SignCms, verify_sign_cms};
pub use package::{Package, normalize_path, resolve_path};
pub use signatures::{OfdSignature, OfdSignatures, Protection, SignatureKind, read_signatures};
pub use stamp::{Placement, Prepared, StampError, StampOptions, prepare, prepare_files};

pub use crate::report::Check;

/// Bounds applied to every OFD read; the defaults suit documents of a few hundred pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Most zip entries (files and directories) a package may have.
    pub max_entries: usize,
    /// Largest decompressed size of one entry, declared or actual.
    pub max_entry_size: u64,
    /// Largest decompressed size of all entries together (declared sum, and bytes actually read).
    pub max_total: u64,
    /// Largest decompressed:compressed ratio of an entry, applied once it exceeds 1 MiB.
    pub max_ratio: u64,
    /// Deepest XML element nesting accepted.
    pub max_xml_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_entries: 4096,
            max_entry_size: 64 << 20,
            max_total: 256 << 20,
            max_ratio: 200,
            max_xml_depth: 64,
        }
    }
}

/// Why an OFD package (or one of its files) could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OfdError {
    /// The bytes do not start like a zip archive.
    #[error("not a zip archive")]
    NotZip,
    /// The zip structure is damaged or unsupported.
    #[error("zip: {0}")]
    Zip(String),
    /// A file the package must contain is absent.
    #[error("missing file {0}")]
    Missing(String),
    /// An entry (or all entries together) is larger than the limit.
    #[error("{path}: {size} bytes is over the limit of {limit}")]
    TooLarge {
        /// Entry name.
        path: String,
        /// Size found (declared or read so far).
        size: u64,
        /// The limit exceeded.
        limit: u64,
    },
    /// An entry decompresses far more than its compressed size allows.
    #[error("{path}: compression ratio {ratio}:1 looks like a zip bomb")]
    ZipBomb {
        /// Entry name.
        path: String,
        /// Decompressed / compressed.
        ratio: u64,
    },
    /// More entries than [`Limits::max_entries`].
    #[error("{count} zip entries, over the limit of {limit}")]
    TooManyEntries {
        /// Entries in the central directory.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// An XML file is malformed or uses forbidden constructs (DOCTYPE, deep nesting, entities).
    #[error("{file}: XML: {msg}")]
    Xml {
        /// Package path of the XML file.
        file: String,
        /// What is wrong.
        msg: String,
    },
    /// A path leaves the package root with `..` (or is empty).
    #[error("path {0:?} escapes the package root")]
    PathEscape(String),
    /// Two entries have the same normalised name.
    #[error("duplicate entry {0}")]
    DuplicateEntry(String),
    /// An entry is encrypted.
    #[error("{0}: encrypted entries are not supported")]
    Encrypted(String),
    /// An entry uses a compression method other than stored or deflate.
    #[error("{path}: unsupported compression {method}")]
    UnsupportedCompression {
        /// Entry name.
        path: String,
        /// The method found.
        method: String,
    },
    /// The decompressed size differs from the size in the header.
    #[error("{path}: header says {declared} bytes, decompressed {actual}")]
    SizeMismatch {
        /// Entry name.
        path: String,
        /// Size in the zip headers.
        declared: u64,
        /// Bytes actually produced (possibly cut at declared + 1).
        actual: u64,
    },
    /// `OFD.xml` is not an OFD main file.
    #[error("not an OFD document: {0}")]
    NotOfd(String),
}

/// Whether `bytes` look like an OFD: zip magic and an `OFD.xml` entry in the central directory.
pub fn is_ofd(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04")
        && zip::ZipArchive::new(std::io::Cursor::new(bytes)).is_ok_and(|z| {
            z.file_names()
                .any(|n| n.is_ok_and(|n| n == "OFD.xml" || n == "/OFD.xml"))
        })
}

#[cfg(test)]
mod tests;
