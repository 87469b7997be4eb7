//! 用证: a department fetches, verifies and queries a licence with a reason and the holder's
//! grant (or a case number); every refused authorisation is the same 403; the holder's list of
//! uses shows inspections and departments' uses together; grants are audited. SQLite and
//! PostgreSQL.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use common::{TestVault, json_answer, on_postgres};

/// 营业执照 (held by an organisation).
const BUSINESS: &str = "111000009000000146001";
const USCC: &str = "91370100MA3C123459";
const DOMICILE: &str = "济南市历下区某某路1号";
/// The tax office's 用证事由.
const REASON: &str = "核验企业登记信息，办理税务登记";

struct Setup {
    tv: TestVault,
    admin: String,
    system: String,
    wallet: String,
    police: String,
    /// 济南市税务局's system: `licence:use`.
    tax: String,
    tax_id: String,
    /// Another department: `licence:use`.
    bank: String,
    bank_id: String,
}

async fn setup(tv: TestVault) -> Setup {
    let admin = tv.client("admin", &["admin"]).await;
    let issuer = tv.licence_issuer(&admin).await;
    let system = tv.bound_client("system", &["licence:issue"], &issuer).await;
    let wallet = tv.bound_client("wallet", &["present"], &issuer).await;
    let police = tv.client("police", &["inspect"]).await;
    let tax = tv.client("tax", &["licence:use"]).await;
    let bank = tv.client("bank", &["licence:use"]).await;
    let id_of = |key: String| {
        let vault = tv.vault.clone();
        async move { vault.authenticate(&key).await.expect("client").id }
    };
    let (tax_id, bank_id) = (id_of(tax.clone()).await, id_of(bank.clone()).await);
    Setup {
        tv,
        admin,
        system,
        wallet,
        police,
        tax,
        tax_id,
        bank,
        bank_id,
    }
}

async fn business(s: &Setup) -> String {
    let body = json!({
                "type": BUSINESS,
                "holder": {"name": "济南某某科技有限公司", "id_type": "001", "id_number": USCC},
                "fields": {"entity_type": "有限责任公司", "legal_representative": "张三",
                    "established_on": "2020-05-01", "operating_from": "2020-05-01",
                    "operating_to": "长期", "domicile": DOMICILE, "business_scope": "软件开发"},
    });
    let req = Request::builder()
        .method(Method::POST)
        .uri("/v1/licences")
        .header(header::AUTHORIZATION, format!("Bearer {}", s.system))
        .header(header::CONTENT_TYPE, "application/json")
        .header("idempotency-key", "licence-use-business")
        .body(Body::from(body.to_string()))
        .expect("request");
    let resp = sidian::api::app(s.tv.vault.clone())
        .oneshot(req)
        .await
        .expect("infallible");
    let st = resp.status();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    let licence: Value = serde_json::from_slice(&bytes).expect("json");
    assert_eq!(st, StatusCode::CREATED, "{licence}");
    licence["id"].as_str().expect("id").to_owned()
}

/// The wallet grants department `to` (client id) the licence; the answer.
async fn grant(s: &Setup, id: &str, to: &str, expires_in_s: Option<u32>) -> Value {
    let mut body = json!({"department": {"id": to, "name": "国家税务总局济南市税务局"},
        "purpose": "办理税务登记"});
    if let Some(t) = expires_in_s {
        body["expires_in_s"] = t.into();
    }
    let (st, g) =
        s.tv.post(&format!("/v1/licences/{id}/grants"), &s.wallet, body)
            .await;
    assert_eq!(st, StatusCode::CREATED, "{g}");
    g
}

/// A 用证 call as `key`: the status and the raw answer.
async fn call(s: &Setup, op: &str, key: &str, body: Value) -> (StatusCode, Vec<u8>) {
    s.tv.send(
        Method::POST,
        &format!("/v1/licence-use/{op}"),
        Some(key),
        Some(Body::from(body.to_string())),
        "application/json",
    )
    .await
}

/// A fetch of licence `id` as `key` with a grant code and [`REASON`]: the status and raw answer.
async fn fetch_granted(s: &Setup, key: &str, id: &str, code: &Value) -> (StatusCode, Vec<u8>) {
    call(
        s,
        "fetch",
        key,
        json!({"licence_id": id, "reason": REASON, "grant_code": code}),
    )
    .await
}

async fn call_json(s: &Setup, op: &str, key: &str, body: Value) -> (StatusCode, Value) {
    json_answer(call(s, op, key, body).await)
}

/// The actions of the audit entries about `subject`.
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

/// The Must-show story: an inspection, a grant, a department's fetch with a reason, refusals
/// alike, and the holder's one list of uses.
async fn story(tv: TestVault) {
    let s = setup(tv).await;
    let id = business(&s).await;

    // An inspection first (亮证), so the list holds both kinds.
    let (st, p) =
        s.tv.post(
            &format!("/v1/licences/{id}/presentations"),
            &s.wallet,
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{p}");
    let (st, v) =
        s.tv.post(
            "/v1/presentations/verify",
            &s.police,
            json!({"token": p["token"], "inspector": "警号 012345"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");

    // The holder grants the tax office; the code is shown once, 128 bits.
    let g = grant(&s, &id, &s.tax_id, None).await;
    let code = g["code"].as_str().expect("code").to_owned();
    assert_eq!(code.len(), 32);
    assert!(code.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(g["status"], "active");
    assert_eq!(g["department"]["id"], s.tax_id.as_str());
    let (st, list) =
        s.tv.get(&format!("/v1/licences/{id}/grants"), &s.wallet)
            .await;
    assert_eq!(st, StatusCode::OK, "{list}");
    assert_eq!(list["items"][0]["id"], g["id"]);
    assert!(list["items"][0].get("code").is_none(), "{list}");
    let entries = audited(&s, &format!("licence:{id}")).await;
    let created = entries
        .iter()
        .find(|e| e["action"] == "licence.grant_created")
        .expect("the grant is audited");
    assert_eq!(created["details"]["grant"], g["id"]);
    assert!(!created.to_string().contains(&code), "no code in the log");

    // Refusals: no grant, another department's grant, an unknown licence — one answer.
    let reason = REASON;
    let code_v = Value::from(code.as_str());
    let (st, unknown) =
        fetch_granted(&s, &s.bank, "11100000000000000000000000000000000X", &code_v).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let no_grant = Value::from("0".repeat(32));
    for (key, grant_code) in [(&s.tax, &no_grant), (&s.bank, &code_v)] {
        let refused = fetch_granted(&s, key, &id, grant_code).await;
        assert_eq!(
            refused,
            (StatusCode::FORBIDDEN, unknown.clone()),
            "byte for byte"
        );
    }
    let body: Value = serde_json::from_slice(&unknown).expect("json");
    assert_eq!(body["error"]["code"], "use_denied", "{body}");
    // Unknown holder, by query, with a case number: the same.
    let (st, q) = call(
        &s,
        "query",
        &s.bank,
        json!({"holder_code": "91370100MA3C12346X", "type": BUSINESS, "reason": reason,
            "case_number": "JN-2026-0001"}),
    )
    .await;
    assert_eq!((st, q), (StatusCode::FORBIDDEN, unknown.clone()));

    // A reason is required, and at most 200 characters; exactly one authority.
    for bad in [
        json!({"licence_id": id, "grant_code": code}),
        json!({"licence_id": id, "grant_code": code, "reason": "事".repeat(201)}),
        json!({"licence_id": id, "grant_code": code, "reason": ""}),
        json!({"licence_id": id, "reason": reason}),
        json!({"licence_id": id, "reason": reason, "grant_code": code, "case_number": "JN-1"}),
    ] {
        let (st, e) = call_json(&s, "fetch", &s.tax, bad.clone()).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{bad} → {e}");
    }
    // A client without `licence:use` is refused by scope.
    let (st, _) = fetch_granted(&s, &s.wallet, &id, &code_v).await;
    assert_eq!(st, StatusCode::FORBIDDEN);

    // Verify and query leave the grant active and disclose no value.
    let (st, v) = call_json(
        &s,
        "verify",
        &s.tax,
        json!({"licence_id": id, "reason": reason, "grant_code": code,
            "fields": {"domicile": DOMICILE, "legal_representative": "李四", "holder.name": "济南某某科技有限公司",
                "no_such_field": "x"}}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(
        v,
        json!({"match": {"domicile": true, "legal_representative": false, "holder.name": true,
            "no_such_field": false}, "status": "valid", "status_code": "01"})
    );
    let (st, q) = call_json(
        &s,
        "query",
        &s.tax,
        json!({"holder_code": USCC, "type": BUSINESS, "reason": reason, "grant_code": code}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{q}");
    let items = q["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{q}");
    assert_eq!(items[0]["id"], id.as_str());
    assert_eq!(items[0]["status"], "valid");
    assert!(items[0].get("fields").is_none() && !q.to_string().contains(DOMICILE));

    // The fetch: a link that serves the licence file once.
    let (st, f) = json_answer(fetch_granted(&s, &s.tax, &id, &code_v).await);
    assert_eq!(st, StatusCode::OK, "{f}");
    let url = f["url"].as_str().expect("url").to_owned();
    let token = url.strip_prefix("/v1/licence-use/files/").expect("path");
    assert!(token.len() >= 32, "{url}");
    let (st, file) = s.tv.send(Method::GET, &url, None, None, "").await;
    assert_eq!(st, StatusCode::OK);
    let (st, original) =
        s.tv.send(
            Method::GET,
            &format!("/v1/licences/{id}/file"),
            Some(&s.system),
            None,
            "",
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(file, original, "the licence file");
    let (st, _) = s.tv.send(Method::GET, &url, None, None, "").await;
    assert_eq!(st, StatusCode::NOT_FOUND, "a link serves once");
    // The grant is used: another fetch, or a verify with it, is refused alike.
    let again = fetch_granted(&s, &s.tax, &id, &code_v).await;
    assert_eq!(again, (StatusCode::FORBIDDEN, unknown.clone()));
    let (st, list) =
        s.tv.get(&format!("/v1/licences/{id}/grants"), &s.wallet)
            .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(list["items"][0]["status"], "used", "{list}");
    let entries = audited(&s, &format!("licence:{id}")).await;
    let fetched = entries
        .iter()
        .find(|e| e["action"] == "licence.fetched")
        .expect("the fetch is audited");
    assert_eq!(fetched["details"]["grant"], g["id"]);

    // Withdrawn and expired grants are refused alike.
    let w = grant(&s, &id, &s.tax_id, None).await;
    let (st, withdrawn) =
        s.tv.post(
            &format!(
                "/v1/licences/{id}/grants/{}/withdraw",
                w["id"].as_str().expect("id")
            ),
            &s.wallet,
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{withdrawn}");
    assert_eq!(withdrawn["status"], "withdrawn");
    let e = grant(&s, &id, &s.tax_id, Some(1)).await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    for g in [&w, &e] {
        let refused = fetch_granted(&s, &s.tax, &id, &g["code"]).await;
        assert_eq!(refused, (StatusCode::FORBIDDEN, unknown.clone()), "{g}");
    }
    // A case number authorises without a grant.
    let (st, f) = call_json(
        &s,
        "fetch",
        &s.bank,
        json!({"licence_id": id, "reason": "开户核验", "case_number": "JN-2026-0002"}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{f}");

    // The holder's list: the inspection and the departments' uses, with who and why.
    let (st, uses) =
        s.tv.get(&format!("/v1/licences/{id}/uses"), &s.wallet)
            .await;
    assert_eq!(st, StatusCode::OK, "{uses}");
    let items = uses["items"].as_array().expect("items");
    assert_eq!(items[0]["kind"], "inspection", "{uses}");
    assert_eq!(items[0]["inspector"], "警号 012345");
    let fetch = items
        .iter()
        .find(|u| u["operation"] == "fetch" && u["grant_id"] == g["id"])
        .expect("the department's fetch");
    assert_eq!(fetch["kind"], "use");
    assert_eq!(fetch["department"]["id"], s.tax_id.as_str());
    assert_eq!(fetch["department"]["name"], "tax");
    assert_eq!(fetch["reason"], reason);
    let mut ops: Vec<&str> = items
        .iter()
        .filter_map(|u| u["operation"].as_str())
        .collect();
    ops.sort_unstable();
    assert_eq!(ops, ["fetch", "fetch", "query", "verify"], "{uses}");
    let by_case = items.last().expect("last");
    assert_eq!(by_case["department"]["id"], s.bank_id.as_str());
    assert_eq!(by_case["case_number"], "JN-2026-0002");
    // Refusals left nothing in the holder's list.
    assert_eq!(items.len(), 5, "{uses}");
}

#[tokio::test]
async fn licence_use_sqlite() {
    story(TestVault::open(None).await).await;
}

#[tokio::test]
async fn licence_use_postgres() {
    on_postgres(story).await;
}

/// Only active departments may be granted; lifetimes and purposes are bounded; a stranger's
/// licence is 404 to the wallet.
#[tokio::test]
async fn grants_are_checked() {
    let s = setup(TestVault::open(None).await).await;
    let id = business(&s).await;
    let path = format!("/v1/licences/{id}/grants");
    for (body, why) in [
        (
            json!({"department": {"id": "cli_nobody", "name": "x"}, "purpose": "p"}),
            "not a client",
        ),
        (
            json!({"department": {"id": s.tax_id, "name": "x"}, "purpose": ""}),
            "empty purpose",
        ),
        (
            json!({"department": {"id": s.tax_id, "name": "x"}, "purpose": "p".repeat(201)}),
            "long purpose",
        ),
        (
            json!({"department": {"id": s.tax_id, "name": "x"}, "purpose": "p",
                "expires_in_s": 30 * 24 * 3600 + 1}),
            "over 30 days",
        ),
    ] {
        let (st, e) = s.tv.post(&path, &s.wallet, body).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{why}: {e}");
    }
    let police_id = s.tv.vault.authenticate(&s.police).await.expect("id").id;
    let (st, e) =
        s.tv.post(
            &path,
            &s.wallet,
            json!({"department": {"id": police_id, "name": "x"}, "purpose": "p"}),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "no licence:use: {e}");
    let (st, _) =
        s.tv.post(
            &path,
            &s.tax,
            json!({"department": {"id": s.tax_id, "name": "x"}, "purpose": "p"}),
        )
        .await;
    assert_eq!(
        st,
        StatusCode::FORBIDDEN,
        "a department cannot grant itself"
    );
    let g = grant(&s, &id, &s.tax_id, None).await;
    let expires = time::OffsetDateTime::parse(
        g["expires_at"].as_str().expect("expires_at"),
        &time::format_description::well_known::Rfc3339,
    )
    .expect("RFC 3339");
    let created = time::OffsetDateTime::parse(
        g["created_at"].as_str().expect("created_at"),
        &time::format_description::well_known::Rfc3339,
    )
    .expect("RFC 3339");
    assert_eq!((expires - created).whole_days(), 7, "seven days by default");
}
