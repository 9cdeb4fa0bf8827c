//! Where originals come from (and where saveas results, the shared cache level and stored
//! styles go): the [`Origin`] trait and its two implementations, a local folder
//! ([`fs::FsOrigin`]) and an S3-compatible store ([`s3::S3Origin`]).

pub mod fs;
pub mod metered;
pub mod s3;

use std::pin::Pin;
use std::time::SystemTime;

use async_trait::async_trait;
use bytes::Bytes;
use futures::Stream;

/// Errors an origin reports. The gateway maps them to OSS errors in `error.rs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OriginError {
    NotFound,
    NoSuchBucket,
    /// A key the origin refuses to address (traversal, NUL, ...).
    InvalidKey(String),
    RangeNotSatisfiable {
        size: Option<u64>,
    },
    Timeout,
    /// Refused, reset, 5xx, or anything else the origin got wrong. The text is for the log.
    Failed(String),
}

impl std::fmt::Display for OriginError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OriginError::NotFound => f.write_str("not found"),
            OriginError::NoSuchBucket => f.write_str("no such bucket"),
            OriginError::InvalidKey(m) => write!(f, "invalid key: {m}"),
            OriginError::RangeNotSatisfiable { .. } => f.write_str("range not satisfiable"),
            OriginError::Timeout => f.write_str("timed out"),
            OriginError::Failed(m) => write!(f, "failed: {m}"),
        }
    }
}

impl std::error::Error for OriginError {}

impl OriginError {
    /// The `outcome` label of `pixgate_origin_requests_total`.
    pub fn outcome(&self) -> &'static str {
        match self {
            OriginError::NotFound | OriginError::NoSuchBucket => "not_found",
            OriginError::Timeout => "timeout",
            OriginError::InvalidKey(_) | OriginError::RangeNotSatisfiable { .. } => "ok",
            OriginError::Failed(_) => "error",
        }
    }
}

/// A single byte range as a client may ask for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeSpec {
    /// `bytes=a-b` (inclusive).
    FromTo(u64, u64),
    /// `bytes=a-`.
    From(u64),
    /// `bytes=-n`: the last n bytes.
    Suffix(u64),
}

impl RangeSpec {
    /// Parse a `Range` header. Only one range is honoured; anything else is `None`, and a
    /// server may then answer with the whole object (RFC 9110 §14.2).
    pub fn parse(header: &str) -> Option<RangeSpec> {
        let spec = header.trim().strip_prefix("bytes=")?.trim();
        if spec.contains(',') {
            return None;
        }
        let (a, b) = spec.split_once('-')?;
        let (a, b) = (a.trim(), b.trim());
        match (a.is_empty(), b.is_empty()) {
            (true, false) => Some(RangeSpec::Suffix(b.parse().ok()?)),
            (false, true) => Some(RangeSpec::From(a.parse().ok()?)),
            (false, false) => {
                let (a, b) = (a.parse().ok()?, b.parse().ok()?);
                (a <= b).then_some(RangeSpec::FromTo(a, b))
            }
            (true, true) => None,
        }
    }

    /// Resolve against an object of `size` bytes: the inclusive `(first, last)`, or `None` when
    /// unsatisfiable.
    pub fn resolve(self, size: u64) -> Option<(u64, u64)> {
        match self {
            RangeSpec::FromTo(a, b) if a < size => Some((a, b.min(size - 1))),
            RangeSpec::From(a) if a < size => Some((a, size - 1)),
            RangeSpec::Suffix(n) if n > 0 && size > 0 => Some((size - n.min(size), size - 1)),
            _ => None,
        }
    }

    /// The header value to send to an S3 origin.
    pub fn header(self) -> String {
        match self {
            RangeSpec::FromTo(a, b) => format!("bytes={a}-{b}"),
            RangeSpec::From(a) => format!("bytes={a}-"),
            RangeSpec::Suffix(n) => format!("bytes=-{n}"),
        }
    }
}

/// Where an object lives at the origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location<'a> {
    /// The bucket name at the origin (S3 bucket or fs sub-folder).
    pub bucket: &'a str,
    /// The full key at the origin (the bucket's prefix already applied).
    pub key: &'a str,
}

/// What a GET may ask of the origin.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GetOptions {
    pub range: Option<RangeSpec>,
    pub if_none_match: Option<String>,
    pub if_modified_since: Option<SystemTime>,
}

/// An object's metadata.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectMeta {
    /// The whole object's size in bytes.
    pub size: u64,
    pub content_type: Option<String>,
    /// The quoted entity tag, as it goes into an `ETag` header.
    pub etag: Option<String>,
    pub last_modified: Option<SystemTime>,
    /// The object's own `Cache-Control` (S3 metadata), when the store keeps one.
    pub cache_control: Option<String>,
}

pub type BodyStream = Pin<Box<dyn Stream<Item = Result<Bytes, OriginError>> + Send>>;

/// One object of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// The full key at the origin.
    pub key: String,
    /// The object's entity tag as the listing gives it: a changed object has a new one.
    pub etag: Option<String>,
}

pub enum GetResponse {
    /// The conditional request matched: nothing changed.
    NotModified(ObjectMeta),
    Body {
        meta: ObjectMeta,
        /// `Some((first, last))` when a range was served.
        range: Option<(u64, u64)>,
        body: BodyStream,
    },
}

impl std::fmt::Debug for GetResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GetResponse::NotModified(m) => f.debug_tuple("NotModified").field(m).finish(),
            GetResponse::Body { meta, range, .. } => {
                f.debug_struct("Body").field("meta", meta).field("range", range).finish()
            }
        }
    }
}

#[async_trait]
pub trait Origin: Send + Sync + 'static {
    /// Start a GET: returns once the metadata is known; the body streams after.
    async fn get(&self, at: Location<'_>, opts: &GetOptions) -> Result<GetResponse, OriginError>;
    async fn head(&self, at: Location<'_>) -> Result<ObjectMeta, OriginError>;
    async fn put(&self, at: Location<'_>, body: Bytes, content_type: &str) -> Result<(), OriginError>;
    /// Delete one object; a missing one is `NotFound` where the store says so (S3 does not).
    async fn delete(&self, at: Location<'_>) -> Result<(), OriginError>;
    /// The objects of `bucket` whose key starts with `prefix`, at most `max`, sorted by key.
    /// Used by the Style API's store.
    async fn list(&self, bucket: &str, prefix: &str, max: usize) -> Result<Vec<Listed>, OriginError>;
    /// Delete every object of `bucket` whose key starts with `prefix` (with `direct_only`, only
    /// those with no `/` after the prefix), at most `max`; returns how many were deleted. Used
    /// by the shared cache level's purge.
    async fn delete_prefix(
        &self,
        bucket: &str,
        prefix: &str,
        direct_only: bool,
        max: usize,
    ) -> Result<usize, OriginError>;
}

/// Do the request's validators say the client's copy is current? `If-None-Match` decides when
/// present; `If-Modified-Since` is only consulted without it (RFC 9110 §13.1.3).
pub fn is_unchanged(
    if_none_match: Option<&str>,
    if_modified_since: Option<SystemTime>,
    meta: &ObjectMeta,
) -> bool {
    match (if_none_match, &meta.etag) {
        (Some(inm), Some(etag)) => etag_matches(inm, etag),
        (Some(_), None) => false,
        (None, _) => match (if_modified_since, meta.last_modified) {
            (Some(since), Some(lm)) => not_modified_since(lm, since),
            _ => false,
        },
    }
}

/// Does an `If-None-Match` header match this entity tag? (weak comparison, `*` matches all)
pub fn etag_matches(if_none_match: &str, etag: &str) -> bool {
    let strip = |t: &str| t.trim().trim_start_matches("W/").to_string();
    let etag = strip(etag);
    if_none_match.split(',').any(|t| {
        let t = t.trim();
        t == "*" || strip(t) == etag
    })
}

/// Is the object unchanged since the time a client has? (HTTP dates have second precision)
pub fn not_modified_since(last_modified: SystemTime, since: SystemTime) -> bool {
    let secs = |t: SystemTime| t.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    secs(last_modified) <= secs(since)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(RangeSpec::parse("bytes=0-9"), Some(RangeSpec::FromTo(0, 9)));
        assert_eq!(RangeSpec::parse("bytes=5-"), Some(RangeSpec::From(5)));
        assert_eq!(RangeSpec::parse("bytes=-3"), Some(RangeSpec::Suffix(3)));
        assert_eq!(RangeSpec::parse("bytes=9-0"), None);
        assert_eq!(RangeSpec::parse("bytes=0-1,4-5"), None);
        assert_eq!(RangeSpec::parse("items=0-1"), None);
        assert_eq!(RangeSpec::FromTo(0, 99).resolve(10), Some((0, 9)));
        assert_eq!(RangeSpec::From(10).resolve(10), None);
        assert_eq!(RangeSpec::Suffix(20).resolve(10), Some((0, 9)));
        assert_eq!(RangeSpec::Suffix(0).resolve(10), None);
        assert_eq!(RangeSpec::Suffix(3).resolve(0), None);
    }

    #[test]
    fn conditionals() {
        assert!(etag_matches("\"abc\"", "\"abc\""));
        assert!(etag_matches("W/\"abc\", \"x\"", "\"abc\""));
        assert!(etag_matches("*", "\"abc\""));
        assert!(!etag_matches("\"abd\"", "\"abc\""));
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(10_500);
        assert!(not_modified_since(t, SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(10)));
        assert!(!not_modified_since(t, SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(9)));
    }
}
