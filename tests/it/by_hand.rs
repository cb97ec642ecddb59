//! A simulated cluster to try the plugin by hand, as a new user would:
//!
//! ```text
//! SPICE_BY_HAND_SCENARIO=closed-loop cargo test --test it by_hand -- --ignored --nocapture
//! ```
//!
//! prints a kubeconfig path, then serves until the given minutes are up
//! (`SPICE_BY_HAND_MINUTES`, default 10, at most 120) or Ctrl-C (SIGINT or
//! SIGTERM), which stops every process it started and removes its files. In
//! another terminal: `KUBECONFIG=<path> kubectl spice test single`, and
//! `kubectl spice watch` to see the scale-up.
//!
//! `closed-loop` is the lab `tests/it/loadtest.rs` runs `test` in: the
//! simulator with its controller (KEDA, the HPA, the scheduler, Karpenter),
//! nginx, the nginx exporter, a real Prometheus scraping it and a
//! kube-state-metrics stand-in, and a Loki whose heartbeats follow the
//! sessions. `diagnose` on it, idle, exits 0. Any other name serves that scenario's
//! objects and metric history, frozen (no controller, no Loki).

use crate::support::closed_loop::{self, ClosedLoop};
use crate::support::loki::{FakeLoki, LokiConfig};
use crate::support::pipeline::RATE_QUERY;
use crate::support::scenario::scenarios_dir;
use crate::support::sim::Timings;
use crate::support::spice::Cluster;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The name that serves the closed loop instead of a scenario.
const CLOSED_LOOP: &str = "closed-loop";

/// The closed loop's nginx rate with no session: the exporter's scrapes
/// (`closed_loop::TRIGGER` subtracts the same).
const SCRAPE_FLOOR: f64 = 0.25;

/// Heartbeats one session sends per second (the default
/// `targets.heartbeatPerSession`).
const HEARTBEATS_PER_SESSION: f64 = 0.2;

#[test]
#[ignore = "serves a scenario for minutes, for trying the plugin by hand"]
fn serve_a_scenario_by_hand() {
    let name = std::env::var("SPICE_BY_HAND_SCENARIO").unwrap_or_else(|_| "healthy".into());
    let minutes: u64 = std::env::var("SPICE_BY_HAND_MINUTES")
        .ok()
        .and_then(|m| m.parse().ok())
        .unwrap_or(10)
        .min(120);
    if let Err(why) = scenario_name(&name) {
        panic!("{why}");
    }
    // Before anything is started: a Ctrl-C from here on ends the loop below,
    // and every process and file is dropped on the way out.
    let stop = stop_on_signal();
    let until = Instant::now() + Duration::from_secs(minutes * 60);
    if name == CLOSED_LOOP {
        let lab = ClosedLoop::start_now(
            closed_loop::scenario(false),
            0,
            Some(Timings::default()),
            true,
        );
        let loki = FakeLoki::serve(&lab.c, LokiConfig::heartbeats(0.0, 0.0));
        let kubeconfig = Served::new(&name, &lab.c.kubeconfig);
        println!(
            "closed loop served for {minutes} min (simulator, controller, nginx, exporter, Prometheus, kube-state-metrics, Loki); KUBECONFIG={}",
            kubeconfig.0.display()
        );
        // `test` asks Prometheus how busy the game is first: rate() needs
        // two scrapes; `diagnose` needs kube-state-metrics scraped and three
        // nginx samples to measure the scrape spacing. Ctrl-C still stops
        // everything while it waits, and the wait ends with the minutes.
        let ready_by = (Instant::now() + Duration::from_secs(30)).min(until);
        let mut missing = closed_loop::ready(&lab);
        while missing.is_err() && Instant::now() < ready_by && !stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(100));
            missing = closed_loop::ready(&lab);
        }
        if stop.load(Ordering::SeqCst) {
            return;
        }
        match missing {
            Ok(()) => println!(
                "ready: KUBECONFIG={} kubectl spice test single   (and kubectl spice watch in another terminal); Ctrl-C stops it",
                kubeconfig.0.display()
            ),
            Err(why) => println!(
                "not ready after 30 s ({why}); serving anyway: KUBECONFIG={}; Ctrl-C stops it",
                kubeconfig.0.display()
            ),
        }
        let mut next = Instant::now();
        let mut said: Option<String> = None;
        while Instant::now() < until && !stop.load(Ordering::SeqCst) {
            if Instant::now() >= next {
                // Loki's heartbeats follow the sessions nginx sees. A failed
                // read is said once and leaves Loki as it was.
                match lab.pipeline.prom().try_value(RATE_QUERY) {
                    Ok(rate) => {
                        let sessions = (rate.unwrap_or(0.0) - SCRAPE_FLOOR).max(0.0);
                        loki.set_config(LokiConfig::heartbeats(
                            (sessions * HEARTBEATS_PER_SESSION * 300.0).round(),
                            sessions.round(),
                        ));
                        said = None;
                    }
                    Err(why) if said.as_ref() != Some(&why) => {
                        eprintln!("Loki's heartbeats stay as they were: {why}");
                        said = Some(why);
                    }
                    Err(_) => {}
                }
                next = Instant::now() + Duration::from_secs(2);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        return;
    }
    let cluster = Cluster::start(&name);
    let kubeconfig = Served::new(&name, &cluster.kubeconfig);
    println!(
        "scenario {name} served for {minutes} min; KUBECONFIG={}",
        kubeconfig.0.display()
    );
    while Instant::now() < until && !stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The kubeconfig copy a server hands out, removed when it stops. One per
/// server (name and pid in the file name): two servers never overwrite each
/// other's.
struct Served(PathBuf);

impl Served {
    fn new(name: &str, kubeconfig: &Path) -> Served {
        let path = std::env::temp_dir().join(format!(
            "spice-by-hand-{name}-{}.kubeconfig",
            std::process::id()
        ));
        std::fs::copy(kubeconfig, &path).expect("copy the kubeconfig");
        Served(path)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A flag raised by SIGINT or SIGTERM, which no longer end the process:
/// the server returns and drops what it started.
fn stop_on_signal() -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let (ready, listening) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime for the signals");
        rt.block_on(async move {
            use tokio::signal::unix::{SignalKind, signal};
            let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
            let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
            let _ = ready.send(());
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            flag.store(true, Ordering::SeqCst);
        });
    });
    listening
        .recv_timeout(Duration::from_secs(5))
        .expect("the signal handlers are installed");
    stop
}

/// `name` when it is a scenario (a folder under tests/scenarios/ with
/// objects.yaml), else one line saying which names are: `broken-chain` is
/// a snapshot example (`kubectl spice diagnose --example broken-chain`),
/// not a scenario. The name becomes a path under tests/scenarios/, so it
/// is one path component: no `/` or `\\`, no `..`, not starting with a
/// dot; a dot inside is a version (`keda-2.20.2`).
fn scenario_name(name: &str) -> Result<(), String> {
    let dir = scenarios_dir();
    if name == CLOSED_LOOP {
        return Ok(());
    }
    if !name.is_empty()
        && !name.contains(['/', '\\'])
        && !name.contains("..")
        && !name.starts_with('.')
        && dir.join(name).join("objects.yaml").is_file()
    {
        return Ok(());
    }
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| e.path().join("objects.yaml").is_file())
                .filter_map(|e| e.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    names.push(CLOSED_LOOP.into());
    names.sort();
    let example = if dir
        .join("examples")
        .join(format!("{name}.snapshot.json"))
        .is_file()
    {
        format!(" ({name} is a snapshot example: kubectl spice diagnose --example {name})")
    } else {
        String::new()
    };
    Err(format!(
        "SPICE_BY_HAND_SCENARIO={name:?} is no scenario{example}; the scenarios: {}",
        names.join(", ")
    ))
}

#[test]
fn a_by_hand_scenario_name_is_checked_and_an_example_name_is_pointed_to_its_command() {
    assert_eq!(scenario_name("healthy"), Ok(()));
    assert_eq!(scenario_name(CLOSED_LOOP), Ok(()));
    let why = scenario_name("broken-chain").expect_err("an example, not a scenario");
    assert!(
        why.contains("kubectl spice diagnose --example broken-chain"),
        "{why}"
    );
    assert!(why.contains("pending-no-node"), "{why}");
    assert!(why.contains(CLOSED_LOOP), "{why}");
    assert!(scenario_name("../healthy").is_err());
    assert!(scenario_name("").is_err());
}

/// Scenario names carry KEDA versions (`keda-2.20.2`): a dot inside a name
/// is fine, only what could leave tests/scenarios/ is refused.
#[test]
fn a_by_hand_scenario_name_may_hold_a_version_but_never_leave_the_scenarios() {
    assert_eq!(scenario_name("keda-2.20.2"), Ok(()));
    assert_eq!(scenario_name("keda-2.20.0-hpa-unhealthy"), Ok(()));
    for bad in [
        "..",
        ".",
        "../healthy",
        "healthy/..",
        "keda-2.20.2/",
        "a\\b",
        ".hidden",
    ] {
        assert!(scenario_name(bad).is_err(), "{bad}");
    }
}

/// The processes whose parent is `pid`, with their command names.
fn children_of(pid: u32) -> Vec<(u32, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(child) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // `pid (comm) state ppid ...`: comm may hold spaces, so split after `)`.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(pid) {
            out.push((child, comm(child).unwrap_or_default()));
        }
    }
    out
}

fn comm(pid: u32) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .ok()
        .map(|c| c.trim().to_string())
}

/// The by-hand server of a test, killed if the test fails before it stops
/// it: a failed assertion never leaves the lab serving for its minutes.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

#[test]
fn a_closed_loop_served_by_hand_stops_its_children_and_removes_its_files_on_sigint() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut server = KillOnDrop(
        Command::new(std::env::current_exe().expect("the test binary"))
            .args([
                "by_hand::serve_a_scenario_by_hand",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads",
                "1",
            ])
            .env("SPICE_BY_HAND_SCENARIO", CLOSED_LOOP)
            .env("SPICE_BY_HAND_MINUTES", "2")
            .env("TMPDIR", tmp.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the by-hand server"),
    );
    let stdout = server.0.stdout.take().expect("stdout");
    let (lines, seen) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let kubeconfig = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match seen.recv_timeout(left) {
            Ok(line) if line.contains("KUBECONFIG=") => {
                break PathBuf::from(line.rsplit_once("KUBECONFIG=").expect("a path").1);
            }
            Ok(_) => {}
            Err(e) => {
                let _ = server.0.kill();
                let _ = server.0.wait();
                panic!("no KUBECONFIG line within 30 s: {e}");
            }
        }
    };
    assert!(
        kubeconfig.starts_with(tmp.path()),
        "{}",
        kubeconfig.display()
    );
    assert!(kubeconfig.is_file(), "{}", kubeconfig.display());
    let children = children_of(server.0.id());
    let names: Vec<&str> = children.iter().map(|(_, c)| c.as_str()).collect();
    assert!(
        names.contains(&"nginx") && names.contains(&"prometheus") && names.len() >= 3,
        "nginx, the exporter and Prometheus: {children:?}"
    );
    let sent = Command::new("kill")
        .args(["-INT", &server.0.id().to_string()])
        .status()
        .expect("kill -INT");
    assert!(sent.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = server.0.try_wait().expect("try_wait") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = server.0.kill();
            let _ = server.0.wait();
            panic!("the server did not stop within 15 s of SIGINT");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
    let alive: Vec<&(u32, String)> = children
        .iter()
        .filter(|(pid, name)| comm(*pid).as_deref() == Some(name.as_str()))
        .collect();
    assert!(alive.is_empty(), "still running after SIGINT: {alive:?}");
    let left: Vec<PathBuf> = std::fs::read_dir(tmp.path())
        .expect("read the temp dir")
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}
