//! Benchmarks against the cluster simulator (and a real Prometheus behind
//! its service proxy), per cluster size in [`SIZES`]:
//!
//! - `kubectl spice status` and `diagnose`, over HTTP/2 and against a
//!   server that offers only HTTP/1.1;
//! - `kubectl get` of the same lists (the real kubectl, one command after
//!   another);
//! - the runbook's own commands run one after another by hand (the real
//!   kubectl for its kubectl lines, curl for its PromQL through the same
//!   API-server proxy).
//!
//! Two network models: 50 ms added to every request (`latency`: the
//! measure issue 13 set its targets in), and a 50 ms round trip with its
//! handshakes (`rtt`: accepting a connection and the TLS handshake take one
//! round trip each, every request one more), which is what a new process
//! pays on a real link.
//!
//! Prints per row: wall time (median of 7 runs; the runbook by hand runs
//! once and at 200 pods only, its log step alone takes one round trip per
//! pod), waves
//! (sequential request rounds, from the simulator's request timings),
//! connections, API requests, bytes the server sent and peak RSS (largest
//! process). Run with `cargo bench --bench status` (needs /usr/bin/time,
//! Debian package `time`, and curl).

#[path = "../support/mod.rs"]
mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::scenario::Scenario;
use support::sim::{bulk, waves};
use support::spice::Cluster;

const RUNS: usize = 7;
const DELAY: Duration = Duration::from_millis(50);
/// The largest size the runbook by hand is run at.
const RUNBOOK_UP_TO_PODS: usize = 200;

/// A cluster size the benchmark measures. Add a row here for another size.
struct Size {
    pods: usize,
    nodes: usize,
    /// Pods of other workloads (other namespaces and labels), and whether
    /// the nodes are real-sized (≈10 KB each: images, conditions,
    /// managedFields) rather than copies of the scenario's small one.
    other_pods: usize,
}

const SIZES: &[Size] = &[
    Size {
        pods: 200,
        nodes: 20,
        other_pods: 0,
    },
    Size {
        pods: 2_000,
        nodes: 100,
        other_pods: 0,
    },
    // Issue 13's big cluster: 5,000 real-sized nodes and 10,000 pods of
    // other workloads beside 200 game pods.
    Size {
        pods: 200,
        nodes: 5_000,
        other_pods: 10_000,
    },
];

impl Size {
    fn pods_column(&self) -> String {
        match self.other_pods {
            0 => self.pods.to_string(),
            n => format!("{} (+{n} other)", self.pods),
        }
    }
}

/// How the simulator models the network.
#[derive(Clone, Copy)]
enum Net {
    /// [`DELAY`] added to every request, nothing to connections.
    Latency,
    /// A round trip of [`DELAY`]: TCP and TLS handshakes one each, every
    /// request one.
    Rtt,
}

impl Net {
    fn name(self) -> &'static str {
        match self {
            Net::Latency => "latency",
            Net::Rtt => "rtt",
        }
    }
}

/// A simulated cluster and the kubeconfig path the plugin is given.
struct Bed {
    c: Cluster,
    kubeconfig: String,
}

/// The cluster of `size`, and the Prometheus history of its game and
/// nodes. Beside other workloads the nodes are real-sized, and Prometheus
/// does not hold the other pods' series (they would only slow its start).
fn bed(size: &Size) -> Bed {
    let (scenario, metrics) = if size.other_pods == 0 {
        let s = Scenario::healthy_scaled(size.pods, size.nodes);
        (s.clone(), s)
    } else {
        let mut metrics = Scenario::healthy_scaled(size.pods, 3);
        let nodes = bulk::nodes(0, size.nodes.saturating_sub(3));
        let names: Vec<String> = nodes
            .iter()
            .filter_map(|n| n["metadata"]["name"].as_str().map(str::to_string))
            .collect();
        metrics.objects.extend(nodes);
        let mut cluster = metrics.clone();
        cluster
            .objects
            .extend(bulk::other_pods(size.other_pods, &names));
        (cluster, metrics)
    };
    let c = Cluster::with_metrics(scenario, Some(&metrics));
    let kubeconfig = c.kubeconfig.to_str().expect("path").to_string();
    Bed { c, kubeconfig }
}

impl Bed {
    fn network(&self, net: Net, http1_only: bool) {
        let (latency, rtt) = match net {
            Net::Latency => (DELAY, Duration::ZERO),
            Net::Rtt => (Duration::ZERO, DELAY),
        };
        self.c.sim.set_latency(latency);
        self.c.sim.set_rtt(rtt);
        self.c.sim.set_http1_only(http1_only);
    }
}

/// Runs a program under `/usr/bin/time` and returns (exit code, stdout,
/// stderr, peak RSS in KiB). The RSS must come from a small parent: a child
/// forked from this process (which holds the simulator and all its objects)
/// would report our own pages as its peak.
fn run_measured(bin: &str, args: &[&str], home: &Path) -> (i32, Vec<u8>, Vec<u8>, i64) {
    let (code, stdout, stderr, rss, _) = run_timed(bin, args, home);
    (code, stdout, stderr, rss)
}

/// [`run_measured`], and the process's own CPU time (user + system).
fn run_timed(bin: &str, args: &[&str], home: &Path) -> (i32, Vec<u8>, Vec<u8>, i64, Duration) {
    let rss_file = home.join("rss.txt");
    let out = Command::new("/usr/bin/time")
        .arg("-o")
        .arg(&rss_file)
        .args(["-f", "%M %U %S", bin])
        .args(args)
        .env("HOME", home)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("run /usr/bin/time (apt-get install time)");
    let text = std::fs::read_to_string(&rss_file).unwrap_or_default();
    let fields: Vec<&str> = text
        .lines()
        .last()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let rss = fields.first().and_then(|f| f.parse().ok()).unwrap_or(-1);
    let secs = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let cpu = Duration::from_secs_f64(secs(1) + secs(2));
    (
        out.status.code().unwrap_or(-1),
        out.stdout,
        out.stderr,
        rss,
        cpu,
    )
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// One row of the table.
struct Measured {
    wall: Duration,
    runs: usize,
    waves: usize,
    connections: usize,
    requests: usize,
    bytes: u64,
    peak_rss_kib: i64,
    /// CPU time of the measured processes themselves (user + system,
    /// median): what the run costs on the client, whatever the server's
    /// share of the machine.
    cpu: Duration,
}

impl Measured {
    fn print(&self, what: &str, size: &Size, net: Net) {
        let runs = match self.runs {
            RUNS => String::new(),
            1 => " (1 run)".into(),
            n => format!(" ({n} runs)"),
        };
        println!(
            "| {what}{runs} | {} / {} | {} | {} ms | {} ms | {} | {} | {} | {:.1} KiB | {:.1} MiB |",
            size.pods_column(),
            size.nodes,
            net.name(),
            self.wall.as_millis(),
            self.cpu.as_millis(),
            self.waves,
            self.connections,
            self.requests,
            self.bytes as f64 / 1024.0,
            self.peak_rss_kib as f64 / 1024.0,
        );
    }
}

/// Runs `one` `runs` times on a fresh counter each time; the counts are
/// the last run's (they do not vary between runs), the wall time the median.
fn measure(b: &Bed, runs: usize, mut one: impl FnMut() -> (i64, Duration)) -> Measured {
    let mut times = Vec::new();
    let mut cpus = Vec::new();
    let mut peak_rss_kib = 0;
    let mut last_start = Instant::now();
    for _ in 0..runs {
        b.c.sim.reset_wire();
        last_start = Instant::now();
        let (rss, cpu) = one();
        times.push(last_start.elapsed());
        peak_rss_kib = peak_rss_kib.max(rss);
        cpus.push(cpu);
    }
    let exchanges = b.c.sim.exchanges();
    if std::env::var_os("SPICE_BENCH_TIMELINE").is_some() {
        print_timeline(
            last_start,
            &exchanges,
            *times.last().unwrap_or(&Duration::ZERO),
        );
    }
    Measured {
        wall: median(times),
        runs,
        waves: waves(&exchanges),
        connections: b.c.sim.connections().len(),
        requests: exchanges.len(),
        bytes: b.c.sim.bytes_out(),
        peak_rss_kib,
        cpu: median(cpus),
    }
}

/// The last run's requests against the clock from its launch (set
/// `SPICE_BENCH_TIMELINE=1`): where a run's time goes beyond its round trips.
fn print_timeline(start: Instant, exchanges: &[support::sim::Exchange], wall: Duration) {
    let ms = |t: Instant| t.saturating_duration_since(start).as_secs_f64() * 1000.0;
    let mut sorted: Vec<_> = exchanges.iter().collect();
    sorted.sort_by_key(|e| e.started);
    for e in sorted {
        let answered = e
            .answered
            .map_or_else(|| "no answer".to_string(), |a| format!("{:7.1} ms", ms(a)));
        let line: String = e.line.chars().take(110).collect();
        println!("    {:7.1} ms → {answered}  {line}", ms(e.started));
    }
    println!("    exit at {:.1} ms", wall.as_secs_f64() * 1000.0);
}

fn plugin(b: &Bed, bin: &str, args: &[&str], pods: usize) -> Measured {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["-o", "json", "--kubeconfig", &b.kubeconfig]);
    measure(b, RUNS, || {
        let (code, stdout, stderr, rss, cpu) = run_timed(bin, &all, b.c.dir.path());
        assert!(
            code == 0 || code == 1,
            "{}",
            String::from_utf8_lossy(&stderr)
        );
        let json: serde_json::Value = serde_json::from_slice(&stdout).expect("json");
        if args[0] == "status" {
            assert_eq!(json["pods"]["total"], pods, "every pod was read");
        }
        (rss, cpu)
    })
}

/// Median wall time and peak RSS (KiB) of a run that reads nothing: the
/// floor under every row (fork, exec, dynamic loading, exit).
fn measure_start(bin: &str) -> (Duration, i64) {
    let home = tempfile::tempdir().expect("tempdir");
    let mut times = Vec::new();
    let mut rss = 0;
    for _ in 0..RUNS {
        let start = Instant::now();
        let (code, _, stderr, r) = run_measured(bin, &["version"], home.path());
        times.push(start.elapsed());
        assert_eq!(code, 0, "{}", String::from_utf8_lossy(&stderr));
        rss = rss.max(r);
    }
    (median(times), rss)
}

fn kubectl_bin() -> &'static str {
    if Path::new("/usr/bin/kubectl").exists() {
        "/usr/bin/kubectl"
    } else {
        "kubectl"
    }
}

/// Runs kubectl `args` against the bed; returns its peak RSS in KiB and
/// its CPU time.
fn kubectl(b: &Bed, args: &[&str]) -> (i64, Duration) {
    let mut all = args.to_vec();
    all.extend(["--kubeconfig", &b.kubeconfig]);
    let (_, _, _, rss, cpu) = run_timed(kubectl_bin(), &all, b.c.dir.path());
    (rss, cpu)
}

/// The largest peak RSS and the summed CPU time of processes run one after
/// another.
fn sequence(costs: impl IntoIterator<Item = (i64, Duration)>) -> (i64, Duration) {
    costs
        .into_iter()
        .fold((-1, Duration::ZERO), |(rss, cpu), (r, c)| {
            (rss.max(r), cpu + c)
        })
}

/// `kubectl get` of the lists `status` reads, one command after another, as
/// JSON (so every object is decoded, as the plugin does).
fn kubectl_get(b: &Bed) -> Measured {
    let commands: [&[&str]; 4] = [
        &[
            "get",
            "pods",
            "-l",
            "app=spice-runner",
            "-n",
            "default",
            "-o",
            "json",
        ],
        &["get", "nodes", "-o", "json"],
        &[
            "get",
            "hpa,events,deployments,scaledobjects.keda.sh",
            "-n",
            "default",
            "-o",
            "json",
        ],
        &["get", "pods", "-n", "keda", "-o", "json"],
    ];
    measure(b, RUNS, || sequence(commands.iter().map(|c| kubectl(b, c))))
}

/// The runbook's own checks, by hand, one after another: its kubectl lines
/// with the real kubectl, its PromQL with curl through the API-server proxy.
fn runbook_by_hand(b: &Bed) -> Measured {
    let ca = b.c.dir.path().join("ca.pem");
    std::fs::write(&ca, b.c.sim.ca_pem()).expect("ca");
    let url = format!(
        "{}/api/v1/namespaces/observability/services/prometheus:9090/proxy/api/v1/query",
        b.c.sim.url()
    );
    let auth = format!("Authorization: Bearer {}", b.c.sim.token());
    let promql = |q: &str| {
        let query = format!("query={q}");
        let args = [
            "-sS",
            "-o",
            "/dev/null",
            "--cacert",
            ca.to_str().expect("ca"),
            "-G",
            &url,
            "--data-urlencode",
            &query,
            "-H",
            &auth,
        ];
        let (code, _, stderr, rss, cpu) = run_timed("curl", &args, b.c.dir.path());
        assert_eq!(code, 0, "{}", String::from_utf8_lossy(&stderr));
        (rss, cpu)
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
    let steps: [&[&str]; 8] = [
        &["get", "pods", "-l", "app=spice-runner", "-n", "default"],
        &["get", "scaledobject", "spice-runner-keda", "-n", "default"],
        &["get", "hpa", "-n", "default"],
        &["get", "nodes"],
        &[
            "logs",
            "-n",
            "keda",
            "-l",
            "app.kubernetes.io/name=keda-operator",
            "--tail",
            "200",
        ],
        &["get", "events", "-n", "default", "--sort-by=.lastTimestamp"],
        // The Alloy sidecar's logs of every game pod: kubectl reads them one
        // pod after another.
        &[
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
        &[
            "describe",
            "scaledobject",
            "spice-runner-keda",
            "-n",
            "default",
        ],
    ];
    measure(b, 1, || {
        let kube = sequence(steps.iter().map(|s| kubectl(b, s)));
        let curl = sequence(queries.iter().map(|q| promql(q)));
        sequence([kube, curl])
    })
}

fn main() {
    let bin = env!("CARGO_BIN_EXE_kubectl-spice");
    let profile = if bin.contains("/release/") {
        "release"
    } else {
        "debug"
    };
    println!(
        "binary: {bin} ({profile}); network: {} ms per request (latency) or per round trip with handshakes (rtt)",
        DELAY.as_millis()
    );
    println!(
        "| what | pods / nodes | network | wall time | client CPU | waves | connections | requests | bytes sent | peak RSS |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    // SPICE_BENCH_SIZE=N: only the N-th row of SIZES (from 0).
    let only: Option<usize> = std::env::var("SPICE_BENCH_SIZE")
        .ok()
        .and_then(|v| v.parse().ok());
    let start_only = measure_start(bin);
    println!(
        "process start and exit (`kubectl-spice version`, no network): {} ms, {:.1} MiB",
        start_only.0.as_millis(),
        start_only.1 as f64 / 1024.0
    );
    for (i, size) in SIZES.iter().enumerate() {
        if only.is_some_and(|n| n != i) {
            continue;
        }
        let b = bed(size);
        for net in [Net::Latency, Net::Rtt] {
            b.network(net, false);
            plugin(&b, bin, &["status"], size.pods).print("`status`", size, net);
            plugin(&b, bin, &["diagnose"], size.pods).print("`diagnose`", size, net);
        }
        b.network(Net::Rtt, true);
        plugin(&b, bin, &["status"], size.pods).print(
            "`status`, HTTP/1.1-only server",
            size,
            Net::Rtt,
        );
        plugin(&b, bin, &["diagnose"], size.pods).print(
            "`diagnose`, HTTP/1.1-only server",
            size,
            Net::Rtt,
        );
        b.network(Net::Rtt, false);
        // SPICE_BENCH_PLUGIN_ONLY=1: only the plugin's rows (the comparisons
        // with kubectl and the runbook take minutes and do not change).
        if std::env::var_os("SPICE_BENCH_PLUGIN_ONLY").is_some() {
            continue;
        }
        kubectl_get(&b).print(
            "`kubectl get` of the same lists (4 commands)",
            size,
            Net::Rtt,
        );
        // By hand, the Alloy log step alone costs a round trip per pod (43 s
        // at 200 pods); at larger sizes it would hold the benchmark for many
        // minutes to show the same line grown tenfold.
        if size.pods <= RUNBOOK_UP_TO_PODS {
            runbook_by_hand(&b).print("the runbook by hand (kubectl + curl)", size, Net::Rtt);
        }
    }
    if let Ok(meta) = std::fs::metadata(bin) {
        println!(
            "binary size: {:.1} MiB",
            meta.len() as f64 / (1024.0 * 1024.0)
        );
    }
}
