//! What every request shares: the live configuration with the caches built from it, the
//! origin, the worker pool and memory budget, the metrics, the fonts and the stored styles.
//!
//! A reload swaps [`Live`] whole; a request takes one snapshot at its start and keeps it, so
//! it finishes on the configuration it started with.

use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::SystemTime;

use pixgate_cache::Caches;

use crate::config::{Config, OriginConfig};
use crate::fonts::FontDirs;
use crate::metrics::Metrics;
use crate::origin::Origin;
use crate::origin::fs::FsOrigin;
use crate::origin::metered::Metered;
use crate::origin::s3::{S3Origin, S3Settings};
use crate::shared::SharedTier;
use crate::styles::StyleBook;
use crate::worker::{MemoryBudget, Pool};

/// What a reload replaces: the configuration and what is built from it.
pub struct Live {
    pub config: Arc<Config>,
    /// The result and source caches (new ones when a reload changes their sizes or `ttl`).
    pub caches: Caches,
    /// The shared level on the object store, when `[cache.shared]` names a bucket.
    pub shared: Option<Arc<SharedTier>>,
    /// When this configuration was loaded (the times the Style API shows for the file's styles).
    pub loaded_at: SystemTime,
}

/// Shared by every request.
pub struct State {
    live: RwLock<Arc<Live>>,
    pub origin: Arc<dyn Origin>,
    pub metrics: Metrics,
    /// Requests being handled; graceful shutdown waits for it to reach zero.
    pub inflight: Arc<AtomicUsize>,
    /// The image workers.
    pub pool: Pool,
    /// Memory for sources and pixels of requests in flight.
    pub budget: MemoryBudget,
    /// Fonts for text watermarks.
    pub fonts: Arc<FontDirs>,
    /// The styles stored through the Style API, as last read (or changed here).
    pub styles: StyleBook,
}

fn caches(config: &Config) -> Caches {
    Caches::new(pixgate_cache::Settings {
        result_max_bytes: config.result_max_bytes,
        source_max_bytes: config.source_max_bytes,
        ttl: config.cache_ttl,
    })
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
        let shared =
            config.shared.clone().map(|c| Arc::new(SharedTier::new(origin.clone(), c, metrics.clone())));
        let fonts = Arc::new(FontDirs::scan(&config.font_dirs));
        for (name, path) in fonts.oss_fonts() {
            match path {
                Some(p) => tracing::info!(font = name, path = %p.display(), "watermark font"),
                None => tracing::info!(font = name, "watermark font not installed; text falls back"),
            }
        }
        let live =
            Live { caches: caches(&config), shared, config: Arc::new(config), loaded_at: SystemTime::now() };
        Ok(State {
            budget: MemoryBudget::new(live.config.max_memory),
            live: RwLock::new(Arc::new(live)),
            origin,
            metrics,
            inflight: Arc::new(AtomicUsize::new(0)),
            pool,
            fonts,
            styles: StyleBook::new(),
        })
    }

    /// The running configuration and its caches: one snapshot per request.
    pub fn live(&self) -> Arc<Live> {
        self.live.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The running configuration.
    pub fn config(&self) -> Arc<Config> {
        self.live().config.clone()
    }

    /// Run `config` for every request that starts from now on (requests in flight keep their
    /// snapshot). The caches are kept unless their sizes or `ttl` changed (then they start
    /// empty), the shared level unless `[cache.shared]` changed. What only a restart can
    /// change (listeners, workers, the origin, ...) must already be the running values.
    pub fn replace_config(&self, config: Config) {
        let old = self.live();
        let same_caches = (config.result_max_bytes, config.source_max_bytes, config.cache_ttl)
            == (old.config.result_max_bytes, old.config.source_max_bytes, old.config.cache_ttl);
        let caches = if same_caches { old.caches.clone() } else { caches(&config) };
        let shared = if config.shared == old.config.shared {
            old.shared.clone()
        } else {
            let tier = |c| Arc::new(SharedTier::new(self.origin.clone(), c, self.metrics.clone()));
            config.shared.clone().map(tier)
        };
        let live = Live { config: Arc::new(config), caches, shared, loaded_at: SystemTime::now() };
        *self.live.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(live);
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
