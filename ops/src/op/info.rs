//! `info`: the image's basic properties and its EXIF tags as OSS's JSON
//! (`docs/oss/info.md`).
//!
//! Every field is `"Name": {"value": "<string>"}`; keys sorted by byte order; layout
//! `{\n    "K": {"value": "V"},\n    ...}` with the closing brace right after the last entry.
//! The EXIF tags come from `codec::exif` (read tolerantly, exiv2's names and value printing:
//! rationals unreduced, GPS coordinates as `31deg 55' 3.870" `, pointer tags as offsets,
//! UNDEFINED-typed tags omitted); this file only assembles and formats the answer.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::codec::{Probe, SourceFormat, exif};

/// The JSON answer for `image/info`.
pub fn info(bytes: &[u8], probe: &Probe) -> String {
    let mut fields: BTreeMap<String, String> = BTreeMap::new();
    // OSS answers a PNG with its basic properties only; GIF and BMP carry no EXIF.
    if !matches!(probe.format, SourceFormat::Png | SourceFormat::Gif | SourceFormat::Bmp)
        && let Some(e) = exif::read(bytes)
    {
        fields = e.tags();
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
    let Some(d) = exif::jfif_density(bytes) else { return };
    fields.insert("ResolutionUnit".into(), (u16::from(d.units) + 1).to_string());
    fields.insert("XResolution".into(), format!("{}/1", d.x));
    fields.insert("YResolution".into(), format!("{}/1", d.y));
}

#[cfg(test)]
mod tests {
    use super::*;

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
