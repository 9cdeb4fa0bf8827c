//! HEIC and AVIF through libheif (feature `heic`), and AVIF output through ravif (feature
//! `avif`). libheif applies the container's rotation and mirroring while decoding, so the EXIF
//! orientation of these files is not applied again.

use crate::codec::CodecError;
use crate::frame::Frame;

#[cfg(feature = "heic")]
use libheif_rs::{
    Channel, ColorSpace, CompressionFormat, EncoderQuality, HeifContext, Image, LibHeif, RgbChroma,
};

#[cfg(feature = "heic")]
fn heif_error(e: libheif_rs::HeifError) -> CodecError {
    CodecError::Corrupt(format!("libheif: {e}"))
}

/// The primary image's size (container parse only, no pixels).
#[cfg(feature = "heic")]
pub fn dimensions(bytes: &[u8]) -> Result<(u32, u32), CodecError> {
    let ctx = HeifContext::read_from_bytes(bytes).map_err(heif_error)?;
    let handle = ctx.primary_image_handle().map_err(heif_error)?;
    Ok((handle.width(), handle.height()))
}

/// Decode the primary image to 8-bit RGB or RGBA (with its ICC profile, if any).
#[cfg(feature = "heic")]
pub fn decode(bytes: &[u8]) -> Result<(Frame, Option<Vec<u8>>), CodecError> {
    let lib = LibHeif::new();
    let ctx = HeifContext::read_from_bytes(bytes).map_err(heif_error)?;
    let handle = ctx.primary_image_handle().map_err(heif_error)?;
    let alpha = handle.has_alpha_channel();
    let chroma = if alpha { RgbChroma::Rgba } else { RgbChroma::Rgb };
    let image = lib.decode(&handle, ColorSpace::Rgb(chroma), None).map_err(heif_error)?;
    let planes = image.planes();
    let plane =
        planes.interleaved.ok_or_else(|| CodecError::Corrupt("libheif: no interleaved plane".into()))?;
    let channels: u8 = if alpha { 4 } else { 3 };
    let (w, h) = (plane.width, plane.height);
    let row = w as usize * usize::from(channels);
    let mut data = Vec::with_capacity(row * h as usize);
    for y in 0..h as usize {
        let start = y * plane.stride;
        let line = plane
            .data
            .get(start..start + row)
            .ok_or_else(|| CodecError::Corrupt("libheif: short plane".into()))?;
        data.extend_from_slice(line);
    }
    let frame = Frame::from_raw(w, h, channels, data)
        .ok_or_else(|| CodecError::Corrupt("libheif: plane size".into()))?;
    let icc = handle.color_profile_raw().map(|p| p.data);
    Ok((frame, icc))
}

/// Encode HEIC (HEVC through libheif's x265 encoder) at `quality`.
#[cfg(feature = "heic")]
pub fn encode_heic(frame: &Frame, quality: u8) -> Result<Vec<u8>, CodecError> {
    let failed = |e: libheif_rs::HeifError| CodecError::Encode(format!("libheif: {e}"));
    let chroma = if frame.has_alpha() { RgbChroma::Rgba } else { RgbChroma::Rgb };
    let mut image = Image::new(frame.width, frame.height, ColorSpace::Rgb(chroma)).map_err(failed)?;
    image.create_plane(Channel::Interleaved, frame.width, frame.height, 8).map_err(failed)?;
    {
        let planes = image.planes_mut();
        let plane = planes.interleaved.ok_or_else(|| CodecError::Encode("libheif: no plane".into()))?;
        let row = frame.stride();
        for (y, line) in frame.data.chunks_exact(row).enumerate() {
            let start = y * plane.stride;
            plane.data[start..start + row].copy_from_slice(line);
        }
    }
    let lib = LibHeif::new();
    let mut ctx = HeifContext::new().map_err(failed)?;
    let mut encoder = lib.encoder_for_format(CompressionFormat::Hevc).map_err(failed)?;
    encoder.set_quality(EncoderQuality::Lossy(quality)).map_err(failed)?;
    ctx.encode_image(&image, &mut encoder, None).map_err(failed)?;
    ctx.write_to_bytes().map_err(failed)
}

/// Encode AVIF with ravif: 8-bit, speed 8, alpha kept.
#[cfg(feature = "avif")]
pub fn encode_avif(frame: &Frame, quality: u8) -> Result<Vec<u8>, CodecError> {
    use ravif::{BitDepth, Encoder, Img, RGB8, RGBA8};
    let q = f32::from(quality.clamp(1, 100));
    let encoder =
        Encoder::new().with_quality(q).with_alpha_quality(q).with_speed(8).with_bit_depth(BitDepth::Eight);
    let (w, h) = (frame.width as usize, frame.height as usize);
    let encoded = if frame.has_alpha() {
        let px: Vec<RGBA8> = frame.data.chunks_exact(4).map(|p| RGBA8::new(p[0], p[1], p[2], p[3])).collect();
        encoder.encode_rgba(Img::new(&px[..], w, h))
    } else {
        let px: Vec<RGB8> = frame.data.chunks_exact(3).map(|p| RGB8::new(p[0], p[1], p[2])).collect();
        encoder.encode_rgb(Img::new(&px[..], w, h))
    };
    encoded.map(|e| e.avif_file).map_err(|e| CodecError::Encode(format!("ravif: {e}")))
}

#[cfg(all(test, feature = "heic"))]
mod tests {
    use super::*;

    fn gradient(w: u32, h: u32, channels: u8) -> Frame {
        let mut data = Vec::new();
        for y in 0..h {
            for x in 0..w {
                data.extend_from_slice(&[(x * 255 / w) as u8, (y * 255 / h) as u8, 128]);
                if channels == 4 {
                    data.push(if x < w / 2 { 255 } else { 100 });
                }
            }
        }
        Frame::from_raw(w, h, channels, data).unwrap()
    }

    #[test]
    fn heic_round_trip() {
        for channels in [3, 4] {
            let f = gradient(64, 48, channels);
            let bytes = encode_heic(&f, 80).unwrap();
            assert_eq!(crate::codec::sniff(&bytes), Some(crate::codec::SourceFormat::Heic));
            assert_eq!(dimensions(&bytes).unwrap(), (64, 48));
            let (back, _) = decode(&bytes).unwrap();
            assert_eq!((back.width, back.height, back.channels), (64, 48, channels));
            let p = back.pixel(40, 30);
            assert!(
                p[0].abs_diff(f.pixel(40, 30)[0]) < 16 && p[1].abs_diff(f.pixel(40, 30)[1]) < 16,
                "{p:?}"
            );
        }
        assert!(decode(b"\0\0\0\x18ftypheic\0\0\0\0mif1heic").is_err());
    }
}
