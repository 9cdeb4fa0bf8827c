//! The file's shape and the environment overlay: `PIXGATE_<SECTION>_<KEY>` overrides typed by
//! the default value of the key, `PIXGATE_CREDENTIALS`, and the check for unknown keys and wrong
//! types (every problem reported at once).

use super::raw::RawBucket;

/// Environment variables that are not configuration keys.
const ENV_NOT_KEYS: &[&str] = &["PIXGATE_CONFIG", "PIXGATE_LOG", "PIXGATE_CREDENTIALS"];

/// The variables Kubernetes injects for a Service whose name starts with `pixgate` (service
/// links): `<SVC>_SERVICE_HOST`, `<SVC>_SERVICE_PORT[_<NAME>]`, `<SVC>_PORT=tcp://…`,
/// `<SVC>_PORT_<n>_<PROTO>[_PROTO|_PORT|_ADDR]`. They are not configuration, and no key has
/// these shapes, so they are passed over; a misspelt key is still reported.
pub(super) fn is_service_link(name: &str, value: &str) -> bool {
    if name.ends_with("_SERVICE_HOST") || name.contains("_SERVICE_PORT") {
        return true;
    }
    let url = ["tcp://", "udp://", "sctp://"].iter().any(|s| value.starts_with(s));
    if name.ends_with("_PORT") && url {
        return true;
    }
    // ..._PORT_<digits>_<TCP|UDP|SCTP>[_PROTO|_PORT|_ADDR]
    let parts: Vec<&str> = name.rsplit('_').collect();
    let proto = |p: &str| matches!(p, "TCP" | "UDP" | "SCTP");
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    match parts.as_slice() {
        [p, n, "PORT", ..] => proto(p) && digits(n),
        [last, p, n, "PORT", ..] => matches!(*last, "PROTO" | "PORT" | "ADDR") && proto(p) && digits(n),
        _ => false,
    }
}

/// `PIXGATE_CREDENTIALS="AK1:secret1,AK2:secret2"`: signing keys from the environment (a
/// Kubernetes Secret, a systemd EnvironmentFile), added to the file's `[[credentials]]`.
pub(super) fn apply_env_credentials(
    table: &mut toml::Table,
    env: &[(String, String)],
    problems: &mut Vec<String>,
) {
    let Some((_, list)) = env.iter().find(|(k, _)| k == "PIXGATE_CREDENTIALS") else { return };
    let entry = table.entry("credentials".to_string()).or_insert_with(|| toml::Value::Array(Vec::new()));
    let toml::Value::Array(creds) = entry else {
        problems.push("PIXGATE_CREDENTIALS: credentials in the file is not an array of tables".into());
        return;
    };
    for (i, pair) in list.split(',').map(str::trim).filter(|p| !p.is_empty()).enumerate() {
        let Some((ak, secret)) = pair.split_once(':') else {
            problems.push(format!("PIXGATE_CREDENTIALS: entry {i} is not <access_key_id>:<secret>"));
            continue;
        };
        let mut t = toml::Table::new();
        t.insert("access_key_id".into(), toml::Value::String(ak.trim().into()));
        t.insert("access_key_secret".into(), toml::Value::String(secret.trim().into()));
        creds.push(toml::Value::Table(t));
    }
}

pub(super) fn set_key(table: &mut toml::Table, section: &str, key: &str, value: toml::Value) {
    let entry = table.entry(section.to_string()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
    if let toml::Value::Table(t) = entry {
        t.insert(key.to_string(), value);
    }
}

/// Apply `PIXGATE_<SECTION>_<KEY>` overrides. The type of each key comes from the defaults, so
/// `PIXGATE_SERVER_WORKERS=4` is a number and `PIXGATE_ORIGIN_ACCESS_KEY_ID=123` stays a string.
pub(super) fn apply_env(
    table: &mut toml::Table,
    defaults: &toml::Table,
    env: &[(String, String)],
    problems: &mut Vec<String>,
) {
    // Longest section names first so that CACHE_SHARED_ wins over CACHE_.
    let sections: [(&str, &[&str]); 7] = [
        ("CACHE_SHARED_", &["cache", "shared"]),
        ("SERVER_", &["server"]),
        ("ORIGIN_", &["origin"]),
        ("CACHE_", &["cache"]),
        ("LIMITS_", &["limits"]),
        ("WATERMARK_", &["watermark"]),
        ("STYLES_", &["styles"]),
    ];
    for (name, value) in env {
        let Some(rest) = name.strip_prefix("PIXGATE_") else { continue };
        if ENV_NOT_KEYS.contains(&name.as_str()) || is_service_link(name, value) {
            continue;
        }
        let Some((prefix, path)) = sections.iter().find(|(p, _)| rest.starts_with(p)) else {
            problems.push(format!("{name}: not a configuration key"));
            continue;
        };
        let key = rest[prefix.len()..].to_ascii_lowercase();
        let mut default_section = defaults;
        for p in path.iter() {
            match default_section.get(*p) {
                Some(toml::Value::Table(t)) => default_section = t,
                _ => break,
            }
        }
        let Some(default_value) = default_section.get(&key) else {
            problems.push(format!("{name}: not a configuration key"));
            continue;
        };
        let parsed = match default_value {
            toml::Value::String(_) => toml::Value::String(value.clone()),
            toml::Value::Table(_) => {
                problems.push(format!("{name}: {key} is a section, not a key"));
                continue;
            }
            // A list: TOML (`["/a", "/b"]`) or comma-separated (`/a,/b`).
            toml::Value::Array(_) => match format!("v = {value}").parse::<toml::Table>() {
                Ok(mut t) if t.get("v").is_some_and(toml::Value::is_array) => {
                    t.remove("v").unwrap_or(toml::Value::Array(Vec::new()))
                }
                _ => toml::Value::Array(
                    value
                        .split(',')
                        .map(str::trim)
                        .filter(|v| !v.is_empty())
                        .map(|v| toml::Value::String(v.to_string()))
                        .collect(),
                ),
            },
            _ => match format!("v = {value}").parse::<toml::Table>() {
                Ok(mut t) => t.remove("v").unwrap_or(toml::Value::String(value.clone())),
                // A size such as 256MiB is a bare string; the shape check reports real mistakes.
                Err(_) => toml::Value::String(value.clone()),
            },
        };
        let mut target = &mut *table;
        for p in path.iter() {
            let entry = target.entry(p.to_string()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
            match entry {
                toml::Value::Table(t) => target = t,
                _ => {
                    problems.push(format!("{name}: [{}] is not a table in the file", path.join(".")));
                    return;
                }
            }
        }
        target.insert(key, parsed);
    }
}

fn type_name(v: &toml::Value) -> &'static str {
    match v {
        toml::Value::String(_) => "a string",
        toml::Value::Integer(_) => "an integer",
        toml::Value::Float(_) => "a number",
        toml::Value::Boolean(_) => "a boolean",
        toml::Value::Datetime(_) => "a date",
        toml::Value::Array(_) => "an array",
        toml::Value::Table(_) => "a table",
    }
}

/// Compare the file against the defaults: unknown keys and wrong types, all of them.
pub(super) fn check_shape(
    value: &toml::Value,
    default: &toml::Value,
    path: &str,
    problems: &mut Vec<String>,
) {
    let join = |k: &str| if path.is_empty() { k.to_string() } else { format!("{path}.{k}") };
    match (value, default) {
        (toml::Value::Table(t), toml::Value::Table(d)) => {
            for (k, v) in t {
                let here = join(k);
                match (path, k.as_str()) {
                    ("", "buckets") => match v {
                        toml::Value::Table(buckets) => {
                            let bucket_default = toml::Value::try_from(RawBucket::default())
                                .unwrap_or(toml::Value::Table(toml::Table::new()));
                            for (name, b) in buckets {
                                check_bucket(b, &bucket_default, &format!("buckets.{name}"), problems);
                            }
                        }
                        _ => problems.push(format!("{here}: expected a table, got {}", type_name(v))),
                    },
                    ("", "credentials") => match v {
                        toml::Value::Array(items) => {
                            for (i, item) in items.iter().enumerate() {
                                check_credential(item, &format!("credentials[{i}]"), problems);
                            }
                        }
                        _ => problems.push(format!(
                            "{here}: expected an array of tables ([[credentials]]), got {}",
                            type_name(v)
                        )),
                    },
                    _ => match d.get(k) {
                        None => problems.push(format!("{here}: unknown key")),
                        Some(dv) => check_shape(v, dv, &here, problems),
                    },
                }
            }
        }
        (toml::Value::Array(items), toml::Value::Array(_)) => {
            for (i, item) in items.iter().enumerate() {
                if !item.is_str() {
                    problems.push(format!("{path}[{i}]: expected a string, got {}", type_name(item)));
                }
            }
        }
        // Sizes may be an integer or a string.
        (
            toml::Value::Integer(_) | toml::Value::String(_),
            toml::Value::Integer(_) | toml::Value::String(_),
        ) if is_size_key(path) => {}
        (v, d) if std::mem::discriminant(v) == std::mem::discriminant(d) => {}
        (v, d) => problems.push(format!("{path}: expected {}, got {}", type_name(d), type_name(v))),
    }
}

fn is_size_key(path: &str) -> bool {
    matches!(
        path,
        "cache.result_max_bytes"
            | "cache.source_max_bytes"
            | "limits.max_source_bytes"
            | "server.max_memory"
            | "server.write_buffer"
    )
}

fn check_bucket(v: &toml::Value, default: &toml::Value, path: &str, problems: &mut Vec<String>) {
    let (toml::Value::Table(t), toml::Value::Table(d)) = (v, default) else {
        problems.push(format!("{path}: expected a table, got {}", type_name(v)));
        return;
    };
    for (k, item) in t {
        let here = format!("{path}.{k}");
        if k == "styles" {
            match item {
                toml::Value::Table(styles) => {
                    for (name, content) in styles {
                        if !content.is_str() {
                            problems.push(format!(
                                "{here}.{name}: expected a string, got {}",
                                type_name(content)
                            ));
                        }
                    }
                }
                _ => problems.push(format!("{here}: expected a table, got {}", type_name(item))),
            }
            continue;
        }
        // Absent by default (inherit `server.auto_format`), so not in the defaults table.
        let list = toml::Value::Array(Vec::new());
        let dv = if k == "auto_format" { Some(&list) } else { d.get(k) };
        match dv {
            None => problems.push(format!("{here}: unknown key")),
            Some(dv) => check_shape(item, dv, &here, problems),
        }
    }
}

fn check_credential(v: &toml::Value, path: &str, problems: &mut Vec<String>) {
    let toml::Value::Table(t) = v else {
        problems.push(format!("{path}: expected a table, got {}", type_name(v)));
        return;
    };
    for (k, item) in t {
        match k.as_str() {
            "access_key_id" | "access_key_secret" => {
                if !item.is_str() {
                    problems.push(format!("{path}.{k}: expected a string, got {}", type_name(item)));
                }
            }
            _ => problems.push(format!("{path}.{k}: unknown key")),
        }
    }
    for k in ["access_key_id", "access_key_secret"] {
        if !t.contains_key(k) {
            problems.push(format!("{path}.{k}: missing"));
        }
    }
}
