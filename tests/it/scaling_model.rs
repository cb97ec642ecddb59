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
        ev.contains(&format!(
            "{rate} req/s is not players: 1 exporter scrape every {scrape} s"
        )),
        "{ev}"
    );
    // The nginx pods were read: they have no probe, so none is counted.
    assert!(ev.contains("no HTTP probe on the 2 nginx pods"), "{ev}");
    assert!(ev.contains("activationThreshold 0.2"), "{ev}");

    let j = c.spice(&["status", "-o", "json"]).json();
    assert_eq!(j["sessions"]["band"], "idle", "{}", j["sessions"]);
    let floor = j["sessions"]["idleFloor"].as_f64().unwrap_or_default();
    let expected = 1.0 / scrape.parse::<f64>().unwrap_or(1.0);
    // Rates in JSON are rounded to 3 decimals (what the sources can tell).
    assert!((floor - expected).abs() <= 0.0005, "{}", j["sessions"]);
    let text = c.spice(&["status"]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert!(
        text.stdout
            .contains(&format!("{rate} req/s is not players: 1 exporter scrape")),
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

/// Two nginx pods with a 10 s httpGet readiness probe on nginx's port: the
/// kubelet's GETs are counted by nginx (kubernetes v1.33 pkg/probe/http), so
/// the floor is 1/15 + 2/10 = 0.267 req/s, and that is not players.
#[test]
fn idle_with_http_probes_on_nginx_counts_them_in_the_floor_and_passes() {
    let c = Cluster::start("idle-floor-probes");
    let (run, report) = diagnose(&c, &[]);
    assert_eq!(run.code, 0, "stderr: {}\n{}", run.stderr, table(&report));
    assert_eq!(report["summary"]["fail"], 0, "{}", table(&report));
    for id in ["sessions.ratio", "sessions.traffic", "keda.active"] {
        assert_outcome(&report, id, "pass");
    }
    let ev = evidence(&report, "sessions.traffic");
    assert!(
        ev.contains(
            "0.267 req/s is not players: 1 exporter scrape every 15 s + 2 HTTP probes every 10 s"
        ),
        "{ev}"
    );
    let j = c.spice(&["status", "-o", "json"]).json();
    assert_eq!(j["sessions"]["band"], "idle", "{}", j["sessions"]);
    let floor = j["sessions"]["idleFloor"].as_f64().unwrap_or_default();
    assert!((floor - 0.267).abs() <= 0.0005, "{}", j["sessions"]);
}

/// The same pods with a tcpSocket probe: a TCP connect is no request, so
/// the floor stays the exporter's 0.067 req/s and the probes are named as
/// not counted.
#[test]
fn idle_with_tcp_socket_probes_on_nginx_does_not_count_them() {
    let c = Cluster::start("idle-floor-tcp-probe");
    let (run, report) = diagnose(&c, &[]);
    assert_eq!(run.code, 0, "stderr: {}\n{}", run.stderr, table(&report));
    assert_eq!(report["summary"]["fail"], 0, "{}", table(&report));
    let ev = evidence(&report, "sessions.traffic");
    assert!(
        ev.contains("0.067 req/s is not players: 1 exporter scrape every 15 s (idle floor 0.067 req/s; 2 other probes not counted: tcpSocket"),
        "{ev}"
    );
    assert!(!ev.contains("HTTP probes every"), "{ev}");
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
    assert!(ev.contains("1 exporter scrape every 15 s"), "{ev}");
}

/// A seeded xorshift64* generator: the property test is the same on every
/// run, and a failure names the case that broke it.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// The plugin's scaling model and the simulator's closed-loop HPA agree on
/// desired replicas for any metric, current count, bounds, threshold and
/// tolerance (both from kubernetes v1.33 replica_calculator.go
/// `GetExternalPerPodMetricReplicas` + `Tolerances.isWithin`).
#[test]
fn the_model_and_the_simulators_hpa_agree_on_desired_replicas() {
    use crate::support::sim::hpa_wanted;
    use kubectl_spice::domain::model::Scaling;
    let mut rng = Rng(0x5EED_0018_2026);
    let mut within_seen = 0;
    for case in 0..20_000 {
        let current = 1 + rng.below(60) as usize;
        let min = rng.below(4) as usize;
        let max = (min.max(1) + rng.below(80) as usize).max(1);
        let threshold = [1.0, 1.0, 2.0, 5.0, 0.5][rng.below(5) as usize];
        // Whole sessions mostly, fractional rates sometimes (a rate ramp).
        let metric = if rng.below(4) == 0 {
            rng.below(12_000) as f64 / 100.0
        } else {
            rng.below(120) as f64
        };
        let up = [0.1, 0.1, 0.05, 0.01, 0.0][rng.below(5) as usize];
        let down = [0.1, 0.1, 0.2, 0.01][rng.below(4) as usize];
        let current = current.min(max);

        let mut m = Scaling::from_parts(None, None, Some(15.0));
        m.min = min as i64;
        m.max = max as i64;
        m.target.value = threshold;
        m.up.tolerance = up;
        m.down.tolerance = down;
        let model = m.desired(metric, true, current as i64);
        let sim = hpa_wanted(metric, threshold, current, min, max, (up, down));
        assert_eq!(
            model, sim as i64,
            "case {case}: metric {metric}, current {current}, min {min}, max {max}, threshold {threshold}, tolerance up {up} down {down}"
        );
        within_seen += usize::from(
            model == current as i64 && (metric / threshold).ceil() as i64 != current as i64,
        );
    }
    // The generator reaches the tolerance band, not only the plain ceil.
    assert!(within_seen > 500, "{within_seen}");
}

/// `diagnose` on a healthy variant: exit 0, no root cause, nothing failing.
fn healthy(c: &Cluster) -> Value {
    let (run, report) = diagnose(c, &[]);
    assert_eq!(run.code, 0, "stderr: {}\n{}", run.stderr, table(&report));
    assert!(report["rootCause"].is_null(), "{}", table(&report));
    assert_eq!(report["summary"]["fail"], 0, "{}", table(&report));
    report
}

/// kubernetes v1.33 replica_calculator.go: 31 sessions on 30 pods is a
/// usage ratio of 1.03, within the 0.1 tolerance: the HPA keeps 30. Healthy,
/// and the tolerance is said where it matters: the ratio's evidence (with
/// the field that lowers it) and `status -o wide`.
#[test]
fn tolerance_at_30_pods_is_healthy_and_said_with_its_field() {
    let c = Cluster::start("tolerance-30-pods");
    let report = healthy(&c);
    assert_outcome(&report, "sessions.ratio", "pass");
    let ev = evidence(&report, "sessions.ratio");
    assert!(
        ev.contains(
            "31 sessions / 30 pods = 1.03, within tolerance 0.1: no change until 34 sessions"
        ),
        "{ev}"
    );
    assert!(
        ev.contains("advanced.horizontalPodAutoscalerConfig.behavior.scaleUp.tolerance"),
        "{ev}"
    );
    for c in checks(&report) {
        let text = format!("{} {}", c["message"], c["fix"]);
        assert!(!text.contains("with no pod"), "{}", table(&report));
    }
    let wide = c.spice(&["status", "-o", "wide"]);
    assert_eq!(wide.code, 0, "{}", wide.stderr);
    assert!(
        wide.stdout.contains("no change until 34 sessions")
            && wide
                .stdout
                .contains("tolerance: up 0.1, down 0.1 (cluster default)")
            && wide.stdout.contains("30 pods: up to 33"),
        "{}",
        wide.stdout
    );
    let j = c.spice(&["status", "-o", "json"]).json();
    assert_eq!(j["sessions"]["expectedPods"], 30, "{}", j["sessions"]);
}

/// The ScaledObject asks for scaleUp.tolerance 0.01, the HPA KEDA wrote
/// has spec.behavior without it (HPAConfigurableTolerance off: the API
/// server dropped it). Healthy, said, and the fix no longer promises the
/// field.
#[test]
fn a_tolerance_the_api_server_dropped_is_said_and_the_fix_names_the_gate() {
    let c = Cluster::start("tolerance-dropped");
    let report = healthy(&c);
    let ev = evidence(&report, "sessions.ratio");
    assert!(
        ev.contains(
            "31 sessions / 30 pods = 1.03, within tolerance 0.1: no change until 34 sessions"
        ),
        "{ev}"
    );
    assert!(
        ev.contains("the HPA has no tolerance: the API server dropped it; needs Kubernetes ≥ 1.33 with HPAConfigurableTolerance"),
        "{ev}"
    );
    assert!(
        ev.contains("enable that feature gate on kube-apiserver and kube-controller-manager")
            && ev.contains("--horizontal-pod-autoscaler-tolerance"),
        "{ev}"
    );
    assert!(!ev.contains("on the ScaledObject set advanced."), "{ev}");
    let wide = c.spice(&["status", "-o", "wide"]);
    assert!(
        wide.stdout.contains(
            "tolerance not in effect: the ScaledObject sets scaleUp.tolerance 0.01 but HPA "
        ),
        "{}",
        wide.stdout
    );
}

/// kedacore/keda controllers/keda/hpa.go: with scalingModifiers the HPA
/// scales on composite-metric against the modifiers' target (1); the
/// trigger's threshold 5 is unused, and nothing says it is.
#[test]
fn scaling_modifiers_are_healthy_and_the_unused_threshold_is_not_blamed() {
    let c = Cluster::start("scaling-modifiers");
    let report = healthy(&c);
    assert_outcome(&report, "keda.trigger", "pass");
    assert_outcome(&report, "keda.max-replicas", "pass");
    for c in checks(&report) {
        let text = format!("{} {} {}", c["message"], c["fix"], c["evidence"]);
        assert!(
            !text.contains("ceil(sessions / 5)") && !text.contains("want 1 pods"),
            "{}",
            table(&report)
        );
    }
    let ev = evidence(&report, "keda.trigger");
    assert!(
        ev.contains(
            "threshold 5: not used for replicas: scalingModifiers target 1 (composite-metric"
        ),
        "{ev}"
    );
    assert!(
        crate::diagnose::message(&report, "keda.max-replicas").contains("3 sessions want 3 pods"),
        "{}",
        table(&report)
    );
}

/// KEDA ≥ 2.18 `autoscaling.keda.sh/force-activation` holds Active=True
/// with the trigger idle: the pods never go to zero. diagnose warns and
/// names the annotation (not cooldownPeriod) and quotes the Active message.
#[test]
fn force_activation_is_named_as_why_pods_never_go_to_zero() {
    let c = Cluster::start("force-activation");
    let (run, report) = diagnose(&c, &[]);
    assert_eq!(run.code, 0, "stderr: {}\n{}", run.stderr, table(&report));
    assert_eq!(report["summary"]["fail"], 0, "{}", table(&report));
    for id in [
        "sessions.ratio",
        "sessions.traffic",
        "keda.paused",
        "keda.cooldown",
    ] {
        assert_outcome(&report, id, "warn");
        let text = format!(
            "{} {}",
            crate::diagnose::message(&report, id),
            evidence(&report, id)
        );
        assert!(
            text.contains("autoscaling.keda.sh/force-activation"),
            "{id}: {text}"
        );
        let fix = crate::diagnose::fix(&report, id);
        assert!(
            fix.contains("autoscaling.keda.sh/force-activation")
                && !fix.contains("lower cooldownPeriod"),
            "{id}: {fix}"
        );
    }
    let paused = evidence(&report, "keda.paused");
    assert!(
        paused.contains("Active=True: \"Scaling is performed because triggers are active\""),
        "{paused}"
    );
    let status = c.spice(&["status", "-o", "wide"]);
    assert!(
        status
            .stdout
            .contains("1→0 (KEDA): never: autoscaling.keda.sh/force-activation is set"),
        "{}",
        status.stdout
    );
}

/// kubernetes v1.33 horizontal.go calculateScaleDownLimitWithBehaviors: a
/// policy of 1 pod per 60 s makes 20 → 5 a quarter of an hour; diagnose
/// says so and names the field. KEDA's paused-scale-in writes selectPolicy
/// Disabled: keda.cooldown never promises a shrink there.
#[test]
fn scale_down_policies_and_disabled_are_said_not_promised_away() {
    let c = Cluster::start("scale-down-policies");
    let report = healthy(&c);
    let cooldown = format!(
        "{}\n{}",
        crate::diagnose::message(&report, "keda.cooldown"),
        evidence(&report, "keda.cooldown")
    );
    assert!(
        cooldown.contains("scaleDown policy 1 pod per 60 s: 20 → 5 pods takes ≈ 15m"),
        "{cooldown}"
    );
    assert!(
        crate::diagnose::fix(&report, "keda.cooldown")
            .contains("advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.policies"),
        "{}",
        table(&report)
    );
    drop(c);

    let c = Cluster::start("keda-paused-scale-in");
    let report = healthy(&c);
    let ev = evidence(&report, "keda.cooldown");
    assert!(!ev.contains("N→M shrink ≈"), "{ev}");
    assert!(ev.contains("N→M shrink: never"), "{ev}");
    assert!(
        crate::diagnose::message(&report, "keda.cooldown").contains("selectPolicy is Disabled"),
        "{}",
        table(&report)
    );
}

/// minReplicaCount 2 and no players: the two pods are the design. diagnose
/// passes the ratio and the alert check, status and watch say expected,
/// not red, and the shipped PodSessionRatioAnomaly stays quiet (promtool).
#[test]
fn a_warm_pool_at_idle_is_healthy_in_diagnose_status_and_watch() {
    let c = Cluster::start("warm-pool");
    let report = healthy(&c);
    for id in [
        "sessions.ratio",
        "sessions.traffic",
        "alerts.pod-session-ratio",
    ] {
        assert_outcome(&report, id, "pass");
    }
    assert!(
        crate::diagnose::message(&report, "sessions.ratio")
            .contains("expected, minReplicaCount 2 keeps 2 pods warm with no sessions, by design"),
        "{}",
        table(&report)
    );
    let j = c.spice(&["status", "-o", "json"]).json();
    assert_eq!(j["sessions"]["band"], "expected", "{}", j["sessions"]);
    let status = c.spice(&["status"]);
    assert_eq!(status.code, 0, "{}", status.stderr);
    assert!(
        status
            .stdout
            .contains("per pod: expected (minReplicaCount 2 keeps 2 pods warm"),
        "{}",
        status.stdout
    );
    let watch = c.spice(&[
        "watch",
        "--until",
        "scaled",
        "--timeout",
        "20s",
        "-o",
        "json",
    ]);
    assert_eq!(watch.code, 0, "{}\n{}", watch.stdout, watch.stderr);
    assert!(watch.stdout.contains("\"expected\""), "{}", watch.stdout);
}
