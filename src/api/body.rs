//! Request bodies read with a limit into exactly sized buffers, rejecting with [`Error`]s.

use axum::body::Body;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, header};
use http_body_util::BodyExt;

use crate::error::Error;

/// The body's `Content-Length`, refused at once when it exceeds `max`.
pub(super) fn declared_length(headers: &HeaderMap, max: usize) -> Result<Option<usize>, Error> {
    let Some(value) = headers.get(header::CONTENT_LENGTH) else {
        return Ok(None);
    };
    let n = value
        .to_str()
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .ok_or_else(|| Error::InvalidRequest("Content-Length is not a number".into()))?;
    match usize::try_from(n) {
        Ok(n) if n <= max => Ok(Some(n)),
        _ => Err(Error::PayloadTooLarge(max)),
    }
}

/// Reads a body of at most `max` bytes. With a declared length the buffer is allocated once at
/// that size: growing a 30 MB buffer by doubling leaves freed blocks the allocator keeps.
pub(super) async fn read_body(
    body: Body,
    declared: Option<usize>,
    max: usize,
) -> Result<Vec<u8>, Error> {
    let limit = declared.unwrap_or(max);
    let mut buf = Vec::with_capacity(declared.unwrap_or(0));
    let mut body = body;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| {
            Error::InvalidRequest("the request body could not be read to its end".into())
        })?;
        if let Ok(data) = frame.into_data() {
            if buf.len() + data.len() > limit {
                return Err(Error::PayloadTooLarge(max));
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(buf)
}

/// A raw request body of at most `MAX` bytes.
pub(crate) struct RawBody<const MAX: usize>(pub(crate) Vec<u8>);

impl<S: Send + Sync, const MAX: usize> FromRequest<S> for RawBody<MAX> {
    type Rejection = Error;

    async fn from_request(req: Request, _: &S) -> Result<Self, Error> {
        let declared = declared_length(req.headers(), MAX)?;
        Ok(Self(read_body(req.into_body(), declared, MAX).await?))
    }
}
