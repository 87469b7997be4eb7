//! The baseline for `tools/bench-http.sh`: the least an HTTP signing endpoint can do on this
//! stack, so that sidian's numbers can be read against it.
//!
//! A bare axum server on the tokio multi-thread runtime (default worker count) with no auth, no
//! key lookup, no audit log and no middleware:
//!
//! - `POST /sign` parses the same body as sidian's `POST /v1/keys/{id}/sign` (`{"data": base64}`),
//!   decodes it, signs it with a pre-generated SM2 key (`sm2` crate, user ID `1234567812345678`,
//!   DER signature) and answers `{"signature": base64}`;
//! - `POST /sign-p256` does the same with ring's ECDSA P-256 (SHA-256, ASN.1/DER signature);
//! - `GET /empty` answers 200 with an empty body (the cost of HTTP alone).
//!
//! ```sh
//! cargo run --release --example bare_sign -- 127.0.0.1:8090
//! ```

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::{Engine, engine::general_purpose::STANDARD as B64};
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair};
use serde::{Deserialize, Serialize};
use sm2::dsa::signature::Signer as _;

/// The SM2 user ID (distinguishing identifier) sidian and OpenSSL use by default.
const SM2_USER_ID: &str = "1234567812345678";

/// The keys, generated once at start.
struct Keys {
    sm2: sm2::dsa::SigningKey,
    p256: EcdsaKeyPair,
    rng: SystemRandom,
}

/// The body of a sign request (sidian's `{"data"}` form).
#[derive(Deserialize)]
struct SignRequest {
    /// The message, base64.
    data: String,
}

/// The answer: a base64 DER signature.
#[derive(Serialize)]
struct SignResponse {
    signature: String,
}

type Answer = Result<Json<SignResponse>, (StatusCode, &'static str)>;

fn decode(req: &SignRequest) -> Result<Vec<u8>, (StatusCode, &'static str)> {
    B64.decode(&req.data)
        .map_err(|_| (StatusCode::BAD_REQUEST, "invalid base64\n"))
}

async fn sign_sm2(State(keys): State<Arc<Keys>>, Json(req): Json<SignRequest>) -> Answer {
    let data = decode(&req)?;
    let sig: sm2::dsa::Signature = keys
        .sm2
        .try_sign(&data)
        .map_err(|_| (StatusCode::INTERNAL_SERVER_ERROR, "signing failed\n"))?;
    Ok(Json(SignResponse {
        signature: B64.encode(sig.to_der().as_bytes()),
    }))
}

async fn sign_p256(State(keys): State<Arc<Keys>>, Json(req): Json<SignRequest>) -> Answer {
    let data = decode(&req)?;
    let sig = keys
        .p256
        .sign(&keys.rng, &data)
        .map_err(|_| (StatusCode::INTERNAL_SERVER_ERROR, "signing failed\n"))?;
    Ok(Json(SignResponse {
        signature: B64.encode(sig.as_ref()),
    }))
}

async fn empty() {}

fn generate_keys() -> Result<Keys, String> {
    let rng = SystemRandom::new();
    // A uniformly random scalar; the (astronomically rare) zero or out-of-range value is retried.
    let sm2 = loop {
        let mut secret = [0u8; 32];
        rng.fill(&mut secret).map_err(|_| "no randomness")?;
        if let Ok(key) = sm2::dsa::SigningKey::from_slice(SM2_USER_ID, &secret) {
            break key;
        }
    };
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
        .map_err(|_| "P-256 key generation failed")?;
    let p256 = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng)
        .map_err(|_| "P-256 key parsing failed")?;
    Ok(Keys { sm2, p256, rng })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .as_deref()
        .unwrap_or("127.0.0.1:8090")
        .parse()?;
    let keys = Arc::new(generate_keys()?);
    let app = Router::new()
        .route("/sign", post(sign_sm2))
        .route("/sign-p256", post(sign_p256))
        .route("/empty", get(empty))
        .with_state(keys);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    eprintln!("bare_sign listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
