//! Certificate revocation lists: building v2 CRLs and reading any CRL.

use std::fmt;
use std::str::FromStr;

use time::OffsetDateTime;
use x509_parser::prelude::{CertificateRevocationList, FromDer};

use super::build::{algorithm_identifier, check_issuer, sign_structure};
use super::cert::{Certificate, OID_AKI, ku, names_match, signed_tbs, strip_zeros};
use super::{PkiError, name};
use crate::asn1;
use crate::crypto::{PrivateKey, SignatureAlgorithm};

const OID_CRL_NUMBER: &str = "2.5.29.20";
const OID_REASON_CODE: &str = "2.5.29.21";

/// Why a certificate was revoked (RFC 5280 §5.3.1 CRLReason).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RevocationReason {
    /// unspecified (0); written as an absent reasonCode, as RFC 5280 recommends.
    Unspecified,
    /// keyCompromise (1).
    KeyCompromise,
    /// cACompromise (2).
    CaCompromise,
    /// affiliationChanged (3).
    AffiliationChanged,
    /// superseded (4).
    Superseded,
    /// cessationOfOperation (5).
    CessationOfOperation,
    /// certificateHold (6).
    CertificateHold,
    /// privilegeWithdrawn (9); only read from foreign CRLs.
    PrivilegeWithdrawn,
    /// aACompromise (10); only read from foreign CRLs.
    AaCompromise,
}

impl RevocationReason {
    /// The CRLReason code.
    pub fn code(self) -> u8 {
        match self {
            RevocationReason::Unspecified => 0,
            RevocationReason::KeyCompromise => 1,
            RevocationReason::CaCompromise => 2,
            RevocationReason::AffiliationChanged => 3,
            RevocationReason::Superseded => 4,
            RevocationReason::CessationOfOperation => 5,
            RevocationReason::CertificateHold => 6,
            RevocationReason::PrivilegeWithdrawn => 9,
            RevocationReason::AaCompromise => 10,
        }
    }

    /// The reason for a CRLReason code (`None` for 7, 8 = removeFromCRL, and unknown codes).
    pub fn from_code(code: u8) -> Option<RevocationReason> {
        Some(match code {
            0 => RevocationReason::Unspecified,
            1 => RevocationReason::KeyCompromise,
            2 => RevocationReason::CaCompromise,
            3 => RevocationReason::AffiliationChanged,
            4 => RevocationReason::Superseded,
            5 => RevocationReason::CessationOfOperation,
            6 => RevocationReason::CertificateHold,
            9 => RevocationReason::PrivilegeWithdrawn,
            10 => RevocationReason::AaCompromise,
            _ => return None,
        })
    }

    /// Stable snake_case name, e.g. `key_compromise` (API and database value).
    pub fn as_str(self) -> &'static str {
        match self {
            RevocationReason::Unspecified => "unspecified",
            RevocationReason::KeyCompromise => "key_compromise",
            RevocationReason::CaCompromise => "ca_compromise",
            RevocationReason::AffiliationChanged => "affiliation_changed",
            RevocationReason::Superseded => "superseded",
            RevocationReason::CessationOfOperation => "cessation_of_operation",
            RevocationReason::CertificateHold => "certificate_hold",
            RevocationReason::PrivilegeWithdrawn => "privilege_withdrawn",
            RevocationReason::AaCompromise => "aa_compromise",
        }
    }

    /// The RFC 5280 ASN.1 name, e.g. `keyCompromise` (what CRL readers print).
    pub fn rfc_name(self) -> &'static str {
        match self {
            RevocationReason::Unspecified => "unspecified",
            RevocationReason::KeyCompromise => "keyCompromise",
            RevocationReason::CaCompromise => "cACompromise",
            RevocationReason::AffiliationChanged => "affiliationChanged",
            RevocationReason::Superseded => "superseded",
            RevocationReason::CessationOfOperation => "cessationOfOperation",
            RevocationReason::CertificateHold => "certificateHold",
            RevocationReason::PrivilegeWithdrawn => "privilegeWithdrawn",
            RevocationReason::AaCompromise => "aACompromise",
        }
    }

    /// The reason an end-entity certificate's owner may give, by its RFC 5280 name: not the
    /// CA and AA compromises (a CA's business) nor certificateHold (a revocation here is final).
    pub fn from_end_entity_name(name: &str) -> Option<RevocationReason> {
        [
            RevocationReason::Unspecified,
            RevocationReason::KeyCompromise,
            RevocationReason::AffiliationChanged,
            RevocationReason::Superseded,
            RevocationReason::CessationOfOperation,
            RevocationReason::PrivilegeWithdrawn,
        ]
        .into_iter()
        .find(|r| r.rfc_name() == name)
    }
}

impl fmt::Display for RevocationReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RevocationReason {
    type Err = PkiError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        (0..=10)
            .filter_map(RevocationReason::from_code)
            .find(|r| r.as_str() == s)
            .ok_or_else(|| PkiError::UnknownReason(s.chars().take(40).collect()))
    }
}

/// One revoked certificate to list in a CRL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokedEntry {
    /// The certificate's serial number (big-endian magnitude; leading zeros are ignored).
    pub serial: Vec<u8>,
    /// When it was revoked.
    pub revoked_at: OffsetDateTime,
    /// Why, if known.
    pub reason: Option<RevocationReason>,
}

/// A DER v2 CRL signed by `issuer_key`, with the cRLNumber and authorityKeyIdentifier CRL
/// extensions and a reasonCode entry extension for every reason except `Unspecified`.
///
/// `issuer` must be a CA certificate whose key is `issuer_key`. An empty `revoked` list
/// omits revokedCertificates, as RFC 5280 requires.
pub fn build_crl(
    issuer: &Certificate,
    issuer_key: &PrivateKey,
    revoked: &[RevokedEntry],
    this_update: OffsetDateTime,
    next_update: OffsetDateTime,
    crl_number: u64,
) -> Result<Vec<u8>, PkiError> {
    check_issuer(issuer, issuer_key)?;
    if next_update <= this_update {
        return Err(PkiError::InvalidValidity(
            "next_update must be after this_update".into(),
        ));
    }
    let (alg, alg_id) = algorithm_identifier(issuer_key.key_type());
    let mut entries = Vec::new();
    for entry in revoked {
        let magnitude = strip_zeros(&entry.serial);
        if magnitude.iter().all(|b| *b == 0) || magnitude.len() > 20 {
            return Err(PkiError::InvalidSerial(
                "revoked serial must be 1–20 octets, positive".into(),
            ));
        }
        let serial = asn1::uint(magnitude);
        let when = asn1::time(entry.revoked_at)?;
        match entry.reason.filter(|r| *r != RevocationReason::Unspecified) {
            Some(reason) => {
                let value = asn1::tlv(asn1::ENUMERATED, &[reason.code()]);
                let ext = asn1::seq(&[
                    &asn1::oid(OID_REASON_CODE),
                    &asn1::tlv(asn1::OCTET_STRING, &value),
                ]);
                entries.push(asn1::seq(&[&serial, &when, &asn1::seq(&[&ext])]));
            }
            None => entries.push(asn1::seq(&[&serial, &when])),
        }
    }
    let aki = asn1::seq(&[&asn1::tlv(0x80, &issuer.key_id_bytes())]);
    let exts = asn1::seq(&[
        &asn1::seq(&[&asn1::oid(OID_AKI), &asn1::tlv(asn1::OCTET_STRING, &aki)]),
        &asn1::seq(&[
            &asn1::oid(OID_CRL_NUMBER),
            &asn1::tlv(asn1::OCTET_STRING, &asn1::uint(&crl_number.to_be_bytes())),
        ]),
    ]);
    let mut parts: Vec<Vec<u8>> = vec![
        asn1::uint(&[1]), // v2
        alg_id.clone(),
        issuer.subject_der().to_vec(),
        asn1::time(this_update)?,
        asn1::time(next_update)?,
    ];
    if !entries.is_empty() {
        parts.push(asn1::tlv(asn1::SEQUENCE, &entries.concat()));
    }
    parts.push(asn1::tlv(0xA0, &exts));
    let tbs = asn1::tlv(asn1::SEQUENCE, &parts.concat());
    sign_structure(issuer_key, alg, &alg_id, &tbs)
}

/// One entry of a parsed CRL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrlEntry {
    /// Serial as lowercase hex without leading zero bytes (as [`Certificate::serial_hex`]).
    pub serial_hex: String,
    /// revocationDate.
    pub revoked_at: OffsetDateTime,
    /// reasonCode, if present and known.
    pub reason: Option<RevocationReason>,
}

/// A parsed CRL: the DER as received plus its entries.
#[derive(Debug, Clone)]
pub struct Crl {
    der: Vec<u8>,
    tbs_start: usize,
    tbs_len: usize,
    issuer: String,
    issuer_der: Vec<u8>,
    this_update: OffsetDateTime,
    next_update: Option<OffsetDateTime>,
    crl_number: Option<String>,
    signature_oid: String,
    tbs_signature_oid: String,
    signature: Vec<u8>,
    entries: Vec<CrlEntry>,
}

impl Crl {
    /// Parse a DER CRL; trailing bytes are an error.
    pub fn from_der(input: &[u8]) -> Result<Crl, PkiError> {
        let (rest, crl) = CertificateRevocationList::from_der(input)
            .map_err(|e| PkiError::Malformed(format!("CRL: {e}")))?;
        let (tbs_start, tbs_len, outer_len) = signed_tbs(input)?;
        if !rest.is_empty() || outer_len != input.len() {
            return Err(PkiError::TrailingData);
        }
        let tbs = &crl.tbs_cert_list;
        let issuer_der = tbs.issuer.as_raw().to_vec();
        let mut entries = Vec::new();
        for r in crl.iter_revoked_certificates() {
            let code = r.reason_code().map(|(_, c)| c.0);
            // removeFromCRL (8) only appears in delta CRLs and means "no longer revoked".
            if code == Some(8) {
                continue;
            }
            entries.push(CrlEntry {
                serial_hex: hex::encode(strip_zeros(r.raw_serial())),
                revoked_at: r.revocation_date.to_datetime(),
                reason: code.and_then(RevocationReason::from_code),
            });
        }
        Ok(Crl {
            der: input.to_vec(),
            tbs_start,
            tbs_len,
            issuer: name::rfc4514(&issuer_der)?,
            issuer_der,
            this_update: tbs.this_update.to_datetime(),
            next_update: tbs.next_update.map(|t| t.to_datetime()),
            crl_number: crl.crl_number().map(|n| n.to_str_radix(16)),
            signature_oid: crl.signature_algorithm.algorithm.to_id_string(),
            tbs_signature_oid: tbs.signature.algorithm.to_id_string(),
            signature: crl.signature_value.data.to_vec(),
            entries,
        })
    }

    /// The CRL exactly as received.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// Issuer as an RFC 4514 string.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// thisUpdate.
    pub fn this_update(&self) -> OffsetDateTime {
        self.this_update
    }

    /// nextUpdate, if present.
    pub fn next_update(&self) -> Option<OffsetDateTime> {
        self.next_update
    }

    /// cRLNumber as lowercase hex, if present.
    pub fn crl_number_hex(&self) -> Option<&str> {
        self.crl_number.as_deref()
    }

    /// The signed part (tbsCertList) exactly as received.
    pub fn tbs_der(&self) -> &[u8] {
        &self.der[self.tbs_start..self.tbs_start + self.tbs_len]
    }

    /// The signature value bytes.
    pub fn signature_value(&self) -> &[u8] {
        &self.signature
    }

    /// Every listed certificate.
    pub fn entries(&self) -> &[CrlEntry] {
        &self.entries
    }

    /// Checks that `issuer` issued this CRL: matching names and a valid signature over the
    /// received TBS bytes, by a certificate whose keyUsage (when present) allows cRLSign (SM2 with the default ID, ECDSA P-256, RSA PKCS#1, Ed25519).
    pub fn verify_signature(&self, issuer: &Certificate) -> Result<(), PkiError> {
        if !names_match(
            &self.issuer_der,
            &self.issuer,
            issuer.subject_der(),
            issuer.subject(),
        ) {
            return Err(PkiError::IssuerMismatch {
                expected: self.issuer.clone(),
                found: issuer.subject().to_owned(),
            });
        }
        if issuer
            .key_usage_bits()
            .is_some_and(|b| b & ku::CRL_SIGN == 0)
        {
            return Err(PkiError::NoCrlSign(issuer.subject().to_owned()));
        }
        if self.signature_oid != self.tbs_signature_oid {
            return Err(PkiError::Malformed(
                "CRL signature algorithms disagree".into(),
            ));
        }
        let alg = SignatureAlgorithm::from_oid(&self.signature_oid)
            .ok_or_else(|| PkiError::UnsupportedAlgorithm(self.signature_oid.clone()))?;
        issuer
            .public_key()?
            .verify(alg, self.tbs_der(), &self.signature)
            .map_err(|_| PkiError::BadSignature)
    }

    /// Revocation time and reason of `serial_hex` (any case, optional `:` separators and
    /// leading zeros), or `None` if the CRL does not list it.
    pub fn revoked(&self, serial_hex: &str) -> Option<(OffsetDateTime, Option<RevocationReason>)> {
        let wanted = normalize_serial_hex(serial_hex);
        self.entries
            .iter()
            .find(|e| e.serial_hex == wanted)
            .map(|e| (e.revoked_at, e.reason))
    }
}

fn normalize_serial_hex(s: &str) -> String {
    let digits: String = s
        .chars()
        .filter(|c| *c != ':' && !c.is_whitespace())
        .collect::<String>()
        .to_lowercase();
    let trimmed = digits.trim_start_matches('0');
    // Whole bytes: an odd count means the first byte lost its leading zero nibble.
    if trimmed.len() % 2 == 1 {
        format!("0{trimmed}")
    } else {
        trimmed.to_owned()
    }
}
