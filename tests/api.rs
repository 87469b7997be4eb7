//! End-to-end API stories, run on SQLite and (when reachable) on a fresh PostgreSQL database.

mod common;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use sidian::audit::verify_inclusion;
use sidian::crypto::PublicKey;

use common::{PgDatabase, TestVault, b64, unb64};

const MSG: &[u8] = b"message digest";

/// Verifies with the OpenSSL CLI exactly as an outside checker would; None if openssl is absent.
fn openssl_verifies(alg: &str, pem: &str, msg: &[u8], sig: &[u8]) -> Option<bool> {
    use std::process::Command;
    let dir = tempfile::tempdir().ok()?;
    let (p, m, s) = (
        dir.path().join("pub.pem"),
        dir.path().join("msg"),
        dir.path().join("sig"),
    );
    std::fs::write(&p, pem).ok()?;
    std::fs::write(&m, msg).ok()?;
    std::fs::write(&s, sig).ok()?;
    let (p, m, s) = (p.to_str()?, m.to_str()?, s.to_str()?);
    let args: Vec<&str> = match alg {
        "sm2-sm3" => vec![
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            p,
            "-rawin",
            "-digest",
            "sm3",
            "-in",
            m,
            "-sigfile",
            s,
            "-pkeyopt",
            "distid:1234567812345678",
        ],
        "ed25519" => vec![
            "pkeyutl", "-verify", "-pubin", "-inkey", p, "-rawin", "-in", m, "-sigfile", s,
        ],
        "rsa-pss-sha256" => vec![
            "dgst",
            "-sha256",
            "-verify",
            p,
            "-sigopt",
            "rsa_padding_mode:pss",
            "-sigopt",
            "rsa_pss_saltlen:32",
            "-signature",
            s,
            m,
        ],
        _ => vec!["dgst", "-sha256", "-verify", p, "-signature", s, m],
    };
    let out = Command::new("openssl").args(&args).output().ok()?;
    Some(out.status.success())
}

async fn create_key(tv: &TestVault, key: &str, alg: &str) -> Value {
    let (st, body) = tv.post("/v1/keys", key, json!({ "alg": alg })).await;
    assert_eq!(st, StatusCode::CREATED, "{body}");
    assert_eq!(body["alg"], alg);
    assert_eq!(body["status"], "active");
    assert!(
        body["public_key_pem"]
            .as_str()
            .is_some_and(|p| p.starts_with("-----BEGIN PUBLIC KEY-----"))
    );
    body
}

async fn keys_sign_and_verify(tv: &TestVault, a: &str) {
    for (alg, schemes) in [
        ("sm2", &["sm2-sm3"][..]),
        ("p256", &["ecdsa-p256-sha256"][..]),
        ("ed25519", &["ed25519"][..]),
        ("rsa2048", &["rsa-pkcs1-sha256", "rsa-pss-sha256"][..]),
        ("rsa3072", &["rsa-pkcs1-sha256"][..]),
    ] {
        let k = create_key(tv, a, alg).await;
        let id = k["id"].as_str().expect("id");
        let pem = k["public_key_pem"].as_str().expect("pem");
        for scheme in schemes {
            let (st, s) = tv
                .post(
                    &format!("/v1/keys/{id}/sign"),
                    a,
                    json!({ "data": b64(MSG), "signature_alg": scheme }),
                )
                .await;
            assert_eq!(st, StatusCode::OK, "{alg} {scheme}: {s}");
            assert_eq!(s["alg"], alg);
            assert_eq!(s["signature_alg"], *scheme);
            assert_eq!(s["key_id"], id);
            let sig = unb64(&s["signature"]);
            if let Some(ok) = openssl_verifies(scheme, pem, MSG, &sig) {
                assert!(ok, "openssl rejects the {scheme} signature");
            }
            // Verify by key id, by PEM, with the key type or the scheme as `alg`.
            for (key_field, alg_name) in [
                (json!({"key_id": id}), *scheme),
                (json!({"public_key_pem": pem}), *scheme),
            ] {
                let mut req = key_field.clone();
                req["alg"] = json!(alg_name);
                req["data"] = json!(b64(MSG));
                req["signature"] = json!(b64(&sig));
                let (st, v) = tv.post("/v1/verify", a, req.clone()).await;
                assert_eq!(
                    (st, &v["valid"]),
                    (StatusCode::OK, &json!(true)),
                    "{alg} {scheme}: {v}"
                );
                req["data"] = json!(b64(b"message digesT"));
                let (st, v) = tv.post("/v1/verify", a, req).await;
                assert_eq!(
                    (st, &v["valid"]),
                    (StatusCode::OK, &json!(false)),
                    "{alg} {scheme} tampered"
                );
            }
        }
        // The key type name selects its default scheme.
        let (_, s) = tv
            .post(
                &format!("/v1/keys/{id}/sign"),
                a,
                json!({ "data": b64(MSG) }),
            )
            .await;
        let (st, v) = tv
            .post(
                "/v1/verify",
                a,
                json!({"key_id": id, "alg": alg, "data": b64(MSG), "signature": s["signature"]}),
            )
            .await;
        assert_eq!(
            (st, &v["valid"]),
            (StatusCode::OK, &json!(true)),
            "{alg} default: {v}"
        );
    }
}

async fn digest_signing(tv: &TestVault, a: &str) {
    let k = create_key(tv, a, "p256").await;
    let id = k["id"].as_str().expect("id");
    let digest = sidian::crypto::sha256(MSG);
    let (st, s) = tv
        .post(
            &format!("/v1/keys/{id}/sign"),
            a,
            json!({ "digest": b64(&digest) }),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{s}");
    let (_, v) = tv
        .post(
            "/v1/verify",
            a,
            json!({"key_id": id, "data": b64(MSG), "signature": s["signature"]}),
        )
        .await;
    assert_eq!(v["valid"], true);
    let (st, e) = tv
        .post(
            &format!("/v1/keys/{id}/sign"),
            a,
            json!({ "digest": b64(&digest[..20]) }),
        )
        .await;
    assert_eq!(
        (st, e["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_digest_length"))
    );

    let k = create_key(tv, a, "ed25519").await;
    let id = k["id"].as_str().expect("id");
    let (st, e) = tv
        .post(
            &format!("/v1/keys/{id}/sign"),
            a,
            json!({ "digest": b64(&digest) }),
        )
        .await;
    assert_eq!(
        (st, e["error"]["code"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("digest_signing_unsupported")
        )
    );
}

async fn isolation_and_disable(tv: &TestVault, a: &str, b: &str) {
    let k = create_key(tv, a, "sm2").await;
    let id = k["id"].as_str().expect("id");
    let sign = format!("/v1/keys/{id}/sign");
    // B cannot see, use or disable A's key, and learns nothing from the error.
    let (st, e) = tv.get(&format!("/v1/keys/{id}"), b).await;
    assert_eq!(
        (st, e["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let (st, _) = tv.post(&sign, b, json!({ "data": b64(MSG) })).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = tv
        .post(&format!("/v1/keys/{id}/disable"), b, json!({}))
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = tv
        .post(
            "/v1/verify",
            b,
            json!({"key_id": id, "alg": "sm2", "data": b64(MSG), "signature": b64(b"x")}),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, k2) = tv.get(&format!("/v1/keys/{id}"), a).await;
    assert_eq!((st, &k2["status"]), (StatusCode::OK, &json!("active")));

    // A signs, disables, and can no longer sign but can still verify.
    let (st, s) = tv.post(&sign, a, json!({ "data": b64(MSG) })).await;
    assert_eq!(st, StatusCode::OK);
    let (st, d) = tv
        .post(&format!("/v1/keys/{id}/disable"), a, json!({}))
        .await;
    assert_eq!((st, &d["status"]), (StatusCode::OK, &json!("disabled")));
    let (st, d) = tv
        .post(&format!("/v1/keys/{id}/disable"), a, json!({}))
        .await;
    assert_eq!(
        (st, &d["status"]),
        (StatusCode::OK, &json!("disabled")),
        "disable is idempotent"
    );
    let (st, e) = tv.post(&sign, a, json!({ "data": b64(MSG) })).await;
    assert_eq!(
        (st, e["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("key_disabled"))
    );
    let (_, v) = tv
        .post(
            "/v1/verify",
            a,
            json!({"key_id": id, "data": b64(MSG), "signature": s["signature"]}),
        )
        .await;
    assert_eq!(v["valid"], true);
}

async fn rotation(tv: &TestVault, a: &str, b: &str) {
    let k = create_key(tv, a, "p256").await;
    let old = k["id"].as_str().expect("id");
    let (_, s) = tv
        .post(
            &format!("/v1/keys/{old}/sign"),
            a,
            json!({ "data": b64(MSG) }),
        )
        .await;
    let (st, _) = tv
        .post(&format!("/v1/keys/{old}/rotate"), b, json!({}))
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND, "B cannot rotate A's key");
    let (st, n) = tv
        .post(&format!("/v1/keys/{old}/rotate"), a, json!({}))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{n}");
    assert_eq!((&n["alg"], &n["replaces"]), (&json!("p256"), &json!(old)));
    let new = n["id"].as_str().expect("id");
    assert_ne!(new, old);
    let (_, o) = tv.get(&format!("/v1/keys/{old}"), a).await;
    assert_eq!(o["status"], "disabled");
    let (st, _) = tv
        .post(
            &format!("/v1/keys/{old}/sign"),
            a,
            json!({ "data": b64(MSG) }),
        )
        .await;
    assert_eq!(st, StatusCode::CONFLICT, "the old key no longer signs");
    let (_, v) = tv
        .post(
            "/v1/verify",
            a,
            json!({"key_id": old, "data": b64(MSG), "signature": s["signature"]}),
        )
        .await;
    assert_eq!(v["valid"], true, "the old key still verifies");
    let (st, _) = tv
        .post(
            &format!("/v1/keys/{new}/sign"),
            a,
            json!({ "data": b64(MSG) }),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, e) = tv
        .post(&format!("/v1/keys/{old}/rotate"), a, json!({}))
        .await;
    assert_eq!(
        (st, e["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("key_disabled"))
    );
}

async fn bad_input(tv: &TestVault, a: &str) {
    let k = create_key(tv, a, "sm2").await;
    let sign = format!("/v1/keys/{}/sign", k["id"].as_str().expect("id"));
    let code = |v: &Value| v["error"]["code"].as_str().map(str::to_owned);
    let cases: Vec<(&str, Value, StatusCode, &str)> = vec![
        (
            &sign,
            json!({"data": "not base64!"}),
            StatusCode::BAD_REQUEST,
            "invalid_base64",
        ),
        (
            &sign,
            json!({"data": b64(MSG), "owner": "me"}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (&sign, json!({}), StatusCode::BAD_REQUEST, "invalid_request"),
        (
            &sign,
            json!({"data": b64(MSG), "digest": b64(MSG)}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            &sign,
            json!({"data": b64(MSG), "signature_alg": "md5"}),
            StatusCode::BAD_REQUEST,
            "unknown_algorithm",
        ),
        (
            &sign,
            json!({"data": b64(MSG), "signature_alg": "ed25519"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "algorithm_mismatch",
        ),
        (
            "/v1/keys",
            json!({"alg": "dsa"}),
            StatusCode::BAD_REQUEST,
            "unknown_algorithm",
        ),
        (
            "/v1/keys",
            json!({"alg": 5}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "/v1/keys",
            json!({"alg": "sm2", "status": "active"}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "/v1/verify",
            json!({"public_key_pem": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "data": "", "signature": ""}),
            StatusCode::BAD_REQUEST,
            "invalid_public_key",
        ),
        (
            "/v1/verify",
            json!({"key_id": "key_nope", "data": "", "signature": ""}),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "/v1/verify",
            json!({"data": "", "signature": ""}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
    ];
    for (path, body, status, expected) in cases {
        let (st, v) = tv.post(path, a, body.clone()).await;
        assert_eq!(
            (st, code(&v).as_deref()),
            (status, Some(expected)),
            "{path} {body}: {v}"
        );
    }
    // Raw bodies: broken JSON, deep nesting, oversize, wrong content type, no auth, bad auth.
    let raw = |s: String| Some(Body::from(s));
    let (st, v) = tv
        .call(Method::POST, &sign, Some(a), raw("{\"data\":".into()))
        .await;
    assert_eq!(
        (st, code(&v).as_deref()),
        (StatusCode::BAD_REQUEST, Some("malformed_json"))
    );
    // Deep nesting is refused (serde_json's recursion limit, or the schema first), never a 500.
    for deep in [
        format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)),
        format!(
            "{{\"data\":{}{}}}",
            "[".repeat(100_000),
            "]".repeat(100_000)
        ),
    ] {
        let (st, v) = tv.call(Method::POST, &sign, Some(a), raw(deep)).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
        assert!(
            matches!(
                code(&v).as_deref(),
                Some("malformed_json" | "invalid_request")
            ),
            "{v}"
        );
    }
    let big = json!({"data": b64(&vec![0u8; 2 << 20])}).to_string();
    let (st, v) = tv.call(Method::POST, &sign, Some(a), raw(big)).await;
    assert_eq!(
        (st, code(&v).as_deref()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("payload_too_large"))
    );
    let (st, v) = common::json_answer(
        tv.send(
            Method::POST,
            &sign,
            Some(a),
            raw(json!({"data": ""}).to_string()),
            "text/plain",
        )
        .await,
    );
    assert_eq!(
        (st, code(&v).as_deref()),
        (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Some("unsupported_media_type")
        )
    );
    let (st, v) = tv
        .call(
            Method::POST,
            &sign,
            None,
            raw(json!({"data": ""}).to_string()),
        )
        .await;
    assert_eq!(
        (st, code(&v).as_deref()),
        (StatusCode::UNAUTHORIZED, Some("unauthorized"))
    );
    let (st, _) = tv
        .call(
            Method::POST,
            &sign,
            Some("sdk_forged"),
            raw(json!({"data": ""}).to_string()),
        )
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, v) = tv.call(Method::GET, "/v1/nothing", Some(a), None).await;
    assert_eq!(
        (st, code(&v).as_deref()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let (st, v) = tv.call(Method::DELETE, "/v1/keys", Some(a), None).await;
    assert_eq!(
        (st, code(&v).as_deref()),
        (StatusCode::METHOD_NOT_ALLOWED, Some("method_not_allowed"))
    );
    let (st, _) = tv.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(st, StatusCode::OK);
}

async fn scopes_and_revocation(tv: &TestVault) {
    let v = tv.client("verify-only", &["verify"]).await;
    let (st, e) = tv.post("/v1/keys", &v, json!({"alg": "sm2"})).await;
    assert_eq!(
        (st, e["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
    let (st, _) = tv
        .post(
            "/v1/verify",
            &v,
            json!({"public_key_pem": "x", "data": "", "signature": ""}),
        )
        .await;
    assert_eq!(
        st,
        StatusCode::BAD_REQUEST,
        "verify is allowed, the PEM is not"
    );

    let r = tv.client("to-revoke", &[]).await;
    let k = create_key(tv, &r, "sm2").await;
    tv.vault
        .revoke_client("to-revoke", sidian::audit::Actor::Operator("test".into()))
        .await
        .expect("revoke");
    let (st, _) = tv
        .post(
            &format!("/v1/keys/{}/sign", k["id"].as_str().expect("id")),
            &r,
            json!({"data": ""}),
        )
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
}

async fn audit_proofs(tv: &TestVault, a: &str, b: &str) {
    let k = create_key(tv, a, "sm2").await;
    let (_, s) = tv
        .post(
            &format!("/v1/keys/{}/sign", k["id"].as_str().expect("id")),
            a,
            json!({"data": b64(MSG)}),
        )
        .await;
    let index = s["audit_index"].as_u64().expect("audit_index");
    let (st, p) = tv.get(&format!("/v1/audit/entries/{index}/proof"), a).await;
    assert_eq!(st, StatusCode::OK, "{p}");
    let record: Value = serde_json::from_str(p["record"].as_str().expect("record")).expect("json");
    assert_eq!(record["action"], "signature.created");
    assert_eq!(
        record["details"]["data_sha256"],
        hex::encode(sidian::crypto::sha256(MSG))
    );
    let leaf = sidian::audit::leaf_hash(p["record"].as_str().expect("record").as_bytes());
    assert_eq!(leaf.to_vec(), unb64(&p["leaf_hash"]));
    let path: Vec<[u8; 32]> = p["audit_path"]
        .as_array()
        .expect("path")
        .iter()
        .map(|h| unb64(h).try_into().expect("32 bytes"))
        .collect();
    let cp = &p["checkpoint"];
    let root: [u8; 32] = unb64(&cp["root_hash"]).try_into().expect("32");
    let size = p["tree_size"].as_u64().expect("size");
    assert!(size > index);
    assert!(verify_inclusion(&leaf, index, size, &path, &root));
    // The checkpoint's note is signed by the audit key (SM2, default ID).
    let pk = PublicKey::from_pem(cp["public_key_pem"].as_str().expect("pem")).expect("pem");
    pk.verify(
        sidian::crypto::SignatureAlgorithm::Sm2Sm3,
        cp["note"].as_str().expect("note").as_bytes(),
        &unb64(&cp["signature"]),
    )
    .expect("checkpoint signature");
    // B may not read A's entry.
    let (st, _) = tv.get(&format!("/v1/audit/entries/{index}/proof"), b).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, c) = tv
        .call(Method::GET, "/v1/audit/checkpoint", None, None)
        .await;
    assert_eq!(st, StatusCode::OK);
    assert!(c["size"].as_u64().is_some());
}

async fn story(tv: TestVault) {
    let a = tv.client("system-a", &[]).await;
    let b = tv.client("system-b", &[]).await;
    keys_sign_and_verify(&tv, &a).await;
    digest_signing(&tv, &a).await;
    isolation_and_disable(&tv, &a, &b).await;
    rotation(&tv, &a, &b).await;
    bad_input(&tv, &a).await;
    scopes_and_revocation(&tv).await;
    audit_proofs(&tv, &a, &b).await;
    let summary = tv.vault.verify_audit_log().await.expect("log intact");
    assert!(summary.entries > 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn story_sqlite() {
    story(TestVault::open(None).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn story_postgres() {
    let Some(db) = PgDatabase::create().await else {
        return;
    };
    story(TestVault::open(Some(db.url.clone())).await).await;
    db.drop_db().await;
}

#[test]
fn openapi_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schemas/openapi.json");
    let generated = sidian::api::openapi_json();
    if std::env::var_os("SIDIAN_UPDATE_OPENAPI").is_some() {
        std::fs::write(path, &generated).expect("write openapi.json");
    }
    let stored = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        stored == generated,
        "schemas/openapi.json is stale: run `SIDIAN_UPDATE_OPENAPI=1 cargo test --test api openapi` and commit it"
    );
    let doc: Value = serde_json::from_str(&stored).expect("json");
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1"))
    );
    for route in [
        "/v1/keys",
        "/v1/keys/{id}/sign",
        "/v1/verify",
        "/v1/audit/checkpoint",
    ] {
        assert!(doc["paths"][route].is_object(), "{route} missing");
    }
}

/// What openapi-spec-validator and Schemathesis need of the document (tools/api-contract.sh runs
/// both): a description on every response, distinct operation ids, every shared error response
/// resolvable, and the statuses the extractors and layers give declared on every operation.
#[test]
fn openapi_declares_every_shared_error() {
    let doc: Value = serde_json::from_str(&sidian::api::openapi_json()).expect("json");
    let shared = &doc["components"]["responses"];
    let resolve = |r: &Value| -> Value {
        match r["$ref"].as_str() {
            Some(name) => {
                let name = name
                    .strip_prefix("#/components/responses/")
                    .expect("a response reference");
                assert!(shared[name].is_object(), "{name} is not in components");
                shared[name].clone()
            }
            None => r.clone(),
        }
    };
    let mut ids = std::collections::HashSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            let id = op["operationId"].as_str().expect("operationId");
            assert!(ids.insert(id.to_owned()), "operationId {id} twice");
            let responses = op["responses"].as_object().expect("responses");
            for (status, r) in responses {
                let r = resolve(r);
                assert!(
                    r["description"].as_str().is_some_and(|d| !d.is_empty()),
                    "{method} {path} {status} has no description"
                );
                if status.starts_with('4') || status.starts_with('5') {
                    assert!(
                        r["content"]["application/json"]["schema"]["$ref"]
                            .as_str()
                            .is_some_and(|s| s.ends_with("/ErrorBody")),
                        "{method} {path} {status} is not the error body"
                    );
                }
                // /readyz's own 503 (`not_ready`) says "not now", not "retry after N s".
                if (status == "429" || status == "503") && path.starts_with("/v1") {
                    assert!(
                        r["headers"]["Retry-After"].is_object(),
                        "{method} {path} {status} without Retry-After"
                    );
                }
            }
            let authenticated = op["security"].as_array().is_some_and(|s| !s.is_empty());
            let mut expected = vec!["408", "500"];
            if authenticated {
                expected.extend(["401", "403"]);
            } else if path.starts_with("/v1/") {
                expected.push("429");
            }
            if path.starts_with("/v1/") {
                expected.push("503");
            }
            if op["requestBody"].is_object() {
                expected.extend(["400", "413", "415"]);
            }
            if path.contains('{') {
                expected.extend(["400", "404"]);
            }
            for status in expected {
                assert!(
                    responses.contains_key(status),
                    "{method} {path} does not declare {status}"
                );
            }
        }
    }
    let trust = &doc["paths"]["/v1/trust-list"]["get"]["responses"]["200"]["content"];
    assert!(trust["application/json"].is_object() && trust["application/x-pem-file"].is_object());
    let checkpoint = &doc["paths"]["/v1/audit/checkpoint"]["get"]["responses"]["200"]["content"];
    assert!(checkpoint["application/json"].is_object() && checkpoint["text/plain"].is_object());
}
