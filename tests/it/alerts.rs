//! `kubectl spice alerts`: the printed rules pass the real `promtool check
//! rules`, and `promtool test rules` proves each alert fires on the series
//! that should fire it and stays quiet on the ones that should not, for the
//! default names and for names and thresholds set by flags and environment.

use crate::support::prom::binary;
use crate::support::spice::{BIN, Run, run_bin};
use serde_json::{Value, json};
use std::path::Path;

/// Runs `kubectl-spice alerts ARGS` with no kubeconfig (the rules need none).
fn alerts(args: &[&str], env: &[(&str, &str)], home: &Path) -> Run {
    let mut all = vec!["alerts"];
    all.extend_from_slice(args);
    let run = run_bin(BIN, &all, env, home);
    assert_eq!(
        run.code, 0,
        "kubectl-spice {all:?} failed:\n{}\n{}",
        run.stdout, run.stderr
    );
    run
}

fn promtool(args: &[&str], dir: &Path) -> Run {
    let promtool = binary("promtool");
    run_bin(promtool.to_str().expect("utf-8 path"), args, &[], dir)
}

/// Writes `text` to `dir/name` and returns the path as a string.
fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    path.to_str().expect("utf-8 path").to_string()
}

fn check_rules(path: &str, dir: &Path) {
    let run = promtool(&["check", "rules", path], dir);
    assert_eq!(
        run.code, 0,
        "promtool check rules {path}:\n{}\n{}",
        run.stdout, run.stderr
    );
    assert!(
        run.stdout.contains("SUCCESS: 6 rules found"),
        "{}",
        run.stdout
    );
}

/// One `promtool test rules` test group: input series (promtool's expanding
/// notation, one sample every 15 s) and the alerts expected at given times.
struct Case {
    series: Vec<(String, String)>,
    checks: Vec<(&'static str, &'static str, Vec<Value>)>,
}

impl Case {
    fn new() -> Case {
        Case {
            series: Vec::new(),
            checks: Vec::new(),
        }
    }
    fn series(mut self, name: &str, values: &str) -> Case {
        self.series.push((name.to_string(), values.to_string()));
        self
    }
    /// `expected` alerts of `alert` at `at` (empty: must not fire).
    fn expect(mut self, at: &'static str, alert: &'static str, expected: Vec<Value>) -> Case {
        self.checks.push((at, alert, expected));
        self
    }
    fn to_json(&self) -> Value {
        json!({
            "interval": "15s",
            "input_series": self.series.iter().map(|(s, v)| json!({"series": s, "values": v})).collect::<Vec<_>>(),
            "alert_rule_test": self.checks.iter().map(|(at, alert, exp)| json!({
                "eval_time": at, "alertname": alert, "exp_alerts": exp,
            })).collect::<Vec<_>>(),
        })
    }
}

/// Runs `promtool test rules` on `cases` against the rule file `rules`.
fn test_rules(rules: &str, cases: &[Case], dir: &Path) {
    let rules_path = write(dir, "rules.yml", rules);
    let test = json!({
        "rule_files": [rules_path],
        "evaluation_interval": "15s",
        "tests": cases.iter().map(Case::to_json).collect::<Vec<_>>(),
    });
    let test_path = write(
        dir,
        "test.yml",
        &serde_norway::to_string(&test).expect("yaml"),
    );
    let run = promtool(&["test", "rules", &test_path], dir);
    assert_eq!(
        run.code,
        0,
        "promtool test rules failed:\n{}\n{}\nrules:\n{rules}\ntest:\n{}",
        run.stdout,
        run.stderr,
        std::fs::read_to_string(&test_path).unwrap_or_default()
    );
    assert!(run.stdout.contains("SUCCESS"), "{}", run.stdout);
}

/// A rule's annotations with its templates filled in as Prometheus would:
/// `$value` formatted by the template's printf verb, `$labels.x` from `labels`.
fn annotations(rules: &Value, alert: &str, value: Option<f64>, labels: &[(&str, &str)]) -> Value {
    let rule = rules["groups"][0]["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .find(|r| r["alert"] == alert)
        .unwrap_or_else(|| panic!("no rule {alert}"));
    let mut out = serde_json::Map::new();
    for (k, v) in rule["annotations"].as_object().expect("annotations") {
        let mut text = v.as_str().expect("string").to_string();
        if let Some(value) = value {
            for (verb, digits) in [("%.2f", 2), ("%.1f", 1), ("%.0f", 0)] {
                let template = format!("{{{{ $value | printf \"{verb}\" }}}}");
                let shown = if value.is_infinite() {
                    "+Inf".to_string()
                } else {
                    format!("{value:.digits$}")
                };
                text = text.replace(&template, &shown);
            }
        }
        for (name, v) in labels {
            text = text.replace(&format!("{{{{ $labels.{name} }}}}"), v);
        }
        assert!(!text.contains("{{"), "unfilled template in {text:?}");
        out.insert(k.clone(), Value::String(text));
    }
    Value::Object(out)
}

fn alert(rules: &Value, name: &str, value: Option<f64>, labels: &[(&str, &str)]) -> Value {
    let exp_labels: serde_json::Map<String, Value> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
        .collect();
    json!({
        "exp_labels": exp_labels,
        "exp_annotations": annotations(rules, name, value, labels),
    })
}

/// The counter notation for `per_second` requests per second over 40 minutes.
fn requests(per_second: u32) -> String {
    format!("0+{}x160", per_second * 15)
}

#[test]
fn alerts_print_a_prometheus_rule_that_promtool_accepts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = alerts(
        &["--rule-label", "release=kube-prometheus-stack"],
        &[],
        dir.path(),
    );
    assert!(
        run.stdout.starts_with("# "),
        "a header says where it came from"
    );
    let v: Value = serde_norway::from_str(&run.stdout).expect("YAML");
    assert_eq!(v["apiVersion"], "monitoring.coreos.com/v1");
    assert_eq!(v["kind"], "PrometheusRule");
    assert_eq!(v["metadata"]["name"], "spice-runner-pod-per-session");
    assert_eq!(
        v["metadata"]["namespace"], "observability",
        "the Prometheus Operator reads rules from Prometheus's namespace by default"
    );
    assert_eq!(v["metadata"]["labels"]["release"], "kube-prometheus-stack");
    // The spec is a rule file's content: promtool checks it as one.
    let spec = serde_norway::to_string(&v["spec"]).expect("yaml");
    let path = write(dir.path(), "spec.yml", &spec);
    check_rules(&path, dir.path());
}

#[test]
fn alerts_rule_file_passes_promtool_check() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = alerts(&["-o", "rules"], &[], dir.path());
    let path = write(dir.path(), "rules.yml", &run.stdout);
    check_rules(&path, dir.path());
    let v: Value = serde_norway::from_str(&run.stdout).expect("YAML");
    let text = serde_json::to_string(&v).expect("json");
    assert!(
        !text.contains("count(kube_pod_status_phase"),
        "running pods must be summed"
    );
    // The recording group alone (to backfill with promtool) passes too.
    let run = alerts(&["-o", "recording-rules"], &[], dir.path());
    let path = write(dir.path(), "recording.yml", &run.stdout);
    let check = promtool(&["check", "rules", &path], dir.path());
    assert_eq!(check.code, 0, "{}\n{}", check.stdout, check.stderr);
    assert!(
        check.stdout.contains("SUCCESS: 2 rules found"),
        "{}",
        check.stdout
    );
}

#[test]
fn alerts_rejects_bad_arguments_with_a_hint() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = run_bin(
        BIN,
        &["alerts", "--rule-label", "not a label"],
        &[],
        dir.path(),
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 2, "{}", run.stderr);
    assert!(run.stderr.starts_with("error: "), "{}", run.stderr);
    assert!(run.stderr.contains("\nhint: "), "{}", run.stderr);

    let run = run_bin(BIN, &["alerts", "--context", "nope"], &[], dir.path());
    assert_eq!(
        run.code, 2,
        "a named context that cannot load: {}",
        run.stderr
    );
    assert!(run.stderr.contains("hint: "), "{}", run.stderr);
}

const NGINX: &str = r#"nginx_http_requests_total{service="spice-runner-nginx", job="spice-runner-nginx", instance="10.244.1.17:9113"}"#;

/// kube-state-metrics' five phase series of one pod, 1 for `phase`.
fn pod(namespace: &str, name: &str, phase: &str) -> Vec<(String, String)> {
    ["Pending", "Running", "Succeeded", "Failed", "Unknown"]
        .iter()
        .map(|p| {
            (
                format!(
                    r#"kube_pod_status_phase{{namespace="{namespace}", pod="{name}", uid="u-{name}", phase="{p}", job="kube-state-metrics"}}"#
                ),
                if *p == phase { "1x160" } else { "0x160" }.to_string(),
            )
        })
        .collect()
}

fn with_pods(mut case: Case, pods: &[(&str, &str, &str)]) -> Case {
    for (ns, name, phase) in pods {
        case.series.extend(pod(ns, name, phase));
    }
    case
}

#[test]
fn alerts_fire_and_stay_quiet_as_they_should() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = alerts(&["-o", "rules"], &[], dir.path()).stdout;
    let rules: Value = serde_norway::from_str(&text).expect("YAML");
    let ratio_labels = [
        ("severity", "warning"),
        ("namespace", "default"),
        ("deployment", "spice-runner"),
    ];
    let cases = vec![
        // 4 sessions, 2 Running and 2 Pending pods: 2 sessions per pod. The
        // runbook's count(...) would see 4 pods and a perfect 1.0.
        with_pods(
            Case::new().series(NGINX, &requests(4)),
            &[
                ("default", "spice-runner-7d9f8-k2x9m", "Running"),
                ("default", "spice-runner-7d9f8-p4rtw", "Running"),
                ("default", "spice-runner-7d9f8-z7hqv", "Pending"),
                ("default", "spice-runner-7d9f8-n5bdl", "Pending"),
            ],
        )
        .expect("4m", "PodSessionRatioAnomaly", vec![])
        .expect(
            "10m",
            "PodSessionRatioAnomaly",
            vec![alert(&rules, "PodSessionRatioAnomaly", Some(2.0), &ratio_labels)],
        ),
        // 3 sessions, 3 Running pods (and a Pending one of another app).
        with_pods(
            Case::new().series(NGINX, &requests(3)),
            &[
                ("default", "spice-runner-7d9f8-k2x9m", "Running"),
                ("default", "spice-runner-7d9f8-p4rtw", "Running"),
                ("default", "spice-runner-7d9f8-z7hqv", "Running"),
                ("default", "lobby-5c4b-k2x9m", "Running"),
            ],
        )
        .expect("10m", "PodSessionRatioAnomaly", vec![]),
        // 1 session, 3 Running pods: too many pods.
        with_pods(
            Case::new().series(NGINX, &requests(1)),
            &[
                ("default", "spice-runner-7d9f8-k2x9m", "Running"),
                ("default", "spice-runner-7d9f8-p4rtw", "Running"),
                ("default", "spice-runner-7d9f8-z7hqv", "Running"),
            ],
        )
        .expect(
            "10m",
            "PodSessionRatioAnomaly",
            vec![alert(
                &rules,
                "PodSessionRatioAnomaly",
                Some(1.0 / 3.0),
                &ratio_labels,
            )],
        ),
        // Traffic and no pod at all: +Inf sessions per pod.
        Case::new()
            .series(NGINX, &requests(2))
            .expect(
                "10m",
                "PodSessionRatioAnomaly",
                vec![alert(
                    &rules,
                    "PodSessionRatioAnomaly",
                    Some(f64::INFINITY),
                    &ratio_labels,
                )],
            ),
        // Idle at the exporter's scrape floor: its stub_status read every
        // 15 s (0.067 req/s, not players) and no pod is not +Inf.
        Case::new()
            .series(NGINX, "0+1x160")
            .expect("10m", "PodSessionRatioAnomaly", vec![]),
        // Idle: no traffic, no pods (0/0) is not an anomaly.
        Case::new()
            .series(NGINX, "0x160")
            .expect("10m", "PodSessionRatioAnomaly", vec![]),
        // A game pod Pending for good; another one Pending only for 15 s;
        // pods of another app or namespace Pending are not the game's.
        Case::new()
            .series(
                r#"kube_pod_status_phase{namespace="default", pod="spice-runner-7d9f8-p2v8q", phase="Pending"}"#,
                "1x160",
            )
            .series(
                r#"kube_pod_status_phase{namespace="default", pod="spice-runner-7d9f8-q9l4z", phase="Pending"}"#,
                "1 0x160",
            )
            .series(
                r#"kube_pod_status_phase{namespace="default", pod="lobby-5c4b-p2v8q", phase="Pending"}"#,
                "1x160",
            )
            .series(
                r#"kube_pod_status_phase{namespace="staging", pod="spice-runner-6b7c-p2v8q", phase="Pending"}"#,
                "1x160",
            )
            .expect("15s", "SpiceRunnerPodPending", vec![])
            .expect(
                "2m",
                "SpiceRunnerPodPending",
                vec![alert(
                    &rules,
                    "SpiceRunnerPodPending",
                    None,
                    &[
                        ("severity", "warning"),
                        ("deployment", "spice-runner"),
                        ("namespace", "default"),
                        ("pod", "spice-runner-7d9f8-p2v8q"),
                    ],
                )],
            ),
        // A crash-looping game container; one that recovered long ago; a
        // container still being created; another app's crash loop.
        Case::new()
            .series(
                r#"kube_pod_container_status_waiting_reason{namespace="default", pod="spice-runner-7d9f8-x7m2d", container="game", reason="CrashLoopBackOff"}"#,
                "1x160",
            )
            .series(
                r#"kube_pod_container_status_waiting_reason{namespace="default", pod="spice-runner-7d9f8-g5w9r", container="game", reason="CrashLoopBackOff"}"#,
                "1x8",
            )
            .series(
                r#"kube_pod_container_status_waiting_reason{namespace="default", pod="spice-runner-7d9f8-z4s6h", container="game", reason="ContainerCreating"}"#,
                "1x160",
            )
            .series(
                r#"kube_pod_container_status_waiting_reason{namespace="default", pod="lobby-5c4b-x7m2d", container="lobby", reason="CrashLoopBackOff"}"#,
                "1x160",
            )
            .expect(
                "10m",
                "SpiceRunnerPodCrashLooping",
                vec![alert(
                    &rules,
                    "SpiceRunnerPodCrashLooping",
                    None,
                    &[
                        ("severity", "warning"),
                        ("deployment", "spice-runner"),
                        ("namespace", "default"),
                        ("pod", "spice-runner-7d9f8-x7m2d"),
                        ("container", "game"),
                    ],
                )],
            ),
    ];
    test_rules(&text, &cases, dir.path());
}

/// The KEDA HPA's replicas as kube-state-metrics v2.x exports them
/// (docs/horizontalpodautoscaler-metrics.md): `desired` and `current` in
/// promtool's notation, one sample every 15 s.
fn hpa(case: Case, desired: &str, current: &str) -> Case {
    let labels = r#"{namespace="default", horizontalpodautoscaler="keda-hpa-spice-runner-keda", job="kube-state-metrics"}"#;
    case.series(
        &format!("kube_horizontalpodautoscaler_status_desired_replicas{labels}"),
        desired,
    )
    .series(
        &format!("kube_horizontalpodautoscaler_status_current_replicas{labels}"),
        current,
    )
}

/// The shipped KEDANotResponding is silent at steady load (10 req/s on 10
/// pods for 40 minutes: the runbook's rule pages there) and during a normal
/// scale-up, and fires when the HPA's desired count differs from its current
/// one for 10 minutes.
#[test]
fn keda_not_responding_is_silent_at_steady_load_and_fires_when_scaling_is_stuck() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = alerts(&["-o", "rules"], &[], dir.path()).stdout;
    let rules: Value = serde_norway::from_str(&text).expect("YAML");
    let labels = [
        ("severity", "critical"),
        ("namespace", "default"),
        ("deployment", "spice-runner"),
        ("horizontalpodautoscaler", "keda-hpa-spice-runner-keda"),
    ];
    let ten_pods: Vec<(String, &str)> = "bcdfghjklm"
        .chars()
        .map(|c| (format!("spice-runner-7d9f8-k2x{c}m"), "Running"))
        .collect();
    let pods: Vec<(&str, &str, &str)> = ten_pods
        .iter()
        .map(|(p, phase)| ("default", p.as_str(), *phase))
        .collect();
    let cases = vec![
        // Steady load: 10 req/s, 10 pods, the HPA at 10/10 for 40 minutes.
        with_pods(
            hpa(Case::new().series(NGINX, &requests(10)), "10x160", "10x160"),
            &pods,
        )
        .expect("25m", "KEDANotResponding", vec![])
        .expect("39m", "KEDANotResponding", vec![]),
        // A normal scale-up: desired runs ahead of current for one 15 s sync.
        hpa(
            Case::new().series(NGINX, &requests(10)),
            "3x40 10x120",
            "3x41 10x119",
        )
        .expect("25m", "KEDANotResponding", vec![]),
        // Stuck: the HPA wants 12 from minute 5 on, the Deployment stays at
        // 10 (a quota, a failing admission webhook).
        hpa(
            Case::new().series(NGINX, &requests(12)),
            "10x20 12x140",
            "10x160",
        )
        .expect("14m", "KEDANotResponding", vec![])
        .expect(
            "16m",
            "KEDANotResponding",
            vec![alert(&rules, "KEDANotResponding", Some(12.0), &labels)],
        ),
    ];
    test_rules(&text, &cases, dir.path());
}

/// The runbook's own rules, verbatim, on the series that fire the corrected
/// ones: KEDANotResponding never fires (bare `and`), and the ratio alert
/// misses pods that lag sessions (count of every phase).
#[test]
fn the_runbooks_rules_miss_what_the_corrected_ones_catch() {
    let runbook = r#"groups:
- name: runbook
  rules:
  - alert: PodSessionRatioAnomaly
    expr: |
      abs(
        sum(rate(nginx_http_requests_total{service="spice-runner-nginx"}[5m]))
        /
        count(kube_pod_status_phase{pod=~"spice-runner-.*", namespace="default", phase="Running"})
        - 1
      ) > 0.5
    for: 5m
    labels:
      severity: warning
  - alert: KEDANotResponding
    expr: |
      changes(kube_deployment_status_replicas{deployment="spice-runner"}[10m]) == 0
      and
      rate(nginx_http_requests_total{service="spice-runner-nginx"}[5m]) > 5
    for: 10m
    labels:
      severity: critical
"#;
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = vec![
        with_pods(
            Case::new().series(NGINX, &requests(4)),
            &[
                ("default", "spice-runner-7d9f8-k2x9m", "Running"),
                ("default", "spice-runner-7d9f8-p4rtw", "Running"),
                ("default", "spice-runner-7d9f8-z7hqv", "Pending"),
                ("default", "spice-runner-7d9f8-n5bdl", "Pending"),
            ],
        )
        .expect("10m", "PodSessionRatioAnomaly", vec![]),
        Case::new()
            .series(NGINX, &requests(10))
            .series(
                r#"kube_deployment_status_replicas{namespace="default", deployment="spice-runner", job="kube-state-metrics"}"#,
                "3x160",
            )
            .expect("25m", "KEDANotResponding", vec![]),
    ];
    test_rules(runbook, &cases, dir.path());
}

/// Rules follow the settings: other names (flags), other bands and another
/// scale-up target (environment).
#[test]
fn alerts_follow_the_settings() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = alerts(
        &[
            "-o",
            "rules",
            "-n",
            "games",
            "--deployment",
            "dungeon",
            "--nginx-service",
            "dungeon-nginx",
        ],
        &[
            ("SPICE_RATIO_YELLOW_MAX", "2.5"),
            ("SPICE_TARGETS_SCALE_UP", "1m"),
        ],
        dir.path(),
    )
    .stdout;
    let rules: Value = serde_norway::from_str(&text).expect("YAML");
    assert_eq!(rules["groups"][0]["rules"][2]["for"], "1m");
    let nginx = r#"nginx_http_requests_total{service="dungeon-nginx"}"#;
    let labels = [
        ("severity", "warning"),
        ("namespace", "games"),
        ("deployment", "dungeon"),
    ];
    let cases = vec![
        // 2 sessions per pod: inside the widened band.
        with_pods(
            Case::new().series(nginx, &requests(2)),
            &[("games", "dungeon-5f6d-k2x9m", "Running")],
        )
        .expect("10m", "PodSessionRatioAnomaly", vec![]),
        // 3 sessions per pod: above it.
        with_pods(
            Case::new().series(nginx, &requests(3)),
            &[("games", "dungeon-5f6d-k2x9m", "Running")],
        )
        .expect(
            "10m",
            "PodSessionRatioAnomaly",
            vec![alert(&rules, "PodSessionRatioAnomaly", Some(3.0), &labels)],
        ),
        // The default names are not this game's.
        with_pods(
            Case::new().series(NGINX, &requests(3)),
            &[("default", "spice-runner-7d9f8-k2x9m", "Running")],
        )
        .expect("10m", "PodSessionRatioAnomaly", vec![]),
        // Pending 45 s is within the 1m target; Pending for good is not.
        Case::new()
            .series(
                r#"kube_pod_status_phase{namespace="games", pod="dungeon-5f6d-p2v8q", phase="Pending"}"#,
                "1x160",
            )
            .series(
                r#"kube_pod_status_phase{namespace="games", pod="dungeon-5f6d-q9l4z", phase="Pending"}"#,
                "1 1 1 0x160",
            )
            .series(
                r#"kube_pod_status_phase{namespace="default", pod="spice-runner-7d9f8-p2v8q", phase="Pending"}"#,
                "1x160",
            )
            .expect("45s", "SpiceRunnerPodPending", vec![])
            .expect(
                "3m",
                "SpiceRunnerPodPending",
                vec![alert(
                    &rules,
                    "SpiceRunnerPodPending",
                    None,
                    &[
                        ("severity", "warning"),
                        ("deployment", "dungeon"),
                        ("namespace", "games"),
                        ("pod", "dungeon-5f6d-p2v8q"),
                    ],
                )],
            ),
    ];
    test_rules(&text, &cases, dir.path());
}

/// Issue 18 item 10: a warm pool (minReplicaCount 2, so KEDA writes the
/// HPA's minReplicas 2) with no players is the design: the shipped
/// PodSessionRatioAnomaly stays quiet at or below
/// kube_horizontalpodautoscaler_spec_min_replicas and fires above it.
#[test]
fn pod_session_ratio_stays_quiet_on_a_warm_pool_at_idle() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = alerts(&["-o", "rules"], &[], dir.path()).stdout;
    let rules: Value = serde_norway::from_str(&text).expect("YAML");
    let labels = [
        ("severity", "warning"),
        ("namespace", "default"),
        ("deployment", "spice-runner"),
    ];
    let min = |n: u32| {
        (
            r#"kube_horizontalpodautoscaler_spec_min_replicas{namespace="default", horizontalpodautoscaler="keda-hpa-spice-runner-keda", job="kube-state-metrics"}"#,
            format!("{n}x160"),
        )
    };
    let warm = [
        ("default", "spice-runner-7d9f8-k2x9m", "Running"),
        ("default", "spice-runner-7d9f8-p4rtw", "Running"),
    ];
    let (m, v) = min(2);
    let cases = vec![
        // 0 sessions, 2 Running pods, minReplicas 2: a warm pool.
        with_pods(Case::new().series(NGINX, "0x160").series(m, &v), &warm).expect(
            "10m",
            "PodSessionRatioAnomaly",
            vec![],
        ),
        // 0.5 sessions (7.5 requests per 15 s) on the same pool: still at the minimum.
        with_pods(Case::new().series(NGINX, "0+7.5x160").series(m, &v), &warm).expect(
            "10m",
            "PodSessionRatioAnomaly",
            vec![],
        ),
        // One pod more than the pool with no players: pods outlive sessions.
        with_pods(
            Case::new().series(NGINX, "0x160").series(m, &v),
            &[
                warm[0],
                warm[1],
                ("default", "spice-runner-7d9f8-z7hqv", "Running"),
            ],
        )
        .expect(
            "10m",
            "PodSessionRatioAnomaly",
            vec![alert(&rules, "PodSessionRatioAnomaly", Some(0.0), &labels)],
        ),
    ];
    test_rules(&text, &cases, dir.path());
}
