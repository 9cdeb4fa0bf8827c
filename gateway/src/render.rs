//! Sources and renders, without HTTP: the source bytes through the source cache (revalidated,
//! stale-if-error, coalesced), and a render checked once as a [`RenderPlan`] (the header's
//! probe and limits, the watermark objects, the memory it needs, reserved) and run on the
//! worker pool.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use pixgate_cache::{Outcome, Source, SourceKey, SourceMeta, Variant};
use pixgate_ops::codec;
use pixgate_ops::pipeline::{self, Assets, Plan};
use pixgate_ops::spec::Chain;

use crate::error::GatewayError;
use crate::origin::{self, BodyStream, GetOptions, GetResponse, Location, ObjectMeta, OriginError};
use crate::route::Object;
use crate::state::{Live, State};
use crate::worker::Reservation;

/// How long stale source bytes are served after a failed revalidation before the next try.
const STALE_IF_ERROR: Duration = Duration::from_secs(10);

/// Loads and renders for one request, within its deadline, on the request's configuration.
pub struct Renderer<'a> {
    state: &'a State,
    live: &'a Live,
    deadline: Instant,
}

/// A render whose inputs were all checked before any pixel exists.
pub struct RenderPlan {
    plan: Plan,
    /// The watermark objects by the key the chain names them.
    watermarks: Vec<(String, Arc<Source>)>,
    /// The pixel memory, held until the render ends (none for a lone `info`).
    _memory: Option<Reservation>,
}

/// A strong validator for a processed variant: the source's validator and the canonical chain
/// (styles already resolved), so a change to either gives a new ETag. FNV-1a with two seeds for
/// a stable 128-bit value (the same on every replica and every build).
pub fn variant_etag(source_validator: &str, canonical: &str) -> String {
    let parts: [&[u8]; 3] = [source_validator.as_bytes(), &[0], canonical.as_bytes()];
    let (a, b) = (
        pixgate_cache::fnv1a(0xcbf2_9ce4_8422_2325, &parts),
        pixgate_cache::fnv1a(0x6c62_272e_07bb_0142, &parts),
    );
    format!("\"{a:016x}{b:016x}\"")
}

impl<'a> Renderer<'a> {
    pub fn new(state: &'a State, live: &'a Live, deadline: Instant) -> Renderer<'a> {
        Renderer { state, live, deadline }
    }

    /// The source bytes: fresh from the source cache; stale → revalidated with a conditional
    /// GET (one per object at a time; if the origin fails, the stale bytes are served for a
    /// short while, like a CDN's stale-if-error, except when the object is gone); missing →
    /// fetched once for all concurrent requests. Counts the outcome in the source cache metric.
    pub async fn source(&self, skey: &SourceKey) -> Result<(Arc<Source>, Outcome), GatewayError> {
        let caches = &self.live.caches;
        let load = |stale: Option<Arc<Source>>| async move {
            match stale {
                None => self.fetch(skey).await,
                Some(old) => self.revalidate(skey, old).await,
            }
        };
        let (source, outcome) = caches.source(skey.clone(), load).await.map_err(|e| (*e).clone())?;
        self.state.metrics.cache_requests_total.with_label_values(&["source", outcome.as_str()]).inc();
        Ok((source, outcome))
    }

    async fn fetch(&self, skey: &SourceKey) -> Result<Arc<Source>, GatewayError> {
        let at = Location { bucket: &skey.bucket, key: &skey.key };
        match self.state.origin.get(at, &GetOptions::default()).await? {
            GetResponse::NotModified(_) => {
                Err(GatewayError::BadGateway("unasked 304 from the origin".into()))
            }
            GetResponse::Body { meta, body, .. } => Ok(Arc::new(self.read_source(meta, body).await?)),
        }
    }

    async fn revalidate(&self, skey: &SourceKey, old: Arc<Source>) -> Result<Arc<Source>, GatewayError> {
        let at = Location { bucket: &skey.bucket, key: &skey.key };
        let opts = GetOptions {
            if_none_match: old.etag.clone(),
            if_modified_since: if old.etag.is_none() { old.last_modified } else { None },
            ..GetOptions::default()
        };
        let renewed = || Arc::new(Source { checked_at: Instant::now(), ..(*old).clone() });
        match self.state.origin.get(at, &opts).await {
            Ok(GetResponse::NotModified(_)) => Ok(renewed()),
            // Some stores ignore conditional GETs: compare the validators here.
            Ok(GetResponse::Body { meta, .. })
                if origin::is_unchanged(opts.if_none_match.as_deref(), opts.if_modified_since, &meta) =>
            {
                Ok(renewed())
            }
            Ok(GetResponse::Body { meta, body, .. }) => Ok(Arc::new(self.read_source(meta, body).await?)),
            Err(e @ (OriginError::NotFound | OriginError::NoSuchBucket)) => Err(e.into()),
            Err(e) => {
                tracing::warn!(target: "pixgate::origin", bucket = &*skey.bucket, error = %e,
                    "revalidation failed: serving the cached source for a short while");
                let ttl = self.live.caches.ttl();
                let retry_in = STALE_IF_ERROR.min(ttl);
                let checked_at = Instant::now().checked_sub(ttl - retry_in).unwrap_or_else(Instant::now);
                Ok(Arc::new(Source { checked_at, ..(*old).clone() }))
            }
        }
    }

    /// Read a source body: refused from its size before reading; the bytes are reserved in the
    /// memory budget while they are read.
    async fn read_source(&self, meta: ObjectMeta, mut body: BodyStream) -> Result<Source, GatewayError> {
        let max = self.live.config.limits.max_source_bytes;
        let too_large = |size: String| GatewayError::ImageTooLarge {
            message: format!("The source image is {size} bytes; the limit is {max}."),
            ec: "0040-00000009",
        };
        if meta.size > max {
            return Err(too_large(meta.size.to_string()));
        }
        let _reservation = self.state.budget.reserve(meta.size, self.deadline).await?;
        let mut bytes = Vec::with_capacity(meta.size as usize);
        while let Some(chunk) = body.next().await {
            let chunk = chunk?;
            if (bytes.len() + chunk.len()) as u64 > max {
                return Err(too_large(format!("more than {max}")));
            }
            bytes.extend_from_slice(&chunk);
        }
        bytes.shrink_to_fit();
        Ok(Source {
            bytes: Bytes::from(bytes),
            etag: meta.etag,
            last_modified: meta.last_modified,
            checked_at: Instant::now(),
        })
    }

    /// A source's validator from a HEAD (remembered for `cache.ttl`); `None` when the origin
    /// gives no ETag (the validator is then a hash of the bytes, which needs a GET).
    pub async fn head_meta(&self, skey: &SourceKey) -> Result<Option<SourceMeta>, GatewayError> {
        let at = Location { bucket: &skey.bucket, key: &skey.key };
        let m = self.state.origin.head(at).await?;
        let Some(etag) = m.etag else { return Ok(None) };
        // Cached bytes of an older version must not be rendered under the new validator.
        self.live.caches.drop_source_unless(skey, &etag).await;
        let meta =
            SourceMeta { validator: etag.into(), last_modified: m.last_modified, checked_at: Instant::now() };
        self.live.caches.remember(skey.clone(), meta.clone()).await;
        Ok(Some(meta))
    }

    /// Check a render before it runs: the source's header against the limits, the watermark
    /// objects (read through the source cache), and the memory for all their pixels, reserved.
    pub async fn plan(
        &self,
        object: &Object,
        chain: &Chain,
        watermarks: &[String],
        source: &Source,
    ) -> Result<RenderPlan, GatewayError> {
        let plan = pipeline::plan(chain, &source.bytes, &self.live.config.limits)?;
        let mut images = Vec::with_capacity(watermarks.len());
        for key in watermarks {
            images.push((key.clone(), self.watermark(&object.sibling(key)).await?));
        }
        // The watermark images' decode buffers count too (their probes were checked when read).
        let extra: u64 = images
            .iter()
            .filter_map(|(_, s)| codec::probe(&s.bytes).ok())
            .map(|p| pipeline::memory_estimate(&p, None))
            .sum();
        let memory = match plan.memory {
            0 => None,
            m => Some(self.state.budget.reserve(m + extra, self.deadline).await?),
        };
        Ok(RenderPlan { plan, watermarks: images, _memory: memory })
    }

    /// One watermark object of the source's bucket. A missing one is WatermarkError, EC
    /// 0040-00000025.
    async fn watermark(&self, object: &Object) -> Result<Arc<Source>, GatewayError> {
        let missing = || GatewayError::WatermarkError {
            message: "The watermark object does not exist.".into(),
            ec: Some("0040-00000025"),
        };
        if crate::address::has_dot_segment(&object.key) {
            return Err(missing());
        }
        match self.source(&object.source_key()).await {
            Ok((source, _)) => Ok(source),
            Err(GatewayError::NoSuchKey) => Err(missing()),
            Err(GatewayError::ImageTooLarge { message, .. }) => Err(GatewayError::WatermarkError {
                message: format!("The watermark image is too large: {message}"),
                ec: None,
            }),
            Err(e) => Err(e),
        }
    }

    /// Plan and render a variant on the worker pool.
    pub async fn render(
        &self,
        object: &Object,
        chain: &Arc<Chain>,
        watermarks: &[String],
        source: Arc<Source>,
        etag: Arc<str>,
    ) -> Result<Variant, GatewayError> {
        let plan = self.plan(object, chain, watermarks, &source).await?;
        let state = self.state;
        let (limits, deadline, fonts) = (self.live.config.limits, self.deadline, state.fonts.clone());
        let last_modified = source.last_modified;
        let chain = chain.clone();
        let job = move || {
            let images = plan.watermarks.iter().map(|(k, s)| (k.as_str(), &s.bytes[..])).collect();
            let assets = Assets { images, fonts: &*fonts };
            pipeline::execute(&plan.plan, &chain, &source.bytes, &limits, deadline, &assets)
        };
        let rendered = state.pool.run(job).await??;
        let t = rendered.timings;
        for (stage, d) in [("decode", t.decode), ("transform", t.transform), ("encode", t.encode)] {
            state.metrics.stage_duration.with_label_values(&[stage]).observe(d.as_secs_f64());
        }
        // Cached bytes are weighed by their length: give back the encoder's spare capacity.
        let mut body = rendered.bytes;
        body.shrink_to_fit();
        Ok(Variant {
            body: Bytes::from(body),
            content_type: rendered.mime,
            etag: Some(etag),
            last_modified,
            from_shared: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variant_etags_change_with_source_and_chain() {
        let a = variant_etag("\"a\"", "image/resize,w_1");
        assert_eq!(a.len(), 34);
        assert_eq!(a, variant_etag("\"a\"", "image/resize,w_1"));
        assert_ne!(a, variant_etag("\"a\"", "image/resize,w_2"));
        assert_ne!(a, variant_etag("\"b\"", "image/resize,w_1"));
    }
}
