//! `contrast,<v>`: v in [-100, 100]; 0 unchanged. OSS documents only the range.
//!
//! Pixgate's mapping is a straight line through the midpoint 128 whose slope depends on v:
//!
//! - v <= 0: slope `(100 + v) / 100`, so `contrast,-50` halves every distance from 128 and
//!   `contrast,-100` gives a flat mid-grey (128);
//! - v > 0: slope `100 / (100 - v)`, the inverse, so `contrast,50` doubles the distances (undoing
//!   `contrast,-50` up to rounding) and `contrast,100` is a threshold: below 128 → 0, else 255.
//!
//! `out = clamp(128 + round((in - 128) * slope), 0, 255)` (half away from zero), applied to the
//! colour channels through a 256-entry lookup table; alpha is never touched.
//!
//! OSS's documentation: `docs/oss/actions.md#contrast`.

use crate::frame::Frame;
use crate::spec::Contrast;

/// The pivot: inputs equal to it are never changed.
pub const MID: i32 = 128;

/// `n / d` rounded half away from zero (`d > 0`).
fn div_round(n: i32, d: i32) -> i32 {
    (n + n.signum() * (d / 2)) / d
}

/// The lookup table for `v` in [-100, 100] (values outside are clamped).
pub fn lut(v: i32) -> [u8; 256] {
    let v = v.clamp(-100, 100);
    let mut t = [0u8; 256];
    for (i, e) in t.iter_mut().enumerate() {
        let x = i as i32 - MID;
        let y = if v == 100 {
            // infinite slope: a threshold at the midpoint
            if x < 0 { -255 } else { 255 }
        } else if v <= 0 {
            div_round(x * (100 + v), 100)
        } else {
            div_round(x * 100, 100 - v)
        };
        *e = (MID + y).clamp(0, 255) as u8;
    }
    t
}

/// Raise (v > 0) or lower (v < 0) the contrast of the colour channels; alpha is unchanged.
pub fn apply(mut f: Frame, c: &Contrast) -> Frame {
    if c.value == 0 {
        return f;
    }
    f.map_colour(&lut(c.value));
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(v: i32, f: Frame) -> Frame {
        apply(f, &Contrast { value: v })
    }

    #[test]
    fn table() {
        // (v, input, output)
        const ROWS: &[(i32, u8, u8)] = &[
            (0, 0, 0),
            (0, 200, 200),
            (-50, 0, 64),
            (-50, 255, 192),
            (-50, 100, 114),
            (-50, 128, 128),
            (-100, 0, 128),
            (-100, 255, 128),
            (-100, 17, 128),
            (50, 100, 72),
            (50, 160, 192),
            (50, 0, 0),
            (50, 255, 255),
            (50, 128, 128),
            (20, 28, 3),
            (20, 228, 253),
            (75, 120, 96),
            (99, 127, 28),
            (99, 129, 228),
            (100, 127, 0),
            (100, 128, 255),
            (100, 0, 0),
            (100, 255, 255),
        ];
        for &(v, i, o) in ROWS {
            let out = run(v, Frame::filled(3, 2, &[i, i, i]));
            assert!(out.data.iter().all(|&x| x == o), "v={v} in={i}: got {:?}, want {o}", &out.data[..3]);
        }
    }

    #[test]
    fn direction_and_magnitude() {
        for v in -100..=100 {
            let t = lut(v);
            if v < 100 {
                assert_eq!(t[MID as usize], MID as u8, "midpoint moved at v={v}");
            }
            for i in 0..256usize {
                let d_in = (i as i32 - MID).abs();
                let d_out = (i32::from(t[i]) - MID).abs();
                match v.signum() {
                    1 => assert!(d_out >= d_in || t[i] == 0 || t[i] == 255, "v={v} i={i}"),
                    -1 => assert!(d_out <= d_in, "v={v} i={i}"),
                    _ => assert_eq!(t[i] as usize, i),
                }
                if i > 0 {
                    assert!(t[i] >= t[i - 1], "not monotone at v={v} i={i}");
                }
            }
            // stronger v, stronger effect (spread of the output range)
            if v > -100 {
                let (a, b) = (lut(v - 1), lut(v));
                assert!(i32::from(b[255]) - i32::from(b[0]) >= i32::from(a[255]) - i32::from(a[0]));
                assert!(b[64] <= a[64] && b[192] >= a[192], "v={v}");
            }
        }
    }

    #[test]
    fn inverse_pairs_roughly_cancel() {
        for v in [10, 25, 50, 80] {
            let (down, up) = (lut(-v), lut(v));
            for i in 40..=216usize {
                let back = i32::from(up[usize::from(down[i])]);
                assert!((back - i as i32).abs() <= 3, "v={v} i={i} back={back}");
            }
        }
    }

    #[test]
    fn alpha_untouched() {
        let data = vec![0, 64, 255, 0, 200, 128, 30, 77, 1, 2, 3, 255];
        let f = Frame::from_raw(3, 1, 4, data.clone()).unwrap();
        for v in [-100, -30, 0, 30, 100] {
            let out = run(v, f.clone());
            let t = lut(v);
            for (o, i) in out.data.chunks_exact(4).zip(data.chunks_exact(4)) {
                assert_eq!(o[3], i[3], "alpha changed at v={v}");
                for c in 0..3 {
                    assert_eq!(o[c], t[usize::from(i[c])]);
                }
            }
        }
    }

    #[test]
    fn rgb_and_tiny_frames() {
        let f = Frame::from_raw(1, 1, 3, vec![0, 128, 255]).unwrap();
        assert_eq!(run(-100, f.clone()).data, vec![128, 128, 128]);
        assert_eq!(run(100, f.clone()).data, vec![0, 255, 255]);
        assert_eq!(run(0, f.clone()), f);
        let empty = Frame { width: 0, height: 0, channels: 4, data: Vec::new() };
        assert_eq!(run(50, empty.clone()), empty);
    }
}
