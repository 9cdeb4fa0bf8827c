//! Run a chain on source bytes under limits and a deadline.
//!
//! The order, for every request:
//! 1. refuse what this build cannot do, before any work;
//! 2. probe the header and check the source limits;
//! 3. settle the output: format (the `format` action, else the source's), quality, interlace;
//! 4. decode, shrinking in the DCT domain when the chain starts with a large JPEG downscale;
//!    convert to sRGB; apply the EXIF orientation first unless `auto-orient,0` (OSS: auto-orient
//!    runs before the other actions, and its documented default is 1);
//! 5. run the actions in order, checking the deadline between them;
//! 6. encode.
//!
//! An animated GIF or WebP that the chain keeps animated (GIF or WebP output, no `resize` by
//! percentage) runs frame by frame instead ([`run_animation`]): frames are read and written one
//! at a time, GIF or WebP on either side.

use std::time::{Duration, Instant};

use crate::codec::animation::{FrameSink, FrameSource, all_colours, gif_delay_in_webp, has_local_palettes};
use crate::codec::decode::decode_frame;
use crate::codec::encode::{EncodeOptions, encode, keeps_alpha};
use crate::codec::{self, CodecError, Limits, Probe, SourceFormat};
use crate::frame::{Frame, OpContext, OpError, OutputLimits};
use crate::op;
pub use crate::op::watermark::Assets;
use crate::spec::Format;
use crate::spec::Quality;
use crate::spec::{Action, Chain, Resize};

/// Output quality for JPEG and WebP when the chain has no `quality` action.
pub const DEFAULT_QUALITY: u8 = 85;

/// A rendered answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub bytes: Vec<u8>,
    pub mime: &'static str,
    pub timings: Timings,
}

/// Where the time went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Timings {
    pub decode: Duration,
    pub transform: Duration,
    pub encode: Duration,
}

/// Bytes per source pixel of an animation read or written as WebP: libwebp's decoder keeps two
/// canvases and its decoding buffer (12), the frame handed out and one action's output (8); its
/// encoder keeps the picture being added, three canvases and the candidates it encodes for one
/// frame (26). Frames are never all in memory at once.
const WEBP_ANIMATION_BYTES_PER_PIXEL: u64 = 48;

/// A conservative estimate of the memory a render of this source needs at its peak: the
/// decoder's buffer (16-bit RGBA for formats that may carry it), the RGBA frame, and one
/// action's output; an animated GIF's canvas, frame copies and the writer's index buffers, or,
/// for an animation `chain` keeps animated that is read or written as WebP, libwebp's canvases
/// ([`WEBP_ANIMATION_BYTES_PER_PIXEL`]); and one frame-sized overlay per watermark of `chain`;
/// plus, when a rotation by an angle that is not a right one grows the canvas, 8 bytes for each
/// pixel it adds (the RGBA result and, for an animation, the writer's index buffers at that
/// size). The gateway reserves it before the job runs (adding the watermark images' own
/// estimates, with no chain: an image as its first frame).
pub fn memory_estimate(probe: &Probe, chain: Option<&Chain>) -> u64 {
    let px = u64::from(probe.width) * u64::from(probe.height);
    let animation = chain.and_then(|c| animated_output(c, probe));
    let per_px = match (probe.format, animation) {
        (SourceFormat::Webp, Some(_)) | (_, Some(Format::Webp)) => WEBP_ANIMATION_BYTES_PER_PIXEL,
        (SourceFormat::Png | SourceFormat::Tiff, _) => 8 + 4 + 4,
        (SourceFormat::Gif, _) if probe.frames > 1 => 24,
        _ => 4 + 4 + 4,
    };
    let watermarks =
        chain.map_or(0, |c| c.actions.iter().filter(|a| matches!(a, Action::Watermark(_))).count());
    let grown = chain.map_or(0, |c| largest_rotated_canvas(probe, c).saturating_sub(px));
    px * (per_px + 4 * watermarks as u64) + grown * 8
}

/// The largest canvas, in pixels, the chain's rotations make from the source's size (each
/// rotation turns the size the previous one left; other actions are taken not to enlarge).
fn largest_rotated_canvas(probe: &Probe, chain: &Chain) -> u64 {
    let (mut w, mut h) = (probe.width, probe.height);
    let mut largest = 0u64;
    for a in &chain.actions {
        if let Action::Rotate(r) = a {
            let (cw, ch) = op::rotate::canvas(w, h, r.angle);
            largest = largest.max(cw.saturating_mul(ch));
            (w, h) = (u32::try_from(cw).unwrap_or(u32::MAX), u32::try_from(ch).unwrap_or(u32::MAX));
        }
    }
    largest
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PipelineError {
    Codec(CodecError),
    Op(OpError),
    /// An action or output this build does not have.
    NotImplemented(&'static str),
    /// The deadline passed between two steps.
    Deadline,
}

impl From<CodecError> for PipelineError {
    fn from(e: CodecError) -> Self {
        PipelineError::Codec(e)
    }
}

impl From<OpError> for PipelineError {
    fn from(e: OpError) -> Self {
        PipelineError::Op(e)
    }
}

impl std::fmt::Display for PipelineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PipelineError::Codec(e) => e.fmt(f),
            PipelineError::Op(e) => e.fmt(f),
            PipelineError::NotImplemented(a) => write!(f, "{a} is not implemented"),
            PipelineError::Deadline => f.write_str("deadline passed"),
        }
    }
}

impl std::error::Error for PipelineError {}

/// The first part of `chain` this build cannot run, if any.
pub fn unsupported(chain: &Chain) -> Option<&'static str> {
    chain.actions.iter().find_map(|a| match a {
        Action::Format(Format::Heic) if !cfg!(feature = "heic") => Some("format,heic"),
        Action::Format(Format::Avif) if !cfg!(feature = "avif") => Some("format,avif"),
        _ => None,
    })
}

fn check(deadline: Instant) -> Result<(), PipelineError> {
    if Instant::now() > deadline { Err(PipelineError::Deadline) } else { Ok(()) }
}

/// The output settings a chain asks for; the last `format`/`quality`/`interlace` wins.
fn output_settings(chain: &Chain, probe: &Probe, source_quality: Option<u8>) -> EncodeOptions {
    let source = probe.format;
    // OSS keeps GIF output only for GIF sources; an animated WebP counts as one here.
    let gif_allowed = source == SourceFormat::Gif || (source == SourceFormat::Webp && probe.frames > 1);
    let source_format = match source {
        SourceFormat::Jpeg => Format::Jpg,
        SourceFormat::Png => Format::Png,
        SourceFormat::Gif => Format::Gif,
        SourceFormat::Webp => Format::Webp,
        SourceFormat::Bmp => Format::Bmp,
        SourceFormat::Tiff => Format::Tiff,
        SourceFormat::Heic => Format::Heic,
        SourceFormat::Avif => Format::Avif,
    };
    let mut format = source_format;
    let mut quality: Option<Quality> = None;
    let mut progressive = false;
    for a in &chain.actions {
        match a {
            Action::Format(Format::Gif) if !gif_allowed => {}
            Action::Format(f) => format = *f,
            Action::Quality(q) => quality = Some(*q),
            Action::Interlace(i) => progressive = i.progressive,
            _ => {}
        }
    }
    // q is relative to a JPEG source's own quality; for other sources it acts like Q.
    // Q is absolute but never above the JPEG source's quality.
    let cap = source_quality.unwrap_or(100);
    let quality = match quality {
        None => DEFAULT_QUALITY.min(cap),
        Some(Quality::Relative(q)) => match source_quality {
            Some(sq) => ((u32::from(sq) * q + 50) / 100).clamp(1, 100) as u8,
            None => q.clamp(1, 100) as u8,
        },
        Some(Quality::Absolute(q)) => (q.clamp(1, 100) as u8).min(cap),
    };
    EncodeOptions { format, quality, progressive }
}

/// The size the first resize will produce, when the chain starts with one (after settings
/// actions), for shrink-on-load. `(w, h)` are the oriented source dimensions. A plan over the
/// output limits fails here, before anything is decoded.
fn first_resize_target(
    chain: &Chain,
    w: u32,
    h: u32,
    limits: &OutputLimits,
) -> Result<Option<(u32, u32)>, OpError> {
    for a in &chain.actions {
        match a {
            Action::Resize(r) => {
                let plan = op::resize::plan(w, h, r, limits)?;
                return Ok(Some((plan.width, plan.height)));
            }
            a if a.is_setting() => {}
            _ => return Ok(None),
        }
    }
    Ok(None)
}

/// At most this many different watermark images in one chain (OSS: "up to 3").
pub const MAX_WATERMARK_IMAGES: usize = 3;

/// The distinct watermark objects `chain` names, in order; more than
/// [`MAX_WATERMARK_IMAGES`] is a WatermarkError.
pub fn watermark_keys(chain: &Chain) -> Result<Vec<&str>, PipelineError> {
    let mut keys: Vec<&str> = Vec::new();
    for a in &chain.actions {
        if let Action::Watermark(w) = a
            && let Some(i) = &w.image
            && !keys.contains(&i.key.as_str())
        {
            keys.push(&i.key);
        }
    }
    if keys.len() > MAX_WATERMARK_IMAGES {
        return Err(PipelineError::Op(OpError::Watermark {
            message: format!(
                "A chain may use at most {MAX_WATERMARK_IMAGES} different watermark images; this one uses {}.",
                keys.len()
            ),
            ec: None,
        }));
    }
    Ok(keys)
}

/// [`run_with`] without watermark objects, fonts from the compiled-in subset only.
pub fn run(
    chain: &Chain,
    source: &[u8],
    limits: &Limits,
    deadline: Instant,
) -> Result<Rendered, PipelineError> {
    run_with(chain, source, limits, deadline, &Assets::none())
}

/// Check a chain against this build and render it: [`unsupported`], [`watermark_keys`],
/// [`plan`], then [`execute`].
pub fn run_with(
    chain: &Chain,
    source: &[u8],
    limits: &Limits,
    deadline: Instant,
    assets: &Assets<'_>,
) -> Result<Rendered, PipelineError> {
    if let Some(name) = unsupported(chain) {
        return Err(PipelineError::NotImplemented(name));
    }
    watermark_keys(chain)?;
    let plan = plan(chain, source, limits)?;
    execute(&plan, chain, source, limits, deadline, assets)
}

/// A render checked against its source's header, before any pixel exists: made once by
/// [`plan`], trusted by [`execute`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The source's header (format, size, frames), within the source limits.
    pub probe: Probe,
    /// The memory the render needs at its peak ([`memory_estimate`]); 0 for a lone `info`,
    /// which decodes no pixel.
    pub memory: u64,
}

/// Probe the source and check it against `limits` (OSS's limits and ECs), `rotate`'s included:
/// OSS refuses to rotate a source wider or taller than 4096 px (`max_rotate_side`), whatever
/// the actions before the rotation do to its size, so that is checked here, from the header;
/// the rotation itself is then held only to the output limits ([`op::rotate::turn`]).
pub fn plan(chain: &Chain, source: &[u8], limits: &Limits) -> Result<Plan, PipelineError> {
    let probe = codec::probe(source)?;
    codec::check_source(&probe, source.len() as u64, limits)?;
    if chain.actions.iter().any(|a| matches!(a, Action::Rotate(_))) {
        op::rotate::check_side(probe.width, probe.height, limits.max_rotate_side)?;
    }
    let memory = match chain.actions.as_slice() {
        [Action::Info] => 0,
        _ => memory_estimate(&probe, Some(chain)),
    };
    Ok(Plan { probe, memory })
}

/// Render `chain` on a source that [`plan`] accepted (the caller has also checked the chain
/// with [`unsupported`] and [`watermark_keys`]).
pub fn execute(
    plan: &Plan,
    chain: &Chain,
    source: &[u8],
    limits: &Limits,
    deadline: Instant,
    assets: &Assets<'_>,
) -> Result<Rendered, PipelineError> {
    let probe = plan.probe;
    check(deadline)?;

    match chain.actions.as_slice() {
        [Action::Info] => {
            let bytes = op::info::info(source, &probe).into_bytes();
            return Ok(Rendered { bytes, mime: "application/json", timings: Timings::default() });
        }
        [Action::AverageHue] => {
            let start = Instant::now();
            let (frame, _) = decode_frame(source, &probe, Some((64, 64)))?;
            let decode = start.elapsed();
            let bytes = op::average_hue::average_hue(&frame).into_bytes();
            let timings = Timings { decode, transform: start.elapsed() - decode, encode: Duration::ZERO };
            return Ok(Rendered { bytes, mime: "application/json", timings });
        }
        _ => {}
    }

    let out_limits = OutputLimits {
        max_side: limits.max_output_side,
        max_pixels: limits.max_output_pixels,
        max_rotate_side: limits.max_rotate_side,
    };
    if animated_output(chain, &probe).is_some() {
        let settings = output_settings(chain, &probe, None);
        let cx = OpContext { alpha: true, background: [255, 255, 255], limits: out_limits };
        return run_animation(chain, source, &probe, limits, deadline, assets, &settings, &cx);
    }
    let orientation = if auto_orient(chain) { codec::decode::orientation(source) } else { None };
    let swapped = matches!(orientation, Some(5..=8));
    let (ow, oh) = if swapped { (probe.height, probe.width) } else { (probe.width, probe.height) };

    // Shrink-on-load: decode no smaller than twice the first resize's target.
    let shrink = first_resize_target(chain, ow, oh, &out_limits)?.map(|(w, h)| {
        let (w, h) = (w.saturating_mul(2), h.saturating_mul(2));
        if swapped { (h, w) } else { (w, h) }
    });
    let decode_start = Instant::now();
    let (mut frame, info) = decode_frame(source, &probe, shrink)?;
    let settings = output_settings(chain, &probe, info.jpeg_quality);
    let cx =
        OpContext { alpha: keeps_alpha(settings.format), background: [255, 255, 255], limits: out_limits };
    if let Some(o) = orientation {
        frame = op::auto_orient::orient(frame, o);
    }
    check(deadline)?;
    let decode = decode_start.elapsed();
    let transform_start = Instant::now();

    // Sizes for the first resize are planned against the source, not the pre-shrunk frame.
    let mut logical = Some((ow, oh));
    for a in &chain.actions {
        frame = match a {
            Action::Resize(r) => {
                let size = logical.take().unwrap_or((frame.width, frame.height));
                let never_enlarge = probe.format == SourceFormat::Gif;
                op::resize::apply(frame, size, size, &for_source(r, never_enlarge), &cx)?
            }
            Action::Watermark(w) => op::watermark::apply(frame, w, assets, limits, &cx)?,
            other => apply_pixels(frame, other, &cx)?,
        };
        // Any geometric action ends the "logical source" used for the first resize.
        if !a.is_setting() {
            logical = None;
        }
        check(deadline)?;
    }

    // Drop the alpha channel when the output cannot keep it, or when nothing is translucent.
    if frame.has_alpha() && (!cx.alpha || !frame.is_translucent()) {
        frame = frame.flatten(cx.background);
    }
    let transform = transform_start.elapsed();
    let encode_start = Instant::now();
    let bytes = encode(&frame, &settings)?;
    let timings = Timings { decode, transform, encode: encode_start.elapsed() };
    Ok(Rendered { bytes, mime: settings.format.mime(), timings })
}

/// One action that needs only the frame and its context: every action but `resize` and
/// `watermark`, which the two loops (a still image, an animation's frames) plan themselves.
fn apply_pixels(frame: Frame, a: &Action, cx: &OpContext) -> Result<Frame, OpError> {
    Ok(match a {
        Action::Crop(c) => op::crop::apply(frame, c)?,
        Action::IndexCrop(c) => op::indexcrop::apply(frame, c)?,
        Action::Circle(c) => op::circle::apply(frame, c, cx)?,
        Action::RoundedCorners(c) => op::rounded_corners::apply(frame, c, cx)?,
        // the source's sides were checked by `plan`
        Action::Rotate(r) => op::rotate::turn(frame, r, cx)?,
        Action::Blur(b) => op::blur::apply(frame, b),
        Action::Bright(b) => op::bright::apply(frame, b),
        Action::Contrast(c) => op::contrast::apply(frame, c),
        Action::Sharpen(s) => op::sharpen::apply(frame, s),
        // Planned by the callers; settings were handled before decoding; info/average-hue
        // only stand alone.
        // (matched exhaustively, so that a new action must say where it runs)
        Action::Resize(_)
        | Action::Watermark(_)
        | Action::AutoOrient(_)
        | Action::Quality(_)
        | Action::Format(_)
        | Action::Interlace(_)
        | Action::Info
        | Action::AverageHue => frame,
    })
}

/// The last `auto-orient` decides; without one, OSS's documented default (1) applies.
fn auto_orient(chain: &Chain) -> bool {
    chain
        .actions
        .iter()
        .rev()
        .find_map(|a| if let Action::AutoOrient(o) = a { Some(o.enabled) } else { None })
        .unwrap_or(true)
}

/// OSS never enlarges a GIF: `limit_0` does not apply to GIF sources, nor to animations.
fn for_source(r: &Resize, never_enlarge: bool) -> std::borrow::Cow<'_, Resize> {
    if never_enlarge && !r.limit {
        std::borrow::Cow::Owned(Resize { limit: true, ..r.clone() })
    } else {
        std::borrow::Cow::Borrowed(r)
    }
}

/// The format an animation is written in, when the chain keeps it animated: an animated GIF or
/// WebP stays animated into GIF or WebP output (other formats take the first frame; `format,gif`
/// applies to an animated WebP as to a GIF), and not through a `resize` by percentage, which OSS
/// documents as making the result static (`docs/oss/actions.md#resize-rules`). Every other
/// action, `rotate` included, runs on each frame (`docs/compat.md#pixels`, "animation").
fn animated_output(chain: &Chain, probe: &Probe) -> Option<Format> {
    let animation = probe.frames > 1 && matches!(probe.format, SourceFormat::Gif | SourceFormat::Webp);
    let percent = chain.actions.iter().any(|a| matches!(a, Action::Resize(r) if r.percent.is_some()));
    let format = output_settings(chain, probe, None).format;
    (animation && !percent && matches!(format, Format::Gif | Format::Webp)).then_some(format)
}

/// An animation, one frame at a time: read and composite a frame ([`FrameSource`]: GIF or WebP),
/// run the actions on it ([`animate_frame`]), add it to the output ([`FrameSink`]: GIF or WebP,
/// `settings.format`). Every frame is the whole canvas when the actions run, so actions that
/// change the size (resize, crop, rotate, ...) give every frame the same new canvas. Memory
/// stays at a few frames whatever the frame count; the deadline is checked after each frame.
#[allow(clippy::too_many_arguments)]
fn run_animation(
    chain: &Chain,
    source: &[u8],
    probe: &Probe,
    limits: &Limits,
    deadline: Instant,
    assets: &Assets<'_>,
    settings: &EncodeOptions,
    cx: &OpContext,
) -> Result<Rendered, PipelineError> {
    let mut timings = Timings::default();
    let mut frames = FrameSource::new(source, probe)?;
    let palette = if settings.format == Format::Gif { source_palette(chain, source, &frames) } else { None };
    let repeat = frames.repeat();
    // A GIF's delays of 10 ms or less play as 100 ms: WebP output says so explicitly.
    let retime = probe.format == SourceFormat::Gif && settings.format == Format::Webp;
    // A WebP may carry an EXIF orientation (a GIF cannot): applied to every frame first.
    let oriented = probe.format == SourceFormat::Webp && auto_orient(chain);
    let orientation = if oriented { codec::decode::orientation(source) } else { None };
    let new_sink =
        |first: &Frame| FrameSink::new(settings.format, settings.quality, first, palette.as_deref(), repeat);
    let mut overlays: Vec<Option<op::watermark::Overlay>> = vec![None; chain.actions.len()];
    let mut sink: Option<FrameSink> = None;
    loop {
        let start = Instant::now();
        let Some((mut frame, delay)) = frames.next_frame()? else { break };
        if let Some(o) = orientation {
            frame = op::auto_orient::orient(frame, o);
        }
        let decoded = Instant::now();
        timings.decode += decoded - start;
        let frame = animate_frame(chain, frame, &mut overlays, assets, limits, cx)?;
        let transformed = Instant::now();
        timings.transform += transformed - decoded;
        let s = match &mut sink {
            Some(s) => s,
            None => sink.insert(new_sink(&frame)?),
        };
        s.push(&frame, if retime { gif_delay_in_webp(delay) } else { delay })?;
        timings.encode += transformed.elapsed();
        check(deadline)?;
    }
    let sink = sink.ok_or_else(|| CodecError::Corrupt("the animation has no frames".into()))?;
    let start = Instant::now();
    let bytes = sink.finish()?;
    timings.encode += start.elapsed();
    Ok(Rendered { bytes, mime: settings.format.mime(), timings })
}

/// The colours a GIF output starts from: the source's, while the actions only move, cut or blend
/// its pixels (its global palette, or, with per-frame colour tables, the colours of all its
/// tables when they are at most 255). Colour actions, watermarks and a pad colour bring new
/// colours, and a WebP source has no palette: then `None`, and the writer learns one from the
/// first frame.
fn source_palette(chain: &Chain, source: &[u8], frames: &FrameSource<'_>) -> Option<Vec<u8>> {
    let keeps_colours = chain.actions.iter().all(|a| match a {
        Action::Resize(r) => r.mode != crate::spec::ResizeMode::Pad,
        a => !matches!(
            a,
            Action::Watermark(_)
                | Action::Bright(_)
                | Action::Contrast(_)
                | Action::Sharpen(_)
                | Action::Blur(_)
        ),
    });
    match frames {
        FrameSource::Gif(gif) if keeps_colours => {
            if has_local_palettes(source) {
                all_colours(source)
            } else {
                gif.global_palette()
            }
        }
        _ => None,
    }
}

/// The chain's actions on one frame of an animation. A watermark is prepared once per distinct
/// watermark, for the first frame's size, and drawn on every frame.
fn animate_frame(
    chain: &Chain,
    mut frame: Frame,
    overlays: &mut [Option<op::watermark::Overlay>],
    assets: &Assets<'_>,
    limits: &Limits,
    cx: &OpContext,
) -> Result<Frame, PipelineError> {
    for (i, a) in chain.actions.iter().enumerate() {
        frame = match a {
            Action::Resize(r) => {
                let size = (frame.width, frame.height);
                op::resize::apply(frame, size, size, &for_source(r, true), cx)?
            }
            Action::Watermark(w) => {
                let first = chain.actions[..i].iter().position(|b| b == a).unwrap_or(i);
                if overlays[first].is_none() {
                    let main = (frame.width, frame.height);
                    overlays[first] = Some(op::watermark::prepare(w, main, assets, limits, cx)?);
                }
                if let Some(o) = &overlays[first] {
                    op::watermark::draw(&mut frame, o, w);
                }
                frame
            }
            other => apply_pixels(frame, other, cx)?,
        };
    }
    Ok(frame)
}

/// A convenience for tests and benchmarks: decode → `Frame` at full size.
pub fn decode_full(source: &[u8]) -> Result<Frame, PipelineError> {
    let probe = codec::probe(source)?;
    Ok(decode_frame(source, &probe, None)?.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::animation::{GifFrames, Repeat, animated};
    // Frames (size, delay in ms) and the loop count of an animated WebP, read by libwebp.
    use crate::codec::webp_anim::read_all as webp_frames;
    use crate::spec::parse_image;

    /// Made by `ops/tests/anim/make.py` with Pillow: 48x32, frames of 80, 120 and 200 ms, played
    /// twice; grey, an 8x8 red square at (8i, 8) in frame i, the bottom-right 8x8 corner
    /// transparent, a green 4x4 square at (40, 0) in frame 1 only. Its frames after the first are
    /// rectangles with offsets, blended or not.
    const ANIM_WEBP: &[u8] = include_bytes!("../tests/anim/anim.webp");

    fn render(source: &[u8], chain: &str) -> Result<Rendered, PipelineError> {
        let chain = parse_image(chain).unwrap();
        run(&chain, source, &Limits::default(), Instant::now() + Duration::from_secs(30))
    }

    /// (width, height) and delay of each frame.
    type Frames = Vec<((u32, u32), u16)>;

    /// Frames and the loop count of a GIF.
    fn frames(gif: &[u8]) -> (Frames, Repeat) {
        let mut r = GifFrames::new(gif, u32::MAX).unwrap();
        let repeat = r.repeat();
        let mut v = Vec::new();
        while let Some((f, d)) = r.next_frame().unwrap() {
            v.push(((f.width, f.height), d));
        }
        (v, repeat)
    }

    #[test]
    fn animated_gifs_stay_animated_through_geometry() {
        let src = animated(60, 40, 12, gif::Repeat::Finite(2));
        let delays: Vec<u16> = (1..=12).map(|i| 10 * i).collect();
        for (chain, size) in [
            ("image/resize,w_30", (30, 20)),
            ("image/crop,w_20,h_10,g_center", (20, 10)),
            ("image/indexcrop,x_20,i_1", (20, 40)),
            ("image/circle,r_15", (30, 30)),
            ("image/rounded-corners,r_10/format,gif", (60, 40)),
            ("image/resize,w_30/bright,20/sharpen,50", (30, 20)),
            ("image/resize,w_30/rotate,270", (20, 30)),
            ("image/crop,w_20,h_10/rotate,180", (20, 10)),
            // GIFs are never enlarged, even with limit_0
            ("image/resize,w_120,limit_0", (60, 40)),
        ] {
            let out = render(&src, chain).unwrap();
            assert_eq!(out.mime, "image/gif", "{chain}");
            let (f, repeat) = frames(&out.bytes);
            assert_eq!(f.len(), 12, "{chain}");
            assert!(f.iter().all(|(s, _)| *s == size), "{chain}: {:?}", f[0]);
            assert_eq!(f.iter().map(|(_, d)| *d).collect::<Vec<_>>(), delays, "{chain}");
            assert_eq!(repeat, Repeat::Finite(2), "{chain}");
        }
        // circle: the corners are transparent in every frame
        let out = render(&src, "image/circle,r_15").unwrap();
        let mut r = GifFrames::new(&out.bytes, 100).unwrap();
        while let Some((f, _)) = r.next_frame().unwrap() {
            assert_eq!(f.pixel(0, 0)[3], 0);
            assert_eq!(f.pixel(15, 15)[3], 255);
        }
    }

    #[test]
    #[cfg(feature = "heic")]
    fn heic_sources_and_outputs() {
        use crate::codec::encode::{EncodeOptions, encode};
        let f = Frame::filled(80, 60, &[200, 40, 40]);
        let heic =
            encode(&f, &EncodeOptions { format: Format::Heic, quality: 80, progressive: false }).unwrap();
        let probe = codec::probe(&heic).unwrap();
        assert_eq!((probe.format, probe.width, probe.height), (SourceFormat::Heic, 80, 60));
        let out = render(&heic, "image/resize,w_40").unwrap();
        assert_eq!(out.mime, "image/heic");
        let out = render(&heic, "image/resize,w_40/format,jpg").unwrap();
        assert_eq!(out.mime, "image/jpeg");
        let back = decode_full(&out.bytes).unwrap();
        assert_eq!((back.width, back.height), (40, 30));
        assert!(back.pixel(20, 15)[0] > 150, "{:?}", back.pixel(20, 15));
        let info = render(&heic, "image/info").unwrap();
        assert!(String::from_utf8(info.bytes).unwrap().contains("\"Format\": {\"value\": \"heic\"}"));
        #[cfg(feature = "avif")]
        {
            let avif = render(&heic, "image/format,avif").unwrap();
            assert_eq!(avif.mime, "image/avif");
            assert_eq!(codec::probe(&avif.bytes).unwrap().format, SourceFormat::Avif);
            assert_eq!(decode_full(&avif.bytes).unwrap().width, 80);
        }
    }

    #[test]
    fn a_pad_colour_is_not_forced_into_the_source_palette() {
        let src = animated(60, 40, 3, gif::Repeat::Infinite);
        let out = render(&src, "image/resize,m_pad,w_60,h_60,color_FF0000").unwrap();
        let mut r = GifFrames::new(&out.bytes, 100).unwrap();
        while let Some((f, _)) = r.next_frame().unwrap() {
            assert_eq!((f.width, f.height), (60, 60));
            let p = f.pixel(30, 2);
            assert!(p[0] > 230 && p[1] < 25 && p[2] < 25, "{p:?}");
        }
    }

    #[test]
    fn rotate_runs_on_every_frame() {
        let src = animated(60, 40, 3, gif::Repeat::Finite(2));
        // 90°: every frame is turned, the canvas swaps its sides, delays and loop count stay
        let out = render(&src, "image/rotate,90").unwrap();
        assert_eq!(out.mime, "image/gif");
        let (f, repeat) = frames(&out.bytes);
        assert_eq!(f, vec![((40, 60), 10), ((40, 60), 20), ((40, 60), 30)]);
        assert_eq!(repeat, Repeat::Finite(2));
        // frame i's block (x 4i..4i+4, y 0..4 of the source) is at x 36..40, y 4i..4i+4; the
        // source's own colours are kept
        let mut r = GifFrames::new(&out.bytes, 100).unwrap();
        let mut i = 0u32;
        while let Some((f, _)) = r.next_frame().unwrap() {
            assert_eq!(f.pixel(38, 4 * i + 1), &[254, 1, 127, 255], "frame {i}");
            assert_eq!(f.pixel(38, 4 * i + 6), &[80, 175, 40, 255], "frame {i}");
            assert_eq!(f.pixel(10, 30), &[80, 175, 40, 255], "frame {i}");
            i += 1;
        }
        assert_eq!(i, 3);

        // 30°: every frame has the rotated bounding box, its uncovered corners transparent
        let out = render(&src, "image/rotate,30").unwrap();
        assert_eq!(out.mime, "image/gif");
        let (f, repeat) = frames(&out.bytes);
        assert_eq!(f, vec![((72, 65), 10), ((72, 65), 20), ((72, 65), 30)]);
        assert_eq!(repeat, Repeat::Finite(2));
        let mut r = GifFrames::new(&out.bytes, 100).unwrap();
        let mut n = 0;
        while let Some((f, _)) = r.next_frame().unwrap() {
            assert_eq!(f.pixel(0, 0)[3], 0, "frame {n}");
            assert_eq!(f.pixel(71, 64)[3], 0, "frame {n}");
            assert_eq!(f.pixel(36, 32), &[80, 175, 40, 255], "frame {n}");
            n += 1;
        }
        assert_eq!(n, 3);

        // The source's own transparency turns with it: a 10x10 red frame with a transparent 2x2
        // corner, then a 3x3 green frame at (5, 5) disposed to the background.
        let mut own = Vec::new();
        {
            let mut e = gif::Encoder::new(&mut own, 10, 10, &[255, 0, 0, 0, 255, 0, 0, 0, 0]).unwrap();
            let mut buf = vec![0u8; 100];
            for i in [0, 1, 10, 11] {
                buf[i] = 2;
            }
            let first = gif::Frame {
                width: 10,
                height: 10,
                transparent: Some(2),
                delay: 7,
                buffer: buf.into(),
                ..Default::default()
            };
            e.write_frame(&first).unwrap();
            let second = gif::Frame {
                left: 5,
                top: 5,
                width: 3,
                height: 3,
                transparent: Some(2),
                delay: 8,
                dispose: gif::DisposalMethod::Background,
                buffer: vec![1u8; 9].into(),
                ..Default::default()
            };
            e.write_frame(&second).unwrap();
        }
        let out = render(&own, "image/rotate,90").unwrap();
        assert_eq!(frames(&out.bytes).0, vec![((10, 10), 7), ((10, 10), 8)]);
        let mut r = GifFrames::new(&out.bytes, 10).unwrap();
        // (x, y) of the source is at (9 - y, x)
        let (a, _) = r.next_frame().unwrap().unwrap();
        assert_eq!((a.pixel(9, 0)[3], a.pixel(8, 1)[3]), (0, 0));
        assert_eq!(a.pixel(0, 0), &[255, 0, 0, 255]);
        let (b, _) = r.next_frame().unwrap().unwrap();
        assert_eq!(b.pixel(3, 6), &[0, 255, 0, 255]);
        assert_eq!(b.pixel(9, 0)[3], 0);
        assert_eq!(b.pixel(0, 0), &[255, 0, 0, 255]);
    }

    /// A PNG of `w` x `h`, one colour.
    fn png(w: u32, h: u32) -> Vec<u8> {
        let options = EncodeOptions { format: Format::Png, quality: 90, progressive: false };
        encode(&Frame::filled(w, h, &[10, 20, 30]), &options).unwrap()
    }

    #[test]
    fn the_rotate_limit_is_on_the_source_and_checked_before_decoding() {
        let limits = Limits::default();
        let refused = |r: Result<Plan, PipelineError>| match r {
            Err(PipelineError::Op(OpError::TooLarge { message, ec: "0040-00000007" })) => message,
            other => panic!("{other:?}"),
        };
        let chain = |c: &str| parse_image(c).unwrap();
        // a 4100x10 source cannot be rotated, whatever comes before the rotation
        let wide = png(4100, 10);
        for c in [
            "image/rotate,90",
            "image/rotate,0",
            "image/resize,w_100/rotate,90",
            "image/crop,w_100/rotate,45",
        ] {
            let m = refused(plan(&chain(c), &wide, &limits));
            assert!(m.contains("4100x10") && m.contains("at most 4096 pixels"), "{c}: {m}");
        }
        assert!(plan(&chain("image/resize,w_100"), &wide, &limits).is_ok());
        // only the header is read: the file cut after its IHDR chunk is refused the same way,
        // while without rotate it passes `plan` and fails to decode
        let header = &wide[..33];
        refused(plan(&chain("image/rotate,90"), header, &limits));
        let resize = chain("image/resize,w_100");
        let p = plan(&resize, header, &limits).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        let err = execute(&p, &resize, header, &limits, deadline, &Assets::none()).unwrap_err();
        assert!(matches!(err, PipelineError::Codec(_)), "{err:?}");
        // at the limit
        let out = render(&png(4096, 10), "image/rotate,90").unwrap();
        let probe = codec::probe(&out.bytes).unwrap();
        assert_eq!((probe.width, probe.height), (10, 4096));
        // a source within the limit that a resize makes larger than 4096 px: rotated (OSS words
        // the limit on the source); the output limits still hold
        let out = render(&png(2000, 10), "image/resize,w_5000,limit_0/rotate,90").unwrap();
        let probe = codec::probe(&out.bytes).unwrap();
        assert_eq!((probe.width, probe.height), (25, 5000));
        // an animated GIF: its canvas, from the header
        let anim = animated(60, 40, 3, gif::Repeat::Infinite);
        let small = Limits { max_rotate_side: 50, ..Limits::default() };
        let m = refused(plan(&chain("image/resize,w_30/rotate,90"), &anim, &small));
        assert!(m.contains("60x40"), "{m}");
        assert!(plan(&chain("image/resize,w_30"), &anim, &small).is_ok());
    }

    #[test]
    fn a_rotation_that_grows_the_canvas_counts_in_the_memory_estimate() {
        let probe = Probe { format: SourceFormat::Gif, width: 100, height: 100, frames: 3 };
        let estimate = |c: &str| memory_estimate(&probe, Some(&parse_image(c).unwrap()));
        assert_eq!(estimate("image/rotate,90"), estimate("image/resize,w_50"));
        // 45°: 142x142 = 20,164 pixels, 10,164 more than the source, at 8 bytes each
        assert_eq!(estimate("image/rotate,45"), estimate("image/rotate,90") + 10_164 * 8);
        // a second rotation turns the grown canvas again: the largest one counts
        assert!(estimate("image/rotate,45/rotate,45") > estimate("image/rotate,45"));
        assert_eq!(memory_estimate(&probe, None), estimate("image/rotate,180"));
    }

    #[test]
    fn percent_and_other_formats_make_it_static() {
        let src = animated(60, 40, 5, gif::Repeat::Infinite);
        for (chain, mime, size) in [
            ("image/resize,p_50", "image/gif", (30, 20)),
            ("image/format,png", "image/png", (60, 40)),
            ("image/resize,p_50/format,webp", "image/webp", (30, 20)),
            // rotate keeps an animation only into GIF or WebP output
            ("image/rotate,90/format,png", "image/png", (40, 60)),
        ] {
            let out = render(&src, chain).unwrap();
            assert_eq!(out.mime, mime, "{chain}");
            let probe = codec::probe(&out.bytes).unwrap();
            assert_eq!((probe.width, probe.height, probe.frames), (size.0, size.1, 1), "{chain}");
        }
    }

    #[test]
    fn a_watermark_is_drawn_on_every_frame() {
        let src = animated(80, 40, 6, gif::Repeat::Infinite);
        let text = crate::spec::encode_base64_url("水印".as_bytes());
        let out =
            render(&src, &format!("image/watermark,text_{text},g_nw,x_0,y_0,size_20,color_FFFFFF")).unwrap();
        let mut r = GifFrames::new(&out.bytes, 100).unwrap();
        let mut n = 0;
        while let Some((f, _)) = r.next_frame().unwrap() {
            let white = (0..20)
                .flat_map(|y| (0..40).map(move |x| (x, y)))
                .filter(|&(x, y)| f.pixel(x, y)[..3] == [255, 255, 255])
                .count();
            assert!(white > 30, "frame {n}: {white}");
            n += 1;
        }
        assert_eq!(n, 6);
    }

    #[test]
    fn frame_limits_are_checked_before_decoding() {
        let src = animated(60, 40, 12, gif::Repeat::Infinite);
        let chain = parse_image("image/resize,w_30").unwrap();
        let limits = Limits { max_source_pixels: 60 * 40 * 11, ..Limits::default() };
        let err = run(&chain, &src, &limits, Instant::now() + Duration::from_secs(5)).unwrap_err();
        assert!(matches!(err, PipelineError::Codec(CodecError::TooLarge { .. })), "{err:?}");
    }

    #[test]
    fn an_animated_gif_becomes_an_animated_webp() {
        let src = animated(60, 40, 3, gif::Repeat::Finite(2));
        for (chain, size) in [
            ("image/format,webp", (60, 40)),
            ("image/resize,w_30/format,webp/quality,q_70", (30, 20)),
            ("image/rotate,90/format,webp", (40, 60)),
            ("image/rotate,30/format,webp", (72, 65)),
        ] {
            let out = render(&src, chain).unwrap();
            assert_eq!(out.mime, "image/webp", "{chain}");
            let probe = codec::probe(&out.bytes).unwrap();
            assert_eq!(
                (probe.format, probe.width, probe.height, probe.frames),
                (SourceFormat::Webp, size.0, size.1, 3),
                "{chain}"
            );
            let (f, repeat) = webp_frames(&out.bytes);
            // GIF delays of 10, 20, 30 hundredths; NETSCAPE 2 (three plays) is WebP's loop count 3
            assert_eq!(f.iter().map(|(_, d)| *d).collect::<Vec<_>>(), [100, 200, 300], "{chain}");
            assert_eq!(repeat, Repeat::Finite(2), "{chain}");
        }
        // the block moves: frame i's block (x 4i..4i+4, y 0..4) in the source's colours, within
        // the lossy tolerance
        let out = render(&src, "image/format,webp/quality,Q_95").unwrap();
        let (f, _) = webp_frames(&out.bytes);
        for (i, (frame, _)) in f.iter().enumerate() {
            let block = frame.pixel(4 * i as u32 + 1, 1);
            let ground = frame.pixel(30, 30);
            let near = |p: &[u8], c: [u8; 3]| p.iter().zip(c).all(|(a, b)| a.abs_diff(b) <= 24);
            assert!(
                near(block, [254, 1, 127]) && near(ground, [80, 175, 40]),
                "frame {i}: {block:?} {ground:?}"
            );
        }
        // transparency: the corners a rotation uncovers stay transparent in every frame
        let out = render(&src, "image/rotate,30/format,webp").unwrap();
        for (i, (frame, _)) in webp_frames(&out.bytes).0.iter().enumerate() {
            assert_eq!(frame.pixel(0, 0)[3], 0, "frame {i}");
            assert_eq!(frame.pixel(71, 64)[3], 0, "frame {i}");
            assert_eq!(frame.pixel(36, 32)[3], 255, "frame {i}");
        }
        // delays of 0 or 1 hundredth play as 100 ms (browsers, gif2webp)
        assert_eq!(gif_delay_in_webp(0), 100);
        assert_eq!(gif_delay_in_webp(10), 100);
        assert_eq!(gif_delay_in_webp(20), 20);
    }

    #[test]
    fn an_animated_webp_stays_animated() {
        let probe = codec::probe(ANIM_WEBP).unwrap();
        assert_eq!((probe.format, probe.width, probe.height, probe.frames), (SourceFormat::Webp, 48, 32, 3));
        // the source as libwebp composites it
        let (src, repeat) = webp_frames(ANIM_WEBP);
        assert_eq!(src.iter().map(|(_, d)| *d).collect::<Vec<_>>(), [80, 120, 200]);
        assert_eq!(repeat, Repeat::Finite(1));
        for (i, (f, _)) in src.iter().enumerate() {
            assert_eq!(f.pixel(8 * i as u32 + 4, 12), &[230, 20, 20, 255], "frame {i}");
            assert_eq!(f.pixel(46, 30)[3], 0, "frame {i}");
        }
        assert_eq!(src[1].0.pixel(41, 1), &[20, 200, 40, 255]);
        assert_eq!(src[2].0.pixel(41, 1)[3], 0, "frame 2 clears what frame 1 drew");
        for (chain, size) in [
            ("image/resize,w_24", (24, 16)),
            ("image/crop,w_40,h_20,g_nw", (40, 20)),
            ("image/rotate,90/quality,q_80", (32, 48)),
            ("image/rounded-corners,r_8/bright,10", (48, 32)),
            // animations are never enlarged
            ("image/resize,w_96,limit_0", (48, 32)),
        ] {
            let out = render(ANIM_WEBP, chain).unwrap();
            assert_eq!(out.mime, "image/webp", "{chain}");
            let (f, repeat) = webp_frames(&out.bytes);
            assert_eq!(f.len(), 3, "{chain}");
            assert!(f.iter().all(|(f, _)| (f.width, f.height) == size), "{chain}: {:?}", f[0].0);
            assert_eq!(f.iter().map(|(_, d)| *d).collect::<Vec<_>>(), [80, 120, 200], "{chain}");
            assert_eq!(repeat, Repeat::Finite(1), "{chain}");
        }
        let out = render(ANIM_WEBP, "image/resize,w_24").unwrap();
        let (f, _) = webp_frames(&out.bytes);
        assert_eq!(f[0].0.pixel(23, 15)[3], 0, "the transparent corner, scaled");
        let red = f[1].0.pixel(6, 6);
        assert!(red[0] > 180 && red[1] < 80, "frame 1's square, scaled: {red:?}");
    }

    #[test]
    fn an_animated_webp_into_gif_and_into_still_formats() {
        // format,gif: an animated GIF (OSS keeps GIF output for GIF sources; an animated WebP
        // counts as one)
        let out = render(ANIM_WEBP, "image/format,gif").unwrap();
        assert_eq!(out.mime, "image/gif");
        let (f, repeat) = frames(&out.bytes);
        assert_eq!(f, vec![((48, 32), 8), ((48, 32), 12), ((48, 32), 20)]);
        assert_eq!(repeat, Repeat::Finite(1));
        let mut r = GifFrames::new(&out.bytes, 10).unwrap();
        let mut i = 0u32;
        while let Some((frame, _)) = r.next_frame().unwrap() {
            let red = frame.pixel(8 * i + 4, 12);
            assert!(red[0] > 200 && red[1] < 50 && red[3] == 255, "frame {i}: {red:?}");
            assert_eq!(frame.pixel(46, 30)[3], 0, "frame {i}");
            i += 1;
        }
        let out = render(ANIM_WEBP, "image/resize,w_24/format,gif").unwrap();
        assert_eq!(frames(&out.bytes).0.len(), 3);
        // other formats, and resize by percentage: the first frame
        for (chain, mime, size) in [
            ("image/format,png", "image/png", (48, 32)),
            ("image/resize,w_24/format,jpg", "image/jpeg", (24, 16)),
            ("image/resize,p_50", "image/webp", (24, 16)),
            ("image/resize,p_50/format,gif", "image/gif", (24, 16)),
        ] {
            let out = render(ANIM_WEBP, chain).unwrap();
            assert_eq!(out.mime, mime, "{chain}");
            let probe = codec::probe(&out.bytes).unwrap();
            assert_eq!((probe.width, probe.height, probe.frames), (size.0, size.1, 1), "{chain}");
        }
        let png = decode_full(&render(ANIM_WEBP, "image/format,png").unwrap().bytes).unwrap();
        assert_eq!(png.pixel(4, 12), &[230, 20, 20, 255]);
        // a still WebP stays still and never becomes a GIF
        let still = render(ANIM_WEBP, "image/format,png").unwrap().bytes;
        let webp = render(&still, "image/format,webp").unwrap();
        assert_eq!(codec::probe(&webp.bytes).unwrap().frames, 1);
        assert_eq!(render(&webp.bytes, "image/format,gif").unwrap().mime, "image/webp");
    }

    #[test]
    fn animated_webp_frames_count_in_the_limits_and_the_memory_estimate() {
        let chain = parse_image("image/resize,w_24").unwrap();
        let limits = Limits { max_source_pixels: 48 * 32 * 2, ..Limits::default() };
        let err = run(&chain, ANIM_WEBP, &limits, Instant::now() + Duration::from_secs(5)).unwrap_err();
        assert!(matches!(err, PipelineError::Codec(CodecError::TooLarge { .. })), "{err:?}");
        let probe = codec::probe(ANIM_WEBP).unwrap();
        let estimate = |c: &str| memory_estimate(&probe, Some(&parse_image(c).unwrap()));
        let px = 48 * 32;
        assert_eq!(estimate("image/resize,w_24"), px * WEBP_ANIMATION_BYTES_PER_PIXEL);
        assert_eq!(estimate("image/format,gif"), px * WEBP_ANIMATION_BYTES_PER_PIXEL);
        assert_eq!(estimate("image/format,png"), px * 12);
        // a GIF written as WebP: libwebp's encoder
        let gif = Probe { format: SourceFormat::Gif, width: 100, height: 100, frames: 3 };
        let estimate = |c: &str| memory_estimate(&gif, Some(&parse_image(c).unwrap()));
        assert_eq!(estimate("image/format,webp"), 10_000 * WEBP_ANIMATION_BYTES_PER_PIXEL);
        assert_eq!(estimate("image/resize,w_50"), 10_000 * 24);
    }
}
