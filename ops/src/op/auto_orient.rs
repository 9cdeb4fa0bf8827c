//! `auto-orient`: turn the image upright according to its EXIF Orientation.
//!
//! Rules (EXIF/TIFF): 1 identity; 2 mirror horizontal; 3 rotate 180°; 4 mirror vertical;
//! 5 transpose (mirror horizontal + rotate 270° clockwise); 6 rotate 90° clockwise;
//! 7 transverse (mirror horizontal + rotate 90° clockwise); 8 rotate 270° clockwise. Any other
//! value (including a missing tag, passed as 0 or 1) leaves the image unchanged. Whether and when
//! to call this (OSS: before any scaling, wherever `auto-orient` is written) is the pipeline's
//! business; the source-size limit of older OSS docs (< 4096) is not applied here.
//!
//! These are exact pixel moves (no resampling); `rotate` uses them for 90/180/270.
//!
//! OSS's documentation: `docs/oss/actions.md#auto-orient`.

use crate::frame::Frame;

/// `f` turned upright for EXIF `orientation`.
pub fn orient(f: Frame, orientation: u16) -> Frame {
    // (transpose, mirror x, mirror y), as destination → source: without transpose
    // dst(x, y) = src(fx ? W−1−x : x, fy ? H−1−y : y); with transpose (W' = H, H' = W)
    // dst(x, y) = src(fx ? W−1−y : y, fy ? H−1−x : x)
    let (transpose, flip_x, flip_y) = match orientation {
        2 => (false, true, false),
        3 => (false, true, true),
        4 => (false, false, true),
        5 => (true, false, false),
        6 => (true, false, true),
        7 => (true, true, true),
        8 => (true, true, false),
        _ => return f,
    };
    if f.width == 0 || f.height == 0 || f.data.len() != f.stride() * f.height as usize {
        return f;
    }
    match (f.channels, transpose) {
        (4, false) => flip::<4>(&f, flip_x, flip_y),
        (4, true) => transposed::<4>(&f, flip_x, flip_y),
        (_, false) => flip::<3>(&f, flip_x, flip_y),
        (_, true) => transposed::<3>(&f, flip_x, flip_y),
    }
}

/// Mirrors without transposing: rows are moved (and reversed when `flip_x`).
fn flip<const C: usize>(f: &Frame, flip_x: bool, flip_y: bool) -> Frame {
    let stride = f.stride();
    let h = f.height as usize;
    let mut data = vec![0u8; f.data.len()];
    for (y, dst) in data.chunks_exact_mut(stride).enumerate() {
        let sy = if flip_y { h - 1 - y } else { y };
        let src = &f.data[sy * stride..(sy + 1) * stride];
        if flip_x {
            for (d, s) in dst.chunks_exact_mut(C).zip(src.chunks_exact(C).rev()) {
                d.copy_from_slice(s);
            }
        } else {
            dst.copy_from_slice(src);
        }
    }
    Frame { width: f.width, height: f.height, channels: f.channels, data }
}

/// Transposes (and mirrors), in 32×32 tiles so that the column reads stay in cache.
fn transposed<const C: usize>(f: &Frame, flip_x: bool, flip_y: bool) -> Frame {
    const TILE: usize = 32;
    let (sw, sh) = (f.width as usize, f.height as usize);
    let (dw, dh) = (sh, sw);
    let mut data = vec![0u8; f.data.len()];
    for ty in (0..dh).step_by(TILE) {
        for tx in (0..dw).step_by(TILE) {
            for y in ty..(ty + TILE).min(dh) {
                let sx = if flip_x { sw - 1 - y } else { y };
                for x in tx..(tx + TILE).min(dw) {
                    let sy = if flip_y { sh - 1 - x } else { x };
                    let s = (sy * sw + sx) * C;
                    let d = (y * dw + x) * C;
                    data[d..d + C].copy_from_slice(&f.data[s..s + C]);
                }
            }
        }
    }
    Frame { width: f.height, height: f.width, channels: f.channels, data }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pixels A..F of a 3x2 frame: A B C / D E F, each [label, label, label] (+ alpha).
    fn frame(labels: &[&[u8]], channels: u8) -> Frame {
        let (w, h) = (labels[0].len() as u32, labels.len() as u32);
        let mut data = Vec::new();
        for row in labels {
            for &l in *row {
                data.extend_from_slice(&[l, l + 100, l + 200]);
                if channels == 4 {
                    data.push(l + 50);
                }
            }
        }
        Frame::from_raw(w, h, channels, data).unwrap()
    }

    const A: u8 = 1;
    const B: u8 = 2;
    const C: u8 = 3;
    const D: u8 = 4;
    const E: u8 = 5;
    const F: u8 = 6;

    #[test]
    fn all_orientations_3x2() {
        let src: &[&[u8]] = &[&[A, B, C], &[D, E, F]];
        let rows: &[(u16, &[&[u8]])] = &[
            (0, &[&[A, B, C], &[D, E, F]]),
            (1, &[&[A, B, C], &[D, E, F]]),
            (2, &[&[C, B, A], &[F, E, D]]),
            (3, &[&[F, E, D], &[C, B, A]]),
            (4, &[&[D, E, F], &[A, B, C]]),
            (5, &[&[A, D], &[B, E], &[C, F]]),
            (6, &[&[D, A], &[E, B], &[F, C]]),
            (7, &[&[F, C], &[E, B], &[D, A]]),
            (8, &[&[C, F], &[B, E], &[A, D]]),
            (9, &[&[A, B, C], &[D, E, F]]),
            (u16::MAX, &[&[A, B, C], &[D, E, F]]),
        ];
        for channels in [3, 4] {
            for &(o, want) in rows {
                assert_eq!(
                    orient(frame(src, channels), o),
                    frame(want, channels),
                    "orientation {o}, {channels}ch"
                );
            }
        }
    }

    #[test]
    fn inverse_pairs_and_large_tiles() {
        // 70x45 crosses tile borders; 6 then 8, 5 then 5, 7 then 7, 2/3/4 twice: back to the start
        let mut data = Vec::new();
        for i in 0..70 * 45 {
            data.extend_from_slice(&[(i % 251) as u8, (i / 251) as u8, 9]);
        }
        let f = Frame::from_raw(70, 45, 3, data).unwrap();
        for (a, b) in [(6, 8), (8, 6), (5, 5), (7, 7), (2, 2), (3, 3), (4, 4)] {
            let once = orient(f.clone(), a);
            let swapped = a >= 5;
            assert_eq!((once.width, once.height), if swapped { (45, 70) } else { (70, 45) });
            assert_eq!(orient(once, b), f, "{a} then {b}");
        }
        // 6 = rotate 90 clockwise: the bottom-left pixel goes to the top-left
        let r = orient(f.clone(), 6);
        assert_eq!(r.pixel(0, 0), f.pixel(0, 44));
        assert_eq!(r.pixel(44, 69), f.pixel(69, 0));
        // 1x1 and 1xN
        let one = Frame::filled(1, 1, &[1, 2, 3, 4]);
        assert_eq!(orient(one.clone(), 7), one);
        let col = frame(&[&[A], &[B], &[C]], 3);
        assert_eq!(orient(col, 6), frame(&[&[C, B, A]], 3));
    }
}
