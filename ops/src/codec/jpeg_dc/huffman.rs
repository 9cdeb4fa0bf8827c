//! The entropy-coded segment: a bit reader that undoes byte stuffing and stops at markers, and
//! Huffman tables whose lookups return the code length and the magnitude bits together, so a
//! coefficient that is not needed is passed over with one table read.

/// Bits looked up at once to decode one symbol.
const LOOKUP: u32 = 11;
const LOOKUP_SIZE: usize = 1 << LOOKUP;
/// Bits looked up at once to pass over AC symbols, up to three per lookup.
const SKIP: u32 = 12;
const SKIP_SIZE: usize = 1 << SKIP;

/// The entropy-coded bytes of one scan, read most significant bit first.
pub(super) struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
    /// Valid bits, left-aligned.
    buf: u64,
    count: u32,
    /// A marker (or the end of the data) was reached; zeros are fed from then on, as libjpeg does.
    at_marker: bool,
}

impl<'a> Bits<'a> {
    pub(super) fn new(data: &'a [u8], pos: usize) -> Bits<'a> {
        Bits { data, pos, buf: 0, count: 0, at_marker: false }
    }

    /// At least 32 valid bits after this call (zeros past a marker).
    #[inline(always)]
    pub(super) fn fill(&mut self) {
        if self.count >= 32 {
            return;
        }
        if let Some(chunk) = self.data.get(self.pos..self.pos + 8) {
            let x = u64::from_be_bytes([
                chunk[0], chunk[1], chunk[2], chunk[3], chunk[4], chunk[5], chunk[6], chunk[7],
            ]);
            let inverted = !x;
            let has_ff =
                inverted.wrapping_sub(0x0101_0101_0101_0101) & !inverted & 0x8080_8080_8080_8080 != 0;
            if !has_ff {
                let bytes = (64 - self.count) / 8;
                let bits = bytes * 8;
                let taken = if bits == 64 { x } else { x & !(u64::MAX >> bits) };
                self.buf |= taken >> self.count;
                self.count += bits;
                self.pos += bytes as usize;
                return;
            }
        }
        self.fill_bytewise();
    }

    #[cold]
    fn fill_bytewise(&mut self) {
        while self.count <= 56 {
            let mut byte = 0u8;
            if !self.at_marker {
                match self.data.get(self.pos) {
                    Some(&0xFF) if self.data.get(self.pos + 1) == Some(&0) => {
                        byte = 0xFF;
                        self.pos += 2;
                    }
                    Some(&0xFF) | None => self.at_marker = true,
                    Some(&b) => {
                        byte = b;
                        self.pos += 1;
                    }
                }
            }
            self.buf |= u64::from(byte) << (56 - self.count);
            self.count += 8;
        }
    }

    #[inline(always)]
    fn peek(&self, n: u32) -> u32 {
        (self.buf >> (64 - n)) as u32
    }

    #[inline(always)]
    fn consume(&mut self, n: u32) {
        self.buf <<= n;
        self.count -= n;
    }

    /// `n` (1..=16) raw bits; needs a prior `fill` covering them.
    #[inline(always)]
    pub(super) fn take(&mut self, n: u32) -> u32 {
        let v = self.peek(n);
        self.consume(n);
        v
    }

    /// Drops the buffered bits and returns the position of the next marker: after a scan, or to
    /// pass over a scan that is not decoded. Restart markers are not scan ends here.
    pub(super) fn next_marker(data: &[u8], mut pos: usize) -> Option<usize> {
        loop {
            let (at, marker) = Self::next_ff(data, pos)?;
            if !(0xD0..=0xD7).contains(&marker) {
                return Some(at);
            }
            pos = at + 2;
        }
    }

    /// The next 0xFF that starts a marker at or after `pos`, and the marker's code: stuffed
    /// bytes (0xFF 0x00) are data, fill bytes (0xFF 0xFF) before a marker are skipped.
    fn next_ff(data: &[u8], mut pos: usize) -> Option<(usize, u8)> {
        loop {
            pos += memchr::memchr(0xFF, data.get(pos..)?)?;
            let mut m = pos + 1;
            while data.get(m) == Some(&0xFF) {
                m += 1;
            }
            match *data.get(m)? {
                0x00 => pos = m + 1,
                marker => return Some((m - 1, marker)),
            }
        }
    }

    /// The position the reader stopped at: the next unread byte.
    pub(super) fn position(&self) -> usize {
        self.pos
    }

    /// Expects restart marker `n` (0..=7) after the current byte: the buffered bits are dropped.
    pub(super) fn restart(&mut self, n: u8) -> Option<()> {
        let (at, marker) = Self::next_ff(self.data, self.pos)?;
        if marker != 0xD0 + n {
            return None;
        }
        self.pos = at + 2;
        self.buf = 0;
        self.count = 0;
        self.at_marker = false;
        Some(())
    }
}

/// `bits` (the low `s` bits) as the signed value JPEG's magnitude categories encode.
#[inline(always)]
pub(super) fn extend(bits: u32, s: u32) -> i32 {
    let v = bits as i32;
    if s == 0 {
        0
    } else if v < 1 << (s - 1) {
        v - (1 << s) + 1
    } else {
        v
    }
}

#[derive(Clone, Copy, Default)]
struct Entry {
    /// The value when `len & FULL`.
    value: i16,
    symbol: u8,
    /// Bits to consume: with `FULL` set, code and magnitude bits; else the code alone; 0 when the
    /// code is longer than the lookup.
    len: u8,
}

const FULL: u8 = 0x80;

/// One Huffman table (DC or AC), built from a DHT segment.
pub(super) struct Table {
    lookup: Box<[Entry; LOOKUP_SIZE]>,
    /// For AC tables: the symbols (code and magnitude bits) that fit in the next `SKIP` bits,
    /// as a [`Chain`]; 0 when not even the first one fits.
    skip: Box<[u32; SKIP_SIZE]>,
    /// Canonical decoding for long codes: the largest code of each length (-1 if none) and
    /// the offset from a code to its symbol's index.
    max_code: [i32; 17],
    offset: [i32; 17],
    symbols: Vec<u8>,
}

impl Table {
    /// From the 16 code-length counts and the symbols of a DHT. `None` when the counts do not
    /// describe a valid prefix code.
    pub(super) fn new(counts: &[u8; 16], symbols: &[u8]) -> Option<Table> {
        let total: usize = counts.iter().map(|&c| usize::from(c)).sum();
        if total != symbols.len() || total > 256 {
            return None;
        }
        let mut lookup = Box::new([Entry::default(); LOOKUP_SIZE]);
        // (length, step) of the first symbol of each SKIP-bit pattern, when it fits.
        let mut first = vec![(0u32, 0u32); SKIP_SIZE];
        let mut max_code = [-1i32; 17];
        let mut offset = [0i32; 17];
        let mut code = 0u32;
        let mut index = 0usize;
        for len in 1..=16u32 {
            let n = usize::from(counts[len as usize - 1]);
            offset[len as usize] = index as i32 - code as i32;
            for &symbol in &symbols[index..index + n] {
                if code >= 1 << len {
                    return None;
                }
                if len <= LOOKUP {
                    fill_lookup(&mut lookup, code, len, symbol);
                }
                let fits = len + u32::from(symbol & 15);
                if fits <= SKIP {
                    let free = SKIP - len;
                    for suffix in 0..1u32 << free {
                        first[((code << free) | suffix) as usize] = (fits, ac_step(symbol));
                    }
                }
                code += 1;
            }
            if n > 0 {
                max_code[len as usize] = code as i32 - 1;
            }
            index += n;
            code <<= 1;
        }
        let skip = chains(&first);
        Some(Table { lookup, skip, max_code, offset, symbols: symbols.to_vec() })
    }

    /// The next symbol and its value (magnitude bits extended). Needs `bits.fill()` first.
    #[inline(always)]
    pub(super) fn decode(&self, bits: &mut Bits<'_>) -> Option<(u8, i32)> {
        let e = self.lookup[bits.peek(LOOKUP) as usize];
        if e.len & FULL != 0 {
            bits.consume(u32::from(e.len & !FULL));
            return Some((e.symbol, i32::from(e.value)));
        }
        let (symbol, len) = if e.len != 0 { (e.symbol, u32::from(e.len)) } else { self.long_code(bits)? };
        bits.consume(len);
        let s = u32::from(symbol & 15);
        let value = if s == 0 { 0 } else { extend(bits.take(s), s) };
        Some((symbol, value))
    }

    /// Passes over the AC coefficients of one block (zig-zag 1..=63) without storing them:
    /// one lookup moves past up to three symbols.
    #[inline(always)]
    pub(super) fn skip_ac(&self, bits: &mut Bits<'_>) -> Option<()> {
        let mut k = 1u32;
        while k < 64 {
            bits.fill();
            let c = Chain(self.skip[bits.peek(SKIP) as usize]);
            if c.0 == 0 {
                let (symbol, _) = self.decode(bits)?;
                k += ac_step(symbol);
            } else if k + c.before_last() < 64 {
                bits.consume(c.len());
                k += c.step();
            } else {
                // The block may end inside the chain: one symbol only.
                bits.consume(c.first_len());
                k += c.first_step();
            }
        }
        Some(())
    }

    #[cold]
    fn long_code(&self, bits: &Bits<'_>) -> Option<(u8, u32)> {
        let code16 = bits.peek(16) as i32;
        for len in LOOKUP + 1..=16 {
            let code = code16 >> (16 - len);
            if code <= self.max_code[len as usize] {
                let i = usize::try_from(code + self.offset[len as usize]).ok()?;
                return Some((*self.symbols.get(i)?, len));
            }
        }
        None
    }
}

/// How far an AC symbol moves in zig-zag order: run + 1, 16 for ZRL, to the end for EOB (any
/// run other than 15 with size 0 ends the block, as libjpeg reads it).
fn ac_step(symbol: u8) -> u32 {
    match (symbol >> 4, symbol & 15) {
        (15, 0) => 16,
        (_, 0) => 64,
        (run, _) => u32::from(run) + 1,
    }
}

/// Symbols passed over together: total length (bits 0..5), total zig-zag step (5..12, end of
/// block counting 64), the step before the last symbol (12..19), and the first symbol's
/// length (19..24) and step (24..31).
#[derive(Clone, Copy)]
struct Chain(u32);

impl Chain {
    fn len(self) -> u32 {
        self.0 & 0x1F
    }
    fn step(self) -> u32 {
        (self.0 >> 5) & 0x7F
    }
    fn before_last(self) -> u32 {
        (self.0 >> 12) & 0x7F
    }
    fn first_len(self) -> u32 {
        (self.0 >> 19) & 0x1F
    }
    fn first_step(self) -> u32 {
        (self.0 >> 24) & 0x7F
    }
}

/// For each SKIP-bit pattern, the chain of up to three whole symbols it starts with, stopping
/// after an end of block.
fn chains(first: &[(u32, u32)]) -> Box<[u32; SKIP_SIZE]> {
    let mut out = Box::new([0u32; SKIP_SIZE]);
    for (pattern, slot) in out.iter_mut().enumerate() {
        let (len0, step0) = first[pattern];
        if len0 == 0 {
            continue;
        }
        let (mut len, mut step, mut before_last) = (len0, step0, 0);
        for _ in 1..3 {
            if step >= 64 || len >= SKIP {
                break;
            }
            // The next symbol: the rest of the pattern, padded with zeros, must hold all of it.
            let rest = (pattern << len) & (SKIP_SIZE - 1);
            let (l, s) = first[rest];
            if l == 0 || len + l > SKIP {
                break;
            }
            before_last = step;
            len += l;
            step = (step + s).min(64);
        }
        *slot = len | step << 5 | before_last << 12 | len0 << 19 | step0 << 24;
    }
    out
}

fn fill_lookup(lookup: &mut [Entry; LOOKUP_SIZE], code: u32, len: u32, symbol: u8) {
    let s = u32::from(symbol & 15);
    let free = LOOKUP - len;
    for suffix in 0..1u32 << free {
        let index = ((code << free) | suffix) as usize;
        lookup[index] = if len + s <= LOOKUP {
            let magnitude = (suffix >> (free - s)) & ((1 << s) - 1);
            Entry { value: extend(magnitude, s) as i16, symbol, len: (len + s) as u8 | FULL }
        } else {
            Entry { value: 0, symbol, len: len as u8 }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extend_follows_the_magnitude_categories() {
        assert_eq!(extend(0, 1), -1);
        assert_eq!(extend(1, 1), 1);
        assert_eq!(extend(0b00, 2), -3);
        assert_eq!(extend(0b01, 2), -2);
        assert_eq!(extend(0b10, 2), 2);
        assert_eq!(extend(0b11, 2), 3);
        assert_eq!(extend(0, 11), -2047);
    }

    #[test]
    fn bits_undo_stuffing_and_stop_at_markers() {
        let data = [0xAB, 0xFF, 0x00, 0x12, 0xFF, 0xD9];
        let mut bits = Bits::new(&data, 0);
        bits.fill();
        assert_eq!(bits.take(8), 0xAB);
        assert_eq!(bits.take(8), 0xFF);
        assert_eq!(bits.take(8), 0x12);
        assert_eq!(bits.take(16), 0, "zeros past the marker");
        assert_eq!(bits.position(), 4);
        assert_eq!(Bits::next_marker(&data, 0), Some(4));
    }

    #[test]
    fn restart_markers_and_fill_bytes_are_not_scan_ends() {
        let data = [0x01, 0xFF, 0xD3, 0x02, 0xFF, 0xFF, 0xC4];
        assert_eq!(Bits::next_marker(&data, 0), Some(5));
        let mut bits = Bits::new(&data, 1);
        assert!(bits.restart(3).is_some());
        assert_eq!(bits.position(), 3);
        assert!(Bits::new(&data, 1).restart(4).is_none(), "a restart marker out of sequence");
    }

    #[test]
    fn short_and_long_codes_decode_alike() {
        // Lengths 1, 2, 16: symbols 0x01 (code 0), 0x00 (code 10), 0x23 (1100000000000000).
        let mut counts = [0u8; 16];
        counts[0] = 1;
        counts[1] = 1;
        counts[15] = 1;
        let table = Table::new(&counts, &[0x01, 0x00, 0x23]).unwrap();
        // 0 1 | 10 | 1100000000000000 101
        let data = [0b0110_1100, 0, 0b0000_1010, 0];
        let mut bits = Bits::new(&data, 0);
        bits.fill();
        assert_eq!(table.decode(&mut bits), Some((0x01, 1)));
        assert_eq!(table.decode(&mut bits), Some((0x00, 0)));
        assert_eq!(table.decode(&mut bits), Some((0x23, 5)));
    }

    #[test]
    fn over_full_code_lengths_are_refused() {
        let mut counts = [0u8; 16];
        counts[0] = 3;
        assert!(Table::new(&counts, &[1, 2, 3]).is_none());
    }
}
