//! Caching like a CDN: hits, equivalent spellings, ignored parameters, coalesced misses,
//! one origin fetch for many variants, purge, TTL revalidation, HEAD, the size bound, metrics.

use std::path::Path;
use std::time::Duration;

use pixgate_tests::{Pixgate, metric};
use reqwest::StatusCode;

use crate::block;

pub const TESTS: &[(&str, fn())] = &[
    ("cache::miss_then_hit_and_equivalent_spellings", miss_then_hit),
    ("cache::concurrent_identical_misses_render_once", stampede),
    ("cache::many_variants_one_origin_fetch", variants_share_the_source),
    ("cache::purge_drops_variants_and_source", purge),
    ("cache::ttl_revalidates_the_source", revalidation),
    ("cache::head_renders_once", head),
    ("cache::size_stays_within_its_bound", bounded),
    ("cache::variants_outlive_their_source_bytes", without_source_bytes),
];

fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("photos")).expect("mkdir");
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/photos/rocket.jpg");
    std::fs::copy(&sample, dir.path().join("photos/rocket.jpg")).expect("copy");
    std::fs::copy(&sample, dir.path().join("photos/other.jpg")).expect("copy");
    dir
}

fn config(root: &Path, cache: &str) -> String {
    format!("[origin]\nkind = \"fs\"\nroot = \"{}\"\n[cache]\n{cache}\n", root.display())
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().expect("client")
}

async fn get(p: &Pixgate, path: &str) -> (StatusCode, String, String, Vec<u8>) {
    let r = client().get(p.url(path)).send().await.expect("request");
    let h = |n: &str| r.headers().get(n).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    let (status, cache, etag) = (r.status(), h("x-pixgate-cache"), h("etag"));
    (status, cache, etag, r.bytes().await.unwrap().to_vec())
}

const W100: &str = "/photos/rocket.jpg?x-oss-process=image/resize,w_100";

fn miss_then_hit() {
    let root = fixture();
    let p = Pixgate::start(&config(root.path(), ""));
    block(async {
        let (s, c, etag, body) = get(&p, W100).await;
        assert_eq!((s, c.as_str()), (StatusCode::OK, "miss"));
        let (s, c, etag2, body2) = get(&p, W100).await;
        assert_eq!((s, c.as_str()), (StatusCode::OK, "hit"));
        assert_eq!((etag2, body2), (etag.clone(), body.clone()));
        // Equivalent spellings and ignored parameters share the entry.
        for path in [
            "/photos/rocket.jpg?x-oss-process=image/resize,m_lfit,w_100,limit_1",
            "/photos/rocket.jpg?x-oss-process=image/resize,w_0100",
            "/photos/rocket.jpg?utm_source=mail&x-oss-process=image/resize,w_100&v=3",
        ] {
            let (s, c, e, _) = get(&p, path).await;
            assert_eq!((s, c.as_str(), e.as_str()), (StatusCode::OK, "hit", etag.as_str()), "{path}");
        }
        // Another object, another entry.
        let (_, c, _, _) = get(&p, "/photos/other.jpg?x-oss-process=image/resize,w_100").await;
        assert_eq!(c, "miss");
    });
    let m = p.wait_metric("pixgate_cache_requests_total{cache=\"result\",outcome=\"hit\"}", 4.0);
    assert_eq!(metric(&m, "pixgate_cache_requests_total{cache=\"result\",outcome=\"hit\"}"), 4.0, "{m}");
    assert_eq!(metric(&m, "pixgate_cache_requests_total{cache=\"result\",outcome=\"miss\"}"), 2.0, "{m}");
    assert!(metric(&m, "pixgate_cache_bytes{cache=\"result\"}") > 0.0, "{m}");
    assert!(metric(&m, "pixgate_cache_bytes{cache=\"source\"}") > 0.0, "{m}");
}

fn stampede() {
    let root = fixture();
    let p = Pixgate::start(&config(root.path(), ""));
    let url = p.url("/photos/rocket.jpg?x-oss-process=image/resize,w_321/blur,r_5,s_5");
    let bodies = block(async {
        let mut tasks = Vec::new();
        for _ in 0..32 {
            let url = url.clone();
            tasks.push(tokio::spawn(async move {
                let r = client().get(url).send().await.expect("request");
                assert_eq!(r.status(), StatusCode::OK);
                let cache = r.headers()["x-pixgate-cache"].to_str().unwrap().to_string();
                (cache, r.bytes().await.unwrap().to_vec())
            }));
        }
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    });
    assert!(bodies.iter().all(|(_, b)| *b == bodies[0].1), "every waiter gets the same bytes");
    assert_eq!(bodies.iter().filter(|(c, _)| c == "miss").count(), 1);
    let m = p.wait_metric("pixgate_requests_total{route=\"process\",status=\"200\"}", 32.0);
    assert_eq!(metric(&m, "pixgate_origin_requests_total{outcome=\"ok\"}"), 1.0, "one origin fetch\n{m}");
    assert_eq!(metric(&m, "pixgate_stage_duration_seconds_count{stage=\"decode\"}"), 1.0, "one render\n{m}");
}

fn variants_share_the_source() {
    let root = fixture();
    let p = Pixgate::start(&config(root.path(), ""));
    block(async {
        for w in [50, 60, 70, 80] {
            let (s, c, _, _) = get(&p, &format!("/photos/rocket.jpg?x-oss-process=image/resize,w_{w}")).await;
            assert_eq!((s, c.as_str()), (StatusCode::OK, "miss"));
        }
    });
    let m = p.wait_metric("pixgate_stage_duration_seconds_count{stage=\"decode\"}", 4.0);
    assert_eq!(metric(&m, "pixgate_origin_requests_total{outcome=\"ok\"}"), 1.0, "{m}");
    assert_eq!(metric(&m, "pixgate_cache_requests_total{cache=\"source\",outcome=\"hit\"}"), 3.0, "{m}");
}

fn purge() {
    let root = fixture();
    let p = Pixgate::start(&config(root.path(), ""));
    block(async {
        get(&p, W100).await;
        get(&p, "/photos/rocket.jpg?x-oss-process=image/resize,w_90").await;
        get(&p, "/photos/other.jpg?x-oss-process=image/resize,w_90").await;
        let admin = |q: &str| format!("{}/purge?{q}", p.admin);
        let r = client().post(admin("bucket=photos&key=rocket.jpg")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.text().await.unwrap().trim(), "{\"purged\": 3}", "two variants and the source");
        assert_eq!(get(&p, W100).await.1, "miss");
        assert_eq!(get(&p, "/photos/other.jpg?x-oss-process=image/resize,w_90").await.1, "hit");
        let r = client().post(admin("bucket=photos&prefix=")).send().await.unwrap();
        assert!(r.text().await.unwrap().contains("\"purged\": 4"));
        let r = client().post(admin("key=x")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let r = client().get(admin("bucket=photos&key=x")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    });
}

fn revalidation() {
    let root = fixture();
    let p = Pixgate::start(&config(root.path(), "ttl = \"1s\""));
    block(async {
        let (_, c, etag, _) = get(&p, W100).await;
        assert_eq!(c, "miss");
        tokio::time::sleep(Duration::from_millis(1200)).await;
        // Unchanged at the origin: a conditional request, then the cached variant.
        let (_, c, etag2, _) = get(&p, W100).await;
        assert_eq!((c.as_str(), etag2.as_str()), ("hit", etag.as_str()));
        // Changed at the origin: rendered again, with a new ETag.
        let other = std::fs::read(root.path().join("photos/other.jpg")).unwrap();
        let png = image::load_from_memory(&other).unwrap().grayscale();
        let mut changed = Vec::new();
        png.write_to(&mut std::io::Cursor::new(&mut changed), image::ImageFormat::Jpeg).unwrap();
        std::fs::write(root.path().join("photos/rocket.jpg"), &changed).unwrap();
        // The fs origin's validator has second resolution: make the mtime differ for sure.
        let t = std::time::SystemTime::now() + Duration::from_secs(5);
        std::fs::File::options()
            .write(true)
            .open(root.path().join("photos/rocket.jpg"))
            .unwrap()
            .set_modified(t)
            .unwrap();
        tokio::time::sleep(Duration::from_millis(1200)).await;
        let (_, c, etag3, _) = get(&p, W100).await;
        assert_eq!(c, "miss");
        assert_ne!(etag3, etag);
    });
    let m = p.wait_metric("pixgate_stage_duration_seconds_count{stage=\"decode\"}", 2.0);
    assert_eq!(metric(&m, "pixgate_stage_duration_seconds_count{stage=\"decode\"}"), 2.0, "{m}");
}

fn head() {
    let root = fixture();
    let p = Pixgate::start(&config(root.path(), ""));
    block(async {
        let r = client().head(p.url(W100)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["x-pixgate-cache"], "miss");
        let len: usize = r.headers()["content-length"].to_str().unwrap().parse().unwrap();
        assert!(r.bytes().await.unwrap().is_empty());
        let (_, c, _, body) = get(&p, W100).await;
        assert_eq!((c.as_str(), body.len()), ("hit", len));
    });
    let m = p.wait_metric("pixgate_stage_duration_seconds_count{stage=\"decode\"}", 1.0);
    assert_eq!(metric(&m, "pixgate_stage_duration_seconds_count{stage=\"decode\"}"), 1.0, "{m}");
}

fn bounded() {
    let root = fixture();
    let bound = 64 * 1024;
    let p = Pixgate::start(&config(root.path(), &format!("result_max_bytes = {bound}")));
    let mut largest = 0;
    block(async {
        for w in 100..130 {
            let (s, _, _, body) =
                get(&p, &format!("/photos/rocket.jpg?x-oss-process=image/resize,w_{w}/quality,q_100")).await;
            assert_eq!(s, StatusCode::OK);
            largest = largest.max(body.len());
        }
    });
    let m = p.metrics();
    let held = metric(&m, "pixgate_cache_bytes{cache=\"result\"}");
    assert!(held > 0.0 && held <= (bound + largest + 1024) as f64, "{held} > {bound} + {largest}\n{m}");
}

/// With no room for source bytes, a cached variant is still a hit: the source's validator is
/// remembered apart from its bytes, so the origin is not asked again within ttl.
fn without_source_bytes() {
    let root = fixture();
    let p = Pixgate::start(&config(root.path(), "source_max_bytes = 0"));
    block(async {
        let (_, c, etag, _) = get(&p, W100).await;
        assert_eq!(c, "miss");
        let (_, c, etag2, _) = get(&p, W100).await;
        assert_eq!((c.as_str(), etag2.as_str()), ("hit", etag.as_str()));
        let r = client().get(p.url(W100)).header("if-none-match", &etag).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
    });
    let m = p.wait_metric("pixgate_requests_total{route=\"process\",status=\"304\"}", 1.0);
    assert_eq!(metric(&m, "pixgate_origin_requests_total{outcome=\"ok\"}"), 1.0, "{m}");
}
