#![allow(clippy::unwrap_used)]

use time::OffsetDateTime;

use crate::cms::tests::{Fixture, failing_names, fixture};
use crate::testutil::{openssl, openssl_available};

use super::*;
use crate::asn1;
use crate::crypto::KeyType;
use crate::pki::{Certificate, Profile};

const POLICY: &str = "1.2.3.4.1";

impl Fixture {
    /// The fixture's CMS signer (leaf, key, root as chain) as a TSA with [`POLICY`].
    fn tsa(&self) -> Tsa<'_> {
        let s = self.signer();
        Tsa {
            cert: s.cert,
            key: s.key,
            chain: s.chain,
            policy: POLICY,
        }
    }
}

/// Status and failure bits of a TimeStampResp, and the token if any.
fn decode_response(resp: &[u8]) -> (u8, Vec<u8>, Option<Vec<u8>>) {
    let (outer, rest) = asn1::read(resp).unwrap();
    assert!(rest.is_empty());
    let parts = asn1::children(outer.content).unwrap();
    let status_info = asn1::children(parts[0].content).unwrap();
    let status = status_info[0].content[0];
    let bits = status_info
        .iter()
        .find(|t| t.tag == asn1::BIT_STRING)
        .map(|t| {
            let mut set = Vec::new();
            for (i, byte) in t.content[1..].iter().enumerate() {
                for b in 0..8 {
                    if byte & (0x80 >> b) != 0 {
                        set.push(u8::try_from(i * 8 + b).unwrap());
                    }
                }
            }
            set
        })
        .unwrap_or_default();
    (status, bits, parts.get(1).map(|t| t.raw.to_vec()))
}

fn serial() -> [u8; 8] {
    [0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF]
}

#[test]
fn openssl_requests_are_granted_and_verify() {
    if !openssl_available() {
        return;
    }
    let f = fixture(KeyType::P256, Profile::TimeStamping);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("root.pem"), f.root.to_pem()).unwrap();
    std::fs::write(d.join("tsa.pem"), f.cert.to_pem()).unwrap();
    std::fs::write(d.join("file.txt"), b"sidian time-stamp test data\n").unwrap();
    let cases: [&[&str]; 4] = [
        &["-sha256", "-cert"],
        &["-sha256", "-cert", "-no_nonce"],
        &["-sha512", "-cert"],
        &["-sha256"],
    ];
    for (i, extra) in cases.iter().enumerate() {
        let tsq = format!("req{i}.tsq");
        let tsr = format!("resp{i}.tsr");
        let mut args = vec!["ts", "-query", "-data", "file.txt", "-out", &tsq];
        args.extend_from_slice(extra);
        let (ok, text) = openssl(d, &args);
        assert!(ok, "{text}");
        let req_der = std::fs::read(d.join(&tsq)).unwrap();
        let resp = f
            .tsa()
            .respond(&req_der, &serial(), OffsetDateTime::now_utc());
        std::fs::write(d.join(&tsr), &resp).unwrap();

        let (ok, text) = openssl(d, &["ts", "-reply", "-in", &tsr, "-text"]);
        assert!(ok && text.contains("Status: Granted"), "{extra:?}: {text}");
        let (ok, text) = openssl(
            d,
            &[
                "ts",
                "-verify",
                "-data",
                "file.txt",
                "-in",
                &tsr,
                "-CAfile",
                "root.pem",
                "-untrusted",
                "tsa.pem",
            ],
        );
        assert!(ok && text.contains("Verification: OK"), "{extra:?}: {text}");

        let req = TimeStampReq::from_der(&req_der).unwrap();
        for n in 0..req_der.len() {
            let resp = f
                .tsa()
                .respond(&req_der[..n], &serial(), OffsetDateTime::now_utc());
            assert_eq!(decode_response(&resp).0, 2, "truncated to {n}");
        }
        let (status, _, token) = decode_response(&resp);
        assert_eq!(status, 0);
        let token = token.unwrap();
        let extra_certs: &[Certificate] = if req.cert_req {
            &[]
        } else {
            std::slice::from_ref(&f.cert)
        };
        let check = verify_token(
            &token,
            Some((req.hash_alg, &req.hashed_message)),
            extra_certs,
        );
        assert!(check.ok(), "{extra:?}: {:#?}", check.checks);
        let info = check.tst_info.unwrap();
        assert_eq!(info.nonce, req.nonce);
        assert_eq!(info.serial, serial());
        assert_eq!(info.policy, POLICY);
    }
}

fn request(hash_alg: HashAlg, data: &[u8]) -> TimeStampReq {
    TimeStampReq {
        hash_alg,
        hashed_message: hash_alg.digest(data),
        policy: None,
        nonce: Some(vec![0x01, 0x02, 0x03]),
        cert_req: true,
    }
}

fn flip(bytes: &[u8], at: usize) -> Vec<u8> {
    let mut v = bytes.to_vec();
    v[at] ^= 0x01;
    v
}

fn failing(check: &TokenCheck) -> Vec<&str> {
    failing_names(&check.checks)
}

#[test]
fn verify_token_reports_tampering_by_name() {
    let f = fixture(KeyType::P256, Profile::TimeStamping);
    let req = request(HashAlg::Sha256, b"document");
    let token = f
        .tsa()
        .token(&req, &serial(), OffsetDateTime::now_utc())
        .unwrap();
    let good = verify_token(&token, Some((HashAlg::Sha256, &req.hashed_message)), &[]);
    assert!(good.ok(), "{:#?}", good.checks);
    assert_eq!(good.signer.as_ref(), Some(&f.cert));

    let other = HashAlg::Sha256.digest(b"another document");
    let wrong = verify_token(&token, Some((HashAlg::Sha256, &other)), &[]);
    assert_eq!(failing(&wrong), ["tsa.imprint"]);
    let wrong_alg = verify_token(&token, Some((HashAlg::Sm3, &req.hashed_message)), &[]);
    assert_eq!(failing(&wrong_alg), ["tsa.imprint"]);

    // A byte of the imprint inside the TSTInfo: the TSTInfo no longer hashes to messageDigest.
    let at = token
        .windows(32)
        .position(|w| w == req.hashed_message.as_slice())
        .unwrap();
    let tampered = flip(&token, at + 5);
    let c = verify_token(&tampered, Some((HashAlg::Sha256, &req.hashed_message)), &[]);
    assert!(
        failing(&c).contains(&"tsa.message_digest"),
        "{:#?}",
        c.checks
    );

    // The signature is the last element of the token.
    let tampered = flip(&token, token.len() - 1);
    let c = verify_token(&tampered, None, &[]);
    assert_eq!(failing(&c), ["tsa.signature"]);

    // Signed by a certificate without the timeStamping EKU.
    let seal = fixture(KeyType::P256, Profile::SealHolder);
    let token = seal
        .tsa()
        .token(&req, &serial(), OffsetDateTime::now_utc())
        .unwrap();
    let c = verify_token(&token, Some((HashAlg::Sha256, &req.hashed_message)), &[]);
    assert_eq!(failing(&c), ["tsa.extended_key_usage"]);

    // Without certReq the signer must be supplied.
    let mut no_cert = req.clone();
    no_cert.cert_req = false;
    let token = f
        .tsa()
        .token(&no_cert, &serial(), OffsetDateTime::now_utc())
        .unwrap();
    assert_eq!(
        failing(&verify_token(&token, None, &[])),
        ["tsa.signer_certificate"]
    );
    assert!(verify_token(&token, None, std::slice::from_ref(&f.cert)).ok());

    // Garbage and truncations of a token never panic and fail.
    assert!(!verify_token(b"garbage", None, &[]).ok());
    for n in 0..token.len() {
        assert!(!verify_token(&token[..n], None, &[]).ok());
    }
}

#[test]
fn sm2_rsa_and_ed25519_tokens_verify() {
    for key_type in [KeyType::Sm2, KeyType::Rsa2048, KeyType::Ed25519] {
        let f = fixture(key_type, Profile::TimeStamping);
        for hash in [HashAlg::Sm3, HashAlg::Sha256] {
            let req = request(hash, b"document");
            let resp = f
                .tsa()
                .respond(&req.to_der(), &serial(), OffsetDateTime::now_utc());
            let (status, _, token) = decode_response(&resp);
            assert_eq!(status, 0);
            let c = verify_token(&token.unwrap(), Some((hash, &req.hashed_message)), &[]);
            assert!(c.ok(), "{key_type:?}: {:#?}", c.checks);
        }
    }
}

#[test]
fn malformed_requests_are_rejected_with_the_right_failure_info() {
    let f = fixture(KeyType::P256, Profile::TimeStamping);
    let tsa = f.tsa();
    let now = OffsetDateTime::now_utc();
    let reject = |req: &[u8]| -> Vec<u8> {
        let (status, bits, token) = decode_response(&tsa.respond(req, &serial(), now));
        assert_eq!(status, 2);
        assert!(token.is_none());
        bits
    };
    let good = request(HashAlg::Sha256, b"x").to_der();
    assert_eq!(
        TimeStampReq::from_der(&good).unwrap(),
        request(HashAlg::Sha256, b"x")
    );

    assert_eq!(reject(b"garbage"), [FailureInfo::BadDataFormat.bit()]);
    assert_eq!(reject(&[]), [FailureInfo::BadDataFormat.bit()]);
    for n in 0..good.len() {
        let bits = reject(&good[..n]);
        assert_eq!(bits.len(), 1);
    }
    let mut trailing = good.clone();
    trailing.push(0);
    assert_eq!(reject(&trailing), [FailureInfo::BadDataFormat.bit()]);

    // SHA-1 (1.3.14.3.2.26) imprint.
    let imprint = asn1::seq(&[
        &asn1::seq(&[&asn1::oid("1.3.14.3.2.26"), &asn1::tlv(asn1::NULL, &[])]),
        &asn1::tlv(asn1::OCTET_STRING, &[0u8; 20]),
    ]);
    let sha1 = asn1::seq(&[&asn1::tlv(asn1::INTEGER, &[1]), &imprint]);
    assert_eq!(reject(&sha1), [FailureInfo::BadAlg.bit()]);

    // Wrong imprint length for SHA-256.
    let short = TimeStampReq {
        hashed_message: vec![0; 20],
        ..request(HashAlg::Sha256, b"x")
    };
    assert_eq!(reject(&short.to_der()), [FailureInfo::BadDataFormat.bit()]);

    // Version 2.
    let mut v2 = good.clone();
    v2[4] = 2;
    assert_eq!(reject(&v2), [FailureInfo::BadRequest.bit()]);

    // Extensions [0].
    let (outer, _) = asn1::read(&good).unwrap();
    let ext = asn1::tlv(
        0xA0,
        &asn1::seq(&[&asn1::seq(&[
            &asn1::oid("1.2.3.4"),
            &asn1::tlv(asn1::OCTET_STRING, &[0]),
        ])]),
    );
    let with_ext = asn1::tlv(asn1::SEQUENCE, &[outer.content, &ext].concat());
    assert_eq!(reject(&with_ext), [FailureInfo::UnacceptedExtension.bit()]);

    // A policy other than the TSA's.
    let policy = TimeStampReq {
        policy: Some("1.2.3.4.99".into()),
        ..request(HashAlg::Sha256, b"x")
    };
    assert_eq!(
        reject(&policy.to_der()),
        [FailureInfo::UnacceptedPolicy.bit()]
    );
    let same_policy = TimeStampReq {
        policy: Some(POLICY.into()),
        ..request(HashAlg::Sha256, b"x")
    };
    assert_eq!(
        decode_response(&tsa.respond(&same_policy.to_der(), &serial(), now)).0,
        0
    );
}

#[test]
fn openssl_reads_rejections() {
    if !openssl_available() {
        return;
    }
    let f = fixture(KeyType::P256, Profile::TimeStamping);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("file.txt"), b"data").unwrap();
    let (ok, text) = openssl(
        d,
        &[
            "ts", "-query", "-data", "file.txt", "-sha1", "-out", "sha1.tsq",
        ],
    );
    assert!(ok, "{text}");
    let req = std::fs::read(d.join("sha1.tsq")).unwrap();
    let resp = f.tsa().respond(&req, &serial(), OffsetDateTime::now_utc());
    std::fs::write(d.join("sha1.tsr"), &resp).unwrap();
    let (ok, text) = openssl(d, &["ts", "-reply", "-in", "sha1.tsr", "-text"]);
    assert!(ok, "{text}");
    assert!(text.contains("Status: Rejected"), "{text}");
    assert!(
        text.contains("unrecognized or unsupported algorithm identifier"),
        "{text}"
    );

    let resp = f
        .tsa()
        .respond(b"\x30\x03garbage", &serial(), OffsetDateTime::now_utc());
    std::fs::write(d.join("bad.tsr"), &resp).unwrap();
    let (ok, text) = openssl(d, &["ts", "-reply", "-in", "bad.tsr", "-text"]);
    assert!(ok, "{text}");
    assert!(text.contains("Status: Rejected"), "{text}");
    assert!(
        text.contains("the data submitted has the wrong format"),
        "{text}"
    );
}
