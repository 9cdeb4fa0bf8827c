//! The shared cache level (`[cache.shared]`): rendered variants kept as objects in a bucket on
//! the origin, so that every replica serves what one of them rendered.
//!
//! An object is named `<prefix><bucket>/<key>/<sha256 of validator and chain>`: the source's
//! validator is part of the name, so a changed source can never be answered with an old
//! render, and every variant of one object shares a folder, which purge deletes. Reads that
//! fail are misses; writes happen after the response, and failures are only logged and counted.
//! Expiry: the `ttl` written into each object, plus the bucket's lifecycle rules (README).

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use pixgate_cache::{Purge, Variant, VariantKey};
use sha2::{Digest, Sha256};

use crate::auth::hex;
use crate::config::SharedConfig;
use crate::metrics::Metrics;
use crate::origin::{GetOptions, GetResponse, Location, Origin, OriginError};

/// The first line of every stored variant.
const MAGIC: &str = "pixgate-variant 1";
/// Longest object key the tier writes (OSS's limit).
const MAX_KEY: usize = 1023;
/// Largest stored variant read back.
const MAX_READ: u64 = 64 << 20;
/// Most objects one purge deletes.
const MAX_PURGE: usize = 100_000;

/// Content types a stored variant may declare (they must be `'static` in a [`Variant`]).
const TYPES: &[&str] = &[
    "image/jpeg",
    "image/png",
    "image/webp",
    "image/gif",
    "image/bmp",
    "image/tiff",
    "image/heic",
    "image/avif",
    "application/json",
];

pub struct SharedTier {
    origin: Arc<dyn Origin>,
    config: SharedConfig,
    metrics: Metrics,
}

impl std::fmt::Debug for SharedTier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedTier").field("config", &self.config).finish_non_exhaustive()
    }
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// `MAGIC\n<content type>\n<written at, UNIX seconds>\n` then the body.
fn encode(content_type: &str, written_at: u64, body: &[u8]) -> Bytes {
    let head = format!("{MAGIC}\n{content_type}\n{written_at}\n");
    let mut out = BytesMut::with_capacity(head.len() + body.len());
    out.extend_from_slice(head.as_bytes());
    out.extend_from_slice(body);
    out.freeze()
}

fn decode(stored: &Bytes) -> Option<(&'static str, u64, Bytes)> {
    let mut at = 0;
    let mut line = || {
        let end = stored[at..].iter().position(|&b| b == b'\n')? + at;
        let text = std::str::from_utf8(&stored[at..end]).ok()?;
        at = end + 1;
        Some(text)
    };
    if line()? != MAGIC {
        return None;
    }
    let content_type = line()?;
    let content_type = *TYPES.iter().find(|t| **t == content_type)?;
    let written_at = line()?.parse().ok()?;
    Some((content_type, written_at, stored.slice(at..)))
}

impl SharedTier {
    pub fn new(origin: Arc<dyn Origin>, config: SharedConfig, metrics: Metrics) -> SharedTier {
        SharedTier { origin, config, metrics }
    }

    /// The folder of one source object's variants: `<prefix><bucket>/<key>/`, or for a key too
    /// long for that (with a 64-character name after it), `<prefix><bucket>/~<sha256 of key>/`
    /// (prefix purges miss those).
    fn folder(&self, bucket: &str, key: &str) -> String {
        let folder = format!("{}{bucket}/{key}/", self.config.prefix);
        if folder.len() + 64 <= MAX_KEY {
            return folder;
        }
        format!("{}{bucket}/~{}/", self.config.prefix, hex(&Sha256::digest(key.as_bytes())))
    }

    /// Where a variant is stored.
    pub fn object_key(&self, v: &VariantKey) -> String {
        let mut h = Sha256::new();
        h.update(v.validator.as_bytes());
        h.update([0]);
        h.update(v.chain.as_bytes());
        format!("{}{}", self.folder(&v.source.bucket, &v.source.key), hex(&h.finalize()))
    }

    /// A stored render of `v`, if one was written within `ttl`.
    pub async fn get(
        &self,
        v: &VariantKey,
        etag: Arc<str>,
        last_modified: Option<SystemTime>,
    ) -> Option<Variant> {
        let key = self.object_key(v);
        let found = self.read(&key).await;
        let outcome = if found.is_some() { "hit" } else { "miss" };
        self.metrics.cache_requests_total.with_label_values(&["shared", outcome]).inc();
        let (content_type, written_at, body) = found?;
        if unix_now().saturating_sub(written_at) > self.config.ttl.as_secs() {
            self.metrics.cache_requests_total.with_label_values(&["shared", "expired"]).inc();
            return None;
        }
        Some(Variant { body, content_type, etag: Some(etag), last_modified, from_shared: true })
    }

    async fn read(&self, key: &str) -> Option<(&'static str, u64, Bytes)> {
        let at = Location { bucket: &self.config.bucket, key };
        let (meta, mut body) = match self.origin.get(at, &GetOptions::default()).await {
            Ok(GetResponse::Body { meta, body, .. }) => (meta, body),
            Ok(GetResponse::NotModified(_)) | Err(OriginError::NotFound) => return None,
            Err(e) => {
                tracing::warn!(target: "pixgate::shared", error = %e, "shared cache read failed");
                return None;
            }
        };
        if meta.size > MAX_READ {
            return None;
        }
        let mut bytes = BytesMut::with_capacity(meta.size as usize);
        while let Some(chunk) = body.next().await {
            bytes.extend_from_slice(&chunk.ok()?);
            if bytes.len() as u64 > MAX_READ {
                return None;
            }
        }
        decode(&bytes.freeze())
    }

    /// Store a render after the response: never delays it; a failure is logged and counted.
    pub fn put_later(self: &Arc<Self>, v: &VariantKey, variant: &Variant) {
        let this = self.clone();
        let key = self.object_key(v);
        let stored = encode(variant.content_type, unix_now(), &variant.body);
        tokio::spawn(async move {
            let at = Location { bucket: &this.config.bucket, key: &key };
            let outcome = match this.origin.put(at, stored, "application/octet-stream").await {
                Ok(()) => "ok",
                Err(e) => {
                    tracing::warn!(target: "pixgate::shared", error = %e, "shared cache write failed");
                    "error"
                }
            };
            this.metrics.shared_writes_total.with_label_values(&[outcome]).inc();
        });
    }

    /// Delete the stored renders of what `purge` names; returns how many were deleted.
    pub async fn purge(&self, purge: &Purge) -> usize {
        // One object: only the renders directly in its folder (not those of "<key>/...").
        let (prefix, direct_only) = match purge {
            Purge::Key { bucket, key } => (self.folder(bucket, key), true),
            Purge::Prefix { bucket, prefix } => (format!("{}{bucket}/{prefix}", self.config.prefix), false),
        };
        match self.origin.delete_prefix(&self.config.bucket, &prefix, direct_only, MAX_PURGE).await {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(target: "pixgate::shared", error = %e, "shared cache purge failed");
                0
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_variants_round_trip_and_refuse_garbage() {
        let stored = encode("image/webp", 1_700_000_000, b"RIFF....WEBP");
        let (ct, at, body) = decode(&stored).unwrap();
        assert_eq!((ct, at, &body[..]), ("image/webp", 1_700_000_000, &b"RIFF....WEBP"[..]));
        let json = encode("application/json", 5, b"{\"a\":\"\\n\"}\n");
        assert_eq!(&decode(&json).unwrap().2[..], b"{\"a\":\"\\n\"}\n");
        for bad in [
            &b""[..],
            b"pixgate-variant 1\n",
            b"pixgate-variant 1\ntext/html\n1\nx",
            b"other\nimage/png\n1\n",
        ] {
            assert_eq!(decode(&Bytes::copy_from_slice(bad)), None);
        }
    }
}
