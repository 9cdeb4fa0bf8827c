//! Resampling a [`Frame`] to a new size with fast_image_resize (SIMD, Lanczos3; alpha-aware).

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};

use crate::frame::Frame;

/// The frame resampled to `width` x `height` (both at least 1; the caller checked the limits).
pub fn resample(f: &Frame, width: u32, height: u32) -> Frame {
    let (width, height) = (width.max(1), height.max(1));
    if (width, height) == (f.width, f.height) {
        return f.clone();
    }
    let pt = if f.channels == 4 { PixelType::U8x4 } else { PixelType::U8x3 };
    let opts = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3));
    let mut dst = Image::new(width, height, pt);
    let done = ImageRef::new(f.width, f.height, &f.data, pt)
        .ok()
        .and_then(|src| Resizer::new().resize(&src, &mut dst, &opts).ok());
    match done {
        Some(()) => Frame { width, height, channels: f.channels, data: dst.into_vec() },
        // Buffer sizes are consistent by construction; fall back to nearest neighbour rather
        // than fail a request if the library ever refuses.
        None => nearest(f, width, height),
    }
}

fn nearest(f: &Frame, width: u32, height: u32) -> Frame {
    let c = f.channels as usize;
    let mut data = Vec::with_capacity(width as usize * height as usize * c);
    for y in 0..height {
        let sy = (u64::from(y) * u64::from(f.height) / u64::from(height)) as u32;
        for x in 0..width {
            let sx = (u64::from(x) * u64::from(f.width) / u64::from(width)) as u32;
            data.extend_from_slice(f.pixel(sx, sy));
        }
    }
    Frame { width, height, channels: f.channels, data }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_flat_colour_are_kept() {
        for channels in [3u8, 4] {
            let fill: Vec<u8> = (0..channels).map(|i| 40 + i * 50).collect();
            let f = Frame::filled(64, 48, &fill);
            let r = resample(&f, 10, 7);
            assert_eq!((r.width, r.height, r.channels), (10, 7, channels));
            assert!(r.data.chunks_exact(channels as usize).all(|p| p == &fill[..]), "{channels}");
            let up = resample(&f, 100, 90);
            assert_eq!((up.width, up.height), (100, 90));
        }
    }

    #[test]
    fn nearest_matches_sizes() {
        let f = Frame::filled(5, 5, &[1, 2, 3]);
        assert_eq!(nearest(&f, 2, 3).data.len(), 2 * 3 * 3);
    }
}
