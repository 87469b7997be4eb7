//! Rebuilding a signed status list (IETF Token Status List, 2 bits a slot) for 1,000,000
//! licences of which 1 % are revoked: what `GET /v1/status-lists/{id}` does after a slot changes,
//! less the database read of the slots that are not valid.
//!
//! sidian gives an issuer lists of 2^20 slots and opens a new one when a list is half full, so a
//! million licences sit in two lists of 524,288 each; a change rebuilds only its own list. Both
//! shapes are measured: one such list (5,000 revoked of 524,288), and the whole million in one
//! list of 2^21 slots (10,000 revoked). Setup prints the compressed sizes and fails above 64 KB.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use sidian::crypto::{KeyType, PrivateKey, SignatureAlgorithm};
use sidian::licence::status_list::{self, TokenClaims};
use sidian::licence::{SlotStatus, StatusList};

/// The size limit the issue sets for a million licences' lists.
const MAX_COMPRESSED: usize = 64 * 1024;

/// `count` distinct slot indices below `used`, from a fixed-seed xorshift (the same every run).
fn revoked_slots(used: usize, count: usize, seed: u64) -> Vec<usize> {
    let mut state = seed;
    let mut taken = vec![false; used];
    let mut out = Vec::with_capacity(count);
    while out.len() < count {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let i = usize::try_from(state % used as u64).expect("index fits");
        if !taken[i] {
            taken[i] = true;
            out.push(i);
        }
    }
    out
}

/// Builds, compresses and signs one list: the token the route serves.
fn rebuild(slots: usize, revoked: &[usize], key: &PrivateKey) -> String {
    let mut list = StatusList::new(slots);
    for &i in revoked {
        list.set(i, SlotStatus::Invalid);
    }
    let claims = TokenClaims {
        sub: "https://licences.example/v1/status-lists/sl_bench".to_owned(),
        iat: 1_800_000_000,
        exp: 1_800_086_400,
        ttl: 5,
    };
    let input = status_list::signing_input("key_bench", &claims, &list);
    let der = key
        .sign(SignatureAlgorithm::EcdsaP256Sha256, input.as_bytes())
        .expect("sign");
    let raw = p256::ecdsa::Signature::from_der(&der)
        .expect("DER signature")
        .to_bytes();
    status_list::token(&input, &raw)
}

/// The compressed list carried in a token, measured by building it again.
fn compressed_len(slots: usize, revoked: &[usize]) -> usize {
    let mut list = StatusList::new(slots);
    for &i in revoked {
        list.set(i, SlotStatus::Invalid);
    }
    list.compressed().len()
}

fn status_lists(c: &mut Criterion) {
    let key = PrivateKey::generate(KeyType::P256).expect("P-256 key");
    let half = 1usize << 19;
    let (first, second) = (
        revoked_slots(half, 5_000, 0x9e37_79b9_7f4a_7c15),
        revoked_slots(half, 5_000, 0xd1b5_4a32_d192_ed03),
    );
    let whole = revoked_slots(1_000_000, 10_000, 0x2545_f491_4f6c_dd1d);
    let two_lists = compressed_len(1 << 20, &first) + compressed_len(1 << 20, &second);
    let one_list = compressed_len(1 << 21, &whole);
    println!(
        "status lists for 1,000,000 licences, 1 % revoked: two lists of 2^20 slots {two_lists} bytes \
         compressed ({} + {}), one list of 2^21 slots {one_list} bytes",
        compressed_len(1 << 20, &first),
        compressed_len(1 << 20, &second)
    );
    assert!(two_lists <= MAX_COMPRESSED && one_list <= MAX_COMPRESSED);
    // The token verifies and carries the revoked slots: what is timed is the real thing.
    let token = rebuild(1 << 20, &first, &key);
    let parsed = status_list::parse_token(&token).expect("token parses");
    let list = StatusList::from_claim(&parsed.payload["status_list"]).expect("list");
    assert_eq!(list.get(first[0]), Some(SlotStatus::Invalid));

    let mut g = c.benchmark_group("status-list rebuild (pack, zlib, ES256)");
    g.bench_function("2^20 slots, 524,288 licences, 5,000 revoked", |b| {
        b.iter(|| rebuild(1 << 20, black_box(&first), &key))
    });
    g.bench_function("2^21 slots, 1,000,000 licences, 10,000 revoked", |b| {
        b.iter(|| rebuild(1 << 21, black_box(&whole), &key))
    });
    g.finish();
}

criterion_group!(benches, status_lists);
criterion_main!(benches);
