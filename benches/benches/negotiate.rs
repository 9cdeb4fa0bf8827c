//! Content negotiation for `auto_format` (`pixgate::negotiate`): what it adds to a cache hit
//! is the Accept scan plus one `format` action on the chain and a longer canonical string.
//!
//! Budget: < 2 µs per request.
//! Run: `cargo bench -p pixgate-benches --bench negotiate`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use pixgate::negotiate::choose;
use pixgate_ops::spec::{Action, Chain, Format, parse_image};

const CHROME: &str = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8";
const OLD_SAFARI: &str = "image/png,image/svg+xml,image/*;q=0.8,video/*;q=0.8,*/*;q=0.5";

fn bench(c: &mut Criterion) {
    let formats = [Format::Avif, Format::Webp];
    let chain = parse_image("image/resize,w_400/quality,Q_85").expect("chain");
    let mut group = c.benchmark_group("negotiate");
    for (name, accept) in [("chrome", CHROME), ("old_safari", OLD_SAFARI)] {
        group.bench_function(format!("choose/{name}"), |b| {
            b.iter(|| black_box(choose(black_box(&formats), Some(black_box(accept)))))
        });
    }
    // The whole added work on a hit: choose, extend the chain, print the key.
    group.bench_function("choose_extend_print/chrome", |b| {
        b.iter(|| {
            let mut negotiated: Chain = chain.clone();
            if let Some(f) = choose(&formats, Some(black_box(CHROME))) {
                negotiated.actions.push(Action::Format(f));
            }
            black_box(negotiated.to_string())
        })
    });
    group.bench_function("print_only/baseline", |b| b.iter(|| black_box(black_box(&chain).to_string())));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
