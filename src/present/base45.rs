//! Base45 (RFC 9285): bytes as characters of the QR code's alphanumeric mode, which stores a
//! character in 5.5 bits, so a token costs 8.25 bits a byte in the symbol against 10.7 for
//! base64 in byte mode. Two bytes `[a, b]` are `n = a·256 + b`, written `c d e` with
//! `n = c + 45·d + 45²·e`; a last odd byte is two characters.

/// The 45 characters, by value.
const ALPHABET: &[u8; 45] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

/// Why a text is not base45.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Base45Error {
    /// A character outside the alphabet.
    #[error("a character outside the base45 alphabet")]
    Character,
    /// A length of 1 modulo 3 (no encoding ends so).
    #[error("a base45 text cannot be this long")]
    Length,
    /// A group whose value exceeds what its bytes can hold.
    #[error("a base45 group is out of range")]
    Range,
}

/// The base45 text of `bytes`.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(2) * 3);
    let mut push = |mut n: usize, chars: usize| {
        for _ in 0..chars {
            out.push(char::from(ALPHABET[n % 45]));
            n /= 45;
        }
    };
    for pair in bytes.chunks(2) {
        match *pair {
            [a, b] => push(usize::from(a) * 256 + usize::from(b), 3),
            [a] => push(usize::from(a), 2),
            _ => {}
        }
    }
    out
}

/// The bytes of a base45 text.
pub fn decode(text: &str) -> Result<Vec<u8>, Base45Error> {
    let values = text
        .bytes()
        .map(|c| {
            ALPHABET
                .iter()
                .position(|&a| a == c)
                .ok_or(Base45Error::Character)
        })
        .collect::<Result<Vec<usize>, _>>()?;
    let mut out = Vec::with_capacity(values.len() / 3 * 2 + 1);
    for group in values.chunks(3) {
        match *group {
            [c, d, e] => {
                let n = c + 45 * d + 45 * 45 * e;
                let [hi, lo] = u16::try_from(n)
                    .map_err(|_| Base45Error::Range)?
                    .to_be_bytes();
                out.extend([hi, lo]);
            }
            [c, d] => out.push(u8::try_from(c + 45 * d).map_err(|_| Base45Error::Range)?),
            _ => return Err(Base45Error::Length),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_9285_examples() {
        // RFC 9285 §4.3 and §4.4.
        for (bytes, text) in [
            (&b"AB"[..], "BB8"),
            (b"Hello!!", "%69 VD92EX0"),
            (b"base-45", "UJCLQE7W581"),
            (b"ietf!", "QED8WEX0"),
            (b"", ""),
        ] {
            assert_eq!(encode(bytes), text);
            assert_eq!(decode(text).expect("decodes"), bytes);
        }
    }

    #[test]
    fn bad_texts_are_refused() {
        assert_eq!(decode("GGW"), Err(Base45Error::Range), "65536 in three");
        assert_eq!(decode("ZZ"), Err(Base45Error::Range), "over 255 in two");
        assert_eq!(decode("BB8A"), Err(Base45Error::Length));
        assert_eq!(decode("bb8"), Err(Base45Error::Character));
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(decode(&encode(&all)).expect("round trip"), all);
    }
}
