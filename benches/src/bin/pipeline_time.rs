//! Time Pixgate's pipeline on one file and one chain, single thread, for the side-by-side
//! comparison in `benches/compare/`: prints the median of N runs in milliseconds.
//!
//! Usage: pipeline_time FILE CHAIN [RUNS]

use std::time::{Duration, Instant};

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(file), Some(chain)) = (args.next(), args.next()) else {
        eprintln!("usage: pipeline_time FILE CHAIN [RUNS]");
        std::process::exit(2);
    };
    let runs: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(15);
    let bytes = std::fs::read(&file).expect("read input");
    let chain = pixgate_ops::spec::parse_image(&chain).expect("a valid chain");
    let limits = pixgate_ops::codec::Limits::default();
    let mut out_len = 0;
    let median = pixgate_benches::median(runs, || {
        let r = pixgate_ops::pipeline::run(&chain, &bytes, &limits, Instant::now() + Duration::from_secs(60))
            .expect("render");
        out_len = r.bytes.len();
    });
    println!("{:.2} ms median of {runs} ({} output bytes)", median.as_secs_f64() * 1000.0, out_len);
}
