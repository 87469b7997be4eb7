//! Licence files (电子证照): the licence a sealed document says it is, and whether that holds.
//!
//! The claim is read from metadata a seal can protect: in an OFD the `DocInfo/CustomDatas` of
//! `OFD.xml` (`证照标识`, `证照类型代码`, `颁发机构代码`), which the first seal references; in a
//! PDF the document information dictionary (`/LicenceID`, `/LicenceType`, `/LicenceIssuer`) of
//! the revision a signature ends at. Only signatures that protect that metadata exactly as it is
//! now count for the claim ([`LicenceClaim::signed_by`]).
//!
//! Judging the claim needs the vault's records ([`LicenceLookup`]); the rules are here so that
//! they are the same with a vault and without one. The claim is confirmed only if the vault
//! issued that licence, a VALID signature made with the issuer's licence seal protects the
//! metadata, and the identifier, type and issuer agree with the record. The document's verdict
//! is never changed: a revoked licence's file is still sealed, and the licence section says
//! the licence is revoked.

use crate::licence::LicenceId;
use crate::ofd::{OfdSignatures, Protection};
use crate::pdf::{Dict, Object, PdfFile, PdfSignature, text_string};
use crate::report::{Check, LicenceClaim, LicenceIssuerReport, LicenceReport, LicenceSlot, Report};

/// The OFD `CustomData` names of the claim: 证照标识, 证照类型代码, 颁发机构代码.
pub const OFD_KEYS: [&str; 3] = ["证照标识", "证照类型代码", "颁发机构代码"];

/// The PDF document information keys of the claim (without the slash).
pub const PDF_KEYS: [&[u8]; 3] = [b"LicenceID", b"LicenceType", b"LicenceIssuer"];

/// Why a claim is unconfirmed, most fundamental first: the first that applies is the report's
/// `unconfirmed_reason`.
const REASONS: [&str; 7] = [
    "ambiguous_metadata",
    "invalid_id",
    "metadata_not_signed",
    "no_vault",
    "unknown_licence",
    "not_sealed_by_issuer",
    "mismatch",
];

/// What the vault knows of the licence a document claims.
#[derive(Debug, Clone)]
pub enum LicenceLookup {
    /// No vault was opened (`sidian verify` without a data directory): nothing is known.
    NoVault,
    /// The vault has no licence with this identifier.
    Unknown,
    /// The vault's record of it.
    Known(Box<LicenceRecord>),
}

/// The vault's record of a licence, as a claim is checked against it.
#[derive(Debug, Clone)]
pub struct LicenceRecord {
    /// 证照类型代码.
    pub type_code: String,
    /// 证照名称.
    pub type_name: String,
    /// The issuer's id.
    pub issuer_id: String,
    /// 颁发机构.
    pub issuer_name: String,
    /// 颁发机构代码.
    pub issuer_uscc: String,
    /// The status now (`valid`, `revoked` …).
    pub status: &'static str,
    /// The national status code.
    pub status_code: &'static str,
    /// SHA-256 fingerprints (hex) of the certificates of the issuer's licence seals.
    pub seal_fingerprints: Vec<String>,
    /// The licence's slot and what the issuer's signed list says there.
    pub slot: LicenceSlot,
    /// What the slot must say for the status (`valid`, `invalid`, `suspended`).
    pub expected_slot: &'static str,
}

/// Reads the claim of an OFD: the `CustomData` of every `DocInfo`, and the signatures that
/// protect `OFD.xml` as it is. `None` when no `证照标识` is given.
pub(super) fn ofd_claim(found: &OfdSignatures) -> Option<LicenceClaim> {
    let values = |key: &str| -> Vec<String> {
        found
            .custom_data
            .iter()
            .filter(|(name, _)| name == key)
            .map(|(_, v)| v.clone())
            .collect()
    };
    let signed_by = found
        .signatures
        .iter()
        .enumerate()
        .filter(|(_, s)| {
            s.protected
                .iter()
                .any(|(p, state)| p == "/OFD.xml" && *state == Protection::Matches)
        })
        .map(|(i, _)| i)
        .collect();
    claim(
        OFD_KEYS.map(values),
        found.titles.first().cloned(),
        signed_by,
        OFD_KEYS.map(|k| format!("the CustomData {k}")),
    )
}

/// The claim's three values and the title as the information dictionary of the revision
/// ending at section `upto - 1` gives them; `None` without a dictionary.
fn pdf_info(file: &PdfFile<'_>, upto: usize) -> Option<([Vec<String>; 3], Option<String>)> {
    let trailer = &file.sections().get(upto.checked_sub(1)?)?.trailer;
    let info = file.resolve_at(trailer.get(b"Info")?, upto).ok()?;
    let info: &Dict = info.as_dict()?;
    let text = |key: &[u8]| -> Option<String> {
        match file.resolve_at(info.get(key)?, upto).ok()? {
            Object::String { bytes, .. } => Some(text_string(&bytes).trim().to_owned()),
            _ => None,
        }
    };
    Some((
        PDF_KEYS.map(|k| text(k).into_iter().collect()),
        text(b"Title"),
    ))
}

/// Reads the claim of a PDF from the newest revision's information dictionary; the signatures
/// that protect it are those whose own revision has the same claim and title.
pub(super) fn pdf_claim(file: &PdfFile<'_>, found: &[PdfSignature]) -> Option<LicenceClaim> {
    let (values, title) = pdf_info(file, file.sections().len())?;
    let signed_by = found
        .iter()
        .enumerate()
        .filter(|(_, s)| {
            s.byte_range.is_some()
                && s.revision
                    .and_then(|r| pdf_info(file, r + 1))
                    .is_some_and(|(v, t)| v == values && t == title)
        })
        .map(|(i, _)| i)
        .collect();
    claim(
        values,
        title,
        signed_by,
        PDF_KEYS.map(|k| {
            format!(
                "the information dictionary's /{}",
                String::from_utf8_lossy(k)
            )
        }),
    )
}

/// A claim from each key's values (none, one, or — refused — several).
fn claim(
    values: [Vec<String>; 3],
    title: Option<String>,
    signed_by: Vec<usize>,
    names: [String; 3],
) -> Option<LicenceClaim> {
    let [ids, types, issuers] = values;
    let first = |v: &[String]| v.first().cloned().unwrap_or_default();
    let id = ids.first()?.clone();
    let mut problems = Vec::new();
    for (v, name) in [&ids, &types, &issuers].into_iter().zip(&names) {
        match v.len() {
            0 => problems.push(format!("{name} is missing")),
            1 => {}
            n => problems.push(format!(
                "{name} is given {n} times: a reader may show another value than is checked"
            )),
        }
    }
    Some(LicenceClaim {
        id,
        type_code: first(&types),
        issuer_uscc: first(&issuers),
        title,
        signed_by,
        problem: (!problems.is_empty()).then(|| problems.join("; ")),
    })
}

impl Report {
    /// Sets the licence section from the document's claim (if any) and what the vault knows of
    /// it (see the module documentation). The verdict is left as it is.
    pub fn apply_licence(&mut self, lookup: LicenceLookup) {
        let Some(claim) = self.licence_claim.clone() else {
            return;
        };
        let mut checks = Vec::new();
        let mut reasons = Vec::new();
        let mut check = |name: &str, ok: bool, detail: String, reason: &'static str| {
            if !ok && !reason.is_empty() {
                reasons.push(reason);
            }
            checks.push(Check::new(name, ok, detail));
        };
        match &claim.problem {
            Some(p) => check("licence.metadata", false, p.clone(), "ambiguous_metadata"),
            None => check(
                "licence.metadata",
                true,
                "证照标识, 证照类型代码 and 颁发机构代码 are each given once".into(),
                "",
            ),
        }
        match LicenceId::parse(&claim.id) {
            Ok(id)
                if id.type_code() == claim.type_code && id.issuer_code() == claim.issuer_uscc =>
            {
                check(
                    "licence.id",
                    true,
                    "a GB/T 36904 证照标识 whose check character holds, naming the claimed \
                     type and issuer"
                        .into(),
                    "",
                );
            }
            Ok(_) => check(
                "licence.id",
                false,
                "the 证照标识 names another type or issuer than the metadata".into(),
                "mismatch",
            ),
            Err(e) => check(
                "licence.id",
                false,
                format!("not a GB/T 36904 证照标识: {e}"),
                "invalid_id",
            ),
        }
        let numbers = |v: &[usize]| {
            v.iter()
                .map(|i| (i + 1).to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        if claim.signed_by.is_empty() {
            check(
                "licence.metadata_signed",
                false,
                "no signature protects the licence metadata as it is now".into(),
                "metadata_not_signed",
            );
        } else {
            check(
                "licence.metadata_signed",
                true,
                format!(
                    "signature {} protects the licence metadata as it is",
                    numbers(&claim.signed_by)
                ),
                "",
            );
        }
        let mut section = LicenceReport {
            id: claim.id.clone(),
            type_code: claim.type_code.clone(),
            type_name: claim.title.clone(),
            issuer: LicenceIssuerReport {
                id: None,
                name: None,
                uscc: claim.issuer_uscc.clone(),
            },
            confirmed: false,
            unconfirmed_reason: None,
            status: "unknown".into(),
            status_code: None,
            status_list: None,
            sealed_by: None,
            checks: Vec::new(),
        };
        match lookup {
            LicenceLookup::NoVault => check(
                "licence.record",
                false,
                "status unknown (no vault): the licence was not looked up".into(),
                "no_vault",
            ),
            LicenceLookup::Unknown => check(
                "licence.record",
                false,
                "the vault has issued no licence with this 证照标识".into(),
                "unknown_licence",
            ),
            LicenceLookup::Known(r) => {
                check(
                    "licence.record",
                    true,
                    format!(
                        "issued by {} ({}): {}",
                        r.issuer_name, r.issuer_uscc, r.status
                    ),
                    "",
                );
                match self.issuer_seal(&claim, &r.seal_fingerprints) {
                    Ok(i) => {
                        check(
                            "licence.issuer_seal",
                            true,
                            format!(
                                "signature {} is a VALID signature of the issuer's licence seal",
                                i + 1
                            ),
                            "",
                        );
                        section.sealed_by = Some(i);
                    }
                    Err((reason, why)) => check("licence.issuer_seal", false, why, reason),
                }
                let mut differs = Vec::new();
                if claim.type_code != r.type_code {
                    differs.push("证照类型代码");
                }
                if claim.issuer_uscc != r.issuer_uscc {
                    differs.push("颁发机构代码");
                }
                if claim.title.as_ref().is_some_and(|t| *t != r.type_name) {
                    differs.push("the title (证照名称)");
                }
                check(
                    "licence.matches_record",
                    differs.is_empty(),
                    if differs.is_empty() {
                        "the type, issuer and title agree with the vault's record".into()
                    } else {
                        format!("differs from the vault's record: {}", differs.join(", "))
                    },
                    "mismatch",
                );
                let agrees = r.slot.slot == r.expected_slot;
                // A disagreement is the vault's inconsistency, not the document's: it is shown
                // but leaves the claim as it is.
                check(
                    "licence.status_list",
                    agrees,
                    format!(
                        "the issuer's signed status list {} says {} at slot {}{}",
                        r.slot.id,
                        r.slot.slot,
                        r.slot.index,
                        if agrees {
                            String::new()
                        } else {
                            format!(", but the licence is {}", r.status)
                        }
                    ),
                    "",
                );
                section.type_name = Some(r.type_name.clone());
                section.issuer.id = Some(r.issuer_id.clone());
                section.issuer.name = Some(r.issuer_name.clone());
                section.status = r.status.to_owned();
                section.status_code = Some(r.status_code.to_owned());
                section.status_list = Some(r.slot.clone());
            }
        }
        section.unconfirmed_reason = REASONS
            .iter()
            .find(|r| reasons.contains(*r))
            .map(|r| (*r).to_owned());
        section.confirmed = section.unconfirmed_reason.is_none();
        section.checks = checks;
        self.licence = Some(section);
    }

    /// Indices of the signatures made under one of `fingerprints`.
    fn issuer_signatures(&self, fingerprints: &[String]) -> Vec<usize> {
        self.signatures
            .iter()
            .enumerate()
            .filter(|(_, s)| {
                s.identity
                    .as_ref()
                    .is_some_and(|id| fingerprints.contains(&id.signer_fingerprint))
            })
            .map(|(i, _)| i)
            .collect()
    }

    /// The first VALID signature of the issuer's seal that protects the claim, or why none is
    /// (the reason and the detail).
    fn issuer_seal(
        &self,
        claim: &LicenceClaim,
        fingerprints: &[String],
    ) -> Result<usize, (&'static str, String)> {
        let mine = self.issuer_signatures(fingerprints);
        let over_claim: Vec<usize> = mine
            .iter()
            .copied()
            .filter(|i| claim.signed_by.contains(i))
            .collect();
        if let Some(&i) = over_claim.iter().find(|&&i| {
            let s = &self.signatures[i];
            s.intact && s.trusted && s.verdict.is_accepted()
        }) {
            return Ok(i);
        }
        Err(if mine.is_empty() {
            (
                "not_sealed_by_issuer",
                "no signature of the document is made with the issuer's licence seal".into(),
            )
        } else if over_claim.is_empty() {
            (
                "metadata_not_signed",
                "the issuer's licence seal signs the document, but not the licence metadata as \
                 it is now"
                    .into(),
            )
        } else {
            let verdicts: Vec<String> = over_claim
                .iter()
                .map(|&i| {
                    format!(
                        "signature {}: {}",
                        i + 1,
                        self.signatures[i].verdict.as_str()
                    )
                })
                .collect();
            (
                "not_sealed_by_issuer",
                format!(
                    "the issuer's licence seal signature is not VALID ({})",
                    verdicts.join(", ")
                ),
            )
        })
    }
}

#[cfg(test)]
mod tests;
