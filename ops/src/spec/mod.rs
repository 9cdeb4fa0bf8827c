//! The `x-oss-process` language as typed data.
//!
//! * [`parse_process`] reads a whole `x-oss-process` value: `image/...` or `style/<name>`,
//!   optionally followed by `|sys/saveas,o_<b64>[,b_<b64>]`.
//! * [`parse_image`] reads an `image/...` chain into a [`Chain`] of typed [`Action`]s.
//! * `Display` on [`Chain`] prints the **canonical form** (the cache key). Invariant:
//!   `parse_image(&chain.to_string()) == Ok(chain)` for every parsed chain, and two spellings of
//!   one action that mean the same for every image print identically (no-op actions are kept,
//!   actions are not merged, image-dependent equivalences are not detected:
//!   `docs/compat.md#canonical-form`).
//! * `ignore-error,<0|1>` may appear anywhere in a chain; it is not an action but
//!   [`Chain::ignore_error`] (the last one wins), printed `/ignore-error,1` after the last action
//!   when set and not at all when 0 (`ignore_error.rs`).
//!
//! Canonical-form rules (the same for every action):
//! * actions keep their order; each action prints its parameters in one fixed order;
//! * every parameter that has a value after defaults are applied is printed, defaults included
//!   (`resize,w_100` prints `resize,m_lfit,w_100,limit_1`), so a key never depends on what this
//!   build's defaults are;
//! * parameters that are absent-with-meaning (`Option::None`, e.g. crop `w`) and parameters that
//!   are ignored in the given combination (resize `l`/`s` next to `w`/`h`, `p` next to a side,
//!   `color` outside `m_pad`, quality `q` next to `Q`, watermark text options without text,
//!   watermark `x`/`y`/`voffset` the gravity ignores, ...) and unknown keys are not printed;
//! * values with an equivalent spelling are normalised (resize single side in fixed/fill/pad,
//!   `mfit` with a single side, the mode of a `p`-only resize, `rotate,360`, ...: see each file);
//! * numbers print in plain decimal (no sign, no leading zeros); colours as upper-case `RRGGBB`;
//!   base64 strings are re-encoded URL-safe without padding.
//!
//! Tokenising rules: see `cursor.rs`. An empty action segment (`//` anywhere, or a trailing `/`
//! after a watermark) is an error that says base64 values must use the URL-safe alphabet: a
//! standard-alphabet `/` would otherwise split a watermark value and silently cut it short. A
//! single trailing `/` after any other action is tolerated. Per-action parameter rules: see each
//! file and `docs/compat.md`. Multi-parameter actions ignore unknown keys (OSS SDK tests send
//! `crop,w_100,h_100,x_100,y_100,r_1`); a repeated key: the last occurrence wins and the earlier
//! ones are not looked at.

use std::fmt;

mod auto_orient;
mod average_hue;
mod base64;
mod blur;
mod bright;
mod circle;
mod color;
mod contrast;
mod crop;
mod cursor;
mod error;
mod format;
mod gravity;
mod ignore_error;
mod indexcrop;
mod info;
mod interlace;
mod process;
mod quality;
mod resize;
mod rotate;
mod rounded_corners;
mod saveas;
mod sharpen;
mod style;
mod watermark;

pub use self::auto_orient::AutoOrient;
pub use self::base64::{NOT_BASE64, decode_base64_url, encode_base64_url};
pub use self::blur::Blur;
pub use self::bright::Bright;
pub use self::circle::Circle;
pub use self::color::Rgb;
pub use self::contrast::Contrast;
pub use self::crop::Crop;
pub use self::error::{ErrorKind, MAX_ECHO, SpecError};
pub use self::format::Format;
pub use self::gravity::Gravity;
pub use self::indexcrop::{IndexAxis, IndexCrop};
pub use self::interlace::Interlace;
pub use self::process::{Process, ProcessRequest, parse_process};
pub use self::quality::Quality;
pub use self::resize::{Resize, ResizeMode};
pub use self::rotate::Rotate;
pub use self::rounded_corners::RoundedCorners;
pub use self::saveas::{MAX_KEY_BYTES, SaveAs};
pub use self::sharpen::Sharpen;
pub use self::style::{parse_style_content, validate_style_name};
pub use self::watermark::{Watermark, WatermarkAlign, WatermarkImage, WatermarkOrder, WatermarkText};

use self::cursor::Cursor;
use self::error::Echo;

/// `image/` with no action.
const EC_NO_ACTION: &str = "0040-00000212";

/// Added to errors that a standard-alphabet base64 value split at its `/` would cause.
const B64_IN_CHAIN_HINT: &str =
    "base64 values inside image/... must use the URL-safe alphabet ('-' and '_' instead of '+' and '/')";

/// Every action name, in the order of [`Action`].
pub const ACTION_NAMES: [&str; 17] = [
    resize::NAME,
    watermark::NAME,
    crop::NAME,
    indexcrop::NAME,
    circle::NAME,
    rounded_corners::NAME,
    rotate::NAME,
    auto_orient::NAME,
    blur::NAME,
    bright::NAME,
    contrast::NAME,
    sharpen::NAME,
    quality::NAME,
    format::NAME,
    interlace::NAME,
    info::NAME,
    average_hue::NAME,
];

/// A parsed `image/...` value: the actions, in the order they run, and the chain's settings.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Chain {
    pub actions: Vec<Action>,
    /// `ignore-error,1` (anywhere in the chain; the last one wins): when the render fails because
    /// of the source or the chain, the gateway answers the original object instead of the error.
    /// Not an action: it moves no pixel and is printed after the actions.
    pub ignore_error: bool,
}

/// One processing step.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Action {
    Resize(Resize),
    Watermark(Watermark),
    Crop(Crop),
    IndexCrop(IndexCrop),
    Circle(Circle),
    RoundedCorners(RoundedCorners),
    Rotate(Rotate),
    AutoOrient(AutoOrient),
    Blur(Blur),
    Bright(Bright),
    Contrast(Contrast),
    Sharpen(Sharpen),
    Quality(Quality),
    Format(Format),
    Interlace(Interlace),
    /// `info`: JSON image information; cannot be combined with other actions.
    Info,
    /// `average-hue`: JSON average colour; cannot be combined with other actions.
    AverageHue,
}

impl Action {
    /// The OSS action name (`resize`, `rounded-corners`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Action::Resize(_) => resize::NAME,
            Action::Watermark(_) => watermark::NAME,
            Action::Crop(_) => crop::NAME,
            Action::IndexCrop(_) => indexcrop::NAME,
            Action::Circle(_) => circle::NAME,
            Action::RoundedCorners(_) => rounded_corners::NAME,
            Action::Rotate(_) => rotate::NAME,
            Action::AutoOrient(_) => auto_orient::NAME,
            Action::Blur(_) => blur::NAME,
            Action::Bright(_) => bright::NAME,
            Action::Contrast(_) => contrast::NAME,
            Action::Sharpen(_) => sharpen::NAME,
            Action::Quality(_) => quality::NAME,
            Action::Format(_) => format::NAME,
            Action::Interlace(_) => interlace::NAME,
            Action::Info => info::NAME,
            Action::AverageHue => average_hue::NAME,
        }
    }

    /// `info` and `average-hue` answer JSON and must be the only action of a chain.
    pub fn is_standalone(&self) -> bool {
        matches!(self, Action::Info | Action::AverageHue)
    }

    /// `auto-orient`, `quality`, `format` and `interlace` say how the image is read or written;
    /// they move no pixel themselves.
    pub fn is_setting(&self) -> bool {
        matches!(self, Action::AutoOrient(_) | Action::Quality(_) | Action::Format(_) | Action::Interlace(_))
    }
}

impl fmt::Display for Action {
    /// Canonical form of one action, e.g. `resize,m_lfit,w_100,limit_1`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Resize(v) => resize::write(v, f),
            Action::Watermark(v) => watermark::write(v, f),
            Action::Crop(v) => crop::write(v, f),
            Action::IndexCrop(v) => indexcrop::write(v, f),
            Action::Circle(v) => circle::write(v, f),
            Action::RoundedCorners(v) => rounded_corners::write(v, f),
            Action::Rotate(v) => rotate::write(v, f),
            Action::AutoOrient(v) => auto_orient::write(v, f),
            Action::Blur(v) => blur::write(v, f),
            Action::Bright(v) => bright::write(v, f),
            Action::Contrast(v) => contrast::write(v, f),
            Action::Sharpen(v) => sharpen::write(v, f),
            Action::Quality(v) => quality::write(v, f),
            Action::Format(v) => format::write(v, f),
            Action::Interlace(v) => interlace::write(v, f),
            Action::Info => info::write(f),
            Action::AverageHue => average_hue::write(f),
        }
    }
}

impl fmt::Display for Chain {
    /// Canonical form, e.g. `image/resize,m_lfit,w_100,h_50,limit_1/quality,q_90`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("image")?;
        for a in &self.actions {
            write!(f, "/{a}")?;
        }
        ignore_error::write(self.ignore_error, f)
    }
}

/// Where a chain is parsed: the request itself, or the pre-processing of a watermark image
/// (`image_<b64("key?x-oss-process=image/...")>`), which allows only resize (plus `P_`), crop,
/// indexcrop, rounded-corners and rotate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ctx {
    Main,
    WatermarkImage,
}

/// Parses `image/<action>[,<param>...][/<action>...]` (the part of `x-oss-process` before any `|`).
pub fn parse_image(s: &str) -> Result<Chain, SpecError> {
    parse_chain(s, Ctx::Main)
}

pub(crate) fn parse_chain(s: &str, ctx: Ctx) -> Result<Chain, SpecError> {
    let rest = if s == "image" {
        ""
    } else if let Some(rest) = s.strip_prefix("image/") {
        rest
    } else {
        return Err(SpecError::invalid(
            None,
            format!("x-oss-process: expected image/<action>..., got {}", Echo(s)),
        ));
    };
    check_segments(rest)?;
    let mut actions = Vec::new();
    let mut ignore_error = false;
    // After `check_segments` the only empty segment left is a tolerated trailing `/`.
    let mut segs = rest.split('/').filter(|seg| !seg.is_empty()).peekable();
    while let Some(seg) = segs.next() {
        let name = action_name(seg);
        let after_watermark = matches!(actions.last(), Some(Action::Watermark(_)));
        if after_watermark && !is_known(name) {
            // most likely the rest of a standard-alphabet base64 value cut at its `/`
            return Err(unknown_action(name).hint(B64_IN_CHAIN_HINT));
        }
        if name == ignore_error::NAME && ctx == Ctx::Main {
            let params = seg.split_once(',').map_or("", |(_, params)| params);
            ignore_error = ignore_error::parse(Cursor::new(ignore_error::NAME, params))?;
            continue;
        }
        let action = parse_action(seg, ctx).map_err(|e| {
            // a watermark whose value was cut short by a `/` is followed by a non-action fragment
            let cut = name == watermark::NAME && segs.peek().is_some_and(|next| !is_known(action_name(next)));
            if cut { e.hint(B64_IN_CHAIN_HINT) } else { e }
        })?;
        actions.push(action);
    }
    if actions.is_empty() {
        return Err(SpecError::missing(Some(EC_NO_ACTION), "image: no action given".to_owned()));
    }
    if actions.len() > 1
        && let Some(a) = actions.iter().find(|a| a.is_standalone())
    {
        return Err(SpecError::invalid(None, format!("{}: cannot be combined with other actions", a.name())));
    }
    Ok(Chain { actions, ignore_error })
}

/// An action name, or `ignore-error`: what may start a `/` segment.
fn is_known(name: &str) -> bool {
    ACTION_NAMES.contains(&name) || name == ignore_error::NAME
}

/// The action name of one `/` segment: everything before the first `,`.
fn action_name(seg: &str) -> &str {
    seg.split_once(',').map_or(seg, |(name, _)| name)
}

/// Rejects empty action segments: `//` anywhere, and a trailing `/` after a watermark (a single
/// trailing `/` after any other action is tolerated). Both are what a standard-alphabet base64
/// value looks like once its `/` has split the action, so the value would otherwise be silently cut
/// short. Checked before any action is parsed.
fn check_segments(rest: &str) -> Result<(), SpecError> {
    let mut prev: Option<&str> = None;
    let mut segs = rest.split('/').peekable();
    while let Some(seg) = segs.next() {
        if seg.is_empty() {
            let last = segs.peek().is_none();
            match prev {
                // `image/`: no action at all, reported by the caller (212)
                None if last => {}
                Some(p) if last && action_name(p) != watermark::NAME => {}
                Some(_) if last => {
                    return Err(SpecError::invalid(
                        None,
                        format!(
                            "image: a watermark must not be followed by a trailing '/'; {B64_IN_CHAIN_HINT}"
                        ),
                    ));
                }
                _ => {
                    return Err(SpecError::invalid(
                        None,
                        format!("image: empty action (\"//\"); {B64_IN_CHAIN_HINT}"),
                    ));
                }
            }
        }
        prev = Some(seg);
    }
    Ok(())
}

fn parse_action(seg: &str, ctx: Ctx) -> Result<Action, SpecError> {
    let (name, params) = seg.split_once(',').unwrap_or((seg, ""));
    if ctx == Ctx::WatermarkImage {
        watermark::check_pre_process_action(name)?;
    }
    Ok(match name {
        resize::NAME => Action::Resize(resize::parse(Cursor::new(resize::NAME, params), ctx)?),
        watermark::NAME => Action::Watermark(watermark::parse(Cursor::new(watermark::NAME, params))?),
        crop::NAME => Action::Crop(crop::parse(Cursor::new(crop::NAME, params))?),
        indexcrop::NAME => Action::IndexCrop(indexcrop::parse(Cursor::new(indexcrop::NAME, params))?),
        circle::NAME => Action::Circle(circle::parse(Cursor::new(circle::NAME, params))?),
        rounded_corners::NAME => {
            Action::RoundedCorners(rounded_corners::parse(Cursor::new(rounded_corners::NAME, params))?)
        }
        rotate::NAME => Action::Rotate(rotate::parse(Cursor::new(rotate::NAME, params))?),
        auto_orient::NAME => Action::AutoOrient(auto_orient::parse(Cursor::new(auto_orient::NAME, params))?),
        blur::NAME => Action::Blur(blur::parse(Cursor::new(blur::NAME, params))?),
        bright::NAME => Action::Bright(bright::parse(Cursor::new(bright::NAME, params))?),
        contrast::NAME => Action::Contrast(contrast::parse(Cursor::new(contrast::NAME, params))?),
        sharpen::NAME => Action::Sharpen(sharpen::parse(Cursor::new(sharpen::NAME, params))?),
        quality::NAME => Action::Quality(quality::parse(Cursor::new(quality::NAME, params))?),
        format::NAME => Action::Format(format::parse(Cursor::new(format::NAME, params))?),
        interlace::NAME => Action::Interlace(interlace::parse(Cursor::new(interlace::NAME, params))?),
        info::NAME => {
            info::parse(Cursor::new(info::NAME, params))?;
            Action::Info
        }
        average_hue::NAME => {
            average_hue::parse(Cursor::new(average_hue::NAME, params))?;
            Action::AverageHue
        }
        _ => return Err(unknown_action(name)),
    })
}

pub(crate) fn unknown_action(name: &str) -> SpecError {
    SpecError::invalid(
        None,
        format!(
            "image: unknown action {}; known actions: {}, {}",
            Echo(name),
            ACTION_NAMES.join(", "),
            ignore_error::NAME
        ),
    )
}

/// Table-driven test helpers shared by every action file.
#[cfg(test)]
pub(crate) mod testing {
    use super::{ErrorKind, parse_image};

    /// `Ok(canonical)` or `Err((kind, ec))`. Inputs and canonical strings omit the `image/` prefix.
    pub(crate) type Expect = Result<&'static str, (ErrorKind, Option<&'static str>)>;

    /// Checks that `image/<input>` parses, prints `image/<expect>`, and that the canonical string
    /// parses back to the same chain.
    pub(crate) fn check_ok(input: &str, expect: &str) {
        let full = format!("image/{input}");
        let chain = match parse_image(&full) {
            Ok(c) => c,
            Err(e) => panic!("{full:?}: expected Ok({expect:?}), got Err({e})"),
        };
        let printed = chain.to_string();
        assert_eq!(printed, format!("image/{expect}"), "canonical form of {full:?}");
        assert_eq!(parse_image(&printed).as_ref(), Ok(&chain), "round trip of {full:?}");
    }

    /// Checks that `image/<input>` fails with this kind and EC.
    pub(crate) fn check_err(input: &str, kind: ErrorKind, ec: Option<&str>) {
        let full = format!("image/{input}");
        match parse_image(&full) {
            Ok(c) => panic!("{full:?}: expected Err({kind:?}, {ec:?}), got Ok({c})"),
            Err(e) => {
                assert_eq!((e.kind, e.ec), (kind, ec), "{full:?}: {e}");
                assert!(!e.message.is_empty());
            }
        }
    }

    /// Checks the exact message of the error of `image/<input>`.
    pub(crate) fn check_msg(input: &str, message: &str) {
        let full = format!("image/{input}");
        match parse_image(&full) {
            Ok(c) => panic!("{full:?}: expected an error, got Ok({c})"),
            Err(e) => assert_eq!(e.message, message, "{full:?}"),
        }
    }

    pub(crate) fn check(rows: &[(&str, Expect)]) {
        for (input, expect) in rows {
            match expect {
                Ok(canonical) => check_ok(input, canonical),
                Err((kind, ec)) => check_err(input, *kind, *ec),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorKind::{InvalidArgument, MissingArgument};
    use super::testing::{Expect, check, check_msg};
    use super::*;

    #[test]
    fn chains() {
        const ROWS: &[(&str, Expect)] = &[
            // worked examples (docs/oss/requests.md#forms, docs/oss/requests.md#tokenising,
            // docs/oss/actions.md#format, docs/oss/actions.md#rounded-corners)
            ("resize,w_200/rotate,90", Ok("resize,m_lfit,w_200,limit_1/rotate,90")),
            (
                "resize,w_100/format,jpg/watermark,text_SGVsbG8",
                Ok("resize,m_lfit,w_100,limit_1/format,jpg/watermark,t_100,g_se,x_10,y_10,fill_0,\
                    text_SGVsbG8,type_d3F5LXplbmhlaQ,color_000000,size_40,shadow_0,rotate_0"),
            ),
            (
                "crop,w_100,h_100/rounded-corners,r_10/format,png",
                Ok("crop,w_100,h_100,x_0,y_0,g_nw/rounded-corners,r_10/format,png"),
            ),
            ("format,heic/resize,l_900,h_600", Ok("format,heic/resize,m_lfit,h_600,limit_1")),
            (
                "resize,m_fill,w_300,h_200/crop,w_100,h_100,g_se/rotate,90/quality,q_80",
                Ok("resize,m_fill,w_300,h_200,limit_1/crop,w_100,h_100,x_0,y_0,g_se/rotate,90/quality,q_80"),
            ),
            ("resize,m_lfit,w_1600/quality,q_90", Ok("resize,m_lfit,w_1600,limit_1/quality,q_90")),
            // empty parameters are skipped; one trailing '/' is tolerated, except after a watermark
            ("rotate,90/", Ok("rotate,90")),
            ("resize,,w_100,", Ok("resize,m_lfit,w_100,limit_1")),
            // an empty action ('//' anywhere) is an error: a standard-alphabet base64 '/' would
            // otherwise cut a watermark value short without a word
            ("rotate,90//bright,5", Err((InvalidArgument, None))),
            ("rotate,90//", Err((InvalidArgument, None))),
            ("//rotate,90", Err((InvalidArgument, None))),
            ("watermark,text_SGVsbG8/", Err((InvalidArgument, None))),
            ("watermark,text_SGVsbG8//resize,w_10", Err((InvalidArgument, None))),
            ("resize,w_10/watermark,image_YS5wbmc/", Err((InvalidArgument, None))),
            (
                "watermark,text_SGVsbG8/rotate,90/",
                Ok("watermark,t_100,g_se,x_10,y_10,fill_0,text_SGVsbG8,\
                type_d3F5LXplbmhlaQ,color_000000,size_40,shadow_0,rotate_0/rotate,90"),
            ),
            // the same action twice is two steps
            ("rotate,90/rotate,90", Ok("rotate,90/rotate,90")),
            // no action: 212
            ("", Err((MissingArgument, Some("0040-00000212")))),
            ("/", Err((InvalidArgument, None))),
            // unknown actions, case-sensitive names
            ("resizes,w_100", Err((InvalidArgument, None))),
            ("Resize,w_100", Err((InvalidArgument, None))),
            ("resize,w_100/gray", Err((InvalidArgument, None))),
            (",w_100", Err((InvalidArgument, None))),
            // info / average-hue stand alone: resize,s_700,limit_0/info is invalid (docs/oss/info.md)
            ("info", Ok("info")),
            ("average-hue", Ok("average-hue")),
            ("resize,s_700,limit_0/info", Err((InvalidArgument, None))),
            ("info/resize,w_10", Err((InvalidArgument, None))),
            ("info/info", Err((InvalidArgument, None))),
            ("info/average-hue", Err((InvalidArgument, None))),
            ("average-hue/format,png", Err((InvalidArgument, None))),
            // first error wins, in chain order
            ("rotate,400/format,dng", Err((InvalidArgument, Some("0040-00000217")))),
        ];
        check(ROWS);
    }

    #[test]
    fn the_image_prefix_is_required() {
        assert_eq!(parse_image("image").map_err(|e| e.ec), Err(Some("0040-00000212")));
        assert_eq!(parse_image("image/").map_err(|e| e.ec), Err(Some("0040-00000212")));
        for s in
            ["", "images/resize,w_1", "imageresize,w_1", "style/a", "/image/resize,w_1", "Image/resize,w_1"]
        {
            let e = parse_image(s).unwrap_err();
            assert_eq!((e.kind, e.ec), (InvalidArgument, None), "{s:?}");
        }
    }

    #[test]
    fn messages() {
        check_msg("", "image: no action given");
        check_msg(
            "blurry,r_1",
            "image: unknown action \"blurry\"; known actions: resize, watermark, crop, indexcrop, circle, \
             rounded-corners, rotate, auto-orient, blur, bright, contrast, sharpen, quality, format, interlace, \
             info, average-hue, ignore-error",
        );
        check_msg("resize,w_10/info", "info: cannot be combined with other actions");
        // standard-alphabet base64 in a chain: every way a '/' can cut the value carries the hint
        const HINT: &str = "base64 values inside image/... must use the URL-safe alphabet ('-' and '_' \
                            instead of '+' and '/')";
        check_msg("watermark,text_SGVsbG8//resize,w_10", &format!("image: empty action (\"//\"); {HINT}"));
        check_msg("rotate,90//", &format!("image: empty action (\"//\"); {HINT}"));
        check_msg(
            "watermark,text_SGVsbG8/",
            &format!("image: a watermark must not be followed by a trailing '/'; {HINT}"),
        );
        let known = format!("{}, ignore-error", ACTION_NAMES.join(", "));
        check_msg(
            "watermark,text_SGVs/bG8",
            &format!("image: unknown action \"bG8\"; known actions: {known}; {HINT}"),
        );
        check_msg(
            "watermark,text_SGVsbG8/,x_1",
            &format!("image: unknown action \"\"; known actions: {known}; {HINT}"),
        );
        // "Hello 图片服务!" in the standard alphabet: the watermark fails on the cut value itself
        check_msg(
            "watermark,text_SGVsbG8g5Zu/54mH5pyN5YqhIQ",
            &format!("watermark: parameter text must be base64 of UTF-8 text, got \"SGVsbG8g5Zu\"; {HINT}"),
        );
        // no hint without a watermark before
        check_msg("rotate,90/bG8", &format!("image: unknown action \"bG8\"; known actions: {known}"));
        let long = "x".repeat(200);
        let e = parse_image(&format!("image/{long}")).unwrap_err();
        assert!(e.message.contains(&format!("\"{}…\"", "x".repeat(MAX_ECHO))), "{}", e.message);
        assert!(e.message.len() < 400);
        check_msg("resize,w_\n", "resize: parameter w must be an integer in [1, 16384], got \"\\n\"");
    }

    #[test]
    fn error_display_and_codes() {
        let e = parse_image("image/resize,w_0").unwrap_err();
        assert_eq!(
            e.to_string(),
            "InvalidArgument: resize: parameter w must be an integer in [1, 16384], got \"0\" (EC 0040-00000312)"
        );
        assert_eq!(ErrorKind::InvalidArgument.code(), "InvalidArgument");
        assert_eq!(ErrorKind::MissingArgument.code(), "MissingArgument");
        assert_eq!(ErrorKind::BadRequest.code(), "BadRequest");
        let _: &dyn std::error::Error = &e;
    }

    #[test]
    fn action_names_match_the_registry() {
        let chain = parse_image(
            "image/resize,w_1/watermark,text_YQ/crop/indexcrop,x_1/circle,r_1/rounded-corners,r_1/rotate,1/\
             auto-orient,1/blur,r_1,s_1/bright,1/contrast,1/sharpen,50/quality,q_1/format,png/interlace,1",
        )
        .unwrap();
        let mut names: Vec<&str> = chain.actions.iter().map(Action::name).collect();
        names.push(Action::Info.name());
        names.push(Action::AverageHue.name());
        assert_eq!(names, ACTION_NAMES);
        assert_eq!(parse_image(&chain.to_string()), Ok(chain));
    }

    #[test]
    fn action_enum_stays_small() {
        // clippy::large_enum_variant fires above 200 bytes of difference between variants.
        assert!(std::mem::size_of::<Action>() <= 200, "{}", std::mem::size_of::<Action>());
    }

    /// A cheap deterministic fuzz: random strings over the grammar's alphabet never panic, and
    /// whatever parses is a canonical fixed point.
    #[test]
    fn never_panics_and_round_trips() {
        const PIECES: &[&str] = &[
            "image/",
            "style/",
            "/",
            ",",
            "_",
            "|",
            "sys/saveas",
            "o_",
            "b_",
            "resize",
            "watermark",
            "crop",
            "indexcrop",
            "circle",
            "rounded-corners",
            "rotate",
            "auto-orient",
            "blur",
            "bright",
            "contrast",
            "sharpen",
            "quality",
            "format",
            "interlace",
            "info",
            "average-hue",
            "ignore-error",
            "m_",
            "w_",
            "h_",
            "l_",
            "s_",
            "p_",
            "P_",
            "limit_",
            "color_",
            "t_",
            "g_",
            "x_",
            "y_",
            "voffset_",
            "fill_",
            "padx_",
            "pady_",
            "image_",
            "text_",
            "type_",
            "size_",
            "shadow_",
            "rotate_",
            "order_",
            "align_",
            "interval_",
            "r_",
            "i_",
            "q_",
            "Q_",
            "0",
            "1",
            "2",
            "10",
            "50",
            "100",
            "360",
            "4096",
            "16384",
            "-1",
            "+5",
            "007",
            "99999999999999999999",
            "abc",
            "lfit",
            "pad",
            "fill",
            "se",
            "center",
            "jpg",
            "jpeg",
            "png",
            "FFFFFF",
            "YQ",
            "SGVsbG8",
            "=",
            "==",
            "é",
            "图",
            "\u{0}",
            "cGFuZGEucG5nP3gtb3NzLXByb2Nlc3M9aW1hZ2UvcmVzaXplLFBfMzA",
            "YS5wbmc_eC1vc3MtcHJvY2Vzcz1pbWFnZS93YXRlcm1hcmssdGV4dF9ZUQ",
            "ZGVzdC5qcGc",
            "?",
            ";",
        ];
        struct Rng(u64);
        impl Rng {
            fn next(&mut self) -> u64 {
                self.0 ^= self.0 << 13;
                self.0 ^= self.0 >> 7;
                self.0 ^= self.0 << 17;
                self.0
            }
            fn pick(&mut self, list: &[&'static str]) -> &'static str {
                let i = usize::try_from(self.next() % list.len() as u64).unwrap_or(0);
                list.get(i).copied().unwrap_or("")
            }
        }
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut parsed = 0;
        const KEYS: &[&str] = &[
            "m_", "w_", "h_", "l_", "s_", "p_", "limit_", "color_", "t_", "g_", "x_", "y_", "text_",
            "image_", "r_", "i_", "q_", "Q_", "fill_", "size_", "",
        ];
        const VALUES: &[&str] = &[
            "0",
            "1",
            "2",
            "10",
            "50",
            "100",
            "360",
            "4096",
            "16384",
            "-1",
            "lfit",
            "pad",
            "se",
            "FFFFFF",
            "YQ",
            "SGVsbG8",
            "png",
            "cGFuZGEucG5nP3gtb3NzLXByb2Nlc3M9aW1hZ2UvcmVzaXplLFBfMzA",
        ];
        let mut names: Vec<&'static str> = ACTION_NAMES.to_vec();
        names.push("ignore-error");
        for round in 0..30_000 {
            let mut s = String::new();
            if round % 2 == 0 {
                // free-form soup of grammar pieces
                if !rng.next().is_multiple_of(4) {
                    s.push_str("image/");
                }
                for _ in 0..rng.next() % 12 {
                    s.push_str(rng.pick(PIECES));
                }
            } else {
                // grammar-shaped: actions with key_value parameters
                s.push_str("image");
                for _ in 0..1 + rng.next() % 3 {
                    s.push('/');
                    s.push_str(rng.pick(&names));
                    for _ in 0..rng.next() % 4 {
                        s.push(',');
                        s.push_str(rng.pick(KEYS));
                        s.push_str(rng.pick(VALUES));
                    }
                }
            }
            if let Ok(req) = parse_process(&s)
                && let Process::Image(chain) = &req.process
            {
                parsed += 1;
                let printed = chain.to_string();
                assert_eq!(parse_image(&printed).as_ref(), Ok(chain), "{s:?} -> {printed:?}");
            }
            let _ = parse_style_content(&s);
        }
        assert!(parsed > 300, "only {parsed} random chains parsed");
    }
}
