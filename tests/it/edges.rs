//! Hostile edges (issue 10, items 2–6, 8, 9), with the real binary: a source
//! that cannot be read never passes `watch --until`, durations and files
//! never panic or echo, exec plugins are bounded and never echo a token,
//! error bodies stay short, impossible Prometheus numbers are data problems,
//! and a token never travels over plain HTTP off this machine.

use crate::support::sim::Fault;
use crate::support::spice::{BIN, Cluster, Run, run_bin};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const PODS: &str = "/api/v1/namespaces/default/pods";
const PROMETHEUS_PROXY: &str = "/api/v1/namespaces/observability/services/prometheus:9090/proxy";

/// A usage or input error as the contract says: exit 2, one `error:` line,
/// one `hint:` line, no panic.
fn assert_one_line_error(run: &Run, what: &str) {
    assert_eq!(
        run.code, 2,
        "{what}: stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{what}: {}", run.stderr);
    assert!(lines[0].starts_with("error: "), "{what}: {}", run.stderr);
    assert!(lines[1].starts_with("hint: "), "{what}: {}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{what}: {}", run.stderr);
}

#[test]
fn watch_until_never_holds_while_the_pod_list_cannot_be_read() {
    // The control: on a healthy cluster the gate opens, so it is not stuck shut.
    let healthy = Cluster::start("healthy");
    let run = healthy.spice(&["watch", "--until", "healthy", "--timeout", "20s"]);
    assert_eq!(
        run.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    drop(healthy);

    // A crash-looping pod is judged unhealthy when it can be seen: the gate
    // gives up with exit 1 (the condition was judged and does not hold).
    let c = Cluster::start("crashloop");
    let run = c.spice(&[
        "watch",
        "--until",
        "healthy",
        "--timeout",
        "3s",
        "--interval",
        "500ms",
    ]);
    assert_eq!(
        run.code, 1,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    assert!(!run.stdout.contains("INCOMPLETE"), "{}", run.stdout);
    drop(c);

    // Behind a pod list that cannot be read it must never look healthy: each
    // run times out undecided, exit 3 (incomplete), instead of exiting 0 at
    // once or claiming the condition was judged false.
    let c = Cluster::start("crashloop");
    let truncated = r#"{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"7"},"items":[{"metadata":{"name":"spice-"#;
    // Idle is the exception that proves the rule: Prometheus still sees the
    // players' sessions, so "not idle" is judged on what was read (exit 1).
    let faults = [
        ("500", Fault::status(500), "healthy", 3),
        ("403", Fault::status(403), "healthy", 3),
        (
            "truncated JSON",
            Fault::raw(200, "application/json", truncated),
            "healthy",
            3,
        ),
        ("500", Fault::status(500), "scaled", 3),
        ("500", Fault::status(500), "idle", 1),
    ];
    for (name, fault, until, code) in faults {
        c.sim.inject(PODS, fault);
        let run = c.spice(&[
            "watch",
            "--until",
            until,
            "--timeout",
            "3s",
            "--interval",
            "500ms",
        ]);
        assert_eq!(
            run.code, code,
            "--until {until} with the pod list answering {name}:\nstdout:\n{}\nstderr:\n{}",
            run.stdout, run.stderr
        );
        assert_eq!(
            run.stdout.contains("INCOMPLETE: it could not be judged"),
            code == 3,
            "{name}: {}",
            run.stdout
        );
        assert!(
            run.stdout.contains("Timed out after"),
            "{name}: {}",
            run.stdout
        );
        assert!(
            run.stdout.contains("Kubernetes API lost"),
            "{name}: {}",
            run.stdout
        );
        // The banner is one clear line, never kube-rs's debug struct.
        for line in run
            .stdout
            .lines()
            .filter(|l| l.contains("Kubernetes API lost"))
        {
            assert!(
                !line.contains("Status {") && !line.contains("ListMeta"),
                "{line}"
            );
            assert!(line.len() < 600, "{name}: {} bytes", line.len());
        }
        if name == "403" {
            assert!(run.stdout.contains("HTTP 403 Forbidden"), "{}", run.stdout);
            assert!(!run.stdout.contains("InternalError"), "{}", run.stdout);
        }
    }
}

#[test]
fn durations_out_of_range_are_usage_errors_not_panics() {
    let c = Cluster::without_prometheus("healthy");
    let flags: &[&[&str]] = &[
        &["status", "--request-timeout", "1e20"],
        &["status", "--request-timeout", "99999999999999999999h"],
        &["diagnose", "--request-timeout", "4000000000000000h"],
        &["status", "--request-timeout", "NaN"],
        &["status", "--request-timeout=-5s"],
        &["watch", "--interval", "1e20"],
        &["watch", "--window", "4000000000000000h"],
        &["watch", "--timeout", "4000000000000000h"],
        &["watch", "--timeout", "1e30"],
    ];
    for args in flags {
        assert_one_line_error(&c.spice(args), &args.join(" "));
    }
    for (var, value) in [
        ("SPICE_REQUEST_TIMEOUT", "1e30"),
        ("SPICE_TARGETS_SCALE_UP", "99999999999999999999h"),
    ] {
        let run = c.spice_env(&["status"], &[(var, value)]);
        assert_one_line_error(&run, var);
        assert!(
            run.stderr.starts_with(&format!("error: env {var}")),
            "{}",
            run.stderr
        );
    }
    for text in ["requestTimeout: 1e30\n", "targets:\n  scaleUp: 1e30\n"] {
        let path = c.dir.path().join("config.yaml");
        std::fs::write(&path, text).unwrap();
        let run = c.spice(&["status", "--config", path.to_str().unwrap()]);
        assert_one_line_error(&run, text);
        assert!(
            run.stderr.contains("out of range") || run.stderr.contains("too long"),
            "{}",
            run.stderr
        );
    }
}

/// Writes an executable shell script and a kubeconfig whose user runs it as
/// an exec credential plugin against the simulator.
pub(crate) fn exec_kubeconfig(c: &Cluster, script: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let plugin = c.dir.path().join("credential-plugin.sh");
    std::fs::write(&plugin, format!("#!/bin/sh\n{script}\n")).unwrap();
    std::fs::set_permissions(&plugin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let token_line = format!("    token: {}\n", c.sim.token());
    let yaml = c.sim.kubeconfig_yaml(c.sim.token());
    assert!(yaml.contains(&token_line), "{yaml}");
    let exec = format!(
        "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: {}\n      interactiveMode: Never\n",
        plugin.display()
    );
    let path = c.dir.path().join("kubeconfig-exec");
    std::fs::write(&path, yaml.replace(&token_line, &exec)).unwrap();
    path
}

fn spice_with(c: &Cluster, kubeconfig: &Path, args: &[&str]) -> Run {
    let mut all = args.to_vec();
    all.extend(["--kubeconfig", kubeconfig.to_str().unwrap()]);
    run_bin(BIN, &all, &[], c.dir.path())
}

fn exec_credential(token: &str) -> String {
    format!(
        r#"{{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{{"token":"{token}"}}}}"#
    )
}

#[test]
fn exec_credential_plugins_are_bounded_and_never_echo_their_output() {
    let c = Cluster::without_prometheus("healthy");

    // A plugin that answers: its token reaches the API server.
    let kc = exec_kubeconfig(&c, &format!("echo '{}'", exec_credential(c.sim.token())));
    let run = spice_with(&c, &kc, &["status", "-o", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.json()["pods"].is_object(), "{}", run.stdout);

    // A plugin that hangs is cut at --request-timeout, and named.
    let kc = exec_kubeconfig(&c, "sleep 30");
    for command in ["status", "diagnose"] {
        let run = spice_with(&c, &kc, &[command, "--request-timeout", "2s"]);
        assert_one_line_error(&run, command);
        assert!(
            run.elapsed < Duration::from_secs(10),
            "{command}: {:?}",
            run.elapsed
        );
        assert!(
            run.stderr
                .contains("credential-plugin.sh` did not finish within 2s (--request-timeout)"),
            "{}",
            run.stderr
        );
    }

    // A plugin that prints a credential and exits 1: its stderr is quoted,
    // its stdout (the token) never.
    let kc = exec_kubeconfig(
        &c,
        &format!(
            "echo '{}'; echo 'SSO session expired' >&2; exit 1",
            exec_credential("tok-SECRET-4711")
        ),
    );
    let run = spice_with(&c, &kc, &["status"]);
    assert_one_line_error(&run, "failing plugin");
    assert!(run.stderr.contains("SSO session expired"), "{}", run.stderr);
    assert!(run.stderr.contains("exit status: 1"), "{}", run.stderr);
    assert!(
        !run.stderr.contains("tok-SECRET") && !run.stdout.contains("tok-SECRET"),
        "{}",
        run.stderr
    );

    // A plugin that prints something else: not echoed either.
    let kc = exec_kubeconfig(&c, "echo 'password=hunter2'");
    let run = spice_with(&c, &kc, &["status"]);
    assert_one_line_error(&run, "garbage plugin");
    assert!(!run.stderr.contains("hunter2"), "{}", run.stderr);
}

#[test]
fn error_bodies_are_quoted_a_few_hundred_characters() {
    let c = Cluster::without_prometheus("healthy");
    let huge = "m".repeat(20 * 1024 * 1024);
    let status = serde_json::json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": huge, "reason": "InternalError", "code": 500
    });
    c.sim.inject(
        PODS,
        Fault::raw(500, "application/json", status.to_string()),
    );
    let html = format!(
        "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>{}</body></html>",
        "<center>nginx</center>".repeat(2000)
    );
    c.sim
        .inject(PROMETHEUS_PROXY, Fault::raw(502, "text/html", html));
    for format in ["table", "wide", "json"] {
        let run = c.spice(&["status", "-o", format]);
        assert_eq!(run.code, 0, "{format}: {}", run.stderr);
        let size = run.stdout.len() + run.stderr.len();
        assert!(size < 20_000, "{format}: {size} bytes of output");
        let longest = run.stdout.lines().map(str::len).max().unwrap_or(0);
        assert!(longest < 1000, "{format}: a {longest}-byte line");
        assert!(
            run.stdout.contains("bytes more)"),
            "{format}: {}",
            run.stdout
        );
        assert!(
            run.stdout.contains("502 Bad Gateway"),
            "{format}: {}",
            run.stdout
        );
    }
}

#[test]
fn from_files_are_bounded_and_never_echoed() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let from = |name: &str, content: &[u8]| -> Run {
        let path = home.join(name);
        std::fs::write(&path, content).unwrap();
        run_bin(
            BIN,
            &["diagnose", "--from", path.to_str().unwrap()],
            &[],
            home,
        )
    };

    // A one-line token file is refused without being echoed.
    let run = from("token", b"eyJhbGciOiJSUzI1NiJ9.c2VjcmV0LXRva2Vu.sig\n");
    assert_one_line_error(&run, "token file");
    assert!(
        !run.stderr.contains("eyJhbGci") && !run.stderr.contains("c2VjcmV0"),
        "{}",
        run.stderr
    );

    // `{"a":` nested 100k deep answers at once.
    let run = from("deep.json", "{\"a\":".repeat(100_000).as_bytes());
    assert_one_line_error(&run, "deep JSON");
    // Bounds with room for a loaded CI machine: a quadratic or recursive
    // parse of 100k levels takes far longer (or overflows the stack).
    assert!(run.elapsed < Duration::from_secs(3), "{:?}", run.elapsed);
    let run = from("deep.yaml", "[".repeat(100_000).as_bytes());
    assert_one_line_error(&run, "deep YAML");
    assert!(run.elapsed < Duration::from_secs(3), "{:?}", run.elapsed);

    // A truncated JSON snapshot says so, with the line, in JSON's words.
    let example = crate::support::scenario::scenarios_dir().join("examples/healthy.snapshot.json");
    let text = std::fs::read_to_string(example).unwrap();
    let cut = &text[..text.len() / 2];
    let run = from("cut.json", cut.as_bytes());
    assert_one_line_error(&run, "truncated");
    let line = cut.lines().count();
    assert!(
        run.stderr
            .contains(&format!("unexpected end of file at line {line}")),
        "{}",
        run.stderr
    );

    // A file over the cap is refused before it is read (sparse: no disk cost).
    let big = home.join("big.json");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(200 << 20)
        .unwrap();
    let run = run_bin(BIN, &["status", "--from", big.to_str().unwrap()], &[], home);
    assert_one_line_error(&run, "200 MB");
    assert!(run.stderr.contains("larger than 64 MiB"), "{}", run.stderr);
    assert!(run.elapsed < Duration::from_secs(2), "{:?}", run.elapsed);
}

/// A stand-in Prometheus on loopback that answers every instant query with
/// one sample, `sessions` for the session-rate query: the only way to get
/// values a real Prometheus computes only from broken recording rules or
/// exporters (`-5`, `NaN`, `+Inf`). Dropping it stops it.
struct FakePrometheus {
    port: u16,
    stop: Arc<AtomicBool>,
}

impl FakePrometheus {
    fn start(sessions: &'static str) -> FakePrometheus {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let done = stop.clone();
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => answer(stream, sessions),
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        FakePrometheus { port, stop }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for FakePrometheus {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Answers one request (`Connection: close`), every read bounded.
fn answer(stream: std::net::TcpStream, sessions: &str) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut reader = BufReader::new(&stream);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    for _ in 0..100 {
        let mut header = String::new();
        if reader.read_line(&mut header).map_or(true, |n| n == 0) || header == "\r\n" {
            break;
        }
    }
    let target = request_line.split(' ').nth(1).unwrap_or("/");
    let query: String =
        url::form_urlencoded::parse(target.split_once('?').map_or("", |q| q.1).as_bytes())
            .find(|(k, _)| k == "query")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let value = if query.starts_with("timestamp(") {
        format!("{now}")
    } else if query.contains("changes(timestamp(nginx_http_requests_total") {
        // The scrape spacing of the nginx series: 15 s.
        "15".to_string()
    } else if query.starts_with("abs(") || query.starts_with("count_over_time") {
        "0".to_string()
    } else if query.contains("rate(nginx_http_requests_total") {
        sessions.to_string()
    } else if query.contains("phase=\"Running\"") || query.contains("kube_node_info") {
        "3".to_string()
    } else if query.starts_with("count(kube_pod_status_phase") {
        "15".to_string()
    } else {
        "0".to_string()
    };
    // The spacing answer is labelled as Prometheus's label_replace labels it.
    let metric = if query.contains("spice_spacing") {
        r#"{"spice_spacing":"seconds"}"#
    } else {
        "{}"
    };
    let body = if target.starts_with("/api/v1/rules") {
        r#"{"status":"success","data":{"groups":[]}}"#.to_string()
    } else {
        format!(
            r#"{{"status":"success","data":{{"resultType":"vector","result":[{{"metric":{metric},"value":[{now},"{value}"]}}]}}}}"#
        )
    };
    let mut out = &stream;
    let _ = write!(
        out,
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
}

#[test]
fn impossible_prometheus_numbers_are_data_problems_not_verdicts() {
    let c = Cluster::without_prometheus("healthy");
    for sessions in ["-5", "1e308", "NaN", "+Inf"] {
        let prom = FakePrometheus::start(sessions);
        let url = prom.url();
        // A token to a loopback address (a port-forward) is allowed.
        let env = [("SPICE_PROMETHEUS_TOKEN", "t0ken")];
        let run = c.spice_env(
            &["status", "--prometheus-url", &url, "--color", "never"],
            &env,
        );
        assert_eq!(run.code, 0, "{sessions}: {}", run.stderr);
        let out = &run.stdout;
        let shown = if sessions == "1e308" {
            "1e308"
        } else {
            sessions
        };
        assert!(
            out.contains(&format!("sessions unknown: Prometheus returned {shown} for `sum(rate(nginx_http_requests_total")),
            "{sessions}:\n{out}"
        );
        assert!(
            !out.contains("✓ idle") && !out.contains("9223372036854775807"),
            "{sessions}:\n{out}"
        );

        let run = c.spice_env(&["diagnose", "--prometheus-url", &url, "-o", "json"], &env);
        let report = run.json();
        let checks = report["checks"].as_array().expect("checks");
        let traffic = checks
            .iter()
            .find(|f| f["id"] == "sessions.traffic")
            .expect("sessions.traffic");
        assert_eq!(traffic["outcome"], "error", "{sessions}: {traffic}");
        assert!(
            traffic["message"].as_str().unwrap().contains(shown),
            "{traffic}"
        );
        let metric = checks
            .iter()
            .find(|f| f["id"] == "prometheus.nginx-metric")
            .unwrap();
        assert_eq!(metric["outcome"], "pass", "{sessions}: {metric}");
        assert!(
            !run.stdout
                .contains("Prometheus has no nginx_http_requests_total"),
            "{sessions}"
        );
    }
}

#[test]
fn a_token_never_travels_over_plain_http_off_this_machine() {
    let c = Cluster::without_prometheus("healthy");
    for (var, flag) in [
        ("SPICE_PROMETHEUS_TOKEN", "--prometheus-url"),
        ("SPICE_LOKI_TOKEN", "--loki-url"),
    ] {
        let start = Instant::now();
        let run = c.spice_env(
            &["diagnose", flag, "http://prometheus.example.com:9090"],
            &[(var, "s3cr3t")],
        );
        assert_one_line_error(&run, var);
        assert!(
            run.stderr
                .contains(&format!("refusing to send {var} over plain HTTP")),
            "{}",
            run.stderr
        );
        assert!(run.stderr.contains("https://"), "{}", run.stderr);
        assert!(!run.stderr.contains("s3cr3t"), "{}", run.stderr);
        assert!(start.elapsed() < Duration::from_secs(10));
    }
}
