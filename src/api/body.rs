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

/// Bodies that may be larger than this get a buffer of [`UNMAPPED_ON_FREE`] bytes of address space.
const LARGE: usize = 1 << 20;

/// glibc serves a request this large with its own mmap and unmaps it on free, whatever its
/// adaptive threshold (which rises only up to 32 MiB, after a freed mapped block that size):
/// a 30 MB body in an arena would stay resident after the upload, arena by arena. Pages never
/// written cost no memory, so the unused capacity is address space only.
const UNMAPPED_ON_FREE: usize = (32 << 20) + (64 << 10);

/// Bytes read between two yields to the scheduler. A fast sender keeps the socket ready, and
/// tokio's cooperative budget lets one task read many megabytes in one turn, while `/healthz`
/// and every other request queued on that worker wait.
const YIELD_EVERY: usize = 1 << 20;

/// Reads a body of at most `max` bytes into one buffer allocated once, never grown (a buffer
/// grown by doubling leaves freed blocks behind).
pub(super) async fn read_body(
    body: Body,
    declared: Option<usize>,
    max: usize,
) -> Result<Vec<u8>, Error> {
    let limit = declared.unwrap_or(max);
    let capacity = match declared {
        _ if limit > LARGE => limit.max(UNMAPPED_ON_FREE),
        Some(n) => n,
        // A small body of unknown length: grown as it comes.
        None => 0,
    };
    let mut buf = Vec::with_capacity(capacity);
    let mut body = body;
    let mut since_yield = 0;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| {
            Error::InvalidRequest("the request body could not be read to its end".into())
        })?;
        if let Ok(data) = frame.into_data() {
            if buf.len() + data.len() > limit {
                return Err(Error::PayloadTooLarge(max));
            }
            buf.extend_from_slice(&data);
            since_yield += data.len();
            if since_yield >= YIELD_EVERY {
                since_yield = 0;
                tokio::task::yield_now().await;
            }
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
