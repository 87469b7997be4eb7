//! Anonymous callers are bounded before their bodies are read: uploads beyond the byte budget
//! (or beyond one peer's share) are answered 503 `busy`, the budget returns when an upload ends,
//! and a peer over its request rate is answered 429 `rate_limited`.

mod common;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use hyper::body::Frame;
use serde_json::Value;
use sidian::api::Limits;
use tokio::sync::{mpsc, oneshot};
use tower::ServiceExt;

use common::TestVault;

const MIB: usize = 1 << 20;

/// A body that says when it is first read and then yields what the test sends it.
struct Trickle {
    started: Option<oneshot::Sender<()>>,
    chunks: mpsc::Receiver<Bytes>,
}

impl hyper::body::Body for Trickle {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        if let Some(started) = this.started.take() {
            let _ = started.send(());
        }
        this.chunks
            .poll_recv(cx)
            .map(|chunk| chunk.map(|b| Ok(Frame::data(b))))
    }
}

/// A body fed by the test: the sender of its chunks, and the signal that it is being read.
fn trickle() -> (Body, mpsc::Sender<Bytes>, oneshot::Receiver<()>) {
    let (tx, chunks) = mpsc::channel(4);
    let (started_tx, started) = oneshot::channel();
    let body = Body::new(Trickle {
        started: Some(started_tx),
        chunks,
    });
    (body, tx, started)
}

/// A request from peer 10.0.0.`peer` (as `into_make_service_with_connect_info` would say).
fn from_peer(peer: u8, method: &str, path: &str, len: Option<usize>, body: Body) -> Request<Body> {
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/pdf");
    if let Some(len) = len {
        req = req.header(header::CONTENT_LENGTH, len);
    }
    let mut req = req.body(body).expect("request");
    req.extensions_mut()
        .insert(ConnectInfo(SocketAddr::from(([10, 0, 0, peer], 40_000))));
    req
}

async fn answer(app: &Router, req: Request<Body>) -> (StatusCode, Option<String>, Value) {
    let resp = app.clone().oneshot(req).await.expect("infallible");
    let status = resp.status();
    let retry = resp
        .headers()
        .get(header::RETRY_AFTER)
        .map(|v| v.to_str().expect("ascii").to_owned());
    let ct = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().expect("ascii").to_owned());
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    let body = if status == StatusCode::OK {
        serde_json::from_slice(&bytes).unwrap_or(Value::Null)
    } else {
        assert_eq!(ct.as_deref(), Some("application/json"), "{status}");
        serde_json::from_slice(&bytes).expect("JSON error body")
    };
    (status, retry, body)
}

fn upload(peer: u8, len: usize) -> Request<Body> {
    from_peer(
        peer,
        "POST",
        "/v1/documents/verify",
        Some(len),
        Body::from(vec![b'%'; len]),
    )
}

#[tokio::test]
async fn uploads_beyond_the_budget_are_busy_until_it_is_returned() {
    let tv = TestVault::open(None).await;
    let app = sidian::api::app_with(
        tv.vault.clone(),
        Limits {
            upload_budget: 3 * MIB,
            upload_per_peer: 2 * MIB,
            ..Limits::default()
        },
    );
    // Peer 1 starts a 2 MiB upload and sends only its first chunk.
    let (body, feed, started) = trickle();
    let first = tokio::spawn({
        let app = app.clone();
        async move {
            answer(
                &app,
                from_peer(1, "POST", "/v1/documents/verify", Some(2 * MIB), body),
            )
            .await
        }
    });
    feed.send(Bytes::from(vec![b'%'; MIB])).await.expect("send");
    started.await.expect("the first upload is being read");

    // A second large upload, from another peer, does not fit the budget: refused unread.
    let (status, retry, body) = answer(&app, upload(2, 2 * MIB)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"]["code"], "busy");
    assert!(retry.is_some_and(|r| r.parse::<u64>().is_ok_and(|s| s >= 1)));
    // A small one from the first peer fits the budget but not that peer's share.
    let (status, _, body) = answer(&app, upload(1, MIB)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"]["code"], "busy");
    // …while a small one from a third peer is admitted.
    let (status, _, body) = answer(&app, upload(3, MIB / 2)).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // The first upload ends; its share returns and the refused upload now goes through.
    feed.send(Bytes::from(vec![b'%'; MIB])).await.expect("send");
    drop(feed);
    let (status, _, body) = first.await.expect("first upload");
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _, body) = answer(&app, upload(2, 2 * MIB)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["verdict"].is_string(), "{body}");

    // An upload larger than the budget itself can never be admitted: busy, not held.
    let (status, _, body) = answer(&app, upload(4, 3 * MIB + 1)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
}

#[tokio::test]
async fn a_body_without_length_reserves_the_route_maximum() {
    let tv = TestVault::open(None).await;
    // A budget smaller than the 32 MiB route maximum: a body of unknown length is refused.
    let app = sidian::api::app_with(
        tv.vault.clone(),
        Limits {
            upload_budget: 8 * MIB,
            upload_per_peer: 8 * MIB,
            ..Limits::default()
        },
    );
    let req = from_peer(
        1,
        "POST",
        "/v1/documents/verify",
        None,
        Body::from(vec![b'%'; 100]),
    );
    let (status, _, body) = answer(&app, req).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let (status, _, body) = answer(&app, upload(1, 100)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn anonymous_routes_are_rate_limited_per_peer() {
    let tv = TestVault::open(None).await;
    let app = sidian::api::app_with(
        tv.vault.clone(),
        Limits {
            rate_per_sec: 0.001,
            rate_burst: 3,
            ..Limits::default()
        },
    );
    let get = |peer, path: &str| from_peer(peer, "GET", path, None, Body::empty());
    for path in [
        "/v1/trust-list",
        "/v1/audit/checkpoint",
        "/v1/pki/crl/sm2-root",
    ] {
        let (status, _, body) = answer(&app, get(1, path)).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
    }
    for path in [
        "/v1/trust-list",
        "/v1/licences/1.2.156.3005.2.X/verify",
        "/v1/documents/verify",
        "/v1/ses/verify",
    ] {
        let method = if path.starts_with("/v1/documents") || path.starts_with("/v1/ses") {
            "POST"
        } else {
            "GET"
        };
        let (status, retry, body) =
            answer(&app, from_peer(1, method, path, None, Body::empty())).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{path}: {body}");
        assert_eq!(body["error"]["code"], "rate_limited");
        assert!(
            retry.is_some_and(|r| r.parse::<u64>().is_ok_and(|s| s >= 1)),
            "{path}: Retry-After"
        );
    }
    // Another peer has its own bucket; liveness and authenticated routes are not limited.
    let (status, _, body) = answer(&app, get(2, "/v1/trust-list")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let resp = app
        .clone()
        .oneshot(get(1, "/healthz"))
        .await
        .expect("infallible");
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = app
        .clone()
        .oneshot(get(1, "/v1/keys/key_x"))
        .await
        .expect("infallible");
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}
