//! Bulk issuance of existing licences (存量证照电子化) and batches through the API.
//!
//! A licence of an import is identified by (issuer, type, 证照编号), which the store keeps unique
//! among live licences: a number already there with the same content is skipped as imported, with
//! other content it is a conflict. So a rerun after a crash imports exactly what is missing, with
//! no journal of its own. Each batch is one audited transaction (every licence's row and its
//! audit entry commit together), and [`Importer::run`] signs the next batch on every core while
//! the current one commits.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde_json::Value;

use super::ledger::now_ms;
use super::licences::{
    IssuingLicence, LICENCE_ISSUE_SCOPE, LicenceHolder, LicenceSigner, NewLicence, may_issue,
    new_row, random_below,
};
use super::{AuthClient, Vault};
use crate::audit::{Action, Actor, Event};
use crate::error::{Error, Result};
use crate::store::{AuditedTx, LicenceRow, StatusListRow};

/// Licences per transaction: large enough that the commit (an fsync) is amortised, small
/// enough that a kill loses little work and a batch's statements stay modest.
pub const IMPORT_BATCH: usize = 4096;

/// One licence to import: an existing licence, with its number.
#[derive(Debug, Clone)]
pub struct ImportRow {
    /// 持证主体.
    pub holder: LicenceHolder,
    /// 证照编号 (required: an existing licence has one; it identifies the row on a rerun).
    pub number: String,
    /// 有效期起始 (`YYYY-MM-DD`); default today.
    pub valid_from: Option<String>,
    /// 有效期截止 (`YYYY-MM-DD` or `长期`); default from the type's validity.
    pub valid_to: Option<String>,
    /// 颁发日期 of the original licence (`YYYY-MM-DD`); default today.
    pub issued_on: Option<String>,
    /// 照面信息, checked against the type's schema.
    pub fields: Value,
}

/// What became of one row.
#[derive(Debug)]
pub enum ImportOutcome {
    /// Imported now, with this 证照标识.
    Created(String),
    /// Imported before, with the same content (this 证照标识).
    Exists(String),
    /// Refused: the error names the field where there is one.
    Rejected(Error),
}

/// A row checked and signed, waiting for its batch to commit.
#[derive(Debug)]
pub struct Prepared {
    issuing: IssuingLicence,
    /// Which dates the row gave (defaults depend on the day, so they are not compared).
    given: Given,
}

#[derive(Debug, Clone, Copy)]
struct Given {
    valid_from: bool,
    valid_to: bool,
    issued_on: bool,
}

/// Imports licences of one type for one issuer, as one client (or operator).
#[derive(Clone)]
pub struct Importer {
    vault: Vault,
    signer: Arc<LicenceSigner>,
    type_code: String,
    issuer_id: String,
    owner: String,
    /// The request the importer was made in, named in every audit entry.
    request_id: Option<String>,
}

impl std::fmt::Debug for Importer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Importer")
            .field("type_code", &self.type_code)
            .field("issuer_id", &self.issuer_id)
            .finish_non_exhaustive()
    }
}

impl Vault {
    /// An importer of licences of `type_code` for `issuer` (or the client's only issuer), if the
    /// client may issue them.
    pub async fn importer(
        &self,
        client: &AuthClient,
        issuer: Option<&str>,
        type_code: &str,
    ) -> Result<Importer> {
        if !may_issue(client, type_code) {
            return Err(Error::Forbidden(format!(
                "{LICENCE_ISSUE_SCOPE}:{}",
                type_code.chars().take(32).collect::<String>()
            )));
        }
        let licence_type = self
            .licence_types()
            .get(type_code)
            .ok_or(Error::NotFound("licence type"))?;
        let issuer = self.issuing_for(client, issuer).await?;
        let issuer_id = issuer.id.clone();
        let signer = self
            .licence_signer(client, issuer, &licence_type.name)
            .await?;
        Ok(Importer {
            vault: self.clone(),
            signer: Arc::new(signer),
            type_code: licence_type.code.clone(),
            issuer_id,
            owner: client.id.clone(),
            request_id: crate::request_id::current(),
        })
    }
}

impl Importer {
    /// Which of the rows' numbers the issuer has for this type already (read without the log
    /// lock: [`Self::prepare`] then signs only the others, and [`Self::commit`] decides).
    pub async fn known_numbers(&self, rows: &[Result<ImportRow>]) -> Result<HashSet<String>> {
        let numbers: Vec<&str> = rows
            .iter()
            .filter_map(|r| r.as_ref().ok().map(|r| r.number.as_str()))
            .collect();
        self.vault
            .inner
            .store
            .live_licence_numbers(&self.issuer_id, &self.type_code, &numbers)
            .await
    }

    /// Checks rows and signs those whose number is not `known`, on every core (CPU-bound: call
    /// it off the async runtime); a row that is already an error (unreadable in its file) stays
    /// one.
    pub fn prepare(
        &self,
        rows: Vec<Result<ImportRow>>,
        known: &HashSet<String>,
    ) -> Vec<Result<Prepared>> {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let per = rows.len().div_ceil(threads).max(64);
        let now = now_ms();
        if rows.len() <= per {
            return self.prepare_chunk(rows, known, now);
        }
        let mut rows = rows;
        let mut chunks = Vec::new();
        while rows.len() > per {
            let rest = rows.split_off(per);
            chunks.push(rows);
            rows = rest;
        }
        chunks.push(rows);
        std::thread::scope(|s| {
            let handles: Vec<_> = chunks
                .into_iter()
                .map(|chunk| {
                    let n = chunk.len();
                    (n, s.spawn(move || self.prepare_chunk(chunk, known, now)))
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|(n, h)| {
                    // A panic fails its rows (reported), never drops them.
                    h.join()
                        .unwrap_or_else(|_| (0..n).map(|_| Err(Error::Unavailable)).collect())
                })
                .collect()
        })
    }

    /// Checks rows and signs those whose number is not `known`, together.
    fn prepare_chunk(
        &self,
        rows: Vec<Result<ImportRow>>,
        known: &HashSet<String>,
        now: i64,
    ) -> Vec<Result<Prepared>> {
        let mut out: Vec<Result<Prepared>> = Vec::with_capacity(rows.len());
        let mut unsigned = Vec::new();
        let mut waiting = Vec::new();
        for row in rows {
            match self.check(row, now) {
                // A row imported before is compared, not signed again; should it be gone by
                // the commit (it cannot be: licences are never deleted), the commit signs it.
                Ok((row, given)) if known.contains(&row.number) => out.push(Ok(Prepared {
                    issuing: self.signer.unsigned(row),
                    given,
                })),
                Ok((row, given)) => {
                    waiting.push((out.len(), given));
                    unsigned.push(row);
                    // Replaced below by the signed licence.
                    out.push(Err(Error::Unavailable));
                }
                Err(e) => out.push(Err(e)),
            }
        }
        match self.signer.sign_all(unsigned) {
            Ok(signed) => {
                for ((i, given), issuing) in waiting.into_iter().zip(signed) {
                    out[i] = Ok(Prepared { issuing, given });
                }
            }
            Err(e) => {
                tracing::error!(error = %e, rows = waiting.len(), "signing an import batch failed");
                for (i, _) in waiting {
                    out[i] = Err(Error::Crypto(crate::crypto::CryptoError::Signing));
                }
            }
        }
        out
    }

    /// A row checked and made into a licence (not signed), with the dates it gave.
    fn check(&self, row: Result<ImportRow>, now: i64) -> Result<(LicenceRow, Given)> {
        let row = row?;
        let licence_type = self
            .vault
            .licence_types()
            .get(&self.type_code)
            .ok_or(Error::NotFound("licence type"))?;
        let given = Given {
            valid_from: row.valid_from.is_some(),
            valid_to: row.valid_to.is_some(),
            issued_on: row.issued_on.is_some(),
        };
        let unsigned = new_row(
            licence_type,
            self.signer.issuer(),
            &self.owner,
            NewLicence {
                holder: row.holder,
                number: Some(row.number),
                valid_from: row.valid_from.as_deref(),
                valid_to: row.valid_to.as_deref(),
                issued_on: row.issued_on.as_deref(),
                fields: &row.fields,
            },
            now,
        )?;
        Ok((unsigned, given))
    }

    /// Stores a batch of prepared rows in one audited transaction: each new licence with a
    /// random free slot of the issuer's current list and its audit entry; a number already
    /// live is skipped when its content is the same and refused (409) when not. The outcomes
    /// are in the order of `batch`.
    pub async fn commit(&self, batch: Vec<Result<Prepared>>) -> Result<Vec<ImportOutcome>> {
        let mut tx = self.vault.inner.store.begin().await?;
        tx.set_request_id(self.request_id.as_deref());
        if let Actor::Client(id) = &self.signer.actor() {
            let states = tx.batch_states(&[], &[id.as_str()], &[]).await?;
            if states.clients.get(id) != Some(&true) {
                return Err(Error::Unauthorized);
            }
        }
        let numbers: Vec<&str> = batch
            .iter()
            .filter_map(|p| p.as_ref().ok().map(|p| p.issuing.row.number.as_str()))
            .collect();
        let ids: Vec<&str> = batch
            .iter()
            .filter_map(|p| p.as_ref().ok().map(|p| p.issuing.row.id.as_str()))
            .collect();
        let mut live: HashMap<String, LicenceRow> = tx
            .live_licences_numbered(&self.issuer_id, &self.type_code, &numbers)
            .await?
            .into_iter()
            .map(|r| (r.number.clone(), r))
            .collect();
        let ids_taken = tx.licence_ids_taken(&ids).await?;
        // Decide each row against the stored licences and the rows before it in the batch.
        let mut outcomes = Vec::with_capacity(batch.len());
        let mut new = Vec::new();
        for p in batch {
            let p = match p {
                Ok(p) => p,
                Err(e) => {
                    outcomes.push(Some(ImportOutcome::Rejected(e)));
                    continue;
                }
            };
            let row = &p.issuing.row;
            if let Some(stored) = live.get(&row.number) {
                outcomes.push(Some(if same_content(stored, row, p.given) {
                    ImportOutcome::Exists(stored.id.clone())
                } else {
                    ImportOutcome::Rejected(Error::Conflict(format!(
                        "number: the issuer has a licence of this type numbered {} already, \
                         with other content",
                        row.number
                    )))
                }));
            } else if ids_taken.contains(&row.id) {
                outcomes.push(Some(ImportOutcome::Rejected(Error::Conflict(
                    "the generated licence identifier was taken; retry".into(),
                ))));
            } else {
                live.insert(row.number.clone(), row.clone());
                outcomes.push(None);
                new.push(if p.issuing.row.signature.is_empty() {
                    self.signer.sign(p.issuing.row)?
                } else {
                    p.issuing
                });
            }
        }
        let at = now_ms();
        place_all(&mut tx, &self.issuer_id, &mut new, at).await?;
        let rows: Vec<&LicenceRow> = new.iter().map(|i| &i.row).collect();
        tx.insert_licences(&rows).await?;
        let mut created = new.into_iter();
        let mut out = Vec::with_capacity(outcomes.len());
        for o in outcomes {
            out.push(match o {
                Some(o) => o,
                None => {
                    let issuing = created
                        .next()
                        .ok_or_else(|| Error::Corrupt("import batch out of step".into()))?;
                    ImportOutcome::Created(issuing.row.id)
                }
            });
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Imports rows in batches, signing the next batch while the current one commits;
    /// `report` gets each row's tag (e.g. its line) and outcome in order, after its batch
    /// committed. Returns after a checkpoint covers everything imported.
    pub async fn run<T, I, F>(&self, batches: I, mut report: F) -> Result<()>
    where
        T: Send + 'static,
        I: Iterator<Item = Vec<(T, Result<ImportRow>)>>,
        F: FnMut(T, ImportOutcome),
    {
        let mut pending: Option<Committing<T>> = None;
        for (n, batch) in batches.enumerate() {
            // Statistics once the table holds the first batches, then every 32 (~130,000 rows).
            if n % 32 == 2 {
                self.vault.inner.store.analyze_licences().await?;
            }
            let (tags, rows): (Vec<T>, Vec<Result<ImportRow>>) = batch.into_iter().unzip();
            let known = self.known_numbers(&rows).await?;
            let me = self.clone();
            let prepared = tokio::task::spawn_blocking(move || me.prepare(rows, &known))
                .await
                .map_err(|_| Error::Unavailable)?;
            if let Some((tags, commit)) = pending.take() {
                let outcomes = commit.await.map_err(|_| Error::Unavailable)??;
                tags.into_iter()
                    .zip(outcomes)
                    .for_each(|(t, o)| report(t, o));
            }
            let me = self.clone();
            pending = Some((tags, tokio::spawn(async move { me.commit(prepared).await })));
        }
        if let Some((tags, commit)) = pending.take() {
            let outcomes = commit.await.map_err(|_| Error::Unavailable)??;
            tags.into_iter()
                .zip(outcomes)
                .for_each(|(t, o)| report(t, o));
        }
        self.vault.checkpoint_soon().await;
        Ok(())
    }
}

/// A batch's tags and its commit running.
type Committing<T> = (Vec<T>, tokio::task::JoinHandle<Result<Vec<ImportOutcome>>>);

/// Whether a stored licence has the content of a row being imported again: the holder, the
/// face, and the dates the row gave (a default date is the day of the run).
fn same_content(stored: &LicenceRow, new: &LicenceRow, given: Given) -> bool {
    stored.holder_name == new.holder_name
        && stored.holder_id_type == new.holder_id_type
        && stored.holder_id_number == new.holder_id_number
        && stored.fields == new.fields
        && (!given.valid_from || stored.valid_from == new.valid_from)
        // A default end follows from a given start.
        && (!(given.valid_to || given.valid_from) || stored.valid_to == new.valid_to)
        && (!given.issued_on || stored.issued_on == new.issued_on)
}

/// Gives each new licence a random free slot of its issuer's current list, opening the next
/// list whenever one reaches half its slots (as one issuance does), and queues each licence's
/// audit entry (and a list's opening) in order: the licences' entry indexes, in order.
pub(crate) async fn place_all(
    tx: &mut AuditedTx,
    issuer_id: &str,
    new: &mut [IssuingLicence],
    at: i64,
) -> Result<Vec<u64>> {
    let mut entries = Vec::with_capacity(new.len());
    let mut rest = new;
    while !rest.is_empty() {
        let Some(list) = tx.current_status_list(issuer_id).await? else {
            return Err(Error::NotFound("issuer"));
        };
        let room = usize::try_from((list.slots / 2 - list.used).max(1)).unwrap_or(1);
        let (now, later) = rest.split_at_mut(room.min(rest.len()));
        let slots = free_slots(tx, &list, now.len()).await?;
        for (issuing, index) in now.iter_mut().zip(&slots) {
            issuing.row.list_id = list.id.clone();
            issuing.row.list_index = *index;
            let event = issuing
                .event
                .clone()
                .with("status_list", list.id.as_str())
                .with("index", *index);
            entries.push(tx.append(event, at));
        }
        let used = i64::try_from(now.len()).unwrap_or(i64::MAX);
        tx.touch_status_list(&list.id, used, at).await?;
        if (list.used + used) * 2 >= list.slots {
            open_next_list(tx, &list, at).await?;
        }
        rest = later;
    }
    Ok(entries)
}

/// `n` distinct random slots of a list that no licence holds (the list is at most half full,
/// so each round finds most of what it still needs).
async fn free_slots(tx: &mut AuditedTx, list: &StatusListRow, n: usize) -> Result<Vec<i64>> {
    let mut chosen: HashSet<i64> = HashSet::with_capacity(n);
    let mut order = Vec::with_capacity(n);
    for _ in 0..64 {
        let missing = n - order.len();
        if missing == 0 {
            break;
        }
        let mut candidates = Vec::with_capacity(missing);
        while candidates.len() < missing {
            let i = random_below(list.slots)?;
            if chosen.insert(i) {
                candidates.push(i);
            }
        }
        let taken = tx.slots_taken(&list.id, &candidates).await?;
        order.extend(candidates.into_iter().filter(|i| !taken.contains(i)));
    }
    if order.len() < n {
        return Err(Error::Conflict(
            "no free status list slots were found; retry".into(),
        ));
    }
    Ok(order)
}

/// Opens an issuer's next status list after `list`, recorded in the log.
pub(crate) async fn open_next_list(
    tx: &mut AuditedTx,
    list: &StatusListRow,
    at: i64,
) -> Result<()> {
    let next = StatusListRow {
        id: super::random_id(&ring::rand::SystemRandom::new(), "sl")?,
        issuer_id: list.issuer_id.clone(),
        slots: list.slots,
        used: 0,
        created_at: at.max(list.created_at + 1),
        updated_at: at,
    };
    tx.insert_status_list(&next).await?;
    let opened = Event::new(
        Actor::Vault,
        Action::StatusListOpened,
        format!("status_list:{}", next.id),
    )
    .with("issuer", next.issuer_id.as_str())
    .with("slots", next.slots)
    .with("previous", list.id.as_str());
    tx.append(opened, at);
    Ok(())
}
