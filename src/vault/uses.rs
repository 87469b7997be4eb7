//! The record of checks (`licence_uses`): every check of a genuine presentation token is
//! written before its answer goes out, so a holder's list of uses misses none that was answered.
//! Under `serve` a task gathers the checks that arrive while the previous transaction commits
//! and writes them together (group commit, as the ledger does for audited changes): one durable
//! commit for many checks instead of one each. These rows are not audit entries: a check
//! changes no state, and the log would grow by one entry for every scan of every code.

use tokio::sync::{mpsc, oneshot};

use crate::error::{Error, Result};
use crate::store::{Store, UseRow};

/// Most checks written in one transaction.
const MAX_BATCH: usize = 1024;

type Waiter = oneshot::Sender<Result<()>>;

/// The queue in front of the recording task.
#[derive(Debug, Clone)]
pub(crate) struct Recorder {
    tx: mpsc::Sender<(UseRow, Waiter)>,
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

    /// Records a check and waits until it is committed.
    pub(crate) async fn record(&self, row: UseRow) -> Result<()> {
        let (done, wait) = oneshot::channel();
        self.tx
            .send((row, done))
            .await
            .map_err(|_| Error::Unavailable)?;
        wait.await.map_err(|_| Error::Unavailable)?
    }
}

async fn run(store: Store, mut rx: mpsc::Receiver<(UseRow, Waiter)>) {
    let mut rows = Vec::with_capacity(MAX_BATCH);
    let mut waiters = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.recv().await {
        let mut next = Some(first);
        while let Some((row, waiter)) = next.take() {
            rows.push(row);
            waiters.push(waiter);
            if rows.len() < MAX_BATCH {
                next = rx.try_recv().ok();
            }
        }
        let result = store.insert_uses(&rows).await;
        if let Err(e) = &result {
            tracing::error!(error = %e, batch = rows.len(), "recording checks failed; none of the batch was written");
        }
        for w in waiters.drain(..) {
            let _ = w.send(match &result {
                Ok(()) => Ok(()),
                Err(_) => Err(Error::Unavailable),
            });
        }
        rows.clear();
    }
}
