//! Beyond OSS: `auto_format` (the format from the request's `Accept`, right with every cache in
//! the path) and `ignore-error,1` (the original object when a render fails), over HTTP with
//! the `Accept` headers browsers send.

use std::path::Path;

use pixgate_tests::{Pixgate, metric, run_to_exit};
use reqwest::StatusCode;

use crate::block;

pub const TESTS: &[(&str, fn())] = &[
    ("negotiation::auto_format_follows_accept_through_every_cache", auto_format),
    ("negotiation::animated_gifs_become_animated_webp", animated),
    ("negotiation::auto_format_is_checked_at_load", config_errors),
    ("negotiation::ignore_error_answers_the_original", ignore_error),
];

const CHROME: &str = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8";
const FIREFOX: &str = "image/avif,image/webp,image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5";
const OLD_SAFARI: &str = "image/png,image/svg+xml,image/*;q=0.8,video/*;q=0.8,*/*;q=0.5";

fn root() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/photos");
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    for b in ["photos", "plain", "private"] {
        std::fs::create_dir_all(dir.path().join(b)).expect("mkdir");
        std::fs::copy(samples.join("rocket.jpg"), dir.path().join(b).join("rocket.jpg")).expect("copy");
    }
    std::fs::copy(fixtures.join("editor.gif"), dir.path().join("photos/anim.gif")).expect("copy");
    let anim_webp = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ops/tests/anim/anim.webp");
    std::fs::copy(anim_webp, dir.path().join("photos/anim.webp")).expect("copy");
    std::fs::write(dir.path().join("photos/broken.jpg"), b"\xff\xd8\xff\xe0 not really a jpeg")
        .expect("write");
    dir
}

fn config(root: &Path) -> String {
    format!(
        "[origin]\nkind = \"fs\"\nroot = \"{}\"\n[server]\nauto_format = [\"webp\"]\n\
         [[credentials]]\naccess_key_id = \"AKIDNEG\"\naccess_key_secret = \"neg-secret\"\n\
         [buckets.photos]\n[buckets.photos.styles]\nsmall = \"image/resize,w_40\"\n\
         [buckets.plain]\nauto_format = []\n[buckets.private]\nacl = \"private\"\n",
        root.display()
    )
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().expect("client")
}

/// (status, content type, ETag, Vary, x-pixgate-cache, body length)
async fn get(p: &Pixgate, path: &str, accept: Option<&str>, etag: Option<&str>) -> Answer {
    let mut req = client().get(p.url(path));
    if let Some(a) = accept {
        req = req.header("accept", a);
    }
    if let Some(e) = etag {
        req = req.header("if-none-match", e);
    }
    let r = req.send().await.expect("request");
    let h = |n: &str| r.headers().get(n).map(|v| v.to_str().unwrap().to_string());
    let (ct, etag, vary, cache) = (h("content-type"), h("etag"), h("vary"), h("x-pixgate-cache"));
    let status = r.status();
    let body = r.bytes().await.unwrap().to_vec();
    Answer { status, ct, etag, vary, cache, body }
}

struct Answer {
    status: StatusCode,
    ct: Option<String>,
    etag: Option<String>,
    vary: Option<String>,
    cache: Option<String>,
    body: Vec<u8>,
}

fn auto_format() {
    let root = root();
    let p = Pixgate::start(&config(root.path()));
    let thumb = "/photos/rocket.jpg?x-oss-process=image/resize,w_64";
    block(async {
        // A browser that names WebP gets WebP; the response says it varies with Accept.
        let webp = get(&p, thumb, Some(CHROME), None).await;
        assert_eq!(webp.status, 200);
        assert_eq!(webp.ct.as_deref(), Some("image/webp"));
        assert_eq!(webp.vary.as_deref(), Some("Accept"));
        assert_eq!(webp.cache.as_deref(), Some("miss"));
        assert_eq!(&webp.body[..4], b"RIFF");
        let hit = get(&p, thumb, Some(FIREFOX), None).await;
        assert_eq!((hit.ct.as_deref(), hit.cache.as_deref()), (Some("image/webp"), Some("hit")));
        assert_eq!(hit.vary.as_deref(), Some("Accept"));
        assert_eq!(hit.etag, webp.etag);
        // `image/*` and `*/*` do not imply WebP; q=0 refuses it. The JPEG has its own ETag.
        for accept in [Some(OLD_SAFARI), Some("*/*"), None, Some("image/webp;q=0, image/*")] {
            let jpeg = get(&p, thumb, accept, None).await;
            assert_eq!(jpeg.ct.as_deref(), Some("image/jpeg"), "{accept:?}");
            assert_eq!(jpeg.vary.as_deref(), Some("Accept"), "{accept:?}");
            assert_ne!(jpeg.etag, webp.etag, "two representations never share an ETag");
        }
        // 304s answer per representation, with Vary.
        let not_modified = get(&p, thumb, Some(CHROME), webp.etag.as_deref()).await;
        assert_eq!(not_modified.status, 304);
        assert_eq!(not_modified.vary.as_deref(), Some("Accept"));
        let other = get(&p, thumb, Some(OLD_SAFARI), webp.etag.as_deref()).await;
        assert_eq!(other.status, 200, "the WebP ETag does not validate the JPEG");
        // Styles, delimiter-free, are negotiated too; a chain's own format wins.
        let style = get(&p, "/photos/rocket.jpg?x-oss-process=style/small", Some(CHROME), None).await;
        assert_eq!((style.ct.as_deref(), style.vary.as_deref()), (Some("image/webp"), Some("Accept")));
        let png =
            get(&p, "/photos/rocket.jpg?x-oss-process=image/resize,w_20/format,png", Some(CHROME), None)
                .await;
        assert_eq!((png.ct.as_deref(), png.vary.as_deref()), (Some("image/png"), Some("Accept")));
        // info, average-hue and originals are untouched.
        for path in [
            "/photos/rocket.jpg?x-oss-process=image/info",
            "/photos/rocket.jpg?x-oss-process=image/average-hue",
        ] {
            let json = get(&p, path, Some(CHROME), None).await;
            assert_eq!(
                (json.ct.as_deref(), json.vary.as_deref()),
                (Some("application/json"), None),
                "{path}"
            );
        }
        let original = get(&p, "/photos/rocket.jpg", Some(CHROME), None).await;
        assert_eq!((original.ct.as_deref(), original.vary.as_deref()), (Some("image/jpeg"), None));
        // A bucket that turns it off answers as OSS does.
        let plain = get(&p, "/plain/rocket.jpg?x-oss-process=image/resize,w_64", Some(CHROME), None).await;
        assert_eq!((plain.ct.as_deref(), plain.vary.as_deref()), (Some("image/jpeg"), None));
        // The chain's quality applies to the chosen format.
        let q30 =
            get(&p, "/photos/rocket.jpg?x-oss-process=image/resize,w_200/quality,Q_30", Some(CHROME), None)
                .await;
        let q95 =
            get(&p, "/photos/rocket.jpg?x-oss-process=image/resize,w_200/quality,Q_95", Some(CHROME), None)
                .await;
        assert_eq!(q30.ct.as_deref(), Some("image/webp"));
        assert!(q30.body.len() < q95.body.len(), "{} vs {}", q30.body.len(), q95.body.len());
    });
    // The two WebP answers, the 304, the style and the two qualities.
    let m = p.wait_metric("pixgate_negotiated_total{format=\"webp\"}", 6.0);
    assert_eq!(metric(&m, "pixgate_negotiated_total{format=\"webp\"}"), 6.0, "{m}");
}

fn animated() {
    let root = root();
    let p = Pixgate::start(&config(root.path()));
    block(async {
        let a = get(&p, "/photos/anim.gif?x-oss-process=image/resize,w_24", Some(CHROME), None).await;
        assert_eq!(a.ct.as_deref(), Some("image/webp"));
        // An animated WebP: a VP8X header with the animation flag, and one ANMF chunk a frame.
        assert_eq!(&a.body[12..16], b"VP8X");
        assert!(a.body[20] & 0x02 != 0, "animation flag");
        let frames = a.body.windows(4).filter(|w| w == b"ANMF").count();
        assert_eq!(frames, 4, "every frame of the GIF");
        let gif = get(&p, "/photos/anim.gif?x-oss-process=image/resize,w_24", Some(OLD_SAFARI), None).await;
        assert_eq!(gif.ct.as_deref(), Some("image/gif"));
        // An animated WebP source (Pillow's, 3 frames) stays animated, and becomes an animated
        // GIF when asked.
        let webp = get(&p, "/photos/anim.webp?x-oss-process=image/rotate,90", None, None).await;
        assert_eq!(webp.ct.as_deref(), Some("image/webp"));
        assert_eq!(webp.body.windows(4).filter(|w| w == b"ANMF").count(), 3);
        let to_gif =
            get(&p, "/photos/anim.webp?x-oss-process=image/resize,w_24/format,gif", None, None).await;
        assert_eq!(to_gif.ct.as_deref(), Some("image/gif"));
        let frames = image::codecs::gif::GifDecoder::new(std::io::Cursor::new(&to_gif.body[..]))
            .map(|d| image::AnimationDecoder::into_frames(d).count())
            .expect("a GIF");
        assert_eq!(frames, 3);
        let still = get(&p, "/photos/anim.webp?x-oss-process=image/format,png", None, None).await;
        assert_eq!(still.ct.as_deref(), Some("image/png"));
    });
}

fn config_errors() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.toml");
    std::fs::write(
        &file,
        format!(
            "[origin]\nroot = \"{}\"\n[server]\nauto_format = [\"gif\"]\n[buckets.photos]\nauto_format = [\"jxl\"]\n",
            dir.path().display()
        ),
    )
    .unwrap();
    let out = run_to_exit(&["--config", file.to_str().unwrap()]);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("server.auto_format: \"gif\" is not one of webp, avif"), "{}", out.stderr);
    assert!(out.stderr.contains("buckets.photos.auto_format: \"jxl\""), "{}", out.stderr);
    if !pixgate::metrics::features().split(',').any(|f| f == "avif") {
        std::fs::write(
            &file,
            format!("[origin]\nroot = \"{}\"\n[server]\nauto_format = [\"avif\"]\n", dir.path().display()),
        )
        .unwrap();
        let out = run_to_exit(&["--config", file.to_str().unwrap()]);
        assert_eq!(out.code, Some(2), "{}", out.stderr);
        assert!(out.stderr.contains("needs Pixgate built with the avif feature"), "{}", out.stderr);
    }
}

fn ignore_error() {
    let root = root();
    let p = Pixgate::start(&config(root.path()));
    block(async {
        // An undecodable source: 400 without it, the original object (200, its bytes) with it.
        let plain = get(&p, "/photos/broken.jpg?x-oss-process=image/resize,w_10", None, None).await;
        assert_eq!(plain.status, 400);
        let ignored =
            get(&p, "/photos/broken.jpg?x-oss-process=image/resize,w_10/ignore-error,1", None, None).await;
        assert_eq!(ignored.status, 200);
        assert_eq!(ignored.body, b"\xff\xd8\xff\xe0 not really a jpeg");
        assert_eq!(ignored.ct.as_deref(), Some("image/jpeg"));
        // As real OSS URLs carry it: after the actions, on a good source it changes nothing.
        let good = get(
            &p,
            "/photos/rocket.jpg?x-oss-process=image/resize,w_30/quality,q_90/ignore-error,1",
            Some("*/*"),
            None,
        )
        .await;
        assert_eq!((good.status, good.ct.as_deref()), (StatusCode::OK, Some("image/jpeg")));
        assert!(good.body.len() < 10_000);
        // Over a limit: the original.
        let big = get(
            &p,
            "/photos/rocket.jpg?x-oss-process=image/resize,m_fixed,w_16000,h_16000,limit_0/ignore-error,1",
            None,
            None,
        )
        .await;
        assert_eq!(big.status, 200);
        assert_eq!(
            big.body.len() as u64,
            std::fs::metadata(root.path().join("photos/rocket.jpg")).unwrap().len()
        );
        // A missing object, a refused request and a bad chain answer as without it.
        let missing =
            get(&p, "/photos/nope.jpg?x-oss-process=image/resize,w_10/ignore-error,1", None, None).await;
        assert_eq!(missing.status, 404);
        let private =
            get(&p, "/private/rocket.jpg?x-oss-process=image/resize,w_10/ignore-error,1", None, None).await;
        assert_eq!(private.status, 403);
        let bad =
            get(&p, "/photos/rocket.jpg?x-oss-process=image/resize,w_0/ignore-error,1", None, None).await;
        assert_eq!(bad.status, 400);
        let off =
            get(&p, "/photos/broken.jpg?x-oss-process=image/resize,w_10/ignore-error,0", None, None).await;
        assert_eq!(off.status, 400);
    });
    let m = p.wait_metric("pixgate_ignored_errors_total{reason=\"decode\"}", 1.0);
    assert_eq!(metric(&m, "pixgate_ignored_errors_total{reason=\"decode\"}"), 1.0, "{m}");
    assert_eq!(metric(&m, "pixgate_ignored_errors_total{reason=\"limit\"}"), 1.0, "{m}");
    let logs = p.wait_logs("ignore-error,1: answering the original object");
    assert!(logs.contains("ignore-error,1: answering the original object"), "{logs}");
}
