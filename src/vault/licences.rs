//! Electronic licences: issuance (the request checked field by field, a GB/T 36904 证照标识,
//! the canonical form signed with the issuer's SM2 key, a random slot of the issuer's status
//! list, one audited operation), reading, the lifecycle, and the signed status lists.
//!
//! The canonical form a licence's signature covers is its JSON document (see [`canonical`])
//! with object keys sorted by their UTF-8 bytes and no insignificant whitespace, strings as
//! serde_json writes them (UTF-8, only `"`, `\` and control characters escaped).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, OnceLock};

use serde_json::{Map, Value};
use time::{Date, Month};

use super::idempotency::{Backoff, RETENTION_MS};
use super::ledger::{Outcome, now_ms};
use super::{AuthClient, IdempotentRequest, Vault};
use crate::audit::{Action, Actor, Event};
use crate::crypto::{MasterKey, SignatureAlgorithm, sha256, sm3};
use crate::error::{Error, Result};
use crate::ident::IdNumber;
use crate::licence::catalogue::Validity;
use crate::licence::{CST, HolderKind, LicenceId, LicenceType, date_text, day_of};
use crate::store::{
    AuditedTx, IdempotencyRow, IdempotentAnswer, IssuerRow, KeyPurpose, LicenceFilter, LicenceRow,
    StoredResponse,
};

/// The scope that lets a client issue (and manage its own) licences of every type;
/// `licence:issue:<证照类型代码>` limits it to one type.
pub(crate) const LICENCE_ISSUE_SCOPE: &str = "licence:issue";

/// Tries at a random free slot before giving up (a list is at most half full, so each try
/// succeeds with probability ≥ 1/2).
const SLOT_TRIES: usize = 64;

/// Whether `scope` is a licence scope: `licence:issue` or `licence:issue:<type code>`.
pub fn is_licence_scope(scope: &str) -> bool {
    match scope.strip_prefix(LICENCE_ISSUE_SCOPE) {
        Some("") => true,
        Some(rest) => rest.strip_prefix(':').is_some_and(|code| {
            (4..=32).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_alphanumeric())
        }),
        None => false,
    }
}

/// Whether a client may issue, read and manage licences of this type.
pub fn may_issue(client: &AuthClient, type_code: &str) -> bool {
    client.scopes.iter().any(|s| {
        s == "admin"
            || s == LICENCE_ISSUE_SCOPE
            || s.strip_prefix(LICENCE_ISSUE_SCOPE)
                .and_then(|r| r.strip_prefix(':'))
                == Some(type_code)
    })
}

/// Whether a client holds any licence scope.
fn issues_licences(client: &AuthClient) -> bool {
    client
        .scopes
        .iter()
        .any(|s| s == "admin" || is_licence_scope(s))
}

/// The keyed commitment to a holder's identifier that audit entries carry instead of it: the
/// numbers that pass their check are few enough to hash them all, so a plain hash in a public
/// log would be the number itself.
pub(crate) fn holder_id_hmac(master: &MasterKey, id_number: &str) -> String {
    holder_id_commitment(&holder_id_key(master), id_number)
}

/// The key of [`holder_id_hmac`], derived once for many licences.
fn holder_id_key(master: &MasterKey) -> ring::hmac::Key {
    ring::hmac::Key::new(
        ring::hmac::HMAC_SHA256,
        &master.derive("sidian/v1/holder-id-commitment")[..],
    )
}

fn holder_id_commitment(key: &ring::hmac::Key, id_number: &str) -> String {
    hex::encode(ring::hmac::sign(key, id_number.as_bytes()).as_ref())
}

/// Who holds a licence, as requested. `Debug` masks the identifier: it is personal data for a
/// person, and debug output reaches logs.
#[derive(Clone)]
pub struct LicenceHolder {
    /// 持证主体: the organisation's or the person's name.
    pub name: String,
    /// 持证主体代码类型: `111` 居民身份证, `001` 统一社会信用代码, `414` 护照.
    pub id_type: String,
    /// 持证主体代码.
    pub id_number: String,
}

impl std::fmt::Debug for LicenceHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LicenceHolder")
            .field("id_type", &self.id_type)
            .field("id_number", &crate::ident::mask_id_number(&self.id_number))
            .finish_non_exhaustive()
    }
}

/// A request to issue a licence.
#[derive(Debug, Clone)]
pub struct LicenceRequest {
    /// 证照类型代码.
    pub type_code: String,
    /// The issuer's id; may be left out by a client bound to one issuer.
    pub issuer: Option<String>,
    /// The holder.
    pub holder: LicenceHolder,
    /// 证照编号; generated when absent.
    pub number: Option<String>,
    /// 有效期起始 (`YYYY-MM-DD`); default today.
    pub valid_from: Option<String>,
    /// 有效期截止 (`YYYY-MM-DD` or `长期`); default from the type's validity.
    pub valid_to: Option<String>,
    /// 照面信息, checked against the type's schema.
    pub fields: Value,
}

/// A change (变更) of a licence: its next version's face fields and what else changes.
#[derive(Debug, Clone)]
pub struct LicenceUpdate {
    /// 照面信息 of the next version (whole, checked against the type's schema).
    pub fields: Value,
    /// A new 持证主体 name (a renamed holder); default unchanged.
    pub holder_name: Option<String>,
    /// 有效期起始 (`YYYY-MM-DD`); default unchanged.
    pub valid_from: Option<String>,
    /// 有效期截止 (`YYYY-MM-DD` or `长期`); default unchanged.
    pub valid_to: Option<String>,
    /// Why (kept with the superseded licence; the audit log holds its hash).
    pub reason: String,
}

/// A licence's status as the API names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LicenceStatus {
    /// 有效.
    Valid,
    /// 暂扣.
    Suspended,
    /// 吊销.
    Revoked,
    /// 注销.
    Cancelled,
    /// 失效: the validity ended.
    Expired,
    /// 失效: a change (变更) issued a new version.
    Superseded,
}

impl LicenceStatus {
    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::Suspended => "suspended",
            Self::Revoked => "revoked",
            Self::Cancelled => "cancelled",
            Self::Expired => "expired",
            Self::Superseded => "superseded",
        }
    }

    /// The national status code (docs/standards.md §9).
    pub fn code(self) -> &'static str {
        match self {
            Self::Valid => "01",
            Self::Suspended => "02",
            Self::Cancelled => "04",
            Self::Expired | Self::Superseded => "05",
            Self::Revoked => "07",
        }
    }

    /// The status of a licence stored with `stored` status and validity end `valid_to` (ms),
    /// at `now` (ms).
    pub(crate) fn of_stored(
        stored: &str,
        valid_to: Option<i64>,
        id: &str,
        now: i64,
    ) -> Result<Self> {
        let status = Self::stored(stored, id)?;
        let ended = valid_to.is_some_and(|end| end < now);
        Ok(match status {
            Self::Valid | Self::Suspended if ended => Self::Expired,
            s => s,
        })
    }

    fn stored(stored: &str, id: &str) -> Result<Self> {
        Ok(match stored {
            "valid" => Self::Valid,
            "suspended" => Self::Suspended,
            "revoked" => Self::Revoked,
            "cancelled" => Self::Cancelled,
            "superseded" => Self::Superseded,
            _ => {
                return Err(Error::Corrupt(format!(
                    "licence {id} has an unknown status"
                )));
            }
        })
    }

    /// The status of a stored licence at `now` (ms): a licence past its validity is expired
    /// unless something final happened to it before.
    pub fn of(row: &LicenceRow, now: i64) -> Result<Self> {
        Self::of_stored(&row.status, row.valid_to, &row.id, now)
    }
}

/// A change of a licence's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// valid → suspended (暂扣).
    Suspend,
    /// suspended → valid.
    Reinstate,
    /// valid or suspended → revoked (吊销).
    Revoke,
    /// valid or suspended → cancelled (注销).
    Cancel,
}

impl Transition {
    /// The transition of a route name (`suspend`, `reinstate`, `revoke`, `cancel`).
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "suspend" => Self::Suspend,
            "reinstate" => Self::Reinstate,
            "revoke" => Self::Revoke,
            "cancel" => Self::Cancel,
            _ => return None,
        })
    }

    /// The status it leads to from `from`, if it is allowed from there.
    fn apply(self, from: LicenceStatus) -> Option<LicenceStatus> {
        use LicenceStatus::{Cancelled, Revoked, Suspended, Valid};
        match (self, from) {
            (Self::Suspend, Valid) => Some(Suspended),
            (Self::Reinstate, Suspended) => Some(Valid),
            (Self::Revoke, Valid | Suspended) => Some(Revoked),
            (Self::Cancel, Valid | Suspended) => Some(Cancelled),
            _ => None,
        }
    }

    fn action(self) -> Action {
        match self {
            Self::Suspend => Action::LicenceSuspended,
            Self::Reinstate => Action::LicenceReinstated,
            Self::Revoke => Action::LicenceRevoked,
            Self::Cancel => Action::LicenceCancelled,
        }
    }
}

/// A licence as shown to the client that issued it.
#[derive(Debug, Clone)]
pub struct Licence {
    /// The stored row.
    pub row: LicenceRow,
    /// Its status now.
    pub status: LicenceStatus,
    /// 证照名称 (the type's name).
    pub type_name: String,
    /// The issuer.
    pub issuer: IssuerRow,
    /// Where its file will be served.
    pub file_url: String,
    /// Where it can be verified.
    pub verify_url: String,
    /// The face fields with personal ones masked (for list views).
    pub masked_fields: Map<String, Value>,
    /// Whether the holder is a person (whose identifier is masked in list views).
    pub personal_holder: bool,
}

/// A licence ready to be stored: its slot is chosen under the log lock.
#[derive(Debug)]
pub(crate) struct IssuingLicence {
    pub(crate) row: LicenceRow,
    pub(crate) event: Event,
    /// The idempotency key the answer is recorded under, in the same transaction.
    pub(crate) answer: Option<Answer>,
}

/// Makes the answer to an issuing request from the licence as stored.
pub type Respond = Box<dyn Fn(Licence) -> Result<StoredResponse> + Send + Sync>;

/// The answer to an issuing request, recorded under its idempotency key in the transaction
/// that stores the licence: one group commit for both (a reservation and a completion of their
/// own cost two more durable commits per request), and no window in which the licence exists
/// but its key does not say so.
pub(crate) struct Answer {
    /// The client's key.
    key: String,
    /// The request's fingerprint, as stored (keyed).
    fingerprint: [u8; 32],
    /// The licence as it will be shown, but for its slot (chosen under the lock).
    shown: Licence,
    respond: Respond,
    /// Where the answer goes once made (read only after the transaction commits).
    made: Arc<OnceLock<StoredResponse>>,
}

impl std::fmt::Debug for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Answer")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// A requested status change.
#[derive(Debug)]
pub(crate) struct LicenceChange {
    pub(crate) id: String,
    /// The client the licence must belong to; `None` for an admin.
    pub(crate) owner: Option<String>,
    pub(crate) transition: Transition,
    pub(crate) reason: String,
    pub(crate) actor: Actor,
}

/// A licence's next version (变更), replacing it if it is valid.
#[derive(Debug)]
pub(crate) struct Superseding {
    pub(crate) old_id: String,
    /// The client the licence must belong to; `None` for an admin.
    pub(crate) owner: Option<String>,
    pub(crate) reason: String,
    pub(crate) next: IssuingLicence,
}

/// Marks a valid licence superseded by its next version and stores that version.
pub(crate) async fn apply_supersede(
    tx: &mut AuditedTx,
    s: &Superseding,
    at: i64,
) -> Result<Result<Outcome>> {
    let old = match tx.licence(&s.old_id).await? {
        Some(r) if s.owner.as_ref().is_none_or(|o| *o == r.owner) => r,
        _ => return Ok(Err(Error::NotFound("licence"))),
    };
    let from = LicenceStatus::of(&old, at)?;
    if from != LicenceStatus::Valid {
        return Ok(Err(Error::InvalidTransition(from.as_str())));
    }
    if tx.licence_taken(&s.next.row, &old.id).await? {
        return Ok(Err(taken(&s.next.row)));
    }
    tx.supersede_licence(&old.id, &s.next.row.id, &s.reason, at)
        .await?;
    tx.touch_status_list(&old.list_id, 0, at).await?;
    let event = Event::new(
        s.next.event.actor.clone(),
        Action::LicenceSuperseded,
        format!("licence:{}", old.id),
    )
    .with("from", from.as_str())
    .with("to", LicenceStatus::Superseded.as_str())
    .with("status_code", LicenceStatus::Superseded.code())
    .with("superseded_by", s.next.row.id.as_str())
    .with("status_list", old.list_id.as_str())
    .with("index", old.list_index)
    .with("reason_sha256", hex::encode(sha256(s.reason.as_bytes())));
    tx.append(event, at);
    Ok(place(tx, &s.next, at).await?.map(|(entry, _)| Some(entry)))
}

/// Stores a run of licences, each in a random free slot of its issuer's current list (opening
/// the next list when one reaches half its slots) unless its id or number is taken or its
/// idempotency key is in use, each with the request it came from named in its audit entry.
/// The result is what storing them one after the other would give, but the reads are made once
/// for the run: a busy batch costs a few statements, not a few per licence.
pub(crate) async fn apply_issues(
    tx: &mut AuditedTx,
    run: &[(&IssuingLicence, Option<&str>)],
    at: i64,
) -> Result<Vec<Result<Outcome>>> {
    let keys: Vec<(&str, &str)> = run
        .iter()
        .filter_map(|(l, _)| Some((l.row.owner.as_str(), l.answer.as_ref()?.key.as_str())))
        .collect();
    let mut used_keys: HashMap<(String, String), Vec<u8>> = tx
        .idempotency_rows(&keys, at - RETENTION_MS)
        .await?
        .into_iter()
        .map(|(k, row)| (k, row.fingerprint))
        .collect();
    let ids: Vec<&str> = run.iter().map(|(l, _)| l.row.id.as_str()).collect();
    let mut ids_taken = tx.licence_ids_taken(&ids).await?;
    let mut numbers_taken = HashSet::new();
    let mut kinds: Vec<(&str, &str)> = run
        .iter()
        .map(|(l, _)| (l.row.issuer_id.as_str(), l.row.type_code.as_str()))
        .collect();
    kinds.sort_unstable();
    kinds.dedup();
    for (issuer, type_code) in kinds {
        let numbers: Vec<&str> = run
            .iter()
            .filter(|(l, _)| l.row.issuer_id == issuer && l.row.type_code == type_code)
            .map(|(l, _)| l.row.number.as_str())
            .collect();
        for live in tx
            .live_licences_numbered(issuer, type_code, &numbers)
            .await?
        {
            numbers_taken.insert((live.issuer_id, live.type_code, live.number));
        }
    }
    // Decide each in order against the store and the ones before it; group the accepted by
    // issuer (their slots come from the issuer's list together).
    let mut results: Vec<Option<Result<Outcome>>> = Vec::with_capacity(run.len());
    let mut groups: Vec<(&str, Vec<IssuingLicence>, Vec<usize>)> = Vec::new();
    for (n, (l, request_id)) in run.iter().enumerate() {
        let row = &l.row;
        if let Some(a) = &l.answer {
            match used_keys.get(&(row.owner.clone(), a.key.clone())) {
                Some(fp) if fp.as_slice() != a.fingerprint => {
                    results.push(Some(Err(Error::IdempotencyMismatch)));
                    continue;
                }
                // A duplicate that passed the read before the ledger: the caller reads the
                // answer after the commit.
                Some(_) => {
                    results.push(Some(Err(Error::IdempotencyInProgress)));
                    continue;
                }
                None => {}
            }
        }
        let number = (
            row.issuer_id.clone(),
            row.type_code.clone(),
            row.number.clone(),
        );
        if ids_taken.contains(&row.id) || numbers_taken.contains(&number) {
            results.push(Some(Err(taken(row))));
            continue;
        }
        if let Some(a) = &l.answer {
            used_keys.insert((row.owner.clone(), a.key.clone()), a.fingerprint.to_vec());
        }
        ids_taken.insert(row.id.clone());
        numbers_taken.insert(number);
        let mut event = l.event.clone();
        if let Some(id) = request_id {
            event = event.with(crate::request_id::AUDIT_DETAIL, *id);
        }
        let placing = IssuingLicence {
            row: row.clone(),
            event,
            answer: None,
        };
        match groups.iter_mut().find(|g| g.0 == row.issuer_id) {
            Some(g) => {
                g.1.push(placing);
                g.2.push(n);
            }
            None => groups.push((row.issuer_id.as_str(), vec![placing], vec![n])),
        }
        results.push(None);
    }
    // The request ids are in the events already.
    tx.set_request_id(None);
    let mut answers = Vec::new();
    for (issuer, mut placing, origins) in groups {
        let entries = super::import::place_all(tx, issuer, &mut placing, at).await?;
        let rows: Vec<&LicenceRow> = placing.iter().map(|p| &p.row).collect();
        tx.insert_licences(&rows).await?;
        for ((placed, entry), n) in placing.into_iter().zip(entries).zip(origins) {
            if let Some(a) = &run[n].0.answer {
                let response = (a.respond)(Licence {
                    row: placed.row,
                    ..a.shown.clone()
                })?;
                answers.push((n, response));
            }
            results[n] = Some(Ok(Some(entry)));
        }
    }
    let records: Vec<IdempotentAnswer<'_>> = answers
        .iter()
        .filter_map(|(n, response)| {
            let (l, _) = run[*n];
            let a = l.answer.as_ref()?;
            Some(IdempotentAnswer {
                client_id: &l.row.owner,
                key: &a.key,
                fingerprint: a.fingerprint,
                response,
            })
        })
        .collect();
    tx.insert_idempotent_answers(&records, at).await?;
    for (n, response) in answers {
        if let Some(a) = &run[n].0.answer {
            // Set once: an op is applied in one batch (a batch that fails is not retried with it).
            let _ = a.made.set(response);
        }
    }
    results
        .into_iter()
        .map(|r| r.ok_or_else(|| Error::Corrupt("an issuance of the batch was not decided".into())))
        .collect()
}

fn taken(row: &LicenceRow) -> Error {
    Error::Conflict(format!(
        "the issuer has a licence of this type numbered {} already",
        row.number
    ))
}

/// Stores a licence whose id and number are free in a random free slot of its issuer's
/// current list: its audit entry's index and the row as stored.
async fn place(
    tx: &mut AuditedTx,
    issuing: &IssuingLicence,
    at: i64,
) -> Result<Result<(u64, LicenceRow)>> {
    let mut row = issuing.row.clone();
    let Some(list) = tx.current_status_list(&row.issuer_id).await? else {
        return Ok(Err(Error::NotFound("issuer")));
    };
    let mut slot = None;
    for _ in 0..SLOT_TRIES {
        let index = random_below(list.slots)?;
        if !tx.slot_taken(&list.id, index).await? {
            slot = Some(index);
            break;
        }
    }
    let Some(index) = slot else {
        // 2^-64 at most for a list at most half full: refuse this licence, not the batch.
        return Ok(Err(Error::Conflict(
            "no free status list slot was found; retry".into(),
        )));
    };
    row.list_id = list.id.clone();
    row.list_index = index;
    tx.insert_licence(&row).await?;
    tx.touch_status_list(&list.id, 1, at).await?;
    let event = issuing
        .event
        .clone()
        .with("status_list", list.id.as_str())
        .with("index", index);
    let entry = tx.append(event, at);
    if (list.used + 1) * 2 >= list.slots {
        super::import::open_next_list(tx, &list, at).await?;
    }
    Ok(Ok((entry, row)))
}

/// A uniformly random index below `n` (`n` ≥ 1).
pub(super) fn random_below(n: i64) -> Result<i64> {
    use ring::rand::SecureRandom;
    let n = u64::try_from(n.max(1)).unwrap_or(1);
    let zone = u64::MAX - u64::MAX % n;
    loop {
        let mut b = [0u8; 8];
        ring::rand::SystemRandom::new()
            .fill(&mut b)
            .map_err(|_| Error::Crypto(crate::crypto::CryptoError::Random))?;
        let v = u64::from_be_bytes(b);
        // Rejection sampling keeps the slots uniform.
        if v < zone {
            return i64::try_from(v % n).map_err(|_| Error::Corrupt("slot index".into()));
        }
    }
}

/// Applies a status change if it is legal from the licence's status now.
pub(crate) async fn apply_change(
    tx: &mut AuditedTx,
    change: &LicenceChange,
    at: i64,
) -> Result<Result<Outcome>> {
    let row = match tx.licence(&change.id).await? {
        Some(r) if change.owner.as_ref().is_none_or(|o| *o == r.owner) => r,
        _ => return Ok(Err(Error::NotFound("licence"))),
    };
    let from = LicenceStatus::of(&row, at)?;
    let Some(to) = change.transition.apply(from) else {
        return Ok(Err(Error::InvalidTransition(from.as_str())));
    };
    tx.set_licence_status(&row.id, to.as_str(), &change.reason, at)
        .await?;
    tx.touch_status_list(&row.list_id, 0, at).await?;
    let event = Event::new(
        change.actor.clone(),
        change.transition.action(),
        format!("licence:{}", row.id),
    )
    .with("from", from.as_str())
    .with("to", to.as_str())
    .with("status_code", to.code())
    .with("status_list", row.list_id.as_str())
    .with("index", row.list_index)
    .with(
        "reason_sha256",
        hex::encode(sha256(change.reason.as_bytes())),
    );
    Ok(Ok(Some(tx.append(event, at))))
}

/// The canonical form of a JSON value: object keys sorted by their UTF-8 bytes, no whitespace.
pub fn canonical(value: &Value) -> String {
    fn write(value: &Value, out: &mut String) {
        match value {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                out.push('{');
                for (i, k) in keys.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::String(k.clone()).to_string());
                    out.push(':');
                    write(&map[k], out);
                }
                out.push('}');
            }
            Value::Array(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(v, out);
                }
                out.push(']');
            }
            scalar => out.push_str(&scalar.to_string()),
        }
    }
    let mut out = String::new();
    write(value, &mut out);
    out
}

const DAY_MS: i64 = 24 * 3600 * 1000;

/// The first millisecond of a day (CST).
fn day_start(date: Date) -> i64 {
    let t = date.midnight().assume_offset(CST);
    super::ledger::unix_ms(t)
}

/// The last millisecond of a day (CST).
fn day_end(date: Date) -> i64 {
    day_start(date) + DAY_MS - 1
}

/// The end of validity a request gives (`长期`: none), else `default`; not before `from`.
fn valid_until(from: Date, given: Option<&str>, default: Option<Date>) -> Result<Option<Date>> {
    let end = match given {
        Some(LONG_TERM) => None,
        Some(v) => Some(parse_date(v, "valid_to")?),
        None => default,
    };
    if end.is_some_and(|end| end < from) {
        return Err(Error::InvalidField("valid_to: before valid_from".into()));
    }
    Ok(end)
}

/// `YYYY-MM-DD` of a stored day.
pub fn date_of(ms: i64) -> String {
    date_text(day_of(ms))
}

/// The text of a stored end of validity: its day, or `长期`.
pub fn valid_to_text(valid_to: Option<i64>) -> String {
    valid_to.map_or_else(|| LONG_TERM.to_owned(), date_of)
}

pub use crate::licence::LONG_TERM;

fn parse_date(value: &str, field: &str) -> Result<Date> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(value, &fmt)
        .ok()
        .filter(|d| value.len() == 10 && (1900..=9999).contains(&d.year()))
        .ok_or_else(|| Error::InvalidField(format!("{field}: must be a date (YYYY-MM-DD)")))
}

/// The last day of a validity of `years` and `months` starting on `from`.
fn validity_end(from: Date, years: u16, months: u16) -> Option<Date> {
    let total = i64::from(from.year()) * 12
        + i64::from(u8::from(from.month()) - 1)
        + i64::from(years) * 12
        + i64::from(months);
    let year = i32::try_from(total.div_euclid(12)).ok()?;
    let month = Month::try_from(u8::try_from(total.rem_euclid(12) + 1).ok()?).ok()?;
    let day = from.day().min(month.length(year));
    Date::from_calendar_date(year, month, day)
        .ok()?
        .previous_day()
}

/// Checks a holder against what the type allows: the identifier's own check, and that a
/// person holds a person's licence and an organisation an organisation's.
fn check_holder(holder: &LicenceHolder, kind: HolderKind) -> Result<()> {
    text("holder.name", &holder.name, 200)?;
    let person = match holder.id_type.as_str() {
        "111" => {
            IdNumber::parse(&holder.id_number)
                .map_err(|e| Error::InvalidField(format!("holder.id_number: {e}")))?;
            true
        }
        "414" => {
            let n = holder.id_number.len();
            if !(5..=17).contains(&n)
                || !holder
                    .id_number
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
            {
                return Err(Error::InvalidField(
                    "holder.id_number: a passport number is 5–17 capital letters and digits".into(),
                ));
            }
            true
        }
        "001" => {
            crate::ident::check_uscc(&holder.id_number)
                .map_err(|e| Error::InvalidField(format!("holder.id_number: {e}")))?;
            false
        }
        _ => {
            return Err(Error::InvalidField(
                "holder.id_type: must be 111 (居民身份证), 001 (统一社会信用代码) or 414 (护照)"
                    .into(),
            ));
        }
    };
    match (kind, person) {
        (HolderKind::Person, false) => Err(Error::InvalidField(
            "holder.id_type: this licence type is held by a person (111 or 414)".into(),
        )),
        (HolderKind::Organisation, true) => Err(Error::InvalidField(
            "holder.id_type: this licence type is held by an organisation (001)".into(),
        )),
        _ => Ok(()),
    }
}

/// A text field: 1–`max` characters, no control characters, no surrounding spaces.
fn text(field: &str, value: &str, max: usize) -> Result<()> {
    let n = value.chars().count();
    if n == 0 || n > max || value.chars().any(char::is_control) || value.trim() != value {
        return Err(Error::InvalidField(format!(
            "{field}: must be 1–{max} characters without control characters or surrounding spaces"
        )));
    }
    Ok(())
}

/// What a new licence row is made of, as requested.
pub(crate) struct NewLicence<'a> {
    pub(crate) holder: LicenceHolder,
    /// 证照编号; generated (the identifier's serial) when absent.
    pub(crate) number: Option<String>,
    pub(crate) valid_from: Option<&'a str>,
    pub(crate) valid_to: Option<&'a str>,
    /// 颁发日期 of an existing licence (import); default today.
    pub(crate) issued_on: Option<&'a str>,
    pub(crate) fields: &'a Value,
}

/// Checks a request field by field (400 `invalid_field` naming the field) and makes the row of
/// a new licence with a fresh 证照标识, unsigned and without its slot.
pub(crate) fn new_row(
    licence_type: &LicenceType,
    issuer: &IssuerRow,
    owner: &str,
    req: NewLicence<'_>,
    now: i64,
) -> Result<LicenceRow> {
    check_holder(&req.holder, licence_type.holder_kind)?;
    if !req.fields.is_object() {
        return Err(Error::InvalidField("fields: must be an object".into()));
    }
    licence_type
        .validate(req.fields)
        .map_err(|e| Error::InvalidField(e.to_string()))?;
    let today = day_of(now);
    let valid_from = match req.valid_from {
        Some(v) => parse_date(v, "valid_from")?,
        None => today,
    };
    let default_end = match licence_type.default_validity {
        Validity::LongTerm => None,
        Validity::Period { years, months } => Some(
            validity_end(valid_from, years, months)
                .ok_or_else(|| Error::InvalidField("valid_from: out of range".into()))?,
        ),
    };
    let valid_to = valid_until(valid_from, req.valid_to, default_end)?;
    let issued_on = match req.issued_on {
        Some(v) => {
            let day = parse_date(v, "issued_on")?;
            if day > today {
                return Err(Error::InvalidField("issued_on: in the future".into()));
            }
            day
        }
        None => today,
    };
    let serial = LicenceId::random_serial(today)
        .map_err(|_| Error::Crypto(crate::crypto::CryptoError::Random))?;
    let number = match req.number {
        Some(n) => {
            text("number", &n, 64)?;
            n
        }
        None => serial.clone(),
    };
    let id = LicenceId::new(&licence_type.code, &issuer.uscc, &serial, 1)
        .map_err(|e| Error::Corrupt(format!("licence identifier: {e}")))?
        .to_string();
    Ok(LicenceRow {
        id,
        issuer_id: issuer.id.clone(),
        owner: owner.to_owned(),
        type_code: licence_type.code.clone(),
        number,
        holder_name: req.holder.name,
        holder_id_type: req.holder.id_type,
        holder_id_number: req.holder.id_number,
        issued_on: day_start(issued_on),
        valid_from: day_start(valid_from),
        valid_to: valid_to.map(day_end),
        fields: canonical(req.fields),
        signature: Vec::new(),
        status: LicenceStatus::Valid.as_str().to_owned(),
        status_reason: None,
        superseded_by: None,
        list_id: String::new(),
        list_index: 0,
        created_at: now,
        updated_at: now,
    })
}

/// The licence document the signature covers (GB/T 36903 core metadata and the face).
fn document(row: &LicenceRow, issuer: &IssuerRow, type_name: &str) -> Result<Value> {
    let fields: Value = serde_json::from_str(&row.fields)
        .map_err(|_| Error::Corrupt(format!("licence {} fields", row.id)))?;
    Ok(serde_json::json!({
        "id": row.id,
        "name": type_name,
        "type_code": row.type_code,
        "number": row.number,
        "issuer": {"name": issuer.name, "code": issuer.uscc},
        "issued_on": date_of(row.issued_on),
        "holder": {
            "name": row.holder_name,
            "id_type": row.holder_id_type,
            "id_number": row.holder_id_number,
        },
        "valid_from": date_of(row.valid_from),
        "valid_to": valid_to_text(row.valid_to),
        "fields": fields,
    }))
}

/// Signs licences of one issuer and type for one actor: the key and the holder commitment key
/// resolved once, so that an import signs on several threads without the vault.
pub(crate) struct LicenceSigner {
    key: std::sync::Arc<crate::crypto::PrivateKey>,
    holder_key: ring::hmac::Key,
    issuer: IssuerRow,
    type_name: String,
    actor: Actor,
}

impl LicenceSigner {
    /// The issuer it signs for.
    pub(crate) fn issuer(&self) -> &IssuerRow {
        &self.issuer
    }

    /// Who the audit entries name.
    pub(crate) fn actor(&self) -> &Actor {
        &self.actor
    }

    /// A licence not signed (yet): an import compares it with the licence of its number.
    pub(crate) fn unsigned(&self, row: LicenceRow) -> IssuingLicence {
        let event = Event::new(
            self.actor.clone(),
            Action::LicenceIssued,
            format!("licence:{}", row.id),
        );
        IssuingLicence {
            row,
            event,
            answer: None,
        }
    }

    /// Signs a licence's canonical form, with the audit event that will record it.
    pub(crate) fn sign(&self, row: LicenceRow) -> Result<IssuingLicence> {
        self.sign_all(vec![row])?
            .pop()
            .ok_or_else(|| Error::Corrupt("a licence signature is missing".into()))
    }

    /// Signs licences' canonical forms together (SM2 shares the inversions of the batch), each
    /// with the audit event that will record it, in order.
    pub(crate) fn sign_all(&self, rows: Vec<LicenceRow>) -> Result<Vec<IssuingLicence>> {
        let documents = rows
            .iter()
            .map(|row| Ok(canonical(&document(row, &self.issuer, &self.type_name)?)))
            .collect::<Result<Vec<String>>>()?;
        let messages: Vec<&[u8]> = documents.iter().map(String::as_bytes).collect();
        let signatures = self.key.sign_many(SignatureAlgorithm::Sm2Sm3, &messages)?;
        Ok(rows
            .into_iter()
            .zip(documents)
            .zip(signatures)
            .map(|((mut row, document), signature)| {
                row.signature = signature;
                crate::metrics::signature("sm2");
                let event = Event::new(
                    self.actor.clone(),
                    Action::LicenceIssued,
                    format!("licence:{}", row.id),
                )
                .with("issuer", self.issuer.id.as_str())
                .with("type", row.type_code.as_str())
                .with("signing_key", self.issuer.signing_key_id.as_str())
                .with("document_sm3", hex::encode(sm3(document.as_bytes())))
                .with(
                    "holder_id_hmac",
                    holder_id_commitment(&self.holder_key, &row.holder_id_number),
                )
                .with_signature(&row.signature);
                IssuingLicence {
                    row,
                    event,
                    answer: None,
                }
            })
            .collect())
    }
}

impl Vault {
    fn licence_types_of(&self, code: &str) -> Result<&LicenceType> {
        self.licence_types()
            .get(code)
            .ok_or(Error::NotFound("licence type"))
    }

    /// The issuer a request names (or the client's only one), if the client may issue for it.
    pub(super) async fn issuing_for(
        &self,
        client: &AuthClient,
        named: Option<&str>,
    ) -> Result<IssuerRow> {
        let bound = self.recent_bindings(&client.id, named).await?;
        let id = match named {
            Some(id) => id.to_owned(),
            None => match bound.as_slice() {
                [only] => only.clone(),
                [] if !client.allows("admin") => {
                    return Err(Error::Forbidden("a binding to an issuer".into()));
                }
                _ => {
                    return Err(Error::InvalidField(
                        "issuer: required (the client acts for several issuers or none)".into(),
                    ));
                }
            },
        };
        let issuer = self
            .recent_issuer(&id)
            .await?
            .ok_or(Error::NotFound("issuer"))?;
        if !client.allows("admin") && !bound.contains(&issuer.id) {
            return Err(Error::Forbidden(format!(
                "a binding to issuer {}",
                issuer.id
            )));
        }
        Ok(issuer)
    }

    /// Issues a licence: checks the request, signs its canonical form with the issuer's SM2 key
    /// and stores it with a random status list slot and its audit entry, in one operation.
    pub async fn issue_licence(&self, client: &AuthClient, req: LicenceRequest) -> Result<Licence> {
        let (issuing, _) = self.prepare_licence(client, req).await?;
        let id = issuing.row.id.clone();
        self.apply(super::ledger::Op::IssueLicence(Box::new(issuing)))
            .await?;
        self.licence(client, &id).await
    }

    /// Issues a licence under an idempotency key, as [`Self::issue_licence`], and records the
    /// answer `respond` makes in the same transaction; the same request again (concurrent ones
    /// too) gets that answer back, marked replayed (`true`), another request under the key 422.
    pub async fn issue_licence_once(
        &self,
        client: &AuthClient,
        req: LicenceRequest,
        idempotency: &IdempotentRequest,
        respond: Respond,
    ) -> Result<(StoredResponse, bool)> {
        let fingerprint = self.stored_fingerprint(idempotency)?;
        let store = &self.inner.store;
        self.clean_idempotency_keys().await?;
        // No read before: a retry is rare, and the ledger finds the key under the lock anyway
        // (the duplicate's signature is then the only work wasted).
        let (mut issuing, issuer) = self.prepare_licence(client, req).await?;
        let shown = self.shown(issuing.row.clone(), issuer)?;
        let answer = Arc::new(OnceLock::new());
        issuing.answer = Some(Answer {
            key: idempotency.key.clone(),
            fingerprint,
            shown,
            respond,
            made: answer.clone(),
        });
        match self
            .apply(super::ledger::Op::IssueLicence(Box::new(issuing)))
            .await
        {
            Ok(_) => {
                // The ledger may still hold the op (and its clone of the cell) for a moment.
                let made = answer.get().cloned().ok_or_else(|| {
                    Error::Corrupt("an issued licence's answer is missing".into())
                })?;
                return Ok((made, false));
            }
            // The key is taken: by the same request (answered, or still running elsewhere).
            Err(Error::IdempotencyInProgress) => {}
            Err(e) => return Err(e),
        }
        let mut wait = Backoff::new();
        loop {
            let found = store
                .find_idempotency(&client.id, &idempotency.key, now_ms() - RETENTION_MS)
                .await?;
            match found {
                Some(row) if row.fingerprint != fingerprint => {
                    return Err(Error::IdempotencyMismatch);
                }
                Some(IdempotencyRow {
                    response: Some(answer),
                    ..
                }) => return Ok((answer, true)),
                // Reserved by a request on the generic path that still runs: wait for it.
                Some(_) => wait.pause().await?,
                // Released (that request failed) or expired just now: the client may retry.
                None => return Err(Error::IdempotencyInProgress),
            }
        }
    }

    /// Deletes expired idempotency keys at most once a minute: issuances record their keys in
    /// the ledger and do not clean on every request as reservations do.
    async fn clean_idempotency_keys(&self) -> Result<()> {
        use std::sync::atomic::Ordering::Relaxed;
        let now = now_ms();
        let cleaned = &self.inner.licensing.keys_cleaned_at;
        let last = cleaned.load(Relaxed);
        if now - last > 60_000
            && cleaned
                .compare_exchange(last, now, Relaxed, Relaxed)
                .is_ok()
        {
            self.inner
                .store
                .delete_expired_idempotency(now - RETENTION_MS)
                .await?;
        }
        Ok(())
    }

    /// Checks an issuing request and signs the licence it asks for.
    async fn prepare_licence(
        &self,
        client: &AuthClient,
        req: LicenceRequest,
    ) -> Result<(IssuingLicence, IssuerRow)> {
        if !may_issue(client, &req.type_code) {
            return Err(Error::Forbidden(format!(
                "{LICENCE_ISSUE_SCOPE}:{}",
                req.type_code.chars().take(32).collect::<String>()
            )));
        }
        let licence_type = self.licence_types_of(&req.type_code)?;
        let issuer = self.issuing_for(client, req.issuer.as_deref()).await?;
        let row = new_row(
            licence_type,
            &issuer,
            &client.id,
            NewLicence {
                holder: req.holder,
                number: req.number,
                valid_from: req.valid_from.as_deref(),
                valid_to: req.valid_to.as_deref(),
                issued_on: None,
                fields: &req.fields,
            },
            now_ms(),
        )?;
        let issuing = self
            .signed(client, row, &issuer, &licence_type.name)
            .await?;
        Ok((issuing, issuer))
    }

    /// Signs a licence's canonical form with its issuer's SM2 key, with the audit event that
    /// will record it.
    async fn signed(
        &self,
        client: &AuthClient,
        row: LicenceRow,
        issuer: &IssuerRow,
        type_name: &str,
    ) -> Result<IssuingLicence> {
        self.licence_signer(client, issuer.clone(), type_name)
            .await?
            .sign(row)
    }

    /// What signing licences of one issuer and type for `client` needs, resolved once.
    pub(crate) async fn licence_signer(
        &self,
        client: &AuthClient,
        issuer: IssuerRow,
        type_name: &str,
    ) -> Result<LicenceSigner> {
        let key = self
            .issuer_key(&issuer.signing_key_id, KeyPurpose::LicenceSigner)
            .await?;
        Ok(LicenceSigner {
            key,
            holder_key: holder_id_key(&self.inner.master),
            issuer,
            type_name: type_name.to_owned(),
            actor: client.actor(),
        })
    }

    /// Changes a valid licence (变更): issues its next version (the same 证照编号, version + 1)
    /// with the new face fields (and holder name, validity when given) and marks the licence
    /// superseded by it, in one audited operation.
    pub async fn supersede_licence(
        &self,
        client: &AuthClient,
        id: &str,
        change: LicenceUpdate,
    ) -> Result<Licence> {
        text("reason", &change.reason, 512)?;
        let old = self.licence(client, id).await?;
        if !may_issue(client, &old.row.type_code) {
            return Err(Error::Forbidden(format!(
                "{LICENCE_ISSUE_SCOPE}:{}",
                old.row.type_code
            )));
        }
        let licence_type = self.licence_types_of(&old.row.type_code)?;
        let fields = match &change.fields {
            Value::Object(map) => map.clone(),
            _ => return Err(Error::InvalidField("fields: must be an object".into())),
        };
        licence_type
            .validate(&change.fields)
            .map_err(|e| Error::InvalidField(e.to_string()))?;
        let holder_name = match change.holder_name {
            Some(name) => {
                text("holder.name", &name, 200)?;
                name
            }
            None => old.row.holder_name.clone(),
        };
        let valid_from = match &change.valid_from {
            Some(v) => parse_date(v, "valid_from")?,
            None => day_of(old.row.valid_from),
        };
        let valid_to = valid_until(
            valid_from,
            change.valid_to.as_deref(),
            old.row.valid_to.map(day_of),
        )?;
        let current = LicenceId::parse(&old.row.id)
            .map_err(|e| Error::Corrupt(format!("licence identifier: {e}")))?;
        let next = current
            .with_version(current.version() + 1)
            .map_err(|_| Error::Conflict("the licence has reached version 999".into()))?;
        let now = now_ms();
        let row = LicenceRow {
            id: next.to_string(),
            holder_name,
            issued_on: day_start(day_of(now)),
            valid_from: day_start(valid_from),
            valid_to: valid_to.map(day_end),
            fields: canonical(&Value::Object(fields)),
            signature: Vec::new(),
            status: LicenceStatus::Valid.as_str().to_owned(),
            status_reason: None,
            superseded_by: None,
            list_id: String::new(),
            list_index: 0,
            created_at: now,
            updated_at: now,
            ..old.row.clone()
        };
        let mut issuing = self
            .signed(client, row, &old.issuer, &licence_type.name)
            .await?;
        issuing.event = issuing.event.with("supersedes", old.row.id.as_str());
        let next_id = issuing.row.id.clone();
        self.apply(super::ledger::Op::SupersedeLicence(Box::new(Superseding {
            old_id: old.row.id,
            owner: (!client.allows("admin")).then(|| client.id.clone()),
            reason: change.reason,
            next: issuing,
        })))
        .await?;
        self.licence(client, &next_id).await
    }

    /// The canonical document of a licence the client may see, as signed.
    pub async fn licence_document(&self, client: &AuthClient, id: &str) -> Result<String> {
        let l = self.licence(client, id).await?;
        Ok(canonical(&document(&l.row, &l.issuer, &l.type_name)?))
    }

    pub(super) fn shown(&self, row: LicenceRow, issuer: IssuerRow) -> Result<Licence> {
        let status = LicenceStatus::of(&row, now_ms())?;
        let licence_type = self.licence_types().get(&row.type_code);
        let fields: Map<String, Value> = serde_json::from_str(&row.fields)
            .map_err(|_| Error::Corrupt(format!("licence {} fields", row.id)))?;
        let base = self.config().public_url.as_deref().unwrap_or("");
        Ok(Licence {
            status,
            type_name: licence_type.map(|t| t.name.clone()).unwrap_or_default(),
            masked_fields: licence_type.map_or_else(Map::new, |t| t.mask(&fields)),
            personal_holder: row.holder_id_type != "001",
            file_url: format!("{base}/v1/licences/{}/file", row.id),
            verify_url: format!("{base}/v1/licences/{}/verify", row.id),
            issuer,
            row,
        })
    }

    /// A licence the client issued (any licence for `admin`); others are 404 as if absent.
    pub async fn licence(&self, client: &AuthClient, id: &str) -> Result<Licence> {
        let store = &self.inner.store;
        let row = match store.licence(id).await? {
            Some(r) if r.owner == client.id || client.allows("admin") => r,
            _ => return Err(Error::NotFound("licence")),
        };
        if !issues_licences(client) {
            return Err(Error::Forbidden(LICENCE_ISSUE_SCOPE.into()));
        }
        let issuer = store
            .issuer(&row.issuer_id)
            .await?
            .ok_or_else(|| Error::Corrupt(format!("issuer of licence {id} is missing")))?;
        self.shown(row, issuer)
    }

    /// Up to `limit` of the client's licences matching `filter`, in creation order after the
    /// `(created_at, id)` position `after`.
    pub async fn licences(
        &self,
        client: &AuthClient,
        filter: &LicenceFilter,
        after: Option<(i64, &str)>,
        limit: u32,
    ) -> Result<Vec<Licence>> {
        if !issues_licences(client) {
            return Err(Error::Forbidden(LICENCE_ISSUE_SCOPE.into()));
        }
        let store = &self.inner.store;
        let rows = store
            .licences_page(&client.id, filter, after, limit)
            .await?;
        let mut issuers: HashMap<String, IssuerRow> = HashMap::new();
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let issuer = match issuers.get(&row.issuer_id) {
                Some(i) => i.clone(),
                None => {
                    let i = store.issuer(&row.issuer_id).await?.ok_or_else(|| {
                        Error::Corrupt(format!("issuer of licence {} is missing", row.id))
                    })?;
                    issuers.insert(i.id.clone(), i.clone());
                    i
                }
            };
            out.push(self.shown(row, issuer)?);
        }
        Ok(out)
    }

    /// Changes a licence's status (suspend, reinstate, revoke, cancel), audited with its actor
    /// and reason; 409 `invalid_transition` when not allowed from the current status.
    pub async fn change_licence(
        &self,
        client: &AuthClient,
        id: &str,
        transition: Transition,
        reason: &str,
    ) -> Result<Licence> {
        text("reason", reason, 512)?;
        let current = self.licence(client, id).await?;
        if !may_issue(client, &current.row.type_code) {
            return Err(Error::Forbidden(format!(
                "{LICENCE_ISSUE_SCOPE}:{}",
                current.row.type_code
            )));
        }
        self.apply(super::ledger::Op::ChangeLicence(Box::new(LicenceChange {
            id: id.to_owned(),
            owner: (!client.allows("admin")).then(|| client.id.clone()),
            transition,
            reason: reason.to_owned(),
            actor: client.actor(),
        })))
        .await?;
        self.licence(client, id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_form_sorts_keys_and_drops_whitespace() {
        let v = serde_json::json!({"b": [1, {"z": "é\"", "a": null}], "a": true, "字": "值"});
        assert_eq!(
            canonical(&v),
            r#"{"a":true,"b":[1,{"a":null,"z":"é\""}],"字":"值"}"#
        );
    }

    #[test]
    fn transitions_follow_the_lifecycle() {
        use LicenceStatus::*;
        use Transition::*;
        assert_eq!(Suspend.apply(Valid), Some(Suspended));
        assert_eq!(Reinstate.apply(Suspended), Some(Valid));
        assert_eq!(Revoke.apply(Suspended), Some(Revoked));
        assert_eq!(Cancel.apply(Valid), Some(Cancelled));
        for final_status in [Revoked, Cancelled, Expired, Superseded] {
            for t in [Suspend, Reinstate, Revoke, Cancel] {
                assert_eq!(t.apply(final_status), None, "{t:?} from {final_status:?}");
            }
        }
        assert_eq!(Reinstate.apply(Valid), None);
        assert_eq!(Suspend.apply(Suspended), None);
    }

    #[test]
    fn validity_ends_the_day_before_the_anniversary() {
        let d = |y, m, day| {
            Date::from_calendar_date(y, Month::try_from(m).expect("month"), day).expect("date")
        };
        assert_eq!(validity_end(d(2026, 1, 15), 5, 0), Some(d(2031, 1, 14)));
        assert_eq!(validity_end(d(2026, 11, 1), 0, 6), Some(d(2027, 4, 30)));
        assert_eq!(validity_end(d(2024, 2, 29), 1, 0), Some(d(2025, 2, 27)));
    }

    #[test]
    fn licence_scopes() {
        assert!(is_licence_scope("licence:issue"));
        assert!(is_licence_scope("licence:issue:111000009000000146001"));
        assert!(!is_licence_scope("licence:issue:"));
        assert!(!is_licence_scope("licence:issuer"));
        assert!(!is_licence_scope("licence:issue:a b"));
    }
}
