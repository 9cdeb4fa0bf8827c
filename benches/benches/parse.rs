//! Parsing and printing the `x-oss-process` grammar (`pixgate_ops::spec`).
//!
//! Budget: parse + canonical print of a 4-action chain < 2 µs.
//! Run: `cargo bench -p pixgate-benches --bench parse`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pixgate_ops::spec::{parse_image, parse_process};

/// Four common actions.
const CHAIN: &str = "image/resize,m_fill,w_300,h_200/crop,w_100,h_100,g_se/rotate,90/quality,q_80";

/// A text watermark and an image watermark with pre-processing (base64 decode, nested chain,
/// base64 re-encode on print).
const WATERMARK: &str = "image/resize,w_800/watermark,text_SGVsbG8g5Zu-54mH5pyN5YqhIQ,\
type_ZmFuZ3poZW5nc2h1c29uZw,size_30,color_FFFFFF,g_se,x_10,y_10/watermark,\
image_cGFuZGEucG5nP3gtb3NzLXByb2Nlc3M9aW1hZ2UvcmVzaXplLFBfMzA,g_nw,t_80/format,webp";

/// A whole request value with persistence.
const SAVEAS: &str = "image/resize,w_100/format,png|sys/saveas,o_ZGVzdC5qcGc=,b_ZXhhbXBsZWJ1Y2tldA==";

fn parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("spec");
    for (name, input) in [("chain4", CHAIN), ("watermark", WATERMARK)] {
        group.throughput(Throughput::Bytes(input.len() as u64));
        group.bench_function(format!("parse_print/{name}"), |b| {
            b.iter(|| {
                let chain = parse_image(black_box(input)).expect("a valid chain");
                black_box(chain.to_string())
            })
        });
        group.bench_function(format!("parse/{name}"), |b| {
            b.iter(|| parse_image(black_box(input)).expect("a valid chain"))
        });
        let chain = parse_image(input).expect("a valid chain");
        group.bench_function(format!("print/{name}"), |b| b.iter(|| black_box(&chain).to_string()));
    }
    group.throughput(Throughput::Bytes(SAVEAS.len() as u64));
    group.bench_function("parse_process/saveas", |b| {
        b.iter(|| parse_process(black_box(SAVEAS)).expect("a valid request"))
    });
    group.bench_function("parse/error", |b| {
        b.iter(|| parse_image(black_box("image/resize,w_100/crop,w_-1")).expect_err("an invalid chain"))
    });
    group.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
