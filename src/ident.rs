//! National identifiers and their check characters: 统一社会信用代码 (GB 32100-2015) and the
//! 公民身份号码 (GB 11643-1999).

/// The 31 characters of GB 32100 (no I, O, Z, S, V), in value order.
const USCC_ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
/// `3^(i-1) mod 31` for positions 1..=17.
const USCC_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// Why a 统一社会信用代码 was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsccError {
    /// Not 18 characters.
    #[error("must be 18 characters, got {0}")]
    Length(usize),
    /// A character outside GB 32100's alphabet.
    #[error(
        "character {0:?} at position {1} is not allowed (digits and A–Y without I, O, S, V, Z)"
    )]
    Character(char, usize),
    /// The 18th character does not match.
    #[error("check character is {found}, expected {expected}")]
    Check {
        /// The character given.
        found: char,
        /// The character the first 17 compute to.
        expected: char,
    },
}

/// Checks a 统一社会信用代码: length, alphabet and the MOD 31 check character (GB 32100 §4).
///
/// Lower-case letters are refused rather than folded: the code is printed upper-case on every
/// licence and a seal carries it verbatim. Some pilot-era codes fail the check legitimately;
/// the vault still refuses them for new seals, since it certifies the code it puts in a
/// certificate.
pub fn check_uscc(code: &str) -> Result<(), UsccError> {
    let chars: Vec<char> = code.chars().collect();
    if chars.len() != 18 {
        return Err(UsccError::Length(chars.len()));
    }
    let mut values = [0u32; 18];
    for (i, &c) in chars.iter().enumerate() {
        let v = u8::try_from(c)
            .ok()
            .and_then(|b| USCC_ALPHABET.iter().position(|&a| a == b))
            .ok_or(UsccError::Character(c, i + 1))?;
        values[i] = u32::try_from(v).unwrap_or(0);
    }
    let sum: u32 = values[..17]
        .iter()
        .zip(USCC_WEIGHTS)
        .map(|(v, w)| v * w)
        .sum();
    let check = (31 - sum % 31) % 31;
    if values[17] != check {
        return Err(UsccError::Check {
            found: chars[17],
            expected: char::from(USCC_ALPHABET[check as usize]),
        });
    }
    Ok(())
}

/// The GB/T 2260 region code inside a 统一社会信用代码 (characters 3–8).
pub fn uscc_region(code: &str) -> Option<&str> {
    code.get(2..8)
        .filter(|r| r.bytes().all(|b| b.is_ascii_digit()))
}

/// GB 11643 weights `2^(18-i) mod 11` for positions 1..=17.
const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// The check character for each value of the weighted sum mod 11.
const ID_CHECK: &[u8; 11] = b"10X98765432";

/// Why a 公民身份号码 was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdNumberError {
    /// Not 18 characters.
    #[error("must be 18 characters, got {0}")]
    Length(usize),
    /// A non-digit among the first 17, or a last character that is neither a digit nor X.
    #[error("character at position {0} is not allowed (17 digits, then a digit or X)")]
    Character(usize),
    /// Characters 7–14 are not a real date.
    #[error("the birth date is not a real date")]
    BirthDate,
    /// The 18th character does not match.
    #[error("check character does not match")]
    Check,
}

/// Checks a 公民身份号码: 17 digits, a real birth date (YYYYMMDD in characters 7–14) and the
/// MOD 11-2 check character (GB 11643 §5, ISO 7064), upper-case X only.
///
/// Errors never carry the number or the expected check character: the number is personal data
/// and errors reach logs.
pub fn check_id_number(id: &str) -> Result<(), IdNumberError> {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() != 18 {
        return Err(IdNumberError::Length(chars.len()));
    }
    let mut sum = 0u32;
    for (i, (&c, w)) in chars.iter().zip(ID_WEIGHTS).enumerate() {
        let digit = c.to_digit(10).filter(|_| c.is_ascii_digit());
        sum += digit.ok_or(IdNumberError::Character(i + 1))? * w;
    }
    let check = chars[17];
    if !(check.is_ascii_digit() || check == 'X') {
        return Err(IdNumberError::Character(18));
    }
    let digits = |r: std::ops::Range<usize>| id[r].parse::<u16>().unwrap_or(0);
    let month = time::Month::try_from(u8::try_from(digits(10..12)).unwrap_or(0))
        .map_err(|_| IdNumberError::BirthDate)?;
    let day = u8::try_from(digits(12..14)).unwrap_or(0);
    let year = i32::from(digits(6..10));
    if !(1800..=9999).contains(&year) {
        return Err(IdNumberError::BirthDate);
    }
    time::Date::from_calendar_date(year, month, day).map_err(|_| IdNumberError::BirthDate)?;
    // `sum % 11` is below 11, the table's length.
    if char::from(ID_CHECK[(sum % 11) as usize]) != check {
        return Err(IdNumberError::Check);
    }
    Ok(())
}

/// A 公民身份号码 that passed [`check_id_number`]. It is personal data: `Debug` shows it
/// masked, and [`IdNumber::reveal`] is the one way to the whole number.
#[derive(Clone, PartialEq, Eq)]
pub struct IdNumber(String);

impl IdNumber {
    /// Checks `id` (see [`check_id_number`]).
    pub fn parse(id: &str) -> Result<Self, IdNumberError> {
        check_id_number(id)?;
        Ok(Self(id.to_owned()))
    }

    /// The masked form (see [`mask_id_number`]).
    pub fn masked(&self) -> String {
        mask_id_number(&self.0)
    }

    /// The whole number: only for a keyed commitment, never to store or show.
    pub fn reveal(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for IdNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("IdNumber").field(&self.masked()).finish()
    }
}

/// A 公民身份号码 masked for display and storage: the first four and last four characters,
/// the rest as `*` (1101**********002X). The whole number is personal data and never stored.
pub fn mask_id_number(id: &str) -> String {
    let n = id.chars().count();
    id.chars()
        .enumerate()
        .map(|(i, c)| if i < 4 || i + 4 >= n { c } else { '*' })
        .collect()
}

/// Keeps `n / 4` characters (at most four) at either end and masks the rest with `*`, one per
/// character: a 公民身份号码 shows as `1101**********002X`, a three-character name wholly masked.
pub fn mask_text(text: &str) -> String {
    let n = text.chars().count();
    let keep = (n / 4).min(4);
    text.chars()
        .enumerate()
        .map(|(i, c)| if i < keep || i + keep >= n { c } else { '*' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking_keeps_a_quarter_at_either_end() {
        assert_eq!(mask_text("330102197211081514"), "3301**********1514");
        assert_eq!(mask_text("林晓燕"), "***");
        assert_eq!(mask_text("浙江大学"), "浙**学");
        assert_eq!(mask_text(""), "");
    }

    #[test]
    fn known_codes_pass() {
        for code in [
            "11100000000013338W",
            "11110000000021135M",
            "91370406L24894136J",
            "9135052155323005XL",
            "11100000000013661B",
            "113700000045046442",
            "11430000006122244L",
            "11330105002500287C",
        ] {
            assert_eq!(check_uscc(code), Ok(()), "{code}");
        }
    }

    #[test]
    fn bad_codes_fail_with_the_reason() {
        assert_eq!(
            check_uscc("11100000000013338X"),
            Err(UsccError::Check {
                found: 'X',
                expected: 'W'
            })
        );
        assert_eq!(check_uscc("1110000000001333"), Err(UsccError::Length(16)));
        assert_eq!(
            check_uscc("1110000000001333IW"),
            Err(UsccError::Character('I', 17))
        );
        assert!(check_uscc("91370406l24894136J").is_err());
    }

    #[test]
    fn region_is_characters_three_to_eight() {
        assert_eq!(uscc_region("91370406L24894136J"), Some("370406"));
    }

    #[test]
    fn known_id_numbers_pass() {
        // GB 11643's example, and numbers with a digit check and a leap-day birth date.
        for id in [
            "11010519491231002X",
            "440524188001010014",
            "110101199003074477",
            "110105200002290013",
        ] {
            assert_eq!(check_id_number(id), Ok(()), "{id}");
        }
    }

    #[test]
    fn mistyped_id_numbers_fail_with_the_reason() {
        // One digit changed, two digits swapped, a wrong or lower-case check character.
        assert_eq!(
            check_id_number("11010519491231003X"),
            Err(IdNumberError::Check)
        );
        assert_eq!(
            check_id_number("11010519491231020X"),
            Err(IdNumberError::Check)
        );
        assert_eq!(
            check_id_number("110105194912310021"),
            Err(IdNumberError::Check)
        );
        assert_eq!(
            check_id_number("11010519491231002x"),
            Err(IdNumberError::Character(18))
        );
        assert_eq!(
            check_id_number("1101051949123100\u{FF12}X"),
            Err(IdNumberError::Character(17))
        );
        assert_eq!(
            check_id_number("1101051949123100"),
            Err(IdNumberError::Length(16))
        );
        // Not a real date: month 13, 30 February, 29 February of a common year.
        for id in [
            "11010519491321002X",
            "110105194902300000",
            "110105190002290000",
        ] {
            assert_eq!(check_id_number(id), Err(IdNumberError::BirthDate), "{id}");
        }
    }

    #[test]
    fn masks_keep_four_characters_at_either_end() {
        assert_eq!(mask_id_number("11010519491231002X"), "1101**********002X");
    }

    #[test]
    fn a_checked_id_number_shows_itself_only_masked() {
        let id = IdNumber::parse("11010519491231002X").expect("valid");
        assert_eq!(id.masked(), "1101**********002X");
        assert_eq!(format!("{id:?}"), "IdNumber(\"1101**********002X\")");
        assert_eq!(id.reveal(), "11010519491231002X");
        assert_eq!(
            IdNumber::parse("11010519491231003X"),
            Err(IdNumberError::Check)
        );
    }
}
