//! A local folder as the origin: every sub-folder of the root is a bucket.
//!
//! Keys never leave the root: `..`, `.`, empty components, absolute keys and NUL are refused,
//! and the resolved path (after following symlinks) must still be below the root.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Component, Path, PathBuf};
use std::time::SystemTime;

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};

use super::{
    BodyStream, GetOptions, GetResponse, Listed, Location, ObjectMeta, Origin, OriginError, is_unchanged,
};
use crate::mime;

/// Bytes read per chunk when streaming a file.
const CHUNK: usize = 256 * 1024;

#[derive(Debug, Clone)]
pub struct FsOrigin {
    root: PathBuf,
}

impl FsOrigin {
    /// `root` must exist; it is canonicalised once so that symlink checks are exact.
    pub fn new(root: &Path) -> std::io::Result<FsOrigin> {
        Ok(FsOrigin { root: root.canonicalize()? })
    }

    /// The bucket folder, which must be a direct sub-folder of the root.
    fn bucket_dir(&self, bucket: &str) -> Result<PathBuf, OriginError> {
        if bucket.is_empty() || bucket.contains(['/', '\\', '\0']) || bucket == "." || bucket == ".." {
            return Err(OriginError::NoSuchBucket);
        }
        let dir = self.root.join(bucket);
        let canonical = dir.canonicalize().map_err(|_| OriginError::NoSuchBucket)?;
        if !canonical.starts_with(&self.root) || !canonical.is_dir() {
            return Err(OriginError::NoSuchBucket);
        }
        Ok(canonical)
    }

    /// The relative path of a key, refusing anything that could leave the bucket.
    fn relative(key: &str) -> Result<PathBuf, OriginError> {
        if key.is_empty() {
            return Err(OriginError::NotFound);
        }
        if key.contains('\0') {
            return Err(OriginError::InvalidKey("the key contains a NUL character".into()));
        }
        if key.starts_with('/') {
            return Err(OriginError::InvalidKey("the key is an absolute path".into()));
        }
        if key.ends_with('/') {
            // A "folder": not an object.
            return Err(OriginError::NotFound);
        }
        let mut out = PathBuf::new();
        for part in key.split('/') {
            if part.is_empty() || part == "." || part == ".." {
                return Err(OriginError::InvalidKey(
                    "the key has an empty, \".\" or \"..\" path component".into(),
                ));
            }
            let p = Path::new(part);
            if !matches!(p.components().next(), Some(Component::Normal(_))) || p.components().count() != 1 {
                return Err(OriginError::InvalidKey("the key is not a plain path".into()));
            }
            out.push(part);
        }
        Ok(out)
    }

    /// Resolve an existing object's path; `NotFound` when missing, not a file, or outside.
    fn resolve(&self, at: &Location<'_>) -> Result<PathBuf, OriginError> {
        let rel = Self::relative(at.key)?;
        let dir = self.bucket_dir(at.bucket)?;
        let path = dir.join(rel);
        let canonical = match path.canonicalize() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(OriginError::NotFound),
            // ENOTDIR, ENAMETOOLONG: no such object can exist.
            Err(e) if matches!(e.raw_os_error(), Some(20 | 36)) => return Err(OriginError::NotFound),
            Err(e) => return Err(OriginError::Failed(format!("{}: {e}", path.display()))),
        };
        // A link out of the bucket is answered like a missing key: it reveals nothing.
        if !canonical.starts_with(&dir) {
            return Err(OriginError::NotFound);
        }
        Ok(canonical)
    }

    fn meta_of(file: &std::fs::File, head: &[u8], key: &str) -> Result<ObjectMeta, OriginError> {
        let md = file.metadata().map_err(|e| OriginError::Failed(e.to_string()))?;
        if !md.is_file() {
            return Err(OriginError::NotFound);
        }
        Ok(ObjectMeta {
            size: md.len(),
            content_type: Some(mime::detect(head, key).to_string()),
            etag: Some(etag_of(&md)),
            last_modified: md.modified().ok(),
            cache_control: None,
        })
    }

    /// The first folder of a walk over the keys that start with `prefix` (`None`: no such
    /// folder, or one that a link leads out of the bucket), and the bucket's folder.
    fn walk_start(&self, bucket: &str, prefix: &str) -> Result<(Option<PathBuf>, PathBuf), OriginError> {
        let dir = self.bucket_dir(bucket)?;
        // Walk only below the prefix's folder; its components obey the key rules.
        let folder = prefix.rsplit_once('/').map_or("", |(d, _)| d);
        let start = if folder.is_empty() { dir.clone() } else { dir.join(Self::relative(folder)?) };
        // A link on the way must not lead the walk out of the bucket.
        let start = start.canonicalize().ok().filter(|s| s.starts_with(&dir));
        Ok((start, dir))
    }

    fn open(&self, at: &Location<'_>) -> Result<(std::fs::File, PathBuf), OriginError> {
        let path = self.resolve(at)?;
        // Only regular files: opening a FIFO or a device could block or misbehave.
        match std::fs::metadata(&path) {
            Ok(md) if md.is_file() => {}
            Ok(_) => return Err(OriginError::NotFound),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(OriginError::NotFound),
            Err(e) => return Err(OriginError::Failed(format!("{}: {e}", path.display()))),
        }
        let file = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(OriginError::NotFound),
            Err(e) => return Err(OriginError::Failed(format!("{}: {e}", path.display()))),
        };
        match file.metadata() {
            Ok(md) if md.is_file() => Ok((file, path)),
            Ok(_) => Err(OriginError::NotFound),
            Err(e) => Err(OriginError::Failed(format!("{}: {e}", path.display()))),
        }
    }
}

/// A file's validator: nanoseconds, size and inode, so a file rewritten within one second at
/// the same size, or replaced by a rename, still gets a new one.
fn etag_of(md: &std::fs::Metadata) -> String {
    let mtime = md
        .modified()
        .ok()
        .and_then(|m| m.duration_since(SystemTime::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("\"{:x}-{:x}-{:x}\"", mtime, md.len(), std::os::unix::fs::MetadataExt::ino(md))
}

/// A file `put` is still writing (renamed into place when complete).
fn is_temporary(path: &Path) -> bool {
    path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(".pixgate-tmp-"))
}

fn read_up_to(file: &mut std::fs::File, want: usize) -> Result<Bytes, OriginError> {
    let mut buf = BytesMut::zeroed(want);
    let mut filled = 0;
    while filled < want {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(OriginError::Failed(e.to_string())),
        }
    }
    buf.truncate(filled);
    Ok(buf.freeze())
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, OriginError> + Send + 'static,
) -> Result<T, OriginError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| OriginError::Failed(format!("file task failed: {e}")))?
}

/// Stream `remaining` bytes of `file` from its current position, starting with `first`.
fn stream(first: Bytes, file: std::fs::File, remaining: u64) -> BodyStream {
    let state = (Some(first), Some(file), remaining);
    Box::pin(futures::stream::unfold(state, |(first, file, remaining)| async move {
        if let Some(chunk) = first
            && !chunk.is_empty()
        {
            return Some((Ok(chunk), (None, file, remaining)));
        }
        let mut file = file?;
        if remaining == 0 {
            return None;
        }
        let want = remaining.min(CHUNK as u64) as usize;
        let read = blocking(move || {
            let chunk = read_up_to(&mut file, want)?;
            Ok((chunk, file))
        })
        .await;
        match read {
            Ok((chunk, _)) if chunk.is_empty() => {
                Some((Err(OriginError::Failed("file shrank while it was read".into())), (None, None, 0)))
            }
            Ok((chunk, file)) => {
                let left = remaining - chunk.len() as u64;
                Some((Ok(chunk), (None, Some(file), left)))
            }
            Err(e) => Some((Err(e), (None, None, 0))),
        }
    }))
}

#[async_trait]
impl Origin for FsOrigin {
    async fn get(&self, at: Location<'_>, opts: &GetOptions) -> Result<GetResponse, OriginError> {
        let this = self.clone();
        let (bucket, key, opts) = (at.bucket.to_string(), at.key.to_string(), opts.clone());
        blocking(move || {
            let at = Location { bucket: &bucket, key: &key };
            let (mut file, _) = this.open(&at)?;
            let head = read_up_to(&mut file, CHUNK)?;
            let meta = Self::meta_of(&file, &head, &key)?;
            if is_unchanged(opts.if_none_match.as_deref(), opts.if_modified_since, &meta) {
                return Ok(GetResponse::NotModified(meta));
            }
            let (first_byte, last_byte) = match opts.range {
                None => (0, meta.size.saturating_sub(1)),
                Some(r) => {
                    r.resolve(meta.size).ok_or(OriginError::RangeNotSatisfiable { size: Some(meta.size) })?
                }
            };
            let length = if meta.size == 0 { 0 } else { last_byte - first_byte + 1 };
            let range = opts.range.map(|_| (first_byte, last_byte));
            // The first chunk is already in memory when the range starts inside it.
            let body = if (first_byte as usize) < head.len() {
                let end = (first_byte + length).min(head.len() as u64) as usize;
                let first = head.slice(first_byte as usize..end);
                let rest = length - first.len() as u64;
                stream(first, file, rest)
            } else {
                file.seek(SeekFrom::Start(first_byte)).map_err(|e| OriginError::Failed(e.to_string()))?;
                stream(Bytes::new(), file, length)
            };
            Ok(GetResponse::Body { meta, range, body })
        })
        .await
    }

    async fn head(&self, at: Location<'_>) -> Result<ObjectMeta, OriginError> {
        let this = self.clone();
        let (bucket, key) = (at.bucket.to_string(), at.key.to_string());
        blocking(move || {
            let at = Location { bucket: &bucket, key: &key };
            let (mut file, _) = this.open(&at)?;
            let head = read_up_to(&mut file, mime::SNIFF_LEN)?;
            Self::meta_of(&file, &head, &key)
        })
        .await
    }

    async fn put(&self, at: Location<'_>, body: Bytes, _content_type: &str) -> Result<(), OriginError> {
        let this = self.clone();
        let (bucket, key) = (at.bucket.to_string(), at.key.to_string());
        blocking(move || {
            let rel = Self::relative(&key)?;
            let dir = this.bucket_dir(&bucket)?;
            let target = dir.join(&rel);
            let parent = target.parent().unwrap_or(&dir).to_path_buf();
            // Before creating folders: the deepest existing one must be inside the bucket (a
            // link on the way must not lead folders to be made elsewhere).
            let mut existing = parent.as_path();
            while !existing.exists() {
                existing = existing.parent().unwrap_or(&dir);
            }
            let existing = existing.canonicalize().map_err(|e| OriginError::Failed(e.to_string()))?;
            if !existing.starts_with(&dir) {
                return Err(OriginError::InvalidKey("the key resolves outside its bucket".into()));
            }
            std::fs::create_dir_all(&parent).map_err(|e| OriginError::Failed(e.to_string()))?;
            let parent = parent.canonicalize().map_err(|e| OriginError::Failed(e.to_string()))?;
            if !parent.starts_with(&dir) {
                return Err(OriginError::InvalidKey("the key resolves outside its bucket".into()));
            }
            let name = target.file_name().ok_or(OriginError::InvalidKey("empty key".into()))?;
            let final_path = parent.join(name);
            if final_path.is_symlink() || final_path.is_dir() {
                return Err(OriginError::InvalidKey("the key names a link or a folder".into()));
            }
            let tmp = parent.join(format!(".pixgate-tmp-{}", uuid::Uuid::new_v4().simple()));
            let write = || -> std::io::Result<()> {
                let mut f = std::fs::OpenOptions::new().write(true).create_new(true).open(&tmp)?;
                f.write_all(&body)?;
                f.sync_all()?;
                std::fs::rename(&tmp, &final_path)
            };
            write().map_err(|e| {
                let _ = std::fs::remove_file(&tmp);
                OriginError::Failed(format!("{}: {e}", final_path.display()))
            })
        })
        .await
    }

    async fn delete(&self, at: Location<'_>) -> Result<(), OriginError> {
        let this = self.clone();
        let (bucket, key) = (at.bucket.to_string(), at.key.to_string());
        blocking(move || {
            let at = Location { bucket: &bucket, key: &key };
            // The file itself, inside the bucket (a link is resolved, and must stay inside).
            let path = this.resolve(&at)?;
            match std::fs::metadata(&path) {
                Ok(md) if md.is_file() => {}
                Ok(_) => return Err(OriginError::NotFound),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(OriginError::NotFound),
                Err(e) => return Err(OriginError::Failed(format!("{}: {e}", path.display()))),
            }
            std::fs::remove_file(&path).map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => OriginError::NotFound,
                _ => OriginError::Failed(format!("{}: {e}", path.display())),
            })
        })
        .await
    }

    async fn list(&self, bucket: &str, prefix: &str, max: usize) -> Result<Vec<Listed>, OriginError> {
        let this = self.clone();
        let (bucket, prefix) = (bucket.to_string(), prefix.to_string());
        blocking(move || {
            let (Some(start), dir) = this.walk_start(&bucket, &prefix)? else { return Ok(Vec::new()) };
            let mut found = Vec::new();
            let mut stack = vec![start];
            while let Some(d) = stack.pop() {
                let Ok(entries) = std::fs::read_dir(&d) else { continue };
                for entry in entries.flatten() {
                    let path = entry.path();
                    let Ok(md) = std::fs::symlink_metadata(&path) else { continue };
                    let Some(rel) = path.strip_prefix(&dir).ok().and_then(|r| r.to_str()) else { continue };
                    if md.is_dir() {
                        let as_prefix = format!("{rel}/");
                        if as_prefix.starts_with(&prefix) || prefix.starts_with(&as_prefix) {
                            stack.push(path);
                        }
                    } else if md.is_file() && rel.starts_with(&prefix) && !is_temporary(&path) {
                        found.push(Listed { key: rel.to_string(), etag: Some(etag_of(&md)) });
                    }
                }
            }
            found.sort_by(|a, b| a.key.cmp(&b.key));
            found.truncate(max);
            Ok(found)
        })
        .await
    }

    async fn delete_prefix(
        &self,
        bucket: &str,
        prefix: &str,
        direct_only: bool,
        max: usize,
    ) -> Result<usize, OriginError> {
        let this = self.clone();
        let (bucket, prefix) = (bucket.to_string(), prefix.to_string());
        blocking(move || {
            let (Some(start), dir) = this.walk_start(&bucket, &prefix)? else { return Ok(0) };
            let mut deleted = 0;
            let mut stack = vec![start];
            while let Some(d) = stack.pop() {
                let Ok(entries) = std::fs::read_dir(&d) else { continue };
                for entry in entries.flatten() {
                    let path = entry.path();
                    let Ok(md) = std::fs::symlink_metadata(&path) else { continue };
                    let Some(rel) = path.strip_prefix(&dir).ok().and_then(|r| r.to_str()) else { continue };
                    if md.is_dir() {
                        // A folder can hold matching keys if it is on the prefix's path or below it.
                        let as_prefix = format!("{rel}/");
                        let below = as_prefix.starts_with(&prefix) && !direct_only;
                        if below || prefix.starts_with(&as_prefix) {
                            stack.push(path);
                        }
                    } else if md.is_file()
                        && rel.starts_with(&prefix)
                        && !(direct_only && rel[prefix.len()..].contains('/'))
                        && deleted < max
                    {
                        std::fs::remove_file(&path)
                            .map_err(|e| OriginError::Failed(format!("{rel}: {e}")))?;
                        deleted += 1;
                    }
                }
            }
            Ok(deleted)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    fn setup() -> (tempfile::TempDir, FsOrigin) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("root/photos/sub")).unwrap();
        std::fs::write(dir.path().join("root/photos/a.txt"), b"hello world").unwrap();
        std::fs::write(dir.path().join("root/photos/sub/b c+d.txt"), b"x").unwrap();
        std::fs::write(dir.path().join("secret.txt"), b"secret").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(dir.path().join("secret.txt"), dir.path().join("root/photos/link"))
            .unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(dir.path(), dir.path().join("root/escape")).unwrap();
        let origin = FsOrigin::new(&dir.path().join("root")).unwrap();
        (dir, origin)
    }

    async fn body(r: GetResponse) -> Vec<u8> {
        match r {
            GetResponse::Body { mut body, .. } => {
                let mut out = Vec::new();
                while let Some(c) = body.next().await {
                    out.extend_from_slice(&c.unwrap());
                }
                out
            }
            GetResponse::NotModified(_) => panic!("not modified"),
        }
    }

    #[tokio::test]
    async fn reads_and_ranges() {
        let (_d, o) = setup();
        let at = Location { bucket: "photos", key: "a.txt" };
        assert_eq!(body(o.get(at.clone(), &GetOptions::default()).await.unwrap()).await, b"hello world");
        let opts = GetOptions { range: Some(super::super::RangeSpec::FromTo(6, 100)), ..Default::default() };
        assert_eq!(body(o.get(at.clone(), &opts).await.unwrap()).await, b"world");
        let opts = GetOptions { range: Some(super::super::RangeSpec::From(11)), ..Default::default() };
        assert_eq!(
            o.get(at.clone(), &opts).await.unwrap_err(),
            OriginError::RangeNotSatisfiable { size: Some(11) }
        );
        let at = Location { bucket: "photos", key: "sub/b c+d.txt" };
        assert_eq!(body(o.get(at, &GetOptions::default()).await.unwrap()).await, b"x");
    }

    #[tokio::test]
    async fn traversal_is_refused() {
        let (d, o) = setup();
        for key in ["../secret.txt", "sub/../../secret.txt", "/etc/passwd", "a.txt\0", "./a.txt", "sub//b"] {
            let err = o.get(Location { bucket: "photos", key }, &GetOptions::default()).await.unwrap_err();
            assert!(matches!(err, OriginError::InvalidKey(_)), "{key}: {err:?}");
        }
        // A symlink out of the root is not served, and looks like a missing key.
        let err =
            o.get(Location { bucket: "photos", key: "link" }, &GetOptions::default()).await.unwrap_err();
        assert_eq!(err, OriginError::NotFound);
        // A FIFO is never opened (opening it would block).
        let fifo = d.path().join("root/photos/fifo");
        if std::process::Command::new("mkfifo").arg(&fifo).status().is_ok_and(|s| s.success()) {
            let at = Location { bucket: "photos", key: "fifo" };
            assert_eq!(o.get(at, &GetOptions::default()).await.unwrap_err(), OriginError::NotFound);
        }
        for bucket in ["..", "escape", "nope", "photos/sub"] {
            let err =
                o.get(Location { bucket, key: "secret.txt" }, &GetOptions::default()).await.unwrap_err();
            assert_eq!(err, OriginError::NoSuchBucket, "{bucket}");
        }
        let err = o.get(Location { bucket: "photos", key: "sub" }, &GetOptions::default()).await.unwrap_err();
        assert_eq!(err, OriginError::NotFound);
    }

    #[tokio::test]
    async fn conditionals_and_put() {
        let (d, o) = setup();
        let at = Location { bucket: "photos", key: "a.txt" };
        let meta = o.head(at.clone()).await.unwrap();
        let opts = GetOptions { if_none_match: meta.etag.clone(), ..Default::default() };
        assert!(matches!(o.get(at.clone(), &opts).await.unwrap(), GetResponse::NotModified(_)));
        let opts = GetOptions { if_modified_since: meta.last_modified, ..Default::default() };
        assert!(matches!(o.get(at.clone(), &opts).await.unwrap(), GetResponse::NotModified(_)));

        let out = Location { bucket: "photos", key: "new/dir/out.jpg" };
        o.put(out.clone(), Bytes::from_static(b"data"), "image/jpeg").await.unwrap();
        assert_eq!(std::fs::read(d.path().join("root/photos/new/dir/out.jpg")).unwrap(), b"data");
        let bad = Location { bucket: "photos", key: "../../escaped" };
        assert!(o.put(bad, Bytes::from_static(b"x"), "text/plain").await.is_err());
        assert!(!d.path().join("escaped").exists());
    }

    #[tokio::test]
    async fn delete_prefix_stays_in_its_folder_and_its_bucket() {
        let (dir, origin) = setup();
        let cache = dir.path().join("root/cache");
        std::fs::create_dir_all(cache.join("v/photos/a/sub")).unwrap();
        std::fs::write(cache.join("v/photos/a/r1"), b"1").unwrap();
        std::fs::write(cache.join("v/photos/a/sub/r2"), b"2").unwrap();
        std::fs::write(cache.join("v/photos/ab"), b"3").unwrap();
        // One object's folder only: not "a/sub/...", not "ab".
        assert_eq!(origin.delete_prefix("cache", "v/photos/a/", true, 100).await.unwrap(), 1);
        assert!(cache.join("v/photos/a/sub/r2").exists() && cache.join("v/photos/ab").exists());
        // A prefix: everything under it.
        assert_eq!(origin.delete_prefix("cache", "v/photos/a", false, 100).await.unwrap(), 2);
        // A link on the way out of the bucket is not followed.
        std::os::unix::fs::symlink(dir.path().join("root/photos"), cache.join("v/out")).unwrap();
        assert_eq!(origin.delete_prefix("cache", "v/out/", false, 100).await.unwrap(), 0);
        assert!(dir.path().join("root/photos/a.txt").exists());
    }

    #[tokio::test]
    async fn list_and_delete_stay_in_their_bucket() {
        let (dir, origin) = setup();
        let listed = origin.list("photos", "", 100).await.unwrap();
        let keys: Vec<&str> = listed.iter().map(|l| l.key.as_str()).collect();
        assert_eq!(keys, ["a.txt", "sub/b c+d.txt"]);
        assert_eq!(origin.list("photos", "sub/", 100).await.unwrap().len(), 1);
        assert!(origin.list("photos", "nothing/", 100).await.unwrap().is_empty());
        // A rewritten file has a new entity tag.
        let at = Location { bucket: "photos", key: "a.txt" };
        let before = origin.list("photos", "a", 100).await.unwrap();
        origin.put(at.clone(), Bytes::from_static(b"changed"), "text/plain").await.unwrap();
        let after = origin.list("photos", "a", 100).await.unwrap();
        assert_ne!(before[0].etag, after[0].etag);
        origin.delete(at.clone()).await.unwrap();
        assert!(!dir.path().join("root/photos/a.txt").exists());
        assert_eq!(origin.delete(at).await, Err(OriginError::NotFound));
        // A link out of the bucket is never deleted through.
        let link = Location { bucket: "photos", key: "link" };
        assert_eq!(origin.delete(link).await, Err(OriginError::NotFound));
        assert!(dir.path().join("secret.txt").exists());
    }
}
