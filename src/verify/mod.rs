//! Verification of signed artefacts (SES seals and signatures, OFD and, later, PDF documents) into one report shape.

pub mod report;

pub use report::{Check, Report, SealSummary, SignatureReport, Verdict};
