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

use std::time::{Duration, Instant};

use crate::codec::decode::decode_frame;
use crate::codec::encode::{EncodeOptions, encode, keeps_alpha};
use crate::codec::{self, CodecError, Limits, Probe, SourceFormat};
use crate::frame::{Frame, OpContext, OpError, OutputLimits};
use crate::op;
pub use crate::op::watermark::Assets;
use crate::spec::Format;
use crate::spec::Quality;
use crate::spec::{Action, Chain};

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

/// A conservative estimate of the memory a render of this source needs at its peak: the
/// decoder's buffer (16-bit RGBA for formats that may carry it), the RGBA frame, and one
/// action's output. The gateway reserves it before the job runs.
pub fn memory_estimate(probe: &Probe) -> u64 {
    let px = u64::from(probe.width) * u64::from(probe.height);
    let decoder = match probe.format {
        SourceFormat::Png | SourceFormat::Tiff => 8,
        _ => 4,
    };
    px * (decoder + 4 + 4)
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
        Action::Format(Format::Heic) => Some("format,heic"),
        Action::Format(Format::Avif) => Some("format,avif"),
        _ => None,
    })
}

fn check(deadline: Instant) -> Result<(), PipelineError> {
    if Instant::now() > deadline { Err(PipelineError::Deadline) } else { Ok(()) }
}

/// The output settings a chain asks for; the last `format`/`quality`/`interlace` wins.
fn output_settings(chain: &Chain, source: SourceFormat, source_quality: Option<u8>) -> EncodeOptions {
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
            // OSS keeps GIF output only for GIF sources.
            Action::Format(Format::Gif) if source != SourceFormat::Gif => {}
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
            Action::Quality(_) | Action::Format(_) | Action::Interlace(_) | Action::AutoOrient(_) => {}
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
    let probe = codec::probe(source)?;
    codec::check_source(&probe, source.len() as u64, limits)?;
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
    // The last auto-orient decides; without one, OSS's documented default (1) applies.
    let auto_orient = chain
        .actions
        .iter()
        .rev()
        .find_map(|a| if let Action::AutoOrient(o) = a { Some(o.enabled) } else { None })
        .unwrap_or(true);
    let orientation = if auto_orient { codec::decode::orientation(source) } else { None };
    let swapped = matches!(orientation, Some(5..=8));
    let (ow, oh) = if swapped { (probe.height, probe.width) } else { (probe.width, probe.height) };

    // Shrink-on-load: decode no smaller than twice the first resize's target.
    let shrink = first_resize_target(chain, ow, oh, &out_limits)?.map(|(w, h)| {
        let (w, h) = (w.saturating_mul(2), h.saturating_mul(2));
        if swapped { (h, w) } else { (w, h) }
    });
    let decode_start = Instant::now();
    let (mut frame, info) = decode_frame(source, &probe, shrink)?;
    let settings = output_settings(chain, probe.format, info.jpeg_quality);
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
                op::resize::apply(frame, size, size, r, &cx)?
            }
            Action::Crop(c) => op::crop::apply(frame, c)?,
            Action::IndexCrop(c) => op::indexcrop::apply(frame, c)?,
            Action::Circle(c) => op::circle::apply(frame, c, &cx)?,
            Action::RoundedCorners(c) => op::rounded_corners::apply(frame, c, &cx)?,
            Action::Rotate(r) => op::rotate::apply(frame, r, &cx)?,
            Action::Blur(b) => op::blur::apply(frame, b),
            Action::Bright(b) => op::bright::apply(frame, b),
            Action::Contrast(c) => op::contrast::apply(frame, c),
            Action::Sharpen(s) => op::sharpen::apply(frame, s),
            Action::Watermark(w) => op::watermark::apply(frame, w, assets, limits, &cx)?,
            // Settings, handled above; info/average-hue only stand alone.
            Action::AutoOrient(_)
            | Action::Quality(_)
            | Action::Format(_)
            | Action::Interlace(_)
            | Action::Info
            | Action::AverageHue => frame,
        };
        // Any geometric action ends the "logical source" used for the first resize.
        if !matches!(a, Action::AutoOrient(_) | Action::Quality(_) | Action::Format(_) | Action::Interlace(_))
        {
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

/// A convenience for tests and benchmarks: decode → `Frame` at full size.
pub fn decode_full(source: &[u8]) -> Result<Frame, PipelineError> {
    let probe = codec::probe(source)?;
    Ok(decode_frame(source, &probe, None)?.0)
}
