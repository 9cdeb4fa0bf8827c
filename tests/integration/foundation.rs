//! The foundation: originals from both origins, addressing, HTTP semantics, errors, config,
//! admin endpoints and signals.

use std::path::Path;

use pixgate_tests::{
    Pixgate, S3_ACCESS_KEY, S3_SECRET_KEY, S3Server, SilentServer, metric, noise, raw_request, run_to_exit,
    xml_field,
};
use reqwest::StatusCode;

use crate::block;

pub const TESTS: &[(&str, fn())] = &[
    ("foundation::originals_are_byte_identical_from_fs", originals_fs),
    ("foundation::originals_are_byte_identical_from_s3", originals_s3),
    ("foundation::head_has_headers_and_no_body", head_requests),
    ("foundation::ranges_from_both_origins", ranges),
    ("foundation::conditional_requests_give_304", conditionals),
    ("foundation::missing_key_and_bucket", missing),
    ("foundation::virtual_hosted_and_custom_domain", addressing),
    ("foundation::odd_keys_are_decoded", odd_keys),
    ("foundation::origin_down_is_502", origin_down),
    ("foundation::origin_slower_than_timeout_is_504", origin_slow),
    ("foundation::bad_config_exits_2_listing_every_problem", bad_config),
    ("foundation::check_config_prints_the_effective_config", check_config),
    ("foundation::traversal_is_refused_on_fs", traversal),
    ("foundation::other_methods_are_405", methods),
    ("foundation::admin_endpoints_and_metrics", admin),
    ("foundation::sigterm_drains_and_exits_0", sigterm),
];

const HELLO: &[u8] = b"hello pixgate\n";

/// A folder that serves as both origins: buckets `photos` and `other`, plus a file outside.
fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let photos = dir.path().join("photos");
    std::fs::create_dir_all(photos.join("dir")).expect("mkdir");
    std::fs::create_dir_all(dir.path().join("other")).expect("mkdir");
    std::fs::write(photos.join("hello.txt"), HELLO).expect("write");
    std::fs::write(photos.join("big.bin"), noise(3 << 20, 7)).expect("write");
    std::fs::write(photos.join("a b.txt"), b"space").expect("write");
    std::fs::write(photos.join("a+b.txt"), b"plus").expect("write");
    std::fs::write(photos.join("猫.txt"), b"cat").expect("write");
    std::fs::write(photos.join("dir/nested.txt"), b"nested").expect("write");
    std::fs::write(dir.path().join("other/x.txt"), b"other").expect("write");
    let jpeg = Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/photos/rocket.jpg");
    std::fs::copy(jpeg, photos.join("rocket.jpg")).expect("copy sample");
    std::fs::write(dir.path().join("secret.txt"), b"secret").expect("write");
    dir
}

fn fs_config(root: &Path, extra: &str) -> String {
    format!(
        "[origin]\nkind = \"fs\"\nroot = \"{}\"\n[server]\ndomains = [\"img.test\"]\n\
         [buckets.photos]\ndomains = [\"cdn.test\"]\n{extra}",
        root.display()
    )
}

fn s3_config(endpoint: &str, extra: &str) -> String {
    format!(
        "[origin]\nkind = \"s3\"\nendpoint = \"{endpoint}\"\nregion = \"us-east-1\"\nforce_path_style = true\n\
         access_key_id = \"{S3_ACCESS_KEY}\"\nsecret_access_key = \"{S3_SECRET_KEY}\"\n{extra}"
    )
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().expect("client")
}

async fn get(url: &str) -> reqwest::Response {
    client().get(url).send().await.expect("request")
}

fn expected_files(root: &Path) -> Vec<(&'static str, Vec<u8>)> {
    ["hello.txt", "big.bin", "rocket.jpg", "dir/nested.txt"]
        .into_iter()
        .map(|k| (k, std::fs::read(root.join("photos").join(k)).expect("read")))
        .collect()
}

async fn check_originals(p: &Pixgate, root: &Path) {
    for (key, bytes) in expected_files(root) {
        let r = get(&p.url(&format!("/photos/{key}"))).await;
        assert_eq!(r.status(), StatusCode::OK, "{key}");
        let h = r.headers().clone();
        assert!(h.contains_key("x-oss-request-id"), "{key}");
        assert!(h.get("etag").is_some_and(|e| e.to_str().unwrap().starts_with('"')), "{key}");
        assert!(h.contains_key("last-modified"), "{key}");
        assert_eq!(h["content-length"].to_str().unwrap(), bytes.len().to_string(), "{key}");
        let body = r.bytes().await.expect("body");
        assert!(body[..] == bytes[..], "{key}: body differs");
        let ct = h["content-type"].to_str().unwrap();
        match key {
            "rocket.jpg" => assert_eq!(ct, "image/jpeg"),
            "hello.txt" | "dir/nested.txt" => assert!(ct.starts_with("text/plain"), "{ct}"),
            _ => {}
        }
    }
}

fn originals_fs() {
    let root = fixture();
    let p = Pixgate::start(&fs_config(root.path(), ""));
    block(check_originals(&p, root.path()));
}

fn originals_s3() {
    let root = fixture();
    let s3 = S3Server::start(root.path());
    let p = Pixgate::start(&s3_config(&s3.endpoint, ""));
    block(check_originals(&p, root.path()));
    let m = p.wait_metric("pixgate_origin_requests_total{outcome=\"ok\"}", 4.0);
    assert!(metric(&m, "pixgate_origin_requests_total{outcome=\"ok\"}") >= 4.0, "{m}");
}

fn head_requests() {
    let root = fixture();
    let s3 = S3Server::start(root.path());
    for config in [fs_config(root.path(), ""), s3_config(&s3.endpoint, "")] {
        let p = Pixgate::start(&config);
        block(async {
            let r = client().head(p.url("/photos/rocket.jpg")).send().await.expect("head");
            assert_eq!(r.status(), StatusCode::OK);
            let len = std::fs::metadata(root.path().join("photos/rocket.jpg")).unwrap().len();
            assert_eq!(r.headers()["content-length"].to_str().unwrap(), len.to_string());
            assert_eq!(r.headers()["content-type"], "image/jpeg");
            assert!(r.headers().contains_key("etag"));
            assert!(r.bytes().await.unwrap().is_empty());
            let r = client().head(p.url("/photos/nope.jpg")).send().await.expect("head");
            assert_eq!(r.status(), StatusCode::NOT_FOUND);
        });
    }
}

fn ranges() {
    let root = fixture();
    let s3 = S3Server::start(root.path());
    let big = std::fs::read(root.path().join("photos/big.bin")).unwrap();
    for config in [fs_config(root.path(), ""), s3_config(&s3.endpoint, "")] {
        let p = Pixgate::start(&config);
        block(async {
            let url = p.url("/photos/big.bin");
            for (range, a, b) in [
                ("bytes=0-9", 0, 9),
                ("bytes=1000-", 1000, big.len() - 1),
                ("bytes=-5", big.len() - 5, big.len() - 1),
            ] {
                let r = client().get(&url).header("range", range).send().await.unwrap();
                assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT, "{range}");
                assert_eq!(
                    r.headers()["content-range"].to_str().unwrap(),
                    format!("bytes {a}-{b}/{}", big.len()),
                    "{range}"
                );
                let body = r.bytes().await.unwrap();
                assert!(body[..] == big[a..=b], "{range}");
            }
            let r = client().get(&url).header("range", format!("bytes={}-", big.len())).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::RANGE_NOT_SATISFIABLE);
            let body = r.text().await.unwrap();
            assert_eq!(xml_field(&body, "Code").as_deref(), Some("InvalidRange"));
        });
    }
}

fn conditionals() {
    let root = fixture();
    let s3 = S3Server::start(root.path());
    for config in [fs_config(root.path(), ""), s3_config(&s3.endpoint, "")] {
        let p = Pixgate::start(&config);
        block(async {
            let url = p.url("/photos/hello.txt");
            let r = get(&url).await;
            let etag = r.headers()["etag"].to_str().unwrap().to_string();
            let lm = r.headers()["last-modified"].to_str().unwrap().to_string();
            let r = client().get(&url).header("if-none-match", &etag).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
            assert!(r.bytes().await.unwrap().is_empty());
            let r = client().get(&url).header("if-none-match", "\"other\"").send().await.unwrap();
            assert_eq!(r.status(), StatusCode::OK);
            let r = client().get(&url).header("if-modified-since", &lm).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
            let r = client()
                .get(&url)
                .header("if-modified-since", "Thu, 01 Jan 2004 00:00:00 GMT")
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::OK);
            assert_eq!(&r.bytes().await.unwrap()[..], HELLO);
            let r = client().head(&url).header("if-none-match", &etag).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
        });
    }
}

fn missing() {
    let root = fixture();
    let s3 = S3Server::start(root.path());
    for config in [fs_config(root.path(), ""), s3_config(&s3.endpoint, "")] {
        let p = Pixgate::start(&config);
        block(async {
            let r = get(&p.url("/photos/nope.jpg")).await;
            assert_eq!(r.status(), StatusCode::NOT_FOUND);
            assert_eq!(r.headers()["content-type"], "application/xml");
            let id = r.headers()["x-oss-request-id"].to_str().unwrap().to_string();
            let body = r.text().await.unwrap();
            assert_eq!(xml_field(&body, "Code").as_deref(), Some("NoSuchKey"), "{body}");
            assert_eq!(xml_field(&body, "RequestId").as_deref(), Some(id.as_str()));
            assert!(body.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>"));
            let r = get(&p.url("/nobucket/x.jpg")).await;
            assert_eq!(r.status(), StatusCode::NOT_FOUND);
            assert_eq!(xml_field(&r.text().await.unwrap(), "Code").as_deref(), Some("NoSuchBucket"));
        });
    }
}

fn addressing() {
    let root = fixture();
    std::fs::create_dir_all(root.path().join("store")).unwrap();
    std::fs::write(root.path().join("store/hello.txt"), HELLO).unwrap();
    let p = Pixgate::start(&fs_config(
        root.path(),
        "[buckets.alias]\norigin_bucket = \"store\"\ndomains = [\"alias.test\"]\n",
    ));
    block(async {
        // Custom domain of bucket photos.
        let r = client().get(p.url("/hello.txt")).header("host", "cdn.test").send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(&r.bytes().await.unwrap()[..], HELLO);
        // Virtual-hosted: <bucket>.img.test.
        let r = client().get(p.url("/x.txt")).header("host", "other.img.test:8080").send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(&r.bytes().await.unwrap()[..], b"other");
        // Path-style on an IP host.
        let r = get(&p.url("/other/x.txt")).await;
        assert_eq!(&r.bytes().await.unwrap()[..], b"other");
        // A configured bucket's origin storage is not reachable under its own name.
        let r = get(&p.url("/store/hello.txt")).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        assert_eq!(xml_field(&r.text().await.unwrap(), "Code").as_deref(), Some("NoSuchBucket"));
        let r = client().get(p.url("/hello.txt")).header("host", "alias.test").send().await.unwrap();
        assert_eq!(&r.bytes().await.unwrap()[..], HELLO);
    });
}

fn odd_keys() {
    let root = fixture();
    let s3 = S3Server::start(root.path());
    for config in [fs_config(root.path(), ""), s3_config(&s3.endpoint, "")] {
        let p = Pixgate::start(&config);
        block(async {
            for (path, body) in [
                ("/photos/a%20b.txt", &b"space"[..]),
                ("/photos/a+b.txt", b"plus"),
                ("/photos/a%2Bb.txt", b"plus"),
                ("/photos/%E7%8C%AB.txt", b"cat"),
            ] {
                let r = get(&p.url(path)).await;
                assert_eq!(r.status(), StatusCode::OK, "{path}");
                assert_eq!(&r.bytes().await.unwrap()[..], body, "{path}");
            }
        });
    }
}

fn origin_down() {
    let port = pixgate_tests::free_port();
    let p = Pixgate::start(&s3_config(
        &format!("http://127.0.0.1:{port}"),
        "[server]\norigin_timeout = \"5s\"\n",
    ));
    block(async {
        let r = get(&p.url("/photos/hello.txt")).await;
        assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
        let body = r.text().await.unwrap();
        assert_eq!(xml_field(&body, "Code").as_deref(), Some("BadGateway"));
        assert!(!body.contains(&port.to_string()), "internals leaked: {body}");
    });
    // The origin's failure is a `warn` access line that keeps the detail the body leaves out.
    let logs = p.wait_logs("fault=\"origin\"");
    let line = logs.lines().find(|l| l.contains("fault=\"origin\"")).unwrap_or_else(|| panic!("{logs}"));
    assert!(line.contains(" WARN pixgate::access: method=\"GET\" bucket=\"photos\""), "{line}");
    assert!(line.contains("status=502") && !line.contains(" error=\"\""), "{line}");
    assert!(
        metric(
            &p.wait_metric("pixgate_origin_requests_total{outcome=\"error\"}", 1.0),
            "pixgate_origin_requests_total{outcome=\"error\"}"
        ) >= 1.0
    );
}

fn origin_slow() {
    let silent = SilentServer::start();
    let p = Pixgate::start(&s3_config(
        &format!("http://{}", silent.addr),
        "[server]\norigin_timeout = \"300ms\"\n",
    ));
    block(async {
        let start = std::time::Instant::now();
        let r = get(&p.url("/photos/hello.txt")).await;
        assert_eq!(r.status(), StatusCode::GATEWAY_TIMEOUT);
        assert!(start.elapsed() < std::time::Duration::from_secs(5));
        assert_eq!(xml_field(&r.text().await.unwrap(), "Code").as_deref(), Some("GatewayTimeout"));
    });
    assert!(
        metric(
            &p.wait_metric("pixgate_origin_requests_total{outcome=\"timeout\"}", 1.0),
            "pixgate_origin_requests_total{outcome=\"timeout\"}"
        ) >= 1.0
    );
}

fn bad_config() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "[server]\nlisten = \"not-an-address\"\nrequest_timeout = \"soon\"\n[origin]\nkind = \"ftp\"\n\
         [cache]\nquery = \"sometimes\"\n[buckets.photos]\nacl = \"open\"\n",
    )
    .unwrap();
    let out = run_to_exit(&["--config", path.to_str().unwrap()]);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 5, "{}", out.stderr);
    for key in ["server.listen", "server.request_timeout", "origin.kind", "cache.query", "buckets.photos.acl"]
    {
        assert!(lines.iter().any(|l| l.contains(key)), "{key} missing from:\n{}", out.stderr);
    }
    // Unknown keys and wrong types are reported together too.
    std::fs::write(&path, "[server]\nlisten = 5\nworkerz = 2\n[cache]\nttl = true\n").unwrap();
    let out = run_to_exit(&["--config", path.to_str().unwrap()]);
    assert_eq!(out.code, Some(2));
    assert_eq!(out.stderr.lines().count(), 3, "{}", out.stderr);
    // A style whose content does not parse is a configuration error.
    std::fs::write(&path, "[buckets.photos.styles]\nsmall = \"image/resize,w_0\"\n").unwrap();
    let out = run_to_exit(&["--config", path.to_str().unwrap(), "--root", dir.path().to_str().unwrap()]);
    assert_eq!(out.code, Some(2));
    assert!(out.stderr.contains("buckets.photos.styles.small"), "{}", out.stderr);
}

fn check_config() {
    let root = fixture();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(
        &path,
        fs_config(root.path(), "[buckets.photos.styles]\nsmall = \"image/resize,w_100\"\n"),
    )
    .unwrap();
    let out = run_to_exit(&["check-config", "--config", path.to_str().unwrap()]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stdout.contains("[server]") && out.stdout.contains("queue = 256"), "{}", out.stdout);
    assert!(out.stdout.contains("small = \"image/resize,w_100\""), "{}", out.stdout);
    // The reference configuration in deploy/ is valid and complete.
    let reference = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/config/pixgate.toml");
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples");
    let out = run_to_exit(&[
        "check-config",
        "--config",
        reference.to_str().unwrap(),
        "--root",
        samples.to_str().unwrap(),
    ]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    std::fs::write(&path, "[origin]\nkind = \"nope\"\n").unwrap();
    let out = run_to_exit(&["check-config", "--config", path.to_str().unwrap()]);
    assert_eq!(out.code, Some(1));
    assert!(out.stderr.contains("origin.kind"));
}

fn traversal() {
    let root = fixture();
    let p = Pixgate::start(&fs_config(root.path(), ""));
    let addr = p.addr.to_string();
    for path in [
        "/photos/..%2Fsecret.txt",
        "/photos/%2E%2E/secret.txt",
        "/photos/dir/..%2F..%2Fsecret.txt",
        "/photos/%2Fetc%2Fpasswd",
        "/photos/a%00b",
        "/..%2Fsecret.txt/x",
    ] {
        let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        let (status, text) = raw_request(&addr, &req).unwrap();
        assert!(matches!(status, 400 | 404), "{path}: {status}\n{text}");
        assert!(!text.contains("secret\n") && !text.contains("root:"), "{path} leaked: {text}");
    }
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(root.path().join("secret.txt"), root.path().join("photos/link.txt"))
            .unwrap();
        let (status, text) = pixgate_tests::raw_get(&addr, "/photos/link.txt").unwrap();
        assert_eq!(status, 404, "{text}");
        assert!(!text.contains("secret"), "{text}");
    }
}

fn methods() {
    let root = fixture();
    let p = Pixgate::start(&fs_config(root.path(), ""));
    block(async {
        for m in ["PUT", "DELETE", "PATCH"] {
            let r = client()
                .request(reqwest::Method::from_bytes(m.as_bytes()).unwrap(), p.url("/photos/hello.txt"))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED, "{m}");
            assert_eq!(xml_field(&r.text().await.unwrap(), "Code").as_deref(), Some("MethodNotAllowed"));
        }
    });
}

fn admin() {
    let root = fixture();
    let p = Pixgate::start(&fs_config(root.path(), ""));
    block(async {
        for path in ["/healthz", "/readyz"] {
            let r = get(&format!("{}{path}", p.admin)).await;
            assert_eq!(r.status(), StatusCode::OK, "{path}");
        }
        get(&p.url("/photos/hello.txt")).await.bytes().await.unwrap();
        get(&p.url("/photos/nope")).await.bytes().await.unwrap();
    });
    let m = p.wait_metric("pixgate_requests_total{route=\"original\",status=\"404\"}", 1.0);
    assert_eq!(metric(&m, "pixgate_requests_total{route=\"original\",status=\"200\"}"), 1.0, "{m}");
    assert_eq!(metric(&m, "pixgate_requests_total{route=\"original\",status=\"404\"}"), 1.0, "{m}");
    assert!(metric(&m, "pixgate_request_duration_seconds_count{route=\"original\"}") >= 2.0, "{m}");
    assert!(m.contains("process_resident_memory_bytes"), "{m}");
    // One access-log line per request, with the request id.
    p.wait_logs("key=\"hello.txt\"");
    std::thread::sleep(std::time::Duration::from_millis(100));
    let logs = p.logs();
    assert_eq!(
        logs.lines().filter(|l| l.contains("pixgate::access") && l.contains("key=\"hello.txt\"")).count(),
        1,
        "{logs}"
    );
}

fn sigterm() {
    let root = fixture();
    let p = Pixgate::start(&fs_config(root.path(), ""));
    let start = std::time::Instant::now();
    let status = p.signal_and_wait("TERM");
    assert_eq!(status.code(), Some(0));
    assert!(start.elapsed() < std::time::Duration::from_secs(5), "{:?}", start.elapsed());
}
