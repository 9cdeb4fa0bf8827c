//! `circle`: `r` [1, 4096], required. A radius larger than half the shorter side is
//! clamped by the pixel layer. Unknown keys are ignored.
//!
//! OSS's documentation: `docs/oss/actions.md#circle`.

use std::fmt;

use super::cursor::{Cursor, Subject, u32_in};
use super::error::SpecError;

pub(crate) const NAME: &str = "circle";

const EC_R: &str = "0040-00000233";

/// Largest `r`.
pub const MAX_RADIUS: u32 = 4096;

/// Resolved `circle` parameters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Circle {
    /// `r`, [1, 4096].
    pub radius: u32,
}

pub(crate) fn parse(mut c: Cursor<'_>) -> Result<Circle, SpecError> {
    let mut r = None;
    while let Some(p) = c.next_param() {
        if p.key == "r" {
            r = Some(p.val());
        } // unknown keys are ignored
    }
    c.finish()?;
    match r {
        Some(v) => Ok(Circle { radius: u32_in(NAME, Subject::Param("r"), v, 1, MAX_RADIUS, Some(EC_R))? }),
        None => Err(SpecError::missing(
            None,
            format!("{NAME}: missing parameter r, an integer in [1, {MAX_RADIUS}]"),
        )),
    }
}

/// Canonical form: `circle,r_<r>`.
pub(crate) fn write(c: &Circle, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    write!(f, "{NAME},r_{}", c.radius)
}

impl fmt::Display for Circle {
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
            ("circle,r_100", Ok("circle,r_100")),
            ("circle,r_1", Ok("circle,r_1")),
            ("circle,r_4096", Ok("circle,r_4096")),
            ("circle,r_0100,x_1", Ok("circle,r_100")),
            ("circle,r_5,r_6", Ok("circle,r_6")),
            // EC catalogue (docs/oss/errors.md#ec-catalogue)
            ("circle,r_abc", Err((InvalidArgument, Some("0040-00000233")))),
            ("circle,r_5000", Err((InvalidArgument, Some("0040-00000233")))),
            ("circle,r_0", Err((InvalidArgument, Some("0040-00000233")))),
            ("circle,r_-1", Err((InvalidArgument, Some("0040-00000233")))),
            ("circle,r", Err((InvalidArgument, Some("0040-00000233")))),
            ("circle", Err((MissingArgument, None))),
            ("circle,100", Err((MissingArgument, None))),
        ];
        check(ROWS);
    }

    #[test]
    fn messages() {
        check_msg("circle,r_5000", "circle: parameter r must be an integer in [1, 4096], got \"5000\"");
        check_msg("circle", "circle: missing parameter r, an integer in [1, 4096]");
    }
}
