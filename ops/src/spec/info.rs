//! `info` (`docs/oss/info.md`): no parameters; answers JSON; cannot be combined with other actions (checked
//! by the chain parser). Any parameter is rejected (InvalidArgument, no EC documented).

use std::fmt;

use super::cursor::Cursor;
use super::error::SpecError;

pub(crate) const NAME: &str = "info";

pub(crate) fn parse(c: Cursor<'_>) -> Result<(), SpecError> {
    c.finish()
}

/// Canonical form: `info`.
pub(crate) fn write(f: &mut fmt::Formatter<'_>) -> fmt::Result {
    f.write_str(NAME)
}

#[cfg(test)]
mod tests {
    use super::super::ErrorKind::InvalidArgument;
    use super::super::testing::{Expect, check, check_msg};

    #[test]
    fn table() {
        const ROWS: &[(&str, Expect)] = &[
            ("info", Ok("info")),
            ("info,", Ok("info")),
            ("info,x_1", Err((InvalidArgument, None))),
            ("info,1", Err((InvalidArgument, None))),
            ("resize,s_700,limit_0/info", Err((InvalidArgument, None))),
            ("info/format,png", Err((InvalidArgument, None))),
        ];
        check(ROWS);
    }

    #[test]
    fn messages() {
        check_msg("info,x_1", "info: takes no parameters, got \"x_1\"");
    }
}
