//! `sys/saveas`: render an object and write the result through the origin, then answer OSS's
//! JSON. Whatever was cached for the written object is purged.

use std::time::Instant;

use bytes::Bytes;
use pixgate_cache::Purge;

use crate::error::{GatewayError, Stage};
use crate::origin::Location;
use crate::render::{Renderer, variant_etag};
use crate::respond::Response;
use crate::route::SaveAsJob;
use crate::state::{Live, State};

pub async fn saveas(
    state: &State,
    live: &Live,
    job: SaveAsJob,
    deadline: Instant,
) -> Result<Response, GatewayError> {
    let renderer = Renderer::new(state, live, deadline);
    let (source, _) = renderer.source(&job.source.source_key()).await?;
    let etag = variant_etag(&source.validator(), &job.chain.to_string()).into();
    let variant = renderer.render(&job.source, &job.chain, &job.watermarks, source, etag).await?;
    let size = variant.body.len();
    let out_key = job.target.origin_key();
    let at = Location { bucket: &job.target.bucket.origin_bucket, key: &out_key };
    let put = state.origin.put(at, variant.body, variant.content_type);
    match tokio::time::timeout_at(deadline.into(), put).await {
        Ok(r) => r?,
        Err(_) => return Err(GatewayError::GatewayTimeout(Stage::Origin)),
    }
    // Whatever was cached for the object just written is stale now (in the caches new requests
    // use, should a reload have replaced this request's).
    let purge = Purge::Key { bucket: job.target.bucket.origin_bucket.clone(), key: out_key };
    state.live().caches.purge(&purge).await;
    // OSS prints `"key": value` with a space, as its SDK tests expect.
    let text = |v: &str| serde_json::Value::String(v.to_string()).to_string();
    let body = Bytes::from(format!(
        "{{\"bucket\": {}, \"fileSize\": {size}, \"object\": {}, \"status\": \"OK\"}}",
        text(&job.target_bucket_named),
        text(&job.target.key),
    ));
    Ok(Response::new(200).with_bytes("application/json", body, false))
}
