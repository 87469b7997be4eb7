use ::time::macros::datetime;
use ::time::{OffsetDateTime, UtcOffset};

use super::*;

fn at(unix_ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(unix_ms) * 1_000_000).expect("in range")
}

#[test]
fn oid_round_trip() {
    for s in [
        "1.2.156.10197.1.501",
        "1.2.840.10045.4.3.2",
        "2.999.3",
        "0.0",
        // A UUID arc (ITU-T X.667): 128 bits.
        "2.25.329800735698586629295641978511506172918",
    ] {
        let enc = oid(s);
        let t = Reader::single(&enc, "t").expect("tlv");
        assert_eq!(t.tag, OID);
        assert_eq!(decode_oid(t.content, "t").expect("decode"), s);
        assert_eq!(checked_oid(s), Some(enc));
    }
    assert_eq!(
        oid("1.2.156.10197.1.501"),
        hex::decode("06082a811ccf55018375").expect("hex")
    );
}

#[test]
fn bad_oids() {
    for s in [
        "1", "1.x", "1..2", "3.1", "1.40", "01.2", "+1.2", "1.2.", "",
    ] {
        assert_eq!(checked_oid(s), None, "{s:?}");
    }
    // A first arc too large for the first subidentifier must not overflow.
    assert_eq!(checked_oid(&format!("2.{}", u128::MAX)), None);
    for content in [&[][..], &[0x2A, 0x81], &[0x2A, 0x80, 0x01]] {
        assert!(
            matches!(
                decode_oid(content, "t"),
                Err(Asn1Error::BadValue { at: "t", .. })
            ),
            "{content:02x?}"
        );
        assert_eq!(oid_to_string(content), None);
    }
    // Arcs beyond 128 bits.
    let huge = [&[0x2A][..], &[0xFF; 19], &[0x7F]].concat();
    assert_eq!(oid_to_string(&huge), None);
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
        let mut r = Reader::top(&enc);
        assert_eq!(r.integer("t").expect("decode"), v, "{v}");
    }
    assert_eq!(integer(128), vec![2, 2, 0, 0x80]);
    assert_eq!(integer(-128), vec![2, 1, 0x80]);
    assert_eq!(uint(&[0, 0, 0x80]), vec![2, 2, 0, 0x80]);
    assert_eq!(uint(&[0, 0]), vec![2, 1, 0]);
    assert_eq!(uint(&[0x01, 0x02]), vec![2, 2, 1, 2]);
}

#[test]
fn bits_and_booleans() {
    assert_eq!(bit_string(&[0xAA]), vec![3, 2, 0, 0xAA]);
    assert_eq!(named_bits(&[]), vec![3, 1, 0]);
    // Bit 1 (keyCertSign is 5, cRLSign 6): trailing zero bits dropped, unused count kept.
    assert_eq!(named_bits(&[5, 6]), vec![3, 2, 1, 0x06]);
    assert_eq!(named_bits(&[0, 8]), vec![3, 3, 7, 0x80, 0x80]);
    assert_eq!(bool_true(), vec![1, 1, 0xFF]);
    let enc = bit_string(&[1, 2]);
    let t = Reader::single(&enc, "t").expect("tlv");
    assert_eq!(bit_string_octets(t.content, "t"), Ok(&[1u8, 2][..]));
    assert_eq!(
        bit_string_octets(&[3, 0xF8], "t"),
        Err(Asn1Error::UnusedBits { at: "t", unused: 3 })
    );
    // BOOLEAN as BER reads it: any non-zero octet is TRUE.
    let mut r = Reader::top(&[1, 1, 0x01, 1, 1, 0x00]);
    assert_eq!(r.boolean("t"), Ok(true));
    assert_eq!(r.boolean("t"), Ok(false));
}

#[test]
fn strings_tolerate_the_three_types() {
    let both = [
        tlv(IA5_STRING, b"a"),
        tlv(UTF8_STRING, "名".as_bytes()),
        tlv(PRINTABLE_STRING, b"c"),
        tlv(OCTET_STRING, b"d"),
    ]
    .concat();
    let mut r = Reader::top(&both);
    assert_eq!(r.string("t").as_deref(), Ok("a"));
    assert_eq!(r.string("t").as_deref(), Ok("名"));
    assert_eq!(r.string("t").as_deref(), Ok("c"));
    assert!(matches!(
        r.string("t"),
        Err(Asn1Error::UnexpectedTag {
            found: OCTET_STRING,
            ..
        })
    ));
}

#[test]
fn long_lengths_round_trip() {
    for len in [
        0usize, 1, 0x7F, 0x80, 0xFF, 0x100, 0xFFFF, 0x1_0000, 0x10_0000,
    ] {
        let content = vec![0xA5; len];
        let enc = tlv(OCTET_STRING, &content);
        let header = match len {
            0..=0x7F => 2,
            0x80..=0xFF => 3,
            0x100..=0xFFFF => 4,
            _ => 5,
        };
        assert_eq!(enc.len(), header + len, "{len}");
        let (t, rest) = read(&enc).expect("read");
        assert!(rest.is_empty());
        assert_eq!(
            (t.tag, t.content.len(), t.raw.len()),
            (OCTET_STRING, len, enc.len())
        );
        assert_eq!(
            Reader::single(&enc, "t").expect("single").content,
            &content[..]
        );
    }
    assert_eq!(
        &tlv(OCTET_STRING, &[0; 300])[..4],
        &[0x04, 0x82, 0x01, 0x2C]
    );
}

#[test]
fn lengths_refused() {
    let single = |v: &[u8]| Reader::single(v, "t").map(|_| ());
    assert_eq!(
        single(&[0x30, 0x80, 0, 0]),
        Err(Asn1Error::IndefiniteLength { at: "t" })
    );
    assert_eq!(
        single(&[0x30, 0x85, 1, 1, 1, 1, 1]),
        Err(Asn1Error::BadLength { at: "t" })
    );
    assert_eq!(
        single(&[0x04, 0x84, 0xFF, 0xFF, 0xFF, 0xFF]),
        Err(Asn1Error::Truncated { at: "t" })
    );
    assert_eq!(
        single(&[0x04, 0x82, 0x01]),
        Err(Asn1Error::Truncated { at: "t" })
    );
    assert_eq!(single(&[0x04]), Err(Asn1Error::Truncated { at: "t" }));
    assert_eq!(
        single(&[0x04, 0x00, 0x00]),
        Err(Asn1Error::TrailingData { at: "t" })
    );
    assert!(matches!(
        single(&[0x1F, 0x81, 0x00, 0x00]),
        Err(Asn1Error::UnexpectedTag { found: 0x1F, .. })
    ));
    let huge = vec![0u8; MAX_INPUT + 1];
    assert_eq!(
        single(&huge),
        Err(Asn1Error::TooLarge { len: MAX_INPUT + 1 })
    );
    // The free functions refuse the same encodings.
    assert_eq!(
        read(&[0x30, 0x80, 0, 0]).map(|_| ()),
        Err(Asn1Error::IndefiniteLength { at: "DER" })
    );
    assert_eq!(
        children(&[0x02, 0x01, 0x00, 0x02]).map(|_| ()),
        Err(Asn1Error::Truncated { at: "DER" })
    );
}

#[test]
fn a_length_past_its_parent_is_refused() {
    // The SEQUENCE holds 3 octets; its INTEGER claims 5, which the input beyond the parent
    // would have.
    let v = [0x30, 0x03, 0x02, 0x05, 0x01, 0x02, 0x03, 0x04, 0x05];
    let (outer, rest) = read(&v).expect("outer");
    assert_eq!(rest.len(), 4);
    assert_eq!(
        outer.reader("t").and_then(|mut r| r.any("t")).map(|_| ()),
        Err(Asn1Error::Truncated { at: "t" })
    );
    assert_eq!(
        children(outer.content).map(|_| ()),
        Err(Asn1Error::Truncated { at: "DER" })
    );
}

#[test]
fn offsets_point_into_the_input() {
    let inner = [integer(7), tlv(OCTET_STRING, &[0; 200])].concat();
    let v = seq(&[&inner]);
    let top = Reader::single(&v, "t").expect("top");
    let mut r = top.reader("t").expect("reader");
    let a = r.any("t").expect("a");
    let b = r.any("t").expect("b");
    assert!(r.is_empty());
    assert_eq!(r.finish("t"), Ok(()));
    for t in [a, b] {
        assert_eq!(&v[t.offset..t.offset + t.raw.len()], t.raw);
    }
    let (first, rest) = read(&inner).expect("read");
    assert_eq!((first.offset, rest.len()), (0, b.raw.len()));
    let kids = children(&inner).expect("children");
    assert_eq!(kids.len(), 2);
    assert_eq!(kids[1].offset, a.raw.len());
}

#[test]
fn reader_field_errors_name_the_place() {
    let v = seq(&[&integer(1)]);
    let (_, mut r) = Reader::top(&v).sequence("s").expect("seq");
    assert_eq!(r.count("s"), Ok(1));
    assert_eq!(r.peek_tag(), Some(INTEGER));
    assert_eq!(
        r.octets("s.x").map(|_| ()),
        Err(Asn1Error::UnexpectedTag {
            at: "s.x",
            expected: "OCTET STRING",
            found: INTEGER
        })
    );
    assert_eq!(r.integer("s.n"), Ok(1));
    assert_eq!(r.oid("s.o"), Err(Asn1Error::Missing { at: "s.o" }));
    assert!(matches!(
        Reader::single(&integer(1), "i").and_then(|t| t.reader("i")),
        Err(Asn1Error::UnexpectedTag { .. })
    ));
}

#[test]
fn depth_limit() {
    let mut v = vec![0x30, 0x00];
    for _ in 0..MAX_DEPTH + 8 {
        v = seq(&[&v]);
    }
    let mut t = Reader::single(&v, "t").expect("top");
    let mut entered = 0;
    let error = loop {
        match t.reader("t").and_then(|mut r| r.any("t")) {
            Ok(inner) => {
                t = inner;
                entered += 1;
            }
            Err(e) => break e,
        }
    };
    assert_eq!(error, Asn1Error::TooDeep { at: "t" });
    assert_eq!(entered, MAX_DEPTH);
}

#[test]
fn utc_time_pivot() {
    let der = |s: &[u8]| parse_utc(s, Rules::Der);
    assert_eq!(der(b"500101000000Z"), Some(datetime!(1950-01-01 0:00 UTC)));
    assert_eq!(
        der(b"491231235959Z"),
        Some(datetime!(2049-12-31 23:59:59 UTC))
    );
    assert_eq!(der(b"000229120000Z"), Some(datetime!(2000-02-29 12:00 UTC)));
    // The writer picks UTCTime for exactly those years, and GeneralizedTime around them.
    for (t, tag, text) in [
        (datetime!(1950-01-01 0:00 UTC), UTC_TIME, "500101000000Z"),
        (
            datetime!(2049-12-31 23:59:59.999 UTC),
            UTC_TIME,
            "491231235959Z",
        ),
        (
            datetime!(1949-12-31 23:59:59 UTC),
            GENERALIZED_TIME,
            "19491231235959Z",
        ),
        (
            datetime!(2050-01-01 0:00 UTC),
            GENERALIZED_TIME,
            "20500101000000Z",
        ),
        (
            datetime!(2030-06-01 12:00 +08:00),
            UTC_TIME,
            "300601040000Z",
        ),
    ] {
        let enc = time(t).expect("encodable");
        let (read_back, _) = read(&enc).expect("tlv");
        assert_eq!(
            (read_back.tag, read_back.content),
            (tag, text.as_bytes()),
            "{t}"
        );
        assert_eq!(
            parse_time(&read_back),
            Some(t.replace_millisecond(0).expect("ms")),
            "{t}"
        );
    }
}

#[test]
fn der_rules_refuse_what_lenient_rules_accept() {
    for (utc, lenient) in [
        (&b"2601020304Z"[..], Some(datetime!(2026-01-02 03:04 UTC))),
        (
            b"260102030405+0800",
            Some(datetime!(2026-01-02 03:04:05 +08:00)),
        ),
        (b"2601020304-0130", Some(datetime!(2026-01-02 03:04 -01:30))),
        (b"260102030405", None),
        (b"260102030405.5Z", None),
        (b"261302030405Z", None),
    ] {
        assert_eq!(parse_utc(utc, Rules::Der), None, "{utc:?}");
        assert_eq!(parse_utc(utc, Rules::Lenient), lenient, "{utc:?}");
    }
    for (gen_time, lenient) in [
        (
            &b"20260102030405,5Z"[..],
            Some(datetime!(2026-01-02 03:04:05.5 UTC)),
        ),
        (
            b"20260102030405+0800",
            Some(datetime!(2026-01-02 03:04:05 +08:00)),
        ),
        (
            b"20260102030405.1234567891Z",
            Some(datetime!(2026-01-02 03:04:05.123456789 UTC)),
        ),
        (b"20260102030405.Z", None),
        (b"20260102030405", None),
        (b"202601020304Z", None),
        (b"20260230030405Z", None),
        (b"20260102240000Z", None),
        (b"20260102030460Z", None),
    ] {
        assert_eq!(
            parse_generalized(gen_time, Rules::Der),
            None,
            "{gen_time:?}"
        );
        assert_eq!(
            parse_generalized(gen_time, Rules::Lenient),
            lenient,
            "{gen_time:?}"
        );
    }
    // What both accept reads the same.
    for gen_time in [
        &b"20260102030405Z"[..],
        b"20260102030405.123456789Z",
        b"20260102030405.50Z",
    ] {
        assert!(parse_generalized(gen_time, Rules::Der).is_some());
        assert_eq!(
            parse_generalized(gen_time, Rules::Der),
            parse_generalized(gen_time, Rules::Lenient)
        );
    }
    let t = parse_generalized(b"20260102030405.123456789+0800", Rules::Lenient).expect("valid");
    assert_eq!(t.nanosecond(), 123_456_789);
    assert_eq!(t.offset(), UtcOffset::from_hms(8, 0, 0).expect("offset"));
    // parse_time goes by the tag and reads DER.
    let other = tlv(OCTET_STRING, b"20260102030405Z");
    assert_eq!(parse_time(&read(&other).expect("tlv").0), None);
}

#[test]
fn generalized_time_fractions_follow_der() {
    // 2026-01-02T03:04:05Z
    let base = 1_767_323_045_000;
    for (ms, millis, seconds) in [
        (0, "20260102030405Z", "20260102030405Z"),
        (500, "20260102030405.5Z", "20260102030405Z"),
        (120, "20260102030405.12Z", "20260102030405Z"),
        (7, "20260102030405.007Z", "20260102030405Z"),
        (999, "20260102030405.999Z", "20260102030405Z"),
    ] {
        let t = at(base + ms);
        for (precision, text) in [(Precision::Millis, millis), (Precision::Seconds, seconds)] {
            let enc = generalized_time(t, precision).expect("fits");
            let (tag_read, _) = read(&enc).expect("tlv");
            assert_eq!(tag_read.tag, GENERALIZED_TIME);
            assert_eq!(String::from_utf8_lossy(tag_read.content), text);
        }
        let enc = generalized_time(t, Precision::Millis).expect("fits");
        let (tlv_read, _) = read(&enc).expect("tlv");
        assert_eq!(parse_time(&tlv_read), Some(t), "{millis} reads back");
    }
}

#[test]
fn years_beyond_four_digits_are_refused() {
    let t = datetime!(2000-06-01 0:00 UTC)
        .replace_year(-1)
        .expect("year");
    assert_eq!(time(t), Err(Asn1Error::YearOutOfRange { year: -1 }));
    assert_eq!(
        generalized_time(t, Precision::Seconds),
        Err(Asn1Error::YearOutOfRange { year: -1 })
    );
    assert_eq!(
        time(datetime!(9999-12-31 23:59:59 UTC)).map(|v| v.len()),
        Ok(17)
    );
}
