//! Values as the file writes them: durations, sizes, bucket and domain names.

use std::time::Duration;

pub(super) fn lower_domains(key: &str, domains: &[String], p: &mut Vec<String>) -> Vec<String> {
    domains
        .iter()
        .map(|d| {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            if d.is_empty()
                || d.contains(['/', ':', ' '])
                || !d.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
            {
                p.push(format!("{key}: \"{d}\" is not a domain name"));
            }
            d
        })
        .collect()
}

/// Bucket names as OSS and S3 allow them (plus `_`, which local folders often use).
pub fn valid_bucket_name(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.'))
        && !name.starts_with(['-', '.'])
        && name != ".."
}

/// `"500ms"`, `"10s"`, `"5m"`, `"1h"`, `"7d"`; a bare number is seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 =
        num.parse().map_err(|_| format!("\"{s}\" is not a duration such as \"500ms\", \"10s\", \"1h\""))?;
    let secs = match unit.trim() {
        "ms" => n / 1000.0,
        "" | "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        "d" => n * 86400.0,
        _ => return Err(format!("\"{s}\" is not a duration such as \"500ms\", \"10s\", \"1h\"")),
    };
    if !secs.is_finite() || !(0.0..=1e9).contains(&secs) {
        return Err(format!("\"{s}\" is out of range"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// `"256MiB"`, `"20MB"`, `"1GiB"`, `"512KiB"`, `"1024"`.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num.parse().map_err(|_| format!("\"{s}\" is not a size such as \"256MiB\""))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1000,
        "kib" => 1 << 10,
        "m" | "mb" => 1_000_000,
        "mib" => 1 << 20,
        "g" | "gb" => 1_000_000_000,
        "gib" => 1 << 30,
        _ => return Err(format!("\"{s}\" is not a size such as \"256MiB\"")),
    };
    n.checked_mul(mult).ok_or_else(|| format!("\"{s}\" is too large"))
}
