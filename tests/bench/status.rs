//! Benchmark: `kubectl spice status` against the cluster simulator with 50 ms
//! of added latency per request, at 20 and 200 matching pods. Prints wall time
//! (median of 7 runs), API requests per run (from the simulator's log) and
//! peak RSS of the plugin process. Run with `cargo bench --bench status`.

#[path = "../support/mod.rs"]
mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::prom::{History, Prom};
use support::scenario::Scenario;
use support::sim::Sim;

const RUNS: usize = 7;
const LATENCY: Duration = Duration::from_millis(50);

fn scenario_with_pods(n: usize) -> Scenario {
    let mut s = Scenario::load("healthy");
    let template = s
        .of_kind("Pod")
        .find(|p| p["metadata"]["labels"]["app"] == "spice-runner")
        .cloned();
    let template = template.expect("healthy scenario has a spice-runner pod");
    s.objects
        .retain(|o| !(o["kind"] == "Pod" && o["metadata"]["labels"]["app"] == "spice-runner"));
    for i in 0..n {
        let mut p = template.clone();
        p["metadata"]["name"] = format!("spice-runner-7d9c8b5f4-b{i:04}").into();
        p["metadata"]["uid"] = serde_json::Value::Null;
        s.objects.push(p);
    }
    s.meta.metrics.sessions = Some(n as f64);
    s
}

/// Runs the plugin under `/usr/bin/time` (Debian package `time`) and returns
/// (success, stdout, stderr, peak RSS in KiB). The RSS must come from a small
/// parent: a child forked from this process (which holds the simulator and
/// all its objects) would report our own pages as its peak.
fn run_measured(bin: &str, args: &[&str], home: &std::path::Path) -> (bool, Vec<u8>, Vec<u8>, i64) {
    let rss_file = home.join("rss.txt");
    let out = Command::new("/usr/bin/time")
        .arg("-o")
        .arg(&rss_file)
        .args(["-f", "%M", bin])
        .args(args)
        .env("HOME", home)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("run /usr/bin/time (apt-get install time)");
    let rss = std::fs::read_to_string(&rss_file)
        .ok()
        .and_then(|t| t.lines().last().and_then(|l| l.trim().parse().ok()))
        .unwrap_or(-1);
    (out.status.success(), out.stdout, out.stderr, rss)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn bench(pods: usize, bin: &str) {
    let scenario = scenario_with_pods(pods);
    let prom = Prom::start(&History::from_scenario(&scenario));
    let sim = Sim::start(scenario);
    sim.set_proxy_upstream("observability", "prometheus", "9090", &prom.url());
    sim.set_latency(LATENCY);
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = sim.write_kubeconfig(dir.path());
    let mut times = Vec::new();
    let mut requests = Vec::new();
    let mut peak_rss = 0i64;
    for _ in 0..RUNS {
        sim.reset_requests();
        let start = Instant::now();
        let (ok, stdout, stderr, rss) = run_measured(
            bin,
            &[
                "status",
                "-o",
                "json",
                "--kubeconfig",
                kubeconfig.to_str().expect("path"),
            ],
            dir.path(),
        );
        times.push(start.elapsed());
        assert!(ok, "{}", String::from_utf8_lossy(&stderr));
        peak_rss = peak_rss.max(rss);
        let json: serde_json::Value = serde_json::from_slice(&stdout).expect("json");
        assert_eq!(json["pods"]["total"], pods, "every pod was read");
        requests.push(sim.requests().len());
    }
    let med = median(times.clone());
    println!(
        "status  pods={pods:<4} latency={}ms  wall median={:>4}ms (min {}ms, max {}ms, {RUNS} runs)  api requests/run={}  round trips≈{:.1}  peak RSS={:.1} MiB",
        LATENCY.as_millis(),
        med.as_millis(),
        times.iter().min().expect("runs").as_millis(),
        times.iter().max().expect("runs").as_millis(),
        requests[0],
        med.as_secs_f64() / LATENCY.as_secs_f64(),
        peak_rss as f64 / 1024.0,
    );
    assert!(
        requests.iter().all(|r| *r == requests[0]),
        "request count varies: {requests:?}"
    );
}

fn main() {
    // `cargo bench` passes --bench; a plain `cargo test` of benches passes nothing useful.
    let bin = env!("CARGO_BIN_EXE_kubectl-spice");
    let profile = if bin.contains("/release/") {
        "release"
    } else {
        "debug"
    };
    println!("binary: {bin} ({profile})");
    for pods in [20, 200] {
        bench(pods, bin);
    }
    if let Ok(meta) = std::fs::metadata(bin) {
        println!(
            "binary size: {:.1} MiB",
            meta.len() as f64 / (1024.0 * 1024.0)
        );
    }
}
