//! Content types for originals: the bytes decide (magic numbers), the name is the fallback.

/// How many leading bytes [`sniff`] looks at.
pub const SNIFF_LEN: usize = 64;

/// The image type announced by the first bytes, if any.
pub fn sniff(head: &[u8]) -> Option<&'static str> {
    let starts = |m: &[u8]| head.starts_with(m);
    if starts(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if starts(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if starts(b"GIF87a") || starts(b"GIF89a") {
        Some("image/gif")
    } else if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP" {
        Some("image/webp")
    } else if starts(b"BM") && head.len() >= 14 {
        Some("image/bmp")
    } else if starts(b"II*\0") || starts(b"MM\0*") {
        Some("image/tiff")
    } else if head.len() >= 12 && &head[4..8] == b"ftyp" {
        match &head[8..12] {
            b"avif" | b"avis" => Some("image/avif"),
            b"heic" | b"heix" | b"hevc" | b"heim" | b"heis" | b"mif1" | b"msf1" => Some("image/heic"),
            _ => None,
        }
    } else {
        None
    }
}

/// The type suggested by the key's extension, if known.
pub fn from_extension(key: &str) -> Option<&'static str> {
    let ext = key.rsplit_once('.')?.1;
    if ext.contains('/') {
        return None;
    }
    Some(match ext.to_ascii_lowercase().as_str() {
        "jpg" | "jpeg" | "jpe" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "bmp" => "image/bmp",
        "tif" | "tiff" => "image/tiff",
        "heic" | "heif" => "image/heic",
        "avif" => "image/avif",
        "svg" => "image/svg+xml",
        "ico" => "image/x-icon",
        "txt" | "md" => "text/plain; charset=utf-8",
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css",
        "js" => "text/javascript",
        "json" => "application/json",
        "xml" => "application/xml",
        "pdf" => "application/pdf",
        "mp4" => "video/mp4",
        "webm" => "video/webm",
        _ => return None,
    })
}

/// The bytes first, then the name, then `application/octet-stream`.
pub fn detect(head: &[u8], key: &str) -> &'static str {
    sniff(head).or_else(|| from_extension(key)).unwrap_or("application/octet-stream")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_beat_names() {
        assert_eq!(detect(&[0xFF, 0xD8, 0xFF, 0xE0], "x.png"), "image/jpeg");
        assert_eq!(detect(b"\x89PNG\r\n\x1a\n....", "x"), "image/png");
        assert_eq!(detect(b"RIFF\0\0\0\0WEBPVP8 ", "x"), "image/webp");
        assert_eq!(detect(b"\0\0\0\x1cftypavif", "x"), "image/avif");
        assert_eq!(detect(b"hello", "notes.TXT"), "text/plain; charset=utf-8");
        assert_eq!(detect(b"hello", "dir.v2/noext"), "application/octet-stream");
    }
}
