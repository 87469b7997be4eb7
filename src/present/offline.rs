//! Verification without the vault: a token checked against a trust list and the issuers'
//! signed status lists (`statuslist+jwt`, as `GET /v1/status-lists/{id}` serves them), which an
//! inspector's device fetched while it had a network.
//!
//! A list is only believed when its ES256 signature verifies under its issuer's status key from
//! the trust list and its `sub` names the token's list. A list past its `exp` (or older than the
//! verifier's own maximum age) says nothing any more: the token's licence is then of unknown
//! status since that moment, and the verdict is `UNKNOWN`, never `VALID`.

use std::collections::HashMap;

use serde::Serialize;

use super::token::Token;
use super::trust::{Issuer, Keyring, time_text};
use super::{LEEWAY_S, Verdict, authenticate};
use crate::crypto::{SignatureAlgorithm, ec_signature};
use crate::licence::status_list::{ParsedToken, StatusListError, parse_token};
use crate::licence::{LONG_TERM, StatusList, date_text, day_of};

/// The status list tokens a verifier holds, by list id.
#[derive(Debug, Clone, Default)]
pub struct StatusLists {
    lists: HashMap<String, ParsedToken>,
}

impl StatusLists {
    /// Adds a status list token (not yet verified: its issuer's key is known only once a
    /// token names the list); returns the list's id, the last segment of its `sub`.
    pub fn add(&mut self, jwt: &str) -> Result<String, StatusListError> {
        let parsed = parse_token(jwt)?;
        let id = parsed
            .payload
            .get("sub")
            .and_then(|s| s.as_str())
            .and_then(|s| s.rsplit('/').next())
            .filter(|id| !id.is_empty())
            .ok_or(StatusListError::Token("no sub naming the list"))?
            .to_owned();
        self.lists.insert(id.clone(), parsed);
        Ok(id)
    }
}

/// The licence as a token shows it (nothing else: only signed fields are shown).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Shown {
    /// 证照类型代码.
    #[serde(rename = "type")]
    pub type_code: String,
    /// 证照名称, when the trust list names the type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub type_name: Option<String>,
    /// The issuer whose key signed the token.
    pub issuer: ShownIssuer,
    /// 持证主体, masked (profiles `basic` and `full`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holder_name: Option<String>,
    /// 有效期起始, `YYYY-MM-DD` (profiles `basic` and `full`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<String>,
    /// 有效期截止, `YYYY-MM-DD` or `长期` (profiles `basic` and `full`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_to: Option<String>,
}

/// An issuer as a verdict names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShownIssuer {
    /// The vault's id of the issuer.
    pub id: String,
    /// 颁证单位.
    pub name: String,
    /// Its 统一社会信用代码.
    pub uscc: String,
}

impl Shown {
    /// What `token`, signed by `issuer`, shows.
    pub fn of(token: &Token, issuer: &Issuer, type_name: Option<&str>) -> Self {
        let p = &token.payload;
        let d = p.disclosed.as_ref();
        Self {
            type_code: p.type_code.clone(),
            type_name: type_name.map(str::to_owned),
            issuer: ShownIssuer {
                id: issuer.id.clone(),
                name: issuer.name.clone(),
                uscc: issuer.uscc.clone(),
            },
            holder_name: d.map(|d| d.holder_name.clone()),
            valid_from: d.map(|d| date_text(d.valid_from)),
            valid_to: d.map(|d| d.valid_to.map_or_else(|| LONG_TERM.to_owned(), date_text)),
        }
    }
}

/// A token's issue and expiry times and profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenFacts {
    /// `valid`, `basic` or `full`.
    pub profile: &'static str,
    /// When it was made (RFC 3339).
    pub issued_at: String,
    /// When it expires (RFC 3339), before the leeway.
    pub expires_at: String,
}

impl TokenFacts {
    /// The facts of a token.
    pub fn of(token: &Token) -> Self {
        Self {
            profile: token.payload.profile.as_str(),
            issued_at: time_text(i64::from(token.payload.issued_at)),
            expires_at: time_text(token.payload.expires_at()),
        }
    }
}

/// What the status lists say of a token's licence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusFinding {
    /// The list the token names.
    pub list: String,
    /// The licence's slot in it.
    pub slot: u32,
    /// `valid`, `invalid` or `suspended`; absent when unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<&'static str>,
    /// When the list that said so was made (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub as_of: Option<String>,
    /// Since when the status is unknown (RFC 3339): the held list expired, or grew older than
    /// the verifier allows, then.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unknown_since: Option<String>,
    /// Why the status is unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
}

/// The outcome of an offline check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The verdict.
    pub verdict: Verdict,
    /// When the check was made (RFC 3339).
    pub checked_at: String,
    /// The token's times and profile (absent for `INVALID`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<TokenFacts>,
    /// What the token shows (absent for `INVALID`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub licence: Option<Shown>,
    /// What the status lists say (absent when the token's times or type decided).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<StatusFinding>,
}

impl Report {
    /// The report for people, verdict first.
    pub fn summary(&self) -> String {
        let mut lines = vec![self.verdict.as_str().to_owned()];
        if let Some(l) = &self.licence {
            lines.push(format!(
                "licence: {} ({}), issued by {}",
                l.type_name.as_deref().unwrap_or("unknown type"),
                l.type_code,
                l.issuer.name
            ));
            if let Some(name) = &l.holder_name {
                lines.push(format!("holder: {name}"));
            }
            if let (Some(from), Some(to)) = (&l.valid_from, &l.valid_to) {
                lines.push(format!("valid: {from} to {to}"));
            }
        }
        if let Some(t) = &self.token {
            lines.push(format!(
                "token: {} profile, issued {}, expires {}",
                t.profile, t.issued_at, t.expires_at
            ));
        }
        if let Some(s) = &self.status {
            lines.push(match (&s.value, &s.as_of, &s.unknown_since) {
                (Some(v), Some(at), _) => format!("status: {v} as of {at}"),
                (_, _, Some(since)) => format!(
                    "status unknown since {since} ({})",
                    s.reason.unwrap_or("stale list")
                ),
                _ => format!("status unknown ({})", s.reason.unwrap_or("no list")),
            });
        }
        lines.push(format!("checked at {}", self.checked_at));
        lines.join("\n") + "\n"
    }
}

/// Checks a code offline at `now` (seconds since the Unix epoch): against `keyring`, the
/// `required_type` if given, and the licence's slot in `lists`, which must be signed by the
/// token's issuer and no older than its `exp` nor, with `max_age_s`, than that many seconds.
pub fn verify(
    code: &str,
    keyring: &Keyring,
    lists: &StatusLists,
    now: i64,
    required_type: Option<&str>,
    max_age_s: Option<i64>,
) -> Report {
    let checked_at = time_text(now);
    let token = Token::parse(code).ok();
    let Some(a) = token.and_then(|t| authenticate(keyring, t, now, required_type, false)) else {
        return Report {
            verdict: Verdict::Invalid,
            checked_at,
            token: None,
            licence: None,
            status: None,
        };
    };
    let p = &a.token.payload;
    let licence = Some(Shown::of(
        &a.token,
        a.issuer,
        keyring.type_name(&p.type_code),
    ));
    let token = Some(TokenFacts::of(&a.token));
    if let Some(verdict) = a.settled {
        return Report {
            verdict,
            checked_at,
            token,
            licence,
            status: None,
        };
    }
    let status = slot_status(a.issuer, lists, &p.list_id(), p.slot, now, max_age_s);
    let ended = p
        .disclosed
        .as_ref()
        .and_then(|d| d.valid_to)
        .is_some_and(|end| end < day_of(now.saturating_mul(1000)));
    let verdict = match status.value {
        _ if ended => Verdict::Expired,
        None => Verdict::Unknown,
        Some("valid") => Verdict::Valid,
        Some("suspended") => Verdict::Suspended,
        Some(_) => Verdict::Revoked,
    };
    Report {
        verdict,
        checked_at,
        token,
        licence,
        status: Some(status),
    }
}

/// The licence's slot as its issuer's list, verified and fresh, says it.
fn slot_status(
    issuer: &Issuer,
    lists: &StatusLists,
    list: &str,
    slot: u32,
    now: i64,
    max_age_s: Option<i64>,
) -> StatusFinding {
    let mut finding = StatusFinding {
        list: list.to_owned(),
        slot,
        value: None,
        as_of: None,
        unknown_since: None,
        reason: None,
    };
    let Some(t) = lists.lists.get(list) else {
        finding.reason = Some("no status list of the licence is held");
        return finding;
    };
    if !signed_by(t, issuer) {
        finding.reason = Some("the status list is not signed by the issuer's status key");
        return finding;
    }
    let claim = |name| t.payload.get(name).and_then(serde_json::Value::as_i64);
    let (Some(iat), Some(exp)) = (claim("iat"), claim("exp")) else {
        finding.reason = Some("the status list has no iat or exp");
        return finding;
    };
    finding.as_of = Some(time_text(iat));
    let stale_at = max_age_s.map_or(exp, |age| exp.min(iat.saturating_add(age)));
    if now >= stale_at {
        finding.unknown_since = Some(time_text(stale_at));
        finding.reason = Some(if stale_at == exp {
            "the status list expired"
        } else {
            "the status list is older than allowed"
        });
        return finding;
    }
    if iat > now + LEEWAY_S {
        finding.reason = Some("the status list is dated in the future");
        return finding;
    }
    let value = t
        .payload
        .get("status_list")
        .and_then(|c| StatusList::from_claim(c).ok())
        .and_then(|l| l.get(usize::try_from(slot).ok()?));
    match value {
        Some(v) => finding.value = Some(v.as_str()),
        None => finding.reason = Some("the status list has no such slot"),
    }
    finding
}

/// Whether a status list token is ES256-signed by the issuer's status key, under its `kid`.
fn signed_by(t: &ParsedToken, issuer: &Issuer) -> bool {
    let header = |name| t.header.get(name).and_then(serde_json::Value::as_str);
    header("alg") == Some("ES256")
        && header("kid") == Some(issuer.status_kid.as_str())
        && ec_signature::der_from_raw(&t.signature).is_ok_and(|der| {
            issuer
                .status_key
                .verify(
                    SignatureAlgorithm::EcdsaP256Sha256,
                    t.signing_input.as_bytes(),
                    &der,
                )
                .is_ok()
        })
}
