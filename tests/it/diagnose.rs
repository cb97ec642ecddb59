//! `kubectl spice diagnose` end to end: the real binary against the cluster
//! simulator, a real Prometheus with each scenario's metric history, and the
//! fake Loki of `support::loki`. Each chain-break scenario must be blamed on
//! the right link, the checks behind that link must say who blocked them, and
//! a source the user cannot read must give `error`/`skip`, never `fail`.

use crate::support::loki::{FakeLoki, LokiConfig};
use crate::support::scenario::{Forbidden, Scenario, scenarios_dir};
use crate::support::spice::{BIN, Cluster, Run, run_bin};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

// ---------------------------------------------------------------------------
// Helpers

/// `diagnose -o json ARGS`, checked to be a DiagnoseReport.
pub(crate) fn diagnose(c: &Cluster, args: &[&str]) -> (Run, Value) {
    let mut all = vec!["diagnose", "-o", "json"];
    all.extend_from_slice(args);
    let run = c.spice(&all);
    let report = checked_report(&run);
    (run, report)
}

fn checked_report(run: &Run) -> Value {
    let j = run.json();
    assert_eq!(
        j["apiVersion"], "spice.kubectl.dev/v1alpha1",
        "{}",
        run.stdout
    );
    assert_eq!(j["kind"], "DiagnoseReport", "{}", run.stdout);
    j
}

/// The first line after the header block of a text report.
fn headline(text: &str) -> &str {
    text.lines()
        .skip_while(|l| !l.is_empty())
        .nth(1)
        .unwrap_or_default()
}

pub(crate) fn checks(report: &Value) -> &Vec<Value> {
    report["checks"].as_array().expect("checks[]")
}

fn ids(report: &Value) -> Vec<String> {
    checks(report)
        .iter()
        .map(|c| c["id"].as_str().expect("id").to_string())
        .collect()
}

/// One line per check, for failure messages.
pub(crate) fn table(report: &Value) -> String {
    let mut out = format!(
        "rootCause {} summary {}\n",
        report["rootCause"], report["summary"]
    );
    for c in checks(report) {
        out.push_str(&format!(
            "  {:<6} {:<30} {} (blockedBy {})\n",
            c["outcome"].as_str().unwrap_or("?"),
            c["id"].as_str().unwrap_or("?"),
            c["message"].as_str().unwrap_or(""),
            c["blockedBy"]
        ));
    }
    out
}

pub(crate) fn check<'a>(report: &'a Value, id: &str) -> &'a Value {
    checks(report)
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id} in the report:\n{}", table(report)))
}

pub(crate) fn outcome<'a>(report: &'a Value, id: &str) -> &'a str {
    check(report, id)["outcome"].as_str().expect("outcome")
}

pub(crate) fn message<'a>(report: &'a Value, id: &str) -> &'a str {
    check(report, id)["message"].as_str().expect("message")
}

pub(crate) fn fix<'a>(report: &'a Value, id: &str) -> &'a str {
    check(report, id)["remediation"]["fix"]
        .as_str()
        .unwrap_or_default()
}

#[track_caller]
pub(crate) fn assert_outcome(report: &Value, id: &str, expected: &str) {
    assert_eq!(
        outcome(report, id),
        expected,
        "{id} should be {expected}:\n{}",
        table(report)
    );
}

#[track_caller]
pub(crate) fn assert_root_cause(run: &Run, report: &Value, id: &str) {
    assert_eq!(
        run.code,
        1,
        "a failed check exits 1; stderr: {}\n{}",
        run.stderr,
        table(report)
    );
    assert_eq!(report["rootCause"], id, "root cause:\n{}", table(report));
    assert_outcome(report, id, "fail");
    assert!(
        check(report, id)["blockedBy"].is_null(),
        "the root cause is never blocked:\n{}",
        table(report)
    );
    assert!(
        !fix(report, id).is_empty(),
        "the root cause says what to change:\n{}",
        check(report, id)
    );
}

/// Every check that names `need` among its needs is a skip blocked by it.
#[track_caller]
fn assert_dependents_blocked(report: &Value, need: &str) -> usize {
    let mut n = 0;
    for c in checks(report) {
        let needs: Vec<&str> = c["needs"]
            .as_array()
            .expect("needs[]")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        if needs.contains(&need) {
            n += 1;
            assert_eq!(
                c["outcome"],
                "skip",
                "{} needs {need}:\n{}",
                c["id"],
                table(report)
            );
            assert_eq!(c["blockedBy"], need, "{}:\n{}", c["id"], table(report));
            let msg = c["message"].as_str().unwrap_or_default();
            assert!(msg.contains(&format!("blocked by {need}")), "{msg}");
        }
    }
    n
}

#[track_caller]
pub(crate) fn assert_summary_counts(report: &Value) {
    let s = &report["summary"];
    let total: u64 = ["pass", "warn", "fail", "skip", "error"]
        .iter()
        .map(|k| s[k].as_u64().expect("count"))
        .sum();
    assert_eq!(total as usize, checks(report).len(), "{s}");
    for (key, word) in [("fail", "fail"), ("warn", "warn"), ("error", "error")] {
        let n = checks(report)
            .iter()
            .filter(|c| c["outcome"] == word)
            .count();
        assert_eq!(s[key].as_u64(), Some(n as u64), "summary.{key}: {s}");
    }
}

/// Writes a config file into the cluster's temp dir.
fn config_file(c: &Cluster, name: &str, text: &str) -> PathBuf {
    let path = c.dir.path().join(name);
    std::fs::write(&path, text).expect("write config");
    path
}

/// Runs the binary with no cluster at all (explain, --from).
fn offline(args: &[&str]) -> Run {
    let home = tempfile::tempdir().expect("tempdir");
    run_bin(BIN, args, &[], home.path())
}

fn examples_dir() -> PathBuf {
    scenarios_dir().join("examples")
}

/// The no-scale-up troubleshooting tree of the runbook, in its order.
const NO_SCALE_UP: &[&str] = &[
    "keda.paused",
    "sessions.traffic",
    "prometheus.reachable",
    "prometheus.nginx-metric",
    "keda.scaledobject",
    "keda.ready",
    "keda.trigger",
    "keda.operator-logs",
    "keda.active",
    "hpa.metric",
    "pods.pending",
    "nodes.scale-up",
];

// ---------------------------------------------------------------------------
// The healthy cluster and the command's flags

#[test]
fn healthy_cluster_fails_nothing_and_warns_only_about_the_runbook_cooldown() {
    let c = Cluster::start("healthy");
    let _loki = FakeLoki::serve(&c, LokiConfig::heartbeats(180.0, 3.0));
    let (run, report) = diagnose(&c, &[]);
    assert_eq!(run.code, 0, "stderr: {}\n{}", run.stderr, table(&report));
    assert!(report["rootCause"].is_null(), "{}", table(&report));
    assert_eq!(report["summary"]["fail"], 0, "{}", table(&report));
    assert_eq!(report["summary"]["error"], 0, "{}", table(&report));
    assert_summary_counts(&report);
    assert_eq!(report["context"], "sim");
    assert_eq!(report["namespace"], "default");
    // Warnings are allowed, but only the runbook's own arithmetic: a 60 s
    // target cannot hold with a 1 m rate window plus cooldown 30 s.
    for c in checks(&report) {
        if c["outcome"] == "warn" {
            assert_eq!(
                c["id"],
                "keda.cooldown",
                "unexpected warning:\n{}",
                table(&report)
            );
        }
    }
    for id in [
        "prometheus.nginx-metric",
        "keda.ready",
        "keda.active",
        "hpa.conditions",
        "hpa.metric",
        "pods.pending",
        "nodes.scale-up",
        "sessions.ratio",
        "loki.reachable",
        "loki.heartbeats",
        "loki.zombies",
    ] {
        assert_outcome(&report, id, "pass");
    }
    // Every finding carries its identity and its links.
    for c in checks(&report) {
        for field in ["id", "area", "title", "outcome", "message", "runbook"] {
            assert!(c[field].is_string(), "{field} of {c}");
        }
        assert!(c["evidence"].is_array() && c["needs"].is_array(), "{c}");
        assert!(c["blockedBy"].is_null(), "{c}");
    }
    // The same run as `explain --list` names: every registered check ran.
    let list = offline(&["explain", "--list"]);
    assert_eq!(list.code, 0, "{}", list.stderr);
    let listed: Vec<&str> = list
        .stdout
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(listed, ids(&report), "explain --list and diagnose disagree");

    // --fail-on warn turns the cooldown warning into exit 1, with the same report.
    let (strict, strict_report) = diagnose(&c, &["--fail-on", "warn"]);
    assert_eq!(strict.code, 1, "stderr: {}", strict.stderr);
    assert_eq!(strict_report["summary"], report["summary"]);
}

#[test]
fn only_skip_and_symptom_choose_the_checks_and_their_order() {
    let c = Cluster::start("healthy");

    let (run, only) = diagnose(&c, &["--only", "keda.*"]);
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    let keda: Vec<String> = ids(&only);
    assert!(keda.len() >= 10, "{keda:?}");
    assert!(keda.iter().all(|id| id.starts_with("keda.")), "{keda:?}");
    assert_summary_counts(&only);

    // Two patterns, comma-separated, exact ids.
    let (_, two) = diagnose(&c, &["--only", "hpa.exists,pods.pending"]);
    assert_eq!(ids(&two), ["hpa.exists", "pods.pending"]);

    let (run, skipped) = diagnose(&c, &["--skip", "keda.*", "--skip", "loki.*"]);
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    let rest = ids(&skipped);
    assert!(
        rest.iter()
            .all(|id| !id.starts_with("keda.") && !id.starts_with("loki.")),
        "{rest:?}"
    );
    assert!(rest.contains(&"hpa.exists".to_string()), "{rest:?}");
    // A check hidden by --skip still unblocks (or blocks) the ones shown.
    assert_outcome(&skipped, "hpa.exists", "pass");

    let bad = c.spice(&["diagnose", "--only", "kdea.*"]);
    assert_eq!(bad.code, 2, "an unknown pattern is a usage error: {bad:?}");
    assert!(bad.stdout.is_empty(), "{}", bad.stdout);
    assert!(bad.stderr.contains("kdea.*"), "{}", bad.stderr);
    assert!(
        bad.stderr.contains("explain --list"),
        "hint: {}",
        bad.stderr
    );
    let bad_skip = c.spice(&["diagnose", "--skip", "nodes.nope"]);
    assert_eq!(bad_skip.code, 2, "{}", bad_skip.stderr);

    let (run, chain) = diagnose(&c, &["--symptom", "no-scale-up"]);
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    assert_eq!(chain["symptom"], "no-scale-up");
    assert_eq!(ids(&chain), NO_SCALE_UP, "the runbook's order");
}

#[test]
fn a_config_file_silences_checks_as_skips() {
    let c = Cluster::start("healthy");
    let config = config_file(&c, "silence.yaml", "silence:\n- pods.sidecar\n");
    let config = config.to_str().expect("utf-8");
    let (run, report) = diagnose(&c, &["--config", config]);
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    assert_outcome(&report, "pods.sidecar", "skip");
    assert!(
        message(&report, "pods.sidecar").contains("silenced"),
        "{}",
        message(&report, "pods.sidecar")
    );
    assert_outcome(&report, "pods.crashloop", "pass");
}

// ---------------------------------------------------------------------------
// One scenario per broken link

#[test]
fn no_metric_is_blamed_on_the_missing_nginx_series() {
    let c = Cluster::start("no-metric");
    let (run, report) = diagnose(&c, &[]);
    assert_root_cause(&run, &report, "prometheus.nginx-metric");
    let msg = message(&report, "prometheus.nginx-metric");
    assert!(
        msg.contains(r#"nginx_http_requests_total{service="spice-runner-nginx"}"#),
        "{msg}"
    );
    assert!(
        fix(&report, "prometheus.nginx-metric").contains("service"),
        "{}",
        fix(&report, "prometheus.nginx-metric")
    );
    assert_outcome(&report, "prometheus.reachable", "pass");
    assert_outcome(&report, "prometheus.kube-state-metrics", "pass");
    // KEDA itself is fine: it does what an empty answer tells it.
    assert_outcome(&report, "keda.ready", "pass");
    assert_outcome(&report, "hpa.conditions", "pass");
    let blocked = assert_dependents_blocked(&report, "prometheus.nginx-metric");
    assert!(
        blocked >= 3,
        "keda.active, sessions.* and alerts.* need the metric"
    );
    for id in ["keda.active", "sessions.ratio", "sessions.traffic"] {
        assert_eq!(check(&report, id)["blockedBy"], "prometheus.nginx-metric");
    }
    assert_eq!(
        report["summary"]["fail"],
        1,
        "one broken link, one failure:\n{}",
        table(&report)
    );
    assert_summary_counts(&report);
}

#[test]
fn keda_paused_is_blamed_on_the_pause_annotation_and_the_missing_hpa_is_expected() {
    let c = Cluster::start("keda-paused");
    let (run, report) = diagnose(&c, &[]);
    assert_root_cause(&run, &report, "keda.paused");
    assert!(
        message(&report, "keda.paused").contains("autoscaling.keda.sh/paused"),
        "{}",
        message(&report, "keda.paused")
    );
    assert_eq!(
        fix(&report, "keda.paused"),
        "kubectl annotate scaledobject spice-runner-keda -n default autoscaling.keda.sh/paused-"
    );
    // KEDA deletes its HPA while paused: that is no second failure.
    assert_outcome(&report, "keda.ready", "pass");
    assert_outcome(&report, "hpa.exists", "skip");
    assert!(
        message(&report, "hpa.exists").contains("paused"),
        "{}",
        message(&report, "hpa.exists")
    );
    assert_outcome(&report, "hpa.conditions", "skip");
    assert_outcome(&report, "hpa.metric", "skip");
    assert_outcome(&report, "keda.active", "skip");
    for c in checks(&report) {
        if c["area"] == "hpa" {
            assert_ne!(c["outcome"], "fail", "{}", table(&report));
        }
    }
    assert_summary_counts(&report);
}

#[test]
fn operator_erroring_is_blamed_on_keda_readiness_with_the_operator_s_own_lines() {
    let c = Cluster::start("operator-erroring");
    let (run, report) = diagnose(&c, &[]);
    assert_root_cause(&run, &report, "keda.ready");
    assert!(
        message(&report, "keda.ready").contains("TriggerError"),
        "{}",
        message(&report, "keda.ready")
    );
    // The operator's ERROR lines and the KEDAScalerFailed event both fail on
    // their own (they need the operator and the ScaledObject, not Ready).
    assert_outcome(&report, "keda.operator", "pass");
    assert_outcome(&report, "keda.operator-logs", "fail");
    let logs = check(&report, "keda.operator-logs");
    let evidence = logs["evidence"].to_string();
    assert!(
        evidence.contains("error getting scale decision"),
        "{evidence}"
    );
    assert!(
        evidence.contains("error executing prometheus query"),
        "{evidence}"
    );
    assert!(
        logs["remediation"]["fix"]
            .as_str()
            .unwrap_or_default()
            .contains("serverAddress"),
        "{logs}"
    );
    assert_outcome(&report, "keda.events", "fail");
    assert!(
        message(&report, "keda.events").contains("KEDAScalerFailed"),
        "{}",
        message(&report, "keda.events")
    );
    // What needs readiness is blocked by it.
    assert_dependents_blocked(&report, "keda.ready");
    for id in ["keda.active", "hpa.exists"] {
        assert_eq!(check(&report, id)["blockedBy"], "keda.ready", "{id}");
    }
    assert_summary_counts(&report);
}

/// Blocking is transitive: hpa.conditions and hpa.metric need hpa.exists,
/// which is blocked by keda.ready, so they are blocked by keda.ready too,
/// instead of failing a second time on the consequence of the same break
/// (the HPA reads the same broken scaler through KEDA's metrics server).
#[test]
fn operator_erroring_blocks_the_hpa_checks_behind_keda_ready_transitively() {
    let c = Cluster::start("operator-erroring");
    let (_, report) = diagnose(&c, &[]);
    for id in ["hpa.exists", "hpa.conditions", "hpa.metric"] {
        assert_outcome(&report, id, "skip");
        assert_eq!(
            check(&report, id)["blockedBy"],
            "keda.ready",
            "{id}:\n{}",
            table(&report)
        );
    }
}

/// The root cause is printed first with its fix; for a TriggerError that fix
/// must name what the evidence in the same snapshot shows (the trigger's
/// serverAddress cannot be resolved), not a generic "fix the quoted error"
/// with nothing quoted.
#[test]
fn operator_erroring_root_cause_names_the_scaler_error() {
    let c = Cluster::start("operator-erroring");
    let (_, report) = diagnose(&c, &[]);
    let root = check(&report, "keda.ready");
    let said = format!("{} {}", root["message"], root["evidence"]);
    assert!(
        said.contains("no such host"),
        "keda.ready should quote the scaler error behind TriggerError (KEDAScalerFailed, operator log):\n{root:#}"
    );
    let fix = root["remediation"]["fix"].as_str().unwrap_or_default();
    assert!(
        fix.contains("does not reach Prometheus"),
        "the fix for an unresolvable serverAddress: {fix}"
    );
}

#[test]
fn hpa_inactive_is_blamed_on_the_metrics_apiserver_the_hpa_cannot_read() {
    let c = Cluster::start("hpa-inactive");
    let (run, report) = diagnose(&c, &[]);
    assert_root_cause(&run, &report, "keda.metrics-apiserver");
    assert_outcome(&report, "hpa.conditions", "fail");
    let msg = message(&report, "hpa.conditions");
    assert!(msg.contains("ScalingActive"), "{msg}");
    assert!(msg.contains("FailedGetExternalMetric"), "{msg}");
    assert_outcome(&report, "hpa.metric", "fail");
    assert!(
        message(&report, "hpa.metric").contains("<unknown>"),
        "{}",
        message(&report, "hpa.metric")
    );
    // KEDA's own loop still works: nothing before the HPA fails.
    for id in [
        "prometheus.nginx-metric",
        "keda.ready",
        "keda.active",
        "keda.operator-logs",
        "keda.events",
        "hpa.exists",
    ] {
        assert_outcome(&report, id, "pass");
    }
    assert_summary_counts(&report);
}

#[test]
fn pending_without_a_node_coming_is_blamed_on_pending_pods_and_every_format_says_so() {
    let c = Cluster::start("pending-no-node");
    let (run, report) = diagnose(&c, &[]);
    assert_root_cause(&run, &report, "pods.pending");
    assert!(
        message(&report, "pods.pending").contains("Unschedulable"),
        "{}",
        message(&report, "pods.pending")
    );
    assert_outcome(&report, "nodes.scale-up", "fail");
    let scale_up = check(&report, "nodes.scale-up");
    assert!(
        scale_up["evidence"]
            .to_string()
            .contains("NoCompatibleInstanceTypes"),
        "the NodePool's warning is the evidence: {scale_up:#}"
    );
    assert!(
        scale_up["evidence"].to_string().contains("no NodeClaim"),
        "{scale_up:#}"
    );
    // Everything upstream of the pods is healthy.
    for id in ["keda.ready", "keda.active", "hpa.conditions", "hpa.metric"] {
        assert_outcome(&report, id, "pass");
    }
    let fails = report["summary"]["fail"].as_u64().expect("fail count");

    // The table (piped: no colour) opens with the root cause, then fix and look.
    let human = c.spice(&["diagnose"]);
    assert_eq!(human.code, 1, "{}", human.stderr);
    assert!(
        !human.stdout.contains('\u{1b}'),
        "colour when piped:\n{}",
        human.stdout
    );
    let lines: Vec<&str> = human.stdout.lines().collect();
    assert!(
        lines[0].starts_with("spice-runner in namespace default · context sim"),
        "{}",
        lines[0]
    );
    let body = headline(&human.stdout);
    assert!(
        body.starts_with("ROOT CAUSE ✗ pods.pending"),
        "the body starts with the root cause:\n{}",
        human.stdout
    );
    assert!(
        lines.iter().any(|l| l.trim_start().starts_with("fix: ")),
        "{}",
        human.stdout
    );
    assert!(
        lines.iter().any(|l| l.trim_start()
            == "look: kubectl describe pod spice-runner-7d9c8b5f4-6vtrl -n default"),
        "{}",
        human.stdout
    );
    assert!(
        lines
            .last()
            .is_some_and(|l| l.contains(&format!("{fails} fail"))),
        "summary line last:\n{}",
        human.stdout
    );

    // JUnit: well-formed, one testcase per check, failures = summary.fail.
    let junit = c.spice(&["diagnose", "-o", "junit"]);
    assert_eq!(junit.code, 1, "{}", junit.stderr);
    assert_well_formed_xml(&junit.stdout);
    assert_eq!(
        junit.stdout.matches("<testcase ").count(),
        checks(&report).len(),
        "{}",
        junit.stdout
    );
    let root = junit
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("<testsuites "))
        .expect("<testsuites>");
    assert_eq!(
        xml_attr(root, "failures"),
        Some(fails.to_string()),
        "{root}"
    );
    assert_eq!(
        xml_attr(root, "tests"),
        Some(checks(&report).len().to_string()),
        "{root}"
    );
    assert_eq!(junit.stdout.matches("<failure ").count() as u64, fails);

    // Markdown, to paste into an incident channel.
    let md = c.spice(&["diagnose", "-o", "markdown"]);
    assert_eq!(md.code, 1, "{}", md.stderr);
    assert!(
        md.stdout.starts_with("### kubectl spice diagnose"),
        "{}",
        md.stdout
    );
    assert!(
        md.stdout.contains("**Root cause:** `pods.pending`"),
        "{}",
        md.stdout
    );
}

#[test]
fn crashloop_is_blamed_on_the_crashing_pod() {
    let c = Cluster::start("crashloop");
    let (run, report) = diagnose(&c, &[]);
    assert_root_cause(&run, &report, "pods.crashloop");
    let msg = message(&report, "pods.crashloop");
    assert!(msg.contains("spice-runner-7d9c8b5f4-d4hnb"), "{msg}");
    assert!(msg.contains("7 restarts"), "{msg}");
    assert_eq!(report["summary"]["fail"], 1, "{}", table(&report));
}

/// The regression of issue 17: a crash-looping pod hidden behind a pod list
/// that answers 500 printed "nothing failed" and exited 0.
#[test]
fn a_crashloop_behind_an_unreadable_pod_list_is_incomplete_never_a_pass() {
    let c = Cluster::start("crashloop");
    c.sim.inject(
        "/api/v1/namespaces/default/pods",
        crate::support::sim::Fault::status(500),
    );
    let (run, report) = diagnose(&c, &[]);
    assert_eq!(run.code, 3, "{}\n{}", run.stderr, table(&report));
    let summary = &report["summary"];
    assert_eq!(summary["fail"], 0, "{}", table(&report));
    assert_eq!(summary["incomplete"], true);
    let unread = summary["unreadSources"].as_array().expect("unreadSources");
    let pods = unread
        .iter()
        .find(|u| u["source"] == "pods")
        .unwrap_or_else(|| panic!("pods not named: {summary}"));
    let blocked: Vec<&str> = pods["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for id in ["pods.crashloop", "pods.pending", "nodes.scale-up"] {
        assert!(blocked.contains(&id), "{id} not among {blocked:?}");
        assert_eq!(outcome(&report, id), "error", "{}", table(&report));
    }
    assert!(
        summary["couldNotRun"].as_u64().unwrap_or(0) >= blocked.len() as u64,
        "{summary}"
    );
    assert_summary_counts(&report);

    // Every format says so: the text headline, JUnit errors, Markdown.
    let text = c.spice(&["diagnose"]);
    assert_eq!(text.code, 3, "{}", text.stderr);
    // The headline follows the header block (its lines, then a blank one).
    let head = headline(&text.stdout);
    assert!(head.starts_with("INCOMPLETE: "), "{}", text.stdout);
    assert!(head.contains("checks could not run"), "{head}");
    assert!(text.stdout.contains("? pods (error): "), "{}", text.stdout);
    assert!(!text.stdout.contains("nothing failed;"), "{}", text.stdout);
    assert!(
        text.stdout
            .lines()
            .last()
            .unwrap_or_default()
            .contains("INCOMPLETE"),
        "{}",
        text.stdout
    );
    let junit = c.spice(&["diagnose", "-o", "junit"]);
    assert_eq!(junit.code, 3, "{}", junit.stderr);
    assert_well_formed_xml(&junit.stdout);
    let errors = junit.stdout.matches("<error message=").count();
    assert!(errors >= 5, "{}", junit.stdout);
    assert!(
        junit.stdout.contains(r#"name="pods.crashloop""#)
            && junit.stdout.contains("could not read pods"),
        "{}",
        junit.stdout
    );
    let md = c.spice(&["diagnose", "-o", "markdown"]);
    assert_eq!(md.code, 3, "{}", md.stderr);
    assert!(md.stdout.contains("**INCOMPLETE: "), "{}", md.stdout);
    assert!(!md.stdout.contains("No check failed"), "{}", md.stdout);
    // --fail-on warn never turns a gap into a pass.
    let warn = c.spice(&["diagnose", "--fail-on", "warn"]);
    assert!(warn.code == 3 || warn.code == 1, "{}", warn.code);

    // The pods are readable again, Prometheus is not: the crash loop fails
    // the run (1 wins over 3) and the gap is still named.
    c.sim.clear_faults();
    let c = Cluster::without_prometheus("crashloop");
    let (run, report) = diagnose(&c, &[]);
    assert_root_cause(&run, &report, "pods.crashloop");
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(report["summary"]["incomplete"], true);
    let text = c.spice(&["diagnose"]);
    assert_eq!(text.code, 1);
    assert!(text.stdout.contains("ROOT CAUSE"), "{}", text.stdout);
    assert!(text.stdout.contains("\nINCOMPLETE: "), "{}", text.stdout);
    assert!(
        !text.stdout.contains("nothing that was read failed"),
        "{}",
        text.stdout
    );
}

#[test]
fn forbidden_scaledobjects_give_errors_and_skips_never_failures() {
    let c = Cluster::start("forbidden-scaledobjects");
    let (run, report) = diagnose(&c, &[]);
    assert_eq!(
        run.code,
        3,
        "nothing failed but 12 checks could not run: incomplete, exit 3: {}\n{}",
        run.stderr,
        table(&report)
    );
    let summary = &report["summary"];
    assert_eq!(summary["incomplete"], true, "{summary}");
    assert_eq!(summary["couldNotRun"], 12, "{}", table(&report));
    let unread = summary["unreadSources"].as_array().expect("unreadSources");
    assert_eq!(unread.len(), 1, "{summary}");
    assert_eq!(unread[0]["source"], "scaledobject");
    assert_eq!(unread[0]["reason"], "forbidden");
    assert!(
        unread[0]["hint"]
            .as_str()
            .unwrap_or_default()
            .contains("scaledobjects"),
        "{summary}"
    );
    assert!(
        run.stderr.contains("INCOMPLETE: 12 checks could not run"),
        "a machine format still says why on stderr: {}",
        run.stderr
    );
    // --fail-on warn makes warnings fail; it never turns a gap into a pass.
    let (run, _) = diagnose(&c, &["--fail-on", "warn"]);
    assert!(run.code == 1 || run.code == 3, "{}", run.code);
    // The text report leads with what could not run, never "nothing failed".
    let text = c.spice(&["diagnose"]);
    assert_eq!(text.code, 3, "{}", text.stderr);
    // The headline follows the header block (its lines, then a blank one).
    let head = headline(&text.stdout);
    assert!(
        head.starts_with("INCOMPLETE: 12 checks could not run (1 source could not be read)"),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout.contains("scaledobject (forbidden)"),
        "{}",
        text.stdout
    );
    assert!(!text.stdout.contains("nothing failed;"), "{}", text.stdout);
    assert!(!text.stdout.contains("healthy"), "{}", text.stdout);
    assert!(report["rootCause"].is_null(), "{}", table(&report));
    assert_eq!(report["summary"]["fail"], 0, "{}", table(&report));
    for c in checks(&report) {
        assert_ne!(c["outcome"], "fail", "{}", table(&report));
    }
    assert_outcome(&report, "keda.scaledobject", "error");
    assert!(
        message(&report, "keda.scaledobject").contains("forbidden"),
        "{}",
        message(&report, "keda.scaledobject")
    );
    let grant = fix(&report, "keda.scaledobject");
    assert!(
        grant.contains("scaledobjects") && grant.contains("keda.sh") && grant.contains("get"),
        "the RBAC to grant: {grant}"
    );
    for id in ["keda.ready", "keda.paused", "keda.active", "keda.trigger"] {
        let o = outcome(&report, id);
        assert!(o == "error" || o == "skip", "{id}: {o}\n{}", table(&report));
    }
    assert!(
        report["gaps"]
            .as_array()
            .expect("gaps")
            .iter()
            .any(|g| g["source"] == "scaledobject" && g["reason"] == "forbidden"),
        "{}",
        report["gaps"]
    );
    // An unreadable ScaledObject blocks only the checks that read it; the
    // HPA is readable, so its checks still judge (fail forward).
    for id in ["hpa.exists", "hpa.conditions", "hpa.metric"] {
        let c = check(&report, id);
        assert!(c["outcome"] == "pass", "{id}:\n{}", table(&report));
    }
    for id in [
        "pods.crashloop",
        "pods.pending",
        "nodes.scale-up",
        "sessions.ratio",
        "prometheus.nginx-metric",
    ] {
        assert_outcome(&report, id, "pass");
    }
    assert_summary_counts(&report);
}

#[test]
fn unreachable_prometheus_and_unreadable_logs_are_errors_not_failures() {
    // Prometheus down behind its Service: what needs it could not look.
    let c = Cluster::without_prometheus("healthy");
    let (run, report) = diagnose(&c, &[]);
    assert_eq!(run.code, 3, "{}\n{}", run.stderr, table(&report));
    assert_eq!(report["summary"]["incomplete"], true);
    assert_eq!(
        report["summary"]["unreadSources"][0]["source"], "prometheus",
        "{}",
        report["summary"]
    );
    assert!(report["rootCause"].is_null(), "{}", table(&report));
    for c in checks(&report) {
        assert_ne!(c["outcome"], "fail", "{}", table(&report));
    }
    assert_outcome(&report, "prometheus.reachable", "error");
    assert!(
        !fix(&report, "prometheus.reachable").is_empty(),
        "{}",
        check(&report, "prometheus.reachable")
    );
    for id in ["sessions.ratio", "sessions.traffic", "keda.active"] {
        let o = outcome(&report, id);
        assert!(o == "error" || o == "skip", "{id}: {o}\n{}", table(&report));
    }
    // What does not need Prometheus still judges.
    assert_outcome(&report, "keda.ready", "pass");
    assert_outcome(&report, "hpa.conditions", "pass");

    // The operator's logs are forbidden: that check errors with the RBAC to
    // grant, and the chain still finds the break from the other evidence.
    let mut scenario = Scenario::load("operator-erroring");
    scenario.meta.forbidden.push(Forbidden {
        verb: "get".into(),
        resource: "pods/log".into(),
        group: String::new(),
        namespace: Some("keda".into()),
    });
    let c = Cluster::with(scenario, true);
    let (run, report) = diagnose(&c, &[]);
    assert_root_cause(&run, &report, "keda.ready");
    assert_outcome(&report, "keda.operator-logs", "error");
    let grant = fix(&report, "keda.operator-logs");
    assert!(
        grant.contains("pods/log") && grant.contains("keda"),
        "{grant}"
    );
    assert_outcome(&report, "keda.events", "fail");
}

// ---------------------------------------------------------------------------
// Loki: served, matching nothing, rejecting the query, down, absent

#[test]
fn loki_answers_are_judged_and_loki_trouble_is_never_a_failure() {
    let c = Cluster::start("healthy");
    let loki = FakeLoki::serve(&c, LokiConfig::heartbeats(180.0, 3.0));

    // Heartbeats at 0.2/s for each of 3 sessions, 3 active: all pass.
    let (run, report) = diagnose(&c, &["--only", "loki.*"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for id in ["loki.reachable", "loki.heartbeats", "loki.zombies"] {
        assert_outcome(&report, id, "pass");
    }
    assert!(
        message(&report, "loki.heartbeats").contains("180"),
        "{}",
        message(&report, "loki.heartbeats")
    );
    // The plugin asks with the runbook's own selector by default.
    let seen = loki.seen();
    assert!(
        seen.iter().any(|q| q.starts_with("/loki/api/v1/query ")
            && q.contains(r#"{job="faro"} | logfmt | event_name="game_session_heartbeat""#)),
        "{seen:#?}"
    );

    // {job="faro"} matches no stream; Loki has other labels: name them.
    loki.set_config(LokiConfig::new().empty("count_over_time").labels(&[
        "app",
        "kind",
        "service_name",
    ]));
    let (run, report) = diagnose(&c, &["--only", "loki.*"]);
    assert_eq!(run.code, 0, "a warning is no failure: {}", run.stderr);
    assert_outcome(&report, "loki.reachable", "pass");
    assert_outcome(&report, "loki.heartbeats", "warn");
    let msg = message(&report, "loki.heartbeats");
    for label in ["job", "app", "kind", "service_name"] {
        assert!(msg.contains(label), "{label} missing from: {msg}");
    }
    assert_outcome(&report, "loki.zombies", "skip");

    // Loki rejects the LogQL (plain-text 400): the check could not look, so
    // the run is incomplete (exit 3), not a failure.
    loki.set_config(LokiConfig::new().bad_query(
        "parse error at line 1, col 14: syntax error: unexpected IDENTIFIER, expecting STRING",
    ));
    let (run, report) = diagnose(&c, &["--only", "loki.*"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert_outcome(&report, "loki.heartbeats", "error");
    assert!(
        message(&report, "loki.heartbeats").contains("parse error"),
        "{}",
        message(&report, "loki.heartbeats")
    );
    for c in checks(&report) {
        assert_ne!(c["outcome"], "fail", "{}", table(&report));
    }

    // Loki down behind its Service (the proxy answers 503): errors, with
    // advice about Loki, not the Prometheus wording of the shared HTTP client.
    drop(loki);
    let (run, report) = diagnose(&c, &["--only", "loki.*"]);
    assert_eq!(run.code, 3, "Loki is installed but down: {}", run.stderr);
    let unread = &report["summary"]["unreadSources"][0];
    assert_eq!(unread["source"], "loki", "{}", report["summary"]);
    // One Loki that could not be read is one error line, not one per check.
    assert_eq!(report["summary"]["error"], 1, "{}", table(&report));
    assert_outcome(&report, "loki.zombies", "skip");
    assert_eq!(unread["reason"], "unreachable", "{}", report["summary"]);
    // The API server's own words for a Service whose pods are gone.
    assert!(
        unread["message"]
            .as_str()
            .unwrap_or_default()
            .contains("error trying to reach service"),
        "{unread}"
    );
    // A team that runs no Loki drops it: --skip or silence make it complete.
    let (run, _) = diagnose(&c, &["--skip", "loki.*"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let silence = config_file(&c, "no-loki.yaml", "silence:\n- loki.*\n");
    let (run, silenced) = diagnose(&c, &["--config", silence.to_str().expect("utf-8")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(silenced["summary"]["incomplete"], false);
    assert_outcome(&report, "loki.reachable", "error");
    let advice = fix(&report, "loki.reachable");
    assert!(
        advice.contains("Loki") && !advice.contains("Prometheus"),
        "{advice:?}"
    );
    for c in checks(&report) {
        assert_ne!(c["outcome"], "fail", "{}", table(&report));
        let f = c["remediation"]["fix"].as_str().unwrap_or_default();
        assert!(!f.contains("Prometheus"), "{}: {f}", c["id"]);
    }

    // No Loki Service at all: not every cluster runs Loki, so the checks skip.
    c.sim.delete("v1", "Service", Some("observability"), "loki");
    let (run, report) = diagnose(&c, &["--only", "loki.*"]);
    assert_eq!(run.code, 0, "not installed is no gap: {}", run.stderr);
    assert_eq!(report["summary"]["incomplete"], false);
    for id in ["loki.reachable", "loki.heartbeats", "loki.zombies"] {
        assert_outcome(&report, id, "skip");
    }
}

#[test]
fn zombie_sessions_heartbeating_without_traffic_fail() {
    let c = Cluster::start("idle");
    let _loki = FakeLoki::serve(&c, LokiConfig::heartbeats(120.0, 2.0));
    let (run, report) = diagnose(&c, &[]);
    assert_root_cause(&run, &report, "loki.zombies");
    let msg = message(&report, "loki.zombies");
    assert!(msg.contains('2') && msg.contains("active"), "{msg}");
    assert_outcome(&report, "loki.heartbeats", "pass");
    assert_outcome(&report, "sessions.traffic", "pass");
}

// ---------------------------------------------------------------------------
// explain

#[test]
fn explain_prints_a_check_s_docs_and_suggests_a_near_miss() {
    let run = offline(&["explain", "keda.ready"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.starts_with("keda.ready · "), "{}", run.stdout);
    for needle in [
        "Needs:    keda.scaledobject",
        "Source:   src/checks/keda/ready.rs",
        "What it looks at",
        "Why",
        "How to fix what it finds",
    ] {
        assert!(run.stdout.contains(needle), "{needle}:\n{}", run.stdout);
    }

    // The file named is the one the check really lives in.
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/checks/keda/ready.rs");
    let code = std::fs::read_to_string(&source).expect("the named source file exists");
    assert!(
        code.contains("id: CheckId::KedaReady,"),
        "{}",
        source.display()
    );

    let list = offline(&["explain", "--list"]);
    assert_eq!(list.code, 0, "{}", list.stderr);
    assert!(list.stdout.starts_with("ID "), "{}", list.stdout);
    for id in NO_SCALE_UP {
        assert!(
            list.stdout
                .lines()
                .any(|l| l.starts_with(&format!("{id} "))),
            "{id} not listed:\n{}",
            list.stdout
        );
    }

    let typo = offline(&["explain", "keda.redy"]);
    assert_eq!(typo.code, 2, "{typo:?}");
    assert!(typo.stdout.is_empty(), "{}", typo.stdout);
    assert!(typo.stderr.contains("keda.redy"), "{}", typo.stderr);
    assert!(
        typo.stderr.contains("did you mean keda.ready?"),
        "{}",
        typo.stderr
    );
}

// ---------------------------------------------------------------------------
// Offline replay

#[test]
fn a_saved_snapshot_replays_offline_to_the_same_verdicts() {
    let c = Cluster::start("operator-erroring");
    let (_, live) = diagnose(&c, &[]);
    let file = c.dir.path().join("incident.json");
    let file = file.to_str().expect("utf-8");
    let saved = c.spice(&["snapshot", "-o", file]);
    assert_eq!(saved.code, 0, "{}", saved.stderr);
    let text = std::fs::read_to_string(file).expect("snapshot file");
    assert!(!text.contains(c.sim.token()), "the bearer token leaked");

    let replay = offline(&["diagnose", "--from", file, "-o", "json"]);
    let replayed = checked_report(&replay);
    assert_eq!(replay.code, 1, "{}", replay.stderr);
    assert_eq!(replayed["rootCause"], live["rootCause"]);
    let verdicts = |r: &Value| -> BTreeMap<String, String> {
        checks(r)
            .iter()
            .map(|c| {
                (
                    c["id"].as_str().unwrap_or_default().to_string(),
                    c["outcome"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    };
    let tables = format!("live:\n{}replayed:\n{}", table(&live), table(&replayed));
    let (replayed, live) = (verdicts(&replayed), verdicts(&live));
    let differ: Vec<_> = live
        .iter()
        .filter(|(id, outcome)| replayed.get(*id) != Some(*outcome))
        .map(|(id, outcome)| format!("{id}: live {outcome}, replayed {:?}", replayed.get(id)))
        .collect();
    assert!(differ.is_empty(), "verdicts differ: {differ:?}\n{tables}");
    assert_eq!(replayed.len(), live.len(), "{tables}");
}

#[test]
fn the_example_snapshots_replay_offline() {
    for (file, code, root) in [
        ("healthy.snapshot.json", 0, Value::Null),
        ("broken-chain.snapshot.json", 1, Value::from("pods.pending")),
    ] {
        let path = examples_dir().join(file);
        assert_no_secrets(&path);
        let path = path.to_str().expect("utf-8");
        let run = offline(&["diagnose", "--from", path, "-o", "json"]);
        let report = checked_report(&run);
        assert_eq!(run.code, code, "{file}: {}\n{}", run.stderr, table(&report));
        assert_eq!(report["rootCause"], root, "{file}:\n{}", table(&report));
        assert_eq!(report["summary"]["error"], 0, "{file}:\n{}", table(&report));
        let status = offline(&["status", "--from", path]);
        assert_eq!(status.code, 0, "{file}: {}", status.stderr);
    }
}

/// The embedded examples hold the queries the shipped alert rules evaluate
/// (regenerated after the rules changed), so the alert checks judge them
/// instead of skipping: healthy passes everything, broken-chain keeps its
/// root cause and its ratio alert fires (2 sessions per running pod).
#[test]
fn the_embedded_examples_evaluate_the_shipped_alert_rules() {
    for (example, code, root) in [
        ("healthy", 0, Value::Null),
        ("broken-chain", 1, Value::from("pods.pending")),
    ] {
        let run = offline(&["diagnose", "--example", example, "-o", "json"]);
        let report = checked_report(&run);
        assert_eq!(
            run.code,
            code,
            "{example}: {}\n{}",
            run.stderr,
            table(&report)
        );
        assert_eq!(report["rootCause"], root, "{example}:\n{}", table(&report));
        for id in ["alerts.pod-session-ratio", "alerts.keda-not-responding"] {
            assert_ne!(
                check(&report, id)["outcome"],
                "skip",
                "{example} {id}:\n{}",
                table(&report)
            );
        }
        if example == "healthy" {
            assert_eq!(report["summary"]["fail"], 0, "{}", table(&report));
            assert_outcome(&report, "alerts.pod-session-ratio", "pass");
        } else {
            assert_outcome(&report, "alerts.pod-session-ratio", "fail");
        }
        assert_outcome(&report, "alerts.keda-not-responding", "pass");
    }
}

/// Regenerates `tests/scenarios/examples/*.snapshot.json` with the real
/// binary: `cargo test --test it regenerate_example_snapshots -- --ignored`.
#[test]
#[ignore = "writes the example snapshots; run by hand after a format change"]
fn regenerate_example_snapshots() {
    std::fs::create_dir_all(examples_dir()).expect("examples dir");
    for (scenario, file, heartbeats, sessions) in [
        ("healthy", "healthy.snapshot.json", 180.0, 3.0),
        ("pending-no-node", "broken-chain.snapshot.json", 240.0, 4.0),
    ] {
        let c = Cluster::start(scenario);
        let _loki = FakeLoki::serve(&c, LokiConfig::heartbeats(heartbeats, sessions));
        let path = examples_dir().join(file);
        let run = c.spice(&["snapshot", "--force", "-o", path.to_str().expect("utf-8")]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let text = std::fs::read_to_string(&path).expect("snapshot");
        assert!(!text.contains(c.sim.token()), "the bearer token leaked");
        assert_no_secrets(&path);
    }
}

/// Nothing that looks like a credential: tokens, passwords, keys, certificates.
fn assert_no_secrets(path: &Path) {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .to_ascii_lowercase();
    for needle in [
        "bearer",
        "authorization",
        "password",
        "token",
        "secret",
        "begin certificate",
        "private key",
        "client-key",
    ] {
        assert!(
            !text.contains(needle),
            "{} contains {needle:?}",
            path.display()
        );
    }
}

// ---------------------------------------------------------------------------
// A rough XML well-formedness check (no XML crate in the tree)

fn xml_attr(tag: &str, name: &str) -> Option<String> {
    let key = format!(" {name}=\"");
    let start = tag.find(&key)? + key.len();
    let end = tag[start..].find('"')? + start;
    Some(tag[start..end].to_string())
}

/// Tags nest and close, attribute values are quoted, text holds no raw `<`
/// and every `&` starts an entity.
fn assert_well_formed_xml(xml: &str) {
    assert!(
        xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"),
        "{xml}"
    );
    let mut stack: Vec<String> = Vec::new();
    let mut rest = xml;
    let mut roots = 0;
    while let Some(open) = rest.find('<') {
        assert_entities(&rest[..open], xml);
        let close = rest[open..]
            .find('>')
            .unwrap_or_else(|| panic!("unclosed tag in {xml}"))
            + open;
        let tag = &rest[open + 1..close];
        rest = &rest[close + 1..];
        if tag.starts_with('?') {
            continue;
        }
        assert_eq!(
            tag.matches('"').count() % 2,
            0,
            "unbalanced quotes: <{tag}>"
        );
        assert!(!tag.contains('<'), "raw < inside <{tag}>");
        if let Some(name) = tag.strip_prefix('/') {
            let top = stack
                .pop()
                .unwrap_or_else(|| panic!("</{name}> closes nothing"));
            assert_eq!(top, name, "</{name}> closes <{top}>");
            continue;
        }
        let name = tag
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .trim_end_matches('/')
            .to_string();
        assert!(!name.is_empty(), "empty tag in {xml}");
        if stack.is_empty() {
            roots += 1;
        }
        if !tag.ends_with('/') {
            stack.push(name);
        }
    }
    assert_entities(rest, xml);
    assert!(stack.is_empty(), "unclosed: {stack:?}");
    assert_eq!(roots, 1, "one root element");
}

fn assert_entities(text: &str, xml: &str) {
    for (i, _) in text.match_indices('&') {
        let entity = &text[i..];
        assert!(
            ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"]
                .iter()
                .any(|e| entity.starts_with(e)),
            "bare & in {:?} of {xml}",
            &text[i..text.len().min(i + 12)]
        );
    }
}
