//! `kubectl spice watch` end to end: the real binary against the cluster
//! simulator (watch streams) and a real Prometheus, pods changed while it runs.

use crate::support::prom::History;
use crate::support::sim::rel_time;
use crate::support::spice::{BIN, Cluster};
use crate::support::tmux::Tmux;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

/// A game pod as the API server shows it: Pending (not yet started), or
/// Running and Ready with its container started.
pub(crate) fn game_pod(name: &str, created: &str, running: bool) -> Value {
    let mut status = json!({
        "phase": "Pending",
        "conditions": [
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": created}
        ],
        "containerStatuses": [{
            "name": "spice-runner", "ready": false, "restartCount": 0,
            "image": "spice-runner:1.4.2", "imageID": "",
            "state": {"waiting": {"reason": "ContainerCreating"}}
        }]
    });
    if running {
        status = json!({
            "phase": "Running",
            "conditions": [
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": created},
                {"type": "Ready", "status": "True", "lastTransitionTime": rel_time(0)},
                {"type": "ContainersReady", "status": "True", "lastTransitionTime": rel_time(0)}
            ],
            "containerStatuses": [{
                "name": "spice-runner", "ready": true, "restartCount": 0, "started": true,
                "image": "spice-runner:1.4.2", "imageID": "",
                "state": {"running": {"startedAt": rel_time(1)}}
            }]
        });
    }
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": "default",
            "creationTimestamp": created,
            "labels": {"app": "spice-runner", "pod-template-hash": "7d9c8b5f4"}
        },
        "spec": {
            "nodeName": "ip-10-0-45-112.us-west-2.compute.internal",
            "containers": [{"name": "spice-runner", "image": "spice-runner:1.4.2"}]
        },
        "status": status
    })
}

/// The watch binary with piped output, its stdout lines on a channel.
struct Watching {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Watching {
    fn start(c: &Cluster, args: &[&str]) -> Watching {
        let kc = c.kubeconfig.to_str().expect("utf-8 path");
        let mut child = Command::new(BIN)
            .args(args)
            .args(["--kubeconfig", kc])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", c.dir.path())
            .env("XDG_CONFIG_HOME", c.dir.path().join(".config"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run kubectl-spice");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Watching {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits (bounded) for a JSON line matching `want`.
    fn wait_for(&mut self, what: &str, want: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    let v: Value = serde_json::from_str(&line)
                        .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
                    if want(&v) {
                        return v;
                    }
                }
                Err(_) => {
                    let _ = self.child.kill();
                    panic!(
                        "no line with {what} within 20 s; saw:\n{}",
                        self.seen.join("\n")
                    );
                }
            }
        }
    }

    /// Waits (bounded) for the process to end; returns its exit code.
    fn exit_code(&mut self, within: Duration) -> i32 {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status.code().unwrap_or(-1);
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("watch still running after {within:?}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Every line still buffered after the process ended.
    fn rest(&mut self) -> Vec<String> {
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(2)) {
            self.seen.push(line);
        }
        self.seen.clone()
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn json_lines_follow_a_scale_up_until_scaled() {
    let c = Cluster::start("healthy");
    // Three sessions on two pods: a scale-up the watch finds in progress.
    c.sim
        .delete("v1", "Pod", Some("default"), "spice-runner-7d9c8b5f4-d4hnb");
    let mut w = Watching::start(
        &c,
        &[
            "watch",
            "-o",
            "json",
            "--until",
            "scaled",
            "--timeout",
            "20s",
            "--interval",
            "500ms",
        ],
    );
    let first = w.wait_for("2 running pods", |v| v["runningPods"] == 2);
    assert_eq!(first["apiVersion"], "spice.kubectl.dev/v1alpha1");
    assert_eq!(first["kind"], "WatchEvent");
    assert!(first["capturedAt"].is_string(), "{first}");
    let sessions = first["sessions"].as_f64().expect("sessions");
    assert!((sessions - 3.0).abs() < 0.2, "{first}");
    assert_eq!(first["band"], "yellow");
    assert_eq!(first["nodes"], 3);
    assert_eq!(
        first["episodeInProgress"]["direction"], "scaleUp",
        "{first}"
    );

    let created = rel_time(0);
    c.sim
        .apply(game_pod("spice-runner-7d9c8b5f4-new01", &created, false));
    let pending = w.wait_for("a pending pod", |v| v["pendingPods"] == 1);
    assert_eq!(pending["runningPods"], 2);
    assert!(
        pending["changed"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == "spice-runner-7d9c8b5f4-new01"),
        "the new pod's row is highlighted: {pending}"
    );

    std::thread::sleep(Duration::from_millis(1200));
    c.sim
        .apply(game_pod("spice-runner-7d9c8b5f4-new01", &created, true));
    let caught_up = w.wait_for("3 running pods", |v| v["runningPods"] == 3);
    assert_eq!(caught_up["pendingPods"], 0);
    assert_eq!(caught_up["band"], "green");
    let episodes = caught_up["episodesEnded"].as_array().unwrap();
    assert_eq!(episodes.len(), 1, "{caught_up}");
    let e = &episodes[0];
    assert_eq!(e["direction"], "scaleUp");
    assert_eq!(e["fromPods"], 2);
    assert_eq!(e["sessions"], 3);
    assert_eq!(e["startedBeforeWatch"], true);
    assert_eq!(e["targetSeconds"], 30.0);
    assert!(e["seconds"].as_f64().unwrap() >= 1.0, "{e}");
    assert_eq!(e["withinTarget"], true);

    assert_eq!(
        w.exit_code(Duration::from_secs(10)),
        0,
        "--until scaled held"
    );
    let lines = w.rest();
    let last: Value = serde_json::from_str(lines.last().unwrap()).unwrap();
    assert_eq!(last["kind"], "WatchSummary", "{last}");
    assert_eq!(last["reason"], "until");
    assert_eq!(last["episodes"].as_array().unwrap().len(), 1);
}

#[test]
fn until_idle_on_a_busy_cluster_times_out_with_exit_1() {
    let c = Cluster::start("healthy");
    let start = Instant::now();
    let run = c.spice(&["watch", "--until", "idle", "--timeout", "3s"]);
    assert_eq!(
        run.code, 1,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    assert!(run.elapsed < Duration::from_secs(15), "{:?}", run.elapsed);
    assert!(start.elapsed() >= Duration::from_secs(3));
    assert!(run.stdout.contains("running 3"), "{}", run.stdout);
    assert!(run.stdout.contains("Timed out after"), "{}", run.stdout);
    assert!(
        run.stdout.contains("No scaling episodes seen."),
        "{}",
        run.stdout
    );
}

#[test]
fn bad_durations_are_usage_errors() {
    let c = Cluster::start("healthy");
    let run = c.spice(&["watch", "--interval", "soon"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.starts_with("error: --interval"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("hint:"), "{}", run.stderr);
}

#[test]
fn lost_sources_show_a_banner_and_recover_by_themselves() {
    use crate::support::sim::Fault;
    let c = Cluster::start("healthy");
    let mut w = Watching::start(
        &c,
        &[
            "watch",
            "-o",
            "json",
            "--interval",
            "300ms",
            "--timeout",
            "50s",
        ],
    );
    w.wait_for("3 running pods", |v| v["runningPods"] == 3);

    // Prometheus answers 503 through the proxy: a banner, the last data kept.
    c.sim.inject(
        "/api/v1/namespaces/observability/services/",
        Fault::status(503),
    );
    let down = w.wait_for("a Prometheus banner", |v| {
        v["banner"]
            .as_str()
            .is_some_and(|b| b.contains("Prometheus unavailable"))
    });
    assert!(
        down["banner"].as_str().unwrap().contains("last good data"),
        "{down}"
    );
    assert!(
        (down["sessions"].as_f64().unwrap() - 3.0).abs() < 0.2,
        "{down}"
    );
    c.sim.clear_faults();
    w.wait_for("the banner gone", |v| v["banner"].is_null());

    // The API connection goes: open watches end, every reconnect is cut,
    // and the history is compacted (the watcher must re-list: 410 Gone).
    c.sim
        .inject("/api/v1/namespaces/default/pods", Fault::close());
    c.sim.inject("/api/v1/nodes", Fault::close());
    c.sim.end_watches();
    c.sim.apply(game_pod(
        "spice-runner-7d9c8b5f4-new02",
        &rel_time(0),
        false,
    ));
    c.sim.compact();
    let lost = w.wait_for("an API banner", |v| {
        v["banner"]
            .as_str()
            .is_some_and(|b| b.contains("Kubernetes API lost"))
    });
    assert_eq!(lost["runningPods"], 3, "the last pods are kept: {lost}");
    c.sim.clear_faults();
    // The watcher re-lists by itself (with backoff) and sees the new pod.
    let back = w.wait_for("recovery with the new pod", |v| {
        v["banner"].is_null() && v["pendingPods"] == 1
    });
    assert_eq!(back["runningPods"], 3);
}

/// CPU seconds (user + system) a process has used, from /proc.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc stat");
    let after = &stat[stat.rfind(')').expect("comm") + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of stat (utime, stime), counted after the comm field.
    let ticks: f64 = f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap();
    ticks / 100.0
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[test]
fn at_200_pods_steady_state_requests_are_the_polls_and_idle_is_cheap() {
    let c = Cluster::start("healthy");
    for i in 0..197 {
        c.sim.apply(game_pod(
            &format!("spice-runner-7d9c8b5f4-m{i:03}"),
            &rel_time(600),
            true,
        ));
    }
    let mut w = Watching::start(&c, &["watch", "-o", "json", "--timeout", "60s"]);
    w.wait_for("200 running pods", |v| v["runningPods"] == 200);
    let pid = w.child.id();
    std::thread::sleep(Duration::from_secs(3));
    c.sim.reset_requests();
    let cpu0 = cpu_seconds(pid);
    let woke0 = crate::support::procfs::wakeups(pid).expect("/proc task");
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs(20));
    let secs = t0.elapsed().as_secs_f64();
    let cpu = cpu_seconds(pid) - cpu0;
    let woke = crate::support::procfs::wakeups(pid)
        .expect("/proc task")
        .saturating_sub(woke0);
    let rss = rss_kib(pid);
    let requests = c.sim.requests();
    let proxied = requests
        .iter()
        .filter(|r| r.contains("/services/prometheus:9090/proxy/"))
        .count();
    let kube: Vec<&String> = requests
        .iter()
        .filter(|r| !r.contains("/services/prometheus:9090/proxy/"))
        .collect();
    let per_minute = |n: usize| n as f64 * 60.0 / secs;
    eprintln!(
        "watch at 200 pods, --interval 2s: {:.0} requests/min ({:.0} Prometheus queries via the proxy, {:.0} Kubernetes), CPU {:.2}% of a core, {:.0} wakeups/min, RSS {} KiB",
        per_minute(requests.len()),
        per_minute(proxied),
        per_minute(kube.len()),
        cpu / secs * 100.0,
        per_minute(woke as usize),
        rss
    );
    // No re-listing on a timer: in steady state the watches stay open.
    assert!(
        kube.len() <= 2,
        "Kubernetes requests in steady state: {kube:#?}"
    );
    // The status queries folded into one request per 2 s interval, and the
    // slow pair (nodes, kube-state-metrics) in another every 30 s: 32 a
    // minute, whatever the pod count (six requests per interval, 180 a
    // minute, before they were folded).
    assert!(per_minute(proxied) <= 36.0, "{proxied} in {secs}s");
    // A frame every interval (issue 11) costs 0.6–0.7 % of a core measured
    // alone over 60 s at 200 pods in a debug build, and 1.05 % once in CI
    // with the rest of the suite on the same two cores. This is a guard
    // against a busy loop or a re-render storm (tens of percent), not the
    // measurement: the figure is the line printed above.
    assert!(cpu / secs < 0.05, "idle CPU {:.2}%", cpu / secs * 100.0);
    // A steady watch wakes a few times per interval: the frame, the
    // Prometheus poll and its answer (about 5 a second in all at 2 s, issue
    // 21's bisect). A timer or a poll that fires too often (a spin on a ready
    // channel, a 1 ms interval, a reconnect loop) wakes it hundreds of times
    // a second; unlike the CPU time above, this count does not grow when
    // the machine is loaded.
    assert!(
        per_minute(woke as usize) < 60.0 * 50.0,
        "{woke} wakeups in {secs:.0} s"
    );
    assert!(rss < 100 * 1024, "RSS {rss} KiB");
}

/// Ten minutes of watching 200 pods with churn: RSS stays flat (the history
/// is a fixed ring). Run with `cargo test --test it -- --ignored watch::soak`.
#[test]
#[ignore = "takes ten minutes"]
fn soak_ten_minutes_rss_stays_bounded() {
    let c = Cluster::start("healthy");
    for i in 0..197 {
        c.sim.apply(game_pod(
            &format!("spice-runner-7d9c8b5f4-m{i:03}"),
            &rel_time(600),
            true,
        ));
    }
    let mut w = Watching::start(
        &c,
        &[
            "watch",
            "-o",
            "json",
            "--interval",
            "1s",
            "--timeout",
            "700s",
        ],
    );
    w.wait_for("200 running pods", |v| v["runningPods"] == 200);
    let pid = w.child.id();
    let start = Instant::now();
    let mut first_minute = 0;
    let mut n = 0u64;
    while start.elapsed() < Duration::from_secs(600) {
        // A pod comes and goes every 2 s, so frames keep changing.
        let name = format!("spice-runner-7d9c8b5f4-churn{}", n % 5);
        if n.is_multiple_of(2) {
            c.sim.apply(game_pod(&name, &rel_time(0), false));
        } else {
            c.sim.delete("v1", "Pod", Some("default"), &name);
        }
        n += 1;
        std::thread::sleep(Duration::from_secs(2));
        while w.lines.try_recv().is_ok() {}
        if first_minute == 0 && start.elapsed() >= Duration::from_secs(60) {
            first_minute = rss_kib(pid);
        }
    }
    let last = rss_kib(pid);
    eprintln!("RSS after 1 min {first_minute} KiB, after 10 min {last} KiB");
    assert!(
        last < first_minute + 8 * 1024,
        "RSS grew from {first_minute} to {last} KiB"
    );
}

/// Starts `kubectl-spice watch ARGS` in a tmux pane of 160×48 on its own socket.
fn watch_in_tmux(c: &Cluster, socket: &str, args: &str) -> Tmux {
    let home = c.dir.path().display().to_string();
    Tmux::start(
        socket,
        &format!(
            "env -i PATH=/usr/bin:/bin TERM=screen HOME={home} XDG_CONFIG_HOME={home}/.config \
             {BIN} watch {args} --kubeconfig {}; echo EXIT=$?; sleep 60",
            c.kubeconfig.display()
        ),
    )
}

#[test]
fn the_full_screen_shows_a_measured_scale_up_and_q_restores_the_terminal() {
    let c = Cluster::start("healthy");
    c.sim
        .delete("v1", "Pod", Some("default"), "spice-runner-7d9c8b5f4-d4hnb");
    let tmux = watch_in_tmux(&c, "spice-watch", "--interval 500ms --timeout 40s");

    // The episode may open a frame after the counts show (a loaded machine).
    let screen = tmux.wait_for(&[
        "kubectl spice watch",
        "sessions 3",
        "running 2",
        "scale-up in progress",
    ]);
    assert!(screen.contains("Sessions vs running pods"), "{screen}");
    assert!(screen.contains("yellow"), "{screen}");
    assert!(screen.contains("scale-up in progress"), "{screen}");
    assert!(screen.contains("READY True"), "{screen}");
    assert!(screen.contains("spice-runner-7d9c8b5f4-k2x9m"), "{screen}");

    let created = rel_time(0);
    c.sim
        .apply(game_pod("spice-runner-7d9c8b5f4-new01", &created, false));
    tmux.wait_for(&["pending 1", "spice-runner-7d9c8b5f4-new01"]);
    std::thread::sleep(Duration::from_millis(1200));
    c.sim
        .apply(game_pod("spice-runner-7d9c8b5f4-new01", &created, true));
    let screen = tmux.wait_for(&["running 3", "scale-up 2 → 3 sessions"]);
    assert!(screen.contains("1.00 green"), "{screen}");
    assert!(screen.contains("within the 30s target"), "{screen}");

    tmux.cmd(&["send-keys", "-t", "w", "q"]);
    let screen = tmux.wait_for(&["EXIT=0"]);
    // Back on the normal screen: the summary, and no trace of the view.
    assert!(screen.contains("Scaling episodes:"), "{screen}");
    assert!(screen.contains("scale-up 2 → 3 sessions"), "{screen}");
    assert!(!screen.contains("Sessions vs running pods"), "{screen}");
}

#[test]
fn sigterm_restores_the_terminal_and_prints_the_summary() {
    let c = Cluster::start("healthy");
    let tmux = watch_in_tmux(&c, "spice-watch-term", "--timeout 40s");
    tmux.wait_for(&["kubectl spice watch", "running 3"]);
    // The pane runs sh; its child is the watch.
    let pid = tmux.child_pid().to_string();
    let status = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(status.success());
    let screen = tmux.wait_for(&["EXIT=0"]);
    assert!(screen.contains("No scaling episodes seen."), "{screen}");
    assert!(!screen.contains("Sessions vs running pods"), "{screen}");
}

/// NodeClaims are watched, not read once: a claim Karpenter creates after the
/// watch started turns "no node coming" (fail) into "node coming" (warn).
/// Before, `watch` read NodeClaims only at start and kept failing.
#[test]
fn a_node_claim_created_after_the_watch_started_is_seen() {
    let scenario = crate::support::scenario::Scenario::load("pending");
    let claim = scenario
        .objects
        .iter()
        .find(|o| o["kind"] == "NodeClaim" && o["metadata"]["name"] == "default-x7k2p")
        .cloned()
        .expect("the pending scenario's NodeClaim");
    let c = Cluster::with(scenario, true);
    c.sim
        .delete("karpenter.sh/v1", "NodeClaim", None, "default-x7k2p");
    let mut w = Watching::start(&c, &["watch", "-o", "json", "--interval", "500ms"]);
    let pending = |outcome: &'static str| {
        move |v: &Value| {
            v["findingsChanged"].as_array().is_some_and(|cs| {
                cs.iter()
                    .any(|c| c["id"] == "pods.pending" && c["to"] == outcome)
            })
        }
    };
    let failed = w.wait_for("pods.pending fail", pending("fail"));
    assert!(failed.to_string().contains("pods.pending"), "{failed}");
    c.sim.apply(claim);
    let coming = w.wait_for("pods.pending warn", pending("warn"));
    assert!(
        coming.to_string().contains("nodeclaim/default-x7k2p"),
        "{coming}"
    );
}

/// The plot rows of the "Sessions vs running pods" chart: the lines inside
/// its box, cut to the box's width.
fn chart_rows(screen: &str) -> Vec<String> {
    let lines: Vec<&str> = screen.lines().collect();
    let top = lines
        .iter()
        .position(|l| l.contains("Sessions vs running pods"))
        .unwrap_or_else(|| panic!("no chart on the screen:\n{screen}"));
    let width = lines[top].chars().position(|c| c == '┐').unwrap_or(96);
    lines[top + 1..]
        .iter()
        .take_while(|l| !l.starts_with('└'))
        .map(|l| l.chars().take(width).collect())
        .collect()
}

/// Whether the chart has a drawn point in the left quarter of its plot area
/// (right of the y axis): a history that spans the window reaches there, a
/// single point at "now" does not.
fn chart_reaches_the_left(rows: &[String]) -> bool {
    rows.iter().any(|row| {
        let chars: Vec<char> = row.chars().collect();
        let Some(axis) = chars.iter().position(|&c| c == '│' || c == '┤') else {
            return false;
        };
        let plot = &chars[axis + 1..chars.len().saturating_sub(1)];
        plot[..plot.len() / 4]
            .iter()
            .any(|&c| c == '•' || ('\u{2801}'..='\u{28ff}').contains(&c))
    })
}

/// The header clock (`HH:MM:SS UTC`) of a screen.
fn clock(screen: &str) -> String {
    let header = screen.lines().next().unwrap_or_default();
    let at = header
        .find(" UTC")
        .unwrap_or_else(|| panic!("no clock: {header}"));
    header[at.saturating_sub(8)..at].to_string()
}

/// A scale-up in a scenario's history: sessions `from` → `to` at offset
/// `rise` (seconds from now), and `pods` absent before `created`, Pending
/// from then, Running from `running`; samples every `every` seconds.
struct Rise<'a> {
    sessions: (f64, f64),
    rise: i64,
    pods: &'a [Value],
    created: i64,
    running: i64,
    every: i64,
}

impl Rise<'_> {
    fn history(&self, scenario: &crate::support::scenario::Scenario) -> History {
        let mut h = History::from_scenario(scenario);
        h.every(self.every);
        h.sessions_steps(
            scenario,
            &[(-1800, self.sessions.0), (self.rise, self.sessions.1)],
        );
        for pod in self.pods {
            h.pod_phases(
                pod,
                &[
                    (-1800, None),
                    (self.created, Some("Pending")),
                    (self.running, Some("Running")),
                ],
            );
        }
        h
    }
}

/// `healthy` with sessions 2 → 3 a minute ago, a third pod Running 10 s
/// later: a history whose step moves across a 2-minute chart.
fn recent_rise() -> (crate::support::scenario::Scenario, History) {
    let scenario = crate::support::scenario::Scenario::load("healthy");
    let third = scenario
        .objects
        .iter()
        .find(|o| o["metadata"]["name"] == "spice-runner-7d9c8b5f4-d4hnb")
        .expect("healthy's third game pod")
        .clone();
    let h = Rise {
        sessions: (2.0, 3.0),
        rise: -60,
        pods: &[third],
        created: -58,
        running: -50,
        every: 2,
    }
    .history(&scenario);
    (scenario, h)
}

/// Issue 11: the view moves on a clock on a steady cluster, and its first
/// frame already holds the window's history from Prometheus.
#[test]
fn a_steady_cluster_moves_on_the_clock_and_the_chart_starts_full() {
    let (scenario, history) = recent_rise();
    let c = Cluster::with_history(scenario, &history);
    let tmux = watch_in_tmux(&c, "spice-clock", "--interval 1s --window 2m --timeout 40s");
    let first = tmux.wait_for(&["kubectl spice watch", "running 3", "sessions 3"]);
    let rows = chart_rows(&first);
    assert!(
        chart_reaches_the_left(&rows),
        "the first frame's chart spans the window:\n{}",
        rows.join("\n")
    );
    assert!(!first.contains("no history"), "{first}");
    std::thread::sleep(Duration::from_secs(3));
    let later = tmux.screen();
    assert_ne!(clock(&first), clock(&later), "the clock ticks:\n{later}");
    assert_ne!(
        rows,
        chart_rows(&later),
        "the chart moves left as time passes:\n{}",
        chart_rows(&later).join("\n")
    );
    // Nothing changed in the cluster: the figures are the same.
    assert!(
        later.contains("running 3") && later.contains("1.00 green"),
        "{later}"
    );
}

/// Issue 11: a scale-up under way when the watch starts is timed from the
/// oldest Pending pod (here older than the 3-minute history), never "0s".
#[test]
fn pods_pending_for_five_minutes_show_an_episode_of_at_least_five_minutes() {
    let mut scenario = crate::support::scenario::Scenario::load("pending");
    let created = rel_time(300);
    for o in scenario.objects.iter_mut() {
        if o["kind"] == "Pod" && o["status"]["phase"] == "Pending" {
            o["metadata"]["creationTimestamp"] = json!(created);
        }
    }
    let c = Cluster::with(scenario, true);
    let tmux = watch_in_tmux(
        &c,
        "spice-pending",
        "--interval 1s --window 3m --timeout 40s",
    );
    let screen = tmux.wait_for(&["pending 2", "scale-up in progress for ≥ "]);
    let line = screen
        .lines()
        .find(|l| l.contains("scale-up in progress for ≥ "))
        .unwrap();
    let seconds: i64 = line
        .split("for ≥ ")
        .nth(1)
        .and_then(|r| r.split('s').next())
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no duration in {line:?}"));
    assert!(seconds >= 300, "{line}");
    assert!(
        seconds < 330,
        "timed from the pods, not the history: {line}"
    );
}

/// Sessions 2 → 6 four minutes ago, pods following 25 s later.
fn scale_up_four_minutes_ago() -> (crate::support::scenario::Scenario, History) {
    let mut scenario = crate::support::scenario::Scenario::load("healthy");
    scenario
        .objects
        .retain(|o| o["metadata"]["name"] != "spice-runner-7d9c8b5f4-d4hnb");
    let created = rel_time(238);
    let new: Vec<Value> = (0..4)
        // Generated names draw from the alphabet without vowels, so that
        // kube-state-metrics' series match the game-pod name regex.
        .map(|i| {
            game_pod(
                &format!("spice-runner-7d9c8b5f4-nw{}bc", [2, 4, 5, 6][i]),
                &created,
                true,
            )
        })
        .collect();
    scenario.objects.extend(new.iter().cloned());
    let h = Rise {
        sessions: (2.0, 6.0),
        rise: -240,
        pods: &new,
        created: -238,
        running: -215,
        every: 1,
    }
    .history(&scenario);
    (scenario, h)
}

/// Issue 11: an episode inside the history is found and measured from it,
/// in the first frame and in the JSON summary, and the first JSON line
/// carries the history over the window.
#[test]
fn a_scale_up_four_minutes_ago_is_measured_from_history() {
    let (scenario, history) = scale_up_four_minutes_ago();
    let c = Cluster::with_history(scenario, &history);

    let run = c.spice(&["watch", "-o", "json", "--interval", "1s", "--timeout", "4s"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines: Vec<Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let first = &lines[0];
    assert_eq!(first["runningPods"], 6, "{first}");
    let h = &first["history"];
    for series in ["sessions", "runningPods", "pendingPods", "nodes"] {
        let points = h[series]
            .as_array()
            .unwrap_or_else(|| panic!("{series}: {h}"));
        assert!(points.len() >= 590, "{series}: {} points", points.len());
        let span = points.last().unwrap()[0].as_f64().unwrap() - points[0][0].as_f64().unwrap();
        assert!((590.0..=601.0).contains(&span), "{series} spans {span}s");
    }
    let running: Vec<f64> = h["runningPods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[1].as_f64().unwrap())
        .collect();
    assert_eq!((running[0], *running.last().unwrap()), (2.0, 6.0));
    assert!(
        first["samples"].is_null(),
        "the first line has the history: {first}"
    );
    let later = lines.iter().skip(1).find(|l| l["kind"] == "WatchEvent");
    if let Some(l) = later {
        assert!(
            l["history"].is_null() && l["samples"]["sessions"].is_array(),
            "{l}"
        );
    }
    let summary = lines.last().unwrap();
    assert_eq!(summary["kind"], "WatchSummary", "{summary}");
    let episodes = summary["episodes"].as_array().unwrap();
    assert_eq!(episodes.len(), 1, "{summary}");
    let e = &episodes[0];
    assert_eq!(e["fromHistory"], true, "{e}");
    assert_eq!(e["direction"], "scaleUp");
    assert_eq!(
        (e["fromPods"].as_u64(), e["sessions"].as_u64()),
        (Some(2), Some(6)),
        "{e}"
    );
    let seconds = e["seconds"].as_f64().unwrap();
    assert!((20.0..=30.0).contains(&seconds), "≈ 25 s: {e}");

    let tmux = watch_in_tmux(&c, "spice-history", "--interval 1s --timeout 40s");
    let screen = tmux.wait_for(&["running 6", "scale-up 2 → 6 sessions:"]);
    let line = screen
        .lines()
        .find(|l| l.contains("scale-up 2 → 6 sessions:"))
        .unwrap();
    let shown: f64 = line
        .split("sessions: ")
        .nth(1)
        .and_then(|r| r.split("s from history").next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no duration from history in {line:?}"));
    assert!((20.0..=30.0).contains(&shown), "{line}");
    assert!(line.contains("within the 30s target"), "{line}");
}

/// Issue 11: without Prometheus the chart says it has no history, rather
/// than drawing an empty past that reads as zero; JSON says it once.
#[test]
fn a_failed_history_is_a_visible_note() {
    let c = Cluster::without_prometheus("healthy");
    let run = c.spice(&[
        "watch",
        "-o",
        "json",
        "--interval",
        "500ms",
        "--timeout",
        "2s",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let first: Value = serde_json::from_str(run.stdout.lines().next().unwrap()).unwrap();
    let note = first["historyNote"]
        .as_str()
        .unwrap_or_else(|| panic!("{first}"));
    assert!(note.starts_with("no history: "), "{note}");
    assert!(first["history"].is_null(), "{first}");
    let notes = run.stdout.matches("historyNote").count();
    assert_eq!(notes, 1, "said once:\n{}", run.stdout);

    let text = c.spice(&[
        "watch",
        "-o",
        "text",
        "--interval",
        "500ms",
        "--timeout",
        "2s",
    ]);
    assert!(text.stdout.contains("! no history: "), "{}", text.stdout);

    let tmux = watch_in_tmux(&c, "spice-no-history", "--interval 500ms --timeout 40s");
    let screen = tmux.wait_for(&["running 3", "Sessions vs running pods · no history: "]);
    assert!(screen.contains("Prometheus unavailable"), "{screen}");
}

/// Issue 11: the start-up read lists nothing the watchers list: each watched
/// resource is listed once (the watcher's initial list), not twice.
#[test]
fn one_read_at_start() {
    let c = Cluster::start("healthy");
    c.sim.reset_requests();
    let mut w = Watching::start(&c, &["watch", "-o", "json", "--interval", "500ms"]);
    w.wait_for("3 running pods", |v| v["runningPods"] == 3);
    let requests = c.sim.requests();
    let lists = |path: &str| {
        requests
            .iter()
            .filter(|r| {
                let (p, q) = r.split_once('?').unwrap_or((r.as_str(), ""));
                p.ends_with(path) && !q.contains("watch=true")
            })
            .count()
    };
    for path in [
        "/api/v1/namespaces/default/pods",
        "/api/v1/nodes",
        "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers",
        "/api/v1/namespaces/default/events",
        "/apis/apps/v1/namespaces/default/deployments",
        "/apis/keda.sh/v1alpha1/namespaces/default/scaledobjects",
    ] {
        assert_eq!(lists(path), 1, "{path} listed once:\n{requests:#?}");
    }
    assert!(
        !requests
            .iter()
            .any(|r| r.contains("/deployments/spice-runner")
                || r.contains("/scaledobjects/spice-runner-keda")),
        "no one-shot get of a watched object:\n{requests:#?}"
    );
    let kube = requests.iter().filter(|r| !r.contains("/proxy/")).count();
    eprintln!(
        "watch start-up: {} requests before the first line ({kube} to the API server):\n{}",
        requests.len(),
        requests.join("\n")
    );
}

/// Issue 11: the start-up read no longer lists pods or nodes, yet "no
/// cluster at all" is still exit 2 at once, with one error line and a hint,
/// in every output mode.
#[test]
fn no_cluster_at_all_is_still_exit_2_at_once() {
    let c = Cluster::start("healthy");
    let dead = c.dead_kubeconfig();
    let kc = dead.to_str().expect("path");
    for output in [&["-o", "json"][..], &["-o", "text"][..]] {
        let mut args = vec!["watch", "--timeout", "30s", "--kubeconfig", kc];
        args.extend_from_slice(output);
        let run = crate::support::spice::run_bin(BIN, &args, &[], c.dir.path());
        assert_eq!(run.code, 2, "{output:?}: {}", run.stderr);
        assert!(run.elapsed < Duration::from_secs(10), "{:?}", run.elapsed);
        assert!(run.stdout.is_empty(), "{}", run.stdout);
        let lines: Vec<&str> = run.stderr.lines().collect();
        assert_eq!(lines.len(), 2, "{}", run.stderr);
        assert!(lines[0].starts_with("error: "), "{}", run.stderr);
        assert!(lines[1].starts_with("hint: "), "{}", run.stderr);
    }
}

/// Issue 11: a history that does not answer holds the first frame back no
/// longer than the request timeout, and is said as a note, not drawn as zero.
#[test]
fn a_slow_history_never_holds_the_first_frame_longer_than_its_timeout() {
    use crate::support::sim::Fault;
    let c = Cluster::start("healthy");
    c.sim.inject(
        "/api/v1/namespaces/observability/services/prometheus:9090/proxy/api/v1/query_range",
        Fault::latency(Duration::from_secs(20)),
    );
    let started = Instant::now();
    let mut w = Watching::start(
        &c,
        &[
            "watch",
            "-o",
            "json",
            "--interval",
            "500ms",
            "--request-timeout",
            "2s",
        ],
    );
    let first = w.wait_for("the first line", |v| v["kind"] == "WatchEvent");
    let waited = started.elapsed();
    assert!(
        waited < Duration::from_secs(8),
        "first line after {waited:?}"
    );
    assert_eq!(first["runningPods"], 3, "{first}");
    let note = first["historyNote"]
        .as_str()
        .unwrap_or_else(|| panic!("{first}"));
    // The client's own timeout or the history read's, whichever fires first.
    assert!(note.contains("within 2s"), "{note}");
}

/// No players, only the exporter's stub_status reads (0.067 req/s at a 15 s
/// scrape) under activationThreshold 0.2: the watch view judges "no
/// sessions" with the same idle model as status and diagnose, so the game
/// is idle, not "sessions but no running pods".
#[test]
fn the_exporter_scrape_floor_is_idle_in_the_watch_view_too() {
    let c = Cluster::start("idle-floor-15s");
    let mut w = Watching::start(
        &c,
        &[
            "watch",
            "-o",
            "json",
            "--timeout",
            "20s",
            "--interval",
            "500ms",
        ],
    );
    let first = w.wait_for("a line with sessions", |v| v["sessions"].is_number());
    let sessions = first["sessions"].as_f64().unwrap_or_default();
    assert!((sessions - 0.0667).abs() < 0.01, "{first}");
    assert_eq!(first["band"], "idle", "{first}");
}
