//! Fuzz the `x-oss-process` parser: any bytes (as lossy UTF-8) must parse or be rejected without
//! panicking, and whatever parses must be a canonical fixed point.
//!
//! Run: `cd ops/fuzz && cargo +nightly fuzz run parse -- -dict=dict/process.dict`

#![no_main]

use libfuzzer_sys::fuzz_target;
use pixgate_ops::spec::{Process, parse_image, parse_process, parse_style_content};

fuzz_target!(|data: &[u8]| {
    let input = String::from_utf8_lossy(data);
    if let Ok(req) = parse_process(&input) {
        let printed = req.to_string();
        let again = parse_process(&printed).expect("the canonical form must parse");
        assert_eq!(again, req, "{input:?} printed as {printed:?}");
        assert_eq!(again.to_string(), printed, "the canonical form must be a fixed point");
        if let Process::Image(chain) = &req.process {
            assert_eq!(parse_image(&chain.to_string()).as_ref(), Ok(chain));
        }
    }
    let _ = parse_style_content(&input);
});
