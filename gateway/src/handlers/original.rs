//! An object as stored, streamed from the origin: conditional requests, one byte range, the
//! content type from the store or sniffed from the first bytes.

use futures::StreamExt;

use crate::error::GatewayError;
use crate::mime;
use crate::origin::{self, GetOptions, GetResponse, Location, ObjectMeta};
use crate::respond::{Body, Response};
use crate::route::{Conditions, Original};
use crate::state::{Live, State};

pub async fn original(state: &State, live: &Live, r: Original) -> Result<Response, GatewayError> {
    let full_key = r.object.origin_key();
    let at = Location { bucket: &r.object.bucket.origin_bucket, key: &full_key };
    let unchanged = |c: &Conditions, meta: &ObjectMeta| {
        origin::is_unchanged(c.if_none_match.as_deref(), c.if_modified_since, meta)
    };
    if r.head {
        let meta = state.origin.head(at).await?;
        let status = if unchanged(&r.conditions, &meta) { 304 } else { 200 };
        return headers(live, &r, status, &meta, None, meta.content_type.as_deref());
    }
    let Conditions { if_none_match, if_modified_since } = r.conditions.clone();
    let opts = GetOptions { range: r.range, if_none_match, if_modified_since };
    match state.origin.get(at, &opts).await? {
        GetResponse::NotModified(meta) => headers(live, &r, 304, &meta, None, None),
        // Not every store honours conditional GETs: check the validators here as well.
        GetResponse::Body { meta, .. } if unchanged(&r.conditions, &meta) => {
            headers(live, &r, 304, &meta, None, None)
        }
        GetResponse::Body { meta, range, mut body } => {
            let mut first = None;
            let content_type = match &meta.content_type {
                Some(ct) => ct.clone(),
                None => {
                    first = body.next().await.transpose()?;
                    mime::detect(first.as_deref().unwrap_or(&[]), &r.object.key).to_string()
                }
            };
            let status = if range.is_some() { 206 } else { 200 };
            let mut response = headers(live, &r, status, &meta, range, Some(&content_type))?;
            let length = match range {
                Some((a, b)) => b - a + 1,
                None => meta.size,
            };
            if length > 0 {
                response.body = Body::Stream { first, rest: body, length };
            }
            Ok(response)
        }
    }
}

/// The headers of an object's response (the body, if any, is added by the caller).
fn headers(
    live: &Live,
    r: &Original,
    status: u16,
    meta: &ObjectMeta,
    range: Option<(u64, u64)>,
    content_type: Option<&str>,
) -> Result<Response, GatewayError> {
    let cache_control = live.config.cache_control(&r.object.bucket, meta.cache_control.as_deref(), r.signed);
    let mut r = Response::new(status);
    if status != 304 {
        // A stored content type that is not a valid header value is replaced.
        let ct = content_type.filter(|ct| http::HeaderValue::from_str(ct).is_ok());
        r.header("content-type", ct.unwrap_or("application/octet-stream"))?;
        let length = match range {
            Some((a, b)) => b - a + 1,
            None => meta.size,
        };
        r.header("content-length", &length.to_string())?;
        r.static_header("accept-ranges", "bytes");
        if let Some((a, b)) = range {
            r.header("content-range", &format!("bytes {a}-{b}/{}", meta.size))?;
        }
    }
    validators(&mut r, meta)?;
    r.header("cache-control", &cache_control)?;
    Ok(r)
}

/// `ETag` and `Last-Modified`, when known.
pub(super) fn validators(r: &mut Response, meta: &ObjectMeta) -> Result<(), GatewayError> {
    if let Some(etag) = &meta.etag {
        r.header("etag", etag)?;
    }
    if let Some(lm) = meta.last_modified {
        r.header("last-modified", &httpdate::fmt_http_date(lm))?;
    }
    Ok(())
}
