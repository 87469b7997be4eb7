//! `POST /v1/tsa`: the vault's RFC 3161 time-stamping service over HTTP (RFC 3161 §3.4:
//! `application/timestamp-query` in, `application/timestamp-reply` out, rejections included).

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use super::ErrorBody;
use super::body::RawBody;
use super::openapi::Binary;
use crate::error::Error;
use crate::vault::{AuthClient, Vault};

/// A TimeStampReq is a few hundred bytes; anything near this is not one.
const MAX_QUERY: usize = 16 << 10;

pub(super) fn router() -> Router<Vault> {
    Router::new().route("/v1/tsa", post(timestamp))
}

/// Time-stamp a hash (RFC 3161): the body is a DER TimeStampReq; the answer a TimeStampResp, granted (a token from the P-256 TSA, or the SM2 TSA for an SM3 imprint) or rejected with a failure reason. Every token is in the audit log.
#[utoipa::path(post, path = "/v1/tsa", tag = "tsa", security(("bearer" = [])),
    request_body(content = Binary, content_type = "application/timestamp-query"),
    responses((status = 200, content_type = "application/timestamp-reply", body = Binary),
        (status = 401, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody)))]
async fn timestamp(
    State(vault): State<Vault>,
    client: AuthClient,
    headers: HeaderMap,
    RawBody(body): RawBody<MAX_QUERY>,
) -> Result<Response, Error> {
    client.require("sign")?;
    if super::media_type(&headers) != "application/timestamp-query" {
        return Err(Error::UnsupportedMediaType("application/timestamp-query"));
    }
    let reply = vault.timestamp(&client, &body).await?;
    Ok((
        [(header::CONTENT_TYPE, "application/timestamp-reply")],
        reply,
    )
        .into_response())
}
