//! Round trips per command over a modelled network (issue 21): the real
//! binary against the cluster simulator (and a real Prometheus behind its
//! service proxy) through a TCP proxy that delays every byte by RTT/2 each
//! way (`tests/support/delay.rs`: TLS end to end, the TCP handshake
//! modelled, HTTP/2 flow control and everything else on the wire cost what
//! they cost), not a server-side sleep.
//!
//! For each row the fastest wall time of [`RUNS`] runs at each round trip
//! of [`RTTS`], the runs interleaved across the RTTs (the noise of a
//! shared machine only ever adds time); the
//! number of round trips is the slope of wall time against RTT (least
//! squares), so the client's own CPU time drops out (the part of it that
//! overlaps the waits makes the slope a little lower than the count of
//! rounds: many small frames cost CPU while the next read is in flight). Connections
//! and requests are those of one run at the largest RTT. "cold" runs start
//! with an empty kube cache directory (nothing remembered), "remembered" and
//! "warm" ones after a run that filled it. Then 5,000 nodes behind an HTTP/2
//! front that relays them in small DATA frames, read [`WHOLE_RUNS`] times:
//! how many runs read every node.
//!
//! Run with `cargo bench --bench rtt` (`--profile dev` for a quicker build;
//! round trips do not depend on it); `SPICE_BENCH_RTTS=0,200,400` measures
//! at other round trips, `SPICE_BENCH_ROW=N` one row only. Targets (issue 21): `status` ≤ 3.1 RTT
//! on HTTP/2 and on a remembered HTTP/1.1-only server; `diagnose` ≤ 3.1
//! warm, ≤ 4.1 cold; 5,000 nodes in small frames: 20 of 20 whole.

#[path = "../support/mod.rs"]
mod support;

use std::time::Duration;
use support::delay::DelayProxy;
use support::scenario::Scenario;
use support::spice::{BIN, Cluster, run_bin};

const RUNS: usize = 9;
const RTTS: [u64; 4] = [0, 20, 50, 100];

/// The round trips to measure at: `SPICE_BENCH_RTTS` (comma-separated
/// milliseconds, e.g. `0,200,400` where a busy machine's noise would drown
/// 20 ms), else [`RTTS`].
fn rtts() -> Vec<u64> {
    std::env::var("SPICE_BENCH_RTTS")
        .ok()
        .map(|v| {
            v.split(',')
                .filter_map(|x| x.trim().parse().ok())
                .collect::<Vec<u64>>()
        })
        .filter(|v| v.len() >= 2)
        .unwrap_or_else(|| RTTS.to_vec())
}
const WHOLE_RUNS: usize = 20;
const PODS: usize = 200;
const NODES: usize = 20;

/// What the server is.
#[derive(Clone, Copy, PartialEq)]
enum Server {
    Http2,
    Http1Only,
    /// HTTP/2 that sends every answer in 64-byte DATA frames.
    SmallFrames,
}

impl Server {
    fn name(self) -> &'static str {
        match self {
            Server::Http2 => "HTTP/2",
            Server::Http1Only => "HTTP/1.1 only",
            Server::SmallFrames => "HTTP/2, small DATA frames",
        }
    }
}

/// What the kube cache directory holds before each measured run.
#[derive(Clone, Copy, PartialEq)]
enum Memory {
    /// Nothing.
    Cold,
    /// What a run before it left (the server's protocol, the operator pods).
    Warm,
}

struct Row {
    command: &'static str,
    server: Server,
    memory: Memory,
    target: Option<f64>,
}

const ROWS: &[Row] = &[
    Row {
        command: "status",
        server: Server::Http2,
        memory: Memory::Cold,
        target: Some(3.1),
    },
    Row {
        command: "status",
        server: Server::Http1Only,
        memory: Memory::Cold,
        target: None,
    },
    Row {
        command: "status",
        server: Server::Http1Only,
        memory: Memory::Warm,
        target: Some(3.1),
    },
    Row {
        command: "status",
        server: Server::SmallFrames,
        memory: Memory::Cold,
        target: None,
    },
    Row {
        command: "diagnose",
        server: Server::Http2,
        memory: Memory::Cold,
        target: Some(4.1),
    },
    Row {
        command: "diagnose",
        server: Server::Http2,
        memory: Memory::Warm,
        target: Some(3.1),
    },
    Row {
        command: "diagnose",
        server: Server::Http1Only,
        memory: Memory::Warm,
        target: None,
    },
];

/// A kubeconfig like the cluster's that reaches the simulator through `proxy`.
fn through(c: &Cluster, proxy: &DelayProxy, name: &str) -> String {
    let text = std::fs::read_to_string(&c.kubeconfig).expect("kubeconfig");
    let path = c.dir.path().join(name);
    let text = text.replace(&c.sim.addr().to_string(), &proxy.addr.to_string());
    std::fs::write(&path, text).expect("write kubeconfig");
    path.to_str().expect("utf-8").to_string()
}

fn forget(c: &Cluster) {
    let _ = std::fs::remove_dir_all(c.dir.path().join(".kube/cache"));
}

fn run(c: &Cluster, kubeconfig: &str, command: &str) -> Duration {
    let r = run_bin(
        BIN,
        &[command, "-o", "json", "--kubeconfig", kubeconfig],
        &[],
        c.dir.path(),
    );
    assert!(
        r.code <= 1,
        "{command} exited {}: {}",
        r.code,
        r.stderr.lines().next().unwrap_or("")
    );
    r.elapsed
}

/// The least-squares slope of `y` (seconds) against `x` (seconds).
fn slope(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let num: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let den: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    num / den
}

fn measure(c: &Cluster, row: &Row) {
    c.sim.set_http1_only(row.server == Server::Http1Only);
    c.sim
        .set_small_frames(if row.server == Server::SmallFrames {
            64
        } else {
            0
        });
    // One proxy per RTT, each its own server to the plugin (so what is
    // remembered is remembered per RTT), and the runs interleaved across the
    // RTTs, so a busy moment of a shared machine weighs on all of them.
    let proxies: Vec<(Duration, DelayProxy)> = rtts()
        .iter()
        .map(|ms| {
            let rtt = Duration::from_millis(*ms);
            (rtt, DelayProxy::start(c.sim.addr(), rtt))
        })
        .collect();
    let kubeconfigs: Vec<String> = proxies
        .iter()
        .enumerate()
        .map(|(i, (_, p))| through(c, p, &format!("rtt{i}.yaml")))
        .collect();
    forget(c);
    if row.memory == Memory::Warm {
        for kc in &kubeconfigs {
            run(c, kc, row.command);
        }
    }
    let mut fastest = vec![Duration::MAX; proxies.len()];
    let (mut connections, mut requests) = (0, 0);
    for _ in 0..RUNS {
        for (i, kc) in kubeconfigs.iter().enumerate() {
            if row.memory == Memory::Cold {
                forget(c);
            }
            c.sim.reset_wire();
            fastest[i] = fastest[i].min(run(c, kc, row.command));
            connections = c.sim.connections().len();
            requests = c.sim.requests().len();
        }
    }
    let points: Vec<(f64, f64)> = proxies
        .iter()
        .zip(&fastest)
        .map(|((rtt, _), t)| (rtt.as_secs_f64(), t.as_secs_f64()))
        .collect();
    let walls = fastest;
    let rounds = slope(&points);
    let verdict = match row.target {
        Some(t) if rounds <= t => format!("≤ {t}: met"),
        Some(t) => format!("≤ {t}: **not met**"),
        None => "-".into(),
    };
    let memory = match row.memory {
        Memory::Cold => "cold",
        Memory::Warm if row.server == Server::Http1Only && row.command == "status" => "remembered",
        Memory::Warm => "warm",
    };
    let walls: Vec<String> = walls.iter().map(|w| format!("{}", w.as_millis())).collect();
    println!(
        "| `{}` | {} | {memory} | {rounds:.2} | {} | {connections} | {requests} | {verdict} |",
        row.command,
        row.server.name(),
        walls.join(" / "),
    );
}

/// 5,000 nodes behind the small-frame front, `WHOLE_RUNS` times: how many
/// runs read them all (the same `nodes` as a run in large frames).
fn small_frames_whole() {
    let c = Cluster::with(Scenario::healthy_scaled(20, 5_000), false);
    let reference = run_bin(
        BIN,
        &[
            "status",
            "-o",
            "json",
            "--kubeconfig",
            c.kubeconfig.to_str().expect("utf-8"),
        ],
        &[],
        c.dir.path(),
    );
    let nodes = reference.json()["nodes"].clone();
    c.sim.set_small_frames(64);
    let proxy = DelayProxy::start(c.sim.addr(), Duration::from_millis(20));
    let kc = through(&c, &proxy, "rtt.yaml");
    let whole = (0..WHOLE_RUNS)
        .filter(|_| {
            let r = run_bin(
                BIN,
                &["status", "-o", "json", "--kubeconfig", &kc],
                &[],
                c.dir.path(),
            );
            r.code <= 1
                && serde_json::from_str::<serde_json::Value>(&r.stdout)
                    .is_ok_and(|j| j["nodes"] == nodes)
        })
        .count();
    let verdict = if whole == WHOLE_RUNS {
        "met"
    } else {
        "**not met**"
    };
    println!(
        "5,000 nodes in 64-byte DATA frames (HTTP/2 front, RTT 20 ms): {whole} of {WHOLE_RUNS} runs read whole (target {WHOLE_RUNS} of {WHOLE_RUNS}: {verdict})"
    );
}

fn main() {
    let profile = if BIN.contains("/release/") {
        "release"
    } else {
        "debug"
    };
    println!(
        "binary: {BIN} ({profile}); {PODS} pods, {NODES} nodes; RTT {:?} ms through a byte-delaying proxy, fastest of {RUNS} runs each",
        rtts()
    );
    println!(
        "| command | server | memory | round trips | wall ms at RTT {} | connections | requests | target |",
        rtts()
            .iter()
            .map(|r| r.to_string())
            .collect::<Vec<_>>()
            .join("/")
    );
    println!("|---|---|---|---|---|---|---|---|");
    let c = Cluster::with(Scenario::healthy_scaled(PODS, NODES), true);
    // SPICE_BENCH_ROW=N: only the N-th row (from 0); SPICE_BENCH_ROW=frames:
    // only the small-frame count.
    let only = std::env::var("SPICE_BENCH_ROW").ok();
    for (i, row) in ROWS.iter().enumerate() {
        if only.as_ref().is_some_and(|n| n.parse() != Ok(i)) {
            continue;
        }
        measure(&c, row);
    }
    drop(c);
    if only.is_none() || only.as_deref() == Some("frames") {
        small_frames_whole();
    }
}
