//! The verification report every verifier returns: one verdict for the document, one entry per
//! signature, each a list of named [`Check`]s.
//!
//! A leaf: the format modules (`pki`, `cms`, `tsa`, `pdf`, `ofd`) record their checks here and
//! `verify` assembles the report, so the formats need not depend on the procedure that uses them.
//! What a certificate contributes (the signer's readable name, a PDF seal's summary) is added by
//! `verify`, which knows certificates.

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

    /// The verdict's name as the JSON report writes it, e.g. `VALID_WITH_ALLOWED_LATER_CHANGES`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Valid => "VALID",
            Verdict::ValidWithAllowedLaterChanges => "VALID_WITH_ALLOWED_LATER_CHANGES",
            Verdict::ModifiedAfterSealing => "MODIFIED_AFTER_SEALING",
            Verdict::Invalid => "INVALID",
            Verdict::Untrusted => "UNTRUSTED",
            Verdict::Indeterminate => "INDETERMINATE",
        }
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

/// A named finding that leaves the verdict as it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Warning {
    /// Stable name, e.g. `ofd.coverage`, `ofd.coverage_displayed`.
    pub name: String,
    /// What was found, in words.
    pub detail: String,
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
    /// The signer as a person reads it: the certificate's commonName, and its organizationName
    /// in parentheses when that differs (e.g. `张三 (某某市市场监督管理局)`).
    pub signer_name: Option<String>,
    /// The seal: from the SES structure when the signature carries one, otherwise (PDF) from
    /// the seal holder certificate's organizationalUnitName, organizationName and serialNumber.
    pub seal: Option<SealSummary>,
    /// The signing time the checks used (RFC 3339, UTC).
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>)]
    pub signed_at: Option<OffsetDateTime>,
    /// Where `signed_at` comes from.
    pub signed_at_source: Option<TimeSource>,
    /// The trust anchor (RFC 4514 subject) the signer's chain reaches, when it is trusted.
    pub trust_anchor: Option<String>,
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
    /// What the verdict does not rest on but a relying party should know (e.g. `ofd.coverage`:
    /// files no signature protects). Absent when there are none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Warning>,
    /// A handwritten signature's facts: what it bound and, where the vault that made it
    /// verifies, its signer and evidence. Absent for seals and other signatures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handwriting: Option<Handwriting>,
    /// Who made the signature and its hash, for the vault's audit-log lookup
    /// ([`crate::verify::audit`]); internal, never shown.
    #[serde(skip)]
    pub identity: Option<SignatureIdentity>,
}

/// What a handwritten signature bound, and what the vault that keeps its evidence found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Handwriting {
    /// `sha256` or `sm3`.
    pub digest_alg: String,
    /// Digest (hex) of the canonical pen capture, as signed.
    pub capture_digest: String,
    /// Digest (hex) of the consent text the signer saw, as signed.
    pub consent_digest: String,
    /// The signer's name, masked (张*), from the vault's record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signer: Option<String>,
    /// How the approval system verified the signer: `face`, `bank_card` or `counter`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verified_by: Option<String>,
    /// `matched` (the capture the vault keeps hashes to what was signed), `mismatch`,
    /// `missing` (no evidence for this signature), or `unchecked` (no vault to ask).
    pub evidence: String,
    /// `active` or `cancelled`, from the vault's record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signer_status: Option<String>,
    /// When the signer was cancelled, if it was (RFC 3339, UTC).
    #[serde(
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>)]
    pub cancelled_at: Option<OffsetDateTime>,
    /// Whether it was signed before the signer's cancellation (only when cancelled).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signed_before_cancellation: Option<bool>,
}

impl SignatureReport {
    /// A report of `kind` with nothing established yet: not intact, not trusted, INVALID.
    pub(crate) fn blank(kind: &str) -> SignatureReport {
        SignatureReport {
            kind: kind.to_owned(),
            intact: false,
            trusted: false,
            signer: None,
            signer_name: None,
            seal: None,
            signed_at: None,
            signed_at_source: None,
            trust_anchor: None,
            revoked_at: None,
            verdict: Verdict::Invalid,
            checks: Vec::new(),
            warnings: Vec::new(),
            handwriting: None,
            identity: None,
        }
    }
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

/// Where a signature's signing time comes from, most trustworthy first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TimeSource {
    /// A verified time-stamp token's genTime (signature time-stamp or document time-stamp).
    TimeStamp,
    /// The SES_Signature's `timeInfo`, the signer's claim.
    TimeInfo,
    /// The CMS signingTime attribute, the signer's claim.
    SigningTime,
    /// The PDF signature dictionary's `/M`, the signer's claim.
    PdfM,
    /// A seal's `createDate` (a seal verified on its own).
    CreateDate,
    /// No time in the signature: the verification time was used.
    VerificationTime,
}

impl TimeSource {
    /// The source in words.
    pub fn describe(self) -> &'static str {
        match self {
            TimeSource::TimeStamp => "the time-stamp",
            TimeSource::TimeInfo => "the signature's timeInfo",
            TimeSource::SigningTime => "the signingTime attribute",
            TimeSource::PdfM => "the signature dictionary's /M",
            TimeSource::CreateDate => "the seal's createDate",
            TimeSource::VerificationTime => "the verification time (no time in the signature)",
        }
    }
}

/// The seal a signature was made with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SealSummary {
    /// The seal's name: `SES_ESPropertyInfo.name`, or for a PDF seal the holder certificate's
    /// organizationalUnitName (e.g. 合同专用章).
    pub name: String,
    /// Who holds the seal: the holder certificate's organizationName (a unit), or its
    /// commonName for a personal seal.
    pub holder: Option<String>,
    /// The holder's identifier: the holder certificate's serialNumber (for a unit its
    /// 统一社会信用代码).
    pub holder_id: Option<String>,
    /// The seal's unique code (`esID`); absent for a PDF seal, which carries no SES structure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub es_id: Option<String>,
    /// The seal's format version (1, 4 or 5 as found in the header); absent for a PDF seal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
}

/// The report for one document or one detached signature.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Report {
    /// The verdict for the whole document: the worst of its signatures, or INVALID/INDETERMINATE.
    pub verdict: Verdict,
    /// The time the checks were made as of (RFC 3339, UTC): now, or the validation time asked for.
    #[serde(
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>)]
    pub validation_time: Option<OffsetDateTime>,
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
    /// The electronic licence (电子证照) the document says it is, and whether that is confirmed;
    /// absent when its signed metadata names none. The verdict above is the seals' alone: a
    /// revoked licence's file is still genuinely sealed, and this section says it is revoked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub licence: Option<LicenceReport>,
    /// The licence metadata the document carries, for the vault to judge
    /// ([`crate::verify::licence`]); internal, never shown.
    #[serde(skip)]
    pub licence_claim: Option<LicenceClaim>,
}

/// The licence metadata a document carries (OFD: `DocInfo/CustomDatas`; PDF: the document
/// information dictionary), and which signatures protect it as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenceClaim {
    /// 证照标识 (`证照标识`, `/LicenceID`).
    pub id: String,
    /// 证照类型代码 (`证照类型代码`, `/LicenceType`); empty when absent.
    pub type_code: String,
    /// 颁发机构代码 (`颁发机构代码`, `/LicenceIssuer`); empty when absent.
    pub issuer_uscc: String,
    /// The document's title (OFD `DocInfo/Title`, PDF `/Title`).
    pub title: Option<String>,
    /// Indices (in [`Report::signatures`]) of the signatures that protect the metadata exactly
    /// as it is now.
    pub signed_by: Vec<usize>,
    /// Why the metadata itself cannot be relied on (a key given twice, a key missing).
    pub problem: Option<String>,
}

/// The licence a document carries, as the report shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct LicenceReport {
    /// 证照标识, as the document's metadata gives it.
    pub id: String,
    /// 证照类型代码, as the document's metadata gives it.
    #[serde(rename = "type")]
    pub type_code: String,
    /// 证照名称: the type's name in the vault's catalogue, else the document's title.
    pub type_name: Option<String>,
    /// 颁发机构: `uscc` as the document gives it; `id` and `name` from the vault's record.
    pub issuer: LicenceIssuerReport,
    /// Whether the claim is confirmed: the metadata is protected by a VALID signature of the
    /// issuer's licence seal, and the vault's record of the licence has this identifier, type
    /// and issuer.
    pub confirmed: bool,
    /// Why the claim is not confirmed (absent when it is): `invalid_id`, `ambiguous_metadata`,
    /// `metadata_not_signed`, `no_vault`, `unknown_licence`, `not_sealed_by_issuer`,
    /// `mismatch`. The checks say more.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unconfirmed_reason: Option<String>,
    /// The licence's status now: `valid`, `suspended`, `revoked`, `cancelled`, `expired`,
    /// `superseded`, or `unknown` (no vault, or a licence the vault does not know).
    pub status: String,
    /// The national status code (01 有效, 02 暂扣, 04 注销, 05 失效, 07 吊销); absent when unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_code: Option<String>,
    /// The licence's slot in its issuer's signed status list and what the list says there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_list: Option<LicenceSlot>,
    /// The index (in `signatures`) of the issuer's seal signature that confirms the claim.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sealed_by: Option<usize>,
    /// Every check made on the claim, in order (`licence.*`).
    pub checks: Vec<Check>,
}

/// The issuer of a licence in a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct LicenceIssuerReport {
    /// The vault's issuer id; absent when the vault does not know the licence.
    pub id: Option<String>,
    /// 颁发机构 name, from the vault's record.
    pub name: Option<String>,
    /// 颁发机构代码 (统一社会信用代码), as the document gives it.
    pub uscc: String,
}

/// A licence's slot in its issuer's status list, as the signed list token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct LicenceSlot {
    /// The list's id.
    pub id: String,
    /// The slot.
    pub index: i64,
    /// Where the list is served (`GET /v1/status-lists/{id}`).
    pub uri: String,
    /// What the signed list says: `valid`, `invalid`, `suspended`, or `unreadable` when the
    /// token could not be checked.
    pub slot: String,
}

/// A link of a PDF that opens an address when clicked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DocumentLink {
    /// The page it lies on, from 1.
    pub page: usize,
    /// The address (URI) it opens, as written in the document.
    pub uri: String,
}
