//! Rows of 用证: the holders' grants, the short-lived links a fetch gives, the licences a query
//! finds, and the refused uses kept for the operator.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{AuditedTx, Store};
use crate::error::Result;

/// A holder's grant to one department for one licence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantRow {
    /// `grt_` and 32 hex digits.
    pub id: String,
    /// 证照标识.
    pub licence_id: String,
    /// SHA-256 (hex) of the one-time code.
    pub code_sha256: String,
    /// The department's client id.
    pub department_id: String,
    /// The department's name as the holder saw it.
    pub department_name: String,
    /// Why the holder grants it.
    pub purpose: String,
    /// The client that made it for the holder (`""` for an operator).
    pub created_by: String,
    /// When (ms).
    pub created_at: i64,
    /// Expiry (ms).
    pub expires_at: i64,
    /// When a fetch consumed it (ms).
    pub used_at: Option<i64>,
    /// When the holder withdrew it (ms).
    pub withdrawn_at: Option<i64>,
}

/// A fetch's link to a licence file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchLinkRow {
    /// SHA-256 (hex) of the token.
    pub token_sha256: String,
    /// 证照标识.
    pub licence_id: String,
    /// The department that fetched.
    pub department_id: String,
    /// When (ms).
    pub created_at: i64,
    /// Expiry (ms).
    pub expires_at: i64,
}

/// A refused use, without the licence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DenialRow {
    /// Random id.
    pub id: String,
    /// When (ms).
    pub at: i64,
    /// `query`, `verify` or `fetch`.
    pub operation: String,
    /// The department's client id.
    pub client_id: String,
    /// The 用证事由 given.
    pub reason: String,
    /// The case number given.
    pub case_number: Option<String>,
    /// Why it was refused.
    pub cause: String,
}

const GRANT_COLS: &str = "id, licence_id, code_sha256, department_id, department_name, purpose, \
     created_by, created_at, expires_at, used_at, withdrawn_at";

fn grant_row(r: &AnyRow) -> Result<GrantRow> {
    Ok(GrantRow {
        id: r.try_get("id")?,
        licence_id: r.try_get("licence_id")?,
        code_sha256: r.try_get("code_sha256")?,
        department_id: r.try_get("department_id")?,
        department_name: r.try_get("department_name")?,
        purpose: r.try_get("purpose")?,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
        expires_at: r.try_get("expires_at")?,
        used_at: r.try_get("used_at")?,
        withdrawn_at: r.try_get("withdrawn_at")?,
    })
}

/// A grant of a licence, read through `db` (the pool, or a transaction under the lock).
async fn grant_of<'c, E>(db: E, licence_id: &str, id: &str) -> Result<Option<GrantRow>>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    let sql = format!("SELECT {GRANT_COLS} FROM licence_grants WHERE id = $1 AND licence_id = $2");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(licence_id)
        .fetch_optional(db)
        .await?;
    row.as_ref().map(grant_row).transpose()
}

impl Store {
    /// The grant whose code has this SHA-256 (hex).
    pub async fn grant_by_code(&self, code_sha256: &str) -> Result<Option<GrantRow>> {
        let sql = format!("SELECT {GRANT_COLS} FROM licence_grants WHERE code_sha256 = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(code_sha256)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(grant_row).transpose()
    }

    /// A grant of a licence.
    pub async fn grant(&self, licence_id: &str, id: &str) -> Result<Option<GrantRow>> {
        grant_of(&self.pool, licence_id, id).await
    }

    /// Up to `limit` grants of a licence, oldest first, after the `(created_at, id)` position
    /// `after`.
    pub async fn grants_page(
        &self,
        licence_id: &str,
        after: Option<(i64, &str)>,
        limit: u32,
    ) -> Result<Vec<GrantRow>> {
        let (at, id) = after.unwrap_or((i64::MIN, ""));
        let sql = format!(
            "SELECT {GRANT_COLS} FROM licence_grants WHERE licence_id = $1 \
             AND (created_at > $2 OR (created_at = $2 AND id > $3)) \
             ORDER BY created_at, id LIMIT $4"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(licence_id)
            .bind(at)
            .bind(id)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(grant_row).collect()
    }

    /// The ids of a holder's licences of a type, whoever issued them, but for superseded ones
    /// (at most `limit`, oldest first).
    pub async fn holder_licence_ids(
        &self,
        holder_code: &str,
        type_code: &str,
        limit: u32,
    ) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT id FROM licences WHERE holder_id_number = $1 AND type_code = $2 \
             AND status <> 'superseded' ORDER BY created_at, id LIMIT $3",
        )
        .bind(holder_code)
        .bind(type_code)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok(r.try_get::<String, _>("id")?))
            .collect()
    }

    /// Records a refused use.
    pub async fn insert_denial(&self, d: &DenialRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO licence_use_denials (id, at, operation, client_id, reason, case_number, \
             cause) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(d.id.as_str())
        .bind(d.at)
        .bind(d.operation.as_str())
        .bind(d.client_id.as_str())
        .bind(d.reason.as_str())
        .bind(d.case_number.as_deref())
        .bind(d.cause.as_str())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Marks the link with this token hash used at `now` if it is unused and unexpired: the
    /// licence it leads to, or `None` (one statement, so two requests never both get it).
    pub async fn take_fetch_link(&self, token_sha256: &str, now: i64) -> Result<Option<String>> {
        let row = sqlx::query(
            "UPDATE licence_fetch_links SET used_at = $1 \
             WHERE token_sha256 = $2 AND used_at IS NULL AND expires_at > $1 \
             RETURNING licence_id",
        )
        .bind(now)
        .bind(token_sha256)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| r.try_get("licence_id")).transpose()?)
    }
}

impl AuditedTx {
    /// Stores a new grant.
    pub async fn insert_grant(&mut self, g: &GrantRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO licence_grants (id, licence_id, code_sha256, department_id, \
             department_name, purpose, created_by, created_at, expires_at, used_at, withdrawn_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(g.id.as_str())
        .bind(g.licence_id.as_str())
        .bind(g.code_sha256.as_str())
        .bind(g.department_id.as_str())
        .bind(g.department_name.as_str())
        .bind(g.purpose.as_str())
        .bind(g.created_by.as_str())
        .bind(g.created_at)
        .bind(g.expires_at)
        .bind(g.used_at)
        .bind(g.withdrawn_at)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// A grant of a licence, read under the lock.
    pub async fn grant(&mut self, licence_id: &str, id: &str) -> Result<Option<GrantRow>> {
        grant_of(&mut *self.tx, licence_id, id).await
    }

    /// Marks a grant withdrawn at `at`.
    pub async fn withdraw_grant(&mut self, id: &str, at: i64) -> Result<()> {
        sqlx::query("UPDATE licence_grants SET withdrawn_at = $1 WHERE id = $2")
            .bind(at)
            .bind(id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Consumes a grant for its department if it is still active at `at`; false otherwise.
    pub async fn consume_grant(&mut self, id: &str, department_id: &str, at: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE licence_grants SET used_at = $1 WHERE id = $2 AND department_id = $3 \
             AND used_at IS NULL AND withdrawn_at IS NULL AND expires_at > $1",
        )
        .bind(at)
        .bind(id)
        .bind(department_id)
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Stores a fetch's link.
    pub async fn insert_fetch_link(&mut self, l: &FetchLinkRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO licence_fetch_links (token_sha256, licence_id, department_id, \
             created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(l.token_sha256.as_str())
        .bind(l.licence_id.as_str())
        .bind(l.department_id.as_str())
        .bind(l.created_at)
        .bind(l.expires_at)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }
}
