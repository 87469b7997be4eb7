//! Device-bound presentation: `POST /v1/licences/{id}/devices` registers a holder's device key
//! to a licence, `POST /v1/presentations/challenges` gives an inspector a challenge to show, and
//! `POST /v1/presentations/challenges/{challenge}/answer` is the device's signed answer; a check
//! (`POST /v1/presentations/verify`) given the challenge says whether it was answered.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64URL};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::presentations::{Caller, no_store};
use super::{ApiJson, ApiPath, ErrorBody, rfc3339};
use crate::error::Error;
use crate::vault::{AuthClient, Vault};

pub(super) fn router() -> Router<Vault> {
    Router::new()
        .route("/v1/licences/{id}/devices", post(register_device))
        .route("/v1/presentations/challenges", post(create_challenge))
        .route(
            "/v1/presentations/challenges/{challenge}/answer",
            post(answer_challenge),
        )
}

/// base64url (padding optional) of a request field, naming it in the error.
pub(crate) fn b64url(value: &str, field: &'static str) -> Result<Vec<u8>, Error> {
    B64URL
        .decode(value.trim_end_matches('='))
        .map_err(|_| Error::InvalidBase64(field))
}

/// A device key to register.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DeviceRequest {
    /// base64url of the SubjectPublicKeyInfo (DER) of an ECDSA P-256 key (WebCrypto `exportKey('spki', …)` of a key pair made non-extractable).
    pub(crate) public_key: String,
    /// What the holder calls the device (at most 64 characters).
    #[serde(default)]
    pub(crate) label: Option<String>,
}

/// A registered device key.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DeviceResponse {
    /// The key's id, which the device names when it answers a challenge.
    pub(crate) key_id: String,
    /// When it was registered (RFC 3339).
    pub(crate) created_at: String,
}

/// Register a holder's device key to a licence (device-bound presentation): scope `present`, for the licences the client may present (as for `POST /v1/licences/{id}/presentations`); another's licence is 404. The key answers challenges for this licence only. Audited (`device.registered`, the holder named by a keyed hash). At most 16 keys a licence (409 `conflict`).
#[utoipa::path(post, path = "/v1/licences/{id}/devices", tag = "presentations", request_body = DeviceRequest,
    security(("bearer" = [])),
    params(("id" = String, Path, description = "证照标识")),
    responses((status = 201, body = DeviceResponse),
        (status = 400, body = ErrorBody, description = "invalid_field: `public_key` is not a P-256 SubjectPublicKeyInfo, or `label`"),
        (status = 403, body = ErrorBody, description = "no `present` scope"),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "the licence has 16 device keys already")))]
async fn register_device(
    State(vault): State<Vault>,
    client: AuthClient,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<DeviceRequest>,
) -> Result<Response, Error> {
    device_registered(&vault, &client, &id, &req).await
}

/// Registers `req`'s key for `client` (the `/v1` route and the wallet's).
pub(crate) async fn device_registered(
    vault: &Vault,
    client: &AuthClient,
    id: &str,
    req: &DeviceRequest,
) -> Result<Response, Error> {
    let spki = b64url(&req.public_key, "public_key")?;
    let d = vault
        .register_device(client, id, &spki, req.label.as_deref().unwrap_or(""))
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(DeviceResponse {
            key_id: d.key_id,
            created_at: rfc3339(d.created_at),
        }),
    )
        .into_response())
}

/// Request for a challenge (no fields).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChallengeRequest {}

/// A challenge to show the holder.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ChallengeResponse {
    /// 8 random digits, for the holder to type into their wallet.
    challenge: String,
    /// When it can no longer be answered, nor count in a check (RFC 3339; 120 s).
    expires_at: String,
}

/// Make a challenge for device-bound presentation: anyone (the per-peer rate limit of the anonymous routes applies, 429 `rate_limited`) or an inspector's system with an API key. The officer shows the 8 digits; the holder's wallet signs them with the licence's device key (`POST /v1/presentations/challenges/{challenge}/answer`); `POST /v1/presentations/verify` with the token and `challenge` then says whether the licence's device answered. Lives 120 s and takes one answer. `Cache-Control: no-store`.
#[utoipa::path(post, path = "/v1/presentations/challenges", tag = "presentations", request_body = ChallengeRequest,
    responses((status = 201, body = ChallengeResponse, headers(("Cache-Control" = String, description = "no-store"))),
        (status = 401, body = ErrorBody, description = "an `Authorization` header whose API key is not valid (a caller without one is anonymous)")))]
async fn create_challenge(
    State(vault): State<Vault>,
    caller: Caller,
    ApiJson(_): ApiJson<ChallengeRequest>,
) -> Result<Response, Error> {
    let client = match &caller {
        Caller::Client(c) => Some(c),
        Caller::Anonymous => None,
    };
    let c = vault.new_challenge(client).await?;
    Ok(no_store(
        (
            StatusCode::CREATED,
            Json(ChallengeResponse {
                challenge: c.challenge,
                expires_at: rfc3339(c.expires_at),
            }),
        )
            .into_response(),
    ))
}

/// A device's answer to a challenge.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AnswerRequest {
    /// 证照标识 of the licence answered for.
    licence_id: String,
    /// The device key (`key_id` of its registration).
    key_id: String,
    /// base64url of the ECDSA P-256 SHA-256 signature as raw `r‖s` (64 bytes, WebCrypto's form) over the UTF-8 of `"sidian-device-v1\n" + challenge + "\n" + licence_id`.
    signature: String,
}

/// The challenge answered.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AnswerResponse {
    /// The challenge.
    challenge: String,
    /// `answered`.
    status: &'static str,
}

/// Answer a challenge with a device key (scope `present`, for a licence the client may present): the signature is checked with the key registered to the licence and the challenge marked answered by that licence. An unknown, expired or already answered challenge is 404; a licence the client may not present (or none), a key not registered to the licence, or a signature that does not verify, is 403 `device_not_verified`.
#[utoipa::path(post, path = "/v1/presentations/challenges/{challenge}/answer", tag = "presentations", request_body = AnswerRequest,
    security(("bearer" = [])),
    params(("challenge" = String, Path, description = "the 8 digits")),
    responses((status = 200, body = AnswerResponse),
        (status = 400, body = ErrorBody, description = "invalid_field: the challenge is not 8 digits, or the signature not 64 bytes"),
        (status = 403, body = ErrorBody, description = "no `present` scope (`forbidden`), or not signed by a device key of a licence the client may present (`device_not_verified`)"),
        (status = 404, body = ErrorBody, description = "no live unanswered challenge")))]
async fn answer_challenge(
    State(vault): State<Vault>,
    client: AuthClient,
    ApiPath(challenge): ApiPath<String>,
    ApiJson(req): ApiJson<AnswerRequest>,
) -> Result<Json<AnswerResponse>, Error> {
    answered(&vault, &client, &challenge, &req).await
}

/// Answers `challenge` for `client` (the `/v1` route and the wallet's).
pub(crate) async fn answered(
    vault: &Vault,
    client: &AuthClient,
    challenge: &str,
    req: &AnswerRequest,
) -> Result<Json<AnswerResponse>, Error> {
    let signature = b64url(&req.signature, "signature")?;
    vault
        .answer_challenge(client, challenge, &req.licence_id, &req.key_id, &signature)
        .await?;
    Ok(Json(AnswerResponse {
        challenge: challenge.to_owned(),
        status: "answered",
    }))
}

impl AnswerRequest {
    /// An answer for `licence_id` (the wallet's route names the licence in its path).
    pub(crate) fn new(licence_id: String, key_id: String, signature: String) -> Self {
        Self {
            licence_id,
            key_id,
            signature,
        }
    }
}
