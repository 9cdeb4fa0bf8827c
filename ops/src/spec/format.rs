//! `format,<f>` (`docs/oss/actions.md#format`): single bare value, the output format.
//!
//! Values: `jpg` (alias `jpeg`, printed `jpg`), `png`, `webp`, `bmp`, `gif`, `tiff`, `heic`, `avif`;
//! lower-case only. Rules: no value → EC 0040-00000207 (MissingArgument); unknown value → 206;
//! more than one value → 203.

use std::fmt;

use super::cursor::{Cursor, Subject, choice};
use super::error::SpecError;

pub(crate) const NAME: &str = "format";

const EC_BAD: &str = "0040-00000206";
const EC_MISSING: &str = "0040-00000207";

/// An output (and source) image format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Jpg,
    Png,
    Webp,
    Bmp,
    Gif,
    Tiff,
    Heic,
    Avif,
}

const TABLE: &[(&str, Format)] = &[
    ("jpg", Format::Jpg),
    ("jpeg", Format::Jpg),
    ("png", Format::Png),
    ("webp", Format::Webp),
    ("bmp", Format::Bmp),
    ("gif", Format::Gif),
    ("tiff", Format::Tiff),
    ("heic", Format::Heic),
    ("avif", Format::Avif),
];

impl Format {
    /// Every format.
    pub const ALL: [Format; 8] = [
        Format::Jpg,
        Format::Png,
        Format::Webp,
        Format::Bmp,
        Format::Gif,
        Format::Tiff,
        Format::Heic,
        Format::Avif,
    ];

    /// The canonical OSS keyword (`jpg`, `png`, ...), also the `Format` value of `info`.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Jpg => "jpg",
            Format::Png => "png",
            Format::Webp => "webp",
            Format::Bmp => "bmp",
            Format::Gif => "gif",
            Format::Tiff => "tiff",
            Format::Heic => "heic",
            Format::Avif => "avif",
        }
    }

    /// The `Content-Type` of this format.
    pub fn mime(self) -> &'static str {
        match self {
            Format::Jpg => "image/jpeg",
            Format::Png => "image/png",
            Format::Webp => "image/webp",
            Format::Bmp => "image/bmp",
            Format::Gif => "image/gif",
            Format::Tiff => "image/tiff",
            Format::Heic => "image/heic",
            Format::Avif => "image/avif",
        }
    }
}

impl fmt::Display for Format {
    /// The keyword (`jpg`), not the action: the action prints as `format,jpg`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

pub(crate) fn parse(mut c: Cursor<'_>) -> Result<Format, SpecError> {
    let v = c.value(Some(EC_MISSING), "one of jpg, jpeg, png, webp, bmp, gif, tiff, heic, avif")?;
    c.finish()?;
    choice(NAME, Subject::Value, v, TABLE, Some(EC_BAD))
}

/// Canonical form: `format,<keyword>`.
pub(crate) fn write(v: &Format, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    write!(f, "{NAME},{}", v.as_str())
}

#[cfg(test)]
mod tests {
    use super::super::ErrorKind::{InvalidArgument, MissingArgument};
    use super::super::testing::{Expect, check, check_msg};
    use super::*;

    #[test]
    fn table() {
        const ROWS: &[(&str, Expect)] = &[
            ("format,jpg", Ok("format,jpg")),
            ("format,jpeg", Ok("format,jpg")),
            ("format,png", Ok("format,png")),
            ("format,webp", Ok("format,webp")),
            ("format,bmp", Ok("format,bmp")),
            ("format,gif", Ok("format,gif")),
            ("format,tiff", Ok("format,tiff")),
            ("format,heic", Ok("format,heic")),
            ("format,avif", Ok("format,avif")),
            // EC catalogue (docs/oss/errors.md#ec-catalogue)
            ("format,dng", Err((InvalidArgument, Some("0040-00000206")))),
            ("format,PNG", Err((InvalidArgument, Some("0040-00000206")))),
            ("format,tif", Err((InvalidArgument, Some("0040-00000206")))),
            ("format,f_png", Err((InvalidArgument, Some("0040-00000206")))),
            ("format", Err((MissingArgument, Some("0040-00000207")))),
            ("format,png,jpg", Err((InvalidArgument, Some("0040-00000203")))),
        ];
        check(ROWS);
    }

    #[test]
    fn messages() {
        check_msg(
            "format,dng",
            "format: value must be one of jpg, jpeg, png, webp, bmp, gif, tiff, heic, avif, got \"dng\"",
        );
    }

    #[test]
    fn keywords_and_mime_types() {
        let rows = [
            (Format::Jpg, "jpg", "image/jpeg"),
            (Format::Png, "png", "image/png"),
            (Format::Webp, "webp", "image/webp"),
            (Format::Bmp, "bmp", "image/bmp"),
            (Format::Gif, "gif", "image/gif"),
            (Format::Tiff, "tiff", "image/tiff"),
            (Format::Heic, "heic", "image/heic"),
            (Format::Avif, "avif", "image/avif"),
        ];
        assert_eq!(rows.map(|r| r.0), Format::ALL);
        for (f, s, mime) in rows {
            assert_eq!((f.as_str(), f.mime(), f.to_string().as_str()), (s, mime, s));
        }
    }
}
