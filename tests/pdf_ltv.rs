//! Revocation that outside validators can check: certificates name the vault's CRL and issuer
//! certificate under its public URL, both served by the vault, and the CRL states the reason the
//! seal was revoked for; PAdES B-LT seals carry the certificates and CRLs in a DSS.

mod common;

use axum::http::{Method, StatusCode};
use common::{TestVault, create_contract_seal};
use serde_json::json;
use sidian::pdf::{Limits, Object, PdfFile};
use sidian::pki::{Certificate, Crl, RevocationReason};

const DOC: &[u8] = include_bytes!("data/pdf/doc-1p.pdf");
const PUBLIC: &str = "http://127.0.0.1:8443/sidian";

async fn public_vault() -> TestVault {
    TestVault::open_with(None, |c, _| c.public_url = Some(PUBLIC.into())).await
}

async fn fetch(tv: &TestVault, path: &str) -> (StatusCode, Vec<u8>) {
    tv.send(Method::GET, path, None, None, "application/json")
        .await
}

#[tokio::test]
async fn certificates_name_the_crl_and_issuer_the_vault_serves() {
    let tv = public_vault().await;
    let key = tv.client("ops", &["seals", "sign"]).await;
    let id = create_contract_seal(&tv, &key, "p256").await;
    let (_, seal) = tv.get(&format!("/v1/seals/{id}"), &key).await;
    let holder = Certificate::from_pem(
        seal["cert_pem"]
            .as_str()
            .expect("present in the test setup"),
    )
    .expect("present in the test setup");
    assert_eq!(
        holder.crl_distribution_uri(),
        Some(format!("{PUBLIC}/v1/pki/crl/p256-issuing").as_str())
    );
    let ca_uri = holder.ca_issuers_uri().expect("present in the test setup");
    assert_eq!(ca_uri, format!("{PUBLIC}/v1/pki/ca/p256-issuing.cer"));

    // The caIssuers URI gives the certificate that issued the holder's, as DER.
    let (status, der) = fetch(
        &tv,
        ca_uri
            .strip_prefix(PUBLIC)
            .expect("present in the test setup"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let issuing = Certificate::from_der(&der).expect("present in the test setup");
    assert_eq!(issuing.subject(), holder.issuer());
    assert_eq!(
        holder.authority_key_identifier(),
        issuing.subject_key_identifier()
    );
    // The issuing CA names the root's CRL in turn; the root names nothing.
    assert_eq!(
        issuing.crl_distribution_uri(),
        Some(format!("{PUBLIC}/v1/pki/crl/p256-root").as_str())
    );
    let (status, der) = fetch(&tv, "/v1/pki/ca/p256-root.cer").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        Certificate::from_der(&der)
            .expect("present in the test setup")
            .crl_distribution_uri(),
        None
    );
    for missing in [
        "/v1/pki/ca/p256-issuing",
        "/v1/pki/ca/p256-maker.cer",
        "/v1/pki/ca/x.cer",
    ] {
        assert_eq!(
            fetch(&tv, missing).await.0,
            StatusCode::NOT_FOUND,
            "{missing}"
        );
    }
}

#[tokio::test]
async fn without_a_public_url_certificates_name_nothing() {
    let tv = TestVault::open(None).await;
    let key = tv.client("ops", &["seals"]).await;
    let id = create_contract_seal(&tv, &key, "sm2").await;
    let (_, seal) = tv.get(&format!("/v1/seals/{id}"), &key).await;
    let holder = Certificate::from_pem(
        seal["cert_pem"]
            .as_str()
            .expect("present in the test setup"),
    )
    .expect("present in the test setup");
    assert_eq!(holder.crl_distribution_uri(), None);
    assert_eq!(holder.ca_issuers_uri(), None);
}

/// The reason listed for the holder certificate in the issuing CA's CRL.
async fn crl_reason(tv: &TestVault, holder: &Certificate, ca: &str) -> Option<RevocationReason> {
    let (status, der) = fetch(tv, &format!("/v1/pki/crl/{ca}")).await;
    assert_eq!(status, StatusCode::OK);
    Crl::from_der(&der)
        .expect("present in the test setup")
        .revoked(&holder.serial_hex())
        .expect("listed")
        .1
}

#[tokio::test]
async fn the_crl_states_the_reason_code_given() {
    let tv = public_vault().await;
    let key = tv.client("ops", &["seals"]).await;
    let mut listed = Vec::new();
    for (alg, body) in [
        (
            "p256",
            json!({"reason": "laptop stolen", "reason_code": "keyCompromise"}),
        ),
        (
            "sm2",
            json!({"reason": "merged", "reason_code": "superseded"}),
        ),
        // Without a code: cessationOfOperation, as before reason codes existed.
        ("p256", json!({"reason": "closed"})),
    ] {
        let id = create_contract_seal(&tv, &key, alg).await;
        let (status, seal) = tv.post(&format!("/v1/seals/{id}/revoke"), &key, body).await;
        assert_eq!(status, StatusCode::OK, "{seal}");
        let holder = Certificate::from_pem(
            seal["cert_pem"]
                .as_str()
                .expect("present in the test setup"),
        )
        .expect("present in the test setup");
        listed.push(crl_reason(&tv, &holder, &format!("{alg}-issuing")).await);
    }
    assert_eq!(
        listed,
        [
            Some(RevocationReason::KeyCompromise),
            Some(RevocationReason::Superseded),
            Some(RevocationReason::CessationOfOperation),
        ]
    );

    // Hold and CA compromise are not a seal holder's to give, nor unknown names: 400, and the
    // seal stays active.
    let id = create_contract_seal(&tv, &key, "p256").await;
    for code in ["certificateHold", "cACompromise", "key_compromise", ""] {
        let (status, body) = tv
            .post(
                &format!("/v1/seals/{id}/revoke"),
                &key,
                json!({"reason_code": code}),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{code}: {body}");
        assert_eq!(body["error"]["code"], "invalid_request", "{body}");
    }
    let (_, seal) = tv.get(&format!("/v1/seals/{id}"), &key).await;
    assert_eq!(seal["status"], "active");
}

/// The streams of the DSS's `key` array (`Certs` or `CRLs`), decoded.
fn dss_items(pdf: &[u8], key: &[u8]) -> Vec<Vec<u8>> {
    let file = PdfFile::open(pdf, &Limits::default()).expect("opens");
    let upto = file.sections().len();
    let (_, catalog) = file.catalog_at(upto).expect("catalog");
    let Ok(Object::Dict(dss)) = file.resolve_at(catalog.get(b"DSS").expect("/DSS"), upto) else {
        panic!("/DSS is not a dictionary");
    };
    let Some(Object::Array(items)) = dss.get(key) else {
        panic!("no /{} array", String::from_utf8_lossy(key));
    };
    items
        .iter()
        .map(|r| match file.resolve_at(r, upto).expect("resolves") {
            Object::Stream(s) => file.decode(&s).expect("decodes"),
            other => panic!("not a stream: {other:?}"),
        })
        .collect()
}

#[tokio::test]
async fn a_b_lt_seal_carries_its_chain_and_crls_and_stays_valid() {
    let tv = public_vault().await;
    let key = tv.client("ops", &["seals", "sign"]).await;
    let id = create_contract_seal(&tv, &key, "p256").await;
    let (status, out) = common::call_bytes(
        &tv,
        &format!("/v1/seals/{id}/stamp?level=b-lt"),
        Some(&key),
        "application/pdf",
        DOC.to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&out));
    // The signed revision, then the DSS revision after it.
    let file = PdfFile::open(&out, &Limits::default()).expect("opens");
    let before = PdfFile::open(DOC, &Limits::default()).expect("opens");
    assert_eq!(file.sections().len(), before.sections().len() + 2);

    let certs: Vec<Certificate> = dss_items(&out, b"Certs")
        .iter()
        .map(|d| Certificate::from_der(d).expect("certificate"))
        .collect();
    let (_, seal) = tv.get(&format!("/v1/seals/{id}"), &key).await;
    let holder = Certificate::from_pem(
        seal["cert_pem"]
            .as_str()
            .expect("present in the test setup"),
    )
    .expect("present in the test setup");
    let subjects: Vec<&str> = certs.iter().map(Certificate::subject).collect();
    assert!(certs.contains(&holder), "{subjects:?}");
    for part in ["P-256 Issuing CA", "P-256 Root CA", "时间戳服务"] {
        assert!(
            subjects.iter().any(|s| s.contains(part)),
            "{part}: {subjects:?}"
        );
    }
    let crls: Vec<Crl> = dss_items(&out, b"CRLs")
        .iter()
        .map(|d| Crl::from_der(d).expect("CRL"))
        .collect();
    for ca in ["P-256 Issuing CA", "P-256 Root CA"] {
        let issuer = certs
            .iter()
            .find(|c| c.subject().contains(ca))
            .expect("present in the test setup");
        assert!(
            crls.iter().any(|crl| crl.verify_signature(issuer).is_ok()),
            "no CRL signed by {ca}"
        );
    }

    let (status, report) = common::json_answer(
        common::call_bytes(&tv, "/v1/documents/verify", None, "application/pdf", out).await,
    );
    assert_eq!(status, StatusCode::OK, "{report}");
    // A DSS revision is an allowed later change no signature covers (a B-LTA document
    // time-stamp would cover it): every check passes and the seal is intact and trusted.
    assert_eq!(
        report["verdict"], "VALID_WITH_ALLOWED_LATER_CHANGES",
        "{report}"
    );
    let signature = &report["signatures"][0];
    assert!(
        signature["intact"] == true && signature["trusted"] == true,
        "{report}"
    );
    let checks = signature["checks"]
        .as_array()
        .expect("present in the test setup");
    assert!(checks.iter().all(|c| c["ok"] == true), "{report}");
    let later = checks
        .iter()
        .find(|c| c["name"] == "pdf.later_changes")
        .expect("present in the test setup");
    assert_eq!(
        later["detail"], "allowed: DSS added in revision 3",
        "{report}"
    );
}

#[tokio::test]
async fn a_b_lta_seal_ends_with_a_document_time_stamp_over_its_dss() {
    use sidian::pdf::{SigType, SubFilter, find_signatures};
    use sidian::tsa::verify_token;

    let tv = public_vault().await;
    let key = tv.client("ops", &["seals", "sign"]).await;
    for alg in ["p256", "sm2"] {
        let id = create_contract_seal(&tv, &key, alg).await;
        let (status, out) = common::call_bytes(
            &tv,
            &format!("/v1/seals/{id}/stamp?level=b-lta"),
            Some(&key),
            "application/pdf",
            DOC.to_vec(),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&out));
        // Seal, DSS, then the time-stamp revision, which is the last and covers the DSS.
        let file = PdfFile::open(&out, &Limits::default()).expect("opens");
        let before = PdfFile::open(DOC, &Limits::default()).expect("opens");
        assert_eq!(file.sections().len(), before.sections().len() + 3);
        assert!(!dss_items(&out, b"CRLs").is_empty());
        let sigs = find_signatures(&file).expect("signatures read");
        assert_eq!(sigs.len(), 2, "{alg}");
        let ts = &sigs[1];
        assert_eq!(ts.sig_type, Some(SigType::DocTimeStamp), "{alg}");
        assert_eq!(ts.sub_filter, Some(SubFilter::Rfc3161), "{alg}");
        assert!(ts.covers_whole_file, "{alg}");
        let [a, b] = ts.byte_range.as_ref().expect("a /ByteRange").ranges(&out);
        let token = ts.contents.as_ref().expect("a token");
        let check = verify_token(token, None, &[]);
        assert!(check.ok(), "{alg}: {:?}", check.checks);
        let info = check.tst_info.expect("a TSTInfo");
        assert_eq!(
            info.hashed_message,
            info.hash_alg.digest(&[a, b].concat()),
            "{alg}: the imprint is the digest of the byte ranges"
        );

        let (status, report) = common::json_answer(
            common::call_bytes(&tv, "/v1/documents/verify", None, "application/pdf", out).await,
        );
        assert_eq!(status, StatusCode::OK, "{report}");
        // Nothing follows the time-stamp: the verdict is plain VALID.
        assert_eq!(report["verdict"], "VALID", "{alg}: {report}");
        assert_eq!(
            report["signatures"][1]["kind"], "pdf-doc-timestamp",
            "{report}"
        );
    }
}
