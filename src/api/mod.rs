//! The HTTP API: JSON over `/v1`, one router per resource, one error type mapped to responses,
//! wrapped extractors so that every rejection is a typed JSON error, and bearer-key auth as an
//! extractor.

mod audit;
mod body;
mod clients;
mod devices;
mod documents;
mod grants;
mod handsign;
mod idempotency;
mod issuers;
mod keys;
mod licence_types;
mod licence_use;
mod licences;
mod limits;
mod observe;
mod openapi;
mod page;
mod pki;
mod presentations;
mod seals;
mod stamp;
mod status_lists;
mod tsa;
mod verify;
mod wallet;

use axum::extract::path::ErrorKind;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json, Router, middleware, routing::get};
use base64::{Engine, engine::general_purpose::STANDARD as B64};
use serde::Serialize;
use serde::de::DeserializeOwned;
use utoipa::ToSchema;

pub use limits::Limits;
pub use openapi::openapi_json;

use crate::error::Error;
use crate::vault::{AuthClient, Vault};

/// Largest JSON request body.
pub const MAX_BODY: usize = 1 << 20;

/// The whole application with the default [`Limits`].
pub fn app(vault: Vault) -> Router {
    app_with(vault, Limits::default())
}

/// The whole application: every route, the anonymous routes behind the per-peer rate limit,
/// the upload budget, the timeout and the JSON fallbacks. Serve it with
/// `into_make_service_with_connect_info::<SocketAddr>()` so that limits apply per peer; without
/// peer addresses all anonymous callers share one peer's limits.
pub fn app_with(vault: Vault, limits: Limits) -> Router {
    let admission = limits::Admission::new(limits);
    let anonymous = Router::new()
        .merge(audit::public_router())
        .merge(pki::router())
        .merge(licence_types::router())
        .merge(documents::router())
        .merge(status_lists::router())
        .merge(licences::public_router())
        .merge(presentations::public_router())
        .merge(licence_use::public_router())
        .route_layer(middleware::from_fn_with_state(
            admission.clone(),
            limits::rate_limit,
        ));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .merge(keys::router())
        .merge(clients::router())
        .merge(verify::router())
        .merge(audit::router())
        .merge(seals::router())
        .merge(stamp::router())
        .merge(tsa::router())
        .merge(issuers::router())
        .merge(licences::router())
        .merge(presentations::router())
        .merge(grants::router())
        .merge(licence_use::router())
        .merge(devices::router())
        .merge(handsign::router())
        .merge(wallet::router())
        .merge(crate::web::router())
        .merge(anonymous)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(
            admission.clone(),
            limits::timeout,
        ))
        .layer(Extension(admission))
        .layer(middleware::from_fn(observe::observe))
        .with_state(vault)
}

/// Liveness probe (no auth).
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, description = "alive", body = String)))]
async fn healthz() -> &'static str {
    "ok\n"
}

/// Readiness probe (no auth): the database answers (within two seconds) and the audit writer
/// runs; 503 `not_ready` otherwise.
#[utoipa::path(get, path = "/readyz", tag = "health", responses(
    (status = 200, description = "ready to serve", body = String),
    (status = 503, description = "not ready (`not_ready`): the database does not answer or the audit writer stopped", body = ErrorBody),
))]
async fn readyz(State(vault): State<Vault>) -> Result<&'static str, Error> {
    vault.ready().await.map(|()| "ready\n")
}

/// Metrics in OpenMetrics text for Prometheus (no auth: counts and latencies by route template
/// and algorithm, nothing about clients or content).
#[utoipa::path(get, path = "/metrics", tag = "health", responses(
    (status = 200, description = "OpenMetrics text", body = String, content_type = "application/openmetrics-text"),
))]
async fn metrics() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)],
        crate::metrics::render(),
    )
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
        if status.is_server_error() && !matches!(self, Error::Busy { .. }) {
            tracing::error!(error = %self, detail = ?self, "request failed");
        }
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code(),
                message: self.public_message(),
            },
        };
        let mut resp = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED && !matches!(self, Error::NoSession) {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(secs) = self.retry_after() {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

/// A JSON object body whose rejections are [`Error`]s with stable codes and messages that name
/// no Rust type.
pub(crate) struct ApiJson<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = Error;

    async fn from_request(req: Request, _: &S) -> Result<Self, Error> {
        json_object(&json_body(req).await?).map(ApiJson)
    }
}

/// The bytes of a body declared as JSON, at most [`MAX_BODY`].
async fn json_body(req: Request) -> Result<Vec<u8>, Error> {
    require_json(req.headers())?;
    let declared = body::declared_length(req.headers(), MAX_BODY)?;
    body::read_body(req.into_body(), declared, MAX_BODY).await
}

/// Refuses a body that is not declared as JSON (`application/json` or `application/*+json`).
pub(super) fn require_json(headers: &axum::http::HeaderMap) -> Result<(), Error> {
    let media = media_type(headers);
    let json = media == "application/json"
        || media
            .strip_prefix("application/")
            .is_some_and(|sub| sub.ends_with("+json"));
    if json {
        Ok(())
    } else {
        Err(Error::UnsupportedMediaType("application/json"))
    }
}

/// Parses a request that must be a JSON object.
pub(super) fn json_object<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    // Every request type is an object; serde would also fill a struct from an array.
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => {}
        Some(b'[' | b'"' | b'0'..=b'9' | b'-' | b't' | b'f' | b'n') => {
            return Err(Error::InvalidRequest(
                "the body must be a JSON object".into(),
            ));
        }
        _ => return Err(Error::MalformedJson("expected a JSON object".into())),
    }
    serde_json::from_slice(bytes).map_err(|e| {
        let message = without_type_names(&e.to_string());
        match e.classify() {
            serde_json::error::Category::Data => Error::InvalidRequest(message),
            _ => Error::MalformedJson(message),
        }
    })
}

/// serde's message with the names of Rust types replaced by what they are in JSON
/// (`expected struct Holder` → `expected an object`).
fn without_type_names(message: &str) -> String {
    const KINDS: [(&str, &str); 4] = [
        ("tuple struct ", "an array"),
        ("unit struct ", "null"),
        ("struct ", "an object"),
        ("enum ", "one of the documented values"),
    ];
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    'scan: while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("expected ") {
            for (kind, json) in KINDS {
                if let Some(name) = after.strip_prefix(kind) {
                    let end = name
                        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                        .unwrap_or(name.len());
                    out.push_str("expected ");
                    out.push_str(json);
                    rest = &name[end..];
                    continue 'scan;
                }
            }
        }
        let mut chars = rest.chars();
        if let Some(c) = chars.next() {
            out.push(c);
        }
        rest = chars.as_str();
    }
    out
}

/// A path parameter whose rejections are [`Error`]s: 400 `invalid_request` naming the parameter.
pub(crate) struct ApiPath<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(v)) => Ok(ApiPath(v)),
            Err(PathRejection::FailedToDeserializePathParams(e)) => {
                Err(Error::InvalidRequest(match e.kind() {
                    ErrorKind::ParseErrorAtKey { key, .. }
                    | ErrorKind::InvalidUtf8InPathParam { key }
                    | ErrorKind::DeserializeError { key, .. } => {
                        format!("path parameter `{key}` is not valid")
                    }
                    _ => "a path parameter is not valid".into(),
                }))
            }
            Err(e) => Err(Error::Config(format!("route without its parameters: {e}"))),
        }
    }
}

impl FromRequestParts<Vault> for AuthClient {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, vault: &Vault) -> Result<Self, Error> {
        let client = vault.authenticate(bearer_key(&parts.headers)?).await?;
        crate::request_id::set_client(&client.name);
        Ok(client)
    }
}

/// The API key of the `Authorization: Bearer` header.
fn bearer_key(headers: &axum::http::HeaderMap) -> Result<&str, Error> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or(Error::Unauthorized)?;
    // RFC 7235 §2.1: the scheme is case-insensitive.
    let key = value
        .to_str()
        .ok()
        .and_then(|v| v.trim_start().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .ok_or(Error::Unauthorized)?
        .1;
    Ok(key.trim())
}

/// A public answer caches may keep `max_age` seconds: with `ETag`, and 304 without a body when
/// the request's `If-None-Match` names that tag (or `*`).
pub(crate) fn cacheable(
    request: &axum::http::HeaderMap,
    etag: &str,
    max_age: i64,
    media_type: &'static str,
    body: String,
) -> Result<Response, Error> {
    let tag = HeaderValue::from_str(etag).map_err(|_| Error::Unavailable)?;
    let cache = HeaderValue::from_str(&format!("public, max-age={max_age}"))
        .map_err(|_| Error::Unavailable)?;
    let unchanged = request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| {
            let t = t.trim();
            t == "*" || t.trim_start_matches("W/") == etag
        });
    let mut response = if unchanged {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(header::CONTENT_TYPE, HeaderValue::from_static(media_type))],
            body,
        )
            .into_response()
    };
    let h = response.headers_mut();
    h.insert(header::ETAG, tag);
    h.insert(header::CACHE_CONTROL, cache);
    Ok(response)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_messages_lose_rust_type_names() {
        for (serde, public) in [
            (
                "invalid type: integer `5`, expected struct Holder at line 1 column 9",
                "invalid type: integer `5`, expected an object at line 1 column 9",
            ),
            (
                "invalid type: sequence, expected struct CreateKeyRequest",
                "invalid type: sequence, expected an object",
            ),
            (
                "invalid value: string \"x\", expected enum SealKind",
                "invalid value: string \"x\", expected one of the documented values",
            ),
            ("missing field `name`", "missing field `name`"),
        ] {
            assert_eq!(without_type_names(serde), public);
        }
    }
}
