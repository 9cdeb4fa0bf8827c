//! An S3-compatible object store as the origin (Amazon S3, Alibaba Cloud OSS through its S3 API,
//! MinIO, ...), through aws-sdk-s3 with a rustls (ring) HTTP client.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;

use super::{BodyStream, GetOptions, GetResponse, Listed, Location, ObjectMeta, Origin, OriginError};
use crate::mime;

#[derive(Debug, Clone)]
pub struct S3Origin {
    client: aws_sdk_s3::Client,
    timeout: Duration,
    /// Buckets seen to exist: a 404 there is a missing key, not a missing bucket.
    known_buckets: Arc<Mutex<HashSet<String>>>,
}

/// How to reach the store.
#[derive(Debug, Clone)]
pub struct S3Settings {
    pub endpoint: Option<String>,
    pub region: String,
    pub force_path_style: bool,
    /// `None`: the AWS default credential chain (environment, profile, web identity, IMDS).
    pub static_keys: Option<(String, String)>,
    pub max_idle_connections: usize,
    pub timeout: Duration,
}

impl S3Origin {
    pub async fn new(s: &S3Settings) -> S3Origin {
        use aws_smithy_http_client::tls;
        let http = aws_smithy_http_client::Builder::new()
            .pool_max_idle_per_host(s.max_idle_connections)
            .tls_provider(tls::Provider::Rustls(tls::rustls_provider::CryptoMode::Ring))
            .build_https();
        let region = aws_sdk_s3::config::Region::new(s.region.clone());
        let mut b = aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(region.clone())
            .http_client(http.clone())
            .force_path_style(s.force_path_style)
            .retry_config(aws_sdk_s3::config::retry::RetryConfig::standard().with_max_attempts(2))
            .timeout_config(
                aws_sdk_s3::config::timeout::TimeoutConfig::builder().connect_timeout(s.timeout).build(),
            );
        if let Some(ep) = &s.endpoint {
            b = b.endpoint_url(ep);
        }
        match &s.static_keys {
            Some((ak, sk)) => {
                b = b.credentials_provider(aws_credential_types::Credentials::new(
                    ak.clone(),
                    sk.clone(),
                    None,
                    None,
                    "pixgate-config",
                ));
            }
            None => {
                let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
                    .http_client(http)
                    .region(region)
                    .load()
                    .await;
                if let Some(p) = shared.credentials_provider() {
                    b = b.credentials_provider(p);
                }
            }
        }
        S3Origin {
            client: aws_sdk_s3::Client::from_conf(b.build()),
            timeout: s.timeout,
            known_buckets: Arc::new(Mutex::new(HashSet::new())),
        }
    }

    async fn timed<T, F: std::future::Future<Output = Result<T, OriginError>>>(
        &self,
        f: F,
    ) -> Result<T, OriginError> {
        tokio::time::timeout(self.timeout, f).await.map_err(|_| OriginError::Timeout)?
    }
}

impl S3Origin {
    fn remember(&self, bucket: &str) {
        if let Ok(mut known) = self.known_buckets.lock()
            && !known.contains(bucket)
        {
            known.insert(bucket.to_string());
        }
    }

    /// Some stores answer `NoSuchKey` for a missing bucket: tell the two apart once per bucket.
    async fn refine_not_found(&self, bucket: &str, e: OriginError) -> OriginError {
        if e != OriginError::NotFound {
            return e;
        }
        if self.known_buckets.lock().map(|k| k.contains(bucket)).unwrap_or(false) {
            return e;
        }
        match self.client.head_bucket().bucket(bucket).send().await {
            Ok(_) => {
                self.remember(bucket);
                e
            }
            Err(err) => match classify(err) {
                (Some(404), _) | (_, OriginError::NoSuchBucket) => OriginError::NoSuchBucket,
                _ => e,
            },
        }
    }
}

fn to_system_time(t: Option<&aws_smithy_types::DateTime>) -> Option<SystemTime> {
    t.and_then(|d| SystemTime::try_from(*d).ok())
}

/// Classify an SDK error: `status` is the HTTP status when the store answered.
fn classify<E: ProvideErrorMetadata + std::fmt::Debug>(
    err: SdkError<E, aws_smithy_runtime_api::http::Response>,
) -> (Option<u16>, OriginError) {
    match err {
        SdkError::ServiceError(ctx) => {
            let status = ctx.raw().status().as_u16();
            let code = ctx.err().code().unwrap_or("").to_string();
            let e = match (status, code.as_str()) {
                (_, "NoSuchBucket") => OriginError::NoSuchBucket,
                (_, "NoSuchKey") | (404, _) => OriginError::NotFound,
                (416, _) | (_, "InvalidRange") => OriginError::RangeNotSatisfiable { size: None },
                (s, c) => OriginError::Failed(format!("origin answered {s} {c}")),
            };
            (Some(status), e)
        }
        SdkError::TimeoutError(_) => (None, OriginError::Timeout),
        SdkError::ResponseError(ctx) => {
            let status = ctx.raw().status().as_u16();
            let e = if status == 404 {
                OriginError::NotFound
            } else {
                OriginError::Failed(format!("origin answered {status}"))
            };
            (Some(status), e)
        }
        other => (None, OriginError::Failed(format!("{other:?}"))),
    }
}

fn meta(
    size: Option<i64>,
    content_type: Option<&str>,
    etag: Option<&str>,
    last_modified: Option<&aws_smithy_types::DateTime>,
    key: &str,
) -> ObjectMeta {
    let content_type = match content_type {
        Some(ct) if !ct.is_empty() && ct != "binary/octet-stream" && ct != "application/octet-stream" => {
            Some(ct.to_string())
        }
        // No useful type from the store: guess from the name now; a GET sniffs the bytes later.
        _ => mime::from_extension(key).map(str::to_string),
    };
    ObjectMeta {
        size: size.and_then(|s| u64::try_from(s).ok()).unwrap_or(0),
        content_type,
        etag: etag.map(|e| {
            if e.starts_with('"') || e.starts_with("W/") { e.to_string() } else { format!("\"{e}\"") }
        }),
        last_modified: to_system_time(last_modified),
        cache_control: None,
    }
}

/// `bytes 0-9/1234` → (0, 9, 1234)
fn parse_content_range(v: &str) -> Option<(u64, u64, u64)> {
    let rest = v.trim().strip_prefix("bytes ")?;
    let (range, total) = rest.split_once('/')?;
    let (a, b) = range.split_once('-')?;
    Some((a.parse().ok()?, b.parse().ok()?, total.parse().ok()?))
}

fn body_stream(body: ByteStream, timeout: Duration) -> BodyStream {
    Box::pin(futures::stream::unfold(Some(body), move |body| async move {
        let mut body = body?;
        match tokio::time::timeout(timeout, body.next()).await {
            Err(_) => Some((Err(OriginError::Timeout), None)),
            Ok(None) => None,
            Ok(Some(Ok(chunk))) => Some((Ok(chunk), Some(body))),
            Ok(Some(Err(e))) => Some((Err(OriginError::Failed(format!("body: {e}"))), None)),
        }
    }))
}

#[async_trait]
impl Origin for S3Origin {
    async fn get(&self, at: Location<'_>, opts: &GetOptions) -> Result<GetResponse, OriginError> {
        let req = self
            .client
            .get_object()
            .bucket(at.bucket)
            .key(at.key)
            .set_range(opts.range.map(|r| r.header()))
            .set_if_none_match(opts.if_none_match.clone())
            .set_if_modified_since(opts.if_modified_since.map(aws_smithy_types::DateTime::from));
        let key = at.key.to_string();
        self.timed(async move {
            match req.send().await {
                Ok(out) => {
                    self.remember(at.bucket);
                    let mut m = meta(
                        out.content_length(),
                        out.content_type(),
                        out.e_tag(),
                        out.last_modified(),
                        &key,
                    );
                    m.cache_control = out.cache_control().map(str::to_string);
                    let range = match out.content_range().and_then(parse_content_range) {
                        Some((a, b, total)) if opts.range.is_some() => {
                            m.size = total;
                            Some((a, b))
                        }
                        _ => None,
                    };
                    Ok(GetResponse::Body { meta: m, range, body: body_stream(out.body, self.timeout) })
                }
                Err(SdkError::ServiceError(ctx)) if ctx.raw().status().as_u16() == 304 => {
                    let h = ctx.raw().headers();
                    let etag = h.get("etag").map(str::to_string);
                    let last_modified =
                        h.get("last-modified").and_then(|v| httpdate::parse_http_date(v).ok());
                    Ok(GetResponse::NotModified(ObjectMeta { etag, last_modified, ..ObjectMeta::default() }))
                }
                Err(e) => Err(self.refine_not_found(at.bucket, classify(e).1).await),
            }
        })
        .await
    }

    async fn head(&self, at: Location<'_>) -> Result<ObjectMeta, OriginError> {
        let req = self.client.head_object().bucket(at.bucket).key(at.key);
        let key = at.key.to_string();
        self.timed(async move {
            let out = match req.send().await {
                Ok(out) => out,
                Err(e) => return Err(self.refine_not_found(at.bucket, classify(e).1).await),
            };
            self.remember(at.bucket);
            let mut m =
                meta(out.content_length(), out.content_type(), out.e_tag(), out.last_modified(), &key);
            m.cache_control = out.cache_control().map(str::to_string);
            Ok(m)
        })
        .await
    }

    async fn put(&self, at: Location<'_>, body: Bytes, content_type: &str) -> Result<(), OriginError> {
        let req = self
            .client
            .put_object()
            .bucket(at.bucket)
            .key(at.key)
            .content_type(content_type)
            .body(ByteStream::from(body));
        self.timed(async move {
            req.send().await.map_err(|e| classify(e).1)?;
            Ok(())
        })
        .await
    }

    async fn delete(&self, at: Location<'_>) -> Result<(), OriginError> {
        let req = self.client.delete_object().bucket(at.bucket).key(at.key);
        self.timed(async move {
            req.send().await.map_err(|e| classify(e).1)?;
            Ok(())
        })
        .await
    }

    async fn list(&self, bucket: &str, prefix: &str, max: usize) -> Result<Vec<Listed>, OriginError> {
        let mut found = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let list = self
                .client
                .list_objects_v2()
                .bucket(bucket)
                .prefix(prefix)
                .set_continuation_token(token.take());
            let out = self.timed(async move { list.send().await.map_err(|e| classify(e).1) }).await?;
            for object in out.contents() {
                let Some(key) = object.key() else { continue };
                if found.len() >= max {
                    return Ok(found);
                }
                found.push(Listed { key: key.to_string(), etag: object.e_tag().map(str::to_string) });
            }
            match out.next_continuation_token() {
                Some(t) if out.is_truncated() == Some(true) => token = Some(t.to_string()),
                _ => return Ok(found),
            }
        }
    }

    async fn delete_prefix(
        &self,
        bucket: &str,
        prefix: &str,
        direct_only: bool,
        max: usize,
    ) -> Result<usize, OriginError> {
        let mut deleted = 0;
        let mut token: Option<String> = None;
        loop {
            let list = self
                .client
                .list_objects_v2()
                .bucket(bucket)
                .prefix(prefix)
                // With a delimiter, keys in "sub-folders" are listed as common prefixes only.
                .set_delimiter(direct_only.then(|| "/".to_string()))
                .set_continuation_token(token.take());
            let out = self.timed(async move { list.send().await.map_err(|e| classify(e).1) }).await?;
            for key in out.contents().iter().filter_map(|o| o.key()) {
                if deleted >= max {
                    return Ok(deleted);
                }
                let del = self.client.delete_object().bucket(bucket).key(key);
                self.timed(async move { del.send().await.map_err(|e| classify(e).1) }).await?;
                deleted += 1;
            }
            match out.next_continuation_token() {
                Some(t) if out.is_truncated() == Some(true) => token = Some(t.to_string()),
                _ => return Ok(deleted),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_range() {
        assert_eq!(parse_content_range("bytes 0-9/1234"), Some((0, 9, 1234)));
        assert_eq!(parse_content_range("bytes */1234"), None);
    }

    #[test]
    fn etags_are_quoted() {
        let m = meta(Some(3), None, Some("abc"), None, "a.png");
        assert_eq!(m.etag.as_deref(), Some("\"abc\""));
        assert_eq!(m.content_type.as_deref(), Some("image/png"));
        let m = meta(Some(3), Some("text/plain"), Some("\"abc\""), None, "a.png");
        assert_eq!(m.etag.as_deref(), Some("\"abc\""));
        assert_eq!(m.content_type.as_deref(), Some("text/plain"));
    }
}
