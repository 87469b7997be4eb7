//! The 证照标识 (licence identifier) of GB/T 36904:
//! `1.2.156.3005.2.<type code>.<issuer code>.<serial>.<version>.<check>`.
//!
//! The check character is ISO/IEC 7064 MOD 37,36 (GB/T 17710) over the identifier without the
//! root `1.2.156.3005.2` and without its dots, in the alphabet `0-9A-Z` (docs/standards.md §8.3
//! gives the algorithm and the published identifiers it was checked on). Parts are upper-case:
//! a lower-case identifier is refused, not folded, because the identifier is printed on the
//! licence and compared byte for byte everywhere else.

use std::fmt;

use ring::rand::{SecureRandom, SystemRandom};

/// The fixed root of every licence identifier (电子证照根代码).
pub const ROOT: &str = "1.2.156.3005.2";

const ALPHABET: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// Longest serial (流水号) accepted; real issuers use 9 to 32 characters.
const MAX_SERIAL: usize = 32;

/// Why a licence identifier or one of its parts was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LicenceIdError {
    /// It does not start with `1.2.156.3005.2.`.
    #[error("must start with {ROOT}.")]
    Root,
    /// Not five dot-separated parts after the root.
    #[error("must have five parts after the root (type.issuer.serial.version.check), got {0}")]
    Parts(usize),
    /// A part with the wrong length or characters.
    #[error("{part}: {why}")]
    Part {
        /// Which part: `type code`, `issuer code`, `serial`, `version` or `check character`.
        part: &'static str,
        /// What is wrong with it.
        why: &'static str,
    },
    /// The check character does not match the rest.
    #[error("check character is {found}, expected {expected}")]
    Check {
        /// The character given.
        found: char,
        /// The character the rest computes to.
        expected: char,
    },
    /// The system's random source failed.
    #[error("no randomness for a serial")]
    Random,
}

/// A checked 证照标识; `Display` gives it whole, with its check character.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LicenceId {
    type_code: String,
    issuer_code: String,
    serial: String,
    version: u16,
}

impl LicenceId {
    /// A new identifier from its parts (the check character is computed).
    pub fn new(
        type_code: &str,
        issuer_code: &str,
        serial: &str,
        version: u16,
    ) -> Result<Self, LicenceIdError> {
        check_part("type code", type_code, 4, 32)?;
        check_part("issuer code", issuer_code, 6, 18)?;
        check_part("serial", serial, 1, MAX_SERIAL)?;
        if !(1..=999).contains(&version) {
            return Err(LicenceIdError::Part {
                part: "version",
                why: "must be 001 to 999",
            });
        }
        Ok(Self {
            type_code: type_code.to_owned(),
            issuer_code: issuer_code.to_owned(),
            serial: serial.to_owned(),
            version,
        })
    }

    /// Parses and checks a whole identifier, check character included.
    pub fn parse(s: &str) -> Result<Self, LicenceIdError> {
        let rest = s
            .strip_prefix(ROOT)
            .and_then(|r| r.strip_prefix('.'))
            .ok_or(LicenceIdError::Root)?;
        let parts: Vec<&str> = rest.split('.').collect();
        let [type_code, issuer_code, serial, version, check] = parts[..] else {
            return Err(LicenceIdError::Parts(parts.len()));
        };
        if version.len() != 3 || !version.bytes().all(|b| b.is_ascii_digit()) {
            return Err(LicenceIdError::Part {
                part: "version",
                why: "must be three digits",
            });
        }
        let version: u16 = version.parse().map_err(|_| LicenceIdError::Part {
            part: "version",
            why: "must be three digits",
        })?;
        let id = Self::new(type_code, issuer_code, serial, version)?;
        let found = match check.as_bytes() {
            [c] if ALPHABET.contains(c) => char::from(*c),
            _ => {
                return Err(LicenceIdError::Part {
                    part: "check character",
                    why: "must be one of 0-9, A-Z",
                });
            }
        };
        let expected = id.check_char();
        if found != expected {
            return Err(LicenceIdError::Check { found, expected });
        }
        Ok(id)
    }

    /// A fresh serial: the issue date (`YYYYMMDD`) and 12 random characters of `0-9A-Z`
    /// (62 bits), so identifiers sort by day and cannot be guessed from one another.
    pub fn random_serial(date: time::Date) -> Result<String, LicenceIdError> {
        let mut bytes = [0u8; 16];
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| LicenceIdError::Random)?;
        // 128 random bits reduced mod 36^12: the bias is below 2^-65 per value.
        let mut n = u128::from_be_bytes(bytes) % 36u128.pow(12);
        let mut tail = [b'0'; 12];
        for c in tail.iter_mut().rev() {
            *c = ALPHABET[(n % 36) as usize];
            n /= 36;
        }
        let mut serial = format!(
            "{:04}{:02}{:02}",
            date.year(),
            u8::from(date.month()),
            date.day()
        );
        serial.extend(tail.iter().map(|&b| char::from(b)));
        Ok(serial)
    }

    /// The 证照类型代码.
    pub fn type_code(&self) -> &str {
        &self.type_code
    }

    /// The 证照颁发机构代码.
    pub fn issuer_code(&self) -> &str {
        &self.issuer_code
    }

    /// The 流水号.
    pub fn serial(&self) -> &str {
        &self.serial
    }

    /// The 版本号 (1 for a first issue; a change issues the next version).
    pub fn version(&self) -> u16 {
        self.version
    }

    /// The same licence at another version (a change, 变更).
    pub fn with_version(&self, version: u16) -> Result<Self, LicenceIdError> {
        Self::new(&self.type_code, &self.issuer_code, &self.serial, version)
    }

    /// The ISO/IEC 7064 MOD 37,36 check character of this identifier.
    pub fn check_char(&self) -> char {
        let body = format!(
            "{}{}{}{:03}",
            self.type_code, self.issuer_code, self.serial, self.version
        );
        mod_37_36(body.as_bytes())
    }
}

impl fmt::Display for LicenceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{ROOT}.{}.{}.{}.{:03}.{}",
            self.type_code,
            self.issuer_code,
            self.serial,
            self.version,
            self.check_char()
        )
    }
}

impl std::str::FromStr for LicenceId {
    type Err = LicenceIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

fn check_part(
    part: &'static str,
    value: &str,
    min: usize,
    max: usize,
) -> Result<(), LicenceIdError> {
    if value.len() < min || value.len() > max {
        return Err(LicenceIdError::Part {
            part,
            why: match part {
                "type code" => "must be 4 to 32 characters",
                "issuer code" => "must be 6 to 18 characters (a region code or a USCC)",
                _ => "must be 1 to 32 characters",
            },
        });
    }
    if !value.bytes().all(|b| ALPHABET.contains(&b)) {
        return Err(LicenceIdError::Part {
            part,
            why: "only digits and upper-case letters A-Z",
        });
    }
    Ok(())
}

/// ISO/IEC 7064 MOD 37,36 over characters of `0-9A-Z` (callers have checked the alphabet).
fn mod_37_36(body: &[u8]) -> char {
    let mut p: usize = 36;
    for c in body {
        let v = ALPHABET.iter().position(|a| a == c).unwrap_or(0);
        p = (p + v) % 36;
        if p == 0 {
            p = 36;
        }
        p = (2 * p) % 37;
    }
    char::from(ALPHABET[(37 - p) % 36])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Identifiers published by issuers (docs/standards.md §8.3).
    const PUBLISHED: [&str; 4] = [
        "1.2.156.3005.2.11100000000013338W011.11110000000021135M.20230329701.003.Y",
        "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U",
        "1.2.156.3005.2.11100000000013338W009.11330105002500287C.2025052201.002.0",
        "1.2.156.3005.2.11100000MB03271699022.340100.000000016.001.9",
    ];

    #[test]
    fn published_identifiers_check_and_print_back() {
        for s in PUBLISHED {
            let id = LicenceId::parse(s).expect(s);
            assert_eq!(id.to_string(), s);
        }
        let id = LicenceId::parse(PUBLISHED[3]).expect("parse");
        assert_eq!(
            (id.type_code(), id.issuer_code(), id.serial(), id.version()),
            ("11100000MB03271699022", "340100", "000000016", 1)
        );
    }

    #[test]
    fn every_single_character_change_is_caught() {
        // MOD 37,36 detects every single substitution and every adjacent transposition.
        let s = PUBLISHED[0];
        let body_start = ROOT.len() + 1;
        for (i, c) in s.char_indices().skip(body_start) {
            if c == '.' {
                continue;
            }
            for r in ALPHABET.iter().map(|&b| char::from(b)).filter(|&r| r != c) {
                let mut t = s.to_owned();
                t.replace_range(i..i + 1, &r.to_string());
                assert!(LicenceId::parse(&t).is_err(), "{t} accepted");
            }
        }
        let b = s.as_bytes();
        for i in body_start..b.len() - 1 {
            if b[i] == b[i + 1] || b[i] == b'.' || b[i + 1] == b'.' {
                continue;
            }
            let mut t = b.to_vec();
            t.swap(i, i + 1);
            let t = String::from_utf8(t).expect("ascii");
            assert!(LicenceId::parse(&t).is_err(), "{t} accepted");
        }
    }

    #[test]
    fn malformed_identifiers_are_refused_with_the_part_named() {
        let cases = [
            ("1.2.156.3005.3.A.340100.1.001.0", LicenceIdError::Root),
            ("1.2.156.3005.2.AAAA.340100.1.001", LicenceIdError::Parts(4)),
        ];
        for (s, want) in cases {
            assert_eq!(LicenceId::parse(s), Err(want), "{s}");
        }
        let part = |s: &str| match LicenceId::parse(s) {
            Err(LicenceIdError::Part { part, .. }) => part,
            other => panic!("{s}: {other:?}"),
        };
        assert_eq!(part("1.2.156.3005.2.aaaa.340100.1.001.0"), "type code");
        assert_eq!(part("1.2.156.3005.2.AAAA.3401.1.001.0"), "issuer code");
        assert_eq!(part("1.2.156.3005.2.AAAA.340100..001.0"), "serial");
        assert_eq!(part("1.2.156.3005.2.AAAA.340100.1.01.0"), "version");
        assert_eq!(part("1.2.156.3005.2.AAAA.340100.1.000.0"), "version");
        assert_eq!(
            part("1.2.156.3005.2.AAAA.340100.1.001.a"),
            "check character"
        );
        assert_eq!(
            part("1.2.156.3005.2.AAAA.340100.1.001.00"),
            "check character"
        );
    }

    #[test]
    fn new_identifiers_round_trip_with_random_serials() {
        let date = time::macros::date!(2026 - 12 - 02);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            let serial = LicenceId::random_serial(date).expect("serial");
            assert_eq!(serial.len(), 20);
            assert!(serial.starts_with("20261202"));
            let id = LicenceId::new("11100000000013338W001", "11100000000013338W", &serial, 1)
                .expect("new");
            let s = id.to_string();
            assert_eq!(LicenceId::parse(&s), Ok(id.clone()));
            let next = id.with_version(2).expect("v2");
            assert!(next.to_string().contains(&format!("{serial}.002.")));
            assert!(seen.insert(serial));
        }
    }
}
