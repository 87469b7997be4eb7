//! The pages (`/`, `/inspect`, `/verify`): served with their security policy and labelled
//! controls, their static files with the right media types, the service worker from the root
//! path; and the signature vectors the browser's verifier (`assets/web/sm2.mjs`) is tested
//! against (`tests/browser/vectors.json`, checked here with the Rust verifier).

mod common;

use axum::http::{Method, StatusCode};
use base64::{Engine, engine::general_purpose::STANDARD as B64};
use serde_json::{Value, json};
use sidian::crypto::{KeyType, PrivateKey, PublicKey, ec_signature};

use common::TestVault;

/// A GET through the router: status, headers, body.
async fn get(tv: &TestVault, path: &str) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    use axum::body::Body;
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let resp = sidian::api::app(tv.vault.clone())
        .oneshot(
            axum::http::Request::builder()
                .method(Method::GET)
                .uri(path)
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("infallible");
    let (status, headers) = (resp.status(), resp.headers().clone());
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    (status, headers, body.to_vec())
}

/// The values of `attr="…"` on the tags named `tag` in `html`.
fn attrs(html: &str, tag: &str, attr: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in html.split(&format!("<{tag} ")).skip(1) {
        let head = part.split('>').next().unwrap_or("");
        if let Some(v) = head.split(&format!("{attr}=\"")).nth(1) {
            out.push(v.split('"').next().unwrap_or("").to_owned());
        } else {
            out.push(String::new());
        }
    }
    out
}

#[tokio::test]
async fn pages_answer_with_their_policy_and_labelled_controls() {
    let tv = TestVault::open(None).await;
    for (path, scripts) in [
        ("/", vec![]),
        ("/inspect", vec!["inspect.js"]),
        ("/verify", vec!["verify.js"]),
    ] {
        let (st, headers, body) = get(&tv, path).await;
        assert_eq!(st, StatusCode::OK, "{path}");
        assert_eq!(headers["content-type"], "text/html; charset=utf-8");
        let csp = headers["content-security-policy"].to_str().expect("csp");
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{csp}"
        );
        assert_eq!(headers["x-content-type-options"], "nosniff");
        let html = String::from_utf8(body).expect("utf-8");
        assert!(!html.contains("<script>"), "{path}: no inline script");
        assert!(!html.contains("style="), "{path}: no inline style");
        for s in scripts {
            assert!(
                html.contains(&format!("src=\"/assets/{s}\"")),
                "{path}: {s}"
            );
        }
        // Every input, textarea and select has a label naming it, or an aria-label.
        let labels = attrs(&html, "label", "for");
        for tag in ["input", "textarea", "select"] {
            let ids = attrs(&html, tag, "id");
            for id in &ids {
                assert!(
                    !id.is_empty() && labels.contains(id),
                    "{path}: a {tag} without a label: {id:?}"
                );
            }
        }
        for (i, aria) in attrs(&html, "video", "aria-label").iter().enumerate() {
            assert!(!aria.is_empty(), "{path}: video {i} has no label");
        }
    }
    let (_, _, inspect) = get(&tv, "/inspect").await;
    let inspect = String::from_utf8(inspect).expect("utf-8");
    for id in ["code", "type", "api-key", "camera", "check", "challenge"] {
        assert!(inspect.contains(&format!("id=\"{id}\"")), "/inspect: {id}");
    }
    assert!(
        inspect.contains(r#"id="result" aria-live="assertive""#),
        "the verdict is announced"
    );
    let (_, _, verify) = get(&tv, "/verify").await;
    let verify = String::from_utf8(verify).expect("utf-8");
    assert!(verify.contains(r#"type="file""#) && verify.contains(r#"id="report" aria-live"#));
}

#[tokio::test]
async fn assets_have_their_types_and_the_service_worker_is_at_the_root() {
    let tv = TestVault::open(None).await;
    for (name, media) in [
        ("ui.css", "text/css; charset=utf-8"),
        ("site.js", "text/javascript; charset=utf-8"),
        ("inspect.js", "text/javascript; charset=utf-8"),
        ("offline.mjs", "text/javascript; charset=utf-8"),
        ("sm2.mjs", "text/javascript; charset=utf-8"),
        ("verify.js", "text/javascript; charset=utf-8"),
        ("vendor/jsQR.js", "text/javascript; charset=utf-8"),
    ] {
        let (st, headers, body) = get(&tv, &format!("/assets/{name}")).await;
        assert_eq!(st, StatusCode::OK, "{name}");
        assert_eq!(headers["content-type"], media, "{name}");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert!(!body.is_empty(), "{name}");
    }
    for missing in [
        "/assets/nope.js",
        "/assets/../Cargo.toml",
        "/assets/vendor/",
    ] {
        let (st, _, _) = get(&tv, missing).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{missing}");
    }
    let (st, headers, body) = get(&tv, "/inspect-sw.js").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(headers["content-type"], "text/javascript; charset=utf-8");
    assert_eq!(headers["cache-control"], "no-cache");
    let sw = String::from_utf8(body).expect("utf-8");
    assert!(sw.contains("'/inspect'") && sw.contains("/v1/status-lists/"));
}

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser/vectors.json");

/// Signatures the Rust side makes (SM2 with SM3 over Z_A of the default ID, and ECDSA P-256),
/// each with whether it verifies: the browser's verifier must agree on every one.
fn make_vectors() -> Value {
    let mut out = Vec::new();
    for kt in [KeyType::Sm2, KeyType::P256] {
        let key = PrivateKey::generate(kt).expect("key");
        let stranger = PrivateKey::generate(kt).expect("key");
        let alg = kt.default_signature_algorithm();
        for (i, len) in [0usize, 1, 55, 56, 64, 120, 133].into_iter().enumerate() {
            let message: Vec<u8> = (0..len)
                .map(|j| u8::try_from((j * 31 + i * 7) % 256).expect("byte"))
                .collect();
            let raw = ec_signature::raw_from_der(&key.sign(alg, &message).expect("sign"))
                .expect("raw")
                .to_vec();
            let entry = |name: String, message: &[u8], signature: &[u8], valid: bool| {
                json!({"name": name, "alg": kt.as_str(),
                    "public_key": B64.encode(key.public_key().spki_der()),
                    "message": hex::encode(message), "signature": hex::encode(signature),
                    "valid": valid})
            };
            out.push(entry(format!("{kt:?} {len} bytes"), &message, &raw, true));
            let mut sig = raw.clone();
            sig[i % 64] ^= 1;
            out.push(entry(
                format!("{kt:?} {len} bytes, signature bit flipped"),
                &message,
                &sig,
                false,
            ));
            if len > 0 {
                let mut m = message.clone();
                m[len / 2] ^= 0x80;
                out.push(entry(
                    format!("{kt:?} {len} bytes, message bit flipped"),
                    &m,
                    &raw,
                    false,
                ));
            }
            let other = ec_signature::raw_from_der(&stranger.sign(alg, &message).expect("sign"))
                .expect("raw")
                .to_vec();
            out.push(entry(
                format!("{kt:?} {len} bytes, another key's signature"),
                &message,
                &other,
                false,
            ));
        }
    }
    json!({
        "about": "Signatures made by sidian's Rust code (SM2 with SM3, Z_A over the default ID 1234567812345678; ECDSA P-256 with SHA-256), raw r‖s in hex, over `message` (hex), under `public_key` (SubjectPublicKeyInfo DER, base64); `valid` says whether each verifies. Written by `SIDIAN_WRITE_BROWSER_VECTORS=1 cargo test --test web`, checked by tests/browser/offline.test.mjs.",
        "signatures": out,
    })
}

#[test]
fn browser_signature_vectors_verify_as_the_rust_side_says() {
    if std::env::var_os("SIDIAN_WRITE_BROWSER_VECTORS").is_some()
        || !std::path::Path::new(VECTORS).exists()
    {
        let text = serde_json::to_string_pretty(&make_vectors()).expect("json") + "\n";
        std::fs::write(VECTORS, text).expect("write the vectors");
    }
    let file: Value =
        serde_json::from_str(&std::fs::read_to_string(VECTORS).expect("vectors")).expect("json");
    let list = file["signatures"].as_array().expect("signatures");
    assert!(list.len() >= 40, "{}", list.len());
    for v in list {
        let key = PublicKey::from_spki_der(
            &B64.decode(v["public_key"].as_str().expect("key"))
                .expect("b64"),
        )
        .expect("key");
        let message = hex::decode(v["message"].as_str().expect("message")).expect("hex");
        let raw = hex::decode(v["signature"].as_str().expect("signature")).expect("hex");
        let ok = ec_signature::der_from_raw(&raw).is_ok_and(|der| {
            key.verify(key.key_type().default_signature_algorithm(), &message, &der)
                .is_ok()
        });
        assert_eq!(Some(ok), v["valid"].as_bool(), "{}", v["name"]);
    }
}
