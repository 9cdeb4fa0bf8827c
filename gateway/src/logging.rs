//! Logging: `tracing` to stdout through a writer thread; the access log is target
//! `pixgate::access`.

use crate::config::LogFormat;

/// The log writer's guard: dropping it flushes the lines still queued. Taken by
/// [`flush`] before the process exits.
static LOG_GUARD: std::sync::Mutex<Option<tracing_appender::non_blocking::WorkerGuard>> =
    std::sync::Mutex::new(None);

/// Write out every queued log line (call before exiting the process).
pub fn flush() {
    if let Ok(mut g) = LOG_GUARD.lock() {
        g.take();
    }
}

/// Logs go to stdout through a dedicated writer thread, so a request never waits on a write
/// syscall; the queue blocks rather than drops when it is full (access lines are not lossy).
pub fn init(format: LogFormat, access_log: bool) {
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
    let env_filter = tracing_subscriber::EnvFilter::try_new(&filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        // The writer thread drains every queued line, then flushes: under load, many lines
        // leave in one write.
        .finish(std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout()));
    if let Ok(mut g) = LOG_GUARD.lock() {
        *g = Some(guard);
    }
    let builder = tracing_subscriber::fmt().with_env_filter(env_filter).with_writer(writer);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.with_ansi(false).try_init(),
    };
}
