//! Rows of 亮证: the handles presentation tokens carry for licences, the licence a handle
//! stands for with its live status, and the record of every check.

use sqlx::Row;
use sqlx::any::AnyRow;

use std::collections::HashMap;

use super::{AuditedTx, Store, chunk_rows, placeholders, values_list};
use crate::error::Result;

/// What a verification needs of the licence a handle stands for, read live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresentedLicence {
    /// 证照标识.
    pub id: String,
    /// The issuer.
    pub issuer_id: String,
    /// 证照类型代码.
    pub type_code: String,
    /// The stored status (expiry is computed from `valid_to`).
    pub status: String,
    /// 有效期截止 (ms, last millisecond of the day); `None` = 长期.
    pub valid_to: Option<i64>,
    /// Its status list.
    pub list_id: String,
    /// Its slot.
    pub list_index: i64,
}

/// One use of a licence: a check of its token (`inspection`), or a department's 用证 (`query`,
/// `verify`, `fetch`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UseRow {
    /// Random id.
    pub id: String,
    /// 证照标识.
    pub licence_id: String,
    /// When (ms).
    pub at: i64,
    /// `inspection`, `query`, `verify` or `fetch`.
    pub kind: String,
    /// The client that checked; `None` for an anonymous check.
    pub client_id: Option<String>,
    /// The client's name (read back only).
    pub client_name: Option<String>,
    /// The inspector the client named.
    pub inspector: Option<String>,
    /// The verdict.
    pub verdict: String,
    /// `minimal` or `full`.
    pub view: String,
    /// A department's 用证事由.
    pub reason: Option<String>,
    /// The approval case number a department gave.
    pub case_number: Option<String>,
    /// The holder's grant a department used.
    pub grant_id: Option<String>,
    /// With a challenge: `answered` or `not_answered` by the licence's device; `None` without.
    pub device: Option<String>,
}

fn use_row(r: &AnyRow) -> Result<UseRow> {
    Ok(UseRow {
        id: r.try_get("id")?,
        licence_id: r.try_get("licence_id")?,
        at: r.try_get("at")?,
        kind: r.try_get("kind")?,
        client_id: r.try_get("client_id")?,
        client_name: r.try_get("client_name")?,
        inspector: r.try_get("inspector")?,
        verdict: r.try_get("verdict")?,
        view: r.try_get("view")?,
        reason: r.try_get("reason")?,
        case_number: r.try_get("case_number")?,
        grant_id: r.try_get("grant_id")?,
        device: r.try_get("device")?,
    })
}

impl Store {
    /// The handle of a licence, if it was ever presented.
    pub async fn licence_handle(&self, licence_id: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT handle FROM licence_handles WHERE licence_id = $1")
            .bind(licence_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get("handle")).transpose()?)
    }

    /// Gives a licence `handle` unless it has one already; the licence's handle after.
    pub async fn keep_licence_handle(
        &self,
        licence_id: &str,
        handle: &str,
        at: i64,
    ) -> Result<Option<String>> {
        sqlx::query(
            "INSERT INTO licence_handles (handle, licence_id, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (licence_id) DO NOTHING",
        )
        .bind(handle)
        .bind(licence_id)
        .bind(at)
        .execute(&self.pool)
        .await?;
        self.licence_handle(licence_id).await
    }

    /// The licences the given handles stand for, read live in one statement a chunk; a handle
    /// that stands for none is absent from the map.
    pub async fn presented_licences(
        &self,
        handles: &[&str],
    ) -> Result<HashMap<String, PresentedLicence>> {
        let mut out = HashMap::with_capacity(handles.len());
        for chunk in handles.chunks(chunk_rows(1)) {
            let sql = format!(
                "SELECT h.handle, l.id, l.issuer_id, l.type_code, l.status, l.valid_to, l.list_id, \
                 l.list_index FROM licence_handles h JOIN licences l ON l.id = h.licence_id \
                 WHERE h.handle IN ({})",
                placeholders(1, chunk.len())
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for h in chunk {
                q = q.bind(*h);
            }
            for r in q.fetch_all(&self.pool).await? {
                out.insert(
                    r.try_get("handle")?,
                    PresentedLicence {
                        id: r.try_get("id")?,
                        issuer_id: r.try_get("issuer_id")?,
                        type_code: r.try_get("type_code")?,
                        status: r.try_get("status")?,
                        valid_to: r.try_get("valid_to")?,
                        list_id: r.try_get("list_id")?,
                        list_index: r.try_get("list_index")?,
                    },
                );
            }
        }
        Ok(out)
    }

    /// Records checks, many rows a statement, in one transaction.
    pub async fn insert_uses(&self, rows: &[UseRow]) -> Result<()> {
        const COLS: usize = 12;
        let mut tx = self.pool.begin().await?;
        for chunk in rows.chunks(chunk_rows(COLS)) {
            let sql = format!(
                "INSERT INTO licence_uses (id, licence_id, at, kind, client_id, inspector, verdict, \
                 view, reason, case_number, grant_id, device) VALUES {}",
                values_list(chunk.len(), COLS)
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for u in chunk {
                q = q
                    .bind(u.id.as_str())
                    .bind(u.licence_id.as_str())
                    .bind(u.at)
                    .bind(u.kind.as_str())
                    .bind(u.client_id.as_deref())
                    .bind(u.inspector.as_deref())
                    .bind(u.verdict.as_str())
                    .bind(u.view.as_str())
                    .bind(u.reason.as_deref())
                    .bind(u.case_number.as_deref())
                    .bind(u.grant_id.as_deref())
                    .bind(u.device.as_deref());
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Up to `limit` checks of a licence, oldest first, after the `(at, id)` position `after`,
    /// with the checking client's name.
    pub async fn uses_page(
        &self,
        licence_id: &str,
        after: Option<(i64, &str)>,
        limit: u32,
    ) -> Result<Vec<UseRow>> {
        let (at, id) = after.unwrap_or((i64::MIN, ""));
        let rows = sqlx::query(
            "SELECT u.id, u.licence_id, u.at, u.kind, u.client_id, c.name AS client_name, \
             u.inspector, u.verdict, u.view, u.reason, u.case_number, u.grant_id, u.device \
             FROM licence_uses u \
             LEFT JOIN clients c ON c.id = u.client_id \
             WHERE u.licence_id = $1 AND (u.at > $2 OR (u.at = $2 AND u.id > $3)) \
             ORDER BY u.at, u.id LIMIT $4",
        )
        .bind(licence_id)
        .bind(at)
        .bind(id)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(use_row).collect()
    }
}

impl AuditedTx {
    /// Gives an issuer that has none its presentation key; false if the issuer is missing or
    /// has one already.
    pub async fn set_issuer_presentation_key(
        &mut self,
        issuer_id: &str,
        key_id: &str,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE issuers SET presentation_key_id = $1 \
             WHERE id = $2 AND presentation_key_id IS NULL",
        )
        .bind(key_id)
        .bind(issuer_id)
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
