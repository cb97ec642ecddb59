//! `kubectl spice watch` end to end: the real binary against the cluster
//! simulator (watch streams) and a real Prometheus, pods changed while it runs.

use crate::support::sim::rel_time;
use crate::support::spice::{BIN, Cluster};
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
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs(20));
    let secs = t0.elapsed().as_secs_f64();
    let cpu = cpu_seconds(pid) - cpu0;
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
        "watch at 200 pods, --interval 2s: {:.0} requests/min ({:.0} Prometheus queries via the proxy, {:.0} Kubernetes), CPU {:.2}% of a core, RSS {} KiB",
        per_minute(requests.len()),
        per_minute(proxied),
        per_minute(kube.len()),
        cpu / secs * 100.0,
        rss
    );
    // No re-listing on a timer: in steady state the watches stay open.
    assert!(
        kube.len() <= 2,
        "Kubernetes requests in steady state: {kube:#?}"
    );
    // Six status queries per 2 s interval, whatever the pod count.
    assert!(per_minute(proxied) <= 200.0, "{proxied} in {secs}s");
    assert!(cpu / secs < 0.02, "idle CPU {:.2}%", cpu / secs * 100.0);
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

/// A tmux server of our own (its own socket), killed on drop.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn cmd(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("run tmux")
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.cmd(&["capture-pane", "-p", "-t", "w"]).stdout).into_owned()
    }

    /// Waits (bounded) until the screen shows every one of `want`.
    fn wait_for(&self, want: &[&str]) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let screen = self.screen();
            if want.iter().all(|w| screen.contains(w)) {
                return screen;
            }
            if Instant::now() > deadline {
                panic!("the screen never showed {want:?}:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd(&["kill-server"]);
    }
}

#[test]
fn the_full_screen_shows_a_measured_scale_up_and_q_restores_the_terminal() {
    let c = Cluster::start("healthy");
    c.sim
        .delete("v1", "Pod", Some("default"), "spice-runner-7d9c8b5f4-d4hnb");
    let tmux = Tmux {
        socket: format!("spice-watch-{}", std::process::id()),
    };
    let home = c.dir.path().display().to_string();
    let command = format!(
        "env -i PATH=/usr/bin:/bin TERM=screen HOME={home} XDG_CONFIG_HOME={home}/.config \
         {BIN} watch --interval 500ms --timeout 40s --kubeconfig {}; echo EXIT=$?; sleep 60",
        c.kubeconfig.display()
    );
    let out = tmux.cmd(&[
        "new-session",
        "-d",
        "-s",
        "w",
        "-x",
        "160",
        "-y",
        "48",
        &command,
    ]);
    assert!(
        out.status.success(),
        "tmux: {}",
        String::from_utf8_lossy(&out.stderr)
    );

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
    let tmux = Tmux {
        socket: format!("spice-watch-term-{}", std::process::id()),
    };
    let home = c.dir.path().display().to_string();
    let command = format!(
        "env -i PATH=/usr/bin:/bin TERM=screen HOME={home} XDG_CONFIG_HOME={home}/.config \
         {BIN} watch --timeout 40s --kubeconfig {}; echo EXIT=$?; sleep 60",
        c.kubeconfig.display()
    );
    let out = tmux.cmd(&[
        "new-session",
        "-d",
        "-s",
        "w",
        "-x",
        "160",
        "-y",
        "48",
        &command,
    ]);
    assert!(
        out.status.success(),
        "tmux: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    tmux.wait_for(&["kubectl spice watch", "running 3"]);
    // The pane runs sh; its child is the watch.
    let shell = String::from_utf8_lossy(
        &tmux
            .cmd(&["display", "-p", "-t", "w", "#{pane_pid}"])
            .stdout,
    )
    .trim()
    .to_string();
    let children = std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children"))
        .expect("children of the pane's shell");
    let pid = children
        .split_whitespace()
        .next()
        .expect("the watch process");
    let status = Command::new("kill")
        .args(["-TERM", pid])
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
