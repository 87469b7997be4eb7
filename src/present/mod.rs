//! 亮证: a licence shown as a short-lived signed QR code, and checked online or offline.
//!
//! A presentation token ([`token`]) is a compact binary payload signed by the issuer's
//! presentation key and written as `LZ1:` and base45 ([`base45`]), at most 300 characters so
//! that it scans as a QR code of version 10 or lower at level M. Whoever checks it needs the
//! issuer's key from the trust list ([`trust`]) and, for the licence's status, either the vault
//! (which reads the live status) or the issuer's signed status list ([`offline`]). This module
//! knows no database; the format is specified in `schemas/presentation-token.md`.

pub mod base45;
pub mod offline;
pub mod token;
pub mod trust;

use serde::Serialize;

pub use offline::{Report, StatusFinding, StatusLists};
pub use token::{Disclosed, Payload, Profile, Token, TokenError};
pub use trust::{Issuer, Keyring, TrustError, TrustList};

/// Lifetime of a token when the holder asks for none (seconds).
pub const DEFAULT_TTL_S: u16 = 60;

/// Shortest lifetime the vault issues (seconds): a code must live long enough to be scanned.
pub const MIN_TTL_S: u16 = 10;

/// How far a verifier's clock may be from the issuer's (seconds): a token is expired this long
/// after its expiry, and one made this long in the future is refused. Small and fixed, so that a
/// token's life cannot be stretched by a verifier's setting.
pub const LEEWAY_S: i64 = 10;

/// What a check concludes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Genuine, current, and the licence is valid.
    Valid,
    /// Genuine but past its expiry (or, offline, the licence's validity ended).
    Expired,
    /// Genuine, but the licence is revoked, cancelled or superseded (offline: its slot is
    /// invalid, which also covers an ended validity).
    Revoked,
    /// Genuine, but the licence is suspended.
    Suspended,
    /// Not a token this vault's keys signed, or malformed: nothing about it is told.
    Invalid,
    /// Genuine, but of another licence type than the one required.
    WrongType,
    /// Offline only: genuine and current, but no fresh signed status list says the licence's
    /// status, so it is not called valid.
    Unknown,
}

impl Verdict {
    /// Its name in answers: `VALID`, `EXPIRED`, `REVOKED`, `SUSPENDED`, `INVALID`,
    /// `WRONG_TYPE`, `UNKNOWN`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Valid => "VALID",
            Verdict::Expired => "EXPIRED",
            Verdict::Revoked => "REVOKED",
            Verdict::Suspended => "SUSPENDED",
            Verdict::Invalid => "INVALID",
            Verdict::WrongType => "WRONG_TYPE",
            Verdict::Unknown => "UNKNOWN",
        }
    }
}

impl Serialize for Verdict {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A token whose signature verified under a trusted key, with what its times and type already
/// decide (before the licence's status is read).
#[derive(Debug)]
pub struct Authentic<'k> {
    /// The token.
    pub token: Token,
    /// The issuer whose key signed it.
    pub issuer: &'k Issuer,
    /// `EXPIRED` or `WRONG_TYPE` when its times or type decide; `None` when the licence's
    /// status does.
    pub settled: Option<Verdict>,
}

/// Checks a token up to the licence's status: a trusted key of its id whose window holds its
/// issue time, its signature (skipped when `signature_known`: these exact bytes verified
/// before), then its times at `now` (seconds) and the required type. `None`: INVALID.
pub fn authenticate<'k>(
    keyring: &'k Keyring,
    token: Token,
    now: i64,
    required_type: Option<&str>,
    signature_known: bool,
) -> Option<Authentic<'k>> {
    let issuer = keyring.authenticate(&token, signature_known)?;
    let p = &token.payload;
    if i64::from(p.issued_at) > now + LEEWAY_S {
        // Made in the future: a clock far off, or a key misused; never relied on.
        return None;
    }
    let settled = if now > p.expires_at() + LEEWAY_S {
        Some(Verdict::Expired)
    } else if required_type.is_some_and(|t| t != p.type_code) {
        Some(Verdict::WrongType)
    } else {
        None
    };
    Some(Authentic {
        token,
        issuer,
        settled,
    })
}
