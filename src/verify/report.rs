//! The verification report every verifier returns: one verdict for the document, one entry per signature.

use serde::Serialize;
use time::OffsetDateTime;

/// The verdict for a whole document or a single signature, worst first in [`Verdict::worst`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Verdict {
    /// Every check passed and every signer chains to a trust anchor.
    Valid,
    /// Valid, and the document was changed after signing only in ways the signer allowed.
    ValidWithAllowedLaterChanges,
    /// The signatures are intact over what they cover, but the document changed after sealing.
    ModifiedAfterSealing,
    /// A cryptographic, hash, format or policy check failed.
    Invalid,
    /// Intact, but a signer does not chain to a trust anchor.
    Untrusted,
    /// The verifier could not decide (e.g. no signatures, or revocation status unknown).
    Indeterminate,
}

impl Verdict {
    /// Whether a document with this verdict is accepted (`sidian verify` exits 0).
    pub fn is_accepted(self) -> bool {
        matches!(self, Verdict::Valid | Verdict::ValidWithAllowedLaterChanges)
    }

    fn severity(self) -> u8 {
        match self {
            Verdict::Valid => 0,
            Verdict::ValidWithAllowedLaterChanges => 1,
            Verdict::Indeterminate => 2,
            Verdict::Untrusted => 3,
            Verdict::ModifiedAfterSealing => 4,
            Verdict::Invalid => 5,
        }
    }

    /// The worse of two verdicts.
    pub fn worst(self, other: Verdict) -> Verdict {
        if other.severity() > self.severity() {
            other
        } else {
            self
        }
    }
}

/// One named check and its outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Check {
    /// Stable name, e.g. `reference:/Doc_0/Document.xml`, `seal.maker_signature`.
    pub name: String,
    /// Whether it passed.
    pub ok: bool,
    /// What was found, in words; never secret material.
    pub detail: String,
}

impl Check {
    /// A check with its outcome and detail.
    pub fn new(name: impl Into<String>, ok: bool, detail: impl Into<String>) -> Check {
        Check {
            name: name.into(),
            ok,
            detail: detail.into(),
        }
    }
}

/// Everything found about one signature in a document.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SignatureReport {
    /// What kind of signature: `ses-v1`, `ses-v4`, `ses-v5`, `ofd-sign-cms`, `pdf-cades`, `pdf-pkcs7`, `pdf-doc-timestamp`.
    pub kind: String,
    /// Every cryptographic and hash check passed.
    pub intact: bool,
    /// The signer's chain reaches a trust anchor and is valid at the signing time.
    pub trusted: bool,
    /// Signer certificate subject (RFC 4514), when known.
    pub signer: Option<String>,
    /// Seal name and id (`esID`), when the signature carries a seal.
    pub seal: Option<SealSummary>,
    /// Claimed signing time (RFC 3339, UTC).
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>)]
    pub signed_at: Option<OffsetDateTime>,
    /// When the signer's certificate was revoked, if it was (RFC 3339, UTC).
    #[serde(
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>)]
    pub revoked_at: Option<OffsetDateTime>,
    /// The verdict for this signature alone.
    pub verdict: Verdict,
    /// Every check made, in order.
    pub checks: Vec<Check>,
    /// Who made the signature and its hash, for the vault's audit-log lookup
    /// ([`super::audit`]); internal, never shown.
    #[serde(skip)]
    pub identity: Option<SignatureIdentity>,
}

/// What identifies a signature to the vault that may have made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureIdentity {
    /// SHA-256 fingerprint (hex) of the signer certificate the signature verifies under.
    pub signer_fingerprint: String,
    /// [`crate::audit::signature_sha256`] of the raw signature value, where the format's value
    /// is read (not for OFD `Type="Sign"` CMS, which the vault never makes).
    pub signature_sha256: Option<[u8; 32]>,
}

/// The seal a signature was made with.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SealSummary {
    /// The seal's name (`SES_ESPropertyInfo.name`).
    pub name: String,
    /// The seal's unique code (`esID`).
    pub es_id: String,
    /// The seal's format version (1, 4 or 5 as found in the header).
    pub version: i64,
}

/// The report for one document or one detached signature.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Report {
    /// The verdict for the whole document: the worst of its signatures, or INVALID/INDETERMINATE.
    pub verdict: Verdict,
    /// Document format found: `ofd`, `pdf`, `ses-signature`, `ses-seal`.
    pub format: String,
    /// One entry per signature found.
    pub signatures: Vec<SignatureReport>,
    /// Document-level problems (unreadable container, no signatures …).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
    /// PDF: the links a reader may click that open an address (link annotations with a URI
    /// action), in page order. They are the only actions a sealed PDF may carry besides going
    /// to a page of the same document, and are listed so that the relying party sees where
    /// the document can send a reader. Absent when there are none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<DocumentLink>,
}

/// A link of a PDF that opens an address when clicked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DocumentLink {
    /// The page it lies on, from 1.
    pub page: usize,
    /// The address (URI) it opens, as written in the document.
    pub uri: String,
}
