//! Hostile input: polyglots, decompression bombs, frame floods, absurd TIFF and EXIF
//! structures, control characters, header injection through keys, oversized requests. Each
//! gets a clear answer, quickly, without a memory spike, and the server stays up.

use std::path::Path;
use std::time::{Duration, Instant};

use pixgate_tests::{Pixgate, raw_request, xml_field};
use reqwest::StatusCode;

use crate::block;
use crate::engine::{crc32, gradient_jpeg, insert_exif, png_header, with_exif};

pub const TESTS: &[(&str, fn())] = &[
    ("hostile::bad_input_corpus", corpus),
    ("hostile::decompression_bomb_stays_within_memory", bomb),
    ("hostile::header_injection_and_oversized_requests", requests),
];

/// A PNG chunk with its length and CRC.
fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    let mut out = (data.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(&body);
    out.extend_from_slice(&crc32(&body).to_be_bytes());
    out
}

/// A grey PNG of `w` x `h` zero pixels streamed row by row: a few hundred KiB that inflate to
/// `w * h` bytes.
fn png_bomb(w: u32, h: u32) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(png::Compression::Fast);
        let mut writer = enc.write_header().expect("header");
        let mut stream = writer.stream_writer().expect("stream");
        let row = vec![0u8; w as usize];
        for _ in 0..h {
            std::io::Write::write_all(&mut stream, &row).expect("row");
        }
        stream.finish().expect("finish");
    }
    out
}

/// A GIF of `frames` frames of `side` x `side`.
fn gif_flood(side: u16, frames: usize) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let palette = [0u8, 0, 0, 255, 255, 255];
        let mut enc = gif::Encoder::new(&mut out, side, side, &palette).expect("gif");
        enc.set_repeat(gif::Repeat::Infinite).expect("repeat");
        let pixels = vec![1u8; usize::from(side) * usize::from(side)];
        for i in 0..frames {
            let mut f = gif::Frame::from_indexed_pixels(side, side, pixels.clone(), None);
            f.delay = (i % 7) as u16;
            enc.write_frame(&f).expect("frame");
        }
    }
    out
}

/// A little-endian TIFF of 100x100 grey whose StripOffsets/StripByteCounts claim a billion
/// strips.
fn tiff_absurd_strips() -> Vec<u8> {
    let mut t = b"II*\0".to_vec();
    t.extend_from_slice(&8u32.to_le_bytes());
    let entries: [(u16, u16, u32, u32); 8] = [
        (256, 3, 1, 100),           // ImageWidth
        (257, 3, 1, 100),           // ImageLength
        (258, 3, 1, 8),             // BitsPerSample
        (259, 3, 1, 1),             // Compression: none
        (262, 3, 1, 1),             // BlackIsZero
        (273, 4, 0x3FFF_FFFF, 200), // StripOffsets: 2^30 LONGs
        (278, 3, 1, 1),             // RowsPerStrip
        (279, 4, 0x3FFF_FFFF, 200), // StripByteCounts: 2^30 LONGs
    ];
    t.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    for (tag, typ, count, value) in entries {
        t.extend_from_slice(&tag.to_le_bytes());
        t.extend_from_slice(&typ.to_le_bytes());
        t.extend_from_slice(&count.to_le_bytes());
        t.extend_from_slice(&value.to_le_bytes());
    }
    t.extend_from_slice(&0u32.to_le_bytes());
    t.resize(400, 0);
    t
}

/// A JPEG whose EXIF IFD0 links to itself and carries an entry claiming 4 billion values.
fn exif_loop() -> Vec<u8> {
    let jpeg = gradient_jpeg(32, 32, 80);
    let mut t = b"II*\0".to_vec();
    t.extend_from_slice(&8u32.to_le_bytes());
    t.extend_from_slice(&2u16.to_le_bytes());
    for (tag, typ, count, value) in [(0x0112u16, 3u16, 1u32, 6u32), (0x010F, 2, u32::MAX, 26)] {
        t.extend_from_slice(&tag.to_le_bytes());
        t.extend_from_slice(&typ.to_le_bytes());
        t.extend_from_slice(&count.to_le_bytes());
        t.extend_from_slice(&value.to_le_bytes());
    }
    t.extend_from_slice(&8u32.to_le_bytes()); // next IFD = this one
    insert_exif(&jpeg, &t)
}

const PAYLOAD: &[u8] = b"PK\x03\x04<script>alert('polyglot')</script>";

fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("photos");
    std::fs::create_dir_all(&p).expect("mkdir");
    let w = |name: &str, bytes: &[u8]| std::fs::write(p.join(name), bytes).expect("write");
    // Polyglots: a real JPEG with a ZIP/HTML tail; HTML behind a GIF signature.
    let mut jpeg_zip = with_exif(&gradient_jpeg(64, 48, 85), 1);
    jpeg_zip.extend_from_slice(PAYLOAD);
    w("polyglot.jpg", &jpeg_zip);
    w("gif-html.gif", b"GIF89a<html><script>alert(1)</script></html>");
    let mut png_html = png_header(16, 16);
    png_html.extend_from_slice(&chunk(b"tEXt", b"Comment\0<script>alert(1)</script>"));
    w("png-html.png", &png_html);
    w("gif-10000.gif", &gif_flood(1, 10_000));
    w("gif-10000x64.gif", &gif_flood(64, 10_000));
    w("tiff-strips.tif", &tiff_absurd_strips());
    w("exif-loop.jpg", &exif_loop());
    // PNG whose IDAT never ends (a chunk claiming 2 GiB).
    let mut endless = png_header(64, 64);
    endless.extend_from_slice(&0x7FFF_FFFFu32.to_be_bytes());
    endless.extend_from_slice(b"IDAT");
    endless.extend_from_slice(&[0x78, 0x9C, 0, 0, 0]);
    w("idat-2g.png", &endless);
    dir
}

fn config(root: &Path, extra: &str) -> String {
    format!("[origin]\nkind = \"fs\"\nroot = \"{}\"\n{extra}", root.display())
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().expect("client")
}

/// Peak resident memory of a process, in MiB (VmHWM).
fn peak_rss_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb / 1024)
}

fn corpus() {
    let root = fixture();
    let p = Pixgate::start(&config(root.path(), ""));
    block(async {
        // (key, process, expected status, expected Code for errors)
        let rows: &[(&str, &str, u16, Option<&str>)] = &[
            ("polyglot.jpg", "image/resize,w_32", 200, None),
            ("polyglot.jpg", "image/info", 200, None),
            // Its "dimensions" are the bytes of "<html>": refused from the header.
            ("gif-html.gif", "image/resize,w_10", 400, Some("ImageTooLarge")),
            ("png-html.png", "image/resize,w_10", 400, Some("BadRequest")),
            ("gif-10000.gif", "image/resize,w_10", 200, None),
            ("gif-10000.gif", "image/info", 200, None),
            ("gif-10000x64.gif", "image/resize,w_32", 200, None),
            ("tiff-strips.tif", "image/resize,w_10", 400, Some("BadRequest")),
            ("tiff-strips.tif", "image/info", 400, Some("BadRequest")),
            ("exif-loop.jpg", "image/info", 200, None),
            ("exif-loop.jpg", "image/auto-orient,1/resize,w_16", 200, None),
            ("idat-2g.png", "image/resize,w_10", 400, Some("BadRequest")),
        ];
        for (key, process, status, code) in rows {
            let start = Instant::now();
            let r = client()
                .get(p.url(&format!("/photos/{key}?x-oss-process={process}")))
                .send()
                .await
                .expect("request");
            let got = r.status().as_u16();
            let ct = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_string());
            let body = r.bytes().await.unwrap();
            let text = String::from_utf8_lossy(&body);
            assert_eq!(got, *status, "{key} {process}: {text}");
            if let Some(code) = code {
                assert_eq!(xml_field(&text, "Code").as_deref(), Some(*code), "{key} {process}: {text}");
            }
            assert!(start.elapsed() < Duration::from_secs(10), "{key} {process} took {:?}", start.elapsed());
            // A rendered image is re-encoded: nothing of a polyglot's tail survives.
            if got == 200 && ct.as_deref() != Some("application/json") {
                assert!(!body.windows(PAYLOAD.len()).any(|w| w == PAYLOAD), "{key}: payload kept");
            }
            if *key == "gif-10000.gif" && *process == "image/info" {
                let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
                assert_eq!(json["FrameCount"]["value"], "10000", "{json}");
            }
            if *key == "exif-loop.jpg" && *process == "image/auto-orient,1/resize,w_16" {
                // Orientation 6 in the looping IFD is still honoured: 32x32 stays square.
                let img = image::load_from_memory(&body).unwrap();
                assert_eq!((img.width(), img.height()), (16, 16));
            }
        }
        // The original of a polyglot is served as what its bytes are, with nosniff.
        let r = client().get(p.url("/photos/gif-html.gif")).send().await.unwrap();
        assert_eq!(r.headers()["x-content-type-options"], "nosniff");
        assert_ne!(r.headers()["content-type"], "text/html");
        // Control characters in a text watermark are refused or handled, never a crash.
        let text = base64_url("\u{0}\u{7}\u{1b}[31m\r\nred");
        let r = client()
            .get(p.url(&format!("/photos/polyglot.jpg?x-oss-process=image/watermark,text_{text}")))
            .send()
            .await
            .unwrap();
        assert!(matches!(r.status().as_u16(), 200 | 400 | 501), "{}", r.status());
    });
    assert!(peak_rss_mib(p.pid()) < 400, "peak RSS {} MiB", peak_rss_mib(p.pid()));
    assert!(p.metrics().contains("pixgate_requests_total"));
}

fn base64_url(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}

fn bomb() {
    let root = fixture();
    // 12000 x 12000 grey: 144 MP (under OSS's 250 MP), ~140 KiB on disk, 144 MiB inflated.
    std::fs::write(root.path().join("photos/bomb.png"), png_bomb(12_000, 12_000)).unwrap();
    let p = Pixgate::start(&config(root.path(), "[server]\nmax_memory = \"128MiB\"\n"));
    block(async {
        for process in ["image/resize,w_10", "image/average-hue", "image/info"] {
            let start = Instant::now();
            let r = client()
                .get(p.url(&format!("/photos/bomb.png?x-oss-process={process}")))
                .send()
                .await
                .unwrap();
            let status = r.status();
            let text = r.text().await.unwrap();
            if process == "image/info" {
                // The header is enough: no pixels.
                assert_eq!(status, StatusCode::OK, "{text}");
                assert!(text.contains("\"12000\""), "{text}");
            } else {
                assert_eq!(status, StatusCode::BAD_REQUEST, "{process}: {text}");
                assert_eq!(xml_field(&text, "Code").as_deref(), Some("ImageTooLarge"), "{text}");
            }
            assert!(start.elapsed() < Duration::from_secs(5), "{process}: {:?}", start.elapsed());
        }
    });
    let peak = peak_rss_mib(p.pid());
    assert!(peak < 100, "a refused bomb must not be inflated: peak RSS {peak} MiB");
}

fn requests() {
    let root = fixture();
    std::fs::write(root.path().join("photos/ok.jpg"), gradient_jpeg(8, 8, 80)).unwrap();
    let p = Pixgate::start(&config(root.path(), ""));
    let addr = p.url("").trim_start_matches("http://").to_string();
    // CR/LF in a key: no header is injected and the access log keeps one line per request.
    let (status, text) = raw_request(
        &addr,
        &format!("GET /photos/a%0d%0aX-Injected:%20yes%0d%0a.jpg HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
    )
    .unwrap();
    assert_eq!(status, 404, "{text}");
    let head = text.split("\r\n\r\n").next().unwrap().to_ascii_lowercase();
    assert!(!head.contains("x-injected"), "{head}");
    // Huge URL and huge header: a 4xx, quickly; the server stays up.
    let long_key = "a".repeat(20 * 1024);
    let start = Instant::now();
    let (status, _) = raw_request(
        &addr,
        &format!("GET /photos/{long_key} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
    )
    .unwrap_or((0, String::new()));
    assert_eq!(status, 414, "long URL");
    // A path component longer than the filesystem allows is simply missing.
    let (status, _) = raw_request(
        &addr,
        &format!("GET /photos/{} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n", "n".repeat(600)),
    )
    .unwrap();
    assert_eq!(status, 404, "long file name");
    // A key over OSS's 1023 bytes.
    let (status, text) = raw_request(
        &addr,
        &format!("GET /photos/{} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n", "k".repeat(1024)),
    )
    .unwrap();
    assert_eq!((status, xml_field(&text, "Code").as_deref()), (400, Some("InvalidObjectName")));
    let (status, _) = raw_request(
        &addr,
        &format!(
            "GET /photos/ok.jpg HTTP/1.1\r\nHost: {addr}\r\nX-Big: {}\r\nConnection: close\r\n\r\n",
            "b".repeat(256 * 1024)
        ),
    )
    .unwrap_or((0, String::new()));
    assert_eq!(status, 431, "huge header");
    assert!(start.elapsed() < Duration::from_secs(10));
    block(async {
        let r = client().get(p.url("/photos/ok.jpg?x-oss-process=image/resize,w_4")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    });
    let logs = p.logs();
    assert!(!logs.lines().any(|l| l.trim_start().to_ascii_lowercase().starts_with("x-injected")), "{logs}");
}
