//! Verifying time-stamp tokens: the CMS structure, the TSTInfo, the signed attributes exactly
//! as received, and the signer certificate's ESS binding and EKU.
//!
//! Chain validation is left to the caller ([`crate::pki::validate`] with
//! [`crate::pki::Usage::TimeStamping`] at the token's genTime or now), since only the caller
//! knows which trust store and revocation source apply.

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

use super::request::{hash_algorithm, message_imprint};
use super::{
    HashAlg, OID_CONTENT_TYPE, OID_KP_TIME_STAMPING, OID_MESSAGE_DIGEST, OID_SIGNED_DATA,
    OID_SIGNING_CERTIFICATE, OID_SIGNING_CERTIFICATE_V2, OID_SM2_1, OID_TST_INFO, TsaError,
    malformed,
};
use crate::crypto::SignatureAlgorithm;
use crate::pki::{self, Certificate, der, der::Tlv};
use crate::verify::Check;

/// The fields of a TSTInfo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TstInfo {
    /// TSA policy OID (dotted).
    pub policy: String,
    /// Hash algorithm of the message imprint.
    pub hash_alg: HashAlg,
    /// The imprint.
    pub hashed_message: Vec<u8>,
    /// Serial number magnitude (no leading zero bytes).
    pub serial: Vec<u8>,
    /// genTime (UTC).
    pub gen_time: OffsetDateTime,
    /// Nonce as INTEGER content bytes.
    pub nonce: Option<Vec<u8>>,
}

impl TstInfo {
    /// Parses TSTInfo DER (version 1; accuracy, ordering, tsa and extensions are skipped).
    pub fn from_der(input: &[u8]) -> Result<TstInfo, TsaError> {
        let (outer, rest) = der::read(input).map_err(malformed)?;
        if outer.tag != der::SEQUENCE || !rest.is_empty() {
            return Err(TsaError::Malformed("TSTInfo is not one SEQUENCE".into()));
        }
        let parts = der::children(outer.content).map_err(malformed)?;
        let [version, policy, imprint, serial, gen_time, optional @ ..] = parts.as_slice() else {
            return Err(TsaError::Malformed("TSTInfo has too few fields".into()));
        };
        if version.tag != der::INTEGER || version.content != [1] {
            return Err(TsaError::Malformed("TSTInfo version is not 1".into()));
        }
        let policy = (policy.tag == der::OID)
            .then(|| der::oid_to_string(policy.content))
            .flatten()
            .ok_or_else(|| TsaError::Malformed("TSTInfo policy is not an OID".into()))?;
        if imprint.tag != der::SEQUENCE {
            return Err(TsaError::Malformed("TSTInfo messageImprint".into()));
        }
        let (hash_alg, hashed_message) = message_imprint(imprint)?;
        if serial.tag != der::INTEGER || serial.content.is_empty() {
            return Err(TsaError::Malformed("TSTInfo serialNumber".into()));
        }
        let gen_time = parse_generalized_time(gen_time)
            .ok_or_else(|| TsaError::Malformed("TSTInfo genTime".into()))?;
        let nonce = optional
            .iter()
            .find(|t| t.tag == der::INTEGER)
            .map(|t| t.content.to_vec());
        Ok(TstInfo {
            policy,
            hash_alg,
            hashed_message,
            serial: pki_strip(serial.content).to_vec(),
            gen_time,
            nonce,
        })
    }
}

/// The outcome of [`verify_token`].
#[derive(Debug, Clone)]
pub struct TokenCheck {
    /// The TSTInfo, when it could be parsed.
    pub tst_info: Option<TstInfo>,
    /// The signer certificate, when it was found.
    pub signer: Option<Certificate>,
    /// Checks, named `tsa.structure`, `tsa.content_type`, `tsa.tst_info`, `tsa.imprint`,
    /// `tsa.signer_certificate`, `tsa.message_digest`, `tsa.signature`,
    /// `tsa.signing_certificate`, `tsa.extended_key_usage`.
    pub checks: Vec<Check>,
}

impl TokenCheck {
    /// Whether there is at least one check and every check passed.
    pub fn ok(&self) -> bool {
        !self.checks.is_empty() && self.checks.iter().all(|c| c.ok)
    }

    /// The check with this name, if it was made.
    pub fn check(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.name == name)
    }
}

/// The parts of a token the checks need, borrowed from the DER.
struct Parsed<'a> {
    e_content_type: String,
    e_content: &'a [u8],
    certificates: Vec<Certificate>,
    sid: Tlv<'a>,
    digest_alg: Tlv<'a>,
    signed_attrs: Tlv<'a>,
    signature_alg: String,
    signature: &'a [u8],
}

/// Verifies a token (ContentInfo DER): CMS structure, eContentType id-ct-TSTInfo,
/// messageDigest = hash of the eContent, the signature over the DER SET of signed attributes
/// (ECDSA P-256/SHA-256, RSA PKCS#1 SHA-256, SM2/SM3, Ed25519), ESS signingCertificate(V2)
/// matching the signer, signer found in `certificates` or `extra_certs`, EKU timeStamping
/// (critical, alone); and, when `expected` is given, that the imprint equals it.
pub fn verify_token(
    token: &[u8],
    expected: Option<(HashAlg, &[u8])>,
    extra_certs: &[Certificate],
) -> TokenCheck {
    let mut out = TokenCheck {
        tst_info: None,
        signer: None,
        checks: Vec::new(),
    };
    let p = match parse(token) {
        Ok(p) => p,
        Err(e) => {
            out.checks.push(Check::new("tsa.structure", false, e));
            return out;
        }
    };
    out.checks.push(Check::new(
        "tsa.structure",
        true,
        "ContentInfo(SignedData) with one SignerInfo",
    ));
    let attrs = match attributes(&p.signed_attrs) {
        Ok(a) => a,
        Err(e) => {
            out.checks
                .push(Check::new("tsa.signed_attributes", false, e));
            return out;
        }
    };
    let attr = |oid: &str| attrs.iter().find(|(o, _)| o == oid).map(|(_, v)| *v);

    let attr_type = attr(OID_CONTENT_TYPE)
        .and_then(|v| der::read(v).ok())
        .and_then(|(t, _)| der::oid_to_string(t.content));
    let ct_ok = p.e_content_type == OID_TST_INFO && attr_type.as_deref() == Some(OID_TST_INFO);
    out.checks.push(Check::new(
        "tsa.content_type",
        ct_ok,
        format!(
            "eContentType {}, contentType attribute {}",
            p.e_content_type,
            attr_type.as_deref().unwrap_or("absent")
        ),
    ));

    match TstInfo::from_der(p.e_content) {
        Ok(info) => {
            out.checks.push(Check::new(
                "tsa.tst_info",
                true,
                format!("genTime {}, policy {}", info.gen_time, info.policy),
            ));
            if let Some((alg, bytes)) = expected {
                let ok = info.hash_alg == alg && info.hashed_message == bytes;
                out.checks.push(Check::new(
                    "tsa.imprint",
                    ok,
                    if ok {
                        "the message imprint is the expected one".to_string()
                    } else {
                        format!(
                            "imprint {:?} {} differs",
                            info.hash_alg,
                            hex::encode(&info.hashed_message)
                        )
                    },
                ));
            }
            out.tst_info = Some(info);
        }
        Err(e) => out
            .checks
            .push(Check::new("tsa.tst_info", false, e.to_string())),
    }

    let signer = find_signer(&p.sid, &p.certificates, extra_certs);
    out.checks.push(match &signer {
        Some(c) => Check::new("tsa.signer_certificate", true, c.subject().to_string()),
        None => Check::new(
            "tsa.signer_certificate",
            false,
            "no certificate in the token or given matches the SignerInfo sid",
        ),
    });

    out.checks
        .push(message_digest_check(&p, attr(OID_MESSAGE_DIGEST)));
    if let Some(cert) = &signer {
        out.checks.push(signature_check(&p, cert));
        out.checks.push(ess_check(
            cert,
            attr(OID_SIGNING_CERTIFICATE_V2),
            attr(OID_SIGNING_CERTIFICATE),
        ));
        out.checks.push(eku_check(cert));
    }
    out.signer = signer;
    out
}

fn parse(token: &[u8]) -> Result<Parsed<'_>, String> {
    let e = |e: pki::PkiError| e.to_string();
    let (ci, rest) = der::read(token).map_err(e)?;
    if ci.tag != der::SEQUENCE || !rest.is_empty() {
        return Err("token is not one ContentInfo SEQUENCE".into());
    }
    let ci = der::children(ci.content).map_err(e)?;
    let [ct, content] = ci.as_slice() else {
        return Err("ContentInfo shape".into());
    };
    if oid_of(ct).as_deref() != Some(OID_SIGNED_DATA) || content.tag != 0xA0 {
        return Err("ContentInfo is not SignedData".into());
    }
    let (sd, _) = der::read(content.content).map_err(e)?;
    if sd.tag != der::SEQUENCE {
        return Err("SignedData is not a SEQUENCE".into());
    }
    let sd = der::children(sd.content).map_err(e)?;
    let [version, _digest_algs, encap, more @ ..] = sd.as_slice() else {
        return Err("SignedData has too few fields".into());
    };
    if version.tag != der::INTEGER {
        return Err("SignedData version".into());
    }
    let encap = der::children(encap.content).map_err(e)?;
    let [e_type, e_wrapped] = encap.as_slice() else {
        return Err("encapContentInfo has no eContent".into());
    };
    let (e_content, _) = der::read(e_wrapped.content).map_err(e)?;
    if e_wrapped.tag != 0xA0 || e_content.tag != der::OCTET_STRING {
        return Err("eContent is not [0] OCTET STRING".into());
    }
    let mut certificates = Vec::new();
    let mut signer_infos = None;
    for t in more {
        match t.tag {
            0xA0 => {
                for c in der::children(t.content).map_err(e)? {
                    // Other certificate formats (attribute certificates…) are skipped.
                    if let Ok(cert) = Certificate::from_der(c.raw) {
                        certificates.push(cert);
                    }
                }
            }
            0xA1 => {}
            der::SET => signer_infos = Some(t),
            _ => return Err("unexpected SignedData field".into()),
        }
    }
    let infos = der::children(signer_infos.ok_or("no signerInfos")?.content).map_err(e)?;
    let [si] = infos.as_slice() else {
        return Err(format!("{} SignerInfos, expected one", infos.len()));
    };
    let si = der::children(si.content).map_err(e)?;
    let [_v, sid, digest_alg, signed_attrs, sig_alg, signature, ..] = si.as_slice() else {
        return Err("SignerInfo has too few fields".into());
    };
    if signed_attrs.tag != 0xA0 {
        return Err("SignerInfo has no signedAttrs".into());
    }
    let sig_alg_oid = der::children(sig_alg.content)
        .ok()
        .and_then(|c| c.first().and_then(oid_of))
        .ok_or("signatureAlgorithm")?;
    if signature.tag != der::OCTET_STRING {
        return Err("signature is not an OCTET STRING".into());
    }
    Ok(Parsed {
        e_content_type: oid_of(e_type).ok_or("eContentType")?,
        e_content: e_content.content,
        certificates,
        sid: *sid,
        digest_alg: *digest_alg,
        signed_attrs: *signed_attrs,
        signature_alg: sig_alg_oid,
        signature: signature.content,
    })
}

/// (type OID, first value DER) of each attribute; attributes with no value are refused.
fn attributes<'a>(signed_attrs: &Tlv<'a>) -> Result<Vec<(String, &'a [u8])>, String> {
    let mut out = Vec::new();
    for a in der::children(signed_attrs.content).map_err(|e| e.to_string())? {
        let parts = der::children(a.content).map_err(|e| e.to_string())?;
        let [oid, values] = parts.as_slice() else {
            return Err("Attribute shape".into());
        };
        let (first, _) = der::read(values.content).map_err(|e| e.to_string())?;
        out.push((oid_of(oid).ok_or("Attribute type")?, first.raw));
    }
    Ok(out)
}

fn oid_of(t: &Tlv<'_>) -> Option<String> {
    (t.tag == der::OID)
        .then(|| der::oid_to_string(t.content))
        .flatten()
}

fn pki_strip(b: &[u8]) -> &[u8] {
    let skip = b.iter().take_while(|x| **x == 0).count();
    &b[skip.min(b.len().saturating_sub(1))..]
}

/// The certificate a SignerInfo sid names: issuerAndSerialNumber, or [0] subjectKeyIdentifier.
fn find_signer(
    sid: &Tlv<'_>,
    in_token: &[Certificate],
    extra: &[Certificate],
) -> Option<Certificate> {
    let matches = |c: &&Certificate| -> bool {
        match sid.tag {
            der::SEQUENCE => der::children(sid.content).is_ok_and(|p| match p.as_slice() {
                [issuer, serial] => {
                    issuer.raw == c.issuer_der()
                        && pki_strip(serial.content) == pki_strip(c.serial())
                }
                _ => false,
            }),
            0x80 => c.subject_key_identifier() == Some(sid.content),
            _ => false,
        }
    };
    in_token.iter().chain(extra).find(matches).cloned()
}

fn message_digest_check(p: &Parsed<'_>, attr: Option<&[u8]>) -> Check {
    let name = "tsa.message_digest";
    let alg = match hash_algorithm(&p.digest_alg) {
        Ok(a) => a,
        Err(e) => return Check::new(name, false, e.to_string()),
    };
    let Some((value, _)) = attr.and_then(|v| der::read(v).ok()) else {
        return Check::new(name, false, "no messageDigest attribute");
    };
    let ok = value.tag == der::OCTET_STRING && value.content == alg.digest(p.e_content);
    Check::new(
        name,
        ok,
        if ok {
            format!("{alg:?} of the TSTInfo matches")
        } else {
            format!("{alg:?} of the TSTInfo does not match the messageDigest attribute")
        },
    )
}

fn signature_check(p: &Parsed<'_>, cert: &Certificate) -> Check {
    let name = "tsa.signature";
    let alg = match p.signature_alg.as_str() {
        OID_SM2_1 => Some(SignatureAlgorithm::Sm2Sm3),
        // Some writers put the key's algorithm (id-ecPublicKey, rsaEncryption) here.
        "1.2.840.10045.2.1" => Some(SignatureAlgorithm::EcdsaP256Sha256),
        "1.2.840.113549.1.1.1" => Some(SignatureAlgorithm::RsaPkcs1Sha256),
        other => pki::algorithm_from_oid(other),
    };
    let Some(alg) = alg else {
        return Check::new(
            name,
            false,
            format!("unsupported signature algorithm {}", p.signature_alg),
        );
    };
    // The signature covers the attributes with the SET OF tag in place of [0] IMPLICIT.
    let mut signed = p.signed_attrs.raw.to_vec();
    signed[0] = der::SET;
    let result = cert.public_key().map_err(|e| e.to_string()).and_then(|k| {
        k.verify(alg, &signed, p.signature)
            .map_err(|e| e.to_string())
    });
    match result {
        Ok(()) => Check::new(name, true, format!("{} signature verifies", alg.as_str())),
        Err(e) => Check::new(name, false, format!("{}: {e}", alg.as_str())),
    }
}

/// ESS: the first ESSCertID(v2) hashes the signer certificate and, if it has an IssuerSerial,
/// names its issuer and serial.
fn ess_check(cert: &Certificate, v2: Option<&[u8]>, v1: Option<&[u8]>) -> Check {
    let name = "tsa.signing_certificate";
    let (parts, hash, which) = if let Some(a) = v2 {
        let Some(parts) = first_id(a) else {
            return Check::new(name, false, "malformed signingCertificateV2");
        };
        let (alg, rest) = match parts.split_first() {
            Some((alg, rest)) if alg.tag == der::SEQUENCE => match hash_algorithm(alg) {
                Ok(h) => (h, rest.to_vec()),
                Err(e) => return Check::new(name, false, e.to_string()),
            },
            _ => (HashAlg::Sha256, parts),
        };
        (rest, alg.digest(cert.der()), "signingCertificateV2")
    } else if let Some(a) = v1 {
        let Some(parts) = first_id(a) else {
            return Check::new(name, false, "malformed signingCertificate");
        };
        let sha1 = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, cert.der());
        (parts, sha1.as_ref().to_vec(), "signingCertificate")
    } else {
        return Check::new(name, false, "no ESS signingCertificate(V2) attribute");
    };
    let hash_ok = parts
        .first()
        .is_some_and(|h| h.tag == der::OCTET_STRING && h.content == hash);
    if !hash_ok {
        return Check::new(
            name,
            false,
            format!("{which} does not hash the signer certificate"),
        );
    }
    if let Some(is) = parts.get(1) {
        let names_ok = der::children(is.content).is_ok_and(|p| match p.as_slice() {
            [names, serial] => {
                pki_strip(serial.content) == pki_strip(cert.serial())
                    && der::children(names.content).is_ok_and(|n| {
                        n.iter()
                            .any(|g| g.tag == 0xA4 && g.content == cert.issuer_der())
                    })
            }
            _ => false,
        });
        if !names_ok {
            return Check::new(
                name,
                false,
                format!("{which} issuerSerial names another certificate"),
            );
        }
    }
    Check::new(
        name,
        true,
        format!("{which} matches the signer certificate"),
    )
}

/// The fields of the first ESSCertID(v2) in a SigningCertificate(V2) value.
fn first_id(attr: &[u8]) -> Option<Vec<Tlv<'_>>> {
    let (sc, _) = der::read(attr).ok()?;
    let (certs, _) = der::read(sc.content).ok()?;
    let (id, _) = der::read(certs.content).ok()?;
    der::children(id.content).ok()
}

/// RFC 3161 §2.3: the TSA certificate has one critical extendedKeyUsage, id-kp-timeStamping only.
fn eku_check(cert: &Certificate) -> Check {
    let name = "tsa.extended_key_usage";
    match cert.extended_key_usage() {
        Some((true, purposes)) if purposes == [OID_KP_TIME_STAMPING] => {
            Check::new(name, true, "critical extendedKeyUsage id-kp-timeStamping")
        }
        Some((critical, purposes)) => Check::new(
            name,
            false,
            format!(
                "extendedKeyUsage {} (critical {critical}), need id-kp-timeStamping alone, critical",
                purposes.join(", ")
            ),
        ),
        None => Check::new(
            name,
            false,
            "no extendedKeyUsage (id-kp-timeStamping required)",
        ),
    }
}

/// GeneralizedTime `YYYYMMDDHHMMSS[.f…]Z` (DER form: UTC, optional fraction).
fn parse_generalized_time(t: &Tlv<'_>) -> Option<OffsetDateTime> {
    if t.tag != der::GENERALIZED_TIME {
        return None;
    }
    let s = std::str::from_utf8(t.content).ok()?.strip_suffix('Z')?;
    let (main, frac) = match s.split_once('.') {
        Some((m, f)) => (m, Some(f)),
        None => (s, None),
    };
    if main.len() != 14 || !main.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = |r: std::ops::Range<usize>| main.get(r)?.parse::<u32>().ok();
    let year = i32::try_from(n(0..4)?).ok()?;
    let month = Month::try_from(u8::try_from(n(4..6)?).ok()?).ok()?;
    let date = Date::from_calendar_date(year, month, u8::try_from(n(6..8)?).ok()?).ok()?;
    let nanos = match frac {
        Some(f) if !f.is_empty() && f.len() <= 9 && f.bytes().all(|b| b.is_ascii_digit()) => {
            f.parse::<u32>().ok()? * 10u32.pow(u32::try_from(9 - f.len()).ok()?)
        }
        Some(_) => return None,
        None => 0,
    };
    let time = Time::from_hms_nano(
        u8::try_from(n(8..10)?).ok()?,
        u8::try_from(n(10..12)?).ok()?,
        u8::try_from(n(12..14)?).ok()?,
        nanos,
    )
    .ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_utc())
}
