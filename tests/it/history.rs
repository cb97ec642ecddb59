//! `report` and `timeline` (issue 22) and flapping (issue 18 item 9) end to
//! end: the real binary against the simulator and a real Prometheus holding
//! a week of backfilled history (`promtool tsdb create-blocks-from
//! openmetrics`) with a retention shorter than the week.
//!
//! The week, relative to now (N):
//! - 3 sessions and 3 pods most of the time, one node;
//! - every day at N-k·24h-4h a fast scale-up 3 → 4 (pods 15 s behind) and,
//!   an hour later, the scale-down back to 3 (30 s behind);
//! - a zero-pod night from N-3d-8h to N-3d (sessions and pods 0), ending in
//!   a scale-up 0 → 3 that misses its target: pods Pending for 150 s while a
//!   second node is launched;
//! - at N-1d a scale-up 3 → 6 that misses its target with pods Pending 90 s
//!   and no new node;
//! - the last hour flaps: 3 sessions, pods 3 ↔ 5 every 4 minutes;
//! - node `node-1` registers 40 s into the night's scale-up and is Ready
//!   60 s later (`kube_node_created`, `kube_node_status_condition`), and
//!   stays six hours;
//! - the KEDA HPA wants as many pods as there are sessions at once
//!   (`kube_horizontalpodautoscaler_status_desired_replicas`);
//! - the Deployment's spec changes at N-30m (generation 7 → 8) and KEDA
//!   rewrites its HPA at N-20m (generation 2 → 3).
//!
//! Prometheus keeps 5 days (`--storage.tsdb.retention.time=5d`) of day-long
//! blocks, so `--since 7d` reaches back only to between N-6d and N-5d.

use crate::support::loki::{FakeLoki, LokiConfig};
use crate::support::prom::{Proc, binary, free_port, http_get, url_encode};
use crate::support::scenario::Scenario;
use crate::support::sim::Sim;
use crate::support::spice::{BIN, Cluster, Run, run_bin};
use serde_json::Value;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const DAY: i64 = 86_400;
const WEEK: i64 = 7 * DAY;
/// The scrape interval of the backfilled samples (the Prometheus
/// Operator's default): two samples in every `rate(...[1m])`.
const SCRAPE: i64 = 30;
/// The game pods' names: `<deployment>-<hash>-<suffix>`.
const PODS: [&str; 6] = [
    "spice-runner-7d4b9c8f5-b2c4d",
    "spice-runner-7d4b9c8f5-f5g6h",
    "spice-runner-7d4b9c8f5-j7k8l",
    "spice-runner-7d4b9c8f5-m9n2p",
    "spice-runner-7d4b9c8f5-q4r5s",
    "spice-runner-7d4b9c8f5-t6v7w",
];

/// Sessions, running pods, pending pods and nodes at `t` seconds from now.
pub(crate) fn state(t: i64) -> (f64, usize, usize, usize) {
    // The flapping last hour.
    if t >= -3600 {
        let phase = ((t + 3600) / 240) % 2;
        return (3.0, if phase == 0 { 3 } else { 5 }, 0, 1);
    }
    // The zero-pod night, and the slow scale-up out of it.
    let night_end = -3 * DAY;
    if (night_end - 8 * 3600..night_end).contains(&t) {
        let into = t - (night_end - 8 * 3600);
        return if into < 45 {
            (0.0, 3, 0, 1)
        } else {
            (0.0, 0, 0, 1)
        };
    }
    if (night_end..night_end + 150).contains(&t) {
        let nodes = if t - night_end >= NODE_1_CREATED {
            2
        } else {
            1
        };
        return (3.0, 0, 3, nodes);
    }
    // The slow scale-up with no new node.
    if (-DAY..-DAY + 90).contains(&t) {
        return (6.0, 3, 3, 1);
    }
    if (-DAY + 90..-DAY + 1800).contains(&t) {
        return (6.0, 6, 0, 1);
    }
    // The daily fast scale-up and scale-down.
    for k in 1..=6 {
        let up = -k * DAY - 4 * 3600;
        if (up..up + 15).contains(&t) {
            return (4.0, 3, 1, 1);
        }
        if (up + 15..up + 3600).contains(&t) {
            return (4.0, 4, 0, 1);
        }
        if (up + 3600..up + 3630).contains(&t) {
            return (3.0, 4, 0, 1);
        }
    }
    (3.0, 3, 0, 1)
}

/// `node-1`: registered this long after the night's end, Ready
/// [`NODE_1_READY_AFTER`] later, gone six hours after.
const NODE_1_CREATED: i64 = 40;
const NODE_1_READY_AFTER: i64 = 60;
const NODE_1_LIFE: i64 = 6 * 3600;

/// The nodes at `t`: `state`'s count, with `node-1` kept its six hours.
fn node_count(t: i64) -> usize {
    let since = t - (-3 * DAY + NODE_1_CREATED);
    let (_, _, _, n) = state(t);
    if (0..NODE_1_LIFE).contains(&since) {
        n.max(2)
    } else {
        n
    }
}

/// The week as OpenMetrics text, one sample every [`SCRAPE`] s from
/// N-7d to N+5m (the queries at "now" answer the same during the test).
pub(crate) fn openmetrics(now: i64) -> String {
    let mut nginx = String::new();
    let mut phase = String::new();
    let mut created = String::new();
    let mut ready = String::new();
    let mut nodes = String::new();
    // One buffer per family: OpenMetrics keeps a family's samples together.
    let mut fam: [String; 5] = Default::default();
    let mut total = 0.0;
    let hpa = "namespace=\"default\",horizontalpodautoscaler=\"keda-hpa-spice-runner-keda\"";
    let deploy = "namespace=\"default\",deployment=\"spice-runner\"";
    let node_1_created = now - 3 * DAY + NODE_1_CREATED;
    let mut t = -WEEK;
    let ns = "namespace=\"default\"";
    while t <= 300 {
        let (sessions, running, pending, _) = state(t);
        let node_count = node_count(t);
        let at = now + t;
        // The HPA wants a pod per session at once; the specs change late.
        writeln!(
            fam[0],
            "kube_horizontalpodautoscaler_status_desired_replicas{{{hpa}}} {} {at}",
            sessions.ceil()
        )
        .unwrap();
        writeln!(
            fam[1],
            "kube_deployment_metadata_generation{{{deploy}}} {} {at}",
            if t >= -1800 { 8 } else { 7 }
        )
        .unwrap();
        writeln!(
            fam[2],
            "kube_horizontalpodautoscaler_metadata_generation{{{hpa}}} {} {at}",
            if t >= -1200 { 3 } else { 2 }
        )
        .unwrap();
        // The counter grows by `sessions` requests a second.
        writeln!(
            nginx,
            "nginx_http_requests_total{{service=\"spice-runner-nginx\"}} {total} {at}"
        )
        .unwrap();
        total += sessions * SCRAPE as f64;
        for (i, pod) in PODS.iter().enumerate() {
            let (r, p) = (i < running, i >= running && i < running + pending);
            // kube-state-metrics drops a deleted pod's series and the
            // scrape marks it stale; a backfill cannot write the marker, so
            // a pod gone less than the 5 min lookback ago reads 0, and no
            // series at all after that (a game with no pod has none).
            let gone_recently = (1..=10).any(|back| {
                let (_, r0, p0, _) = state(t - back * SCRAPE);
                i < r0 + p0
            });
            if !(r || p || gone_recently) {
                continue;
            }
            let l = format!("{ns},pod=\"{pod}\"");
            writeln!(
                phase,
                "kube_pod_status_phase{{{l},phase=\"Running\"}} {} {at}",
                r as u8
            )
            .unwrap();
            writeln!(
                phase,
                "kube_pod_status_phase{{{l},phase=\"Pending\"}} {} {at}",
                p as u8
            )
            .unwrap();
            // Read over the whole period only: every 5 minutes is enough.
            if t % 300 == 0 && (r || p) {
                writeln!(created, "kube_pod_created{{{l}}} {} {at}", now - WEEK).unwrap();
                writeln!(
                    ready,
                    "kube_pod_status_ready{{{l},condition=\"true\"}} {} {at}",
                    r as u8
                )
                .unwrap();
            }
        }
        for n in 0..node_count {
            writeln!(nodes, "kube_node_info{{node=\"node-{n}\"}} 1 {at}").unwrap();
            let (created, ready) = if n == 0 {
                (now - 30 * DAY, true)
            } else {
                (node_1_created, at >= node_1_created + NODE_1_READY_AFTER)
            };
            writeln!(
                fam[3],
                "kube_node_created{{node=\"node-{n}\"}} {created} {at}"
            )
            .unwrap();
            writeln!(
                fam[4],
                "kube_node_status_condition{{node=\"node-{n}\",condition=\"Ready\",status=\"true\"}} {} {at}",
                ready as u8
            )
            .unwrap();
        }
        t += SCRAPE;
    }
    format!(
        "# TYPE nginx_http_requests counter\n{nginx}# TYPE kube_pod_status_phase gauge\n{phase}\
# TYPE kube_pod_created gauge\n{created}# TYPE kube_pod_status_ready gauge\n{ready}\
# TYPE kube_node_info gauge\n{nodes}\
# TYPE kube_horizontalpodautoscaler_status_desired_replicas gauge\n{}\
# TYPE kube_deployment_metadata_generation gauge\n{}\
# TYPE kube_horizontalpodautoscaler_metadata_generation gauge\n{}\
# TYPE kube_node_created gauge\n{}# TYPE kube_node_status_condition gauge\n{}# EOF\n",
        fam[0], fam[1], fam[2], fam[3], fam[4]
    )
}

/// A Prometheus on the week, shared by the tests that run at the same time
/// (the backfill is the slow part) and stopped when the last one ends.
pub(crate) struct Week {
    _proc: Proc,
    port: u16,
    _dir: tempfile::TempDir,
}

static WEEK_PROM: Mutex<Weak<Week>> = Mutex::new(Weak::new());

fn week() -> Arc<Week> {
    let mut cell = WEEK_PROM.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(w) = cell.upgrade() {
        return w;
    }
    let w = Arc::new(start_week());
    *cell = Arc::downgrade(&w);
    w
}

pub(crate) fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

fn start_week() -> Week {
    start_week_from(&openmetrics(now_unix()))
}

/// A Prometheus on `week` (OpenMetrics text), backfilled in day-long blocks.
pub(crate) fn start_week_from(week: &str) -> Week {
    let dir = tempfile::Builder::new()
        .prefix("spice-week-")
        .tempdir()
        .expect("tempdir");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    let om = dir.path().join("week.om");
    std::fs::write(&om, week).expect("write week");
    let out = Command::new(binary("promtool"))
        // Day-long blocks: promtool 2.42 reads the whole input once per
        // block, so the default 2 h blocks cost 84 passes over a week.
        .args([
            "tsdb",
            "create-blocks-from",
            "openmetrics",
            "--quiet",
            "--max-block-duration=24h",
        ])
        .arg(&om)
        .arg(&data)
        .stdin(Stdio::null())
        .output()
        .expect("run promtool");
    assert!(
        out.status.success(),
        "promtool failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        "global:\n  scrape_interval: 30s\nscrape_configs: []\n",
    )
    .expect("config");
    let port = free_port();
    let mut cmd = Command::new(binary("prometheus"));
    cmd.arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.tsdb.path={}", data.display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--storage.tsdb.retention.time=5d")
        .arg("--log.level=warn");
    let mut proc = Proc::spawn("prometheus", &mut cmd, dir.path());
    let deadline = Instant::now() + Duration::from_secs(30);
    let probe = format!(
        "/api/v1/query?query={}",
        url_encode("count(kube_node_info)")
    );
    loop {
        proc.assert_running("while loading the week");
        if let Ok((200, body)) = http_get(port, &probe)
            && body.contains("\"value\"")
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "prometheus never answered the week\n{}",
            proc.output_tail()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Week {
        _proc: proc,
        port,
        _dir: dir,
    }
}

/// The simulator serving `scenario`, its Prometheus service proxied to the week.
pub(crate) struct Game {
    _sim: Sim,
    _week: Arc<Week>,
    dir: tempfile::TempDir,
    kubeconfig: PathBuf,
}

impl Game {
    fn start(scenario: Scenario) -> Game {
        Game::on(scenario, week())
    }

    /// The simulator serving `scenario` with the Prometheus `week`.
    pub(crate) fn on(scenario: Scenario, week: Arc<Week>) -> Game {
        let sim = Sim::start(scenario);
        sim.set_proxy_upstream(
            "observability",
            "prometheus",
            "9090",
            &format!("http://127.0.0.1:{}", week.port),
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let kubeconfig = sim.write_kubeconfig(dir.path());
        Game {
            _sim: sim,
            _week: week,
            dir,
            kubeconfig,
        }
    }

    pub(crate) fn spice(&self, args: &[&str]) -> Run {
        let mut all = args.to_vec();
        all.extend(["--kubeconfig", self.kubeconfig.to_str().expect("utf-8")]);
        run_bin(BIN, &all, &[], self.dir.path())
    }
}

fn metric<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["metrics"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["id"] == id))
        .unwrap_or_else(|| panic!("no metric {id} in {report:#}"))
}

fn ts(v: &Value) -> i64 {
    v.as_str()
        .and_then(|s| s.parse::<jiff::Timestamp>().ok())
        .map(|t| t.as_second())
        .unwrap_or_else(|| panic!("not a time: {v}"))
}

#[test]
fn report_over_a_week_finds_the_missed_scale_ups_the_flapping_and_the_short_retention() {
    let g = Game::start(Scenario::load("healthy"));
    let run = g.spice(&["report", "--since", "7d", "-o", "json"]);
    let j = run.json();
    let now = now_unix();
    assert_eq!(run.code, 1, "a target is missed: exit 1\n{}", run.stderr);
    assert_eq!(j["kind"], "Report");
    assert_eq!(j["apiVersion"], "spice.kubectl.dev/v1alpha1");
    // Retention 5d of day-long blocks: the history starts 5 to 6 days
    // back, and says so.
    assert_eq!(j["coverage"]["partial"], true, "{:#}", j["coverage"]);
    let first = ts(&j["coverage"]["firstPoint"]);
    assert!(
        (5 * DAY - 3600..6 * DAY + 3600).contains(&(now - first)),
        "first point {first} vs now {now}"
    );
    assert!(
        j["notes"][0]
            .as_str()
            .is_some_and(|n| n.contains("reaches back only")),
        "{:#}",
        j["notes"]
    );
    // The two planted slow scale-ups are the worst, newest first in time.
    let up = &j["scaleUp"];
    assert!(up["overTarget"].as_u64() >= Some(2), "{up:#}");
    assert!(up["count"].as_u64() >= Some(2), "{up:#}");
    assert!(up["maxSeconds"].as_f64() >= Some(120.0), "{up:#}");
    assert_eq!(metric(&j, "scaleUp")["verdict"], "fail");
    let episodes = j["episodes"].as_array().expect("episodes");
    let planted = |at: i64| {
        episodes
            .iter()
            .find(|e| {
                e["direction"] == "scaleUp" && (ts(&e["startedAt"]) - (now + at)).abs() <= 120
            })
            .unwrap_or_else(|| panic!("no scale-up near now{at:+}: {episodes:#?}"))
    };
    assert_eq!(planted(-DAY)["withinTarget"], false);
    assert_eq!(planted(-3 * DAY)["withinTarget"], false);
    // The worst (against its target) is the night's end: pods Pending
    // while a node was launched.
    let worst = &j["worstEpisodes"][0];
    assert!(
        (ts(&worst["startedAt"]) - (now - 3 * DAY)).abs() <= 120,
        "{:#}",
        j["worstEpisodes"]
    );
    assert!(
        worst["cause"]
            .as_str()
            .is_some_and(|c| c.contains("nodes were launched")),
        "{worst:#}"
    );
    // The scale-downs that missed are the flapping hour's.
    for e in episodes {
        if e["direction"] == "scaleDown" && e["withinTarget"] == false {
            assert!(now - ts(&e["startedAt"]) <= 3600, "{e:#}");
        }
    }
    // The zero-pod night is idle time, and its end left sessions with no pod.
    assert!(j["bands"]["idleSeconds"].as_f64() >= Some(7.5 * 3600.0));
    assert!(j["sessionMinutesWithoutPod"].as_f64() >= Some(5.0));
    // The last half hour flaps.
    assert_eq!(j["flapping"]["flapping"], true, "{:#}", j["flapping"]);
    assert!(j["flapping"]["reversals"].as_u64() >= Some(6));
    assert_eq!(metric(&j, "flapping")["verdict"], "fail");
    // Pods from kube-state-metrics: every pod reached Ready.
    assert_eq!(j["pods"]["created"], 6.0, "{:#}", j["pods"]);
    assert_eq!(metric(&j, "podSuccess")["verdict"], "pass");
    assert!(j["nodeLaunches"].as_u64() >= Some(1));
    // Each node launch's time from kube-state-metrics: node-1, Ready 60 s
    // after it registered, first scraped Ready 80 s after (the 30 s scrape),
    // read to the 15 s step; measured but not judged: the runbook gives no
    // node provisioning target.
    let launch = &j["nodeLaunchTimes"];
    assert_eq!(launch["count"], 1, "{launch:#} {:#}", j["unread"]);
    assert_eq!(launch["slowest"][0]["node"], "node-1", "{launch:#}");
    assert!(
        launch["maxSeconds"]
            .as_f64()
            .is_some_and(|s| (80.0..=95.0).contains(&s)),
        "{launch:#}"
    );
    assert_eq!(metric(&j, "nodeLaunch")["verdict"], "notJudged");
    assert_eq!(metric(&j, "nodeLaunch")["target"], "no runbook target");
    // The worst episodes judged link by link on history: the night's end
    // waited for node-1, the N-1d one for a node that never came.
    let link = |w: &Value, id: &str| -> Value {
        w["chain"]
            .as_array()
            .and_then(|c| c.iter().find(|l| l["check"] == id).cloned())
            .unwrap_or_else(|| panic!("no {id} in {w:#}"))
    };
    let nodes = link(worst, "nodes.scale-up");
    assert_eq!(nodes["outcome"], "fail", "{nodes:#}");
    assert!(
        nodes["says"].as_str().is_some_and(|s| s.contains("node-1")),
        "{nodes:#}"
    );
    assert_eq!(link(worst, "pods.pending")["outcome"], "fail");
    assert_eq!(link(worst, "keda.polling-interval")["outcome"], "pass");
    assert_eq!(link(worst, "keda.ready")["outcome"], "notJudged");
    // Before the flapping hour (whose scale-downs outrank it), the N-1d
    // scale-up is among the worst.
    let before = g
        .spice(&["report", "--since", "3d", "--until", "2h", "-o", "json"])
        .json();
    let day = before["worstEpisodes"]
        .as_array()
        .and_then(|w| {
            w.iter()
                .find(|w| (ts(&w["startedAt"]) - (now - DAY)).abs() <= 120)
        })
        .unwrap_or_else(|| panic!("N-1d not among {:#}", before["worstEpisodes"]));
    assert!(
        link(day, "nodes.scale-up")["says"]
            .as_str()
            .is_some_and(|s| s.contains("no node was added")),
        "{day:#}"
    );
    // Cost: the answer in seconds and under 50 MiB (the README quotes the
    // measured figures): peak RSS from /usr/bin/time.
    assert!(run.elapsed < Duration::from_secs(8), "{:?}", run.elapsed);
    let kc = g.kubeconfig.to_str().expect("utf-8");
    let peak = |since: &str| -> (u64, Run) {
        let timed = run_bin(
            "/usr/bin/time",
            &[
                "-f",
                "peak-rss-kib %M",
                BIN,
                "report",
                "--since",
                since,
                "-o",
                "json",
                "--kubeconfig",
                kc,
            ],
            &[],
            g.dir.path(),
        );
        let rss = timed
            .stderr
            .lines()
            .find_map(|l| l.strip_prefix("peak-rss-kib "))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no peak RSS: {}", timed.stderr));
        (rss, timed)
    };
    // What a week of 15 s points adds over an hour's, and the whole: this
    // test runs the debug build, whose own pages are most of the baseline
    // (the README has the figures).
    let (hour, _) = peak("1h");
    let (rss, timed) = peak("7d");
    assert!(
        rss.saturating_sub(hour) < 20 * 1024,
        "a week adds {} KiB over an hour ({hour} → {rss})",
        rss.saturating_sub(hour)
    );
    assert!(rss < 64 * 1024, "report --since 7d peaked at {rss} KiB");

    if let Ok(path) = std::env::var("SPICE_WRITE_EXAMPLES") {
        std::fs::write(
            Path::new(&path).join("cost.txt"),
            format!(
                "{:?} {rss} KiB (1h: {hour} KiB) {} bytes of JSON\n",
                timed.elapsed,
                timed.stdout.len()
            ),
        )
        .expect("write");
    }

    // The text says the same at 3 a.m.
    let text = g.spice(&["report", "--since", "7d"]);
    assert_eq!(text.code, 1);
    for want in [
        "✗ Scale-up time",
        "target missed",
        "Worst episodes",
        // Flapping is a row of the metrics (its sentence is in JSON and the
        // timeline), not a second line under them.
        "✗ Flapping (last 30 min)",
    ] {
        assert!(text.stdout.contains(want), "{want}:\n{}", text.stdout);
    }
    if let Ok(path) = std::env::var("SPICE_WRITE_EXAMPLES") {
        std::fs::write(Path::new(&path).join("report.txt"), &text.stdout).expect("write example");
    }
    crate::readme_samples::check_masked("report-week", &text.stdout, |_| true);
}

#[test]
fn a_day_without_the_planted_misses_passes_and_markdown_is_a_table() {
    let g = Game::start(Scenario::load("healthy"));
    // A quiet day ending 2 h ago (before the flapping, after the slow
    // scale-up of N-1d): nothing missed, exit 0.
    let run = g.spice(&["report", "--since", "20h", "--until", "2h", "-o", "json"]);
    let j = run.json();
    assert_eq!(run.code, 0, "{:#}\n{}", j["metrics"], run.stderr);
    assert_eq!(j["coverage"]["partial"], false);
    assert_eq!(j["scaleUp"]["overTarget"], 0);
    assert_eq!(j["flapping"]["flapping"], false);
    let md = g.spice(&[
        "report", "--since", "20h", "--until", "2h", "-o", "markdown",
    ]);
    assert_eq!(md.code, 0, "{}", md.stderr);
    assert!(
        md.stdout.contains("| - | Scale-up time | no episode |")
            && md.stdout.contains("| ✓ | Pod success rate | 100.00 % |"),
        "{}",
        md.stdout
    );
}

/// Heartbeat lines at `per_session` a second per session of the week, as
/// the fake Loki's rates, until `stop` seconds from now (`None`: never).
fn heartbeat_rates(now: i64, per_session: f64, stop: Option<i64>) -> Vec<(f64, f64, f64)> {
    let mut out: Vec<(f64, f64, f64)> = Vec::new();
    let mut t = -WEEK;
    while t <= 300 {
        let rate = if stop.is_some_and(|s| t >= s) {
            0.0
        } else {
            state(t).0 * per_session
        };
        let (from, to) = ((now + t) as f64, (now + t + SCRAPE) as f64);
        match out.last_mut() {
            Some(last) if last.2 == rate && last.1 == from => last.1 = to,
            _ => out.push((from, to, rate)),
        }
        t += SCRAPE;
    }
    out
}

#[test]
fn heartbeats_per_session_come_from_loki_over_the_period_and_a_silence_with_sessions_is_a_miss() {
    let g = Game::start(Scenario::load("healthy"));
    let now = now_unix();
    let loki = FakeLoki::serve_sim(
        &g._sim,
        LokiConfig::new().heartbeat_rates(heartbeat_rates(now, 0.2, None)),
    );
    // The quiet day: 0.2 per session, exit 0.
    let args = ["report", "--since", "20h", "--until", "2h", "-o", "json"];
    let run = g.spice(&args);
    let j = run.json();
    assert_eq!(run.code, 0, "{:#}\n{}", j["metrics"], run.stderr);
    let hb = metric(&j, "heartbeats");
    assert_eq!(hb["verdict"], "pass", "{hb:#}");
    assert!(
        hb["value"].as_f64().is_some_and(|v| (v - 0.2).abs() < 0.01),
        "{hb:#}"
    );
    // One query_range over the period, Loki's matrix, a minute a step.
    let seen = loki.seen();
    let ranges: Vec<&String> = seen
        .iter()
        .filter(|r| r.starts_with("/loki/api/v1/query_range"))
        .collect();
    assert_eq!(ranges.len(), 1, "{seen:#?}");
    assert!(
        ranges[0].contains("count_over_time") && ranges[0].contains("[60s]"),
        "{seen:#?}"
    );
    // The heartbeats stop at N-10h, the sessions do not: a miss, with when.
    loki.set_config(LokiConfig::new().heartbeat_rates(heartbeat_rates(now, 0.2, Some(-10 * 3600))));
    let run = g.spice(&args);
    let j = run.json();
    assert_eq!(run.code, 1, "{:#}\n{}", j["metrics"], run.stderr);
    let hb = metric(&j, "heartbeats");
    assert_eq!(hb["verdict"], "fail", "{hb:#}");
    assert!(
        hb["detail"]
            .as_str()
            .is_some_and(|d| d.starts_with("no heartbeat from")),
        "{hb:#}"
    );
    let gap = &j["heartbeatGaps"][0];
    assert!(
        (ts(&gap["from"]) - (now - 10 * 3600)).abs() <= 120,
        "{gap:#}"
    );
    assert!((ts(&gap["to"]) - (now - 2 * 3600)).abs() <= 120, "{gap:#}");
    let text = g.spice(&["report", "--since", "20h", "--until", "2h"]);
    assert!(
        text.stdout.contains("✗ Heartbeats per session")
            && text.stdout.contains("no heartbeat from"),
        "{}",
        text.stdout
    );
}

#[test]
fn a_prometheus_without_kube_pod_created_says_pod_success_cannot_be_measured_not_a_gap() {
    // The scenario harness's kube-state-metrics writes the phases, not
    // kube_pod_created: the plugin names the series and what writes it.
    let c = Cluster::start("healthy");
    let run = run_bin(
        BIN,
        &[
            "report",
            "--since",
            "1h",
            "-o",
            "json",
            "--kubeconfig",
            c.kubeconfig.to_str().expect("utf-8"),
        ],
        &[],
        c.dir.path(),
    );
    let j = run.json();
    let m = metric(&j, "podSuccess");
    assert_eq!(m["shown"], "cannot measure", "{m:#}");
    assert_eq!(m["verdict"], "noData", "{m:#}");
    assert!(
        m["detail"]
            .as_str()
            .is_some_and(|d| d.contains("kube_pod_created") && d.contains("kube-state-metrics")),
        "{m:#}"
    );
    assert_eq!(j["pods"]["creationSeriesMissing"], true, "{:#}", j["pods"]);
    // Prometheus was read: no gap, no exit 3.
    assert_eq!(j["incomplete"], false, "{:#}", j["unread"]);
    assert_eq!(run.code, 0, "{:#}\n{}", j["metrics"], run.stderr);
}

#[test]
fn report_without_prometheus_is_incomplete_exit_3() {
    let sim = Sim::start(Scenario::load("healthy"));
    let dir = tempfile::tempdir().expect("tempdir");
    let kc = sim.write_kubeconfig(dir.path());
    let run = run_bin(
        BIN,
        &[
            "report",
            "-o",
            "json",
            "--kubeconfig",
            kc.to_str().expect("utf-8"),
        ],
        &[],
        dir.path(),
    );
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    let j = run.json();
    assert_eq!(j["incomplete"], true);
    assert!(
        j["unread"][0]
            .as_str()
            .is_some_and(|u| u.starts_with("Prometheus history")),
        "{:#}",
        j["unread"]
    );
    assert!(run.stderr.contains("incomplete:"), "{}", run.stderr);
}

/// `operator-erroring` with its operator log moved to 20 minutes ago (the
/// file's lines carry fixed 2026-08-24T09:MM:SSZ times).
fn erroring_now() -> Scenario {
    let mut s = Scenario::load("operator-erroring");
    let base = now_unix() - 20 * 60;
    for text in s.meta.logs.values_mut() {
        *text = text
            .lines()
            .map(|l| match l.strip_prefix("2026-08-24T09:") {
                Some(rest) if rest.len() > 6 => {
                    let mm: i64 = rest[..2].parse().unwrap_or(33);
                    let ss: i64 = rest[3..5].parse().unwrap_or(0);
                    let at = base + (mm - 33) * 60 + ss;
                    let t = jiff::Timestamp::from_second(at).expect("time");
                    format!("{}{}", t.strftime("%Y-%m-%dT%H:%M:%SZ"), &rest[6..])
                }
                _ => l.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n");
    }
    s
}

#[test]
fn timeline_lists_episodes_events_operator_errors_and_flapping_in_order() {
    let g = Game::start(erroring_now());
    let run = g.spice(&["timeline", "--since", "90m", "-o", "json"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let j = run.json();
    assert_eq!(j["kind"], "Timeline");
    let entries = j["entries"].as_array().expect("entries");
    let times: Vec<i64> = entries.iter().map(|e| ts(&e["at"])).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "chronological");
    let has = |source: &str, text: &str| {
        entries.iter().any(|e| {
            e["source"] == source && e["sentence"].as_str().is_some_and(|s| s.contains(text))
        })
    };
    assert!(has("history", "scale-down began"), "{entries:#?}");
    assert!(has("history", "ratio band"), "{entries:#?}");
    assert!(has("event", "KEDAScalerFailed"), "{entries:#?}");
    assert!(
        has("keda-operator", "error executing prometheus query"),
        "{entries:#?}"
    );
    assert!(has("history", "flapping:"), "{entries:#?}");
    // Spec changes, from the generations kube-state-metrics keeps.
    assert!(
        has(
            "history",
            "Deployment spice-runner spec changed (generation 7 → 8)"
        ),
        "{entries:#?}"
    );
    assert!(
        has(
            "history",
            "HorizontalPodAutoscaler keda-hpa-spice-runner-keda spec changed (generation 2 → 3)"
        ),
        "{entries:#?}"
    );
    // The sources that do not reach back 90 minutes say so.
    let notes = j["notes"].to_string();
    assert!(notes.contains("events reach back about 1 h"), "{notes}");
    assert!(
        notes.contains("operator log is read for its last 30 min"),
        "{notes}"
    );

    let text = g.spice(&["timeline", "--since", "90m"]);
    assert_eq!(text.code, 0);
    assert!(
        text.stdout.contains("keda-operator") && text.stdout.contains("Timeline "),
        "{}",
        text.stdout
    );
    if let Ok(path) = std::env::var("SPICE_WRITE_EXAMPLES") {
        std::fs::write(Path::new(&path).join("timeline.txt"), &text.stdout).expect("write");
    }
    crate::readme_samples::check_masked("timeline-week", &text.stdout, |_| true);
}

/// The RGB pixels of a PNG as Chromium writes a screenshot (8-bit RGB or
/// RGBA, not interlaced): `(width, height, rgb bytes)`.
fn decode_png(bytes: &[u8]) -> (usize, usize, Vec<u8>) {
    use std::io::Read;
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    let (mut pos, mut idat) = (8, Vec::new());
    let (mut w, mut h, mut channels) = (0, 0, 3);
    while pos + 8 <= bytes.len() {
        let len = u32::from_be_bytes(bytes[pos..pos + 4].try_into().expect("len")) as usize;
        let kind = &bytes[pos + 4..pos + 8];
        let data = &bytes[pos + 8..pos + 8 + len];
        match kind {
            b"IHDR" => {
                w = u32::from_be_bytes(data[0..4].try_into().expect("w")) as usize;
                h = u32::from_be_bytes(data[4..8].try_into().expect("h")) as usize;
                assert_eq!(data[8], 8, "bit depth");
                channels = match data[9] {
                    2 => 3,
                    6 => 4,
                    other => panic!("colour type {other}"),
                };
                assert_eq!(data[12], 0, "interlaced");
            }
            b"IDAT" => idat.extend_from_slice(data),
            _ => {}
        }
        pos += 12 + len;
    }
    let mut raw = Vec::new();
    flate2::read::ZlibDecoder::new(&idat[..])
        .read_to_end(&mut raw)
        .expect("inflate");
    let stride = w * channels;
    let mut img = vec![0u8; h * stride];
    for y in 0..h {
        let filter = raw[y * (stride + 1)];
        let line = &raw[y * (stride + 1) + 1..(y + 1) * (stride + 1)];
        for x in 0..stride {
            let a = if x >= channels {
                img[y * stride + x - channels]
            } else {
                0
            } as i16;
            let b = if y > 0 { img[(y - 1) * stride + x] } else { 0 } as i16;
            let c = if x >= channels && y > 0 {
                img[(y - 1) * stride + x - channels]
            } else {
                0
            } as i16;
            let pred = match filter {
                0 => 0,
                1 => a,
                2 => b,
                3 => (a + b) / 2,
                4 => {
                    let p = a + b - c;
                    let (pa, pb, pc) = ((p - a).abs(), (p - b).abs(), (p - c).abs());
                    if pa <= pb && pa <= pc {
                        a
                    } else if pb <= pc {
                        b
                    } else {
                        c
                    }
                }
                f => panic!("filter {f}"),
            };
            img[y * stride + x] = (line[x] as i16 + pred) as u8;
        }
    }
    let rgb = img
        .chunks(channels)
        .flat_map(|p| [p[0], p[1], p[2]])
        .collect();
    (w, h, rgb)
}

/// Pixels within 3 of `#rrggbb`.
fn count_colour(rgb: &[u8], hex: &str) -> usize {
    let c: Vec<i16> = (0..3)
        .map(|i| i16::from_str_radix(&hex[1 + 2 * i..3 + 2 * i], 16).expect("hex"))
        .collect();
    rgb.chunks(3)
        .filter(|p| (0..3).all(|i| (p[i] as i16 - c[i]).abs() <= 3))
        .count()
}

/// A headless Chromium screenshot of `html` (1000×900), bounded to 60 s.
fn screenshot(html: &Path, png: &Path, profile: &Path) {
    let out = Command::new("timeout")
        .arg("60")
        .arg("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            "--window-size=1000,900",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", html.display()))
        .stdin(Stdio::null())
        .output()
        .expect("chromium not installed: run tests/run.sh (it installs it)");
    assert!(
        out.status.success() && png.exists(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_html_report_is_self_contained_and_a_browser_draws_its_charts() {
    let g = Game::start(Scenario::load("healthy"));
    let run = g.spice(&["report", "--since", "7d", "-o", "html"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let html = &run.stdout;
    // Nothing to fetch and nothing to run.
    for banned in ["<script", "src=", "href=", "url(", "@import"] {
        assert!(!html.contains(banned), "{banned} in the HTML");
    }
    let dir = g.dir.path();
    let (page, png) = (dir.join("report.html"), dir.join("report.png"));
    std::fs::write(&page, html).expect("write html");
    screenshot(&page, &png, &dir.join("chromium"));
    let bytes = std::fs::read(&png).expect("png");
    let (w, h, rgb) = decode_png(&bytes);
    assert_eq!((w, h), (1000, 900));
    // Each chart's own colour is on screen: the three lines (beyond their
    // 14×14 legend swatches), the episode bars and their target line, the
    // band bar.
    for (what, colour, least) in [
        ("sessions line", "#1f77b4", 800),
        ("running pods line", "#ff7f0e", 800),
        ("nodes line", "#2ca02c", 800),
        ("episode bars", "#9467bd", 300),
        ("target line", "#d62728", 300),
        ("green band", "#3cb44b", 3000),
        ("idle band", "#a9a9a9", 100),
    ] {
        let n = count_colour(&rgb, colour);
        assert!(n >= least, "{what} ({colour}): {n} pixels");
    }
    // The same count on a page without charts (the timeline) finds none.
    let t = g.spice(&["timeline", "-o", "html"]);
    let (tpage, tpng) = (dir.join("timeline.html"), dir.join("timeline.png"));
    std::fs::write(&tpage, &t.stdout).expect("write html");
    screenshot(&tpage, &tpng, &dir.join("chromium"));
    let (_, _, trgb) = decode_png(&std::fs::read(&tpng).expect("png"));
    assert_eq!(count_colour(&trgb, "#9467bd"), 0);
    if let Ok(path) = std::env::var("SPICE_WRITE_EXAMPLES") {
        std::fs::write(Path::new(&path).join("report.png"), &bytes).expect("write");
        std::fs::write(Path::new(&path).join("report.html"), html).expect("write");
    }
}

#[test]
fn diagnose_too_fast_finds_the_flapping_in_the_last_half_hour() {
    let g = Game::start(Scenario::load("healthy"));
    let run = g.spice(&["diagnose", "--symptom", "too-fast", "-o", "json"]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let j = run.json();
    let checks = j["checks"].as_array().expect("checks");
    let flapping = checks
        .iter()
        .find(|c| c["id"] == "sessions.flapping")
        .unwrap_or_else(|| panic!("{j:#}"));
    assert_eq!(flapping["outcome"], "fail", "{flapping:#}");
    assert!(
        flapping["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("flapping: ") && m.contains("direction reversals")),
        "{flapping:#}"
    );
    assert_eq!(j["rootCause"], "sessions.flapping", "{:#}", j["rootCause"]);
    // Without the symptom, no history is read and the check skips.
    let plain = g
        .spice(&["diagnose", "--only", "sessions.flapping", "-o", "json"])
        .json();
    assert_eq!(plain["checks"][0]["outcome"], "skip", "{plain:#}");
}

#[test]
fn a_snapshot_with_history_replays_report_and_timeline_offline() {
    let g = Game::start(Scenario::load("healthy"));
    let file = g.dir.path().join("week.json");
    let f = file.to_str().expect("utf-8");
    let saved = g.spice(&["snapshot", "--history", "7d", "-o", f]);
    assert_eq!(saved.code, 0, "{}", saved.stderr);
    let live = g.spice(&["report", "--since", "7d", "-o", "json"]).json();
    // Offline: no kubeconfig at all.
    let dir = tempfile::tempdir().expect("tempdir");
    let replay = run_bin(
        BIN,
        &["report", "--from", f, "--since", "7d", "-o", "json"],
        &[],
        dir.path(),
    );
    assert_eq!(replay.code, 1, "{}", replay.stderr);
    let r = replay.json();
    // The same figures (the live run is a second later: its points are too).
    for key in ["scaleUp", "flapping", "pods"] {
        assert_eq!(r[key], live[key], "{key}");
    }
    assert_eq!(r["coverage"]["partial"], true);
    let tl = run_bin(
        BIN,
        &["timeline", "--from", f, "-o", "json"],
        &[],
        dir.path(),
    );
    assert_eq!(tl.code, 0, "{}", tl.stderr);
    assert_eq!(tl.json()["flapping"]["flapping"], true);
    // A snapshot without history says how to take one.
    let plain = g.dir.path().join("plain.json");
    let p = plain.to_str().expect("utf-8");
    assert_eq!(g.spice(&["snapshot", "-o", p]).code, 0);
    let none = run_bin(BIN, &["report", "--from", p], &[], dir.path());
    assert_eq!(none.code, 2, "{}", none.stderr);
    assert!(
        none.stderr.contains("snapshot --history"),
        "{}",
        none.stderr
    );
}
