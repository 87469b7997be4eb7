//! Fixture, tolerance, hostile-input and round-trip tests.

use std::io::Read;

use ::time::macros::datetime;

use super::*;
use crate::asn1::{self, Asn1Error, Reader, SEQUENCE};
use crate::crypto::{KeyType, PrivateKey, SignatureAlgorithm, sm3};

const V1: &[u8] = include_bytes!("../../tests/data/ses/UserV1.esl");
const V4: &[u8] = include_bytes!("../../tests/data/ses/UserV4.esl");
const V5: &[u8] = include_bytes!("../../tests/data/ses/UserV5_ts.esl");
const SV4: &[u8] = include_bytes!("../../tests/data/ses/SignedValueV4.dat");
const SV5: &[u8] = include_bytes!("../../tests/data/ses/SignedValueV5.dat");
const OFD: &[u8] = include_bytes!("../../tests/data/ses/v4signed.ofd");

const SM2_SM3: &str = "1.2.156.10197.1.501";
const ECDSA_SHA256: &str = "1.2.840.10045.4.3.2";

fn ofd_entry(name: &str) -> Vec<u8> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(OFD)).expect("zip");
    let mut f = zip.by_name(name).expect("entry");
    let mut out = Vec::new();
    f.read_to_end(&mut out).expect("read");
    out
}

/// Elements of a SEQUENCE as raw TLVs.
fn elements(seq: &[u8]) -> Vec<Vec<u8>> {
    let tlv = Reader::single(seq, "t").expect("tlv");
    let mut r = tlv.reader("t").expect("reader");
    let mut out = Vec::new();
    while !r.is_empty() {
        out.push(r.any("t").expect("element").raw.to_vec());
    }
    out
}

fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
    let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    asn1::seq(&refs)
}

// ---------------------------------------------------------------- fixtures

#[test]
fn user_v1_seal() {
    let seal = Seal::from_der(V1).expect("v1 seal");
    assert_eq!(seal.version(), SesVersion::V1);
    assert_eq!(seal.header_version(), 1);
    assert_eq!(seal.vid(), "OFDR&WTest");
    assert_eq!(seal.es_id(), "40C8CDD24DEF43388B86E62CCE1D6832");
    assert_eq!(seal.seal_type(), 1);
    assert_eq!(seal.name(), "OFDRW测试用印章");
    assert_eq!(seal.create_date(), datetime!(2020-04-22 02:18:07 UTC));
    assert_eq!(seal.valid_end(), datetime!(2022-04-22 02:18:07 UTC));
    assert_eq!(seal.picture().kind, "PNG");
    assert_eq!(
        (seal.picture().width_mm, seal.picture().height_mm),
        (40, 40)
    );
    assert!(matches!(seal.cert_list(), CertList::Certs(c) if c.len() == 1));
    assert_eq!(seal.sign_alg(), SM2_SM3);
    assert_eq!(seal.der(), V1);
    assert!(seal.timestamp().is_none());
    // Signed = SEQUENCE{SES_SealInfo, cert, alg} of the received elements.
    let outer = elements(V1);
    let sign_info = elements(&outer[1]);
    assert_eq!(
        seal.signed_bytes(),
        seq(&[outer[0].clone(), sign_info[0].clone(), sign_info[1].clone()])
    );
    verify_maker_signature(&seal).expect("v1 maker signature");
    // The "SES_SealInfo only" hypothesis must fail (docs/standards.md §1.5).
    let key = spki_of_cert(seal.maker_cert()).expect("key");
    assert!(
        key.verify(
            SignatureAlgorithm::Sm2Sm3,
            &outer[0],
            seal.maker_signature()
        )
        .is_err()
    );
}

#[test]
fn user_v4_seal() {
    let seal = Seal::from_der(V4).expect("v4 seal");
    assert_eq!(seal.version(), SesVersion::V4);
    assert_eq!(seal.header_version(), 4);
    assert_eq!(seal.header_id(), "ES");
    assert_eq!(seal.seal_type(), 3);
    assert_eq!(seal.name(), "OFD R&W 测试用印章");
    assert_eq!(seal.cert_list_type(), 1);
    assert_eq!(seal.create_date(), datetime!(2020-04-22 02:09:00 UTC));
    assert_eq!(seal.valid_start(), datetime!(2020-04-22 02:09:00 UTC));
    assert_eq!(seal.valid_end(), datetime!(2022-04-22 02:09:00 UTC));
    assert_eq!(seal.signed_bytes(), elements(V4)[0]);
    assert_eq!(seal.maker_signature()[0], 0x30);
    verify_maker_signature(&seal).expect("v4 maker signature");
}

#[test]
fn user_v5_seal_with_timestamp() {
    let seal = Seal::from_der(V5).expect("v5 seal");
    assert_eq!(seal.version(), SesVersion::V5);
    assert_eq!(seal.header_version(), 5);
    // ofdrw's test writes a dummy 3-byte token.
    assert_eq!(seal.timestamp(), Some(&[1u8, 2, 3][..]));
    verify_maker_signature(&seal).expect("v5 maker signature");
}

#[test]
fn signed_value_v4() {
    let sig = Signature::from_der(SV4).expect("v4 signature");
    assert_eq!(sig.version(), SesVersion::V4);
    assert_eq!(sig.tbs_version(), 4);
    assert_eq!(sig.seal().version(), SesVersion::V4);
    assert_eq!(sig.tbs_bytes(), elements(SV4)[0]);
    assert_eq!(sig.property_info(), "/Doc_0/Signs/Sign_0/Signature.xml");
    assert_eq!(sig.data_hash().len(), 32);
    assert_eq!(
        sig.time_info(),
        &TimeInfo::Time(datetime!(2020-10-12 11:14:03 UTC))
    );
    assert!(sig.timestamp().is_none());
    verify_signer_signature(&sig).expect("signer signature");
    verify_maker_signature(sig.seal()).expect("maker signature");
    assert!(sig.seal().cert_list().contains(sig.signer_cert()));
}

#[test]
fn signed_value_v5() {
    let sig = Signature::from_der(SV5).expect("v5 signature");
    assert_eq!(sig.version(), SesVersion::V5);
    assert_eq!(sig.tbs_version(), 5);
    assert_eq!(sig.seal().version(), SesVersion::V5);
    // Not independently checked upstream; both verify here (reported to the lead).
    verify_signer_signature(&sig).expect("v5 signer signature");
    verify_maker_signature(sig.seal()).expect("v5 maker signature");
}

#[test]
fn real_ofd_signature() {
    let dat = ofd_entry("Doc_0/Signs/Sign_0/SignedValue.dat");
    let xml = ofd_entry("Doc_0/Signs/Sign_0/Signature.xml");
    let sig = Signature::from_der(&dat).expect("real signature");
    assert_eq!(sig.version(), SesVersion::V4);
    assert_eq!(sig.seal().vid(), "GOMAIN");
    assert_eq!(sig.seal().es_id(), "50011200000399");
    assert_eq!(sig.seal().picture().kind, "ofd");
    assert_eq!(
        (
            sig.seal().picture().width_mm,
            sig.seal().picture().height_mm
        ),
        (30, 20)
    );
    // The explicit `critical FALSE` that re-encoders drop.
    assert_eq!(
        sig.seal().ext_datas(),
        &[ExtData {
            oid: "1.2.156.10197.6.7.2.2.1".into(),
            critical: false,
            value: b"2.1".to_vec(),
        }]
    );
    assert!(
        sig.seal()
            .signed_bytes()
            .ends_with(&hex::decode("0101000403322e31").expect("hex"))
    );
    verify_signer_signature(&sig).expect("signer signature");
    verify_maker_signature(sig.seal()).expect("maker signature");
    match sig.seal().cert_list() {
        CertList::Certs(c) => assert_eq!(c[0], sig.signer_cert()),
        CertList::Digests(_) => panic!("expected certificates"),
    }
    assert!(sig.seal().cert_list().contains(sig.signer_cert()));
    assert_eq!(
        sig.time_info(),
        &TimeInfo::Time(datetime!(2020-10-10 07:11:20 UTC))
    );
    assert_eq!(sig.data_hash(), sm3(&xml));
    assert_eq!(
        hex::encode(sig.data_hash()),
        "14859b925039a50fe268d40e4a903da44d64cc56b1eebd0902d45a5a41a134b5"
    );
}

#[test]
fn flipped_bytes_break_the_signatures() {
    let dat = ofd_entry("Doc_0/Signs/Sign_0/SignedValue.dat");
    let sig = Signature::from_der(&dat).expect("real signature");

    // A byte in the middle of the seal picture (inside SES_SealInfo).
    let seal = sig.seal().der().to_vec();
    let pic = sig.seal().picture().data.clone();
    let at = find(&seal, &pic) + pic.len() / 2;
    let mut bad = seal.clone();
    bad[at] ^= 0x01;
    let bad_seal = Seal::from_der(&bad).expect("still parses");
    assert_eq!(
        verify_maker_signature(&bad_seal),
        Err(SesError::BadSignature { which: "maker" })
    );

    // A byte of dataHash (inside TBS_Sign, outside the seal).
    let at = find(&dat, sig.data_hash()) + 3;
    let mut bad = dat.clone();
    bad[at] ^= 0x80;
    let bad_sig = Signature::from_der(&bad).expect("still parses");
    assert_eq!(
        verify_signer_signature(&bad_sig),
        Err(SesError::BadSignature { which: "signer" })
    );
    verify_maker_signature(bad_sig.seal()).expect("seal untouched");
}

fn find(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len())
        .position(|w| w == needle)
        .expect("needle present")
}

// ---------------------------------------------------------------- hostile input

#[test]
fn every_truncation_is_an_error() {
    for fixture in [V1, V4, V5, SV4, SV5] {
        for len in 0..fixture.len() {
            assert!(
                Seal::from_der(&fixture[..len]).is_err(),
                "seal prefix {len}"
            );
            assert!(
                Signature::from_der(&fixture[..len]).is_err(),
                "sig prefix {len}"
            );
        }
    }
}

#[test]
fn mutations_never_panic() {
    for fixture in [V1, V4, SV4] {
        for pos in (0..fixture.len()).step_by(5) {
            for val in [0x00, 0x80, 0xFF, fixture[pos] ^ 0x20] {
                let mut m = fixture.to_vec();
                m[pos] = val;
                let _ = Seal::from_der(&m);
                let _ = Signature::from_der(&m);
            }
        }
    }
}

#[test]
fn deep_nesting_is_an_error() {
    let mut v = vec![0x30, 0x00];
    for _ in 0..10_000 {
        v = asn1::tlv(SEQUENCE, &v);
    }
    assert!(Seal::from_der(&v).is_err());
    assert!(Signature::from_der(&v).is_err());
    // The depth limit itself.
    let mut v = vec![0x30, 0x00];
    for _ in 0..40 {
        v = asn1::tlv(SEQUENCE, &v);
    }
    let mut tlv = Reader::single(&v, "t").expect("tlv");
    let mut depth_error = None;
    for _ in 0..40 {
        match tlv.reader("t").and_then(|mut r| r.any("t")) {
            Ok(inner) => tlv = inner,
            Err(e) => {
                depth_error = Some(e);
                break;
            }
        }
    }
    assert_eq!(depth_error, Some(Asn1Error::TooDeep { at: "t" }));
}

#[test]
fn framing_errors() {
    let mut trailing = V4.to_vec();
    trailing.push(0);
    assert_eq!(
        Seal::from_der(&trailing).map(|_| ()),
        Err(SesError::Asn1(Asn1Error::TrailingData { at: "SESeal" }))
    );
    assert!(matches!(
        Seal::from_der(&[0x30, 0x80, 0x00, 0x00]),
        Err(SesError::Asn1(Asn1Error::IndefiniteLength { .. }))
    ));
    let huge = vec![0u8; asn1::MAX_INPUT + 1];
    assert!(matches!(
        Signature::from_der(&huge),
        Err(SesError::Asn1(Asn1Error::TooLarge { .. }))
    ));
    assert!(matches!(
        Seal::from_der(&seq(&[asn1::integer(1)])),
        Err(SesError::Asn1(Asn1Error::UnexpectedTag { .. }))
    ));
    let three = seq(&[seq(&[]), seq(&[]), seq(&[])]);
    assert_eq!(
        Seal::from_der(&three).map(|_| ()),
        Err(SesError::UnknownStructure {
            at: "SESeal",
            count: 3
        })
    );
    assert!(Seal::from_der(SV4).is_err());
    assert!(Signature::from_der(V4).is_err());
}

// ---------------------------------------------------------------- constructed inputs

/// A throwaway self-signed certificate for `key` (x509-parser needs a real structure).
fn make_cert(key: &PrivateKey, alg_oid: &str) -> Vec<u8> {
    let alg_id = seq(&[asn1::oid(alg_oid)]);
    let name = seq(&[asn1::tlv(
        0x31,
        &seq(&[asn1::oid("2.5.4.3"), asn1::tlv(0x0C, b"sidian ses test")]),
    )]);
    let validity = seq(&[
        asn1::tlv(0x17, b"250101000000Z"),
        asn1::tlv(0x17, b"350101000000Z"),
    ]);
    let tbs = seq(&[
        asn1::tlv(0xA0, &asn1::integer(2)),
        asn1::integer(1),
        alg_id.clone(),
        name.clone(),
        validity,
        name,
        key.public_key().spki_der().to_vec(),
    ]);
    let alg = signature_algorithm(alg_oid).expect("alg");
    let sig = key.sign(alg, &tbs).expect("sign");
    seq(&[tbs, alg_id, asn1::bit_string(&sig)])
}

fn params(certs: Vec<Vec<u8>>) -> SealInfoParams {
    SealInfoParams {
        vid: "sidian".into(),
        es_id: "11010800000001".into(),
        seal_type: 1,
        name: "测试单位公章".into(),
        certs,
        create_date: datetime!(2025-01-02 03:04:05.678 +08:00),
        valid_start: datetime!(2025-01-01 00:00:00 UTC),
        valid_end: datetime!(2030-01-01 00:00:00 UTC),
        picture: Picture {
            kind: "PNG".into(),
            data: vec![0x89, b'P', b'N', b'G', 1, 2, 3],
            width_mm: 42,
            height_mm: 42,
        },
        ext_datas: vec![],
    }
}

struct Made {
    seal: Vec<u8>,
    sig: Vec<u8>,
    signer: PrivateKey,
    signer_cert: Vec<u8>,
}

fn make(key_type: KeyType, alg_oid: &str) -> Made {
    let alg = signature_algorithm(alg_oid).expect("alg");
    let maker = PrivateKey::generate(key_type).expect("maker key");
    let signer = PrivateKey::generate(key_type).expect("signer key");
    let maker_cert = make_cert(&maker, alg_oid);
    let signer_cert = make_cert(&signer, alg_oid);
    let info = encode_seal_info(&params(vec![signer_cert.clone()])).expect("seal info");
    let seal_sig = maker.sign(alg, &info).expect("sign seal");
    let seal = assemble_seal(&info, &maker_cert, alg_oid, &seal_sig).expect("seal");
    let tbs = encode_tbs_sign(
        &seal,
        datetime!(2025-06-01 12:00:00 UTC),
        &sm3(b"original"),
        "/Doc_0/Signs/Sign_0/Signature.xml",
    )
    .expect("tbs");
    let tbs_sig = signer.sign(alg, &tbs).expect("sign tbs");
    let sig = assemble_signature(&tbs, &signer_cert, alg_oid, &tbs_sig).expect("signature");
    Made {
        seal,
        sig,
        signer,
        signer_cert,
    }
}

fn asn1parse_accepts(bytes: &[u8]) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("x.der");
    std::fs::write(&path, bytes).expect("write");
    match std::process::Command::new("openssl")
        .args(["asn1parse", "-inform", "DER", "-in"])
        .arg(&path)
        .output()
    {
        Ok(out) => assert!(
            out.status.success(),
            "openssl asn1parse rejected: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(_) => println!("openssl not found; skipping asn1parse check"),
    }
}

fn round_trip(key_type: KeyType, alg_oid: &str) {
    let m = make(key_type, alg_oid);
    let seal = Seal::from_der(&m.seal).expect("decode seal");
    assert_eq!(seal.version(), SesVersion::V4);
    assert_eq!(seal.header_version(), 4);
    assert_eq!(seal.vid(), "sidian");
    assert_eq!(seal.name(), "测试单位公章");
    assert_eq!(seal.create_date(), datetime!(2025-01-01 19:04:05.678 UTC));
    assert_eq!(seal.picture(), &params(vec![]).picture);
    assert_eq!(seal.sign_alg(), alg_oid);
    verify_maker_signature(&seal).expect("maker verifies");
    let sig = Signature::from_der(&m.sig).expect("decode signature");
    assert_eq!(sig.tbs_version(), 4);
    assert_eq!(sig.seal().der(), m.seal.as_slice());
    assert_eq!(sig.signer_cert(), m.signer_cert.as_slice());
    assert!(sig.seal().cert_list().contains(sig.signer_cert()));
    assert_eq!(sig.data_hash(), sm3(b"original"));
    assert_eq!(
        sig.time_info(),
        &TimeInfo::Time(datetime!(2025-06-01 12:00:00 UTC))
    );
    verify_signer_signature(&sig).expect("signer verifies");
    assert_eq!(
        spki_of_cert(&m.signer_cert).expect("spki").spki_der(),
        m.signer.public_key().spki_der()
    );
    asn1parse_accepts(&m.seal);
    asn1parse_accepts(&m.sig);
}

#[test]
fn round_trip_sm2() {
    round_trip(KeyType::Sm2, SM2_SM3);
}

#[test]
fn round_trip_p256() {
    round_trip(KeyType::P256, ECDSA_SHA256);
}

#[test]
fn encoders_reject_bad_input() {
    let mut p = params(vec![]);
    p.vid = "非ASCII".into();
    assert!(matches!(encode_seal_info(&p), Err(SesError::Encode(_))));
    assert!(matches!(
        assemble_seal(&[0x04, 0x00], &[], SM2_SM3, &[]),
        Err(SesError::Encode(_))
    ));
    let info = encode_seal_info(&params(vec![])).expect("info");
    assert!(matches!(
        assemble_seal(&info, &[], "1.x", &[]),
        Err(SesError::Encode(_))
    ));
    assert!(matches!(
        encode_tbs_sign(V1, datetime!(2025-01-01 0:00 UTC), &[0; 32], "x"),
        Err(SesError::Encode(_))
    ));
}

#[test]
fn ext_data_critical_omitted_when_false() {
    let mut p = params(vec![]);
    p.ext_datas = vec![
        ExtData {
            oid: "1.2.3".into(),
            critical: false,
            value: b"a".to_vec(),
        },
        ExtData {
            oid: "1.2.4".into(),
            critical: true,
            value: b"b".to_vec(),
        },
    ];
    let info = encode_seal_info(&p).expect("info");
    let expected = hex::decode("3015300706022a03040161300a06022a040101ff040162").expect("hex");
    assert!(info.ends_with(&expected));
    let seal = assemble_seal(&info, b"not a cert", SM2_SM3, &[0x30, 0x00]).expect("seal");
    assert_eq!(
        Seal::from_der(&seal).expect("decode").ext_datas(),
        p.ext_datas.as_slice()
    );
}

// ---------------------------------------------------------------- tolerance cases

/// Knobs for a hand-built `SES_SealInfo`.
struct Info {
    v1: bool,
    header_version: i64,
    cert_list_type: i64,
    cert_list: Vec<u8>,
    valid_end: Option<Vec<u8>>,
    ext: Option<Vec<u8>>,
}

impl Info {
    fn v4() -> Info {
        Info {
            v1: false,
            header_version: 4,
            cert_list_type: 1,
            cert_list: seq(&[asn1::tlv(0x04, b"cert")]),
            valid_end: None,
            ext: None,
        }
    }

    fn bytes(&self) -> Vec<u8> {
        let t = |s: &str| {
            if self.v1 {
                asn1::tlv(0x17, &s.as_bytes()[2..])
            } else {
                asn1::tlv(0x18, s.as_bytes())
            }
        };
        let header = seq(&[
            asn1::tlv(0x16, b"ES"),
            asn1::integer(self.header_version),
            asn1::tlv(0x16, b"vid"),
        ]);
        let mut prop = vec![asn1::integer(1), asn1::tlv(0x0C, "名".as_bytes())];
        if !self.v1 {
            prop.push(asn1::integer(self.cert_list_type));
        }
        prop.push(self.cert_list.clone());
        prop.push(t("20250101000000Z"));
        prop.push(t("20250101000000Z"));
        prop.push(
            self.valid_end
                .clone()
                .unwrap_or_else(|| t("20300101000000Z")),
        );
        let pic = seq(&[
            asn1::tlv(0x16, b"PNG"),
            asn1::tlv(0x04, b"img"),
            asn1::integer(10),
            asn1::integer(10),
        ]);
        let mut parts = vec![header, asn1::tlv(0x16, b"id"), seq(&prop), pic];
        parts.extend(self.ext.clone());
        seq(&parts)
    }
}

struct Keyed {
    key: PrivateKey,
    cert: Vec<u8>,
}

fn sm2() -> Keyed {
    let key = PrivateKey::generate(KeyType::Sm2).expect("key");
    let cert = make_cert(&key, SM2_SM3);
    Keyed { key, cert }
}

impl Keyed {
    fn sign(&self, msg: &[u8]) -> Vec<u8> {
        self.key
            .sign(SignatureAlgorithm::Sm2Sm3, msg)
            .expect("sign")
    }

    /// A v4-layout seal over `info`, with an optional extra 5th element.
    fn seal(&self, info: &[u8], extra: Option<Vec<u8>>) -> Vec<u8> {
        let mut parts = vec![
            info.to_vec(),
            asn1::tlv(0x04, &self.cert),
            asn1::oid(SM2_SM3),
            asn1::bit_string(&self.sign(info)),
        ];
        parts.extend(extra);
        seq(&parts)
    }

    /// A v4-layout signature over a `TBS_Sign` built from `seal`.
    fn signature(
        &self,
        tbs_version: i64,
        seal: &[u8],
        tbs_ext: Option<Vec<u8>>,
        extra: Option<Vec<u8>>,
    ) -> Vec<u8> {
        let mut tbs = vec![
            asn1::integer(tbs_version),
            seal.to_vec(),
            asn1::tlv(0x18, b"20250601120000Z"),
            asn1::bit_string(&[7; 32]),
            asn1::tlv(0x16, b"/Doc_0/Signs/Sign_0/Signature.xml"),
        ];
        tbs.extend(tbs_ext);
        let tbs = seq(&tbs);
        let mut parts = vec![
            tbs.clone(),
            asn1::tlv(0x04, &self.cert),
            asn1::oid(SM2_SM3),
            asn1::bit_string(&self.sign(&tbs)),
        ];
        parts.extend(extra);
        seq(&parts)
    }
}

fn der_to_raw(sig: &[u8]) -> Vec<u8> {
    let tlv = Reader::single(sig, "t").expect("sig");
    let mut r = tlv.reader("t").expect("reader");
    let mut raw = Vec::new();
    for _ in 0..2 {
        let int = r.any("t").expect("int").content;
        let skip = int.iter().take_while(|&&b| b == 0).count();
        let mag = &int[skip..];
        raw.extend(std::iter::repeat_n(0u8, 32 - mag.len()));
        raw.extend_from_slice(mag);
    }
    raw
}

#[test]
fn raw_r_s_signatures_are_normalised() {
    let k = sm2();
    let info = Info::v4().bytes();
    let der_sig = k.sign(&info);
    let raw = der_to_raw(&der_sig);
    assert_eq!(raw.len(), 64);
    let seal = seq(&[
        info.clone(),
        asn1::tlv(0x04, &k.cert),
        asn1::oid(SM2_SM3),
        asn1::bit_string(&raw),
    ]);
    let decoded = Seal::from_der(&seal).expect("raw seal");
    assert_eq!(decoded.maker_signature(), der_sig.as_slice());
    verify_maker_signature(&decoded).expect("raw maker signature verifies");

    let good = Seal::from_der(&k.seal(&info, None)).expect("seal");
    let tbs = seq(&[
        asn1::integer(4),
        good.der().to_vec(),
        asn1::tlv(0x18, b"20250601120000Z"),
        asn1::bit_string(&[1; 32]),
        asn1::tlv(0x16, b"p"),
    ]);
    let raw = der_to_raw(&k.sign(&tbs));
    let sig = seq(&[
        tbs,
        asn1::tlv(0x04, &k.cert),
        asn1::oid(SM2_SM3),
        asn1::bit_string(&raw),
    ]);
    let decoded = Signature::from_der(&sig).expect("raw signature");
    assert_eq!(decoded.signature()[0], 0x30);
    verify_signer_signature(&decoded).expect("raw signer signature verifies");
    // Encoders always emit DER even when handed r‖s.
    let assembled =
        assemble_seal(&info, &k.cert, SM2_SM3, &der_to_raw(&der_sig)).expect("assemble");
    assert!(find(&assembled, &der_sig) > 0);
}

#[test]
fn versions_detected_by_structure() {
    let k = sm2();
    for (hv, expected) in [
        (2, SesVersion::V4),
        (3, SesVersion::V4),
        (4, SesVersion::V4),
        (11, SesVersion::V4),
        (5, SesVersion::V5),
    ] {
        let info = Info {
            header_version: hv,
            ..Info::v4()
        };
        let seal = k.seal(&info.bytes(), None);
        let s = Seal::from_der(&seal).expect("seal");
        assert_eq!((s.version(), s.header_version()), (expected, hv));
        verify_maker_signature(&s).expect("verifies");
        let sig = Signature::from_der(&k.signature(3, &seal, None, None)).expect("signature");
        assert_eq!((sig.version(), sig.tbs_version()), (expected, 3));
        verify_signer_signature(&sig).expect("verifies");
    }
    // A v1 layout stays v1 whatever its header says.
    let v1 = Info {
        v1: true,
        header_version: 4,
        ..Info::v4()
    }
    .bytes();
    let sign_info = seq(&[
        asn1::tlv(0x04, &k.cert),
        asn1::oid(SM2_SM3),
        asn1::bit_string(&[0x30, 0x00]),
    ]);
    let s = Seal::from_der(&seq(&[v1, sign_info])).expect("v1");
    assert_eq!((s.version(), s.header_version()), (SesVersion::V1, 4));
}

#[test]
fn timestamp_tag_variants() {
    let k = sm2();
    let seal = k.seal(&Info::v4().bytes(), None);
    let bits = asn1::bit_string(&[0xAA, 0xBB]);
    let variants = [
        asn1::tlv(0xA0, &bits),
        asn1::tlv(0x80, &[0x00, 0xAA, 0xBB]),
        asn1::tlv(0x83, &[0x00, 0xAA, 0xBB]),
    ];
    for ts in variants {
        let sig = Signature::from_der(&k.signature(4, &seal, None, Some(ts.clone()))).expect("sig");
        assert_eq!(sig.timestamp(), Some(&[0xAA, 0xBB][..]));
        verify_signer_signature(&sig).expect("verifies");
        let v5 = Info {
            header_version: 5,
            ..Info::v4()
        };
        let s = Seal::from_der(&k.seal(&v5.bytes(), Some(ts))).expect("seal");
        assert_eq!(s.timestamp(), Some(&[0xAA, 0xBB][..]));
        verify_maker_signature(&s).expect("verifies");
    }
    let odd = asn1::tlv(0xA0, &asn1::tlv(0x03, &[0x01, 0xAA]));
    assert_eq!(
        Signature::from_der(&k.signature(4, &seal, None, Some(odd))).map(|_| ()),
        Err(SesError::Asn1(Asn1Error::UnusedBits {
            at: "SES_Signature.timeStamp",
            unused: 1
        }))
    );
    let wrong = asn1::tlv(0xA1, &bits);
    assert!(matches!(
        Signature::from_der(&k.signature(4, &seal, None, Some(wrong))),
        Err(SesError::Asn1(Asn1Error::UnexpectedTag { .. }))
    ));
}

#[test]
fn ext_datas_variants() {
    let k = sm2();
    let e_plain = seq(&[asn1::oid("1.2.3"), asn1::tlv(0x04, b"a")]);
    let e_false = seq(&[
        asn1::oid("1.2.4"),
        asn1::tlv(0x01, &[0x00]),
        asn1::tlv(0x04, b"b"),
    ]);
    let e_true = seq(&[
        asn1::oid("1.2.5"),
        asn1::tlv(0x01, &[0xFF]),
        asn1::tlv(0x04, b"c"),
    ]);
    let items = [e_plain.clone(), e_false.clone(), e_true.clone()].concat();
    let list = asn1::tlv(SEQUENCE, &items);
    let expected = vec![
        ExtData {
            oid: "1.2.3".into(),
            critical: false,
            value: b"a".to_vec(),
        },
        ExtData {
            oid: "1.2.4".into(),
            critical: false,
            value: b"b".to_vec(),
        },
        ExtData {
            oid: "1.2.5".into(),
            critical: true,
            value: b"c".to_vec(),
        },
    ];
    let variants = [
        list.clone(),            // untagged (REAL)
        asn1::tlv(0xA0, &list),  // explicit [0]
        asn1::tlv(0xA0, &items), // implicit [0], constructed
        asn1::tlv(0x80, &items), // implicit [0], primitive
        asn1::tlv(0x04, &list),  // OCTET STRING wrapper
    ];
    for ext in variants {
        let info = Info {
            ext: Some(ext.clone()),
            ..Info::v4()
        }
        .bytes();
        let seal = k.seal(&info, None);
        let s = Seal::from_der(&seal).expect("seal");
        assert_eq!(
            s.ext_datas(),
            expected.as_slice(),
            "{}",
            hex::encode(&ext[..2])
        );
        assert_eq!(s.signed_bytes(), info.as_slice());
        verify_maker_signature(&s).expect("verifies over received bytes");
        let sig = Signature::from_der(&k.signature(4, &seal, Some(ext), None)).expect("sig");
        assert_eq!(sig.ext_datas(), expected.as_slice());
        verify_signer_signature(&sig).expect("verifies");
    }
    // Explicit [0] around an empty list.
    let info = Info {
        ext: Some(asn1::tlv(0xA0, &seq(&[]))),
        ..Info::v4()
    };
    let s = Seal::from_der(&k.seal(&info.bytes(), None)).expect("seal");
    assert!(s.ext_datas().is_empty());
}

#[test]
fn unused_bits_rejected_for_signatures_and_hashes() {
    let k = sm2();
    let info = Info::v4().bytes();
    let mut sig_bits = vec![0x01];
    sig_bits.extend(k.sign(&info));
    let seal = seq(&[
        info.clone(),
        asn1::tlv(0x04, &k.cert),
        asn1::oid(SM2_SM3),
        asn1::tlv(0x03, &sig_bits),
    ]);
    assert_eq!(
        Seal::from_der(&seal).map(|_| ()),
        Err(SesError::Asn1(Asn1Error::UnusedBits {
            at: "SESeal.signedValue",
            unused: 1
        }))
    );
    let good = k.seal(&info, None);
    let tbs = seq(&[
        asn1::integer(4),
        good,
        asn1::tlv(0x18, b"20250601120000Z"),
        asn1::tlv(0x03, &[0x04, 1, 2, 3]),
        asn1::tlv(0x16, b"p"),
    ]);
    let sig = seq(&[
        tbs,
        asn1::tlv(0x04, &k.cert),
        asn1::oid(SM2_SM3),
        asn1::bit_string(&[0x30, 0x00]),
    ]);
    assert_eq!(
        Signature::from_der(&sig).map(|_| ()),
        Err(SesError::Asn1(Asn1Error::UnusedBits {
            at: "TBS_Sign.dataHash",
            unused: 4
        }))
    );
}

#[test]
fn cert_digest_list() {
    let k = sm2();
    let other = make_cert(&PrivateKey::generate(KeyType::Sm2).expect("key"), SM2_SM3);
    let digests = seq(&[
        seq(&[asn1::tlv(0x13, b"SM3"), asn1::tlv(0x04, &sm3(&k.cert))]),
        seq(&[
            asn1::tlv(0x13, b"SHA256"),
            asn1::tlv(0x04, &crate::crypto::sha256(&other)),
        ]),
    ]);
    let info = Info {
        cert_list_type: 2,
        cert_list: digests,
        ..Info::v4()
    };
    let s = Seal::from_der(&k.seal(&info.bytes(), None)).expect("seal");
    assert_eq!(s.cert_list_type(), 2);
    let CertList::Digests(d) = s.cert_list() else {
        panic!("expected digests")
    };
    assert_eq!(d[0].kind, "SM3");
    assert!(s.cert_list().contains(&k.cert));
    assert!(s.cert_list().contains(&other));
    assert!(!s.cert_list().contains(b"something else"));

    let bad = Info {
        cert_list_type: 3,
        ..Info::v4()
    };
    assert_eq!(
        Seal::from_der(&k.seal(&bad.bytes(), None)).map(|_| ()),
        Err(SesError::CertListType(3))
    );
}

#[test]
fn errors_name_the_field() {
    let k = sm2();
    let info = Info {
        valid_end: Some(asn1::tlv(0x17, b"300101000000Z")),
        ..Info::v4()
    };
    let err = Seal::from_der(&k.seal(&info.bytes(), None))
        .map(|_| ())
        .expect_err("UTCTime in a v4 seal");
    assert_eq!(
        err.to_string(),
        "SES_SealInfo.property.validEnd: expected GeneralizedTime, found tag 0x17"
    );
    let info = Info {
        valid_end: Some(asn1::tlv(0x18, b"20301301000000Z")),
        ..Info::v4()
    };
    let err = Seal::from_der(&k.seal(&info.bytes(), None))
        .map(|_| ())
        .expect_err("month 13");
    assert!(
        err.to_string()
            .starts_with("SES_SealInfo.property.validEnd: invalid GeneralizedTime")
    );
    // Errors inside the embedded seal say so.
    let mut bad_seal = k.seal(&Info::v4().bytes(), None);
    let pos = find(&bad_seal, b"\x16\x02ES");
    bad_seal[pos] = 0x02;
    let err = Signature::from_der(&k.signature(4, &bad_seal, None, None))
        .map(|_| ())
        .expect_err("bad header");
    assert!(
        err.to_string()
            .starts_with("TBS_Sign.eseal: SES_SealInfo.header.ID"),
        "{err}"
    );
}

#[test]
fn v1_signature_and_time_info() {
    let k = sm2();
    let build = |time_bits: Vec<u8>, seal: &[u8]| {
        let tbs = seq(&[
            asn1::integer(1),
            seal.to_vec(),
            asn1::tlv(0x03, &[vec![0], time_bits].concat()),
            asn1::bit_string(&[9; 32]),
            asn1::tlv(0x16, b"doc"),
            asn1::tlv(0x04, &k.cert),
            asn1::oid(SM2_SM3),
        ]);
        let sig = k.sign(&tbs);
        seq(&[tbs, asn1::bit_string(&sig)])
    };
    let when = datetime!(2020-04-22 02:18:07 UTC);
    for (bits, expected) in [
        (b"2020-04-22 10:18:07".to_vec(), TimeInfo::Time(when)),
        (b"200422021807Z".to_vec(), TimeInfo::Time(when)),
        (b"20200422021807Z".to_vec(), TimeInfo::Time(when)),
        (asn1::tlv(0x17, b"200422021807Z"), TimeInfo::Time(when)),
        (vec![1, 2, 3], TimeInfo::Opaque(vec![1, 2, 3])),
    ] {
        let sig = Signature::from_der(&build(bits, V1)).expect("v1 signature");
        assert_eq!(sig.version(), SesVersion::V1);
        assert_eq!(sig.time_info(), &expected);
        assert_eq!(sig.signer_cert(), k.cert.as_slice());
        assert_eq!(sig.property_info(), "doc");
        verify_signer_signature(&sig).expect("v1 signer signature");
        verify_maker_signature(sig.seal()).expect("v1 maker signature");
    }
    assert!(matches!(
        Signature::from_der(&build(vec![], V4)),
        Err(SesError::VersionMismatch { .. })
    ));
}

#[test]
fn algorithm_mapping() {
    assert_eq!(
        signature_algorithm(SM2_SM3),
        Some(SignatureAlgorithm::Sm2Sm3)
    );
    assert_eq!(
        signature_algorithm(ECDSA_SHA256),
        Some(SignatureAlgorithm::EcdsaP256Sha256)
    );
    assert_eq!(
        signature_algorithm("1.2.840.113549.1.1.11"),
        Some(SignatureAlgorithm::RsaPkcs1Sha256)
    );
    assert_eq!(signature_algorithm("1.2.156.10197.501"), None);
    // Algorithm/key mismatch and unknown OIDs are reported, not panics.
    let k = sm2();
    let info = Info::v4().bytes();
    let seal = seq(&[
        info.clone(),
        asn1::tlv(0x04, &k.cert),
        asn1::oid(ECDSA_SHA256),
        asn1::bit_string(&k.sign(&info)),
    ]);
    assert!(matches!(
        verify_maker_signature(&Seal::from_der(&seal).expect("seal")),
        Err(SesError::KeyAlgorithmMismatch { which: "maker", .. })
    ));
    let seal = seq(&[
        info,
        asn1::tlv(0x04, b"junk"),
        asn1::oid("1.2.3.4"),
        asn1::bit_string(&[0x30, 0x00]),
    ]);
    assert_eq!(
        verify_maker_signature(&Seal::from_der(&seal).expect("seal")),
        Err(SesError::UnsupportedAlgorithm("1.2.3.4".into()))
    );
    assert!(matches!(
        spki_of_cert(b"junk"),
        Err(SesError::Certificate { .. })
    ));
}
