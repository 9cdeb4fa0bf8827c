//! `rounded-corners`: `r` [1, 4096], required. A radius larger than the largest
//! inscribed circle (half the shorter side) is clamped by the pixel layer. Unknown keys are ignored.
//!
//! OSS's documentation: `docs/oss/actions.md#rounded-corners`.

use std::fmt;

use super::cursor::{Cursor, Subject, u32_in};
use super::error::SpecError;

pub(crate) const NAME: &str = "rounded-corners";

const EC_R: &str = "0040-00000237";

/// Largest `r`.
pub const MAX_RADIUS: u32 = 4096;

/// Resolved `rounded-corners` parameters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RoundedCorners {
    /// `r`, [1, 4096].
    pub radius: u32,
}

pub(crate) fn parse(mut c: Cursor<'_>) -> Result<RoundedCorners, SpecError> {
    let mut r = None;
    while let Some(p) = c.next_param() {
        if p.key == "r" {
            r = Some(p.val());
        } // unknown keys are ignored
    }
    c.finish()?;
    match r {
        Some(v) => {
            Ok(RoundedCorners { radius: u32_in(NAME, Subject::Param("r"), v, 1, MAX_RADIUS, Some(EC_R))? })
        }
        None => Err(SpecError::missing(
            None,
            format!("{NAME}: missing parameter r, an integer in [1, {MAX_RADIUS}]"),
        )),
    }
}

/// Canonical form: `rounded-corners,r_<r>`.
pub(crate) fn write(c: &RoundedCorners, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    write!(f, "{NAME},r_{}", c.radius)
}

impl fmt::Display for RoundedCorners {
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
            ("rounded-corners,r_100", Ok("rounded-corners,r_100")),
            ("rounded-corners,r_1", Ok("rounded-corners,r_1")),
            ("rounded-corners,r_4096", Ok("rounded-corners,r_4096")),
            ("rounded-corners,r_0100,x_1", Ok("rounded-corners,r_100")),
            ("rounded-corners,r_5,r_6", Ok("rounded-corners,r_6")),
            // EC catalogue (docs/oss/errors.md#ec-catalogue)
            ("rounded-corners,r_abc", Err((InvalidArgument, Some("0040-00000237")))),
            ("rounded-corners,r_5000", Err((InvalidArgument, Some("0040-00000237")))),
            ("rounded-corners,r_0", Err((InvalidArgument, Some("0040-00000237")))),
            ("rounded-corners,r_-1", Err((InvalidArgument, Some("0040-00000237")))),
            ("rounded-corners,r", Err((InvalidArgument, Some("0040-00000237")))),
            ("rounded-corners", Err((MissingArgument, None))),
            ("rounded-corners,100", Err((MissingArgument, None))),
        ];
        check(ROWS);
    }

    #[test]
    fn messages() {
        check_msg(
            "rounded-corners,r_5000",
            "rounded-corners: parameter r must be an integer in [1, 4096], got \"5000\"",
        );
        check_msg("rounded-corners", "rounded-corners: missing parameter r, an integer in [1, 4096]");
    }
}
