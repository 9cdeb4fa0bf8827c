//! The IMG language at the edge: OSS errors for bad chains, styles, the retain/filter rule.

use std::path::Path;

use pixgate_tests::{Pixgate, xml_field};
use reqwest::StatusCode;

use crate::block;

pub const TESTS: &[(&str, fn())] = &[
    ("language::bad_chains_get_oss_errors_with_ec", bad_chains),
    ("language::styles_resolve_or_404", styles),
    ("language::saveas_on_get_is_400", saveas_on_get),
    ("language::query_retain_and_filter", query_modes),
];

fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("photos")).expect("mkdir");
    let jpeg = Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/photos/rocket.jpg");
    std::fs::copy(jpeg, dir.path().join("photos/cat.jpg")).expect("copy");
    std::fs::write(dir.path().join("photos/my-cat.jpg"), b"not really a cat").expect("write");
    dir
}

fn config(root: &Path, extra: &str) -> String {
    format!(
        "[origin]\nkind = \"fs\"\nroot = \"{}\"\n{extra}\n[buckets.photos]\nstyle_delimiters = [\"!\", \"-\"]\n\
         [buckets.photos.styles]\nsmall = \"image/resize,w_100/quality,q_80\"\n",
        root.display()
    )
}

async fn get(url: String) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let r = reqwest::Client::builder().no_proxy().build().unwrap().get(url).send().await.expect("request");
    let (s, h) = (r.status(), r.headers().clone());
    (s, h, r.text().await.unwrap_or_default())
}

fn bad_chains() {
    let root = fixture();
    let p = Pixgate::start(&config(root.path(), ""));
    block(async {
        let rows: &[(&str, &str, Option<&str>)] = &[
            ("image/resize,w_0", "InvalidArgument", Some("0040-00000312")),
            ("image/resize,w_100,m_abc", "InvalidArgument", Some("0040-00000311")),
            ("image/", "MissingArgument", Some("0040-00000212")),
            ("image/rotate,400", "InvalidArgument", Some("0040-00000217")),
            ("image/quality,Q_200", "InvalidArgument", Some("0040-00000308")),
            ("image/format,dng", "InvalidArgument", Some("0040-00000206")),
            ("image/watermark,text_", "InvalidArgument", Some("0040-00000258")),
            ("image/frobnicate,1", "InvalidArgument", None),
        ];
        for (process, code, ec) in rows {
            let (status, headers, body) =
                get(p.url(&format!("/photos/cat.jpg?x-oss-process={process}"))).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{process}: {body}");
            assert_eq!(headers["content-type"], "application/xml");
            assert_eq!(xml_field(&body, "Code").as_deref(), Some(*code), "{process}: {body}");
            assert_eq!(xml_field(&body, "EC").as_deref(), *ec, "{process}: {body}");
            assert_eq!(headers.get("x-oss-ec").map(|v| v.to_str().unwrap()), *ec, "{process}");
            let message = xml_field(&body, "Message").unwrap_or_default();
            assert!(!message.is_empty(), "{process}: empty message");
        }
        // A valid chain is parsed and reaches processing.
        let (status, headers, body) = get(p.url("/photos/cat.jpg?x-oss-process=image/resize,w_100")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(headers["content-type"], "image/jpeg");
        // A watermark is drawn.
        let (status, headers, body) =
            get(p.url("/photos/cat.jpg?x-oss-process=image/watermark,text_SGVsbG8")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(headers["content-type"], "image/jpeg");
    });
}

fn styles() {
    let root = fixture();
    let p = Pixgate::start(&config(root.path(), ""));
    block(async {
        let (status, _, body) = get(p.url("/photos/cat.jpg?x-oss-process=style/nope")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        assert_eq!(xml_field(&body, "Code").as_deref(), Some("NoSuchStyle"));
        let (status, headers, body) = get(p.url("/photos/cat.jpg?x-oss-process=style/small")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(headers["content-type"], "image/jpeg");
        let (status, _, body) = get(p.url("/photos/cat.jpg!small")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        // "-" is a delimiter, but "cat.jpg" is not a style: the whole key is the object.
        let (status, _, body) = get(p.url("/photos/my-cat.jpg")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body, "not really a cat");
        let (status, _, body) = get(p.url("/photos/cat.jpg!unknown")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(xml_field(&body, "Code").as_deref(), Some("NoSuchKey"));
    });
}

fn saveas_on_get() {
    let root = fixture();
    let p = Pixgate::start(&config(root.path(), ""));
    block(async {
        let (status, _, body) =
            get(p.url("/photos/cat.jpg?x-oss-process=image/resize,w_100|sys/saveas,o_b3V0LmpwZw")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(xml_field(&body, "Code").as_deref(), Some("InvalidArgument"));
    });
}

fn query_modes() {
    let root = fixture();
    let original = std::fs::read(root.path().join("photos/cat.jpg")).unwrap();
    let p = Pixgate::start(&config(root.path(), ""));
    block(async {
        // Parameters outside the retain list are ignored.
        let (status, _, _) = get(p.url("/photos/cat.jpg?utm_source=x&w=5")).await;
        assert_eq!(status, StatusCode::OK);
    });
    drop(p);
    let p = Pixgate::start(&config(root.path(), "[cache]\nquery = \"filter\""));
    block(async {
        let r = reqwest::get(p.url("/photos/cat.jpg?x-oss-process=image/resize,w_0")).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "filter mode serves the original");
        assert!(r.bytes().await.unwrap()[..] == original[..]);
    });
}
