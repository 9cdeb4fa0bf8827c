//! Content negotiation for `auto_format`: which of a bucket's formats a request's `Accept`
//! names explicitly. The choice becomes a `format` action appended to the chain, so the cache
//! key, the ETag and the shared level all hold the chosen format, never the raw header.

use pixgate_ops::spec::Format;

/// The first of `formats` that `accept` names explicitly with a quality above zero;
/// `image/*` and `*/*` do not count (a browser that sends them may not decode WebP or AVIF).
pub fn choose(formats: &[Format], accept: Option<&str>) -> Option<Format> {
    let accept = accept?;
    formats.iter().copied().find(|f| names(accept, f.mime()))
}

/// Does `accept` list the media type `mime` itself, with q > 0? (`image/webp;q=0` refuses it.)
pub fn names(accept: &str, mime: &str) -> bool {
    let mut named = false;
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let range = parts.next().unwrap_or("").trim();
        if !range.eq_ignore_ascii_case(mime) {
            continue;
        }
        let q = parts
            .filter_map(|p| p.split_once('='))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("q"))
            .map_or(Some(1.0), |(_, v)| v.trim().parse::<f32>().ok());
        match q {
            // The last listing of the same type decides (a later `q=0` withdraws it).
            Some(q) => named = q > 0.0 && q.is_finite(),
            None => named = false,
        }
    }
    named
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHROME: &str = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8";
    const FIREFOX: &str = "image/avif,image/webp,image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5";
    const SAFARI_15: &str =
        "image/webp,image/avif,video/*;q=0.8,image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5";
    const OLD_SAFARI: &str = "image/png,image/svg+xml,image/*;q=0.8,video/*;q=0.8,*/*;q=0.5";
    const CURL: &str = "*/*";

    #[test]
    fn explicit_types_with_positive_quality_only() {
        let both = [Format::Avif, Format::Webp];
        let webp = [Format::Webp];
        assert_eq!(choose(&both, Some(CHROME)), Some(Format::Avif));
        assert_eq!(choose(&webp, Some(CHROME)), Some(Format::Webp));
        assert_eq!(choose(&webp, Some(FIREFOX)), Some(Format::Webp));
        assert_eq!(choose(&both, Some(SAFARI_15)), Some(Format::Avif), "the configured order decides");
        assert_eq!(choose(&webp, Some(OLD_SAFARI)), None, "image/* does not imply WebP");
        assert_eq!(choose(&both, Some(CURL)), None, "*/* does not imply WebP or AVIF");
        assert_eq!(choose(&both, None), None);
        assert_eq!(choose(&webp, Some("image/webp;q=0")), None);
        assert_eq!(choose(&webp, Some("image/webp; q=0.0, image/png")), None);
        assert_eq!(choose(&webp, Some("IMAGE/WEBP;Q=0.5")), Some(Format::Webp));
        assert_eq!(choose(&webp, Some("image/webp;q=abc")), None);
        assert_eq!(choose(&webp, Some("image/webp, image/webp;q=0")), None);
        assert_eq!(choose(&both, Some("image/avif;q=0, image/webp")), Some(Format::Webp));
        assert_eq!(choose(&[], Some(CHROME)), None);
    }
}
