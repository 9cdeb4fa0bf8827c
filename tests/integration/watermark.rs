//! Watermarks through the gateway: an image watermark read from the same bucket on the
//! in-process S3 server (pre-processed, cached as a source), CJK text with the compiled-in
//! fonts only, and the documented errors.

use std::io::Cursor;

use base64::Engine as _;
use pixgate_tests::{Pixgate, S3_ACCESS_KEY, S3_SECRET_KEY, S3Server, metric, xml_field};
use reqwest::StatusCode;

use crate::block;
use crate::engine::gradient_jpeg;

pub const TESTS: &[(&str, fn())] = &[
    ("watermark::image_watermark_from_the_same_bucket_on_s3", image_on_s3),
    ("watermark::cjk_text_with_no_fonts_installed", cjk_text),
    ("watermark::documented_errors", errors),
    ("watermark::source_protection_covers_watermark_images", protection),
];

fn b64(s: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}

fn png(w: u32, h: u32, px: [u8; 4]) -> Vec<u8> {
    let img = image::RgbaImage::from_pixel(w, h, image::Rgba(px));
    let mut out = Vec::new();
    img.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png).expect("png");
    out
}

fn white_png(w: u32, h: u32) -> Vec<u8> {
    png(w, h, [255, 255, 255, 255])
}

fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("photos");
    std::fs::create_dir_all(p.join("marks")).expect("mkdir");
    std::fs::write(p.join("400x200.jpg"), gradient_jpeg(400, 200, 90)).unwrap();
    std::fs::write(p.join("white.png"), white_png(300, 120)).unwrap();
    std::fs::write(p.join("marks/red.png"), png(50, 50, [255, 0, 0, 255])).unwrap();
    std::fs::write(p.join("marks/blue.png"), png(10, 10, [0, 0, 255, 255])).unwrap();
    std::fs::write(p.join("marks/green.png"), png(10, 10, [0, 255, 0, 255])).unwrap();
    std::fs::write(p.join("marks/black.png"), png(10, 10, [0, 0, 0, 255])).unwrap();
    std::fs::write(p.join("marks/notes.txt"), b"not an image").unwrap();
    dir
}

struct Got {
    status: StatusCode,
    body: Vec<u8>,
}

impl Got {
    fn rgba(&self) -> image::RgbaImage {
        image::load_from_memory(&self.body)
            .unwrap_or_else(|e| panic!("{}: {e}: {}", self.status, String::from_utf8_lossy(&self.body)))
            .to_rgba8()
    }
    fn field(&self, tag: &str) -> Option<String> {
        xml_field(&String::from_utf8_lossy(&self.body), tag)
    }
}

async fn get(p: &Pixgate, key: &str, process: &str) -> Got {
    let url = p.url(&format!("/photos/{key}?x-oss-process={process}"));
    let r = reqwest::Client::builder().no_proxy().build().unwrap().get(url).send().await.expect("request");
    Got { status: r.status(), body: r.bytes().await.unwrap().to_vec() }
}

fn image_on_s3() {
    let root = fixture();
    let s3 = S3Server::start(root.path());
    let p = Pixgate::start(&format!(
        "[origin]\nkind = \"s3\"\nendpoint = \"{}\"\nregion = \"us-east-1\"\nforce_path_style = true\n\
         access_key_id = \"{S3_ACCESS_KEY}\"\nsecret_access_key = \"{S3_SECRET_KEY}\"\n",
        s3.endpoint
    ));
    block(async {
        // P_10 of a 400x200 image: a 40x20 box, so the square mark is 20x20, 5 px from the top left.
        let mark = b64("marks/red.png?x-oss-process=image/resize,P_10");
        let g =
            get(&p, "400x200.jpg", &format!("image/watermark,image_{mark},g_nw,x_5,y_5/format,png")).await;
        assert_eq!(g.status, StatusCode::OK, "{}", String::from_utf8_lossy(&g.body));
        let img = g.rgba();
        assert_eq!(img.dimensions(), (400, 200));
        assert_eq!(img.get_pixel(5, 5).0, [255, 0, 0, 255]);
        assert_eq!(img.get_pixel(24, 24).0, [255, 0, 0, 255]);
        assert_ne!(img.get_pixel(25, 25).0, [255, 0, 0, 255]);
        assert_ne!(img.get_pixel(4, 10).0, [255, 0, 0, 255]);
        // After a resize to 800 wide (and P_10), the mark follows the main image: 40x40.
        let g = get(
            &p,
            "400x200.jpg",
            &format!("image/resize,w_800,limit_0/watermark,image_{mark},g_se,x_0,y_0/format,png"),
        )
        .await;
        let img = g.rgba();
        assert_eq!(img.get_pixel(799, 399).0, [255, 0, 0, 255]);
        assert_eq!(img.get_pixel(760, 360).0, [255, 0, 0, 255]);
        assert_ne!(img.get_pixel(759, 359).0, [255, 0, 0, 255]);
        // Half opacity over white.
        let plain = b64("marks/red.png");
        let g = get(&p, "white.png", &format!("image/watermark,image_{plain},t_50,g_center")).await;
        let px = g.rgba().get_pixel(150, 60).0;
        assert!(px[0] == 255 && (125..=130).contains(&px[1]), "{px:?}");
        // The watermark object is a cached source: a second render reads it from memory.
        let m = p.metrics();
        let hits = metric(&m, "pixgate_cache_requests_total{cache=\"source\",outcome=\"hit\"}");
        let g = get(&p, "400x200.jpg", &format!("image/resize,w_300/watermark,image_{plain}")).await;
        assert_eq!(g.status, StatusCode::OK);
        let m = p.metrics();
        assert_eq!(
            metric(&m, "pixgate_cache_requests_total{cache=\"source\",outcome=\"hit\"}"),
            hits + 2.0,
            "{m}"
        );
        // Three different images in one chain are allowed.
        let three = ["blue", "green", "black"]
            .iter()
            .map(|c| format!("watermark,image_{},g_nw", b64(&format!("marks/{c}.png"))))
            .collect::<Vec<_>>()
            .join("/");
        assert_eq!(get(&p, "400x200.jpg", &format!("image/{three}")).await.status, StatusCode::OK);
    });
}

fn cjk_text() {
    let root = fixture();
    // No font folder at all: the compiled-in faces draw the text.
    let config = format!(
        "[origin]\nkind = \"fs\"\nroot = \"{}\"\n[watermark]\nfont_dirs = []\n",
        root.path().display()
    );
    let p = Pixgate::start(&config);
    block(async {
        let text = b64("水印 Pixgate");
        let g =
            get(&p, "white.png", &format!("image/watermark,text_{text},g_nw,x_10,y_20,size_30,color_0000FF"))
                .await;
        assert_eq!(g.status, StatusCode::OK, "{}", String::from_utf8_lossy(&g.body));
        let img = g.rgba();
        let (mut inside, mut outside) = (0, 0);
        for (x, y, px) in img.enumerate_pixels() {
            if px.0 != [255, 255, 255, 255] {
                // text from (10, 20): 2 CJK characters of 30 px, a space and 7 Latin letters
                if (10..250).contains(&x) && (20..60).contains(&y) {
                    inside += 1;
                } else {
                    outside += 1;
                }
            }
        }
        assert!(inside > 800, "{inside}");
        assert_eq!(outside, 0);
        // Both scripts are drawn: ink in the CJK part and in the Latin part.
        let ink = |x0: u32, x1: u32| {
            (x0..x1)
                .flat_map(|x| (20..60).map(move |y| (x, y)))
                .filter(|&(x, y)| img.get_pixel(x, y).0[2] == 255 && img.get_pixel(x, y).0[0] < 128)
                .count()
        };
        assert!(ink(10, 70) > 150 && ink(80, 240) > 150, "{} {}", ink(10, 70), ink(80, 240));
        // An unknown font name falls back to the same faces.
        let other = b64("no-such-font");
        let h = get(
            &p,
            "white.png",
            &format!("image/watermark,text_{text},type_{other},g_nw,x_10,y_20,size_30,color_0000FF"),
        )
        .await;
        assert_eq!(h.status, StatusCode::OK);
        assert_eq!(h.rgba(), img);
    });
}

fn errors() {
    let root = fixture();
    let p = Pixgate::start(&format!("[origin]\nkind = \"fs\"\nroot = \"{}\"\n", root.path().display()));
    block(async {
        let cases: Vec<(String, &str, Option<&str>)> = vec![
            (
                format!("image/watermark,image_{}", b64("marks/none.png")),
                "WatermarkError",
                Some("0040-00000025"),
            ),
            (format!("image/watermark,image_{}", b64("marks/notes.txt")), "WatermarkError", None),
            (
                format!("image/watermark,image_{}", b64("../photos/white.png")),
                "WatermarkError",
                Some("0040-00000025"),
            ),
            ("image/watermark,image_%21%21".to_string(), "BadRequest", Some("0040-00000265")),
            ("image/watermark,t_200,text_SGVsbG8".to_string(), "InvalidArgument", Some("0040-00000263")),
            ("image/watermark,g_se".to_string(), "MissingArgument", Some("0040-00000278")),
            (
                format!(
                    "image/watermark,image_{}",
                    b64("marks/red.png?x-oss-process=image/watermark,text_SGVsbG8")
                ),
                "InvalidArgument",
                Some("0040-00000373"),
            ),
        ];
        for (process, code, ec) in &cases {
            let g = get(&p, "400x200.jpg", process).await;
            assert_eq!(g.status, StatusCode::BAD_REQUEST, "{process}: {}", String::from_utf8_lossy(&g.body));
            assert_eq!(g.field("Code").as_deref(), Some(*code), "{process}");
            if ec.is_some() {
                assert_eq!(g.field("EC").as_deref(), *ec, "{process}");
            }
        }
        // Four different images: over OSS's three.
        let four = ["red", "blue", "green", "black"]
            .iter()
            .map(|c| format!("watermark,image_{}", b64(&format!("marks/{c}.png"))))
            .collect::<Vec<_>>()
            .join("/");
        let g = get(&p, "400x200.jpg", &format!("image/{four}")).await;
        assert_eq!(g.status, StatusCode::BAD_REQUEST);
        assert_eq!(g.field("Code").as_deref(), Some("WatermarkError"));
        // Errors are not cached: the object appears, the same request works.
        std::fs::write(root.path().join("photos/marks/none.png"), png(5, 5, [1, 2, 3, 255])).unwrap();
        let g = get(&p, "400x200.jpg", &cases[0].0).await;
        assert_eq!(g.status, StatusCode::OK);
    });
}

fn protection() {
    let root = fixture();
    let p = Pixgate::start(&format!(
        "[origin]\nkind = \"fs\"\nroot = \"{}\"\n[buckets.photos]\nsource_protection = true\n\
         protected_suffixes = [\".png\"]\n[buckets.photos.styles]\nmarked = \"image/watermark,image_{}\"\n",
        root.path().display(),
        b64("marks/red.png")
    ));
    block(async {
        // Anonymous image/... may not draw a protected object onto an unprotected one.
        let g = get(&p, "400x200.jpg", &format!("image/watermark,image_{}", b64("marks/red.png"))).await;
        assert_eq!(g.status, StatusCode::FORBIDDEN, "{}", String::from_utf8_lossy(&g.body));
        assert_eq!(g.field("Code").as_deref(), Some("AccessDenied"));
        // Text watermarks and styles the bucket defines are fine.
        let g = get(&p, "400x200.jpg", &format!("image/watermark,text_{}", b64("ok"))).await;
        assert_eq!(g.status, StatusCode::OK);
        let g = get(&p, "400x200.jpg", "style/marked").await;
        assert_eq!(g.status, StatusCode::OK, "{}", String::from_utf8_lossy(&g.body));
    });
}
