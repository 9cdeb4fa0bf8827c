//! Time Pixgate's WebP encode alone on raw RGB pixels, single thread, for
//! `benches/peers/encode_alone.py`: prints the median of N runs in milliseconds and the size.
//!
//! Usage: encode_time RAW_RGB WIDTH HEIGHT QUALITY [RUNS]

use pixgate_ops::codec::encode::{EncodeOptions, encode};
use pixgate_ops::frame::Frame;
use pixgate_ops::spec::Format;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(file), Some(w), Some(h), Some(q)) = (
        args.first(),
        args.get(1).and_then(|v| v.parse().ok()),
        args.get(2).and_then(|v| v.parse().ok()),
        args.get(3).and_then(|v| v.parse().ok()),
    ) else {
        eprintln!("usage: encode_time RAW_RGB WIDTH HEIGHT QUALITY [RUNS]");
        std::process::exit(2);
    };
    let runs: usize = args.get(4).and_then(|r| r.parse().ok()).unwrap_or(15);
    let raw = std::fs::read(file).expect("read the raw pixels");
    let frame = Frame::from_raw(w, h, 3, raw).expect("WIDTH x HEIGHT x 3 bytes");
    let opts = EncodeOptions { format: Format::Webp, quality: q, progressive: false };
    let mut len = 0;
    let median = pixgate_benches::median(runs, || len = encode(&frame, &opts).expect("encode").len());
    println!("{:.2} ms median of {runs} ({len} output bytes)", median.as_secs_f64() * 1000.0);
}
