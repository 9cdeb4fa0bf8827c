//! From a request to a typed [`Route`]: the request's size limits, addressing, the signature,
//! the bucket's access rules and the processing chain (styles resolved: the chains the
//! configuration parsed at load, then those stored through the Style API). Everything after
//! this module works on these values; nothing sees the raw `x-oss-process` string again.

use std::sync::Arc;
use std::time::SystemTime;

use pingora::http::RequestHeader;
use pixgate_cache::SourceKey;
use pixgate_ops::pipeline;
use pixgate_ops::spec::{self, Action, Chain, Format, Process as Asked, ProcessRequest};

use crate::access::{self, Access};
use crate::access_log::{RequestLog, RouteKind};
use crate::address::{self, Query};
use crate::auth::{self, Identity};
use crate::config::{BucketConfig, Config};
use crate::error::GatewayError;
use crate::origin::RangeSpec;
use crate::styles::StoredStyles;

/// The longest request target (path and query) accepted.
pub const MAX_URI_BYTES: usize = 16 * 1024;
/// The most header bytes (names, values, separators) a request may carry.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;
/// The largest `sys/saveas` request body accepted.
pub const MAX_SAVEAS_BODY: usize = 16 * 1024;
/// The largest Style API request body accepted.
pub const MAX_STYLE_BODY: usize = 16 * 1024;

/// What a request asks for, checked and typed.
#[derive(Debug)]
pub enum Route {
    /// `GET`/`HEAD` of an object as stored.
    Original(Original),
    /// `GET`/`HEAD` of a processed object (`x-oss-process`, a style, or the delimiter form).
    Process(Process),
    /// `POST ...?x-oss-process`: render and store (`sys/saveas`); the chain is in the body.
    SaveAs(SaveAs),
    /// `PUT`/`GET`/`DELETE /<bucket>?style[&styleName=N]`: the bucket's styles, signed.
    StyleApi(StyleApi),
}

/// One object of a configured (or implicit) bucket.
#[derive(Debug, Clone)]
pub struct Object {
    pub bucket: Arc<BucketConfig>,
    /// The key as the client names it (without the bucket's prefix).
    pub key: String,
}

impl Object {
    /// The key at the origin: the bucket's prefix and the key.
    pub fn origin_key(&self) -> String {
        format!("{}{}", self.bucket.prefix, self.key)
    }

    /// The source cache's key of this object.
    pub fn source_key(&self) -> SourceKey {
        SourceKey { bucket: self.bucket.origin_bucket.as_str().into(), key: self.origin_key().into() }
    }

    /// Another object of the same bucket (a watermark image, a saveas target).
    pub fn sibling(&self, key: &str) -> Object {
        Object { bucket: self.bucket.clone(), key: key.to_string() }
    }
}

/// The request's conditional headers.
#[derive(Debug, Clone, Default)]
pub struct Conditions {
    pub if_none_match: Option<String>,
    pub if_modified_since: Option<SystemTime>,
}

#[derive(Debug)]
pub struct Original {
    pub object: Object,
    pub head: bool,
    /// A signed request: its response is never `public`.
    pub signed: bool,
    pub conditions: Conditions,
    /// The `Range` asked for; dropped when `If-Range` is present (the whole object is safe).
    pub range: Option<RangeSpec>,
}

#[derive(Debug)]
pub struct Process {
    pub object: Object,
    pub chain: Arc<Chain>,
    /// The distinct watermark objects the chain names (at most three).
    pub watermarks: Vec<String>,
    pub head: bool,
    /// A signed request: its response is never `public`.
    pub signed: bool,
    pub conditions: Conditions,
    /// Whether the bucket's `auto_format` applies (the response varies with `Accept`), and
    /// the format it chose (already appended to `chain`): `None` outside `auto_format`.
    pub negotiation: Option<Option<Format>>,
}

/// `auto_format`: for an image response whose chain names no format, the first of `formats`
/// the request's `Accept` names explicitly, appended to the chain as a `format` action (so the
/// cache key and the ETag hold it). `info`, `average-hue` and chains with `format` are kept.
fn negotiate(
    chain: Arc<Chain>,
    formats: &[Format],
    accept: Option<&str>,
) -> (Arc<Chain>, Option<Option<Format>>) {
    if formats.is_empty() || chain.actions.iter().any(|a| a.is_standalone()) {
        return (chain, None);
    }
    // Every image response of such a bucket says `Vary: Accept`, even one whose chain fixes
    // the format, so a cache in front treats the bucket's variants alike.
    if chain.actions.iter().any(|a| matches!(a, Action::Format(_))) {
        return (chain, Some(None));
    }
    match crate::negotiate::choose(formats, accept) {
        Some(format) => {
            let mut negotiated = (*chain).clone();
            negotiated.actions.push(Action::Format(format));
            (Arc::new(negotiated), Some(Some(format)))
        }
        None => (chain, Some(None)),
    }
}

#[derive(Debug)]
pub struct SaveAs {
    pub object: Object,
    pub content_length: Option<u64>,
    pub digests: Digests,
}

/// What a Style API request asks for; names are valid style names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StyleOp {
    /// `PUT ?style&styleName=N`, the content in the body.
    Put(String),
    /// `GET ?style&styleName=N`.
    Get(String),
    /// `GET ?style`.
    List,
    /// `DELETE ?style&styleName=N`.
    Delete(String),
}

/// A Style API request of a signed client.
#[derive(Debug)]
pub struct StyleApi {
    pub bucket: Arc<BucketConfig>,
    pub op: StyleOp,
    pub content_length: Option<u64>,
    pub digests: Digests,
}

/// The digests a request declares for its body (and may have signed).
#[derive(Debug, Clone, Default)]
pub struct Digests {
    pub content_md5: Option<String>,
    pub content_sha256: Option<String>,
}

/// A `sys/saveas` request once its body is read: what to render and where to write it.
#[derive(Debug)]
pub struct SaveAsJob {
    pub source: Object,
    pub chain: Arc<Chain>,
    pub watermarks: Vec<String>,
    pub target: Object,
    /// The target bucket as the body named it (empty: the source bucket), for the answer.
    pub target_bucket_named: String,
}

fn header<'a>(req: &'a RequestHeader, name: &str) -> Option<&'a str> {
    req.headers.get(name).and_then(|v| v.to_str().ok())
}

impl Digests {
    fn of(req: &RequestHeader) -> Digests {
        Digests {
            content_md5: header(req, "content-md5").map(str::to_string),
            content_sha256: header(req, "x-oss-content-sha256").map(str::to_string),
        }
    }

    /// A body must match the digests its request declares: `Content-MD5` and an
    /// `x-oss-content-sha256` other than `UNSIGNED-PAYLOAD`.
    pub fn check(&self, body: &[u8]) -> Result<(), GatewayError> {
        use base64::Engine;
        use sha2::Digest;
        if let Some(md5) = &self.content_md5 {
            let actual = base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(body));
            if md5.trim() != actual {
                return Err(GatewayError::BadDigest);
            }
        }
        if let Some(sha) = self.content_sha256.as_deref().filter(|v| *v != "UNSIGNED-PAYLOAD") {
            let actual = auth::hex(&sha2::Sha256::digest(body));
            if !sha.trim().eq_ignore_ascii_case(&actual) {
                return Err(GatewayError::BadDigest);
            }
        }
        Ok(())
    }
}

/// A request body of at most `max` bytes: one whose declared length is over it is refused
/// before it is read.
fn check_length(content_length: Option<u64>, max: usize) -> Result<(), GatewayError> {
    match content_length {
        Some(n) if n > max as u64 => Err(GatewayError::EntityTooLarge),
        _ => Ok(()),
    }
}

impl Conditions {
    fn of(req: &RequestHeader) -> Conditions {
        Conditions {
            if_none_match: header(req, "if-none-match").map(str::to_string),
            if_modified_since: header(req, "if-modified-since")
                .and_then(|v| httpdate::parse_http_date(v).ok()),
        }
    }
}

/// Route one request; `stored` holds the styles stored through the Style API (consulted after
/// the file's); `log` learns the bucket, key, chain and kind as they become known, so an
/// error's access-log line names them too.
pub fn route(
    config: &Config,
    stored: &StoredStyles,
    req: &RequestHeader,
    log: &mut RequestLog,
) -> Result<Route, GatewayError> {
    check_size(req)?;
    let host = header(req, "host").or_else(|| req.uri.host());
    let target = address::target(config, host, req.uri.path())?;
    check_key(&target.key, "The object name")?;
    log.bucket.clone_from(&target.bucket);
    log.key.clone_from(&target.key);
    let post = req.method == http::Method::POST;
    if post {
        log.kind = RouteKind::SaveAs;
    }
    if target.bucket.is_empty() {
        return Err(GatewayError::NotImplemented(
            "Pixgate serves objects; listing buckets is not supported.".into(),
        ));
    }
    let bucket = config.bucket(&target.bucket).ok_or(GatewayError::NoSuchBucket)?;
    if target.key.is_empty() {
        return style_api(config, req, bucket, log);
    }
    // The signature covers the key as addressed (a delimiter style included).
    let signed = auth::Request {
        method: req.method.as_str(),
        bucket: &target.bucket,
        key: &target.key,
        query: req.uri.query(),
        headers: &req.headers,
    };
    let identity = auth::authenticate(&signed, &config.credentials, &config.region, SystemTime::now())?;
    let query = Query::parse(req.uri.query());
    let referer = header(req, "referer");
    let object = Object { bucket, key: target.key };
    if post {
        if !query.contains("x-oss-process") {
            return Err(GatewayError::MethodNotAllowed);
        }
        access::authorize(&object.bucket, &identity, Access::SaveAs, &object.key, referer)?;
        return Ok(Route::SaveAs(SaveAs {
            object,
            content_length: content_length(req),
            digests: Digests::of(req),
        }));
    }
    let retained = query.retained(config.query, &config.retain);
    let ask = Ask::of(&retained, object, stored, log)?;
    access::authorize(&ask.object().bucket, &identity, ask.access(), &ask.object().key, referer)?;
    let head = match req.method {
        http::Method::GET => false,
        http::Method::HEAD => true,
        _ => return Err(GatewayError::MethodNotAllowed),
    };
    let conditions = Conditions::of(req);
    let signed = identity.is_signed();
    match ask {
        Ask::Original(object) => {
            // If-Range: serving the whole object is always safe.
            let range = match header(req, "if-range") {
                Some(_) => None,
                None => header(req, "range").and_then(RangeSpec::parse),
            };
            Ok(Route::Original(Original { object, head, signed, conditions, range }))
        }
        ask => {
            let (object, chain, watermarks) = ask.chain(&identity, stored)?;
            if chain.actions.iter().any(|a| a.is_standalone()) {
                log.kind = RouteKind::Info;
            }
            let formats = config.auto_format_for(&object.bucket);
            let (chain, negotiation) = negotiate(chain, formats, header(req, "accept"));
            Ok(Route::Process(Process { object, chain, watermarks, head, signed, conditions, negotiation }))
        }
    }
}

fn content_length(req: &RequestHeader) -> Option<u64> {
    header(req, "content-length").and_then(|v| v.trim().parse().ok())
}

/// A request addressed to a bucket itself: only the Style API (`?style`), and only signed,
/// whatever the bucket's ACL.
fn style_api(
    config: &Config,
    req: &RequestHeader,
    bucket: Arc<BucketConfig>,
    log: &mut RequestLog,
) -> Result<Route, GatewayError> {
    let query = Query::parse(req.uri.query());
    if !query.contains("style") {
        return Err(GatewayError::NotImplemented(
            "Pixgate serves objects and the Style API; other bucket-level requests are not supported.".into(),
        ));
    }
    log.kind = RouteKind::Style;
    // OSS's resource of a bucket is `/<bucket>/`: the key is empty.
    let signed = auth::Request {
        method: req.method.as_str(),
        bucket: &bucket.name,
        key: "",
        query: req.uri.query(),
        headers: &req.headers,
    };
    let identity = auth::authenticate(&signed, &config.credentials, &config.region, SystemTime::now())?;
    if !identity.is_signed() {
        return Err(GatewayError::AccessDenied("The Style API needs a signed request.".into()));
    }
    let name = query.get("styleName")?.map(str::to_string);
    let op = match (&req.method, name) {
        (&http::Method::GET, None) => StyleOp::List,
        (&http::Method::GET, Some(n)) => StyleOp::Get(n),
        (&http::Method::PUT, Some(n)) => StyleOp::Put(n),
        (&http::Method::DELETE, Some(n)) => StyleOp::Delete(n),
        (&http::Method::PUT | &http::Method::DELETE, None) => {
            return Err(GatewayError::InvalidArgument("The styleName parameter is required.".into()));
        }
        _ => return Err(GatewayError::MethodNotAllowed),
    };
    if let StyleOp::Put(n) | StyleOp::Get(n) | StyleOp::Delete(n) = &op {
        spec::validate_style_name(n)?;
        log.process = format!("style/{n}");
    }
    Ok(Route::StyleApi(StyleApi {
        bucket,
        op,
        content_length: content_length(req),
        digests: Digests::of(req),
    }))
}

/// A style of the bucket: the file's first, then those stored through the Style API.
fn style(bucket: &BucketConfig, stored: &StoredStyles, name: &str) -> Option<Arc<Chain>> {
    bucket.styles.get(name).cloned().or_else(|| stored.chain(&bucket.name, name))
}

/// The request target and header limits.
fn check_size(req: &RequestHeader) -> Result<(), GatewayError> {
    if req.uri.path_and_query().map_or(0, |p| p.as_str().len()) > MAX_URI_BYTES {
        return Err(GatewayError::UriTooLong);
    }
    if req.headers.iter().map(|(n, v)| n.as_str().len() + v.len() + 4).sum::<usize>() > MAX_HEADER_BYTES {
        return Err(GatewayError::HeadersTooLarge);
    }
    Ok(())
}

/// A key Pixgate addresses: no `.`/`..` segments (they could leave a bucket's prefix on stores
/// that normalise paths), at most OSS's key length.
fn check_key(key: &str, what: &str) -> Result<(), GatewayError> {
    if address::has_dot_segment(key) {
        return Err(GatewayError::InvalidObjectName(format!(
            "{what} must not contain \".\" or \"..\" segments."
        )));
    }
    if key.len() > spec::MAX_KEY_BYTES {
        return Err(GatewayError::InvalidObjectName(format!(
            "{what} is longer than {} bytes.",
            spec::MAX_KEY_BYTES
        )));
    }
    Ok(())
}

/// What a GET or HEAD asks of an object, before the bucket's rules are applied.
enum Ask {
    Original(Object),
    /// `/<key><delimiter><style>`: a style of the bucket, known to exist.
    DelimiterStyle(Object, String),
    /// `x-oss-process=...`, parsed (an error is reported after the access rules).
    Query(Object, Result<ProcessRequest, spec::SpecError>),
}

impl Ask {
    fn of(
        retained: &Query,
        object: Object,
        stored: &StoredStyles,
        log: &mut RequestLog,
    ) -> Result<Ask, GatewayError> {
        if let Some(raw) = retained.get("x-oss-process")? {
            log.process = raw.to_string();
            log.kind = RouteKind::Process;
            return Ok(Ask::Query(object, spec::parse_process(raw)));
        }
        let bucket = &object.bucket;
        let is_style = |n: &str| bucket.styles.contains_key(n) || stored.contains(&bucket.name, n);
        let Some((base, style)) = address::split_style(&object.key, &bucket.style_delimiters, is_style)
        else {
            return Ok(Ask::Original(object));
        };
        let (base, style) = (base.to_string(), style.to_string());
        log.key.clone_from(&base);
        log.process = format!("style/{style}");
        log.kind = RouteKind::Process;
        Ok(Ask::DelimiterStyle(object.sibling(&base), style))
    }

    fn object(&self) -> &Object {
        match self {
            Ask::Original(o) | Ask::DelimiterStyle(o, _) | Ask::Query(o, _) => o,
        }
    }

    /// Which of the bucket's rules apply: a style is what source protection lets through.
    fn access(&self) -> Access {
        match self {
            Ask::Original(_) => Access::Original,
            Ask::DelimiterStyle(..) => Access::Style,
            Ask::Query(_, Ok(ProcessRequest { process: Asked::Style(_), saveas: None })) => Access::Style,
            Ask::Query(..) => Access::Process,
        }
    }

    /// The chain to render, its watermark objects (checked against source protection) and
    /// what this build cannot do.
    fn chain(
        self,
        identity: &Identity,
        stored: &StoredStyles,
    ) -> Result<(Object, Arc<Chain>, Vec<String>), GatewayError> {
        let access = self.access();
        let (object, chain) = match self {
            Ask::Original(_) => unreachable!("originals have no chain"),
            Ask::DelimiterStyle(object, name) => {
                let chain = style(&object.bucket, stored, &name).ok_or(GatewayError::NoSuchStyle(name))?;
                (object, chain)
            }
            Ask::Query(object, parsed) => {
                let (chain, saveas) = resolve(&object.bucket, stored, parsed?)?;
                if saveas.is_some() {
                    return Err(GatewayError::InvalidArgument(
                        "sys/saveas is only allowed in a POST request.".into(),
                    ));
                }
                (object, chain)
            }
        };
        let watermarks = checked_watermarks(&chain)?;
        let keys: Vec<&str> = watermarks.iter().map(String::as_str).collect();
        access::authorize_watermarks(&object.bucket, identity, access, &keys)?;
        check_supported(&chain)?;
        Ok((object, chain, watermarks))
    }
}

/// A parsed `x-oss-process` with its style looked up in `bucket` (the file's, then the stored).
fn resolve(
    bucket: &BucketConfig,
    stored: &StoredStyles,
    parsed: ProcessRequest,
) -> Result<(Arc<Chain>, Option<spec::SaveAs>), GatewayError> {
    let chain = match parsed.process {
        Asked::Image(chain) => Arc::new(chain),
        Asked::Style(name) => style(bucket, stored, &name).ok_or(GatewayError::NoSuchStyle(name))?,
    };
    Ok((chain, parsed.saveas))
}

fn checked_watermarks(chain: &Chain) -> Result<Vec<String>, GatewayError> {
    Ok(pipeline::watermark_keys(chain)?.into_iter().map(str::to_string).collect())
}

fn check_supported(chain: &Chain) -> Result<(), GatewayError> {
    match pipeline::unsupported(chain) {
        Some(name) => Err(GatewayError::NotImplemented(format!(
            "{name} is not implemented yet in this version of Pixgate."
        ))),
        None => Ok(()),
    }
}

impl StyleApi {
    /// Refuse a body whose declared length is over [`MAX_STYLE_BODY`] before reading it.
    pub fn check_length(&self) -> Result<(), GatewayError> {
        check_length(self.content_length, MAX_STYLE_BODY)
    }
}

impl SaveAs {
    /// Refuse a body whose declared length is over [`MAX_SAVEAS_BODY`] before reading it.
    pub fn check_length(&self) -> Result<(), GatewayError> {
        check_length(self.content_length, MAX_SAVEAS_BODY)
    }

    /// The body `x-oss-process=<chain>|sys/saveas,o_<key>[,b_<bucket>]`, checked against its
    /// digests and the configuration; a style is looked up in the file's, then `stored`.
    pub fn job(
        self,
        config: &Config,
        stored: &StoredStyles,
        body: &[u8],
        log: &mut RequestLog,
    ) -> Result<SaveAsJob, GatewayError> {
        self.digests.check(body)?;
        let text = std::str::from_utf8(body)
            .map_err(|_| GatewayError::InvalidArgument("The request body is not UTF-8 text.".into()))?;
        let raw = text.trim().strip_prefix("x-oss-process=").ok_or_else(|| {
            GatewayError::InvalidArgument(
                "The request body must be x-oss-process=<process>|sys/saveas,o_<base64 key>.".into(),
            )
        })?;
        // SDKs send the chain as it is; a form-encoded one is decoded (a literal `+` stays).
        let raw = address::decode(raw).map(|r| r.into_owned()).unwrap_or_else(|| raw.to_string());
        log.process.clone_from(&raw);
        let (chain, saveas) = resolve(&self.object.bucket, stored, spec::parse_process(&raw)?)?;
        let Some(saveas) = saveas else {
            return Err(GatewayError::InvalidArgument(
                "A POST with x-oss-process needs |sys/saveas,o_<base64 key>[,b_<base64 bucket>].".into(),
            ));
        };
        if chain.actions.iter().any(|a| a.is_standalone()) {
            // `image/info|sys/saveas` is refused by the parser; a style naming them is refused here.
            return Err(GatewayError::InvalidArgument(
                "info and average-hue answer JSON and cannot be saved with |sys/saveas.".into(),
            ));
        }
        check_supported(&chain)?;
        if address::has_dot_segment(&saveas.object) {
            return Err(GatewayError::InvalidObjectName(
                "The sys/saveas target key must not contain \".\" or \"..\" segments.".into(),
            ));
        }
        let target_bucket = match saveas.bucket.as_deref() {
            None => self.object.bucket.clone(),
            Some(b) if b == self.object.bucket.name => self.object.bucket.clone(),
            Some(b) => config.buckets.get(b).cloned().ok_or_else(|| {
                GatewayError::AccessDenied(
                    "sys/saveas writes only to the source bucket or a bucket listed in the configuration."
                        .into(),
                )
            })?,
        };
        let watermarks = checked_watermarks(&chain)?;
        Ok(SaveAsJob {
            source: self.object,
            chain,
            watermarks,
            target: Object { bucket: target_bucket, key: saveas.object },
            target_bucket_named: saveas.bucket.unwrap_or_default(),
        })
    }
}
