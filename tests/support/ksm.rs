//! A kube-state-metrics stand-in for the closed loop: `GET /metrics` on
//! 127.0.0.1 renders, from the simulator's store at scrape time, the
//! kube-state-metrics series the plugin queries, in the text exposition
//! format kube-state-metrics v2.x writes. The closed loop's Prometheus
//! scrapes it as job `kube-state-metrics`, so `diagnose`, `status` and
//! `watch` read pods, nodes and the KEDA HPA from Prometheus as they would
//! on a cluster.
//!
//! Faithful to kube-state-metrics v2.20.0 (kubernetes/kube-state-metrics,
//! docs/metrics/workload/pod-metrics.md, horizontalpodautoscaler-metrics.md,
//! deployment-metrics.md, docs/metrics/cluster/node-metrics.md, and the
//! generators in internal/store/{pod,node,deployment,horizontalpodautoscaler}.go):
//!
//! - every family has its `# HELP` and `# TYPE` lines, even without a
//!   series; a STABLE family's help starts `[STABLE] `
//!   (pkg/metric_generator/generator.go `generateHeader`);
//! - an object's default labels come first (`namespace, pod, uid`;
//!   `node`; `namespace, deployment`; `namespace, horizontalpodautoscaler`),
//!   then the family's own (`wrapPodFunc` and friends); label values escaped
//!   as `\\`, `\n`, `\"`; values as Go's `strconv.AppendFloat(v, 'g', -1, 64)`
//!   with 0 and 1 written `0`, `1` (pkg/metric/metric.go `writeFloat`), so a
//!   creation time reads `1.796633156e+09`;
//! - `kube_pod_status_phase`: no series for a pod without a phase, else one
//!   per phase (Pending, Succeeded, Failed, Unknown, Running), 1 for the
//!   pod's and 0 for the others (`createPodStatusPhaseFamilyGenerator`);
//! - `kube_pod_status_ready`: for the Ready condition, one series per
//!   status (`true`, `false`, `unknown`), 1 for the condition's
//!   (`addConditionMetrics`); none without the condition;
//! - `kube_pod_deletion_timestamp` only while `deletionTimestamp` is set;
//! - `kube_pod_container_status_waiting_reason` only for waiting containers;
//! - `kube_deployment_spec_replicas` only when `spec.replicas` is set;
//! - `kube_horizontalpodautoscaler_spec_min_replicas` defaults to 1;
//! - `kube_node_status_condition`: one series per condition and status
//!   (`true`, `false`, `unknown`), as `kube_pod_status_ready`;
//! - `kube_node_created` only when the node has a creation time;
//! - `kube_pod_info`: one series a pod, its node and its controller
//!   (`created_by_kind`, `created_by_name`, "" without one).
//!
//! Families are written family by family, objects in list order, stores in
//! kube-state-metrics' resource order (deployments, horizontalpodautoscalers,
//! nodes, pods). Families the plugin never reads are left out.

use super::sim::StoreReader;
use serde_json::Value;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// How long a scrape may take to send its request or read the answer.
const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// The content type kube-state-metrics answers a text scrape with.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The objects a scrape renders, as the API server serves them.
#[derive(Debug, Default, Clone)]
pub struct Objects {
    pub deployments: Vec<Value>,
    pub hpas: Vec<Value>,
    pub nodes: Vec<Value>,
    pub pods: Vec<Value>,
}

impl Objects {
    /// The objects in the simulator's store now.
    pub fn read(store: &StoreReader) -> Objects {
        Objects {
            deployments: store.list("apps", "deployments"),
            hpas: store.list("autoscaling", "horizontalpodautoscalers"),
            nodes: store.list("", "nodes"),
            pods: store.list("", "pods"),
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Stability {
    Stable,
    Alpha,
}

/// One metric family being written: its header, then its series.
struct Family<'a> {
    out: &'a mut String,
}

impl<'a> Family<'a> {
    fn new(
        out: &'a mut String,
        name: &str,
        help: &str,
        ty: &str,
        stability: Stability,
    ) -> Family<'a> {
        let tag = if stability == Stability::Stable {
            "[STABLE] "
        } else {
            ""
        };
        let help = help.replace('\\', "\\\\").replace('\n', "\\n");
        let _ = writeln!(out, "# HELP {name} {tag}{help}");
        let _ = writeln!(out, "# TYPE {name} {ty}");
        Family { out }
    }

    fn series(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.out.push_str(name);
        for (i, (k, v)) in labels.iter().enumerate() {
            self.out.push(if i == 0 { '{' } else { ',' });
            let _ = write!(self.out, "{k}=\"{}\"", escape(v));
        }
        if !labels.is_empty() {
            self.out.push('}');
        }
        self.out.push(' ');
        self.out.push_str(&go_float(value));
        self.out.push('\n');
    }
}

/// A label value as kube-state-metrics escapes it.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('\n', "\\n")
        .replace('"', "\\\"")
}

/// A value as kube-state-metrics writes it: Go's shortest `%g`, which
/// switches to an exponent from 1e6 on (and below 1e-4), two exponent digits
/// at least.
pub fn go_float(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    let sci = format!("{v:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    } else {
        format!("{v}")
    }
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    path.iter()
        .try_fold(v, |v, k| v.get(k))
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// An RFC 3339 time as unix seconds (kube-state-metrics' `.Unix()`).
fn unix(t: &str) -> Option<f64> {
    t.parse::<jiff::Timestamp>()
        .ok()
        .map(|t| t.as_second() as f64)
}

fn number(v: &Value) -> Option<f64> {
    v.as_f64()
}

/// The exposition a scrape of kube-state-metrics returns for `o`.
pub fn exposition(o: &Objects) -> String {
    let mut out = String::new();
    deployments(&mut out, &o.deployments);
    hpas(&mut out, &o.hpas);
    nodes(&mut out, &o.nodes);
    pods(&mut out, &o.pods);
    out
}

fn deployments(out: &mut String, list: &[Value]) {
    let labels = |d: &Value| {
        [
            (
                "namespace",
                str_at(d, &["metadata", "namespace"]).to_string(),
            ),
            ("deployment", str_at(d, &["metadata", "name"]).to_string()),
        ]
    };
    for (name, help, field) in [
        (
            "kube_deployment_status_replicas",
            "The number of replicas per deployment.",
            "replicas",
        ),
        (
            "kube_deployment_status_replicas_ready",
            "The number of ready replicas per deployment.",
            "readyReplicas",
        ),
        (
            "kube_deployment_status_replicas_available",
            "The number of available replicas per deployment.",
            "availableReplicas",
        ),
        (
            "kube_deployment_status_replicas_unavailable",
            "The number of unavailable replicas per deployment.",
            "unavailableReplicas",
        ),
        (
            "kube_deployment_status_replicas_updated",
            "The number of updated replicas per deployment.",
            "updatedReplicas",
        ),
    ] {
        let mut f = Family::new(out, name, help, "gauge", Stability::Stable);
        for d in list {
            let [(k1, v1), (k2, v2)] = labels(d);
            let v = number(&d["status"][field]).unwrap_or(0.0);
            f.series(name, &[(k1, &v1), (k2, &v2)], v);
        }
    }
    let name = "kube_deployment_spec_replicas";
    let mut f = Family::new(
        out,
        name,
        "Number of desired pods for a deployment.",
        "gauge",
        Stability::Stable,
    );
    for d in list {
        if let Some(v) = number(&d["spec"]["replicas"]) {
            let [(k1, v1), (k2, v2)] = labels(d);
            f.series(name, &[(k1, &v1), (k2, &v2)], v);
        }
    }
    // `report` and `timeline` read it: it grows on every spec change.
    let name = "kube_deployment_metadata_generation";
    let mut f = Family::new(
        out,
        name,
        "Sequence number representing a specific generation of the desired state.",
        "gauge",
        Stability::Stable,
    );
    for d in list {
        let [(k1, v1), (k2, v2)] = labels(d);
        let v = number(&d["metadata"]["generation"]).unwrap_or(0.0);
        f.series(name, &[(k1, &v1), (k2, &v2)], v);
    }
}

fn hpas(out: &mut String, list: &[Value]) {
    type Read = fn(&Value) -> Option<f64>;
    let families: [(&str, &str, Read); 5] = [
        (
            "kube_horizontalpodautoscaler_metadata_generation",
            "The generation observed by the HorizontalPodAutoscaler controller.",
            |h| Some(number(&h["metadata"]["generation"]).unwrap_or(0.0)),
        ),
        (
            "kube_horizontalpodautoscaler_spec_max_replicas",
            "Upper limit for the number of pods that can be set by the autoscaler; cannot be smaller than MinReplicas.",
            |h| number(&h["spec"]["maxReplicas"]),
        ),
        (
            "kube_horizontalpodautoscaler_spec_min_replicas",
            "Lower limit for the number of pods that can be set by the autoscaler, default 1.",
            |h| Some(number(&h["spec"]["minReplicas"]).unwrap_or(1.0)),
        ),
        (
            "kube_horizontalpodautoscaler_status_current_replicas",
            "Current number of replicas of pods managed by this autoscaler.",
            |h| Some(number(&h["status"]["currentReplicas"]).unwrap_or(0.0)),
        ),
        (
            "kube_horizontalpodautoscaler_status_desired_replicas",
            "Desired number of replicas of pods managed by this autoscaler.",
            |h| Some(number(&h["status"]["desiredReplicas"]).unwrap_or(0.0)),
        ),
    ];
    for (name, help, value) in families {
        let mut f = Family::new(out, name, help, "gauge", Stability::Stable);
        for h in list {
            let labels = [
                ("namespace", str_at(h, &["metadata", "namespace"])),
                ("horizontalpodautoscaler", str_at(h, &["metadata", "name"])),
            ];
            if let Some(v) = value(h) {
                f.series(name, &labels, v);
            }
        }
    }
}

fn nodes(out: &mut String, list: &[Value]) {
    let name = "kube_node_info";
    let mut f = Family::new(
        out,
        name,
        "Information about a cluster node.",
        "gauge",
        Stability::Stable,
    );
    for n in list {
        let info = |k: &str| str_at(n, &["status", "nodeInfo", k]);
        let internal_ip = n["status"]["addresses"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|a| a["type"] == "InternalIP")
            .filter_map(|a| a["address"].as_str())
            .next_back()
            .unwrap_or_default();
        f.series(
            name,
            &[
                ("node", str_at(n, &["metadata", "name"])),
                ("kernel_version", info("kernelVersion")),
                ("os_image", info("osImage")),
                ("container_runtime_version", info("containerRuntimeVersion")),
                ("kubelet_version", info("kubeletVersion")),
                ("kubeproxy_version", "deprecated"),
                ("provider_id", str_at(n, &["spec", "providerID"])),
                ("pod_cidr", str_at(n, &["spec", "podCIDR"])),
                ("system_uuid", info("systemUUID")),
                ("internal_ip", internal_ip),
            ],
            1.0,
        );
    }
    // `report` and `timeline` read both: nodes created in a period, and the
    // first time each was Ready.
    let name = "kube_node_created";
    let mut f = Family::new(
        out,
        name,
        "Unix creation timestamp",
        "gauge",
        Stability::Stable,
    );
    for n in list {
        if let Some(t) = unix(str_at(n, &["metadata", "creationTimestamp"])) {
            f.series(name, &[("node", str_at(n, &["metadata", "name"]))], t);
        }
    }
    // One series per condition and status (`addConditionMetrics`: true,
    // false, unknown), 1 for the condition's.
    let name = "kube_node_status_condition";
    let mut f = Family::new(
        out,
        name,
        "The condition of a cluster node.",
        "gauge",
        Stability::Stable,
    );
    for n in list {
        let conditions = n["status"]["conditions"].as_array().into_iter().flatten();
        for c in conditions {
            let status = str_at(c, &["status"]);
            for each in ["True", "False", "Unknown"] {
                f.series(
                    name,
                    &[
                        ("node", str_at(n, &["metadata", "name"])),
                        ("condition", str_at(c, &["type"])),
                        ("status", &each.to_lowercase()),
                    ],
                    f64::from(u8::from(each == status)),
                );
            }
        }
    }
}

/// The pod families, in kube-state-metrics' generator order.
fn pods(out: &mut String, list: &[Value]) {
    let id = |p: &Value| {
        [
            str_at(p, &["metadata", "namespace"]).to_string(),
            str_at(p, &["metadata", "name"]).to_string(),
            str_at(p, &["metadata", "uid"]).to_string(),
        ]
    };
    let ids: Vec<[String; 3]> = list.iter().map(id).collect();
    let with = |id: &[String; 3], extra: &[(&'static str, String)]| -> Vec<(String, String)> {
        [("namespace", &id[0]), ("pod", &id[1]), ("uid", &id[2])]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .chain(extra.iter().map(|(k, v)| (k.to_string(), v.clone())))
            .collect()
    };
    let containers = |p: &Value| -> Vec<Value> {
        p["status"]["containerStatuses"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };
    // (name, help, type, stability, series of one pod)
    type Series = Vec<(Vec<(String, String)>, f64)>;
    type Gen<'g> = Box<dyn Fn(&Value, &[String; 3]) -> Series + 'g>;
    let families: Vec<(&str, &str, &str, Stability, Gen)> = vec![
        (
            "kube_pod_container_status_restarts_total",
            "The number of container restarts per container.",
            "counter",
            Stability::Stable,
            Box::new(|p, id| {
                containers(p)
                    .iter()
                    .map(|cs| {
                        (
                            with(id, &[("container", str_at(cs, &["name"]).to_string())]),
                            number(&cs["restartCount"]).unwrap_or(0.0),
                        )
                    })
                    .collect()
            }),
        ),
        (
            "kube_pod_container_status_waiting_reason",
            "Describes the reason the container is currently in waiting state.",
            "gauge",
            Stability::Stable,
            Box::new(|p, id| {
                containers(p)
                    .iter()
                    .filter(|cs| cs["state"]["waiting"].is_object())
                    .map(|cs| {
                        (
                            with(
                                id,
                                &[
                                    ("container", str_at(cs, &["name"]).to_string()),
                                    (
                                        "reason",
                                        str_at(cs, &["state", "waiting", "reason"]).to_string(),
                                    ),
                                ],
                            ),
                            1.0,
                        )
                    })
                    .collect()
            }),
        ),
        (
            "kube_pod_created",
            "Unix creation timestamp",
            "gauge",
            Stability::Stable,
            Box::new(|p, id| {
                unix(str_at(p, &["metadata", "creationTimestamp"]))
                    .map(|t| (with(id, &[]), t))
                    .into_iter()
                    .collect()
            }),
        ),
        (
            "kube_pod_deletion_timestamp",
            "Unix deletion timestamp",
            "gauge",
            Stability::Alpha,
            Box::new(|p, id| {
                unix(str_at(p, &["metadata", "deletionTimestamp"]))
                    .map(|t| (with(id, &[]), t))
                    .into_iter()
                    .collect()
            }),
        ),
        (
            "kube_pod_info",
            "Information about pod.",
            "gauge",
            Stability::Stable,
            // `metav1.GetControllerOf`: the owner with controller=true, ""
            // without one.
            Box::new(|p, id| {
                let controller = p["metadata"]["ownerReferences"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|r| r["controller"].as_bool() == Some(true));
                let by = |k: &str| controller.map_or("", |r| str_at(r, &[k])).to_string();
                let host_network = p["spec"]["hostNetwork"].as_bool().unwrap_or(false);
                vec![(
                    with(
                        id,
                        &[
                            ("host_ip", str_at(p, &["status", "hostIP"]).to_string()),
                            ("pod_ip", str_at(p, &["status", "podIP"]).to_string()),
                            ("node", str_at(p, &["spec", "nodeName"]).to_string()),
                            ("created_by_kind", by("kind")),
                            ("created_by_name", by("name")),
                            (
                                "priority_class",
                                str_at(p, &["spec", "priorityClassName"]).to_string(),
                            ),
                            ("host_network", host_network.to_string()),
                        ],
                    ),
                    1.0,
                )]
            }),
        ),
        (
            "kube_pod_status_phase",
            "The pods current phase.",
            "gauge",
            Stability::Stable,
            Box::new(|p, id| {
                let phase = str_at(p, &["status", "phase"]);
                if phase.is_empty() {
                    return Vec::new();
                }
                ["Pending", "Succeeded", "Failed", "Unknown", "Running"]
                    .into_iter()
                    .map(|each| {
                        (
                            with(id, &[("phase", each.to_string())]),
                            f64::from(u8::from(each == phase)),
                        )
                    })
                    .collect()
            }),
        ),
        (
            "kube_pod_status_ready",
            "Describes whether the pod is ready to serve requests.",
            "gauge",
            Stability::Stable,
            Box::new(|p, id| {
                p["status"]["conditions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|c| c["type"] == "Ready")
                    .flat_map(|c| {
                        let status = str_at(c, &["status"]).to_string();
                        ["True", "False", "Unknown"].into_iter().map(move |each| {
                            (
                                with(id, &[("condition", each.to_lowercase())]),
                                f64::from(u8::from(each == status)),
                            )
                        })
                    })
                    .collect()
            }),
        ),
    ];
    for (name, help, ty, stability, series) in &families {
        let mut f = Family::new(out, name, help, ty, *stability);
        for (p, id) in list.iter().zip(&ids) {
            for (labels, v) in series(p, id) {
                let refs: Vec<(&str, &str)> = labels
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                f.series(name, &refs, v);
            }
        }
    }
}

/// A running stand-in; dropping it stops it.
pub struct Ksm {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Ksm {
    /// Serves `/metrics` from `store` on 127.0.0.1 (a free port).
    pub fn serve(store: StoreReader) -> Ksm {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("kube-state-metrics".into())
            .spawn(move || {
                for conn in listener.incoming() {
                    if flag.load(Ordering::SeqCst) {
                        break;
                    }
                    if let Ok(stream) = conn {
                        // One scrape at a time, as Prometheus sends them.
                        let _ = answer(stream, &store);
                    }
                }
            })
            .expect("kube-state-metrics thread");
        Ksm {
            addr,
            stop,
            thread: Some(thread),
        }
    }

    /// `127.0.0.1:PORT`, the scrape target.
    pub fn target(&self) -> String {
        self.addr.to_string()
    }

    /// The Prometheus scrape job for it, as kube-prometheus-stack's
    /// ServiceMonitor makes it: job `kube-state-metrics`, `honor_labels` so
    /// the `namespace` and `pod` of the objects stay what they are.
    pub fn scrape_job(&self, interval: &str) -> String {
        format!(
            "- job_name: kube-state-metrics\n  honor_labels: true\n  scrape_interval: {interval}\n  scrape_timeout: 1s\n  static_configs:\n    - targets: [\"{}\"]\n",
            self.target()
        )
    }
}

impl Drop for Ksm {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept so the thread sees the flag; if that
        // connection cannot be made, leave the thread rather than wait on it.
        let woke = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1)).is_ok();
        if let Some(t) = self.thread.take()
            && woke
        {
            let _ = t.join();
        }
    }
}

/// One scrape: `GET /metrics` renders the store now; anything else is 404.
fn answer(stream: TcpStream, store: &StoreReader) -> std::io::Result<()> {
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line)? == 0 {
        return Ok(());
    }
    for _ in 0..100 {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" || line == "\n" {
            break;
        }
    }
    let path = request_line.split_whitespace().nth(1).unwrap_or("/");
    let (code, content_type, body) = if path.split('?').next() == Some("/metrics") {
        ("200 OK", CONTENT_TYPE, exposition(&Objects::read(store)))
    } else {
        (
            "404 Not Found",
            "text/plain; charset=utf-8",
            "404 page not found\n".to_string(),
        )
    };
    let mut out = &stream;
    write!(
        out,
        "HTTP/1.1 {code}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    out.flush()
}
