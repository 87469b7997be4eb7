//! The record of uses (`licence_uses`): every check of a genuine presentation token is
//! written before its answer goes out, so a holder's list of uses misses none that was answered.
//! Under `serve` a task gathers the checks that arrive while the previous transaction commits
//! and handles them together (group commit, as the ledger does for audited changes): one
//! statement reads the live status of every licence the batch's codes name, each check is
//! decided against what it read, and one durable commit records them all. A check therefore
//! costs no database round trip of its own, and its verdict is the status at the moment of the
//! batch, read after the check arrived. (Reading the next batch while the previous one commits
//! was tried: with the commit's fsync the larger part, it made batches smaller and was no
//! faster.) These rows are not audit entries: a check changes no
//! state, and the log would grow by one entry for every scan of every code.

use std::collections::HashMap;

use tokio::sync::{mpsc, oneshot};

use crate::error::{Error, Result};
use crate::store::{PresentedLicence, Store, UseRow};

/// Most jobs handled in one transaction.
const MAX_BATCH: usize = 1024;

/// Decides a check from the licence its handle stands for (read in the batch): the row to
/// record, or `None` to record nothing.
pub(crate) type Decide =
    Box<dyn FnOnce(Option<&PresentedLicence>) -> Result<Option<UseRow>> + Send>;

type Waiter = oneshot::Sender<Result<Option<PresentedLicence>>>;

/// What the recording task is asked to do.
enum Job {
    /// Record a use decided beforehand.
    Record(Box<UseRow>),
    /// Read the licence a handle stands for, decide, record.
    Check(String, Decide),
}

/// The queue in front of the recording task.
#[derive(Debug, Clone)]
pub(crate) struct Recorder {
    tx: mpsc::Sender<(Job, Waiter)>,
}

impl Recorder {
    /// Starts the recording task on the current runtime; the receiver fires when it has written
    /// everything queued, which happens once every `Recorder` is dropped.
    pub(crate) fn start(store: Store) -> (Self, oneshot::Receiver<()>) {
        let (tx, rx) = mpsc::channel(8 * MAX_BATCH);
        let (done_tx, done_rx) = oneshot::channel();
        tokio::spawn(async move {
            run(store, rx).await;
            let _ = done_tx.send(());
        });
        (Self { tx }, done_rx)
    }

    /// Records a use and waits until it is committed.
    pub(crate) async fn record(&self, row: UseRow) -> Result<()> {
        self.send(Job::Record(Box::new(row))).await.map(|_| ())
    }

    /// Reads the licence `handle` stands for, lets `decide` make the row, and waits until it is
    /// committed; the licence as read.
    pub(crate) async fn check(
        &self,
        handle: String,
        decide: Decide,
    ) -> Result<Option<PresentedLicence>> {
        self.send(Job::Check(handle, decide)).await
    }

    async fn send(&self, job: Job) -> Result<Option<PresentedLicence>> {
        let (done, wait) = oneshot::channel();
        self.tx
            .send((job, done))
            .await
            .map_err(|_| Error::Unavailable)?;
        wait.await.map_err(|_| Error::Unavailable)?
    }
}

/// Without the recording task (outside `serve`): the same steps for one check.
pub(crate) async fn check_now(
    store: &Store,
    handle: &str,
    decide: Decide,
) -> Result<Option<PresentedLicence>> {
    let licence = store.presented_licences(&[handle]).await?.remove(handle);
    if let Some(row) = decide(licence.as_ref())? {
        store.insert_uses(std::slice::from_ref(&row)).await?;
    }
    Ok(licence)
}

async fn run(store: Store, mut rx: mpsc::Receiver<(Job, Waiter)>) {
    let mut jobs = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.recv().await {
        jobs.push(first);
        while jobs.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        if let Some(batch) = decide(&store, &mut jobs).await {
            write(&store, batch).await;
        }
    }
}

/// A batch decided and waiting for its commit: the rows, and each job's answer once committed.
struct Decided {
    rows: Vec<UseRow>,
    answers: Vec<(Waiter, Result<Option<PresentedLicence>>)>,
}

/// One batch: one read of the licences its checks name, then their decisions (`None` when the
/// read failed: every job was answered with the error).
async fn decide(store: &Store, jobs: &mut Vec<(Job, Waiter)>) -> Option<Decided> {
    let handles: Vec<&str> = jobs
        .iter()
        .filter_map(|(job, _)| match job {
            Job::Check(h, _) => Some(h.as_str()),
            Job::Record(_) => None,
        })
        .collect();
    let read = if handles.is_empty() {
        Ok(HashMap::new())
    } else {
        store.presented_licences(&handles).await
    };
    let licences = match read {
        Ok(map) => map,
        Err(e) => {
            tracing::error!(error = %e, batch = jobs.len(), "reading the checked licences failed");
            for (_, w) in jobs.drain(..) {
                let _ = w.send(Err(Error::Unavailable));
            }
            return None;
        }
    };
    let mut rows = Vec::with_capacity(jobs.len());
    let mut answers = Vec::with_capacity(jobs.len());
    for (job, waiter) in jobs.drain(..) {
        let answer = match job {
            Job::Record(row) => {
                rows.push(*row);
                Ok(None)
            }
            Job::Check(handle, decide) => {
                // Several codes of one licence may be in a batch: each gets the licence.
                let licence = licences.get(&handle).cloned();
                match decide(licence.as_ref()) {
                    Ok(Some(row)) => {
                        rows.push(row);
                        Ok(licence)
                    }
                    Ok(None) => Ok(licence),
                    Err(e) => Err(e),
                }
            }
        };
        answers.push((waiter, answer));
    }
    Some(Decided { rows, answers })
}

/// Commits a decided batch in one transaction, then answers its jobs.
async fn write(store: &Store, batch: Decided) {
    let written = if batch.rows.is_empty() {
        Ok(())
    } else {
        store.insert_uses(&batch.rows).await
    };
    if let Err(e) = &written {
        tracing::error!(error = %e, batch = batch.rows.len(), "recording checks failed; none of the batch was written");
    }
    for (w, answer) in batch.answers {
        let _ = w.send(match (&written, answer) {
            (Ok(()), answer) => answer,
            (Err(_), _) => Err(Error::Unavailable),
        });
    }
}
