//! `quality`: `q_` (relative) or `Q_` (absolute), both [1, 100], or a bare value.
//!
//! Rules: `Q` beats `q` (the `q` is validated, then dropped). A bare value (`quality,90`) means the
//! same as `Q_90` (absolute quality; OSS documents only its range error, EC 0040-00000310); when
//! both `Q_` and a bare value are given, `Q_` wins. Errors: `Q` → 308, `q` → 309, bare → 310, two
//! bare values → 203, nothing given → MissingArgument. Unknown `key_value` parameters are ignored;
//! any bare token (a token without `_`, even `q` or `Q`) is the value, and so is validated (310).
//!
//! OSS's documentation: `docs/oss/actions.md#quality`.

use std::fmt;

use super::cursor::{Cursor, EC_TOO_MANY_VALUES, Subject, u32_in};
use super::error::{Echo, SpecError};

pub(crate) const NAME: &str = "quality";

const EC_UPPER_Q: &str = "0040-00000308";
const EC_LOWER_Q: &str = "0040-00000309";
const EC_BARE: &str = "0040-00000310";

/// Resolved `quality`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Quality {
    /// `q_`, [1, 100]: a percentage of the source's own quality (JPG); like `Q` for WebP.
    Relative(u32),
    /// `Q_` or a bare value, [1, 100]: absolute quality, capped at the source's quality.
    Absolute(u32),
}

pub(crate) fn parse(mut c: Cursor<'_>) -> Result<Quality, SpecError> {
    let (mut lower, mut upper, mut bare) = (None, None, None);
    while let Some(p) = c.next_param() {
        match (p.key, p.value) {
            ("q", Some(v)) => lower = Some(v),
            ("Q", Some(v)) => upper = Some(v),
            (v, None) => {
                if bare.is_some() {
                    return Err(SpecError::invalid(
                        Some(EC_TOO_MANY_VALUES),
                        format!("{NAME}: takes at most one bare value, got an extra value {}", Echo(v)),
                    ));
                }
                bare = Some(v);
            }
            _ => {} // unknown keys are ignored
        }
    }
    c.finish()?;
    let pct = |key: Subject<'_>, v: Option<&str>, ec: &'static str| {
        v.map(|v| u32_in(NAME, key, v, 1, 100, Some(ec))).transpose()
    };
    let upper = pct(Subject::Param("Q"), upper, EC_UPPER_Q)?;
    let lower = pct(Subject::Param("q"), lower, EC_LOWER_Q)?;
    let bare = pct(Subject::Value, bare, EC_BARE)?;
    match (upper.or(bare), lower) {
        (Some(q), _) => Ok(Quality::Absolute(q)),
        (None, Some(q)) => Ok(Quality::Relative(q)),
        (None, None) => Err(SpecError::missing(
            None,
            format!("{NAME}: missing parameter, one of q, Q (integers in [1, 100]) is required"),
        )),
    }
}

/// Canonical form: `quality,q_<n>` or `quality,Q_<n>`.
pub(crate) fn write(q: &Quality, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match q {
        Quality::Relative(v) => write!(f, "{NAME},q_{v}"),
        Quality::Absolute(v) => write!(f, "{NAME},Q_{v}"),
    }
}

impl fmt::Display for Quality {
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
            ("quality,q_90", Ok("quality,q_90")),
            ("quality,Q_90", Ok("quality,Q_90")),
            ("quality,q_1", Ok("quality,q_1")),
            ("quality,Q_100", Ok("quality,Q_100")),
            // Q beats q
            ("quality,q_80,Q_90", Ok("quality,Q_90")),
            ("quality,Q_90,q_80", Ok("quality,Q_90")),
            // bare value = Q
            ("quality,90", Ok("quality,Q_90")),
            ("quality,q_80,90", Ok("quality,Q_90")),
            ("quality,Q_70,90", Ok("quality,Q_70")),
            // duplicates, unknown keys
            ("quality,q_10,q_20", Ok("quality,q_20")),
            ("quality,q_10,x_20", Ok("quality,q_10")),
            // EC catalogue (docs/oss/errors.md#ec-catalogue)
            ("quality,Q_200", Err((InvalidArgument, Some("0040-00000308")))),
            ("quality,Q_0", Err((InvalidArgument, Some("0040-00000308")))),
            ("quality,Q_", Err((InvalidArgument, Some("0040-00000308")))),
            ("quality,q_200", Err((InvalidArgument, Some("0040-00000309")))),
            ("quality,q_abc", Err((InvalidArgument, Some("0040-00000309")))),
            ("quality,Q_90,q_200", Err((InvalidArgument, Some("0040-00000309")))),
            ("quality,200", Err((InvalidArgument, Some("0040-00000310")))),
            ("quality,0", Err((InvalidArgument, Some("0040-00000310")))),
            ("quality,abc", Err((InvalidArgument, Some("0040-00000310")))),
            ("quality,90,80", Err((InvalidArgument, Some("0040-00000203")))),
            // any bare token is the value, even one spelled like a key
            ("quality,q", Err((InvalidArgument, Some("0040-00000310")))),
            ("quality,q_90,Q", Err((InvalidArgument, Some("0040-00000310")))),
            ("quality,Q_90,foo", Err((InvalidArgument, Some("0040-00000310")))),
            ("quality", Err((MissingArgument, None))),
            ("quality,x_1", Err((MissingArgument, None))),
        ];
        check(ROWS);
    }

    #[test]
    fn messages() {
        check_msg("quality,Q_200", "quality: parameter Q must be an integer in [1, 100], got \"200\"");
        check_msg("quality,200", "quality: value must be an integer in [1, 100], got \"200\"");
        check_msg("quality", "quality: missing parameter, one of q, Q (integers in [1, 100]) is required");
    }
}
