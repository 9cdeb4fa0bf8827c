//! The in-memory image every action works on, and what actions share: their context and errors.
//!
//! A [`Frame`] is 8-bit, interleaved, rows top to bottom, with 3 channels (RGB) or 4 (RGBA,
//! straight alpha). Codecs convert to and from it; actions take a frame and return a frame.
//! This module uses only `std`.

/// An 8-bit RGB or RGBA image.
#[derive(Clone, PartialEq, Eq)]
pub struct Frame {
    pub width: u32,
    pub height: u32,
    /// 3 (RGB) or 4 (RGBA, straight alpha).
    pub channels: u8,
    /// `width * height * channels` bytes.
    pub data: Vec<u8>,
}

impl std::fmt::Debug for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Frame({}x{}x{})", self.width, self.height, self.channels)
    }
}

impl Frame {
    /// A frame filled with one pixel value (`fill.len()` must equal `channels`).
    pub fn filled(width: u32, height: u32, fill: &[u8]) -> Frame {
        let channels = fill.len() as u8;
        debug_assert!(channels == 3 || channels == 4);
        let n = width as usize * height as usize;
        let mut data = Vec::with_capacity(n * fill.len());
        for _ in 0..n {
            data.extend_from_slice(fill);
        }
        Frame { width, height, channels, data }
    }

    /// Wrap raw bytes; `None` when the length does not match.
    pub fn from_raw(width: u32, height: u32, channels: u8, data: Vec<u8>) -> Option<Frame> {
        let ok = (channels == 3 || channels == 4)
            && data.len() == width as usize * height as usize * channels as usize;
        ok.then_some(Frame { width, height, channels, data })
    }

    pub fn has_alpha(&self) -> bool {
        self.channels == 4
    }

    /// Bytes per row.
    pub fn stride(&self) -> usize {
        self.width as usize * self.channels as usize
    }

    /// The pixel at (x, y); panics when out of bounds (callers stay inside).
    pub fn pixel(&self, x: u32, y: u32) -> &[u8] {
        let c = self.channels as usize;
        let i = (y as usize * self.width as usize + x as usize) * c;
        &self.data[i..i + c]
    }

    /// The same image with an alpha channel (opaque where there was none).
    pub fn into_rgba(self) -> Frame {
        if self.channels == 4 {
            return self;
        }
        let mut data = Vec::with_capacity(self.width as usize * self.height as usize * 4);
        for px in self.data.chunks_exact(3) {
            data.extend_from_slice(&[px[0], px[1], px[2], 255]);
        }
        Frame { width: self.width, height: self.height, channels: 4, data }
    }

    /// The same image without alpha, composited over `background`.
    pub fn flatten(self, background: [u8; 3]) -> Frame {
        if self.channels == 3 {
            return self;
        }
        let mut data = Vec::with_capacity(self.width as usize * self.height as usize * 3);
        for px in self.data.chunks_exact(4) {
            let a = u32::from(px[3]);
            for c in 0..3 {
                let v = (u32::from(px[c]) * a + u32::from(background[c]) * (255 - a) + 127) / 255;
                data.push(v as u8);
            }
        }
        Frame { width: self.width, height: self.height, channels: 3, data }
    }

    /// Map the colour channels (not alpha) through a 256-entry table.
    pub fn map_colour(&mut self, table: &[u8; 256]) {
        match self.channels {
            3 => self.data.iter_mut().for_each(|v| *v = table[usize::from(*v)]),
            _ => {
                for px in self.data.chunks_exact_mut(4) {
                    for v in &mut px[..3] {
                        *v = table[usize::from(*v)];
                    }
                }
            }
        }
    }

    /// Is any pixel not fully opaque?
    pub fn is_translucent(&self) -> bool {
        self.channels == 4 && self.data.chunks_exact(4).any(|p| p[3] != 255)
    }
}

/// What an action needs to know beyond its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpContext {
    /// The output format keeps transparency (PNG, WebP, BMP with alpha, TIFF, GIF): areas an
    /// action empties (circle, rounded corners, rotate, pad) become transparent. Otherwise
    /// they are filled with `background`.
    pub alpha: bool,
    /// The fill for emptied areas when `alpha` is false: white, as OSS does.
    pub background: [u8; 3],
    pub limits: OutputLimits,
}

impl Default for OpContext {
    fn default() -> Self {
        OpContext { alpha: false, background: [255, 255, 255], limits: OutputLimits::default() }
    }
}

/// Limits on what an action may allocate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputLimits {
    pub max_side: u32,
    pub max_pixels: u64,
    /// `op::rotate::apply` refuses a frame wider or taller than this (a watermark object's
    /// pre-processing); the main chain's source is checked against it once, from its header,
    /// by `pipeline::plan`, and then rotated whatever its size at that step.
    pub max_rotate_side: u32,
}

impl Default for OutputLimits {
    fn default() -> Self {
        OutputLimits { max_side: 16_384, max_pixels: 16_777_216, max_rotate_side: 4_096 }
    }
}

impl OutputLimits {
    /// Check a size before allocating it.
    pub fn check(&self, width: u32, height: u32) -> Result<(), OpError> {
        if width > self.max_side || height > self.max_side {
            return Err(OpError::TooLarge {
                message: format!(
                    "The output would be {width}x{height}; each side may be at most {}.",
                    self.max_side
                ),
                ec: "0040-00000007",
            });
        }
        if u64::from(width) * u64::from(height) > self.max_pixels {
            return Err(OpError::TooLarge {
                message: format!(
                    "The output would be {width}x{height}; at most {} pixels are allowed.",
                    self.max_pixels
                ),
                ec: "0040-00000007",
            });
        }
        Ok(())
    }
}

/// Why an action refused to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpError {
    /// The request does not fit this image (OSS BadRequest), e.g. a crop starting outside it.
    BadRequest(String),
    /// The result, or the input of a bounded action, is over a limit (OSS ImageTooLarge).
    TooLarge { message: String, ec: &'static str },
    /// A watermark could not be applied: its object is missing or does not decode (OSS
    /// WatermarkError), with OSS's EC when it has one.
    Watermark { message: String, ec: Option<&'static str> },
}

impl std::fmt::Display for OpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpError::BadRequest(m) => f.write_str(m),
            OpError::TooLarge { message, .. } | OpError::Watermark { message, .. } => f.write_str(message),
        }
    }
}

impl std::error::Error for OpError {}

/// Test fixture: a frame whose pixel (x, y) is [x, y, 7].
#[cfg(test)]
pub(crate) fn grid(w: u32, h: u32) -> Frame {
    grid_alpha(w, h, 3, 255)
}

/// Test fixture: like [`grid`], with alpha `a` when `channels` is 4.
#[cfg(test)]
pub(crate) fn grid_alpha(w: u32, h: u32, channels: u8, a: u8) -> Frame {
    let mut data = Vec::new();
    for y in 0..h {
        for x in 0..w {
            data.extend_from_slice(&[x as u8, y as u8, 7]);
            if channels == 4 {
                data.push(a);
            }
        }
    }
    Frame { width: w, height: h, channels, data }
}

/// Test fixture: a grey RGB frame from a function of (x, y).
#[cfg(test)]
pub(crate) fn grey(w: u32, h: u32, g: impl Fn(u32, u32) -> u8) -> Frame {
    let mut data = Vec::new();
    for y in 0..h {
        for x in 0..w {
            let v = g(x, y);
            data.extend_from_slice(&[v, v, v]);
        }
    }
    Frame { width: w, height: h, channels: 3, data }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alpha_round_trip() {
        let f = Frame::filled(2, 1, &[10, 20, 30]);
        let rgba = f.clone().into_rgba();
        assert_eq!(rgba.data, vec![10, 20, 30, 255, 10, 20, 30, 255]);
        assert_eq!(rgba.flatten([255, 255, 255]), f);
        let half = Frame::from_raw(1, 1, 4, vec![0, 0, 0, 128]).unwrap();
        assert_eq!(half.flatten([255, 255, 255]).data, vec![127, 127, 127]);
        assert!(Frame::from_raw(2, 2, 3, vec![0; 11]).is_none());
    }

    #[test]
    fn output_limits() {
        let l = OutputLimits::default();
        assert!(l.check(16_384, 1).is_ok());
        assert!(l.check(16_385, 1).is_err());
        assert!(l.check(5_000, 5_000).is_err());
    }
}
