//! National identifiers and their check characters: 统一社会信用代码 (GB 32100-2015).

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
