//! Overhead of the `sidian::crypto` layer over the raw library calls it wraps.
//!
//! Each pair signs the same 32-byte message with the same key, once through
//! the underlying crate directly and once through `PrivateKey::sign`; the
//! difference is what the vault layer costs per request.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use ring::rand::SystemRandom;
use ring::signature::{self as ring_sig, EcdsaKeyPair, Ed25519KeyPair, RsaKeyPair};
use sidian::crypto::{
    KeyType, MasterKey, PrivateKey, SM2_DEFAULT_ID, SignatureAlgorithm, WrapAlgorithm,
};
use sm2::dsa::signature::{Signer as _, Verifier as _};
use sm2::pkcs8::DecodePrivateKey as _;

const MSG: &[u8; 32] = b"0123456789abcdef0123456789abcdef";

fn generate(key_type: KeyType) -> PrivateKey {
    PrivateKey::generate(key_type).expect("generate key")
}

fn sm2(c: &mut Criterion) {
    let key = generate(KeyType::Sm2);
    let secret = sm2::SecretKey::from_pkcs8_der(&key.to_pkcs8_der()).expect("pkcs8");
    let raw = sm2::dsa::SigningKey::new(SM2_DEFAULT_ID, &secret).expect("signing key");

    let mut g = c.benchmark_group("sm2-sign");
    g.bench_function("raw sm2 crate", |b| {
        b.iter(|| {
            let sig: sm2::dsa::Signature = raw.sign(black_box(MSG));
            sig.to_der().to_vec()
        })
    });
    g.bench_function("PrivateKey::sign", |b| {
        b.iter(|| key.sign(SignatureAlgorithm::Sm2Sm3, black_box(MSG)))
    });
    g.finish();

    let public = key.public_key();
    let sig_der = key.sign(SignatureAlgorithm::Sm2Sm3, MSG).expect("sign");
    let raw_vk = raw.verifying_key().clone();
    let mut g = c.benchmark_group("sm2-verify");
    g.bench_function("raw sm2 crate", |b| {
        b.iter(|| {
            let sig = sm2::dsa::Signature::from_der(black_box(&sig_der)).expect("der");
            raw_vk.verify(black_box(MSG), &sig)
        })
    });
    g.bench_function("PublicKey::verify", |b| {
        b.iter(|| {
            public.verify(
                SignatureAlgorithm::Sm2Sm3,
                black_box(MSG),
                black_box(&sig_der),
            )
        })
    });
    g.finish();
}

fn p256(c: &mut Criterion) {
    let key = generate(KeyType::P256);
    let rng = SystemRandom::new();
    let raw = EcdsaKeyPair::from_pkcs8(
        &ring_sig::ECDSA_P256_SHA256_ASN1_SIGNING,
        &key.to_pkcs8_der(),
        &rng,
    )
    .expect("ring key");

    let mut g = c.benchmark_group("p256-sign");
    g.bench_function("raw ring", |b| {
        b.iter(|| {
            raw.sign(&rng, black_box(MSG))
                .expect("sign")
                .as_ref()
                .to_vec()
        })
    });
    g.bench_function("PrivateKey::sign", |b| {
        b.iter(|| key.sign(SignatureAlgorithm::EcdsaP256Sha256, black_box(MSG)))
    });
    g.finish();
}

fn ed25519(c: &mut Criterion) {
    let key = generate(KeyType::Ed25519);
    let raw = Ed25519KeyPair::from_pkcs8_maybe_unchecked(&key.to_pkcs8_der()).expect("ring key");

    let mut g = c.benchmark_group("ed25519-sign");
    g.bench_function("raw ring", |b| {
        b.iter(|| raw.sign(black_box(MSG)).as_ref().to_vec())
    });
    g.bench_function("PrivateKey::sign", |b| {
        b.iter(|| key.sign(SignatureAlgorithm::Ed25519, black_box(MSG)))
    });
    g.finish();
}

fn rsa2048(c: &mut Criterion) {
    let key = generate(KeyType::Rsa2048);
    let rng = SystemRandom::new();
    let raw = RsaKeyPair::from_pkcs8(&key.to_pkcs8_der()).expect("ring key");
    let mut buf = vec![0u8; raw.public().modulus_len()];

    let mut g = c.benchmark_group("rsa2048-pkcs1-sign");
    g.bench_function("raw ring", |b| {
        b.iter(|| {
            raw.sign(&ring_sig::RSA_PKCS1_SHA256, &rng, black_box(MSG), &mut buf)
                .expect("sign");
        })
    });
    g.bench_function("PrivateKey::sign", |b| {
        b.iter(|| key.sign(SignatureAlgorithm::RsaPkcs1Sha256, black_box(MSG)))
    });
    g.finish();
}

fn unwrap(c: &mut Criterion) {
    let master = MasterKey::generate().expect("master key");
    let key = generate(KeyType::Sm2);
    let pkcs8 = key.to_pkcs8_der();
    let aad = b"key:0123456789abcdef";
    let sm4_blob = master
        .wrap(WrapAlgorithm::Sm4Gcm, &pkcs8, aad)
        .expect("wrap");
    let aes_blob = master
        .wrap(WrapAlgorithm::Aes256Gcm, &pkcs8, aad)
        .expect("wrap");

    let mut g = c.benchmark_group("unwrap-sm2-pkcs8");
    g.bench_function("sm4-gcm", |b| {
        b.iter(|| master.unwrap(black_box(&sm4_blob), aad).expect("unwrap"))
    });
    g.bench_function("aes-256-gcm", |b| {
        b.iter(|| master.unwrap(black_box(&aes_blob), aad).expect("unwrap"))
    });
    // What a cache miss costs: unwrap plus parsing into a ready signer.
    g.bench_function("sm4-gcm + from_pkcs8_der", |b| {
        b.iter(|| {
            let der = master.unwrap(black_box(&sm4_blob), aad).expect("unwrap");
            PrivateKey::from_pkcs8_der(KeyType::Sm2, &der).expect("load")
        })
    });
    g.finish();
}

criterion_group!(benches, sm2, p256, ed25519, rsa2048, unwrap);
criterion_main!(benches);
