//! Issue 9, items 2, 6, 7, 8 and two of 9: what real clusters do that the one
//! clean scenario did not, each end to end with the real binary against the
//! simulator and a real Prometheus: nginx pods beside the game pods, the
//! API server's plain-text 404, Karpenter before 1.0, a scrape interval too
//! long for the rate window, Karpenter's events in `default`, and a
//! multi-tenant Loki.

use crate::support::loki::{FakeLoki, LokiConfig};
use crate::support::prom::{History, Options, Prom};
use crate::support::scenario::Scenario;
use crate::support::spice::{Cluster, Run, run_bin};
use serde_json::Value;
use std::time::{Duration, Instant};

const KUBECTL: &str = "/usr/bin/kubectl";

/// `diagnose -o json ARGS` with its report.
fn diagnose(c: &Cluster, args: &[&str]) -> (Run, Value) {
    let mut all = vec!["diagnose", "-o", "json"];
    all.extend_from_slice(args);
    let run = c.spice(&all);
    let report = run.json();
    assert_eq!(report["kind"], "DiagnoseReport", "{}", run.stdout);
    (run, report)
}

/// One check of a report, with the whole report in the panic message.
#[track_caller]
fn finding<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["id"] == id))
        .unwrap_or_else(|| panic!("no check {id}: {report:#}"))
}

/// The check's outcome is `outcome` and its message contains every needle.
#[track_caller]
fn assert_finding(report: &Value, id: &str, outcome: &str, needles: &[&str]) {
    let c = finding(report, id);
    assert_eq!(c["outcome"], outcome, "{id}: {c:#}");
    let message = c["message"].as_str().unwrap_or_default();
    for needle in needles {
        assert!(
            message.contains(needle),
            "{id} message lacks {needle:?}: {c:#}"
        );
    }
}

/// What `snapshot -o FILE` saved, as JSON.
fn snapshot(c: &Cluster) -> Value {
    let path = c.dir.path().join("snapshot.json");
    let path_text = path.to_str().expect("utf-8 path");
    let run = c.spice(&["snapshot", "--force", "-o", path_text]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let text = std::fs::read_to_string(&path).expect("snapshot file");
    serde_json::from_str(&text).expect("snapshot JSON")
}

fn kubectl(c: &Cluster, args: &[&str]) -> Run {
    let kc = c.kubeconfig.to_str().expect("utf-8 path");
    let mut all = vec!["--kubeconfig", kc, "--request-timeout=20s"];
    all.extend_from_slice(args);
    run_bin(KUBECTL, &all, &[], c.dir.path())
}

// ---------------------------------------------------------------------------
// Item 2: nginx pods are never game pods.

#[test]
fn nginx_pods_are_listed_but_never_counted_as_game_pods() {
    let c = Cluster::start("healthy");
    let pods = kubectl(&c, &["get", "pods", "-A", "-o", "name"]);
    assert_eq!(pods.code, 0, "{}", pods.stderr);
    for nginx in [
        "pod/spice-runner-nginx-5c6b8d9f47-q7wzt",
        "pod/spice-runner-nginx-5c6b8d9f47-h2mxd",
    ] {
        assert!(pods.stdout.lines().any(|l| l == nginx), "{}", pods.stdout);
    }

    // The runbook's regex counts the nginx pods: 5 Running for 3 sessions.
    let prom = c.prom.as_ref().expect("prometheus");
    assert_eq!(
        prom.value(
            r#"sum(kube_pod_status_phase{namespace="default", pod=~"spice-runner-.*", phase="Running"})"#
        ),
        Some(5.0)
    );

    let run = c.spice(&["status", "-o", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let s = &run.json()["sessions"];
    assert_eq!(s["runningPods"], 3.0, "{s:#}");
    assert!(
        (s["perPod"].as_f64().expect("perPod") - 1.0).abs() < 0.05,
        "{s:#}"
    );
    assert_eq!(s["band"], "green", "{s:#}");
    let table = c.spice(&["status"]);
    assert!(table.stdout.contains("3 running pods"), "{}", table.stdout);

    let (run, report) = diagnose(&c, &["--only", "sessions.*"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_finding(&report, "sessions.ratio", "pass", &["= 1.00 (green"]);

    // The dashboard's sessions-per-pod panel reads 1 on the real Prometheus.
    let dashboard = c.spice(&["dashboard"]).json();
    let ratio = dashboard["panels"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["targets"][0]["expr"].as_str())
        .find(|e| e.contains(" / sum(kube_pod_status_phase"))
        .expect("a sessions per pod panel");
    let per_pod = prom.value(ratio).expect("a ratio");
    assert!((per_pod - 1.0).abs() < 0.05, "{ratio} = {per_pod}");
}

#[test]
fn the_alert_rules_stay_quiet_on_a_healthy_game_with_nginx_pods() {
    let scenario = Scenario::load("healthy");
    let c = Cluster::with(scenario.clone(), false);
    let rules = c.spice(&["alerts", "-o", "rules"]);
    assert_eq!(rules.code, 0, "{}", rules.stderr);
    let path = c.dir.path().join("spice-runner.rules.yml");
    std::fs::write(&path, &rules.stdout).expect("write rules");

    // The real Prometheus evaluates the rules every second over the
    // scenario's history (nginx pods included).
    let prom = Prom::start_with(
        &History::from_scenario(&scenario),
        Options {
            rule_files: vec![path],
            scrape_interval: Some("1s"),
            ..Options::default()
        },
    );
    let rules = evaluated_rules(&prom);
    assert!(rules.len() >= 4, "{rules:#?}");
    for r in &rules {
        assert_eq!(r["health"], "ok", "{r:#}");
        assert_eq!(r["state"], "inactive", "{r:#}");
    }
    assert_eq!(prom.value("count(ALERTS)"), None);
}

/// The alerting rules once Prometheus has evaluated every one of them.
fn evaluated_rules(prom: &Prom) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (code, body) = prom.get("/api/v1/rules?type=alert");
        assert_eq!(code, 200, "{body}");
        let v: Value = serde_json::from_str(&body).expect("rules JSON");
        let rules: Vec<Value> = v["data"]["groups"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default())
            .collect();
        let done = !rules.is_empty()
            && rules.iter().all(|r| {
                !r["lastEvaluation"]
                    .as_str()
                    .unwrap_or("0001")
                    .starts_with("0001")
            });
        if done {
            return rules;
        }
        assert!(Instant::now() < deadline, "rules never evaluated: {v:#}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn watch_sees_the_ratio_green_with_nginx_pods() {
    let c = Cluster::start("healthy");
    let run = c.spice(&[
        "watch",
        "-o",
        "json",
        "--until",
        "scaled",
        "--timeout",
        "20s",
        "--interval",
        "1s",
    ]);
    assert_eq!(
        run.code, 0,
        "--until scaled must hold: {}\n{}",
        run.stdout, run.stderr
    );
    let frame: Value = run
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .rfind(|v| v["kind"] == "WatchEvent")
        .expect("a WatchEvent line");
    assert_eq!(frame["band"], "green", "{frame:#}");
}

// ---------------------------------------------------------------------------
// Item 6: an unserved API answers plain text, which means "not installed".

#[test]
fn a_plain_text_404_means_the_api_is_not_installed() {
    let c = Cluster::start("keda-missing");
    let raw = c
        .sim
        .get_raw("/apis/keda.sh/v1alpha1/namespaces/default/scaledobjects/x");
    assert_eq!(
        (raw.status, raw.body.as_str()),
        (404, "404 page not found\n")
    );

    let j = snapshot(&c);
    let gap = j["gaps"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|g| g["source"] == "scaledobject")
        .unwrap_or_else(|| panic!("no scaledobject gap: {j:#}"));
    assert_eq!(gap["reason"], "notInstalled", "{gap:#}");
    assert!(
        gap["message"]
            .as_str()
            .unwrap_or_default()
            .contains("does not serve scaledobjects.keda.sh"),
        "{gap:#}"
    );
    assert!(
        j["scaledObject"].is_null(),
        "not 'missing': {}",
        j["scaledObject"]
    );
}

// ---------------------------------------------------------------------------
// Item 7: Karpenter before 1.0 serves only karpenter.sh/v1beta1.

#[test]
fn diagnose_passes_on_healthy_clusters_with_karpenter_v1beta1_and_v1() {
    for (scenario, version) in [("karpenter-v1beta1", "v1beta1"), ("healthy", "v1")] {
        let c = Cluster::start(scenario);
        let _loki = FakeLoki::serve(&c, LokiConfig::heartbeats(180.0, 3.0));
        let (run, report) = diagnose(&c, &[]);
        assert_eq!(run.code, 0, "{scenario}: {report:#}");
        assert!(
            report["rootCause"].is_null(),
            "{scenario}: {}",
            report["rootCause"]
        );
        assert_finding(
            &report,
            "nodes.scale-down",
            "pass",
            &[
                "NodePool default",
                &format!("read as karpenter.sh/{version}"),
            ],
        );
        assert_finding(
            &report,
            "nodes.scale-up",
            "pass",
            &["nothing waiting for a node"],
        );

        let snap = snapshot(&c);
        assert_eq!(snap["apis"]["karpenter"], true, "{scenario}");
        assert_eq!(snap["apis"]["karpenterVersion"], version, "{scenario}");
        assert_eq!(snap["nodeClaims"].as_array().map(Vec::len), Some(2));

        let status = c.spice(&["status"]);
        assert_eq!(status.code, 0, "{}", status.stderr);
        assert!(
            !status.stdout.contains("not installed"),
            "{}",
            status.stdout
        );
        assert!(
            status.stdout.contains("NodePools default"),
            "{}",
            status.stdout
        );
    }
    let c = Cluster::start("karpenter-v1beta1");
    // The real kubectl finds the v1beta1 resources through discovery.
    let pools = kubectl(&c, &["get", "nodepools.karpenter.sh", "-o", "name"]);
    assert_eq!(
        (pools.code, pools.stdout.trim()),
        (0, "nodepool.karpenter.sh/default"),
        "{}",
        pools.stderr
    );
    let status = c.spice(&["status"]);
    assert!(
        status
            .stdout
            .contains("Karpenter (karpenter.sh/v1beta1) NodePools default (2 nodes)"),
        "{}",
        status.stdout
    );
}

// ---------------------------------------------------------------------------
// Item 8: a rate window shorter than two scrape intervals.

#[test]
fn a_rate_window_shorter_than_two_scrapes_is_the_root_cause() {
    let c = Cluster::start("slow-scrape");
    let prom = c.prom.as_ref().expect("prometheus");
    let series = r#"nginx_http_requests_total{service="spice-runner-nginx"}"#;
    // The series is there and fresh; rate() over [1m] is empty, over [2m] not.
    assert_eq!(prom.value(&format!("sum(rate({series}[1m]))")), None);
    assert!(prom.value(&format!("sum(rate({series}[2m]))")).is_some());
    let samples = prom
        .value(&format!("count_over_time({series}[5m])"))
        .expect("samples");
    assert!((5.0..=6.0).contains(&samples), "{samples}");

    let (run, report) = diagnose(&c, &[]);
    assert_eq!(run.code, 1, "{report:#}");
    assert_eq!(report["rootCause"], "prometheus.nginx-metric", "{report:#}");
    assert_finding(
        &report,
        "prometheus.nginx-metric",
        "fail",
        &[
            "is fresh",
            "a [1m] rate window holds fewer than two samples",
            "scraped every 1m",
            "needs a window of at least [2m]",
        ],
    );
    assert!(
        !finding(&report, "prometheus.nginx-metric")["message"]
            .as_str()
            .unwrap_or_default()
            .contains("has no"),
        "never 'no nginx metric' while the series is fine"
    );
    assert_finding(
        &report,
        "keda.trigger",
        "fail",
        &["the trigger's query: a [1m] rate window", "at least [2m]"],
    );
}

// ---------------------------------------------------------------------------
// Item 9: Karpenter's events in `default`; a multi-tenant Loki.

/// `pending-no-node` with the game in namespace `games`: every namespaced
/// object moves there except the events about NodePools and NodeClaims,
/// which Karpenter's recorder (client-go) writes to `default` because their
/// objects have no namespace.
fn pending_no_node_in_games() -> Scenario {
    let mut s = Scenario::load("pending-no-node");
    s.name = "pending-no-node-in-games".into();
    for o in &mut s.objects {
        let cluster_scoped_subject = o["kind"] == "Event"
            && matches!(
                o["involvedObject"]["kind"].as_str(),
                Some("NodePool" | "NodeClaim")
            );
        if o["metadata"]["namespace"] == "default" && !cluster_scoped_subject {
            o["metadata"]["namespace"] = "games".into();
            if o["involvedObject"]["namespace"] == "default" {
                o["involvedObject"]["namespace"] = "games".into();
            }
        }
    }
    s
}

#[test]
fn karpenter_nodepool_events_are_read_in_default_when_the_game_runs_elsewhere() {
    let c = Cluster::with(pending_no_node_in_games(), true);
    let (run, report) = diagnose(&c, &["-n", "games", "--only", "nodes.*,pods.*"]);
    assert_eq!(run.code, 1, "{report:#}");
    assert_finding(&report, "nodes.scale-up", "fail", &["with no node coming"]);
    let evidence = finding(&report, "nodes.scale-up")["evidence"].to_string();
    assert!(
        evidence.contains("nodepool/default: Warning NoCompatibleInstanceTypes"),
        "the NodePool's warning, recorded in default, is evidence: {evidence}"
    );
}

#[test]
fn a_multi_tenant_loki_asks_for_its_tenant_not_whether_it_runs() {
    let c = Cluster::start("healthy");
    let loki = FakeLoki::serve(&c, LokiConfig::heartbeats(180.0, 3.0).tenant("spice-prod"));
    let (_, report) = diagnose(&c, &["--only", "loki.*"]);
    let reachable = finding(&report, "loki.reachable");
    assert_eq!(reachable["outcome"], "error", "{reachable:#}");
    assert!(
        reachable["message"].to_string().contains("no org id"),
        "{reachable:#}"
    );
    let fix = reachable["remediation"]["fix"].as_str().unwrap_or_default();
    assert!(
        fix.contains("X-Scope-OrgID") && fix.contains("lokiTenant"),
        "{fix}"
    );
    assert!(!fix.contains("is Loki running"), "{fix}");

    let (run, report) = diagnose(&c, &["--only", "loki.*", "--loki-tenant", "spice-prod"]);
    assert_eq!(run.code, 0, "{report:#}");
    assert_finding(&report, "loki.reachable", "pass", &["Loki answers"]);
    assert!(
        loki.seen()
            .iter()
            .any(|r| r.starts_with("/loki/api/v1/query")),
        "{:?}",
        loki.seen()
    );

    // A tenant Loki does not know: the header was sent, so say check it.
    let (_, report) = diagnose(&c, &["--only", "loki.*", "--loki-tenant", "other"]);
    let fix = finding(&report, "loki.reachable")["remediation"]["fix"].to_string();
    assert!(fix.contains("did not take the lokiTenant"), "{fix}");

    let env = c.spice_env(
        &["diagnose", "-o", "json", "--only", "loki.reachable"],
        &[("SPICE_LOKI_TENANT", "spice-prod")],
    );
    assert_eq!(env.code, 0, "{}", env.stdout);

    let bad = c.spice(&["diagnose", "--loki-tenant", "a b\u{7}"]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("lokiTenant"), "{}", bad.stderr);
    assert_eq!(bad.stderr.trim().lines().count(), 2, "{}", bad.stderr);
}
