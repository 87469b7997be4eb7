//! A minimal DER writer and reader for the few structures this module builds and slices.
//!
//! Certificates and CRLs are small, fixed-shape structures; writing the TLVs directly keeps the
//! exact bytes under our control (the signature covers them) without bending a generic builder
//! around SM2, whose signing goes through `crate::crypto`.

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

use super::PkiError;

/// Universal tags used here.
pub(crate) const BOOLEAN: u8 = 0x01;
pub(crate) const INTEGER: u8 = 0x02;
pub(crate) const BIT_STRING: u8 = 0x03;
pub(crate) const OCTET_STRING: u8 = 0x04;
pub(crate) const NULL: u8 = 0x05;
pub(crate) const OID: u8 = 0x06;
pub(crate) const ENUMERATED: u8 = 0x0A;
pub(crate) const UTF8_STRING: u8 = 0x0C;
pub(crate) const PRINTABLE_STRING: u8 = 0x13;
pub(crate) const UTC_TIME: u8 = 0x17;
pub(crate) const GENERALIZED_TIME: u8 = 0x18;
pub(crate) const SEQUENCE: u8 = 0x30;
pub(crate) const SET: u8 = 0x31;

/// One TLV with a definite, minimal length.
pub(crate) fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let len = content.len();
    let mut out = Vec::with_capacity(len + 6);
    out.push(tag);
    if len < 0x80 {
        out.push(small(len));
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        let significant = &bytes[skip..];
        out.push(0x80 | small(significant.len()));
        out.extend_from_slice(significant);
    }
    out.extend_from_slice(content);
    out
}

/// A value known to be below 256 (lengths already range-checked by the caller).
fn small(v: usize) -> u8 {
    u8::try_from(v).unwrap_or(u8::MAX)
}

/// SEQUENCE of already-encoded elements.
pub(crate) fn seq(parts: &[&[u8]]) -> Vec<u8> {
    tlv(SEQUENCE, &parts.concat())
}

/// An OBJECT IDENTIFIER from its dotted form (our own constants only, so a bad one is a bug
/// caught by the tests rather than input to validate).
pub(crate) fn oid(dotted: &str) -> Vec<u8> {
    // u128 arcs: UUID-derived OIDs under 2.25 (ITU-T X.667) carry a 128-bit arc.
    let arcs: Vec<u128> = dotted.split('.').filter_map(|a| a.parse().ok()).collect();
    let mut content = Vec::new();
    if arcs.len() >= 2 {
        push_base128(&mut content, arcs[0] * 40 + arcs[1]);
        for arc in &arcs[2..] {
            push_base128(&mut content, *arc);
        }
    }
    tlv(OID, &content)
}

fn push_base128(out: &mut Vec<u8>, mut v: u128) {
    let mut tmp = [0u8; 19];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = u8::try_from(v & 0x7F).unwrap_or(0);
        v >>= 7;
        if v == 0 {
            break;
        }
    }
    let last = tmp.len() - 1;
    for (j, b) in tmp.iter().enumerate().skip(i) {
        out.push(if j == last { *b } else { *b | 0x80 });
    }
}

/// An OID from a dotted string that comes from outside (a configured policy, a caller's
/// content type): `None` unless it round-trips, since [`oid`] trusts its input.
pub(crate) fn checked_oid(dotted: &str) -> Option<Vec<u8>> {
    let encoded = oid(dotted);
    let round_trip = read(&encoded)
        .ok()
        .and_then(|(t, _)| oid_to_string(t.content));
    (round_trip.as_deref() == Some(dotted)).then_some(encoded)
}

/// Dotted form of an OID's content bytes; `None` if malformed.
pub(crate) fn oid_to_string(content: &[u8]) -> Option<String> {
    if content.is_empty() || content.last().is_some_and(|b| b & 0x80 != 0) {
        return None;
    }
    let mut arcs: Vec<u128> = Vec::new();
    let mut v: u128 = 0;
    for b in content {
        if v > (u128::MAX >> 7) {
            return None;
        }
        v = (v << 7) | u128::from(b & 0x7F);
        if b & 0x80 == 0 {
            arcs.push(v);
            v = 0;
        }
    }
    let first = arcs.first().copied()?;
    let (a, b) = match first {
        0..=39 => (0, first),
        40..=79 => (1, first - 40),
        _ => (2, first - 80),
    };
    let mut s = format!("{a}.{b}");
    for arc in &arcs[1..] {
        s.push('.');
        s.push_str(&arc.to_string());
    }
    Some(s)
}

/// A non-negative INTEGER from big-endian magnitude bytes (leading zeros dropped, a 00 added
/// when the top bit is set so the value stays positive).
pub(crate) fn uint(magnitude: &[u8]) -> Vec<u8> {
    let skip = magnitude.iter().take_while(|b| **b == 0).count();
    let m = &magnitude[skip..];
    let mut content = Vec::with_capacity(m.len() + 1);
    if m.first().is_none_or(|b| b & 0x80 != 0) {
        content.push(0);
    }
    content.extend_from_slice(m);
    tlv(INTEGER, &content)
}

/// BOOLEAN TRUE (DER: FF).
pub(crate) fn bool_true() -> Vec<u8> {
    tlv(BOOLEAN, &[0xFF])
}

/// A named BIT STRING (DER: trailing zero bits removed) from the positions of its set bits.
pub(crate) fn named_bits(bits: &[u8]) -> Vec<u8> {
    let Some(max) = bits.iter().copied().max() else {
        return tlv(BIT_STRING, &[0]);
    };
    let nbytes = usize::from(max / 8) + 1;
    let mut content = vec![0u8; nbytes + 1];
    for bit in bits {
        content[usize::from(bit / 8) + 1] |= 0x80 >> (bit % 8);
    }
    content[0] = 7 - (max % 8);
    tlv(BIT_STRING, &content)
}

/// X.509 Time: UTCTime for 1950–2049, GeneralizedTime otherwise (RFC 5280 §4.1.2.5), always
/// in UTC and to the second.
pub(crate) fn time(t: OffsetDateTime) -> Result<Vec<u8>, PkiError> {
    let (year, rest) = utc_digits(t)?;
    Ok(if (1950..2050).contains(&year) {
        tlv(UTC_TIME, format!("{:02}{rest}", year % 100).as_bytes())
    } else {
        tlv(GENERALIZED_TIME, format!("{year:04}{rest}").as_bytes())
    })
}

/// GeneralizedTime in UTC to the second (`YYYYMMDDHHMMSSZ`), whatever the year, as RFC 3161
/// genTime requires.
pub(crate) fn generalized_time(t: OffsetDateTime) -> Result<Vec<u8>, PkiError> {
    let (year, rest) = utc_digits(t)?;
    Ok(tlv(GENERALIZED_TIME, format!("{year:04}{rest}").as_bytes()))
}

/// The UTC year and the `MMDDHHMMSSZ` digits shared by both time encodings.
fn utc_digits(t: OffsetDateTime) -> Result<(i32, String), PkiError> {
    let t = t.to_offset(UtcOffset::UTC);
    let year = t.year();
    if !(0..=9999).contains(&year) {
        return Err(PkiError::InvalidValidity(format!(
            "year {year} cannot be encoded"
        )));
    }
    let rest = format!(
        "{:02}{:02}{:02}{:02}{:02}Z",
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    Ok((year, rest))
}

/// One decoded TLV: its tag, the whole encoding, and the content.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tlv<'a> {
    pub(crate) tag: u8,
    pub(crate) raw: &'a [u8],
    pub(crate) content: &'a [u8],
}

/// Reads the first TLV of `input`, returning it and what follows. Definite lengths only.
pub(crate) fn read(input: &[u8]) -> Result<(Tlv<'_>, &[u8]), PkiError> {
    let bad = |m: &str| PkiError::Malformed(format!("DER: {m}"));
    let (&tag, rest) = input.split_first().ok_or_else(|| bad("unexpected end"))?;
    if tag & 0x1F == 0x1F {
        return Err(bad("multi-byte tags are not supported"));
    }
    let (&first, mut rest) = rest.split_first().ok_or_else(|| bad("missing length"))?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7F);
        if n == 0 || n > 4 || rest.len() < n {
            return Err(bad("unsupported or truncated length"));
        }
        let mut len = 0usize;
        for b in &rest[..n] {
            len = (len << 8) | usize::from(*b);
        }
        rest = &rest[n..];
        len
    };
    if rest.len() < len {
        return Err(bad("truncated value"));
    }
    let header = input.len() - rest.len();
    let (content, after) = rest.split_at(len);
    Ok((
        Tlv {
            tag,
            raw: &input[..header + len],
            content,
        },
        after,
    ))
}

/// All TLVs inside a constructed value's content.
pub(crate) fn children(content: &[u8]) -> Result<Vec<Tlv<'_>>, PkiError> {
    let mut out = Vec::new();
    let mut rest = content;
    while !rest.is_empty() {
        let (t, r) = read(rest)?;
        out.push(t);
        rest = r;
    }
    Ok(out)
}

/// Where the first element inside a SIGNED{...} SEQUENCE (the TBS part) lies: its start
/// offset and length, plus the length of the whole outer SEQUENCE.
pub(crate) fn signed_tbs(der: &[u8]) -> Result<(usize, usize, usize), PkiError> {
    let (outer, _) = read(der)?;
    if outer.tag != SEQUENCE {
        return Err(PkiError::Malformed("expected a SEQUENCE".into()));
    }
    let (tbs, _) = read(outer.content)?;
    let header = outer.raw.len() - outer.content.len();
    Ok((header, tbs.raw.len(), outer.raw.len()))
}

/// The subjectPublicKey bits of a SubjectPublicKeyInfo (what key identifiers hash).
pub(crate) fn spki_key_bits(spki: &[u8]) -> Result<&[u8], PkiError> {
    let (outer, _) = read(spki)?;
    let parts = children(outer.content)?;
    match parts.as_slice() {
        [_, bits] if bits.tag == BIT_STRING && !bits.content.is_empty() => Ok(&bits.content[1..]),
        _ => Err(PkiError::Malformed("SubjectPublicKeyInfo".into())),
    }
}

/// A UTCTime (`YYMMDDHHMMSSZ`, years 1950–2049 as RFC 5280 reads them) or GeneralizedTime
/// (`YYYYMMDDHHMMSS[.f…]Z`) in their DER forms: UTC only.
pub(crate) fn parse_time(t: &Tlv<'_>) -> Option<OffsetDateTime> {
    let s = std::str::from_utf8(t.content).ok()?.strip_suffix('Z')?;
    let (main, frac) = match s.split_once('.') {
        Some((m, f)) if t.tag == GENERALIZED_TIME => (m, Some(f)),
        Some(_) => return None,
        None => (s, None),
    };
    let main = match t.tag {
        UTC_TIME if main.len() == 12 => {
            let century = if main.get(0..2)? < "50" { "20" } else { "19" };
            format!("{century}{main}")
        }
        GENERALIZED_TIME if main.len() == 14 => main.to_string(),
        _ => return None,
    };
    if !main.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = |r: std::ops::Range<usize>| main.get(r)?.parse::<u32>().ok();
    let year = i32::try_from(n(0..4)?).ok()?;
    let month = Month::try_from(u8::try_from(n(4..6)?).ok()?).ok()?;
    let date = Date::from_calendar_date(year, month, u8::try_from(n(6..8)?).ok()?).ok()?;
    let nanos = match frac {
        Some(f) if !f.is_empty() && f.len() <= 9 && f.bytes().all(|b| b.is_ascii_digit()) => {
            f.parse::<u32>().ok()? * 10u32.pow(u32::try_from(9 - f.len()).ok()?)
        }
        Some(_) => return None,
        None => 0,
    };
    let time = Time::from_hms_nano(
        u8::try_from(n(8..10)?).ok()?,
        u8::try_from(n(10..12)?).ok()?,
        u8::try_from(n(12..14)?).ok()?,
        nanos,
    )
    .ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_utc())
}
