//! The JSON routes of the demo wallet page (`/wallet/api/…`, `serve --demo-wallet` only; 404
//! otherwise): a holder's session, their licences, presentations, uses, device keys and
//! challenge answers. Every call must carry `X-Sidian-Wallet: 1` (a cross-site form or image
//! cannot; with `SameSite=Strict` on the cookie this is the CSRF defence) and, but the login,
//! the session cookie, which makes the vault act as an internal `present` client restricted to
//! the holder's licences (`AuthClient::wallet`); the vault enforces the restriction, so a
//! request naming another holder's licence is 404 whatever it says.
//!
//! These routes serve the page and are not part of the `/v1` API or its OpenAPI document.

use axum::extract::{FromRequestParts, State};
use axum::http::{HeaderValue, StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::devices::{AnswerRequest, DeviceRequest, answered, device_registered};
use super::grants::{GrantRequest, granted, grants_of, withdrawn};
use super::page::Page;
use super::presentations::{PresentRequest, no_store, presented, uses_of};
use super::{ApiJson, ApiPath, rfc3339};
use crate::error::Error;
use crate::vault::{SESSION_TTL_MS, Vault, WalletSession};

/// The session cookie's name.
pub(crate) const COOKIE: &str = "sidian_wallet";

/// The header every wallet call carries.
pub(crate) const WALLET_HEADER: &str = "x-sidian-wallet";

pub(crate) fn router() -> Router<Vault> {
    Router::new()
        .route(
            "/wallet/api/session",
            post(login).get(current).delete(logout),
        )
        .route("/wallet/api/licences", get(licences))
        .route(
            "/wallet/api/licences/{id}/presentations",
            post(present_licence),
        )
        .route("/wallet/api/licences/{id}/uses", get(licence_uses))
        .route("/wallet/api/licences/{id}/devices", post(register_device))
        .route("/wallet/api/licences/{id}/answer", post(answer))
        .route(
            "/wallet/api/licences/{id}/grants",
            post(grant_licence).get(licence_grants),
        )
        .route(
            "/wallet/api/licences/{id}/grants/{gid}/withdraw",
            post(withdraw_grant),
        )
}

/// A wallet call: the demo wallet is on (404 otherwise, as if the route did not exist) and the
/// request carries `X-Sidian-Wallet: 1` (403 `wallet_header_required` otherwise).
struct WalletCall;

impl FromRequestParts<Vault> for WalletCall {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, vault: &Vault) -> Result<Self, Error> {
        if !vault.config().demo_wallet {
            return Err(Error::NotFound("route"));
        }
        match parts.headers.get(WALLET_HEADER) {
            Some(v) if v.as_bytes() == b"1" => Ok(WalletCall),
            _ => Err(Error::WalletHeader),
        }
    }
}

/// A wallet call with a live session (401 `no_session` otherwise).
struct Session(WalletSession);

impl FromRequestParts<Vault> for Session {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, vault: &Vault) -> Result<Self, Error> {
        WalletCall::from_request_parts(parts, vault).await?;
        let sealed = cookie(parts).ok_or(Error::NoSession)?;
        vault.wallet_session(&sealed).map(Session)
    }
}

/// The session cookie's value, if the request has one.
fn cookie(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_owned())
}

/// The `Set-Cookie` of a session (`value` empty and `max_age` 0 clears it). `Secure` when the
/// vault's public URL is https (a browser keeps no Secure cookie from plain http but localhost).
fn set_cookie(vault: &Vault, value: &str, max_age_s: i64) -> Result<HeaderValue, Error> {
    let secure = vault
        .config()
        .public_url
        .as_deref()
        .is_some_and(|u| u.starts_with("https://"));
    HeaderValue::from_str(&format!(
        "{COOKIE}={value}; Path=/wallet; HttpOnly; SameSite=Strict; Max-Age={max_age_s}{}",
        if secure { "; Secure" } else { "" }
    ))
    .map_err(|_| Error::Corrupt("a session cookie that is not a header value".into()))
}

/// Demo login: the holder's code and name.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginRequest {
    /// 持证主体代码, as the holder's licences store it.
    holder_code: String,
    /// 持证主体.
    holder_name: String,
}

/// The session as the page sees it.
#[derive(Debug, Serialize)]
struct SessionResponse {
    /// 持证主体.
    holder_name: String,
    /// When the session ends (RFC 3339).
    expires_at: String,
    /// Always true: the login is the demo's, not the province's.
    demo: bool,
}

impl SessionResponse {
    fn of(s: &WalletSession) -> Self {
        Self {
            holder_name: s.holder_name.clone(),
            expires_at: rfc3339(s.expires_at),
            demo: true,
        }
    }
}

/// Opens a session (anonymous: the per-peer rate limit applies).
async fn login(
    State(vault): State<Vault>,
    _: WalletCall,
    _: Limited,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Response, Error> {
    let (sealed, session) = vault
        .wallet_login(&req.holder_code, &req.holder_name)
        .await?;
    let mut response =
        no_store((StatusCode::CREATED, Json(SessionResponse::of(&session))).into_response());
    response.headers_mut().insert(
        header::SET_COOKIE,
        set_cookie(&vault, &sealed, SESSION_TTL_MS / 1000)?,
    );
    Ok(response)
}

/// Charges the per-peer bucket of anonymous callers (429 `rate_limited`).
struct Limited;

impl FromRequestParts<Vault> for Limited {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &Vault) -> Result<Self, Error> {
        super::limits::charge_anonymous(parts)?;
        Ok(Limited)
    }
}

async fn current(Session(s): Session) -> Response {
    no_store(Json(SessionResponse::of(&s)).into_response())
}

/// Ends the session: the cookie is cleared (it is sealed, not stored, so nothing else to do).
async fn logout(State(vault): State<Vault>, _: WalletCall) -> Result<Response, Error> {
    let mut response = StatusCode::NO_CONTENT.into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, set_cookie(&vault, "", 0)?);
    Ok(response)
}

/// A licence as the wallet lists it.
#[derive(Debug, Serialize)]
struct WalletLicence {
    id: String,
    #[serde(rename = "type")]
    type_code: String,
    type_name: Option<String>,
    number_masked: String,
    status: &'static str,
    status_code: &'static str,
    valid_from: String,
    valid_to: String,
}

#[derive(Debug, Serialize)]
struct WalletLicences {
    items: Vec<WalletLicence>,
}

async fn licences(State(vault): State<Vault>, Session(s): Session) -> Result<Response, Error> {
    let items = vault
        .holder_licences(&s)
        .await?
        .into_iter()
        .map(|l| WalletLicence {
            id: l.id,
            type_code: l.type_code,
            type_name: l.type_name,
            number_masked: l.number_masked,
            status: l.status.as_str(),
            status_code: l.status.code(),
            valid_from: l.valid_from,
            valid_to: l.valid_to,
        })
        .collect();
    Ok(no_store(Json(WalletLicences { items }).into_response()))
}

async fn present_licence(
    State(vault): State<Vault>,
    Session(s): Session,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<PresentRequest>,
) -> Result<Response, Error> {
    presented(&vault, &s.client(), &id, &req).await
}

async fn licence_uses(
    State(vault): State<Vault>,
    Session(s): Session,
    ApiPath(id): ApiPath<String>,
    page: Page,
) -> Result<Response, Error> {
    Ok(no_store(
        uses_of(&vault, &s.client(), &id, page)
            .await?
            .into_response(),
    ))
}

async fn register_device(
    State(vault): State<Vault>,
    Session(s): Session,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<DeviceRequest>,
) -> Result<Response, Error> {
    device_registered(&vault, &s.client(), &id, &req).await
}

/// The page's answer to a challenge: the licence is the path's.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WalletAnswer {
    challenge: String,
    key_id: String,
    signature: String,
}

async fn answer(
    State(vault): State<Vault>,
    Session(s): Session,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<WalletAnswer>,
) -> Result<Response, Error> {
    let r = AnswerRequest::new(id, req.key_id, req.signature);
    Ok(answered(&vault, &s.client(), &req.challenge, &r)
        .await?
        .into_response())
}

async fn grant_licence(
    State(vault): State<Vault>,
    Session(s): Session,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<GrantRequest>,
) -> Result<Response, Error> {
    granted(&vault, &s.client(), &id, req).await
}

async fn licence_grants(
    State(vault): State<Vault>,
    Session(s): Session,
    ApiPath(id): ApiPath<String>,
    page: Page,
) -> Result<Response, Error> {
    Ok(no_store(
        grants_of(&vault, &s.client(), &id, page)
            .await?
            .into_response(),
    ))
}

async fn withdraw_grant(
    State(vault): State<Vault>,
    Session(s): Session,
    ApiPath((id, gid)): ApiPath<(String, String)>,
) -> Result<Response, Error> {
    Ok(no_store(
        withdrawn(&vault, &s.client(), &id, &gid)
            .await?
            .into_response(),
    ))
}
