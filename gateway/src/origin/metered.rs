//! An [`Origin`] wrapper that counts and times every origin request, and caps how many run at
//! once (`origin.max_connections`): a request waits for a slot at most `origin_timeout`, then
//! fails as a timeout. A GET keeps its slot until its body is read or dropped.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::{GetOptions, GetResponse, Listed, Location, ObjectMeta, Origin, OriginError};
use crate::metrics::Metrics;

pub struct Metered {
    inner: Arc<dyn Origin>,
    metrics: Metrics,
    slots: Arc<Semaphore>,
    wait: Duration,
}

impl Metered {
    pub fn new(inner: Arc<dyn Origin>, metrics: Metrics, max_concurrent: usize, wait: Duration) -> Metered {
        Metered { inner, metrics, slots: Arc::new(Semaphore::new(max_concurrent.max(1))), wait }
    }

    async fn slot(&self) -> Result<OwnedSemaphorePermit, OriginError> {
        match tokio::time::timeout(self.wait, self.slots.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            // Waiting longer than one origin request may take; the semaphore is never closed.
            Ok(Err(_)) | Err(_) => {
                self.metrics.origin_requests_total.with_label_values(&["timeout"]).inc();
                Err(OriginError::Timeout)
            }
        }
    }

    fn record<T>(&self, start: Instant, r: &Result<T, OriginError>) {
        self.metrics.origin_duration.observe(start.elapsed().as_secs_f64());
        let outcome = match r {
            Ok(_) => "ok",
            Err(e) => e.outcome(),
        };
        self.metrics.origin_requests_total.with_label_values(&[outcome]).inc();
    }
}

#[async_trait]
impl Origin for Metered {
    async fn get(&self, at: Location<'_>, opts: &GetOptions) -> Result<GetResponse, OriginError> {
        let permit = self.slot().await?;
        let start = Instant::now();
        let r = self.inner.get(at, opts).await;
        self.record(start, &r);
        match r {
            Ok(GetResponse::Body { meta, range, body }) => {
                // The slot is released with the body stream.
                let body = Box::pin(body.map(move |chunk| {
                    let _held = &permit;
                    chunk
                }));
                Ok(GetResponse::Body { meta, range, body })
            }
            other => other,
        }
    }

    async fn head(&self, at: Location<'_>) -> Result<ObjectMeta, OriginError> {
        let _slot = self.slot().await?;
        let start = Instant::now();
        let r = self.inner.head(at).await;
        self.record(start, &r);
        r
    }

    async fn put(&self, at: Location<'_>, body: Bytes, content_type: &str) -> Result<(), OriginError> {
        let _slot = self.slot().await?;
        let start = Instant::now();
        let r = self.inner.put(at, body, content_type).await;
        self.record(start, &r);
        r
    }

    async fn delete(&self, at: Location<'_>) -> Result<(), OriginError> {
        let _slot = self.slot().await?;
        let start = Instant::now();
        let r = self.inner.delete(at).await;
        self.record(start, &r);
        r
    }

    async fn list(&self, bucket: &str, prefix: &str, max: usize) -> Result<Vec<Listed>, OriginError> {
        let _slot = self.slot().await?;
        let start = Instant::now();
        let r = self.inner.list(bucket, prefix, max).await;
        self.record(start, &r);
        r
    }

    async fn delete_prefix(
        &self,
        bucket: &str,
        prefix: &str,
        direct_only: bool,
        max: usize,
    ) -> Result<usize, OriginError> {
        let _slot = self.slot().await?;
        let start = Instant::now();
        let r = self.inner.delete_prefix(bucket, prefix, direct_only, max).await;
        self.record(start, &r);
        r
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// An origin whose HEADs take 50 ms, recording how many run at once.
    struct Slow {
        now: AtomicUsize,
        most: AtomicUsize,
    }

    #[async_trait]
    impl Origin for Slow {
        async fn get(&self, _: Location<'_>, _: &GetOptions) -> Result<GetResponse, OriginError> {
            Err(OriginError::NotFound)
        }
        async fn head(&self, _: Location<'_>) -> Result<ObjectMeta, OriginError> {
            let n = self.now.fetch_add(1, Ordering::SeqCst) + 1;
            self.most.fetch_max(n, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(50)).await;
            self.now.fetch_sub(1, Ordering::SeqCst);
            Ok(ObjectMeta::default())
        }
        async fn put(&self, _: Location<'_>, _: Bytes, _: &str) -> Result<(), OriginError> {
            Ok(())
        }
        async fn delete(&self, _: Location<'_>) -> Result<(), OriginError> {
            Ok(())
        }
        async fn list(&self, _: &str, _: &str, _: usize) -> Result<Vec<Listed>, OriginError> {
            Ok(Vec::new())
        }
        async fn delete_prefix(&self, _: &str, _: &str, _: bool, _: usize) -> Result<usize, OriginError> {
            Ok(0)
        }
    }

    #[tokio::test]
    async fn at_most_max_concurrent_requests_and_a_bounded_wait() {
        let slow = Arc::new(Slow { now: AtomicUsize::new(0), most: AtomicUsize::new(0) });
        let m = Arc::new(Metered::new(slow.clone(), Metrics::new(), 2, Duration::from_secs(5)));
        let at = || Location { bucket: "b", key: "k" };
        let runs: Vec<_> = (0..6)
            .map(|_| {
                let m = m.clone();
                tokio::spawn(async move { m.head(at()).await.map(|_| ()) })
            })
            .collect();
        for r in runs {
            r.await.unwrap().unwrap();
        }
        assert_eq!(slow.most.load(Ordering::SeqCst), 2);
        // With every slot taken longer than the wait allows: a timeout.
        let m = Arc::new(Metered::new(slow, Metrics::new(), 1, Duration::from_millis(10)));
        let busy = {
            let m = m.clone();
            tokio::spawn(async move { m.head(at()).await.map(|_| ()) })
        };
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert_eq!(m.head(at()).await.err(), Some(OriginError::Timeout));
        busy.await.unwrap().unwrap();
    }
}
