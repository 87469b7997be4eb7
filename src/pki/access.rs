//! Where relying parties fetch a certificate's revocation status and its issuer: the
//! cRLDistributionPoints (RFC 5280 §4.2.1.13) and authorityInfoAccess caIssuers (§4.2.2.1)
//! extensions, each holding one URI.

use super::PkiError;
use crate::asn1;

/// cRLDistributionPoints.
pub(crate) const OID_CRL_DP: &str = "2.5.29.31";
/// authorityInfoAccess.
pub(crate) const OID_AIA: &str = "1.3.6.1.5.5.7.1.1";
/// id-ad-caIssuers.
const OID_CA_ISSUERS: &str = "1.3.6.1.5.5.7.48.2";

/// GeneralName uniformResourceIdentifier: [6] IMPLICIT IA5String.
const URI_TAG: u8 = 0x86;
/// DistributionPoint distributionPoint [0] and DistributionPointName fullName [0], both
/// constructed (a CHOICE, and GeneralNames a SEQUENCE OF).
const DP_NAME_TAG: u8 = 0xA0;

/// Where a certificate's issuer publishes: the CRL that lists it and the issuer's certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicationPoints {
    /// The CRL (DER over HTTP) that would list the certificate.
    pub crl: String,
    /// The issuer's certificate (DER over HTTP, `application/pkix-cert`).
    pub ca_issuers: String,
}

impl PublicationPoints {
    /// The two extensions (non-critical, as RFC 5280 recommends), encoded.
    pub(crate) fn extensions(&self) -> Result<Vec<u8>, PkiError> {
        Ok([
            super::build::extension(
                OID_CRL_DP,
                false,
                &CrlDistributionPoint(self.crl.clone()).to_der()?,
            ),
            super::build::extension(
                OID_AIA,
                false,
                &CaIssuers(self.ca_issuers.clone()).to_der()?,
            ),
        ]
        .concat())
    }
}

/// An absolute `http(s)` URI that fits an IA5String (RFC 5280 §4.2.1.13 expects HTTP or LDAP).
fn uri(s: &str) -> Result<Vec<u8>, PkiError> {
    if !(s.starts_with("http://") || s.starts_with("https://"))
        || !s.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(PkiError::InvalidProfile(format!(
            "{s:?} is not an http(s) URI"
        )));
    }
    Ok(asn1::tlv(URI_TAG, s.as_bytes()))
}

/// The URI of a GeneralName, `None` for other name forms.
fn read_uri(t: &asn1::Tlv<'_>) -> Option<String> {
    (t.tag == URI_TAG)
        .then(|| std::str::from_utf8(t.content).ok().map(str::to_owned))
        .flatten()
}

fn malformed(what: &str) -> PkiError {
    PkiError::Malformed(what.into())
}

/// cRLDistributionPoints with one DistributionPoint whose fullName is one URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CrlDistributionPoint(pub(crate) String);

impl CrlDistributionPoint {
    /// `SEQUENCE { SEQUENCE { [0] { [0] { [6] uri } } } }`.
    pub(crate) fn to_der(&self) -> Result<Vec<u8>, PkiError> {
        let full_name = asn1::tlv(DP_NAME_TAG, &uri(&self.0)?);
        Ok(asn1::seq(&[&asn1::seq(&[&asn1::tlv(
            DP_NAME_TAG,
            &full_name,
        )])]))
    }

    /// The first URI of the first fullName of an extension value, if any.
    pub(crate) fn from_der(value: &[u8]) -> Result<Option<Self>, PkiError> {
        let (outer, rest) = asn1::read(value)?;
        if outer.tag != asn1::SEQUENCE || !rest.is_empty() {
            return Err(malformed("cRLDistributionPoints"));
        }
        for point in asn1::children(outer.content)? {
            let Some(name) = asn1::children(point.content)?
                .into_iter()
                .find(|t| t.tag == DP_NAME_TAG)
            else {
                continue;
            };
            let (full_name, _) = asn1::read(name.content)?;
            if full_name.tag != DP_NAME_TAG {
                continue;
            }
            if let Some(u) = asn1::children(full_name.content)?.iter().find_map(read_uri) {
                return Ok(Some(CrlDistributionPoint(u)));
            }
        }
        Ok(None)
    }
}

/// authorityInfoAccess with one caIssuers AccessDescription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CaIssuers(pub(crate) String);

impl CaIssuers {
    /// `SEQUENCE { SEQUENCE { id-ad-caIssuers, [6] uri } }`.
    pub(crate) fn to_der(&self) -> Result<Vec<u8>, PkiError> {
        Ok(asn1::seq(&[&asn1::seq(&[
            &asn1::oid(OID_CA_ISSUERS),
            &uri(&self.0)?,
        ])]))
    }

    /// The first caIssuers URI of an extension value, if any (OCSP entries are skipped).
    pub(crate) fn from_der(value: &[u8]) -> Result<Option<Self>, PkiError> {
        let (outer, rest) = asn1::read(value)?;
        if outer.tag != asn1::SEQUENCE || !rest.is_empty() {
            return Err(malformed("authorityInfoAccess"));
        }
        let wanted = asn1::oid(OID_CA_ISSUERS);
        for description in asn1::children(outer.content)? {
            if let [method, location] = asn1::children(description.content)?.as_slice()
                && method.raw == wanted.as_slice()
                && let Some(u) = read_uri(location)
            {
                return Ok(Some(CaIssuers(u)));
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CRL: &str = "http://127.0.0.1:8080/v1/pki/crl/p256-issuing";
    const CA: &str = "http://127.0.0.1:8080/v1/pki/ca/p256-issuing.cer";

    #[test]
    fn distribution_point_round_trips() {
        let dp = CrlDistributionPoint(CRL.into());
        let encoded = dp.to_der().expect("encode");
        // SEQUENCE OF { DistributionPoint { [0] { fullName [0] { [6] uri } } } }, 45-byte URI.
        assert_eq!(
            &encoded[..10],
            &[0x30, 0x35, 0x30, 0x33, 0xA0, 0x31, 0xA0, 0x2F, 0x86, 0x2D]
        );
        assert_eq!(
            CrlDistributionPoint::from_der(&encoded).expect("decode"),
            Some(dp)
        );
    }

    #[test]
    fn ca_issuers_round_trips() {
        let aia = CaIssuers(CA.into());
        let encoded = aia.to_der().expect("encode");
        assert_eq!(CaIssuers::from_der(&encoded).expect("decode"), Some(aia));
    }

    #[test]
    fn ocsp_access_is_not_ca_issuers() {
        // id-ad-ocsp (1.3.6.1.5.5.7.48.1) with a URI: no caIssuers in it.
        let ocsp = asn1::seq(&[&asn1::seq(&[
            &asn1::oid("1.3.6.1.5.5.7.48.1"),
            &asn1::tlv(URI_TAG, b"http://ocsp.example"),
        ])]);
        assert_eq!(CaIssuers::from_der(&ocsp).expect("decode"), None);
    }

    #[test]
    fn only_http_uris_are_written() {
        for bad in [
            "ftp://x/crl",
            "http://a b/crl",
            "/v1/pki/crl/x",
            "http://例/crl",
        ] {
            assert!(CrlDistributionPoint(bad.into()).to_der().is_err(), "{bad}");
            assert!(CaIssuers(bad.into()).to_der().is_err(), "{bad}");
        }
    }
}
