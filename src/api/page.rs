//! Paged lists: `limit` and an opaque `cursor` in the query, `{"items", "next_cursor"}` in the
//! answer, in creation order then id (keyset pagination: a page is never shifted by rows made
//! or removed meanwhile).

use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64URL};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use utoipa::IntoParams;

use crate::error::Error;

/// Items per page without `limit`.
const DEFAULT_LIMIT: u32 = 50;

/// Most items per page.
const MAX_LIMIT: u32 = 200;

/// Longest id a cursor may name (ids are short random strings).
const MAX_ID: usize = 64;

/// Which page of a list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct PageQuery {
    /// Items per page: 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u32>,
    /// Where to continue: the `next_cursor` of the previous page (absent for the first page).
    cursor: Option<String>,
}

/// A validated page request: how many items, after which `(created_at, id)` position.
#[derive(Debug)]
pub(crate) struct Page {
    /// Items per page.
    pub(crate) limit: u32,
    /// The position the page starts after.
    after: Option<(i64, String)>,
}

impl<S: Send + Sync> FromRequestParts<S> for Page {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        let query: Result<Query<PageQuery>, QueryRejection> =
            Query::from_request_parts(parts, state).await;
        let Query(q) = query.map_err(|e| Error::InvalidRequest(e.body_text()))?;
        Self::new(q.limit, q.cursor.as_deref())
    }
}

impl Page {
    /// The page a `limit` and `cursor` name, for lists whose query has further parameters.
    pub(crate) fn new(limit: Option<u32>, cursor: Option<&str>) -> Result<Self, Error> {
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(Error::InvalidRequest(format!(
                "`limit` must be 1 to {MAX_LIMIT}"
            )));
        }
        let after = cursor.map(decode_cursor).transpose()?;
        Ok(Self { limit, after })
    }

    /// The position to read after, as the store takes it.
    pub(crate) fn after(&self) -> Option<(i64, &str)> {
        self.after.as_ref().map(|(at, id)| (*at, id.as_str()))
    }

    /// How many rows to read: one more than the page, to learn whether another page follows.
    pub(crate) fn fetch(&self) -> u32 {
        self.limit + 1
    }

    /// Cuts the rows read to the page and gives the cursor of the next page, if there is one.
    pub(crate) fn finish<T>(
        &self,
        mut rows: Vec<T>,
        position: impl Fn(&T) -> (i64, &str),
    ) -> (Vec<T>, Option<String>) {
        let limit = usize::try_from(self.limit).unwrap_or(usize::MAX);
        if rows.len() <= limit {
            return (rows, None);
        }
        rows.truncate(limit);
        let next = rows.last().map(|last| {
            let (at, id) = position(last);
            encode_cursor(at, id)
        });
        (rows, next)
    }
}

/// Bytes of SHA-256 that end a cursor: a cursor cut or edited by mistake is refused rather than
/// read as another position. (Not a secret: a forged cursor only positions the caller in its
/// own list.)
const CHECK: usize = 8;

/// `created_at.id` and its check, base64url.
fn encode_cursor(created_at: i64, id: &str) -> String {
    let mut raw = format!("{created_at}.{id}").into_bytes();
    let check = Sha256::digest(&raw);
    raw.extend_from_slice(&check[..CHECK]);
    B64URL.encode(raw)
}

fn decode_cursor(cursor: &str) -> Result<(i64, String), Error> {
    let raw = B64URL.decode(cursor).map_err(|_| Error::InvalidCursor)?;
    let split = raw.len().checked_sub(CHECK).ok_or(Error::InvalidCursor)?;
    let (text, check) = raw.split_at(split);
    if Sha256::digest(text)[..CHECK] != *check {
        return Err(Error::InvalidCursor);
    }
    let text = std::str::from_utf8(text).map_err(|_| Error::InvalidCursor)?;
    let (at, id) = text.split_once('.').ok_or(Error::InvalidCursor)?;
    let at = at.parse::<i64>().map_err(|_| Error::InvalidCursor)?;
    let id_ok = !id.is_empty()
        && id.len() <= MAX_ID
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !id_ok {
        return Err(Error::InvalidCursor);
    }
    Ok((at, id.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cursor of this text with a correct check.
    fn checked(text: &str) -> String {
        let mut raw = text.as_bytes().to_vec();
        raw.extend_from_slice(&Sha256::digest(text.as_bytes())[..CHECK]);
        B64URL.encode(raw)
    }

    #[test]
    fn cursors_round_trip_and_foreign_ones_are_refused() {
        let c = encode_cursor(1_700_000_000_123, "key_AbC-9");
        assert_eq!(
            decode_cursor(&c).expect("own cursor"),
            (1_700_000_000_123, "key_AbC-9".to_owned())
        );
        let long_id = format!("1.{}", "a".repeat(65));
        let mut bad: Vec<String> = ["", "!!", &c[..c.len() - 1], &c[1..]]
            .map(str::to_owned)
            .to_vec();
        bad.extend(["no-dot", "x.key", "1.", "1.a b", &long_id].map(checked));
        bad.push(B64URL.encode("1.key_a"));
        for bad in &bad {
            assert!(
                matches!(decode_cursor(bad), Err(Error::InvalidCursor)),
                "{bad}"
            );
        }
    }
}
