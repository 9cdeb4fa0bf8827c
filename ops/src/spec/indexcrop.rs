//! `indexcrop`: cut the image into slices of `x` pixels along x (or `y` pixels along
//! y) and keep slice `i`.
//!
//! Rules: one of `x`/`y` is required (both ≥ 1, up to the image size; larger is the pixel layer's
//! business); both are validated when both are given, so an invalid `x` or `y` is an error even
//! when the other is valid (`indexcrop,x_0,y_10`: 230); when both are valid, `y` wins and `x` is
//! dropped. `i` ≥ 0, default 0; `i` beyond the last slice returns the original image (pixel
//! layer). Unknown keys are ignored.
//!
//! OSS's documentation: `docs/oss/actions.md#indexcrop`.

use std::fmt;

use super::cursor::{Cursor, Subject, u32_from};
use super::error::SpecError;

pub(crate) const NAME: &str = "indexcrop";

/// `indexcrop,x_0,i_0` (also used for `y_0`).
const EC_SIZE: &str = "0040-00000230";

/// The axis the image is sliced along.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IndexAxis {
    /// `x_`: vertical slices of `size` pixels width.
    X,
    /// `y_`: horizontal slices of `size` pixels height.
    Y,
}

/// Resolved `indexcrop` parameters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IndexCrop {
    pub axis: IndexAxis,
    /// `x` or `y`, ≥ 1: slice size in pixels.
    pub size: u32,
    /// `i`, ≥ 0, default 0: which slice (0-based).
    pub index: u32,
}

pub(crate) fn parse(mut c: Cursor<'_>) -> Result<IndexCrop, SpecError> {
    let (mut x, mut y, mut i) = (None, None, None);
    while let Some(p) = c.next_param() {
        let slot = match p.key {
            "x" => &mut x,
            "y" => &mut y,
            "i" => &mut i,
            _ => continue, // unknown keys are ignored
        };
        *slot = Some(p.val());
    }
    c.finish()?;

    let size = |key: &str, v: Option<&str>, what: &str| {
        v.map(|v| u32_from(NAME, Subject::Param(key), v, 1, what, Some(EC_SIZE))).transpose()
    };
    // both are validated, even when only one of them will be used
    let x = size("x", x, "an integer from 1 up to the image width")?;
    let y = size("y", y, "an integer from 1 up to the image height")?;
    let index = match i {
        Some(v) => u32_from(NAME, Subject::Param("i"), v, 0, "a slice index, an integer from 0", None)?,
        None => 0,
    };
    let (axis, size) = match (x, y) {
        (_, Some(y)) => (IndexAxis::Y, y),
        (Some(x), None) => (IndexAxis::X, x),
        (None, None) => {
            return Err(SpecError::missing(
                None,
                format!("{NAME}: missing parameter, one of x, y is required"),
            ));
        }
    };
    Ok(IndexCrop { axis, size, index })
}

/// Canonical form: `indexcrop,x_<n>,i_<i>` or `indexcrop,y_<n>,i_<i>`.
pub(crate) fn write(c: &IndexCrop, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let axis = match c.axis {
        IndexAxis::X => "x",
        IndexAxis::Y => "y",
    };
    write!(f, "{NAME},{axis}_{},i_{}", c.size, c.index)
}

impl fmt::Display for IndexCrop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::super::ErrorKind::{InvalidArgument, MissingArgument};
    use super::super::testing::{Expect, check, check_msg};

    #[test]
    fn table() {
        const ROWS: &[(&str, Expect)] = &[
            ("indexcrop,x_100,i_0", Ok("indexcrop,x_100,i_0")),
            ("indexcrop,x_100", Ok("indexcrop,x_100,i_0")),
            ("indexcrop,i_2,x_100", Ok("indexcrop,x_100,i_2")),
            // worked example: i beyond the slice count is valid (original image returned)
            ("indexcrop,y_100,i_10", Ok("indexcrop,y_100,i_10")),
            // y wins when both are valid
            ("indexcrop,x_50,y_100,i_1", Ok("indexcrop,y_100,i_1")),
            ("indexcrop,y_100,x_50", Ok("indexcrop,y_100,i_0")),
            ("indexcrop,x_1,foo_bar,z", Ok("indexcrop,x_1,i_0")),
            ("indexcrop,x_5,x_6", Ok("indexcrop,x_6,i_0")),
            // EC catalogue (docs/oss/errors.md#ec-catalogue)
            ("indexcrop,x_0,i_0", Err((InvalidArgument, Some("0040-00000230")))),
            ("indexcrop,y_0", Err((InvalidArgument, Some("0040-00000230")))),
            ("indexcrop,x_abc", Err((InvalidArgument, Some("0040-00000230")))),
            // an invalid x or y is an error even when the other is valid (y would win)
            ("indexcrop,x_0,y_10", Err((InvalidArgument, Some("0040-00000230")))),
            ("indexcrop,x_abc,y_10", Err((InvalidArgument, Some("0040-00000230")))),
            ("indexcrop,x_10,y_0", Err((InvalidArgument, Some("0040-00000230")))),
            ("indexcrop,x_-5", Err((InvalidArgument, Some("0040-00000230")))),
            ("indexcrop,x_10,i_-1", Err((InvalidArgument, None))),
            ("indexcrop,x_10,i_a", Err((InvalidArgument, None))),
            ("indexcrop", Err((MissingArgument, None))),
            ("indexcrop,i_1", Err((MissingArgument, None))),
        ];
        check(ROWS);
    }

    #[test]
    fn messages() {
        check_msg(
            "indexcrop,x_0",
            "indexcrop: parameter x must be an integer from 1 up to the image width, got \"0\"",
        );
        check_msg(
            "indexcrop,y_-1",
            "indexcrop: parameter y must be an integer from 1 up to the image height, got \"-1\"",
        );
        check_msg(
            "indexcrop,x_1,i_-1",
            "indexcrop: parameter i must be a slice index, an integer from 0, got \"-1\"",
        );
        check_msg("indexcrop,i_0", "indexcrop: missing parameter, one of x, y is required");
    }
}
