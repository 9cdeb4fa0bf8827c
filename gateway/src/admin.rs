//! The admin listener: `/metrics`, `/healthz`, `/readyz`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use pingora::apps::http_app::ServeHttp;
use pingora::protocols::http::ServerSession;

use crate::metrics::Metrics;

pub struct Admin {
    pub metrics: Metrics,
    /// True once Pixgate listens with a valid configuration; false again while it shuts down.
    pub ready: Arc<AtomicBool>,
}

fn reply(status: u16, content_type: &str, body: Vec<u8>) -> http::Response<Vec<u8>> {
    http::Response::builder()
        .status(status)
        .header("content-type", content_type)
        .header("content-length", body.len())
        .header("cache-control", "no-store")
        .body(body)
        .unwrap_or_default()
}

#[async_trait]
impl ServeHttp for Admin {
    async fn response(&self, session: &mut ServerSession) -> http::Response<Vec<u8>> {
        let req = session.req_header();
        let (method, path) = (req.method.clone(), req.uri.path().to_string());
        let text = "text/plain; charset=utf-8";
        match (method, path.as_str()) {
            (http::Method::GET | http::Method::HEAD, "/metrics") => {
                reply(200, "text/plain; version=0.0.4; charset=utf-8", self.metrics.render())
            }
            (http::Method::GET | http::Method::HEAD, "/healthz") => reply(200, text, b"ok\n".to_vec()),
            (http::Method::GET | http::Method::HEAD, "/readyz") => {
                if self.ready.load(Ordering::Acquire) {
                    reply(200, text, b"ready\n".to_vec())
                } else {
                    reply(503, text, b"not ready\n".to_vec())
                }
            }
            (_, "/metrics" | "/healthz" | "/readyz") => reply(405, text, b"method not allowed\n".to_vec()),
            _ => reply(404, text, b"not found: try /metrics, /healthz, /readyz\n".to_vec()),
        }
    }
}
