//! Fonts for text watermarks: found in `watermark.font_dirs` (and their subfolders) at start,
//! each read from disk the first time a watermark asks for it, then kept.
//!
//! Only OSS's font names resolve (a request cannot make Pixgate load arbitrary files): a face
//! is found by the file name a Linux distribution's package gives it (`wqy-zenhei` =
//! `wqy-zenhei.ttc`, `droidsansfallback` = `DroidSansFallbackFull.ttf`, the fangzheng faces by
//! their FZ file names), or by `<oss name>.ttf|.ttc|.otf`, compared without case. A file that
//! does not load is logged and falls back until the next start.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use pixgate_ops::text::{self, Face, FontSource};

/// Files a distribution installs for each OSS font name, in lower case.
const KNOWN: &[(&str, &[&str])] = &[
    ("wqy-zenhei", &["wqy-zenhei.ttc", "wqy-zenhei.ttf"]),
    ("wqy-microhei", &["wqy-microhei.ttc", "wqy-microhei.ttf"]),
    ("droidsansfallback", &["droidsansfallbackfull.ttf", "droidsansfallback.ttf"]),
    ("fangzhengshusong", &["fzshusong-z01.ttf", "fzshusong-z01s.ttf", "fzssjw.ttf"]),
    ("fangzhengkaiti", &["fzkai-z03.ttf", "fzkai-z03s.ttf", "fzktjw.ttf"]),
    ("fangzhengheiti", &["fzhei-b01.ttf", "fzhei-b01s.ttf", "fzhtjw.ttf"]),
    ("fangzhengfangsong", &["fzfangsong-z02.ttf", "fzfangsong-z02s.ttf", "fzfsjw.ttf"]),
];

/// How deep the folder walk goes.
const MAX_DEPTH: usize = 6;
/// At most this many font files are indexed.
const MAX_FILES: usize = 10_000;

struct Entry {
    path: PathBuf,
    face: OnceLock<Option<Face>>,
}

/// The fonts found in the configured folders.
pub struct FontDirs {
    by_name: HashMap<String, Entry>,
}

impl std::fmt::Debug for FontDirs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FontDirs").field("fonts", &self.by_name.len()).finish()
    }
}

fn is_font(p: &Path) -> bool {
    let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    matches!(ext.as_str(), "ttf" | "ttc" | "otf")
}

fn walk(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    let Ok(read) = std::fs::read_dir(dir) else { return };
    for entry in read.flatten() {
        if out.len() >= MAX_FILES {
            return;
        }
        let path = entry.path();
        let Ok(kind) = entry.file_type() else { continue };
        if kind.is_dir() && depth < MAX_DEPTH {
            walk(&path, depth + 1, out);
        } else if (kind.is_file() || kind.is_symlink()) && is_font(&path) {
            out.push(path);
        }
    }
}

impl FontDirs {
    /// Index the font files under `dirs` (missing folders are skipped).
    pub fn scan(dirs: &[PathBuf]) -> FontDirs {
        let mut files = Vec::new();
        for d in dirs {
            walk(d, 0, &mut files);
        }
        files.sort();
        let mut by_name = HashMap::new();
        let entry = |path: &Path| Entry { path: path.to_path_buf(), face: OnceLock::new() };
        for path in &files {
            let Some(file) = path.file_name().and_then(|f| f.to_str()) else { continue };
            let file = file.to_ascii_lowercase();
            let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("").to_ascii_lowercase();
            for (name, names) in KNOWN {
                if names.contains(&file.as_str()) || stem == *name {
                    by_name.entry((*name).to_string()).or_insert_with(|| entry(path));
                }
            }
        }
        FontDirs { by_name }
    }

    /// The file each OSS font name resolves to (`None`: falls back).
    pub fn oss_fonts(&self) -> Vec<(&'static str, Option<&Path>)> {
        text::OSS_FONTS.iter().map(|n| (*n, self.by_name.get(*n).map(|e| e.path.as_path()))).collect()
    }
}

impl FontSource for FontDirs {
    fn face(&self, name: &str) -> Option<Face> {
        let entry = self.by_name.get(&name.to_ascii_lowercase())?;
        entry
            .face
            .get_or_init(|| {
                let face = std::fs::read(&entry.path).ok().and_then(|b| text::load_face(b, 0));
                if face.is_none() {
                    tracing::warn!(path = %entry.path.display(), "font file does not load; text falls back");
                }
                face
            })
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_files_by_oss_name_and_by_stem() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("truetype/droid");
        std::fs::create_dir_all(&sub).unwrap();
        // not a real font: found by name, refused when loaded
        std::fs::write(sub.join("DroidSansFallbackFull.ttf"), b"no font").unwrap();
        std::fs::write(dir.path().join("Other.OTF"), b"no font").unwrap();
        std::fs::write(dir.path().join("FangZhengKaiTi.TTF"), b"no font").unwrap();
        std::fs::write(dir.path().join("notes.txt"), b"").unwrap();
        let fonts = FontDirs::scan(&[dir.path().to_path_buf(), dir.path().join("missing")]);
        let found: Vec<_> =
            fonts.oss_fonts().into_iter().filter(|(_, p)| p.is_some()).map(|(n, _)| n).collect();
        assert_eq!(found, ["fangzhengkaiti", "droidsansfallback"]);
        // other files are not reachable by name
        assert!(!fonts.by_name.contains_key("other"));
        assert!(!fonts.by_name.contains_key("droidsansfallbackfull"));
        assert!(!fonts.by_name.contains_key("notes"));
        assert!(fonts.face("Other").is_none());
        assert!(fonts.face("DroidSansFallback").is_none());
        assert!(fonts.face("wqy-zenhei").is_none());
    }
}
