//! The HTTP API: JSON over `/v1`, one router per resource, one error type mapped to responses,
//! wrapped extractors so that every rejection is a typed JSON error, and bearer-key auth as an
//! extractor.

mod audit;
mod documents;
mod keys;
mod openapi;
mod pki;
mod seals;
mod stamp;
mod tsa;
mod verify;

use std::time::Duration;

use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Request};
use axum::http::{HeaderValue, StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router, routing::get};
use base64::{Engine, engine::general_purpose::STANDARD as B64};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tower_http::timeout::TimeoutLayer;
use utoipa::ToSchema;

pub use openapi::openapi_json;

use crate::error::Error;
use crate::vault::{AuthClient, Vault};

/// Largest request body any route accepts.
pub const MAX_BODY: usize = 1 << 20;

/// The whole application: every route, the body cap, the timeout and the JSON fallbacks.
pub fn app(vault: Vault) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .merge(keys::router())
        .merge(verify::router())
        .merge(audit::router())
        .merge(seals::router())
        .merge(stamp::router())
        .merge(pki::router())
        .merge(documents::router())
        .merge(tsa::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        .with_state(vault)
}

/// Liveness probe (no auth).
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, description = "alive", body = String)))]
async fn healthz() -> &'static str {
    "ok\n"
}

async fn not_found() -> Error {
    Error::NotFound("route")
}

async fn method_not_allowed() -> Error {
    Error::MethodNotAllowed
}

/// The error body every failure answers with.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ErrorBody {
    error: ErrorDetail,
}

/// A stable code and a human message.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ErrorDetail {
    /// Stable snake_case code, e.g. `invalid_base64`.
    code: &'static str,
    /// Human-readable explanation.
    message: String,
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status.is_server_error() {
            tracing::error!(error = %self, detail = ?self, "request failed");
        }
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code(),
                message: self.public_message(),
            },
        };
        let mut resp = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        resp
    }
}

/// `Json` whose rejections are [`Error`]s with stable codes.
pub(crate) struct ApiJson<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Error> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(ApiJson(v)),
            Err(JsonRejection::MissingJsonContentType(_)) => {
                Err(Error::UnsupportedMediaType("application/json"))
            }
            Err(JsonRejection::JsonSyntaxError(e)) => Err(Error::MalformedJson(e.body_text())),
            Err(JsonRejection::JsonDataError(e)) => Err(Error::InvalidRequest(e.body_text())),
            Err(JsonRejection::BytesRejection(e))
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE =>
            {
                Err(Error::PayloadTooLarge(MAX_BODY))
            }
            Err(e) => Err(Error::InvalidRequest(e.body_text())),
        }
    }
}

impl FromRequestParts<Vault> for AuthClient {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, vault: &Vault) -> Result<Self, Error> {
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .ok_or(Error::Unauthorized)?;
        let key = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(Error::Unauthorized)?;
        vault.authenticate(key.trim()).await
    }
}

/// Decodes a base64 request field, naming it in the error.
pub(crate) fn b64(value: &str, field: &'static str) -> Result<Vec<u8>, Error> {
    B64.decode(value).map_err(|_| Error::InvalidBase64(field))
}

/// Encodes bytes for a response.
pub(crate) fn to_b64(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

/// RFC 3339 UTC time of a millisecond timestamp.
pub(crate) fn rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// The request's media type (`Content-Type` without parameters, lower case; empty if absent).
fn media_type(headers: &axum::http::HeaderMap) -> String {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|ct| ct.split(';').next())
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}
