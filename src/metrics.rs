//! Process metrics for `/metrics` (OpenMetrics text, which Prometheus scrapes): HTTP requests by
//! route template (never the raw path, so that the label set stays bounded), signatures by
//! algorithm, the ledger's batch sizes and commit latency, and the verification runner's queue.
//!
//! One registry per process, like the HTTP server and the ledger writer it observes: recording
//! is a call from wherever the event happens, not a handle threaded through every constructor.

use std::sync::LazyLock;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// The media type of [`render`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AlgorithmLabels {
    algorithm: String,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Histograms<RouteLabels>,
    signatures: Family<AlgorithmLabels, Counter>,
    batch_size: Histogram,
    commit_latency: Histogram,
    verification_waiting: Gauge,
    verification_running: Gauge,
}

fn latency_histogram() -> Histogram {
    // 0.5 ms to ≈ 33 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 17))
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let mut registry = Registry::with_prefix("sidian");
    let requests = Family::<RequestLabels, Counter>::default();
    registry.register(
        "http_requests",
        "HTTP requests answered, by method, route template and status",
        requests.clone(),
    );
    let latency: Histograms<RouteLabels> = Family::new_with_constructor(latency_histogram);
    registry.register(
        "http_request_duration_seconds",
        "Time from request to response head, by method and route template",
        latency.clone(),
    );
    let signatures = Family::<AlgorithmLabels, Counter>::default();
    registry.register(
        "signatures",
        "Signatures released (recorded in the audit log), by algorithm",
        signatures.clone(),
    );
    let batch_size = Histogram::new(exponential_buckets(1.0, 2.0, 11));
    registry.register(
        "ledger_batch_size",
        "Operations applied per audited transaction",
        batch_size.clone(),
    );
    let commit_latency = latency_histogram();
    registry.register(
        "ledger_commit_duration_seconds",
        "Time to apply and commit one audited batch",
        commit_latency.clone(),
    );
    let verification_waiting = Gauge::default();
    registry.register(
        "verification_waiting",
        "Verification (and PDF layout) jobs waiting for a slot on the bounded runner",
        verification_waiting.clone(),
    );
    let verification_running = Gauge::default();
    registry.register(
        "verification_running",
        "Verification (and PDF layout) jobs running on the bounded runner",
        verification_running.clone(),
    );
    Metrics {
        registry,
        requests,
        latency,
        signatures,
        batch_size,
        commit_latency,
        verification_waiting,
        verification_running,
    }
});

/// Counts an answered request under its route template (`/v1/keys/{id}`, or `unmatched`).
pub fn request(method: &str, route: &str, status: u16, elapsed: Duration) {
    let m = &*METRICS;
    m.requests
        .get_or_create(&RequestLabels {
            method: method.to_owned(),
            route: route.to_owned(),
            status,
        })
        .inc();
    m.latency
        .get_or_create(&RouteLabels {
            method: method.to_owned(),
            route: route.to_owned(),
        })
        .observe(elapsed.as_secs_f64());
}

/// Counts a signature released with this algorithm.
pub fn signature(algorithm: &str) {
    METRICS
        .signatures
        .get_or_create(&AlgorithmLabels {
            algorithm: algorithm.to_owned(),
        })
        .inc();
}

/// Records one committed ledger batch.
pub fn ledger_batch(size: usize, took: Duration) {
    let m = &*METRICS;
    m.batch_size.observe(size as f64);
    m.commit_latency.observe(took.as_secs_f64());
}

/// A job counted in one of the runner's gauges until dropped.
#[derive(Debug)]
#[must_use = "the job is counted only while the guard lives"]
pub struct Counted(Gauge);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.dec();
    }
}

fn counted(gauge: &Gauge) -> Counted {
    gauge.inc();
    Counted(gauge.clone())
}

/// Counts a job waiting for the verification runner.
pub fn verification_waiting() -> Counted {
    counted(&METRICS.verification_waiting)
}

/// Counts a job running on the verification runner.
pub fn verification_running() -> Counted {
    counted(&METRICS.verification_running)
}

/// Every metric in OpenMetrics text.
pub fn render() -> String {
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut out, &METRICS.registry);
    out
}
