//! `interlace,<0|1>`: single bare value; `1` = progressive (JPG output only).
//!
//! Rules: no value → EC 0040-00000281 (MissingArgument); bad value → 0040-00000282; more than one
//! value → 203.
//!
//! OSS's documentation: `docs/oss/actions.md#interlace`.

use std::fmt;

use super::cursor::{Cursor, Subject, flag};
use super::error::SpecError;

pub(crate) const NAME: &str = "interlace";

const EC_MISSING: &str = "0040-00000281";
const EC_BAD: &str = "0040-00000282";

/// Resolved `interlace` value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Interlace {
    /// `1` → `true`.
    pub progressive: bool,
}

pub(crate) fn parse(mut c: Cursor<'_>) -> Result<Interlace, SpecError> {
    let v = c.value(Some(EC_MISSING), "0 or 1")?;
    c.finish()?;
    Ok(Interlace { progressive: flag(NAME, Subject::Value, v, Some(EC_BAD))? })
}

/// Canonical form: `interlace,<0|1>`.
pub(crate) fn write(i: &Interlace, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    write!(f, "{NAME},{}", u8::from(i.progressive))
}

impl fmt::Display for Interlace {
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
            ("interlace,1", Ok("interlace,1")),
            ("interlace,0", Ok("interlace,0")),
            ("format,jpg/interlace,1", Ok("format,jpg/interlace,1")),
            // EC catalogue (docs/oss/errors.md#ec-catalogue)
            ("interlace", Err((MissingArgument, Some("0040-00000281")))),
            ("interlace,2", Err((InvalidArgument, Some("0040-00000282")))),
            ("interlace,abc", Err((InvalidArgument, Some("0040-00000282")))),
            ("interlace,1,1", Err((InvalidArgument, Some("0040-00000203")))),
        ];
        check(ROWS);
    }

    #[test]
    fn messages() {
        check_msg("interlace,2", "interlace: value must be an integer in [0, 1], got \"2\"");
        check_msg("interlace", "interlace: missing value, expected 0 or 1");
    }
}
