//! The Pingora service: glue between a session and the typed request path.
//!
//! `request_filter` answers every request itself (Pingora's upstream proxying is never
//! reached): [`route`](crate::route) → a handler → a [`Response`] value → [`respond::send`].
//! A request takes one snapshot of the configuration (and of the stored styles) at its start
//! and finishes on it, whatever a reload does meanwhile. The time to the response is bounded
//! by `server.request_timeout`; a panic becomes a 500 for that request. `logging` writes the
//! access line and the request metrics. Pixel work never runs on these threads.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Instant, SystemTime};

use async_trait::async_trait;
use futures::FutureExt;
use pingora::prelude::HttpPeer;
use pingora::proxy::{ProxyHttp, Session};
use pingora::{Error, ErrorType};

use crate::access_log::{Client, RequestLog, usable_request_id};
use crate::error::{GatewayError, Stage};
use crate::handlers;
use crate::respond::{self, Response, SendError};
use crate::route::{self, MAX_SAVEAS_BODY, MAX_STYLE_BODY, Route, StyleOp};
use crate::state::{Live, State};
use crate::worker::panic_text;

pub struct Gateway {
    pub state: Arc<State>,
}

/// Decrements the in-flight count when the request's context is dropped.
pub struct InflightGuard(Arc<AtomicUsize>);

impl Drop for InflightGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Per-request state: the id, the clock, and the access log's fields.
pub struct Ctx {
    pub request_id: String,
    start: Instant,
    log: RequestLog,
    _inflight: InflightGuard,
}

/// OSS-style request ids: 24 upper-case hex digits, unique per process run.
fn request_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    static BASE: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let base = *BASE.get_or_init(|| uuid::Uuid::new_v4().as_u64_pair().0);
    let secs = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{:08X}{:016X}", secs as u32, base.wrapping_add(n))
}

/// Read a request body of at most `max` bytes.
async fn read_body(session: &mut Session, max: usize) -> Result<Vec<u8>, GatewayError> {
    let mut body = Vec::new();
    loop {
        let chunk = session
            .read_request_body()
            .await
            .map_err(|e| GatewayError::ClientGone(format!("reading the request body: {e}")))?;
        let Some(chunk) = chunk else { return Ok(body) };
        if body.len() + chunk.len() > max {
            return Err(GatewayError::EntityTooLarge);
        }
        body.extend_from_slice(&chunk);
    }
}

impl Gateway {
    /// Route one request and run its handler, up to the response value, on the configuration
    /// the request started with.
    async fn answer(
        &self,
        session: &mut Session,
        ctx: &mut Ctx,
        live: &Live,
    ) -> Result<Response, GatewayError> {
        let state = &*self.state;
        let deadline = ctx.start + live.config.request_timeout;
        let stored = state.styles.snapshot();
        // The processed path keeps its cache hit inline; the others (an origin request, a
        // body to read) are boxed, so that every request's future stays small to create and
        // move (the origin client's futures are kilobytes).
        match route::route(&live.config, &stored, session.req_header(), &mut ctx.log)? {
            Route::Original(r) => Box::pin(handlers::original(state, live, r)).await,
            Route::Process(r) => handlers::process(state, live, r, deadline).await,
            Route::SaveAs(r) => {
                r.check_length()?;
                let body = Box::pin(read_body(session, MAX_SAVEAS_BODY)).await?;
                let job = r.job(&live.config, &stored, &body, &mut ctx.log)?;
                Box::pin(handlers::saveas(state, live, job, deadline)).await
            }
            Route::StyleApi(r) => {
                let body = match r.op {
                    StyleOp::Put(_) => {
                        r.check_length()?;
                        Box::pin(read_body(session, MAX_STYLE_BODY)).await?
                    }
                    _ => Vec::new(),
                };
                r.digests.check(&body)?;
                Box::pin(handlers::style_api(state, live, r, &body)).await
            }
        }
    }

    /// The response for an error; the log keeps who caused it and the internal detail.
    fn error_response(&self, session: &Session, ctx: &mut Ctx, e: &GatewayError) -> Response {
        let p = e.public();
        ctx.log.error = Some((p.fault, e.detail()));
        let req = session.req_header();
        let host = req.headers.get("host").and_then(|v| v.to_str().ok()).unwrap_or("pixgate");
        let head = req.method == http::Method::HEAD;
        respond::error(e, &self.state.metrics, &ctx.request_id, host, head)
    }

    /// Send a response; a failure before the status line went out sends an error instead, one
    /// after it closes the connection so the client sees an incomplete body, not a
    /// desynchronised stream.
    async fn send(&self, session: &mut Session, ctx: &mut Ctx, response: Response) -> pingora::Result<()> {
        let sent = AssertUnwindSafe(respond::send(session, &mut ctx.log, &ctx.request_id, response))
            .catch_unwind()
            .await
            .unwrap_or_else(|panic| {
                Err(SendError {
                    header_sent: ctx.log.status != 0,
                    error: GatewayError::Internal(format!("panic: {}", panic_text(&panic))),
                })
            });
        let Err(SendError { header_sent, error }) = sent else { return Ok(()) };
        if header_sent {
            let p = error.public();
            ctx.log.error = Some((p.fault, error.detail()));
            session.set_keepalive(None);
            return Ok(());
        }
        let response = self.error_response(session, ctx, &error);
        if let Err(SendError { error, .. }) =
            respond::send(session, &mut ctx.log, &ctx.request_id, response).await
        {
            session.set_keepalive(None);
            return Err(Error::explain(ErrorType::WriteError, error.detail()));
        }
        Ok(())
    }
}

#[async_trait]
impl ProxyHttp for Gateway {
    type CTX = Ctx;

    fn new_ctx(&self) -> Ctx {
        self.state.inflight.fetch_add(1, Ordering::AcqRel);
        Ctx {
            request_id: request_id(),
            start: Instant::now(),
            log: RequestLog::default(),
            _inflight: InflightGuard(self.state.inflight.clone()),
        }
    }

    async fn request_filter(&self, session: &mut Session, ctx: &mut Ctx) -> pingora::Result<bool> {
        ctx.log.client_request_id = session
            .req_header()
            .headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .filter(|v| usable_request_id(v))
            .map(str::to_string);
        let live = self.state.live();
        let timeout = live.config.request_timeout;
        let work = AssertUnwindSafe(self.answer(session, ctx, &live)).catch_unwind();
        let outcome = match tokio::time::timeout(timeout, work).await {
            Ok(Ok(result)) => result,
            Ok(Err(panic)) => Err(GatewayError::Internal(format!("panic: {}", panic_text(&panic)))),
            Err(_) => Err(GatewayError::GatewayTimeout(Stage::Request)),
        };
        let response = match outcome {
            Ok(response) => response,
            Err(e) => self.error_response(session, ctx, &e),
        };
        self.send(session, ctx, response).await?;
        Ok(true)
    }

    async fn upstream_peer(&self, _session: &mut Session, _ctx: &mut Ctx) -> pingora::Result<Box<HttpPeer>> {
        // request_filter answers every request.
        Err(Error::explain(ErrorType::InternalError, "Pixgate has no upstream peer"))
    }

    async fn logging(&self, session: &mut Session, e: Option<&Error>, ctx: &mut Ctx) {
        let elapsed = ctx.start.elapsed();
        if ctx.log.status == 0 {
            ctx.log.status = session.response_written().map(|r| r.status.as_u16()).unwrap_or(0);
        }
        let m = &self.state.metrics;
        let route = ctx.log.kind.as_str();
        m.requests_total.with_label_values(&[route, ctx.log.status.to_string().as_str()]).inc();
        m.request_duration.with_label_values(&[route]).observe(elapsed.as_secs_f64());
        let proxy_error = e.map(|e| e.to_string()).unwrap_or_default();
        let req = session.req_header();
        let header = |name: &str| req.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("");
        let client = Client {
            method: req.method.as_str(),
            addr: session.client_addr().map(|a| a.to_string()).unwrap_or_default(),
            forwarded_for: header("x-forwarded-for"),
            host: header("host"),
            user_agent: header("user-agent"),
            referer: header("referer"),
        };
        ctx.log.write(&client, &ctx.request_id, elapsed, &proxy_error);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_look_like_oss_and_are_unique() {
        let a = request_id();
        let b = request_id();
        assert_eq!(a.len(), 24);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase()));
        assert_ne!(a, b);
    }
}
