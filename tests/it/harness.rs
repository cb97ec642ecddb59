//! The real-Prometheus and real-pipeline harnesses themselves: backfilled
//! kube-state-metrics semantics, real API errors, and a live nginx → exporter
//! → Prometheus pipeline.

use crate::support::pipeline::Pipeline;
use crate::support::prom::{History, Prom};
use crate::support::scenario::{MetricsSpec, Scenario, ScenarioMeta};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn pod(name: &str, phase: &str, waiting: Option<&str>) -> Value {
    let state = match waiting {
        Some(reason) => json!({ "waiting": { "reason": reason } }),
        None => json!({ "running": { "startedAt": "2025-01-01T00:00:00Z" } }),
    };
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": { "name": name, "namespace": "spice", "uid": format!("uid-{name}") },
        "spec": { "containers": [{ "name": "runner", "image": "spice-runner:1" }] },
        "status": {
            "phase": phase,
            "containerStatuses": [{ "name": "runner", "ready": waiting.is_none(), "state": state }]
        }
    })
}

fn three_pods_three_sessions() -> Scenario {
    let meta = ScenarioMeta {
        metrics: MetricsSpec {
            sessions: Some(3.0),
            ..MetricsSpec::default()
        },
        ..ScenarioMeta::default()
    };
    Scenario::from_objects(
        "harness-three-pods",
        vec![
            pod("runner-a", "Running", None),
            pod("runner-b", "Running", None),
            pod("runner-c", "Pending", Some("ContainerCreating")),
        ],
        meta,
    )
}

#[test]
fn openmetrics_text_is_what_promtool_reads() {
    let mut h = History::new();
    h.gauge("g", &[("a", "x\"y")], 2.0)
        .counter("c_total", &[], 0.5);
    let text = h.to_openmetrics(1_700_000_000);
    assert!(text.ends_with("# EOF\n"), "{text}");
    assert!(text.contains("# TYPE g gauge\n"), "{text}");
    assert!(text.contains("# TYPE c counter\n"), "{text}");
    // 15 s steps from now-30m to now+30m inclusive: 241 samples per series.
    assert_eq!(text.lines().filter(|l| l.starts_with("g{")).count(), 241);
    assert!(text.contains("g{a=\"x\\\"y\"} 2 1699998200\n"), "{text}");
    assert!(text.contains("c_total 0 1699998200\n"), "{text}");
    assert!(text.contains("c_total 1800 1700001800\n"), "{text}");
}

#[test]
fn backfilled_scenario_has_kube_state_metrics_semantics() {
    let t = Instant::now();
    let history = History::from_scenario(&three_pods_three_sessions());
    // 3 pods x (5 phases + kube_pod_info) + 1 waiting container + the
    // nginx counter.
    assert_eq!(history.len(), 20);
    let prom = Prom::start(&history);
    eprintln!("prometheus with backfill ready in {:?}", t.elapsed());

    // The runbook's trap: every pod has a `phase="Running"` series.
    assert_eq!(
        prom.value(r#"count(kube_pod_status_phase{phase="Running"})"#),
        Some(3.0)
    );
    assert_eq!(
        prom.value(r#"sum(kube_pod_status_phase{phase="Running"})"#),
        Some(2.0)
    );
    assert_eq!(
        prom.value(r#"count(kube_pod_status_phase{phase="Running"} == 1)"#),
        Some(2.0)
    );
    assert_eq!(
        prom.value(
            r#"count(kube_pod_status_phase{phase="Running"}) / count(kube_pod_status_phase)"#
        ),
        Some(0.2)
    );
    assert_eq!(
        prom.value(r#"sum(kube_pod_container_status_waiting_reason{reason="ContainerCreating"})"#),
        Some(1.0)
    );
    let rate = prom
        .value(r#"sum(rate(nginx_http_requests_total{service="spice-runner-nginx"}[1m]))"#)
        .expect("nginx rate present");
    assert!(
        (rate - 3.0).abs() <= 0.15,
        "rate {rate} not within 5 % of 3"
    );
    // A status label does not exist on stub_status metrics.
    assert_eq!(
        prom.value(
            r#"sum(rate(nginx_http_requests_total{service="spice-runner-nginx",status="200"}[1m]))"#
        ),
        None
    );
}

#[test]
fn bad_query_is_a_real_400_bad_data() {
    let prom = Prom::start(&History::new());
    let (code, body) = prom.query_status("sum(rate(nginx_http_requests_total[1m])");
    assert_eq!(code, 400, "{body}");
    assert_eq!(body["status"], "error", "{body}");
    assert_eq!(body["errorType"], "bad_data", "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap_or_default()
            .contains("parse error"),
        "{body}"
    );
}

#[test]
fn live_pipeline_reports_sessions_plus_scrapes() {
    let t = Instant::now();
    let pipeline = Pipeline::start(3);
    eprintln!("pipeline up in {:?}", t.elapsed());
    // 3 sessions at 1 req/s + the exporter's 1/s stub_status scrape ≈ 4/s;
    // rate(..[1m]) needs most of a minute of samples to get there.
    let rate = pipeline.wait_for_rate(3.0, Duration::from_secs(60));
    eprintln!("rate {rate} after {:?}", t.elapsed());
    assert!((3.0..=5.0).contains(&rate), "rate {rate} not in [3, 5]");
    assert!(pipeline.prometheus_url().starts_with("http://127.0.0.1:"));

    // The plugin reads the same sessions through the API server's service
    // proxy (its default route) and through a direct URL.
    let cluster = crate::support::spice::Cluster::without_prometheus("healthy");
    cluster.sim.set_proxy_upstream(
        "observability",
        "prometheus",
        "9090",
        &pipeline.prometheus_url(),
    );
    for args in [
        vec!["status", "-o", "json"],
        vec![
            "status",
            "-o",
            "json",
            "--prometheus-url",
            &pipeline.prometheus_url(),
        ],
    ] {
        let run = cluster.spice(&args);
        assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
        let sessions = run.json()["sessions"]["rate"]
            .as_f64()
            .expect("sessions rate");
        // 3 sessions plus the exporter's own stub_status requests (1/s).
        assert!(
            (3.0..=5.0).contains(&sessions),
            "{args:?}: sessions {sessions} not ≈ 3"
        );
    }
}
