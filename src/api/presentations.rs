//! 亮证: `POST /v1/licences/{id}/presentations` makes a short-lived signed code of a licence
//! for the holder's phone, `POST /v1/presentations/verify` checks one (anyone; inspectors with
//! an API key), `GET /v1/presentations/trust` is what checks it offline, and
//! `GET /v1/licences/{id}/uses` lists the checks.

use axum::extract::{FromRequestParts, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::licences::{LicenceIssuer, LicenceResponse};
use super::page::{Page, PageQuery};
use super::{ApiJson, ApiPath, ErrorBody, cacheable, rfc3339};
use crate::error::Error;
use crate::present::offline::{Shown, TokenFacts};
use crate::vault::{AuthClient, Checker, PresentationCheck, Vault, now_ms};

/// How long caches may keep the trust list (seconds): a new issuer's tokens verify offline
/// within this much of its registration.
const TRUST_MAX_AGE_S: i64 = 300;

/// The anonymous route (behind the per-peer rate limit).
pub(super) fn public_router() -> Router<Vault> {
    Router::new().route("/v1/presentations/trust", get(presentation_trust))
}

pub(super) fn router() -> Router<Vault> {
    Router::new()
        .route("/v1/presentations/verify", post(verify_presentation))
        .route("/v1/licences/{id}/presentations", post(present_licence))
        .route("/v1/licences/{id}/uses", get(licence_uses))
}

/// Who calls a route that anyone may call: a client by its API key (a bad key is 401, never
/// anonymous), or anyone, who pays a token of the per-peer rate limit.
pub(crate) enum Caller {
    /// No `Authorization` header.
    Anonymous,
    /// An authenticated client.
    Client(AuthClient),
}

impl FromRequestParts<Vault> for Caller {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, vault: &Vault) -> Result<Self, Error> {
        if parts.headers.contains_key(header::AUTHORIZATION) {
            Ok(Caller::Client(
                AuthClient::from_request_parts(parts, vault).await?,
            ))
        } else {
            super::limits::charge_anonymous(parts)?;
            Ok(Caller::Anonymous)
        }
    }
}

/// `Cache-Control: no-store` on an answer.
pub(crate) fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Request for a presentation token.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PresentRequest {
    /// `valid` (only that the licence is valid), `basic` (default: also the holder's masked name and the validity) or `full` (as `basic` in the code; an inspector checking online with scope `inspect` sees the whole licence).
    #[serde(default)]
    profile: Option<String>,
    /// Seconds the code lives: 10–300 (default 60).
    #[serde(default)]
    #[schema(minimum = 10, maximum = 300)]
    ttl_s: Option<u16>,
}

/// A presentation token.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PresentationResponse {
    /// The code (`LZ1:` and base45, at most 300 characters): what the QR code holds (format: `schemas/presentation-token.md`).
    token: String,
    /// The QR code (error correction M, version ≤ 10) as an SVG image.
    qr_svg: String,
    /// When the code expires (RFC 3339).
    expires_at: String,
    /// The profile it shows.
    profile: &'static str,
}

/// Make a presentation token (亮证) of a licence: scope `present` (the wallet system, which has authenticated the holder) and a binding to the licence's issuer, or the client that issued the licence; `admin` any. Another client's licence is 404. The code carries an opaque 128-bit handle of the licence (never its 证照标识, number or holder's identifier), its type, status list slot, the profile's fields (masked), issue and expiry times and a nonce, signed with the issuer's presentation key. Only a valid licence is shown (409 `conflict` otherwise). `Cache-Control: no-store`.
#[utoipa::path(post, path = "/v1/licences/{id}/presentations", tag = "presentations", request_body = PresentRequest,
    security(("bearer" = [])),
    params(("id" = String, Path, description = "证照标识")),
    responses((status = 201, body = PresentationResponse, headers(("Cache-Control" = String, description = "no-store"))),
        (status = 400, body = ErrorBody, description = "invalid_field: `profile` or `ttl_s`"),
        (status = 403, body = ErrorBody, description = "no `present` scope"),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "the licence is not valid")))]
async fn present_licence(
    State(vault): State<Vault>,
    client: AuthClient,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<PresentRequest>,
) -> Result<Response, Error> {
    presented(&vault, &client, &id, &req).await
}

/// A presentation of licence `id` for `client` (the `/v1` route and the wallet's).
pub(crate) async fn presented(
    vault: &Vault,
    client: &AuthClient,
    id: &str,
    req: &PresentRequest,
) -> Result<Response, Error> {
    let p = vault
        .present_licence(client, id, req.profile.as_deref(), req.ttl_s)
        .await?;
    Ok(no_store(
        (
            StatusCode::CREATED,
            Json(PresentationResponse {
                token: p.token,
                qr_svg: p.qr_svg,
                expires_at: rfc3339(p.expires_at.saturating_mul(1000)),
                profile: p.profile.as_str(),
            }),
        )
            .into_response(),
    ))
}

/// Request to check a presentation token.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct VerifyPresentationRequest {
    /// The code read from the QR code (`LZ1:…`).
    token: String,
    /// The licence type (证照类型代码) required here: a token of another type is `WRONG_TYPE`.
    #[serde(default, rename = "type")]
    type_code: Option<String>,
    /// The inspector (officer) checking, as the calling system identifies them (1–64 characters); recorded with the check. Only with an API key.
    #[serde(default)]
    inspector: Option<String>,
    /// The challenge (8 digits, `POST /v1/presentations/challenges`) the officer showed the holder: the answer then says in `device` whether a device registered to the token's licence answered it.
    #[serde(default)]
    challenge: Option<String>,
}

/// The token's times and profile.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TokenInfo {
    /// `valid`, `basic` or `full`.
    profile: &'static str,
    /// When it was made (RFC 3339).
    issued_at: String,
    /// When it expires (RFC 3339); it is `EXPIRED` 10 s (the leeway) later.
    expires_at: String,
}

impl From<TokenFacts> for TokenInfo {
    fn from(t: TokenFacts) -> Self {
        Self {
            profile: t.profile,
            issued_at: t.issued_at,
            expires_at: t.expires_at,
        }
    }
}

/// The holder as a token shows them.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ShownHolder {
    /// 持证主体, masked (a quarter of the characters, at most four, kept at either end).
    name: String,
}

/// The licence as the token shows it, and its status now.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ShownLicence {
    /// 证照类型代码.
    #[serde(rename = "type")]
    type_code: String,
    /// 证照名称.
    #[serde(skip_serializing_if = "Option::is_none")]
    type_name: Option<String>,
    /// 颁发机构.
    issuer: LicenceIssuer,
    /// `valid`, `suspended`, `revoked`, `cancelled`, `expired` or `superseded`, read as the check was made.
    status: &'static str,
    /// The national status code (01 有效, 02 暂扣, 04 注销, 05 失效, 07 吊销).
    status_code: &'static str,
    /// 持证主体 (profiles `basic` and `full`).
    #[serde(skip_serializing_if = "Option::is_none")]
    holder: Option<ShownHolder>,
    /// 有效期起始 (profiles `basic` and `full`).
    #[serde(skip_serializing_if = "Option::is_none")]
    valid_from: Option<String>,
    /// 有效期截止 or `长期` (profiles `basic` and `full`).
    #[serde(skip_serializing_if = "Option::is_none")]
    valid_to: Option<String>,
}

/// The verdict on a presentation token.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PresentationVerdict {
    /// `VALID`; `EXPIRED` (the code, or the licence's validity); `REVOKED` (revoked, cancelled or superseded); `SUSPENDED`; `WRONG_TYPE`; or `INVALID` (not a code this vault signed, malformed, or made in the future: nothing else is told).
    verdict: &'static str,
    /// When the check was made (RFC 3339).
    checked_at: String,
    /// The code's times (absent for `INVALID`).
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<TokenInfo>,
    /// The licence as the code shows it (absent for `INVALID`): never an identifier number, a birth date or an address.
    #[serde(skip_serializing_if = "Option::is_none")]
    licence: Option<ShownLicence>,
    /// The whole licence: only for a client with scope `inspect` checking a `full` code whose verdict is `VALID`, `SUSPENDED` or `REVOKED`.
    #[serde(skip_serializing_if = "Option::is_none")]
    full: Option<LicenceResponse>,
    /// Only with a `challenge`: `answered` when it was answered, unexpired, by a device key registered to the licence the token names; `not_answered` otherwise (recorded with the check).
    #[serde(skip_serializing_if = "Option::is_none")]
    device: Option<&'static str>,
}

impl PresentationVerdict {
    fn of(c: PresentationCheck, challenged: bool) -> Result<Self, Error> {
        let licence = match (c.shown, c.status) {
            (Some(s), Some(status)) => Some(ShownLicence::of(s, status)),
            _ => None,
        };
        Ok(Self {
            verdict: c.verdict.as_str(),
            checked_at: rfc3339(c.checked_at),
            token: c.token.map(TokenInfo::from),
            licence,
            full: c.full.map(|l| LicenceResponse::of(l, false)).transpose()?,
            device: challenged.then(|| {
                c.device
                    .unwrap_or(crate::vault::DeviceAnswer::NotAnswered)
                    .as_str()
            }),
        })
    }
}

impl ShownLicence {
    fn of(s: Shown, status: crate::vault::LicenceStatus) -> Self {
        Self {
            type_code: s.type_code,
            type_name: s.type_name,
            issuer: LicenceIssuer {
                id: s.issuer.id,
                name: s.issuer.name,
                uscc: s.issuer.uscc,
            },
            status: status.as_str(),
            status_code: status.code(),
            holder: s.holder_name.map(|name| ShownHolder { name }),
            valid_from: s.valid_from,
            valid_to: s.valid_to,
        }
    }
}

/// Check a presentation token (扫码核验): anyone may, without an API key (the per-peer rate limit of the anonymous routes applies, 429 `rate_limited`); a client with an API key may name its `inspector`, and with scope `inspect` sees the whole licence of a `full` code. The code's signature is checked against the vault's presentation keys, its expiry with a 10 s leeway, the required `type`, and the licence's status as stored at this moment (a revocation shows at once; `Cache-Control: no-store`). Every check of a genuine code is recorded (who, when, which licence, verdict) before it is answered. A code that is not genuine is `INVALID` with nothing more, so that nothing can be learnt by guessing.
#[utoipa::path(post, path = "/v1/presentations/verify", tag = "presentations", request_body = VerifyPresentationRequest,
    responses((status = 200, body = PresentationVerdict, headers(("Cache-Control" = String, description = "no-store"))),
        (status = 400, body = ErrorBody, description = "`inspector` without an API key, or not 1–64 characters"),
        (status = 401, body = ErrorBody, description = "an `Authorization` header whose API key is not valid (a caller without one is anonymous)")))]
async fn verify_presentation(
    State(vault): State<Vault>,
    caller: Caller,
    ApiJson(req): ApiJson<VerifyPresentationRequest>,
) -> Result<Response, Error> {
    if let Some(i) = &req.inspector {
        let n = i.chars().count();
        if !(1..=64).contains(&n) || i.chars().any(char::is_control) {
            return Err(Error::InvalidRequest(
                "`inspector` must be 1–64 characters without control characters".into(),
            ));
        }
    }
    let checker = match (&caller, &req.inspector) {
        (Caller::Client(c), inspector) => Checker::Client(c, inspector.as_deref()),
        (Caller::Anonymous, None) => Checker::Anonymous,
        (Caller::Anonymous, Some(_)) => {
            return Err(Error::InvalidRequest(
                "`inspector` is for clients with an API key".into(),
            ));
        }
    };
    let check = vault
        .verify_presentation_with(
            checker,
            &req.token,
            req.type_code.as_deref(),
            req.challenge.as_deref(),
            now_ms(),
        )
        .await?;
    Ok(no_store(
        Json(PresentationVerdict::of(check, req.challenge.is_some())?).into_response(),
    ))
}

/// The trust list of presentation keys (no auth; cacheable, with `ETag`): for every issuer its presentation keys (`kid`, `alg`, SubjectPublicKeyInfo, the window each signed tokens in) and its status list key, and the licence types' names. With it and the status lists (`GET /v1/status-lists/{id}`) a token is checked offline (`sidian present verify`); format `sidian-presentation-trust/1` in `schemas/presentation-token.md`.
#[utoipa::path(get, path = "/v1/presentations/trust", tag = "presentations",
    responses((status = 200, body = Object, description = "the trust list",
            headers(("ETag" = String), ("Cache-Control" = String, description = "public, max-age=300"))),
        (status = 304, description = "not modified")))]
async fn presentation_trust(
    State(vault): State<Vault>,
    headers: HeaderMap,
) -> Result<Response, Error> {
    let t = vault.presentation_trust().await?;
    cacheable(
        &headers,
        &t.etag,
        TRUST_MAX_AGE_S,
        "application/json",
        t.json.clone(),
    )
}

/// A client, as a list of checks names it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct UseClient {
    /// Client id.
    id: String,
    /// Its name.
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
}

/// One use of the licence: an inspection of its presentation token, or a department's 用证.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct UseItem {
    /// When (RFC 3339).
    at: String,
    /// `inspection` (a presentation token checked, 亮证) or `use` (a department's 用证).
    kind: &'static str,
    /// For `use`: `query`, `verify` or `fetch`.
    #[serde(skip_serializing_if = "Option::is_none")]
    operation: Option<String>,
    /// The client that checked or used it; absent for an anonymous check.
    #[serde(skip_serializing_if = "Option::is_none")]
    client: Option<UseClient>,
    /// For `use`: the department (its client).
    #[serde(skip_serializing_if = "Option::is_none")]
    department: Option<UseClient>,
    /// For `use`: the department's 用证事由.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    /// For `use`: the approval case number it gave.
    #[serde(skip_serializing_if = "Option::is_none")]
    case_number: Option<String>,
    /// For `use`: the holder's grant it used (`GET /v1/licences/{id}/grants`).
    #[serde(skip_serializing_if = "Option::is_none")]
    grant_id: Option<String>,
    /// The inspector the client named.
    #[serde(skip_serializing_if = "Option::is_none")]
    inspector: Option<String>,
    /// The verdict given (for `use`: the licence's status then, upper case).
    verdict: String,
    /// `minimal` (what the code shows, or no face data), or `full` (the whole licence, to an inspector, or its file, to a department).
    view: String,
    /// When the check gave a challenge: `answered` or `not_answered` by the licence's device.
    #[serde(skip_serializing_if = "Option::is_none")]
    device: Option<String>,
}

impl UseItem {
    fn of(u: crate::store::UseRow) -> Self {
        let client = u.client_id.map(|id| UseClient {
            id,
            name: u.client_name,
        });
        let inspection = u.kind == "inspection";
        let (department, operation) = if inspection {
            (None, None)
        } else {
            (client.clone(), Some(u.kind))
        };
        Self {
            at: rfc3339(u.at),
            kind: if inspection { "inspection" } else { "use" },
            operation,
            client,
            department,
            reason: u.reason,
            case_number: u.case_number,
            grant_id: u.grant_id,
            inspector: u.inspector,
            verdict: u.verdict,
            view: u.view,
            device: u.device,
        }
    }
}

/// A page of uses.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct UseList {
    /// Oldest first.
    items: Vec<UseItem>,
    /// The `cursor` of the next page; null on the last page.
    next_cursor: Option<String>,
}

/// The uses of a licence, oldest first, a page at a time: the checks of its presentation tokens (who: a client and the inspector it named, or anonymous; when, the verdict and what was shown) and departments' 用证 (`kind` `use`: the operation, the department, its reason and its case number or the holder's grant). For the client that issued the licence, a client with scope `present` bound to its issuer, and `admin`; another is 404.
#[utoipa::path(get, path = "/v1/licences/{id}/uses", tag = "presentations", security(("bearer" = [])),
    params(("id" = String, Path, description = "证照标识"), PageQuery),
    responses((status = 200, body = UseList), (status = 404, body = ErrorBody)))]
async fn licence_uses(
    State(vault): State<Vault>,
    client: AuthClient,
    ApiPath(id): ApiPath<String>,
    page: Page,
) -> Result<Json<UseList>, Error> {
    uses_of(&vault, &client, &id, page).await
}

/// A page of licence `id`'s checks for `client` (the `/v1` route and the wallet's).
pub(crate) async fn uses_of(
    vault: &Vault,
    client: &AuthClient,
    id: &str,
    page: Page,
) -> Result<Json<UseList>, Error> {
    let rows = vault
        .licence_uses(client, id, page.after(), page.fetch())
        .await?;
    let (rows, next_cursor) = page.finish(rows, |u| (u.at, u.id.as_str()));
    Ok(Json(UseList {
        items: rows.into_iter().map(UseItem::of).collect(),
        next_cursor,
    }))
}
