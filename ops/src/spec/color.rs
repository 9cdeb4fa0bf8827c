//! `RRGGBB` colours (`resize,color_`, `watermark,color_`).

use std::fmt;

use super::cursor::Subject;
use super::error::{Echo, SpecError};

/// An opaque RGB colour. Parsed from exactly six hex digits (either case); printed upper-case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rgb {
    pub r: u8,
    pub g: u8,
    pub b: u8,
}

impl Rgb {
    pub const WHITE: Rgb = Rgb { r: 0xFF, g: 0xFF, b: 0xFF };
    pub const BLACK: Rgb = Rgb { r: 0, g: 0, b: 0 };

    pub(crate) fn parse(
        action: &str,
        key: &str,
        v: &str,
        ec: Option<&'static str>,
    ) -> Result<Self, SpecError> {
        let hex = v.len() == 6 && v.bytes().all(|c| c.is_ascii_hexdigit());
        match u32::from_str_radix(v, 16) {
            Ok(n) if hex => {
                let [_, r, g, b] = n.to_be_bytes();
                Ok(Rgb { r, g, b })
            }
            _ => Err(SpecError::invalid(
                ec,
                format!("{action}: {} must be 6 hex digits RRGGBB, got {}", Subject::Param(key), Echo(v)),
            )),
        }
    }
}

impl fmt::Display for Rgb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02X}{:02X}{:02X}", self.r, self.g, self.b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_six_hex_digits_only() {
        let rows: &[(&str, Option<&str>)] = &[
            ("FFFFFF", Some("FFFFFF")),
            ("00ff7f", Some("00FF7F")),
            ("000000", Some("000000")),
            ("AABBCCDD", None),
            ("FFF", None),
            ("+FFFFF", None),
            ("GGGGGG", None),
            ("", None),
            ("ＦＦＦＦＦＦ", None),
        ];
        for (input, expect) in rows {
            let got = Rgb::parse("resize", "color", input, None).ok().map(|c| c.to_string());
            assert_eq!(got.as_deref(), *expect, "input {input:?}");
        }
    }
}
