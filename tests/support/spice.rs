//! Running the real `kubectl-spice` binary against a simulated cluster with a
//! real, backfilled Prometheus behind the simulator's service proxy.

use super::prom::{History, Prom};
use super::scenario::Scenario;
use super::sim::Sim;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_kubectl-spice");

/// What one run of the binary produced.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

/// A simulated cluster (and, unless asked otherwise, its Prometheus).
pub struct Cluster {
    pub sim: Sim,
    pub prom: Option<Prom>,
    pub dir: tempfile::TempDir,
    pub kubeconfig: PathBuf,
}

impl Cluster {
    /// Loads `tests/scenarios/<name>`, starts the simulator and a Prometheus
    /// holding the scenario's metric history, wired through the service proxy.
    pub fn start(name: &str) -> Cluster {
        Self::with(Scenario::load(name), true)
    }

    /// The same, without any Prometheus behind the proxy (the "unreachable" case).
    pub fn without_prometheus(name: &str) -> Cluster {
        Self::with(Scenario::load(name), false)
    }

    pub fn with(scenario: Scenario, with_prometheus: bool) -> Cluster {
        let metrics = with_prometheus.then(|| scenario.clone());
        Self::with_metrics(scenario, metrics.as_ref())
    }

    /// `scenario` served by the simulator, with a Prometheus holding the
    /// history of `metrics` (a smaller cluster, for big ones whose every pod's
    /// series would only slow the backfill down), or none.
    pub fn with_metrics(scenario: Scenario, metrics: Option<&Scenario>) -> Cluster {
        let prom = metrics.map(|m| Prom::start(&History::from_scenario(m)));
        Self::serve(scenario, prom)
    }

    /// The scenario's objects with a metric history of the test's own (one
    /// that changes over time: a scale-up minutes ago).
    pub fn with_history(scenario: Scenario, history: &History) -> Cluster {
        Self::serve(scenario, Some(Prom::start(history)))
    }

    fn serve(scenario: Scenario, prom: Option<Prom>) -> Cluster {
        let sim = Sim::start(scenario);
        if let Some(p) = &prom {
            sim.set_proxy_upstream("observability", "prometheus", "9090", &p.url());
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let kubeconfig = sim.write_kubeconfig(dir.path());
        Cluster {
            sim,
            prom,
            dir,
            kubeconfig,
        }
    }

    /// A kubeconfig like the simulator's that points at a closed loopback
    /// port (9, discard): every request is refused.
    pub fn dead_kubeconfig(&self) -> PathBuf {
        let text = std::fs::read_to_string(&self.kubeconfig).expect("kubeconfig");
        let port = self.sim.url().rsplit(':').next().expect("port").to_string();
        let dead = self.dir.path().join("dead.yaml");
        std::fs::write(
            &dead,
            text.replace(&format!("127.0.0.1:{port}"), "127.0.0.1:9"),
        )
        .expect("write");
        dead
    }

    /// Runs `kubectl-spice ARGS --kubeconfig <sim>` with a clean environment.
    pub fn spice(&self, args: &[&str]) -> Run {
        self.spice_env(args, &[])
    }

    pub fn spice_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut all: Vec<&str> = args.to_vec();
        let kc = self.kubeconfig.to_str().expect("utf-8 path");
        all.extend(["--kubeconfig", kc]);
        run_bin(BIN, &all, env, self.dir.path())
    }
}

/// Runs a program with a minimal, controlled environment (no inherited
/// KUBECONFIG or SPICE_*), HOME in `home`, stdout and stderr captured (so
/// stdout is not a terminal), bounded to 60 s.
pub fn run_bin(program: &str, args: &[&str], env: &[(&str, &str)], home: &Path) -> Run {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let start = Instant::now();
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    // A watchdog kills a hung child; reading its pipes to the end in this
    // thread means a large output can never dead-lock the test.
    let pid = child.id();
    let (done, wait) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if wait.recv_timeout(Duration::from_secs(60)).is_err() {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            return true;
        }
        false
    });
    let out = child.wait_with_output().expect("output");
    let _ = done.send(());
    if watchdog.join().unwrap_or(false) {
        panic!("{program} {args:?} did not finish within 60 s");
    }
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed: start.elapsed(),
    }
}
