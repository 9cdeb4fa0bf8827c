//! `sharpen,<v>` (`docs/oss/actions.md#sharpen`): single bare value in [50, 399] (100 recommended).
//!
//! Rules: no value → MissingArgument; bad value → InvalidArgument (no EC documented for either);
//! more than one value → 203.

use std::fmt;

use super::cursor::{Cursor, Subject, u32_in};
use super::error::SpecError;

pub(crate) const NAME: &str = "sharpen";

/// Resolved `sharpen` value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Sharpen {
    /// [50, 399].
    pub value: u32,
}

pub(crate) fn parse(mut c: Cursor<'_>) -> Result<Sharpen, SpecError> {
    let v = c.value(None, "an integer in [50, 399]")?;
    c.finish()?;
    Ok(Sharpen { value: u32_in(NAME, Subject::Value, v, 50, 399, None)? })
}

/// Canonical form: `sharpen,<v>`.
pub(crate) fn write(s: &Sharpen, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    write!(f, "{NAME},{}", s.value)
}

impl fmt::Display for Sharpen {
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
            ("sharpen,100", Ok("sharpen,100")),
            ("sharpen,50", Ok("sharpen,50")),
            ("sharpen,399", Ok("sharpen,399")),
            ("sharpen,100,200", Err((InvalidArgument, Some("0040-00000203")))),
            ("sharpen", Err((MissingArgument, None))),
            ("sharpen,49", Err((InvalidArgument, None))),
            ("sharpen,400", Err((InvalidArgument, None))),
            ("sharpen,abc", Err((InvalidArgument, None))),
        ];
        check(ROWS);
    }

    #[test]
    fn messages() {
        check_msg("sharpen,10", "sharpen: value must be an integer in [50, 399], got \"10\"");
    }
}
