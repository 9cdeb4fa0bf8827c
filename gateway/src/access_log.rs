//! What one request leaves behind: its fields for the access log (target `pixgate::access`)
//! and the labels of the request metrics.

use std::time::Duration;

use pixgate_cache::Outcome;

use crate::error::Fault;

/// Which kind of request, for the `route` label and the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RouteKind {
    #[default]
    Original,
    Process,
    /// `info` or `average-hue`: JSON answers.
    Info,
    SaveAs,
    /// The Style API (`?style` on a bucket).
    Style,
}

impl RouteKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RouteKind::Original => "original",
            RouteKind::Process => "process",
            RouteKind::Info => "info",
            RouteKind::SaveAs => "saveas",
            RouteKind::Style => "style",
        }
    }
}

/// How a processed response was found: the `x-pixgate-cache` header and the log's `cache`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CacheStatus {
    /// Not a cached kind of response (originals, errors, saveas).
    #[default]
    None,
    Hit,
    Miss,
    Coalesced,
    /// A miss here, answered by a render another replica stored in the shared level.
    Shared,
}

impl CacheStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CacheStatus::None => "-",
            CacheStatus::Hit => "hit",
            CacheStatus::Miss => "miss",
            CacheStatus::Coalesced => "coalesced",
            CacheStatus::Shared => "shared",
        }
    }
}

impl From<Outcome> for CacheStatus {
    fn from(o: Outcome) -> Self {
        match o {
            Outcome::Hit => CacheStatus::Hit,
            Outcome::Miss => CacheStatus::Miss,
            Outcome::Coalesced => CacheStatus::Coalesced,
        }
    }
}

/// The fields of one access-log line, filled in as the request goes.
#[derive(Debug, Default)]
pub struct RequestLog {
    pub kind: RouteKind,
    pub bucket: String,
    pub key: String,
    /// The processing asked for, as written (`style/<name>` for the delimiter form).
    pub process: String,
    pub status: u16,
    pub bytes: u64,
    pub cache: CacheStatus,
    /// Who caused a failure, and the detail (internal; never sent).
    pub error: Option<(Fault, String)>,
    /// The client's own `X-Request-Id`, when it sent a usable one (echoed in the response).
    pub client_request_id: Option<String>,
}

/// Who sent a request, from its connection and headers, for the access line.
#[derive(Debug, Default)]
pub struct Client<'a> {
    pub method: &'a str,
    pub addr: String,
    pub forwarded_for: &'a str,
    pub host: &'a str,
    pub user_agent: &'a str,
    pub referer: &'a str,
}

/// A client's `X-Request-Id` worth logging and echoing: 1 to 128 visible ASCII characters.
pub fn usable_request_id(v: &str) -> bool {
    (1..=128).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_graphic())
}

impl RequestLog {
    /// Write the line: `info`, or `warn` for the origin's and Pixgate's own failures. With the
    /// client's address, Host, User-Agent and Referer, a refusal (a hotlink, a signature) can
    /// be explained from the line alone.
    pub fn write(&self, client: &Client<'_>, request_id: &str, elapsed: Duration, proxy_error: &str) {
        let duration_ms = elapsed.as_secs_f64() * 1000.0;
        let error = self.error.as_ref().map(|(_, d)| d.as_str()).unwrap_or("");
        let fault = self.error.as_ref().map(|(f, _)| f.as_str()).unwrap_or("-");
        let (bucket, key, process) = (self.bucket.as_str(), self.key.as_str(), self.process.as_str());
        let (status, bytes, cache) = (self.status, self.bytes, self.cache.as_str());
        let Client { method, addr, forwarded_for, host, user_agent, referer } = client;
        let client = addr.as_str();
        let client_request_id = self.client_request_id.as_deref().unwrap_or("");
        match self.error.as_ref().map(|(f, _)| *f) {
            Some(Fault::Internal) | Some(Fault::Origin) => tracing::warn!(
                target: "pixgate::access",
                method, bucket, key, process, status, bytes, duration_ms, cache, request_id,
                fault, error, proxy_error, client, forwarded_for, host, user_agent, referer,
                client_request_id,
            ),
            _ => tracing::info!(
                target: "pixgate::access",
                method, bucket, key, process, status, bytes, duration_ms, cache, request_id,
                fault, error, proxy_error, client, forwarded_for, host, user_agent, referer,
                client_request_id,
            ),
        }
    }
}
