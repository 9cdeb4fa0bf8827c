//! `crop`: cut a `w`×`h` rectangle whose start point is the gravity's anchor plus the
//! `x`/`y` offsets.
//!
//! Rules (OSS): anchors, with `W`×`H` the source and halves rounded down term by term:
//! nw (0, 0); north (W/2 − w/2, 0); ne (W − w, 0); west (0, H/2 − h/2); center (W/2 − w/2,
//! H/2 − h/2); east (W − w, H/2 − h/2); sw (0, H − h); south (W/2 − w/2, H − h); se (W − w, H − h).
//! Then `x`/`y` are added. A start point at or beyond the right or bottom edge is the BadRequest
//! `Advance cut's position is out of image.`; a rectangle reaching beyond the edge is clipped.
//!
//! Choices where OSS is silent:
//! * `w`/`h` absent or 0 mean "to the edge" and count as `W`/`H` in the anchor formulas (so
//!   `g_center` without `w` starts at x = 0, and `g_se,x_10` without `w` starts at x = 10).
//! * A `w` (or `h`) larger than the image can put the anchor left of (or above) the image; the
//!   rectangle is then clipped at 0 like at the other edge, not refused: only `x`/`y` (never
//!   negative) can move the start point out of the image.
//!
//! OSS's documentation: `docs/oss/actions.md#crop`.

use crate::frame::{Frame, OpError};
use crate::op::resize::{Rect, crop_frame};
use crate::spec::{Crop, Gravity};

/// The BadRequest message OSS gives for a start point outside the image.
pub const OUT_OF_IMAGE: &str = "Advance cut's position is out of image.";

/// Crops `f` as `c` says.
pub fn apply(f: Frame, c: &Crop) -> Result<Frame, OpError> {
    let r = rect(f.width, f.height, c)?;
    if (r.x, r.y, r.w, r.h) == (0, 0, f.width, f.height) {
        return Ok(f);
    }
    Ok(crop_frame(&f, r))
}

/// The rectangle `c` cuts out of a `width`×`height` image.
pub fn rect(width: u32, height: u32, c: &Crop) -> Result<Rect, OpError> {
    let (iw, ih) = (i64::from(width), i64::from(height));
    let w = c.width.filter(|&w| w > 0).map_or(iw, i64::from);
    let h = c.height.filter(|&h| h > 0).map_or(ih, i64::from);
    let centre_x = iw / 2 - w / 2;
    let centre_y = ih / 2 - h / 2;
    let (ax, ay) = match c.gravity {
        Gravity::Nw => (0, 0),
        Gravity::North => (centre_x, 0),
        Gravity::Ne => (iw - w, 0),
        Gravity::West => (0, centre_y),
        Gravity::Center => (centre_x, centre_y),
        Gravity::East => (iw - w, centre_y),
        Gravity::Sw => (0, ih - h),
        Gravity::South => (centre_x, ih - h),
        Gravity::Se => (iw - w, ih - h),
    };
    let (sx, sy) = (ax + i64::from(c.x), ay + i64::from(c.y));
    if sx >= iw || sy >= ih {
        return Err(OpError::BadRequest(OUT_OF_IMAGE.into()));
    }
    let (x0, y0) = (sx.max(0), sy.max(0));
    let (x1, y1) = ((sx + w).min(iw), (sy + h).min(ih));
    if x1 <= x0 || y1 <= y0 {
        return Err(OpError::BadRequest(OUT_OF_IMAGE.into()));
    }
    // all four are within [0, u32::MAX] here
    let u = |v: i64| u32::try_from(v).unwrap_or(u32::MAX);
    Ok(Rect { x: u(x0), y: u(y0), w: u(x1 - x0), h: u(y1 - y0) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::grid;

    fn crop(width: Option<u32>, height: Option<u32>, x: u32, y: u32, gravity: Gravity) -> Crop {
        Crop { width, height, x, y, gravity }
    }

    #[test]
    fn table() {
        use Gravity::*;
        type Row =
            ((u32, u32), Option<u32>, Option<u32>, u32, u32, Gravity, Result<(u32, u32, u32, u32), ()>);
        let rows: &[Row] = &[
            // the OSS SDK tests: 400x267, crop,w_100,h_100,x_100,y_100 -> 100x100
            ((400, 267), Some(100), Some(100), 100, 100, Nw, Ok((100, 100, 100, 100))),
            // the nine anchors on 10x8 with 4x2
            ((10, 8), Some(4), Some(2), 0, 0, Nw, Ok((0, 0, 4, 2))),
            ((10, 8), Some(4), Some(2), 0, 0, North, Ok((3, 0, 4, 2))),
            ((10, 8), Some(4), Some(2), 0, 0, Ne, Ok((6, 0, 4, 2))),
            ((10, 8), Some(4), Some(2), 0, 0, West, Ok((0, 3, 4, 2))),
            ((10, 8), Some(4), Some(2), 0, 0, Center, Ok((3, 3, 4, 2))),
            ((10, 8), Some(4), Some(2), 0, 0, East, Ok((6, 3, 4, 2))),
            ((10, 8), Some(4), Some(2), 0, 0, Sw, Ok((0, 6, 4, 2))),
            ((10, 8), Some(4), Some(2), 0, 0, South, Ok((3, 6, 4, 2))),
            ((10, 8), Some(4), Some(2), 0, 0, Se, Ok((6, 6, 4, 2))),
            // halves rounded down term by term: 4/2 - 3/2 = 1 (not (4-3)/2 = 0)
            ((4, 4), Some(3), Some(3), 0, 0, Center, Ok((1, 1, 3, 3))),
            ((5, 5), Some(2), Some(2), 0, 0, Center, Ok((1, 1, 2, 2))),
            // offsets are added to the anchor, the size is clipped to the edge
            ((10, 8), Some(4), Some(2), 2, 1, Center, Ok((5, 4, 4, 2))),
            ((10, 8), Some(4), Some(2), 2, 1, Se, Ok((8, 7, 2, 1))),
            ((10, 8), Some(4), Some(4), 7, 6, Nw, Ok((7, 6, 3, 2))),
            ((10, 8), Some(4), Some(2), 3, 5, Se, Err(())),
            ((10, 8), None, None, 9, 7, Nw, Ok((9, 7, 1, 1))),
            // start point outside the image
            ((10, 8), None, None, 10, 0, Nw, Err(())),
            ((10, 8), None, None, 0, 8, Nw, Err(())),
            ((10, 8), Some(4), Some(2), 4, 0, Ne, Err(())),
            ((10, 8), Some(4), Some(2), 0, u32::MAX, Center, Err(())),
            // absent or 0 = to the edge (and the image size in the anchor formulas)
            ((10, 8), None, None, 0, 0, Nw, Ok((0, 0, 10, 8))),
            ((10, 8), None, None, 3, 2, Nw, Ok((3, 2, 7, 6))),
            ((10, 8), Some(0), Some(0), 3, 2, Nw, Ok((3, 2, 7, 6))),
            ((10, 8), None, Some(2), 0, 0, Center, Ok((0, 3, 10, 2))),
            ((10, 8), Some(0), None, 4, 0, Se, Ok((4, 0, 6, 8))),
            // larger than the image: clipped on both sides
            ((10, 8), Some(30), Some(2), 0, 0, Center, Ok((0, 3, 10, 2))),
            ((10, 8), Some(30), Some(100), 0, 0, Se, Ok((0, 0, 10, 8))),
            ((10, 8), Some(u32::MAX), Some(u32::MAX), 0, 0, South, Ok((0, 0, 10, 8))),
            ((10, 8), Some(u32::MAX), Some(1), 5, 0, Nw, Ok((5, 0, 5, 1))),
            ((1, 1), Some(1), Some(1), 0, 0, Center, Ok((0, 0, 1, 1))),
        ];
        for &((fw, fh), w, h, x, y, g, want) in rows {
            let c = crop(w, h, x, y, g);
            let got = apply(grid(fw, fh), &c);
            match (want, got) {
                (Ok((rx, ry, rw, rh)), Ok(out)) => {
                    assert_eq!((out.width, out.height, out.channels), (rw, rh, 3), "{fw}x{fh} {c:?}");
                    assert_eq!(out.pixel(0, 0), &[rx as u8, ry as u8, 7], "{c:?}");
                    let last = [(rx + rw - 1) as u8, (ry + rh - 1) as u8, 7];
                    assert_eq!(out.pixel(rw - 1, rh - 1), &last, "{c:?}");
                    assert_eq!(rect(fw, fh, &c), Ok(Rect { x: rx, y: ry, w: rw, h: rh }));
                }
                (Err(()), Err(e)) => assert_eq!(e, OpError::BadRequest(OUT_OF_IMAGE.into()), "{c:?}"),
                (want, got) => panic!("{fw}x{fh} {c:?}: want {want:?}, got {got:?}"),
            }
        }
    }

    #[test]
    fn whole_image_is_the_same_frame() {
        let f = Frame::from_raw(2, 1, 4, vec![1, 2, 3, 4, 5, 6, 7, 8]).unwrap();
        assert_eq!(apply(f.clone(), &crop(None, None, 0, 0, Gravity::Center)), Ok(f.clone()));
        let out = apply(f, &crop(Some(1), None, 1, 0, Gravity::Nw)).unwrap();
        assert_eq!((out.width, out.height, out.channels, out.data), (1, 1, 4, vec![5, 6, 7, 8]));
    }
}
