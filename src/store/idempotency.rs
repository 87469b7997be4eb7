//! Rows of the idempotency keys: a reservation under the `(client, key)` primary key, completed
//! with the response the creation gave; or, for creations that record their answer in their own
//! audited transaction (licences), a completed row written there at once.

use sqlx::Row;
use sqlx::any::AnyRow;

use std::collections::{BTreeMap, HashMap};

use super::{AuditedTx, Store, chunk_rows, placeholders, values_list};
use crate::error::{Error, Result};

/// A response kept for replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    /// HTTP status.
    pub status: u16,
    /// The headers a replay repeats, in order.
    pub headers: Vec<(String, String)>,
    /// The body, byte for byte.
    pub body: Vec<u8>,
}

/// An idempotency key already in use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRow {
    /// SHA-256 over the request it was first used with.
    pub fingerprint: Vec<u8>,
    /// When it was reserved (ms).
    pub created_at: i64,
    /// The response, once the creation finished; `None` while it runs.
    pub response: Option<StoredResponse>,
}

/// What reserving a key found.
#[derive(Debug)]
pub enum Reservation {
    /// The key is now this caller's: run the creation, then complete or release it.
    Reserved,
    /// Another request holds the key (running or done).
    Taken(IdempotencyRow),
    /// The holder released the key between our insert and our read: try again.
    Released,
}

fn idempotency_row(r: &AnyRow) -> Result<IdempotencyRow> {
    let state: String = r.try_get("state")?;
    let response = if state == "done" {
        let status: i64 = r.try_get("status")?;
        let headers: String = r.try_get("headers")?;
        Some(StoredResponse {
            status: u16::try_from(status)
                .map_err(|_| Error::Corrupt("stored idempotent status".into()))?,
            headers: serde_json::from_str(&headers)
                .map_err(|_| Error::Corrupt("stored idempotent headers".into()))?,
            body: r.try_get("body")?,
        })
    } else {
        None
    };
    Ok(IdempotencyRow {
        fingerprint: r.try_get("fingerprint")?,
        created_at: r.try_get("created_at")?,
        response,
    })
}

impl Store {
    /// Reserves `(client_id, key)` for a request at `now_ms`, unless a live row holds it. Rows
    /// reserved before `expired_before` are deleted (every client's: the cleaning rides on the
    /// reservations), and so is this key's row when left pending since before `abandoned_before`
    /// (by a node that died mid-request).
    pub async fn reserve_idempotency(
        &self,
        client_id: &str,
        key: &str,
        fingerprint: &[u8; 32],
        now_ms: i64,
        (expired_before, abandoned_before): (i64, i64),
    ) -> Result<Reservation> {
        sqlx::query(
            "DELETE FROM idempotency WHERE created_at < $3 \
             OR (client_id = $1 AND idem_key = $2 AND state = 'pending' AND created_at < $4)",
        )
        .bind(client_id)
        .bind(key)
        .bind(expired_before)
        .bind(abandoned_before)
        .execute(&self.pool)
        .await?;
        let inserted = sqlx::query(
            "INSERT INTO idempotency (client_id, idem_key, fingerprint, state, created_at) \
             VALUES ($1, $2, $3, 'pending', $4) ON CONFLICT (client_id, idem_key) DO NOTHING",
        )
        .bind(client_id)
        .bind(key)
        .bind(&fingerprint[..])
        .bind(now_ms)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if inserted == 1 {
            return Ok(Reservation::Reserved);
        }
        let row = sqlx::query(
            "SELECT fingerprint, state, created_at, status, headers, body FROM idempotency \
             WHERE client_id = $1 AND idem_key = $2",
        )
        .bind(client_id)
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(r) => Ok(Reservation::Taken(idempotency_row(&r)?)),
            None => Ok(Reservation::Released),
        }
    }

    /// Stores the response of the creation that reserved the key at `reserved_at` (a reservation
    /// since replaced as abandoned is left alone).
    pub async fn complete_idempotency(
        &self,
        client_id: &str,
        key: &str,
        reserved_at: i64,
        response: &StoredResponse,
    ) -> Result<()> {
        let headers = serde_json::to_string(&response.headers)
            .map_err(|e| Error::Corrupt(format!("idempotent headers: {e}")))?;
        sqlx::query(
            "UPDATE idempotency SET state = 'done', status = $3, headers = $4, body = $5 \
             WHERE client_id = $1 AND idem_key = $2 AND state = 'pending' AND created_at = $6",
        )
        .bind(client_id)
        .bind(key)
        .bind(i64::from(response.status))
        .bind(headers)
        .bind(&response.body[..])
        .bind(reserved_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Gives up the key reserved at `reserved_at` after its creation failed, so that a retry may
    /// run it again.
    pub async fn release_idempotency(
        &self,
        client_id: &str,
        key: &str,
        reserved_at: i64,
    ) -> Result<()> {
        sqlx::query(
            "DELETE FROM idempotency WHERE client_id = $1 AND idem_key = $2 \
             AND state = 'pending' AND created_at = $3",
        )
        .bind(client_id)
        .bind(key)
        .bind(reserved_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

impl AuditedTx {
    /// The rows under these `(client_id, key)` pairs made after `expired_before`, by pair (older
    /// ones are deleted, so that their keys may be used again).
    pub async fn idempotency_rows(
        &mut self,
        keys: &[(&str, &str)],
        expired_before: i64,
    ) -> Result<HashMap<(String, String), IdempotencyRow>> {
        let mut by_client: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (client, key) in keys {
            by_client.entry(client).or_default().push(key);
        }
        let mut out = HashMap::new();
        for (client, keys) in by_client {
            for chunk in keys.chunks(chunk_rows(1)) {
                let sql = format!(
                    "SELECT idem_key, fingerprint, state, created_at, status, headers, body \
                     FROM idempotency WHERE client_id = $1 AND idem_key IN ({})",
                    placeholders(2, chunk.len())
                );
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(client);
                for key in chunk {
                    q = q.bind(*key);
                }
                for r in q.fetch_all(&mut *self.tx).await? {
                    let key: String = r.try_get("idem_key")?;
                    let row = idempotency_row(&r)?;
                    if row.created_at >= expired_before {
                        out.insert((client.to_owned(), key), row);
                    } else {
                        sqlx::query(
                            "DELETE FROM idempotency WHERE client_id = $1 AND idem_key = $2",
                        )
                        .bind(client)
                        .bind(key)
                        .execute(&mut *self.tx)
                        .await?;
                    }
                }
            }
        }
        Ok(out)
    }

    /// Records the answers of creations made in this transaction, each under its
    /// `(client_id, key)` (which [`Self::idempotency_rows`] found free).
    pub async fn insert_idempotent_answers(
        &mut self,
        answers: &[IdempotentAnswer<'_>],
        now_ms: i64,
    ) -> Result<()> {
        const COLS: usize = 8;
        for chunk in answers.chunks(chunk_rows(COLS)) {
            let sql = format!(
                "INSERT INTO idempotency (client_id, idem_key, fingerprint, state, created_at, \
                 status, headers, body) VALUES {}",
                values_list(chunk.len(), COLS)
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for a in chunk {
                let headers = serde_json::to_string(&a.response.headers)
                    .map_err(|e| Error::Corrupt(format!("idempotent headers: {e}")))?;
                q = q
                    .bind(a.client_id)
                    .bind(a.key)
                    .bind(&a.fingerprint[..])
                    .bind("done")
                    .bind(now_ms)
                    .bind(i64::from(a.response.status))
                    .bind(headers)
                    .bind(&a.response.body[..]);
            }
            q.execute(&mut *self.tx).await?;
        }
        Ok(())
    }
}

/// The answer of a creation, to be recorded under its client's idempotency key.
#[derive(Debug)]
pub struct IdempotentAnswer<'a> {
    /// The client.
    pub client_id: &'a str,
    /// Its idempotency key.
    pub key: &'a str,
    /// The request's fingerprint, as stored.
    pub fingerprint: [u8; 32],
    /// The answer.
    pub response: &'a StoredResponse,
}

impl Store {
    /// The live row under `(client_id, key)`, if any (rows made before `expired_before` are
    /// ignored).
    pub async fn find_idempotency(
        &self,
        client_id: &str,
        key: &str,
        expired_before: i64,
    ) -> Result<Option<IdempotencyRow>> {
        let row = sqlx::query(
            "SELECT fingerprint, state, created_at, status, headers, body FROM idempotency \
             WHERE client_id = $1 AND idem_key = $2 AND created_at >= $3",
        )
        .bind(client_id)
        .bind(key)
        .bind(expired_before)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(idempotency_row).transpose()
    }

    /// Deletes every row made before `expired_before`.
    pub async fn delete_expired_idempotency(&self, expired_before: i64) -> Result<()> {
        sqlx::query("DELETE FROM idempotency WHERE created_at < $1")
            .bind(expired_before)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
