#![allow(clippy::unwrap_used)]

use std::path::Path;

use time::{Duration, OffsetDateTime};

use super::*;
use crate::crypto::{KeyType, PrivateKey, sha256};
use crate::pki::{self, Certificate, Name, Profile};
use crate::testutil::{openssl, openssl_available};
use crate::tsa::{HashAlg, TimeStampReq, Tsa, verify_token};

const FILE: &[u8] = b"sidian detached CMS test content\n";

/// A root and a leaf it issued, both of `key_type` (shared with the tsa tests).
pub(crate) struct Fixture {
    pub(crate) root: Certificate,
    pub(crate) root_key: PrivateKey,
    pub(crate) key: PrivateKey,
    pub(crate) cert: Certificate,
}

pub(crate) fn fixture(key_type: KeyType, profile: Profile) -> Fixture {
    let now = OffsetDateTime::now_utc();
    let (nb, na) = (now - Duration::days(1), now + Duration::days(365));
    let root_key = PrivateKey::generate(key_type).unwrap();
    let root = pki::self_signed(&root_key, &Name::cn("sidian cms root"), nb, na).unwrap();
    let key = PrivateKey::generate(key_type).unwrap();
    let cert = issue(&root, &root_key, &key, "sidian signer", profile);
    Fixture {
        root,
        root_key,
        key,
        cert,
    }
}

fn issue(
    root: &Certificate,
    root_key: &PrivateKey,
    key: &PrivateKey,
    cn: &str,
    profile: Profile,
) -> Certificate {
    // The root's own validity: a fresh `now` could cross a second boundary and end after it.
    pki::issue(
        root,
        root_key,
        &key.public_key(),
        &Name::cn(cn),
        profile,
        &pki::random_serial().unwrap(),
        root.not_before(),
        root.not_after(),
    )
    .unwrap()
}

impl Fixture {
    /// The leaf as signer, with the root in `certificates`.
    pub(crate) fn signer(&self) -> SignerInput<'_> {
        SignerInput {
            cert: &self.cert,
            key: &self.key,
            chain: std::slice::from_ref(&self.root),
            include_certs: true,
        }
    }

    /// A detached id-data signature over `FILE` with signingTime and signingCertificateV2.
    fn detached(&self) -> Vec<u8> {
        let alg = digest_algorithm(self.key.key_type());
        sign(
            &self.signer(),
            Content::Detached {
                digest: &alg.digest(FILE),
            },
            &pades_options(),
        )
        .unwrap()
    }
}

fn pades_options() -> SignOptions<'static> {
    SignOptions {
        content_type: OID_DATA,
        signing_time: Some(OffsetDateTime::now_utc()),
        ess_signing_certificate_v2: true,
        extra_signed_attrs: &[],
    }
}

/// The names of the failing checks (shared with the tsa tests).
pub(crate) fn failing_names(checks: &[crate::report::Check]) -> Vec<&str> {
    checks
        .iter()
        .filter(|c| !c.ok)
        .map(|c| c.name.as_str())
        .collect()
}

/// `openssl cms -verify` of `sig` (detached, over `FILE`) against `root`.
fn openssl_verify(d: &Path, root: &Certificate, sig: &[u8]) -> (bool, String) {
    std::fs::write(d.join("root.pem"), root.to_pem()).unwrap();
    std::fs::write(d.join("file.txt"), FILE).unwrap();
    std::fs::write(d.join("sig.der"), sig).unwrap();
    let (ok, text) = openssl(
        d,
        &[
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            "sig.der",
            "-content",
            "file.txt",
            "-CAfile",
            "root.pem",
            "-purpose",
            "any",
            "-out",
            "/dev/null",
        ],
    );
    (ok && text.contains("Verification successful"), text)
}

#[test]
fn detached_p256_and_rsa_verify_here_and_in_openssl() {
    for key_type in [KeyType::P256, KeyType::Rsa2048] {
        let f = fixture(key_type, Profile::SealHolder);
        let sig = f.detached();
        let digest = sha256(FILE);
        let check = verify(&sig, Some(&digest), &[]);
        assert!(check.ok(), "{key_type:?}: {:#?}", check.checks);
        assert_eq!(check.signer.as_ref(), Some(&f.cert));
        assert!(check.signing_time.is_some());
        assert!(check.check("cms.signing_certificate").is_some_and(|c| c.ok));
        let view = parse(&sig).unwrap();
        assert_eq!(view.version, 1, "id-data SignedData is version 1");
        assert_eq!(view.content, None);
        assert_eq!(view.content_type, OID_DATA);
        assert_eq!(view.certificates.len(), 2);

        if !openssl_available() {
            continue;
        }
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let (ok, text) = openssl_verify(d, &f.root, &sig);
        assert!(ok, "{key_type:?}: {text}");
        let (ok, text) = openssl(
            d,
            &[
                "cms", "-cmsout", "-print", "-inform", "DER", "-in", "sig.der",
            ],
        );
        assert!(ok, "{text}");
        for attr in [
            "contentType",
            "signingTime",
            "messageDigest",
            "id-smime-aa-signingCertificateV2",
        ] {
            let line = format!("object: {attr} (");
            assert!(text.contains(&line), "{key_type:?}: no {attr} in {text}");
        }
    }
}

#[test]
fn sm2_and_ed25519_detached_verify() {
    for key_type in [KeyType::Sm2, KeyType::Ed25519] {
        let f = fixture(key_type, Profile::SealHolder);
        let sig = f.detached();
        let alg = digest_algorithm(key_type);
        let check = verify(&sig, Some(&alg.digest(FILE)), &[]);
        assert!(check.ok(), "{key_type:?}: {:#?}", check.checks);
        let other = verify(&sig, Some(&alg.digest(b"other")), &[]);
        assert_eq!(failing_names(&other.checks), ["cms.message_digest"]);
    }
    // OpenSSL 3.0 verifies SM2 with an empty user ID, not the default one we sign with: the
    // result is printed for information only.
    let f = fixture(KeyType::Sm2, Profile::SealHolder);
    if openssl_available() {
        let dir = tempfile::tempdir().unwrap();
        let (ok, _) = openssl_verify(dir.path(), &f.root, &f.detached());
        println!("openssl cms -verify of an SM2 signature: {ok}");
    }
}

#[test]
fn attached_content_is_digested_and_returned() {
    let f = fixture(KeyType::P256, Profile::SealHolder);
    let extra = [(
        "1.2.3.4.5",
        crate::asn1::tlv(crate::asn1::UTF8_STRING, b"x"),
    )];
    let opts = SignOptions {
        content_type: crate::tsa::OID_TST_INFO,
        extra_signed_attrs: &extra,
        ..pades_options()
    };
    let cms = sign(&f.signer(), Content::Attached { content: FILE }, &opts).unwrap();
    let check = verify(&cms, None, &[]);
    assert!(check.ok(), "{:#?}", check.checks);
    assert_eq!(check.content.as_deref(), Some(FILE));
    assert_eq!(check.signed_attr("1.2.3.4.5"), Some(&extra[0].1[..]));
    assert_eq!(parse(&cms).unwrap().version, 3);

    // ESS and signingTime are optional: no ESS check then, and no time.
    let plain = SignOptions {
        signing_time: None,
        ess_signing_certificate_v2: false,
        ..opts
    };
    let cms = sign(&f.signer(), Content::Attached { content: FILE }, &plain).unwrap();
    let check = verify(&cms, None, &[]);
    assert!(check.ok(), "{:#?}", check.checks);
    assert!(check.check("cms.signing_certificate").is_none());
    assert_eq!(check.signing_time, None);

    // signingTime (UTCTime here) reads back to the second.
    let at = time::macros::datetime!(2031-02-03 04:05:06 UTC);
    let timed = SignOptions {
        signing_time: Some(at),
        ..plain
    };
    let cms = sign(&f.signer(), Content::Attached { content: FILE }, &timed).unwrap();
    assert_eq!(verify(&cms, None, &[]).signing_time, Some(at));

    // Wrong digest length and bad OIDs are errors, not structures.
    let short = Content::Detached { digest: &[0; 20] };
    assert!(matches!(
        sign(&f.signer(), short, &pades_options()),
        Err(CmsError::DigestLength { .. })
    ));
    let bad = SignOptions {
        content_type: "not an oid",
        ..pades_options()
    };
    let c = Content::Attached { content: FILE };
    assert!(matches!(
        sign(&f.signer(), c, &bad),
        Err(CmsError::InvalidOid(_))
    ));
    let other = fixture(KeyType::P256, Profile::SealHolder);
    let mismatched = SignerInput {
        key: &other.key,
        ..f.signer()
    };
    assert!(sign(&mismatched, c, &pades_options()).is_err());
}

#[test]
fn a_signature_time_stamp_leaves_the_signature_valid() {
    let f = fixture(KeyType::P256, Profile::SealHolder);
    let sig = f.detached();
    let value = signature_value(&sig).unwrap();

    // A B-T time-stamp over the signature value, from a TSA under the same root.
    let tsa_key = PrivateKey::generate(KeyType::P256).unwrap();
    let tsa_cert = issue(
        &f.root,
        &f.root_key,
        &tsa_key,
        "sidian TSA",
        Profile::TimeStamping,
    );
    let tsa = Tsa {
        cert: &tsa_cert,
        key: &tsa_key,
        chain: &[],
        policy: "1.2.3.4.1",
    };
    let req = TimeStampReq {
        hash_alg: HashAlg::Sha256,
        hashed_message: sha256(&value).to_vec(),
        policy: None,
        nonce: None,
        cert_req: true,
    };
    let token = tsa
        .token(&req, &[1, 2, 3], OffsetDateTime::now_utc())
        .unwrap();
    let stamped = add_unsigned_attribute(&sig, OID_SIGNATURE_TIME_STAMP_TOKEN, &token).unwrap();

    let check = verify(&stamped, Some(&sha256(FILE)), &[]);
    assert!(check.ok(), "{:#?}", check.checks);
    assert_eq!(signature_value(&stamped).unwrap(), value);
    let view = parse(&stamped).unwrap();
    let found = view
        .signer
        .unsigned_attr(OID_SIGNATURE_TIME_STAMP_TOKEN)
        .unwrap();
    assert_eq!(found, token.as_slice());
    let ts = verify_token(found, Some((HashAlg::Sha256, &sha256(&value))), &[]);
    assert!(ts.ok(), "{:#?}", ts.checks);
    // The signed part is unchanged: the same signedAttrs bytes.
    assert_eq!(
        view.signer.signed_attrs,
        parse(&sig).unwrap().signer.signed_attrs
    );

    // A second unsigned attribute joins the first.
    let twice = add_unsigned_attribute(&stamped, "1.2.3.4.6", &[0x05, 0x00]).unwrap();
    assert_eq!(parse(&twice).unwrap().signer.unsigned_attributes.len(), 2);
    assert!(verify(&twice, Some(&sha256(FILE)), &[]).ok());

    if openssl_available() {
        let dir = tempfile::tempdir().unwrap();
        let (ok, text) = openssl_verify(dir.path(), &f.root, &stamped);
        assert!(ok, "{text}");
    }
}

#[test]
fn tampering_and_truncation_fail_by_name_without_panics() {
    let f = fixture(KeyType::P256, Profile::SealHolder);
    let sig = f.detached();
    let digest = sha256(FILE);

    let mut flipped = FILE.to_vec();
    flipped[0] ^= 1;
    let c = verify(&sig, Some(&sha256(&flipped)), &[]);
    assert_eq!(failing_names(&c.checks), ["cms.message_digest"]);
    assert_eq!(
        failing_names(&verify(&sig, None, &[]).checks),
        ["cms.message_digest"]
    );

    // The signature is the last element of the structure.
    let mut bad_sig = sig.clone();
    *bad_sig.last_mut().unwrap() ^= 1;
    assert_eq!(
        failing_names(&verify(&bad_sig, Some(&digest), &[]).checks),
        ["cms.signature"]
    );

    // Without certificates the signer must be supplied.
    let bare = sign(
        &SignerInput {
            include_certs: false,
            ..f.signer()
        },
        Content::Detached { digest: &digest },
        &pades_options(),
    )
    .unwrap();
    assert_eq!(
        failing_names(&verify(&bare, Some(&digest), &[]).checks),
        ["cms.signer_certificate"]
    );
    assert!(verify(&bare, Some(&digest), std::slice::from_ref(&f.cert)).ok());

    for n in 0..sig.len() {
        let cut = &sig[..n];
        assert!(!verify(cut, Some(&digest), &[]).ok(), "truncated at {n}");
        assert!(parse(cut).is_err(), "truncated at {n}");
        assert!(signature_value(cut).is_err());
        assert!(add_unsigned_attribute(cut, "1.2.3", &[5, 0]).is_err());
    }
    assert!(!verify(b"", None, &[]).ok());
    assert!(!verify(&[0x30, 0x80, 0, 0], None, &[]).ok());
}

/// `cms` as a GB/T 35275 writer would put it: SM2 signedData content type, the signatureAlgorithm
/// OID `sig_alg`, the signature value `signature`, and the signed attributes left out or not.
fn gbt35275_form(cms: &[u8], sig_alg: &str, signature: &[u8], signed_attrs: bool) -> Vec<u8> {
    use crate::asn1 as der;
    let view = parse(cms).unwrap();
    let [version, sid, digest_alg, attrs, _, _] = view.signer.fields.as_slice() else {
        panic!("SignerInfo fields");
    };
    let sig_alg = der::seq(&[&der::oid(sig_alg)]);
    let signature = der::tlv(der::OCTET_STRING, signature);
    let mut fields = vec![*version, *sid, *digest_alg];
    if signed_attrs {
        fields.push(*attrs);
    }
    fields.extend([sig_alg.as_slice(), signature.as_slice()]);
    let mut signed_data = view.head.concat();
    signed_data.extend(der::tlv(der::SET, &der::seq(&fields)));
    der::seq(&[
        &der::oid(OID_SM2_SIGNED_DATA),
        &der::tlv(0xA0, &der::seq(&[&signed_data])),
    ])
}

#[test]
fn gbt35275_signed_data_is_read_and_verified() {
    let f = fixture(KeyType::Sm2, Profile::SealHolder);
    let sig = f.detached();
    let digest = crate::crypto::sm3(FILE);
    let der_sig = parse(&sig).unwrap().signer.signature.to_vec();
    let raw = sm2::dsa::Signature::from_der(&der_sig).unwrap().to_bytes();

    // The SM2 content type, GM/T 0006 signature OIDs, DER or raw r‖s: verified like our own.
    for alg in ["1.2.156.10197.1.301.1", "1.2.156.10197.1.501"] {
        for value in [der_sig.as_slice(), raw.as_slice()] {
            let cms = gbt35275_form(&sig, alg, value, true);
            let view = parse(&cms).unwrap();
            assert_eq!(view.content_info_type, OID_SM2_SIGNED_DATA);
            assert_eq!(view.signer.signature, value);
            let check = verify(&cms, Some(&digest), &[]);
            assert!(check.ok(), "{alg}: {:#?}", check.checks);
        }
    }
    // A tampered raw value fails.
    let mut bad = raw.to_vec();
    bad[63] ^= 1;
    let cms = gbt35275_form(&sig, "1.2.156.10197.1.301.1", &bad, true);
    assert_eq!(
        failing_names(&verify(&cms, Some(&digest), &[]).checks),
        ["cms.signature"]
    );
    // Without signed attributes it is read, but verify wants them.
    let cms = gbt35275_form(&sig, "1.2.156.10197.1.501", &der_sig, false);
    let view = parse(&cms).unwrap();
    assert!(view.signer.signed_attrs.is_none() && view.signer.signed_message().is_none());
    assert!(view.signer.signing_time().is_none());
    assert_eq!(
        failing_names(&verify(&cms, Some(&digest), &[]).checks),
        ["cms.structure"]
    );
    // Another ContentInfo type is still refused.
    let mut other = gbt35275_form(&sig, "1.2.156.10197.1.501", &der_sig, true);
    let at = other
        .windows(3)
        .position(|w| w == [0x06, 0x0A, 0x2A])
        .unwrap();
    other[at + 11] ^= 1;
    assert!(parse(&other).is_err());
}
