//! `rotate,<angle>` (`docs/oss/actions.md#rotate`): single bare value, clockwise degrees in [0, 360].
//!
//! Rules: no value → EC 0040-00000216; bad value → 0040-00000217; more than one value → 203.
//! `360` is the identity like `0` and is normalised to `0` (printed `rotate,0`).

use std::fmt;

use super::cursor::{Cursor, Subject, u32_in};
use super::error::SpecError;

pub(crate) const NAME: &str = "rotate";

const EC_MISSING: &str = "0040-00000216";
const EC_BAD: &str = "0040-00000217";

/// Resolved `rotate` value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rotate {
    /// Clockwise degrees, [0, 359] (`360` is normalised to `0`).
    pub angle: u32,
}

pub(crate) fn parse(mut c: Cursor<'_>) -> Result<Rotate, SpecError> {
    let v = c.value(Some(EC_MISSING), "an integer in [0, 360]")?;
    c.finish()?;
    // a full turn is the identity
    Ok(Rotate { angle: u32_in(NAME, Subject::Value, v, 0, 360, Some(EC_BAD))? % 360 })
}

/// Canonical form: `rotate,<angle>`.
pub(crate) fn write(r: &Rotate, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    write!(f, "{NAME},{}", r.angle)
}

impl fmt::Display for Rotate {
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
            ("rotate,90", Ok("rotate,90")),
            ("rotate,0", Ok("rotate,0")),
            ("rotate,360", Ok("rotate,0")),
            ("rotate,0360", Ok("rotate,0")),
            ("rotate,359", Ok("rotate,359")),
            ("rotate,045", Ok("rotate,45")),
            ("rotate,90,", Ok("rotate,90")),
            // EC catalogue (docs/oss/errors.md#ec-catalogue)
            ("rotate,90,200,300", Err((InvalidArgument, Some("0040-00000203")))),
            ("rotate", Err((MissingArgument, Some("0040-00000216")))),
            ("rotate,", Err((MissingArgument, Some("0040-00000216")))),
            ("rotate,abc", Err((InvalidArgument, Some("0040-00000217")))),
            ("rotate,400", Err((InvalidArgument, Some("0040-00000217")))),
            ("rotate,-90", Err((InvalidArgument, Some("0040-00000217")))),
            ("rotate,361", Err((InvalidArgument, Some("0040-00000217")))),
            ("rotate,r_90", Err((InvalidArgument, Some("0040-00000217")))),
        ];
        check(ROWS);
    }

    #[test]
    fn messages() {
        check_msg("rotate,400", "rotate: value must be an integer in [0, 360], got \"400\"");
        check_msg("rotate", "rotate: missing value, expected an integer in [0, 360]");
        check_msg("rotate,90,200,300", "rotate: takes exactly one value, got an extra value \"200\"");
    }
}
