//! Producing responses and tokens: `TimeStampResp` (RFC 3161 §2.4.2) around a CMS
//! `SignedData` (RFC 5652) whose content is a `TSTInfo`, with an ESS signingCertificateV2
//! attribute (RFC 5816).

use time::OffsetDateTime;

use super::request::{TimeStampReq, imprint_der};
use super::{
    FailureInfo, HashAlg, OID_CONTENT_TYPE, OID_MESSAGE_DIGEST, OID_SIGNED_DATA,
    OID_SIGNING_CERTIFICATE_V2, OID_SIGNING_TIME, OID_TST_INFO, TsaError,
};
use crate::crypto::{KeyType, PrivateKey};
use crate::pki::{self, Certificate, der};

/// PKIStatus values used in responses.
const STATUS_GRANTED: u8 = 0;
const STATUS_REJECTION: u8 = 2;

/// A time-stamping unit: its certificate, key, chain (issuers, leaf first excluded) and policy.
#[derive(Debug, Clone, Copy)]
pub struct Tsa<'a> {
    /// The TSA certificate (critical EKU id-kp-timeStamping).
    pub cert: &'a Certificate,
    /// The key of `cert`.
    pub key: &'a PrivateKey,
    /// Issuer certificates added to the token after `cert` when the request asks for certs.
    pub chain: &'a [Certificate],
    /// The TSA policy OID (dotted) written in every TSTInfo.
    pub policy: &'a str,
}

impl Tsa<'_> {
    /// TimeStampResp DER: granted with a token, or rejection with PKIFailureInfo (badAlg,
    /// badRequest, badDataFormat, unacceptedPolicy, unacceptedExtension, systemFailure).
    pub fn respond(&self, req_der: &[u8], serial: &[u8], gen_time: OffsetDateTime) -> Vec<u8> {
        let result = TimeStampReq::from_der(req_der).and_then(|req| match &req.policy {
            Some(p) if p != self.policy => Err(TsaError::UnacceptedPolicy(p.clone())),
            _ => self.token(&req, serial, gen_time),
        });
        match result {
            Ok(token) => {
                let status = der::seq(&[&der::tlv(der::INTEGER, &[STATUS_GRANTED])]);
                der::seq(&[&status, &token])
            }
            Err(e) => der::seq(&[&rejection(&e)]),
        }
    }

    /// The time-stamp token for `req`: ContentInfo(SignedData) DER.
    ///
    /// The policy in the request is not checked here (see [`Tsa::respond`]); the token
    /// always carries `self.policy`.
    pub fn token(
        &self,
        req: &TimeStampReq,
        serial: &[u8],
        gen_time: OffsetDateTime,
    ) -> Result<Vec<u8>, TsaError> {
        if serial.iter().all(|b| *b == 0) {
            return Err(TsaError::InvalidSerial);
        }
        if req.hashed_message.len() != req.hash_alg.digest_len() {
            return Err(TsaError::ImprintLength {
                expected: req.hash_alg.digest_len(),
                found: req.hashed_message.len(),
            });
        }
        if self.cert.public_key()? != self.key.public_key() {
            return Err(TsaError::Pki(pki::PkiError::KeyMismatch));
        }
        let policy = policy_oid(self.policy)?;
        let key_type = self.key.key_type();
        let digest_alg = digest_algorithm(key_type);
        let (sig_alg, sig_alg_id) = pki::algorithm_identifier(key_type);

        let tst_info = self.tst_info(req, &policy, serial, gen_time)?;
        let signed_attrs = self.signed_attributes(digest_alg, &tst_info, gen_time)?;
        let signature = self.key.sign(sig_alg, &signed_attrs)?;

        let digest_alg_id = digest_alg.algorithm_identifier();
        let mut implicit_attrs = signed_attrs;
        // signedAttrs [0] IMPLICIT: same content, context tag instead of SET.
        implicit_attrs[0] = 0xA0;
        let signer_info = der::seq(&[
            &der::tlv(der::INTEGER, &[1]),
            &issuer_and_serial(self.cert),
            &digest_alg_id,
            &implicit_attrs,
            &sig_alg_id,
            &der::tlv(der::OCTET_STRING, &signature),
        ]);
        let encap = der::seq(&[
            &der::oid(OID_TST_INFO),
            &der::tlv(0xA0, &der::tlv(der::OCTET_STRING, &tst_info)),
        ]);
        let mut signed_data = vec![
            der::tlv(der::INTEGER, &[3]),
            der::tlv(der::SET, &digest_alg_id),
            encap,
        ];
        if req.cert_req {
            let mut certs: Vec<&[u8]> = std::iter::once(self.cert)
                .chain(self.chain)
                .map(Certificate::der)
                .collect();
            // DER orders the elements of a SET OF by their encodings.
            certs.sort_unstable();
            signed_data.push(der::tlv(0xA0, &certs.concat()));
        }
        signed_data.push(der::tlv(der::SET, &signer_info));
        let signed_data = der::tlv(der::SEQUENCE, &signed_data.concat());
        Ok(der::seq(&[
            &der::oid(OID_SIGNED_DATA),
            &der::tlv(0xA0, &signed_data),
        ]))
    }

    /// TSTInfo DER: version 1, policy, the request's imprint, serial, genTime (whole seconds),
    /// accuracy 1 s, the nonce when present, and the TSA subject as directoryName.
    fn tst_info(
        &self,
        req: &TimeStampReq,
        policy: &[u8],
        serial: &[u8],
        gen_time: OffsetDateTime,
    ) -> Result<Vec<u8>, TsaError> {
        let mut parts = vec![
            der::tlv(der::INTEGER, &[1]),
            policy.to_vec(),
            imprint_der(req.hash_alg, &req.hashed_message),
            der::uint(serial),
            der::generalized_time(gen_time)?,
            // Accuracy { seconds 1 }: genTime is truncated to the second.
            der::seq(&[&der::tlv(der::INTEGER, &[1])]),
        ];
        if let Some(n) = &req.nonce {
            parts.push(der::tlv(der::INTEGER, n));
        }
        // tsa [0] GeneralName: both tags explicit since GeneralName and Name are CHOICEs.
        parts.push(der::tlv(0xA0, &der::tlv(0xA4, self.cert.subject_der())));
        Ok(der::tlv(der::SEQUENCE, &parts.concat()))
    }

    /// The signed attributes as DER SET OF (tag 0x31, elements sorted), i.e. the exact bytes
    /// the signature covers.
    fn signed_attributes(
        &self,
        digest_alg: HashAlg,
        tst_info: &[u8],
        gen_time: OffsetDateTime,
    ) -> Result<Vec<u8>, TsaError> {
        let attr =
            |oid: &str, value: &[u8]| der::seq(&[&der::oid(oid), &der::tlv(der::SET, value)]);
        let ess_cert_id = der::seq(&[
            // hashAlgorithm omitted: SHA-256 is the DEFAULT.
            &der::tlv(der::OCTET_STRING, &crate::crypto::sha256(self.cert.der())),
            &issuer_serial(self.cert),
        ]);
        let mut attrs = [
            attr(OID_CONTENT_TYPE, &der::oid(OID_TST_INFO)),
            attr(OID_SIGNING_TIME, &der::time(gen_time)?),
            attr(
                OID_MESSAGE_DIGEST,
                &der::tlv(der::OCTET_STRING, &digest_alg.digest(tst_info)),
            ),
            attr(
                OID_SIGNING_CERTIFICATE_V2,
                &der::seq(&[&der::seq(&[&ess_cert_id])]),
            ),
        ];
        // DER SET OF ordering; verifiers such as OpenSSL re-encode the attributes sorted
        // before checking the signature, so an unsorted set would not verify there.
        attrs.sort_unstable();
        Ok(der::tlv(der::SET, &attrs.concat()))
    }
}

/// The digest algorithm of the SignedData for a TSA key type: SM3 with SM2 (GM/T 0010),
/// SHA-512 with Ed25519 (RFC 8419), SHA-256 otherwise.
fn digest_algorithm(key_type: KeyType) -> HashAlg {
    match key_type {
        KeyType::Sm2 => HashAlg::Sm3,
        KeyType::Ed25519 => HashAlg::Sha512,
        KeyType::P256 | KeyType::Rsa2048 | KeyType::Rsa3072 => HashAlg::Sha256,
    }
}

/// The policy as a DER OID, refusing a string that does not round-trip as a dotted OID
/// (`der::oid` trusts its input).
fn policy_oid(policy: &str) -> Result<Vec<u8>, TsaError> {
    let encoded = der::oid(policy);
    let round_trip = der::read(&encoded)
        .ok()
        .and_then(|(t, _)| der::oid_to_string(t.content));
    if round_trip.as_deref() == Some(policy) {
        Ok(encoded)
    } else {
        Err(TsaError::UnacceptedPolicy(
            policy.chars().take(64).collect(),
        ))
    }
}

/// IssuerAndSerialNumber (RFC 5652 §10.2.4) of `cert`.
fn issuer_and_serial(cert: &Certificate) -> Vec<u8> {
    der::seq(&[cert.issuer_der(), &der::uint(cert.serial())])
}

/// ESS IssuerSerial (RFC 5035): GeneralNames { directoryName issuer } and the serial.
fn issuer_serial(cert: &Certificate) -> Vec<u8> {
    der::seq(&[
        &der::seq(&[&der::tlv(0xA4, cert.issuer_der())]),
        &der::uint(cert.serial()),
    ])
}

/// The time-stamp token of a granted TimeStampResp (`None` for a rejection or malformed bytes).
pub fn granted_token(resp: &[u8]) -> Option<&[u8]> {
    let (outer, _) = der::read(resp).ok()?;
    let parts = der::children(outer.content).ok()?;
    let status = der::children(parts.first()?.content).ok()?;
    (status.first()?.content == [STATUS_GRANTED]).then_some(parts.get(1)?.raw)
}

/// PKIStatusInfo { rejection, statusString, failInfo } for `e`.
fn rejection(e: &TsaError) -> Vec<u8> {
    let info: FailureInfo = e.failure_info();
    // Bounded: the message may echo an OID taken from the request.
    let text: String = e.to_string().chars().take(200).collect();
    der::seq(&[
        &der::tlv(der::INTEGER, &[STATUS_REJECTION]),
        &der::seq(&[&der::tlv(der::UTF8_STRING, text.as_bytes())]),
        &der::named_bits(&[info.bit()]),
    ])
}
