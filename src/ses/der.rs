//! A small bounded DER reader and writer.
//!
//! Hand-written rather than `der`-derived because the SES formats in the wild
//! need tolerance a strict derive cannot express: a CHOICE whose alternatives
//! share the SEQUENCE tag (decided by a sibling field), `[0]` fields that may
//! be explicit or implicit, an explicitly encoded DEFAULT `critical FALSE`,
//! and slices of the *received* bytes for signature checks. The reader only
//! accepts definite lengths that fit inside their parent, limits nesting depth
//! and never recurses on attacker-chosen structure.

use super::SesError;

/// Deepest constructed nesting the reader will enter.
pub(crate) const MAX_DEPTH: usize = 32;
/// Largest input accepted by the top-level decoders.
pub(crate) const MAX_INPUT: usize = 16 * 1024 * 1024;

pub(crate) const TAG_BOOLEAN: u8 = 0x01;
pub(crate) const TAG_INTEGER: u8 = 0x02;
pub(crate) const TAG_BIT_STRING: u8 = 0x03;
pub(crate) const TAG_OCTET_STRING: u8 = 0x04;
pub(crate) const TAG_OID: u8 = 0x06;
pub(crate) const TAG_UTF8: u8 = 0x0C;
pub(crate) const TAG_PRINTABLE: u8 = 0x13;
pub(crate) const TAG_IA5: u8 = 0x16;
pub(crate) const TAG_UTC_TIME: u8 = 0x17;
pub(crate) const TAG_GENERALIZED_TIME: u8 = 0x18;
pub(crate) const TAG_SEQUENCE: u8 = 0x30;
pub(crate) const TAG_CTX0_CONS: u8 = 0xA0;
pub(crate) const TAG_CTX0_PRIM: u8 = 0x80;
pub(crate) const TAG_CTX3_PRIM: u8 = 0x83;

/// One received TLV: its tag, content octets and the whole encoding.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tlv<'a> {
    pub(crate) tag: u8,
    pub(crate) value: &'a [u8],
    pub(crate) raw: &'a [u8],
    /// Offset of `raw` inside the top-level input, so callers can keep ranges.
    pub(crate) offset: usize,
    depth: usize,
}

impl<'a> Tlv<'a> {
    /// A reader over the content octets, one nesting level deeper.
    pub(crate) fn reader(&self, at: &'static str) -> Result<Reader<'a>, SesError> {
        if self.tag & 0x20 == 0 {
            return Err(SesError::UnexpectedTag {
                at,
                expected: "a constructed type",
                found: self.tag,
            });
        }
        self.content_reader(at)
    }

    /// A reader over the content octets of a primitive or constructed value
    /// (for implicit tags and OCTET STRING wrappers that hide a structure).
    pub(crate) fn content_reader(&self, at: &'static str) -> Result<Reader<'a>, SesError> {
        let depth = self.depth + 1;
        if depth > MAX_DEPTH {
            return Err(SesError::TooDeep { at });
        }
        Ok(Reader {
            data: self.value,
            pos: 0,
            base: self.offset + (self.raw.len() - self.value.len()),
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
    /// Read exactly one TLV spanning all of `input` (trailing bytes rejected).
    pub(crate) fn single(input: &'a [u8], at: &'static str) -> Result<Tlv<'a>, SesError> {
        if input.len() > MAX_INPUT {
            return Err(SesError::TooLarge { len: input.len() });
        }
        let mut r = Reader {
            data: input,
            pos: 0,
            base: 0,
            depth: 0,
        };
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
    pub(crate) fn count(&self, at: &'static str) -> Result<usize, SesError> {
        let mut r = self.clone();
        let mut n = 0;
        while !r.is_empty() {
            r.any(at)?;
            n += 1;
        }
        Ok(n)
    }

    /// Read the next TLV whatever its tag.
    pub(crate) fn any(&mut self, at: &'static str) -> Result<Tlv<'a>, SesError> {
        let rest = &self.data[self.pos.min(self.data.len())..];
        let (&tag, after_tag) = rest.split_first().ok_or(SesError::Truncated { at })?;
        if tag & 0x1F == 0x1F {
            // No SES field uses a tag number above 30.
            return Err(SesError::UnexpectedTag {
                at,
                expected: "a low-number tag",
                found: tag,
            });
        }
        let (&first, after_len) = after_tag.split_first().ok_or(SesError::Truncated { at })?;
        let (len, len_octets) = if first < 0x80 {
            (usize::from(first), 0usize)
        } else if first == 0x80 {
            return Err(SesError::IndefiniteLength { at });
        } else {
            let n = usize::from(first & 0x7F);
            if n > 4 {
                return Err(SesError::BadLength { at });
            }
            let bytes = after_len.get(..n).ok_or(SesError::Truncated { at })?;
            let len = bytes
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
            (len, n)
        };
        let header = 2 + len_octets;
        let total = header.checked_add(len).ok_or(SesError::BadLength { at })?;
        if total > rest.len() {
            return Err(SesError::Truncated { at });
        }
        let raw = &rest[..total];
        let tlv = Tlv {
            tag,
            value: &raw[header..],
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
    ) -> Result<Tlv<'a>, SesError> {
        match self.peek_tag() {
            None => Err(SesError::Missing { at }),
            Some(t) if t != tag => Err(SesError::UnexpectedTag {
                at,
                expected,
                found: t,
            }),
            Some(_) => self.any(at),
        }
    }

    /// Read a SEQUENCE and return it with a reader over its elements.
    pub(crate) fn sequence(&mut self, at: &'static str) -> Result<(Tlv<'a>, Reader<'a>), SesError> {
        let tlv = self.expect(TAG_SEQUENCE, "SEQUENCE", at)?;
        let r = tlv.reader(at)?;
        Ok((tlv, r))
    }

    /// Require that nothing follows the last element read.
    pub(crate) fn finish(&self, at: &'static str) -> Result<(), SesError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(SesError::TrailingData { at })
        }
    }

    /// INTEGER that fits an i64.
    pub(crate) fn integer(&mut self, at: &'static str) -> Result<i64, SesError> {
        let tlv = self.expect(TAG_INTEGER, "INTEGER", at)?;
        decode_i64(tlv.value, at)
    }

    /// IA5String, tolerating UTF8String and PrintableString (some producers mix them).
    pub(crate) fn string(&mut self, at: &'static str) -> Result<String, SesError> {
        match self.peek_tag() {
            Some(TAG_IA5 | TAG_UTF8 | TAG_PRINTABLE) => {
                let tlv = self.any(at)?;
                String::from_utf8(tlv.value.to_vec()).map_err(|_| SesError::BadValue {
                    at,
                    reason: "string is not valid UTF-8".into(),
                })
            }
            Some(t) => Err(SesError::UnexpectedTag {
                at,
                expected: "IA5String/UTF8String/PrintableString",
                found: t,
            }),
            None => Err(SesError::Missing { at }),
        }
    }

    /// OCTET STRING content.
    pub(crate) fn octets(&mut self, at: &'static str) -> Result<&'a [u8], SesError> {
        Ok(self.expect(TAG_OCTET_STRING, "OCTET STRING", at)?.value)
    }

    /// OBJECT IDENTIFIER as a dotted string.
    pub(crate) fn oid(&mut self, at: &'static str) -> Result<String, SesError> {
        let tlv = self.expect(TAG_OID, "OBJECT IDENTIFIER", at)?;
        decode_oid(tlv.value, at)
    }

    /// BIT STRING whose unused-bit count must be 0; returns the data octets.
    pub(crate) fn bit_string(&mut self, at: &'static str) -> Result<&'a [u8], SesError> {
        let tlv = self.expect(TAG_BIT_STRING, "BIT STRING", at)?;
        bit_string_octets(tlv.value, at)
    }

    /// BOOLEAN (any non-zero octet reads as TRUE, as BER allows).
    pub(crate) fn boolean(&mut self, at: &'static str) -> Result<bool, SesError> {
        let tlv = self.expect(TAG_BOOLEAN, "BOOLEAN", at)?;
        match tlv.value {
            [b] => Ok(*b != 0),
            _ => Err(SesError::BadValue {
                at,
                reason: "BOOLEAN must be one octet".into(),
            }),
        }
    }
}

/// Data octets of BIT STRING content, requiring 0 unused bits.
pub(crate) fn bit_string_octets<'a>(
    value: &'a [u8],
    at: &'static str,
) -> Result<&'a [u8], SesError> {
    match value.split_first() {
        None => Err(SesError::BadValue {
            at,
            reason: "BIT STRING has no unused-bits octet".into(),
        }),
        Some((&0, data)) => Ok(data),
        Some((&n, _)) => Err(SesError::UnusedBits { at, unused: n }),
    }
}

fn decode_i64(v: &[u8], at: &'static str) -> Result<i64, SesError> {
    if v.is_empty() || v.len() > 8 {
        return Err(SesError::BadValue {
            at,
            reason: format!("INTEGER of {} octets does not fit 64 bits", v.len()),
        });
    }
    let negative = v[0] & 0x80 != 0;
    let init: i64 = if negative { -1 } else { 0 };
    Ok(v.iter().fold(init, |acc, &b| (acc << 8) | i64::from(b)))
}

pub(crate) fn decode_oid(v: &[u8], at: &'static str) -> Result<String, SesError> {
    let bad = |reason: &str| SesError::BadValue {
        at,
        reason: reason.into(),
    };
    if v.is_empty() || v.last().is_some_and(|b| b & 0x80 != 0) {
        return Err(bad("OBJECT IDENTIFIER is empty or truncated"));
    }
    let mut arcs: Vec<u64> = Vec::new();
    let mut acc: u64 = 0;
    let mut started = false;
    for &b in v {
        if !started && b == 0x80 {
            return Err(bad("OBJECT IDENTIFIER arc has a leading 0x80 octet"));
        }
        started = true;
        if acc > (u64::MAX >> 7) {
            return Err(bad("OBJECT IDENTIFIER arc too large"));
        }
        acc = (acc << 7) | u64::from(b & 0x7F);
        if b & 0x80 == 0 {
            arcs.push(acc);
            acc = 0;
            started = false;
        }
    }
    let mut out = String::new();
    let first = arcs[0];
    let (a, b) = if first < 40 {
        (0, first)
    } else if first < 80 {
        (1, first - 40)
    } else {
        (2, first - 80)
    };
    out.push_str(&format!("{a}.{b}"));
    for arc in &arcs[1..] {
        out.push_str(&format!(".{arc}"));
    }
    Ok(out)
}

/// Encode a TLV with a definite minimal length.
pub(crate) fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    out.push(tag);
    let len = content.len();
    let bytes = len.to_be_bytes();
    if len < 0x80 {
        out.push(bytes[bytes.len() - 1]);
    } else {
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        // At most 8 length octets, so the count fits the low bits.
        let n = (bytes.len() - skip).to_le_bytes()[0];
        out.push(0x80 | n);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

/// SEQUENCE of already-encoded elements.
pub(crate) fn sequence(parts: &[&[u8]]) -> Vec<u8> {
    tlv(TAG_SEQUENCE, &parts.concat())
}

/// Minimal two's-complement INTEGER.
pub(crate) fn integer(v: i64) -> Vec<u8> {
    let bytes = v.to_be_bytes();
    let mut start = 0;
    while start < 7 {
        let (b, next) = (bytes[start], bytes[start + 1]);
        if (b == 0x00 && next & 0x80 == 0) || (b == 0xFF && next & 0x80 != 0) {
            start += 1;
        } else {
            break;
        }
    }
    tlv(TAG_INTEGER, &bytes[start..])
}

/// BIT STRING with 0 unused bits.
pub(crate) fn bit_string(data: &[u8]) -> Vec<u8> {
    let mut content = Vec::with_capacity(data.len() + 1);
    content.push(0);
    content.extend_from_slice(data);
    tlv(TAG_BIT_STRING, &content)
}

/// OBJECT IDENTIFIER from dotted text.
pub(crate) fn oid(dotted: &str) -> Result<Vec<u8>, SesError> {
    let bad = || SesError::Encode(format!("invalid OBJECT IDENTIFIER {dotted:?}"));
    let arcs = dotted
        .split('.')
        .map(|s| {
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                Err(bad())
            } else {
                s.parse::<u64>().map_err(|_| bad())
            }
        })
        .collect::<Result<Vec<u64>, _>>()?;
    if arcs.len() < 2 || arcs[0] > 2 || (arcs[0] < 2 && arcs[1] >= 40) {
        return Err(bad());
    }
    let first = arcs[0]
        .checked_mul(40)
        .and_then(|v| v.checked_add(arcs[1]))
        .ok_or_else(bad)?;
    let mut content = Vec::new();
    for arc in std::iter::once(first).chain(arcs[2..].iter().copied()) {
        let mut groups = vec![(arc & 0x7F) as u8];
        let mut rest = arc >> 7;
        while rest > 0 {
            groups.push(((rest & 0x7F) as u8) | 0x80);
            rest >>= 7;
        }
        content.extend(groups.iter().rev());
    }
    Ok(tlv(TAG_OID, &content))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oid_round_trip() {
        for s in [
            "1.2.156.10197.1.501",
            "1.2.840.10045.4.3.2",
            "2.999.3",
            "0.0",
        ] {
            let enc = oid(s).expect("encode");
            let t = Reader::single(&enc, "t").expect("tlv");
            assert_eq!(t.tag, TAG_OID);
            assert_eq!(decode_oid(t.value, "t").expect("decode"), s);
        }
        assert_eq!(
            oid("1.2.156.10197.1.501").expect("encode"),
            hex::decode("06082a811ccf55018375").expect("hex")
        );
    }

    #[test]
    fn integers() {
        for v in [
            0i64,
            1,
            127,
            128,
            255,
            256,
            -1,
            -128,
            -129,
            i64::MAX,
            i64::MIN,
        ] {
            let enc = integer(v);
            let tlv = Reader::single(&enc, "t").expect("tlv");
            assert_eq!(decode_i64(tlv.value, "t").expect("decode"), v, "{v}");
        }
    }

    #[test]
    fn lengths() {
        assert!(matches!(
            Reader::single(&[0x30, 0x80, 0, 0], "t"),
            Err(SesError::IndefiniteLength { .. })
        ));
        assert!(matches!(
            Reader::single(&[0x30, 0x85, 1, 1, 1, 1, 1], "t"),
            Err(SesError::BadLength { .. })
        ));
        assert!(matches!(
            Reader::single(&[0x04, 0x84, 0xFF, 0xFF, 0xFF, 0xFF], "t"),
            Err(SesError::Truncated { .. })
        ));
        assert!(matches!(
            Reader::single(&[0x04, 0x00, 0x00], "t"),
            Err(SesError::TrailingData { .. })
        ));
        let big = vec![0u8; 300];
        let enc = tlv(TAG_OCTET_STRING, &big);
        assert_eq!(&enc[..4], &[0x04, 0x82, 0x01, 0x2C]);
    }
}
