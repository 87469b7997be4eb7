//! Electronic seals end to end through the API: making, signing, revoking, verifying (on SQLite
//! and PostgreSQL), and verification of real third-party sealed files (tests/data/ses, see its
//! NOTICE.md) including tampered and hostile variants.

mod common;

use axum::http::StatusCode;
use common::{PgDatabase, TestVault, b64, post_raw, rezip, unb64, unzip_entry};
use serde_json::{Value, json};

const UTF8_ORG: &str = "某某市市场监督管理局";
const USCC: &str = "11100000000013338W";
const OFD: &[u8] = include_bytes!("data/ses/v4signed.ofd");

fn check<'a>(report: &'a Value, name: &str) -> Option<&'a Value> {
    report["checks"]
        .as_array()?
        .iter()
        .find(|c| c["name"] == name)
}

fn failing(report: &Value) -> Vec<String> {
    report["checks"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|c| c["ok"] == false)
                .map(|c| c["name"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// `POST /v1/ses/verify` with a signature (base64, as a JSON value) and its original.
async fn ses_verify(tv: &TestVault, signature: &Value, data: String) -> (StatusCode, Value) {
    let body = json!({"signature": signature, "data": data}).to_string();
    tv.call(
        axum::http::Method::POST,
        "/v1/ses/verify",
        None,
        Some(body.into()),
    )
    .await
}

async fn create_seal(tv: &TestVault, key: &str, alg: &str) -> Value {
    let (status, seal) = tv
        .post(
            "/v1/seals",
            key,
            json!({
                "name": format!("{UTF8_ORG}合同专用章"),
                "type": "contract",
                "holder": {"name": UTF8_ORG, "uscc": USCC},
                "valid_from": "2020-01-01",
                "valid_to": "2030-12-31",
                "alg": alg,
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{seal}");
    for field in ["id", "es_id", "cert_pem", "seal"] {
        assert!(seal[field].is_string(), "{field} missing: {seal}");
    }
    seal
}

async fn seal_lifecycle(tv: &TestVault) {
    let a = tv.client("approval-a", &[]).await;
    let b = tv.client("approval-b", &[]).await;
    for alg in ["sm2", "p256", "rsa2048"] {
        let seal = create_seal(tv, &a, alg).await;
        let id = seal["id"].as_str().expect("id");
        let es_id = seal["es_id"].as_str().expect("es_id");
        assert_eq!(es_id.len(), 14, "region + serial: {es_id}");
        assert!(es_id.starts_with("100000"), "{es_id}");

        // The stored SESeal decodes and names the holder certificate.
        let der = unb64(&seal["seal"]);
        let parsed = sidian::ses::Seal::from_der(&der).expect("seal decodes");
        assert_eq!(parsed.es_id(), es_id);
        assert_eq!(parsed.header_version(), 4);
        sidian::ses::verify_maker_signature(&parsed).expect("maker signature");

        // Image: a PNG.
        let (status, png) = tv.get(&format!("/v1/seals/{id}/image.png"), &a).await;
        assert_eq!(status, StatusCode::OK);
        let png = png.as_str().map(str::as_bytes).unwrap_or_default();
        assert!(png.starts_with(b"\x89PNG") || !png.is_empty());

        // Sign and verify with the original.
        let data = format!("approval decision for {alg}").into_bytes();
        let (status, signed) = tv
            .post(
                &format!("/v1/seals/{id}/sign"),
                &a,
                json!({"data": b64(&data), "property_info": "decision.xml"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{signed}");
        let sig = signed["signature"].clone();
        assert!(sig.is_string(), "{signed}");
        let (status, report) = ses_verify(tv, &sig, b64(&data)).await;
        assert_eq!(status, StatusCode::OK, "{report}");
        assert_eq!(report["verdict"], "VALID", "{alg}: {report:#}");
        assert_eq!(report["format"], "ses-signature");
        let sig0 = &report["signatures"][0];
        assert_eq!(sig0["intact"], true);
        assert_eq!(sig0["trusted"], true);
        assert_eq!(sig0["seal"]["es_id"], es_id);
        // Again, with the same and with another propertyInfo length (the signer caches the
        // hash state of the seal prefix per TBS length header).
        for property in [
            "decision.xml",
            "a/much/longer/property/info/path/of/the/decision.xml",
        ] {
            let (status, again) = tv
                .post(
                    &format!("/v1/seals/{id}/sign"),
                    &a,
                    json!({"data": b64(&data), "property_info": property}),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{again}");
            let (_, report) = ses_verify(tv, &again["signature"], b64(&data)).await;
            assert_eq!(report["verdict"], "VALID", "{alg} {property}: {report:#}");
        }

        // The wrong original: INVALID, naming dataHash.
        let (_, report) = ses_verify(tv, &sig, b64(b"other")).await;
        assert_eq!(report["verdict"], "INVALID");
        assert_eq!(
            failing(&report["signatures"][0]),
            vec!["signature.data_hash".to_owned()]
        );

        // Another client: 404 for reading, signing, revoking.
        assert_eq!(
            tv.get(&format!("/v1/seals/{id}"), &b).await.0,
            StatusCode::NOT_FOUND
        );
        let (status, _) = tv
            .post(
                &format!("/v1/seals/{id}/sign"),
                &b,
                json!({"data": b64(b"x")}),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = tv
            .post(&format!("/v1/seals/{id}/revoke"), &b, json!({}))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        // Revoke: no more signing; the older signature still verifies and reports the time.
        let (status, revoked) = tv
            .post(
                &format!("/v1/seals/{id}/revoke"),
                &a,
                json!({"reason": "seal lost"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{revoked}");
        assert_eq!(revoked["status"], "revoked");
        let (status, err) = tv
            .post(
                &format!("/v1/seals/{id}/sign"),
                &a,
                json!({"data": b64(b"x")}),
            )
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{err}");
        assert_eq!(err["error"]["code"], "seal_revoked");
        let (_, report) = ses_verify(tv, &sig, b64(&data)).await;
        assert_eq!(
            report["verdict"], "VALID",
            "signed before revocation: {report:#}"
        );
        assert!(
            report["signatures"][0]["revoked_at"].is_string(),
            "{report:#}"
        );
    }

    // The seal authority (admin) makes a seal granted to B: B may use it, A may not; a client
    // without admin cannot grant.
    let authority = tv.client("seal-authority", &["admin"]).await;
    let (status, granted) = tv
        .post(
            "/v1/seals",
            &authority,
            json!({"name": "某某公司", "holder": {"name": "某某公司", "uscc": "91370406L24894136J"}, "grant_to": "approval-b"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{granted}");
    let gid = granted["id"].as_str().expect("id");
    let (status, _) = tv
        .post(
            &format!("/v1/seals/{gid}/sign"),
            &b,
            json!({"data": b64(b"x")}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = tv
        .post(
            &format!("/v1/seals/{gid}/sign"),
            &a,
            json!({"data": b64(b"x")}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, err) = tv
        .post(
            "/v1/seals",
            &a,
            json!({"name": "x", "holder": {"name": "某某公司", "uscc": USCC}, "grant_to": "approval-b"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{err}");

    // The CRL of the SM2 issuing CA lists the revoked holder certificate and verifies.
    let (status, _) = tv
        .call(
            axum::http::Method::GET,
            "/v1/pki/crl/sm2-issuing",
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let crl = tv.vault.crl("sm2-issuing").await.expect("crl");
    let crl = sidian::pki::Crl::from_der(&crl).expect("crl parses");
    let issuing = tv
        .vault
        .trust_list()
        .into_iter()
        .find(|e| e.name == "sm2-issuing")
        .expect("issuing");
    crl.verify_signature(&issuing.cert).expect("crl signature");
    let (status, _) = tv
        .call(axum::http::Method::GET, "/v1/pki/crl/nope", None, None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Trust list: two roots, two issuing CAs, two handwritten signers' CAs.
    let (status, list) = tv
        .call(axum::http::Method::GET, "/v1/trust-list", None, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        list["authorities"].as_array().map(Vec::len),
        Some(6),
        "{list}"
    );

    // Bad input: a typed error each.
    for (body, code) in [
        (
            json!({"name": "x", "holder": {"name": "x", "uscc": "11100000000013338X"}}),
            "invalid_uscc",
        ),
        (
            json!({"name": "x", "holder": {"name": "x", "uscc": USCC}, "alg": "ed25519"}),
            "invalid_request",
        ),
        (
            json!({"name": "x", "holder": {"name": "x", "uscc": USCC}, "type": "nope"}),
            "invalid_request",
        ),
        (
            json!({"name": "x", "holder": {"name": "x", "uscc": USCC}, "image": "!!"}),
            "invalid_base64",
        ),
        (
            json!({"name": "x", "holder": {"name": "x", "uscc": USCC}, "image": b64(b"not a png")}),
            "invalid_image",
        ),
        (
            json!({"name": "x", "holder": {"name": "𠮷野家", "uscc": USCC}}),
            "unsupported_character",
        ),
        (
            json!({"name": "x", "holder": {"name": "x", "uscc": USCC}, "valid_from": "2031-01-01", "valid_to": "2030-01-01"}),
            "invalid_request",
        ),
    ] {
        let (status, err) = tv.post("/v1/seals", &a, body.clone()).await;
        assert!(status.is_client_error(), "{body}: {status} {err}");
        assert_eq!(err["error"]["code"], code, "{body}: {err}");
    }
}

#[tokio::test]
async fn seal_lifecycle_sqlite() {
    seal_lifecycle(&TestVault::open(None).await).await;
}

#[tokio::test]
async fn seal_lifecycle_postgres() {
    let Some(db) = PgDatabase::create().await else {
        return;
    };
    seal_lifecycle(&TestVault::open(Some(db.url.clone())).await).await;
    db.drop_db().await;
}

async fn verify_ofd(tv: &TestVault, bytes: Vec<u8>) -> Value {
    let (status, report) = post_raw(tv, "/v1/documents/verify", "application/ofd", bytes).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    report
}

#[tokio::test]
async fn third_party_ofd_is_intact_but_untrusted() {
    let tv = TestVault::open(None).await;
    let report = verify_ofd(&tv, OFD.to_vec()).await;
    assert_eq!(report["verdict"], "UNTRUSTED", "{report:#}");
    let sigs = report["signatures"].as_array().expect("signatures");
    assert_eq!(sigs.len(), 1);
    assert_eq!(sigs[0]["intact"], true, "{report:#}");
    assert_eq!(sigs[0]["trusted"], false);
    assert_eq!(sigs[0]["kind"], "ses-v4");
    for name in [
        "reference:/Doc_0/Document.xml",
        "seal.maker_signature",
        "signature.signer_signature",
        "signature.data_hash",
        "signature.signer_in_cert_list",
    ] {
        assert_eq!(
            check(&sigs[0], name).map(|c| c["ok"].clone()),
            Some(json!(true)),
            "{name}: {report:#}"
        );
    }
    // Sniffed as octet-stream too.
    let (_, sniffed) = post_raw(
        &tv,
        "/v1/documents/verify",
        "application/octet-stream",
        OFD.to_vec(),
    )
    .await;
    assert_eq!(sniffed["verdict"], "UNTRUSTED");
}

/// The embedded maker and signer certificates of the fixture, as PEM files in a trust directory.
fn trust_fixture_certs(dir: &std::path::Path) {
    let signed = unzip_entry(OFD, "Doc_0/Signs/Sign_0/SignedValue.dat");
    let sig = sidian::ses::Signature::from_der(&signed).expect("signature");
    std::fs::create_dir_all(dir).expect("mkdir");
    for (name, der) in [
        ("signer.pem", sig.signer_cert()),
        ("maker.pem", sig.seal().maker_cert()),
    ] {
        let pem = sidian::pki::Certificate::from_der(der)
            .expect("cert")
            .to_pem();
        std::fs::write(dir.join(name), pem).expect("write");
    }
}

#[tokio::test]
async fn third_party_ofd_is_valid_with_its_certificates_as_anchors_and_tampering_is_named() {
    let tv = TestVault::open_with(None, |config, tmp| {
        let dir = tmp.join("anchors");
        trust_fixture_certs(&dir);
        config.trust_dir = Some(dir);
    })
    .await;
    let report = verify_ofd(&tv, OFD.to_vec()).await;
    assert_eq!(report["verdict"], "VALID", "{report:#}");

    let flip = |at: usize| move |d: &mut Vec<u8>| d[at] ^= 0x01;
    let signed = unzip_entry(OFD, "Doc_0/Signs/Sign_0/SignedValue.dat");
    let sig = sidian::ses::Signature::from_der(&signed).expect("signature");
    let seal_at = signed
        .windows(sig.seal().der().len())
        .position(|w| w == sig.seal().der())
        .expect("seal inside");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "Document.xml",
            rezip(OFD, "Doc_0/Document.xml", flip(100)),
            "reference:/Doc_0/Document.xml",
        ),
        (
            "Signature.xml",
            rezip(OFD, "Doc_0/Signs/Sign_0/Signature.xml", |d| {
                // A letter of the Provider's company name: still well-formed XML.
                let at = d
                    .windows(12)
                    .position(|w| w == b"Company=\"BW\"")
                    .expect("provider");
                d[at + 9] = b'C';
            }),
            "signature.data_hash",
        ),
        (
            "SignedValue.dat signature",
            rezip(OFD, "Doc_0/Signs/Sign_0/SignedValue.dat", |d| {
                let n = d.len();
                d[n - 10] ^= 0x01;
            }),
            "signature.signer_signature",
        ),
        (
            "the seal inside SignedValue.dat",
            rezip(
                OFD,
                "Doc_0/Signs/Sign_0/SignedValue.dat",
                flip(seal_at + 40),
            ),
            "seal.maker_signature",
        ),
    ];
    for (what, bytes, expected) in cases {
        let report = verify_ofd(&tv, bytes).await;
        assert_ne!(report["verdict"], "VALID", "{what}: {report:#}");
        let sig = &report["signatures"][0];
        assert!(
            failing(sig).iter().any(|n| n == expected),
            "{what}: expected failing {expected}, got {:?}",
            failing(sig)
        );
    }
}

#[tokio::test]
async fn third_party_seals_and_signatures_verify() {
    let tv = TestVault::open(None).await;
    for (file, bytes) in [
        (
            "UserV1.esl",
            include_bytes!("data/ses/UserV1.esl").as_slice(),
        ),
        (
            "UserV4.esl",
            include_bytes!("data/ses/UserV4.esl").as_slice(),
        ),
        (
            "SignedValueV4.dat",
            include_bytes!("data/ses/SignedValueV4.dat").as_slice(),
        ),
    ] {
        let (_, report) = post_raw(
            &tv,
            "/v1/documents/verify",
            "application/octet-stream",
            bytes.to_vec(),
        )
        .await;
        let sig = &report["signatures"][0];
        assert_eq!(sig["intact"], true, "{file}: {report:#}");
        assert_eq!(report["verdict"], "UNTRUSTED", "{file}: {report:#}");
        let mut broken = bytes.to_vec();
        let n = broken.len();
        broken[n - 8] ^= 0x01;
        let (_, report) = post_raw(
            &tv,
            "/v1/documents/verify",
            "application/octet-stream",
            broken,
        )
        .await;
        assert_eq!(report["verdict"], "INVALID", "{file} tampered: {report:#}");
    }
}

#[tokio::test]
async fn hostile_documents_are_invalid_not_errors() {
    let tv = TestVault::open(None).await;
    let mut cases: Vec<(&str, Vec<u8>)> = vec![
        ("garbage", b"hello world".to_vec()),
        ("truncated OFD", OFD[..OFD.len() / 2].to_vec()),
        (
            "truncated DER",
            include_bytes!("data/ses/SignedValueV4.dat")[..500].to_vec(),
        ),
        ("nested ASN.1", {
            let mut v = Vec::new();
            for _ in 0..50_000 {
                v.extend_from_slice(&[0x30, 0x80]);
            }
            v
        }),
    ];
    // A zip bomb: 1 GiB of zeros compressed to about 1 MB, as OFD.xml.
    let bomb = {
        use std::io::Write;
        let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .large_file(true);
        out.start_file("OFD.xml", opts).expect("start");
        let chunk = vec![0u8; 1 << 20];
        for _ in 0..1024 {
            out.write_all(&chunk).expect("write");
        }
        out.finish().expect("finish").into_inner()
    };
    assert!(bomb.len() < 4 << 20, "bomb is {} bytes", bomb.len());
    cases.push(("zip bomb", bomb));
    for (what, bytes) in cases {
        let (status, report) = post_raw(
            &tv,
            "/v1/documents/verify",
            "application/octet-stream",
            bytes,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{what}: {report}");
        assert_eq!(report["verdict"], "INVALID", "{what}: {report:#}");
        let reason = report["problems"]
            .as_array()
            .map(|p| !p.is_empty())
            .unwrap_or(false)
            || !failing(&report["signatures"][0]).is_empty();
        assert!(reason, "{what}: no reason given: {report:#}");
    }
}

async fn tsa_count(conn: &mut sqlx::SqliteConnection) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM authorities WHERE role = 'tsa'")
        .fetch_one(conn)
        .await
        .expect("count")
}

#[tokio::test]
async fn a_vault_without_time_stamping_authorities_gets_them_on_open() {
    use sqlx::Connection;
    let tv = TestVault::open(None).await;
    let mut conn = sqlx::SqliteConnection::connect(&tv.config.database_url())
        .await
        .expect("connect");
    assert_eq!(
        tsa_count(&mut conn).await,
        2,
        "an SM2 and a P-256 TSA at init"
    );
    // As a vault made before TSAs existed:
    sqlx::query("DELETE FROM authorities WHERE role = 'tsa'")
        .execute(&mut conn)
        .await
        .expect("delete");
    let reopened = sidian::Vault::open(tv.config.clone(), false)
        .await
        .expect("reopen");
    assert_eq!(tsa_count(&mut conn).await, 2, "recreated on open");
    // Their certificates are in the log, and it still verifies.
    reopened.verify_audit_log().await.expect("audit log intact");
    reopened.close().await;
}

/// GB 11643's own example number, and a mistyped copy (one digit changed).
const ID_NUMBER: &str = "11010519491231002X";
const ID_NUMBER_MISTYPED: &str = "11010519491231003X";

/// Every file under `dir` (database, WAL, checkpoints) whose bytes contain `needle`.
fn files_containing(dir: &std::path::Path, needle: &[u8]) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_containing(&path, needle));
        } else if std::fs::read(&path)
            .expect("read file")
            .windows(needle.len())
            .any(|w| w == needle)
        {
            found.push(path);
        }
    }
    found
}

#[tokio::test]
async fn a_personal_seal_names_its_holder_by_a_masked_citizen_id_only() {
    let tv = TestVault::open(None).await;
    let key = tv.client("personal", &[]).await;
    let (status, seal) = tv
        .post(
            "/v1/seals",
            &key,
            json!({
                "name": "张三",
                "type": "personal",
                "holder": {"name": "张三", "id_number": ID_NUMBER},
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{seal}");
    assert_eq!(seal["type"], "personal");
    assert_eq!(
        seal["holder"],
        json!({"name": "张三", "id_number": "1101**********002X"})
    );
    // The esID's region is the city's, which the masked number shows anyway.
    let es_id = seal["es_id"].as_str().expect("es_id");
    assert!(es_id.starts_with("110100"), "{es_id}");

    // The holder certificate names the person, by the masked number (PrintableString has no
    // `*`, so `-` hides the digits there), and no organisation.
    let cert = sidian::pki::Certificate::from_pem(seal["cert_pem"].as_str().expect("pem"))
        .expect("certificate");
    let subject = cert.subject_name();
    assert_eq!(subject.common_name, "张三");
    assert_eq!(subject.serial_number.as_deref(), Some("1101----------002X"));
    assert_eq!(subject.organization, None);
    assert_eq!(subject.organizational_unit.as_deref(), Some("张三"));

    // It signs, and its signatures verify, naming the masked holder.
    let id = seal["id"].as_str().expect("id");
    let (status, signed) = tv
        .post(
            &format!("/v1/seals/{id}/sign"),
            &key,
            json!({"data": b64(b"contract")}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{signed}");
    let (_, report) = ses_verify(&tv, &signed["signature"], b64(b"contract")).await;
    assert_eq!(report["verdict"], "VALID", "{report:#}");
    assert_eq!(
        report["signatures"][0]["seal"]["holder_id"],
        "1101----------002X"
    );
    // A person holds a personal seal: the certificate's commonName, there being no organization.
    assert_eq!(
        report["signatures"][0]["seal"]["holder"], "张三",
        "{report:#}"
    );
    let (status, read) = tv.get(&format!("/v1/seals/{id}"), &key).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read["holder"]["id_number"], "1101**********002X");

    // The audit entry commits to the whole number with a key, and no file of the vault (the
    // database, its WAL, the checkpoints) holds the number itself.
    let pool = {
        sqlx::any::install_default_drivers();
        sqlx::AnyPool::connect(&tv.config.database_url())
            .await
            .expect("raw connection")
    };
    let records: Vec<Vec<u8>> = sqlx::query_scalar("SELECT record FROM audit_entries")
        .fetch_all(&pool)
        .await
        .expect("records");
    let created: Vec<Value> = records
        .iter()
        .map(|r| serde_json::from_slice::<Value>(r).expect("record"))
        .filter(|r| r["action"] == "seal.created")
        .collect();
    assert_eq!(created.len(), 1);
    let hmac = created[0]["details"]["holder_id_hmac"]
        .as_str()
        .expect("commitment");
    assert_eq!(hmac.len(), 64);
    pool.close().await;
    assert_eq!(
        files_containing(tv.dir.path(), ID_NUMBER.as_bytes()),
        Vec::<std::path::PathBuf>::new()
    );
    // The scan does read what the vault stored: the masked number is found.
    assert!(!files_containing(tv.dir.path(), "1101**********002X".as_bytes()).is_empty());
}

#[tokio::test]
async fn personal_and_unit_identifiers_are_not_interchangeable() {
    let tv = TestVault::open(None).await;
    let key = tv.client("personal-errors", &[]).await;
    let personal = |holder: Value| json!({"name": "张三", "type": "personal", "holder": holder});
    for (body, code) in [
        // A mistyped number: refused without echoing it.
        (
            personal(json!({"name": "张三", "id_number": ID_NUMBER_MISTYPED})),
            "invalid_id_number",
        ),
        (
            personal(json!({"name": "张三", "id_number": "11010519491231002x"})),
            "invalid_id_number",
        ),
        // A number sent as a JSON number: serde would quote it.
        (
            personal(json!({"name": "张三", "id_number": 110105194912310020_u64})),
            "invalid_request",
        ),
        // A person has no 统一社会信用代码, and a unit no 公民身份号码.
        (
            personal(json!({"name": "张三", "uscc": USCC})),
            "invalid_request",
        ),
        (
            personal(json!({"name": "张三", "uscc": USCC, "id_number": ID_NUMBER})),
            "invalid_request",
        ),
        (personal(json!({"name": "张三"})), "invalid_request"),
        (
            json!({"name": "x", "holder": {"name": "某某公司", "id_number": ID_NUMBER}}),
            "invalid_request",
        ),
        // Shapes and sizes are a drawn personal seal's.
        (
            json!({"name": "x", "holder": {"name": "某某公司", "uscc": USCC}, "shape": "square"}),
            "invalid_request",
        ),
        (
            json!({"name": "张三", "type": "personal", "shape": "oval",
                "holder": {"name": "张三", "id_number": ID_NUMBER}}),
            "invalid_request",
        ),
        (
            json!({"name": "张三", "type": "personal", "size_mm": 42,
                "holder": {"name": "张三", "id_number": ID_NUMBER}}),
            "invalid_request",
        ),
        // Seven characters fit no name seal.
        (
            json!({"name": "x", "type": "personal",
                "holder": {"name": "张三丰张三丰张", "id_number": ID_NUMBER}}),
            "invalid_request",
        ),
    ] {
        let (status, err) = tv.post("/v1/seals", &key, body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {err}");
        assert_eq!(err["error"]["code"], code, "{body}: {err}");
        let message = err["error"]["message"].as_str().expect("message");
        for number in [
            ID_NUMBER,
            ID_NUMBER_MISTYPED,
            "110105194912310020",
            "11010519491231002x",
        ] {
            assert!(!message.contains(&number[..14]), "{message}");
        }
    }
}
