//! Speed of a licence's file (issue goal: rendering and sealing one licence OFD ≤ 2 ms):
//! "render" is the 营业执照 sample's face laid out (`licence::face`) and written as an OFD
//! (`ofd::write`: XML, the font subset, the zip); "render + seal" is what the first request for a
//! licence's file does in the vault (`Vault::seal_licence_ofd`): the same files, sealed as
//! written with the issuer's licence seal (an SM2 §18 signature), and the sealed package zipped
//! while the signature's audit entry commits to SQLite.
//!
//! "presentation token" is a 亮证 code checked up to the licence's status (`present::authenticate`):
//! in full (parse, key lookup, the SM2 verification) and for a code seen before (the vault skips
//! the signature; everything else is the same), the two costs an online check adds to its
//! database read.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Map, Value};
use sidian::audit::Actor;
use sidian::licence::{Catalogue, LicenceFace, face};
use sidian::vault::{LicenceHolder, LicenceRequest, NewIssuer};
use sidian::{Config, Vault};

const BUSINESS: &str = "111000009000000146001";

/// The shipped sample request of the 营业执照.
fn sample() -> Value {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/data/licences/{BUSINESS}.json"));
    serde_json::from_str(&std::fs::read_to_string(path).expect("sample")).expect("json")
}

fn render(c: &mut Criterion) {
    let catalogue = Catalogue::load(Path::new("/nonexistent")).expect("catalogue");
    let t = catalogue.get(BUSINESS).expect("营业执照");
    let sample = sample();
    let fields: Map<String, Value> = sample["fields"].as_object().expect("fields").clone();
    let day = time::macros::date!(2026 - 01 - 01);
    let licence = LicenceFace {
        id: "1.2.156.3005.2.111000009000000146001.11370100004312345D.20260101ABCDEF123456.001.X",
        number: "20260101ABCDEF123456",
        holder_name: sample["holder"]["name"].as_str().expect("name"),
        holder_id_type: "001",
        holder_id: sample["holder"]["id_number"].as_str().expect("id"),
        issuer_name: "济南市市场监督管理局",
        issuer_code: "11370100004312345D",
        issued_on: day,
        valid_from: day,
        valid_to: None,
        fields: &fields,
        verify_url: "https://licences.example.gov.cn/v1/licences/1.2.156.3005.2.111000009000000146001.11370100004312345D.20260101ABCDEF123456.001.X/verify",
    };
    let bytes =
        sidian::ofd::write::write(&face::document(t, &licence).expect("face")).expect("ofd");
    let mut g = c.benchmark_group(format!("licence OFD ({} bytes unsealed)", bytes.len()));
    g.bench_function("render licence OFD", |b| {
        b.iter(|| {
            let doc = face::document(t, black_box(&licence)).expect("face");
            sidian::ofd::write::write(&doc).expect("ofd")
        })
    });

    // The vault's path: a vault on SQLite in a temporary directory, one issuer, one licence.
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let (vault, client, licence) = rt.block_on(async {
        let mut vault = Vault::open(Config::new(dir.path().join("data")), true)
            .await
            .expect("vault");
        std::mem::forget(vault.start_writer().expect("writer"));
        let actor = || Actor::Operator("bench".into());
        let (_, admin) = vault
            .add_client("admin", &["admin".into()], actor())
            .await
            .expect("admin");
        let admin = vault.authenticate(&admin).await.expect("admin");
        let issuer = vault
            .create_issuer(
                &admin,
                NewIssuer {
                    name: "济南市市场监督管理局".into(),
                    uscc: "11370100004312345D".into(),
                    region: None,
                },
            )
            .await
            .expect("issuer");
        let (_, key) = vault
            .add_client("system", &["licence:issue".into()], actor())
            .await
            .expect("client");
        vault
            .bind_issuers("system", &[issuer.row.id], actor())
            .await
            .expect("bind");
        let client = vault.authenticate(&key).await.expect("client");
        let holder = &sample["holder"];
        let licence = vault
            .issue_licence(
                &client,
                LicenceRequest {
                    type_code: BUSINESS.into(),
                    issuer: None,
                    holder: LicenceHolder {
                        name: holder["name"].as_str().expect("name").into(),
                        id_type: "001".into(),
                        id_number: holder["id_number"].as_str().expect("id").into(),
                    },
                    number: None,
                    valid_from: None,
                    valid_to: None,
                    fields: sample["fields"].clone(),
                },
            )
            .await
            .expect("licence");
        (vault, client, licence)
    });
    g.bench_function("render + seal licence OFD (vault, audited)", |b| {
        b.iter(|| {
            rt.block_on(vault.seal_licence_ofd(&client, black_box(&licence)))
                .expect("sealed")
        })
    });
    g.finish();
}

fn presentation(c: &mut Criterion) {
    use base64::Engine;
    use sidian::crypto::{KeyType, PrivateKey};
    use sidian::present::token::{Disclosed, Payload, Profile, key_id};
    use sidian::present::trust::{FORMAT, PresentationKey, StatusKey, TrustedIssuer};
    use sidian::present::{Keyring, Token, TrustList, authenticate};

    let b64 = |der: &[u8]| base64::engine::general_purpose::STANDARD.encode(der);
    let key = PrivateKey::generate(KeyType::Sm2).expect("key");
    let status = PrivateKey::generate(KeyType::P256).expect("key");
    let spki = key.public_key().spki_der().to_vec();
    let list = TrustList {
        format: FORMAT.to_owned(),
        issuers: vec![TrustedIssuer {
            id: "iss_1".into(),
            name: "济南市市场监督管理局".into(),
            uscc: "11370100004312345D".into(),
            presentation_keys: vec![PresentationKey {
                kid: hex::encode(key_id(&spki)),
                alg: "sm2".into(),
                public_key: b64(&spki),
                not_before: "2026-01-01T00:00:00Z".into(),
                not_after: None,
            }],
            status_key: StatusKey {
                kid: "key_s".into(),
                alg: "ES256".into(),
                public_key: b64(status.public_key().spki_der()),
            },
            status_lists: vec![],
        }],
        licence_types: vec![],
    };
    let keyring = Keyring::new(&list).expect("keyring");
    let issued_at = 1_767_225_600;
    let code = Payload {
        profile: Profile::Basic,
        key_id: key_id(&spki),
        handle: [7; 16],
        nonce: [9; 8],
        issued_at,
        ttl_s: 60,
        list: [1; 16],
        slot: 42,
        type_code: BUSINESS.into(),
        disclosed: Some(Disclosed {
            holder_name: "济南******公司".into(),
            valid_from: time::macros::date!(2020 - 05 - 01),
            valid_to: None,
        }),
    }
    .sign(&key)
    .expect("sign");
    let now = i64::from(issued_at) + 5;
    let mut g = c.benchmark_group(format!("presentation token ({} characters)", code.len()));
    for (name, known) in [("check, SM2 verified", false), ("check, seen before", true)] {
        g.bench_function(name, |b| {
            b.iter(|| {
                let token = Token::parse(black_box(&code)).expect("token");
                authenticate(&keyring, token, now, Some(BUSINESS), known).expect("genuine")
            })
        });
    }
    g.finish();
}

criterion_group!(benches, render, presentation);
criterion_main!(benches);
