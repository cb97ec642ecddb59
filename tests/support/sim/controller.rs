//! Closes the loop in the simulated cluster: a background thread plays KEDA,
//! the HPA, the Deployment controller, the scheduler, the kubelet and
//! Karpenter against the simulator's objects, from the real nginx request
//! rate in a real Prometheus. Timings are configurable so a test can scale
//! them down; the shapes of the objects it writes are the real ones (pods,
//! nodes and NodeClaims are cloned from scenario objects that were copied
//! from `kubectl get -o yaml`).
//!
//! What each part does, from upstream:
//! - KEDA (kedacore/keda v2.19, `pkg/scaling/executor/scale_scaledobjects.go`):
//!   every `pollingInterval` the trigger query is evaluated; active means
//!   value > `activationThreshold`. Active at 0 replicas → scale to
//!   max(minReplicaCount, 1) and set `lastActiveTime`; inactive with some
//!   replicas and minReplicaCount 0 → scale to 0 once `lastActiveTime +
//!   cooldownPeriod` is past. The `autoscaling.keda.sh/paused` annotation
//!   stops all of it.
//! - HPA (kubernetes v1.33, `pkg/controller/podautoscaler/replica_calculator.go`,
//!   `GetExternalPerPodMetricReplicas` for KEDA's `AverageValue` target):
//!   usageRatio = metric / (target × current); within the tolerance
//!   (`Tolerances.isWithin`: 1 − scaleDown ≤ ratio ≤ 1 + scaleUp, 0.1 each
//!   unless the ScaledObject's `advanced.horizontalPodAutoscalerConfig.behavior`
//!   sets `scaleUp/scaleDown.tolerance`) keep current, else
//!   ceil(metric / target); clamp to min/max; scale-down takes
//!   the highest recommendation of the stabilization window. It does nothing
//!   at 0 replicas (`ScalingDisabled`).
//! - Scheduler: a pod goes to a Karpenter node with a free slot, else it stays
//!   Pending with `PodScheduled=False, reason Unschedulable` and the
//!   scheduler's message (`0/3 nodes are available: 3 Insufficient cpu. ...`).
//! - Kubelet: Pending (ContainerCreating) → Running after `start_delay` →
//!   Ready after `ready_delay`; a deleted pod is Terminating for
//!   `terminate_delay`, then gone.
//! - Karpenter (kubernetes-sigs/karpenter v1): unschedulable pods not covered
//!   by a NodeClaim in flight get new NodeClaims; after `launch_delay` the node
//!   registers (Launched, Registered, Initialized) and pods schedule on it; a
//!   node it launched that stays empty for `consolidate_after` is removed.

use super::super::prom::{http_get, url_encode};
use super::Shared;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

/// How fast the simulated controllers act.
#[derive(Debug, Clone)]
pub struct Timings {
    /// Overrides the ScaledObject's `pollingInterval` (seconds in the object).
    pub polling: Option<Duration>,
    pub hpa_sync: Duration,
    pub scale_down_stabilization: Duration,
    pub start_delay: Duration,
    pub ready_delay: Duration,
    pub terminate_delay: Duration,
    /// Game pods one Karpenter node holds (1 CPU each on a c6i.xlarge: 3).
    pub pods_per_node: usize,
    pub launch_delay: Duration,
    pub consolidate_after: Duration,
}

impl Default for Timings {
    fn default() -> Timings {
        Timings {
            polling: Some(Duration::from_secs(2)),
            hpa_sync: Duration::from_secs(1),
            scale_down_stabilization: Duration::from_secs(4),
            start_delay: Duration::from_secs(2),
            ready_delay: Duration::from_secs(1),
            terminate_delay: Duration::from_secs(1),
            pods_per_node: 3,
            launch_delay: Duration::from_secs(3),
            consolidate_after: Duration::from_secs(5),
        }
    }
}

/// The running controller thread. Dropping it stops the thread.
pub struct Controller {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Controller {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

const NS: &str = "default";
const DEPLOYMENT: &str = "spice-runner";
const SCALED_OBJECT: &str = "spice-runner-keda";
const HPA: &str = "keda-hpa-spice-runner-keda";
const POOL_LABEL: &str = "karpenter.sh/nodepool";
const TICK: Duration = Duration::from_millis(100);

impl super::Sim {
    /// Starts the controllers. `pod_template` is a game pod as `kubectl get
    /// -o yaml` shows it (its name, node and status are replaced);
    /// `prometheus_port` is where the trigger query is evaluated.
    pub fn start_controller(
        &self,
        prometheus_port: u16,
        pod_template: Value,
        timings: Timings,
    ) -> Controller {
        let stop = Arc::new(AtomicBool::new(false));
        let shared = self.shared.clone();
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("sim-controller".into())
            .spawn(move || {
                let mut c = State::new(shared, prometheus_port, pod_template, timings);
                while !flag.load(Ordering::SeqCst) {
                    c.tick(Instant::now());
                    std::thread::sleep(TICK);
                }
            })
            .expect("controller thread");
        Controller {
            stop,
            thread: Some(thread),
        }
    }
}

/// A game pod the controller made, with the times of its life.
struct Pod {
    created: Instant,
    node: Option<String>,
    scheduled: Option<Instant>,
    running: bool,
    ready: bool,
    deleting: Option<Instant>,
    unschedulable: bool,
}

/// A node Karpenter launched in this run.
struct Claim {
    created: Instant,
    node: String,
    registered: bool,
    empty_since: Option<Instant>,
}

struct State {
    shared: Arc<Shared>,
    prom_port: u16,
    template: Value,
    t: Timings,
    replicas: usize,
    metric: f64,
    active: bool,
    last_poll: Option<Instant>,
    last_active: Option<Instant>,
    last_hpa: Option<Instant>,
    recommendations: Vec<(Instant, usize)>,
    pods: BTreeMap<String, Pod>,
    claims: BTreeMap<String, Claim>,
    serial: u64,
}

/// The simulated HPA's replica count for KEDA's AverageValue metric from
/// `current` (> 0) replicas: the usage ratio within `(up, down)` tolerance
/// keeps `current`, else ceil(metric / target); then clamped to
/// [min, max] (min ≥ 1: KEDA writes max(minReplicaCount, 1)).
pub fn hpa_wanted(
    metric: f64,
    target: f64,
    current: usize,
    min: usize,
    max: usize,
    (up, down): (f64, f64),
) -> usize {
    let ratio = metric / (target * current as f64);
    let within = (1.0 - down) <= ratio && ratio <= (1.0 + up);
    if within {
        current
    } else {
        (metric / target).ceil() as usize
    }
    .clamp(min.max(1), max.max(1))
}

fn now_rfc3339() -> String {
    super::rfc3339(SystemTime::now())
}

impl State {
    fn new(shared: Arc<Shared>, prom_port: u16, template: Value, t: Timings) -> State {
        let replicas = shared
            .store
            .lock()
            .unwrap()
            .get(("apps", "deployments"), NS, DEPLOYMENT)
            .and_then(|d| d["spec"]["replicas"].as_u64())
            .unwrap_or(0) as usize;
        State {
            shared,
            prom_port,
            template,
            t,
            replicas,
            metric: 0.0,
            active: false,
            last_poll: None,
            last_active: None,
            last_hpa: None,
            recommendations: Vec::new(),
            pods: BTreeMap::new(),
            claims: BTreeMap::new(),
            serial: SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64 % 100_000),
        }
    }

    fn get(&self, storage: (&'static str, &'static str), ns: &str, name: &str) -> Option<Value> {
        self.shared
            .store
            .lock()
            .unwrap()
            .get(storage, ns, name)
            .cloned()
    }

    fn tick(&mut self, now: Instant) {
        // The controller writes spec.replicas at the end of every tick, so a
        // different value here came from outside (a PATCH of the scale
        // subresource): it wins, as a scale does over the HPA until its next sync.
        if let Some(r) = self
            .get(("apps", "deployments"), NS, DEPLOYMENT)
            .and_then(|d| d["spec"]["replicas"].as_u64())
        {
            self.replicas = r as usize;
        }
        let so = self.get(("keda.sh", "scaledobjects"), NS, SCALED_OBJECT);
        let paused = so.as_ref().is_some_and(|so| {
            so["metadata"]["annotations"]["autoscaling.keda.sh/paused"]
                .as_str()
                .is_some_and(|v| !v.eq_ignore_ascii_case("false"))
        });
        if let Some(so) = so.filter(|_| !paused) {
            self.keda(now, &so);
            self.hpa(now, &so);
        }
        self.deployment(now);
        self.schedule(now);
        self.kubelet(now);
        self.karpenter(now);
    }

    /// The trigger query's value now (0 when the vector is empty).
    fn query(&self, promql: &str) -> Option<f64> {
        let path = format!("/api/v1/query?query={}", url_encode(promql));
        let (code, body) = http_get(self.prom_port, &path).ok()?;
        let v: Value = serde_json::from_str(&body).ok()?;
        if code != 200 || v["status"] != "success" {
            return None;
        }
        match v["data"]["result"].as_array()?.first() {
            Some(s) => s["value"][1].as_str()?.parse().ok(),
            None => Some(0.0),
        }
    }

    fn keda(&mut self, now: Instant, so: &Value) {
        let spec = &so["spec"];
        let polling = self.t.polling.unwrap_or(Duration::from_secs(
            spec["pollingInterval"].as_u64().unwrap_or(30),
        ));
        if self.last_poll.is_some_and(|p| now < p + polling) {
            return;
        }
        self.last_poll = Some(now);
        let trigger = &spec["triggers"][0]["metadata"];
        let num = |k: &str, d: f64| {
            trigger[k]
                .as_str()
                .and_then(|v| v.parse().ok())
                .unwrap_or(d)
        };
        let Some(metric) = trigger["query"].as_str().and_then(|q| self.query(q)) else {
            return;
        };
        self.metric = metric.max(0.0);
        let was = self.active;
        self.active = self.metric > num("activationThreshold", 0.0);
        let min = spec["minReplicaCount"].as_u64().unwrap_or(0) as usize;
        let cooldown = Duration::from_secs(spec["cooldownPeriod"].as_u64().unwrap_or(300));
        if self.active {
            self.last_active = Some(now);
            if self.replicas == 0 {
                self.replicas = min.max(1);
            }
        } else if self.replicas > 0
            && min == 0
            && self.last_active.is_none_or(|a| now >= a + cooldown)
        {
            self.replicas = 0;
            self.recommendations.clear();
        }
        if was != self.active {
            self.write_scaled_object(so);
        }
    }

    fn write_scaled_object(&self, so: &Value) {
        let mut so = so.clone();
        let (status, reason, message) = if self.active {
            (
                "True",
                "ScalerActive",
                "Scaling is performed because triggers are active",
            )
        } else {
            (
                "False",
                "ScalerNotActive",
                "Scaling is not performed because triggers are not active",
            )
        };
        if let Some(conds) = so["status"]["conditions"].as_array_mut() {
            for c in conds.iter_mut().filter(|c| c["type"] == "Active") {
                c["status"] = status.into();
                c["reason"] = reason.into();
                c["message"] = message.into();
            }
        }
        if self.active {
            so["status"]["lastActiveTime"] = now_rfc3339().into();
        }
        so["status"]["triggersActivity"]["s0-prometheus"]["isActive"] = self.active.into();
        self.shared.apply(so);
    }

    fn hpa(&mut self, now: Instant, so: &Value) {
        if self.replicas == 0 || self.last_hpa.is_some_and(|h| now < h + self.t.hpa_sync) {
            return;
        }
        self.last_hpa = Some(now);
        let spec = &so["spec"];
        let target = spec["triggers"][0]["metadata"]["threshold"]
            .as_str()
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|t| *t > 0.0)
            .unwrap_or(1.0);
        let min = (spec["minReplicaCount"].as_u64().unwrap_or(0) as usize).max(1);
        let max = spec["maxReplicaCount"].as_u64().unwrap_or(100) as usize;
        let current = self.replicas;
        let behavior = &spec["advanced"]["horizontalPodAutoscalerConfig"]["behavior"];
        // Before 1.35 the API server drops the tolerance KEDA copies to the HPA.
        let kept = self.shared.version.keeps_hpa_tolerance();
        let tolerance = |dir: &str| {
            behavior[dir]["tolerance"]
                .as_str()
                .and_then(|v| v.parse::<f64>().ok())
                .or_else(|| behavior[dir]["tolerance"].as_f64())
                .filter(|_| kept)
                .unwrap_or(0.1)
        };
        let wanted = hpa_wanted(
            self.metric,
            target,
            current,
            min,
            max,
            (tolerance("scaleUp"), tolerance("scaleDown")),
        );
        let window = self.t.scale_down_stabilization;
        self.recommendations.retain(|(at, _)| now < *at + window);
        self.recommendations.push((now, wanted));
        let stabilized = self
            .recommendations
            .iter()
            .map(|(_, r)| *r)
            .max()
            .unwrap_or(wanted);
        self.replicas = if wanted > current {
            wanted
        } else {
            stabilized.min(current)
        };
        self.write_hpa();
    }

    fn write_hpa(&self) {
        let Some(mut hpa) = self.get(("autoscaling", "horizontalpodautoscalers"), NS, HPA) else {
            return;
        };
        let before = hpa["status"].clone();
        let live = self.pods.values().filter(|p| p.deleting.is_none()).count();
        hpa["status"]["currentReplicas"] = live.into();
        hpa["status"]["desiredReplicas"] = self.replicas.into();
        let per_pod = if live == 0 {
            0.0
        } else {
            self.metric / live as f64
        };
        hpa["status"]["currentMetrics"] = json!([{
            "type": "External",
            "external": {
                "metric": {"name": "s0-prometheus", "selector": {"matchLabels": {"scaledobject.keda.sh/name": SCALED_OBJECT}}},
                "current": {"averageValue": format!("{}m", (per_pod * 1000.0).round() as i64)}
            }
        }]);
        if hpa["status"]["currentReplicas"] != before["currentReplicas"]
            || hpa["status"]["desiredReplicas"] != before["desiredReplicas"]
        {
            self.shared.apply(hpa);
        }
    }

    /// The Deployment/ReplicaSet controller: pods follow `replicas`; the
    /// surplus to delete is the least far along (unscheduled, then not Ready,
    /// then the newest), as the ReplicaSet controller ranks them.
    fn deployment(&mut self, now: Instant) {
        let live: Vec<String> = self
            .pods
            .iter()
            .filter(|(_, p)| p.deleting.is_none())
            .map(|(n, _)| n.clone())
            .collect();
        if live.len() < self.replicas {
            for _ in live.len()..self.replicas {
                self.create_pod(now);
            }
        } else if live.len() > self.replicas {
            let mut ranked: Vec<(String, (bool, bool, Instant))> = live
                .into_iter()
                .map(|n| {
                    let p = &self.pods[&n];
                    (n, (p.node.is_some(), p.ready, p.created))
                })
                .collect();
            ranked.sort_by(|a, b| (a.1.0, a.1.1).cmp(&(b.1.0, b.1.1)).then(b.1.2.cmp(&a.1.2)));
            let surplus = ranked.len() - self.replicas;
            for (name, _) in ranked.into_iter().take(surplus) {
                if let Some(p) = self.pods.get_mut(&name) {
                    p.deleting = Some(now);
                }
                self.write_pod(&name);
            }
        }
        self.finish_deletions(now);
        self.write_deployment();
    }

    fn finish_deletions(&mut self, now: Instant) {
        let done: Vec<String> = self
            .pods
            .iter()
            .filter(|(_, p)| {
                p.deleting
                    .is_some_and(|d| now >= d + self.t.terminate_delay)
            })
            .map(|(n, _)| n.clone())
            .collect();
        for name in done {
            self.pods.remove(&name);
            self.shared.delete("v1", "Pod", Some(NS), &name);
        }
    }

    fn write_deployment(&self) {
        let Some(mut d) = self.get(("apps", "deployments"), NS, DEPLOYMENT) else {
            return;
        };
        let live = self.pods.values().filter(|p| p.deleting.is_none());
        let ready = live.clone().filter(|p| p.ready).count();
        let total = self.pods.len();
        let want = json!({"replicas": self.replicas, "status": [total, ready]});
        let have = json!({"replicas": d["spec"]["replicas"], "status": [d["status"]["replicas"], d["status"]["readyReplicas"]]});
        if want == have {
            return;
        }
        d["spec"]["replicas"] = self.replicas.into();
        d["status"]["replicas"] = total.into();
        d["status"]["readyReplicas"] = ready.into();
        d["status"]["availableReplicas"] = ready.into();
        d["status"]["updatedReplicas"] = total.into();
        self.shared.apply(d);
    }

    fn create_pod(&mut self, now: Instant) {
        // The ReplicaSet controller's suffix alphabet (no vowels, no 0/1/3).
        const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
        let mut n = self.serial;
        self.serial += 7919;
        let suffix: String = (0..5)
            .map(|_| {
                let c = ALPHABET[(n % ALPHABET.len() as u64) as usize] as char;
                n /= ALPHABET.len() as u64;
                c
            })
            .collect();
        let name = format!("spice-runner-7d9c8b5f4-{suffix}");
        self.pods.insert(
            name.clone(),
            Pod {
                created: now,
                node: None,
                scheduled: None,
                running: false,
                ready: false,
                deleting: None,
                unschedulable: false,
            },
        );
        self.write_pod(&name);
    }

    /// Writes a pod's object from its state, in the kubelet's status shape.
    fn write_pod(&self, name: &str) {
        let p = &self.pods[name];
        let mut obj = self.template.clone();
        let meta = &mut obj["metadata"];
        meta["name"] = name.into();
        meta["namespace"] = NS.into();
        for k in ["uid", "resourceVersion", "creationTimestamp"] {
            meta.as_object_mut().map(|m| m.remove(k));
        }
        if let Some(existing) = self.get(("", "pods"), NS, name) {
            meta["creationTimestamp"] = existing["metadata"]["creationTimestamp"].clone();
        }
        if p.deleting.is_some() {
            meta["deletionTimestamp"] = now_rfc3339().into();
            meta["deletionGracePeriodSeconds"] = 30.into();
        }
        match &p.node {
            Some(n) => obj["spec"]["nodeName"] = n.clone().into(),
            None => {
                obj["spec"].as_object_mut().map(|s| s.remove("nodeName"));
            }
        }
        obj["status"] = pod_status(p, &self.template["spec"]["containers"]);
        self.shared.apply(obj);
    }

    /// Nodes game pods may run on: the Karpenter ones, Ready.
    fn karpenter_nodes(&self) -> Vec<String> {
        self.shared
            .store
            .lock()
            .unwrap()
            .list(("", "nodes"), None)
            .filter(|n| n["metadata"]["labels"][POOL_LABEL].is_string())
            .filter_map(|n| n["metadata"]["name"].as_str().map(str::to_string))
            .collect()
    }

    fn schedule(&mut self, now: Instant) {
        let nodes = self.karpenter_nodes();
        let mut used: BTreeMap<String, usize> = nodes.iter().map(|n| (n.clone(), 0)).collect();
        for p in self.pods.values() {
            if let Some(n) = &p.node {
                *used.entry(n.clone()).or_default() += 1;
            }
        }
        let waiting: Vec<String> = self
            .pods
            .iter()
            .filter(|(_, p)| p.node.is_none() && p.deleting.is_none())
            .map(|(n, _)| n.clone())
            .collect();
        for name in waiting {
            let free = used
                .iter()
                .find(|(_, c)| **c < self.t.pods_per_node)
                .map(|(n, _)| n.clone());
            let p = self.pods.get_mut(&name).expect("pod");
            match free {
                Some(node) => {
                    *used.get_mut(&node).expect("node") += 1;
                    p.node = Some(node);
                    p.scheduled = Some(now);
                    p.unschedulable = false;
                }
                None if !p.unschedulable => p.unschedulable = true,
                None => continue,
            }
            self.write_pod(&name);
        }
    }

    fn kubelet(&mut self, now: Instant) {
        let (start, ready) = (self.t.start_delay, self.t.ready_delay);
        let mut changed = Vec::new();
        for (name, p) in self.pods.iter_mut() {
            let Some(s) = p.scheduled else { continue };
            if p.deleting.is_some() {
                continue;
            }
            if !p.running && now >= s + start {
                p.running = true;
                changed.push(name.clone());
            }
            if p.running && !p.ready && now >= s + start + ready {
                p.ready = true;
                changed.push(name.clone());
            }
        }
        for name in changed {
            self.write_pod(&name);
        }
    }

    fn karpenter(&mut self, now: Instant) {
        let in_flight: usize = self.claims.values().filter(|c| !c.registered).count();
        let pending = self.pods.values().filter(|p| p.unschedulable).count();
        let uncovered = pending.saturating_sub(in_flight * self.t.pods_per_node);
        for _ in 0..uncovered.div_ceil(self.t.pods_per_node) {
            self.launch(now);
        }
        let due: Vec<String> = self
            .claims
            .iter()
            .filter(|(_, c)| !c.registered && now >= c.created + self.t.launch_delay)
            .map(|(n, _)| n.clone())
            .collect();
        for name in due {
            self.register(&name);
        }
        self.consolidate(now);
    }

    fn claim_template(&self) -> Option<Value> {
        let store = self.shared.store.lock().unwrap();
        store
            .list(("karpenter.sh", "nodeclaims"), None)
            .next()
            .cloned()
    }

    fn node_template(&self) -> Option<Value> {
        let store = self.shared.store.lock().unwrap();
        store
            .list(("", "nodes"), None)
            .find(|n| n["metadata"]["labels"][POOL_LABEL].is_string())
            .cloned()
    }

    /// A new NodeClaim, Launched=Unknown until its node registers.
    fn launch(&mut self, now: Instant) {
        let Some(mut claim) = self.claim_template() else {
            return;
        };
        self.serial += 1;
        let n = self.serial % 250;
        let name = format!("default-sim{n:02}");
        let node = format!("ip-10-0-99-{n}.us-west-2.compute.internal");
        let meta = &mut claim["metadata"];
        meta["name"] = name.clone().into();
        for k in ["uid", "resourceVersion", "creationTimestamp"] {
            meta.as_object_mut().map(|m| m.remove(k));
        }
        claim["status"] = json!({
            "conditions": [{
                "type": "Launched", "status": "Unknown", "reason": "AwaitingReconciliation",
                "message": "object is awaiting reconciliation", "lastTransitionTime": now_rfc3339(),
                "observedGeneration": 1
            }]
        });
        self.shared.apply(claim);
        self.claims.insert(
            name,
            Claim {
                created: now,
                node,
                registered: false,
                empty_since: None,
            },
        );
    }

    /// The claim's node registers: a Ready Node, the claim Launched,
    /// Registered and Initialized with `status.nodeName`.
    fn register(&mut self, name: &str) {
        let (Some(mut node), Some(mut claim)) = (
            self.node_template(),
            self.get(("karpenter.sh", "nodeclaims"), "", name),
        ) else {
            return;
        };
        let c = self.claims.get_mut(name).expect("claim");
        c.registered = true;
        let node_name = c.node.clone();
        let meta = &mut node["metadata"];
        meta["name"] = node_name.clone().into();
        meta["labels"]["kubernetes.io/hostname"] = node_name.clone().into();
        for k in ["uid", "resourceVersion", "creationTimestamp"] {
            meta.as_object_mut().map(|m| m.remove(k));
        }
        if let Some(owners) = meta["ownerReferences"].as_array_mut() {
            for o in owners.iter_mut() {
                o["name"] = name.into();
            }
        }
        self.shared.apply(node);
        let at = now_rfc3339();
        let conditions: Vec<Value> = ["Launched", "Registered", "Initialized", "Ready"]
            .iter()
            .map(|t| {
                json!({
                    "type": t, "status": "True", "reason": t, "message": "",
                    "lastTransitionTime": at, "observedGeneration": 1
                })
            })
            .collect();
        claim["status"] = json!({"nodeName": node_name, "conditions": conditions});
        self.shared.apply(claim);
    }

    /// Removes the nodes this run launched once they have been empty for
    /// `consolidate_after` (Karpenter's `WhenEmpty` consolidation).
    fn consolidate(&mut self, now: Instant) {
        let mut remove = Vec::new();
        for (name, c) in self.claims.iter_mut().filter(|(_, c)| c.registered) {
            let busy = self
                .pods
                .values()
                .any(|p| p.node.as_deref() == Some(&c.node));
            if busy {
                c.empty_since = None;
                continue;
            }
            let since = *c.empty_since.get_or_insert(now);
            if now >= since + self.t.consolidate_after {
                remove.push((name.clone(), c.node.clone()));
            }
        }
        for (claim, node) in remove {
            self.claims.remove(&claim);
            self.shared.delete("v1", "Node", None, &node);
            self.shared
                .delete("karpenter.sh/v1", "NodeClaim", None, &claim);
        }
    }
}

/// A pod's `status` as the scheduler and kubelet write it (container
/// statuses sorted by name, as the kubelet sorts them).
fn pod_status(p: &Pod, containers: &Value) -> Value {
    let at = now_rfc3339();
    let cond = |t: &str, ok: bool| json!({"type": t, "status": if ok { "True" } else { "False" }, "lastProbeTime": null, "lastTransitionTime": at});
    if p.node.is_none() {
        let mut scheduled = cond("PodScheduled", false);
        if p.unschedulable {
            scheduled["reason"] = "Unschedulable".into();
            scheduled["message"] = "0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.".into();
        }
        return json!({"phase": "Pending", "qosClass": "Burstable", "conditions": [scheduled]});
    }
    let container = |spec: &Value| {
        let state = if p.running {
            json!({"running": {"startedAt": at}})
        } else {
            json!({"waiting": {"reason": "ContainerCreating"}})
        };
        json!({
            "name": spec["name"], "ready": p.ready, "restartCount": 0, "started": p.running,
            "image": spec["image"], "imageID": "", "state": state, "lastState": {}
        })
    };
    let mut statuses: Vec<Value> = containers
        .as_array()
        .map(|c| c.iter().map(container).collect())
        .unwrap_or_default();
    statuses.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    json!({
        "phase": if p.running { "Running" } else { "Pending" },
        "qosClass": "Burstable",
        "hostIP": "10.0.45.112",
        "startTime": at,
        "conditions": [
            cond("PodReadyToStartContainers", p.running),
            cond("Initialized", true),
            cond("Ready", p.ready),
            cond("ContainersReady", p.ready),
            cond("PodScheduled", true)
        ],
        "containerStatuses": statuses
    })
}
