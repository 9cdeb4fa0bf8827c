//! From the configuration as written to the resolved one, one function per section. Each
//! appends its problems to one list, so every problem is reported at once.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use pixgate_ops::spec;

use super::units::{lower_domains, parse_duration, valid_bucket_name};
use super::{
    Acl, BucketConfig, Config, ConfigErrors, Limits, LogFormat, MAX_STYLES_PER_BUCKET, OriginConfig,
    QueryMode, RawBucket, RawCache, RawConfig, RawLimits, RawOrigin, RawServer, RawStyles, SharedConfig,
    SizeSpec, StyleStoreConfig,
};

type Problems = Vec<String>;

fn addr(key: &str, v: &str, p: &mut Problems) -> SocketAddr {
    v.parse().unwrap_or_else(|_| {
        p.push(format!("{key}: \"{v}\" is not an address such as 127.0.0.1:8080"));
        SocketAddr::from(([127, 0, 0, 1], 0))
    })
}

fn dur(key: &str, v: &str, p: &mut Problems) -> Duration {
    match parse_duration(v) {
        Ok(d) if !d.is_zero() => d,
        Ok(_) => {
            p.push(format!("{key}: must be greater than zero"));
            Duration::from_secs(1)
        }
        Err(e) => {
            p.push(format!("{key}: {e}"));
            Duration::from_secs(1)
        }
    }
}

fn size(key: &str, v: &SizeSpec, p: &mut Problems) -> u64 {
    v.resolve().unwrap_or_else(|e| {
        p.push(format!("{key}: {e}"));
        0
    })
}

/// A bucket name at the origin (an S3 bucket or a sub-folder of the fs root).
fn origin_bucket_ok(name: &str) -> bool {
    !(name.contains(['/', '\\', '\0']) || name == ".." || name == ".")
}

/// Turn the as-typed configuration into the resolved one, collecting every problem.
pub fn validate(raw: RawConfig) -> Result<Config, ConfigErrors> {
    let mut p: Problems = Vec::new();
    let server = server(&raw.server, &mut p);
    let origin = origin(&raw.origin, &mut p);
    let cache = cache(&raw.cache, &mut p);
    let limits = limits(&raw.limits, &mut p);
    let mut font_dirs = Vec::new();
    for d in &raw.watermark.font_dirs {
        if d.is_empty() || d.contains('\0') {
            p.push(format!("watermark.font_dirs: \"{d}\" is not a folder path"));
        } else {
            font_dirs.push(PathBuf::from(d));
        }
    }
    let auto_format = auto_format("server.auto_format", &raw.server.auto_format, &mut p);
    let (style_store, style_refresh) = styles(&raw.styles, &origin, cache.shared.as_ref(), &mut p);
    let credentials = credentials(&raw, &mut p);
    let buckets = buckets(&raw, &mut p);
    if !p.is_empty() {
        return Err(ConfigErrors(p));
    }
    let s = &raw.server;
    Ok(Config {
        listen: server.listen,
        admin_listen: server.admin_listen,
        domains: server.domains,
        region: s.region.clone(),
        workers: server.workers,
        queue: s.queue as usize,
        origin_timeout: server.origin_timeout,
        request_timeout: server.request_timeout,
        shutdown_timeout: server.shutdown_timeout,
        log_format: server.log_format,
        max_memory: server.max_memory,
        upgrade_sock: PathBuf::from(&s.upgrade_sock),
        write_buffer: server.write_buffer as usize,
        admin_token: Some(s.admin_token.clone()).filter(|t| !t.is_empty()),
        access_log: s.access_log,
        auto_format,
        origin,
        origin_max_requests: raw.origin.max_connections.max(1) as usize,
        result_max_bytes: cache.result_max_bytes,
        source_max_bytes: cache.source_max_bytes,
        cache_ttl: cache.ttl,
        shared: cache.shared,
        query: cache.query,
        retain: raw.cache.retain.clone(),
        cache_control: raw.cache.cache_control.clone(),
        limits,
        font_dirs,
        style_store,
        style_refresh,
        credentials,
        buckets,
        implicit: Arc::new(BucketConfig::implicit("")),
        raw,
    })
}

/// `auto_format`: `webp` and `avif` (the latter only in a build with the `avif` feature).
fn auto_format(key: &str, names: &[String], p: &mut Problems) -> Vec<pixgate_ops::spec::Format> {
    use pixgate_ops::spec::Format;
    let mut formats = Vec::new();
    for name in names {
        let format = match name.to_ascii_lowercase().as_str() {
            "webp" => Format::Webp,
            "avif" if cfg!(feature = "avif") => Format::Avif,
            "avif" => {
                p.push(format!(
                    "{key}: \"avif\" needs Pixgate built with the avif feature (cargo build --features avif)"
                ));
                continue;
            }
            other => {
                p.push(format!("{key}: \"{other}\" is not one of webp, avif"));
                continue;
            }
        };
        if !formats.contains(&format) {
            formats.push(format);
        }
    }
    formats
}

/// `[server]`, resolved.
struct Server {
    listen: SocketAddr,
    admin_listen: SocketAddr,
    domains: Vec<String>,
    origin_timeout: Duration,
    request_timeout: Duration,
    shutdown_timeout: Duration,
    log_format: LogFormat,
    workers: usize,
    max_memory: u64,
    write_buffer: u64,
}

fn server(s: &RawServer, p: &mut Problems) -> Server {
    let listen = addr("server.listen", &s.listen, p);
    let admin_listen = addr("server.admin_listen", &s.admin_listen, p);
    if listen == admin_listen && listen.port() != 0 {
        p.push("server.admin_listen: must differ from server.listen".into());
    }
    let domains = lower_domains("server.domains", &s.domains, p);
    let origin_timeout = dur("server.origin_timeout", &s.origin_timeout, p);
    let request_timeout = dur("server.request_timeout", &s.request_timeout, p);
    let shutdown_timeout = dur("server.shutdown_timeout", &s.shutdown_timeout, p);
    let log_format = match s.log_format.as_str() {
        "text" => LogFormat::Text,
        "json" => LogFormat::Json,
        other => {
            p.push(format!("server.log_format: \"{other}\" is not one of text, json"));
            LogFormat::Text
        }
    };
    let workers = match s.workers {
        0 => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        n if n > 1024 => {
            p.push("server.workers: at most 1024".into());
            1
        }
        n => n as usize,
    };
    let max_memory = size("server.max_memory", &s.max_memory, p);
    let write_buffer = size("server.write_buffer", &s.write_buffer, p);
    if write_buffer > 16 << 20 {
        p.push("server.write_buffer: at most 16MiB".into());
    }
    if s.upgrade_sock.is_empty() || !s.upgrade_sock.starts_with('/') {
        p.push("server.upgrade_sock: must be an absolute path".into());
    }
    if max_memory < 16 << 20 {
        p.push("server.max_memory: at least 16MiB".into());
    }
    if s.queue > 1_000_000 {
        p.push("server.queue: at most 1000000".into());
    }
    if s.admin_token.chars().any(|c| c.is_whitespace() || c.is_control()) {
        p.push("server.admin_token: must not contain spaces or control characters".into());
    }
    Server {
        listen,
        admin_listen,
        domains,
        origin_timeout,
        request_timeout,
        shutdown_timeout,
        log_format,
        workers,
        max_memory,
        write_buffer,
    }
}

fn origin(o: &RawOrigin, p: &mut Problems) -> OriginConfig {
    match o.kind.as_str() {
        "fs" => {
            let root = PathBuf::from(&o.root);
            if o.root.is_empty() {
                p.push("origin.root: required when origin.kind = \"fs\"".into());
            } else if !root.is_dir() {
                p.push(format!("origin.root: \"{}\" is not a folder", o.root));
            }
            OriginConfig::Fs { root }
        }
        "s3" => s3_origin(o, p),
        other => {
            p.push(format!("origin.kind: \"{other}\" is not one of fs, s3"));
            OriginConfig::Fs { root: PathBuf::from(&o.root) }
        }
    }
}

fn s3_origin(o: &RawOrigin, p: &mut Problems) -> OriginConfig {
    let endpoint = if o.endpoint.is_empty() {
        None
    } else {
        if !(o.endpoint.starts_with("http://") || o.endpoint.starts_with("https://"))
            || o.endpoint.parse::<http::Uri>().is_err()
        {
            p.push(format!("origin.endpoint: \"{}\" is not an http(s) URL", o.endpoint));
        }
        Some(o.endpoint.trim_end_matches('/').to_string())
    };
    if o.region.is_empty() {
        p.push("origin.region: required when origin.kind = \"s3\"".into());
    }
    let static_keys = match (o.access_key_id.is_empty(), o.secret_access_key.is_empty()) {
        (true, true) => None,
        (false, false) => Some((o.access_key_id.clone(), o.secret_access_key.clone())),
        _ => {
            p.push("origin.access_key_id and origin.secret_access_key: set both or neither".into());
            None
        }
    };
    if o.max_connections == 0 {
        p.push("origin.max_connections: must be at least 1".into());
    }
    OriginConfig::S3 {
        endpoint,
        region: o.region.clone(),
        force_path_style: o.force_path_style,
        static_keys,
        max_connections: o.max_connections.max(1) as usize,
    }
}

/// `[cache]`, resolved.
struct Cache {
    result_max_bytes: u64,
    source_max_bytes: u64,
    ttl: Duration,
    query: QueryMode,
    shared: Option<SharedConfig>,
}

fn cache(c: &RawCache, p: &mut Problems) -> Cache {
    let result_max_bytes = size("cache.result_max_bytes", &c.result_max_bytes, p);
    let source_max_bytes = size("cache.source_max_bytes", &c.source_max_bytes, p);
    let ttl = dur("cache.ttl", &c.ttl, p);
    let query = match c.query.as_str() {
        "retain" => QueryMode::Retain,
        "filter" => QueryMode::Filter,
        other => {
            p.push(format!("cache.query: \"{other}\" is not one of retain, filter"));
            QueryMode::Retain
        }
    };
    for r in &c.retain {
        if r.is_empty() || r.contains(['&', '=', ' ']) {
            p.push(format!("cache.retain: \"{r}\" is not a query parameter name"));
        }
    }
    if c.cache_control.contains(['\r', '\n']) {
        p.push("cache.cache_control: must be one line".into());
    }
    let shared_ttl = dur("cache.shared.ttl", &c.shared.ttl, p);
    let shared = if c.shared.bucket.is_empty() {
        None
    } else {
        let b = &c.shared.bucket;
        if !origin_bucket_ok(b) {
            p.push(format!("cache.shared.bucket: \"{b}\" is not a bucket name"));
        }
        let pre = &c.shared.prefix;
        if pre.starts_with('/') || pre.split('/').any(|s| s == ".." || s == ".") || pre.contains('\0') {
            p.push("cache.shared.prefix: must be relative and must not contain \".\" or \"..\"".into());
        }
        Some(SharedConfig { bucket: b.clone(), prefix: pre.clone(), ttl: shared_ttl })
    };
    Cache { result_max_bytes, source_max_bytes, ttl, query, shared }
}

/// A relative folder prefix for keys at the origin: empty, or components that are neither
/// empty nor `.`/`..`, ending in `/`.
fn folder_prefix_ok(prefix: &str) -> bool {
    if prefix.is_empty() {
        return true;
    }
    let Some(folders) = prefix.strip_suffix('/') else { return false };
    !prefix.contains('\0') && folders.split('/').all(|c| !c.is_empty() && c != "." && c != "..")
}

/// `[styles]`: the store of the Style API (none when `store_bucket` is empty) and its refresh.
fn styles(
    s: &RawStyles,
    origin: &OriginConfig,
    shared: Option<&SharedConfig>,
    p: &mut Problems,
) -> (Option<StyleStoreConfig>, Duration) {
    let refresh = dur("styles.refresh", &s.refresh, p);
    let bucket = &s.store_bucket;
    if bucket.is_empty() {
        return (None, refresh);
    }
    if !origin_bucket_ok(bucket) {
        p.push(format!("styles.store_bucket: \"{bucket}\" is not a bucket name"));
    } else if let OriginConfig::Fs { root } = origin
        && root.is_dir()
        && !root.join(bucket).is_dir()
    {
        p.push(format!("styles.store_bucket: \"{bucket}\" is not a folder of origin.root"));
    }
    let prefix = &s.store_prefix;
    if !folder_prefix_ok(prefix) {
        p.push("styles.store_prefix: must be empty or a relative folder ending in \"/\", without \".\" or \"..\"".into());
    }
    // A purge of the shared level must never reach the stored styles.
    if let Some(shared) = shared
        && shared.bucket == *bucket
        && (shared.prefix.starts_with(prefix.as_str()) || prefix.starts_with(shared.prefix.as_str()))
    {
        p.push("styles.store_prefix: must not overlap cache.shared.prefix in the same bucket".into());
    }
    (Some(StyleStoreConfig { bucket: bucket.clone(), prefix: prefix.clone() }), refresh)
}

fn limits(l: &RawLimits, p: &mut Problems) -> Limits {
    let side = |key: &str, v: u64, p: &mut Problems| -> u32 {
        if v == 0 || v > 1_000_000 {
            p.push(format!("{key}: must be in [1, 1000000]"));
            1
        } else {
            v as u32
        }
    };
    let limits = Limits {
        max_source_bytes: size("limits.max_source_bytes", &l.max_source_bytes, p),
        max_source_side: side("limits.max_source_side", l.max_source_side, p),
        max_source_pixels: l.max_source_pixels,
        max_output_side: side("limits.max_output_side", l.max_output_side, p),
        max_output_pixels: l.max_output_pixels,
        max_rotate_side: side("limits.max_rotate_side", l.max_rotate_side, p),
    };
    for (key, value) in [
        ("limits.max_source_bytes", limits.max_source_bytes),
        ("limits.max_source_pixels", limits.max_source_pixels),
        ("limits.max_output_pixels", limits.max_output_pixels),
    ] {
        if value == 0 {
            p.push(format!("{key}: must be greater than zero"));
        }
    }
    limits
}

fn credentials(raw: &RawConfig, p: &mut Problems) -> BTreeMap<String, String> {
    let mut credentials = BTreeMap::new();
    for (i, cred) in raw.credentials.iter().enumerate() {
        if cred.access_key_id.is_empty() || cred.access_key_secret.is_empty() {
            p.push(format!("credentials[{i}]: access_key_id and access_key_secret must not be empty"));
        } else if credentials.insert(cred.access_key_id.clone(), cred.access_key_secret.clone()).is_some() {
            p.push(format!("credentials[{i}]: access_key_id \"{}\" is listed twice", cred.access_key_id));
        }
    }
    credentials
}

fn buckets(raw: &RawConfig, p: &mut Problems) -> BTreeMap<String, Arc<BucketConfig>> {
    let mut buckets = BTreeMap::new();
    let mut domain_owner: BTreeMap<String, String> = BTreeMap::new();
    for (name, b) in &raw.buckets {
        let at = format!("buckets.{name}");
        if !valid_bucket_name(name) {
            p.push(format!("{at}: \"{name}\" is not a bucket name (3-63 of a-z 0-9 - _ .)"));
        }
        let bucket = bucket(name, b, p);
        if bucket.acl == Acl::Private && raw.credentials.is_empty() {
            p.push(format!("{at}.acl: \"private\" needs at least one [[credentials]] key to sign with"));
        }
        for d in &bucket.domains {
            if let Some(other) = domain_owner.insert(d.clone(), name.clone()) {
                p.push(format!("{at}.domains: \"{d}\" is also a domain of bucket {other}"));
            }
        }
        buckets.insert(name.clone(), Arc::new(bucket));
    }
    buckets
}

/// One `[buckets.<name>]` section, resolved; its styles are parsed here, once.
pub(super) fn bucket(name: &str, b: &RawBucket, p: &mut Problems) -> BucketConfig {
    let at = format!("buckets.{name}");
    let acl = match b.acl.as_str() {
        "public-read" => Acl::PublicRead,
        "private" => Acl::Private,
        other => {
            p.push(format!("{at}.acl: \"{other}\" is not one of public-read, private"));
            Acl::PublicRead
        }
    };
    let origin_bucket = if b.origin_bucket.is_empty() { name.to_string() } else { b.origin_bucket.clone() };
    if !origin_bucket_ok(&origin_bucket) {
        p.push(format!("{at}.origin_bucket: \"{origin_bucket}\" is not a bucket name"));
    }
    if b.prefix.starts_with('/') || b.prefix.split('/').any(|c| c == "..") || b.prefix.contains('\0') {
        p.push(format!("{at}.prefix: must be relative and must not contain \"..\""));
    }
    let domains = lower_domains(&format!("{at}.domains"), &b.domains, p);
    for d in &b.style_delimiters {
        if d.chars().count() != 1 || !matches!(d.as_str(), "!" | "-" | "_" | "/" | "@" | "~" | "+" | ".") {
            p.push(format!("{at}.style_delimiters: \"{d}\" is not one of ! - _ / @ ~ + ."));
        }
    }
    if b.styles.len() > MAX_STYLES_PER_BUCKET {
        p.push(format!(
            "{at}.styles: at most {MAX_STYLES_PER_BUCKET} styles per bucket, got {}",
            b.styles.len()
        ));
    }
    let mut styles = BTreeMap::new();
    for (style, content) in &b.styles {
        let parsed = spec::validate_style_name(style).and_then(|()| spec::parse_style_content(content));
        match parsed {
            Ok(chain) => {
                styles.insert(style.clone(), Arc::new(chain));
            }
            Err(e) => p.push(format!("{at}.styles.{style}: {}", e.message)),
        }
    }
    for s in &b.protected_suffixes {
        if s.is_empty() {
            p.push(format!("{at}.protected_suffixes: empty suffix"));
        }
    }
    if b.source_protection && b.protected_suffixes.is_empty() {
        p.push(format!("{at}.protected_suffixes: required when source_protection = true"));
    }
    if b.cache_control.contains(['\r', '\n']) {
        p.push(format!("{at}.cache_control: must be one line"));
    }
    for r in &b.referers {
        if r.is_empty() || r.contains(char::is_whitespace) {
            p.push(format!("{at}.referers: \"{r}\" is not a referer pattern"));
        }
    }
    BucketConfig {
        name: name.to_string(),
        origin_bucket,
        prefix: b.prefix.clone(),
        acl,
        domains,
        style_delimiters: b.style_delimiters.clone(),
        source_protection: b.source_protection,
        protected_suffixes: b.protected_suffixes.clone(),
        referers: b.referers.clone(),
        allow_empty_referer: b.allow_empty_referer,
        cache_control: Some(b.cache_control.clone()).filter(|c| !c.is_empty()),
        auto_format: b.auto_format.as_ref().map(|f| auto_format(&format!("{at}.auto_format"), f, p)),
        styles,
    }
}
