//! `blur,r_<r>,s_<s>` (`docs/oss/actions.md#blur`): `r` radius in [1, 50], `s` standard deviation in [1, 50];
//! larger = blurrier. OSS documents only the ranges and that example (`blur,r_3,s_2`).
//!
//! Pixgate's choices:
//!
//! - a separable gaussian, `weight(k) = exp(-k² / (2 s²))` for `k` in `-r..=r` (so `r` is the
//!   kernel radius in pixels and `s` the sigma, as in ImageMagick's `-blur r x s`); a large `r`
//!   with a small `s` is limited by `s`, a large `s` with a small `r` approaches a box blur;
//! - fixed-point weights totalling exactly 2^14, each within 1 of its exact value
//!   (largest-remainder rounding); trailing weights that round to 0 are dropped, so the work is
//!   O(pixels × min(r, ~4s)) per pass;
//! - one horizontal then one vertical pass, with samples carried as 8.8 fixed point (u16) in
//!   between, summing the two taps at ±k before multiplying; no per-pixel allocation;
//! - pixels outside the frame repeat the nearest edge pixel (clamped), so flat areas stay flat up
//!   to the border;
//! - RGBA: alpha is blurred too, and colour is blurred premultiplied by alpha, then divided back,
//!   so fully transparent pixels lend no colour to their neighbours.

use crate::frame::Frame;
use crate::spec::Blur;

/// Fixed-point precision of the weights.
const WBITS: u32 = 14;
/// The sum of all weights.
const ONE: u32 = 1 << WBITS;
/// Largest `r` and `s` (docs/oss/actions.md#blur); larger values are clamped rather than trusted.
const MAX_PARAM: u32 = 50;

/// One half of the symmetric kernel, `[w0, w1, ..., wR]`, with `w0 + 2 * (w1 + ... + wR) == 2^14`,
/// each weight within 1 of its exact value (largest-remainder rounding) and `wR > 0` (trailing
/// weights that round to zero are dropped, so `R <= radius`).
pub fn kernel(radius: u32, sigma: u32) -> Vec<u32> {
    let r = radius.clamp(1, MAX_PARAM) as usize;
    let s = f64::from(sigma.clamp(1, MAX_PARAM));
    let g: Vec<f64> = (0..=r).map(|k| (-((k * k) as f64) / (2.0 * s * s)).exp()).collect();
    let total = g[0] + 2.0 * g[1..].iter().sum::<f64>();
    let exact: Vec<f64> = g.iter().map(|&x| x / total * f64::from(ONE)).collect();
    let mut w: Vec<u32> = exact.iter().map(|&x| x.floor() as u32).collect();
    // Hand out what flooring lost: the centre takes an odd unit, the side weights with the
    // largest fractions take one unit each (a side weight counts twice). The deficit is below
    // 1 + 2r, so no weight moves by more than 1.
    let mut deficit = ONE.saturating_sub(w[0] + 2 * w[1..].iter().sum::<u32>());
    if deficit % 2 == 1 {
        w[0] += 1;
        deficit -= 1;
    }
    let mut order: Vec<usize> = (1..=r).collect();
    order.sort_by(|&a, &b| (exact[b] - exact[b].floor()).total_cmp(&(exact[a] - exact[a].floor())));
    for &i in order.iter().take((deficit / 2) as usize) {
        w[i] += 1;
    }
    while w.len() > 1 && w.last() == Some(&0) {
        w.pop();
    }
    w
}

/// Blur `f` (colour and alpha; colour premultiplied when there is alpha).
pub fn apply(mut f: Frame, b: &Blur) -> Frame {
    let (w, h, c) = (f.width as usize, f.height as usize, usize::from(f.channels));
    if w == 0 || h == 0 || !(c == 3 || c == 4) || f.data.len() != w * h * c {
        return f;
    }
    let k = kernel(b.radius, b.sigma);
    let n = k.len() - 1; // effective radius
    let stride = w * c;
    let half = 1u32 << (WBITS - 1);

    // Horizontal pass: data (u8) → inter (8.8 fixed point, premultiplied when RGBA).
    let mut inter = vec![0u16; f.data.len()];
    let mut pad = vec![0u16; (w + 2 * n) * c];
    let mut acc = vec![0u32; stride];
    for (src, dst) in f.data.chunks_exact(stride).zip(inter.chunks_exact_mut(stride)) {
        for (xi, p) in pad.chunks_exact_mut(c).enumerate() {
            let sx = xi.saturating_sub(n).min(w - 1);
            load(&src[sx * c..sx * c + c], p);
        }
        let centre = &pad[n * c..][..stride];
        for (a, &p) in acc.iter_mut().zip(centre) {
            *a = k[0] * u32::from(p);
        }
        for (t, &wt) in k.iter().enumerate().skip(1) {
            let left = &pad[(n - t) * c..][..stride];
            let right = &pad[(n + t) * c..][..stride];
            for ((a, &l), &r) in acc.iter_mut().zip(left).zip(right) {
                *a += wt * (u32::from(l) + u32::from(r));
            }
        }
        for (d, &a) in dst.iter_mut().zip(&acc) {
            *d = ((a + half) >> WBITS) as u16;
        }
    }

    // Vertical pass: inter → data.
    let row = |y: usize| &inter[y * stride..][..stride];
    for y in 0..h {
        for (a, &p) in acc.iter_mut().zip(row(y)) {
            *a = k[0] * u32::from(p);
        }
        for (t, &wt) in k.iter().enumerate().skip(1) {
            let up = row(y.saturating_sub(t));
            let down = row((y + t).min(h - 1));
            for ((a, &u), &d) in acc.iter_mut().zip(up).zip(down) {
                *a += wt * (u32::from(u) + u32::from(d));
            }
        }
        let out = &mut f.data[y * stride..][..stride];
        for (o, a) in out.chunks_exact_mut(c).zip(acc.chunks_exact(c)) {
            store(a, o, half);
        }
    }
    f
}

/// One source pixel → 8.8 fixed point, colour premultiplied by alpha when there is alpha.
#[inline]
fn load(px: &[u8], out: &mut [u16]) {
    if let ([r, g, b, a], [pr, pg, pb, pa]) = (px, &mut *out) {
        let a = u32::from(*a);
        let pm = |v: u8| ((u32::from(v) * a * 256 + 127) / 255) as u16;
        (*pr, *pg, *pb, *pa) = (pm(*r), pm(*g), pm(*b), (a << 8) as u16);
    } else {
        for (o, &v) in out.iter_mut().zip(px) {
            *o = u16::from(v) << 8;
        }
    }
}

/// One accumulated pixel (8.8 fixed point scaled by 2^14) → u8, un-premultiplying when RGBA.
#[inline]
fn store(acc: &[u32], out: &mut [u8], half: u32) {
    let fixed = |a: u32| (a + half) >> WBITS; // 8.8, at most 255 << 8
    if let ([r, g, b, a], [or, og, ob, oa]) = (acc, &mut *out) {
        let alpha = fixed(*a);
        // no alpha left: the colour is undefined; 0
        let unpm = |v: u32| (fixed(v) * 255 + alpha / 2).checked_div(alpha).map_or(0, |c| c.min(255) as u8);
        (*or, *og, *ob, *oa) = (unpm(*r), unpm(*g), unpm(*b), ((alpha + 128) >> 8).min(255) as u8);
    } else {
        for (o, &a) in out.iter_mut().zip(acc) {
            *o = ((fixed(a) + 128) >> 8).min(255) as u8;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(r: u32, s: u32, f: Frame) -> Frame {
        apply(f, &Blur { radius: r, sigma: s })
    }

    use crate::frame::grey;

    #[test]
    fn kernels() {
        // (r, s, effective half length)
        const ROWS: &[(u32, u32, usize)] = &[
            (1, 1, 2),
            (1, 50, 2),
            (3, 2, 4),
            (10, 10, 11),
            (50, 1, 5),
            (50, 2, 9),
            (50, 50, 51),
            (5, 50, 6),
        ];
        for &(r, s, len) in ROWS {
            let k = kernel(r, s);
            assert_eq!(k.len(), len, "r={r} s={s}: {k:?}");
            assert_eq!(k[0] + 2 * k[1..].iter().sum::<u32>(), ONE, "r={r} s={s}");
        }
        // every valid pair: exact total, non-increasing (up to one unit of rounding), no zero tail
        for r in 1..=50 {
            for s in 1..=50 {
                let k = kernel(r, s);
                assert!(k.len() >= 2 && k.len() <= r as usize + 1, "r={r} s={s}: {k:?}");
                assert_eq!(k[0] + 2 * k[1..].iter().sum::<u32>(), ONE, "r={r} s={s}");
                assert!(k.windows(2).all(|p| p[0] + 1 >= p[1]), "not decreasing: r={r} s={s}: {k:?}");
                assert!(*k.last().unwrap() > 0);
            }
        }
        // a larger sigma spreads the weight: the centre weight falls
        for r in [1, 3, 10, 50] {
            let centres: Vec<u32> = (1..=50).map(|s| kernel(r, s)[0]).collect();
            assert!(centres.windows(2).all(|p| p[0] >= p[1]), "r={r}: {centres:?}");
        }
        // OSS's example: r_3,s_2
        assert_eq!(kernel(3, 2), vec![3540, 3125, 2148, 1149]);
    }

    #[test]
    fn flat_frames_are_unchanged_to_the_edges() {
        let sizes = [(1, 1), (1, 7), (7, 1), (2, 3), (13, 9)];
        let params = [(1, 1), (3, 2), (50, 1), (1, 50), (50, 50), (10, 10)];
        for (w, h) in sizes {
            for (r, s) in params {
                for px in [[0u8, 0, 0, 255], [255, 255, 255, 255], [12, 130, 250, 255], [12, 130, 250, 100]] {
                    let f = Frame::filled(w, h, &px);
                    assert_eq!(run(r, s, f.clone()).data, f.data, "{w}x{h} r={r} s={s} {px:?}");
                    if px[3] == 255 {
                        let f = Frame::filled(w, h, &px[..3]);
                        assert_eq!(run(r, s, f.clone()).data, f.data, "{w}x{h} r={r} s={s} {px:?}");
                    }
                }
                for a in [1u8, 2, 7, 50, 128, 254] {
                    let f = Frame::filled(w, h, &[200, 100, 3, a]);
                    assert_eq!(run(r, s, f.clone()).data, f.data, "alpha {a}: {w}x{h} r={r} s={s}");
                }
            }
        }
    }

    /// Width of the ramp a black | white step becomes (pixels strictly between 0 and 255).
    fn ramp_width(r: u32, s: u32) -> usize {
        let f = grey(200, 3, |x, _| if x < 100 { 0 } else { 255 });
        let out = run(r, s, f);
        let row: Vec<u8> = (0..200).map(|x| out.pixel(x, 1)[0]).collect();
        assert!(row.windows(2).all(|p| p[0] <= p[1]), "r={r} s={s}: not monotone");
        assert_eq!((row[0], row[199]), (0, 255), "r={r} s={s}: the far edges moved");
        row.iter().filter(|&&v| v > 0 && v < 255).count()
    }

    #[test]
    fn step_edge_table() {
        // (r, s, ramp width): the ramp spans at most 2r pixels, and grows with s; a small s
        // limits a large r (the weights beyond ~4s round to zero)
        const ROWS: &[(u32, u32, usize)] = &[
            (1, 1, 2),
            (1, 50, 2),
            (3, 2, 6),
            (5, 1, 6),
            (10, 1, 6),
            (50, 1, 6),
            (10, 2, 12),
            (10, 10, 20),
            (50, 5, 28),
            (5, 50, 10),
            (50, 50, 100),
        ];
        for &(r, s, width) in ROWS {
            assert_eq!(ramp_width(r, s), width, "r={r} s={s}");
        }
        // larger = blurrier, for either parameter
        for r in [2, 5, 20] {
            let widths: Vec<usize> = (1..=20).map(|s| ramp_width(r, s)).collect();
            assert!(widths.windows(2).all(|p| p[0] <= p[1]), "r={r}: {widths:?}");
        }
        for s in [1, 3, 10] {
            let widths: Vec<usize> = (1..=20).map(|r| ramp_width(r, s)).collect();
            assert!(widths.windows(2).all(|p| p[0] <= p[1]), "s={s}: {widths:?}");
        }
    }

    #[test]
    fn bright_block_spreads_symmetrically_and_keeps_its_mass() {
        // a 3x3 white block in a black 41x41 frame: (s, peak after the blur)
        const ROWS: &[(u32, u8)] = &[(1, 199), (2, 78), (3, 38), (5, 14), (8, 6)];
        for &(s, peak) in ROWS {
            let f = grey(41, 41, |x, y| if x.abs_diff(20) <= 1 && y.abs_diff(20) <= 1 { 255 } else { 0 });
            let out = run(20, s, f);
            let v = |x: u32, y: u32| out.pixel(x, y)[0];
            assert_eq!(v(20, 20), peak, "s={s}");
            for d in 1..=20 {
                assert_eq!(v(20 - d, 20), v(20 + d, 20), "s={s} d={d}");
                assert_eq!(v(20, 20 - d), v(20 + d, 20), "s={s} d={d}");
                assert_eq!(v(20 - d, 20 - d), v(20 + d, 20 + d), "s={s} d={d}");
                assert!(v(20 + d, 20) <= v(20 + d - 1, 20), "s={s} d={d}");
            }
            // 8-bit output rounds the faint tail away, so allow 5 %
            let mass: i64 = out.data.iter().step_by(3).map(|&x| i64::from(x)).sum();
            assert!((mass - 9 * 255).abs() <= 9 * 255 / 20, "s={s}: mass {mass}");
        }
    }

    #[test]
    fn corner_pixels_are_clamped_not_lost() {
        // a bright corner pixel: the edge repeats it, so the corner keeps more of it than an
        // interior pixel would, and nothing outside the kernel's reach changes
        let f = grey(9, 9, |x, y| if (x, y) == (0, 0) { 255 } else { 0 });
        let out = run(2, 1, f);
        let centre = run(2, 1, grey(9, 9, |x, y| if (x, y) == (4, 4) { 255 } else { 0 }));
        assert!(out.pixel(0, 0)[0] > centre.pixel(4, 4)[0]);
        assert!(out.pixel(0, 0)[0] < 255);
        assert!(out.pixel(1, 1)[0] > 0);
        assert_eq!(out.pixel(3, 0)[0], 0);
        assert_eq!(out.pixel(8, 8)[0], 0);
    }

    #[test]
    fn transparent_pixels_do_not_bleed() {
        // opaque red on the left, fully transparent green on the right
        let mut data = Vec::new();
        for _y in 0..4 {
            for x in 0..12 {
                data.extend_from_slice(if x < 6 { &[255, 0, 0, 255] } else { &[0, 255, 0, 0] });
            }
        }
        let f = Frame::from_raw(12, 4, 4, data).unwrap();
        let out = run(4, 2, f);
        let alphas: Vec<u8> = (0..12).map(|x| out.pixel(x, 2)[3]).collect();
        assert!(alphas.windows(2).all(|p| p[0] >= p[1]), "{alphas:?}");
        assert_eq!((alphas[0], alphas[11]), (255, 0));
        assert!(alphas[5] < 255 && alphas[6] > 0, "alpha not blurred: {alphas:?}");
        for x in 0..12 {
            let p = out.pixel(x, 2);
            if p[3] > 0 {
                assert_eq!(&p[..3], &[255, 0, 0], "x={x}: green bled in: {p:?}");
            }
        }
    }

    #[test]
    fn opaque_rgba_matches_rgb() {
        let rgb = grey(17, 11, |x, y| ((x * 29 + y * 53) % 256) as u8);
        let rgba = rgb.clone().into_rgba();
        for (r, s) in [(1, 1), (3, 2), (8, 20)] {
            let a = run(r, s, rgb.clone());
            let b = run(r, s, rgba.clone());
            assert_eq!(b.data.chunks_exact(4).map(|p| p[3]).min(), Some(255));
            assert_eq!(b.flatten([0, 0, 0]), a, "r={r} s={s}");
        }
    }

    #[test]
    fn malformed_frames_are_returned_unchanged() {
        let empty = Frame { width: 0, height: 5, channels: 4, data: Vec::new() };
        assert_eq!(run(3, 3, empty.clone()), empty);
        let short = Frame { width: 3, height: 3, channels: 4, data: vec![9; 7] };
        assert_eq!(run(3, 3, short.clone()), short);
    }
}
