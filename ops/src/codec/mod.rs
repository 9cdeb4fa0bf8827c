//! Sniffing, probing, limits and decoding: the only files that import codec crates.
//!
//! The order is always: sniff the format from the bytes, probe the header for dimensions and
//! frame count, check the limits, and only then allocate pixels.

pub mod animation;
pub mod decode;
pub mod encode;
pub mod exif;
pub mod header;
#[cfg(any(feature = "heic", feature = "avif"))]
pub mod heif;
pub mod isobmff;
pub mod jpeg_dc;
pub mod jpeg_quality;
pub mod webp_anim;

use std::io::Cursor;

use image::ImageReader;

/// Source formats, known from their bytes (never from the key's extension).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceFormat {
    Jpeg,
    Png,
    Gif,
    Webp,
    Bmp,
    Tiff,
    Heic,
    Avif,
}

impl SourceFormat {
    /// The name OSS's `info` prints in `Format`.
    pub fn oss_name(self) -> &'static str {
        match self {
            SourceFormat::Jpeg => "jpg",
            SourceFormat::Png => "png",
            SourceFormat::Gif => "gif",
            SourceFormat::Webp => "webp",
            SourceFormat::Bmp => "bmp",
            SourceFormat::Tiff => "tiff",
            SourceFormat::Heic => "heic",
            SourceFormat::Avif => "avif",
        }
    }

    pub(crate) fn image_format(self) -> Option<image::ImageFormat> {
        Some(match self {
            SourceFormat::Jpeg => image::ImageFormat::Jpeg,
            SourceFormat::Png => image::ImageFormat::Png,
            SourceFormat::Gif => image::ImageFormat::Gif,
            SourceFormat::Webp => image::ImageFormat::WebP,
            SourceFormat::Bmp => image::ImageFormat::Bmp,
            SourceFormat::Tiff => image::ImageFormat::Tiff,
            SourceFormat::Heic | SourceFormat::Avif => return None,
        })
    }
}

/// The format announced by the first bytes.
pub fn sniff(bytes: &[u8]) -> Option<SourceFormat> {
    let starts = |m: &[u8]| bytes.starts_with(m);
    if starts(&[0xFF, 0xD8, 0xFF]) {
        Some(SourceFormat::Jpeg)
    } else if starts(b"\x89PNG\r\n\x1a\n") {
        Some(SourceFormat::Png)
    } else if starts(b"GIF87a") || starts(b"GIF89a") {
        Some(SourceFormat::Gif)
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some(SourceFormat::Webp)
    } else if starts(b"BM") && bytes.len() >= 26 {
        Some(SourceFormat::Bmp)
    } else if starts(b"II*\0") || starts(b"MM\0*") {
        Some(SourceFormat::Tiff)
    } else if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" {
        match &bytes[8..12] {
            b"avif" | b"avis" => Some(SourceFormat::Avif),
            b"heic" | b"heix" | b"hevc" | b"heim" | b"heis" | b"mif1" | b"msf1" => Some(SourceFormat::Heic),
            _ => None,
        }
    } else {
        None
    }
}

/// Limits on sources, checked from the header before any pixel buffer exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_source_bytes: u64,
    pub max_source_side: u32,
    /// width * height * frames
    pub max_source_pixels: u64,
    pub max_output_side: u32,
    pub max_output_pixels: u64,
    pub max_rotate_side: u32,
}

impl Default for Limits {
    /// OSS's published limits.
    fn default() -> Self {
        Limits {
            max_source_bytes: 20 * 1024 * 1024,
            max_source_side: 30_000,
            max_source_pixels: 250_000_000,
            max_output_side: 16_384,
            max_output_pixels: 16_777_216,
            max_rotate_side: 4_096,
        }
    }
}

/// What the header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    pub format: SourceFormat,
    pub width: u32,
    pub height: u32,
    pub frames: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodecError {
    /// Not an image Pixgate reads.
    Unsupported(&'static str),
    /// The bytes claim to be an image but do not decode.
    Corrupt(String),
    /// Over a limit; the EC is OSS's.
    TooLarge { message: String, ec: &'static str },
    /// A format this build does not read or write (HEIC and AVIF without their features).
    NeedsFeature(&'static str),
    /// The encoder failed: a bug or a resource problem, not the client's fault.
    Encode(String),
}

impl std::fmt::Display for CodecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CodecError::Unsupported(m) => write!(f, "unsupported image: {m}"),
            CodecError::Corrupt(m) => write!(f, "corrupt image: {m}"),
            CodecError::TooLarge { message, .. } => f.write_str(message),
            CodecError::NeedsFeature(m) => f.write_str(m),
            CodecError::Encode(m) => write!(f, "encoding failed: {m}"),
        }
    }
}

impl std::error::Error for CodecError {}

fn corrupt(e: impl std::fmt::Display) -> CodecError {
    CodecError::Corrupt(e.to_string())
}

/// Why a HEIC or AVIF source's pixels are refused by a build without the `heic` feature (its
/// header, `info` included, is read in every build).
pub const HEIF_NEEDS_FEATURE: &str = "HEIC and AVIF pixels need Pixgate built with the heic feature";

/// Count the frames of a GIF without decoding their pixels, stopping past `cap`. A broken
/// stream counts the frames read before the break (decoding reports the break later).
fn gif_frames(bytes: &[u8], cap: u32) -> u32 {
    let mut opts = gif::DecodeOptions::new();
    opts.set_color_output(gif::ColorOutput::Indexed);
    opts.skip_frame_decoding(true);
    let Ok(mut d) = opts.read_info(Cursor::new(bytes)) else { return 1 };
    let mut n: u32 = 0;
    while let Ok(Some(_)) = d.next_frame_info() {
        n += 1;
        if n > cap {
            break;
        }
    }
    n.max(1)
}

/// Read the header: format, dimensions, frame count. Allocates no pixels. PNG, JPEG, GIF,
/// BMP and WebP are read by `header`, HEIC and AVIF by `isobmff` (in every build); TIFF needs
/// the `image` crate's decoder to find its IFD. Frames: GIF's are counted, APNG's and animated
/// WebP's come from their headers, a HEIF image sequence's from its track.
pub fn probe(bytes: &[u8]) -> Result<Probe, CodecError> {
    let format = sniff(bytes).ok_or(CodecError::Unsupported("the bytes are not a known image format"))?;
    let (width, height, frames) = match (format, format.image_format()) {
        (SourceFormat::Heic | SourceFormat::Avif, _) => {
            let heif = isobmff::parse(bytes)?;
            (heif.width, heif.height, heif.frames)
        }
        (_, Some(f)) => {
            let (width, height) = match header::dimensions(bytes, format) {
                Some(d) => d,
                None => ImageReader::with_format(Cursor::new(bytes), f).into_dimensions().map_err(corrupt)?,
            };
            let frames = match format {
                // Enough to exceed any pixel limit is enough to count.
                SourceFormat::Gif => gif_frames(bytes, 10_000_000),
                _ => header::frames(bytes, format),
            };
            (width, height, frames)
        }
        (_, None) => return Err(CodecError::Unsupported("no header reader for this format")),
    };
    if width == 0 || height == 0 {
        return Err(CodecError::Corrupt("the image has no pixels".into()));
    }
    Ok(Probe { format, width, height, frames })
}

/// Check a probed source against the limits (OSS's EC codes).
pub fn check_source(probe: &Probe, byte_len: u64, limits: &Limits) -> Result<(), CodecError> {
    if byte_len > limits.max_source_bytes {
        return Err(CodecError::TooLarge {
            message: format!(
                "The source image is {byte_len} bytes; the limit is {}.",
                limits.max_source_bytes
            ),
            ec: "0040-00000009",
        });
    }
    if probe.width > limits.max_source_side || probe.height > limits.max_source_side {
        return Err(CodecError::TooLarge {
            message: format!(
                "The source image is {}x{}; each side may be at most {}.",
                probe.width, probe.height, limits.max_source_side
            ),
            ec: "0040-00000019",
        });
    }
    let (width, height, frames) = (u64::from(probe.width), u64::from(probe.height), u64::from(probe.frames));
    let pixels = width.saturating_mul(height).saturating_mul(frames);
    if pixels > limits.max_source_pixels {
        return Err(CodecError::TooLarge {
            message: format!(
                "The source image has {pixels} pixels (width x height x frames); the limit is {}.",
                limits.max_source_pixels
            ),
            ec: "0040-00000012",
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbaImage::from_pixel(w, h, image::Rgba([10, 20, 30, 255]));
        let mut out = Vec::new();
        img.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png).expect("encode");
        out
    }

    #[test]
    fn probe_reads_headers() {
        let p = probe(&png(7, 5)).expect("probe");
        assert_eq!((p.format, p.width, p.height, p.frames), (SourceFormat::Png, 7, 5, 1));
        assert_eq!(
            probe(b"hello").unwrap_err(),
            CodecError::Unsupported("the bytes are not a known image format")
        );
        // The header alone is enough to know the size; decoding reports the missing data.
        assert_eq!(probe(&png(7, 5)[..30]).map(|p| (p.width, p.height)), Ok((7, 5)));
        assert!(matches!(probe(&png(7, 5)[..20]), Err(CodecError::Corrupt(_))));
    }

    #[test]
    fn limits_come_from_the_header() {
        let p = Probe { format: SourceFormat::Jpeg, width: 60_000, height: 60_000, frames: 1 };
        let e = check_source(&p, 1000, &Limits::default()).unwrap_err();
        assert!(matches!(e, CodecError::TooLarge { ec: "0040-00000019", .. }), "{e:?}");
        let p = Probe { format: SourceFormat::Gif, width: 10_000, height: 10_000, frames: 3 };
        let e = check_source(&p, 1000, &Limits::default()).unwrap_err();
        assert!(matches!(e, CodecError::TooLarge { ec: "0040-00000012", .. }), "{e:?}");
        let p = Probe { format: SourceFormat::Png, width: 10, height: 10, frames: 1 };
        let e = check_source(&p, 30 << 20, &Limits::default()).unwrap_err();
        assert!(matches!(e, CodecError::TooLarge { ec: "0040-00000009", .. }), "{e:?}");
    }
}
