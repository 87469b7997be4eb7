//! `Type="Sign"` signatures: GB/T 35275 SM2 CMS `SignedData` over `Signature.xml`.
//!
//! [`crate::cms::parse`] reads the SignedData (GB/T 35275's content-type OIDs, digest algorithms
//! without NULL parameters, SM2 OIDs as the signatureAlgorithm, raw `r‖s` or DER signatures,
//! the signed attributes exactly as received). What is OFD's stays here: what was signed, and
//! the checks reported.
//!
//! What was signed (docs/standards.md §1.8): ofdrw signs SM3(Signature.xml), optionally base64-encoded;
//! real samples are detached with messageDigest = SM3(Signature.xml). All three readings of the
//! content are accepted, and the detail says which one matched.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use time::OffsetDateTime;

use super::Check;
use crate::asn1 as der;
use crate::cms::{self, DigestAlg, OID_MESSAGE_DIGEST, SignedDataView, SignerInfoView};
use crate::crypto::{SignatureAlgorithm, ec_signature, sm3};
use crate::pki::Certificate;

/// The outcome of verifying a `Type="Sign"` SignedValue.
#[derive(Debug, Clone, Default)]
pub struct SignCms {
    /// DER of the signer certificate found in `certificates`.
    pub signer_cert: Option<Vec<u8>>,
    /// The signingTime authenticated attribute.
    pub signed_at: Option<OffsetDateTime>,
    /// `cms.parse`, `cms.content_type`, `cms.signer_certificate`, `cms.digest_algorithm`,
    /// `cms.content`, `cms.message_digest`, `cms.signature_algorithm`, `cms.signature`.
    pub checks: Vec<Check>,
}

impl SignCms {
    /// Whether there is at least one check and all of them passed.
    pub fn ok(&self) -> bool {
        !self.checks.is_empty() && self.checks.iter().all(|c| c.ok)
    }
}

/// The signer certificate: the one the signer identifier names, else the only one present.
fn signer_certificate(p: &SignedDataView<'_>) -> (Option<Certificate>, Check) {
    let name = "cms.signer_certificate";
    if let Some(cert) = cms::find_signer(p.signer.sid, &p.certificates, &[]) {
        let by = if p.signer.sid.first() == Some(&der::SEQUENCE) {
            "issuerAndSerialNumber"
        } else {
            "subjectKeyIdentifier"
        };
        return (
            Some(cert),
            Check::new(name, true, format!("matched by {by}")),
        );
    }
    match p.certificates.as_slice() {
        [only] => (
            Some(only.clone()),
            Check::new(
                name,
                true,
                "the only certificate (signer identifier does not name it)",
            ),
        ),
        [] => (
            None,
            Check::new(name, false, "no signer certificate: cannot be verified"),
        ),
        many => (
            None,
            Check::new(
                name,
                false,
                format!(
                    "none of {} certificates matches the signer identifier",
                    many.len()
                ),
            ),
        ),
    }
}

/// The messageDigest attribute's value: one attribute, an OCTET STRING.
fn message_digest<'a>(si: &SignerInfoView<'a>) -> Result<Option<&'a [u8]>, String> {
    let mut values = si
        .signed_attributes
        .iter()
        .filter(|a| a.oid == OID_MESSAGE_DIGEST);
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err("two messageDigest attributes".into());
    }
    match der::read(first.value) {
        Ok((t, _)) if t.tag == der::OCTET_STRING => Ok(Some(t.content)),
        _ => Err("messageDigest is not an OCTET STRING".into()),
    }
}

/// Verify a `Type="Sign"` SignedValue (GB/T 35275 SignedData) against the `Signature.xml` bytes.
pub fn verify_sign_cms(signed_value: &[u8], signature_xml: &[u8]) -> SignCms {
    let mut out = SignCms::default();
    if ec_signature::is_der(signed_value) {
        out.checks.push(Check::new(
            "cms.parse",
            false,
            "a bare SM2 signature SEQUENCE{r, s}, not a CMS SignedData",
        ));
        out.checks.push(Check::new(
            "cms.signer_certificate",
            false,
            "no signer certificate: cannot be verified",
        ));
        return out;
    }
    let p = match cms::parse(signed_value) {
        Ok(p) => p,
        Err(e) => {
            out.checks
                .push(Check::new("cms.parse", false, e.to_string()));
            return out;
        }
    };
    out.checks
        .push(Check::new("cms.parse", true, "ContentInfo with SignedData"));
    out.checks.push(Check::new(
        "cms.content_type",
        true,
        format!("contentType {}", p.content_info_type),
    ));
    let si = &p.signer;

    let (signer, check) = signer_certificate(&p);
    out.signer_cert = signer.as_ref().map(|c| c.der().to_vec());
    out.checks.push(check);

    let digest_oid = si.digest_algorithm_oid();
    let digest_ok = digest_oid.as_deref() == Some(DigestAlg::Sm3.oid());
    let detail = digest_oid.map_or_else(
        || "digestAlgorithm: unreadable AlgorithmIdentifier".to_owned(),
        |o| format!("digestAlgorithm {o}"),
    );
    out.checks
        .push(Check::new("cms.digest_algorithm", digest_ok, detail));

    // The three accepted readings of "the content" (module doc).
    let xml_hash = sm3(signature_xml);
    let xml_hash_b64 = B64.encode(xml_hash);
    let candidates: [(&str, &[u8]); 3] = [
        ("Signature.xml", signature_xml),
        ("SM3(Signature.xml)", &xml_hash),
        ("base64(SM3(Signature.xml))", xml_hash_b64.as_bytes()),
    ];
    let contents: Vec<(&str, &[u8])> = match p.content {
        Some(ec) => match candidates.iter().find(|(_, c)| *c == ec) {
            Some(&(label, c)) => {
                out.checks.push(Check::new(
                    "cms.content",
                    true,
                    format!("eContent is {label}"),
                ));
                vec![(label, c)]
            }
            None => {
                let detail = "eContent is none of Signature.xml, SM3(Signature.xml) or its base64";
                out.checks.push(Check::new("cms.content", false, detail));
                vec![("eContent", ec)]
            }
        },
        None => candidates.to_vec(),
    };

    // With signed attributes the signature covers them; without, the content itself.
    let signed_message = si.signed_message();
    let content_for_sig = match &signed_message {
        Some(_) => {
            out.signed_at = si.signing_time();
            let (ok, detail) = match message_digest(si) {
                Err(e) => (false, e),
                Ok(None) => (false, "no messageDigest attribute".to_owned()),
                Ok(Some(md)) => match contents.iter().find(|(_, c)| sm3(c).as_slice() == md) {
                    Some((label, _)) => (true, format!("messageDigest = SM3({label})")),
                    None => (false, "messageDigest does not match the content".to_owned()),
                },
            };
            out.checks
                .push(Check::new("cms.message_digest", ok, detail));
            Vec::new()
        }
        None => {
            out.checks.push(Check::new(
                "cms.message_digest",
                true,
                "no authenticated attributes: the signature covers the content itself",
            ));
            contents
        }
    };

    let sig_alg_ok =
        cms::signature_algorithm(&si.signature_algorithm) == Some(SignatureAlgorithm::Sm2Sm3);
    out.checks.push(Check::new(
        "cms.signature_algorithm",
        sig_alg_ok,
        format!("digestEncryptionAlgorithm {}", si.signature_algorithm),
    ));

    let Some(signer) = signer else {
        out.checks
            .push(Check::new("cms.signature", false, "no signer public key"));
        return out;
    };
    let key = match signer.public_key() {
        Ok(k) => k,
        Err(e) => {
            out.checks.push(Check::new(
                "cms.signature",
                false,
                format!("signer key unusable: {e}"),
            ));
            return out;
        }
    };
    let verifies =
        |m: &[u8]| cms::check_signature(&key, SignatureAlgorithm::Sm2Sm3, m, si.signature).is_ok();
    let (ok, detail) = match &signed_message {
        Some(m) if verifies(m) => (
            true,
            "SM2 signature over the authenticated attributes verifies".to_owned(),
        ),
        Some(_) => (
            false,
            "SM2 signature over the authenticated attributes does not verify".to_owned(),
        ),
        None => match content_for_sig.iter().find(|(_, c)| verifies(c)) {
            Some((label, _)) => (true, format!("SM2 signature over {label} verifies")),
            None => (
                false,
                "SM2 signature over the content does not verify".to_owned(),
            ),
        },
    };
    out.checks.push(Check::new("cms.signature", ok, detail));
    out
}
