//! What one request leaves behind: its fields for the access log (target `pixgate::access`)
//! and the labels of the request metrics.

use std::io::Write;
use std::time::Duration;

use pixgate_cache::Outcome;

use crate::config::LogFormat;
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
        let failure =
            matches!(self.error.as_ref().map(|(f, _)| *f), Some(Fault::Internal) | Some(Fault::Origin));
        let level = if failure { Level::Warn } else { Level::Info };
        let enabled = match level {
            Level::Info => tracing::enabled!(target: TARGET, tracing::Level::INFO),
            Level::Warn => tracing::enabled!(target: TARGET, tracing::Level::WARN),
        };
        if !enabled {
            return;
        }
        let Client { method, addr, forwarded_for, host, user_agent, referer } = client;
        let fields: [(&str, Value<'_>); 18] = [
            ("method", Value::Str(method)),
            ("bucket", Value::Str(&self.bucket)),
            ("key", Value::Str(&self.key)),
            ("process", Value::Str(&self.process)),
            ("status", Value::Int(u64::from(self.status))),
            ("bytes", Value::Int(self.bytes)),
            ("duration_ms", Value::Float(elapsed.as_secs_f64() * 1000.0)),
            ("cache", Value::Str(self.cache.as_str())),
            ("request_id", Value::Str(request_id)),
            ("fault", Value::Str(self.error.as_ref().map(|(f, _)| f.as_str()).unwrap_or("-"))),
            ("error", Value::Str(self.error.as_ref().map(|(_, d)| d.as_str()).unwrap_or(""))),
            ("proxy_error", Value::Str(proxy_error)),
            ("client", Value::Str(addr)),
            ("forwarded_for", Value::Str(forwarded_for)),
            ("host", Value::Str(host)),
            ("user_agent", Value::Str(user_agent)),
            ("referer", Value::Str(referer)),
            ("client_request_id", Value::Str(self.client_request_id.as_deref().unwrap_or(""))),
        ];
        let now = std::time::SystemTime::now();
        match crate::logging::access_sink() {
            // Formatted here, straight into this thread's log buffer, rather than through
            // `tracing`'s field visitors (a third of the cost of a cache hit's own work).
            Some((out, LogFormat::Text)) => out.append_with(|b| text_line(b, now, level, &fields)),
            Some((out, LogFormat::Json)) => out.append_with(|b| json_line(b, now, level, &fields)),
            // A subscriber Pixgate did not install: the fields as the event's message.
            None => {
                let mut line = Vec::with_capacity(512);
                text_fields(&mut line, &fields);
                let line = String::from_utf8_lossy(line.trim_ascii_start());
                match level {
                    Level::Info => tracing::info!(target: TARGET, "{line}"),
                    Level::Warn => tracing::warn!(target: TARGET, "{line}"),
                }
            }
        }
    }
}

/// The access log's `tracing` target, which the level filter and `server.access_log` act on.
const TARGET: &str = "pixgate::access";

/// The level of an access line: `warn` for the origin's and Pixgate's own failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Level {
    Info,
    Warn,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Level::Info => "INFO",
            Level::Warn => "WARN",
        }
    }
}

/// A field's value in a line, printed as `tracing`'s default visitors print it.
#[derive(Clone, Copy)]
pub(crate) enum Value<'a> {
    Str(&'a str),
    Int(u64),
    Float(f64),
}

/// One line of the text format, exactly as `tracing_subscriber`'s `fmt` layer writes it
/// without colours: RFC 3339 UTC time with microseconds, the level right-aligned in five
/// columns, the target, then `name=value` with strings in `Debug` quoting.
pub(crate) fn text_line(
    out: &mut Vec<u8>,
    now: std::time::SystemTime,
    level: Level,
    fields: &[(&str, Value<'_>)],
) {
    write_rfc3339_micros(out, now);
    let _ = write!(out, " {:>5} {TARGET}:", level.as_str());
    text_fields(out, fields);
    out.push(b'\n');
}

/// ` name=value` for each field, as the text format writes them.
fn text_fields(out: &mut Vec<u8>, fields: &[(&str, Value<'_>)]) {
    for (name, value) in fields {
        let _ = match value {
            // What `{:?}` prints for a string with nothing to escape, without its per-char walk.
            Value::Str(v) if v.bytes().all(|b| (0x20..0x7F).contains(&b) && b != b'"' && b != b'\\') => {
                out.push(b' ');
                out.extend_from_slice(name.as_bytes());
                out.extend_from_slice(b"=\"");
                out.extend_from_slice(v.as_bytes());
                out.push(b'"');
                Ok(())
            }
            Value::Str(v) => write!(out, " {name}={v:?}"),
            Value::Int(v) => write!(out, " {name}={v}"),
            Value::Float(v) => write!(out, " {name}={v:?}"),
        };
    }
}

/// One line of the JSON format, exactly as `tracing_subscriber`'s JSON layer writes it with
/// `flatten_event(true)`: `timestamp`, `level`, the fields, then `target`.
pub(crate) fn json_line(
    out: &mut Vec<u8>,
    now: std::time::SystemTime,
    level: Level,
    fields: &[(&str, Value<'_>)],
) {
    out.extend_from_slice(b"{\"timestamp\":\"");
    write_rfc3339_micros(out, now);
    let _ = write!(out, "\",\"level\":\"{}\"", level.as_str());
    for (name, value) in fields {
        out.push(b',');
        let _ = serde_json::to_writer(&mut *out, name);
        out.push(b':');
        let _ = match value {
            Value::Str(v) => serde_json::to_writer(&mut *out, v),
            Value::Int(v) => serde_json::to_writer(&mut *out, v),
            Value::Float(v) => serde_json::to_writer(&mut *out, v),
        };
    }
    let _ = writeln!(out, ",\"target\":\"{TARGET}\"}}");
}

/// `2026-12-06T05:33:07.093063Z`.
fn write_rfc3339_micros(out: &mut Vec<u8>, t: std::time::SystemTime) {
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
        let mut s = Vec::new();
        write_rfc3339_micros(&mut s, UNIX_EPOCH + Duration::new(secs, micros * 1000));
        String::from_utf8(s).unwrap()
    }

    #[test]
    fn timestamps_are_rfc3339_utc_with_microseconds() {
        assert_eq!(at(0, 0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(at(951_782_400, 5), "2000-02-29T00:00:00.000005Z");
        assert_eq!(at(1_796_535_187, 93_063), "2026-12-06T05:33:07.093063Z");
        assert_eq!(at(4_102_444_799, 999_999), "2099-12-31T23:59:59.999999Z");
    }

    /// What `tracing`'s own layer (text, or JSON with flattened events) writes for an info and
    /// a warn event with `fields`, without its timestamp.
    fn tracings(json: bool, method: &str, key: &str, status: u16, bytes: u64, duration_ms: f64) -> String {
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
        let layer = tracing_subscriber::fmt::layer().with_ansi(false).without_time();
        let emit = || {
            tracing::info!(target: "pixgate::access", method, key, status, bytes, duration_ms);
            tracing::warn!(target: "pixgate::access", method, key, status, bytes, duration_ms);
        };
        if json {
            let layer = layer.json().flatten_event(true).with_writer(move || writer.clone());
            tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), emit);
        } else {
            let layer = layer.with_writer(move || writer.clone());
            tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), emit);
        }
        String::from_utf8(sink.0.lock().unwrap().clone()).unwrap()
    }

    /// Our lines are the ones `tracing`'s text and JSON layers write for the same events,
    /// escapes, whole floats and both levels included.
    #[test]
    fn the_lines_are_tracings() {
        for (key, duration_ms) in [("a \"quoted\"\\path\u{7}é.jpg", 0.0199), ("plain/key.jpg", 3.0)] {
            let (method, status, bytes) = ("GET", 200u16, 18_219u64);
            let fields = [
                ("method", Value::Str(method)),
                ("key", Value::Str(key)),
                ("status", Value::Int(u64::from(status))),
                ("bytes", Value::Int(bytes)),
                ("duration_ms", Value::Float(duration_ms)),
            ];
            let now = SystemTime::now();
            let stamp = at(
                now.duration_since(UNIX_EPOCH).unwrap().as_secs(),
                now.duration_since(UNIX_EPOCH).unwrap().subsec_micros(),
            );
            let mut text = Vec::new();
            let mut json = Vec::new();
            for level in [Level::Info, Level::Warn] {
                text_line(&mut text, now, level, &fields);
                json_line(&mut json, now, level, &fields);
            }
            let text = String::from_utf8(text).unwrap();
            let json = String::from_utf8(json).unwrap();
            // Ours start with the timestamp and a space; theirs have no time.
            let text = text.replace(&format!("{stamp} "), "");
            let json = json.replace(&format!("\"timestamp\":\"{stamp}\","), "");
            assert_eq!(text, tracings(false, method, key, status, bytes, duration_ms));
            assert_eq!(json, tracings(true, method, key, status, bytes, duration_ms));
            assert_eq!(text.lines().count(), 2);
            assert!(json.lines().all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()), "{json}");
        }
    }
}
