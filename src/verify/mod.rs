//! Verification of signed artefacts (SES seals and signatures, OFD and PDF documents) into one report shape.

pub mod audit;
mod clock;
pub mod document;
pub mod licence;
mod ofd;
mod pdf;
pub mod ses;
mod signer;
pub mod summary;

pub use audit::AuditFinding;
pub use clock::MAX_CLOCK_SKEW;
pub use document::Format;
pub use licence::{LicenceLookup, LicenceRecord};
// The report's types are verify's public API too (`sidian::verify::Verdict`).
pub use crate::report::{
    Check, DocumentLink, Handwriting, LicenceClaim, LicenceIssuerReport, LicenceReport,
    LicenceSlot, Report, SealSummary, SignatureIdentity, SignatureReport, TimeSource, Verdict,
    Warning,
};
pub use ses::{ORIGINAL_MISSING, Original, Revocations, Verifier};
pub use signer::readable_name;
pub use summary::summary;
