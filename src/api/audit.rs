//! `/v1/audit`: the signed checkpoint and consistency proofs between published sizes (public,
//! so that anyone can witness the log), and inclusion proofs of entries.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{ApiPath, ErrorBody, rfc3339, to_b64};
use crate::audit::{CHECKPOINT_ALG, Checkpoint};
use crate::crypto::PublicKey;
use crate::error::Error;
use crate::vault::{AuthClient, Vault};

/// The routes that need an API key.
pub(super) fn router() -> Router<Vault> {
    Router::new().route("/v1/audit/entries/{index}/proof", get(proof))
}

/// The anonymous routes (behind the per-peer rate limit).
pub(super) fn public_router() -> Router<Vault> {
    Router::new()
        .route("/v1/audit/checkpoint", get(checkpoint))
        .route("/v1/audit/consistency", get(consistency))
}

/// A signed tree head of the audit log.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CheckpointResponse {
    /// Entries covered.
    size: u64,
    /// RFC 6962 root hash (SHA-256), base64.
    root_hash: String,
    /// When it was signed (RFC 3339).
    timestamp: String,
    /// The signed text (a C2SP checkpoint): origin, size, base64 root, milliseconds, one per line.
    note: String,
    /// The C2SP signed note: `note`, a blank line, and the line `— <origin> <base64(key ID ‖
    /// signature)>` (key ID: SHA-256(origin ‖ 0x0A ‖ 0xff ‖ "sm2-sm3-der" ‖ SPKI DER)[:4]).
    signed_note: String,
    /// Signature scheme (`sm2-sm3`, default user ID).
    alg: String,
    /// The audit key id.
    key_id: String,
    /// DER signature over `note`, base64.
    signature: String,
    /// The audit public key (PEM).
    public_key_pem: String,
}

fn malformed() -> Error {
    Error::Corrupt("stored checkpoint note is malformed".into())
}

fn checkpoint_response(cp: Checkpoint, key: &PublicKey) -> Result<CheckpointResponse, Error> {
    let root = cp.root().ok_or_else(malformed)?;
    let signed_note = cp.signed_note(key).ok_or_else(malformed)?;
    Ok(CheckpointResponse {
        size: cp.size,
        root_hash: to_b64(&root),
        timestamp: rfc3339(cp.at_ms),
        note: cp.note,
        signed_note,
        alg: CHECKPOINT_ALG.as_str().to_owned(),
        key_id: cp.key_id,
        signature: to_b64(&cp.signature),
        public_key_pem: key.to_pem(),
    })
}

/// The newest signed checkpoint (public: anyone may hold the log to it); `Accept: text/plain`
/// gives the C2SP signed note alone.
#[utoipa::path(get, path = "/v1/audit/checkpoint", tag = "audit",
    responses((status = 200, description = "The checkpoint (JSON by default, the signed note on `Accept: text/plain`)",
        content((CheckpointResponse = "application/json"), (String = "text/plain")))))]
async fn checkpoint(State(vault): State<Vault>, headers: HeaderMap) -> Result<Response, Error> {
    let (cp, key) = vault.latest_checkpoint().await?;
    let body = checkpoint_response(cp, &key)?;
    let wants_note = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/plain"));
    Ok(if wants_note {
        (
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            body.signed_note,
        )
            .into_response()
    } else {
        Json(body).into_response()
    })
}

/// The two tree sizes of a consistency proof.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ConsistencyQuery {
    /// The older tree size.
    from: u64,
    /// The newer tree size (at most the log's size).
    to: u64,
}

/// A proof that the log's first `to` entries extend its first `from`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ConsistencyResponse {
    /// The older tree size.
    from: u64,
    /// The newer tree size.
    to: u64,
    /// RFC 6962 §2.1.2 consistency proof, base64 hashes (empty when `from` is 0 or equals `to`).
    proof: Vec<String>,
}

/// Consistency proof between two sizes of the log (public, like the checkpoints it links): what
/// a witness checks before it accepts a newer checkpoint.
#[utoipa::path(get, path = "/v1/audit/consistency", tag = "audit", params(ConsistencyQuery),
    responses((status = 200, body = ConsistencyResponse), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn consistency(
    State(vault): State<Vault>,
    query: Result<Query<ConsistencyQuery>, QueryRejection>,
) -> Result<Json<ConsistencyResponse>, Error> {
    let Query(q) = query.map_err(|e| Error::InvalidRequest(e.body_text()))?;
    let proof = vault.consistency_proof(q.from, q.to).await?;
    Ok(Json(ConsistencyResponse {
        from: q.from,
        to: q.to,
        proof: proof.iter().map(|h| to_b64(h)).collect(),
    }))
}

/// An entry and the proof that it is in the signed log.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ProofResponse {
    /// The entry's index.
    index: u64,
    /// The canonical record (JSON text) whose leaf hash is proven.
    record: String,
    /// SHA-256(0x00 ‖ record), base64.
    leaf_hash: String,
    /// Size of the tree the proof is for.
    tree_size: u64,
    /// RFC 6962 audit path, leaf to root, base64.
    audit_path: Vec<String>,
    /// The signed checkpoint for `tree_size`.
    checkpoint: CheckpointResponse,
}

/// Inclusion proof of an audit entry: your own entries, or any with the `audit` scope.
#[utoipa::path(get, path = "/v1/audit/entries/{index}/proof", tag = "audit", security(("bearer" = [])),
    params(("index" = u64, Path, description = "entry index")),
    responses((status = 200, body = ProofResponse), (status = 404, body = ErrorBody)))]
async fn proof(
    State(vault): State<Vault>,
    client: AuthClient,
    ApiPath(index): ApiPath<u64>,
) -> Result<Json<ProofResponse>, Error> {
    let (_, key) = vault.latest_checkpoint().await?;
    let p = vault.inclusion_proof(&client, index).await?;
    Ok(Json(ProofResponse {
        index,
        record: String::from_utf8_lossy(&p.entry.record).into_owned(),
        leaf_hash: to_b64(&p.entry.leaf_hash),
        tree_size: p.checkpoint.size,
        audit_path: p.audit_path.iter().map(|h| to_b64(h)).collect(),
        checkpoint: checkpoint_response(p.checkpoint, &key)?,
    }))
}
