//! Fuzz the OSS signature verifier (`gateway/src/auth.rs`, compiled here on its own): any
//! method, key, query and headers must verify or be refused, never panic; and a request that
//! verifies must name a configured key.
//!
//! Run: `cd ops/fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run signature corpus/signature -- -dict=dict/signature.dict`

#![no_main]

#[path = "../../../gateway/src/auth.rs"]
#[allow(dead_code)]
mod auth;

use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Fields separated by NUL: method, key, query, then header name/value pairs.
    let text = String::from_utf8_lossy(data);
    let mut parts = text.split('\0');
    let method = parts.next().unwrap_or("GET");
    let key = parts.next().unwrap_or("");
    let query = parts.next();
    let mut headers = http::HeaderMap::new();
    while let (Some(name), Some(value)) = (parts.next(), parts.next()) {
        if let (Ok(n), Ok(v)) =
            (http::header::HeaderName::from_bytes(name.as_bytes()), http::HeaderValue::from_str(value))
        {
            headers.append(n, v);
        }
    }
    let credentials = BTreeMap::from([("ak".to_string(), "sk".to_string())]);
    let req = auth::Request { method, bucket: "bucket", key, query, headers: &headers };
    let now = UNIX_EPOCH + Duration::from_secs(1_702_781_677);
    for region in ["", "cn-hangzhou"] {
        if let Ok(auth::Identity::Header { access_key_id } | auth::Identity::Url { access_key_id }) =
            auth::authenticate(&req, &credentials, region, now)
        {
            assert_eq!(access_key_id, "ak");
        }
    }
});
