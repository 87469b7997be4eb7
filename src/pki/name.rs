//! Distinguished names: building the ones sidian issues, and printing any name as RFC 4514.

use super::PkiError;
use crate::asn1;

/// The subject of a certificate sidian issues.
///
/// Encoded as one attribute per RDN in the order C, O, OU, serialNumber, CN; CN, O and OU as
/// UTF8String (Chinese names must survive), C and serialNumber as PrintableString as X.520
/// requires.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Name {
    /// commonName (2.5.4.3), e.g. 某某市市场监督管理局.
    pub common_name: String,
    /// organizationName (2.5.4.10).
    pub organization: Option<String>,
    /// organizationalUnitName (2.5.4.11).
    pub organizational_unit: Option<String>,
    /// serialNumber (2.5.4.5), e.g. a 统一社会信用代码; PrintableString characters only.
    pub serial_number: Option<String>,
    /// countryName (2.5.4.6): two letters, e.g. "CN".
    pub country: Option<String>,
}

impl Name {
    /// A name with only a commonName.
    pub fn cn(common_name: impl Into<String>) -> Name {
        Name {
            common_name: common_name.into(),
            ..Name::default()
        }
    }

    /// Who holds a seal certified under this name: the unit (organizationName), or for a
    /// personal seal, whose subject names no organization, the person (commonName).
    pub fn seal_holder(&self) -> Option<String> {
        self.organization
            .clone()
            .or_else(|| (!self.common_name.is_empty()).then(|| self.common_name.clone()))
    }

    /// DER `Name` (RDNSequence).
    pub fn to_der(&self) -> Result<Vec<u8>, PkiError> {
        let mut rdns: Vec<Vec<u8>> = Vec::new();
        let mut add = |oid: &str, tag: u8, value: &str| {
            let atv = asn1::seq(&[&asn1::oid(oid), &asn1::tlv(tag, value.as_bytes())]);
            rdns.push(asn1::tlv(asn1::SET, &atv));
        };
        if let Some(c) = &self.country {
            if c.len() != 2 || !c.bytes().all(|b| b.is_ascii_alphabetic()) {
                return Err(PkiError::InvalidName(format!(
                    "country must be two letters, got {c:?}"
                )));
            }
            add(OID_C, asn1::PRINTABLE_STRING, c);
        }
        for (label, value, oid) in [
            ("organization", &self.organization, OID_O),
            ("organizational unit", &self.organizational_unit, OID_OU),
        ] {
            if let Some(v) = value {
                check_utf8_value(label, v)?;
                add(oid, asn1::UTF8_STRING, v);
            }
        }
        if let Some(sn) = &self.serial_number {
            if sn.is_empty() || sn.len() > 64 || !sn.bytes().all(is_printable) {
                return Err(PkiError::InvalidName(format!(
                    "serialNumber must be 1–64 PrintableString characters, got {sn:?}"
                )));
            }
            add(OID_SERIAL, asn1::PRINTABLE_STRING, sn);
        }
        check_utf8_value("common name", &self.common_name)?;
        add(OID_CN, asn1::UTF8_STRING, &self.common_name);
        Ok(asn1::tlv(asn1::SEQUENCE, &rdns.concat()))
    }
}

fn check_utf8_value(label: &str, v: &str) -> Result<(), PkiError> {
    // ub-common-name etc. are 64 characters in X.520.
    if v.is_empty() || v.chars().count() > 64 || v.chars().any(char::is_control) {
        return Err(PkiError::InvalidName(format!(
            "{label} must be 1–64 characters without control characters"
        )));
    }
    Ok(())
}

fn is_printable(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b" '()+,-./:=?".contains(&b)
}

const OID_CN: &str = "2.5.4.3";
const OID_SERIAL: &str = "2.5.4.5";
const OID_C: &str = "2.5.4.6";
const OID_O: &str = "2.5.4.10";
const OID_OU: &str = "2.5.4.11";

fn short_name(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "2.5.4.3" => "CN",
        "2.5.4.4" => "SN",
        "2.5.4.5" => "serialNumber",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.9" => "STREET",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.12" => "title",
        "2.5.4.42" => "givenName",
        "2.5.4.97" => "organizationIdentifier",
        "0.9.2342.19200300.100.1.1" => "UID",
        "0.9.2342.19200300.100.1.25" => "DC",
        "1.2.840.113549.1.9.1" => "emailAddress",
        _ => return None,
    })
}

/// The attributes of a DER `Name`, RDN by RDN in encoded order: each as its type OID and its
/// value, the decoded string when it is a string type.
fn attributes(name_der: &[u8]) -> Result<Vec<Vec<Attribute<'_>>>, PkiError> {
    let bad = || PkiError::Malformed("distinguished name".into());
    let (outer, rest) = asn1::read(name_der)?;
    if outer.tag != asn1::SEQUENCE || !rest.is_empty() {
        return Err(bad());
    }
    let mut rdns = Vec::new();
    for rdn in asn1::children(outer.content)? {
        if rdn.tag != asn1::SET {
            return Err(bad());
        }
        let mut atvs = Vec::new();
        for atv in asn1::children(rdn.content)? {
            let parts = asn1::children(atv.content)?;
            let [ty, value] = parts.as_slice() else {
                return Err(bad());
            };
            if atv.tag != asn1::SEQUENCE || ty.tag != asn1::OID {
                return Err(bad());
            }
            atvs.push(Attribute {
                oid: asn1::oid_to_string(ty.content).ok_or_else(bad)?,
                text: decode_string(value.tag, value.content),
                raw: value.raw,
            });
        }
        rdns.push(atvs);
    }
    Ok(rdns)
}

/// One attribute of a name.
struct Attribute<'a> {
    oid: String,
    /// The value when it is a string type.
    text: Option<String>,
    /// The value's whole DER.
    raw: &'a [u8],
}

/// RFC 4514 string of a DER `Name`: RDNs last-to-first, joined by ",", multi-valued RDNs by
/// "+". String values are printed as UTF-8 (so Chinese stays readable) with RFC 4514
/// escaping, plus `\XX` for control characters so a name can never forge log lines; other
/// value types print as `#` and the hex of their DER.
pub(crate) fn rfc4514(name_der: &[u8]) -> Result<String, PkiError> {
    let mut rdns: Vec<String> = attributes(name_der)?
        .into_iter()
        .map(|atvs| {
            atvs.into_iter()
                .map(|a| {
                    let key = short_name(&a.oid).map_or(a.oid.clone(), str::to_owned);
                    let val = match &a.text {
                        Some(s) => escape(s),
                        None => format!("#{}", hex::encode(a.raw)),
                    };
                    format!("{key}={val}")
                })
                .collect::<Vec<_>>()
                .join("+")
        })
        .collect();
    rdns.reverse();
    Ok(rdns.join(","))
}

/// The attributes of a DER `Name` that [`Name`] holds, each the first string value of its
/// type (commonName empty when there is none): to show a name as a person reads it.
pub(crate) fn parse(name_der: &[u8]) -> Result<Name, PkiError> {
    let mut name = Name::default();
    for a in attributes(name_der)?.into_iter().flatten() {
        let Some(text) = a.text else { continue };
        let slot = match a.oid.as_str() {
            OID_CN if name.common_name.is_empty() => {
                name.common_name = text;
                continue;
            }
            OID_O => &mut name.organization,
            OID_OU => &mut name.organizational_unit,
            OID_SERIAL => &mut name.serial_number,
            OID_C => &mut name.country,
            _ => continue,
        };
        slot.get_or_insert(text);
    }
    Ok(name)
}

/// A name reduced for comparison when the DER differs (e.g. PrintableString vs UTF8String
/// encodings of the same name): the RFC 4514 string, case-folded, inner whitespace collapsed.
pub(crate) fn normalized(rfc4514: &str) -> String {
    rfc4514
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

fn decode_string(tag: u8, content: &[u8]) -> Option<String> {
    match tag {
        // UTF8String, NumericString, PrintableString, IA5String, VisibleString
        0x0C | 0x12 | 0x13 | 0x16 | 0x1A => std::str::from_utf8(content).ok().map(str::to_owned),
        // TeletexString: in practice UTF-8 or Latin-1
        0x14 => Some(
            std::str::from_utf8(content)
                .map(str::to_owned)
                .unwrap_or_else(|_| content.iter().map(|b| char::from(*b)).collect()),
        ),
        // BMPString: UTF-16BE
        0x1E if content.len().is_multiple_of(2) => {
            let units: Vec<u16> = content
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16(&units).ok()
        }
        // UniversalString: UTF-32BE
        0x1C if content.len().is_multiple_of(4) => content
            .chunks_exact(4)
            .map(|c| char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
            .collect(),
        _ => None,
    }
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let last = s.chars().count().saturating_sub(1);
    for (i, c) in s.chars().enumerate() {
        match c {
            '"' | '+' | ',' | ';' | '<' | '>' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '#' if i == 0 => out.push_str("\\#"),
            ' ' if i == 0 || i == last => out.push_str("\\ "),
            c if c.is_control() => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("\\{b:02X}"));
                }
            }
            c => out.push(c),
        }
    }
    out
}
