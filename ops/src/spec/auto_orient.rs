//! `auto-orient,<0|1>`: single bare value. `1` = rotate by the EXIF Orientation first
//! (before any scaling, wherever the action is written); `0` = do not.
//!
//! Rules: bad value → EC 0040-00000215; no value → MissingArgument (no EC documented); more than
//! one value → 203. Whether OSS auto-rotates when the action is absent is an open question of the
//! pixel layer, not of the grammar.
//!
//! OSS's documentation: `docs/oss/actions.md#auto-orient`.

use std::fmt;

use super::cursor::{Cursor, Subject, flag};
use super::error::SpecError;

pub(crate) const NAME: &str = "auto-orient";

const EC_BAD: &str = "0040-00000215";

/// Resolved `auto-orient` value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AutoOrient {
    /// `1` → `true`.
    pub enabled: bool,
}

pub(crate) fn parse(mut c: Cursor<'_>) -> Result<AutoOrient, SpecError> {
    let v = c.value(None, "0 or 1")?;
    c.finish()?;
    Ok(AutoOrient { enabled: flag(NAME, Subject::Value, v, Some(EC_BAD))? })
}

/// Canonical form: `auto-orient,<0|1>`.
pub(crate) fn write(a: &AutoOrient, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    write!(f, "{NAME},{}", u8::from(a.enabled))
}

impl fmt::Display for AutoOrient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::super::ErrorKind::{InvalidArgument, MissingArgument};
    use super::super::testing::{Expect, check};

    #[test]
    fn table() {
        const ROWS: &[(&str, Expect)] = &[
            ("auto-orient,1", Ok("auto-orient,1")),
            ("auto-orient,0", Ok("auto-orient,0")),
            ("auto-orient,01", Ok("auto-orient,1")),
            // worked example (docs/oss/actions.md#auto-orient): written after resize, still parsed in place
            ("resize,w_100/auto-orient,1", Ok("resize,m_lfit,w_100,limit_1/auto-orient,1")),
            // EC catalogue (docs/oss/errors.md#ec-catalogue)
            ("auto-orient,abc", Err((InvalidArgument, Some("0040-00000215")))),
            ("auto-orient,10", Err((InvalidArgument, Some("0040-00000215")))),
            ("auto-orient,-1", Err((InvalidArgument, Some("0040-00000215")))),
            ("auto-orient,1,0", Err((InvalidArgument, Some("0040-00000203")))),
            ("auto-orient", Err((MissingArgument, None))),
            ("autoorient,1", Err((InvalidArgument, None))),
        ];
        check(ROWS);
    }
}
