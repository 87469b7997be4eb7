//! Verification routes for signed artefacts: whole documents (raw body) and detached SES
//! signatures. Public: anyone holding a sealed document may check it.

use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

use super::limits::Upload;
use super::openapi::Binary;
use super::{ErrorBody, MAX_BODY, b64};
use crate::error::Error;
use crate::vault::Vault;
use crate::verify::{Format, Report};

/// Largest document `POST /v1/documents/verify` accepts.
pub(super) const MAX_DOCUMENT: usize = 32 << 20;

pub(super) fn router() -> Router<Vault> {
    Router::new()
        .route("/v1/documents/verify", post(verify_document))
        .route("/v1/ses/verify", post(verify_ses))
}

/// When to verify as of.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct VerifyQuery {
    /// The validation time (RFC 3339, e.g. `2026-01-31T12:00:00Z`): the checks are made as of
    /// it — future-time checks, a seal's own validity, the revocations known then. Default: now.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[param(value_type = Option<String>, format = DateTime)]
    validation_time: Option<OffsetDateTime>,
}

/// Verify a signed document: the raw file as the body, admitted before it is read against a byte budget shared by all anonymous callers and a share per peer (503 `busy` with `Retry-After` beyond them). `application/ofd` (OFD, GB/T 33190 §18 seals and signatures), `application/pdf` (PAdES and PKCS#7 signatures, document timestamps, later revisions), or `application/octet-stream` (sniffed; a DER SES_Signature or SESeal is accepted too; a bare SES_Signature comes without its original and is at best INDETERMINATE, `original_missing` — use `/v1/ses/verify` with `data`). `validation_time` checks as of another time.
#[utoipa::path(post, path = "/v1/documents/verify", tag = "verify", params(VerifyQuery),
    request_body(content((Binary = "application/octet-stream"), (Binary = "application/pdf"), (Binary = "application/ofd"))),
    responses((status = 200, body = Report), (status = 400, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody)))]
async fn verify_document(
    State(vault): State<Vault>,
    query: Result<Query<VerifyQuery>, QueryRejection>,
    DocumentFormat(format): DocumentFormat,
    upload: Upload<MAX_DOCUMENT>,
) -> Result<Json<Report>, Error> {
    let Query(q) = query.map_err(|e| Error::InvalidRequest(e.body_text()))?;
    let Upload { bytes, reservation } = upload;
    if bytes.is_empty() {
        return Err(Error::InvalidRequest(
            "the body is empty: send the document".into(),
        ));
    }
    let report = vault
        .verify_document_at(bytes, format, q.validation_time)
        .await?;
    // The bytes were freed when the verification ended; only now may others use their share.
    drop(reservation);
    Ok(Json(report))
}

/// The format the `Content-Type` names (`None`: sniff it), checked before the body is read.
struct DocumentFormat(Option<Format>);

impl<S: Send + Sync> FromRequestParts<S> for DocumentFormat {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Error> {
        let base = super::media_type(&parts.headers);
        match base.as_str() {
            "application/octet-stream" | "" => Ok(Self(None)),
            _ => Format::from_content_type(&base)
                .map(|f| Self(Some(f)))
                .ok_or(Error::UnsupportedMediaType(
                    "application/ofd, application/pdf or application/octet-stream",
                )),
        }
    }
}

/// Request to verify a detached SES_Signature.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SesVerifyRequest {
    /// The SES_Signature (v1, v4 or v5), base64 DER.
    signature: String,
    /// The signed original, base64; without it dataHash cannot be compared and the verdict is
    /// at best INDETERMINATE (check `signature.data_hash`, reason `original_missing`).
    #[serde(default)]
    data: Option<String>,
    /// The validation time (RFC 3339): the checks are made as of it. Default: now.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    validation_time: Option<OffsetDateTime>,
}

/// Verify a GB/T 38540 / GM/T 0031 electronic signature: both signatures, certificate list, validity periods, chains and revocation, and dataHash against the original. Without `data` the answer is never VALID: INDETERMINATE at best, with the signatures reported intact or not and the reason `original_missing`. A SESeal in `signature` is verified as a seal on its own.
#[utoipa::path(post, path = "/v1/ses/verify", tag = "verify", request_body = SesVerifyRequest,
    responses((status = 200, body = Report), (status = 400, body = ErrorBody)))]
async fn verify_ses(
    State(vault): State<Vault>,
    headers: HeaderMap,
    upload: Upload<MAX_BODY>,
) -> Result<Json<Report>, Error> {
    super::require_json(&headers)?;
    // Admitted like a document: the body and its decoded fields count against the budget.
    let Upload { bytes, reservation } = upload;
    let req: SesVerifyRequest = super::json_object(&bytes)?;
    drop(bytes);
    let signature = b64(&req.signature, "signature")?;
    let data = req.data.as_deref().map(|d| b64(d, "data")).transpose()?;
    let at = req.validation_time;
    drop(req);
    let report = vault.verify_ses(signature, data, at).await?;
    drop(reservation);
    Ok(Json(report))
}
