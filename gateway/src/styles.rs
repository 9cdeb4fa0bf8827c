//! Styles stored through the Style API: one small JSON object per style on the origin, the
//! live view every request consults after the file's styles, and what the refresh reads.
//!
//! A style of bucket `b` named `n` is the object `<styles.store_prefix>b/n` in
//! `styles.store_bucket`, holding `{"content": "image/...", "created": <unix s>, "modified":
//! <unix s>}`. One object per style: two replicas changing two styles at once never lose one
//! of the changes; two changing the same style keep the last write. A refresh lists the prefix
//! and reads only the objects whose entity tag changed since the last one.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use pixgate_ops::spec::{self, Chain};
use serde::{Deserialize, Serialize};
use tokio::sync::{Mutex, MutexGuard, Notify};

use crate::config::StyleStoreConfig;
use crate::origin::{GetOptions, GetResponse, Location, Origin, OriginError};

/// The largest stored style object read back.
const MAX_OBJECT: u64 = 16 * 1024;
/// The most objects one refresh lists.
const MAX_LISTED: usize = 100_000;

/// One stored style.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredStyle {
    /// The content as it was given (`image/...`).
    pub content: String,
    /// The content, parsed.
    pub chain: Arc<Chain>,
    pub created: SystemTime,
    pub modified: SystemTime,
    /// The listing's entity tag of the object this was read from (`None`: written here, not
    /// yet listed), so a refresh reads only what changed.
    etag: Option<String>,
}

/// A stored style object's body.
#[derive(Debug, Serialize, Deserialize)]
struct Record {
    content: String,
    created: u64,
    modified: u64,
}

fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// A stored time; `None` for one `SystemTime` cannot hold (a hostile or broken object).
fn from_unix(secs: u64) -> Option<SystemTime> {
    UNIX_EPOCH.checked_add(Duration::from_secs(secs))
}

/// Every stored style, by bucket (as clients name it) and name. A snapshot: replaced whole,
/// never changed in place, so a request sees one consistent set.
#[derive(Debug, Clone, Default)]
pub struct StoredStyles {
    buckets: BTreeMap<String, BTreeMap<String, Arc<StoredStyle>>>,
    /// Objects that are not valid styles, by key, with the entity tag they had: not read (or
    /// reported) again until they change.
    invalid: BTreeMap<String, Option<String>>,
}

impl StoredStyles {
    /// The chain of a stored style.
    pub fn chain(&self, bucket: &str, name: &str) -> Option<Arc<Chain>> {
        self.buckets.get(bucket)?.get(name).map(|s| s.chain.clone())
    }

    pub fn contains(&self, bucket: &str, name: &str) -> bool {
        self.buckets.get(bucket).is_some_and(|b| b.contains_key(name))
    }

    fn get(&self, bucket: &str, name: &str) -> Option<&Arc<StoredStyle>> {
        self.buckets.get(bucket)?.get(name)
    }

    fn set(&mut self, bucket: &str, name: &str, style: Option<Arc<StoredStyle>>) {
        match style {
            Some(s) => {
                self.buckets.entry(bucket.to_string()).or_default().insert(name.to_string(), s);
            }
            None => {
                if let Some(b) = self.buckets.get_mut(bucket) {
                    b.remove(name);
                    if b.is_empty() {
                        self.buckets.remove(bucket);
                    }
                }
            }
        }
    }

    /// How many styles are stored, in every bucket.
    pub fn len(&self) -> usize {
        self.buckets.values().map(BTreeMap::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }
}

/// The live view of the stored styles, shared by every request.
#[derive(Debug, Default)]
pub struct StyleBook {
    current: RwLock<Arc<StoredStyles>>,
    /// Set by the first complete read of the store (or when there is no store): until then the
    /// replica is not ready.
    loaded: AtomicBool,
    /// Held while the store is changed and applied here, and while it is re-read, so that a
    /// refresh that listed the store before a change cannot put back what it replaced.
    writing: Mutex<()>,
    /// Wakes the refresh early (the store's settings changed on reload).
    wake: Notify,
}

impl StyleBook {
    pub fn new() -> StyleBook {
        StyleBook::default()
    }

    /// The current stored styles; a request takes one snapshot and keeps it.
    pub fn snapshot(&self) -> Arc<StoredStyles> {
        self.current.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    pub fn is_loaded(&self) -> bool {
        self.loaded.load(Ordering::Acquire)
    }

    /// Exclusive use of the store: changes, and whole re-reads.
    pub async fn lock(&self) -> MutexGuard<'_, ()> {
        self.writing.lock().await
    }

    /// Everything the store holds, as a refresh read it.
    pub fn replace(&self, styles: StoredStyles) {
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(styles);
        self.loaded.store(true, Ordering::Release);
    }

    /// A change this replica made to the store, applied at once (`None`: deleted).
    pub fn apply(&self, bucket: &str, name: &str, style: Option<StoredStyle>) {
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        let mut next = StoredStyles::clone(&current);
        next.set(bucket, name, style.map(Arc::new));
        *current = Arc::new(next);
    }

    /// Ask the refresh to run now.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Wait until `wait` has passed or [`StyleBook::wake`] is called.
    pub async fn sleep(&self, wait: Duration) {
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = self.wake.notified() => {}
        }
    }
}

/// What reading one stored style object found.
enum Read {
    Missing,
    /// Not a valid style (the reason, for the log).
    Invalid(String),
    Style(StoredStyle),
}

/// The style store on the origin.
pub struct Store<'a> {
    origin: &'a dyn Origin,
    config: &'a StyleStoreConfig,
}

impl<'a> Store<'a> {
    pub fn new(origin: &'a dyn Origin, config: &'a StyleStoreConfig) -> Store<'a> {
        Store { origin, config }
    }

    fn key(&self, bucket: &str, name: &str) -> String {
        format!("{}{bucket}/{name}", self.config.prefix)
    }

    fn at<'k>(&'k self, key: &'k str) -> Location<'k> {
        Location { bucket: &self.config.bucket, key }
    }

    /// `(bucket, name)` of a stored style's key; `None` for anything else under the prefix.
    fn parse_key<'k>(&self, key: &'k str) -> Option<(&'k str, &'k str)> {
        let (bucket, name) = key.strip_prefix(self.config.prefix.as_str())?.split_once('/')?;
        let valid = !bucket.is_empty() && !name.contains('/') && spec::validate_style_name(name).is_ok();
        valid.then_some((bucket, name))
    }

    /// One stored style object, whole (it is small).
    async fn read_key(&self, key: &str) -> Result<Read, OriginError> {
        let (meta, mut body) = match self.origin.get(self.at(key), &GetOptions::default()).await {
            Ok(GetResponse::Body { meta, body, .. }) => (meta, body),
            Ok(GetResponse::NotModified(_)) => return Err(OriginError::Failed("unasked 304".into())),
            Err(OriginError::NotFound) => return Ok(Read::Missing),
            Err(e) => return Err(e),
        };
        if meta.size > MAX_OBJECT {
            return Ok(Read::Invalid(format!("larger than {MAX_OBJECT} bytes")));
        }
        let mut bytes = BytesMut::with_capacity(meta.size as usize);
        while let Some(chunk) = body.next().await {
            bytes.extend_from_slice(&chunk?);
            if bytes.len() as u64 > MAX_OBJECT {
                return Ok(Read::Invalid(format!("larger than {MAX_OBJECT} bytes")));
            }
        }
        let record: Record = match serde_json::from_slice(&bytes) {
            Ok(r) => r,
            Err(e) => return Ok(Read::Invalid(format!("not a stored style: {e}"))),
        };
        let chain = match spec::parse_style_content(&record.content) {
            Ok(c) => c,
            Err(e) => return Ok(Read::Invalid(e.message)),
        };
        let (Some(created), Some(modified)) = (from_unix(record.created), from_unix(record.modified)) else {
            return Ok(Read::Invalid("a time out of range".into()));
        };
        Ok(Read::Style(StoredStyle {
            content: record.content,
            chain: Arc::new(chain),
            created,
            modified,
            etag: None,
        }))
    }

    /// One stored style of a bucket; an invalid object counts as missing.
    pub async fn read(&self, bucket: &str, name: &str) -> Result<Option<StoredStyle>, OriginError> {
        match self.read_key(&self.key(bucket, name)).await? {
            Read::Style(s) => Ok(Some(s)),
            Read::Missing | Read::Invalid(_) => Ok(None),
        }
    }

    /// The names stored for a bucket.
    pub async fn names(&self, bucket: &str) -> Result<Vec<String>, OriginError> {
        let prefix = self.key(bucket, "");
        let listed = self.origin.list(&self.config.bucket, &prefix, MAX_LISTED).await?;
        let names = listed.iter().filter_map(|l| self.parse_key(&l.key)).filter(|(b, _)| *b == bucket);
        Ok(names.map(|(_, n)| n.to_string()).collect())
    }

    /// Every valid style stored for a bucket, by name.
    pub async fn bucket(&self, bucket: &str) -> Result<BTreeMap<String, StoredStyle>, OriginError> {
        let mut out = BTreeMap::new();
        for name in self.names(bucket).await? {
            if let Some(style) = self.read(bucket, &name).await? {
                out.insert(name, style);
            }
        }
        Ok(out)
    }

    /// Write a style; `created` is kept from the style it replaces.
    pub async fn write(
        &self,
        bucket: &str,
        name: &str,
        content: &str,
        chain: Arc<Chain>,
        created: Option<SystemTime>,
    ) -> Result<StoredStyle, OriginError> {
        let now = unix(SystemTime::now());
        let record =
            Record { content: content.to_string(), created: created.map_or(now, unix), modified: now };
        let body = serde_json::to_vec(&record)
            .map_err(|e| OriginError::Failed(format!("encoding a stored style: {e}")))?;
        let key = self.key(bucket, name);
        self.origin.put(self.at(&key), Bytes::from(body), "application/json").await?;
        let now_or = |secs| from_unix(secs).unwrap_or_else(SystemTime::now);
        Ok(StoredStyle {
            content: record.content,
            chain,
            created: now_or(record.created),
            modified: now_or(record.modified),
            etag: None,
        })
    }

    /// Delete a stored style; `false` when there was none.
    pub async fn delete(&self, bucket: &str, name: &str) -> Result<bool, OriginError> {
        let key = self.key(bucket, name);
        // S3 deletes a missing key without complaint: ask first.
        match self.origin.head(self.at(&key)).await {
            Ok(_) => {}
            Err(OriginError::NotFound) => return Ok(false),
            Err(e) => return Err(e),
        }
        match self.origin.delete(self.at(&key)).await {
            Ok(()) => Ok(true),
            Err(OriginError::NotFound) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Everything the store holds: `previous` gives the styles whose objects did not change.
    pub async fn load(&self, previous: &StoredStyles) -> Result<StoredStyles, OriginError> {
        let listed = self.origin.list(&self.config.bucket, &self.config.prefix, MAX_LISTED).await?;
        let mut next = StoredStyles::default();
        for item in listed {
            let Some((bucket, name)) = self.parse_key(&item.key) else { continue };
            let unchanged = |etag: &Option<String>| etag.is_some() && *etag == item.etag;
            if let Some(style) = previous.get(bucket, name).filter(|s| unchanged(&s.etag)) {
                next.set(bucket, name, Some(style.clone()));
                continue;
            }
            if previous.invalid.get(&item.key).is_some_and(unchanged) {
                next.invalid.insert(item.key.clone(), item.etag.clone());
                continue;
            }
            // One unreadable object (permissions, a timeout) keeps what was known of it and
            // does not stop the others from being read.
            let read = match self.read_key(&item.key).await {
                Ok(read) => read,
                Err(e) => {
                    tracing::warn!(target: "pixgate::styles", key = item.key.as_str(), error = %e,
                        "a stored style object cannot be read: its last known content stays");
                    if let Some(style) = previous.get(bucket, name) {
                        next.set(bucket, name, Some(style.clone()));
                    }
                    continue;
                }
            };
            match read {
                Read::Missing => {}
                Read::Invalid(why) => {
                    tracing::warn!(target: "pixgate::styles", key = item.key.as_str(), why = why.as_str(),
                        "a stored style object is not a valid style: ignored");
                    next.invalid.insert(item.key.clone(), item.etag.clone());
                }
                Read::Style(style) => {
                    next.set(bucket, name, Some(Arc::new(StoredStyle { etag: item.etag.clone(), ..style })));
                }
            }
        }
        Ok(next)
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn stored_times_out_of_range_are_invalid_not_a_panic() {
        assert_eq!(from_unix(0), Some(UNIX_EPOCH));
        assert!(from_unix(u64::MAX).is_none());
        assert!(from_unix(1 << 63).is_none());
    }

    use super::*;
    use crate::origin::fs::FsOrigin;

    fn chain(s: &str) -> Arc<Chain> {
        Arc::new(spec::parse_style_content(s).unwrap())
    }

    #[tokio::test]
    async fn stored_styles_round_trip_and_refresh_reads_only_changes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("store")).unwrap();
        let origin = FsOrigin::new(dir.path()).unwrap();
        let config = StyleStoreConfig { bucket: "store".into(), prefix: "pixgate-styles/".into() };
        let store = Store::new(&origin, &config);
        let small =
            store.write("photos", "small", "image/resize,w_10", chain("image/resize,w_10"), None).await;
        let small = small.unwrap();
        assert_eq!(store.read("photos", "small").await.unwrap().map(|s| s.content), Some(small.content));
        store.write("photos", "big", "image/resize,w_90", chain("image/resize,w_90"), None).await.unwrap();
        store.write("other", "big", "image/resize,w_50", chain("image/resize,w_50"), None).await.unwrap();
        assert_eq!(store.names("photos").await.unwrap(), ["big", "small"]);
        // Not styles: a bad name, a bad content, garbage.
        let raw = dir.path().join("store/pixgate-styles/photos");
        std::fs::write(raw.join("bad name"), b"{}").unwrap();
        std::fs::write(raw.join("evil"), br#"{"content":"image/resize,w_0","created":1,"modified":1}"#)
            .unwrap();
        std::fs::write(raw.join("junk"), b"not json").unwrap();
        let first = store.load(&StoredStyles::default()).await.unwrap();
        assert_eq!(first.len(), 3);
        assert!(first.contains("photos", "small") && first.contains("other", "big"));
        assert!(!first.contains("photos", "evil") && !first.contains("photos", "junk"));
        assert_eq!(first.chain("photos", "big"), Some(chain("image/resize,w_90")));
        // Unchanged objects are kept as they were (the same Arc), changed ones read again.
        store.write("photos", "big", "image/resize,w_80", chain("image/resize,w_80"), None).await.unwrap();
        let second = store.load(&first).await.unwrap();
        assert!(Arc::ptr_eq(first.get("photos", "small").unwrap(), second.get("photos", "small").unwrap()));
        assert_eq!(second.chain("photos", "big"), Some(chain("image/resize,w_80")));
        assert!(store.delete("photos", "big").await.unwrap());
        assert!(!store.delete("photos", "big").await.unwrap());
        let third = store.load(&second).await.unwrap();
        assert!(!third.contains("photos", "big") && third.contains("other", "big"));
    }

    #[test]
    fn a_book_applies_changes_without_touching_older_snapshots() {
        let book = StyleBook::new();
        assert!(!book.is_loaded());
        book.replace(StoredStyles::default());
        assert!(book.is_loaded());
        let before = book.snapshot();
        let style = StoredStyle {
            content: "image/resize,w_10".into(),
            chain: chain("image/resize,w_10"),
            created: UNIX_EPOCH,
            modified: UNIX_EPOCH,
            etag: None,
        };
        book.apply("photos", "small", Some(style));
        assert!(book.snapshot().contains("photos", "small"));
        assert!(before.is_empty());
        book.apply("photos", "small", None);
        assert!(book.snapshot().is_empty());
    }
}
