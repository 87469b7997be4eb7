//! What a handwritten signature binds: the digests of the canonical capture and of the consent
//! text, as one CMS signed attribute (PAdES) or in an SES signature's extension data (OFD).
//!
//! ```text
//! id-sidian-handwriting-binding OBJECT IDENTIFIER ::= { 2 25 93028897988627785730385302927956646716 2 }
//! HandwritingBinding ::= SEQUENCE {
//!     digestAlgorithm  AlgorithmIdentifier,  -- SHA-256 with P-256, SM3 with SM2
//!     captureDigest    OCTET STRING,         -- of the capture's canonical JSON
//!     consentDigest    OCTET STRING }        -- of the consent text (UTF-8)
//! ```

use crate::asn1::{self, Reader};
use crate::cms::{DigestAlg, digest_alg_from_identifier};

/// The signed attribute's type.
pub const OID_HANDWRITING_BINDING: &str = "2.25.93028897988627785730385302927956646716.2";

/// The digests a handwritten signature binds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// How both were hashed.
    pub alg: DigestAlg,
    /// Digest of the capture's canonical bytes.
    pub capture_digest: Vec<u8>,
    /// Digest of the consent text.
    pub consent_digest: Vec<u8>,
}

impl Binding {
    /// The binding of `capture` (canonical bytes) and `consent` under `alg`.
    pub fn of(alg: DigestAlg, capture: &[u8], consent: &str) -> Binding {
        Binding {
            alg,
            capture_digest: alg.digest(capture),
            consent_digest: alg.digest(consent.as_bytes()),
        }
    }

    /// DER of the `HandwritingBinding` SEQUENCE.
    pub fn to_der(&self) -> Vec<u8> {
        asn1::seq(&[
            &self.alg.algorithm_identifier(),
            &asn1::tlv(asn1::OCTET_STRING, &self.capture_digest),
            &asn1::tlv(asn1::OCTET_STRING, &self.consent_digest),
        ])
    }

    /// What a verification report states of it before the vault that keeps the evidence
    /// looks (`evidence: unchecked`).
    pub fn summary(&self) -> crate::report::Handwriting {
        crate::report::Handwriting {
            digest_alg: if self.alg == DigestAlg::Sm3 {
                "sm3"
            } else {
                "sha256"
            }
            .into(),
            capture_digest: hex::encode(&self.capture_digest),
            consent_digest: hex::encode(&self.consent_digest),
            signer: None,
            verified_by: None,
            evidence: "unchecked".into(),
            signer_status: None,
            cancelled_at: None,
            signed_before_cancellation: None,
        }
    }

    /// Reads a `HandwritingBinding` (exactly one, nothing after it); `None` if it is not one.
    pub fn from_der(der: &[u8]) -> Option<Binding> {
        let outer = Reader::single(der, "HandwritingBinding").ok()?;
        if outer.tag != asn1::SEQUENCE {
            return None;
        }
        let mut r = outer.reader("HandwritingBinding").ok()?;
        let alg = r.any("digestAlgorithm").ok()?;
        let alg = digest_alg_from_identifier(&alg).ok()?;
        let capture_digest = r.octets("captureDigest").ok()?.to_vec();
        let consent_digest = r.octets("consentDigest").ok()?.to_vec();
        r.finish("HandwritingBinding").ok()?;
        let n = alg.digest_len();
        (capture_digest.len() == n && consent_digest.len() == n).then_some(Binding {
            alg,
            capture_digest,
            consent_digest,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_what_is_not_one() {
        for alg in [DigestAlg::Sha256, DigestAlg::Sm3] {
            let b = Binding::of(alg, b"{}", "我同意");
            assert_eq!(Binding::from_der(&b.to_der()), Some(b.clone()));
            let mut der = b.to_der();
            der.push(0);
            assert_eq!(Binding::from_der(&der), None);
        }
        let short = asn1::seq(&[
            &DigestAlg::Sha256.algorithm_identifier(),
            &asn1::tlv(asn1::OCTET_STRING, &[1; 31]),
            &asn1::tlv(asn1::OCTET_STRING, &[1; 32]),
        ]);
        assert_eq!(Binding::from_der(&short), None);
    }
}
