//! The real-Prometheus harness (DESIGN "Testing", layer 3).
//!
//! A [`History`] is a set of series, each a constant gauge or a linearly
//! growing counter. [`Prom::start`] writes it as OpenMetrics text (samples
//! every 15 s from now-30m to now+30m), turns it into TSDB blocks with
//! `promtool tsdb create-blocks-from openmetrics`, and starts the Debian
//! `prometheus` binary on a free loopback port on that data directory, so
//! every instant query during the test answers the same, from real PromQL.
//!
//! Caveat (facts file §6.4): a Prometheus that also *scrapes* must not be
//! given a history, because its head only accepts samples newer than the
//! newest backfilled block (now+30m): scraped samples would be dropped. The
//! pipeline harness therefore starts it with an empty history.

use super::scenario::Scenario;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tempfile::TempDir;

/// How far before and after "now" the backfilled samples reach, in seconds.
const HISTORY_SPAN: i64 = 30 * 60;
/// Distance between backfilled samples, in seconds (a typical scrape interval).
const HISTORY_STEP: i64 = 15;
/// How long Prometheus may take to answer `/-/ready`.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// Polling interval for every readiness wait.
const POLL: Duration = Duration::from_millis(100);

// ---------------------------------------------------------------------------
// Metric history
// ---------------------------------------------------------------------------

/// A metric history to backfill: constant gauges and constant-rate counters.
#[derive(Debug, Clone, Default)]
pub struct History {
    series: Vec<Series>,
    /// Seconds between samples (the scrape interval); `None`: 15 s.
    step: Option<i64>,
}

#[derive(Debug, Clone)]
struct Series {
    name: String,
    labels: BTreeMap<String, String>,
    kind: Kind,
}

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    /// Constant value.
    Gauge(f64),
    /// Starts at 0 at now-30m and grows by this much per second.
    Counter(f64),
    /// A gauge that changes: from each offset (seconds from now, negative in
    /// the past) on, the value given, or no sample at all (`None`: the series
    /// does not exist, as before a pod was created). Before the first
    /// offset, the first value.
    Steps(Vec<(i64, Option<f64>)>),
    /// A counter whose rate per second changes at each offset; it starts at
    /// 0 at now-30m at the first rate.
    CounterSteps(Vec<(i64, f64)>),
}

impl Kind {
    /// The sample at `offset` seconds from now (`None`: no sample).
    fn value(&self, offset: i64) -> Option<f64> {
        match self {
            Kind::Gauge(v) => Some(*v),
            Kind::Counter(r) => Some(r * (offset + HISTORY_SPAN) as f64),
            Kind::Steps(steps) => steps
                .iter()
                .rev()
                .find(|(from, _)| *from <= offset)
                .or(steps.first())
                .and_then(|(_, v)| *v),
            Kind::CounterSteps(steps) => {
                let mut total = 0.0;
                let mut from = -HISTORY_SPAN;
                let mut rate = steps.first().map_or(0.0, |s| s.1);
                for &(at, r) in steps {
                    if at >= offset {
                        break;
                    }
                    if at > from {
                        total += rate * (at - from) as f64;
                        from = at;
                    }
                    rate = r;
                }
                Some(total + rate * (offset - from) as f64)
            }
        }
    }
}

impl History {
    pub fn new() -> History {
        History::default()
    }

    /// A series with a constant value. Adding the same name and labels again
    /// replaces the earlier series.
    pub fn gauge(&mut self, name: &str, labels: &[(&str, &str)], value: f64) -> &mut Self {
        self.push(name, labels, Kind::Gauge(value))
    }

    /// A counter growing by `per_second` every second (so `rate(name[1m])`
    /// answers `per_second`). Adding the same name and labels again replaces
    /// the earlier series.
    pub fn counter(&mut self, name: &str, labels: &[(&str, &str)], per_second: f64) -> &mut Self {
        self.push(name, labels, Kind::Counter(per_second))
    }

    /// A gauge whose value changes at the given offsets (see `Kind::Steps`).
    pub fn gauge_steps(
        &mut self,
        name: &str,
        labels: &[(&str, &str)],
        steps: &[(i64, Option<f64>)],
    ) -> &mut Self {
        self.push(name, labels, Kind::Steps(steps.to_vec()))
    }

    /// A counter whose rate changes at the given offsets (see `Kind::CounterSteps`).
    pub fn counter_steps(
        &mut self,
        name: &str,
        labels: &[(&str, &str)],
        steps: &[(i64, f64)],
    ) -> &mut Self {
        self.push(name, labels, Kind::CounterSteps(steps.to_vec()))
    }

    /// The nginx request counter of a scenario (`metrics.sessions`) with
    /// sessions changing at the given offsets, replacing the constant one.
    pub fn sessions_steps(&mut self, s: &Scenario, steps: &[(i64, f64)]) -> &mut Self {
        let m = &s.meta.metrics;
        self.counter_steps(
            "nginx_http_requests_total",
            &[
                ("service", &m.nginx_service),
                ("job", &m.nginx_service),
                ("instance", "10.244.1.17:9113"),
            ],
            steps,
        )
    }

    /// A pod's `kube_pod_status_phase` series with its phase changing at the
    /// given offsets (`None`: the pod does not exist yet), replacing the
    /// constant ones derived from the objects.
    pub fn pod_phases(&mut self, pod: &Value, steps: &[(i64, Option<&str>)]) -> &mut Self {
        let label = |path: &[&str]| str_at(pod, path).unwrap_or_default().to_string();
        let ns = str_at(pod, &["metadata", "namespace"]).unwrap_or("default");
        let (name, uid) = (label(&["metadata", "name"]), label(&["metadata", "uid"]));
        for p in ["Pending", "Succeeded", "Failed", "Unknown", "Running"] {
            let values: Vec<(i64, Option<f64>)> = steps
                .iter()
                .map(|(at, phase)| (*at, phase.map(|ph| bool_f64(ph == p))))
                .collect();
            self.gauge_steps(
                "kube_pod_status_phase",
                &[
                    ("namespace", ns),
                    ("pod", &name),
                    ("uid", &uid),
                    ("phase", p),
                    ("job", "kube-state-metrics"),
                    ("instance", "10.244.0.5:8080"),
                ],
                &values,
            );
        }
        self
    }

    fn push(&mut self, name: &str, labels: &[(&str, &str)], kind: Kind) -> &mut Self {
        assert!(valid_metric_name(name), "invalid metric name {name:?}");
        let labels: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| {
                assert!(valid_label_name(k), "invalid label name {k:?} on {name}");
                (k.to_string(), v.to_string())
            })
            .collect();
        self.series
            .retain(|s| !(s.name == name && s.labels == labels));
        self.series.push(Series {
            name: name.to_string(),
            labels,
            kind,
        });
        self
    }

    /// Samples every `seconds` instead of 15 s: a Prometheus that scrapes
    /// at its default 1 m (or the Prometheus Operator's 30 s).
    pub fn every(&mut self, seconds: i64) -> &mut Self {
        assert!(seconds > 0, "a scrape interval is positive");
        self.step = Some(seconds);
        self
    }

    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// Number of series.
    pub fn len(&self) -> usize {
        self.series.len()
    }

    /// The metric history a scenario's Prometheus holds: the nginx request
    /// counter (when `metrics.sessions` is set), kube-state-metrics series
    /// derived from the objects (when `metrics.kubeStateMetrics`, the default),
    /// and every `metrics.series` entry verbatim.
    pub fn from_scenario(s: &Scenario) -> History {
        let mut h = History::new();
        let m = &s.meta.metrics;
        if let Some(seconds) = m.scrape_interval_seconds {
            h.every(seconds);
        }
        if let Some(rate) = m.sessions {
            // What a ServiceMonitor scrape of the exporter adds: `job` is the
            // Service name, `instance` the endpoint address.
            h.counter(
                "nginx_http_requests_total",
                &[
                    ("service", &m.nginx_service),
                    ("job", &m.nginx_service),
                    ("instance", "10.244.1.17:9113"),
                ],
                rate,
            );
        }
        if m.kube_state_metrics {
            h.add_kube_state_metrics(s);
        }
        for spec in &m.series {
            let labels: Vec<(&str, &str)> = spec
                .labels
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            match (spec.value, spec.rate) {
                (Some(v), None) => h.gauge(&spec.name, &labels, v),
                (None, Some(r)) => h.counter(&spec.name, &labels, r),
                _ => panic!(
                    "scenario {}: metrics.series entry {} needs exactly one of `value` (gauge) or `rate` (counter)",
                    s.name, spec.name
                ),
            };
        }
        h
    }

    /// kube-state-metrics semantics (facts file §4), with the labels a scrape
    /// of kube-state-metrics adds (`job`, `instance`).
    fn add_kube_state_metrics(&mut self, s: &Scenario) {
        const KSM: [(&str, &str); 2] = [
            ("job", "kube-state-metrics"),
            ("instance", "10.244.0.5:8080"),
        ];
        let with_ksm = |labels: &[(&str, String)]| -> Vec<(String, String)> {
            labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .chain(KSM.iter().map(|(k, v)| (k.to_string(), v.to_string())))
                .collect()
        };
        let add = |h: &mut History, name: &str, labels: Vec<(String, String)>, v: f64| {
            let refs: Vec<(&str, &str)> = labels
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            h.gauge(name, &refs, v);
        };

        for pod in s.of_kind("Pod") {
            let ns = str_at(pod, &["metadata", "namespace"])
                .unwrap_or("default")
                .to_string();
            let name = str_at(pod, &["metadata", "name"])
                .unwrap_or_default()
                .to_string();
            let uid = str_at(pod, &["metadata", "uid"])
                .unwrap_or_default()
                .to_string();
            // No phase: kube-state-metrics emits no phase series at all.
            if let Some(phase) = str_at(pod, &["status", "phase"]).filter(|p| !p.is_empty()) {
                for p in ["Pending", "Succeeded", "Failed", "Unknown", "Running"] {
                    let labels = with_ksm(&[
                        ("namespace", ns.clone()),
                        ("pod", name.clone()),
                        ("uid", uid.clone()),
                        ("phase", p.to_string()),
                    ]);
                    add(self, "kube_pod_status_phase", labels, bool_f64(phase == p));
                }
            }
            // ksm v2.x internal/store/pod.go `kube_pod_info`: one series a pod,
            // value 1, its node ("" before scheduling) and its controller
            // (`created_by_kind`/`created_by_name`, "<none>" without one).
            let controller = pod["metadata"]["ownerReferences"]
                .as_array()
                .and_then(|refs| {
                    refs.iter()
                        .find(|r| r["controller"].as_bool() == Some(true))
                });
            let by = |field: &str| {
                controller
                    .and_then(|r| r[field].as_str())
                    .unwrap_or("<none>")
                    .to_string()
            };
            let labels = with_ksm(&[
                ("namespace", ns.clone()),
                ("pod", name.clone()),
                ("uid", uid.clone()),
                (
                    "node",
                    str_at(pod, &["spec", "nodeName"])
                        .unwrap_or_default()
                        .to_string(),
                ),
                ("created_by_kind", by("kind")),
                ("created_by_name", by("name")),
                (
                    "host_ip",
                    str_at(pod, &["status", "hostIP"])
                        .unwrap_or_default()
                        .to_string(),
                ),
                (
                    "pod_ip",
                    str_at(pod, &["status", "podIP"])
                        .unwrap_or_default()
                        .to_string(),
                ),
                (
                    "priority_class",
                    str_at(pod, &["spec", "priorityClassName"])
                        .unwrap_or_default()
                        .to_string(),
                ),
                (
                    "host_network",
                    pod["spec"]["hostNetwork"]
                        .as_bool()
                        .unwrap_or(false)
                        .to_string(),
                ),
            ]);
            add(self, "kube_pod_info", labels, 1.0);
            // ksm internal/store/pod.go `kube_pod_deletion_timestamp`: only
            // while `metadata.deletionTimestamp` is set, its unix seconds.
            if let Some(deleting) = str_at(pod, &["metadata", "deletionTimestamp"]) {
                // Scenario times are `$NOW±n` until the simulator resolves
                // them; resolve this one the same way.
                let mut at = Value::String(deleting.to_string());
                super::sim::resolve_times(&mut at, SystemTime::now());
                let at = at
                    .as_str()
                    .and_then(|t| t.parse::<jiff::Timestamp>().ok())
                    .unwrap_or_else(|| panic!("pod {name}: bad deletionTimestamp {deleting}"));
                let labels = with_ksm(&[
                    ("namespace", ns.clone()),
                    ("pod", name.clone()),
                    ("uid", uid.clone()),
                ]);
                add(
                    self,
                    "kube_pod_deletion_timestamp",
                    labels,
                    at.as_second() as f64,
                );
            }
            let statuses = pod["status"]["containerStatuses"].as_array();
            for cs in statuses.into_iter().flatten() {
                let waiting = &cs["state"]["waiting"];
                if waiting.is_null() {
                    continue;
                }
                let labels = with_ksm(&[
                    ("namespace", ns.clone()),
                    ("pod", name.clone()),
                    ("uid", uid.clone()),
                    (
                        "container",
                        cs["name"].as_str().unwrap_or_default().to_string(),
                    ),
                    (
                        "reason",
                        waiting["reason"].as_str().unwrap_or_default().to_string(),
                    ),
                ]);
                add(
                    self,
                    "kube_pod_container_status_waiting_reason",
                    labels,
                    1.0,
                );
            }
        }

        for node in s.of_kind("Node") {
            let info = |k: &str| str_at(node, &["status", "nodeInfo", k]).unwrap_or_default();
            let internal_ip = node["status"]["addresses"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|a| a["type"] == "InternalIP")
                .and_then(|a| a["address"].as_str())
                .unwrap_or_default();
            let labels = with_ksm(&[
                (
                    "node",
                    str_at(node, &["metadata", "name"])
                        .unwrap_or_default()
                        .to_string(),
                ),
                ("kernel_version", info("kernelVersion").to_string()),
                ("os_image", info("osImage").to_string()),
                (
                    "container_runtime_version",
                    info("containerRuntimeVersion").to_string(),
                ),
                ("kubelet_version", info("kubeletVersion").to_string()),
                ("kubeproxy_version", "deprecated".to_string()),
                (
                    "provider_id",
                    str_at(node, &["spec", "providerID"])
                        .unwrap_or_default()
                        .to_string(),
                ),
                (
                    "pod_cidr",
                    str_at(node, &["spec", "podCIDR"])
                        .unwrap_or_default()
                        .to_string(),
                ),
                ("system_uuid", info("systemUUID").to_string()),
                ("internal_ip", internal_ip.to_string()),
            ]);
            add(self, "kube_node_info", labels, 1.0);
        }

        for d in s.of_kind("Deployment") {
            let labels = with_ksm(&[
                (
                    "namespace",
                    str_at(d, &["metadata", "namespace"])
                        .unwrap_or("default")
                        .to_string(),
                ),
                (
                    "deployment",
                    str_at(d, &["metadata", "name"])
                        .unwrap_or_default()
                        .to_string(),
                ),
            ]);
            let status = |k: &str| d["status"][k].as_f64().unwrap_or(0.0);
            // The API server defaults spec.replicas to 1.
            let spec = d["spec"]["replicas"].as_f64().unwrap_or(1.0);
            add(self, "kube_deployment_spec_replicas", labels.clone(), spec);
            add(
                self,
                "kube_deployment_status_replicas",
                labels.clone(),
                status("replicas"),
            );
            add(
                self,
                "kube_deployment_status_replicas_ready",
                labels.clone(),
                status("readyReplicas"),
            );
            add(
                self,
                "kube_deployment_status_replicas_available",
                labels.clone(),
                status("availableReplicas"),
            );
            add(
                self,
                "kube_deployment_status_replicas_unavailable",
                labels.clone(),
                status("unavailableReplicas"),
            );
            add(
                self,
                "kube_deployment_status_replicas_updated",
                labels,
                status("updatedReplicas"),
            );
        }
    }

    /// The OpenMetrics text `promtool tsdb create-blocks-from openmetrics`
    /// reads: one `# TYPE` line per metric family, each series' samples every
    /// 15 s (or the `every` interval) from `now_unix - 30m` to `now_unix + 30m` with timestamps in
    /// seconds, and the mandatory final `# EOF`.
    pub fn to_openmetrics(&self, now_unix: i64) -> String {
        // family name -> (type, series in insertion order)
        let mut families: BTreeMap<String, (&str, Vec<&Series>)> = BTreeMap::new();
        for s in &self.series {
            let (family, ty) = match s.kind {
                Kind::Gauge(_) | Kind::Steps(_) => (s.name.as_str(), "gauge"),
                Kind::Counter(_) | Kind::CounterSteps(_) => match s.name.strip_suffix("_total") {
                    Some(base) if !base.is_empty() => (base, "counter"),
                    _ => (s.name.as_str(), "unknown"),
                },
            };
            let entry = families
                .entry(family.to_string())
                .or_insert((ty, Vec::new()));
            assert_eq!(
                entry.0, ty,
                "metric family {family} used both as {} and as {ty} (series {})",
                entry.0, s.name
            );
            entry.1.push(s);
        }

        let start = now_unix - HISTORY_SPAN;
        let end = now_unix + HISTORY_SPAN;
        let step = self.step.unwrap_or(HISTORY_STEP);
        let mut out = String::new();
        for (family, (ty, series)) in &families {
            writeln!(out, "# TYPE {family} {ty}").unwrap();
            for s in series {
                let labels = format_labels(&s.labels);
                let mut t = start;
                while t <= end {
                    if let Some(v) = s.kind.value(t - now_unix) {
                        writeln!(out, "{}{labels} {} {t}", s.name, format_value(v)).unwrap();
                    }
                    t += step;
                }
            }
        }
        out.push_str("# EOF\n");
        out
    }

    /// A query that answers non-empty once the blocks are loaded.
    fn probe_query(&self) -> Option<String> {
        self.series.first().map(|s| {
            let mut q = format!("{}{{", s.name);
            for (i, (k, v)) in s.labels.iter().enumerate() {
                if i > 0 {
                    q.push(',');
                }
                write!(q, "{k}=\"{}\"", escape_label_value(v)).unwrap();
            }
            q.push('}');
            q
        })
    }
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |v, k| v.get(k))?.as_str()
}

fn bool_f64(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

fn valid_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn valid_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with("__")
}

fn escape_label_value(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn format_labels(labels: &BTreeMap<String, String>) -> String {
    if labels.is_empty() {
        return String::new();
    }
    let inner: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape_label_value(v)))
        .collect();
    format!("{{{}}}", inner.join(","))
}

fn format_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v}")
    }
}

// ---------------------------------------------------------------------------
// Processes, binaries, HTTP
// ---------------------------------------------------------------------------

/// Finds an installed binary on `PATH` (plus `/usr/sbin` and `/sbin`, where
/// Debian puts nginx and which a non-root `PATH` may lack); panics when it is
/// missing, since a missing dependency is a failure, never a silent skip.
pub fn binary(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "{name} not installed: run the README's test command (it installs prometheus prometheus-nginx-exporter nginx-light)"
            )
        })
}

/// A child process that is killed (and reaped) when dropped. Its stdout and
/// stderr go to `<dir>/<label>.out` and `<dir>/<label>.err`.
#[derive(Debug)]
pub struct Proc {
    pub label: String,
    child: Child,
    pub stdout: PathBuf,
    pub stderr: PathBuf,
}

impl Proc {
    pub fn spawn(label: &str, cmd: &mut Command, dir: &Path) -> Proc {
        let stdout = dir.join(format!("{label}.out"));
        let stderr = dir.join(format!("{label}.err"));
        let out = std::fs::File::create(&stdout).expect("create stdout file");
        let err = std::fs::File::create(&stderr).expect("create stderr file");
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {label} ({cmd:?}): {e}"));
        Proc {
            label: label.to_string(),
            child,
            stdout,
            stderr,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Panics, with the tail of its output, if the process has exited.
    pub fn assert_running(&mut self, what: &str) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!(
                "{} exited ({status}) {what}\n{}",
                self.label,
                self.output_tail()
            );
        }
    }

    /// The last lines of stderr and stdout, for failure messages.
    pub fn output_tail(&self) -> String {
        format!(
            "--- {} stderr (tail) ---\n{}\n--- {} stdout (tail) ---\n{}",
            self.label,
            tail(&self.stderr, 40),
            self.label,
            tail(&self.stdout, 10)
        )
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The last `lines` lines of a file (empty if unreadable).
pub fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// A loopback port that was free a moment ago (bind port 0, read it, release it).
pub fn free_port() -> u16 {
    let l = TcpListener::bind(("127.0.0.1", 0)).expect("bind 127.0.0.1:0");
    l.local_addr().expect("local_addr").port()
}

/// A dependency-free HTTP/1.0 GET to `127.0.0.1:port` with bounded socket
/// timeouts. Returns the status code and the body.
pub fn http_get(port: u16, path_and_query: &str) -> std::io::Result<(u16, String)> {
    use std::io::{Error, ErrorKind};
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    s.set_write_timeout(Some(Duration::from_secs(5)))?;
    write!(
        s,
        "GET {path_and_query} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: spice-test-harness\r\nConnection: close\r\n\r\n"
    )?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)?;
    let text = String::from_utf8_lossy(&buf);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| Error::new(ErrorKind::InvalidData, "no end of HTTP headers"))?;
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidData,
                format!("bad status line in {head:?}"),
            )
        })?;
    Ok((code, body.to_string()))
}

/// Percent-encodes a query-string value (everything but RFC 3986 unreserved).
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            write!(out, "%{b:02X}").unwrap();
        }
    }
    out
}

fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64
}

// ---------------------------------------------------------------------------
// Prometheus
// ---------------------------------------------------------------------------

/// Extra settings for [`Prom::start_with`].
#[derive(Debug, Clone, Default)]
pub struct Options<'a> {
    /// Rule files (alerting/recording rules) listed under `rule_files:`.
    pub rule_files: Vec<PathBuf>,
    /// YAML placed verbatim under `scrape_configs:`: one or more list items
    /// starting at column 0, e.g. `"- job_name: x\n  static_configs: ..."`.
    pub extra_scrape_config: Option<String>,
    /// Global `scrape_interval` and `evaluation_interval` (default `15s`).
    pub scrape_interval: Option<&'a str>,
}

/// A running `prometheus` on 127.0.0.1, killed (and its temp dir removed)
/// on drop.
#[derive(Debug)]
pub struct Prom {
    proc: Proc,
    port: u16,
    // Dropped after `proc` (field order), so the process is gone first.
    dir: TempDir,
}

impl Prom {
    /// Backfills `history` and starts Prometheus on it (no scrape jobs).
    pub fn start(history: &History) -> Prom {
        Prom::start_with(history, Options::default())
    }

    /// Like [`Prom::start`], with rule files and scrape jobs. Blocks until
    /// `/-/ready` answers and (for a non-empty history) a backfilled series
    /// is queryable; panics with Prometheus's output on failure.
    pub fn start_with(history: &History, options: Options<'_>) -> Prom {
        let prometheus = binary("prometheus");
        let promtool = binary("promtool");
        let dir = tempfile::Builder::new()
            .prefix("spice-prom-")
            .tempdir()
            .expect("tempdir");
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).expect("create data dir");

        if !history.is_empty() {
            let om = dir.path().join("history.om");
            std::fs::write(&om, history.to_openmetrics(now_unix())).expect("write history");
            let out = Command::new(&promtool)
                .args(["tsdb", "create-blocks-from", "openmetrics"])
                .arg(&om)
                .arg(&data)
                .stdin(Stdio::null())
                .output()
                .expect("run promtool");
            assert!(
                out.status.success(),
                "promtool tsdb create-blocks-from openmetrics failed ({}):\n{}\n{}\ninput kept at {}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
                dir.keep().join("history.om").display(),
            );
        }

        let config = dir.path().join("prometheus.yml");
        std::fs::write(&config, config_yaml(&options)).expect("write prometheus.yml");

        let port = free_port();
        let mut cmd = Command::new(&prometheus);
        cmd.arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", data.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--storage.tsdb.retention.time=1d")
            .arg("--log.level=warn")
            .current_dir(dir.path());
        let proc = Proc::spawn("prometheus", &mut cmd, dir.path());
        let mut prom = Prom { proc, port, dir };
        prom.wait_ready();
        if let Some(q) = history.probe_query() {
            prom.wait_for_data(&q);
        }
        prom
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + READY_TIMEOUT;
        let mut last;
        loop {
            self.proc.assert_running("while starting");
            match http_get(self.port, "/-/ready") {
                Ok((200, _)) => return,
                Ok((code, body)) => last = format!("HTTP {code}: {}", body.trim()),
                Err(e) => last = e.to_string(),
            }
            if Instant::now() >= deadline {
                panic!(
                    "prometheus on port {} not ready after {READY_TIMEOUT:?} (last: {last})\n{}",
                    self.port,
                    self.proc.output_tail()
                );
            }
            std::thread::sleep(POLL);
        }
    }

    fn wait_for_data(&mut self, probe: &str) {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            self.proc.assert_running("while loading blocks");
            let (_, v) = self.query_status(probe);
            if v["data"]["result"]
                .as_array()
                .is_some_and(|r| !r.is_empty())
            {
                return;
            }
            if Instant::now() >= deadline {
                panic!(
                    "prometheus never answered the backfilled series {probe} (last: {v})\n{}",
                    self.proc.output_tail()
                );
            }
            std::thread::sleep(POLL);
        }
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The temp dir holding the config, the TSDB and the process output.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// `GET /api/v1/query?query=...` (evaluated at now): the parsed JSON
    /// envelope, whatever the HTTP status.
    pub fn query(&self, promql: &str) -> Value {
        self.query_status(promql).1
    }

    /// Like [`Prom::query`], with the HTTP status code.
    pub fn query_status(&self, promql: &str) -> (u16, Value) {
        let path = format!("/api/v1/query?query={}", url_encode(promql));
        let (code, body) = self.get(&path);
        let v = serde_json::from_str(&body).unwrap_or_else(|e| {
            panic!("prometheus answered {promql:?} with HTTP {code} and non-JSON ({e}): {body}")
        });
        (code, v)
    }

    /// The value of a query whose result is one sample (vector of one, or a
    /// scalar); `None` for an empty vector. Panics on an error envelope or a
    /// vector of several series.
    pub fn value(&self, promql: &str) -> Option<f64> {
        let v = self.query(promql);
        assert_eq!(v["status"], "success", "query {promql:?} failed: {v}");
        let data = &v["data"];
        let sample = match data["resultType"].as_str() {
            Some("scalar") => &data["result"],
            Some("vector") => {
                let r = data["result"].as_array().expect("vector result");
                match r.len() {
                    0 => return None,
                    1 => &r[0]["value"],
                    n => panic!("query {promql:?} returned {n} series, expected one: {v}"),
                }
            }
            other => panic!("query {promql:?}: unexpected result type {other:?}: {v}"),
        };
        let text = sample[1]
            .as_str()
            .unwrap_or_else(|| panic!("no sample value in {v}"));
        Some(match text {
            "NaN" => f64::NAN,
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            t => t.parse().unwrap_or_else(|e| panic!("sample {t:?}: {e}")),
        })
    }

    /// Like [`Prom::value`], but never panics: a transport error, an error
    /// envelope or an answer that is not one number is one line (for a
    /// server that keeps serving through it, `by_hand`).
    pub fn try_value(&self, promql: &str) -> Result<Option<f64>, String> {
        let path = format!("/api/v1/query?query={}", url_encode(promql));
        let (code, body) = http_get(self.port, &path)
            .map_err(|e| format!("Prometheus at {} did not answer: {e}", self.url()))?;
        let v: Value = serde_json::from_str(&body)
            .map_err(|e| format!("Prometheus answered HTTP {code} without JSON ({e})"))?;
        if v["status"] != "success" {
            return Err(format!(
                "Prometheus answered {promql:?} with HTTP {code}: {}",
                v["error"].as_str().unwrap_or("no error text")
            ));
        }
        let sample = match (
            v["data"]["resultType"].as_str(),
            v["data"]["result"].as_array(),
        ) {
            (Some("scalar"), Some(_)) => &v["data"]["result"],
            (Some("vector"), Some(r)) if r.is_empty() => return Ok(None),
            (Some("vector"), Some(r)) if r.len() == 1 => &r[0]["value"],
            _ => {
                return Err(format!(
                    "Prometheus answered {promql:?} with no single number"
                ));
            }
        };
        sample[1]
            .as_str()
            .and_then(|t| t.parse().ok())
            .map(Some)
            .ok_or_else(|| format!("Prometheus answered {promql:?} with no number"))
    }

    /// A raw GET against this Prometheus; panics on a transport error.
    pub fn get(&self, path_and_query: &str) -> (u16, String) {
        http_get(self.port, path_and_query).unwrap_or_else(|e| {
            panic!(
                "GET {}{path_and_query}: {e}\n{}",
                self.url(),
                self.proc.output_tail()
            )
        })
    }

    /// Prometheus's stderr/stdout tail (for failure messages).
    pub fn output_tail(&self) -> String {
        self.proc.output_tail()
    }
}

fn config_yaml(o: &Options<'_>) -> String {
    let interval = o.scrape_interval.unwrap_or("15s");
    let mut y =
        format!("global:\n  scrape_interval: {interval}\n  evaluation_interval: {interval}\n");
    if !o.rule_files.is_empty() {
        y.push_str("rule_files:\n");
        for f in &o.rule_files {
            writeln!(
                y,
                "  - {}",
                serde_json::to_string(&f.display().to_string()).unwrap()
            )
            .unwrap();
        }
    }
    match &o.extra_scrape_config {
        Some(extra) => {
            y.push_str("scrape_configs:\n");
            y.push_str(extra);
            if !extra.ends_with('\n') {
                y.push('\n');
            }
        }
        None => y.push_str("scrape_configs: []\n"),
    }
    y
}
