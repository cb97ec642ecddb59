//! What `report --since 7d` costs on a 2,000-pod game (the README quotes
//! the figures). Ignored: the backfill takes minutes and ~2 GB of scratch
//! space at a time. Run it with
//!
//! ```text
//! cargo test --test it report_cost_on_a_2000_pod_week -- --ignored --nocapture
//! ```
//!
//! `SPICE_COST_BIN=/a/kubectl-spice:/b/kubectl-spice` measures those builds
//! (e.g. debug and release) instead of the debug one; `SPICE_COST_DATA=DIR`
//! keeps the backfilled week in DIR and reuses it on later runs, the report
//! then asked for the week that ends when the backfill was made (`--until`;
//! delete DIR and DIR.backfilled afterwards: about 1 GB).
//!
//! The week: 2,000 sessions and 2,000 game pods at every moment; each pod
//! lives two hours (a session), then a new pod with a new name takes its
//! slot, the slots staggered, so the week holds 170,000 pods (each with
//! kube-state-metrics' `kube_pod_status_phase` Running and Pending,
//! `kube_pod_created` and `kube_pod_status_ready`, sampled every 60 s, the
//! Prometheus default scrape), 500 nodes, the nginx counter, the HPA's and
//! the Deployment's series: 81 million samples. Only the Running and Pending
//! phases are written (the plugin's queries select those; kube-state-metrics
//! also writes Succeeded, Failed and Unknown at 0, which enlarge the index,
//! not what the queries read). Backfilled one UTC day at a time
//! (`promtool tsdb create-blocks-from openmetrics`), so no block overlaps.
//!
//! Each binary's report is measured twice: on the raw week, then with the
//! recording rules `alerts -o rules` prints backfilled over the week by
//! `promtool tsdb create-blocks-from rules` from that Prometheus (as the
//! README tells users; kept in DIR.rules with `SPICE_COST_DATA`), in a copy
//! of the data dir, so the raw week stays without them.
//!
//! Measured (2-core machine, load average 6 to 9 from other builds; kept
//! week of `SPICE_COST_DATA`): debug build 240 s and 42 MiB peak RSS
//! without the rules, 15.2 s and 43 MiB with them; release build 46.9 s
//! and 19.0 MiB without, 4.1 s and 19.2 MiB with them (at a lower load). promtool
//! backfilled the rules over the week in 14 min (with the four alert rules
//! too, before `-o recording-rules`). Exit 1 without, 0 with: the raw sums
//! over backfilled pods (no staleness markers) spike at each scrape
//! instant, which reads as flapping (the README says more).

use crate::support::prom::{History, Proc, Prom, binary, free_port, http_get, url_encode};
use crate::support::scenario::Scenario;
use crate::support::sim::Sim;
use crate::support::spice::BIN;
use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const DAY: i64 = 86_400;
const SLOTS: i64 = 2_000;
const POD_LIFE: i64 = 2 * 3600;
const SCRAPE: i64 = 60;
const NODES: i64 = 500;
/// A new pod is Pending this long before it runs.
const PENDING: i64 = 60;

/// The pod in `slot` at `t` (unix seconds): its number and start time.
fn pod_at(slot: i64, t: i64) -> (i64, i64) {
    let offset = slot * POD_LIFE / SLOTS;
    let generation = (t - offset).div_euclid(POD_LIFE);
    (generation * SLOTS + slot, offset + generation * POD_LIFE)
}

/// A pod name's 5-character suffix as the ReplicaSet controller makes them
/// (apimachinery's `rand.String` alphabet, no vowels, no 0, 1, 3), from its
/// number: the plugin matches game pods by exactly that shape.
fn suffix(mut n: i64) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut out = [b'b'; 5];
    for c in out.iter_mut().rev() {
        *c = ALPHABET[n.rem_euclid(27) as usize];
        n /= 27;
    }
    String::from_utf8(out.to_vec()).expect("ascii")
}

/// One UTC day `[from, to)` as OpenMetrics text, each family together.
fn write_day(path: &std::path::Path, from: i64, to: i64, week_start: i64) {
    let f = std::fs::File::create(path).expect("create");
    let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
    let first = from + (SCRAPE - (from - week_start).rem_euclid(SCRAPE)) % SCRAPE;
    let times = || (first..to).step_by(SCRAPE as usize);
    let ns = "namespace=\"default\"";
    let pod = |n: i64| format!("spice-runner-7d4b9c8f5-{}", suffix(n));
    writeln!(w, "# TYPE nginx_http_requests counter").unwrap();
    for t in times() {
        writeln!(
            w,
            "nginx_http_requests_total{{service=\"spice-runner-nginx\"}} {} {t}",
            (t - week_start) * SLOTS
        )
        .unwrap();
    }
    writeln!(w, "# TYPE kube_pod_status_phase gauge").unwrap();
    for t in times() {
        for slot in 0..SLOTS {
            let (n, start) = pod_at(slot, t);
            let running = (t - start >= PENDING) as u8;
            let p = pod(n);
            writeln!(
                w,
                "kube_pod_status_phase{{{ns},pod=\"{p}\",phase=\"Running\"}} {running} {t}\n\
kube_pod_status_phase{{{ns},pod=\"{p}\",phase=\"Pending\"}} {} {t}",
                1 - running
            )
            .unwrap();
        }
    }
    writeln!(w, "# TYPE kube_pod_created gauge").unwrap();
    for t in times() {
        for slot in 0..SLOTS {
            let (n, start) = pod_at(slot, t);
            writeln!(w, "kube_pod_created{{{ns},pod=\"{}\"}} {start} {t}", pod(n)).unwrap();
        }
    }
    writeln!(w, "# TYPE kube_pod_status_ready gauge").unwrap();
    for t in times() {
        for slot in 0..SLOTS {
            let (n, start) = pod_at(slot, t);
            writeln!(
                w,
                "kube_pod_status_ready{{{ns},pod=\"{}\",condition=\"true\"}} {} {t}",
                pod(n),
                (t - start >= PENDING) as u8
            )
            .unwrap();
        }
    }
    for (family, value) in [("kube_node_info", None), ("kube_node_created", Some(()))] {
        writeln!(w, "# TYPE {family} gauge").unwrap();
        for t in times() {
            for n in 0..NODES {
                let v = value.map_or(1, |_| week_start - 30 * DAY);
                writeln!(
                    w,
                    "{family}{{node=\"ip-10-0-{}-{}\"}} {v} {t}",
                    n / 250,
                    n % 250
                )
                .unwrap();
            }
        }
    }
    writeln!(w, "# TYPE kube_node_status_condition gauge").unwrap();
    for t in times() {
        for n in 0..NODES {
            writeln!(
                w,
                "kube_node_status_condition{{node=\"ip-10-0-{}-{}\",condition=\"Ready\",status=\"true\"}} 1 {t}",
                n / 250,
                n % 250
            )
            .unwrap();
        }
    }
    let hpa = "namespace=\"default\",horizontalpodautoscaler=\"keda-hpa-spice-runner-keda\"";
    for (family, labels, v) in [
        (
            "kube_horizontalpodautoscaler_status_desired_replicas",
            hpa,
            SLOTS,
        ),
        ("kube_horizontalpodautoscaler_metadata_generation", hpa, 3),
        (
            "kube_deployment_metadata_generation",
            "namespace=\"default\",deployment=\"spice-runner\"",
            8,
        ),
    ] {
        writeln!(w, "# TYPE {family} gauge").unwrap();
        for t in times() {
            writeln!(w, "{family}{{{labels}}} {v} {t}").unwrap();
        }
    }
    writeln!(w, "# EOF").unwrap();
    w.flush().unwrap();
}

/// `prometheus_engine_query_duration_seconds_sum` over its slices: the
/// seconds Prometheus spent on queries so far.
fn engine_seconds(port: u16) -> f64 {
    let (_, body) = http_get(port, "/metrics").expect("metrics");
    body.lines()
        .filter(|l| l.starts_with("prometheus_engine_query_duration_seconds_sum"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[test]
#[ignore = "a measurement: backfills a 2,000-pod week (about 5 min), run by hand for the README figure"]
fn report_cost_on_a_2000_pod_week() {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    let dir = tempfile::Builder::new()
        .prefix("spice-cost-")
        .tempdir()
        .expect("tempdir");
    let kept = std::env::var("SPICE_COST_DATA")
        .ok()
        .map(std::path::PathBuf::from);
    let data = kept.clone().unwrap_or_else(|| dir.path().join("data"));
    let done = data.with_extension("backfilled");
    // A week kept from an earlier run is reused (and reported up to when
    // it was made).
    let reuse: Option<i64> = std::fs::read_to_string(&done)
        .ok()
        .and_then(|t| t.trim().parse().ok());
    let base = reuse.unwrap_or(now);
    let week_start = base - 7 * DAY - 3600;
    let end = if reuse.is_some() {
        week_start
    } else {
        base + 3600
    };
    std::fs::create_dir_all(&data).expect("data");
    let om = dir.path().join("day.om");
    let started = Instant::now();
    let mut from = week_start;
    while from < end {
        let to = ((from / DAY) + 1) * DAY;
        let to = to.min(end);
        write_day(&om, from, to, week_start);
        let size = std::fs::metadata(&om).map(|m| m.len()).unwrap_or(0);
        let out = Command::new(binary("promtool"))
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
            "promtool: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        eprintln!(
            "backfilled {} ({} MB of text) at {:?}",
            jiff::Timestamp::from_second(from).expect("time"),
            size >> 20,
            started.elapsed()
        );
        from = to;
    }
    let _ = std::fs::remove_file(&om);
    if reuse.is_none() {
        std::fs::write(&done, base.to_string()).expect("mark");
    }
    let (mut proc, port) = start_prometheus(dir.path(), &data, "prometheus", base);
    let blocks = std::fs::read_dir(&data).map(|d| d.count()).unwrap_or(0);
    eprintln!(
        "prometheus ready at {:?} ({blocks} entries in the data dir)",
        started.elapsed()
    );
    let sim = Sim::start(Scenario::load("healthy"));
    sim.set_proxy_upstream(
        "observability",
        "prometheus",
        "9090",
        &format!("http://127.0.0.1:{port}"),
    );
    let home = tempfile::tempdir().expect("tempdir");
    let kubeconfig = sim.write_kubeconfig(home.path());
    let kc = kubeconfig.to_str().expect("utf-8");
    let bins = std::env::var("SPICE_COST_BIN").unwrap_or_else(|_| BIN.to_string());
    let until = jiff::Timestamp::from_second(base)
        .expect("time")
        .to_string();
    for bin in bins.split(':') {
        measure(
            bin,
            port,
            &until,
            kc,
            home.path(),
            "without the recording rules",
        );
    }
    // The recording rules as `alerts -o recording-rules` prints them, backfilled from this
    // Prometheus by promtool (as the README tells users to), kept beside a
    // kept week (DIR.rules), into a copy of the data dir (the raw week
    // stays without them).
    let rules_file = home.path().join("rules.yml");
    let printed = Command::new(BIN)
        .args(["alerts", "-o", "recording-rules"])
        .env("HOME", home.path())
        .env_remove("KUBECONFIG")
        .output()
        .expect("alerts");
    assert!(printed.status.success(), "{printed:?}");
    std::fs::write(&rules_file, &printed.stdout).expect("rules");
    let rule_blocks = match &kept {
        Some(k) => k.with_extension("rules"),
        None => dir.path().join("rules"),
    };
    let rules_done = rule_blocks.with_extension("rules-backfilled");
    if !rules_done.exists() {
        let _ = std::fs::remove_dir_all(&rule_blocks);
        std::fs::create_dir_all(&rule_blocks).expect("rule blocks");
        let began = Instant::now();
        let out = Command::new(binary("promtool"))
            .args(["tsdb", "create-blocks-from", "rules", "--quiet"])
            .arg(format!("--start={}", base - 7 * DAY - 60))
            .arg(format!("--end={}", base + 60))
            .arg(format!("--url=http://127.0.0.1:{port}"))
            .arg("--eval-interval=15s")
            .arg(format!("--output-dir={}", rule_blocks.display()))
            .arg(&rules_file)
            .stdin(Stdio::null())
            .output()
            .expect("run promtool");
        assert!(
            out.status.success(),
            "promtool rules: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        eprintln!(
            "promtool tsdb create-blocks-from rules: the week's recording rules in {:?}",
            began.elapsed()
        );
        std::fs::write(&rules_done, "").expect("mark");
    }
    drop(proc);
    let with_rules = dir.path().join("data-with-rules");
    let copy = |from: &std::path::Path| {
        let out = Command::new("cp")
            .arg("-r")
            .args(
                std::fs::read_dir(from)
                    .expect("read dir")
                    .filter_map(|e| e.ok())
                    .map(|e| e.path())
                    .filter(|p| p.is_dir() && !p.ends_with("wal") && !p.ends_with("chunks_head")),
            )
            .arg(&with_rules)
            .output()
            .expect("cp");
        assert!(out.status.success(), "{out:?}");
    };
    std::fs::create_dir_all(&with_rules).expect("data copy");
    copy(&data);
    copy(&rule_blocks);
    let (p2, port2) = start_prometheus(dir.path(), &with_rules, "prometheus-rules", base);
    proc = p2;
    sim.set_proxy_upstream(
        "observability",
        "prometheus",
        "9090",
        &format!("http://127.0.0.1:{port2}"),
    );
    for bin in bins.split(':') {
        let j = measure(
            bin,
            port2,
            &until,
            kc,
            home.path(),
            "with the recording rules",
        );
        assert_eq!(
            j["readFrom"]["raw"].as_array().map(Vec::len),
            Some(0),
            "the backfilled rules cover the week: {:#}",
            j["readFrom"]
        );
    }
    proc.assert_running("after the reports");
    let port = port2;
    // What each query costs Prometheus: 12 h of 15 s points (one request
    // of `report`; a week is fourteen), and the old `unless` form.
    let s = kubectl_spice::settings::Settings::defaults();
    use kubectl_spice::domain::promql;
    let half_day = (base - 4 * DAY, base - 4 * DAY + 43_200 - 15);
    for (what, q) in [
        ("sessions", promql::sessions(&s).promql),
        ("running pods", promql::running_pods_over_range(&s).promql),
        ("pending pods", promql::pending_pods_over_range(&s).promql),
        ("running pods, unless form", promql::running_pods(&s).promql),
        ("nodes", promql::nodes().promql),
        ("HPA desired", promql::hpa_desired(&s).promql),
    ] {
        let started = Instant::now();
        let (code, body) = http_get(
            port,
            &format!(
                "/api/v1/query_range?query={}&start={}&end={}&step=15",
                url_encode(&q),
                half_day.0,
                half_day.1
            ),
        )
        .expect("query_range");
        assert_eq!(code, 200, "{what}: {body}");
        eprintln!("{what}: {:?} for 12 h at 15 s", started.elapsed());
    }
    for (what, q) in [
        (
            "pods created",
            promql::pods_created_over(&s, 7 * DAY as u64),
        ),
        ("pods ready", promql::pods_ready_over(&s, 7 * DAY as u64)),
        (
            "nodes created",
            promql::nodes_created_over(7 * DAY as u64, (base - 7 * DAY) as f64),
        ),
    ] {
        let started = Instant::now();
        let (code, body) = http_get(
            port,
            &format!("/api/v1/query?query={}&time={base}", url_encode(&q)),
        )
        .expect("query");
        assert_eq!(code, 200, "{what}: {body}");
        eprintln!("{what}: {:?} over the week", started.elapsed());
    }
}

/// Starts Prometheus on `data` and waits (bounded) until it answers at
/// `base`, the week's end.
fn start_prometheus(
    dir: &std::path::Path,
    data: &std::path::Path,
    label: &str,
    base: i64,
) -> (Proc, u16) {
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        "global:\n  scrape_interval: 60s\nscrape_configs: []\n",
    )
    .expect("config");
    let port = free_port();
    let mut cmd = Command::new(binary("prometheus"));
    cmd.arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.tsdb.path={}", data.display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--storage.tsdb.retention.time=9d")
        // Its own 2 min limit is reached by one pod-sum chunk when other
        // builds load the machine.
        .arg("--query.timeout=10m")
        .arg("--log.level=warn");
    let mut proc = Proc::spawn(label, &mut cmd, dir);
    let deadline = Instant::now() + Duration::from_secs(300);
    // At the week's end: a week kept from an earlier run ends in the past.
    let probe = format!(
        "/api/v1/query?query={}&time={base}",
        url_encode("count(kube_node_info)")
    );
    loop {
        proc.assert_running("while loading the week");
        if let Ok((200, body)) = http_get(port, &probe)
            && body.contains("\"value\"")
        {
            break;
        }
        assert!(Instant::now() < deadline, "{}", proc.output_tail());
        std::thread::sleep(Duration::from_millis(200));
    }
    (proc, port)
}

/// One `report --since 7d` by `bin`, timed, with its peak RSS and the
/// Prometheus query time it cost, printed; its JSON.
fn measure(
    bin: &str,
    port: u16,
    until: &str,
    kc: &str,
    home: &std::path::Path,
    what: &str,
) -> serde_json::Value {
    let before = engine_seconds(port);
    let (code, elapsed, stdout, stderr) = timed_report(
        bin,
        &[
            "report",
            "--since",
            "7d",
            "--until",
            until,
            "-o",
            "json",
            "--request-timeout",
            "300s",
            "--kubeconfig",
            kc,
        ],
        home,
    );
    let engine = engine_seconds(port) - before;
    let rss = stderr
        .lines()
        .find_map(|l| l.strip_prefix("peak-rss-kib "))
        .unwrap_or("?")
        .trim()
        .to_string();
    let j: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_default();
    eprintln!(
        "{bin} {what}: exit {code} in {elapsed:?}, peak RSS {rss} KiB, Prometheus query time {engine:.2} s, \
         {} bytes of JSON; pods created {}, unread {}, read from {}",
        stdout.len(),
        j["pods"]["created"],
        j["unread"],
        j["readFrom"]["pods"]
    );
    assert!(
        j["pods"]["created"].as_f64() > Some(100_000.0),
        "the game's pods were not matched: {:#}",
        j["pods"]
    );
    assert!(
        code == 0 || code == 1,
        "{}\n{stderr}",
        stdout.chars().take(2000).collect::<String>(),
    );
    j
}

/// Runs `bin ARGS` under `/usr/bin/time` (peak RSS on stderr), its output
/// in files, killed after 15 minutes: `(exit code, wall time, stdout, stderr)`.
fn timed_report(
    bin: &str,
    args: &[&str],
    home: &std::path::Path,
) -> (i32, Duration, String, String) {
    let (out, err) = (home.join("report.out"), home.join("report.err"));
    let started = Instant::now();
    let mut child = Command::new("/usr/bin/time")
        .args(["-f", "peak-rss-kib %M", bin])
        .args(args)
        .env("HOME", home)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).expect("stdout file"))
        .stderr(std::fs::File::create(&err).expect("stderr file"))
        .spawn()
        .expect("run the report");
    let deadline = started + Duration::from_secs(900);
    let code = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status.code().unwrap_or(-1);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{bin} {args:?} did not finish within 15 min");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let read = |p: &std::path::Path| std::fs::read_to_string(p).unwrap_or_default();
    (code, started.elapsed(), read(&out), read(&err))
}

/// The points of one `query_range` answer (one series or none).
fn range_points(prom: &Prom, promql: &str, start: i64, end: i64) -> Vec<(i64, f64)> {
    let (code, body) = prom.get(&format!(
        "/api/v1/query_range?query={}&start={start}&end={end}&step=15",
        url_encode(promql)
    ));
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(code, 200, "{promql}: {body}");
    let result = v["data"]["result"].as_array().expect("matrix");
    assert!(result.len() <= 1, "{promql}: {body}");
    result
        .iter()
        .flat_map(|s| s["values"].as_array().expect("values").iter())
        .map(|p| {
            let t = p[0].as_f64().expect("time") as i64;
            (t, p[1].as_str().expect("value").parse().expect("number"))
        })
        .collect()
}

/// `report` sends the running and pending sums in a cheaper form than
/// `status` (`sum(P) - (sum(P and on(namespace, pod) D) or vector(0))`
/// instead of `sum(P unless on(namespace, pod) D)`): on a real Prometheus,
/// with pods being deleted while Running and while Pending, a pod of the
/// same name being deleted in another namespace, and a stretch where every
/// Running pod is being deleted, both answer the same at every step.
#[test]
fn the_cheap_pod_sums_of_report_equal_the_unless_form_at_every_step() {
    use kubectl_spice::domain::promql;
    let s = kubectl_spice::settings::Settings::defaults();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    let mut h = History::new();
    // Present at the end (Prometheus is ready when its first series answers).
    h.gauge("kube_node_info", &[("node", "node-0")], 1.0);
    let pod = |name: &str| format!("spice-runner-7d4b9c8f5-{name}");
    // (pod, namespace, phase by offset, deleting from..to)
    type Pod<'a> = (
        String,
        &'a str,
        Vec<(i64, Option<&'a str>)>,
        Option<(i64, i64)>,
    );
    let pods: [Pod; 5] = [
        (
            pod("b2c4d"),
            "default",
            vec![(-1800, Some("Running")), (-420, None)],
            None,
        ),
        (
            pod("f5g6h"),
            "default",
            vec![(-1800, Some("Running")), (-300, None)],
            Some((-900, -300)),
        ),
        (
            pod("j7k8l"),
            "default",
            vec![(-1800, None), (-1500, Some("Pending")), (-1000, None)],
            Some((-1200, -1000)),
        ),
        (
            pod("m9n2p"),
            "default",
            vec![(-1800, None), (-600, Some("Running"))],
            Some((-200, 1800)),
        ),
        // The same name in another namespace, deleted: not a game pod.
        (
            pod("b2c4d"),
            "other",
            vec![(-1800, Some("Running"))],
            Some((-1800, 1800)),
        ),
    ];
    for (name, ns, phases, deleting) in &pods {
        for p in ["Running", "Pending"] {
            let steps: Vec<(i64, Option<f64>)> = phases
                .iter()
                .map(|(at, ph)| (*at, ph.map(|ph| (ph == p) as u8 as f64)))
                .collect();
            h.gauge_steps(
                "kube_pod_status_phase",
                &[("namespace", ns), ("pod", name), ("phase", p)],
                &steps,
            );
        }
        if let Some((from, to)) = deleting {
            h.gauge_steps(
                "kube_pod_deletion_timestamp",
                &[("namespace", ns), ("pod", name)],
                &[
                    (-1800, None),
                    (*from, Some((now + from) as f64)),
                    (*to, None),
                ],
            );
        }
    }
    let prom = Prom::start(&h);
    let (start, end) = (now - 1700, now + 60);
    let mut compared = 0;
    for (unless, cheap) in [
        (
            promql::running_pods(&s),
            promql::running_pods_over_range(&s),
        ),
        (
            promql::pending_pods(&s),
            promql::pending_pods_over_range(&s),
        ),
    ] {
        assert!(
            unless
                .promql
                .contains("unless on(namespace, pod) kube_pod_deletion_timestamp")
        );
        assert!(!cheap.promql.contains("unless"), "{}", cheap.promql);
        let a = range_points(&prom, &unless.promql, start, end);
        let b = range_points(&prom, &cheap.promql, start, end);
        // `unless` answers nothing where every pod of the phase is being
        // deleted; the cheap form answers 0 there (the report reads both as
        // 0 pods, `Series::fill_absent_pods`).
        let a: std::collections::BTreeMap<i64, f64> = a.into_iter().collect();
        for (t, v) in &b {
            assert_eq!(
                a.get(t).copied().unwrap_or(0.0),
                *v,
                "{} at now{:+}",
                cheap.key,
                t - now
            );
        }
        let b: std::collections::BTreeMap<i64, f64> = b.into_iter().collect();
        for t in a.keys() {
            assert!(
                b.contains_key(t),
                "{} at now{:+}: only the unless form answered",
                cheap.key,
                t - now
            );
        }
        compared += b.len();
    }
    assert!(compared > 100, "{compared} points compared");
    // The deletion is left out: at now-10m the plain sum is 3 Running pods,
    // 2 of them not being deleted; at now-1m both left are being deleted.
    let cheap = promql::running_pods_over_range(&s).promql;
    let at = |t: i64| range_points(&prom, &cheap, t, t).first().map(|p| p.1);
    assert_eq!(
        at(now - 550),
        Some(2.0),
        "b2c4d and m9n2p run, f5g6h is being deleted"
    );
    assert_eq!(
        at(now - 60),
        Some(0.0),
        "m9n2p is being deleted; b2c4d is gone"
    );
    let pending = promql::pending_pods_over_range(&s).promql;
    assert_eq!(
        range_points(&prom, &pending, now - 1300, now - 1300)
            .first()
            .map(|p| p.1),
        Some(1.0)
    );
    assert_eq!(
        range_points(&prom, &pending, now - 1100, now - 1100)
            .first()
            .map(|p| p.1),
        Some(0.0),
        "j7k8l is being deleted while Pending"
    );
}
