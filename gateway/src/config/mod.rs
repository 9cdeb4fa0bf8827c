//! Configuration: the TOML file (docs/reference.md#configuration), `PIXGATE_*` environment overrides and CLI flags.
//!
//! Two layers, as typed and as resolved: [`RawConfig`] is exactly what the file says (with every
//! default filled in, so it prints back as the effective configuration), and [`Config`] is the
//! validated form with parsed durations, sizes and addresses that the rest of the gateway uses.
//! [`load`] collects every problem it finds before it gives up, so an operator fixes a file in
//! one pass.

mod env;
mod raw;
#[cfg(test)]
mod tests;
mod units;
mod validate;

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use pixgate_ops::spec::Chain;

pub use raw::*;
pub use units::{parse_duration, parse_size, valid_bucket_name};
pub use validate::validate;

/// The origin kind, resolved.
#[derive(Debug, Clone, PartialEq)]
pub enum OriginConfig {
    Fs {
        root: PathBuf,
    },
    S3 {
        endpoint: Option<String>,
        region: String,
        force_path_style: bool,
        /// `None`: the AWS default credential chain.
        static_keys: Option<(String, String)>,
        max_connections: usize,
    },
}

/// `[cache.shared]`, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedConfig {
    /// The bucket at the origin (an s3 bucket or an fs sub-folder).
    pub bucket: String,
    pub prefix: String,
    /// How long a shared render is used after it was written.
    pub ttl: Duration,
}

/// `[styles]`, resolved: where the Style API stores the styles it is given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StyleStoreConfig {
    /// The bucket at the origin (an s3 bucket or an fs sub-folder).
    pub bucket: String,
    /// Stored styles are `<prefix><bucket>/<name>`.
    pub prefix: String,
}

/// The most styles one bucket may have, from the file and the Style API together (OSS's limit).
pub const MAX_STYLES_PER_BUCKET: usize = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryMode {
    /// Only the listed parameters form the key and reach processing.
    Retain,
    /// Every parameter is ignored: originals only.
    Filter,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acl {
    PublicRead,
    Private,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BucketConfig {
    pub name: String,
    pub origin_bucket: String,
    pub prefix: String,
    pub acl: Acl,
    pub domains: Vec<String>,
    pub style_delimiters: Vec<String>,
    pub source_protection: bool,
    pub protected_suffixes: Vec<String>,
    /// Hotlink protection: anonymous requests need a Referer matching one pattern.
    pub referers: Vec<String>,
    /// With `referers` set, whether an anonymous request without a Referer is let in.
    pub allow_empty_referer: bool,
    /// Overrides `cache.cache_control` for this bucket.
    pub cache_control: Option<String>,
    /// Overrides `server.auto_format` for this bucket.
    pub auto_format: Option<Vec<pixgate_ops::spec::Format>>,
    /// Style name -> its chain, parsed once when the configuration is loaded.
    pub styles: BTreeMap<String, Arc<Chain>>,
}

impl BucketConfig {
    /// The settings of a bucket that the configuration does not list: those of an empty
    /// `[buckets.<name>]` section (public-read, same name at the origin, no prefix, no styles).
    pub fn implicit(name: &str) -> BucketConfig {
        let mut b = validate::bucket("implicit", &RawBucket::default(), &mut Vec::new());
        b.name = name.to_string();
        b.origin_bucket = name.to_string();
        b
    }
}

impl Config {
    /// The formats `bucket` negotiates from `Accept` (empty: none, OSS's behaviour).
    pub fn auto_format_for<'a>(&'a self, bucket: &'a BucketConfig) -> &'a [pixgate_ops::spec::Format] {
        bucket.auto_format.as_deref().unwrap_or(&self.auto_format)
    }

    /// A response's `Cache-Control`: the object's own (an original whose store keeps one), else
    /// the bucket's `cache_control`, else `cache.cache_control`; for a signed request or a
    /// private bucket never `public` (shared caches must not keep it).
    pub fn cache_control<'a>(
        &'a self,
        bucket: &'a BucketConfig,
        object: Option<&'a str>,
        signed: bool,
    ) -> std::borrow::Cow<'a, str> {
        let value = object.or(bucket.cache_control.as_deref()).unwrap_or(&self.cache_control);
        if signed || bucket.acl == Acl::Private { private(value) } else { std::borrow::Cow::Borrowed(value) }
    }

    /// The settings of the bucket clients call `name`: a configured bucket, or an unlisted name
    /// served as the origin bucket of the same name, unless a configured bucket maps onto that
    /// storage (its prefix or ACL must not be bypassed) or it holds the shared cache level or
    /// the stored styles.
    pub fn bucket(&self, name: &str) -> Option<Arc<BucketConfig>> {
        if let Some(b) = self.buckets.get(name) {
            return Some(b.clone());
        }
        let hidden = self.buckets.values().any(|b| b.origin_bucket == name)
            || self.shared.as_ref().is_some_and(|s| s.bucket == name)
            || self.style_store.as_ref().is_some_and(|s| s.bucket == name);
        (valid_bucket_name(name) && !hidden).then(|| {
            // The defaults were resolved once, at load: only the names are new.
            let mut b = (*self.implicit).clone();
            b.name = name.to_string();
            b.origin_bucket = name.to_string();
            Arc::new(b)
        })
    }
}

pub use pixgate_ops::codec::Limits;

/// The validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub listen: SocketAddr,
    pub admin_listen: SocketAddr,
    pub domains: Vec<String>,
    pub region: String,
    pub workers: usize,
    pub queue: usize,
    pub origin_timeout: Duration,
    pub request_timeout: Duration,
    pub shutdown_timeout: Duration,
    pub log_format: LogFormat,
    /// Memory for sources and pixels of requests in flight.
    pub max_memory: u64,
    /// The Unix socket over which a graceful upgrade hands the listeners to the new process.
    pub upgrade_sock: PathBuf,
    /// Per-connection write buffer of the main listener.
    pub write_buffer: usize,
    /// `server.admin_token`: admin writes need it as a bearer token.
    pub admin_token: Option<String>,
    /// `server.access_log`.
    pub access_log: bool,
    /// `server.auto_format`: formats chosen from `Accept`, in order of preference.
    pub auto_format: Vec<pixgate_ops::spec::Format>,
    pub origin: OriginConfig,
    /// Most origin requests at once (`origin.max_connections`).
    pub origin_max_requests: usize,
    pub result_max_bytes: u64,
    pub source_max_bytes: u64,
    pub cache_ttl: Duration,
    /// The second cache level on the object store, shared by every replica.
    pub shared: Option<SharedConfig>,
    pub query: QueryMode,
    pub retain: Vec<String>,
    pub cache_control: String,
    pub limits: Limits,
    /// `watermark.font_dirs`.
    pub font_dirs: Vec<PathBuf>,
    /// Where the Style API stores styles; `None`: the Style API answers 501.
    pub style_store: Option<StyleStoreConfig>,
    /// `styles.refresh`: how often every replica re-reads the stored styles.
    pub style_refresh: Duration,
    pub credentials: BTreeMap<String, String>,
    pub buckets: BTreeMap<String, Arc<BucketConfig>>,
    /// The settings of an unlisted bucket, names aside ([`BucketConfig::implicit`]).
    pub implicit: Arc<BucketConfig>,
    pub raw: RawConfig,
}

/// Options from the command line that override the file.
#[derive(Debug, Clone, Default)]
pub struct CliOverrides {
    pub listen: Option<String>,
    pub admin_listen: Option<String>,
    pub root: Option<String>,
}

/// Every problem found in a configuration, one line each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<String>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "config: {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// Load the configuration: the file (if any), then `PIXGATE_*` overrides from `env`, then the
/// command-line overrides; then validate everything.
pub fn load(
    file: Option<&Path>,
    env: &[(String, String)],
    cli: &CliOverrides,
) -> Result<Config, ConfigErrors> {
    let mut problems = Vec::new();
    let mut table = match file {
        None => toml::Table::new(),
        Some(path) => read_file(path).map_err(|e| ConfigErrors(vec![e]))?,
    };
    let defaults = toml::Table::try_from(RawConfig::default()).unwrap_or_default();
    env::apply_env(&mut table, &defaults, env, &mut problems);
    env::apply_env_credentials(&mut table, env, &mut problems);
    if let Some(l) = &cli.listen {
        env::set_key(&mut table, "server", "listen", toml::Value::String(l.clone()));
    }
    if let Some(l) = &cli.admin_listen {
        env::set_key(&mut table, "server", "admin_listen", toml::Value::String(l.clone()));
    }
    if let Some(r) = &cli.root {
        env::set_key(&mut table, "origin", "kind", toml::Value::String("fs".into()));
        env::set_key(&mut table, "origin", "root", toml::Value::String(r.clone()));
    }

    env::check_shape(&toml::Value::Table(table.clone()), &toml::Value::Table(defaults), "", &mut problems);
    if !problems.is_empty() {
        return Err(ConfigErrors(problems));
    }
    let raw: RawConfig = match toml::Value::Table(table).try_into() {
        Ok(r) => r,
        Err(e) => return Err(ConfigErrors(vec![e.message().trim().to_string()])),
    };
    validate(raw)
}

/// The file as a TOML table; a syntax error names its line.
fn read_file(path: &Path) -> Result<toml::Table, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    text.parse::<toml::Table>().map_err(|e| {
        let at = e
            .span()
            .map(|s| format!(" (line {})", text[..s.start.min(text.len())].lines().count().max(1)))
            .unwrap_or_default();
        format!("{}: invalid TOML{at}: {}", path.display(), e.message())
    })
}

/// `value` without a `public` directive and with `private` (unless it already forbids storing).
fn private(value: &str) -> std::borrow::Cow<'_, str> {
    let directives: Vec<&str> = value
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty() && !d.eq_ignore_ascii_case("public"))
        .collect();
    let name = |d: &&str| d.split('=').next().unwrap_or("").trim().to_ascii_lowercase();
    if directives.iter().any(|d| matches!(name(d).as_str(), "private" | "no-store")) {
        if directives.len() == value.split(',').count() {
            return std::borrow::Cow::Borrowed(value);
        }
        return std::borrow::Cow::Owned(directives.join(", "));
    }
    let mut out = String::from("private");
    for d in directives {
        out.push_str(", ");
        out.push_str(d);
    }
    std::borrow::Cow::Owned(out)
}
