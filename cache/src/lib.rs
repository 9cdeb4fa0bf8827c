//! Pixgate's caches: rendered variants and original source bytes, in memory, weighed by bytes,
//! with request coalescing (concurrent misses for one key share one fetch or render). No HTTP
//! and no I/O here: the gateway passes in the futures that fetch and render.
//!
//! - The **result cache** is keyed by bucket, object key, the source's validator and the
//!   canonical chain: a variant can never be served for other source bytes than its own, so
//!   results need no expiry of their own; they are dropped when unused for 4x `ttl` or when
//!   space is needed.
//! - The **source cache** is keyed by bucket and object key and remembers when the bytes were
//!   fetched: within `ttl` they are served as they are; after it the gateway revalidates them
//!   with a conditional request and keeps the bytes (and so every cached variant) when the
//!   origin says they did not change.
//! - Errors are never cached; every caller waiting on a shared miss gets the shared error.

use std::future::Future;
use std::hash::Hash;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use moka::future::Cache;

/// How a lookup was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Found in the cache.
    Hit,
    /// Not found: this caller fetched or rendered it.
    Miss,
    /// Not found, but another caller was already fetching or rendering it: shared.
    Coalesced,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Hit => "hit",
            Outcome::Miss => "miss",
            Outcome::Coalesced => "coalesced",
        }
    }
}

/// A rendered variant. `body` is shared, never copied, when served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variant {
    pub body: Bytes,
    pub content_type: &'static str,
    pub etag: Option<Arc<str>>,
    pub last_modified: Option<SystemTime>,
}

/// A source object's bytes and validators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub bytes: Bytes,
    pub etag: Option<String>,
    pub last_modified: Option<SystemTime>,
    /// When the origin last confirmed these bytes.
    pub checked_at: Instant,
}

impl Source {
    /// The validator that names these bytes in variant keys: the ETag, else the modification
    /// time and the size.
    pub fn validator(&self) -> String {
        match (&self.etag, self.last_modified) {
            (Some(e), _) => e.clone(),
            (None, Some(t)) => {
                let secs = t.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
                format!("{secs}-{}", self.bytes.len())
            }
            (None, None) => format!("len-{}", self.bytes.len()),
        }
    }
}

/// The key of a source: the bucket and the object key, as they are at the origin.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SourceKey {
    pub bucket: Arc<str>,
    pub key: Arc<str>,
}

/// The key of a variant.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VariantKey {
    pub source: SourceKey,
    /// [`Source::validator`] of the bytes it was rendered from.
    pub validator: Arc<str>,
    /// The canonical chain (styles resolved), plus anything else that changes the output.
    pub chain: Arc<str>,
}

/// What to drop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Purge {
    /// One object: its source and every variant of it.
    Key { bucket: String, key: String },
    /// Every object whose key starts with the prefix.
    Prefix { bucket: String, prefix: String },
}

impl Purge {
    fn matches(&self, k: &SourceKey) -> bool {
        match self {
            Purge::Key { bucket, key } => *k.bucket == **bucket && *k.key == **key,
            Purge::Prefix { bucket, prefix } => *k.bucket == **bucket && k.key.starts_with(prefix.as_str()),
        }
    }
}

/// Settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// 0 disables the result cache.
    pub result_max_bytes: u64,
    /// 0 disables the source cache.
    pub source_max_bytes: u64,
    pub ttl: Duration,
}

/// The two caches.
#[derive(Clone)]
pub struct Caches {
    results: Option<Cache<VariantKey, Variant>>,
    sources: Option<Cache<SourceKey, Arc<Source>>>,
    ttl: Duration,
}

impl std::fmt::Debug for Caches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caches").field("ttl", &self.ttl).finish_non_exhaustive()
    }
}

/// Entries are weighed by their bytes plus a fixed allowance for the key and bookkeeping.
const OVERHEAD: usize = 256;

fn weight(bytes: usize, key: &str) -> u32 {
    (bytes + key.len() + OVERHEAD).min(u32::MAX as usize) as u32
}

impl Caches {
    pub fn new(s: Settings) -> Caches {
        let results = (s.result_max_bytes > 0).then(|| {
            Cache::builder()
                .max_capacity(s.result_max_bytes)
                .weigher(|k: &VariantKey, v: &Variant| weight(v.body.len(), &k.chain))
                // A variant names its source's validator, so it never goes stale; it outlives
                // its source's freshness window (revalidated, not refetched) and is dropped
                // when unused for 4x `ttl` or when space is needed.
                .time_to_idle(s.ttl.saturating_mul(4))
                .support_invalidation_closures()
                .build()
        });
        let sources = (s.source_max_bytes > 0).then(|| {
            Cache::builder()
                .max_capacity(s.source_max_bytes)
                .weigher(|k: &SourceKey, v: &Arc<Source>| weight(v.bytes.len(), &k.key))
                // Kept past `ttl` (until unused for 4x as long) so that a stale entry can be
                // revalidated instead of fetched again.
                .time_to_idle(s.ttl.saturating_mul(4))
                .support_invalidation_closures()
                .build()
        });
        Caches { results, sources, ttl: s.ttl }
    }

    /// Is a source still within its freshness lifetime?
    pub fn is_fresh(&self, s: &Source) -> bool {
        s.checked_at.elapsed() < self.ttl
    }

    /// A cached source, fresh or not.
    pub async fn cached_source(&self, key: &SourceKey) -> Option<Arc<Source>> {
        match &self.sources {
            Some(c) => c.get(key).await,
            None => None,
        }
    }

    /// Replace a source (after a revalidation or a changed object).
    pub async fn put_source(&self, key: SourceKey, source: Arc<Source>) {
        if let Some(c) = &self.sources {
            c.insert(key, source).await;
        }
    }

    /// The source for `key`, fetched by `fetch` on a miss; concurrent misses share one fetch.
    pub async fn source<F, E>(&self, key: SourceKey, fetch: F) -> Result<(Arc<Source>, Outcome), Arc<E>>
    where
        F: Future<Output = Result<Arc<Source>, E>>,
        E: Send + Sync + 'static,
    {
        coalesce(self.sources.as_ref(), key, fetch).await
    }

    /// The variant for `key`, rendered by `render` on a miss; concurrent misses share one
    /// render.
    pub async fn variant<F, E>(&self, key: VariantKey, render: F) -> Result<(Variant, Outcome), Arc<E>>
    where
        F: Future<Output = Result<Variant, E>>,
        E: Send + Sync + 'static,
    {
        coalesce(self.results.as_ref(), key, render).await
    }

    /// A cached variant, without rendering.
    pub async fn cached_variant(&self, key: &VariantKey) -> Option<Variant> {
        match &self.results {
            Some(c) => c.get(key).await,
            None => None,
        }
    }

    /// Drop what `purge` names; returns how many entries (sources and variants) were dropped.
    pub async fn purge(&self, purge: &Purge) -> usize {
        let mut n = 0;
        if let Some(c) = &self.results {
            let keys: Vec<Arc<VariantKey>> =
                c.iter().filter(|(k, _)| purge.matches(&k.source)).map(|(k, _)| k).collect();
            for k in keys {
                if c.remove(&*k).await.is_some() {
                    n += 1;
                }
            }
        }
        if let Some(c) = &self.sources {
            let keys: Vec<Arc<SourceKey>> =
                c.iter().filter(|(k, _)| purge.matches(k)).map(|(k, _)| k).collect();
            for k in keys {
                if c.remove(&*k).await.is_some() {
                    n += 1;
                }
            }
        }
        n
    }

    /// Bytes held by (results, sources), as weighed.
    pub async fn weighted_sizes(&self) -> (u64, u64) {
        let mut out = (0, 0);
        if let Some(c) = &self.results {
            c.run_pending_tasks().await;
            out.0 = c.weighted_size();
        }
        if let Some(c) = &self.sources {
            c.run_pending_tasks().await;
            out.1 = c.weighted_size();
        }
        out
    }
}

/// Look up `key`; on a miss run `init` (once for all concurrent callers) and cache its value.
async fn coalesce<K, V, F, E>(cache: Option<&Cache<K, V>>, key: K, init: F) -> Result<(V, Outcome), Arc<E>>
where
    K: Hash + Eq + Send + Sync + Clone + 'static,
    V: Clone + Send + Sync + 'static,
    F: Future<Output = Result<V, E>>,
    E: Send + Sync + 'static,
{
    let Some(cache) = cache else {
        return init.await.map(|v| (v, Outcome::Miss)).map_err(Arc::new);
    };
    if let Some(v) = cache.get(&key).await {
        return Ok((v, Outcome::Hit));
    }
    let entry = cache.entry(key).or_try_insert_with(init).await?;
    let outcome = if entry.is_fresh() { Outcome::Miss } else { Outcome::Coalesced };
    Ok((entry.into_value(), outcome))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn caches(result_max_bytes: u64) -> Caches {
        Caches::new(Settings { result_max_bytes, source_max_bytes: 1 << 20, ttl: Duration::from_secs(60) })
    }

    fn vkey(chain: &str) -> VariantKey {
        VariantKey {
            source: SourceKey { bucket: "b".into(), key: "k.jpg".into() },
            validator: "\"v1\"".into(),
            chain: chain.into(),
        }
    }

    fn variant(n: usize) -> Variant {
        Variant {
            body: Bytes::from(vec![7u8; n]),
            content_type: "image/jpeg",
            etag: None,
            last_modified: None,
        }
    }

    #[tokio::test]
    async fn miss_then_hit() {
        let c = caches(1 << 20);
        let (_, o) = c.variant(vkey("a"), async { Ok::<_, String>(variant(10)) }).await.unwrap();
        assert_eq!(o, Outcome::Miss);
        let (v, o) = c.variant(vkey("a"), async { Ok::<_, String>(variant(99)) }).await.unwrap();
        assert_eq!((o, v.body.len()), (Outcome::Hit, 10));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_misses_render_once() {
        let c = caches(1 << 20);
        let renders = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..32 {
            let (c, renders) = (c.clone(), renders.clone());
            tasks.push(tokio::spawn(async move {
                c.variant(vkey("same"), async {
                    renders.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    Ok::<_, String>(variant(5))
                })
                .await
                .map(|(_, o)| o)
            }));
        }
        let mut outcomes = Vec::new();
        for t in tasks {
            outcomes.push(t.await.unwrap().unwrap());
        }
        assert_eq!(renders.load(Ordering::SeqCst), 1);
        assert_eq!(outcomes.iter().filter(|o| **o == Outcome::Miss).count(), 1);
        assert!(outcomes.iter().all(|o| matches!(o, Outcome::Miss | Outcome::Coalesced | Outcome::Hit)));
    }

    #[tokio::test]
    async fn errors_are_shared_but_never_cached() {
        let c = caches(1 << 20);
        let e = c.variant(vkey("x"), async { Err::<Variant, _>("boom".to_string()) }).await.unwrap_err();
        assert_eq!(*e, "boom");
        let (_, o) = c.variant(vkey("x"), async { Ok::<_, String>(variant(1)) }).await.unwrap();
        assert_eq!(o, Outcome::Miss);
    }

    #[tokio::test]
    async fn size_stays_within_the_bound() {
        let c = caches(64 * 1024);
        for i in 0..100 {
            let _ = c.variant(vkey(&format!("v{i}")), async { Ok::<_, String>(variant(4096)) }).await;
        }
        let (results, _) = c.weighted_sizes().await;
        assert!(results <= 64 * 1024 + 4096 + 512, "{results}");
    }

    #[tokio::test]
    async fn purge_by_key_and_prefix() {
        let c = caches(1 << 20);
        for chain in ["a", "b", "c"] {
            let _ = c.variant(vkey(chain), async { Ok::<_, String>(variant(3)) }).await;
        }
        let mut other = vkey("a");
        other.source.key = "dir/other.jpg".into();
        let _ = c.variant(other.clone(), async { Ok::<_, String>(variant(3)) }).await;
        let src = Arc::new(Source {
            bytes: Bytes::from_static(b"src"),
            etag: None,
            last_modified: None,
            checked_at: Instant::now(),
        });
        c.put_source(SourceKey { bucket: "b".into(), key: "k.jpg".into() }, src).await;
        let n = c.purge(&Purge::Key { bucket: "b".into(), key: "k.jpg".into() }).await;
        assert_eq!(n, 4, "three variants and the source");
        assert!(c.cached_variant(&vkey("a")).await.is_none());
        assert!(c.cached_variant(&other).await.is_some());
        assert_eq!(c.purge(&Purge::Prefix { bucket: "b".into(), prefix: "dir/".into() }).await, 1);
    }

    #[tokio::test]
    async fn disabled_caches_always_miss() {
        let c =
            Caches::new(Settings { result_max_bytes: 0, source_max_bytes: 0, ttl: Duration::from_secs(1) });
        for _ in 0..2 {
            let (_, o) = c.variant(vkey("a"), async { Ok::<_, String>(variant(1)) }).await.unwrap();
            assert_eq!(o, Outcome::Miss);
        }
    }

    #[test]
    fn validators() {
        let s = Source {
            bytes: Bytes::from_static(b"abc"),
            etag: Some("\"e\"".into()),
            last_modified: None,
            checked_at: Instant::now(),
        };
        assert_eq!(s.validator(), "\"e\"");
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(100);
        let s = Source { etag: None, last_modified: Some(t), ..s };
        assert_eq!(s.validator(), "100-3");
    }
}
