//! Access control and saveas: OSS V1/V4 signatures (header and presigned) made by an
//! independent signer written from the OSS documentation, private buckets, hotlink and source
//! protection, and `sys/saveas` writing through both origins.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use pixgate_tests::{Pixgate, S3_ACCESS_KEY, S3_SECRET_KEY, S3Server, metric, xml_field};
use reqwest::StatusCode;
use sha2::Digest;

use crate::block;

pub const TESTS: &[(&str, fn())] = &[
    ("access::private_bucket_v1_presigned", private_v1_presigned),
    ("access::private_bucket_v1_header", private_v1_header),
    ("access::private_bucket_v4", private_v4),
    ("access::referers_and_source_protection", referers_and_protection),
    ("access::saveas_on_fs", saveas_fs),
    ("access::saveas_on_s3", saveas_s3),
    ("access::official_oss2_sdk_v1_and_v4", official_sdk),
];

const AK: &str = "AKIDTEST";
const SK: &str = "s3cr3t-key";

fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for b in ["private", "public", "hotlink", "guarded", "out"] {
        std::fs::create_dir_all(dir.path().join(b)).expect("mkdir");
    }
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/photos/rocket.jpg");
    for b in ["private", "public", "hotlink", "guarded"] {
        std::fs::copy(&sample, dir.path().join(b).join("rocket.jpg")).expect("copy");
    }
    std::fs::write(dir.path().join("guarded/readme.txt"), b"hello").expect("write");
    dir
}

fn buckets(extra: &str) -> String {
    format!(
        "[[credentials]]\naccess_key_id = \"{AK}\"\naccess_key_secret = \"{SK}\"\n\
         [buckets.private]\nacl = \"private\"\n[buckets.private.styles]\nsmall = \"image/resize,w_40\"\nmeta = \"image/info\"\n\
         [buckets.public]\n[buckets.out]\nprefix = \"saved/\"\n\
         [buckets.hotlink]\nreferers = [\"*.good.test\", \"https://partner.test\"]\nallow_empty_referer = false\n\
         [buckets.guarded]\nsource_protection = true\nprotected_suffixes = [\".jpg\"]\nstyle_delimiters = [\"!\"]\n\
         [buckets.guarded.styles]\nsmall = \"image/resize,w_40\"\n{extra}"
    )
}

fn fs_config(root: &Path, extra: &str) -> String {
    format!("[origin]\nkind = \"fs\"\nroot = \"{}\"\n{}", root.display(), buckets(extra))
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().expect("client")
}

/// RFC 3986 encoding of a query component.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

fn hmac_sha1(key: &str, data: &str) -> String {
    let mut mac = <Hmac<sha1::Sha1> as KeyInit>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(data.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

fn hmac_sha256(key: &[u8], data: &str) -> Vec<u8> {
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key).unwrap();
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

/// A V1 presigned path+query for GET `/<bucket>/<key>` with an optional process.
fn presign_v1(bucket: &str, key: &str, process: Option<&str>, expires: u64, ak: &str, sk: &str) -> String {
    let resource = match process {
        Some(p) => format!("/{bucket}/{key}?x-oss-process={p}"),
        None => format!("/{bucket}/{key}"),
    };
    let sig = hmac_sha1(sk, &format!("GET\n\n\n{expires}\n{resource}"));
    let mut q = format!("OSSAccessKeyId={}&Expires={expires}&Signature={}", enc(ak), enc(&sig));
    if let Some(p) = process {
        q = format!("x-oss-process={}&{q}", enc(p));
    }
    format!("/{bucket}/{key}?{q}")
}

/// `yyyymmddTHHMMSSZ` of a UNIX time.
fn iso_basic(t: u64) -> String {
    let (days, secs) = ((t / 86_400) as i64, t % 86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z", secs / 3600, secs % 3600 / 60, secs % 60)
}

/// A V4 presigned path+query for GET `/<bucket>/<key>?x-oss-process=<process>`.
fn presign_v4(bucket: &str, key: &str, process: &str, region: &str, date: u64, expires: u64) -> String {
    let ts = iso_basic(date);
    let day = &ts[..8];
    let scope = format!("{day}/{region}/oss/aliyun_v4_request");
    let mut params = [
        ("x-oss-credential", format!("{AK}/{scope}")),
        ("x-oss-date", ts.clone()),
        ("x-oss-expires", expires.to_string()),
        ("x-oss-process", process.to_string()),
        ("x-oss-signature-version", "OSS4-HMAC-SHA256".to_string()),
    ];
    params.sort();
    let query: Vec<String> = params.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect();
    let query = query.join("&");
    let canonical = format!("GET\n/{bucket}/{key}\n{query}\n\n\nUNSIGNED-PAYLOAD");
    let sts =
        format!("OSS4-HMAC-SHA256\n{ts}\n{scope}\n{}", hex(&sha2::Sha256::digest(canonical.as_bytes())));
    let mut k = hmac_sha256(format!("aliyun_v4{SK}").as_bytes(), day);
    for part in [region, "oss", "aliyun_v4_request"] {
        k = hmac_sha256(&k, part);
    }
    format!("/{bucket}/{key}?{query}&x-oss-signature={}", hex(&hmac_sha256(&k, &sts)))
}

async fn status_code(p: &Pixgate, path: &str) -> (StatusCode, Option<String>) {
    let r = client().get(p.url(path)).send().await.expect("request");
    let s = r.status();
    (s, xml_field(&r.text().await.unwrap_or_default(), "Code"))
}

fn private_v1_presigned() {
    let root = fixture();
    let p = Pixgate::start(&fs_config(root.path(), ""));
    block(async {
        let denied = (StatusCode::FORBIDDEN, Some("AccessDenied".to_string()));
        assert_eq!(status_code(&p, "/private/rocket.jpg").await, denied);
        assert_eq!(status_code(&p, "/private/rocket.jpg?x-oss-process=style/small").await, denied);
        assert_eq!(status_code(&p, "/private/rocket.jpg?x-oss-process=image/info").await, denied);
        let exp = now() + 300;
        assert_eq!(
            status_code(&p, &presign_v1("private", "rocket.jpg", None, exp, AK, SK)).await.0,
            StatusCode::OK
        );
        let url = presign_v1("private", "rocket.jpg", Some("image/resize,w_50"), exp, AK, SK);
        let r = client().get(p.url(&url)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let img = image::load_from_memory(&r.bytes().await.unwrap()).expect("image");
        assert_eq!(img.width(), 50);
        // The process is signed: changing it breaks the signature. Other parameters are not.
        let tampered = url.replace("w_50", "w_60");
        assert_eq!(
            status_code(&p, &tampered).await,
            (StatusCode::FORBIDDEN, Some("SignatureDoesNotMatch".into()))
        );
        assert_eq!(status_code(&p, &format!("{url}&utm_source=x")).await.0, StatusCode::OK);
        let style = presign_v1("private", "rocket.jpg", Some("style/small"), exp, AK, SK);
        assert_eq!(status_code(&p, &style).await.0, StatusCode::OK);
        assert_eq!(
            status_code(&p, &presign_v1("private", "rocket.jpg", None, exp, "NOBODY", SK)).await,
            (StatusCode::FORBIDDEN, Some("InvalidAccessKeyId".into()))
        );
        assert_eq!(
            status_code(&p, &presign_v1("private", "rocket.jpg", None, exp, AK, "wrong")).await,
            (StatusCode::FORBIDDEN, Some("SignatureDoesNotMatch".into()))
        );
        assert_eq!(
            status_code(&p, &presign_v1("private", "rocket.jpg", None, now() - 1, AK, SK)).await,
            denied
        );
        assert_eq!(
            status_code(&p, "/private/rocket.jpg?OSSAccessKeyId=AKIDTEST&Signature=abc").await,
            denied
        );
        // A URL signature and an Authorization header together.
        let r = client()
            .get(p.url(&presign_v1("private", "rocket.jpg", None, exp, AK, SK)))
            .header("authorization", "OSS AKIDTEST:abc")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert_eq!(xml_field(&r.text().await.unwrap(), "Code").as_deref(), Some("InvalidArgument"));
        // A valid signature on a public bucket is accepted too.
        assert_eq!(
            status_code(&p, &presign_v1("public", "rocket.jpg", None, exp, AK, SK)).await.0,
            StatusCode::OK
        );
    });
    let m = p.wait_metric("pixgate_rejected_total{reason=\"auth\"}", 8.0);
    assert!(metric(&m, "pixgate_rejected_total{reason=\"auth\"}") >= 8.0, "{m}");
}

fn private_v1_header() {
    let root = fixture();
    let p = Pixgate::start(&fs_config(root.path(), ""));
    block(async {
        let date = httpdate::fmt_http_date(SystemTime::now());
        let sts = format!(
            "GET\n\n\n{date}\nx-oss-meta-trace:abc\n/private/rocket.jpg?x-oss-process=image/resize,w_30"
        );
        let send = |auth: String, date: String| {
            client()
                .get(p.url("/private/rocket.jpg?x-oss-process=image%2Fresize%2Cw_30"))
                .header("date", date)
                .header("x-oss-meta-trace", "abc")
                .header("authorization", auth)
                .send()
        };
        let r = send(format!("OSS {AK}:{}", hmac_sha1(SK, &sts)), date.clone()).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(image::load_from_memory(&r.bytes().await.unwrap()).unwrap().width(), 30);
        let r = send(format!("OSS {AK}:{}", hmac_sha1("other", &sts)), date.clone()).await.unwrap();
        assert_eq!(xml_field(&r.text().await.unwrap(), "Code").as_deref(), Some("SignatureDoesNotMatch"));
        // More than 15 minutes off.
        let old = httpdate::fmt_http_date(SystemTime::now() - Duration::from_secs(20 * 60));
        let sts_old = sts.replace(&date, &old);
        let r = send(format!("OSS {AK}:{}", hmac_sha1(SK, &sts_old)), old).await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert_eq!(xml_field(&r.text().await.unwrap(), "Code").as_deref(), Some("RequestTimeTooSkewed"));
    });
}

fn private_v4() {
    let root = fixture();
    let p = Pixgate::start(&fs_config(root.path(), "[server]\nregion = \"cn-hangzhou\"\n"));
    block(async {
        let t = now();
        let url = presign_v4("private", "rocket.jpg", "image/resize,w_20", "cn-hangzhou", t, 600);
        let r = client().get(p.url(&url)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(image::load_from_memory(&r.bytes().await.unwrap()).unwrap().width(), 20);
        let forbidden = |code: &str| (StatusCode::FORBIDDEN, Some(code.to_string()));
        assert_eq!(status_code(&p, &url.replace("w_20", "w_21")).await, forbidden("SignatureDoesNotMatch"));
        // Another region than the server's, an expired URL, a missing piece.
        let other = presign_v4("private", "rocket.jpg", "image/resize,w_20", "cn-beijing", t, 600);
        assert_eq!(status_code(&p, &other).await, forbidden("AccessDenied"));
        let expired = presign_v4("private", "rocket.jpg", "image/resize,w_20", "cn-hangzhou", t - 700, 600);
        assert_eq!(status_code(&p, &expired).await, forbidden("AccessDenied"));
        let cut = url.split("&x-oss-signature=").next().unwrap().to_string();
        assert_eq!(status_code(&p, &cut).await, forbidden("AccessDenied"));
    });
}

fn referers_and_protection() {
    let root = fixture();
    let p = Pixgate::start(&fs_config(root.path(), ""));
    block(async {
        let with_referer = |path: &str, referer: Option<&str>| {
            let mut r = client().get(p.url(path));
            if let Some(v) = referer {
                r = r.header("referer", v);
            }
            r.send()
        };
        for (referer, ok) in [
            (Some("https://www.good.test/page.html"), true),
            (Some("https://partner.test/a"), true),
            (Some("https://evil.test/?u=www.good.test"), false),
            (Some("http://partner.test/a"), false),
            (None, false),
        ] {
            let r = with_referer("/hotlink/rocket.jpg", referer).await.unwrap();
            let expected = if ok { StatusCode::OK } else { StatusCode::FORBIDDEN };
            assert_eq!(r.status(), expected, "{referer:?}");
        }
        // Signed requests are not subject to the referer list.
        let signed = presign_v1("hotlink", "rocket.jpg", None, now() + 60, AK, SK);
        assert_eq!(with_referer(&signed, None).await.unwrap().status(), StatusCode::OK);

        // Source protection: anonymous requests get only styles of protected suffixes.
        for (path, ok) in [
            ("/guarded/rocket.jpg", false),
            ("/guarded/rocket.jpg?x-oss-process=image/resize,w_40", false),
            ("/guarded/rocket.jpg?x-oss-process=style/small", true),
            ("/guarded/rocket.jpg!small", true),
            ("/guarded/readme.txt", true),
        ] {
            let (s, code) = status_code(&p, path).await;
            if ok {
                assert_eq!(s, StatusCode::OK, "{path}");
            } else {
                assert_eq!((s, code.as_deref()), (StatusCode::FORBIDDEN, Some("AccessDenied")), "{path}");
            }
        }
        let signed = presign_v1("guarded", "rocket.jpg", None, now() + 60, AK, SK);
        assert_eq!(status_code(&p, &signed).await.0, StatusCode::OK);
        // A key with a ".." segment never reaches the origin.
        let (s, code) = status_code(&p, "/public/x/..%2Frocket.jpg").await;
        assert_eq!((s, code.as_deref()), (StatusCode::BAD_REQUEST, Some("InvalidObjectName")));
    });
}

/// Sign and send `POST /<bucket>/<key>?x-oss-process` with a V1 Authorization header.
async fn post_saveas(p: &Pixgate, bucket: &str, key: &str, body: &str, sign: bool) -> (StatusCode, String) {
    let date = httpdate::fmt_http_date(SystemTime::now());
    let ct = "application/x-www-form-urlencoded";
    let mut r = client()
        .post(p.url(&format!("/{bucket}/{key}?x-oss-process")))
        .header("date", &date)
        .header("content-type", ct)
        .body(body.to_string());
    if sign {
        let sts = format!("POST\n\n{ct}\n{date}\n/{bucket}/{key}?x-oss-process");
        r = r.header("authorization", format!("OSS {AK}:{}", hmac_sha1(SK, &sts)));
    }
    let r = r.send().await.expect("request");
    (r.status(), r.text().await.unwrap_or_default())
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}

async fn check_saveas(p: &Pixgate) {
    // Into the same bucket, URL-safe base64 without padding.
    let body = format!("x-oss-process=image/resize,w_64|sys/saveas,o_{}", b64("thumbs/r64.jpg"));
    let (s, text) = post_saveas(p, "public", "rocket.jpg", &body, true).await;
    assert_eq!(s, StatusCode::OK, "{text}");
    let json: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert_eq!(json["status"], "OK");
    assert_eq!(json["bucket"], "");
    assert_eq!(json["object"], "thumbs/r64.jpg");
    assert!(text.contains("\"status\": \"OK\""), "{text}");
    let r = client().get(p.url("/public/thumbs/r64.jpg")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let bytes = r.bytes().await.unwrap();
    assert_eq!(json["fileSize"].as_u64(), Some(bytes.len() as u64));
    assert_eq!(image::load_from_memory(&bytes).unwrap().width(), 64);

    // Into another configured bucket (standard base64 with padding, as the Java SDK sends),
    // from a private source, with a style; the target's prefix applies.
    let std64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let body = format!("x-oss-process=style/small|sys/saveas,b_{},o_{}", std64("out"), std64("s.jpg"));
    let (s, text) = post_saveas(p, "private", "rocket.jpg", &body, true).await;
    assert_eq!(s, StatusCode::OK, "{text}");
    assert!(text.contains("\"bucket\": \"out\""), "{text}");
    let r = client().get(p.url("/out/s.jpg")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(image::load_from_memory(&r.bytes().await.unwrap()).unwrap().width(), 40);

    // Refusals.
    let good = format!("x-oss-process=image/resize,w_10|sys/saveas,o_{}", b64("x.jpg"));
    let code = |t: &str| xml_field(t, "Code");
    let (s, t) = post_saveas(p, "public", "rocket.jpg", &good, false).await;
    assert_eq!((s, code(&t).as_deref()), (StatusCode::FORBIDDEN, Some("AccessDenied")));
    let bad64 = "x-oss-process=image/resize,w_10|sys/saveas,o_!!!".to_string();
    let (s, t) = post_saveas(p, "public", "rocket.jpg", &bad64, true).await;
    assert_eq!((s, code(&t).as_deref()), (StatusCode::BAD_REQUEST, Some("BadRequest")));
    let elsewhere =
        format!("x-oss-process=image/resize,w_10|sys/saveas,o_{},b_{}", b64("x.jpg"), b64("nowhere"));
    let (s, _) = post_saveas(p, "public", "rocket.jpg", &elsewhere, true).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = post_saveas(p, "public", "rocket.jpg", "x-oss-process=image/resize,w_10", true).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = post_saveas(p, "public", "rocket.jpg", &"x".repeat(20_000), true).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let escape = format!("x-oss-process=image/resize,w_10|sys/saveas,o_{}", b64("../private/evil.jpg"));
    let (s, t) = post_saveas(p, "public", "rocket.jpg", &escape, true).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{t}");
    let (s, t) = post_saveas(p, "public", "missing.jpg", &good, true).await;
    assert_eq!((s, code(&t).as_deref()), (StatusCode::NOT_FOUND, Some("NoSuchKey")));
    let info = format!("x-oss-process=style/meta|sys/saveas,o_{}", b64("x.json"));
    let (s, t) = post_saveas(p, "private", "rocket.jpg", &info, true).await;
    assert_eq!((s, code(&t).as_deref()), (StatusCode::BAD_REQUEST, Some("InvalidArgument")));
    // A body that does not match its signed Content-MD5.
    let date = httpdate::fmt_http_date(SystemTime::now());
    let md5 = "1B2M2Y8AsgTpgAmY7PhCfg=="; // the MD5 of an empty body
    let sts = format!("POST\n{md5}\n\n{date}\n/public/rocket.jpg?x-oss-process");
    let r = client()
        .post(p.url("/public/rocket.jpg?x-oss-process"))
        .header("date", &date)
        .header("content-md5", md5)
        .header("authorization", format!("OSS {AK}:{}", hmac_sha1(SK, &sts)))
        .body(good.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(code(&r.text().await.unwrap()).as_deref(), Some("InvalidDigest"));
    // saveas in a GET.
    let get = format!("/public/rocket.jpg?x-oss-process=image/resize,w_10|sys/saveas,o_{}", b64("x.jpg"));
    assert_eq!(status_code(p, &get).await.0, StatusCode::BAD_REQUEST);
}

fn saveas_fs() {
    let root = fixture();
    let p = Pixgate::start(&fs_config(root.path(), ""));
    block(check_saveas(&p));
    assert!(root.path().join("public/thumbs/r64.jpg").is_file());
    assert!(root.path().join("out/saved/s.jpg").is_file());
    assert!(!root.path().join("private/evil.jpg").exists());
    // No temporary file is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(root.path().join("public/thumbs"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".pixgate-tmp"))
        .collect();
    assert!(leftovers.is_empty());
}

fn saveas_s3() {
    let root = fixture();
    let s3 = S3Server::start(root.path());
    let config = format!(
        "[origin]\nkind = \"s3\"\nendpoint = \"{}\"\nregion = \"us-east-1\"\nforce_path_style = true\n\
         access_key_id = \"{S3_ACCESS_KEY}\"\nsecret_access_key = \"{S3_SECRET_KEY}\"\n{}",
        s3.endpoint,
        buckets("")
    );
    let p = Pixgate::start(&config);
    block(check_saveas(&p));
    assert!(root.path().join("public/thumbs/r64.jpg").is_file());
    assert!(root.path().join("out/saved/s.jpg").is_file());
}

/// The pinned release of Alibaba Cloud's Python SDK the compatibility check runs.
const OSS2: &str = "oss2==2.19.1";

/// A virtualenv with oss2, made once under the target directory (PyPI is reachable wherever
/// the README's commands run: they install cmake from it too).
pub(crate) fn oss2_python() -> std::path::PathBuf {
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("sdk-venv");
    let python = venv.join("bin/python");
    let ready = venv.join(".oss2-2.19.1");
    if !ready.exists() {
        let run = |cmd: &mut std::process::Command| {
            let out = cmd.output().expect("python3 runs");
            assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
        };
        run(std::process::Command::new("python3").args(["-m", "venv"]).arg(&venv));
        run(std::process::Command::new(&python).args(["-m", "pip", "install", "--quiet", OSS2]));
        std::fs::write(&ready, b"").expect("marker");
    }
    python
}

/// Run one of the `tests/sdk/` scripts with the official oss2 SDK against `p`, signing with
/// (`ak`, `sk`); it must print "checks passed".
pub(crate) fn run_oss2_script(p: &Pixgate, script: &str, ak: &str, sk: &str) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("sdk").join(script);
    let out = std::process::Command::new(oss2_python())
        .arg(&script)
        .env("PIXGATE_URL", p.url(""))
        .env("PIXGATE_AK", ak)
        .env("PIXGATE_SK", sk)
        .env("NO_PROXY", "127.0.0.1")
        .output()
        .expect("run the SDK check");
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{} failed:\n{stdout}\n{stderr}", script.display());
    assert!(stdout.contains("checks passed"), "{stdout}");
}

fn official_sdk() {
    let root = fixture();
    let p = Pixgate::start(&fs_config(root.path(), ""));
    run_oss2_script(&p, "oss2_check.py", AK, SK);
    assert!(root.path().join("private/sdk/v4.jpg").is_file());
}
