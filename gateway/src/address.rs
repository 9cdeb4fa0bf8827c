//! Request addressing (docs/reference.md#addressing): custom domain, virtual-hosted, path-style; key decoding;
//! query parameters and the CDN-like retain/filter rule; the delimiter form of a style.

use std::borrow::Cow;

use crate::config::{Config, QueryMode};
use crate::error::GatewayError;

/// Where a request points, before bucket settings (styles, ACL) are applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The bucket name as Pixgate knows it (a configured bucket or an origin sub-folder).
    pub bucket: String,
    /// The decoded object key (may be empty for bucket-level requests).
    pub key: String,
}

/// Query parameters in request order. Names are decoded; a value that is not valid
/// percent-encoded UTF-8 is kept as an error and only reported if the parameter is used, so a
/// malformed parameter that the CDN rule ignores cannot fail a request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    pub params: Vec<(String, Result<String, String>)>,
}

impl Query {
    pub fn parse(raw: Option<&str>) -> Query {
        let mut params = Vec::new();
        let Some(raw) = raw else { return Query { params } };
        for part in raw.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            // A name that does not decode cannot be one Pixgate uses: skip it.
            let Some(k) = decode(k) else { continue };
            let v = decode(v).map(|v| v.into_owned()).ok_or_else(|| part.to_string());
            params.push((k.into_owned(), v));
        }
        Query { params }
    }

    /// The first value of a parameter (OSS uses the first when a parameter repeats).
    pub fn get(&self, name: &str) -> Result<Option<&str>, GatewayError> {
        match self.params.iter().find(|(k, _)| k == name) {
            None => Ok(None),
            Some((_, Ok(v))) => Ok(Some(v.as_str())),
            Some((_, Err(raw))) => Err(bad_query(raw)),
        }
    }

    pub fn contains(&self, name: &str) -> bool {
        self.params.iter().any(|(k, _)| k == name)
    }

    /// Apply the CDN rule: `retain` keeps only the listed names, `filter` drops everything.
    pub fn retained(&self, mode: QueryMode, retain: &[String]) -> Query {
        let params = match mode {
            QueryMode::Filter => Vec::new(),
            QueryMode::Retain => {
                self.params.iter().filter(|(k, _)| retain.iter().any(|r| r == k)).cloned().collect()
            }
        };
        Query { params }
    }
}

fn bad_query(part: &str) -> GatewayError {
    let shown: String = part.chars().take(64).collect();
    GatewayError::InvalidArgument(format!(
        "The query parameter \"{shown}\" is not valid percent-encoded UTF-8."
    ))
}

/// Percent-decode (a literal `+` stays a `+`, as in S3 and OSS object keys); `None` when the
/// result is not UTF-8 or an escape is malformed.
pub fn decode(s: &str) -> Option<Cow<'_, str>> {
    if !s.contains('%') {
        return Some(Cow::Borrowed(s));
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = |c: u8| (c as char).to_digit(16);
            let hi = b.get(i + 1).copied().and_then(hex)?;
            let lo = b.get(i + 2).copied().and_then(hex)?;
            out.push((hi * 16 + lo) as u8);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok().map(Cow::Owned)
}

/// Find the bucket and key of a request from its Host header and path (query excluded).
pub fn target(config: &Config, host: Option<&str>, path: &str) -> Result<Target, GatewayError> {
    let decoded = decode(path).ok_or_else(|| {
        GatewayError::InvalidObjectName("The object name is not valid percent-encoded UTF-8.".into())
    })?;
    if decoded.contains('\0') {
        return Err(GatewayError::InvalidObjectName("The object name contains a NUL character.".into()));
    }
    let path = decoded.strip_prefix('/').unwrap_or(&decoded);
    let host = host.map(|h| strip_port(h).trim_end_matches('.').to_ascii_lowercase());

    if let Some(host) = host.as_deref() {
        // 1. A bucket's custom domain.
        if let Some(b) = config.buckets.values().find(|b| b.domains.iter().any(|d| d == host)) {
            return Ok(Target { bucket: b.name.clone(), key: path.to_string() });
        }
        // 2. Virtual-hosted: <bucket>.<domain>.
        for d in &config.domains {
            if let Some(label) = host.strip_suffix(d.as_str()).and_then(|p| p.strip_suffix('.'))
                && !label.is_empty()
                && !label.contains('.')
            {
                return Ok(Target { bucket: label.to_string(), key: path.to_string() });
            }
        }
    }
    // 3. Path-style.
    let (bucket, key) = path.split_once('/').unwrap_or((path, ""));
    Ok(Target { bucket: bucket.to_string(), key: key.to_string() })
}

/// Does a key have a `.` or `..` path segment (`/` or `\` separated)? Such keys could leave
/// a bucket's prefix on stores that normalise paths; Pixgate refuses them everywhere.
pub fn has_dot_segment(key: &str) -> bool {
    key.split(['/', '\\']).any(|seg| seg == "." || seg == "..")
}

fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        // [::1]:8080
        return host.split_once(']').map(|(h, _)| &h[1..]).unwrap_or(host);
    }
    match host.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    }
}

/// The delimiter form of a style: `/<key><delim><name>` where `<name>` is a style of the bucket.
pub fn split_style<'a>(
    key: &'a str,
    delimiters: &[String],
    is_style: impl Fn(&str) -> bool,
) -> Option<(&'a str, &'a str)> {
    delimiters
        .iter()
        .filter_map(|d| key.rsplit_once(d.as_str()))
        .filter(|(k, name)| !k.is_empty() && is_style(name))
        // The delimiter closest to the end wins ("a-b!small" with "-" and "!" → style "small").
        .min_by_key(|(_, name)| name.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{CliOverrides, load};

    fn config(toml: &str) -> (tempfile::TempDir, Config) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, toml).unwrap();
        let cli = CliOverrides { root: Some(dir.path().to_str().unwrap().into()), ..Default::default() };
        let c = load(Some(&path), &[], &cli).unwrap();
        (dir, c)
    }

    #[test]
    fn addressing_in_contract_order() {
        let (_d, c) = config(
            "[server]\ndomains = [\"img.example.com\"]\n[buckets.photos]\ndomains = [\"cdn.example.org\"]\n",
        );
        let t = |host: Option<&str>, path: &str| target(&c, host, path).unwrap();
        assert_eq!(
            t(Some("cdn.example.org"), "/a/b.jpg"),
            Target { bucket: "photos".into(), key: "a/b.jpg".into() }
        );
        assert_eq!(t(Some("CDN.example.org:8080"), "/x.jpg").bucket, "photos");
        assert_eq!(
            t(Some("pics.img.example.com"), "/x.jpg"),
            Target { bucket: "pics".into(), key: "x.jpg".into() }
        );
        assert_eq!(
            t(Some("127.0.0.1:8080"), "/pics/x.jpg"),
            Target { bucket: "pics".into(), key: "x.jpg".into() }
        );
        assert_eq!(t(Some("img.example.com"), "/pics/x.jpg").bucket, "pics");
        assert_eq!(t(Some("a.b.img.example.com"), "/pics/x.jpg").bucket, "pics");
        assert_eq!(t(None, "/pics").key, "");
    }

    #[test]
    fn keys_are_decoded() {
        let (_d, c) = config("");
        let t = |path: &str| target(&c, None, path).map(|t| t.key);
        assert_eq!(t("/b/a%20b.jpg").unwrap(), "a b.jpg");
        assert_eq!(t("/b/a+b.jpg").unwrap(), "a+b.jpg");
        assert_eq!(t("/b/%E7%8C%AB.jpg").unwrap(), "猫.jpg");
        assert_eq!(t("/b/dir/%2Bx").unwrap(), "dir/+x");
        assert!(t("/b/%FF").is_err());
        assert!(t("/b/%2").is_err());
        assert!(t("/b/a%00b").is_err());
    }

    #[test]
    fn query_and_cdn_rules() {
        let q = Query::parse(Some("x-oss-process=image/resize,w_100&utm=1&x-oss-process=second&flag"));
        assert_eq!(q.get("x-oss-process").unwrap(), Some("image/resize,w_100"));
        assert!(q.contains("flag"));
        let retain = vec!["x-oss-process".to_string()];
        assert_eq!(q.retained(QueryMode::Retain, &retain).params.len(), 2);
        assert!(q.retained(QueryMode::Filter, &retain).params.is_empty());
        let q = Query::parse(Some("x-oss-process=image%2Fresize%2Cw_1+00"));
        assert_eq!(q.get("x-oss-process").unwrap(), Some("image/resize,w_1+00"));
        // A malformed value fails only when it is used.
        let q = Query::parse(Some("a=%ZZ&x-oss-process=image/info"));
        assert!(q.get("a").is_err());
        assert_eq!(q.retained(QueryMode::Retain, &retain).get("x-oss-process").unwrap(), Some("image/info"));
    }

    #[test]
    fn delimiter_styles() {
        let styles = ["small", "big"];
        let is = |n: &str| styles.contains(&n);
        let d = vec!["!".to_string(), "-".to_string()];
        assert_eq!(split_style("cat.jpg!small", &d, is), Some(("cat.jpg", "small")));
        assert_eq!(split_style("my-cat.jpg", &d, is), None);
        assert_eq!(split_style("my-cat.jpg-big", &d, is), Some(("my-cat.jpg", "big")));
        assert_eq!(split_style("!small", &d, is), None);
        assert_eq!(split_style("cat.jpg!small", &[], is), None);
    }
}
