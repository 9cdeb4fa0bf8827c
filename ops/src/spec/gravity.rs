//! The 3×3 anchor grid shared by `crop` and `watermark` (`g_`).

use std::fmt;

use super::cursor::{Subject, choice};
use super::error::SpecError;

/// Anchor point: `nw north ne / west center east / sw south se`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Gravity {
    Nw,
    North,
    Ne,
    West,
    Center,
    East,
    Sw,
    South,
    Se,
}

const TABLE: &[(&str, Gravity)] = &[
    ("nw", Gravity::Nw),
    ("north", Gravity::North),
    ("ne", Gravity::Ne),
    ("west", Gravity::West),
    ("center", Gravity::Center),
    ("east", Gravity::East),
    ("sw", Gravity::Sw),
    ("south", Gravity::South),
    ("se", Gravity::Se),
];

impl Gravity {
    /// The OSS keyword (`nw`, `north`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Gravity::Nw => "nw",
            Gravity::North => "north",
            Gravity::Ne => "ne",
            Gravity::West => "west",
            Gravity::Center => "center",
            Gravity::East => "east",
            Gravity::Sw => "sw",
            Gravity::South => "south",
            Gravity::Se => "se",
        }
    }

    /// Every gravity, in grid order.
    pub const ALL: [Gravity; 9] = [
        Gravity::Nw,
        Gravity::North,
        Gravity::Ne,
        Gravity::West,
        Gravity::Center,
        Gravity::East,
        Gravity::Sw,
        Gravity::South,
        Gravity::Se,
    ];

    pub(crate) fn parse(
        action: &str,
        key: &str,
        v: &str,
        ec: Option<&'static str>,
    ) -> Result<Self, SpecError> {
        choice(action, Subject::Param(key), v, TABLE, ec)
    }
}

impl fmt::Display for Gravity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_round_trip() {
        for g in Gravity::ALL {
            assert_eq!(Gravity::parse("crop", "g", g.as_str(), None), Ok(g));
        }
        let e = Gravity::parse("crop", "g", "middle", None).unwrap_err();
        assert_eq!(
            e.message,
            "crop: parameter g must be one of nw, north, ne, west, center, east, sw, south, se, got \"middle\""
        );
    }
}
