//! `TimeStampReq` (RFC 3161 §2.4.1): parsing what clients send, and writing it (for tests and
//! for callers that request timestamps from another TSA).

use super::{HashAlg, TsaError, malformed};
use crate::asn1::{self, Tlv};

/// A parsed time-stamp request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeStampReq {
    /// Hash algorithm of the message imprint.
    pub hash_alg: HashAlg,
    /// The imprint itself (exactly the algorithm's digest length).
    pub hashed_message: Vec<u8>,
    /// Requested TSA policy OID (dotted), if any.
    pub policy: Option<String>,
    /// Nonce as INTEGER content bytes, copied verbatim into the token.
    pub nonce: Option<Vec<u8>>,
    /// Whether the TSA certificate must be included in the token.
    pub cert_req: bool,
}

impl TimeStampReq {
    /// Parses a DER `TimeStampReq`; a request with extensions is refused
    /// ([`TsaError::UnacceptedExtension`]) since this TSA supports none.
    pub fn from_der(input: &[u8]) -> Result<TimeStampReq, TsaError> {
        let (outer, rest) = asn1::read(input).map_err(malformed)?;
        if outer.tag != asn1::SEQUENCE {
            return Err(TsaError::Malformed("TimeStampReq is not a SEQUENCE".into()));
        }
        if !rest.is_empty() {
            return Err(TsaError::Malformed(
                "trailing data after the request".into(),
            ));
        }
        let parts = asn1::children(outer.content).map_err(malformed)?;
        let mut it = parts.iter().peekable();
        let version = next(&mut it, asn1::INTEGER, "version")?;
        if version.content != [1] {
            return Err(TsaError::UnsupportedVersion(hex::encode(version.content)));
        }
        let imprint = next(&mut it, asn1::SEQUENCE, "messageImprint")?;
        let (hash_alg, hashed_message) = message_imprint(imprint)?;
        let mut req = TimeStampReq {
            hash_alg,
            hashed_message,
            policy: None,
            nonce: None,
            cert_req: false,
        };
        if let Some(p) = it.next_if(|t| t.tag == asn1::OID) {
            let dotted = asn1::oid_to_string(p.content)
                .ok_or_else(|| TsaError::Malformed("reqPolicy OID".into()))?;
            req.policy = Some(dotted);
        }
        if let Some(n) = it.next_if(|t| t.tag == asn1::INTEGER) {
            if n.content.is_empty() {
                return Err(TsaError::Malformed("empty nonce".into()));
            }
            req.nonce = Some(n.content.to_vec());
        }
        if let Some(b) = it.next_if(|t| t.tag == asn1::BOOLEAN) {
            req.cert_req = match b.content {
                [0xFF] => true,
                [0x00] => false,
                _ => return Err(TsaError::Malformed("certReq BOOLEAN".into())),
            };
        }
        if it.next_if(|t| t.tag == 0xA0).is_some() {
            return Err(TsaError::UnacceptedExtension);
        }
        if it.next().is_some() {
            return Err(TsaError::Malformed(
                "unexpected field in the request".into(),
            ));
        }
        Ok(req)
    }

    /// DER `TimeStampReq` version 1 (certReq written only when TRUE, as DER requires for a
    /// DEFAULT FALSE field).
    pub fn to_der(&self) -> Vec<u8> {
        let mut parts = vec![
            asn1::tlv(asn1::INTEGER, &[1]),
            imprint_der(self.hash_alg, &self.hashed_message),
        ];
        if let Some(p) = &self.policy {
            parts.push(asn1::oid(p));
        }
        if let Some(n) = &self.nonce {
            parts.push(asn1::tlv(asn1::INTEGER, n));
        }
        if self.cert_req {
            parts.push(asn1::bool_true());
        }
        asn1::tlv(asn1::SEQUENCE, &parts.concat())
    }
}

/// DER MessageImprint: SEQUENCE { AlgorithmIdentifier, OCTET STRING }.
pub(super) fn imprint_der(alg: HashAlg, hashed: &[u8]) -> Vec<u8> {
    asn1::seq(&[
        &alg.algorithm_identifier(),
        &asn1::tlv(asn1::OCTET_STRING, hashed),
    ])
}

/// Reads a MessageImprint, checking the algorithm (parameters absent or NULL, as OpenSSL
/// requires) and the digest length.
pub(super) fn message_imprint(imprint: &Tlv<'_>) -> Result<(HashAlg, Vec<u8>), TsaError> {
    let parts = asn1::children(imprint.content).map_err(malformed)?;
    let [alg, hashed] = parts.as_slice() else {
        return Err(TsaError::Malformed("MessageImprint".into()));
    };
    let hash_alg = hash_algorithm(alg)?;
    if hashed.tag != asn1::OCTET_STRING {
        return Err(TsaError::Malformed(
            "hashedMessage is not an OCTET STRING".into(),
        ));
    }
    if hashed.content.len() != hash_alg.digest_len() {
        return Err(TsaError::ImprintLength {
            expected: hash_alg.digest_len(),
            found: hashed.content.len(),
        });
    }
    Ok((hash_alg, hashed.content.to_vec()))
}

/// A hash AlgorithmIdentifier: a supported OID with absent or NULL parameters.
pub(super) fn hash_algorithm(alg: &Tlv<'_>) -> Result<HashAlg, TsaError> {
    Ok(crate::cms::digest_alg_from_identifier(alg)?)
}

/// The next element, which must carry `tag`.
fn next<'a, 'b>(
    it: &mut impl Iterator<Item = &'b Tlv<'a>>,
    tag: u8,
    what: &str,
) -> Result<&'b Tlv<'a>, TsaError>
where
    'a: 'b,
{
    match it.next() {
        Some(t) if t.tag == tag => Ok(t),
        _ => Err(TsaError::Malformed(format!("missing or misplaced {what}"))),
    }
}
