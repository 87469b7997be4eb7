//! UTCTime and GeneralizedTime: the one parser (strict DER or lenient) and the one formatter.

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

use super::{Asn1Error, GENERALIZED_TIME, Tlv, UTC_TIME, tlv};

/// How much of BER's freedom a time read may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rules {
    /// DER, as RFC 5280 and RFC 3161 require: `Z` only, seconds always present, and for
    /// GeneralizedTime a fraction of one to nine digits after a full stop.
    Der,
    /// What seals in the wild carry: `Z` or `±hhmm`, UTCTime without seconds, a fraction after
    /// `.` or `,` of any length (digits beyond the ninth are dropped: no signing clock is that
    /// precise).
    Lenient,
}

/// How much of a second a written GeneralizedTime keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Precision {
    /// Whole seconds (the fraction is cut, not rounded).
    Seconds,
    /// Milliseconds.
    Millis,
}

/// An X.509/CMS `Time` TLV in DER: UTCTime (years 1950–2049) or GeneralizedTime.
pub(crate) fn parse_time(t: &Tlv<'_>) -> Option<OffsetDateTime> {
    match t.tag {
        UTC_TIME => parse_utc(t.content, Rules::Der),
        GENERALIZED_TIME => parse_generalized(t.content, Rules::Der),
        _ => None,
    }
}

/// GeneralizedTime content: `YYYYMMDDHHMMSS[.f+]Z`, and under [`Rules::Lenient`] also a `,`
/// fraction and a `±hhmm` zone; a fraction is kept to the nanosecond.
pub(crate) fn parse_generalized(v: &[u8], rules: Rules) -> Option<OffsetDateTime> {
    if v.len() < 15 {
        return None;
    }
    let dt = civil(i32::try_from(digits(&v[..4])?).ok()?, &v[4..14])?;
    let mut rest = &v[14..];
    let mut nanos = 0;
    if let [sep @ (b'.' | b','), frac @ ..] = rest {
        let n = frac.iter().take_while(|b| b.is_ascii_digit()).count();
        if n == 0 || (rules == Rules::Der && (*sep != b'.' || n > 9)) {
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
            .assume_offset(zone(rest, rules)?),
    )
}

/// UTCTime content: `YYMMDDHHMMSSZ`, and under [`Rules::Lenient`] also without seconds and
/// with a `±hhmm` zone. Years 50–99 are 19xx, 00–49 are 20xx (RFC 5280 §4.1.2.5.1).
pub(crate) fn parse_utc(v: &[u8], rules: Rules) -> Option<OffsetDateTime> {
    if v.len() < 11 {
        return None;
    }
    let yy = digits(&v[..2])?;
    let year = i32::try_from(if yy < 50 { 2000 + yy } else { 1900 + yy }).ok()?;
    let (mmddhhmm, after) = v[2..].split_at(8);
    let (ss, rest): (&[u8], &[u8]) = match after {
        [s1, s2, rest @ ..] if s1.is_ascii_digit() => (&[*s1, *s2], rest),
        _ if rules == Rules::Der => return None,
        _ => (b"00", after),
    };
    let dt = civil(year, &[mmddhhmm, ss].concat())?;
    Some(dt.assume_offset(zone(rest, rules)?))
}

/// Whole decimal digits, `None` for anything else (signs included).
fn digits(s: &[u8]) -> Option<u32> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        s.iter()
            .fold(0u32, |acc, &b| acc * 10 + u32::from(b - b'0')),
    )
}

/// A date and time from the year and the ten digits `MMDDHHMMSS`.
fn civil(year: i32, mmddhhmmss: &[u8]) -> Option<PrimitiveDateTime> {
    let two = |i: usize| u8::try_from(digits(mmddhhmmss.get(i..i + 2)?)?).ok();
    let month = Month::try_from(two(0)?).ok()?;
    let date = Date::from_calendar_date(year, month, two(2)?).ok()?;
    let time = Time::from_hms(two(4)?, two(6)?, two(8)?).ok()?;
    Some(PrimitiveDateTime::new(date, time))
}

/// `Z`, or under [`Rules::Lenient`] `+hhmm`/`-hhmm`.
fn zone(s: &[u8], rules: Rules) -> Option<UtcOffset> {
    match s {
        b"Z" => Some(UtcOffset::UTC),
        [sign @ (b'+' | b'-'), rest @ ..] if rest.len() == 4 && rules == Rules::Lenient => {
            let h = i8::try_from(digits(&rest[..2])?).ok()?;
            let m = i8::try_from(digits(&rest[2..])?).ok()?;
            let (h, m) = if *sign == b'-' { (-h, -m) } else { (h, m) };
            UtcOffset::from_hms(h, m, 0).ok()
        }
        _ => None,
    }
}

/// A GeneralizedTime TLV in UTC: `YYYYMMDDHHMMSS[.fff]Z`, the fraction (to `precision`)
/// following DER (X.690 §11.7: no trailing zeros, none at all when it is zero), so a time on a
/// whole second is written the same at either precision.
pub(crate) fn generalized_time(
    t: OffsetDateTime,
    precision: Precision,
) -> Result<Vec<u8>, Asn1Error> {
    let (year, rest) = utc_digits(t, precision)?;
    Ok(tlv(GENERALIZED_TIME, format!("{year:04}{rest}").as_bytes()))
}

/// X.509 `Time`: UTCTime for 1950–2049, GeneralizedTime otherwise (RFC 5280 §4.1.2.5), always
/// in UTC and to the second.
pub(crate) fn time(t: OffsetDateTime) -> Result<Vec<u8>, Asn1Error> {
    let (year, rest) = utc_digits(t, Precision::Seconds)?;
    Ok(if (1950..2050).contains(&year) {
        tlv(UTC_TIME, format!("{:02}{rest}", year % 100).as_bytes())
    } else {
        tlv(GENERALIZED_TIME, format!("{year:04}{rest}").as_bytes())
    })
}

/// The UTC year and the `MMDDHHMMSS[.fff]Z` text both time types share.
fn utc_digits(t: OffsetDateTime, precision: Precision) -> Result<(i32, String), Asn1Error> {
    let t = t.to_offset(UtcOffset::UTC);
    let year = t.year();
    if !(0..=9999).contains(&year) {
        return Err(Asn1Error::YearOutOfRange { year });
    }
    let mut fraction = match (precision, t.millisecond()) {
        (Precision::Seconds, _) | (Precision::Millis, 0) => String::new(),
        (Precision::Millis, ms) => format!(".{ms:03}"),
    };
    while fraction.ends_with('0') {
        fraction.pop();
    }
    Ok((
        year,
        format!(
            "{:02}{:02}{:02}{:02}{:02}{fraction}Z",
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ),
    ))
}
