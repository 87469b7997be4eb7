//! v4 (GB/T 38540) encoders.
//!
//! Policy, kept stable because the emitted bytes are what gets signed:
//! `[0]` tags are explicit, `ExtData.critical` is omitted when FALSE (true
//! DER), times are GeneralizedTime in UTC to the millisecond (DER fractions), EC signatures are
//! DER `SEQUENCE{r,s}`. Every assembled structure is decoded again before it
//! is returned, so an encoder never hands out bytes the decoder rejects — except on the
//! per-signature path of [`SealTemplate`], whose seal is decoded once and whose other parts are
//! built from typed values (the vault's tests decode and verify what it makes).

use ::time::OffsetDateTime;

use super::verify::normalise_signature;
use super::{ExtData, Picture, Seal, SesError, SesVersion, Signature};
use crate::asn1::{self, IA5_STRING, OCTET_STRING, Precision, Reader, SEQUENCE, UTF8_STRING};

/// Input of [`encode_seal_info`]: the v4 `SES_SealInfo` fields (header version 4, `certListType` 1).
#[derive(Debug, Clone)]
pub struct SealInfoParams {
    /// `SES_Header.Vid`, vendor identifier (IA5).
    pub vid: String,
    /// `esID`, seal code (IA5).
    pub es_id: String,
    /// `property.type`.
    pub seal_type: i64,
    /// `property.name` (UTF-8).
    pub name: String,
    /// DER certificates of the signers allowed to use the seal.
    pub certs: Vec<Vec<u8>>,
    /// `property.createDate`.
    pub create_date: OffsetDateTime,
    /// `property.validStart`.
    pub valid_start: OffsetDateTime,
    /// `property.validEnd`.
    pub valid_end: OffsetDateTime,
    /// The seal image.
    pub picture: Picture,
    /// `extDatas` (emitted untagged, as real seals do; omitted when empty).
    pub ext_datas: Vec<ExtData>,
}

fn ia5(s: &str, what: &str) -> Result<Vec<u8>, SesError> {
    if !s.is_ascii() {
        return Err(SesError::Encode(format!(
            "{what} must be ASCII (IA5String)"
        )));
    }
    Ok(asn1::tlv(IA5_STRING, s.as_bytes()))
}

fn generalized(t: OffsetDateTime) -> Result<Vec<u8>, SesError> {
    Ok(asn1::generalized_time(t, Precision::Millis)?)
}

/// An OID the caller gave (an extension type, a signature algorithm), refused unless valid.
fn valid_oid(dotted: &str) -> Result<Vec<u8>, SesError> {
    asn1::checked_oid(dotted)
        .ok_or_else(|| SesError::Encode(format!("invalid OBJECT IDENTIFIER {dotted:?}")))
}

fn ext_datas(list: &[ExtData]) -> Result<Vec<u8>, SesError> {
    let mut items = Vec::with_capacity(list.len());
    for e in list {
        let oid = valid_oid(&e.oid)?;
        let critical = if e.critical {
            asn1::bool_true()
        } else {
            Vec::new()
        };
        let value = asn1::tlv(OCTET_STRING, &e.value);
        items.push(asn1::seq(&[&oid, &critical, &value]));
    }
    let refs: Vec<&[u8]> = items.iter().map(Vec::as_slice).collect();
    Ok(asn1::seq(&refs))
}

/// DER of a v4 `SES_SealInfo`.
pub fn encode_seal_info(p: &SealInfoParams) -> Result<Vec<u8>, SesError> {
    let header = asn1::seq(&[
        &ia5("ES", "header.ID")?,
        &asn1::integer(4),
        &ia5(&p.vid, "header.Vid")?,
    ]);
    let certs: Vec<Vec<u8>> = p.certs.iter().map(|c| asn1::tlv(OCTET_STRING, c)).collect();
    let cert_refs: Vec<&[u8]> = certs.iter().map(Vec::as_slice).collect();
    let property = asn1::seq(&[
        &asn1::integer(p.seal_type),
        &asn1::tlv(UTF8_STRING, p.name.as_bytes()),
        &asn1::integer(1),
        &asn1::seq(&cert_refs),
        &generalized(p.create_date)?,
        &generalized(p.valid_start)?,
        &generalized(p.valid_end)?,
    ]);
    let picture = asn1::seq(&[
        &ia5(&p.picture.kind, "picture.type")?,
        &asn1::tlv(OCTET_STRING, &p.picture.data),
        &asn1::integer(p.picture.width_mm),
        &asn1::integer(p.picture.height_mm),
    ]);
    let ext = if p.ext_datas.is_empty() {
        Vec::new()
    } else {
        ext_datas(&p.ext_datas)?
    };
    Ok(asn1::seq(&[
        &header,
        &ia5(&p.es_id, "esID")?,
        &property,
        &picture,
        &ext,
    ]))
}

fn single_sequence<'a>(bytes: &'a [u8], what: &str) -> Result<&'a [u8], SesError> {
    let tlv = Reader::single(bytes, "input")
        .map_err(|e| SesError::Encode(format!("{what} is not one DER TLV: {e}")))?;
    if tlv.tag != SEQUENCE {
        return Err(SesError::Encode(format!("{what} is not a SEQUENCE")));
    }
    Ok(tlv.raw)
}

/// DER of a v4 `SESeal` from an encoded `SES_SealInfo` and the maker's signature over it.
pub fn assemble_seal(
    seal_info_der: &[u8],
    maker_cert_der: &[u8],
    sign_alg: &str,
    signature_der: &[u8],
) -> Result<Vec<u8>, SesError> {
    let info = single_sequence(seal_info_der, "SES_SealInfo")?;
    let sig = normalise_signature(sign_alg, signature_der);
    let out = asn1::seq(&[
        info,
        &asn1::tlv(OCTET_STRING, maker_cert_der),
        &valid_oid(sign_alg)?,
        &asn1::bit_string(&sig),
    ]);
    let seal = Seal::from_der(&out)
        .map_err(|e| SesError::Encode(format!("assembled seal does not decode: {e}")))?;
    if seal.version() != SesVersion::V4 {
        return Err(SesError::Encode(
            "SES_SealInfo is not a v4 seal info".into(),
        ));
    }
    Ok(out)
}

/// A v4 seal checked once, for making many signatures with it: the per-request path builds
/// `TBS_Sign` and `SES_Signature` around its bytes without decoding the seal again.
#[derive(Debug, Clone)]
pub struct SealTemplate {
    der: Vec<u8>,
    /// The picture's size in mm (width, height), read when the seal was checked.
    picture_mm: (i64, i64),
}

/// DER of a `TBS_Sign` made by [`SealTemplate::tbs_sign`]: known to hold the template's v4 seal.
#[derive(Debug, Clone)]
pub struct TbsSign(Vec<u8>);

impl TbsSign {
    /// The DER bytes (what the signer signs).
    pub fn der(&self) -> &[u8] {
        &self.0
    }
}

impl SealTemplate {
    /// Checks that `seal_der` is a v4 SESeal.
    pub fn new(seal_der: Vec<u8>) -> Result<SealTemplate, SesError> {
        let seal = Seal::from_der(&seal_der)
            .map_err(|e| SesError::Encode(format!("seal does not decode: {e}")))?;
        if seal.version() != SesVersion::V4 {
            return Err(SesError::Encode("a v4 TBS_Sign needs a v4 seal".into()));
        }
        let picture = seal.picture();
        let picture_mm = (picture.width_mm, picture.height_mm);
        Ok(SealTemplate {
            der: seal_der,
            picture_mm,
        })
    }

    /// The seal's DER.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The size of the seal's picture as the seal gives it, mm (width, height).
    pub fn picture_mm(&self) -> (i64, i64) {
        self.picture_mm
    }

    /// `TBS_Sign { 4, seal, timeInfo, dataHash, propertyInfo }`.
    pub fn tbs_sign(
        &self,
        time_info: OffsetDateTime,
        data_hash: &[u8],
        property_info: &str,
    ) -> Result<TbsSign, SesError> {
        self.tbs_sign_with(time_info, data_hash, property_info, &[])
    }

    /// `TBS_Sign { 4, seal, timeInfo, dataHash, propertyInfo, extDatas }` (extDatas untagged,
    /// as the reader takes it, and omitted when empty).
    pub fn tbs_sign_with(
        &self,
        time_info: OffsetDateTime,
        data_hash: &[u8],
        property_info: &str,
        ext: &[ExtData],
    ) -> Result<TbsSign, SesError> {
        let ext = if ext.is_empty() {
            Vec::new()
        } else {
            ext_datas(ext)?
        };
        Ok(TbsSign(asn1::seq(&[
            &asn1::integer(4),
            &self.der,
            &generalized(time_info)?,
            &asn1::bit_string(data_hash),
            &ia5(property_info, "propertyInfo")?,
            &ext,
        ])))
    }

    /// `SES_Signature { tbs, cert, signatureAlgID, signature }` (no timeStamp).
    pub fn signature(
        &self,
        tbs: &TbsSign,
        signer_cert_der: &[u8],
        sign_alg: &str,
        signature_der: &[u8],
    ) -> Result<Vec<u8>, SesError> {
        let sig = normalise_signature(sign_alg, signature_der);
        Ok(asn1::seq(&[
            &tbs.0,
            &asn1::tlv(OCTET_STRING, signer_cert_der),
            &valid_oid(sign_alg)?,
            &asn1::bit_string(&sig),
        ]))
    }
}

/// DER of a v4 `TBS_Sign` over `seal_der` (which must be a v4 seal).
pub fn encode_tbs_sign(
    seal_der: &[u8],
    time_info: OffsetDateTime,
    data_hash: &[u8],
    property_info: &str,
) -> Result<Vec<u8>, SesError> {
    Ok(SealTemplate::new(seal_der.to_vec())?
        .tbs_sign(time_info, data_hash, property_info)?
        .0)
}

/// DER of a v4 `SES_Signature` from an encoded `TBS_Sign` and the signer's signature over it.
pub fn assemble_signature(
    tbs_der: &[u8],
    signer_cert_der: &[u8],
    sign_alg: &str,
    signature_der: &[u8],
) -> Result<Vec<u8>, SesError> {
    let tbs = single_sequence(tbs_der, "TBS_Sign")?;
    let sig = normalise_signature(sign_alg, signature_der);
    let out = asn1::seq(&[
        tbs,
        &asn1::tlv(OCTET_STRING, signer_cert_der),
        &valid_oid(sign_alg)?,
        &asn1::bit_string(&sig),
    ]);
    let decoded = Signature::from_der(&out)
        .map_err(|e| SesError::Encode(format!("assembled signature does not decode: {e}")))?;
    if decoded.version() != SesVersion::V4 {
        return Err(SesError::Encode("TBS_Sign does not hold a v4 seal".into()));
    }
    Ok(out)
}
