//! Tokeniser and parameter cursor. Works on `&str` slices only: no allocation unless an error is
//! reported.
//!
//! Grammar (after `image/`): actions are separated by `/`; inside an action, the name comes first
//! and parameters follow, separated by `,`; a parameter is `key_value`, split on the **first** `_`
//! (base64url values contain `_`). Single-value actions take a bare value (`rotate,90`). Empty
//! tokens (`resize,,w_1` or a trailing `,`) are skipped. A bare token where a `key_value` is
//! expected is read as that key with an empty value: a known key (`resize,w_100,limit`) is then an
//! error, an unknown one is ignored like any unknown key. (Empty `/` segments are the chain
//! parser's business: see `mod.rs`.)

use std::fmt;

use super::error::{Echo, SpecError};

/// `rotate,90,200,300`: several values for a single-value action.
pub(crate) const EC_TOO_MANY_VALUES: &str = "0040-00000203";

/// One `key_value` token. `value` is `None` when the token has no `_` (a bare value).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Param<'a> {
    pub(crate) key: &'a str,
    pub(crate) value: Option<&'a str>,
}

impl<'a> Param<'a> {
    /// The value, or `""` for a bare token used where a `key_value` was expected.
    pub(crate) fn val(self) -> &'a str {
        self.value.unwrap_or("")
    }
}

/// The parameters of one action.
pub(crate) struct Cursor<'a> {
    action: &'static str,
    tokens: std::str::Split<'a, char>,
    taken: usize,
}

impl<'a> Cursor<'a> {
    /// `params` is everything after the first `,` of the action segment (`""` when none).
    pub(crate) fn new(action: &'static str, params: &'a str) -> Self {
        Cursor { action, tokens: params.split(','), taken: 0 }
    }

    fn next_token(&mut self) -> Option<&'a str> {
        let t = self.tokens.by_ref().find(|t| !t.is_empty())?;
        self.taken += 1;
        Some(t)
    }

    /// The next `key_value` parameter of a multi-parameter action.
    pub(crate) fn next_param(&mut self) -> Option<Param<'a>> {
        let t = self.next_token()?;
        Some(match t.split_once('_') {
            Some((key, value)) => Param { key, value: Some(value) },
            None => Param { key: t, value: None },
        })
    }

    /// The bare value of a single-value action; `MissingArgument` (with `missing_ec`) if absent.
    pub(crate) fn value(
        &mut self,
        missing_ec: Option<&'static str>,
        expect: &str,
    ) -> Result<&'a str, SpecError> {
        self.next_token().ok_or_else(|| {
            SpecError::missing(missing_ec, format!("{}: missing value, expected {expect}", self.action))
        })
    }

    /// Rejects leftovers: more than one value for a single-value action (EC 0040-00000203), or any
    /// parameter for an action that takes none.
    pub(crate) fn finish(mut self) -> Result<(), SpecError> {
        let consumed = self.taken;
        match self.next_token() {
            None => Ok(()),
            Some(extra) if consumed == 0 => Err(SpecError::invalid(
                None,
                format!("{}: takes no parameters, got {}", self.action, Echo(extra)),
            )),
            Some(extra) => Err(SpecError::invalid(
                Some(EC_TOO_MANY_VALUES),
                format!("{}: takes exactly one value, got an extra value {}", self.action, Echo(extra)),
            )),
        }
    }
}

/// What a value belongs to, for messages: `parameter w` or `value`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Subject<'k> {
    Param(&'k str),
    Value,
}

impl fmt::Display for Subject<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::Param(k) => write!(f, "parameter {k}"),
            Subject::Value => f.write_str("value"),
        }
    }
}

fn range_error(
    action: &str,
    subject: Subject<'_>,
    v: &str,
    lo: i64,
    hi: i64,
    ec: Option<&'static str>,
) -> SpecError {
    SpecError::invalid(ec, format!("{action}: {subject} must be an integer in [{lo}, {hi}], got {}", Echo(v)))
}

/// A decimal integer (optional sign, leading zeros allowed) within `[lo, hi]`.
pub(crate) fn int_in(
    action: &str,
    subject: Subject<'_>,
    v: &str,
    lo: i64,
    hi: i64,
    ec: Option<&'static str>,
) -> Result<i64, SpecError> {
    match v.parse::<i64>() {
        Ok(n) if (lo..=hi).contains(&n) => Ok(n),
        _ => Err(range_error(action, subject, v, lo, hi, ec)),
    }
}

pub(crate) fn u32_in(
    action: &str,
    subject: Subject<'_>,
    v: &str,
    lo: u32,
    hi: u32,
    ec: Option<&'static str>,
) -> Result<u32, SpecError> {
    let (lo, hi) = (i64::from(lo), i64::from(hi));
    let n = int_in(action, subject, v, lo, hi, ec)?;
    u32::try_from(n).map_err(|_| range_error(action, subject, v, lo, hi, ec))
}

pub(crate) fn i32_in(
    action: &str,
    subject: Subject<'_>,
    v: &str,
    lo: i32,
    hi: i32,
    ec: Option<&'static str>,
) -> Result<i32, SpecError> {
    let (lo, hi) = (i64::from(lo), i64::from(hi));
    let n = int_in(action, subject, v, lo, hi, ec)?;
    i32::try_from(n).map_err(|_| range_error(action, subject, v, lo, hi, ec))
}

/// A decimal integer from `lo` whose real upper bound depends on the image (crop and indexcrop
/// sizes and offsets): the parser only requires it to fit in `u32` and the message names the bound
/// in words (`what`, e.g. `an integer from 0 up to the image width`) instead of printing
/// 4294967295.
pub(crate) fn u32_from(
    action: &str,
    subject: Subject<'_>,
    v: &str,
    lo: u32,
    what: &str,
    ec: Option<&'static str>,
) -> Result<u32, SpecError> {
    match v.parse::<i64>().ok().and_then(|n| u32::try_from(n).ok()) {
        Some(n) if n >= lo => Ok(n),
        _ => Err(SpecError::invalid(ec, format!("{action}: {subject} must be {what}, got {}", Echo(v)))),
    }
}

/// `0` or `1` (any integer spelling of them, like every number).
pub(crate) fn flag(
    action: &str,
    subject: Subject<'_>,
    v: &str,
    ec: Option<&'static str>,
) -> Result<bool, SpecError> {
    Ok(int_in(action, subject, v, 0, 1, ec)? == 1)
}

/// One keyword out of `table` (case-sensitive).
pub(crate) fn choice<T: Copy>(
    action: &str,
    subject: Subject<'_>,
    v: &str,
    table: &[(&'static str, T)],
    ec: Option<&'static str>,
) -> Result<T, SpecError> {
    if let Some(&(_, t)) = table.iter().find(|(name, _)| *name == v) {
        return Ok(t);
    }
    let mut allowed = String::new();
    for (i, (name, _)) in table.iter().enumerate() {
        if i > 0 {
            allowed.push_str(", ");
        }
        allowed.push_str(name);
    }
    Err(SpecError::invalid(ec, format!("{action}: {subject} must be one of {allowed}, got {}", Echo(v))))
}
