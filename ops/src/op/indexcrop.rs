//! `indexcrop`: cut the image into slices of `x` pixels along the width (`x_`) or of
//! `y` pixels along the height (`y_`) and keep slice `i` (0-based).
//!
//! Rules (OSS): `i` at or beyond the slice count returns the original image unchanged (doc
//! example `indexcrop,y_100,i_10`). The parser has already picked the axis (`y` wins over `x`).
//!
//! Choices where OSS is silent: the last slice is the remainder and may be narrower
//! (derived); a slice size at least the image's side gives one slice, the whole image.
//!
//! OSS's documentation: `docs/oss/actions.md#indexcrop`.

use crate::frame::{Frame, OpError};
use crate::op::resize::{Rect, crop_frame};
use crate::spec::{IndexAxis, IndexCrop};

/// Keeps slice `c.index` of `f`.
pub fn apply(f: Frame, c: &IndexCrop) -> Result<Frame, OpError> {
    match rect(f.width, f.height, c) {
        Some(r) if (r.w, r.h) != (f.width, f.height) => Ok(crop_frame(&f, r)),
        _ => Ok(f),
    }
}

/// The slice `c` keeps of a `width`×`height` image; `None` when the index is beyond the last
/// slice (the image stays as it is).
pub fn rect(width: u32, height: u32, c: &IndexCrop) -> Option<Rect> {
    let side = match c.axis {
        IndexAxis::X => width,
        IndexAxis::Y => height,
    };
    let size = u64::from(c.size.max(1));
    let start = u64::from(c.index) * size;
    if start >= u64::from(side) {
        return None;
    }
    // start < side ≤ u32::MAX, and the slice ends at the edge at the latest
    let start = start as u32;
    let len = (u64::from(side - start)).min(size) as u32;
    Some(match c.axis {
        IndexAxis::X => Rect { x: start, y: 0, w: len, h: height },
        IndexAxis::Y => Rect { x: 0, y: start, w: width, h: len },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::grid;

    #[test]
    fn table() {
        use IndexAxis::{X, Y};
        // (frame, axis, size, index) -> (x, y, w, h) of the result in the source
        type Row = ((u32, u32), IndexAxis, u32, u32, (u32, u32, u32, u32));
        let rows: &[Row] = &[
            ((10, 4), X, 3, 0, (0, 0, 3, 4)),
            ((10, 4), X, 3, 1, (3, 0, 3, 4)),
            ((10, 4), X, 3, 2, (6, 0, 3, 4)),
            // the last slice is the remainder
            ((10, 4), X, 3, 3, (9, 0, 1, 4)),
            // beyond the last slice: the original image
            ((10, 4), X, 3, 4, (0, 0, 10, 4)),
            ((10, 4), X, 3, u32::MAX, (0, 0, 10, 4)),
            ((10, 4), Y, 3, 0, (0, 0, 10, 3)),
            ((10, 4), Y, 3, 1, (0, 3, 10, 1)),
            ((10, 4), Y, 3, 2, (0, 0, 10, 4)),
            // slices exactly dividing the side
            ((10, 4), Y, 2, 1, (0, 2, 10, 2)),
            ((10, 4), Y, 2, 2, (0, 0, 10, 4)),
            // a slice at least the side: one slice, the whole image
            ((10, 4), X, 10, 0, (0, 0, 10, 4)),
            ((10, 4), X, u32::MAX, 0, (0, 0, 10, 4)),
            ((10, 4), X, u32::MAX, 1, (0, 0, 10, 4)),
            ((10, 4), X, 1, 9, (9, 0, 1, 4)),
            ((1, 1), Y, 1, 0, (0, 0, 1, 1)),
        ];
        for &((fw, fh), axis, size, index, (x, y, w, h)) in rows {
            let c = IndexCrop { axis, size, index };
            let out = apply(grid(fw, fh), &c).unwrap();
            assert_eq!((out.width, out.height, out.channels), (w, h, 3), "{fw}x{fh} {c:?}");
            assert_eq!(out.pixel(0, 0), &[x as u8, y as u8, 7], "{c:?}");
            assert_eq!(out.pixel(w - 1, h - 1), &[(x + w - 1) as u8, (y + h - 1) as u8, 7], "{c:?}");
        }
    }

    #[test]
    fn beyond_the_last_slice_is_the_same_frame() {
        let f = Frame::from_raw(2, 2, 4, (0..16).collect()).unwrap();
        assert_eq!(apply(f.clone(), &IndexCrop { axis: IndexAxis::Y, size: 100, index: 10 }), Ok(f.clone()));
        let out = apply(f, &IndexCrop { axis: IndexAxis::Y, size: 1, index: 1 }).unwrap();
        assert_eq!((out.width, out.height, out.data), (2, 1, (8..16).collect()));
    }
}
