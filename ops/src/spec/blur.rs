//! `blur` (`docs/oss/actions.md#blur`): `r` (radius) and `s` (standard deviation), both [1, 50].
//!
//! Rules: both are required (OSS leaves open whether either may be omitted and documents
//! only the pair, e.g. `blur,r_3,s_2`, so Pixgate does not invent defaults). Unknown keys are
//! ignored.

use std::fmt;

use super::cursor::{Cursor, Subject, u32_in};
use super::error::SpecError;

pub(crate) const NAME: &str = "blur";

const EC_BLUR: &str = "0040-00000241";

/// Largest `r` and `s`.
pub const MAX: u32 = 50;

/// Resolved `blur` parameters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Blur {
    /// `r`, [1, 50].
    pub radius: u32,
    /// `s`, [1, 50].
    pub sigma: u32,
}

pub(crate) fn parse(mut c: Cursor<'_>) -> Result<Blur, SpecError> {
    let (mut r, mut s) = (None, None);
    while let Some(p) = c.next_param() {
        let slot = match p.key {
            "r" => &mut r,
            "s" => &mut s,
            _ => continue, // unknown keys are ignored
        };
        *slot = Some(p.val());
    }
    c.finish()?;
    let get = |key: &str, v: Option<&str>| match v {
        Some(v) => u32_in(NAME, Subject::Param(key), v, 1, MAX, Some(EC_BLUR)),
        None => Err(SpecError::missing(
            None,
            format!("{NAME}: missing parameter {key}, an integer in [1, {MAX}]"),
        )),
    };
    let radius = get("r", r)?;
    let sigma = get("s", s)?;
    Ok(Blur { radius, sigma })
}

/// Canonical form: `blur,r_<r>,s_<s>`.
pub(crate) fn write(b: &Blur, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    write!(f, "{NAME},r_{},s_{}", b.radius, b.sigma)
}

impl fmt::Display for Blur {
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
            ("blur,r_3,s_2", Ok("blur,r_3,s_2")),
            ("blur,s_2,r_3", Ok("blur,r_3,s_2")),
            ("blur,r_1,s_50", Ok("blur,r_1,s_50")),
            ("blur,r_50,s_1,x_9", Ok("blur,r_50,s_1")),
            // EC catalogue (docs/oss/errors.md#ec-catalogue)
            ("blur,r_abc,s_25", Err((InvalidArgument, Some("0040-00000241")))),
            ("blur,r_200,s_25", Err((InvalidArgument, Some("0040-00000241")))),
            ("blur,r_3,s_0", Err((InvalidArgument, Some("0040-00000241")))),
            ("blur,r_3,s_51", Err((InvalidArgument, Some("0040-00000241")))),
            ("blur,r_0", Err((InvalidArgument, Some("0040-00000241")))),
            ("blur,r_3", Err((MissingArgument, None))),
            ("blur,s_3", Err((MissingArgument, None))),
            ("blur", Err((MissingArgument, None))),
        ];
        check(ROWS);
    }

    #[test]
    fn messages() {
        check_msg("blur,r_200,s_25", "blur: parameter r must be an integer in [1, 50], got \"200\"");
        check_msg("blur,r_3", "blur: missing parameter s, an integer in [1, 50]");
    }
}
