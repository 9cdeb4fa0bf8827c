//! Dimensions and frame counts straight from the file header, without a decoder: so that a
//! file that claims 60000x60000 (or thousands of frames) is refused as too large even when the
//! rest of it is missing or broken, and no decoder state is built for a file that limits will
//! refuse.

use super::SourceFormat;

fn be16(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from(u16::from_be_bytes(b.get(at..at.checked_add(2)?)?.try_into().ok()?)))
}

fn le16(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from(u16::from_le_bytes(b.get(at..at.checked_add(2)?)?.try_into().ok()?)))
}

pub(super) fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at.checked_add(4)?)?.try_into().ok()?))
}

pub(super) fn le32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at.checked_add(4)?)?.try_into().ok()?))
}

fn le24(b: &[u8], at: usize) -> Option<u32> {
    let v = b.get(at..at.checked_add(3)?)?;
    Some(u32::from(v[0]) | u32::from(v[1]) << 8 | u32::from(v[2]) << 16)
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

/// The frames an animated PNG or WebP declares; 1 for a still image, for the formats counted
/// elsewhere (GIF, HEIF) or when the header does not say. APNG: the `acTL` chunk's
/// `num_frames` (the chunk comes before the first `IDAT`). WebP: with the VP8X animation flag,
/// the `ANMF` chunks (each one frame; a file cut short counts the frames it holds).
pub fn frames(bytes: &[u8], format: SourceFormat) -> u32 {
    let n = match format {
        SourceFormat::Png => apng_frames(bytes),
        SourceFormat::Webp => webp_frames(bytes),
        _ => None,
    };
    n.unwrap_or(1).max(1)
}

/// `acTL`'s `num_frames`, looked for in the chunks before the first `IDAT`.
fn apng_frames(b: &[u8]) -> Option<u32> {
    let mut at = 8usize;
    loop {
        let len = usize::try_from(be32(b, at)?).ok()?;
        match b.get(at.checked_add(4)?..at.checked_add(8)?)? {
            b"acTL" => return be32(b, at.checked_add(8)?),
            b"IDAT" | b"IEND" => return None,
            _ => at = at.checked_add(12)?.checked_add(len)?,
        }
    }
}

/// The `ANMF` chunks of a WebP whose VP8X header sets the animation flag.
fn webp_frames(b: &[u8]) -> Option<u32> {
    const ANIMATION: u8 = 0x02;
    if b.get(12..16)? != b"VP8X" || b.get(20)? & ANIMATION == 0 {
        return None;
    }
    let mut n: u32 = 0;
    let mut at = 12usize;
    while let (Some(kind), Some(len)) = (b.get(at..at.saturating_add(4)), le32(b, at.saturating_add(4))) {
        if kind == b"ANMF" {
            n = n.saturating_add(1);
        }
        // Chunks are padded to an even size.
        let next =
            usize::try_from(len).ok().and_then(|l| at.checked_add(8)?.checked_add(l)?.checked_add(l & 1));
        let Some(next) = next else { break };
        at = next;
    }
    Some(n)
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

    /// A PNG chunk: length, type, data, a CRC that nobody checks here.
    fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut c = (data.len() as u32).to_be_bytes().to_vec();
        c.extend_from_slice(kind);
        c.extend_from_slice(data);
        c.extend_from_slice(&[0; 4]);
        c
    }

    #[test]
    fn apng_frames_from_actl() {
        let head = [b"\x89PNG\r\n\x1a\n".to_vec(), chunk(b"IHDR", &[0; 13])].concat();
        let actl = chunk(b"acTL", &[0, 0, 0, 5, 0, 0, 0, 0]);
        let idat = chunk(b"IDAT", &[1, 2, 3]);
        let apng = [head.clone(), actl.clone(), idat.clone()].concat();
        assert_eq!(frames(&apng, SourceFormat::Png), 5);
        // acTL after the image data does not count; nor does a cut one, nor a zero.
        assert_eq!(frames(&[head.clone(), idat, actl.clone()].concat(), SourceFormat::Png), 1);
        assert_eq!(frames(&[head.clone(), actl[..10].to_vec()].concat(), SourceFormat::Png), 1);
        let zero = chunk(b"acTL", &[0; 8]);
        assert_eq!(frames(&[head.clone(), zero].concat(), SourceFormat::Png), 1);
        // A chunk length that runs past the end stops the walk.
        let huge = [head, vec![0xFF, 0xFF, 0xFF, 0xF0], b"tEXt".to_vec()].concat();
        assert_eq!(frames(&huge, SourceFormat::Png), 1);
    }

    #[test]
    fn webp_frames_from_anmf() {
        // RIFF header, VP8X (animation flag), ANIM, then ANMF chunks of odd and even sizes.
        let riff = |flags: u8, chunks: &[(&[u8; 4], usize)]| {
            let mut w = b"RIFF\0\0\0\0WEBPVP8X\x0a\0\0\0".to_vec();
            w.extend_from_slice(&[flags, 0, 0, 0, 15, 0, 0, 15, 0, 0]);
            for (kind, len) in chunks {
                w.extend_from_slice(*kind);
                w.extend_from_slice(&(*len as u32).to_le_bytes());
                w.extend(std::iter::repeat_n(0u8, len + len % 2));
            }
            w
        };
        let anim = [(b"ANIM", 6), (b"ANMF", 17), (b"ANMF", 20), (b"ANMF", 0)];
        assert_eq!(frames(&riff(0x02, &anim), SourceFormat::Webp), 3);
        assert_eq!(dimensions(&riff(0x02, &anim), SourceFormat::Webp), Some((16, 16)));
        // Without the animation flag, or cut after the first frame.
        assert_eq!(frames(&riff(0x00, &anim), SourceFormat::Webp), 1);
        let cut = riff(0x02, &anim);
        assert_eq!(frames(&cut[..30 + 14 + 8 + 10], SourceFormat::Webp), 1);
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
