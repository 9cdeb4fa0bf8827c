//! The shared cache level on the object store: two Pixgate replicas in front of one S3 server
//! (and one folder) share their renders; a changed source is rendered again; an unreachable
//! shared bucket only costs the sharing; purge deletes the stored renders.

use std::path::Path;
use std::time::Duration;

use pixgate_tests::{Pixgate, S3_ACCESS_KEY, S3_SECRET_KEY, S3Server, metric};
use reqwest::StatusCode;

use crate::block;

pub const TESTS: &[(&str, fn())] = &[
    ("shared::a_second_replica_serves_the_first_ones_render", two_replicas),
    ("shared::an_unreachable_shared_bucket_degrades_to_rendering", unreachable),
    ("shared::works_on_a_folder_and_purge_deletes_stored_renders", folder_and_purge),
];

const W100: &str = "/photos/rocket.jpg?x-oss-process=image/resize,w_100";

fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("photos")).expect("mkdir");
    std::fs::create_dir_all(dir.path().join("render-cache")).expect("mkdir");
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/photos/rocket.jpg");
    std::fs::copy(sample, dir.path().join("photos/rocket.jpg")).expect("copy");
    dir
}

fn s3_config(endpoint: &str, extra: &str) -> String {
    format!(
        "[origin]\nkind = \"s3\"\nendpoint = \"{endpoint}\"\nregion = \"us-east-1\"\nforce_path_style = true\n\
         access_key_id = \"{S3_ACCESS_KEY}\"\nsecret_access_key = \"{S3_SECRET_KEY}\"\n{extra}"
    )
}

const SHARED: &str = "[cache.shared]\nbucket = \"render-cache\"\nprefix = \"v/\"\n";

async fn get(p: &Pixgate, path: &str) -> (StatusCode, String, Vec<u8>) {
    let r = reqwest::Client::builder().no_proxy().build().unwrap().get(p.url(path)).send().await.unwrap();
    let cache =
        r.headers().get("x-pixgate-cache").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    (r.status(), cache, r.bytes().await.unwrap().to_vec())
}

fn stored_renders(root: &Path) -> usize {
    fn walk(d: &Path) -> usize {
        std::fs::read_dir(d)
            .map(|it| it.flatten().map(|e| if e.path().is_dir() { walk(&e.path()) } else { 1 }).sum())
            .unwrap_or(0)
    }
    walk(&root.join("render-cache"))
}

fn two_replicas() {
    let root = fixture();
    let s3 = S3Server::start(root.path());
    // A short ttl on the second replica so that it notices the changed source quickly.
    let a = Pixgate::start(&s3_config(&s3.endpoint, SHARED));
    let b = Pixgate::start(&s3_config(&s3.endpoint, &format!("[cache]\nttl = \"1s\"\n{SHARED}")));
    block(async {
        let (s, c, first) = get(&a, W100).await;
        assert_eq!((s, c.as_str()), (StatusCode::OK, "miss"));
        a.wait_metric("pixgate_shared_writes_total{outcome=\"ok\"}", 1.0);
        assert_eq!(stored_renders(root.path()), 1);

        let (s, c, second) = get(&b, W100).await;
        assert_eq!((s, c.as_str()), (StatusCode::OK, "shared"));
        assert_eq!(first, second, "the same bytes");
        let m = b.metrics();
        assert_eq!(metric(&m, "pixgate_cache_requests_total{cache=\"shared\",outcome=\"hit\"}"), 1.0, "{m}");
        // No render: nothing was decoded; one HEAD and one GET at the origin.
        assert_eq!(metric(&m, "pixgate_stage_duration_seconds_count{stage=\"decode\"}"), 0.0, "{m}");
        assert_eq!(metric(&m, "pixgate_origin_requests_total{outcome=\"ok\"}"), 2.0, "{m}");
        // Then it is a memory hit.
        assert_eq!(get(&b, W100).await.1, "hit");

        // The source changes: the stored render is not served for it.
        let other = Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/photos/retina.jpg");
        std::fs::copy(other, root.path().join("photos/rocket.jpg")).unwrap();
        tokio::time::sleep(Duration::from_millis(1200)).await;
        let (s, c, changed) = get(&b, W100).await;
        assert_eq!((s, c.as_str()), (StatusCode::OK, "miss"));
        assert_ne!(changed, first);
        let m = b.wait_metric("pixgate_shared_writes_total{outcome=\"ok\"}", 1.0);
        assert_eq!(metric(&m, "pixgate_stage_duration_seconds_count{stage=\"decode\"}"), 1.0, "{m}");
    });
}

fn unreachable() {
    let root = fixture();
    // A file where the bucket's folder would be: every read and write of it fails.
    std::fs::write(root.path().join("blocked"), b"not a bucket").unwrap();
    let s3 = S3Server::start(root.path());
    let p = Pixgate::start(&s3_config(&s3.endpoint, "[cache.shared]\nbucket = \"blocked\"\n"));
    block(async {
        let (s, c, body) = get(&p, W100).await;
        assert_eq!((s, c.as_str()), (StatusCode::OK, "miss"));
        assert_eq!(&body[..2], b"\xff\xd8");
    });
    let m = p.wait_metric("pixgate_shared_writes_total{outcome=\"error\"}", 1.0);
    assert_eq!(metric(&m, "pixgate_shared_writes_total{outcome=\"error\"}"), 1.0, "{m}");
}

fn folder_and_purge() {
    let root = fixture();
    let config = format!("[origin]\nkind = \"fs\"\nroot = \"{}\"\n{SHARED}", root.path().display());
    let a = Pixgate::start(&config);
    let b = Pixgate::start(&config);
    block(async {
        for w in [100, 120] {
            let path = format!("/photos/rocket.jpg?x-oss-process=image/resize,w_{w}");
            assert_eq!(get(&a, &path).await.1, "miss");
        }
        a.wait_metric("pixgate_shared_writes_total{outcome=\"ok\"}", 2.0);
        assert_eq!(get(&b, W100).await.1, "shared");
        assert!(root.path().join("render-cache/v/photos/rocket.jpg").is_dir());
        // The shared bucket is not served as a bucket of its own.
        let stored = std::fs::read_dir(root.path().join("render-cache/v/photos/rocket.jpg")).unwrap();
        let name = stored.flatten().next().unwrap().file_name().into_string().unwrap();
        let (status, _, _) = get(&a, &format!("/render-cache/v/photos/rocket.jpg/{name}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let admin = format!("{}/purge?bucket=photos&key=rocket.jpg", a.admin);
        let r = reqwest::Client::builder().no_proxy().build().unwrap().post(admin).send().await.unwrap();
        let text = r.text().await.unwrap();
        assert!(text.contains("\"shared\": 2"), "{text}");
        assert_eq!(stored_renders(root.path()), 0);
        // The other replica still has its memory copy; a third request elsewhere renders again.
        let c = Pixgate::start(&config);
        assert_eq!(get(&c, W100).await.1, "miss");
    });
}
