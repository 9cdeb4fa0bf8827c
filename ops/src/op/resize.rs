//! `resize`: the size arithmetic, not the resampling. [`plan`] turns the parameters and
//! the source size into a [`ResizePlan`]: resample the whole source to `width`×`height`, then cut
//! `crop` out of it (`m_fill`) or place it on a `pad` canvas (`m_pad`). [`crop_frame`] and
//! [`pad_frame`] carry out those two steps; the resampling itself lives elsewhere.
//!
//! Rules (OSS):
//! * `lfit`: keep the ratio, the largest size inside the box; `mfit`: keep the ratio, the smallest
//!   size covering the box; `fill`: `mfit`, then the box cut from the centre; `pad`: `lfit`, then
//!   centred on a box-sized canvas of `color`; `fixed`: the box itself (distorts). Worked example,
//!   200×100 with `w_150,h_80`: lfit 150×75, mfit 160×80, fill 160×80 cut to 150×80, pad 150×75 on
//!   150×80, fixed 150×80.
//! * A proportional side is rounded half up (`lfit`/`mfit` per OSS; Pixgate uses the same
//!   rounding for `p`, `P` and `l`/`s`, where OSS does not say), and is never below 1.
//! * With a single `w` or `h` in `lfit`/`mfit` the other side follows the ratio. The fixed-size
//!   modes (`fixed`/`fill`/`pad`) with a single side use it for both (the parser already does this;
//!   the planner repeats it for hand-built values).
//! * `l`/`s`: the box turned to the source's orientation: the source's longer side (the width when
//!   the source is square) gets `l`, the shorter one `s`; then the mode applies as for `w`/`h`.
//!   So `l` alone scales the longer side to `l`, `s` alone the shorter side to `s`.
//! * `p`: both sides times `p`/100.
//!
//! Choices where OSS is silent:
//! * `limit_1` (default): when the resample size would be larger than the source in **either**
//!   side, the whole resize is the identity: the result keeps the source size, with no crop and no
//!   padding. For `fill` and `pad` the resample size is the `mfit`/`lfit` size, so `fill` or `pad`
//!   to a box that would need enlarging returns the source unchanged (not cropped, not padded).
//!   For `fixed` a box that enlarges one side and shrinks the other also returns the source. The
//!   planner applies `limit` to `p` > 100 as well (the parser keeps `limit` for it).
//! * `P` (watermark pre-processing, percent of the **main** image): the box is the main image's
//!   size times `P`/100 (rounded half up, at least 1), then the mode applies as for `w`/`h`, but
//!   not `limit`: the watermark is scaled to `P`% of the main image whatever its own size, up as
//!   well as down (OSS: `P_10` gives a 10×10 watermark on a 100×100 image and a 20×20 one on a
//!   200×200 image). The output limits still apply. [`plan_with_main`] takes the main image's
//!   size; [`plan`] uses the source itself.
//! * `pad`: the canvas is opaque `color` whatever the output format (OSS documents only the
//!   colour), and the resampled pixels are copied onto it unchanged (their own alpha is kept).
//! * The centre of `fill`/`pad` is rounded down: the left/top part gets the smaller half.
//! * Output limits (EC 0040-00000007) are checked on the resample size and the pad canvas; an
//!   identity plan allocates nothing and is not checked.
//!
//! OSS's documentation: `docs/oss/actions.md#resize`.

use crate::frame::{Frame, OpContext, OpError, OutputLimits};
use crate::spec::{Resize, ResizeMode};

/// A rectangle inside an image, in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rect {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
}

/// Where a resampled image goes on a larger canvas (`m_pad`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pad {
    pub canvas_w: u32,
    pub canvas_h: u32,
    /// Offset of the image's top-left corner on the canvas.
    pub x: u32,
    pub y: u32,
    /// Opaque canvas colour (`resize,color_`).
    pub color: [u8; 3],
}

/// What a `resize` does to one image: resample the whole source to `width`×`height`, then
/// optionally cut `crop` out of the result (fill) or place the result on `pad` (pad).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResizePlan {
    pub width: u32,
    pub height: u32,
    pub crop: Option<Rect>,
    pub pad: Option<Pad>,
}

impl ResizePlan {
    /// The plan that keeps the image as it is.
    fn identity(src_w: u32, src_h: u32) -> ResizePlan {
        ResizePlan { width: src_w, height: src_h, crop: None, pad: None }
    }

    /// Does this plan leave a `src_w`×`src_h` image unchanged? (A crop of the whole resampled
    /// image or a canvas of its own size at (0, 0) changes nothing either.)
    pub fn is_identity(&self, src_w: u32, src_h: u32) -> bool {
        let (w, h) = (self.width, self.height);
        let crop_ok = self.crop.is_none_or(|r| r == Rect { x: 0, y: 0, w, h });
        let pad_ok = self.pad.is_none_or(|p| p.canvas_w == w && p.canvas_h == h && p.x == 0 && p.y == 0);
        w == src_w && h == src_h && crop_ok && pad_ok
    }
}

/// Plans a resize of a `src_w`×`src_h` image. `P` (percent of the main image) is taken relative
/// to the source itself; inside a watermark use [`plan_with_main`].
pub fn plan(src_w: u32, src_h: u32, r: &Resize, limits: &OutputLimits) -> Result<ResizePlan, OpError> {
    plan_with_main(src_w, src_h, (src_w, src_h), r, limits)
}

/// Plans a resize of a `src_w`×`src_h` watermark image whose `P` refers to the main image of
/// size `main` (width, height).
pub fn plan_with_main(
    src_w: u32,
    src_h: u32,
    main: (u32, u32),
    r: &Resize,
    limits: &OutputLimits,
) -> Result<ResizePlan, OpError> {
    if src_w == 0 || src_h == 0 {
        return Ok(ResizePlan::identity(src_w, src_h));
    }
    let (sw, sh) = (u64::from(src_w), u64::from(src_h));
    // a side of 0 (never parsed, possible in hand-built values) counts as absent
    let side = |v: Option<u32>| v.filter(|&v| v > 0).map(u64::from);
    let (width, height, long, short) = (side(r.width), side(r.height), side(r.long), side(r.short));
    let (percent, percent_of_main) = (r.percent.filter(|&p| p > 0), r.percent_of_main.filter(|&p| p > 0));

    // The target: a box (one or two sides) or a percentage.
    let by_side = width.is_some() || height.is_some() || long.is_some() || short.is_some();
    let (bw, bh) = if width.is_some() || height.is_some() {
        (width, height)
    } else if long.is_some() || short.is_some() {
        if sw >= sh { (long, short) } else { (short, long) }
    } else if let Some(pm) = percent_of_main {
        let pm = u64::from(pm);
        let side = |v: u32| mul_div_round(u64::from(v), pm, 100).max(1);
        (Some(side(main.0)), Some(side(main.1)))
    } else if let Some(p) = percent {
        let p = u64::from(p);
        (Some(mul_div_round(sw, p, 100).max(1)), Some(mul_div_round(sh, p, 100).max(1)))
    } else {
        return Ok(ResizePlan::identity(src_w, src_h));
    };
    // `p` is a fixed size already computed from the ratio; `P` is a box the mode applies to
    let mode = if by_side || percent_of_main.is_some() { r.mode } else { ResizeMode::Fixed };

    let (bw, bh) = match (mode, bw, bh) {
        (_, Some(w), Some(h)) => (Some(w), Some(h)),
        // a fixed-size box with one side is a square
        (ResizeMode::Fixed | ResizeMode::Fill | ResizeMode::Pad, Some(v), None)
        | (ResizeMode::Fixed | ResizeMode::Fill | ResizeMode::Pad, None, Some(v)) => (Some(v), Some(v)),
        (_, w, h) => (w, h),
    };

    let fit = |cover: bool| -> (u64, u64) {
        match (bw, bh) {
            (Some(w), Some(h)) => {
                // compare w/sw with h/sh without division
                let width_rules = u128::from(w) * u128::from(sh) <= u128::from(h) * u128::from(sw);
                if width_rules != cover {
                    (w, mul_div_round(sh, w, sw).max(1))
                } else {
                    (mul_div_round(sw, h, sh).max(1), h)
                }
            }
            (Some(w), None) => (w, mul_div_round(sh, w, sw).max(1)),
            (None, Some(h)) => (mul_div_round(sw, h, sh).max(1), h),
            (None, None) => (sw, sh),
        }
    };
    // (resample size, box for fill/pad)
    let (size, boxed) = match mode {
        ResizeMode::Lfit => (fit(false), None),
        ResizeMode::Mfit => (fit(true), None),
        ResizeMode::Fixed => (fit_fixed(bw, bh, sw, sh), None),
        ResizeMode::Fill => (fit(true), bw.zip(bh)),
        ResizeMode::Pad => (fit(false), bw.zip(bh)),
    };
    // a box from `P` is relative to the main image, not to the watermark: `limit` does not apply
    let limit = r.limit && (by_side || percent_of_main.is_none());
    if limit && (size.0 > sw || size.1 > sh) {
        return Ok(ResizePlan::identity(src_w, src_h));
    }

    let (width, height) = checked(size.0, size.1, limits)?;
    let mut plan = ResizePlan { width, height, crop: None, pad: None };
    match (mode, boxed) {
        (ResizeMode::Fill, Some((w, h))) if (w, h) != size => {
            // mfit covers the box: both sides are at least the box's (clamped for safety)
            let (w, h) = (w.min(size.0), h.min(size.1));
            let (cw, ch) = checked(w, h, limits)?;
            plan.crop = Some(Rect { x: (width - cw) / 2, y: (height - ch) / 2, w: cw, h: ch });
        }
        (ResizeMode::Pad, Some((w, h))) if (w, h) != size => {
            // lfit fits inside the box: both sides are at most the box's (clamped for safety)
            let (w, h) = (w.max(size.0), h.max(size.1));
            let (cw, ch) = checked(w, h, limits)?;
            let color = [r.color.r, r.color.g, r.color.b];
            plan.pad =
                Some(Pad { canvas_w: cw, canvas_h: ch, x: (cw - width) / 2, y: (ch - height) / 2, color });
        }
        _ => {}
    }
    Ok(plan)
}

/// `m_fixed`: the box; a missing side (hand-built values only) keeps the source's.
fn fit_fixed(bw: Option<u64>, bh: Option<u64>, sw: u64, sh: u64) -> (u64, u64) {
    (bw.unwrap_or(sw), bh.unwrap_or(sh))
}

/// `a * b / c` rounded half up (`c` ≥ 1), saturating at `u64::MAX`.
fn mul_div_round(a: u64, b: u64, c: u64) -> u64 {
    let c = u128::from(c.max(1));
    let v = (u128::from(a).saturating_mul(u128::from(b)).saturating_mul(2).saturating_add(c)) / (2 * c);
    u64::try_from(v).unwrap_or(u64::MAX)
}

/// Checks a size against the output limits (EC 0040-00000007) and converts it to `u32`.
fn checked(w: u64, h: u64, limits: &OutputLimits) -> Result<(u32, u32), OpError> {
    let (w32, h32) = (u32::try_from(w).unwrap_or(u32::MAX), u32::try_from(h).unwrap_or(u32::MAX));
    limits.check(w32, h32)?;
    if u64::from(w32) != w || u64::from(h32) != h {
        return Err(OpError::TooLarge {
            message: format!("The output would be {w}x{h}, which is too large."),
            ec: "0040-00000007",
        });
    }
    Ok((w32, h32))
}

/// Carry out a resize: plan it for a `logical` source size (the oriented source when the frame
/// was shrunk on load; otherwise the frame's own size) with `P` relative to `main`, resample,
/// then cut or pad.
pub fn apply(
    frame: Frame,
    logical: (u32, u32),
    main: (u32, u32),
    r: &Resize,
    cx: &OpContext,
) -> Result<Frame, OpError> {
    let plan = plan_with_main(logical.0, logical.1, main, r, &cx.limits)?;
    let mut f = if (plan.width, plan.height) == (frame.width, frame.height) {
        frame
    } else {
        crate::op::resample::resample(&frame, plan.width, plan.height)
    };
    if let Some(rect) = plan.crop {
        f = crop_frame(&f, rect);
    }
    if let Some(pad) = &plan.pad {
        f = pad_frame(&f, pad, cx);
    }
    Ok(f)
}

/// The part of `f` inside `r`. `r` is clipped to the frame, and the result is at least 1×1 when
/// the frame is not empty.
pub fn crop_frame(f: &Frame, r: Rect) -> Frame {
    let c = usize::from(f.channels);
    if f.width == 0 || f.height == 0 {
        return Frame { width: 0, height: 0, channels: f.channels, data: Vec::new() };
    }
    let x = r.x.min(f.width - 1);
    let y = r.y.min(f.height - 1);
    let w = r.w.clamp(1, f.width - x);
    let h = r.h.clamp(1, f.height - y);
    if (x, y, w, h) == (0, 0, f.width, f.height) {
        return f.clone();
    }
    let stride = f.stride();
    let (start, len) = (x as usize * c, w as usize * c);
    let mut data = Vec::with_capacity(len * h as usize);
    for row in f.data.chunks_exact(stride).skip(y as usize).take(h as usize) {
        data.extend_from_slice(&row[start..start + len]);
    }
    Frame { width: w, height: h, channels: f.channels, data }
}

/// `f` placed at (`pad.x`, `pad.y`) on a `pad.canvas_w`×`pad.canvas_h` canvas of opaque
/// `pad.color`; the frame keeps its channel count (and its pixels their alpha). Parts of the
/// frame beyond the canvas are cut off. The size was checked against `cx.limits` by [`plan`].
pub fn pad_frame(f: &Frame, pad: &Pad, cx: &OpContext) -> Frame {
    debug_assert!(cx.limits.check(pad.canvas_w, pad.canvas_h).is_ok());
    let [r, g, b] = pad.color;
    let fill: &[u8] = if f.channels == 4 { &[r, g, b, 255] } else { &[r, g, b] };
    let mut out = Frame::filled(pad.canvas_w, pad.canvas_h, fill);
    if pad.x >= pad.canvas_w || pad.y >= pad.canvas_h || f.width == 0 {
        return out;
    }
    let c = usize::from(f.channels);
    let len = f.width.min(pad.canvas_w - pad.x) as usize * c;
    let h = f.height.min(pad.canvas_h - pad.y) as usize;
    let dst_x = pad.x as usize * c;
    let dst_rows = out.data.chunks_exact_mut(out.width as usize * c).skip(pad.y as usize);
    for (src, dst) in f.data.chunks_exact(f.stride()).take(h).zip(dst_rows) {
        dst[dst_x..dst_x + len].copy_from_slice(&src[..len]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{Action, Rgb, parse_image};

    fn resize(s: &str) -> Resize {
        match parse_image(&format!("image/resize,{s}")).unwrap().actions.pop() {
            Some(Action::Resize(r)) => r,
            other => panic!("{other:?}"),
        }
    }

    fn rect(x: u32, y: u32, w: u32, h: u32) -> Option<Rect> {
        Some(Rect { x, y, w, h })
    }

    fn pad(canvas_w: u32, canvas_h: u32, x: u32, y: u32, color: [u8; 3]) -> Option<Pad> {
        Some(Pad { canvas_w, canvas_h, x, y, color })
    }

    const WHITE: [u8; 3] = [255, 255, 255];

    #[test]
    fn plans() {
        type Row = (u32, u32, &'static str, (u32, u32), Option<Rect>, Option<Pad>);
        let rows: &[Row] = &[
            // worked example (docs/oss/actions.md#resize-examples): 200x100, w_150,h_80
            (200, 100, "m_lfit,w_150,h_80", (150, 75), None, None),
            (200, 100, "m_mfit,w_150,h_80", (160, 80), None, None),
            (200, 100, "m_fill,w_150,h_80", (160, 80), rect(5, 0, 150, 80), None),
            (200, 100, "m_pad,w_150,h_80", (150, 75), None, pad(150, 80, 0, 2, WHITE)),
            (200, 100, "m_fixed,w_150,h_80", (150, 80), None, None),
            (200, 100, "m_pad,w_150,h_80,color_ff0000", (150, 75), None, pad(150, 80, 0, 2, [255, 0, 0])),
            // single side: proportional
            (200, 100, "w_100", (100, 50), None, None),
            (200, 100, "h_10", (20, 10), None, None),
            (200, 100, "m_mfit,h_10", (20, 10), None, None),
            // half-up rounding, never below 1
            (3, 2, "w_2", (2, 1), None, None),      // 2*2/3 = 1.33
            (5, 3, "w_4", (4, 2), None, None),      // 3*4/5 = 2.4
            (4, 3, "w_2", (2, 2), None, None),      // 3*2/4 = 1.5 -> 2
            (1000, 1, "w_10", (10, 1), None, None), // 0.01 -> 1
            (1, 1000, "w_1,h_5", (1, 5), None, None),
            // fixed-size modes with a single side: square box (OSS: 200x100, h=100 -> 100x100)
            (200, 100, "m_fixed,h_100", (100, 100), None, None),
            (200, 100, "m_fill,w_50", (100, 50), rect(25, 0, 50, 50), None),
            (200, 100, "m_pad,h_50", (50, 25), None, pad(50, 50, 0, 12, WHITE)),
            // tall source in fill/pad: offsets on the other axis, rounded down
            (100, 200, "m_fill,w_50,h_50", (50, 100), rect(0, 25, 50, 50), None),
            (100, 201, "m_pad,w_50,h_50", (25, 50), None, pad(50, 50, 12, 0, WHITE)),
            // box with the source's ratio: no crop, no pad
            (200, 100, "m_fill,w_100,h_50", (100, 50), None, None),
            (200, 100, "m_pad,w_100,h_50", (100, 50), None, None),
            // l / s: the box turned to the source's orientation
            (200, 100, "l_100", (100, 50), None, None),
            (100, 200, "l_100", (50, 100), None, None),
            (200, 100, "s_50", (100, 50), None, None),
            (100, 200, "s_50", (50, 100), None, None),
            (400, 100, "l_200,s_100", (200, 50), None, None),
            (400, 100, "m_mfit,l_200,s_100", (400, 100), None, None),
            (400, 100, "m_fixed,l_200,s_20", (200, 20), None, None),
            (100, 400, "m_fixed,l_200,s_20", (20, 200), None, None),
            (100, 100, "m_fixed,l_60,s_20", (60, 20), None, None),
            (400, 100, "m_fill,l_100,s_100", (400, 100), rect(150, 0, 100, 100), None),
            // percent
            (200, 100, "p_50", (100, 50), None, None),
            (3, 3, "p_50", (2, 2), None, None), // 1.5 -> 2
            (10, 1, "p_1", (1, 1), None, None),
            (200, 100, "p_100", (200, 100), None, None),
            (200, 100, "p_200,limit_0", (400, 200), None, None),
            (200, 100, "p_200", (200, 100), None, None),
            // limit_1: no enlarging -> the source size, unchanged
            (200, 100, "w_400", (200, 100), None, None),
            (200, 100, "w_400,limit_0", (400, 200), None, None),
            (200, 100, "m_mfit,w_150,h_150", (200, 100), None, None),
            (200, 100, "m_mfit,w_150,h_150,limit_0", (300, 150), None, None),
            (200, 100, "m_fixed,w_150,h_150", (200, 100), None, None),
            (200, 100, "m_fixed,w_150,h_150,limit_0", (150, 150), None, None),
            (200, 100, "m_fill,w_150,h_150", (200, 100), None, None),
            (200, 100, "m_fill,w_150,h_150,limit_0", (300, 150), rect(75, 0, 150, 150), None),
            (200, 100, "m_pad,w_300,h_300", (200, 100), None, None),
            (200, 100, "m_pad,w_300,h_300,limit_0", (300, 150), None, pad(300, 300, 0, 75, WHITE)),
            (200, 100, "m_pad,w_300,h_50", (100, 50), None, pad(300, 50, 100, 0, WHITE)),
            (200, 100, "w_200,h_100", (200, 100), None, None),
            // 900x7321 with lfit w_1600 keeps the source size (an observed OSS response)
            (900, 7321, "m_lfit,w_1600", (900, 7321), None, None),
        ];
        let limits = OutputLimits::default();
        for &(sw, sh, params, (w, h), crop, pad) in rows {
            let got = plan(sw, sh, &resize(params), &limits);
            let want = ResizePlan { width: w, height: h, crop, pad };
            assert_eq!(got, Ok(want), "{sw}x{sh} resize,{params}");
        }
    }

    #[test]
    fn percent_of_main() {
        let r = Resize {
            mode: ResizeMode::Lfit,
            width: None,
            height: None,
            long: None,
            short: None,
            percent: None,
            percent_of_main: Some(10),
            limit: true,
            color: Rgb::WHITE,
        };
        let l = OutputLimits::default();
        // main 100x100, watermark 100x100 -> 10x10 (docs/oss/actions.md#watermark-image)
        assert_eq!(plan_with_main(100, 100, (100, 100), &r, &l).unwrap(), ResizePlan::identity(10, 10));
        // box 100x50 from a 1000x500 main; a 200x200 watermark fits as 50x50
        assert_eq!(plan_with_main(200, 200, (1000, 500), &r, &l).unwrap(), ResizePlan::identity(50, 50));
        // without a main image: relative to the source itself
        assert_eq!(plan(300, 200, &r, &l).unwrap(), ResizePlan::identity(30, 20));
        // a watermark smaller than the box is enlarged, whatever `limit` says
        assert_eq!(plan_with_main(20, 20, (1000, 1000), &r, &l).unwrap(), ResizePlan::identity(100, 100));
        let r0 = Resize { limit: false, ..r.clone() };
        assert_eq!(plan_with_main(20, 20, (1000, 1000), &r0, &l).unwrap(), ResizePlan::identity(100, 100));
        let r50 = Resize { percent_of_main: Some(50), ..r.clone() };
        assert_eq!(plan_with_main(10, 10, (100, 100), &r50, &l).unwrap(), ResizePlan::identity(50, 50));
        assert_eq!(plan_with_main(400, 400, (100, 100), &r, &l).unwrap(), ResizePlan::identity(10, 10));
        // the mode still applies: mfit covers the box, fill cuts it out
        let mfit = Resize { mode: ResizeMode::Mfit, ..r.clone() };
        assert_eq!(plan_with_main(10, 20, (200, 200), &mfit, &l).unwrap(), ResizePlan::identity(20, 40));
        let fill = Resize { mode: ResizeMode::Fill, ..r.clone() };
        assert_eq!(
            plan_with_main(10, 20, (200, 200), &fill, &l).unwrap(),
            ResizePlan { width: 20, height: 40, crop: rect(0, 10, 20, 20), pad: None }
        );
        // the output limits still hold
        let small = OutputLimits { max_side: 40, ..l };
        let too_large = plan_with_main(10, 10, (100, 100), &r50, &small);
        assert!(matches!(too_large, Err(OpError::TooLarge { ec: "0040-00000007", .. })), "{too_large:?}");
    }

    #[test]
    fn limits() {
        let l = OutputLimits::default();
        let too_large = |res: Result<ResizePlan, OpError>| {
            matches!(res, Err(OpError::TooLarge { ec: "0040-00000007", .. }))
        };
        // side over 16384
        assert_eq!(plan(100, 100, &resize("p_1000,limit_0"), &l), Ok(ResizePlan::identity(1000, 1000)));
        assert!(too_large(plan(2000, 10, &resize("p_1000,limit_0"), &l)));
        // pixels over 16777216
        assert!(too_large(plan(100, 100, &resize("m_fixed,w_5000,h_5000,limit_0"), &l)));
        assert!(too_large(plan(1, 16384, &resize("w_16384,limit_0"), &l)));
        // pad canvas checked too (the resample fits, the canvas does not)
        let small = OutputLimits { max_side: 1000, max_pixels: 1_000_000, max_rotate_side: 4096 };
        assert!(plan(2000, 100, &resize("m_pad,w_900,h_900"), &small).is_ok());
        assert!(too_large(plan(100, 2000, &resize("m_pad,w_1001,h_10,limit_0"), &small)));
        let tiny = OutputLimits { max_side: 100, max_pixels: 6_000, max_rotate_side: 4096 };
        assert!(too_large(plan(200, 100, &resize("m_pad,w_100,h_100"), &tiny)));
        // identity plans allocate nothing: not checked
        assert_eq!(plan(10_000, 20_000, &resize("w_16384"), &l), Ok(ResizePlan::identity(10_000, 20_000)));
        assert_eq!(plan(20_000, 20_000, &resize("w_4000"), &l), Ok(ResizePlan::identity(4_000, 4_000)));
        assert!(too_large(plan(20_000, 20_000, &resize("w_16384"), &l)));
        assert!(too_large(plan(20_000, 20_000, &resize("p_90"), &l)));
        assert_eq!(plan(20_000, 20_000, &resize("p_200"), &l), Ok(ResizePlan::identity(20_000, 20_000)));
        // extreme hand-built values never panic
        let huge = Resize {
            mode: ResizeMode::Mfit,
            width: Some(u32::MAX),
            height: Some(1),
            long: None,
            short: None,
            percent: None,
            percent_of_main: None,
            limit: false,
            color: Rgb::WHITE,
        };
        assert!(too_large(plan(1, u32::MAX, &huge, &l)));
        assert!(too_large(plan(
            u32::MAX,
            u32::MAX,
            &Resize { width: None, height: None, percent: Some(1000), ..huge.clone() },
            &l
        )));
        assert_eq!(plan(0, 5, &huge, &l), Ok(ResizePlan::identity(0, 5)));
        let zero = Resize { width: Some(0), height: None, mode: ResizeMode::Fill, ..huge.clone() };
        assert_eq!(plan(7, 5, &zero, &l), Ok(ResizePlan::identity(7, 5)));
        let zero = Resize { height: Some(3), ..zero };
        assert_eq!(
            plan(7, 5, &zero, &l),
            Ok(ResizePlan { width: 4, height: 3, crop: rect(0, 0, 3, 3), pad: None })
        );
    }

    #[test]
    fn identity() {
        let rows: &[(ResizePlan, bool)] = &[
            (ResizePlan::identity(10, 5), true),
            (ResizePlan { width: 10, height: 5, crop: rect(0, 0, 10, 5), pad: None }, true),
            (ResizePlan { width: 10, height: 5, crop: rect(0, 0, 9, 5), pad: None }, false),
            (ResizePlan { width: 10, height: 5, crop: None, pad: pad(10, 5, 0, 0, WHITE) }, true),
            (ResizePlan { width: 10, height: 5, crop: None, pad: pad(10, 6, 0, 0, WHITE) }, false),
            (ResizePlan::identity(10, 6), false),
        ];
        for (p, want) in rows {
            assert_eq!(p.is_identity(10, 5), *want, "{p:?}");
        }
    }

    /// A frame whose pixel (x, y) is [x, y, 7] (plus alpha 200 when `channels` is 4).
    fn grid(w: u32, h: u32, channels: u8) -> Frame {
        let mut data = Vec::new();
        for y in 0..h {
            for x in 0..w {
                data.extend_from_slice(&[x as u8, y as u8, 7]);
                if channels == 4 {
                    data.push(200);
                }
            }
        }
        Frame::from_raw(w, h, channels, data).unwrap()
    }

    #[test]
    fn crop_frame_cases() {
        let f = grid(5, 4, 3);
        // (rect, expected size, expected top-left pixel)
        let rows: &[(Rect, (u32, u32), [u8; 2])] = &[
            (Rect { x: 1, y: 2, w: 3, h: 2 }, (3, 2), [1, 2]),
            (Rect { x: 0, y: 0, w: 5, h: 4 }, (5, 4), [0, 0]),
            (Rect { x: 3, y: 1, w: 10, h: 10 }, (2, 3), [3, 1]), // clipped
            (Rect { x: 9, y: 9, w: 0, h: 0 }, (1, 1), [4, 3]),   // clamped, at least 1x1
        ];
        for &(r, (w, h), first) in rows {
            let out = crop_frame(&f, r);
            assert_eq!((out.width, out.height, out.channels), (w, h, 3), "{r:?}");
            assert_eq!(out.data.len(), (w * h * 3) as usize);
            assert_eq!(out.pixel(0, 0)[..2], first);
            assert_eq!(out.pixel(w - 1, h - 1)[..2], [first[0] + w as u8 - 1, first[1] + h as u8 - 1]);
        }
        let rgba = crop_frame(&grid(3, 3, 4), Rect { x: 1, y: 1, w: 1, h: 1 });
        assert_eq!(rgba.data, vec![1, 1, 7, 200]);
    }

    #[test]
    fn pad_frame_cases() {
        let cx = OpContext::default();
        let p = Pad { canvas_w: 4, canvas_h: 3, x: 1, y: 1, color: [9, 8, 7] };
        let out = pad_frame(&grid(2, 1, 3), &p, &cx);
        assert_eq!((out.width, out.height, out.channels), (4, 3, 3));
        #[rustfmt::skip]
        let want = vec![
            9, 8, 7,  9, 8, 7,  9, 8, 7,  9, 8, 7,
            9, 8, 7,  0, 0, 7,  1, 0, 7,  9, 8, 7,
            9, 8, 7,  9, 8, 7,  9, 8, 7,  9, 8, 7,
        ];
        assert_eq!(out.data, want);
        // RGBA keeps 4 channels; the canvas is opaque, the image keeps its alpha
        let out =
            pad_frame(&grid(1, 1, 4), &Pad { canvas_w: 2, canvas_h: 1, x: 1, y: 0, color: [1, 2, 3] }, &cx);
        assert_eq!(out.data, vec![1, 2, 3, 255, 0, 0, 7, 200]);
        // an image reaching beyond the canvas is cut off; an offset outside leaves the canvas
        let out =
            pad_frame(&grid(3, 3, 3), &Pad { canvas_w: 2, canvas_h: 2, x: 1, y: 1, color: [5, 5, 5] }, &cx);
        assert_eq!(out.data, vec![5, 5, 5, 5, 5, 5, 5, 5, 5, 0, 0, 7]);
        let out =
            pad_frame(&grid(3, 3, 3), &Pad { canvas_w: 2, canvas_h: 2, x: 2, y: 0, color: [5, 5, 5] }, &cx);
        assert_eq!(out.data, vec![5; 12]);
    }

    #[test]
    fn plan_then_frames() {
        // worked example carried out on a frame standing for the resampled image
        let cx = OpContext::default();
        let p = plan(200, 100, &resize("m_fill,w_150,h_80"), &cx.limits).unwrap();
        let resampled = grid(p.width, p.height, 3);
        let out = crop_frame(&resampled, p.crop.unwrap());
        assert_eq!((out.width, out.height), (150, 80));
        assert_eq!(out.pixel(0, 0)[..2], [5, 0]);
        let p = plan(200, 100, &resize("m_pad,w_150,h_80"), &cx.limits).unwrap();
        let out = pad_frame(&grid(p.width, p.height, 3), &p.pad.unwrap(), &cx);
        assert_eq!((out.width, out.height), (150, 80));
        assert_eq!(out.pixel(0, 1), &[255, 255, 255]);
        assert_eq!(out.pixel(0, 2), &[0, 0, 7]);
        assert_eq!(out.pixel(149, 76), &[149, 74, 7]);
        assert_eq!(out.pixel(149, 77), &[255, 255, 255]);
    }
}
