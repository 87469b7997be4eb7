//! 用证 grants: the holder, through the wallet system, lets one department use one licence for
//! one purpose until a deadline. The grant's code is the holder's to hand over: 128 random bits
//! shown once, kept only as its SHA-256. A fetch consumes the grant; the holder may withdraw it
//! before. Who may grant: the clients that may present the licence (the rule of
//! [`Vault::present_licence`]). Every grant made or withdrawn is audited with its change.

use super::ledger::{Op, Outcome, now_ms};
use super::presentations::PRESENT_SCOPE;
use super::{AuthClient, Vault, random_id};
use crate::audit::{Action, Actor, Event};
use crate::crypto::sha256;
use crate::error::{Error, Result};
use crate::store::{AuditedTx, GrantRow};

/// The scope of departments' systems (用证).
pub const USE_SCOPE: &str = "licence:use";

/// A grant's lifetime when none is asked for: seven days.
pub const DEFAULT_GRANT_TTL_S: u32 = 7 * 24 * 3600;

/// The longest lifetime of a grant: thirty days.
pub const MAX_GRANT_TTL_S: u32 = 30 * 24 * 3600;

/// Most characters of a purpose or a 用证事由.
pub const MAX_REASON_CHARS: usize = 200;

/// Most characters of a department's name.
const MAX_DEPARTMENT_NAME: usize = 128;

/// A grant asked for by the holder.
#[derive(Debug, Clone)]
pub struct NewGrant {
    /// The department's client id.
    pub department_id: String,
    /// The department's name, as the holder saw it.
    pub department_name: String,
    /// Why the holder grants it (1–200 characters).
    pub purpose: String,
    /// Seconds it lives: 1 to 30 days (default 7 days).
    pub expires_in_s: Option<u32>,
}

/// Where a grant stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantStatus {
    /// Usable by its department.
    Active,
    /// Consumed by a fetch.
    Used,
    /// Withdrawn by the holder.
    Withdrawn,
    /// Past its expiry.
    Expired,
}

impl GrantStatus {
    /// A stored grant's status at `now` (ms): withdrawn and used stay so after expiry.
    pub fn of(row: &GrantRow, now: i64) -> Self {
        if row.withdrawn_at.is_some() {
            Self::Withdrawn
        } else if row.used_at.is_some() {
            Self::Used
        } else if row.expires_at <= now {
            Self::Expired
        } else {
            Self::Active
        }
    }

    /// The API's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Used => "used",
            Self::Withdrawn => "withdrawn",
            Self::Expired => "expired",
        }
    }
}

/// A grant as shown (never with its code).
#[derive(Debug, Clone)]
pub struct Grant {
    /// The stored row.
    pub row: GrantRow,
    /// Its status now.
    pub status: GrantStatus,
}

impl Grant {
    fn of(row: GrantRow, now: i64) -> Self {
        Self {
            status: GrantStatus::of(&row, now),
            row,
        }
    }
}

/// A grant just made, with its one-time code (the only time the code is shown).
#[derive(Debug, Clone)]
pub struct IssuedGrant {
    /// The grant.
    pub grant: Grant,
    /// 32 hex digits: what the holder gives the department.
    pub code: String,
}

/// The SHA-256 (hex) a grant code is kept and looked up as; any case of hex digits is the same
/// code.
pub(super) fn code_hash(code: &str) -> String {
    hex::encode(sha256(code.to_ascii_lowercase().as_bytes()))
}

/// 128 random bits as 32 lowercase hex digits: a grant's code, a fetch link's token.
pub(super) fn secret_hex(rng: &ring::rand::SystemRandom) -> Result<String> {
    use ring::rand::SecureRandom;
    let mut b = [0u8; 16];
    rng.fill(&mut b)
        .map_err(|_| Error::Crypto(crate::crypto::CryptoError::Random))?;
    Ok(hex::encode(b))
}

/// Fails unless `text` is 1 to `max` characters without control characters; `field` names it.
pub(super) fn check_text(field: &str, text: &str, max: usize) -> Result<()> {
    let n = text.chars().count();
    if n == 0 || n > max || text.chars().any(char::is_control) {
        return Err(Error::InvalidField(format!(
            "{field}: must be 1–{max} characters without control characters"
        )));
    }
    Ok(())
}

/// Withdraws a grant of a licence under the lock: a grant withdrawn already is no change, a
/// used one cannot be withdrawn (409).
pub(crate) async fn apply_withdraw(
    tx: &mut AuditedTx,
    licence_id: &str,
    grant_id: &str,
    actor: &Actor,
    at: i64,
) -> Result<Result<Outcome>> {
    let Some(grant) = tx.grant(licence_id, grant_id).await? else {
        return Ok(Err(Error::NotFound("grant")));
    };
    match GrantStatus::of(&grant, at) {
        GrantStatus::Withdrawn => return Ok(Ok(None)),
        GrantStatus::Used => {
            return Ok(Err(Error::Conflict(
                "the grant was used; a used grant cannot be withdrawn".into(),
            )));
        }
        GrantStatus::Active | GrantStatus::Expired => {}
    }
    tx.withdraw_grant(grant_id, at).await?;
    let event = Event::new(
        actor.clone(),
        Action::LicenceGrantWithdrawn,
        format!("licence:{licence_id}"),
    )
    .with("grant", grant_id);
    Ok(Ok(Some(tx.append(event, at))))
}

impl Vault {
    /// Makes a holder's grant of a licence to a department (scope `present` and the right to
    /// present the licence; another client's licence is 404): its code is in the answer only.
    pub async fn grant_licence(
        &self,
        client: &AuthClient,
        licence_id: &str,
        new: NewGrant,
    ) -> Result<IssuedGrant> {
        client.require(PRESENT_SCOPE)?;
        check_text("purpose", &new.purpose, MAX_REASON_CHARS)?;
        check_text("department.name", &new.department_name, MAX_DEPARTMENT_NAME)?;
        let ttl_s = new.expires_in_s.unwrap_or(DEFAULT_GRANT_TTL_S);
        if !(1..=MAX_GRANT_TTL_S).contains(&ttl_s) {
            return Err(Error::InvalidField(format!(
                "expires_in_s: must be 1 to {MAX_GRANT_TTL_S} seconds (30 days)"
            )));
        }
        let (row, _) = self.presentable(client, licence_id).await?;
        // A grant to anything but an active department could never be used.
        let department = self.inner.store.client_by_id(&new.department_id).await?;
        let is_department = department.is_some_and(|c| {
            c.status == "active"
                && c.scopes
                    .split_whitespace()
                    .any(|s| s == USE_SCOPE || s == "admin")
        });
        if !is_department {
            return Err(Error::InvalidField(format!(
                "department.id: not an active department (a client with scope {USE_SCOPE})"
            )));
        }
        let code = secret_hex(&self.inner.rng)?;
        let now = now_ms();
        let grant = GrantRow {
            id: random_id(&self.inner.rng, "grt")?,
            licence_id: row.id.clone(),
            code_sha256: code_hash(&code),
            department_id: new.department_id,
            department_name: new.department_name,
            purpose: new.purpose,
            created_by: client.id.clone(),
            created_at: now,
            expires_at: now + i64::from(ttl_s) * 1000,
            used_at: None,
            withdrawn_at: None,
        };
        let event = Event::new(
            client.actor(),
            Action::LicenceGrantCreated,
            format!("licence:{}", row.id),
        )
        .with("grant", grant.id.as_str())
        .with("department", grant.department_id.as_str())
        .with("expires_at_ms", grant.expires_at)
        .with(
            "purpose_sha256",
            hex::encode(sha256(grant.purpose.as_bytes())),
        );
        self.apply(Op::GrantLicence(Box::new(grant.clone()), event))
            .await?;
        Ok(IssuedGrant {
            grant: Grant::of(grant, now),
            code,
        })
    }

    /// Up to `limit` grants of a licence, oldest first, after the `(created_at, id)` position
    /// `after`, without their codes: for the clients that may grant it.
    pub async fn licence_grants(
        &self,
        client: &AuthClient,
        licence_id: &str,
        after: Option<(i64, &str)>,
        limit: u32,
    ) -> Result<Vec<Grant>> {
        client.require(PRESENT_SCOPE)?;
        let (row, _) = self.presentable(client, licence_id).await?;
        let now = now_ms();
        let rows = self.inner.store.grants_page(&row.id, after, limit).await?;
        Ok(rows.into_iter().map(|g| Grant::of(g, now)).collect())
    }

    /// Withdraws a grant of a licence (audited; again is no change; a used grant is 409): for
    /// the clients that may grant it. The grant as it stands after.
    pub async fn withdraw_grant(
        &self,
        client: &AuthClient,
        licence_id: &str,
        grant_id: &str,
    ) -> Result<Grant> {
        client.require(PRESENT_SCOPE)?;
        let (row, _) = self.presentable(client, licence_id).await?;
        self.apply(Op::WithdrawGrant {
            licence_id: row.id.clone(),
            grant_id: grant_id.to_owned(),
            actor: client.actor(),
        })
        .await?;
        let grant = self
            .inner
            .store
            .grant(&row.id, grant_id)
            .await?
            .ok_or(Error::NotFound("grant"))?;
        Ok(Grant::of(grant, now_ms()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(used_at: Option<i64>, withdrawn_at: Option<i64>) -> GrantRow {
        GrantRow {
            id: "grt_1".into(),
            licence_id: "l".into(),
            code_sha256: code_hash("00"),
            department_id: "cli_d".into(),
            department_name: "d".into(),
            purpose: "p".into(),
            created_by: "cli_w".into(),
            created_at: 0,
            expires_at: 1_000,
            used_at,
            withdrawn_at,
        }
    }

    #[test]
    fn a_grant_is_active_until_it_expires_and_used_or_withdrawn_stays_so() {
        assert_eq!(GrantStatus::of(&row(None, None), 999), GrantStatus::Active);
        assert_eq!(
            GrantStatus::of(&row(None, None), 1_000),
            GrantStatus::Expired
        );
        assert_eq!(
            GrantStatus::of(&row(Some(5), None), 2_000),
            GrantStatus::Used
        );
        assert_eq!(
            GrantStatus::of(&row(Some(5), Some(6)), 2_000),
            GrantStatus::Withdrawn
        );
    }

    #[test]
    fn codes_are_hashed_case_insensitively_and_texts_bounded() {
        assert_eq!(code_hash("ABCDEF"), code_hash("abcdef"));
        assert_ne!(code_hash("abcdef"), code_hash("abcdee"));
        assert!(check_text("reason", &"事".repeat(200), MAX_REASON_CHARS).is_ok());
        assert!(check_text("reason", &"事".repeat(201), MAX_REASON_CHARS).is_err());
        assert!(check_text("reason", "", MAX_REASON_CHARS).is_err());
        assert!(check_text("reason", "a\u{7}", MAX_REASON_CHARS).is_err());
    }
}
