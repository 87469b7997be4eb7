//! The verifier refuses impossible times (a signing time in its future, a seal used outside its
//! validity, a time not strictly before a revocation) and knows its own audit log: a signature
//! under one of the vault's seals that the vault never recorded is reported `not_in_audit_log`,
//! and every signature the vault releases is indexed in its log by the hash of its value.
//!
//! Signatures the vault would refuse to make are made here as an attacker who copied the data
//! directory would: the seal's key unwrapped with the master key, the SES structures built
//! with the crate's encoder.

mod common;

use axum::http::StatusCode;
use common::{PgDatabase, TestVault, b64, call_bytes, json_answer, unb64};
use serde_json::{Value, json};
use sidian::crypto::{KeyType, PrivateKey, SignatureAlgorithm, sha256};
use sidian::store::Store;
use time::{Duration, OffsetDateTime};

const ECDSA_SHA256: &str = "1.2.840.10045.4.3.2";
const USCC: &str = "91370406L24894136J";

fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["name"] == name))
        .unwrap_or_else(|| panic!("no check {name}: {report:#}"))
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

/// A P-256 seal of client `key`, valid from `valid_from` (YYYY-MM-DD or RFC 3339) for a year;
/// returns (id, SESeal DER, holder certificate DER).
async fn p256_seal(
    tv: &TestVault,
    key: &str,
    valid_from: &str,
    valid_to: &str,
) -> (String, Vec<u8>) {
    let (status, seal) = tv
        .post(
            "/v1/seals",
            key,
            json!({
                "name": "某某有限公司合同专用章",
                "type": "contract",
                "holder": {"name": "某某有限公司", "uscc": USCC},
                "valid_from": valid_from,
                "valid_to": valid_to,
                "alg": "p256",
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{seal}");
    (
        seal["id"].as_str().expect("id").to_owned(),
        unb64(&seal["seal"]),
    )
}

/// The seal's private key, unwrapped from the database with the master key (what a copy of the
/// data directory gives away), and its holder certificate.
async fn stolen_seal_key(tv: &TestVault, seal_id: &str) -> (PrivateKey, Vec<u8>) {
    let store = Store::connect(&tv.config.database_url())
        .await
        .expect("store");
    let seal = store.seal(seal_id).await.expect("query").expect("seal row");
    let key = store
        .key(&seal.key_id)
        .await
        .expect("query")
        .expect("key row");
    let cert = store
        .cert(&seal.cert_id)
        .await
        .expect("query")
        .expect("cert row");
    store.close().await;
    let master = tv.config.load_master_key(false).expect("master key");
    let aad = format!("sidian/v1/key\0{}\0{}\0{}", key.id, key.owner, key.key_type);
    let pkcs8 = master
        .unwrap(&key.wrapped_private, aad.as_bytes())
        .expect("unwrap");
    let key_type: KeyType = key.key_type.parse().expect("key type");
    (
        PrivateKey::from_pkcs8_der(key_type, &pkcs8).expect("pkcs8"),
        cert.der,
    )
}

/// An SES_Signature v4 over `data` with `time_info`, signed outside the vault.
fn forge(
    seal: &[u8],
    key: &PrivateKey,
    cert: &[u8],
    time_info: OffsetDateTime,
    data: &[u8],
) -> Vec<u8> {
    let tbs =
        sidian::ses::encode_tbs_sign(seal, time_info, &sha256(data), "contract.pdf").expect("tbs");
    let sig = key
        .sign(SignatureAlgorithm::EcdsaP256Sha256, &tbs)
        .expect("sign");
    sidian::ses::assemble_signature(&tbs, cert, ECDSA_SHA256, &sig).expect("assemble")
}

async fn ses_verify(tv: &TestVault, signature: &[u8], data: &[u8]) -> Value {
    ses_verify_body(tv, json!({"signature": b64(signature), "data": b64(data)})).await
}

/// `POST /v1/ses/verify` with `body`; the report of a 200.
async fn ses_verify_body(tv: &TestVault, body: Value) -> Value {
    let body = body.to_string();
    let (status, report) = tv
        .call(
            axum::http::Method::POST,
            "/v1/ses/verify",
            None,
            Some(body.into()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    report
}

#[tokio::test]
async fn future_time_info_is_invalid() {
    let tv = TestVault::open(None).await;
    let client = tv.client("approval", &[]).await;
    let (id, seal) = p256_seal(&tv, &client, "2020-01-01", "2030-12-31").await;
    let (key, cert) = stolen_seal_key(&tv, &id).await;
    let data = b"another document".as_slice();
    let now = OffsetDateTime::now_utc();

    let ahead = forge(&seal, &key, &cert, now + Duration::days(200), data);
    let report = ses_verify(&tv, &ahead, data).await;
    assert_eq!(report["verdict"], "INVALID", "{report:#}");
    let sig = &report["signatures"][0];
    assert_eq!(sig["verdict"], "INVALID");
    let time = check(sig, "signature.time_not_in_future");
    assert_eq!(time["ok"], false, "{sig:#}");
    assert!(
        time["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("clock skew"),
        "{time}"
    );
    // The signature itself verifies: it is the time that is refused.
    assert_eq!(check(sig, "signature.signer_signature")["ok"], true);

    // One minute ahead is within the skew: the time passes, and what remains is that this
    // vault never made the signature.
    let soon = forge(&seal, &key, &cert, now + Duration::minutes(1), data);
    let report = ses_verify(&tv, &soon, data).await;
    let sig = &report["signatures"][0];
    assert_eq!(
        check(sig, "signature.time_not_in_future")["ok"],
        true,
        "{sig:#}"
    );
    assert_eq!(failing(sig), vec!["audit.in_log".to_owned()], "{sig:#}");
}

#[tokio::test]
async fn seal_used_outside_validity_is_invalid() {
    let tv = TestVault::open(None).await;
    let client = tv.client("approval", &[]).await;
    let from = OffsetDateTime::now_utc() + Duration::days(30);
    let to = from + Duration::days(365);
    let (id, seal) = p256_seal(&tv, &client, &date(from), &date(to)).await;

    // The seal route refuses to use it yet.
    let (status, err) = tv
        .post(
            &format!("/v1/seals/{id}/sign"),
            &client,
            json!({"data": b64(b"x"), "property_info": "x"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{err}");
    assert_eq!(err["error"]["code"], "seal_not_valid");

    // Signed by hand now, before the seal's validity starts: INVALID, naming the validity.
    let (key, cert) = stolen_seal_key(&tv, &id).await;
    let data = b"early".as_slice();
    let early = forge(&seal, &key, &cert, OffsetDateTime::now_utc(), data);
    let report = ses_verify(&tv, &early, data).await;
    assert_eq!(report["verdict"], "INVALID", "{report:#}");
    let sig = &report["signatures"][0];
    assert_eq!(sig["verdict"], "INVALID");
    assert_eq!(check(sig, "seal.validity")["ok"], false, "{sig:#}");
}

fn date(t: OffsetDateTime) -> String {
    format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
}

#[tokio::test]
async fn signature_outside_audit_log_is_reported() {
    audit_log_lookup(&TestVault::open(None).await).await;
}

#[tokio::test]
async fn signature_outside_audit_log_is_reported_postgres() {
    let Some(db) = PgDatabase::create().await else {
        return;
    };
    audit_log_lookup(&TestVault::open(Some(db.url.clone())).await).await;
    db.drop_db().await;
}

async fn audit_log_lookup(tv: &TestVault) {
    let client = tv.client("approval", &[]).await;
    let (id, seal) = p256_seal(tv, &client, "2020-01-01", "2030-12-31").await;
    let data = b"approval decision".as_slice();

    // Made by the seal route: in the log, at the index the route returned.
    let (status, signed) = tv
        .post(
            &format!("/v1/seals/{id}/sign"),
            &client,
            json!({"data": b64(data), "property_info": "decision.xml"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{signed}");
    let index = signed["audit_index"].as_u64().expect("audit index");
    // timeInfo carries milliseconds, never a bare second.
    let sig = sidian::ses::Signature::from_der(&unb64(&signed["signature"])).expect("decodes");
    match sig.time_info() {
        sidian::ses::TimeInfo::Time(t) => assert_ne!(t.millisecond(), 0, "{t}"),
        other => panic!("timeInfo {other:?}"),
    }
    let report = ses_verify(tv, &unb64(&signed["signature"]), data).await;
    assert_eq!(report["verdict"], "VALID", "{report:#}");
    let in_log = check(&report["signatures"][0], "audit.in_log");
    assert_eq!(in_log["ok"], true);
    assert!(
        in_log["detail"]
            .as_str()
            .unwrap_or_default()
            .contains(&format!("audit entry {index}")),
        "{in_log}"
    );

    // The same seal, the same data, a sane time, made with the copied key: not in the log.
    let (key, cert) = stolen_seal_key(tv, &id).await;
    let copied = forge(&seal, &key, &cert, OffsetDateTime::now_utc(), data);
    let report = ses_verify(tv, &copied, data).await;
    assert_eq!(report["verdict"], "INVALID", "{report:#}");
    let sig = &report["signatures"][0];
    assert_eq!(failing(sig), vec!["audit.in_log".to_owned()], "{sig:#}");
    assert!(
        check(sig, "audit.in_log")["detail"]
            .as_str()
            .unwrap_or_default()
            .starts_with("not_in_audit_log"),
        "{sig:#}"
    );
    let problems = report["problems"].to_string();
    assert!(
        problems.contains("never recorded making this signature"),
        "{report:#}"
    );

    // A stamped PDF: its signature is in the log too.
    let (status, pdf) = call_bytes(
        tv,
        &format!("/v1/seals/{id}/stamp"),
        Some(&client),
        "application/pdf",
        include_bytes!("data/pdf/doc-1p.pdf").to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&pdf));
    let (status, report) =
        json_answer(call_bytes(tv, "/v1/documents/verify", None, "application/pdf", pdf).await);
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["verdict"], "VALID", "{report:#}");
    assert_eq!(check(&report["signatures"][0], "audit.in_log")["ok"], true);
}

#[tokio::test]
async fn revocation_in_the_same_second_is_not_valid() {
    let tv = TestVault::open(None).await;
    let client = tv.client("approval", &[]).await;
    let (id, seal) = p256_seal(&tv, &client, "2020-01-01", "2030-12-31").await;
    let (key, cert) = stolen_seal_key(&tv, &id).await;
    let data = b"late".as_slice();
    let (status, _) = tv
        .post(
            &format!("/v1/seals/{id}/revoke"),
            &client,
            json!({"reason": "lost"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let store = Store::connect(&tv.config.database_url())
        .await
        .expect("store");
    let row = store.seal(&id).await.expect("query").expect("seal");
    store.close().await;
    let revoked_ms = row.revoked_at.expect("revoked");
    let revoked = OffsetDateTime::from_unix_timestamp_nanos(i128::from(revoked_ms) * 1_000_000)
        .expect("time");
    // Timed on the whole second the revocation falls in (no fraction): the signature may have
    // been made at any instant of that second, so it is not VALID.
    let same_second = revoked.replace_nanosecond(0).expect("whole second");
    let report = ses_verify(&tv, &forge(&seal, &key, &cert, same_second, data), data).await;
    let sig = &report["signatures"][0];
    assert_eq!(sig["verdict"], "INVALID", "{sig:#}");
    assert_eq!(
        check(sig, "signature.signer_chain.revocation")["ok"],
        false,
        "{sig:#}"
    );
    // A millisecond before the revocation (with a fraction, when the revocation is not on a
    // whole second): the revocation check passes.
    if revoked.millisecond() > 1 {
        let before = revoked - Duration::MILLISECOND;
        let report = ses_verify(&tv, &forge(&seal, &key, &cert, before, data), data).await;
        let sig = &report["signatures"][0];
        assert_eq!(
            check(sig, "signature.signer_chain.revocation")["ok"],
            true,
            "{sig:#}"
        );
    }
}

/// The audit entry the store's signature index points at for `value`, and that entry's record.
async fn indexed(tv: &TestVault, value: &[u8]) -> Option<(u64, Value)> {
    let store = Store::connect(&tv.config.database_url())
        .await
        .expect("store");
    let found = store
        .signature_entry(&sidian::audit::signature_sha256(value))
        .await
        .expect("query");
    let out = match found {
        Some(index) => {
            let entry = store.entry(index).await.expect("query").expect("entry");
            Some((
                index,
                serde_json::from_slice(&entry.record).expect("record is JSON"),
            ))
        }
        None => None,
    };
    store.close().await;
    out
}

#[tokio::test]
async fn every_released_signature_is_indexed() {
    let tv = TestVault::open(None).await;
    let client = tv.client("approval", &[]).await;

    // A key signature: the raw output of the route.
    let (status, key) = tv.post("/v1/keys", &client, json!({"alg": "p256"})).await;
    assert_eq!(status, StatusCode::CREATED, "{key}");
    let key_id = key["id"].as_str().expect("id");
    let (status, signed) = tv
        .post(
            &format!("/v1/keys/{key_id}/sign"),
            &client,
            json!({"data": b64(b"message")}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{signed}");
    let value = unb64(&signed["signature"]);
    let (index, record) = indexed(&tv, &value).await.expect("key signature indexed");
    assert_eq!(Some(index), signed["audit_index"].as_u64());
    assert_eq!(record["action"], "signature.created");
    assert_eq!(
        record["details"]["signature_sha256"],
        hex::encode(sha256(&value))
    );

    // A seal: its maker signature (seal.created) and its holder certificate's signature
    // (certificate.issued); the seal on its own then verifies with audit.in_log.
    let (id, seal) = p256_seal(&tv, &client, "2020-01-01", "2030-12-31").await;
    let parsed = sidian::ses::Seal::from_der(&seal).expect("seal");
    let (_, record) = indexed(&tv, parsed.maker_signature())
        .await
        .expect("maker signature indexed");
    assert_eq!(record["action"], "seal.created");
    assert_eq!(record["subject"], format!("seal:{id}"));
    let (_, cert) = stolen_seal_key(&tv, &id).await;
    let cert = sidian::pki::Certificate::from_der(&cert).expect("cert");
    let (_, record) = indexed(&tv, cert.signature_value())
        .await
        .expect("certificate signature indexed");
    assert_eq!(record["action"], "certificate.issued");
    let report = ses_verify_body(&tv, json!({"signature": b64(&seal)})).await;
    assert_eq!(report["format"], "ses-seal", "{report:#}");
    assert_eq!(
        check(&report["signatures"][0], "audit.in_log")["ok"],
        true,
        "{report:#}"
    );

    // A time-stamp token: its SignerInfo signature.
    let req = sidian::tsa::TimeStampReq {
        hash_alg: sidian::tsa::HashAlg::Sha256,
        hashed_message: sha256(b"imprint").to_vec(),
        policy: None,
        nonce: None,
        cert_req: false,
    };
    let (status, resp) = call_bytes(
        &tv,
        "/v1/tsa",
        Some(&client),
        "application/timestamp-query",
        req.to_der(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let token = sidian::tsa::granted_token(&resp).expect("granted");
    let value = sidian::cms::signature_value(token).expect("signer info");
    let (_, record) = indexed(&tv, &value).await.expect("token indexed");
    assert_eq!(record["action"], "timestamp.issued");

    // Nothing else is: an arbitrary value is not found.
    assert!(indexed(&tv, b"not a signature").await.is_none());
}

#[tokio::test]
async fn a_vault_upgraded_to_the_index_cannot_decide_older_signatures() {
    use sqlx::Connection;
    let tv = TestVault::open(None).await;
    let client = tv.client("approval", &[]).await;
    let (id, seal) = p256_seal(&tv, &client, "2020-01-01", "2030-12-31").await;
    let (key, cert) = stolen_seal_key(&tv, &id).await;
    let data = b"older".as_slice();
    let now = OffsetDateTime::now_utc();
    // As migration 3 leaves a vault whose log already had entries, with indexing beginning two
    // minutes from now (the vault's certificates are only seconds old, so "older" signatures
    // must lie between them and the start of indexing).
    let since = now + Duration::minutes(2);
    let since_ms = since.unix_timestamp() * 1000;
    let mut conn = sqlx::SqliteConnection::connect(&tv.config.database_url())
        .await
        .expect("connect");
    sqlx::query("INSERT INTO vault_meta (name, value) VALUES ('audit_signatures_since_ms', $1)")
        .bind(since_ms.to_string())
        .execute(&mut conn)
        .await
        .expect("insert");
    conn.close().await.expect("close");

    // Dated before indexing began: the log cannot say, so not VALID and not INVALID either.
    let older = forge(&seal, &key, &cert, now, data);
    let report = ses_verify(&tv, &older, data).await;
    assert_eq!(report["verdict"], "INDETERMINATE", "{report:#}");
    let sig = &report["signatures"][0];
    assert_eq!(failing(sig), vec!["audit.in_log".to_owned()], "{sig:#}");
    assert!(
        check(sig, "audit.in_log")["detail"]
            .as_str()
            .unwrap_or_default()
            .starts_with("before_audit_index"),
        "{sig:#}"
    );
    // Dated after (and within the clock skew): the log would hold it, so a missing one is not
    // the vault's.
    let newer = forge(&seal, &key, &cert, now + Duration::minutes(3), data);
    let report = ses_verify(&tv, &newer, data).await;
    assert_eq!(report["verdict"], "INVALID", "{report:#}");
    assert!(
        check(&report["signatures"][0], "audit.in_log")["detail"]
            .as_str()
            .unwrap_or_default()
            .starts_with("not_in_audit_log"),
        "{report:#}"
    );
}
