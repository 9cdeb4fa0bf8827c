//! `watermark` (`docs/oss/actions.md#watermark`): an image, a line of text, or both, drawn over the image.
//!
//! Two steps, so that an animation prepares a watermark once and draws it on every frame:
//! [`prepare`] builds the overlay (the watermark image decoded and pre-processed, the text
//! rasterised with its colour, shadow and rotation, the two joined, the opacity applied), and
//! [`draw`] composites it at its place, or tiles it with `fill_1`.
//!
//! Rules (OSS):
//! * `g` picks one of nine anchors. `x` is the margin from the left or right edge for
//!   `nw west sw` / `ne east se`; `y` the margin from the top or bottom edge for `nw north ne` /
//!   `sw south se`; the middle column is centred horizontally, the middle row vertically, moved
//!   by `voffset`.
//! * `t` is the opacity of the whole watermark, in percent.
//! * The image is an object of the same bucket (the gateway fetches it; here it arrives as
//!   bytes), pre-processed by its own chain: `resize` (`P` = percent of the main image), `crop`,
//!   `indexcrop`, `rounded-corners`, `rotate`. A missing object is WatermarkError with EC
//!   0040-00000025.
//! * `P` scales the watermark to `P`% of the main image whatever its own size: enlarged as well
//!   as shrunk (`P_10` gives a 10×10 watermark on a 100×100 image, a 20×20 one on a 200×200
//!   image), within the output limits; `limit` does not apply to it.
//! * Text + image: side by side, `order` picks which comes first, `align` aligns them at the
//!   top, middle or bottom, `interval` is the gap between them.
//! * `fill_1` tiles the watermark over the whole image, `padx`/`pady` apart.
//!
//! Choices where OSS is silent:
//! * A positive `voffset` moves the watermark down (image coordinates), a negative one up.
//! * A watermark larger than the image, or placed partly outside it, is clipped, not shrunk.
//! * Tiles are laid on a grid through the anchored position, so the tile at the anchor is where
//!   the single watermark would be.
//! * `size` is the font size in pixels, as in CSS: the em square, so a CJK character is about
//!   `size` px wide. The shadow is the text in black, `shadow` percent opaque, offset by
//!   `max(1, size / 20)` px right and down.
//! * `rotate` turns the text (and its shadow) clockwise about its centre; the box grows to the
//!   rotated text.
//! * An image with EXIF orientation is turned upright before its pre-processing.
//! * Fonts: see [`crate::text`]; a font that is not installed falls back, character by
//!   character, to the next face that has the glyph.

use crate::codec::decode::{decode_frame, orientation};
use crate::codec::{self, Limits};
use crate::frame::{Frame, OpContext, OpError};
use crate::op;
use crate::spec::{Action, Gravity, Rotate, Watermark, WatermarkAlign, WatermarkOrder, WatermarkText};
use crate::text::{self, FontSource};

/// What watermarks need besides their parameters: the watermark objects' bytes and fonts.
pub struct Assets<'a> {
    /// `(key, bytes)` of every watermark object the chain names (keys as in the chain, without
    /// the bucket's prefix).
    pub images: Vec<(&'a str, &'a [u8])>,
    pub fonts: &'a dyn FontSource,
}

impl std::fmt::Debug for Assets<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys: Vec<&str> = self.images.iter().map(|(k, _)| *k).collect();
        f.debug_struct("Assets").field("images", &keys).finish_non_exhaustive()
    }
}

impl Assets<'_> {
    /// No watermark objects; fonts from the compiled-in subset only.
    pub fn none() -> Assets<'static> {
        Assets { images: Vec::new(), fonts: &text::BundledOnly }
    }

    fn image(&self, key: &str) -> Option<&[u8]> {
        self.images.iter().find(|(k, _)| *k == key).map(|(_, b)| *b)
    }
}

/// A watermark ready to draw: RGBA, opacity applied. Without `fill_1` it is already cut to
/// the part that lands on the image, and `at` is where that part goes. With `fill_1`, `frame`
/// is the tile (small tiles repeated into a block, see [`MIN_TILE`]) laid `step` apart, and
/// `tile` is one watermark's size, which anchors the grid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overlay {
    pub frame: Frame,
    at: Option<(i64, i64)>,
    tile: (u32, u32),
    step: (u32, u32),
}

impl Overlay {
    /// Nothing would be drawn (fully transparent, or entirely outside the image).
    pub fn is_empty(&self) -> bool {
        self.frame.width == 0 || self.frame.height == 0
    }
}

fn empty() -> Frame {
    Frame { width: 0, height: 0, channels: 4, data: Vec::new() }
}

fn wm_error(message: impl Into<String>, ec: Option<&'static str>) -> OpError {
    OpError::Watermark { message: message.into(), ec }
}

/// An alpha-keeping context: pre-processing and text rotation leave transparent areas.
fn alpha_cx(cx: &OpContext) -> OpContext {
    OpContext { alpha: true, ..*cx }
}

/// Build the overlay of `wm` for a main image of `main` = (width, height).
pub fn prepare(
    wm: &Watermark,
    main: (u32, u32),
    assets: &Assets<'_>,
    limits: &Limits,
    cx: &OpContext,
) -> Result<Overlay, OpError> {
    let image = wm.image.as_ref().map(|i| image_part(&i.key, i.process.as_ref(), main, assets, limits, cx));
    let image = image.transpose()?;
    let text = wm.text.as_ref().map(|t| text_part(t, assets.fonts, cx)).transpose()?;
    let mut frame = match (image, text) {
        (Some(i), Some(t)) => {
            let (first, second) = match wm.order {
                WatermarkOrder::ImageFirst => (i, t),
                WatermarkOrder::TextFirst => (t, i),
            };
            side_by_side(&first, &second, wm.interval, wm.align, cx)?
        }
        (Some(f), None) | (None, Some(f)) => f,
        // The parser refuses a watermark with neither (EC 0040-00000278).
        (None, None) => return Err(wm_error("A watermark needs text or an image.", Some("0040-00000278"))),
    };
    if wm.opacity < 100 {
        for px in frame.data.chunks_exact_mut(4) {
            px[3] = ((u32::from(px[3]) * wm.opacity + 50) / 100) as u8;
        }
    }
    if frame.data.chunks_exact(4).all(|p| p[3] == 0) {
        return Ok(Overlay { frame: empty(), at: None, tile: (0, 0), step: (0, 0) });
    }
    if wm.fill {
        let tile = (frame.width, frame.height);
        let (frame, step) = tile_block(frame, wm, main);
        return Ok(Overlay { frame, at: None, tile, step });
    }
    // Keep only what lands on the image.
    let (left, top) = position(wm, main.0, main.1, frame.width, frame.height);
    let x0 = left.max(0);
    let y0 = top.max(0);
    let x1 = (left + i64::from(frame.width)).min(i64::from(main.0));
    let y1 = (top + i64::from(frame.height)).min(i64::from(main.1));
    if x0 >= x1 || y0 >= y1 {
        return Ok(Overlay { frame: empty(), at: None, tile: (0, 0), step: (0, 0) });
    }
    let rect = op::resize::Rect {
        x: (x0 - left) as u32,
        y: (y0 - top) as u32,
        w: (x1 - x0) as u32,
        h: (y1 - y0) as u32,
    };
    let frame = if (rect.w, rect.h) == (frame.width, frame.height) {
        frame
    } else {
        op::resize::crop_frame(&frame, rect)
    };
    let tile = (frame.width, frame.height);
    Ok(Overlay { frame, at: Some((x0, y0)), tile, step: tile })
}

fn image_part(
    key: &str,
    process: Option<&crate::spec::Chain>,
    main: (u32, u32),
    assets: &Assets<'_>,
    limits: &Limits,
    cx: &OpContext,
) -> Result<Frame, OpError> {
    let bytes = assets
        .image(key)
        .ok_or_else(|| wm_error("The watermark object does not exist.", Some("0040-00000025")))?;
    let undecodable = |_| wm_error("The watermark object is not an image Pixgate can decode.", None);
    let probe = codec::probe(bytes).map_err(undecodable)?;
    codec::check_source(&probe, bytes.len() as u64, limits).map_err(|e| match e {
        codec::CodecError::TooLarge { message, .. } => {
            wm_error(format!("The watermark image is too large: {message}"), None)
        }
        other => undecodable(other),
    })?;
    // A watermark is drawn onto an output-sized image: larger ones are refused before decoding.
    cx.limits.check(probe.width, probe.height).map_err(|_| {
        wm_error(
            format!(
                "The watermark image is {}x{}; it may be at most {} pixels a side and {} pixels.",
                probe.width, probe.height, cx.limits.max_side, cx.limits.max_pixels
            ),
            None,
        )
    })?;
    let (mut frame, _) = decode_frame(bytes, &probe, None).map_err(undecodable)?;
    if let Some(o) = orientation(bytes) {
        frame = op::auto_orient::orient(frame, o);
    }
    let cx = alpha_cx(cx);
    let mut frame = frame.into_rgba();
    for a in process.map(|c| c.actions.as_slice()).unwrap_or_default() {
        frame = match a {
            Action::Resize(r) => {
                let size = (frame.width, frame.height);
                op::resize::apply(frame, size, main, r, &cx)?
            }
            Action::Crop(c) => op::crop::apply(frame, c)?,
            Action::IndexCrop(c) => op::indexcrop::apply(frame, c)?,
            Action::RoundedCorners(c) => op::rounded_corners::apply(frame, c, &cx)?,
            Action::Rotate(r) => op::rotate::apply(frame, r, &cx)?,
            // The parser allows only the five actions above in a watermark's pre-processing.
            _ => frame,
        };
    }
    Ok(frame.into_rgba())
}

fn text_part(t: &WatermarkText, fonts: &dyn FontSource, cx: &OpContext) -> Result<Frame, OpError> {
    let faces = text::face_chain(fonts, &t.font);
    let mask = text::rasterise(&t.text, &faces, t.size, &cx.limits)?;
    let d = if t.shadow > 0 { (t.size / 20).max(1) } else { 0 };
    let (w, h) = (mask.width + d, mask.height + d);
    cx.limits.check(w, h)?;
    let [r, g, b] = [t.color.r, t.color.g, t.color.b];
    let mut frame = Frame::filled(w, h, &[r, g, b, 0]);
    let at = |x: u32, y: u32| -> u32 {
        if x < mask.width && y < mask.height {
            u32::from(mask.data[(y * mask.width + x) as usize])
        } else {
            0
        }
    };
    for y in 0..h {
        for x in 0..w {
            let ta = at(x, y);
            let sa = if d > 0 && x >= d && y >= d { (at(x - d, y - d) * t.shadow + 50) / 100 } else { 0 };
            if ta == 0 && sa == 0 {
                continue;
            }
            // text over a black shadow, straight alpha
            let under = sa * (255 - ta) / 255;
            let a = ta + under;
            let px = &mut frame.data[((y * w + x) * 4) as usize..][..4];
            for (c, v) in [r, g, b].into_iter().enumerate() {
                px[c] = ((u32::from(v) * ta + a / 2) / a.max(1)) as u8;
            }
            px[3] = a.min(255) as u8;
        }
    }
    if !t.rotate.is_multiple_of(360) {
        // The rotate action's 4096 px source limit is about images; text is only held to the
        // output limits.
        let mut cx = alpha_cx(cx);
        cx.limits.max_rotate_side = cx.limits.max_side;
        frame = op::rotate::apply(frame, &Rotate { angle: t.rotate }, &cx)?;
    }
    Ok(frame)
}

/// `first` then `second`, `interval` apart, aligned vertically as `align` says.
fn side_by_side(
    first: &Frame,
    second: &Frame,
    interval: u32,
    align: WatermarkAlign,
    cx: &OpContext,
) -> Result<Frame, OpError> {
    let w = first.width.saturating_add(interval).saturating_add(second.width);
    let h = first.height.max(second.height);
    cx.limits.check(w, h)?;
    let mut out = Frame::filled(w, h, &[0, 0, 0, 0]);
    let top = |f: &Frame| match align {
        WatermarkAlign::Top => 0,
        WatermarkAlign::Middle => (h - f.height) / 2,
        WatermarkAlign::Bottom => h - f.height,
    };
    copy_into(&mut out, first, 0, top(first));
    copy_into(&mut out, second, first.width + interval, top(second));
    Ok(out)
}

fn copy_into(dst: &mut Frame, src: &Frame, x: u32, y: u32) {
    let len = src.stride();
    for (row, line) in src.data.chunks_exact(len).enumerate() {
        let start = ((y as usize + row) * dst.width as usize + x as usize) * 4;
        dst.data[start..start + len].copy_from_slice(line);
    }
}

/// The top-left corner of a `w`×`h` watermark on a `bw`×`bh` image.
pub fn position(wm: &Watermark, bw: u32, bh: u32, w: u32, h: u32) -> (i64, i64) {
    let (bw, bh, w, h) = (i64::from(bw), i64::from(bh), i64::from(w), i64::from(h));
    let (x, y) = (i64::from(wm.x), i64::from(wm.y));
    let left = match wm.gravity {
        Gravity::Nw | Gravity::West | Gravity::Sw => x,
        Gravity::North | Gravity::Center | Gravity::South => (bw - w) / 2,
        Gravity::Ne | Gravity::East | Gravity::Se => bw - w - x,
    };
    let top = match wm.gravity {
        Gravity::Nw | Gravity::North | Gravity::Ne => y,
        Gravity::West | Gravity::Center | Gravity::East => (bh - h) / 2 + i64::from(wm.voffset),
        Gravity::Sw | Gravity::South | Gravity::Se => bh - h - y,
    };
    (left, top)
}

/// Small tiles are first repeated into a block at least this wide and tall, so that tiling
/// costs a few blends per block rather than one per tiny tile.
const MIN_TILE: u32 = 256;

/// The tile and its step (`padx`/`pady` after it). A tile smaller than [`MIN_TILE`] (or the
/// image's side, if smaller) is repeated into a block of whole steps at least that large, so
/// that tiling costs a few blends per block rather than one per tiny tile.
fn tile_block(tile: Frame, wm: &Watermark, main: (u32, u32)) -> (Frame, (u32, u32)) {
    let step_x = tile.width + wm.padx;
    let step_y = tile.height + wm.pady;
    let reps = |step: u32, side: u32| MIN_TILE.min(side.max(1)).div_ceil(step).max(1);
    let (kx, ky) = (reps(step_x, main.0), reps(step_y, main.1));
    if kx == 1 && ky == 1 {
        return (tile, (step_x, step_y));
    }
    let mut block = Frame::filled(kx * step_x, ky * step_y, &[0, 0, 0, 0]);
    for j in 0..ky {
        for i in 0..kx {
            copy_into(&mut block, &tile, i * step_x, j * step_y);
        }
    }
    let step = (block.width, block.height);
    (block, step)
}

/// Composite `overlay` on `base` where `wm` places it (tiled with `fill_1`). `base` has the
/// size `prepare` was given.
pub fn draw(base: &mut Frame, overlay: &Overlay, wm: &Watermark) {
    let o = &overlay.frame;
    if overlay.is_empty() || base.width == 0 || base.height == 0 {
        return;
    }
    if let Some((left, top)) = overlay.at {
        blend(base, o, left, top);
        return;
    }
    // Tiles (or blocks) `step` apart, on the grid through the anchored position of one tile.
    let (left, top) = position(wm, base.width, base.height, overlay.tile.0, overlay.tile.1);
    let (step_x, step_y) = (i64::from(overlay.step.0), i64::from(overlay.step.1));
    let first = |start: i64, step: i64, size: i64| start - (start + size).div_euclid(step) * step;
    let x0 = first(left, step_x, i64::from(o.width));
    let y0 = first(top, step_y, i64::from(o.height));
    let mut y = y0;
    while y < i64::from(base.height) {
        let mut x = x0;
        while x < i64::from(base.width) {
            blend(base, o, x, y);
            x += step_x;
        }
        y += step_y;
    }
}

/// `src` (RGBA, straight alpha) over `dst` at (`left`, `top`), clipped to `dst`.
fn blend(dst: &mut Frame, src: &Frame, left: i64, top: i64) {
    let x0 = left.max(0);
    let y0 = top.max(0);
    let x1 = (left + i64::from(src.width)).min(i64::from(dst.width));
    let y1 = (top + i64::from(src.height)).min(i64::from(dst.height));
    if x0 >= x1 || y0 >= y1 {
        return;
    }
    let c = usize::from(dst.channels);
    let dst_stride = dst.stride();
    let src_stride = src.stride();
    for y in y0..y1 {
        let s_row = &src.data[(y - top) as usize * src_stride..][..src_stride];
        let d_row = &mut dst.data[y as usize * dst_stride..][..dst_stride];
        for x in x0..x1 {
            let s = &s_row[(x - left) as usize * 4..][..4];
            let a = u32::from(s[3]);
            if a == 0 {
                continue;
            }
            let d = &mut d_row[x as usize * c..][..c];
            if c == 3 || d[3] == 255 {
                for i in 0..3 {
                    d[i] = ((u32::from(s[i]) * a + u32::from(d[i]) * (255 - a) + 127) / 255) as u8;
                }
            } else {
                // straight-alpha "over" onto a translucent pixel
                let da = u32::from(d[3]) * (255 - a) / 255;
                let oa = a + da;
                for i in 0..3 {
                    d[i] = ((u32::from(s[i]) * a + u32::from(d[i]) * da + oa / 2) / oa) as u8;
                }
                d[3] = oa.min(255) as u8;
            }
        }
    }
}

/// Prepare and draw in one step, for a single frame.
pub fn apply(
    mut base: Frame,
    wm: &Watermark,
    assets: &Assets<'_>,
    limits: &Limits,
    cx: &OpContext,
) -> Result<Frame, OpError> {
    let overlay = prepare(wm, (base.width, base.height), assets, limits, cx)?;
    draw(&mut base, &overlay, wm);
    Ok(base)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::encode::{EncodeOptions, encode};
    use crate::spec::{Format, encode_base64_url, parse_image};

    const RED: [u8; 4] = [255, 0, 0, 255];

    fn wm(params: &str) -> Watermark {
        match parse_image(&format!("image/watermark,{params}")).unwrap().actions.remove(0) {
            Action::Watermark(w) => w,
            other => panic!("{other:?}"),
        }
    }

    fn b64(s: &str) -> String {
        encode_base64_url(s.as_bytes())
    }

    fn png(w: u32, h: u32, px: [u8; 4]) -> Vec<u8> {
        let f = Frame::filled(w, h, &px);
        encode(&f, &EncodeOptions { format: Format::Png, quality: 90, progressive: false }).unwrap()
    }

    fn white(w: u32, h: u32) -> Frame {
        Frame::filled(w, h, &[255, 255, 255])
    }

    fn run(base: Frame, params: &str, images: &[(&str, &[u8])]) -> Result<Frame, OpError> {
        let assets = Assets { images: images.to_vec(), fonts: &text::BundledOnly };
        apply(base, &wm(params), &assets, &Limits::default(), &OpContext::default())
    }

    /// The bounding box of the pixels that differ from white: (x0, y0, x1, y1) exclusive.
    fn ink_box(f: &Frame) -> Option<(u32, u32, u32, u32)> {
        let mut b: Option<(u32, u32, u32, u32)> = None;
        for y in 0..f.height {
            for x in 0..f.width {
                if f.pixel(x, y)[..3] != [255, 255, 255] {
                    let (x0, y0, x1, y1) = b.unwrap_or((x, y, x + 1, y + 1));
                    b = Some((x0.min(x), y0.min(y), x1.max(x + 1), y1.max(y + 1)));
                }
            }
        }
        b
    }

    #[test]
    fn nine_gravities_with_margins_and_voffset() {
        let red = png(20, 10, RED);
        let key = b64("wm.png");
        let rows = [
            ("nw", (5, 7)),
            ("north", (40, 7)),
            ("ne", (75, 7)),
            ("west", (5, 38)),
            ("center", (40, 38)),
            ("east", (75, 38)),
            ("sw", (5, 63)),
            ("south", (40, 63)),
            ("se", (75, 63)),
        ];
        for (g, (x, y)) in rows {
            let f = run(white(100, 80), &format!("image_{key},g_{g},x_5,y_7,voffset_3"), &[("wm.png", &red)])
                .unwrap();
            assert_eq!(ink_box(&f), Some((x, y, x + 20, y + 10)), "g_{g}");
            assert_eq!(f.pixel(x + 3, y + 3), &RED[..3], "g_{g}");
        }
        // defaults: se, 10 px from the right and bottom edges
        let f = run(white(100, 80), &format!("image_{key}"), &[("wm.png", &red)]).unwrap();
        assert_eq!(ink_box(&f), Some((70, 60, 90, 70)));
        // a negative voffset moves up
        let f = run(white(100, 80), &format!("image_{key},g_east,voffset_-30"), &[("wm.png", &red)]).unwrap();
        assert_eq!(ink_box(&f), Some((70, 5, 90, 15)));
    }

    #[test]
    fn opacity_blends_with_the_image() {
        let red = png(20, 10, RED);
        let f = run(white(100, 80), &format!("image_{},t_50", b64("wm.png")), &[("wm.png", &red)]).unwrap();
        let px = f.pixel(80, 65);
        assert_eq!(px[0], 255);
        assert!((125..=130).contains(&px[1]) && px[1] == px[2], "{px:?}");
        // t_0 leaves the image as it was
        let f = run(white(100, 80), &format!("image_{},t_0", b64("wm.png")), &[("wm.png", &red)]).unwrap();
        assert_eq!(ink_box(&f), None);
    }

    #[test]
    fn translucent_watermark_pixels_and_translucent_bases() {
        let half = png(10, 10, [0, 0, 255, 128]);
        let mut base = Frame::filled(40, 40, &[0, 255, 0, 0]);
        base.data[..4].copy_from_slice(&[0, 255, 0, 255]);
        let assets = Assets { images: vec![("h.png", &half[..])], fonts: &text::BundledOnly };
        let f = apply(
            base,
            &wm(&format!("image_{},g_nw,x_0,y_0", b64("h.png"))),
            &assets,
            &Limits::default(),
            &OpContext::default(),
        )
        .unwrap();
        // over an opaque pixel: a blend; over a transparent one: the watermark pixel itself
        let p = f.pixel(0, 0);
        assert!(p[3] == 255 && (126..=130).contains(&p[2]) && (125..=129).contains(&p[1]), "{p:?}");
        assert_eq!(f.pixel(5, 5), &[0, 0, 255, 128]);
        assert_eq!(f.pixel(20, 20), &[0, 255, 0, 0]);
    }

    #[test]
    fn fill_tiles_the_whole_image_with_gaps() {
        let red = png(20, 10, RED);
        let f = run(
            white(200, 100),
            &format!("image_{},fill_1,padx_10,pady_10", b64("wm.png")),
            &[("wm.png", &red)],
        )
        .unwrap();
        let n = f.data.chunks_exact(3).filter(|p| p == &[255, 0, 0]).count();
        // one tile of 20x10 per 30x20 cell: a third of the image, give or take the edges
        assert!((6000..=7600).contains(&n), "{n}");
        // the tile at the anchor is where the single watermark would be
        assert_eq!(f.pixel(170, 80), &[255, 0, 0]);
        assert_eq!(f.pixel(169, 80), &[255, 255, 255]);
        // the corners are reached
        assert_eq!(ink_box(&f).map(|b| (b.0, b.1)), Some((0, 0)));
        let (_, _, x1, y1) = ink_box(&f).unwrap();
        assert!(x1 >= 190 && y1 >= 90, "{x1} {y1}");
        // without padding the tiles cover everything
        let f =
            run(white(200, 100), &format!("image_{},fill_1", b64("wm.png")), &[("wm.png", &red)]).unwrap();
        assert!(f.data.chunks_exact(3).all(|p| p == [255, 0, 0]));
    }

    #[test]
    fn pre_processing_with_percent_of_the_main_image() {
        let red = png(50, 50, RED);
        let key = b64("wm.png?x-oss-process=image/resize,P_10");
        let f = run(white(400, 200), &format!("image_{key},g_nw,x_0,y_0"), &[("wm.png", &red)]).unwrap();
        // the box is 40x20 (10% of 400x200); a square watermark fits as 20x20
        assert_eq!(ink_box(&f), Some((0, 0, 20, 20)));
        let f = run(white(800, 400), &format!("image_{key},g_nw,x_0,y_0"), &[("wm.png", &red)]).unwrap();
        assert_eq!(ink_box(&f), Some((0, 0, 40, 40)));
        // crop and rotate in the pre-processing
        let key = b64("wm.png?x-oss-process=image/crop,w_30,h_10/rotate,90");
        let f = run(white(100, 100), &format!("image_{key},g_nw,x_0,y_0"), &[("wm.png", &red)]).unwrap();
        assert_eq!(ink_box(&f), Some((0, 0, 10, 30)));
    }

    #[test]
    fn percent_of_the_main_image_enlarges_and_shrinks() {
        let overlay = |mark: &[u8], pre: &str, main: (u32, u32), cx: &OpContext| {
            let key = b64(&format!("wm.png?x-oss-process=image/resize,{pre}"));
            let assets = Assets { images: vec![("wm.png", mark)], fonts: &text::BundledOnly };
            prepare(&wm(&format!("image_{key},g_nw,x_0,y_0")), main, &assets, &Limits::default(), cx)
        };
        let cx = OpContext::default();
        // a 10x10 watermark with P_50 on a 100x100 image is enlarged to 50x50
        let small = png(10, 10, RED);
        let o = overlay(&small, "P_50", (100, 100), &cx).unwrap().frame;
        assert_eq!((o.width, o.height), (50, 50));
        let p = o.pixel(25, 25);
        assert!(p[0] >= 250 && p[1] <= 5 && p[2] <= 5 && p[3] >= 250, "{p:?}");
        // limit_1 spelled out changes nothing
        let o = overlay(&small, "P_50,limit_1", (100, 100), &cx).unwrap().frame;
        assert_eq!((o.width, o.height), (50, 50));
        // a 400x400 watermark with P_10 on a 100x100 image is shrunk to 10x10
        let large = png(400, 400, RED);
        let o = overlay(&large, "P_10", (100, 100), &cx).unwrap().frame;
        assert_eq!((o.width, o.height), (10, 10));
        assert_eq!(o.pixel(5, 5), &RED[..]);
        // the same P on a larger image gives a larger watermark
        let o = overlay(&small, "P_10", (200, 200), &cx).unwrap().frame;
        assert_eq!((o.width, o.height), (20, 20));
        // drawn: the ink covers exactly the enlarged watermark
        let f = run(
            white(100, 100),
            &format!("image_{},g_nw,x_0,y_0", b64("wm.png?x-oss-process=image/resize,P_50")),
            &[("wm.png", &small)],
        )
        .unwrap();
        assert_eq!(ink_box(&f), Some((0, 0, 50, 50)));
        // enlarging stays within the output limits
        let tight = OpContext {
            limits: crate::frame::OutputLimits { max_side: 40, ..Default::default() },
            ..Default::default()
        };
        let err = overlay(&small, "P_50", (100, 100), &tight).unwrap_err();
        assert!(matches!(err, OpError::TooLarge { ec: "0040-00000007", .. }), "{err:?}");
    }

    #[test]
    fn cjk_text_changes_pixels_only_where_the_text_is() {
        let f =
            run(white(300, 100), &format!("text_{},g_nw,x_20,y_30,size_40", b64("水印文字")), &[]).unwrap();
        let (x0, y0, x1, y1) = ink_box(&f).expect("ink");
        assert!(x0 >= 20 && y0 >= 30 && x1 <= 20 + 4 * 41 && y1 <= 30 + 56, "{:?}", (x0, y0, x1, y1));
        assert!(x1 - x0 > 4 * 36, "{x0}..{x1}");
        let dark = f.data.chunks_exact(3).filter(|p| p[0] < 100).count();
        assert!(dark > 600, "{dark}");
        // the colour is the one asked for
        let f = run(white(300, 100), &format!("text_{},color_00FF00,g_nw", b64("中中中")), &[]).unwrap();
        assert!(f.data.chunks_exact(3).any(|p| p == [0, 255, 0]));
        assert!(f.data.chunks_exact(3).all(|p| p[1] == 255));
    }

    #[test]
    fn text_shadow_and_rotation() {
        let text = b64("IIII");
        let plain = run(white(300, 200), &format!("text_{text},color_FFFFFF,g_center"), &[]).unwrap();
        assert_eq!(ink_box(&plain), None, "white on white");
        let shadow =
            run(white(300, 200), &format!("text_{text},color_FFFFFF,shadow_100,g_center"), &[]).unwrap();
        assert!(shadow.data.chunks_exact(3).filter(|p| p[0] < 60).count() > 100);
        let flat = run(white(300, 200), &format!("text_{text},g_nw,size_40"), &[]).unwrap();
        let turned = run(white(300, 200), &format!("text_{text},g_nw,size_40,rotate_90"), &[]).unwrap();
        let (a, b) = (ink_box(&flat).unwrap(), ink_box(&turned).unwrap());
        assert!(a.2 - a.0 > a.3 - a.1, "wide: {a:?}");
        assert!(b.3 - b.1 > b.2 - b.0, "tall: {b:?}");
    }

    #[test]
    fn text_and_image_order_align_interval() {
        let red = png(30, 60, RED);
        let key = b64("wm.png");
        let text = b64("A");
        let overlay = |params: &str| {
            let assets = Assets { images: vec![("wm.png", &red[..])], fonts: &text::BundledOnly };
            prepare(&wm(params), (500, 500), &assets, &Limits::default(), &OpContext::default())
                .unwrap()
                .frame
        };
        let o = overlay(&format!("image_{key},text_{text},size_20,interval_7"));
        assert_eq!(o.height, 60);
        // image first, text bottom-aligned after a 7 px gap
        assert_eq!(o.pixel(0, 0), &RED[..]);
        assert_eq!(o.pixel(32, 0)[3], 0);
        let ink_rows: Vec<u32> =
            (0..o.height).filter(|&y| (37..o.width).any(|x| o.pixel(x, y)[3] > 0)).collect();
        assert!(*ink_rows.first().unwrap() > 35, "{ink_rows:?}");
        // text first, top-aligned
        let o = overlay(&format!("image_{key},text_{text},size_20,order_1,align_0"));
        assert_eq!(o.pixel(o.width - 1, 0), &RED[..]);
        assert_eq!(o.pixel(0, o.height - 1)[3], 0);
        let ink_rows: Vec<u32> =
            (0..o.height).filter(|&y| (0..o.width - 30).any(|x| o.pixel(x, y)[3] > 0)).collect();
        assert!(*ink_rows.last().unwrap() < 25, "{ink_rows:?}");
    }

    #[test]
    fn missing_or_undecodable_watermark_objects() {
        let err = run(white(10, 10), &format!("image_{}", b64("nothere.png")), &[]).unwrap_err();
        assert_eq!(
            err,
            OpError::Watermark {
                message: "The watermark object does not exist.".into(),
                ec: Some("0040-00000025")
            }
        );
        let err =
            run(white(10, 10), &format!("image_{}", b64("x.png")), &[("x.png", b"plain text")]).unwrap_err();
        assert!(matches!(err, OpError::Watermark { ec: None, .. }), "{err:?}");
    }

    #[test]
    fn tiny_tiles_and_oversized_images() {
        let dot = png(1, 1, RED);
        let f =
            run(white(100, 100), &format!("image_{},fill_1,padx_1,pady_1", b64("d.png")), &[("d.png", &dot)])
                .unwrap();
        let n = f.data.chunks_exact(3).filter(|p| p == &[255, 0, 0]).count();
        assert_eq!(n, 2500);
        // a watermark image over the output limits is refused before it is decoded
        let big = png(300, 300, RED);
        let assets = Assets { images: vec![("b.png", &big[..])], fonts: &text::BundledOnly };
        let cx = OpContext {
            limits: crate::frame::OutputLimits { max_side: 200, ..Default::default() },
            ..Default::default()
        };
        let err =
            apply(white(10, 10), &wm(&format!("image_{}", b64("b.png"))), &assets, &Limits::default(), &cx)
                .unwrap_err();
        assert!(matches!(err, OpError::Watermark { .. }), "{err:?}");
        // rotated text is held to the output limits, not the rotate action's 4096 px
        let long = b64(&"W".repeat(60));
        assert!(run(white(100, 100), &format!("text_{long},size_100,rotate_30"), &[]).is_ok());
    }

    #[test]
    fn a_watermark_larger_than_the_image_is_clipped() {
        let red = png(300, 300, RED);
        let f =
            run(white(50, 40), &format!("image_{},g_center", b64("wm.png")), &[("wm.png", &red)]).unwrap();
        assert!(f.data.chunks_exact(3).all(|p| p == [255, 0, 0]));
        assert_eq!((f.width, f.height), (50, 40));
    }
}
