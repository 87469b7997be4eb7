//! Verification of signed artefacts (SES seals and signatures, OFD and PDF documents) into one report shape.

pub mod audit;
mod clock;
pub mod document;
mod ofd;
mod pdf;
pub mod report;
pub mod ses;
pub mod summary;

pub use audit::AuditFinding;
pub use clock::MAX_CLOCK_SKEW;
pub use document::Format;
pub use report::{
    Check, DocumentLink, Report, SealSummary, SignatureIdentity, SignatureReport, TimeSource,
    Verdict, Warning, readable_name,
};
pub use ses::{ORIGINAL_MISSING, Original, Revocations, Verifier};
pub use summary::summary;
