//! Verification that knows licences: the public page a licence's QR code leads to, and the
//! licence section of a verification report (the vault's record of the licence a sealed file
//! claims, its issuer's licence seal, and its slot in the issuer's signed status list).

use super::Vault;
use super::ledger::now_ms;
use super::licences::{LicenceStatus, date_of, valid_to_text};
use crate::crypto::{PublicKey, SignatureAlgorithm, ec_signature};
use crate::error::{Error, Result};
use crate::licence::status_list::parse_token;
use crate::licence::{LicenceId, SlotStatus, StatusList};
use crate::store::{IssuerRow, LicenceRow};
use crate::verify::{LicenceLookup, LicenceRecord, LicenceSlot, Report};

/// A licence as anyone holding its paper may see it: no holder identifier, the holder's name
/// masked when the holder is a person.
#[derive(Debug, Clone)]
pub struct PublicLicence {
    /// 证照标识.
    pub id: String,
    /// 证照类型代码.
    pub type_code: String,
    /// 证照名称.
    pub type_name: String,
    /// The issuer.
    pub issuer: IssuerRow,
    /// The status now.
    pub status: LicenceStatus,
    /// The licence's slot: list id, index and the list's URL.
    pub slot: (String, i64, String),
    /// 有效期起始, `YYYY-MM-DD`.
    pub valid_from: String,
    /// 有效期截止, `YYYY-MM-DD` or `长期`.
    pub valid_to: String,
    /// 持证主体: an organisation's name as it is, a person's masked.
    pub holder_name: String,
    /// When the status was read (ms).
    pub checked_at: i64,
}

/// What the status list slot must say for a status.
fn expected_slot(status: LicenceStatus) -> SlotStatus {
    match status {
        LicenceStatus::Valid => SlotStatus::Valid,
        LicenceStatus::Suspended => SlotStatus::Suspended,
        _ => SlotStatus::Invalid,
    }
}

/// The slot `index` of a status list token, if the token's ES256 signature verifies under
/// `key` and its list can be read.
fn signed_slot(token: &str, key: &PublicKey, index: i64) -> Option<SlotStatus> {
    let parsed = parse_token(token).ok()?;
    let der = ec_signature::der_from_raw(&parsed.signature).ok()?;
    key.verify(
        SignatureAlgorithm::EcdsaP256Sha256,
        parsed.signing_input.as_bytes(),
        &der,
    )
    .ok()?;
    let list = StatusList::from_claim(parsed.payload.get("status_list")?).ok()?;
    list.get(usize::try_from(index).ok()?)
}

impl Vault {
    /// The public view of a licence (`GET /v1/licences/{id}/verify`): 400 `invalid_field`
    /// naming `id` for an identifier that is not a GB/T 36904 证照标识, 404 for one the vault
    /// did not issue.
    pub async fn public_licence(&self, id: &str) -> Result<PublicLicence> {
        LicenceId::parse(id).map_err(|e| Error::InvalidField(format!("id: {e}")))?;
        let (row, issuer) = self
            .licence_with_issuer(id)
            .await?
            .ok_or(Error::NotFound("licence"))?;
        let licence_type = self.licence_types().get(&row.type_code);
        let personal = row.holder_id_type != "001"
            || licence_type.is_some_and(|t| t.holder_kind == crate::licence::HolderKind::Person);
        let now = now_ms();
        Ok(PublicLicence {
            status: LicenceStatus::of(&row, now)?,
            checked_at: now,
            type_name: licence_type.map(|t| t.name.clone()).unwrap_or_default(),
            slot: (
                row.list_id.clone(),
                row.list_index,
                self.status_list_url(&row.list_id),
            ),
            valid_from: date_of(row.valid_from),
            valid_to: valid_to_text(row.valid_to),
            holder_name: if personal {
                crate::ident::mask_text(&row.holder_name)
            } else {
                row.holder_name.clone()
            },
            id: row.id,
            type_code: row.type_code,
            issuer,
        })
    }

    /// Where a status list is served.
    fn status_list_url(&self, list_id: &str) -> String {
        let base = self.config().public_url.as_deref().unwrap_or("");
        format!("{base}/v1/status-lists/{list_id}")
    }

    async fn licence_with_issuer(&self, id: &str) -> Result<Option<(LicenceRow, IssuerRow)>> {
        let store = &self.inner.store;
        let Some(row) = store.licence(id).await? else {
            return Ok(None);
        };
        let issuer = store
            .issuer(&row.issuer_id)
            .await?
            .ok_or_else(|| Error::Corrupt(format!("issuer of licence {id} is missing")))?;
        Ok(Some((row, issuer)))
    }

    /// Adds the licence section to a report whose document claims a licence: the vault's
    /// record of it, the certificates of its issuer's licence seals, and its slot in the
    /// issuer's signed status list.
    pub(crate) async fn add_licence_finding(&self, report: &mut Report) -> Result<()> {
        let Some(claim) = &report.licence_claim else {
            return Ok(());
        };
        let found = match LicenceId::parse(&claim.id) {
            Ok(_) => self.licence_with_issuer(&claim.id).await?,
            Err(_) => None,
        };
        let lookup = match found {
            None => LicenceLookup::Unknown,
            Some((row, issuer)) => LicenceLookup::Known(Box::new(self.record(row, issuer).await?)),
        };
        report.apply_licence(lookup);
        Ok(())
    }

    /// The SHA-256 fingerprint of a seal's holder certificate, which its signatures verify under.
    async fn seal_fingerprint(&self, seal_id: &str) -> Result<String> {
        let store = &self.inner.store;
        let seal = store
            .seal(seal_id)
            .await?
            .ok_or_else(|| Error::Corrupt(format!("seal {seal_id} is missing")))?;
        let cert = store
            .cert(&seal.cert_id)
            .await?
            .ok_or_else(|| Error::Corrupt(format!("certificate of seal {seal_id} is missing")))?;
        Ok(cert.fingerprint)
    }

    async fn record(&self, row: LicenceRow, issuer: IssuerRow) -> Result<LicenceRecord> {
        let store = &self.inner.store;
        let status = LicenceStatus::of(&row, now_ms())?;
        // The SM2 seal on its OFDs and, once made, the P-256 seal on its PDFs.
        let mut seal_fingerprints = vec![self.seal_fingerprint(&issuer.seal_id).await?];
        if let Some(pdf_seal) = &issuer.pdf_seal_id {
            seal_fingerprints.push(self.seal_fingerprint(pdf_seal).await?);
        }
        let token = self.status_list_token(&row.list_id).await?;
        let key = store.key(&issuer.status_key_id).await?.ok_or_else(|| {
            Error::Corrupt(format!("status key of issuer {} is missing", issuer.id))
        })?;
        let key = PublicKey::from_spki_der(&key.public_key)?;
        let slot = signed_slot(&token.token, &key, row.list_index)
            .map_or("unreadable", SlotStatus::as_str);
        Ok(LicenceRecord {
            type_name: self
                .licence_types()
                .get(&row.type_code)
                .map(|t| t.name.clone())
                .unwrap_or_default(),
            type_code: row.type_code,
            issuer_id: issuer.id,
            issuer_name: issuer.name,
            issuer_uscc: issuer.uscc,
            status: status.as_str(),
            status_code: status.code(),
            seal_fingerprints,
            slot: LicenceSlot {
                uri: self.status_list_url(&row.list_id),
                id: row.list_id,
                index: row.list_index,
                slot: slot.to_owned(),
            },
            expected_slot: expected_slot(status).as_str(),
        })
    }
}
