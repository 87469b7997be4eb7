//! One entry point for documents: sniff the format, verify every signature, fold the verdicts.

use time::OffsetDateTime;

use super::ses::{ORIGINAL_MISSING, Original, Verifier};
use crate::ofd;
use crate::report::{Report, SignatureReport, Verdict};
use crate::ses::{Seal, Signature};

/// What a document's bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// An OFD package (zip with `OFD.xml`).
    Ofd,
    /// A PDF file.
    Pdf,
    /// A DER SES_Signature.
    SesSignature,
    /// A DER SESeal.
    SesSeal,
}

impl Format {
    /// Name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Ofd => "ofd",
            Format::Pdf => "pdf",
            Format::SesSignature => "ses-signature",
            Format::SesSeal => "ses-seal",
        }
    }

    /// The format a Content-Type names; `None` for `application/octet-stream` and unknown types.
    pub fn from_content_type(ct: &str) -> Option<Format> {
        match ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
            .as_str()
        {
            "application/ofd" => Some(Format::Ofd),
            "application/pdf" => Some(Format::Pdf),
            _ => None,
        }
    }

    /// Guesses the format from the first bytes.
    pub fn sniff(bytes: &[u8]) -> Option<Format> {
        if ofd::is_ofd(bytes) {
            Some(Format::Ofd)
        } else if bytes.starts_with(b"%PDF-") {
            Some(Format::Pdf)
        } else if bytes.first() == Some(&0x30) {
            if Signature::from_der(bytes).is_ok() {
                Some(Format::SesSignature)
            } else if Seal::from_der(bytes).is_ok() {
                Some(Format::SesSeal)
            } else {
                // Undecodable DER: report it as a signature so the reason is shown.
                Some(Format::SesSignature)
            }
        } else {
            None
        }
    }
}

pub(super) fn fold(
    format: Format,
    signatures: Vec<SignatureReport>,
    mut problems: Vec<String>,
) -> Report {
    let verdict = if signatures.is_empty() {
        if problems.is_empty() {
            problems.push("no signatures found".into());
        }
        Verdict::Indeterminate
    } else {
        signatures
            .iter()
            .fold(Verdict::Valid, |v, s| v.worst(s.verdict))
    };
    Report {
        verdict,
        validation_time: None,
        format: format.as_str().to_owned(),
        signatures,
        problems,
        links: Vec::new(),
        licence: None,
        licence_claim: None,
    }
}

pub(super) fn invalid(format: &str, problem: String) -> Report {
    Report {
        verdict: Verdict::Invalid,
        validation_time: None,
        format: format.to_owned(),
        signatures: Vec::new(),
        problems: vec![problem],
        links: Vec::new(),
        licence: None,
        licence_claim: None,
    }
}

impl Verifier {
    /// Verifies a document of a given (or sniffed) format as of `now`. A bare SES_Signature
    /// comes without its original: INDETERMINATE at best ([`ORIGINAL_MISSING`]).
    pub fn verify_document(
        &self,
        bytes: &[u8],
        format: Option<Format>,
        now: OffsetDateTime,
    ) -> Report {
        let Some(format) = format.or_else(|| Format::sniff(bytes)) else {
            return invalid("unknown", "not an OFD, PDF or DER SES structure".into());
        };
        let mut report = match format {
            Format::Ofd => self.verify_ofd(bytes, now),
            Format::Pdf => self.verify_pdf(bytes, now),
            Format::SesSignature | Format::SesSeal => {
                return self.verify_ses(bytes, Original::Absent, now);
            }
        };
        report.validation_time = Some(now);
        report
    }

    /// Verifies a DER SES_Signature against its original as of `now` (or, if the bytes are a
    /// SESeal, the seal on its own). Without the original the signature is at best
    /// INDETERMINATE, and the report's problems say why ([`ORIGINAL_MISSING`]).
    pub fn verify_ses(&self, der: &[u8], original: Original<'_>, now: OffsetDateTime) -> Report {
        let mut report = if Signature::from_der(der).is_err() && Seal::from_der(der).is_ok() {
            fold(
                Format::SesSeal,
                vec![self.verify_seal(der, now)],
                Vec::new(),
            )
        } else {
            let mut problems = Vec::new();
            if let Original::Absent = original {
                problems.push(format!(
                    "{ORIGINAL_MISSING}: the signed original was not supplied; without it the \
                     signature cannot be VALID"
                ));
            }
            fold(
                Format::SesSignature,
                vec![self.verify_signature(der, original, now)],
                problems,
            )
        };
        report.validation_time = Some(now);
        report
    }
}
