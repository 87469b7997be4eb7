//! The demo wallet (`/wallet`, `serve --demo-wallet`) and device-bound presentation: the
//! routes exist only with the flag, a session shows one holder's licences and nothing else
//! (the vault refuses another's whatever the request names), the CSRF header and the sealed
//! cookie are required, a presentation made through the wallet verifies, and a check given a
//! challenge says whether the licence's device answered it (answered, not answered, wrong key,
//! expired, another licence's device).

mod common;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64URL};
use http_body_util::BodyExt;
use p256::ecdsa::signature::Signer as _;
use p256::pkcs8::EncodePublicKey as _;
use ring::rand::{SecureRandom, SystemRandom};
use serde_json::{Value, json};
use sidian::vault::{AuthClient, Checker, DeviceAnswer, device_message};
use tower::ServiceExt;

use common::{PgDatabase, TestVault};

/// 营业执照 (held by an organisation).
const BUSINESS: &str = "111000009000000146001";
const HOLDER: &str = "91370100MA3C123459";
const HOLDER_NAME: &str = "济南某某科技有限公司";
const OTHER: &str = "91370100MA3C12346C";
const OTHER_NAME: &str = "济南另一科技有限公司";

struct Setup {
    tv: TestVault,
    admin: String,
    system: String,
    /// A `present` client of the province's wallet system, bound to the issuer.
    wallet: String,
}

async fn setup(tv: TestVault) -> Setup {
    let admin = tv.client("admin", &["admin"]).await;
    let issuer = tv.licence_issuer(&admin).await;
    let system = tv.bound_client("system", &["licence:issue"], &issuer).await;
    let wallet = tv.bound_client("wallet", &["present"], &issuer).await;
    Setup {
        tv,
        admin,
        system,
        wallet,
    }
}

async fn demo_vault(database_url: Option<String>) -> TestVault {
    TestVault::open_with(database_url, |c, _| c.demo_wallet = true).await
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

/// A wallet call: the CSRF header unless `csrf` is false, the session cookie when given.
fn wallet_req(
    method: Method,
    path: &str,
    cookie: Option<&str>,
    body: Option<&Value>,
    csrf: bool,
) -> Request<Body> {
    let mut req = Request::builder().method(method).uri(path);
    if csrf {
        req = req.header("x-sidian-wallet", "1");
    }
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, format!("sidian_wallet={c}"));
    }
    match body {
        Some(b) => req
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(b.to_string())),
        None => req.body(Body::empty()),
    }
    .expect("request")
}

/// A wallet call with the CSRF header; the status and JSON body.
async fn call(
    s: &Setup,
    method: Method,
    path: &str,
    cookie: Option<&str>,
    body: Option<&Value>,
) -> (StatusCode, Value) {
    let (st, _, body) = send(&s.tv, wallet_req(method, path, cookie, body, true)).await;
    (st, body)
}

fn v1_post(path: &str, key: Option<&str>, body: &Value) -> Request<Body> {
    let mut req = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(k) = key {
        req = req.header(header::AUTHORIZATION, format!("Bearer {k}"));
    }
    req.body(Body::from(body.to_string())).expect("request")
}

async fn issue(s: &Setup, uscc: &str, name: &str) -> String {
    let body = json!({
        "type": BUSINESS,
        "holder": {"name": name, "id_type": "001", "id_number": uscc},
        "fields": {"entity_type": "有限责任公司", "legal_representative": "张三",
            "established_on": "2020-05-01", "operating_from": "2020-05-01", "operating_to": "长期",
            "domicile": "济南市历下区某某路1号", "business_scope": "软件开发"},
    });
    let mut req = v1_post("/v1/licences", Some(&s.system), &body);
    req.headers_mut().insert(
        "idempotency-key",
        format!("lic-{uscc}").parse().expect("header"),
    );
    let (st, _, licence) = send(&s.tv, req).await;
    assert_eq!(st, StatusCode::CREATED, "{licence}");
    licence["id"].as_str().expect("id").to_owned()
}

/// Logs the holder in; the sealed cookie value.
async fn login(s: &Setup, code: &str, name: &str) -> String {
    let (st, headers, body) = send(
        &s.tv,
        wallet_req(
            Method::POST,
            "/wallet/api/session",
            None,
            Some(&json!({"holder_code": code, "holder_name": name})),
            true,
        ),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{body}");
    assert_eq!(body["demo"], true);
    let set = headers[header::SET_COOKIE].to_str().expect("ascii");
    for attr in [
        "HttpOnly",
        "SameSite=Strict",
        "Path=/wallet",
        "Max-Age=1800",
    ] {
        assert!(set.contains(attr), "{attr} missing in {set}");
    }
    let value = set
        .strip_prefix("sidian_wallet=")
        .and_then(|v| v.split(';').next())
        .expect("cookie value");
    // Sealed: the holder code is not readable in it.
    assert!(!value.contains(code));
    value.to_owned()
}

async fn wallet_present(s: &Setup, cookie: &str, id: &str) -> (StatusCode, Value) {
    let (st, body) = call(
        s,
        Method::POST,
        &format!("/wallet/api/licences/{id}/presentations"),
        Some(cookie),
        Some(&json!({"profile": "basic", "ttl_s": 60})),
    )
    .await;
    (st, body)
}

#[tokio::test]
async fn without_the_flag_the_wallet_routes_are_absent() {
    let s = setup(TestVault::open(None).await).await;
    issue(&s, HOLDER, HOLDER_NAME).await;
    let (st, body) = call(
        &s,
        Method::POST,
        "/wallet/api/session",
        None,
        Some(&json!({"holder_code": HOLDER, "holder_name": HOLDER_NAME})),
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{body}");
    let (st, _) = call(&s, Method::GET, "/wallet/api/licences", None, None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    // The page explains where the wallet is, and offers no login.
    let (st, html) = s.tv.send(Method::GET, "/wallet", None, None, "").await;
    assert_eq!(st, StatusCode::OK);
    let html = String::from_utf8(html).expect("utf-8");
    assert!(html.contains("wallet-off"), "{html}");
    assert!(!html.contains("wallet.js"));
}

async fn wallet_story(tv: TestVault) {
    let s = setup(tv).await;
    let mine = issue(&s, HOLDER, HOLDER_NAME).await;
    let theirs = issue(&s, OTHER, OTHER_NAME).await;

    // The page with the demo banner and its script.
    let (st, html) = s.tv.send(Method::GET, "/wallet", None, None, "").await;
    assert_eq!(st, StatusCode::OK);
    let html = String::from_utf8(html).expect("utf-8");
    assert!(
        html.contains("演示登录") && html.contains("wallet.js"),
        "{html}"
    );

    // A wrong name opens nothing.
    let (st, _) = call(
        &s,
        Method::POST,
        "/wallet/api/session",
        None,
        Some(&json!({"holder_code": HOLDER, "holder_name": OTHER_NAME})),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);

    let cookie = login(&s, HOLDER, HOLDER_NAME).await;
    let (st, session) = call(&s, Method::GET, "/wallet/api/session", Some(&cookie), None).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(session["holder_name"], HOLDER_NAME);

    // The holder's licences only, the number masked.
    let (st, list) = call(&s, Method::GET, "/wallet/api/licences", Some(&cookie), None).await;
    assert_eq!(st, StatusCode::OK, "{list}");
    let items = list["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{list}");
    assert_eq!(items[0]["id"], mine.as_str());
    assert_eq!(items[0]["status"], "valid");
    assert_eq!(items[0]["type_name"], "营业执照");
    assert!(items[0]["number_masked"].as_str().expect("n").contains('*'));

    // Without the header: 403, whatever the cookie.
    let (st, _, body) = send(
        &s.tv,
        wallet_req(
            Method::GET,
            "/wallet/api/licences",
            Some(&cookie),
            None,
            false,
        ),
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert_eq!(body["error"]["code"], "wallet_header_required");

    // No cookie, or one altered: 401 no_session.
    let mut altered = cookie.clone().into_bytes();
    let i = altered.len() / 2;
    altered[i] = if altered[i] == b'A' { b'B' } else { b'A' };
    let altered = String::from_utf8(altered).expect("ascii");
    for c in [None, Some(altered.as_str()), Some("bm90IGEgc2Vzc2lvbg")] {
        let (st, body) = call(&s, Method::GET, "/wallet/api/licences", c, None).await;
        assert_eq!(st, StatusCode::UNAUTHORIZED, "{c:?}");
        assert_eq!(body["error"]["code"], "no_session");
    }

    // Another holder's licence, named in the path: as if absent.
    for path in [
        format!("/wallet/api/licences/{theirs}/presentations"),
        format!("/wallet/api/licences/{theirs}/devices"),
    ] {
        let body = if path.ends_with("devices") {
            json!({"public_key": B64URL.encode(device_key().1), "label": "x"})
        } else {
            json!({"profile": "basic"})
        };
        let (st, answer) = call(&s, Method::POST, &path, Some(&cookie), Some(&body)).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{path}: {answer}");
    }
    let (st, _) = call(
        &s,
        Method::GET,
        &format!("/wallet/api/licences/{theirs}/uses"),
        Some(&cookie),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    // A presentation through the wallet verifies VALID and shows in the holder's uses.
    let (st, p) = wallet_present(&s, &cookie, &mine).await;
    assert_eq!(st, StatusCode::CREATED, "{p}");
    assert!(p["qr_svg"].as_str().expect("svg").starts_with("<svg"));
    let (st, _, v) = send(
        &s.tv,
        v1_post(
            "/v1/presentations/verify",
            None,
            &json!({"token": p["token"]}),
        ),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["verdict"], "VALID", "{v}");
    assert!(v.get("device").is_none());
    let (st, uses) = call(
        &s,
        Method::GET,
        &format!("/wallet/api/licences/{mine}/uses"),
        Some(&cookie),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{uses}");
    assert_eq!(uses["items"][0]["verdict"], "VALID");

    // Logging out clears the cookie.
    let (st, headers, _) = send(
        &s.tv,
        wallet_req(
            Method::DELETE,
            "/wallet/api/session",
            Some(&cookie),
            None,
            true,
        ),
    )
    .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    assert!(
        headers[header::SET_COOKIE]
            .to_str()
            .expect("ascii")
            .contains("Max-Age=0")
    );

    // The restriction is the vault's: a holder's client cannot present or read another's.
    let client = AuthClient::wallet(HOLDER);
    let err =
        s.tv.vault
            .present_licence(&client, &theirs, None, None)
            .await
            .expect_err("another holder's licence");
    assert_eq!(err.code(), "not_found");
    let err =
        s.tv.vault
            .licence_uses(&client, &theirs, None, 10)
            .await
            .expect_err("another holder's uses");
    assert_eq!(err.code(), "not_found");
    s.tv.vault
        .present_licence(&client, &mine, None, None)
        .await
        .expect("own licence");
    let _ = &s.wallet;
}

#[tokio::test]
async fn wallet_sqlite() {
    wallet_story(demo_vault(None).await).await;
}

#[tokio::test]
async fn wallet_postgres() {
    let Some(db) = PgDatabase::create().await else {
        return;
    };
    wallet_story(demo_vault(Some(db.url.clone())).await).await;
    db.drop_db().await;
}

/// A fresh P-256 device key: the signing key and its SubjectPublicKeyInfo (DER).
fn device_key() -> (p256::ecdsa::SigningKey, Vec<u8>) {
    let rng = SystemRandom::new();
    loop {
        let mut b = [0u8; 32];
        rng.fill(&mut b).expect("random");
        if let Ok(k) = p256::ecdsa::SigningKey::from_slice(&b) {
            let spki = k
                .verifying_key()
                .to_public_key_der()
                .expect("spki")
                .as_bytes()
                .to_vec();
            return (k, spki);
        }
    }
}

/// What a device sends: base64url of raw r‖s over the device message.
fn sign(key: &p256::ecdsa::SigningKey, challenge: &str, licence: &str) -> String {
    let sig: p256::ecdsa::Signature = key.sign(device_message(challenge, licence).as_bytes());
    B64URL.encode(sig.to_bytes())
}

async fn new_challenge(s: &Setup) -> String {
    let (st, headers, c) = send(
        &s.tv,
        v1_post("/v1/presentations/challenges", None, &json!({})),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{c}");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    let challenge = c["challenge"].as_str().expect("challenge").to_owned();
    assert!(challenge.len() == 8 && challenge.bytes().all(|b| b.is_ascii_digit()));
    challenge
}

async fn register(s: &Setup, licence: &str, spki: &[u8]) -> (StatusCode, Value) {
    let (st, _, body) = send(
        &s.tv,
        v1_post(
            &format!("/v1/licences/{licence}/devices"),
            Some(&s.wallet),
            &json!({"public_key": B64URL.encode(spki), "label": "测试手机"}),
        ),
    )
    .await;
    (st, body)
}

async fn answer(
    s: &Setup,
    challenge: &str,
    licence: &str,
    key_id: &str,
    signature: &str,
) -> (StatusCode, Value) {
    let (st, _, body) = send(
        &s.tv,
        v1_post(
            &format!("/v1/presentations/challenges/{challenge}/answer"),
            Some(&s.wallet),
            &json!({"licence_id": licence, "key_id": key_id, "signature": signature}),
        ),
    )
    .await;
    (st, body)
}

async fn verify_with(s: &Setup, token: &Value, challenge: &str) -> Value {
    let (st, _, v) = send(
        &s.tv,
        v1_post(
            "/v1/presentations/verify",
            None,
            &json!({"token": token, "challenge": challenge}),
        ),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    v
}

async fn devices_story(tv: TestVault) {
    let s = setup(tv).await;
    let a = issue(&s, HOLDER, HOLDER_NAME).await;
    let b = issue(&s, OTHER, OTHER_NAME).await;
    let (key_a, spki_a) = device_key();
    let (key_b, spki_b) = device_key();
    let (st, dev_a) = register(&s, &a, &spki_a).await;
    assert_eq!(st, StatusCode::CREATED, "{dev_a}");
    let dev_a = dev_a["key_id"].as_str().expect("key_id").to_owned();
    let (st, dev_b) = register(&s, &b, &spki_b).await;
    assert_eq!(st, StatusCode::CREATED, "{dev_b}");
    let dev_b = dev_b["key_id"].as_str().expect("key_id").to_owned();

    // Not a P-256 key: refused.
    let (st, body) = register(&s, &a, b"not a key").await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{body}");

    let (st, _, p) = send(
        &s.tv,
        v1_post(
            &format!("/v1/licences/{a}/presentations"),
            Some(&s.wallet),
            &json!({"profile": "valid"}),
        ),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{p}");
    let token = &p["token"];

    // Not answered yet.
    let c1 = new_challenge(&s).await;
    let v = verify_with(&s, token, &c1).await;
    assert_eq!(
        (v["verdict"].as_str(), v["device"].as_str()),
        (Some("VALID"), Some("not_answered"))
    );

    // Wrong key: signed by B's key but naming A's key id, or naming B's key for licence A.
    let (st, body) = answer(&s, &c1, &a, &dev_a, &sign(&key_b, &c1, &a)).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "device_not_verified");
    let (st, body) = answer(&s, &c1, &a, &dev_b, &sign(&key_b, &c1, &a)).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{body}");
    // Signed over another licence id.
    let (st, _) = answer(&s, &c1, &a, &dev_a, &sign(&key_a, &c1, &b)).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    // For a licence that does not exist: the same 403, and 404 stays the challenge's.
    let (st, body) = answer(&s, &c1, "", &dev_a, &sign(&key_a, &c1, "")).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "device_not_verified");
    assert_eq!(verify_with(&s, token, &c1).await["device"], "not_answered");

    // Answered by A's device: answered, and recorded with the check.
    let (st, body) = answer(&s, &c1, &a, &dev_a, &sign(&key_a, &c1, &a)).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "answered");
    assert_eq!(verify_with(&s, token, &c1).await["device"], "answered");
    // One answer a challenge.
    let (st, _) = answer(&s, &c1, &a, &dev_a, &sign(&key_a, &c1, &a)).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (_, uses) = s.tv.get(&format!("/v1/licences/{a}/uses"), &s.wallet).await;
    let devices: Vec<&str> = uses["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|u| u["device"].as_str())
        .collect();
    assert_eq!(
        devices,
        ["not_answered", "not_answered", "answered"],
        "{uses}"
    );

    // Another licence's device answered: not for this token.
    let c2 = new_challenge(&s).await;
    let (st, body) = answer(&s, &c2, &b, &dev_b, &sign(&key_b, &c2, &b)).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(verify_with(&s, token, &c2).await["device"], "not_answered");

    // Expired: the answered challenge no longer counts 120 s on.
    let later = now_ms() + sidian::vault::CHALLENGE_TTL_MS + 1_000;
    let check =
        s.tv.vault
            .verify_presentation_with(
                Checker::Anonymous,
                token.as_str().expect("token"),
                None,
                Some(&c1),
                later,
            )
            .await
            .expect("check");
    assert_eq!(check.device, Some(DeviceAnswer::NotAnswered));

    // An unknown challenge is not answered; a malformed one is refused.
    let unknown = if c1 == "00000000" {
        "00000001"
    } else {
        "00000000"
    };
    assert_eq!(
        verify_with(&s, token, unknown).await["device"],
        "not_answered"
    );
    let (st, _, _) = send(
        &s.tv,
        v1_post(
            "/v1/presentations/verify",
            None,
            &json!({"token": token, "challenge": "12ab"}),
        ),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
}

fn now_ms() -> i64 {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock");
    i64::try_from(d.as_millis()).expect("ms")
}

#[tokio::test]
async fn devices_sqlite() {
    devices_story(TestVault::open(None).await).await;
}

#[tokio::test]
async fn devices_postgres() {
    let Some(db) = PgDatabase::create().await else {
        return;
    };
    devices_story(TestVault::open(Some(db.url.clone())).await).await;
    db.drop_db().await;
}

/// The wallet page's device flow: registration through the session, and the answer to a
/// challenge through `/wallet/api/licences/{id}/answer`.
#[tokio::test]
async fn wallet_registers_a_device_and_answers() {
    let s = setup(demo_vault(None).await).await;
    let mine = issue(&s, HOLDER, HOLDER_NAME).await;
    let cookie = login(&s, HOLDER, HOLDER_NAME).await;
    let (key, spki) = device_key();
    let (st, dev) = call(
        &s,
        Method::POST,
        &format!("/wallet/api/licences/{mine}/devices"),
        Some(&cookie),
        Some(&json!({"public_key": B64URL.encode(&spki), "label": "phone"})),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{dev}");
    let key_id = dev["key_id"].as_str().expect("key id");
    let (_, p) = wallet_present(&s, &cookie, &mine).await;
    let challenge = new_challenge(&s).await;
    let (st, body) = call(
        &s,
        Method::POST,
        &format!("/wallet/api/licences/{mine}/answer"),
        Some(&cookie),
        Some(&json!({"challenge": challenge, "key_id": key_id,
                "signature": sign(&key, &challenge, &mine)})),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(
        verify_with(&s, &p["token"], &challenge).await["device"],
        "answered"
    );

    // The registration is one audit entry, the wallet its actor, the holder a keyed hash.
    let entries = audited(&s, &format!("device:{key_id}")).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    let e = &entries[0];
    assert_eq!(e["action"], "device.registered");
    assert_eq!(e["actor"], "wallet");
    assert_eq!(e["details"]["licence"], mine.as_str());
    assert!(e["details"]["holder_id_hmac"].is_string());
    assert!(!e.to_string().contains(HOLDER));
}

/// The audit records whose subject is `subject`.
async fn audited(s: &Setup, subject: &str) -> Vec<Value> {
    s.tv.vault.checkpoint().await.expect("checkpoint");
    let (st, cp) = s.tv.get("/v1/audit/checkpoint", &s.admin).await;
    assert_eq!(st, StatusCode::OK, "{cp}");
    let mut found = Vec::new();
    for index in 0..cp["size"].as_u64().expect("size") {
        let (st, p) =
            s.tv.get(&format!("/v1/audit/entries/{index}/proof"), &s.admin)
                .await;
        assert_eq!(st, StatusCode::OK, "{p}");
        let record: Value =
            serde_json::from_str(p["record"].as_str().expect("record")).expect("json");
        if record["subject"] == subject {
            found.push(record);
        }
    }
    found
}

/// The holder grants a department the use of their licence from the wallet, sees it listed
/// (without its code), withdraws it; another holder's licence is as if absent.
#[tokio::test]
async fn wallet_grants_list_and_withdraws() {
    let s = setup(demo_vault(None).await).await;
    let mine = issue(&s, HOLDER, HOLDER_NAME).await;
    let theirs = issue(&s, OTHER, OTHER_NAME).await;
    let tax = s.tv.client("tax", &["licence:use"]).await;
    let tax_id = s.tv.vault.authenticate(&tax).await.expect("client").id;
    let cookie = login(&s, HOLDER, HOLDER_NAME).await;
    let body = json!({"department": {"id": tax_id, "name": "税务局"}, "purpose": "办理税务登记"});
    let (st, g) = call(
        &s,
        Method::POST,
        &format!("/wallet/api/licences/{mine}/grants"),
        Some(&cookie),
        Some(&body),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{g}");
    assert_eq!(g["code"].as_str().map(str::len), Some(32));
    let gid = g["id"].as_str().expect("grant id");
    let (st, list) = call(
        &s,
        Method::GET,
        &format!("/wallet/api/licences/{mine}/grants"),
        Some(&cookie),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{list}");
    assert_eq!(list["items"][0]["id"], gid);
    assert_eq!(list["items"][0]["status"], "active");
    assert!(list["items"][0].get("code").is_none());
    let (st, w) = call(
        &s,
        Method::POST,
        &format!("/wallet/api/licences/{mine}/grants/{gid}/withdraw"),
        Some(&cookie),
        Some(&json!({})),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{w}");
    assert_eq!(w["status"], "withdrawn");
    let (st, _) = call(
        &s,
        Method::POST,
        &format!("/wallet/api/licences/{theirs}/grants"),
        Some(&cookie),
        Some(&body),
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}
