//! `/v1/clients/self`: what an approval system may do to its own credential.

use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::body::RawBody;
use super::{ErrorBody, MAX_BODY, bearer_key, json_object, require_json, rfc3339};
use crate::error::Error;
use crate::vault::{DEFAULT_KEY_OVERLAP, Vault};

pub(super) fn router() -> Router<Vault> {
    Router::new().route("/v1/clients/self/rotate", post(rotate_self))
}

/// Request to rotate the caller's API key (the body may be omitted).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RotateRequest {
    /// Seconds the old key stays valid (0: refused at once; default 86400, at most 604800).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 604800)]
    overlap_seconds: Option<u64>,
}

/// The caller's new API key.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RotateResponse {
    /// The new API key (shown once; only its HMAC is stored).
    api_key: String,
    /// When the key used for this call stops being accepted (RFC 3339).
    old_key_expires_at: String,
}

/// Replace the API key this request presents with a new one; the old key keeps working for the
/// overlap, then is refused. Only the current key may rotate, not one already rotated out.
#[utoipa::path(post, path = "/v1/clients/self/rotate", tag = "clients",
    request_body(content = Option<RotateRequest>, description = "optional; an empty body takes the defaults"),
    security(("bearer" = [])),
    responses(
        (status = 200, body = RotateResponse, description = "the new key"),
        (status = 400, body = ErrorBody, description = "overlap out of range or malformed body"),
        (status = 401, body = ErrorBody, description = "missing, unknown, revoked or rotated-out key"),
        (status = 413, body = ErrorBody, description = "body too large"),
        (status = 415, body = ErrorBody, description = "a body that is not JSON")))]
async fn rotate_self(
    State(vault): State<Vault>,
    headers: HeaderMap,
    RawBody(body): RawBody<MAX_BODY>,
) -> Result<Json<RotateResponse>, Error> {
    let api_key = bearer_key(&headers)?;
    // Authenticate before looking at the body, so an anonymous caller learns nothing from it.
    vault.authenticate(api_key).await?;
    let req = if body.iter().all(u8::is_ascii_whitespace) {
        RotateRequest::default()
    } else {
        require_json(&headers)?;
        json_object::<RotateRequest>(&body)?
    };
    let overlap = req
        .overlap_seconds
        .map_or(DEFAULT_KEY_OVERLAP, Duration::from_secs);
    let rotated = vault.rotate_own_api_key(api_key, overlap).await?;
    Ok(Json(RotateResponse {
        api_key: rotated.api_key,
        old_key_expires_at: rfc3339(rotated.old_key_expires_at),
    }))
}
