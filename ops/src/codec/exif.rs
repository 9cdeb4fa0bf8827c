//! EXIF, read tolerantly, for `info`, for the orientation of sources and of watermark objects.
//!
//! The TIFF structure is found in its container here (bounds-checked, never past the end): the
//! first JPEG APP1 segment that starts with `Exif\0\0` (XMP and other APP1 segments before it
//! are skipped), the PNG `eXIf` chunk, the WebP `EXIF` chunk (with or without an `Exif\0\0`
//! prefix), a TIFF file itself, and the HEIF `Exif` item (`isobmff`). A segment or chunk that
//! runs past the end of the file gives what the file holds.
//!
//! kamadak-exif then parses it with `continue_on_error`, and every field that parses is kept:
//! a sub-IFD with a non-zero next-IFD pointer (what piexif writes), values or IFDs whose offset
//! lies past the end, a truncated structure, IFD loops (an IFD is read once), a MakerNote of
//! any content, either byte order. Of a tag written twice in one IFD, the first counts.
//! docs/compat.md lists these rules.
//!
//! `info` prints tags under exiv2's names, which OSS prints (`NAMES`), with exiv2's value
//! printing: rationals unreduced (`96/1`), lists space-separated, GPS coordinates as
//! `31deg 55' 3.870" `, GPS references as words, pointer tags as offsets, UNDEFINED tags omitted.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use ::exif::{Context, Field, In, Tag, Value};

use super::header::{be32, le32};
use super::{SourceFormat, isobmff, sniff};

/// The EXIF of an image: every field that parsed, and the sub-IFD pointers.
pub struct Exif {
    fields: Vec<Field>,
    /// `(exiv2 name, offset)` of the Exif, GPS and interoperability IFD pointers.
    pointers: Vec<(&'static str, u32)>,
}

/// Read the EXIF of a JPEG, PNG, WebP, TIFF, HEIC or AVIF; `None` when there is none or its
/// TIFF header is broken.
pub fn read(bytes: &[u8]) -> Option<Exif> {
    let tiff = tiff_data(bytes)?;
    let pointers = pointers(&tiff);
    let parsed = ::exif::Reader::new()
        .continue_on_error(true)
        .read_raw(tiff)
        .or_else(|e| e.distill_partial_result(|_ignored| ()))
        .ok()?;
    Some(Exif { fields: parsed.fields().cloned().collect(), pointers })
}

/// The EXIF orientation, 1..=8, of any format [`read`] reads.
pub fn orientation(bytes: &[u8]) -> Option<u16> {
    read(bytes)?.orientation()
}

impl Exif {
    /// The primary image's orientation, 1..=8: the first `Orientation` of IFD0.
    pub fn orientation(&self) -> Option<u16> {
        let field = self.fields.iter().find(|f| f.tag == Tag::Orientation && f.ifd_num == In::PRIMARY)?;
        let v = field.value.get_uint(0)?;
        (1..=8).contains(&v).then_some(v as u16)
    }

    /// Every tag with an exiv2 name, printed as OSS prints it: name → value. The primary
    /// image's IFDs win over the thumbnail's (their tags print unprefixed too); the first of a
    /// duplicated tag wins; tags without a printable value (UNDEFINED) are left out.
    pub fn tags(&self) -> BTreeMap<String, String> {
        let mut out: BTreeMap<String, String> =
            self.pointers.iter().map(|(name, offset)| ((*name).to_string(), offset.to_string())).collect();
        let mut fields: Vec<&Field> = self.fields.iter().collect();
        fields.sort_by_key(|f| f.ifd_num);
        for f in fields {
            let Some(name) = exiv2_name(f.tag) else { continue };
            if out.contains_key(name) {
                continue;
            }
            if let Some(v) = print_value(f.tag, &f.value) {
                out.insert(name.to_string(), v);
            }
        }
        out
    }
}

/// A JPEG's JFIF density: units (0 none, 1 per inch, 2 per cm) and the two densities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Density {
    pub units: u8,
    pub x: u16,
    pub y: u16,
}

/// The density of a JFIF APP0 segment right after SOI; `None` without one, or when it is
/// zero or its units are unknown.
pub fn jfif_density(bytes: &[u8]) -> Option<Density> {
    // FF D8, then FF E0 <len:2> "JFIF\0" <version:2> <units:1> <x:2> <y:2>
    let app0 = bytes.get(2..20)?;
    if app0[0] != 0xFF || app0[1] != 0xE0 || &app0[4..9] != b"JFIF\0" {
        return None;
    }
    let d = Density {
        units: app0[11],
        x: u16::from_be_bytes([app0[12], app0[13]]),
        y: u16::from_be_bytes([app0[14], app0[15]]),
    };
    (d.units <= 2 && d.x != 0 && d.y != 0).then_some(d)
}

/// The TIFF structure (from its byte-order mark on) holding the EXIF of `bytes`.
fn tiff_data(bytes: &[u8]) -> Option<Vec<u8>> {
    let prefixed = |d: &[u8]| d.strip_prefix(b"Exif\0\0").unwrap_or(d).to_vec();
    match sniff(bytes)? {
        SourceFormat::Jpeg => jpeg_app1(bytes).map(<[u8]>::to_vec),
        SourceFormat::Png => png_exif(bytes).map(prefixed),
        SourceFormat::Webp => webp_exif(bytes).map(prefixed),
        SourceFormat::Tiff => Some(bytes.to_vec()),
        SourceFormat::Heic | SourceFormat::Avif => heif_exif(bytes),
        SourceFormat::Gif | SourceFormat::Bmp => None,
    }
}

/// The first APP1 segment that starts with `Exif\0\0`, without that prefix. The markers are
/// walked up to the first scan; bytes between segments (padding, a wrong length) are skipped
/// to the next marker, as kamadak-exif and exiv2 do.
fn jpeg_app1(b: &[u8]) -> Option<&[u8]> {
    let mut at = 2usize;
    loop {
        while *b.get(at)? != 0xFF {
            at += 1;
        }
        while *b.get(at + 1)? == 0xFF {
            at += 1; // fill bytes
        }
        let marker = *b.get(at + 1)?;
        match marker {
            0x00 | 0x01 | 0xD0..=0xD7 => {
                at += 2;
                continue;
            }
            0xD9 | 0xDA => return None,
            _ => {}
        }
        let len = usize::from(u16::from_be_bytes([*b.get(at + 2)?, *b.get(at + 3)?]));
        if len < 2 {
            return None;
        }
        let end = (at + 2 + len).min(b.len());
        let body = b.get(at + 4..end)?;
        if marker == 0xE1
            && let Some(tiff) = body.strip_prefix(b"Exif\0\0")
        {
            return Some(tiff);
        }
        at += 2 + len;
    }
}

/// The first `eXIf` chunk's data; the chunks are walked up to `IEND`.
fn png_exif(b: &[u8]) -> Option<&[u8]> {
    let mut at = 8usize;
    loop {
        let len = usize::try_from(be32(b, at)?).ok()?;
        let kind = b.get(at.checked_add(4)?..at.checked_add(8)?)?;
        let start = at.checked_add(8)?;
        match kind {
            b"eXIf" => return b.get(start..start.checked_add(len)?.min(b.len())),
            b"IEND" => return None,
            _ => at = start.checked_add(len)?.checked_add(4)?,
        }
    }
}

/// The `EXIF` chunk's data; RIFF chunks are padded to an even size.
fn webp_exif(b: &[u8]) -> Option<&[u8]> {
    let mut at = 12usize;
    loop {
        let kind = b.get(at..at.checked_add(4)?)?;
        let len = usize::try_from(le32(b, at.checked_add(4)?)?).ok()?;
        let start = at.checked_add(8)?;
        if kind == b"EXIF" {
            return b.get(start..start.checked_add(len)?.min(b.len()));
        }
        at = start.checked_add(len)?.checked_add(len & 1)?;
    }
}

/// The HEIF `Exif` item: a 4-byte offset to the TIFF header, then the EXIF (usually
/// `Exif\0\0` and the TIFF header). An offset that does not land on a TIFF header falls back
/// to the usual layout.
fn heif_exif(bytes: &[u8]) -> Option<Vec<u8>> {
    let item = isobmff::parse(bytes).ok()?.exif_item(bytes)?;
    let skip = usize::try_from(be32(&item, 0)?).ok()?.checked_add(4)?;
    let is_tiff = |t: &&[u8]| t.starts_with(b"II*\0") || t.starts_with(b"MM\0*");
    let tiff = item.get(skip..).filter(is_tiff).or_else(|| item.get(10..).filter(is_tiff))?;
    Some(tiff.to_vec())
}

/// exiv2's names of the pointer tags, which kamadak-exif follows but does not report.
const POINTERS: [(Context, u16, &str); 3] = [
    (Context::Tiff, 0x8769, "ExifTag"),
    (Context::Tiff, 0x8825, "GPSTag"),
    (Context::Exif, 0xA005, "InteroperabilityTag"),
];

/// The pointer tags of IFD0 (Exif, GPS) and of the Exif IFD (interoperability) with the
/// offsets they hold, read straight from the TIFF structure.
fn pointers(tiff: &[u8]) -> Vec<(&'static str, u32)> {
    let mut out = Vec::new();
    let le = match tiff.get(..4) {
        Some(b"II*\0") => true,
        Some(b"MM\0*") => false,
        _ => return out,
    };
    let Some(ifd0) = u32_at(tiff, 4, le) else { return out };
    for (ctx, number, name) in POINTERS {
        let ifd = match ctx {
            Context::Tiff => Some(ifd0),
            _ => ifd_pointer(tiff, ifd0, 0x8769, le),
        };
        if let Some(offset) = ifd.and_then(|ifd| ifd_pointer(tiff, ifd, number, le)) {
            out.push((name, offset));
        }
    }
    out
}

/// The value of the first entry `tag` (SHORT, LONG or IFD, one value) in the IFD at `ifd`.
fn ifd_pointer(tiff: &[u8], ifd: u32, tag: u16, le: bool) -> Option<u32> {
    let ifd = usize::try_from(ifd).ok()?;
    let count = u16_at(tiff, ifd, le)?;
    for i in 0..usize::from(count) {
        let at = ifd.checked_add(2)?.checked_add(i.checked_mul(12)?)?;
        if u16_at(tiff, at, le)? != tag {
            continue;
        }
        let (typ, n) = (u16_at(tiff, at + 2, le)?, u32_at(tiff, at + 4, le)?);
        return match (typ, n) {
            (3, 1) => u16_at(tiff, at + 8, le).map(u32::from),
            (4 | 13, 1) => u32_at(tiff, at + 8, le),
            _ => None,
        };
    }
    None
}

fn u16_at(b: &[u8], at: usize, le: bool) -> Option<u16> {
    let v: [u8; 2] = b.get(at..at.checked_add(2)?)?.try_into().ok()?;
    Some(if le { u16::from_le_bytes(v) } else { u16::from_be_bytes(v) })
}

fn u32_at(b: &[u8], at: usize, le: bool) -> Option<u32> {
    if le { le32(b, at) } else { be32(b, at) }
}

/// exiv2's name of every tag Pixgate prints, by IFD and number (exiv2 groups `Image`, `Photo`,
/// `GPSInfo`, `Iop`). A tag not listed here is not printed. kamadak-exif's own names differ
/// in one place: exiv2 calls 0x8827 `ISOSpeedRatings` (Exif 2.2's name), kamadak-exif
/// `PhotographicSensitivity` (Exif 2.3's). Checked against exiv2 by the tests below.
const NAMES: &[(Context, u16, &str)] = &[
    (Context::Tiff, 0x00FE, "NewSubfileType"),
    (Context::Tiff, 0x0100, "ImageWidth"),
    (Context::Tiff, 0x0101, "ImageLength"),
    (Context::Tiff, 0x0102, "BitsPerSample"),
    (Context::Tiff, 0x0103, "Compression"),
    (Context::Tiff, 0x0106, "PhotometricInterpretation"),
    (Context::Tiff, 0x010D, "DocumentName"),
    (Context::Tiff, 0x010E, "ImageDescription"),
    (Context::Tiff, 0x010F, "Make"),
    (Context::Tiff, 0x0110, "Model"),
    (Context::Tiff, 0x0111, "StripOffsets"),
    (Context::Tiff, 0x0112, "Orientation"),
    (Context::Tiff, 0x0115, "SamplesPerPixel"),
    (Context::Tiff, 0x0116, "RowsPerStrip"),
    (Context::Tiff, 0x0117, "StripByteCounts"),
    (Context::Tiff, 0x011A, "XResolution"),
    (Context::Tiff, 0x011B, "YResolution"),
    (Context::Tiff, 0x011C, "PlanarConfiguration"),
    (Context::Tiff, 0x0128, "ResolutionUnit"),
    (Context::Tiff, 0x012D, "TransferFunction"),
    (Context::Tiff, 0x0131, "Software"),
    (Context::Tiff, 0x0132, "DateTime"),
    (Context::Tiff, 0x013B, "Artist"),
    (Context::Tiff, 0x013C, "HostComputer"),
    (Context::Tiff, 0x013E, "WhitePoint"),
    (Context::Tiff, 0x013F, "PrimaryChromaticities"),
    (Context::Tiff, 0x0142, "TileWidth"),
    (Context::Tiff, 0x0143, "TileLength"),
    (Context::Tiff, 0x0144, "TileOffsets"),
    (Context::Tiff, 0x0145, "TileByteCounts"),
    (Context::Tiff, 0x0152, "ExtraSamples"),
    (Context::Tiff, 0x0153, "SampleFormat"),
    (Context::Tiff, 0x0201, "JPEGInterchangeFormat"),
    (Context::Tiff, 0x0202, "JPEGInterchangeFormatLength"),
    (Context::Tiff, 0x0211, "YCbCrCoefficients"),
    (Context::Tiff, 0x0212, "YCbCrSubSampling"),
    (Context::Tiff, 0x0213, "YCbCrPositioning"),
    (Context::Tiff, 0x0214, "ReferenceBlackWhite"),
    (Context::Tiff, 0x4746, "Rating"),
    (Context::Tiff, 0x4749, "RatingPercent"),
    (Context::Tiff, 0x8298, "Copyright"),
    (Context::Exif, 0x829A, "ExposureTime"),
    (Context::Exif, 0x829D, "FNumber"),
    (Context::Exif, 0x8822, "ExposureProgram"),
    (Context::Exif, 0x8824, "SpectralSensitivity"),
    (Context::Exif, 0x8827, "ISOSpeedRatings"),
    (Context::Exif, 0x8828, "OECF"),
    (Context::Exif, 0x8830, "SensitivityType"),
    (Context::Exif, 0x8831, "StandardOutputSensitivity"),
    (Context::Exif, 0x8832, "RecommendedExposureIndex"),
    (Context::Exif, 0x8833, "ISOSpeed"),
    (Context::Exif, 0x8834, "ISOSpeedLatitudeyyy"),
    (Context::Exif, 0x8835, "ISOSpeedLatitudezzz"),
    (Context::Exif, 0x9000, "ExifVersion"),
    (Context::Exif, 0x9003, "DateTimeOriginal"),
    (Context::Exif, 0x9004, "DateTimeDigitized"),
    (Context::Exif, 0x9010, "OffsetTime"),
    (Context::Exif, 0x9011, "OffsetTimeOriginal"),
    (Context::Exif, 0x9012, "OffsetTimeDigitized"),
    (Context::Exif, 0x9101, "ComponentsConfiguration"),
    (Context::Exif, 0x9102, "CompressedBitsPerPixel"),
    (Context::Exif, 0x9201, "ShutterSpeedValue"),
    (Context::Exif, 0x9202, "ApertureValue"),
    (Context::Exif, 0x9203, "BrightnessValue"),
    (Context::Exif, 0x9204, "ExposureBiasValue"),
    (Context::Exif, 0x9205, "MaxApertureValue"),
    (Context::Exif, 0x9206, "SubjectDistance"),
    (Context::Exif, 0x9207, "MeteringMode"),
    (Context::Exif, 0x9208, "LightSource"),
    (Context::Exif, 0x9209, "Flash"),
    (Context::Exif, 0x920A, "FocalLength"),
    (Context::Exif, 0x9214, "SubjectArea"),
    (Context::Exif, 0x927C, "MakerNote"),
    (Context::Exif, 0x9286, "UserComment"),
    (Context::Exif, 0x9290, "SubSecTime"),
    (Context::Exif, 0x9291, "SubSecTimeOriginal"),
    (Context::Exif, 0x9292, "SubSecTimeDigitized"),
    (Context::Exif, 0x9400, "Temperature"),
    (Context::Exif, 0x9401, "Humidity"),
    (Context::Exif, 0x9402, "Pressure"),
    (Context::Exif, 0x9403, "WaterDepth"),
    (Context::Exif, 0x9404, "Acceleration"),
    (Context::Exif, 0x9405, "CameraElevationAngle"),
    (Context::Exif, 0xA000, "FlashpixVersion"),
    (Context::Exif, 0xA001, "ColorSpace"),
    (Context::Exif, 0xA002, "PixelXDimension"),
    (Context::Exif, 0xA003, "PixelYDimension"),
    (Context::Exif, 0xA004, "RelatedSoundFile"),
    (Context::Exif, 0xA20B, "FlashEnergy"),
    (Context::Exif, 0xA20C, "SpatialFrequencyResponse"),
    (Context::Exif, 0xA20E, "FocalPlaneXResolution"),
    (Context::Exif, 0xA20F, "FocalPlaneYResolution"),
    (Context::Exif, 0xA210, "FocalPlaneResolutionUnit"),
    (Context::Exif, 0xA214, "SubjectLocation"),
    (Context::Exif, 0xA215, "ExposureIndex"),
    (Context::Exif, 0xA217, "SensingMethod"),
    (Context::Exif, 0xA300, "FileSource"),
    (Context::Exif, 0xA301, "SceneType"),
    (Context::Exif, 0xA302, "CFAPattern"),
    (Context::Exif, 0xA401, "CustomRendered"),
    (Context::Exif, 0xA402, "ExposureMode"),
    (Context::Exif, 0xA403, "WhiteBalance"),
    (Context::Exif, 0xA404, "DigitalZoomRatio"),
    (Context::Exif, 0xA405, "FocalLengthIn35mmFilm"),
    (Context::Exif, 0xA406, "SceneCaptureType"),
    (Context::Exif, 0xA407, "GainControl"),
    (Context::Exif, 0xA408, "Contrast"),
    (Context::Exif, 0xA409, "Saturation"),
    (Context::Exif, 0xA40A, "Sharpness"),
    (Context::Exif, 0xA40B, "DeviceSettingDescription"),
    (Context::Exif, 0xA40C, "SubjectDistanceRange"),
    (Context::Exif, 0xA420, "ImageUniqueID"),
    (Context::Exif, 0xA430, "CameraOwnerName"),
    (Context::Exif, 0xA431, "BodySerialNumber"),
    (Context::Exif, 0xA432, "LensSpecification"),
    (Context::Exif, 0xA433, "LensMake"),
    (Context::Exif, 0xA434, "LensModel"),
    (Context::Exif, 0xA435, "LensSerialNumber"),
    (Context::Exif, 0xA460, "CompositeImage"),
    (Context::Exif, 0xA461, "SourceImageNumberOfCompositeImage"),
    (Context::Exif, 0xA462, "SourceExposureTimesOfCompositeImage"),
    (Context::Exif, 0xA500, "Gamma"),
    (Context::Gps, 0x0000, "GPSVersionID"),
    (Context::Gps, 0x0001, "GPSLatitudeRef"),
    (Context::Gps, 0x0002, "GPSLatitude"),
    (Context::Gps, 0x0003, "GPSLongitudeRef"),
    (Context::Gps, 0x0004, "GPSLongitude"),
    (Context::Gps, 0x0005, "GPSAltitudeRef"),
    (Context::Gps, 0x0006, "GPSAltitude"),
    (Context::Gps, 0x0007, "GPSTimeStamp"),
    (Context::Gps, 0x0008, "GPSSatellites"),
    (Context::Gps, 0x0009, "GPSStatus"),
    (Context::Gps, 0x000A, "GPSMeasureMode"),
    (Context::Gps, 0x000B, "GPSDOP"),
    (Context::Gps, 0x000C, "GPSSpeedRef"),
    (Context::Gps, 0x000D, "GPSSpeed"),
    (Context::Gps, 0x000E, "GPSTrackRef"),
    (Context::Gps, 0x000F, "GPSTrack"),
    (Context::Gps, 0x0010, "GPSImgDirectionRef"),
    (Context::Gps, 0x0011, "GPSImgDirection"),
    (Context::Gps, 0x0012, "GPSMapDatum"),
    (Context::Gps, 0x0013, "GPSDestLatitudeRef"),
    (Context::Gps, 0x0014, "GPSDestLatitude"),
    (Context::Gps, 0x0015, "GPSDestLongitudeRef"),
    (Context::Gps, 0x0016, "GPSDestLongitude"),
    (Context::Gps, 0x0017, "GPSDestBearingRef"),
    (Context::Gps, 0x0018, "GPSDestBearing"),
    (Context::Gps, 0x0019, "GPSDestDistanceRef"),
    (Context::Gps, 0x001A, "GPSDestDistance"),
    (Context::Gps, 0x001B, "GPSProcessingMethod"),
    (Context::Gps, 0x001C, "GPSAreaInformation"),
    (Context::Gps, 0x001D, "GPSDateStamp"),
    (Context::Gps, 0x001E, "GPSDifferential"),
    (Context::Gps, 0x001F, "GPSHPositioningError"),
    (Context::Interop, 0x0001, "InteroperabilityIndex"),
    (Context::Interop, 0x0002, "InteroperabilityVersion"),
    (Context::Interop, 0x1000, "RelatedImageFileFormat"),
    (Context::Interop, 0x1001, "RelatedImageWidth"),
    (Context::Interop, 0x1002, "RelatedImageLength"),
];

/// exiv2's name of `tag`; `None` for tags Pixgate does not print.
fn exiv2_name(tag: Tag) -> Option<&'static str> {
    NAMES.iter().find(|(ctx, number, _)| *ctx == tag.context() && *number == tag.number()).map(|e| e.2)
}

/// A value as exiv2 prints it; `None` for UNDEFINED and unknown types.
fn print_value(tag: Tag, value: &Value) -> Option<String> {
    if matches!(tag, Tag::GPSLatitude | Tag::GPSLongitude | Tag::GPSDestLatitude | Tag::GPSDestLongitude)
        && let Value::Rational(r) = value
        && r.len() == 3
    {
        return Some(degrees(r));
    }
    if matches!(
        tag,
        Tag::GPSLatitudeRef | Tag::GPSLongitudeRef | Tag::GPSDestLatitudeRef | Tag::GPSDestLongitudeRef
    ) && let Value::Ascii(a) = value
    {
        let word = match a.first().map(|s| s.as_slice()) {
            Some(b"N") => "North",
            Some(b"S") => "South",
            Some(b"E") => "East",
            Some(b"W") => "West",
            _ => return ascii(a),
        };
        return Some(word.into());
    }
    let join = |items: Vec<String>| Some(items.join(" "));
    match value {
        Value::Ascii(a) => ascii(a),
        Value::Byte(v) => join(v.iter().map(u8::to_string).collect()),
        Value::Short(v) => join(v.iter().map(u16::to_string).collect()),
        Value::Long(v) => join(v.iter().map(u32::to_string).collect()),
        Value::SByte(v) => join(v.iter().map(i8::to_string).collect()),
        Value::SShort(v) => join(v.iter().map(i16::to_string).collect()),
        Value::SLong(v) => join(v.iter().map(i32::to_string).collect()),
        Value::Rational(v) => join(v.iter().map(|r| format!("{}/{}", r.num, r.denom)).collect()),
        Value::SRational(v) => join(v.iter().map(|r| format!("{}/{}", r.num, r.denom)).collect()),
        Value::Float(v) => join(v.iter().map(f32::to_string).collect()),
        Value::Double(v) => join(v.iter().map(f64::to_string).collect()),
        Value::Undefined(..) | Value::Unknown(..) => None,
    }
}

fn ascii(a: &[Vec<u8>]) -> Option<String> {
    let parts: Vec<String> =
        a.iter().map(|s| String::from_utf8_lossy(s).trim_end_matches('\0').to_string()).collect();
    Some(parts.join(" "))
}

/// exiv2's `printDegrees`: trailing zero components dropped; integral values without
/// decimals, others with 7 / 5 / 3 decimals; each followed by its unit and a space.
fn degrees(r: &[::exif::Rational]) -> String {
    const UNIT: [&str; 3] = ["deg", "'", "\""];
    const PREC: [usize; 3] = [7, 5, 3];
    let last = (1..3).rev().find(|&i| r[i].num != 0).unwrap_or(0);
    let mut out = String::new();
    for i in 0..=last {
        let (num, den) = (r[i].num, r[i].denom);
        if den == 0 {
            return r.iter().map(|x| format!("{}/{}", x.num, x.denom)).collect::<Vec<_>>().join(" ");
        }
        let v = f64::from(num) / f64::from(den);
        let prec = if num % den == 0 { 0 } else { PREC[i] };
        let _ = write!(out, "{v:.prec$}{} ", UNIT[i]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rat(n: u32, d: u32) -> ::exif::Rational {
        ::exif::Rational { num: n, denom: d }
    }

    #[test]
    fn degrees_like_exiv2() {
        assert_eq!(degrees(&[rat(0, 1), rat(0, 1), rat(0, 1)]), "0deg ");
        assert_eq!(degrees(&[rat(31, 1), rat(55, 1), rat(3870, 1000)]), "31deg 55' 3.870\" ");
        assert_eq!(degrees(&[rat(117, 1), rat(18, 1), rat(4110, 1000)]), "117deg 18' 4.110\" ");
        assert_eq!(degrees(&[rat(10, 1), rat(30, 1), rat(0, 1)]), "10deg 30' ");
    }

    /// exiv2's group for a kamadak-exif context.
    fn group(ctx: Context) -> &'static str {
        match ctx {
            Context::Tiff => "Image",
            Context::Exif => "Photo",
            Context::Gps => "GPSInfo",
            Context::Interop => "Iop",
            _ => "?",
        }
    }

    /// `(group, number, name)` as exiv2 lists them (`ops/tests/exif/make.py` writes the file).
    fn exiv2_list() -> Vec<(&'static str, u16, &'static str)> {
        include_str!("../../tests/exif/exiv2-names.txt")
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let mut p = l.split_whitespace();
                let (g, n, name) = (p.next()?, p.next()?, p.next()?);
                Some((g, u16::from_str_radix(n.trim_start_matches("0x"), 16).ok()?, name))
            })
            .collect()
    }

    #[test]
    fn every_printed_name_is_exiv2s() {
        let exiv2 = exiv2_list();
        assert!(exiv2.len() > 150, "{}", exiv2.len());
        for &(ctx, number, name) in NAMES.iter().chain(POINTERS.iter()) {
            let theirs = exiv2.iter().find(|(g, n, _)| *g == group(ctx) && *n == number).map(|e| e.2);
            assert_eq!(theirs, Some(name), "{} 0x{number:04x}", group(ctx));
        }
        // And the table covers every tag the list names.
        for (g, n, name) in exiv2 {
            let ours = NAMES.iter().chain(POINTERS.iter()).find(|(c, num, _)| group(*c) == g && *num == n);
            assert_eq!(ours.map(|e| e.2), Some(name), "{g} 0x{n:04x}");
        }
    }

    #[test]
    fn every_tag_kamadak_exif_knows_has_a_name() {
        // kamadak-exif's names agree with exiv2's but for one; its pointer tags are printed
        // from `POINTERS`.
        let renamed = [("PhotographicSensitivity", "ISOSpeedRatings")];
        for ctx in [Context::Tiff, Context::Exif, Context::Gps, Context::Interop] {
            for number in 0..=u16::MAX {
                let tag = Tag(ctx, number);
                let theirs = tag.to_string();
                if theirs.starts_with("Tag(") {
                    continue;
                }
                let pointer = POINTERS.iter().any(|p| p.0 == ctx && p.1 == number);
                let ours = exiv2_name(tag);
                assert!(ours.is_some() || pointer, "{theirs} is not printed");
                if let Some(ours) = ours
                    && ours != theirs
                {
                    let known = renamed.iter().any(|&(k, e)| k == theirs && e == ours);
                    assert!(known, "{theirs} printed as {ours}");
                }
            }
        }
        assert_eq!(exiv2_name(Tag::PhotographicSensitivity), Some("ISOSpeedRatings"));
        assert_eq!(exiv2_name(Tag::ExposureBiasValue), Some("ExposureBiasValue"));
        assert_eq!(exiv2_name(Tag::FocalLengthIn35mmFilm), Some("FocalLengthIn35mmFilm"));
        assert_eq!(exiv2_name(Tag::SubjectDistanceRange), Some("SubjectDistanceRange"));
        assert_eq!(exiv2_name(Tag(Context::Tiff, 0x9999)), None);
    }

    #[test]
    fn jfif_density_is_read() {
        let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 16];
        jpeg.extend_from_slice(b"JFIF\0\x01\x01\x01\x00\x48\x00\x60\x00\x00");
        assert_eq!(jfif_density(&jpeg), Some(Density { units: 1, x: 72, y: 96 }));
        jpeg[13] = 3;
        assert_eq!(jfif_density(&jpeg), None);
        assert_eq!(jfif_density(&jpeg[..15]), None);
    }

    /// A big-endian TIFF: IFD0 with Orientation 6 and an Exif pointer to an IFD that holds
    /// DateTimeOriginal and has a non-zero next pointer.
    fn tiff() -> Vec<u8> {
        let mut t = b"MM\0*\0\0\0\x08".to_vec();
        t.extend([0, 2, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0x87, 0x69, 0, 4, 0, 0, 0, 1, 0, 0, 0, 38]);
        t.extend([0, 0, 0, 0]);
        t.extend([0, 1, 0x90, 0x03, 0, 2, 0, 0, 0, 20, 0, 0, 0, 56, 0, 0, 0, 7]);
        t.extend(b"2024:05:06 07:08:09\0");
        t
    }

    #[test]
    fn a_bad_next_pointer_keeps_the_fields() {
        let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE1];
        let t = tiff();
        jpeg.extend(((t.len() + 8) as u16).to_be_bytes());
        jpeg.extend(b"Exif\0\0");
        jpeg.extend(&t);
        jpeg.extend([0xFF, 0xD9]);
        let exif = read(&jpeg).unwrap();
        assert_eq!(exif.orientation(), Some(6));
        let tags = exif.tags();
        assert_eq!(tags.get("DateTimeOriginal").map(String::as_str), Some("2024:05:06 07:08:09"));
        assert_eq!(tags.get("ExifTag").map(String::as_str), Some("38"));
        assert_eq!(tags.get("Orientation").map(String::as_str), Some("6"));
    }

    #[test]
    fn hostile_tiff_data_never_panics() {
        let t = tiff();
        for cut in 0..t.len() {
            let _ = read(&[b"II*\0".as_slice(), &t[4..cut.max(4)]].concat()).map(|e| e.tags());
            let _ = read(&t[..cut]).map(|e| e.tags());
        }
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let mut b = t.clone();
            let at = (state % b.len() as u64) as usize;
            b[at] = (state >> 24) as u8;
            if let Some(e) = read(&b) {
                let _ = (e.tags(), e.orientation());
            }
        }
    }
}
