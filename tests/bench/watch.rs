//! The watch benchmark: `kubectl spice watch` on a steady cluster, what it
//! costs to keep open during a load test.
//!
//! For 200 game pods on 20 nodes and 2,000 game pods on 500 nodes (the
//! healthy scenario, scaled; the nodes real-sized, as a kubelet writes them:
//! images, conditions, managedFields, ≈ 10 KB each, see `sim::bulk`),
//! against the cluster simulator and a real Prometheus behind its service
//! proxy, it runs the plugin twice per size:
//!
//! - `watch -o json` (piped, one line per change);
//! - the full screen in a tmux pane of 160×48 (what an on-call looks at).
//!
//! and prints, once the first frame is up and for a bounded time after it:
//! peak RSS (VmHWM, which counts the initial lists), RSS at the end, CPU
//! seconds per minute of steady state (utime + stime from /proc/PID/stat), its
//! wakeups per minute (voluntary context switches of all its threads), the
//! requests the simulator saw per minute and the machine's load average. CPU
//! time on a shared, loaded machine comes out several times higher for the
//! same work; the wakeups and requests do not move with the load, so compare
//! CPU only between binaries run side by side (`SPICE_BENCH_BIN`). Last, per mode, the two
//! figures of issue 21 item 4: CPU at the largest size over CPU at the
//! smallest (target ≤ 2) and peak RSS at the largest (target ≤ 30 MiB).
//!
//! Run: `cargo bench --bench watch` (release build), or `cargo test --release
//! --bench watch` / `cargo test --bench watch` for a quicker build (debug
//! numbers are larger; the report says which binary ran). Environment:
//! `SPICE_BENCH_SECONDS` (steady time per run, default 60), `SPICE_BENCH_SIZES`
//! (comma-separated `pods/nodes`, default `200/20,2000/500`), and
//! `SPICE_BENCH_MODES` (`json`, `tmux` or both, default both) and
//! `SPICE_BENCH_BIN` (another binary to measure, e.g. a copy from before a
//! change).

#[path = "../support/mod.rs"]
mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};
use support::scenario::Scenario;
use support::spice::Cluster;
use support::tmux::Tmux;

/// The first frame must be up within this long, or the run is reported failed.
const READY_WITHIN: Duration = Duration::from_secs(120);

/// A simulated cluster and the kubeconfig path the plugin is given.
struct Bed {
    c: Cluster,
    kubeconfig: String,
}

fn bed(pods: usize, nodes: usize) -> Bed {
    let mut scenario = Scenario::healthy_scaled(pods, 0);
    let have = scenario.of_kind("Node").count();
    scenario
        .objects
        .extend(support::sim::bulk::nodes(0, nodes.saturating_sub(have)));
    let metrics = scenario.clone();
    let c = Cluster::with_metrics(scenario, Some(&metrics));
    let kubeconfig = c.kubeconfig.to_str().expect("path").to_string();
    Bed { c, kubeconfig }
}

/// CPU seconds (user + system) a process has used so far.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of stat: 11 and 12 after the comm.
    let ticks = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    // Linux reports them in USER_HZ, 100 on every architecture it runs on.
    Some(ticks / 100.0)
}

/// The machine's one-minute load average: CPU seconds measured on a loaded
/// machine come out higher for the same work (shared caches and cores).
fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0)
}

/// A `VmXXX:` figure of /proc/PID/status, in KiB. VmHWM is per address space,
/// so it starts afresh at exec and never counts this (large) parent's pages.
fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

struct Measure {
    peak_kib: u64,
    end_kib: u64,
    cpu_per_minute: f64,
    wakeups_per_minute: f64,
    requests_per_minute: f64,
    start_secs: f64,
    /// The load average at the end of the steady time.
    load: f64,
}

/// Waits the steady time and measures the process `pid`.
fn steady(b: &Bed, pid: u32, seconds: u64, started: Instant) -> Measure {
    let start_secs = started.elapsed().as_secs_f64();
    b.c.sim.reset_requests();
    let cpu0 = cpu_seconds(pid).expect("the watch runs");
    let wake0 = support::procfs::wakeups(pid).unwrap_or(0);
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs(seconds));
    let secs = t0.elapsed().as_secs_f64();
    let cpu = cpu_seconds(pid).expect("the watch still runs") - cpu0;
    let woke = support::procfs::wakeups(pid)
        .unwrap_or(0)
        .saturating_sub(wake0);
    Measure {
        peak_kib: status_kib(pid, "VmHWM:").unwrap_or(0),
        end_kib: status_kib(pid, "VmRSS:").unwrap_or(0),
        cpu_per_minute: cpu * 60.0 / secs,
        wakeups_per_minute: woke as f64 * 60.0 / secs,
        requests_per_minute: b.c.sim.requests().len() as f64 * 60.0 / secs,
        start_secs,
        load: load_average(),
    }
}

fn print(label: &str, m: &Measure) {
    println!(
        "{label:<36} first frame {:>5.1} s · peak RSS {:>6.1} MiB · RSS at end {:>6.1} MiB · CPU {:>5.2} s/min ({:.2}% of a core) · {:>5.0} wakeups/min · {:>5.0} requests/min · load {:.1}",
        m.start_secs,
        m.peak_kib as f64 / 1024.0,
        m.end_kib as f64 / 1024.0,
        m.cpu_per_minute,
        m.cpu_per_minute / 60.0 * 100.0,
        m.wakeups_per_minute,
        m.requests_per_minute,
        m.load,
    );
}

/// `watch -o json`: the first line with every pod running marks the start.
fn json_run(b: &Bed, bin: &str, pods: usize, seconds: u64) -> Measure {
    let timeout = format!("{}s", seconds + READY_WITHIN.as_secs() + 30);
    let mut child = Command::new(bin)
        .args([
            "watch",
            "-o",
            "json",
            "--interval",
            "2s",
            "--timeout",
            &timeout,
        ])
        .args(["--kubeconfig", &b.kubeconfig])
        .env("HOME", b.c.dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run kubectl-spice");
    let started = Instant::now();
    let lines = lines_of(&mut child);
    let want = format!("\"runningPods\":{pods},");
    let deadline = started + READY_WITHIN;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) if line.contains(&want) => break,
            Ok(_) => {}
            Err(_) => {
                let _ = child.kill();
                panic!("watch -o json showed no {pods} running pods within {READY_WITHIN:?}");
            }
        }
    }
    // Keep reading so a full pipe never stalls the watch.
    std::thread::spawn(move || while lines.recv().is_ok() {});
    let m = steady(b, child.id(), seconds, started);
    let _ = child.kill();
    let _ = child.wait();
    m
}

fn lines_of(child: &mut Child) -> Receiver<String> {
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// The full screen in tmux: the pane showing `running N` marks the start.
fn tmux_run(b: &Bed, bin: &str, pods: usize, seconds: u64) -> Measure {
    let home = b.c.dir.path().display().to_string();
    let command = format!(
        "env -i PATH=/usr/bin:/bin TERM=screen HOME={home} {bin} watch --interval 2s --kubeconfig {}; sleep 600",
        b.kubeconfig
    );
    let tmux = Tmux::start("bench", &command);
    let started = Instant::now();
    tmux.wait_within(READY_WITHIN, &[&format!("running {pods} ")]);
    let pid = tmux.child_pid();
    let m = steady(b, pid, seconds, started);
    tmux.keys("q");
    m
}

fn main() {
    // SPICE_BENCH_BIN measures another build (e.g. a copy of the binary
    // before a change) on the same beds.
    let bin = std::env::var("SPICE_BENCH_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_kubectl-spice").to_string());
    let bin = bin.as_str();
    let profile = if bin.contains("/release/") {
        "release"
    } else {
        "debug"
    };
    let seconds: u64 = std::env::var("SPICE_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let sizes: Vec<(usize, usize)> = std::env::var("SPICE_BENCH_SIZES")
        .unwrap_or_else(|_| "200/20,2000/500".into())
        .split(',')
        .filter_map(|s| {
            let (p, n) = s.trim().split_once('/')?;
            Some((p.parse().ok()?, n.parse().ok()?))
        })
        .collect();
    let modes = std::env::var("SPICE_BENCH_MODES").unwrap_or_else(|_| "json,tmux".into());
    let tmux_here = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    println!("binary: {bin} ({profile}); steady time {seconds} s per run, --interval 2s");
    // (mode, pods, measure) of every run, for the ratios at the end.
    let mut runs: Vec<(&str, usize, Measure)> = Vec::new();
    for &(pods, nodes) in &sizes {
        let b = bed(pods, nodes);
        if modes.contains("json") {
            let m = json_run(&b, bin, pods, seconds);
            print(&format!("watch -o json ({pods} pods, {nodes} nodes)"), &m);
            runs.push(("-o json", pods, m));
        }
        if modes.contains("tmux") {
            if tmux_here {
                let m = tmux_run(&b, bin, pods, seconds);
                print(&format!("full screen ({pods} pods, {nodes} nodes)"), &m);
                runs.push(("full screen", pods, m));
            } else {
                println!(
                    "full screen ({pods} pods, {nodes} nodes): skipped, tmux is not installed"
                );
            }
        }
    }
    for mode in ["-o json", "full screen"] {
        let of_mode: Vec<&(&str, usize, Measure)> =
            runs.iter().filter(|(m, ..)| *m == mode).collect();
        let (Some(small), Some(large)) = (
            of_mode.iter().min_by_key(|(_, p, _)| *p),
            of_mode.iter().max_by_key(|(_, p, _)| *p),
        ) else {
            continue;
        };
        if small.1 == large.1 {
            continue;
        }
        let ratio = large.2.cpu_per_minute / small.2.cpu_per_minute.max(1e-9);
        let peak = large.2.peak_kib as f64 / 1024.0;
        println!(
            "{mode}: CPU at {} pods / CPU at {} pods = {ratio:.2} (target ≤ 2: {}); peak RSS at {} pods {peak:.1} MiB (target ≤ 30: {})",
            large.1,
            small.1,
            if ratio <= 2.0 { "met" } else { "not met" },
            large.1,
            if peak <= 30.0 { "met" } else { "not met" },
        );
    }
}
