//! HEIF containers (HEIC, AVIF) read without libheif: the ISOBMFF boxes that describe the
//! primary image, so that `probe` knows its size and frame count, the limits are checked from
//! the header, and `info` finds its EXIF in every build. Pixels still need the `heic` feature.
//!
//! Boxes read: `ftyp` (by `sniff`), `meta` with `hdlr` (must be `pict`), `pitm`, `iinf`/`infe`,
//! `iloc`, `idat` and `iprp` (`ipco` with `ispe`, `clap`, `irot`, `imir`, `pixi`; `ipma`), and
//! `moov` for image sequences (the sample count of the first picture track).
//!
//! Hostile input is an error, never a panic: every read is bounds-checked, sizes use checked
//! arithmetic, every loop consumes bytes, and nothing is allocated from a count the file
//! declares. A box that runs past its container is an error; at the top level, only once the
//! `meta` box has been read is a broken box after it ignored (a truncated `mdat`).

use std::ops::Range;

use super::CodecError;

/// What the container says about the primary image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heif {
    /// The displayed width: `ispe`, then `clap` and `irot` in the order the item lists them,
    /// as libheif reports it.
    pub width: u32,
    /// The displayed height.
    pub height: u32,
    /// The samples of the first picture track of an image sequence; 1 for a still image (an
    /// item collection counts its primary image only).
    pub frames: u32,
    /// `irot`: anticlockwise quarter turns, 0..=3.
    pub rotation: u8,
    /// `imir`: 0 mirrors about a vertical axis (left and right swap), 1 about a horizontal one.
    pub mirror: Option<u8>,
    /// `pixi`: the bits per channel of the first channel.
    pub bit_depth: Option<u8>,
    /// The Exif item's bytes: ranges of the file, in order.
    exif: Vec<Range<usize>>,
}

impl Heif {
    /// The Exif item's bytes (a 4-byte offset to the TIFF header, then the EXIF), if the file
    /// has one whose data lies inside the file.
    pub fn exif_item(&self, bytes: &[u8]) -> Option<Vec<u8>> {
        let total = self.exif.iter().try_fold(0usize, |n, r| n.checked_add(r.len()))?;
        if self.exif.is_empty() || total > bytes.len() {
            return None;
        }
        let mut out = Vec::with_capacity(total);
        for r in &self.exif {
            out.extend_from_slice(bytes.get(r.clone())?);
        }
        Some(out)
    }
}

/// Parse the container. Errors are `CodecError::Corrupt`.
pub fn parse(bytes: &[u8]) -> Result<Heif, CodecError> {
    let mut meta = None;
    let mut frames = None;
    for bx in Boxes::new(bytes, 0) {
        let bx = match bx {
            Ok(bx) => bx,
            Err(_) if meta.is_some() => break,
            Err(e) => return Err(e),
        };
        match &bx.kind {
            b"meta" if meta.is_none() => meta = Some(bx),
            b"moov" if frames.is_none() => frames = sequence_frames(&bx),
            _ => {}
        }
    }
    let meta = meta.ok_or_else(|| corrupt("no meta box"))?;
    let mut heif = primary_image(bytes.len(), &meta)?;
    heif.frames = frames.unwrap_or(1).max(1);
    Ok(heif)
}

fn corrupt(what: &str) -> CodecError {
    CodecError::Corrupt(format!("HEIF container: {what}"))
}

/// A bounds-checked big-endian reader over one box's payload.
struct Reader<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn new(data: &'a [u8]) -> Self {
        Reader { data, at: 0 }
    }

    fn bytes(&mut self, n: usize) -> Result<&'a [u8], CodecError> {
        let end = self.at.checked_add(n).ok_or_else(|| corrupt("size overflow"))?;
        let s = self.data.get(self.at..end).ok_or_else(|| corrupt("truncated box"))?;
        self.at = end;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], CodecError> {
        self.bytes(N)?.try_into().map_err(|_| corrupt("truncated box"))
    }

    fn u8(&mut self) -> Result<u8, CodecError> {
        Ok(u8::from_be_bytes(self.array()?))
    }

    fn u16(&mut self) -> Result<u16, CodecError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    fn u32(&mut self) -> Result<u32, CodecError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64, CodecError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    /// A 16-bit field in version 0 of a box, 32-bit otherwise (item IDs, counts).
    fn u16_or_u32(&mut self, wide: bool) -> Result<u32, CodecError> {
        if wide { self.u32() } else { self.u16().map(u32::from) }
    }

    /// An unsigned field of 0, 4 or 8 bytes (`iloc`'s offsets and lengths).
    fn sized(&mut self, size: u8) -> Result<u64, CodecError> {
        match size {
            0 => Ok(0),
            4 => self.u32().map(u64::from),
            8 => self.u64(),
            _ => Err(corrupt("iloc field size other than 0, 4 or 8")),
        }
    }

    /// A FullBox's version (its flags are returned too).
    fn version_flags(&mut self) -> Result<(u8, u32), CodecError> {
        let v = self.u32()?;
        Ok(((v >> 24) as u8, v & 0x00FF_FFFF))
    }
}

/// One box: its type, its payload and where that payload starts in the file.
#[derive(Clone, Copy)]
struct Bx<'a> {
    kind: [u8; 4],
    body: &'a [u8],
    start: usize,
}

/// The boxes laid end to end in `data`, which starts at `offset` in the file. Size 0 means "to
/// the end of the container", size 1 a 64-bit size after the type. Stops after an error.
struct Boxes<'a> {
    data: &'a [u8],
    offset: usize,
    at: usize,
}

impl<'a> Boxes<'a> {
    fn new(data: &'a [u8], offset: usize) -> Self {
        Boxes { data, offset, at: 0 }
    }

    /// The children of a box whose payload starts with `skip` bytes of its own fields.
    fn within(bx: &Bx<'a>, skip: usize) -> Result<Self, CodecError> {
        let data = bx.body.get(skip..).ok_or_else(|| corrupt("truncated box"))?;
        Ok(Boxes::new(data, bx.start.saturating_add(skip)))
    }

    fn read(&mut self) -> Result<Bx<'a>, CodecError> {
        let rest = self.data.get(self.at..).unwrap_or_default();
        let mut r = Reader::new(rest);
        let size32 = r.u32()?;
        let kind = r.array::<4>()?;
        let size = match size32 {
            0 => rest.len() as u64,
            1 => r.u64()?,
            n => u64::from(n),
        };
        let header = r.at;
        let size = usize::try_from(size).map_err(|_| corrupt("box larger than the address space"))?;
        if size < header {
            return Err(corrupt("box smaller than its header"));
        }
        let body = rest.get(header..size).ok_or_else(|| corrupt("box runs past its container"))?;
        let start = self.offset.saturating_add(self.at).saturating_add(header);
        self.at = self.at.saturating_add(size);
        Ok(Bx { kind, body, start })
    }
}

impl<'a> Iterator for Boxes<'a> {
    type Item = Result<Bx<'a>, CodecError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.at >= self.data.len() {
            return None;
        }
        let r = self.read();
        if r.is_err() {
            self.at = self.data.len();
        }
        Some(r)
    }
}

/// The first child of `bx` of type `kind`, among the children before any broken one.
fn child<'a>(bx: &Bx<'a>, kind: &[u8; 4]) -> Option<Bx<'a>> {
    Boxes::new(bx.body, bx.start).map_while(Result::ok).find(|b| &b.kind == kind)
}

/// The sample count of the first picture (or video) track of an image sequence.
fn sequence_frames(moov: &Bx<'_>) -> Option<u32> {
    for trak in Boxes::new(moov.body, moov.start).map_while(Result::ok).filter(|b| &b.kind == b"trak") {
        let Some(mdia) = child(&trak, b"mdia") else { continue };
        let handler = child(&mdia, b"hdlr").and_then(|h| h.body.get(8..12));
        if !matches!(handler, Some(b"pict" | b"vide")) {
            continue;
        }
        let stbl = child(&mdia, b"minf").and_then(|m| child(&m, b"stbl"))?;
        // stsz: version/flags, sample_size, sample_count; stz2: version/flags, reserved and
        // field size, sample_count. The count is at byte 8 in both.
        let sizes = child(&stbl, b"stsz").or_else(|| child(&stbl, b"stz2"))?;
        let count = sizes.body.get(8..12)?;
        return Some(u32::from_be_bytes(count.try_into().ok()?));
    }
    None
}

/// The boxes of `meta` this parser uses.
struct Meta<'a> {
    primary: u32,
    iinf: Bx<'a>,
    iloc: Option<Bx<'a>>,
    idat: Option<Range<usize>>,
    iprp: Bx<'a>,
}

impl<'a> Meta<'a> {
    fn read(meta: &Bx<'a>) -> Result<Self, CodecError> {
        let kids = Boxes::within(meta, 4)?.collect::<Result<Vec<_>, _>>()?;
        let find = |kind: &[u8; 4]| kids.iter().find(|b| &b.kind == kind).copied();
        let hdlr = find(b"hdlr").ok_or_else(|| corrupt("no hdlr box"))?;
        if hdlr.body.get(8..12) != Some(b"pict".as_slice()) {
            return Err(corrupt("the meta box does not describe pictures"));
        }
        let pitm = find(b"pitm").ok_or_else(|| corrupt("no primary item (pitm)"))?;
        let mut r = Reader::new(pitm.body);
        let (version, _) = r.version_flags()?;
        let primary = r.u16_or_u32(version > 0)?;
        let idat = find(b"idat").map(|b| b.start..b.start.saturating_add(b.body.len()));
        Ok(Meta {
            primary,
            iinf: find(b"iinf").ok_or_else(|| corrupt("no item information (iinf)"))?,
            iloc: find(b"iloc"),
            idat,
            iprp: find(b"iprp").ok_or_else(|| corrupt("no item properties (iprp)"))?,
        })
    }
}

/// The primary image's size and properties, and where the Exif item is.
fn primary_image(file_len: usize, meta: &Bx<'_>) -> Result<Heif, CodecError> {
    let m = Meta::read(meta)?;
    let items = item_types(&m.iinf)?;
    if !items.iter().any(|(id, _)| *id == m.primary) {
        return Err(corrupt("the primary item has no item information"));
    }
    if let Some(iloc) = &m.iloc {
        // The primary image's data must lie inside the file (or its idat).
        item_extents(iloc, m.primary, file_len, m.idat.clone())?;
    }
    let mut heif = properties(&m.iprp, m.primary)?;
    let exif_item = items.iter().find(|(_, kind)| kind == b"Exif").map(|(id, _)| *id);
    if let (Some(id), Some(iloc)) = (exif_item, &m.iloc) {
        heif.exif = item_extents(iloc, id, file_len, m.idat.clone()).ok().flatten().unwrap_or_default();
    }
    Ok(heif)
}

/// `(item ID, item type)` of every `infe` of version 2 or 3 (older ones carry no type).
fn item_types(iinf: &Bx<'_>) -> Result<Vec<(u32, [u8; 4])>, CodecError> {
    let mut r = Reader::new(iinf.body);
    let (version, _) = r.version_flags()?;
    r.u16_or_u32(version > 0)?; // entry_count: the boxes themselves are counted
    let mut out = Vec::new();
    for infe in Boxes::within(iinf, r.at)? {
        let infe = infe?;
        if &infe.kind != b"infe" {
            continue;
        }
        let mut r = Reader::new(infe.body);
        let (version, _) = r.version_flags()?;
        if version < 2 {
            continue;
        }
        let id = r.u16_or_u32(version > 2)?;
        r.u16()?; // item_protection_index
        out.push((id, r.array::<4>()?));
    }
    Ok(out)
}

/// Extents are collected for at most this many per item.
const MAX_EXTENTS: u16 = 4096;

/// Where the item `wanted` lies: ranges of the file. `Ok(None)` when `iloc` does not list it or
/// its data is elsewhere (another file, another item); an error when an extent lies outside the
/// file (or outside `idat`).
fn item_extents(
    iloc: &Bx<'_>,
    wanted: u32,
    file_len: usize,
    idat: Option<Range<usize>>,
) -> Result<Option<Vec<Range<usize>>>, CodecError> {
    let mut r = Reader::new(iloc.body);
    let (version, _) = r.version_flags()?;
    let sizes = r.u8()?;
    let (offset_size, length_size) = (sizes >> 4, sizes & 0x0F);
    let sizes = r.u8()?;
    let base_size = sizes >> 4;
    let index_size = if version >= 1 { sizes & 0x0F } else { 0 };
    let count = r.u16_or_u32(version >= 2)?;
    for _ in 0..count {
        let id = r.u16_or_u32(version >= 2)?;
        let method = if version >= 1 { r.u16()? & 0x0F } else { 0 };
        let data_reference = r.u16()?;
        let base = r.sized(base_size)?;
        let extents = r.u16()?;
        if id != wanted {
            let each = usize::from(index_size) + usize::from(offset_size) + usize::from(length_size);
            r.bytes(each.checked_mul(usize::from(extents)).ok_or_else(|| corrupt("size overflow"))?)?;
            continue;
        }
        if extents > MAX_EXTENTS {
            return Err(corrupt("too many extents"));
        }
        let mut out = Vec::new();
        for _ in 0..extents {
            r.sized(index_size)?;
            let offset = r.sized(offset_size)?;
            let length = r.sized(length_size)?;
            let within = match (method, data_reference) {
                (0, 0) => 0..file_len,
                (1, _) => idat.clone().ok_or_else(|| corrupt("item data in a missing idat"))?,
                _ => return Ok(None),
            };
            out.push(extent(within, base, offset, length)?);
        }
        return Ok(Some(out));
    }
    Ok(None)
}

/// `base + offset`, `length` bytes (0: to the end) inside `within`.
fn extent(within: Range<usize>, base: u64, offset: u64, length: u64) -> Result<Range<usize>, CodecError> {
    let past = || corrupt("item data past the end of the file");
    let start = base.checked_add(offset).and_then(|s| usize::try_from(s).ok()).ok_or_else(past)?;
    let start = within.start.checked_add(start).ok_or_else(past)?;
    let end = if length == 0 {
        within.end
    } else {
        usize::try_from(length).ok().and_then(|l| start.checked_add(l)).ok_or_else(past)?
    };
    if start > end || end > within.end {
        return Err(past());
    }
    Ok(start..end)
}

/// The primary item's properties, applied in the order `ipma` lists them.
fn properties(iprp: &Bx<'_>, primary: u32) -> Result<Heif, CodecError> {
    let kids = Boxes::within(iprp, 0)?.collect::<Result<Vec<_>, _>>()?;
    let ipco = kids.iter().find(|b| &b.kind == b"ipco").ok_or_else(|| corrupt("no ipco box"))?;
    let props = Boxes::within(ipco, 0)?.collect::<Result<Vec<_>, _>>()?;
    let mut indices = Vec::new();
    for ipma in kids.iter().filter(|b| &b.kind == b"ipma") {
        indices.extend(associations(ipma, primary)?);
    }
    let mut heif =
        Heif { width: 0, height: 0, frames: 1, rotation: 0, mirror: None, bit_depth: None, exif: Vec::new() };
    let mut size: Option<(u32, u32)> = None;
    for index in indices.into_iter().filter(|&i| i > 0) {
        let p = props.get(usize::from(index) - 1).ok_or_else(|| corrupt("ipma names a missing property"))?;
        let mut r = Reader::new(p.body);
        match &p.kind {
            b"ispe" => {
                r.version_flags()?;
                size = Some((r.u32()?, r.u32()?));
            }
            b"clap" => size = size.map(|s| clean_aperture(p.body).unwrap_or(s)),
            b"irot" => {
                heif.rotation = r.u8()? & 3;
                if heif.rotation % 2 == 1 {
                    size = size.map(|(w, h)| (h, w));
                }
            }
            b"imir" => heif.mirror = Some(r.u8()? & 1),
            b"pixi" => {
                r.version_flags()?;
                heif.bit_depth = if r.u8()? > 0 { Some(r.u8()?) } else { None };
            }
            _ => {}
        }
    }
    (heif.width, heif.height) = size.ok_or_else(|| corrupt("the primary image has no size (ispe)"))?;
    Ok(heif)
}

/// The property indices (1-based; 0 = none) `ipma` associates with `item`.
fn associations(ipma: &Bx<'_>, item: u32) -> Result<Vec<u16>, CodecError> {
    let mut r = Reader::new(ipma.body);
    let (version, flags) = r.version_flags()?;
    let large = flags & 1 == 1;
    let count = r.u32()?;
    for _ in 0..count {
        let id = r.u16_or_u32(version >= 1)?;
        let n = usize::from(r.u8()?);
        if id != item {
            r.bytes(if large { 2 * n } else { n })?;
            continue;
        }
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(if large { r.u16()? & 0x7FFF } else { u16::from(r.u8()? & 0x7F) });
        }
        return Ok(out);
    }
    Ok(Vec::new())
}

/// `clap`'s clean aperture, rounded as libheif does; `None` when it is not a valid size.
fn clean_aperture(body: &[u8]) -> Option<(u32, u32)> {
    let mut r = Reader::new(body);
    let mut fraction = || -> Option<u32> {
        let (n, d) = (u64::from(r.u32().ok()?), u64::from(r.u32().ok()?));
        if d == 0 {
            return None;
        }
        u32::try_from((n + d / 2) / d).ok().filter(|&v| v > 0)
    };
    let width = fraction()?;
    let height = fraction()?;
    Some((width, height))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bx(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut out = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(body);
        out
    }

    fn full(kind: &[u8; 4], version: u8, flags: u32, body: &[u8]) -> Vec<u8> {
        let mut b = (u32::from(version) << 24 | flags).to_be_bytes().to_vec();
        b.extend_from_slice(body);
        bx(kind, &b)
    }

    const PICTURE: &[u8] = b"coded picture";

    /// An Exif item: the offset to the TIFF header, `Exif\0\0`, an empty big-endian IFD0.
    fn exif_item() -> Vec<u8> {
        let mut e = 6u32.to_be_bytes().to_vec();
        e.extend_from_slice(b"Exif\0\0MM\0*\0\0\0\x08\0\0\0\0\0\0");
        e
    }

    /// A still HEIC: a 40x30 `hvc1` primary item with `irot` 1 and `pixi` 10 bits, an Exif
    /// item, and an `mdat` holding both items' bytes. `iloc` lists the extents given.
    fn heic(iloc_extents: &[(u32, u32, u32)]) -> Vec<u8> {
        let ftyp = bx(b"ftyp", b"heic\0\0\0\0mif1heic");
        let hdlr = full(b"hdlr", 0, 0, b"\0\0\0\0pict\0\0\0\0\0\0\0\0\0\0\0\0\0");
        let pitm = full(b"pitm", 0, 0, &1u16.to_be_bytes());
        let mut infes = 2u16.to_be_bytes().to_vec();
        infes.extend(full(b"infe", 2, 0, b"\0\x01\0\0hvc1\0"));
        infes.extend(full(b"infe", 2, 0, b"\0\x02\0\0Exif\0"));
        let iinf = full(b"iinf", 0, 0, &infes);
        let mut locs = vec![0x44, 0x00];
        locs.extend((iloc_extents.len() as u16).to_be_bytes());
        for &(id, offset, length) in iloc_extents {
            locs.extend((id as u16).to_be_bytes());
            locs.extend([0, 0, 0, 1]); // data_reference_index 0, one extent
            locs.extend(offset.to_be_bytes());
            locs.extend(length.to_be_bytes());
        }
        let iloc = full(b"iloc", 0, 0, &locs);
        let mut props = full(b"ispe", 0, 0, &[0, 0, 0, 40, 0, 0, 0, 30]);
        props.extend(bx(b"irot", &[1]));
        props.extend(full(b"pixi", 0, 0, &[3, 10, 10, 10]));
        let ipco = bx(b"ipco", &props);
        let ipma = full(b"ipma", 0, 0, &[0, 0, 0, 1, 0, 1, 3, 0x81, 0x02, 0x03]);
        let iprp = bx(b"iprp", &[ipco, ipma].concat());
        let meta = full(b"meta", 0, 0, &[hdlr, pitm, iinf, iloc, iprp].concat());
        let mdat = bx(b"mdat", &[PICTURE, exif_item().as_slice()].concat());
        [ftyp, meta, mdat].concat()
    }

    /// `heic` with the extents where they really are.
    fn valid() -> Vec<u8> {
        let (p, e) = (PICTURE.len() as u32, exif_item().len() as u32);
        // The offsets do not change the file's length.
        let mdat = heic(&[(1, 0, p), (2, 0, e)]).len() as u32 - p - e;
        heic(&[(1, mdat, p), (2, mdat + p, e)])
    }

    #[test]
    fn reads_the_primary_image() {
        let bytes = valid();
        let h = parse(&bytes).unwrap();
        assert_eq!((h.width, h.height, h.frames), (30, 40, 1), "irot 1 turns 40x30 upright");
        assert_eq!((h.rotation, h.mirror, h.bit_depth), (1, None, Some(10)));
        let exif = h.exif_item(&bytes).unwrap();
        assert_eq!(exif, exif_item());
    }

    #[test]
    fn item_data_outside_the_file_is_an_error() {
        for extents in [[(1, 100_000, 13)], [(1, 0, u32::MAX)], [(1, u32::MAX, 1)]] {
            let e = parse(&heic(&extents)).unwrap_err();
            assert!(matches!(&e, CodecError::Corrupt(m) if m.contains("past the end")), "{e:?}");
        }
        // A broken Exif item only loses the EXIF.
        let p = PICTURE.len() as u32;
        let mdat = valid().len() as u32 - p - exif_item().len() as u32;
        let bytes = heic(&[(1, mdat, p), (2, mdat + p, 100_000)]);
        let h = parse(&bytes).unwrap();
        assert_eq!((h.width, h.exif_item(&bytes)), (30, None));
    }

    #[test]
    fn every_truncation_is_an_error_or_a_size_never_a_panic() {
        let bytes = valid();
        let meta_end = bytes.windows(4).position(|w| w == b"mdat").unwrap() - 4;
        for cut in 0..bytes.len() {
            let r = parse(&bytes[..cut]);
            if cut <= meta_end {
                assert!(r.is_err(), "cut at {cut}");
            }
        }
    }

    #[test]
    fn hostile_box_sizes() {
        let ftyp = bx(b"ftyp", b"heic\0\0\0\0");
        let cases: Vec<Vec<u8>> = vec![
            // size 1: a 64-bit size past the end, smaller than its header, absurdly large.
            [ftyp.clone(), b"\0\0\0\x01meta".to_vec(), 1000u64.to_be_bytes().to_vec()].concat(),
            [ftyp.clone(), b"\0\0\0\x01meta".to_vec(), 8u64.to_be_bytes().to_vec()].concat(),
            [ftyp.clone(), b"\0\0\0\x01meta".to_vec(), u64::MAX.to_be_bytes().to_vec()].concat(),
            // size 4: smaller than the header.
            [ftyp.clone(), b"\0\0\0\x04meta\0\0\0\0".to_vec()].concat(),
            // size 0: to the end of the file, but the meta box inside is empty.
            [ftyp.clone(), b"\0\0\0\0meta\0\0\0\0".to_vec()].concat(),
            // A meta box whose child runs past it.
            [ftyp.clone(), full(b"meta", 0, 0, b"\0\0\x10\0hdlr")].concat(),
            // No meta at all.
            ftyp.clone(),
        ];
        for (i, c) in cases.iter().enumerate() {
            assert!(parse(c).is_err(), "case {i}");
        }
    }

    #[test]
    fn declared_counts_allocate_nothing() {
        // iloc claims 65535 items and ipma 4 billion entries: the items looked for come first,
        // so the rest is never read.
        let bytes = valid();
        let mut b = bytes.clone();
        let iloc = b.windows(4).position(|w| w == b"iloc").unwrap();
        b[iloc + 10..iloc + 12].copy_from_slice(&[0xFF, 0xFF]);
        assert_eq!(parse(&b).map(|h| h.width), Ok(30));
        let mut b = bytes.clone();
        let ipma = b.windows(4).position(|w| w == b"ipma").unwrap();
        b[ipma + 8..ipma + 12].copy_from_slice(&[0xFF; 4]);
        // The primary's entry comes first: the declared count does not matter.
        assert_eq!(parse(&b).map(|h| h.width), Ok(30));
        // A property index past ipco.
        let mut b = bytes;
        b[ipma + 17] = 0x89;
        assert!(parse(&b).is_err());
    }

    #[test]
    fn mutations_never_panic() {
        let bytes = valid();
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let mut b = bytes.clone();
            let at = (state % b.len() as u64) as usize;
            b[at] = (state >> 32) as u8;
            let at2 = ((state >> 16) % b.len() as u64) as usize;
            b[at2] = 0xFF;
            if let Ok(h) = parse(&b) {
                let _ = h.exif_item(&b);
            }
        }
    }

    #[test]
    fn clean_aperture_like_libheif() {
        // What libheif writes for a 16x12 picture it codes padded to 64x64.
        let mut clap = Vec::new();
        for v in [16u32, 1, 12, 1, (-48i32) as u32, 2, (-52i32) as u32, 2] {
            clap.extend(v.to_be_bytes());
        }
        assert_eq!(clean_aperture(&clap), Some((16, 12)));
        assert_eq!(clean_aperture(&[0; 32]), None);
        assert_eq!(clean_aperture(&clap[..12]), None);
    }

    #[test]
    fn image_sequences_count_their_samples() {
        let hdlr = full(b"hdlr", 0, 0, b"\0\0\0\0pict\0\0\0\0\0\0\0\0\0\0\0\0\0");
        let stsz = full(b"stsz", 0, 0, &[0, 0, 0, 0, 0, 0, 0, 7]);
        let stbl = bx(b"stbl", &stsz);
        let minf = bx(b"minf", &stbl);
        let mdia = bx(b"mdia", &[hdlr, minf].concat());
        let moov = bx(b"moov", &bx(b"trak", &mdia));
        let mut b = valid();
        b.extend(&moov);
        assert_eq!(parse(&b).map(|h| h.frames), Ok(7));
    }
}
