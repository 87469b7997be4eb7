//! PDF: strict bounded reading, sealing by incremental update (PAdES), and the facts a
//! verifier needs about signatures and later revisions.
//!
//! The parser ([`PdfFile`]) is written here, not taken from `lopdf`: see `parse.rs` for why.
//! This module knows the PDF format and nothing about keys, the vault or trust: stamping
//! ([`stamp`]) lays out an update with a `/Contents` hole and fills it with CMS the caller made;
//! verification facts ([`signatures`], [`diff`]) are turned into verdicts by `crate::verify`.

mod active;
mod diff;
mod doc_timestamp;
mod dss;
mod file;
mod image;
mod object;
mod parse;
mod policy;
mod signatures;
mod stamp;
mod text;
pub mod write;

#[cfg(test)]
pub(crate) mod tests;

pub use active::{Finding, Link, Place, Survey, survey};
pub use diff::{LaterChanges, later_changes};
pub use doc_timestamp::prepare_doc_timestamp;
pub use dss::add_dss;
pub use file::{Entry, PdfFile, Section, XrefKind};
pub use image::{ImageError, SealImage, seal_image};
pub use object::{Dict, Object, Ref, Stream, format_real, write_real};
pub use policy::Existing;
pub use signatures::{
    ByteRange, FormField, PdfSignature, SigType, SubFilter, Widget, find_signatures, form_fields,
    parse_date, text_string,
};
pub(crate) use stamp::cross_page_groups;
pub use stamp::{
    Appearance, Certify, Keyword, PT_PER_MM, Placement, Prepared, SigText, StampOptions, VectorArt,
    prepare,
};

/// Bounds applied to every PDF read; a hostile file fails one of them instead of exhausting
/// memory or time (docs/threats.md §3.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest file accepted.
    pub max_file_size: usize,
    /// Most cross-reference sections (revisions).
    pub max_revisions: usize,
    /// Most cross-reference entries over all sections.
    pub max_objects: usize,
    /// Most decompressed stream bytes over the whole file.
    pub max_decompressed: usize,
    /// Most pages.
    pub max_pages: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_size: 64 << 20,
            max_revisions: 256,
            max_objects: 1_000_000,
            max_decompressed: 128 << 20,
            max_pages: 20_000,
        }
    }
}

/// Why a PDF could not be read or stamped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PdfError {
    /// The bytes do not start with `%PDF-`.
    #[error("not a PDF file (no %PDF- header at offset 0)")]
    NotPdf,
    /// A token could not be parsed.
    #[error("PDF syntax error at byte {offset}: {what}")]
    Syntax {
        /// Byte offset of the problem.
        offset: usize,
        /// What was expected or found.
        what: String,
    },
    /// Arrays or dictionaries nested deeper than the parser accepts.
    #[error("objects nested too deeply")]
    TooDeep,
    /// A size limit was exceeded.
    #[error("PDF exceeds the limit on {0}")]
    TooLarge(&'static str),
    /// The file structure (xref, trailer, page tree) is broken.
    #[error("PDF structure: {0}")]
    Structure(String),
    /// A feature this reader does not handle.
    #[error("unsupported PDF feature: {0}")]
    Unsupported(String),
    /// A document the vault will not seal as it is (docs/threats.md §2.2).
    #[error("{0}")]
    Refused(String),
    /// The text a seal was to be centred on is not on the page(s) searched.
    #[error("the text {0:?} was not found")]
    KeywordNotFound(String),
    /// The CMS does not fit the `/Contents` placeholder.
    #[error("signature of {needed} bytes does not fit the {capacity}-byte placeholder")]
    PlaceholderTooSmall {
        /// Bytes needed.
        needed: usize,
        /// Bytes reserved.
        capacity: usize,
    },
}
