//! The versions the README claims, each run end to end: a healthy and a
//! broken cluster at every Kubernetes minor in upstream support on
//! 2026-12-07 (1.35, 1.36, 1.37: kubernetes/sig-release
//! `releases/release-1.3x/README.md`) and the two before it still run under
//! managed extended support (1.33, 1.34), and at every KEDA minor claimed
//! (2.19, 2.20: kedacore/keda `CHANGELOG.md`, newest v2.20.2), and the one
//! field the plugin reads that a minor changes: the HPA's per-object
//! tolerance, dropped by 1.34 and kept from 1.35 (HPAConfigurableTolerance
//! beta). `readme_text` fails when the README's table claims a version not
//! in [`RUNS`].

use crate::diagnose::{assert_outcome, assert_root_cause, diagnose, table};
use crate::support::scenario::Scenario;
use crate::support::sim::version::{ServedVersion, is_endpoints_path};
use crate::support::spice::Cluster;
use serde_json::{Value, json};

/// One run: the API server's minor, the scenario (its KEDA release is its
/// operator's image tag), and what `diagnose` must conclude: `None` = exit 0
/// with no root cause, else the root cause's check id.
pub struct VersionRun {
    pub kubernetes: &'static str,
    pub scenario: &'static str,
    pub root_cause: Option<&'static str>,
}

/// Each Kubernetes minor with a healthy and a broken cluster; KEDA 2.19 and
/// 2.20 (2.20.0 reports HPA health in Ready, 2.20.2 in HPAActive) each
/// healthy and broken.
pub const RUNS: &[VersionRun] = &[
    // Past upstream end of life, still run under the managed providers'
    // extended support: 1.33 with KEDA 2.19, 1.34 with KEDA 2.20 (KEDA's
    // "N-2" window, keda.sh/docs operate/cluster).
    VersionRun {
        kubernetes: "1.33",
        scenario: "healthy",
        root_cause: None,
    },
    VersionRun {
        kubernetes: "1.33",
        scenario: "operator-erroring",
        root_cause: Some("keda.ready"),
    },
    VersionRun {
        kubernetes: "1.34",
        scenario: "keda-2.20.0",
        root_cause: None,
    },
    VersionRun {
        kubernetes: "1.34",
        scenario: "keda-2.20.0-hpa-unhealthy",
        root_cause: Some("keda.metrics-apiserver"),
    },
    VersionRun {
        kubernetes: "1.35",
        scenario: "healthy",
        root_cause: None,
    },
    VersionRun {
        kubernetes: "1.35",
        scenario: "operator-erroring",
        root_cause: Some("keda.ready"),
    },
    VersionRun {
        kubernetes: "1.36",
        scenario: "keda-2.20.0",
        root_cause: None,
    },
    VersionRun {
        kubernetes: "1.36",
        scenario: "keda-2.20.0-hpa-unhealthy",
        root_cause: Some("keda.metrics-apiserver"),
    },
    VersionRun {
        kubernetes: "1.37",
        scenario: "keda-2.20.2",
        root_cause: None,
    },
    VersionRun {
        kubernetes: "1.37",
        scenario: "keda-2.20.2-hpa-unhealthy",
        root_cause: Some("keda.metrics-apiserver"),
    },
];

/// The scenario of a run, served at the run's minor.
pub fn scenario_of(run: &VersionRun) -> Scenario {
    let mut s = Scenario::load(run.scenario);
    s.meta.kubernetes = run.kubernetes.to_string();
    s
}

/// Runs each pair of [`RUNS`] that is `broken` (or healthy): it diagnoses
/// as it should, and the plugin never asks for core/v1 Endpoints
/// (deprecated from 1.33: a `Warning:` on every answer).
fn diagnose_pairs(broken: bool) {
    for run in RUNS.iter().filter(|r| r.root_cause.is_some() == broken) {
        let scenario = scenario_of(run);
        let keda = scenario.keda_version().expect("a KEDA operator pod");
        let what = format!(
            "Kubernetes {} + KEDA {keda} ({})",
            run.kubernetes, run.scenario
        );
        let c = Cluster::with(scenario, true);
        let served = c.spice(&["diagnose", "-o", "json"]);
        let report = served.json();
        match run.root_cause {
            None => {
                assert_eq!(
                    served.code,
                    0,
                    "{what}: {}\n{}",
                    served.stderr,
                    table(&report)
                );
                assert!(report["rootCause"].is_null(), "{what}:\n{}", table(&report));
            }
            Some(id) => {
                assert_root_cause(&served, &report, id);
            }
        }
        // "GET /api/v1/namespaces/default/pods?limit=500" → its path.
        let paths: Vec<String> = c
            .sim
            .requests()
            .iter()
            .filter_map(|r| r.split_whitespace().nth(1))
            .map(|p| p.split('?').next().unwrap_or(p).to_string())
            .collect();
        assert!(
            paths
                .iter()
                .any(|p| p.starts_with("/api/v1/namespaces/default/pods")),
            "{what}: {paths:?}"
        );
        assert!(
            !paths.iter().any(|p| is_endpoints_path(p)),
            "{what}: reads deprecated v1 Endpoints: {paths:?}"
        );
    }
}

/// The healthy cluster of every claimed Kubernetes minor and KEDA release
/// exits 0 with no root cause; the simulated server is the minor it claims
/// and warns on Endpoints as 1.33+ does.
#[test]
fn every_claimed_kubernetes_and_keda_pair_diagnoses_its_healthy_cluster_clean() {
    diagnose_pairs(false);
    // The simulated server is the minor it claims, and warns as 1.33+ does.
    let c = Cluster::with(scenario_of(&RUNS[RUNS.len() - 1]), false);
    let kubectl = |args: &[&str]| {
        let out = std::process::Command::new("/usr/bin/kubectl")
            .args(args)
            .arg("--kubeconfig")
            .arg(&c.kubeconfig)
            .env_clear()
            .env("HOME", c.dir.path())
            .output()
            .expect("kubectl");
        (
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (version, _) = kubectl(&["version", "-o", "json"]);
    let version: serde_json::Value = serde_json::from_str(&version).expect("json");
    assert_eq!(
        version["serverVersion"]["gitVersion"], "v1.37.0",
        "{version}"
    );
    let (_, warned) = kubectl(&["get", "endpoints", "-n", "default"]);
    assert!(
        warned.contains(
            "v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice"
        ),
        "{warned}"
    );
}

/// The broken cluster of every claimed Kubernetes minor and KEDA release
/// gets its root cause.
#[test]
fn every_claimed_kubernetes_and_keda_pair_names_the_root_cause_of_its_broken_cluster() {
    diagnose_pairs(true);
}

/// `tolerance-30-pods` with the ScaledObject asking for a 0.05 scale-up
/// tolerance, which KEDA copies to its HPA. Kubernetes 1.34 drops it (the
/// HPA keeps 0.1) and the plugin says so where it states the tolerance;
/// 1.35 keeps it and the plugin models 0.05. 31 sessions on 30 pods are
/// within either, so both are healthy.
#[test]
fn a_tolerance_1_34_drops_is_said_and_the_one_1_35_keeps_is_modelled() {
    for (kubernetes, says, never) in [
        (
            "1.34",
            "tolerance not in effect: the ScaledObject sets scaleUp.tolerance 0.05 but HPA keda-hpa-spice-runner-keda has none: this API server dropped it",
            "(set on the HPA)",
        ),
        (
            "1.35",
            "tolerance: up 0.05, down 0.1 (set on the HPA)",
            "this API server dropped it",
        ),
    ] {
        let mut s = Scenario::load("tolerance-30-pods");
        s.meta.kubernetes = kubernetes.into();
        let asked = json!({"scaleUp": {"tolerance": "0.05"}});
        // As the API server defaults what KEDA copied (autoscaling/v2
        // SetDefaults_HorizontalPodAutoscalerBehavior).
        let defaulted = json!({
            "scaleUp": {"tolerance": "50m", "stabilizationWindowSeconds": 0, "selectPolicy": "Max",
                "policies": [{"type": "Pods", "value": 4, "periodSeconds": 15},
                             {"type": "Percent", "value": 100, "periodSeconds": 15}]},
            "scaleDown": {"selectPolicy": "Max",
                "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]}
        });
        for o in &mut s.objects {
            if o["kind"] == "ScaledObject" && o["metadata"]["name"] == "spice-runner-keda" {
                o["spec"]["advanced"]["horizontalPodAutoscalerConfig"]["behavior"] = asked.clone();
            }
            if o["kind"] == "HorizontalPodAutoscaler" {
                o["spec"]["behavior"] = defaulted.clone();
            }
        }
        let c = Cluster::with(s, true);
        let (run, report) = diagnose(&c, &[]);
        assert_eq!(
            run.code,
            0,
            "{kubernetes}: {}\n{}",
            run.stderr,
            table(&report)
        );
        assert_outcome(&report, "sessions.ratio", "pass");
        let wide = c.spice(&["status", "-o", "wide", "--color", "never"]);
        assert_eq!(wide.code, 0, "{kubernetes}: {}", wide.stderr);
        let text = wide.stdout.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(text.contains(says), "{kubernetes}: {}", wide.stdout);
        assert!(!text.contains(never), "{kubernetes}: {}", wide.stdout);
    }
}

/// What the simulated server stores and answers at each minor.
#[test]
fn a_1_34_server_drops_the_hpa_tolerance_and_a_1_35_one_keeps_it() {
    let hpa = || {
        vec![
            json!({"kind": "HorizontalPodAutoscaler", "spec": {"behavior": {
            "scaleUp": {"tolerance": "10m", "stabilizationWindowSeconds": 0},
            "scaleDown": {"tolerance": "50m"}}}}),
        ]
    };
    let mut old = hpa();
    ServedVersion::parse("1.34").admit(&mut old);
    assert_eq!(
        old[0]["spec"]["behavior"]["scaleUp"]["tolerance"],
        Value::Null
    );
    assert_eq!(
        old[0]["spec"]["behavior"]["scaleUp"]["stabilizationWindowSeconds"],
        0
    );
    assert_eq!(
        old[0]["spec"]["behavior"]["scaleDown"]["tolerance"],
        Value::Null
    );
    let mut new = hpa();
    ServedVersion::parse("1.35").admit(&mut new);
    assert_eq!(new, hpa());
    assert_eq!(ServedVersion::parse("1.37").json()["gitVersion"], "v1.37.0");
}

#[test]
fn only_core_endpoints_paths_are_endpoints() {
    for p in [
        "/api/v1/endpoints",
        "/api/v1/namespaces/default/endpoints",
        "/api/v1/namespaces/default/endpoints/spice-runner-nginx",
        "/api/v1/watch/namespaces/default/endpoints",
    ] {
        assert!(is_endpoints_path(p), "{p}");
    }
    for p in [
        "/api/v1/namespaces/default/services/endpoints/proxy/",
        "/api/v1/namespaces/observability/services/prometheus:9090/proxy/endpoints",
        "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices",
        "/api/v1/pods",
    ] {
        assert!(!is_endpoints_path(p), "{p}");
    }
}
