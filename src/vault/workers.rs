//! The threads that run jobs on untrusted input (document verification, laying out a PDF to
//! seal): one per core, each at a lower scheduling priority than the async runtime.
//!
//! Why not `spawn_blocking`: its threads are shared with the ledger's writer and run at the
//! process's priority, so a burst of large hostile uploads (docs/threats.md §3) keeps every core
//! busy and a health probe or a signing request waits behind it. Here the verifying threads are
//! niced (`NICE`) once at start — an unprivileged process may lower a thread's priority but never
//! raise it back, so the threads are kept for this work only — and the kernel runs the runtime's
//! threads first whenever both want a core. Throughput on an idle machine is unchanged.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};

/// How much lower than the process's the workers' priority is (nice +10: about a tenth of a
/// core's share when the runtime competes for it).
const NICE: i32 = 10;

type Job = Box<dyn FnOnce() + Send>;

/// A fixed pool of low-priority threads; dropping it lets them finish their queue and exit.
pub(crate) struct Workers {
    queue: Sender<Job>,
}

impl Workers {
    /// Starts `threads` workers (at least one).
    pub(crate) fn start(threads: usize) -> std::io::Result<Self> {
        let (queue, jobs) = channel::<Job>();
        let jobs = Arc::new(Mutex::new(jobs));
        for i in 0..threads.max(1) {
            let jobs = jobs.clone();
            std::thread::Builder::new()
                .name(format!("sidian-verify-{i}"))
                .spawn(move || work(&jobs))?;
        }
        Ok(Self { queue })
    }

    /// Runs `job` on a worker and waits for its result without blocking the runtime; a job that
    /// panics answers [`Error::Unavailable`] and its worker goes on with the next one.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T> {
        let (done, result) = tokio::sync::oneshot::channel();
        let waiting = crate::metrics::verification_waiting();
        let job: Job = Box::new(move || {
            drop(waiting);
            let _running = crate::metrics::verification_running();
            let _ = done.send(job());
        });
        self.queue.send(job).map_err(|_| Error::Unavailable)?;
        result.await.map_err(|_| Error::Unavailable)
    }
}

fn work(jobs: &Mutex<Receiver<Job>>) {
    lower_priority();
    loop {
        // The lock is held only while taking the next job, never while running it.
        let next = match jobs.lock() {
            Ok(jobs) => jobs.recv(),
            Err(_) => return,
        };
        let Ok(job) = next else { return };
        // A panicking job (a parser bug on hostile input) drops its answer channel, which the
        // caller sees; the worker itself stays.
        let _ = catch_unwind(AssertUnwindSafe(job));
    }
}

/// Lowers this thread's priority by [`NICE`] (on Linux the priority is per thread, so the
/// process's other threads keep theirs).
fn lower_priority() {
    let this = Some(rustix::thread::gettid());
    let lowered = rustix::process::getpriority_process(this)
        .and_then(|now| rustix::process::setpriority_process(this, (now + NICE).min(19)));
    if let Err(e) = lowered {
        tracing::warn!(error = %e, "could not lower the verification threads' priority");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn jobs_run_off_the_runtime_at_a_lower_priority_and_survive_a_panic() {
        let workers = Workers::start(1).expect("start");
        let priority = || rustix::process::getpriority_process(Some(rustix::thread::gettid()));
        let here = priority().expect("getpriority");
        let there = workers
            .run(priority)
            .await
            .expect("ran")
            .expect("getpriority");
        assert_eq!(there, (here + NICE).min(19));
        let panicked = workers.run(|| -> u8 { panic!("hostile input") }).await;
        assert!(matches!(panicked, Err(Error::Unavailable)));
        // The one worker is still there for the next job.
        assert_eq!(workers.run(|| 7).await.expect("ran"), 7);
    }
}
