//! `watermark` (`docs/oss/actions.md#watermark`): text and/or image watermarks.
//!
//! Rules:
//! * at least one of `text_` / `image_` (EC 0040-00000278, MissingArgument);
//! * `image_` = base64 of an object key in the same bucket, optionally followed by
//!   `?x-oss-process=image/...` whose actions may only be resize (with `P_` [1, 100], percent of
//!   the main image), crop, indexcrop, rounded-corners and rotate; a nested watermark → 373.
//!   The decoded key and the parsed pre-processing chain are kept separately;
//! * `text_` = base64 of UTF-8 text, 1–64 **bytes** of UTF-8 (OSS: "max 64 characters (≤21
//!   CJK)", which holds only for bytes: 21 × 3 = 63), no control characters; `type_` = base64
//!   font name (default `wqy-zenhei`), kept as decoded, 1–64 characters, no control characters;
//! * `x` counts only for the gravities at the left or right edge (`nw west sw ne east se`), `y`
//!   only for those at the top or bottom edge (`nw north ne sw south se`), `voffset` only for the
//!   middle row (`west center east`) (as OSS documents); all three are always validated, and the ones the
//!   gravity ignores are normalised to their defaults (10, 10, 0) and not printed;
//! * text options (`type color size shadow rotate`) without `text_` are validated, then dropped;
//!   `padx`/`pady` only count with `fill_1`; `order`/`align`/`interval` only with both text and
//!   image; dropped otherwise; the text `rotate_360` is the identity and is normalised to 0;
//! * unknown keys are ignored; a repeated key: the last wins.
//!
//! These are grammar errors and keep the OSS codes (InvalidArgument / MissingArgument /
//! BadRequest with ECs 0040-00000250..278 and 373); the OSS `WatermarkError` code is reserved for
//! problems met while applying a watermark (watermark object missing or not decodable, ...).
//!
//! Canonical form prints, in this order: `t g [x] [y] [voffset] fill [padx pady] [image] [text
//! type color size shadow rotate] [order align interval]`, base64 re-encoded URL-safe without
//! padding (so a standard-alphabet or padded spelling gives the same key).

use std::fmt::{self, Write as _};

use super::base64::{B64, B64Writer, decode_param};
use super::color::Rgb;
use super::cursor::{Cursor, Subject, flag, i32_in, u32_in};
use super::error::{Echo, SpecError};
use super::gravity::Gravity;
use super::saveas::validate_object_key;
use super::{
    ACTION_NAMES, Chain, Ctx, crop, ignore_error, indexcrop, parse_chain, resize, rotate, rounded_corners,
};

pub(crate) const NAME: &str = "watermark";

const EC_TYPE: &str = "0040-00000250";
const EC_SHADOW: &str = "0040-00000255";
const EC_SIZE: &str = "0040-00000256";
const EC_TEXT_EMPTY: &str = "0040-00000258";
const EC_TEXT_LONG: &str = "0040-00000259";
const EC_T: &str = "0040-00000263";
const EC_Y: &str = "0040-00000264";
const EC_IMAGE: &str = "0040-00000265";
const EC_VOFFSET: &str = "0040-00000268";
const EC_ROTATE: &str = "0040-00000272";
const EC_FILL: &str = "0040-00000274";
const EC_NOTHING: &str = "0040-00000278";
const EC_NESTED: &str = "0040-00000373";

/// Default `type_` (font).
pub const DEFAULT_FONT: &str = "wqy-zenhei";
/// Longest decoded `text_`, in bytes of UTF-8 (64 ASCII or 21 CJK characters).
pub const MAX_TEXT_BYTES: usize = 64;
/// Longest decoded `type_`, in characters.
pub const MAX_FONT_CHARS: usize = 64;
/// Default `x` and `y`, in pixels.
pub const DEFAULT_MARGIN: u32 = 10;
/// The marker that starts a watermark image's pre-processing inside the decoded key.
pub const PRE_PROCESS_MARKER: &str = "?x-oss-process=";

/// `order_`: which comes first in a text + image watermark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WatermarkOrder {
    /// `0` (default).
    ImageFirst,
    /// `1`.
    TextFirst,
}

/// `align_`: vertical alignment of text and image in a text + image watermark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WatermarkAlign {
    /// `0`.
    Top,
    /// `1`.
    Middle,
    /// `2` (default).
    Bottom,
}

impl WatermarkOrder {
    fn code(self) -> u8 {
        match self {
            WatermarkOrder::ImageFirst => 0,
            WatermarkOrder::TextFirst => 1,
        }
    }
}

impl WatermarkAlign {
    fn code(self) -> u8 {
        match self {
            WatermarkAlign::Top => 0,
            WatermarkAlign::Middle => 1,
            WatermarkAlign::Bottom => 2,
        }
    }
}

/// `image_`: the watermark image.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WatermarkImage {
    /// Object key in the same bucket (decoded, without the pre-processing suffix).
    pub key: String,
    /// The `?x-oss-process=image/...` pre-processing of the watermark image, if any.
    pub process: Option<Chain>,
}

/// `text_` and its options.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WatermarkText {
    /// Decoded text, 1–64 bytes of UTF-8.
    pub text: String,
    /// Decoded `type_` font name, default `wqy-zenhei`.
    pub font: String,
    /// `color_`, default `000000`.
    pub color: Rgb,
    /// `size_`, [1, 1000] px, default 40.
    pub size: u32,
    /// `shadow_`, [0, 100] shadow opacity, default 0 (none).
    pub shadow: u32,
    /// `rotate_`, [0, 360] clockwise degrees, default 0; `360` is normalised to `0`.
    pub rotate: u32,
}

/// Resolved `watermark` parameters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Watermark {
    /// `t`, [0, 100] opacity, default 100.
    pub opacity: u32,
    /// `g`, default `se`.
    pub gravity: Gravity,
    /// `x`, [0, 4096] px, default 10; normalised to 10 unless the gravity is at the left or right
    /// edge.
    pub x: u32,
    /// `y`, [0, 4096] px, default 10; normalised to 10 unless the gravity is at the top or bottom
    /// edge.
    pub y: u32,
    /// `voffset`, [-1000, 1000] px, default 0; normalised to 0 unless the gravity is in the
    /// middle row.
    pub voffset: i32,
    /// `fill`, default `false`: tile over the whole image.
    pub fill: bool,
    /// `padx`, [0, 4096] px, default 0; normalised to 0 unless `fill`.
    pub padx: u32,
    /// `pady`, [0, 4096] px, default 0; normalised to 0 unless `fill`.
    pub pady: u32,
    pub image: Option<WatermarkImage>,
    pub text: Option<WatermarkText>,
    /// `order`, default image first; normalised to the default unless both text and image.
    pub order: WatermarkOrder,
    /// `align`, default bottom; normalised to the default unless both text and image.
    pub align: WatermarkAlign,
    /// `interval`, [0, 1000] px, default 0; normalised to 0 unless both text and image.
    pub interval: u32,
}

#[derive(Default)]
struct Raw<'a> {
    t: Option<&'a str>,
    g: Option<&'a str>,
    x: Option<&'a str>,
    y: Option<&'a str>,
    voffset: Option<&'a str>,
    fill: Option<&'a str>,
    padx: Option<&'a str>,
    pady: Option<&'a str>,
    image: Option<&'a str>,
    text: Option<&'a str>,
    font: Option<&'a str>,
    color: Option<&'a str>,
    size: Option<&'a str>,
    shadow: Option<&'a str>,
    rotate: Option<&'a str>,
    order: Option<&'a str>,
    align: Option<&'a str>,
    interval: Option<&'a str>,
}

fn num(
    key: &str,
    v: Option<&str>,
    lo: u32,
    hi: u32,
    ec: Option<&'static str>,
    default: u32,
) -> Result<u32, SpecError> {
    match v {
        Some(v) => u32_in(NAME, Subject::Param(key), v, lo, hi, ec),
        None => Ok(default),
    }
}

/// `x` counts for the gravities at the left or right edge: `nw west sw ne east se`.
pub(crate) fn uses_x(g: Gravity) -> bool {
    !matches!(g, Gravity::North | Gravity::Center | Gravity::South)
}

/// `y` counts for the gravities at the top or bottom edge: `nw north ne sw south se`.
pub(crate) fn uses_y(g: Gravity) -> bool {
    !matches!(g, Gravity::West | Gravity::Center | Gravity::East)
}

/// `voffset` counts for the middle row: `west center east`.
pub(crate) fn uses_voffset(g: Gravity) -> bool {
    !uses_y(g)
}

pub(crate) fn parse(mut c: Cursor<'_>) -> Result<Watermark, SpecError> {
    let mut raw = Raw::default();
    while let Some(p) = c.next_param() {
        let slot = match p.key {
            "t" => &mut raw.t,
            "g" => &mut raw.g,
            "x" => &mut raw.x,
            "y" => &mut raw.y,
            "voffset" => &mut raw.voffset,
            "fill" => &mut raw.fill,
            "padx" => &mut raw.padx,
            "pady" => &mut raw.pady,
            "image" => &mut raw.image,
            "text" => &mut raw.text,
            "type" => &mut raw.font,
            "color" => &mut raw.color,
            "size" => &mut raw.size,
            "shadow" => &mut raw.shadow,
            "rotate" => &mut raw.rotate,
            "order" => &mut raw.order,
            "align" => &mut raw.align,
            "interval" => &mut raw.interval,
            _ => continue, // unknown keys are ignored
        };
        *slot = Some(p.val());
    }
    c.finish()?;

    let opacity = num("t", raw.t, 0, 100, Some(EC_T), 100)?;
    let gravity = match raw.g {
        Some(v) => Gravity::parse(NAME, "g", v, None)?,
        None => Gravity::Se,
    };
    let x = num("x", raw.x, 0, 4096, None, DEFAULT_MARGIN)?;
    let y = num("y", raw.y, 0, 4096, Some(EC_Y), DEFAULT_MARGIN)?;
    let voffset = match raw.voffset {
        Some(v) => i32_in(NAME, Subject::Param("voffset"), v, -1000, 1000, Some(EC_VOFFSET))?,
        None => 0,
    };
    let fill = match raw.fill {
        Some(v) => flag(NAME, Subject::Param("fill"), v, Some(EC_FILL))?,
        None => false,
    };
    let padx = num("padx", raw.padx, 0, 4096, None, 0)?;
    let pady = num("pady", raw.pady, 0, 4096, None, 0)?;
    let image = raw.image.map(parse_image_param).transpose()?;
    let text = raw.text.map(parse_text_param).transpose()?;
    let font = raw.font.map(parse_font_param).transpose()?;
    let color = match raw.color {
        Some(v) => Rgb::parse(NAME, "color", v, None)?,
        None => Rgb::BLACK,
    };
    let size = num("size", raw.size, 1, 1000, Some(EC_SIZE), 40)?;
    let shadow = num("shadow", raw.shadow, 0, 100, Some(EC_SHADOW), 0)?;
    // 360° is the identity, like 0°
    let rotate = num("rotate", raw.rotate, 0, 360, Some(EC_ROTATE), 0)? % 360;
    let order = match num("order", raw.order, 0, 1, None, 0)? {
        0 => WatermarkOrder::ImageFirst,
        _ => WatermarkOrder::TextFirst,
    };
    let align = match num("align", raw.align, 0, 2, None, 2)? {
        0 => WatermarkAlign::Top,
        1 => WatermarkAlign::Middle,
        _ => WatermarkAlign::Bottom,
    };
    let interval = num("interval", raw.interval, 0, 1000, None, 0)?;

    if image.is_none() && text.is_none() {
        return Err(SpecError::missing(
            Some(EC_NOTHING),
            format!("{NAME}: missing parameter, one of text, image is required"),
        ));
    }
    let text = text.map(|text| WatermarkText {
        text,
        font: font.unwrap_or_else(|| DEFAULT_FONT.to_owned()),
        color,
        size,
        shadow,
        rotate,
    });
    // drop what the gravity ignores (docs/oss/actions.md#watermark-basic)
    let x = if uses_x(gravity) { x } else { DEFAULT_MARGIN };
    let y = if uses_y(gravity) { y } else { DEFAULT_MARGIN };
    let voffset = if uses_voffset(gravity) { voffset } else { 0 };
    let (padx, pady) = if fill { (padx, pady) } else { (0, 0) };
    let mixed = image.is_some() && text.is_some();
    let (order, align, interval) = if mixed {
        (order, align, interval)
    } else {
        (WatermarkOrder::ImageFirst, WatermarkAlign::Bottom, 0)
    };
    Ok(Watermark { opacity, gravity, x, y, voffset, fill, padx, pady, image, text, order, align, interval })
}

fn parse_image_param(v: &str) -> Result<WatermarkImage, SpecError> {
    let mut key = decode_param(NAME, "image", v, Some(EC_IMAGE))?;
    let process = match key.find(PRE_PROCESS_MARKER) {
        Some(at) => {
            let spec = key.get(at + PRE_PROCESS_MARKER.len()..).unwrap_or("");
            let chain = parse_chain(spec, Ctx::WatermarkImage)
                .map_err(|e| e.context("watermark: parameter image: pre-processing: "))?;
            key.truncate(at);
            Some(chain)
        }
        None => None,
    };
    validate_object_key(NAME, "image", &key, Some(EC_IMAGE))?;
    Ok(WatermarkImage { key, process })
}

fn parse_text_param(v: &str) -> Result<String, SpecError> {
    let empty =
        || SpecError::invalid(Some(EC_TEXT_EMPTY), format!("{NAME}: parameter text must not be empty"));
    if v.is_empty() {
        return Err(empty());
    }
    let text = decode_param(NAME, "text", v, None)?;
    if text.is_empty() {
        return Err(empty());
    }
    if text.len() > MAX_TEXT_BYTES {
        return Err(SpecError::invalid(
            Some(EC_TEXT_LONG),
            format!(
                "{NAME}: parameter text must decode to at most {MAX_TEXT_BYTES} bytes of UTF-8 (64 ASCII or \
                 21 CJK characters), got {} bytes",
                text.len()
            ),
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(SpecError::invalid(
            None,
            format!("{NAME}: parameter text must not contain control characters, got {}", Echo(&text)),
        ));
    }
    Ok(text)
}

fn parse_font_param(v: &str) -> Result<String, SpecError> {
    let font = decode_param(NAME, "type", v, Some(EC_TYPE))?;
    let chars = font.chars().count();
    if chars == 0 || chars > MAX_FONT_CHARS || font.chars().any(char::is_control) {
        return Err(SpecError::invalid(
            None,
            format!(
                "{NAME}: parameter type must decode to a font name of 1 to {MAX_FONT_CHARS} characters without \
                 control characters, got {}",
                Echo(&font)
            ),
        ));
    }
    Ok(font)
}

/// Called by the chain parser for each action of a watermark image's pre-processing (its errors
/// get the prefix `watermark: parameter image: pre-processing: `).
pub(crate) fn check_pre_process_action(name: &str) -> Result<(), SpecError> {
    const ALLOWED: &str = "allowed: resize, crop, indexcrop, rounded-corners, rotate";
    match name {
        resize::NAME | crop::NAME | indexcrop::NAME | rounded_corners::NAME | rotate::NAME => Ok(()),
        NAME => Err(SpecError::invalid(Some(EC_NESTED), format!("{NAME}: cannot be nested; {ALLOWED}"))),
        other if ACTION_NAMES.contains(&other) || other == ignore_error::NAME => {
            Err(SpecError::invalid(None, format!("{other}: not allowed here; {ALLOWED}")))
        }
        _ => Ok(()), // unknown names are reported by the dispatcher
    }
}

/// Canonical form (see the module docs).
pub(crate) fn write(w: &Watermark, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    write!(f, "{NAME},t_{},g_{}", w.opacity, w.gravity)?;
    if uses_x(w.gravity) {
        write!(f, ",x_{}", w.x)?;
    }
    if uses_y(w.gravity) {
        write!(f, ",y_{}", w.y)?;
    }
    if uses_voffset(w.gravity) {
        write!(f, ",voffset_{}", w.voffset)?;
    }
    write!(f, ",fill_{}", u8::from(w.fill))?;
    if w.fill {
        write!(f, ",padx_{},pady_{}", w.padx, w.pady)?;
    }
    if let Some(image) = &w.image {
        f.write_str(",image_")?;
        let mut b64 = B64Writer::new(f);
        b64.write_str(&image.key)?;
        if let Some(chain) = &image.process {
            write!(b64, "{PRE_PROCESS_MARKER}{chain}")?;
        }
        b64.finish()?;
    }
    if let Some(t) = &w.text {
        write!(
            f,
            ",text_{},type_{},color_{},size_{},shadow_{},rotate_{}",
            B64(t.text.as_bytes()),
            B64(t.font.as_bytes()),
            t.color,
            t.size,
            t.shadow,
            t.rotate
        )?;
    }
    if w.image.is_some() && w.text.is_some() {
        write!(f, ",order_{},align_{},interval_{}", w.order.code(), w.align.code(), w.interval)?;
    }
    Ok(())
}

impl fmt::Display for Watermark {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::super::ErrorKind::{BadRequest, InvalidArgument, MissingArgument};
    use super::super::testing::{Expect, check, check_err, check_msg, check_ok};
    use super::super::{Action, ResizeMode, encode_base64_url, parse_image};
    use super::*;

    /// Canonical prefix with every basic default.
    const BASE: &str = "watermark,t_100,g_se,x_10,y_10,fill_0";
    /// Canonical text options with every default.
    const TEXT_DEFAULTS: &str = "type_d3F5LXplbmhlaQ,color_000000,size_40,shadow_0,rotate_0";

    #[test]
    fn table() {
        const ROWS: &[(&str, Expect)] = &[
            // text (OSS's example "Hello 图片服务!"), URL-safe and standard spellings print the same
            (
                "watermark,text_SGVsbG8g5Zu-54mH5pyN5YqhIQ",
                Ok("watermark,t_100,g_se,x_10,y_10,fill_0,text_SGVsbG8g5Zu-54mH5pyN5YqhIQ,\
                    type_d3F5LXplbmhlaQ,color_000000,size_40,shadow_0,rotate_0"),
            ),
            (
                "watermark,text_SGVsbG8g5Zu+54mH5pyN5YqhIQ==",
                Ok("watermark,t_100,g_se,x_10,y_10,fill_0,text_SGVsbG8g5Zu-54mH5pyN5YqhIQ,\
                    type_d3F5LXplbmhlaQ,color_000000,size_40,shadow_0,rotate_0"),
            ),
            // every text option
            (
                "watermark,text_SGVsbG8,type_ZmFuZ3poZW5nc2h1c29uZw,color_ff0000,size_30,shadow_50,rotate_45,\
                 t_90,g_nw,x_0,y_20,voffset_-100",
                Ok("watermark,t_90,g_nw,x_0,y_20,fill_0,text_SGVsbG8,type_ZmFuZ3poZW5nc2h1c29uZw,\
                    color_FF0000,size_30,shadow_50,rotate_45"),
            ),
            // explicit defaults print the same as omitted ones
            (
                "watermark,text_SGVsbG8,type_d3F5LXplbmhlaQ==,color_000000,size_40,shadow_0,rotate_0,t_100,g_se,\
                 x_10,y_10,voffset_0,fill_0",
                Ok("watermark,t_100,g_se,x_10,y_10,fill_0,text_SGVsbG8,type_d3F5LXplbmhlaQ,color_000000,\
                    size_40,shadow_0,rotate_0"),
            ),
            // bounds
            (
                "watermark,text_SGVsbG8,size_1000,shadow_100,rotate_359,t_0,x_4096,y_4096",
                Ok("watermark,t_0,g_se,x_4096,y_4096,fill_0,text_SGVsbG8,type_d3F5LXplbmhlaQ,\
                    color_000000,size_1000,shadow_100,rotate_359"),
            ),
            (
                "watermark,text_SGVsbG8,g_east,x_0,voffset_1000",
                Ok("watermark,t_100,g_east,x_0,voffset_1000,fill_0,text_SGVsbG8,type_d3F5LXplbmhlaQ,\
                    color_000000,size_40,shadow_0,rotate_0"),
            ),
            (
                "watermark,text_SGVsbG8,g_west,voffset_-1000",
                Ok("watermark,t_100,g_west,x_10,voffset_-1000,fill_0,text_SGVsbG8,type_d3F5LXplbmhlaQ,\
                    color_000000,size_40,shadow_0,rotate_0"),
            ),
            // text rotation: 360° is the identity, printed as 0
            (
                "watermark,text_SGVsbG8,rotate_360",
                Ok("watermark,t_100,g_se,x_10,y_10,fill_0,text_SGVsbG8,\
                type_d3F5LXplbmhlaQ,color_000000,size_40,shadow_0,rotate_0"),
            ),
            // x / y / voffset only where the gravity uses them (docs/oss/actions.md#watermark-basic):
            // the others are validated, then dropped, so equivalent spellings print the same
            (
                "watermark,image_YS5wbmc,g_north,x_99,y_5,voffset_7",
                Ok("watermark,t_100,g_north,y_5,fill_0,image_YS5wbmc"),
            ),
            ("watermark,image_YS5wbmc,g_north,y_5", Ok("watermark,t_100,g_north,y_5,fill_0,image_YS5wbmc")),
            ("watermark,image_YS5wbmc,g_south,x_0", Ok("watermark,t_100,g_south,y_10,fill_0,image_YS5wbmc")),
            (
                "watermark,image_YS5wbmc,g_center,x_1,y_2",
                Ok("watermark,t_100,g_center,voffset_0,fill_0,image_YS5wbmc"),
            ),
            (
                "watermark,image_YS5wbmc,g_east,y_300,voffset_-5",
                Ok("watermark,t_100,g_east,x_10,voffset_-5,fill_0,image_YS5wbmc"),
            ),
            (
                "watermark,image_YS5wbmc,g_ne,voffset_50",
                Ok("watermark,t_100,g_ne,x_10,y_10,fill_0,image_YS5wbmc"),
            ),
            ("watermark,image_YS5wbmc,g_sw,x_3,y_4", Ok("watermark,t_100,g_sw,x_3,y_4,fill_0,image_YS5wbmc")),
            ("watermark,image_YS5wbmc,voffset_9", Ok("watermark,t_100,g_se,x_10,y_10,fill_0,image_YS5wbmc")),
            // ... but always validated
            ("watermark,image_YS5wbmc,g_center,y_8000", Err((InvalidArgument, Some("0040-00000264")))),
            ("watermark,image_YS5wbmc,g_se,voffset_2000", Err((InvalidArgument, Some("0040-00000268")))),
            ("watermark,image_YS5wbmc,g_north,x_5000", Err((InvalidArgument, None))),
            // fill + padding; padding without fill is dropped
            (
                "watermark,text_SGVsbG8,fill_1,padx_5,pady_6",
                Ok("watermark,t_100,g_se,x_10,y_10,fill_1,padx_5,pady_6,text_SGVsbG8,type_d3F5LXplbmhlaQ,\
                    color_000000,size_40,shadow_0,rotate_0"),
            ),
            (
                "watermark,text_SGVsbG8,fill_1",
                Ok("watermark,t_100,g_se,x_10,y_10,fill_1,padx_0,pady_0,text_SGVsbG8,type_d3F5LXplbmhlaQ,\
                    color_000000,size_40,shadow_0,rotate_0"),
            ),
            (
                "watermark,text_SGVsbG8,padx_5,pady_6",
                Ok("watermark,t_100,g_se,x_10,y_10,fill_0,text_SGVsbG8,type_d3F5LXplbmhlaQ,color_000000,\
                    size_40,shadow_0,rotate_0"),
            ),
            // image (OSS's example image/panda.png)
            (
                "watermark,image_aW1hZ2UvcGFuZGEucG5n",
                Ok("watermark,t_100,g_se,x_10,y_10,fill_0,image_aW1hZ2UvcGFuZGEucG5n"),
            ),
            (
                "watermark,image_aW1hZ2UvcGFuZGEucG5n,g_center,t_50",
                Ok("watermark,t_50,g_center,voffset_0,fill_0,image_aW1hZ2UvcGFuZGEucG5n"),
            ),
            // text options without text are dropped
            (
                "watermark,image_cGFuZGEucG5n,size_30,color_FF0000,type_ZmFuZ3poZW5nc2h1c29uZw",
                Ok("watermark,t_100,g_se,x_10,y_10,fill_0,image_cGFuZGEucG5n"),
            ),
            // order/align/interval only for text + image
            (
                "watermark,image_cGFuZGEucG5n,order_1,align_0,interval_5",
                Ok("watermark,t_100,g_se,x_10,y_10,fill_0,image_cGFuZGEucG5n"),
            ),
            (
                "watermark,image_cGFuZGEucG5n,text_SGVsbG8",
                Ok("watermark,t_100,g_se,x_10,y_10,fill_0,image_cGFuZGEucG5n,text_SGVsbG8,\
                    type_d3F5LXplbmhlaQ,color_000000,size_40,shadow_0,rotate_0,order_0,align_2,interval_0"),
            ),
            (
                "watermark,text_SGVsbG8,image_cGFuZGEucG5n,order_+1,align_01,interval_1000",
                Ok("watermark,t_100,g_se,x_10,y_10,fill_0,image_cGFuZGEucG5n,text_SGVsbG8,\
                    type_d3F5LXplbmhlaQ,color_000000,size_40,shadow_0,rotate_0,order_1,align_1,interval_1000"),
            ),
            // image pre-processing (OSS's example panda.png?x-oss-process=image/resize,P_30)
            (
                "watermark,image_cGFuZGEucG5nP3gtb3NzLXByb2Nlc3M9aW1hZ2UvcmVzaXplLFBfMzA",
                Ok("watermark,t_100,g_se,x_10,y_10,fill_0,\
                    image_cGFuZGEucG5nP3gtb3NzLXByb2Nlc3M9aW1hZ2UvcmVzaXplLG1fbGZpdCxQXzMwLGxpbWl0XzE"),
            ),
            // P scales up as well as down, so limit cannot matter: resize,P_30,limit_0 prints limit_1
            (
                "watermark,image_cGFuZGEucG5nP3gtb3NzLXByb2Nlc3M9aW1hZ2UvcmVzaXplLFBfMzAsbGltaXRfMA",
                Ok("watermark,t_100,g_se,x_10,y_10,fill_0,\
                    image_cGFuZGEucG5nP3gtb3NzLXByb2Nlc3M9aW1hZ2UvcmVzaXplLG1fbGZpdCxQXzMwLGxpbWl0XzE"),
            ),
            // pics/Koala.jpg?x-oss-process=image/resize,w_100/rotate,90
            (
                "watermark,image_cGljcy9Lb2FsYS5qcGc_eC1vc3MtcHJvY2Vzcz1pbWFnZS9yZXNpemUsd18xMDAvcm90YXRlLDkw",
                Ok("watermark,t_100,g_se,x_10,y_10,fill_0,\
                    image_cGljcy9Lb2FsYS5qcGc_eC1vc3MtcHJvY2Vzcz1pbWFnZS9yZXNpemUsbV9sZml0LHdfMTAwLGxpbWl0XzEvcm90YXRlLDkw"),
            ),
            // every allowed pre-processing action
            (
                "watermark,image_YS5wbmc_eC1vc3MtcHJvY2Vzcz1pbWFnZS9jcm9wLHdfMTAsaF8xMC9pbmRleGNyb3AseF81L3JvdW5kZWQtY29ybmVycyxyXzMvcm90YXRlLDkwL3Jlc2l6ZSxQXzEwLHBfNTA",
                Ok("watermark,t_100,g_se,x_10,y_10,fill_0,\
                    image_YS5wbmc_eC1vc3MtcHJvY2Vzcz1pbWFnZS9jcm9wLHdfMTAsaF8xMCx4XzAseV8wLGdfbncvaW5kZXhjcm9wLHhfNSxpXzAvcm91bmRlZC1jb3JuZXJzLHJfMy9yb3RhdGUsOTAvcmVzaXplLG1fbGZpdCxQXzEwLGxpbWl0XzE"),
            ),
            // a '?' that is not the marker stays in the key
            ("watermark,image_YS5wbmc_Zm9v", Ok("watermark,t_100,g_se,x_10,y_10,fill_0,image_YS5wbmc_Zm9v")),
            // unknown keys ignored, last duplicate wins
            (
                "watermark,text_YQ,text_SGVsbG8,foo_1,bar",
                Ok("watermark,t_100,g_se,x_10,y_10,fill_0,text_SGVsbG8,type_d3F5LXplbmhlaQ,color_000000,\
                    size_40,shadow_0,rotate_0"),
            ),
            // EC catalogue (docs/oss/errors.md#ec-catalogue)
            ("watermark,text_SGVsbG8,type_notbase64", Err((BadRequest, Some("0040-00000250")))),
            ("watermark,text_SGVsbG8,shadow_200", Err((InvalidArgument, Some("0040-00000255")))),
            ("watermark,text_SGVsbG8,size_2000", Err((InvalidArgument, Some("0040-00000256")))),
            ("watermark,text_SGVsbG8,size_0", Err((InvalidArgument, Some("0040-00000256")))),
            ("watermark,text_", Err((InvalidArgument, Some("0040-00000258")))),
            ("watermark,text", Err((InvalidArgument, Some("0040-00000258")))),
            ("watermark,text_=", Err((BadRequest, None))),
            (
                "watermark,text_YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE",
                Err((InvalidArgument, Some("0040-00000259"))),
            ),
            ("watermark,text_SGVsbG8,t_200", Err((InvalidArgument, Some("0040-00000263")))),
            ("watermark,text_SGVsbG8,y_8000", Err((InvalidArgument, Some("0040-00000264")))),
            ("watermark,image_notbase64", Err((BadRequest, Some("0040-00000265")))),
            ("watermark,image_", Err((InvalidArgument, Some("0040-00000265")))),
            ("watermark,image_L2EucG5n", Err((InvalidArgument, Some("0040-00000265")))), // "/a.png"
            ("watermark,image__-4", Err((InvalidArgument, Some("0040-00000265")))),      // not UTF-8
            ("watermark,text_SGVsbG8,voffset_2000", Err((InvalidArgument, Some("0040-00000268")))),
            ("watermark,text_SGVsbG8,voffset_-1001", Err((InvalidArgument, Some("0040-00000268")))),
            ("watermark,text_SGVsbG8,rotate_400", Err((InvalidArgument, Some("0040-00000272")))),
            ("watermark,text_SGVsbG8,fill_2", Err((InvalidArgument, Some("0040-00000274")))),
            ("watermark", Err((MissingArgument, Some("0040-00000278")))),
            ("watermark,t_50,g_nw", Err((MissingArgument, Some("0040-00000278")))),
            ("watermark,type_d3F5LXplbmhlaQ", Err((MissingArgument, Some("0040-00000278")))),
            // nested watermark: a.png?x-oss-process=image/watermark,text_YQ
            (
                "watermark,image_YS5wbmc_eC1vc3MtcHJvY2Vzcz1pbWFnZS93YXRlcm1hcmssdGV4dF9ZUQ",
                Err((InvalidArgument, Some("0040-00000373"))),
            ),
            // pre-processing errors: a.png?x-oss-process=image/circle,r_10 | resize,P_0 | resize,w_0 |
            // style/x | image/ | image/info
            (
                "watermark,image_YS5wbmc_eC1vc3MtcHJvY2Vzcz1pbWFnZS9jaXJjbGUscl8xMA",
                Err((InvalidArgument, None)),
            ),
            (
                "watermark,image_YS5wbmc_eC1vc3MtcHJvY2Vzcz1pbWFnZS9yZXNpemUsUF8w",
                Err((InvalidArgument, None)),
            ),
            (
                "watermark,image_YS5wbmc_eC1vc3MtcHJvY2Vzcz1pbWFnZS9yZXNpemUsd18w",
                Err((InvalidArgument, Some("0040-00000312"))),
            ),
            ("watermark,image_YS5wbmc_eC1vc3MtcHJvY2Vzcz1zdHlsZS94", Err((InvalidArgument, None))),
            (
                "watermark,image_YS5wbmc_eC1vc3MtcHJvY2Vzcz1pbWFnZS8",
                Err((MissingArgument, Some("0040-00000212"))),
            ),
            ("watermark,image_YS5wbmc_eC1vc3MtcHJvY2Vzcz1pbWFnZS9pbmZv", Err((InvalidArgument, None))),
            // no EC documented
            ("watermark,text_SGVsbG8,x_5000", Err((InvalidArgument, None))),
            ("watermark,text_SGVsbG8,g_middle", Err((InvalidArgument, None))),
            ("watermark,text_SGVsbG8,color_GGGGGG", Err((InvalidArgument, None))),
            ("watermark,text_SGVsbG8,padx_-1", Err((InvalidArgument, None))),
            ("watermark,text_SGVsbG8,pady_4097", Err((InvalidArgument, None))),
            ("watermark,text_SGVsbG8,order_2", Err((InvalidArgument, None))),
            ("watermark,text_SGVsbG8,order_first", Err((InvalidArgument, None))),
            ("watermark,text_SGVsbG8,align_3", Err((InvalidArgument, None))),
            ("watermark,text_SGVsbG8,interval_1001", Err((InvalidArgument, None))),
            ("watermark,text_YQpi", Err((InvalidArgument, None))), // "a\nb"
            ("watermark,text__-4", Err((InvalidArgument, None))),  // not UTF-8
            ("watermark,text_SGVsbG8,type_", Err((InvalidArgument, None))), // empty font name
            ("watermark,text_SGVsbG8,type__-4", Err((InvalidArgument, Some("0040-00000250")))), // not UTF-8
            ("watermark,text_notbase64", Err((BadRequest, None))),
        ];
        check(ROWS);
    }

    /// OSS: "max 64 characters (≤21 CJK)": the limit is 64 bytes of UTF-8 (21 × 3 = 63).
    #[test]
    fn text_length_counts_bytes_of_utf8() {
        let ok = |text: &str| {
            let b64 = encode_base64_url(text.as_bytes());
            check_ok(&format!("watermark,text_{b64}"), &format!("{BASE},text_{b64},{TEXT_DEFAULTS}"));
        };
        let too_long = |text: &str| {
            let b64 = encode_base64_url(text.as_bytes());
            check_err(&format!("watermark,text_{b64}"), InvalidArgument, Some("0040-00000259"));
        };
        ok(&"a".repeat(64));
        too_long(&"a".repeat(65));
        ok(&"图".repeat(21)); // 63 bytes
        too_long(&"图".repeat(22)); // 66 bytes, 22 characters
        ok(&format!("{}é", "a".repeat(62))); // 64 bytes, 63 characters
        too_long(&format!("{}é", "a".repeat(63))); // 65 bytes, 64 characters
        ok(&format!("a{}", "图".repeat(21))); // 64 bytes
        too_long(&"😀".repeat(17)); // 68 bytes, 17 characters
        check_msg(
            &format!("watermark,text_{}", encode_base64_url("图".repeat(22).as_bytes())),
            "watermark: parameter text must decode to at most 64 bytes of UTF-8 (64 ASCII or 21 CJK \
             characters), got 66 bytes",
        );
    }

    /// The decoded `image_` key follows the object key rules (EC 265 for every violation).
    #[test]
    fn image_key_rules() {
        let image = |key: &str| format!("watermark,image_{}", encode_base64_url(key.as_bytes()));
        let long = "k".repeat(1023);
        check_ok(&image(&long), &format!("{BASE},image_{}", encode_base64_url(long.as_bytes())));
        // 1023 bytes of key, then the pre-processing suffix: the limit applies to the key alone
        let with_pre = format!("{long}?x-oss-process=image/rotate,90");
        check_ok(&image(&with_pre), &format!("{BASE},image_{}", encode_base64_url(with_pre.as_bytes())));
        let ec = Some("0040-00000265");
        check_err(&image(&"k".repeat(1024)), InvalidArgument, ec);
        check_err(&image(&format!("{}é", "k".repeat(1022))), InvalidArgument, ec); // 1024 bytes
        check_err(&image("\\a.png"), InvalidArgument, ec);
        check_err(&image("/a.png"), InvalidArgument, ec);
        check_err(&image("a\u{1}b.png"), InvalidArgument, ec);
        check_err(&image("a\tb.png"), InvalidArgument, ec);
        check_err(&image("a\u{7f}.png"), InvalidArgument, ec);
        check_err(&image("a.png\u{0}?x-oss-process=image/rotate,90"), InvalidArgument, ec);
        check_err(&image("?x-oss-process=image/rotate,90"), InvalidArgument, ec); // empty key
        check_msg(
            &image("\\a.png"),
            "watermark: parameter image must decode to an object key that does not start with '/' or '\\', \
             got \"\\\\a.png\"",
        );
    }

    #[test]
    fn messages() {
        check_msg(
            "watermark,text_SGVsbG8,t_200",
            "watermark: parameter t must be an integer in [0, 100], got \"200\"",
        );
        check_msg("watermark", "watermark: missing parameter, one of text, image is required");
        check_msg("watermark,text_", "watermark: parameter text must not be empty");
        check_msg(
            "watermark,image_YS5wbmc_eC1vc3MtcHJvY2Vzcz1pbWFnZS93YXRlcm1hcmssdGV4dF9ZUQ",
            "watermark: parameter image: pre-processing: watermark: cannot be nested; allowed: resize, crop, \
             indexcrop, rounded-corners, rotate",
        );
        check_msg(
            "watermark,image_YS5wbmc_eC1vc3MtcHJvY2Vzcz1pbWFnZS9yZXNpemUsd18w",
            "watermark: parameter image: pre-processing: resize: parameter w must be an integer in [1, 16384], got \"0\"",
        );
        check_msg(
            "watermark,image_YS5wbmc_eC1vc3MtcHJvY2Vzcz1pbWFnZS9jaXJjbGUscl8xMA",
            "watermark: parameter image: pre-processing: circle: not allowed here; allowed: resize, crop, \
             indexcrop, rounded-corners, rotate",
        );
        check_msg(
            "watermark,image_YS5wbmc_eC1vc3MtcHJvY2Vzcz1pbWFnZS9yZXNpemUsUF8w",
            "watermark: parameter image: pre-processing: resize: parameter P must be an integer in [1, 100], got \"0\"",
        );
        check_msg(
            "watermark,text_YQpi",
            "watermark: parameter text must not contain control characters, got \"a\\nb\"",
        );
    }

    #[test]
    fn typed_value() {
        let chain = parse_image(
            "image/watermark,image_cGFuZGEucG5nP3gtb3NzLXByb2Nlc3M9aW1hZ2UvcmVzaXplLFBfMzA,text_SGVsbG8,\
             type_ZmFuZ3poZW5nc2h1c29uZw,g_center,order_1",
        )
        .unwrap();
        let [Action::Watermark(w)] = chain.actions.as_slice() else { panic!("{chain:?}") };
        let image = w.image.as_ref().unwrap();
        assert_eq!(image.key, "panda.png");
        let pre = image.process.as_ref().unwrap();
        let [Action::Resize(r)] = pre.actions.as_slice() else { panic!("{pre:?}") };
        assert_eq!((r.mode, r.percent_of_main, r.width), (ResizeMode::Lfit, Some(30), None));
        let text = w.text.as_ref().unwrap();
        assert_eq!((text.text.as_str(), text.font.as_str()), ("Hello", "fangzhengshusong"));
        assert_eq!(
            (w.gravity, w.order, w.align),
            (Gravity::Center, WatermarkOrder::TextFirst, WatermarkAlign::Bottom)
        );
    }
}
