//! Styles (`docs/oss/styles.md`): names and stored contents.

use super::error::{Plain, SpecError};
use super::{Chain, parse_image};

const EC_NAME_LENGTH: &str = "0017-00000250";
const EC_NAME_CHARS: &str = "0017-00000251";
const EC_CONTENT_CHARS: &str = "0040-00000602";

/// Longest style name, in characters.
pub const MAX_STYLE_NAME: usize = 63;

/// Characters a style's content must not contain.
pub const FORBIDDEN_CONTENT_CHARS: [char; 6] = [';', '(', ')', '\'', '*', '?'];

/// A style name is 1–63 characters of `[A-Za-z0-9_.-]`.
///
/// Errors: `InvalidArgument`, message `The value: <name> of parameter: stylename is invalid.`
/// (the name is cut after 64 characters, control characters replaced), EC `0017-00000250` for the
/// length (checked first), `0017-00000251` for the characters.
pub fn validate_style_name(name: &str) -> Result<(), SpecError> {
    let len = name.chars().take(MAX_STYLE_NAME + 1).count();
    let ec = if len == 0 || len > MAX_STYLE_NAME {
        EC_NAME_LENGTH
    } else if !name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-')) {
        EC_NAME_CHARS
    } else {
        return Ok(());
    };
    Err(SpecError::invalid(
        Some(ec),
        format!("The value: {} of parameter: stylename is invalid.", Plain(name)),
    ))
}

/// Parses a style's stored content (`image/...`). Content containing any of `; ( ) ' * ?` is
/// rejected first (InvalidArgument, EC `0040-00000602`); then it must be a valid `image/` chain.
pub fn parse_style_content(content: &str) -> Result<Chain, SpecError> {
    if let Some(c) = content.chars().find(|c| FORBIDDEN_CONTENT_CHARS.contains(c)) {
        return Err(SpecError::invalid(
            Some(EC_CONTENT_CHARS),
            format!("style: content must not contain any of ; ( ) ' * ?, found {c:?}"),
        ));
    }
    parse_image(content)
}

#[cfg(test)]
mod tests {
    use super::super::ErrorKind::{InvalidArgument, MissingArgument};
    use super::*;

    #[test]
    fn style_names() {
        let long = "a".repeat(63);
        let too_long = "a".repeat(64);
        let rows: &[(&str, Option<&str>)] = &[
            ("small", None),
            ("a", None),
            ("Thumb_200.v2-x", None),
            ("0", None),
            (&long, None),
            ("", Some("0017-00000250")),
            (&too_long, Some("0017-00000250")),
            ("a b", Some("0017-00000251")),
            ("a/b", Some("0017-00000251")),
            ("a!b", Some("0017-00000251")),
            ("图片", Some("0017-00000251")),
            ("a\u{0}", Some("0017-00000251")),
        ];
        for (name, ec) in rows {
            let got = validate_style_name(name).map_err(|e| (e.kind, e.ec));
            let want = match ec {
                None => Ok(()),
                Some(ec) => Err((InvalidArgument, Some(*ec))),
            };
            assert_eq!(got, want, "{name:?}");
        }
        assert_eq!(
            validate_style_name("a b").unwrap_err().message,
            "The value: a b of parameter: stylename is invalid."
        );
        assert_eq!(
            validate_style_name("a\nb").unwrap_err().message,
            "The value: a\u{FFFD}b of parameter: stylename is invalid."
        );
        let huge = "x".repeat(10_000);
        let e = validate_style_name(&huge).unwrap_err();
        assert_eq!(e.message, format!("The value: {}… of parameter: stylename is invalid.", "x".repeat(64)));
    }

    #[test]
    fn style_contents() {
        assert_eq!(
            parse_style_content("image/resize,p_50").map(|c| c.to_string()),
            Ok("image/resize,m_lfit,p_50,limit_1".to_owned())
        );
        for bad in
            ["image/resize,w_1;", "image/resize,w_(1)", "image/rotate,'9'", "image/*", "image/resize,w_1?x=1"]
        {
            let e = parse_style_content(bad).unwrap_err();
            assert_eq!((e.kind, e.ec), (InvalidArgument, Some("0040-00000602")), "{bad:?}");
        }
        let e = parse_style_content("image/").unwrap_err();
        assert_eq!((e.kind, e.ec), (MissingArgument, Some("0040-00000212")));
        let e = parse_style_content("image/resize,w_0").unwrap_err();
        assert_eq!(e.ec, Some("0040-00000312"));
        assert_eq!(
            parse_style_content("image/a;b").unwrap_err().message,
            "style: content must not contain any of ; ( ) ' * ?, found ';'"
        );
    }
}
