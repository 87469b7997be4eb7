//! What every request leaves behind: its id (the caller's `X-Request-Id` when acceptable, else a
//! new one) echoed in the response, errors included; a tracing span carrying the id around every
//! log line of the request; one access-log line; and its count and latency in the metrics, under
//! the matched route template.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use crate::request_id::{self, Scope};

/// The route label of a request no route matched (404, 405 fallbacks).
const UNMATCHED: &str = "unmatched";

/// The outermost layer: runs the request in its [`Scope`] and span.
pub(super) async fn observe(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = request_id::accept_or_make(
        req.headers()
            .get(request_id::HEADER)
            .map(HeaderValue::as_bytes),
    );
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED, MatchedPath::as_str)
        .to_owned();
    let scope = Scope::new(id);
    let span = tracing::info_span!("request", request_id = scope.id());
    let mut resp = scope
        .clone()
        .run(next.run(req))
        .instrument(span.clone())
        .await;
    let elapsed = started.elapsed();
    let status = resp.status().as_u16();
    crate::metrics::request(method.as_str(), &route, status, elapsed);
    span.in_scope(|| {
        tracing::info!(
            target: "sidian::access",
            method = %method,
            route = %route,
            status,
            latency_ms = elapsed.as_secs_f64() * 1000.0,
            request_id = scope.id(),
            client = scope.client(),
            "request"
        );
    });
    if let Ok(value) = HeaderValue::from_str(scope.id()) {
        resp.headers_mut().insert(request_id::HEADER, value);
    }
    resp
}
