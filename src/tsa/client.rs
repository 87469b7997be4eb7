//! Asking an external RFC 3161 TSA for a token over plain HTTP (RFC 3161 §3.4).
//!
//! Plain `http://` only (`plain_http`): a TSA token is itself signed, so transport integrity adds
//! nothing a verifier relies on. The answer is bounded in size and time and its token is checked
//! against the request (imprint, nonce) before use.

use std::time::Duration;

use hyper::Method;

use super::{TimeStampReq, granted_token, verify_token};
use crate::plain_http::{self, HttpError};

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
    let der = req.to_der();
    let (status, body) = plain_http::exchange(plain_http::Request {
        method: Method::POST,
        url,
        headers: &[("content-type", "application/timestamp-query")],
        body: &der,
        max_response: MAX_RESPONSE,
        timeout,
    })
    .await
    .map_err(|e| match e {
        HttpError::BadUrl => TsaClientError::BadUrl,
        HttpError::Transport(m) => TsaClientError::Transport(m),
    })?;
    if !status.is_success() {
        return Err(TsaClientError::Rejected(format!("HTTP {status}")));
    }
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
