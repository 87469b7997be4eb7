//! Verification that knows licences: the public page a licence's QR code leads to
//! (`GET /v1/licences/{id}/verify`), and the licence section of `POST /v1/documents/verify` and
//! `sidian verify` for licence files — confirmed only when the issuer's licence seal protects
//! the licence metadata, the status read from the vault and its signed status list, the seal's
//! verdict left as it is when the licence is revoked.

mod common;

use std::process::Command;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use sidian::ofd::write::{Color, DocInfo, Document, Object, Page, Point, Size, Text, write};

use common::ISSUER_USCC;
use common::{TestVault, call_bytes, create_contract_seal, json_answer, rezip};

/// 营业执照 (held by an organisation).
const BUSINESS: &str = "111000009000000146001";
/// 残疾人证 (held by a person).
const DISABILITY: &str = "11100000900000049Q001";
const HOLDER_USCC: &str = "91370100MA3C123459";
const CITIZEN_ID: &str = "370102198001011237";

struct Setup {
    tv: TestVault,
    admin: String,
    /// The approval system bound to the issuer.
    system: String,
    issuer: Value,
}

async fn setup() -> Setup {
    let tv = TestVault::open(None).await;
    let admin = tv.client("admin", &["admin"]).await;
    let issuer = tv.licence_issuer(&admin).await;
    let system = tv
        .bound_client("system", &["licence:issue", "seals", "sign"], &issuer)
        .await;
    Setup {
        tv,
        admin,
        system,
        issuer,
    }
}

async fn issue(s: &Setup, body: Value) -> Value {
    let req = axum::http::Request::builder()
        .method(Method::POST)
        .uri("/v1/licences")
        .header("authorization", format!("Bearer {}", s.system))
        .header("content-type", "application/json")
        .header(
            "idempotency-key",
            format!(
                "{}-{}",
                body["type"].as_str().expect("type"),
                body["holder"]["id_number"].as_str().expect("id number")
            ),
        )
        .body(axum::body::Body::from(body.to_string()))
        .expect("request");
    let (st, licence) = json_answer(send(&s.tv, req).await);
    assert_eq!(st, StatusCode::CREATED, "{licence}");
    licence
}

async fn send(tv: &TestVault, req: axum::http::Request<axum::body::Body>) -> (StatusCode, Vec<u8>) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let resp = sidian::api::app(tv.vault.clone())
        .oneshot(req)
        .await
        .expect("infallible");
    let status = resp.status();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    (status, bytes.to_vec())
}

async fn business_licence(s: &Setup) -> Value {
    issue(
        s,
        json!({
            "type": BUSINESS,
            "holder": {"name": "济南某某科技有限公司", "id_type": "001", "id_number": HOLDER_USCC},
            "valid_from": "2026-01-01",
            "fields": {
                "entity_type": "有限责任公司（自然人投资或控股）",
                "legal_representative": "张三",
                "registered_capital": "壹佰万元整",
                "established_on": "2020-05-01",
                "operating_from": "2020-05-01",
                "operating_to": "长期",
                "domicile": "山东省济南市历下区某某路1号",
                "business_scope": "软件开发；信息技术咨询服务",
            },
        }),
    )
    .await
}

/// A one-page OFD carrying a licence's claim in `DocInfo/CustomDatas`, as licence files do.
fn licence_ofd(id: &str, type_code: &str, issuer_uscc: &str) -> Vec<u8> {
    let mut info = DocInfo::new(*b"sidian-licence-1", time::macros::date!(2026 - 01 - 01));
    info.title = Some("营业执照".into());
    info.custom_data = vec![
        ("证照标识".into(), id.into()),
        ("证照类型代码".into(), type_code.into()),
        ("颁发机构代码".into(), issuer_uscc.into()),
    ];
    let text = |y: f64, s: &str| {
        Object::Text(Text {
            origin: Point { x: 30.0, y },
            size: 6.0,
            color: Color::BLACK,
            text: s.to_owned(),
        })
    };
    write(&Document {
        info,
        pages: vec![Page {
            size: Size::A4,
            objects: vec![text(40.0, "营业执照"), text(60.0, "济南某某科技有限公司")],
        }],
        template: None,
        custom_tags: Vec::new(),
    })
    .expect("write the OFD")
}

async fn stamp(tv: &TestVault, key: &str, seal: &str, ofd: Vec<u8>) -> Vec<u8> {
    let (st, out) = call_bytes(
        tv,
        &format!("/v1/seals/{seal}/stamp?page=1&x=120&y=180"),
        Some(key),
        "application/ofd",
        ofd,
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{}", String::from_utf8_lossy(&out));
    out
}

async fn verify(tv: &TestVault, content_type: &str, doc: Vec<u8>) -> Value {
    let (st, report) =
        json_answer(call_bytes(tv, "/v1/documents/verify", None, content_type, doc).await);
    assert_eq!(st, StatusCode::OK, "{report}");
    report
}

fn failed_checks(licence: &Value) -> Vec<String> {
    licence["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|c| c["ok"] == false)
        .map(|c| c["name"].as_str().expect("name").to_owned())
        .collect()
}

/// Runs `sidian verify --json` on `file` with `--data data`.
fn cli_verify(data: &std::path::Path, file: &std::path::Path) -> (bool, Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sidian"))
        .arg("--data")
        .arg(data)
        .args(["verify", "--json"])
        .arg(file)
        .env_remove("SIDIAN_DATABASE_URL")
        .env_remove("SIDIAN_DATA")
        .env_remove("SIDIAN_MASTER_KEY")
        .env("RUST_LOG", "error")
        .output()
        .expect("run sidian");
    let report = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (
        out.status.success(),
        report,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn the_public_page_shows_status_and_nothing_personal() {
    let s = setup().await;
    let licence = business_licence(&s).await;
    let id = licence["id"].as_str().expect("id");
    let (st, bytes) =
        s.tv.send(
            Method::GET,
            &format!("/v1/licences/{id}/verify"),
            None,
            None,
            "",
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let page: Value = serde_json::from_slice(&bytes).expect("json");
    assert_eq!(page["id"], id);
    assert_eq!(page["type"], BUSINESS);
    assert_eq!(page["type_name"], "营业执照");
    assert_eq!(page["issuer"]["id"], s.issuer["id"]);
    assert_eq!(page["issuer"]["name"], "济南市市场监督管理局");
    assert_eq!(page["issuer"]["uscc"], ISSUER_USCC);
    assert_eq!(
        (&page["status"], &page["status_code"]),
        (&json!("valid"), &json!("01"))
    );
    assert_eq!(page["status_list"]["id"], licence["status_list"]["id"]);
    assert_eq!(
        page["status_list"]["index"],
        licence["status_list"]["index"]
    );
    assert_eq!(
        page["status_list"]["uri"],
        format!(
            "/v1/status-lists/{}",
            licence["status_list"]["id"].as_str().expect("list")
        )
    );
    assert_eq!(
        (&page["valid_from"], &page["valid_to"]),
        (&json!("2026-01-01"), &json!("长期"))
    );
    // An organisation's name is public; its code is not shown (the page shows no identifier).
    assert_eq!(page["holder"], json!({"name": "济南某某科技有限公司"}));
    assert!(!String::from_utf8_lossy(&bytes).contains(HOLDER_USCC));
    assert!(
        page["checked_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
    let keys: Vec<&String> = page.as_object().expect("object").keys().collect();
    assert_eq!(
        keys,
        [
            "checked_at",
            "holder",
            "id",
            "issuer",
            "status",
            "status_code",
            "status_list",
            "type",
            "type_name",
            "valid_from",
            "valid_to"
        ]
    );

    // A person's name is masked, the ID number never shown.
    let person = issue(
        &s,
        json!({
            "type": DISABILITY,
            "holder": {"name": "欧阳明华", "id_type": "111", "id_number": CITIZEN_ID},
            "fields": {
                "sex": "男", "ethnicity": "汉族", "birth_date": "1980-01-01",
                "address": "山东省济南市历下区某某路2号",
                "disability_category": "肢体残疾", "disability_grade": "三级",
            },
        }),
    )
    .await;
    let pid = person["id"].as_str().expect("id");
    let (st, bytes) =
        s.tv.send(
            Method::GET,
            &format!("/v1/licences/{pid}/verify"),
            None,
            None,
            "",
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{}", String::from_utf8_lossy(&bytes));
    let text = String::from_utf8_lossy(&bytes);
    let page: Value = serde_json::from_slice(&bytes).expect("json");
    assert_eq!(page["holder"]["name"], "欧**华");
    for secret in [CITIZEN_ID, "19800101", "欧阳明华", "1980-01-01", "肢体残疾"] {
        assert!(!text.contains(secret), "{secret} shown: {text}");
    }

    // Revoked: the page says so at once; no-store, so nothing caches the old answer.
    let (st, _) =
        s.tv.post(
            &format!("/v1/licences/{id}/revoke"),
            &s.system,
            json!({"reason": "违法经营"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let req = axum::http::Request::builder()
        .uri(format!("/v1/licences/{id}/verify"))
        .body(axum::body::Body::empty())
        .expect("request");
    use tower::ServiceExt;
    let resp = sidian::api::app(s.tv.vault.clone())
        .oneshot(req)
        .await
        .expect("infallible");
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let (st, page) =
        s.tv.call(
            Method::GET,
            &format!("/v1/licences/{id}/verify"),
            None,
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(
        (&page["status"], &page["status_code"]),
        (&json!("revoked"), &json!("07"))
    );
}

#[tokio::test]
async fn malformed_and_unknown_identifiers() {
    let s = setup().await;
    let licence = business_licence(&s).await;
    let id = licence["id"].as_str().expect("id").to_owned();
    // The check character changed: not a 证照标识 (400, naming `id`).
    let last = id.chars().last().expect("check");
    let bad = format!(
        "{}{}",
        &id[..id.len() - 1],
        if last == '0' { '1' } else { '0' }
    );
    let (st, body) =
        s.tv.call(
            Method::GET,
            &format!("/v1/licences/{bad}/verify"),
            None,
            None,
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["code"], "invalid_field");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("id: ")),
        "{body}"
    );
    let (st, body) =
        s.tv.call(Method::GET, "/v1/licences/nonsense/verify", None, None)
            .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{body}");
    // Well-formed, but never issued here (another serial, its check character recomputed).
    let other = sidian::licence::LicenceId::new(BUSINESS, ISSUER_USCC, "20260101NOTISSUED", 1)
        .expect("id")
        .to_string();
    let (st, body) =
        s.tv.call(
            Method::GET,
            &format!("/v1/licences/{other}/verify"),
            None,
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["error"]["code"], "not_found");
}

#[tokio::test]
async fn a_licence_ofd_sealed_by_its_issuer_is_confirmed_and_a_revoked_one_says_so() {
    let s = setup().await;
    let licence = business_licence(&s).await;
    let id = licence["id"].as_str().expect("id");
    let seal = s.issuer["seal_id"].as_str().expect("seal");
    let sealed = stamp(
        &s.tv,
        &s.admin,
        seal,
        licence_ofd(id, BUSINESS, ISSUER_USCC),
    )
    .await;

    let report = verify(&s.tv, "application/ofd", sealed.clone()).await;
    assert_eq!(report["verdict"], "VALID", "{report}");
    let l = &report["licence"];
    assert_eq!(l["confirmed"], true, "{l}");
    assert!(l.get("unconfirmed_reason").is_none(), "{l}");
    assert_eq!(l["id"], id);
    assert_eq!(
        (&l["type"], &l["type_name"]),
        (&json!(BUSINESS), &json!("营业执照"))
    );
    assert_eq!(
        l["issuer"],
        json!({"id": s.issuer["id"], "name": "济南市市场监督管理局", "uscc": ISSUER_USCC})
    );
    assert_eq!(
        (&l["status"], &l["status_code"]),
        (&json!("valid"), &json!("01"))
    );
    assert_eq!(l["sealed_by"], 0);
    assert_eq!(l["status_list"]["id"], licence["status_list"]["id"]);
    assert_eq!(l["status_list"]["index"], licence["status_list"]["index"]);
    assert_eq!(l["status_list"]["slot"], "valid");
    assert!(failed_checks(l).is_empty(), "{l}");

    // The CLI with the vault's data directory says the same.
    let file = s.tv.dir.path().join("licence.ofd");
    std::fs::write(&file, &sealed).expect("write");
    let (ok, cli, err) = cli_verify(&s.tv.config.data_dir, &file);
    assert!(ok, "{err}\n{cli}");
    assert_eq!(cli["licence"]["confirmed"], true, "{cli}");
    assert_eq!(cli["licence"]["status"], "valid");

    // Revoked: the file is still genuinely sealed (VALID), the licence section says revoked.
    let (st, _) =
        s.tv.post(
            &format!("/v1/licences/{id}/revoke"),
            &s.system,
            json!({"reason": "违法经营"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let report = verify(&s.tv, "application/ofd", sealed.clone()).await;
    assert_eq!(report["verdict"], "VALID", "{report}");
    let l = &report["licence"];
    assert_eq!(l["confirmed"], true, "{l}");
    assert_eq!(
        (&l["status"], &l["status_code"]),
        (&json!("revoked"), &json!("07"))
    );
    assert_eq!(l["status_list"]["slot"], "invalid");
    assert!(failed_checks(l).is_empty(), "{l}");
    let (ok, cli, err) = cli_verify(&s.tv.config.data_dir, &file);
    assert!(ok, "the seal verdict stays VALID: {err}");
    assert_eq!(cli["licence"]["status"], "revoked", "{cli}");

    // The summary for people leads with both.
    let out = Command::new(env!("CARGO_BIN_EXE_sidian"))
        .arg("--data")
        .arg(&s.tv.config.data_dir)
        .args(["verify", "--summary"])
        .arg(&file)
        .env_remove("SIDIAN_DATABASE_URL")
        .env_remove("SIDIAN_DATA")
        .env("RUST_LOG", "error")
        .output()
        .expect("run sidian");
    let text = String::from_utf8_lossy(&out.stdout);
    let first = text.lines().next().unwrap_or_default();
    assert!(first.starts_with("VALID: "), "{text}");
    assert!(first.ends_with("; licence REVOKED (07)"), "{text}");

    // Without a vault: the seal still verifies against the trust directory's anchors (none
    // here), and the licence's status is unknown.
    let (_, cli, _) = cli_verify(&s.tv.dir.path().join("no-vault"), &file);
    assert_eq!(cli["licence"]["status"], "unknown", "{cli}");
    assert_eq!(cli["licence"]["unconfirmed_reason"], "no_vault", "{cli}");
}

#[tokio::test]
async fn claims_the_issuer_did_not_seal_are_unconfirmed() {
    let s = setup().await;
    let licence = business_licence(&s).await;
    let id = licence["id"].as_str().expect("id");

    // Sealed, validly, by somebody else's seal: the seal is VALID, the claim is not confirmed.
    let other = create_contract_seal(&s.tv, &s.system, "sm2").await;
    let forged = stamp(
        &s.tv,
        &s.system,
        &other,
        licence_ofd(id, BUSINESS, ISSUER_USCC),
    )
    .await;
    let report = verify(&s.tv, "application/ofd", forged).await;
    assert_eq!(report["verdict"], "VALID", "{report}");
    let l = &report["licence"];
    assert_eq!(l["confirmed"], false, "{l}");
    assert_eq!(l["unconfirmed_reason"], "not_sealed_by_issuer");
    assert_eq!(failed_checks(l), ["licence.issuer_seal"]);
    assert!(l.get("sealed_by").is_none(), "{l}");

    // Not sealed at all.
    let report = verify(
        &s.tv,
        "application/ofd",
        licence_ofd(id, BUSINESS, ISSUER_USCC),
    )
    .await;
    assert_eq!(report["verdict"], "INDETERMINATE", "{report}");
    assert_eq!(
        report["licence"]["unconfirmed_reason"],
        "metadata_not_signed"
    );

    // Sealed by the issuer, but claiming another type than the record.
    let seal = s.issuer["seal_id"].as_str().expect("seal");
    let other_type = "111000009000000146002";
    let sealed = stamp(
        &s.tv,
        &s.admin,
        seal,
        licence_ofd(id, other_type, ISSUER_USCC),
    )
    .await;
    let report = verify(&s.tv, "application/ofd", sealed).await;
    assert_eq!(report["verdict"], "VALID", "{report}");
    assert_eq!(
        report["licence"]["unconfirmed_reason"], "mismatch",
        "{report}"
    );

    // A licence this vault never issued.
    let unknown = sidian::licence::LicenceId::new(BUSINESS, ISSUER_USCC, "20260101NOTISSUED", 1)
        .expect("id")
        .to_string();
    let sealed = stamp(
        &s.tv,
        &s.admin,
        seal,
        licence_ofd(&unknown, BUSINESS, ISSUER_USCC),
    )
    .await;
    let report = verify(&s.tv, "application/ofd", sealed).await;
    assert_eq!(
        report["licence"]["unconfirmed_reason"], "unknown_licence",
        "{report}"
    );
    assert_eq!(report["licence"]["status"], "unknown");
}

#[tokio::test]
async fn a_tampered_licence_claim_is_not_valid() {
    let s = setup().await;
    let first = business_licence(&s).await;
    let id = first["id"].as_str().expect("id");
    let seal = s.issuer["seal_id"].as_str().expect("seal");
    let sealed = stamp(
        &s.tv,
        &s.admin,
        seal,
        licence_ofd(id, BUSINESS, ISSUER_USCC),
    )
    .await;
    // Another real licence's identifier put into the sealed file's CustomData.
    let second = issue(
        &s,
        json!({
            "type": BUSINESS,
            "holder": {"name": "济南另一家有限公司", "id_type": "001", "id_number": "91370406L24894136J"},
            "fields": {
                "entity_type": "有限责任公司", "legal_representative": "李四",
                "registered_capital": "伍拾万元整", "established_on": "2021-01-01",
                "operating_from": "2021-01-01", "operating_to": "长期",
                "domicile": "山东省济南市市中区某某路3号", "business_scope": "咨询服务",
            },
        }),
    )
    .await;
    let other = second["id"].as_str().expect("id");
    let tampered = rezip(&sealed, "OFD.xml", |xml| {
        let text = String::from_utf8(xml.clone()).expect("utf-8");
        assert!(text.contains(id));
        *xml = text.replace(id, other).into_bytes();
    });
    let report = verify(&s.tv, "application/ofd", tampered).await;
    assert_ne!(report["verdict"], "VALID", "{report}");
    assert_ne!(
        report["verdict"], "VALID_WITH_ALLOWED_LATER_CHANGES",
        "{report}"
    );
    let l = &report["licence"];
    assert_eq!(l["id"], other);
    assert_eq!(l["confirmed"], false, "{l}");
    assert_eq!(l["unconfirmed_reason"], "metadata_not_signed", "{l}");
}

/// A one-page PDF whose document information dictionary carries a licence's claim.
fn licence_pdf(id: &str) -> Vec<u8> {
    let utf16 = |s: &str| {
        let mut hex = String::from("FEFF");
        for u in s.encode_utf16() {
            hex.push_str(&format!("{u:04X}"));
        }
        format!("<{hex}>")
    };
    let content = "BT /F1 12 Tf 72 720 Td (Licence) Tj ET";
    let mut pdf = common::pdf_of(&[
        "<< /Type /Catalog /Pages 2 0 R >>".into(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".into(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".into(),
        format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".into(),
        format!(
            "<< /Title {} /LicenceID ({id}) /LicenceType ({BUSINESS}) /LicenceIssuer ({ISSUER_USCC}) >>",
            utf16("营业执照")
        ),
    ]);
    // pdf_of's trailer names the catalog only: name the information dictionary too (after the
    // cross-reference table, so no offset moves).
    let (root, info) = (&b"/Root 1 0 R >>"[..], &b"/Root 1 0 R /Info 6 0 R >>"[..]);
    let at = pdf
        .windows(root.len())
        .rposition(|w| w == root)
        .expect("trailer");
    pdf.splice(at..at + root.len(), info.iter().copied());
    pdf
}

#[tokio::test]
async fn a_certified_licence_pdf_is_confirmed_and_a_later_info_change_is_not() {
    let s = setup().await;
    let licence = business_licence(&s).await;
    let id = licence["id"].as_str().expect("id");
    let seal = s.issuer["seal_id"].as_str().expect("seal");
    let (st, sealed) = call_bytes(
        &s.tv,
        &format!("/v1/seals/{seal}/stamp?page=1&x=100&y=100&certify=p1"),
        Some(&s.admin),
        "application/pdf",
        licence_pdf(id),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{}", String::from_utf8_lossy(&sealed));
    let report = verify(&s.tv, "application/pdf", sealed.clone()).await;
    assert_eq!(report["verdict"], "VALID", "{report}");
    let l = &report["licence"];
    assert_eq!(l["confirmed"], true, "{l}");
    assert_eq!(l["type_name"], "营业执照");
    assert_eq!(l["sealed_by"], 0);

    // Another licence's identifier in a later revision's information dictionary: whatever
    // the verdict says of the change, the claim as it is now is not what the issuer sealed.
    let other = sidian::licence::LicenceId::new(BUSINESS, ISSUER_USCC, "20260101NOTISSUED", 1)
        .expect("id")
        .to_string();
    let text = String::from_utf8_lossy(&sealed).into_owned();
    let prev = text.rfind("startxref\n").expect("startxref") + "startxref\n".len();
    let prev: usize = text[prev..]
        .lines()
        .next()
        .expect("offset")
        .trim()
        .parse()
        .expect("number");
    let root = text
        .rfind("/Root ")
        .map(|at| text[at + 6..].split(" R").next().expect("ref").to_owned())
        .expect("root");
    let size: u32 = text
        .rfind("/Size ")
        .and_then(|p| text[p + 6..].split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .expect("size");
    let mut updated = sealed.clone();
    let at = updated.len() + 1;
    updated.extend_from_slice(
        format!(
            "\n{size} 0 obj\n<< /LicenceID ({other}) /LicenceType ({BUSINESS}) /LicenceIssuer ({ISSUER_USCC}) >>\nendobj\n"
        )
        .as_bytes(),
    );
    let xref = updated.len();
    updated.extend_from_slice(
        format!(
            "xref\n{size} 1\n{at:010} 00000 n\r\ntrailer\n<< /Size {} /Root {root} R /Info {size} 0 R /Prev {prev} >>\nstartxref\n{xref}\n%%EOF\n",
            size + 1
        )
        .as_bytes(),
    );
    let report = verify(&s.tv, "application/pdf", updated).await;
    let l = &report["licence"];
    assert_eq!(l["id"], other.as_str(), "{report}");
    assert_eq!(l["confirmed"], false, "{l}");
    assert_eq!(l["unconfirmed_reason"], "metadata_not_signed", "{l}");
}

#[tokio::test]
async fn the_served_licence_pdf_is_confirmed_with_either_licence_seal() {
    let s = setup().await;
    let licence = business_licence(&s).await;
    let id = licence["id"].as_str().expect("id");
    let mut pdfs = Vec::new();
    for query in ["format=pdf", "format=pdf&alg=sm2"] {
        let (st, pdf) =
            s.tv.send(
                Method::GET,
                &format!("/v1/licences/{id}/file?{query}"),
                Some(&s.system),
                None,
                "",
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{}", String::from_utf8_lossy(&pdf));
        let report = verify(&s.tv, "application/pdf", pdf.clone()).await;
        assert_eq!(report["verdict"], "VALID", "{query}: {report}");
        let l = &report["licence"];
        assert_eq!(l["confirmed"], true, "{query}: {l}");
        assert_eq!(l["sealed_by"], 0);
        assert_eq!(l["status"], "valid");
        pdfs.push(pdf);
    }
    let (st, _) =
        s.tv.post(
            &format!("/v1/licences/{id}/suspend"),
            &s.system,
            json!({"reason": "待核查"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    for pdf in pdfs {
        let report = verify(&s.tv, "application/pdf", pdf).await;
        assert_eq!(report["verdict"], "VALID", "{report}");
        let l = &report["licence"];
        assert_eq!(
            (&l["status"], &l["status_code"], &l["status_list"]["slot"]),
            (&json!("suspended"), &json!("02"), &json!("suspended")),
            "{l}"
        );
    }
}

#[tokio::test]
async fn the_served_licence_file_is_confirmed_until_revoked_then_says_revoked() {
    let s = setup().await;
    let licence = business_licence(&s).await;
    let id = licence["id"].as_str().expect("id");
    // Issue → GET the file (as its issuing system) → verify.
    let (st, ofd) =
        s.tv.send(
            Method::GET,
            &format!("/v1/licences/{id}/file"),
            Some(&s.system),
            None,
            "",
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{}", String::from_utf8_lossy(&ofd));
    let report = verify(&s.tv, "application/ofd", ofd.clone()).await;
    assert_eq!(report["verdict"], "VALID", "{report}");
    let l = &report["licence"];
    assert_eq!(l["confirmed"], true, "{l}");
    assert_eq!(
        (&l["status"], &l["status_code"]),
        (&json!("valid"), &json!("01"))
    );
    assert_eq!(l["type_name"], "营业执照");
    assert_eq!(l["issuer"]["id"], s.issuer["id"]);
    let file = s.tv.dir.path().join("served.ofd");
    std::fs::write(&file, &ofd).expect("write");
    let (ok, cli, err) = cli_verify(&s.tv.config.data_dir, &file);
    assert!(ok, "{err}\n{cli}");
    assert_eq!(cli["verdict"], "VALID");
    assert_eq!(cli["licence"]["confirmed"], true, "{cli}");

    // Revoke: the same file stays VALID as a sealed document; its licence is revoked.
    let (st, _) =
        s.tv.post(
            &format!("/v1/licences/{id}/revoke"),
            &s.system,
            json!({"reason": "违法经营"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let report = verify(&s.tv, "application/ofd", ofd.clone()).await;
    assert_eq!(report["verdict"], "VALID", "{report}");
    assert_eq!(report["licence"]["status"], "revoked");
    assert_eq!(report["licence"]["status_code"], "07");
    let (ok, cli, _) = cli_verify(&s.tv.config.data_dir, &file);
    assert!(ok);
    assert_eq!(cli["licence"]["status"], "revoked", "{cli}");

    // Its CustomData changed: the seal no longer holds, and the claim is not confirmed.
    let tampered = rezip(&ofd, "OFD.xml", |xml| {
        let text = String::from_utf8(xml.clone()).expect("utf-8");
        assert!(text.contains(BUSINESS));
        *xml = text
            .replace(&format!(">{BUSINESS}<"), ">111000009000000146002<")
            .into_bytes();
    });
    let report = verify(&s.tv, "application/ofd", tampered).await;
    assert!(
        !matches!(
            report["verdict"].as_str(),
            Some("VALID" | "VALID_WITH_ALLOWED_LATER_CHANGES")
        ),
        "{report}"
    );
    assert_eq!(report["licence"]["confirmed"], false);
    assert_eq!(
        report["licence"]["unconfirmed_reason"],
        "metadata_not_signed"
    );
}
