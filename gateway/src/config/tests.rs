use super::*;

fn load_str(text: &str, env: &[(&str, &str)]) -> Result<Config, ConfigErrors> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pixgate.toml");
    std::fs::write(&path, text).unwrap();
    let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let root = dir.path().to_str().unwrap().to_string();
    load(Some(&path), &env, &CliOverrides { root: Some(root), ..Default::default() })
}

#[test]
fn defaults_are_the_contract() {
    let c = load_str("", &[]).unwrap();
    assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(c.admin_listen.to_string(), "127.0.0.1:9090");
    assert_eq!(c.queue, 256);
    assert_eq!(c.origin_timeout, Duration::from_secs(10));
    assert_eq!(c.request_timeout, Duration::from_secs(30));
    assert_eq!(c.result_max_bytes, 256 << 20);
    assert_eq!(c.cache_ttl, Duration::from_secs(3600));
    assert_eq!(c.query, QueryMode::Retain);
    assert_eq!(c.retain, vec!["x-oss-process".to_string()]);
    assert_eq!(c.limits.max_source_bytes, 20_971_520);
    assert_eq!(c.limits.max_output_pixels, 16_777_216);
    assert!(c.workers >= 1);
}

#[test]
fn every_problem_is_reported_at_once() {
    let err = load_str(
        "[server]\nlisten = \"nope\"\nbogus = 1\norigin_timeout = \"ten\"\n[limits]\nmax_source_side = 0\n\
         [cache]\nquery = \"sometimes\"\n[buckets.photos]\nacl = \"open\"\n",
        &[],
    )
    .unwrap_err();
    // Shape problems (unknown keys) come first and stop before value checks.
    assert_eq!(err.0, vec!["server.bogus: unknown key".to_string()]);
    let err = load_str(
        "[server]\nlisten = \"nope\"\norigin_timeout = \"ten\"\n[limits]\nmax_source_side = 0\n\
         [cache]\nquery = \"sometimes\"\n[buckets.photos]\nacl = \"open\"\n",
        &[],
    )
    .unwrap_err();
    assert_eq!(err.0.len(), 5, "{err}");
    assert!(err.0.iter().any(|l| l.starts_with("server.listen:")));
    assert!(err.0.iter().any(|l| l.starts_with("server.origin_timeout:")));
    assert!(err.0.iter().any(|l| l.starts_with("limits.max_source_side:")));
    assert!(err.0.iter().any(|l| l.starts_with("cache.query:")));
    assert!(err.0.iter().any(|l| l.starts_with("buckets.photos.acl:")));
}

#[test]
fn wrong_types_are_all_reported() {
    let err =
        load_str("[server]\nworkers = \"four\"\nqueue = true\n[limits]\nmax_source_side = \"x\"\n", &[])
            .unwrap_err();
    assert_eq!(err.0.len(), 3, "{err}");
}

#[test]
fn env_overrides_take_the_type_of_the_key() {
    let c = load_str(
        "",
        &[
            ("PIXGATE_SERVER_LISTEN", "127.0.0.1:1234"),
            ("PIXGATE_SERVER_WORKERS", "3"),
            ("PIXGATE_CACHE_RESULT_MAX_BYTES", "1MiB"),
            ("PIXGATE_SERVER_DOMAINS", "[\"img.example.com\"]"),
            ("PIXGATE_LOG", "debug"),
        ],
    )
    .unwrap();
    assert_eq!(c.listen.port(), 1234);
    assert_eq!(c.workers, 3);
    assert_eq!(c.result_max_bytes, 1 << 20);
    assert_eq!(c.domains, vec!["img.example.com".to_string()]);
    let err = load_str("", &[("PIXGATE_SERVER_NOPE", "1")]).unwrap_err();
    assert_eq!(err.0, vec!["PIXGATE_SERVER_NOPE: not a configuration key".to_string()]);
}

#[test]
fn credentials_from_the_environment_join_the_file() {
    let file = "[[credentials]]\naccess_key_id = \"A\"\naccess_key_secret = \"a\"\n";
    let c = load_str(file, &[("PIXGATE_CREDENTIALS", "B:b, C:c:with-colon")]).unwrap();
    assert_eq!(c.credentials.get("A").map(String::as_str), Some("a"));
    assert_eq!(c.credentials.get("B").map(String::as_str), Some("b"));
    assert_eq!(c.credentials.get("C").map(String::as_str), Some("c:with-colon"));
    let err = load_str("", &[("PIXGATE_CREDENTIALS", "nocolon")]).unwrap_err();
    assert!(err.0[0].contains("PIXGATE_CREDENTIALS"), "{err:?}");
    let err = load_str(file, &[("PIXGATE_CREDENTIALS", "A:again")]).unwrap_err();
    assert!(err.0[0].contains("listed twice"), "{err:?}");
}

#[test]
fn effective_config_round_trips() {
    let c = load_str("[server]\nqueue = 7\n[buckets.photos]\nprefix = \"p/\"\n", &[]).unwrap();
    let printed = c.raw.to_toml();
    let again: RawConfig = toml::from_str(&printed).unwrap();
    assert_eq!(again, c.raw);
    assert!(printed.contains("queue = 7"));
}

#[test]
fn durations_and_sizes() {
    assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
    assert_eq!(parse_duration("7d").unwrap(), Duration::from_secs(7 * 86400));
    assert_eq!(parse_duration("2").unwrap(), Duration::from_secs(2));
    assert!(parse_duration("1 fortnight").is_err());
    assert_eq!(parse_size("256MiB").unwrap(), 256 << 20);
    assert_eq!(parse_size("20MB").unwrap(), 20_000_000);
    assert!(parse_size("99999999999GiB").is_err());
    assert!(parse_size("lots").is_err());
}

#[test]
fn bucket_names() {
    assert!(valid_bucket_name("photos"));
    assert!(valid_bucket_name("my_photos.v2"));
    assert!(!valid_bucket_name("ab"));
    assert!(!valid_bucket_name("Photos"));
    assert!(!valid_bucket_name("a/b/c"));
    assert!(!valid_bucket_name(".."));
}

#[test]
fn signed_and_private_responses_are_never_public() {
    assert_eq!(private("public, max-age=86400"), "private, max-age=86400");
    assert_eq!(private("max-age=60"), "private, max-age=60");
    assert_eq!(private("no-store"), "no-store");
    assert_eq!(private("private, max-age=5"), "private, max-age=5");
    assert_eq!(private("Public, private"), "private");
    let c = load_str(
        "[[credentials]]\naccess_key_id = \"AK\"\naccess_key_secret = \"S\"\n\
         [buckets.open]\ncache_control = \"public, max-age=60\"\n[buckets.closed]\nacl = \"private\"\n",
        &[],
    )
    .unwrap();
    let open = c.bucket("open").unwrap();
    let closed = c.bucket("closed").unwrap();
    let other = c.bucket("other").unwrap();
    assert_eq!(c.cache_control(&open, None, false), "public, max-age=60");
    assert_eq!(c.cache_control(&open, None, true), "private, max-age=60");
    assert_eq!(c.cache_control(&closed, None, false), "private, max-age=86400");
    assert_eq!(c.cache_control(&other, None, false), "public, max-age=86400");
    assert_eq!(c.cache_control(&other, Some("max-age=5"), false), "max-age=5");
    assert_eq!(c.cache_control(&other, Some("public, max-age=5"), true), "private, max-age=5");
}

#[test]
fn kubernetes_service_links_are_not_configuration() {
    let links = [
        ("PIXGATE_SERVICE_HOST", "10.0.0.1"),
        ("PIXGATE_SERVICE_PORT", "80"),
        ("PIXGATE_SERVICE_PORT_HTTP", "80"),
        ("PIXGATE_PORT", "tcp://10.0.0.1:80"),
        ("PIXGATE_PORT_80_TCP", "tcp://10.0.0.1:80"),
        ("PIXGATE_PORT_80_TCP_PROTO", "tcp"),
        ("PIXGATE_PORT_80_TCP_PORT", "80"),
        ("PIXGATE_PORT_80_TCP_ADDR", "10.0.0.1"),
        ("PIXGATE_ADMIN_SERVICE_HOST", "10.0.0.2"),
        ("PIXGATE_ADMIN_PORT_9090_TCP_ADDR", "10.0.0.2"),
    ];
    load_str("", &links).unwrap();
    for typo in [("PIXGATE_SERVER_LISTN", "x"), ("PIXGATE_SERVER_PORT", "8080"), ("PIXGATE_PORT", "8080")] {
        let err = load_str("", &[typo]).unwrap_err();
        assert_eq!(err.0, vec![format!("{}: not a configuration key", typo.0)]);
    }
}

#[test]
fn font_dirs_from_the_environment_and_secrets_redacted() {
    let c = load_str("", &[("PIXGATE_WATERMARK_FONT_DIRS", "/a, /b")]).unwrap();
    assert_eq!(c.font_dirs, vec![std::path::PathBuf::from("/a"), std::path::PathBuf::from("/b")]);
    let c = load_str("", &[("PIXGATE_WATERMARK_FONT_DIRS", "[\"/c\"]")]).unwrap();
    assert_eq!(c.font_dirs, vec![std::path::PathBuf::from("/c")]);
    let c = load_str(
        "[server]\nadmin_token = \"tok\"\n[origin]\nsecret_access_key = \"sk\"\naccess_key_id = \"ak\"\n\
         [[credentials]]\naccess_key_id = \"AK\"\naccess_key_secret = \"S3CR3T\"\n",
        &[],
    )
    .unwrap();
    let printed = c.raw.redacted().to_toml();
    assert!(
        !printed.contains("S3CR3T") && !printed.contains("\"sk\"") && !printed.contains("\"tok\""),
        "{printed}"
    );
    assert!(printed.contains("access_key_id = \"AK\""), "{printed}");
    assert_eq!(c.admin_token.as_deref(), Some("tok"));
}

#[test]
fn the_style_store() {
    let c = load_str("", &[]).unwrap();
    assert_eq!((c.style_store.clone(), c.style_refresh), (None, Duration::from_secs(10)));
    // On a folder origin, the store's folder must exist.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("styles")).unwrap();
    let path = dir.path().join("pixgate.toml");
    let cli = CliOverrides { root: Some(dir.path().to_str().unwrap().into()), ..Default::default() };
    let env = [("PIXGATE_STYLES_REFRESH".to_string(), "200ms".to_string())];
    std::fs::write(&path, "[styles]\nstore_bucket = \"styles\"\n").unwrap();
    let c = load(Some(&path), &env, &cli).unwrap();
    let store = c.style_store.clone().unwrap();
    assert_eq!((store.bucket.as_str(), store.prefix.as_str()), ("styles", "pixgate-styles/"));
    assert_eq!(c.style_refresh, Duration::from_millis(200));
    // The store is never served as a bucket of its own.
    assert!(c.bucket("styles").is_none());
    let err =
        load_str("[styles]\nstore_bucket = \"nowhere\"\nstore_prefix = \"../x/\"\nrefresh = \"0s\"\n", &[])
            .unwrap_err();
    assert_eq!(err.0.len(), 3, "{err}");
    for key in ["styles.store_bucket:", "styles.store_prefix:", "styles.refresh:"] {
        assert!(err.0.iter().any(|l| l.starts_with(key)), "{key} in {err}");
    }
    std::fs::write(
        &path,
        "[styles]\nstore_bucket = \"styles\"\nstore_prefix = \"p/\"\n[cache.shared]\nbucket = \"styles\"\nprefix = \"p/cache/\"\n",
    )
    .unwrap();
    let err = load(Some(&path), &[], &cli).unwrap_err();
    assert!(err.0.iter().any(|l| l.contains("cache.shared.prefix")), "{err}");
}
