//! The live configuration: SIGHUP re-reads the configuration file (and the environment) the way
//! it was read at start and applies it to new requests; the styles stored through the Style API
//! are re-read every `styles.refresh`. Both run on one background thread, started before the
//! listeners answer.
//!
//! A file with problems is refused (one log line per problem) and the running configuration
//! stays. What only a restart can change (listeners, workers, queue, memory budget, the origin,
//! fonts, ...) keeps its running value, and each such change is reported.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::signal::unix::{Signal, SignalKind, signal};

use crate::config::{Config, ConfigErrors};
use crate::state::State;
use crate::styles::{Store, StoredStyles};

/// Loads the configuration the way it was loaded at start (the same file, the environment and
/// the same command-line overrides).
pub type Loader = Box<dyn Fn() -> Result<Config, ConfigErrors> + Send + Sync>;

/// How soon a replica that has not read the store yet tries again.
const FIRST_READ_RETRY: Duration = Duration::from_secs(1);

fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// Start the background thread; returns once the SIGHUP handler is in place (a SIGHUP from
/// then on reloads, and never ends the process).
pub fn start(state: Arc<State>, loader: Loader) -> Result<(), String> {
    state.metrics.config_last_reload_success.set(unix_now());
    let (installed, wait) = std::sync::mpsc::channel::<Result<(), String>>();
    std::thread::Builder::new()
        .name("pixgate-live".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = installed.send(Err(format!("cannot start the reload runtime: {e}")));
                    return;
                }
            };
            runtime.block_on(async move {
                let hangups = match signal(SignalKind::hangup()) {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = installed.send(Err(format!("cannot install the SIGHUP handler: {e}")));
                        return;
                    }
                };
                let _ = installed.send(Ok(()));
                tokio::spawn(refresh_styles(state.clone()));
                on_hangup(hangups, &state, &loader).await;
            });
        })
        .map_err(|e| format!("cannot start the reload thread: {e}"))?;
    wait.recv().map_err(|_| "the reload thread stopped before it was ready".to_string())?
}

async fn on_hangup(mut hangups: Signal, state: &State, loader: &Loader) {
    while hangups.recv().await.is_some() {
        tracing::info!(target: "pixgate::reload", "SIGHUP: reloading the configuration");
        reload(state, loader);
    }
}

/// One reload. A valid configuration runs for every request that starts from now on; an
/// invalid one is refused with one log line per problem. Returns whether it was applied.
pub fn reload(state: &State, loader: &Loader) -> bool {
    let results = &state.metrics.config_reloads_total;
    let mut next = match loader() {
        Ok(c) => c,
        Err(ConfigErrors(problems)) => {
            for problem in &problems {
                tracing::error!(target: "pixgate::reload", "reload refused, the running configuration stays: {problem}");
            }
            results.with_label_values(&["failure"]).inc();
            return false;
        }
    };
    let running = state.config();
    for key in keep_restart_only(&running, &mut next) {
        tracing::warn!(target: "pixgate::reload", key,
            "changed in the file, but only a restart applies it: the running value stays");
    }
    if (next.log_format, next.access_log) != (running.log_format, running.access_log)
        && let Err(e) = crate::logging::reconfigure(next.log_format, next.access_log)
    {
        tracing::warn!(target: "pixgate::reload", error = e.as_str(),
            "the log format could not be changed: it takes a restart");
        // What runs is what the configuration says, so a later reload tries again.
        (next.log_format, next.access_log) = (running.log_format, running.access_log);
    }
    let store_changed =
        next.style_store != running.style_store || next.style_refresh != running.style_refresh;
    state.replace_config(next);
    if store_changed {
        state.styles.wake();
    }
    results.with_label_values(&["success"]).inc();
    state.metrics.config_last_reload_success.set(unix_now());
    tracing::info!(target: "pixgate::reload", "configuration reloaded: new requests use it");
    true
}

/// Keep the running value of every setting that only a restart can change; returns the keys
/// whose value the new configuration changed.
fn keep_restart_only(running: &Config, next: &mut Config) -> Vec<&'static str> {
    let mut changed = Vec::new();
    let mut keep = |key: &'static str, differs: bool| {
        if differs {
            changed.push(key);
        }
        differs
    };
    if keep("server.listen", next.listen != running.listen) {
        next.listen = running.listen;
    }
    if keep("server.admin_listen", next.admin_listen != running.admin_listen) {
        next.admin_listen = running.admin_listen;
    }
    if keep("server.workers", next.workers != running.workers) {
        next.workers = running.workers;
    }
    if keep("server.queue", next.queue != running.queue) {
        next.queue = running.queue;
    }
    if keep("server.max_memory", next.max_memory != running.max_memory) {
        next.max_memory = running.max_memory;
    }
    if keep("server.write_buffer", next.write_buffer != running.write_buffer) {
        next.write_buffer = running.write_buffer;
    }
    if keep("server.shutdown_timeout", next.shutdown_timeout != running.shutdown_timeout) {
        next.shutdown_timeout = running.shutdown_timeout;
    }
    if keep("server.origin_timeout", next.origin_timeout != running.origin_timeout) {
        next.origin_timeout = running.origin_timeout;
    }
    if keep("server.upgrade_sock", next.upgrade_sock != running.upgrade_sock) {
        next.upgrade_sock.clone_from(&running.upgrade_sock);
    }
    if keep(
        "origin",
        next.origin != running.origin || next.origin_max_requests != running.origin_max_requests,
    ) {
        next.origin.clone_from(&running.origin);
        next.origin_max_requests = running.origin_max_requests;
        // The new [styles] store was checked against the new origin, which does not run.
        if keep("styles.store_bucket", next.style_store != running.style_store) {
            next.style_store.clone_from(&running.style_store);
        }
    }
    if keep("watermark.font_dirs", next.font_dirs != running.font_dirs) {
        next.font_dirs.clone_from(&running.font_dirs);
    }
    changed
}

/// Re-read the stored styles every `styles.refresh` (sooner until the first read succeeds, or
/// when a reload changes the store); with no store there are none, and the replica is ready.
async fn refresh_styles(state: Arc<State>) {
    loop {
        let config = state.config();
        let Some(store) = &config.style_store else {
            state.styles.replace(StoredStyles::default());
            state.styles.sleep(config.style_refresh).await;
            continue;
        };
        let loaded = {
            let _writing = state.styles.lock().await;
            let store = Store::new(&*state.origin, store);
            match store.load(&state.styles.snapshot()).await {
                Ok(styles) => {
                    state.styles.replace(styles);
                    true
                }
                Err(e) => {
                    tracing::warn!(target: "pixgate::styles", error = %e,
                        "reading the stored styles failed: the last ones read stay");
                    false
                }
            }
        };
        let wait = if loaded || state.styles.is_loaded() {
            config.style_refresh
        } else {
            config.style_refresh.min(FIRST_READ_RETRY)
        };
        state.styles.sleep(wait).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{CliOverrides, load};

    #[test]
    fn restart_only_settings_keep_their_running_values() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        let cli = CliOverrides { root: Some(dir.path().to_str().unwrap().into()), ..Default::default() };
        std::fs::write(&path, "[server]\nqueue = 10\n[cache]\nttl = \"1m\"\n").unwrap();
        let running = load(Some(&path), &[], &cli).unwrap();
        std::fs::write(&path, "[server]\nqueue = 20\nlisten = \"127.0.0.1:1\"\n[cache]\nttl = \"2m\"\n")
            .unwrap();
        let mut next = load(Some(&path), &[], &cli).unwrap();
        assert_eq!(keep_restart_only(&running, &mut next), ["server.listen", "server.queue"]);
        assert_eq!((next.queue, next.listen), (running.queue, running.listen));
        assert_eq!(next.cache_ttl, Duration::from_secs(120));
    }
}
