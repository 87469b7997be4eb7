//! `/v1/keys`: create, read, disable and sign with a client's own keys.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::idempotency::{HashedJson, IdempotencyKey};
use super::page::{Page, PageQuery};
use super::{ApiJson, ApiPath, ErrorBody, b64, rfc3339, to_b64};
use crate::crypto::{KeyType, SignatureAlgorithm};
use crate::error::Error;
use crate::vault::{AuthClient, KeyInfo, SignInput, Vault};

pub(super) fn router() -> Router<Vault> {
    Router::new()
        .route("/v1/keys", post(create_key).get(list_keys))
        .route("/v1/keys/{id}", get(get_key))
        .route("/v1/keys/{id}/disable", post(disable_key))
        .route("/v1/keys/{id}/rotate", post(rotate_key))
        .route("/v1/keys/{id}/sign", post(sign))
}

/// Request to generate a key.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateKeyRequest {
    /// Key type: `sm2` (default), `p256`, `ed25519`, `rsa2048` or `rsa3072`.
    #[serde(default)]
    #[schema(schema_with = super::openapi::key_type_name)]
    alg: Option<String>,
}

/// A key as its owner sees it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct KeyResponse {
    /// Key id.
    id: String,
    /// Key type.
    alg: String,
    /// `active` or `disabled`.
    status: String,
    /// Public key (SubjectPublicKeyInfo PEM).
    public_key_pem: String,
    /// Signature algorithms this key can make.
    signature_algs: Vec<String>,
    /// Creation time (RFC 3339).
    created_at: String,
    /// After a rotation: the key this one replaces.
    #[serde(skip_serializing_if = "Option::is_none")]
    replaces: Option<String>,
}

impl From<KeyInfo> for KeyResponse {
    fn from(k: KeyInfo) -> Self {
        Self {
            id: k.id,
            alg: k.key_type.as_str().to_owned(),
            status: k.status,
            public_key_pem: k.public_key_pem,
            signature_algs: k
                .key_type
                .signature_algorithms()
                .iter()
                .map(|a| a.as_str().to_owned())
                .collect(),
            created_at: rfc3339(k.created_at),
            replaces: None,
        }
    }
}

/// Generate a key in the vault; the private key never leaves it. With an `Idempotency-Key`, a repeated request (same key, same body, within 24 h) creates nothing and replays the first answer with `Idempotent-Replayed: true`.
#[utoipa::path(post, path = "/v1/keys", tag = "keys", request_body = CreateKeyRequest,
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "1–255 visible ASCII characters; a retry with the same key and body replays the first answer")),
    responses((status = 201, body = KeyResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "idempotency_in_progress"),
        (status = 422, body = ErrorBody, description = "idempotency_mismatch")))]
async fn create_key(
    State(vault): State<Vault>,
    client: AuthClient,
    idempotency: IdempotencyKey,
    req: HashedJson<CreateKeyRequest>,
) -> Result<Response, Error> {
    client.require("keys")?;
    let key_type = match req.value.alg.as_deref() {
        None => KeyType::Sm2,
        Some(name) => name.parse::<KeyType>()?,
    };
    let (v, c) = (vault.clone(), client.clone());
    idempotency
        .answer(&vault, &client, &req.sha256, async move {
            let info = v.create_key(&c, key_type).await?;
            Ok((StatusCode::CREATED, Json(KeyResponse::from(info))).into_response())
        })
        .await
}

/// A page of keys.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct KeyList {
    /// Keys in creation order.
    items: Vec<KeyResponse>,
    /// The `cursor` of the next page; null on the last page.
    next_cursor: Option<String>,
}

/// List your general keys (active and disabled), oldest first, a page at a time.
#[utoipa::path(get, path = "/v1/keys", tag = "keys", security(("bearer" = [])),
    params(PageQuery),
    responses((status = 200, body = KeyList), (status = 400, body = ErrorBody)))]
async fn list_keys(
    State(vault): State<Vault>,
    client: AuthClient,
    page: Page,
) -> Result<Json<KeyList>, Error> {
    client.require("keys")?;
    let rows = vault.keys(&client, page.after(), page.fetch()).await?;
    let (rows, next_cursor) = page.finish(rows, |k| (k.created_at, k.id.as_str()));
    Ok(Json(KeyList {
        items: rows.into_iter().map(KeyResponse::from).collect(),
        next_cursor,
    }))
}

/// Read one of your keys.
#[utoipa::path(get, path = "/v1/keys/{id}", tag = "keys", security(("bearer" = [])),
    params(("id" = String, Path, description = "key id")),
    responses((status = 200, body = KeyResponse), (status = 404, body = ErrorBody)))]
async fn get_key(
    State(vault): State<Vault>,
    client: AuthClient,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<KeyResponse>, Error> {
    client.require("keys")?;
    Ok(Json(vault.key(&client, &id).await?.into()))
}

/// Disable one of your keys: it still verifies, it never signs again.
#[utoipa::path(post, path = "/v1/keys/{id}/disable", tag = "keys", security(("bearer" = [])),
    params(("id" = String, Path, description = "key id")),
    responses((status = 200, body = KeyResponse), (status = 404, body = ErrorBody)))]
async fn disable_key(
    State(vault): State<Vault>,
    client: AuthClient,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<KeyResponse>, Error> {
    client.require("keys")?;
    Ok(Json(vault.disable_key(&client, &id).await?.into()))
}

/// Replace one of your keys with a new key of the same type; the old one is disabled but still verifies.
#[utoipa::path(post, path = "/v1/keys/{id}/rotate", tag = "keys", security(("bearer" = [])),
    params(("id" = String, Path, description = "key id")),
    responses((status = 201, body = KeyResponse), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn rotate_key(
    State(vault): State<Vault>,
    client: AuthClient,
    ApiPath(id): ApiPath<String>,
) -> Result<(StatusCode, Json<KeyResponse>), Error> {
    client.require("keys")?;
    let mut resp = KeyResponse::from(vault.rotate_key(&client, &id).await?);
    resp.replaces = Some(id);
    Ok((StatusCode::CREATED, Json(resp)))
}

/// Request to sign: exactly one of `data` and `digest`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SignRequest {
    /// The message, base64.
    #[serde(default)]
    data: Option<String>,
    /// The digest, base64: SM2 e = SM3(Z_A ‖ M); ECDSA/RSA SHA-256(M); not for Ed25519.
    #[serde(default)]
    digest: Option<String>,
    /// Signature scheme; defaults to the key's (`rsa-pkcs1-sha256` for RSA, or `rsa-pss-sha256`).
    #[serde(default)]
    #[schema(schema_with = super::openapi::signature_alg_name)]
    signature_alg: Option<String>,
}

/// A signature and where the audit log records it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SignResponse {
    /// Base64 signature: DER for SM2 and ECDSA, raw for Ed25519 and RSA.
    signature: String,
    /// The key type.
    alg: String,
    /// The signature scheme used.
    signature_alg: String,
    /// The key that signed.
    key_id: String,
    /// Index of the audit entry recording this signature.
    audit_index: u64,
}

/// Sign with one of your keys; every signature is recorded in the audit log before it is returned.
#[utoipa::path(post, path = "/v1/keys/{id}/sign", tag = "keys", operation_id = "sign_with_key", request_body = SignRequest, security(("bearer" = [])),
    params(("id" = String, Path, description = "key id")),
    responses((status = 200, body = SignResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "key disabled"), (status = 422, body = ErrorBody)))]
async fn sign(
    State(vault): State<Vault>,
    client: AuthClient,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<SignRequest>,
) -> Result<Json<SignResponse>, Error> {
    client.require("sign")?;
    let input = match (&req.data, &req.digest) {
        (Some(d), None) => SignInput::Data(b64(d, "data")?),
        (None, Some(d)) => SignInput::Digest(b64(d, "digest")?),
        _ => {
            return Err(Error::InvalidRequest(
                "give exactly one of `data` and `digest`".into(),
            ));
        }
    };
    let alg = req
        .signature_alg
        .as_deref()
        .map(str::parse::<SignatureAlgorithm>)
        .transpose()?;
    let signed = vault.sign(&client, &id, alg, &input).await?;
    Ok(Json(SignResponse {
        signature: to_b64(&signed.signature),
        alg: signed.key_type.as_str().to_owned(),
        signature_alg: signed.alg.as_str().to_owned(),
        key_id: id,
        audit_index: signed.audit_index,
    }))
}
