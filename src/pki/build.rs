//! Issuing certificates: the vault's root, issuing CAs and end-entity profiles.

use ring::rand::{SecureRandom, SystemRandom};
use time::OffsetDateTime;

use super::cert::{
    Certificate, OID_AKI, OID_BASIC_CONSTRAINTS, OID_EKU, OID_KEY_USAGE, OID_KP_TIME_STAMPING,
    OID_SKI, derived_key_id,
};
use super::{Name, PkiError, PublicationPoints};
use crate::asn1;
use crate::crypto::{KeyType, PrivateKey, PublicKey, SignatureAlgorithm};

/// What a certificate is for; fixes its extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Profile {
    /// Self-signed root: CA:TRUE (critical), keyCertSign|cRLSign (critical), SKI.
    Root,
    /// Issuing CA under the root: CA:TRUE pathLen 0, keyCertSign|cRLSign, SKI, AKI.
    IssuingCa,
    /// Seal holder (印章持有者): CA:FALSE, digitalSignature|nonRepudiation (critical), SKI, AKI.
    SealHolder,
    /// Seal maker (制章者, signs SES_SealInfo): same extensions as [`Profile::SealHolder`].
    SealMaker,
    /// RFC 3161 time-stamping unit: CA:FALSE, digitalSignature|nonRepudiation, critical EKU
    /// id-kp-timeStamping only.
    TimeStamping,
    /// A handwritten signer (a natural person): CA:FALSE, digitalSignature|nonRepudiation, and
    /// certificatePolicies naming [`HANDWRITTEN_SIGNER_POLICY`].
    HandwrittenSigner,
}

/// The certificate policy of handwritten e-signature signers: the signer's identity was verified
/// by an approval system, and the key signs only documents the signer signed by hand. Under
/// sidian's UUID arc (ITU-T X.667), as every sidian OID.
pub const HANDWRITTEN_SIGNER_POLICY: &str = "2.25.93028897988627785730385302927956646716.1";

/// The signature algorithm an issuer's key type signs certificates and CRLs with.
pub(crate) fn signing_algorithm(key_type: KeyType) -> SignatureAlgorithm {
    match key_type {
        KeyType::Sm2 => SignatureAlgorithm::Sm2Sm3,
        KeyType::P256 => SignatureAlgorithm::EcdsaP256Sha256,
        KeyType::Ed25519 => SignatureAlgorithm::Ed25519,
        KeyType::Rsa2048 | KeyType::Rsa3072 => SignatureAlgorithm::RsaPkcs1Sha256,
    }
}

/// DER AlgorithmIdentifier for the signature algorithm of `key_type`: no parameters for SM2,
/// ECDSA and Ed25519 (RFC 5758, RFC 8410), NULL for RSA (RFC 4055).
pub(crate) fn algorithm_identifier(key_type: KeyType) -> (SignatureAlgorithm, Vec<u8>) {
    let alg = signing_algorithm(key_type);
    // signing_algorithm never picks RSA-PSS, the one algorithm an OID alone does not name.
    let oid = alg.oid().map(asn1::oid).unwrap_or_default();
    let id = match key_type {
        KeyType::Rsa2048 | KeyType::Rsa3072 => asn1::seq(&[&oid, &asn1::tlv(asn1::NULL, &[])]),
        _ => asn1::seq(&[&oid]),
    };
    (alg, id)
}

/// Signs `tbs` with `key` and wraps it as SIGNED{...}: SEQUENCE { tbs, algorithm, BIT STRING }.
pub(crate) fn sign_structure(
    key: &PrivateKey,
    alg: SignatureAlgorithm,
    alg_id: &[u8],
    tbs: &[u8],
) -> Result<Vec<u8>, PkiError> {
    let sig = key.sign(alg, tbs)?;
    let mut bits = Vec::with_capacity(sig.len() + 1);
    bits.push(0);
    bits.extend_from_slice(&sig);
    Ok(asn1::seq(&[
        tbs,
        alg_id,
        &asn1::tlv(asn1::BIT_STRING, &bits),
    ]))
}

/// The same certificate (identical TBS bytes) with its SM2 signature computed over an EMPTY user
/// ID instead of the default `1234567812345678`.
///
/// OpenSSL 3.0 verifies the SM2 signatures of CA certificates in a chain with an empty ID (its
/// `-vfyopt distid:` reaches only the certificate being verified, and its own `x509 -req`
/// signs with an empty ID), so a GM/T 0015-conformant three-level chain fails `openssl verify`
/// at depth 1. This rendering of an issuing CA lets `openssl verify -CAfile` accept the vault's
/// chains; the conformant certificate stays the one the vault publishes and validates with.
pub fn sm2_empty_id_rendering(
    cert: &Certificate,
    issuer_key: &PrivateKey,
) -> Result<Certificate, PkiError> {
    let z = issuer_key
        .public_key()
        .sm2_z(b"")
        .ok_or_else(|| PkiError::UnsupportedAlgorithm("the issuer key is not SM2".into()))?;
    let mut message = Vec::with_capacity(32 + cert.tbs_der().len());
    message.extend_from_slice(&z);
    message.extend_from_slice(cert.tbs_der());
    let e = crate::crypto::sm3(&message);
    let sig = issuer_key.sign_digest(SignatureAlgorithm::Sm2Sm3, &e)?;
    let (_, alg_id) = algorithm_identifier(KeyType::Sm2);
    let mut bits = Vec::with_capacity(sig.len() + 1);
    bits.push(0);
    bits.extend_from_slice(&sig);
    Certificate::from_der(&asn1::seq(&[
        cert.tbs_der(),
        &alg_id,
        &asn1::tlv(asn1::BIT_STRING, &bits),
    ]))
}

/// A fresh 16-byte serial number: positive (top bit clear) and with a non-zero first byte,
/// so it encodes as exactly 16 content octets, well inside RFC 5280's 20-octet limit, with
/// 126 random bits.
pub fn random_serial() -> Result<[u8; 16], PkiError> {
    let mut serial = [0u8; 16];
    SystemRandom::new()
        .fill(&mut serial)
        .map_err(|_| PkiError::Random)?;
    serial[0] = (serial[0] & 0x7F) | 0x40;
    Ok(serial)
}

/// One Extension: `SEQUENCE { extnID, critical DEFAULT FALSE, extnValue OCTET STRING }`.
pub(crate) fn extension(oid: &str, critical: bool, value: &[u8]) -> Vec<u8> {
    let oid = asn1::oid(oid);
    let value = asn1::tlv(asn1::OCTET_STRING, value);
    if critical {
        asn1::seq(&[&oid, &asn1::bool_true(), &value])
    } else {
        asn1::seq(&[&oid, &value])
    }
}

/// The subjectPublicKey bits of a SubjectPublicKeyInfo (what key identifiers hash).
fn spki_key_bits(spki: &[u8]) -> Result<&[u8], PkiError> {
    let (outer, _) = asn1::read(spki)?;
    let parts = asn1::children(outer.content)?;
    match parts.as_slice() {
        [_, bits] if bits.tag == asn1::BIT_STRING && !bits.content.is_empty() => {
            Ok(&bits.content[1..])
        }
        _ => Err(PkiError::Malformed("SubjectPublicKeyInfo".into())),
    }
}

/// Key identifier sidian writes for a key (RFC 7093 method 1).
fn key_id(public: &PublicKey) -> Result<[u8; 20], PkiError> {
    Ok(derived_key_id(spki_key_bits(public.spki_der())?))
}

fn profile_extensions(
    profile: Profile,
    subject_key: &PublicKey,
    authority_key_id: Option<&[u8]>,
    extra: &[u8],
) -> Result<Vec<u8>, PkiError> {
    let ca_bits: &[u8] = &[5, 6]; // keyCertSign, cRLSign
    let ee_bits: &[u8] = &[0, 1]; // digitalSignature, nonRepudiation
    let (bc, bits) = match profile {
        Profile::Root => (asn1::seq(&[&asn1::bool_true()]), ca_bits),
        Profile::IssuingCa => (asn1::seq(&[&asn1::bool_true(), &asn1::uint(&[0])]), ca_bits),
        Profile::SealHolder
        | Profile::SealMaker
        | Profile::TimeStamping
        | Profile::HandwrittenSigner => {
            // cA defaults to FALSE, and DER omits default values.
            (asn1::seq(&[]), ee_bits)
        }
    };
    let mut exts = vec![
        extension(OID_BASIC_CONSTRAINTS, true, &bc),
        extension(OID_KEY_USAGE, true, &asn1::named_bits(bits)),
        extension(
            OID_SKI,
            false,
            &asn1::tlv(asn1::OCTET_STRING, &key_id(subject_key)?),
        ),
    ];
    if let Some(aki) = authority_key_id {
        exts.push(extension(
            OID_AKI,
            false,
            &asn1::seq(&[&asn1::tlv(0x80, aki)]),
        ));
    }
    if profile == Profile::TimeStamping {
        // RFC 3161 §2.3: exactly id-kp-timeStamping, marked critical.
        exts.push(extension(
            OID_EKU,
            true,
            &asn1::seq(&[&asn1::oid(OID_KP_TIME_STAMPING)]),
        ));
    }
    if profile == Profile::HandwrittenSigner {
        // certificatePolicies: one PolicyInformation without qualifiers (RFC 5280 §4.2.1.4).
        exts.push(extension(
            super::cert::OID_CERT_POLICIES,
            false,
            &asn1::seq(&[&asn1::seq(&[&asn1::oid(HANDWRITTEN_SIGNER_POLICY)])]),
        ));
    }
    exts.push(extra.to_vec());
    Ok(asn1::tlv(0xA3, &asn1::seq(&[&exts.concat()])))
}

#[allow(clippy::too_many_arguments)]
fn build(
    issuer_name: &[u8],
    issuer_key: &PrivateKey,
    subject_name: &[u8],
    subject_key: &PublicKey,
    profile: Profile,
    authority_key_id: Option<&[u8]>,
    serial: &[u8],
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    extra_extensions: &[u8],
) -> Result<Certificate, PkiError> {
    let magnitude = super::cert::strip_zeros(serial);
    if magnitude.iter().all(|b| *b == 0) {
        return Err(PkiError::InvalidSerial(
            "serial number must be positive".into(),
        ));
    }
    let serial_der = asn1::uint(magnitude);
    // INTEGER tag and length take 2 bytes here; RFC 5280 allows 20 content octets.
    if serial_der.len() > 22 {
        return Err(PkiError::InvalidSerial(
            "serial number longer than 20 octets".into(),
        ));
    }
    if not_after <= not_before {
        return Err(PkiError::InvalidValidity(
            "not_after must be after not_before".into(),
        ));
    }
    let (alg, alg_id) = algorithm_identifier(issuer_key.key_type());
    let validity = asn1::seq(&[&asn1::time(not_before)?, &asn1::time(not_after)?]);
    let tbs = asn1::seq(&[
        &asn1::tlv(0xA0, &asn1::uint(&[2])), // version v3
        &serial_der,
        &alg_id,
        issuer_name,
        &validity,
        subject_name,
        subject_key.spki_der(),
        &profile_extensions(profile, subject_key, authority_key_id, extra_extensions)?,
    ]);
    let cert = sign_structure(issuer_key, alg, &alg_id, &tbs)?;
    Certificate::from_der(&cert)
}

/// A self-signed root certificate ([`Profile::Root`]) with a random serial.
pub fn self_signed(
    key: &PrivateKey,
    subject: &Name,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) -> Result<Certificate, PkiError> {
    let name = subject.to_der()?;
    let public = key.public_key();
    let own_id = key_id(&public)?;
    build(
        &name,
        key,
        &name,
        &public,
        Profile::Root,
        Some(&own_id),
        &random_serial()?,
        not_before,
        not_after,
        &[],
    )
}

/// Issue a certificate for `subject_key` under `issuer`.
///
/// Refuses (rather than producing certificates no validator accepts) when `issuer_key` is not
/// the key of `issuer`, `issuer` is not a CA allowed to sign certificates, the requested
/// validity does not lie within the issuer's, or `profile` is [`Profile::Root`] (use
/// [`self_signed`]). The issuer name is copied byte for byte from the issuer certificate so
/// name chaining never depends on re-encoding.
#[allow(clippy::too_many_arguments)]
pub fn issue(
    issuer: &Certificate,
    issuer_key: &PrivateKey,
    subject_key: &PublicKey,
    subject: &Name,
    profile: Profile,
    serial: &[u8],
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) -> Result<Certificate, PkiError> {
    issue_published(
        issuer,
        issuer_key,
        subject_key,
        subject,
        profile,
        serial,
        (not_before, not_after),
        None,
    )
}

/// [`issue`], plus a cRLDistributionPoints and an authorityInfoAccess caIssuers extension when
/// `points` is given, so that validators can fetch the issuer and its CRL themselves.
#[allow(clippy::too_many_arguments)]
pub fn issue_published(
    issuer: &Certificate,
    issuer_key: &PrivateKey,
    subject_key: &PublicKey,
    subject: &Name,
    profile: Profile,
    serial: &[u8],
    (not_before, not_after): (OffsetDateTime, OffsetDateTime),
    points: Option<&PublicationPoints>,
) -> Result<Certificate, PkiError> {
    if profile == Profile::Root {
        return Err(PkiError::InvalidProfile(
            "a root is made with self_signed".into(),
        ));
    }
    check_issuer(issuer, issuer_key)?;
    // Certificates store whole seconds; compare what will actually be encoded.
    let (not_before, not_after) = (whole_seconds(not_before), whole_seconds(not_after));
    if not_before < issuer.not_before() || not_after > issuer.not_after() {
        return Err(PkiError::InvalidValidity(format!(
            "validity must lie within the issuer's ({} to {})",
            issuer.not_before(),
            issuer.not_after()
        )));
    }
    build(
        issuer.subject_der(),
        issuer_key,
        &subject.to_der()?,
        subject_key,
        profile,
        Some(&issuer.key_id_bytes()),
        serial,
        not_before,
        not_after,
        &points
            .map(PublicationPoints::extensions)
            .transpose()?
            .unwrap_or_default(),
    )
}

fn whole_seconds(t: OffsetDateTime) -> OffsetDateTime {
    t - time::Duration::nanoseconds(i64::from(t.nanosecond()))
}

/// The issuer key must match the certificate and the certificate must be a signing CA.
pub(crate) fn check_issuer(issuer: &Certificate, issuer_key: &PrivateKey) -> Result<(), PkiError> {
    if issuer.public_key()? != issuer_key.public_key() {
        return Err(PkiError::KeyMismatch);
    }
    if !issuer.is_ca() {
        return Err(PkiError::NotACa(issuer.subject().to_owned()));
    }
    Ok(())
}

/// Issues without the issuer checks, to forge certificates no CA would produce.
#[cfg(test)]
pub(crate) fn test_issue_unchecked(
    issuer: &Certificate,
    issuer_key: &PrivateKey,
    subject_key: &PublicKey,
    subject: &Name,
    profile: Profile,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) -> Certificate {
    let name = subject.to_der().expect("name");
    let serial = random_serial().expect("serial");
    let aki = issuer.key_id_bytes();
    build(
        issuer.subject_der(),
        issuer_key,
        &name,
        subject_key,
        profile,
        Some(&aki),
        &serial,
        not_before,
        not_after,
        &[],
    )
    .expect("build")
}

/// A seal-holder certificate carrying an extra critical extension 1.2.3.4 nobody understands.
#[cfg(test)]
pub(crate) fn test_issue_with_extra_extension(
    issuer: &Certificate,
    issuer_key: &PrivateKey,
    subject_key: &PublicKey,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) -> Certificate {
    let name = Name::cn("odd").to_der().expect("name");
    let serial = random_serial().expect("serial");
    let aki = issuer.key_id_bytes();
    let ext = extension("1.2.3.4", true, &asn1::tlv(asn1::NULL, &[]));
    build(
        issuer.subject_der(),
        issuer_key,
        &name,
        subject_key,
        Profile::SealHolder,
        Some(&aki),
        &serial,
        not_before,
        not_after,
        &ext,
    )
    .expect("build")
}
