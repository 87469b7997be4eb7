//! The bounded reader: [`Reader`] for structures read field by field with a place name for
//! each error, and [`read`]/[`children`] for slicing fixed-shape structures.
//!
//! Tolerances real files need (SES producers, Chinese CMS writers) are kept on purpose: the
//! string readers accept IA5String, UTF8String and PrintableString alike, a BOOLEAN is TRUE for
//! any non-zero octet (BER), and callers may read the content of a primitive value as a
//! structure ([`Tlv::content_reader`]) for implicit tags and OCTET STRING wrappers.

use super::{
    Asn1Error, BIT_STRING, BOOLEAN, IA5_STRING, INTEGER, MAX_DEPTH, MAX_INPUT, OCTET_STRING, OID,
    PRINTABLE_STRING, SEQUENCE, UTF8_STRING,
};

/// The place name of errors from [`read`] and [`children`].
const DER: &str = "DER";

/// One received TLV: its tag, content octets and the whole encoding.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tlv<'a> {
    /// The identifier octet.
    pub(crate) tag: u8,
    /// The content octets.
    pub(crate) content: &'a [u8],
    /// The whole encoding: identifier, length and content octets.
    pub(crate) raw: &'a [u8],
    /// Offset of `raw` inside the input the reading started from, so callers can keep ranges.
    pub(crate) offset: usize,
    depth: usize,
}

impl<'a> Tlv<'a> {
    /// A reader over the content octets of a constructed value, one nesting level deeper.
    pub(crate) fn reader(&self, at: &'static str) -> Result<Reader<'a>, Asn1Error> {
        if self.tag & 0x20 == 0 {
            return Err(Asn1Error::UnexpectedTag {
                at,
                expected: "a constructed type",
                found: self.tag,
            });
        }
        self.content_reader(at)
    }

    /// A reader over the content octets of a primitive or constructed value
    /// (for implicit tags and OCTET STRING wrappers that hide a structure).
    pub(crate) fn content_reader(&self, at: &'static str) -> Result<Reader<'a>, Asn1Error> {
        let depth = self.depth + 1;
        if depth > MAX_DEPTH {
            return Err(Asn1Error::TooDeep { at });
        }
        Ok(Reader {
            data: self.content,
            pos: 0,
            base: self.offset + (self.raw.len() - self.content.len()),
            depth,
        })
    }
}

/// Sequential reader over the content of one constructed value.
#[derive(Clone, Debug)]
pub(crate) struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    base: usize,
    depth: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the top of `data` (offsets count from its start).
    pub(super) fn top(data: &'a [u8]) -> Reader<'a> {
        Reader {
            data,
            pos: 0,
            base: 0,
            depth: 0,
        }
    }

    /// Read exactly one TLV spanning all of `input` (at most [`MAX_INPUT`] bytes; trailing
    /// bytes rejected).
    pub(crate) fn single(input: &'a [u8], at: &'static str) -> Result<Tlv<'a>, Asn1Error> {
        if input.len() > MAX_INPUT {
            return Err(Asn1Error::TooLarge { len: input.len() });
        }
        let mut r = Reader::top(input);
        let tlv = r.any(at)?;
        r.finish(at)?;
        Ok(tlv)
    }

    /// Whether every element has been consumed.
    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.data.len()
    }

    /// Tag of the next element, if any.
    pub(crate) fn peek_tag(&self) -> Option<u8> {
        self.data.get(self.pos).copied()
    }

    /// Number of elements left, without consuming them.
    pub(crate) fn count(&self, at: &'static str) -> Result<usize, Asn1Error> {
        let mut r = self.clone();
        let mut n = 0;
        while !r.is_empty() {
            r.any(at)?;
            n += 1;
        }
        Ok(n)
    }

    /// Read the next TLV whatever its tag.
    pub(crate) fn any(&mut self, at: &'static str) -> Result<Tlv<'a>, Asn1Error> {
        let rest = &self.data[self.pos.min(self.data.len())..];
        let (&tag, after_tag) = rest.split_first().ok_or(Asn1Error::Truncated { at })?;
        if tag & 0x1F == 0x1F {
            // No format read here uses a tag number above 30.
            return Err(Asn1Error::UnexpectedTag {
                at,
                expected: "a low-number tag",
                found: tag,
            });
        }
        let (&first, after_len) = after_tag.split_first().ok_or(Asn1Error::Truncated { at })?;
        let (len, len_octets) = if first < 0x80 {
            (usize::from(first), 0usize)
        } else if first == 0x80 {
            return Err(Asn1Error::IndefiniteLength { at });
        } else {
            let n = usize::from(first & 0x7F);
            if n > 4 {
                return Err(Asn1Error::BadLength { at });
            }
            let bytes = after_len.get(..n).ok_or(Asn1Error::Truncated { at })?;
            let len = bytes
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
            (len, n)
        };
        let header = 2 + len_octets;
        let total = header.checked_add(len).ok_or(Asn1Error::BadLength { at })?;
        if total > rest.len() {
            return Err(Asn1Error::Truncated { at });
        }
        let raw = &rest[..total];
        let tlv = Tlv {
            tag,
            content: &raw[header..],
            raw,
            offset: self.base + self.pos,
            depth: self.depth,
        };
        self.pos += total;
        Ok(tlv)
    }

    /// Read the next TLV and require `tag`.
    pub(crate) fn expect(
        &mut self,
        tag: u8,
        expected: &'static str,
        at: &'static str,
    ) -> Result<Tlv<'a>, Asn1Error> {
        match self.peek_tag() {
            None => Err(Asn1Error::Missing { at }),
            Some(t) if t != tag => Err(Asn1Error::UnexpectedTag {
                at,
                expected,
                found: t,
            }),
            Some(_) => self.any(at),
        }
    }

    /// Read a SEQUENCE and return it with a reader over its elements.
    pub(crate) fn sequence(
        &mut self,
        at: &'static str,
    ) -> Result<(Tlv<'a>, Reader<'a>), Asn1Error> {
        let tlv = self.expect(SEQUENCE, "SEQUENCE", at)?;
        let r = tlv.reader(at)?;
        Ok((tlv, r))
    }

    /// Require that nothing follows the last element read.
    pub(crate) fn finish(&self, at: &'static str) -> Result<(), Asn1Error> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(Asn1Error::TrailingData { at })
        }
    }

    /// INTEGER that fits an i64.
    pub(crate) fn integer(&mut self, at: &'static str) -> Result<i64, Asn1Error> {
        let tlv = self.expect(INTEGER, "INTEGER", at)?;
        decode_i64(tlv.content, at)
    }

    /// IA5String, tolerating UTF8String and PrintableString (some producers mix them).
    pub(crate) fn string(&mut self, at: &'static str) -> Result<String, Asn1Error> {
        match self.peek_tag() {
            Some(IA5_STRING | UTF8_STRING | PRINTABLE_STRING) => {
                let tlv = self.any(at)?;
                String::from_utf8(tlv.content.to_vec()).map_err(|_| Asn1Error::BadValue {
                    at,
                    reason: "string is not valid UTF-8".into(),
                })
            }
            Some(t) => Err(Asn1Error::UnexpectedTag {
                at,
                expected: "IA5String/UTF8String/PrintableString",
                found: t,
            }),
            None => Err(Asn1Error::Missing { at }),
        }
    }

    /// OCTET STRING content.
    pub(crate) fn octets(&mut self, at: &'static str) -> Result<&'a [u8], Asn1Error> {
        Ok(self.expect(OCTET_STRING, "OCTET STRING", at)?.content)
    }

    /// OBJECT IDENTIFIER as a dotted string.
    pub(crate) fn oid(&mut self, at: &'static str) -> Result<String, Asn1Error> {
        let tlv = self.expect(OID, "OBJECT IDENTIFIER", at)?;
        decode_oid(tlv.content, at)
    }

    /// BIT STRING whose unused-bit count must be 0; returns the data octets.
    pub(crate) fn bit_string(&mut self, at: &'static str) -> Result<&'a [u8], Asn1Error> {
        let tlv = self.expect(BIT_STRING, "BIT STRING", at)?;
        bit_string_octets(tlv.content, at)
    }

    /// BOOLEAN (any non-zero octet reads as TRUE, as BER allows).
    pub(crate) fn boolean(&mut self, at: &'static str) -> Result<bool, Asn1Error> {
        let tlv = self.expect(BOOLEAN, "BOOLEAN", at)?;
        match tlv.content {
            [b] => Ok(*b != 0),
            _ => Err(Asn1Error::BadValue {
                at,
                reason: "BOOLEAN must be one octet".into(),
            }),
        }
    }
}

/// Reads the first TLV of `input`, returning it and what follows (offsets count from the start
/// of `input`).
pub(crate) fn read(input: &[u8]) -> Result<(Tlv<'_>, &[u8]), Asn1Error> {
    let mut r = Reader::top(input);
    let tlv = r.any(DER)?;
    Ok((tlv, &input[r.pos..]))
}

/// All TLVs inside a constructed value's content (offsets count from the start of `content`).
pub(crate) fn children(content: &[u8]) -> Result<Vec<Tlv<'_>>, Asn1Error> {
    let mut r = Reader::top(content);
    let mut out = Vec::new();
    while !r.is_empty() {
        out.push(r.any(DER)?);
    }
    Ok(out)
}

/// Data octets of BIT STRING content, requiring 0 unused bits.
pub(crate) fn bit_string_octets<'a>(
    content: &'a [u8],
    at: &'static str,
) -> Result<&'a [u8], Asn1Error> {
    match content.split_first() {
        None => Err(Asn1Error::BadValue {
            at,
            reason: "BIT STRING has no unused-bits octet".into(),
        }),
        Some((&0, data)) => Ok(data),
        Some((&n, _)) => Err(Asn1Error::UnusedBits { at, unused: n }),
    }
}

fn decode_i64(v: &[u8], at: &'static str) -> Result<i64, Asn1Error> {
    if v.is_empty() || v.len() > 8 {
        return Err(Asn1Error::BadValue {
            at,
            reason: format!("INTEGER of {} octets does not fit 64 bits", v.len()),
        });
    }
    let negative = v[0] & 0x80 != 0;
    let init: i64 = if negative { -1 } else { 0 };
    Ok(v.iter().fold(init, |acc, &b| (acc << 8) | i64::from(b)))
}

/// Dotted form of an OBJECT IDENTIFIER's content octets. Arcs up to 128 bits (UUID-derived
/// OIDs under 2.25, ITU-T X.667); each arc minimally encoded (X.690 §8.19.2).
pub(crate) fn decode_oid(content: &[u8], at: &'static str) -> Result<String, Asn1Error> {
    let bad = |reason: &str| Asn1Error::BadValue {
        at,
        reason: reason.into(),
    };
    if content.last().is_none_or(|b| b & 0x80 != 0) {
        return Err(bad("OBJECT IDENTIFIER is empty or truncated"));
    }
    let mut arcs: Vec<u128> = Vec::new();
    let mut acc: u128 = 0;
    for &b in content {
        // Only an arc's first octet can leave `acc` at zero with the continuation bit set.
        if acc == 0 && b == 0x80 {
            return Err(bad("OBJECT IDENTIFIER arc has a leading 0x80 octet"));
        }
        if acc > (u128::MAX >> 7) {
            return Err(bad("OBJECT IDENTIFIER arc too large"));
        }
        acc = (acc << 7) | u128::from(b & 0x7F);
        if b & 0x80 == 0 {
            arcs.push(acc);
            acc = 0;
        }
    }
    let first = arcs[0];
    let (a, b) = match first {
        0..=39 => (0, first),
        40..=79 => (1, first - 40),
        _ => (2, first - 80),
    };
    let mut out = format!("{a}.{b}");
    for arc in &arcs[1..] {
        out.push('.');
        out.push_str(&arc.to_string());
    }
    Ok(out)
}

/// [`decode_oid`] for callers that only ask whether an OID is one they know.
pub(crate) fn oid_to_string(content: &[u8]) -> Option<String> {
    decode_oid(content, "OBJECT IDENTIFIER").ok()
}
