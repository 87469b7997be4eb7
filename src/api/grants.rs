//! 用证 grants, made by the wallet system for the holder: `POST /v1/licences/{id}/grants`
//! makes one (its code shown only then), `GET` lists them, `POST …/grants/{gid}/withdraw`
//! withdraws one.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::page::{Page, PageQuery};
use super::presentations::no_store;
use super::{ApiJson, ApiPath, ErrorBody, rfc3339};
use crate::error::Error;
use crate::vault::{AuthClient, Grant, NewGrant, Vault};

pub(super) fn router() -> Router<Vault> {
    Router::new()
        .route(
            "/v1/licences/{id}/grants",
            post(grant_licence).get(licence_grants),
        )
        .route(
            "/v1/licences/{id}/grants/{gid}/withdraw",
            post(withdraw_grant),
        )
}

/// A department (a client with scope `licence:use`).
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Department {
    /// The department's client id: only that client may use the grant.
    id: String,
    /// Its name, as the holder is shown it (1–128 characters).
    name: String,
}

/// A holder's grant asked for.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct GrantRequest {
    /// The department allowed.
    department: Department,
    /// Why the holder grants it (1–200 characters).
    purpose: String,
    /// Seconds it lives: 1 to 2592000 (30 days; default 604800, 7 days).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 2592000)]
    expires_in_s: Option<u32>,
}

/// A grant.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct GrantResponse {
    /// Grant id (`grt_…`).
    id: String,
    /// The one-time code (32 hex digits) the holder gives the department: only in the answer that made the grant; the vault keeps its SHA-256 alone.
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<String>,
    /// The department allowed.
    department: Department,
    /// Why the holder granted it.
    purpose: String,
    /// When it was made (RFC 3339).
    created_at: String,
    /// When it expires (RFC 3339).
    expires_at: String,
    /// `active`, `used` (a fetch consumed it), `withdrawn` or `expired`.
    status: &'static str,
    /// When a fetch consumed it (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    used_at: Option<String>,
    /// When the holder withdrew it (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    withdrawn_at: Option<String>,
}

impl GrantResponse {
    fn of(g: Grant, code: Option<String>) -> Self {
        let r = g.row;
        Self {
            id: r.id,
            code,
            department: Department {
                id: r.department_id,
                name: r.department_name,
            },
            purpose: r.purpose,
            created_at: rfc3339(r.created_at),
            expires_at: rfc3339(r.expires_at),
            status: g.status.as_str(),
            used_at: r.used_at.map(rfc3339),
            withdrawn_at: r.withdrawn_at.map(rfc3339),
        }
    }
}

/// A page of grants.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct GrantList {
    /// Oldest first, without codes.
    items: Vec<GrantResponse>,
    /// The `cursor` of the next page; null on the last page.
    next_cursor: Option<String>,
}

/// Grant a department the use (用证) of a licence, for the holder: scope `present` and the right to present the licence (as for `POST /v1/licences/{id}/presentations`; another client's licence is 404). The department (`department.id`, an active client with scope `licence:use`) may then query, verify and, once, fetch the licence with the `code` until the grant expires or the holder withdraws it. The code (128 random bits) is in this answer only. Audited (`licence.grant_created`). `Cache-Control: no-store`.
#[utoipa::path(post, path = "/v1/licences/{id}/grants", tag = "licence-use", request_body = GrantRequest,
    security(("bearer" = [])),
    params(("id" = String, Path, description = "证照标识")),
    responses((status = 201, body = GrantResponse, headers(("Cache-Control" = String, description = "no-store"))),
        (status = 400, body = ErrorBody, description = "invalid_field: `purpose`, `department` (not an active department) or `expires_in_s`"),
        (status = 403, body = ErrorBody, description = "no `present` scope"),
        (status = 404, body = ErrorBody)))]
async fn grant_licence(
    State(vault): State<Vault>,
    client: AuthClient,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<GrantRequest>,
) -> Result<Response, Error> {
    granted(&vault, &client, &id, req).await
}

/// A grant made for `client` (the `/v1` route and the demo wallet's), answered 201 with its code.
pub(crate) async fn granted(
    vault: &Vault,
    client: &AuthClient,
    id: &str,
    req: GrantRequest,
) -> Result<Response, Error> {
    let issued = vault
        .grant_licence(
            client,
            id,
            NewGrant {
                department_id: req.department.id,
                department_name: req.department.name,
                purpose: req.purpose,
                expires_in_s: req.expires_in_s,
            },
        )
        .await?;
    Ok(no_store(
        (
            StatusCode::CREATED,
            Json(GrantResponse::of(issued.grant, Some(issued.code))),
        )
            .into_response(),
    ))
}

/// The grants of a licence, oldest first, a page at a time, without their codes: for the clients that may grant them.
#[utoipa::path(get, path = "/v1/licences/{id}/grants", tag = "licence-use", security(("bearer" = [])),
    params(("id" = String, Path, description = "证照标识"), PageQuery),
    responses((status = 200, body = GrantList), (status = 404, body = ErrorBody)))]
async fn licence_grants(
    State(vault): State<Vault>,
    client: AuthClient,
    ApiPath(id): ApiPath<String>,
    page: Page,
) -> Result<Json<GrantList>, Error> {
    grants_of(&vault, &client, &id, page).await
}

/// A page of a licence's grants as `client` may read them.
pub(crate) async fn grants_of(
    vault: &Vault,
    client: &AuthClient,
    id: &str,
    page: Page,
) -> Result<Json<GrantList>, Error> {
    let grants = vault
        .licence_grants(client, id, page.after(), page.fetch())
        .await?;
    let (grants, next_cursor) = page.finish(grants, |g| (g.row.created_at, g.row.id.as_str()));
    Ok(Json(GrantList {
        items: grants
            .into_iter()
            .map(|g| GrantResponse::of(g, None))
            .collect(),
        next_cursor,
    }))
}

/// Withdraw a grant (the holder changed their mind): it authorises nothing more. Withdrawing it again changes nothing; a grant a fetch used is 409. Audited (`licence.grant_withdrawn`). For the clients that may grant it.
#[utoipa::path(post, path = "/v1/licences/{id}/grants/{gid}/withdraw", tag = "licence-use",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "证照标识"), ("gid" = String, Path, description = "grant id")),
    responses((status = 200, body = GrantResponse),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "the grant was used")))]
async fn withdraw_grant(
    State(vault): State<Vault>,
    client: AuthClient,
    ApiPath((id, gid)): ApiPath<(String, String)>,
) -> Result<Json<GrantResponse>, Error> {
    withdrawn(&vault, &client, &id, &gid).await
}

/// A grant withdrawn for `client` (the `/v1` route and the demo wallet's).
pub(crate) async fn withdrawn(
    vault: &Vault,
    client: &AuthClient,
    id: &str,
    gid: &str,
) -> Result<Json<GrantResponse>, Error> {
    let grant = vault.withdraw_grant(client, id, gid).await?;
    Ok(Json(GrantResponse::of(grant, None)))
}
