//! The transport end to end (issue 13): the real binary against the
//! simulator serving HTTP/2 (or HTTP/1.1 only), counted per connection.

use crate::support::scenario::Scenario;
use crate::support::sim::{Exchange, Fault, waves};
use crate::support::spice::Cluster;
use serde_json::Value;
use std::time::Duration;

/// `status -o json` without what differs between two runs a moment apart
/// (ages, and float noise in what Prometheus computes).
fn stable(mut j: Value) -> Value {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(map) => {
                map.retain(|k, _| !matches!(k.as_str(), "capturedAt" | "age" | "ageSeconds"));
                map.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            // Prometheus's rate() of a steady counter is 3 or
            // 2.9999999999999996 depending on where its window falls between
            // two reads: compare to a millionth.
            Value::Number(n) if n.is_f64() => {
                let rounded = (n.as_f64().unwrap_or(f64::NAN) * 1e6).round() / 1e6;
                *v = serde_json::json!(rounded);
            }
            _ => {}
        }
    }
    strip(&mut j);
    j
}

/// One line per request: start and answer in ms from the first start.
fn timeline(exchanges: &[Exchange]) -> String {
    let Some(t0) = exchanges.iter().map(|e| e.started).min() else {
        return String::new();
    };
    let ms = |t: std::time::Instant| t.duration_since(t0).as_millis();
    exchanges
        .iter()
        .map(|e| {
            let end = e.answered.map_or("-".to_string(), |a| ms(a).to_string());
            let line: String = e.line.chars().take(100).collect();
            format!("{:>6} {end:>6} {line}\n", ms(e.started))
        })
        .collect()
}

#[test]
fn status_diagnose_and_snapshot_each_use_one_http2_connection() {
    let c = Cluster::start("healthy");
    let saved = c.dir.path().join("snap.json");
    let saved = saved.to_str().expect("utf-8 path");
    for args in [
        &["status", "-o", "json"][..],
        &["diagnose", "-o", "json"],
        &["snapshot", "-o", saved],
    ] {
        c.sim.reset_wire();
        let run = c.spice(args);
        assert!(run.code <= 1, "{args:?}: {}", run.stderr);
        assert_eq!(c.sim.connections(), ["h2"], "{args:?}");
        let requests = c.sim.requests();
        // Every API read and every proxied Prometheus query rode on it.
        assert!(requests.len() >= 10, "{args:?}: {requests:?}");
        assert!(
            requests
                .iter()
                .any(|r| r.contains("/services/prometheus:9090/proxy/")),
            "{args:?}: {requests:?}"
        );
    }
}

#[test]
fn a_watch_runs_its_reads_and_streams_over_one_connection() {
    let c = Cluster::start("healthy");
    c.sim.reset_wire();
    let run = c.spice(&["watch", "--until", "idle", "--timeout", "2s"]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let requests = c.sim.requests();
    assert!(
        requests.iter().any(|r| r.contains("watch=true")),
        "{requests:?}"
    );
    assert_eq!(c.sim.connections(), ["h2"], "{requests:?}");
}

#[test]
fn a_modelled_round_trip_costs_two_handshakes_then_one_round_of_reads() {
    let c = Cluster::start("healthy");
    let rtt = Duration::from_millis(200);
    c.sim.set_rtt(rtt);
    c.sim.reset_wire();
    let run = c.spice(&["status", "-o", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // TCP, then TLS, then every read at once on the one connection.
    assert!(run.elapsed >= rtt * 3, "{:?}", run.elapsed);
    let exchanges = c.sim.exchanges();
    assert_eq!(waves(&exchanges), 1, "\n{}", timeline(&exchanges));
    assert_eq!(c.sim.connections(), ["h2"]);
}

#[test]
fn an_http1_only_server_gives_the_same_status() {
    let c = Cluster::start("healthy");
    let over_h2 = c.spice(&["status", "-o", "json"]);
    assert_eq!(over_h2.code, 0, "{}", over_h2.stderr);
    c.sim.set_http1_only(true);
    c.sim.reset_wire();
    let over_h1 = c.spice(&["status", "-o", "json"]);
    assert_eq!(over_h1.code, 0, "{}", over_h1.stderr);
    assert_eq!(stable(over_h1.json()), stable(over_h2.json()));
    let connections = c.sim.connections();
    assert!(
        !connections.is_empty() && connections.iter().all(|p| p == "http/1.1"),
        "{connections:?}"
    );
}

#[test]
fn a_large_list_comes_gzipped_and_is_read_whole() {
    // 600 game pods make a pod list well over the API server's 128 KiB gzip
    // threshold; the small reads stay uncompressed, as a real server does.
    // (No Prometheus: its history of 600 pods takes long to load, and the
    // proxied reads are not what this test is about.)
    let c = Cluster::with(Scenario::healthy_scaled(600, 3), false);
    c.sim.reset_wire();
    let run = c.spice(&["status", "-o", "json"]);
    assert!(run.code <= 1, "{}", run.stderr);
    assert_eq!(run.json()["pods"]["total"], 600);
    let exchanges = c.sim.exchanges();
    let pods = exchanges
        .iter()
        // The game pods' list, not the small nginx pods' one beside it.
        .find(|e| {
            e.line.starts_with("GET /api/v1/namespaces/default/pods?")
                && !e.line.contains("spice-runner-nginx")
        })
        .expect("a pod list");
    assert_eq!(pods.encoding.as_deref(), Some("gzip"), "{pods:?}");
    assert!(
        exchanges
            .iter()
            .any(|e| e.line.starts_with("GET /apis/apps/") && e.encoding.is_none()),
        "{exchanges:?}"
    );

    // The kubeconfig's `disable-compression: true` asks for plain bodies.
    let text = c.sim.kubeconfig_yaml(c.sim.token()).replace(
        "    certificate-authority-data:",
        "    disable-compression: true\n    certificate-authority-data:",
    );
    let plain = c.dir.path().join("plain");
    std::fs::write(&plain, text).expect("write kubeconfig");
    c.sim.reset_wire();
    let run = crate::support::spice::run_bin(
        crate::support::spice::BIN,
        &[
            "status",
            "-o",
            "json",
            "--kubeconfig",
            plain.to_str().expect("utf-8"),
        ],
        &[],
        c.dir.path(),
    );
    assert!(run.code <= 1, "{}", run.stderr);
    assert_eq!(run.json()["pods"]["total"], 600);
    assert!(
        c.sim.exchanges().iter().all(|e| e.encoding.is_none()),
        "{:?}",
        c.sim.exchanges()
    );
}

#[test]
fn the_operator_log_read_overlaps_the_slow_pod_list() {
    // The game pods' list is slow; the operator's log read needs only the
    // operator pod's name, so it must not wait for the pod list. With 200 ms
    // on every request the reads fall into two rounds: everything at once,
    // then the log read after the operator pods' list.
    let c = Cluster::start("healthy");
    c.sim.set_latency(Duration::from_millis(200));
    c.sim.inject(
        "/api/v1/namespaces/default/pods?",
        Fault::latency(Duration::from_millis(1500)),
    );
    c.sim.reset_wire();
    let run = c.spice(&["diagnose", "-o", "json"]);
    assert!(run.code <= 1, "{}", run.stderr);
    let exchanges = c.sim.exchanges();
    let pods = exchanges
        .iter()
        .find(|e| e.line.starts_with("GET /api/v1/namespaces/default/pods?"))
        .expect("a pod list");
    let log = exchanges
        .iter()
        .find(|e| e.line.contains("/log?"))
        .expect("an operator log read");
    let pods_answered = pods.answered.expect("pods answered");
    assert!(
        log.started < pods_answered,
        "the log read waited for the pod list:\n{}",
        timeline(&exchanges)
    );
    assert_eq!(waves(&exchanges), 2, "\n{}", timeline(&exchanges));
}

#[test]
fn a_connection_dropped_mid_run_is_a_gap_and_the_run_ends() {
    let c = Cluster::start("healthy");
    // The node list arrives last and takes the whole connection down with
    // it; the reads still on it fail, none hangs.
    c.sim.inject(
        "/api/v1/nodes",
        Fault {
            latency: Some(Duration::from_millis(300)),
            drop_connection: true,
            ..Fault::default()
        },
    );
    let run = c.spice(&["status", "-o", "json", "--request-timeout", "5s"]);
    assert!(run.elapsed < Duration::from_secs(15), "{:?}", run.elapsed);
    assert!(run.code <= 1, "{}\n{}", run.stdout, run.stderr);
    let j = run.json();
    let gaps = j["gaps"].as_array().expect("gaps");
    assert!(
        gaps.iter().any(|g| g["source"] == "nodes"),
        "no nodes gap: {gaps:?}"
    );
    // A read after the drop dials again: the next run is whole.
    c.sim.clear_faults();
    c.sim.reset_wire();
    let again = c.spice(&["status", "-o", "json"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(c.sim.connections(), ["h2"]);
}

#[test]
fn after_a_goaway_the_next_read_goes_on_a_new_connection() {
    let c = Cluster::start("healthy");
    // The KEDA pods' lists answer last (every other first-wave read is sent
    // by then) and with a GOAWAY; the operator's log read, which follows
    // them, must find a new connection, not fail on the closing one.
    c.sim.inject(
        "/api/v1/namespaces/keda/pods?",
        Fault {
            latency: Some(Duration::from_millis(300)),
            goaway: true,
            ..Fault::default()
        },
    );
    c.sim.reset_wire();
    let run = c.spice(&["diagnose", "-o", "json"]);
    assert!(run.code <= 1, "{}", run.stderr);
    // Only Loki, which this scenario does not run, is missing.
    let gaps = run.json()["gaps"].clone();
    let sources: Vec<&str> = gaps
        .as_array()
        .expect("gaps")
        .iter()
        .filter_map(|g| g["source"].as_str())
        .collect();
    assert_eq!(sources, ["loki"], "{gaps}");
    let exchanges = c.sim.exchanges();
    assert!(
        exchanges.iter().any(|e| e.line.contains("/log?")),
        "{}",
        timeline(&exchanges)
    );
    assert_eq!(c.sim.connections(), ["h2", "h2"]);
}

#[test]
fn tls_settings_of_the_kubeconfig_still_hold() {
    let c = Cluster::start("healthy");
    let write = |name: &str, cluster: &str| {
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: sim\n  cluster:\n    server: {url}\n{cluster}\
             users:\n- name: alice\n  user:\n    token: {token}\n\
             contexts:\n- name: sim\n  context:\n    cluster: sim\n    user: alice\n    namespace: default\n\
             current-context: sim\n",
            url = c.sim.url(),
            token = c.sim.token(),
        );
        let path = c.dir.path().join(name);
        std::fs::write(&path, text).expect("write kubeconfig");
        path.to_str().expect("utf-8 path").to_string()
    };
    let ca = format!(
        "    certificate-authority-data: {}\n",
        crate::support::sim::base64(c.sim.ca_pem().as_bytes())
    );
    let run = |kubeconfig: &str| {
        crate::support::spice::run_bin(
            crate::support::spice::BIN,
            &["status", "-o", "json", "--kubeconfig", kubeconfig],
            &[],
            c.dir.path(),
        )
    };
    // insecure-skip-tls-verify: no CA, and the server is still reached.
    let insecure = run(&write("insecure", "    insecure-skip-tls-verify: true\n"));
    assert_eq!(insecure.code, 0, "{}", insecure.stderr);
    // tls-server-name: the certificate is checked against that name.
    let named = run(&write(
        "named",
        &format!("{ca}    tls-server-name: localhost\n"),
    ));
    assert_eq!(named.code, 0, "{}", named.stderr);
    let wrong = run(&write(
        "wrong",
        &format!("{ca}    tls-server-name: api.example.invalid\n"),
    ));
    assert_eq!(wrong.code, 2, "{}\n{}", wrong.stdout, wrong.stderr);
    assert!(
        wrong.stderr.to_lowercase().contains("certificate"),
        "{}",
        wrong.stderr
    );
    // No CA at all: the simulator's certificate is not trusted.
    let untrusted = run(&write("untrusted", ""));
    assert_eq!(untrusted.code, 2, "{}", untrusted.stderr);
    // proxy-url: this build has no proxy support and says so, as before.
    let proxied = run(&write(
        "proxied",
        &format!("{ca}    proxy-url: http://127.0.0.1:9\n"),
    ));
    assert_eq!(proxied.code, 2, "{}", proxied.stderr);
    assert!(proxied.stderr.contains("proxy"), "{}", proxied.stderr);
    assert!(
        proxied.stderr.trim().lines().count() <= 2,
        "{}",
        proxied.stderr
    );
}

/// The wave counter itself, on made-up timings.
#[test]
fn waves_count_sequential_rounds() {
    use std::time::Instant;
    let t0 = Instant::now();
    let at = |ms| t0 + Duration::from_millis(ms);
    let ex = |start, end| Exchange {
        line: String::new(),
        started: at(start),
        answered: Some(at(end)),
        encoding: None,
    };
    assert_eq!(waves(&[]), 0);
    assert_eq!(waves(&[ex(0, 50), ex(1, 60), ex(2, 55)]), 1);
    assert_eq!(waves(&[ex(0, 50), ex(1, 60), ex(55, 100)]), 2);
    assert_eq!(waves(&[ex(0, 50), ex(51, 90), ex(95, 120)]), 3);
}

#[test]
fn a_watch_refreshes_an_expiring_exec_token_on_the_shared_connection() {
    let c = Cluster::without_prometheus("healthy");
    let runs = c.dir.path().join("plugin-runs");
    // The token expires in 2 s: the run's one credential runs the plugin
    // again (a quarter of its life early), not on every request.
    let script = format!(
        "echo run >> '{runs}'\n\
         exp=$(date -u -d '+2 seconds' +%Y-%m-%dT%H:%M:%SZ)\n\
         echo '{{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{{\"token\":\"{token}\",\"expirationTimestamp\":\"'$exp'\"}}}}'",
        runs = runs.display(),
        token = c.sim.token(),
    );
    let kubeconfig = crate::edges::exec_kubeconfig(&c, &script);
    c.sim.reset_wire();
    let run = crate::support::spice::run_bin(
        crate::support::spice::BIN,
        &[
            "watch",
            "--until",
            "idle",
            "--timeout",
            "4s",
            "--kubeconfig",
            kubeconfig.to_str().expect("utf-8"),
        ],
        &[],
        c.dir.path(),
    );
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("running 3"), "{}", run.stdout);
    let ran = std::fs::read_to_string(&runs)
        .expect("plugin ran")
        .lines()
        .count();
    // Once before the run, again each time the token neared its expiry.
    assert!((2..=8).contains(&ran), "the plugin ran {ran} times");
    assert_eq!(c.sim.connections(), ["h2"]);
}

/// A kubeconfig like the cluster's that reaches the simulator through `proxy`.
fn through(c: &Cluster, proxy: &crate::support::delay::DelayProxy, name: &str) -> String {
    let text = std::fs::read_to_string(&c.kubeconfig).expect("kubeconfig");
    let path = c.dir.path().join(name);
    let text = text.replace(&c.sim.addr().to_string(), &proxy.addr.to_string());
    std::fs::write(&path, text).expect("write kubeconfig");
    path.to_str().expect("utf-8").to_string()
}

/// The fastest of `n` runs of `status -o json` with `kubeconfig`.
fn fastest_status(c: &Cluster, kubeconfig: &str, n: usize) -> Duration {
    (0..n)
        .map(|_| {
            let run = crate::support::spice::run_bin(
                crate::support::spice::BIN,
                &["status", "-o", "json", "--kubeconfig", kubeconfig],
                &[],
                c.dir.path(),
            );
            assert_eq!(run.code, 0, "{}", run.stderr);
            run.elapsed
        })
        .min()
        .expect("at least one run")
}

#[test]
fn answers_over_64_kib_come_in_one_round_of_reads_through_a_byte_delaying_proxy() {
    use crate::support::delay::DelayProxy;
    // 300 pods: the answers of one run total well over the 65,535 bytes
    // HTTP/2 allows before a WINDOW_UPDATE unless the client says more.
    let c = Cluster::with(Scenario::healthy_scaled(300, 3), false);
    c.sim.reset_wire();
    let direct = fastest_status(&c, c.kubeconfig.to_str().expect("utf-8"), 1);
    let answered = c.sim.bytes_out();
    assert!(answered > 100_000, "{answered} bytes");
    let direct = direct.min(fastest_status(&c, c.kubeconfig.to_str().expect("utf-8"), 1));

    let rtt = Duration::from_millis(400);
    let proxy = DelayProxy::start(c.sim.addr(), rtt);
    let delayed_kc = through(&c, &proxy, "delayed.yaml");
    // CPU contention only ever adds time, so the fastest run is the figure:
    // run until one lands under 3.6 round trips, at most five times (one on
    // a quiet machine). A window that waits for WINDOW_UPDATE adds a whole
    // round trip to every run, so it never gets there.
    let mut delayed = Duration::MAX;
    let mut rounds = f64::MAX;
    for _ in 0..5 {
        delayed = delayed.min(fastest_status(&c, &delayed_kc, 1));
        rounds = (delayed.as_secs_f64() - direct.as_secs_f64()) / rtt.as_secs_f64();
        if rounds < 3.6 {
            break;
        }
    }
    eprintln!(
        "status over HTTP/2, RTT {rtt:?}: {rounds:.2} round trips ({delayed:?} against {direct:?} direct, {answered} bytes answered)"
    );
    // TCP, TLS 1.3, then one round of reads: 3. A window that makes the
    // server wait for WINDOW_UPDATE costs a fourth (3.9 measured before the
    // fix). The lower edge is loose: on a loaded machine the direct run is
    // slowed more than the delayed one (2.25 seen with six builds running);
    // `cargo bench --bench rtt` gives the figure on a quiet machine.
    assert!((2.0..3.6).contains(&rounds), "{rounds:.2} round trips");
    assert_eq!(
        c.sim.connections().iter().filter(|p| *p == "h2").count(),
        c.sim.connections().len()
    );
}

#[test]
fn five_thousand_nodes_in_small_data_frames_are_read_whole_every_time() {
    // An HTTP/2 front that relays upstream bytes as they come (nginx with
    // `proxy_buffering off`) sends a large list as many small DATA frames;
    // h2 allows a connection frame overhead of half its receive window, so
    // a 64 KiB window made it end the connection (ENHANCE_YOUR_CALM).
    let c = Cluster::with(Scenario::healthy_scaled(20, 5_000), false);
    // The reference: the same cluster in frames as large as h2 makes them
    // (the scaled scenario's generated node names repeat one of the
    // scenario's own, so there are a few less than 5,000 distinct nodes).
    let whole = c.spice(&["status", "-o", "json"]);
    assert!(whole.code <= 1, "{}", whole.stderr);
    let nodes = whole.json()["nodes"].clone();
    assert!(
        nodes["total"].as_u64().is_some_and(|n| n > 4_990),
        "{nodes}"
    );
    c.sim.set_small_frames(64);
    for attempt in 1..=5 {
        let run = c.spice(&["status", "-o", "json"]);
        assert!(run.code <= 1, "run {attempt}: {}", run.stderr);
        let j = run.json();
        assert_eq!(j["nodes"], nodes, "run {attempt}: {}", run.stderr);
        assert_eq!(j["pods"]["total"], 20, "run {attempt}: {}", run.stderr);
    }
    assert!(
        c.sim.connections().iter().all(|p| p == "h2"),
        "{:?}",
        c.sim.connections()
    );
}

/// The entries `kind` (`http1`, `operator`) of the plugin's kube cache
/// directory under the test's HOME.
fn remembered(c: &Cluster, kind: &str) -> Vec<std::path::PathBuf> {
    let dir = c.dir.path().join(".kube/cache/kubectl-spice").join(kind);
    match std::fs::read_dir(dir) {
        Ok(entries) => entries.filter_map(|e| Some(e.ok()?.path())).collect(),
        Err(_) => Vec::new(),
    }
}

/// How far apart the first and the last request reached the server.
fn spread(exchanges: &[Exchange]) -> Duration {
    let starts = exchanges.iter().map(|e| e.started);
    match (starts.clone().min(), starts.max()) {
        (Some(first), Some(last)) => last - first,
        _ => Duration::ZERO,
    }
}

/// `args` with `kubeconfig`, from the test's HOME.
fn run_with(c: &Cluster, kubeconfig: &str, args: &[&str]) -> crate::support::spice::Run {
    let mut all = args.to_vec();
    all.extend(["--kubeconfig", kubeconfig]);
    crate::support::spice::run_bin(crate::support::spice::BIN, &all, &[], c.dir.path())
}

#[test]
fn an_http1_only_server_is_remembered_and_the_next_run_reads_in_one_round() {
    use crate::support::delay::DelayProxy;
    let c = Cluster::without_prometheus("healthy");
    c.sim.set_http1_only(true);
    let rtt = Duration::from_millis(200);
    let proxy = DelayProxy::start(c.sim.addr(), rtt);
    let kc = through(&c, &proxy, "delayed.yaml");

    // Cold: the reads wait for the first handshake's ALPN answer, then the
    // first connection carries one read while the others open theirs (two
    // round trips later). The simulator answers at once, so how far apart
    // the reads reach it is the measure of rounds.
    c.sim.reset_wire();
    let cold = run_with(&c, &kc, &["status", "-o", "json"]);
    assert!(cold.code <= 1, "{}", cold.stderr);
    let exchanges = c.sim.exchanges();
    assert!(
        spread(&exchanges) > rtt * 3 / 2,
        "\n{}",
        timeline(&exchanges)
    );
    let entries = remembered(&c, "http1");
    assert_eq!(entries.len(), 1, "{entries:?}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&entries[0]).expect("entry").permissions();
        assert_eq!(mode.mode() & 0o777, 0o600);
    }

    // Warm: every connection opens at once, every read goes in one round.
    c.sim.reset_wire();
    let warm = run_with(&c, &kc, &["status", "-o", "json"]);
    assert!(warm.code <= 1, "{}", warm.stderr);
    let exchanges = c.sim.exchanges();
    // (Up to 80 ms of it measured on a loaded 2-core machine: the
    // handshakes' own CPU.)
    assert!(spread(&exchanges) < rtt, "\n{}", timeline(&exchanges));
    let connections = c.sim.connections();
    assert!(
        connections.len() > 1 && connections.iter().all(|p| p == "http/1.1"),
        "{connections:?}"
    );
    assert_eq!(stable(warm.json()), stable(cold.json()));
}

#[test]
fn a_server_remembered_as_http1_only_that_speaks_http2_now_gives_the_same_answer() {
    let c = Cluster::without_prometheus("healthy");
    let over_h2 = c.spice(&["status", "-o", "json"]);
    assert!(over_h2.code <= 1, "{}", over_h2.stderr);
    assert!(remembered(&c, "http1").is_empty());
    c.sim.set_http1_only(true);
    let over_h1 = c.spice(&["status", "-o", "json"]);
    assert!(over_h1.code <= 1, "{}", over_h1.stderr);
    assert_eq!(remembered(&c, "http1").len(), 1);

    // The server learns HTTP/2: the stale memory costs connections, not
    // the answer, and is forgotten.
    c.sim.set_http1_only(false);
    c.sim.reset_wire();
    let stale = c.spice(&["status", "-o", "json"]);
    assert!(stale.code <= 1, "{}", stale.stderr);
    assert_eq!(stable(stale.json()), stable(over_h2.json()));
    assert!(
        c.sim.connections().iter().all(|p| p == "h2"),
        "{:?}",
        c.sim.connections()
    );
    assert!(remembered(&c, "http1").is_empty());
    c.sim.reset_wire();
    let again = c.spice(&["status", "-o", "json"]);
    assert!(again.code <= 1, "{}", again.stderr);
    assert_eq!(c.sim.connections(), ["h2"]);
}

#[test]
fn a_warm_diagnose_reads_the_remembered_operator_log_beside_the_pod_list() {
    let c = Cluster::without_prometheus("healthy");
    // 100 ms on every request: the rounds of reads are plain to count.
    c.sim.set_latency(Duration::from_millis(100));
    let diagnose = || {
        c.sim.reset_wire();
        let run = c.spice(&["diagnose", "-o", "json"]);
        // 3: Prometheus, which this cluster does not run, is a gap.
        assert_eq!(run.code, 3, "{}", run.stderr);
        let exchanges = c.sim.exchanges();
        let logs: Vec<String> = exchanges
            .iter()
            .filter(|e| e.line.contains("/log?"))
            .map(|e| e.line.clone())
            .collect();
        (
            stable(run.json()),
            waves(&exchanges),
            logs,
            timeline(&exchanges),
        )
    };

    // Cold: the log read needs the operator pods' list first.
    let (cold, rounds, cold_logs, t) = diagnose();
    assert_eq!(rounds, 2, "\n{t}");
    assert_eq!(cold_logs.len(), 1, "\n{t}");
    let entries = remembered(&c, "operator");
    assert_eq!(entries.len(), 1, "{entries:?}");
    let entry = std::fs::read_to_string(&entries[0]).expect("entry");

    // Warm: the remembered pod's log is read beside the list.
    let (warm, rounds, logs, t) = diagnose();
    assert_eq!(rounds, 1, "\n{t}");
    assert_eq!(logs, cold_logs, "\n{t}");
    assert_eq!(warm, cold);

    // The operator restarted since (the remembered pod is gone): its early
    // read is dropped and the pod the list names is read after it.
    std::fs::write(&entries[0], "keda-operator-restarted-0 keda-operator\n").expect("write");
    let (after, rounds, logs, t) = diagnose();
    assert_eq!(rounds, 2, "\n{t}");
    assert_eq!(logs.len(), 2, "\n{t}");
    assert_eq!(after, cold);
    assert_eq!(
        std::fs::read_to_string(&entries[0]).expect("entry"),
        entry,
        "the pod the list named is remembered"
    );
}
