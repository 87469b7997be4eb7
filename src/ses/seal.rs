//! `SESeal` decoding (v1, v4, v5) and the field readers shared with `SES_Signature`.

use std::ops::Range;

use ::time::OffsetDateTime;

use super::verify::normalise_signature;
use super::{CertDigest, CertList, ExtData, Picture, SesError, SesVersion};
use crate::asn1::{
    self, Asn1Error, BIT_STRING, BOOLEAN, GENERALIZED_TIME, OCTET_STRING, OID, Reader, Rules,
    SEQUENCE, Tlv, UTC_TIME,
};

/// `[0]` constructed: an explicit `[0]`, or an implicit one over a constructed type.
const CTX0_CONS: u8 = 0xA0;
/// `[0]` primitive: an implicit `[0]` over a primitive type.
const CTX0_PRIM: u8 = 0x80;
/// `[3]` primitive: what some producers write for the seal's `timeStamp`.
const CTX3_PRIM: u8 = 0x83;

/// An electronic seal (`SESeal`), decoded and owning its received bytes.
#[derive(Debug, Clone)]
pub struct Seal {
    der: Vec<u8>,
    version: SesVersion,
    info: SealInfo,
    maker_cert: Vec<u8>,
    sign_alg: String,
    maker_signature: Vec<u8>,
    signed: Signed,
    timestamp: Option<Vec<u8>>,
}

/// What the maker signed: a slice of `der` (v4/v5) or a rebuilt SEQUENCE (v1).
#[derive(Debug, Clone)]
enum Signed {
    Received(Range<usize>),
    Built(Vec<u8>),
}

/// Which time type a layout uses.
#[derive(Clone, Copy)]
pub(crate) enum TimeKind {
    Utc,
    Generalized,
}

impl Seal {
    /// Decode a DER `SESeal` of any supported version.
    pub fn from_der(der: &[u8]) -> Result<Seal, SesError> {
        let tlv = Reader::single(der, "SESeal")?;
        parse_seal(tlv)
    }

    /// The exact received `SESeal` TLV.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The layout version detected from the structure.
    pub fn version(&self) -> SesVersion {
        self.version
    }

    /// `SES_Header.ID` (normally "ES"; not enforced).
    pub fn header_id(&self) -> &str {
        &self.info.header_id
    }

    /// `SES_Header.version` as written (may be 1, 2, 3, 4, 5, 11, ...).
    pub fn header_version(&self) -> i64 {
        self.info.header_version
    }

    /// `SES_Header.Vid`, the vendor identifier.
    pub fn vid(&self) -> &str {
        &self.info.vid
    }

    /// `esID`, the seal code.
    pub fn es_id(&self) -> &str {
        &self.info.es_id
    }

    /// `property.type`, the seal type.
    pub fn seal_type(&self) -> i64 {
        self.info.seal_type
    }

    /// `property.name`.
    pub fn name(&self) -> &str {
        &self.info.name
    }

    /// `property.certListType` (1 for v1 seals, which only list certificates).
    pub fn cert_list_type(&self) -> i64 {
        self.info.cert_list_type
    }

    /// `property.certList`, the certificates allowed to use this seal.
    pub fn cert_list(&self) -> &CertList {
        &self.info.cert_list
    }

    /// `property.createDate`.
    pub fn create_date(&self) -> OffsetDateTime {
        self.info.create_date
    }

    /// `property.validStart`.
    pub fn valid_start(&self) -> OffsetDateTime {
        self.info.valid_start
    }

    /// `property.validEnd`.
    pub fn valid_end(&self) -> OffsetDateTime {
        self.info.valid_end
    }

    /// The seal image.
    pub fn picture(&self) -> &Picture {
        &self.info.picture
    }

    /// `SES_SealInfo.extDatas` (empty when absent).
    pub fn ext_datas(&self) -> &[ExtData] {
        &self.info.ext_datas
    }

    /// DER X.509 certificate of the seal maker (制章者).
    pub fn maker_cert(&self) -> &[u8] {
        &self.maker_cert
    }

    /// Dotted OID of the maker's signature algorithm.
    pub fn sign_alg(&self) -> &str {
        &self.sign_alg
    }

    /// The maker's signature, as DER `SEQUENCE{r,s}` for EC algorithms.
    pub fn maker_signature(&self) -> &[u8] {
        &self.maker_signature
    }

    /// Exactly the bytes the maker signed.
    ///
    /// v4/v5: the received `SES_SealInfo` TLV. v1: DER of
    /// `SEQUENCE{SES_SealInfo, cert, signatureAlgorithm}` built from the
    /// received element encodings.
    pub fn signed_bytes(&self) -> &[u8] {
        match &self.signed {
            Signed::Received(r) => &self.der[r.clone()],
            Signed::Built(v) => v,
        }
    }

    /// The seal timestamp token (`[0]` of v5; tolerated on v4).
    pub fn timestamp(&self) -> Option<&[u8]> {
        self.timestamp.as_deref()
    }
}

/// Decode a `SESeal` TLV (top level or embedded in `TBS_Sign`).
pub(crate) fn parse_seal(tlv: Tlv<'_>) -> Result<Seal, SesError> {
    if tlv.tag != SEQUENCE {
        return Err(Asn1Error::UnexpectedTag {
            at: "SESeal",
            expected: "SEQUENCE",
            found: tlv.tag,
        }
        .into());
    }
    let base = tlv.offset;
    let mut r = tlv.reader("SESeal")?;
    let count = r.count("SESeal")?;
    let (info_tlv, info_r) = r.sequence("SESeal.eSealInfo")?;
    match count {
        2 => {
            let info = parse_seal_info(info_r, TimeKind::Utc, false)?;
            let (_, mut si) = r.sequence("SESeal.signInfo")?;
            let cert = si.expect(OCTET_STRING, "OCTET STRING", "SES_SignInfo.cert")?;
            let alg_tlv = si.expect(OID, "OBJECT IDENTIFIER", "SES_SignInfo.signatureAlgorithm")?;
            let sign_alg = asn1::decode_oid(alg_tlv.content, "SES_SignInfo.signatureAlgorithm")?;
            let sig = si.bit_string("SES_SignInfo.signData")?;
            si.finish("SES_SignInfo")?;
            r.finish("SESeal")?;
            let signed = asn1::seq(&[info_tlv.raw, cert.raw, alg_tlv.raw]);
            Ok(Seal {
                der: tlv.raw.to_vec(),
                version: SesVersion::V1,
                info,
                maker_cert: cert.content.to_vec(),
                maker_signature: normalise_signature(&sign_alg, sig),
                sign_alg,
                signed: Signed::Built(signed),
                timestamp: None,
            })
        }
        4 | 5 => {
            let info = parse_seal_info(info_r, TimeKind::Generalized, true)?;
            let cert = r.octets("SESeal.cert")?;
            let sign_alg = r.oid("SESeal.signAlgID")?;
            let sig = r.bit_string("SESeal.signedValue")?;
            let timestamp = if r.is_empty() {
                None
            } else {
                Some(parse_timestamp(&mut r, "SESeal.timeStamp")?)
            };
            r.finish("SESeal")?;
            let version = if info.header_version == 5 {
                SesVersion::V5
            } else {
                SesVersion::V4
            };
            let range = info_tlv.offset - base..info_tlv.offset - base + info_tlv.raw.len();
            Ok(Seal {
                der: tlv.raw.to_vec(),
                version,
                info,
                maker_cert: cert.to_vec(),
                maker_signature: normalise_signature(&sign_alg, sig),
                sign_alg,
                signed: Signed::Received(range),
                timestamp,
            })
        }
        n => Err(SesError::UnknownStructure {
            at: "SESeal",
            count: n,
        }),
    }
}

/// The decoded `SES_SealInfo` fields.
#[derive(Debug, Clone)]
struct SealInfo {
    header_id: String,
    header_version: i64,
    vid: String,
    es_id: String,
    seal_type: i64,
    name: String,
    cert_list_type: i64,
    cert_list: CertList,
    create_date: OffsetDateTime,
    valid_start: OffsetDateTime,
    valid_end: OffsetDateTime,
    picture: Picture,
    ext_datas: Vec<ExtData>,
}

fn parse_seal_info(
    mut r: Reader<'_>,
    times: TimeKind,
    has_cert_list_type: bool,
) -> Result<SealInfo, SesError> {
    let (_, mut h) = r.sequence("SES_SealInfo.header")?;
    let header_id = h.string("SES_SealInfo.header.ID")?;
    let header_version = h.integer("SES_SealInfo.header.version")?;
    let vid = h.string("SES_SealInfo.header.Vid")?;
    h.finish("SES_SealInfo.header")?;
    let es_id = r.string("SES_SealInfo.esID")?;

    let (_, mut p) = r.sequence("SES_SealInfo.property")?;
    let seal_type = p.integer("SES_SealInfo.property.type")?;
    let name = p.string("SES_SealInfo.property.name")?;
    let cert_list_type = if has_cert_list_type {
        p.integer("SES_SealInfo.property.certListType")?
    } else {
        1
    };
    let (_, mut cl) = p.sequence("SES_SealInfo.property.certList")?;
    let cert_list = match cert_list_type {
        1 => {
            let mut certs = Vec::new();
            while !cl.is_empty() {
                certs.push(cl.octets("SES_SealInfo.property.certList[]")?.to_vec());
            }
            CertList::Certs(certs)
        }
        2 => {
            let mut digests = Vec::new();
            while !cl.is_empty() {
                let (_, mut d) = cl.sequence("SES_SealInfo.property.certList[]")?;
                let kind = d.string("SES_SealInfo.property.certList[].type")?;
                let value = d.octets("SES_SealInfo.property.certList[].value")?.to_vec();
                d.finish("SES_SealInfo.property.certList[]")?;
                digests.push(CertDigest { kind, value });
            }
            CertList::Digests(digests)
        }
        other => return Err(SesError::CertListType(other)),
    };
    let create_date = read_time(&mut p, times, "SES_SealInfo.property.createDate")?;
    let valid_start = read_time(&mut p, times, "SES_SealInfo.property.validStart")?;
    let valid_end = read_time(&mut p, times, "SES_SealInfo.property.validEnd")?;
    p.finish("SES_SealInfo.property")?;

    let (_, mut pic) = r.sequence("SES_SealInfo.picture")?;
    let picture = Picture {
        kind: pic.string("SES_SealInfo.picture.type")?,
        data: pic.octets("SES_SealInfo.picture.data")?.to_vec(),
        width_mm: pic.integer("SES_SealInfo.picture.width")?,
        height_mm: pic.integer("SES_SealInfo.picture.height")?,
    };
    pic.finish("SES_SealInfo.picture")?;

    let ext_datas = if r.is_empty() {
        Vec::new()
    } else {
        let tlv = r.any("SES_SealInfo.extDatas")?;
        parse_ext_datas(tlv, "SES_SealInfo.extDatas")?
    };
    r.finish("SES_SealInfo")?;
    Ok(SealInfo {
        header_id,
        header_version,
        vid,
        es_id,
        seal_type,
        name,
        cert_list_type,
        cert_list,
        create_date,
        valid_start,
        valid_end,
        picture,
        ext_datas,
    })
}

/// Read a UTCTime (v1) or GeneralizedTime (v4/v5).
pub(crate) fn read_time(
    r: &mut Reader<'_>,
    kind: TimeKind,
    at: &'static str,
) -> Result<OffsetDateTime, SesError> {
    type Parser = fn(&[u8], Rules) -> Option<OffsetDateTime>;
    let (tag, name, parse): (u8, &'static str, Parser) = match kind {
        TimeKind::Utc => (UTC_TIME, "UTCTime", asn1::parse_utc),
        TimeKind::Generalized => (GENERALIZED_TIME, "GeneralizedTime", asn1::parse_generalized),
    };
    let tlv = r.expect(tag, name, at)?;
    parse(tlv.content, Rules::Lenient).ok_or_else(|| {
        Asn1Error::BadValue {
            at,
            reason: format!("invalid {name} {:?}", String::from_utf8_lossy(tlv.content)),
        }
        .into()
    })
}

/// `ExtensionDatas` in any of the encodings seen in the wild: untagged
/// SEQUENCE OF, explicit `[0]`, implicit `[0]` (constructed or primitive), or
/// wrapped in an OCTET STRING.
pub(crate) fn parse_ext_datas(tlv: Tlv<'_>, at: &'static str) -> Result<Vec<ExtData>, SesError> {
    let list = match tlv.tag {
        SEQUENCE => tlv.reader(at)?,
        CTX0_CONS => {
            let inner = tlv.reader(at)?;
            let mut probe = inner.clone();
            let explicit = if probe.count(at)? == 1 && probe.peek_tag() == Some(SEQUENCE) {
                let only = probe.any(at)?;
                let first = only.reader(at)?.peek_tag();
                // An ExtData starts with an OID; a SEQUENCE OF starts with a SEQUENCE.
                first != Some(OID)
            } else {
                false
            };
            if explicit {
                let mut inner = inner;
                let only = inner.any(at)?;
                only.reader(at)?
            } else {
                inner
            }
        }
        CTX0_PRIM => tlv.content_reader(at)?,
        OCTET_STRING => {
            let mut wrapped = tlv.content_reader(at)?;
            let (_, list) = wrapped.sequence(at)?;
            wrapped.finish(at)?;
            list
        }
        found => {
            return Err(Asn1Error::UnexpectedTag {
                at,
                expected: "ExtensionDatas (SEQUENCE, [0] or OCTET STRING)",
                found,
            }
            .into());
        }
    };
    let mut list = list;
    let mut out = Vec::new();
    while !list.is_empty() {
        let (_, mut e) = list.sequence(at)?;
        let oid = e.oid(at)?;
        let critical = if e.peek_tag() == Some(BOOLEAN) {
            e.boolean(at)?
        } else {
            false
        };
        let value = e.octets(at)?.to_vec();
        e.finish(at)?;
        out.push(ExtData {
            oid,
            critical,
            value,
        });
    }
    Ok(out)
}

/// `timeStamp [0] BIT STRING`: explicit (`A0`), implicit primitive
/// (`80`, or the `83` some producers emit) or untagged; 0 unused bits.
pub(crate) fn parse_timestamp(r: &mut Reader<'_>, at: &'static str) -> Result<Vec<u8>, SesError> {
    let tlv = r.any(at)?;
    match tlv.tag {
        CTX0_CONS => {
            let mut inner = tlv.reader(at)?;
            let data = inner.bit_string(at)?;
            inner.finish(at)?;
            Ok(data.to_vec())
        }
        CTX0_PRIM | CTX3_PRIM | BIT_STRING => {
            Ok(asn1::bit_string_octets(tlv.content, at)?.to_vec())
        }
        found => Err(Asn1Error::UnexpectedTag {
            at,
            expected: "[0] BIT STRING",
            found,
        }
        .into()),
    }
}
