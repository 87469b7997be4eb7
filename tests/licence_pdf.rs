//! Licence PDFs from the vault: a face written by `pdf::write`, sealed and certified (DocMDP P1)
//! with the issuer's P-256 licence seal (made with the issuer, or on first need for an issuer
//! that predates it) or, on request, its SM2 one; verified by sidian and, when installed, by
//! poppler's pdfsig.

mod common;

use axum::http::StatusCode;
use serde_json::{Value, json};
use sidian::licence::catalogue::SealSpot;
use sidian::ofd::write::{Color, DocInfo, Document, Object, Page, Point, Size, Text};
use sidian::pdf::write::Metadata;
use sidian::vault::LicencePdfSeal;
use sidian::verify::Verdict;

use common::TestVault;

const ISSUER_USCC: &str = "11370100004312345D";

fn face() -> Document {
    let mut info = DocInfo::new([1; 16], time::macros::date!(2026 - 01 - 02));
    info.title = Some("营业执照".into());
    let text = |y: f64, s: &str| {
        Object::Text(Text {
            origin: Point { x: 30.0, y },
            size: 5.0,
            color: Color::BLACK,
            text: s.to_owned(),
        })
    };
    Document {
        info,
        pages: vec![Page {
            size: Size::A4,
            objects: vec![
                text(40.0, "营业执照"),
                text(60.0, "名称：济南某某科技有限公司"),
            ],
        }],
        template: None,
        custom_tags: Vec::new(),
    }
}

fn meta() -> Metadata {
    Metadata {
        title: "营业执照".into(),
        custom: vec![
            ("LicenceID".into(), "1.2.156.3005.2.X".into()),
            ("LicenceType".into(), "111000009000000146001".into()),
            ("LicenceIssuer".into(), ISSUER_USCC.into()),
        ],
    }
}

/// An issuer and a client bound to it; (issuer JSON, the client's key).
async fn setup(tv: &TestVault) -> (Value, String) {
    let admin = tv.client("admin", &["admin"]).await;
    let (st, issuer) = tv
        .post(
            "/v1/issuers",
            &admin,
            json!({"name": "济南市市场监督管理局", "uscc": ISSUER_USCC}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{issuer}");
    let key = tv.client("system-a", &["licence:issue"]).await;
    let id = issuer["id"].as_str().expect("id").to_owned();
    tv.vault
        .bind_issuers(
            "system-a",
            std::slice::from_ref(&id),
            sidian::audit::Actor::Operator("t".into()),
        )
        .await
        .expect("bind");
    (issuer, key)
}

const SPOT: SealSpot = SealSpot {
    x: 150.0,
    y: 250.0,
    diameter: 42.0,
};

async fn sealed(tv: &TestVault, key: &str, issuer: &str, which: LicencePdfSeal) -> Vec<u8> {
    let client = tv.vault.authenticate(key).await.expect("auth");
    tv.vault
        .licence_pdf(&client, issuer, &face(), &meta(), SPOT, which)
        .await
        .expect("licence pdf")
}

#[tokio::test]
async fn a_licence_pdf_is_sealed_and_certified_by_the_issuers_licence_seal() {
    let tv = TestVault::open(None).await;
    let (issuer, key) = setup(&tv).await;
    let issuer_id = issuer["id"].as_str().expect("id");
    for which in [LicencePdfSeal::P256, LicencePdfSeal::Sm2] {
        let pdf = sealed(&tv, &key, issuer_id, which).await;
        let report = tv
            .vault
            .verify_document(pdf.clone(), None)
            .await
            .expect("verify");
        assert_eq!(report.verdict, Verdict::Valid, "{which:?}: {report:?}");
        assert_eq!(report.signatures.len(), 1);
        let json = serde_json::to_value(&report).expect("json");
        let text = json.to_string();
        assert!(
            text.contains("济南市市场监督管理局电子证照专用章"),
            "{text}"
        );
        let want_alg = match which {
            LicencePdfSeal::P256 => "ecdsa",
            LicencePdfSeal::Sm2 => "sm2",
        };
        assert!(text.to_lowercase().contains(want_alg), "{which:?}: {text}");
        // DocMDP P1 in the signature dictionary, and the Info keys in the signed revision.
        let raw = String::from_utf8_lossy(&pdf);
        assert!(raw.contains("/DocMDP"), "no DocMDP reference");
        assert!(raw.contains("/P 1"), "not P1");
        assert!(raw.contains("/LicenceIssuer (11370100004312345D)"));
        if which == LicencePdfSeal::P256 {
            pdfsig_accepts(&tv, &pdf);
        }
    }
    // A client not bound to the issuer gets nothing.
    let other = tv.client("system-x", &["licence:issue"]).await;
    let client = tv.vault.authenticate(&other).await.expect("auth");
    let err = tv
        .vault
        .licence_pdf(
            &client,
            issuer_id,
            &face(),
            &meta(),
            SPOT,
            LicencePdfSeal::P256,
        )
        .await
        .expect_err("not bound");
    assert_eq!(err.status(), 404);
}

/// pdfsig (when installed; required under CI) finds one valid certification signature.
fn pdfsig_accepts(tv: &TestVault, pdf: &[u8]) {
    let file = tv.dir.path().join("licence.pdf");
    std::fs::write(&file, pdf).expect("write");
    let Ok(out) = std::process::Command::new("pdfsig").arg(&file).output() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "pdfsig is required under CI"
        );
        println!("pdfsig not found: skipping");
        return;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    println!("{text}");
    assert!(
        text.contains("Signature Validation: Signature is Valid."),
        "{text}"
    );
    assert!(
        text.contains("Signature Type: ETSI.CAdES.detached"),
        "{text}"
    );
    assert!(text.contains("Total document signed"), "{text}");
}

#[tokio::test]
async fn an_issuer_from_before_gets_its_p256_seal_once_on_first_need() {
    let tv = TestVault::open(None).await;
    let (issuer, key) = setup(&tv).await;
    let issuer_id = issuer["id"].as_str().expect("id");
    // As an issuer registered before migration 0008 looks: no PDF seal.
    let url = tv.config.database_url();
    let pool = sqlx::SqlitePool::connect(&url).await.expect("db");
    sqlx::query("UPDATE issuers SET pdf_seal_id = NULL WHERE id = ?")
        .bind(issuer_id)
        .execute(&pool)
        .await
        .expect("update");
    let seals_before: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM seals")
        .fetch_one(&pool)
        .await
        .expect("count");
    let (a, b) = tokio::join!(
        sealed(&tv, &key, issuer_id, LicencePdfSeal::P256),
        sealed(&tv, &key, issuer_id, LicencePdfSeal::P256),
    );
    let seal_id: Option<String> =
        sqlx::query_scalar("SELECT pdf_seal_id FROM issuers WHERE id = ?")
            .bind(issuer_id)
            .fetch_one(&pool)
            .await
            .expect("issuer");
    let seal_id = seal_id.expect("a PDF seal now");
    let (owner, name): (String, String) =
        sqlx::query_as("SELECT owner, name FROM seals WHERE id = ?")
            .bind(&seal_id)
            .fetch_one(&pool)
            .await
            .expect("seal");
    assert_eq!(owner, "vault");
    assert_eq!(name, "济南市市场监督管理局电子证照专用章");
    // Both requests used the one seal that was kept; a racing loser's seal is never stored.
    let seals_after: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM seals")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(seals_after, seals_before + 1);
    for pdf in [a, b] {
        let report = tv.vault.verify_document(pdf, None).await.expect("verify");
        assert_eq!(report.verdict, Verdict::Valid, "{report:?}");
    }
}
