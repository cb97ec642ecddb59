//! The load-test view and the keys of `kubectl spice watch`, end to end: the
//! real binary in a real terminal (tmux) against the cluster simulator, a
//! real Prometheus and a fake Loki, every assertion read from the screen.

use crate::support::loki::{FakeLoki, LokiConfig};
use crate::support::scenario::Scenario;
use crate::support::sim::rel_time;
use crate::support::spice::{BIN, Cluster};
use crate::support::tmux::Tmux;
use serde_json::{Value, json};
use std::time::Duration;

/// The watch on the full screen in tmux, then its exit code on the normal
/// screen (`EXIT=n`), the pane kept open so the test can read it.
fn watch(c: &Cluster, name: &str, extra: &str) -> Tmux {
    let home = c.dir.path().display().to_string();
    Tmux::start(
        name,
        &format!(
            "env -i PATH=/usr/bin:/bin TERM=screen HOME={home} XDG_CONFIG_HOME={home}/.config \
             {BIN} watch --interval 500ms --timeout 90s {extra} --kubeconfig {}; echo EXIT=$?; sleep 60",
            c.kubeconfig.display()
        ),
    )
}

/// A NodeMetrics object as metrics-server v0.7 serves it (k8s.io/metrics
/// pkg/apis/metrics/v1beta1/types.go: timestamp, window, usage; CPU in
/// nanocores, memory working set in Ki).
fn node_metrics(node: &str, cpu: &str, memory: &str) -> Value {
    json!({
        "apiVersion": "metrics.k8s.io/v1beta1",
        "kind": "NodeMetrics",
        "metadata": {
            "name": node,
            "labels": {"kubernetes.io/hostname": node}
        },
        "timestamp": "$NOW-10s",
        "window": "20.035s",
        "usage": {"cpu": cpu, "memory": memory}
    })
}

/// The healthy scenario with metrics-server installed. Against the nodes'
/// allocatable (1930m/7220172Ki, 3920m/7220168Ki, 3920m/7220168Ki): 20 %,
/// 90 % and 20 % CPU; 20 %, 50 % and 20 % memory.
fn with_metrics_server() -> Scenario {
    let mut s = Scenario::load("healthy");
    s.meta.installed.push("metrics-server".into());
    for (node, cpu, memory) in [
        (
            "ip-10-0-11-24.us-west-2.compute.internal",
            "386000000n",
            "1444034Ki",
        ),
        (
            "ip-10-0-45-112.us-west-2.compute.internal",
            "3528000000n",
            "3610084Ki",
        ),
        (
            "ip-10-0-78-9.us-west-2.compute.internal",
            "784000000n",
            "1444034Ki",
        ),
    ] {
        s.objects.push(node_metrics(node, cpu, memory));
    }
    s
}

/// A game pod Running and Ready for 10 minutes.
fn game_pod(name: &str) -> Value {
    crate::watch::game_pod(name, &rel_time(600), true)
}

/// Metrics API and Loki served: node CPU/memory and heartbeats per session
/// are on the screen; `?` opens and Esc closes the help; `p` pauses (the
/// screen holds still while the cluster changes, the header says PAUSED)
/// and resumes; the pod table scrolls; `q` quits with the terminal restored.
#[test]
fn load_readings_help_pause_scroll_and_q() {
    let c = Cluster::with(with_metrics_server(), true);
    // Three sessions send 0.6 heartbeats/s together: 0.2/s each, the target.
    let _loki = FakeLoki::serve(&c, LokiConfig::new().answer("sum(rate(", 0.6));
    let tmux = watch(&c, "view-load", "");
    let screen = tmux.wait_for(&[
        "running 3",
        "node CPU avg 43% max 90% ip-10-0-45-112",
        "node memory avg 30% max 50% ip-10-0-45-112",
        "heartbeats 0.20/s per session (target 0.2/s) ok",
    ]);
    assert!(
        screen.contains("? help"),
        "the footer lists the keys: {screen}"
    );
    assert!(screen.contains("p pause"), "{screen}");
    assert!(screen.contains("d diagnose"), "{screen}");

    tmux.keys("?");
    tmux.wait_for(&["Keys (? or Esc closes)", "pause or resume the display"]);
    tmux.keys("Escape");
    let screen = tmux.wait_gone(&["Keys (? or Esc closes)"]);
    assert!(
        screen.contains("running 3"),
        "Esc closed the help only: {screen}"
    );

    tmux.keys("p");
    let paused = tmux.wait_for(&["PAUSED"]);
    assert!(paused.contains("p resume"), "{paused}");
    for i in 0..40 {
        c.sim
            .apply(game_pod(&format!("spice-runner-7d9c8b5f4-s{i:03}")));
    }
    std::thread::sleep(Duration::from_secs(3));
    let still = tmux.screen();
    assert!(
        still.contains("running 3"),
        "paused, the screen holds: {still}"
    );
    assert!(!still.contains("running 43"), "{still}");
    assert_eq!(
        still.lines().next(),
        paused.lines().next(),
        "paused, the header clock holds too"
    );
    tmux.keys("p");
    let resumed = tmux.wait_for(&["running 43", "Pods (43, rows 1–"]);
    assert!(!resumed.contains("PAUSED"), "{resumed}");
    // Sorted by name, the last pods are below the fold until scrolled to.
    assert!(
        !resumed.contains("spice-runner-7d9c8b5f4-s039"),
        "{resumed}"
    );
    tmux.keys("PageDown");
    tmux.keys("End");
    let end = tmux.wait_for(&["spice-runner-7d9c8b5f4-s039"]);
    assert!(!end.contains("spice-runner-7d9c8b5f4-s000 "), "{end}");
    tmux.keys("Home");
    tmux.wait_for(&["spice-runner-7d9c8b5f4-s000"]);
    tmux.keys("Down");
    tmux.wait_for(&["rows 2–"]);
    tmux.keys("Up");
    tmux.wait_for(&["rows 1–"]);

    tmux.keys("q");
    let screen = tmux.wait_for(&["EXIT=0"]);
    assert!(screen.contains("No scaling episodes seen."), "{screen}");
    assert!(!screen.contains("Sessions vs running pods"), "{screen}");
}

/// No metrics-server and no Loki: each is a gap line saying why, the rest of
/// the screen works; Esc quits with the terminal restored.
#[test]
fn without_metrics_api_or_loki_the_view_shows_gap_lines_and_esc_quits() {
    let c = Cluster::start("healthy");
    let tmux = watch(&c, "view-gaps", "");
    let screen = tmux.wait_for(&[
        "running 3",
        "node CPU/memory: ? metrics API not served",
        "heartbeats: ? ",
    ]);
    assert!(screen.contains("install metrics-server"), "{screen}");
    assert!(!screen.contains("node CPU avg"), "{screen}");
    tmux.keys("Escape");
    let screen = tmux.wait_for(&["EXIT=0"]);
    assert!(screen.contains("No scaling episodes seen."), "{screen}");
    assert!(!screen.contains("Sessions vs running pods"), "{screen}");
}

/// A Loki that takes 30 s to answer never holds a frame back: while its
/// query hangs, a new pod is on the screen at once; at the deadline (the
/// 10 s request timeout) the heartbeat line says Loki is slow. Ctrl-C quits
/// with the terminal restored.
#[test]
fn a_slow_loki_is_a_timeout_gap_and_frames_keep_coming_and_ctrl_c_quits() {
    let c = Cluster::start("healthy");
    let _loki = FakeLoki::serve(
        &c,
        LokiConfig::new()
            .answer("sum(rate(", 0.6)
            .delay(Duration::from_secs(30)),
    );
    let tmux = watch(&c, "view-slow", "");
    tmux.wait_for(&["running 3", "heartbeats: waiting for Loki"]);
    c.sim.apply(game_pod("spice-runner-7d9c8b5f4-late1"));
    tmux.wait_within(
        Duration::from_secs(5),
        &["running 4", "spice-runner-7d9c8b5f4-late1"],
    );
    tmux.wait_for(&["heartbeats: ? Loki slow: no answer within 10s"]);
    tmux.keys("C-c");
    let screen = tmux.wait_for(&["EXIT=0"]);
    assert!(screen.contains("scale-down still in progress"), "{screen}");
    assert!(!screen.contains("Sessions vs running pods"), "{screen}");
}

/// `d` on a broken cluster: the root cause and its fix in a panel, as
/// `diagnose` names them; `d` closes it again.
#[test]
fn d_shows_the_root_cause_of_a_broken_cluster() {
    let c = Cluster::start("keda-paused");
    let tmux = watch(&c, "view-diagnose", "");
    tmux.wait_for(&["kubectl spice watch", "ScaledObject spice-runner-keda"]);
    tmux.keys("d");
    let screen = tmux.wait_for(&["Diagnose: snapshot of", "ROOT CAUSE ✗ keda.paused"]);
    assert!(screen.contains("fix: "), "{screen}");
    tmux.keys("d");
    tmux.wait_gone(&["ROOT CAUSE"]);
    tmux.keys("q");
    tmux.wait_for(&["EXIT=0"]);
}
