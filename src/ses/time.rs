//! UTCTime / GeneralizedTime text, read and written by hand (no allocation-heavy parsing).

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

use super::SesError;

fn digits(s: &[u8]) -> Option<u32> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        s.iter()
            .fold(0u32, |acc, &b| acc * 10 + u32::from(b - b'0')),
    )
}

fn build(year: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> Option<PrimitiveDateTime> {
    let month = Month::try_from(u8::try_from(mo).ok()?).ok()?;
    let date = Date::from_calendar_date(year, month, u8::try_from(d).ok()?).ok()?;
    let time = Time::from_hms(
        u8::try_from(h).ok()?,
        u8::try_from(mi).ok()?,
        u8::try_from(s).ok()?,
    )
    .ok()?;
    Some(PrimitiveDateTime::new(date, time))
}

/// "Z" or "+hhmm"/"-hhmm".
fn zone(s: &[u8]) -> Option<UtcOffset> {
    match s {
        b"Z" => Some(UtcOffset::UTC),
        [sign @ (b'+' | b'-'), rest @ ..] if rest.len() == 4 => {
            let h = i8::try_from(digits(&rest[..2])?).ok()?;
            let m = i8::try_from(digits(&rest[2..])?).ok()?;
            let (h, m) = if *sign == b'-' { (-h, -m) } else { (h, m) };
            UtcOffset::from_hms(h, m, 0).ok()
        }
        _ => None,
    }
}

/// GeneralizedTime: `YYYYMMDDHHMMSS[.f+](Z|±hhmm)`; a fraction is kept to the nanosecond
/// (digits beyond the ninth are dropped: no signing clock is that precise).
pub(crate) fn parse_generalized(v: &[u8]) -> Option<OffsetDateTime> {
    if v.len() < 15 {
        return None;
    }
    let year = i32::try_from(digits(&v[..4])?).ok()?;
    let dt = build(
        year,
        digits(&v[4..6])?,
        digits(&v[6..8])?,
        digits(&v[8..10])?,
        digits(&v[10..12])?,
        digits(&v[12..14])?,
    )?;
    let mut rest = &v[14..];
    let mut nanos = 0;
    if let [b'.' | b',', frac @ ..] = rest {
        let n = frac.iter().take_while(|b| b.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        // Nine digits, padded with zeros: the fraction in nanoseconds.
        nanos = frac[..n]
            .iter()
            .chain(std::iter::repeat(&b'0'))
            .take(9)
            .fold(0u32, |acc, &b| acc * 10 + u32::from(b - b'0'));
        rest = &frac[n..];
    }
    Some(
        dt.replace_nanosecond(nanos)
            .ok()?
            .assume_offset(zone(rest)?),
    )
}

/// UTCTime: `YYMMDDHHMM[SS](Z|±hhmm)`, years 50–99 are 19xx (RFC 5280).
pub(crate) fn parse_utc(v: &[u8]) -> Option<OffsetDateTime> {
    if v.len() < 11 {
        return None;
    }
    let yy = digits(&v[..2])?;
    let year = i32::try_from(if yy < 50 { 2000 + yy } else { 1900 + yy }).ok()?;
    let (secs, rest) = match v.get(10) {
        Some(b) if b.is_ascii_digit() => (digits(v.get(10..12)?)?, &v[12..]),
        _ => (0, &v[10..]),
    };
    let dt = build(
        year,
        digits(&v[2..4])?,
        digits(&v[4..6])?,
        digits(&v[6..8])?,
        digits(&v[8..10])?,
        secs,
    )?;
    Some(dt.assume_offset(zone(rest)?))
}

/// v1 `timeInfo` content: ofdrw's `yyyy-MM-dd HH:mm:ss` text, UTCTime or
/// GeneralizedTime text, or a DER UTCTime/GeneralizedTime TLV.
///
/// The dash format carries no zone; ofdrw writes the JVM's local time, and
/// these seals are made in China, so it is read as UTC+08:00 (an assumption,
/// kept visible in the returned offset).
pub(crate) fn parse_v1_time_info(v: &[u8]) -> Option<OffsetDateTime> {
    if let [tag @ (0x17 | 0x18), len, body @ ..] = v
        && usize::from(*len) == body.len()
    {
        return if *tag == 0x17 {
            parse_utc(body)
        } else {
            parse_generalized(body)
        };
    }
    if v.len() == 19
        && v[4] == b'-'
        && v[7] == b'-'
        && v[10] == b' '
        && v[13] == b':'
        && v[16] == b':'
    {
        let dt = build(
            i32::try_from(digits(&v[..4])?).ok()?,
            digits(&v[5..7])?,
            digits(&v[8..10])?,
            digits(&v[11..13])?,
            digits(&v[14..16])?,
            digits(&v[17..19])?,
        )?;
        let beijing = UtcOffset::from_hms(8, 0, 0).ok()?;
        return Some(dt.assume_offset(beijing));
    }
    parse_generalized(v).or_else(|| parse_utc(v))
}

/// GeneralizedTime content in UTC to the millisecond: `YYYYMMDDHHMMSS[.fff]Z`, with the DER
/// rules for the fraction (X.690 §11.7: no trailing zeros, none at all when it is zero), so a
/// time on a whole second is written exactly as before fractions were emitted.
pub(crate) fn format_generalized(t: OffsetDateTime) -> Result<Vec<u8>, SesError> {
    let t = t.to_offset(UtcOffset::UTC);
    if !(0..=9999).contains(&t.year()) {
        return Err(SesError::Encode(format!(
            "year {} does not fit GeneralizedTime",
            t.year()
        )));
    }
    let mut fraction = match t.millisecond() {
        0 => String::new(),
        ms => format!(".{ms:03}"),
    };
    while fraction.ends_with('0') {
        fraction.pop();
    }
    Ok(format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}{fraction}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
    .into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(unix_ms: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(unix_ms) * 1_000_000)
            .expect("in range")
    }

    #[test]
    fn generalized_fractions_follow_der() {
        // 2026-01-02T03:04:05Z
        let base = 1_767_323_045_000;
        for (ms, text) in [
            (0, "20260102030405Z"),
            (500, "20260102030405.5Z"),
            (120, "20260102030405.12Z"),
            (7, "20260102030405.007Z"),
            (999, "20260102030405.999Z"),
        ] {
            let t = at(base + ms);
            let written = format_generalized(t).expect("fits");
            assert_eq!(String::from_utf8_lossy(&written), text);
            assert_eq!(parse_generalized(&written), Some(t), "{text} reads back");
        }
    }

    #[test]
    fn generalized_fraction_beyond_milliseconds_is_read() {
        let t = parse_generalized(b"20260102030405.123456789+0800").expect("valid");
        assert_eq!(t.nanosecond(), 123_456_789);
        assert_eq!(t.offset(), UtcOffset::from_hms(8, 0, 0).expect("offset"));
        let long = parse_generalized(b"20260102030405.1234567891Z").expect("valid");
        assert_eq!(long.nanosecond(), 123_456_789);
        assert_eq!(parse_generalized(b"20260102030405.Z"), None);
    }
}
