//! Base64 as OSS uses it for watermark text/font/image and `sys/saveas` targets.
//!
//! Decoding accepts the URL-safe (`-`, `_`) and the standard (`+`, `/`) alphabet, even mixed, with
//! or without `=` padding. When padding is present it must complete the last quantum (`YQ==`, not
//! `YQ=`). Non-zero trailing bits are ignored. Encoding (for the canonical form) is always URL-safe
//! without padding, so equivalent encodings print identically.
//!
//! OSS's documentation: `docs/oss/requests.md#base64`.

use std::fmt::{self, Write as _};

use super::error::{Echo, SpecError};

const URL_SAFE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// The OSS message for undecodable base64.
pub const NOT_BASE64: &str = "Input is not base64 decoding.";

fn sextet(c: u8) -> Option<u32> {
    let v = match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'-' | b'+' => 62,
        b'_' | b'/' => 63,
        _ => return None,
    };
    Some(u32::from(v))
}

/// Decodes URL-safe or standard base64, padding optional.
///
/// Error: `BadRequest`, message `Input is not base64 decoding.` (no EC; callers that know one
/// replace the error).
pub fn decode_base64_url(s: &str) -> Result<Vec<u8>, SpecError> {
    decode(s).ok_or_else(|| SpecError::bad_request(None, NOT_BASE64.to_owned()))
}

fn decode(s: &str) -> Option<Vec<u8>> {
    let all = s.as_bytes();
    let body = all.strip_suffix(b"==").or_else(|| all.strip_suffix(b"=")).unwrap_or(all);
    let padded = body.len() != all.len();
    if body.len() % 4 == 1 || (padded && !all.len().is_multiple_of(4)) {
        return None;
    }
    let mut out = Vec::with_capacity(body.len() / 4 * 3 + 2);
    let mut acc: u32 = 0;
    let mut bits: u32 = 0;
    for &c in body {
        acc = (acc << 6) | sextet(c)?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(((acc >> bits) & 0xFF) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// Decodes a base64 parameter into UTF-8 text. Bad base64 → `BadRequest` (OSS message
/// `Input is not base64 decoding.`), bad UTF-8 → `InvalidArgument`; both carry `ec`.
pub(crate) fn decode_param(
    action: &str,
    key: &str,
    v: &str,
    ec: Option<&'static str>,
) -> Result<String, SpecError> {
    let bytes = decode(v).ok_or_else(|| {
        SpecError::bad_request(
            ec,
            format!(
                "{action}: parameter {key}: {NOT_BASE64} Expected URL-safe or standard base64 \
                 (padding optional), got {}",
                Echo(v)
            ),
        )
    })?;
    String::from_utf8(bytes).map_err(|_| {
        SpecError::invalid(
            ec,
            format!("{action}: parameter {key} must be base64 of UTF-8 text, got {}", Echo(v)),
        )
    })
}

/// Encodes URL-safe base64 without padding.
pub fn encode_base64_url(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len().div_ceil(3) * 4);
    let _ = write!(s, "{}", B64(bytes));
    s
}

/// Displays bytes as URL-safe base64 without padding.
pub(crate) struct B64<'a>(pub(crate) &'a [u8]);

impl fmt::Display for B64<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut w = B64Writer::new(f);
        w.push(self.0)?;
        w.finish()
    }
}

/// Streams URL-safe base64 (no padding) of whatever is written into it to an inner writer, so a
/// value can be encoded while it is being printed, without an intermediate `String`.
pub(crate) struct B64Writer<'w, W: fmt::Write + ?Sized> {
    out: &'w mut W,
    pending: [u8; 3],
    n: usize,
}

impl<'w, W: fmt::Write + ?Sized> B64Writer<'w, W> {
    pub(crate) fn new(out: &'w mut W) -> Self {
        B64Writer { out, pending: [0; 3], n: 0 }
    }

    fn emit(&mut self, count: usize) -> fmt::Result {
        let [a, b, c] = self.pending;
        let n = (u32::from(a) << 16) | (u32::from(b) << 8) | u32::from(c);
        for i in 0..count {
            let idx = ((n >> (18 - 6 * i)) & 0x3F) as usize;
            self.out.write_char(char::from(URL_SAFE[idx]))?;
        }
        Ok(())
    }

    pub(crate) fn push(&mut self, bytes: &[u8]) -> fmt::Result {
        for &b in bytes {
            self.pending[self.n] = b;
            self.n += 1;
            if self.n == 3 {
                self.emit(4)?;
                self.n = 0;
            }
        }
        Ok(())
    }

    /// Flushes the last partial quantum (2 or 3 characters, no padding).
    pub(crate) fn finish(mut self) -> fmt::Result {
        match self.n {
            0 => Ok(()),
            n => {
                for slot in &mut self.pending[n..] {
                    *slot = 0;
                }
                self.emit(n + 1)
            }
        }
    }
}

impl<W: fmt::Write + ?Sized> fmt::Write for B64Writer<'_, W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.push(s.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Option<Vec<u8>> {
        decode_base64_url(s).ok()
    }

    #[test]
    fn decodes_both_alphabets_with_and_without_padding() {
        let rows: &[(&str, Option<&[u8]>)] = &[
            ("", Some(b"")),
            ("YQ", Some(b"a")),
            ("YQ==", Some(b"a")),
            ("YWI", Some(b"ab")),
            ("YWI=", Some(b"ab")),
            ("YWJj", Some(b"abc")),
            ("ZGVzdC5qcGc=", Some(b"dest.jpg")),
            ("ZGVzdC5qcGc", Some(b"dest.jpg")),
            ("aW1hZ2UvcGFuZGEucG5n", Some(b"image/panda.png")),
            ("d3F5LXplbmhlaQ", Some(b"wqy-zenhei")),
            ("SGVsbG8g5Zu-54mH5pyN5YqhIQ", Some("Hello 图片服务!".as_bytes())),
            ("SGVsbG8g5Zu+54mH5pyN5YqhIQ==", Some("Hello 图片服务!".as_bytes())),
            ("_-8", Some(&[0xFF, 0xEF])),
            ("/+8=", Some(&[0xFF, 0xEF])),
            ("YR", Some(b"a")), // non-zero trailing bits ignored
            ("Y", None),
            ("YQ=", None),
            ("YWJj=", None),
            ("YQ===", None),
            ("=", None),
            ("Y=Q=", None),
            ("YW J", None),
            ("YWJ!", None),
            ("notbase64", None),
            ("éé", None),
        ];
        for (input, expect) in rows {
            assert_eq!(dec(input).as_deref(), *expect, "input {input:?}");
        }
    }

    #[test]
    fn error_is_the_oss_message() {
        let e = decode_base64_url("x").unwrap_err();
        assert_eq!(e.kind, super::super::ErrorKind::BadRequest);
        assert_eq!(e.ec, None);
        assert_eq!(e.message, "Input is not base64 decoding.");
    }

    #[test]
    fn encodes_url_safe_without_padding() {
        let rows: &[(&[u8], &str)] = &[
            (b"", ""),
            (b"a", "YQ"),
            (b"ab", "YWI"),
            (b"abc", "YWJj"),
            (b"dest.jpg", "ZGVzdC5qcGc"),
            (&[0xFF, 0xEF], "_-8"),
            ("Hello 图片服务!".as_bytes(), "SGVsbG8g5Zu-54mH5pyN5YqhIQ"),
            (
                b"panda.png?x-oss-process=image/resize,P_30",
                "cGFuZGEucG5nP3gtb3NzLXByb2Nlc3M9aW1hZ2UvcmVzaXplLFBfMzA",
            ),
        ];
        for (input, expect) in rows {
            assert_eq!(encode_base64_url(input), *expect);
            assert_eq!(dec(expect).as_deref(), Some(*input));
        }
    }

    #[test]
    fn round_trips_every_length() {
        let data: Vec<u8> = (0..=255u8).collect();
        for len in 0..data.len() {
            let slice = &data[..len];
            assert_eq!(dec(&encode_base64_url(slice)).as_deref(), Some(slice));
        }
    }
}
