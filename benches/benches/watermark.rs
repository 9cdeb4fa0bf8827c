//! Watermarks and animation, single thread.
//!
//! - 1024x768 JPEG, `quality,q_90` with and without a text watermark (budget: ≤ 3 ms added)
//!   and an image watermark with `P_` (budget: ≤ 4 ms added; the watermark object's bytes are
//!   in memory, as when the gateway's source cache has them).
//!
//! - 50-frame 480x270 animated GIF → `resize,w_240` (budget: ≤ 200 ms), kept animated.
//! - 3-frame 500x300 animated GIF → `rotate,90` (budget: < 20 ms), kept animated, every frame
//!   turned.
//! - 3-frame 500x300 animated GIF → `format,webp` (budget: < 50 ms): an animated WebP, every
//!   frame, delay and the loop count kept (libwebp's animation encoder, default quality 85).
//!
//! Text uses the compiled-in fonts; when `/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc` is
//! installed, a second text case uses it.
//! Run: `cargo bench -p pixgate-benches --bench watermark`

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use pixgate_ops::codec::Limits;
use pixgate_ops::codec::encode::{EncodeOptions, encode};
use pixgate_ops::frame::Frame;
use pixgate_ops::pipeline::{Assets, run_with};
use pixgate_ops::spec::{Action, Format, encode_base64_url, parse_image};
use pixgate_ops::text::{self, Face, FontSource};

/// A 256x128 logo: a colour gradient, half-transparent at the edges.
fn logo_png() -> Vec<u8> {
    let (w, h) = (256u32, 128u32);
    let mut data = Vec::with_capacity((w * h * 4) as usize);
    for y in 0..h {
        for x in 0..w {
            let edge = x < 16 || y < 16 || x >= w - 16 || y >= h - 16;
            data.extend_from_slice(&[x as u8, (y * 2) as u8, 200, if edge { 128 } else { 255 }]);
        }
    }
    let frame = Frame::from_raw(w, h, 4, data).expect("frame");
    encode(&frame, &EncodeOptions { format: Format::Png, quality: 90, progressive: false }).expect("png")
}

struct Zenhei(Face);

impl FontSource for Zenhei {
    fn face(&self, name: &str) -> Option<Face> {
        (name == "wqy-zenhei").then(|| self.0.clone())
    }
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("watermark");
    group.sample_size(30).measurement_time(Duration::from_secs(8));
    let limits = Limits::default();
    let path = pixgate_benches::photo_jpeg("retina.jpg", 1024, 768, false);
    let photo = std::fs::read(path).expect("bench input");
    let logo = logo_png();
    let text = encode_base64_url("Pixgate 图片水印 2026".as_bytes());
    let mark = encode_base64_url(b"logo.png?x-oss-process=image/resize,P_20");
    let zenhei = std::fs::read("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
        .ok()
        .and_then(|b| text::load_face(b, 0))
        .map(Zenhei);
    let cases = [
        ("base_1024x768", "image/quality,q_90".to_string(), false),
        ("text_1024x768", format!("image/watermark,text_{text},size_40,shadow_50/quality,q_90"), false),
        ("image_P20_1024x768", format!("image/watermark,image_{mark},t_80/quality,q_90"), false),
        ("text_zenhei_1024x768", format!("image/watermark,text_{text},size_40,shadow_50/quality,q_90"), true),
    ];
    for (name, chain, wants_zenhei) in cases {
        let fonts: &dyn FontSource = match (&zenhei, wants_zenhei) {
            (Some(z), true) => z,
            (None, true) => continue,
            _ => &text::BundledOnly,
        };
        let chain = parse_image(&chain).expect("chain");
        group.bench_function(name, |b| {
            b.iter(|| {
                let assets = Assets { images: vec![("logo.png", &logo[..])], fonts };
                let deadline = Instant::now() + Duration::from_secs(60);
                black_box(run_with(&chain, black_box(&photo), &limits, deadline, &assets).expect("render"))
            })
        });
    }
    // The watermark step alone, on the decoded 1024x768 frame: the cost it adds to a chain.
    let frame = pixgate_ops::pipeline::decode_full(&photo).expect("decode");
    let cx = pixgate_ops::frame::OpContext::default();
    for (name, params) in [
        ("op_text_1024x768", format!("text_{text},size_40,shadow_50")),
        ("op_image_P20_1024x768", format!("image_{mark},t_80")),
    ] {
        let Some(Action::Watermark(wm)) =
            parse_image(&format!("image/watermark,{params}")).expect("chain").actions.pop()
        else {
            unreachable!("a watermark chain")
        };
        group.bench_function(name, |b| {
            b.iter(|| {
                let assets = Assets { images: vec![("logo.png", &logo[..])], fonts: &text::BundledOnly };
                black_box(
                    pixgate_ops::op::watermark::apply(frame.clone(), &wm, &assets, &limits, &cx)
                        .expect("watermark"),
                )
            })
        });
    }
    group.bench_function("op_clone_1024x768", |b| b.iter(|| black_box(frame.clone())));

    let gif = std::fs::read(pixgate_benches::panning_gif(480, 270, 50)).expect("gif input");
    let chain = parse_image("image/resize,w_240").expect("chain");
    group.bench_function("gif_50x480x270_w240", |b| {
        b.iter(|| {
            let deadline = Instant::now() + Duration::from_secs(60);
            black_box(run_with(&chain, black_box(&gif), &limits, deadline, &Assets::none()).expect("render"))
        })
    });
    let gif = std::fs::read(pixgate_benches::panning_gif(500, 300, 3)).expect("gif input");
    let chain = parse_image("image/rotate,90").expect("chain");
    group.bench_function("gif_3x500x300_rotate90", |b| {
        b.iter(|| {
            let deadline = Instant::now() + Duration::from_secs(60);
            black_box(run_with(&chain, black_box(&gif), &limits, deadline, &Assets::none()).expect("render"))
        })
    });
    let chain = parse_image("image/format,webp").expect("chain");
    group.bench_function("gif_3x500x300_to_webp", |b| {
        b.iter(|| {
            let deadline = Instant::now() + Duration::from_secs(60);
            black_box(run_with(&chain, black_box(&gif), &limits, deadline, &Assets::none()).expect("render"))
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
