//! Issuing authorities (颁证单位): each is registered in one audited transaction with its licence
//! seals (official seals of the vault named `…电子证照专用章`: SM2 for OFDs, P-256 for the PDFs
//! any reader validates), an SM2 key that signs its licences' canonical form, a P-256 key that
//! signs its status lists, a key that signs its 亮证 tokens (SM2 unless configured otherwise),
//! and its first status list.
//! Clients (approval systems) are bound to the issuers they may issue for.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use super::ledger::{Op, Outcome, now_ms};
use super::status_lists::StatusToken;
use super::{AuthClient, HolderId, NewSeal, SealKind, Vault, new_key_row, random_id};
use crate::audit::{Action, Actor, Event};
use crate::crypto::{KeyType, PrivateKey, PublicKey};
use crate::error::{Error, Result};
use crate::store::{AuditedTx, IssuerRow, KeyPurpose, StatusListRow};

/// Slots of a status list: 2^20 (256 KiB unpacked), so a list is useful for 2^19 licences
/// before the next one opens, and one slot among many tells nothing about its licence.
pub const STATUS_LIST_SLOTS: i64 = 1 << 20;

/// The owner of the keys and seals the vault holds for its issuers.
pub(crate) const VAULT_OWNER: &str = "vault";

/// The issuers' loaded keys and the status list tokens signed with them.
#[derive(Default)]
pub(crate) struct Caches {
    keys: RwLock<HashMap<String, Arc<PrivateKey>>>,
    pub(crate) tokens: RwLock<HashMap<String, Arc<StatusToken>>>,
    /// When expired idempotency keys were last deleted (ms): issuances record their keys in the
    /// ledger and do not clean on every request as reservations do.
    pub(crate) keys_cleaned_at: std::sync::atomic::AtomicI64,
    /// Issuer rows and clients' bindings as read moments ago: an issuance reads both, and
    /// rereading them on every request costs more than the rest of its checks.
    issuer_rows: Recent<IssuerRow>,
    bindings: Recent<Arc<Vec<String>>>,
}

/// How long a row read for issuing is relied on: a binding added or a row changed on another
/// node is seen within this time, like a client's state (`CLIENT_CACHE_TTL`).
const RECENT_FOR: Duration = Duration::from_secs(2);

/// Values by id, each relied on for [`RECENT_FOR`] after it was read (bounded: cleared when full).
struct Recent<T>(RwLock<HashMap<String, (Instant, T)>>);

impl<T> Default for Recent<T> {
    fn default() -> Self {
        Self(RwLock::new(HashMap::new()))
    }
}

impl<T: Clone> Recent<T> {
    const MAX: usize = 4096;

    fn get(&self, id: &str) -> Option<T> {
        let map = self.0.read().ok()?;
        let (at, value) = map.get(id)?;
        (at.elapsed() < RECENT_FOR).then(|| value.clone())
    }

    fn put(&self, id: &str, value: T) {
        if let Ok(mut map) = self.0.write() {
            if map.len() >= Self::MAX {
                map.clear();
            }
            map.insert(id.to_owned(), (Instant::now(), value));
        }
    }
}

/// A request to register an issuing authority.
#[derive(Debug, Clone)]
pub struct NewIssuer {
    /// Its name, e.g. 某某市市场监督管理局.
    pub name: String,
    /// Its 统一社会信用代码.
    pub uscc: String,
    /// GB/T 2260 region code (six digits); default the one inside the 统一社会信用代码.
    pub region: Option<String>,
}

/// An issuing authority with its current status list.
#[derive(Debug, Clone)]
pub struct IssuerInfo {
    /// The stored row.
    pub row: IssuerRow,
    /// The list new licences get their slots in.
    pub status_list_id: String,
    /// The public key that verifies its licences' signatures (SM2), PEM.
    pub signing_key_pem: String,
    /// The public key that verifies its status list tokens (P-256), PEM.
    pub status_key_pem: String,
}

/// A stored public key as PEM.
fn pem(spki_der: &[u8]) -> Result<String> {
    Ok(PublicKey::from_spki_der(spki_der)?.to_pem())
}

/// The rows an issuer adds to its seal's: the issuer, its first status list, and the entry.
#[derive(Debug)]
pub(crate) struct IssuerRows {
    pub(crate) issuer: IssuerRow,
    pub(crate) list: StatusListRow,
    pub(crate) event: Event,
}

/// Stores an issuer and its first list (inside the seal's issuance).
pub(crate) async fn insert(tx: &mut AuditedTx, rows: &IssuerRows, at: i64) -> Result<u64> {
    tx.insert_issuer(&rows.issuer).await?;
    tx.insert_status_list(&rows.list).await?;
    Ok(tx.append(rows.event.clone(), at))
}

/// Binds the active client named `client` to `issuers`.
pub(crate) async fn bind(
    tx: &mut AuditedTx,
    client: &str,
    issuers: &[String],
    actor: &Actor,
    at: i64,
) -> Result<Result<Outcome>> {
    let Some((client_id, _)) = tx.active_client_key(client).await? else {
        return Ok(Err(Error::NotFound("active client")));
    };
    for issuer in issuers {
        if !tx.issuer_exists(issuer).await? {
            return Ok(Err(Error::NotFound("issuer")));
        }
    }
    let mut bound = Vec::new();
    for issuer in issuers {
        if tx.bind_client_issuer(&client_id, issuer).await? {
            bound.push(issuer.clone());
        }
    }
    if bound.is_empty() {
        return Ok(Ok(None));
    }
    let event = Event::new(
        actor.clone(),
        Action::ClientIssuersBound,
        format!("client:{client_id}"),
    )
    .with("issuers", bound);
    Ok(Ok(Some(tx.append(event, at))))
}

/// The request for an issuer's licence seal (电子证照专用章): official, held by the issuer, drawn
/// by the vault; SM2 for OFDs and the SM2 PDF, P-256 for the PDF any reader validates.
pub(crate) fn licence_seal(name: &str, uscc: &str, alg: KeyType) -> NewSeal {
    NewSeal {
        name: format!("{name}电子证照专用章"),
        kind: SealKind::Official,
        holder_name: name.to_owned(),
        holder_id: HolderId::Uscc(uscc.to_owned()),
        valid_from: None,
        valid_to: None,
        image: None,
        size_mm: None,
        shape: None,
        alg,
        grant_to: None,
    }
}

/// A region code: six digits.
fn check_region(region: &str) -> Result<()> {
    if region.len() == 6 && region.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(Error::InvalidRequest(
            "`region` must be a GB/T 2260 region code of six digits".into(),
        ))
    }
}

impl Vault {
    /// Registers an issuing authority (admin only) with its licence seal, signing key, status
    /// list key and first status list, all in one audited transaction.
    pub async fn create_issuer(&self, client: &AuthClient, req: NewIssuer) -> Result<IssuerInfo> {
        client.require("admin")?;
        crate::ident::check_uscc(&req.uscc).map_err(|e| Error::InvalidUscc(e.to_string()))?;
        let region = match req.region {
            Some(r) => r,
            None => crate::ident::uscc_region(&req.uscc)
                .unwrap_or_default()
                .to_owned(),
        };
        check_region(&region)?;
        // The seal request checks the name (length, no invisible characters) for both.
        let (mut issuance, seal_row, _) = self
            .plan_seal(
                client,
                licence_seal(&req.name, &req.uscc, KeyType::Sm2),
                Some(VAULT_OWNER.to_owned()),
            )
            .await?;
        let (pdf_issuance, pdf_seal_row, _) = self
            .plan_seal(
                client,
                licence_seal(&req.name, &req.uscc, KeyType::P256),
                Some(VAULT_OWNER.to_owned()),
            )
            .await?;
        let inner = &self.inner;
        let new_key = |key_type, purpose| {
            new_key_row(
                &inner.master,
                &inner.rng,
                &inner.config,
                key_type,
                VAULT_OWNER,
                purpose,
                client.actor(),
            )
        };
        let (signing, signing_event) = new_key(KeyType::Sm2, KeyPurpose::LicenceSigner)?;
        let (status, status_event) = new_key(KeyType::P256, KeyPurpose::StatusList)?;
        let (presentation, presentation_event) =
            new_key(inner.config.presentation_alg, KeyPurpose::Presentation)?;
        let now = now_ms();
        let issuer = IssuerRow {
            id: random_id(&inner.rng, "iss")?,
            name: req.name,
            uscc: req.uscc,
            region,
            seal_id: seal_row.id.clone(),
            signing_key_id: signing.id.clone(),
            status_key_id: status.id.clone(),
            pdf_seal_id: Some(pdf_seal_row.id.clone()),
            presentation_key_id: Some(presentation.id.clone()),
            created_at: now,
        };
        let list = StatusListRow {
            id: random_id(&inner.rng, "sl")?,
            issuer_id: issuer.id.clone(),
            slots: STATUS_LIST_SLOTS,
            used: 0,
            created_at: now,
            updated_at: now,
        };
        let event = Event::new(
            client.actor(),
            Action::IssuerCreated,
            format!("issuer:{}", issuer.id),
        )
        .with("uscc", issuer.uscc.as_str())
        .with("region", issuer.region.as_str())
        .with("seal", issuer.seal_id.as_str())
        .with("signing_key", issuer.signing_key_id.as_str())
        .with("status_key", issuer.status_key_id.as_str())
        .with("pdf_seal", pdf_seal_row.id.as_str())
        .with("presentation_key", presentation.id.as_str())
        .with("status_list", list.id.as_str());
        let status_list_id = list.id.clone();
        let (signing_key_pem, status_key_pem) =
            (pem(&signing.public_key)?, pem(&status.public_key)?);
        issuance.keys.push((signing, signing_event));
        issuance.keys.push((status, status_event));
        issuance.keys.push((presentation, presentation_event));
        issuance.keys.extend(pdf_issuance.keys);
        issuance.certs.extend(pdf_issuance.certs);
        issuance.pdf_seal = pdf_issuance
            .seal
            .map(|(row, event)| (issuer.id.clone(), row, event));
        issuance.issuer = Some(Box::new(IssuerRows {
            issuer: issuer.clone(),
            list,
            event,
        }));
        self.apply(Op::Issue(Box::new(issuance))).await?;
        Ok(IssuerInfo {
            row: issuer,
            status_list_id,
            signing_key_pem,
            status_key_pem,
        })
    }

    /// The issuers a client may see: all for `admin`, else those it is bound to.
    pub async fn issuers(&self, client: &AuthClient) -> Result<Vec<IssuerInfo>> {
        let store = &self.inner.store;
        let mut rows = store.issuers().await?;
        if !client.allows("admin") {
            let bound = store.client_issuers(&client.id).await?;
            rows.retain(|r| bound.contains(&r.id));
        }
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let list = store
                .current_status_list(&row.id)
                .await?
                .ok_or_else(|| Error::Corrupt(format!("issuer {} has no status list", row.id)))?;
            let key = |id: String| async move {
                let row = store
                    .key(&id)
                    .await?
                    .ok_or_else(|| Error::Corrupt(format!("issuer key {id} is missing")))?;
                pem(&row.public_key)
            };
            out.push(IssuerInfo {
                signing_key_pem: key(row.signing_key_id.clone()).await?,
                status_key_pem: key(row.status_key_id.clone()).await?,
                row,
                status_list_id: list.id,
            });
        }
        Ok(out)
    }

    /// Binds the active client named `client` to issuers (each must exist); binding twice is
    /// no change.
    pub async fn bind_issuers(&self, client: &str, issuers: &[String], actor: Actor) -> Result<()> {
        self.apply(Op::BindIssuers {
            client: client.to_owned(),
            issuers: issuers.to_vec(),
            actor,
        })
        .await?;
        Ok(())
    }

    /// The ids of the issuers a client is bound to, as read at most [`RECENT_FOR`] ago, or now
    /// when that reading lacks `wanted` (a binding just made counts at once).
    pub(super) async fn recent_bindings(
        &self,
        client_id: &str,
        wanted: Option<&str>,
    ) -> Result<Arc<Vec<String>>> {
        let recent = &self.inner.licensing.bindings;
        if let Some(bound) = recent.get(client_id)
            && wanted.is_none_or(|id| bound.iter().any(|b| b == id))
        {
            return Ok(bound);
        }
        let bound = Arc::new(self.inner.store.client_issuers(client_id).await?);
        recent.put(client_id, bound.clone());
        Ok(bound)
    }

    /// An issuer's row, as read at most [`RECENT_FOR`] ago.
    pub(super) async fn recent_issuer(&self, id: &str) -> Result<Option<IssuerRow>> {
        let recent = &self.inner.licensing.issuer_rows;
        if let Some(row) = recent.get(id) {
            return Ok(Some(row));
        }
        let row = self.inner.store.issuer(id).await?;
        if let Some(row) = &row {
            recent.put(id, row.clone());
        }
        Ok(row)
    }

    /// One of the vault's issuer keys, checked to be an active key made for `purpose` when it
    /// is first loaded.
    pub(crate) async fn issuer_key(
        &self,
        id: &str,
        purpose: KeyPurpose,
    ) -> Result<Arc<PrivateKey>> {
        let cached = self
            .inner
            .licensing
            .keys
            .read()
            .map_err(|_| Error::Unavailable)?
            .get(id)
            .cloned();
        if let Some(k) = cached {
            return Ok(k);
        }
        let row = self
            .inner
            .store
            .key(id)
            .await?
            .ok_or_else(|| Error::Corrupt(format!("issuer key {id} is missing")))?;
        if row.purpose != purpose || row.status != "active" {
            return Err(Error::Corrupt(format!(
                "issuer key {id} is not an active {} key",
                purpose.as_str()
            )));
        }
        let key = Arc::new(super::unwrap_key(&self.inner.master, &row)?);
        self.inner
            .licensing
            .keys
            .write()
            .map_err(|_| Error::Unavailable)?
            .insert(id.to_owned(), key.clone());
        Ok(key)
    }
}
