//! Live sources for `kubectl spice watch`: kube-runtime watchers feeding
//! reflector stores (initial list, then watch events; 410 re-list and
//! exponential backoff are the watcher's own), and Prometheus polled every
//! interval in its own task with a deadline, so one slow poll never holds a
//! frame back. [`Live::snapshot`] turns the stores into the same `Snapshot`
//! the one-shot commands build, so the same checks judge it. Pods, nodes and
//! events are watched as the small types of `wire`, so a store holds a few
//! hundred bytes an object (no managedFields, no full specs).

use super::build::SnapshotBuilder;
use super::error::Failure;
use super::lenient::Lenient;
use super::prometheus::HttpApi;
use super::promql::Query;
use super::wire::{Deployment, Event, Node, Pod};
use crate::snapshot::*;
use futures::StreamExt;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use kube::api::{Api, ApiResource, DynamicObject};
use kube::runtime::reflector::{self, Store};
use kube::runtime::watcher;
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
    /// The latest failure, cleared by the next successful event.
    pub error: Option<Failure>,
    /// Bumped by every event recorded, after the store took it: a store
    /// whose version did not move holds what it held.
    pub version: u64,
}

/// The latest Prometheus poll.
#[derive(Debug, Clone, Default)]
pub struct PromState {
    pub answers: BTreeMap<String, PromAnswer>,
    /// Every query failed: why (for the banner).
    pub error: Option<Failure>,
    pub polls: u64,
    /// The Prometheus the ScaledObject's trigger names, read because the
    /// configured Service does not exist (as `diagnose` says it).
    pub read_from: Option<crate::snapshot::ReadFrom>,
    /// Bumped when an answer's values or the error changed (not by a poll
    /// that only moved the samples' timestamps).
    pub version: u64,
}

type States = Arc<Mutex<BTreeMap<&'static str, SourceState>>>;

/// The running watchers and the Prometheus poller. Dropping it stops them.
pub struct Live {
    pods: Store<Pod>,
    nodes: Store<Node>,
    hpas: Store<Lenient<HorizontalPodAutoscaler>>,
    events: Store<Event>,
    deployments: Store<Lenient<Deployment>>,
    scaled_objects: Store<Lenient<DynamicObject>>,
    /// Karpenter NodeClaims, watched only when asked ([`Live::watch_node_claims`]).
    node_claims: Option<Store<DynamicObject>>,
    states: States,
    prometheus: Arc<Mutex<PromState>>,
    changes: signal::Receiver<u64>,
    tx: signal::Sender<u64>,
    tasks: Vec<JoinHandle<()>>,
    /// How long each page of a watcher's list may take.
    list_deadline: Duration,
    /// The pods and nodes stores as the snapshot holds them, converted
    /// when their store last changed, not every frame (issue 21, item 4).
    converted: Mutex<Converted>,
}

/// Converted stores, each with the source version it was converted at.
#[derive(Default)]
struct Converted {
    pods: Option<(u64, Arc<Vec<PodInfo>>)>,
    nodes: Option<(u64, Vec<NodeInfo>)>,
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
///
/// Two things kube-runtime's `reflect` with `default_backoff` does not do:
/// its backoff is reset by every good event, so a watch that fails right
/// after each good list (410 Gone, an ERROR event) relisted at once for as
/// long as it ran; here the backoff is client-go's (800 ms doubling to 30 s),
/// reset only after two minutes without a failure. And a list has no
/// deadline on a client without a read timeout, so a list whose answer
/// stalls was waited for forever; here each page of a list must arrive
/// within `list_deadline` (the one-shot reads' `--request-timeout`), or the
/// watcher is started again after the backoff.
fn spawn_watch<K>(
    name: &'static str,
    api: Api<K>,
    config: watcher::Config,
    dyntype: K::DynamicType,
    states: States,
    tx: signal::Sender<u64>,
    list_deadline: Duration,
) -> (Store<K>, JoinHandle<()>)
where
    K: kube::Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone + Send + Sync,
{
    let mut writer = reflector::store::Writer::new(dyntype);
    let reader = writer.as_reader();
    states
        .lock()
        .expect("states")
        .insert(name, SourceState::default());
    let task = tokio::spawn(async move {
        let mut backoff = watcher::DefaultBackoff::default();
        let delay = |backoff: &mut watcher::DefaultBackoff| {
            backoff.next().unwrap_or(Duration::from_secs(30))
        };
        loop {
            let stream = watcher(api.clone(), config.clone());
            let mut stream = std::pin::pin!(stream);
            // Between the list's start (Init) and its end (InitDone).
            let mut listing = true;
            loop {
                let next = if listing {
                    match tokio::time::timeout(list_deadline, stream.next()).await {
                        Ok(next) => next,
                        Err(_) => {
                            record(&states, &tx, name, |state| {
                                state.error = Some(Failure {
                                    reason: GapReason::Timeout,
                                    message: format!(
                                        "the list did not answer within {}",
                                        crate::settings::show_duration(list_deadline)
                                    ),
                                    hint: WATCH_HINT.into(),
                                });
                            });
                            break;
                        }
                    }
                } else {
                    stream.next().await
                };
                let Some(item) = next else { break };
                if let Ok(event) = &item {
                    writer.apply_watcher_event(event);
                }
                match item {
                    Ok(watcher::Event::Init) => listing = true,
                    Ok(watcher::Event::InitApply(_)) => {}
                    Ok(watcher::Event::InitDone) => {
                        listing = false;
                        record(&states, &tx, name, |state| {
                            state.synced = true;
                            state.error = None;
                        });
                    }
                    Ok(_) => record(&states, &tx, name, |state| state.error = None),
                    Err(e) => {
                        record(&states, &tx, name, |state| {
                            state.error = Some(watch_failure(&e))
                        });
                        tokio::time::sleep(delay(&mut backoff)).await;
                    }
                }
            }
            // The list stalled (or the stream ended): a new watcher, later.
            tokio::time::sleep(delay(&mut backoff)).await;
        }
    });
    (reader, task)
}

/// Changes one source's health and says so.
fn record(
    states: &States,
    tx: &signal::Sender<u64>,
    name: &'static str,
    change: impl FnOnce(&mut SourceState),
) {
    let mut states = states.lock().expect("states");
    let state = states.entry(name).or_default();
    change(state);
    state.version = state.version.wrapping_add(1);
    drop(states);
    bump(tx);
}

/// A watched source whose first list has not answered yet.
const UNLISTED: &str = "the first list has not answered yet";

/// What the watch retries by itself, said on every gap of a watched source.
const WATCH_HINT: &str =
    "the watch retries with backoff; check the connection and RBAC (list/watch)";

/// A watch line that is no watch event of the watched kind.
const UNREADABLE: &str =
    "the server sent a watch event that could not be read (not an object of this kind)";

/// A watcher error as a failure: classified by its type and status code,
/// worded as one short line (kube nests the same cause several times).
fn watch_failure(e: &watcher::Error) -> Failure {
    let (reason, text) = match e {
        watcher::Error::InitialListFailed(k)
        | watcher::Error::WatchStartFailed(k)
        | watcher::Error::WatchFailed(k) => match k {
            other if super::bounded::too_large(other).is_some() => (
                GapReason::Error,
                super::bounded::too_large(other)
                    .map(|t| t.to_string())
                    .unwrap_or_default(),
            ),
            // kube reads a watch line it cannot decode as an event as a
            // Status, all of whose fields default: code 0, no message.
            kube::Error::Api(status) if status.code == 0 => (GapReason::Error, UNREADABLE.into()),
            kube::Error::SerdeError(e) => (
                GapReason::Error,
                format!("{UNREADABLE}: {}", crate::error::quote(&e.to_string())),
            ),
            kube::Error::Api(status) => (
                super::error::status_reason(status),
                crate::error::chain_text(k),
            ),
            other if super::error::timed_out(other) => {
                (GapReason::Timeout, crate::error::chain_text(k))
            }
            _ => (GapReason::Unreachable, crate::error::chain_text(k)),
        },
        watcher::Error::WatchError(s) if s.code == 0 => (GapReason::Error, UNREADABLE.into()),
        watcher::Error::WatchError(s) => {
            (super::error::status_reason(s), crate::error::status_text(s))
        }
        watcher::Error::NoResourceVersion => (GapReason::Error, e.to_string()),
    };
    Failure {
        reason,
        message: text.lines().next().unwrap_or_default().to_string(),
        hint: WATCH_HINT.into(),
    }
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
            settings.request_timeout,
        );
        tasks.push(t);
        let (nodes, t) = spawn_watch(
            "nodes",
            Api::<Node>::all(watch_client.clone()),
            base.clone().page_size(super::lists::NODE_PAGE),
            (),
            states.clone(),
            tx.clone(),
            settings.request_timeout,
        );
        tasks.push(t);
        let (hpas, t) = spawn_watch(
            "hpa",
            Api::<Lenient<HorizontalPodAutoscaler>>::namespaced(watch_client.clone(), ns),
            base.clone(),
            (),
            states.clone(),
            tx.clone(),
            settings.request_timeout,
        );
        tasks.push(t);
        let (events, t) = spawn_watch(
            "events",
            Api::<Event>::namespaced(watch_client.clone(), ns),
            base.clone().fields(super::lists::EVENT_FIELDS),
            (),
            states.clone(),
            tx.clone(),
            settings.request_timeout,
        );
        tasks.push(t);
        let (deployments, t) = spawn_watch(
            "deployment",
            Api::<Lenient<Deployment>>::namespaced(watch_client.clone(), ns),
            base.clone(),
            (),
            states.clone(),
            tx.clone(),
            settings.request_timeout,
        );
        tasks.push(t);
        let (scaled_objects, t) = spawn_watch(
            "scaledobject",
            Api::<Lenient<DynamicObject>>::namespaced_with(
                watch_client,
                ns,
                &keda_scaled_objects(),
            ),
            base,
            keda_scaled_objects(),
            states.clone(),
            tx.clone(),
            settings.request_timeout,
        );
        tasks.push(t);

        let prom = Arc::new(Mutex::new(PromState::default()));
        // The watched ScaledObject's trigger names the Prometheus to read
        // when the configured Service does not exist, and, without a
        // prometheusTenant, the tenant to send when it answers `no org id`.
        let tenant_source = Some(TriggerSource {
            store: scaled_objects.clone(),
            name: settings.scaled_object.clone(),
            tenant_set: settings.prometheus_tenant.is_some(),
        });
        tasks.push(tokio::spawn(poll_prometheus(
            prometheus,
            queries,
            interval,
            settings.request_timeout,
            prom.clone(),
            tx.clone(),
            tenant_source,
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
            list_deadline: settings.request_timeout,
            converted: Mutex::default(),
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
            self.list_deadline,
        );
        self.node_claims = Some(store);
        self.tasks.push(task);
    }

    /// Each watched node's allocatable CPU and memory by node name (what
    /// `kubectl top nodes` divides usage by), from the node store.
    pub fn allocatable(&self) -> BTreeMap<String, super::wire::Allocatable> {
        self.nodes
            .state()
            .iter()
            .filter_map(|n| Some((n.metadata.name.clone()?, n.status.allocatable.clone())))
            .collect()
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
    /// The ScaledObject store's first list is in, or failed.
    pub fn scaled_object_listed(&self) -> bool {
        let st = self.state("scaledobject");
        st.synced || st.error.is_some()
    }

    /// The watched ScaledObject `name`, once listed.
    pub fn scaled_object(&self, name: &str) -> Option<DynamicObject> {
        self.scaled_objects
            .state()
            .iter()
            .find(|o| o.0.metadata.name.as_deref() == Some(name))
            .map(|o| o.0.clone())
    }

    pub fn ready(&self) -> bool {
        let s = |n| {
            let st = self.state(n);
            st.synced || st.error.is_some()
        };
        s("pods") && s("nodes") && self.prometheus.lock().expect("prom").polls > 0
    }

    /// Why the Kubernetes API cannot be read (pods or nodes watch failing,
    /// or its first list not answered yet: nothing else reads them).
    pub fn api_error(&self) -> Option<String> {
        ["pods", "nodes"].iter().find_map(|n| {
            let st = self.state(n);
            st.error
                .map(|e| format!("{n}: {}", e.message))
                .or_else(|| (!st.synced).then(|| format!("{n}: {UNLISTED}")))
        })
    }

    pub fn prometheus_error(&self) -> Option<String> {
        let prom = self.prometheus.lock().expect("prom");
        prom.error.as_ref().map(|f| f.message.clone())
    }

    /// What the watched Kubernetes sources hold, as a number that moves
    /// whenever one of them took an event or changed its health: two frames
    /// with the same number read the same objects and the same gaps.
    pub fn kube_version(&self) -> u64 {
        self.states
            .lock()
            .expect("states")
            .values()
            // `+ 1`: a source watched since (NodeClaims) moves it too.
            .fold(0u64, |sum, s| sum.wrapping_add(s.version).wrapping_add(1))
    }

    /// The version of Prometheus's answers ([`PromState::version`]).
    pub fn prometheus_version(&self) -> u64 {
        self.prometheus.lock().expect("prom").version
    }

    /// A snapshot taken by [`Live::snapshot`] brought to `at` when the
    /// Kubernetes sources did not change since ([`Live::kube_version`]):
    /// only the Prometheus answers (and their gap) are read again, so a
    /// frame on a steady cluster costs what changed, not the pod count.
    pub fn refresh(&self, snap: &mut Snapshot, at: jiff::Timestamp) {
        snap.captured_at = at;
        let prom = self.prometheus.lock().expect("prom").clone();
        if prom.polls > 0 {
            snap.gaps.retain(|g| g.source != "prometheus");
            snap.prometheus = prom.answers;
            if let Some(f) = prom.error {
                snap.gaps.push(f.into_gap("prometheus"));
            }
        }
    }

    /// The stores as a Snapshot. `base` holds what is not watched (API
    /// discovery, Karpenter, the KEDA operator), read once at start.
    pub fn snapshot(
        &self,
        base: &Snapshot,
        settings: &crate::settings::Settings,
        at: jiff::Timestamp,
    ) -> Snapshot {
        self.snapshot_sharing_pods(base, settings, at).0
    }

    /// [`Live::snapshot`], and the converted pod list its `pods` were
    /// copied from (when the pods store was read), shared: `watch` hands
    /// it to its model instead of a third copy.
    pub fn snapshot_sharing_pods(
        &self,
        base: &Snapshot,
        settings: &crate::settings::Settings,
        at: jiff::Timestamp,
    ) -> (Snapshot, Option<Arc<Vec<PodInfo>>>) {
        let shared: Mutex<Option<Arc<Vec<PodInfo>>>> = Mutex::new(None);
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
        // A watched source's gap is the store's, not the first collect's.
        let claims_watched = self.node_claims.is_some();
        let rewatched =
            |source: &str| watched.contains(&source) || (claims_watched && source == "nodeclaims");
        snap.gaps.retain(|g| !rewatched(g.source.as_str()));
        // KEDA not installed is already a finding from discovery: not a
        // ScaledObject to wait for, and not a gap.
        let keda_absent = base.apis.keda == Some(false);
        if keda_absent && !self.state("scaledobject").synced {
            snap.scaled_object = None;
        }
        let mut b = SnapshotBuilder::new(snap);
        // A store is the source's objects once its first list completed; its
        // latest failure is a gap either way (the store keeps what it had).
        let source = |b: &mut SnapshotBuilder, name: &str, fill: &dyn Fn(&mut SnapshotBuilder)| {
            let st = self.state(name);
            if st.synced {
                fill(b);
            }
            // The start-up read does not list what is watched: a first list
            // still unanswered is a gap too, never an empty source.
            let unlisted = (!st.synced && st.error.is_none()).then(|| Failure {
                reason: GapReason::Timeout,
                message: format!("{name}: {UNLISTED}"),
                hint: WATCH_HINT.into(),
            });
            if let Some(f) = st.error.or(unlisted)
                && !(name == "scaledobject" && keda_absent)
            {
                b.gap(name, f);
            }
        };
        source(&mut b, "pods", &|b| {
            // The version is read before the store: a change after it only
            // makes the next frame convert again.
            let version = self.state("pods").version;
            let mut converted = self.converted.lock().expect("converted");
            let pods = match &converted.pods {
                Some((v, pods)) if *v == version => pods.clone(),
                _ => {
                    let pods = Arc::new(super::build::converted_pods(
                        self.pods.state().iter().map(|p| p.as_ref()),
                    ));
                    converted.pods = Some((version, pods.clone()));
                    pods
                }
            };
            b.pods_converted(pods.as_ref().clone());
            *shared.lock().expect("shared") = Some(pods);
        });
        source(&mut b, "nodes", &|b| {
            let version = self.state("nodes").version;
            let mut converted = self.converted.lock().expect("converted");
            let nodes = match &converted.nodes {
                Some((v, nodes)) if *v == version => nodes.clone(),
                _ => {
                    let nodes = super::build::converted_nodes(
                        self.nodes.state().iter().map(|n| n.as_ref()),
                    );
                    converted.nodes = Some((version, nodes.clone()));
                    nodes
                }
            };
            b.nodes_converted(nodes);
        });
        source(&mut b, "hpa", &|b| {
            b.hpas(Ok(self.hpas.state().iter().map(|h| &h.0)))
        });
        source(&mut b, "events", &|b| {
            b.events(Ok(self.events.state().iter().map(|e| e.as_ref())), None)
        });
        source(&mut b, "deployment", &|b| {
            let store = self.deployments.state();
            let name = Some(settings.deployment.as_str());
            b.deployment(Ok(store
                .iter()
                .find(|d| d.0.metadata.name.as_deref() == name)
                .map(|d| &d.0)))
        });
        source(&mut b, "scaledobject", &|b| {
            let store = self.scaled_objects.state();
            let name = Some(settings.scaled_object.as_str());
            b.scaled_object(Ok(store
                .iter()
                .find(|o| o.0.metadata.name.as_deref() == name)
                .map(|o| &o.0)))
        });
        // A watch that cannot list NodeClaims is a gap, never "no node is
        // coming".
        if let Some(store) = &self.node_claims {
            source(&mut b, "nodeclaims", &|b| {
                b.node_claims(Ok(store.state().iter().map(|o| o.as_ref())))
            });
        }
        let prom = self.prometheus.lock().expect("prom").clone();
        if prom.polls > 0 {
            b.prometheus(prom.answers, prom.error);
        }
        if let Some(read) = prom.read_from {
            b.prometheus_read(read);
        }
        let pods = shared.into_inner().expect("shared");
        (b.finish(), pods)
    }
}

/// Where the Prometheus poller finds the game's ScaledObject.
struct TriggerSource {
    store: Store<Lenient<DynamicObject>>,
    name: String,
    /// A prometheusTenant is set: the trigger's tenant is not used.
    tenant_set: bool,
}

impl TriggerSource {
    /// The watched ScaledObject, once its first list is in (bounded).
    async fn scaled_object(&self, timeout: Duration) -> Option<Arc<Lenient<DynamicObject>>> {
        let _ = tokio::time::timeout(timeout, self.store.wait_until_ready()).await;
        self.store
            .state()
            .into_iter()
            .find(|o| o.0.metadata.name.as_deref() == Some(self.name.as_str()))
    }
}

/// Polls the queries each interval, folded into one request (see
/// `folded`), the slow ones in a second folded request every
/// [`folded::SLOW_EVERY`] only (their last answers stay in between), each
/// bounded by `timeout` (and never longer than the interval would allow the
/// screen to go stale: the poll runs in its own task, the view reads only
/// the latest result).
async fn poll_prometheus(
    mut prom_api: Result<HttpApi, String>,
    queries: Vec<Query>,
    interval: Duration,
    timeout: Duration,
    state: Arc<Mutex<PromState>>,
    tx: signal::Sender<u64>,
    tenant_source: Option<TriggerSource>,
) {
    let (slow, fast): (Vec<Query>, Vec<Query>) = queries
        .into_iter()
        .partition(|q| super::folded::is_slow(q.key));
    let slow_every = super::folded::slow_every(interval);
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut round: u64 = 0;
    let mut again_now = false;
    // The trigger's Prometheus is read instead of a missing Service once.
    let mut switched = false;
    loop {
        if !std::mem::take(&mut again_now) {
            tick.tick().await;
        }
        let api_now = prom_api.clone();
        let api = match &api_now {
            Ok(a) => a,
            Err(e) => {
                let mut s = state.lock().expect("prom");
                s.error = Some(Failure {
                    reason: GapReason::Unreachable,
                    message: e.clone(),
                    hint: WATCH_HINT.into(),
                });
                s.polls += 1;
                s.version = s.version.wrapping_add(1);
                drop(s);
                bump(&tx);
                return;
            }
        };
        let due: Vec<&[Query]> = [&fast[..], &slow[..]]
            .into_iter()
            .enumerate()
            .filter(|(i, g)| !g.is_empty() && (*i == 0 || round.is_multiple_of(slow_every)))
            .map(|(_, g)| g)
            .collect();
        round = round.wrapping_add(1);
        let results = futures::future::join_all(due.into_iter().map(|group| async move {
            let promql = super::folded::fold(group);
            let res = match tokio::time::timeout(timeout, api.query(&promql)).await {
                Ok(Ok(samples)) => Ok(samples),
                Ok(Err(f)) => Err(Failure {
                    hint: WATCH_HINT.into(),
                    ..f
                }),
                Err(_) => Err(Failure::timed_out(&api.describe(), timeout, WATCH_HINT)),
            };
            (group, res)
        }))
        .await;
        let mut answers = BTreeMap::new();
        let mut first_error = None;
        let mut any_ok = false;
        for (group, res) in results {
            match res {
                Ok(samples) => {
                    any_ok = true;
                    let mut by_key = super::folded::split(samples);
                    for q in group {
                        let samples = by_key.remove(q.key).unwrap_or_default();
                        answers.insert(q.key.to_string(), super::prometheus::answer(q, samples));
                    }
                }
                Err(f) => {
                    for q in group {
                        answers.insert(
                            q.key.to_string(),
                            PromAnswer {
                                query: q.promql.clone(),
                                samples: None,
                                error: Some(f.message.clone()),
                            },
                        );
                    }
                    first_error.get_or_insert(f);
                }
            }
        }
        let error = if any_ok { None } else { first_error };
        // The configured Prometheus Service does not exist: read the one
        // the ScaledObject's trigger names (once), as `diagnose` does. A
        // multi-tenant Prometheus wants a tenant and none is set: send the
        // one the trigger sends. Either way, poll again at once.
        let missing = !switched
            && error
                .as_ref()
                .is_some_and(|f| f.reason == GapReason::NotFound);
        let wants_tenant = api.tenant().is_none()
            && tenant_source.as_ref().is_some_and(|t| !t.tenant_set)
            && super::collect::said_no_org_id(error.as_ref());
        let so = match &tenant_source {
            Some(t) if missing || wants_tenant => t.scaled_object(timeout).await,
            _ => None,
        };
        let instead = so.as_ref().and_then(|so| {
            let tenant = || {
                api.tenant()
                    .map(str::to_string)
                    .or_else(|| super::collect::trigger_tenant(&so.0))
            };
            if missing && let Some((other, addr)) = super::collect::trigger_api(api, &so.0) {
                switched = true;
                let why = error.as_ref().map_or("not found", |f| f.message.as_str());
                state.lock().expect("prom").read_from = Some(crate::snapshot::ReadFrom {
                    address: addr.show(),
                    how: "ScaledObject trigger".into(),
                    instead_of: Some(format!("{}: {why}", api.describe())),
                    tenant: None,
                    tenant_from: None,
                });
                return Some(other.with_tenant(tenant()));
            }
            wants_tenant
                .then(|| super::collect::trigger_tenant(&so.0))
                .flatten()
                .map(|t| api.clone().with_tenant(Some(t)))
        });
        if let Some(other) = instead {
            prom_api = Ok(other);
            // The same groups again (the slow ones included), at once.
            round = round.wrapping_sub(1);
            again_now = true;
            continue;
        }
        let mut s = state.lock().expect("prom");
        // Sample timestamps move every poll; only values and errors are news.
        let same = s.error == error && same_values(&s.answers, &answers);
        for (k, v) in answers {
            // In an outage keep the last good answers (the banner says how
            // old); a query not polled this time keeps its last answer.
            if error.is_none() || !s.answers.contains_key(&k) {
                s.answers.insert(k, v);
            }
        }
        s.error = error;
        let first = s.polls == 0;
        s.polls += 1;
        if first || !same {
            s.version = s.version.wrapping_add(1);
            drop(s);
            bump(&tx);
        }
    }
}

/// Whether every answer of `new` has the values `old` holds for its query.
fn same_values(old: &BTreeMap<String, PromAnswer>, new: &BTreeMap<String, PromAnswer>) -> bool {
    let old: BTreeMap<String, PromAnswer> = old
        .iter()
        .filter(|(k, _)| new.contains_key(*k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let (a, b) = (&old, new);
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
