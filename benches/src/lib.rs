//! Pixgate's benchmarks: criterion benches in `benches/`, load scripts in `load/`, the
//! side-by-side comparison with libvips in `compare/`; results and the commands that produced
//! them are in `RESULTS.md`. This library holds what they share: the generated inputs.

use std::path::{Path, PathBuf};

use pixgate_ops::frame::Frame;

/// Where generated inputs are kept (not committed).
pub fn inputs_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench-inputs");
    let _ = std::fs::create_dir_all(&dir);
    dir
}

/// A photo JPEG of `w` x `h` made from `samples/photos/<name>` by resampling (Lanczos3) and
/// encoding at quality 90, cached under `target/bench-inputs/`. The equivalent command:
/// `pixgate-bench-input <name> <w> <h>` (this function) — documented in RESULTS.md.
pub fn photo_jpeg(name: &str, w: u32, h: u32) -> PathBuf {
    let out =
        inputs_dir().join(format!("{}-{w}x{h}.jpg", name.trim_end_matches(".jpg").trim_end_matches(".png")));
    if out.exists() {
        return out;
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/photos").join(name);
    let bytes = std::fs::read(&src).unwrap_or_else(|e| panic!("{}: {e}", src.display()));
    let frame = pixgate_ops::pipeline::decode_full(&bytes).expect("decode sample").flatten([255, 255, 255]);
    // Crop to the target aspect ratio, centred, then resample.
    let (sw, sh) = (frame.width as f64, frame.height as f64);
    let target = w as f64 / h as f64;
    let (cw, ch) = if sw / sh > target {
        ((sh * target) as u32, frame.height)
    } else {
        (frame.width, (sw / target) as u32)
    };
    let (x0, y0) = ((frame.width - cw) / 2, (frame.height - ch) / 2);
    let mut data = Vec::with_capacity((cw * ch * 3) as usize);
    for y in y0..y0 + ch {
        let row = &frame.data[(y * frame.width + x0) as usize * 3..(y * frame.width + x0 + cw) as usize * 3];
        data.extend_from_slice(row);
    }
    let cropped = Frame::from_raw(cw, ch, 3, data).expect("crop");
    let big = pixgate_ops::op::resample::resample(&cropped, w, h);
    let mut jpeg = Vec::new();
    jpeg_encoder::Encoder::new(&mut jpeg, 90)
        .encode(&big.data, w as u16, h as u16, jpeg_encoder::ColorType::Rgb)
        .expect("encode");
    std::fs::write(&out, jpeg).expect("write bench input");
    out
}
