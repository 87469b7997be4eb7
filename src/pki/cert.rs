//! Parsed X.509 certificates: the exact DER plus the fields validation needs, owned.

use std::fmt;

use base64::Engine as _;
use time::OffsetDateTime;
use x509_parser::prelude::{FromDer, ParsedExtension, X509Certificate};

use super::access::{CaIssuers, CrlDistributionPoint, OID_AIA, OID_CRL_DP};
use super::{PkiError, name};
use crate::asn1;
use crate::crypto::{PublicKey, sha256};

/// Extension OIDs this module understands; any other extension marked critical makes a
/// certificate fail validation (RFC 5280 §4.2).
pub(crate) const OID_SKI: &str = "2.5.29.14";
pub(crate) const OID_KEY_USAGE: &str = "2.5.29.15";
pub(crate) const OID_SAN: &str = "2.5.29.17";
pub(crate) const OID_BASIC_CONSTRAINTS: &str = "2.5.29.19";
pub(crate) const OID_CERT_POLICIES: &str = "2.5.29.32";
pub(crate) const OID_AKI: &str = "2.5.29.35";
pub(crate) const OID_EKU: &str = "2.5.29.37";
/// id-kp-timeStamping.
pub(crate) const OID_KP_TIME_STAMPING: &str = "1.3.6.1.5.5.7.3.8";
/// anyExtendedKeyUsage.
pub(crate) const OID_ANY_EKU: &str = "2.5.29.37.0";

const PROCESSED_EXTENSIONS: &[&str] = &[
    OID_SKI,
    OID_KEY_USAGE,
    OID_SAN,
    OID_BASIC_CONSTRAINTS,
    // No policy is required by sidian's validation, so any policy set is acceptable.
    OID_CERT_POLICIES,
    OID_AKI,
    OID_EKU,
];

/// keyUsage bits as x509-parser numbers them (bit 0 = digitalSignature is the lowest bit).
pub(crate) mod ku {
    /// digitalSignature.
    pub(crate) const DIGITAL_SIGNATURE: u16 = 1 << 0;
    /// nonRepudiation / contentCommitment.
    pub(crate) const NON_REPUDIATION: u16 = 1 << 1;
    /// keyCertSign.
    pub(crate) const KEY_CERT_SIGN: u16 = 1 << 5;
    /// cRLSign.
    pub(crate) const CRL_SIGN: u16 = 1 << 6;
}

/// One extension as found in the certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtensionInfo {
    /// Dotted OID.
    pub oid: String,
    /// The critical flag.
    pub critical: bool,
    /// Whether sidian's validation processes this extension.
    pub understood: bool,
    /// Set when a known extension's value could not be parsed.
    pub parse_error: Option<String>,
}

/// An X.509 certificate: the received DER (never re-encoded, so signatures over it stay
/// checkable) plus owned copies of the parsed fields.
#[derive(Clone)]
pub struct Certificate {
    der: Vec<u8>,
    tbs_len: usize,
    tbs_start: usize,
    version: u32,
    subject: String,
    issuer: String,
    subject_der: Vec<u8>,
    issuer_der: Vec<u8>,
    serial: Vec<u8>,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    spki: Vec<u8>,
    key_bits: Vec<u8>,
    signature_oid: String,
    tbs_signature_oid: String,
    signature: Vec<u8>,
    basic_constraints: Option<(bool, Option<u32>)>,
    key_usage: Option<u16>,
    ext_key_usage: Option<(bool, Vec<String>)>,
    ski: Option<Vec<u8>>,
    aki: Option<Vec<u8>>,
    crl_uri: Option<String>,
    ca_issuers_uri: Option<String>,
    policies: Vec<String>,
    extensions: Vec<ExtensionInfo>,
}

impl PartialEq for Certificate {
    fn eq(&self, other: &Self) -> bool {
        self.der == other.der
    }
}
impl Eq for Certificate {}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("subject", &self.subject)
            .field("issuer", &self.issuer)
            .field("serial", &self.serial_hex())
            .finish_non_exhaustive()
    }
}

/// Where the first element inside a SIGNED{...} SEQUENCE (the TBS part) lies: its start
/// offset and length, plus the length of the whole outer SEQUENCE.
pub(crate) fn signed_tbs(der: &[u8]) -> Result<(usize, usize, usize), PkiError> {
    let (outer, _) = asn1::read(der)?;
    if outer.tag != asn1::SEQUENCE {
        return Err(PkiError::Malformed("expected a SEQUENCE".into()));
    }
    let (tbs, _) = asn1::read(outer.content)?;
    let header = outer.raw.len() - outer.content.len();
    Ok((header, tbs.raw.len(), outer.raw.len()))
}

impl Certificate {
    /// Parse one DER certificate; trailing bytes after it are an error.
    pub fn from_der(input: &[u8]) -> Result<Certificate, PkiError> {
        let (rest, x) = X509Certificate::from_der(input)
            .map_err(|e| PkiError::Malformed(format!("certificate: {e}")))?;
        if !rest.is_empty() {
            return Err(PkiError::TrailingData);
        }
        let (tbs_start, tbs_len, outer_len) = signed_tbs(input)?;
        if outer_len != input.len() {
            return Err(PkiError::TrailingData);
        }
        let tbs = &x.tbs_certificate;
        let subject_der = tbs.subject.as_raw().to_vec();
        let issuer_der = tbs.issuer.as_raw().to_vec();

        let mut basic_constraints = None;
        let mut key_usage = None;
        let mut ext_key_usage = None;
        let mut ski = None;
        let mut aki = None;
        let (mut crl_uri, mut ca_issuers_uri) = (None, None);
        let mut policies = Vec::new();
        let mut extensions = Vec::new();
        for ext in tbs.extensions() {
            let oid = ext.oid.to_id_string();
            let understood = PROCESSED_EXTENSIONS.contains(&oid.as_str());
            let mut parse_error = None;
            // Informational (validation uses the vault's own CRLs): a malformed value is
            // reported in the extension list, not fatal.
            match oid.as_str() {
                OID_CRL_DP => match CrlDistributionPoint::from_der(ext.value) {
                    Ok(dp) => crl_uri = dp.map(|d| d.0),
                    Err(e) => parse_error = Some(e.to_string()),
                },
                OID_AIA => match CaIssuers::from_der(ext.value) {
                    Ok(aia) => ca_issuers_uri = aia.map(|a| a.0),
                    Err(e) => parse_error = Some(e.to_string()),
                },
                _ => {}
            }
            match ext.parsed_extension() {
                ParsedExtension::BasicConstraints(bc) => {
                    basic_constraints = Some((bc.ca, bc.path_len_constraint));
                }
                ParsedExtension::KeyUsage(k) => key_usage = Some(k.flags),
                ParsedExtension::ExtendedKeyUsage(e) => {
                    let mut list: Vec<String> = e.other.iter().map(|o| o.to_id_string()).collect();
                    for (set, oid) in [
                        (e.any, OID_ANY_EKU),
                        (e.server_auth, "1.3.6.1.5.5.7.3.1"),
                        (e.client_auth, "1.3.6.1.5.5.7.3.2"),
                        (e.code_signing, "1.3.6.1.5.5.7.3.3"),
                        (e.email_protection, "1.3.6.1.5.5.7.3.4"),
                        (e.time_stamping, OID_KP_TIME_STAMPING),
                        (e.ocsp_signing, "1.3.6.1.5.5.7.3.9"),
                    ] {
                        if set {
                            list.push(oid.to_owned());
                        }
                    }
                    ext_key_usage = Some((ext.critical, list));
                }
                ParsedExtension::CertificatePolicies(list) => {
                    // 128-bit arcs (UUID OIDs under 2.25) are read by our decoder, not as hex.
                    policies = list
                        .iter()
                        .filter_map(|p| crate::asn1::oid_to_string(p.policy_id.as_bytes()))
                        .collect();
                }
                ParsedExtension::SubjectKeyIdentifier(k) => ski = Some(k.0.to_vec()),
                ParsedExtension::AuthorityKeyIdentifier(a) => {
                    aki = a.key_identifier.as_ref().map(|k| k.0.to_vec());
                }
                ParsedExtension::ParseError { error } => parse_error = Some(error.to_string()),
                _ => {}
            }
            extensions.push(ExtensionInfo {
                oid,
                critical: ext.critical,
                understood,
                parse_error,
            });
        }

        Ok(Certificate {
            der: input.to_vec(),
            tbs_start,
            tbs_len,
            version: tbs.version.0,
            subject: name::rfc4514(&subject_der)?,
            issuer: name::rfc4514(&issuer_der)?,
            subject_der,
            issuer_der,
            serial: strip_zeros(tbs.raw_serial()).to_vec(),
            not_before: tbs.validity.not_before.to_datetime(),
            not_after: tbs.validity.not_after.to_datetime(),
            spki: tbs.subject_pki.raw.to_vec(),
            key_bits: tbs.subject_pki.subject_public_key.data.to_vec(),
            signature_oid: x.signature_algorithm.algorithm.to_id_string(),
            tbs_signature_oid: tbs.signature.algorithm.to_id_string(),
            signature: x.signature_value.data.to_vec(),
            basic_constraints,
            key_usage,
            ext_key_usage,
            ski,
            aki,
            crl_uri,
            ca_issuers_uri,
            policies,
            extensions,
        })
    }

    /// Parse a single PEM `CERTIFICATE` block (text around it is ignored; more than one block
    /// is an error — use [`Certificate::parse_pem_bundle`]).
    pub fn from_pem(pem: &str) -> Result<Certificate, PkiError> {
        let mut all = Self::parse_pem_bundle(pem)?;
        match all.len() {
            1 => Ok(all.remove(0)),
            n => Err(PkiError::Pem(format!(
                "expected one certificate, found {n}"
            ))),
        }
    }

    /// Every PEM `CERTIFICATE` block in `pem`, in order (none is an error).
    pub fn parse_pem_bundle(pem: &str) -> Result<Vec<Certificate>, PkiError> {
        const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
        const END: &str = "-----END CERTIFICATE-----";
        let mut out = Vec::new();
        let mut rest = pem;
        while let Some(start) = rest.find(BEGIN) {
            let body_start = start + BEGIN.len();
            let end = rest[body_start..]
                .find(END)
                .ok_or_else(|| PkiError::Pem("BEGIN CERTIFICATE without END".into()))?;
            let body = &rest[body_start..body_start + end];
            let b64: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
            let der = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|_| PkiError::Pem("certificate body is not valid base64".into()))?;
            out.push(Certificate::from_der(&der)?);
            rest = &rest[body_start + end + END.len()..];
        }
        if out.is_empty() {
            return Err(PkiError::Pem("no CERTIFICATE block found".into()));
        }
        Ok(out)
    }

    /// The certificate exactly as received.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// PEM `CERTIFICATE` block, 64-column base64, trailing newline.
    pub fn to_pem(&self) -> String {
        crate::crypto::pem_block("CERTIFICATE", &self.der)
    }

    /// The signed part (tbsCertificate) exactly as received.
    pub fn tbs_der(&self) -> &[u8] {
        &self.der[self.tbs_start..self.tbs_start + self.tbs_len]
    }

    /// Subject as an RFC 4514 string (last RDN first, e.g. `CN=某某市市场监督管理局,C=CN`).
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The subject's commonName, organizationName, organizationalUnitName, serialNumber and
    /// countryName (the first value of each), to show who holds the certificate.
    pub fn subject_name(&self) -> name::Name {
        // from_der already walked this DER into `subject`; a failure here cannot happen, and
        // would only leave the readable name empty.
        name::parse(&self.subject_der).unwrap_or_default()
    }

    /// Issuer as an RFC 4514 string.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// DER of the subject Name as received.
    pub fn subject_der(&self) -> &[u8] {
        &self.subject_der
    }

    /// DER of the issuer Name as received.
    pub fn issuer_der(&self) -> &[u8] {
        &self.issuer_der
    }

    /// X.509 version number as encoded (0 = v1, 2 = v3).
    pub fn version(&self) -> u32 {
        self.version
    }

    /// Serial number as lowercase hex of its magnitude, without leading zero bytes.
    pub fn serial_hex(&self) -> String {
        hex::encode(&self.serial)
    }

    /// Serial number magnitude bytes (no leading zeros).
    pub fn serial(&self) -> &[u8] {
        &self.serial
    }

    /// Start of the validity period.
    pub fn not_before(&self) -> OffsetDateTime {
        self.not_before
    }

    /// End of the validity period (inclusive).
    pub fn not_after(&self) -> OffsetDateTime {
        self.not_after
    }

    /// The subject public key, if it is of a type `crate::crypto` supports.
    pub fn public_key(&self) -> Result<PublicKey, PkiError> {
        Ok(PublicKey::from_spki_der(&self.spki)?)
    }

    /// DER SubjectPublicKeyInfo as received.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki
    }

    /// basicConstraints cA is TRUE.
    pub fn is_ca(&self) -> bool {
        self.basic_constraints.is_some_and(|(ca, _)| ca)
    }

    /// basicConstraints pathLenConstraint, if any.
    pub fn path_len(&self) -> Option<u32> {
        self.basic_constraints.and_then(|(_, p)| p)
    }

    /// basicConstraints as (cA, pathLen), `None` if the extension is absent.
    pub fn basic_constraints(&self) -> Option<(bool, Option<u32>)> {
        self.basic_constraints
    }

    /// keyUsage bits (bit 0 = digitalSignature … bit 8 = decipherOnly), `None` if absent.
    pub fn key_usage_bits(&self) -> Option<u16> {
        self.key_usage
    }

    /// extendedKeyUsage as (critical, dotted purpose OIDs), `None` if absent.
    pub fn extended_key_usage(&self) -> Option<(bool, &[String])> {
        self.ext_key_usage.as_ref().map(|(c, l)| (*c, l.as_slice()))
    }

    /// The certificatePolicies' policy identifiers (dotted), in order.
    pub fn policies(&self) -> &[String] {
        &self.policies
    }

    /// Every extension with its critical flag and whether validation understands it.
    pub fn extensions(&self) -> &[ExtensionInfo] {
        &self.extensions
    }

    /// The URI of the CRL that would list this certificate (cRLDistributionPoints), if given.
    pub fn crl_distribution_uri(&self) -> Option<&str> {
        self.crl_uri.as_deref()
    }

    /// The URI of the issuer's certificate (authorityInfoAccess caIssuers), if given.
    pub fn ca_issuers_uri(&self) -> Option<&str> {
        self.ca_issuers_uri.as_deref()
    }

    /// subjectKeyIdentifier bytes, if present.
    pub fn subject_key_identifier(&self) -> Option<&[u8]> {
        self.ski.as_deref()
    }

    /// authorityKeyIdentifier keyIdentifier bytes, if present.
    pub fn authority_key_identifier(&self) -> Option<&[u8]> {
        self.aki.as_deref()
    }

    /// Key identifier as lowercase hex: the subjectKeyIdentifier when present, otherwise the
    /// leftmost 160 bits of SHA-256 over the subjectPublicKey bits (RFC 7093 method 1, the
    /// same value sidian writes into the certificates it issues).
    pub fn key_id(&self) -> String {
        hex::encode(self.key_id_bytes())
    }

    pub(crate) fn key_id_bytes(&self) -> Vec<u8> {
        self.ski
            .clone()
            .unwrap_or_else(|| derived_key_id(&self.key_bits).to_vec())
    }

    /// SHA-256 of the DER, lowercase hex without separators.
    pub fn fingerprint_sha256(&self) -> String {
        hex::encode(sha256(&self.der))
    }

    /// Dotted OID of the outer signatureAlgorithm.
    pub fn signature_algorithm_oid(&self) -> &str {
        &self.signature_oid
    }

    /// Dotted OID of the signature field inside tbsCertificate (must equal the outer one).
    pub(crate) fn tbs_signature_algorithm_oid(&self) -> &str {
        &self.tbs_signature_oid
    }

    /// The signature value bytes.
    pub fn signature_value(&self) -> &[u8] {
        &self.signature
    }

    /// Whether issuer and subject are the same name.
    pub fn is_self_issued(&self) -> bool {
        names_match(
            &self.issuer_der,
            &self.issuer,
            &self.subject_der,
            &self.subject,
        )
    }
}

/// RFC 7093 method 1: leftmost 160 bits of SHA-256(subjectPublicKey).
pub(crate) fn derived_key_id(key_bits: &[u8]) -> [u8; 20] {
    let h = sha256(key_bits);
    let mut id = [0u8; 20];
    id.copy_from_slice(&h[..20]);
    id
}

/// Name equality: byte-equal DER, or equal after RFC 4514 printing and case/space folding
/// (covers the same name encoded as PrintableString by one CA and UTF8String by another).
pub(crate) fn names_match(a_der: &[u8], a_str: &str, b_der: &[u8], b_str: &str) -> bool {
    a_der == b_der || name::normalized(a_str) == name::normalized(b_str)
}

pub(crate) fn strip_zeros(b: &[u8]) -> &[u8] {
    let skip = b.iter().take_while(|x| **x == 0).count();
    if skip == b.len() {
        &b[b.len().saturating_sub(1)..]
    } else {
        &b[skip..]
    }
}
