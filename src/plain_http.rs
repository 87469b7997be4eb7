//! One plain-HTTP/1.1 exchange over tokio, for the vault's own outgoing calls (an external TSA,
//! the audit witness).
//!
//! Plain `http://` only: the vault ships no TLS stack, and what both callers fetch is signed, so
//! transport integrity adds nothing they rely on; a TLS-only server is reached through a local
//! proxy or tunnel. Answers are bounded in size and time.

use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::{Method, StatusCode};
use hyper_util::rt::TokioIo;

/// Why an exchange gave no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum HttpError {
    /// The URL is not `http://host[:port]/path`.
    #[error("URL must be http://host[:port]/path")]
    BadUrl,
    /// Connecting, sending or reading failed, took too long, or the answer was too large.
    #[error("{0}")]
    Transport(String),
}

/// What one request to send.
#[derive(Debug, Clone)]
pub(crate) struct Request<'a> {
    /// The method.
    pub(crate) method: Method,
    /// `http://host[:port]/path?query`.
    pub(crate) url: &'a str,
    /// Header name and value pairs besides `Host`.
    pub(crate) headers: &'a [(&'a str, &'a str)],
    /// The body (empty for none).
    pub(crate) body: &'a [u8],
    /// Largest answer body read.
    pub(crate) max_response: usize,
    /// Limit on the whole exchange.
    pub(crate) timeout: Duration,
}

/// Sends `req` and returns the answer's status and body.
pub(crate) async fn exchange(req: Request<'_>) -> Result<(StatusCode, Bytes), HttpError> {
    let Request {
        method,
        url,
        headers,
        body,
        max_response,
        timeout,
    } = req;
    let rest = url.strip_prefix("http://").ok_or(HttpError::BadUrl)?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.is_empty() || authority.contains('@') {
        return Err(HttpError::BadUrl);
    }
    let addr = if authority.contains(':') {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    };
    let transport = |e: &dyn std::fmt::Display| HttpError::Transport(e.to_string());
    let work = async {
        let stream = tokio::net::TcpStream::connect(&addr)
            .await
            .map_err(|e| transport(&e))?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| transport(&e))?;
        tokio::spawn(conn);
        let mut request = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header(hyper::header::HOST, authority);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request
            .body(Full::new(Bytes::copy_from_slice(body)))
            .map_err(|e| transport(&e))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| transport(&e))?;
        let status = response.status();
        let body = Limited::new(response.into_body(), max_response)
            .collect()
            .await
            .map_err(|e| transport(&e))?
            .to_bytes();
        Ok((status, body))
    };
    tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| HttpError::Transport("timed out".into()))?
}
