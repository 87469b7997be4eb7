//! `SES_Signature` decoding (v1, v4, v5).

use std::ops::Range;

use super::seal::{Seal, TimeKind, parse_ext_datas, parse_seal, parse_timestamp, read_time};
use super::time::parse_v1_time_info;
use super::verify::normalise_signature;
use super::{ExtData, SesError, SesVersion, TimeInfo};
use crate::asn1::{Asn1Error, BIT_STRING, Reader, SEQUENCE};

/// An electronic signature (`SES_Signature`), decoded and owning its received bytes.
#[derive(Debug, Clone)]
pub struct Signature {
    der: Vec<u8>,
    version: SesVersion,
    tbs_version: i64,
    seal: Seal,
    time_info: TimeInfo,
    data_hash: Vec<u8>,
    property_info: String,
    ext_datas: Vec<ExtData>,
    signer_cert: Vec<u8>,
    sign_alg: String,
    signature: Vec<u8>,
    tbs: Range<usize>,
    timestamp: Option<Vec<u8>>,
}

fn layout_name(v: SesVersion) -> &'static str {
    match v {
        SesVersion::V1 => "v1",
        SesVersion::V4 => "v4",
        SesVersion::V5 => "v5",
    }
}

impl Signature {
    /// Decode a DER `SES_Signature` of any supported version.
    pub fn from_der(der: &[u8]) -> Result<Signature, SesError> {
        let outer = Reader::single(der, "SES_Signature")?;
        if outer.tag != SEQUENCE {
            return Err(Asn1Error::UnexpectedTag {
                at: "SES_Signature",
                expected: "SEQUENCE",
                found: outer.tag,
            }
            .into());
        }
        let mut r = outer.reader("SES_Signature")?;
        let count = r.count("SES_Signature")?;
        if !matches!(count, 2 | 4 | 5) {
            return Err(SesError::UnknownStructure {
                at: "SES_Signature",
                count,
            });
        }
        let v1 = count == 2;
        let (tbs_tlv, mut t) = r.sequence("SES_Signature.toSign")?;
        let tbs_version = t.integer("TBS_Sign.version")?;
        let eseal = t.expect(SEQUENCE, "SEQUENCE", "TBS_Sign.eseal")?;
        let seal = parse_seal(eseal).map_err(|e| SesError::InSeal(Box::new(e)))?;
        if v1 != (seal.version() == SesVersion::V1) {
            return Err(SesError::VersionMismatch {
                signature: if v1 { "v1" } else { "v4/v5" },
                seal: layout_name(seal.version()),
            });
        }

        let (
            time_info,
            data_hash,
            property_info,
            ext_datas,
            signer_cert,
            sign_alg,
            signature,
            timestamp,
        );
        if v1 {
            let ti = t.expect(BIT_STRING, "BIT STRING", "TBS_Sign.timeInfo")?;
            // The v1 time format is not interoperable: keep any unused-bit
            // count and fall back to the raw octets.
            let bits = ti.content.get(1..).unwrap_or_default();
            time_info = match parse_v1_time_info(bits) {
                Some(t) => TimeInfo::Time(t),
                None => TimeInfo::Opaque(bits.to_vec()),
            };
            data_hash = t.bit_string("TBS_Sign.dataHash")?.to_vec();
            property_info = t.string("TBS_Sign.propertyInfo")?;
            signer_cert = t.octets("TBS_Sign.cert")?.to_vec();
            sign_alg = t.oid("TBS_Sign.signatureAlgorithm")?;
            t.finish("TBS_Sign")?;
            ext_datas = Vec::new();
            signature = r.bit_string("SES_Signature.signature")?;
            timestamp = None;
        } else {
            time_info = TimeInfo::Time(read_time(
                &mut t,
                TimeKind::Generalized,
                "TBS_Sign.timeInfo",
            )?);
            data_hash = t.bit_string("TBS_Sign.dataHash")?.to_vec();
            property_info = t.string("TBS_Sign.propertyInfo")?;
            ext_datas = if t.is_empty() {
                Vec::new()
            } else {
                let tlv = t.any("TBS_Sign.extDatas")?;
                parse_ext_datas(tlv, "TBS_Sign.extDatas")?
            };
            t.finish("TBS_Sign")?;
            signer_cert = r.octets("SES_Signature.cert")?.to_vec();
            sign_alg = r.oid("SES_Signature.signatureAlgID")?;
            signature = r.bit_string("SES_Signature.signature")?;
            timestamp = if r.is_empty() {
                None
            } else {
                Some(parse_timestamp(&mut r, "SES_Signature.timeStamp")?)
            };
        }
        r.finish("SES_Signature")?;
        Ok(Signature {
            der: der.to_vec(),
            version: seal.version(),
            tbs_version,
            time_info,
            data_hash,
            property_info,
            ext_datas,
            signature: normalise_signature(&sign_alg, signature),
            signer_cert,
            sign_alg,
            tbs: tbs_tlv.offset..tbs_tlv.offset + tbs_tlv.raw.len(),
            timestamp,
            seal,
        })
    }

    /// The exact received `SES_Signature` TLV.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The layout version (v1 by structure; v4/v5 from the embedded seal's header).
    pub fn version(&self) -> SesVersion {
        self.version
    }

    /// `TBS_Sign.version` as written.
    pub fn tbs_version(&self) -> i64 {
        self.tbs_version
    }

    /// The seal embedded in `TBS_Sign.eseal`.
    pub fn seal(&self) -> &Seal {
        &self.seal
    }

    /// `TBS_Sign.timeInfo`, the claimed signing time.
    pub fn time_info(&self) -> &TimeInfo {
        &self.time_info
    }

    /// `TBS_Sign.dataHash`, the hash of the signed original.
    pub fn data_hash(&self) -> &[u8] {
        &self.data_hash
    }

    /// `TBS_Sign.propertyInfo` (in OFD: the path of the signed `Signature.xml`).
    pub fn property_info(&self) -> &str {
        &self.property_info
    }

    /// `TBS_Sign.extDatas` (empty when absent; always empty for v1).
    pub fn ext_datas(&self) -> &[ExtData] {
        &self.ext_datas
    }

    /// DER X.509 certificate of the signer (签章者).
    pub fn signer_cert(&self) -> &[u8] {
        &self.signer_cert
    }

    /// Dotted OID of the signer's signature algorithm.
    pub fn sign_alg(&self) -> &str {
        &self.sign_alg
    }

    /// The signer's signature over `TBS_Sign`, as DER `SEQUENCE{r,s}` for EC algorithms.
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    /// The received `TBS_Sign` TLV (what the signer signed).
    pub fn tbs_bytes(&self) -> &[u8] {
        &self.der[self.tbs.clone()]
    }

    /// The signature timestamp token (`[0]`, v4/v5 only).
    pub fn timestamp(&self) -> Option<&[u8]> {
        self.timestamp.as_deref()
    }
}
