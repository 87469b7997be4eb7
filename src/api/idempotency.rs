//! `Idempotency-Key` on the creating calls (as Stripe and the IETF httpapi draft define it): the
//! same key with the same request within 24 h replays the first answer byte for byte, with
//! `Idempotent-Replayed: true`; the same key with another request is 422 `idempotency_mismatch`;
//! a duplicate that arrives while the first still runs waits for it and replays its answer.
//!
//! Keys are per client. Only successful answers are kept: a failed creation releases the key, so
//! the request may be retried under it. Answers are stored whole (a stamped PDF too, up to the
//! 32 MiB upload limit), since recomputing them would not give the same bytes.

use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use super::{json_body, json_object};
use crate::error::Error;
use crate::store::StoredResponse;
use crate::vault::{AuthClient, Idempotency, IdempotentRequest, Vault};

/// The request header.
pub(crate) const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// The response header on a replayed answer.
const REPLAYED: &str = "idempotent-replayed";

/// Longest key accepted.
const MAX_KEY: usize = 255;

/// The `Idempotency-Key` of a request (if any) and what identifies the request besides its body.
pub(crate) struct IdempotencyKey {
    key: Option<String>,
    /// Method, path and query, each followed by a NUL.
    target: Vec<u8>,
}

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Error> {
        let key = match parts.headers.get(IDEMPOTENCY_KEY) {
            None => None,
            Some(value) => Some(valid_key(value.as_bytes())?),
        };
        let mut target = Vec::new();
        for part in [
            parts.method.as_str(),
            parts.uri.path(),
            parts.uri.query().unwrap_or(""),
        ] {
            target.extend_from_slice(part.as_bytes());
            target.push(0);
        }
        Ok(Self { key, target })
    }
}

/// A key of 1–255 visible ASCII characters.
fn valid_key(value: &[u8]) -> Result<String, Error> {
    if value.is_empty() || value.len() > MAX_KEY || !value.iter().all(u8::is_ascii_graphic) {
        return Err(Error::InvalidRequest(format!(
            "Idempotency-Key must be 1 to {MAX_KEY} visible ASCII characters"
        )));
    }
    // Invariant: every byte is ASCII, checked above.
    Ok(value.iter().map(|&b| char::from(b)).collect())
}

/// A JSON object body (as [`super::ApiJson`]) with the SHA-256 of its bytes, for the fingerprint.
pub(crate) struct HashedJson<T> {
    /// The parsed body.
    pub(crate) value: T,
    /// SHA-256 of the body as received.
    pub(crate) sha256: [u8; 32],
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for HashedJson<T> {
    type Rejection = Error;

    async fn from_request(req: Request, _: &S) -> Result<Self, Error> {
        let bytes = json_body(req).await?;
        Ok(Self {
            value: json_object(&bytes)?,
            sha256: Sha256::digest(&bytes).into(),
        })
    }
}

impl IdempotencyKey {
    /// Refuses a request without a key, for the creations that must never run twice.
    pub(crate) fn require(&self) -> Result<(), Error> {
        match self.key {
            Some(_) => Ok(()),
            None => Err(Error::InvalidRequest(
                "this request needs an Idempotency-Key header".into(),
            )),
        }
    }

    /// The key with the request's fingerprint (method, path, query and the body's SHA-256).
    pub(crate) fn request(&self, body_sha256: &[u8; 32]) -> Option<IdempotentRequest> {
        let key = self.key.clone()?;
        let mut h = Sha256::new();
        h.update(&self.target);
        h.update(body_sha256);
        Some(IdempotentRequest {
            key,
            fingerprint: h.finalize().into(),
        })
    }

    /// Answers the request: `create` runs unless the same request under the same key was
    /// answered before (then that answer is replayed). With a key, `create` runs in a task of
    /// its own, so that a caller who disconnects cannot leave the key reserved and unanswered.
    pub(crate) async fn answer<F>(
        self,
        vault: &Vault,
        client: &AuthClient,
        body_sha256: &[u8; 32],
        create: F,
    ) -> Result<Response, Error>
    where
        F: Future<Output = Result<Response, Error>> + Send + 'static,
    {
        let Some(req) = self.request(body_sha256) else {
            return create.await;
        };
        let reserved_at = match vault.begin_idempotent(client, &req).await? {
            Idempotency::Replay(stored) => return Ok(stored_response(stored, true)),
            Idempotency::Proceed(at) => at,
        };
        let (vault, client) = (vault.clone(), client.clone());
        let task = tokio::spawn(async move {
            let answer = create.await;
            settle(&vault, &client, &req.key, reserved_at, answer).await
        });
        // A creation that panicked released nothing: its key stays pending until abandoned.
        task.await.map_err(|_| Error::Unavailable)?
    }
}

/// Stores a successful answer under its key, or releases the key after a failure.
async fn settle(
    vault: &Vault,
    client: &AuthClient,
    key: &str,
    reserved_at: i64,
    answer: Result<Response, Error>,
) -> Result<Response, Error> {
    let response = match answer {
        Ok(r) if r.status().is_success() => r,
        other => {
            if let Err(e) = vault.release_idempotent(client, key, reserved_at).await {
                tracing::error!(error = %e, "idempotency key not released");
            }
            return other;
        }
    };
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .map_err(|_| Error::Unavailable)?;
    let stored = stored(&parts.headers, parts.status, bytes.to_vec());
    // The object exists: its answer goes out even if it cannot be stored (the key then stays
    // pending, and duplicates are refused with 409, until abandoned).
    if let Err(e) = vault
        .complete_idempotent(client, key, reserved_at, &stored)
        .await
    {
        tracing::error!(error = %e, "idempotent answer not stored");
    }
    Ok(Response::from_parts(parts, Body::from(bytes)))
}

/// An answer as kept for replay: its status, the headers that are part of it, its body.
pub(crate) fn stored(headers: &HeaderMap, status: StatusCode, body: Vec<u8>) -> StoredResponse {
    StoredResponse {
        status: status.as_u16(),
        headers: headers
            .iter()
            .filter(|(name, _)| kept(name))
            .filter_map(|(name, v)| Some((name.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect(),
        body,
    }
}

/// The headers that are part of an answer: its type and the `x-sidian-*` facts.
fn kept(name: &HeaderName) -> bool {
    *name == header::CONTENT_TYPE || name.as_str().starts_with("x-sidian-")
}

/// A stored answer as first sent, marked when it is a replay.
pub(crate) fn stored_response(stored: StoredResponse, replayed: bool) -> Response {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let mut response = (status, stored.body).into_response();
    let h = response.headers_mut();
    // The stored headers as first sent, the content type included (not the one given here).
    h.remove(header::CONTENT_TYPE);
    for (name, value) in stored.headers {
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            h.append(name, value);
        }
    }
    if replayed {
        h.insert(REPLAYED, HeaderValue::from_static("true"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_one_to_255_visible_ascii_characters() {
        assert!(valid_key(b"a").is_ok());
        assert!(valid_key(&[b'~'; 255]).is_ok());
        for bad in [
            &b""[..],
            &[b'a'; 256],
            b"with space",
            b"tab\t",
            "键".as_bytes(),
        ] {
            assert!(valid_key(bad).is_err(), "{bad:?}");
        }
    }
}
