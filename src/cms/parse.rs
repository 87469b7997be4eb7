//! Reading a ContentInfo(SignedData) into borrowed pieces: the checks and the re-encoding in
//! [`super::add_unsigned_attribute`] need the SignerInfo fields exactly as received.
//!
//! GB/T 35275 SignedData (OFD `Type="Sign"`) is read too: its own content-type OIDs, digest
//! AlgorithmIdentifiers without the NULL parameters, SM2 OIDs as the signatureAlgorithm and
//! SignerInfos without signed attributes (the signature then covers the content itself).

use time::OffsetDateTime;

use super::{
    CmsError, DigestAlg, OID_SIGNED_DATA, OID_SIGNING_TIME, OID_SM2_SIGNED_DATA, malformed,
};
use crate::asn1::{self as der, Tlv};
use crate::pki::Certificate;

/// One attribute: its type and its first value (DER), as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute<'a> {
    /// Attribute type OID (dotted).
    pub oid: String,
    /// The first AttributeValue, whole TLV.
    pub value: &'a [u8],
}

/// The single SignerInfo of a SignedData, borrowed from the DER.
#[derive(Debug, Clone)]
pub struct SignerInfoView<'a> {
    /// SignerInfo version (1 for issuerAndSerialNumber, 3 for subjectKeyIdentifier).
    pub version: u8,
    /// The sid TLV: IssuerAndSerialNumber SEQUENCE or [0] subjectKeyIdentifier.
    pub sid: &'a [u8],
    /// The digestAlgorithm AlgorithmIdentifier TLV.
    pub digest_algorithm: &'a [u8],
    /// The signedAttrs TLV as received ([0] IMPLICIT; the signature covers it re-tagged SET);
    /// `None` when the signature covers the content itself.
    pub signed_attrs: Option<&'a [u8]>,
    /// The signatureAlgorithm OID (dotted).
    pub signature_algorithm: String,
    /// The signature value.
    pub signature: &'a [u8],
    /// The signed attributes, in received order.
    pub signed_attributes: Vec<Attribute<'a>>,
    /// The unsigned attributes ([1]), in received order.
    pub unsigned_attributes: Vec<Attribute<'a>>,
    /// The fields version … signature as received, for re-encoding.
    pub(super) fields: Vec<&'a [u8]>,
    /// The unsignedAttrs elements as received.
    pub(super) unsigned_raw: Vec<&'a [u8]>,
}

impl<'a> SignerInfoView<'a> {
    /// The first value of the signed attribute `oid`.
    pub fn signed_attr(&self, oid: &str) -> Option<&'a [u8]> {
        find(&self.signed_attributes, oid)
    }

    /// The first value of the unsigned attribute `oid`.
    pub fn unsigned_attr(&self, oid: &str) -> Option<&'a [u8]> {
        find(&self.unsigned_attributes, oid)
    }

    /// What the signature covers when there are signed attributes: them as received, with
    /// the SET OF tag in place of [0] IMPLICIT.
    pub fn signed_message(&self) -> Option<Vec<u8>> {
        let mut m = self.signed_attrs?.to_vec();
        m[0] = der::SET;
        Some(m)
    }

    /// The signingTime attribute, when present and readable.
    pub fn signing_time(&self) -> Option<OffsetDateTime> {
        let (t, _) = der::read(self.signed_attr(OID_SIGNING_TIME)?).ok()?;
        der::parse_time(&t)
    }

    /// The OID (dotted) of the digestAlgorithm, when it is readable.
    pub fn digest_algorithm_oid(&self) -> Option<String> {
        let (alg, _) = der::read(self.digest_algorithm).ok()?;
        der::children(alg.content).ok()?.first().and_then(oid_of)
    }
}

fn find<'a>(attrs: &[Attribute<'a>], oid: &str) -> Option<&'a [u8]> {
    attrs.iter().find(|a| a.oid == oid).map(|a| a.value)
}

/// A parsed ContentInfo(SignedData) with exactly one SignerInfo.
#[derive(Debug, Clone)]
pub struct SignedDataView<'a> {
    /// The ContentInfo contentType: [`OID_SIGNED_DATA`] or GB/T 35275's [`OID_SM2_SIGNED_DATA`].
    pub content_info_type: &'static str,
    /// SignedData version.
    pub version: u8,
    /// eContentType (dotted).
    pub content_type: String,
    /// eContent, `None` for a detached signature.
    pub content: Option<&'a [u8]>,
    /// Certificates carried in `certificates` (other certificate formats are skipped).
    pub certificates: Vec<Certificate>,
    /// The SignerInfo.
    pub signer: SignerInfoView<'a>,
    /// The SignedData fields before signerInfos as received, for re-encoding.
    pub(super) head: Vec<&'a [u8]>,
}

/// Parses ContentInfo(SignedData) DER with one SignerInfo.
pub fn parse(cms: &[u8]) -> Result<SignedDataView<'_>, CmsError> {
    let bad = |m: &str| CmsError::Malformed(m.to_string());
    let (ci, rest) = der::read(cms).map_err(malformed)?;
    if ci.tag != der::SEQUENCE || !rest.is_empty() {
        return Err(bad("not one ContentInfo SEQUENCE"));
    }
    let ci = der::children(ci.content).map_err(malformed)?;
    let [ct, content] = ci.as_slice() else {
        return Err(bad("ContentInfo shape"));
    };
    let ct = oid_of(ct);
    let content_info_type = [OID_SIGNED_DATA, OID_SM2_SIGNED_DATA]
        .into_iter()
        .find(|t| ct.as_deref() == Some(*t))
        .filter(|_| content.tag == 0xA0)
        .ok_or_else(|| bad("ContentInfo is not SignedData"))?;
    let (sd, _) = der::read(content.content).map_err(malformed)?;
    if sd.tag != der::SEQUENCE {
        return Err(bad("SignedData is not a SEQUENCE"));
    }
    let sd = der::children(sd.content).map_err(malformed)?;
    let [version, digest_algs, encap, more @ ..] = sd.as_slice() else {
        return Err(bad("SignedData has too few fields"));
    };
    let version = small_int(version).ok_or_else(|| bad("SignedData version"))?;
    if digest_algs.tag != der::SET || encap.tag != der::SEQUENCE {
        return Err(bad("SignedData digestAlgorithms or encapContentInfo"));
    }
    let encap_parts = der::children(encap.content).map_err(malformed)?;
    let (e_type, e_content) = match encap_parts.as_slice() {
        [t] => (t, None),
        [t, wrapped] => {
            let (inner, _) = der::read(wrapped.content).map_err(malformed)?;
            if wrapped.tag != 0xA0 || inner.tag != der::OCTET_STRING {
                return Err(bad("eContent is not [0] OCTET STRING"));
            }
            (t, Some(inner.content))
        }
        _ => return Err(bad("encapContentInfo shape")),
    };
    let mut head: Vec<&[u8]> = sd[..3].iter().map(|t| t.raw).collect();
    let mut certificates = Vec::new();
    let mut signer_infos = None;
    for t in more {
        match t.tag {
            0xA0 => {
                for c in der::children(t.content).map_err(malformed)? {
                    // Other certificate formats (attribute certificates…) are skipped.
                    if let Ok(cert) = Certificate::from_der(c.raw) {
                        certificates.push(cert);
                    }
                }
            }
            0xA1 => {}
            der::SET if signer_infos.is_none() => {
                signer_infos = Some(t);
                continue;
            }
            _ => return Err(bad("unexpected SignedData field")),
        }
        if signer_infos.is_some() {
            return Err(bad("field after signerInfos"));
        }
        head.push(t.raw);
    }
    let infos = der::children(signer_infos.ok_or_else(|| bad("no signerInfos"))?.content)
        .map_err(malformed)?;
    let [si] = infos.as_slice() else {
        return Err(CmsError::Malformed(format!(
            "{} SignerInfos, expected one",
            infos.len()
        )));
    };
    Ok(SignedDataView {
        content_info_type,
        version,
        content_type: oid_of(e_type).ok_or_else(|| bad("eContentType"))?,
        content: e_content,
        certificates,
        signer: signer_info(si)?,
        head,
    })
}

fn signer_info<'a>(si: &Tlv<'a>) -> Result<SignerInfoView<'a>, CmsError> {
    let bad = |m: &str| CmsError::Malformed(m.to_string());
    if si.tag != der::SEQUENCE {
        return Err(bad("SignerInfo is not a SEQUENCE"));
    }
    let parts = der::children(si.content).map_err(malformed)?;
    let [version, sid, digest_alg, rest @ ..] = parts.as_slice() else {
        return Err(bad("SignerInfo has too few fields"));
    };
    let (signed_attrs, rest) = match rest {
        [attrs, rest @ ..] if attrs.tag == 0xA0 => (Some(attrs), rest),
        _ => (None, rest),
    };
    let [sig_alg, signature, unsigned @ ..] = rest else {
        return Err(bad("SignerInfo has too few fields"));
    };
    let signature_algorithm = der::children(sig_alg.content)
        .ok()
        .and_then(|c| c.first().and_then(oid_of))
        .ok_or_else(|| bad("signatureAlgorithm"))?;
    if signature.tag != der::OCTET_STRING {
        return Err(bad("signature is not an OCTET STRING"));
    }
    let unsigned_raw = match unsigned {
        [] => Vec::new(),
        [u] if u.tag == 0xA1 => der::children(u.content)
            .map_err(malformed)?
            .iter()
            .map(|t| t.raw)
            .collect(),
        _ => return Err(bad("unexpected SignerInfo field")),
    };
    Ok(SignerInfoView {
        version: small_int(version).ok_or_else(|| bad("SignerInfo version"))?,
        sid: sid.raw,
        digest_algorithm: digest_alg.raw,
        signed_attrs: signed_attrs.map(|a| a.raw),
        signature_algorithm,
        signature: signature.content,
        signed_attributes: match signed_attrs {
            Some(a) => attributes(a.content)?,
            None => Vec::new(),
        },
        unsigned_attributes: match unsigned {
            [u] => attributes(u.content)?,
            _ => Vec::new(),
        },
        fields: parts[..parts.len() - unsigned.len()]
            .iter()
            .map(|t| t.raw)
            .collect(),
        unsigned_raw,
    })
}

/// Each Attribute's type and first value; an attribute with no value is refused.
fn attributes(content: &[u8]) -> Result<Vec<Attribute<'_>>, CmsError> {
    let mut out = Vec::new();
    for a in der::children(content).map_err(malformed)? {
        let parts = der::children(a.content).map_err(malformed)?;
        let [oid, values] = parts.as_slice() else {
            return Err(CmsError::Malformed("Attribute shape".into()));
        };
        if a.tag != der::SEQUENCE || values.tag != der::SET {
            return Err(CmsError::Malformed("Attribute shape".into()));
        }
        let (first, _) = der::read(values.content).map_err(malformed)?;
        out.push(Attribute {
            oid: oid_of(oid).ok_or_else(|| CmsError::Malformed("Attribute type".into()))?,
            value: first.raw,
        });
    }
    Ok(out)
}

/// The SignerInfo signature value: what a CAdES B-T signature time-stamp covers.
pub fn signature_value(cms: &[u8]) -> Result<Vec<u8>, CmsError> {
    Ok(parse(cms)?.signer.signature.to_vec())
}

/// A digest AlgorithmIdentifier: a supported OID with absent or NULL parameters.
pub(crate) fn digest_alg_from_identifier(alg: &Tlv<'_>) -> Result<DigestAlg, CmsError> {
    let bad = |m: &str| CmsError::Malformed(m.to_string());
    if alg.tag != der::SEQUENCE {
        return Err(bad("AlgorithmIdentifier"));
    }
    let parts = der::children(alg.content).map_err(malformed)?;
    let (oid, params) = match parts.as_slice() {
        [oid] => (oid, None),
        [oid, params] => (oid, Some(params)),
        _ => return Err(bad("AlgorithmIdentifier")),
    };
    let dotted = oid_of(oid).ok_or_else(|| bad("AlgorithmIdentifier OID"))?;
    let alg = DigestAlg::from_oid(&dotted).ok_or(CmsError::UnsupportedDigest(dotted))?;
    if params.is_some_and(|p| p.tag != der::NULL || !p.content.is_empty()) {
        return Err(CmsError::UnsupportedDigest(format!(
            "{} with parameters",
            alg.oid()
        )));
    }
    Ok(alg)
}

/// The dotted form of an OID TLV.
pub(super) fn oid_of(t: &Tlv<'_>) -> Option<String> {
    (t.tag == der::OID)
        .then(|| der::oid_to_string(t.content))
        .flatten()
}

/// A one-byte non-negative INTEGER (the versions CMS uses).
fn small_int(t: &Tlv<'_>) -> Option<u8> {
    match t.content {
        [v] if t.tag == der::INTEGER && *v < 0x80 => Some(*v),
        _ => None,
    }
}
