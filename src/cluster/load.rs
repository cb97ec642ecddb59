//! The load-test readings of `kubectl spice watch`, each polled in its own
//! task with a deadline so a slow source never holds a frame back:
//!
//! - node CPU and memory from the metrics API (`metrics.k8s.io/v1beta1`
//!   NodeMetrics, what `kubectl top nodes` reads), every interval, when
//!   discovery says the API is served;
//! - the runbook's Heartbeat Rate from Loki, no more often than every 10 s
//!   (a LogQL range query is far heavier than a PromQL one).
//!
//! A source that keeps failing is asked less often, down to once a minute.

use super::error::{Failure, ReadTarget, classify};
use super::prometheus::HttpApi;
use crate::domain::load::{NodeUsage, Polled};
use crate::settings::Settings;
use crate::snapshot::GapReason;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch as signal;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// Loki is asked at most this often.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(10);
/// An API that discovery said is not served is asked again after this long
/// (metrics-server may be installed while the watch runs).
const REDISCOVER_AFTER: Duration = Duration::from_secs(60);
/// The longest wait between polls of a failing source.
const MAX_BACKOFF: Duration = Duration::from_secs(60);
const METRICS_GROUP_VERSION: &str = "metrics.k8s.io/v1beta1";

/// The running pollers. Dropping it stops them.
pub struct Load {
    nodes: Arc<Mutex<Polled<Vec<NodeUsage>>>>,
    heartbeats: Arc<Mutex<Polled<Option<f64>>>>,
    changes: signal::Receiver<u64>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Load {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Load {
    /// Starts both pollers: node metrics every `interval` on `kube`, heartbeats
    /// every `HEARTBEAT_EVERY` (or `interval`, if longer) from `loki`.
    pub fn start(
        kube: kube::Client,
        loki: Result<HttpApi, String>,
        settings: &Settings,
        interval: Duration,
    ) -> Load {
        let (tx, changes) = signal::channel(0u64);
        let nodes = Arc::new(Mutex::new(Polled::default()));
        let heartbeats = Arc::new(Mutex::new(Polled::default()));
        let discovery = Arc::new(Mutex::new(None));
        let node_deadline = settings
            .request_timeout
            .min(interval.max(Duration::from_secs(2)));
        let metrics = spawn_poll(
            interval,
            node_deadline,
            "metrics API",
            nodes.clone(),
            tx.clone(),
            move || {
                let kube = kube.clone();
                let discovery = discovery.clone();
                async move { node_metrics(&kube, &discovery).await }
            },
        );
        let every = interval.max(HEARTBEAT_EVERY);
        let query = settings.loki_query.clone();
        let tenant = settings.loki_tenant.clone();
        let loki = Arc::new(loki);
        let hb = spawn_poll(
            every,
            settings.request_timeout.min(every),
            "Loki",
            heartbeats.clone(),
            tx,
            move || {
                let (loki, query, tenant) = (loki.clone(), query.clone(), tenant.clone());
                async move {
                    match loki.as_ref() {
                        Ok(api) => {
                            super::loki::heartbeat_rate(api, &query, tenant.as_deref()).await
                        }
                        Err(why) => Err(Failure {
                            reason: GapReason::Error,
                            message: format!("Loki not configured: {why}"),
                            hint: "set --loki-url or the lokiService setting".into(),
                        }),
                    }
                }
            },
        );
        Load {
            nodes,
            heartbeats,
            changes,
            tasks: vec![metrics, hb],
        }
    }

    /// A receiver that changes whenever a reading or a gap changes.
    pub fn changes(&self) -> signal::Receiver<u64> {
        self.changes.clone()
    }

    pub fn node_usage(&self) -> Polled<Vec<NodeUsage>> {
        self.nodes.lock().expect("node usage").clone()
    }

    /// Heartbeat events per second, all sessions together (`Some(None)`: no
    /// stream matched the query).
    pub fn heartbeats(&self) -> Polled<Option<f64>> {
        self.heartbeats.lock().expect("heartbeats").clone()
    }
}

/// Runs `fetch` every `every`, each bounded by `deadline`, into `state`;
/// signals `tx` when the answer or the gap changed.
fn spawn_poll<T, F, Fut>(
    every: Duration,
    deadline: Duration,
    what: &'static str,
    state: Arc<Mutex<Polled<T>>>,
    tx: signal::Sender<u64>,
    fetch: F,
) -> JoinHandle<()>
where
    T: PartialEq + Send + 'static,
    F: Fn() -> Fut + Send + 'static,
    Fut: Future<Output = Result<T, Failure>> + Send,
{
    tokio::spawn(async move {
        let mut failures = 0u32;
        loop {
            let started = Instant::now();
            let result = match tokio::time::timeout(deadline, fetch()).await {
                // The client's own read timeout may fire first: the same news.
                Ok(Err(f)) if f.reason != GapReason::Timeout => Err(f),
                Ok(Ok(v)) => Ok(v),
                _ => Err(Failure {
                    reason: GapReason::Timeout,
                    message: format!(
                        "{what} slow: no answer within {}",
                        crate::settings::show_duration(deadline)
                    ),
                    hint: "the view keeps running; raise --request-timeout if it is just slow"
                        .into(),
                }),
            };
            failures = if result.is_ok() { 0 } else { failures + 1 };
            // The guard lives in a block of its own: it must not be held
            // across the await below.
            let notify = {
                let mut s = state.lock().expect("polled");
                let before = (s.gap.clone(), s.latest.is_some());
                let changed = match result {
                    Ok(v) => {
                        let same =
                            s.gap.is_none() && s.latest.as_ref().is_some_and(|(l, _)| *l == v);
                        s.latest = Some((v, jiff::Timestamp::now()));
                        s.gap = None;
                        !same
                    }
                    Err(f) => {
                        s.gap = Some(gap_line(&f));
                        before != (s.gap.clone(), s.latest.is_some())
                    }
                };
                s.polls += 1;
                s.polls == 1 || changed
            };
            if notify {
                tx.send_modify(|n| *n = n.wrapping_add(1));
            }
            tokio::time::sleep_until(started + backoff(every, failures)).await;
        }
    })
}

/// The wait before the next poll: `every`, doubled for each failure in a
/// row up to `MAX_BACKOFF` (a missing Loki or metrics-server does not come
/// back within seconds, and each try costs a request through the API server).
fn backoff(every: Duration, failures: u32) -> Duration {
    let doubled = every.saturating_mul(1u32 << failures.min(16));
    doubled.min(MAX_BACKOFF.max(every))
}

/// A failure as the view's one gap line: what, then what to do.
fn gap_line(f: &Failure) -> String {
    if f.hint.is_empty() {
        f.message.clone()
    } else {
        format!("{} ({})", f.message, f.hint)
    }
}

#[derive(Deserialize)]
struct NodeMetricsList {
    #[serde(default)]
    items: Vec<NodeMetrics>,
}

/// The part of a `metrics.k8s.io/v1beta1` NodeMetrics the view reads.
#[derive(Deserialize)]
struct NodeMetrics {
    metadata: Name,
    #[serde(default)]
    usage: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct Name {
    #[serde(default)]
    name: String,
}

/// Discovery (cached: a "not served" answer is asked again only after
/// `REDISCOVER_AFTER`), then the NodeMetrics list.
async fn node_metrics(
    kube: &kube::Client,
    discovery: &Mutex<Option<(Instant, Option<Failure>)>>,
) -> Result<Vec<NodeUsage>, Failure> {
    let target = ReadTarget {
        verb: "list",
        resource: "nodes",
        group: "metrics.k8s.io",
        namespace: None,
    };
    let known = discovery.lock().expect("discovery").clone();
    let unserved = match known {
        Some((_, None)) => None,
        Some((at, Some(f))) if at.elapsed() < REDISCOVER_AFTER => Some(f),
        _ => {
            let answer = kube.list_api_group_resources(METRICS_GROUP_VERSION).await;
            let f = match answer {
                Ok(_) => None,
                Err(e) => Some(not_served(classify(&e, target))),
            };
            *discovery.lock().expect("discovery") = Some((Instant::now(), f.clone()));
            f
        }
    };
    if let Some(f) = unserved {
        return Err(f);
    }
    let request = http::Request::get(format!("/apis/{METRICS_GROUP_VERSION}/nodes"))
        .header(http::header::ACCEPT, "application/json")
        .body(Vec::new())
        .map_err(|e| Failure {
            reason: GapReason::Error,
            message: e.to_string(),
            hint: String::new(),
        })?;
    let list: NodeMetricsList = kube
        .request(request)
        .await
        .map_err(|e| not_served(classify(&e, target)))?;
    Ok(list.items.into_iter().filter_map(usage).collect())
}

/// A NodeMetrics item as numbers; an item without both figures is skipped.
fn usage(m: NodeMetrics) -> Option<NodeUsage> {
    let q = |k: &str| crate::domain::quantity::parse(m.usage.get(k)?);
    Some(NodeUsage {
        cpu_cores: q("cpu")?,
        memory_bytes: q("memory")?,
        name: m.metadata.name,
    })
}

/// A 404 or 503 from the metrics API means metrics-server is missing or
/// down, worded as `kubectl top nodes` users know it.
fn not_served(f: Failure) -> Failure {
    match f.reason {
        GapReason::NotInstalled | GapReason::NotFound => Failure {
            reason: GapReason::NotInstalled,
            message: "metrics API not served (no metrics-server): kubectl top nodes fails too"
                .into(),
            hint: "install metrics-server to see node CPU and memory here".into(),
        },
        GapReason::Unreachable => Failure {
            message: format!("metrics API unavailable: {}", f.message),
            hint: "is metrics-server running? kubectl get apiservice v1beta1.metrics.k8s.io".into(),
            ..f
        },
        _ => Failure {
            message: format!("metrics API: {}", f.message),
            ..f
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_metrics_decode_from_metrics_server_quantities() {
        // The shape metrics-server v0.7 serves (k8s.io/metrics
        // pkg/apis/metrics/v1beta1/types.go: timestamp, window, usage).
        let list: NodeMetricsList = serde_json::from_str(
            r#"{"kind":"NodeMetricsList","apiVersion":"metrics.k8s.io/v1beta1","metadata":{},
                "items":[
                  {"metadata":{"name":"ip-10-0-45-112"},"timestamp":"2026-01-01T00:00:00Z",
                   "window":"20.035s","usage":{"cpu":"1500m","memory":"2097152Ki"}},
                  {"metadata":{"name":"half"},"timestamp":"2026-01-01T00:00:00Z",
                   "window":"20s","usage":{"cpu":"187920567n"}}
                ]}"#,
        )
        .unwrap();
        let nodes: Vec<NodeUsage> = list.items.into_iter().filter_map(usage).collect();
        assert_eq!(nodes.len(), 1, "an item without memory is skipped");
        assert_eq!(nodes[0].name, "ip-10-0-45-112");
        assert!((nodes[0].cpu_cores - 1.5).abs() < 1e-9);
        assert!((nodes[0].memory_bytes - 2_147_483_648.0).abs() < 1.0);
    }

    #[test]
    fn a_failing_source_is_asked_less_often_up_to_a_minute() {
        let s = Duration::from_secs;
        assert_eq!(backoff(s(10), 0), s(10));
        assert_eq!(backoff(s(10), 1), s(20));
        assert_eq!(backoff(s(10), 2), s(40));
        assert_eq!(backoff(s(10), 3), s(60));
        assert_eq!(backoff(s(10), 40), s(60));
        assert_eq!(backoff(Duration::from_millis(500), 1), s(1));
        assert_eq!(backoff(s(120), 5), s(120), "never more often than asked");
    }

    #[test]
    fn an_unserved_metrics_api_is_said_as_kubectl_top_users_know_it() {
        let f = not_served(Failure {
            reason: GapReason::NotInstalled,
            message: "x".into(),
            hint: String::new(),
        });
        assert!(
            f.message.contains("metrics API not served"),
            "{}",
            f.message
        );
        assert!(gap_line(&f).contains("install metrics-server"));
    }
}
