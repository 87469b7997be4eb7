//! `/v1/status-lists/{id}`: an issuer's signed status list (IETF Token Status List,
//! `statuslist+jwt`), public and cacheable, so inspectors check licences offline and a CDN can
//! serve it.

use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;

use super::openapi::Binary;
use super::{ApiPath, ErrorBody, cacheable};
use crate::error::Error;
use crate::vault::{TOKEN_TTL_S, Vault};

/// The media type of a status list token.
const MEDIA_TYPE: &str = "application/statuslist+jwt";

pub(super) fn router() -> Router<Vault> {
    Router::new().route("/v1/status-lists/{id}", get(status_list))
}

/// A status list (no auth): a compact JWS (ES256, `typ` `statuslist+jwt`) whose `status_list` claim holds 2 bits per licence (0 valid, 1 invalid: revoked, cancelled, expired or superseded, 2 suspended), ZLIB-compressed and base64url-encoded; `sub` is this URL, `iat` when it was made, `exp` a day later, `ttl` 5 s. It is made again at once after a change of any of its slots. With `If-None-Match` naming its `ETag`: 304.
#[utoipa::path(get, path = "/v1/status-lists/{id}", tag = "licences",
    params(("id" = String, Path, description = "status list id")),
    responses((status = 200, content_type = "application/statuslist+jwt", body = Binary,
            headers(("ETag" = String), ("Cache-Control" = String, description = "public, max-age=5"))),
        (status = 304, description = "not modified"),
        (status = 404, body = ErrorBody)))]
async fn status_list(
    State(vault): State<Vault>,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
) -> Result<Response, Error> {
    let token = vault.status_list_token(&id).await?;
    cacheable(
        &headers,
        &token.etag,
        TOKEN_TTL_S,
        MEDIA_TYPE,
        token.token.clone(),
    )
}
