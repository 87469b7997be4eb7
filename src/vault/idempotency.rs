//! Idempotency keys of the creating calls: a key is reserved under the database's
//! `(client, key)` primary key before the creation runs and completed with its response after,
//! so duplicates — concurrent ones too, on any node — create one object and replay its answer.
//!
//! The reservation is a row of its own, not part of the creation's audited transaction: the
//! creations run through the ledger's group commit, which batches unrelated requests into one
//! transaction, and the response (a stamped PDF, say) is only known after that commit. A failed
//! creation releases the key; a node that dies between the creation and the completion leaves
//! the key pending until [`ABANDONED_MS`] has passed, and duplicates answer
//! 409 `idempotency_in_progress` meanwhile.

use std::time::{Duration, Instant};

use super::{AuthClient, Vault, now_ms};
use crate::error::{Error, Result};
use crate::store::{Reservation, StoredResponse};

/// How long a key and its stored response live: 24 h.
pub(crate) const RETENTION_MS: i64 = 24 * 60 * 60 * 1000;

/// A reservation still pending after this long belongs to a node that died mid-request (every
/// creation is bounded far below it, and one that fails releases its key).
const ABANDONED_MS: i64 = 15 * 60 * 1000;

/// How long a duplicate waits for the first request to finish before answering
/// 409 `idempotency_in_progress` (below the default request timeout of 30 s).
const WAIT: Duration = Duration::from_secs(25);

/// Waiting for a duplicate's first request to finish: polling, not a notification, since the
/// first request may run on another node.
pub(crate) struct Backoff {
    started: Instant,
    pause: Duration,
}

impl Backoff {
    /// A wait that starts now.
    pub(crate) fn new() -> Self {
        Self {
            started: Instant::now(),
            pause: Duration::from_millis(10),
        }
    }

    /// Sleeps a little longer each time; 409 `idempotency_in_progress` once [`WAIT`] is over.
    pub(crate) async fn pause(&mut self) -> Result<()> {
        if self.started.elapsed() + self.pause > WAIT {
            return Err(Error::IdempotencyInProgress);
        }
        tokio::time::sleep(self.pause).await;
        self.pause = (self.pause * 2).min(Duration::from_millis(250));
        Ok(())
    }
}

/// A creating request under an idempotency key.
#[derive(Debug, Clone)]
pub struct IdempotentRequest {
    /// The client's key (1–255 visible ASCII characters).
    pub key: String,
    /// SHA-256 over the method, path, query and the body's SHA-256.
    pub fingerprint: [u8; 32],
}

/// What to do with a request under an idempotency key.
#[derive(Debug)]
pub enum Idempotency {
    /// The key is reserved for this request (at the time given): create, then
    /// [`Vault::complete_idempotent`] or [`Vault::release_idempotent`].
    Proceed(i64),
    /// The same request was answered before: send this again.
    Replay(StoredResponse),
}

impl Vault {
    /// Reserves the key for this request, or finds the answer to the same request made before,
    /// waiting while another request holding the key runs.
    pub async fn begin_idempotent(
        &self,
        client: &AuthClient,
        req: &IdempotentRequest,
    ) -> Result<Idempotency> {
        let store = &self.inner.store;
        let fingerprint = self.stored_fingerprint(req)?;
        let mut wait = Backoff::new();
        loop {
            let now = now_ms();
            let reservation = store
                .reserve_idempotency(
                    &client.id,
                    &req.key,
                    &fingerprint,
                    now,
                    (now - RETENTION_MS, now - ABANDONED_MS),
                )
                .await?;
            match reservation {
                Reservation::Reserved => return Ok(Idempotency::Proceed(now)),
                Reservation::Released => continue,
                Reservation::Taken(row) if row.fingerprint != fingerprint => {
                    return Err(Error::IdempotencyMismatch);
                }
                Reservation::Taken(row) => {
                    if let Some(response) = row.response {
                        return Ok(Idempotency::Replay(response));
                    }
                }
            }
            wait.pause().await?;
        }
    }

    /// The fingerprint as stored: keyed, since the body can hold personal data (a citizen ID
    /// number), and those are few enough that a plain hash of a guessed body would confirm it.
    pub(crate) fn stored_fingerprint(&self, req: &IdempotentRequest) -> Result<[u8; 32]> {
        let key = ring::hmac::Key::new(
            ring::hmac::HMAC_SHA256,
            &self
                .inner
                .master
                .derive("sidian/v1/idempotency-fingerprint")[..],
        );
        ring::hmac::sign(&key, &req.fingerprint)
            .as_ref()
            .try_into()
            .map_err(|_| Error::Unavailable)
    }

    /// Stores the answer of the creation that reserved the key at `reserved_at`.
    pub async fn complete_idempotent(
        &self,
        client: &AuthClient,
        key: &str,
        reserved_at: i64,
        response: &StoredResponse,
    ) -> Result<()> {
        self.inner
            .store
            .complete_idempotency(&client.id, key, reserved_at, response)
            .await
    }

    /// Releases the key reserved at `reserved_at` after its creation failed.
    pub async fn release_idempotent(
        &self,
        client: &AuthClient,
        key: &str,
        reserved_at: i64,
    ) -> Result<()> {
        self.inner
            .store
            .release_idempotency(&client.id, key, reserved_at)
            .await
    }
}
