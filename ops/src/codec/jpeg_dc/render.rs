//! From coefficients to RGB at 1/8 scale with libjpeg-turbo's integer arithmetic: its 1x1 and
//! 2x2 reduced inverse DCTs (`jidctred.c`), box upsampling (no "fancy" upsampling at 1/8) and
//! its YCbCr→RGB tables (`jdcolor.c`), so the pixels match its scaled decode.

/// libjpeg's post-IDCT range limit: the value wraps at ±512, then clamps to 0..=255 around 128.
#[inline(always)]
pub(super) fn idct_limit(x: i32) -> u8 {
    let wrapped = ((x + 512) & 1023) - 512;
    (wrapped + 128).clamp(0, 255) as u8
}

/// `jpeg_idct_1x1`: the block's average.
#[inline(always)]
pub(super) fn idct_1x1(dc: i16, q: u16) -> u8 {
    idct_limit((i32::from(dc) * i32::from(q) + 4) >> 3)
}

const FIX_0_720959822: i64 = 5906;
const FIX_0_850430095: i64 = 6967;
const FIX_1_272758580: i64 = 10426;
const FIX_3_624509785: i64 = 29692;

fn descale(x: i64, n: u32) -> i64 {
    (x + (1 << (n - 1))) >> n
}

/// `jpeg_idct_2x2`: four samples from a block in natural order, with the natural-order table.
pub(super) fn idct_2x2(block: &[i16; 64], q: &[u16; 64]) -> [u8; 4] {
    let deq = |i: usize| i64::from(block[i]) * i64::from(q[i]);
    let mut ws = [0i64; 16];
    for col in [0usize, 1, 3, 5, 7] {
        if block[8 + col] == 0 && block[24 + col] == 0 && block[40 + col] == 0 && block[56 + col] == 0 {
            let dc = (deq(col) as i32 as i64) << 2;
            ws[col] = dc;
            ws[8 + col] = dc;
            continue;
        }
        let tmp10 = deq(col) << 15;
        let tmp0 = deq(56 + col) * -FIX_0_720959822
            + deq(40 + col) * FIX_0_850430095
            + deq(24 + col) * -FIX_1_272758580
            + deq(8 + col) * FIX_3_624509785;
        ws[col] = descale(tmp10 + tmp0, 13) as i32 as i64;
        ws[8 + col] = descale(tmp10 - tmp0, 13) as i32 as i64;
    }
    let mut out = [0u8; 4];
    for row in 0..2 {
        let w = &ws[row * 8..row * 8 + 8];
        if w[1] == 0 && w[3] == 0 && w[5] == 0 && w[7] == 0 {
            let v = idct_limit(descale(w[0], 5) as i32);
            out[row * 2] = v;
            out[row * 2 + 1] = v;
            continue;
        }
        let tmp10 = w[0] << 15;
        let tmp0 = w[7] * -FIX_0_720959822
            + w[5] * FIX_0_850430095
            + w[3] * -FIX_1_272758580
            + w[1] * FIX_3_624509785;
        out[row * 2] = idct_limit(descale(tmp10 + tmp0, 20) as i32);
        out[row * 2 + 1] = idct_limit(descale(tmp10 - tmp0, 20) as i32);
    }
    out
}

/// One component's samples after its inverse DCT, and how many output pixels each covers.
pub(super) struct Plane {
    pub width: usize,
    pub samples: Vec<u8>,
    pub h_expand: usize,
    pub v_expand: usize,
}

impl Plane {
    /// The samples of output row `y`, box-upsampled to `out_width`.
    fn row_into(&self, y: usize, out: &mut [u8]) {
        let row = &self.samples[(y / self.v_expand) * self.width..][..self.width];
        if self.h_expand == 1 {
            out.copy_from_slice(&row[..out.len()]);
        } else {
            for (x, o) in out.iter_mut().enumerate() {
                *o = row[x / self.h_expand];
            }
        }
    }
}

struct YccTables {
    cr_r: [i32; 256],
    cb_b: [i32; 256],
    cr_g: [i32; 256],
    cb_g: [i32; 256],
}

fn ycc_tables() -> &'static YccTables {
    static TABLES: std::sync::OnceLock<YccTables> = std::sync::OnceLock::new();
    TABLES.get_or_init(|| {
        let fix = |x: f64| (x * 65536.0 + 0.5) as i32;
        let mut t = YccTables { cr_r: [0; 256], cb_b: [0; 256], cr_g: [0; 256], cb_g: [0; 256] };
        for i in 0..256 {
            let x = i as i32 - 128;
            t.cr_r[i] = (fix(1.40200) * x + 32768) >> 16;
            t.cb_b[i] = (fix(1.77200) * x + 32768) >> 16;
            t.cr_g[i] = -fix(0.71414) * x;
            t.cb_g[i] = -fix(0.34414) * x + 32768;
        }
        t
    })
}

/// Interleaved RGB from one (grey) or three (YCbCr) planes.
pub(super) fn to_rgb(planes: &[Plane], width: usize, height: usize) -> Vec<u8> {
    let mut rgb = vec![0u8; width * height * 3];
    let mut rows = vec![vec![0u8; width]; planes.len()];
    let t = ycc_tables();
    for (y, out) in rgb.chunks_exact_mut(width * 3).enumerate() {
        for (plane, row) in planes.iter().zip(rows.iter_mut()) {
            plane.row_into(y, row);
        }
        if let [luma, cb, cr] = &rows[..] {
            for (x, px) in out.chunks_exact_mut(3).enumerate() {
                let (l, b, r) = (i32::from(luma[x]), usize::from(cb[x]), usize::from(cr[x]));
                px[0] = (l + t.cr_r[r]).clamp(0, 255) as u8;
                px[1] = (l + ((t.cb_g[b] + t.cr_g[r]) >> 16)).clamp(0, 255) as u8;
                px[2] = (l + t.cb_b[b]).clamp(0, 255) as u8;
            }
        } else {
            for (px, &v) in out.chunks_exact_mut(3).zip(&rows[0]) {
                px.fill(v);
            }
        }
    }
    rgb
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_range_limit_wraps_like_libjpegs_table() {
        assert_eq!(idct_limit(-128), 0);
        assert_eq!(idct_limit(0), 128);
        assert_eq!(idct_limit(127), 255);
        assert_eq!(idct_limit(511), 255);
        assert_eq!(idct_limit(-512), 0);
        // Past ±512 the table wraps around.
        assert_eq!(idct_limit(512), 0);
        assert_eq!(idct_limit(1024), 128);
    }

    #[test]
    fn a_flat_block_gives_four_equal_samples() {
        let mut block = [0i16; 64];
        block[0] = 40;
        let q = [2u16; 64];
        // 40 * 2 / 8 = 10 above the centre.
        assert_eq!(idct_2x2(&block, &q), [138; 4]);
        assert_eq!(idct_1x1(40, 2), 138);
        // Without AC the two transforms agree everywhere (the decoder relies on it).
        for q0 in [1u16, 2, 7, 16, 99, 255] {
            for dc in (-2048i16..2048).step_by(3) {
                block[0] = dc;
                assert_eq!(idct_2x2(&block, &[q0; 64]), [idct_1x1(dc, q0); 4], "dc {dc} q {q0}");
            }
        }
    }

    #[test]
    fn a_horizontal_frequency_splits_left_from_right() {
        let mut block = [0i16; 64];
        block[1] = 20;
        let [a, b, c, d] = idct_2x2(&block, &[1; 64]);
        assert!(a > 128 && b < 128, "{a} {b}");
        assert_eq!((a, b), (c, d));
    }
}
