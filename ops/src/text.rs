//! Text for watermarks: fonts by their OSS names, and one line of text rasterised into a
//! coverage mask.
//!
//! Faces come from a [`FontSource`] (the gateway loads them from its font folders) and, last,
//! from two fonts compiled into Pixgate (`ops/fonts/`): a Latin subset of DejaVu Sans (Bitstream
//! Vera licence) and a CJK subset of Droid Sans Fallback (Apache-2.0: punctuation, full-width
//! forms, kana and the 3,755 level-1 characters of GB 2312). Each character is drawn with the
//! first face of the chain that has a glyph for it: the requested font, then OSS's default
//! `wqy-zenhei`, `wqy-microhei`, `droidsansfallback`, then the compiled-in subsets. Nothing here
//! reads files.

use std::sync::OnceLock;

use crate::frame::{OpError, OutputLimits};
use ab_glyph::{Font, FontArc, FontRef, FontVec, GlyphId, OutlinedGlyph, PxScale, ScaleFont, point};

/// A loaded font face.
pub type Face = FontArc;

/// The font names OSS documents for `type_`, first the default.
pub const OSS_FONTS: &[&str] = &[
    "wqy-zenhei",
    "wqy-microhei",
    "fangzhengshusong",
    "fangzhengkaiti",
    "fangzhengheiti",
    "fangzhengfangsong",
    "droidsansfallback",
];

/// The faces tried after the requested one, before the compiled-in subset.
const FALLBACKS: &[&str] = &["wqy-zenhei", "wqy-microhei", "droidsansfallback"];

static BUNDLED_LATIN: &[u8] = include_bytes!("../fonts/pixgate-fallback-latin.ttf");
static BUNDLED_CJK: &[u8] = include_bytes!("../fonts/pixgate-fallback-cjk.ttf");

/// Where faces come from, by OSS name (`wqy-zenhei`, ...) or any other name the source knows.
pub trait FontSource: Send + Sync {
    fn face(&self, name: &str) -> Option<Face>;
}

/// A source with no fonts: only the compiled-in subset is used.
#[derive(Debug, Clone, Copy, Default)]
pub struct BundledOnly;

impl FontSource for BundledOnly {
    fn face(&self, _name: &str) -> Option<Face> {
        None
    }
}

/// The compiled-in fallback faces: Latin, then CJK.
pub fn bundled() -> &'static [Face; 2] {
    static FACES: OnceLock<[Face; 2]> = OnceLock::new();
    FACES.get_or_init(|| {
        // The files are part of the source tree and checked by a test; they always parse.
        let face = |b: &'static [u8]| FontArc::new(FontRef::try_from_slice(b).expect("bundled font parses"));
        [face(BUNDLED_LATIN), face(BUNDLED_CJK)]
    })
}

/// Parse a font file's bytes (`index` picks the face of a `.ttc` collection).
pub fn load_face(bytes: Vec<u8>, index: u32) -> Option<Face> {
    FontVec::try_from_vec_and_index(bytes, index).ok().map(FontArc::new)
}

/// The faces to draw `name` with, best first; never empty.
pub fn face_chain(fonts: &dyn FontSource, name: &str) -> Vec<Face> {
    let mut chain = Vec::with_capacity(FALLBACKS.len() + 2);
    let mut seen: Vec<&str> = Vec::with_capacity(FALLBACKS.len() + 1);
    for n in std::iter::once(name).chain(FALLBACKS.iter().copied()) {
        if seen.contains(&n) {
            continue;
        }
        seen.push(n);
        if let Some(f) = fonts.face(n) {
            chain.push(f);
        }
    }
    chain.extend(bundled().iter().cloned());
    chain
}

/// A single-channel coverage image (0 = empty, 255 = fully inside a glyph).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mask {
    pub width: u32,
    pub height: u32,
    pub data: Vec<u8>,
}

/// The scale at which `face`'s em square is `size` px (a font size in pixels, as in CSS).
fn em_scale(face: &Face, size: u32) -> PxScale {
    let em = face.units_per_em().unwrap_or(1000.0).max(1.0);
    PxScale::from(size.max(1) as f32 * face.height_unscaled() / em)
}

/// Rasterise one line of `text` at a font size of `size` px (the em square: a CJK character is
/// about `size` px wide). The mask is as wide as the advances (or the ink, if it reaches
/// further) and as tall as the line (highest ascent to lowest descent of the faces used);
/// characters no face has are drawn as the first face's missing-glyph box. A mask over `limits` is refused before it is allocated.
pub fn rasterise(text: &str, faces: &[Face], size: u32, limits: &OutputLimits) -> Result<Mask, OpError> {
    let scales: Vec<PxScale> = faces.iter().map(|f| em_scale(f, size)).collect();
    let pick = |c: char| -> usize { faces.iter().position(|f| f.glyph_id(c) != GlyphId(0)).unwrap_or(0) };
    let chars: Vec<(usize, char)> = text.chars().filter(|c| !c.is_control()).map(|c| (pick(c), c)).collect();
    let (mut ascent, mut descent) = (0f32, 0f32);
    let mut used = vec![false; faces.len()];
    for &(i, _) in &chars {
        used[i] = true;
    }
    for (i, f) in faces.iter().enumerate() {
        if used[i] || chars.is_empty() && i == 0 {
            let s = f.as_scaled(scales[i]);
            ascent = ascent.max(s.ascent());
            descent = descent.min(s.descent());
        }
    }
    let mut caret = 0f32;
    let mut prev: Option<(usize, GlyphId)> = None;
    let mut outlined: Vec<OutlinedGlyph> = Vec::with_capacity(chars.len());
    for &(i, c) in &chars {
        let scale = scales[i];
        let face = faces[i].as_scaled(scale);
        let id = face.glyph_id(c);
        if let Some((pi, pid)) = prev
            && pi == i
        {
            caret += face.kern(pid, id);
        }
        let glyph = id.with_scale_and_position(scale, point(caret, ascent));
        caret += face.h_advance(id);
        if let Some(o) = faces[i].outline_glyph(glyph) {
            outlined.push(o);
        }
        prev = Some((i, id));
    }
    // The box: the advances and the line, grown to the ink where it reaches past them.
    let (mut x0, mut y0, mut x1, mut y1) = (0f32, 0f32, caret, ascent - descent);
    for o in &outlined {
        let b = o.px_bounds();
        x0 = x0.min(b.min.x);
        y0 = y0.min(b.min.y);
        x1 = x1.max(b.max.x);
        y1 = y1.max(b.max.y);
    }
    let (ox, oy) = (x0.floor(), y0.floor());
    let width = ((x1 - ox).ceil() as u32).max(1);
    let height = ((y1 - oy).ceil() as u32).max(1);
    limits.check(width, height)?;
    let mut data = vec![0u8; width as usize * height as usize];
    for o in &outlined {
        let b = o.px_bounds();
        let (bx, by) = ((b.min.x - ox) as i64, (b.min.y - oy) as i64);
        o.draw(|x, y, c| {
            let (px, py) = (bx + i64::from(x), by + i64::from(y));
            if px >= 0 && py >= 0 && (px as u32) < width && (py as u32) < height {
                let at = py as usize * width as usize + px as usize;
                let v = (c.clamp(0.0, 1.0) * 255.0).round() as u8;
                data[at] = data[at].max(v);
            }
        });
    }
    Ok(Mask { width, height, data })
}

#[cfg(test)]
mod tests {
    use super::*;

    const L: OutputLimits = OutputLimits { max_side: 16_384, max_pixels: 16_777_216, max_rotate_side: 4096 };

    fn ink(m: &Mask) -> usize {
        m.data.iter().filter(|&&v| v > 127).count()
    }

    #[test]
    fn bundled_faces_have_latin_cjk_and_kana() {
        let [latin, cjk] = bundled();
        for c in ['A', 'z', '0', 'é', 'ß', '€', '—'] {
            assert_ne!(latin.glyph_id(c), GlyphId(0), "{c}");
        }
        for c in ['水', '印', '中', '国', '。', 'あ', 'カ', '！'] {
            assert_ne!(cjk.glyph_id(c), GlyphId(0), "{c}");
        }
    }

    #[test]
    fn cjk_text_draws_ink_and_has_the_line_height() {
        let faces = face_chain(&BundledOnly, "wqy-zenhei");
        assert_eq!(faces.len(), 2);
        let m = rasterise("水印", &faces, 40, &L).unwrap();
        // the em is 40 px: a CJK character is 40 px wide; the line is a little taller
        assert!((40..=56).contains(&m.height), "{m:?}");
        assert!((78..=84).contains(&m.width), "{}", m.width);
        assert!(ink(&m) > 200, "{}", ink(&m));
        // wider text, wider mask; larger size, taller mask
        assert!(rasterise("水印水印", &faces, 40, &L).unwrap().width > m.width + 70);
        assert!(rasterise("水印", &faces, 80, &L).unwrap().height >= 2 * m.height - 2);
    }

    #[test]
    fn a_line_over_the_limits_is_refused_before_drawing() {
        let faces = face_chain(&BundledOnly, "x");
        let text = "W".repeat(64);
        let small = OutputLimits { max_side: 4096, max_pixels: 1 << 20, max_rotate_side: 4096 };
        assert!(matches!(rasterise(&text, &faces, 1000, &small), Err(OpError::TooLarge { .. })));
    }

    #[test]
    fn empty_or_blank_text_is_a_blank_line() {
        let faces = face_chain(&BundledOnly, "x");
        let m = rasterise(" ", &faces, 20, &L).unwrap();
        assert_eq!(ink(&m), 0);
        assert!(m.width >= 1 && m.height >= 18);
    }

    struct One(Face);
    impl FontSource for One {
        fn face(&self, name: &str) -> Option<Face> {
            (name == "droidsansfallback").then(|| self.0.clone())
        }
    }

    #[test]
    fn chain_puts_the_requested_font_first_and_deduplicates() {
        let src = One(bundled()[1].clone());
        assert_eq!(face_chain(&src, "droidsansfallback").len(), 3);
        assert_eq!(face_chain(&src, "wqy-zenhei").len(), 3);
        assert!(load_face(b"not a font".to_vec(), 0).is_none());
        assert!(load_face(BUNDLED_CJK.to_vec(), 0).is_some());
    }
}
