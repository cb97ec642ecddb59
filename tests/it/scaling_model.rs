//! The scaling model end to end (issue 18): the real binary against the
//! cluster simulator and a real Prometheus. Draining pods after a scale-down
//! are not running pods, and an idle game's exporter scrapes are not players.

use crate::diagnose::{assert_outcome, check, checks, diagnose, table};
use crate::support::spice::Cluster;
use serde_json::Value;

fn evidence(report: &Value, id: &str) -> String {
    check(report, id)["evidence"]
        .as_array()
        .map(|e| {
            e.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

#[test]
fn draining_pods_after_a_scale_down_are_no_alarm_and_status_says_draining() {
    let c = Cluster::start("draining");
    // The real Prometheus: kube-state-metrics says Running for all three
    // (phase alone), and the plugin's query leaves them out.
    let (run, report) = diagnose(&c, &[]);
    assert_eq!(run.code, 0, "stderr: {}\n{}", run.stderr, table(&report));
    assert!(report["rootCause"].is_null(), "{}", table(&report));
    assert_eq!(report["summary"]["fail"], 0, "{}", table(&report));
    for c in checks(&report) {
        let text = format!("{} {}", c["message"], c["fix"]);
        assert!(!text.contains("outlive"), "{}", table(&report));
    }
    assert_outcome(&report, "sessions.ratio", "pass");
    assert_outcome(&report, "sessions.traffic", "pass");
    let ev = evidence(&report, "sessions.traffic");
    assert!(
        ev.contains("3 draining (deleted, grace period 300 s)"),
        "{ev}\n{}",
        table(&report)
    );

    let j = c.spice(&["status", "-o", "json"]).json();
    assert_eq!(j["pods"]["total"], 3);
    assert_eq!(j["pods"]["running"], 0);
    assert_eq!(j["pods"]["terminating"], 3);
    assert_eq!(j["pods"]["drainingGraceSecs"], 300);
    assert_eq!(j["sessions"]["runningPods"].as_f64(), Some(0.0), "{j}");
    assert_eq!(j["sessions"]["band"], "idle");

    let run = c.spice(&["status"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("0 Running (")
            && run
                .stdout
                .contains("3 draining (deleted, grace period 300 s)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("0 running pods"),
        "the sessions line counts no draining pod:\n{}",
        run.stdout
    );
}

/// No players, the exporter's stub_status reads at `scrape` s: diagnose
/// passes, and sessions.traffic names the floor and says the rate is not
/// players; status shows the game idle, not red.
fn idle_at_the_scrape_floor(scenario: &str, scrape: &str, rate: &str) {
    let c = Cluster::start(scenario);
    let (run, report) = diagnose(&c, &[]);
    assert_eq!(run.code, 0, "stderr: {}\n{}", run.stderr, table(&report));
    assert!(report["rootCause"].is_null(), "{}", table(&report));
    assert_eq!(report["summary"]["fail"], 0, "{}", table(&report));
    for id in ["sessions.ratio", "sessions.traffic", "keda.active"] {
        assert_outcome(&report, id, "pass");
    }
    let ev = evidence(&report, "sessions.traffic");
    assert!(
        ev.contains(&format!("{rate} req/s is not players: exporter scrapes")),
        "{ev}"
    );
    assert!(
        ev.contains(&format!("1 exporter series read every {scrape} s")),
        "{ev}"
    );
    assert!(ev.contains("probes on nginx not counted"), "{ev}");
    assert!(ev.contains("activationThreshold 0.2"), "{ev}");

    let j = c.spice(&["status", "-o", "json"]).json();
    assert_eq!(j["sessions"]["band"], "idle", "{}", j["sessions"]);
    let floor = j["sessions"]["idleFloor"].as_f64().unwrap_or_default();
    let expected = 1.0 / scrape.parse::<f64>().unwrap_or(1.0);
    assert!((floor - expected).abs() < 1e-6, "{}", j["sessions"]);
    let text = c.spice(&["status"]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert!(
        text.stdout
            .contains(&format!("{rate} req/s is not players: exporter scrapes")),
        "{}",
        text.stdout
    );
}

#[test]
fn idle_at_a_15_s_scrape_floor_passes_and_names_the_exporter_scrapes() {
    idle_at_the_scrape_floor("idle-floor-15s", "15", "0.067");
}

#[test]
fn idle_at_a_30_s_scrape_floor_passes_and_names_the_exporter_scrapes() {
    idle_at_the_scrape_floor("idle-floor-30s", "30", "0.033");
}

#[test]
fn idle_floor_above_the_activation_threshold_is_the_root_cause_with_its_fix() {
    let c = Cluster::start("idle-floor-above-activation");
    let (run, report) = diagnose(&c, &[]);
    assert_eq!(run.code, 1, "stderr: {}\n{}", run.stderr, table(&report));
    let root = report["rootCause"]["id"]
        .as_str()
        .or(report["rootCause"].as_str())
        .unwrap_or_default()
        .to_string();
    assert!(
        root == "sessions.ratio" || root == "sessions.traffic",
        "root cause {root}:\n{}",
        table(&report)
    );
    for id in ["sessions.ratio", "sessions.traffic"] {
        assert_outcome(&report, id, "fail");
        let m = crate::diagnose::message(&report, id);
        assert!(
            m.contains("KEDA never scales to zero")
                && m.contains("idle floor 0.067 req/s")
                && m.contains("activationThreshold 0"),
            "{id}: {m}"
        );
        let fix = crate::diagnose::fix(&report, id);
        assert!(
            fix.contains("raise the trigger's activationThreshold above the floor")
                && fix.contains("subtract the exporter's scrapes"),
            "{id}: {fix}"
        );
        assert!(
            !m.contains("outlive") && !fix.contains("cooldownPeriod"),
            "{id}: {m} / {fix}"
        );
    }
    let ev = evidence(&report, "sessions.traffic");
    assert!(ev.contains("1 exporter series read every 15 s"), "{ev}");
}
