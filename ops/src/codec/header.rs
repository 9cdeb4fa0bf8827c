//! Dimensions straight from the file header, without a decoder: so that a file that claims
//! 60000x60000 is refused as too large even when the rest of it is missing or broken, and no
//! decoder state is built for a file that limits will refuse.

use super::SourceFormat;

fn be16(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?])))
}

fn le16(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from(u16::from_le_bytes([*b.get(at)?, *b.get(at + 1)?])))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn le24(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from(*b.get(at)?) | u32::from(*b.get(at + 1)?) << 8 | u32::from(*b.get(at + 2)?) << 16)
}

/// `(width, height)` as the header declares them; `None` when the header is absent, broken,
/// or the format is not parsed here (TIFF, HEIC, AVIF).
pub fn dimensions(bytes: &[u8], format: SourceFormat) -> Option<(u32, u32)> {
    match format {
        // Signature, then the IHDR chunk: length, "IHDR", width, height.
        SourceFormat::Png => {
            (bytes.get(12..16)? == b"IHDR").then(|| Some((be32(bytes, 16)?, be32(bytes, 20)?)))?
        }
        // Logical screen descriptor.
        SourceFormat::Gif => Some((le16(bytes, 6)?, le16(bytes, 8)?)),
        // BITMAPINFOHEADER (or larger): signed width and height; a negative height is top-down.
        SourceFormat::Bmp => {
            let header_size = le32(bytes, 14)?;
            if header_size == 12 {
                Some((le16(bytes, 18)?, le16(bytes, 20)?))
            } else {
                let w = le32(bytes, 18)? as i32;
                let h = le32(bytes, 22)? as i32;
                Some((w.unsigned_abs(), h.unsigned_abs()))
            }
        }
        SourceFormat::Webp => match bytes.get(12..16)? {
            b"VP8 " => Some((le16(bytes, 26)? & 0x3FFF, le16(bytes, 28)? & 0x3FFF)),
            b"VP8L" => {
                let b = le32(bytes, 21)?;
                Some(((b & 0x3FFF) + 1, ((b >> 14) & 0x3FFF) + 1))
            }
            b"VP8X" => Some((le24(bytes, 24)? + 1, le24(bytes, 27)? + 1)),
            _ => None,
        },
        SourceFormat::Jpeg => jpeg(bytes),
        SourceFormat::Tiff | SourceFormat::Heic | SourceFormat::Avif => None,
    }
}

/// Walk the JPEG markers to the first SOFn.
fn jpeg(b: &[u8]) -> Option<(u32, u32)> {
    let mut at = 2;
    loop {
        // Skip fill bytes.
        while *b.get(at)? == 0xFF && *b.get(at + 1)? == 0xFF {
            at += 1;
        }
        if *b.get(at)? != 0xFF {
            return None;
        }
        let marker = *b.get(at + 1)?;
        match marker {
            // Standalone markers: no length.
            0x01 | 0xD0..=0xD7 => at += 2,
            0xD9 | 0xDA => return None,
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                return Some((be16(b, at + 7)?, be16(b, at + 5)?));
            }
            _ => {
                let len = be16(b, at + 2)? as usize;
                if len < 2 {
                    return None;
                }
                at += 2 + len;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_and_gif_and_bmp() {
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        png.extend_from_slice(&60_000u32.to_be_bytes());
        png.extend_from_slice(&50_000u32.to_be_bytes());
        assert_eq!(dimensions(&png, SourceFormat::Png), Some((60_000, 50_000)));
        assert_eq!(dimensions(&png[..20], SourceFormat::Png), None);
        let gif = b"GIF89a\x10\x00\x20\x00";
        assert_eq!(dimensions(gif, SourceFormat::Gif), Some((16, 32)));
        let mut bmp = vec![b'B', b'M'];
        bmp.extend_from_slice(&[0; 12]);
        bmp.extend_from_slice(&40u32.to_le_bytes());
        bmp.extend_from_slice(&7i32.to_le_bytes());
        bmp.extend_from_slice(&(-5i32).to_le_bytes());
        assert_eq!(dimensions(&bmp, SourceFormat::Bmp), Some((7, 5)));
    }

    #[test]
    fn jpeg_markers() {
        // SOI, APP0 (len 4), SOF0 with height 300, width 400.
        let j = [
            0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0x00, 0x00, 0xFF, 0xC0, 0x00, 0x11, 0x08, 0x01, 0x2C, 0x01,
            0x90,
        ];
        assert_eq!(dimensions(&j, SourceFormat::Jpeg), Some((400, 300)));
        assert_eq!(dimensions(&j[..12], SourceFormat::Jpeg), None);
        assert_eq!(dimensions(&[0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x00], SourceFormat::Jpeg), None);
    }
}
