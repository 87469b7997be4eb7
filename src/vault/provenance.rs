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
//! is reported as not in its log. Signatures released before the index existed (migration 3)
//! are not found either: a vault upgraded from an older version reports them as not in its log.

use super::Vault;
use crate::audit::Record;
use crate::error::Result;
use crate::verify::{AuditFinding, Report, SignatureIdentity};

impl Vault {
    /// Adds the audit-log finding to every signature of `report`.
    pub(crate) async fn add_audit_findings(&self, report: &mut Report) -> Result<()> {
        for i in 0..report.signatures.len() {
            let finding = match report.signatures[i].identity.clone() {
                Some(id) => self.audit_finding(&id).await?,
                None => AuditFinding::Foreign,
            };
            report.apply_audit(i, finding);
        }
        Ok(())
    }

    async fn audit_finding(&self, id: &SignatureIdentity) -> Result<AuditFinding> {
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
            return Ok(AuditFinding::NotInLog);
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
}
