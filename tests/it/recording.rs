//! The recording rules `kubectl spice alerts` ships for `report` and
//! `timeline` (issue 22 item 4): they record exactly the raw pod sums,
//! `report` reads them where they have points and the raw sums elsewhere,
//! with the same figures, and never a series recorded for other settings.

use crate::history::{Game, Week, now_unix, openmetrics, start_week_from, state};
use crate::support::prom::{History, Options, Prom, binary, url_encode};
use crate::support::scenario::Scenario;
use crate::support::spice::{BIN, run_bin};
use kubectl_spice::domain::{promql, recording};
use kubectl_spice::settings::Settings;
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// `kubectl-spice alerts -o rules` with no kubeconfig: the default settings.
fn printed_rules(dir: &Path) -> String {
    let run = run_bin(BIN, &["alerts", "-o", "rules"], &[], dir);
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.stdout
}

/// The recording group of the printed rules.
fn recording_group(text: &str) -> Value {
    let v: Value = serde_norway::from_str(text).expect("YAML");
    v["groups"]
        .as_array()
        .and_then(|g| g.iter().find(|g| g["rules"][0]["record"].is_string()))
        .cloned()
        .unwrap_or_else(|| panic!("no recording group in\n{text}"))
}

/// `name{labels}` of a printed recording rule, as promtool writes series.
fn series_name(rule: &Value) -> String {
    let labels: Vec<String> = rule["labels"]
        .as_object()
        .expect("labels")
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", v.as_str().expect("string")))
        .collect();
    format!(
        "{}{{{}}}",
        rule["record"].as_str().expect("record"),
        labels.join(",")
    )
}

/// `promtool test rules` (Prometheus's own engine) on the printed file: the
/// recorded running and pending pods leave out a draining pod, a pod of
/// another namespace and the nginx pods, equal the raw sums `report` sends,
/// and read 0 (not nothing) once the game has no pod left while
/// kube-state-metrics still answers.
#[test]
fn the_printed_recording_rules_record_the_raw_sums_and_zero_without_pods() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = printed_rules(dir.path());
    let group = recording_group(&text);
    assert_eq!(group["interval"], "15s", "{group:#}");
    let rules = group["rules"].as_array().expect("rules");
    assert_eq!(rules.len(), 2);
    let (running, pending) = (series_name(&rules[0]), series_name(&rules[1]));
    assert!(
        running.starts_with("spice:game_pods_running:sum{"),
        "{running}"
    );
    assert!(running.contains("namespace=\"default\""), "{running}");
    assert!(running.contains("spice_expr=\""), "{running}");
    let phase = |ns: &str, pod: &str, p: &str, v: &str| json!({"series": format!("kube_pod_status_phase{{namespace=\"{ns}\",pod=\"{pod}\",phase=\"{p}\"}}"), "values": v});
    // Pods for 5 minutes, then none; kube-state-metrics up for 15.
    let mut input = vec![json!({"series": "kube_node_info{node=\"n0\"}", "values": "1x60"})];
    for (ns, pod, running) in [
        ("default", "spice-runner-7d9f8-k2x9m", true),
        ("default", "spice-runner-7d9f8-p4rtw", true),
        ("default", "spice-runner-7d9f8-z7hqv", false),
        ("other", "spice-runner-7d9f8-k2x9m", true),
        ("default", "spice-runner-nginx-5c6b8d9f47-q7wzt", true),
    ] {
        let (r, p) = if running {
            ("1x20", "0x20")
        } else {
            ("0x20", "1x20")
        };
        input.push(phase(ns, pod, "Running", r));
        input.push(phase(ns, pod, "Pending", p));
    }
    input.push(json!({"series": "kube_pod_deletion_timestamp{namespace=\"default\",pod=\"spice-runner-7d9f8-p4rtw\"}", "values": "1x20"}));
    let s = Settings::defaults();
    let expect = |expr: &str, at: &str, samples: Value| json!({"expr": expr, "eval_time": at, "exp_samples": samples});
    let one = |labels: &str, v: f64| json!([{"labels": labels, "value": v}]);
    let raw_running = promql::running_pods_over_range(&s).promql;
    let raw_pending = promql::pending_pods_over_range(&s).promql;
    let rules_path = dir.path().join("rules.yml");
    let test_path = dir.path().join("test.yml");
    let tests = json!({
        "rule_files": [rules_path.to_str().expect("utf-8")],
        "evaluation_interval": "15s",
        "tests": [{
            "interval": "15s",
            "input_series": input,
            "promql_expr_test": [
                // One Running game pod not being deleted, one Pending.
                expect(&running, "4m", one(&running, 1.0)),
                expect(&pending, "4m", one(&pending, 1.0)),
                expect(&raw_running, "4m", one("{}", 1.0)),
                expect(&raw_pending, "4m", one("{}", 1.0)),
                // No game pod series (kube-state-metrics still up): 0,
                // where the raw sum answers nothing and `report` reads 0.
                expect(&running, "12m", one(&running, 0.0)),
                expect(&pending, "12m", one(&pending, 0.0)),
                expect(&raw_running, "12m", json!([])),
            ],
        }],
    });
    std::fs::write(&rules_path, &text).expect("rules");
    std::fs::write(&test_path, serde_norway::to_string(&tests).expect("yaml")).expect("test");
    let promtool = binary("promtool");
    let run = run_bin(
        promtool.to_str().expect("utf-8"),
        &["test", "rules", test_path.to_str().expect("utf-8")],
        &[],
        dir.path(),
    );
    assert_eq!(run.code, 0, "{}\n{}\n{text}", run.stdout, run.stderr);
    assert!(run.stdout.contains("SUCCESS"), "{}", run.stdout);
}

/// `(unix seconds, value)` of a range or raw-sample answer's one series.
fn points(v: &Value) -> Vec<(f64, f64)> {
    assert_eq!(v["status"], "success", "{v}");
    let result = v["data"]["result"].as_array().expect("result");
    assert!(result.len() <= 1, "{v}");
    result
        .iter()
        .flat_map(|s| s["values"].as_array().expect("values").iter())
        .map(|p| {
            (
                p[0].as_f64().expect("time"),
                p[1].as_str().expect("value").parse().expect("number"),
            )
        })
        .collect()
}

fn get_json(prom: &Prom, path: &str) -> Value {
    let (code, body) = prom.get(path);
    assert_eq!(code, 200, "{path}: {body}");
    serde_json::from_str(&body).expect("json")
}

/// A kube-state-metrics stand-in on 127.0.0.1 whose pods change from one
/// scrape to the next: the n-th `GET /metrics` (from 0) answers `pods(n)`.
/// Stopped (its thread ends within 50 ms) on drop.
struct Exporter {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Exporter {
    fn serve(pods: fn(u32) -> String) -> Exporter {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("addr").port();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut n = 0;
            while !flag.load(Ordering::Relaxed) {
                let Ok((mut conn, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(20));
                    continue;
                };
                let _ = conn.set_nonblocking(false);
                let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16_384 {
                    match conn.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let body = pods(n);
                n += 1;
                let _ = write!(
                    conn,
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        Exporter {
            port,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The pods at the n-th scrape (from 0): f5g6h Pending, Running from the
/// 1st; m9n2p draining from the 2nd; j7k8l gone at the 3rd; a pod of another
/// namespace and an nginx pod Running throughout.
fn changing_pods(n: u32) -> String {
    let mut out = String::from("# TYPE kube_node_info gauge\nkube_node_info{node=\"node-0\"} 1\n");
    let mut phases = String::from("# TYPE kube_pod_status_phase gauge\n");
    let game = |n: &str| format!("spice-runner-7d4b9c8f5-{n}");
    let mut pods: Vec<(&str, String, &str)> = vec![
        ("default", game("b2c4d"), "Running"),
        (
            "default",
            game("f5g6h"),
            if n < 1 { "Pending" } else { "Running" },
        ),
        ("default", game("m9n2p"), "Running"),
        ("other", game("b2c4d"), "Running"),
        (
            "default",
            "spice-runner-nginx-5c6b8d9f47-q7wzt".into(),
            "Running",
        ),
    ];
    if n < 3 {
        pods.push(("default", game("j7k8l"), "Running"));
    }
    for (ns, pod, phase) in &pods {
        for p in ["Pending", "Running"] {
            writeln!(
                phases,
                "kube_pod_status_phase{{namespace=\"{ns}\",pod=\"{pod}\",phase=\"{p}\"}} {}",
                (p == *phase) as u8
            )
            .unwrap();
        }
    }
    out.push_str(&phases);
    out.push_str("# TYPE kube_pod_deletion_timestamp gauge\n");
    if n >= 2 {
        writeln!(
            out,
            "kube_pod_deletion_timestamp{{namespace=\"default\",pod=\"{}\"}} 1.8e+09",
            game("m9n2p")
        )
        .unwrap();
    }
    out
}

/// The rules as printed, loaded by a real Prometheus that scrapes a
/// kube-state-metrics stand-in every second while its pods change (one
/// becomes Running, one starts draining, one goes): each recorded sample
/// equals the raw sum `report` sends, evaluated at the sample's own time,
/// and a grid read of the recorded series gives the raw sum of a little
/// before (one evaluation interval when Prometheus evaluates on time). The group's interval and the scrape's are
/// 500 ms here (printed: 15 s), or the test would last minutes; Prometheus
/// scrapes a new target only about 5 s after it starts.
#[test]
fn a_live_prometheus_records_what_the_raw_sums_say_at_each_evaluation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = printed_rules(dir.path()).replace("interval: 15s", "interval: 500ms");
    assert!(text.contains("interval: 500ms"), "{text}");
    let rules = dir.path().join("rules.yml");
    std::fs::write(&rules, &text).expect("rules");
    let ksm = Exporter::serve(changing_pods);
    let prom = Prom::start_with(
        &History::new(),
        Options {
            rule_files: vec![rules],
            extra_scrape_config: Some(format!(
                "- job_name: kube-state-metrics\n  scrape_interval: 500ms\n  scrape_timeout: 500ms\n  static_configs:\n    - targets: [\"127.0.0.1:{}\"]\n",
                ksm.port
            )),
            scrape_interval: Some("500ms"),
        },
    );
    let s = Settings::defaults();
    let [rec_running, rec_pending] = recording::recordings(&s);
    let selector = |r: &recording::Recording| {
        let labels: Vec<String> = r
            .labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{v}\""))
            .collect();
        format!("{}{{{}}}", r.record, labels.join(","))
    };
    let recorded = |r: &recording::Recording| {
        points(&get_json(
            &prom,
            &format!(
                "/api/v1/query?query={}",
                url_encode(&format!("{}[2m]", selector(r)))
            ),
        ))
    };
    // Until the recorded series show the last change and go on a second
    // past it (bounded: 25 s, as Prometheus scrapes a new target about 5 s
    // after it starts, and under the whole suite's load it once took more
    // than 8 s to record the last change; done in about 6 s when idle).
    let deadline = Instant::now() + Duration::from_secs(25);
    let running = loop {
        let got = recorded(&rec_running);
        let last = got.last().map_or(0.0, |p| p.0);
        if got.iter().any(|p| p.1 == 2.0 && p.0 + 1.0 <= last) {
            break got;
        }
        assert!(
            Instant::now() < deadline,
            "the rules did not record the last change: {got:?}\n{}",
            prom.output_tail()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let pending = recorded(&rec_pending);
    assert!(running.len() >= 3, "{running:?}");
    let raw_at = |q: &str, t: f64| -> Option<f64> {
        let v = get_json(
            &prom,
            &format!("/api/v1/query?query={}&time={t}", url_encode(q)),
        );
        let r = v["data"]["result"].as_array().expect("vector");
        r.first()
            .map(|s| s["value"][1].as_str().expect("value").parse().expect("num"))
    };
    let raw_running = promql::running_pods_over_range(&s).promql;
    let raw_pending = promql::pending_pods_over_range(&s).promql;
    // The raw sum at the evaluation's time, or (a scrape that started in
    // the 200 ms before it may be stored after the rule ran) just before.
    // 0.2 s is less than the scrape interval: the scrape before.
    for (q, series, what) in [
        (&raw_running, &running, "running"),
        (&raw_pending, &pending, "pending"),
    ] {
        for (t, v) in series.iter() {
            let (now, before) = (raw_at(q, *t), raw_at(q, t - 0.2));
            assert!(
                now == Some(*v) || before == Some(*v),
                "{what} recorded {v} at {t}: the raw sum says {now:?} ({before:?} 200 ms before)"
            );
        }
    }
    // The changes were seen: 3 running, 4 (f5g6h up), 3 (m9n2p draining),
    // 2 (j7k8l gone); pending 1 then 0.
    let values: Vec<f64> = running.iter().map(|p| p.1).collect();
    assert!(
        values.iter().any(|v| *v > 2.0),
        "the rules first ran after every change: {running:?}"
    );
    // Read on a fine grid, the recorded series is the raw one of a little
    // earlier: one interval (500 ms) on time; on this loaded machine an
    // evaluation can come late (Prometheus then counts a missed iteration),
    // so within 2 s.
    let (a, b) = (running[0].0, running[running.len() - 1].0);
    let range = |q: &str, a: f64| {
        points(&get_json(
            &prom,
            &format!(
                "/api/v1/query_range?query={}&start={a}&end={b}&step=0.1",
                url_encode(q)
            ),
        ))
    };
    let grid_rec = range(&format!("max({})", selector(&rec_running)), a);
    // From 2 s earlier: the raw points before the first recorded one.
    let grid_raw = range(&raw_running, a - 2.0);
    assert!(grid_rec.len() >= 10, "{grid_rec:?}");
    for (g, v) in &grid_rec {
        let earlier: Vec<f64> = grid_raw
            .iter()
            .filter(|p| p.0 <= *g && p.0 >= g - 2.0)
            .map(|p| p.1)
            .collect();
        assert!(
            earlier.contains(v),
            "recorded {v} at {g}: raw over the interval before was {earlier:?}"
        );
    }
}

/// The recorded series of the week: from `from` (seconds from now) to the
/// week's end, every 15 s, the value the raw sum gives (the backfilled
/// pods are sampled every 30 s, so the value of the 30 s sample before);
/// and decoys over the whole week, 50 pods each, for another namespace,
/// another deployment and an older expression.
fn recorded_families(now: i64, from: i64) -> String {
    let s = Settings::defaults();
    let [running, pending] = recording::recordings(&s);
    let labels = |ns: &str, dep: &str, digest: &str| {
        format!(
            "namespace=\"{ns}\",deployment=\"{dep}\",{}=\"{digest}\"",
            recording::DIGEST_LABEL
        )
    };
    let mut out = String::new();
    for (i, r) in [&running, &pending].into_iter().enumerate() {
        let digest = &r.labels[2].1;
        writeln!(out, "# TYPE {} gauge", r.record).unwrap();
        let own = labels("default", "spice-runner", digest);
        let decoys = [
            labels("other", "spice-runner", digest),
            labels("default", "spice-runner-old", digest),
            labels("default", "spice-runner", "000000000000"),
        ];
        let mut t = -7 * 86_400;
        while t <= 300 {
            if t >= from {
                let (_, run, pend, _) = state(t.div_euclid(30) * 30);
                let v = if i == 0 { run } else { pend };
                writeln!(out, "{}{{{own}}} {v} {}", r.record, now + t).unwrap();
            }
            if t % 30 == 0 {
                for d in &decoys {
                    writeln!(out, "{}{{{d}}} 50 {}", r.record, now + t).unwrap();
                }
            }
            t += 15;
        }
    }
    out
}

/// A report's JSON without where it read from (and the hint that follows).
fn figures(mut j: Value) -> Value {
    let o = j.as_object_mut().expect("object");
    o.remove("readFrom");
    o.remove("notes");
    j
}

/// The small week of `history.rs` twice, at the same instant: raw only, and
/// with the recording rules' series over its last two days (written in the
/// backfill, as `promtool tsdb create-blocks-from rules` would) plus decoys
/// recorded for other settings. The two reports have the same figures
/// (episodes, p50/p95, bands, counts, worst episodes); the second says it
/// read the rules since then; the first, a week long, hints to install them.
#[test]
fn a_week_recorded_only_at_its_end_reports_what_the_raw_sums_report() {
    let now = now_unix();
    let raw_text = openmetrics(now);
    let from = -2 * 86_400 + 7 * 60;
    let rec_text = format!(
        "{}{}# EOF\n",
        raw_text.strip_suffix("# EOF\n").expect("ends in EOF"),
        recorded_families(now, from)
    );
    let rec_start = std::thread::spawn(move || start_week_from(&rec_text));
    let raw_week = Arc::new(start_week_from(&raw_text));
    let rec_week: Arc<Week> = Arc::new(rec_start.join().expect("backfill"));
    let raw = Game::on(Scenario::load("healthy"), raw_week);
    let rec = Game::on(Scenario::load("healthy"), rec_week);
    let until = jiff::Timestamp::from_second(now).expect("time").to_string();
    let args = ["report", "--since", "7d", "--until", &until, "-o", "json"];
    let rec_run = std::thread::scope(|sc| {
        let r = sc.spawn(|| rec.spice(&args));
        let raw_run = raw.spice(&args);
        let rec_run = r.join().expect("report");
        assert_eq!(raw_run.code, 1, "{}", raw_run.stderr);
        assert_eq!(rec_run.code, 1, "{}", rec_run.stderr);
        let (a, b) = (raw_run.json(), rec_run.json());
        // Raw only: said, with the hint (a week long).
        assert!(
            a["readFrom"]["recordingRules"].is_null(),
            "{:#}",
            a["readFrom"]
        );
        assert!(
            a["readFrom"]["pods"]
                .as_str()
                .is_some_and(|p| p.contains("no recording rule")),
            "{:#}",
            a["readFrom"]
        );
        assert!(
            a["notes"].as_array().expect("notes").iter().any(|n| n
                .as_str()
                .is_some_and(|n| n.contains("kubectl spice alerts | kubectl apply -f -"))),
            "{:#}",
            a["notes"]
        );
        // Recorded since two days ago, raw before: one part.
        let since = b["readFrom"]["recordedSince"]
            .as_str()
            .and_then(|t| t.parse::<jiff::Timestamp>().ok())
            .unwrap_or_else(|| panic!("{:#}", b["readFrom"]))
            .as_second();
        assert!(
            (0..=15).contains(&(since - (now + from))),
            "recorded since {since}, written from {}",
            now + from
        );
        assert_eq!(b["readFrom"]["raw"].as_array().map(Vec::len), Some(1));
        assert_eq!(
            b["readFrom"]["recordingRules"],
            json!(["spice:game_pods_running:sum", "spice:game_pods_pending:sum"])
        );
        // The planted episodes are there (not an empty week read twice).
        assert!(b["scaleUp"]["overTarget"].as_u64() >= Some(2), "{b:#}");
        assert_eq!(figures(a), figures(b.clone()));
        rec_run
    });
    assert!(!rec_run.stdout.is_empty());
    // The text says it too, on one line.
    let text = rec.spice(&["report", "--since", "7d", "--until", &until]);
    let line = text
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("Read: "))
        .unwrap_or_else(|| panic!("no Read line:\n{}", text.stdout));
    assert!(
        line.contains("from the recording rules spice:game_pods_running:sum and spice:game_pods_pending:sum since ")
            && line.ends_with("before that from kube_pod_status_phase"),
        "{line}"
    );
    assert!(
        !text.stdout.contains("kubectl apply"),
        "no hint when the rules are read: {}",
        text.stdout
    );
}
