//! Verification routes for signed artefacts: whole documents (raw body) and detached SES
//! signatures. Public: anyone holding a sealed document may check it.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::HeaderMap;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{ApiJson, ErrorBody, b64};
use crate::error::Error;
use crate::vault::Vault;
use crate::verify::{Format, Report};

/// Largest document `POST /v1/documents/verify` accepts.
pub(super) const MAX_DOCUMENT: usize = 32 << 20;

pub(super) fn router() -> Router<Vault> {
    Router::new()
        .route(
            "/v1/documents/verify",
            post(verify_document).layer(DefaultBodyLimit::max(MAX_DOCUMENT)),
        )
        .route("/v1/ses/verify", post(verify_ses))
}

/// Verify a signed document: the raw file as the body. `application/ofd` (OFD, GB/T 33190 §18 seals and signatures), `application/pdf` (PAdES and PKCS#7 signatures, document timestamps, later revisions), or `application/octet-stream` (sniffed; a DER SES_Signature or SESeal is accepted too).
#[utoipa::path(post, path = "/v1/documents/verify", tag = "verify",
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 200, body = Report), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody)))]
async fn verify_document(
    State(vault): State<Vault>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Report>, Error> {
    let base = super::media_type(&headers);
    let format = match base.as_str() {
        "application/octet-stream" | "" => None,
        _ => Some(
            Format::from_content_type(&base).ok_or(Error::UnsupportedMediaType(
                "application/ofd, application/pdf or application/octet-stream",
            ))?,
        ),
    };
    Ok(Json(vault.verify_document(body.to_vec(), format).await?))
}

/// Request to verify a detached SES_Signature.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SesVerifyRequest {
    /// The SES_Signature (v1, v4 or v5), base64 DER.
    signature: String,
    /// The signed original, base64; without it dataHash is not compared.
    #[serde(default)]
    data: Option<String>,
}

/// Verify a GB/T 38540 / GM/T 0031 electronic signature: both signatures, certificate list, validity periods, chains and revocation, and dataHash against the original when given. A SESeal in `signature` is verified as a seal on its own.
#[utoipa::path(post, path = "/v1/ses/verify", tag = "verify", request_body = SesVerifyRequest,
    responses((status = 200, body = Report), (status = 400, body = ErrorBody)))]
async fn verify_ses(
    State(vault): State<Vault>,
    ApiJson(req): ApiJson<SesVerifyRequest>,
) -> Result<Json<Report>, Error> {
    let signature = b64(&req.signature, "signature")?;
    let data = req.data.as_deref().map(|d| b64(d, "data")).transpose()?;
    Ok(Json(vault.verify_ses(signature, data).await?))
}
