//! Logging: `tracing` to stdout through batched per-thread buffers and a writer thread
//! (`log_writer`); the access log is target
//! `pixgate::access`. The format (`server.log_format`) and the access log's switch
//! (`server.access_log`) can be changed while running (a reload): both formats are installed,
//! each behind a switch, and the level filter is reloadable.

use std::sync::OnceLock;

use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::prelude::*;
use tracing_subscriber::{EnvFilter, fmt, reload};

use crate::config::LogFormat;

/// The log writer's guard: dropping it flushes the lines still queued. Taken by
/// [`flush`] before the process exits.
static LOG_GUARD: std::sync::Mutex<Option<crate::log_writer::Guard>> = std::sync::Mutex::new(None);

/// The writer, and whether the JSON format is on: access lines are formatted by `access_log`
/// in the installed format and appended directly.
static WRITER: OnceLock<crate::log_writer::BatchWriter> = OnceLock::new();
static JSON: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Where access lines go, and in which format, when Pixgate installed the subscriber.
pub fn access_sink() -> Option<(&'static crate::log_writer::BatchWriter, LogFormat)> {
    let json = JSON.load(std::sync::atomic::Ordering::Relaxed);
    WRITER.get().map(|w| (w, if json { LogFormat::Json } else { LogFormat::Text }))
}

type Reconfigure = Box<dyn Fn(LogFormat, bool) -> Result<(), String> + Send + Sync>;

/// Changes the running subscriber's format and access-log switch (set by [`init`]).
static RECONFIGURE: OnceLock<Reconfigure> = OnceLock::new();

/// Write out every queued log line (call before exiting the process).
pub fn flush() {
    if let Ok(mut g) = LOG_GUARD.lock() {
        g.take();
    }
}

/// The level filter: `PIXGATE_LOG` (or `RUST_LOG`, else `info`), Pingora's chatter only when
/// asked for, and the access log on or off whatever the level says, unless the filter names it.
fn level_filter(access_log: bool) -> EnvFilter {
    let filter =
        std::env::var("PIXGATE_LOG").or_else(|_| std::env::var("RUST_LOG")).unwrap_or_else(|_| "info".into());
    // Pingora's own start-up chatter is only interesting when asked for.
    let mut filter = if filter.contains("pingora") {
        filter
    } else {
        format!("{filter},pingora_core=warn,pingora_proxy=warn,pingora=warn")
    };
    // The access log has its own switch (`server.access_log`): a quieter level for the rest
    // does not silence it, unless the filter names it.
    if !filter.contains("pixgate::access") {
        filter.push_str(if access_log { ",pixgate::access=info" } else { ",pixgate::access=off" });
    }
    EnvFilter::try_new(&filter).unwrap_or_else(|_| EnvFilter::new("info"))
}

/// The switches of the two formats: the chosen one passes everything the filter lets through.
fn switches(format: LogFormat) -> (LevelFilter, LevelFilter) {
    match format {
        LogFormat::Text => (LevelFilter::TRACE, LevelFilter::OFF),
        LogFormat::Json => (LevelFilter::OFF, LevelFilter::TRACE),
    }
}

/// Logs go to stdout in batches written by a dedicated thread (`log_writer`): a request
/// never waits on a write syscall or wakes a thread for its line, and no line is dropped.
pub fn init(format: LogFormat, access_log: bool) {
    let Ok((writer, guard)) = crate::log_writer::spawn(std::io::stdout()) else {
        eprintln!("pixgate: cannot start the log writer thread");
        return;
    };
    if let Ok(mut g) = LOG_GUARD.lock() {
        *g = Some(guard);
    }
    let (text_on, json_on) = switches(format);
    JSON.store(format == LogFormat::Json, std::sync::atomic::Ordering::Relaxed);
    let (levels, levels_handle) = reload::Layer::new(level_filter(access_log));
    let (text_switch, text_handle) = reload::Layer::new(text_on);
    let (json_switch, json_handle) = reload::Layer::new(json_on);
    let text = fmt::layer().with_ansi(false).with_writer(writer.clone()).with_filter(text_switch);
    let writer_for_access = writer.clone();
    let json = fmt::layer().json().flatten_event(true).with_writer(writer).with_filter(json_switch);
    let installed = tracing_subscriber::registry().with(levels).with(text).with(json).try_init();
    if installed.is_err() {
        return;
    }
    let _ = WRITER.set(writer_for_access);
    let reconfigure: Reconfigure = Box::new(move |format, access_log| {
        let (text_on, json_on) = switches(format);
        JSON.store(format == LogFormat::Json, std::sync::atomic::Ordering::Relaxed);
        levels_handle.reload(level_filter(access_log)).map_err(|e| e.to_string())?;
        text_handle.reload(text_on).map_err(|e| e.to_string())?;
        json_handle.reload(json_on).map_err(|e| e.to_string())
    });
    let _ = RECONFIGURE.set(reconfigure);
}

/// Switch the log format and the access log of the running process (a reload).
pub fn reconfigure(format: LogFormat, access_log: bool) -> Result<(), String> {
    match RECONFIGURE.get() {
        Some(reconfigure) => reconfigure(format, access_log),
        None => Err("the log subscriber was not installed by Pixgate".into()),
    }
}
