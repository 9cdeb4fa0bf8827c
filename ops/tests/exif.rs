//! The EXIF corpus in `tests/exif/` (written by `tests/exif/make.py` with piexif, Pillow and
//! pillow-heif, the damaged cases edited byte by byte) and what a tolerant reader finds in each
//! (docs/compat.md, "EXIF and containers"). Every piexif-made file is one a strict reader
//! refuses as a whole: each case asserts the values that must survive, and what must not.

use std::collections::BTreeMap;
use std::path::Path;

use pixgate_ops::codec::{self, SourceFormat, exif};
use pixgate_ops::op::info::info;

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/exif").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The tags `info` would print (exiv2 names, OSS's printing).
fn tags(name: &str) -> BTreeMap<String, String> {
    exif::read(&fixture(name)).unwrap_or_else(|| panic!("{name}: no EXIF found")).tags()
}

fn info_of(name: &str) -> String {
    let bytes = fixture(name);
    let probe = codec::probe(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
    info(&bytes, &probe)
}

/// Assert `tags` holds each `(name, value)`; `None` = absent.
fn check(file: &str, tags: &BTreeMap<String, String>, expected: &[(&str, Option<&str>)]) {
    for &(key, value) in expected {
        assert_eq!(tags.get(key).map(String::as_str), value, "{file}: {key} in {tags:#?}");
    }
}

/// The camera fields every piexif-made file carries (`BASE` in make.py).
const BASE: &[(&str, Option<&str>)] = &[
    ("Make", Some("PixCam")),
    ("Model", Some("Z1")),
    ("DateTime", Some("2024:05:06 07:08:09")),
    ("DateTimeOriginal", Some("2024:05:06 07:08:09")),
    ("ISOSpeedRatings", Some("200")),
    ("ExposureBiasValue", Some("-1/3")),
    ("FocalLengthIn35mmFilm", Some("28")),
    ("SubjectDistanceRange", Some("2")),
    ("LensModel", Some("Kit 4.2mm")),
    ("GPSLatitude", Some("31deg 55' 3.870\" ")),
    ("GPSLatitudeRef", Some("North")),
    ("GPSLongitude", Some("117deg 18' 4.110\" ")),
    ("GPSLongitudeRef", Some("East")),
    ("GPSMapDatum", Some("WGS-84")),
    ("GPSVersionID", Some("2 2 0 0")),
    ("PhotographicSensitivity", None),
];

/// JFIF APP0, then an Exif APP1 whose Exif and GPS IFDs have non-zero next-IFD pointers (piexif
/// writes no next field there). The whole `info` answer, byte for byte.
#[test]
fn piexif_after_jfif() {
    let bytes = fixture("piexif-jfif.jpg");
    assert_eq!(bytes[2..4], [0xFF_u8, 0xE0], "JFIF comes first");
    assert_eq!(exif::orientation(&bytes), Some(6));
    assert_eq!(codec::decode::orientation(&bytes), Some(6));
    let fields = [
        ("DateTime", "2024:05:06 07:08:09"),
        ("DateTimeOriginal", "2024:05:06 07:08:09"),
        ("ExifTag", "185"),
        ("ExposureBiasValue", "-1/3"),
        ("ExposureTime", "1/125"),
        ("FNumber", "28/10"),
        ("FileSize", "1109"),
        ("FocalLengthIn35mmFilm", "28"),
        ("Format", "jpg"),
        ("FrameCount", "1"),
        ("GPSLatitude", "31deg 55' 3.870\\\" "),
        ("GPSLatitudeRef", "North"),
        ("GPSLongitude", "117deg 18' 4.110\\\" "),
        ("GPSLongitudeRef", "East"),
        ("GPSMapDatum", "WGS-84"),
        ("GPSTag", "337"),
        ("GPSVersionID", "2 2 0 0"),
        ("ISOSpeedRatings", "200"),
        ("ImageHeight", "16"),
        ("ImageWidth", "16"),
        ("LensModel", "Kit 4.2mm"),
        ("Make", "PixCam"),
        ("Model", "Z1"),
        ("Orientation", "6"),
        ("ResolutionUnit", "2"),
        ("Software", "make.py"),
        ("SubjectDistanceRange", "2"),
        ("XResolution", "72/1"),
        ("YResolution", "72/1"),
    ];
    let lines: Vec<String> =
        fields.iter().map(|(k, v)| format!("    \"{k}\": {{\"value\": \"{v}\"}}")).collect();
    assert_eq!(info_of("piexif-jfif.jpg"), format!("{{\n{}}}", lines.join(",\n")));
}

/// Little-endian (Pillow's writer), the Exif IFD's next pointer set to garbage.
#[test]
fn little_endian_with_a_bad_next_pointer() {
    let t = tags("le-bad-next.jpg");
    check(
        "le-bad-next.jpg",
        &t,
        &[
            ("Make", Some("LECam")),
            ("Orientation", Some("8")),
            ("DateTime", Some("2023:01:02 03:04:05")),
            ("DateTimeOriginal", Some("2023:01:02 03:04:05")),
            ("GPSLatitudeRef", Some("South")),
            ("GPSLatitude", Some("33deg 51' 35\" ")),
            ("GPSLongitudeRef", Some("West")),
            ("GPSLongitude", Some("151deg 12' 40\" ")),
        ],
    );
    assert_eq!(codec::decode::orientation(&fixture("le-bad-next.jpg")), Some(8));
}

/// Make's value and the GPS IFD lie past the end of the data: only they are lost.
#[test]
fn offsets_past_the_end_lose_only_what_they_point_to() {
    let t = tags("offset-past-end.jpg");
    let mut expected: Vec<(&str, Option<&str>)> =
        BASE.iter().copied().filter(|(k, _)| *k != "Make" && !k.starts_with("GPS")).collect();
    expected.extend([
        ("Make", None),
        ("GPSLatitude", None),
        ("GPSMapDatum", None),
        ("Orientation", Some("6")),
        // The pointer itself is printed as stored, as exiv2 does.
        ("GPSTag", Some("16776960")),
    ]);
    check("offset-past-end.jpg", &t, &expected);
}

/// An APP1 segment holding only IFD0 and its values: the Exif and GPS IFDs it points to lie
/// past the segment's end.
#[test]
fn a_short_segment_keeps_ifd0() {
    let expected = [
        ("Make", Some("PixCam")),
        ("Orientation", Some("6")),
        ("DateTime", Some("2024:05:06 07:08:09")),
        ("XResolution", Some("72/1")),
        ("DateTimeOriginal", None),
        ("GPSLatitude", None),
    ];
    check("short-segment.jpg", &tags("short-segment.jpg"), &expected);
    let json = info_of("short-segment.jpg");
    assert!(json.contains("\"Make\": {\"value\": \"PixCam\"}"), "{json}");
}

/// A file cut off inside its Exif APP1: the reader takes what the file holds. (The file has no
/// frame header any more, so `probe` refuses it.)
#[test]
fn a_file_cut_inside_app1() {
    let bytes = fixture("cut-in-app1.jpg");
    assert_eq!(exif::orientation(&bytes), Some(6));
    let expected = [("Make", Some("PixCam")), ("DateTimeOriginal", None)];
    check("cut-in-app1.jpg", &tags("cut-in-app1.jpg"), &expected);
    assert!(codec::probe(&bytes).is_err());
}

/// IFD0's next pointer points back at IFD0: the loop ends the walk, nothing is lost or doubled.
#[test]
fn an_ifd_loop() {
    let t = tags("ifd-loop.jpg");
    let mut expected = BASE.to_vec();
    expected.extend([("Orientation", Some("6")), ("ExposureTime", Some("1/125"))]);
    check("ifd-loop.jpg", &t, &expected);
    assert_eq!(codec::decode::orientation(&fixture("ifd-loop.jpg")), Some(6));
}

/// Orientation twice in IFD0 (6, then 3): the first counts, for `info` and for the pixels.
#[test]
fn duplicate_tags_the_first_counts() {
    check("duplicate-tags.jpg", &tags("duplicate-tags.jpg"), &[("Orientation", Some("6"))]);
    assert_eq!(codec::decode::orientation(&fixture("duplicate-tags.jpg")), Some(6));
}

/// A MakerNote of garbage whose count claims more bytes than there are: only it is skipped
/// (it is UNDEFINED, never printed anyway).
#[test]
fn a_garbage_maker_note() {
    let t = tags("makernote.jpg");
    let mut expected = BASE.to_vec();
    expected.extend([("MakerNote", None), ("Orientation", Some("6"))]);
    check("makernote.jpg", &t, &expected);
}

/// SOI, JFIF, an XMP APP1, the Exif APP1, then a second Exif APP1 (Make "Second"): XMP is
/// skipped, the first Exif counts.
#[test]
fn xmp_before_exif_and_a_second_exif() {
    let t = tags("xmp-first.jpg");
    check("xmp-first.jpg", &t, BASE);
    assert_eq!(exif::orientation(&fixture("xmp-first.jpg")), Some(6));
}

/// PNG `eXIf` (Pillow): the orientation is applied, but `info` answers a PNG with its basic
/// properties only, as OSS does.
#[test]
fn png_exif_chunk() {
    let bytes = fixture("exif.png");
    check("exif.png", &tags("exif.png"), &[("Make", Some("PixCam")), ("Orientation", Some("3"))]);
    assert_eq!(codec::decode::orientation(&bytes), Some(3));
    let json = info_of("exif.png");
    assert!(!json.contains("Make") && !json.contains("Orientation"), "{json}");
    assert!(json.contains("\"Format\": {\"value\": \"png\"}"), "{json}");
}

/// WebP `EXIF` chunk (Pillow), without and with an `Exif\0\0` prefix inside it.
#[test]
fn webp_exif_chunk() {
    for name in ["exif.webp", "exif-prefixed.webp"] {
        let bytes = fixture(name);
        check(name, &tags(name), BASE);
        assert_eq!(codec::decode::orientation(&bytes), Some(6), "{name}");
        let json = info_of(name);
        for line in ["\"Make\": {\"value\": \"PixCam\"}", "\"Format\": {\"value\": \"webp\"}"] {
            assert!(json.contains(line), "{name}: {json}");
        }
    }
}

/// HEIC (pillow-heif) and AVIF (Pillow): the `Exif` item is read in every build; the
/// container's `irot` turns 16x12 into 12x16; EXIF orientation is not applied to their pixels
/// (libheif applies the container's own).
#[test]
fn heif_exif_item() {
    let heic = fixture("exif.heic");
    check("exif.heic", &tags("exif.heic"), &[("Make", Some("PixCam")), ("Orientation", Some("6"))]);
    assert_eq!(codec::decode::orientation(&heic), None);
    let json = info_of("exif.heic");
    for line in [
        "\"Format\": {\"value\": \"heic\"}",
        "\"ImageWidth\": {\"value\": \"12\"}",
        "\"ImageHeight\": {\"value\": \"16\"}",
        "\"FrameCount\": {\"value\": \"1\"}",
        "\"Make\": {\"value\": \"PixCam\"}",
        "\"GPSLatitudeRef\": {\"value\": \"North\"}",
        "\"DateTimeOriginal\": {\"value\": \"2024:05:06 07:08:09\"}",
    ] {
        assert!(json.contains(line), "{line} in {json}");
    }
    // Pillow moves the orientation from the EXIF into irot.
    check("exif.avif", &tags("exif.avif"), &[("Make", Some("PixCam")), ("Orientation", None)]);
    let p = codec::probe(&fixture("exif.avif")).unwrap();
    assert_eq!((p.format, p.width, p.height, p.frames), (SourceFormat::Avif, 12, 16, 1));
}

/// Every fixture with bytes flipped: the reader, the probe and `info` never panic.
#[test]
fn damaged_copies_never_panic() {
    let names = [
        "piexif-jfif.jpg",
        "le-bad-next.jpg",
        "short-segment.jpg",
        "exif.png",
        "exif.webp",
        "exif.heic",
        "exif.avif",
        "anim.webp",
        "anim.png",
        "anim.avif",
    ];
    let mut state = 0x243F_6A88_85A3_08D3u64;
    for name in names {
        let bytes = fixture(name);
        for _ in 0..1500 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let mut b = bytes.clone();
            let at = (state % b.len() as u64) as usize;
            b[at] = (state >> 40) as u8;
            let _ = exif::read(&b).map(|e| (e.tags(), e.orientation()));
            if let Ok(p) = codec::probe(&b) {
                let _ = info(&b, &p);
            }
        }
    }
}
