//! Request ids: the `X-Request-Id` a caller sends (when it is a short token) or one made here,
//! carried through the request's task in a task-local so that the ledger writes it into every
//! audit entry the request causes, and the access log names the authenticated client, without
//! passing either through every call.
//!
//! The scope lives in the task that serves the request: work the request hands to another task
//! (`spawn_blocking`, the ledger's writer thread) does not see it, which is why the ledger reads
//! the id when an operation is submitted, in the request's task.

use std::future::Future;
use std::sync::{Arc, OnceLock};

use ring::rand::{SecureRandom, SystemRandom};

/// The header that carries the id, in requests and responses.
pub const HEADER: &str = "x-request-id";

/// Longest id accepted from a caller; longer ones are replaced.
pub const MAX_LEN: usize = 128;

/// The audit detail that records the request an entry came from.
pub const AUDIT_DETAIL: &str = "request_id";

tokio::task_local! {
    static CURRENT: Arc<Scope>;
}

/// What one request carries through its task.
#[derive(Debug)]
pub struct Scope {
    id: String,
    client: OnceLock<String>,
}

impl Scope {
    /// A scope for the request of this id.
    pub fn new(id: String) -> Arc<Self> {
        Arc::new(Self {
            id,
            client: OnceLock::new(),
        })
    }

    /// The request id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The name of the client the request authenticated as, if it did.
    pub fn client(&self) -> Option<&str> {
        self.client.get().map(String::as_str)
    }

    /// Runs `f` in this scope.
    pub async fn run<F: Future>(self: Arc<Self>, f: F) -> F::Output {
        CURRENT.scope(self, f).await
    }
}

/// The caller's id if it is one we can log and echo safely (1 to [`MAX_LEN`] characters of
/// `A-Z a-z 0-9 - _ . : / + =`, enough for UUIDs, ULIDs and trace ids), else a new one.
pub fn accept_or_make(given: Option<&[u8]>) -> String {
    match given {
        Some(id) if acceptable(id) => String::from_utf8_lossy(id).into_owned(),
        _ => make(),
    }
}

fn acceptable(id: &[u8]) -> bool {
    (1..=MAX_LEN).contains(&id.len())
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:/+=".contains(b))
}

/// A new id: 128 random bits in lower-case hex.
pub fn make() -> String {
    let mut bytes = [0u8; 16];
    // The system RNG fails only when the OS has none; an all-zero id is then still a valid
    // (if unhelpful) id, and a request must not fail for want of one.
    let _ = SystemRandom::new().fill(&mut bytes);
    hex::encode(bytes)
}

/// The id of the request this task serves, if any.
pub fn current() -> Option<String> {
    CURRENT.try_with(|s| s.id.clone()).ok()
}

/// Records the client the current request authenticated as (first one wins).
pub fn set_client(name: &str) {
    let _ = CURRENT.try_with(|s| s.client.set(name.to_owned()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_short_plain_ids_are_kept() {
        assert_eq!(accept_or_make(Some(b"req-42.a:b")), "req-42.a:b");
        let uuid = "0f8fad5b-d9cb-469f-a165-70867728950e";
        assert_eq!(accept_or_make(Some(uuid.as_bytes())), uuid);
        for hostile in [
            &b""[..],
            b"a\nb",
            b"a b",
            b"\x1b[31mred",
            "é".as_bytes(),
            &[b'a'; MAX_LEN + 1],
        ] {
            let made = accept_or_make(Some(hostile));
            assert_ne!(made.as_bytes(), hostile);
            assert_eq!(made.len(), 32);
        }
        assert_ne!(accept_or_make(None), accept_or_make(None));
    }

    #[tokio::test]
    async fn the_scope_is_seen_only_inside_it() {
        assert_eq!(current(), None);
        let scope = Scope::new("abc".into());
        let inner = scope.clone().run(async {
            set_client("portal");
            current()
        });
        assert_eq!(inner.await.as_deref(), Some("abc"));
        assert_eq!(scope.client(), Some("portal"));
        assert_eq!(current(), None);
    }
}
