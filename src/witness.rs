//! An independent witness of a vault's audit log (`sidian audit watch`): it trusts nothing of
//! the vault but a pinned audit public key, fetches the newest checkpoint over HTTP, checks its
//! signature and that it extends the last checkpoint it accepted (by a consistency proof from
//! the server, verified here), and keeps that checkpoint in a state file.
//!
//! Whoever can rewrite the vault's data directory can truncate the log and every copy of its
//! checkpoints there; they cannot make a checkpoint the witness already holds disappear, so a
//! rollback or a fork shows at the witness's next check (docs/audit-witness.md).

use std::path::Path;
use std::time::Duration;

use base64::{Engine, engine::general_purpose::STANDARD as B64};
use hyper::{Method, StatusCode};
use serde::{Deserialize, Serialize};

use crate::audit::{Checkpoint, Hash, verify_consistency};
use crate::crypto::PublicKey;
use crate::plain_http;

/// Limit on one exchange with the log.
const TIMEOUT: Duration = Duration::from_secs(30);
/// Largest answer read (a checkpoint or a proof is a few KiB).
const MAX_RESPONSE: usize = 1024 * 1024;

/// What the witness keeps between checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WitnessState {
    /// The log's origin (first line of its checkpoints).
    pub origin: String,
    /// The pinned audit public key (PEM).
    pub public_key_pem: String,
    /// Size of the newest accepted checkpoint.
    pub size: u64,
    /// The newest accepted checkpoint as a C2SP signed note (what `audit verify --against` reads).
    pub signed_note: String,
}

/// Where the pinned key came from on a first check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    /// The state file (every check after the first).
    State,
    /// The operator's `--key` file.
    Given,
    /// The server's own answer: trust on first use.
    FirstUse,
}

/// What one check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    /// The size held before (None on a first check).
    pub previous: Option<u64>,
    /// The size accepted now.
    pub size: u64,
    /// Its root.
    pub root: Hash,
    /// Where the key that verified it came from.
    pub key_source: KeySource,
    /// That key (PEM), pinned in the state file.
    pub public_key_pem: String,
}

/// Why a check failed. [`WitnessError::is_alert`] tells misbehaviour of the log apart from a
/// check that could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WitnessError {
    /// The log could not be reached or answered with an error status.
    #[error("cannot fetch from the log: {0}")]
    Unreachable(String),
    /// The state or key file cannot be read or written.
    #[error("witness state: {0}")]
    State(String),
    /// The served checkpoint is malformed or not signed by the pinned key.
    #[error("the served checkpoint is not signed by the pinned audit key: {0}")]
    BadCheckpoint(String),
    /// The served checkpoint is of another log.
    #[error("the served checkpoint is of another log: origin {served}, pinned {pinned}")]
    OtherLog {
        /// Origin pinned in the state.
        pinned: String,
        /// Origin served.
        served: String,
    },
    /// The log is smaller than a checkpoint it signed before.
    #[error(
        "ROLLBACK: the log now claims {served} entries but signed a checkpoint of {stored}; served checkpoint:\n{note}"
    )]
    Rollback {
        /// Size held by the witness.
        stored: u64,
        /// Size served now.
        served: u64,
        /// The served signed note (evidence).
        note: String,
    },
    /// Two signed checkpoints of one size with different roots.
    #[error(
        "FORK: two signed checkpoints of size {size} state different roots; served checkpoint:\n{note}"
    )]
    Fork {
        /// The size.
        size: u64,
        /// The served signed note (evidence).
        note: String,
    },
    /// The newer checkpoint does not extend the one held (no valid consistency proof).
    #[error(
        "FORK: the checkpoint of size {to} does not extend the one of size {from} held here (consistency proof fails); served checkpoint:\n{note}"
    )]
    Inconsistent {
        /// Size held.
        from: u64,
        /// Size served.
        to: u64,
        /// The served signed note (evidence).
        note: String,
    },
}

impl WitnessError {
    /// Whether the log misbehaved (as opposed to the check not being possible).
    pub fn is_alert(&self) -> bool {
        !matches!(self, Self::Unreachable(_) | Self::State(_))
    }
}

/// Reads the state file; None when it does not exist yet.
pub fn load_state(path: &Path) -> Result<Option<WitnessState>, WitnessError> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text).map(Some).map_err(|e| {
            WitnessError::State(format!("{} is not a state file: {e}", path.display()))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(WitnessError::State(format!("{}: {e}", path.display()))),
    }
}

/// Writes the state file whole (a temporary file renamed over it), so a crash leaves the old one.
fn save_state(path: &Path, state: &WitnessState) -> Result<(), WitnessError> {
    let io = |e: std::io::Error| WitnessError::State(format!("{}: {e}", path.display()));
    let mut text =
        serde_json::to_vec_pretty(state).map_err(|e| WitnessError::State(e.to_string()))?;
    text.push(b'\n');
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    std::fs::write(&tmp, text).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

/// GETs `path` of the log at `base` and parses the JSON answer.
async fn get_json(base: &str, path: &str) -> Result<serde_json::Value, WitnessError> {
    let url = format!("{}{path}", base.trim_end_matches('/'));
    let (status, body) = plain_http::exchange(plain_http::Request {
        method: Method::GET,
        url: &url,
        headers: &[("accept", "application/json")],
        body: &[],
        max_response: MAX_RESPONSE,
        timeout: TIMEOUT,
    })
    .await
    .map_err(|e| WitnessError::Unreachable(format!("{url}: {e}")))?;
    if status != StatusCode::OK {
        return Err(WitnessError::Unreachable(format!(
            "{url}: HTTP {status}: {}",
            String::from_utf8_lossy(&body)
        )));
    }
    serde_json::from_slice(&body)
        .map_err(|e| WitnessError::Unreachable(format!("{url}: not JSON: {e}")))
}

/// One check of the log at `base` (`http://host[:port]`): fetch its newest checkpoint, verify it
/// and its consistency with the one in `state_file`, and store it there.
///
/// The key is the state file's; on a first check `key_pem` (the operator's copy of the vault's
/// `audit-key.pem`), or else the one the server names (trust on first use: the caller should
/// say so loudly). A `key_pem` that differs from the state file's is refused.
pub async fn check(
    base: &str,
    state_file: &Path,
    key_pem: Option<&str>,
) -> Result<Observation, WitnessError> {
    let state = load_state(state_file)?;
    let answer = get_json(base, "/v1/audit/checkpoint").await?;
    let (pem, key_source) = match (&state, key_pem) {
        (Some(s), given) => {
            if let Some(given) = given
                && given.trim() != s.public_key_pem.trim()
            {
                return Err(WitnessError::State(
                    "--key differs from the key pinned in the state file".into(),
                ));
            }
            (s.public_key_pem.clone(), KeySource::State)
        }
        (None, Some(given)) => (given.to_owned(), KeySource::Given),
        (None, None) => (
            str_field(&answer, "public_key_pem")?.to_owned(),
            KeySource::FirstUse,
        ),
    };
    let key = PublicKey::from_pem(&pem)
        .map_err(|e| WitnessError::State(format!("the audit key is not a public key: {e}")))?;
    let note = str_field(&answer, "signed_note")?;
    let served = Checkpoint::from_signed_note(note, &key)
        .map_err(|e| WitnessError::BadCheckpoint(e.to_string()))?;
    let (origin, root) = match (served.origin(), served.root()) {
        (Some(o), Some(r)) => (o.to_owned(), r),
        _ => return Err(WitnessError::BadCheckpoint("no origin or root".into())),
    };
    let previous = match &state {
        None => None,
        Some(s) => {
            if s.origin != origin {
                return Err(WitnessError::OtherLog {
                    pinned: s.origin.clone(),
                    served: origin,
                });
            }
            let held = Checkpoint::from_signed_note(&s.signed_note, &key)
                .ok()
                .and_then(|c| c.root().map(|r| (c.size, r)))
                .ok_or_else(|| {
                    WitnessError::State("the checkpoint in the state file does not verify".into())
                })?;
            check_extends(base, held, (served.size, root), note).await?;
            Some(held.0)
        }
    };
    if previous != Some(served.size) {
        save_state(
            state_file,
            &WitnessState {
                origin,
                public_key_pem: pem.clone(),
                size: served.size,
                signed_note: note.to_owned(),
            },
        )?;
    }
    Ok(Observation {
        previous,
        size: served.size,
        root,
        key_source,
        public_key_pem: pem,
    })
}

/// A string member of a JSON answer.
fn str_field<'a>(answer: &'a serde_json::Value, name: &str) -> Result<&'a str, WitnessError> {
    answer[name]
        .as_str()
        .ok_or_else(|| WitnessError::BadCheckpoint(format!("the answer has no `{name}`")))
}

/// Checks that the served tree `(to, new_root)` extends the held one `(from, old_root)`.
async fn check_extends(
    base: &str,
    (from, old_root): (u64, Hash),
    (to, new_root): (u64, Hash),
    note: &str,
) -> Result<(), WitnessError> {
    let evidence = || note.to_owned();
    if to < from {
        return Err(WitnessError::Rollback {
            stored: from,
            served: to,
            note: evidence(),
        });
    }
    if to == from {
        return if old_root == new_root {
            Ok(())
        } else {
            Err(WitnessError::Fork {
                size: to,
                note: evidence(),
            })
        };
    }
    let answer = get_json(base, &format!("/v1/audit/consistency?from={from}&to={to}")).await?;
    let proof = answer["proof"]
        .as_array()
        .map(|hashes| {
            hashes
                .iter()
                .map(|h| {
                    h.as_str()
                        .and_then(|s| B64.decode(s).ok())
                        .and_then(|b| Hash::try_from(b).ok())
                })
                .collect::<Option<Vec<_>>>()
        })
        .unwrap_or_default();
    match proof {
        Some(proof) if verify_consistency(from, to, &proof, &old_root, &new_root) => Ok(()),
        _ => Err(WitnessError::Inconsistent {
            from,
            to,
            note: evidence(),
        }),
    }
}
