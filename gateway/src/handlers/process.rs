//! A processed object: 304 from the validators alone when the client's copy is current, else
//! the variant from the result cache, the shared level, or rendered once for all concurrent
//! identical misses.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use pixgate_cache::{Outcome, SourceKey, SourceMeta, Variant, VariantKey};

use crate::access_log::CacheStatus;
use crate::error::GatewayError;
use crate::origin::{self, ObjectMeta};
use crate::render::{Renderer, variant_etag};
use crate::respond::Response;
use crate::route::{Original, Process};
use crate::shared::SharedTier;
use crate::state::{Live, State};

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

/// A processed request: a variant still cached for a source confirmed within `cache.ttl` is
/// served without the source's bytes (which may have been evicted); otherwise the source is
/// loaded (or only its validator, with the shared level on) and the variant rendered.
///
/// Variants are named by the canonical chain, never by a style's name: a style whose content
/// changes names other variants, so none rendered with the old content is served for it.
pub async fn process(
    state: &State,
    live: &Live,
    r: Process,
    deadline: Instant,
) -> Result<Response, GatewayError> {
    if let Some(Some(format)) = r.negotiation {
        state.metrics.negotiated_total.with_label_values(&[format.as_str()]).inc();
    }
    if !r.chain.ignore_error {
        return variant(state, live, r, deadline).await;
    }
    // `ignore-error,1`: a render that fails because of the source or the chain answers the
    // original object instead; access, a missing object and the origin fail as without it.
    let fallback = Original {
        object: r.object.clone(),
        head: r.head,
        signed: r.signed,
        conditions: r.conditions.clone(),
        range: None,
    };
    match variant(state, live, r, deadline).await {
        Err(e) if let Some(reason) = ignorable(&e) => {
            state.metrics.ignored_errors_total.with_label_values(&[reason]).inc();
            tracing::info!(target: "pixgate::render", reason, error = %e.detail(),
                "ignore-error,1: answering the original object");
            Box::pin(super::original(state, live, fallback)).await
        }
        other => other,
    }
}

/// The `reason` label of `pixgate_ignored_errors_total` for a failure `ignore-error,1` covers:
/// the source or the chain's fault, not access, a missing object, the origin or overload.
fn ignorable(e: &GatewayError) -> Option<&'static str> {
    match e {
        GatewayError::BadRequest(_) => Some("decode"),
        GatewayError::ImageTooLarge { .. } => Some("limit"),
        GatewayError::WatermarkError { .. } => Some("watermark"),
        GatewayError::NotImplemented(_) => Some("unsupported"),
        _ => None,
    }
}

/// The variant itself, from the caches or rendered.
async fn variant(
    state: &State,
    live: &Live,
    r: Process,
    deadline: Instant,
) -> Result<Response, GatewayError> {
    let renderer = Renderer::new(state, live, deadline);
    let skey = r.object.source_key();
    let canonical: Arc<str> = r.chain.to_string().into();
    let fresh = live.caches.fresh_meta(&skey).await;
    if let Some(meta) = &fresh {
        let validators = variant_validators(&meta.validator, &canonical, meta.last_modified);
        if let Some(done) = not_modified(live, &r, &validators, CacheStatus::Hit)? {
            return Ok(done);
        }
        let vkey =
            VariantKey { source: skey.clone(), validator: meta.validator.clone(), chain: canonical.clone() };
        if let Some(variant) = live.caches.cached_variant(&vkey).await {
            return answer(state, live, &r, &validators, variant, Outcome::Hit, r.head);
        }
    }
    // The miss, boxed: its origin and render futures stay off the hit's.
    Box::pin(variant_miss(&renderer, state, live, r, skey, canonical, fresh)).await
}

/// A variant not in the result cache (or its source's freshness unknown): the shared level,
/// else the source and a render, once for all concurrent identical misses.
async fn variant_miss(
    renderer: &Renderer<'_>,
    state: &State,
    live: &Live,
    r: Process,
    skey: SourceKey,
    canonical: Arc<str>,
    fresh: Option<SourceMeta>,
) -> Result<Response, GatewayError> {
    if let Some(shared) = &live.shared {
        // The validator from the meta cache or a HEAD, so that a render another replica
        // stored can be found without fetching the source.
        let meta = match fresh {
            Some(m) => Some(m),
            None => renderer.head_meta(&skey).await?,
        };
        if let Some(meta) = meta {
            return process_shared(renderer, state, live, shared, &r, skey, meta, canonical).await;
        }
    }
    let (source, source_outcome) = renderer.source(&skey).await?;
    let validator = source.validator();
    let validators = variant_validators(&validator, &canonical, source.last_modified);
    // Answered from the validator alone: the source's outcome says how it was known.
    if let Some(done) = not_modified(live, &r, &validators, source_outcome.into())? {
        return Ok(done);
    }
    let etag: Arc<str> = validators.etag.as_deref().unwrap_or_default().into();
    let vkey = VariantKey { source: skey, validator: validator.into(), chain: canonical };
    let render = renderer.render(&r.object, &r.chain, &r.watermarks, source, etag);
    let (variant, outcome) = live.caches.variant(vkey, render).await.map_err(|e| (*e).clone())?;
    answer(state, live, &r, &validators, variant, outcome, r.head)
}

/// With the shared level on: the result cache, else a render stored by any replica, else
/// render here (once for concurrent misses) and store it afterwards.
#[allow(clippy::too_many_arguments)]
async fn process_shared(
    renderer: &Renderer<'_>,
    state: &State,
    live: &Live,
    shared: &Arc<SharedTier>,
    r: &Process,
    skey: SourceKey,
    meta: SourceMeta,
    canonical: Arc<str>,
) -> Result<Response, GatewayError> {
    let validators = variant_validators(&meta.validator, &canonical, meta.last_modified);
    if let Some(done) = not_modified(live, r, &validators, CacheStatus::Miss)? {
        return Ok(done);
    }
    let etag: Arc<str> = validators.etag.as_deref().unwrap_or_default().into();
    let vkey = VariantKey { source: skey.clone(), validator: meta.validator.clone(), chain: canonical };
    let generation = live.caches.generation();
    let render = async {
        if let Some(v) = shared.get(&vkey, etag.clone(), meta.last_modified).await {
            return Ok(v);
        }
        let (source, _) = renderer.source(&skey).await?;
        // Older cached bytes were dropped at the HEAD; newer ones (the object changed again
        // since) are rendered but not stored in the shared level under the HEAD's name.
        let same = *source.validator() == *vkey.validator;
        let variant = renderer.render(&r.object, &r.chain, &r.watermarks, source, etag.clone()).await?;
        // A purge that ran meanwhile must not be undone by this render.
        if same && live.caches.generation() == generation {
            shared.put_later(&vkey, &variant);
        }
        Ok::<Variant, GatewayError>(variant)
    };
    let (variant, outcome) = live.caches.variant(vkey.clone(), render).await.map_err(|e| (*e).clone())?;
    answer(state, live, r, &validators, variant, outcome, r.head)
}

/// A 304 (headers only, `x-pixgate-cache: <cache>`) when the request's conditional headers
/// say the client's copy is current.
fn not_modified(
    live: &Live,
    r: &Process,
    validators: &ObjectMeta,
    cache: CacheStatus,
) -> Result<Option<Response>, GatewayError> {
    let c = &r.conditions;
    if !origin::is_unchanged(c.if_none_match.as_deref(), c.if_modified_since, validators) {
        return Ok(None);
    }
    let mut response = Response::new(304);
    variant_headers(live, r, &mut response, validators, cache)?;
    Ok(Some(response))
}

/// A variant (or only its headers, for HEAD). The cached bytes are shared, not copied.
fn answer(
    state: &State,
    live: &Live,
    r: &Process,
    validators: &ObjectMeta,
    variant: Variant,
    outcome: Outcome,
    head: bool,
) -> Result<Response, GatewayError> {
    state.metrics.cache_requests_total.with_label_values(&["result", outcome.as_str()]).inc();
    // A miss answered by another replica's render says so.
    let cache =
        if outcome == Outcome::Miss && variant.from_shared { CacheStatus::Shared } else { outcome.into() };
    let mut response = Response::new(200).with_bytes(variant.content_type, variant.body, head);
    variant_headers(live, r, &mut response, validators, cache)?;
    Ok(response)
}

fn variant_headers(
    live: &Live,
    p: &Process,
    r: &mut Response,
    validators: &ObjectMeta,
    cache: CacheStatus,
) -> Result<(), GatewayError> {
    super::original::validators(r, validators)?;
    r.header("cache-control", &live.config.cache_control(&p.object.bucket, None, p.signed))?;
    r.static_header("x-pixgate-cache", cache.as_str());
    if p.negotiation.is_some() {
        r.static_header("vary", "Accept");
    }
    r.cache = cache;
    Ok(())
}
