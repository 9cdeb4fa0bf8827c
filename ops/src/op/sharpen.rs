//! `sharpen,<v>`: v in [50, 399], 100 recommended. OSS documents only the range.
//!
//! Pixgate applies an unsharp mask with a 3x3 binomial blur (`[1 2 1]` ⊗ `[1 2 1]` / 16, a
//! gaussian of sigma ≈ 0.85): `out = in + amount * (in - blur(in))`, with `amount = v / 100`
//! (so `sharpen,100` adds the full detail once more, `sharpen,50` half of it, `sharpen,399`
//! almost four times). All arithmetic is integer: with `S` the 3x3 weighted sum (weights total
//! 16), `out = clamp(in + round(v * (16 * in - S) / 1600), 0, 255)`, rounding half up. Pixels
//! outside the frame repeat the nearest edge pixel, so a flat image stays flat to the border.
//! Only the colour channels are sharpened; alpha is copied unchanged.
//!
//! OSS's documentation: `docs/oss/actions.md#sharpen`.

use crate::frame::Frame;
use crate::spec::Sharpen;

/// Sharpen the colour channels of `f`; alpha is unchanged.
pub fn apply(mut f: Frame, s: &Sharpen) -> Frame {
    let (w, h, c) = (f.width as usize, f.height as usize, usize::from(f.channels));
    if w == 0 || h == 0 || !(c == 3 || c == 4) || f.data.len() != w * h * c {
        return f;
    }
    // The documented range is [50, 399]; anything else is clamped rather than trusted.
    let v = s.value.clamp(50, 399) as i32;
    let stride = w * c;

    // Horizontal [1 2 1] pass, edges clamped: at most 4 * 255 per sample.
    let mut hsum = vec![0u16; f.data.len()];
    for (src, dst) in f.data.chunks_exact(stride).zip(hsum.chunks_exact_mut(stride)) {
        for x in 0..w {
            let l = x.saturating_sub(1) * c;
            let m = x * c;
            let r = (x + 1).min(w - 1) * c;
            for k in 0..c {
                dst[m + k] = u16::from(src[l + k]) + 2 * u16::from(src[m + k]) + u16::from(src[r + k]);
            }
        }
    }

    // Vertical [1 2 1] pass combined with the unsharp mask, written in place: each output
    // sample needs only its own input value and the horizontal sums.
    for y in 0..h {
        let up = &hsum[y.saturating_sub(1) * stride..][..stride];
        let mid = &hsum[y * stride..][..stride];
        let down = &hsum[(y + 1).min(h - 1) * stride..][..stride];
        let row = &mut f.data[y * stride..][..stride];
        for (i, px) in row.iter_mut().enumerate() {
            if c == 4 && i % 4 == 3 {
                continue; // alpha
            }
            let sum = i32::from(up[i]) + 2 * i32::from(mid[i]) + i32::from(down[i]);
            let orig = i32::from(*px);
            let detail = 16 * orig - sum;
            let add = (v * detail + 800).div_euclid(1600);
            *px = (orig + add).clamp(0, 255) as u8;
        }
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(v: u32, f: Frame) -> Frame {
        apply(f, &Sharpen { value: v })
    }

    use crate::frame::grey;

    #[test]
    fn flat_images_stay_flat_including_edges() {
        for (w, h) in [(1, 1), (1, 5), (5, 1), (2, 2), (7, 4)] {
            for v in [50, 100, 250, 399] {
                for g in [0u8, 1, 128, 254, 255] {
                    let f = Frame::filled(w, h, &[g, g, g, 200]);
                    assert_eq!(run(v, f.clone()), f, "{w}x{h} v={v} g={g}");
                    let f = Frame::filled(w, h, &[g, g, g]);
                    assert_eq!(run(v, f.clone()), f, "{w}x{h} v={v} g={g}");
                }
            }
        }
    }

    /// A vertical step edge 100 | 150 in a 6x3 frame: the dark side gets darker, the light side
    /// lighter, by an amount proportional to v.
    #[test]
    fn edge_overshoot_table() {
        // (v, pixel left of the edge, pixel right of the edge)
        // detail = 16 * 100 - (4 * 100 * 3 + 4 * 150) = -200 on the left, +200 on the right
        const ROWS: &[(u32, u8, u8)] = &[
            (50, 94, 156),  // 100 - round(50 * 200 / 1600) = 100 - 6.25
            (100, 88, 163), // 12.5: half up → -12 on the dark side, +13 on the light side
            (200, 75, 175), // 25
            (399, 50, 200), // 49.875
        ];
        for &(v, l, r) in ROWS {
            let f = grey(6, 3, |x, _| if x < 3 { 100 } else { 150 });
            let out = run(v, f);
            for y in 0..3 {
                assert_eq!(out.pixel(2, y)[0], l, "v={v} y={y}");
                assert_eq!(out.pixel(3, y)[0], r, "v={v} y={y}");
                // away from the edge nothing changes (including the frame's own borders)
                assert_eq!(out.pixel(0, y)[0], 100);
                assert_eq!(out.pixel(5, y)[0], 150);
            }
        }
    }

    #[test]
    fn stronger_v_more_contrast_at_details() {
        // low-contrast texture (100..=140), so that even v = 399 does not clip
        let f = grey(9, 9, |x, y| ((x * 37 + y * 91) % 41 + 100) as u8);
        let energy = |f: &Frame| -> i64 {
            let mut e = 0;
            for y in 0..f.height {
                for x in 1..f.width {
                    e += (i64::from(f.pixel(x, y)[0]) - i64::from(f.pixel(x - 1, y)[0])).abs();
                }
            }
            e
        };
        let mut last = energy(&f);
        for v in [50, 100, 200, 399] {
            let e = energy(&run(v, f.clone()));
            assert!(e > last, "v={v}: {e} <= {last}");
            last = e;
        }
    }

    #[test]
    fn isolated_dot_and_clamping() {
        // bright dot in a dark field: the dot saturates, its neighbours get darker (clamped at 0)
        let f = grey(5, 5, |x, y| if (x, y) == (2, 2) { 200 } else { 10 });
        let out = run(399, f);
        assert_eq!(out.pixel(2, 2)[0], 255);
        assert_eq!(out.pixel(1, 2)[0], 0);
        assert_eq!(out.pixel(0, 0)[0], 10);
        // dot in a corner: the clamped border must not panic and must still sharpen
        let f = grey(3, 3, |x, y| if (x, y) == (0, 0) { 100 } else { 50 });
        let out = run(100, f);
        assert!(out.pixel(0, 0)[0] > 100);
        assert!(out.pixel(1, 0)[0] < 50);
    }

    #[test]
    fn alpha_untouched() {
        let mut data = Vec::new();
        for i in 0..16u32 {
            data.extend_from_slice(&[
                (i * 15) as u8,
                255 - (i * 15) as u8,
                (i * 7 % 256) as u8,
                (i * 16) as u8,
            ]);
        }
        let f = Frame::from_raw(4, 4, 4, data.clone()).unwrap();
        for v in [50, 100, 399] {
            let out = run(v, f.clone());
            assert_ne!(out, f);
            for (o, i) in out.data.chunks_exact(4).zip(data.chunks_exact(4)) {
                assert_eq!(o[3], i[3], "v={v}");
            }
        }
    }

    #[test]
    fn malformed_frames_are_returned_unchanged() {
        let empty = Frame { width: 0, height: 0, channels: 3, data: Vec::new() };
        assert_eq!(run(100, empty.clone()), empty);
        let short = Frame { width: 4, height: 4, channels: 3, data: vec![1; 5] };
        assert_eq!(run(100, short.clone()), short);
    }
}
