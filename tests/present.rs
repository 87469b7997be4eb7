//! 亮证: presentation tokens made for a licence and checked online (verdicts, the live status,
//! the record of checks, uniform answers and the rate limit for anonymous callers) and offline
//! (the trust list and the signed status lists, in the library and through `sidian present
//! verify`), and the published test vectors (`tests/data/present/vectors.json`).

mod common;

use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use ring::rand::{SecureRandom, SystemRandom};
use serde_json::{Value, json};
use sidian::present::offline::{self, Report};
use sidian::present::{Keyring, StatusLists, Token, TrustList, Verdict, base45};
use sidian::vault::Checker;
use tower::ServiceExt;

use common::{PgDatabase, TestVault};

/// 营业执照 (held by an organisation).
const BUSINESS: &str = "111000009000000146001";
/// 残疾人证 (held by a person).
const DISABILITY: &str = "11100000900000049Q001";
const CITIZEN_ID: &str = "370102198001011237";
const BIRTH_DATE: &str = "1980-01-01";
const ADDRESS: &str = "山东省济南市历下区某某路2号";

struct Setup {
    tv: TestVault,
    admin: String,
    /// The approval system that issues the licences.
    system: String,
    /// The wallet system: `present`, bound to the issuer.
    wallet: String,
    /// An inspectors' system: `inspect`.
    police: String,
    issuer: Value,
}

async fn setup(tv: TestVault) -> Setup {
    let admin = tv.client("admin", &["admin"]).await;
    let issuer = tv.licence_issuer(&admin).await;
    let system = tv.bound_client("system", &["licence:issue"], &issuer).await;
    let wallet = tv.bound_client("wallet", &["present"], &issuer).await;
    let police = tv.client("police", &["inspect"]).await;
    Setup {
        tv,
        admin,
        system,
        wallet,
        police,
        issuer,
    }
}

fn now_ms() -> i64 {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock");
    i64::try_from(d.as_millis()).expect("ms")
}

/// Sends a request to a fresh router; the status, headers and JSON body.
async fn send(tv: &TestVault, req: Request<Body>) -> (StatusCode, HeaderMap, Value) {
    let resp = sidian::api::app(tv.vault.clone())
        .oneshot(req)
        .await
        .expect("infallible");
    let (status, headers) = (resp.status(), resp.headers().clone());
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, headers, body)
}

fn post(path: &str, key: Option<&str>, body: &Value) -> Request<Body> {
    let mut req = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(k) = key {
        req = req.header(header::AUTHORIZATION, format!("Bearer {k}"));
    }
    req.body(Body::from(body.to_string())).expect("request")
}

async fn issue(s: &Setup, body: Value) -> Value {
    let mut req = post("/v1/licences", Some(&s.system), &body);
    let key = format!("lic-{}", body["holder"]["id_number"].as_str().expect("id"));
    req.headers_mut()
        .insert("idempotency-key", key.parse().expect("header"));
    let (st, _, licence) = send(&s.tv, req).await;
    assert_eq!(st, StatusCode::CREATED, "{licence}");
    licence
}

async fn business(s: &Setup, uscc: &str) -> Value {
    issue(
        s,
        json!({
            "type": BUSINESS,
            "holder": {"name": "济南某某科技有限公司", "id_type": "001", "id_number": uscc},
            "fields": {"entity_type": "有限责任公司", "legal_representative": "张三",
                "established_on": "2020-05-01", "operating_from": "2020-05-01", "operating_to": "长期",
                "domicile": "济南市历下区某某路1号", "business_scope": "软件开发"},
        }),
    )
    .await
}

async fn person(s: &Setup) -> Value {
    issue(
        s,
        json!({
            "type": DISABILITY,
            "holder": {"name": "欧阳明华", "id_type": "111", "id_number": CITIZEN_ID},
            "fields": {"sex": "男", "ethnicity": "汉族", "birth_date": BIRTH_DATE, "address": ADDRESS,
                "disability_category": "肢体残疾", "disability_grade": "三级"},
        }),
    )
    .await
}

/// A presentation of licence `id` made by the wallet; the answer.
async fn present(s: &Setup, id: &str, body: Value) -> Value {
    let (st, headers, answer) = send(
        &s.tv,
        post(
            &format!("/v1/licences/{id}/presentations"),
            Some(&s.wallet),
            &body,
        ),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{answer}");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    answer
}

fn token_of(presentation: &Value) -> String {
    presentation["token"].as_str().expect("token").to_owned()
}

/// Checks a code through the API as `key` (anonymous without); the status, headers and answer.
async fn check(s: &Setup, key: Option<&str>, body: Value) -> (StatusCode, HeaderMap, Value) {
    send(&s.tv, post("/v1/presentations/verify", key, &body)).await
}

/// Checks a code in the vault at `now` (ms), anonymously; the verdict.
async fn verdict_at(s: &Setup, code: &str, now: i64) -> Verdict {
    s.tv.vault
        .verify_presentation(Checker::Anonymous, code, None, now)
        .await
        .expect("check")
        .verdict
}

async fn change(s: &Setup, id: &str, action: &str) {
    let (st, _, body) = send(
        &s.tv,
        post(
            &format!("/v1/licences/{id}/{action}"),
            Some(&s.system),
            &json!({"reason": "测试"}),
        ),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{body}");
}

async fn uses(s: &Setup, id: &str, key: &str) -> (StatusCode, Value) {
    s.tv.get(&format!("/v1/licences/{id}/uses"), key).await
}

/// Presents, checks (anonymously and as an inspector, each profile), and reads the list of
/// checks, with who may do each.
async fn story(tv: TestVault) {
    let s = setup(tv).await;
    let licence = business(&s, "91370100MA3C123459").await;
    let id = licence["id"].as_str().expect("id");

    let p = present(&s, id, json!({})).await;
    let code = token_of(&p);
    assert!(code.starts_with("LZ1:") && code.len() <= 300, "{code}");
    assert_eq!(p["profile"], "basic");
    assert!(p["qr_svg"].as_str().expect("svg").starts_with("<svg"));
    let expires = time::OffsetDateTime::parse(
        p["expires_at"].as_str().expect("expires_at"),
        &time::format_description::well_known::Rfc3339,
    )
    .expect("RFC 3339");
    let lifetime = expires.unix_timestamp() - now_ms() / 1000;
    assert!((50..=60).contains(&lifetime), "default 60 s: {lifetime}");

    // Anyone: the verdict and what the code shows, nothing else; no caching.
    let (st, headers, v) = check(&s, None, json!({"token": code})).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    assert_eq!(v["verdict"], "VALID", "{v}");
    assert_eq!(v["licence"]["type"], BUSINESS);
    assert_eq!(v["licence"]["type_name"], "营业执照");
    assert_eq!(v["licence"]["issuer"]["id"], s.issuer["id"]);
    assert_eq!(v["licence"]["status"], "valid");
    assert_eq!(v["licence"]["holder"]["name"], "济南******公司");
    assert_eq!(v["licence"]["valid_to"], "长期");
    assert_eq!(v["token"]["profile"], "basic");
    assert!(v.get("full").is_none());

    // An inspector sees the whole licence only from a `full` code.
    let (_, _, v) = check(
        &s,
        Some(&s.police),
        json!({"token": code, "inspector": "警号 012345"}),
    )
    .await;
    assert_eq!(v["verdict"], "VALID");
    assert!(v.get("full").is_none(), "a basic code: {v}");
    let full = token_of(&present(&s, id, json!({"profile": "full", "ttl_s": 300})).await);
    let (_, _, v) = check(&s, Some(&s.police), json!({"token": full})).await;
    assert_eq!(v["full"]["id"], id, "{v}");
    assert_eq!(v["full"]["holder"]["id_number"], "91370100MA3C123459");
    // …and anyone else the code's fields alone.
    let (_, _, v) = check(&s, Some(&s.system), json!({"token": full})).await;
    assert_eq!(v["verdict"], "VALID");
    assert!(v.get("full").is_none());
    let (_, _, v) = check(&s, None, json!({"token": full})).await;
    assert!(v.get("full").is_none());
    let minimal = token_of(&present(&s, id, json!({"profile": "valid"})).await);
    let (_, _, v) = check(&s, None, json!({"token": minimal})).await;
    assert_eq!(v["verdict"], "VALID");
    assert!(v["licence"].get("holder").is_none(), "{v}");
    assert!(v["licence"].get("valid_to").is_none(), "{v}");

    // An inspector id without an API key, and bad requests.
    let (st, _, v) = check(&s, None, json!({"token": code, "inspector": "x"})).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    for body in [
        json!({"profile": "everything"}),
        json!({"ttl_s": 301}),
        json!({"ttl_s": 5}),
        json!({"profile": "basic", "licence": id}),
    ] {
        let (st, _, v) = send(
            &s.tv,
            post(
                &format!("/v1/licences/{id}/presentations"),
                Some(&s.wallet),
                &body,
            ),
        )
        .await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{body}: {v}");
    }

    // Who may present: the bound wallet (above), the issuing client with `present`, admin;
    // not a wallet bound to no issuer of it, nor a client without `present`.
    let stranger = s.tv.client("other-wallet", &["present"]).await;
    let path = format!("/v1/licences/{id}/presentations");
    for (key, want) in [
        (&stranger, StatusCode::NOT_FOUND),
        (&s.system, StatusCode::FORBIDDEN),
        (&s.police, StatusCode::FORBIDDEN),
        (&s.admin, StatusCode::CREATED),
    ] {
        let (st, _, v) = send(&s.tv, post(&path, Some(key), &json!({}))).await;
        assert_eq!(st, want, "{v}");
    }

    // Every check is in the licence's list of uses, with who, when and what was shown.
    let (st, list) = uses(&s, id, &s.wallet).await;
    assert_eq!(st, StatusCode::OK, "{list}");
    let items = list["items"].as_array().expect("items");
    assert_eq!(items.len(), 6, "{list}");
    assert!(items[0].get("client").is_none(), "anonymous: {}", items[0]);
    assert_eq!(items[0]["verdict"], "VALID");
    assert_eq!(items[0]["view"], "minimal");
    assert_eq!(items[1]["client"]["name"], "police");
    assert_eq!(items[1]["inspector"], "警号 012345");
    assert_eq!(items[2]["view"], "full");
    assert_eq!(items[2]["kind"], "inspection");
    let (st, page) =
        s.tv.get(&format!("/v1/licences/{id}/uses?limit=4"), &s.system)
            .await;
    assert_eq!(st, StatusCode::OK, "the issuing client: {page}");
    let cursor = page["next_cursor"].as_str().expect("a second page");
    let (_, rest) =
        s.tv.get(
            &format!("/v1/licences/{id}/uses?limit=4&cursor={cursor}"),
            &s.system,
        )
        .await;
    assert_eq!(rest["items"].as_array().expect("items").len(), 2);
    assert_eq!(uses(&s, id, &stranger).await.0, StatusCode::NOT_FOUND);
    assert_eq!(uses(&s, id, &s.police).await.0, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn presentations_sqlite() {
    story(TestVault::open(None).await).await;
}

#[tokio::test]
async fn presentations_postgres() {
    let Some(db) = PgDatabase::create().await else {
        return;
    };
    story(TestVault::open(Some(db.url.clone())).await).await;
    db.drop_db().await;
}

#[tokio::test]
async fn expiry_has_a_small_fixed_leeway_and_future_codes_are_refused() {
    let s = setup(TestVault::open(None).await).await;
    let licence = business(&s, "91370100MA3C123459").await;
    let code = token_of(
        &present(
            &s,
            licence["id"].as_str().expect("id"),
            json!({"ttl_s": 10}),
        )
        .await,
    );
    let t = Token::parse(&code).expect("token");
    let (iat, exp) = (
        i64::from(t.payload.issued_at) * 1000,
        t.payload.expires_at() * 1000,
    );
    assert_eq!(exp - iat, 10_000);
    assert_eq!(verdict_at(&s, &code, iat).await, Verdict::Valid);
    assert_eq!(verdict_at(&s, &code, exp + 10_999).await, Verdict::Valid);
    assert_eq!(verdict_at(&s, &code, exp + 11_000).await, Verdict::Expired);
    assert_eq!(verdict_at(&s, &code, iat - 10_000).await, Verdict::Valid);
    assert_eq!(verdict_at(&s, &code, iat - 11_000).await, Verdict::Invalid);
    // Through the API, once expired, with the code's fields still shown.
    let now = now_ms();
    let check =
        s.tv.vault
            .verify_presentation(Checker::Anonymous, &code, None, now.max(exp + 60_000))
            .await
            .expect("check");
    assert_eq!(check.verdict, Verdict::Expired);
    assert!(check.shown.is_some());
}

#[tokio::test]
async fn every_flipped_bit_and_a_stranger_key_under_the_same_id_are_invalid() {
    let s = setup(TestVault::open(None).await).await;
    let licence = business(&s, "91370100MA3C123459").await;
    let code = token_of(&present(&s, licence["id"].as_str().expect("id"), json!({})).await);
    let now = now_ms();
    assert_eq!(verdict_at(&s, &code, now).await, Verdict::Valid);
    let bytes = base45::decode(&code["LZ1:".len()..]).expect("base45");
    for bit in 0..bytes.len() * 8 {
        let mut flipped = bytes.clone();
        flipped[bit / 8] ^= 1 << (bit % 8);
        let forged = format!("LZ1:{}", base45::encode(&flipped));
        assert_eq!(
            verdict_at(&s, &forged, now).await,
            Verdict::Invalid,
            "bit {bit}"
        );
    }
    // The same payload, key id included, signed by another SM2 key.
    let stranger = sidian::crypto::PrivateKey::generate(sidian::crypto::KeyType::Sm2).expect("key");
    let payload = Token::parse(&code).expect("token").payload;
    let forged = payload.sign(&stranger).expect("sign");
    assert_eq!(
        Token::parse(&forged).expect("parses").payload.key_id,
        payload.key_id
    );
    assert_eq!(verdict_at(&s, &forged, now).await, Verdict::Invalid);
    let (_, _, v) = check(&s, None, json!({"token": forged})).await;
    assert_eq!(keys(&v), ["checked_at", "verdict"], "{v}");
    // None of these was recorded: only genuine codes are checks of a licence.
    let (_, list) = uses(&s, licence["id"].as_str().expect("id"), &s.wallet).await;
    assert_eq!(list["items"].as_array().expect("items").len(), 1, "{list}");
}

#[tokio::test]
async fn revocation_and_suspension_show_on_the_next_check() {
    let s = setup(TestVault::open(None).await).await;
    let a = business(&s, "91370100MA3C123459").await;
    let b = business(&s, "91370100MA3C12346C").await;
    let (a, b) = (
        a["id"].as_str().expect("id").to_owned(),
        b["id"].as_str().expect("id").to_owned(),
    );
    let code_a = token_of(&present(&s, &a, json!({"ttl_s": 300})).await);
    let code_b = token_of(&present(&s, &b, json!({"ttl_s": 300})).await);
    for _ in 0..2 {
        // The second check is answered from memory for the signature, not for the status.
        let (_, _, v) = check(&s, None, json!({"token": code_a})).await;
        assert_eq!(v["verdict"], "VALID");
    }
    change(&s, &a, "revoke").await;
    let (_, _, v) = check(&s, None, json!({"token": code_a})).await;
    assert_eq!(v["verdict"], "REVOKED", "{v}");
    assert_eq!(v["licence"]["status"], "revoked");
    assert_eq!(v["licence"]["status_code"], "07");
    change(&s, &b, "suspend").await;
    let (_, _, v) = check(&s, None, json!({"token": code_b})).await;
    assert_eq!(v["verdict"], "SUSPENDED", "{v}");
    change(&s, &b, "reinstate").await;
    let (_, _, v) = check(&s, None, json!({"token": code_b})).await;
    assert_eq!(v["verdict"], "VALID", "{v}");
    // A type required here that the code is not.
    let (_, _, v) = check(&s, None, json!({"token": code_b, "type": DISABILITY})).await;
    assert_eq!(v["verdict"], "WRONG_TYPE", "{v}");
    let (_, _, v) = check(&s, None, json!({"token": code_b, "type": BUSINESS})).await;
    assert_eq!(v["verdict"], "VALID", "{v}");
    // A licence that is not valid is not shown at all.
    let (st, _, v) = send(
        &s.tv,
        post(
            &format!("/v1/licences/{a}/presentations"),
            Some(&s.wallet),
            &json!({}),
        ),
    )
    .await;
    assert_eq!(st, StatusCode::CONFLICT, "{v}");
}

/// Checks that arrive together are read and recorded in one batch: codes of one licence each get
/// their verdict, each is recorded once, and a revocation committed before a batch shows in all
/// of it.
#[tokio::test]
async fn checks_in_one_batch_each_get_the_live_status_and_one_record() {
    let s = setup(TestVault::open(None).await).await;
    let a = business(&s, "91370100MA3C123459").await;
    let a = a["id"].as_str().expect("id").to_owned();
    let codes: Vec<String> = {
        let mut v = Vec::new();
        for _ in 0..3 {
            v.push(token_of(&present(&s, &a, json!({"ttl_s": 300})).await));
        }
        v
    };
    let run = |s: &Setup| {
        let vault = s.tv.vault.clone();
        let codes = codes.clone();
        async move {
            let checks = (0..30).map(|i| {
                let vault = vault.clone();
                let code = codes[i % codes.len()].clone();
                tokio::spawn(async move {
                    vault
                        .verify_presentation(Checker::Anonymous, &code, None, now_ms())
                        .await
                        .expect("check")
                        .verdict
                })
            });
            let mut verdicts = Vec::new();
            for c in checks {
                verdicts.push(c.await.expect("task"));
            }
            verdicts
        }
    };
    assert!(run(&s).await.iter().all(|v| *v == Verdict::Valid));
    change(&s, &a, "revoke").await;
    assert!(run(&s).await.iter().all(|v| *v == Verdict::Revoked));
    let mut recorded = 0;
    let mut cursor = String::new();
    loop {
        let path = format!("/v1/licences/{a}/uses?limit=100{cursor}");
        let (st, page) = s.tv.get(&path, &s.wallet).await;
        assert_eq!(st, StatusCode::OK, "{page}");
        recorded += page["items"].as_array().expect("items").len();
        match page["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(recorded, 60);
}

/// The text of the QR code an SVG answer draws, and its version (rasterised from the runs the
/// SVG path draws, then read by a decoder that shares nothing with the encoder).
fn read_qr(svg: &str) -> (String, usize) {
    let side: usize = svg
        .split("viewBox=\"0 0 ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("viewBox");
    let d = svg
        .split(" d=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("path");
    const PX: usize = 4;
    let mut grey = vec![255u8; side * side * PX * PX];
    for run in d.split('M').filter(|r| !r.is_empty()) {
        let (xy, len) = run.split_once('h').expect("h");
        let (x, y) = xy.split_once(' ').expect("x y");
        let (x, len): (usize, usize) = (x.parse().expect("x"), len.parse().expect("len"));
        let y: usize = y.trim_end_matches(".5").parse().expect("y");
        for col in x..x + len {
            for dy in 0..PX {
                for dx in 0..PX {
                    grey[(y * PX + dy) * side * PX + col * PX + dx] = 0;
                }
            }
        }
    }
    let w = side * PX;
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, w, |x, y| grey[y * w + x]);
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code");
    let (meta, content) = grids[0].decode().expect("decodes");
    assert_eq!(meta.ecc_level, 0, "error correction level M");
    (content, meta.version.0)
}

#[tokio::test]
async fn nothing_personal_in_the_code_the_qr_or_the_anonymous_answer() {
    let s = setup(TestVault::open(None).await).await;
    let licence = person(&s).await;
    let id = licence["id"].as_str().expect("id");
    let number = licence["number"].as_str().expect("number");
    let secrets = [
        CITIZEN_ID,
        &CITIZEN_ID[6..14],
        BIRTH_DATE,
        &BIRTH_DATE.replace('-', ""),
        ADDRESS,
        "历下区",
        "欧阳明华",
        id,
        number,
    ];
    for profile in ["valid", "basic", "full"] {
        let p = present(&s, id, json!({"profile": profile, "ttl_s": 300})).await;
        let code = token_of(&p);
        let svg = p["qr_svg"].as_str().expect("svg");
        let (read, version) = read_qr(svg);
        assert_eq!(read, code, "the QR code holds the code");
        assert!(version <= 10, "version {version}");
        let payload = base45::decode(&code[4..]).expect("base45");
        let payload_text = String::from_utf8_lossy(&payload);
        let (_, _, answer) = check(&s, None, json!({"token": code})).await;
        assert_eq!(answer["verdict"], "VALID", "{answer}");
        let answer = answer.to_string();
        for secret in secrets {
            for (what, text) in [
                ("code", code.as_str()),
                ("payload", &payload_text),
                ("svg", svg),
                ("anonymous answer", &answer),
            ] {
                assert!(
                    !text.contains(secret),
                    "{profile}: {what} contains {secret}"
                );
            }
        }
        if profile != "valid" {
            assert!(answer.contains("欧**华"), "masked name: {answer}");
        }
    }
}

/// An answer's keys, sorted.
fn keys(v: &Value) -> Vec<String> {
    let mut keys: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
    keys.sort();
    keys
}

fn from_peer(body: &Value, key: Option<&str>) -> Request<Body> {
    let mut req = post("/v1/presentations/verify", key, body);
    req.extensions_mut()
        .insert(ConnectInfo(SocketAddr::from(([10, 0, 0, 7], 40_000))));
    req
}

async fn answer(app: &Router, req: Request<Body>) -> (StatusCode, Value) {
    let resp = app.clone().oneshot(req).await.expect("infallible");
    let status = resp.status();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    (status, serde_json::from_slice(&bytes).expect("JSON"))
}

#[tokio::test]
async fn a_thousand_anonymous_guesses_are_rate_limited_and_learn_nothing() {
    let s = setup(TestVault::open(None).await).await;
    let licence = business(&s, "91370100MA3C123459").await;
    let id = licence["id"].as_str().expect("id");
    let genuine = base45::decode(&token_of(&present(&s, id, json!({})).await)[4..]).expect("b45");
    let app = sidian::api::app(s.tv.vault.clone());
    let rng = SystemRandom::new();
    let (mut answered, mut limited) = (0, 0);
    for i in 0..1000 {
        // Random codes of a token's length; every third keeps the genuine key id and handle.
        let mut guess = vec![0u8; genuine.len()];
        rng.fill(&mut guess).expect("random");
        if i % 3 == 0 {
            guess[..26].copy_from_slice(&genuine[..26]);
        }
        let code = format!("LZ1:{}", base45::encode(&guess));
        let (status, body) = answer(&app, from_peer(&json!({"token": code}), None)).await;
        match status {
            StatusCode::OK => {
                answered += 1;
                assert_eq!(keys(&body), ["checked_at", "verdict"], "{body}");
                assert_eq!(body["verdict"], "INVALID");
            }
            StatusCode::TOO_MANY_REQUESTS => {
                limited += 1;
                assert_eq!(body["error"]["code"], "rate_limited");
            }
            other => panic!("{other}: {body}"),
        }
    }
    // The burst is answered, then the peer is held to its rate.
    assert!(
        answered >= 100 && limited > 0,
        "answered {answered}, limited {limited}"
    );
    // An inspector's system with its API key is not limited by the anonymous callers' share.
    let (status, body) = answer(
        &app,
        from_peer(&json!({"token": "LZ1:BB8"}), Some(&s.police)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["verdict"], "INVALID");
    // Not one guess was recorded against the licence.
    let (_, list) = uses(&s, id, &s.wallet).await;
    assert_eq!(list["items"], json!([]), "{list}");
}

/// The trust list and the status list of licence `licence`, as an inspector's device keeps
/// them.
async fn fetch_offline_state(s: &Setup, licence: &Value) -> (String, String) {
    let get = |path: String, etag: Option<String>| {
        let mut req = Request::builder().uri(path);
        if let Some(tag) = etag {
            req = req.header(header::IF_NONE_MATCH, tag);
        }
        req.body(Body::empty()).expect("request")
    };
    let resp = sidian::api::app(s.tv.vault.clone())
        .oneshot(get("/v1/presentations/trust".into(), None))
        .await
        .expect("infallible");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()[header::CACHE_CONTROL], "public, max-age=300");
    let etag = resp.headers()[header::ETAG]
        .to_str()
        .expect("etag")
        .to_owned();
    let trust = resp.into_body().collect().await.expect("body").to_bytes();
    let resp = sidian::api::app(s.tv.vault.clone())
        .oneshot(get("/v1/presentations/trust".into(), Some(etag)))
        .await
        .expect("infallible");
    assert_eq!(resp.status(), StatusCode::NOT_MODIFIED);
    let list_id = licence["status_list"]["id"].as_str().expect("list");
    let resp = sidian::api::app(s.tv.vault.clone())
        .oneshot(get(format!("/v1/status-lists/{list_id}"), None))
        .await
        .expect("infallible");
    let list = resp.into_body().collect().await.expect("body").to_bytes();
    (
        String::from_utf8(trust.to_vec()).expect("utf-8"),
        String::from_utf8(list.to_vec()).expect("utf-8"),
    )
}

fn offline_check(trust: &str, list: &str, code: &str, now: i64, max_age: Option<i64>) -> Report {
    let trust: TrustList = serde_json::from_str(trust).expect("trust list");
    let keyring = Keyring::new(&trust).expect("keyring");
    let mut lists = StatusLists::default();
    lists.add(list).expect("status list");
    offline::verify(code, &keyring, &lists, now, None, max_age)
}

fn cli_verify(args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sidian"))
        .args(["present", "verify"])
        .args(args)
        .env_remove("SIDIAN_DATA")
        .output()
        .expect("run sidian");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[tokio::test]
async fn offline_verification_trusts_fresh_signed_lists_only() {
    let s = setup(TestVault::open(None).await).await;
    let licence = business(&s, "91370100MA3C123459").await;
    let id = licence["id"].as_str().expect("id");
    let code = token_of(&present(&s, id, json!({"ttl_s": 300})).await);
    let (trust, list) = fetch_offline_state(&s, &licence).await;
    let now = now_ms() / 1000;
    // The trust list names the issuer's status lists: what a device fetches to check offline.
    let named: Value = serde_json::from_str(&trust).expect("json");
    assert!(
        named["issuers"]
            .as_array()
            .expect("issuers")
            .iter()
            .any(|i| i["status_lists"]
                .as_array()
                .is_some_and(|l| l.contains(&licence["status_list"]["id"]))),
        "{trust}"
    );

    let r = offline_check(&trust, &list, &code, now, None);
    assert_eq!(r.verdict, Verdict::Valid, "{}", r.summary());
    assert_eq!(
        r.licence.as_ref().map(|l| l.type_code.as_str()),
        Some(BUSINESS)
    );
    // A list older than the verifier allows says nothing: unknown, never valid.
    let r = offline_check(&trust, &list, &code, now + 6, Some(5));
    assert_eq!(r.verdict, Verdict::Unknown, "{}", r.summary());
    let status = r.status.as_ref().expect("status");
    assert!(status.unknown_since.is_some() && status.value.is_none());
    assert!(
        r.summary().contains("status unknown since"),
        "{}",
        r.summary()
    );

    // Revoked: a list fetched afterwards says so.
    change(&s, id, "revoke").await;
    let (_, fresh) = fetch_offline_state(&s, &licence).await;
    let r = offline_check(&trust, &fresh, &code, now, None);
    assert_eq!(r.verdict, Verdict::Revoked, "{}", r.summary());

    // A list of another issuer's key, or none, leaves the status unknown.
    let trust_value: Value = serde_json::from_str(&trust).expect("json");
    let mut other = trust_value.clone();
    other["issuers"][0]["status_key"]["public_key"] = json!(common::b64(
        sidian::crypto::PrivateKey::generate(sidian::crypto::KeyType::P256)
            .expect("key")
            .public_key()
            .spki_der()
    ));
    let r = offline_check(&other.to_string(), &fresh, &code, now, None);
    assert_eq!(r.verdict, Verdict::Unknown, "{}", r.summary());

    // The same through the CLI, from files.
    let dir = tempfile::tempdir().expect("dir");
    let trust_file = dir.path().join("trust.json");
    std::fs::write(&trust_file, &trust).expect("write");
    let lists = dir.path().join("lists");
    std::fs::create_dir(&lists).expect("dir");
    std::fs::write(lists.join("list.jwt"), &fresh).expect("write");
    let trust_arg = trust_file.to_str().expect("path");
    let lists_arg = lists.to_str().expect("path");
    let (ok, out) = cli_verify(&["--trust", trust_arg, "--status", lists_arg, &code]);
    assert!(!ok && out.starts_with("REVOKED"), "{out}");
    let (ok, out) = cli_verify(&["--trust", trust_arg, &code]);
    assert!(!ok && out.starts_with("UNKNOWN"), "no lists: {out}");
    let other = business(&s, "91370100MA3C12346C").await;
    let valid = token_of(&present(&s, other["id"].as_str().expect("id"), json!({})).await);
    let (_, newer) = fetch_offline_state(&s, &other).await;
    std::fs::write(lists.join("list.jwt"), &newer).expect("write");
    let (ok, out) = cli_verify(&[
        "--trust", trust_arg, "--status", lists_arg, "--json", &valid,
    ]);
    let report: Value = serde_json::from_str(&out).expect("JSON");
    assert!(ok, "{out}");
    assert_eq!(report["verdict"], "VALID");
    assert_eq!(report["licence"]["holder_name"], "济南******公司");
    let (ok, out) = cli_verify(&[
        "--trust",
        trust_arg,
        "--status",
        lists_arg,
        "--max-age",
        "0",
        &valid,
    ]);
    assert!(!ok && out.contains("status unknown since"), "{out}");
    let (ok, out) = cli_verify(&[
        "--trust", trust_arg, "--status", lists_arg, "--type", DISABILITY, &valid,
    ]);
    assert!(!ok && out.starts_with("WRONG_TYPE"), "{out}");
}

#[tokio::test]
async fn presentation_keys_may_be_ed25519_and_older_issuers_get_one_on_first_need() {
    let tv = TestVault::open_with(None, |c, _| {
        c.presentation_alg = sidian::crypto::KeyType::Ed25519;
    })
    .await;
    let s = setup(tv).await;
    let licence = business(&s, "91370100MA3C123459").await;
    let id = licence["id"].as_str().expect("id");
    let code = token_of(&present(&s, id, json!({})).await);
    let (_, _, v) = check(&s, None, json!({"token": code})).await;
    assert_eq!(v["verdict"], "VALID", "{v}");
    let (trust, _) = fetch_offline_state(&s, &licence).await;
    let trust: Value = serde_json::from_str(&trust).expect("json");
    let keys = &trust["issuers"][0]["presentation_keys"];
    assert_eq!(keys[0]["alg"], "ed25519", "{trust}");

    // An issuer registered before presentation keys existed has none until one is needed.
    let db = s.tv.config.data_dir.join("sidian.db");
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&format!(
        "sqlite://{}",
        db.display()
    ))
    .await
    .expect("db");
    sqlx::query("UPDATE issuers SET presentation_key_id = NULL")
        .execute(&mut conn)
        .await
        .expect("update");
    let second = token_of(&present(&s, id, json!({})).await);
    let new_kid = Token::parse(&second).expect("token").payload.key_id;
    assert_ne!(new_kid, Token::parse(&code).expect("token").payload.key_id);
    let (_, _, v) = check(&s, None, json!({"token": second})).await;
    assert_eq!(v["verdict"], "VALID", "{v}");
    let (trust, _) = fetch_offline_state(&s, &licence).await;
    assert!(trust.contains(&hex::encode(new_kid)), "{trust}");
}

// ---------------------------------------------------------------------------------------------
// Test vectors: `tests/data/present/vectors.json`, regenerated with
// `SIDIAN_UPDATE_VECTORS=1 cargo test --test present vectors`.

const VECTORS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/present/vectors.json"
);

#[test]
fn vectors_give_their_verdicts() {
    if std::env::var_os("SIDIAN_UPDATE_VECTORS").is_some() {
        vectors::write(VECTORS);
    }
    let file: Value =
        serde_json::from_str(&std::fs::read_to_string(VECTORS).expect("vectors")).expect("JSON");
    let trust: TrustList = serde_json::from_value(file["trust"].clone()).expect("trust list");
    let keyring = Keyring::new(&trust).expect("keyring");
    let mut lists = StatusLists::default();
    for jwt in file["status_lists"].as_array().expect("lists") {
        lists.add(jwt.as_str().expect("jwt")).expect("status list");
    }
    let vectors = file["vectors"].as_array().expect("vectors");
    assert!(vectors.len() >= 15);
    for v in vectors {
        let name = v["name"].as_str().expect("name");
        let code = v["token"].as_str().expect("token");
        let report = offline::verify(
            code,
            &keyring,
            &lists,
            v["now"].as_i64().expect("now"),
            v["type"].as_str(),
            v["max_age"].as_i64(),
        );
        assert_eq!(
            report.verdict.as_str(),
            v["verdict"],
            "{name}: {}",
            report.summary()
        );
        if let Some(hex_payload) = v["payload"].as_str() {
            let bytes = base45::decode(&code[4..]).expect("base45");
            assert_eq!(
                hex::encode(&bytes[..bytes.len() - 64]),
                hex_payload,
                "{name}"
            );
        }
    }
}

/// Writes the vectors: fresh keys each time (their private keys are in the file, so that anyone
/// can make more), tokens and lists dated at a fixed moment.
mod vectors {
    use base64::{Engine, engine::general_purpose::STANDARD as B64};
    use serde_json::{Value, json};
    use sidian::crypto::{KeyType, PrivateKey, SignatureAlgorithm, ec_signature};
    use sidian::licence::status_list::{TokenClaims, signing_input, token};
    use sidian::licence::{SlotStatus, StatusList};
    use sidian::present::base45;
    use sidian::present::token::{Disclosed, Payload, Profile, key_id};
    use time::{Date, Month};

    /// 2026-03-01T00:00:00Z: the lists are made then, the tokens a little later.
    const T0: i64 = 1_772_323_200;
    const LIST_ID: [u8; 16] = [0x5a; 16];

    fn rfc3339(t: i64) -> String {
        time::OffsetDateTime::from_unix_timestamp(t)
            .expect("time")
            .format(&time::format_description::well_known::Rfc3339)
            .expect("format")
    }

    fn key_entry(key: &PrivateKey, not_before: i64, not_after: Option<i64>) -> Value {
        let public = key.public_key();
        json!({
            "kid": hex::encode(key_id(public.spki_der())),
            "alg": key.key_type().as_str(),
            "public_key": B64.encode(public.spki_der()),
            "not_before": rfc3339(not_before),
            "not_after": not_after.map(rfc3339),
        })
    }

    fn private(name: &str, key: &PrivateKey) -> Value {
        json!({"name": name, "alg": key.key_type().as_str(),
            "pkcs8": B64.encode(key.to_pkcs8_der().as_slice()),
            "public_key": B64.encode(key.public_key().spki_der())})
    }

    fn payload(key: &PrivateKey, profile: Profile, issued_at: i64, slot: u32) -> Payload {
        Payload {
            profile,
            key_id: key_id(key.public_key().spki_der()),
            handle: [0x11; 16],
            nonce: [0x22; 8],
            issued_at: u32::try_from(issued_at).expect("u32"),
            ttl_s: 60,
            list: LIST_ID,
            slot,
            type_code: "111000009000000146001".into(),
            disclosed: profile.discloses().then(|| Disclosed {
                holder_name: "济南******公司".into(),
                valid_from: Date::from_calendar_date(2020, Month::May, 1).expect("date"),
                valid_to: None,
            }),
        }
    }

    /// A code of `bytes` signed as they are (for payloads the writer refuses to make).
    fn sign_raw(key: &PrivateKey, bytes: &[u8]) -> String {
        let alg = key.key_type().default_signature_algorithm();
        let der = key.sign(alg, bytes).expect("sign");
        let sig = match key.key_type() {
            KeyType::Ed25519 => der,
            _ => ec_signature::raw_from_der(&der).expect("raw").to_vec(),
        };
        format!("LZ1:{}", base45::encode(&[bytes, &sig].concat()))
    }

    /// `code` with the low bit of one byte flipped: `at` picks it given the byte count.
    fn flip(code: &str, at: impl Fn(usize) -> usize) -> String {
        let mut b = base45::decode(&code[4..]).expect("base45");
        let at = at(b.len());
        b[at] ^= 0x01;
        format!("LZ1:{}", base45::encode(&b))
    }

    pub(super) fn write(path: &str) {
        let sm2 = PrivateKey::generate(KeyType::Sm2).expect("key");
        let retired = PrivateKey::generate(KeyType::Ed25519).expect("key");
        let stranger = PrivateKey::generate(KeyType::Sm2).expect("key");
        let status = PrivateKey::generate(KeyType::P256).expect("key");
        // The retired key signed until T0; the SM2 key from T0 - 1 day.
        let trust = json!({
            "format": "sidian-presentation-trust/1",
            "issuers": [{
                "id": "iss_00000000000000000000000000000001",
                "name": "济南市市场监督管理局",
                "uscc": "11370100004312345D",
                "presentation_keys": [
                    key_entry(&sm2, T0 - 86_400, None),
                    key_entry(&retired, T0 - 30 * 86_400, Some(T0)),
                ],
                "status_key": {"kid": "key_status", "alg": "ES256",
                    "public_key": B64.encode(status.public_key().spki_der())},
            }],
            "licence_types": [{"code": "111000009000000146001", "name": "营业执照"}],
        });
        let mut bits = StatusList::new(64);
        bits.set(8, SlotStatus::Invalid);
        bits.set(9, SlotStatus::Suspended);
        let claims = TokenClaims {
            sub: format!(
                "https://sidian.example/v1/status-lists/sl_{}",
                hex::encode(LIST_ID)
            ),
            iat: T0,
            exp: T0 + 86_400,
            ttl: 5,
        };
        let input = signing_input("key_status", &claims, &bits);
        let der = status
            .sign(SignatureAlgorithm::EcdsaP256Sha256, input.as_bytes())
            .expect("sign");
        let list = token(&input, &ec_signature::raw_from_der(&der).expect("raw"));

        let at = T0 + 100;
        let basic = payload(&sm2, Profile::Basic, at, 7);
        let code = basic.sign(&sm2).expect("sign");
        let mut vectors = Vec::new();
        let mut add = |name: &str,
                       token: String,
                       payload: Option<&Payload>,
                       now: i64,
                       extra: Value,
                       verdict: &str| {
            let mut v = json!({"name": name, "token": token, "now": now, "now_rfc3339": rfc3339(now),
                "payload": payload.map(|p| hex::encode(p.to_bytes().expect("bytes"))),
                "type": null, "max_age": null, "verdict": verdict});
            if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
                o.extend(e.clone());
            }
            vectors.push(v);
        };
        add(
            "basic profile, SM2, slot valid",
            code.clone(),
            Some(&basic),
            at + 30,
            json!({}),
            "VALID",
        );
        let valid = payload(&sm2, Profile::Valid, at, 7);
        add(
            "valid profile: nothing disclosed",
            valid.sign(&sm2).expect("sign"),
            Some(&valid),
            at + 30,
            json!({}),
            "VALID",
        );
        let full = payload(&sm2, Profile::Full, at, 7);
        add(
            "full profile (offline it shows what basic shows)",
            full.sign(&sm2).expect("sign"),
            Some(&full),
            at + 30,
            json!({}),
            "VALID",
        );
        add(
            "10 s after expiry: inside the leeway",
            code.clone(),
            Some(&basic),
            at + 70,
            json!({}),
            "VALID",
        );
        add(
            "11 s after expiry",
            code.clone(),
            Some(&basic),
            at + 71,
            json!({}),
            "EXPIRED",
        );
        add(
            "issued 11 s in the verifier's future",
            code.clone(),
            Some(&basic),
            at - 11,
            json!({}),
            "INVALID",
        );
        add(
            "one bit flipped in the signature",
            flip(&code, |n| n - 1),
            None,
            at + 30,
            json!({}),
            "INVALID",
        );
        add(
            "one bit flipped in the payload (the slot)",
            flip(&code, |_| 59),
            None,
            at + 30,
            json!({}),
            "INVALID",
        );
        add(
            "signed by another key under the same key id",
            basic.sign(&stranger).expect("sign"),
            Some(&basic),
            at + 30,
            json!({}),
            "INVALID",
        );
        add(
            "another type required",
            code.clone(),
            Some(&basic),
            at + 30,
            json!({"type": "11100000900000049Q001"}),
            "WRONG_TYPE",
        );
        let revoked = payload(&sm2, Profile::Basic, at, 8);
        add(
            "slot invalid (revoked, cancelled, expired or superseded)",
            revoked.sign(&sm2).expect("sign"),
            Some(&revoked),
            at + 30,
            json!({}),
            "REVOKED",
        );
        let suspended = payload(&sm2, Profile::Basic, at, 9);
        add(
            "slot suspended",
            suspended.sign(&sm2).expect("sign"),
            Some(&suspended),
            at + 30,
            json!({}),
            "SUSPENDED",
        );
        let late = payload(&sm2, Profile::Basic, T0 + 86_400 - 20, 7);
        add(
            "the status list expired (exp) while the token is current",
            late.sign(&sm2).expect("sign"),
            Some(&late),
            T0 + 86_400 + 1,
            json!({}),
            "UNKNOWN",
        );
        add(
            "the status list older than the verifier's max_age",
            code.clone(),
            Some(&basic),
            at + 30,
            json!({"max_age": 60}),
            "UNKNOWN",
        );
        let mut other_list = payload(&sm2, Profile::Basic, at, 7);
        other_list.list = [0x6b; 16];
        add(
            "no status list of the token's list is held",
            other_list.sign(&sm2).expect("sign"),
            Some(&other_list),
            at + 30,
            json!({}),
            "UNKNOWN",
        );
        let mut old = payload(&retired, Profile::Basic, T0 - 100, 7);
        old.ttl_s = 300;
        add(
            "a retired key, token from its window",
            old.sign(&retired).expect("sign"),
            Some(&old),
            T0 + 30,
            json!({}),
            "VALID",
        );
        let after = payload(&retired, Profile::Basic, at, 7);
        add(
            "a retired key, token after its window",
            after.sign(&retired).expect("sign"),
            Some(&after),
            at + 30,
            json!({}),
            "INVALID",
        );
        let unknown = payload(&stranger, Profile::Basic, at, 7);
        add(
            "a key id the trust list lacks",
            unknown.sign(&stranger).expect("sign"),
            Some(&unknown),
            at + 30,
            json!({}),
            "INVALID",
        );
        let mut long = basic.to_bytes().expect("bytes");
        long[38..40].copy_from_slice(&301u16.to_be_bytes());
        add(
            "a lifetime over 300 s, signed",
            sign_raw(&sm2, &long),
            None,
            at + 30,
            json!({}),
            "INVALID",
        );
        let mut ended = payload(&sm2, Profile::Basic, at, 7);
        if let Some(d) = ended.disclosed.as_mut() {
            d.valid_to = Some(Date::from_calendar_date(2026, Month::February, 28).expect("date"));
        }
        add(
            "the licence's validity ended (shown in the token)",
            ended.sign(&sm2).expect("sign"),
            Some(&ended),
            at + 30,
            json!({}),
            "EXPIRED",
        );
        add(
            "not a code: wrong prefix",
            code.replacen("LZ1:", "LZ2:", 1),
            None,
            at + 30,
            json!({}),
            "INVALID",
        );
        let doc = json!({
            "about": "Presentation token test vectors (schemas/presentation-token.md). Verify each `token` at `now` (seconds since the Unix epoch) against `trust` and `status_lists`, requiring `type` when given and treating status lists older than `max_age` seconds as stale when given; expect `verdict`. `payload` is the hex of the signed bytes when the token has a well-formed payload. `keys` holds the private keys (PKCS#8, base64) that made them.",
            "keys": [private("presentation SM2", &sm2), private("retired presentation Ed25519", &retired),
                private("stranger SM2 (not in the trust list)", &stranger), private("status list P-256", &status)],
            "trust": trust,
            "status_lists": [list],
            "vectors": vectors,
        });
        let mut text = serde_json::to_string_pretty(&doc).expect("json");
        text.push('\n');
        std::fs::create_dir_all(std::path::Path::new(path).parent().expect("dir")).expect("mkdir");
        std::fs::write(path, text).expect("write vectors");
    }
}
