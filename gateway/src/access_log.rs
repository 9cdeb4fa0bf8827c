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
        let failure =
            matches!(self.error.as_ref().map(|(f, _)| *f), Some(Fault::Internal) | Some(Fault::Origin));
        if !failure
            && tracing::enabled!(target: "pixgate::access", tracing::Level::INFO)
            && let Some(out) = crate::logging::text_lines()
        {
            // The text format's line, formatted here rather than through `tracing`'s
            // field visitors (a third of the cost of a cache hit's own work).
            let fields: [(&str, Value<'_>); 18] = [
                ("method", Value::Str(method)),
                ("bucket", Value::Str(bucket)),
                ("key", Value::Str(key)),
                ("process", Value::Str(process)),
                ("status", Value::Int(u64::from(status))),
                ("bytes", Value::Int(bytes)),
                ("duration_ms", Value::Float(duration_ms)),
                ("cache", Value::Str(cache)),
                ("request_id", Value::Str(request_id)),
                ("fault", Value::Str(fault)),
                ("error", Value::Str(error)),
                ("proxy_error", Value::Str(proxy_error)),
                ("client", Value::Str(client)),
                ("forwarded_for", Value::Str(forwarded_for)),
                ("host", Value::Str(host)),
                ("user_agent", Value::Str(user_agent)),
                ("referer", Value::Str(referer)),
                ("client_request_id", Value::Str(client_request_id)),
            ];
            out.append_line(text_line(std::time::SystemTime::now(), &fields).as_bytes());
            return;
        }
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

/// A field's value in a text line, printed as `tracing`'s default visitor prints it.
#[derive(Clone, Copy)]
pub(crate) enum Value<'a> {
    Str(&'a str),
    Int(u64),
    Float(f64),
}

/// One `info` line of the text format, exactly as `tracing_subscriber`'s `fmt` layer writes it
/// without colours: RFC 3339 UTC time with microseconds, the level right-aligned in five
/// columns, the target, then `name=value` with strings in `Debug` quoting.
pub(crate) fn text_line(now: std::time::SystemTime, fields: &[(&str, Value<'_>)]) -> String {
    use std::fmt::Write;
    let mut line = String::with_capacity(512);
    write_rfc3339_micros(&mut line, now);
    line.push_str("  INFO pixgate::access:");
    for (name, value) in fields {
        let _ = match value {
            // What `{:?}` prints for a string with nothing to escape, without its per-char walk.
            Value::Str(v) if v.bytes().all(|b| (0x20..0x7F).contains(&b) && b != b'"' && b != b'\\') => {
                line.push(' ');
                line.push_str(name);
                line.push_str("=\"");
                line.push_str(v);
                line.push('"');
                Ok(())
            }
            Value::Str(v) => write!(line, " {name}={v:?}"),
            Value::Int(v) => write!(line, " {name}={v}"),
            Value::Float(v) => write!(line, " {name}={v:?}"),
        };
    }
    line.push('\n');
    line
}

/// `2026-12-06T05:33:07.093063Z`.
fn write_rfc3339_micros(out: &mut String, t: std::time::SystemTime) {
    use std::fmt::Write;
    let since = t.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    // Days to a civil date (proleptic Gregorian), after Howard Hinnant's algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let _ = write!(
        out,
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        since.subsec_micros()
    );
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use super::*;

    fn at(secs: u64, micros: u32) -> String {
        let mut s = String::new();
        write_rfc3339_micros(&mut s, UNIX_EPOCH + Duration::new(secs, micros * 1000));
        s
    }

    #[test]
    fn timestamps_are_rfc3339_utc_with_microseconds() {
        assert_eq!(at(0, 0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(at(951_782_400, 5), "2000-02-29T00:00:00.000005Z");
        assert_eq!(at(1_796_535_187, 93_063), "2026-12-06T05:33:07.093063Z");
        assert_eq!(at(4_102_444_799, 999_999), "2099-12-31T23:59:59.999999Z");
    }

    /// The line is the one `tracing`'s text format writes for the same event.
    #[test]
    fn the_text_line_is_tracings() {
        use tracing_subscriber::prelude::*;
        #[derive(Clone, Default)]
        struct Sink(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
        impl std::io::Write for Sink {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let sink = Sink::default();
        let writer = sink.clone();
        let subscriber = tracing_subscriber::registry().with(
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .without_time()
                .with_writer(move || writer.clone()),
        );
        let (method, key, status, bytes, duration_ms) =
            ("GET", "a \"quoted\"\\path\u{7}é.jpg", 200u16, 18_219u64, 0.0199);
        let whole = 3.0f64;
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(target: "pixgate::access", method, key, status, bytes, duration_ms, whole);
        });
        let fields = [
            ("method", Value::Str(method)),
            ("key", Value::Str(key)),
            ("status", Value::Int(u64::from(status))),
            ("bytes", Value::Int(bytes)),
            ("duration_ms", Value::Float(duration_ms)),
            ("whole", Value::Float(whole)),
        ];
        let ours = text_line(SystemTime::now(), &fields);
        let theirs = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        // Ours starts with the timestamp and two spaces; theirs (without time) with one.
        assert_eq!(&ours[ours.find("  INFO").unwrap() + 1..], theirs);
    }
}
