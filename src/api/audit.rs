//! `/v1/audit`: the signed checkpoint (public) and inclusion proofs of entries.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use utoipa::ToSchema;

use super::{ApiPath, ErrorBody, rfc3339, to_b64};
use crate::audit::{CHECKPOINT_ALG, Checkpoint};
use crate::error::Error;
use crate::vault::{AuthClient, Vault};

/// The routes that need an API key.
pub(super) fn router() -> Router<Vault> {
    Router::new().route("/v1/audit/entries/{index}/proof", get(proof))
}

/// The anonymous routes (behind the per-peer rate limit).
pub(super) fn public_router() -> Router<Vault> {
    Router::new().route("/v1/audit/checkpoint", get(checkpoint))
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
    /// The signed text: origin, size, base64 root, milliseconds, one per line.
    note: String,
    /// Signature scheme (`sm2-sm3`, default user ID).
    alg: String,
    /// The audit key id.
    key_id: String,
    /// DER signature over `note`, base64.
    signature: String,
    /// The audit public key (PEM).
    public_key_pem: String,
}

fn checkpoint_response(
    cp: Checkpoint,
    public_key_pem: String,
) -> Result<CheckpointResponse, Error> {
    let root = cp
        .root()
        .ok_or_else(|| Error::Corrupt("stored checkpoint note is malformed".into()))?;
    Ok(CheckpointResponse {
        size: cp.size,
        root_hash: to_b64(&root),
        timestamp: rfc3339(cp.at_ms),
        note: cp.note,
        alg: CHECKPOINT_ALG.as_str().to_owned(),
        key_id: cp.key_id,
        signature: to_b64(&cp.signature),
        public_key_pem,
    })
}

/// The newest signed checkpoint (public: anyone may hold the log to it).
#[utoipa::path(get, path = "/v1/audit/checkpoint", tag = "audit",
    responses((status = 200, body = CheckpointResponse)))]
async fn checkpoint(State(vault): State<Vault>) -> Result<Json<CheckpointResponse>, Error> {
    let (cp, key) = vault.latest_checkpoint().await?;
    Ok(Json(checkpoint_response(cp, key.to_pem())?))
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
        checkpoint: checkpoint_response(p.checkpoint, key.to_pem())?,
    }))
}
