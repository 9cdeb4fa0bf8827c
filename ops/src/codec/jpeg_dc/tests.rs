//! Pixels against libjpeg-turbo's own 1/8 decode, on files from several encoders.

use super::decode;

/// A 203x157 crop of a real photo with deterministic grain, so that every block has AC
/// content, as in a camera file.
fn photo() -> (u32, u32, Vec<u8>) {
    let src =
        image::load_from_memory(include_bytes!("../../../../samples/photos/retina.jpg")).unwrap().to_rgb8();
    let (w, h) = (203u32, 157u32);
    let mut seed = 0x2545_F491u32;
    let mut out = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            for &v in &src.get_pixel(x * 3 + 100, y * 3 + 200).0 {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let grain = (seed >> 24) as i32 % 25 - 12;
                out.push((i32::from(v) + grain).clamp(0, 255) as u8);
            }
        }
    }
    (w, h, out)
}

fn grey(rgb: &[u8]) -> Vec<u8> {
    rgb.chunks_exact(3)
        .map(|p| ((u32::from(p[0]) * 3 + u32::from(p[1]) * 6 + u32::from(p[2])) / 10) as u8)
        .collect()
}

/// libjpeg-turbo's scaled decode (`scale_num = 1`, `scale_denom = 8`), as RGB.
pub(crate) fn libjpeg_eighth(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let mut d = mozjpeg::Decompress::with_markers(&[]).from_mem(bytes).unwrap();
    d.scale(1);
    let mut s = d.rgb().unwrap();
    let (w, h) = (s.width() as u32, s.height() as u32);
    let data: Vec<u8> = s.read_scanlines().unwrap();
    s.finish().unwrap();
    (w, h, data)
}

pub(crate) fn psnr(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len());
    let se: f64 = a.iter().zip(b).map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2)).sum();
    if se == 0.0 { f64::INFINITY } else { 10.0 * (255.0f64.powi(2) * a.len() as f64 / se).log10() }
}

fn same_as_libjpeg(name: &str, bytes: &[u8]) {
    let ours = decode(bytes).unwrap_or_else(|| panic!("{name}: not decoded"));
    let (w, h, theirs) = libjpeg_eighth(bytes);
    assert_eq!((ours.width, ours.height), (w, h), "{name}");
    let diff = ours.rgb.iter().zip(&theirs).filter(|(a, b)| a != b).count();
    assert!(diff == 0, "{name}: {diff} bytes differ, PSNR {:.1} dB", psnr(&ours.rgb, &theirs));
}

fn jpeg_encoder(
    sampling: jpeg_encoder::SamplingFactor,
    progressive: bool,
    restart: u16,
    grey_only: bool,
) -> Vec<u8> {
    let (w, h, rgb) = photo();
    let mut out = Vec::new();
    let mut e = jpeg_encoder::Encoder::new(&mut out, 90);
    e.set_sampling_factor(sampling);
    e.set_progressive(progressive);
    if restart > 0 {
        e.set_restart_interval(restart);
    }
    if grey_only {
        e.encode(&grey(&rgb), w as u16, h as u16, jpeg_encoder::ColorType::Luma).unwrap();
    } else {
        e.encode(&rgb, w as u16, h as u16, jpeg_encoder::ColorType::Rgb).unwrap();
    }
    out
}

#[test]
fn sequential_files_match_libjpeg_turbo_exactly() {
    use jpeg_encoder::SamplingFactor::*;
    for (name, sampling) in
        [("4:2:0", F_2_2), ("4:2:2", F_2_1), ("4:4:4", F_1_1), ("4:4:0", F_1_2), ("4:1:1", F_4_1)]
    {
        for restart in [0, 3] {
            same_as_libjpeg(
                &format!("{name} restart {restart}"),
                &jpeg_encoder(sampling, false, restart, false),
            );
        }
    }
    same_as_libjpeg("grey", &jpeg_encoder(F_1_1, false, 0, true));
    let (w, h, rgb) = photo();
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
        .encode(&rgb, w, h, image::ExtendedColorType::Rgb8)
        .unwrap();
    same_as_libjpeg("image crate", &out);
}

/// Sizes that end inside a block or an MCU.
#[test]
fn small_and_odd_sizes_match() {
    use jpeg_encoder::SamplingFactor::*;
    let (pw, _, rgb) = photo();
    for (w, h) in [(1u32, 1u32), (9, 7), (16, 16), (17, 9), (33, 31), (64, 23), (100, 77)] {
        let crop: Vec<u8> =
            (0..h).flat_map(|y| rgb[(y * pw * 3) as usize..][..(w * 3) as usize].to_vec()).collect();
        for (name, sampling) in [("4:2:0", F_2_2), ("4:2:2", F_2_1), ("4:4:4", F_1_1), ("4:1:1", F_4_1)] {
            for progressive in [false, true] {
                let mut out = Vec::new();
                let mut e = jpeg_encoder::Encoder::new(&mut out, 90);
                e.set_sampling_factor(sampling);
                e.set_progressive(progressive);
                e.encode(&crop, w as u16, h as u16, jpeg_encoder::ColorType::Rgb).unwrap();
                same_as_libjpeg(&format!("{name} {w}x{h} progressive {progressive}"), &out);
            }
        }
    }
}

#[test]
fn progressive_files_match_libjpeg_turbo_exactly() {
    use jpeg_encoder::SamplingFactor::*;
    for (name, sampling) in [("4:2:0", F_2_2), ("4:2:2", F_2_1), ("4:4:4", F_1_1), ("4:4:0", F_1_2)] {
        same_as_libjpeg(&format!("progressive {name}"), &jpeg_encoder(sampling, true, 0, false));
        same_as_libjpeg(&format!("progressive {name}, restarts"), &jpeg_encoder(sampling, true, 2, false));
    }
    same_as_libjpeg("progressive grey", &jpeg_encoder(F_1_1, true, 0, true));
}

/// mozjpeg's default: progressive, with its scan script optimised per image (DC scans per
/// component, successive approximation chosen by trial).
#[test]
fn mozjpeg_optimised_scans_match() {
    let (w, h, rgb) = photo();
    for (name, chroma) in [("4:2:0", (2, 2)), ("4:4:4", (1, 1))] {
        let mut c = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_RGB);
        c.set_size(w as usize, h as usize);
        c.set_quality(88.0);
        c.set_chroma_sampling_pixel_sizes(chroma, chroma);
        let mut started = c.start_compress(Vec::new()).unwrap();
        started.write_scanlines(&rgb).unwrap();
        same_as_libjpeg(&format!("mozjpeg {name}"), &started.finish().unwrap());
    }
}

/// Files as other tools write them (ops/tests/fixtures/jpeg/make.py says how each was made):
/// Pillow (libjpeg-turbo) at three subsamplings, optimised tables, restart markers and
/// progressive; jpegtran with a hand-written scan script and with restarts in a progressive
/// file; and a file with metadata segments and fill bytes as metadata editors leave them.
#[test]
fn files_from_other_tools_match() {
    macro_rules! fixture {
        ($name:literal) => {
            ($name, &include_bytes!(concat!("../../../tests/fixtures/jpeg/", $name))[..])
        };
    }
    for (name, bytes) in [
        fixture!("pillow-420.jpg"),
        fixture!("pillow-422.jpg"),
        fixture!("pillow-444-optimized.jpg"),
        fixture!("pillow-restarts-420.jpg"),
        fixture!("pillow-progressive-420.jpg"),
        fixture!("pillow-grey-progressive.jpg"),
        fixture!("jpegtran-unusual-scans.jpg"),
        fixture!("jpegtran-progressive-restarts.jpg"),
        fixture!("exiftool-style.jpg"),
    ] {
        same_as_libjpeg(name, bytes);
    }
}

/// The segments of a JPEG after SOI and before EOI, each with its marker.
fn segments(bytes: &[u8]) -> Vec<(u8, &[u8])> {
    let mut out = Vec::new();
    let mut pos = 2;
    while pos + 4 <= bytes.len() && bytes[pos + 1] != 0xD9 {
        let marker = bytes[pos + 1];
        let len = usize::from(bytes[pos + 2]) << 8 | usize::from(bytes[pos + 3]);
        let mut end = pos + 2 + len;
        if marker == 0xDA {
            end = super::huffman::Bits::next_marker(bytes, end).unwrap();
        }
        out.push((marker, &bytes[pos..end]));
        pos = end;
    }
    out
}

/// What the refinement scans are worth: without the DC refinement scans a progressive file
/// loses the low bits of its DC coefficients. The decoder reads them (they are a few bytes per
/// block); this measures what stopping before them would cost.
#[test]
fn stopping_before_the_dc_refinement_costs_little() {
    let full = include_bytes!("../../../tests/fixtures/jpeg/jpegtran-unusual-scans.jpg");
    let mut cut = vec![0xFF, 0xD8];
    let mut dropped = 0;
    for (marker, seg) in segments(full) {
        if marker == 0xDA {
            // SOS: Ns, selectors, then Ss, Se, Ah/Al.
            let ns = usize::from(seg[4]);
            let (ss, ah) = (seg[5 + 2 * ns], seg[7 + 2 * ns] >> 4);
            if ss == 0 && ah > 0 {
                dropped += 1;
                continue;
            }
        }
        cut.extend_from_slice(seg);
    }
    cut.extend_from_slice(&[0xFF, 0xD9]);
    assert_eq!(dropped, 3);
    let (a, b) = (decode(full).unwrap(), decode(&cut).unwrap());
    let db = psnr(&a.rgb, &b.rgb);
    assert!(a.rgb != b.rgb && db >= 45.0, "{db:.1} dB");
}

#[test]
fn unusual_files_are_left_to_the_general_decoder() {
    let bytes = jpeg_encoder(jpeg_encoder::SamplingFactor::F_2_2, false, 0, false);
    // Truncated in the middle of the scan.
    assert!(decode(&bytes[..bytes.len() / 2]).is_none());
    // Arithmetic coding (SOF9).
    let mut arith = bytes.clone();
    let sof = arith.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
    arith[sof + 1] = 0xC9;
    assert!(decode(&arith).is_none());
    // 12-bit samples.
    let mut twelve = bytes.clone();
    twelve[sof + 4] = 12;
    assert!(decode(&twelve).is_none());
    // CMYK.
    let mut cmyk = Vec::new();
    jpeg_encoder::Encoder::new(&mut cmyk, 90)
        .encode(&[0u8; 16 * 16 * 4], 16, 16, jpeg_encoder::ColorType::Cmyk)
        .unwrap();
    assert!(decode(&cmyk).is_none());
    assert!(decode(b"\xFF\xD8\xFF\xD9").is_none());
    assert!(decode(b"").is_none());
}

/// Damaged files never panic: every byte of a progressive and a baseline file with restarts
/// is replaced in turn (by values that make markers, stuffing and big lengths), and the file
/// is cut at every length.
#[test]
fn damaged_files_do_not_panic() {
    for bytes in [
        &include_bytes!("../../../tests/fixtures/jpeg/jpegtran-unusual-scans.jpg")[..],
        &include_bytes!("../../../tests/fixtures/jpeg/pillow-restarts-420.jpg")[..],
    ] {
        let header_end = bytes.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap() + 64;
        for at in 0..bytes.len() {
            // Every header byte; a sample of the entropy-coded data.
            if at > header_end && at % 97 != 0 {
                continue;
            }
            for v in [0x00, 0xFF, 0xD0, 0xC4, 0x7F] {
                let mut damaged = bytes.to_vec();
                damaged[at] = v;
                let _ = decode(&damaged);
            }
        }
        for len in (0..bytes.len()).step_by(37) {
            assert!(decode(&bytes[..len]).is_none(), "cut at {len}");
        }
    }
}
