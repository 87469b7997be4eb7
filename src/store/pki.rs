//! Rows of the certificate authority and of the electronic seals.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{AFTER, AuditedTx, Store};
use crate::error::Result;

/// A certificate the vault issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertRow {
    /// Random id.
    pub id: String,
    /// Name of the issuing authority; `None` for a self-signed root.
    pub issuer: Option<String>,
    /// Serial number, hex.
    pub serial: String,
    /// `root`, `issuing-ca`, `seal-maker`, `seal-holder` or `tsa`.
    pub kind: String,
    /// The certified key.
    pub key_id: String,
    /// Subject, RFC 4514.
    pub subject: String,
    /// SHA-256 of the DER, hex.
    pub fingerprint: String,
    /// The certificate.
    pub der: Vec<u8>,
    /// Start of validity (ms).
    pub not_before: i64,
    /// End of validity (ms).
    pub not_after: i64,
    /// `good` or `revoked`.
    pub status: String,
    /// Revocation time (ms).
    pub revoked_at: Option<i64>,
    /// RFC 5280 reason name.
    pub revocation_reason: Option<String>,
    /// Issuance time (ms).
    pub created_at: i64,
}

/// One of the vault's own authorities (root, issuing CA, seal maker).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorityRow {
    /// Stable name, e.g. `sm2-issuing`.
    pub name: String,
    /// `sm2` or `p256`.
    pub family: String,
    /// `root`, `issuing` or `maker`.
    pub role: String,
    /// Its certificate.
    pub cert_id: String,
    /// Its key.
    pub key_id: String,
}

/// An electronic seal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealRow {
    /// Random id.
    pub id: String,
    /// `SES_SealInfo.esID`.
    pub es_id: String,
    /// The client the seal was granted to.
    pub owner: String,
    /// Seal name.
    pub name: String,
    /// `SES_ESPropertyInfo.type`.
    pub seal_type: i64,
    /// Holder organisation, or the person holding a personal seal.
    pub holder_name: String,
    /// Holder 统一社会信用代码, or for a personal seal the masked 公民身份号码 (column
    /// `holder_uscc`, named when only units held seals).
    pub holder_id: String,
    /// Key type of the holder key.
    pub alg: String,
    /// Holder key.
    pub key_id: String,
    /// Holder certificate.
    pub cert_id: String,
    /// Start of validity (ms).
    pub valid_from: i64,
    /// End of validity (ms).
    pub valid_to: i64,
    /// PNG image.
    pub image: Vec<u8>,
    /// The SESeal DER.
    pub seal_der: Vec<u8>,
    /// `active` or `revoked`.
    pub status: String,
    /// Creation time (ms).
    pub created_at: i64,
    /// Revocation time (ms).
    pub revoked_at: Option<i64>,
    /// Why it was revoked.
    pub revoke_reason: Option<String>,
}

const CERT_COLS: &str = "id, issuer, serial, kind, key_id, subject, fingerprint, der, not_before, \
     not_after, status, revoked_at, revocation_reason, created_at";
const SEAL_COLS: &str = "id, es_id, owner, name, seal_type, holder_name, holder_uscc, alg, key_id, \
     cert_id, valid_from, valid_to, image, seal_der, status, created_at, revoked_at, revoke_reason";

fn cert_row(r: &AnyRow) -> Result<CertRow> {
    Ok(CertRow {
        id: r.try_get("id")?,
        issuer: r.try_get("issuer")?,
        serial: r.try_get("serial")?,
        kind: r.try_get("kind")?,
        key_id: r.try_get("key_id")?,
        subject: r.try_get("subject")?,
        fingerprint: r.try_get("fingerprint")?,
        der: r.try_get("der")?,
        not_before: r.try_get("not_before")?,
        not_after: r.try_get("not_after")?,
        status: r.try_get("status")?,
        revoked_at: r.try_get("revoked_at")?,
        revocation_reason: r.try_get("revocation_reason")?,
        created_at: r.try_get("created_at")?,
    })
}

fn authority_row(r: &AnyRow) -> Result<AuthorityRow> {
    Ok(AuthorityRow {
        name: r.try_get("name")?,
        family: r.try_get("family")?,
        role: r.try_get("role")?,
        cert_id: r.try_get("cert_id")?,
        key_id: r.try_get("key_id")?,
    })
}

fn seal_row(r: &AnyRow) -> Result<SealRow> {
    Ok(SealRow {
        id: r.try_get("id")?,
        es_id: r.try_get("es_id")?,
        owner: r.try_get("owner")?,
        name: r.try_get("name")?,
        seal_type: r.try_get("seal_type")?,
        holder_name: r.try_get("holder_name")?,
        holder_id: r.try_get("holder_uscc")?,
        alg: r.try_get("alg")?,
        key_id: r.try_get("key_id")?,
        cert_id: r.try_get("cert_id")?,
        valid_from: r.try_get("valid_from")?,
        valid_to: r.try_get("valid_to")?,
        image: r.try_get("image")?,
        seal_der: r.try_get("seal_der")?,
        status: r.try_get("status")?,
        created_at: r.try_get("created_at")?,
        revoked_at: r.try_get("revoked_at")?,
        revoke_reason: r.try_get("revoke_reason")?,
    })
}

impl Store {
    /// The vault's authorities.
    pub async fn authorities(&self) -> Result<Vec<AuthorityRow>> {
        let rows = sqlx::query(
            "SELECT name, family, role, cert_id, key_id FROM authorities ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(authority_row).collect()
    }

    /// A certificate by id.
    pub async fn cert(&self, id: &str) -> Result<Option<CertRow>> {
        let sql = format!("SELECT {CERT_COLS} FROM certificates WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(cert_row).transpose()
    }

    /// A certificate the vault issued, by its SHA-256 fingerprint (hex).
    pub async fn cert_by_fingerprint(&self, fingerprint: &str) -> Result<Option<CertRow>> {
        let sql = format!("SELECT {CERT_COLS} FROM certificates WHERE fingerprint = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(fingerprint)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(cert_row).transpose()
    }

    /// Every revoked certificate (the vault's revocation state, for CRLs and verification).
    pub async fn revoked_certs(&self) -> Result<Vec<CertRow>> {
        let sql = format!(
            "SELECT {CERT_COLS} FROM certificates WHERE status = 'revoked' ORDER BY revoked_at"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(cert_row).collect()
    }

    /// A seal by id.
    pub async fn seal(&self, id: &str) -> Result<Option<SealRow>> {
        let sql = format!("SELECT {SEAL_COLS} FROM seals WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(seal_row).transpose()
    }

    /// Up to `limit` of the seals granted to a client in creation order (then id), after the
    /// `(created_at, id)` position `after` (keyset pagination).
    pub async fn seals_page(
        &self,
        owner: &str,
        after: Option<(i64, &str)>,
        limit: u32,
    ) -> Result<Vec<SealRow>> {
        let sql = format!(
            "SELECT {SEAL_COLS} FROM seals WHERE owner = $1 {AFTER} ORDER BY created_at, id LIMIT $2"
        );
        let (at, id) = after.unwrap_or((i64::MIN, ""));
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(owner)
            .bind(i64::from(limit))
            .bind(at)
            .bind(id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(seal_row).collect()
    }
}

impl AuditedTx {
    /// Whether an authority of this name exists.
    pub async fn has_authority(&mut self, name: &str) -> Result<bool> {
        let row = sqlx::query("SELECT 1 AS one FROM authorities WHERE name = $1")
            .bind(name)
            .fetch_optional(&mut *self.tx)
            .await?;
        Ok(row.is_some())
    }

    /// Records an issued certificate.
    pub async fn insert_cert(&mut self, c: &CertRow) -> Result<()> {
        let sql = format!(
            "INSERT INTO certificates ({CERT_COLS}) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(c.id.as_str())
            .bind(c.issuer.as_deref())
            .bind(c.serial.as_str())
            .bind(c.kind.as_str())
            .bind(c.key_id.as_str())
            .bind(c.subject.as_str())
            .bind(c.fingerprint.as_str())
            .bind(c.der.as_slice())
            .bind(c.not_before)
            .bind(c.not_after)
            .bind(c.status.as_str())
            .bind(c.revoked_at)
            .bind(c.revocation_reason.as_deref())
            .bind(c.created_at)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Records one of the vault's authorities.
    pub async fn insert_authority(&mut self, a: &AuthorityRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO authorities (name, family, role, cert_id, key_id) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(a.name.as_str())
        .bind(a.family.as_str())
        .bind(a.role.as_str())
        .bind(a.cert_id.as_str())
        .bind(a.key_id.as_str())
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// A seal by id, read under the lock.
    pub async fn seal(&mut self, id: &str) -> Result<Option<SealRow>> {
        let sql = format!("SELECT {SEAL_COLS} FROM seals WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(seal_row).transpose()
    }

    /// Whether a seal with this esID exists.
    pub async fn es_id_taken(&mut self, es_id: &str) -> Result<bool> {
        let row = sqlx::query("SELECT 1 AS one FROM seals WHERE es_id = $1")
            .bind(es_id)
            .fetch_optional(&mut *self.tx)
            .await?;
        Ok(row.is_some())
    }

    /// Records a new seal.
    pub async fn insert_seal(&mut self, s: &SealRow) -> Result<()> {
        let sql = format!(
            "INSERT INTO seals ({SEAL_COLS}) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(s.id.as_str())
            .bind(s.es_id.as_str())
            .bind(s.owner.as_str())
            .bind(s.name.as_str())
            .bind(s.seal_type)
            .bind(s.holder_name.as_str())
            .bind(s.holder_id.as_str())
            .bind(s.alg.as_str())
            .bind(s.key_id.as_str())
            .bind(s.cert_id.as_str())
            .bind(s.valid_from)
            .bind(s.valid_to)
            .bind(s.image.as_slice())
            .bind(s.seal_der.as_slice())
            .bind(s.status.as_str())
            .bind(s.created_at)
            .bind(s.revoked_at)
            .bind(s.revoke_reason.as_deref())
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Revokes an active seal; returns its key and certificate ids, `None` if it is not active.
    pub async fn revoke_seal(
        &mut self,
        id: &str,
        at_ms: i64,
        reason: &str,
    ) -> Result<Option<(String, String)>> {
        let row = sqlx::query(
            "UPDATE seals SET status = 'revoked', revoked_at = $1, revoke_reason = $2 \
             WHERE id = $3 AND status = 'active' RETURNING key_id, cert_id",
        )
        .bind(at_ms)
        .bind(reason)
        .bind(id)
        .fetch_optional(&mut *self.tx)
        .await?;
        row.map(|r| Ok((r.try_get("key_id")?, r.try_get("cert_id")?)))
            .transpose()
    }

    /// Revokes a good certificate; false if it is absent or already revoked.
    pub async fn revoke_cert(&mut self, id: &str, at_ms: i64, reason: &str) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE certificates SET status = 'revoked', revoked_at = $1, revocation_reason = $2 \
             WHERE id = $3 AND status = 'good'",
        )
        .bind(at_ms)
        .bind(reason)
        .bind(id)
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
