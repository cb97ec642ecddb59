//! The measurement timeline: each snapshot from the watch streams is compared
//! with the last one, and every change becomes an event stamped with the
//! time it was seen (seconds since the sessions started), so the clocks of
//! the cluster and of this machine are never mixed.

use super::{NodeLaunch, live};
use crate::snapshot::{PodInfo, Snapshot};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum EventKind {
    SessionsStarted,
    SessionsStopped,
    PodCreated,
    PodUnschedulable,
    PodRunning,
    PodReady,
    PodCrashLoop,
    PodFailed,
    PodTerminating,
    PodGone,
    NodeAdded,
    NodeRemoved,
    NodeClaimCreated,
    NodeClaimRemoved,
}

impl EventKind {
    pub fn words(self) -> &'static str {
        match self {
            EventKind::SessionsStarted => "sessions started",
            EventKind::SessionsStopped => "sessions stopped",
            EventKind::PodCreated => "pod created",
            EventKind::PodUnschedulable => "pod unschedulable",
            EventKind::PodRunning => "pod Running",
            EventKind::PodReady => "pod Ready",
            EventKind::PodCrashLoop => "pod CrashLoopBackOff",
            EventKind::PodFailed => "pod Failed",
            EventKind::PodTerminating => "pod terminating",
            EventKind::PodGone => "pod gone",
            EventKind::NodeAdded => "node added",
            EventKind::NodeRemoved => "node removed",
            EventKind::NodeClaimCreated => "NodeClaim created",
            EventKind::NodeClaimRemoved => "NodeClaim removed",
        }
    }
}

/// One thing that changed, when it was seen.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TimelineEvent {
    /// Seconds since the sessions started.
    pub t: f64,
    pub at: jiff::Timestamp,
    pub event: EventKind,
    pub object: String,
    pub detail: String,
}

/// One point of the chart, about once a second.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Sample {
    pub t: f64,
    pub sending: usize,
    /// The sessions Prometheus saw (the nginx request rate).
    pub seen_sessions: Option<f64>,
    /// Sessions seen per Running pod (the runbook's sessions-per-pod ratio).
    pub ratio: Option<f64>,
    pub pending: usize,
    pub running: usize,
    pub ready: usize,
    pub nodes: usize,
}

/// Pods by phase and nodes, now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Game pods not terminating.
    pub live: usize,
    pub pending: usize,
    pub running: usize,
    pub ready: usize,
    pub terminating: usize,
    pub nodes: usize,
}

#[derive(Debug, Clone)]
pub struct PodTrack {
    pub baseline: bool,
    pub first_seen: f64,
    pub running: Option<f64>,
    pub ready: Option<f64>,
    pub unschedulable_since: Option<f64>,
    pub terminating: Option<f64>,
    pub gone: Option<f64>,
    pub crash: Option<String>,
    pub failed: bool,
    /// What kubectl's STATUS column shows.
    pub status: String,
    pub info: Option<PodInfo>,
}

#[derive(Debug, Clone)]
struct ClaimTrack {
    /// It existed before the test started.
    baseline: bool,
    created: f64,
    node: Option<String>,
    launched: Option<f64>,
    gone: bool,
}

pub struct Tracker {
    pods: BTreeMap<String, PodTrack>,
    nodes: BTreeMap<String, Option<f64>>,
    claims: BTreeMap<String, ClaimTrack>,
    pub events: Vec<TimelineEvent>,
    pub samples: Vec<Sample>,
}

fn unschedulable(p: &PodInfo) -> bool {
    p.scheduled
        .as_ref()
        .is_some_and(|c| c.status == "False" && c.reason.as_deref() == Some("Unschedulable"))
}

impl Tracker {
    /// The pods and nodes in `snap` are the baseline: no events for them.
    pub fn new(snap: &Snapshot) -> Tracker {
        let mut pods = BTreeMap::new();
        for p in snap.pods.iter().flatten() {
            pods.insert(
                p.name.clone(),
                PodTrack {
                    baseline: true,
                    first_seen: 0.0,
                    running: (p.phase == "Running").then_some(0.0),
                    ready: p.ready.then_some(0.0),
                    unschedulable_since: None,
                    terminating: p.deleting.map(|_| 0.0),
                    gone: None,
                    crash: None,
                    failed: p.phase == "Failed",
                    status: p.display_status(),
                    info: Some(p.clone()),
                },
            );
        }
        let nodes = snap
            .nodes
            .iter()
            .flatten()
            .map(|n| (n.name.clone(), None))
            .collect();
        let claims = snap
            .node_claims
            .iter()
            .flatten()
            .map(|c| {
                (
                    c.name.clone(),
                    ClaimTrack {
                        baseline: true,
                        created: 0.0,
                        node: c.node_name.clone(),
                        launched: None,
                        gone: false,
                    },
                )
            })
            .collect();
        Tracker {
            pods,
            nodes,
            claims,
            events: Vec::new(),
            samples: Vec::new(),
        }
    }

    pub fn push(
        &mut self,
        t: f64,
        at: jiff::Timestamp,
        event: EventKind,
        object: &str,
        detail: String,
    ) {
        self.events.push(TimelineEvent {
            t: (t * 10.0).round() / 10.0,
            at,
            event,
            object: object.to_string(),
            detail,
        });
    }

    pub fn update(
        &mut self,
        t: f64,
        at: jiff::Timestamp,
        snap: &Snapshot,
        sending: usize,
        seen: Option<f64>,
    ) {
        if let Some(pods) = &snap.pods {
            self.update_pods(t, at, pods);
        }
        if let Some(nodes) = &snap.nodes {
            self.update_nodes(t, at, nodes.iter().map(|n| n.name.as_str()).collect());
        }
        if let Some(claims) = &snap.node_claims {
            self.update_claims(t, at, claims);
        }
        let due = self
            .samples
            .last()
            .is_none_or(|s| t - s.t >= 1.0 || (t - s.t >= 0.25 && sending != s.sending));
        if due {
            let c = self.counts();
            self.samples.push(Sample {
                t: (t * 10.0).round() / 10.0,
                sending,
                seen_sessions: seen.map(|v| (v * 100.0).round() / 100.0),
                ratio: seen
                    .filter(|_| c.running > 0)
                    .map(|v| (v / c.running as f64 * 100.0).round() / 100.0),
                pending: c.pending,
                running: c.running,
                ready: c.ready,
                nodes: c.nodes,
            });
        }
    }

    fn update_pods(&mut self, t: f64, at: jiff::Timestamp, pods: &[PodInfo]) {
        let mut news = Vec::new();
        for p in pods {
            let track = self.pods.entry(p.name.clone()).or_insert_with(|| {
                news.push((EventKind::PodCreated, p.name.clone(), String::new()));
                PodTrack {
                    baseline: false,
                    first_seen: t,
                    running: None,
                    ready: None,
                    unschedulable_since: None,
                    terminating: None,
                    gone: None,
                    crash: None,
                    failed: false,
                    status: String::new(),
                    info: None,
                }
            });
            track.status = p.display_status();
            track.info = Some(p.clone());
            let name = &p.name;
            if unschedulable(p) {
                if track.unschedulable_since.is_none() {
                    let why = p
                        .scheduled
                        .as_ref()
                        .and_then(|c| c.message.clone())
                        .unwrap_or_default();
                    news.push((EventKind::PodUnschedulable, name.clone(), why));
                    track.unschedulable_since = Some(t);
                }
            } else {
                track.unschedulable_since = None;
            }
            if p.phase == "Running" && track.running.is_none() {
                track.running = Some(t);
                news.push((EventKind::PodRunning, name.clone(), node_detail(p)));
            }
            if p.ready && track.ready.is_none() {
                track.ready = Some(t);
                news.push((EventKind::PodReady, name.clone(), String::new()));
            }
            if let Some(c) = p.crash_looping()
                && track.crash.is_none()
            {
                let detail = format!("container {}, {} restarts", c.name, p.restarts);
                track.crash = Some(detail.clone());
                news.push((EventKind::PodCrashLoop, name.clone(), detail));
            }
            if p.phase == "Failed" && !track.failed {
                track.failed = true;
                news.push((EventKind::PodFailed, name.clone(), String::new()));
            }
            if p.deleting.is_some() && track.terminating.is_none() {
                track.terminating = Some(t);
                news.push((EventKind::PodTerminating, name.clone(), String::new()));
            }
        }
        for (name, track) in self.pods.iter_mut() {
            if track.gone.is_none() && !pods.iter().any(|p| &p.name == name) {
                track.gone = Some(t);
                track.terminating.get_or_insert(t);
                news.push((EventKind::PodGone, name.clone(), String::new()));
            }
        }
        for (kind, object, detail) in news {
            self.push(t, at, kind, &object, detail);
        }
    }

    fn update_nodes(&mut self, t: f64, at: jiff::Timestamp, now: Vec<&str>) {
        for n in &now {
            if !self.nodes.contains_key(*n) {
                self.nodes.insert(n.to_string(), Some(t));
                self.push(t, at, EventKind::NodeAdded, n, String::new());
                for c in self.claims.values_mut() {
                    if c.node.as_deref() == Some(*n) && c.launched.is_none() {
                        c.launched = Some(t);
                    }
                }
            }
        }
        let removed: Vec<String> = self
            .nodes
            .keys()
            .filter(|k| !now.contains(&k.as_str()))
            .cloned()
            .collect();
        for n in removed {
            self.nodes.remove(&n);
            self.push(t, at, EventKind::NodeRemoved, &n, String::new());
        }
    }

    fn update_claims(
        &mut self,
        t: f64,
        at: jiff::Timestamp,
        claims: &[crate::snapshot::NodeClaimInfo],
    ) {
        for c in claims {
            let nodes = &self.nodes;
            let mut added = false;
            let track = self.claims.entry(c.name.clone()).or_insert_with(|| {
                added = true;
                ClaimTrack {
                    baseline: false,
                    created: t,
                    node: None,
                    launched: None,
                    gone: false,
                }
            });
            if track.node.is_none()
                && let Some(n) = &c.node_name
            {
                track.node = Some(n.clone());
                if nodes.get(n).is_some_and(|added| added.is_some()) {
                    track.launched = nodes[n];
                }
            }
            if added {
                let pool = c.node_pool.clone().unwrap_or_default();
                self.push(t, at, EventKind::NodeClaimCreated, &c.name, pool);
            }
        }
        let removed: Vec<String> = self
            .claims
            .iter()
            .filter(|(k, v)| !v.gone && !claims.iter().any(|c| &c.name == *k))
            .map(|(k, _)| k.clone())
            .collect();
        for k in removed {
            if let Some(c) = self.claims.get_mut(&k) {
                c.gone = true;
            }
            self.push(t, at, EventKind::NodeClaimRemoved, &k, String::new());
        }
    }

    pub fn live(&self) -> impl Iterator<Item = &PodTrack> {
        self.pods
            .values()
            .filter(|p| p.gone.is_none() && p.info.as_ref().is_some_and(live))
    }

    pub fn counts(&self) -> Counts {
        let mut c = Counts {
            nodes: self.nodes.len(),
            ..Counts::default()
        };
        for p in self.pods.values().filter(|p| p.gone.is_none()) {
            let Some(info) = &p.info else { continue };
            if !live(info) {
                c.terminating += usize::from(info.deleting.is_some());
                continue;
            }
            c.live += 1;
            match info.phase.as_str() {
                "Running" => c.running += 1,
                "Pending" | "" => c.pending += 1,
                _ => {}
            }
            c.ready += usize::from(info.ready);
        }
        c
    }

    /// The first pod created after the start.
    pub fn first_new_pod(&self) -> Option<&PodTrack> {
        self.pods
            .values()
            .filter(|p| !p.baseline)
            .min_by(|a, b| a.first_seen.total_cmp(&b.first_seen))
    }

    /// Every pod created after the start is gone.
    pub fn new_pods_gone(&self) -> bool {
        self.pods
            .values()
            .filter(|p| !p.baseline)
            .all(|p| p.gone.is_some())
    }

    /// When the last pod created after the start began terminating.
    pub fn scale_down_at(&self) -> Option<f64> {
        self.pods
            .values()
            .filter(|p| !p.baseline)
            .map(|p| p.terminating)
            .try_fold(None::<f64>, |acc, t| {
                t.map(|t| Some(acc.map_or(t, |a: f64| a.max(t))))
            })
            .flatten()
    }

    pub fn crash_looping(&self) -> Option<(String, String)> {
        self.pods
            .iter()
            .find_map(|(n, p)| p.crash.clone().map(|c| (n.clone(), c)))
    }

    pub fn failed_pod(&self) -> Option<String> {
        self.pods
            .iter()
            .find(|(_, p)| p.failed && !p.baseline)
            .map(|(n, _)| n.clone())
    }

    /// A pod Unschedulable for longer than `grace` with no NodeClaim created
    /// since it was: Karpenter is not launching a node for it.
    pub fn pending_without_node(&self, t: f64, grace: f64) -> Option<(String, f64)> {
        self.pods.iter().find_map(|(n, p)| {
            let since = p.unschedulable_since?;
            let waited = t - since;
            let coming = self
                .claims
                .values()
                .any(|c| !c.baseline && c.created >= p.first_seen - 1.0);
            (waited > grace && !coming).then(|| (n.clone(), waited))
        })
    }

    /// NodeClaims created during the test and their nodes' launch times.
    pub fn launches(&self) -> Vec<NodeLaunch> {
        self.claims
            .iter()
            .filter(|(_, c)| !c.baseline)
            .map(|(name, c)| NodeLaunch {
                node_claim: name.clone(),
                created_at_seconds: (c.created * 10.0).round() / 10.0,
                node: c.node.clone(),
                launch_seconds: c.launched.map(|l| ((l - c.created) * 10.0).round() / 10.0),
            })
            .collect()
    }
}

fn node_detail(p: &PodInfo) -> String {
    p.node
        .as_ref()
        .map(|n| format!("on {n}"))
        .unwrap_or_default()
}
