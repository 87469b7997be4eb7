//! What anonymous callers may take: a per-peer request rate, and a byte budget that admits an
//! upload before its body is read, so that a burst of large anonymous documents is answered
//! `503 busy` instead of being held in memory (docs/threats.md §3.4, §5.3).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequest, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::body::{declared_length, read_body};
use crate::error::Error;

const MIB: usize = 1 << 20;

/// Limits on anonymous callers and on every request; [`Limits::default`] documents the defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Bytes of anonymous uploads held at once, across all peers (default 192 MiB).
    pub upload_budget: usize,
    /// Bytes of anonymous uploads one peer may hold at once (default 64 MiB: two of the largest).
    pub upload_per_peer: usize,
    /// Requests per second one peer may make to the anonymous routes, sustained (default 20).
    pub rate_per_sec: f64,
    /// Requests one peer may make in a burst (default 100).
    pub rate_burst: u32,
    /// Peers whose rate is remembered; beyond it the idle, then the oldest, are forgotten
    /// (default 10,000).
    pub max_peers: usize,
    /// Longest time a request may take, body included (default 30 s).
    pub request_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            upload_budget: 192 * MIB,
            upload_per_peer: 64 * MIB,
            rate_per_sec: 20.0,
            rate_burst: 100,
            max_peers: 10_000,
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// How long a refused caller is told to wait before the budget is worth trying again.
const BUSY_RETRY_AFTER: u64 = 1;

/// The shared state behind [`Limits`]: the byte budget and the peers' reservations and buckets.
#[derive(Debug)]
pub(crate) struct Admission {
    limits: Limits,
    budget: Arc<Semaphore>,
    held: Mutex<HashMap<Peer, usize>>,
    buckets: Mutex<HashMap<Peer, Bucket>>,
}

/// Who is asking: the peer's address (an IPv6 peer by its /64, which one host usually holds
/// whole), or `None` when the server passed no address (every such caller shares one share).
type Peer = Option<IpAddr>;

fn peer_of(parts_extensions: &axum::http::Extensions) -> Peer {
    let ConnectInfo(addr) = parts_extensions.get::<ConnectInfo<SocketAddr>>()?;
    Some(match addr.ip() {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
        },
        v4 => v4,
    })
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Admission {
    /// The state for `limits`.
    pub(crate) fn new(limits: Limits) -> Arc<Self> {
        Arc::new(Self {
            budget: Arc::new(Semaphore::new(
                limits.upload_budget.min(Semaphore::MAX_PERMITS),
            )),
            limits,
            held: Mutex::default(),
            buckets: Mutex::default(),
        })
    }

    /// The request timeout in force.
    pub(crate) fn request_timeout(&self) -> Duration {
        self.limits.request_timeout
    }

    /// Takes one token from the peer's bucket, or says how many seconds until there is one.
    fn take_token(&self, peer: Peer, now: Instant) -> Result<(), Error> {
        let rate = self.limits.rate_per_sec.max(f64::MIN_POSITIVE);
        let burst = f64::from(self.limits.rate_burst.max(1));
        let mut buckets = self.buckets.lock().map_err(|_| Error::Unavailable)?;
        if buckets.len() >= self.limits.max_peers && !buckets.contains_key(&peer) {
            forget_peers(&mut buckets, now, rate, burst);
        }
        let b = buckets.entry(peer).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        b.tokens = (b.tokens + now.duration_since(b.at).as_secs_f64() * rate).min(burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(Error::RateLimited {
                retry_after: seconds_until((1.0 - b.tokens) / rate),
            })
        }
    }

    /// Reserves `bytes` of the budget for `peer`, or refuses at once.
    fn reserve(self: &Arc<Self>, peer: Peer, bytes: usize) -> Result<Reservation, Error> {
        let busy = Error::Busy {
            retry_after: BUSY_RETRY_AFTER,
        };
        let mut held = self.held.lock().map_err(|_| Error::Unavailable)?;
        let mine = held.get(&peer).copied().unwrap_or(0);
        if mine.saturating_add(bytes) > self.limits.upload_per_peer {
            return Err(busy);
        }
        let permits = u32::try_from(bytes).map_err(|_| Error::PayloadTooLarge(bytes))?;
        let permit = self
            .budget
            .clone()
            .try_acquire_many_owned(permits)
            .map_err(|_| busy)?;
        held.insert(peer, mine + bytes);
        Ok(Reservation {
            admission: self.clone(),
            peer,
            bytes,
            _permit: permit,
        })
    }
}

/// Frees the map for new peers: first those whose bucket has refilled (they lose nothing), then,
/// if that freed less than a quarter, the least recently seen half.
fn forget_peers(buckets: &mut HashMap<Peer, Bucket>, now: Instant, rate: f64, burst: f64) {
    let before = buckets.len();
    buckets.retain(|_, b| b.tokens + now.duration_since(b.at).as_secs_f64() * rate < burst);
    if buckets.len() * 4 > before * 3 {
        let mut seen: Vec<Instant> = buckets.values().map(|b| b.at).collect();
        let mid = seen.len() / 2;
        let (_, cut, _) = seen.select_nth_unstable(mid);
        let cut = *cut;
        buckets.retain(|_, b| b.at > cut);
    }
}

fn seconds_until(secs: f64) -> u64 {
    // A finite, positive wait of at most a few hours: the rate is positive and the deficit ≤ 1.
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "ceil of a small positive number"
    )]
    let s = secs.ceil().clamp(1.0, 86_400.0) as u64;
    s
}

/// Bytes of the budget held for one upload until it is dropped.
#[derive(Debug)]
pub(crate) struct Reservation {
    admission: Arc<Admission>,
    peer: Peer,
    bytes: usize,
    _permit: OwnedSemaphorePermit,
}

impl Drop for Reservation {
    fn drop(&mut self) {
        // A poisoned lock means a panic elsewhere already; the permit still returns to the budget.
        if let Ok(mut held) = self.admission.held.lock()
            && let Some(n) = held.get_mut(&self.peer)
        {
            *n = n.saturating_sub(self.bytes);
            if *n == 0 {
                held.remove(&self.peer);
            }
        }
    }
}

/// Middleware for the anonymous routes: one token from the peer's bucket per request.
pub(crate) async fn rate_limit(
    State(admission): State<Arc<Admission>>,
    req: Request,
    next: Next,
) -> Response {
    match admission.take_token(peer_of(req.extensions()), Instant::now()) {
        Ok(()) => next.run(req).await,
        Err(e) => e.into_response(),
    }
}

/// One token from the bucket of the peer that sent these parts, for a route that serves
/// anonymous and authenticated callers alike and limits only the anonymous ones.
pub(crate) fn charge_anonymous(parts: &Parts) -> Result<(), Error> {
    admission_of(parts)?.take_token(peer_of(&parts.extensions), Instant::now())
}

/// Middleware for every route: the request, body included, must finish within the timeout.
pub(crate) async fn timeout(
    State(admission): State<Arc<Admission>>,
    req: Request,
    next: Next,
) -> Response {
    match tokio::time::timeout(admission.request_timeout(), next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => Error::RequestTimeout.into_response(),
    }
}

/// An anonymous upload of at most `MAX` bytes, admitted against the budget before its body was
/// read; the budget is held until this is dropped (after the work on the bytes, not before).
pub(crate) struct Upload<const MAX: usize> {
    /// The body.
    pub(crate) bytes: Vec<u8>,
    /// The share of the budget the body holds.
    pub(crate) reservation: Reservation,
}

impl<S: Send + Sync, const MAX: usize> FromRequest<S> for Upload<MAX> {
    type Rejection = Error;

    async fn from_request(req: Request, _: &S) -> Result<Self, Error> {
        let (parts, body) = req.into_parts();
        let admission = admission_of(&parts)?;
        let declared = declared_length(&parts.headers, MAX)?;
        // Without a Content-Length the body may be as large as the route allows.
        let reservation = admission.reserve(peer_of(&parts.extensions), declared.unwrap_or(MAX))?;
        let bytes = read_body(body, declared, MAX).await?;
        Ok(Self { bytes, reservation })
    }
}

fn admission_of(parts: &Parts) -> Result<Arc<Admission>, Error> {
    parts
        .extensions
        .get::<Arc<Admission>>()
        .cloned()
        .ok_or_else(|| Error::Config("the router has no upload admission".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            upload_budget: 100,
            upload_per_peer: 60,
            rate_per_sec: 1.0,
            rate_burst: 2,
            max_peers: 4,
            ..Limits::default()
        }
    }

    fn ip(n: u8) -> Peer {
        Some(IpAddr::from([10, 0, 0, n]))
    }

    #[test]
    fn budget_and_peer_share_are_enforced_and_returned() {
        let a = Admission::new(limits());
        let r1 = a.reserve(ip(1), 50).expect("first");
        assert!(
            matches!(a.reserve(ip(1), 20), Err(Error::Busy { .. })),
            "peer share"
        );
        let r2 = a.reserve(ip(2), 50).expect("second peer");
        assert!(
            matches!(a.reserve(ip(3), 1), Err(Error::Busy { .. })),
            "budget"
        );
        drop(r1);
        drop(r2);
        assert!(a.held.lock().expect("lock").is_empty());
        a.reserve(ip(3), 60).expect("released");
    }

    #[test]
    fn buckets_refill_and_the_map_stays_bounded() {
        let a = Admission::new(limits());
        let t0 = Instant::now();
        a.take_token(ip(1), t0).expect("1");
        a.take_token(ip(1), t0).expect("2");
        match a.take_token(ip(1), t0) {
            Err(Error::RateLimited { retry_after }) => assert_eq!(retry_after, 1),
            other => panic!("expected rate_limited, got {other:?}"),
        }
        a.take_token(ip(1), t0 + Duration::from_secs(1))
            .expect("refilled");
        for n in 2..=40 {
            a.take_token(ip(n), t0 + Duration::from_secs(1))
                .expect("new peer");
            assert!(a.buckets.lock().expect("lock").len() <= 4);
        }
    }

    #[test]
    fn ipv6_peers_are_counted_by_their_64() {
        let addr = |s: &str| {
            let mut ext = axum::http::Extensions::new();
            ext.insert(ConnectInfo(SocketAddr::new(s.parse().expect("ip"), 1)));
            peer_of(&ext)
        };
        assert_eq!(addr("2001:db8::1"), addr("2001:db8::ffff:1"));
        assert_ne!(addr("2001:db8::1"), addr("2001:db8:0:1::1"));
        assert_eq!(addr("::ffff:10.0.0.1"), ip(1));
    }
}
