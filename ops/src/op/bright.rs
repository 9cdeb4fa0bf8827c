//! `bright,<v>` (`docs/oss/actions.md#bright`): v in [-100, 100]; < 0 darker, 0 unchanged, > 0 brighter.
//!
//! OSS documents only the range and the direction. Pixgate's mapping: every colour channel is
//! shifted by v % of the full scale, `delta = round(v * 255 / 100)` (half away from zero, so
//! `bright,50` adds 128 and `bright,-100` subtracts 255), and clamped to [0, 255]. The shift is
//! applied through a 256-entry lookup table; alpha is never touched. `bright,100` makes every
//! pixel white and `bright,-100` black, as the end points of a linear shift.

use crate::frame::Frame;
use crate::spec::Bright;

/// The shift added to each colour channel for `v` in [-100, 100] (values outside are clamped).
pub fn delta(v: i32) -> i32 {
    let v = v.clamp(-100, 100);
    let n = v * 255;
    // Round half away from zero; integer division truncates towards zero.
    (n + n.signum() * 50) / 100
}

/// The lookup table for `v`.
pub fn lut(v: i32) -> [u8; 256] {
    let d = delta(v);
    let mut t = [0u8; 256];
    for (i, e) in t.iter_mut().enumerate() {
        *e = (i as i32 + d).clamp(0, 255) as u8;
    }
    t
}

/// Brighten (v > 0) or darken (v < 0) the colour channels; alpha is unchanged.
pub fn apply(mut f: Frame, b: &Bright) -> Frame {
    if b.value == 0 {
        return f;
    }
    f.map_colour(&lut(b.value));
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(v: i32, f: Frame) -> Frame {
        apply(f, &Bright { value: v })
    }

    #[test]
    fn deltas() {
        const ROWS: &[(i32, i32)] = &[
            (0, 0),
            (1, 3),
            (-1, -3),
            (10, 26),
            (-10, -26),
            (20, 51),
            (50, 128),
            (-50, -128),
            (100, 255),
            (-100, -255),
        ];
        for &(v, d) in ROWS {
            assert_eq!(delta(v), d, "v={v}");
        }
    }

    #[test]
    fn table() {
        // (v, input, output)
        const ROWS: &[(i32, u8, u8)] = &[
            (0, 0, 0),
            (0, 77, 77),
            (0, 255, 255),
            (10, 0, 26),
            (10, 100, 126),
            (10, 240, 255),
            (-10, 100, 74),
            (-10, 20, 0),
            (50, 100, 228),
            (50, 127, 255),
            (-50, 200, 72),
            (-50, 100, 0),
            (100, 0, 255),
            (100, 1, 255),
            (-100, 255, 0),
            (-100, 254, 0),
        ];
        for &(v, i, o) in ROWS {
            let out = run(v, Frame::filled(2, 2, &[i, i, i]));
            assert!(out.data.iter().all(|&x| x == o), "v={v} in={i}: got {:?}, want {o}", &out.data[..3]);
        }
    }

    #[test]
    fn direction_and_monotonicity() {
        for v in -100..=100 {
            let t = lut(v);
            for i in 0..256usize {
                let o = i32::from(t[i]);
                match v.signum() {
                    1 => assert!(o >= i as i32, "v={v} i={i}"),
                    -1 => assert!(o <= i as i32, "v={v} i={i}"),
                    _ => assert_eq!(o, i as i32),
                }
                if i > 0 {
                    assert!(t[i] >= t[i - 1], "not monotone at v={v} i={i}");
                }
            }
            // the magnitude grows with |v|
            if v > -100 {
                assert!(lut(v)[128] >= lut(v - 1)[128]);
            }
        }
        // mid-grey moves strictly with every step of v away from 0 until it saturates
        assert!(lut(1)[128] > 128 && lut(-1)[128] < 128);
    }

    #[test]
    fn alpha_untouched_and_channels_independent() {
        let data = vec![10, 100, 250, 0, 0, 128, 255, 77, 200, 5, 60, 255];
        let f = Frame::from_raw(3, 1, 4, data.clone()).unwrap();
        for v in [-100, -37, 0, 1, 42, 100] {
            let out = run(v, f.clone());
            assert_eq!((out.width, out.height, out.channels), (3, 1, 4));
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
        assert_eq!(run(20, f.clone()).data, vec![51, 179, 255]);
        assert_eq!(run(-20, f.clone()).data, vec![0, 77, 204]);
        assert_eq!(run(0, f.clone()), f);
        // empty frame: no panic
        let empty = Frame { width: 0, height: 0, channels: 3, data: Vec::new() };
        assert_eq!(run(50, empty.clone()), empty);
    }
}
