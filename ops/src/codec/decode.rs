//! Decoding to a [`Frame`]: JPEG through zune-jpeg (or jpeg-decoder's DCT scaling when a large
//! downscale follows), everything else through the `image` crate; embedded ICC profiles are
//! converted to sRGB with moxcms (RGB profiles, and CMYK profiles of CMYK JPEGs; a profile that
//! does not parse is ignored); EXIF orientation (`exif`, tolerant) and JPEG quality are read on
//! the way. HEIC and AVIF pixels need the `heic` feature.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageReader};

use super::{CodecError, Probe, SourceFormat, jpeg_quality};
use crate::frame::Frame;

/// What decoding learned besides the pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DecodeInfo {
    /// EXIF orientation 1..=8 when present.
    pub orientation: Option<u16>,
    /// The JPEG source's quality, estimated from its quantisation tables.
    pub jpeg_quality: Option<u8>,
}

fn corrupt(e: impl std::fmt::Display) -> CodecError {
    CodecError::Corrupt(e.to_string())
}

/// The `image` crate's errors: its allocation limits mean "too large", the rest "corrupt".
fn image_error(e: image::ImageError) -> CodecError {
    match e {
        image::ImageError::Limits(l) => CodecError::TooLarge {
            message: format!("Decoding the source image would need more memory than allowed ({l})."),
            ec: "0040-00000012",
        },
        other => corrupt(other),
    }
}

/// The EXIF orientation (1..=8) to apply after decoding, read tolerantly (`codec::exif`).
/// `None` for HEIC and AVIF: libheif applies their own rotation and mirroring while decoding.
pub fn orientation(bytes: &[u8]) -> Option<u16> {
    if matches!(super::sniff(bytes), Some(SourceFormat::Heic | SourceFormat::Avif)) {
        return None;
    }
    super::exif::orientation(bytes)
}

/// Decode the first frame. `shrink_to`: the decoder may return a smaller image as long as it
/// is at least this size (used for JPEG DCT scaling); `None` decodes at full size.
pub fn decode_frame(
    bytes: &[u8],
    probe: &Probe,
    shrink_to: Option<(u32, u32)>,
) -> Result<(Frame, DecodeInfo), CodecError> {
    let mut info = DecodeInfo { orientation: orientation(bytes), jpeg_quality: None };
    let frame = match probe.format {
        SourceFormat::Jpeg => {
            info.jpeg_quality = jpeg_quality::estimate(bytes);
            // A scaled decode that fails or comes out too small falls back to a full decode.
            let scaled = match shrink_to {
                Some((w, h)) if w.saturating_mul(2) <= probe.width && h.saturating_mul(2) <= probe.height => {
                    match decode_jpeg_libjpeg(bytes, probe, w, h) {
                        Some(f) => Some(f),
                        None => decode_jpeg_scaled(bytes, probe, w, h).ok().flatten(),
                    }
                }
                _ => None,
            };
            match scaled {
                Some(f) => f,
                None => decode_jpeg(bytes, probe)?,
            }
        }
        #[cfg(feature = "heic")]
        SourceFormat::Heic | SourceFormat::Avif => {
            let (frame, icc) = super::heif::decode(bytes)?;
            if (frame.width, frame.height) != (probe.width, probe.height) {
                return Err(corrupt("the dimensions changed between probe and decode"));
            }
            to_srgb(frame, icc.as_deref())
        }
        #[cfg(not(feature = "heic"))]
        SourceFormat::Heic | SourceFormat::Avif => {
            return Err(CodecError::NeedsFeature(super::HEIF_NEEDS_FEATURE));
        }
        _ => decode_other(bytes, probe)?,
    };
    Ok((frame, info))
}

fn decode_jpeg(bytes: &[u8], probe: &Probe) -> Result<Frame, CodecError> {
    use zune_core::bytestream::ZCursor;
    use zune_core::colorspace::ColorSpace;
    use zune_core::options::DecoderOptions;
    let opts = DecoderOptions::default()
        .jpeg_set_out_colorspace(ColorSpace::RGB)
        .set_max_width(probe.width as usize)
        .set_max_height(probe.height as usize)
        .set_strict_mode(false);
    let mut d = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(bytes), opts);
    d.decode_headers().map_err(corrupt)?;
    // zune-jpeg 0.5 returns black for CMYK/YCCK → RGB: those go through jpeg-decoder.
    if matches!(d.input_colorspace(), Some(ColorSpace::CMYK | ColorSpace::YCCK)) {
        return decode_jpeg_cmyk(bytes, probe);
    }
    let meta = d.info().ok_or_else(|| corrupt("no image information"))?;
    if (u32::from(meta.width), u32::from(meta.height)) != (probe.width, probe.height) {
        return Err(corrupt("the dimensions changed between probe and decode"));
    }
    let icc = d.icc_profile();
    let data = d.decode().map_err(corrupt)?;
    let frame =
        Frame::from_raw(probe.width, probe.height, 3, data).ok_or_else(|| corrupt("short pixel buffer"))?;
    Ok(to_srgb(frame, icc.as_deref()))
}

/// CMYK and YCCK JPEGs, at full size, through jpeg-decoder.
fn decode_jpeg_cmyk(bytes: &[u8], probe: &Probe) -> Result<Frame, CodecError> {
    let mut d = jpeg_decoder::Decoder::new(Cursor::new(bytes));
    let data = d.decode().map_err(corrupt)?;
    let meta = d.info().ok_or_else(|| corrupt("no image information"))?;
    if (u32::from(meta.width), u32::from(meta.height)) != (probe.width, probe.height) {
        return Err(corrupt("the dimensions changed between probe and decode"));
    }
    match meta.pixel_format {
        jpeg_decoder::PixelFormat::CMYK32 => {
            let rgb = cmyk_to_srgb(&data, d.icc_profile().as_deref());
            Frame::from_raw(probe.width, probe.height, 3, rgb)
        }
        jpeg_decoder::PixelFormat::RGB24 => Frame::from_raw(probe.width, probe.height, 3, data),
        _ => None,
    }
    .ok_or_else(|| corrupt("unexpected JPEG pixel layout"))
}

/// CMYK pixels as jpeg-decoder returns them to sRGB. Adobe applications, libjpeg and Pillow
/// store CMYK inverted (255 = no ink) under an Adobe APP14 marker; jpeg-decoder undoes that,
/// so these are ink amounts (0 = none, 255 = full), the encoding ICC CMYK profiles use. With an
/// embedded CMYK profile moxcms can use, through it; otherwise [`cmyk_to_rgb`].
fn cmyk_to_srgb(cmyk: &[u8], icc: Option<&[u8]>) -> Vec<u8> {
    icc.and_then(|icc| cmyk_profile_to_srgb(cmyk, icc)).unwrap_or_else(|| cmyk_to_rgb(cmyk))
}

/// Ink amounts through a CMYK ICC profile to sRGB; `None` when the profile does not parse, is
/// not CMYK, or moxcms cannot build the transform.
fn cmyk_profile_to_srgb(cmyk: &[u8], icc: &[u8]) -> Option<Vec<u8>> {
    let src = moxcms::ColorProfile::new_from_slice(icc).ok()?;
    if src.color_space != moxcms::DataColorSpace::Cmyk {
        return None;
    }
    let dst = moxcms::ColorProfile::new_srgb();
    // moxcms reads 8-bit CMYK with the four-channel RGBA layout
    let t = src
        .create_transform_8bit(
            moxcms::Layout::Rgba,
            &dst,
            moxcms::Layout::Rgb,
            moxcms::TransformOptions::default(),
        )
        .ok()?;
    let mut out = vec![0u8; cmyk.len() / 4 * 3];
    t.transform(cmyk, &mut out).ok()?;
    Some(out)
}

/// Ink amounts to RGB without a profile, as Pillow and browsers do:
/// R = (255 − C)(255 − K)/255, G = (255 − M)(255 − K)/255, B = (255 − Y)(255 − K)/255.
fn cmyk_to_rgb(cmyk: &[u8]) -> Vec<u8> {
    let mut rgb = Vec::with_capacity(cmyk.len() / 4 * 3);
    for px in cmyk.chunks_exact(4) {
        let k = 255 - u32::from(px[3]);
        for &c in &px[..3] {
            rgb.push((((255 - u32::from(c)) * k + 127) / 255) as u8);
        }
    }
    rgb
}

/// Shrink-on-load with libjpeg-turbo (mozjpeg's build, C without SIMD): scaled by n/8 in the
/// DCT domain, to the smallest n whose output covers (`w`, `h`). Its Huffman decoding is about
/// twice as fast as the pure-Rust scaled decoder's. `None` (the caller falls back) for
/// CMYK/YCCK files and for any libjpeg error, which unwinds as a panic caught here.
fn decode_jpeg_libjpeg(bytes: &[u8], probe: &Probe, w: u32, h: u32) -> Option<Frame> {
    let n = (1u8..=8).find(|&n| {
        let side = |s: u32| (u64::from(s) * u64::from(n)).div_ceil(8);
        side(probe.width) >= u64::from(w) && side(probe.height) >= u64::from(h)
    })?;
    if n == 1 {
        // The same pixels from the DC coefficients alone (`jpeg_dc`), when the file allows.
        if let Some(e) = super::jpeg_dc::decode(bytes)
            && (e.width, e.height) == (probe.width.div_ceil(8), probe.height.div_ceil(8))
        {
            let frame = Frame::from_raw(e.width, e.height, 3, e.rgb)?;
            return Some(to_srgb(frame, jpeg_icc(bytes).as_deref()));
        }
    }
    let run = || -> std::io::Result<Option<(u32, u32, Vec<u8>)>> {
        let mut d = mozjpeg::Decompress::with_markers(&[]).from_mem(bytes)?;
        if d.size() != (probe.width as usize, probe.height as usize) {
            return Ok(None);
        }
        if matches!(d.color_space(), mozjpeg::ColorSpace::JCS_CMYK | mozjpeg::ColorSpace::JCS_YCCK) {
            return Ok(None);
        }
        d.scale(n);
        let mut started = d.rgb()?;
        let (ow, oh) = (started.width() as u32, started.height() as u32);
        let data: Vec<u8> = started.read_scanlines()?;
        started.finish()?;
        Ok(Some((ow, oh, data)))
    };
    let (ow, oh, data) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)).ok()?.ok()??;
    if ow < w || oh < h {
        return None;
    }
    let frame = Frame::from_raw(ow, oh, 3, data)?;
    Some(to_srgb(frame, jpeg_icc(bytes).as_deref()))
}

/// A JPEG's ICC profile (headers only).
fn jpeg_icc(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut d = zune_jpeg::JpegDecoder::new(zune_core::bytestream::ZCursor::new(bytes));
    d.decode_headers().ok()?;
    d.icc_profile()
}

fn decode_jpeg_scaled(bytes: &[u8], probe: &Probe, w: u32, h: u32) -> Result<Option<Frame>, CodecError> {
    let mut d = jpeg_decoder::Decoder::new(Cursor::new(bytes));
    d.read_info().map_err(corrupt)?;
    let Some(meta) = d.info() else { return Ok(None) };
    if (u32::from(meta.width), u32::from(meta.height)) != (probe.width, probe.height) {
        return Err(corrupt("the dimensions changed between probe and decode"));
    }
    if !matches!(
        meta.pixel_format,
        jpeg_decoder::PixelFormat::RGB24 | jpeg_decoder::PixelFormat::L8 | jpeg_decoder::PixelFormat::CMYK32
    ) {
        return Ok(None);
    }
    // jpeg-decoder picks the smallest scale at which *either* side reaches the request, so ask
    // for the proportional size that satisfies the more demanding side on both.
    let factor = (f64::from(w) / f64::from(probe.width)).max(f64::from(h) / f64::from(probe.height));
    let req = |side: u32| ((f64::from(side) * factor).ceil() as u32).clamp(1, u32::from(u16::MAX)) as u16;
    let (sw, sh) = d.scale(req(probe.width), req(probe.height)).map_err(corrupt)?;
    if u32::from(sw) < w || u32::from(sh) < h {
        return Ok(None);
    }
    let icc = d.icc_profile();
    let data = d.decode().map_err(corrupt)?;
    let (sw, sh) = (u32::from(sw), u32::from(sh));
    let frame = match meta.pixel_format {
        jpeg_decoder::PixelFormat::L8 => {
            let mut rgb = Vec::with_capacity(data.len() * 3);
            for &v in &data {
                rgb.extend_from_slice(&[v, v, v]);
            }
            Frame::from_raw(sw, sh, 3, rgb)
        }
        jpeg_decoder::PixelFormat::CMYK32 => Frame::from_raw(sw, sh, 3, cmyk_to_srgb(&data, icc.as_deref())),
        _ => Frame::from_raw(sw, sh, 3, data),
    };
    let frame = frame.ok_or_else(|| corrupt("short pixel buffer"))?;
    Ok(Some(to_srgb(frame, icc.as_deref())))
}

fn decode_other(bytes: &[u8], probe: &Probe) -> Result<Frame, CodecError> {
    let f = probe.format.image_format().ok_or(CodecError::Unsupported("no decoder for this format"))?;
    let mut reader = ImageReader::with_format(Cursor::new(bytes), f);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(probe.width);
    limits.max_image_height = Some(probe.height);
    // One 16-bit RGBA frame plus the decoder's own buffers.
    limits.max_alloc = Some(u64::from(probe.width) * u64::from(probe.height) * 8 + (64 << 20));
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(image_error)?;
    if decoder.dimensions() != (probe.width, probe.height) {
        return Err(corrupt("the dimensions changed between probe and decode"));
    }
    let icc = decoder.icc_profile().ok().flatten();
    let img = DynamicImage::from_decoder(decoder).map_err(image_error)?;
    let frame = if img.color().has_alpha() {
        let rgba = img.into_rgba8();
        Frame::from_raw(rgba.width(), rgba.height(), 4, rgba.into_raw())
    } else {
        let rgb = img.into_rgb8();
        Frame::from_raw(rgb.width(), rgb.height(), 3, rgb.into_raw())
    };
    let frame = frame.ok_or_else(|| corrupt("short pixel buffer"))?;
    Ok(to_srgb(frame, icc.as_deref()))
}

/// Convert from an embedded RGB ICC profile to sRGB. Profiles that do not parse, that are
/// not RGB, or that already are sRGB leave the pixels as they are.
fn to_srgb(mut frame: Frame, icc: Option<&[u8]>) -> Frame {
    let Some(icc) = icc else { return frame };
    if icc.len() < 132 {
        return frame;
    }
    let Ok(src) = moxcms::ColorProfile::new_from_slice(icc) else { return frame };
    if src.color_space != moxcms::DataColorSpace::Rgb || looks_like_srgb(icc) {
        return frame;
    }
    let layout = if frame.channels == 4 { moxcms::Layout::Rgba } else { moxcms::Layout::Rgb };
    let dst = moxcms::ColorProfile::new_srgb();
    let Ok(t) = src.create_transform_8bit(layout, &dst, layout, moxcms::TransformOptions::default()) else {
        return frame;
    };
    let mut out = vec![0u8; frame.data.len()];
    if t.transform(&frame.data, &mut out).is_ok() {
        frame.data = out;
    }
    frame
}

/// The common sRGB profiles name themselves in their description.
fn looks_like_srgb(icc: &[u8]) -> bool {
    icc.windows(4).take(4096).any(|w| w == b"sRGB")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::probe;

    fn jpeg(w: u32, h: u32) -> Vec<u8> {
        let mut data = Vec::with_capacity((w * h * 3) as usize);
        for y in 0..h {
            for x in 0..w {
                data.extend_from_slice(&[(x % 256) as u8, (y % 256) as u8, 128]);
            }
        }
        let mut out = Vec::new();
        let e = jpeg_encoder::Encoder::new(&mut out, 90);
        e.encode(&data, w as u16, h as u16, jpeg_encoder::ColorType::Rgb).unwrap();
        out
    }

    #[test]
    fn jpeg_full_and_scaled() {
        let bytes = jpeg(640, 480);
        let p = probe(&bytes).unwrap();
        let (f, info) = decode_frame(&bytes, &p, None).unwrap();
        assert_eq!((f.width, f.height, f.channels), (640, 480, 3));
        assert_eq!(info.jpeg_quality, Some(90));
        // A 100x75 target allows 1/4 scale (160x120) but not 1/8 (80x60).
        let (f, _) = decode_frame(&bytes, &p, Some((100, 75))).unwrap();
        assert_eq!((f.width, f.height), (160, 120));
    }

    /// CMYK and YCCK JPEGs (as print workflows write them, Adobe-inverted) come out as RGB.
    #[test]
    fn cmyk_and_ycck_jpegs_become_rgb() {
        // Ink amounts: cyan 0, magenta 100%, yellow 100%, black 0 is red; no ink is white.
        // jpeg-encoder takes ink amounts and stores them inverted under an Adobe APP14 marker,
        // as Photoshop and libjpeg do.
        for (ink, want) in [([0u8, 255, 255, 0], [255u8, 0, 0]), ([0, 0, 0, 0], [255, 255, 255])] {
            let data: Vec<u8> = ink.iter().copied().cycle().take(16 * 16 * 4).collect();
            for color in [jpeg_encoder::ColorType::Cmyk, jpeg_encoder::ColorType::CmykAsYcck] {
                let mut out = Vec::new();
                jpeg_encoder::Encoder::new(&mut out, 95).encode(&data, 16, 16, color).unwrap();
                let p = probe(&out).unwrap();
                for shrink in [None, Some((4, 4))] {
                    let (f, _) = decode_frame(&out, &p, shrink).unwrap();
                    assert_eq!(f.channels, 3);
                    let got = f.pixel(1, 1);
                    let close = got.iter().zip(want).all(|(g, w)| g.abs_diff(w) <= 8);
                    assert!(close, "{ink:?} {color:?} {shrink:?}: {got:?}, expected {want:?}");
                }
            }
        }
    }

    #[test]
    fn cmyk_without_a_profile() {
        // ink amounts → RGB, as Pillow converts
        let rgb = cmyk_to_rgb(&[0, 0, 0, 0, 0, 255, 255, 0, 255, 0, 0, 0, 0, 0, 0, 255, 128, 0, 0, 128]);
        assert_eq!(rgb, [255, 255, 255, 255, 0, 0, 0, 255, 255, 0, 0, 0, 63, 127, 127]);
        // bytes that are not a profile are ignored
        assert_eq!(cmyk_to_srgb(&[0, 255, 255, 0], Some(&b"not a profile"[..])), [255, 0, 0]);
    }

    #[test]
    fn png_with_alpha() {
        let img = image::RgbaImage::from_pixel(4, 3, image::Rgba([1, 2, 3, 100]));
        let mut out = Vec::new();
        img.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png).unwrap();
        let p = probe(&out).unwrap();
        let (f, _) = decode_frame(&out, &p, None).unwrap();
        assert_eq!((f.width, f.height, f.channels), (4, 3, 4));
        assert_eq!(f.pixel(0, 0), &[1, 2, 3, 100]);
    }

    #[test]
    fn truncated_jpeg_is_corrupt_not_a_panic() {
        let bytes = jpeg(64, 64);
        for cut in [20, 200, bytes.len() / 2] {
            let cut_bytes = &bytes[..cut];
            if let Ok(p) = probe(cut_bytes) {
                let _ = decode_frame(cut_bytes, &p, None);
            }
        }
    }
}
