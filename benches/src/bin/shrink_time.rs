//! Shrink-on-load at 1/8 on one JPEG: Pixgate's DC decoder (`codec::jpeg_dc`) against
//! libjpeg-turbo's scaled decode (mozjpeg's build), one thread, median of N runs in ms.
//!
//! Usage: shrink_time FILE [RUNS]

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(file) = args.next() else {
        eprintln!("usage: shrink_time FILE [RUNS]");
        std::process::exit(2);
    };
    let runs: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(15);
    let bytes = std::fs::read(&file).expect("read input");
    let Some(ours) = pixgate_ops::codec::jpeg_dc::decode(&bytes) else {
        eprintln!("{file}: the DC decoder does not take this file");
        std::process::exit(1);
    };
    let libjpeg = || {
        let mut d = mozjpeg::Decompress::with_markers(&[]).from_mem(&bytes).expect("header");
        d.scale(1);
        let mut s = d.rgb().expect("start");
        let data: Vec<u8> = s.read_scanlines().expect("pixels");
        s.finish().expect("finish");
        data
    };
    let same = libjpeg() == ours.rgb;
    let t_ours = pixgate_benches::median(runs, || drop(pixgate_ops::codec::jpeg_dc::decode(&bytes)));
    let t_lib = pixgate_benches::median(runs, || drop(libjpeg()));
    println!(
        "{file}: jpeg_dc {:.2} ms, libjpeg-turbo 1/8 {:.2} ms ({:.2}x), {}x{}, pixels {}",
        t_ours.as_secs_f64() * 1e3,
        t_lib.as_secs_f64() * 1e3,
        t_lib.as_secs_f64() / t_ours.as_secs_f64(),
        ours.width,
        ours.height,
        if same { "identical" } else { "DIFFERENT" }
    );
}
