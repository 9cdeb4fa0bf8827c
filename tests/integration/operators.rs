//! What an operator meets first: the environment Kubernetes gives a pod, `check-config`, the
//! admin token, Cache-Control in front of shared caches, the access log, build information.

use std::path::Path;

use base64::Engine;
use pixgate_tests::{Pixgate, S3_ACCESS_KEY, S3_SECRET_KEY, S3Server, raw_request, run_to_exit_with_env};

use crate::block;

pub const TESTS: &[(&str, fn())] = &[
    ("operators::kubernetes_service_links_do_not_stop_pixgate", service_links),
    ("operators::check_config_reads_the_global_config_and_hides_secrets", check_config),
    ("operators::purge_needs_the_admin_token", admin_token),
    ("operators::cache_control_of_objects_buckets_and_private_content", cache_control),
    ("operators::access_log_explains_requests_and_has_its_own_switch", access_log),
    ("operators::version_and_build_info_name_the_features", build_info),
];

fn photos() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for b in ["photos", "guarded", "private", "short"] {
        std::fs::create_dir_all(dir.path().join(b)).expect("mkdir");
        let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/photos/rocket.jpg");
        std::fs::copy(&sample, dir.path().join(b).join("rocket.jpg")).expect("copy");
    }
    dir
}

fn fs_config(root: &Path, extra: &str) -> String {
    format!("[origin]\nkind = \"fs\"\nroot = \"{}\"\n{extra}", root.display())
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().expect("client")
}

/// What the kubelet injects into a pod for Services named `pixgate` and `pixgate-admin`.
const SERVICE_LINKS: &[(&str, &str)] = &[
    ("PIXGATE_SERVICE_HOST", "10.96.0.10"),
    ("PIXGATE_SERVICE_PORT", "80"),
    ("PIXGATE_SERVICE_PORT_HTTP", "80"),
    ("PIXGATE_PORT", "tcp://10.96.0.10:80"),
    ("PIXGATE_PORT_80_TCP", "tcp://10.96.0.10:80"),
    ("PIXGATE_PORT_80_TCP_PROTO", "tcp"),
    ("PIXGATE_PORT_80_TCP_PORT", "80"),
    ("PIXGATE_PORT_80_TCP_ADDR", "10.96.0.10"),
    ("PIXGATE_ADMIN_SERVICE_HOST", "10.96.0.11"),
    ("PIXGATE_ADMIN_PORT_9090_TCP_ADDR", "10.96.0.11"),
];

fn service_links() {
    let root = photos();
    let p = Pixgate::start_with_env(&fs_config(root.path(), ""), SERVICE_LINKS);
    let (status, _) = raw_request(&p.addr.to_string(), "HEAD /photos/rocket.jpg HTTP/1.0\r\n\r\n").unwrap();
    assert_eq!(status, 200);
    // A misspelt key still stops the process, with exit code 2.
    let file = root.path().join("c.toml");
    std::fs::write(&file, fs_config(root.path(), "")).unwrap();
    let mut env = SERVICE_LINKS.to_vec();
    env.push(("PIXGATE_SERVER_LISTN", "0.0.0.0:8080"));
    let out = run_to_exit_with_env(&["--config", file.to_str().unwrap()], &env);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("PIXGATE_SERVER_LISTN: not a configuration key"), "{}", out.stderr);
    assert!(!out.stderr.contains("SERVICE_HOST") && !out.stderr.contains("PORT_80"), "{}", out.stderr);
}

fn check_config() {
    let root = photos();
    let file = root.path().join("pixgate.toml");
    std::fs::write(
        &file,
        fs_config(
            root.path(),
            "[server]\nqueue = 77\nadmin_token = \"admintok\"\n\
             [[credentials]]\naccess_key_id = \"AKID\"\naccess_key_secret = \"topsecret\"\n",
        ),
    )
    .unwrap();
    // `--config` before the subcommand: the file is what is checked, not the defaults.
    let out = run_to_exit_with_env(&["--config", file.to_str().unwrap(), "check-config"], &[]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stdout.contains("queue = 77"), "{}", out.stdout);
    assert!(out.stdout.contains("access_key_id = \"AKID\""), "{}", out.stdout);
    assert!(!out.stdout.contains("topsecret") && !out.stdout.contains("admintok"), "{}", out.stdout);
    assert!(out.stdout.contains("<redacted>"), "{}", out.stdout);
    // ... and after it, as before.
    let out = run_to_exit_with_env(&["check-config", "--config", file.to_str().unwrap()], &[]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stdout.contains("queue = 77"), "{}", out.stdout);
    // An invalid file is reported.
    std::fs::write(&file, fs_config(root.path(), "[server]\nqueue = \"many\"\n")).unwrap();
    let out = run_to_exit_with_env(&["--config", file.to_str().unwrap(), "check-config"], &[]);
    assert_eq!(out.code, Some(1), "{}", out.stdout);
}

fn admin_token() {
    let root = photos();
    let p = Pixgate::start(&fs_config(root.path(), "[server]\nadmin_token = \"s3cret-token\"\n"));
    let open = Pixgate::start(&fs_config(root.path(), ""));
    block(async {
        let purge = |p: &Pixgate, auth: Option<&str>| {
            let mut req = client().post(format!("{}/purge?bucket=photos&key=rocket.jpg", p.admin));
            if let Some(a) = auth {
                req = req.header("authorization", a);
            }
            req.send()
        };
        let r = purge(&p, None).await.unwrap();
        assert_eq!(r.status(), 401);
        assert_eq!(r.headers()["www-authenticate"], "Bearer");
        assert_eq!(purge(&p, Some("Bearer wrong")).await.unwrap().status(), 401);
        assert_eq!(purge(&p, Some("s3cret-token")).await.unwrap().status(), 401);
        let r = purge(&p, Some("Bearer s3cret-token")).await.unwrap();
        assert_eq!(r.status(), 200);
        assert!(r.text().await.unwrap().contains("\"purged\""));
        // Probes and scrapes need no token.
        for path in ["/metrics", "/healthz", "/readyz"] {
            let r = client().get(format!("{}{path}", p.admin)).send().await.unwrap();
            assert_eq!(r.status(), 200, "{path}");
        }
        // Without a token set, purge stays open (a loopback admin listener, the default).
        assert_eq!(purge(&open, None).await.unwrap().status(), 200);
    });
}

const AK: &str = "AKIDOPS";
const SK: &str = "ops-secret";

/// A V1 presigned URL (the OSS formula: HMAC-SHA1 over verb, dates, expiry and resource).
fn presign(bucket: &str, key: &str, process: Option<&str>) -> String {
    use hmac::{Hmac, KeyInit, Mac};
    let expires = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() + 300;
    let resource = match process {
        Some(p) => format!("/{bucket}/{key}?x-oss-process={p}"),
        None => format!("/{bucket}/{key}"),
    };
    let mut mac = <Hmac<sha1::Sha1> as KeyInit>::new_from_slice(SK.as_bytes()).unwrap();
    mac.update(format!("GET\n\n\n{expires}\n{resource}").as_bytes());
    let sig = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    let process = process.map(|p| format!("&x-oss-process={}", enc(p))).unwrap_or_default();
    format!("/{bucket}/{key}?OSSAccessKeyId={AK}&Expires={expires}&Signature={}{process}", enc(&sig))
}

async fn cache_control_of(p: &Pixgate, path: String) -> String {
    let r = client().get(p.url(&path)).send().await.expect("request");
    assert_eq!(r.status(), 200, "{path}");
    r.headers()["cache-control"].to_str().unwrap().to_string()
}

fn cache_control() {
    let root = photos();
    let config = fs_config(
        root.path(),
        &format!(
            "[[credentials]]\naccess_key_id = \"{AK}\"\naccess_key_secret = \"{SK}\"\n\
             [buckets.private]\nacl = \"private\"\n[buckets.short]\ncache_control = \"public, max-age=60\"\n"
        ),
    );
    let p = Pixgate::start(&config);
    let cc = |path: String| cache_control_of(&p, path);
    block(async {
        let thumb = Some("image/resize,w_20");
        assert_eq!(cc("/photos/rocket.jpg".into()).await, "public, max-age=86400");
        assert_eq!(
            cc("/photos/rocket.jpg?x-oss-process=image/resize,w_20".into()).await,
            "public, max-age=86400"
        );
        // Signed requests and private buckets: never public, originals and variants alike.
        assert_eq!(cc(presign("photos", "rocket.jpg", None)).await, "private, max-age=86400");
        assert_eq!(cc(presign("photos", "rocket.jpg", thumb)).await, "private, max-age=86400");
        assert_eq!(cc(presign("private", "rocket.jpg", None)).await, "private, max-age=86400");
        assert_eq!(cc(presign("private", "rocket.jpg", thumb)).await, "private, max-age=86400");
        // The bucket's own value.
        assert_eq!(cc("/short/rocket.jpg".into()).await, "public, max-age=60");
        assert_eq!(
            cc("/short/rocket.jpg?x-oss-process=image/resize,w_20".into()).await,
            "public, max-age=60"
        );
        assert_eq!(cc(presign("short", "rocket.jpg", thumb)).await, "private, max-age=60");
        // A 304 carries it too.
        let r = client().get(p.url(&presign("private", "rocket.jpg", thumb))).send().await.unwrap();
        let etag = r.headers()["etag"].to_str().unwrap().to_string();
        let r = client()
            .get(p.url(&presign("private", "rocket.jpg", thumb)))
            .header("if-none-match", etag)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 304);
        assert_eq!(r.headers()["cache-control"], "private, max-age=86400");
    });

    // An object's own Cache-Control (S3 metadata) passes through on originals.
    let store = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(store.path().join("media")).unwrap();
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/photos/rocket.jpg");
    std::fs::copy(&sample, store.path().join("media/rocket.jpg")).unwrap();
    std::fs::copy(&sample, store.path().join("media/plain.jpg")).unwrap();
    // s3s-fs keeps an object's standard attributes beside it, as a PUT with Cache-Control would.
    let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    let meta =
        store.path().join(format!(".bucket-{}.object-{}.metadata.json", b64("media"), b64("rocket.jpg")));
    std::fs::write(&meta, r#"{"cache_control":"public, max-age=31536000, immutable"}"#).unwrap();
    let s3 = S3Server::start(store.path());
    let p2 = Pixgate::start(&format!(
        "[origin]\nkind = \"s3\"\nendpoint = \"{}\"\nforce_path_style = true\nregion = \"us-east-1\"\n\
         access_key_id = \"{S3_ACCESS_KEY}\"\nsecret_access_key = \"{S3_SECRET_KEY}\"\n\
         [[credentials]]\naccess_key_id = \"{AK}\"\naccess_key_secret = \"{SK}\"\n",
        s3.endpoint
    ));
    let cc = |path: String| cache_control_of(&p2, path);
    block(async {
        assert_eq!(cc("/media/rocket.jpg".into()).await, "public, max-age=31536000, immutable");
        assert_eq!(cc("/media/plain.jpg".into()).await, "public, max-age=86400");
        assert_eq!(cc(presign("media", "rocket.jpg", None)).await, "private, max-age=31536000, immutable");
        // Variants take the configured value: the object's applies to its own bytes.
        assert_eq!(
            cc("/media/rocket.jpg?x-oss-process=image/resize,w_20".into()).await,
            "public, max-age=86400"
        );
    });
}

fn access_log() {
    let root = photos();
    let config = fs_config(
        root.path(),
        "[buckets.guarded]\nreferers = [\"*.good.test\"]\nallow_empty_referer = false\n",
    );
    // A quieter level for everything else keeps the access log.
    let p = Pixgate::start_with_env(&config, &[("PIXGATE_LOG", "warn")]);
    block(async {
        let r = client()
            .get(p.url("/photos/rocket.jpg?x-oss-process=image/resize,w_10"))
            .header("x-request-id", "trace-abc-123")
            .header("user-agent", "ops-test/1.0")
            .header("x-forwarded-for", "203.0.113.9")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["x-request-id"], "trace-abc-123");
        let r = client()
            .get(p.url("/guarded/rocket.jpg"))
            .header("referer", "https://evil.test/page")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
        assert!(r.headers().get("x-request-id").is_none());
    });
    let logs = p.wait_logs("evil.test");
    let line = logs.lines().find(|l| l.contains("trace-abc-123")).unwrap_or_else(|| panic!("{logs}"));
    for field in [
        "pixgate::access",
        "user_agent=\"ops-test/1.0\"",
        "forwarded_for=\"203.0.113.9\"",
        "client=\"127.0.0.1:",
    ] {
        assert!(line.contains(field), "{field} in {line}");
    }
    // The refused hotlink, explained by its own line: who, from where, and why.
    let line = logs.lines().find(|l| l.contains("evil.test")).unwrap_or_else(|| panic!("{logs}"));
    for field in ["status=403", "bucket=\"guarded\"", "referer=\"https://evil.test/page\"", "referer policy"]
    {
        assert!(line.contains(field), "{field} in {line}");
    }
    // The access log can be switched off on its own.
    let quiet = Pixgate::start(&fs_config(root.path(), "[server]\naccess_log = false\n"));
    let (status, _) =
        raw_request(&quiet.addr.to_string(), "GET /photos/rocket.jpg HTTP/1.0\r\n\r\n").unwrap();
    assert_eq!(status, 200);
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(!quiet.logs().contains("pixgate::access"), "{}", quiet.logs());
}

fn build_info() {
    let out = run_to_exit_with_env(&["--version"], &[]);
    assert_eq!(out.code, Some(0));
    assert!(out.stdout.starts_with(&format!("pixgate {}", env!("CARGO_PKG_VERSION"))), "{}", out.stdout);
    assert!(out.stdout.contains("(features: "), "{}", out.stdout);
    let root = photos();
    let p = Pixgate::start(&fs_config(root.path(), ""));
    let m = p.metrics();
    let line = m.lines().find(|l| l.starts_with("pixgate_build_info{")).unwrap_or_else(|| panic!("{m}"));
    assert!(line.contains(&format!("version=\"{}\"", env!("CARGO_PKG_VERSION"))), "{line}");
    assert!(line.contains("features=\""), "{line}");
    assert!(line.ends_with(" 1"), "{line}");
}
