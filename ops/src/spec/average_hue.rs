//! `average-hue`: no parameters; answers JSON `{"RGB": "0xRRGGBB"}`; cannot be
//! combined with other actions (checked by the chain parser). Any parameter is rejected
//! (InvalidArgument, no EC documented).
//!
//! OSS's documentation: `docs/oss/actions.md#average-hue`.

use std::fmt;

use super::cursor::Cursor;
use super::error::SpecError;

pub(crate) const NAME: &str = "average-hue";

pub(crate) fn parse(c: Cursor<'_>) -> Result<(), SpecError> {
    c.finish()
}

/// Canonical form: `average-hue`.
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
            ("average-hue", Ok("average-hue")),
            ("average-hue,", Ok("average-hue")),
            ("average-hue,1", Err((InvalidArgument, None))),
            ("average_hue", Err((InvalidArgument, None))),
            ("averagehue", Err((InvalidArgument, None))),
            ("average-hue/resize,w_1", Err((InvalidArgument, None))),
            ("crop,w_1/average-hue", Err((InvalidArgument, None))),
        ];
        check(ROWS);
    }

    #[test]
    fn messages() {
        check_msg("average-hue,1", "average-hue: takes no parameters, got \"1\"");
        check_msg("crop,w_1/average-hue", "average-hue: cannot be combined with other actions");
    }
}
