//! `bright,<v>`: single bare value in [-100, 100] (< 0 darker, 0 unchanged, > 0
//! brighter).
//!
//! Rules: no value → EC 0040-00000245 (MissingArgument); bad value → InvalidArgument (no EC
//! documented); more than one value → 203.
//!
//! OSS's documentation: `docs/oss/actions.md#bright`.

use std::fmt;

use super::cursor::{Cursor, Subject, i32_in};
use super::error::SpecError;

pub(crate) const NAME: &str = "bright";

const EC_MISSING: &str = "0040-00000245";

/// Resolved `bright` value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Bright {
    /// [-100, 100].
    pub value: i32,
}

pub(crate) fn parse(mut c: Cursor<'_>) -> Result<Bright, SpecError> {
    let v = c.value(Some(EC_MISSING), "an integer in [-100, 100]")?;
    c.finish()?;
    Ok(Bright { value: i32_in(NAME, Subject::Value, v, -100, 100, None)? })
}

/// Canonical form: `bright,<v>`.
pub(crate) fn write(b: &Bright, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    write!(f, "{NAME},{}", b.value)
}

impl fmt::Display for Bright {
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
            ("bright,50", Ok("bright,50")),
            ("bright,-50", Ok("bright,-50")),
            ("bright,0", Ok("bright,0")),
            ("bright,-0", Ok("bright,0")),
            ("bright,+100", Ok("bright,100")),
            ("bright,-100", Ok("bright,-100")),
            // EC catalogue (docs/oss/errors.md#ec-catalogue)
            ("bright", Err((MissingArgument, Some("0040-00000245")))),
            ("bright,50,60", Err((InvalidArgument, Some("0040-00000203")))),
            ("bright,101", Err((InvalidArgument, None))),
            ("bright,-101", Err((InvalidArgument, None))),
            ("bright,abc", Err((InvalidArgument, None))),
        ];
        check(ROWS);
    }

    #[test]
    fn messages() {
        check_msg("bright,101", "bright: value must be an integer in [-100, 100], got \"101\"");
        check_msg("bright", "bright: missing value, expected an integer in [-100, 100]");
    }
}
