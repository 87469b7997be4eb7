//! Whether a signature under one of the vault's signers is one the vault made: its audit log
//! records every signature it releases ([`crate::audit::signature_sha256`] of the raw value,
//! indexed by the store in the same transaction), so the lookup is exact.
//!
//! "One of the vault's signers" means the signer certificate the signature verifies under is in
//! the vault's `certificates` table (by SHA-256 fingerprint): the vault issued it for a key it
//! generated and holds (seal holders, TSAs, its CAs), so every signature under it must have
//! been released through the vault, and recorded. Signatures by anyone else get no finding.
//! A seal on its own is looked up by its maker signature (the `seal.created` entry).
//!
//! What is compared is the signature value as released, byte for byte: an ECDSA value rewritten
//! by someone else (`s` replaced by `n − s` still verifies) is not what the vault released and
//! is reported as not in its log.
//!
//! A vault upgraded from a version without the index (migration 3 on a log that had entries)
//! released signatures nobody indexed: migration 3 stores when indexing began, and a signature
//! of its signers that is not found and is dated before then (or not dated) is undecidable
//! (INDETERMINATE, `before_audit_index`), not INVALID. A fresh vault has no such time.

use time::OffsetDateTime;

use super::Vault;
use crate::audit::Record;
use crate::error::{Error, Result};
use crate::verify::{AuditFinding, Report, SignatureIdentity};

/// The `vault_meta` entry migration 3 writes when the log already held entries (ms).
const INDEXED_SINCE: &str = "audit_signatures_since_ms";

impl Vault {
    /// Adds the audit-log finding to every signature of `report`.
    pub(crate) async fn add_audit_findings(&self, report: &mut Report) -> Result<()> {
        for i in 0..report.signatures.len() {
            let sig = &report.signatures[i];
            let finding = match sig.identity.clone() {
                Some(id) => self.audit_finding(&id, sig.signed_at).await?,
                None => AuditFinding::Foreign,
            };
            report.apply_audit(i, finding);
        }
        Ok(())
    }

    async fn audit_finding(
        &self,
        id: &SignatureIdentity,
        signed_at: Option<OffsetDateTime>,
    ) -> Result<AuditFinding> {
        let store = &self.inner.store;
        if store
            .cert_by_fingerprint(&id.signer_fingerprint)
            .await?
            .is_none()
        {
            return Ok(AuditFinding::Foreign);
        }
        let Some(sha) = id.signature_sha256 else {
            return Ok(AuditFinding::NotInLog);
        };
        let Some(index) = store.signature_entry(&sha).await? else {
            return self.not_found(signed_at).await;
        };
        // The index only points; the hashed entry itself must record this signature.
        let recorded = store
            .entry(index)
            .await?
            .and_then(|e| Record::from_bytes(&e.record))
            .and_then(|r| r.signature_sha256());
        Ok(if recorded == Some(sha) {
            AuditFinding::InLog(index)
        } else {
            AuditFinding::NotInLog
        })
    }

    /// A signature of the vault's signers that the index does not hold.
    async fn not_found(&self, signed_at: Option<OffsetDateTime>) -> Result<AuditFinding> {
        let Some(since) = self.inner.store.meta(INDEXED_SINCE).await? else {
            return Ok(AuditFinding::NotInLog);
        };
        let since = since
            .parse::<i64>()
            .ok()
            .and_then(|ms| {
                OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
            })
            .ok_or_else(|| Error::Corrupt(format!("{INDEXED_SINCE} is not a time")))?;
        Ok(match signed_at {
            Some(t) if t >= since => AuditFinding::NotInLog,
            _ => AuditFinding::BeforeIndex { since },
        })
    }
}
