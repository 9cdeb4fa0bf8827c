//! The image engine through the gateway: every action's geometry, every output format, info
//! and average-hue JSON, auto-orient, limits and a corpus of bad inputs.

use std::io::Cursor;
use std::path::Path;

use pixgate_tests::{Pixgate, xml_field};
use reqwest::StatusCode;

use crate::block;

pub const TESTS: &[(&str, fn())] = &[
    ("engine::resize_modes_give_the_documented_sizes", resize_modes),
    ("engine::geometry_actions", geometry),
    ("engine::every_output_format", output_formats),
    ("engine::interlace_makes_progressive_jpeg", interlace),
    ("engine::info_json_with_exif", info_json),
    ("engine::average_hue_json", average_hue),
    ("engine::auto_orient_applies_exif_orientation_first", auto_orient),
    ("engine::quality_is_relative_to_the_source", quality),
    ("engine::limits_and_bad_inputs", bad_inputs),
    ("engine::processed_responses_have_etags_and_304", etags),
    ("engine::the_memory_budget_refuses_what_cannot_fit", memory_budget),
];

/// A JPEG whose pixels form a gradient, `w` x `h`, at quality `q`.
pub(crate) fn gradient_jpeg(w: u32, h: u32, q: u8) -> Vec<u8> {
    let mut data = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            data.extend_from_slice(&[(x * 255 / w.max(1)) as u8, (y * 255 / h.max(1)) as u8, 90]);
        }
    }
    let mut out = Vec::new();
    jpeg_encoder::Encoder::new(&mut out, q)
        .encode(&data, w as u16, h as u16, jpeg_encoder::ColorType::Rgb)
        .expect("encode");
    out
}

fn png(w: u32, h: u32, px: [u8; 4]) -> Vec<u8> {
    let img = image::RgbaImage::from_pixel(w, h, image::Rgba(px));
    let mut out = Vec::new();
    img.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png).expect("png");
    out
}

/// An EXIF APP1 segment (little-endian TIFF) with Orientation, X/YResolution, ResolutionUnit
/// and Software, inserted right after the SOI marker.
pub(crate) fn with_exif(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    let software = b"pixgate-tests\0";
    let entries: u16 = 5;
    let ifd_start = 8u32;
    let data_start = ifd_start + 2 + u32::from(entries) * 12 + 4;
    let (xres_at, yres_at, sw_at) = (data_start, data_start + 8, data_start + 16);
    let mut t: Vec<u8> = b"II*\0".to_vec();
    t.extend_from_slice(&ifd_start.to_le_bytes());
    t.extend_from_slice(&entries.to_le_bytes());
    let mut entry = |tag: u16, typ: u16, count: u32, value: u32| {
        t.extend_from_slice(&tag.to_le_bytes());
        t.extend_from_slice(&typ.to_le_bytes());
        t.extend_from_slice(&count.to_le_bytes());
        t.extend_from_slice(&value.to_le_bytes());
    };
    entry(0x0112, 3, 1, u32::from(orientation)); // Orientation SHORT
    entry(0x011A, 5, 1, xres_at); // XResolution RATIONAL
    entry(0x011B, 5, 1, yres_at); // YResolution RATIONAL
    entry(0x0128, 3, 1, 2); // ResolutionUnit SHORT = inch
    entry(0x0131, 2, software.len() as u32, sw_at); // Software ASCII
    t.extend_from_slice(&0u32.to_le_bytes());
    for v in [72u32, 1, 72, 1] {
        t.extend_from_slice(&v.to_le_bytes());
    }
    t.extend_from_slice(software);
    insert_exif(jpeg, &t)
}

/// A JPEG with an EXIF APP1 segment holding `tiff` (a TIFF structure) right after SOI.
pub(crate) fn insert_exif(jpeg: &[u8], tiff: &[u8]) -> Vec<u8> {
    let mut app1 = vec![0xFF, 0xE1];
    app1.extend_from_slice(&((tiff.len() + 8) as u16).to_be_bytes());
    app1.extend_from_slice(b"Exif\0\0");
    app1.extend_from_slice(tiff);
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&app1);
    out.extend_from_slice(&jpeg[2..]);
    out
}

fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("photos");
    std::fs::create_dir_all(&p).expect("mkdir");
    std::fs::write(p.join("200x100.jpg"), gradient_jpeg(200, 100, 90)).unwrap();
    std::fs::write(p.join("q60.jpg"), gradient_jpeg(64, 64, 60)).unwrap();
    std::fs::write(p.join("flat.png"), png(40, 30, [92, 120, 59, 255])).unwrap();
    std::fs::write(p.join("alpha.png"), png(40, 30, [10, 20, 30, 128])).unwrap();
    std::fs::write(p.join("exif.jpg"), with_exif(&gradient_jpeg(200, 100, 90), 6)).unwrap();
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/photos/rocket.jpg");
    std::fs::copy(sample, p.join("rocket.jpg")).unwrap();
    // Bad inputs.
    std::fs::write(p.join("empty.jpg"), b"").unwrap();
    std::fs::write(p.join("garbage.jpg"), b"this is not an image at all, just text").unwrap();
    let good = gradient_jpeg(64, 64, 80);
    for cut in [3usize, 100, 400] {
        std::fs::write(p.join(format!("truncated-{cut}.jpg")), &good[..cut.min(good.len())]).unwrap();
    }
    std::fs::write(p.join("huge.png"), png_header(60_000, 60_000)).unwrap();
    std::fs::write(p.join("huge.jpg"), jpeg_with_sof(60_000, 60_000)).unwrap();
    std::fs::write(p.join("wide.jpg"), gradient_jpeg(4200, 8, 80)).unwrap();
    dir
}

/// A PNG signature and IHDR claiming `w` x `h`, with a correct CRC, and no pixel data.
pub(crate) fn png_header(w: u32, h: u32) -> Vec<u8> {
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    out.extend_from_slice(&13u32.to_be_bytes());
    out.extend_from_slice(&ihdr);
    out.extend_from_slice(&crc32(&ihdr).to_be_bytes());
    out
}

pub(crate) fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// A real JPEG whose SOF0 is patched to claim `w` x `h`.
fn jpeg_with_sof(w: u16, h: u16) -> Vec<u8> {
    let mut j = gradient_jpeg(16, 16, 80);
    let at = j.windows(2).position(|m| m == [0xFF, 0xC0]).expect("SOF0");
    j[at + 5..at + 7].copy_from_slice(&h.to_be_bytes());
    j[at + 7..at + 9].copy_from_slice(&w.to_be_bytes());
    j
}

fn config(root: &Path) -> String {
    format!("[origin]\nkind = \"fs\"\nroot = \"{}\"\n", root.display())
}

struct Got {
    status: StatusCode,
    content_type: String,
    body: Vec<u8>,
}

impl Got {
    fn dims(&self) -> (u32, u32) {
        let img = image::load_from_memory(&self.body).unwrap_or_else(|e| {
            panic!("{}: not an image ({e}): {}", self.status, String::from_utf8_lossy(&self.body))
        });
        (img.width(), img.height())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

async fn get(p: &Pixgate, key: &str, process: &str) -> Got {
    let url = if process.is_empty() {
        p.url(&format!("/photos/{key}"))
    } else {
        p.url(&format!("/photos/{key}?x-oss-process={process}"))
    };
    let r = reqwest::Client::builder().no_proxy().build().unwrap().get(url).send().await.expect("request");
    let status = r.status();
    let content_type =
        r.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    Got { status, content_type, body: r.bytes().await.unwrap().to_vec() }
}

fn resize_modes() {
    let root = fixture();
    let p = Pixgate::start(&config(root.path()));
    block(async {
        let rows: &[(&str, (u32, u32))] = &[
            ("image/resize,m_lfit,w_150,h_80", (150, 75)),
            ("image/resize,m_mfit,w_150,h_80", (160, 80)),
            ("image/resize,m_fill,w_150,h_80", (150, 80)),
            ("image/resize,m_pad,w_150,h_80", (150, 80)),
            ("image/resize,m_fixed,w_150,h_80", (150, 80)),
            ("image/resize,w_100", (100, 50)),
            ("image/resize,h_25", (50, 25)),
            ("image/resize,p_50", (100, 50)),
            ("image/resize,l_100", (100, 50)),
            ("image/resize,s_50", (100, 50)),
            ("image/resize,m_fixed,h_100", (100, 100)),
            // limit_1 (default): never enlarge; limit_0 enlarges.
            ("image/resize,w_400", (200, 100)),
            ("image/resize,w_400,limit_0", (400, 200)),
        ];
        for (process, dims) in rows {
            let g = get(&p, "200x100.jpg", process).await;
            assert_eq!(g.status, StatusCode::OK, "{process}: {}", g.text());
            assert_eq!(g.content_type, "image/jpeg", "{process}");
            assert_eq!(g.dims(), *dims, "{process}");
        }
        // A large downscale of a real photo (shrink-on-load path).
        let g = get(&p, "rocket.jpg", "image/resize,w_100").await;
        assert_eq!(g.dims(), (100, 67));
    });
}

fn geometry() {
    let root = fixture();
    let p = Pixgate::start(&config(root.path()));
    block(async {
        let rows: &[(&str, &str, (u32, u32))] = &[
            ("200x100.jpg", "image/crop,w_50,h_40", (50, 40)),
            ("200x100.jpg", "image/crop,w_500,h_500,x_150,y_20", (50, 80)),
            ("200x100.jpg", "image/crop,w_50,h_40,g_se", (50, 40)),
            ("200x100.jpg", "image/crop,w_100,h_100,x_100,y_0,r_1", (100, 100)),
            ("200x100.jpg", "image/indexcrop,x_60,i_1", (60, 100)),
            ("200x100.jpg", "image/indexcrop,x_60,i_3", (20, 100)),
            ("200x100.jpg", "image/indexcrop,x_60,i_9", (200, 100)),
            ("200x100.jpg", "image/rotate,90", (100, 200)),
            ("200x100.jpg", "image/rotate,180", (200, 100)),
            ("200x100.jpg", "image/circle,r_30/format,png", (60, 60)),
            ("200x100.jpg", "image/rounded-corners,r_20/format,png", (200, 100)),
            ("200x100.jpg", "image/blur,r_3,s_2", (200, 100)),
            ("200x100.jpg", "image/bright,30/contrast,-20/sharpen,100", (200, 100)),
            ("200x100.jpg", "image/resize,w_100/rotate,90/crop,w_10,h_10,g_center", (10, 10)),
            // rotate's 4096 px limit is on the source (docs/compat.md#pixels, "limits"): a
            // source within it that a resize makes larger is rotated
            ("200x100.jpg", "image/resize,w_4200,limit_0/rotate,90", (2100, 4200)),
        ];
        for (key, process, dims) in rows {
            let g = get(&p, key, process).await;
            assert_eq!(g.status, StatusCode::OK, "{process}: {}", g.text());
            assert_eq!(g.dims(), *dims, "{process}");
        }
        // Non-right angles grow the canvas.
        let g = get(&p, "200x100.jpg", "image/rotate,45").await;
        let (w, h) = g.dims();
        assert!((210..=215).contains(&w) && (210..=215).contains(&h), "{w}x{h}");
        // Circle outside is transparent in PNG, white in JPEG.
        let g = get(&p, "200x100.jpg", "image/circle,r_30/format,png").await;
        let img = image::load_from_memory(&g.body).unwrap().to_rgba8();
        assert_eq!(img.get_pixel(0, 0).0[3], 0);
        assert_eq!(img.get_pixel(30, 30).0[3], 255);
        let g = get(&p, "200x100.jpg", "image/circle,r_30").await;
        let img = image::load_from_memory(&g.body).unwrap().to_rgb8();
        assert!(img.get_pixel(0, 0).0.iter().all(|&c| c > 240), "{:?}", img.get_pixel(0, 0));
        // A crop that starts outside the image.
        let g = get(&p, "200x100.jpg", "image/crop,x_300,y_10,w_10,h_10").await;
        assert_eq!(g.status, StatusCode::BAD_REQUEST);
        assert_eq!(xml_field(&g.text(), "Code").as_deref(), Some("BadRequest"));
        assert_eq!(
            xml_field(&g.text(), "Message").as_deref(),
            Some("Advance cut's position is out of image.")
        );
    });
}

fn output_formats() {
    let root = fixture();
    let p = Pixgate::start(&config(root.path()));
    block(async {
        for (key, fmt, mime, expect) in [
            ("200x100.jpg", "png", "image/png", image::ImageFormat::Png),
            ("200x100.jpg", "webp", "image/webp", image::ImageFormat::WebP),
            ("200x100.jpg", "bmp", "image/bmp", image::ImageFormat::Bmp),
            ("200x100.jpg", "tiff", "image/tiff", image::ImageFormat::Tiff),
            ("alpha.png", "jpg", "image/jpeg", image::ImageFormat::Jpeg),
            ("alpha.png", "webp", "image/webp", image::ImageFormat::WebP),
            ("flat.png", "jpeg", "image/jpeg", image::ImageFormat::Jpeg),
        ] {
            let g = get(&p, key, &format!("image/resize,w_20/format,{fmt}")).await;
            assert_eq!(g.status, StatusCode::OK, "{key} → {fmt}: {}", g.text());
            assert_eq!(g.content_type, mime, "{key} → {fmt}");
            assert_eq!(image::guess_format(&g.body).unwrap(), expect, "{key} → {fmt}");
        }
        // GIF output only for GIF sources: a JPEG stays a JPEG.
        let g = get(&p, "200x100.jpg", "image/format,gif").await;
        assert_eq!(g.content_type, "image/jpeg");
        // Same format as the source by default.
        let g = get(&p, "flat.png", "image/resize,w_10").await;
        assert_eq!(g.content_type, "image/png");
        // HEIC/AVIF output are optional build features.
        let g = get(&p, "200x100.jpg", "image/format,avif").await;
        assert_eq!(g.status, StatusCode::NOT_IMPLEMENTED, "{}", g.text());
    });
}

fn interlace() {
    let root = fixture();
    let p = Pixgate::start(&config(root.path()));
    block(async {
        let sof2 = |b: &[u8]| b.windows(2).any(|w| w == [0xFF, 0xC2]);
        let g = get(&p, "200x100.jpg", "image/resize,w_50/interlace,1").await;
        assert!(sof2(&g.body), "progressive marker missing");
        let g = get(&p, "200x100.jpg", "image/resize,w_50/interlace,0").await;
        assert!(!sof2(&g.body));
        let g = get(&p, "flat.png", "image/format,jpg/interlace,1").await;
        assert!(sof2(&g.body));
    });
}

fn info_json() {
    let root = fixture();
    let p = Pixgate::start(&config(root.path()));
    let size = std::fs::metadata(root.path().join("photos/exif.jpg")).unwrap().len();
    block(async {
        let g = get(&p, "exif.jpg", "image/info").await;
        assert_eq!(g.status, StatusCode::OK, "{}", g.text());
        assert_eq!(g.content_type, "application/json");
        let expected = format!(
            "{{\n    \"FileSize\": {{\"value\": \"{size}\"}},\n    \"Format\": {{\"value\": \"jpg\"}},\n    \
             \"FrameCount\": {{\"value\": \"1\"}},\n    \"ImageHeight\": {{\"value\": \"100\"}},\n    \
             \"ImageWidth\": {{\"value\": \"200\"}},\n    \"Orientation\": {{\"value\": \"6\"}},\n    \
             \"ResolutionUnit\": {{\"value\": \"2\"}},\n    \"Software\": {{\"value\": \"pixgate-tests\"}},\n    \
             \"XResolution\": {{\"value\": \"72/1\"}},\n    \"YResolution\": {{\"value\": \"72/1\"}}}}"
        );
        assert_eq!(g.text(), expected);
        let g = get(&p, "flat.png", "image/info").await;
        assert!(g.text().contains("\"Format\": {\"value\": \"png\"}"), "{}", g.text());
        assert!(g.text().contains("\"ImageWidth\": {\"value\": \"40\"}"), "{}", g.text());
    });
}

fn average_hue() {
    let root = fixture();
    let p = Pixgate::start(&config(root.path()));
    block(async {
        let g = get(&p, "flat.png", "image/average-hue").await;
        assert_eq!(g.status, StatusCode::OK, "{}", g.text());
        assert_eq!(g.content_type, "application/json");
        assert_eq!(g.text(), "{\"RGB\": \"0x5c783b\"}");
    });
}

fn auto_orient() {
    let root = fixture();
    let p = Pixgate::start(&config(root.path()));
    block(async {
        // Orientation 6: stored 200x100, shown 100x200. OSS applies it before resizing.
        assert_eq!(get(&p, "exif.jpg", "image/resize,w_50").await.dims(), (50, 100));
        assert_eq!(get(&p, "exif.jpg", "image/resize,w_50/auto-orient,1").await.dims(), (50, 100));
        assert_eq!(get(&p, "exif.jpg", "image/auto-orient,0/resize,w_50").await.dims(), (50, 25));
    });
}

fn quality() {
    let root = fixture();
    let p = Pixgate::start(&config(root.path()));
    block(async {
        let size = |g: Got| g.body.len();
        // Q above the source's own quality (60) is capped: same bytes as Q_60.
        let q90 = size(get(&p, "q60.jpg", "image/quality,Q_90").await);
        let q60 = size(get(&p, "q60.jpg", "image/quality,Q_60").await);
        assert_eq!(q90, q60);
        // q is relative: 50% of 60 = 30, smaller than Q_60.
        let rel = size(get(&p, "q60.jpg", "image/quality,q_50").await);
        assert!(rel < q60, "{rel} vs {q60}");
        assert_eq!(rel, size(get(&p, "q60.jpg", "image/quality,Q_30").await));
    });
}

fn etags() {
    let root = fixture();
    let p = Pixgate::start(&config(root.path()));
    block(async {
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let url = p.url("/photos/200x100.jpg?x-oss-process=image/resize,w_50");
        let r = client.get(&url).send().await.unwrap();
        assert_eq!(r.headers()["x-pixgate-cache"], "miss");
        let etag = r.headers()["etag"].to_str().unwrap().to_string();
        assert!(etag.starts_with('"') && etag.len() == 34, "{etag}");
        assert!(r.headers().contains_key("last-modified"));
        // Equivalent spelling, same variant, same ETag; another variant, another ETag.
        let same = client
            .get(p.url("/photos/200x100.jpg?x-oss-process=image/resize,w_50,m_lfit"))
            .send()
            .await
            .unwrap();
        assert_eq!(same.headers()["etag"].to_str().unwrap(), etag);
        let other =
            client.get(p.url("/photos/200x100.jpg?x-oss-process=image/resize,w_51")).send().await.unwrap();
        assert_ne!(other.headers()["etag"].to_str().unwrap(), etag);
        let r = client.get(&url).header("if-none-match", &etag).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(r.headers()["etag"].to_str().unwrap(), etag);
        assert!(r.bytes().await.unwrap().is_empty());
    });
}

fn memory_budget() {
    let root = fixture();
    std::fs::write(root.path().join("photos/big.png"), png(3000, 3000, [1, 2, 3, 255])).unwrap();
    let p = Pixgate::start(&format!("{}[server]\nmax_memory = \"16MiB\"\n", config(root.path())));
    block(async {
        let g = get(&p, "big.png", "image/resize,w_10").await;
        assert_eq!(g.status, StatusCode::BAD_REQUEST, "{}", g.text());
        assert_eq!(xml_field(&g.text(), "Code").as_deref(), Some("ImageTooLarge"));
        // Small images still render within the budget.
        assert_eq!(get(&p, "200x100.jpg", "image/resize,w_10").await.status, StatusCode::OK);
    });
    let m = p.wait_metric("pixgate_rejected_total{reason=\"limit\"}", 1.0);
    assert_eq!(pixgate_tests::metric(&m, "pixgate_rejected_total{reason=\"limit\"}"), 1.0, "{m}");
}

fn bad_inputs() {
    let root = fixture();
    let p = Pixgate::start(&config(root.path()));
    block(async {
        let rows: &[(&str, &str, u16, &str)] = &[
            ("empty.jpg", "image/resize,w_10", 400, "BadRequest"),
            ("garbage.jpg", "image/resize,w_10", 400, "BadRequest"),
            ("truncated-3.jpg", "image/resize,w_10", 400, "BadRequest"),
            ("truncated-100.jpg", "image/resize,w_10", 400, "BadRequest"),
            ("huge.png", "image/resize,w_10", 400, "ImageTooLarge"),
            ("huge.jpg", "image/resize,w_10", 400, "ImageTooLarge"),
            ("huge.png", "image/info", 400, "ImageTooLarge"),
            ("200x100.jpg", "image/resize,m_fixed,w_16384,h_16384,limit_0", 400, "ImageTooLarge"),
            ("wide.jpg", "image/rotate,90", 400, "ImageTooLarge"),
            // the source is over the limit, whatever the chain does before the rotation
            ("wide.jpg", "image/resize,w_100/rotate,90", 400, "ImageTooLarge"),
            ("missing.jpg", "image/resize,w_10", 404, "NoSuchKey"),
        ];
        for (key, process, status, code) in rows {
            let start = std::time::Instant::now();
            let g = get(&p, key, process).await;
            assert_eq!(g.status.as_u16(), *status, "{key} {process}: {}", g.text());
            assert_eq!(xml_field(&g.text(), "Code").as_deref(), Some(*code), "{key} {process}: {}", g.text());
            assert!(start.elapsed() < std::time::Duration::from_secs(5), "{key} took {:?}", start.elapsed());
        }
        // A truncated JPEG with a valid header may still decode partially; it must not crash.
        let g = get(&p, "truncated-400.jpg", "image/resize,w_10").await;
        assert!(matches!(g.status.as_u16(), 200 | 400), "{}", g.status);
    });
    // The server survived all of it.
    let text = p.metrics();
    assert!(text.contains("pixgate_requests_total"), "{text}");
}
