//! Animated WebP, one frame at a time, through libwebp's animation API (libwebp-sys, the C
//! library vendored and built by that crate): [`WebpFrames`] decodes and composites the frames
//! (`WebPAnimDecoder`: frame offsets, alpha blending, disposal to the background),
//! [`WebpWriter`] encodes processed frames (`WebPAnimEncoder`: each frame is encoded when it is
//! added, and the encoder picks the sub-rectangle, blending and disposal that make it smallest).
//! Neither holds more than a few canvases, so memory does not grow with the frame count:
//! the decoder keeps the current canvas and the previous one disposed (2 × 4 bytes per pixel)
//! and returns a copy of the canvas per frame; the encoder keeps its copy of the canvas, the
//! previous canvas and the previous one disposed (3 × 4 bytes per pixel), the picture being
//! added (4 bytes per pixel), the candidates it encodes for one frame and the compressed frames
//! of the last two.
//!
//! The `webp` crate's `AnimEncoder` and `AnimDecoder` are not used: the encoder holds every frame
//! until the end and cannot give the last frame its own duration, the decoder decodes every
//! frame before returning the first. This module is the only place of the crate with `unsafe`
//! code: each call into libwebp says why it is sound, and every pointer libwebp hands out is
//! owned by a value here that releases it on drop.
//!
//! Loop counts: WebP's is the number of times the animation plays (0 = forever); [`Repeat`]
//! counts like a GIF's NETSCAPE extension, the plays after the first (`Finite(0)`: once). Delays
//! are milliseconds.

#![allow(unsafe_code)]

use std::ffi::{CStr, c_int};
use std::marker::PhantomData;
use std::ptr::NonNull;

use libwebp_sys::{
    WEBP_CSP_MODE, WebPAnimDecoder, WebPAnimDecoderDelete, WebPAnimDecoderGetInfo, WebPAnimDecoderGetNext,
    WebPAnimDecoderHasMoreFrames, WebPAnimDecoderNew, WebPAnimDecoderOptions, WebPAnimDecoderOptionsInit,
    WebPAnimEncoder, WebPAnimEncoderAdd, WebPAnimEncoderAssemble, WebPAnimEncoderDelete,
    WebPAnimEncoderGetError, WebPAnimEncoderNewInternal, WebPAnimEncoderOptions,
    WebPAnimEncoderOptionsInitInternal, WebPAnimInfo, WebPConfig, WebPData, WebPDataClear,
    WebPGetMuxABIVersion, WebPMuxAnimParams, WebPPicture, WebPPictureFree, WebPPictureImportRGB,
    WebPPictureImportRGBA, WebPPreset,
};

use super::CodecError;
use super::animation::Repeat;
use crate::frame::Frame;

/// WebP's largest side.
pub const MAX_SIDE: u32 = 16_383;

/// The longest a WebP frame can be shown, in milliseconds (its duration field has 24 bits).
pub const MAX_FRAME_MS: u32 = (1 << 24) - 1;

fn corrupt(m: &str) -> CodecError {
    CodecError::Corrupt(m.to_owned())
}

fn encode_error(m: &str) -> CodecError {
    CodecError::Encode(m.to_owned())
}

/// WebP's loop count for a [`Repeat`]: `Finite(n)` plays n + 1 times (as browsers play a GIF).
pub fn webp_loop_count(repeat: Repeat) -> u16 {
    match repeat {
        Repeat::Infinite => 0,
        Repeat::Finite(n) => n.saturating_add(1),
    }
}

/// The [`Repeat`] of a WebP loop count.
pub fn repeat_of_loop_count(loop_count: u32) -> Repeat {
    match loop_count {
        0 => Repeat::Infinite,
        n => Repeat::Finite(u16::try_from(n - 1).unwrap_or(u16::MAX)),
    }
}

/// The frames of an animated WebP, each the whole canvas (RGBA), in order.
pub struct WebpFrames<'a> {
    decoder: NonNull<WebPAnimDecoder>,
    /// libwebp reads the file in place until the decoder is deleted.
    _source: PhantomData<&'a [u8]>,
    width: u32,
    height: u32,
    loop_count: u32,
    /// Where the last frame ended, in milliseconds from the start.
    time: c_int,
    left: u32,
}

impl std::fmt::Debug for WebpFrames<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WebpFrames({}x{}, {} left)", self.width, self.height, self.left)
    }
}

impl Drop for WebpFrames<'_> {
    fn drop(&mut self) {
        // SAFETY: the decoder came from WebPAnimDecoderNew and is deleted only here.
        unsafe { WebPAnimDecoderDelete(self.decoder.as_ptr()) }
    }
}

impl<'a> WebpFrames<'a> {
    /// Start reading; at most `max_frames` frames are returned (the prober counted the `ANMF`
    /// chunks, and the limits were checked against that count). libwebp allocates its two
    /// canvases here, from the `VP8X` canvas size the prober read.
    pub fn new(bytes: &'a [u8], max_frames: u32) -> Result<WebpFrames<'a>, CodecError> {
        let mut options =
            WebPAnimDecoderOptions { color_mode: WEBP_CSP_MODE::MODE_RGBA, use_threads: 0, padding: [0; 7] };
        // SAFETY: `options` is an initialised value the function overwrites with the defaults.
        if unsafe { WebPAnimDecoderOptionsInit(&mut options) } == 0 {
            return Err(corrupt("libwebp's animation decoder is not available"));
        }
        // RGBA, not premultiplied, on this thread.
        options.color_mode = WEBP_CSP_MODE::MODE_RGBA;
        options.use_threads = 0;
        let data = WebPData { bytes: bytes.as_ptr(), size: bytes.len() };
        // SAFETY: `data` describes `bytes`, which outlive the decoder (`'a`, held by `_source`);
        // libwebp copies `data` and `options` and reads the bytes in place.
        let raw = unsafe { WebPAnimDecoderNew(&data, &options) };
        let decoder = NonNull::new(raw).ok_or_else(|| corrupt("the animated WebP cannot be read"))?;
        let mut frames = WebpFrames {
            decoder,
            _source: PhantomData,
            width: 0,
            height: 0,
            loop_count: 0,
            time: 0,
            left: 0,
        };
        let mut info = WebPAnimInfo::default();
        // SAFETY: the decoder is live; `info` is a valid value to write into.
        if unsafe { WebPAnimDecoderGetInfo(frames.decoder.as_ptr(), &mut info) } == 0 {
            return Err(corrupt("the animated WebP has no canvas"));
        }
        frames.width = info.canvas_width;
        frames.height = info.canvas_height;
        frames.loop_count = info.loop_count;
        frames.left = max_frames;
        Ok(frames)
    }

    /// The canvas size.
    pub fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    pub fn repeat(&self) -> Repeat {
        repeat_of_loop_count(self.loop_count)
    }

    /// The next frame as the whole canvas (RGBA) and how long it is shown, in milliseconds.
    pub fn next_frame(&mut self) -> Result<Option<(Frame, u32)>, CodecError> {
        // SAFETY: the decoder is live.
        if self.left == 0 || unsafe { WebPAnimDecoderHasMoreFrames(self.decoder.as_ptr()) } == 0 {
            return Ok(None);
        }
        let mut canvas: *mut u8 = std::ptr::null_mut();
        let mut end: c_int = 0;
        // SAFETY: the decoder is live; both out-pointers point to valid locals.
        let ok = unsafe { WebPAnimDecoderGetNext(self.decoder.as_ptr(), &mut canvas, &mut end) };
        if ok == 0 || canvas.is_null() {
            return Err(corrupt("a frame of the animated WebP does not decode"));
        }
        self.left -= 1;
        let len = self.width as usize * self.height as usize * 4;
        // SAFETY: on success `canvas` is the decoder's RGBA canvas, width × height × 4 bytes, valid
        // until the next call on the decoder; it is copied before that.
        let data = unsafe { std::slice::from_raw_parts(canvas, len) }.to_vec();
        // The timestamp is where this frame ends.
        let delay = u32::try_from(end.wrapping_sub(self.time)).unwrap_or(0);
        self.time = end;
        let frame = Frame::from_raw(self.width, self.height, 4, data)
            .ok_or_else(|| corrupt("the animated WebP's canvas has no pixels"))?;
        Ok(Some((frame, delay)))
    }
}

/// A picture libwebp owns the pixels of (imported from a [`Frame`]), freed on drop.
struct Picture(WebPPicture);

impl Drop for Picture {
    fn drop(&mut self) {
        // SAFETY: the picture was initialised by WebPPictureInit; freeing releases what the
        // import allocated (nothing when the import failed).
        unsafe { WebPPictureFree(&mut self.0) }
    }
}

impl Picture {
    /// libwebp's ARGB copy of `frame`, which must hold width × height × channels bytes.
    fn of(frame: &Frame) -> Result<Picture, CodecError> {
        let channels = usize::from(frame.channels);
        let len = frame.width as usize * frame.height as usize * channels;
        if !(channels == 3 || channels == 4) || frame.data.len() != len {
            return Err(encode_error("a frame's pixels do not match its size"));
        }
        let (Ok(width), Ok(height), Ok(stride)) = (
            c_int::try_from(frame.width),
            c_int::try_from(frame.height),
            c_int::try_from(frame.width as usize * channels),
        ) else {
            return Err(encode_error("a frame is too large for WebP"));
        };
        let mut inner =
            WebPPicture::new().map_err(|()| encode_error("libwebp's picture is not available"))?;
        inner.use_argb = 1;
        inner.width = width;
        inner.height = height;
        let mut picture = Picture(inner);
        // SAFETY: `frame.data` holds `height` rows of `stride` bytes (checked above); the import
        // allocates the picture's own ARGB buffer and copies the pixels into it.
        let ok = unsafe {
            if channels == 4 {
                WebPPictureImportRGBA(&mut picture.0, frame.data.as_ptr(), stride)
            } else {
                WebPPictureImportRGB(&mut picture.0, frame.data.as_ptr(), stride)
            }
        };
        if ok == 0 {
            return Err(encode_error("libwebp could not take a frame (out of memory)"));
        }
        Ok(picture)
    }
}

/// Writes an animated WebP (lossy, like the still encoder) one processed frame at a time; every
/// frame has the same size.
pub struct WebpWriter {
    encoder: NonNull<WebPAnimEncoder>,
    config: WebPConfig,
    width: u32,
    height: u32,
    /// Where the frames added so far end, in milliseconds from the start. libwebp takes the
    /// differences of these timestamps, so wrapping around is harmless.
    time: c_int,
}

impl std::fmt::Debug for WebpWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WebpWriter({}x{})", self.width, self.height)
    }
}

impl Drop for WebpWriter {
    fn drop(&mut self) {
        // SAFETY: the encoder came from WebPAnimEncoderNew and is deleted only here.
        unsafe { WebPAnimEncoderDelete(self.encoder.as_ptr()) }
    }
}

impl WebpWriter {
    /// A writer for `width` x `height` frames at `quality` (1..=100), played as `repeat` says.
    pub fn new(width: u32, height: u32, quality: u8, repeat: Repeat) -> Result<WebpWriter, CodecError> {
        if width > MAX_SIDE || height > MAX_SIDE {
            return Err(CodecError::TooLarge {
                message: format!("WebP output is at most 16383x16383; the image is {width}x{height}."),
                ec: "0040-00000007",
            });
        }
        if width == 0 || height == 0 {
            return Err(CodecError::Encode(format!("a {width}x{height} WebP cannot be written")));
        }
        // As the still encoder: lossy, alpha compressed, the default preset at the quality.
        let mut config =
            WebPConfig::new_with_preset(WebPPreset::WEBP_PRESET_DEFAULT, f32::from(quality.clamp(1, 100)))
                .map_err(|()| encode_error("libwebp refused the encoder configuration"))?;
        config.lossless = 0;
        config.alpha_compression = 1;
        let mut options = WebPAnimEncoderOptions {
            anim_params: WebPMuxAnimParams { bgcolor: 0, loop_count: 0 },
            minimize_size: 0,
            kmin: 0,
            kmax: 0,
            allow_mixed: 0,
            verbose: 0,
            padding: [0; 4],
        };
        // SAFETY: `options` is an initialised value the function overwrites with the defaults.
        if unsafe { WebPAnimEncoderOptionsInitInternal(&mut options, WebPGetMuxABIVersion()) } == 0 {
            return Err(encode_error("libwebp's animation encoder is not available"));
        }
        options.anim_params.loop_count = c_int::from(webp_loop_count(repeat));
        // A transparent background: viewers show the canvas through transparent pixels.
        options.anim_params.bgcolor = 0;
        // Sides in 1..=16383, so the casts are exact.
        let (w, h) = (width as c_int, height as c_int);
        // SAFETY: `options` is initialised; the encoder is deleted by Drop.
        let raw = unsafe { WebPAnimEncoderNewInternal(w, h, &options, WebPGetMuxABIVersion()) };
        let encoder =
            NonNull::new(raw).ok_or_else(|| encode_error("libwebp could not start an animation"))?;
        Ok(WebpWriter { encoder, config, width, height, time: 0 })
    }

    /// Add a frame (the same size as the first) shown for `delay_ms` milliseconds (at most
    /// [`MAX_FRAME_MS`]). libwebp merges a frame identical to the one before into it.
    pub fn push(&mut self, frame: &Frame, delay_ms: u32) -> Result<(), CodecError> {
        if (frame.width, frame.height) != (self.width, self.height) {
            return Err(encode_error("animation frames differ in size"));
        }
        let mut picture = Picture::of(frame)?;
        // SAFETY: the encoder is live; the picture is an ARGB picture of the canvas size and the
        // configuration a valid one; libwebp copies the pixels before it returns.
        let ok =
            unsafe { WebPAnimEncoderAdd(self.encoder.as_ptr(), &mut picture.0, self.time, &self.config) };
        if ok == 0 {
            return Err(self.error());
        }
        // MAX_FRAME_MS < 2^24, so the cast is exact.
        self.time = self.time.wrapping_add(delay_ms.min(MAX_FRAME_MS) as c_int);
        Ok(())
    }

    /// Close the last frame and return the file.
    pub fn finish(self) -> Result<Vec<u8>, CodecError> {
        // SAFETY: the encoder is live; a null picture marks where the last frame ends.
        let ok = unsafe {
            WebPAnimEncoderAdd(self.encoder.as_ptr(), std::ptr::null_mut(), self.time, std::ptr::null())
        };
        if ok == 0 {
            return Err(self.error());
        }
        let mut data = WebPData::default();
        // SAFETY: the encoder is live; on success `data` holds a buffer libwebp allocated.
        if unsafe { WebPAnimEncoderAssemble(self.encoder.as_ptr(), &mut data) } == 0 {
            return Err(self.error());
        }
        if data.bytes.is_null() {
            return Err(encode_error("libwebp assembled nothing"));
        }
        // SAFETY: libwebp wrote `size` bytes at `bytes`.
        let bytes = unsafe { std::slice::from_raw_parts(data.bytes, data.size) }.to_vec();
        // SAFETY: the buffer came from libwebp's allocator and is not used again.
        unsafe { WebPDataClear(&mut data) };
        Ok(bytes)
    }

    /// The encoder's last error message.
    fn error(&self) -> CodecError {
        // SAFETY: the encoder is live; the message is a NUL-terminated string it owns, copied
        // before the encoder changes.
        let message = unsafe {
            let p = WebPAnimEncoderGetError(self.encoder.as_ptr());
            if p.is_null() { None } else { Some(CStr::from_ptr(p).to_string_lossy().into_owned()) }
        };
        match message {
            Some(m) if !m.is_empty() => CodecError::Encode(m),
            _ => encode_error("libwebp could not encode the animation"),
        }
    }
}

/// Every frame (with its delay in ms) and the loop count of an animated WebP, for tests.
#[cfg(test)]
pub(crate) fn read_all(bytes: &[u8]) -> (Vec<(Frame, u32)>, Repeat) {
    let mut r = WebpFrames::new(bytes, u32::MAX).expect("an animated WebP");
    let repeat = r.repeat();
    let mut v = Vec::new();
    while let Some(f) = r.next_frame().expect("a frame") {
        v.push(f);
    }
    (v, repeat)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` frames of `w`x`h`: grey, a 4x4 red block moving along the top, the bottom-right
    /// 4x4 corner transparent.
    fn frames(w: u32, h: u32, n: u32) -> Vec<Frame> {
        (0..n)
            .map(|i| {
                let mut f = Frame::filled(w, h, &[90, 90, 90, 255]);
                for y in 0..4 {
                    for x in 4 * i..4 * i + 4 {
                        let at = ((y * w + x) * 4) as usize;
                        f.data[at..at + 4].copy_from_slice(&[250, 10, 10, 255]);
                    }
                }
                for y in h - 4..h {
                    for x in w - 4..w {
                        let at = ((y * w + x) * 4) as usize;
                        f.data[at..at + 4].copy_from_slice(&[0, 0, 0, 0]);
                    }
                }
                f
            })
            .collect()
    }

    fn write(frames: &[Frame], delays: &[u32], repeat: Repeat) -> Vec<u8> {
        let mut w = WebpWriter::new(frames[0].width, frames[0].height, 90, repeat).unwrap();
        for (f, d) in frames.iter().zip(delays) {
            w.push(f, *d).unwrap();
        }
        w.finish().unwrap()
    }

    use super::read_all as read;

    #[test]
    fn round_trip_keeps_frames_delays_loop_and_transparency() {
        let src = frames(40, 24, 4);
        let out = write(&src, &[70, 120, 0, 1000], Repeat::Finite(2));
        let probe = crate::codec::probe(&out).unwrap();
        assert_eq!((probe.width, probe.height, probe.frames), (40, 24, 4));
        let (again, repeat) = read(&out);
        assert_eq!(repeat, Repeat::Finite(2));
        assert_eq!(again.iter().map(|(_, d)| *d).collect::<Vec<_>>(), [70, 120, 0, 1000]);
        for (i, (f, _)) in again.iter().enumerate() {
            assert_eq!((f.width, f.height, f.channels), (40, 24, 4));
            assert_eq!(f.pixel(39, 23)[3], 0, "frame {i}: the corner stays transparent");
            let red = f.pixel(4 * i as u32 + 1, 1);
            assert!(red[0] > red[1] + 100 && red[0] > red[2] + 100 && red[3] == 255, "frame {i}: {red:?}");
            let grey = f.pixel(20, 12);
            assert!(grey[0].abs_diff(90) < 12 && grey[3] == 255, "frame {i}: {grey:?}");
        }
        // the image crate (image-webp) reads the same file
        use image::AnimationDecoder;
        let d = image::codecs::webp::WebPDecoder::new(std::io::Cursor::new(&out[..])).unwrap();
        assert_eq!(d.into_frames().collect_frames().unwrap().len(), 4);
    }

    #[test]
    fn loop_counts() {
        for (repeat, webp) in [(Repeat::Infinite, 0u16), (Repeat::Finite(0), 1), (Repeat::Finite(4), 5)] {
            assert_eq!(webp_loop_count(repeat), webp);
            assert_eq!(repeat_of_loop_count(u32::from(webp)), repeat);
            let out = write(&frames(16, 8, 2), &[50, 50], repeat);
            assert_eq!(read(&out).1, repeat, "{repeat:?}");
        }
        assert_eq!(webp_loop_count(Repeat::Finite(u16::MAX)), u16::MAX);
    }

    #[test]
    fn rgb_frames_and_refusals() {
        let rgb: Vec<Frame> = frames(16, 8, 2).into_iter().map(|f| f.flatten([255, 255, 255])).collect();
        let (again, _) = read(&write(&rgb, &[40, 40], Repeat::Infinite));
        assert_eq!(again.len(), 2);
        assert_eq!(again[0].0.pixel(15, 7)[3], 255, "flattened: opaque");
        // sizes
        assert!(matches!(
            WebpWriter::new(16_384, 10, 80, Repeat::Infinite),
            Err(CodecError::TooLarge { ec: "0040-00000007", .. })
        ));
        assert!(WebpWriter::new(0, 10, 80, Repeat::Infinite).is_err());
        let mut w = WebpWriter::new(16, 8, 80, Repeat::Infinite).unwrap();
        assert!(w.push(&Frame::filled(8, 8, &[0, 0, 0]), 10).is_err());
        let short = Frame { width: 16, height: 8, channels: 4, data: vec![0; 10] };
        assert!(w.push(&short, 10).is_err());
        // not a WebP, a truncated one
        assert!(WebpFrames::new(b"RIFF\0\0\0\0WEBPVP8X", 10).is_err());
        let out = write(&frames(16, 8, 3), &[40, 40, 40], Repeat::Infinite);
        if let Ok(mut r) = WebpFrames::new(&out[..out.len() / 2], 10) {
            let mut n = 0;
            while let Ok(Some(_)) = r.next_frame() {
                n += 1;
            }
            assert!(n < 3, "{n}");
        }
        // the frame cap
        let mut r = WebpFrames::new(&out, 2).unwrap();
        assert!(r.next_frame().unwrap().is_some() && r.next_frame().unwrap().is_some());
        assert!(r.next_frame().unwrap().is_none());
    }
}
