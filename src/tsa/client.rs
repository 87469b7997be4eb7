//! Asking an external RFC 3161 TSA for a token over plain HTTP (RFC 3161 §3.4).
//!
//! Plain `http://` only: the vault ships no TLS stack, and a TSA token is itself signed, so
//! transport integrity adds nothing a verifier relies on. A TLS-only TSA is reached through a
//! local proxy. The answer is bounded in size and time and its token is checked against the
//! request (imprint, nonce) before use.

use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;

use super::{TimeStampReq, granted_token, verify_token};

/// Largest TSA answer read.
const MAX_RESPONSE: usize = 256 * 1024;

/// Why an external TSA gave no usable token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TsaClientError {
    /// The URL is not `http://host[:port]/path`.
    #[error("TSA URL must be http://host[:port]/path")]
    BadUrl,
    /// Connecting, sending or reading failed or took too long.
    #[error("TSA unreachable: {0}")]
    Transport(String),
    /// The TSA answered, but not with a granted token that matches the request.
    #[error("TSA answer unusable: {0}")]
    Rejected(String),
}

/// POSTs `req` to `url` and returns the granted token (ContentInfo DER).
pub async fn fetch_token(
    url: &str,
    req: &TimeStampReq,
    timeout: Duration,
) -> Result<Vec<u8>, TsaClientError> {
    let rest = url.strip_prefix("http://").ok_or(TsaClientError::BadUrl)?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.is_empty() || authority.contains('@') {
        return Err(TsaClientError::BadUrl);
    }
    let addr = if authority.contains(':') {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    };
    let transport = |e: &dyn std::fmt::Display| TsaClientError::Transport(e.to_string());
    let work = async {
        let stream = tokio::net::TcpStream::connect(&addr)
            .await
            .map_err(|e| transport(&e))?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| transport(&e))?;
        tokio::spawn(conn);
        let request = hyper::Request::post(path)
            .header(hyper::header::HOST, authority)
            .header(hyper::header::CONTENT_TYPE, "application/timestamp-query")
            .body(Full::new(Bytes::from(req.to_der())))
            .map_err(|e| transport(&e))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| transport(&e))?;
        if !response.status().is_success() {
            return Err(TsaClientError::Rejected(format!(
                "HTTP {}",
                response.status()
            )));
        }
        let body = Limited::new(response.into_body(), MAX_RESPONSE)
            .collect()
            .await
            .map_err(|e| transport(&e))?
            .to_bytes();
        Ok(body)
    };
    let body = tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| TsaClientError::Transport("timed out".into()))??;
    let token = granted_token(&body)
        .ok_or_else(|| TsaClientError::Rejected("not a granted TimeStampResp".into()))?
        .to_vec();
    let check = verify_token(&token, Some((req.hash_alg, &req.hashed_message)), &[]);
    if let Some(bad) = check.checks.iter().find(|c| !c.ok) {
        return Err(TsaClientError::Rejected(format!(
            "{}: {}",
            bad.name, bad.detail
        )));
    }
    Ok(token)
}
