//! `info`: the image's basic properties and its EXIF tags as OSS's JSON (oss-img.md §2.6).
//!
//! Every field is `"Name": {"value": "<string>"}`; keys sorted by byte order; layout
//! `{\n    "K": {"value": "V"},\n    ...}` with the closing brace right after the last entry.
//! EXIF values follow exiv2's printing, as OSS does: rationals unreduced (`96/1`), lists
//! space-separated, GPS coordinates as `31deg 55' 3.870" `, GPS references as words, pointer
//! tags under exiv2's names (`ExifTag`, `GPSTag`), UNDEFINED-typed tags omitted.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Cursor;

use exif::{In, Tag, Value};

use crate::codec::{Probe, SourceFormat};

/// The JSON answer for `image/info`.
pub fn info(bytes: &[u8], probe: &Probe) -> String {
    let mut fields: BTreeMap<String, String> = BTreeMap::new();
    if !matches!(probe.format, SourceFormat::Png | SourceFormat::Gif | SourceFormat::Bmp) {
        exif_fields(bytes, &mut fields);
    }
    // JFIF density only where EXIF gave no resolution.
    if matches!(probe.format, SourceFormat::Jpeg) && !fields.contains_key("XResolution") {
        jfif_resolution(bytes, &mut fields);
    }
    fields.insert("FileSize".into(), bytes.len().to_string());
    fields.insert("Format".into(), probe.format.oss_name().into());
    fields.insert("FrameCount".into(), probe.frames.to_string());
    fields.insert("ImageHeight".into(), probe.height.to_string());
    fields.insert("ImageWidth".into(), probe.width.to_string());
    render(&fields)
}

fn render(fields: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(64 + fields.len() * 48);
    out.push_str("{\n");
    for (i, (k, v)) in fields.iter().enumerate() {
        if i > 0 {
            out.push_str(",\n");
        }
        out.push_str("    ");
        json_string(k, &mut out);
        out.push_str(": {\"value\": ");
        json_string(v, &mut out);
        out.push('}');
    }
    out.push('}');
    out
}

/// Append `s` as a JSON string literal.
pub fn json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The JFIF APP0 density as EXIF-style resolution fields (units 0/1/2 → ResolutionUnit 1/2/3).
fn jfif_resolution(bytes: &[u8], fields: &mut BTreeMap<String, String>) {
    // FF D8, then FF E0 <len:2> "JFIF\0" <ver:2> <units:1> <x:2> <y:2>
    let Some(app0) = bytes.get(2..20) else { return };
    if app0[0] != 0xFF || app0[1] != 0xE0 || &app0[4..9] != b"JFIF\0" {
        return;
    }
    let units = app0[11];
    let x = u16::from_be_bytes([app0[12], app0[13]]);
    let y = u16::from_be_bytes([app0[14], app0[15]]);
    if units > 2 || x == 0 || y == 0 {
        return;
    }
    fields.insert("ResolutionUnit".into(), (u16::from(units) + 1).to_string());
    fields.insert("XResolution".into(), format!("{x}/1"));
    fields.insert("YResolution".into(), format!("{y}/1"));
}

fn exif_fields(bytes: &[u8], fields: &mut BTreeMap<String, String>) {
    let Ok(exif) = exif::Reader::new().read_from_container(&mut Cursor::new(bytes)) else { return };
    // Primary IFD first, so that its values win over the thumbnail's.
    let mut ordered: Vec<&exif::Field> = exif.fields().collect();
    ordered.sort_by_key(|f| f.ifd_num != In::PRIMARY);
    for f in ordered {
        let Some(name) = tag_name(f.tag) else { continue };
        if fields.contains_key(&name) {
            continue;
        }
        if let Some(v) = print_value(f.tag, &f.value) {
            fields.insert(name, v);
        }
    }
}

/// exiv2's names, which OSS prints; `None` for tags without a known name.
fn tag_name(tag: Tag) -> Option<String> {
    match tag {
        Tag::ExifIFDPointer => Some("ExifTag".into()),
        Tag::GPSInfoIFDPointer => Some("GPSTag".into()),
        Tag::InteropIFDPointer => Some("InteroperabilityTag".into()),
        t => {
            let name = t.to_string();
            (!name.starts_with("Tag(")).then_some(name)
        }
    }
}

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
fn degrees(r: &[exif::Rational]) -> String {
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

    fn rat(n: u32, d: u32) -> exif::Rational {
        exif::Rational { num: n, denom: d }
    }

    #[test]
    fn degrees_like_exiv2() {
        assert_eq!(degrees(&[rat(0, 1), rat(0, 1), rat(0, 1)]), "0deg ");
        assert_eq!(degrees(&[rat(31, 1), rat(55, 1), rat(3870, 1000)]), "31deg 55' 3.870\" ");
        assert_eq!(degrees(&[rat(117, 1), rat(18, 1), rat(4110, 1000)]), "117deg 18' 4.110\" ");
        assert_eq!(degrees(&[rat(10, 1), rat(30, 1), rat(0, 1)]), "10deg 30' ");
    }

    #[test]
    fn layout_is_oss_byte_for_byte() {
        let mut f = BTreeMap::new();
        for (k, v) in [("FileSize", "21839"), ("Format", "jpg"), ("ImageHeight", "267")] {
            f.insert(k.to_string(), v.to_string());
        }
        assert_eq!(
            render(&f),
            "{\n    \"FileSize\": {\"value\": \"21839\"},\n    \"Format\": {\"value\": \"jpg\"},\n    \
             \"ImageHeight\": {\"value\": \"267\"}}"
        );
    }

    #[test]
    fn jfif_density() {
        let mut f = BTreeMap::new();
        let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 16];
        jpeg.extend_from_slice(b"JFIF\0\x01\x01\x00\x00\x01\x00\x01\x00\x00");
        jfif_resolution(&jpeg, &mut f);
        assert_eq!(f.get("ResolutionUnit").map(String::as_str), Some("1"));
        assert_eq!(f.get("XResolution").map(String::as_str), Some("1/1"));
    }

    #[test]
    fn strings_are_escaped() {
        let mut s = String::new();
        json_string("a\"b\\c\u{1}", &mut s);
        assert_eq!(s, "\"a\\\"b\\\\c\\u0001\"");
    }
}
