//! `contrast,<v>` (`docs/oss/actions.md#contrast`): single bare value in [-100, 100].
//!
//! Rules: no value → MissingArgument; bad value → InvalidArgument (no EC documented for either);
//! more than one value → 203.

use std::fmt;

use super::cursor::{Cursor, Subject, i32_in};
use super::error::SpecError;

pub(crate) const NAME: &str = "contrast";

/// Resolved `contrast` value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Contrast {
    /// [-100, 100].
    pub value: i32,
}

pub(crate) fn parse(mut c: Cursor<'_>) -> Result<Contrast, SpecError> {
    let v = c.value(None, "an integer in [-100, 100]")?;
    c.finish()?;
    Ok(Contrast { value: i32_in(NAME, Subject::Value, v, -100, 100, None)? })
}

/// Canonical form: `contrast,<v>`.
pub(crate) fn write(c: &Contrast, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    write!(f, "{NAME},{}", c.value)
}

impl fmt::Display for Contrast {
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
            ("contrast,-50", Ok("contrast,-50")),
            ("contrast,100", Ok("contrast,100")),
            ("contrast,-100", Ok("contrast,-100")),
            ("contrast,0", Ok("contrast,0")),
            ("contrast,10,20", Err((InvalidArgument, Some("0040-00000203")))),
            ("contrast", Err((MissingArgument, None))),
            ("contrast,101", Err((InvalidArgument, None))),
            ("contrast,-101", Err((InvalidArgument, None))),
            ("contrast,x", Err((InvalidArgument, None))),
        ];
        check(ROWS);
    }

    #[test]
    fn messages() {
        check_msg("contrast,-101", "contrast: value must be an integer in [-100, 100], got \"-101\"");
    }
}
