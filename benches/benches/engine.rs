//! The image engine, single thread: the budget tasks on generated photo JPEGs.
//!
//! - 5120x2880 JPEG → `resize,w_300/quality,Q_80` (median budget 45 ms)
//! - 2560x1600 JPEG → `resize,w_1280/format,webp/quality,Q_75` (median budget 250 ms)
//!
//! Inputs are made from `samples/photos/retina.jpg` by `pixgate_benches::photo_jpeg`, plain
//! (resampled only) and with grain (closer to a camera file's entropy).
//! Run: `cargo bench -p pixgate-benches --bench engine`

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use pixgate_ops::codec::Limits;
use pixgate_ops::pipeline::run;
use pixgate_ops::spec::parse_image;

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("engine");
    group.sample_size(20).measurement_time(Duration::from_secs(10));
    let limits = Limits::default();
    for (name, (w, h), grain, chain) in [
        ("thumb_5120x2880", (5120, 2880), false, "image/resize,w_300/quality,Q_80"),
        ("thumb_5120x2880_grain", (5120, 2880), true, "image/resize,w_300/quality,Q_80"),
        ("webp_2560x1600", (2560, 1600), false, "image/resize,w_1280/format,webp/quality,Q_75"),
        ("webp_2560x1600_grain", (2560, 1600), true, "image/resize,w_1280/format,webp/quality,Q_75"),
        (
            "ops_1024x768",
            (1024, 768),
            false,
            "image/resize,w_800/rotate,90/blur,r_3,s_2/sharpen,100/quality,q_90",
        ),
    ] {
        let path = pixgate_benches::photo_jpeg("retina.jpg", w, h, grain);
        let bytes = std::fs::read(path).expect("bench input");
        let chain = parse_image(chain).expect("chain");
        group.bench_function(name, |b| {
            b.iter(|| {
                let deadline = Instant::now() + Duration::from_secs(60);
                black_box(run(&chain, black_box(&bytes), &limits, deadline).expect("render"))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
