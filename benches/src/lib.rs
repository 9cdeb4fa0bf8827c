//! Pixgate's benchmarks: criterion benches in `benches/`, load scripts in `load/`, the
//! side-by-side comparison with libvips in `compare/`, Pixgate against ipx, thumbor and libvips
//! under load in `peers/`; results and the commands that produced
//! them are in `RESULTS.md`. This library holds what they share: the generated inputs, and
//! the median timing of the single-thread timers in `src/bin/`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use pixgate_ops::frame::Frame;

/// The median time of `runs` calls of `f` (at least one).
pub fn median(runs: usize, mut f: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..runs.max(1))
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

/// Where generated inputs are kept (not committed).
pub fn inputs_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench-inputs");
    let _ = std::fs::create_dir_all(&dir);
    dir
}

/// A photo JPEG of `w` x `h`, cached under `target/bench-inputs/`: `samples/photos/<name>`
/// cropped to the aspect ratio, resampled (Lanczos3) and encoded at quality 90. With `grain`,
/// deterministic uniform noise of +-8 per channel is added before encoding: an upscaled photo
/// is far smoother, and so far cheaper to decode, than a camera's. Made by
/// `bench_input <name> <w> <h> [grain]`.
pub fn photo_jpeg(name: &str, w: u32, h: u32, grain: bool) -> PathBuf {
    photo_jpeg_as(name, w, h, grain, false)
}

/// [`photo_jpeg`] with grain, baseline or progressive (jpeg-encoder's scan script): the
/// camera-like inputs of the shrink-on-load bench.
pub fn camera_jpeg(w: u32, h: u32, progressive: bool) -> PathBuf {
    photo_jpeg_as("retina.jpg", w, h, true, progressive)
}

fn photo_jpeg_as(name: &str, w: u32, h: u32, grain: bool, progressive: bool) -> PathBuf {
    let stem = name.trim_end_matches(".jpg").trim_end_matches(".png");
    let grain_suffix = if grain { "-grain" } else { "" };
    let scan_suffix = if progressive { "-progressive" } else { "" };
    let out = inputs_dir().join(format!("{stem}-{w}x{h}{grain_suffix}{scan_suffix}.jpg"));
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
    let mut big = pixgate_ops::op::resample::resample(&cropped, w, h);
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for v in big.data.iter_mut().filter(|_| grain) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let noise = (x >> 60) as i16 - 8;
        *v = (i16::from(*v) + noise).clamp(0, 255) as u8;
    }
    let mut jpeg = Vec::new();
    let mut encoder = jpeg_encoder::Encoder::new(&mut jpeg, 90);
    encoder.set_progressive(progressive);
    encoder.encode(&big.data, w as u16, h as u16, jpeg_encoder::ColorType::Rgb).expect("encode");
    std::fs::write(&out, jpeg).expect("write bench input");
    out
}

/// An animated GIF of `frames` frames of `w` x `h`, cached under `target/bench-inputs/`: a
/// window panning across `samples/photos/retina.jpg` (resampled to twice the size), one global
/// palette learnt from the first frame, 4/100 s per frame, looping.
pub fn panning_gif(w: u32, h: u32, frames: u32) -> PathBuf {
    let out = inputs_dir().join(format!("pan-{w}x{h}x{frames}.gif"));
    if out.exists() {
        return out;
    }
    let wide = photo_jpeg("retina.jpg", w * 2, h * 2, false);
    let bytes = std::fs::read(wide).expect("bench input");
    let big = pixgate_ops::pipeline::decode_full(&bytes).expect("decode").into_rgba();
    let window = |i: u32| {
        let (x0, y0) = (i * w / frames.max(1), i * h / frames.max(1));
        let mut data = Vec::with_capacity((w * h * 4) as usize);
        for y in y0..y0 + h {
            let start = ((y * big.width + x0) * 4) as usize;
            data.extend_from_slice(&big.data[start..start + (w * 4) as usize]);
        }
        Frame::from_raw(w, h, 4, data).expect("window")
    };
    use pixgate_ops::codec::animation::{GifWriter, Repeat};
    let first = window(0);
    let mut writer = GifWriter::new(&first, None, Repeat::Infinite).expect("writer");
    for i in 0..frames {
        writer.push(&window(i), 4).expect("frame");
    }
    std::fs::write(&out, writer.finish().expect("gif")).expect("write bench input");
    out
}
