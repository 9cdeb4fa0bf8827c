//! `rotate,<angle>` (`docs/oss/actions.md#rotate`): rotate clockwise by `angle` degrees, [0, 360).
//!
//! Rules (OSS): 0 (and 360, which the parser turns into 0) is the identity; 90/180/270 turn the
//! image (exact pixel moves, no resampling); any other angle enlarges the canvas to the rotated
//! image's bounding box. A **source** wider or taller than 4096 px (`max_rotate_side`) is refused
//! ([`check_side`]).
//!
//! Choices where OSS is silent:
//! * The side limit is checked for every angle, 0 included (OSS refuses the action, not the
//!   angle), as `TooLarge` with EC 0040-00000007 (OSS documents no rotate-specific EC; 007
//!   is its "result too large" code).
//! * Where it is checked: OSS words the limit on the source image, so the main chain checks the
//!   source's header once, before decoding (`pipeline::plan`), and then rotates with [`turn`],
//!   whatever size earlier actions made the image (a resize up to 6000 px, then `rotate,90`, is
//!   allowed; the output limits still bound every canvas). [`apply`] checks the frame it is
//!   given, for callers whose frame is itself the source (a watermark object's pre-processing).
//! * Canvas: `ceil(W·|cos| + H·|sin|)` × `ceil(W·|sin| + H·|cos|)` (a 1e-6 tolerance keeps exact
//!   sizes from rounding up), rotated about both centres; it is checked against the output
//!   limits before it is allocated.
//! * Sampling: bilinear, with premultiplied alpha; neighbours outside the source count as fully
//!   transparent, so the edges are antialiased. The uncovered area (canvas fill colour unknown for
//!   OSS) is transparent when `cx.alpha` (output RGBA), otherwise the result is composited onto
//!   `cx.background` (output RGB, an RGBA source included).

use crate::frame::{Frame, OpContext, OpError};
use crate::op::auto_orient::orient;
use crate::spec::Rotate;

/// OSS's rotate limit: an image wider or taller than `max` pixels cannot be rotated.
pub fn check_side(width: u32, height: u32, max: u32) -> Result<(), OpError> {
    if width > max || height > max {
        return Err(OpError::TooLarge {
            message: format!(
                "rotate: the image is {width}x{height}; rotation allows a width and height of at most {max} pixels."
            ),
            ec: "0040-00000007",
        });
    }
    Ok(())
}

/// Rotates `f` clockwise by `r.angle` degrees, refusing a frame wider or taller than
/// `cx.limits.max_rotate_side` ([`check_side`]): for a frame that is itself the source.
pub fn apply(f: Frame, r: &Rotate, cx: &OpContext) -> Result<Frame, OpError> {
    check_side(f.width, f.height, cx.limits.max_rotate_side)?;
    turn(f, r, cx)
}

/// Rotates `f` clockwise by `r.angle` degrees without the side limit, whose source the caller
/// has checked ([`check_side`]); a canvas that grows is still checked against the output limits
/// before it is allocated.
pub fn turn(f: Frame, r: &Rotate, cx: &OpContext) -> Result<Frame, OpError> {
    if f.width == 0 || f.height == 0 {
        return Ok(f);
    }
    match r.angle % 360 {
        0 => Ok(f),
        90 => Ok(orient(f, 6)),
        180 => Ok(orient(f, 3)),
        270 => Ok(orient(f, 8)),
        angle => rotate_any(&f, angle, cx),
    }
}

/// The canvas a `w`×`h` image has after `rotate,<angle>`: the same or swapped for right angles,
/// the rotated bounding box for any other.
pub fn canvas(w: u32, h: u32, angle: u32) -> (u64, u64) {
    match angle % 360 {
        0 | 180 => (u64::from(w), u64::from(h)),
        90 | 270 => (u64::from(h), u64::from(w)),
        angle => {
            let (sin, cos) = f64::from(angle).to_radians().sin_cos();
            bounding_box(w, h, cos, sin)
        }
    }
}

/// The rotated bounding box of a `w`×`h` image, in whole pixels.
fn bounding_box(w: u32, h: u32, cos: f64, sin: f64) -> (u64, u64) {
    let (w, h) = (f64::from(w), f64::from(h));
    let side = |v: f64| (v - 1e-6).ceil().max(1.0) as u64;
    (side(w * cos.abs() + h * sin.abs()), side(w * sin.abs() + h * cos.abs()))
}

fn rotate_any(f: &Frame, angle: u32, cx: &OpContext) -> Result<Frame, OpError> {
    let (sin, cos) = f64::from(angle).to_radians().sin_cos();
    let (ow, oh) = bounding_box(f.width, f.height, cos, sin);
    // at most the sum of both sides (each within the source or output limits), well inside
    // u32; checked before allocating
    let (ow, oh) = (u32::try_from(ow).unwrap_or(u32::MAX), u32::try_from(oh).unwrap_or(u32::MAX));
    cx.limits.check(ow, oh)?;

    let out_c = if cx.alpha { 4 } else { 3 };
    let mut data = vec![0u8; ow as usize * oh as usize * out_c];
    let src_c = usize::from(f.channels);
    let (sw, sh) = (f.width as usize, f.height as usize);
    let (swf, shf) = (f64::from(f.width), f64::from(f.height));
    let bg = cx.background.map(f64::from);
    let (half_ow, half_oh) = (f64::from(ow) / 2.0, f64::from(oh) / 2.0);

    // Destination pixel centre (u, v) relative to the canvas centre goes back to the source by
    // the inverse (counter-clockwise) rotation: (u·cos + v·sin, −u·sin + v·cos); source pixel i
    // has its centre at i + 0.5.
    for (oy, row) in data.chunks_exact_mut(ow as usize * out_c).enumerate() {
        let v = oy as f64 + 0.5 - half_oh;
        let u0 = 0.5 - half_ow;
        let fx0 = u0 * cos + v * sin + swf / 2.0 - 0.5;
        let fy0 = -u0 * sin + v * cos + shf / 2.0 - 0.5;
        for (ox, px) in row.chunks_exact_mut(out_c).enumerate() {
            let fx = fx0 + ox as f64 * cos;
            let fy = fy0 - ox as f64 * sin;
            // premultiplied colour and alpha (0..=255)
            let mut acc = [0.0f64; 4];
            if fx > -1.0 && fy > -1.0 && fx < swf && fy < shf {
                let (x0, y0) = (fx.floor(), fy.floor());
                let (tx, ty) = (fx - x0, fy - y0);
                let (x0, y0) = (x0 as i64, y0 as i64);
                for (dy, wy) in [(0, 1.0 - ty), (1, ty)] {
                    let y = y0 + dy;
                    if y < 0 || y >= sh as i64 || wy == 0.0 {
                        continue;
                    }
                    for (dx, wx) in [(0, 1.0 - tx), (1, tx)] {
                        let x = x0 + dx;
                        if x < 0 || x >= sw as i64 || wx == 0.0 {
                            continue;
                        }
                        let i = (y as usize * sw + x as usize) * src_c;
                        let Some(s) = f.data.get(i..i + src_c) else { continue };
                        let a = if src_c == 4 { f64::from(s[3]) } else { 255.0 };
                        let wa = wx * wy * a;
                        acc[0] += wa * f64::from(s[0]);
                        acc[1] += wa * f64::from(s[1]);
                        acc[2] += wa * f64::from(s[2]);
                        acc[3] += wa;
                    }
                }
            }
            let alpha = acc[3];
            if cx.alpha {
                if alpha > 0.0 {
                    for k in 0..3 {
                        px[k] = (acc[k] / alpha + 0.5).min(255.0) as u8;
                    }
                }
                px[3] = (alpha + 0.5).min(255.0) as u8;
            } else {
                let rest = (255.0 - alpha).max(0.0);
                for k in 0..3 {
                    px[k] = ((acc[k] + bg[k] * rest) / 255.0 + 0.5).min(255.0) as u8;
                }
            }
        }
    }
    Ok(Frame { width: ow, height: oh, channels: out_c as u8, data })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::OutputLimits;
    use crate::frame::grid;

    fn cx(alpha: bool) -> OpContext {
        OpContext { alpha, background: [255, 255, 255], ..OpContext::default() }
    }

    #[test]
    fn right_angles_are_exact() {
        // 3x2: A B C / D E F with A = (0,0) ... F = (2,1); (angle, expected rows as source coords)
        type Row = (u32, (u32, u32), &'static [(u8, u8)]);
        let rows: &[Row] = &[
            (0, (3, 2), &[(0, 0), (1, 0), (2, 0), (0, 1), (1, 1), (2, 1)]),
            (360, (3, 2), &[(0, 0), (1, 0), (2, 0), (0, 1), (1, 1), (2, 1)]),
            // D A / E B / F C
            (90, (2, 3), &[(0, 1), (0, 0), (1, 1), (1, 0), (2, 1), (2, 0)]),
            // F E D / C B A
            (180, (3, 2), &[(2, 1), (1, 1), (0, 1), (2, 0), (1, 0), (0, 0)]),
            // C F / B E / A D
            (270, (2, 3), &[(2, 0), (2, 1), (1, 0), (1, 1), (0, 0), (0, 1)]),
        ];
        for &(angle, (w, h), want) in rows {
            for alpha in [false, true] {
                let out = apply(grid(3, 2), &Rotate { angle }, &cx(alpha)).unwrap();
                assert_eq!((out.width, out.height, out.channels), (w, h, 3), "rotate,{angle}");
                let got: Vec<(u8, u8)> = out.data.chunks_exact(3).map(|p| (p[0], p[1])).collect();
                assert_eq!(got, want, "rotate,{angle}");
            }
        }
        // RGBA keeps its channels and alpha
        let f = Frame::from_raw(2, 1, 4, vec![1, 1, 1, 10, 2, 2, 2, 20]).unwrap();
        assert_eq!(apply(f, &Rotate { angle: 90 }, &cx(false)).unwrap().data, vec![1, 1, 1, 10, 2, 2, 2, 20]);
    }

    #[test]
    fn canvas_sizes() {
        // (source, angle) -> canvas
        type Row = ((u32, u32), u32, (u32, u32));
        let rows: &[Row] = &[
            ((10, 10), 45, (15, 15)),   // 14.14
            ((100, 50), 30, (112, 94)), // 86.6 + 25 = 111.6, 50 + 43.3 = 93.3
            ((100, 50), 330, (112, 94)),
            ((100, 50), 60, (94, 112)),
            ((100, 50), 135, (107, 107)), // 106.07
            ((1, 1), 45, (2, 2)),
            ((1, 1), 1, (2, 2)),
            ((7, 3), 359, (8, 4)),
            ((4096, 1), 89, (73, 4096)), // 4096 cos 89 + sin 89 = 72.48 ; 4095.38 + 0.017
        ];
        for &((w, h), angle, (cw, ch)) in rows {
            let out = apply(Frame::filled(w, h, &[1, 2, 3]), &Rotate { angle }, &cx(true)).unwrap();
            assert_eq!((out.width, out.height, out.channels), (cw, ch, 4), "{w}x{h} rotate,{angle}");
            assert_eq!(out.data.len(), (cw * ch * 4) as usize);
            assert_eq!(canvas(w, h, angle), (u64::from(cw), u64::from(ch)), "{w}x{h} rotate,{angle}");
        }
        // right angles keep or swap the sides
        assert_eq!(canvas(100, 50, 0), (100, 50));
        assert_eq!(canvas(100, 50, 90), (50, 100));
        assert_eq!(canvas(100, 50, 180), (100, 50));
        assert_eq!(canvas(100, 50, 270), (50, 100));
    }

    #[test]
    fn one_pixel_at_45() {
        // every canvas pixel centre is 0.707 px from the source pixel: weight 1 − 0.707
        let f = Frame::filled(1, 1, &[255, 0, 0]);
        let out = apply(f.clone(), &Rotate { angle: 45 }, &cx(true)).unwrap();
        assert_eq!(out.data, [255, 0, 0, 75].repeat(4));
        let out = apply(f, &Rotate { angle: 45 }, &cx(false)).unwrap();
        assert_eq!(out.data, [255, 180, 180].repeat(4));
    }

    #[test]
    fn uniform_source() {
        for alpha in [false, true] {
            let out =
                apply(Frame::filled(40, 20, &[10, 200, 30]), &Rotate { angle: 30 }, &cx(alpha)).unwrap();
            assert_eq!((out.width, out.height), (45, 38)); // 34.64 + 10, 20 + 17.32
            let (mut opaque, mut partial, mut empty, mut area) = (0, 0, 0, 0.0);
            for y in 0..out.height {
                for x in 0..out.width {
                    let p = out.pixel(x, y);
                    let class = if alpha {
                        area += f64::from(p[3]) / 255.0;
                        if p[3] > 0 {
                            // straight colour, exact wherever anything is covered
                            assert_eq!(&p[..3], &[10, 200, 30], "({x}, {y})");
                        }
                        p[3]
                    } else {
                        match p {
                            [10, 200, 30] => 255,
                            [255, 255, 255] => 0,
                            _ => 1,
                        }
                    };
                    match class {
                        255 => opaque += 1,
                        0 => empty += 1,
                        _ => partial += 1,
                    }
                }
            }
            // corners of the canvas are uncovered, the centre is the source, the edge is smooth
            assert!(empty > 0 && opaque > 0 && partial > 0, "{empty} {opaque} {partial}");
            assert_eq!(out.pixel(0, 0)[..3], if alpha { [0, 0, 0] } else { [255, 255, 255] });
            assert_eq!(out.pixel(22, 19)[..3], [10, 200, 30]);
            if alpha {
                assert!((area - 800.0).abs() < 8.0, "area {area}");
            }
        }
    }

    #[test]
    fn direction_is_clockwise() {
        // black 41x41 with a white 3x3 block 10 px right of the centre; 30° clockwise moves it
        // to (+8.66, +5) from the canvas centre: down and to the right
        let mut f = Frame::filled(41, 41, &[0, 0, 0]);
        for y in 19..22 {
            for x in 29..32 {
                let i = (y * 41 + x) * 3;
                f.data[i..i + 3].copy_from_slice(&[255, 255, 255]);
            }
        }
        let out = apply(f, &Rotate { angle: 30 }, &cx(false)).unwrap();
        assert_eq!((out.width, out.height), (57, 57));
        // canvas centre 28.5: the block's centre lands at (37.16, 33.5) -> pixel (37, 33)
        assert_eq!(out.pixel(37, 33), &[255, 255, 255]);
        assert_eq!(out.pixel(37, 23), &[0, 0, 0]);
        assert_eq!(out.pixel(28, 28), &[0, 0, 0]);
    }

    #[test]
    fn limits() {
        let too_large = |r: Result<Frame, OpError>| match r {
            Err(OpError::TooLarge { message, ec }) => {
                assert_eq!(ec, "0040-00000007");
                message
            }
            other => panic!("{other:?}"),
        };
        // the source side limit, for every angle
        let small = OpContext {
            limits: OutputLimits { max_side: 16_384, max_pixels: 16_777_216, max_rotate_side: 8 },
            ..cx(true)
        };
        for angle in [0, 45, 90] {
            let m = too_large(apply(Frame::filled(9, 1, &[0, 0, 0]), &Rotate { angle }, &small));
            assert!(m.contains("at most 8 pixels"), "{m}");
            let m = too_large(apply(Frame::filled(1, 9, &[0, 0, 0]), &Rotate { angle }, &small));
            assert!(m.contains("1x9"), "{m}");
        }
        assert!(apply(Frame::filled(8, 8, &[0, 0, 0]), &Rotate { angle: 45 }, &small).is_ok());
        assert!(check_side(8, 8, 8).is_ok());
        let m = match check_side(4100, 10, 4096) {
            Err(OpError::TooLarge { message, ec: "0040-00000007" }) => message,
            other => panic!("{other:?}"),
        };
        assert!(m.contains("4100x10") && m.contains("at most 4096 pixels"), "{m}");
        // `turn` leaves the side limit to its caller (the source was checked): only the output
        // limits hold
        for (angle, size) in [(0, (9, 1)), (45, (8, 8)), (90, (1, 9))] {
            let out = turn(Frame::filled(9, 1, &[0, 0, 0]), &Rotate { angle }, &small).unwrap();
            assert_eq!((out.width, out.height), size, "rotate,{angle}");
        }
        // the canvas: 4096x4096 at 45° would be 5793x5793 > 16777216 pixels (refused before
        // allocating); at 90° it is fine
        let big = Frame::filled(4096, 4096, &[0, 0, 0]);
        let m = too_large(apply(big.clone(), &Rotate { angle: 45 }, &cx(true)));
        assert!(m.contains("5793x5793"), "{m}");
        assert_eq!(apply(big, &Rotate { angle: 270 }, &cx(true)).unwrap().width, 4096);
        let tight = OpContext {
            limits: OutputLimits { max_side: 14, max_pixels: 1000, max_rotate_side: 4096 },
            ..cx(true)
        };
        too_large(apply(Frame::filled(10, 10, &[0, 0, 0]), &Rotate { angle: 45 }, &tight));
    }
}
