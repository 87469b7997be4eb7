//! The DER writer: TLVs with definite, minimal lengths, built from already-encoded parts.

use super::{BIT_STRING, BOOLEAN, INTEGER, OID, SEQUENCE, read};

/// One TLV with a definite, minimal length.
pub(crate) fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let len = content.len();
    let mut out = Vec::with_capacity(len + 6);
    out.push(tag);
    let bytes = len.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    let significant = &bytes[skip..];
    match significant {
        [] => out.push(0),
        [b] if *b < 0x80 => out.push(*b),
        _ => {
            // At most eight length octets (a usize), so the count fits the low bits.
            out.push(0x80 | significant.len().to_le_bytes()[0]);
            out.extend_from_slice(significant);
        }
    }
    out.extend_from_slice(content);
    out
}

/// SEQUENCE of already-encoded elements.
pub(crate) fn seq(parts: &[&[u8]]) -> Vec<u8> {
    tlv(SEQUENCE, &parts.concat())
}

/// An OBJECT IDENTIFIER from its dotted form (our own constants only, so a bad one is a bug
/// caught by the tests rather than input to validate: see [`checked_oid`]).
pub(crate) fn oid(dotted: &str) -> Vec<u8> {
    // u128 arcs: UUID-derived OIDs under 2.25 (ITU-T X.667) carry a 128-bit arc.
    let arcs: Vec<u128> = dotted.split('.').filter_map(|a| a.parse().ok()).collect();
    let mut content = Vec::new();
    if arcs.len() >= 2 {
        // Saturating: an arc too large for the first subidentifier then fails to round-trip
        // in [`checked_oid`] instead of overflowing.
        push_base128(
            &mut content,
            arcs[0].saturating_mul(40).saturating_add(arcs[1]),
        );
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
/// content type or extension): `None` unless it round-trips, since [`oid`] trusts its input.
pub(crate) fn checked_oid(dotted: &str) -> Option<Vec<u8>> {
    let encoded = oid(dotted);
    let round_trip = read(&encoded)
        .ok()
        .and_then(|(t, _)| super::oid_to_string(t.content));
    (round_trip.as_deref() == Some(dotted)).then_some(encoded)
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
    tlv(INTEGER, &bytes[start..])
}

/// BOOLEAN TRUE (DER: FF).
pub(crate) fn bool_true() -> Vec<u8> {
    tlv(BOOLEAN, &[0xFF])
}

/// BIT STRING with 0 unused bits.
pub(crate) fn bit_string(data: &[u8]) -> Vec<u8> {
    let mut content = Vec::with_capacity(data.len() + 1);
    content.push(0);
    content.extend_from_slice(data);
    tlv(BIT_STRING, &content)
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
