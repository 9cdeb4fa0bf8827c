//! The files in `deploy/` refer only to what Pixgate really has.

use std::path::Path;

pub const TESTS: &[(&str, fn())] = &[("deploy::prometheus_files_use_real_metrics", metrics_in_deploy_files)];

/// Every `pixgate_*` / `process_*` name in the alert rules and the dashboard is a family
/// Pixgate exports (histogram series suffixes stripped).
fn metrics_in_deploy_files() {
    let families = pixgate::metrics::Metrics::new().family_names().to_vec();
    let deploy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy");
    let mut checked = 0;
    for file in ["prometheus/alerts.yml", "grafana/pixgate.json"] {
        let text = std::fs::read_to_string(deploy.join(file)).expect("deploy file");
        for name in metric_names(&text) {
            let family = ["_bucket", "_count", "_sum"]
                .iter()
                .find_map(|s| name.strip_suffix(s).filter(|f| families.iter().any(|x| x == f)))
                .unwrap_or(&name);
            assert!(
                families.iter().any(|f| f == family),
                "{file}: {name} is not a Pixgate metric ({families:?})"
            );
            checked += 1;
        }
    }
    assert!(checked >= 15, "only {checked} metric references found");
}

fn metric_names(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let rest = &text[i..];
        let starts_word = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
        if starts_word && (rest.starts_with("pixgate_") || rest.starts_with("process_")) {
            let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
            out.push(rest[..end].to_string());
            i += end;
        } else {
            i += 1;
        }
    }
    out
}
