//! Benchmarks against the cluster simulator with 50 ms of added latency per
//! request (and a real Prometheus behind its service proxy):
//!
//! - `kubectl spice status` at 20 and 200 matching pods;
//! - `kubectl spice diagnose` at 200 pods and 20 nodes;
//! - the runbook's own commands run one after another by hand (the real
//!   kubectl for its kubectl lines, curl for its PromQL through the same
//!   API-server proxy), on the same cluster.
//!
//! Prints wall time (median of 7 runs), API requests per run (from the
//! simulator's log) and peak RSS of the plugin. Run with
//! `cargo bench --bench status` (needs /usr/bin/time, Debian package `time`).

#[path = "../support/mod.rs"]
mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::prom::{History, Prom};
use support::scenario::Scenario;
use support::sim::Sim;

const RUNS: usize = 7;
const LATENCY: Duration = Duration::from_millis(50);

/// The healthy scenario with `pods` game pods and `nodes` nodes.
fn scenario(pods: usize, nodes: usize) -> Scenario {
    let mut s = Scenario::load("healthy");
    let is_game_pod = |o: &serde_json::Value| {
        o["kind"] == "Pod" && o["metadata"]["labels"]["app"] == "spice-runner"
    };
    let pod = s
        .objects
        .iter()
        .find(|o| is_game_pod(o))
        .cloned()
        .expect("a spice-runner pod");
    let node = s.of_kind("Node").next().cloned().expect("a node");
    s.objects.retain(|o| !is_game_pod(o));
    let existing_nodes = s.of_kind("Node").count();
    for i in 0..pods {
        let mut p = pod.clone();
        p["metadata"]["name"] = format!("spice-runner-7d9c8b5f4-b{i:04}").into();
        p["metadata"]["uid"] = serde_json::Value::Null;
        s.objects.push(p);
    }
    for i in existing_nodes..nodes {
        let mut n = node.clone();
        n["metadata"]["name"] = format!("ip-10-0-200-{i}.us-west-2.compute.internal").into();
        n["metadata"]["uid"] = serde_json::Value::Null;
        s.objects.push(n);
    }
    s.meta.metrics.sessions = Some(pods as f64);
    s
}

/// Issue 13's big cluster: 200 game pods, 5,000 nodes of realistic size
/// (≈10 KB each) and 10,000 pods of other workloads. Prometheus holds the
/// game's and the nodes' series (not the other pods', which only slow the
/// backfill down).
fn big_cluster_bed() -> Bed {
    use support::sim::bulk;
    let mut metrics = scenario(200, 3);
    let nodes = bulk::nodes(0, 4_997);
    let names: Vec<String> = nodes
        .iter()
        .filter_map(|n| n["metadata"]["name"].as_str().map(str::to_string))
        .collect();
    metrics.objects.extend(nodes);
    let mut cluster = metrics.clone();
    cluster.objects.extend(bulk::other_pods(10_000, &names));
    bed_of(cluster, &metrics)
}

struct Bed {
    _prom: Prom,
    sim: Sim,
    dir: tempfile::TempDir,
    kubeconfig: String,
}

fn bed(pods: usize, nodes: usize) -> Bed {
    let scenario = scenario(pods, nodes);
    let metrics = scenario.clone();
    bed_of(scenario, &metrics)
}

fn bed_of(scenario: Scenario, metrics: &Scenario) -> Bed {
    let prom = Prom::start(&History::from_scenario(metrics));
    let sim = Sim::start(scenario);
    sim.set_proxy_upstream("observability", "prometheus", "9090", &prom.url());
    sim.set_latency(LATENCY);
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = sim
        .write_kubeconfig(dir.path())
        .to_str()
        .expect("path")
        .to_string();
    Bed {
        _prom: prom,
        sim,
        dir,
        kubeconfig,
    }
}

/// Runs the plugin under `/usr/bin/time` and returns (exit code, stdout,
/// stderr, peak RSS in KiB). The RSS must come from a small parent: a child
/// forked from this process (which holds the simulator and all its objects)
/// would report our own pages as its peak.
fn run_measured(bin: &str, args: &[&str], home: &Path) -> (i32, Vec<u8>, Vec<u8>, i64) {
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
    (out.status.code().unwrap_or(-1), out.stdout, out.stderr, rss)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

struct Measured {
    median: Duration,
    requests: usize,
}

fn plugin(b: &Bed, bin: &str, label: &str, args: &[&str], pods: usize) -> Measured {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["-o", "json", "--kubeconfig", &b.kubeconfig]);
    let mut times = Vec::new();
    let mut requests = Vec::new();
    let mut peak_rss = 0i64;
    for _ in 0..RUNS {
        b.sim.reset_requests();
        let start = Instant::now();
        let (code, stdout, stderr, rss) = run_measured(bin, &all, b.dir.path());
        times.push(start.elapsed());
        assert!(
            code == 0 || code == 1,
            "{}",
            String::from_utf8_lossy(&stderr)
        );
        peak_rss = peak_rss.max(rss);
        let json: serde_json::Value = serde_json::from_slice(&stdout).expect("json");
        if args[0] == "status" {
            assert_eq!(json["pods"]["total"], pods, "every pod was read");
        }
        requests.push(b.sim.requests().len());
    }
    let med = median(times.clone());
    println!(
        "{label:<34} wall median {:>4} ms (min {}, max {}, {RUNS} runs) · {} API requests · ≈{:.1} round trips · peak RSS {:.1} MiB",
        med.as_millis(),
        times.iter().min().expect("runs").as_millis(),
        times.iter().max().expect("runs").as_millis(),
        requests[0],
        med.as_secs_f64() / LATENCY.as_secs_f64(),
        peak_rss as f64 / 1024.0,
    );
    Measured {
        median: med,
        requests: requests[0],
    }
}

/// The runbook's own checks, by hand, one after another: its kubectl lines
/// with the real kubectl, its PromQL with curl through the API-server proxy.
fn runbook_by_hand(b: &Bed) -> Measured {
    let kubectl = if Path::new("/usr/bin/kubectl").exists() {
        "/usr/bin/kubectl"
    } else {
        "kubectl"
    };
    let ca = b.dir.path().join("ca.pem");
    std::fs::write(&ca, b.sim.ca_pem()).expect("ca");
    let kube = |args: &[&str]| {
        let out = Command::new(kubectl)
            .args(args)
            .args(["--kubeconfig", &b.kubeconfig])
            .env("HOME", b.dir.path())
            .env("KUBECACHEDIR", b.dir.path().join("cache"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("kubectl");
        let _ = out;
    };
    let promql = |q: &str| {
        let url = format!(
            "{}/api/v1/namespaces/observability/services/prometheus:9090/proxy/api/v1/query",
            b.sim.url()
        );
        let status = Command::new("curl")
            .args([
                "-sS",
                "-o",
                "/dev/null",
                "--cacert",
                ca.to_str().expect("ca"),
                "-G",
                &url,
            ])
            .args(["--data-urlencode", &format!("query={q}")])
            .args(["-H", &format!("Authorization: Bearer {}", b.sim.token())])
            .status()
            .expect("curl");
        assert!(status.success());
    };
    let queries = [
        r#"sum(rate(nginx_http_requests_total{service="spice-runner-nginx"}[1m]))"#,
        r#"count(kube_pod_status_phase{pod=~"spice-runner-.*", namespace="default", phase="Running"})"#,
        r#"sum(rate(nginx_http_requests_total{service="spice-runner-nginx"}[1m])) / count(kube_pod_status_phase{pod=~"spice-runner-.*", namespace="default", phase="Running"})"#,
        r#"sum(rate(nginx_http_requests_total{service="spice-runner-nginx", status="200"}[1m]))"#,
        "count(kube_node_info)",
        r#"sum(kube_pod_status_phase{pod=~"spice-runner-.*", phase="Pending"})"#,
        r#"nginx_http_requests_total{service="spice-runner-nginx"}"#,
    ];
    let steps: Vec<(&str, Vec<&str>)> = vec![
        (
            "get pods",
            vec!["get", "pods", "-l", "app=spice-runner", "-n", "default"],
        ),
        (
            "get scaledobject",
            vec!["get", "scaledobject", "spice-runner-keda", "-n", "default"],
        ),
        ("get hpa", vec!["get", "hpa", "-n", "default"]),
        ("get nodes", vec!["get", "nodes"]),
        (
            "operator logs",
            vec![
                "logs",
                "-n",
                "keda",
                "-l",
                "app.kubernetes.io/name=keda-operator",
                "--tail",
                "200",
            ],
        ),
        (
            "events",
            vec!["get", "events", "-n", "default", "--sort-by=.lastTimestamp"],
        ),
        (
            "alloy logs of every pod",
            vec![
                "logs",
                "-l",
                "app=spice-runner",
                "-n",
                "default",
                "-c",
                "alloy",
                "--tail",
                "20",
            ],
        ),
        (
            "describe scaledobject",
            vec![
                "describe",
                "scaledobject",
                "spice-runner-keda",
                "-n",
                "default",
            ],
        ),
    ];
    let mut times = Vec::new();
    let mut per_step: Vec<Vec<Duration>> = vec![Vec::new(); steps.len() + 1];
    let mut requests = 0;
    for _ in 0..RUNS {
        b.sim.reset_requests();
        let start = Instant::now();
        for (i, (_, args)) in steps.iter().enumerate() {
            let t = Instant::now();
            kube(args);
            per_step[i].push(t.elapsed());
        }
        let t = Instant::now();
        for q in queries {
            promql(q);
        }
        per_step[steps.len()].push(t.elapsed());
        times.push(start.elapsed());
        requests = b.sim.requests().len();
    }
    let med = median(times.clone());
    println!(
        "{:<34} wall median {:>4} ms (min {}, max {}, {RUNS} runs) · {requests} API requests",
        "runbook by hand (kubectl + curl)",
        med.as_millis(),
        times.iter().min().expect("runs").as_millis(),
        times.iter().max().expect("runs").as_millis(),
    );
    let names: Vec<&str> = steps
        .iter()
        .map(|(n, _)| *n)
        .chain(["7 PromQL queries (curl)"])
        .collect();
    for (name, t) in names.iter().zip(per_step) {
        println!("    {name:<30} median {:>5} ms", median(t).as_millis());
    }
    Measured {
        median: med,
        requests,
    }
}

fn main() {
    let bin = env!("CARGO_BIN_EXE_kubectl-spice");
    let profile = if bin.contains("/release/") {
        "release"
    } else {
        "debug"
    };
    println!(
        "binary: {bin} ({profile}), latency {} ms per request",
        LATENCY.as_millis()
    );
    let small = bed(20, 3);
    let s20 = plugin(&small, bin, "status  (20 pods, 3 nodes)", &["status"], 20);
    let d20 = plugin(
        &small,
        bin,
        "diagnose (20 pods, 3 nodes)",
        &["diagnose"],
        20,
    );
    drop(small);
    let big = bed(200, 20);
    let s200 = plugin(&big, bin, "status  (200 pods, 20 nodes)", &["status"], 200);
    let d200 = plugin(
        &big,
        bin,
        "diagnose (200 pods, 20 nodes)",
        &["diagnose"],
        200,
    );
    let by_hand = runbook_by_hand(&big);
    drop(big);
    let huge = big_cluster_bed();
    huge.sim.take_list_bytes();
    let label = "status  (200 pods, 5,000 nodes, 10,000 other pods)";
    let s_huge = plugin(&huge, bin, label, &["status"], 200);
    let status_bytes = huge.sim.take_list_bytes() / RUNS;
    let label = "diagnose (200 pods, 5,000 nodes, 10,000 other pods)";
    let d_huge = plugin(&huge, bin, label, &["diagnose"], 200);
    println!(
        "big cluster: list JSON per status run {:.1} MiB; wall vs 200 pods: status {:.1}×, diagnose {:.1}×; requests status {} → {}, diagnose {} → {}",
        status_bytes as f64 / (1024.0 * 1024.0),
        s_huge.median.as_secs_f64() / s200.median.as_secs_f64(),
        d_huge.median.as_secs_f64() / d200.median.as_secs_f64(),
        s200.requests,
        s_huge.requests,
        d200.requests,
        d_huge.requests,
    );
    drop(huge);
    println!(
        "requests independent of pod count: status {} → {}, diagnose {} → {}",
        s20.requests, s200.requests, d20.requests, d200.requests
    );
    println!(
        "diagnose is {:.1}× faster than the runbook by hand",
        by_hand.median.as_secs_f64() / d200.median.as_secs_f64()
    );
    if let Ok(meta) = std::fs::metadata(bin) {
        println!(
            "binary size: {:.1} MiB",
            meta.len() as f64 / (1024.0 * 1024.0)
        );
    }
}
