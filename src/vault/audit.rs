//! The vault's audit log as its callers see it: checkpoints, inclusion and consistency proofs,
//! and the replay of the whole log against the checkpoints.

use super::ledger::checkpoint_now;
use super::{AuthClient, Vault};
use crate::audit::{
    Checkpoint, Hash, LogVerifier, StoredEntry, VerifySummary, consistency_proof,
    consistency_proof_nodes, inclusion_proof, inclusion_proof_nodes,
};
use crate::crypto::PublicKey;
use crate::error::{Error, Result};

/// An audit entry with its inclusion proof against a signed checkpoint.
#[derive(Debug, Clone)]
pub struct InclusionProof {
    /// The entry.
    pub entry: StoredEntry,
    /// Sibling hashes, leaf to root (RFC 6962 audit path).
    pub audit_path: Vec<Hash>,
    /// The checkpoint the path leads to.
    pub checkpoint: Checkpoint,
}

impl Vault {
    /// The newest signed checkpoint, and the audit public key that signed it.
    pub async fn latest_checkpoint(&self) -> Result<(Checkpoint, PublicKey)> {
        let cp = match self.inner.store.latest_checkpoint().await? {
            Some(cp) => cp,
            None => self.checkpoint().await?,
        };
        Ok((cp, self.inner.checkpointer.key.public_key()))
    }

    /// Signs a checkpoint covering every entry committed so far (or returns the one that does).
    pub async fn checkpoint(&self) -> Result<Checkpoint> {
        match &self.ledger {
            Some(l) => l.checkpoint().await,
            None => checkpoint_now(&self.inner.store, &self.inner.checkpointer, &mut Vec::new())
                .await
                .ok_or(Error::Unavailable),
        }
    }

    /// An audit entry and its inclusion proof; clients see their own entries unless they hold `audit`.
    pub async fn inclusion_proof(&self, client: &AuthClient, index: u64) -> Result<InclusionProof> {
        let store = &self.inner.store;
        let entry = store
            .entry(index)
            .await?
            .ok_or(Error::NotFound("audit entry"))?;
        if !client.allows("audit") && entry.actor != client.actor().to_string() {
            return Err(Error::NotFound("audit entry"));
        }
        let mut checkpoint = self.latest_checkpoint().await?.0;
        if checkpoint.size <= index {
            checkpoint = self.checkpoint().await?;
        }
        let nodes = store
            .nodes(&inclusion_proof_nodes(index, checkpoint.size))
            .await?;
        let audit_path = inclusion_proof(index, checkpoint.size, |id| nodes.get(&id).copied())
            .ok_or_else(|| Error::Corrupt("audit tree nodes are missing".into()))?;
        Ok(InclusionProof {
            entry,
            audit_path,
            checkpoint,
        })
    }

    /// An RFC 6962 consistency proof from the log's first `from` entries to its first `to`
    /// (`from ≤ to ≤` the log's size; empty when `from` is 0 or equals `to`).
    pub async fn consistency_proof(&self, from: u64, to: u64) -> Result<Vec<Hash>> {
        if from > to {
            return Err(Error::InvalidRequest("`from` exceeds `to`".into()));
        }
        let store = &self.inner.store;
        if to > store.head().await?.size() {
            return Err(Error::NotFound("log size"));
        }
        let nodes = store.nodes(&consistency_proof_nodes(from, to)).await?;
        consistency_proof(from, to, |id| nodes.get(&id).copied())
            .ok_or_else(|| Error::Corrupt("audit tree nodes are missing".into()))
    }

    /// The audit public key pinned outside the database (the vault's own when no pin is found).
    pub fn audit_public_key(&self) -> Result<PublicKey> {
        match std::fs::read_to_string(self.inner.config.audit_key_file()) {
            Ok(pem) => Ok(PublicKey::from_pem(&pem)?),
            Err(_) => Ok(self.inner.checkpointer.key.public_key()),
        }
    }

    /// Replays the whole log against the signed checkpoints (in the database and outside it).
    pub async fn verify_audit_log(&self) -> Result<VerifySummary> {
        self.verify_audit_log_against(None).await
    }

    /// Replays the whole log against the signed checkpoints and, when given, a checkpoint saved
    /// away from the data directory (the text of a signed note or of the JSON body of
    /// `GET /v1/audit/checkpoint`): the log must then extend that checkpoint, which is what
    /// catches a truncation that also removed the later checkpoints here.
    pub async fn verify_audit_log_against(&self, saved: Option<&str>) -> Result<VerifySummary> {
        let config = &self.inner.config;
        let pinned = self.audit_public_key()?;
        let saved_broken = |reason: String| Error::AuditBroken { index: 0, reason };
        let saved = saved
            .map(|text| {
                let cp = Checkpoint::from_saved(text, &pinned)
                    .map_err(|e| saved_broken(format!("the saved checkpoint: {e}")))?;
                match cp.origin() {
                    Some(o) if o == self.inner.checkpointer.origin => Ok(cp),
                    o => Err(saved_broken(format!(
                        "the saved checkpoint is of another log ({})",
                        o.unwrap_or("no origin")
                    ))),
                }
            })
            .transpose()?;
        // Checkpoints first, then the head: a writer running meanwhile only ever adds.
        let mut checkpoints = self.inner.store.checkpoints().await?;
        match std::fs::read_to_string(config.checkpoint_file()) {
            Ok(text) => {
                for (n, line) in text
                    .lines()
                    .enumerate()
                    .filter(|(_, l)| !l.trim().is_empty())
                {
                    let cp: Checkpoint =
                        serde_json::from_str(line).map_err(|_| Error::AuditBroken {
                            index: 0,
                            reason: format!(
                                "line {} of {} is not a checkpoint",
                                n + 1,
                                config.checkpoint_file().display()
                            ),
                        })?;
                    checkpoints.push(cp);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
        checkpoints.extend(saved);
        let mut verifier = LogVerifier::new(&checkpoints, &pinned)?;
        let head = self.inner.store.head().await?;
        let mut next = 0u64;
        while next < head.size() {
            let page = self.inner.store.entries(next, 5000).await?;
            if page.is_empty() {
                break;
            }
            for e in page.iter().take_while(|e| e.index < head.size()) {
                verifier.feed(e)?;
                next = e.index + 1;
            }
            if page.last().is_some_and(|e| e.index >= head.size()) {
                break;
            }
        }
        verifier.finish(&head)
    }
}
