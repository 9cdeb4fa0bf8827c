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
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use moka::future::Cache;
use moka::ops::compute::{CompResult, Op};

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
    /// Fetched from the shared tier on the object store rather than rendered here.
    pub from_shared: bool,
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

/// FNV-1a from `seed` (the standard offset basis is `0xcbf2_9ce4_8422_2325`) over `parts` in
/// order: stable across builds and machines, for validators and ETags.
pub fn fnv1a(seed: u64, parts: &[&[u8]]) -> u64 {
    let mut h = seed;
    for &b in parts.iter().flat_map(|p| p.iter()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01B3);
    }
    h
}

/// A content validator for origins that send no ETag.
fn content_hash(bytes: &[u8]) -> u64 {
    fnv1a(0xcbf2_9ce4_8422_2325, &[bytes])
}

impl Source {
    /// The validator that names these bytes in variant keys: the origin's ETag, else a hash
    /// of the content (a modification time and a size can repeat for different bytes).
    pub fn validator(&self) -> String {
        match &self.etag {
            Some(e) => e.clone(),
            None => format!("\"fnv-{:016x}-{}\"", content_hash(&self.bytes), self.bytes.len()),
        }
    }
}

/// What is known of a source without its bytes: enough to find its variants and answer
/// conditional requests. Kept separately (by count) so that a variant can be served even after
/// the source's bytes were evicted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceMeta {
    pub validator: Arc<str>,
    pub last_modified: Option<SystemTime>,
    pub checked_at: Instant,
}

/// How many source validators are remembered.
const META_ENTRIES: u64 = 100_000;

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
    results: Cache<VariantKey, Variant>,
    sources: Cache<SourceKey, Arc<Source>>,
    meta: Cache<SourceKey, SourceMeta>,
    ttl: Duration,
    /// Bumped by every purge: a fetch or render that started before a purge does not leave
    /// its value behind.
    generation: Arc<AtomicU64>,
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
    /// A bound of 0 disables a cache for storage, but concurrent misses still share one
    /// fetch or render (the value is dropped as soon as it is delivered).
    pub fn new(s: Settings) -> Caches {
        let results = Cache::builder()
            .max_capacity(s.result_max_bytes)
            .weigher(|k: &VariantKey, v: &Variant| {
                weight(
                    v.body.len() + k.source.bucket.len() + k.source.key.len() + k.validator.len(),
                    &k.chain,
                )
            })
            // A variant names its source's validator, so it never goes stale; it outlives its
            // source's freshness window (revalidated, not refetched) and is dropped when unused
            // for 4x `ttl` or when space is needed.
            .time_to_idle(s.ttl.saturating_mul(4))
            .build();
        let sources = Cache::builder()
            .max_capacity(s.source_max_bytes)
            .weigher(|k: &SourceKey, v: &Arc<Source>| weight(v.bytes.len() + k.bucket.len(), &k.key))
            // Kept past `ttl` so that a stale entry can be revalidated instead of fetched again.
            .time_to_idle(s.ttl.saturating_mul(4))
            .build();
        let meta = Cache::builder().max_capacity(META_ENTRIES).time_to_live(s.ttl).build();
        Caches { results, sources, meta, ttl: s.ttl, generation: Arc::new(AtomicU64::new(0)) }
    }

    /// Is a source still within its freshness lifetime?
    pub fn is_fresh(&self, s: &Source) -> bool {
        s.checked_at.elapsed() < self.ttl
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The source for `key`. Fresh: from the cache. Stale: `load(Some(stale))` revalidates it,
    /// one caller at a time per key (callers that waited find it fresh and use it), and a newer
    /// entry is never replaced by an older one. Missing: `load(None)` fetches it, once for all
    /// concurrent callers, who share its result or its error.
    pub async fn source<L, Fut, E>(&self, key: SourceKey, load: L) -> Result<(Arc<Source>, Outcome), Arc<E>>
    where
        L: FnOnce(Option<Arc<Source>>) -> Fut,
        Fut: Future<Output = Result<Arc<Source>, E>>,
        E: Send + Sync + 'static,
    {
        let generation = self.generation.load(Ordering::Acquire);
        let cached = self.sources.get(&key).await;
        let result = match cached {
            Some(s) if self.is_fresh(&s) => return Ok((s, Outcome::Hit)),
            Some(_) => {
                let ttl = self.ttl;
                let mut outcome = Outcome::Coalesced;
                let computed = self
                    .sources
                    .entry(key.clone())
                    .and_try_compute_with(|existing| {
                        let outcome = &mut outcome;
                        async move {
                            let existing = existing.map(|e| e.into_value());
                            if existing.as_ref().is_some_and(|e| e.checked_at.elapsed() < ttl) {
                                return Ok(Op::Nop);
                            }
                            let before = existing.as_ref().map(|e| e.validator());
                            let fresh = load(existing).await?;
                            *outcome =
                                if before == Some(fresh.validator()) { Outcome::Hit } else { Outcome::Miss };
                            Ok(Op::Put(fresh))
                        }
                    })
                    .await
                    .map_err(Arc::new)?;
                match computed {
                    CompResult::Inserted(e) | CompResult::ReplacedWith(e) | CompResult::Unchanged(e) => {
                        (e.into_value(), outcome)
                    }
                    // The closure always puts a value or keeps an existing one.
                    CompResult::StillNone(_) | CompResult::Removed(_) => {
                        unreachable!("source revalidation neither removes nor skips a missing entry")
                    }
                }
            }
            None => coalesce(&self.sources, key.clone(), load(None)).await?,
        };
        let result = self.settle(&self.sources, key.clone(), generation, result).await;
        if result.1 != Outcome::Hit || self.meta.get(&key).await.is_none() {
            let s = &result.0;
            let meta = SourceMeta {
                validator: s.validator().into(),
                last_modified: s.last_modified,
                checked_at: s.checked_at,
            };
            self.meta.insert(key, meta).await;
        }
        Ok(result)
    }

    /// Bumped by every purge: work started before a purge can tell that it ran.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Drop the cached bytes of a source unless they have this validator (the origin just said
    /// the object is now another version).
    pub async fn drop_source_unless(&self, key: &SourceKey, validator: &str) {
        if self.sources.get(key).await.is_some_and(|s| s.validator() != validator) {
            self.sources.invalidate(key).await;
        }
    }

    /// Remember a source's validator confirmed by the origin without its bytes (a HEAD).
    pub async fn remember(&self, key: SourceKey, meta: SourceMeta) {
        self.meta.insert(key, meta).await;
    }

    /// The validator of a source the origin confirmed within `ttl`, even if its bytes are no
    /// longer cached.
    pub async fn fresh_meta(&self, key: &SourceKey) -> Option<SourceMeta> {
        self.meta.get(key).await.filter(|m| m.checked_at.elapsed() < self.ttl)
    }

    /// The variant for `key`, rendered by `render` on a miss; concurrent misses share one
    /// render and its result or error.
    pub async fn variant<F, E>(&self, key: VariantKey, render: F) -> Result<(Variant, Outcome), Arc<E>>
    where
        F: Future<Output = Result<Variant, E>>,
        E: Send + Sync + 'static,
    {
        let generation = self.generation.load(Ordering::Acquire);
        let r = coalesce(&self.results, key.clone(), render).await?;
        Ok(self.settle(&self.results, key, generation, r).await)
    }

    /// After a miss was delivered: drop the value again if a purge ran while it was being
    /// made, and apply the size bound now (moka applies it lazily, so a burst of inserts could
    /// otherwise sit beyond the bound until later maintenance). Hits pay nothing.
    async fn settle<K, V>(
        &self,
        cache: &Cache<K, V>,
        key: K,
        generation: u64,
        r: (V, Outcome),
    ) -> (V, Outcome)
    where
        K: Hash + Eq + Send + Sync + Clone + 'static,
        V: Clone + Send + Sync + 'static,
    {
        if r.1 != Outcome::Hit {
            if self.generation.load(Ordering::Acquire) != generation {
                cache.invalidate(&key).await;
            }
            cache.run_pending_tasks().await;
        }
        r
    }

    /// A cached variant, without rendering.
    pub async fn cached_variant(&self, key: &VariantKey) -> Option<Variant> {
        self.results.get(key).await
    }

    /// Drop what `purge` names; returns how many entries (sources and variants) were dropped.
    pub async fn purge(&self, purge: &Purge) -> usize {
        self.generation.fetch_add(1, Ordering::AcqRel);
        let mut n = 0;
        self.results.run_pending_tasks().await;
        let keys: Vec<Arc<VariantKey>> =
            self.results.iter().filter(|(k, _)| purge.matches(&k.source)).map(|(k, _)| k).collect();
        for k in keys {
            if self.results.remove(&*k).await.is_some() {
                n += 1;
            }
        }
        let keys: Vec<Arc<SourceKey>> =
            self.meta.iter().filter(|(k, _)| purge.matches(k)).map(|(k, _)| k).collect();
        for k in keys {
            self.meta.remove(&*k).await;
        }
        self.sources.run_pending_tasks().await;
        let keys: Vec<Arc<SourceKey>> =
            self.sources.iter().filter(|(k, _)| purge.matches(k)).map(|(k, _)| k).collect();
        for k in keys {
            if self.sources.remove(&*k).await.is_some() {
                n += 1;
            }
        }
        n
    }

    /// Bytes held by (results, sources), as weighed.
    pub async fn weighted_sizes(&self) -> (u64, u64) {
        self.results.run_pending_tasks().await;
        self.sources.run_pending_tasks().await;
        (self.results.weighted_size(), self.sources.weighted_size())
    }
}

/// Look up `key`; on a miss run `init` (once for all concurrent callers) and cache its value.
async fn coalesce<K, V, F, E>(cache: &Cache<K, V>, key: K, init: F) -> Result<(V, Outcome), Arc<E>>
where
    K: Hash + Eq + Send + Sync + Clone + 'static,
    V: Clone + Send + Sync + 'static,
    F: Future<Output = Result<V, E>>,
    E: Send + Sync + 'static,
{
    if let Some(v) = cache.get(&key).await {
        return Ok((v, Outcome::Hit));
    }
    let entry = cache.entry(key).or_try_insert_with(init).await?;
    // Only the caller whose `init` ran gets a fresh entry; the others waited for it.
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
            from_shared: false,
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
        let skey = SourceKey { bucket: "b".into(), key: "k.jpg".into() };
        c.source(skey, |_| async { Ok::<_, String>(src) }).await.unwrap();
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
        // Without an ETag: the content, not a time and a size that can repeat.
        let a = Source { etag: None, ..s.clone() };
        let b = Source { bytes: Bytes::from_static(b"abd"), ..a.clone() };
        assert_ne!(a.validator(), b.validator());
        assert_eq!(a.validator(), Source { last_modified: Some(SystemTime::now()), ..a.clone() }.validator());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn stale_sources_are_revalidated_once() {
        let c = Caches::new(Settings {
            result_max_bytes: 1 << 20,
            source_max_bytes: 1 << 20,
            ttl: Duration::from_millis(50),
        });
        let skey = SourceKey { bucket: "b".into(), key: "k".into() };
        let v1 = Arc::new(Source {
            bytes: Bytes::from_static(b"one"),
            etag: Some("\"1\"".into()),
            last_modified: None,
            checked_at: Instant::now(),
        });
        let (_, o) = c.source(skey.clone(), |_| async { Ok::<_, String>(v1.clone()) }).await.unwrap();
        assert_eq!(o, Outcome::Miss);
        tokio::time::sleep(Duration::from_millis(80)).await;
        // Many callers find it stale at once: one revalidation (unchanged), the others reuse it.
        let loads = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..16 {
            let (c, skey, loads) = (c.clone(), skey.clone(), loads.clone());
            tasks.push(tokio::spawn(async move {
                c.source(skey, |stale| async move {
                    loads.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    let stale = stale.expect("a stale entry to revalidate");
                    Ok::<_, String>(Arc::new(Source { checked_at: Instant::now(), ..(*stale).clone() }))
                })
                .await
                .map(|(s, o)| (s.bytes.clone(), o))
            }));
        }
        for t in tasks {
            let (bytes, o) = t.await.unwrap().unwrap();
            assert_eq!(&bytes[..], b"one");
            assert_ne!(o, Outcome::Miss, "unchanged bytes are not a miss");
        }
        assert_eq!(loads.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_purge_during_a_render_wins() {
        let c = caches(1 << 20);
        let (c2, started) = (c.clone(), Arc::new(tokio::sync::Notify::new()));
        let s2 = started.clone();
        let render = tokio::spawn(async move {
            c2.variant(vkey("slow"), async {
                s2.notify_one();
                tokio::time::sleep(Duration::from_millis(50)).await;
                Ok::<_, String>(variant(3))
            })
            .await
        });
        started.notified().await;
        c.purge(&Purge::Key { bucket: "b".into(), key: "k.jpg".into() }).await;
        render.await.unwrap().unwrap();
        assert!(c.cached_variant(&vkey("slow")).await.is_none());
    }
}
