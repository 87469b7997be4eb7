//! `/v1/verify`: check a signature against a supplied public key or one of the caller's keys.

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ApiJson, ErrorBody, b64};
use crate::error::Error;
use crate::vault::{AuthClient, Vault, VerifyKey};

pub(super) fn router() -> Router<Vault> {
    Router::new().route("/v1/verify", post(verify))
}

/// Request to verify: exactly one of `public_key_pem` and `key_id`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct VerifyRequest {
    /// A SubjectPublicKeyInfo PEM.
    #[serde(default)]
    public_key_pem: Option<String>,
    /// One of your keys.
    #[serde(default)]
    key_id: Option<String>,
    /// A key type (`sm2`, `p256`, `ed25519`, `rsa2048`, `rsa3072`: its default scheme) or a scheme
    /// (`sm2-sm3`, `ecdsa-p256-sha256`, `ed25519`, `rsa-pkcs1-sha256`, `rsa-pss-sha256`); default: the key's.
    #[serde(default)]
    #[schema(schema_with = super::openapi::key_type_or_signature_alg_name)]
    alg: Option<String>,
    /// The signed message, base64.
    data: String,
    /// The signature, base64.
    signature: String,
}

/// The verdict.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct VerifyResponse {
    /// Whether the signature is valid for the message under the key.
    valid: bool,
}

/// Verify a signature. A mismatched algorithm is an error, not `valid: false`.
#[utoipa::path(post, path = "/v1/verify", tag = "verify", request_body = VerifyRequest, security(("bearer" = [])),
    responses((status = 200, body = VerifyResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn verify(
    State(vault): State<Vault>,
    client: AuthClient,
    ApiJson(req): ApiJson<VerifyRequest>,
) -> Result<Json<VerifyResponse>, Error> {
    client.require("verify")?;
    let key = match (req.public_key_pem, req.key_id) {
        (Some(pem), None) => VerifyKey::Pem(pem),
        (None, Some(id)) => VerifyKey::KeyId(id),
        _ => {
            return Err(Error::InvalidRequest(
                "give exactly one of `public_key_pem` and `key_id`".into(),
            ));
        }
    };
    let data = b64(&req.data, "data")?;
    let signature = b64(&req.signature, "signature")?;
    let valid = vault
        .verify(&client, &key, req.alg.as_deref(), &data, &signature)
        .await?;
    Ok(Json(VerifyResponse { valid }))
}
