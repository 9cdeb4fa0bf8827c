//! An [`Origin`] wrapper that counts and times every origin request.

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use bytes::Bytes;

use super::{GetOptions, GetResponse, Location, ObjectMeta, Origin, OriginError};
use crate::metrics::Metrics;

pub struct Metered {
    inner: Arc<dyn Origin>,
    metrics: Metrics,
}

impl Metered {
    pub fn new(inner: Arc<dyn Origin>, metrics: Metrics) -> Metered {
        Metered { inner, metrics }
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
        let start = Instant::now();
        let r = self.inner.get(at, opts).await;
        self.record(start, &r);
        r
    }

    async fn head(&self, at: Location<'_>) -> Result<ObjectMeta, OriginError> {
        let start = Instant::now();
        let r = self.inner.head(at).await;
        self.record(start, &r);
        r
    }

    async fn put(&self, at: Location<'_>, body: Bytes, content_type: &str) -> Result<(), OriginError> {
        let start = Instant::now();
        let r = self.inner.put(at, body, content_type).await;
        self.record(start, &r);
        r
    }

    async fn delete_prefix(&self, bucket: &str, prefix: &str, max: usize) -> Result<usize, OriginError> {
        let start = Instant::now();
        let r = self.inner.delete_prefix(bucket, prefix, max).await;
        self.record(start, &r);
        r
    }
}
