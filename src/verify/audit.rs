//! What the vault's own audit log says about a signature: a check only a verifier that is also
//! the signer can make. The vault looks each signature up (it has the database; this module
//! has none) and hands the finding here.

use time::OffsetDateTime;

use super::clock::rfc3339;
use crate::report::{Check, Report, Verdict};

/// The check's name.
pub const AUDIT_CHECK: &str = "audit.in_log";

/// The reason a signature by one of the vault's signers fails [`AUDIT_CHECK`] with.
pub const NOT_IN_AUDIT_LOG: &str = "not_in_audit_log";

/// The reason [`AUDIT_CHECK`] cannot decide: the signature is dated before the log indexed
/// signatures.
pub const BEFORE_AUDIT_INDEX: &str = "before_audit_index";

/// What the vault's audit log holds for one signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditFinding {
    /// The signer is not one of the vault's: the log cannot say anything, no check is added.
    Foreign,
    /// The vault released this signature; the entry at this index records it.
    InLog(u64),
    /// The signer is one of the vault's, but no entry records this signature.
    NotInLog,
    /// Not found, but dated before the vault began indexing signatures (a vault upgraded from
    /// a version without the index): its log cannot say either way.
    BeforeIndex {
        /// When the index began.
        since: OffsetDateTime,
    },
}

impl Report {
    /// Adds [`AUDIT_CHECK`] to signature `i` (out of range: nothing). A signature of the vault's
    /// signer that its log does not hold was made outside the vault with its key (a copied key)
    /// or forged: the signature and the document become INVALID and the document says why.
    pub fn apply_audit(&mut self, i: usize, finding: AuditFinding) {
        let Some(sig) = self.signatures.get_mut(i) else {
            return;
        };
        match finding {
            AuditFinding::Foreign => {}
            AuditFinding::InLog(index) => sig.checks.push(Check::new(
                AUDIT_CHECK,
                true,
                format!("this vault recorded making this signature in audit entry {index}"),
            )),
            AuditFinding::NotInLog => {
                let why = format!(
                    "{NOT_IN_AUDIT_LOG}: the signer is one of this vault's, but this vault never \
                     recorded making this signature; it was made with a copied key or forged"
                );
                sig.checks.push(Check::new(AUDIT_CHECK, false, why.clone()));
                sig.verdict = Verdict::Invalid;
                self.verdict = self.verdict.worst(Verdict::Invalid);
                self.problems.push(format!("signature {}: {why}", i + 1));
            }
            AuditFinding::BeforeIndex { since } => {
                let why = format!(
                    "{BEFORE_AUDIT_INDEX}: the signer is one of this vault's and the signature is \
                     dated before {}, when this vault began recording signature hashes; its \
                     log cannot confirm it",
                    rfc3339(since)
                );
                sig.checks.push(Check::new(AUDIT_CHECK, false, why.clone()));
                sig.verdict = sig.verdict.worst(Verdict::Indeterminate);
                self.verdict = self.verdict.worst(Verdict::Indeterminate);
                self.problems.push(format!("signature {}: {why}", i + 1));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::SignatureReport;

    fn report() -> Report {
        let mut sig = SignatureReport::blank("ses-v4");
        sig.intact = true;
        sig.trusted = true;
        sig.verdict = Verdict::Valid;
        Report {
            verdict: Verdict::Valid,
            validation_time: None,
            format: "ses-signature".into(),
            signatures: vec![sig.clone(), sig],
            problems: Vec::new(),
            links: Vec::new(),
            licence: None,
            licence_claim: None,
        }
    }

    #[test]
    fn a_signature_missing_from_the_log_makes_the_document_invalid() {
        let mut r = report();
        r.apply_audit(0, AuditFinding::InLog(7));
        r.apply_audit(1, AuditFinding::NotInLog);
        assert_eq!(r.verdict, Verdict::Invalid);
        assert_eq!(r.signatures[0].verdict, Verdict::Valid);
        assert!(r.signatures[0].checks[0].ok);
        assert!(r.signatures[0].checks[0].detail.contains("entry 7"));
        assert_eq!(r.signatures[1].verdict, Verdict::Invalid);
        assert!(
            r.signatures[1].checks[0]
                .detail
                .starts_with(NOT_IN_AUDIT_LOG)
        );
        assert!(r.problems[0].contains("never recorded making this signature"));
    }

    #[test]
    fn a_signature_dated_before_the_index_is_undecided_not_invalid() {
        let mut r = report();
        r.apply_audit(
            0,
            AuditFinding::BeforeIndex {
                since: OffsetDateTime::UNIX_EPOCH,
            },
        );
        assert_eq!(r.verdict, Verdict::Indeterminate);
        assert_eq!(r.signatures[0].verdict, Verdict::Indeterminate);
        assert!(
            r.signatures[0].checks[0]
                .detail
                .starts_with(BEFORE_AUDIT_INDEX)
        );
        // An INVALID signature stays INVALID.
        r.signatures[1].verdict = Verdict::Invalid;
        r.apply_audit(
            1,
            AuditFinding::BeforeIndex {
                since: OffsetDateTime::UNIX_EPOCH,
            },
        );
        assert_eq!(r.signatures[1].verdict, Verdict::Invalid);
    }

    #[test]
    fn foreign_signatures_get_no_audit_check() {
        let mut r = report();
        r.apply_audit(0, AuditFinding::Foreign);
        assert!(r.signatures[0].checks.is_empty());
        assert_eq!(r.verdict, Verdict::Valid);
    }
}
