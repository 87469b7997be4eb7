//! The C2SP signed-note format (c2sp.org/signed-note): a text ending in a newline, a blank line,
//! then one line per signature, `— <key name> <base64(4-byte key ID ‖ signature)>`.
//!
//! The audit key is SM2, which the note specification assigns no signature type; it reserves
//! `0xff` for such keys, to be followed by a longer identifier. Ours is [`SM2_SM3_TYPE`]: an
//! SM2-with-SM3 signature (default user ID) in DER over the note text, and the key ID is
//! `SHA-256(key name ‖ 0x0A ‖ 0xff ‖ "sm2-sm3-der" ‖ SubjectPublicKeyInfo DER)[:4]`.

use base64::{Engine, engine::general_purpose::STANDARD as B64};

use crate::crypto::{PublicKey, sha256};

/// The signature type of our lines: `0xff` then the identifier of the algorithm and encoding.
pub const SM2_SM3_TYPE: &[u8] = b"\xffsm2-sm3-der";

/// What starts every signature line: an em dash (U+2014) and a space.
const SIG_PREFIX: &str = "\u{2014} ";

/// Most signature lines read from one note (the specification asks for at least 16).
const MAX_SIGNATURES: usize = 100;

/// One signature line of a note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    /// The key name.
    pub name: String,
    /// The 4-byte key ID.
    pub key_id: [u8; 4],
    /// The signature proper (after the key ID).
    pub signature: Vec<u8>,
}

impl NoteSignature {
    /// The line as written in a note, newline included.
    pub fn line(&self) -> String {
        let mut raw = self.key_id.to_vec();
        raw.extend_from_slice(&self.signature);
        format!("{SIG_PREFIX}{} {}\n", self.name, B64.encode(raw))
    }
}

/// A note split into its signed text and its signature lines (none verified yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedNote {
    /// The signed text, final newline included.
    pub text: String,
    /// The signature lines, in order.
    pub signatures: Vec<NoteSignature>,
}

/// The key ID of an SM2 audit key under `name`.
pub fn sm2_key_id(name: &str, key: &PublicKey) -> [u8; 4] {
    let mut buf = Vec::with_capacity(name.len() + 1 + SM2_SM3_TYPE.len() + key.spki_der().len());
    buf.extend_from_slice(name.as_bytes());
    buf.push(b'\n');
    buf.extend_from_slice(SM2_SM3_TYPE);
    buf.extend_from_slice(key.spki_der());
    let h = sha256(&buf);
    [h[0], h[1], h[2], h[3]]
}

/// Whether `name` may name a key: non-empty, no Unicode space, no `+`.
pub(crate) fn valid_key_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c == '+')
}

impl SignedNote {
    /// Parses a note; None unless it is well-formed with at least one signature line.
    pub fn parse(note: &str) -> Option<Self> {
        if note.chars().any(|c| c < ' ' && c != '\n') || !note.ends_with('\n') {
            return None;
        }
        // The text ends at the last blank line: the text keeps its newline, the blank line goes.
        let split = note.rfind("\n\n")?;
        let (text, sigs) = (&note[..=split], &note[split + 2..]);
        let signatures = sigs
            .lines()
            .map(|line| {
                let (name, b64) = line.strip_prefix(SIG_PREFIX)?.split_once(' ')?;
                let raw = B64.decode(b64).ok()?;
                (valid_key_name(name) && raw.len() > 4).then(|| NoteSignature {
                    name: name.to_owned(),
                    key_id: [raw[0], raw[1], raw[2], raw[3]],
                    signature: raw[4..].to_vec(),
                })
            })
            .collect::<Option<Vec<_>>>()?;
        (!signatures.is_empty() && signatures.len() <= MAX_SIGNATURES).then(|| Self {
            text: text.to_owned(),
            signatures,
        })
    }

    /// The note as text: the signed text, a blank line, the signature lines.
    pub fn to_text(&self) -> String {
        let mut out = self.text.clone();
        out.push('\n');
        for s in &self.signatures {
            out.push_str(&s.line());
        }
        out
    }

    /// The signature by the key `name` with ID `key_id`, if the note carries one.
    pub fn signature_by(&self, name: &str, key_id: [u8; 4]) -> Option<&NoteSignature> {
        self.signatures
            .iter()
            .find(|s| s.name == name && s.key_id == key_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_specification_example() {
        // The example note of c2sp.org/signed-note (an Ed25519 signature, type 0x01).
        let note = "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned è subito sera.\n\n\u{2014} quasimodo.example/salvatore NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n";
        let n = SignedNote::parse(note).expect("well-formed");
        assert_eq!(
            n.text,
            "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned è subito sera.\n"
        );
        assert_eq!(n.signatures.len(), 1);
        assert_eq!(n.signatures[0].name, "quasimodo.example/salvatore");
        assert_eq!(n.signatures[0].signature.len(), 64);
        assert_eq!(n.to_text(), note);
    }

    #[test]
    fn refuses_malformed_notes() {
        let sig = "\u{2014} a.example/k AAAAAAE=\n";
        assert!(SignedNote::parse(&format!("text\n\n{sig}")).is_some());
        for bad in [
            "text\n".to_owned(),                                    // no signature
            format!("text\n{sig}"),                                 // no blank line
            format!("text\n\n{sig}").replace('\u{2014}', "-"),      // not an em dash
            format!("text\n\n{sig}").replace("a.example/k", "a+b"), // `+` in the name
            "text\n\n\u{2014} a.example/k AAAA\n".to_owned(),       // no signature after the ID
            "text\n\n\u{2014} a.example/k !!!!\n".to_owned(),       // not base64
            format!("te\rxt\n\n{sig}"),                             // control character
            format!("text\n\n{}", sig.trim_end()),                  // no final newline
        ] {
            assert!(SignedNote::parse(&bad).is_none(), "{bad:?}");
        }
    }
}
