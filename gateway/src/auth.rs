//! Who is asking, as OSS decides it (docs/oss/signatures.md#v1, docs/oss/signatures.md#v4): V1 (`OSS ak:sig`, presigned `Signature`) and V4
//! (`OSS4-HMAC-SHA256`, header and presigned) signatures checked against `[[credentials]]`.
//!
//! Signatures are compared in constant time (`Mac::verify_slice`). The string that was signed is
//! logged at debug level on a mismatch, never sent. This file depends on no other module of the
//! crate (the fuzz target `ops/fuzz/fuzz_targets/signature.rs` compiles it on its own); the
//! bucket's rules for anonymous requests are in `access.rs`.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// How far a request's own clock may be from Pixgate's (OSS: 15 minutes).
pub const MAX_SKEW: Duration = Duration::from_secs(15 * 60);
/// The longest lifetime of a V4 presigned URL (OSS: 7 days).
pub const MAX_V4_EXPIRES: u64 = 604_800;

/// The query parameters V1 signs (OSS's sub-resources): exactly the official Python SDK's
/// list (oss2 2.19.1 `_subresource_key_set`).
const SUBRESOURCES: &[&str] = &[
    "accessPoint",
    "accessPointPolicy",
    "acl",
    "append",
    "asyncFetch",
    "bucketArchiveDirectRead",
    "bucketInfo",
    "callback",
    "callback-var",
    "cname",
    "comp",
    "continuation-token",
    "cors",
    "delete",
    "encryption",
    "endTime",
    "group",
    "httpsConfig",
    "inventory",
    "inventoryId",
    "lifecycle",
    "link",
    "live",
    "location",
    "logging",
    "metaQuery",
    "objectInfo",
    "objectMeta",
    "partNumber",
    "policy",
    "position",
    "publicAccessBlock",
    "qos",
    "qosInfo",
    "qosRequester",
    "redundancyTransition",
    "referer",
    "regionList",
    "replication",
    "replicationLocation",
    "replicationProgress",
    "requestPayment",
    "requesterQosInfo",
    "resourceGroup",
    "resourcePool",
    "resourcePoolBuckets",
    "resourcePoolInfo",
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
    "response-content-language",
    "response-content-type",
    "response-expires",
    "restore",
    "security-token",
    "sequential",
    "startTime",
    "stat",
    "status",
    "style",
    "styleName",
    "symlink",
    "tagging",
    "transferAcceleration",
    "uploadId",
    "uploads",
    "versionId",
    "versioning",
    "versions",
    "vod",
    "website",
    "worm",
    "wormExtend",
    "wormId",
    "x-oss-ac-forward-allow",
    "x-oss-ac-source-ip",
    "x-oss-ac-subnet-mask",
    "x-oss-ac-vpc-id",
    "x-oss-access-point-name",
    "x-oss-async-process",
    "x-oss-process",
    "x-oss-redundancy-transition-taskid",
    "x-oss-request-payer",
    "x-oss-target-redundancy-type",
    "x-oss-traffic-limit",
    "x-oss-write-get-object-response",
];

/// Why a signature was refused; the gateway maps each to OSS's Code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// A malformed Authorization header, or two ways of signing at once (400).
    InvalidArgument(String),
    /// An expired URL or a missing piece (403).
    AccessDenied(String),
    /// A key `[[credentials]]` does not list (403).
    InvalidAccessKeyId,
    /// The signature does not verify (403).
    SignatureDoesNotMatch,
    /// A header date more than [`MAX_SKEW`] from Pixgate's clock (403).
    RequestTimeTooSkewed,
}

/// A request as the signature sees it.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub method: &'a str,
    /// The bucket name the client addressed (a custom domain resolves to it).
    pub bucket: &'a str,
    /// The decoded key as addressed (a delimiter style still attached).
    pub key: &'a str,
    /// The raw query string, percent-encoded as received.
    pub query: Option<&'a str>,
    pub headers: &'a http::HeaderMap,
}

/// How the request proved who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    Anonymous,
    /// Signed in the `Authorization` header.
    Header {
        access_key_id: String,
    },
    /// Signed in the URL (presigned).
    Url {
        access_key_id: String,
    },
}

impl Identity {
    pub fn is_signed(&self) -> bool {
        !matches!(self, Identity::Anonymous)
    }
}

/// Check the request's signature, if it carries one.
pub fn authenticate(
    req: &Request<'_>,
    credentials: &BTreeMap<String, String>,
    region: &str,
    now: SystemTime,
) -> Result<Identity, AuthError> {
    let authorization = header(req.headers, "authorization");
    // Most requests are anonymous: answer them without parsing the query.
    let may_sign =
        |q: &str| q.contains("Signature") || q.contains("OSSAccessKeyId") || q.contains("x-oss-signature");
    if authorization.is_none() && !req.query.is_some_and(may_sign) {
        return Ok(Identity::Anonymous);
    }
    let params = parse_query(req.query);
    // A signed request names each parameter once: with repeats, what the signature covers and
    // what is acted on (the first value) could differ.
    let mut names: Vec<&str> = params.iter().map(|(k, _)| k.as_str()).collect();
    names.sort_unstable();
    if names.windows(2).any(|w| w[0] == w[1]) {
        return Err(AuthError::InvalidArgument("A signed request must not repeat a query parameter.".into()));
    }
    let v1_url = has(&params, "Signature") || has(&params, "OSSAccessKeyId");
    let v4_url = has(&params, "x-oss-signature-version") || has(&params, "x-oss-signature");
    if authorization.is_some() && (v1_url || v4_url) {
        return Err(AuthError::InvalidArgument(
            "Only one authentication method is allowed: a URL signature or an Authorization header.".into(),
        ));
    }
    let now = unix(now);
    if let Some(auth) = authorization {
        if let Some(rest) = auth.strip_prefix("OSS4-HMAC-SHA256 ") {
            return v4_header(req, &params, rest, credentials, region, now);
        }
        if let Some(rest) = auth.strip_prefix("OSS ") {
            return v1_header(req, &params, rest, credentials, now);
        }
        return Err(AuthError::InvalidArgument(
            "The Authorization header is neither OSS nor OSS4-HMAC-SHA256.".into(),
        ));
    }
    if v4_url {
        return v4_url_sig(req, &params, credentials, region, now);
    }
    if v1_url {
        return v1_url_sig(req, &params, credentials, now);
    }
    Ok(Identity::Anonymous)
}

type Params = Vec<(String, String)>;

/// Decoded query pairs in order. Escapes that do not decode are kept as written; invalid UTF-8
/// is replaced (such a request cannot match a signature made over valid text anyway).
fn parse_query(raw: Option<&str>) -> Params {
    let Some(raw) = raw else { return Vec::new() };
    raw.split('&')
        .filter(|p| !p.is_empty())
        .map(|part| {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: Option<&u8>| c.and_then(|&c| (c as char).to_digit(16));
        if b[i] == b'%'
            && let (Some(hi), Some(lo)) = (hex(b.get(i + 1)), hex(b.get(i + 2)))
        {
            out.push((hi * 16 + lo) as u8);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn has(params: &Params, name: &str) -> bool {
    params.iter().any(|(k, _)| k == name)
}

/// The first value (OSS uses the first when a parameter repeats).
fn first<'p>(params: &'p Params, name: &str) -> Option<&'p str> {
    params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn header<'h>(headers: &'h http::HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn unix(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    }
}

fn denied(message: &str) -> AuthError {
    AuthError::AccessDenied(message.into())
}

fn secret<'c>(credentials: &'c BTreeMap<String, String>, ak: &str) -> Result<&'c str, AuthError> {
    credentials.get(ak).map(String::as_str).ok_or(AuthError::InvalidAccessKeyId)
}

// ---------------------------------------------------------------- V1

/// `/<bucket>/<key>` + the signed sub-resources, sorted, unencoded.
fn v1_resource(req: &Request<'_>, params: &Params) -> String {
    let mut out =
        if req.bucket.is_empty() { "/".to_string() } else { format!("/{}/{}", req.bucket, req.key) };
    let mut subs: Vec<&(String, String)> =
        params.iter().filter(|(k, _)| SUBRESOURCES.contains(&k.as_str())).collect();
    subs.sort_by(|a, b| a.0.cmp(&b.0));
    for (i, (k, v)) in subs.iter().enumerate() {
        out.push(if i == 0 { '?' } else { '&' });
        out.push_str(k);
        if !v.is_empty() {
            out.push('=');
            out.push_str(v);
        }
    }
    out
}

/// Every `x-oss-*` header, lower-cased and sorted, `name:value\n` each.
fn v1_oss_headers(headers: &http::HeaderMap) -> String {
    let mut list: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (name, value) in headers {
        if name.as_str().starts_with("x-oss-") {
            list.entry(name.as_str()).or_default().push(value.to_str().unwrap_or("").trim());
        }
    }
    list.iter().map(|(k, v)| format!("{k}:{}\n", v.join(","))).collect()
}

fn v1_string_to_sign(req: &Request<'_>, params: &Params, date: &str) -> String {
    let h = |n| header(req.headers, n).unwrap_or("").trim();
    format!(
        "{}\n{}\n{}\n{date}\n{}{}",
        req.method,
        h("content-md5"),
        h("content-type"),
        v1_oss_headers(req.headers),
        v1_resource(req, params)
    )
}

fn v1_check(secret: &str, string_to_sign: &str, signature: &str) -> Result<(), AuthError> {
    let provided = base64::engine::general_purpose::STANDARD
        .decode(signature.trim())
        .map_err(|_| AuthError::SignatureDoesNotMatch)?;
    let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(secret.as_bytes())
        .map_err(|_| AuthError::SignatureDoesNotMatch)?;
    mac.update(string_to_sign.as_bytes());
    mac.verify_slice(&provided).map_err(|_| {
        tracing::debug!(string_to_sign, "V1 signature mismatch");
        AuthError::SignatureDoesNotMatch
    })
}

fn v1_header(
    req: &Request<'_>,
    params: &Params,
    credential: &str,
    credentials: &BTreeMap<String, String>,
    now: i64,
) -> Result<Identity, AuthError> {
    let (ak, signature) = credential
        .trim()
        .rsplit_once(':')
        .filter(|(ak, sig)| !ak.is_empty() && !sig.is_empty())
        .ok_or_else(|| AuthError::InvalidArgument("Authorization header is invalid.".into()))?;
    // The SDKs sign x-oss-date when they send it (browsers cannot set Date), else Date.
    let date = header(req.headers, "x-oss-date")
        .or_else(|| header(req.headers, "date"))
        .ok_or_else(|| denied("The request has no Date or x-oss-date header."))?;
    let at = parse_any_date(date).ok_or_else(|| denied("The request's date is not a valid HTTP date."))?;
    if (at - now).unsigned_abs() > MAX_SKEW.as_secs() {
        return Err(AuthError::RequestTimeTooSkewed);
    }
    let secret = secret(credentials, ak)?;
    v1_check(secret, &v1_string_to_sign(req, params, date), signature)?;
    Ok(Identity::Header { access_key_id: ak.to_string() })
}

fn v1_url_sig(
    req: &Request<'_>,
    params: &Params,
    credentials: &BTreeMap<String, String>,
    now: i64,
) -> Result<Identity, AuthError> {
    let (Some(ak), Some(expires), Some(signature)) =
        (first(params, "OSSAccessKeyId"), first(params, "Expires"), first(params, "Signature"))
    else {
        return Err(denied("A presigned URL needs OSSAccessKeyId, Expires and Signature."));
    };
    let at: i64 = expires.trim().parse().map_err(|_| denied("Expires must be a UNIX time in seconds."))?;
    if now > at {
        return Err(denied("Request has expired."));
    }
    let secret = secret(credentials, ak)?;
    v1_check(secret, &v1_string_to_sign(req, params, expires), signature)?;
    Ok(Identity::Url { access_key_id: ak.to_string() })
}

// ---------------------------------------------------------------- V4

/// RFC 3986 encoding: unreserved characters stay, everything else is `%XX`; `/` stays when
/// `keep_slash`.
fn uri_encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') || (keep_slash && b == b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The parts of an `OSS4-HMAC-SHA256` credential scope.
#[derive(Debug, PartialEq, Eq)]
struct Scope<'a> {
    access_key_id: &'a str,
    date: &'a str,
    region: &'a str,
}

fn parse_credential(credential: &str) -> Result<Scope<'_>, AuthError> {
    let parts: Vec<&str> = credential.trim().split('/').collect();
    let [ak, date, region, "oss", "aliyun_v4_request"] = parts.as_slice() else {
        return Err(denied("The credential must be <AccessKeyId>/<date>/<region>/oss/aliyun_v4_request."));
    };
    if ak.is_empty() || region.is_empty() {
        return Err(denied("The credential must be <AccessKeyId>/<date>/<region>/oss/aliyun_v4_request."));
    }
    if date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
        return Err(denied("The date in the credential must be YYYYMMDD."));
    }
    Ok(Scope { access_key_id: ak, date, region })
}

/// `yyyymmddTHHMMSSZ` → UNIX seconds.
fn parse_iso_basic(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        t.bytes().all(|c| c.is_ascii_digit()).then(|| t.parse().ok())?
    };
    let (y, mo, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (h, mi, sec) = (num(9..11)?, num(11..13)?, num(13..15)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    Some(days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// An HTTP date or an ISO basic date, as UNIX seconds.
fn parse_any_date(s: &str) -> Option<i64> {
    parse_iso_basic(s.trim()).or_else(|| httpdate::parse_http_date(s.trim()).ok().map(unix))
}

fn v4_canonical_request(req: &Request<'_>, params: &Params, additional: &[String]) -> String {
    let uri = if req.bucket.is_empty() {
        "/".to_string()
    } else {
        uri_encode(&format!("/{}/{}", req.bucket, req.key), true)
    };
    let mut query: Vec<(String, String)> = params
        .iter()
        .filter(|(k, _)| k != "x-oss-signature")
        .map(|(k, v)| (uri_encode(k, false), uri_encode(v, false)))
        .collect();
    query.sort();
    let query: Vec<String> =
        query.into_iter().map(|(k, v)| if v.is_empty() { k } else { format!("{k}={v}") }).collect();
    let mut headers: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (name, value) in req.headers {
        let n = name.as_str();
        if n.starts_with("x-oss-")
            || n == "content-type"
            || n == "content-md5"
            || additional.iter().any(|a| a == n)
        {
            headers.entry(n).or_default().push(value.to_str().unwrap_or("").trim());
        }
    }
    let headers: String = headers.iter().map(|(k, v)| format!("{k}:{}\n", v.join(","))).collect();
    let payload = header(req.headers, "x-oss-content-sha256").unwrap_or("UNSIGNED-PAYLOAD");
    format!("{}\n{uri}\n{}\n{headers}\n{}\n{payload}", req.method, query.join("&"), additional.join(";"))
}

fn hmac256(key: &[u8], data: &str) -> Hmac<Sha256> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(data.as_bytes());
    mac
}

fn v4_check(
    req: &Request<'_>,
    params: &Params,
    scope: &Scope<'_>,
    timestamp: &str,
    additional: &[String],
    signature: &str,
    credentials: &BTreeMap<String, String>,
) -> Result<(), AuthError> {
    let secret = secret(credentials, scope.access_key_id)?;
    let canonical = v4_canonical_request(req, params, additional);
    let string_to_sign = format!(
        "OSS4-HMAC-SHA256\n{timestamp}\n{}/{}/oss/aliyun_v4_request\n{}",
        scope.date,
        scope.region,
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let mut key = hmac256(format!("aliyun_v4{secret}").as_bytes(), scope.date).finalize().into_bytes();
    for part in [scope.region, "oss", "aliyun_v4_request"] {
        key = hmac256(&key, part).finalize().into_bytes();
    }
    let provided = hex_decode(signature.trim()).ok_or(AuthError::SignatureDoesNotMatch)?;
    hmac256(&key, &string_to_sign).verify_slice(&provided).map_err(|_| {
        tracing::debug!(canonical, string_to_sign, "V4 signature mismatch");
        AuthError::SignatureDoesNotMatch
    })
}

/// Equal bytes, compared without an early exit (the time depends on the length only).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    std::hint::black_box(a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y))) == 0
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hex_decode(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok())).collect()
}

fn check_region(scope: &Scope<'_>, region: &str) -> Result<(), AuthError> {
    if !region.is_empty() && scope.region != region {
        return Err(denied("The region in the credential scope is not this service's region."));
    }
    Ok(())
}

fn additional_list(s: &str) -> Vec<String> {
    let mut v: Vec<String> =
        s.split(';').map(|h| h.trim().to_ascii_lowercase()).filter(|h| !h.is_empty()).collect();
    v.sort();
    v.dedup();
    v
}

fn v4_header(
    req: &Request<'_>,
    params: &Params,
    rest: &str,
    credentials: &BTreeMap<String, String>,
    region: &str,
    now: i64,
) -> Result<Identity, AuthError> {
    let (mut credential, mut signature, mut additional) = (None, None, None);
    for part in rest.split(',') {
        let (k, v) = part.trim().split_once('=').unwrap_or((part.trim(), ""));
        match k {
            "Credential" => credential = Some(v),
            "Signature" => signature = Some(v),
            "AdditionalHeaders" => additional = Some(v),
            _ => {}
        }
    }
    let (Some(credential), Some(signature)) = (credential, signature) else {
        return Err(AuthError::InvalidArgument(
            "The OSS4-HMAC-SHA256 Authorization header needs Credential and Signature.".into(),
        ));
    };
    let scope = parse_credential(credential)?;
    check_region(&scope, region)?;
    let timestamp = header(req.headers, "x-oss-date")
        .map(str::trim)
        .ok_or_else(|| denied("A V4 request needs an x-oss-date header."))?;
    let at = parse_iso_basic(timestamp).ok_or_else(|| denied("x-oss-date must be yyyymmddTHHMMSSZ."))?;
    if !timestamp.starts_with(scope.date) {
        return Err(denied("The date in the credential is not the day of x-oss-date."));
    }
    if (at - now).unsigned_abs() > MAX_SKEW.as_secs() {
        return Err(AuthError::RequestTimeTooSkewed);
    }
    let additional = additional_list(additional.unwrap_or(""));
    v4_check(req, params, &scope, timestamp, &additional, signature, credentials)?;
    Ok(Identity::Header { access_key_id: scope.access_key_id.to_string() })
}

fn v4_url_sig(
    req: &Request<'_>,
    params: &Params,
    credentials: &BTreeMap<String, String>,
    region: &str,
    now: i64,
) -> Result<Identity, AuthError> {
    match first(params, "x-oss-signature-version") {
        Some("OSS4-HMAC-SHA256") => {}
        Some(_) => {
            return Err(AuthError::InvalidArgument(
                "x-oss-signature-version must be OSS4-HMAC-SHA256.".into(),
            ));
        }
        None => return Err(denied("A V4 presigned URL needs x-oss-signature-version.")),
    }
    let need =
        |name: &str| first(params, name).ok_or_else(|| denied(&format!("A V4 presigned URL needs {name}.")));
    let (credential, timestamp, expires, signature) =
        (need("x-oss-credential")?, need("x-oss-date")?, need("x-oss-expires")?, need("x-oss-signature")?);
    for (name, v) in [("x-oss-credential", credential), ("x-oss-expires", expires)] {
        if v.trim().is_empty() {
            return Err(denied(&format!("{name} is empty.")));
        }
    }
    let scope = parse_credential(credential)?;
    check_region(&scope, region)?;
    let at = parse_iso_basic(timestamp).ok_or_else(|| denied("x-oss-date must be yyyymmddTHHMMSSZ."))?;
    if !timestamp.starts_with(scope.date) {
        return Err(denied("The date in the credential is not the day of x-oss-date."));
    }
    let expires: u64 =
        expires.trim().parse().map_err(|_| denied("x-oss-expires must be a number of seconds."))?;
    if !(1..=MAX_V4_EXPIRES).contains(&expires) {
        return Err(denied("x-oss-expires must be between 1 and 604800 seconds."));
    }
    if at - now > MAX_SKEW.as_secs() as i64 {
        return Err(denied("x-oss-date is in the future."));
    }
    if now > at + expires as i64 {
        return Err(denied("Request has expired."));
    }
    let additional = additional_list(first(params, "x-oss-additional-headers").unwrap_or(""));
    v4_check(req, params, &scope, timestamp, &additional, signature, credentials)?;
    Ok(Identity::Url { access_key_id: scope.access_key_id.to_string() })
}

#[cfg(test)]
mod tests;
