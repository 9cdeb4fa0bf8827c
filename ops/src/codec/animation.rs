//! Animations, one frame at a time. [`FrameSource`] reads an animated GIF or WebP and
//! [`FrameSink`] writes one, whichever the other side is (delays in milliseconds, loop counts as
//! [`Repeat`]); WebP is `webp_anim.rs`, GIF is here.
//!
//! Animated GIF: [`GifFrames`] decodes and composites the frames (offsets, transparency and the
//! three disposal methods), [`GifWriter`] encodes processed frames back. Neither holds more than
//! the canvas and one frame, so memory does not grow with the frame count.
//!
//! Writing: one global palette for the whole animation (the source's colours when the caller
//! passes them: its global palette, or [`all_colours`] of its tables, so that frames only cut,
//! scaled or turned keep the source's colours; otherwise a NeuQuant palette learnt from the
//! first frame), plus one transparent entry. Each frame after the first is
//! stored as the rectangle that changed since the previous one, unchanged pixels inside it
//! transparent (better compression), unless it has transparent pixels of its own: then the frame
//! before it is disposed to the background and it is stored whole. Delays and the loop count are
//! kept.

use std::io::Cursor;

use crate::codec::webp_anim::{WebpFrames, WebpWriter};
use crate::codec::{CodecError, Probe, SourceFormat};
use crate::frame::Frame;
use crate::spec::Format;

/// How often the animation plays, counted as a GIF's NETSCAPE extension counts: `Finite(n)`
/// plays n times after the first (`Finite(0)`, a GIF without the extension: once).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeat {
    Infinite,
    Finite(u16),
}

/// The frames of an animated GIF or WebP, each the whole canvas, with how long it is shown in
/// milliseconds. (The GIF reader, with the `gif` crate's decoder inside, is boxed: it is many
/// times the size of the WebP one, a handle to libwebp's.)
#[derive(Debug)]
pub enum FrameSource<'a> {
    Gif(Box<GifFrames<'a>>),
    Webp(WebpFrames<'a>),
}

impl<'a> FrameSource<'a> {
    /// The reader for `probe`'s format, returning at most `probe.frames` frames (the count the
    /// limits were checked against).
    pub fn new(bytes: &'a [u8], probe: &Probe) -> Result<FrameSource<'a>, CodecError> {
        let source = match probe.format {
            SourceFormat::Gif => FrameSource::Gif(Box::new(GifFrames::new(bytes, probe.frames)?)),
            SourceFormat::Webp => FrameSource::Webp(WebpFrames::new(bytes, probe.frames)?),
            _ => return Err(CodecError::Unsupported("only GIF and WebP animations are read frame by frame")),
        };
        if source.size() != (probe.width, probe.height) {
            return Err(CodecError::Corrupt("the dimensions changed between probe and decode".into()));
        }
        Ok(source)
    }

    /// The canvas size.
    pub fn size(&self) -> (u32, u32) {
        match self {
            FrameSource::Gif(f) => f.size(),
            FrameSource::Webp(f) => f.size(),
        }
    }

    pub fn repeat(&self) -> Repeat {
        match self {
            FrameSource::Gif(f) => f.repeat(),
            FrameSource::Webp(f) => f.repeat(),
        }
    }

    /// The next frame as the whole canvas (RGBA) and its delay in milliseconds.
    pub fn next_frame(&mut self) -> Result<Option<(Frame, u32)>, CodecError> {
        match self {
            FrameSource::Gif(f) => Ok(f.next_frame()?.map(|(frame, cs)| (frame, u32::from(cs) * 10))),
            FrameSource::Webp(f) => f.next_frame(),
        }
    }
}

/// Where the processed frames of an animation go: an animated GIF or an animated WebP.
#[derive(Debug)]
pub enum FrameSink {
    Gif(GifWriter),
    Webp(WebpWriter),
}

impl FrameSink {
    /// A writer in `format` (GIF or WebP) for `first`'s size. GIF: `palette` as
    /// [`GifWriter::new`] takes it; WebP: lossy at `quality`, as the still encoder.
    pub fn new(
        format: Format,
        quality: u8,
        first: &Frame,
        palette: Option<&[u8]>,
        repeat: Repeat,
    ) -> Result<FrameSink, CodecError> {
        match format {
            Format::Gif => Ok(FrameSink::Gif(GifWriter::new(first, palette, repeat)?)),
            Format::Webp => Ok(FrameSink::Webp(WebpWriter::new(first.width, first.height, quality, repeat)?)),
            other => Err(CodecError::Encode(format!("no animation writer for {other:?}"))),
        }
    }

    /// Add a frame (the same size as the first) shown for `delay_ms` milliseconds; a GIF keeps
    /// hundredths of a second, rounded to the nearest.
    pub fn push(&mut self, frame: &Frame, delay_ms: u32) -> Result<(), CodecError> {
        match self {
            FrameSink::Gif(w) => w.push(frame, gif_delay(delay_ms)),
            FrameSink::Webp(w) => w.push(frame, delay_ms),
        }
    }

    /// Write the last frame and return the file.
    pub fn finish(self) -> Result<Vec<u8>, CodecError> {
        match self {
            FrameSink::Gif(w) => w.finish(),
            FrameSink::Webp(w) => w.finish(),
        }
    }
}

/// Milliseconds as a GIF delay: hundredths of a second, rounded to the nearest.
fn gif_delay(ms: u32) -> u16 {
    u16::try_from(ms.saturating_add(5) / 10).unwrap_or(u16::MAX)
}

/// A GIF frame's delay in WebP output: 10 ms or less becomes 100 ms, as browsers play such
/// GIFs and as libwebp's `gif2webp` converts them.
pub fn gif_delay_in_webp(ms: u32) -> u32 {
    if ms <= 10 { 100 } else { ms }
}

fn corrupt(e: impl std::fmt::Display) -> CodecError {
    CodecError::Corrupt(e.to_string())
}

/// The canvas's pixel count from the logical screen descriptor.
fn header_canvas(bytes: &[u8]) -> Option<u64> {
    let w = u16::from_le_bytes([*bytes.get(6)?, *bytes.get(7)?]);
    let h = u16::from_le_bytes([*bytes.get(8)?, *bytes.get(9)?]);
    Some(u64::from(w) * u64::from(h))
}

/// Does any frame carry its own colour table? (Frames are skipped, not decoded.)
pub fn has_local_palettes(bytes: &[u8]) -> bool {
    let mut opts = gif::DecodeOptions::new();
    opts.skip_frame_decoding(true);
    let Ok(mut d) = opts.read_info(Cursor::new(bytes)) else { return false };
    while let Ok(Some(f)) = d.next_frame_info() {
        if f.palette.is_some() {
            return true;
        }
    }
    false
}

/// The distinct colours (RGB triplets, in order of first appearance) of the global colour table
/// and of every frame's own table, or `None` when there are more than 255 of them (one index
/// is kept for transparency). Frames are skipped, not decoded.
pub fn all_colours(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut opts = gif::DecodeOptions::new();
    opts.skip_frame_decoding(true);
    let mut d = opts.read_info(Cursor::new(bytes)).ok()?;
    let mut seen: std::collections::HashSet<[u8; 3]> = std::collections::HashSet::new();
    let mut colours: Vec<u8> = Vec::new();
    let mut add = |table: &[u8]| {
        for c in table.chunks_exact(3) {
            if seen.insert([c[0], c[1], c[2]]) {
                colours.extend_from_slice(c);
            }
        }
        seen.len() <= 255
    };
    if let Some(table) = d.global_palette()
        && !add(table)
    {
        return None;
    }
    while let Ok(Some(f)) = d.next_frame_info() {
        if let Some(table) = f.palette.as_deref()
            && !add(table)
        {
            return None;
        }
    }
    Some(colours)
}

/// The frames of a GIF, composited on its canvas, in order.
pub struct GifFrames<'a> {
    decoder: gif::Decoder<Cursor<&'a [u8]>>,
    width: u32,
    height: u32,
    canvas: Vec<u8>,
    /// What the last frame's disposal does before the next frame is drawn.
    dispose: Option<(gif::DisposalMethod, [u32; 4], Option<Vec<u8>>)>,
    left: u32,
}

impl std::fmt::Debug for GifFrames<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GifFrames({}x{}, {} left)", self.width, self.height, self.left)
    }
}

impl<'a> GifFrames<'a> {
    /// Start reading; at most `max_frames` frames are returned (the prober counted them, and the
    /// limits were checked against that count).
    pub fn new(bytes: &'a [u8], max_frames: u32) -> Result<GifFrames<'a>, CodecError> {
        let mut opts = gif::DecodeOptions::new();
        opts.set_color_output(gif::ColorOutput::RGBA);
        // A frame's rectangle may claim up to 65535x65535; anything beyond the canvas is never
        // shown, so a frame's buffer may be at most the canvas (plus slack for rounding).
        let canvas = header_canvas(bytes).unwrap_or(0);
        if let Some(limit) = std::num::NonZeroU64::new(canvas * 4 + (1 << 20)) {
            opts.set_memory_limit(gif::MemoryLimit::Bytes(limit));
        }
        let decoder = opts.read_info(Cursor::new(bytes)).map_err(corrupt)?;
        let (width, height) = (u32::from(decoder.width()), u32::from(decoder.height()));
        let canvas = vec![0u8; width as usize * height as usize * 4];
        Ok(GifFrames { decoder, width, height, canvas, dispose: None, left: max_frames })
    }

    pub fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    pub fn repeat(&self) -> Repeat {
        match self.decoder.repeat() {
            gif::Repeat::Infinite => Repeat::Infinite,
            gif::Repeat::Finite(n) => Repeat::Finite(n),
        }
    }

    /// The global colour table (RGB triplets), if the file has one.
    pub fn global_palette(&self) -> Option<Vec<u8>> {
        self.decoder.global_palette().map(<[u8]>::to_vec)
    }

    /// The next frame as the whole canvas (RGBA) and its delay in hundredths of a second.
    pub fn next_frame(&mut self) -> Result<Option<(Frame, u16)>, CodecError> {
        if self.left == 0 {
            return Ok(None);
        }
        let Some(f) = self.decoder.read_next_frame().map_err(corrupt)? else { return Ok(None) };
        self.left -= 1;
        let (w, h) = (self.width, self.height);
        if let Some((method, [x0, y0, x1, y1], saved)) = self.dispose.take() {
            match method {
                gif::DisposalMethod::Background => {
                    for y in y0..y1 {
                        let row = (y * w) as usize * 4;
                        self.canvas[row + x0 as usize * 4..row + x1 as usize * 4].fill(0);
                    }
                }
                gif::DisposalMethod::Previous => {
                    if let Some(saved) = saved {
                        self.canvas = saved;
                    }
                }
                _ => {}
            }
        }
        let (fx, fy, fw, fh) = (u32::from(f.left), u32::from(f.top), u32::from(f.width), u32::from(f.height));
        let (x0, y0) = (fx.min(w), fy.min(h));
        let (x1, y1) = ((fx + fw).min(w), (fy + fh).min(h));
        let saved = (f.dispose == gif::DisposalMethod::Previous).then(|| self.canvas.clone());
        if f.buffer.len() >= fw as usize * fh as usize * 4 {
            for y in y0..y1 {
                let src_row = ((y - fy) * fw) as usize * 4;
                let dst_row = (y * w) as usize * 4;
                for x in x0..x1 {
                    let s = &f.buffer[src_row + (x - fx) as usize * 4..][..4];
                    if s[3] != 0 {
                        self.canvas[dst_row + x as usize * 4..][..4].copy_from_slice(s);
                    }
                }
            }
        }
        self.dispose = Some((f.dispose, [x0, y0, x1, y1], saved));
        let frame = Frame { width: w, height: h, channels: 4, data: self.canvas.clone() };
        Ok(Some((frame, f.delay)))
    }
}

/// Palette entries, RGB, at most 255 (the last index is kept for transparency), and a
/// 15-bit colour lookup: each cell holds the nearest entry (found the first time a colour of
/// the cell is seen), or, when several entries fall in the cell, the list of them to choose
/// from (a pixel in the cell is within 8 levels per channel of each).
struct Palette {
    rgb: Vec<[u8; 3]>,
    cells: Vec<u16>,
    shared: Vec<Vec<u8>>,
}

const UNKNOWN: u16 = u16::MAX;
/// Cells at or above this hold `SHARED + i`: `shared[i]` lists the entries inside the cell.
const SHARED: u16 = 0x8000;

fn cell(r: u8, g: u8, b: u8) -> usize {
    (usize::from(r >> 3) << 10) | (usize::from(g >> 3) << 5) | usize::from(b >> 3)
}

fn distance(c: [u8; 3], r: u8, g: u8, b: u8) -> u32 {
    let d = |a: u8, b: u8| u32::from(a.abs_diff(b));
    d(c[0], r).pow(2) * 2 + d(c[1], g).pow(2) * 4 + d(c[2], b).pow(2) * 3
}

impl Palette {
    fn new(rgb: Vec<[u8; 3]>) -> Palette {
        let mut cells = vec![UNKNOWN; 1 << 15];
        let mut shared: Vec<Vec<u8>> = Vec::new();
        for (i, c) in rgb.iter().enumerate() {
            let at = cell(c[0], c[1], c[2]);
            match cells[at] {
                UNKNOWN => cells[at] = i as u16,
                j if j >= SHARED => shared[usize::from(j - SHARED)].push(i as u8),
                j if rgb[usize::from(j)] == *c => {}
                j => {
                    cells[at] = SHARED + shared.len() as u16;
                    shared.push(vec![j as u8, i as u8]);
                }
            }
        }
        Palette { rgb, cells, shared }
    }

    fn nearest_of(&self, candidates: impl Iterator<Item = usize>, r: u8, g: u8, b: u8) -> u8 {
        let mut best = (u32::MAX, 0usize);
        for i in candidates {
            let dist = distance(self.rgb[i], r, g, b);
            if dist < best.0 {
                best = (dist, i);
                if dist == 0 {
                    break;
                }
            }
        }
        best.1 as u8
    }

    fn index(&mut self, r: u8, g: u8, b: u8) -> u8 {
        let at = cell(r, g, b);
        match self.cells[at] {
            UNKNOWN => {
                let i = self.nearest_of(0..self.rgb.len(), r, g, b);
                self.cells[at] = u16::from(i);
                i
            }
            j if j >= SHARED => {
                let list = &self.shared[usize::from(j - SHARED)];
                self.nearest_of(list.iter().map(|&i| usize::from(i)), r, g, b)
            }
            i => i as u8,
        }
    }
}

struct Pending {
    indices: Vec<u8>,
    delay: u16,
    transparent: bool,
}

/// Writes an animated GIF one processed frame at a time; every frame has the same size.
pub struct GifWriter {
    encoder: gif::Encoder<Vec<u8>>,
    width: u32,
    height: u32,
    palette: Palette,
    clear: u8,
    /// The canvas as the viewer shows it after the last written frame (`None`: cleared).
    base: Option<Vec<u8>>,
    pending: Option<Pending>,
}

impl std::fmt::Debug for GifWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GifWriter({}x{})", self.width, self.height)
    }
}

fn encode_error(e: impl std::fmt::Display) -> CodecError {
    CodecError::Encode(e.to_string())
}

impl GifWriter {
    /// A writer for `first`'s size. `global` is the source's colour table (RGB triplets), used
    /// as the palette when given; otherwise one is learnt from `first`.
    pub fn new(first: &Frame, global: Option<&[u8]>, repeat: Repeat) -> Result<GifWriter, CodecError> {
        let (width, height) = (first.width, first.height);
        if width == 0 || height == 0 || width > 65_535 || height > 65_535 {
            return Err(CodecError::Encode(format!("a {width}x{height} GIF cannot be written")));
        }
        let mut rgb: Vec<[u8; 3]> = match global {
            Some(p) if p.len() >= 3 => p.chunks_exact(3).take(255).map(|c| [c[0], c[1], c[2]]).collect(),
            _ => learn_palette(first),
        };
        if rgb.is_empty() {
            rgb.push([0, 0, 0]);
        }
        let clear = rgb.len() as u8;
        let mut table: Vec<u8> = rgb.iter().flatten().copied().collect();
        table.extend_from_slice(&[0, 0, 0]);
        let mut encoder =
            gif::Encoder::new(Vec::new(), width as u16, height as u16, &table).map_err(encode_error)?;
        encoder
            .set_repeat(match repeat {
                Repeat::Infinite => gif::Repeat::Infinite,
                Repeat::Finite(n) => gif::Repeat::Finite(n),
            })
            .map_err(encode_error)?;
        Ok(GifWriter { encoder, width, height, palette: Palette::new(rgb), clear, base: None, pending: None })
    }

    /// Add a frame (the same size as the first) shown for `delay` hundredths of a second.
    pub fn push(&mut self, frame: &Frame, delay: u16) -> Result<(), CodecError> {
        if (frame.width, frame.height) != (self.width, self.height) {
            return Err(CodecError::Encode("animation frames differ in size".into()));
        }
        let c = usize::from(frame.channels);
        let mut transparent = false;
        let mut indices = Vec::with_capacity(self.width as usize * self.height as usize);
        for px in frame.data.chunks_exact(c) {
            if c == 4 && px[3] < 128 {
                transparent = true;
                indices.push(self.clear);
            } else {
                indices.push(self.palette.index(px[0], px[1], px[2]));
            }
        }
        let next = Pending { indices, delay, transparent };
        if let Some(prev) = self.pending.replace(next) {
            let clear_after = self.pending.as_ref().is_some_and(|p| p.transparent);
            self.write(prev, clear_after)?;
        }
        Ok(())
    }

    /// Write the last frame and return the file.
    pub fn finish(mut self) -> Result<Vec<u8>, CodecError> {
        if let Some(last) = self.pending.take() {
            self.write(last, false)?;
        }
        self.encoder.into_inner().map_err(encode_error)
    }

    fn write(&mut self, f: Pending, clear_after: bool) -> Result<(), CodecError> {
        let w = self.width as usize;
        let dispose = if clear_after { gif::DisposalMethod::Background } else { gif::DisposalMethod::Keep };
        let mut out = gif::Frame {
            delay: f.delay,
            dispose,
            transparent: Some(self.clear),
            width: self.width as u16,
            height: self.height as u16,
            ..gif::Frame::default()
        };
        match (&self.base, f.transparent) {
            // A frame cleared after it is shown must cover the whole canvas: the background
            // disposal clears only the frame's own rectangle.
            (Some(base), false) if !clear_after => {
                // only the rectangle that changed; unchanged pixels in it transparent
                let (mut x0, mut y0, mut x1, mut y1) = (w, self.height as usize, 0, 0);
                for (i, (a, b)) in f.indices.iter().zip(base).enumerate() {
                    if a != b {
                        let (x, y) = (i % w, i / w);
                        x0 = x0.min(x);
                        x1 = x1.max(x + 1);
                        y0 = y0.min(y);
                        y1 = y1.max(y + 1);
                    }
                }
                if x0 >= x1 {
                    (x0, y0, x1, y1) = (0, 0, 1, 1);
                }
                let mut buf = Vec::with_capacity((x1 - x0) * (y1 - y0));
                // unchanged pixels are transparent: they show the previous frame
                for y in y0..y1 {
                    for x in x0..x1 {
                        let i = y * w + x;
                        buf.push(if f.indices[i] == base[i] { self.clear } else { f.indices[i] });
                    }
                }
                out.left = x0 as u16;
                out.top = y0 as u16;
                out.width = (x1 - x0) as u16;
                out.height = (y1 - y0) as u16;
                out.buffer = buf.into();
            }
            (Some(base), false) => {
                // whole canvas, unchanged pixels transparent
                let buf: Vec<u8> =
                    f.indices.iter().zip(base).map(|(&i, &b)| if i == b { self.clear } else { i }).collect();
                out.buffer = buf.into();
            }
            _ => out.buffer = f.indices.as_slice().into(),
        }
        self.encoder.write_frame(&out).map_err(encode_error)?;
        // What the viewer shows now: this frame's pixels (its holes only where it has them,
        // over a cleared canvas), unless it is cleared again.
        self.base = if clear_after { None } else { Some(f.indices) };
        Ok(())
    }
}

/// A palette of at most 255 colours learnt from a frame's opaque pixels.
fn learn_palette(f: &Frame) -> Vec<[u8; 3]> {
    let c = usize::from(f.channels);
    let mut rgba = Vec::with_capacity(f.data.len() / c * 4);
    for px in f.data.chunks_exact(c) {
        if c == 3 || px[3] >= 128 {
            rgba.extend_from_slice(&[px[0], px[1], px[2], 255]);
        }
    }
    if rgba.is_empty() {
        return vec![[0, 0, 0]];
    }
    let nq = color_quant::NeuQuant::new(10, 255, &rgba);
    nq.color_map_rgb().chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect()
}

#[cfg(test)]
/// An animated GIF: `n` full frames of `w`x`h`, one colour with a 4x4 block moving along the
/// top, delays 10·(i+1), looping `repeat`.
pub(crate) fn animated(w: u16, h: u16, n: u16, repeat: gif::Repeat) -> Vec<u8> {
    let palette: Vec<u8> = (0..128u8).flat_map(|i| [i * 2, 255 - i * 2, i]).collect();
    let mut out = Vec::new();
    {
        let mut e = gif::Encoder::new(&mut out, w, h, &palette).unwrap();
        e.set_repeat(repeat).unwrap();
        for i in 0..n {
            let mut buf = vec![40u8; usize::from(w) * usize::from(h)];
            let bx = (usize::from(i) * 4) % usize::from(w.saturating_sub(4).max(1));
            for y in 0..4.min(usize::from(h)) {
                for x in bx..(bx + 4).min(usize::from(w)) {
                    buf[y * usize::from(w) + x] = 127;
                }
            }
            let f = gif::Frame {
                width: w,
                height: h,
                delay: 10 * (i + 1),
                buffer: buf.into(),
                ..Default::default()
            };
            e.write_frame(&f).unwrap();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(bytes: &[u8]) -> (Vec<(Frame, u16)>, Repeat) {
        let mut r = GifFrames::new(bytes, u32::MAX).unwrap();
        let repeat = r.repeat();
        let mut v = Vec::new();
        while let Some(f) = r.next_frame().unwrap() {
            v.push(f);
        }
        (v, repeat)
    }

    #[test]
    fn round_trip_keeps_frames_delays_loop_and_pixels() {
        let src = animated(40, 20, 6, gif::Repeat::Finite(3));
        let (frames, repeat) = read_all(&src);
        assert_eq!(frames.len(), 6);
        assert_eq!(repeat, Repeat::Finite(3));
        let global = GifFrames::new(&src, 100).unwrap().global_palette();
        let mut w = GifWriter::new(&frames[0].0, global.as_deref(), repeat).unwrap();
        for (f, d) in &frames {
            w.push(f, *d).unwrap();
        }
        let out = w.finish().unwrap();
        let (again, repeat) = read_all(&out);
        assert_eq!(repeat, Repeat::Finite(3));
        assert_eq!(again.len(), 6);
        for (i, ((a, da), (b, db))) in frames.iter().zip(&again).enumerate() {
            assert_eq!(da, db, "delay {i}");
            assert!(a.data == b.data, "pixels of frame {i}: the palette is the source's");
        }
        // after the first frame, only the rectangle the block moved in is stored
        let mut opts = gif::DecodeOptions::new();
        opts.set_color_output(gif::ColorOutput::Indexed);
        let mut d = opts.read_info(Cursor::new(&out[..])).unwrap();
        let mut rects = Vec::new();
        while let Some(f) = d.read_next_frame().unwrap() {
            rects.push((f.width, f.height));
        }
        assert_eq!(rects[0], (40, 20));
        assert!(rects[1..].iter().all(|&(w, h)| w <= 8 && h <= 4), "{rects:?}");
    }

    #[test]
    fn disposal_to_background_and_previous() {
        // a 10x10 red frame, then a 5x5 green frame at (5,5) disposing to background, then an
        // empty-ish frame: the canvas is clear where green was
        let palette = [255, 0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0];
        let mut out = Vec::new();
        {
            let mut e = gif::Encoder::new(&mut out, 10, 10, &palette).unwrap();
            let f = |l, t, w, h, c: u8, dispose| gif::Frame {
                left: l,
                top: t,
                width: w,
                height: h,
                dispose,
                transparent: Some(3),
                buffer: vec![c; usize::from(w * h)].into(),
                ..Default::default()
            };
            e.write_frame(&f(0, 0, 10, 10, 0, gif::DisposalMethod::Keep)).unwrap();
            e.write_frame(&f(5, 5, 5, 5, 1, gif::DisposalMethod::Background)).unwrap();
            e.write_frame(&f(0, 0, 2, 2, 2, gif::DisposalMethod::Previous)).unwrap();
            e.write_frame(&f(0, 0, 1, 1, 3, gif::DisposalMethod::Keep)).unwrap();
        }
        let (frames, _) = read_all(&out);
        assert_eq!(frames.len(), 4);
        assert_eq!(frames[1].0.pixel(7, 7), &[0, 255, 0, 255]);
        assert_eq!(frames[2].0.pixel(7, 7), &[0, 0, 0, 0], "background disposal clears");
        assert_eq!(frames[2].0.pixel(0, 0), &[0, 0, 255, 255]);
        assert_eq!(frames[3].0.pixel(0, 0), &[255, 0, 0, 255], "previous disposal restores");
        // transparency survives a round trip through the writer
        let mut w = GifWriter::new(&frames[0].0, Some(&palette[..9]), Repeat::Infinite).unwrap();
        for (f, d) in &frames {
            w.push(f, *d).unwrap();
        }
        let (again, _) = read_all(&w.finish().unwrap());
        for (i, (a, b)) in frames.iter().zip(&again).enumerate() {
            assert!(a.0.data == b.0.data, "frame {i}");
        }
    }

    #[test]
    fn a_frame_before_a_transparent_one_is_cleared_whole() {
        // red; red with one blue pixel; red with one hole: the hole must not show blue or red
        let red = Frame::filled(10, 10, &[255, 0, 0, 255]);
        let mut dot = red.clone();
        dot.data[..4].copy_from_slice(&[0, 0, 255, 255]);
        let mut hole = red.clone();
        let at = (9 * 10 + 9) * 4;
        hole.data[at..at + 4].copy_from_slice(&[0, 0, 0, 0]);
        let palette = [255, 0, 0, 0, 0, 255];
        let mut w = GifWriter::new(&red, Some(&palette), Repeat::Infinite).unwrap();
        for f in [&red, &dot, &hole] {
            w.push(f, 10).unwrap();
        }
        let (again, _) = read_all(&w.finish().unwrap());
        assert_eq!(again[1].0.pixel(0, 0), &[0, 0, 255, 255]);
        assert_eq!(again[2].0.pixel(9, 9)[3], 0, "the hole is transparent");
        assert_eq!(again[2].0.pixel(0, 0), &[255, 0, 0, 255]);
    }

    #[test]
    fn frames_larger_than_the_canvas_are_refused() {
        let mut out = Vec::new();
        {
            let mut e = gif::Encoder::new(&mut out, 4, 4, &[0, 0, 0, 255, 255, 255]).unwrap();
            let f = gif::Frame {
                width: 4000,
                height: 4000,
                buffer: vec![1u8; 16_000_000].into(),
                ..Default::default()
            };
            e.write_frame(&f).unwrap();
        }
        let mut r = GifFrames::new(&out, 10).unwrap();
        assert!(r.next_frame().is_err());
    }

    #[test]
    fn all_colours_gathers_every_colour_table() {
        // a global table of red and blue; a second frame with its own table of green and red
        let mut out = Vec::new();
        {
            let mut e = gif::Encoder::new(&mut out, 4, 4, &[255, 0, 0, 0, 0, 255]).unwrap();
            let whole =
                gif::Frame { width: 4, height: 4, buffer: vec![1u8; 16].into(), ..Default::default() };
            e.write_frame(&whole).unwrap();
            let own = gif::Frame {
                left: 1,
                top: 1,
                width: 2,
                height: 2,
                palette: Some(vec![0, 255, 0, 255, 0, 0]),
                buffer: vec![0u8; 4].into(),
                ..Default::default()
            };
            e.write_frame(&own).unwrap();
        }
        assert!(has_local_palettes(&out));
        assert_eq!(all_colours(&out), Some(vec![255, 0, 0, 0, 0, 255, 0, 255, 0]));
        // more than 255 distinct colours: none
        let many: Vec<u8> = (0..=255u8).flat_map(|i| [i, 255 - i, 7]).collect();
        let mut out = Vec::new();
        {
            let mut e = gif::Encoder::new(&mut out, 2, 2, &many).unwrap();
            let f = gif::Frame { width: 2, height: 2, buffer: vec![0u8; 4].into(), ..Default::default() };
            e.write_frame(&f).unwrap();
        }
        assert_eq!(all_colours(&out), None);
        // the test animation's 128 colours
        assert_eq!(all_colours(&animated(8, 8, 2, gif::Repeat::Infinite)).map(|c| c.len()), Some(128 * 3));
    }

    #[test]
    fn no_global_palette_learns_one() {
        let mut f = Frame::filled(16, 16, &[10, 200, 30, 255]);
        f.data[..4].copy_from_slice(&[250, 250, 250, 255]);
        let mut w = GifWriter::new(&f, None, Repeat::Infinite).unwrap();
        w.push(&f, 5).unwrap();
        let (again, _) = read_all(&w.finish().unwrap());
        let p = again[0].0.pixel(5, 5);
        assert!(p[0].abs_diff(10) < 8 && p[1].abs_diff(200) < 8 && p[2].abs_diff(30) < 8, "{p:?}");
        assert!(again[0].0.pixel(0, 0)[0] > 240);
    }

    #[test]
    fn truncated_streams_stop_with_an_error_or_fewer_frames() {
        let src = animated(40, 20, 6, gif::Repeat::Infinite);
        for cut in [20, src.len() / 2] {
            let Ok(mut r) = GifFrames::new(&src[..cut], 100) else { continue };
            let mut n = 0;
            while let Ok(Some(_)) = r.next_frame() {
                n += 1;
            }
            assert!(n < 6, "{cut}: {n}");
        }
        // the frame cap
        let mut r = GifFrames::new(&src, 2).unwrap();
        assert!(r.next_frame().unwrap().is_some() && r.next_frame().unwrap().is_some());
        assert!(r.next_frame().unwrap().is_none());
    }

    /// Three 20x10 frames: red, green, blue, each with its own transparent 2x2 corner at the
    /// top left, shown 5, 8 and 20 hundredths of a second, NETSCAPE loop count 2.
    fn transparent_gif() -> Vec<u8> {
        let palette = [255, 0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0];
        let mut out = Vec::new();
        {
            let mut e = gif::Encoder::new(&mut out, 20, 10, &palette).unwrap();
            e.set_repeat(gif::Repeat::Finite(2)).unwrap();
            for (i, delay) in [5u16, 8, 20].into_iter().enumerate() {
                let mut buf = vec![i as u8; 200];
                for at in [0, 1, 20, 21] {
                    buf[at] = 3;
                }
                let f = gif::Frame {
                    width: 20,
                    height: 10,
                    delay,
                    transparent: Some(3),
                    dispose: gif::DisposalMethod::Background,
                    buffer: buf.into(),
                    ..Default::default()
                };
                e.write_frame(&f).unwrap();
            }
        }
        out
    }

    #[test]
    fn a_gif_through_a_webp_sink() {
        let gif = transparent_gif();
        let probe = crate::codec::probe(&gif).unwrap();
        let mut source = FrameSource::new(&gif, &probe).unwrap();
        assert_eq!(source.repeat(), Repeat::Finite(2));
        let mut sink: Option<FrameSink> = None;
        while let Some((frame, delay)) = source.next_frame().unwrap() {
            let s = match &mut sink {
                Some(s) => s,
                None => sink.insert(FrameSink::new(Format::Webp, 90, &frame, None, source.repeat()).unwrap()),
            };
            s.push(&frame, delay).unwrap();
        }
        let webp = sink.unwrap().finish().unwrap();
        // read back by the image crate's own WebP decoder (image-webp, not libwebp)
        use image::AnimationDecoder;
        let mut d = image::codecs::webp::WebPDecoder::new(Cursor::new(&webp[..])).unwrap();
        d.set_background_color(image::Rgba([0, 0, 0, 0])).unwrap();
        let plays = match d.loop_count() {
            image::metadata::LoopCount::Infinite => 0,
            image::metadata::LoopCount::Finite(n) => n.get(),
        };
        assert_eq!(plays, 3, "NETSCAPE 2: played three times");
        let frames = d.into_frames().collect_frames().unwrap();
        assert_eq!(frames.len(), 3);
        let delays: Vec<u32> = frames
            .iter()
            .map(|f| {
                let (n, d) = f.delay().numer_denom_ms();
                n / d
            })
            .collect();
        assert_eq!(delays, [50, 80, 200]);
        for (i, f) in frames.iter().enumerate() {
            let buf = f.buffer();
            assert_eq!((buf.width(), buf.height()), (20, 10));
            assert_eq!(buf.get_pixel(0, 0).0[3], 0, "frame {i}: the corner is transparent");
            assert_eq!(buf.get_pixel(1, 1).0[3], 0, "frame {i}");
            let p = buf.get_pixel(10, 5).0;
            assert!(p[3] == 255 && p[i] > 200 && p[(i + 1) % 3] < 60, "frame {i}: {p:?}");
        }
    }

    #[test]
    fn a_webp_through_a_gif_sink_and_delays_in_hundredths() {
        assert_eq!(
            (gif_delay(0), gif_delay(4), gif_delay(5), gif_delay(80), gif_delay(123)),
            (0, 0, 1, 8, 12)
        );
        assert_eq!(gif_delay(u32::MAX), u16::MAX);
        let webp = {
            let gif = transparent_gif();
            let probe = crate::codec::probe(&gif).unwrap();
            let mut source = FrameSource::new(&gif, &probe).unwrap();
            let (first, d) = source.next_frame().unwrap().unwrap();
            let mut sink = FrameSink::new(Format::Webp, 90, &first, None, Repeat::Finite(2)).unwrap();
            sink.push(&first, d).unwrap();
            while let Some((f, d)) = source.next_frame().unwrap() {
                sink.push(&f, d).unwrap();
            }
            sink.finish().unwrap()
        };
        let probe = crate::codec::probe(&webp).unwrap();
        assert_eq!((probe.format, probe.frames), (SourceFormat::Webp, 3));
        let mut source = FrameSource::new(&webp, &probe).unwrap();
        let (first, d) = source.next_frame().unwrap().unwrap();
        assert_eq!(d, 50);
        let mut sink = FrameSink::new(Format::Gif, 90, &first, None, source.repeat()).unwrap();
        sink.push(&first, d).unwrap();
        while let Some((f, d)) = source.next_frame().unwrap() {
            sink.push(&f, d).unwrap();
        }
        let (again, repeat) = read_all(&sink.finish().unwrap());
        assert_eq!(repeat, Repeat::Finite(2));
        assert_eq!(again.iter().map(|(_, d)| *d).collect::<Vec<_>>(), [5, 8, 20]);
        assert!(again.iter().all(|(f, _)| f.pixel(0, 0)[3] == 0 && f.pixel(10, 5)[3] == 255));
        // no writer for other formats, no reader for other sources
        assert!(FrameSink::new(Format::Png, 90, &first, None, Repeat::Infinite).is_err());
        let png = crate::codec::encode::encode(
            &first,
            &crate::codec::encode::EncodeOptions { format: Format::Png, quality: 90, progressive: false },
        )
        .unwrap();
        let probe = crate::codec::probe(&png).unwrap();
        assert!(FrameSource::new(&png, &probe).is_err());
    }
}
