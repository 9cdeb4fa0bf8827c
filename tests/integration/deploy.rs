//! The files in `deploy/` against what Pixgate really does: the Kubernetes pod's environment
//! (service links included) starts it; every metric the alert rules and the dashboard name is on
//! a running Pixgate's `/metrics`; the container's health check and the systemd unit's exit-code
//! rule work against the binary; the manifests fit together with and without the monitoring
//! component.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use pixgate_tests::{Pixgate, S3_ACCESS_KEY, S3_SECRET_KEY, S3Server, raw_get, raw_request};
use serde_yaml::Value;

pub const TESTS: &[(&str, fn())] = &[
    ("deploy::prometheus_files_use_real_metrics", metrics_in_deploy_files),
    ("deploy::alert_rules_and_dashboard_are_well_formed", alert_rules_and_dashboard),
    ("deploy::kubernetes_manifests_match_pixgate", kubernetes),
    ("deploy::kubernetes_pod_environment_starts_pixgate", kubernetes_pod_environment),
    ("deploy::docker_systemd_and_nginx_recipes_match_pixgate", docker_systemd_nginx),
];

/// The admin token the tests put in place of the Secret's.
const ADMIN_TOKEN: &str = "pixgate-test-admin-token";

/// What Kubernetes injects into every pod of the namespace for a Service named `pixgate`
/// (cluster IP 10.0.0.1, port 80 named `http`) unless `enableServiceLinks` is false.
const PIXGATE_SERVICE_LINKS: &[(&str, &str)] = &[
    ("PIXGATE_SERVICE_HOST", "10.0.0.1"),
    ("PIXGATE_SERVICE_PORT", "80"),
    ("PIXGATE_SERVICE_PORT_HTTP", "80"),
    ("PIXGATE_PORT", "tcp://10.0.0.1:80"),
    ("PIXGATE_PORT_80_TCP", "tcp://10.0.0.1:80"),
    ("PIXGATE_PORT_80_TCP_PROTO", "tcp"),
    ("PIXGATE_PORT_80_TCP_PORT", "80"),
    ("PIXGATE_PORT_80_TCP_ADDR", "10.0.0.1"),
];

fn repo_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn deploy_dir() -> PathBuf {
    repo_dir().join("deploy")
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(deploy_dir().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn yaml_docs(rel: &str) -> Vec<Value> {
    use serde::Deserialize;
    let text = read(rel);
    serde_yaml::Deserializer::from_str(&text)
        .map(|d| Value::deserialize(d).unwrap_or_else(|e| panic!("{rel}: {e}")))
        .collect()
}

fn yaml(rel: &str) -> Value {
    yaml_docs(rel).into_iter().next().unwrap_or_else(|| panic!("{rel} is empty"))
}

fn strings(list: &Value) -> Vec<String> {
    list.as_sequence().expect("a list").iter().map(|v| v.as_str().expect("a string").to_string()).collect()
}

fn find_kind<'a>(docs: &'a [Value], kind: &str) -> &'a Value {
    docs.iter().find(|d| d["kind"] == kind).unwrap_or_else(|| panic!("no {kind}"))
}

/// Does a label selector (a map) select an object with these labels?
fn selects(selector: &Value, labels: &Value) -> bool {
    selector
        .as_mapping()
        .is_some_and(|m| !m.is_empty() && m.iter().all(|(k, v)| k.as_str().is_some_and(|k| &labels[k] == v)))
}

fn as_refs(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// A program on PATH (or in an sbin folder), if installed.
fn find_tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// Load a configuration file the way `pixgate --config` does, with this environment.
fn load_config(rel: &str, env: &[(&str, &str)]) -> pixgate::config::Config {
    let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let cli = pixgate::config::CliOverrides::default();
    pixgate::config::load(Some(&deploy_dir().join(rel)), &env, &cli).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// A folder origin with `rocket.jpg` in each of `buckets`, and the empty folders `empty`.
fn photo_root(buckets: &[&str], empty: &[&str]) -> tempfile::TempDir {
    let root = tempfile::tempdir().expect("tempdir");
    let sample = repo_dir().join("samples/photos/rocket.jpg");
    for b in buckets {
        std::fs::create_dir_all(root.path().join(b)).expect("mkdir");
        std::fs::copy(&sample, root.path().join(b).join("rocket.jpg")).expect("copy");
    }
    for d in empty {
        std::fs::create_dir_all(root.path().join(d)).expect("mkdir");
    }
    root
}

/// The admin paths a manifest may probe: each answers 200 on a running Pixgate.
fn probe_paths_answer(paths: &[String]) {
    let root = tempfile::tempdir().unwrap();
    let p = Pixgate::start(&format!("[origin]\nkind = \"fs\"\nroot = \"{}\"\n", root.path().display()));
    let admin = p.admin.trim_start_matches("http://").to_string();
    for path in paths {
        let (status, _) = raw_get(&admin, path).unwrap();
        assert_eq!(status, 200, "{path} on the admin listener");
    }
}

// --- Metrics, alert rules, dashboard ------------------------------------------------------

/// Every `pixgate_*` / `process_*` series the alert rules (both forms) and the dashboard name is
/// on the `/metrics` of a running Pixgate, read over HTTP after traffic that exercises every
/// family (Prometheus leaves a family out until it has a sample). `up` is Prometheus's own.
fn metrics_in_deploy_files() {
    let files =
        ["prometheus/alerts.yml", "k8s/components/monitoring/prometheusrule.yaml", "grafana/pixgate.json"];
    let referenced: BTreeSet<String> = files.iter().flat_map(|f| metric_names(&read(f))).collect();
    assert!(referenced.len() >= 15, "only {} metrics named in {files:?}: {referenced:?}", referenced.len());

    let root = photo_root(&["photos", "private"], &["render-cache"]);
    let p = Pixgate::start(&format!(
        "[origin]\nkind = \"fs\"\nroot = \"{}\"\n[cache.shared]\nbucket = \"render-cache\"\n\
         [[credentials]]\naccess_key_id = \"AKIDDEPLOY\"\naccess_key_secret = \"deploy-secret\"\n\
         [buckets.photos]\n[buckets.private]\nacl = \"private\"\n",
        root.path().display()
    ));
    let addr = p.addr.to_string();
    for (path, want) in [
        // A render: queue, decode, transform, encode; origin and caches; a shared-level write.
        ("/photos/rocket.jpg?x-oss-process=image/resize,w_64", 200),
        // The same again: a result-cache hit.
        ("/photos/rocket.jpg?x-oss-process=image/resize,w_64", 200),
        ("/photos/rocket.jpg", 200),
        // Anonymous on a private bucket: refused (pixgate_rejected_total, reason auth).
        ("/private/rocket.jpg", 403),
    ] {
        let (status, _) = raw_get(&addr, path).unwrap();
        assert_eq!(status, want, "{path}\n{}", p.logs());
    }
    // Request metrics and the shared write are recorded just after the responses: poll.
    let start = Instant::now();
    loop {
        let text = p.metrics();
        let exposed = exposed_series(&text);
        let missing: Vec<&String> = referenced.iter().filter(|n| !exposed.contains(n.as_str())).collect();
        if missing.is_empty() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "named in deploy/ but not on a running Pixgate's /metrics: {missing:?}\n{text}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The series names a Prometheus text exposition offers, from its `# TYPE` lines: a histogram
/// as `_bucket`, `_sum` and `_count`, a summary as itself, `_sum` and `_count`, any other family
/// by its name.
fn exposed_series(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("# TYPE ") else { continue };
        let mut words = rest.split_whitespace();
        let (Some(name), Some(kind)) = (words.next(), words.next()) else { continue };
        let suffixes: &[&str] = match kind {
            "histogram" => &["_bucket", "_sum", "_count"],
            "summary" => &["", "_sum", "_count"],
            _ => &[""],
        };
        for s in suffixes {
            out.insert(format!("{name}{s}"));
        }
    }
    out
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

/// The label values an expression selects with `label="value"`.
fn selected_values(expr: &str, label: &str) -> Vec<String> {
    let open = format!("{label}=\"");
    expr.match_indices(&open)
        .filter(|(at, _)| *at == 0 || !expr.as_bytes()[at - 1].is_ascii_alphanumeric())
        .filter_map(|(at, _)| expr[at + open.len()..].split_once('"').map(|(v, _)| v.to_string()))
        .collect()
}

/// The alert rules: severities, annotations, a runbook section each, one job, the same rules
/// in the PrometheusRule; `promtool` checks and unit-tests them where it is installed. The
/// dashboard: a `job` variable in every query, and `$__rate_interval` as every range.
fn alert_rules_and_dashboard() {
    let alerts = yaml("prometheus/alerts.yml");
    let runbook = read("RUNBOOK.md");
    let scrape = yaml("prometheus/prometheus.yml");
    let job = scrape["scrape_configs"][0]["job_name"].as_str().expect("job_name").to_string();
    let mut anchors = BTreeSet::new();
    let mut severities = BTreeSet::new();
    let mut exprs = Vec::new();
    for group in alerts["groups"].as_sequence().expect("groups") {
        for rule in group["rules"].as_sequence().expect("rules") {
            let name = rule["alert"].as_str().expect("every rule is an alert");
            let expr = rule["expr"].as_str().expect("expr").trim().to_string();
            let severity = rule["labels"]["severity"].as_str().unwrap_or_default();
            assert!(["critical", "warning"].contains(&severity), "{name}: severity {severity:?}");
            severities.insert(severity.to_string());
            for key in ["summary", "description", "runbook_url"] {
                let value = rule["annotations"][key].as_str().unwrap_or_default();
                assert!(!value.trim().is_empty(), "{name}: no {key} annotation");
            }
            // The runbook link points at this alert's section of deploy/RUNBOOK.md.
            let url = rule["annotations"]["runbook_url"].as_str().unwrap_or_default();
            let (page, anchor) = url.split_once('#').unwrap_or_else(|| panic!("{name}: {url} has no anchor"));
            assert!(page.ends_with("deploy/RUNBOOK.md"), "{name}: {url}");
            assert_eq!(anchor, name.to_lowercase(), "{name}: {url}");
            assert!(
                runbook.contains(&format!("<a id=\"{anchor}\"></a>\n## {name}\n")),
                "deploy/RUNBOOK.md has no section {name} (anchor {anchor})"
            );
            anchors.insert(anchor.to_string());
            // Every rule looks at the job Prometheus scrapes Pixgate as, and only at it.
            let jobs = selected_values(&expr, "job");
            assert!(
                !jobs.is_empty() && jobs.iter().all(|j| *j == job),
                "{name}: selects job {jobs:?}, not {job}"
            );
            exprs.push(expr);
        }
    }
    assert_eq!(severities, BTreeSet::from(["critical".to_string(), "warning".to_string()]));
    assert!(exprs.contains(&format!("up{{job=\"{job}\"}} == 0")), "no alert on up{{job=\"{job}\"}} == 0");
    // No stale runbook sections.
    for (at, _) in runbook.match_indices("<a id=\"") {
        let id = runbook[at + 7..].split('"').next().unwrap_or_default();
        assert!(anchors.contains(id), "deploy/RUNBOOK.md: section {id} has no alert");
    }

    // The PrometheusRule carries the same rules.
    let rule = yaml("k8s/components/monitoring/prometheusrule.yaml");
    assert_eq!(rule["kind"], "PrometheusRule");
    assert!(
        rule["spec"]["groups"] == alerts["groups"],
        "k8s/components/monitoring/prometheusrule.yaml differs from prometheus/alerts.yml"
    );

    if let Some(promtool) = find_tool("promtool") {
        for args in [["check", "rules", "alerts.yml"], ["test", "rules", "alerts.test.yml"]] {
            let out = Command::new(&promtool)
                .args(args)
                .current_dir(deploy_dir().join("prometheus"))
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "promtool {args:?}:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }

    // The dashboard.
    let dashboard: serde_json::Value =
        serde_json::from_str(&read("grafana/pixgate.json")).expect("dashboard JSON");
    let variables = dashboard["templating"]["list"].as_array().expect("templating variables");
    let job_variable = variables.iter().find(|v| v["name"] == "job").expect("a `job` template variable");
    assert_eq!(job_variable["type"], "query");
    assert!(job_variable["definition"].as_str().is_some_and(|d| d.contains("job")), "{job_variable}");
    let mut queries = 0;
    for panel in dashboard["panels"].as_array().expect("panels") {
        let title = panel["title"].as_str().unwrap_or_default();
        assert_eq!(panel["datasource"]["uid"], "${datasource}", "panel {title}");
        for target in panel["targets"].as_array().expect("targets") {
            let expr = target["expr"].as_str().expect("expr");
            // Each metric in the query is filtered by the job variable.
            let filtered = expr.matches("{job=~\"$job\"").count();
            assert_eq!(filtered, metric_names(expr).len(), "panel {title}: {expr}");
            for window in expr.split('[').skip(1).filter_map(|s| s.split_once(']').map(|(w, _)| w)) {
                assert_eq!(window, "$__rate_interval", "panel {title}: {expr}");
            }
            queries += 1;
        }
    }
    assert!(queries >= 10, "only {queries} queries in the dashboard");
}

// --- Kubernetes --------------------------------------------------------------------------

/// The value the tests give a Secret's key.
fn secret_value(key: &str) -> &'static str {
    match key {
        "access_key_id" => S3_ACCESS_KEY,
        "secret_access_key" => S3_SECRET_KEY,
        "admin_token" => ADMIN_TOKEN,
        "credentials" => "AKIDTEST:test-signing-secret",
        _ => "dummy",
    }
}

/// The environment the Deployment gives its container: literal values as written, values from
/// a Secret (or any other source) replaced by test values.
fn pod_env(container: &Value) -> Vec<(String, String)> {
    let Some(entries) = container["env"].as_sequence() else { return Vec::new() };
    entries
        .iter()
        .map(|e| {
            let name = e["name"].as_str().expect("env name").to_string();
            let value = match (e.get("value"), e["valueFrom"]["secretKeyRef"]["key"].as_str()) {
                (Some(Value::String(s)), _) => s.clone(),
                (Some(Value::Number(n)), _) => n.to_string(),
                (Some(Value::Bool(b)), _) => b.to_string(),
                (Some(other), _) => panic!("{name}: value {other:?}"),
                (None, Some(key)) => secret_value(key).to_string(),
                (None, None) => "dummy".to_string(),
            };
            (name, value)
        })
        .collect()
}

/// The variables Kubernetes injects for a Service when service links are on:
/// `<NAME>_SERVICE_HOST`, `<NAME>_SERVICE_PORT[_<PORT NAME>]`, `<NAME>_PORT` and
/// `<NAME>_PORT_<port>_<PROTO>[_PROTO|_PORT|_ADDR]`. Headless Services get none.
fn service_links(service: &Value, ip: &str) -> Vec<(String, String)> {
    if service["spec"]["clusterIP"] == "None" {
        return Vec::new();
    }
    let name = service["metadata"]["name"].as_str().expect("name").to_uppercase().replace('-', "_");
    let mut out = vec![(format!("{name}_SERVICE_HOST"), ip.to_string())];
    for (i, p) in service["spec"]["ports"].as_sequence().expect("ports").iter().enumerate() {
        let port = p["port"].as_u64().expect("port");
        let proto = p["protocol"].as_str().unwrap_or("TCP");
        let url = format!("{}://{ip}:{port}", proto.to_lowercase());
        if i == 0 {
            out.push((format!("{name}_SERVICE_PORT"), port.to_string()));
            out.push((format!("{name}_PORT"), url.clone()));
        }
        if let Some(port_name) = p["name"].as_str() {
            let port_name = port_name.to_uppercase().replace('-', "_");
            out.push((format!("{name}_SERVICE_PORT_{port_name}"), port.to_string()));
        }
        let base = format!("{name}_PORT_{port}_{proto}");
        out.push((format!("{base}_PROTO"), proto.to_lowercase()));
        out.push((format!("{base}_PORT"), port.to_string()));
        out.push((format!("{base}_ADDR"), ip.to_string()));
        out.push((base, url));
    }
    out
}

/// Every Service of the base and of the monitoring component.
fn all_services() -> Vec<Value> {
    let base = strings(&yaml("k8s/kustomization.yaml")["resources"]);
    let component = strings(&yaml("k8s/components/monitoring/kustomization.yaml")["resources"]);
    base.iter()
        .flat_map(|r| yaml_docs(&format!("k8s/{r}")))
        .chain(component.iter().flat_map(|r| yaml_docs(&format!("k8s/components/monitoring/{r}"))))
        .filter(|d| d["kind"] == "Service")
        .collect()
}

/// The pod's environment as a cluster would give it if service links were on: the Deployment's
/// variables and the links of every Service these manifests create.
fn pod_env_with_service_links(container: &Value) -> Vec<(String, String)> {
    let mut env = pod_env(container);
    for (i, service) in all_services().iter().enumerate() {
        env.extend(service_links(service, &format!("10.0.0.{}", i + 1)));
    }
    env.extend(PIXGATE_SERVICE_LINKS.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    env
}

fn kubernetes() {
    let kustomization = yaml("k8s/kustomization.yaml");
    let resources = strings(&kustomization["resources"]);
    for r in ["deployment.yaml", "service.yaml", "networkpolicy.yaml", "hpa.yaml", "pdb.yaml"] {
        assert!(resources.iter().any(|x| x == r), "kustomization lacks {r}");
    }
    // `kubectl apply -k deploy/k8s` needs no Prometheus Operator: its kinds are in the component.
    for r in &resources {
        let docs = yaml_docs(&format!("k8s/{r}"));
        assert!(!docs.is_empty(), "{r}");
        for doc in docs {
            let api = doc["apiVersion"].as_str().unwrap_or_default();
            assert!(!api.starts_with("monitoring.coreos.com"), "{r}: {api} belongs in components/monitoring");
        }
    }
    let component = yaml("k8s/components/monitoring/kustomization.yaml");
    assert_eq!(component["kind"], "Component");
    let component_docs: Vec<Value> = strings(&component["resources"])
        .iter()
        .flat_map(|r| yaml_docs(&format!("k8s/components/monitoring/{r}")))
        .collect();

    // The Deployment.
    let deployment = yaml("k8s/deployment.yaml");
    let pod_labels = &deployment["spec"]["template"]["metadata"]["labels"];
    let pod = &deployment["spec"]["template"]["spec"];
    assert_eq!(pod["enableServiceLinks"].as_bool(), Some(false), "enableServiceLinks: false");
    let container = &pod["containers"][0];
    // The image is named without a tag; kustomization.yaml's `images:` gives one.
    let image = container["image"].as_str().expect("image");
    assert!(
        !image.contains(':') && !image.contains('@'),
        "image {image}: the tag belongs in kustomization.yaml"
    );
    let images = kustomization["images"].as_sequence().expect("images: in kustomization.yaml");
    let entry =
        images.iter().find(|i| i["name"] == image).expect("an images: entry for the Deployment's image");
    let tag = entry["newTag"].as_str().unwrap_or_default();
    assert!(!tag.is_empty() && tag != "latest", "newTag {tag:?}");

    // Every Secret key the Deployment reads is in the example Secret; the admin token is one.
    let secret = yaml("k8s/secret.example.yaml");
    assert_eq!(secret["kind"], "Secret");
    let env_entries = container["env"].as_sequence().expect("env");
    for e in env_entries {
        let reference = &e["valueFrom"]["secretKeyRef"];
        if reference.is_null() {
            continue;
        }
        assert_eq!(reference["name"], secret["metadata"]["name"], "{:?}", e["name"]);
        let key = reference["key"].as_str().expect("key");
        assert!(secret["stringData"][key].is_string(), "secret.example.yaml lacks {key}");
    }
    let token = env_entries.iter().find(|e| e["name"] == "PIXGATE_SERVER_ADMIN_TOKEN").expect("admin token");
    assert!(token["valueFrom"]["secretKeyRef"]["key"].is_string(), "the admin token comes from the Secret");

    // The configuration it ships, with the pod's environment (service links included).
    let config_file = kustomization["configMapGenerator"][0]["files"][0].as_str().unwrap();
    let env = pod_env_with_service_links(container);
    let config = load_config(&format!("k8s/{config_file}"), &as_refs(&env));
    assert!(config.shared.is_some());
    assert_eq!(config.admin_token.as_deref(), Some(ADMIN_TOKEN));

    // Ports: the container's named ports are the configuration's listen ports.
    let port = |name: &str| {
        container["ports"].as_sequence().unwrap().iter().find(|p| p["name"] == name).unwrap()["containerPort"]
            .as_u64()
            .unwrap() as u16
    };
    assert_eq!(port("http"), config.listen.port());
    assert_eq!(port("admin"), config.admin_listen.port());
    assert!(config.listen.ip().is_unspecified(), "a pod must listen on every interface");
    // The config is mounted where --config points.
    let args: Vec<&str> =
        container["args"].as_sequence().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
    let mount =
        container["volumeMounts"].as_sequence().unwrap().iter().find(|m| m["name"] == "config").unwrap();
    assert_eq!(args, ["--config", &format!("{}/{config_file}", mount["mountPath"].as_str().unwrap())]);
    // Probes on the admin port, at paths the admin listener serves.
    let mut paths = Vec::new();
    for probe in ["readinessProbe", "livenessProbe"] {
        assert_eq!(container[probe]["httpGet"]["port"], "admin", "{probe}");
        paths.push(container[probe]["httpGet"]["path"].as_str().unwrap().to_string());
    }
    assert_eq!(paths, ["/readyz", "/healthz"]);
    // Graceful termination outlasts a request and the drain.
    let grace = pod["terminationGracePeriodSeconds"].as_u64().unwrap();
    assert!(grace > config.request_timeout.as_secs() && grace > config.shutdown_timeout.as_secs());

    // The public Service: the image port only.
    let service = yaml("k8s/service.yaml");
    assert!(selects(&service["spec"]["selector"], pod_labels));
    for p in service["spec"]["ports"].as_sequence().unwrap() {
        assert_eq!(p["targetPort"], "http", "the public Service exposes only the image listener");
    }
    // The component's admin Service: headless, for the ServiceMonitor.
    let admin_service = find_kind(&component_docs, "Service");
    assert_eq!(admin_service["spec"]["clusterIP"], "None", "the admin Service is headless");
    assert!(admin_service["spec"]["type"].is_null(), "the admin Service is not published");
    assert!(selects(&admin_service["spec"]["selector"], pod_labels));
    let admin_port = &admin_service["spec"]["ports"][0];
    assert_eq!(admin_port["targetPort"], "admin");
    let monitor = find_kind(&component_docs, "ServiceMonitor");
    let monitor_selector = &monitor["spec"]["selector"]["matchLabels"];
    assert!(selects(monitor_selector, &admin_service["metadata"]["labels"]));
    assert!(
        !selects(monitor_selector, &service["metadata"]["labels"]),
        "the ServiceMonitor selects the public Service"
    );
    let endpoint = &monitor["spec"]["endpoints"][0];
    assert_eq!(endpoint["port"], admin_port["name"]);
    paths.push(endpoint["path"].as_str().unwrap().to_string());
    // The targets' job label is the job the alert rules select.
    let job_label = monitor["spec"]["jobLabel"].as_str().expect("jobLabel");
    let job =
        admin_service["metadata"]["labels"][job_label].as_str().expect("the jobLabel is on the Service");
    assert!(
        read("prometheus/alerts.yml").contains(&format!("up{{job=\"{job}\"}}")),
        "alerts select job {job}"
    );
    find_kind(&component_docs, "PrometheusRule");

    // NetworkPolicy: the image port open to all, the admin port only to named peers.
    let policy = yaml("k8s/networkpolicy.yaml");
    assert!(selects(&policy["spec"]["podSelector"]["matchLabels"], pod_labels));
    let (mut admin_allowed, mut http_open) = (false, false);
    for rule in policy["spec"]["ingress"].as_sequence().expect("ingress rules") {
        let ports: Vec<String> = rule["ports"]
            .as_sequence()
            .map(|ps| {
                ps.iter()
                    .map(|p| match (&p["port"], p["port"].as_u64()) {
                        (Value::String(name), _) => name.clone(),
                        (_, Some(number)) => number.to_string(),
                        (other, None) => panic!("NetworkPolicy port {other:?}"),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let anyone = rule["from"].as_sequence().is_none_or(|f| f.is_empty());
        // A rule without ports covers every port.
        let covers = |name: &str| {
            let number = port(name).to_string();
            ports.is_empty() || ports.iter().any(|p| p == name || *p == number)
        };
        if covers("admin") {
            assert!(!anyone, "the NetworkPolicy lets anyone reach the admin port");
            admin_allowed = true;
        }
        http_open |= covers("http") && anyone;
    }
    assert!(
        admin_allowed && http_open,
        "NetworkPolicy: admin for Prometheus {admin_allowed}, http for all {http_open}"
    );

    assert_eq!(yaml("k8s/hpa.yaml")["spec"]["scaleTargetRef"]["name"], deployment["metadata"]["name"]);
    assert!(selects(&yaml("k8s/pdb.yaml")["spec"]["selector"]["matchLabels"], pod_labels));

    // kustomize builds the base, and an overlay with the component, wherever it is installed
    // (kubectl embeds it; components need kustomize 4 or newer, kubectl 1.21 or newer).
    let recent_kubectl = |kubectl: &PathBuf| {
        let out = Command::new(kubectl).args(["version", "--client"]).output();
        out.is_ok_and(|o| {
            let version = String::from_utf8_lossy(&o.stdout).into_owned();
            version.contains("Kustomize Version: v")
                && !version.contains("Kustomize Version: v2.")
                && !version.contains("Kustomize Version: v3.")
        })
    };
    let kustomize = find_tool("kustomize")
        .map(|t| (t, "build"))
        .or_else(|| find_tool("kubectl").filter(recent_kubectl).map(|t| (t, "kustomize")));
    if let Some((tool, verb)) = kustomize {
        let build = |dir: &Path| {
            let out = Command::new(&tool).arg(verb).arg(dir).output().unwrap();
            assert!(
                out.status.success(),
                "{verb} {}: {}",
                dir.display(),
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8(out.stdout).unwrap()
        };
        let base_dir = std::fs::canonicalize(deploy_dir().join("k8s")).unwrap();
        let base = build(&base_dir);
        assert!(!base.contains("monitoring.coreos.com") && base.contains("kind: NetworkPolicy"), "{base}");
        let overlay = tempfile::tempdir().unwrap();
        let overlay_dir = std::fs::canonicalize(overlay.path()).unwrap();
        // kustomize takes relative paths only.
        let up = "../".repeat(overlay_dir.components().count() - 1);
        let base_rel = format!("{up}{}", base_dir.display().to_string().trim_start_matches('/'));
        std::fs::write(
            overlay_dir.join("kustomization.yaml"),
            format!(
                "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - {base_rel}\n\
                 components:\n  - {base_rel}/components/monitoring\n"
            ),
        )
        .unwrap();
        let full = build(&overlay_dir);
        for kind in
            ["kind: ServiceMonitor", "kind: PrometheusRule", "name: pixgate-admin", "kind: Deployment"]
        {
            assert!(full.contains(kind), "the overlay with components/monitoring lacks {kind}");
        }
    }

    probe_paths_answer(&paths);
}

/// The binary started as the Deployment starts it: the ConfigMap's file, the container's
/// environment (Secret values replaced by test values) and the service-link variables a
/// cluster injects for the Services these manifests create. It must become ready (not exit 2),
/// reach the object store with the Secret's keys, and guard `POST /purge` with the Secret's
/// admin token.
fn kubernetes_pod_environment() {
    let deployment = yaml("k8s/deployment.yaml");
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    let mut env = pod_env_with_service_links(container);
    let config_rel = "k8s/pixgate.toml";
    let config = load_config(config_rel, &as_refs(&env));
    let shared = config.shared.as_ref().expect("the ConfigMap configures [cache.shared]");
    // The cluster's object store: the in-process S3 server, with the shared level's bucket.
    let root = photo_root(&["photos"], &[shared.bucket.as_str()]);
    let s3 = S3Server::start(root.path());
    env.push(("PIXGATE_ORIGIN_ENDPOINT".to_string(), s3.endpoint.clone()));
    let p = Pixgate::start_with_env(&read(config_rel), &as_refs(&env));

    let admin = p.admin.trim_start_matches("http://").to_string();
    for path in ["/readyz", "/healthz", "/metrics"] {
        assert_eq!(raw_get(&admin, path).unwrap().0, 200, "{path}\n{}", p.logs());
    }
    // The origin keys from the Secret reach the object store.
    let (status, _) =
        raw_get(&p.addr.to_string(), "/photos/rocket.jpg?x-oss-process=image/resize,w_64").unwrap();
    assert_eq!(status, 200, "{}", p.logs());
    // POST /purge needs the Secret's admin token; reads stay open (checked above).
    let purge = |authorization: &str| {
        let request = format!(
            "POST /purge?bucket=photos&key=rocket.jpg HTTP/1.1\r\nHost: {admin}\r\nContent-Length: 0\r\n\
             Connection: close\r\n{authorization}\r\n"
        );
        raw_request(&admin, &request).unwrap().0
    };
    assert_eq!(purge(""), 401);
    assert_eq!(purge("Authorization: Bearer not-the-token\r\n"), 401);
    assert_eq!(purge(&format!("Authorization: Bearer {ADMIN_TOKEN}\r\n")), 200, "{}", p.logs());
}

// --- Docker, systemd, nginx --------------------------------------------------------------

/// The values of `key=` lines in a systemd unit.
fn unit_values<'a>(unit: &'a str, key: &str) -> Vec<&'a str> {
    unit.lines().filter_map(|l| l.strip_prefix(key).and_then(|rest| rest.strip_prefix('='))).collect()
}

/// `members = [...]` of the workspace manifest.
fn workspace_members() -> Vec<String> {
    let manifest = std::fs::read_to_string(repo_dir().join("Cargo.toml")).expect("Cargo.toml");
    let line = manifest.lines().find(|l| l.trim_start().starts_with("members")).expect("workspace members");
    let list = line.split_once('[').and_then(|(_, r)| r.split_once(']')).expect("members = [...]").0;
    list.split(',').map(|m| m.trim().trim_matches('"').to_string()).filter(|m| !m.is_empty()).collect()
}

fn docker_systemd_nginx() {
    // Docker: one instruction per line (continuations joined), comments left out.
    let dockerfile = read("docker/Dockerfile");
    let joined = dockerfile.replace("\\\n", " ");
    let instructions: Vec<&str> =
        joined.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect();

    // Base images pinned by digest (directly or through a global ARG).
    let args: Vec<(&str, &str)> = instructions
        .iter()
        .filter_map(|l| l.strip_prefix("ARG "))
        .filter_map(|a| a.split_once('='))
        .collect();
    let froms: Vec<&str> = instructions.iter().filter_map(|l| l.strip_prefix("FROM ")).collect();
    assert!(froms.len() >= 2, "a build stage and a runtime stage");
    for from in &froms {
        let image = from.split_whitespace().next().unwrap();
        let image = match image.strip_prefix("${").and_then(|v| v.strip_suffix('}')) {
            Some(var) => args.iter().find(|(k, _)| *k == var).unwrap_or_else(|| panic!("ARG {var}")).1,
            None => image,
        };
        let digest =
            image.split_once("@sha256:").unwrap_or_else(|| panic!("FROM {image}: not pinned by digest")).1;
        assert!(digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit()), "FROM {image}");
    }

    // Dependencies are built before the sources arrive: every member's manifest is copied (and
    // given a placeholder source) ahead of the first `cargo build`, the sources after it.
    let position = |pred: &dyn Fn(&str) -> bool, what: &str| {
        instructions.iter().position(|l| pred(l)).unwrap_or_else(|| panic!("the Dockerfile lacks {what}"))
    };
    let first_build = position(&|l: &str| l.contains("cargo build"), "cargo build");
    let sources = position(&|l: &str| l == "COPY . .", "COPY . .");
    assert!(first_build < sources, "the dependency layer is built before `COPY . .`");
    assert!(position(&|l: &str| l == "COPY Cargo.toml Cargo.lock ./", "the lock file") < first_build);
    for member in workspace_members() {
        let manifest = format!("COPY {member}/Cargo.toml {member}/");
        assert!(position(&|l: &str| l == manifest, &manifest) < first_build, "{manifest}");
        assert!(
            instructions[first_build].contains(&format!("{member}/src/")),
            "no placeholder source for {member}"
        );
    }

    // The baked-in configuration is valid, its ports are exposed, and the demo folder it serves
    // is copied in.
    let text = read("docker/pixgate.toml");
    let tmp = tempfile::tempdir().unwrap();
    let image_root = instructions
        .iter()
        .find_map(|l| l.strip_prefix("COPY samples "))
        .expect("the Dockerfile copies the demo photos")
        .trim();
    assert!(text.contains(&format!("root = \"{image_root}\"")), "the image's config serves {image_root}");
    let local_text = text.replace(image_root, tmp.path().to_str().unwrap());
    let local = tmp.path().join("pixgate.toml");
    std::fs::write(&local, &local_text).unwrap();
    let cli = pixgate::config::CliOverrides::default();
    let config = pixgate::config::load(Some(&local), &[], &cli).expect("docker/pixgate.toml");
    let expose = instructions.iter().find_map(|l| l.strip_prefix("EXPOSE ")).expect("EXPOSE");
    for port in [config.listen.port(), config.admin_listen.port()] {
        assert!(expose.split_whitespace().any(|p| p == port.to_string()), "EXPOSE {expose} lacks {port}");
    }
    assert!(instructions.contains(&"USER 10001:10001"), "runs as a non-root user");
    assert!(dockerfile.contains("--features heic,avif"), "the image has HEIC and AVIF");
    for package in ["libheif1", "fonts-wqy-zenhei", "fonts-wqy-microhei", "fonts-droid-fallback"] {
        assert!(dockerfile.contains(package), "the runtime image installs {package}");
    }
    for notice in ["LICENSE", "THIRD-PARTY-NOTICES.md"] {
        assert!(repo_dir().join(notice).is_file(), "{notice}");
        assert!(dockerfile.contains(notice), "the image ships {notice}");
    }
    assert!(repo_dir().join(".dockerignore").is_file());

    // The health check: exec form, no curl, the admin port; it passes against a Pixgate running
    // the image's configuration and fails with nothing listening.
    let healthcheck = instructions.iter().find_map(|l| l.strip_prefix("HEALTHCHECK ")).expect("HEALTHCHECK");
    let command = &healthcheck[healthcheck.find("CMD ").expect("HEALTHCHECK CMD") + 4..];
    let argv: Vec<String> = serde_json::from_str(command).expect("HEALTHCHECK CMD in exec (JSON) form");
    assert!(!argv.iter().any(|a| a.contains("curl")), "the image has no curl");
    let target = format!("/dev/tcp/127.0.0.1/{}", config.admin_listen.port());
    assert!(
        argv.iter().any(|a| a.contains(&target)),
        "the health check connects to the admin port: {argv:?}"
    );
    if find_tool(&argv[0]).is_some() {
        let check = |admin_port: u16| {
            let argv: Vec<String> = argv
                .iter()
                .map(|a| a.replace(&target, &format!("/dev/tcp/127.0.0.1/{admin_port}")))
                .collect();
            Command::new(&argv[0]).args(&argv[1..]).output().expect("run the health check").status.success()
        };
        let p = Pixgate::start(&local_text);
        let admin_port: u16 = p.admin.rsplit(':').next().unwrap().parse().unwrap();
        assert!(check(admin_port), "the HEALTHCHECK command fails against a ready Pixgate\n{}", p.logs());
        drop(p);
        assert!(!check(admin_port), "the HEALTHCHECK command passes with nothing listening");
    }

    // systemd: the command line is Pixgate's; a configuration error (the binary's exit code
    // for it) is not restarted; folder paths are optional.
    let unit = read("systemd/pixgate.service");
    let values = |key: &str| unit_values(&unit, key);
    let exec = values("ExecStart");
    assert_eq!(exec.len(), 1, "ExecStart");
    let exec_args: Vec<&str> = exec[0].split_whitespace().skip(1).collect();
    assert_eq!(exec_args[0], "--config");
    assert_eq!(values("NoNewPrivileges"), ["yes"]);
    assert_eq!(values("ProtectSystem"), ["strict"]);
    let bad = tmp.path().join("bad.toml");
    std::fs::write(&bad, "[server]\nqueue = \"many\"\n").unwrap();
    let exited = pixgate_tests::run_to_exit(&["--config", bad.to_str().unwrap()]);
    assert_eq!(exited.code, Some(pixgate::cli::EXIT_CONFIG), "{}", exited.stderr);
    let code = pixgate::cli::EXIT_CONFIG.to_string();
    assert!(
        values("RestartPreventExitStatus").iter().flat_map(|v| v.split_whitespace()).any(|c| c == code),
        "RestartPreventExitStatus lacks {code}, Pixgate's exit code for an invalid configuration"
    );
    for key in ["ReadOnlyPaths", "ReadWritePaths"] {
        for path in values(key).iter().flat_map(|v| v.split_whitespace()) {
            assert!(path.starts_with('-'), "{key}={path}: a missing folder would stop the unit");
        }
    }
    if let Some(analyze) = find_tool("systemd-analyze") {
        // The unit as installed, with a binary that exists here.
        let exe = std::env::current_exe().unwrap();
        let copy = tmp.path().join("pixgate.service");
        std::fs::write(&copy, unit.replace("/usr/local/bin/pixgate", exe.to_str().unwrap())).unwrap();
        let out = Command::new(analyze).arg("verify").arg(copy).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        // Problems in the file name it with a line number (an unknown or misspelt directive is
        // only such a line); a failure that does not name the unit is the machine's, not ours.
        let parse_problem = stderr.lines().any(|l| {
            l.split_once("pixgate.service:").is_some_and(|(_, r)| r.starts_with(|c: char| c.is_ascii_digit()))
        });
        let failed_on_unit = !out.status.success() && stderr.contains("pixgate.service");
        assert!(!parse_problem && !failed_on_unit, "systemd-analyze verify:\n{stderr}");
    }

    // nginx: the recipe passes `nginx -t` wherever nginx is installed.
    if let Some(nginx) = find_tool("nginx") {
        let out = Command::new(nginx)
            .args(["-t", "-p"])
            .arg(deploy_dir().join("nginx"))
            .args(["-c", "nginx.conf"])
            .output()
            .unwrap();
        assert!(out.status.success(), "nginx -t: {}", String::from_utf8_lossy(&out.stderr));
    }
    let recipe = read("nginx/pixgate-hash.conf");
    assert!(recipe.contains("x-oss-process") && recipe.contains("consistent"), "hash key mirrors retain");
}
