//! One entry point for documents: sniff the format, verify every signature, fold the verdicts.

use time::OffsetDateTime;

use super::clock::{not_in_future, revocation_check};
use super::report::{Check, Report, SignatureIdentity, SignatureReport, TimeSource, Verdict};
use super::ses::{ORIGINAL_MISSING, Original, Verifier, unreadable};
use crate::ofd::{self, Limits, OfdSignature, SignatureKind};
use crate::pki::{Certificate, Usage};
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

fn fold(format: Format, signatures: Vec<SignatureReport>, mut problems: Vec<String>) -> Report {
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

    /// Verifies every signature of an OFD package (GB/T 33190 §18).
    pub fn verify_ofd(&self, bytes: &[u8], now: OffsetDateTime) -> Report {
        let found = match ofd::read_signatures(bytes, &Limits::default()) {
            Ok(f) => f,
            Err(e) => return invalid("ofd", format!("unreadable OFD package: {e}")),
        };
        let signatures = found
            .signatures
            .iter()
            .map(|s| self.ofd_signature(s, now))
            .collect();
        fold(Format::Ofd, signatures, found.problems)
    }

    fn ofd_signature(&self, s: &OfdSignature, now: OffsetDateTime) -> SignatureReport {
        let mut report = match s.kind {
            SignatureKind::Seal => match Signature::from_der(&s.signed_value) {
                Ok(sig) => {
                    let mut r = self.verify_parsed(&sig, Original::Data(&s.signature_xml), now);
                    if let Some(esl) = &s.seal_esl {
                        let same = esl.as_slice() == sig.seal().der();
                        r.checks.push(Check::new(
                            "ofd.seal_esl",
                            same,
                            if same {
                                "Seal.esl equals TBS_Sign.eseal"
                            } else {
                                "Seal.esl differs from TBS_Sign.eseal"
                            },
                        ));
                        if !same {
                            r.intact = false;
                            r.verdict = Verdict::Invalid;
                        }
                    }
                    r
                }
                Err(e) => unreadable("ses", "signature.format", &format!("SignedValue: {e}")),
            },
            SignatureKind::Sign => self.ofd_cms(s, now),
        };
        let references_ok = s.checks.iter().all(|c| c.ok);
        if !references_ok {
            // The signature itself may be intact over Signature.xml; a protected file changed
            // after sealing, which is not the same finding as a forged signature.
            report.intact = false;
            report.verdict = report.verdict.worst(Verdict::ModifiedAfterSealing);
        }
        let mut checks = Vec::with_capacity(s.checks.len() + report.checks.len() + 1);
        checks.push(Check::new(
            "ofd.signature",
            true,
            format!("Signature ID {} at {}", s.id, s.base_loc),
        ));
        checks.extend(s.checks.iter().cloned());
        checks.append(&mut report.checks);
        report.checks = checks;
        report
    }

    fn ofd_cms(&self, s: &OfdSignature, now: OffsetDateTime) -> SignatureReport {
        let cms = ofd::verify_sign_cms(&s.signed_value, &s.signature_xml);
        let mut report = SignatureReport::blank("ofd-sign-cms");
        report.intact = cms.checks.iter().all(|c| c.ok);
        report.signed_at = cms.signed_at;
        report.checks = cms.checks;
        let mut refused = false;
        if let Some(t) = cms.signed_at {
            let c = not_in_future("cms.signing_time_not_in_future", "signingTime", t, now);
            refused |= !c.ok;
            report.checks.push(c);
        }
        if let Some(der) = &cms.signer_cert {
            match Certificate::from_der(der) {
                Ok(cert) => {
                    report.set_signer(&cert);
                    // The vault never makes Type="Sign" CMS: no signature value to look up.
                    report.identity = Some(SignatureIdentity {
                        signer_fingerprint: cert.fingerprint_sha256(),
                        signature_sha256: None,
                    });
                    let (at, source) = match cms.signed_at {
                        Some(t) => (t, TimeSource::SigningTime),
                        None => (now, TimeSource::VerificationTime),
                    };
                    report.signed_at_source = Some(source);
                    let v = crate::pki::validate(
                        &cert,
                        &[],
                        self.trust(),
                        at,
                        Usage::Signing,
                        self.revocations(),
                    );
                    report.trusted = v.trusted;
                    report.trust_anchor = v.chain.last().filter(|_| v.trusted).cloned();
                    report.revoked_at = v.revoked_at;
                    report.checks.extend(
                        v.checks.into_iter().map(|c| {
                            Check::new(format!("signer_chain.{}", c.name), c.ok, c.detail)
                        }),
                    );
                    if let Some(revoked) = v.revoked_at {
                        let c = revocation_check("signer_chain.revocation", at, revoked);
                        refused |= !c.ok;
                        report.checks.push(c);
                    }
                }
                Err(e) => {
                    report.intact = false;
                    report.checks.push(Check::new(
                        "signer_chain.certificate",
                        false,
                        e.to_string(),
                    ));
                }
            }
        }
        report.verdict = if !report.intact || refused {
            Verdict::Invalid
        } else if !report.trusted {
            Verdict::Untrusted
        } else {
            Verdict::Valid
        };
        report
    }
}
