//! 用证 (GB/T 36906 sharing): a department's system (scope `licence:use`) queries a holder's
//! licences, verifies face data against one, or fetches its file, each with a 用证事由 and
//! either an approval case number or the holder's grant.
//!
//! Decisions:
//! - A grant covers the one licence it was made for: a query with it answers that licence
//!   alone (if it is the holder's of that type), a verify checks that licence.
//! - Query and verify leave an active grant active; a fetch consumes it, in the transaction
//!   that makes the link (two fetches racing for one grant: one link).
//! - Every refusal of the authorisation (no grant, a code nobody issued, another department's,
//!   used, withdrawn or expired, another licence's, no such licence or holder) is the same
//!   [`Error::UseDenied`], recorded for the operator without a licence id; nothing is added to
//!   any holder's list, so a department learns nothing about whether a licence exists.
//! - Every allowed call is a row of the licence's uses (what the holder lists) before it is
//!   answered; a fetch is audited too (`licence.fetched`, with the link).
//! - The link's file is made (sealed and kept) when the link is, so that serving the link,
//!   without an API key, only reads it.

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use subtle::ConstantTimeEq;

use super::grants::{GrantStatus, MAX_REASON_CHARS, USE_SCOPE, check_text, code_hash, secret_hex};
use super::ledger::{Op, Outcome, now_ms};
use super::licence_files::OFD;
use super::{AuthClient, Licence, LicenceStatus, Vault, random_id};
use crate::audit::{Action, Event};
use crate::crypto::sha256;
use crate::error::{Error, Result};
use crate::store::{AuditedTx, DenialRow, FetchLinkRow, LicenceRow, UseRow};

/// How long a fetch's link serves the file: five minutes.
pub const FETCH_LINK_TTL_S: i64 = 300;

/// Most characters of an approval case number.
const MAX_CASE_NUMBER: usize = 64;

/// Most licences a query answers (a holder has few of one type).
const MAX_HOLDER_LICENCES: u32 = 50;

/// Most fields one verify compares.
const MAX_VERIFY_FIELDS: usize = 64;

/// The 用证 operations (GB/T 36906).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UseOperation {
    /// A holder's licences of a type.
    Query,
    /// Face data compared with a licence.
    Verify,
    /// A licence's file.
    Fetch,
}

impl UseOperation {
    /// The name recorded and shown (`licence_uses.kind`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Query => "query",
            Self::Verify => "verify",
            Self::Fetch => "fetch",
        }
    }
}

/// What authorises a use: exactly one of these.
#[derive(Debug, Clone)]
pub enum Authority {
    /// An approval case number (办件编号), recorded with the use.
    CaseNumber(String),
    /// The code of the holder's grant.
    GrantCode(String),
}

/// The reason and authority every 用证 call carries.
#[derive(Debug, Clone)]
pub struct UseRequest {
    /// 用证事由 (1–200 characters).
    pub reason: String,
    /// The case number or the grant.
    pub authority: Authority,
}

impl UseRequest {
    fn check(&self) -> Result<()> {
        check_text("reason", &self.reason, MAX_REASON_CHARS)?;
        if let Authority::CaseNumber(c) = &self.authority {
            check_text("case_number", c, MAX_CASE_NUMBER)?;
        }
        Ok(())
    }

    fn case_number(&self) -> Option<String> {
        match &self.authority {
            Authority::CaseNumber(c) => Some(c.clone()),
            Authority::GrantCode(_) => None,
        }
    }
}

/// Which licence a verify compares with.
#[derive(Debug, Clone)]
pub enum UseTarget {
    /// A licence by its 证照标识.
    Licence(String),
    /// The holder's current licence of a type (with a grant: the granted one).
    Holder {
        /// 持证主体代码.
        holder_code: String,
        /// 证照类型代码.
        type_code: String,
    },
}

/// The answer to a verify: per field whether it matches, never a value.
#[derive(Debug, Clone)]
pub struct UseVerification {
    /// Field name → whether the value given equals the licence's (an unknown field: false).
    pub matches: BTreeMap<String, bool>,
    /// The licence's status now.
    pub status: LicenceStatus,
}

/// A fetch's link to a licence file.
#[derive(Debug, Clone)]
pub struct FetchLink {
    /// Where the file is served (once, without an API key).
    pub url: String,
    /// When the link stops serving (ms).
    pub expires_at: i64,
}

/// A link to be stored, with the grant it consumes and its audit entry.
#[derive(Debug)]
pub(crate) struct Fetching {
    pub(crate) link: FetchLinkRow,
    pub(crate) grant_id: Option<String>,
    pub(crate) event: Event,
}

/// What an authorised call may use.
struct Allowed {
    /// Oldest first.
    licences: Vec<LicenceRow>,
    grant_id: Option<String>,
}

/// Why a use was refused, for the operator only.
type Cause = &'static str;

/// Stores a fetch's link, consuming its grant if it is still active: a grant another fetch
/// consumed first refuses this one.
pub(crate) async fn apply_fetch(
    tx: &mut AuditedTx,
    f: &Fetching,
    at: i64,
) -> Result<Result<Outcome>> {
    if let Some(grant) = &f.grant_id
        && !tx.consume_grant(grant, &f.link.department_id, at).await?
    {
        return Ok(Err(Error::UseDenied));
    }
    tx.insert_fetch_link(&f.link).await?;
    Ok(Ok(Some(tx.append(f.event.clone(), at))))
}

/// A licence's values a verify may name: its face fields, `number`, `holder.name` and
/// `holder.id_number`.
fn face_values(row: &LicenceRow) -> Result<Map<String, Value>> {
    let mut values: Map<String, Value> = serde_json::from_str(&row.fields)
        .map_err(|_| Error::Corrupt(format!("licence {} fields", row.id)))?;
    values.insert("number".into(), row.number.clone().into());
    values.insert("holder.name".into(), row.holder_name.clone().into());
    values.insert(
        "holder.id_number".into(),
        row.holder_id_number.clone().into(),
    );
    Ok(values)
}

/// Whether a value given equals a stored one, both as text (strings trimmed, other values as
/// JSON), compared in constant time.
fn same(stored: &Value, given: &Value) -> bool {
    let text = |v: &Value| match v {
        Value::String(s) => s.trim().to_owned(),
        other => other.to_string(),
    };
    let (a, b) = (
        sha256(text(stored).as_bytes()),
        sha256(text(given).as_bytes()),
    );
    a[..].ct_eq(&b[..]).into()
}

impl Vault {
    /// 用证 query: a holder's licences of a type (with a grant: the granted one), each use
    /// recorded in its licence's uses. Refused uses are [`Error::UseDenied`].
    pub async fn use_query(
        &self,
        client: &AuthClient,
        holder_code: &str,
        type_code: &str,
        req: &UseRequest,
    ) -> Result<Vec<Licence>> {
        let target = UseTarget::Holder {
            holder_code: holder_code.to_owned(),
            type_code: type_code.to_owned(),
        };
        let allowed = self
            .authorise_use(client, UseOperation::Query, &target, req)
            .await?;
        let now = now_ms();
        let mut found = Vec::with_capacity(allowed.licences.len());
        for row in allowed.licences {
            self.record_department_use(
                client,
                UseOperation::Query,
                &row,
                req,
                &allowed.grant_id,
                now,
            )
            .await?;
            found.push(self.with_issuer(row).await?);
        }
        Ok(found)
    }

    /// 用证 verify: whether each field given equals the licence's, and its status, without
    /// any value; recorded in the licence's uses.
    pub async fn use_verify(
        &self,
        client: &AuthClient,
        target: &UseTarget,
        fields: &Map<String, Value>,
        req: &UseRequest,
    ) -> Result<UseVerification> {
        if fields.is_empty() || fields.len() > MAX_VERIFY_FIELDS {
            return Err(Error::InvalidField(format!(
                "fields: give 1 to {MAX_VERIFY_FIELDS} fields"
            )));
        }
        let allowed = self
            .authorise_use(client, UseOperation::Verify, target, req)
            .await?;
        // A holder's licences come oldest first: the newest is the one in force.
        let row = allowed
            .licences
            .last()
            .ok_or_else(|| Error::Corrupt("an allowed use without a licence".into()))?;
        let stored = face_values(row)?;
        let matches = fields
            .iter()
            .map(|(name, given)| {
                let hit = stored.get(name).is_some_and(|s| same(s, given));
                (name.clone(), hit)
            })
            .collect();
        let now = now_ms();
        let status = LicenceStatus::of(row, now)?;
        self.record_department_use(
            client,
            UseOperation::Verify,
            row,
            req,
            &allowed.grant_id,
            now,
        )
        .await?;
        Ok(UseVerification { matches, status })
    }

    /// 用证 fetch: a link serving the licence's OFD once within [`FETCH_LINK_TTL_S`]; consumes
    /// the grant, is audited (`licence.fetched`) and recorded in the licence's uses.
    pub async fn use_fetch(
        &self,
        client: &AuthClient,
        licence_id: &str,
        req: &UseRequest,
    ) -> Result<FetchLink> {
        let target = UseTarget::Licence(licence_id.to_owned());
        let allowed = self
            .authorise_use(client, UseOperation::Fetch, &target, req)
            .await?;
        let row = allowed
            .licences
            .into_iter()
            .next()
            .ok_or_else(|| Error::Corrupt("an allowed use without a licence".into()))?;
        let licence = self.with_issuer(row).await?;
        self.kept_licence_ofd(client, &licence).await?;
        let token = secret_hex(&self.inner.rng)?;
        let now = now_ms();
        let expires_at = now + FETCH_LINK_TTL_S * 1000;
        let mut event = Event::new(
            client.actor(),
            Action::LicenceFetched,
            format!("licence:{}", licence.row.id),
        )
        .with("department", client.id.as_str())
        .with("reason_sha256", hex::encode(sha256(req.reason.as_bytes())))
        .with("link_expires_at_ms", expires_at);
        event = match (&allowed.grant_id, req.case_number()) {
            (Some(grant), _) => event.with("grant", grant.as_str()),
            (None, Some(case)) => {
                event.with("case_number_sha256", hex::encode(sha256(case.as_bytes())))
            }
            (None, None) => event,
        };
        let fetching = Fetching {
            link: FetchLinkRow {
                token_sha256: code_hash(&token),
                licence_id: licence.row.id.clone(),
                department_id: client.id.clone(),
                created_at: now,
                expires_at,
            },
            grant_id: allowed.grant_id.clone(),
            event,
        };
        match self.apply(Op::FetchLicence(Box::new(fetching))).await {
            Err(Error::UseDenied) => {
                return Err(self
                    .deny(client, UseOperation::Fetch, req, "grant_used_meanwhile")
                    .await?);
            }
            other => other?,
        };
        self.record_department_use(
            client,
            UseOperation::Fetch,
            &licence.row,
            req,
            &allowed.grant_id,
            now,
        )
        .await?;
        let base = self.config().public_url.as_deref().unwrap_or("");
        Ok(FetchLink {
            url: format!("{base}/v1/licence-use/files/{token}"),
            expires_at,
        })
    }

    /// The file a fetch's link serves, once: the licence id and its OFD; a token unknown,
    /// used or expired is 404.
    pub async fn use_file(&self, token: &str) -> Result<(String, Vec<u8>)> {
        if token.len() != 32 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::NotFound("file"));
        }
        let store = &self.inner.store;
        let Some(id) = store.take_fetch_link(&code_hash(token), now_ms()).await? else {
            return Err(Error::NotFound("file"));
        };
        let file = store
            .licence_file(&id, OFD)
            .await?
            .ok_or_else(|| Error::Corrupt(format!("the file of licence {id} is not kept")))?;
        Ok((id, file))
    }

    /// Checks a 用证 call: the scope (403 `forbidden`), the reason and case number (400), then
    /// the authorisation, whose every refusal is recorded and answered alike.
    async fn authorise_use(
        &self,
        client: &AuthClient,
        op: UseOperation,
        target: &UseTarget,
        req: &UseRequest,
    ) -> Result<Allowed> {
        client.require(USE_SCOPE)?;
        req.check()?;
        match self.allowed(client, target, req).await? {
            Ok(allowed) => Ok(allowed),
            Err(cause) => Err(self.deny(client, op, req, cause).await?),
        }
    }

    /// The licences a call may use, or why it may not.
    async fn allowed(
        &self,
        client: &AuthClient,
        target: &UseTarget,
        req: &UseRequest,
    ) -> Result<std::result::Result<Allowed, Cause>> {
        let store = &self.inner.store;
        let licences = match target {
            UseTarget::Licence(id) => store.licence(id).await?.into_iter().collect(),
            UseTarget::Holder {
                holder_code,
                type_code,
            } => {
                let mut rows = Vec::new();
                for id in store
                    .holder_licence_ids(holder_code, type_code, MAX_HOLDER_LICENCES)
                    .await?
                {
                    rows.extend(store.licence(&id).await?);
                }
                rows
            }
        };
        if licences.is_empty() {
            return Ok(Err("unknown_licence"));
        }
        let code = match &req.authority {
            Authority::CaseNumber(_) => {
                return Ok(Ok(Allowed {
                    licences,
                    grant_id: None,
                }));
            }
            Authority::GrantCode(code) => code,
        };
        let hash = code_hash(code);
        let Some(grant) = store.grant_by_code(&hash).await? else {
            return Ok(Err("no_grant"));
        };
        // Found by its hash; the comparison that decides is constant-time.
        if !bool::from(grant.code_sha256.as_bytes().ct_eq(hash.as_bytes())) {
            return Ok(Err("no_grant"));
        }
        if grant.department_id != client.id {
            return Ok(Err("other_department"));
        }
        match GrantStatus::of(&grant, now_ms()) {
            GrantStatus::Active => {}
            GrantStatus::Used => return Ok(Err("grant_used")),
            GrantStatus::Withdrawn => return Ok(Err("grant_withdrawn")),
            GrantStatus::Expired => return Ok(Err("grant_expired")),
        }
        let Some(row) = licences.into_iter().find(|l| l.id == grant.licence_id) else {
            return Ok(Err("other_licence"));
        };
        Ok(Ok(Allowed {
            licences: vec![row],
            grant_id: Some(grant.id),
        }))
    }

    /// Records a refused use for the operator (no licence id) and gives the one answer.
    async fn deny(
        &self,
        client: &AuthClient,
        op: UseOperation,
        req: &UseRequest,
        cause: Cause,
    ) -> Result<Error> {
        tracing::info!(department = %client.id, operation = op.as_str(), cause, "用证 refused");
        self.inner
            .store
            .insert_denial(&DenialRow {
                id: random_id(&self.inner.rng, "den")?,
                at: now_ms(),
                operation: op.as_str().into(),
                client_id: client.id.clone(),
                reason: req.reason.clone(),
                case_number: req.case_number(),
                cause: cause.into(),
            })
            .await?;
        Ok(Error::UseDenied)
    }

    /// Records an allowed use in the licence's uses (the holder's list), before the answer.
    async fn record_department_use(
        &self,
        client: &AuthClient,
        op: UseOperation,
        row: &LicenceRow,
        req: &UseRequest,
        grant_id: &Option<String>,
        now: i64,
    ) -> Result<()> {
        let status = LicenceStatus::of(row, now)?;
        self.record_use(UseRow {
            id: random_id(&self.inner.rng, "use")?,
            licence_id: row.id.clone(),
            at: now,
            kind: op.as_str().into(),
            client_id: Some(client.id.clone()).filter(|id| !id.is_empty()),
            client_name: None,
            inspector: None,
            verdict: status.as_str().to_ascii_uppercase(),
            view: if op == UseOperation::Fetch {
                "full"
            } else {
                "minimal"
            }
            .into(),
            reason: Some(req.reason.clone()),
            case_number: req.case_number(),
            grant_id: grant_id.clone(),
            device: None,
        })
        .await
    }

    /// A stored licence with its issuer, as shown.
    async fn with_issuer(&self, row: LicenceRow) -> Result<Licence> {
        let issuer = self
            .inner
            .store
            .issuer(&row.issuer_id)
            .await?
            .ok_or_else(|| Error::Corrupt(format!("issuer of licence {} is missing", row.id)))?;
        self.shown(row, issuer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_compare_as_trimmed_text() {
        assert!(same(&json!("张三"), &json!(" 张三 ")));
        assert!(!same(&json!("张三"), &json!("李四")));
        assert!(same(&json!(3), &json!(3)));
        // Compared as text: a number given as a string matches.
        assert!(same(&json!("3"), &json!(3)));
        assert!(!same(&json!("长期"), &json!(null)));
    }
}
