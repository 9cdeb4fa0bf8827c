//! Prometheus metric families (docs/reference.md#metrics). Labels never carry keys, buckets or raw parameters.

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

/// Buckets that resolve both sub-millisecond cache hits and multi-second renders.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    30.0,
];

#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    /// Every family's name, including families that have no sample yet.
    families: Vec<String>,
    pub requests_total: IntCounterVec,
    pub request_duration: HistogramVec,
    pub origin_requests_total: IntCounterVec,
    pub origin_duration: Histogram,
    pub stage_duration: HistogramVec,
    pub workers_busy: IntGauge,
    pub queue_depth: IntGauge,
    pub rejected_total: IntCounterVec,
    pub cache_requests_total: IntCounterVec,
    pub cache_bytes: IntGaugeVec,
    pub shared_writes_total: IntCounterVec,
    /// SIGHUP reloads of the configuration, by result (success, failure).
    pub config_reloads_total: IntCounterVec,
    /// When the running configuration was loaded (at start, then each successful reload).
    pub config_last_reload_success: IntGauge,
    /// Processed responses whose format `auto_format` chose, by format.
    pub negotiated_total: IntCounterVec,
    /// Render failures answered with the original object (`ignore-error,1`), by reason.
    pub ignored_errors_total: IntCounterVec,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let registry = Registry::new();
        let requests_total = IntCounterVec::new(
            Opts::new("pixgate_requests_total", "Requests answered, by route and HTTP status."),
            &["route", "status"],
        )
        .expect("valid metric");
        let request_duration = HistogramVec::new(
            HistogramOpts::new(
                "pixgate_request_duration_seconds",
                "Time from request to the end of the response.",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["route"],
        )
        .expect("valid metric");
        let origin_requests_total = IntCounterVec::new(
            Opts::new("pixgate_origin_requests_total", "Requests to the origin object store, by outcome."),
            &["outcome"],
        )
        .expect("valid metric");
        let origin_duration = Histogram::with_opts(
            HistogramOpts::new(
                "pixgate_origin_duration_seconds",
                "Time until the origin answered (headers).",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
        )
        .expect("valid metric");
        let stage_duration = HistogramVec::new(
            HistogramOpts::new("pixgate_stage_duration_seconds", "Time spent in each stage of processing.")
                .buckets(LATENCY_BUCKETS.to_vec()),
            &["stage"],
        )
        .expect("valid metric");
        let workers_busy =
            IntGauge::new("pixgate_workers_busy", "Image workers running a job.").expect("valid metric");
        let queue_depth =
            IntGauge::new("pixgate_queue_depth", "Jobs waiting for an image worker.").expect("valid metric");
        let rejected_total = IntCounterVec::new(
            Opts::new("pixgate_rejected_total", "Requests refused before processing, by reason."),
            &["reason"],
        )
        .expect("valid metric");
        let cache_requests_total = IntCounterVec::new(
            Opts::new("pixgate_cache_requests_total", "Cache lookups, by cache and outcome."),
            &["cache", "outcome"],
        )
        .expect("valid metric");
        let cache_bytes = IntGaugeVec::new(
            Opts::new("pixgate_cache_bytes", "Bytes held by each cache (as weighed)."),
            &["cache"],
        )
        .expect("valid metric");
        let shared_writes_total = IntCounterVec::new(
            Opts::new(
                "pixgate_shared_writes_total",
                "Renders written to the shared cache level, by outcome.",
            ),
            &["outcome"],
        )
        .expect("valid metric");
        let config_reloads_total = IntCounterVec::new(
            Opts::new("pixgate_config_reloads_total", "Configuration reloads (SIGHUP), by result."),
            &["result"],
        )
        .expect("valid metric");
        for result in ["success", "failure"] {
            config_reloads_total.with_label_values(&[result]).inc_by(0);
        }
        let config_last_reload_success = IntGauge::new(
            "pixgate_config_last_reload_success_timestamp_seconds",
            "When the running configuration was loaded (UNIX seconds): at start, then each successful reload.",
        )
        .expect("valid metric");
        let negotiated_total = IntCounterVec::new(
            Opts::new(
                "pixgate_negotiated_total",
                "Processed responses whose format auto_format chose from Accept.",
            ),
            &["format"],
        )
        .expect("valid metric");
        let ignored_errors_total = IntCounterVec::new(
            Opts::new(
                "pixgate_ignored_errors_total",
                "Render failures answered with the original object (ignore-error,1), by reason.",
            ),
            &["reason"],
        )
        .expect("valid metric");
        let build_info = IntGaugeVec::new(
            Opts::new("pixgate_build_info", "Always 1: the version and the cargo features compiled in."),
            &["version", "features"],
        )
        .expect("valid metric");
        build_info.with_label_values(&[env!("CARGO_PKG_VERSION"), features()]).set(1);
        let mut collectors: Vec<Box<dyn prometheus::core::Collector>> = vec![
            Box::new(build_info),
            Box::new(negotiated_total.clone()),
            Box::new(ignored_errors_total.clone()),
            Box::new(requests_total.clone()),
            Box::new(request_duration.clone()),
            Box::new(origin_requests_total.clone()),
            Box::new(origin_duration.clone()),
            Box::new(stage_duration.clone()),
            Box::new(workers_busy.clone()),
            Box::new(queue_depth.clone()),
            Box::new(rejected_total.clone()),
            Box::new(cache_requests_total.clone()),
            Box::new(cache_bytes.clone()),
            Box::new(shared_writes_total.clone()),
            Box::new(config_reloads_total.clone()),
            Box::new(config_last_reload_success.clone()),
        ];
        #[cfg(target_os = "linux")]
        collectors.push(Box::new(prometheus::process_collector::ProcessCollector::for_self()));
        let families = collectors.iter().flat_map(|c| c.desc()).map(|d| d.fq_name.clone()).collect();
        for c in collectors {
            registry.register(c).expect("metric names are unique");
        }
        Metrics {
            registry,
            families,
            requests_total,
            request_duration,
            origin_requests_total,
            origin_duration,
            stage_duration,
            workers_busy,
            queue_depth,
            rejected_total,
            cache_requests_total,
            cache_bytes,
            shared_writes_total,
            config_reloads_total,
            config_last_reload_success,
            negotiated_total,
            ignored_errors_total,
        }
    }

    /// The names of every metric family Pixgate exports (a family with no sample yet is not
    /// in the text exposition, but is here).
    pub fn family_names(&self) -> &[String] {
        &self.families
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16 * 1024);
        // Encoding into a Vec cannot fail on I/O; a malformed family would be a bug in this file.
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::error!("metrics encoding failed: {e}");
        }
        out
    }
}

/// The cargo features compiled into this binary, e.g. `heic,avif` (empty: none).
pub fn features() -> &'static str {
    static FEATURES: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    FEATURES.get_or_init(|| {
        let all = [
            ("heic", cfg!(feature = "heic")),
            ("avif", cfg!(feature = "avif")),
            ("mimalloc", cfg!(feature = "mimalloc")),
            ("jemalloc", cfg!(feature = "jemalloc")),
        ];
        all.iter().filter(|(_, on)| *on).map(|(n, _)| *n).collect::<Vec<_>>().join(",")
    })
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}
