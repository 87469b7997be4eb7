//! `Type="Sign"` signatures: GB/T 35275 SM2 CMS `SignedData` over `Signature.xml`.
//!
//! The DER is walked by hand with a small TLV reader instead of the `cms` crate because
//! GB/T 35275 uses its own content-type OIDs (1.2.156.10197.6.1.4.2.x), writers omit the NULL
//! parameters and put SM2 OIDs where RFC 5652 has RSA/ECDSA ones, and the signature check needs
//! the authenticatedAttributes exactly as received (only the `[0]` tag is swapped for SET), which
//! a decode/re-encode round trip would not guarantee. Only definite lengths are accepted.
//!
//! What was signed (docs/standards.md §1.8): ofdrw signs SM3(Signature.xml), optionally base64-encoded;
//! real samples are detached with messageDigest = SM3(Signature.xml). All three readings of the
//! content are accepted, and the detail says which one matched.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use der::asn1::ObjectIdentifier as Oid;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

use super::Check;
use crate::crypto::{PublicKey, SignatureAlgorithm, sm3};

const SM2_SIGNED_DATA: Oid = Oid::new_unwrap("1.2.156.10197.6.1.4.2.2");
const PKCS7_SIGNED_DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.2");
const SM3: Oid = Oid::new_unwrap("1.2.156.10197.1.401");
const SM2_1: Oid = Oid::new_unwrap("1.2.156.10197.1.301.1");
const SM2_CURVE: Oid = Oid::new_unwrap("1.2.156.10197.1.301");
const SM2_SM3: Oid = Oid::new_unwrap("1.2.156.10197.1.501");
const MESSAGE_DIGEST: Oid = Oid::new_unwrap("1.2.840.113549.1.9.4");
const SIGNING_TIME: Oid = Oid::new_unwrap("1.2.840.113549.1.9.5");

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const INTEGER: u8 = 0x02;
const OCTET_STRING: u8 = 0x04;
const OID: u8 = 0x06;
const CTX0: u8 = 0xA0;
const CTX1: u8 = 0xA1;

/// The outcome of verifying a `Type="Sign"` SignedValue.
#[derive(Debug, Clone, Default)]
pub struct SignCms {
    /// DER of the signer certificate found in `certificates`.
    pub signer_cert: Option<Vec<u8>>,
    /// The signingTime authenticated attribute.
    pub signed_at: Option<OffsetDateTime>,
    /// `cms.parse`, `cms.content_type`, `cms.signer_certificate`, `cms.digest_algorithm`,
    /// `cms.content`, `cms.message_digest`, `cms.signature_algorithm`, `cms.signature`.
    pub checks: Vec<Check>,
}

impl SignCms {
    /// Whether there is at least one check and all of them passed.
    pub fn ok(&self) -> bool {
        !self.checks.is_empty() && self.checks.iter().all(|c| c.ok)
    }
}

#[derive(Clone, Copy)]
struct Tlv<'a> {
    tag: u8,
    content: &'a [u8],
    /// The whole element, header included.
    raw: &'a [u8],
}

/// A cursor over consecutive DER elements.
struct Der<'a>(&'a [u8]);

impl<'a> Der<'a> {
    fn next(&mut self) -> Result<Tlv<'a>, String> {
        let input = self.0;
        let (&tag, rest) = input.split_first().ok_or("unexpected end of data")?;
        if tag & 0x1F == 0x1F {
            return Err("multi-byte tags are not supported".into());
        }
        let (&first, rest) = rest.split_first().ok_or("truncated length")?;
        let (len, rest) = if first < 0x80 {
            (usize::from(first), rest)
        } else if first == 0x80 {
            return Err("indefinite length (BER) is not supported".into());
        } else {
            let n = usize::from(first & 0x7F);
            if n > 4 || rest.len() < n {
                return Err("bad length".into());
            }
            let len = rest[..n]
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
            (len, &rest[n..])
        };
        if rest.len() < len {
            return Err(format!("element of {len} bytes overruns its container"));
        }
        let header = input.len() - rest.len();
        self.0 = &rest[len..];
        Ok(Tlv {
            tag,
            content: &rest[..len],
            raw: &input[..header + len],
        })
    }

    fn expect(&mut self, tag: u8, what: &str) -> Result<Tlv<'a>, String> {
        let t = self.next().map_err(|e| format!("{what}: {e}"))?;
        if t.tag != tag {
            return Err(format!(
                "{what}: expected tag {tag:#04x}, found {:#04x}",
                t.tag
            ));
        }
        Ok(t)
    }

    fn next_if(&mut self, tag: u8) -> Result<Option<Tlv<'a>>, String> {
        if self.0.first() == Some(&tag) {
            self.next().map(Some)
        } else {
            Ok(None)
        }
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

fn oid_of(t: &Tlv<'_>) -> String {
    Oid::from_bytes(t.content).map_or_else(|_| "(malformed OID)".to_owned(), |o| o.to_string())
}

fn is_oid(t: &Tlv<'_>, oid: &Oid) -> bool {
    t.tag == OID && t.content == oid.as_bytes()
}

/// The first OID of an AlgorithmIdentifier SEQUENCE.
fn alg_oid<'a>(seq: &Tlv<'a>, what: &str) -> Result<Tlv<'a>, String> {
    Der(seq.content).expect(OID, what)
}

fn strip_zeros(b: &[u8]) -> &[u8] {
    let i = b.iter().position(|&x| x != 0).unwrap_or(b.len());
    &b[i..]
}

struct SignerInfo<'a> {
    issuer: Option<&'a [u8]>,
    serial: Option<&'a [u8]>,
    digest_alg: Tlv<'a>,
    auth_attrs: Option<Tlv<'a>>,
    sig_alg: Tlv<'a>,
    signature: &'a [u8],
}

struct Parsed<'a> {
    content_type: Tlv<'a>,
    e_content: Option<&'a [u8]>,
    certificates: Vec<&'a [u8]>,
    signer_infos: Vec<SignerInfo<'a>>,
}

fn parse(bytes: &[u8]) -> Result<Parsed<'_>, String> {
    let mut top = Der(bytes);
    let ci = top.expect(SEQUENCE, "ContentInfo")?;
    if !top.is_empty() {
        return Err("trailing bytes after ContentInfo".into());
    }
    let mut ci = Der(ci.content);
    let content_type = ci.expect(OID, "contentType")?;
    let wrapped = ci.expect(CTX0, "content [0]")?;
    let mut w = Der(wrapped.content);
    let sd = w.expect(SEQUENCE, "SignedData")?;
    let mut sd = Der(sd.content);
    sd.expect(INTEGER, "SignedData.version")?;
    sd.expect(SET, "digestAlgorithms")?;
    let eci = sd.expect(SEQUENCE, "contentInfo")?;
    let mut eci = Der(eci.content);
    eci.expect(OID, "contentInfo.contentType")?;
    let e_content = match eci.next_if(CTX0)? {
        Some(t) => Some(Der(t.content).expect(OCTET_STRING, "eContent")?.content),
        None => None,
    };
    let mut certificates = Vec::new();
    if let Some(certs) = sd.next_if(CTX0)? {
        let mut c = Der(certs.content);
        while !c.is_empty() {
            certificates.push(c.expect(SEQUENCE, "certificate")?.raw);
        }
    }
    sd.next_if(CTX1)?;
    let sis = sd.expect(SET, "signerInfos")?;
    let mut sis = Der(sis.content);
    let mut signer_infos = Vec::new();
    while !sis.is_empty() {
        signer_infos.push(parse_signer_info(sis.expect(SEQUENCE, "SignerInfo")?)?);
    }
    Ok(Parsed {
        content_type,
        e_content,
        certificates,
        signer_infos,
    })
}

fn parse_signer_info(si: Tlv<'_>) -> Result<SignerInfo<'_>, String> {
    let mut si = Der(si.content);
    si.expect(INTEGER, "SignerInfo.version")?;
    let sid = si.next().map_err(|e| format!("signer identifier: {e}"))?;
    let (issuer, serial) = if sid.tag == SEQUENCE {
        let mut ias = Der(sid.content);
        let issuer = ias.expect(SEQUENCE, "issuer")?.raw;
        let serial = ias.expect(INTEGER, "serialNumber")?.content;
        (Some(issuer), Some(serial))
    } else {
        // [0] subjectKeyIdentifier (CMS v3): matched by "the only certificate" below.
        (None, None)
    };
    let digest_alg = si.expect(SEQUENCE, "digestAlgorithm")?;
    let auth_attrs = si.next_if(CTX0)?;
    let sig_alg = si.expect(SEQUENCE, "digestEncryptionAlgorithm")?;
    let signature = si.expect(OCTET_STRING, "encryptedDigest")?.content;
    Ok(SignerInfo {
        issuer,
        serial,
        digest_alg,
        auth_attrs,
        sig_alg,
        signature,
    })
}

/// The parts of a certificate that identify it and its key (all borrowed from its DER).
struct CertFields<'a> {
    /// issuer Name, whole DER element.
    issuer: &'a [u8],
    /// serialNumber INTEGER content.
    serial: &'a [u8],
    /// SubjectPublicKeyInfo, whole DER element.
    spki: &'a [u8],
}

fn cert_fields(cert: &[u8]) -> Result<CertFields<'_>, String> {
    let c = Der(cert).expect(SEQUENCE, "Certificate")?;
    let tbs = Der(c.content).expect(SEQUENCE, "tbsCertificate")?;
    let mut tbs = Der(tbs.content);
    tbs.next_if(CTX0)?;
    let serial = tbs.expect(INTEGER, "serialNumber")?.content;
    tbs.expect(SEQUENCE, "signature")?;
    let issuer = tbs.expect(SEQUENCE, "issuer")?.raw;
    tbs.expect(SEQUENCE, "validity")?;
    tbs.expect(SEQUENCE, "subject")?;
    let spki = tbs.expect(SEQUENCE, "subjectPublicKeyInfo")?.raw;
    Ok(CertFields {
        issuer,
        serial,
        spki,
    })
}

/// A bare `SEQUENCE { INTEGER r, INTEGER s }`.
fn is_bare_signature(bytes: &[u8]) -> bool {
    let mut top = Der(bytes);
    let Ok(seq) = top.expect(SEQUENCE, "") else {
        return false;
    };
    let mut inner = Der(seq.content);
    top.is_empty()
        && inner.expect(INTEGER, "").is_ok()
        && inner.expect(INTEGER, "").is_ok()
        && inner.is_empty()
}

/// Raw 64-byte r‖s (seen in vendor code) as DER `SEQUENCE { r, s }`.
fn raw_to_der(sig: &[u8]) -> Vec<u8> {
    fn int(v: &[u8]) -> Vec<u8> {
        let v = strip_zeros(v);
        let mut out = vec![INTEGER];
        let pad = v.first().is_none_or(|&b| b & 0x80 != 0);
        out.push(u8::try_from(v.len() + usize::from(pad)).unwrap_or(0));
        if pad {
            out.push(0);
        }
        out.extend_from_slice(v);
        out
    }
    let mut body = int(&sig[..32]);
    body.extend(int(&sig[32..]));
    let mut out = vec![SEQUENCE, u8::try_from(body.len()).unwrap_or(0)];
    out.extend(body);
    out
}

fn parse_time(t: &Tlv<'_>) -> Option<OffsetDateTime> {
    let s = std::str::from_utf8(t.content).ok()?;
    let s = s.strip_suffix('Z')?;
    let (year, rest) = match t.tag {
        0x17 => {
            let yy: i32 = s.get(..2)?.parse().ok()?;
            (if yy < 50 { 2000 + yy } else { 1900 + yy }, s.get(2..)?)
        }
        0x18 => (s.get(..4)?.parse().ok()?, s.get(4..)?),
        _ => return None,
    };
    let rest = rest.split('.').next()?;
    if rest.len() != 10 || !rest.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = |i: usize| rest.get(i..i + 2).and_then(|x| x.parse::<u8>().ok());
    let date = Date::from_calendar_date(year, Month::try_from(n(0)?).ok()?, n(2)?).ok()?;
    let time = Time::from_hms(n(4)?, n(6)?, n(8)?).ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_utc())
}

/// Authenticated attributes of interest: messageDigest value and signingTime.
fn read_attrs<'a>(attrs: &Tlv<'a>) -> Result<(Option<&'a [u8]>, Option<OffsetDateTime>), String> {
    let mut a = Der(attrs.content);
    let (mut md, mut at) = (None, None);
    while !a.is_empty() {
        let attr = a.expect(SEQUENCE, "Attribute")?;
        let mut attr = Der(attr.content);
        let oid = attr.expect(OID, "Attribute.type")?;
        let values = attr.expect(SET, "Attribute.values")?;
        let first = Der(values.content).next()?;
        if is_oid(&oid, &MESSAGE_DIGEST) {
            if md.is_some() {
                return Err("two messageDigest attributes".into());
            }
            if first.tag != OCTET_STRING {
                return Err("messageDigest is not an OCTET STRING".into());
            }
            md = Some(first.content);
        } else if is_oid(&oid, &SIGNING_TIME) {
            at = parse_time(&first);
        }
    }
    Ok((md, at))
}

/// Verify a `Type="Sign"` SignedValue (GB/T 35275 SignedData) against the `Signature.xml` bytes.
pub fn verify_sign_cms(signed_value: &[u8], signature_xml: &[u8]) -> SignCms {
    let mut out = SignCms::default();
    if is_bare_signature(signed_value) {
        out.checks.push(Check::new(
            "cms.parse",
            false,
            "a bare SM2 signature SEQUENCE{r, s}, not a CMS SignedData",
        ));
        out.checks.push(Check::new(
            "cms.signer_certificate",
            false,
            "no signer certificate: cannot be verified",
        ));
        return out;
    }
    let p = match parse(signed_value) {
        Ok(p) => p,
        Err(e) => {
            out.checks.push(Check::new("cms.parse", false, e));
            return out;
        }
    };
    out.checks
        .push(Check::new("cms.parse", true, "ContentInfo with SignedData"));
    let ct_ok =
        is_oid(&p.content_type, &SM2_SIGNED_DATA) || is_oid(&p.content_type, &PKCS7_SIGNED_DATA);
    out.checks.push(Check::new(
        "cms.content_type",
        ct_ok,
        format!("contentType {}", oid_of(&p.content_type)),
    ));

    let si = match p.signer_infos.as_slice() {
        [si] => si,
        other => {
            let detail = format!("{} signerInfos; exactly one is supported", other.len());
            out.checks
                .push(Check::new("cms.signer_infos", false, detail));
            return out;
        }
    };

    // The signer certificate: matched by issuerAndSerialNumber, else the only one present.
    let mut spki = None;
    let mut cert_detail = String::new();
    for cert in &p.certificates {
        if let (Ok(f), Some(want_issuer), Some(want_serial)) =
            (cert_fields(cert), si.issuer, si.serial)
            && f.issuer == want_issuer
            && strip_zeros(f.serial) == strip_zeros(want_serial)
        {
            out.signer_cert = Some(cert.to_vec());
            spki = Some(f.spki);
            cert_detail = "matched by issuerAndSerialNumber".into();
            break;
        }
    }
    if spki.is_none() {
        if let [only] = p.certificates.as_slice() {
            match cert_fields(only) {
                Ok(f) => {
                    out.signer_cert = Some(only.to_vec());
                    spki = Some(f.spki);
                    cert_detail =
                        "the only certificate (signer identifier does not name it)".into();
                }
                Err(e) => cert_detail = format!("certificate unreadable: {e}"),
            }
        } else if p.certificates.is_empty() {
            cert_detail = "no signer certificate: cannot be verified".into();
        } else {
            cert_detail = format!(
                "none of {} certificates matches the signer identifier",
                p.certificates.len()
            );
        }
    }
    out.checks.push(Check::new(
        "cms.signer_certificate",
        spki.is_some(),
        cert_detail,
    ));

    let digest_oid = alg_oid(&si.digest_alg, "digestAlgorithm");
    let digest_ok = digest_oid.as_ref().is_ok_and(|o| is_oid(o, &SM3));
    let detail = digest_oid.map_or_else(|e| e, |o| format!("digestAlgorithm {}", oid_of(&o)));
    out.checks
        .push(Check::new("cms.digest_algorithm", digest_ok, detail));

    // The three accepted readings of "the content" (module doc).
    let xml_hash = sm3(signature_xml);
    let xml_hash_b64 = B64.encode(xml_hash);
    let candidates: [(&str, &[u8]); 3] = [
        ("Signature.xml", signature_xml),
        ("SM3(Signature.xml)", &xml_hash),
        ("base64(SM3(Signature.xml))", xml_hash_b64.as_bytes()),
    ];
    let contents: Vec<(&str, &[u8])> = match p.e_content {
        Some(ec) => match candidates.iter().find(|(_, c)| *c == ec) {
            Some(&(label, c)) => {
                out.checks.push(Check::new(
                    "cms.content",
                    true,
                    format!("eContent is {label}"),
                ));
                vec![(label, c)]
            }
            None => {
                let detail = "eContent is none of Signature.xml, SM3(Signature.xml) or its base64";
                out.checks.push(Check::new("cms.content", false, detail));
                vec![("eContent", ec)]
            }
        },
        None => candidates.to_vec(),
    };

    let signed_message: Option<Vec<u8>>;
    let mut content_for_sig: Vec<(&str, &[u8])> = Vec::new();
    match &si.auth_attrs {
        Some(attrs) => {
            match read_attrs(attrs) {
                Ok((md, at)) => {
                    out.signed_at = at;
                    let (ok, detail) = match md {
                        None => (false, "no messageDigest attribute".to_owned()),
                        Some(md) => match contents.iter().find(|(_, c)| sm3(c).as_slice() == md) {
                            Some((label, _)) => (true, format!("messageDigest = SM3({label})")),
                            None => (false, "messageDigest does not match the content".to_owned()),
                        },
                    };
                    out.checks
                        .push(Check::new("cms.message_digest", ok, detail));
                }
                Err(e) => out.checks.push(Check::new("cms.message_digest", false, e)),
            }
            // Signed bytes: the attributes as received, with [0] IMPLICIT turned back into SET.
            let mut m = attrs.raw.to_vec();
            m[0] = SET;
            signed_message = Some(m);
        }
        None => {
            out.checks.push(Check::new(
                "cms.message_digest",
                true,
                "no authenticated attributes: the signature covers the content itself",
            ));
            signed_message = None;
            content_for_sig = contents;
        }
    }

    let sig_oid = alg_oid(&si.sig_alg, "digestEncryptionAlgorithm");
    let sig_alg_ok = sig_oid
        .as_ref()
        .is_ok_and(|o| is_oid(o, &SM2_1) || is_oid(o, &SM2_SM3) || is_oid(o, &SM2_CURVE));
    let detail = sig_oid.map_or_else(
        |e| e,
        |o| format!("digestEncryptionAlgorithm {}", oid_of(&o)),
    );
    out.checks
        .push(Check::new("cms.signature_algorithm", sig_alg_ok, detail));

    let Some(spki) = spki else {
        out.checks
            .push(Check::new("cms.signature", false, "no signer public key"));
        return out;
    };
    let key = match PublicKey::from_spki_der(spki) {
        Ok(k) => k,
        Err(e) => {
            out.checks.push(Check::new(
                "cms.signature",
                false,
                format!("signer key unusable: {e}"),
            ));
            return out;
        }
    };
    let sig: Vec<u8> = if si.signature.len() == 64 && si.signature[0] != SEQUENCE {
        raw_to_der(si.signature)
    } else {
        si.signature.to_vec()
    };
    let verifies = |m: &[u8]| key.verify(SignatureAlgorithm::Sm2Sm3, m, &sig).is_ok();
    let (ok, detail) = match &signed_message {
        Some(m) if verifies(m) => (
            true,
            "SM2 signature over the authenticated attributes verifies".to_owned(),
        ),
        Some(_) => (
            false,
            "SM2 signature over the authenticated attributes does not verify".to_owned(),
        ),
        None => match content_for_sig.iter().find(|(_, c)| verifies(c)) {
            Some((label, _)) => (true, format!("SM2 signature over {label} verifies")),
            None => (
                false,
                "SM2 signature over the content does not verify".to_owned(),
            ),
        },
    };
    out.checks.push(Check::new("cms.signature", ok, detail));
    out
}
