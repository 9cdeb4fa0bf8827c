//! The bounded CPU pool: `server.workers` threads and a queue of `server.queue` jobs. Pixel
//! work runs here, never on Pingora's threads. A full queue is refused at once (503 SlowDown)
//! rather than letting latency grow without bound; a panic in a job answers that job only.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::metrics::Metrics;

type Job = Box<dyn FnOnce() + Send + 'static>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PoolError {
    /// Every worker is busy and the queue is full.
    Overloaded,
    /// The job panicked; the text is for the log.
    Panicked(String),
    /// The pool is shutting down.
    Closed,
}

pub struct Pool {
    tx: SyncSender<(Instant, Job)>,
    metrics: Metrics,
}

impl Pool {
    pub fn new(workers: usize, queue: usize, metrics: Metrics) -> std::io::Result<Pool> {
        let (tx, rx) = sync_channel::<(Instant, Job)>(queue);
        let rx: Arc<Mutex<Receiver<(Instant, Job)>>> = Arc::new(Mutex::new(rx));
        for i in 0..workers.max(1) {
            let rx = rx.clone();
            let m = metrics.clone();
            std::thread::Builder::new().name(format!("pixgate-worker-{i}")).spawn(move || {
                loop {
                    let next = match rx.lock() {
                        Ok(guard) => guard.recv(),
                        Err(_) => return,
                    };
                    let Ok((queued_at, job)) = next else { return };
                    m.queue_depth.dec();
                    m.stage_duration.with_label_values(&["queue"]).observe(queued_at.elapsed().as_secs_f64());
                    m.workers_busy.inc();
                    job();
                    m.workers_busy.dec();
                }
            })?;
        }
        Ok(Pool { tx, metrics })
    }

    /// Run `f` on a worker and wait for its result without blocking the caller's thread.
    pub async fn run<T, F>(&self, f: F) -> Result<T, PoolError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            // The requester gave up (deadline, disconnect) while the job waited: skip it.
            if done.is_closed() {
                return;
            }
            let r = std::panic::catch_unwind(AssertUnwindSafe(f));
            let _ = done.send(r);
        });
        self.metrics.queue_depth.inc();
        match self.tx.try_send((Instant::now(), job)) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                self.metrics.queue_depth.dec();
                return Err(PoolError::Overloaded);
            }
            Err(TrySendError::Disconnected(_)) => {
                self.metrics.queue_depth.dec();
                return Err(PoolError::Closed);
            }
        }
        match result.await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(panic)) => Err(PoolError::Panicked(panic_text(&panic))),
            Err(_) => Err(PoolError::Closed),
        }
    }
}

/// Memory for requests in flight: source bytes and pixel buffers are reserved before they are
/// allocated, in MiB, so that concurrent large images wait (or are refused) instead of taking
/// the process past its memory.
pub struct MemoryBudget {
    sem: Arc<tokio::sync::Semaphore>,
    total_mib: u32,
}

/// A reservation; the memory is given back when it is dropped.
pub type Reservation = tokio::sync::OwnedSemaphorePermit;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BudgetError {
    /// More than the whole budget: this request can never run.
    TooLarge { mib: u32, total_mib: u32 },
    /// Not available before the deadline.
    Busy,
}

impl MemoryBudget {
    pub fn new(bytes: u64) -> MemoryBudget {
        let total_mib = (bytes >> 20).clamp(1, u64::from(u32::MAX >> 4)) as u32;
        MemoryBudget { sem: Arc::new(tokio::sync::Semaphore::new(total_mib as usize)), total_mib }
    }

    pub async fn reserve(&self, bytes: u64, deadline: Instant) -> Result<Reservation, BudgetError> {
        let mib = bytes.div_ceil(1 << 20).max(1);
        if mib > u64::from(self.total_mib) {
            let mib = mib.min(u64::from(u32::MAX)) as u32;
            return Err(BudgetError::TooLarge { mib, total_mib: self.total_mib });
        }
        let wait = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(wait, self.sem.clone().acquire_many_owned(mib as u32)).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(BudgetError::Busy),
        }
    }

    /// MiB not reserved right now.
    pub fn available_mib(&self) -> usize {
        self.sem.available_permits()
    }
}

/// The message of a panic payload.
pub fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    #[tokio::test]
    async fn runs_jobs_and_survives_panics() {
        let pool = Pool::new(2, 4, Metrics::new()).unwrap();
        assert_eq!(pool.run(|| 6 * 7).await, Ok(42));
        let r: Result<(), _> = pool.run(|| panic!("boom")).await;
        assert_eq!(r, Err(PoolError::Panicked("boom".into())));
        assert_eq!(pool.run(|| 1).await, Ok(1), "the pool still works after a panic");
    }

    #[tokio::test]
    async fn the_memory_budget_waits_then_refuses() {
        let budget = MemoryBudget::new(10 << 20);
        let soon = Instant::now() + Duration::from_millis(50);
        let err = budget.reserve(11 << 20, soon).await.unwrap_err();
        assert_eq!(err, BudgetError::TooLarge { mib: 11, total_mib: 10 });
        let a = budget.reserve(6 << 20, soon).await.unwrap();
        assert_eq!(budget.available_mib(), 4);
        assert_eq!(budget.reserve(5 << 20, soon).await.unwrap_err(), BudgetError::Busy);
        drop(a);
        let later = Instant::now() + Duration::from_millis(50);
        assert!(budget.reserve(10 << 20, later).await.is_ok());
    }

    #[tokio::test]
    async fn a_full_queue_is_refused_at_once() {
        let pool = Arc::new(Pool::new(1, 1, Metrics::new()).unwrap());
        let release = Arc::new(AtomicBool::new(false));
        let started = Arc::new(AtomicBool::new(false));
        let (r1, s1) = (release.clone(), started.clone());
        let p = pool.clone();
        let busy = tokio::spawn(async move {
            p.run(move || {
                s1.store(true, Ordering::SeqCst);
                while !r1.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(1));
                }
            })
            .await
        });
        while !started.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        // One job may wait in the queue; the next is refused.
        let p = pool.clone();
        let queued = tokio::spawn(async move { p.run(|| 2).await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(pool.run(|| 3).await, Err(PoolError::Overloaded));
        release.store(true, Ordering::SeqCst);
        assert_eq!(busy.await.unwrap(), Ok(()));
        assert_eq!(queued.await.unwrap(), Ok(2));
    }
}
