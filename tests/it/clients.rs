//! The plugin as a client of things others control (issue 20, items 3, 4, 6
//! and 7), with the real binary: credential plugins run only by the
//! bounded runner and never echo their arguments or environment, one
//! refreshing credential serves every client, a proxy never sees a loopback
//! request, a watch that is always told 410 Gone backs off instead of
//! relisting five times a second, a stalled first list is retried, and
//! `snapshot -o FILE` writes a new 0600 file, never through a symlink, and
//! overwrites only with `--force`.

use crate::support::sim::Fault;
use crate::support::spice::{BIN, Cluster, Run, run_bin};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A kubeconfig whose user runs `script` as an exec credential plugin, with
/// `args` and `env` (name, value) as the kubeconfig gives them.
fn plugin_kubeconfig(c: &Cluster, script: &str, args: &[&str], env: &[(&str, &str)]) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let plugin = c.dir.path().join("credential-plugin.sh");
    std::fs::write(&plugin, format!("#!/bin/sh\n{script}\n")).unwrap();
    std::fs::set_permissions(&plugin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let token_line = format!("    token: {}\n", c.sim.token());
    let yaml = c.sim.kubeconfig_yaml(c.sim.token());
    assert!(yaml.contains(&token_line), "{yaml}");
    let mut exec = format!(
        "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: {}\n      interactiveMode: Never\n",
        plugin.display()
    );
    if !args.is_empty() {
        exec.push_str("      args:\n");
        for a in args {
            exec.push_str(&format!("      - {a:?}\n"));
        }
    }
    if !env.is_empty() {
        exec.push_str("      env:\n");
        for (name, value) in env {
            exec.push_str(&format!("      - name: {name}\n        value: {value:?}\n"));
        }
    }
    let path = c.dir.path().join("kubeconfig-plugin");
    std::fs::write(&path, yaml.replace(&token_line, &exec)).unwrap();
    path
}

/// How many times the plugin has run (it appends a line to `runs` each time).
fn runs(file: &Path) -> usize {
    std::fs::read_to_string(file).map_or(0, |t| t.lines().count())
}

/// Shell that prints an ExecCredential with `token` expiring `$exp`.
fn credential_with_expiry(token: &str) -> String {
    format!(
        "echo '{{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{{\"token\":\"{token}\",\"expirationTimestamp\":\"'$exp'\"}}}}'"
    )
}

fn spice_with(c: &Cluster, kubeconfig: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut all = args.to_vec();
    all.extend(["--kubeconfig", kubeconfig.to_str().unwrap()]);
    run_bin(BIN, &all, env, c.dir.path())
}

/// The JSON lines of a finished `watch -o json`.
fn json_lines(run: &Run) -> Vec<Value> {
    run.stdout
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn an_expiring_plugin_token_is_not_fetched_again_by_an_unbounded_second_run() {
    let c = Cluster::without_prometheus("healthy");
    let file = c.dir.path().join("plugin-runs");
    // The first run answers with a token good for an hour; any later run hangs.
    let script = format!(
        "echo run >> '{runs}'\n\
         if [ $(wc -l < '{runs}') -gt 1 ]; then sleep 60; fi\n\
         exp=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)\n{}",
        credential_with_expiry(c.sim.token()),
        runs = file.display(),
    );
    let kc = plugin_kubeconfig(&c, &script, &[], &[]);
    let run = spice_with(
        &c,
        &kc,
        &[
            "watch",
            "-o",
            "json",
            "--until",
            "idle",
            "--timeout",
            "3s",
            "--request-timeout",
            "2s",
        ],
        &[],
    );
    assert!(
        run.elapsed < Duration::from_secs(15),
        "watch took {:?}\n{}",
        run.elapsed,
        run.stderr
    );
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(
        json_lines(&run).iter().any(|v| v["runningPods"] == 3),
        "{}",
        run.stdout
    );
    assert_eq!(runs(&file), 1, "a token good for an hour is fetched once");
}

#[test]
fn a_client_certificate_plugin_runs_once_and_bounded() {
    let c = Cluster::without_prometheus("healthy");
    let file = c.dir.path().join("plugin-runs");
    let key = rcgen::generate_simple_self_signed(vec!["alice".to_string()]).unwrap();
    let credential = serde_json::json!({
        "apiVersion": "client.authentication.k8s.io/v1",
        "kind": "ExecCredential",
        "status": {
            "clientCertificateData": key.cert.pem(),
            "clientKeyData": key.signing_key.serialize_pem(),
        }
    });
    std::fs::write(c.dir.path().join("cert.json"), credential.to_string()).unwrap();
    let script = format!(
        "echo run >> '{runs}'\n\
         if [ $(wc -l < '{runs}') -gt 1 ]; then sleep 60; fi\n\
         cat '{}'",
        c.dir.path().join("cert.json").display(),
        runs = file.display(),
    );
    let kc = plugin_kubeconfig(&c, &script, &[], &[]);
    let run = spice_with(&c, &kc, &["status", "--request-timeout", "2s"], &[]);
    assert!(
        run.elapsed < Duration::from_secs(10),
        "status took {:?}\n{}",
        run.elapsed,
        run.stderr
    );
    // The simulator knows bearer tokens only: a certificate is a 401, which
    // is "no cluster" (exit 2), said in time and without a panic.
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert!(
        !run.stderr.contains("PRIVATE KEY") && !run.stdout.contains("PRIVATE KEY"),
        "{}",
        run.stderr
    );
    assert_eq!(runs(&file), 1, "the plugin ran once");
}

#[test]
fn a_failing_plugin_refresh_never_prints_its_arguments_or_environment() {
    let c = Cluster::without_prometheus("healthy");
    let file = c.dir.path().join("plugin-runs");
    // The first run answers with a token that expires in 2 s; the refresh fails.
    let script = format!(
        "echo run >> '{runs}'\n\
         if [ $(wc -l < '{runs}') -gt 1 ]; then echo 'SSO session expired' >&2; exit 1; fi\n\
         exp=$(date -u -d '+2 seconds' +%Y-%m-%dT%H:%M:%SZ)\n{}",
        credential_with_expiry(c.sim.token()),
        runs = file.display(),
    );
    let kc = plugin_kubeconfig(
        &c,
        &script,
        &["get-token", "--client-secret=s3cr3t-ARG-4711"],
        &[("SSO_CLIENT_SECRET", "s3cr3t-ENV-4711")],
    );
    let run = spice_with(
        &c,
        &kc,
        &[
            "watch",
            "-o",
            "json",
            "--interval",
            "500ms",
            "--timeout",
            "5s",
            "--request-timeout",
            "2s",
        ],
        &[],
    );
    assert!(run.elapsed < Duration::from_secs(20), "{:?}", run.elapsed);
    assert!(
        runs(&file) >= 2,
        "the plugin ran again when its token expired"
    );
    for secret in ["s3cr3t-ARG", "s3cr3t-ENV", "--client-secret"] {
        assert!(
            !run.stdout.contains(secret) && !run.stderr.contains(secret),
            "{secret} printed:\nstdout:\n{}\nstderr:\n{}",
            run.stdout,
            run.stderr
        );
    }
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
}

#[test]
fn a_rotating_plugin_token_keeps_prometheus_answering_in_watch() {
    let c = Cluster::start("healthy");
    let file = c.dir.path().join("plugin-runs");
    // Tokens live in 3-second windows: `rot-N` is good until (N+1)*3 s past
    // the epoch, and the simulator accepts only the previous, the current
    // and the next window's token, so a token kept past its expiry is
    // refused within 6 s.
    let script = format!(
        "echo run >> '{runs}'\n\
         w=$(( $(date +%s) / 3 ))\n\
         exp=$(date -u -d @$(( (w + 1) * 3 )) +%Y-%m-%dT%H:%M:%SZ)\n{}",
        credential_with_expiry("rot-'$w'"),
        runs = file.display(),
    );
    let kc = plugin_kubeconfig(&c, &script, &[], &[]);
    let window = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            / 3
    };
    // The next window's token too: this thread may run late under load,
    // and a plugin run just past a window's end must not be refused.
    let set = |w: u64| {
        let t = [w - 1, w, w + 1].map(|n| format!("rot-{n}"));
        c.sim
            .set_user_tokens(&[t[0].as_str(), t[1].as_str(), t[2].as_str()]);
    };
    set(window());
    let stop = AtomicBool::new(false);
    let run = std::thread::scope(|s| {
        let h = s.spawn(|| {
            let deadline = Instant::now() + Duration::from_secs(60);
            while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                set(window());
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        let run = spice_with(
            &c,
            &kc,
            &[
                "watch",
                "-o",
                "json",
                "--interval",
                "500ms",
                "--timeout",
                "14s",
                "--request-timeout",
                "3s",
            ],
            &[],
        );
        stop.store(true, Ordering::Relaxed);
        let _ = h.join();
        run
    });
    let events: Vec<Value> = json_lines(&run)
        .into_iter()
        .filter(|v| v["kind"] == "WatchEvent")
        .collect();
    assert!(
        events.iter().any(|v| v["sessions"].as_f64().is_some()),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
    // A line is written on every change: a token kept past its expiry is
    // refused within 6 s, and the banner that says so would be one.
    for v in &events {
        assert!(v["banner"].is_null(), "{v}\n{}", run.stderr);
    }
    assert!(run.elapsed >= Duration::from_secs(13), "{:?}", run.elapsed);
    assert!(runs(&file) >= 3, "the plugin ran {} times", runs(&file));
}

/// A plain-TCP listener on loopback that records every byte it is sent and
/// answers `502 Bad Gateway`: an HTTP proxy that must see no loopback request.
struct Recorder {
    port: u16,
    seen: Arc<Mutex<Vec<u8>>>,
}

impl Recorder {
    fn start() -> Recorder {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming().take(100) {
                let Ok(mut conn) = conn else { continue };
                let _ = conn.set_read_timeout(Some(Duration::from_millis(500)));
                let mut buf = [0u8; 4096];
                if let Ok(n) = conn.read(&mut buf) {
                    record.lock().unwrap().extend_from_slice(&buf[..n]);
                }
                let _ = conn.write_all(
                    b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                );
            }
        });
        Recorder { port, seen }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn seen(&self) -> String {
        String::from_utf8_lossy(&self.seen.lock().unwrap()).into_owned()
    }
}

#[test]
fn a_proxy_never_sees_a_loopback_prometheus_or_its_token() {
    let c = Cluster::start("healthy");
    let proxy = Recorder::start();
    let prom = c.prom.as_ref().unwrap().url();
    let token = ("SPICE_PROMETHEUS_TOKEN", "tok-PROXY-4711");
    let http = [
        ("HTTP_PROXY", proxy.url()),
        ("http_proxy", proxy.url()),
        ("ALL_PROXY", proxy.url()),
    ];
    // HTTPS_PROXY too: the simulator (the API server) is on loopback as well.
    let https = [("HTTPS_PROXY", proxy.url())];
    for env in [&http[..], &[&http[..], &https[..]].concat()] {
        let mut env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        env.push(token);
        let run = c.spice_env(&["status", "-o", "json", "--prometheus-url", &prom], &env);
        assert_eq!(run.code, 0, "{env:?}: {}\n{}", run.stdout, run.stderr);
        assert_eq!(
            proxy.seen(),
            "",
            "{env:?}: the proxy was sent a loopback request"
        );
        assert_eq!(
            run.json()["sessions"]["rate"].as_f64().map(f64::round),
            Some(3.0),
            "{}",
            run.stdout
        );
    }

    // The control: a name off this machine goes through the proxy (as a
    // CONNECT for https: the proxy never sees the token).
    let run = c.spice_env(
        &[
            "status",
            "-o",
            "json",
            "--prometheus-url",
            "https://prometheus.example.test:9090",
            "--request-timeout",
            "3s",
        ],
        &[
            ("HTTPS_PROXY", &proxy.url()),
            ("SPICE_PROMETHEUS_TOKEN", "tok-PROXY-4711"),
        ],
    );
    let seen = proxy.seen();
    assert!(
        seen.starts_with("CONNECT prometheus.example.test:9090"),
        "{seen}\n{}",
        run.stderr
    );
    assert!(!seen.contains("tok-PROXY"), "{seen}");
    assert!(!run.stdout.contains("tok-PROXY") && !run.stderr.contains("tok-PROXY"));
}

/// Relists of the game pods (lists, not watches) the simulator saw.
fn pod_lists(c: &Cluster) -> usize {
    c.sim
        .requests()
        .iter()
        .filter(|r| r.starts_with("GET /api/v1/namespaces/default/pods?") && !r.contains("watch="))
        .count()
}

#[test]
fn a_watch_answered_410_forever_backs_off_instead_of_relisting() {
    let c = Cluster::without_prometheus("healthy");
    let expired = serde_json::json!({
        "type": "ERROR",
        "object": {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                   "message": "too old resource version: 1 (2)", "reason": "Expired", "code": 410}
    });
    for (what, fault) in [
        ("410 Gone", Fault::status(410)),
        (
            "an ERROR event",
            Fault::raw(200, "application/json", format!("{expired}\n")),
        ),
    ] {
        c.sim.clear_faults();
        c.sim
            .inject("/api/v1/namespaces/default/pods?&watch=true", fault);
        c.sim.reset_requests();
        let run = c.spice(&["watch", "-o", "json", "--timeout", "10s"]);
        assert!(!run.stderr.contains("panicked"), "{what}: {}", run.stderr);
        let lists = pod_lists(&c);
        let watches = c
            .sim
            .requests()
            .iter()
            .filter(|r| r.starts_with("GET /api/v1/namespaces/default/pods?&watch=true"))
            .count();
        eprintln!("{what}: {lists} pod lists and {watches} watches in 10 s");
        assert!(watches >= 1, "{what}: the watch was tried");
        // client-go backs off to 30 s: 0.8, 1.6, 3.2, 6.4 s apart at most
        // five tries in 10 s, where a reset backoff makes fifty.
        assert!(
            lists <= 5 && lists + watches <= 10,
            "{what}: {lists} pod lists and {watches} watches in 10 s"
        );
    }
}

/// `watch -o json` with its stdout lines on a channel.
struct Watching {
    child: Child,
    lines: Receiver<String>,
}

impl Watching {
    fn start(c: &Cluster, args: &[&str]) -> Watching {
        Self::with(c, &c.kubeconfig, args)
    }

    fn with(c: &Cluster, kubeconfig: &Path, args: &[&str]) -> Watching {
        let mut child = Command::new(BIN)
            .args(args)
            .args(["--kubeconfig", kubeconfig.to_str().unwrap()])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", c.dir.path())
            .env("XDG_CONFIG_HOME", c.dir.path().join(".config"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Watching { child, lines }
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_stalled_first_pod_list_is_given_up_and_retried() {
    let c = Cluster::without_prometheus("healthy");
    // The first pod list answers only after 40 s; the next one at once.
    c.sim.inject(
        "/api/v1/namespaces/default/pods?&labelSelector",
        Fault::latency(Duration::from_secs(40)).times(1),
    );
    let start = Instant::now();
    let w = Watching::start(
        &c,
        &[
            "watch",
            "-o",
            "json",
            "--interval",
            "500ms",
            "--request-timeout",
            "2s",
            "--timeout",
            "30s",
        ],
    );
    let deadline = start + Duration::from_secs(20);
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match w.lines.recv_timeout(left) {
            Ok(line) => {
                let v: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
                if v["runningPods"] == 3 {
                    break;
                }
                // While the pods are unknown they are not "0 running".
                assert!(v["runningPods"] != 0, "{line}");
                seen.push(line);
            }
            Err(_) => panic!(
                "the pods were still unknown after 20 s:\n{}",
                seen.join("\n")
            ),
        }
    }
    assert!(
        start.elapsed() < Duration::from_secs(15),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn a_refused_plugin_token_is_fetched_again_and_watch_recovers() {
    let c = Cluster::start("healthy");
    let file = c.dir.path().join("plugin-runs");
    // Each run gives tok-<run number>, with no expiry.
    let script = format!(
        "echo run >> '{runs}'\n\
         n=$(wc -l < '{runs}')\n\
         echo '{{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{{\"token\":\"tok-'$n'\"}}}}'",
        runs = file.display(),
    );
    let kc = plugin_kubeconfig(&c, &script, &[], &[]);
    c.sim.set_user_tokens(&["tok-1", "tok-2"]);
    let w = Watching::with(
        &c,
        &kc,
        &[
            "watch",
            "-o",
            "json",
            "--interval",
            "500ms",
            "--timeout",
            "40s",
        ],
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = Vec::new();
    let mut next = |what: &str| -> Value {
        let left = deadline.saturating_duration_since(Instant::now());
        match w.lines.recv_timeout(left) {
            Ok(line) => {
                seen.push(line.clone());
                serde_json::from_str(&line).unwrap_or(Value::Null)
            }
            Err(_) => panic!("no line while waiting for {what}:\n{}", seen.join("\n")),
        }
    };
    while next("sessions")["sessions"].as_f64().is_none() {}
    assert_eq!(runs(&file), 1);
    // The first token is revoked before any expiry: the API server says 401.
    c.sim.set_user_tokens(&["tok-2"]);
    while runs(&file) < 2 {
        assert!(Instant::now() < deadline, "the plugin never ran again");
        std::thread::sleep(Duration::from_millis(100));
    }
    // The refusal shows (every query of one poll was refused), then
    // Prometheus answers again with the new token.
    while next("the refusal's banner")["banner"].is_null() {}
    loop {
        let v = next("a line without a banner");
        if v["kind"] == "WatchEvent" && v["banner"].is_null() && v["sessions"].as_f64().is_some() {
            break;
        }
    }
    assert!(runs(&file) <= 3, "the plugin ran {} times", runs(&file));
}

/// The snapshot binary run under `umask 000`, so a mode the plugin does not
/// set itself shows.
fn snapshot_to(c: &Cluster, out: &Path, extra: &[&str]) -> Run {
    let kc = c.kubeconfig.to_str().unwrap();
    let mut args = vec![
        "-c",
        "umask 000; exec \"$0\" \"$@\"",
        BIN,
        "snapshot",
        "-o",
        out.to_str().unwrap(),
        "--kubeconfig",
        kc,
    ];
    args.extend(extra);
    run_bin("sh", &args, &[], c.dir.path())
}

fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn snapshot_files_are_new_0600_never_through_a_symlink_and_replaced_only_with_force() {
    let c = Cluster::without_prometheus("healthy");
    let dir = c.dir.path().join("out");
    std::fs::create_dir(&dir).unwrap();

    // A new file: 0600 even under umask 000, and a snapshot.
    let out = dir.join("snap.json");
    let run = snapshot_to(&c, &out, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(mode(&out), 0o600);
    let saved = std::fs::read_to_string(&out).unwrap();
    assert!(saved.contains("\"kind\": \"Snapshot\""), "{saved}");

    // An existing file: refused with one error line and a hint, untouched.
    std::fs::write(&out, "precious").unwrap();
    let run = snapshot_to(&c, &out, &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{}", run.stderr);
    assert!(
        lines[0].starts_with("error: ") && lines[0].contains("exists"),
        "{}",
        run.stderr
    );
    assert!(
        lines[1].starts_with("hint: ") && lines[1].contains("--force"),
        "{}",
        run.stderr
    );
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "precious");

    // With --force it is replaced, 0600.
    std::fs::set_permissions(&out, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let run = snapshot_to(&c, &out, &["--force"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        std::fs::read_to_string(&out)
            .unwrap()
            .contains("\"kind\": \"Snapshot\"")
    );
    assert_eq!(mode(&out), 0o600);

    // A symlink (to a file, or dangling): never written through.
    let target = dir.join("target");
    std::fs::write(&target, "target text").unwrap();
    let link = dir.join("link.json");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let run = snapshot_to(&c, &link, &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "target text");
    let dangling = dir.join("dangling.json");
    let nowhere = dir.join("nowhere");
    std::os::unix::fs::symlink(&nowhere, &dangling).unwrap();
    let run = snapshot_to(&c, &dangling, &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(!nowhere.exists(), "written through a dangling symlink");
    // --force replaces the link itself, never its target.
    let run = snapshot_to(&c, &link, &["--force"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "target text");
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_file()
    );
    assert_eq!(mode(&link), 0o600);
    // Nothing is left behind but the files asked for.
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["dangling.json", "link.json", "snap.json", "target"],
        "temporary files left"
    );
}
