//! Verifying SignedData: the signer lookup, the messageDigest, the signature over the signed
//! attributes exactly as received (re-tagged SET), and the ESS signingCertificate binding.
//!
//! Chain validation and policy (EKU, trust anchors, revocation) stay with the caller, which
//! knows what the signature is for.

use std::borrow::Cow;

use time::OffsetDateTime;

use super::parse::{SignedDataView, digest_alg_from_identifier, parse};
use super::{
    CmsError, DigestAlg, OID_CONTENT_TYPE, OID_MESSAGE_DIGEST, OID_SIGNING_CERTIFICATE,
    OID_SIGNING_CERTIFICATE_V2, OID_SM2, OID_SM2_1,
};
use crate::asn1::{self as der, Tlv};
use crate::crypto::{CryptoError, PublicKey, SignatureAlgorithm, ec_signature};
use crate::pki::Certificate;
use crate::report::Check;

/// The outcome of [`verify`].
#[derive(Debug, Clone, Default)]
pub struct CmsCheck {
    /// The signer certificate, when it was found.
    pub signer: Option<Certificate>,
    /// The signingTime attribute, when present and readable.
    pub signing_time: Option<OffsetDateTime>,
    /// eContentType (dotted), when the structure could be read.
    pub content_type: Option<String>,
    /// eContent, when attached.
    pub content: Option<Vec<u8>>,
    /// Signed attributes: (type OID, first value DER), in received order.
    pub signed_attrs: Vec<(String, Vec<u8>)>,
    /// Checks, named `cms.structure`, `cms.content_type`, `cms.signer_certificate`,
    /// `cms.message_digest`, `cms.signature` and `cms.signing_certificate` (ESS v1/v2, only
    /// when such an attribute is present).
    pub checks: Vec<Check>,
}

impl CmsCheck {
    /// Whether there is at least one check and every check passed.
    pub fn ok(&self) -> bool {
        !self.checks.is_empty() && self.checks.iter().all(|c| c.ok)
    }

    /// The check with this name, if it was made.
    pub fn check(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.name == name)
    }

    /// The first value (DER) of the signed attribute `oid`.
    pub fn signed_attr(&self, oid: &str) -> Option<&[u8]> {
        self.signed_attrs
            .iter()
            .find(|(o, _)| o == oid)
            .map(|(_, v)| v.as_slice())
    }
}

/// Verifies ContentInfo(SignedData) DER. The messageDigest is compared with the digest of the
/// eContent when attached, else with `detached_content_digest` (the external content's digest
/// with the SignerInfo's digest algorithm). The signer is looked up in `certificates`, then in
/// `extra_certs`. Signatures: ECDSA P-256/SHA-256, RSA PKCS#1 SHA-256, SM2/SM3, Ed25519.
pub fn verify(
    cms: &[u8],
    detached_content_digest: Option<&[u8]>,
    extra_certs: &[Certificate],
) -> CmsCheck {
    let mut out = CmsCheck::default();
    let parsed = parse(cms).and_then(|p| match p.signer.signed_attrs {
        Some(_) => Ok(p),
        None => Err(CmsError::Malformed("SignerInfo has no signedAttrs".into())),
    });
    let p = match parsed {
        Ok(p) => p,
        Err(e) => {
            out.checks
                .push(Check::new("cms.structure", false, e.to_string()));
            return out;
        }
    };
    out.checks.push(Check::new(
        "cms.structure",
        true,
        "ContentInfo(SignedData) with one SignerInfo",
    ));
    let si = &p.signer;
    out.content_type = Some(p.content_type.clone());
    out.content = p.content.map(<[u8]>::to_vec);
    out.signed_attrs = si
        .signed_attributes
        .iter()
        .map(|a| (a.oid.clone(), a.value.to_vec()))
        .collect();
    out.signing_time = si.signing_time();

    let attr_type = si
        .signed_attr(OID_CONTENT_TYPE)
        .and_then(|v| der::read(v).ok())
        .and_then(|(t, _)| super::parse::oid_of(&t));
    out.checks.push(Check::new(
        "cms.content_type",
        attr_type.as_deref() == Some(p.content_type.as_str()),
        format!(
            "eContentType {}, contentType attribute {}",
            p.content_type,
            attr_type.as_deref().unwrap_or("absent")
        ),
    ));

    let signer = find_signer(si.sid, &p.certificates, extra_certs);
    out.checks.push(match &signer {
        Some(c) => Check::new("cms.signer_certificate", true, c.subject().to_string()),
        None => Check::new(
            "cms.signer_certificate",
            false,
            "no certificate in the SignedData or given matches the SignerInfo sid",
        ),
    });
    out.checks
        .push(message_digest_check(&p, detached_content_digest));
    if let Some(cert) = &signer {
        out.checks.push(signature_check(&p, cert));
        out.checks.extend(ess_check(
            cert,
            si.signed_attr(OID_SIGNING_CERTIFICATE_V2),
            si.signed_attr(OID_SIGNING_CERTIFICATE),
        ));
    }
    out.signer = signer;
    out
}

/// Integer magnitude bytes without leading zeros (one byte kept for zero).
pub(crate) fn strip_leading_zeros(b: &[u8]) -> &[u8] {
    let skip = b.iter().take_while(|x| **x == 0).count();
    &b[skip.min(b.len().saturating_sub(1))..]
}

/// The certificate a SignerInfo sid names: issuerAndSerialNumber, or [0] subjectKeyIdentifier.
pub(crate) fn find_signer(
    sid: &[u8],
    in_cms: &[Certificate],
    extra: &[Certificate],
) -> Option<Certificate> {
    let (sid, _) = der::read(sid).ok()?;
    let matches = |c: &&Certificate| -> bool {
        match sid.tag {
            der::SEQUENCE => der::children(sid.content).is_ok_and(|p| match p.as_slice() {
                [issuer, serial] => {
                    issuer.raw == c.issuer_der()
                        && strip_leading_zeros(serial.content) == strip_leading_zeros(c.serial())
                }
                _ => false,
            }),
            0x80 => c.subject_key_identifier() == Some(sid.content),
            _ => false,
        }
    };
    in_cms.iter().chain(extra).find(matches).cloned()
}

fn message_digest_check(p: &SignedDataView<'_>, detached: Option<&[u8]>) -> Check {
    let name = "cms.message_digest";
    let alg = match der::read(p.signer.digest_algorithm)
        .map_err(|e| e.to_string())
        .and_then(|(t, _)| digest_alg_from_identifier(&t).map_err(|e| e.to_string()))
    {
        Ok(a) => a,
        Err(e) => return Check::new(name, false, e),
    };
    let Some((value, _)) = p
        .signer
        .signed_attr(OID_MESSAGE_DIGEST)
        .and_then(|v| der::read(v).ok())
    else {
        return Check::new(name, false, "no messageDigest attribute");
    };
    let (expected, what) = match (p.content, detached) {
        (Some(c), _) => (alg.digest(c), "the eContent"),
        (None, Some(d)) => (d.to_vec(), "the detached content"),
        (None, None) => {
            return Check::new(
                name,
                false,
                "detached signature and no content digest given",
            );
        }
    };
    let ok = value.tag == der::OCTET_STRING && value.content == expected;
    Check::new(
        name,
        ok,
        if ok {
            format!("{alg:?} of {what} matches")
        } else {
            format!("{alg:?} of {what} does not match the messageDigest attribute")
        },
    )
}

/// The algorithm a SignerInfo signatureAlgorithm OID names. Writers also put the key's
/// algorithm there: GB/T 35275 ones GM/T 0006's SM2 OIDs, others id-ecPublicKey or rsaEncryption.
pub(crate) fn signature_algorithm(oid: &str) -> Option<SignatureAlgorithm> {
    match oid {
        OID_SM2_1 | OID_SM2 => Some(SignatureAlgorithm::Sm2Sm3),
        "1.2.840.10045.2.1" => Some(SignatureAlgorithm::EcdsaP256Sha256),
        "1.2.840.113549.1.1.1" => Some(SignatureAlgorithm::RsaPkcs1Sha256),
        other => SignatureAlgorithm::from_oid(other),
    }
}

/// Checks a SignerInfo signature value over `message`: SM2 and ECDSA values may be DER or the
/// raw `r‖s` GB/T 35275 writers use.
pub(crate) fn check_signature(
    key: &PublicKey,
    alg: SignatureAlgorithm,
    message: &[u8],
    signature: &[u8],
) -> Result<(), CryptoError> {
    let signature = match alg {
        SignatureAlgorithm::Sm2Sm3 | SignatureAlgorithm::EcdsaP256Sha256 => {
            Cow::Owned(ec_signature::to_der(signature))
        }
        _ => Cow::Borrowed(signature),
    };
    key.verify(alg, message, &signature)
}

fn signature_check(p: &SignedDataView<'_>, cert: &Certificate) -> Check {
    let name = "cms.signature";
    let oid = p.signer.signature_algorithm.as_str();
    let Some(alg) = signature_algorithm(oid) else {
        return Check::new(
            name,
            false,
            format!("unsupported signature algorithm {oid}"),
        );
    };
    let Some(signed) = p.signer.signed_message() else {
        return Check::new(name, false, "no signed attributes");
    };
    let result = cert.public_key().map_err(|e| e.to_string()).and_then(|k| {
        check_signature(&k, alg, &signed, p.signer.signature).map_err(|e| e.to_string())
    });
    match result {
        Ok(()) => Check::new(name, true, format!("{} signature verifies", alg.as_str())),
        Err(e) => Check::new(name, false, format!("{}: {e}", alg.as_str())),
    }
}

/// ESS: the first ESSCertID(v2) hashes the signer certificate and, if it has an IssuerSerial,
/// names its issuer and serial. `None` when neither attribute is present (CMS does not require
/// one; callers that do, such as RFC 3161, say so themselves).
fn ess_check(cert: &Certificate, v2: Option<&[u8]>, v1: Option<&[u8]>) -> Option<Check> {
    let name = "cms.signing_certificate";
    Some(ess_binding(cert, v2, v1)?.map_or_else(
        |e| Check::new(name, false, e),
        |which| {
            Check::new(
                name,
                true,
                format!("{which} matches the signer certificate"),
            )
        },
    ))
}

/// The ESS attribute's name when it binds `cert`, else why not; `None` without one.
fn ess_binding(
    cert: &Certificate,
    v2: Option<&[u8]>,
    v1: Option<&[u8]>,
) -> Option<Result<&'static str, String>> {
    let (parts, hash, which) = if let Some(a) = v2 {
        let Some(parts) = first_id(a) else {
            return Some(Err("malformed signingCertificateV2".into()));
        };
        let (alg, rest) = match parts.split_first() {
            Some((alg, rest)) if alg.tag == der::SEQUENCE => {
                match digest_alg_from_identifier(alg) {
                    Ok(h) => (h, rest.to_vec()),
                    Err(e) => return Some(Err(e.to_string())),
                }
            }
            _ => (DigestAlg::Sha256, parts),
        };
        (rest, alg.digest(cert.der()), "signingCertificateV2")
    } else if let Some(a) = v1 {
        let Some(parts) = first_id(a) else {
            return Some(Err("malformed signingCertificate".into()));
        };
        let sha1 = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, cert.der());
        (parts, sha1.as_ref().to_vec(), "signingCertificate")
    } else {
        return None;
    };
    let hash_ok = parts
        .first()
        .is_some_and(|h| h.tag == der::OCTET_STRING && h.content == hash);
    if !hash_ok {
        return Some(Err(format!("{which} does not hash the signer certificate")));
    }
    if let Some(is) = parts.get(1) {
        let names_ok = der::children(is.content).is_ok_and(|p| match p.as_slice() {
            [names, serial] => {
                strip_leading_zeros(serial.content) == strip_leading_zeros(cert.serial())
                    && der::children(names.content).is_ok_and(|n| {
                        n.iter()
                            .any(|g| g.tag == 0xA4 && g.content == cert.issuer_der())
                    })
            }
            _ => false,
        });
        if !names_ok {
            return Some(Err(format!(
                "{which} issuerSerial names another certificate"
            )));
        }
    }
    Some(Ok(which))
}

/// The fields of the first ESSCertID(v2) in a SigningCertificate(V2) value.
fn first_id(attr: &[u8]) -> Option<Vec<Tlv<'_>>> {
    let (sc, _) = der::read(attr).ok()?;
    let (certs, _) = der::read(sc.content).ok()?;
    let (id, _) = der::read(certs.content).ok()?;
    der::children(id.content).ok()
}
