//! What every request shares: the configuration, the origin, the caches, the worker pool and
//! memory budget, the metrics and the fonts.

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use pixgate_cache::Caches;

use crate::config::{Config, OriginConfig};
use crate::fonts::FontDirs;
use crate::metrics::Metrics;
use crate::origin::Origin;
use crate::origin::fs::FsOrigin;
use crate::origin::metered::Metered;
use crate::origin::s3::{S3Origin, S3Settings};
use crate::shared::SharedTier;
use crate::worker::{MemoryBudget, Pool};

/// Shared by every request.
pub struct State {
    pub config: Arc<Config>,
    pub origin: Arc<dyn Origin>,
    pub metrics: Metrics,
    /// Requests being handled; graceful shutdown waits for it to reach zero.
    pub inflight: Arc<AtomicUsize>,
    /// The image workers.
    pub pool: Pool,
    /// Memory for sources and pixels of requests in flight.
    pub budget: MemoryBudget,
    /// The result and source caches.
    pub caches: Caches,
    /// The shared level on the object store, when `[cache.shared]` names a bucket.
    pub shared: Option<Arc<SharedTier>>,
    /// Fonts for text watermarks.
    pub fonts: Arc<FontDirs>,
}

impl State {
    /// Everything a request needs, from a validated configuration: the metered origin, the
    /// worker pool, the memory budget, the caches, the shared level and the fonts.
    pub fn build(config: Config) -> Result<State, String> {
        let metrics = Metrics::new();
        let origin = build_origin(&config)?;
        let origin: Arc<dyn Origin> = Arc::new(Metered::new(
            origin,
            metrics.clone(),
            config.origin_max_requests,
            config.origin_timeout,
        ));
        let pool = Pool::new(config.workers, config.queue, metrics.clone())
            .map_err(|e| format!("cannot start the image workers: {e}"))?;
        let caches = Caches::new(pixgate_cache::Settings {
            result_max_bytes: config.result_max_bytes,
            source_max_bytes: config.source_max_bytes,
            ttl: config.cache_ttl,
        });
        let shared =
            config.shared.clone().map(|c| Arc::new(SharedTier::new(origin.clone(), c, metrics.clone())));
        let fonts = Arc::new(FontDirs::scan(&config.font_dirs));
        for (name, path) in fonts.oss_fonts() {
            match path {
                Some(p) => tracing::info!(font = name, path = %p.display(), "watermark font"),
                None => tracing::info!(font = name, "watermark font not installed; text falls back"),
            }
        }
        Ok(State {
            budget: MemoryBudget::new(config.max_memory),
            config: Arc::new(config),
            origin,
            metrics,
            inflight: Arc::new(AtomicUsize::new(0)),
            pool,
            caches,
            shared,
            fonts,
        })
    }
}

fn build_origin(config: &Config) -> Result<Arc<dyn Origin>, String> {
    match &config.origin {
        OriginConfig::Fs { root } => {
            let fs = FsOrigin::new(root).map_err(|e| format!("origin.root {}: {e}", root.display()))?;
            Ok(Arc::new(fs))
        }
        OriginConfig::S3 { endpoint, region, force_path_style, static_keys, max_connections } => {
            let settings = S3Settings {
                endpoint: endpoint.clone(),
                region: region.clone(),
                force_path_style: *force_path_style,
                static_keys: static_keys.clone(),
                max_idle_connections: *max_connections,
                timeout: config.origin_timeout,
            };
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start a runtime: {e}"))?;
            Ok(Arc::new(rt.block_on(S3Origin::new(&settings))))
        }
    }
}
