//! Configuration: the TOML file of contract §2, `PIXGATE_*` environment overrides and CLI flags.
//!
//! Two layers, as typed and as resolved: [`RawConfig`] is exactly what the file says (with every
//! default filled in, so it prints back as the effective configuration), and [`Config`] is the
//! validated form with parsed durations, sizes and addresses that the rest of the gateway uses.
//! [`load`] collects every problem it finds before it gives up, so an operator fixes a file in
//! one pass.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A size as written in the file: a number of bytes or a string such as `"256MiB"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SizeSpec {
    Bytes(u64),
    Text(String),
}

impl SizeSpec {
    fn resolve(&self) -> Result<u64, String> {
        match self {
            SizeSpec::Bytes(n) => Ok(*n),
            SizeSpec::Text(s) => parse_size(s),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawServer {
    pub listen: String,
    pub admin_listen: String,
    pub domains: Vec<String>,
    pub region: String,
    pub workers: u64,
    pub queue: u64,
    pub origin_timeout: String,
    pub request_timeout: String,
    pub shutdown_timeout: String,
    pub log_format: String,
    pub max_memory: SizeSpec,
    pub upgrade_sock: String,
    pub write_buffer: SizeSpec,
}

impl Default for RawServer {
    fn default() -> Self {
        RawServer {
            listen: "127.0.0.1:8080".into(),
            admin_listen: "127.0.0.1:9090".into(),
            domains: Vec::new(),
            region: String::new(),
            workers: 0,
            queue: 256,
            origin_timeout: "10s".into(),
            request_timeout: "30s".into(),
            shutdown_timeout: "30s".into(),
            log_format: "text".into(),
            max_memory: SizeSpec::Text("1GiB".into()),
            upgrade_sock: "/tmp/pixgate-upgrade.sock".into(),
            write_buffer: SizeSpec::Text("64KiB".into()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawOrigin {
    pub kind: String,
    pub root: String,
    pub endpoint: String,
    pub region: String,
    pub force_path_style: bool,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub max_connections: u64,
}

impl Default for RawOrigin {
    fn default() -> Self {
        RawOrigin {
            kind: "fs".into(),
            root: "samples".into(),
            endpoint: String::new(),
            region: "us-east-1".into(),
            force_path_style: false,
            access_key_id: String::new(),
            secret_access_key: String::new(),
            max_connections: 256,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawShared {
    pub bucket: String,
    pub prefix: String,
    pub ttl: String,
}

impl Default for RawShared {
    fn default() -> Self {
        RawShared { bucket: String::new(), prefix: "pixgate-cache/".into(), ttl: "7d".into() }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawCache {
    pub result_max_bytes: SizeSpec,
    pub source_max_bytes: SizeSpec,
    pub ttl: String,
    pub query: String,
    pub retain: Vec<String>,
    pub cache_control: String,
    pub shared: RawShared,
}

impl Default for RawCache {
    fn default() -> Self {
        RawCache {
            result_max_bytes: SizeSpec::Text("256MiB".into()),
            source_max_bytes: SizeSpec::Text("256MiB".into()),
            ttl: "1h".into(),
            query: "retain".into(),
            retain: vec!["x-oss-process".into()],
            cache_control: "public, max-age=86400".into(),
            shared: RawShared::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawLimits {
    pub max_source_bytes: SizeSpec,
    pub max_source_side: u64,
    pub max_source_pixels: u64,
    pub max_output_side: u64,
    pub max_output_pixels: u64,
    pub max_rotate_side: u64,
}

impl Default for RawLimits {
    fn default() -> Self {
        RawLimits {
            max_source_bytes: SizeSpec::Bytes(20_971_520),
            max_source_side: 30_000,
            max_source_pixels: 250_000_000,
            max_output_side: 16_384,
            max_output_pixels: 16_777_216,
            max_rotate_side: 4_096,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCredential {
    pub access_key_id: String,
    pub access_key_secret: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawBucket {
    pub origin_bucket: String,
    pub prefix: String,
    pub acl: String,
    pub domains: Vec<String>,
    pub style_delimiters: Vec<String>,
    pub source_protection: bool,
    pub protected_suffixes: Vec<String>,
    pub referers: Vec<String>,
    pub allow_empty_referer: bool,
    pub styles: BTreeMap<String, String>,
}

impl Default for RawBucket {
    fn default() -> Self {
        RawBucket {
            origin_bucket: String::new(),
            prefix: String::new(),
            acl: "public-read".into(),
            domains: Vec::new(),
            style_delimiters: Vec::new(),
            source_protection: false,
            protected_suffixes: Vec::new(),
            referers: Vec::new(),
            allow_empty_referer: true,
            styles: BTreeMap::new(),
        }
    }
}

/// `[watermark]`: where text watermarks find their fonts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawWatermark {
    /// Folders searched (with their subfolders) for the fonts OSS names, e.g. `wqy-zenhei.ttc`.
    pub font_dirs: Vec<String>,
}

impl Default for RawWatermark {
    fn default() -> Self {
        RawWatermark { font_dirs: vec!["/usr/share/fonts".into(), "/usr/local/share/fonts".into()] }
    }
}

/// The configuration as written, with defaults filled in. Printing it gives the effective config.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawConfig {
    pub server: RawServer,
    pub origin: RawOrigin,
    pub cache: RawCache,
    pub limits: RawLimits,
    pub watermark: RawWatermark,
    pub credentials: Vec<RawCredential>,
    pub buckets: BTreeMap<String, RawBucket>,
}

impl RawConfig {
    /// The effective configuration as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_else(|e| format!("# cannot print the configuration: {e}\n"))
    }
}

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
    /// Style name -> its content (`image/...`), validated at load.
    pub styles: BTreeMap<String, String>,
}

impl BucketConfig {
    /// The settings of a bucket that the configuration does not list: public-read, same name at
    /// the origin, no prefix, no styles.
    pub fn implicit(name: &str) -> BucketConfig {
        BucketConfig {
            name: name.to_string(),
            origin_bucket: name.to_string(),
            prefix: String::new(),
            acl: Acl::PublicRead,
            domains: Vec::new(),
            style_delimiters: Vec::new(),
            source_protection: false,
            protected_suffixes: Vec::new(),
            referers: Vec::new(),
            allow_empty_referer: true,
            styles: BTreeMap::new(),
        }
    }
}

impl Config {
    /// The settings of the bucket clients call `name`: a configured bucket, or an unlisted name
    /// served as the origin bucket of the same name, unless a configured bucket maps onto that
    /// storage (its prefix or ACL must not be bypassed) or it holds the shared cache level.
    pub fn bucket(&self, name: &str) -> Option<std::borrow::Cow<'_, BucketConfig>> {
        if let Some(b) = self.buckets.get(name) {
            return Some(std::borrow::Cow::Borrowed(b));
        }
        let hidden = self.buckets.values().any(|b| b.origin_bucket == name)
            || self.shared.as_ref().is_some_and(|s| s.bucket == name);
        (valid_bucket_name(name) && !hidden).then(|| std::borrow::Cow::Owned(BucketConfig::implicit(name)))
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
    pub credentials: BTreeMap<String, String>,
    pub buckets: BTreeMap<String, BucketConfig>,
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

/// Environment variables that are not configuration keys.
const ENV_NOT_KEYS: &[&str] = &["PIXGATE_CONFIG", "PIXGATE_LOG", "PIXGATE_CREDENTIALS"];

/// `PIXGATE_CREDENTIALS="AK1:secret1,AK2:secret2"`: signing keys from the environment (a
/// Kubernetes Secret, a systemd EnvironmentFile), added to the file's `[[credentials]]`.
fn apply_env_credentials(table: &mut toml::Table, env: &[(String, String)], problems: &mut Vec<String>) {
    let Some((_, list)) = env.iter().find(|(k, _)| k == "PIXGATE_CREDENTIALS") else { return };
    let entry = table.entry("credentials".to_string()).or_insert_with(|| toml::Value::Array(Vec::new()));
    let toml::Value::Array(creds) = entry else {
        problems.push("PIXGATE_CREDENTIALS: credentials in the file is not an array of tables".into());
        return;
    };
    for (i, pair) in list.split(',').map(str::trim).filter(|p| !p.is_empty()).enumerate() {
        let Some((ak, secret)) = pair.split_once(':') else {
            problems.push(format!("PIXGATE_CREDENTIALS: entry {i} is not <access_key_id>:<secret>"));
            continue;
        };
        let mut t = toml::Table::new();
        t.insert("access_key_id".into(), toml::Value::String(ak.trim().into()));
        t.insert("access_key_secret".into(), toml::Value::String(secret.trim().into()));
        creds.push(toml::Value::Table(t));
    }
}

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
        Some(path) => match std::fs::read_to_string(path) {
            Err(e) => return Err(ConfigErrors(vec![format!("cannot read {}: {e}", path.display())])),
            Ok(text) => match text.parse::<toml::Table>() {
                Ok(t) => t,
                Err(e) => {
                    let msg = e.message().to_string();
                    let at = e
                        .span()
                        .map(|s| {
                            let line = text[..s.start.min(text.len())].lines().count().max(1);
                            format!(" (line {line})")
                        })
                        .unwrap_or_default();
                    return Err(ConfigErrors(vec![format!("{}: invalid TOML{at}: {msg}", path.display())]));
                }
            },
        },
    };

    let defaults = toml::Table::try_from(RawConfig::default()).unwrap_or_default();
    apply_env(&mut table, &defaults, env, &mut problems);
    apply_env_credentials(&mut table, env, &mut problems);
    if let Some(l) = &cli.listen {
        set_key(&mut table, "server", "listen", toml::Value::String(l.clone()));
    }
    if let Some(l) = &cli.admin_listen {
        set_key(&mut table, "server", "admin_listen", toml::Value::String(l.clone()));
    }
    if let Some(r) = &cli.root {
        set_key(&mut table, "origin", "kind", toml::Value::String("fs".into()));
        set_key(&mut table, "origin", "root", toml::Value::String(r.clone()));
    }

    check_shape(&toml::Value::Table(table.clone()), &toml::Value::Table(defaults), "", &mut problems);
    if !problems.is_empty() {
        return Err(ConfigErrors(problems));
    }
    let raw: RawConfig = match toml::Value::Table(table).try_into() {
        Ok(r) => r,
        Err(e) => return Err(ConfigErrors(vec![e.message().trim().to_string()])),
    };
    validate(raw)
}

fn set_key(table: &mut toml::Table, section: &str, key: &str, value: toml::Value) {
    let entry = table.entry(section.to_string()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
    if let toml::Value::Table(t) = entry {
        t.insert(key.to_string(), value);
    }
}

/// Apply `PIXGATE_<SECTION>_<KEY>` overrides. The type of each key comes from the defaults, so
/// `PIXGATE_SERVER_WORKERS=4` is a number and `PIXGATE_ORIGIN_ACCESS_KEY_ID=123` stays a string.
fn apply_env(
    table: &mut toml::Table,
    defaults: &toml::Table,
    env: &[(String, String)],
    problems: &mut Vec<String>,
) {
    // Longest section names first so that CACHE_SHARED_ wins over CACHE_.
    let sections: [(&str, &[&str]); 5] = [
        ("CACHE_SHARED_", &["cache", "shared"]),
        ("SERVER_", &["server"]),
        ("ORIGIN_", &["origin"]),
        ("CACHE_", &["cache"]),
        ("LIMITS_", &["limits"]),
    ];
    for (name, value) in env {
        let Some(rest) = name.strip_prefix("PIXGATE_") else { continue };
        if ENV_NOT_KEYS.contains(&name.as_str()) {
            continue;
        }
        let Some((prefix, path)) = sections.iter().find(|(p, _)| rest.starts_with(p)) else {
            problems.push(format!("{name}: not a configuration key"));
            continue;
        };
        let key = rest[prefix.len()..].to_ascii_lowercase();
        let mut default_section = defaults;
        for p in path.iter() {
            match default_section.get(*p) {
                Some(toml::Value::Table(t)) => default_section = t,
                _ => break,
            }
        }
        let Some(default_value) = default_section.get(&key) else {
            problems.push(format!("{name}: not a configuration key"));
            continue;
        };
        let parsed = match default_value {
            toml::Value::String(_) => toml::Value::String(value.clone()),
            toml::Value::Table(_) => {
                problems.push(format!("{name}: {key} is a section, not a key"));
                continue;
            }
            _ => match format!("v = {value}").parse::<toml::Table>() {
                Ok(mut t) => t.remove("v").unwrap_or(toml::Value::String(value.clone())),
                // A size such as 256MiB is a bare string; the shape check reports real mistakes.
                Err(_) => toml::Value::String(value.clone()),
            },
        };
        let mut target = &mut *table;
        for p in path.iter() {
            let entry = target.entry(p.to_string()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
            match entry {
                toml::Value::Table(t) => target = t,
                _ => {
                    problems.push(format!("{name}: [{}] is not a table in the file", path.join(".")));
                    return;
                }
            }
        }
        target.insert(key, parsed);
    }
}

fn type_name(v: &toml::Value) -> &'static str {
    match v {
        toml::Value::String(_) => "a string",
        toml::Value::Integer(_) => "an integer",
        toml::Value::Float(_) => "a number",
        toml::Value::Boolean(_) => "a boolean",
        toml::Value::Datetime(_) => "a date",
        toml::Value::Array(_) => "an array",
        toml::Value::Table(_) => "a table",
    }
}

/// Compare the file against the defaults: unknown keys and wrong types, all of them.
fn check_shape(value: &toml::Value, default: &toml::Value, path: &str, problems: &mut Vec<String>) {
    let join = |k: &str| if path.is_empty() { k.to_string() } else { format!("{path}.{k}") };
    match (value, default) {
        (toml::Value::Table(t), toml::Value::Table(d)) => {
            for (k, v) in t {
                let here = join(k);
                match (path, k.as_str()) {
                    ("", "buckets") => match v {
                        toml::Value::Table(buckets) => {
                            let bucket_default = toml::Value::try_from(RawBucket::default())
                                .unwrap_or(toml::Value::Table(toml::Table::new()));
                            for (name, b) in buckets {
                                check_bucket(b, &bucket_default, &format!("buckets.{name}"), problems);
                            }
                        }
                        _ => problems.push(format!("{here}: expected a table, got {}", type_name(v))),
                    },
                    ("", "credentials") => match v {
                        toml::Value::Array(items) => {
                            for (i, item) in items.iter().enumerate() {
                                check_credential(item, &format!("credentials[{i}]"), problems);
                            }
                        }
                        _ => problems.push(format!(
                            "{here}: expected an array of tables ([[credentials]]), got {}",
                            type_name(v)
                        )),
                    },
                    _ => match d.get(k) {
                        None => problems.push(format!("{here}: unknown key")),
                        Some(dv) => check_shape(v, dv, &here, problems),
                    },
                }
            }
        }
        (toml::Value::Array(items), toml::Value::Array(_)) => {
            for (i, item) in items.iter().enumerate() {
                if !item.is_str() {
                    problems.push(format!("{path}[{i}]: expected a string, got {}", type_name(item)));
                }
            }
        }
        // Sizes may be an integer or a string.
        (
            toml::Value::Integer(_) | toml::Value::String(_),
            toml::Value::Integer(_) | toml::Value::String(_),
        ) if is_size_key(path) => {}
        (v, d) if std::mem::discriminant(v) == std::mem::discriminant(d) => {}
        (v, d) => problems.push(format!("{path}: expected {}, got {}", type_name(d), type_name(v))),
    }
}

fn is_size_key(path: &str) -> bool {
    matches!(
        path,
        "cache.result_max_bytes"
            | "cache.source_max_bytes"
            | "limits.max_source_bytes"
            | "server.max_memory"
            | "server.write_buffer"
    )
}

fn check_bucket(v: &toml::Value, default: &toml::Value, path: &str, problems: &mut Vec<String>) {
    let (toml::Value::Table(t), toml::Value::Table(d)) = (v, default) else {
        problems.push(format!("{path}: expected a table, got {}", type_name(v)));
        return;
    };
    for (k, item) in t {
        let here = format!("{path}.{k}");
        if k == "styles" {
            match item {
                toml::Value::Table(styles) => {
                    for (name, content) in styles {
                        if !content.is_str() {
                            problems.push(format!(
                                "{here}.{name}: expected a string, got {}",
                                type_name(content)
                            ));
                        }
                    }
                }
                _ => problems.push(format!("{here}: expected a table, got {}", type_name(item))),
            }
            continue;
        }
        match d.get(k) {
            None => problems.push(format!("{here}: unknown key")),
            Some(dv) => check_shape(item, dv, &here, problems),
        }
    }
}

fn check_credential(v: &toml::Value, path: &str, problems: &mut Vec<String>) {
    let toml::Value::Table(t) = v else {
        problems.push(format!("{path}: expected a table, got {}", type_name(v)));
        return;
    };
    for (k, item) in t {
        match k.as_str() {
            "access_key_id" | "access_key_secret" => {
                if !item.is_str() {
                    problems.push(format!("{path}.{k}: expected a string, got {}", type_name(item)));
                }
            }
            _ => problems.push(format!("{path}.{k}: unknown key")),
        }
    }
    for k in ["access_key_id", "access_key_secret"] {
        if !t.contains_key(k) {
            problems.push(format!("{path}.{k}: missing"));
        }
    }
}

/// Turn the as-typed configuration into the resolved one, collecting every problem.
pub fn validate(raw: RawConfig) -> Result<Config, ConfigErrors> {
    let mut p: Vec<String> = Vec::new();
    let addr = |key: &str, v: &str, p: &mut Vec<String>| -> SocketAddr {
        v.parse().unwrap_or_else(|_| {
            p.push(format!("{key}: \"{v}\" is not an address such as 127.0.0.1:8080"));
            SocketAddr::from(([127, 0, 0, 1], 0))
        })
    };
    let dur = |key: &str, v: &str, p: &mut Vec<String>| -> Duration {
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
    };
    let size = |key: &str, v: &SizeSpec, p: &mut Vec<String>| -> u64 {
        v.resolve().unwrap_or_else(|e| {
            p.push(format!("{key}: {e}"));
            0
        })
    };

    let s = &raw.server;
    let listen = addr("server.listen", &s.listen, &mut p);
    let admin_listen = addr("server.admin_listen", &s.admin_listen, &mut p);
    if listen == admin_listen && listen.port() != 0 {
        p.push("server.admin_listen: must differ from server.listen".into());
    }
    let domains = lower_domains("server.domains", &s.domains, &mut p);
    let origin_timeout = dur("server.origin_timeout", &s.origin_timeout, &mut p);
    let request_timeout = dur("server.request_timeout", &s.request_timeout, &mut p);
    let shutdown_timeout = dur("server.shutdown_timeout", &s.shutdown_timeout, &mut p);
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
    let max_memory = size("server.max_memory", &s.max_memory, &mut p);
    let write_buffer = size("server.write_buffer", &s.write_buffer, &mut p);
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

    let o = &raw.origin;
    let origin = match o.kind.as_str() {
        "fs" => {
            let root = PathBuf::from(&o.root);
            if o.root.is_empty() {
                p.push("origin.root: required when origin.kind = \"fs\"".into());
            } else if !root.is_dir() {
                p.push(format!("origin.root: \"{}\" is not a folder", o.root));
            }
            OriginConfig::Fs { root }
        }
        "s3" => {
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
        other => {
            p.push(format!("origin.kind: \"{other}\" is not one of fs, s3"));
            OriginConfig::Fs { root: PathBuf::from(&o.root) }
        }
    };

    let c = &raw.cache;
    let result_max_bytes = size("cache.result_max_bytes", &c.result_max_bytes, &mut p);
    let source_max_bytes = size("cache.source_max_bytes", &c.source_max_bytes, &mut p);
    let cache_ttl = dur("cache.ttl", &c.ttl, &mut p);
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
    let shared_ttl = dur("cache.shared.ttl", &c.shared.ttl, &mut p);
    let shared = if c.shared.bucket.is_empty() {
        None
    } else {
        let b = &c.shared.bucket;
        if b.contains(['/', '\\', '\0']) || b == ".." || b == "." {
            p.push(format!("cache.shared.bucket: \"{b}\" is not a bucket name"));
        }
        let pre = &c.shared.prefix;
        if pre.starts_with('/') || pre.split('/').any(|s| s == ".." || s == ".") || pre.contains('\0') {
            p.push("cache.shared.prefix: must be relative and must not contain \".\" or \"..\"".into());
        }
        if shared_ttl.is_zero() {
            p.push("cache.shared.ttl: must be greater than zero".into());
        }
        Some(SharedConfig { bucket: b.clone(), prefix: pre.clone(), ttl: shared_ttl })
    };

    let l = &raw.limits;
    let side = |key: &str, v: u64, p: &mut Vec<String>| -> u32 {
        if v == 0 || v > 1_000_000 {
            p.push(format!("{key}: must be in [1, 1000000]"));
            1
        } else {
            v as u32
        }
    };
    let limits = Limits {
        max_source_bytes: size("limits.max_source_bytes", &l.max_source_bytes, &mut p),
        max_source_side: side("limits.max_source_side", l.max_source_side, &mut p),
        max_source_pixels: l.max_source_pixels,
        max_output_side: side("limits.max_output_side", l.max_output_side, &mut p),
        max_output_pixels: l.max_output_pixels,
        max_rotate_side: side("limits.max_rotate_side", l.max_rotate_side, &mut p),
    };
    if limits.max_source_bytes == 0 {
        p.push("limits.max_source_bytes: must be greater than zero".into());
    }
    if limits.max_source_pixels == 0 {
        p.push("limits.max_source_pixels: must be greater than zero".into());
    }
    if limits.max_output_pixels == 0 {
        p.push("limits.max_output_pixels: must be greater than zero".into());
    }

    let mut font_dirs = Vec::new();
    for d in &raw.watermark.font_dirs {
        if d.is_empty() || d.contains('\0') {
            p.push(format!("watermark.font_dirs: \"{d}\" is not a folder path"));
        } else {
            font_dirs.push(PathBuf::from(d));
        }
    }

    let mut credentials = BTreeMap::new();
    for (i, cred) in raw.credentials.iter().enumerate() {
        if cred.access_key_id.is_empty() || cred.access_key_secret.is_empty() {
            p.push(format!("credentials[{i}]: access_key_id and access_key_secret must not be empty"));
        } else if credentials.insert(cred.access_key_id.clone(), cred.access_key_secret.clone()).is_some() {
            p.push(format!("credentials[{i}]: access_key_id \"{}\" is listed twice", cred.access_key_id));
        }
    }

    let mut buckets = BTreeMap::new();
    let mut domain_owner: BTreeMap<String, String> = BTreeMap::new();
    for (name, b) in &raw.buckets {
        let at = format!("buckets.{name}");
        if !valid_bucket_name(name) {
            p.push(format!("{at}: \"{name}\" is not a bucket name (3-63 of a-z 0-9 - _ .)"));
        }
        let acl = match b.acl.as_str() {
            "public-read" => Acl::PublicRead,
            "private" => Acl::Private,
            other => {
                p.push(format!("{at}.acl: \"{other}\" is not one of public-read, private"));
                Acl::PublicRead
            }
        };
        if acl == Acl::Private && raw.credentials.is_empty() {
            p.push(format!("{at}.acl: \"private\" needs at least one [[credentials]] key to sign with"));
        }
        let origin_bucket = if b.origin_bucket.is_empty() { name.clone() } else { b.origin_bucket.clone() };
        if origin_bucket.contains(['/', '\\', '\0']) || origin_bucket == ".." || origin_bucket == "." {
            p.push(format!("{at}.origin_bucket: \"{origin_bucket}\" is not a bucket name"));
        }
        if b.prefix.starts_with('/') || b.prefix.split('/').any(|c| c == "..") || b.prefix.contains('\0') {
            p.push(format!("{at}.prefix: must be relative and must not contain \"..\""));
        }
        let domains = lower_domains(&format!("{at}.domains"), &b.domains, &mut p);
        for d in &domains {
            if let Some(other) = domain_owner.insert(d.clone(), name.clone()) {
                p.push(format!("{at}.domains: \"{d}\" is also a domain of bucket {other}"));
            }
        }
        for d in &b.style_delimiters {
            if d.chars().count() != 1 || !matches!(d.as_str(), "!" | "-" | "_" | "/" | "@" | "~" | "+" | ".")
            {
                p.push(format!("{at}.style_delimiters: \"{d}\" is not one of ! - _ / @ ~ + ."));
            }
        }
        if b.styles.len() > 50 {
            p.push(format!("{at}.styles: at most 50 styles per bucket, got {}", b.styles.len()));
        }
        for (style, content) in &b.styles {
            if let Err(e) = crate::chain::check_style(style, content) {
                p.push(format!("{at}.styles.{style}: {e}"));
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
        for r in &b.referers {
            if r.is_empty() || r.contains(char::is_whitespace) {
                p.push(format!("{at}.referers: \"{r}\" is not a referer pattern"));
            }
        }
        buckets.insert(
            name.clone(),
            BucketConfig {
                name: name.clone(),
                origin_bucket,
                prefix: b.prefix.clone(),
                acl,
                domains,
                style_delimiters: b.style_delimiters.clone(),
                source_protection: b.source_protection,
                protected_suffixes: b.protected_suffixes.clone(),
                referers: b.referers.clone(),
                allow_empty_referer: b.allow_empty_referer,
                styles: b.styles.clone(),
            },
        );
    }

    if !p.is_empty() {
        return Err(ConfigErrors(p));
    }
    Ok(Config {
        listen,
        admin_listen,
        domains,
        region: s.region.clone(),
        workers,
        queue: s.queue as usize,
        origin_timeout,
        request_timeout,
        shutdown_timeout,
        log_format,
        max_memory,
        upgrade_sock: PathBuf::from(&s.upgrade_sock),
        write_buffer: write_buffer as usize,
        origin,
        origin_max_requests: raw.origin.max_connections.max(1) as usize,
        result_max_bytes,
        source_max_bytes,
        cache_ttl,
        shared,
        query,
        retain: c.retain.clone(),
        cache_control: c.cache_control.clone(),
        limits,
        font_dirs,
        credentials,
        buckets,
        raw,
    })
}

fn lower_domains(key: &str, domains: &[String], p: &mut Vec<String>) -> Vec<String> {
    domains
        .iter()
        .map(|d| {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            if d.is_empty()
                || d.contains(['/', ':', ' '])
                || !d.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
            {
                p.push(format!("{key}: \"{d}\" is not a domain name"));
            }
            d
        })
        .collect()
}

/// Bucket names as OSS and S3 allow them (plus `_`, which local folders often use).
pub fn valid_bucket_name(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.'))
        && !name.starts_with(['-', '.'])
        && name != ".."
}

/// `"500ms"`, `"10s"`, `"5m"`, `"1h"`, `"7d"`; a bare number is seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 =
        num.parse().map_err(|_| format!("\"{s}\" is not a duration such as \"500ms\", \"10s\", \"1h\""))?;
    let secs = match unit.trim() {
        "ms" => n / 1000.0,
        "" | "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        "d" => n * 86400.0,
        _ => return Err(format!("\"{s}\" is not a duration such as \"500ms\", \"10s\", \"1h\"")),
    };
    if !secs.is_finite() || !(0.0..=1e9).contains(&secs) {
        return Err(format!("\"{s}\" is out of range"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// `"256MiB"`, `"20MB"`, `"1GiB"`, `"512KiB"`, `"1024"`.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num.parse().map_err(|_| format!("\"{s}\" is not a size such as \"256MiB\""))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1000,
        "kib" => 1 << 10,
        "m" | "mb" => 1_000_000,
        "mib" => 1 << 20,
        "g" | "gb" => 1_000_000_000,
        "gib" => 1 << 30,
        _ => return Err(format!("\"{s}\" is not a size such as \"256MiB\"")),
    };
    n.checked_mul(mult).ok_or_else(|| format!("\"{s}\" is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_str(text: &str, env: &[(&str, &str)]) -> Result<Config, ConfigErrors> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pixgate.toml");
        std::fs::write(&path, text).unwrap();
        let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let root = dir.path().to_str().unwrap().to_string();
        load(Some(&path), &env, &CliOverrides { root: Some(root), ..Default::default() })
    }

    #[test]
    fn defaults_are_the_contract() {
        let c = load_str("", &[]).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.admin_listen.to_string(), "127.0.0.1:9090");
        assert_eq!(c.queue, 256);
        assert_eq!(c.origin_timeout, Duration::from_secs(10));
        assert_eq!(c.request_timeout, Duration::from_secs(30));
        assert_eq!(c.result_max_bytes, 256 << 20);
        assert_eq!(c.cache_ttl, Duration::from_secs(3600));
        assert_eq!(c.query, QueryMode::Retain);
        assert_eq!(c.retain, vec!["x-oss-process".to_string()]);
        assert_eq!(c.limits.max_source_bytes, 20_971_520);
        assert_eq!(c.limits.max_output_pixels, 16_777_216);
        assert!(c.workers >= 1);
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let err = load_str(
            "[server]\nlisten = \"nope\"\nbogus = 1\norigin_timeout = \"ten\"\n[limits]\nmax_source_side = 0\n\
             [cache]\nquery = \"sometimes\"\n[buckets.photos]\nacl = \"open\"\n",
            &[],
        )
        .unwrap_err();
        // Shape problems (unknown keys) come first and stop before value checks.
        assert_eq!(err.0, vec!["server.bogus: unknown key".to_string()]);
        let err = load_str(
            "[server]\nlisten = \"nope\"\norigin_timeout = \"ten\"\n[limits]\nmax_source_side = 0\n\
             [cache]\nquery = \"sometimes\"\n[buckets.photos]\nacl = \"open\"\n",
            &[],
        )
        .unwrap_err();
        assert_eq!(err.0.len(), 5, "{err}");
        assert!(err.0.iter().any(|l| l.starts_with("server.listen:")));
        assert!(err.0.iter().any(|l| l.starts_with("server.origin_timeout:")));
        assert!(err.0.iter().any(|l| l.starts_with("limits.max_source_side:")));
        assert!(err.0.iter().any(|l| l.starts_with("cache.query:")));
        assert!(err.0.iter().any(|l| l.starts_with("buckets.photos.acl:")));
    }

    #[test]
    fn wrong_types_are_all_reported() {
        let err =
            load_str("[server]\nworkers = \"four\"\nqueue = true\n[limits]\nmax_source_side = \"x\"\n", &[])
                .unwrap_err();
        assert_eq!(err.0.len(), 3, "{err}");
    }

    #[test]
    fn env_overrides_take_the_type_of_the_key() {
        let c = load_str(
            "",
            &[
                ("PIXGATE_SERVER_LISTEN", "127.0.0.1:1234"),
                ("PIXGATE_SERVER_WORKERS", "3"),
                ("PIXGATE_CACHE_RESULT_MAX_BYTES", "1MiB"),
                ("PIXGATE_SERVER_DOMAINS", "[\"img.example.com\"]"),
                ("PIXGATE_LOG", "debug"),
            ],
        )
        .unwrap();
        assert_eq!(c.listen.port(), 1234);
        assert_eq!(c.workers, 3);
        assert_eq!(c.result_max_bytes, 1 << 20);
        assert_eq!(c.domains, vec!["img.example.com".to_string()]);
        let err = load_str("", &[("PIXGATE_SERVER_NOPE", "1")]).unwrap_err();
        assert_eq!(err.0, vec!["PIXGATE_SERVER_NOPE: not a configuration key".to_string()]);
    }

    #[test]
    fn credentials_from_the_environment_join_the_file() {
        let file = "[[credentials]]\naccess_key_id = \"A\"\naccess_key_secret = \"a\"\n";
        let c = load_str(file, &[("PIXGATE_CREDENTIALS", "B:b, C:c:with-colon")]).unwrap();
        assert_eq!(c.credentials.get("A").map(String::as_str), Some("a"));
        assert_eq!(c.credentials.get("B").map(String::as_str), Some("b"));
        assert_eq!(c.credentials.get("C").map(String::as_str), Some("c:with-colon"));
        let err = load_str("", &[("PIXGATE_CREDENTIALS", "nocolon")]).unwrap_err();
        assert!(err.0[0].contains("PIXGATE_CREDENTIALS"), "{err:?}");
        let err = load_str(file, &[("PIXGATE_CREDENTIALS", "A:again")]).unwrap_err();
        assert!(err.0[0].contains("listed twice"), "{err:?}");
    }

    #[test]
    fn effective_config_round_trips() {
        let c = load_str("[server]\nqueue = 7\n[buckets.photos]\nprefix = \"p/\"\n", &[]).unwrap();
        let printed = c.raw.to_toml();
        let again: RawConfig = toml::from_str(&printed).unwrap();
        assert_eq!(again, c.raw);
        assert!(printed.contains("queue = 7"));
    }

    #[test]
    fn durations_and_sizes() {
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("7d").unwrap(), Duration::from_secs(7 * 86400));
        assert_eq!(parse_duration("2").unwrap(), Duration::from_secs(2));
        assert!(parse_duration("1 fortnight").is_err());
        assert_eq!(parse_size("256MiB").unwrap(), 256 << 20);
        assert_eq!(parse_size("20MB").unwrap(), 20_000_000);
        assert!(parse_size("99999999999GiB").is_err());
        assert!(parse_size("lots").is_err());
    }

    #[test]
    fn bucket_names() {
        assert!(valid_bucket_name("photos"));
        assert!(valid_bucket_name("my_photos.v2"));
        assert!(!valid_bucket_name("ab"));
        assert!(!valid_bucket_name("Photos"));
        assert!(!valid_bucket_name("a/b/c"));
        assert!(!valid_bucket_name(".."));
    }
}
