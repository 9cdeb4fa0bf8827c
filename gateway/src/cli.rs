//! Command line (docs/reference.md#command-line) and the Pingora server.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::{Parser, Subcommand};
use pingora::server::configuration::{Opt, ServerConf};
use pingora::server::{ExecutionPhase, RunArgs, Server};

use crate::admin::Admin;
use crate::config::{self, CliOverrides, Config, OriginConfig};
use crate::reload;
use crate::service::Gateway;
use crate::shutdown::Signals;
use crate::state::State;

/// Exit code for an invalid configuration.
pub const EXIT_CONFIG: i32 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "pixgate",
    version = version_text(),
    about = "An image proxy that speaks Alibaba Cloud OSS Image Processing in front of S3, OSS, MinIO or a folder.",
    long_about = None
)]
struct Cli {
    /// TOML configuration file (docs/reference.md#configuration). Every key has a default.
    #[arg(long, env = "PIXGATE_CONFIG", value_name = "FILE", global = true)]
    config: Option<PathBuf>,
    /// Overrides server.listen.
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// Overrides server.admin_listen.
    #[arg(long, value_name = "ADDR")]
    admin_listen: Option<String>,
    /// Serve this folder: origin.kind = "fs", origin.root = DIR.
    #[arg(long, value_name = "DIR", global = true)]
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
    /// Validate the configuration and print the effective configuration as TOML, secrets
    /// redacted (exit 0 or 1).
    CheckConfig,
}

/// `--version`: the version and the features compiled in.
fn version_text() -> &'static str {
    static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TEXT.get_or_init(|| {
        let features = match crate::metrics::features() {
            "" => "none".to_string(),
            f => f.replace(',', ", "),
        };
        format!("{} (features: {features})", env!("CARGO_PKG_VERSION"))
    })
}

/// The repository's demo folder, used when nothing says otherwise and `./samples` is absent.
fn builtin_samples() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples");
    p.is_dir().then(|| p.canonicalize().unwrap_or(p))
}

/// How the configuration is loaded: the file and the command-line overrides, kept so that a
/// reload (SIGHUP) reads it the same way, the environment included.
#[derive(Debug, Clone)]
struct Source {
    file: Option<PathBuf>,
    listen: Option<String>,
    admin_listen: Option<String>,
    root: Option<String>,
}

impl Source {
    fn load(&self) -> Result<Config, config::ConfigErrors> {
        let env: Vec<(String, String)> =
            std::env::vars().filter(|(k, _)| k.starts_with("PIXGATE_")).collect();
        let mut root = self.root.clone();
        let root_set_elsewhere = self.file.is_some()
            || env.iter().any(|(k, _)| k == "PIXGATE_ORIGIN_ROOT" || k == "PIXGATE_ORIGIN_KIND");
        if root.is_none() && !root_set_elsewhere && !Path::new("samples").is_dir() {
            root = builtin_samples().map(|p| p.to_string_lossy().into_owned());
        }
        let cli = CliOverrides { listen: self.listen.clone(), admin_listen: self.admin_listen.clone(), root };
        config::load(self.file.as_deref(), &env, &cli)
    }
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
    let source =
        Source { file: cli.config, listen: cli.listen, admin_listen: cli.admin_listen, root: cli.root };
    match cli.command {
        Some(Command::CheckConfig) => match source.load() {
            Ok(c) => {
                print!("{}", c.raw.redacted().to_toml());
                0
            }
            Err(e) => {
                eprintln!("{e}");
                1
            }
        },
        None => match source.load() {
            Ok(c) => serve(c, cli.upgrade, source),
            Err(e) => {
                eprintln!("{e}");
                EXIT_CONFIG
            }
        },
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

/// Follow the server's phases: ready once the main listener accepts; not ready again while
/// shutting down or handing the listeners over.
fn watch_phases(
    mut phases: tokio::sync::broadcast::Receiver<ExecutionPhase>,
    ready: Arc<AtomicBool>,
    listen: std::net::SocketAddr,
    admin_listen: std::net::SocketAddr,
    origin_desc: String,
) {
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
                        crate::logging::flush();
                        std::process::exit(1);
                    }
                    ready.store(true, Ordering::Release);
                    tracing::info!(%listen, admin = %admin_listen, origin = origin_desc.as_str(), "pixgate is listening");
                }
                ExecutionPhase::GracefulTerminate
                | ExecutionPhase::GracefulUpgradeTransferringFds
                | ExecutionPhase::ShutdownStarted => ready.store(false, Ordering::Release),
                _ => {}
            }
        }
    });
}

/// SIGHUP's default action ends a process. Take it over before anything slow runs (taking the
/// sockets over on `--upgrade`, scanning fonts): a SIGHUP before the reload thread listens is
/// then passed over instead of ending Pixgate. (The handler stays installed for the process.)
fn hold_sighup() {
    use tokio::signal::unix::{SignalKind, signal};
    match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => {
            if let Err(e) = rt.block_on(async { signal(SignalKind::hangup()).map(drop) }) {
                eprintln!("pixgate: cannot install the SIGHUP handler: {e}");
            }
        }
        Err(e) => eprintln!("pixgate: cannot install the SIGHUP handler: {e}"),
    }
}

/// Start the server; returns the exit code once it stops. `source` loads the configuration
/// again on SIGHUP.
fn serve(config: Config, upgrade: bool, source: Source) -> i32 {
    hold_sighup();
    crate::logging::init(config.log_format, config.access_log);
    // Fail early and clearly when an address is taken (on upgrade, the old process holds them).
    let check = if upgrade { vec![] } else { vec![config.listen, config.admin_listen] };
    for addr in check {
        if let Err(e) = std::net::TcpListener::bind(addr) {
            eprintln!("pixgate: cannot listen on {addr}: {e}");
            return 1;
        }
    }
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
    let state = match State::build(config) {
        Ok(s) => Arc::new(s),
        Err(e) => {
            eprintln!("pixgate: {e}");
            return 1;
        }
    };
    // SIGHUP reloads from here on (before any listener answers); the stored styles are read
    // in the background, and the replica is ready once they are.
    if let Err(e) = reload::start(state.clone(), Box::new(move || source.load())) {
        eprintln!("pixgate: {e}");
        return 1;
    }
    let config = state.config();
    let mut proxy = pingora::proxy::http_proxy_service_with_name(
        &server.configuration,
        Gateway { state: state.clone() },
        "pixgate",
    );
    // A response whose header and body fit in the write buffer leaves in one write (Pingora's
    // default buffer, 1460 bytes, sends the header and the body separately).
    let write_buffer = config.write_buffer;
    proxy.add_listener(
        pingora::listeners::ListenerConfig::tcp(listen.to_string())
            .l4_buffer(pingora::protocols::l4::stream::L4BufferSettings::default().write(write_buffer)),
    );
    let mut admin = pingora::services::listening::Service::new(
        "pixgate-admin".into(),
        Admin { state: state.clone(), ready: ready.clone() },
    );
    admin.threads = Some(1);
    admin.add_tcp(&admin_listen.to_string());
    server.add_service(proxy);
    server.add_service(admin);

    watch_phases(server.watch_execution_phase(), ready.clone(), listen, admin_listen, origin_desc);

    let signals = Signals { inflight: state.inflight.clone(), ready, grace: shutdown_timeout };
    server.run(RunArgs { shutdown_signal: Box::new(signals) });
    crate::logging::flush();
    0
}
