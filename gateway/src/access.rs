//! The bucket's rules for a request whose identity is known (`[buckets.*]`, docs/reference.md#config-buckets): the
//! private ACL, OSS's hotlink protection (referer patterns) and source protection.

use crate::auth::Identity;
use crate::config::{Acl, BucketConfig};
use crate::error::GatewayError;

/// What an anonymous request asks for, for the bucket's rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Original,
    /// A style (`style/<name>` or the delimiter form).
    Style,
    /// Any other processing (`image/...`).
    Process,
    SaveAs,
}

/// Apply the bucket's rules to a request whose identity is known.
pub fn authorize(
    bucket: &BucketConfig,
    identity: &Identity,
    access: Access,
    key: &str,
    referer: Option<&str>,
) -> Result<(), GatewayError> {
    if identity.is_signed() {
        return Ok(());
    }
    if access == Access::SaveAs {
        return Err(GatewayError::AccessDenied("sys/saveas needs a signed request.".into()));
    }
    if bucket.acl == Acl::Private {
        return Err(GatewayError::AccessDenied(
            "You have no right to access this object because of bucket acl.".into(),
        ));
    }
    if !bucket.referers.is_empty() {
        let allowed = match referer.map(str::trim).filter(|r| !r.is_empty()) {
            None => bucket.allow_empty_referer,
            Some(r) => bucket.referers.iter().any(|p| referer_matches(p, r)),
        };
        if !allowed {
            return Err(GatewayError::AccessDenied("You are denied by bucket referer policy.".into()));
        }
    }
    if bucket.source_protection && access != Access::Style && is_protected(&bucket.protected_suffixes, key) {
        return Err(GatewayError::AccessDenied(
            "This object is protected: anonymous requests may only ask for a style of it.".into(),
        ));
    }
    Ok(())
}

/// Source protection for the watermark images a processed request names: an anonymous
/// `image/...` request (not a style) may not draw a protected object onto another image, or it
/// would read the protected object's pixels. Signed requests and styles are not limited.
pub fn authorize_watermarks(
    bucket: &BucketConfig,
    identity: &Identity,
    access: Access,
    keys: &[&str],
) -> Result<(), GatewayError> {
    if identity.is_signed() || access != Access::Process || !bucket.source_protection {
        return Ok(());
    }
    if keys.iter().any(|k| is_protected(&bucket.protected_suffixes, k)) {
        return Err(GatewayError::AccessDenied(
            "A watermark image is protected: anonymous requests may only use it through a style.".into(),
        ));
    }
    Ok(())
}

/// Does source protection cover `key`? `*` covers every key; suffixes compare
/// case-insensitively (`.jpg` protects `photo.JPG`).
fn is_protected(suffixes: &[String], key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    suffixes.iter().any(|s| s == "*" || key.ends_with(&s.to_ascii_lowercase()))
}

/// A referer pattern (`*` any run, `?` one character, case-insensitive). A pattern with a
/// scheme is `<scheme>://<authority>[<path>]`: its authority part matches the Referer's
/// `scheme://host[:port]` only, and its path part (if any) the Referer's path; one without a
/// scheme matches the Referer's host. So `*.example.com`, `https://www.example.com` and
/// `https://www.example.com/*` all admit `https://www.example.com/page.html`, and text in a
/// Referer's path or query never satisfies a host.
pub fn referer_matches(pattern: &str, referer: &str) -> bool {
    let pattern = pattern.to_ascii_lowercase();
    let referer = referer.to_ascii_lowercase();
    let Some((scheme, rest)) = referer.split_once("://") else {
        return glob(pattern.as_bytes(), referer.as_bytes());
    };
    let split = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(split);
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if let Some((p_scheme, p_rest)) = pattern.split_once("://") {
        let p_split = p_rest.find('/').unwrap_or(p_rest.len());
        let (p_authority, p_path) = p_rest.split_at(p_split);
        let origin_ok = glob(p_scheme.as_bytes(), scheme.as_bytes())
            && glob(p_authority.as_bytes(), authority.as_bytes());
        return origin_ok && (p_path.is_empty() || glob(p_path.as_bytes(), path.as_bytes()));
    }
    let host = authority.split(':').next().unwrap_or(authority);
    glob(pattern.as_bytes(), host.as_bytes()) || glob(pattern.as_bytes(), authority.as_bytes())
}

fn glob(p: &[u8], s: &[u8]) -> bool {
    // Iterative wildcard match with one backtrack point: linear in practice, never exponential.
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < p.len() && (p[pi] == b'?' || p[pi] == s[si]) {
            pi += 1;
            si += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, si));
            pi += 1;
        } else if let Some((sp, ss)) = star {
            pi = sp + 1;
            si = ss + 1;
            star = Some((sp, ss + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn referer_patterns() {
        let m = referer_matches;
        assert!(m("*.example.com", "https://www.example.com/a/b.html"));
        assert!(m("https://www.example.com", "https://www.example.com/page"));
        assert!(m("http://www.example.com/*", "http://www.example.com/page"));
        assert!(m("www.example.com", "https://www.example.com:8443/x"));
        assert!(m("WWW.Example.com", "https://www.example.COM/x"));
        assert!(m("www.?xample.com", "https://www.example.com/"));
        assert!(!m("*.example.com", "https://example.org/www.example.com"));
        assert!(!m("www.example.com", "https://www.example.com.evil.net/"));
        assert!(!m("https://www.example.com", "http://www.example.com/"));
        assert!(!m("https://www.example.com", "https://www.example.com.evil.net/"));
        assert!(!m("*.example.com", "https://evil.net/?u=a.example.com"));
        assert!(m("*.example.com:8080", "https://a.example.com:8080/"));
        // A scheme pattern's wildcard stays in the authority.
        assert!(!m("https://*.example.com", "https://evil.net/x.example.com"));
        assert!(m("https://*.example.com", "https://a.example.com/x"));
        assert!(m("https://a.example.com/img/*", "https://a.example.com/img/1.png"));
        assert!(!m("https://a.example.com/img/*", "https://a.example.com/other/1.png"));
        assert!(m("*://a.example.com", "http://a.example.com/"));
        // Pathological patterns stay cheap.
        assert!(!m("*a*a*a*a*a*a*a*a*b", &"a".repeat(5000)));
    }

    #[test]
    fn bucket_rules_for_anonymous_requests() {
        let mut b = BucketConfig::implicit("photos");
        let anon = Identity::Anonymous;
        let signed = Identity::Url { access_key_id: "ak".into() };
        assert!(authorize(&b, &anon, Access::Original, "a.jpg", None).is_ok());
        assert!(authorize(&b, &anon, Access::SaveAs, "a.jpg", None).is_err());
        assert!(authorize(&b, &signed, Access::SaveAs, "a.jpg", None).is_ok());
        b.acl = Acl::Private;
        assert!(authorize(&b, &anon, Access::Style, "a.jpg", None).is_err());
        assert!(authorize(&b, &signed, Access::Original, "a.jpg", None).is_ok());
        b.acl = Acl::PublicRead;
        b.referers = vec!["*.example.com".into()];
        assert!(authorize(&b, &anon, Access::Original, "a.jpg", Some("https://x.example.com/")).is_ok());
        assert!(authorize(&b, &anon, Access::Original, "a.jpg", Some("https://evil.net/")).is_err());
        assert!(authorize(&b, &anon, Access::Original, "a.jpg", None).is_ok());
        b.allow_empty_referer = false;
        assert!(authorize(&b, &anon, Access::Original, "a.jpg", None).is_err());
        assert!(authorize(&b, &anon, Access::Original, "a.jpg", Some("")).is_err());
        assert!(authorize(&b, &signed, Access::Original, "a.jpg", None).is_ok());
        b.referers.clear();
        b.source_protection = true;
        b.protected_suffixes = vec![".jpg".into()];
        assert!(authorize(&b, &anon, Access::Original, "a.jpg", None).is_err());
        assert!(authorize(&b, &anon, Access::Process, "a.jpg", None).is_err());
        assert!(authorize(&b, &anon, Access::Style, "a.jpg", None).is_ok());
        assert!(authorize(&b, &anon, Access::Original, "a.png", None).is_ok());
        assert!(authorize(&b, &anon, Access::Original, "A.JPG", None).is_err());
        b.protected_suffixes = vec!["*".into()];
        assert!(authorize(&b, &anon, Access::Original, "readme.txt", None).is_err());
        assert!(authorize(&b, &anon, Access::Style, "readme.txt", None).is_ok());
        assert!(authorize(&b, &signed, Access::Original, "a.jpg", None).is_ok());
    }
}
