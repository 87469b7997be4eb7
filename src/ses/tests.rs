//! Fixture, tolerance, hostile-input and round-trip tests.

use std::io::Read;

use ::time::macros::datetime;

use super::der::{self, Reader, TAG_SEQUENCE};
use super::*;
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
    der::sequence(&refs)
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
    assert_eq!((seal.picture().width_mm, seal.picture().height_mm), (40, 40));
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
    // The "SES_SealInfo only" hypothesis must fail (STANDARDS §1.5).
    let key = spki_of_cert(seal.maker_cert()).expect("key");
    assert!(
        key.verify(SignatureAlgorithm::Sm2Sm3, &outer[0], seal.maker_signature())
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
        (sig.seal().picture().width_mm, sig.seal().picture().height_mm),
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
    assert!(sig.seal().signed_bytes().ends_with(&hex::decode("0101000403322e31").expect("hex")));
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
            assert!(Seal::from_der(&fixture[..len]).is_err(), "seal prefix {len}");
            assert!(Signature::from_der(&fixture[..len]).is_err(), "sig prefix {len}");
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
        v = der::tlv(TAG_SEQUENCE, &v);
    }
    assert!(Seal::from_der(&v).is_err());
    assert!(Signature::from_der(&v).is_err());
    // The depth limit itself.
    let mut v = vec![0x30, 0x00];
    for _ in 0..40 {
        v = der::tlv(TAG_SEQUENCE, &v);
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
    assert_eq!(depth_error, Some(SesError::TooDeep { at: "t" }));
}

#[test]
fn framing_errors() {
    let mut trailing = V4.to_vec();
    trailing.push(0);
    assert_eq!(
        Seal::from_der(&trailing).map(|_| ()),
        Err(SesError::TrailingData { at: "SESeal" })
    );
    assert!(matches!(
        Seal::from_der(&[0x30, 0x80, 0x00, 0x00]),
        Err(SesError::IndefiniteLength { .. })
    ));
    let huge = vec![0u8; der::MAX_INPUT + 1];
    assert!(matches!(
        Signature::from_der(&huge),
        Err(SesError::TooLarge { .. })
    ));
    assert!(matches!(
        Seal::from_der(&seq(&[der::integer(1)])),
        Err(SesError::UnexpectedTag { .. })
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
    let alg_id = seq(&[der::oid(alg_oid).expect("oid")]);
    let name = seq(&[der::tlv(
        0x31,
        &seq(&[
            der::oid("2.5.4.3").expect("oid"),
            der::tlv(0x0C, b"sidian ses test"),
        ]),
    )]);
    let validity = seq(&[
        der::tlv(0x17, b"250101000000Z"),
        der::tlv(0x17, b"350101000000Z"),
    ]);
    let tbs = seq(&[
        der::tlv(0xA0, &der::integer(2)),
        der::integer(1),
        alg_id.clone(),
        name.clone(),
        validity,
        name,
        key.public_key().spki_der().to_vec(),
    ]);
    let alg = signature_algorithm(alg_oid).expect("alg");
    let sig = key.sign(alg, &tbs).expect("sign");
    seq(&[tbs, alg_id, der::bit_string(&sig)])
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
    assert_eq!(seal.create_date(), datetime!(2025-01-01 19:04:05 UTC));
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
    assert_eq!(Seal::from_der(&seal).expect("decode").ext_datas(), p.ext_datas.as_slice());
}
