//! The quality a JPEG was saved at, estimated from its luminance quantisation table.
//!
//! OSS rule: `quality,q_<n>` is relative to the source's own quality (a JPEG saved
//! at 80 with `q_90` comes out at 72) and `Q_<n>` is capped at it, so the source quality must be
//! known. It is not stored in the file; Pixgate estimates it the way tools like ImageMagick do:
//!
//! - read the DQT segments (marker `FFDB`) up to the first SOS (`FFDA`), accepting 8-bit and
//!   16-bit tables and several tables per segment; a later table with the same id replaces an
//!   earlier one, as in a decoder;
//! - take the luminance table (id 0); none → `None`;
//! - compare it with the IJG standard luminance table (ITU-T T.81 Annex K.1) scaled for each
//!   quality 1..=100 by libjpeg's `jpeg_quality_scaling` (`q < 50` → `5000 / q`, else
//!   `200 - 2q`; entry = `clamp((std * scale + 50) / 100, 1, 255)`), both in zigzag order (the
//!   order DQT stores), and return the quality with the smallest sum of absolute differences;
//!   on a tie the higher quality wins.
//!
//! The parser never panics and never reads past the input: a malformed or truncated segment ends
//! the scan, keeping the tables read before it.
//!
//! OSS's documentation: `docs/oss/actions.md#quality`.

/// The IJG standard luminance table, natural (row-major) order.
const STD_LUMA: [u16; 64] = [
    16, 11, 10, 16, 24, 40, 51, 61, //
    12, 12, 14, 19, 26, 58, 60, 55, //
    14, 13, 16, 24, 40, 57, 69, 56, //
    14, 17, 22, 29, 51, 87, 80, 62, //
    18, 22, 37, 56, 68, 109, 103, 77, //
    24, 35, 55, 64, 81, 104, 113, 92, //
    49, 64, 78, 87, 103, 121, 120, 101, //
    72, 92, 95, 98, 112, 100, 103, 99,
];

/// `NATURAL[k]` is the natural-order index of the k-th coefficient in zigzag order.
const NATURAL: [usize; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, //
    17, 24, 32, 25, 18, 11, 4, 5, //
    12, 19, 26, 33, 40, 48, 41, 34, //
    27, 20, 13, 6, 7, 14, 21, 28, //
    35, 42, 49, 56, 57, 50, 43, 36, //
    29, 22, 15, 23, 30, 37, 44, 51, //
    58, 59, 52, 45, 38, 31, 39, 46, //
    53, 60, 61, 54, 47, 55, 62, 63,
];

/// The luminance table libjpeg writes for `quality` (clamped to 1..=100), in zigzag order.
pub fn ijg_luma_table(quality: u8) -> [u16; 64] {
    let q = u32::from(quality.clamp(1, 100));
    let scale = if q < 50 { 5000 / q } else { 200 - 2 * q };
    let mut t = [0u16; 64];
    for (k, e) in t.iter_mut().enumerate() {
        let v = (u32::from(STD_LUMA[NATURAL[k]]) * scale + 50) / 100;
        *e = v.clamp(1, 255) as u16;
    }
    t
}

/// The estimated IJG quality (1..=100) of a JPEG, or `None` when it has no luminance table
/// before its first scan (or is not a JPEG).
pub fn estimate(jpeg: &[u8]) -> Option<u8> {
    let table = luma_table(jpeg)?;
    let mut best: Option<(u64, u8)> = None;
    for q in 1..=100u8 {
        let cand = ijg_luma_table(q);
        let sad: u64 = cand.iter().zip(&table).map(|(&a, &b)| u64::from(a.abs_diff(b))).sum();
        if best.is_none_or(|(b, _)| sad <= b) {
            best = Some((sad, q));
        }
    }
    best.map(|(_, q)| q)
}

/// The quantisation table with id 0 (zigzag order), from the DQT segments before the first SOS.
fn luma_table(b: &[u8]) -> Option<[u16; 64]> {
    if b.get(..2)? != [0xFF, 0xD8] {
        return None;
    }
    let mut luma = None;
    let mut pos = 2;
    loop {
        // a marker: 0xFF, optional 0xFF fill bytes, then the code
        if b.get(pos) != Some(&0xFF) {
            break;
        }
        while b.get(pos) == Some(&0xFF) {
            pos += 1;
        }
        let Some(&code) = b.get(pos) else { break };
        pos += 1;
        match code {
            // standalone markers: TEM, RSTn, SOI
            0x01 | 0xD0..=0xD8 => continue,
            // EOI, SOS: no more tables can precede image data
            0xD9 | 0xDA => break,
            // 0xFF00 is stuffing, never a marker in headers
            0x00 => break,
            _ => {}
        }
        let Some(len) = b.get(pos..pos + 2).map(|l| usize::from(u16::from_be_bytes([l[0], l[1]]))) else {
            break;
        };
        if len < 2 {
            break;
        }
        let Some(body) = b.get(pos + 2..pos + len) else { break };
        pos += len;
        if code == 0xDB && !read_dqt(body, &mut luma) {
            break;
        }
    }
    luma
}

/// Read the tables of one DQT body into `luma` (id 0 only). `false` when the body is malformed;
/// the tables read before the fault are kept.
fn read_dqt(mut body: &[u8], luma: &mut Option<[u16; 64]>) -> bool {
    while let Some((&pq_tq, rest)) = body.split_first() {
        let (precision, id) = (pq_tq >> 4, pq_tq & 0x0F);
        let size = match precision {
            0 => 64,
            1 => 128,
            _ => return false,
        };
        if id > 3 {
            return false;
        }
        let Some(raw) = rest.get(..size) else { return false };
        if id == 0 {
            let mut t = [0u16; 64];
            for (k, e) in t.iter_mut().enumerate() {
                *e = if precision == 0 {
                    u16::from(raw[k])
                } else {
                    u16::from_be_bytes([raw[2 * k], raw[2 * k + 1]])
                };
            }
            *luma = Some(t);
        }
        body = &rest[size..];
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The IJG standard chrominance table (natural order), for a realistic second table.
    const STD_CHROMA: [u16; 64] = [
        17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99, 47,
        66, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
        99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
    ];

    /// libjpeg's scaling written out independently, natural order.
    fn scaled_natural(std: &[u16; 64], q: u32) -> [u16; 64] {
        let scale = if q < 50 { 5000 / q } else { 200 - 2 * q };
        std.map(|v| ((u32::from(v) * scale + 50) / 100).clamp(1, 255) as u16)
    }

    fn zigzag(natural: &[u16; 64]) -> [u16; 64] {
        let mut z = [0u16; 64];
        for (k, e) in z.iter_mut().enumerate() {
            *e = natural[NATURAL[k]];
        }
        z
    }

    /// A DQT table entry: precision/id byte then the values (zigzag order).
    fn table_bytes(id: u8, sixteen: bool, zz: &[u16; 64]) -> Vec<u8> {
        let mut out = vec![(u8::from(sixteen) << 4) | id];
        for &v in zz {
            if sixteen {
                out.extend_from_slice(&v.to_be_bytes());
            } else {
                out.push(v as u8);
            }
        }
        out
    }

    fn segment(code: u8, body: &[u8]) -> Vec<u8> {
        let mut out = vec![0xFF, code];
        out.extend_from_slice(&((body.len() + 2) as u16).to_be_bytes());
        out.extend_from_slice(body);
        out
    }

    /// SOI, an APP0, the given segments, SOS, some scan bytes and EOI.
    fn jpeg(segments: &[Vec<u8>]) -> Vec<u8> {
        let mut out = vec![0xFF, 0xD8];
        out.extend(segment(0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0"));
        for s in segments {
            out.extend_from_slice(s);
        }
        out.extend(segment(0xDA, &[1, 1, 0, 0, 63, 0]));
        out.extend_from_slice(&[0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD9]);
        out
    }

    fn ijg_jpeg(q: u32, sixteen: bool, one_segment: bool) -> Vec<u8> {
        let luma = table_bytes(0, sixteen, &zigzag(&scaled_natural(&STD_LUMA, q)));
        let chroma = table_bytes(1, sixteen, &zigzag(&scaled_natural(&STD_CHROMA, q)));
        if one_segment {
            // chroma first, to check the id is honoured rather than the position
            jpeg(&[segment(0xDB, &[chroma, luma].concat())])
        } else {
            jpeg(&[segment(0xDB, &luma), segment(0xDB, &chroma)])
        }
    }

    #[test]
    fn exact_for_ijg_tables() {
        // (quality, expected estimate)
        const ROWS: &[(u32, u8)] = &[(10, 10), (50, 50), (75, 75), (90, 90), (100, 100), (1, 1), (25, 25)];
        for &(q, want) in ROWS {
            for sixteen in [false, true] {
                for one_segment in [false, true] {
                    let j = ijg_jpeg(q, sixteen, one_segment);
                    assert_eq!(estimate(&j), Some(want), "q={q} 16-bit={sixteen} one segment={one_segment}");
                }
            }
        }
    }

    #[test]
    fn exact_for_every_quality_with_a_distinct_table() {
        // A few qualities share a table with a neighbour (the tie goes to the higher one).
        for q in 1..=100u32 {
            let j = ijg_jpeg(q, false, false);
            let got = u32::from(estimate(&j).unwrap());
            let same_table = scaled_natural(&STD_LUMA, got) == scaled_natural(&STD_LUMA, q);
            assert!(got == q || same_table, "q={q} estimated {got}");
            assert!(got >= q);
        }
    }

    #[test]
    fn table_matches_the_independent_formula() {
        for q in [1u8, 10, 49, 50, 51, 75, 99, 100] {
            assert_eq!(ijg_luma_table(q), zigzag(&scaled_natural(&STD_LUMA, u32::from(q))), "q={q}");
        }
        // well-known values: q=50 is the standard table, q=75 starts 8, 6, 6
        assert_eq!(ijg_luma_table(50)[..4], [16, 11, 12, 14]);
        assert_eq!(ijg_luma_table(75)[..3], [8, 6, 6]);
    }

    #[test]
    fn all_ones_is_100_and_all_max_is_1() {
        assert_eq!(estimate(&jpeg(&[segment(0xDB, &table_bytes(0, false, &[1; 64]))])), Some(100));
        assert_eq!(estimate(&jpeg(&[segment(0xDB, &table_bytes(0, true, &[1; 64]))])), Some(100));
        assert_eq!(estimate(&jpeg(&[segment(0xDB, &table_bytes(0, false, &[255; 64]))])), Some(1));
        assert_eq!(estimate(&jpeg(&[segment(0xDB, &table_bytes(0, true, &[9000; 64]))])), Some(1));
    }

    #[test]
    fn later_table_replaces_earlier_and_sos_ends_the_search() {
        let t90 = table_bytes(0, false, &zigzag(&scaled_natural(&STD_LUMA, 90)));
        let t30 = table_bytes(0, false, &zigzag(&scaled_natural(&STD_LUMA, 30)));
        assert_eq!(estimate(&jpeg(&[segment(0xDB, &t90), segment(0xDB, &t30)])), Some(30));
        // a table after SOS (e.g. a progressive JPEG's later scans) is not read
        let mut j = jpeg(&[segment(0xDB, &t90)]);
        j.truncate(j.len() - 2);
        j.extend(segment(0xDB, &t30));
        assert_eq!(estimate(&j), Some(90));
        // fill bytes before a marker are allowed
        let mut j = vec![0xFF, 0xD8, 0xFF, 0xFF];
        j.extend(segment(0xDB, &t90));
        assert_eq!(estimate(&j), Some(90));
    }

    #[test]
    fn no_luma_table_is_none() {
        let chroma = table_bytes(1, false, &zigzag(&scaled_natural(&STD_CHROMA, 80)));
        const ROWS: &[&[u8]] = &[
            b"",
            b"\xFF",
            b"\xFF\xD8",
            b"\xFF\xD8\xFF\xD9",
            b"\xFF\xD8\xFF\xDA\x00\x02",
            b"\x89PNG\r\n\x1a\n",
            b"GIF89a",
            b"\xFF\xD9\xFF\xDB",
        ];
        for j in ROWS {
            assert_eq!(estimate(j), None, "{j:?}");
        }
        assert_eq!(estimate(&jpeg(&[])), None);
        assert_eq!(estimate(&jpeg(&[segment(0xDB, &chroma)])), None);
    }

    #[test]
    fn malformed_segments() {
        let t75 = table_bytes(0, false, &zigzag(&scaled_natural(&STD_LUMA, 75)));
        let ok = segment(0xDB, &t75);
        // (segments, expected)
        let rows: Vec<(Vec<Vec<u8>>, Option<u8>)> = vec![
            // precision 2 is invalid: nothing from that segment
            (vec![segment(0xDB, &[&[0x20][..], &[1; 64]].concat())], None),
            // table id 4 is invalid
            (vec![segment(0xDB, &[&[0x04][..], &[1; 64]].concat())], None),
            // a 16-bit flag with only 64 bytes of data
            (vec![segment(0xDB, &[&[0x10][..], &[1; 64]].concat())], None),
            // a good table, then a broken one in the same segment: the good one is kept
            (vec![segment(0xDB, &[&t75[..], &[0x00, 1, 2, 3][..]].concat())], Some(75)),
            // a good segment, then a broken one: kept
            (vec![ok.clone(), segment(0xDB, &[0x31])], Some(75)),
            // a length shorter than 2
            (vec![vec![0xFF, 0xDB, 0x00, 0x01], ok.clone()], None),
            // an empty DQT is fine
            (vec![segment(0xDB, &[]), ok.clone()], Some(75)),
            // garbage between segments stops the scan
            (vec![vec![0x00, 0x11], ok.clone()], None),
            // a length running past the end
            (vec![vec![0xFF, 0xDB, 0xFF, 0xFF, 0x00]], None),
        ];
        for (i, (segments, want)) in rows.iter().enumerate() {
            assert_eq!(estimate(&jpeg(segments)), *want, "row {i}");
        }
    }

    #[test]
    fn truncation_and_garbage_never_panic() {
        let full = ijg_jpeg(85, true, true);
        for n in 0..=full.len() {
            let got = estimate(&full[..n]);
            assert!(got.is_none() || got == Some(85), "prefix {n}: {got:?}");
        }
        // every prefix long enough to hold the DQT segment finds the table
        let j = ijg_jpeg(85, false, false);
        let dqt_end = 2 + 18 + 2 + 2 + 65;
        assert_eq!(estimate(&j[..dqt_end]), Some(85));
        assert_eq!(estimate(&j[..dqt_end - 1]), None);
        // pseudo-random bytes behind a SOI, and single-byte corruptions of a real header
        let mut x: u32 = 0x1234_5678;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x
        };
        for len in 0..300 {
            let mut g = vec![0xFF, 0xD8];
            g.extend((0..len).map(|_| if next() % 4 == 0 { 0xFF } else { next() as u8 }));
            let _ = estimate(&g);
        }
        for i in 0..full.len() {
            for v in [0x00, 0x01, 0x10, 0x7F, 0xDA, 0xDB, 0xFF] {
                let mut g = full.clone();
                g[i] = v;
                if let Some(q) = estimate(&g) {
                    assert!((1..=100).contains(&q));
                }
            }
        }
    }
}
