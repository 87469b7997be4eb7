//! Verification of signed artefacts (SES seals and signatures, OFD and PDF documents) into one report shape.

pub mod document;
mod pdf;
pub mod report;
pub mod ses;

pub use document::Format;
pub use report::{Check, DocumentLink, Report, SealSummary, SignatureReport, Verdict};
pub use ses::{Original, Revocations, Verifier};
