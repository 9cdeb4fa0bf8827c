//! Styles managed through the Style API and the configuration reloaded on SIGHUP: the official
//! oss2 SDK against a live Pixgate; two replicas sharing one style store (a change on one is
//! used by the other within `styles.refresh`, a restarted one has them at start); a changed
//! style never answers with variants of its old content; reloads of a valid and a broken file
//! while a client keeps one connection busy.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use pixgate_tests::{Pixgate, metric, xml_field};

use crate::block;

pub const TESTS: &[(&str, fn())] = &[
    ("styles::official_oss2_sdk_manages_styles", official_sdk),
    ("styles::api_rules_and_errors", api_rules),
    ("styles::two_replicas_share_one_store", two_replicas),
    ("styles::a_changed_style_never_serves_old_variants", changed_style),
    ("styles::sighup_reloads_the_configuration", sighup_reload),
];

const AK: &str = "AKIDSTYLES";
const SK: &str = "styles-secret";
const ROCKET: &str = "/photos/rocket.jpg";

fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for b in ["photos", "secret", "style-store"] {
        std::fs::create_dir_all(dir.path().join(b)).expect("mkdir");
    }
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/photos/rocket.jpg");
    for b in ["photos", "secret"] {
        std::fs::copy(&sample, dir.path().join(b).join("rocket.jpg")).expect("copy");
    }
    dir
}

/// The configuration of these tests: the `photos` bucket has one style in the file (`fixed`)
/// and the `!` delimiter; stored styles go to the `style-store` folder, re-read every 200 ms.
/// `extra` is TOML appended at the end (tables only).
fn config(root: &Path, extra: &str) -> String {
    format!(
        "[origin]\nkind = \"fs\"\nroot = \"{}\"\n\
         [styles]\nstore_bucket = \"style-store\"\nrefresh = \"200ms\"\n\
         [[credentials]]\naccess_key_id = \"{AK}\"\naccess_key_secret = \"{SK}\"\n\
         [buckets.photos]\nstyle_delimiters = [\"!\"]\n\
         [buckets.photos.styles]\nfixed = \"image/resize,w_30\"\n{extra}",
        root.display()
    )
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().expect("client")
}

fn hmac_sha1(key: &str, data: &str) -> String {
    let mut mac = <Hmac<sha1::Sha1> as KeyInit>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(data.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// A Style API request (`/<bucket>/?style[&styleName=N]`), V1-signed when `sign`: (status,
/// body, x-oss-ec).
async fn api(
    p: &Pixgate,
    method: &str,
    name: Option<&str>,
    body: &str,
    sign: bool,
) -> (u16, String, Option<String>) {
    let query = match name {
        Some(n) => format!("style&styleName={n}"),
        None => "style".to_string(),
    };
    let date = httpdate::fmt_http_date(SystemTime::now());
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let mut r = client().request(method.clone(), p.url(&format!("/photos/?{query}"))).header("date", &date);
    let content_type = if body.is_empty() { "" } else { "application/xml" };
    if !body.is_empty() {
        r = r.header("content-type", content_type).body(body.to_string());
    }
    if sign {
        // OSS's resource of a bucket is `/<bucket>/`; `style` and `styleName` are signed.
        let sts = format!("{method}\n\n{content_type}\n{date}\n/photos/?{query}");
        r = r.header("authorization", format!("OSS {AK}:{}", hmac_sha1(SK, &sts)));
    }
    let r = r.send().await.expect("request");
    let status = r.status().as_u16();
    let ec = r.headers().get("x-oss-ec").and_then(|v| v.to_str().ok()).map(str::to_string);
    (status, r.text().await.unwrap_or_default(), ec)
}

fn style_body(content: &str) -> String {
    format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Style><Content>{content}</Content></Style>")
}

/// `PUT` a style on `p`, signed; it must succeed.
async fn put(p: &Pixgate, name: &str, content: &str) {
    let (status, body, _) = api(p, "PUT", Some(name), &style_body(content), true).await;
    assert_eq!(status, 200, "PUT {name}: {body}");
}

/// The width of the image at `path`, or the status and body of the refusal.
async fn width(p: &Pixgate, path: &str) -> Result<u32, (u16, String)> {
    let r = client().get(p.url(path)).send().await.expect("request");
    let status = r.status().as_u16();
    let bytes = r.bytes().await.expect("body");
    if status != 200 {
        return Err((status, String::from_utf8_lossy(&bytes).into_owned()));
    }
    Ok(image::load_from_memory(&bytes).expect("an image").width())
}

/// A signed `sys/saveas` of `rocket.jpg` with `process` into `photos/<target>`: the status.
async fn saveas(p: &Pixgate, process: &str, target: &str) -> u16 {
    let date = httpdate::fmt_http_date(SystemTime::now());
    let content_type = "application/x-www-form-urlencoded";
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(target);
    let sts = format!("POST\n\n{content_type}\n{date}\n/photos/rocket.jpg?x-oss-process");
    let r = client()
        .post(p.url(&format!("{ROCKET}?x-oss-process")))
        .header("date", &date)
        .header("content-type", content_type)
        .header("authorization", format!("OSS {AK}:{}", hmac_sha1(SK, &sts)))
        .body(format!("x-oss-process={process}|sys/saveas,o_{b64}"))
        .send()
        .await
        .expect("request");
    r.status().as_u16()
}

fn styled(name: &str) -> String {
    format!("{ROCKET}?x-oss-process=style/{name}")
}

/// Poll `p` until `path` has `want` (a width, or the refusal's status); returns how long that
/// took, at most about 5 s.
async fn until(p: &Pixgate, path: &str, want: Result<u32, u16>) -> Duration {
    let start = Instant::now();
    loop {
        let got = width(p, path).await.map_err(|(s, _)| s);
        if got == want || start.elapsed() > Duration::from_secs(5) {
            assert_eq!(got, want, "{path} on {}", p.base);
            return start.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn official_sdk() {
    let root = fixture();
    let p = Pixgate::start(&config(root.path(), ""));
    crate::access::run_oss2_script(&p, "oss2_styles.py", AK, SK);
    // Every style the SDK created it also deleted: the store holds none.
    let stored = root.path().join("style-store/pixgate-styles/photos");
    let left: Vec<_> = std::fs::read_dir(&stored).map(|d| d.flatten().collect()).unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
}

fn api_rules() {
    let root = fixture();
    let p = Pixgate::start(&config(root.path(), ""));
    block(async {
        let code = |body: &str| xml_field(body, "Code").unwrap_or_default();
        // Anonymous requests are refused whatever the ACL (photos is public-read).
        for (method, name, body) in
            [("PUT", Some("a"), style_body("image/resize,w_10")), ("GET", None, String::new())]
        {
            let (status, text, _) = api(&p, method, name, &body, false).await;
            assert_eq!((status, code(&text).as_str()), (403, "AccessDenied"), "{method}: {text}");
        }
        // Content is validated like any chain, with the chain's own EC; names like file styles.
        let (status, text, ec) = api(&p, "PUT", Some("bad"), &style_body("image/resize,w_0"), true).await;
        assert_eq!((status, code(&text).as_str()), (400, "InvalidArgument"), "{text}");
        assert_eq!(ec.as_deref(), Some("0040-00000312"));
        let (status, _, ec) = api(&p, "PUT", Some("a!b"), &style_body("image/resize,w_10"), true).await;
        assert_eq!((status, ec.as_deref()), (400, Some("0017-00000251")));
        let (status, text, _) = api(&p, "PUT", Some("x"), "<Style><Nope/></Style>", true).await;
        assert_eq!((status, code(&text).as_str()), (400, "MalformedXML"), "{text}");
        // A style of the configuration file is read-only here, but readable.
        for method in ["PUT", "DELETE"] {
            let body = if method == "PUT" { style_body("image/resize,w_10") } else { String::new() };
            let (status, text, _) = api(&p, method, Some("fixed"), &body, true).await;
            assert_eq!(status, 400, "{method}: {text}");
            assert!(xml_field(&text, "Message").unwrap_or_default().contains("configuration file"), "{text}");
        }
        let (status, text, _) = api(&p, "GET", Some("fixed"), "", true).await;
        assert_eq!(status, 200, "{text}");
        assert_eq!(xml_field(&text, "Content").as_deref(), Some("image/resize,w_30"));
        // Missing styles.
        for method in ["GET", "DELETE"] {
            let (status, text, _) = api(&p, method, Some("missing"), "", true).await;
            assert_eq!((status, code(&text).as_str()), (404, "NoSuchStyle"), "{method}: {text}");
        }
        // At most 50 styles per bucket, the file's included (it has one).
        for i in 0..49 {
            put(&p, &format!("s{i}"), "image/resize,w_10").await;
        }
        let (status, text, _) =
            api(&p, "PUT", Some("one-more"), &style_body("image/resize,w_10"), true).await;
        assert_eq!((status, code(&text).as_str()), (400, "InvalidArgument"), "{text}");
        // Replacing one is not a new one.
        put(&p, "s0", "image/resize,w_11").await;
        let (status, list, _) = api(&p, "GET", None, "", true).await;
        assert_eq!(status, 200, "{list}");
        assert_eq!(list.matches("<Style>").count(), 50, "{list}");
        assert!(list.starts_with("<?xml") && list.contains("<StyleList>"), "{list}");
        // The store itself is never served.
        let r = client().get(p.url("/style-store/pixgate-styles/photos/s0")).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 404);
    });
    // Without a store the API answers 501.
    let off = Pixgate::start(&config(root.path(), "").replace("store_bucket = \"style-store\"", ""));
    block(async {
        let (status, text, _) = api(&off, "PUT", Some("a"), &style_body("image/resize,w_10"), true).await;
        assert_eq!((status, xml_field(&text, "Code").as_deref()), (501, Some("NotImplemented")), "{text}");
    });
}

fn two_replicas() {
    let root = fixture();
    let text = config(root.path(), "");
    let a = Pixgate::start(&text);
    let mut b = Pixgate::start(&text);
    block(async {
        put(&a, "small", "image/resize,w_40").await;
        // The replica that accepted the change applies it at once ...
        assert_eq!(width(&a, &styled("small")).await, Ok(40));
        // ... the other within the refresh (200 ms here; generous for a busy machine).
        let took = until(&b, &styled("small"), Ok(40)).await;
        assert!(took < Duration::from_secs(2), "replica B saw the style after {took:?}");
        // Used alike: the delimiter form, and saveas.
        assert_eq!(width(&b, "/photos/rocket.jpg!small").await, Ok(40));
        assert_eq!(saveas(&b, "style/small", "saved/small.jpg").await, 200);
        let saved = image::open(root.path().join("photos/saved/small.jpg")).expect("the saved image");
        assert_eq!(saved.width(), 40);
        // The times as OSS prints them; a replaced style keeps its CreateTime.
        let (_, first, _) = api(&b, "GET", Some("small"), "", true).await;
        let created = xml_field(&first, "CreateTime").expect("CreateTime");
        assert!(httpdate::parse_http_date(&created).is_ok(), "{first}");
        tokio::time::sleep(Duration::from_millis(1100)).await;
        put(&b, "small", "image/resize,w_60").await;
        assert_eq!(width(&b, &styled("small")).await, Ok(60));
        until(&a, &styled("small"), Ok(60)).await;
        let (_, second, _) = api(&a, "GET", Some("small"), "", true).await;
        assert_eq!(xml_field(&second, "CreateTime"), Some(created.clone()), "{second}");
        assert_ne!(xml_field(&second, "LastModifyTime"), Some(created), "{second}");
        assert_eq!(xml_field(&second, "Content").as_deref(), Some("image/resize,w_60"));
        // A deletion, the same way.
        let (status, body, _) = api(&a, "DELETE", Some("small"), "", true).await;
        assert_eq!(status, 204, "{body}");
        assert_eq!(width(&a, &styled("small")).await.map_err(|e| e.0), Err(404));
        until(&b, &styled("small"), Err(404)).await;
        put(&a, "kept", "image/resize,w_25").await;
        until(&b, &styled("kept"), Ok(25)).await;
    });
    // A restarted replica has the stored styles before it says it is ready.
    drop(b);
    b = Pixgate::start(&text);
    block(async {
        assert_eq!(width(&b, &styled("kept")).await, Ok(25));
    });
    let lists = |p: &Pixgate| block(async { api(p, "GET", None, "", true).await.1 });
    let list = lists(&b);
    assert!(list.contains("<Name>kept</Name>") && list.contains("<Name>fixed</Name>"), "{list}");
    assert!(!list.contains("<Name>small</Name>"), "{list}");
}

fn changed_style() {
    let root = fixture();
    let p = Pixgate::start(&config(root.path(), ""));
    block(async {
        put(&p, "x", "image/resize,w_50").await;
        let first = client().get(p.url(&styled("x"))).send().await.unwrap();
        let etag = first.headers().get("etag").cloned();
        assert_eq!(image::load_from_memory(&first.bytes().await.unwrap()).unwrap().width(), 50);
        let again = client().get(p.url(&styled("x"))).send().await.unwrap();
        assert_eq!(again.headers().get("x-pixgate-cache").and_then(|v| v.to_str().ok()), Some("hit"));
        assert_eq!(width(&p, "/photos/rocket.jpg!x").await, Ok(50));
        // The content changes: the next request renders the new one (variants are named by the
        // chain, not by the style), in both forms, with a new ETag.
        put(&p, "x", "image/resize,w_70").await;
        let changed = client().get(p.url(&styled("x"))).send().await.unwrap();
        assert_ne!(changed.headers().get("etag").cloned(), etag);
        assert_eq!(image::load_from_memory(&changed.bytes().await.unwrap()).unwrap().width(), 70);
        assert_eq!(width(&p, "/photos/rocket.jpg!x").await, Ok(70));
        // And back: the old chain's variant is still right for the old content.
        put(&p, "x", "image/resize,w_50").await;
        assert_eq!(width(&p, &styled("x")).await, Ok(50));
    });
}

/// One HTTP/1.1 connection kept open across requests.
struct KeepAlive {
    reader: BufReader<TcpStream>,
    host: String,
}

impl KeepAlive {
    fn connect(addr: &str) -> std::io::Result<KeepAlive> {
        let stream = TcpStream::connect(addr)?;
        stream.set_read_timeout(Some(Duration::from_secs(20)))?;
        // One segment per request, sent at once (no wait for the previous segment's ACK).
        stream.set_nodelay(true)?;
        Ok(KeepAlive { reader: BufReader::new(stream), host: addr.to_string() })
    }

    /// `GET path` on this connection: (status, body).
    fn get(&mut self, path: &str) -> std::io::Result<(u16, Vec<u8>)> {
        let request = format!("GET {path} HTTP/1.1\r\nHost: {}\r\n\r\n", self.host);
        self.reader.get_mut().write_all(request.as_bytes())?;
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let status = line.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        let mut length = 0;
        loop {
            line.clear();
            if self.reader.read_line(&mut line)? == 0 || line == "\r\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body)?;
        Ok((status, body))
    }
}

/// GETs of one public image on one kept-alive connection until `stop`: (answers, failures).
fn busy_client(addr: String, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<(usize, Vec<String>)> {
    std::thread::spawn(move || {
        let mut conn = KeepAlive::connect(&addr).expect("connect");
        let (mut answered, mut failures) = (0, Vec::new());
        while !stop.load(Ordering::Acquire) {
            std::thread::sleep(Duration::from_millis(5));
            match conn.get(&format!("{ROCKET}?x-oss-process=image/resize,w_20")) {
                Ok((200, body)) if !body.is_empty() => answered += 1,
                Ok((status, body)) => {
                    failures.push(format!("{status}: {}", String::from_utf8_lossy(&body)));
                }
                Err(e) => {
                    failures.push(format!("connection: {e}"));
                    conn = KeepAlive::connect(&addr).expect("reconnect");
                }
            }
        }
        (answered, failures)
    })
}

fn sighup_reload() {
    let root = fixture();
    let original = config(root.path(), "[buckets.secret]\n");
    let mut p = Pixgate::start(&original);
    let ok = "pixgate_config_reloads_total{result=\"success\"}";
    let failed = "pixgate_config_reloads_total{result=\"failure\"}";
    let at_start = metric(&p.metrics(), "pixgate_config_last_reload_success_timestamp_seconds");
    assert!(at_start > 1.6e9, "the last reload time is set at start: {at_start}");
    let stop = Arc::new(AtomicBool::new(false));
    let busy = busy_client(p.addr.to_string(), stop.clone());
    block(async {
        assert_eq!(width(&p, "/secret/rocket.jpg?x-oss-process=image/resize,w_10").await, Ok(10));
        assert_eq!(width(&p, &styled("added")).await.map_err(|e| e.0), Err(404));
    });

    // A valid change: the secret bucket becomes private, the photos bucket gains a style.
    let changed = original
        .replace("[buckets.secret]\n", "[buckets.secret]\nacl = \"private\"\n")
        .replace("fixed = ", "added = \"image/resize,w_35\"\nfixed = ");
    p.write_config(&changed);
    p.reload();
    p.wait_metric(ok, 1.0);
    let check_changed = |p: &Pixgate| {
        block(async {
            let refused = width(p, "/secret/rocket.jpg?x-oss-process=image/resize,w_10").await;
            assert_eq!(refused.map_err(|e| e.0), Err(403));
            assert_eq!(width(p, &styled("added")).await, Ok(35));
            assert_eq!(width(p, "/photos/rocket.jpg!added").await, Ok(35));
        })
    };
    check_changed(&p);

    // A broken file: refused, one line per problem, the running configuration stays.
    p.write_config("[server]\nqueue = \"many\"\nbogus = 1\n");
    p.reload();
    let m = p.wait_metric(failed, 1.0);
    assert_eq!(metric(&m, failed), 1.0, "{m}");
    assert_eq!(metric(&m, ok), 1.0, "{m}");
    let logs = p.wait_logs("server.bogus");
    let refused: Vec<&str> = logs.lines().filter(|l| l.contains("reload refused")).collect();
    assert_eq!(refused.len(), 2, "{logs}");
    assert!(refused.iter().any(|l| l.contains("server.queue")), "{logs}");
    assert!(refused.iter().any(|l| l.contains("server.bogus")), "{logs}");
    assert!(p.running(), "a broken file must not stop Pixgate:\n{logs}");
    check_changed(&p);

    // Back to the original, with a setting only a restart applies (reported, not applied)
    // and the log format switched to JSON.
    let json = original.replace("[styles]", "[server]\nqueue = 7\nlog_format = \"json\"\n[styles]");
    p.write_config(&json);
    p.reload();
    p.wait_metric(ok, 2.0);
    block(async {
        assert_eq!(width(&p, "/secret/rocket.jpg?x-oss-process=image/resize,w_10").await, Ok(10));
        assert_eq!(width(&p, &styled("added")).await.map_err(|e| e.0), Err(404));
        let r = client().get(p.url(ROCKET)).header("x-request-id", "json-line-after-reload").send().await;
        assert_eq!(r.unwrap().status().as_u16(), 200);
    });
    let logs = p.wait_logs("json-line-after-reload");
    assert!(logs.contains("server.queue") && logs.contains("only a restart applies it"), "{logs}");
    let line =
        logs.lines().find(|l| l.contains("json-line-after-reload")).unwrap_or_else(|| panic!("{logs}"));
    let parsed: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    assert_eq!(parsed["target"], "pixgate::access", "{line}");

    // The client's connection lived through every reload, and every answer was right.
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, Ordering::Release);
    let (answered, failures) = busy.join().expect("the busy client");
    assert!(failures.is_empty(), "{failures:?}");
    assert!(answered > 10, "only {answered} requests ran through the reloads");
    assert!(p.running());
}
