//! Licence files through the API (`GET /v1/licences/{id}/file`): the OFD verifies VALID with the
//! issuer's licence seal, carries the agreed metadata, is made once and kept (the same bytes
//! every time, also for requests that race), audited with the requesting client as the actor,
//! and is refused to other clients as the licence itself is.

mod common;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use sidian::Vault;
use tower::ServiceExt;

use common::ISSUER_USCC;
use common::{PgDatabase, TestVault, call_bytes, json_answer, unzip_entry};

/// 营业执照.
const BUSINESS: &str = "111000009000000146001";
const HOLDER_USCC: &str = "91370100MA3C123459";

struct Setup {
    admin: String,
    issuer: Value,
    /// Bound to the issuer; issues the licence.
    a: String,
    /// Bound to the same issuer; did not issue it.
    b: String,
}

async fn setup(tv: &TestVault) -> Setup {
    let admin = tv.client("admin", &["admin"]).await;
    let issuer = tv.licence_issuer(&admin).await;
    let a = tv
        .bound_client("system-a", &["licence:issue"], &issuer)
        .await;
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

async fn issue(tv: &TestVault, key: &str) -> Value {
    let body = json!({
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
            "business_scope": "软件开发；信息技术咨询服务；".repeat(60),
        },
    });
    let req = Request::builder()
        .method(Method::POST)
        .uri("/v1/licences")
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "application/json")
        .header("idempotency-key", "issue-1")
        .body(Body::from(body.to_string()))
        .expect("request");
    let (status, _, bytes) = send(&tv.vault, req).await;
    let (st, licence) = json_answer((status, bytes));
    assert_eq!(st, StatusCode::CREATED, "{licence}");
    licence
}

/// Sends a request through the router: status, headers, body.
async fn send(vault: &Vault, req: Request<Body>) -> (StatusCode, HeaderMap, Vec<u8>) {
    let resp = sidian::api::app(vault.clone())
        .oneshot(req)
        .await
        .expect("infallible");
    let (status, headers) = (resp.status(), resp.headers().clone());
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    (status, headers, body.to_vec())
}

/// A licence file: status, body, content type and content disposition.
type File = (StatusCode, Vec<u8>, Option<String>, Option<String>);

/// GETs a licence's file with `query` (`""` or `?…`).
async fn file(vault: &Vault, id: &str, key: &str, query: &str) -> File {
    let req = Request::builder()
        .uri(format!("/v1/licences/{id}/file{query}"))
        .header("authorization", format!("Bearer {key}"))
        .body(Body::empty())
        .expect("request");
    let (status, headers, body) = send(vault, req).await;
    let header = |name: &str| {
        headers
            .get(name)
            .map(|v| v.to_str().expect("ascii").to_owned())
    };
    (
        status,
        body,
        header("content-type"),
        header("content-disposition"),
    )
}

async fn verify(tv: &TestVault, ofd: Vec<u8>) -> Value {
    let (st, report) =
        json_answer(call_bytes(tv, "/v1/documents/verify", None, "application/ofd", ofd).await);
    assert_eq!(st, StatusCode::OK, "{report}");
    report
}

async fn licence_file_flow(tv: &TestVault) {
    let s = setup(tv).await;
    let licence = issue(tv, &s.a).await;
    let id = licence["id"].as_str().expect("id");

    let (st, ofd, ct, cd) = file(&tv.vault, id, &s.a, "").await;
    assert_eq!(st, StatusCode::OK, "{}", String::from_utf8_lossy(&ofd));
    assert_eq!(ct.as_deref(), Some("application/ofd"));
    assert_eq!(cd, Some(format!("attachment; filename=\"{id}.ofd\"")));

    // VALID, sealed with the issuer's licence seal.
    let report = verify(tv, ofd.clone()).await;
    assert_eq!(report["verdict"], "VALID", "{report}");
    let sigs = report["signatures"].as_array().expect("signatures");
    assert_eq!(sigs.len(), 1, "{report}");
    let seal_id = s.issuer["seal_id"].as_str().expect("seal_id");
    let (st, seal) = tv.get(&format!("/v1/seals/{seal_id}"), &s.admin).await;
    assert_eq!(st, StatusCode::OK, "{seal}");
    assert_eq!(sigs[0]["seal"]["es_id"], seal["es_id"], "{report}");
    assert_eq!(
        sigs[0]["seal"]["name"],
        "济南市市场监督管理局电子证照专用章"
    );

    // The agreed metadata.
    let ofd_xml = String::from_utf8(unzip_entry(&ofd, "OFD.xml")).expect("utf-8");
    for (name, value) in [
        ("证照标识", id),
        ("证照类型代码", BUSINESS),
        ("颁发机构代码", ISSUER_USCC),
    ] {
        let want = format!("<ofd:CustomData Name=\"{name}\">{value}</ofd:CustomData>");
        assert!(ofd_xml.contains(&want), "{want} in {ofd_xml}");
    }
    assert!(ofd_xml.contains("<ofd:Title>营业执照</ofd:Title>"));
    let page =
        String::from_utf8(unzip_entry(&ofd, "Doc_0/Pages/Page_0/Content.xml")).expect("utf-8");
    assert!(page.contains(">济南某某科技有限公司<"));

    // Kept: the same bytes again, for the admin too (format=ofd is the default).
    let (st, again, _, _) = file(&tv.vault, id, &s.a, "?format=ofd").await;
    assert_eq!(st, StatusCode::OK);
    assert!(again == ofd, "a second request answers other bytes");
    let (st, by_admin, _, _) = file(&tv.vault, id, &s.admin, "").await;
    assert_eq!(st, StatusCode::OK);
    assert!(by_admin == ofd);

    // Another client: 404 as for the licence itself; an unknown id too.
    let (st, body, _, _) = file(&tv.vault, id, &s.b, "").await;
    assert_eq!(
        st,
        StatusCode::NOT_FOUND,
        "{}",
        String::from_utf8_lossy(&body)
    );
    let (st, _) = tv.get(&format!("/v1/licences/{id}"), &s.b).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _, _, _) = file(&tv.vault, &id.replace(".001.", ".002."), &s.a, "").await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    // Formats: pdf (its own tests are below) to the same clients only, anything else is a bad
    // request.
    let (st, _, content_type, _) = file(&tv.vault, id, &s.a, "?format=pdf").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(content_type.as_deref(), Some("application/pdf"));
    let (st, _, _, _) = file(&tv.vault, id, &s.b, "?format=pdf").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    for bad in [
        "?format=docx",
        "?format=",
        "?colour=red",
        "?format=pdf&alg=rsa2048",
        "?alg=sm2",
    ] {
        let (st, body, _, _) = file(&tv.vault, id, &s.a, bad).await;
        let (_, err) = json_answer((st, body));
        assert_eq!(st, StatusCode::BAD_REQUEST, "{bad}: {err}");
        assert_eq!(err["error"]["code"], "invalid_request");
    }

    // One seal signature, audited with the issuing client as its actor.
    let entries = audited_actions(tv, &s.admin, &format!("seal:{seal_id}")).await;
    let issued = audited_actions(tv, &s.admin, &format!("licence:{id}")).await;
    let signed: Vec<&Value> = entries
        .iter()
        .filter(|e| e["action"] == "signature.created")
        .collect();
    assert_eq!(signed.len(), 1, "{entries:?}");
    assert_eq!(signed[0]["details"]["format"], "ofd", "{}", signed[0]);
    assert_eq!(signed[0]["actor"], issued[0]["actor"]);
}

/// The audit records whose subject is `subject`.
async fn audited_actions(tv: &TestVault, admin: &str, subject: &str) -> Vec<Value> {
    tv.vault.checkpoint().await.expect("checkpoint");
    let (st, cp) = tv.get("/v1/audit/checkpoint", admin).await;
    assert_eq!(st, StatusCode::OK, "{cp}");
    let mut found = Vec::new();
    for index in 0..cp["size"].as_u64().expect("size") {
        let (_, p) = tv
            .get(&format!("/v1/audit/entries/{index}/proof"), admin)
            .await;
        let record: Value =
            serde_json::from_str(p["record"].as_str().expect("record")).expect("json");
        if record["subject"] == subject {
            found.push(record);
        }
    }
    found
}

#[tokio::test]
async fn licence_file_sqlite() {
    licence_file_flow(&TestVault::open(None).await).await;
}

#[tokio::test]
async fn licence_file_postgres() {
    let Some(db) = PgDatabase::create().await else {
        return;
    };
    licence_file_flow(&TestVault::open(Some(db.url.clone())).await).await;
    db.drop_db().await;
}

#[tokio::test]
async fn racing_first_requests_answer_one_file() {
    let tv = TestVault::open(None).await;
    let s = setup(&tv).await;
    let licence = issue(&tv, &s.a).await;
    let id = licence["id"].as_str().expect("id").to_owned();
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let (vault, key, id) = (tv.vault.clone(), s.a.clone(), id.clone());
        tasks.push(tokio::spawn(async move {
            let (st, ofd, _, _) = file(&vault, &id, &key, "").await;
            assert_eq!(st, StatusCode::OK);
            ofd
        }));
    }
    let mut files = Vec::new();
    for t in tasks {
        files.push(t.await.expect("task"));
    }
    assert!(
        files.windows(2).all(|w| w[0] == w[1]),
        "two different files"
    );
    let (_, kept, _, _) = file(&tv.vault, &id, &s.a, "").await;
    assert!(kept == files[0]);
}

/// pdfsig's report on `pdf` (when installed; required under CI).
fn pdfsig(dir: &std::path::Path, pdf: &[u8]) -> Option<String> {
    let path = dir.join("licence.pdf");
    std::fs::write(&path, pdf).expect("write");
    let Ok(out) = std::process::Command::new("pdfsig").arg(&path).output() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "pdfsig is required under CI"
        );
        println!("pdfsig not found: skipping its check");
        return None;
    };
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    println!("{text}");
    Some(text)
}

/// The Info dictionary's text entries of a PDF, read with sidian's own parser.
fn info(pdf: &[u8]) -> std::collections::BTreeMap<String, String> {
    use sidian::pdf::{Limits, Object, PdfFile, text_string};
    let file = PdfFile::open(pdf, &Limits::default()).expect("pdf");
    let info = file
        .trailer()
        .get(b"Info")
        .and_then(Object::as_ref)
        .expect("/Info");
    let info = file.get(info).expect("info");
    info.as_dict()
        .expect("dict")
        .0
        .iter()
        .filter_map(|(k, v)| match v {
            Object::String { bytes, .. } => {
                Some((String::from_utf8_lossy(k).into_owned(), text_string(bytes)))
            }
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn the_licence_pdf_is_sealed_certified_and_kept() {
    let tv = TestVault::open(None).await;
    let s = setup(&tv).await;
    let licence = issue(&tv, &s.a).await;
    let id = licence["id"].as_str().expect("id");
    let (st, pdf, content_type, disposition) = file(&tv.vault, id, &s.a, "?format=pdf").await;
    assert_eq!(st, StatusCode::OK, "{}", String::from_utf8_lossy(&pdf));
    assert_eq!(content_type.as_deref(), Some("application/pdf"));
    assert_eq!(
        disposition.as_deref(),
        Some(format!("attachment; filename=\"{id}.pdf\"").as_str())
    );
    // Kept: the same bytes again, also through `alg=p256` spelled out.
    let (_, again, _, _) = file(&tv.vault, id, &s.a, "?format=pdf&alg=p256").await;
    assert_eq!(again, pdf);

    // The agreed Info keys, in the certified first revision.
    let meta = info(&pdf);
    assert_eq!(meta["Title"], "营业执照");
    assert_eq!(meta["LicenceID"], id);
    assert_eq!(meta["LicenceType"], BUSINESS);
    assert_eq!(meta["LicenceIssuer"], ISSUER_USCC);
    let (st, report) = json_answer(
        call_bytes(
            &tv,
            "/v1/documents/verify",
            None,
            "application/pdf",
            pdf.clone(),
        )
        .await,
    );
    assert_eq!(st, StatusCode::OK, "{report}");
    assert_eq!(report["verdict"], "VALID", "{report}");
    let sigs = report["signatures"].as_array().expect("signatures");
    assert_eq!(sigs.len(), 1, "{report}");
    assert_eq!(
        sigs[0]["seal"]["name"], "济南市市场监督管理局电子证照专用章",
        "{report}"
    );
    let p256_anchor = sigs[0]["trust_anchor"].clone();
    assert!(p256_anchor.is_string(), "{report}");
    let raw = String::from_utf8_lossy(&pdf);
    assert!(raw.contains("/TransformMethod /DocMDP"), "not certified");
    assert!(raw.contains("/P 1"), "certified, but not with P1");
    if let Some(out) = pdfsig(tv.dir.path(), &pdf) {
        assert!(
            out.contains("Signature Validation: Signature is Valid."),
            "{out}"
        );
        assert!(out.contains("Signature Type: ETSI.CAdES.detached"), "{out}");
        assert!(out.contains("Total document signed"), "{out}");
        assert!(
            out.contains("OU=济南市市场监督管理局电子证照专用章"),
            "{out}"
        );
    }

    // alg=sm2: the OFD's seal; a file of its own, valid for sidian.
    let (st, sm2, _, _) = file(&tv.vault, id, &s.a, "?format=pdf&alg=sm2").await;
    assert_eq!(st, StatusCode::OK);
    assert_ne!(sm2, pdf);
    let (_, report) =
        json_answer(call_bytes(&tv, "/v1/documents/verify", None, "application/pdf", sm2).await);
    assert_eq!(report["verdict"], "VALID", "{report}");
    // Another seal: the SM2 one, under the vault's SM2 root.
    let sm2_anchor = &report["signatures"][0]["trust_anchor"];
    assert!(
        sm2_anchor.is_string() && *sm2_anchor != p256_anchor,
        "{report}"
    );
}

#[tokio::test]
async fn an_issuer_from_before_gets_its_p256_seal_once_on_first_need() {
    let tv = TestVault::open(None).await;
    let s = setup(&tv).await;
    let issuer_id = s.issuer["id"].as_str().expect("id");
    let licence = issue(&tv, &s.a).await;
    let id = licence["id"].as_str().expect("id");
    // As an issuer registered before migration 0008 looks: no PDF seal.
    let pool = sqlx::SqlitePool::connect(&tv.config.database_url())
        .await
        .expect("db");
    sqlx::query("UPDATE issuers SET pdf_seal_id = NULL WHERE id = ?")
        .bind(issuer_id)
        .execute(&pool)
        .await
        .expect("update");
    let count = || async {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM seals")
            .fetch_one(&pool)
            .await
            .expect("count");
        n
    };
    let before = count().await;
    // Two first requests at once (the issuing client and an admin): both answer the kept file.
    let (a, b) = tokio::join!(
        file(&tv.vault, id, &s.a, "?format=pdf"),
        file(&tv.vault, id, &s.admin, "?format=pdf"),
    );
    assert_eq!((a.0, b.0), (StatusCode::OK, StatusCode::OK));
    assert_eq!(a.1, b.1);
    // A client that did not issue the licence gets 404 and makes nothing.
    let (st, _, _, _) = file(&tv.vault, id, &s.b, "?format=pdf").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let seal: Option<String> = sqlx::query_scalar("SELECT pdf_seal_id FROM issuers WHERE id = ?")
        .bind(issuer_id)
        .fetch_one(&pool)
        .await
        .expect("issuer");
    let seal = seal.expect("a PDF seal now");
    let (owner, name, alg): (String, String, String) =
        sqlx::query_as("SELECT owner, name, alg FROM seals WHERE id = ?")
            .bind(&seal)
            .fetch_one(&pool)
            .await
            .expect("seal");
    assert_eq!(owner, "vault");
    assert_eq!(name, "济南市市场监督管理局电子证照专用章");
    assert_eq!(alg, "p256");
    assert_eq!(count().await, before + 1);
}
