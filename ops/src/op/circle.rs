//! `circle` (`docs/oss/actions.md#circle`): keep the circle of radius `r` centred on the image.
//!
//! Rules (OSS): `r` larger than half the shorter side is clamped to it; outside the circle the
//! output is transparent when the output format keeps transparency, otherwise the background
//! (white for JPG).
//!
//! Choices where OSS is silent:
//! * The output is the square of side d = min(2r, shorter side) cut from the centre of the image
//!   (the left/top part gets the smaller half when the difference is odd), and the circle is the
//!   one inscribed in that square: its radius is d/2, which is a half-pixel when the shorter side
//!   is odd and smaller than 2r (a 1-pixel-wide image gives a 1×1 result). (OSS's own canvas size
//!   is unknown; an emulator emits (2r+1)×(2r+1).)
//! * Antialiasing: each pixel's coverage is `clamp(R + 0.5 − dist, 0, 1)`, with `dist` the
//!   distance from the pixel centre to the circle centre (an analytic approximation of the area
//!   covered). With `cx.alpha` the output is RGBA and its alpha is multiplied by the coverage;
//!   otherwise the pixel is blended with `cx.background` by the coverage (an RGBA input is then
//!   flattened onto the background, since the output cannot keep its alpha anyway).

use crate::frame::{Frame, OpContext, OpError};
use crate::op::resize::{Rect, crop_frame};
use crate::spec::Circle;

/// Applies `circle` to `f`.
pub fn apply(f: Frame, c: &Circle, cx: &OpContext) -> Result<Frame, OpError> {
    let short = f.width.min(f.height);
    if short == 0 {
        return Ok(f);
    }
    let d = u64::from(c.radius).saturating_mul(2).clamp(1, u64::from(short)) as u32;
    let (x0, y0) = ((f.width - d) / 2, (f.height - d) / 2);
    let square =
        if (f.width, f.height) == (d, d) { f } else { crop_frame(&f, Rect { x: x0, y: y0, w: d, h: d }) };
    let mut m = Mask::new(square, cx);
    let r = f64::from(d) / 2.0;
    let inner = r - 0.5;
    for y in 0..d {
        let dy = f64::from(y) + 0.5 - r;
        let dy2 = dy * dy;
        // columns certainly inside (distance ≤ R − 0.5): keep them as they are; the one-pixel margin
        // absorbs rounding, and every other column gets its exact coverage
        let (skip_from, skip_to) = if inner > 0.0 && dy2 < inner * inner {
            let hw = (inner * inner - dy2).sqrt();
            let from = (r - hw - 0.5).ceil() + 1.0;
            let to = (r + hw - 0.5).floor() - 1.0;
            if from <= to { (from as u32, to as u32) } else { (1, 0) }
        } else {
            (1, 0)
        };
        for x in 0..d {
            if x >= skip_from && x <= skip_to {
                continue;
            }
            let dx = f64::from(x) + 0.5 - r;
            m.cover(x, y, coverage(dx * dx + dy2, r));
        }
    }
    Ok(m.finish())
}

/// The share (0–255) of a pixel whose centre is at squared distance `d2` from the centre of a
/// circle of radius `r` that lies inside it: `clamp(r + 0.5 − dist, 0, 1)`.
pub(crate) fn coverage(d2: f64, r: f64) -> u8 {
    let inner = r - 0.5;
    if inner >= 0.0 && d2 <= inner * inner {
        return 255;
    }
    let outer = r + 0.5;
    if d2 >= outer * outer {
        return 0;
    }
    ((outer - d2.sqrt()).clamp(0.0, 1.0) * 255.0 + 0.5) as u8
}

/// Applies a coverage mask to a frame in place: alpha multiplied when the output keeps
/// transparency (the frame becomes RGBA), otherwise a blend towards the background (an RGBA
/// frame is flattened onto the background by [`Mask::finish`]).
pub(crate) struct Mask {
    frame: Frame,
    background: [u8; 3],
    flatten: bool,
}

impl Mask {
    pub(crate) fn new(f: Frame, cx: &OpContext) -> Mask {
        let flatten = !cx.alpha && f.channels == 4;
        let frame = if cx.alpha { f.into_rgba() } else { f };
        Mask { frame, background: cx.background, flatten }
    }

    /// Scales pixel (x, y) by `cov` (0 = gone, 255 = kept).
    pub(crate) fn cover(&mut self, x: u32, y: u32, cov: u8) {
        if cov == 255 {
            return;
        }
        let c = usize::from(self.frame.channels);
        let i = (y as usize * self.frame.width as usize + x as usize) * c;
        let Some(px) = self.frame.data.get_mut(i..i + c) else { return };
        let k = u32::from(cov);
        if c == 4 {
            px[3] = ((u32::from(px[3]) * k + 127) / 255) as u8;
        } else {
            for (v, bg) in px.iter_mut().zip(self.background) {
                *v = ((u32::from(*v) * k + u32::from(bg) * (255 - k) + 127) / 255) as u8;
            }
        }
    }

    pub(crate) fn finish(self) -> Frame {
        if self.flatten { self.frame.flatten(self.background) } else { self.frame }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::frame::grid_alpha as grid;

    fn cx(alpha: bool) -> OpContext {
        OpContext { alpha, background: [255, 0, 255], ..OpContext::default() }
    }

    #[test]
    fn sizes() {
        // (frame, r) -> output side, offset of the square in the source
        type Row = ((u32, u32), u32, u32, (u32, u32));
        let rows: &[Row] = &[
            ((10, 6), 100, 6, (2, 0)),
            ((10, 6), 2, 4, (3, 1)),
            ((6, 10), 3, 6, (0, 2)),
            ((7, 7), 2, 4, (1, 1)),
            ((7, 7), 100, 7, (0, 0)),
            ((8, 7), 4096, 7, (0, 0)),
            ((1, 5), 1, 1, (0, 2)),
            ((1, 1), 4096, 1, (0, 0)),
            ((400, 267), 100, 200, (100, 33)),
        ];
        for &((w, h), r, side, (ox, oy)) in rows {
            for alpha in [false, true] {
                let out = apply(grid(w, h, 3, 255), &Circle { radius: r }, &cx(alpha)).unwrap();
                let channels = if alpha { 4 } else { 3 };
                assert_eq!((out.width, out.height, out.channels), (side, side, channels), "{w}x{h} r_{r}");
                // the centre pixel is kept as it was
                let m = side / 2;
                assert_eq!(out.pixel(m, m)[..3], [(ox + m) as u8, (oy + m) as u8, 7], "{w}x{h} r_{r}");
            }
        }
    }

    #[test]
    fn pixels_6x6() {
        // 6x6 square, R = 3: (x, y) -> expected coverage
        let rows: &[((u32, u32), u8)] = &[
            ((2, 2), 255), // centre: dist 0.71
            ((1, 1), 255), // dist 2.12 <= R - 0.5
            ((0, 2), 242), // dist sqrt(6.5) = 2.55 -> 0.95
            ((1, 0), 149), // dist sqrt(8.5) = 2.92 -> 0.58
            ((0, 0), 0),   // corner: dist 3.54 >= R + 0.5
        ];
        let f = grid(6, 6, 3, 255);
        let out = apply(f.clone(), &Circle { radius: 3 }, &cx(true)).unwrap();
        for &((x, y), want) in rows {
            let a = out.pixel(x, y)[3];
            assert_eq!(a, want, "({x}, {y})");
            // symmetric in both axes and the diagonal
            for (mx, my) in [(5 - x, y), (x, 5 - y), (5 - x, 5 - y), (y, x), (5 - y, 5 - x)] {
                assert_eq!(out.pixel(mx, my)[3], want, "({mx}, {my}) mirrors ({x}, {y})");
            }
            assert_eq!(out.pixel(x, y)[..3], f.pixel(x, y)[..3], "colour kept");
        }
        // without alpha: blended with the background by the same coverage
        let out = apply(f, &Circle { radius: 3 }, &cx(false)).unwrap();
        assert_eq!(out.pixel(0, 0), &[255, 0, 255]);
        assert_eq!(out.pixel(2, 3), &[2, 3, 7]);
        // (0, 2) = [0, 2, 7] at 242: 0*242 + 255*13 -> 13; 2*242 -> 2 + 0; 7*242 + 255*13 -> 20
        assert_eq!(out.pixel(0, 2), &[13, 2, 20]);
    }

    #[test]
    fn rgba_input() {
        // alpha kept: the source alpha is multiplied by the coverage
        let out = apply(grid(6, 6, 4, 100), &Circle { radius: 3 }, &cx(true)).unwrap();
        assert_eq!(out.channels, 4);
        assert_eq!(out.pixel(2, 2), &[2, 2, 7, 100]);
        assert_eq!(out.pixel(0, 2), &[0, 2, 7, 95]); // 100 * 242 / 255 = 94.9
        assert_eq!(out.pixel(0, 0)[3], 0);
        // no alpha: flattened onto the background
        let out = apply(grid(6, 6, 4, 255), &Circle { radius: 3 }, &cx(false)).unwrap();
        assert_eq!(out.channels, 3);
        assert_eq!(out.pixel(0, 0), &[255, 0, 255]);
        assert_eq!(out.pixel(2, 2), &[2, 2, 7]);
        assert_eq!(out.pixel(0, 2), &[13, 2, 20]);
    }

    #[test]
    fn smooth_edge_and_area() {
        for (side, r) in [(101u32, 50u32), (100, 50), (300, 37)] {
            let out = apply(Frame::filled(side, side, &[9, 9, 9]), &Circle { radius: r }, &cx(true)).unwrap();
            let d = side.min(2 * r);
            assert_eq!(out.width, d);
            let area: f64 = out.data.chunks_exact(4).map(|p| f64::from(p[3]) / 255.0).sum();
            let rr = f64::from(d) / 2.0;
            let exact = std::f64::consts::PI * rr * rr;
            assert!((area - exact).abs() < exact * 0.002, "side {side} r {r}: area {area} vs {exact}");
            // along the middle row, alpha rises monotonically from the left edge to the centre,
            // with at least one partial value
            let row: Vec<u8> = (0..d / 2).map(|x| out.pixel(x, d / 2)[3]).collect();
            assert!(row.windows(2).all(|w| w[0] <= w[1]), "{row:?}");
            assert!(row.iter().any(|&a| a > 0 && a < 255), "{row:?}");
            assert_eq!(*row.last().unwrap(), 255);
            // every pixel outside R + 0.5 is transparent, every one inside R − 0.5 opaque
            for y in 0..d {
                for x in 0..d {
                    let (dx, dy) = (f64::from(x) + 0.5 - rr, f64::from(y) + 0.5 - rr);
                    let dist = (dx * dx + dy * dy).sqrt();
                    let a = out.pixel(x, y)[3];
                    if dist >= rr + 0.5 {
                        assert_eq!(a, 0, "({x}, {y})");
                    } else if dist <= rr - 0.5 {
                        assert_eq!(a, 255, "({x}, {y})");
                    }
                }
            }
        }
    }

    #[test]
    fn coverage_values() {
        let rows: &[(f64, f64, u8)] = &[
            (0.0, 0.5, 255),
            (0.0, 3.0, 255),
            (6.25, 3.0, 255),
            (9.0, 3.0, 128),
            (12.25, 3.0, 0),
            (100.0, 3.0, 0),
        ];
        for &(d2, r, want) in rows {
            assert_eq!(coverage(d2, r), want, "d2 {d2} r {r}");
        }
    }
}
