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

use crate::access::{self, Access};
use crate::auth;
use crate::config::{BucketConfig, Config};
use crate::error::{Fault, GatewayError, xml_body};
use crate::fonts::FontDirs;
use crate::metrics::Metrics;
use crate::origin::{self, GetOptions, GetResponse, Location, ObjectMeta, Origin, OriginError, RangeSpec};
use crate::route::{self, Query};
use crate::shared::SharedTier;
use crate::worker::{MemoryBudget, Pool, panic_text};
use crate::{chain, mime};
use pixgate_cache::{Caches, Outcome, Purge, Source, SourceKey, SourceMeta, Variant, VariantKey};
use pixgate_ops::codec;
use pixgate_ops::pipeline::{self, Assets};
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
    /// Memory for sources and pixels of requests in flight.
    pub budget: MemoryBudget,
    /// The result and source caches.
    pub caches: Caches,
    /// The shared level on the object store, when `[cache.shared]` names a bucket.
    pub shared: Option<Arc<SharedTier>>,
    /// Fonts for text watermarks.
    pub fonts: Arc<FontDirs>,
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

/// How long stale source bytes are served after a failed revalidation before the next try.
const STALE_IF_ERROR: Duration = Duration::from_secs(10);

/// What is left to send once the response header is out.
pub enum Reply {
    /// Nothing: the response is complete (or was header-only).
    Done,
    /// A body of `length` bytes: `first`, then the chunks of `rest`. Sent after the request
    /// deadline no longer applies (it bounds the time to the first byte, not a slow download).
    Stream { first: Option<Bytes>, rest: Option<crate::origin::BodyStream>, length: u64 },
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

/// The longest request target (path and query) accepted.
pub const MAX_URI_BYTES: usize = 16 * 1024;
/// The most header bytes (names, values, separators) a request may carry.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;

/// The largest `sys/saveas` request body accepted.
pub const MAX_SAVEAS_BODY: usize = 16 * 1024;

/// Read a request body of at most `max` bytes (refused from Content-Length when it says more).
async fn read_body(session: &mut Session, max: usize) -> Result<Vec<u8>, GatewayError> {
    if header_str(session, "content-length")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .is_some_and(|n| n > max as u64)
    {
        return Err(GatewayError::EntityTooLarge);
    }
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

/// A body must match the digests its request declares (and may have signed): `Content-MD5`
/// and an `x-oss-content-sha256` other than `UNSIGNED-PAYLOAD`.
fn check_digests(session: &Session, body: &[u8]) -> Result<(), GatewayError> {
    use base64::Engine;
    use sha2::Digest;
    if let Some(md5) = header_str(session, "content-md5") {
        let actual = base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(body));
        if md5.trim() != actual {
            return Err(GatewayError::BadDigest);
        }
    }
    if let Some(sha) = header_str(session, "x-oss-content-sha256").filter(|v| *v != "UNSIGNED-PAYLOAD") {
        let actual = crate::auth::hex(&sha2::Sha256::digest(body));
        if !sha.trim().eq_ignore_ascii_case(&actual) {
            return Err(GatewayError::BadDigest);
        }
    }
    Ok(())
}

fn http_date(t: SystemTime) -> String {
    httpdate::fmt_http_date(t)
}

impl Gateway {
    fn response(&self, status: u16, ctx: &Ctx) -> pingora::Result<ResponseHeader> {
        let mut h = ResponseHeader::build(status, Some(10))?;
        h.insert_header("server", "Pixgate")?;
        h.insert_header("x-oss-request-id", ctx.request_id.as_str())?;
        h.insert_header("x-content-type-options", "nosniff")?;
        Ok(h)
    }

    async fn send_error(
        &self,
        session: &mut Session,
        ctx: &mut Ctx,
        err: &GatewayError,
    ) -> pingora::Result<()> {
        let p = err.public();
        ctx.error = Some((p.fault, err.detail()));
        if ctx.header_sent {
            // The status already went out; the connection must close so the client sees an
            // incomplete body rather than a desynchronised stream.
            session.set_keepalive(None);
            return Ok(());
        }
        ctx.status = p.status;
        let rejected = match err {
            GatewayError::ImageTooLarge { .. } => Some("limit"),
            GatewayError::SlowDown => Some("overload"),
            GatewayError::AccessDenied(_)
            | GatewayError::InvalidAccessKeyId
            | GatewayError::SignatureDoesNotMatch
            | GatewayError::RequestTimeTooSkewed => Some("auth"),
            _ => None,
        };
        if let Some(reason) = rejected {
            self.state.metrics.rejected_total.with_label_values(&[reason]).inc();
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
    async fn handle(&self, session: &mut Session, ctx: &mut Ctx) -> Result<Reply, GatewayError> {
        let config = &self.state.config;
        let req = session.req_header();
        let method = req.method.clone();
        let uri = req.uri.clone();
        let host = header_str(session, "host").map(str::to_string).or_else(|| uri.host().map(str::to_string));

        if uri.path_and_query().map_or(0, |p| p.as_str().len()) > MAX_URI_BYTES {
            return Err(GatewayError::UriTooLong);
        }
        if req.headers.iter().map(|(n, v)| n.as_str().len() + v.len() + 4).sum::<usize>() > MAX_HEADER_BYTES {
            return Err(GatewayError::HeadersTooLarge);
        }
        let target = route::target(config, host.as_deref(), uri.path())?;
        // "." and ".." segments could leave a bucket's prefix on stores that normalise paths.
        if route::has_dot_segment(&target.key) {
            return Err(GatewayError::InvalidObjectName(
                "The object name must not contain \".\" or \"..\" segments.".into(),
            ));
        }
        if target.key.len() > pixgate_ops::spec::MAX_KEY_BYTES {
            return Err(GatewayError::InvalidObjectName(format!(
                "The object name is longer than {} bytes.",
                pixgate_ops::spec::MAX_KEY_BYTES
            )));
        }
        ctx.bucket.clone_from(&target.bucket);
        ctx.key.clone_from(&target.key);
        let query = Query::parse(uri.query());
        if method == http::Method::POST {
            ctx.route = "saveas";
        }

        if target.bucket.is_empty() {
            return Err(GatewayError::NotImplemented(
                "Pixgate serves objects; listing buckets is not supported.".into(),
            ));
        }
        let bucket = config.bucket(&target.bucket).ok_or(GatewayError::NoSuchBucket)?;
        let bucket: &BucketConfig = &bucket;
        if target.key.is_empty() {
            return Err(GatewayError::NotImplemented(
                "Pixgate serves objects; bucket-level requests are not supported.".into(),
            ));
        }
        // The signature covers the key as addressed (a delimiter style included).
        let identity = auth::authenticate(
            &auth::Request {
                method: method.as_str(),
                bucket: &target.bucket,
                key: &target.key,
                query: uri.query(),
                headers: &req.headers,
            },
            &config.credentials,
            &config.region,
            SystemTime::now(),
        )
        .map_err(GatewayError::from)?;
        let referer = header_str(session, "referer");

        if method == http::Method::POST {
            if !query.contains("x-oss-process") {
                return Err(GatewayError::MethodNotAllowed);
            }
            access::authorize(bucket, &identity, Access::SaveAs, &target.key, referer)?;
            return self.saveas(session, ctx, bucket, &target.key).await;
        }

        let retained = query.retained(config.query, &config.retain);
        let mut key = target.key.as_str();
        let mut process = retained.get("x-oss-process")?.map(str::to_string);
        if process.is_none()
            && let Some((base, style)) =
                route::split_style(key, &bucket.style_delimiters, |n| bucket.styles.contains_key(n))
        {
            key = base;
            process = Some(format!("style/{style}"));
        }
        ctx.key = key.to_string();
        let access = match process.as_deref() {
            None => Access::Original,
            Some(p) if p.starts_with("style/") && !p.contains('|') => Access::Style,
            Some(_) => Access::Process,
        };
        access::authorize(bucket, &identity, access, key, referer)?;

        match method {
            http::Method::GET | http::Method::HEAD => match process {
                Some(p) => {
                    ctx.process.clone_from(&p);
                    let rules = (&identity, access);
                    self.process(session, ctx, bucket, key, &p, rules, method == http::Method::HEAD).await
                }
                None => {
                    ctx.route = "original";
                    self.original(session, ctx, bucket, key, method == http::Method::HEAD).await
                }
            },
            _ => Err(GatewayError::MethodNotAllowed),
        }
    }

    /// `POST /<bucket>/<key>?x-oss-process` with `x-oss-process=<chain>|sys/saveas,o_..[,b_..]`:
    /// render the object and write the result through the origin. The target bucket is the
    /// source bucket or one the configuration lists; its prefix applies.
    async fn saveas(
        &self,
        session: &mut Session,
        ctx: &mut Ctx,
        bucket: &BucketConfig,
        key: &str,
    ) -> Result<Reply, GatewayError> {
        let state = &self.state;
        let config = &state.config;
        let deadline = ctx.start + config.request_timeout;
        let body = read_body(session, MAX_SAVEAS_BODY).await?;
        check_digests(session, &body)?;
        let text = std::str::from_utf8(&body)
            .map_err(|_| GatewayError::InvalidArgument("The request body is not UTF-8 text.".into()))?;
        let raw = text.trim().strip_prefix("x-oss-process=").ok_or_else(|| {
            GatewayError::InvalidArgument(
                "The request body must be x-oss-process=<process>|sys/saveas,o_<base64 key>.".into(),
            )
        })?;
        // SDKs send the chain as it is; a form-encoded one is decoded (a literal `+` stays).
        let raw = route::decode(raw).map(|r| r.into_owned()).unwrap_or_else(|| raw.to_string());
        ctx.process.clone_from(&raw);
        let (chain, saveas) = chain::resolve(bucket, &raw)?;
        let Some(saveas) = saveas else {
            return Err(GatewayError::InvalidArgument(
                "A POST with x-oss-process needs |sys/saveas,o_<base64 key>[,b_<base64 bucket>].".into(),
            ));
        };
        if chain.actions.iter().any(|a| matches!(a, Action::Info | Action::AverageHue)) {
            // `image/info|sys/saveas` is refused by the parser; a style naming them is refused here.
            return Err(GatewayError::InvalidArgument(
                "info and average-hue answer JSON and cannot be saved with |sys/saveas.".into(),
            ));
        }
        if let Some(name) = pipeline::unsupported(&chain) {
            return Err(GatewayError::NotImplemented(format!(
                "{name} is not implemented yet in this version of Pixgate."
            )));
        }
        if route::has_dot_segment(&saveas.object) {
            return Err(GatewayError::InvalidObjectName(
                "The sys/saveas target key must not contain \".\" or \"..\" segments.".into(),
            ));
        }
        let target: &BucketConfig = match saveas.bucket.as_deref() {
            None => bucket,
            Some(b) if b == bucket.name => bucket,
            Some(b) => config.buckets.get(b).ok_or_else(|| {
                GatewayError::AccessDenied(
                    "sys/saveas writes only to the source bucket or a bucket listed in the configuration."
                        .into(),
                )
            })?,
        };
        let full_key = format!("{}{key}", bucket.prefix);
        let skey = SourceKey { bucket: bucket.origin_bucket.as_str().into(), key: full_key.as_str().into() };
        let (source, _) = self.load_source(&skey, deadline).await?;
        let etag: Arc<str> = variant_etag(&source.validator(), &chain.to_string()).into();
        let variant = self.render(bucket, chain, source, etag, deadline).await?;
        let size = variant.body.len();
        let out_key = format!("{}{}", target.prefix, saveas.object);
        let at = Location { bucket: &target.origin_bucket, key: &out_key };
        match tokio::time::timeout_at(
            deadline.into(),
            state.origin.put(at, variant.body, variant.content_type),
        )
        .await
        {
            Ok(r) => r?,
            Err(_) => return Err(GatewayError::GatewayTimeout("origin")),
        }
        // Whatever was cached for the object just written is stale now.
        let purge = Purge::Key { bucket: target.origin_bucket.clone(), key: out_key };
        state.caches.purge(&purge).await;
        // OSS prints `"key": value` with a space, as its SDK tests expect.
        let text = |v: &str| serde_json::Value::String(v.to_string()).to_string();
        let body = Bytes::from(format!(
            "{{\"bucket\": {}, \"fileSize\": {size}, \"object\": {}, \"status\": \"OK\"}}",
            text(saveas.bucket.as_deref().unwrap_or("")),
            text(&saveas.object),
        ));
        let mut h = self.response(200, ctx).map_err(|e| GatewayError::Internal(e.to_string()))?;
        let build = |h: &mut ResponseHeader| -> pingora::Result<()> {
            h.insert_header("content-type", "application/json")?;
            h.insert_header("content-length", body.len().to_string())
        };
        build(&mut h).map_err(|e| GatewayError::Internal(e.to_string()))?;
        self.write_header(session, ctx, h, false).await?;
        let length = body.len() as u64;
        Ok(Reply::Stream { first: Some(body), rest: None, length })
    }

    /// A processed request: parse the chain (styles resolved), get the source (source cache,
    /// revalidated after `cache.ttl`; else the origin, within the byte limit), answer 304 when
    /// the client's copy is current, else the variant from the result cache or rendered on the
    /// worker pool (concurrent identical misses share one render).
    #[allow(clippy::too_many_arguments)]
    async fn process(
        &self,
        session: &mut Session,
        ctx: &mut Ctx,
        bucket: &BucketConfig,
        key: &str,
        raw: &str,
        (identity, access): (&auth::Identity, Access),
        head: bool,
    ) -> Result<Reply, GatewayError> {
        let chain = chain::resolve_get(bucket, raw)?;
        access::authorize_watermarks(bucket, identity, access, &pipeline::watermark_keys(&chain)?)?;
        let json_only = chain.actions.iter().any(|a| matches!(a, Action::Info | Action::AverageHue));
        ctx.route = if json_only { "info" } else { "process" };
        if let Some(name) = pipeline::unsupported(&chain) {
            return Err(GatewayError::NotImplemented(format!(
                "{name} is not implemented yet in this version of Pixgate."
            )));
        }
        let state = &self.state;
        let deadline = ctx.start + state.config.request_timeout;
        let full_key = format!("{}{key}", bucket.prefix);
        let skey = SourceKey { bucket: bucket.origin_bucket.as_str().into(), key: full_key.as_str().into() };
        let canonical: Arc<str> = chain.to_string().into();
        let if_none_match = header_str(session, "if-none-match").map(str::to_string);
        let if_modified_since =
            header_str(session, "if-modified-since").and_then(|v| httpdate::parse_http_date(v).ok());
        // A variant still cached for a source confirmed within ttl is served without the
        // source's bytes (which may have been evicted).
        let conditional = (if_none_match.as_deref(), if_modified_since);
        let fresh = state.caches.fresh_meta(&skey).await;
        if let Some(meta) = &fresh {
            let validators = variant_validators(&meta.validator, &canonical, meta.last_modified);
            if let Some(done) = self.not_modified(session, ctx, &validators, conditional, "hit").await? {
                return Ok(done);
            }
            let vkey = VariantKey {
                source: skey.clone(),
                validator: meta.validator.clone(),
                chain: canonical.clone(),
            };
            if let Some(variant) = state.caches.cached_variant(&vkey).await {
                return self.answer_variant(session, ctx, &validators, variant, Outcome::Hit, head).await;
            }
        }
        if let Some(shared) = &state.shared {
            // The validator from the meta cache or a HEAD, so that a render another replica
            // stored can be found without fetching the source.
            let meta = match fresh {
                Some(m) => Some(m),
                None => self.head_meta(&skey).await?,
            };
            if let Some(meta) = meta {
                return self
                    .process_shared(
                        session,
                        ctx,
                        shared,
                        bucket,
                        chain,
                        skey,
                        meta,
                        canonical,
                        conditional,
                        head,
                    )
                    .await;
            }
        }
        let (source, source_outcome) = self.load_source(&skey, deadline).await?;

        let validator = source.validator();
        let validators = variant_validators(&validator, &canonical, source.last_modified);
        // Answered from the validator alone: the source's outcome says how it was known.
        if let Some(done) =
            self.not_modified(session, ctx, &validators, conditional, source_outcome.as_str()).await?
        {
            return Ok(done);
        }
        let etag: Arc<str> = validators.etag.as_deref().unwrap_or_default().into();

        let vkey = VariantKey { source: skey, validator: validator.into(), chain: canonical };
        let render = self.render(bucket, chain, source, etag, deadline);
        let (variant, outcome) = state.caches.variant(vkey, render).await.map_err(|e| (*e).clone())?;
        self.answer_variant(session, ctx, &validators, variant, outcome, head).await
    }

    /// Answer 304 (headers only, `x-pixgate-cache: <cache>`) when the request's
    /// `(If-None-Match, If-Modified-Since)` say the client's copy is current.
    async fn not_modified(
        &self,
        session: &mut Session,
        ctx: &mut Ctx,
        validators: &ObjectMeta,
        (if_none_match, if_modified_since): (Option<&str>, Option<SystemTime>),
        cache: &'static str,
    ) -> Result<Option<Reply>, GatewayError> {
        if !origin::is_unchanged(if_none_match, if_modified_since, validators) {
            return Ok(None);
        }
        ctx.cache = cache;
        let h = self.variant_header(304, ctx, validators, None, 0, cache)?;
        self.write_header(session, ctx, h, true).await.map(|()| Some(Reply::Done))
    }

    /// A source's validator from a HEAD (remembered for `cache.ttl`); `None` when the origin
    /// gives no ETag (the validator is then a hash of the bytes, which needs a GET).
    async fn head_meta(&self, skey: &SourceKey) -> Result<Option<SourceMeta>, GatewayError> {
        let at = Location { bucket: &skey.bucket, key: &skey.key };
        let m = self.state.origin.head(at).await?;
        let Some(etag) = m.etag else { return Ok(None) };
        // Cached bytes of an older version must not be rendered under the new validator.
        self.state.caches.drop_source_unless(skey, &etag).await;
        let meta =
            SourceMeta { validator: etag.into(), last_modified: m.last_modified, checked_at: Instant::now() };
        self.state.caches.remember(skey.clone(), meta.clone()).await;
        Ok(Some(meta))
    }

    /// A processed request with the shared level on: the result cache, else a render stored
    /// by any replica, else render here (once for concurrent misses) and store it afterwards.
    #[allow(clippy::too_many_arguments)]
    async fn process_shared(
        &self,
        session: &mut Session,
        ctx: &mut Ctx,
        shared: &Arc<SharedTier>,
        bucket: &BucketConfig,
        chain: pixgate_ops::spec::Chain,
        skey: SourceKey,
        meta: SourceMeta,
        canonical: Arc<str>,
        conditional: (Option<&str>, Option<SystemTime>),
        head: bool,
    ) -> Result<Reply, GatewayError> {
        let state = &self.state;
        let deadline = ctx.start + state.config.request_timeout;
        let validators = variant_validators(&meta.validator, &canonical, meta.last_modified);
        if let Some(done) = self.not_modified(session, ctx, &validators, conditional, "miss").await? {
            return Ok(done);
        }
        let etag: Arc<str> = validators.etag.as_deref().unwrap_or_default().into();
        let vkey = VariantKey { source: skey.clone(), validator: meta.validator.clone(), chain: canonical };
        let generation = state.caches.generation();
        let render = async {
            if let Some(v) = shared.get(&vkey, etag.clone(), meta.last_modified).await {
                return Ok(v);
            }
            let (source, _) = self.load_source(&skey, deadline).await?;
            // Older cached bytes were dropped at the HEAD; newer ones (the object changed again
            // since) are rendered but not stored in the shared level under the HEAD's name.
            let same = *source.validator() == *vkey.validator;
            let variant = self.render(bucket, chain, source, etag.clone(), deadline).await?;
            // A purge that ran meanwhile must not be undone by this render.
            if same && state.caches.generation() == generation {
                shared.put_later(&vkey, &variant);
            }
            Ok::<Variant, GatewayError>(variant)
        };
        let (variant, outcome) =
            state.caches.variant(vkey.clone(), render).await.map_err(|e| (*e).clone())?;
        self.answer_variant(session, ctx, &validators, variant, outcome, head).await
    }

    /// Send a variant (or only its headers, for HEAD). The cached bytes are shared, not copied.
    async fn answer_variant(
        &self,
        session: &mut Session,
        ctx: &mut Ctx,
        validators: &ObjectMeta,
        variant: Variant,
        outcome: Outcome,
        head: bool,
    ) -> Result<Reply, GatewayError> {
        self.state.metrics.cache_requests_total.with_label_values(&["result", outcome.as_str()]).inc();
        // A miss answered by another replica's render says so.
        ctx.cache = if outcome == Outcome::Miss && variant.from_shared { "shared" } else { outcome.as_str() };
        let length = variant.body.len() as u64;
        let h = self.variant_header(200, ctx, validators, Some(variant.content_type), length, ctx.cache)?;
        self.write_header(session, ctx, h, head).await?;
        if head {
            return Ok(Reply::Done);
        }
        Ok(Reply::Stream { first: Some(variant.body), rest: None, length })
    }

    /// The source bytes: fresh from the source cache; stale → revalidated with a conditional
    /// GET (one per object at a time; if the origin fails, the stale bytes are served for a
    /// short while, like a CDN's stale-if-error, except when the object is gone); missing →
    /// fetched once for all concurrent requests. Counts the outcome in the source cache metric.
    async fn load_source(
        &self,
        skey: &SourceKey,
        deadline: Instant,
    ) -> Result<(Arc<Source>, Outcome), GatewayError> {
        let caches = &self.state.caches;
        let load = |stale: Option<Arc<Source>>| async move {
            let at = Location { bucket: &skey.bucket, key: &skey.key };
            let Some(old) = stale else {
                return match self.state.origin.get(at, &GetOptions::default()).await? {
                    GetResponse::NotModified(_) => {
                        Err(GatewayError::BadGateway("unasked 304 from the origin".into()))
                    }
                    GetResponse::Body { meta, body, .. } => {
                        Ok(Arc::new(self.read_source(meta, body, deadline).await?))
                    }
                };
            };
            let opts = GetOptions {
                if_none_match: old.etag.clone(),
                if_modified_since: if old.etag.is_none() { old.last_modified } else { None },
                ..GetOptions::default()
            };
            let renewed = || Arc::new(Source { checked_at: Instant::now(), ..(*old).clone() });
            match self.state.origin.get(at, &opts).await {
                Ok(GetResponse::NotModified(_)) => Ok(renewed()),
                // Some stores ignore conditional GETs: compare the validators here.
                Ok(GetResponse::Body { meta, .. })
                    if origin::is_unchanged(opts.if_none_match.as_deref(), opts.if_modified_since, &meta) =>
                {
                    Ok(renewed())
                }
                Ok(GetResponse::Body { meta, body, .. }) => {
                    Ok(Arc::new(self.read_source(meta, body, deadline).await?))
                }
                Err(e @ (OriginError::NotFound | OriginError::NoSuchBucket)) => Err(e.into()),
                Err(e) => {
                    tracing::warn!(target: "pixgate::origin", bucket = &*skey.bucket, error = %e,
                        "revalidation failed: serving the cached source for a short while");
                    let ttl = caches.ttl();
                    let retry_in = STALE_IF_ERROR.min(ttl);
                    let checked_at = Instant::now().checked_sub(ttl - retry_in).unwrap_or_else(Instant::now);
                    Ok(Arc::new(Source { checked_at, ..(*old).clone() }))
                }
            }
        };
        let (source, outcome) = caches.source(skey.clone(), load).await.map_err(|e| (*e).clone())?;
        self.state.metrics.cache_requests_total.with_label_values(&["source", outcome.as_str()]).inc();
        Ok((source, outcome))
    }

    /// Read a source body: refused from its size before reading; the bytes are reserved in the
    /// memory budget while they are read.
    async fn read_source(
        &self,
        meta: ObjectMeta,
        mut body: crate::origin::BodyStream,
        deadline: Instant,
    ) -> Result<Source, GatewayError> {
        let max = self.state.config.limits.max_source_bytes;
        let too_large = |size: String| GatewayError::ImageTooLarge {
            message: format!("The source image is {size} bytes; the limit is {max}."),
            ec: "0040-00000009",
        };
        if meta.size > max {
            return Err(too_large(meta.size.to_string()));
        }
        let _reservation = self.state.budget.reserve(meta.size, deadline).await?;
        let mut bytes = Vec::with_capacity(meta.size as usize);
        while let Some(chunk) = body.next().await {
            let chunk = chunk?;
            if (bytes.len() + chunk.len()) as u64 > max {
                return Err(too_large(format!("more than {max}")));
            }
            bytes.extend_from_slice(&chunk);
        }
        bytes.shrink_to_fit();
        Ok(Source {
            bytes: Bytes::from(bytes),
            etag: meta.etag,
            last_modified: meta.last_modified,
            checked_at: Instant::now(),
        })
    }

    /// Render a variant on the worker pool: limits from the header and the pixels' memory
    /// reserved before a worker decodes.
    async fn render(
        &self,
        bucket: &BucketConfig,
        chain: pixgate_ops::spec::Chain,
        source: Arc<Source>,
        etag: Arc<str>,
        deadline: Instant,
    ) -> Result<Variant, GatewayError> {
        let state = &self.state;
        let limits = state.config.limits;
        let probe = codec::probe(&source.bytes)?;
        codec::check_source(&probe, source.bytes.len() as u64, &limits)?;
        let images = self.watermark_images(bucket, &chain, deadline).await?;
        // The watermark images' decode buffers count too (their probes were checked when read).
        let watermarks: u64 = images
            .iter()
            .filter_map(|(_, s)| codec::probe(&s.bytes).ok())
            .map(|p| pipeline::memory_estimate(&p, None))
            .sum();
        let _pixels = match chain.actions.as_slice() {
            [Action::Info] => None,
            _ => {
                let estimate = pipeline::memory_estimate(&probe, Some(&chain)) + watermarks;
                Some(state.budget.reserve(estimate, deadline).await?)
            }
        };
        let last_modified = source.last_modified;
        let fonts = state.fonts.clone();
        let job = move || {
            let images = images.iter().map(|(k, s)| (k.as_str(), &s.bytes[..])).collect();
            let assets = Assets { images, fonts: &*fonts };
            pipeline::run_with(&chain, &source.bytes, &limits, deadline, &assets)
        };
        let rendered = state.pool.run(job).await??;
        let t = rendered.timings;
        for (stage, d) in [("decode", t.decode), ("transform", t.transform), ("encode", t.encode)] {
            state.metrics.stage_duration.with_label_values(&[stage]).observe(d.as_secs_f64());
        }
        // Cached bytes are weighed by their length: give back the encoder's spare capacity.
        let mut body = rendered.bytes;
        body.shrink_to_fit();
        Ok(Variant {
            body: Bytes::from(body),
            content_type: rendered.mime,
            etag: Some(etag),
            last_modified,
            from_shared: false,
        })
    }

    /// The watermark objects `chain` names, from the source's bucket (under its prefix),
    /// through the source cache. A missing one is WatermarkError, EC 0040-00000025.
    async fn watermark_images(
        &self,
        bucket: &BucketConfig,
        chain: &pixgate_ops::spec::Chain,
        deadline: Instant,
    ) -> Result<Vec<(String, Arc<Source>)>, GatewayError> {
        let keys = pipeline::watermark_keys(chain)?;
        let mut images = Vec::with_capacity(keys.len());
        let missing = || GatewayError::WatermarkError {
            message: "The watermark object does not exist.".into(),
            ec: Some("0040-00000025"),
        };
        for key in keys {
            if route::has_dot_segment(key) {
                return Err(missing());
            }
            let full_key = format!("{}{key}", bucket.prefix);
            let skey =
                SourceKey { bucket: bucket.origin_bucket.as_str().into(), key: full_key.as_str().into() };
            match self.load_source(&skey, deadline).await {
                Ok((source, _)) => images.push((key.to_string(), source)),
                Err(GatewayError::NoSuchKey) => return Err(missing()),
                Err(GatewayError::ImageTooLarge { message, .. }) => {
                    return Err(GatewayError::WatermarkError {
                        message: format!("The watermark image is too large: {message}"),
                        ec: None,
                    });
                }
                Err(e) => return Err(e),
            }
        }
        Ok(images)
    }

    /// Headers of a processed response.
    fn variant_header(
        &self,
        status: u16,
        ctx: &Ctx,
        validators: &ObjectMeta,
        content_type: Option<&str>,
        length: u64,
        cache: &str,
    ) -> Result<ResponseHeader, GatewayError> {
        let build = || -> pingora::Result<ResponseHeader> {
            let mut h = self.response(status, ctx)?;
            if let Some(ct) = content_type {
                h.insert_header("content-type", ct)?;
                h.insert_header("content-length", length.to_string())?;
            }
            if let Some(etag) = &validators.etag {
                h.insert_header("etag", etag.as_str())?;
            }
            if let Some(lm) = validators.last_modified {
                h.insert_header("last-modified", http_date(lm))?;
            }
            h.insert_header("cache-control", self.state.config.cache_control.as_str())?;
            h.insert_header("x-pixgate-cache", cache)?;
            Ok(h)
        };
        build().map_err(|e| GatewayError::Internal(format!("building headers: {e}")))
    }

    /// An original object, streamed from the origin.
    async fn original(
        &self,
        session: &mut Session,
        ctx: &mut Ctx,
        bucket: &BucketConfig,
        key: &str,
        head: bool,
    ) -> Result<Reply, GatewayError> {
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
            return self.write_header(session, ctx, h, true).await.map(|()| Reply::Done);
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
                self.write_header(session, ctx, h, true).await.map(|()| Reply::Done)
            }
            GetResponse::Body { meta, range, mut body } => {
                // Not every store honours conditional GETs: check the validators here as well.
                if origin::is_unchanged(opts.if_none_match.as_deref(), opts.if_modified_since, &meta) {
                    drop(body);
                    let h = self.object_header(304, ctx, &meta, None, None)?;
                    return self.write_header(session, ctx, h, true).await.map(|()| Reply::Done);
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
                    return Ok(Reply::Done);
                }
                Ok(Reply::Stream { first, rest: Some(body), length })
            }
        }
    }

    /// Send a body whose header is already out. Each origin chunk has its own timeout (in the
    /// origin), and each write waits for the client (Pingora's back-pressure).
    async fn stream(
        &self,
        session: &mut Session,
        ctx: &mut Ctx,
        first: Option<Bytes>,
        rest: Option<crate::origin::BodyStream>,
        length: u64,
    ) -> Result<(), GatewayError> {
        if let Some(chunk) = first {
            self.write_body(session, ctx, chunk).await?;
        }
        if let Some(mut rest) = rest {
            while let Some(chunk) = rest.next().await {
                self.write_body(session, ctx, chunk?).await?;
            }
        }
        if ctx.bytes != length {
            return Err(GatewayError::BadGateway(format!("origin sent {} of {length} bytes", ctx.bytes)));
        }
        session
            .write_response_body(None, true)
            .await
            .map_err(|e| GatewayError::ClientGone(format!("finishing the response: {e}")))
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
                // A stored content type that is not a valid header value is replaced.
                let ct = content_type.filter(|ct| http::HeaderValue::from_str(ct).is_ok());
                h.insert_header("content-type", ct.unwrap_or("application/octet-stream"))?;
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
            .map_err(|e| GatewayError::ClientGone(e.to_string()))
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
            Ok(Err(panic)) => Err(GatewayError::Internal(format!("panic: {}", panic_text(&panic)))),
            Err(_) => Err(GatewayError::GatewayTimeout("request")),
        };
        let outcome = match outcome {
            Ok(Reply::Done) => Ok(()),
            Ok(Reply::Stream { first, rest, length }) => {
                AssertUnwindSafe(self.stream(session, ctx, first, rest, length))
                    .catch_unwind()
                    .await
                    .unwrap_or_else(|panic| {
                        Err(GatewayError::Internal(format!("panic: {}", panic_text(&panic))))
                    })
            }
            Err(e) => Err(e),
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

/// A strong validator for a processed variant: the source's validator and the canonical chain
/// (styles already resolved), so a change to either gives a new ETag. FNV-1a, twice, for a
/// stable 128-bit value (the same on every replica and every build).
/// What a variant answers conditional requests with: its ETag and its source's Last-Modified.
fn variant_validators(
    source_validator: &str,
    canonical: &str,
    last_modified: Option<SystemTime>,
) -> ObjectMeta {
    ObjectMeta {
        etag: Some(variant_etag(source_validator, canonical)),
        last_modified,
        ..ObjectMeta::default()
    }
}

fn variant_etag(source_validator: &str, canonical: &str) -> String {
    let fnv = |seed: u64| {
        let mut h = seed;
        for b in source_validator.bytes().chain([0u8]).chain(canonical.bytes()) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01B3);
        }
        h
    };
    format!("\"{:016x}{:016x}\"", fnv(0xcbf2_9ce4_8422_2325), fnv(0x6c62_272e_07bb_0142))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variant_etags_change_with_source_and_chain() {
        let a = variant_etag("\"a\"", "image/resize,w_1");
        assert_eq!(a.len(), 34);
        assert_eq!(a, variant_etag("\"a\"", "image/resize,w_1"));
        assert_ne!(a, variant_etag("\"a\"", "image/resize,w_2"));
        assert_ne!(a, variant_etag("\"b\"", "image/resize,w_1"));
    }

    #[test]
    fn request_ids_look_like_oss_and_are_unique() {
        let a = request_id();
        let b = request_id();
        assert_eq!(a.len(), 24);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase()));
        assert_ne!(a, b);
    }
}
