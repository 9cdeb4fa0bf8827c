//! The files in `deploy/` refer only to what Pixgate really has.

use std::path::Path;

pub const TESTS: &[(&str, fn())] = &[
    ("deploy::prometheus_files_use_real_metrics", metrics_in_deploy_files),
    ("deploy::kubernetes_manifests_match_pixgate", kubernetes),
    ("deploy::docker_systemd_and_nginx_recipes_match_pixgate", docker_systemd_nginx),
];

fn deploy_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy")
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(deploy_dir().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Load a configuration file the way `pixgate --config` does, with extra environment.
fn load_config(rel: &str, env: &[(&str, &str)]) -> pixgate::config::Config {
    let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let cli = pixgate::config::CliOverrides::default();
    // An fs origin's root must exist: check the file with a temporary root where it names one.
    pixgate::config::load(Some(&deploy_dir().join(rel)), &env, &cli).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The admin paths a manifest may probe: each answers 200 on a running Pixgate.
fn probe_paths_answer(paths: &[String]) {
    let root = tempfile::tempdir().unwrap();
    let p = pixgate_tests::Pixgate::start(&format!(
        "[origin]\nkind = \"fs\"\nroot = \"{}\"\n",
        root.path().display()
    ));
    let admin = p.admin.trim_start_matches("http://").to_string();
    for path in paths {
        let (status, _) = pixgate_tests::raw_get(&admin, path).unwrap();
        assert_eq!(status, 200, "{path} on the admin listener");
    }
}

fn yaml_docs(rel: &str) -> Vec<serde_yaml::Value> {
    use serde::Deserialize;
    let text = read(rel);
    serde_yaml::Deserializer::from_str(&text)
        .map(|d| serde_yaml::Value::deserialize(d).unwrap_or_else(|e| panic!("{rel}: {e}")))
        .collect()
}

fn kubernetes() {
    let kustomization = &yaml_docs("k8s/kustomization.yaml")[0];
    let resources: Vec<String> = kustomization["resources"]
        .as_sequence()
        .expect("resources")
        .iter()
        .map(|r| r.as_str().unwrap().to_string())
        .collect();
    for r in &resources {
        assert!(!yaml_docs(&format!("k8s/{r}")).is_empty(), "{r}");
    }
    for r in ["deployment.yaml", "service.yaml", "hpa.yaml", "pdb.yaml", "servicemonitor.yaml"] {
        assert!(resources.iter().any(|x| x == r), "kustomization lacks {r}");
    }
    let config_file = kustomization["configMapGenerator"][0]["files"][0].as_str().unwrap();
    assert_eq!(yaml_docs("k8s/secret.example.yaml")[0]["kind"], "Secret");

    // The configuration it ships, with every environment variable the Deployment sets.
    let deployment = &yaml_docs("k8s/deployment.yaml")[0];
    let pod = &deployment["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    let env: Vec<(String, String)> = container["env"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|e| (e["name"].as_str().unwrap().to_string(), "AK:secret".to_string()))
        .collect();
    let env_ref: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let config = load_config(&format!("k8s/{config_file}"), &env_ref);
    assert!(config.shared.is_some());

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
    // Service and ServiceMonitor use the container's port names and the metrics path.
    let service = &yaml_docs("k8s/service.yaml")[0];
    for p in service["spec"]["ports"].as_sequence().unwrap() {
        let target = p["targetPort"].as_str().unwrap();
        assert!(target == "http" || target == "admin", "{target}");
    }
    let monitor = &yaml_docs("k8s/servicemonitor.yaml")[0];
    assert_eq!(monitor["spec"]["endpoints"][0]["port"], "admin");
    paths.push(monitor["spec"]["endpoints"][0]["path"].as_str().unwrap().to_string());
    assert_eq!(
        yaml_docs("k8s/hpa.yaml")[0]["spec"]["scaleTargetRef"]["name"],
        deployment["metadata"]["name"]
    );
    probe_paths_answer(&paths);
}

fn docker_systemd_nginx() {
    // Docker: the baked-in configuration is valid, its ports are exposed, the health check
    // probes a real admin path, and the demo folder it serves is copied in.
    let dockerfile = read("docker/Dockerfile");
    let text = read("docker/pixgate.toml");
    let tmp = tempfile::tempdir().unwrap();
    let image_root = dockerfile
        .lines()
        .find_map(|l| l.strip_prefix("COPY samples "))
        .expect("the Dockerfile copies the demo photos")
        .trim();
    assert!(text.contains(&format!("root = \"{image_root}\"")), "the image's config serves {image_root}");
    let local = tmp.path().join("pixgate.toml");
    std::fs::write(&local, text.replace(image_root, tmp.path().to_str().unwrap())).unwrap();
    let cli = pixgate::config::CliOverrides::default();
    let config = pixgate::config::load(Some(&local), &[], &cli).expect("docker/pixgate.toml");
    let expose = dockerfile.lines().find_map(|l| l.strip_prefix("EXPOSE ")).expect("EXPOSE");
    for port in [config.listen.port(), config.admin_listen.port()] {
        assert!(expose.split_whitespace().any(|p| p == port.to_string()), "EXPOSE {expose} lacks {port}");
    }
    assert!(dockerfile.contains(&format!("http://127.0.0.1:{}/healthz", config.admin_listen.port())));
    assert!(dockerfile.contains("USER 10001"), "runs as a non-root user");
    assert!(dockerfile.contains("--features heic,avif"), "the image has HEIC and AVIF");
    for package in ["libheif1", "fonts-wqy-zenhei", "fonts-wqy-microhei", "fonts-droid-fallback"] {
        assert!(dockerfile.contains(package), "the runtime image installs {package}");
    }
    assert!(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.dockerignore").is_file());

    // systemd: the command line is Pixgate's.
    let unit = read("systemd/pixgate.service");
    let exec = unit.lines().find_map(|l| l.strip_prefix("ExecStart=")).expect("ExecStart");
    let args: Vec<&str> = exec.split_whitespace().skip(1).collect();
    assert_eq!(args[0], "--config");
    assert!(unit.contains("NoNewPrivileges=yes") && unit.contains("ProtectSystem=strict"));

    // nginx: the recipe passes `nginx -t` wherever nginx is installed.
    let nginx = ["/usr/sbin/nginx", "/usr/bin/nginx", "/usr/local/sbin/nginx"]
        .into_iter()
        .find(|p| Path::new(p).exists());
    if let Some(nginx) = nginx {
        let out = std::process::Command::new(nginx)
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
