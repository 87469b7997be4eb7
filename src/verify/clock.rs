//! Time judgements every signature format shares: a claimed signing time may not lie in the
//! verifier's future, and a signature counts as made before a revocation only when its time
//! proves it.

use time::{Duration, OffsetDateTime};

use crate::report::Check;

/// How far a claimed time may lie ahead of the verifier's clock and still be accepted.
///
/// The signer's and the verifier's clocks drift apart by a few seconds at most when both follow
/// NTP; five minutes (Kerberos' default tolerance) also absorbs a badly kept clock. A time later
/// than that is one no honest signer could have written: it is a signature made to look newer
/// than it is (e.g. to outlive a revocation or a seal's validity), so the signature is INVALID.
pub const MAX_CLOCK_SKEW: Duration = Duration::minutes(5);

/// `name`: passes when `at` (the `what` of the signature) is at most [`MAX_CLOCK_SKEW`] after
/// `now`.
pub(crate) fn not_in_future(
    name: &str,
    what: &str,
    at: OffsetDateTime,
    now: OffsetDateTime,
) -> Check {
    let ok = at <= now + MAX_CLOCK_SKEW;
    Check::new(
        name,
        ok,
        if ok {
            format!("{what} {} is not after the verification time", rfc3339(at))
        } else {
            format!(
                "{what} {} is later than the verification time {} plus {} minutes of clock skew: \
                 no signer can have written it",
                rfc3339(at),
                rfc3339(now),
                MAX_CLOCK_SKEW.whole_minutes()
            )
        },
    )
}

/// Whether a signature timed `signed_at` was certainly made before `revoked_at`.
///
/// Strictly before, at the best precision the time carries: a time with a fraction (SES
/// `timeInfo` with milliseconds) is compared as it is; a time on a whole second (UTCTime,
/// GeneralizedTime without a fraction, PDF `/M`) may stand for any instant of that second, so
/// it passes only if the whole second lies before the revocation. A millisecond time that falls
/// on `.000` is judged as a whole second too, which can only refuse, never accept, more.
pub(crate) fn before_revocation(signed_at: OffsetDateTime, revoked_at: OffsetDateTime) -> bool {
    if signed_at.nanosecond() == 0 {
        signed_at + Duration::SECOND <= revoked_at
    } else {
        signed_at < revoked_at
    }
}

/// `name`: passes when the signature was made before the revocation ([`before_revocation`]).
pub(crate) fn revocation_check(
    name: &str,
    signed_at: OffsetDateTime,
    revoked_at: OffsetDateTime,
) -> Check {
    let ok = before_revocation(signed_at, revoked_at);
    Check::new(
        name,
        ok,
        if ok {
            format!(
                "revoked at {}, after the signing time {}",
                rfc3339(revoked_at),
                rfc3339(signed_at)
            )
        } else {
            format!(
                "revoked at {}, NOT strictly after the signing time {} (at the time's precision)",
                rfc3339(revoked_at),
                rfc3339(signed_at)
            )
        },
    )
}

/// RFC 3339 text for details.
pub(crate) fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(unix: i64, ms: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(unix).expect("in range") + Duration::milliseconds(ms)
    }

    #[test]
    fn revocation_needs_strictly_earlier_time_at_its_precision() {
        // Millisecond times compare exactly.
        assert!(before_revocation(t(100, 499), t(100, 500)));
        assert!(!before_revocation(t(100, 500), t(100, 500)));
        assert!(!before_revocation(t(100, 501), t(100, 500)));
        // A whole-second time covers its second: the same second as the revocation fails.
        assert!(!before_revocation(t(100, 0), t(100, 999)));
        assert!(!before_revocation(t(100, 0), t(100, 0)));
        assert!(before_revocation(t(100, 0), t(101, 0)));
    }

    #[test]
    fn future_times_pass_only_within_the_skew() {
        let now = t(1_000_000, 0);
        assert!(not_in_future("x", "t", now + Duration::minutes(1), now).ok);
        assert!(not_in_future("x", "t", now + MAX_CLOCK_SKEW, now).ok);
        assert!(!not_in_future("x", "t", now + MAX_CLOCK_SKEW + Duration::SECOND, now).ok);
        assert!(!not_in_future("x", "t", now + Duration::days(200), now).ok);
    }
}
