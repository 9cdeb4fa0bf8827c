//! Shrink-on-load at 1/8, single thread: Pixgate's DC decoder (`codec::jpeg_dc`) against
//! libjpeg-turbo's scaled decode (mozjpeg's build, the general path it replaces), on
//! camera-like 5120x2880 JPEGs (grain, q90), baseline and progressive. Both give the same
//! pixels; the bench checks that before it measures.
//! Run: `cargo bench -p pixgate-benches --bench shrink`

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use pixgate_ops::codec::jpeg_dc;

fn libjpeg_eighth(bytes: &[u8]) -> Vec<u8> {
    let mut d = mozjpeg::Decompress::with_markers(&[]).from_mem(bytes).expect("header");
    d.scale(1);
    let mut s = d.rgb().expect("start");
    let data: Vec<u8> = s.read_scanlines().expect("pixels");
    s.finish().expect("finish");
    data
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("shrink_eighth");
    group.sample_size(20).measurement_time(Duration::from_secs(8));
    for (name, progressive) in [("baseline_5120x2880", false), ("progressive_5120x2880", true)] {
        let bytes = std::fs::read(pixgate_benches::camera_jpeg(5120, 2880, progressive)).expect("input");
        let ours = jpeg_dc::decode(&bytes).expect("the DC decoder takes the file");
        assert!(ours.rgb == libjpeg_eighth(&bytes), "{name}: pixels differ");
        group.bench_function(format!("{name}/jpeg_dc"), |b| b.iter(|| jpeg_dc::decode(black_box(&bytes))));
        group.bench_function(format!("{name}/libjpeg_turbo"), |b| {
            b.iter(|| libjpeg_eighth(black_box(&bytes)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
