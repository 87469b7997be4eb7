//! Rows of the electronic licences: issuing authorities, the clients bound to them, their status
//! lists, and the licences.

use sqlx::Row;
use sqlx::any::AnyRow;

use std::collections::HashSet;

use super::{AuditedTx, Store, chunk_rows, placeholders, values_list};
use crate::error::Result;

/// An issuing authority (颁证单位).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuerRow {
    /// Random id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its 统一社会信用代码.
    pub uscc: String,
    /// GB/T 2260 region code.
    pub region: String,
    /// Its licence seal (电子证照专用章).
    pub seal_id: String,
    /// Its SM2 licence signing key.
    pub signing_key_id: String,
    /// Its P-256 status list key.
    pub status_key_id: String,
    /// Its P-256 licence seal for PDFs; `None` until first needed for issuers registered
    /// before it existed.
    pub pdf_seal_id: Option<String>,
    /// Its presentation key (亮证 tokens); `None` until first needed for issuers registered
    /// before it existed.
    pub presentation_key_id: Option<String>,
    /// Creation time (ms).
    pub created_at: i64,
}

/// A status list of an issuer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusListRow {
    /// Random id (the `{id}` of `/v1/status-lists/{id}`).
    pub id: String,
    /// The issuer.
    pub issuer_id: String,
    /// Number of slots.
    pub slots: i64,
    /// Slots given to licences.
    pub used: i64,
    /// Creation time (ms).
    pub created_at: i64,
    /// Last change of a slot (ms; grows strictly with every change).
    pub updated_at: i64,
}

/// A licence as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenceRow {
    /// 证照标识.
    pub id: String,
    /// The issuer.
    pub issuer_id: String,
    /// The client that issued it.
    pub owner: String,
    /// 证照类型代码.
    pub type_code: String,
    /// 证照编号.
    pub number: String,
    /// 持证主体.
    pub holder_name: String,
    /// 持证主体代码类型 (`111`, `001`, `414`).
    pub holder_id_type: String,
    /// 持证主体代码 (personal data for a person).
    pub holder_id_number: String,
    /// 颁发日期 (ms, UTC midnight).
    pub issued_on: i64,
    /// 有效期起始 (ms, UTC midnight).
    pub valid_from: i64,
    /// 有效期截止 (ms, the last millisecond of that day); `None` = 长期.
    pub valid_to: Option<i64>,
    /// 照面信息, JSON text.
    pub fields: String,
    /// SM2 signature (DER) of the canonical form.
    pub signature: Vec<u8>,
    /// `valid`, `suspended`, `revoked`, `cancelled` or `superseded` (expiry is computed).
    pub status: String,
    /// Why the status last changed.
    pub status_reason: Option<String>,
    /// The licence that replaced this one.
    pub superseded_by: Option<String>,
    /// Its status list.
    pub list_id: String,
    /// Its slot in the list.
    pub list_index: i64,
    /// Creation time (ms).
    pub created_at: i64,
    /// Last change (ms).
    pub updated_at: i64,
}

/// Which of a client's licences to list.
#[derive(Debug, Clone, Default)]
pub struct LicenceFilter {
    /// Only this 持证主体代码.
    pub holder_code: Option<String>,
    /// Only this 证照类型代码.
    pub type_code: Option<String>,
}

const ISSUER_COLS: &str = "id, name, uscc, region, seal_id, signing_key_id, status_key_id, \
     pdf_seal_id, presentation_key_id, created_at";
const LIST_COLS: &str = "id, issuer_id, slots, used, created_at, updated_at";
pub(super) const LICENCE_COLS: &str = "id, issuer_id, owner, type_code, number, holder_name, holder_id_type, \
     holder_id_number, issued_on, valid_from, valid_to, fields, signature, status, status_reason, \
     superseded_by, list_id, list_index, created_at, updated_at";

fn issuer_row(r: &AnyRow) -> Result<IssuerRow> {
    Ok(IssuerRow {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        uscc: r.try_get("uscc")?,
        region: r.try_get("region")?,
        seal_id: r.try_get("seal_id")?,
        signing_key_id: r.try_get("signing_key_id")?,
        status_key_id: r.try_get("status_key_id")?,
        pdf_seal_id: r.try_get("pdf_seal_id")?,
        presentation_key_id: r.try_get("presentation_key_id")?,
        created_at: r.try_get("created_at")?,
    })
}

fn list_row(r: &AnyRow) -> Result<StatusListRow> {
    Ok(StatusListRow {
        id: r.try_get("id")?,
        issuer_id: r.try_get("issuer_id")?,
        slots: r.try_get("slots")?,
        used: r.try_get("used")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

pub(super) fn licence_row(r: &AnyRow) -> Result<LicenceRow> {
    Ok(LicenceRow {
        id: r.try_get("id")?,
        issuer_id: r.try_get("issuer_id")?,
        owner: r.try_get("owner")?,
        type_code: r.try_get("type_code")?,
        number: r.try_get("number")?,
        holder_name: r.try_get("holder_name")?,
        holder_id_type: r.try_get("holder_id_type")?,
        holder_id_number: r.try_get("holder_id_number")?,
        issued_on: r.try_get("issued_on")?,
        valid_from: r.try_get("valid_from")?,
        valid_to: r.try_get("valid_to")?,
        fields: r.try_get("fields")?,
        signature: r.try_get("signature")?,
        status: r.try_get("status")?,
        status_reason: r.try_get("status_reason")?,
        superseded_by: r.try_get("superseded_by")?,
        list_id: r.try_get("list_id")?,
        list_index: r.try_get("list_index")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

impl Store {
    /// An issuer.
    pub async fn issuer(&self, id: &str) -> Result<Option<IssuerRow>> {
        let sql = format!("SELECT {ISSUER_COLS} FROM issuers WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(issuer_row).transpose()
    }

    /// Every issuer, oldest first.
    pub async fn issuers(&self) -> Result<Vec<IssuerRow>> {
        let sql = format!("SELECT {ISSUER_COLS} FROM issuers ORDER BY created_at, id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(issuer_row).collect()
    }

    /// The ids of the issuers a client is bound to.
    pub async fn client_issuers(&self, client_id: &str) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT issuer_id FROM client_issuers WHERE client_id = $1 ORDER BY issuer_id",
        )
        .bind(client_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok(r.try_get("issuer_id")?)).collect()
    }

    /// A status list.
    pub async fn status_list(&self, id: &str) -> Result<Option<StatusListRow>> {
        let sql = format!("SELECT {LIST_COLS} FROM status_lists WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(list_row).transpose()
    }

    /// The slots of a list that are not plainly valid: `(index, status)` for each licence not
    /// `valid`, with `expired` for each not final whose validity ended before `now`.
    pub async fn status_slots(&self, list_id: &str, now: i64) -> Result<Vec<(i64, String)>> {
        let rows = sqlx::query(
            "SELECT list_index, CASE WHEN valid_to < $2 THEN 'expired' ELSE status END AS status \
             FROM licences WHERE list_id = $1 AND status <> 'valid' \
             UNION ALL SELECT list_index, 'expired' AS status FROM licences \
             WHERE list_id = $1 AND valid_to < $2 AND status = 'valid'",
        )
        .bind(list_id)
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("list_index")?, r.try_get("status")?)))
            .collect()
    }

    /// The ids of an issuer's status lists, oldest first (the trust list names them, so that an
    /// inspector's device knows which lists to keep for offline checks).
    pub async fn issuer_status_list_ids(&self, issuer_id: &str) -> Result<Vec<String>> {
        let rows =
            sqlx::query("SELECT id FROM status_lists WHERE issuer_id = $1 ORDER BY created_at, id")
                .bind(issuer_id)
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(|r| Ok(r.try_get("id")?)).collect()
    }

    /// The issuer's newest status list (the one new licences get their slots in).
    pub async fn current_status_list(&self, issuer_id: &str) -> Result<Option<StatusListRow>> {
        let sql = format!(
            "SELECT {LIST_COLS} FROM status_lists WHERE issuer_id = $1 \
             ORDER BY created_at DESC, id DESC LIMIT 1"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(issuer_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(list_row).transpose()
    }

    /// A licence.
    pub async fn licence(&self, id: &str) -> Result<Option<LicenceRow>> {
        let sql = format!("SELECT {LICENCE_COLS} FROM licences WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(licence_row).transpose()
    }

    /// Which of these numbers live licences of an issuer and type have (read without the lock:
    /// an import uses it to sign only what is not there yet, and checks again under the lock).
    pub async fn live_licence_numbers(
        &self,
        issuer_id: &str,
        type_code: &str,
        numbers: &[&str],
    ) -> Result<HashSet<String>> {
        let mut out = HashSet::new();
        for chunk in numbers.chunks(chunk_rows(1)) {
            let sql = format!(
                "SELECT number FROM licences WHERE issuer_id = $1 AND type_code = $2 \
                 AND status <> 'superseded' AND number IN ({})",
                placeholders(3, chunk.len())
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(issuer_id)
                .bind(type_code);
            for n in chunk {
                q = q.bind(*n);
            }
            for r in q.fetch_all(&self.pool).await? {
                out.insert(r.try_get("number")?);
            }
        }
        Ok(out)
    }

    /// Gathers PostgreSQL's statistics of the licences table (a no-op on SQLite). A bulk import
    /// calls it as the table grows: without them (autovacuum may be off) a statement prepared
    /// while the table was empty keeps a sequential-scan plan, and the import's number lookup
    /// took a second per batch at 100,000 licences; ANALYZE also makes every session plan anew.
    pub async fn analyze_licences(&self) -> Result<()> {
        if self.backend == super::Backend::Postgres {
            sqlx::query("ANALYZE licences").execute(&self.pool).await?;
        }
        Ok(())
    }

    /// Up to `limit` of a client's licences matching `filter` in creation order, after the
    /// `(created_at, id)` position `after`.
    pub async fn licences_page(
        &self,
        owner: &str,
        filter: &LicenceFilter,
        after: Option<(i64, &str)>,
        limit: u32,
    ) -> Result<Vec<LicenceRow>> {
        let (at, id) = after.unwrap_or((i64::MIN, ""));
        // Absent filters bind NULL and match every row.
        let sql = format!(
            "SELECT {LICENCE_COLS} FROM licences WHERE owner = $1 \
             AND ($5 IS NULL OR holder_id_number = $5) AND ($6 IS NULL OR type_code = $6) \
             AND (created_at > $2 OR (created_at = $2 AND id > $3)) \
             ORDER BY created_at, id LIMIT $4"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(owner)
            .bind(at)
            .bind(id)
            .bind(i64::from(limit))
            .bind(filter.holder_code.as_deref())
            .bind(filter.type_code.as_deref())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(licence_row).collect()
    }
}

impl AuditedTx {
    /// Whether an issuer with this 统一社会信用代码 exists.
    pub async fn issuer_uscc_taken(&mut self, uscc: &str) -> Result<bool> {
        let row = sqlx::query("SELECT 1 AS one FROM issuers WHERE uscc = $1")
            .bind(uscc)
            .fetch_optional(&mut *self.tx)
            .await?;
        Ok(row.is_some())
    }

    /// Whether an issuer exists.
    pub async fn issuer_exists(&mut self, id: &str) -> Result<bool> {
        let row = sqlx::query("SELECT 1 AS one FROM issuers WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *self.tx)
            .await?;
        Ok(row.is_some())
    }

    /// Stores an issuer.
    pub async fn insert_issuer(&mut self, i: &IssuerRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO issuers (id, name, uscc, region, seal_id, signing_key_id, status_key_id, \
             pdf_seal_id, presentation_key_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(i.id.as_str())
        .bind(i.name.as_str())
        .bind(i.uscc.as_str())
        .bind(i.region.as_str())
        .bind(i.seal_id.as_str())
        .bind(i.signing_key_id.as_str())
        .bind(i.status_key_id.as_str())
        .bind(i.pdf_seal_id.as_deref())
        .bind(i.presentation_key_id.as_deref())
        .bind(i.created_at)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Gives an issuer that has none its PDF licence seal; false if the issuer is missing or
    /// has one already.
    pub async fn set_issuer_pdf_seal(&mut self, issuer_id: &str, seal_id: &str) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE issuers SET pdf_seal_id = $1 WHERE id = $2 AND pdf_seal_id IS NULL",
        )
        .bind(seal_id)
        .bind(issuer_id)
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Binds a client to an issuer; false if it already was.
    pub async fn bind_client_issuer(&mut self, client_id: &str, issuer_id: &str) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO client_issuers (client_id, issuer_id) VALUES ($1, $2) \
             ON CONFLICT (client_id, issuer_id) DO NOTHING",
        )
        .bind(client_id)
        .bind(issuer_id)
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Stores a status list.
    pub async fn insert_status_list(&mut self, l: &StatusListRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO status_lists (id, issuer_id, slots, used, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(l.id.as_str())
        .bind(l.issuer_id.as_str())
        .bind(l.slots)
        .bind(l.used)
        .bind(l.created_at)
        .bind(l.updated_at)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// The issuer's newest status list.
    pub async fn current_status_list(&mut self, issuer_id: &str) -> Result<Option<StatusListRow>> {
        let sql = format!(
            "SELECT {LIST_COLS} FROM status_lists WHERE issuer_id = $1 \
             ORDER BY created_at DESC, id DESC LIMIT 1"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(issuer_id)
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(list_row).transpose()
    }

    /// Whether a slot of a list is given to a licence.
    pub async fn slot_taken(&mut self, list_id: &str, index: i64) -> Result<bool> {
        let row =
            sqlx::query("SELECT 1 AS one FROM licences WHERE list_id = $1 AND list_index = $2")
                .bind(list_id)
                .bind(index)
                .fetch_optional(&mut *self.tx)
                .await?;
        Ok(row.is_some())
    }

    /// Records a change of a list at `at` (ms): `used` grows by `newly_used`, `updated_at`
    /// grows strictly, so a cached token of the list is seen to be stale.
    pub async fn touch_status_list(
        &mut self,
        list_id: &str,
        newly_used: i64,
        at: i64,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE status_lists SET used = used + $1, \
             updated_at = CASE WHEN updated_at >= $2 THEN updated_at + 1 ELSE $2 END WHERE id = $3",
        )
        .bind(newly_used)
        .bind(at)
        .bind(list_id)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Whether a licence has this id, or a live licence other than `except` (`""`: none) has
    /// this number of this issuer and type.
    pub async fn licence_taken(&mut self, l: &LicenceRow, except: &str) -> Result<bool> {
        let row = sqlx::query(
            "SELECT 1 AS one FROM licences WHERE id = $1 \
             OR (issuer_id = $2 AND type_code = $3 AND number = $4 \
                 AND status <> 'superseded' AND id <> $5)",
        )
        .bind(l.id.as_str())
        .bind(l.issuer_id.as_str())
        .bind(l.type_code.as_str())
        .bind(l.number.as_str())
        .bind(except)
        .fetch_optional(&mut *self.tx)
        .await?;
        Ok(row.is_some())
    }

    /// Stores a licence.
    pub async fn insert_licence(&mut self, l: &LicenceRow) -> Result<()> {
        self.insert_licences(&[l]).await
    }

    /// The live licences of an issuer and type with any of these numbers, read under the lock.
    pub async fn live_licences_numbered(
        &mut self,
        issuer_id: &str,
        type_code: &str,
        numbers: &[&str],
    ) -> Result<Vec<LicenceRow>> {
        let mut out = Vec::new();
        for chunk in numbers.chunks(chunk_rows(1)) {
            // The condition repeats the partial unique index's, so the lookup uses it.
            let sql = format!(
                "SELECT {LICENCE_COLS} FROM licences WHERE issuer_id = $1 AND type_code = $2 \
                 AND status <> 'superseded' AND number IN ({})",
                placeholders(3, chunk.len())
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(issuer_id)
                .bind(type_code);
            for n in chunk {
                q = q.bind(*n);
            }
            for r in q.fetch_all(&mut *self.tx).await? {
                out.push(licence_row(&r)?);
            }
        }
        Ok(out)
    }

    /// Which of these licence ids are taken.
    pub async fn licence_ids_taken(&mut self, ids: &[&str]) -> Result<HashSet<String>> {
        let mut out = HashSet::new();
        for chunk in ids.chunks(chunk_rows(1)) {
            let sql = format!(
                "SELECT id FROM licences WHERE id IN ({})",
                placeholders(1, chunk.len())
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in chunk {
                q = q.bind(*id);
            }
            for r in q.fetch_all(&mut *self.tx).await? {
                out.insert(r.try_get("id")?);
            }
        }
        Ok(out)
    }

    /// Which of these slots of a list are given to licences.
    pub async fn slots_taken(&mut self, list_id: &str, indexes: &[i64]) -> Result<HashSet<i64>> {
        let mut out = HashSet::new();
        for chunk in indexes.chunks(chunk_rows(1)) {
            let sql = format!(
                "SELECT list_index FROM licences WHERE list_id = $1 AND list_index IN ({})",
                placeholders(2, chunk.len())
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(list_id);
            for i in chunk {
                q = q.bind(*i);
            }
            for r in q.fetch_all(&mut *self.tx).await? {
                out.insert(r.try_get("list_index")?);
            }
        }
        Ok(out)
    }

    /// Stores licences, a dozen rows per statement.
    pub async fn insert_licences(&mut self, rows: &[&LicenceRow]) -> Result<()> {
        const COLS: usize = 20;
        for chunk in rows.chunks(chunk_rows(COLS)) {
            let sql = format!(
                "INSERT INTO licences ({LICENCE_COLS}) VALUES {}",
                values_list(chunk.len(), COLS)
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for l in chunk {
                q = q
                    .bind(l.id.as_str())
                    .bind(l.issuer_id.as_str())
                    .bind(l.owner.as_str())
                    .bind(l.type_code.as_str())
                    .bind(l.number.as_str())
                    .bind(l.holder_name.as_str())
                    .bind(l.holder_id_type.as_str())
                    .bind(l.holder_id_number.as_str())
                    .bind(l.issued_on)
                    .bind(l.valid_from)
                    .bind(l.valid_to)
                    .bind(l.fields.as_str())
                    .bind(l.signature.as_slice())
                    .bind(l.status.as_str())
                    .bind(l.status_reason.as_deref())
                    .bind(l.superseded_by.as_deref())
                    .bind(l.list_id.as_str())
                    .bind(l.list_index)
                    .bind(l.created_at)
                    .bind(l.updated_at);
            }
            q.execute(&mut *self.tx).await?;
        }
        Ok(())
    }

    /// A licence, read under the lock.
    pub async fn licence(&mut self, id: &str) -> Result<Option<LicenceRow>> {
        let sql = format!("SELECT {LICENCE_COLS} FROM licences WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(licence_row).transpose()
    }

    /// Marks a licence superseded by `by` at `at` (ms).
    pub async fn supersede_licence(
        &mut self,
        id: &str,
        by: &str,
        reason: &str,
        at: i64,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE licences SET status = 'superseded', superseded_by = $1, status_reason = $2, \
             updated_at = $3 WHERE id = $4",
        )
        .bind(by)
        .bind(reason)
        .bind(at)
        .bind(id)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Sets a licence's status and its reason at `at` (ms).
    pub async fn set_licence_status(
        &mut self,
        id: &str,
        status: &str,
        reason: &str,
        at: i64,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE licences SET status = $1, status_reason = $2, updated_at = $3 WHERE id = $4",
        )
        .bind(status)
        .bind(reason)
        .bind(at)
        .bind(id)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }
}
