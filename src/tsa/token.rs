//! Producing responses and tokens: `TimeStampResp` (RFC 3161 §2.4.2) around a CMS
//! `SignedData` (RFC 5652, written by [`crate::cms`]) whose content is a `TSTInfo`, with an
//! ESS signingCertificateV2 attribute (RFC 5816).

use time::OffsetDateTime;

use super::request::{TimeStampReq, imprint_der};
use super::{FailureInfo, OID_TST_INFO, TsaError};
use crate::asn1::{self, Precision};
use crate::cms;
use crate::crypto::PrivateKey;
use crate::pki::{Certificate, PkiError};

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
                let status = asn1::seq(&[&asn1::tlv(asn1::INTEGER, &[STATUS_GRANTED])]);
                asn1::seq(&[&status, &token])
            }
            Err(e) => asn1::seq(&[&rejection(&e)]),
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
        let policy = policy_oid(self.policy)?;
        let tst_info = self.tst_info(req, &policy, serial, gen_time)?;
        let signer = cms::SignerInput {
            cert: self.cert,
            key: self.key,
            chain: self.chain,
            include_certs: req.cert_req,
        };
        let opts = cms::SignOptions {
            content_type: OID_TST_INFO,
            signing_time: Some(gen_time),
            ess_signing_certificate_v2: true,
            extra_signed_attrs: &[],
        };
        Ok(cms::sign(
            &signer,
            cms::Content::Attached { content: &tst_info },
            &opts,
        )?)
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
            asn1::tlv(asn1::INTEGER, &[1]),
            policy.to_vec(),
            imprint_der(req.hash_alg, &req.hashed_message),
            asn1::uint(serial),
            asn1::generalized_time(gen_time, Precision::Seconds).map_err(PkiError::from)?,
            // Accuracy { seconds 1 }: genTime is truncated to the second.
            asn1::seq(&[&asn1::tlv(asn1::INTEGER, &[1])]),
        ];
        if let Some(n) = &req.nonce {
            parts.push(asn1::tlv(asn1::INTEGER, n));
        }
        // tsa [0] GeneralName: both tags explicit since GeneralName and Name are CHOICEs.
        parts.push(asn1::tlv(0xA0, &asn1::tlv(0xA4, self.cert.subject_der())));
        Ok(asn1::tlv(asn1::SEQUENCE, &parts.concat()))
    }
}

/// The policy as a DER OID, refusing a string that does not round-trip as a dotted OID.
fn policy_oid(policy: &str) -> Result<Vec<u8>, TsaError> {
    asn1::checked_oid(policy)
        .ok_or_else(|| TsaError::UnacceptedPolicy(policy.chars().take(64).collect()))
}

/// The time-stamp token of a granted TimeStampResp (`None` for a rejection or malformed bytes).
pub fn granted_token(resp: &[u8]) -> Option<&[u8]> {
    let (outer, _) = asn1::read(resp).ok()?;
    let parts = asn1::children(outer.content).ok()?;
    let status = asn1::children(parts.first()?.content).ok()?;
    (status.first()?.content == [STATUS_GRANTED]).then_some(parts.get(1)?.raw)
}

/// PKIStatusInfo { rejection, statusString, failInfo } for `e`.
fn rejection(e: &TsaError) -> Vec<u8> {
    let info: FailureInfo = e.failure_info();
    // Bounded: the message may echo an OID taken from the request.
    let text: String = e.to_string().chars().take(200).collect();
    asn1::seq(&[
        &asn1::tlv(asn1::INTEGER, &[STATUS_REJECTION]),
        &asn1::seq(&[&asn1::tlv(asn1::UTF8_STRING, text.as_bytes())]),
        &asn1::named_bits(&[info.bit()]),
    ])
}
