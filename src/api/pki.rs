//! Public PKI routes: the trust list, the CRLs and certificates of the vault's CAs (no auth:
//! relying parties and offline inspectors fetch them, the CRLs and certificates through the
//! CRL Distribution Point and AIA caIssuers URIs of the certificates the vault issues).

use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use utoipa::ToSchema;

use super::openapi::Binary;
use super::{ApiPath, ErrorBody};
use crate::error::Error;
use crate::vault::Vault;

pub(super) fn router() -> Router<Vault> {
    Router::new()
        .route("/v1/trust-list", get(trust_list))
        .route("/v1/pki/crl/{ca}", get(crl))
        .route("/v1/pki/ca/{file}", get(ca_certificate))
}

/// One of the vault's CAs.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TrustListEntry {
    /// Name, also the `{ca}` of `/v1/pki/crl/{ca}`.
    name: String,
    /// `sm2` or `p256`.
    family: String,
    /// `root` (trust anchor) or `issuing`.
    role: String,
    /// Subject, RFC 4514.
    subject: String,
    /// subjectKeyIdentifier, hex.
    key_id: String,
    /// SHA-256 of the DER certificate, hex.
    sha256: String,
    /// Start of validity (RFC 3339).
    not_before: String,
    /// End of validity (RFC 3339).
    not_after: String,
    /// The certificate, PEM.
    pem: String,
}

/// The trust list.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TrustList {
    /// The roots and issuing CAs.
    authorities: Vec<TrustListEntry>,
    /// All of them as one PEM bundle.
    pem: String,
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// The vault's roots and issuing CAs (JSON; `Accept: application/x-pem-file` gives the PEM bundle).
#[utoipa::path(get, path = "/v1/trust-list", tag = "pki",
    responses((status = 200, description = "The trust list (JSON by default, the PEM bundle on `Accept: application/x-pem-file`)",
        content((TrustList = "application/json"), (String = "application/x-pem-file")))))]
async fn trust_list(State(vault): State<Vault>, headers: HeaderMap) -> Response {
    let entries: Vec<TrustListEntry> = vault
        .trust_list()
        .into_iter()
        .map(|e| TrustListEntry {
            name: e.name,
            family: e.family.as_str().to_owned(),
            role: e.role.as_str().to_owned(),
            subject: e.cert.subject().to_owned(),
            key_id: e.cert.key_id(),
            sha256: e.cert.fingerprint_sha256(),
            not_before: rfc3339(e.cert.not_before()),
            not_after: rfc3339(e.cert.not_after()),
            pem: e.cert.to_pem(),
        })
        .collect();
    let pem: String = entries.iter().map(|e| e.pem.as_str()).collect();
    let wants_pem = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/x-pem-file"));
    if wants_pem {
        ([(header::CONTENT_TYPE, "application/x-pem-file")], pem).into_response()
    } else {
        Json(TrustList {
            authorities: entries,
            pem,
        })
        .into_response()
    }
}

/// The current CRL of one of the vault's CAs (DER, `application/pkix-crl`), freshly signed, valid one day.
#[utoipa::path(get, path = "/v1/pki/crl/{ca}", tag = "pki",
    params(("ca" = String, Path, description = "CA name from the trust list, e.g. sm2-issuing")),
    responses((status = 200, content_type = "application/pkix-crl", body = Binary), (status = 404, body = ErrorBody)))]
async fn crl(State(vault): State<Vault>, ApiPath(ca): ApiPath<String>) -> Result<Response, Error> {
    let der = vault.crl(&ca).await?;
    Ok(([(header::CONTENT_TYPE, "application/pkix-crl")], der).into_response())
}

/// The certificate of one of the vault's CAs (DER, `application/pkix-cert`): what the AIA
/// caIssuers URI of the certificates it issued names.
#[utoipa::path(get, path = "/v1/pki/ca/{file}", tag = "pki",
    params(("file" = String, Path, description = "CA name from the trust list followed by `.cer`, e.g. p256-issuing.cer")),
    responses((status = 200, content_type = "application/pkix-cert", body = Binary), (status = 404, body = ErrorBody)))]
async fn ca_certificate(
    State(vault): State<Vault>,
    ApiPath(file): ApiPath<String>,
) -> Result<Response, Error> {
    let cert = file
        .strip_suffix(".cer")
        .and_then(|ca| vault.trust_list().into_iter().find(|e| e.name == ca))
        .ok_or(Error::NotFound("certificate authority"))?
        .cert;
    Ok((
        [(header::CONTENT_TYPE, "application/pkix-cert")],
        cert.der().to_vec(),
    )
        .into_response())
}
