//! The v1 `timeInfo` reader: the time formats GM/T 0031-2014 producers write into that BIT
//! STRING (the time syntax itself is read by [`crate::asn1`]).

use time::OffsetDateTime;

use crate::asn1::{self, Rules};

/// v1 `timeInfo` content: ofdrw's `yyyy-MM-dd HH:mm:ss` text, UTCTime or
/// GeneralizedTime text, or a DER UTCTime/GeneralizedTime TLV.
///
/// The dash format carries no zone; ofdrw writes the JVM's local time, and
/// these seals are made in China, so it is read as UTC+08:00 (an assumption,
/// kept visible in the returned offset).
pub(crate) fn parse_v1_time_info(v: &[u8]) -> Option<OffsetDateTime> {
    if let [
        tag @ (asn1::UTC_TIME | asn1::GENERALIZED_TIME),
        len,
        body @ ..,
    ] = v
        && usize::from(*len) == body.len()
    {
        return if *tag == asn1::UTC_TIME {
            asn1::parse_utc(body, Rules::Lenient)
        } else {
            asn1::parse_generalized(body, Rules::Lenient)
        };
    }
    if v.len() == 19
        && v[4] == b'-'
        && v[7] == b'-'
        && v[10] == b' '
        && v[13] == b':'
        && v[16] == b':'
    {
        // The same fields as GeneralizedTime digits, with Beijing's offset spelled out.
        let text = [
            &v[..4],
            &v[5..7],
            &v[8..10],
            &v[11..13],
            &v[14..16],
            &v[17..19],
            b"+0800",
        ]
        .concat();
        return asn1::parse_generalized(&text, Rules::Lenient);
    }
    asn1::parse_generalized(v, Rules::Lenient).or_else(|| asn1::parse_utc(v, Rules::Lenient))
}
