//! The real metrics pipeline (DESIGN "Testing", layer 4): nginx with
//! `stub_status`, the Debian `prometheus-nginx-exporter` (0.11) scraping it,
//! and a real Prometheus scraping the exporter every second with the static
//! label `service="spice-runner-nginx"`, as a ServiceMonitor would add it.
//! Synthetic sessions each send `GET /` to nginx once per second.
//!
//! Everything listens on 127.0.0.1 only; every process and thread stops when
//! the [`Pipeline`] is dropped.
//!
//! Note: nginx counts the exporter's own `GET /stub_status` requests too, so
//! with the 1 s scrape `rate(nginx_http_requests_total[1m])` settles at about
//! sessions + 1. And `rate(...[1m])` divides by the whole minute: it only
//! reaches the true rate once Prometheus holds ~1 minute of samples (75 % of
//! it after ~45 s).

use super::prom::{Options, Proc, Prom, binary, free_port, http_get};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// The `service` label Prometheus puts on the exporter's series.
pub const NGINX_SERVICE: &str = "spice-runner-nginx";
/// The query `wait_for_rate` polls.
pub const RATE_QUERY: &str =
    r#"sum(rate(nginx_http_requests_total{service="spice-runner-nginx"}[1m]))"#;

const START_TIMEOUT: Duration = Duration::from_secs(15);
const POLL: Duration = Duration::from_millis(100);

/// nginx + exporter + Prometheus + session threads.
pub struct Pipeline {
    stop: Arc<AtomicBool>,
    active: Arc<AtomicUsize>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    nginx_port: u16,
    exporter_port: u16,
    // Field order is drop order: Prometheus, then the exporter, then nginx,
    // then the temp dir.
    prom: Prom,
    exporter: Proc,
    nginx: Proc,
    dir: TempDir,
}

impl Pipeline {
    /// Starts the whole pipeline with `sessions` synthetic sessions. Blocks
    /// until Prometheus has scraped the exporter at least once (the rate needs
    /// more time: see [`Pipeline::wait_for_rate`]).
    pub fn start(sessions: usize) -> Pipeline {
        Self::start_scraping_every(sessions, "1s")
    }

    /// The same, with Prometheus scraping the exporter every `scrape`
    /// (e.g. `"5s"`): each scrape is one request to nginx, so a slower scrape
    /// adds less to the request rate that counts sessions.
    pub fn start_scraping_every(sessions: usize, scrape: &'static str) -> Pipeline {
        Self::start_with_jobs(sessions, scrape, "")
    }

    /// The same, with more scrape jobs for Prometheus (`extra_jobs`: YAML
    /// list items under `scrape_configs:`, e.g. the kube-state-metrics
    /// stand-in's `support::ksm::Ksm::scrape_job`).
    pub fn start_with_jobs(sessions: usize, scrape: &'static str, extra_jobs: &str) -> Pipeline {
        let nginx_bin = binary("nginx");
        let exporter_bin = binary("prometheus-nginx-exporter");
        let dir = tempfile::Builder::new()
            .prefix("spice-pipeline-")
            .tempdir()
            .expect("tempdir");

        // nginx
        let nginx_port = free_port();
        let conf = dir.path().join("nginx.conf");
        std::fs::write(&conf, nginx_conf(dir.path(), nginx_port)).expect("write nginx.conf");
        let error_log = dir.path().join("nginx-error.log");
        let mut cmd = Command::new(&nginx_bin);
        cmd.arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&conf)
            .arg("-e")
            .arg(&error_log)
            .current_dir(dir.path());
        let mut nginx = Proc::spawn("nginx", &mut cmd, dir.path());
        wait_until(&mut nginx, "nginx /stub_status", || {
            match http_get(nginx_port, "/stub_status") {
                Ok((200, body)) if body.starts_with("Active connections") => Ok(()),
                Ok((code, body)) => Err(format!("HTTP {code}: {body}")),
                Err(e) => Err(e.to_string()),
            }
        })
        .unwrap_or_else(|e| {
            panic!(
                "{e}\n--- nginx error log ---\n{}",
                super::prom::tail(&error_log, 20)
            )
        });

        // exporter (0.11 probes stub_status at startup, so only now)
        let exporter_port = free_port();
        let mut cmd = Command::new(&exporter_bin);
        cmd.arg("-nginx.scrape-uri")
            .arg(format!("http://127.0.0.1:{nginx_port}/stub_status"))
            .arg("-web.listen-address")
            .arg(format!("127.0.0.1:{exporter_port}"))
            .current_dir(dir.path());
        let mut exporter = Proc::spawn("nginx-exporter", &mut cmd, dir.path());
        wait_until(
            &mut exporter,
            "exporter /metrics with nginx_up 1",
            || match http_get(exporter_port, "/metrics") {
                Ok((200, body)) if body.lines().any(|l| l == "nginx_up 1") => Ok(()),
                Ok((code, _)) => Err(format!("HTTP {code} without `nginx_up 1`")),
                Err(e) => Err(e.to_string()),
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));

        // Prometheus, scraping the exporter every second
        let job = format!(
            "- job_name: nginx-exporter\n  scrape_interval: {scrape}\n  scrape_timeout: 1s\n  static_configs:\n    - targets: [\"127.0.0.1:{exporter_port}\"]\n      labels:\n        service: {NGINX_SERVICE}\n{extra_jobs}"
        );
        let prom = Prom::start_with(
            &super::prom::History::new(),
            Options {
                extra_scrape_config: Some(job),
                scrape_interval: Some(scrape),
                ..Options::default()
            },
        );

        let pipeline = Pipeline {
            stop: Arc::new(AtomicBool::new(false)),
            active: Arc::new(AtomicUsize::new(0)),
            threads: Mutex::new(Vec::new()),
            nginx_port,
            exporter_port,
            prom,
            exporter,
            nginx,
            dir,
        };
        pipeline.set_sessions(sessions);

        // First scrape: the series exists (with a value) in Prometheus.
        let deadline = Instant::now() + START_TIMEOUT;
        let probe = format!("nginx_up{{service=\"{NGINX_SERVICE}\"}}");
        while pipeline.prom.value(&probe) != Some(1.0) {
            assert!(
                Instant::now() < deadline,
                "prometheus did not scrape the exporter within {START_TIMEOUT:?}: targets {}\n{}",
                pipeline.prom.get("/api/v1/targets").1,
                pipeline.prom.output_tail()
            );
            std::thread::sleep(POLL);
        }
        pipeline
    }

    pub fn prometheus_url(&self) -> String {
        self.prom.url()
    }

    /// The Prometheus of the pipeline (for direct queries in tests).
    pub fn prom(&self) -> &Prom {
        &self.prom
    }

    /// `http://127.0.0.1:PORT` of nginx.
    pub fn nginx_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.nginx_port)
    }

    /// `http://127.0.0.1:PORT` of the exporter (`/metrics`).
    pub fn exporter_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.exporter_port)
    }

    /// Changes the number of active sessions (threads beyond `n` idle).
    pub fn set_sessions(&self, n: usize) {
        let mut threads = self.threads.lock().unwrap();
        self.active.store(n, Ordering::SeqCst);
        while threads.len() < n {
            let index = threads.len();
            let stop = Arc::clone(&self.stop);
            let active = Arc::clone(&self.active);
            let port = self.nginx_port;
            let handle = std::thread::Builder::new()
                .name(format!("session-{index}"))
                .spawn(move || session(index, port, &stop, &active))
                .expect("spawn session thread");
            threads.push(handle);
        }
    }

    /// Polls [`RATE_QUERY`] every 500 ms until it is ≥ `min` or `timeout`
    /// passes; returns the last value (0 while the vector is empty).
    pub fn wait_for_rate(&self, min: f64, timeout: Duration) -> f64 {
        let deadline = Instant::now() + timeout;
        loop {
            let rate = self.prom.value(RATE_QUERY).unwrap_or(0.0);
            if rate >= min || Instant::now() >= deadline {
                return rate;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// The temp dir holding the configs and process output.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let threads = std::mem::take(&mut *self.threads.lock().unwrap_or_else(|e| e.into_inner()));
        for t in threads {
            let _ = t.join();
        }
        // The processes are killed by the fields' own Drop, in field order.
    }
}

/// One session: `GET /` once per second (a fresh connection each time),
/// while its index is below the active count, until `stop`.
fn session(index: usize, port: u16, stop: &AtomicBool, active: &AtomicUsize) {
    // Spread the sessions over the second.
    let start = Instant::now() + Duration::from_millis((index as u64 * 137) % 1000);
    let mut next = start;
    while !stop.load(Ordering::SeqCst) {
        let now = Instant::now();
        if now < next {
            std::thread::sleep((next - now).min(POLL));
            continue;
        }
        if index < active.load(Ordering::SeqCst) {
            let _ = http_get(port, "/");
        }
        next += Duration::from_secs(1);
        // After a stall, skip missed ticks instead of bursting.
        while next + Duration::from_secs(1) < Instant::now() {
            next += Duration::from_secs(1);
        }
    }
}

/// Polls `check` until it succeeds or [`START_TIMEOUT`] passes, failing early
/// when the process exits.
fn wait_until(
    proc: &mut Proc,
    what: &str,
    mut check: impl FnMut() -> Result<(), String>,
) -> Result<(), String> {
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        proc.assert_running(&format!("while waiting for {what}"));
        match check() {
            Ok(()) => return Ok(()),
            Err(last) if Instant::now() >= deadline => {
                return Err(format!(
                    "{what}: not up after {START_TIMEOUT:?} (last: {last})\n{}",
                    proc.output_tail()
                ));
            }
            Err(_) => std::thread::sleep(POLL),
        }
    }
}

/// Whether this process runs as root (effective uid 0, from /proc).
fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|euid| euid == "0"))
        })
        .unwrap_or(false)
}

/// A self-contained nginx config: foreground, single process, every path
/// (pid, logs, temp dirs) inside `dir`, listening on 127.0.0.1:`port` only.
fn nginx_conf(dir: &Path, port: u16) -> String {
    let d = dir.display();
    // As root nginx would otherwise hand its temp dirs to `nobody`; as
    // non-root the `user` directive is ignored with a warning, so leave it out.
    let user = if running_as_root() {
        "user root;\n"
    } else {
        ""
    };
    format!(
        r#"{user}daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
lock_file {d}/nginx.lock;
error_log {d}/nginx-error.log warn;
events {{
    worker_connections 256;
}}
http {{
    access_log {d}/nginx-access.log;
    client_body_temp_path {d}/client_body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    default_type text/plain;
    server {{
        listen 127.0.0.1:{port};
        server_name localhost;
        location = /stub_status {{
            stub_status;
        }}
        location / {{
            return 200 "ok\n";
        }}
    }}
}}
"#
    )
}
