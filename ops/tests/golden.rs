//! Golden images: whole chains on the sample photos, compared with the committed results in
//! `ops/tests/golden/` with a tolerance (decoders, resamplers and encoders may move a little).
//!
//! Bless (regenerate) after an intended change: `PIXGATE_BLESS=1 cargo test -p pixgate-ops --test golden`,
//! then look at the new files before committing them.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use pixgate_ops::codec::Limits;
use pixgate_ops::pipeline::run;
use pixgate_ops::spec::parse_image;

/// (sample, chain, golden file)
const CASES: &[(&str, &str, &str)] = &[
    ("rocket.jpg", "image/resize,w_160", "rocket-w160.jpg"),
    ("chelsea.png", "image/resize,m_fill,w_120,h_120/circle,r_60/format,png", "chelsea-fill-circle.png"),
    ("rocket.jpg", "image/crop,w_200,h_120,g_center/rotate,30/format,png", "rocket-crop-rotate30.png"),
    ("chelsea.png", "image/resize,w_150/blur,r_5,s_3/format,png", "chelsea-blur.png"),
    ("chelsea.png", "image/resize,w_150/bright,30/contrast,40/sharpen,150/format,png", "chelsea-tone.png"),
    ("rocket.jpg", "image/resize,m_pad,w_160,h_160,color_FF0000/format,png", "rocket-pad-red.png"),
    ("chelsea.png", "image/resize,w_150/rounded-corners,r_30/format,webp", "chelsea-rounded.webp"),
    ("rocket.jpg", "image/resize,w_100/indexcrop,x_40,i_1/format,png", "rocket-indexcrop.png"),
];

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/photos")
}

/// Mean absolute difference per channel, and the share of channel values off by more than 48.
fn difference(a: &image::RgbaImage, b: &image::RgbaImage) -> (f64, f64) {
    let total = a.as_raw().len().max(1) as f64;
    let (mut sum, mut far) = (0u64, 0u64);
    for (x, y) in a.as_raw().iter().zip(b.as_raw()) {
        let d = u64::from(x.abs_diff(*y));
        sum += d;
        if d > 48 {
            far += 1;
        }
    }
    (sum as f64 / total, far as f64 / total)
}

#[test]
fn chains_match_their_golden_images() {
    let bless = std::env::var_os("PIXGATE_BLESS").is_some();
    let mut failures = Vec::new();
    for (sample, chain, golden) in CASES {
        let source = std::fs::read(samples().join(sample)).expect("sample");
        let parsed = parse_image(chain).expect("chain");
        let deadline = Instant::now() + Duration::from_secs(60);
        let out =
            run(&parsed, &source, &Limits::default(), deadline).unwrap_or_else(|e| panic!("{chain}: {e}"));
        let path = dir().join(golden);
        if bless {
            std::fs::create_dir_all(dir()).expect("golden dir");
            std::fs::write(&path, &out.bytes).expect("write golden");
            continue;
        }
        let Ok(expected) = std::fs::read(&path) else {
            failures.push(format!("{golden}: missing; run with PIXGATE_BLESS=1 to create it"));
            continue;
        };
        let got = image::load_from_memory(&out.bytes).expect("output decodes").to_rgba8();
        let want = image::load_from_memory(&expected).expect("golden decodes").to_rgba8();
        if got.dimensions() != want.dimensions() {
            failures.push(format!("{golden}: {:?} instead of {:?}", got.dimensions(), want.dimensions()));
            continue;
        }
        let (mean, far) = difference(&got, &want);
        if mean > 3.0 || far > 0.01 {
            failures
                .push(format!("{golden} ({chain}): mean difference {mean:.2}, {:.2}% far off", far * 100.0));
        }
    }
    assert!(failures.is_empty(), "golden mismatches:\n{}", failures.join("\n"));
}

#[test]
fn the_comparison_can_fail() {
    let a = image::RgbaImage::from_pixel(4, 4, image::Rgba([0, 0, 0, 255]));
    let b = image::RgbaImage::from_pixel(4, 4, image::Rgba([200, 200, 200, 255]));
    let (mean, far) = difference(&a, &b);
    assert!(mean > 3.0 && far > 0.01);
    assert_eq!(difference(&a, &a), (0.0, 0.0));
}
