//! Animated GIFs through the gateway: geometry and watermarks keep the animation (frames,
//! delays, loop count); rotate and other formats make it static; `info` counts the frames;
//! the frame limit is checked from the header.

use base64::Engine as _;
use pixgate_tests::{Pixgate, xml_field};
use reqwest::StatusCode;

use crate::block;

pub const TESTS: &[(&str, fn())] = &[("animation::gifs_stay_animated_through_the_gateway", gifs)];

/// `n` frames of `w`x`h`: a grey background with a bright square moving right, frame i shown
/// for 5·(i+1) hundredths, looping 3 times.
fn animated_gif(w: u16, h: u16, n: u16) -> Vec<u8> {
    let palette: Vec<u8> = (0..=255u8).flat_map(|i| [i, i, i]).collect();
    let mut out = Vec::new();
    {
        let mut e = gif::Encoder::new(&mut out, w, h, &palette).unwrap();
        e.set_repeat(gif::Repeat::Finite(3)).unwrap();
        for i in 0..n {
            let mut buf = vec![60u8; usize::from(w) * usize::from(h)];
            let x0 = usize::from(i) * 6 % usize::from(w - 8);
            for y in 8..16 {
                for x in x0..x0 + 8 {
                    buf[y * usize::from(w) + x] = 250;
                }
            }
            let f = gif::Frame {
                width: w,
                height: h,
                delay: 5 * (i + 1),
                buffer: buf.into(),
                ..Default::default()
            };
            e.write_frame(&f).unwrap();
        }
    }
    out
}

/// (width, height, frame delays, loop count) of a GIF.
fn read_gif(bytes: &[u8]) -> (u16, u16, Vec<u16>, gif::Repeat) {
    let mut opts = gif::DecodeOptions::new();
    opts.set_color_output(gif::ColorOutput::RGBA);
    let mut d = opts.read_info(bytes).expect("a GIF");
    let mut delays = Vec::new();
    while let Some(f) = d.read_next_frame().unwrap() {
        delays.push(f.delay);
    }
    (d.width(), d.height(), delays, d.repeat())
}

async fn get(p: &Pixgate, process: &str) -> (StatusCode, String, Vec<u8>) {
    let url = p.url(&format!("/photos/anim.gif?x-oss-process={process}"));
    let r = reqwest::Client::builder().no_proxy().build().unwrap().get(url).send().await.unwrap();
    let ct = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    (r.status(), ct, r.bytes().await.unwrap().to_vec())
}

fn gifs() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("photos")).unwrap();
    std::fs::write(dir.path().join("photos/anim.gif"), animated_gif(96, 48, 10)).unwrap();
    let root = dir.path().display();
    let p = Pixgate::start(&format!("[origin]\nkind = \"fs\"\nroot = \"{root}\"\n"));
    // 96 x 48 x 10 = 46,080 pixels; a limit of 40,000 refuses it from the header.
    let small = Pixgate::start(&format!(
        "[origin]\nkind = \"fs\"\nroot = \"{root}\"\n[limits]\nmax_source_pixels = 40000\n"
    ));
    block(async {
        let delays: Vec<u16> = (1..=10).map(|i| 5 * i).collect();
        let text = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("动图");
        for (process, size) in [
            ("image/resize,w_48", (48, 24)),
            ("image/crop,w_40,h_20,g_center", (40, 20)),
            ("image/circle,r_20", (40, 40)),
            ("image/rounded-corners,r_8/format,gif", (96, 48)),
            (&format!("image/resize,w_64/watermark,text_{text},size_12,g_se") as &str, (64, 32)),
        ] {
            let (status, ct, body) = get(&p, process).await;
            assert_eq!(status, StatusCode::OK, "{process}: {}", String::from_utf8_lossy(&body));
            assert_eq!(ct, "image/gif", "{process}");
            let (w, h, d, repeat) = read_gif(&body);
            assert_eq!((w, h), size, "{process}");
            assert_eq!(d, delays, "{process}");
            assert_eq!(repeat, gif::Repeat::Finite(3), "{process}");
        }
        // Static results: rotate, a percentage, another format.
        for (process, ct) in [
            ("image/rotate,90", "image/gif"),
            ("image/resize,p_50", "image/gif"),
            ("image/format,png", "image/png"),
        ] {
            let (status, got, body) = get(&p, process).await;
            assert_eq!((status, got.as_str()), (StatusCode::OK, ct), "{process}");
            if ct == "image/gif" {
                assert_eq!(read_gif(&body).2.len(), 1, "{process}");
            }
        }
        let (_, _, body) = get(&p, "image/info").await;
        let info: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(info["FrameCount"]["value"], "10");
        let (status, _, body) = get(&small, "image/resize,w_48").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let body = String::from_utf8_lossy(&body);
        assert_eq!(xml_field(&body, "Code").as_deref(), Some("ImageTooLarge"), "{body}");
        assert_eq!(xml_field(&body, "EC").as_deref(), Some("0040-00000012"), "{body}");
    });
}
