//! Fuzz the whole pipeline on small inputs: the first bytes choose a chain (a fixed table of
//! chains that between them use every action the engine draws, text watermarks and animated
//! GIF and WebP paths included), the rest is the source image.
//! Any input must render or be refused with a typed error, never panic.
//!
//! Run: `cd ops/fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run pipeline corpus/pipeline -- -rss_limit_mb=512`

#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use pixgate_ops::codec::Limits;
use pixgate_ops::pipeline;
use pixgate_ops::spec::parse_image;

const CHAINS: &[&str] = &[
    "image/resize,w_20",
    "image/resize,m_pad,w_16,h_9,color_FF0000/format,png",
    "image/resize,m_fill,w_7,h_13/quality,q_50",
    "image/resize,p_150/format,webp",
    "image/crop,x_3,y_2,w_10,h_10,g_se",
    "image/indexcrop,x_5,i_1",
    "image/circle,r_8/format,png",
    "image/rounded-corners,r_5/format,webp",
    "image/rotate,33",
    "image/rotate,90/auto-orient,1",
    "image/auto-orient,0/blur,r_3,s_2",
    "image/bright,50/contrast,-40/sharpen,100",
    "image/quality,Q_30/interlace,1/format,jpg",
    "image/format,bmp",
    "image/format,gif",
    "image/format,tiff",
    "image/info",
    "image/average-hue",
    "image/watermark,text_5rC05Y2wIFBpeGdhdGU,size_9,shadow_50,rotate_20,fill_1,padx_2,pady_3,t_60",
    "image/resize,w_12/watermark,text_QUJD,g_center,voffset_-3,color_FF00FF/format,gif",
    "image/crop,w_10,h_8,g_center/rounded-corners,r_3/format,gif",
    "image/resize,m_pad,w_14,h_10,color_00FF00/circle,r_5",
    "image/resize,w_10/format,webp/ignore-error,1",
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, source)) = data.split_first() else { return };
    let chain = parse_image(CHAINS[pick as usize % CHAINS.len()]).expect("the table parses");
    let limits = Limits {
        max_source_side: 2048,
        max_source_pixels: 1_000_000,
        max_output_side: 2048,
        max_output_pixels: 1_000_000,
        ..Limits::default()
    };
    let _ = pipeline::run(&chain, source, &limits, Instant::now() + Duration::from_secs(10));
});
