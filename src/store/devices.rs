//! Rows of the wallet and of device-bound presentation: a holder's licences, the device keys
//! registered to licences, and the challenges inspectors show and devices answer.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::licences::{LICENCE_COLS, licence_row};
use super::{AuditedTx, LicenceRow, Store};
use crate::error::Result;

/// A device key registered to a licence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRow {
    /// `dev_` and 32 hex digits.
    pub key_id: String,
    /// 证照标识 of the licence it answers for.
    pub licence_id: String,
    /// SubjectPublicKeyInfo (DER) of the ECDSA P-256 key.
    pub public_key: Vec<u8>,
    /// What the holder calls the device.
    pub label: String,
    /// When (ms).
    pub created_at: i64,
}

/// A challenge shown by an inspector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChallengeRow {
    /// 8 decimal digits.
    pub challenge: String,
    /// The inspector's system; `None` for an anonymous one.
    pub client_id: Option<String>,
    /// When made (ms).
    pub created_at: i64,
    /// When it stops being answerable or counted (ms).
    pub expires_at: i64,
    /// The licence whose device answered it.
    pub licence_id: Option<String>,
    /// The device key that signed the answer.
    pub key_id: Option<String>,
    /// When it was answered (ms).
    pub answered_at: Option<i64>,
}

fn device_row(r: &AnyRow) -> Result<DeviceRow> {
    Ok(DeviceRow {
        key_id: r.try_get("key_id")?,
        licence_id: r.try_get("licence_id")?,
        public_key: r.try_get("public_key")?,
        label: r.try_get("label")?,
        created_at: r.try_get("created_at")?,
    })
}

fn challenge_row(r: &AnyRow) -> Result<ChallengeRow> {
    Ok(ChallengeRow {
        challenge: r.try_get("challenge")?,
        client_id: r.try_get("client_id")?,
        created_at: r.try_get("created_at")?,
        expires_at: r.try_get("expires_at")?,
        licence_id: r.try_get("licence_id")?,
        key_id: r.try_get("key_id")?,
        answered_at: r.try_get("answered_at")?,
    })
}

impl Store {
    /// The licences whose 持证主体代码 is `holder_code`, newest first, at most `limit`.
    pub async fn licences_of_holder(
        &self,
        holder_code: &str,
        limit: u32,
    ) -> Result<Vec<LicenceRow>> {
        let sql = format!(
            "SELECT {LICENCE_COLS} FROM licences WHERE holder_id_number = $1 \
             ORDER BY created_at DESC, id DESC LIMIT $2"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(holder_code)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(licence_row).collect()
    }

    /// A registered device key.
    pub async fn device(&self, key_id: &str) -> Result<Option<DeviceRow>> {
        let row = sqlx::query(
            "SELECT key_id, licence_id, public_key, label, created_at FROM licence_devices \
             WHERE key_id = $1",
        )
        .bind(key_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(device_row).transpose()
    }

    /// How many device keys a licence has.
    pub async fn device_count(&self, licence_id: &str) -> Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM licence_devices WHERE licence_id = $1")
            .bind(licence_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("n")?)
    }

    /// Stores a new challenge unless one with these digits is still live; false if one is
    /// (the caller draws again). Challenges expired a while ago are deleted first.
    pub async fn insert_challenge(&self, row: &ChallengeRow, forget_before: i64) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM presentation_challenges WHERE expires_at < $1")
            .bind(forget_before)
            .execute(&mut *tx)
            .await?;
        let done = sqlx::query(
            "INSERT INTO presentation_challenges (challenge, client_id, created_at, expires_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (challenge) DO NOTHING",
        )
        .bind(row.challenge.as_str())
        .bind(row.client_id.as_deref())
        .bind(row.created_at)
        .bind(row.expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// A challenge.
    pub async fn challenge(&self, challenge: &str) -> Result<Option<ChallengeRow>> {
        let row = sqlx::query(
            "SELECT challenge, client_id, created_at, expires_at, licence_id, key_id, answered_at \
             FROM presentation_challenges WHERE challenge = $1",
        )
        .bind(challenge)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(challenge_row).transpose()
    }

    /// Marks a live, unanswered challenge answered by `key_id` for `licence_id`; false if it is
    /// unknown, expired or answered already (a challenge takes one answer).
    pub async fn answer_challenge(
        &self,
        challenge: &str,
        licence_id: &str,
        key_id: &str,
        now: i64,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE presentation_challenges SET licence_id = $1, key_id = $2, answered_at = $3 \
             WHERE challenge = $4 AND answered_at IS NULL AND expires_at > $3",
        )
        .bind(licence_id)
        .bind(key_id)
        .bind(now)
        .bind(challenge)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

impl AuditedTx {
    /// Stores a device key.
    pub async fn insert_device(&mut self, d: &DeviceRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO licence_devices (key_id, licence_id, public_key, label, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(d.key_id.as_str())
        .bind(d.licence_id.as_str())
        .bind(d.public_key.as_slice())
        .bind(d.label.as_str())
        .bind(d.created_at)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }
}
