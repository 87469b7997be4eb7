//! Verifying time-stamp tokens: the CMS structure, the TSTInfo, the signed attributes exactly
//! as received, and the signer certificate's ESS binding and EKU.
//!
//! Chain validation is left to the caller ([`crate::pki::validate`] with
//! [`crate::pki::Usage::TimeStamping`] at the token's genTime or now), since only the caller
//! knows which trust store and revocation source apply.

use time::OffsetDateTime;

use super::request::message_imprint;
use super::{HashAlg, OID_KP_TIME_STAMPING, OID_TST_INFO, TsaError, malformed};
use crate::asn1;
use crate::cms;
use crate::pki::Certificate;
use crate::report::Check;

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
        let (outer, rest) = asn1::read(input).map_err(malformed)?;
        if outer.tag != asn1::SEQUENCE || !rest.is_empty() {
            return Err(TsaError::Malformed("TSTInfo is not one SEQUENCE".into()));
        }
        let parts = asn1::children(outer.content).map_err(malformed)?;
        let [version, policy, imprint, serial, gen_time, optional @ ..] = parts.as_slice() else {
            return Err(TsaError::Malformed("TSTInfo has too few fields".into()));
        };
        if version.tag != asn1::INTEGER || version.content != [1] {
            return Err(TsaError::Malformed("TSTInfo version is not 1".into()));
        }
        let policy = (policy.tag == asn1::OID)
            .then(|| asn1::oid_to_string(policy.content))
            .flatten()
            .ok_or_else(|| TsaError::Malformed("TSTInfo policy is not an OID".into()))?;
        if imprint.tag != asn1::SEQUENCE {
            return Err(TsaError::Malformed("TSTInfo messageImprint".into()));
        }
        let (hash_alg, hashed_message) = message_imprint(imprint)?;
        if serial.tag != asn1::INTEGER || serial.content.is_empty() {
            return Err(TsaError::Malformed("TSTInfo serialNumber".into()));
        }
        let gen_time = (gen_time.tag == asn1::GENERALIZED_TIME)
            .then(|| asn1::parse_time(gen_time))
            .flatten()
            .ok_or_else(|| TsaError::Malformed("TSTInfo genTime".into()))?;
        let nonce = optional
            .iter()
            .find(|t| t.tag == asn1::INTEGER)
            .map(|t| t.content.to_vec());
        Ok(TstInfo {
            policy,
            hash_alg,
            hashed_message,
            serial: crate::cms::strip_leading_zeros(serial.content).to_vec(),
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

/// Verifies a token (ContentInfo DER): the CMS checks of [`crate::cms::verify`] (signer found
/// in `certificates` or `extra_certs`, messageDigest = hash of the eContent, the signature over
/// the DER SET of signed attributes, ESS signingCertificate(V2) matching the signer), reported
/// as `tsa.*`; eContentType id-ct-TSTInfo, the ESS attribute required, EKU timeStamping
/// (critical, alone); and, when `expected` is given, that the imprint equals it.
pub fn verify_token(
    token: &[u8],
    expected: Option<(HashAlg, &[u8])>,
    extra_certs: &[Certificate],
) -> TokenCheck {
    let cms = cms::verify(token, None, extra_certs);
    let mut out = TokenCheck {
        tst_info: None,
        signer: cms.signer.clone(),
        checks: Vec::new(),
    };
    // The CMS checks keep their meaning under the tsa. prefix; the content type one also
    // needs the TSTInfo type.
    let mut cms_checks = cms.checks.into_iter().map(|c| Check {
        name: c.name.replacen("cms.", "tsa.", 1),
        ..c
    });
    match cms_checks.next() {
        Some(structure) if structure.ok => out.checks.push(structure),
        failed => {
            out.checks.extend(failed);
            return out;
        }
    }
    for c in cms_checks {
        if c.name == "tsa.content_type" {
            let is_tst = cms.content_type.as_deref() == Some(OID_TST_INFO);
            out.checks
                .push(Check::new(c.name, c.ok && is_tst, c.detail));
            out.checks.extend(tst_info_checks(
                &mut out.tst_info,
                cms.content.as_deref(),
                expected,
            ));
        } else {
            out.checks.push(c);
        }
    }
    if let Some(cert) = &out.signer {
        if out.check("tsa.signing_certificate").is_none() {
            out.checks.push(Check::new(
                "tsa.signing_certificate",
                false,
                "no ESS signingCertificate(V2) attribute",
            ));
        }
        out.checks.push(eku_check(cert));
    }
    out
}

/// `tsa.tst_info` and, when `expected` is given, `tsa.imprint`; stores the parsed TSTInfo.
fn tst_info_checks(
    slot: &mut Option<TstInfo>,
    e_content: Option<&[u8]>,
    expected: Option<(HashAlg, &[u8])>,
) -> Vec<Check> {
    let parsed = e_content
        .ok_or_else(|| TsaError::Malformed("the token has no eContent".into()))
        .and_then(TstInfo::from_der);
    let info = match parsed {
        Ok(info) => info,
        Err(e) => return vec![Check::new("tsa.tst_info", false, e.to_string())],
    };
    let mut checks = vec![Check::new(
        "tsa.tst_info",
        true,
        format!("genTime {}, policy {}", info.gen_time, info.policy),
    )];
    if let Some((alg, bytes)) = expected {
        let ok = info.hash_alg == alg && info.hashed_message == bytes;
        checks.push(Check::new(
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
    *slot = Some(info);
    checks
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
