//! Encoding a [`Frame`]: JPEG with jpeg-encoder (baseline or progressive), lossy WebP with
//! libwebp, PNG at a fast compression level, BMP, TIFF and GIF through the `image` crate.
//! Outputs carry no metadata: EXIF (orientation already applied, GPS and the like stripped)
//! and ICC (pixels already converted to sRGB) are not written.

use std::io::Cursor;

use image::ImageEncoder;

use super::CodecError;
use crate::frame::Frame;
use crate::spec::Format;

/// How to encode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodeOptions {
    pub format: Format,
    /// 1..=100, for JPEG and WebP.
    pub quality: u8,
    /// Progressive JPEG.
    pub progressive: bool,
}

fn failed(e: impl std::fmt::Display) -> CodecError {
    CodecError::Encode(e.to_string())
}

/// Does this output format keep an alpha channel?
pub fn keeps_alpha(format: Format) -> bool {
    matches!(
        format,
        Format::Png | Format::Webp | Format::Bmp | Format::Tiff | Format::Gif | Format::Heic | Format::Avif
    )
}

pub fn encode(frame: &Frame, opts: &EncodeOptions) -> Result<Vec<u8>, CodecError> {
    let (w, h) = (frame.width, frame.height);
    let color =
        if frame.channels == 4 { image::ExtendedColorType::Rgba8 } else { image::ExtendedColorType::Rgb8 };
    let mut out = Vec::with_capacity(frame.data.len() / 8 + 1024);
    match opts.format {
        Format::Jpg => {
            let flat;
            let f = if frame.channels == 4 {
                flat = frame.clone().flatten([255, 255, 255]);
                &flat
            } else {
                frame
            };
            let (Ok(w16), Ok(h16)) = (u16::try_from(w), u16::try_from(h)) else {
                return Err(failed("JPEG sides are at most 65535"));
            };
            let mut e = jpeg_encoder::Encoder::new(&mut out, opts.quality.clamp(1, 100));
            e.set_progressive(opts.progressive);
            // Chroma at full resolution for high qualities, as libvips does.
            e.set_sampling_factor(if opts.quality >= 90 {
                jpeg_encoder::SamplingFactor::F_1_1
            } else {
                jpeg_encoder::SamplingFactor::F_2_2
            });
            e.encode(&f.data, w16, h16, jpeg_encoder::ColorType::Rgb).map_err(failed)?;
        }
        Format::Webp => {
            if w > 16_383 || h > 16_383 {
                return Err(CodecError::TooLarge {
                    message: format!("WebP output is at most 16383x16383; the image is {w}x{h}."),
                    ec: "0040-00000007",
                });
            }
            let enc = if frame.channels == 4 {
                webp::Encoder::from_rgba(&frame.data, w, h)
            } else {
                webp::Encoder::from_rgb(&frame.data, w, h)
            };
            let mem = enc
                .encode_simple(false, f32::from(opts.quality.clamp(1, 100)))
                .map_err(|e| failed(format!("{e:?}")))?;
            out.extend_from_slice(&mem);
        }
        Format::Png => {
            image::codecs::png::PngEncoder::new_with_quality(
                Cursor::new(&mut out),
                image::codecs::png::CompressionType::Fast,
                image::codecs::png::FilterType::Adaptive,
            )
            .write_image(&frame.data, w, h, color)
            .map_err(failed)?;
        }
        Format::Bmp => {
            image::codecs::bmp::BmpEncoder::new(&mut Cursor::new(&mut out))
                .write_image(&frame.data, w, h, color)
                .map_err(failed)?;
        }
        Format::Tiff => {
            image::codecs::tiff::TiffEncoder::new(Cursor::new(&mut out))
                .write_image(&frame.data, w, h, color)
                .map_err(failed)?;
        }
        Format::Gif => {
            let rgba = frame.clone().into_rgba();
            let mut e = image::codecs::gif::GifEncoder::new_with_speed(&mut out, 10);
            e.encode(&rgba.data, w, h, image::ExtendedColorType::Rgba8).map_err(failed)?;
        }
        #[cfg(feature = "heic")]
        Format::Heic => out = super::heif::encode_heic(frame, opts.quality)?,
        #[cfg(not(feature = "heic"))]
        Format::Heic => {
            return Err(CodecError::NeedsFeature("HEIC output needs Pixgate built with the heic feature"));
        }
        #[cfg(feature = "avif")]
        Format::Avif => out = super::heif::encode_avif(frame, opts.quality)?,
        #[cfg(not(feature = "avif"))]
        Format::Avif => {
            return Err(CodecError::NeedsFeature("AVIF output needs Pixgate built with the avif feature"));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{SourceFormat, probe};

    fn frame(channels: u8) -> Frame {
        let fill: &[u8] = if channels == 4 { &[200, 100, 50, 128] } else { &[200, 100, 50] };
        Frame::filled(33, 17, fill)
    }

    #[test]
    fn every_output_format_round_trips_through_the_prober() {
        for (format, sniffed) in [
            (Format::Jpg, SourceFormat::Jpeg),
            (Format::Png, SourceFormat::Png),
            (Format::Webp, SourceFormat::Webp),
            (Format::Bmp, SourceFormat::Bmp),
            (Format::Tiff, SourceFormat::Tiff),
            (Format::Gif, SourceFormat::Gif),
        ] {
            for channels in [3, 4] {
                let bytes =
                    encode(&frame(channels), &EncodeOptions { format, quality: 80, progressive: false })
                        .unwrap_or_else(|e| panic!("{format:?}: {e}"));
                let p = probe(&bytes).unwrap_or_else(|e| panic!("{format:?}: {e}"));
                assert_eq!((p.format, p.width, p.height), (sniffed, 33, 17), "{format:?}/{channels}");
            }
        }
    }

    #[test]
    fn progressive_jpeg_has_an_sof2_marker() {
        let base = encode(&frame(3), &EncodeOptions { format: Format::Jpg, quality: 80, progressive: false })
            .unwrap();
        let prog = encode(&frame(3), &EncodeOptions { format: Format::Jpg, quality: 80, progressive: true })
            .unwrap();
        let has = |b: &[u8], m: u8| b.windows(2).any(|w| w == [0xFF, m]);
        assert!(has(&base, 0xC0) && !has(&base, 0xC2));
        assert!(has(&prog, 0xC2));
    }

    #[test]
    #[cfg(not(feature = "heic"))]
    fn heic_is_not_built_in() {
        let e = encode(&frame(3), &EncodeOptions { format: Format::Heic, quality: 80, progressive: false });
        assert!(matches!(e, Err(CodecError::NeedsFeature(_))));
    }

    #[test]
    #[cfg(feature = "avif")]
    fn avif_output_is_an_avif_file() {
        for channels in [3, 4] {
            let bytes = encode(
                &frame(channels),
                &EncodeOptions { format: Format::Avif, quality: 70, progressive: false },
            )
            .unwrap();
            assert_eq!(crate::codec::sniff(&bytes), Some(SourceFormat::Avif));
        }
    }
}
