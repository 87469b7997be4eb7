//! Writing SignedData, and adding unsigned attributes to one without touching the signed bytes.

use time::OffsetDateTime;

use super::parse::parse;
use super::{
    CmsError, OID_CONTENT_TYPE, OID_DATA, OID_MESSAGE_DIGEST, OID_SIGNED_DATA,
    OID_SIGNING_CERTIFICATE_V2, OID_SIGNING_TIME, digest_algorithm,
};
use crate::asn1 as der;
use crate::crypto::PrivateKey;
use crate::pki::{self, Certificate, PkiError};

/// Who signs: the certificate, its key, and what goes into `certificates`.
#[derive(Debug, Clone, Copy)]
pub struct SignerInput<'a> {
    /// The signer certificate (named by issuerAndSerialNumber).
    pub cert: &'a Certificate,
    /// The key of `cert`.
    pub key: &'a PrivateKey,
    /// Issuer certificates added to `certificates` after `cert` when `include_certs` is set.
    pub chain: &'a [Certificate],
    /// Whether `certificates` carries `cert` and `chain`.
    pub include_certs: bool,
}

/// What is signed.
#[derive(Debug, Clone, Copy)]
pub enum Content<'a> {
    /// External content (detached signature): its digest with [`super::digest_algorithm`] of
    /// the key type.
    Detached {
        /// The digest of the external content.
        digest: &'a [u8],
    },
    /// Content carried as eContent.
    Attached {
        /// The content octets.
        content: &'a [u8],
    },
}

/// Content type and signed attributes.
#[derive(Debug, Clone, Copy)]
pub struct SignOptions<'a> {
    /// eContentType and contentType attribute (dotted OID), e.g. [`super::OID_DATA`].
    pub content_type: &'a str,
    /// signingTime attribute, when given (UTCTime to 2049, GeneralizedTime after).
    pub signing_time: Option<OffsetDateTime>,
    /// Whether to add an ESS signingCertificateV2 (SHA-256 of the signer certificate and its
    /// issuerSerial).
    pub ess_signing_certificate_v2: bool,
    /// Further signed attributes: (type OID, DER of the AttributeValue SET contents).
    pub extra_signed_attrs: &'a [(&'a str, Vec<u8>)],
}

/// ContentInfo(SignedData) DER: SignedData version 1 for id-data and 3 otherwise, one
/// SignerInfo version 1 (issuerAndSerialNumber), signed attributes sorted as a DER SET OF and
/// the signature over their SET (0x31) encoding.
pub fn sign(
    signer: &SignerInput<'_>,
    content: Content<'_>,
    opts: &SignOptions<'_>,
) -> Result<Vec<u8>, CmsError> {
    if signer.cert.public_key()? != signer.key.public_key() {
        return Err(PkiError::KeyMismatch.into());
    }
    let content_type = checked_oid(opts.content_type)?;
    let key_type = signer.key.key_type();
    let digest_alg = digest_algorithm(key_type);
    let (message_digest, e_content) = match content {
        Content::Detached { digest } => {
            if digest.len() != digest_alg.digest_len() {
                return Err(CmsError::DigestLength {
                    expected: digest_alg.digest_len(),
                    found: digest.len(),
                });
            }
            (digest.to_vec(), None)
        }
        Content::Attached { content } => (digest_alg.digest(content), Some(content)),
    };

    let attr = |oid: &[u8], values: &[u8]| der::seq(&[oid, &der::tlv(der::SET, values)]);
    let mut attrs = vec![
        attr(&der::oid(OID_CONTENT_TYPE), &content_type),
        attr(
            &der::oid(OID_MESSAGE_DIGEST),
            &der::tlv(der::OCTET_STRING, &message_digest),
        ),
    ];
    if let Some(t) = opts.signing_time {
        attrs.push(attr(&der::oid(OID_SIGNING_TIME), &der::time(t)?));
    }
    if opts.ess_signing_certificate_v2 {
        attrs.push(attr(
            &der::oid(OID_SIGNING_CERTIFICATE_V2),
            &signing_certificate_v2(signer.cert),
        ));
    }
    for (oid, values) in opts.extra_signed_attrs {
        attrs.push(attr(&checked_oid(oid)?, values));
    }
    // DER SET OF ordering; verifiers such as OpenSSL re-encode the attributes sorted before
    // checking the signature, so an unsorted set would not verify there.
    attrs.sort_unstable();
    let signed_attrs = der::tlv(der::SET, &attrs.concat());

    let (sig_alg, sig_alg_id) = pki::algorithm_identifier(key_type);
    let signature = signer.key.sign(sig_alg, &signed_attrs)?;
    let digest_alg_id = digest_alg.algorithm_identifier();
    // signedAttrs [0] IMPLICIT: same content, context tag instead of SET.
    let mut implicit_attrs = signed_attrs;
    implicit_attrs[0] = 0xA0;
    let signer_info = der::seq(&[
        &der::tlv(der::INTEGER, &[1]),
        &der::seq(&[signer.cert.issuer_der(), &der::uint(signer.cert.serial())]),
        &digest_alg_id,
        &implicit_attrs,
        &sig_alg_id,
        &der::tlv(der::OCTET_STRING, &signature),
    ]);

    let mut encap = vec![content_type];
    if let Some(c) = e_content {
        encap.push(der::tlv(0xA0, &der::tlv(der::OCTET_STRING, c)));
    }
    // RFC 5652 §5.1: version 1 only when the content is id-data (and no v3 SignerInfo).
    let version = if opts.content_type == OID_DATA { 1 } else { 3 };
    let mut signed_data = vec![
        der::tlv(der::INTEGER, &[version]),
        der::tlv(der::SET, &digest_alg_id),
        der::tlv(der::SEQUENCE, &encap.concat()),
    ];
    if signer.include_certs {
        let mut certs: Vec<&[u8]> = std::iter::once(signer.cert)
            .chain(signer.chain)
            .map(Certificate::der)
            .collect();
        // DER orders the elements of a SET OF by their encodings.
        certs.sort_unstable();
        signed_data.push(der::tlv(0xA0, &certs.concat()));
    }
    signed_data.push(der::tlv(der::SET, &signer_info));
    Ok(content_info(OID_SIGNED_DATA, &signed_data.concat()))
}

/// Adds an unsigned attribute (e.g. id-aa-signatureTimeStampToken with a time-stamp token
/// as `value_der`) to the single SignerInfo; every signed byte stays as received.
pub fn add_unsigned_attribute(
    cms: &[u8],
    oid: &str,
    value_der: &[u8],
) -> Result<Vec<u8>, CmsError> {
    let view = parse(cms)?;
    let new_attr = der::seq(&[&checked_oid(oid)?, &der::tlv(der::SET, value_der)]);
    let mut unsigned: Vec<&[u8]> = view.signer.unsigned_raw.clone();
    unsigned.push(&new_attr);
    // unsignedAttrs is a SET OF too: keep DER order.
    unsigned.sort_unstable();
    let mut si = view.signer.fields.concat();
    si.extend(der::tlv(0xA1, &unsigned.concat()));
    let signer_infos = der::tlv(der::SET, &der::tlv(der::SEQUENCE, &si));
    let mut signed_data = view.head.concat();
    signed_data.extend(signer_infos);
    Ok(content_info(view.content_info_type, &signed_data))
}

/// ContentInfo { `content_type`, [0] EXPLICIT SignedData } around SignedData content octets.
fn content_info(content_type: &str, signed_data_content: &[u8]) -> Vec<u8> {
    der::seq(&[
        &der::oid(content_type),
        &der::tlv(0xA0, &der::tlv(der::SEQUENCE, signed_data_content)),
    ])
}

/// SigningCertificateV2 { certs SEQUENCE OF { ESSCertIDv2 } } for `cert`, with hashAlgorithm
/// omitted (SHA-256 is the DEFAULT) and the IssuerSerial (RFC 5035).
fn signing_certificate_v2(cert: &Certificate) -> Vec<u8> {
    let issuer_serial = der::seq(&[
        &der::seq(&[&der::tlv(0xA4, cert.issuer_der())]),
        &der::uint(cert.serial()),
    ]);
    let ess_cert_id = der::seq(&[
        &der::tlv(der::OCTET_STRING, &crate::crypto::sha256(cert.der())),
        &issuer_serial,
    ]);
    der::seq(&[&der::seq(&[&ess_cert_id])])
}

fn checked_oid(dotted: &str) -> Result<Vec<u8>, CmsError> {
    der::checked_oid(dotted).ok_or_else(|| CmsError::InvalidOid(dotted.chars().take(64).collect()))
}
