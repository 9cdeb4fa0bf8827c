//! Signals: SIGTERM and SIGINT drain in-flight requests, then exit; SIGQUIT hands the listening
//! sockets to a new process (Pingora's graceful upgrade) and then drains the same way.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use pingora::server::{ShutdownSignal, ShutdownSignalWatch};
use tokio::signal::unix::{SignalKind, signal};

pub struct Signals {
    pub inflight: Arc<AtomicUsize>,
    pub ready: Arc<AtomicBool>,
    /// The longest a drain may take.
    pub grace: Duration,
}

impl Signals {
    /// Exit once no request is in flight (or the grace period is over). `settle` lets Pingora
    /// stop its listeners (and hand them over, on upgrade) first.
    fn drain_then_exit(&self, settle: Duration) {
        let inflight = self.inflight.clone();
        let grace = self.grace;
        std::thread::spawn(move || {
            let start = Instant::now();
            std::thread::sleep(settle);
            while inflight.load(Ordering::Acquire) > 0 && start.elapsed() < grace + settle {
                std::thread::sleep(Duration::from_millis(20));
            }
            let left = inflight.load(Ordering::Acquire);
            if left > 0 {
                tracing::warn!(requests = left, "grace period over: exiting with requests in flight");
            } else {
                tracing::info!("drained: exiting");
            }
            crate::logging::flush();
            std::process::exit(0);
        });
    }
}

#[async_trait]
impl ShutdownSignalWatch for Signals {
    async fn recv(&self) -> ShutdownSignal {
        let (Ok(mut quit), Ok(mut term), Ok(mut int)) =
            (signal(SignalKind::quit()), signal(SignalKind::terminate()), signal(SignalKind::interrupt()))
        else {
            tracing::error!("cannot install signal handlers");
            return ShutdownSignal::FastShutdown;
        };
        let upgrade = tokio::select! {
            _ = quit.recv() => true,
            _ = term.recv() => false,
            _ = int.recv() => false,
        };
        self.ready.store(false, Ordering::Release);
        if upgrade {
            tracing::info!("SIGQUIT: handing the listeners to the new process, then draining");
            // Pingora waits 5 s after sending the sockets before it stops accepting.
            self.drain_then_exit(Duration::from_secs(6));
            ShutdownSignal::GracefulUpgrade
        } else {
            tracing::info!("shutting down: draining in-flight requests");
            self.drain_then_exit(Duration::from_millis(200));
            ShutdownSignal::GracefulTerminate
        }
    }
}
