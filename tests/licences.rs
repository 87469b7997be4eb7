//! Licences through the API: issuers, issuance with Idempotency-Key, access between clients,
//! the lifecycle, the signed status list (checked with the OpenSSL CLI) and the audit entries.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use sidian::audit::verify_inclusion;
use tower::ServiceExt;

use common::ISSUER_USCC;
use common::{PgDatabase, TestVault, unb64};

/// 营业执照 (held by an organisation, long-term).
const BUSINESS: &str = "111000009000000146001";
/// 残疾人证 (held by a person).
const DISABILITY: &str = "11100000900000049Q001";
const HOLDER_USCC: &str = "91370100MA3C123459";
const CITIZEN_ID: &str = "370102198001011237";

/// ISO/IEC 7064 MOD 37,36 over `0-9A-Z`, written here from the standard, apart from sidian's.
fn mod_37_36(body: &str) -> char {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut p = 36usize;
    for c in body.bytes() {
        let v = ALPHABET.iter().position(|&a| a == c).expect("alphabet");
        let mut s = (p + v) % 36;
        if s == 0 {
            s = 36;
        }
        p = (s * 2) % 37;
    }
    let check = (37 - p) % 36;
    char::from(ALPHABET[check])
}

/// Checks a 证照标识 independently: root, five parts, and the check character.
fn assert_licence_id(id: &str) {
    let rest = id.strip_prefix("1.2.156.3005.2.").expect("root");
    let parts: Vec<&str> = rest.split('.').collect();
    assert_eq!(parts.len(), 5, "{id}");
    let body: String = parts[..4].concat();
    let check = parts[4].chars().next().expect("check");
    assert_eq!(parts[4].len(), 1, "{id}");
    assert_eq!(mod_37_36(&body), check, "{id}");
}

#[test]
fn the_independent_checker_agrees_with_a_published_identifier() {
    assert_licence_id("1.2.156.3005.2.11100000000013338W011.11110000000021135M.20230329701.003.Y");
    assert_licence_id("1.2.156.3005.2.11100000MB03271699022.340100.000000016.001.9");
    // A one-character change moves the check character.
    let body = format!("{BUSINESS}{ISSUER_USCC}20260101ABCDEF123456001");
    let c = mod_37_36(&body);
    let other = mod_37_36(&body.replace("ABCDEF", "ABCDEG"));
    assert_ne!(c, other);
}

fn business_fields() -> Value {
    json!({
        "entity_type": "有限责任公司（自然人投资或控股）",
        "legal_representative": "张三",
        "registered_capital": "壹佰万元整",
        "established_on": "2020-05-01",
        "operating_from": "2020-05-01",
        "operating_to": "长期",
        "domicile": "山东省济南市历下区某某路1号",
        "business_scope": "软件开发；信息技术咨询服务",
    })
}

fn business_request() -> Value {
    json!({
        "type": BUSINESS,
        "holder": {"name": "济南某某科技有限公司", "id_type": "001", "id_number": HOLDER_USCC},
        "valid_from": "2026-01-01",
        "fields": business_fields(),
    })
}

struct Setup {
    admin: String,
    issuer: Value,
    /// Bound to the issuer, may issue 营业执照.
    a: String,
    /// Bound to the issuer, may issue every type.
    b: String,
}

async fn setup(tv: &TestVault) -> Setup {
    let admin = tv.client("admin", &["admin"]).await;
    let issuer = tv.licence_issuer(&admin).await;
    assert_eq!(issuer["region"], "370100");
    let scope_a = format!("licence:issue:{BUSINESS}");
    let a = tv.bound_client("system-a", &[&scope_a], &issuer).await;
    let b = tv
        .bound_client("system-b", &["licence:issue"], &issuer)
        .await;
    Setup {
        admin,
        issuer,
        a,
        b,
    }
}

/// POSTs JSON with an Idempotency-Key (when given); the status, body and whether it was replayed.
async fn post_keyed(
    tv: &TestVault,
    path: &str,
    api_key: &str,
    idem: Option<&str>,
    body: &Value,
) -> (StatusCode, Value, bool) {
    let mut req = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header("authorization", format!("Bearer {api_key}"))
        .header("content-type", "application/json");
    if let Some(k) = idem {
        req = req.header("idempotency-key", k);
    }
    let resp = sidian::api::app(tv.vault.clone())
        .oneshot(req.body(Body::from(body.to_string())).expect("request"))
        .await
        .expect("infallible");
    let status = resp.status();
    let replayed = resp.headers().contains_key("idempotent-replayed");
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, value, replayed)
}

async fn issue(tv: &TestVault, key: &str, idem: &str, body: &Value) -> Value {
    let (st, licence, _) = post_keyed(tv, "/v1/licences", key, Some(idem), body).await;
    assert_eq!(st, StatusCode::CREATED, "{licence}");
    licence
}

/// Sorted keys, no whitespace: the canonical form as documented, written here apart.
fn canonical(v: &Value) -> String {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .iter()
                .map(|k| format!("{}:{}", Value::String((*k).clone()), canonical(&map[*k])))
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(canonical).collect();
            format!("[{}]", parts.join(","))
        }
        other => other.to_string(),
    }
}

/// Runs the OpenSSL CLI: `None` when it is not installed, which fails under `CI=true` (as
/// tests/readme.rs does), so CI never passes on a skipped check.
fn openssl(args: &[&str]) -> Option<bool> {
    match std::process::Command::new("openssl").args(args).output() {
        Ok(out) => Some(out.status.success()),
        Err(e) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI requires the OpenSSL CLI: {e}"
            );
            None
        }
    }
}

/// A DER INTEGER of a big-endian unsigned value.
fn der_integer(bytes: &[u8]) -> Vec<u8> {
    let mut v: Vec<u8> = bytes.iter().copied().skip_while(|&b| b == 0).collect();
    if v.first().is_none_or(|&b| b & 0x80 != 0) {
        v.insert(0, 0);
    }
    let mut out = vec![0x02, u8::try_from(v.len()).expect("short")];
    out.extend(v);
    out
}

/// ES256 `r‖s` as the DER `ECDSA-Sig-Value` OpenSSL reads.
fn es256_der(raw: &[u8]) -> Vec<u8> {
    assert_eq!(raw.len(), 64);
    let mut body = der_integer(&raw[..32]);
    body.extend(der_integer(&raw[32..]));
    let mut out = vec![0x30, u8::try_from(body.len()).expect("short")];
    out.extend(body);
    out
}

/// Fetches a status list (no API key): status, headers and body.
async fn fetch_list(
    tv: &TestVault,
    id: &str,
    if_none_match: Option<&str>,
) -> (StatusCode, axum::http::HeaderMap, String) {
    let mut req = Request::builder().uri(format!("/v1/status-lists/{id}"));
    if let Some(tag) = if_none_match {
        req = req.header("if-none-match", tag);
    }
    let resp = sidian::api::app(tv.vault.clone())
        .oneshot(req.body(Body::empty()).expect("request"))
        .await
        .expect("infallible");
    let (parts, body) = resp.into_parts();
    let bytes = body.collect().await.expect("body").to_bytes();
    (
        parts.status,
        parts.headers,
        String::from_utf8(bytes.to_vec()).expect("utf-8"),
    )
}

/// The two-bit value of slot `index` in a status list token, after checking the token's
/// signature with `openssl` (when present) against the issuer's status list key.
fn slot_in_token(token: &str, list_id: &str, index: usize, status_key_pem: &str) -> u8 {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3);
    let header: Value =
        serde_json::from_slice(&B64URL.decode(parts[0]).expect("b64")).expect("json");
    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["typ"], "statuslist+jwt");
    let payload: Value =
        serde_json::from_slice(&B64URL.decode(parts[1]).expect("b64")).expect("json");
    let (iat, exp) = (
        payload["iat"].as_i64().expect("iat"),
        payload["exp"].as_i64().expect("exp"),
    );
    assert_eq!(exp - iat, 86_400);
    assert_eq!(payload["ttl"], 5);
    let sub = payload["sub"].as_str().expect("sub");
    assert!(
        sub.ends_with(&format!("/v1/status-lists/{list_id}")),
        "{sub}"
    );
    let raw = B64URL.decode(parts[2]).expect("signature");
    let dir = tempfile::tempdir().expect("tempdir");
    let (pem, sig, input) = (
        dir.path().join("pub.pem"),
        dir.path().join("sig.der"),
        dir.path().join("input"),
    );
    std::fs::write(&pem, status_key_pem).expect("write");
    std::fs::write(&sig, es256_der(&raw)).expect("write");
    std::fs::write(&input, format!("{}.{}", parts[0], parts[1])).expect("write");
    let path = |p: &std::path::Path| p.to_str().expect("utf-8").to_owned();
    let (pem, sig, input) = (path(&pem), path(&sig), path(&input));
    match openssl(&[
        "dgst",
        "-sha256",
        "-verify",
        &pem,
        "-signature",
        &sig,
        &input,
    ]) {
        Some(ok) => assert!(ok, "openssl rejects the status list token's signature"),
        None => eprintln!("skipped the OpenSSL check: openssl is not installed"),
    }
    let list = &payload["status_list"];
    assert_eq!(list["bits"], 2);
    let z = B64URL
        .decode(list["lst"].as_str().expect("lst"))
        .expect("b64");
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::ZlibDecoder::new(z.as_slice()),
        &mut bytes,
    )
    .expect("inflate");
    assert_eq!(bytes.len() * 4, 1 << 20);
    (bytes[index / 4] >> ((index % 4) * 2)) & 3
}

/// Every audit entry whose subject is `subject`, each with its inclusion proof checked.
async fn audited(tv: &TestVault, admin: &str, subject: &str) -> Vec<Value> {
    // A checkpoint covering every entry so far (the served one may lag by a second).
    tv.vault.checkpoint().await.expect("checkpoint");
    let (st, cp) = tv.get("/v1/audit/checkpoint", admin).await;
    assert_eq!(st, StatusCode::OK, "{cp}");
    let size = cp["size"].as_u64().expect("size");
    let mut found = Vec::new();
    for index in 0..size {
        let (st, p) = tv
            .get(&format!("/v1/audit/entries/{index}/proof"), admin)
            .await;
        assert_eq!(st, StatusCode::OK, "{p}");
        let text = p["record"].as_str().expect("record");
        let record: Value = serde_json::from_str(text).expect("json");
        if record["subject"] != subject {
            continue;
        }
        let leaf = sidian::audit::leaf_hash(text.as_bytes());
        let path: Vec<[u8; 32]> = p["audit_path"]
            .as_array()
            .expect("path")
            .iter()
            .map(|h| unb64(h).try_into().expect("32 bytes"))
            .collect();
        let root: [u8; 32] = unb64(&p["checkpoint"]["root_hash"]).try_into().expect("32");
        let tree = p["tree_size"].as_u64().expect("tree size");
        assert!(verify_inclusion(&leaf, index, tree, &path, &root));
        found.push(record);
    }
    found
}

async fn lifecycle(tv: &TestVault) {
    let s = setup(tv).await;
    let issuer_id = s.issuer["id"].as_str().expect("id");
    let body = business_request();
    // No Idempotency-Key: refused.
    let (st, err, _) = post_keyed(tv, "/v1/licences", &s.a, None, &body).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{err}");
    let licence = issue(tv, &s.a, "lic-1", &body).await;
    let id = licence["id"].as_str().expect("id");
    assert_licence_id(id);
    assert!(id.starts_with(&format!("1.2.156.3005.2.{BUSINESS}.{ISSUER_USCC}.")));
    assert_eq!(licence["status"], "valid");
    assert_eq!(licence["valid_to"], "长期");
    assert!(
        licence["file_url"]
            .as_str()
            .expect("file_url")
            .ends_with("/file")
    );
    assert!(licence["verify_url"].is_string());
    let list_id = licence["status_list"]["id"].as_str().expect("list");
    assert_eq!(list_id, s.issuer["status_list_id"]);
    let index =
        usize::try_from(licence["status_list"]["index"].as_u64().expect("index")).expect("index");

    // The same key and body replay the answer; another body under the key is 422.
    let (st, again, replayed) = post_keyed(tv, "/v1/licences", &s.a, Some("lic-1"), &body).await;
    assert_eq!(st, StatusCode::CREATED);
    assert!(replayed);
    assert_eq!(again, licence);
    let mut other = body.clone();
    other["number"] = json!("X-1");
    let (st, err, _) = post_keyed(tv, "/v1/licences", &s.a, Some("lic-1"), &other).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert_eq!(err["error"]["code"], "idempotency_mismatch");

    // The record, with its national status code and its slot.
    let (st, got) = tv.get(&format!("/v1/licences/{id}"), &s.a).await;
    assert_eq!(st, StatusCode::OK, "{got}");
    assert_eq!(got["status"], "valid");
    assert_eq!(got["status_code"], "01");
    assert_eq!(got["status_list"]["index"], licence["status_list"]["index"]);
    assert_eq!(got["holder"]["id_number"], HOLDER_USCC);
    assert_eq!(got["fields"], business_fields());

    // Its signature: SM2 over the canonical form, checked by OpenSSL when present.
    let document = json!({
        "id": got["id"], "name": got["type_name"], "type_code": got["type"],
        "number": got["number"],
        "issuer": {"name": got["issuer"]["name"], "code": got["issuer"]["uscc"]},
        "issued_on": got["issued_on"], "holder": got["holder"],
        "valid_from": got["valid_from"], "valid_to": got["valid_to"], "fields": got["fields"],
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let (pem, sig, msg) = (
        dir.path().join("k.pem"),
        dir.path().join("s.der"),
        dir.path().join("m"),
    );
    std::fs::write(&pem, s.issuer["signing_key_pem"].as_str().expect("pem")).expect("w");
    std::fs::write(&sig, unb64(&got["signature"])).expect("w");
    std::fs::write(&msg, canonical(&document)).expect("w");
    let p = |x: &std::path::Path| x.to_str().expect("utf-8").to_owned();
    if let Some(ok) = openssl(&[
        "pkeyutl",
        "-verify",
        "-pubin",
        "-inkey",
        &p(&pem),
        "-rawin",
        "-digest",
        "sm3",
        "-in",
        &p(&msg),
        "-sigfile",
        &p(&sig),
        "-pkeyopt",
        "distid:1234567812345678",
    ]) {
        assert!(ok, "openssl rejects the licence signature");
    }

    // The list: public, cacheable, the slot valid.
    let (st, headers, token) = fetch_list(tv, list_id, None).await;
    assert_eq!(st, StatusCode::OK, "{token}");
    assert_eq!(headers["content-type"], "application/statuslist+jwt");
    assert_eq!(headers["cache-control"], "public, max-age=5");
    let etag = headers["etag"].to_str().expect("etag").to_owned();
    let status_key = s.issuer["status_key_pem"].as_str().expect("pem");
    assert_eq!(slot_in_token(&token, list_id, index, status_key), 0);
    let (st, _, empty) = fetch_list(tv, list_id, Some(&etag)).await;
    assert_eq!(st, StatusCode::NOT_MODIFIED);
    assert!(empty.is_empty());

    // System B (bound to the same issuer) neither sees nor revokes A's licence.
    let (st, _) = tv.get(&format!("/v1/licences/{id}"), &s.b).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = tv
        .post(
            &format!("/v1/licences/{id}/revoke"),
            &s.b,
            json!({"reason": "x"}),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, page) = tv.get("/v1/licences", &s.b).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(page["items"], json!([]));

    // Suspend, reinstate, revoke; then nothing more.
    for (action, status, code, bits) in [
        ("suspend", "suspended", "02", 2),
        ("reinstate", "valid", "01", 0),
        ("revoke", "revoked", "07", 1),
    ] {
        let (st, changed) = tv
            .post(
                &format!("/v1/licences/{id}/{action}"),
                &s.a,
                json!({"reason": format!("{action} by the test")}),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{action}: {changed}");
        assert_eq!(changed["status"], status);
        assert_eq!(changed["status_code"], code);
        let (st, _, token) = fetch_list(tv, list_id, Some(&etag)).await;
        assert_eq!(st, StatusCode::OK, "the list changed");
        assert_eq!(
            slot_in_token(&token, list_id, index, status_key),
            bits,
            "{action}"
        );
    }
    for action in ["reinstate", "suspend", "cancel", "revoke"] {
        let (st, err) = tv
            .post(
                &format!("/v1/licences/{id}/{action}"),
                &s.a,
                json!({"reason": "again"}),
            )
            .await;
        assert_eq!(st, StatusCode::CONFLICT, "{action}: {err}");
        assert_eq!(err["error"]["code"], "invalid_transition");
        assert!(
            err["error"]["message"]
                .as_str()
                .expect("message")
                .contains("revoked"),
            "{err}"
        );
    }

    // Every change is in the audit log, with its actor, and each entry has an inclusion proof.
    let entries = audited(tv, &s.admin, &format!("licence:{id}")).await;
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().expect("action"))
        .collect();
    assert_eq!(
        actions,
        [
            "licence.issued",
            "licence.suspended",
            "licence.reinstated",
            "licence.revoked"
        ]
    );
    for e in &entries {
        assert!(
            e["actor"]
                .as_str()
                .expect("actor")
                .starts_with("client:cli_"),
            "{e}"
        );
    }
    let issuer_entries = audited(tv, &s.admin, &format!("issuer:{issuer_id}")).await;
    assert_eq!(issuer_entries.len(), 1);
    assert_eq!(issuer_entries[0]["action"], "issuer.created");
}

#[tokio::test]
async fn licence_lifecycle_sqlite() {
    lifecycle(&TestVault::open(None).await).await;
}

#[tokio::test]
async fn licence_lifecycle_postgres() {
    let Some(db) = PgDatabase::create().await else {
        return;
    };
    lifecycle(&TestVault::open(Some(db.url.clone())).await).await;
    db.drop_db().await;
}

async fn one_licence_for_twenty_requests(tv: &TestVault) {
    let s = setup(tv).await;
    let body = business_request();
    let answers = concurrently(tv, &s.a, &body).await;
    let first = &answers[0];
    assert_licence_id(first["id"].as_str().expect("id"));
    // The replays are the first answer itself, not a fresh view of the licence.
    for a in &answers {
        assert_eq!(a, first);
    }
    let (st, page) = tv.get("/v1/licences", &s.a).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(page["items"].as_array().expect("items").len(), 1);
    let subject = format!("licence:{}", first["id"].as_str().expect("id"));
    let entries = audited(tv, &s.admin, &subject).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    // The same key with another body is refused, and issues nothing.
    let mut other = body.clone();
    other["fields"]["legal_representative"] = json!("李四");
    let (st, err, _) = post_keyed(tv, "/v1/licences", &s.a, Some("same-key"), &other).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert_eq!(err["error"]["code"], "idempotency_mismatch");
}

#[tokio::test]
async fn twenty_concurrent_identical_requests_issue_one_licence() {
    one_licence_for_twenty_requests(&TestVault::open(None).await).await;
}

#[tokio::test]
async fn twenty_concurrent_identical_requests_issue_one_licence_postgres() {
    let Some(db) = PgDatabase::create().await else {
        return;
    };
    one_licence_for_twenty_requests(&TestVault::open(Some(db.url.clone())).await).await;
    db.drop_db().await;
}

/// 20 identical requests under one Idempotency-Key at once; every answer.
async fn concurrently(tv: &TestVault, key: &str, body: &Value) -> Vec<Value> {
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (vault, key, body) = (tv.vault.clone(), key.to_owned(), body.clone());
        tasks.push(tokio::spawn(async move {
            let req = Request::builder()
                .method(Method::POST)
                .uri("/v1/licences")
                .header("authorization", format!("Bearer {key}"))
                .header("content-type", "application/json")
                .header("idempotency-key", "same-key")
                .body(Body::from(body.to_string()))
                .expect("request");
            let resp = sidian::api::app(vault)
                .oneshot(req)
                .await
                .expect("infallible");
            let status = resp.status();
            let bytes = resp.into_body().collect().await.expect("body").to_bytes();
            (
                status,
                serde_json::from_slice::<Value>(&bytes).unwrap_or(Value::Null),
            )
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        let (status, body) = t.await.expect("task");
        assert_eq!(status, StatusCode::CREATED, "{body}");
        out.push(body);
    }
    out
}

#[tokio::test]
async fn bad_requests_name_the_field_and_scopes_are_enforced() {
    let tv = TestVault::open(None).await;
    let s = setup(&tv).await;
    let person = |id_number: &str| {
        json!({
            "type": DISABILITY,
            "holder": {"name": "李四", "id_type": "111", "id_number": id_number},
            "fields": {
                "sex": "男", "ethnicity": "汉族", "birth_date": "1980-01-01",
                "address": "山东省济南市", "disability_category": "肢体残疾",
                "disability_grade": "三级",
            },
        })
    };
    // A wrong check digit in the citizen ID number: 400 naming the field, not quoting it.
    let bad = format!("{}0", &CITIZEN_ID[..17]);
    let (st, err, _) = post_keyed(&tv, "/v1/licences", &s.b, Some("p1"), &person(&bad)).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{err}");
    assert_eq!(err["error"]["code"], "invalid_field");
    let message = err["error"]["message"].as_str().expect("message");
    assert!(message.starts_with("holder.id_number:"), "{message}");
    assert!(!message.contains(&bad[4..14]), "{message}");
    // A face field against the type's schema.
    let mut wrong = person(CITIZEN_ID);
    wrong["fields"]["sex"] = json!("x");
    let (st, err, _) = post_keyed(&tv, "/v1/licences", &s.b, Some("p2"), &wrong).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{err}");
    assert!(
        err["error"]["message"]
            .as_str()
            .expect("message")
            .starts_with("fields.sex"),
        "{err}"
    );
    // A person's licence held by an organisation.
    let mut org = person(CITIZEN_ID);
    org["holder"] = json!({"name": "某公司", "id_type": "001", "id_number": HOLDER_USCC});
    let (st, err, _) = post_keyed(&tv, "/v1/licences", &s.b, Some("p3"), &org).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{err}");
    assert!(
        err["error"]["message"]
            .as_str()
            .expect("m")
            .starts_with("holder.id_type")
    );

    // A valid one; the list masks the holder's ID number and the personal fields.
    let licence = issue(&tv, &s.b, "p4", &person(CITIZEN_ID)).await;
    assert_licence_id(licence["id"].as_str().expect("id"));
    assert_eq!(licence["holder"]["id_number"], CITIZEN_ID);
    let (st, page) = tv
        .get(
            &format!("/v1/licences?holder_code={CITIZEN_ID}&type={DISABILITY}"),
            &s.b,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{page}");
    let items = page["items"].as_array().expect("items");
    assert_eq!(items.len(), 1);
    let shown = items[0]["holder"]["id_number"].as_str().expect("masked");
    assert!(
        shown.contains('*') && !shown.contains(&CITIZEN_ID[6..14]),
        "{shown}"
    );
    assert_ne!(items[0]["fields"]["address"], "山东省济南市");
    // The audit log holds a commitment, never the number.
    let entries = audited(
        &tv,
        &s.admin,
        &format!("licence:{}", licence["id"].as_str().expect("id")),
    )
    .await;
    assert_eq!(entries.len(), 1);
    let text = entries[0].to_string();
    assert!(
        !text.contains(CITIZEN_ID) && !text.contains("李四"),
        "{text}"
    );
    assert!(entries[0]["details"]["holder_id_hmac"].is_string());

    // System A may issue 营业执照 only: 403 for another type; unknown types and issuers 404.
    let (st, err, _) = post_keyed(&tv, "/v1/licences", &s.a, Some("a1"), &person(CITIZEN_ID)).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{err}");
    let mut unknown = business_request();
    unknown["issuer"] = json!("iss_00000000000000000000000000000000");
    let (st, err, _) = post_keyed(&tv, "/v1/licences", &s.a, Some("a2"), &unknown).await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{err}");
    unknown["issuer"] = s.issuer["id"].clone();
    unknown["type"] = json!("11100000000013338W999");
    let (st, err, _) = post_keyed(&tv, "/v1/licences", &s.b, Some("b2"), &unknown).await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{err}");
    // A client with the scope but no binding to the issuer: 403.
    let c = tv.client("system-c", &["licence:issue"]).await;
    let (st, err, _) = post_keyed(&tv, "/v1/licences", &c, Some("c1"), &business_request()).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{err}");
    // Issuers: admin only to register; a bad 统一社会信用代码 is named.
    let (st, _) = tv
        .post(
            "/v1/issuers",
            &s.a,
            json!({"name": "x", "uscc": ISSUER_USCC}),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, err) = tv
        .post(
            "/v1/issuers",
            &s.admin,
            json!({"name": "某局", "uscc": "11370200004312346X"}),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{err}");
    assert_eq!(err["error"]["code"], "invalid_uscc");
    let (st, list) = tv.get("/v1/issuers", &s.a).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(list.as_array().expect("list").len(), 1);
}

#[tokio::test]
async fn a_change_issues_the_next_version_and_supersedes_the_old() {
    let tv = TestVault::open(None).await;
    let s = setup(&tv).await;
    let old = issue(&tv, &s.a, "v1", &business_request()).await;
    let old_id = old["id"].as_str().expect("id");
    let mut fields = business_fields();
    fields["domicile"] = json!("山东省济南市历城区某某街2号");
    let change = json!({"fields": fields, "holder_name": "济南某某信息技术有限公司", "reason": "住所、名称变更"});
    let path = format!("/v1/licences/{old_id}/change");
    let (st, err, _) = post_keyed(&tv, &path, &s.a, None, &change).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{err}");
    let (st, next, _) = post_keyed(&tv, &path, &s.a, Some("change-1"), &change).await;
    assert_eq!(st, StatusCode::CREATED, "{next}");
    let next_id = next["id"].as_str().expect("id");
    assert_licence_id(next_id);
    let stem = |id: &str| id.rsplitn(3, '.').nth(2).expect("stem").to_owned();
    assert_eq!(stem(next_id), stem(old_id));
    assert!(next_id.ends_with(&format!(".002.{}", next_id.chars().last().expect("c"))));
    assert_eq!(next["number"], old["number"]);
    assert_eq!(next["holder"]["name"], "济南某某信息技术有限公司");
    assert_eq!(next["fields"], fields);
    assert_eq!(next["status"], "valid");
    let (st, was) = tv.get(&format!("/v1/licences/{old_id}"), &s.a).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(was["status"], "superseded");
    assert_eq!(was["status_code"], "05");
    assert_eq!(was["superseded_by"], next_id);
    // The old slot is invalid, the new one valid.
    let list_id = old["status_list"]["id"].as_str().expect("list");
    let (_, _, token) = fetch_list(&tv, list_id, None).await;
    let key = s.issuer["status_key_pem"].as_str().expect("pem");
    let slot =
        |l: &Value| usize::try_from(l["status_list"]["index"].as_u64().expect("i")).expect("i");
    assert_eq!(slot_in_token(&token, list_id, slot(&old), key), 1);
    assert_eq!(slot_in_token(&token, list_id, slot(&next), key), 0);
    // Superseded is final.
    let (st, err, _) = post_keyed(&tv, &path, &s.a, Some("change-2"), &change).await;
    assert_eq!(st, StatusCode::CONFLICT, "{err}");
    assert!(
        err["error"]["message"]
            .as_str()
            .expect("m")
            .contains("superseded")
    );
    let entries = audited(&tv, &s.admin, &format!("licence:{old_id}")).await;
    assert_eq!(
        entries.last().expect("entry")["action"],
        "licence.superseded"
    );
    let entries = audited(&tv, &s.admin, &format!("licence:{next_id}")).await;
    assert_eq!(entries[0]["details"]["supersedes"], old_id);
}

/// Requests that reach the ledger together are decided one after the other: of 12 asking for
/// the same 证照编号 one is issued and the others are refused (409), and 12 with their own
/// numbers are all issued, each in its own slot.
async fn a_batch_is_decided_in_order(tv: &TestVault) {
    let s = setup(tv).await;
    let send = |idem: String, number: String| {
        let (vault, key) = (tv.vault.clone(), s.a.clone());
        let mut body = business_request();
        body["number"] = json!(number);
        tokio::spawn(async move {
            let req = Request::builder()
                .method(Method::POST)
                .uri("/v1/licences")
                .header("authorization", format!("Bearer {key}"))
                .header("content-type", "application/json")
                .header("idempotency-key", idem)
                .body(Body::from(body.to_string()))
                .expect("request");
            let resp = sidian::api::app(vault)
                .oneshot(req)
                .await
                .expect("infallible");
            let status = resp.status();
            let bytes = resp.into_body().collect().await.expect("body").to_bytes();
            (
                status,
                serde_json::from_slice::<Value>(&bytes).unwrap_or(Value::Null),
            )
        })
    };
    let same: Vec<_> = (0..12)
        .map(|i| send(format!("same-number-{i}"), "SAME-0001".into()))
        .collect();
    let own: Vec<_> = (0..12)
        .map(|i| send(format!("own-number-{i}"), format!("OWN-{i:04}")))
        .collect();
    let mut created = 0;
    for t in same {
        let (status, body) = t.await.expect("task");
        match status {
            StatusCode::CREATED => created += 1,
            StatusCode::CONFLICT => assert_eq!(body["error"]["code"], "conflict", "{body}"),
            other => panic!("{other}: {body}"),
        }
    }
    assert_eq!(created, 1);
    let mut slots = std::collections::HashSet::new();
    for t in own {
        let (status, body) = t.await.expect("task");
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let id = body["id"].as_str().expect("id");
        let (_, licence) = tv.get(&format!("/v1/licences/{id}"), &s.a).await;
        assert!(slots.insert(licence["status_list"]["index"].as_u64().expect("slot")));
        assert_eq!(
            audited(tv, &s.admin, &format!("licence:{id}")).await.len(),
            1
        );
    }
    assert_eq!(slots.len(), 12);
}

#[tokio::test]
async fn a_batch_is_decided_in_order_sqlite() {
    a_batch_is_decided_in_order(&TestVault::open(None).await).await;
}

#[tokio::test]
async fn a_batch_is_decided_in_order_postgres() {
    let Some(db) = PgDatabase::create().await else {
        return;
    };
    a_batch_is_decided_in_order(&TestVault::open(Some(db.url.clone())).await).await;
    db.drop_db().await;
}
