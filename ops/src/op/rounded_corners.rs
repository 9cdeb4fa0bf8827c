//! `rounded-corners`: round the four corners of the image with radius `r`.
//!
//! Rules (OSS): `r` larger than the largest inscribed circle's radius (half the shorter side) is
//! clamped to it; outside the corners the output is transparent when the output format keeps
//! transparency, otherwise the background (white for JPG). The size does not change.
//!
//! Choices where OSS is silent:
//! * The clamped radius may be a half-pixel (half an odd side); at the clamp a square image
//!   becomes exactly what `circle` gives for it, and a 1-pixel-wide image is left as it is.
//! * Antialiasing and the transparency/background rule are those of `circle` (shared code):
//!   coverage `clamp(R + 0.5 − dist, 0, 1)` from each corner circle's centre; alpha multiplied
//!   (RGBA output) or a blend towards `cx.background` (an RGBA input is then flattened). Only the
//!   four corner squares are visited; the rest of the image is not touched.
//!
//! OSS's documentation: `docs/oss/actions.md#rounded-corners`.

use crate::frame::{Frame, OpContext, OpError};
use crate::op::circle::{Mask, coverage};
use crate::spec::RoundedCorners;

/// Applies `rounded-corners` to `f`.
pub fn apply(f: Frame, c: &RoundedCorners, cx: &OpContext) -> Result<Frame, OpError> {
    let (w, h) = (f.width, f.height);
    let mut m = Mask::new(f, cx);
    if w == 0 || h == 0 || c.radius == 0 {
        return Ok(m.finish());
    }
    let r = f64::from(c.radius).min(f64::from(w.min(h)) / 2.0);
    // the corner squares: columns/rows closer than r to an edge (each visited once)
    let k = (r.ceil() as u32).min(w).min(h);
    let (wf, hf) = (f64::from(w), f64::from(h));
    // distance past the corner circles' centres (0 between them)
    let past = |p: u32, side: f64| {
        let p = f64::from(p) + 0.5;
        (r - p).max(p - (side - r)).max(0.0)
    };
    for y in (0..k).chain(h.saturating_sub(k).max(k)..h) {
        let dy = past(y, hf);
        for x in (0..k).chain(w.saturating_sub(k).max(k)..w) {
            let dx = past(x, wf);
            m.cover(x, y, coverage(dx * dx + dy * dy, r));
        }
    }
    Ok(m.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Circle;

    use crate::frame::grid_alpha as grid;

    fn cx(alpha: bool) -> OpContext {
        OpContext { alpha, background: [255, 255, 255], ..OpContext::default() }
    }

    fn alphas(f: &Frame) -> Vec<u8> {
        f.data.chunks_exact(4).map(|p| p[3]).collect()
    }

    #[test]
    fn corners_10x6_r2() {
        let f = grid(10, 6, 3, 255);
        let out = apply(f.clone(), &RoundedCorners { radius: 2 }, &cx(true)).unwrap();
        assert_eq!((out.width, out.height, out.channels), (10, 6, 4));
        // (x, y) in the top-left corner -> coverage; mirrored into the other three corners
        let rows: &[((u32, u32), u8)] = &[
            ((0, 0), 97),  // dist from (2, 2): sqrt(4.5) = 2.12 -> 0.38
            ((1, 0), 234), // sqrt(2.5) = 1.58 -> 0.92
            ((0, 1), 234),
            ((1, 1), 255), // 0.71 <= R - 0.5
            ((2, 0), 255), // beside the corner circle
            ((0, 2), 255),
        ];
        for &((x, y), want) in rows {
            for (mx, my) in [(x, y), (9 - x, y), (x, 5 - y), (9 - x, 5 - y)] {
                assert_eq!(out.pixel(mx, my)[3], want, "({mx}, {my})");
                assert_eq!(out.pixel(mx, my)[..3], f.pixel(mx, my)[..3]);
            }
        }
        // 4 corners x 3 partial pixels, everything else opaque
        assert_eq!(alphas(&out).iter().filter(|&&a| a != 255).count(), 12);
        // without alpha: blended with white, same size, still RGB
        let out = apply(f, &RoundedCorners { radius: 2 }, &cx(false)).unwrap();
        assert_eq!((out.width, out.height, out.channels), (10, 6, 3));
        // [0, 0, 7] at 97: 255 * 158 / 255 = 158; 7 * 97 + 255 * 158 -> 161
        assert_eq!(out.pixel(0, 0), &[158, 158, 161]);
        assert_eq!(out.pixel(9, 5), &[161, 160, 161]);
        assert_eq!(out.pixel(5, 0), &[5, 0, 7]);
    }

    #[test]
    fn clamped_radius_equals_circle_on_squares() {
        for side in [1u32, 2, 5, 6, 33] {
            for alpha in [false, true] {
                let f = grid(side, side, 3, 255);
                let rounded = apply(f.clone(), &RoundedCorners { radius: 4096 }, &cx(alpha)).unwrap();
                let circle = crate::op::circle::apply(f, &Circle { radius: 4096 }, &cx(alpha)).unwrap();
                assert_eq!(rounded, circle, "side {side}");
            }
        }
    }

    #[test]
    fn sizes_and_thin_images() {
        // (frame, r) -> number of pixels not left opaque (R = 3: 5 per corner)
        let rows: &[((u32, u32), u32, usize)] = &[
            ((1, 5), 10, 0), // R = 0.5: nothing to round
            ((5, 1), 1, 0),
            ((2, 7), 1, 4),    // R = 1: the four corner pixels
            ((100, 40), 1, 4), // R = 1
            ((100, 40), 3, 4 * 5),
        ];
        for &((w, h), r, partial) in rows {
            let out = apply(grid(w, h, 3, 255), &RoundedCorners { radius: r }, &cx(true)).unwrap();
            assert_eq!((out.width, out.height, out.channels), (w, h, 4));
            let got = alphas(&out).iter().filter(|&&a| a != 255).count();
            assert_eq!(got, partial, "{w}x{h} r_{r}");
        }
    }

    #[test]
    fn rgba_input() {
        let out = apply(grid(6, 4, 4, 100), &RoundedCorners { radius: 2 }, &cx(true)).unwrap();
        assert_eq!(out.pixel(0, 0), &[0, 0, 7, 38]); // 100 * 97 / 255 = 38.04
        assert_eq!(out.pixel(3, 2), &[3, 2, 7, 100]);
        let out = apply(grid(6, 4, 4, 100), &RoundedCorners { radius: 2 }, &cx(false)).unwrap();
        assert_eq!(out.channels, 3);
        // flattened onto white: [3, 2, 7] at alpha 100 -> (3 * 100 + 255 * 155) / 255 = 156.7 ...
        assert_eq!(out.pixel(3, 2), &[156, 156, 158]);
    }
}
