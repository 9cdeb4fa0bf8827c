//! `crop` (`docs/oss/actions.md#crop`): `w`, `h`, `x`, `y`, `g`.
//!
//! Rules: every parameter is optional (`crop` alone keeps the whole image). `w`/`h` absent = to the
//! edge; `w_0`/`h_0` are accepted and kept (OSS's documented range starts at 0; the pixel layer
//! decides what a zero size means). Whether the start point lies inside the image is checked by
//! the pixel layer (BadRequest `Advance cut's position is out of image.`). Unknown keys are
//! ignored: the OSS SDK tests send `crop,w_100,h_100,x_100,y_100,r_1` and expect success.

use std::fmt;

use super::cursor::{Cursor, Subject, u32_from};
use super::error::SpecError;
use super::gravity::Gravity;

pub(crate) const NAME: &str = "crop";

const EC_W: &str = "0040-00000225";
const EC_H: &str = "0040-00000226";

/// Resolved `crop` parameters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Crop {
    /// `w`, ≥ 0; `None` = to the right edge.
    pub width: Option<u32>,
    /// `h`, ≥ 0; `None` = to the bottom edge.
    pub height: Option<u32>,
    /// `x`, ≥ 0, default 0: horizontal offset added to the anchor.
    pub x: u32,
    /// `y`, ≥ 0, default 0: vertical offset added to the anchor.
    pub y: u32,
    /// `g`, default `nw`.
    pub gravity: Gravity,
}

#[derive(Default)]
struct Raw<'a> {
    w: Option<&'a str>,
    h: Option<&'a str>,
    x: Option<&'a str>,
    y: Option<&'a str>,
    g: Option<&'a str>,
}

pub(crate) fn parse(mut c: Cursor<'_>) -> Result<Crop, SpecError> {
    let mut raw = Raw::default();
    while let Some(p) = c.next_param() {
        let slot = match p.key {
            "w" => &mut raw.w,
            "h" => &mut raw.h,
            "x" => &mut raw.x,
            "y" => &mut raw.y,
            "g" => &mut raw.g,
            _ => continue, // unknown keys are ignored (`r_1` in the SDK tests)
        };
        *slot = Some(p.val());
    }
    c.finish()?;

    // bounded by the image, not by the grammar: beyond the edge is clipped by the pixel layer
    const UP_TO_WIDTH: &str = "an integer from 0 up to the image width";
    const UP_TO_HEIGHT: &str = "an integer from 0 up to the image height";
    let num = |key: &str, v: Option<&str>, what: &str, ec: Option<&'static str>| {
        v.map(|v| u32_from(NAME, Subject::Param(key), v, 0, what, ec)).transpose()
    };
    let width = num("w", raw.w, UP_TO_WIDTH, Some(EC_W))?;
    let height = num("h", raw.h, UP_TO_HEIGHT, Some(EC_H))?;
    let x = num("x", raw.x, UP_TO_WIDTH, None)?.unwrap_or(0);
    let y = num("y", raw.y, UP_TO_HEIGHT, None)?.unwrap_or(0);
    let gravity = match raw.g {
        Some(v) => Gravity::parse(NAME, "g", v, None)?,
        None => Gravity::Nw,
    };
    Ok(Crop { width, height, x, y, gravity })
}

/// Canonical form: `crop[,w_][,h_],x_<x>,y_<y>,g_<g>`.
pub(crate) fn write(c: &Crop, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    f.write_str(NAME)?;
    if let Some(w) = c.width {
        write!(f, ",w_{w}")?;
    }
    if let Some(h) = c.height {
        write!(f, ",h_{h}")?;
    }
    write!(f, ",x_{},y_{},g_{}", c.x, c.y, c.gravity)
}

impl fmt::Display for Crop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::super::ErrorKind::InvalidArgument;
    use super::super::testing::{Expect, check, check_msg};

    #[test]
    fn table() {
        const ROWS: &[(&str, Expect)] = &[
            // OSS SDK integration test: unknown r_1 tolerated
            ("crop,w_100,h_100,x_100,y_100,r_1", Ok("crop,w_100,h_100,x_100,y_100,g_nw")),
            ("crop,w_100,h_100", Ok("crop,w_100,h_100,x_0,y_0,g_nw")),
            ("crop,h_100,w_100,g_nw,x_0,y_0", Ok("crop,w_100,h_100,x_0,y_0,g_nw")),
            ("crop,w_100,h_100,g_se", Ok("crop,w_100,h_100,x_0,y_0,g_se")),
            ("crop,x_10,y_20,w_200,h_200,g_center", Ok("crop,w_200,h_200,x_10,y_20,g_center")),
            ("crop", Ok("crop,x_0,y_0,g_nw")),
            ("crop,x_10", Ok("crop,x_10,y_0,g_nw")),
            ("crop,w_100", Ok("crop,w_100,x_0,y_0,g_nw")),
            ("crop,h_100,g_south", Ok("crop,h_100,x_0,y_0,g_south")),
            ("crop,w_0,h_0", Ok("crop,w_0,h_0,x_0,y_0,g_nw")),
            ("crop,w_007,x_+3", Ok("crop,w_7,x_3,y_0,g_nw")),
            ("crop,w_4294967295", Ok("crop,w_4294967295,x_0,y_0,g_nw")),
            ("crop,w_1,w_2,g_ne,g_sw", Ok("crop,w_2,x_0,y_0,g_sw")),
            ("crop,w_100,foo,bar_baz", Ok("crop,w_100,x_0,y_0,g_nw")),
            // every gravity
            ("crop,g_nw", Ok("crop,x_0,y_0,g_nw")),
            ("crop,g_north", Ok("crop,x_0,y_0,g_north")),
            ("crop,g_ne", Ok("crop,x_0,y_0,g_ne")),
            ("crop,g_west", Ok("crop,x_0,y_0,g_west")),
            ("crop,g_center", Ok("crop,x_0,y_0,g_center")),
            ("crop,g_east", Ok("crop,x_0,y_0,g_east")),
            ("crop,g_sw", Ok("crop,x_0,y_0,g_sw")),
            ("crop,g_south", Ok("crop,x_0,y_0,g_south")),
            ("crop,g_se", Ok("crop,x_0,y_0,g_se")),
            // EC catalogue (docs/oss/errors.md#ec-catalogue)
            ("crop,w_abc,h_100", Err((InvalidArgument, Some("0040-00000225")))),
            ("crop,w_-1,h_100", Err((InvalidArgument, Some("0040-00000225")))),
            ("crop,w_4294967296", Err((InvalidArgument, Some("0040-00000225")))),
            ("crop,w_100,h_abc", Err((InvalidArgument, Some("0040-00000226")))),
            ("crop,w_100,h_-1", Err((InvalidArgument, Some("0040-00000226")))),
            ("crop,h_", Err((InvalidArgument, Some("0040-00000226")))),
            // a bare known key is that key with an empty value: an error, not an unknown token
            ("crop,w", Err((InvalidArgument, Some("0040-00000225")))),
            ("crop,w_10,g", Err((InvalidArgument, None))),
            // no EC documented
            ("crop,x_-1", Err((InvalidArgument, None))),
            ("crop,y_abc", Err((InvalidArgument, None))),
            ("crop,g_middle", Err((InvalidArgument, None))),
            ("crop,g_NW", Err((InvalidArgument, None))),
        ];
        check(ROWS);
    }

    #[test]
    fn messages() {
        check_msg(
            "crop,w_-1",
            "crop: parameter w must be an integer from 0 up to the image width, got \"-1\"",
        );
        check_msg(
            "crop,h_x",
            "crop: parameter h must be an integer from 0 up to the image height, got \"x\"",
        );
        check_msg(
            "crop,x_1.5",
            "crop: parameter x must be an integer from 0 up to the image width, got \"1.5\"",
        );
        check_msg(
            "crop,y_4294967296",
            "crop: parameter y must be an integer from 0 up to the image height, got \"4294967296\"",
        );
    }
}
