//! The integration harness: a real S3-compatible server (s3s + s3s-fs) in-process on
//! 127.0.0.1, and a real Pixgate process on real sockets, driven over HTTP.
//!
//! Pixgate runs as a child process of the test binary itself: when `RUN_AS_PIXGATE` is set,
//! the binary's `main` calls `pixgate::main_entry()` instead of running tests, so the child is
//! exactly the `pixgate` binary's code, with its signals, exit codes and listeners.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub use reqwest;

/// The environment variable that turns the test binary into Pixgate.
pub const EXEC_ENV: &str = "RUN_AS_PIXGATE";
/// Credentials of the in-process S3 server.
pub const S3_ACCESS_KEY: &str = "pixgate-test-ak";
pub const S3_SECRET_KEY: &str = "pixgate-test-sk";

/// A free port on 127.0.0.1 (bound, then released).
pub fn free_port() -> u16 {
    free_ports::<1>()[0]
}

/// `N` distinct free ports, never handed out twice in this process. They come from a counter
/// below the kernel's ephemeral range (so no client socket takes one meanwhile), starting at an
/// offset of the process id, and each is checked to be bindable. Ports chosen by the kernel
/// (`bind(0)`) can be handed out again to a concurrent test as soon as they are released, so
/// two Pixgates started at once could race for one port.
pub fn free_ports<const N: usize>() -> [u16; N] {
    use std::sync::atomic::{AtomicU32, Ordering};
    const LOW: u32 = 20_000;
    const SPAN: u32 = 12_000;
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let _ = NEXT.compare_exchange(0, std::process::id() % SPAN + 1, Ordering::SeqCst, Ordering::SeqCst);
    std::array::from_fn(|_| {
        loop {
            let port = (LOW + NEXT.fetch_add(1, Ordering::SeqCst) % SPAN) as u16;
            if TcpListener::bind(("127.0.0.1", port)).is_ok() {
                break port;
            }
        }
    })
}

/// An S3 server over a folder: every sub-folder is a bucket.
pub struct S3Server {
    pub endpoint: String,
    pub addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl S3Server {
    pub fn start(root: &Path) -> S3Server {
        use hyper_util::rt::{TokioExecutor, TokioIo};
        use s3s::auth::SimpleAuth;
        use s3s::service::S3ServiceBuilder;

        let fs = s3s_fs::FileSystem::new(root).expect("s3s-fs root");
        let mut b = S3ServiceBuilder::new(fs);
        b.set_auth(SimpleAuth::from_single(S3_ACCESS_KEY, S3_SECRET_KEY));
        let service = b.build();
        let std_listener = TcpListener::bind("127.0.0.1:0").expect("bind s3");
        std_listener.set_nonblocking(true).expect("nonblocking");
        let addr = std_listener.local_addr().expect("addr");
        let (tx, mut rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(std_listener).expect("listener");
                let http = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                loop {
                    tokio::select! {
                        _ = &mut rx => break,
                        accepted = listener.accept() => {
                            let Ok((socket, _)) = accepted else { continue };
                            let conn = http.serve_connection(TokioIo::new(socket), service.clone()).into_owned();
                            tokio::spawn(async move { let _ = conn.await; });
                        }
                    }
                }
            });
        });
        S3Server { endpoint: format!("http://{addr}"), addr, shutdown: Some(tx), thread: Some(thread) }
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A server that accepts connections and never answers: an origin slower than any timeout.
pub struct SilentServer {
    pub addr: SocketAddr,
}

impl SilentServer {
    pub fn start() -> SilentServer {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = l.local_addr().expect("addr");
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for s in l.incoming().flatten() {
                held.push(s);
                if held.len() > 256 {
                    held.remove(0);
                }
            }
        });
        SilentServer { addr }
    }
}

/// A running Pixgate process.
pub struct Pixgate {
    child: Child,
    pub base: String,
    pub admin: String,
    pub addr: SocketAddr,
    dir: tempfile::TempDir,
}

/// The outcome of running Pixgate to completion (for configuration errors).
pub struct Exited {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

fn pixgate_command(args: &[&str]) -> Command {
    let exe = std::env::current_exe().expect("test binary path");
    let mut cmd = Command::new(exe);
    cmd.env(EXEC_ENV, "1").arg("pixgate").args(args);
    // Never inherit configuration from the developer's environment.
    for (k, _) in std::env::vars() {
        if k.starts_with("PIXGATE_") && k != EXEC_ENV {
            cmd.env_remove(k);
        }
    }
    cmd
}

/// Run Pixgate with `args` and wait for it to exit (it must exit within 20 s).
pub fn run_to_exit(args: &[&str]) -> Exited {
    run_to_exit_with_env(args, &[])
}

/// [`run_to_exit`] with these environment variables set.
pub fn run_to_exit_with_env(args: &[&str], env: &[(&str, &str)]) -> Exited {
    let mut child = pixgate_command(args)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn pixgate");
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            let mut stdout = String::new();
            let mut stderr = String::new();
            if let Some(mut o) = child.stdout.take() {
                let _ = o.read_to_string(&mut stdout);
            }
            if let Some(mut e) = child.stderr.take() {
                let _ = e.read_to_string(&mut stderr);
            }
            return Exited { code: status.code(), stdout, stderr };
        }
        if start.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("pixgate {args:?} did not exit");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Pixgate {
    /// Start Pixgate with this configuration (listen addresses are chosen here) and wait until
    /// `/readyz` answers 200. A port taken by someone else between choosing and binding it is
    /// retried with new ports.
    pub fn start(config: &str) -> Pixgate {
        Pixgate::start_with_env(config, &[])
    }

    /// [`Pixgate::start`] with these environment variables set for the process.
    pub fn start_with_env(config: &str, env: &[(&str, &str)]) -> Pixgate {
        for attempt in 1..=5 {
            match Pixgate::try_start(config, env) {
                Ok(p) => return p,
                Err(logs) if attempt < 5 && logs.contains("cannot listen") => continue,
                Err(logs) => panic!("pixgate did not start:\n{logs}"),
            }
        }
        unreachable!("the last attempt returns or panics")
    }

    fn try_start(config: &str, env: &[(&str, &str)]) -> Result<Pixgate, String> {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("pixgate.toml");
        std::fs::write(&path, config).expect("write config");
        let [port, admin_port] = free_ports::<2>();
        let listen = format!("127.0.0.1:{port}");
        let admin_listen = format!("127.0.0.1:{admin_port}");
        let stdout = std::fs::File::create(dir.path().join("stdout.log")).expect("log file");
        let stderr = std::fs::File::create(dir.path().join("stderr.log")).expect("log file");
        let child = pixgate_command(&[
            "--config",
            path.to_str().expect("utf-8 path"),
            "--listen",
            &listen,
            "--admin-listen",
            &admin_listen,
        ])
        .envs(env.iter().copied())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .expect("spawn pixgate");
        let mut p = Pixgate {
            child,
            base: format!("http://{listen}"),
            admin: format!("http://{admin_listen}"),
            addr: listen.parse().expect("addr"),
            dir,
        };
        p.wait_ready()?;
        Ok(p)
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return Err(format!("pixgate exited early with {status}:\n{}", self.logs()));
            }
            if let Ok((200, _)) = raw_get(&self.admin_addr(), "/readyz") {
                return Ok(());
            }
            if start.elapsed() > Duration::from_secs(30) {
                return Err(format!("pixgate did not become ready:\n{}", self.logs()));
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    fn admin_addr(&self) -> String {
        self.admin.trim_start_matches("http://").to_string()
    }

    /// What the process wrote so far.
    pub fn logs(&self) -> String {
        let read = |n: &str| std::fs::read_to_string(self.dir.path().join(n)).unwrap_or_default();
        format!("--- stdout ---\n{}\n--- stderr ---\n{}", read("stdout.log"), read("stderr.log"))
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The metrics text from the admin listener.
    pub fn metrics(&self) -> String {
        raw_get(&self.admin_addr(), "/metrics").map(|(_, b)| b).unwrap_or_default()
    }

    /// Wait (up to 5 s) until a metric series reaches at least `value`: request metrics are
    /// recorded just after the response is sent, so a scrape can race the last request.
    pub fn wait_metric(&self, series: &str, value: f64) -> String {
        let start = Instant::now();
        loop {
            let text = self.metrics();
            if metric(&text, series) >= value || start.elapsed() > Duration::from_secs(5) {
                return text;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Send a signal and wait for the exit status.
    pub fn signal_and_wait(mut self, signal: &str) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-s", signal, &pid]).status();
        let start = Instant::now();
        loop {
            if let Some(s) = self.child.try_wait().expect("wait") {
                return s;
            }
            if start.elapsed() > Duration::from_secs(20) {
                let _ = self.child.kill();
                panic!("pixgate did not exit after {signal}:\n{}", self.logs());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    /// The configuration file Pixgate was started with (`--config`).
    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("pixgate.toml")
    }

    /// Replace the configuration file's text in one step (a reload never reads half a file);
    /// [`Pixgate::reload`] makes Pixgate read it.
    pub fn write_config(&self, text: &str) {
        let next = self.dir.path().join("pixgate.toml.next");
        std::fs::write(&next, text).expect("write config");
        std::fs::rename(&next, self.config_path()).expect("replace config");
    }

    /// Send SIGHUP: reload the configuration.
    pub fn reload(&self) {
        let status =
            Command::new("kill").args(["-s", "HUP", &self.pid().to_string()]).status().expect("run kill");
        assert!(status.success(), "kill -s HUP failed");
    }

    /// Is the process still running?
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Wait (up to 5 s) until the logs contain `needle`; returns the logs (log lines leave
    /// through a writer thread).
    pub fn wait_logs(&self, needle: &str) -> String {
        let start = Instant::now();
        loop {
            let logs = self.logs();
            if logs.contains(needle) || start.elapsed() > Duration::from_secs(5) {
                return logs;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Pixgate {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("{}", self.logs());
        }
    }
}

/// A raw HTTP/1.1 exchange (no client-side path normalisation): returns (status, whole text).
pub fn raw_request(addr: &str, request: &str) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(20)))?;
    s.write_all(request.as_bytes())?;
    let mut out = Vec::new();
    s.read_to_end(&mut out)?;
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    Ok((status, text))
}

/// `GET path` over a fresh connection with `Connection: close`: (status, body).
pub fn raw_get(addr: &str, path: &str) -> std::io::Result<(u16, String)> {
    let (status, text) =
        raw_request(addr, &format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"))?;
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    Ok((status, body))
}

/// The value of `<Tag>` in an OSS XML error body.
pub fn xml_field(body: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = body.find(&open)? + open.len();
    let end = body[start..].find(&close)? + start;
    Some(body[start..end].to_string())
}

/// The value of a counter or gauge line in Prometheus text, e.g.
/// `pixgate_requests_total{route="original",status="200"}`; 0 when absent.
pub fn metric(text: &str, series: &str) -> f64 {
    text.lines().find_map(|l| l.strip_prefix(series).and_then(|rest| rest.trim().parse().ok())).unwrap_or(0.0)
}

/// Deterministic pseudo-random bytes (xorshift), for large fixtures that are not committed.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}
