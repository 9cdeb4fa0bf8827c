//! Shrink-on-load at 1/8 from the DC coefficients: each 8x8 block becomes one pixel, so the
//! rest of a block's coefficients is never computed.
//!
//! - **Baseline and extended sequential** files: every Huffman symbol still has to be read to
//!   find the next block, but an AC coefficient is passed over with one table lookup (code and
//!   magnitude length together), never extended or stored.
//! - **Progressive** files: only the DC scans are decoded (first and refinement); the AC
//!   scans are skipped by searching for the next marker, without Huffman decoding.
//! - Components that libjpeg-turbo decodes at 2x2 at this scale (the chroma of 4:2:0: it
//!   scales chroma by IDCT rather than upsample it) keep their AC coefficients for its 2x2
//!   inverse DCT; in progressive files their AC scans are decoded (a small share of the data).
//!
//! The pixels are libjpeg-turbo's own scaled decode (`scale_num = 1, scale_denom = 8`), bit
//! for bit. Anything unusual (arithmetic coding, 12-bit samples, CMYK, RGB JPEGs, DNL,
//! non-integral sampling ratios, corrupt or truncated data) returns `None` and the caller takes
//! the general decoder.

mod huffman;
mod render;

use huffman::{Bits, Table};
use render::Plane;

/// Natural (row-major) index of each zig-zag position.
const NATURAL: [usize; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7,
    14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39,
    46, 53, 60, 61, 54, 47, 55, 62, 63,
];

/// A decoded image at 1/8 scale: `ceil(width / 8)` x `ceil(height / 8)`, RGB.
pub struct Eighth {
    pub width: u32,
    pub height: u32,
    pub rgb: Vec<u8>,
}

/// Decodes `bytes` at 1/8 scale, or `None` when the file needs the general decoder.
pub fn decode(bytes: &[u8]) -> Option<Eighth> {
    let mut d = Decoder::default();
    d.run(bytes)?;
    d.finish()
}

struct Component {
    id: u8,
    h: usize,
    v: usize,
    tq: usize,
    /// The quantisation table in natural order, latched when the component's first scan starts.
    q: Option<[u16; 64]>,
    /// Blocks of the component proper, and of the grid an interleaved scan covers.
    blocks_w: usize,
    blocks_h: usize,
    grid_w: usize,
    grid_h: usize,
    /// libjpeg-turbo's IDCT size at 1/8 for this component: 1, or 2 for 4:2:0 chroma.
    idct_size: usize,
    /// DC coefficient of each grid block.
    dc: Vec<i16>,
    /// Sequential files with `idct_size` 2: the 2x2 samples of each block.
    samples2: Vec<u8>,
    /// Progressive files with `idct_size` 2: what each block's AC scans have given so far.
    coefs: Vec<Sparse>,
    pred: i32,
}

#[derive(Default)]
struct Decoder {
    qt: [Option<[u16; 64]>; 4],
    dc_tables: [Option<Table>; 4],
    ac_tables: [Option<Table>; 4],
    restart_interval: usize,
    progressive: bool,
    width: usize,
    height: usize,
    comps: Vec<Component>,
    max_h: usize,
    max_v: usize,
    mcus_w: usize,
    mcus_h: usize,
    jfif: bool,
    adobe_transform: Option<u8>,
    /// Sequential: every block of every component seen once. Progressive: every component's
    /// first DC scan seen.
    seen_first_dc: Vec<bool>,
    /// Progressive AC: blocks left in the current end-of-band run.
    eobrun: u32,
    done: bool,
}

fn be16(b: &[u8], at: usize) -> Option<usize> {
    Some(usize::from(*b.get(at)?) << 8 | usize::from(*b.get(at + 1)?))
}

impl Decoder {
    fn run(&mut self, b: &[u8]) -> Option<()> {
        if b.get(..2)? != [0xFF, 0xD8] {
            return None;
        }
        let mut pos = 2;
        loop {
            // A marker, after any fill bytes.
            if *b.get(pos)? != 0xFF {
                return None;
            }
            while *b.get(pos + 1)? == 0xFF {
                pos += 1;
            }
            let marker = b[pos + 1];
            pos += 2;
            if marker == 0xD9 {
                self.done = true;
                return Some(());
            }
            let len = be16(b, pos)?;
            if len < 2 {
                return None;
            }
            let seg = b.get(pos + 2..pos + len)?;
            match marker {
                0xC0..=0xC2 => self.frame(seg, marker == 0xC2)?,
                0xC4 => self.huffman(seg)?,
                0xDB => self.quant(seg)?,
                0xDD => self.restart_interval = be16(seg, 0)?,
                0xE0 => self.jfif |= seg.starts_with(b"JFIF\0"),
                0xEE if seg.starts_with(b"Adobe") => self.adobe_transform = Some(*seg.get(11)?),
                0xDA => {
                    pos = self.scan(b, pos, seg)?;
                    continue;
                }
                // Other frame types (arithmetic, lossless, hierarchical), DAC, DNL, stray SOI.
                0xC3 | 0xC5..=0xCF | 0xD8 | 0xDC | 0xDE | 0xDF => return None,
                _ => {}
            }
            pos += len;
        }
    }

    fn frame(&mut self, s: &[u8], progressive: bool) -> Option<()> {
        if !self.comps.is_empty() || *s.first()? != 8 {
            return None;
        }
        self.progressive = progressive;
        self.height = be16(s, 1)?;
        self.width = be16(s, 3)?;
        let n = usize::from(*s.get(5)?);
        if self.width == 0 || self.height == 0 || !(n == 1 || n == 3) {
            return None;
        }
        for i in 0..n {
            let c = s.get(6 + 3 * i..9 + 3 * i)?;
            let (h, v, tq) = (usize::from(c[1] >> 4), usize::from(c[1] & 15), usize::from(c[2]));
            if !(1..=4).contains(&h) || !(1..=4).contains(&v) || tq > 3 {
                return None;
            }
            self.comps.push(Component {
                id: c[0],
                h,
                v,
                tq,
                q: None,
                blocks_w: 0,
                blocks_h: 0,
                grid_w: 0,
                grid_h: 0,
                idct_size: 1,
                dc: Vec::new(),
                samples2: Vec::new(),
                coefs: Vec::new(),
                pred: 0,
            });
        }
        self.max_h = self.comps.iter().map(|c| c.h).max()?;
        self.max_v = self.comps.iter().map(|c| c.v).max()?;
        self.mcus_w = self.width.div_ceil(8 * self.max_h);
        self.mcus_h = self.height.div_ceil(8 * self.max_v);
        let (max_h, max_v) = (self.max_h, self.max_v);
        for c in &mut self.comps {
            if max_h % c.h != 0 || max_v % c.v != 0 {
                return None;
            }
            c.blocks_w = (self.width * c.h).div_ceil(max_h).div_ceil(8);
            c.blocks_h = (self.height * c.v).div_ceil(max_v).div_ceil(8);
            c.grid_w = self.mcus_w * c.h;
            c.grid_h = self.mcus_h * c.v;
            // jdmaster.c: the component's DCT size doubles while that still divides the
            // sampling ratio on both axes.
            while c.idct_size < 8
                && max_h % (c.h * c.idct_size * 2) == 0
                && max_v % (c.v * c.idct_size * 2) == 0
            {
                c.idct_size *= 2;
            }
            if c.idct_size > 2 {
                return None;
            }
            c.dc = vec![0; c.grid_w * c.grid_h];
            match (c.idct_size, progressive) {
                (2, false) => c.samples2 = vec![0; c.grid_w * c.grid_h * 4],
                (2, true) => c.coefs = vec![Sparse::default(); c.grid_w * c.grid_h],
                _ => {}
            }
        }
        self.seen_first_dc = vec![false; n];
        // libjpeg's colour space: three components are YCbCr unless the file says RGB.
        if n == 3 {
            let ids: Vec<u8> = self.comps.iter().map(|c| c.id).collect();
            let rgb = if self.jfif {
                false
            } else if let Some(t) = self.adobe_transform {
                t == 0
            } else {
                ids == b"RGB"
            };
            if rgb {
                return None;
            }
        }
        Some(())
    }

    fn huffman(&mut self, mut s: &[u8]) -> Option<()> {
        while !s.is_empty() {
            let (class, id) = (s[0] >> 4, usize::from(s[0] & 15));
            let counts: &[u8; 16] = s.get(1..17)?.try_into().ok()?;
            let total: usize = counts.iter().map(|&c| usize::from(c)).sum();
            let symbols = s.get(17..17 + total)?;
            let table = Table::new(counts, symbols)?;
            match (class, id) {
                (0, 0..=3) => self.dc_tables[id] = Some(table),
                (1, 0..=3) => self.ac_tables[id] = Some(table),
                _ => return None,
            }
            s = &s[17 + total..];
        }
        Some(())
    }

    fn quant(&mut self, mut s: &[u8]) -> Option<()> {
        while !s.is_empty() {
            let (precision, id) = (s[0] >> 4, usize::from(s[0] & 15));
            if id > 3 || precision > 1 {
                return None;
            }
            let mut table = [0u16; 64];
            let size = if precision == 0 { 64 } else { 128 };
            let values = s.get(1..1 + size)?;
            for (k, &natural) in NATURAL.iter().enumerate() {
                table[natural] = if precision == 0 {
                    u16::from(values[k])
                } else {
                    u16::from_be_bytes([values[2 * k], values[2 * k + 1]])
                };
            }
            self.qt[id] = Some(table);
            s = &s[1 + size..];
        }
        Some(())
    }

    /// One scan, from its SOS segment at `pos`; returns the position of the marker after it.
    fn scan(&mut self, b: &[u8], pos: usize, seg: &[u8]) -> Option<usize> {
        if self.comps.is_empty() {
            return None;
        }
        let n = usize::from(*seg.first()?);
        if !(1..=4).contains(&n) {
            return None;
        }
        let mut members = Vec::with_capacity(n);
        for i in 0..n {
            let sel = seg.get(1 + 2 * i..3 + 2 * i)?;
            let ci = self.comps.iter().position(|c| c.id == sel[0])?;
            members.push((ci, usize::from(sel[1] >> 4), usize::from(sel[1] & 15)));
        }
        let tail = seg.get(1 + 2 * n..4 + 2 * n)?;
        let (ss, se, ah, al) = (tail[0], tail[1], tail[2] >> 4, tail[2] & 15);
        let data = pos + be16(b, pos)?;
        if self.progressive && ss > 0 {
            if se < ss || se > 63 || n != 1 || al > 13 {
                return None;
            }
            if self.comps[members[0].0].idct_size == 1 {
                // An AC scan of a component decoded at 1x1: nothing in it is needed.
                return Bits::next_marker(b, data);
            }
        }
        let band = Band { ss: usize::from(ss), se: usize::from(se), al };
        let kind = match (self.progressive, ah) {
            (false, _) if ss == 0 && se == 63 && ah == 0 && al == 0 => Kind::Sequential,
            (true, 0) if se == 0 && al <= 13 => Kind::DcFirst(al),
            (true, _) if se == 0 && ah == al + 1 => Kind::DcRefine(al),
            (true, 0) if ss > 0 => Kind::AcFirst(band),
            (true, _) if ss > 0 && ah == al + 1 => Kind::AcRefine(band),
            _ => return None,
        };
        self.eobrun = 0;
        for &(ci, td, ta) in &members {
            let c = &mut self.comps[ci];
            if c.q.is_none() {
                c.q = Some(self.qt[c.tq]?);
            }
            if td > 3 || ta > 3 {
                return None;
            }
            c.pred = 0;
            match kind {
                Kind::Sequential | Kind::DcFirst(_) => {
                    self.dc_tables[td].as_ref()?;
                    self.seen_first_dc[ci] = true;
                }
                Kind::DcRefine(_) if !self.seen_first_dc[ci] => return None,
                Kind::DcRefine(_) | Kind::AcFirst(_) | Kind::AcRefine(_) => {}
            }
            if matches!(kind, Kind::Sequential | Kind::AcFirst(_) | Kind::AcRefine(_)) {
                self.ac_tables[ta].as_ref()?;
            }
        }
        let mut bits = Bits::new(b, data);
        self.decode_scan(&mut bits, &members, kind)?;
        Bits::next_marker(b, bits.position())
    }

    fn decode_scan(
        &mut self,
        bits: &mut Bits<'_>,
        members: &[(usize, usize, usize)],
        kind: Kind,
    ) -> Option<()> {
        let interleaved = members.len() > 1;
        let (mcus_w, mcus_h) = if interleaved {
            (self.mcus_w, self.mcus_h)
        } else {
            let c = &self.comps[members[0].0];
            (c.blocks_w, c.blocks_h)
        };
        let mut since_restart = 0usize;
        let mut next_rst = 0u8;
        for my in 0..mcus_h {
            for mx in 0..mcus_w {
                if self.restart_interval > 0 && since_restart == self.restart_interval {
                    bits.restart(next_rst)?;
                    next_rst = (next_rst + 1) & 7;
                    since_restart = 0;
                    self.eobrun = 0;
                    for &(ci, ..) in members {
                        self.comps[ci].pred = 0;
                    }
                }
                since_restart += 1;
                for &(ci, td, ta) in members {
                    let (h, v) = if interleaved { (self.comps[ci].h, self.comps[ci].v) } else { (1, 1) };
                    for by in 0..v {
                        for bx in 0..h {
                            let (gx, gy) = (mx * h + bx, my * v + by);
                            self.block(bits, (ci, td, ta), gx, gy, kind)?;
                        }
                    }
                }
            }
        }
        Some(())
    }

    #[inline(always)]
    fn block(
        &mut self,
        bits: &mut Bits<'_>,
        member: (usize, usize, usize),
        gx: usize,
        gy: usize,
        kind: Kind,
    ) -> Option<()> {
        let (ci, td, ta) = member;
        let c = &mut self.comps[ci];
        let at = gy * c.grid_w + gx;
        bits.fill();
        match kind {
            Kind::DcRefine(al) => {
                if bits.take(1) != 0 {
                    c.dc[at] |= 1 << al;
                }
                return Some(());
            }
            Kind::DcFirst(al) => {
                let (_, diff) = self.dc_tables[td].as_ref()?.decode(bits)?;
                c.pred = c.pred.wrapping_add(diff);
                c.dc[at] = (c.pred << al) as i16;
                return Some(());
            }
            Kind::AcFirst(band) => {
                let ac = self.ac_tables[ta].as_ref()?;
                return ac_first(bits, ac, c.coefs.get_mut(at)?, band, &mut self.eobrun);
            }
            Kind::AcRefine(band) => {
                let ac = self.ac_tables[ta].as_ref()?;
                return ac_refine(bits, ac, c.coefs.get_mut(at)?, band, &mut self.eobrun);
            }
            Kind::Sequential => {}
        }
        let (_, diff) = self.dc_tables[td].as_ref()?.decode(bits)?;
        c.pred = c.pred.wrapping_add(diff);
        c.dc[at] = c.pred as i16;
        let ac = self.ac_tables[ta].as_ref()?;
        if c.idct_size == 1 {
            return ac.skip_ac(bits);
        }
        let mut block = [0i16; 64];
        block[0] = c.pred as i16;
        let mut k = 1usize;
        while k < 64 {
            bits.fill();
            let (symbol, value) = ac.decode(bits)?;
            let run = usize::from(symbol >> 4);
            if symbol & 15 == 0 {
                if run != 15 {
                    break;
                }
                k += 16;
                continue;
            }
            k += run;
            block[*NATURAL.get(k)?] = value as i16;
            k += 1;
        }
        let samples = render::idct_2x2(&block, c.q.as_ref()?);
        let w2 = c.grid_w * 2;
        let base = gy * 2 * w2 + gx * 2;
        c.samples2[base..base + 2].copy_from_slice(&samples[..2]);
        c.samples2[base + w2..base + w2 + 2].copy_from_slice(&samples[2..]);
        Some(())
    }

    fn finish(self) -> Option<Eighth> {
        if !self.done || self.comps.is_empty() || self.seen_first_dc.iter().any(|s| !s) {
            return None;
        }
        let (out_w, out_h) = (self.width.div_ceil(8), self.height.div_ceil(8));
        let (max_h, max_v) = (self.max_h, self.max_v);
        let planes: Vec<Plane> = self
            .comps
            .into_iter()
            .map(|c| {
                let q = c.q.as_ref()?;
                if !c.coefs.is_empty() {
                    let mut samples2 = vec![0u8; c.grid_w * c.grid_h * 4];
                    let w2 = c.grid_w * 2;
                    for (at, (sparse, &dc)) in c.coefs.iter().zip(&c.dc).enumerate() {
                        let s = if sparse.values.iter().all(|&v| v == 0) {
                            // What the 2x2 transform gives for a block with no AC it reads.
                            [render::idct_1x1(dc, q[0]); 4]
                        } else {
                            let mut block = [0i16; 64];
                            for (&natural, &value) in KEPT_NATURAL.iter().zip(&sparse.values) {
                                block[natural] = value;
                            }
                            block[0] = dc;
                            render::idct_2x2(&block, q)
                        };
                        let base = (at / c.grid_w) * 2 * w2 + (at % c.grid_w) * 2;
                        samples2[base..base + 2].copy_from_slice(&s[..2]);
                        samples2[base + w2..base + w2 + 2].copy_from_slice(&s[2..]);
                    }
                    Some(Plane {
                        width: w2,
                        samples: samples2,
                        h_expand: max_h / (c.h * 2),
                        v_expand: max_v / (c.v * 2),
                    })
                } else if c.samples2.is_empty() {
                    Some(Plane {
                        width: c.grid_w,
                        samples: c.dc.iter().map(|&dc| render::idct_1x1(dc, q[0])).collect(),
                        h_expand: max_h / c.h,
                        v_expand: max_v / c.v,
                    })
                } else {
                    Some(Plane {
                        width: c.grid_w * 2,
                        samples: c.samples2,
                        h_expand: max_h / (c.h * 2),
                        v_expand: max_v / (c.v * 2),
                    })
                }
            })
            .collect::<Option<_>>()?;
        let rgb = render::to_rgb(&planes, out_w, out_h);
        Some(Eighth { width: u32::try_from(out_w).ok()?, height: u32::try_from(out_h).ok()?, rgb })
    }
}

/// A progressive AC scan's spectral band and point transform.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Band {
    ss: usize,
    se: usize,
    al: u8,
}

/// Natural positions the 2x2 inverse DCT reads: rows and columns 0, 1, 3, 5 and 7.
const KEPT_NATURAL: [usize; 25] = {
    let lines = [0, 1, 3, 5, 7];
    let mut out = [0usize; 25];
    let mut i = 0;
    while i < 25 {
        out[i] = lines[i / 5] * 8 + lines[i % 5];
        i += 1;
    }
    out
};

/// For each zig-zag position, its index in [`KEPT_NATURAL`], or `NOT_KEPT`.
const KEPT_SLOT: [u8; 64] = {
    let mut out = [NOT_KEPT; 64];
    let mut k = 0;
    while k < 64 {
        let mut i = 0;
        while i < 25 {
            if KEPT_NATURAL[i] == NATURAL[k] {
                out[k] = i as u8;
            }
            i += 1;
        }
        k += 1;
    }
    out
};
const NOT_KEPT: u8 = u8::MAX;

/// A progressive block's AC coefficients as far as a 2x2 inverse DCT needs them: the values
/// it reads, and which zig-zag positions are non-zero (refinement scans read a correction bit
/// for every non-zero coefficient, kept or not).
#[derive(Clone, Copy, Default)]
struct Sparse {
    nonzero: u64,
    values: [i16; 25],
}

impl Sparse {
    fn set(&mut self, k: usize, value: i16) {
        self.nonzero |= 1 << k;
        if let Some(v) = self.values.get_mut(usize::from(KEPT_SLOT[k])) {
            *v = value;
        }
    }

    /// A refinement's correction bit for the non-zero coefficient at `k`.
    fn correct(&mut self, bits: &mut Bits<'_>, k: usize, p1: i16) {
        bits.fill();
        if bits.take(1) != 0
            && let Some(v) = self.values.get_mut(usize::from(KEPT_SLOT[k]))
            && *v & p1 == 0
        {
            *v += if *v >= 0 { p1 } else { -p1 };
        }
    }
}

/// `decode_mcu_AC_first` (jdphuff.c): the band's first pass, with end-of-band runs.
fn ac_first(bits: &mut Bits<'_>, ac: &Table, block: &mut Sparse, band: Band, eobrun: &mut u32) -> Option<()> {
    if *eobrun > 0 {
        *eobrun -= 1;
        return Some(());
    }
    let mut k = band.ss;
    while k <= band.se {
        bits.fill();
        let (symbol, value) = ac.decode(bits)?;
        let run = usize::from(symbol >> 4);
        if symbol & 15 != 0 {
            k += run;
            if k > 63 {
                return None;
            }
            block.set(k, (value << band.al) as i16);
        } else if run == 15 {
            k += 15;
        } else {
            *eobrun = (1 << run) - 1;
            if run > 0 {
                *eobrun += bits.take(run as u32);
            }
            break;
        }
        k += 1;
    }
    Some(())
}

/// `decode_mcu_AC_refine` (jdphuff.c): one more bit for the band's coefficients, new
/// coefficients of magnitude one, and correction bits for the ones already there.
fn ac_refine(
    bits: &mut Bits<'_>,
    ac: &Table,
    block: &mut Sparse,
    band: Band,
    eobrun: &mut u32,
) -> Option<()> {
    let p1 = 1i16 << band.al;
    let mut k = band.ss;
    if *eobrun == 0 {
        while k <= band.se {
            bits.fill();
            let (symbol, value) = ac.decode(bits)?;
            let mut run = i32::from(symbol >> 4);
            let new = if symbol & 15 != 0 {
                if value > 0 { p1 } else { -p1 }
            } else if run != 15 {
                *eobrun = 1 << run;
                if run > 0 {
                    *eobrun += bits.take(run as u32);
                }
                break;
            } else {
                0
            };
            while k <= band.se {
                if block.nonzero >> k & 1 != 0 {
                    block.correct(bits, k, p1);
                } else {
                    run -= 1;
                    if run < 0 {
                        break;
                    }
                }
                k += 1;
            }
            if new != 0 {
                if k > 63 {
                    return None;
                }
                block.set(k, new);
            }
            k += 1;
        }
    }
    if *eobrun > 0 {
        // Only the band's non-zero coefficients from `k` on get a bit.
        let band_mask = if band.se >= 63 { u64::MAX } else { (1u64 << (band.se + 1)) - 1 };
        let mut todo = block.nonzero & band_mask & (u64::MAX << k.min(63));
        if k > 63 {
            todo = 0;
        }
        while todo != 0 {
            let at = todo.trailing_zeros() as usize;
            block.correct(bits, at, p1);
            todo &= todo - 1;
        }
        *eobrun -= 1;
    }
    Some(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Baseline or extended sequential: DC difference and 63 AC coefficients per block.
    Sequential,
    /// A progressive DC scan's first pass, with its point transform.
    DcFirst(u8),
    /// A progressive DC refinement: one more bit per block.
    DcRefine(u8),
    /// Progressive AC scans of components decoded at 2x2.
    AcFirst(Band),
    AcRefine(Band),
}

#[cfg(test)]
mod tests;
