//! What the containers say before any pixel is decoded: HEIC and AVIF read from their ISOBMFF
//! boxes in every build, and the frames of animated WebP, APNG and AVIF sequences counted from
//! their headers, for `info` and for the source pixel limit (docs/compat.md, "Pixels"). The
//! fixtures are in `tests/exif/` (written by `tests/exif/make.py` with Pillow and pillow-heif).

use std::path::Path;

use pixgate_ops::codec::{self, CodecError, Limits, SourceFormat, isobmff};
use pixgate_ops::op::info::info;

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/exif").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// pillow-heif's HEIC: libheif codes the 16x12 picture padded to 64x64 and crops it back with
/// `clap`; Orientation 6 became `irot` 3 (270 degrees anticlockwise), so 12x16 is displayed.
#[test]
fn heic_boxes() {
    let bytes = fixture("exif.heic");
    let h = isobmff::parse(&bytes).unwrap();
    assert_eq!((h.width, h.height, h.frames), (12, 16, 1));
    assert_eq!((h.rotation, h.mirror, h.bit_depth), (3, None, Some(8)));
    let item = h.exif_item(&bytes).unwrap();
    assert_eq!(&item[4..12], b"Exif\0\0MM");
    let p = codec::probe(&bytes).unwrap();
    assert_eq!((p.format, p.width, p.height, p.frames), (SourceFormat::Heic, 12, 16, 1));
}

/// Pillow's AVIF (libavif): no `clap`, `irot` 3, an Exif item; and an AVIF sequence (`avis`)
/// whose picture track holds three samples.
#[test]
fn avif_boxes() {
    let h = isobmff::parse(&fixture("exif.avif")).unwrap();
    assert_eq!((h.width, h.height, h.frames, h.rotation, h.bit_depth), (12, 16, 1, 3, Some(8)));
    let h = isobmff::parse(&fixture("anim.avif")).unwrap();
    assert_eq!((h.width, h.height, h.frames, h.rotation), (16, 16, 3, 0));
}

/// `info` on HEIC without the `heic` feature; pixels keep answering that the feature is needed
/// (the gateway's 501).
#[test]
fn heic_info_in_every_build_pixels_with_the_feature() {
    let bytes = fixture("exif.heic");
    let p = codec::probe(&bytes).unwrap();
    codec::check_source(&p, bytes.len() as u64, &Limits::default()).unwrap();
    let json = info(&bytes, &p);
    assert!(json.contains("\"Format\": {\"value\": \"heic\"}"), "{json}");
    let decoded = codec::decode::decode_frame(&bytes, &p, None);
    if cfg!(feature = "heic") {
        let (frame, _) = decoded.unwrap();
        assert_eq!((frame.width, frame.height), (12, 16));
    } else {
        let e = decoded.map(|_| ()).unwrap_err();
        assert_eq!(e, CodecError::NeedsFeature(codec::HEIF_NEEDS_FEATURE));
        assert!(e.to_string().contains("heic feature"), "{e}");
    }
}

/// Animated WebP (VP8X animation flag, one ANMF chunk per frame), APNG (`acTL`) and an AVIF
/// sequence: the probe counts their frames, `info` prints them; still images count one.
#[test]
fn frames_come_from_the_container() {
    for (name, format, frames) in [
        ("anim.webp", SourceFormat::Webp, 3),
        ("anim.png", SourceFormat::Png, 4),
        ("anim.avif", SourceFormat::Avif, 3),
        ("exif.webp", SourceFormat::Webp, 1),
        ("exif.png", SourceFormat::Png, 1),
    ] {
        let bytes = fixture(name);
        let p = codec::probe(&bytes).unwrap();
        assert_eq!((p.format, p.width, p.height, p.frames), (format, 16, 16, frames), "{name}");
        let json = info(&bytes, &p);
        assert!(json.contains(&format!("\"FrameCount\": {{\"value\": \"{frames}\"}}")), "{name}: {json}");
    }
}

/// The source pixel limit is width x height x frames.
#[test]
fn the_pixel_limit_counts_frames() {
    for (name, frames) in [("anim.webp", 3u64), ("anim.png", 4), ("anim.avif", 3)] {
        let bytes = fixture(name);
        let p = codec::probe(&bytes).unwrap();
        let limits = |max| Limits { max_source_pixels: max, ..Limits::default() };
        let len = bytes.len() as u64;
        assert_eq!(codec::check_source(&p, len, &limits(16 * 16 * frames)), Ok(()), "{name}");
        let e = codec::check_source(&p, len, &limits(16 * 16 * frames - 1)).unwrap_err();
        assert!(matches!(e, CodecError::TooLarge { ec: "0040-00000012", .. }), "{name}: {e:?}");
    }
}

/// A WebP whose VP8X sets the animation flag but that is cut after a few chunks counts the
/// frames it holds; an APNG whose `acTL` claims a billion frames is refused by the limit.
#[test]
fn declared_frames_meet_the_limit() {
    let webp = fixture("anim.webp");
    let first_anmf = webp.windows(4).position(|w| w == b"ANMF").unwrap();
    let p = codec::probe(&webp[..first_anmf + 30]).unwrap();
    assert_eq!(p.frames, 1);
    let mut png = fixture("anim.png");
    let actl = png.windows(4).position(|w| w == b"acTL").unwrap();
    png[actl + 4..actl + 8].copy_from_slice(&1_000_000_000u32.to_be_bytes());
    let p = codec::probe(&png).unwrap();
    assert_eq!(p.frames, 1_000_000_000);
    let e = codec::check_source(&p, png.len() as u64, &Limits::default()).unwrap_err();
    assert!(matches!(e, CodecError::TooLarge { ec: "0040-00000012", .. }), "{e:?}");
}
