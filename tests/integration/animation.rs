//! Animated GIFs through the gateway: geometry (rotate included) and watermarks keep the
//! animation (frames, delays, loop count); a percentage resize and other formats make it
//! static; `info` counts the frames; the frame limit is checked from the header. GIFs written
//! the way editors write them (`fixtures/editor.gif`, made by Pillow through
//! `fixtures/make_gifs.py`: frames smaller than the canvas at offsets, disposal to the
//! background, transparent indices, local colour tables) are rotated frame by frame.

use base64::Engine as _;
use pixgate_tests::{Pixgate, xml_field};
use reqwest::StatusCode;

use crate::block;

pub const TESTS: &[(&str, fn())] = &[
    ("animation::gifs_stay_animated_through_the_gateway", gifs),
    ("animation::editor_gifs_rotate_frame_by_frame", editor_gifs),
];

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

/// The frames of a GIF as a viewer shows them: composited on the canvas (offsets,
/// transparency, disposal) by the `image` crate, a decoder independent of Pixgate's.
fn composited(bytes: &[u8]) -> Vec<image::RgbaImage> {
    use image::AnimationDecoder as _;
    let d = image::codecs::gif::GifDecoder::new(std::io::Cursor::new(bytes)).expect("a GIF");
    d.into_frames().map(|f| f.expect("a frame").into_buffer()).collect()
}

/// Is the pixel (x, y) of `img` opaque and within 8 levels of `rgb` on each channel?
fn is(img: &image::RgbaImage, x: u32, y: u32, rgb: [u8; 3]) -> bool {
    let p = img.get_pixel(x, y).0;
    p[3] == 255 && p.iter().zip(rgb).all(|(&a, b)| a.abs_diff(b) <= 8)
}

async fn get(p: &Pixgate, process: &str) -> (StatusCode, String, Vec<u8>) {
    get_key(p, "anim.gif", process).await
}

async fn get_key(p: &Pixgate, key: &str, process: &str) -> (StatusCode, String, Vec<u8>) {
    let url = p.url(&format!("/photos/{key}?x-oss-process={process}"));
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
            ("image/rotate,90", (48, 96)),
            ("image/resize,w_48/rotate,270", (24, 48)),
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
        // Static results: a percentage, another format (rotate included).
        for (process, ct) in [
            ("image/resize,p_50", "image/gif"),
            ("image/format,png", "image/png"),
            ("image/rotate,90/format,png", "image/png"),
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

const RED: [u8; 3] = [220, 40, 40];
const BLUE: [u8; 3] = [40, 60, 220];
const GREEN: [u8; 3] = [40, 190, 60];
const YELLOW: [u8; 3] = [240, 210, 40];
const MAGENTA: [u8; 3] = [200, 40, 200];

/// `fixtures/editor.gif` (48x32, loop count 2; the table in `fixtures/make_gifs.py`): frame 0
/// red | blue; frame 1 adds a green square x 30..42, y 4..16 with a hole showing blue, stored as
/// a 12x12 rectangle at (30, 4) and disposed to the background; frame 2 shows that square
/// cleared (transparent) and adds a yellow square x 4..12, y 20..28; frame 3 adds a magenta
/// square x 20..24, y 10..14, stored as a 4x4 rectangle at (20, 10).
fn editor_gifs() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("photos")).unwrap();
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/editor.gif");
    std::fs::copy(&fixture, dir.path().join("photos/editor.gif")).unwrap();
    let root = dir.path().display();
    let p = Pixgate::start(&format!("[origin]\nkind = \"fs\"\nroot = \"{root}\"\n"));
    block(async {
        let delays = vec![10u16, 20, 30, 15];
        // The source as Pixgate reads it, unprocessed: the canvas, the delays, the frames.
        let source = std::fs::read(&fixture).unwrap();
        assert_eq!(read_gif(&source), (48, 32, delays.clone(), gif::Repeat::Finite(2)));
        let frames = composited(&source);
        assert!(is(&frames[1], 32, 6, GREEN) && is(&frames[1], 35, 9, BLUE));
        assert_eq!(frames[2].get_pixel(32, 6).0[3], 0, "disposed to the background");

        // 90°: a pixel at (x, y) of the source is at (31 - y, x) of the 32x48 result.
        let (status, ct, body) = get_key(&p, "editor.gif", "image/rotate,90").await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
        assert_eq!(ct, "image/gif");
        assert_eq!(read_gif(&body), (32, 48, delays.clone(), gif::Repeat::Finite(2)));
        let f = composited(&body);
        assert_eq!(f.len(), 4);
        assert!(f.iter().all(|f| f.dimensions() == (32, 48)));
        for (n, f) in f.iter().enumerate() {
            assert!(is(f, 15, 10, RED), "frame {n}: red half {:?}", f.get_pixel(15, 10));
            assert!(is(f, 3, 40, BLUE), "frame {n}: blue half {:?}", f.get_pixel(3, 40));
        }
        assert!(is(&f[0], 25, 32, BLUE), "{:?}", f[0].get_pixel(25, 32));
        assert!(is(&f[1], 25, 32, GREEN), "the offset frame: {:?}", f[1].get_pixel(25, 32));
        assert!(is(&f[1], 22, 35, BLUE), "its transparent hole: {:?}", f[1].get_pixel(22, 35));
        assert_eq!(f[2].get_pixel(25, 32).0[3], 0, "cleared by the disposal");
        assert!(is(&f[2], 9, 6, YELLOW), "{:?}", f[2].get_pixel(9, 6));
        assert!(is(&f[3], 20, 21, MAGENTA), "{:?}", f[3].get_pixel(20, 21));
        assert!(is(&f[3], 9, 6, YELLOW) && f[3].get_pixel(25, 32).0[3] == 0);

        // 30°: a 58x52 canvas for every frame; the uncovered corners and the cleared square
        // transparent.
        let (status, ct, body) = get_key(&p, "editor.gif", "image/rotate,30").await;
        assert_eq!((status, ct.as_str()), (StatusCode::OK, "image/gif"));
        assert_eq!(read_gif(&body), (58, 52, delays, gif::Repeat::Finite(2)));
        let f = composited(&body);
        assert_eq!(f.len(), 4);
        for (n, f) in f.iter().enumerate() {
            assert_eq!(f.dimensions(), (58, 52), "frame {n}");
            assert_eq!((f.get_pixel(0, 0).0[3], f.get_pixel(57, 51).0[3]), (0, 0), "frame {n}");
            // source (8, 16)
            assert!(is(f, 15, 18, RED), "frame {n}: {:?}", f.get_pixel(15, 18));
        }
        // source (36, 10): the hole in frame 1, cleared in frame 2; source (8, 24): yellow
        assert!(is(&f[1], 42, 27, BLUE), "{:?}", f[1].get_pixel(42, 27));
        assert_eq!(f[2].get_pixel(42, 27).0[3], 0);
        assert!(is(&f[2], 11, 25, YELLOW) && is(&f[0], 11, 25, RED));

        // Other formats take the first frame.
        let (status, ct, body) = get_key(&p, "editor.gif", "image/rotate,90/format,png").await;
        assert_eq!((status, ct.as_str()), (StatusCode::OK, "image/png"));
        let png = image::load_from_memory(&body).unwrap().to_rgba8();
        assert_eq!(png.dimensions(), (32, 48));
        assert!(is(&png, 15, 10, RED) && is(&png, 25, 32, BLUE));
    });
}
