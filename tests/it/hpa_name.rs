//! A ScaledObject that names its HPA (`spec.advanced.horizontalPodAutoscalerConfig.name`,
//! kedacore/keda v2.20.2 `controllers/keda/hpa.go` getHPAName): every PromQL
//! query and shipped alert rule that names the HPA names that one, in
//! `diagnose`, `status`, `snapshot --history`, `report` and `alerts`
//! (scenario `hpa-custom-name`: HPA `spice-game-hpa`, kube-state-metrics
//! series under that name, no `keda-hpa-spice-runner-keda`).
//!
//! Before, every query named `keda-hpa-spice-runner-keda`, which has no
//! series: KEDANotResponding and the warm-pool floor of
//! PodSessionRatioAnomaly read nothing and passed blind, `report` had no HPA
//! desired replicas (its episodes say "the HPA's desired replicas are not in
//! history", a gap) and `alerts` shipped rules that could never fire.

use crate::diagnose::{assert_outcome, check, diagnose, message, table};
use crate::support::spice::{Cluster, Run};
use serde_json::Value;

const SCENARIO: &str = "hpa-custom-name";
const NAMED: &str = r#"horizontalpodautoscaler="spice-game-hpa""#;
const DEFAULT: &str = r#"horizontalpodautoscaler="keda-hpa-spice-runner-keda""#;

/// `%XX` and `+` decoded: the PromQL of a request line.
fn decoded(line: &str) -> String {
    let bytes = line.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The Prometheus queries the simulator's service proxy passed on, decoded.
fn prometheus_queries(c: &Cluster) -> Vec<String> {
    c.sim
        .requests()
        .iter()
        .filter(|r| r.contains("/services/prometheus:9090/proxy/api/v1/query"))
        .map(|r| decoded(r))
        .collect()
}

fn ok(run: &Run, what: &str) {
    assert_eq!(run.code, 0, "{what}: {}\n{}", run.stderr, run.stdout);
}

#[test]
fn diagnose_status_and_alerts_name_the_hpa_the_scaledobject_names() {
    let c = Cluster::start(SCENARIO);
    c.sim.reset_requests();
    let (run, report) = diagnose(&c, &[]);
    assert_eq!(run.code, 0, "stderr: {}\n{}", run.stderr, table(&report));
    assert!(report["rootCause"].is_null(), "{}", table(&report));
    assert_outcome(&report, "hpa.exists", "pass");
    assert_outcome(&report, "alerts.keda-not-responding", "pass");
    assert_outcome(&report, "alerts.pod-session-ratio", "pass");
    assert!(
        message(&report, "alerts.keda-not-responding").contains("HPA spice-game-hpa"),
        "{}",
        table(&report)
    );
    let evidence = check(&report, "alerts.keda-not-responding")["evidence"].to_string();
    assert!(evidence.contains("spice-game-hpa"), "{evidence}");
    assert!(!evidence.contains("keda-hpa-"), "{evidence}");
    // The alert queries went out by the HPA's name (read again in the
    // round that already follows the ScaledObject, off the usual path).
    let queries = prometheus_queries(&c);
    for metric in [
        "kube_horizontalpodautoscaler_status_desired_replicas",
        "kube_horizontalpodautoscaler_spec_min_replicas",
    ] {
        assert!(
            queries
                .iter()
                .any(|q| q.contains(metric) && q.contains(NAMED)),
            "no {metric} query naming spice-game-hpa in {queries:#?}"
        );
    }

    let status = c.spice(&["status", "-o", "json"]);
    ok(&status, "status");
    let j = status.json();
    assert_eq!(j["hpa"]["name"], "spice-game-hpa", "{}", j["hpa"]);
    assert_eq!(j["hpa"]["desiredReplicas"], 3);
    assert_eq!(j["hpa"]["currentReplicas"], 3);

    let rules = c.spice(&["alerts", "-o", "rules"]);
    ok(&rules, "alerts");
    assert!(
        rules.stdout.contains(
            "# KEDANotResponding and PodSessionRatioAnomaly read HPA spice-game-hpa, as ScaledObject default/spice-runner-keda names it.\n"
        ),
        "{}",
        rules.stdout
    );
    let v: Value = serde_norway::from_str(&rules.stdout).expect("YAML");
    for r in v["groups"][0]["rules"].as_array().expect("rules") {
        let expr = r["expr"].as_str().unwrap_or_default();
        assert!(!expr.contains("keda-hpa-"), "{}: {expr}", r["alert"]);
        if matches!(
            r["alert"].as_str(),
            Some("KEDANotResponding" | "PodSessionRatioAnomaly")
        ) {
            assert!(expr.contains(NAMED), "{}: {expr}", r["alert"]);
        }
    }
}

#[test]
fn report_and_snapshot_history_read_the_hpa_series_by_the_name_the_scaledobject_gives() {
    let c = Cluster::start(SCENARIO);
    let snap = c.spice(&["snapshot", "--history", "30m", "-o", "-"]);
    ok(&snap, "snapshot --history");
    let j = snap.json();
    for key in ["history.hpaDesired", "history.hpaGeneration"] {
        let samples = j["prometheus"][key]["samples"]
            .as_array()
            .unwrap_or_else(|| panic!("{key}: {}", j["prometheus"][key]));
        assert!(
            !samples.is_empty(),
            "{key} has no point: {}",
            j["prometheus"][key]
        );
    }
    let desired: Vec<f64> = j["prometheus"]["history.hpaDesired"]["samples"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["value"].as_f64())
        .collect();
    assert!(desired.iter().all(|v| *v == 3.0), "{desired:?}");

    c.sim.reset_requests();
    let report = c.spice(&["report", "--since", "30m", "-o", "json"]);
    ok(&report, "report");
    assert_eq!(report.json()["kind"], "Report");
    let queries = prometheus_queries(&c);
    for metric in [
        "kube_horizontalpodautoscaler_status_desired_replicas",
        "kube_horizontalpodautoscaler_metadata_generation",
    ] {
        let named = |name: &str| {
            queries
                .iter()
                .filter(|q| q.contains("query_range") && q.contains(metric) && q.contains(name))
                .count()
        };
        assert!(
            named(NAMED) > 0,
            "no {metric} range query naming spice-game-hpa in {queries:#?}"
        );
        // The first read, beside the ScaledObject's GET, used KEDA's default:
        // only those two series are read again.
        assert_eq!(named(DEFAULT), named(NAMED), "{metric}: {queries:#?}");
    }
    let sessions = queries
        .iter()
        .filter(|q| q.contains("query_range") && q.contains("nginx_http_requests_total"))
        .count();
    assert_eq!(
        sessions,
        queries
            .iter()
            .filter(|q| q.contains("query_range") && q.contains(NAMED) && q.contains("desired"))
            .count(),
        "the sessions series is read once per chunk, like the HPA's again: {queries:#?}"
    );
}
