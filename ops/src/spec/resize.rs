//! `resize`: `m`, `w`, `h`, `l`, `s`, `p`, `limit`, `color` (+ `P` inside a watermark
//! image's pre-processing).
//!
//! Rules: at least one of `w h l s p` (`P`) is required. `w`/`h` make `l`/`s` ignored; any side
//! (`w h l s`) makes `p`/`P` ignored; `P` beats `p`. Ignored parameters are still validated, then
//! dropped, so the canonical form does not carry them.
//!
//! Normalisation (equivalent requests print the same):
//! * fixed-size modes (`fixed`, `fill`, `pad`) with a single side use it for both: `m_fixed,h_100`
//!   = `m_fixed,w_100,h_100` (OSS for fixed; the TOS clone does the same for fill/pad —
//!   uncertain for OSS, Pixgate's rule). Likewise a single `l` or `s`: Pixgate reads `l`×`s` as the
//!   box turned to the source's orientation (its longer side gets `l`), so one of them alone is a
//!   square box;
//! * proportional modes with a single `w` or `h` scale by that side alone, so `mfit` = `lfit`;
//! * with only `p` the mode does not matter (→ `lfit`), and for `p` ≤ 100 neither does `limit`
//!   (nothing is enlarged; → `limit_1`); for `p` > 100 `limit` is kept (OSS does not say whether it
//!   applies). `P` (percent of the main image) keeps its mode; it scales the watermark up as
//!   well as down, so `limit` cannot matter (→ `limit_1`);
//! * `color` only matters for `m_pad`, which needs a box (sides; a `p`-only resize is never
//!   `pad`); dropped otherwise.
//!
//! OSS's documentation: `docs/oss/actions.md#resize`.

use std::fmt;

use super::Ctx;
use super::color::Rgb;
use super::cursor::{Cursor, Subject, choice, flag, u32_in};
use super::error::SpecError;

pub(crate) const NAME: &str = "resize";

const EC_M: &str = "0040-00000311";
const EC_W: &str = "0040-00000312";
/// Not documented by OSS (presumably 0040-00000313, `docs/oss/actions.md#resize`): only
/// `w_0,h_0` (321) is.
const EC_H: &str = "0040-00000313";
const EC_L: &str = "0040-00000314";
const EC_S: &str = "0040-00000315";
const EC_P: &str = "0040-00000317";
const EC_COLOR: &str = "0040-00000318";
const EC_LIMIT: &str = "0040-00000319";
const EC_W_AND_H: &str = "0040-00000321";

/// Largest `w`, `h`, `l`, `s`.
pub const MAX_SIDE: u32 = 16384;
/// Largest `p` (percent).
pub const MAX_PERCENT: u32 = 1000;

/// `m_`: how the target box is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResizeMode {
    /// Keep ratio, largest image inside the box (default).
    Lfit,
    /// Keep ratio, smallest image covering the box.
    Mfit,
    /// `mfit` then centre-crop to the box.
    Fill,
    /// `lfit` then centre on a box-sized canvas of `color`.
    Pad,
    /// Force the box size (distorts).
    Fixed,
}

const MODES: &[(&str, ResizeMode)] = &[
    ("lfit", ResizeMode::Lfit),
    ("mfit", ResizeMode::Mfit),
    ("fill", ResizeMode::Fill),
    ("pad", ResizeMode::Pad),
    ("fixed", ResizeMode::Fixed),
];

impl ResizeMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ResizeMode::Lfit => "lfit",
            ResizeMode::Mfit => "mfit",
            ResizeMode::Fill => "fill",
            ResizeMode::Pad => "pad",
            ResizeMode::Fixed => "fixed",
        }
    }
}

/// Resolved `resize` parameters, normalised (see the module docs): in `Fixed`/`Fill`/`Pad` a
/// single `w`/`h` (or `l`/`s`) is copied to the other; `Mfit` with a single `w`/`h` becomes
/// `Lfit`; with `percent` the mode is `Lfit`, and `limit` is `true` when `percent` ≤ 100.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Resize {
    /// `m`, default `lfit`.
    pub mode: ResizeMode,
    /// `w`, [1, 16384].
    pub width: Option<u32>,
    /// `h`, [1, 16384].
    pub height: Option<u32>,
    /// `l` (long side), [1, 16384]; `None` whenever `w` or `h` is set.
    pub long: Option<u32>,
    /// `s` (short side), [1, 16384]; `None` whenever `w` or `h` is set.
    pub short: Option<u32>,
    /// `p` (percent of the image itself), [1, 1000]; `None` whenever a side or `P` is set.
    pub percent: Option<u32>,
    /// `P` (percent of the **main** image), [1, 100]; only in a watermark image's pre-processing;
    /// `None` whenever a side is set.
    pub percent_of_main: Option<u32>,
    /// `limit`, default `true` (`1`): never enlarge. A box from `P` ignores it (normalised to
    /// `true`).
    pub limit: bool,
    /// `color`, default `FFFFFF`; normalised to `FFFFFF` unless `mode` is `Pad`.
    pub color: Rgb,
}

#[derive(Default)]
struct Raw<'a> {
    m: Option<&'a str>,
    w: Option<&'a str>,
    h: Option<&'a str>,
    l: Option<&'a str>,
    s: Option<&'a str>,
    p: Option<&'a str>,
    pct_main: Option<&'a str>,
    limit: Option<&'a str>,
    color: Option<&'a str>,
}

fn is_zero(v: &str) -> bool {
    v.parse::<i64>() == Ok(0)
}

pub(crate) fn parse(mut c: Cursor<'_>, ctx: Ctx) -> Result<Resize, SpecError> {
    let mut raw = Raw::default();
    while let Some(p) = c.next_param() {
        let slot = match p.key {
            "m" => &mut raw.m,
            "w" => &mut raw.w,
            "h" => &mut raw.h,
            "l" => &mut raw.l,
            "s" => &mut raw.s,
            "p" => &mut raw.p,
            "P" if ctx == Ctx::WatermarkImage => &mut raw.pct_main,
            "limit" => &mut raw.limit,
            "color" => &mut raw.color,
            _ => continue, // unknown keys are ignored
        };
        *slot = Some(p.val());
    }
    c.finish()?;

    let a = NAME;
    let mode = match raw.m {
        Some(v) => choice(a, Subject::Param("m"), v, MODES, Some(EC_M))?,
        None => ResizeMode::Lfit,
    };
    if let (Some(w), Some(h)) = (raw.w, raw.h)
        && is_zero(w)
        && is_zero(h)
    {
        return Err(SpecError::invalid(
            Some(EC_W_AND_H),
            format!("{a}: parameters w and h must be integers in [1, {MAX_SIDE}], got w_0,h_0"),
        ));
    }
    let side = |key: &str, v: Option<&str>, ec: &'static str| {
        v.map(|v| u32_in(a, Subject::Param(key), v, 1, MAX_SIDE, Some(ec))).transpose()
    };
    let width = side("w", raw.w, EC_W)?;
    let height = side("h", raw.h, EC_H)?;
    let long = side("l", raw.l, EC_L)?;
    let short = side("s", raw.s, EC_S)?;
    let percent = raw.p.map(|v| u32_in(a, Subject::Param("p"), v, 1, MAX_PERCENT, Some(EC_P))).transpose()?;
    let percent_of_main =
        raw.pct_main.map(|v| u32_in(a, Subject::Param("P"), v, 1, 100, None)).transpose()?;
    let limit = match raw.limit {
        Some(v) => flag(a, Subject::Param("limit"), v, Some(EC_LIMIT))?,
        None => true,
    };
    let color = match raw.color {
        Some(v) => Rgb::parse(a, "color", v, Some(EC_COLOR))?,
        None => Rgb::WHITE,
    };

    if [width, height, long, short, percent, percent_of_main].iter().all(Option::is_none) {
        let keys = if ctx == Ctx::WatermarkImage { "w, h, l, s, p, P" } else { "w, h, l, s, p" };
        return Err(SpecError::missing(None, format!("{a}: missing parameter, one of {keys} is required")));
    }

    // Priorities (docs/oss/actions.md#resize-rules): w/h beat l/s; any side beats a percentage; P beats p.
    let by_wh = width.is_some() || height.is_some();
    let (long, short) = if by_wh { (None, None) } else { (long, short) };
    let by_side = by_wh || long.is_some() || short.is_some();
    let (percent, percent_of_main) = match (by_side, percent_of_main) {
        (true, _) => (None, None),
        (false, Some(pm)) => (None, Some(pm)),
        (false, None) => (percent, None),
    };

    // Normalisation: equivalent requests print the same (module docs).
    let (mut width, mut height, mut long, mut short, mut mode, mut limit) =
        (width, height, long, short, mode, limit);
    match mode {
        // a fixed-size box with one side given is a square (OSS for fixed; TOS for fill/pad)
        ResizeMode::Fixed | ResizeMode::Fill | ResizeMode::Pad => {
            square(&mut width, &mut height);
            square(&mut long, &mut short);
        }
        // proportional scaling by a single w or h: lfit and mfit give the same image
        ResizeMode::Mfit if width.is_some() != height.is_some() => mode = ResizeMode::Lfit,
        ResizeMode::Mfit | ResizeMode::Lfit => {}
    }
    if let Some(p) = percent {
        // a percentage ignores the mode; at most 100 % never enlarges, so limit cannot matter
        mode = ResizeMode::Lfit;
        if p <= 100 {
            limit = true;
        }
    }
    if percent_of_main.is_some() {
        // a percentage of the main image enlarges as well as shrinks: limit cannot matter
        limit = true;
    }
    let color = if mode == ResizeMode::Pad { color } else { Rgb::WHITE };
    Ok(Resize { mode, width, height, long, short, percent, percent_of_main, limit, color })
}

/// One side of a fixed-size box given: the box is square.
fn square(a: &mut Option<u32>, b: &mut Option<u32>) {
    match (*a, *b) {
        (Some(v), None) => *b = Some(v),
        (None, Some(v)) => *a = Some(v),
        _ => {}
    }
}

/// Canonical form: `resize,m_<mode>[,w_][,h_][,l_][,s_][,p_][,P_],limit_<0|1>[,color_RRGGBB if pad]`.
pub(crate) fn write(r: &Resize, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    write!(f, "{NAME},m_{}", r.mode.as_str())?;
    let sizes = [
        ("w", r.width),
        ("h", r.height),
        ("l", r.long),
        ("s", r.short),
        ("p", r.percent),
        ("P", r.percent_of_main),
    ];
    for (key, v) in sizes {
        if let Some(v) = v {
            write!(f, ",{key}_{v}")?;
        }
    }
    write!(f, ",limit_{}", u8::from(r.limit))?;
    if r.mode == ResizeMode::Pad {
        write!(f, ",color_{}", r.color)?;
    }
    Ok(())
}

impl fmt::Display for Resize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::super::ErrorKind::{InvalidArgument, MissingArgument};
    use super::super::testing::{Expect, check, check_msg};
    use super::super::{Action, parse_image};
    use super::*;

    #[test]
    fn table() {
        const ROWS: &[(&str, Expect)] = &[
            ("resize,w_100", Ok("resize,m_lfit,w_100,limit_1")),
            ("resize,w_100,h_50", Ok("resize,m_lfit,w_100,h_50,limit_1")),
            // equivalent spellings print the same
            ("resize,h_50,w_100,m_lfit", Ok("resize,m_lfit,w_100,h_50,limit_1")),
            ("resize,limit_1,h_50,w_100", Ok("resize,m_lfit,w_100,h_50,limit_1")),
            ("resize,w_0100,h_+50", Ok("resize,m_lfit,w_100,h_50,limit_1")),
            // the five modes (worked example: 200x100 source, w_150,h_80)
            ("resize,m_lfit,w_150,h_80", Ok("resize,m_lfit,w_150,h_80,limit_1")),
            ("resize,m_mfit,w_150,h_80", Ok("resize,m_mfit,w_150,h_80,limit_1")),
            ("resize,m_fill,w_150,h_80", Ok("resize,m_fill,w_150,h_80,limit_1")),
            ("resize,m_pad,w_150,h_80", Ok("resize,m_pad,w_150,h_80,limit_1,color_FFFFFF")),
            ("resize,m_fixed,w_150,h_80", Ok("resize,m_fixed,w_150,h_80,limit_1")),
            // a single side in a fixed-size mode is a square box (OSS for fixed, 200x100 with h=100
            // gives 100x100; the TOS clone for fill/pad)
            ("resize,m_fixed,h_100", Ok("resize,m_fixed,w_100,h_100,limit_1")),
            ("resize,m_fixed,w_100", Ok("resize,m_fixed,w_100,h_100,limit_1")),
            ("resize,m_fill,h_100", Ok("resize,m_fill,w_100,h_100,limit_1")),
            ("resize,m_pad,w_100,color_ff0000", Ok("resize,m_pad,w_100,h_100,limit_1,color_FF0000")),
            ("resize,m_fixed,w_100,h_100", Ok("resize,m_fixed,w_100,h_100,limit_1")),
            // ... likewise l / s, the box turned to the source's orientation
            ("resize,m_fixed,l_100", Ok("resize,m_fixed,l_100,s_100,limit_1")),
            ("resize,m_pad,s_50", Ok("resize,m_pad,l_50,s_50,limit_1,color_FFFFFF")),
            ("resize,m_fill,l_300,s_200", Ok("resize,m_fill,l_300,s_200,limit_1")),
            ("resize,m_fixed,h_100,l_200", Ok("resize,m_fixed,w_100,h_100,limit_1")),
            ("resize,m_fixed,h_100,l_0", Err((InvalidArgument, Some("0040-00000314")))),
            // proportional modes with a single w or h: mfit = lfit
            ("resize,m_mfit,h_50", Ok("resize,m_lfit,h_50,limit_1")),
            ("resize,m_mfit,w_50,limit_0", Ok("resize,m_lfit,w_50,limit_0")),
            ("resize,m_mfit,w_50,h_50", Ok("resize,m_mfit,w_50,h_50,limit_1")),
            ("resize,m_mfit,l_50", Ok("resize,m_mfit,l_50,limit_1")),
            // color: only for pad, upper-cased
            ("resize,m_pad,w_10,h_10,color_ff0000", Ok("resize,m_pad,w_10,h_10,limit_1,color_FF0000")),
            ("resize,m_pad,w_10,color_FFFFFF", Ok("resize,m_pad,w_10,h_10,limit_1,color_FFFFFF")),
            ("resize,w_10,color_FF0000", Ok("resize,m_lfit,w_10,limit_1")),
            ("resize,m_fill,w_10,color_FF0000", Ok("resize,m_fill,w_10,h_10,limit_1")),
            // l / s
            ("resize,l_200", Ok("resize,m_lfit,l_200,limit_1")),
            ("resize,s_200,l_300", Ok("resize,m_lfit,l_300,s_200,limit_1")),
            ("resize,m_mfit,l_200,s_100", Ok("resize,m_mfit,l_200,s_100,limit_1")),
            ("resize,s_700,limit_0", Ok("resize,m_lfit,s_700,limit_0")),
            // w/h make l/s ignored
            ("resize,w_100,l_200,s_50", Ok("resize,m_lfit,w_100,limit_1")),
            ("resize,l_200,h_50", Ok("resize,m_lfit,h_50,limit_1")),
            // p, and sides beat p
            ("resize,p_50", Ok("resize,m_lfit,p_50,limit_1")),
            ("resize,p_1", Ok("resize,m_lfit,p_1,limit_1")),
            ("resize,p_1000,limit_0", Ok("resize,m_lfit,p_1000,limit_0")),
            // with only p the mode does not matter (-> lfit, so no color either), and up to 100 %
            // nothing is enlarged, so neither does limit (-> 1); above 100 % limit is kept
            ("resize,m_fixed,p_50", Ok("resize,m_lfit,p_50,limit_1")),
            ("resize,m_pad,p_50,color_FF0000", Ok("resize,m_lfit,p_50,limit_1")),
            ("resize,m_fill,p_200,limit_0", Ok("resize,m_lfit,p_200,limit_0")),
            ("resize,m_mfit,p_200", Ok("resize,m_lfit,p_200,limit_1")),
            ("resize,p_50,limit_0", Ok("resize,m_lfit,p_50,limit_1")),
            ("resize,p_100,limit_0", Ok("resize,m_lfit,p_100,limit_1")),
            ("resize,p_101,limit_0", Ok("resize,m_lfit,p_101,limit_0")),
            ("resize,m_pad,p_50,color_red", Err((InvalidArgument, Some("0040-00000318")))),
            ("resize,m_nope,p_50", Err((InvalidArgument, Some("0040-00000311")))),
            ("resize,w_100,p_50", Ok("resize,m_lfit,w_100,limit_1")),
            ("resize,p_50,l_100", Ok("resize,m_lfit,l_100,limit_1")),
            // limit
            ("resize,w_100,limit_0", Ok("resize,m_lfit,w_100,limit_0")),
            ("resize,limit_0,w_100,h_80,m_mfit", Ok("resize,m_mfit,w_100,h_80,limit_0")),
            // bounds
            ("resize,w_1,h_16384", Ok("resize,m_lfit,w_1,h_16384,limit_1")),
            ("resize,l_16384,s_1", Ok("resize,m_lfit,l_16384,s_1,limit_1")),
            // duplicates: the last wins, earlier ones are not looked at
            ("resize,w_100,w_200", Ok("resize,m_lfit,w_200,limit_1")),
            ("resize,w_0,w_100", Ok("resize,m_lfit,w_100,limit_1")),
            ("resize,m_abc,m_pad,w_1", Ok("resize,m_pad,w_1,h_1,limit_1,color_FFFFFF")),
            // unknown keys and bare tokens are ignored; keys are case-sensitive
            ("resize,w_100,x_5,foo,W_7", Ok("resize,m_lfit,w_100,limit_1")),
            ("resize,w_100,P_30", Ok("resize,m_lfit,w_100,limit_1")),
            // EC catalogue (docs/oss/errors.md#ec-catalogue)
            ("resize,w_100,m_abc", Err((InvalidArgument, Some("0040-00000311")))),
            ("resize,m_LFIT,w_1", Err((InvalidArgument, Some("0040-00000311")))),
            ("resize,m_,w_1", Err((InvalidArgument, Some("0040-00000311")))),
            ("resize,w_0", Err((InvalidArgument, Some("0040-00000312")))),
            ("resize,w_16385", Err((InvalidArgument, Some("0040-00000312")))),
            ("resize,w_abc", Err((InvalidArgument, Some("0040-00000312")))),
            ("resize,w_-1", Err((InvalidArgument, Some("0040-00000312")))),
            ("resize,w_1.5", Err((InvalidArgument, Some("0040-00000312")))),
            ("resize,w_", Err((InvalidArgument, Some("0040-00000312")))),
            ("resize,w", Err((InvalidArgument, Some("0040-00000312")))),
            // a bare known key is that key with an empty value (only unknown bare tokens are ignored)
            ("resize,w_100,limit", Err((InvalidArgument, Some("0040-00000319")))),
            ("resize,w_100,m", Err((InvalidArgument, Some("0040-00000311")))),
            ("resize,w_100,color", Err((InvalidArgument, Some("0040-00000318")))),
            ("resize,w_ 1", Err((InvalidArgument, Some("0040-00000312")))),
            ("resize,w_99999999999999999999", Err((InvalidArgument, Some("0040-00000312")))),
            ("resize,w_0,h_100", Err((InvalidArgument, Some("0040-00000312")))),
            ("resize,h_0", Err((InvalidArgument, Some("0040-00000313")))),
            ("resize,w_100,h_0", Err((InvalidArgument, Some("0040-00000313")))),
            ("resize,h_16385", Err((InvalidArgument, Some("0040-00000313")))),
            ("resize,l_0", Err((InvalidArgument, Some("0040-00000314")))),
            ("resize,w_100,l_0", Err((InvalidArgument, Some("0040-00000314")))),
            ("resize,s_0", Err((InvalidArgument, Some("0040-00000315")))),
            ("resize,s_16385", Err((InvalidArgument, Some("0040-00000315")))),
            ("resize,p_0", Err((InvalidArgument, Some("0040-00000317")))),
            ("resize,p_1001", Err((InvalidArgument, Some("0040-00000317")))),
            ("resize,w_100,color_AABBCCDD", Err((InvalidArgument, Some("0040-00000318")))),
            ("resize,m_pad,w_100,color_FFF", Err((InvalidArgument, Some("0040-00000318")))),
            ("resize,w_100,limit_3", Err((InvalidArgument, Some("0040-00000319")))),
            ("resize,w_100,limit_-1", Err((InvalidArgument, Some("0040-00000319")))),
            ("resize,w_0,h_0", Err((InvalidArgument, Some("0040-00000321")))),
            ("resize,h_0,w_00", Err((InvalidArgument, Some("0040-00000321")))),
            // nothing to resize to
            ("resize", Err((MissingArgument, None))),
            ("resize,m_fill", Err((MissingArgument, None))),
            ("resize,limit_0,color_FF0000", Err((MissingArgument, None))),
            ("resize,P_30", Err((MissingArgument, None))),
        ];
        check(ROWS);
    }

    #[test]
    fn messages() {
        check_msg("resize,w_0", "resize: parameter w must be an integer in [1, 16384], got \"0\"");
        check_msg("resize,p_5000", "resize: parameter p must be an integer in [1, 1000], got \"5000\"");
        check_msg("resize,w_0,h_0", "resize: parameters w and h must be integers in [1, 16384], got w_0,h_0");
        check_msg(
            "resize,w_1,m_abc",
            "resize: parameter m must be one of lfit, mfit, fill, pad, fixed, got \"abc\"",
        );
        check_msg("resize,w_1,color_red", "resize: parameter color must be 6 hex digits RRGGBB, got \"red\"");
        check_msg("resize,w_1,limit_2", "resize: parameter limit must be an integer in [0, 1], got \"2\"");
        check_msg("resize,m_pad", "resize: missing parameter, one of w, h, l, s, p is required");
    }

    #[test]
    fn typed_value() {
        let chain = parse_image("image/resize,m_pad,w_150,h_80,limit_0,color_00ff00").unwrap();
        assert_eq!(
            chain.actions,
            vec![Action::Resize(Resize {
                mode: ResizeMode::Pad,
                width: Some(150),
                height: Some(80),
                long: None,
                short: None,
                percent: None,
                percent_of_main: None,
                limit: false,
                color: Rgb { r: 0, g: 0xFF, b: 0 },
            })]
        );
    }
}
