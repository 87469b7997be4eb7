//! The append-only audit log: canonical records in an RFC 6962 Merkle tree, signed checkpoints
//! (C2SP signed notes), inclusion and consistency proofs, and whole-log verification.
//!
//! Storage lives in `store`; this module is the format and the arithmetic. Every audited state
//! change reaches the log through `store::AuditedTx`, so the change and its entry commit together.

mod checkpoint;
mod merkle;
mod note;
mod record;

use std::collections::BTreeMap;

pub use checkpoint::{CHECKPOINT_ALG, Checkpoint, NoteError};
pub use merkle::{
    CompactRange, Hash, NodeId, consistency_proof, consistency_proof_nodes, empty_root,
    inclusion_proof, inclusion_proof_nodes, leaf_hash, node_hash, verify_consistency,
    verify_inclusion,
};
pub use note::{NoteSignature, SM2_SM3_TYPE, SignedNote, sm2_key_id};
pub use record::{Action, Actor, Event, Record, SIGNATURE_SHA256, signature_sha256};

use crate::crypto::PublicKey;
use crate::error::Error;

/// One row of the log as stored.
#[derive(Debug, Clone)]
pub struct StoredEntry {
    /// Position.
    pub index: u64,
    /// Time column.
    pub at_ms: i64,
    /// Actor column.
    pub actor: String,
    /// Action column.
    pub action: String,
    /// Subject column.
    pub subject: String,
    /// The hashed record bytes.
    pub record: Vec<u8>,
    /// The stored leaf hash.
    pub leaf_hash: Vec<u8>,
}

/// What a successful verification covered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifySummary {
    /// Entries checked.
    pub entries: u64,
    /// Signed checkpoints checked.
    pub checkpoints: usize,
    /// Root of the whole log.
    pub root: Hash,
}

/// Replays the log entry by entry and checks it against the signed checkpoints.
#[derive(Debug)]
pub struct LogVerifier {
    range: CompactRange,
    checkpoints: BTreeMap<u64, Hash>,
}

fn broken(index: u64, reason: impl Into<String>) -> Error {
    Error::AuditBroken {
        index,
        reason: reason.into(),
    }
}

impl LogVerifier {
    /// Starts a verification; every checkpoint must carry a valid signature by `key`.
    ///
    /// Checkpoints come from the database and from the copy kept outside it; two that state
    /// different roots for the same size are a fork, which is an error.
    pub fn new(checkpoints: &[Checkpoint], key: &PublicKey) -> Result<Self, Error> {
        let mut roots = BTreeMap::new();
        for cp in checkpoints {
            let root = cp
                .verify(key)
                .ok_or_else(|| broken(cp.size, "checkpoint signature does not verify"))?;
            if let Some(prev) = roots.insert(cp.size, root)
                && prev != root
            {
                return Err(broken(cp.size, "two checkpoints state different roots"));
            }
        }
        Ok(Self {
            range: CompactRange::default(),
            checkpoints: roots,
        })
    }

    /// Checks the next stored entry and folds it into the tree.
    pub fn feed(&mut self, e: &StoredEntry) -> Result<(), Error> {
        let expected = self.range.size();
        if e.index != expected {
            return Err(broken(
                expected,
                format!("missing (next stored entry is {})", e.index),
            ));
        }
        let leaf = leaf_hash(&e.record);
        if e.leaf_hash != leaf {
            return Err(broken(
                e.index,
                "record does not match its leaf hash (edited)",
            ));
        }
        let rec = Record::from_bytes(&e.record)
            .ok_or_else(|| broken(e.index, "record is not a valid audit record"))?;
        if rec.index != e.index
            || rec.at_ms != e.at_ms
            || rec.actor != e.actor
            || rec.action != e.action
            || rec.subject != e.subject
        {
            return Err(broken(
                e.index,
                "columns disagree with the hashed record (edited)",
            ));
        }
        self.range.append(leaf, |_, _| {});
        if let Some(root) = self.checkpoints.get(&self.range.size())
            && *root != self.range.root()
        {
            return Err(broken(
                e.index,
                format!(
                    "log does not match the signed checkpoint of size {}",
                    self.range.size()
                ),
            ));
        }
        Ok(())
    }

    /// Ends the replay: the head row and every checkpoint must fit the entries seen.
    pub fn finish(self, head: &CompactRange) -> Result<VerifySummary, Error> {
        let size = self.range.size();
        if let Some((&cp_size, _)) = self.checkpoints.range(size + 1..).next() {
            return Err(broken(
                size,
                format!(
                    "log has {size} entries but a signed checkpoint covers {cp_size} (truncated)"
                ),
            ));
        }
        if head.size() != size || head.root() != self.range.root() {
            return Err(broken(
                size.min(head.size()),
                format!("head row says {} entries, the log has {size}", head.size()),
            ));
        }
        Ok(VerifySummary {
            entries: size,
            checkpoints: self.checkpoints.len(),
            root: self.range.root(),
        })
    }
}
