//! 用证 (GB/T 36906 sharing) for departments' systems (scope `licence:use`):
//! `POST /v1/licence-use/query`, `/verify` and `/fetch`, each with a `reason` and exactly one
//! of `case_number` or `grant_code`; `GET /v1/licence-use/files/{token}` serves a fetched file
//! once (the token is the credential).

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use utoipa::ToSchema;

use super::licences::LicenceIssuer;
use super::openapi::Binary;
use super::presentations::no_store;
use super::{ApiJson, ApiPath, ErrorBody, rfc3339};
use crate::error::Error;
use crate::vault::{
    AuthClient, Authority, Licence, UseRequest, UseTarget, Vault, date_of, valid_to_text,
};

pub(super) fn router() -> Router<Vault> {
    Router::new()
        .route("/v1/licence-use/query", post(use_query))
        .route("/v1/licence-use/verify", post(use_verify))
        .route("/v1/licence-use/fetch", post(use_fetch))
}

/// The anonymous route (behind the per-peer rate limit): the token is the credential.
pub(super) fn public_router() -> Router<Vault> {
    Router::new().route("/v1/licence-use/files/{token}", get(use_file))
}

/// The reason and authority of a call, as the bodies carry them.
fn use_request(
    reason: String,
    case_number: Option<String>,
    grant_code: Option<String>,
) -> Result<UseRequest, Error> {
    let authority = match (case_number, grant_code) {
        (Some(c), None) => Authority::CaseNumber(c),
        (None, Some(g)) => Authority::GrantCode(g),
        _ => {
            return Err(Error::InvalidRequest(
                "give exactly one of `case_number` and `grant_code`".into(),
            ));
        }
    };
    Ok(UseRequest { reason, authority })
}

/// A query of a holder's licences.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct QueryRequest {
    /// 持证主体代码 (统一社会信用代码 or 公民身份号码).
    holder_code: String,
    /// 证照类型代码.
    #[serde(rename = "type")]
    type_code: String,
    /// 用证事由 (1–200 characters), recorded and shown to the holder.
    reason: String,
    /// The approval case number (1–64 characters); or `grant_code`.
    #[serde(default)]
    case_number: Option<String>,
    /// The code of the holder's grant to this department; or `case_number`.
    #[serde(default)]
    grant_code: Option<String>,
}

/// A licence as a query finds it: no face data.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct FoundLicence {
    /// 证照标识.
    id: String,
    /// 证照类型代码.
    #[serde(rename = "type")]
    type_code: String,
    /// 证照名称.
    type_name: String,
    /// 证照编号.
    number: String,
    /// 颁发机构.
    issuer: LicenceIssuer,
    /// `valid`, `suspended`, `revoked`, `cancelled` or `expired`.
    status: &'static str,
    /// The national status code.
    status_code: &'static str,
    /// 有效期起始.
    valid_from: String,
    /// 有效期截止, or `长期`.
    valid_to: String,
}

impl FoundLicence {
    fn of(l: Licence) -> Self {
        Self {
            status: l.status.as_str(),
            status_code: l.status.code(),
            type_name: l.type_name,
            issuer: LicenceIssuer {
                id: l.issuer.id,
                name: l.issuer.name,
                uscc: l.issuer.uscc,
            },
            valid_from: date_of(l.row.valid_from),
            valid_to: valid_to_text(l.row.valid_to),
            id: l.row.id,
            type_code: l.row.type_code,
            number: l.row.number,
        }
    }
}

/// The licences found.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct QueryAnswer {
    /// Oldest first; with a grant, the granted licence alone.
    items: Vec<FoundLicence>,
}

/// 用证 query: a holder's licences of a type (superseded versions left out), with a `reason` and a `case_number` or the holder's `grant_code` (which answers the granted licence alone). Each licence found records the use in its list of uses. Any refusal of the authorisation — no or a wrong grant, another department's, used, withdrawn or expired, no such holder or licence — is the same 403 `use_denied`. `Cache-Control: no-store`.
#[utoipa::path(post, path = "/v1/licence-use/query", tag = "licence-use", request_body = QueryRequest,
    security(("bearer" = [])),
    responses((status = 200, body = QueryAnswer),
        (status = 400, body = ErrorBody, description = "`reason` missing or not 1–200 characters; not exactly one of `case_number` and `grant_code`"),
        (status = 403, body = ErrorBody, description = "`forbidden` (no `licence:use` scope) or `use_denied` (the one answer to every refused authorisation)")))]
async fn use_query(
    State(vault): State<Vault>,
    client: AuthClient,
    ApiJson(req): ApiJson<QueryRequest>,
) -> Result<Response, Error> {
    let use_req = use_request(req.reason, req.case_number, req.grant_code)?;
    let found = vault
        .use_query(&client, &req.holder_code, &req.type_code, &use_req)
        .await?;
    Ok(no_store(
        Json(QueryAnswer {
            items: found.into_iter().map(FoundLicence::of).collect(),
        })
        .into_response(),
    ))
}

/// Face data to compare with a licence.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct VerifyRequest {
    /// 证照标识; or `holder_code` and `type` (the holder's current licence of that type).
    #[serde(default)]
    licence_id: Option<String>,
    /// 持证主体代码, with `type`.
    #[serde(default)]
    holder_code: Option<String>,
    /// 证照类型代码, with `holder_code`.
    #[serde(default, rename = "type")]
    type_code: Option<String>,
    /// Field name → the value to compare (1–64): the type's face fields, `number`, `holder.name`, `holder.id_number`. Text is compared trimmed.
    #[schema(value_type = Object)]
    fields: Map<String, Value>,
    /// 用证事由 (1–200 characters).
    reason: String,
    /// The approval case number; or `grant_code`.
    #[serde(default)]
    case_number: Option<String>,
    /// The holder's grant code; or `case_number`.
    #[serde(default)]
    grant_code: Option<String>,
}

/// Whether the data given matches: no value is ever answered.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct VerifyAnswer {
    /// Field name → `true` if the value given equals the licence's (`false` also for a field the licence lacks).
    #[serde(rename = "match")]
    matches: BTreeMap<String, bool>,
    /// The licence's status now.
    status: &'static str,
    /// The national status code.
    status_code: &'static str,
}

/// 用证 verify: compares face data with a licence and answers per field `true` or `false`, and the licence's status, never a value. Authorised and recorded as a query; the same 403 `use_denied` for every refusal. An active grant stays active. `Cache-Control: no-store`.
#[utoipa::path(post, path = "/v1/licence-use/verify", tag = "licence-use", request_body = VerifyRequest,
    security(("bearer" = [])),
    responses((status = 200, body = VerifyAnswer),
        (status = 400, body = ErrorBody, description = "`reason`, the licence named neither or both ways, `fields` empty or more than 64, or not exactly one of `case_number` and `grant_code`"),
        (status = 403, body = ErrorBody, description = "`forbidden` or `use_denied`")))]
async fn use_verify(
    State(vault): State<Vault>,
    client: AuthClient,
    ApiJson(req): ApiJson<VerifyRequest>,
) -> Result<Response, Error> {
    let target = match (req.licence_id, req.holder_code, req.type_code) {
        (Some(id), None, None) => UseTarget::Licence(id),
        (None, Some(holder_code), Some(type_code)) => UseTarget::Holder {
            holder_code,
            type_code,
        },
        _ => {
            return Err(Error::InvalidRequest(
                "name the licence by `licence_id`, or by `holder_code` and `type`".into(),
            ));
        }
    };
    let use_req = use_request(req.reason, req.case_number, req.grant_code)?;
    let v = vault
        .use_verify(&client, &target, &req.fields, &use_req)
        .await?;
    Ok(no_store(
        Json(VerifyAnswer {
            matches: v.matches,
            status: v.status.as_str(),
            status_code: v.status.code(),
        })
        .into_response(),
    ))
}

/// A fetch of a licence's file.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct FetchRequest {
    /// 证照标识.
    licence_id: String,
    /// 用证事由 (1–200 characters).
    reason: String,
    /// The approval case number; or `grant_code`.
    #[serde(default)]
    case_number: Option<String>,
    /// The holder's grant code (consumed); or `case_number`.
    #[serde(default)]
    grant_code: Option<String>,
}

/// Where the file is served.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct FetchAnswer {
    /// `/v1/licence-use/files/{token}` (under the vault's public URL): serves the file once, without an API key, within 5 minutes.
    url: String,
    /// When the link stops serving (RFC 3339).
    expires_at: String,
}

/// 用证 fetch: a short-lived link to the licence's file (the sealed OFD `GET /v1/licences/{id}/file` serves; 128-bit token, 5 minutes, one download). A grant is consumed (one fetch per grant). Audited (`licence.fetched`) and recorded in the licence's uses; the same 403 `use_denied` for every refusal. `Cache-Control: no-store`.
#[utoipa::path(post, path = "/v1/licence-use/fetch", tag = "licence-use", request_body = FetchRequest,
    security(("bearer" = [])),
    responses((status = 200, body = FetchAnswer),
        (status = 400, body = ErrorBody, description = "`reason`, or not exactly one of `case_number` and `grant_code`"),
        (status = 403, body = ErrorBody, description = "`forbidden` or `use_denied`")))]
async fn use_fetch(
    State(vault): State<Vault>,
    client: AuthClient,
    ApiJson(req): ApiJson<FetchRequest>,
) -> Result<Response, Error> {
    let use_req = use_request(req.reason, req.case_number, req.grant_code)?;
    let link = vault.use_fetch(&client, &req.licence_id, &use_req).await?;
    Ok(no_store(
        Json(FetchAnswer {
            url: link.url,
            expires_at: rfc3339(link.expires_at),
        })
        .into_response(),
    ))
}

/// The file of a 用证 fetch (no API key: the token is the credential): the licence's OFD, once; a token unknown, used or expired is 404. `Cache-Control: no-store`.
#[utoipa::path(get, path = "/v1/licence-use/files/{token}", tag = "licence-use",
    params(("token" = String, Path, description = "the link's token (32 hex digits)")),
    responses((status = 200, description = "the licence file", content((Binary = "application/ofd"))),
        (status = 404, body = ErrorBody)))]
async fn use_file(
    State(vault): State<Vault>,
    ApiPath(token): ApiPath<String>,
) -> Result<Response, Error> {
    let (id, file) = vault.use_file(&token).await?;
    Ok(no_store(
        (
            [
                (header::CONTENT_TYPE, "application/ofd".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{id}.ofd\""),
                ),
            ],
            file,
        )
            .into_response(),
    ))
}
