//! The presentation token (format: `schemas/presentation-token.md`): a payload of fixed-width
//! fields, the licence type and, for the `basic` and `full` profiles, the disclosed fields,
//! followed by the issuer's 64-byte signature over the payload, written as `LZ1:` and base45.
//!
//! The payload names neither the licence's 证照标识 nor its number: an opaque handle of 128
//! random bits stands for the licence, and the status list slot lets a verifier without the
//! vault read its status. The token names no algorithm: the key id picks a key of the trust list,
//! and that key's registered algorithm is the only one tried.

use time::Date;

use super::base45;
use crate::crypto::{KeyType, PrivateKey, PublicKey, SignatureAlgorithm, ec_signature, sha256};

/// What every code starts with: the format and its version, in QR alphanumeric characters.
pub const PREFIX: &str = "LZ1:";

/// The payload version this module writes and reads.
pub const VERSION: u8 = 1;

/// Most characters in a code, prefix included, so that it fits a QR symbol of version 10 at
/// level M (311 alphanumeric characters).
pub const MAX_CODE_CHARS: usize = 300;

/// Most bytes of payload and signature: what the 296 characters after the prefix carry.
pub const MAX_TOKEN_BYTES: usize = 197;

/// Bytes of the signature: SM2 and P-256 as raw `r‖s`, Ed25519 as it is.
pub const SIGNATURE_LEN: usize = 64;

/// Bytes of a key id: the start of the SHA-256 of the key's SubjectPublicKeyInfo.
pub const KEY_ID_LEN: usize = 8;

/// Bytes of a licence handle.
pub const HANDLE_LEN: usize = 16;

/// Longest lifetime a token may claim (seconds).
pub const MAX_TTL_S: u16 = 300;

/// Longest licence type code (证照类型代码).
pub const MAX_TYPE_LEN: usize = 32;

/// Bytes before the type code: version, profile, key id, handle, nonce, issued-at, lifetime,
/// status list id, slot.
const FIXED_LEN: usize = 1 + 1 + KEY_ID_LEN + HANDLE_LEN + 8 + 4 + 2 + 16 + 4;

/// `valid_to` on the wire for a licence without an end (长期).
const LONG_TERM_DAYS: u16 = 0xFFFF;

/// The Julian day of 1970-01-01, day 0 on the wire.
const EPOCH_JULIAN_DAY: i32 = 2_440_588;

/// Which fields of the licence the holder shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// Only that the licence of this type is valid.
    Valid,
    /// The holder's masked name and the licence's validity besides.
    Basic,
    /// As `basic` in the token; an authenticated inspector checking online sees the whole
    /// licence.
    Full,
}

impl Profile {
    /// Every profile, by wire value.
    pub const ALL: [Profile; 3] = [Profile::Valid, Profile::Basic, Profile::Full];

    /// Its name in the API: `valid`, `basic`, `full`.
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Valid => "valid",
            Profile::Basic => "basic",
            Profile::Full => "full",
        }
    }

    /// The profile of an API name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == name)
    }

    fn wire(self) -> u8 {
        match self {
            Profile::Valid => 0,
            Profile::Basic => 1,
            Profile::Full => 2,
        }
    }

    /// Whether the token carries the disclosed fields.
    pub fn discloses(self) -> bool {
        self != Profile::Valid
    }
}

/// The fields a `basic` or `full` token shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disclosed {
    /// 持证主体, masked ([`masked_name`]).
    pub holder_name: String,
    /// 有效期起始.
    pub valid_from: Date,
    /// 有效期截止; `None` = 长期.
    pub valid_to: Option<Date>,
}

/// The signed content of a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload {
    /// What the holder shows.
    pub profile: Profile,
    /// The signing key's id ([`key_id`]).
    pub key_id: [u8; KEY_ID_LEN],
    /// The licence's opaque handle (random, kept by the vault).
    pub handle: [u8; HANDLE_LEN],
    /// Random bytes that make every token unique.
    pub nonce: [u8; 8],
    /// When it was made (seconds since the Unix epoch).
    pub issued_at: u32,
    /// Seconds it may be relied on after `issued_at` (1–300).
    pub ttl_s: u16,
    /// The 16 random bytes of the licence's status list id (`sl_` and their lowercase hex).
    pub list: [u8; 16],
    /// The licence's slot in that list.
    pub slot: u32,
    /// 证照类型代码 (ASCII letters and digits).
    pub type_code: String,
    /// The disclosed fields: present exactly when the profile discloses.
    pub disclosed: Option<Disclosed>,
}

/// Why a code is not a token, or a payload cannot be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The code does not start with [`PREFIX`].
    #[error("the code does not start with {PREFIX}")]
    Prefix,
    /// More than [`MAX_CODE_CHARS`] characters, or a payload too large to fit them.
    #[error("the code is longer than {MAX_CODE_CHARS} characters")]
    TooLong,
    /// The text after the prefix is not base45.
    #[error("the code is not base45")]
    Base45,
    /// A payload version other than [`VERSION`].
    #[error("an unknown payload version")]
    Version,
    /// The bytes end inside a field.
    #[error("the payload ends early")]
    Truncated,
    /// A field holds a value the format does not allow (named).
    #[error("the payload's `{0}` is not valid")]
    Field(&'static str),
    /// Bytes after the signature.
    #[error("bytes after the signature")]
    Trailing,
    /// The key cannot sign tokens (an algorithm other than SM2, P-256, Ed25519), or failed.
    #[error("the key cannot sign a presentation token")]
    Signing,
}

/// The id of a presentation key: the first 8 bytes of the SHA-256 of its SubjectPublicKeyInfo.
pub fn key_id(spki_der: &[u8]) -> [u8; KEY_ID_LEN] {
    let mut id = [0u8; KEY_ID_LEN];
    id.copy_from_slice(&sha256(spki_der)[..KEY_ID_LEN]);
    id
}

/// The one signature algorithm a presentation key of this type signs with, if it may sign
/// tokens at all.
pub fn signature_algorithm(key_type: KeyType) -> Option<SignatureAlgorithm> {
    match key_type {
        KeyType::Sm2 => Some(SignatureAlgorithm::Sm2Sm3),
        KeyType::P256 => Some(SignatureAlgorithm::EcdsaP256Sha256),
        KeyType::Ed25519 => Some(SignatureAlgorithm::Ed25519),
        KeyType::Rsa2048 | KeyType::Rsa3072 => None,
    }
}

/// The bytes a masked holder name may take in a token of this type: whatever the largest token
/// leaves.
pub fn name_room(type_code: &str) -> usize {
    MAX_TOKEN_BYTES.saturating_sub(SIGNATURE_LEN + FIXED_LEN + 1 + type_code.len() + 2 + 2 + 1)
}

/// A holder's name as a token shows it: a quarter of its characters (at most four) kept at
/// either end and the rest one `*` each, as everywhere else a name is masked; when that is
/// longer than `room` bytes, fewer `*`, then fewer kept characters, until it fits.
pub fn masked_name(name: &str, room: usize) -> String {
    let chars: Vec<char> = name.chars().collect();
    let n = chars.len();
    let mut keep = (n / 4).min(4);
    let mut stars = n - 2 * keep;
    loop {
        let text: String = chars[..keep]
            .iter()
            .chain(std::iter::repeat_n(&'*', stars))
            .chain(&chars[n - keep..])
            .collect();
        if text.len() <= room || (keep == 0 && stars <= 1) {
            return text;
        }
        if stars > 1 {
            stars -= 1;
        } else {
            keep -= 1;
            stars = 1;
        }
    }
}

fn wire_day(day: Date, field: &'static str) -> Result<u16, TokenError> {
    u16::try_from(day.to_julian_day() - EPOCH_JULIAN_DAY)
        .ok()
        .filter(|d| *d != LONG_TERM_DAYS)
        .ok_or(TokenError::Field(field))
}

fn day_of_wire(days: u16) -> Result<Date, TokenError> {
    Date::from_julian_day(EPOCH_JULIAN_DAY + i32::from(days)).map_err(|_| TokenError::Field("day"))
}

fn valid_type_code(code: &str) -> bool {
    (1..=MAX_TYPE_LEN).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn valid_name(name: &str) -> bool {
    !name.chars().any(char::is_control)
}

impl Payload {
    /// When it stops being valid (seconds since the Unix epoch).
    pub fn expires_at(&self) -> i64 {
        i64::from(self.issued_at) + i64::from(self.ttl_s)
    }

    /// The status list's id as the vault names it (`sl_` and 32 lowercase hex digits).
    pub fn list_id(&self) -> String {
        format!("sl_{}", hex::encode(self.list))
    }

    /// The payload's bytes (what the signature covers).
    pub fn to_bytes(&self) -> Result<Vec<u8>, TokenError> {
        if !valid_type_code(&self.type_code) {
            return Err(TokenError::Field("type"));
        }
        if self.ttl_s == 0 || self.ttl_s > MAX_TTL_S {
            return Err(TokenError::Field("ttl"));
        }
        let mut out = Vec::with_capacity(MAX_TOKEN_BYTES);
        out.push(VERSION);
        out.push(self.profile.wire());
        out.extend_from_slice(&self.key_id);
        out.extend_from_slice(&self.handle);
        out.extend_from_slice(&self.nonce);
        out.extend_from_slice(&self.issued_at.to_be_bytes());
        out.extend_from_slice(&self.ttl_s.to_be_bytes());
        out.extend_from_slice(&self.list);
        out.extend_from_slice(&self.slot.to_be_bytes());
        // At most MAX_TYPE_LEN, checked above.
        out.push(u8::try_from(self.type_code.len()).map_err(|_| TokenError::Field("type"))?);
        out.extend_from_slice(self.type_code.as_bytes());
        match (&self.disclosed, self.profile.discloses()) {
            (Some(d), true) => {
                out.extend_from_slice(&wire_day(d.valid_from, "valid_from")?.to_be_bytes());
                let to = match d.valid_to {
                    Some(day) => wire_day(day, "valid_to")?,
                    None => LONG_TERM_DAYS,
                };
                out.extend_from_slice(&to.to_be_bytes());
                let name = u8::try_from(d.holder_name.len())
                    .ok()
                    .filter(|_| valid_name(&d.holder_name))
                    .ok_or(TokenError::Field("holder_name"))?;
                out.push(name);
                out.extend_from_slice(d.holder_name.as_bytes());
            }
            (None, false) => {}
            _ => return Err(TokenError::Field("profile")),
        }
        if out.len() + SIGNATURE_LEN > MAX_TOKEN_BYTES {
            return Err(TokenError::TooLong);
        }
        Ok(out)
    }

    /// Reads a payload; `bytes` must be exactly the payload.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, TokenError> {
        let mut r = Cursor(bytes);
        if r.take::<1>()?[0] != VERSION {
            return Err(TokenError::Version);
        }
        let wire = r.take::<1>()?[0];
        let profile = Profile::ALL
            .into_iter()
            .find(|p| p.wire() == wire)
            .ok_or(TokenError::Field("profile"))?;
        let key_id = r.take()?;
        let handle = r.take()?;
        let nonce = r.take()?;
        let issued_at = u32::from_be_bytes(r.take()?);
        let ttl_s = u16::from_be_bytes(r.take()?);
        if ttl_s == 0 || ttl_s > MAX_TTL_S {
            return Err(TokenError::Field("ttl"));
        }
        let list = r.take()?;
        let slot = u32::from_be_bytes(r.take()?);
        let type_len = usize::from(r.take::<1>()?[0]);
        let type_code = std::str::from_utf8(r.slice(type_len)?)
            .ok()
            .filter(|c| valid_type_code(c))
            .ok_or(TokenError::Field("type"))?
            .to_owned();
        let disclosed = if profile.discloses() {
            let valid_from = u16::from_be_bytes(r.take()?);
            if valid_from == LONG_TERM_DAYS {
                return Err(TokenError::Field("valid_from"));
            }
            let valid_to = u16::from_be_bytes(r.take()?);
            let name_len = usize::from(r.take::<1>()?[0]);
            let holder_name = std::str::from_utf8(r.slice(name_len)?)
                .ok()
                .filter(|n| valid_name(n))
                .ok_or(TokenError::Field("holder_name"))?
                .to_owned();
            Some(Disclosed {
                holder_name,
                valid_from: day_of_wire(valid_from)?,
                valid_to: match valid_to {
                    LONG_TERM_DAYS => None,
                    d => Some(day_of_wire(d)?),
                },
            })
        } else {
            None
        };
        if !r.0.is_empty() {
            return Err(TokenError::Trailing);
        }
        Ok(Self {
            profile,
            key_id,
            handle,
            nonce,
            issued_at,
            ttl_s,
            list,
            slot,
            type_code,
            disclosed,
        })
    }

    /// The code of this payload signed with `key`: `LZ1:` and base45 of the payload and the
    /// signature.
    pub fn sign(&self, key: &PrivateKey) -> Result<String, TokenError> {
        let alg = signature_algorithm(key.key_type()).ok_or(TokenError::Signing)?;
        let mut bytes = self.to_bytes()?;
        let signature = key.sign(alg, &bytes).map_err(|_| TokenError::Signing)?;
        match key.key_type() {
            KeyType::Ed25519 => bytes.extend_from_slice(&signature),
            _ => bytes.extend_from_slice(
                &ec_signature::raw_from_der(&signature).map_err(|_| TokenError::Signing)?,
            ),
        }
        Ok(format!("{PREFIX}{}", base45::encode(&bytes)))
    }
}

/// Reads fixed-width fields off the front of a byte string.
struct Cursor<'a>(&'a [u8]);

impl Cursor<'_> {
    fn slice(&mut self, n: usize) -> Result<&[u8], TokenError> {
        if self.0.len() < n {
            return Err(TokenError::Truncated);
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn take<const N: usize>(&mut self) -> Result<[u8; N], TokenError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.slice(N)?);
        Ok(out)
    }
}

/// A code taken apart: the payload, the bytes its signature covers, and the signature (not yet
/// checked).
#[derive(Debug, Clone)]
pub struct Token {
    /// What it says.
    pub payload: Payload,
    signed: Vec<u8>,
    signature: [u8; SIGNATURE_LEN],
}

impl Token {
    /// Takes a code apart, refusing anything the format does not allow (the signature is
    /// checked by [`Token::verify`]).
    pub fn parse(code: &str) -> Result<Self, TokenError> {
        if code.len() > MAX_CODE_CHARS {
            return Err(TokenError::TooLong);
        }
        let body = code.strip_prefix(PREFIX).ok_or(TokenError::Prefix)?;
        let bytes = base45::decode(body).map_err(|_| TokenError::Base45)?;
        let split = bytes
            .len()
            .checked_sub(SIGNATURE_LEN)
            .ok_or(TokenError::Truncated)?;
        let (signed, signature) = bytes.split_at(split);
        let payload = Payload::from_bytes(signed)?;
        let mut sig = [0u8; SIGNATURE_LEN];
        sig.copy_from_slice(signature);
        Ok(Self {
            payload,
            signed: signed.to_vec(),
            signature: sig,
        })
    }

    /// Whether the signature verifies under `key` with the one algorithm of its type.
    pub fn verify(&self, key: &PublicKey) -> bool {
        let Some(alg) = signature_algorithm(key.key_type()) else {
            return false;
        };
        let signature = match key.key_type() {
            KeyType::Ed25519 => self.signature.to_vec(),
            _ => match ec_signature::der_from_raw(&self.signature) {
                Ok(der) => der,
                Err(_) => return false,
            },
        };
        key.verify(alg, &self.signed, &signature).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u8, d: u8) -> Date {
        Date::from_calendar_date(y, time::Month::try_from(m).expect("month"), d).expect("date")
    }

    fn sample(profile: Profile) -> Payload {
        let type_code = "111000009000000146001".to_owned();
        Payload {
            profile,
            key_id: [1; 8],
            handle: [2; 16],
            nonce: [3; 8],
            issued_at: 1_767_225_600,
            ttl_s: 60,
            list: [4; 16],
            slot: 123_456,
            disclosed: profile.discloses().then(|| Disclosed {
                holder_name: masked_name(
                    "中国石油天然气股份有限公司济南分公司",
                    name_room(&type_code),
                ),
                valid_from: date(2020, 5, 1),
                valid_to: None,
            }),
            type_code,
        }
    }

    #[test]
    fn every_profile_round_trips_and_fits_the_code() {
        for kt in [KeyType::Sm2, KeyType::P256, KeyType::Ed25519] {
            let key = PrivateKey::generate(kt).expect("key");
            for profile in Profile::ALL {
                let payload = sample(profile);
                let code = payload.sign(&key).expect("sign");
                assert!(code.len() <= MAX_CODE_CHARS, "{} chars", code.len());
                let token = Token::parse(&code).expect("parse");
                assert_eq!(token.payload, payload);
                assert!(token.verify(&key.public_key()));
                let other = PrivateKey::generate(kt).expect("key").public_key();
                assert!(!token.verify(&other));
            }
        }
    }

    #[test]
    fn long_names_shrink_to_fit_and_stay_masked() {
        let room = name_room("111000009000000146001");
        assert!(room >= 32, "{room}");
        let long = "某".repeat(80);
        let shown = masked_name(&long, room);
        assert!(shown.len() <= room && shown.contains('*'), "{shown}");
        assert_eq!(masked_name("林晓燕", room), "***");
        assert_eq!(masked_name("浙江大学", room), "浙**学");
        assert_eq!(masked_name("济南某某科技有限公司", room), "济南******公司");
        assert_eq!(masked_name(&long, 1), "*");
    }

    #[test]
    fn malformed_payloads_are_refused() {
        let bytes = sample(Profile::Basic).to_bytes().expect("bytes");
        assert!(Payload::from_bytes(&bytes).is_ok());
        for cut in 0..bytes.len() {
            assert!(Payload::from_bytes(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(Payload::from_bytes(&longer), Err(TokenError::Trailing));
        let mut version = bytes.clone();
        version[0] = 2;
        assert_eq!(Payload::from_bytes(&version), Err(TokenError::Version));
        let mut profile = bytes.clone();
        profile[1] = 3;
        assert_eq!(
            Payload::from_bytes(&profile),
            Err(TokenError::Field("profile"))
        );
        let mut ttl = bytes.clone();
        ttl[38..40].copy_from_slice(&301u16.to_be_bytes());
        assert_eq!(Payload::from_bytes(&ttl), Err(TokenError::Field("ttl")));
        let mut kind = bytes;
        kind[61] = b'-';
        assert_eq!(Payload::from_bytes(&kind), Err(TokenError::Field("type")));
        assert!(matches!(Token::parse("LZ2:AB"), Err(TokenError::Prefix)));
        assert!(matches!(Token::parse("LZ1:ab"), Err(TokenError::Base45)));
        assert!(matches!(
            Token::parse("LZ1:BB8"),
            Err(TokenError::Truncated)
        ));
        let long = format!("{PREFIX}{}", "0".repeat(MAX_CODE_CHARS));
        assert!(matches!(Token::parse(&long), Err(TokenError::TooLong)));
    }
}
