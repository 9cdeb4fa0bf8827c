//! The admin listener: `/metrics`, `/healthz`, `/readyz`, `POST /purge`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use pingora::apps::http_app::ServeHttp;
use pingora::protocols::http::ServerSession;

use pixgate_cache::Purge;

use crate::address::Query;
use crate::state::State;

pub struct Admin {
    /// The running configuration, caches and shared level (as the last reload left them),
    /// the metrics and the stored styles.
    pub state: Arc<State>,
    /// True once Pixgate listens with a valid configuration; false again while it shuts down.
    pub ready: Arc<AtomicBool>,
}

impl Admin {
    /// Ready: listening, not shutting down, and the stored styles read once.
    fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire) && self.state.styles.is_loaded()
    }

    /// Admin writes need `Authorization: Bearer <server.admin_token>` when a token is set
    /// (compared in constant time).
    fn authorized(&self, header: Option<&http::HeaderValue>) -> bool {
        let config = self.state.config();
        let Some(token) = &config.admin_token else { return true };
        let given =
            header.and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer ")).unwrap_or("");
        crate::auth::constant_time_eq(given.trim().as_bytes(), token.as_bytes())
    }

    /// `POST /purge?bucket=B&key=K` or `&prefix=P`: drop the variants and the source of an
    /// object (or of every object under a prefix). Bucket and key are as clients address them;
    /// the bucket's origin mapping is applied here.
    async fn purge(&self, query: Option<&str>) -> http::Response<Vec<u8>> {
        let q = Query::parse(query);
        let get = |name: &str| q.get(name).ok().flatten().map(str::to_string);
        let bad = |m: &str| reply(400, "application/json", format!("{{\"error\": \"{m}\"}}\n").into_bytes());
        let Some(bucket) = get("bucket").filter(|b| !b.is_empty()) else {
            return bad("bucket is required");
        };
        let live = self.state.live();
        let Some(b) = live.config.bucket(&bucket) else {
            return reply(404, "application/json", b"{\"error\": \"no such bucket\"}\n".to_vec());
        };
        let purge = match (get("key"), get("prefix")) {
            (Some(k), None) if !k.is_empty() => {
                Purge::Key { bucket: b.origin_bucket.clone(), key: format!("{}{k}", b.prefix) }
            }
            (None, Some(p)) => {
                Purge::Prefix { bucket: b.origin_bucket.clone(), prefix: format!("{}{p}", b.prefix) }
            }
            _ => return bad("give exactly one of key or prefix"),
        };
        let n = live.caches.purge(&purge).await;
        // `purged` counts every entry dropped; `shared` says how many of them were stored renders.
        let body = match &live.shared {
            Some(s) => {
                let shared = s.purge(&purge).await;
                format!("{{\"purged\": {}, \"shared\": {shared}}}\n", n + shared)
            }
            None => format!("{{\"purged\": {n}}}\n"),
        };
        tracing::info!(target: "pixgate::admin", bucket = bucket.as_str(), ?purge, result = body.trim(), "purge");
        reply(200, "application/json", body.into_bytes())
    }
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
                let metrics = &self.state.metrics;
                let (results, sources) = self.state.live().caches.weighted_sizes().await;
                metrics.cache_bytes.with_label_values(&["result"]).set(results as i64);
                metrics.cache_bytes.with_label_values(&["source"]).set(sources as i64);
                reply(200, "text/plain; version=0.0.4; charset=utf-8", metrics.render())
            }
            (http::Method::POST, "/purge") => {
                if !self.authorized(session.req_header().headers.get("authorization")) {
                    tracing::warn!(target: "pixgate::admin", "purge refused: missing or wrong admin token");
                    let mut r =
                        reply(401, "application/json", b"{\"error\": \"admin token required\"}\n".to_vec());
                    r.headers_mut().insert("www-authenticate", http::HeaderValue::from_static("Bearer"));
                    return r;
                }
                let query = session.req_header().uri.query().map(str::to_string);
                self.purge(query.as_deref()).await
            }
            (http::Method::GET | http::Method::HEAD, "/healthz") => reply(200, text, b"ok\n".to_vec()),
            (http::Method::GET | http::Method::HEAD, "/readyz") => {
                if self.is_ready() {
                    reply(200, text, b"ready\n".to_vec())
                } else {
                    reply(503, text, b"not ready\n".to_vec())
                }
            }
            (_, "/metrics" | "/healthz" | "/readyz" | "/purge") => {
                reply(405, text, b"method not allowed\n".to_vec())
            }
            _ => reply(404, text, b"not found: try /metrics, /healthz, /readyz, POST /purge\n".to_vec()),
        }
    }
}
