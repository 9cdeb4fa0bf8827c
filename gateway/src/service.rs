//! The Pingora service: route → origin → response, with errors through the one mapping.
//!
//! Everything happens in `request_filter`, which always answers the request itself; Pingora's
//! upstream proxying is never reached. Pixel work never runs on these threads.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;
use bytes::Bytes;
use futures::{FutureExt, StreamExt};
use pingora::http::ResponseHeader;
use pingora::prelude::HttpPeer;
use pingora::proxy::{ProxyHttp, Session};
use pingora::{Error, ErrorType};

use crate::config::{BucketConfig, Config};
use crate::error::{Fault, GatewayError, xml_body};
use crate::metrics::Metrics;
use crate::origin::{self, GetOptions, GetResponse, Location, ObjectMeta, Origin, RangeSpec};
use crate::route::{self, Query};
use crate::worker::{Pool, PoolError};
use crate::{chain, mime};
use pixgate_ops::codec::CodecError;
use pixgate_ops::frame::OpError;
use pixgate_ops::pipeline::{self, PipelineError};
use pixgate_ops::spec::Action;

/// Shared by every request.
pub struct State {
    pub config: Arc<Config>,
    pub origin: Arc<dyn Origin>,
    pub metrics: Metrics,
    /// Requests being handled; graceful shutdown waits for it to reach zero.
    pub inflight: Arc<AtomicUsize>,
    /// The image workers.
    pub pool: Pool,
}

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

/// Per-request state, filled in as the request goes, read by the access log.
pub struct Ctx {
    pub request_id: String,
    start: Instant,
    route: &'static str,
    bucket: String,
    key: String,
    process: String,
    status: u16,
    bytes: u64,
    cache: &'static str,
    error: Option<(Fault, String)>,
    header_sent: bool,
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

fn header_str<'a>(session: &'a Session, name: &str) -> Option<&'a str> {
    session.req_header().headers.get(name).and_then(|v| v.to_str().ok())
}

fn http_date(t: SystemTime) -> String {
    httpdate::fmt_http_date(t)
}

/// An error that means "the response was already started; drop the connection".
fn abort(what: &str) -> Box<Error> {
    Error::explain(ErrorType::WriteError, what.to_string())
}

impl Gateway {
    fn response(&self, status: u16, ctx: &Ctx) -> pingora::Result<ResponseHeader> {
        let mut h = ResponseHeader::build(status, Some(10))?;
        h.insert_header("server", "Pixgate")?;
        h.insert_header("x-oss-request-id", ctx.request_id.as_str())?;
        Ok(h)
    }

    async fn send_error(
        &self,
        session: &mut Session,
        ctx: &mut Ctx,
        err: &GatewayError,
    ) -> pingora::Result<()> {
        let p = err.public();
        ctx.status = p.status;
        ctx.error = Some((p.fault, err.detail()));
        if ctx.header_sent {
            return Err(abort("the response failed after it started"));
        }
        let host = header_str(session, "host").unwrap_or("pixgate").to_string();
        let body = xml_body(&p, &ctx.request_id, &host);
        let mut h = self.response(p.status, ctx)?;
        h.insert_header("content-type", "application/xml")?;
        h.insert_header("content-length", body.len().to_string())?;
        if let Some(ec) = p.ec {
            h.insert_header("x-oss-ec", ec)?;
        }
        if let GatewayError::InvalidRange { size: Some(size) } = err {
            h.insert_header("content-range", format!("bytes */{size}"))?;
        }
        if p.status == 405 {
            h.insert_header("allow", "GET, HEAD, POST")?;
        }
        let head = session.req_header().method == http::Method::HEAD;
        ctx.header_sent = true;
        session.write_response_header(Box::new(h), head).await?;
        if !head {
            ctx.bytes = body.len() as u64;
            session.write_response_body(Some(Bytes::from(body)), true).await?;
        }
        Ok(())
    }

    /// Route and answer one request.
    async fn handle(&self, session: &mut Session, ctx: &mut Ctx) -> Result<(), GatewayError> {
        let config = &self.state.config;
        let req = session.req_header();
        let method = req.method.clone();
        let uri = req.uri.clone();
        let host = header_str(session, "host").map(str::to_string).or_else(|| uri.host().map(str::to_string));

        let target = route::target(config, host.as_deref(), uri.path())?;
        ctx.bucket.clone_from(&target.bucket);
        ctx.key.clone_from(&target.key);
        let query = Query::parse(uri.query())?;
        if method == http::Method::POST {
            ctx.route = "saveas";
        }

        if target.bucket.is_empty() {
            return Err(GatewayError::NotImplemented(
                "Pixgate serves objects; listing buckets is not supported.".into(),
            ));
        }
        let implicit;
        let bucket: &BucketConfig = match config.buckets.get(&target.bucket) {
            Some(b) => b,
            None if crate::config::valid_bucket_name(&target.bucket) => {
                implicit = BucketConfig::implicit(&target.bucket);
                &implicit
            }
            None => return Err(GatewayError::NoSuchBucket),
        };
        if target.key.is_empty() {
            return Err(GatewayError::NotImplemented(
                "Pixgate serves objects; bucket-level requests are not supported.".into(),
            ));
        }

        let retained = query.retained(config.query, &config.retain);
        let mut key = target.key.as_str();
        let mut process = retained.get("x-oss-process").map(str::to_string);
        if process.is_none()
            && let Some((base, style)) =
                route::split_style(key, &bucket.style_delimiters, |n| bucket.styles.contains_key(n))
        {
            key = base;
            process = Some(format!("style/{style}"));
        }
        ctx.key = key.to_string();

        match method {
            http::Method::GET | http::Method::HEAD => match process {
                Some(p) => {
                    ctx.process.clone_from(&p);
                    self.process(session, ctx, bucket, key, &p, method == http::Method::HEAD).await
                }
                None => {
                    ctx.route = "original";
                    self.original(session, ctx, bucket, key, method == http::Method::HEAD).await
                }
            },
            http::Method::POST if query.contains("x-oss-process") => Err(GatewayError::NotImplemented(
                "sys/saveas (POST with x-oss-process) is not available yet.".into(),
            )),
            _ => Err(GatewayError::MethodNotAllowed),
        }
    }

    /// A processed request: parse the chain (styles resolved), fetch the source within the
    /// byte limit, run the chain on the worker pool, answer the rendered bytes.
    async fn process(
        &self,
        session: &mut Session,
        ctx: &mut Ctx,
        bucket: &BucketConfig,
        key: &str,
        raw: &str,
        head: bool,
    ) -> Result<(), GatewayError> {
        let chain = chain::resolve_get(bucket, raw)?;
        if chain.actions.iter().any(|a| matches!(a, Action::Info | Action::AverageHue)) {
            ctx.route = "info";
        } else {
            ctx.route = "process";
        }
        if let Some(name) = pipeline::unsupported(&chain) {
            return Err(GatewayError::NotImplemented(format!(
                "The action {name} is not implemented yet in this version of Pixgate."
            )));
        }
        let limits = self.state.config.limits;
        let full_key = format!("{}{key}", bucket.prefix);
        let at = Location { bucket: &bucket.origin_bucket, key: &full_key };
        let (meta, source) = self.fetch_source(at, limits.max_source_bytes).await?;
        let deadline = ctx.start + self.state.config.request_timeout;
        let rendered = self
            .state
            .pool
            .run(move || pipeline::run(&chain, &source, &limits, deadline))
            .await
            .map_err(|e| match e {
                PoolError::Overloaded => {
                    self.state.metrics.rejected_total.with_label_values(&["overload"]).inc();
                    GatewayError::SlowDown
                }
                PoolError::Panicked(what) => GatewayError::Internal(format!("worker panic: {what}")),
                PoolError::Closed => GatewayError::Internal("the worker pool is closed".into()),
            })?
            .map_err(|e| match e {
                PipelineError::Codec(CodecError::TooLarge { message, ec }) => {
                    self.state.metrics.rejected_total.with_label_values(&["limit"]).inc();
                    GatewayError::ImageTooLarge { message, ec }
                }
                PipelineError::Codec(CodecError::Unsupported(what)) => {
                    GatewayError::BadRequest(format!("The source object is not a supported image: {what}."))
                }
                PipelineError::Codec(CodecError::Corrupt(detail)) => {
                    tracing::debug!(target: "pixgate::decode", detail = detail.as_str(), "undecodable source");
                    GatewayError::BadRequest("The source image could not be decoded.".into())
                }
                PipelineError::Op(OpError::BadRequest(message)) => GatewayError::BadRequest(message),
                PipelineError::Op(OpError::TooLarge { message, ec }) => {
                    self.state.metrics.rejected_total.with_label_values(&["limit"]).inc();
                    GatewayError::ImageTooLarge { message, ec }
                }
                PipelineError::NotImplemented(name) => GatewayError::NotImplemented(format!(
                    "The action {name} is not implemented yet in this version of Pixgate."
                )),
                PipelineError::Deadline => GatewayError::GatewayTimeout("processing"),
            })?;
        let build = || -> pingora::Result<ResponseHeader> {
            let mut h = self.response(200, ctx)?;
            h.insert_header("content-type", rendered.mime)?;
            h.insert_header("content-length", rendered.bytes.len().to_string())?;
            if let Some(lm) = meta.last_modified {
                h.insert_header("last-modified", http_date(lm))?;
            }
            h.insert_header("cache-control", self.state.config.cache_control.as_str())?;
            h.insert_header("x-pixgate-cache", "miss")?;
            Ok(h)
        };
        let h = build().map_err(|e| GatewayError::Internal(format!("building headers: {e}")))?;
        ctx.cache = "miss";
        self.write_header(session, ctx, h, head).await?;
        if !head {
            self.write_body(session, ctx, Bytes::from(rendered.bytes)).await?;
            session
                .write_response_body(None, true)
                .await
                .map_err(|e| GatewayError::Internal(format!("finishing the response: {e}")))?;
        }
        Ok(())
    }

    /// The whole source object, refused before reading when it is over the byte limit.
    async fn fetch_source(&self, at: Location<'_>, max: u64) -> Result<(ObjectMeta, Vec<u8>), GatewayError> {
        let too_large = |size: u64| GatewayError::ImageTooLarge {
            message: format!("The source image is {size} bytes; the limit is {max}."),
            ec: "0040-00000009",
        };
        match self.state.origin.get(at, &GetOptions::default()).await? {
            GetResponse::NotModified(_) => {
                Err(GatewayError::BadGateway("unasked 304 from the origin".into()))
            }
            GetResponse::Body { meta, mut body, .. } => {
                if meta.size > max {
                    self.state.metrics.rejected_total.with_label_values(&["limit"]).inc();
                    return Err(too_large(meta.size));
                }
                let mut bytes = Vec::with_capacity(meta.size as usize);
                while let Some(chunk) = body.next().await {
                    let chunk = chunk?;
                    if (bytes.len() + chunk.len()) as u64 > max {
                        return Err(too_large(max + 1));
                    }
                    bytes.extend_from_slice(&chunk);
                }
                Ok((meta, bytes))
            }
        }
    }

    /// An original object, streamed from the origin.
    async fn original(
        &self,
        session: &mut Session,
        ctx: &mut Ctx,
        bucket: &BucketConfig,
        key: &str,
        head: bool,
    ) -> Result<(), GatewayError> {
        let full_key = format!("{}{key}", bucket.prefix);
        let at = Location { bucket: &bucket.origin_bucket, key: &full_key };
        let if_none_match = header_str(session, "if-none-match").map(str::to_string);
        let if_modified_since =
            header_str(session, "if-modified-since").and_then(|v| httpdate::parse_http_date(v).ok());

        if head {
            let meta = self.state.origin.head(at).await?;
            let not_modified = origin::is_unchanged(if_none_match.as_deref(), if_modified_since, &meta);
            let status = if not_modified { 304 } else { 200 };
            let h = self.object_header(status, ctx, &meta, None, meta.content_type.as_deref())?;
            return self.write_header(session, ctx, h, true).await;
        }

        // If-Range: serve the whole object unless the client's validator still matches; the
        // simple, safe reading is to drop the range whenever If-Range is present.
        let range = match header_str(session, "if-range") {
            Some(_) => None,
            None => header_str(session, "range").and_then(RangeSpec::parse),
        };
        let opts = GetOptions { range, if_none_match, if_modified_since };
        match self.state.origin.get(at, &opts).await? {
            GetResponse::NotModified(meta) => {
                let h = self.object_header(304, ctx, &meta, None, None)?;
                self.write_header(session, ctx, h, true).await
            }
            GetResponse::Body { meta, range, mut body } => {
                // Not every store honours conditional GETs: check the validators here as well.
                if origin::is_unchanged(opts.if_none_match.as_deref(), opts.if_modified_since, &meta) {
                    drop(body);
                    let h = self.object_header(304, ctx, &meta, None, None)?;
                    return self.write_header(session, ctx, h, true).await;
                }
                let mut first: Option<Bytes> = None;
                let content_type = match &meta.content_type {
                    Some(ct) => ct.clone(),
                    None => {
                        first = match body.next().await {
                            Some(chunk) => Some(chunk?),
                            None => None,
                        };
                        mime::detect(first.as_deref().unwrap_or(&[]), key).to_string()
                    }
                };
                let status = if range.is_some() { 206 } else { 200 };
                let h = self.object_header(status, ctx, &meta, range, Some(&content_type))?;
                let length = match range {
                    Some((a, b)) => b - a + 1,
                    None => meta.size,
                };
                self.write_header(session, ctx, h, length == 0).await?;
                if length == 0 {
                    return Ok(());
                }
                if let Some(chunk) = first {
                    self.write_body(session, ctx, chunk).await?;
                }
                while let Some(chunk) = body.next().await {
                    self.write_body(session, ctx, chunk?).await?;
                }
                if ctx.bytes != length {
                    return Err(GatewayError::BadGateway(format!(
                        "origin sent {} of {length} bytes",
                        ctx.bytes
                    )));
                }
                session
                    .write_response_body(None, true)
                    .await
                    .map_err(|e| GatewayError::Internal(format!("finishing the response: {e}")))?;
                Ok(())
            }
        }
    }

    fn object_header(
        &self,
        status: u16,
        ctx: &Ctx,
        meta: &ObjectMeta,
        range: Option<(u64, u64)>,
        content_type: Option<&str>,
    ) -> Result<ResponseHeader, GatewayError> {
        let build = || -> pingora::Result<ResponseHeader> {
            let mut h = self.response(status, ctx)?;
            if status != 304 {
                h.insert_header("content-type", content_type.unwrap_or("application/octet-stream"))?;
                let length = match range {
                    Some((a, b)) => b - a + 1,
                    None => meta.size,
                };
                h.insert_header("content-length", length.to_string())?;
                h.insert_header("accept-ranges", "bytes")?;
                if let Some((a, b)) = range {
                    h.insert_header("content-range", format!("bytes {a}-{b}/{}", meta.size))?;
                }
            }
            if let Some(etag) = &meta.etag {
                h.insert_header("etag", etag.as_str())?;
            }
            if let Some(lm) = meta.last_modified {
                h.insert_header("last-modified", http_date(lm))?;
            }
            h.insert_header("cache-control", self.state.config.cache_control.as_str())?;
            Ok(h)
        };
        build().map_err(|e| GatewayError::Internal(format!("building headers: {e}")))
    }

    async fn write_header(
        &self,
        session: &mut Session,
        ctx: &mut Ctx,
        h: ResponseHeader,
        end: bool,
    ) -> Result<(), GatewayError> {
        ctx.status = h.status.as_u16();
        ctx.header_sent = true;
        session
            .write_response_header(Box::new(h), end)
            .await
            .map_err(|e| GatewayError::Internal(format!("writing headers: {e}")))
    }

    async fn write_body(
        &self,
        session: &mut Session,
        ctx: &mut Ctx,
        chunk: Bytes,
    ) -> Result<(), GatewayError> {
        ctx.bytes += chunk.len() as u64;
        session
            .write_response_body(Some(chunk), false)
            .await
            .map_err(|e| GatewayError::Internal(format!("client went away: {e}")))
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
            route: "original",
            bucket: String::new(),
            key: String::new(),
            process: String::new(),
            status: 0,
            bytes: 0,
            cache: "-",
            error: None,
            header_sent: false,
            _inflight: InflightGuard(self.state.inflight.clone()),
        }
    }

    async fn request_filter(&self, session: &mut Session, ctx: &mut Ctx) -> pingora::Result<bool> {
        let deadline = self.state.config.request_timeout;
        let work = AssertUnwindSafe(self.handle(session, ctx)).catch_unwind();
        let outcome = match tokio::time::timeout(deadline, work).await {
            Ok(Ok(result)) => result,
            Ok(Err(panic)) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".into());
                Err(GatewayError::Internal(format!("panic: {what}")))
            }
            Err(_) => Err(GatewayError::GatewayTimeout("request")),
        };
        if let Err(e) = outcome {
            self.send_error(session, ctx, &e).await?;
        }
        Ok(true)
    }

    async fn upstream_peer(&self, _session: &mut Session, _ctx: &mut Ctx) -> pingora::Result<Box<HttpPeer>> {
        // request_filter answers every request.
        Err(Error::explain(ErrorType::InternalError, "Pixgate has no upstream peer"))
    }

    async fn logging(&self, session: &mut Session, e: Option<&Error>, ctx: &mut Ctx) {
        let elapsed = ctx.start.elapsed();
        let status = if ctx.status == 0 {
            session.response_written().map(|r| r.status.as_u16()).unwrap_or(0)
        } else {
            ctx.status
        };
        let m = &self.state.metrics;
        m.requests_total.with_label_values(&[ctx.route, status.to_string().as_str()]).inc();
        m.request_duration.with_label_values(&[ctx.route]).observe(elapsed.as_secs_f64());
        log_access(session, ctx, status, elapsed, e);
    }
}

fn log_access(session: &Session, ctx: &Ctx, status: u16, elapsed: Duration, e: Option<&Error>) {
    let method = session.req_header().method.as_str();
    let duration_ms = elapsed.as_secs_f64() * 1000.0;
    let error = ctx.error.as_ref().map(|(_, d)| d.as_str()).unwrap_or("");
    let fault = ctx.error.as_ref().map(|(f, _)| f.as_str()).unwrap_or("-");
    let proxy_error = e.map(|e| e.to_string()).unwrap_or_default();
    match ctx.error.as_ref().map(|(f, _)| *f) {
        Some(Fault::Internal) | Some(Fault::Origin) => tracing::warn!(
            target: "pixgate::access",
            method, bucket = ctx.bucket.as_str(), key = ctx.key.as_str(), process = ctx.process.as_str(),
            status, bytes = ctx.bytes, duration_ms, cache = ctx.cache, request_id = ctx.request_id.as_str(),
            fault, error, proxy_error = proxy_error.as_str(),
        ),
        _ => tracing::info!(
            target: "pixgate::access",
            method, bucket = ctx.bucket.as_str(), key = ctx.key.as_str(), process = ctx.process.as_str(),
            status, bytes = ctx.bytes, duration_ms, cache = ctx.cache, request_id = ctx.request_id.as_str(),
            fault, error, proxy_error = proxy_error.as_str(),
        ),
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
