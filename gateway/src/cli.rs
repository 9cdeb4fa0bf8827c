//! Command line (contract §1), logging set-up and the Pingora server.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use clap::{Parser, Subcommand};
use pingora::server::configuration::{Opt, ServerConf};
use pingora::server::{ExecutionPhase, RunArgs, Server};

use crate::admin::Admin;
use crate::config::{self, CliOverrides, Config, LogFormat, OriginConfig};
use crate::metrics::Metrics;
use crate::origin::Origin;
use crate::origin::fs::FsOrigin;
use crate::origin::metered::Metered;
use crate::origin::s3::{S3Origin, S3Settings};
use crate::service::{Gateway, State};
use crate::shutdown::Signals;

/// Exit code for an invalid configuration.
pub const EXIT_CONFIG: i32 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "pixgate",
    version,
    about = "An image proxy that speaks Alibaba Cloud OSS Image Processing in front of S3, OSS, MinIO or a folder.",
    long_about = None
)]
struct Cli {
    /// TOML configuration file (contract §2). Every key has a default.
    #[arg(long, env = "PIXGATE_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Overrides server.listen.
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// Overrides server.admin_listen.
    #[arg(long, value_name = "ADDR")]
    admin_listen: Option<String>,
    /// Serve this folder: origin.kind = "fs", origin.root = DIR.
    #[arg(long, value_name = "DIR")]
    root: Option<String>,
    /// Take the listening sockets over from a running Pixgate (graceful upgrade): start this,
    /// then send SIGQUIT to the old process (README "Zero-downtime restart").
    #[arg(long)]
    upgrade: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate the configuration and print the effective configuration as TOML (exit 0 or 1).
    CheckConfig {
        #[arg(long, env = "PIXGATE_CONFIG", value_name = "FILE")]
        config: Option<PathBuf>,
        #[arg(long, value_name = "DIR")]
        root: Option<String>,
    },
}

/// The repository's demo folder, used when nothing says otherwise and `./samples` is absent.
fn builtin_samples() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples");
    p.is_dir().then(|| p.canonicalize().unwrap_or(p))
}

fn load(
    file: Option<&Path>,
    listen: Option<String>,
    admin_listen: Option<String>,
    root: Option<String>,
) -> Result<Config, config::ConfigErrors> {
    let env: Vec<(String, String)> = std::env::vars().filter(|(k, _)| k.starts_with("PIXGATE_")).collect();
    let mut root = root;
    let root_set_elsewhere =
        file.is_some() || env.iter().any(|(k, _)| k == "PIXGATE_ORIGIN_ROOT" || k == "PIXGATE_ORIGIN_KIND");
    if root.is_none() && !root_set_elsewhere && !Path::new("samples").is_dir() {
        root = builtin_samples().map(|p| p.to_string_lossy().into_owned());
    }
    config::load(file, &env, &CliOverrides { listen, admin_listen, root })
}

/// Run the command line; returns the process exit code.
pub fn run(args: impl IntoIterator<Item = OsString>) -> i32 {
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { EXIT_CONFIG } else { 0 };
        }
    };
    match cli.command {
        Some(Command::CheckConfig { config, root }) => match load(config.as_deref(), None, None, root) {
            Ok(c) => {
                print!("{}", c.raw.to_toml());
                0
            }
            Err(e) => {
                eprintln!("{e}");
                1
            }
        },
        None => match load(cli.config.as_deref(), cli.listen, cli.admin_listen, cli.root) {
            Ok(c) => serve(c, cli.upgrade),
            Err(e) => {
                eprintln!("{e}");
                EXIT_CONFIG
            }
        },
    }
}

/// The log writer's guard: dropping it flushes the lines still queued. Taken by
/// [`flush_logs`] before the process exits.
static LOG_GUARD: std::sync::Mutex<Option<tracing_appender::non_blocking::WorkerGuard>> =
    std::sync::Mutex::new(None);

/// Write out every queued log line (call before exiting the process).
pub fn flush_logs() {
    if let Ok(mut g) = LOG_GUARD.lock() {
        g.take();
    }
}

/// Logs go to stdout through a dedicated writer thread, so a request never waits on a write
/// syscall; the queue blocks rather than drops when it is full (access lines are not lossy).
fn init_logging(format: LogFormat) {
    let filter =
        std::env::var("PIXGATE_LOG").or_else(|_| std::env::var("RUST_LOG")).unwrap_or_else(|_| "info".into());
    // Pingora's own start-up chatter is only interesting when asked for.
    let filter = if filter.contains("pingora") {
        filter
    } else {
        format!("{filter},pingora_core=warn,pingora_proxy=warn,pingora=warn")
    };
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

fn build_origin(config: &Config) -> Result<Arc<dyn Origin>, String> {
    match &config.origin {
        OriginConfig::Fs { root } => {
            let fs = FsOrigin::new(root).map_err(|e| format!("origin.root {}: {e}", root.display()))?;
            Ok(Arc::new(fs))
        }
        OriginConfig::S3 { endpoint, region, force_path_style, static_keys, max_connections } => {
            let settings = S3Settings {
                endpoint: endpoint.clone(),
                region: region.clone(),
                force_path_style: *force_path_style,
                static_keys: static_keys.clone(),
                max_idle_connections: *max_connections,
                timeout: config.origin_timeout,
            };
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start a runtime: {e}"))?;
            Ok(Arc::new(rt.block_on(S3Origin::new(&settings))))
        }
    }
}

/// Does a TCP connection to `addr` (the loopback address for an unspecified one) succeed
/// within about a second?
fn accepts(addr: std::net::SocketAddr) -> bool {
    let mut target = addr;
    if target.ip().is_unspecified() {
        target.set_ip(if addr.is_ipv4() {
            std::net::Ipv4Addr::LOCALHOST.into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        });
    }
    (0..50).any(|_| {
        let ok = std::net::TcpStream::connect_timeout(&target, std::time::Duration::from_millis(100)).is_ok();
        if !ok {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        ok
    })
}

/// Start the server; returns the exit code once it stops.
fn serve(config: Config, upgrade: bool) -> i32 {
    init_logging(config.log_format);
    // Fail early and clearly when an address is taken (on upgrade, the old process holds them).
    let check = if upgrade { vec![] } else { vec![config.listen, config.admin_listen] };
    for addr in check {
        if let Err(e) = std::net::TcpListener::bind(addr) {
            eprintln!("pixgate: cannot listen on {addr}: {e}");
            return 1;
        }
    }
    let origin = match build_origin(&config) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("pixgate: {e}");
            return 1;
        }
    };
    let metrics = Metrics::new();
    let origin: Arc<dyn Origin> =
        Arc::new(Metered::new(origin, metrics.clone(), config.origin_max_requests, config.origin_timeout));
    let inflight = Arc::new(AtomicUsize::new(0));
    let ready = Arc::new(AtomicBool::new(false));
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);

    let mut conf = ServerConf { threads, ..ServerConf::default() };
    // Pingora sleeps for the whole grace period; Signals ends the process as soon as the
    // in-flight requests are done, so this is only the upper bound.
    conf.grace_period_seconds = Some(config.shutdown_timeout.as_secs().max(1));
    conf.graceful_shutdown_timeout_seconds = Some(1);
    conf.upgrade_sock = config.upgrade_sock.to_string_lossy().into_owned();
    let opt = Opt { upgrade, ..Opt::default() };
    let mut server = Server::new_with_opt_and_conf(Some(opt), conf);
    server.bootstrap();

    let listen = config.listen;
    let admin_listen = config.admin_listen;
    let shutdown_timeout = config.shutdown_timeout;
    let origin_desc = match &config.origin {
        OriginConfig::Fs { root } => format!("fs:{}", root.display()),
        OriginConfig::S3 { endpoint, .. } => format!("s3:{}", endpoint.as_deref().unwrap_or("aws")),
    };
    let pool = match crate::worker::Pool::new(config.workers, config.queue, metrics.clone()) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("pixgate: cannot start the image workers: {e}");
            return 1;
        }
    };
    let max_memory = config.max_memory;
    let caches = pixgate_cache::Caches::new(pixgate_cache::Settings {
        result_max_bytes: config.result_max_bytes,
        source_max_bytes: config.source_max_bytes,
        ttl: config.cache_ttl,
    });
    let shared = config
        .shared
        .clone()
        .map(|c| Arc::new(crate::shared::SharedTier::new(origin.clone(), c, metrics.clone())));
    let fonts = Arc::new(crate::fonts::FontDirs::scan(&config.font_dirs));
    for (name, path) in fonts.oss_fonts() {
        match path {
            Some(p) => tracing::info!(font = name, path = %p.display(), "watermark font"),
            None => tracing::info!(font = name, "watermark font not installed; text falls back"),
        }
    }
    let config = Arc::new(config);
    let state = Arc::new(State {
        config: config.clone(),
        origin,
        metrics: metrics.clone(),
        inflight: inflight.clone(),
        pool,
        budget: crate::worker::MemoryBudget::new(max_memory),
        caches: caches.clone(),
        shared: shared.clone(),
        fonts,
    });
    let mut proxy =
        pingora::proxy::http_proxy_service_with_name(&server.configuration, Gateway { state }, "pixgate");
    // A response whose header and body fit in the write buffer leaves in one write (Pingora's
    // default buffer, 1460 bytes, sends the header and the body separately).
    let write_buffer = config.write_buffer;
    proxy.add_listener(
        pingora::listeners::ListenerConfig::tcp(listen.to_string())
            .l4_buffer(pingora::protocols::l4::stream::L4BufferSettings::default().write(write_buffer)),
    );
    let mut admin = pingora::services::listening::Service::new(
        "pixgate-admin".into(),
        Admin { metrics, ready: ready.clone(), caches, config, shared },
    );
    admin.threads = Some(1);
    admin.add_tcp(&admin_listen.to_string());
    server.add_service(proxy);
    server.add_service(admin);

    let mut phases = server.watch_execution_phase();
    let ready_flag = ready.clone();
    std::thread::spawn(move || {
        while let Ok(phase) = phases.blocking_recv() {
            match phase {
                ExecutionPhase::Running => {
                    // Ready only once the main listener accepts: a listener that could not be
                    // bound (another process took the port meanwhile) must not look healthy.
                    if !accepts(listen) {
                        eprintln!(
                            "pixgate: cannot listen on {listen}: the listener does not accept connections"
                        );
                        flush_logs();
                        std::process::exit(1);
                    }
                    ready_flag.store(true, Ordering::Release);
                    tracing::info!(%listen, admin = %admin_listen, origin = origin_desc.as_str(), "pixgate is listening");
                }
                ExecutionPhase::GracefulTerminate
                | ExecutionPhase::GracefulUpgradeTransferringFds
                | ExecutionPhase::ShutdownStarted => ready_flag.store(false, Ordering::Release),
                _ => {}
            }
        }
    });

    let signals = Signals { inflight, ready, grace: shutdown_timeout };
    server.run(RunArgs { shutdown_signal: Box::new(signals) });
    flush_logs();
    0
}
