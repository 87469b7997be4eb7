use std::path::Path;
use std::sync::OnceLock;

use sm2::pkcs8::EncodePrivateKey as _;

use super::*;

const MSG: &[u8] = b"sidian: the quick brown fox jumps over the lazy dog";

/// One key per type per test binary: RSA generation is slow.
fn test_key(key_type: KeyType) -> &'static PrivateKey {
    static KEYS: [OnceLock<PrivateKey>; 5] = [const { OnceLock::new() }; 5];
    let idx = KeyType::ALL
        .iter()
        .position(|k| *k == key_type)
        .expect("known key type");
    KEYS[idx].get_or_init(|| PrivateKey::generate(key_type).expect("generate"))
}

fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s).expect("test hex")
}

// GM/T 0003.5-2012 Appendix A example: recommended curve, default ID,
// message "message digest".
const KAT_D: &str = "3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8";
const KAT_PX: &str = "09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020";
const KAT_PY: &str = "CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13";
const KAT_ZA: &str = "B2E14C5C79C6DF5B85F4FE7ED8DB7A262B9DA7E07CCB0EA9F4747B8CCDA8A4F3";
const KAT_E: &str = "F0B43E94BA45ACCAACE692ED534382EB17E6AB5A19CE7B31F4486FDFC0D28640";
const KAT_K: &str = "59276E27D506861A16680F3AD9C02DCCEF3CC1FA3CDBE4CE6D54B80DEAC1BC21";
const KAT_SIG: &str = concat!(
    "3046022100F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3",
    "022100B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA"
);
const KAT_MSG: &[u8] = b"message digest";

fn kat_private_key() -> PrivateKey {
    let secret = sm2::SecretKey::from_slice(&unhex(KAT_D)).expect("KAT d");
    let doc = secret.to_pkcs8_der().expect("pkcs8");
    PrivateKey::from_pkcs8_der(KeyType::Sm2, doc.as_bytes()).expect("KAT key")
}

#[test]
fn sm2_gmt_0003_known_answer() {
    let private = kat_private_key();
    let public = private.public_key();
    assert_eq!(public.key_type(), KeyType::Sm2);

    let expected_spki = unhex(&format!(
        "3059301306072A8648CE3D020106082A811CCF5501822D03420004{KAT_PX}{KAT_PY}"
    ));
    assert_eq!(public.spki_der(), expected_spki.as_slice());
    assert_eq!(
        PublicKey::from_spki_der(&expected_spki).expect("parse KAT SPKI"),
        public
    );

    assert_eq!(
        public.sm2_z_a().map(hex::encode),
        Some(KAT_ZA.to_lowercase())
    );
    let e = public
        .message_digest(SignatureAlgorithm::Sm2Sm3, KAT_MSG)
        .expect("e");
    assert_eq!(hex::encode(e), KAT_E.to_lowercase());

    let sig = unhex(KAT_SIG);
    public
        .verify(SignatureAlgorithm::Sm2Sm3, KAT_MSG, &sig)
        .expect("KAT signature verifies");

    // Any single-bit change to the signature or the message must fail.
    for i in 0..sig.len() {
        for bit in 0..8 {
            let mut bad = sig.clone();
            bad[i] ^= 1 << bit;
            assert_eq!(
                public.verify(SignatureAlgorithm::Sm2Sm3, KAT_MSG, &bad),
                Err(CryptoError::InvalidSignature),
                "byte {i} bit {bit}"
            );
        }
    }
    let mut msg = KAT_MSG.to_vec();
    msg[0] ^= 1;
    assert_eq!(
        public.verify(SignatureAlgorithm::Sm2Sm3, &msg, &sig),
        Err(CryptoError::InvalidSignature)
    );

    // Our own signatures: deterministic (RFC 6979 nonce), and the digest path
    // agrees byte for byte with the message path.
    let ours = private
        .sign(SignatureAlgorithm::Sm2Sm3, KAT_MSG)
        .expect("sign");
    public
        .verify(SignatureAlgorithm::Sm2Sm3, KAT_MSG, &ours)
        .expect("own signature verifies");
    let via_digest = private
        .sign_digest(SignatureAlgorithm::Sm2Sm3, &e)
        .expect("sign digest");
    assert_eq!(ours, via_digest);
}

#[test]
fn sm2_known_answer_with_fixed_k() {
    // The sm2 crate has no API to sign with a caller-chosen k (it always
    // derives k via RFC 6979), so redo steps A4-A6 with its public scalar and
    // point arithmetic to reproduce the standard's (r, s) exactly.
    use sm2::elliptic_curve::PrimeField as _;
    use sm2::elliptic_curve::group::Group as _;
    use sm2::elliptic_curve::ops::Reduce;
    use sm2::elliptic_curve::point::AffineCoordinates as _;
    use sm2::{FieldBytes, ProjectivePoint, Scalar};

    let scalar = |h: &str| {
        let bytes: [u8; 32] = unhex(h).try_into().expect("32 bytes");
        Option::<Scalar>::from(Scalar::from_repr(FieldBytes::from(bytes))).expect("scalar")
    };
    let d = scalar(KAT_D);
    let k = scalar(KAT_K);
    let e_bytes: [u8; 32] = unhex(KAT_E).try_into().expect("32 bytes");
    let e = <Scalar as Reduce<FieldBytes>>::reduce(&FieldBytes::from(e_bytes));

    let point = (ProjectivePoint::generator() * k).to_affine();
    let r = e + <Scalar as Reduce<FieldBytes>>::reduce(&point.x());
    let d1_inv = Option::<Scalar>::from((d + Scalar::ONE).invert()).expect("invertible");
    let s = d1_inv * (k - r * d);
    let sig = sm2::dsa::Signature::from_scalars(r, s).expect("signature");
    assert_eq!(hex::encode_upper(sig.to_der().as_bytes()), KAT_SIG);
}

#[test]
fn sign_verify_roundtrip_every_type_and_algorithm() {
    for key_type in KeyType::ALL {
        let private = test_key(key_type);
        assert_eq!(private.key_type(), key_type);
        let public = private.public_key();
        assert_eq!(public.key_type(), key_type);
        for &alg in key_type.signature_algorithms() {
            let sig = private.sign(alg, MSG).expect("sign");
            match alg {
                SignatureAlgorithm::Ed25519 => assert_eq!(sig.len(), 64),
                SignatureAlgorithm::RsaPkcs1Sha256 | SignatureAlgorithm::RsaPssSha256 => {
                    let bits = rsa_bits(key_type).expect("rsa");
                    assert_eq!(sig.len(), bits / 8);
                }
                // DER SEQUENCE of two INTEGERs.
                SignatureAlgorithm::Sm2Sm3 | SignatureAlgorithm::EcdsaP256Sha256 => {
                    assert_eq!(sig[0], 0x30, "{alg}");
                    assert!((8..=72).contains(&sig.len()), "{alg}");
                }
            }
            public.verify(alg, MSG, &sig).expect("verify");
            assert_eq!(
                public.verify(alg, b"another message", &sig),
                Err(CryptoError::InvalidSignature),
                "{key_type}/{alg} wrong message"
            );
            let mut bad = sig.clone();
            let last = bad.len() - 1;
            bad[last] ^= 0x80;
            assert_eq!(
                public.verify(alg, MSG, &bad),
                Err(CryptoError::InvalidSignature),
                "{key_type}/{alg} tampered"
            );
            for garbage in [&[][..], &[0u8][..], &[0x30, 0x00][..], &[0xff; 300][..]] {
                assert_eq!(
                    public.verify(alg, MSG, garbage),
                    Err(CryptoError::InvalidSignature),
                    "{key_type}/{alg} garbage"
                );
            }
            // A signature from a different key must not verify.
            let other = KeyType::ALL
                .into_iter()
                .filter(|k| *k != key_type && k.supports(alg))
                .map(test_key)
                .next();
            if let Some(other) = other {
                let other_sig = other.sign(alg, MSG).expect("sign other");
                assert!(public.verify(alg, MSG, &other_sig).is_err());
            }
        }
    }
}

#[test]
fn fresh_keys_differ() {
    for key_type in [KeyType::Sm2, KeyType::P256, KeyType::Ed25519] {
        let a = PrivateKey::generate(key_type).expect("generate");
        let b = PrivateKey::generate(key_type).expect("generate");
        assert_ne!(a.public_key(), b.public_key(), "{key_type}");
        assert_ne!(*a.to_pkcs8_der(), *b.to_pkcs8_der(), "{key_type}");
    }
}

#[test]
fn wrong_algorithm_is_rejected() {
    for key_type in KeyType::ALL {
        let private = test_key(key_type);
        let public = private.public_key();
        for alg in SignatureAlgorithm::ALL {
            if key_type.supports(alg) {
                continue;
            }
            assert_eq!(
                private.sign(alg, MSG),
                Err(CryptoError::UnsupportedAlgorithm)
            );
            assert_eq!(
                private.sign_digest(alg, &[0u8; 32]),
                Err(CryptoError::UnsupportedAlgorithm)
            );
            assert_eq!(
                public.verify(alg, MSG, &[0u8; 64]),
                Err(CryptoError::UnsupportedAlgorithm)
            );
            assert_eq!(
                public.message_digest(alg, MSG),
                Err(CryptoError::UnsupportedAlgorithm)
            );
            // A valid signature under another algorithm is still "unsupported", not "invalid".
            let sig = private
                .sign(key_type.default_signature_algorithm(), MSG)
                .expect("sign");
            assert_eq!(
                public.verify(alg, MSG, &sig),
                Err(CryptoError::UnsupportedAlgorithm)
            );
        }
    }
    // RSA PKCS#1 and PSS signatures are not interchangeable.
    let rsa = test_key(KeyType::Rsa2048);
    let pss = rsa
        .sign(SignatureAlgorithm::RsaPssSha256, MSG)
        .expect("sign");
    assert_eq!(
        rsa.public_key()
            .verify(SignatureAlgorithm::RsaPkcs1Sha256, MSG, &pss),
        Err(CryptoError::InvalidSignature)
    );
}

#[test]
fn sign_digest_matches_sign() {
    for key_type in KeyType::ALL {
        let private = test_key(key_type);
        let public = private.public_key();
        for &alg in key_type.signature_algorithms() {
            let Some(len) = alg.digest_len() else {
                assert_eq!(
                    private.sign_digest(alg, &[0u8; 32]),
                    Err(CryptoError::DigestSigningUnsupported)
                );
                assert_eq!(
                    public.message_digest(alg, MSG),
                    Err(CryptoError::DigestSigningUnsupported)
                );
                continue;
            };
            let digest = public.message_digest(alg, MSG).expect("digest");
            assert_eq!(digest.len(), len);
            // Independent computation of the digest.
            let expected = match alg {
                SignatureAlgorithm::Sm2Sm3 => {
                    let z = public.sm2_z_a().expect("z_a");
                    super::super::sm3(&[&z[..], MSG].concat())
                }
                _ => super::super::sha256(MSG),
            };
            assert_eq!(digest, expected, "{alg}");

            let sig = private.sign_digest(alg, &digest).expect("sign digest");
            public
                .verify(alg, MSG, &sig)
                .expect("digest signature verifies");
            // Second call exercises the cached digest signer.
            let sig = private.sign_digest(alg, &digest).expect("sign digest");
            public
                .verify(alg, MSG, &sig)
                .expect("digest signature verifies");

            for bad_len in [0, 20, 31, 33, 48, 64] {
                assert_eq!(
                    private.sign_digest(alg, &vec![1u8; bad_len]),
                    Err(CryptoError::BadDigestLength { expected: 32 }),
                    "{alg} len {bad_len}"
                );
            }
        }
    }
}

#[test]
fn pkcs8_roundtrip_and_type_checks() {
    for key_type in KeyType::ALL {
        let private = test_key(key_type);
        let der = private.to_pkcs8_der();
        let reloaded = PrivateKey::from_pkcs8_der(key_type, &der).expect("reload");
        assert_eq!(reloaded.key_type(), key_type);
        assert_eq!(reloaded.public_key(), private.public_key());
        assert_eq!(*reloaded.to_pkcs8_der(), *der);
        let alg = key_type.default_signature_algorithm();
        let sig = reloaded.sign(alg, MSG).expect("sign");
        private.public_key().verify(alg, MSG, &sig).expect("verify");

        for other in KeyType::ALL {
            if other != key_type {
                assert_eq!(
                    PrivateKey::from_pkcs8_der(other, &der).err(),
                    Some(CryptoError::InvalidPrivateKey),
                    "{key_type} key loaded as {other}"
                );
            }
        }
        // Truncations and garbage never panic.
        for len in (0..der.len()).step_by(7) {
            assert!(PrivateKey::from_pkcs8_der(key_type, &der[..len]).is_err());
        }
        assert!(PrivateKey::from_pkcs8_der(key_type, b"not a key").is_err());
    }
}

#[test]
fn keys_are_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<PrivateKey>();
    assert_send_sync::<PublicKey>();
    assert_send_sync::<super::super::MasterKey>();
}

#[test]
fn public_key_debug_shows_fingerprint() {
    let public = test_key(KeyType::Sm2).public_key();
    let fingerprint = hex::encode(super::super::sha256(public.spki_der()));
    assert_eq!(
        format!("{public:?}"),
        format!("PublicKey {{ key_type: Sm2, spki_sha256: {fingerprint:?} }}")
    );
}

#[test]
fn private_key_debug_does_not_leak() {
    for key_type in [KeyType::Sm2, KeyType::P256, KeyType::Ed25519] {
        let private = test_key(key_type);
        let debug = format!("{private:?}");
        assert_eq!(
            debug,
            format!("PrivateKey {{ key_type: {key_type:?}, .. }}")
        );
        assert!(!debug.contains(&hex::encode(&*private.to_pkcs8_der())[..16]));
    }
}

#[test]
fn pem_roundtrip() {
    for key_type in KeyType::ALL {
        let public = test_key(key_type).public_key();
        let pem = public.to_pem();
        assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
        assert!(pem.ends_with("\n-----END PUBLIC KEY-----\n"));
        let body: Vec<&str> = pem
            .lines()
            .skip(1)
            .take_while(|l| !l.starts_with("-----"))
            .collect();
        assert!(body.iter().all(|l| l.len() <= 64));
        assert!(body[..body.len() - 1].iter().all(|l| l.len() == 64));

        assert_eq!(PublicKey::from_pem(&pem).expect("parse pem"), public);
        assert_eq!(
            PublicKey::from_spki_der(public.spki_der()).expect("parse der"),
            public
        );
        // Lenient about surrounding whitespace and CRLF line endings.
        let crlf = format!("\n  {}\n", pem.replace('\n', "\r\n"));
        assert_eq!(PublicKey::from_pem(&crlf).expect("parse crlf pem"), public);
    }
}

#[test]
fn spki_encodings_match_expected_prefixes() {
    let p256 = test_key(KeyType::P256).public_key();
    assert!(
        hex::encode_upper(p256.spki_der())
            .starts_with("3059301306072A8648CE3D020106082A8648CE3D030107034200")
    );
    let ed = test_key(KeyType::Ed25519).public_key();
    assert!(hex::encode_upper(ed.spki_der()).starts_with("302A300506032B6570032100"));
    assert_eq!(ed.spki_der().len(), 44);
    let rsa = test_key(KeyType::Rsa2048).public_key();
    // rsaEncryption with explicit NULL parameters.
    assert!(hex::encode_upper(rsa.spki_der()).contains("06092A864886F70D0101010500"));
}

#[test]
fn bad_public_keys_are_rejected_without_panic() {
    fn rejected(result: Result<PublicKey, CryptoError>) -> String {
        match result {
            Err(CryptoError::InvalidPublicKey(msg)) => msg,
            other => panic!("expected InvalidPublicKey, got {other:?}"),
        }
    }
    rejected(PublicKey::from_spki_der(b""));
    rejected(PublicKey::from_spki_der(b"\x30\x00"));
    rejected(PublicKey::from_spki_der(&[0xff; 100]));
    rejected(PublicKey::from_pem("hello"));
    rejected(PublicKey::from_pem(
        "-----BEGIN PUBLIC KEY-----\n!!!\n-----END PUBLIC KEY-----\n",
    ));
    rejected(PublicKey::from_pem(
        "-----BEGIN RSA PUBLIC KEY-----\nAAAA\n-----END RSA PUBLIC KEY-----\n",
    ));

    for key_type in KeyType::ALL {
        let spki = test_key(key_type).public_key().spki_der().to_vec();
        for len in 0..spki.len() {
            assert!(
                PublicKey::from_spki_der(&spki[..len]).is_err(),
                "{key_type} len {len}"
            );
        }
        let mut trailing = spki.clone();
        trailing.push(0);
        assert!(PublicKey::from_spki_der(&trailing).is_err());
        // Flipping any single byte must yield an error or a different key, never a panic.
        for i in 0..spki.len() {
            let mut bad = spki.clone();
            bad[i] ^= 0x5a;
            if let Ok(key) = PublicKey::from_spki_der(&bad) {
                assert_ne!(key.spki_der(), spki.as_slice());
            }
        }
    }

    // An SM2 point that is not on the curve.
    let mut spki = test_key(KeyType::Sm2).public_key().spki_der().to_vec();
    let last = spki.len() - 1;
    spki[last] ^= 1;
    let msg = rejected(PublicKey::from_spki_der(&spki));
    assert!(msg.contains("SM2"), "{msg}");

    // A P-256 point relabelled as SM2 is off the SM2 curve, and vice versa.
    let p256 = test_key(KeyType::P256).public_key().spki_der().to_vec();
    let sm2_curve = unhex("2A811CCF5501822D");
    let p256_curve = unhex("2A8648CE3D030107");
    let relabelled = [&p256[..15], &sm2_curve, &p256[23..]].concat();
    assert_eq!(&p256[15..23], p256_curve.as_slice());
    assert!(PublicKey::from_spki_der(&relabelled).is_err());

    // Unknown curve (secp384r1 OID) and unknown algorithm.
    let p384 = [&p256[..15], &unhex("2B81040022")[..], &p256[23..]].concat();
    // Lengths no longer match, so this is malformed or unsupported; either is fine.
    assert!(PublicKey::from_spki_der(&p384).is_err());
}

#[test]
fn rsa_modulus_sizes_are_checked() {
    use rsa::pkcs1::UintRef;

    let spki_for = |n: &[u8]| {
        let key = rsa::pkcs1::RsaPublicKeyRef {
            modulus: UintRef::new(n).expect("n"),
            public_exponent: UintRef::new(&[1, 0, 1]).expect("e"),
        };
        let pkcs1 = key.to_der().expect("pkcs1");
        encode_spki_with_null(&pkcs1).expect("spki")
    };
    for bits in [1024usize, 2047, 2049, 4096] {
        let mut n = vec![0u8; bits.div_ceil(8)];
        n[0] = 1 << ((bits - 1) % 8);
        let last = n.len() - 1;
        n[last] |= 1;
        match PublicKey::from_spki_der(&spki_for(&n)) {
            Err(CryptoError::InvalidPublicKey(msg)) => {
                assert!(msg.contains(&format!("{bits} bits")), "{msg}");
            }
            other => panic!("{bits}-bit modulus accepted: {other:?}"),
        }
    }
    // Structurally valid 2048/3072-bit moduli are classified by size.
    for (bits, key_type) in [(2048usize, KeyType::Rsa2048), (3072, KeyType::Rsa3072)] {
        let mut n = vec![0xffu8; bits / 8];
        n[0] = 0xc1;
        let key = PublicKey::from_spki_der(&spki_for(&n)).expect("parse");
        assert_eq!(key.key_type(), key_type);
    }
    // Even exponent is rejected.
    let key = rsa::pkcs1::RsaPublicKeyRef {
        modulus: UintRef::new(&[0xc1; 256]).expect("n"),
        public_exponent: UintRef::new(&[1, 0, 0]).expect("e"),
    };
    let spki = encode_spki_with_null(&key.to_der().expect("pkcs1")).expect("spki");
    assert!(PublicKey::from_spki_der(&spki).is_err());
}

// ---- OpenSSL interoperability -------------------------------------------

use crate::testutil::openssl_available;

fn openssl(dir: &Path, args: &[&str]) -> bool {
    crate::testutil::openssl(dir, args).0
}

/// Verifies `sig` over `msg` with the exact OpenSSL commands from the design doc.
fn openssl_verify(
    dir: &Path,
    public: &PublicKey,
    alg: SignatureAlgorithm,
    msg: &[u8],
    sig: &[u8],
) -> bool {
    std::fs::write(dir.join("pub.pem"), public.to_pem()).expect("write pem");
    std::fs::write(dir.join("msg"), msg).expect("write msg");
    std::fs::write(dir.join("sig.der"), sig).expect("write sig");
    let args: &[&str] = match alg {
        SignatureAlgorithm::Sm2Sm3 => &[
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            "pub.pem",
            "-rawin",
            "-digest",
            "sm3",
            "-in",
            "msg",
            "-sigfile",
            "sig.der",
            "-pkeyopt",
            "distid:1234567812345678",
        ],
        SignatureAlgorithm::EcdsaP256Sha256 | SignatureAlgorithm::RsaPkcs1Sha256 => &[
            "dgst",
            "-sha256",
            "-verify",
            "pub.pem",
            "-signature",
            "sig.der",
            "msg",
        ],
        SignatureAlgorithm::Ed25519 => &[
            "pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem", "-rawin", "-in", "msg",
            "-sigfile", "sig.der",
        ],
        SignatureAlgorithm::RsaPssSha256 => &[
            "dgst",
            "-sha256",
            "-verify",
            "pub.pem",
            "-sigopt",
            "rsa_padding_mode:pss",
            "-sigopt",
            "rsa_pss_saltlen:32",
            "-signature",
            "sig.der",
            "msg",
        ],
    };
    openssl(dir, args)
}

#[test]
fn openssl_verifies_our_signatures() {
    if !openssl_available() {
        eprintln!("openssl not on PATH; skipping interop test");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    for key_type in KeyType::ALL {
        let private = test_key(key_type);
        let public = private.public_key();
        for &alg in key_type.signature_algorithms() {
            let sig = private.sign(alg, MSG).expect("sign");
            assert!(
                openssl_verify(dir.path(), &public, alg, MSG, &sig),
                "{key_type}/{alg}"
            );
            if alg.digest_len().is_some() {
                let digest = public.message_digest(alg, MSG).expect("digest");
                let sig = private.sign_digest(alg, &digest).expect("sign digest");
                assert!(
                    openssl_verify(dir.path(), &public, alg, MSG, &sig),
                    "{key_type}/{alg} digest"
                );
            }
            // The harness must be able to fail.
            assert!(
                !openssl_verify(dir.path(), &public, alg, b"tampered", &sig),
                "{key_type}/{alg} tampered message accepted by openssl"
            );
        }
    }
}

#[test]
fn openssl_keys_and_signatures_are_accepted() {
    if !openssl_available() {
        eprintln!("openssl not on PATH; skipping interop test");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    std::fs::write(d.join("msg"), MSG).expect("write msg");
    let cases: [(KeyType, &[&str]); 4] = [
        (KeyType::Sm2, &["-algorithm", "SM2"]),
        (
            KeyType::P256,
            &[
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-pkeyopt",
                "ec_param_enc:named_curve",
            ],
        ),
        (KeyType::Ed25519, &["-algorithm", "ED25519"]),
        (
            KeyType::Rsa2048,
            &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
        ),
    ];
    for (key_type, genargs) in cases {
        let mut args = vec!["genpkey"];
        args.extend_from_slice(genargs);
        args.extend_from_slice(&["-out", "key.pem"]);
        assert!(openssl(d, &args), "{key_type} genpkey");
        // `pkey -outform DER` writes SEC1 for EC keys; `pkcs8 -topk8` forces PKCS#8.
        assert!(openssl(
            d,
            &[
                "pkcs8", "-topk8", "-nocrypt", "-in", "key.pem", "-outform", "DER", "-out",
                "key.der"
            ]
        ));
        assert!(openssl(
            d,
            &[
                "pkey", "-in", "key.pem", "-pubout", "-outform", "DER", "-out", "pub.der"
            ]
        ));
        let key_der = std::fs::read(d.join("key.der")).expect("read key");
        let pub_der = std::fs::read(d.join("pub.der")).expect("read pub");

        let private = PrivateKey::from_pkcs8_der(key_type, &key_der)
            .unwrap_or_else(|e| panic!("import openssl {key_type} key: {e}"));
        assert_eq!(
            private.public_key().spki_der(),
            pub_der.as_slice(),
            "{key_type} SPKI"
        );
        let public = PublicKey::from_spki_der(&pub_der).expect("import openssl public key");
        assert_eq!(public.key_type(), key_type);

        for &alg in key_type.signature_algorithms() {
            // Ours verified by OpenSSL was covered above; here OpenSSL signs.
            let sign_args: Vec<&str> = match alg {
                SignatureAlgorithm::Sm2Sm3 => vec![
                    "pkeyutl",
                    "-sign",
                    "-inkey",
                    "key.pem",
                    "-rawin",
                    "-digest",
                    "sm3",
                    "-in",
                    "msg",
                    "-out",
                    "sig",
                    "-pkeyopt",
                    "distid:1234567812345678",
                ],
                SignatureAlgorithm::Ed25519 => {
                    vec![
                        "pkeyutl", "-sign", "-inkey", "key.pem", "-rawin", "-in", "msg", "-out",
                        "sig",
                    ]
                }
                SignatureAlgorithm::EcdsaP256Sha256 | SignatureAlgorithm::RsaPkcs1Sha256 => {
                    vec!["dgst", "-sha256", "-sign", "key.pem", "-out", "sig", "msg"]
                }
                SignatureAlgorithm::RsaPssSha256 => vec![
                    "dgst",
                    "-sha256",
                    "-sign",
                    "key.pem",
                    "-sigopt",
                    "rsa_padding_mode:pss",
                    "-sigopt",
                    "rsa_pss_saltlen:32",
                    "-out",
                    "sig",
                    "msg",
                ],
            };
            assert!(openssl(d, &sign_args), "{key_type}/{alg} openssl sign");
            let sig = std::fs::read(d.join("sig")).expect("read sig");
            public
                .verify(alg, MSG, &sig)
                .expect("openssl signature verifies");

            let ours = private.sign(alg, MSG).expect("sign with imported key");
            assert!(
                openssl_verify(d, &public, alg, MSG, &ours),
                "{key_type}/{alg}"
            );
        }
    }
}

#[test]
fn p256_pkcs8_without_embedded_public_key_is_accepted() {
    // ring requires the optional publicKey field; make sure the p256 fallback
    // handles encoders that omit it.
    use p256::pkcs8::DecodePrivateKey as _;
    let original = test_key(KeyType::P256);
    let secret = p256::SecretKey::from_pkcs8_der(&original.to_pkcs8_der()).expect("parse");
    // PrivateKeyInfo { 0, { id-ecPublicKey, prime256v1 }, ECPrivateKey { 1, d } }
    // with neither the optional [0] parameters nor the [1] public key.
    let der = [
        &unhex(concat!(
            "3041020100301306072A8648CE3D020106082A8648CE3D030107",
            "042730250201010420"
        ))[..],
        &secret.to_bytes()[..],
    ]
    .concat();
    let reloaded = PrivateKey::from_pkcs8_der(KeyType::P256, &der).expect("load");
    assert_eq!(reloaded.public_key(), original.public_key());
    // The stored form is normalised so it loads straight into ring next time.
    let again =
        PrivateKey::from_pkcs8_der(KeyType::P256, &reloaded.to_pkcs8_der()).expect("reload");
    assert_eq!(again.public_key(), original.public_key());
}
