//! Colour on decode, on files as real tools write them: the fixtures in `tests/colour/` are
//! JPEGs and PNGs written by Pillow with their ICC profiles embedded as Pillow embeds them (made,
//! and the expected values printed, by `tests/colour/make.py`). Expected sRGB values come from
//! Pillow's ImageCms (lcms2) applied to what Pillow decodes from the same file; Pixgate converts
//! with moxcms, so each channel may differ by [`TOLERANCE`] (`docs/compat.md#colour`).
//!
//! Patches are 32x32 squares side by side, sampled at their centres: at full size, and for
//! JPEGs also shrunk on load to a quarter (libjpeg's DCT scaling, jpeg-decoder's for CMYK), and
//! through a whole chain.

use std::path::Path;
use std::time::{Duration, Instant};

use pixgate_ops::codec::decode::decode_frame;
use pixgate_ops::codec::{self, Limits};
use pixgate_ops::frame::Frame;
use pixgate_ops::pipeline;
use pixgate_ops::spec::parse_image;

/// The largest difference per channel between lcms2's value and Pixgate's.
const TOLERANCE: u8 = 3;

/// (value stored in the file as Pillow decodes it, expected sRGB) of each patch, in order.
type Patches = &'static [([u8; 3], [u8; 3])];

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/colour").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn decode_bytes(what: &str, bytes: &[u8], shrink_to: Option<(u32, u32)>) -> Frame {
    let probe = codec::probe(bytes).unwrap_or_else(|e| panic!("{what}: {e}"));
    decode_frame(bytes, &probe, shrink_to).unwrap_or_else(|e| panic!("{what}: {e}")).0
}

fn decode(name: &str) -> Frame {
    decode_bytes(name, &fixture(name), None)
}

/// Decoded with shrink-on-load to a quarter of each side.
fn decode_quarter(name: &str) -> Frame {
    let bytes = fixture(name);
    let probe = codec::probe(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
    let quarter = (probe.width / 4, probe.height / 4);
    let f = decode_bytes(name, &bytes, Some(quarter));
    assert_eq!((f.width, f.height), quarter, "{name}: shrunk on load");
    f
}

/// `chain` run on the fixture, its PNG output decoded again.
fn render(name: &str, chain: &str) -> Frame {
    let parsed = parse_image(chain).unwrap_or_else(|e| panic!("{chain}: {e}"));
    let deadline = Instant::now() + Duration::from_secs(30);
    let out = pipeline::run(&parsed, &fixture(name), &Limits::default(), deadline)
        .unwrap_or_else(|e| panic!("{name} {chain}: {e}"));
    assert_eq!(out.mime, "image/png", "{name} {chain}");
    decode_bytes(&format!("{name} {chain}"), &out.bytes, None)
}

/// The centre of patch `i` of `n` laid side by side, at whatever scale `f` has.
fn patch(f: &Frame, i: usize, n: usize) -> &[u8] {
    let (i, n) = (i as u32, n as u32);
    f.pixel((2 * i + 1) * f.width / (2 * n), f.height / 2)
}

fn assert_close(got: &[u8], want: &[u8], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: channels");
    let close = got.iter().zip(want).all(|(g, w)| g.abs_diff(*w) <= TOLERANCE);
    assert!(close, "{what}: got {got:?}, expected {want:?} (± {TOLERANCE})");
}

/// Every patch of `f` is its expected sRGB value.
fn check(what: &str, f: &Frame, patches: Patches) {
    assert_eq!(f.channels, 3, "{what}: RGB");
    for (i, (_, want)) in patches.iter().enumerate() {
        assert_close(&patch(f, i, patches.len())[..3], want, &format!("{what}, patch {i}"));
    }
}

/// The table can tell a conversion from none: some patch moves well beyond the tolerance.
fn assert_converts(patches: Patches) {
    let moved = |(s, w): &([u8; 3], [u8; 3])| s.iter().zip(w).map(|(a, b)| a.abs_diff(*b)).max();
    assert!(patches.iter().filter_map(moved).any(|d| d > 2 * TOLERANCE), "{patches:?}");
}

/// A JPEG with an RGB profile: full size, shrunk on load, and through `resize,p_25` (which
/// shrinks on load too) and `format,png`.
fn check_rgb_jpeg(name: &str, patches: Patches) {
    assert_converts(patches);
    check(name, &decode(name), patches);
    check(&format!("{name} shrunk on load"), &decode_quarter(name), patches);
    let f = render(name, "image/resize,p_25/format,png");
    check(&format!("{name} resize,p_25/format,png"), &f, patches);
}

/// Display P3, a v4 profile as phones embed it (`mluc` texts, `para` curves, `chad`).
const DISPLAY_P3: Patches = &[
    ([254, 0, 0], [255, 0, 0]), // P3's red is outside sRGB: clipped to sRGB's red
    ([199, 120, 81], [212, 115, 72]),
    ([170, 70, 70], [184, 61, 66]),
    ([91, 130, 171], [79, 131, 175]),
    ([255, 255, 255], [255, 255, 255]),
];

#[test]
fn display_p3_jpeg() {
    let bytes = fixture("display-p3.jpg");
    let icc = bytes.windows(14).position(|w| w == b"ICC_PROFILE\0\x01\x01").expect("ICC APP2") + 14;
    assert_eq!(bytes[icc + 8], 4, "a v4 profile");
    check_rgb_jpeg("display-p3.jpg", DISPLAY_P3);
}

/// Adobe RGB (1998), v2: ArgyllCMS's "Compatible with Adobe RGB (1998)" (icc-profiles-free).
const ADOBE_RGB: Patches = &[
    ([254, 0, 0], [255, 0, 0]), // outside sRGB: clipped to sRGB's red
    ([199, 120, 81], [223, 121, 78]),
    ([91, 130, 171], [66, 131, 174]),
    ([128, 128, 128], [129, 129, 129]), // grey stays grey (gamma 2.2 against sRGB's curve)
];

#[test]
fn adobe_rgb_jpeg() {
    check_rgb_jpeg("adobe-rgb.jpg", ADOBE_RGB);
}

/// ROMM (ProPhoto) RGB, a v4 profile as lcms and colord write them (gamma 1.8 `para` curve), in
/// a PNG's iCCP chunk: lossless, so the stored values are exact.
const ROMM_V4: Patches = &[
    ([150, 120, 100], [194, 131, 115]),
    ([110, 120, 140], [110, 141, 160]),
    ([128, 128, 128], [146, 146, 146]), // gamma 1.8: the same grey is lighter in sRGB
    ([64, 64, 64], [81, 81, 81]),
];

#[test]
fn v4_profile_in_a_png() {
    let bytes = fixture("romm-v4.png");
    assert!(bytes.windows(4).any(|w| w == b"iCCP"), "iCCP chunk");
    assert_converts(ROMM_V4);
    check("romm-v4.png", &decode("romm-v4.png"), ROMM_V4);
    check("romm-v4.png format,png", &render("romm-v4.png", "image/format,png"), ROMM_V4);
}

/// The colours of the broken-profile files, as stored: a broken profile leaves them alone.
const AS_STORED_JPEG: Patches = &[([200, 60, 59], [200, 60, 59]), ([60, 160, 90], [60, 160, 90])];
const AS_STORED_PNG: Patches = &[([200, 60, 60], [200, 60, 60]), ([60, 160, 90], [60, 160, 90])];

#[test]
fn broken_profiles_are_ignored() {
    // icc-truncated: a Display P3 profile cut after 200 bytes (its tag table promises more);
    // icc-garbage: 400 random bytes; icc-missing-chunk: a whole profile in an APP2 chunk that
    // says it is 1 of 2, the second missing
    for name in ["icc-truncated.jpg", "icc-garbage.jpg", "icc-missing-chunk.jpg"] {
        let bytes = fixture(name);
        assert!(bytes.windows(12).any(|w| w == b"ICC_PROFILE\0"), "{name}: has an ICC APP2");
        check(name, &decode(name), AS_STORED_JPEG);
        check(&format!("{name} shrunk on load"), &decode_quarter(name), AS_STORED_JPEG);
        check(&format!("{name} format,png"), &render(name, "image/format,png"), AS_STORED_JPEG);
    }
    // a PNG whose iCCP chunk inflates to garbage
    check("icc-garbage.png", &decode("icc-garbage.png"), AS_STORED_PNG);
    check("icc-garbage.png format,png", &render("icc-garbage.png", "image/format,png"), AS_STORED_PNG);
}

/// Pillow's CMYK JPEGs (libjpeg: Adobe APP14, values stored inverted, as Photoshop does), ink
/// amounts paper, red (M+Y), cyan, black (K), half C + half K. Without a profile: Pillow's
/// conversion, R = (255 − C)(255 − K)/255.
const CMYK_PLAIN: &[[u8; 3]] = &[[255, 255, 255], [255, 0, 0], [0, 255, 255], [0, 0, 0], [63, 127, 127]];

/// The same inks through the embedded profile: a v2 printer profile (CMYK to Lab, `A2B0`
/// lut16, 2-point grid) whose inks are sRGB (0, 160, 226) cyan, (226, 0, 122) magenta,
/// (255, 236, 0) yellow and (40, 38, 38) black, each filtering the paper's light.
const CMYK_PROFILE: &[[u8; 3]] = &[[255, 255, 255], [226, 0, 0], [0, 160, 226], [40, 38, 38], [87, 110, 130]];

fn check_cmyk(what: &str, f: &Frame, want: &[[u8; 3]]) {
    assert_eq!(f.channels, 3, "{what}: RGB");
    for (i, w) in want.iter().enumerate() {
        assert_close(patch(f, i, want.len()), w, &format!("{what}, patch {i}"));
    }
}

#[test]
fn cmyk_jpegs_with_and_without_a_profile() {
    for (name, want) in [("cmyk.jpg", CMYK_PLAIN), ("cmyk-profile.jpg", CMYK_PROFILE)] {
        let bytes = fixture(name);
        assert!(bytes.windows(5).any(|w| w == b"Adobe"), "{name}: Adobe APP14");
        check_cmyk(name, &decode(name), want);
        check_cmyk(&format!("{name} shrunk on load"), &decode_quarter(name), want);
        check_cmyk(&format!("{name} format,png"), &render(name, "image/format,png"), want);
    }
}

#[test]
fn sixteen_bit_pngs_become_eight_bit() {
    // RGB, 16 bits per sample, one pixel each: round(v * 255 / 65535)
    let rgb: [([u16; 3], [u8; 3]); 4] = [
        ([0, 65535, 32768], [0, 255, 128]),
        ([4660, 40000, 257], [18, 156, 1]),
        ([65280, 128, 1000], [254, 0, 4]),
        ([12345, 54321, 30000], [48, 211, 117]),
    ];
    let f = decode("rgb16.png");
    assert_eq!((f.width, f.height, f.channels), (4, 1, 3));
    for (x, (v, want)) in rgb.iter().enumerate() {
        assert_eq!(f.pixel(x as u32, 0), want, "rgb16.png pixel {x} ({v:?})");
    }
    // greyscale, 16 bits (Pillow's I;16)
    let grey: [(u16, u8); 5] = [(0, 0), (25800, 100), (32768, 128), (65535, 255), (1234, 5)];
    let f = decode("grey16.png");
    assert_eq!((f.width, f.height, f.channels), (5, 1, 3));
    for (x, (v, want)) in grey.iter().enumerate() {
        assert_eq!(f.pixel(x as u32, 0), [*want; 3], "grey16.png pixel {x} ({v})");
    }
}

#[test]
fn grey_and_alpha_keeps_its_alpha() {
    // (grey, alpha) as stored
    let la: [(u8, u8); 5] = [(0, 255), (90, 128), (200, 30), (255, 0), (128, 255)];
    let f = decode("grey-alpha.png");
    assert_eq!((f.width, f.height, f.channels), (5, 1, 4));
    for (x, &(g, a)) in la.iter().enumerate() {
        assert_eq!(f.pixel(x as u32, 0), [g, g, g, a], "grey-alpha.png pixel {x}");
    }
    // a PNG output keeps it
    let f = render("grey-alpha.png", "image/format,png");
    assert_eq!(f.channels, 4);
    for (x, &(g, a)) in la.iter().enumerate() {
        // a fully transparent pixel's colour may be anything
        let got = f.pixel(x as u32, 0);
        assert_eq!(got[3], a, "alpha of pixel {x}");
        if a > 0 {
            assert_eq!(&got[..3], [g, g, g], "grey of pixel {x}");
        }
    }
}
