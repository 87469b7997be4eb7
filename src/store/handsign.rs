//! Rows of handwritten e-signatures: signers, their reference signatures, capture sessions and
//! the capture evidence of each signature (captures always wrapped by the caller).

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{AuditedTx, Store};
use crate::error::Result;

/// An enrolled signer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignerRow {
    /// `sgr_` and 32 hex digits.
    pub id: String,
    /// The approval system that enrolled the signer (and alone uses it).
    pub client_id: String,
    /// The name with all but its first character masked.
    pub name_masked: String,
    /// `resident_id`, `passport`, …
    pub id_type: String,
    /// Keyed hash of the ID number (hex).
    pub id_hmac: String,
    /// The ID number with its middle masked.
    pub id_masked: String,
    /// The phone number with its middle masked.
    pub phone_masked: String,
    /// `face`, `bank_card` or `counter`.
    pub verified_by: String,
    /// The signer's P-256 key (PDF signatures that international validators check).
    pub key_id: String,
    /// Its certificate.
    pub cert_id: String,
    /// The signer's SM2 key (OFD signatures, PDF on request).
    pub sm2_key_id: String,
    /// Its certificate.
    pub sm2_cert_id: String,
    /// `active` or `cancelled`.
    pub status: String,
    /// When enrolled (ms).
    pub created_at: i64,
    /// When cancelled (ms).
    pub cancelled_at: Option<i64>,
}

/// A capture session behind a one-time `/sign/{token}` link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    /// `sss_` and 32 hex digits.
    pub id: String,
    /// SHA-256 (hex) of the link's token.
    pub token_sha256: String,
    /// Who signs.
    pub signer_id: String,
    /// The approval system that opened it.
    pub client_id: String,
    /// The consent text shown.
    pub consent: String,
    /// When made (ms).
    pub created_at: i64,
    /// When the link stops working (ms).
    pub expires_at: i64,
    /// The wrapped capture, once drawn.
    pub capture: Option<Vec<u8>>,
    /// When it was drawn (ms).
    pub captured_at: Option<i64>,
}

/// What one handwritten signature bound, kept as evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceRow {
    /// SHA-256 (hex) of the raw signature value.
    pub signature_sha256: String,
    /// Who signed.
    pub signer_id: String,
    /// The wrapped canonical capture.
    pub capture: Vec<u8>,
    /// Digest (hex) of the canonical capture, as bound.
    pub capture_digest: String,
    /// Digest (hex) of the consent text, as bound.
    pub consent_digest: String,
    /// `sha256` or `sm3`.
    pub digest_alg: String,
    /// When (ms).
    pub created_at: i64,
}

const SIGNER_COLS: &str = "id, client_id, name_masked, id_type, id_hmac, id_masked, phone_masked, \
     verified_by, key_id, cert_id, sm2_key_id, sm2_cert_id, status, created_at, cancelled_at";

fn signer_row(r: &AnyRow) -> Result<SignerRow> {
    Ok(SignerRow {
        id: r.try_get("id")?,
        client_id: r.try_get("client_id")?,
        name_masked: r.try_get("name_masked")?,
        id_type: r.try_get("id_type")?,
        id_hmac: r.try_get("id_hmac")?,
        id_masked: r.try_get("id_masked")?,
        phone_masked: r.try_get("phone_masked")?,
        verified_by: r.try_get("verified_by")?,
        key_id: r.try_get("key_id")?,
        cert_id: r.try_get("cert_id")?,
        sm2_key_id: r.try_get("sm2_key_id")?,
        sm2_cert_id: r.try_get("sm2_cert_id")?,
        status: r.try_get("status")?,
        created_at: r.try_get("created_at")?,
        cancelled_at: r.try_get("cancelled_at")?,
    })
}

const SESSION_COLS: &str =
    "id, token_sha256, signer_id, client_id, consent, created_at, expires_at, capture, captured_at";

fn session_row(r: &AnyRow) -> Result<SessionRow> {
    Ok(SessionRow {
        id: r.try_get("id")?,
        token_sha256: r.try_get("token_sha256")?,
        signer_id: r.try_get("signer_id")?,
        client_id: r.try_get("client_id")?,
        consent: r.try_get("consent")?,
        created_at: r.try_get("created_at")?,
        expires_at: r.try_get("expires_at")?,
        capture: r.try_get("capture")?,
        captured_at: r.try_get("captured_at")?,
    })
}

impl Store {
    /// A signer by id.
    pub async fn signer(&self, id: &str) -> Result<Option<SignerRow>> {
        let sql = format!("SELECT {SIGNER_COLS} FROM signers WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(signer_row).transpose()
    }

    /// The signer whose certificate has this SHA-256 fingerprint.
    pub async fn signer_by_cert_fingerprint(&self, fingerprint: &str) -> Result<Option<SignerRow>> {
        let sql = format!(
            "SELECT {} FROM signers s JOIN certificates c \
             ON c.id = s.cert_id OR c.id = s.sm2_cert_id WHERE c.fingerprint = $1",
            SIGNER_COLS
                .split(", ")
                .map(|c| format!("s.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(fingerprint)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(signer_row).transpose()
    }

    /// A signer's wrapped reference captures, in order.
    pub async fn signer_references(&self, signer_id: &str) -> Result<Vec<Vec<u8>>> {
        let rows =
            sqlx::query("SELECT capture FROM signer_references WHERE signer_id = $1 ORDER BY seq")
                .bind(signer_id)
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(|r| Ok(r.try_get("capture")?)).collect()
    }

    /// Stores a new capture session.
    pub async fn insert_signing_session(&self, s: &SessionRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO signing_sessions (id, token_sha256, signer_id, client_id, consent, \
             created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(s.id.as_str())
        .bind(s.token_sha256.as_str())
        .bind(s.signer_id.as_str())
        .bind(s.client_id.as_str())
        .bind(s.consent.as_str())
        .bind(s.created_at)
        .bind(s.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A session by id.
    pub async fn signing_session(&self, id: &str) -> Result<Option<SessionRow>> {
        let sql = format!("SELECT {SESSION_COLS} FROM signing_sessions WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(session_row).transpose()
    }

    /// A session by its token's hash.
    pub async fn signing_session_by_token(&self, token_sha256: &str) -> Result<Option<SessionRow>> {
        let sql = format!("SELECT {SESSION_COLS} FROM signing_sessions WHERE token_sha256 = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(token_sha256)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(session_row).transpose()
    }

    /// Stores the capture of a live session not yet drawn; false if it was drawn or expired
    /// (one conditional UPDATE: two submissions cannot both win).
    pub async fn capture_signing_session(
        &self,
        id: &str,
        capture: &[u8],
        now: i64,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE signing_sessions SET capture = $1, captured_at = $2 \
             WHERE id = $3 AND capture IS NULL AND expires_at > $2",
        )
        .bind(capture)
        .bind(now)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The evidence of the signature whose value hashes to `signature_sha256`.
    pub async fn handsign_evidence(&self, signature_sha256: &str) -> Result<Option<EvidenceRow>> {
        let row = sqlx::query(
            "SELECT signature_sha256, signer_id, capture, capture_digest, consent_digest, \
             digest_alg, created_at FROM handsign_evidence WHERE signature_sha256 = $1",
        )
        .bind(signature_sha256)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| -> Result<EvidenceRow> {
            Ok(EvidenceRow {
                signature_sha256: r.try_get("signature_sha256")?,
                signer_id: r.try_get("signer_id")?,
                capture: r.try_get("capture")?,
                capture_digest: r.try_get("capture_digest")?,
                consent_digest: r.try_get("consent_digest")?,
                digest_alg: r.try_get("digest_alg")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .transpose()
    }
}

impl AuditedTx {
    /// Stores a new signer.
    pub async fn insert_signer(&mut self, s: &SignerRow) -> Result<()> {
        let sql = format!(
            "INSERT INTO signers ({SIGNER_COLS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(s.id.as_str())
            .bind(s.client_id.as_str())
            .bind(s.name_masked.as_str())
            .bind(s.id_type.as_str())
            .bind(s.id_hmac.as_str())
            .bind(s.id_masked.as_str())
            .bind(s.phone_masked.as_str())
            .bind(s.verified_by.as_str())
            .bind(s.key_id.as_str())
            .bind(s.cert_id.as_str())
            .bind(s.sm2_key_id.as_str())
            .bind(s.sm2_cert_id.as_str())
            .bind(s.status.as_str())
            .bind(s.created_at)
            .bind(s.cancelled_at)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// The signer, read under the log lock.
    pub async fn signer(&mut self, id: &str) -> Result<Option<SignerRow>> {
        let sql = format!("SELECT {SIGNER_COLS} FROM signers WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(signer_row).transpose()
    }

    /// Marks an active signer cancelled; false if it was cancelled already.
    pub async fn cancel_signer(&mut self, id: &str, at_ms: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE signers SET status = 'cancelled', cancelled_at = $1 \
             WHERE id = $2 AND status = 'active'",
        )
        .bind(at_ms)
        .bind(id)
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Appends wrapped reference captures to a signer's, numbered after those it has.
    pub async fn insert_references(
        &mut self,
        signer_id: &str,
        captures: &[Vec<u8>],
        at_ms: i64,
    ) -> Result<i64> {
        let row = sqlx::query(
            "SELECT COALESCE(MAX(seq), 0) AS n FROM signer_references WHERE signer_id = $1",
        )
        .bind(signer_id)
        .fetch_one(&mut *self.tx)
        .await?;
        let mut seq: i64 = row.try_get("n")?;
        for capture in captures {
            seq += 1;
            sqlx::query(
                "INSERT INTO signer_references (signer_id, seq, capture, created_at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(signer_id)
            .bind(seq)
            .bind(capture.as_slice())
            .bind(at_ms)
            .execute(&mut *self.tx)
            .await?;
        }
        Ok(seq)
    }

    /// Stores the evidence of a handwritten signature.
    pub async fn insert_evidence(&mut self, e: &EvidenceRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO handsign_evidence (signature_sha256, signer_id, capture, capture_digest, \
             consent_digest, digest_alg, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(e.signature_sha256.as_str())
        .bind(e.signer_id.as_str())
        .bind(e.capture.as_slice())
        .bind(e.capture_digest.as_str())
        .bind(e.consent_digest.as_str())
        .bind(e.digest_alg.as_str())
        .bind(e.created_at)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }
}
