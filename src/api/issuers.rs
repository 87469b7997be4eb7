//! `/v1/issuers`: the issuing authorities (颁证单位) licences are issued in the name of.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ApiJson, ErrorBody, rfc3339};
use crate::error::Error;
use crate::vault::{AuthClient, IssuerInfo, NewIssuer, Vault};

pub(super) fn router() -> Router<Vault> {
    Router::new().route("/v1/issuers", post(create_issuer).get(list_issuers))
}

/// Request to register an issuing authority.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateIssuerRequest {
    /// Its name, e.g. `某某市市场监督管理局`; its licence seal is named `<name>电子证照专用章`.
    name: String,
    /// Its 统一社会信用代码 (GB 32100, check character verified).
    uscc: String,
    /// GB/T 2260 region code, six digits; default the one inside the 统一社会信用代码.
    #[serde(default)]
    region: Option<String>,
}

/// An issuing authority.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct IssuerResponse {
    /// Issuer id (for `issuer` in licence requests and `sidian client add --issuer`).
    id: String,
    /// Its name.
    name: String,
    /// Its 统一社会信用代码 (the issuer code inside its licences' 证照标识).
    uscc: String,
    /// GB/T 2260 region code.
    region: String,
    /// Its licence seal (an SM2 official seal of the vault).
    seal_id: String,
    /// Its SM2 key that signs its licences' canonical form.
    signing_key_id: String,
    /// Its P-256 key that signs its status lists (the `kid` of their tokens).
    status_key_id: String,
    /// The status list new licences get their slots in (`GET /v1/status-lists/{id}`).
    status_list_id: String,
    /// The SM2 public key that verifies its licences' signatures, PEM.
    signing_key_pem: String,
    /// The P-256 public key that verifies its status list tokens, PEM.
    status_key_pem: String,
    /// Creation time (RFC 3339).
    created_at: String,
}

impl From<IssuerInfo> for IssuerResponse {
    fn from(i: IssuerInfo) -> Self {
        let r = i.row;
        Self {
            id: r.id,
            name: r.name,
            uscc: r.uscc,
            region: r.region,
            seal_id: r.seal_id,
            signing_key_id: r.signing_key_id,
            status_key_id: r.status_key_id,
            status_list_id: i.status_list_id,
            signing_key_pem: i.signing_key_pem,
            status_key_pem: i.status_key_pem,
            created_at: rfc3339(r.created_at),
        }
    }
}

/// Register an issuing authority (scope `admin`): its licence seal, licence signing key (SM2), status list key (P-256) and first status list (2^20 slots), in one audited transaction.
#[utoipa::path(post, path = "/v1/issuers", tag = "licences", request_body = CreateIssuerRequest,
    security(("bearer" = [])),
    responses((status = 201, body = IssuerResponse),
        (status = 400, body = ErrorBody, description = "invalid_uscc, invalid_request"),
        (status = 409, body = ErrorBody, description = "an issuer with this 统一社会信用代码 exists")))]
async fn create_issuer(
    State(vault): State<Vault>,
    client: AuthClient,
    ApiJson(req): ApiJson<CreateIssuerRequest>,
) -> Result<(StatusCode, Json<IssuerResponse>), Error> {
    let info = vault
        .create_issuer(
            &client,
            NewIssuer {
                name: req.name,
                uscc: req.uscc,
                region: req.region,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(info.into())))
}

/// The issuing authorities you may issue for (all of them with `admin`).
#[utoipa::path(get, path = "/v1/issuers", tag = "licences", security(("bearer" = [])),
    responses((status = 200, body = Vec<IssuerResponse>)))]
async fn list_issuers(
    State(vault): State<Vault>,
    client: AuthClient,
) -> Result<Json<Vec<IssuerResponse>>, Error> {
    let list = vault.issuers(&client).await?;
    Ok(Json(list.into_iter().map(Into::into).collect()))
}
