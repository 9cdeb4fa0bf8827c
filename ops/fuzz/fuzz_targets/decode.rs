//! Fuzz every decoder behind `codec::probe` + `codec::decode_frame` (JPEG, PNG, GIF, BMP, WebP,
//! TIFF; the HEIC/AVIF box parser, and frame counts of APNG and animated WebP), plus the `info`
//! reader (EXIF): any bytes must decode or be refused, never panic, and
//! never allocate beyond what the header allowed. Limits are tightened so a hostile header is
//! refused before pixels exist, as the gateway does.
//!
//! Run: `cd ops/fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run decode corpus/decode -- -rss_limit_mb=512`

#![no_main]

use libfuzzer_sys::fuzz_target;
use pixgate_ops::codec::decode::decode_frame;
use pixgate_ops::codec::{self, Limits};
use pixgate_ops::op;

fuzz_target!(|data: &[u8]| {
    let limits = Limits { max_source_side: 4096, max_source_pixels: 4_000_000, ..Limits::default() };
    let Ok(probe) = codec::probe(data) else { return };
    let _ = op::info::info(data, &probe);
    if codec::check_source(&probe, data.len() as u64, &limits).is_err() {
        return;
    }
    if let Ok((frame, _)) = decode_frame(data, &probe, None) {
        assert!(frame.width <= probe.width.max(1) && frame.height <= probe.height.max(1));
    }
    // The scaled (shrink-on-load) paths as well: 1/4 (libjpeg-turbo) and 1/8 (`jpeg_dc`).
    let _ = decode_frame(data, &probe, Some((probe.width / 4, probe.height / 4)));
    let _ = decode_frame(data, &probe, Some((probe.width / 8, probe.height / 8)));
});
