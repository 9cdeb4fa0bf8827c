//! `|sys/saveas,o_<b64 key>[,b_<b64 bucket>]` (`docs/oss/saveas.md`): persist the result.
//!
//! Rules: `o` required, `b` optional (default: the source bucket); option order free; both are
//! base64 (URL-safe or standard alphabet, padding optional — the Java SDK sends standard base64
//! with `=`). The values are split on `,` only (standard base64 may contain `/`). Unknown keys are
//! ignored; a repeated key: the last wins. Bad base64 → BadRequest `Input is not base64
//! decoding.`. The decoded key must be a valid object key (1–1023 bytes, not starting with `/` or
//! `\`, no control characters); the bucket a valid bucket name (3–63 of `[a-z0-9-]`, starting and
//! ending with a letter or digit). That saveas is POST-only is the gateway's rule.

use std::fmt;

use super::base64::{B64, decode_param};
use super::cursor::Cursor;
use super::error::{Echo, SpecError};

pub(crate) const NAME: &str = "sys/saveas";

/// Longest object key, in bytes.
pub const MAX_KEY_BYTES: usize = 1023;

/// Where to save the processed image.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SaveAs {
    /// Decoded `o_`: the target object key.
    pub object: String,
    /// Decoded `b_`: the target bucket; `None` = the source bucket.
    pub bucket: Option<String>,
}

pub(crate) fn parse(s: &str) -> Result<SaveAs, SpecError> {
    let params = match s.strip_prefix(NAME) {
        Some(rest) if rest.is_empty() || rest.starts_with(',') => rest,
        _ => {
            return Err(SpecError::invalid(
                None,
                format!(
                    "x-oss-process: after '|' expected {NAME},o_<base64 key>[,b_<base64 bucket>], got {}",
                    Echo(s)
                ),
            ));
        }
    };
    let mut c = Cursor::new(NAME, params);
    let (mut o, mut b) = (None, None);
    while let Some(p) = c.next_param() {
        let slot = match p.key {
            "o" => &mut o,
            "b" => &mut b,
            _ => continue, // unknown keys are ignored
        };
        *slot = Some(p.val());
    }
    c.finish()?;
    let Some(o) = o else {
        return Err(SpecError::missing(
            None,
            format!("{NAME}: missing parameter o (base64 target object key)"),
        ));
    };
    let object = decode_param(NAME, "o", o, None)?;
    validate_object_key(NAME, "o", &object, None)?;
    let bucket = match b {
        Some(b) => {
            let bucket = decode_param(NAME, "b", b, None)?;
            validate_bucket_name(&bucket)?;
            Some(bucket)
        }
        None => None,
    };
    Ok(SaveAs { object, bucket })
}

/// OSS object key rules (plus: no control characters).
pub(crate) fn validate_object_key(
    action: &str,
    param: &str,
    key: &str,
    ec: Option<&'static str>,
) -> Result<(), SpecError> {
    let problem = if key.is_empty() || key.len() > MAX_KEY_BYTES {
        "must decode to an object key of 1 to 1023 bytes"
    } else if key.starts_with('/') || key.starts_with('\\') {
        "must decode to an object key that does not start with '/' or '\\'"
    } else if key.chars().any(char::is_control) {
        "must decode to an object key without control characters"
    } else {
        return Ok(());
    };
    Err(SpecError::invalid(ec, format!("{action}: parameter {param} {problem}, got {}", Echo(key))))
}

fn validate_bucket_name(name: &str) -> Result<(), SpecError> {
    let b = name.as_bytes();
    let inner_ok = b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-');
    let ends_ok = matches!((b.first(), b.last()), (Some(f), Some(l)) if *f != b'-' && *l != b'-');
    if (3..=63).contains(&b.len()) && inner_ok && ends_ok {
        return Ok(());
    }
    Err(SpecError::invalid(
        None,
        format!(
            "{NAME}: parameter b must decode to a bucket name of 3 to 63 characters [a-z0-9-], starting and \
             ending with a letter or digit, got {}",
            Echo(name)
        ),
    ))
}

impl fmt::Display for SaveAs {
    /// Canonical form: `sys/saveas,o_<b64>[,b_<b64>]` (URL-safe base64, no padding).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{NAME},o_{}", B64(self.object.as_bytes()))?;
        if let Some(b) = &self.bucket {
            write!(f, ",b_{}", B64(b.as_bytes()))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::ErrorKind::{self, BadRequest, InvalidArgument, MissingArgument};
    use super::*;

    fn ok(input: &str, object: &str, bucket: Option<&str>, canonical: &str) {
        let s = parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!((s.object.as_str(), s.bucket.as_deref()), (object, bucket), "{input:?}");
        assert_eq!(s.to_string(), canonical);
        assert_eq!(parse(canonical), Ok(s));
    }

    #[test]
    fn accepts_every_sdk_encoding() {
        // Go v2 test body: URL-safe with padding
        ok("sys/saveas,o_ZGVzdC5qcGc=", "dest.jpg", None, "sys/saveas,o_ZGVzdC5qcGc");
        // Go async test: padding trimmed
        ok("sys/saveas,o_ZGVzdC5qcGc", "dest.jpg", None, "sys/saveas,o_ZGVzdC5qcGc");
        // Java: standard base64 with padding; '/' and '+' survive because saveas splits on ',' only
        ok("sys/saveas,o_Pz8/Pj4+", "???>>>", None, "sys/saveas,o_Pz8_Pj4-");
        // bucket first
        ok(
            "sys/saveas,b_ZXhhbXBsZWJ1Y2tldA==,o_ZGVzdC5qcGc=",
            "dest.jpg",
            Some("examplebucket"),
            "sys/saveas,o_ZGVzdC5qcGc,b_ZXhhbXBsZWJ1Y2tldA",
        );
        // unknown keys ignored, last duplicate wins
        ok("sys/saveas,o_YQ,x_1,o_ZGVzdC5qcGc", "dest.jpg", None, "sys/saveas,o_ZGVzdC5qcGc");
        // keys may contain '/' and non-ASCII
        ok("sys/saveas,o_ZGlyL-Wbvi5qcGc", "dir/图.jpg", None, "sys/saveas,o_ZGlyL-Wbvi5qcGc");
    }

    #[test]
    fn rejects() {
        let rows: &[(&str, ErrorKind)] = &[
            ("sys/saveas", MissingArgument),
            ("sys/saveas,b_ZXhhbXBsZWJ1Y2tldA", MissingArgument),
            ("sys/saveas,o_", InvalidArgument),         // empty key
            ("sys/saveas,o_L2EucG5n", InvalidArgument), // "/a.png"
            ("sys/saveas,o_YQpi", InvalidArgument),     // "a\nb"
            ("sys/saveas,o_notbase64", BadRequest),
            ("sys/saveas,o_YQ,b_notbase64", BadRequest),
            ("sys/saveas,o__-8", InvalidArgument),           // not UTF-8
            ("sys/saveas,o_YQ,b_YQ", InvalidArgument),       // bucket "a": too short
            ("sys/saveas,o_YQ,b_QnVja2V0", InvalidArgument), // "Bucket": upper case
            ("sys/saveas,o_YQ,b_LWJ1Y2tldA", InvalidArgument), // "-bucket"
            ("saveas,o_YQ", InvalidArgument),
            ("sys/saveasx,o_YQ", InvalidArgument),
            ("sys/resize,w_1", InvalidArgument),
            ("", InvalidArgument),
        ];
        for (input, kind) in rows {
            match parse(input) {
                Ok(s) => panic!("{input:?}: expected {kind:?}, got {s:?}"),
                Err(e) => assert_eq!((e.kind, e.ec), (*kind, None), "{input:?}: {e}"),
            }
        }
        let long = "a".repeat(1024);
        let e =
            parse(&format!("sys/saveas,o_{}", super::super::encode_base64_url(long.as_bytes()))).unwrap_err();
        assert_eq!(e.kind, InvalidArgument);
        assert!(
            parse(&format!("sys/saveas,o_{}", super::super::encode_base64_url(&long.as_bytes()[1..])))
                .is_ok()
        );
    }

    #[test]
    fn messages() {
        let e = parse("sys/saveas,o_notbase64").unwrap_err();
        assert_eq!(
            e.message,
            "sys/saveas: parameter o: Input is not base64 decoding. Expected URL-safe or standard base64 \
             (padding optional), got \"notbase64\""
        );
        let e = parse("sys/saveas").unwrap_err();
        assert_eq!(e.message, "sys/saveas: missing parameter o (base64 target object key)");
    }
}
