//! Live sources for `kubectl spice watch`: kube-runtime watchers feeding
//! reflector stores (initial list, then watch events; 410 re-list and
//! exponential backoff are the watcher's own), and Prometheus polled every
//! interval in its own task with a deadline, so one slow poll never holds a
//! frame back. [`Live::snapshot`] turns the stores into the same `Snapshot`
//! the one-shot commands build, so the same checks judge it.

use super::convert;
use super::prometheus::HttpApi;
use super::promql::Query;
use crate::snapshot::*;
use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{Event, Node, Pod};
use kube::api::{Api, ApiResource, DynamicObject};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch as signal;
use tokio::task::JoinHandle;

/// The health of one watched source.
#[derive(Debug, Clone, Default)]
pub struct SourceState {
    /// The initial list has completed at least once.
    pub synced: bool,
    /// The latest error, cleared by the next successful event.
    pub error: Option<String>,
}

/// The latest Prometheus poll.
#[derive(Debug, Clone, Default)]
pub struct PromState {
    pub answers: BTreeMap<String, PromAnswer>,
    /// Every query failed: why (for the banner).
    pub error: Option<String>,
    pub polls: u64,
}

type States = Arc<Mutex<BTreeMap<&'static str, SourceState>>>;

/// The running watchers and the Prometheus poller. Dropping it stops them.
pub struct Live {
    pods: Store<Pod>,
    nodes: Store<Node>,
    hpas: Store<HorizontalPodAutoscaler>,
    events: Store<Event>,
    deployments: Store<Deployment>,
    scaled_objects: Store<DynamicObject>,
    /// Karpenter NodeClaims, watched only when asked ([`Live::watch_node_claims`]).
    node_claims: Option<Store<DynamicObject>>,
    states: States,
    prometheus: Arc<Mutex<PromState>>,
    changes: signal::Receiver<u64>,
    tx: signal::Sender<u64>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Live {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

fn bump(tx: &signal::Sender<u64>) {
    tx.send_modify(|n| *n = n.wrapping_add(1));
}

/// Runs one watcher into a reflector store, recording its health.
fn spawn_watch<K>(
    name: &'static str,
    api: Api<K>,
    config: watcher::Config,
    dyntype: K::DynamicType,
    states: States,
    tx: signal::Sender<u64>,
) -> (Store<K>, JoinHandle<()>)
where
    K: kube::Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone + Send + Sync,
{
    let writer = reflector::store::Writer::new(dyntype);
    let reader = writer.as_reader();
    states
        .lock()
        .expect("states")
        .insert(name, SourceState::default());
    let stream = watcher(api, config).default_backoff().reflect(writer);
    let task = tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        while let Some(item) = stream.next().await {
            let mut states = states.lock().expect("states");
            let state = states.entry(name).or_default();
            match item {
                Ok(watcher::Event::Init | watcher::Event::InitApply(_)) => continue,
                Ok(watcher::Event::InitDone) => {
                    state.synced = true;
                    state.error = None;
                }
                Ok(_) => state.error = None,
                Err(e) => state.error = Some(watch_error_text(&e)),
            }
            drop(states);
            bump(&tx);
        }
    });
    (reader, task)
}

/// One short line for a watcher error (kube nests the same cause several times).
fn watch_error_text(e: &watcher::Error) -> String {
    let inner = match e {
        watcher::Error::InitialListFailed(k)
        | watcher::Error::WatchStartFailed(k)
        | watcher::Error::WatchFailed(k) => crate::error::chain_text(k),
        watcher::Error::WatchError(s) => crate::error::status_text(s),
        watcher::Error::NoResourceVersion => e.to_string(),
    };
    inner.lines().next().unwrap_or_default().to_string()
}

fn keda_scaled_objects() -> ApiResource {
    ApiResource {
        group: "keda.sh".into(),
        version: "v1alpha1".into(),
        api_version: "keda.sh/v1alpha1".into(),
        kind: "ScaledObject".into(),
        plural: "scaledobjects".into(),
    }
}

impl Live {
    /// Starts the watchers (on `watch_client`, which has no read timeout, as a
    /// quiet watch may idle for minutes) and the Prometheus poller.
    pub fn start(
        watch_client: kube::Client,
        prometheus: Result<HttpApi, String>,
        queries: Vec<Query>,
        settings: &crate::settings::Settings,
        interval: Duration,
    ) -> Live {
        let ns = settings.namespace.as_str();
        let (tx, changes) = signal::channel(0u64);
        let states: States = Arc::new(Mutex::new(BTreeMap::new()));
        // The server closes a watch after this long; the watcher then resumes
        // from its last resourceVersion (a re-list only on 410 Gone).
        let base = watcher::Config::default().timeout(290);
        let mut tasks = Vec::new();
        let (pods, t) = spawn_watch(
            "pods",
            Api::<Pod>::namespaced(watch_client.clone(), ns),
            base.clone().labels(&settings.selector),
            (),
            states.clone(),
            tx.clone(),
        );
        tasks.push(t);
        let (nodes, t) = spawn_watch(
            "nodes",
            Api::<Node>::all(watch_client.clone()),
            base.clone(),
            (),
            states.clone(),
            tx.clone(),
        );
        tasks.push(t);
        let (hpas, t) = spawn_watch(
            "hpa",
            Api::<HorizontalPodAutoscaler>::namespaced(watch_client.clone(), ns),
            base.clone(),
            (),
            states.clone(),
            tx.clone(),
        );
        tasks.push(t);
        let (events, t) = spawn_watch(
            "events",
            Api::<Event>::namespaced(watch_client.clone(), ns),
            base.clone(),
            (),
            states.clone(),
            tx.clone(),
        );
        tasks.push(t);
        let (deployments, t) = spawn_watch(
            "deployment",
            Api::<Deployment>::namespaced(watch_client.clone(), ns),
            base.clone(),
            (),
            states.clone(),
            tx.clone(),
        );
        tasks.push(t);
        let (scaled_objects, t) = spawn_watch(
            "scaledobject",
            Api::<DynamicObject>::namespaced_with(watch_client, ns, &keda_scaled_objects()),
            base,
            keda_scaled_objects(),
            states.clone(),
            tx.clone(),
        );
        tasks.push(t);

        let prom = Arc::new(Mutex::new(PromState::default()));
        tasks.push(tokio::spawn(poll_prometheus(
            prometheus,
            queries,
            interval,
            settings.request_timeout,
            prom.clone(),
            tx.clone(),
        )));
        Live {
            pods,
            nodes,
            hpas,
            events,
            deployments,
            scaled_objects,
            node_claims: None,
            states,
            prometheus: prom,
            changes,
            tx,
            tasks,
        }
    }

    /// Also watches Karpenter's NodeClaims at `version` (`v1`, or `v1beta1`
    /// before Karpenter 1.0: the one the first collect read), so `watch` sees
    /// a node coming for a scale-up that starts after it did and `kubectl
    /// spice test` times node launches; the snapshot then carries them.
    pub fn watch_node_claims(&mut self, watch_client: kube::Client, version: &str) {
        let ar = ApiResource {
            group: "karpenter.sh".into(),
            version: version.into(),
            api_version: format!("karpenter.sh/{version}"),
            kind: "NodeClaim".into(),
            plural: "nodeclaims".into(),
        };
        let (store, task) = spawn_watch(
            "nodeclaims",
            Api::<DynamicObject>::all_with(watch_client, &ar),
            watcher::Config::default().timeout(290),
            ar,
            self.states.clone(),
            self.tx.clone(),
        );
        self.node_claims = Some(store);
        self.tasks.push(task);
    }

    /// A receiver that changes whenever a watch event or a poll arrives.
    pub fn changes(&self) -> signal::Receiver<u64> {
        self.changes.clone()
    }

    pub fn state(&self, source: &str) -> SourceState {
        self.states
            .lock()
            .expect("states")
            .get(source)
            .cloned()
            .unwrap_or_default()
    }

    /// The pods and nodes lists have completed and Prometheus answered once
    /// (or failed): enough for a first frame.
    pub fn ready(&self) -> bool {
        let s = |n| {
            let st = self.state(n);
            st.synced || st.error.is_some()
        };
        s("pods") && s("nodes") && self.prometheus.lock().expect("prom").polls > 0
    }

    /// Why the Kubernetes API cannot be read (pods or nodes watch failing).
    pub fn api_error(&self) -> Option<String> {
        ["pods", "nodes"]
            .iter()
            .find_map(|n| self.state(n).error.map(|e| format!("{n}: {e}")))
    }

    pub fn prometheus_error(&self) -> Option<String> {
        self.prometheus.lock().expect("prom").error.clone()
    }

    /// The stores as a Snapshot. `base` holds what is not watched (API
    /// discovery, Karpenter, the KEDA operator), read once at start.
    pub fn snapshot(
        &self,
        base: &Snapshot,
        settings: &crate::settings::Settings,
        at: jiff::Timestamp,
    ) -> Snapshot {
        let mut snap = base.clone();
        snap.captured_at = at;
        let watched = [
            "pods",
            "nodes",
            "hpa",
            "events",
            "deployment",
            "scaledobject",
            "prometheus",
        ];
        snap.gaps.retain(|g| !watched.contains(&g.source.as_str()));
        let gap = |source: &str, st: &SourceState| {
            if let Some(e) = &st.error {
                snap_gap(source, e)
            } else {
                None
            }
        };
        let mut gaps = Vec::new();

        let st = self.state("pods");
        if st.synced {
            let mut v: Vec<PodInfo> = self.pods.state().iter().map(|p| convert::pod(p)).collect();
            v.sort_by(|a, b| a.name.cmp(&b.name));
            snap.pods = Some(v);
        }
        gaps.extend(gap("pods", &st));
        let st = self.state("nodes");
        if st.synced {
            let mut v: Vec<NodeInfo> = self
                .nodes
                .state()
                .iter()
                .map(|n| convert::node(n))
                .collect();
            v.sort_by(|a, b| a.name.cmp(&b.name));
            snap.nodes = Some(v);
        }
        gaps.extend(gap("nodes", &st));
        let st = self.state("hpa");
        if st.synced {
            let mut v: Vec<HpaInfo> = self.hpas.state().iter().map(|h| convert::hpa(h)).collect();
            v.sort_by(|a, b| a.name.cmp(&b.name));
            snap.hpas = Some(v);
        }
        gaps.extend(gap("hpa", &st));
        let st = self.state("events");
        if st.synced {
            let mut v: Vec<EventInfo> = self
                .events
                .state()
                .iter()
                .map(|e| convert::event(e))
                .collect();
            v.sort_by(|a, b| {
                b.last_seen
                    .cmp(&a.last_seen)
                    .then_with(|| a.reason.cmp(&b.reason))
            });
            snap.events = Some(v);
        }
        gaps.extend(gap("events", &st));
        let st = self.state("deployment");
        if st.synced {
            snap.deployment = Some(
                match self
                    .deployments
                    .state()
                    .iter()
                    .find(|d| d.metadata.name.as_deref() == Some(settings.deployment.as_str()))
                {
                    Some(d) => Lookup::Found(convert::deployment(d)),
                    None => Lookup::Missing,
                },
            );
        }
        gaps.extend(gap("deployment", &st));
        let st = self.state("scaledobject");
        if st.synced {
            snap.scaled_object =
                Some(
                    match self.scaled_objects.state().iter().find(|o| {
                        o.metadata.name.as_deref() == Some(settings.scaled_object.as_str())
                    }) {
                        Some(o) => {
                            let value = serde_json::to_value(o.as_ref()).unwrap_or_default();
                            Lookup::Found(convert::scaled_object(&value))
                        }
                        None => Lookup::Missing,
                    },
                );
        } else if base.apis.keda == Some(false) {
            snap.scaled_object = None;
        }
        // KEDA not installed is already a finding from discovery: not a gap.
        if base.apis.keda != Some(false) {
            gaps.extend(gap("scaledobject", &st));
        }

        if let Some(store) = &self.node_claims {
            let st = self.state("nodeclaims");
            if st.synced {
                let mut v: Vec<NodeClaimInfo> = store
                    .state()
                    .iter()
                    .map(|o| {
                        convert::node_claim(&serde_json::to_value(o.as_ref()).unwrap_or_default())
                    })
                    .collect();
                v.sort_by(|a, b| a.name.cmp(&b.name));
                snap.node_claims = Some(v);
            }
            // A watch that cannot list NodeClaims is a gap, never "no node
            // is coming".
            gaps.extend(gap("nodeclaims", &st));
        }

        let prom = self.prometheus.lock().expect("prom").clone();
        if prom.polls > 0 {
            snap.prometheus = prom.answers;
            if let Some(e) = prom.error {
                gaps.extend(snap_gap("prometheus", &e));
            }
        }
        snap.gaps.extend(gaps);
        snap
    }
}

fn snap_gap(source: &str, message: &str) -> Option<Gap> {
    let lower = message.to_ascii_lowercase();
    let reason = if lower.contains("forbidden") {
        GapReason::Forbidden
    } else if lower.contains("unauthorized") {
        GapReason::Unauthorized
    } else if lower.contains("timed out") || lower.contains("timeout") {
        GapReason::Timeout
    } else {
        GapReason::Unreachable
    };
    Some(Gap {
        source: source.into(),
        reason,
        message: message.to_string(),
        hint: "the watch retries with backoff; check the connection and RBAC (list/watch)".into(),
    })
}

/// Polls every query each interval, all at once, each bounded by `timeout`
/// (and never longer than the interval would allow the screen to go stale:
/// the poll runs in its own task, the view reads only the latest result).
async fn poll_prometheus(
    api: Result<HttpApi, String>,
    queries: Vec<Query>,
    interval: Duration,
    timeout: Duration,
    state: Arc<Mutex<PromState>>,
    tx: signal::Sender<u64>,
) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tick.tick().await;
        let api = match &api {
            Ok(a) => a,
            Err(e) => {
                let mut s = state.lock().expect("prom");
                s.error = Some(e.clone());
                s.polls += 1;
                drop(s);
                bump(&tx);
                return;
            }
        };
        let results = futures::future::join_all(queries.iter().map(|q| async move {
            let res = match tokio::time::timeout(timeout, api.query(&q.promql)).await {
                Ok(Ok(samples)) => Ok(samples),
                Ok(Err(f)) => Err(f.message),
                Err(_) => Err(format!(
                    "{}: no answer within {}s",
                    api.describe(),
                    timeout.as_secs_f64()
                )),
            };
            (q, res)
        }))
        .await;
        let mut answers = BTreeMap::new();
        let mut first_error = None;
        let mut any_ok = false;
        for (q, res) in results {
            let answer = match res {
                Ok(samples) => {
                    any_ok = true;
                    super::prometheus::answer(q, samples)
                }
                Err(e) => {
                    first_error.get_or_insert_with(|| e.clone());
                    PromAnswer {
                        query: q.promql.clone(),
                        samples: None,
                        error: Some(e),
                    }
                }
            };
            answers.insert(q.key.to_string(), answer);
        }
        let mut s = state.lock().expect("prom");
        let error = if any_ok { None } else { first_error };
        // Sample timestamps move every poll; only values and errors are news.
        let same = s.error == error && same_values(&s.answers, &answers);
        if error.is_none() || s.answers.is_empty() {
            s.answers = answers;
        } else {
            // In an outage keep the last good answers (the banner says how old).
            for (k, v) in answers {
                s.answers.entry(k).or_insert(v);
            }
        }
        s.error = error;
        let first = s.polls == 0;
        s.polls += 1;
        drop(s);
        if first || !same {
            bump(&tx);
        }
    }
}

fn same_values(a: &BTreeMap<String, PromAnswer>, b: &BTreeMap<String, PromAnswer>) -> bool {
    let values = |m: &BTreeMap<String, PromAnswer>| -> Vec<(String, Option<Vec<u64>>)> {
        m.iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.samples.as_ref().map(|s| {
                        s.iter()
                            .map(|x| (x.value * 1000.0).round() as u64)
                            .collect()
                    }),
                )
            })
            .collect()
    };
    values(a) == values(b)
}
