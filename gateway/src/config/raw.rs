//! The configuration as written: every section with its defaults, in one place. Printing a
//! [`RawConfig`] gives the effective configuration.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::units::parse_size;

/// A size as written in the file: a number of bytes or a string such as `"256MiB"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SizeSpec {
    Bytes(u64),
    Text(String),
}

impl SizeSpec {
    pub(super) fn resolve(&self) -> Result<u64, String> {
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
    /// When set, admin writes (`POST /purge`) need `Authorization: Bearer <admin_token>`.
    pub admin_token: String,
    /// One line per request on target `pixgate::access`, whatever `PIXGATE_LOG` says.
    pub access_log: bool,
    /// Formats a processed response without a `format` action is encoded in when the
    /// request's `Accept` names one explicitly, in order of preference (`webp`, `avif`).
    pub auto_format: Vec<String>,
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
            admin_token: String::new(),
            access_log: true,
            auto_format: Vec::new(),
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
    /// Overrides `cache.cache_control` for this bucket ("" = inherit).
    pub cache_control: String,
    /// Overrides `server.auto_format` for this bucket (absent = inherit; `[]` = off).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_format: Option<Vec<String>>,
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
            cache_control: String::new(),
            auto_format: None,
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

/// `[styles]`: where the Style API keeps the styles it stores, and how soon every replica sees
/// a change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawStyles {
    /// The origin bucket (s3) or sub-folder (fs) that keeps stored styles; empty = the Style API
    /// answers 501 NotImplemented.
    pub store_bucket: String,
    /// Stored styles are `<store_prefix><bucket>/<name>`.
    pub store_prefix: String,
    /// How often every replica re-reads the store.
    pub refresh: String,
}

impl Default for RawStyles {
    fn default() -> Self {
        RawStyles {
            store_bucket: String::new(),
            store_prefix: "pixgate-styles/".into(),
            refresh: "10s".into(),
        }
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
    pub styles: RawStyles,
    pub credentials: Vec<RawCredential>,
    pub buckets: BTreeMap<String, RawBucket>,
}

impl RawConfig {
    /// The effective configuration as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_else(|e| format!("# cannot print the configuration: {e}\n"))
    }

    /// The same configuration with every secret replaced by `<redacted>` (for printing).
    pub fn redacted(&self) -> RawConfig {
        let hide = |s: &mut String| {
            if !s.is_empty() {
                *s = "<redacted>".into();
            }
        };
        let mut r = self.clone();
        hide(&mut r.origin.secret_access_key);
        hide(&mut r.server.admin_token);
        for c in &mut r.credentials {
            hide(&mut c.access_key_secret);
        }
        r
    }
}
