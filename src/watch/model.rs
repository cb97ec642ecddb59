//! The state of `kubectl spice watch`, as a pure model: no I/O and no clock.
//! Every input carries its own timestamp, so episodes, timings, ring bounds,
//! highlighting and `--until` conditions are unit-tested without a cluster or
//! a terminal. The live sources feed it [`Observation`]s; the renderers read it.

use crate::checks::{Finding, Outcome};
use crate::domain::figures::{Band, GamePods, Ratio};
use crate::domain::snapshot::PodInfo;
use crate::settings::{Bands, Targets};
use jiff::Timestamp;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

/// A fixed-capacity ring: pushing onto a full ring drops the oldest value, so
/// memory stays bounded however long the watch runs.
#[derive(Debug, Clone)]
pub struct Ring<T> {
    buf: VecDeque<T>,
    cap: usize,
}

impl<T> Ring<T> {
    pub fn new(cap: usize) -> Ring<T> {
        let cap = cap.max(1);
        Ring {
            buf: VecDeque::with_capacity(cap),
            cap,
        }
    }
    pub fn push(&mut self, v: T) {
        if self.buf.len() == self.cap {
            self.buf.pop_front();
        }
        self.buf.push_back(v);
    }
    pub fn len(&self) -> usize {
        self.buf.len()
    }
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
    pub fn capacity(&self) -> usize {
        self.cap
    }
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.buf.iter()
    }
    pub fn last(&self) -> Option<&T> {
        self.buf.back()
    }
    fn last_mut(&mut self) -> Option<&mut T> {
        self.buf.back_mut()
    }
    fn front(&self) -> Option<&T> {
        self.buf.front()
    }
    fn pop_front(&mut self) {
        self.buf.pop_front();
    }
    /// Puts older values before the ones held, keeping the newest `cap`.
    fn prepend(&mut self, older: impl IntoIterator<Item = T>) {
        let mut all: VecDeque<T> = older.into_iter().collect();
        all.append(&mut self.buf);
        while all.len() > self.cap {
            all.pop_front();
        }
        self.buf = all;
    }
}

/// One point of a series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub at: Timestamp,
    pub value: f64,
}

/// How the model is sized and judged.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// Seconds between samples (`--interval`).
    pub interval_secs: f64,
    /// Seconds of history kept (`--window`).
    pub window_secs: f64,
    pub targets: Targets,
    pub bands: Bands,
}

impl Config {
    /// Points per series: one per interval over the window, plus the current one.
    pub fn capacity(&self) -> usize {
        let interval = self.interval_secs.max(0.1);
        (self.window_secs.max(interval) / interval).ceil() as usize + 1
    }
}

/// What the live sources saw at one moment.
#[derive(Debug, Clone)]
pub struct Observation {
    pub at: Timestamp,
    /// Active sessions (the nginx request rate); `None` when Prometheus did not answer.
    pub sessions: Option<f64>,
    /// The game pods; `None` when the API could not be read. Shared: the
    /// same list as the previous frame's (the pods did not change) is not
    /// compared again, pod by pod.
    pub pods: Option<Arc<Vec<PodInfo>>>,
    pub nodes: Option<usize>,
    /// Requests per second per running pod, when known.
    pub requests_per_pod: Option<f64>,
    /// The diagnose checks' findings on the same snapshot.
    pub findings: Vec<Finding>,
    /// Why the Kubernetes API could not be read (a banner), if it could not.
    pub api_error: Option<String>,
    /// Why Prometheus could not be read, if it could not.
    pub prometheus_error: Option<String>,
    /// The KEDA HPA as one line (targets, replicas), when read.
    pub hpa: Option<String>,
    /// The ScaledObject's READY / ACTIVE as one line, when read.
    pub scaled_object: Option<String>,
    /// The latest scaling-related events, newest first, one line each.
    pub events: Vec<String>,
    /// What "no sessions" is on this snapshot (the idle floor and KEDA's
    /// activation threshold), as status and the checks judge it.
    pub idle: crate::domain::model::Idle,
    /// The scaling model on this snapshot, and whether the HPA says it
    /// holds a scale-down: running pods are judged against what it expects,
    /// as status and the checks judge them.
    pub scaling: Option<crate::domain::model::Scaling>,
    pub hpa_holding: bool,
}

impl Observation {
    pub fn new(at: Timestamp) -> Observation {
        Observation {
            at,
            sessions: None,
            pods: None,
            nodes: None,
            requests_per_pod: None,
            findings: Vec::new(),
            api_error: None,
            prometheus_error: None,
            hpa: None,
            scaled_object: None,
            events: Vec::new(),
            idle: crate::domain::model::Idle::default(),
            scaling: None,
            hpa_holding: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Direction {
    ScaleUp,
    ScaleDown,
}

impl Direction {
    pub fn word(self) -> &'static str {
        match self {
            Direction::ScaleUp => "scale-up",
            Direction::ScaleDown => "scale-down",
        }
    }
}

/// The stages of a scale-up, as pod timestamps show them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Phase {
    /// Sessions rose → KEDA/HPA created the first new pod.
    KedaActivation,
    /// Pod created → its containers started (scheduling, node provisioning, image pull).
    PodPending,
    /// Containers started → the pod is Ready.
    ContainerStart,
}

impl Phase {
    pub fn word(self) -> &'static str {
        match self {
            Phase::KedaActivation => "KEDA activation",
            Phase::PodPending => "pod Pending",
            Phase::ContainerStart => "container start",
        }
    }
}

/// A finished scaling episode.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Episode {
    pub direction: Direction,
    pub started_at: Timestamp,
    pub ended_at: Timestamp,
    pub seconds: f64,
    pub target_seconds: f64,
    pub within_target: bool,
    /// Sessions and running pods when the episode started.
    pub from_pods: usize,
    pub sessions: usize,
    /// The gap was already there when the watch started: the duration is a
    /// lower bound.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub started_before_watch: bool,
    /// Detected in the metric history read at start (`query_range`), measured
    /// at that query's step, rather than seen live.
    pub from_history: bool,
    /// The slowest stage (scale-up only, when pod timestamps show it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slowest_phase: Option<Phase>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slowest_phase_seconds: Option<f64>,
}

#[derive(Debug, Clone)]
struct OpenEpisode {
    direction: Direction,
    started_at: Timestamp,
    from_pods: usize,
    sessions: usize,
    started_before_watch: bool,
    from_history: bool,
    /// Pods present when the episode started: the new ones are the others.
    before: BTreeSet<String>,
    /// The newest view of every pod that appeared during the episode.
    new_pods: BTreeMap<String, PodInfo>,
}

/// A finding whose outcome changed since the previous frame.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FindingChange {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<Outcome>,
    pub to: Outcome,
    pub message: String,
}

impl FindingChange {
    /// Turned into a warning or failure.
    pub fn turned_bad(&self) -> bool {
        matches!(self.to, Outcome::Warn | Outcome::Fail)
            && !matches!(self.from, Some(Outcome::Warn | Outcome::Fail))
    }
}

/// `--until`: when a scripted watch may stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Until {
    /// No diagnose check fails.
    Healthy,
    /// Running pods match sessions within the green band (or both are zero).
    Scaled,
    /// No sessions and no pods.
    Idle,
}

/// What one observation changed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Update {
    /// Anything a viewer would see differently.
    pub changed: bool,
    pub episodes_ended: Vec<Episode>,
    pub findings_changed: Vec<FindingChange>,
}

/// A pod row's visible fields, to tell which rows changed.
fn pod_row(p: &PodInfo) -> String {
    format!(
        "{}|{}|{}|{}|{}",
        p.display_status(),
        p.ready,
        p.restarts,
        p.node.as_deref().unwrap_or(""),
        p.deleting.is_some()
    )
}

/// The latest game pods in name order, one per name: the list of the
/// frame they came from, shared rather than copied (a copy only when a
/// list came unsorted or with a name twice, the later one kept).
#[derive(Debug, Clone, Default)]
pub struct Pods(Arc<Vec<PodInfo>>);

impl Pods {
    fn of(list: &Arc<Vec<PodInfo>>) -> Pods {
        if list.windows(2).all(|w| w[0].name < w[1].name) {
            return Pods(list.clone());
        }
        let mut by_name = BTreeMap::new();
        for p in list.iter() {
            by_name.insert(p.name.as_str(), p);
        }
        Pods(Arc::new(by_name.into_values().cloned().collect()))
    }

    pub fn values(&self) -> std::slice::Iter<'_, PodInfo> {
        self.0.iter()
    }

    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.0.iter().map(|p| &p.name)
    }

    pub fn get(&self, name: &str) -> Option<&PodInfo> {
        let i = self
            .0
            .binary_search_by(|p| p.name.as_str().cmp(name))
            .ok()?;
        self.0.get(i)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The figures shown at the top of the view.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Figures {
    pub sessions: Option<f64>,
    pub running: Option<usize>,
    pub pending: Option<usize>,
    pub nodes: Option<usize>,
    pub ratio: Option<f64>,
    pub band: Option<Band>,
    pub requests_per_pod: Option<f64>,
}

/// The series read from Prometheus at start (`query_range` over the window),
/// oldest point first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    pub sessions: Vec<Point>,
    pub running: Vec<Point>,
    pub pending: Vec<Point>,
    pub nodes: Vec<Point>,
    /// Seconds between points: the query's step.
    pub step_secs: f64,
}

/// Points of the four series the JSON lines carry, oldest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SeriesPoints {
    pub sessions: Vec<Point>,
    pub running: Vec<Point>,
    pub pending: Vec<Point>,
    pub nodes: Vec<Point>,
}

/// Where the history read at start stands.
#[derive(Debug, Clone, PartialEq)]
pub enum HistoryState {
    /// Not answered yet.
    Waiting,
    /// Read: the chart starts with it.
    Loaded,
    /// Could not be read: why, shown as "no history: …".
    Failed(String),
}

/// An episode the history shows still under way at its last point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HistoryOpen {
    pub direction: Direction,
    pub started_at: Timestamp,
    /// It was under way at the first point of the history already.
    pub before_window: bool,
}

#[derive(Clone)]
pub struct Model {
    pub config: Config,
    pub sessions: Ring<Point>,
    pub running: Ring<Point>,
    pub pending: Ring<Point>,
    pub nodes: Ring<Point>,
    pub ratio: Ring<Point>,
    pub figures: Figures,
    /// What "no sessions" is on the latest frame (the idle floor, KEDA's
    /// activation threshold): the sessions figure is shown by it.
    pub idle: crate::domain::model::Idle,
    /// The latest pods, by name.
    pub pods: Pods,
    /// The pods have been read at least once: until then `pods` is empty
    /// because nothing is known, not because there are none.
    pub pods_known: bool,
    rows: BTreeMap<String, String>,
    /// The list `pods` and `rows` were made from, and its Running and
    /// Pending counts.
    pods_from: Option<(Arc<Vec<PodInfo>>, usize, usize)>,
    /// Rows (pod names, or `sessions`, `running`, `pending`, `nodes`, `band`)
    /// that changed in the latest frame: highlighted for one refresh.
    pub highlighted: BTreeSet<String>,
    pub findings: BTreeMap<String, (Outcome, String)>,
    open: Option<OpenEpisode>,
    /// Every finished episode, oldest first (bounded like the series).
    pub episodes: Ring<Episode>,
    pub last_at: Option<Timestamp>,
    pub last_api_ok: Option<Timestamp>,
    pub last_prometheus_ok: Option<Timestamp>,
    pub api_error: Option<String>,
    pub prometheus_error: Option<String>,
    pub hpa: Option<String>,
    pub scaled_object: Option<String>,
    pub events: Vec<String>,
    pub history: HistoryState,
    /// The episode the history shows under way at its end, if any.
    history_open: Option<HistoryOpen>,
    frames: u64,
    /// The latest frame read both the Kubernetes API and Prometheus: the
    /// figures are current, not the last good data kept through an outage.
    current: bool,
}

fn seconds_between(a: Timestamp, b: Timestamp) -> f64 {
    (b.as_millisecond() - a.as_millisecond()) as f64 / 1000.0
}

impl Model {
    pub fn new(config: Config) -> Model {
        let cap = config.capacity();
        Model {
            config,
            sessions: Ring::new(cap),
            running: Ring::new(cap),
            pending: Ring::new(cap),
            nodes: Ring::new(cap),
            ratio: Ring::new(cap),
            figures: Figures::default(),
            pods: Pods::default(),
            pods_known: false,
            pods_from: None,
            rows: BTreeMap::new(),
            highlighted: BTreeSet::new(),
            findings: BTreeMap::new(),
            open: None,
            episodes: Ring::new(cap),
            last_at: None,
            last_api_ok: None,
            last_prometheus_ok: None,
            api_error: None,
            prometheus_error: None,
            hpa: None,
            scaled_object: None,
            events: Vec::new(),
            history: HistoryState::Waiting,
            history_open: None,
            frames: 0,
            current: false,
            idle: crate::domain::model::Idle::default(),
        }
    }

    /// How many observations the model has taken.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Sessions rounded to whole sessions (each sends about 1 request/s).
    fn whole(sessions: f64) -> usize {
        if sessions < 0.05 {
            0
        } else {
            sessions.round().max(0.0) as usize
        }
    }

    fn record(&mut self, which: fn(&mut Model) -> &mut Ring<Point>, at: Timestamp, value: f64) {
        let interval = self.config.interval_secs;
        let window = self.config.window_secs;
        let ring = which(self);
        // Samples closer together than the interval replace each other, so the
        // ring covers the whole window however often changes arrive.
        let merge = ring
            .last()
            .is_some_and(|p| seconds_between(p.at, at) < interval * 0.999 && ring.len() > 1);
        if merge {
            if let Some(last) = ring.last_mut() {
                *last = Point { at, value };
            }
        } else {
            ring.push(Point { at, value });
        }
        while ring
            .front()
            .is_some_and(|p| seconds_between(p.at, at) > window)
        {
            ring.pop_front();
        }
    }

    /// Takes one observation; returns what changed.
    pub fn observe(&mut self, obs: Observation) -> Update {
        let mut update = Update::default();
        let mut highlighted = BTreeSet::new();
        self.frames += 1;
        let at = obs.at;
        self.last_at = Some(at);

        // Sources: a failure keeps the last good data and shows a banner.
        let api_ok = obs.pods.is_some() && obs.api_error.is_none();
        if api_ok {
            self.last_api_ok = Some(at);
        }
        let prom_ok = obs.sessions.is_some() && obs.prometheus_error.is_none();
        if prom_ok {
            self.last_prometheus_ok = Some(at);
        }
        self.current = api_ok && prom_ok;
        if self.api_error != obs.api_error || self.prometheus_error != obs.prometheus_error {
            update.changed = true;
            highlighted.insert("banner".to_string());
        }
        self.api_error = obs.api_error.clone();
        self.prometheus_error = obs.prometheus_error.clone();

        // Pods: rows added, changed or gone (a list seen last frame is
        // the same list: nothing to compare).
        if let Some(pods) = &obs.pods
            && !self
                .pods_from
                .as_ref()
                .is_some_and(|(from, ..)| Arc::ptr_eq(from, pods))
        {
            let mut rows = BTreeMap::new();
            for p in pods.iter() {
                let row = pod_row(p);
                if self.rows.get(&p.name) != Some(&row) {
                    highlighted.insert(p.name.clone());
                }
                rows.insert(p.name.clone(), row);
            }
            for gone in self.rows.keys().filter(|k| !rows.contains_key(*k)) {
                highlighted.insert(gone.clone());
            }
            self.rows = rows;
            self.pods = Pods::of(pods);
            self.pods_known = true;
            let counted = GamePods::count(self.pods.values());
            self.pods_from = Some((pods.clone(), counted.running, counted.pending));
        }

        if api_ok {
            if self.hpa != obs.hpa {
                highlighted.insert("hpa".to_string());
                self.hpa = obs.hpa.clone();
            }
            if self.scaled_object != obs.scaled_object {
                highlighted.insert("scaledobject".to_string());
                self.scaled_object = obs.scaled_object.clone();
            }
            if self.events != obs.events {
                highlighted.insert("events".to_string());
                self.events = obs.events.clone();
            }
        }

        let sessions = if prom_ok {
            obs.sessions
        } else {
            self.figures.sessions
        };
        let (running, pending) = if api_ok {
            let (running, pending) = self.pods_from.as_ref().map_or((0, 0), |(_, r, p)| (*r, *p));
            (Some(running), Some(pending))
        } else {
            (self.figures.running, self.figures.pending)
        };
        let nodes = if api_ok {
            obs.nodes.or(self.figures.nodes)
        } else {
            self.figures.nodes
        };
        let Ratio {
            per_pod: ratio,
            band: b,
        } = Ratio::of(
            sessions,
            running.map(|r| r as f64),
            &self.config.bands,
            &obs.idle,
        )
        .judged(
            obs.scaling
                .as_ref()
                .and_then(|m| {
                    crate::domain::figures::expect(
                        m,
                        &obs.idle,
                        sessions,
                        running.map(|r| r as f64),
                        obs.hpa_holding,
                    )
                })
                .as_ref(),
        );
        let figures = Figures {
            sessions,
            running,
            pending,
            nodes,
            ratio,
            band: Some(b),
            requests_per_pod: if prom_ok {
                obs.requests_per_pod
            } else {
                self.figures.requests_per_pod
            },
        };
        let old = &self.figures;
        let mut mark = |name: &str, differs: bool| {
            if differs {
                highlighted.insert(name.to_string());
            }
        };
        mark(
            "sessions",
            old.sessions.map(Self::whole) != figures.sessions.map(Self::whole),
        );
        mark("running", old.running != figures.running);
        mark("pending", old.pending != figures.pending);
        mark("nodes", old.nodes != figures.nodes);
        mark("band", old.band != figures.band);
        self.figures = figures.clone();
        self.idle = obs.idle;

        if let Some(s) = sessions {
            self.record(|m| &mut m.sessions, at, s);
        }
        if let Some(r) = running {
            self.record(|m| &mut m.running, at, r as f64);
        }
        if let Some(p) = pending {
            self.record(|m| &mut m.pending, at, p as f64);
        }
        if let Some(n) = nodes {
            self.record(|m| &mut m.nodes, at, n as f64);
        }
        if let Some(r) = ratio {
            self.record(|m| &mut m.ratio, at, r);
        }

        // Findings that changed outcome.
        if api_ok || prom_ok {
            let mut next = BTreeMap::new();
            for f in &obs.findings {
                let before = self.findings.get(&f.id).map(|(o, _)| *o);
                // A check first seen passing (or skipped) is no news.
                let news = match before {
                    None => !matches!(f.outcome, Outcome::Pass | Outcome::Skip),
                    Some(b) => b != f.outcome,
                };
                if news {
                    update.findings_changed.push(FindingChange {
                        id: f.id.clone(),
                        from: before,
                        to: f.outcome,
                        message: f.message.clone(),
                    });
                }
                next.insert(f.id.clone(), (f.outcome, f.message.clone()));
            }
            self.findings = next;
        }

        if let (Some(s), Some(r)) = (sessions, running) {
            update.episodes_ended = self.episodes_step(at, Self::whole(s), r);
        }
        for e in &update.episodes_ended {
            self.episodes.push(e.clone());
        }

        update.changed |= !highlighted.is_empty()
            || !update.findings_changed.is_empty()
            || !update.episodes_ended.is_empty();
        self.highlighted = highlighted;
        update
    }

    fn episodes_step(&mut self, at: Timestamp, sessions: usize, running: usize) -> Vec<Episode> {
        let mut ended = Vec::new();
        if let Some(open) = self.open.as_mut() {
            for p in self.pods.values() {
                if !open.before.contains(&p.name) {
                    open.new_pods.insert(p.name.clone(), p.clone());
                }
            }
            let done = match open.direction {
                Direction::ScaleUp => running >= sessions,
                Direction::ScaleDown => running <= sessions,
            };
            if done {
                let open = self.open.take().expect("open episode");
                ended.push(self.finish(open, at));
            }
        }
        if self.open.is_none() {
            let direction = if sessions > running {
                Some(Direction::ScaleUp)
            } else if sessions < running {
                Some(Direction::ScaleDown)
            } else {
                None
            };
            // A gap on the very first frame started before the watch did: it is
            // still timed, but marked, as its duration is only a lower bound,
            // and it starts at the earliest evidence of it, never "now".
            if let Some(direction) = direction {
                let before_watch = self.frames == 1;
                let (started_at, from_history) = if before_watch {
                    self.earliest_evidence(direction, at)
                } else {
                    (at, false)
                };
                self.open = Some(OpenEpisode {
                    direction,
                    started_at,
                    from_pods: running,
                    sessions,
                    started_before_watch: before_watch,
                    from_history,
                    before: self.pods.keys().cloned().collect(),
                    new_pods: BTreeMap::new(),
                });
            }
        }
        ended
    }

    /// When an episode found under way on the first frame began, at the
    /// latest: the oldest Pending game pod was created for a scale-up already
    /// under way, and the history may show the gap opening earlier still.
    /// Returns the time and whether the history supplied it.
    fn earliest_evidence(&self, direction: Direction, at: Timestamp) -> (Timestamp, bool) {
        let mut start = at;
        if direction == Direction::ScaleUp
            && let Some(oldest) = self
                .pods
                .values()
                .filter(|p| crate::domain::figures::is_pending(p))
                .filter_map(|p| p.created)
                .min()
        {
            start = start.min(oldest);
        }
        match self.history_open {
            Some(h) if h.direction == direction && h.started_at < start => (h.started_at, true),
            _ => (start, false),
        }
    }

    /// Takes the history read at start: its points go before the live ones,
    /// the episodes inside it are measured from it ("from history"), and an
    /// episode it shows under way dates the one the watch found open. A
    /// failed read is kept as the reason, shown instead of an empty past.
    pub fn backfill(&mut self, read: Result<History, String>) {
        let h = match read {
            Ok(h) => h,
            Err(e) => {
                self.history = HistoryState::Failed(e);
                return;
            }
        };
        let before = |ring: &Ring<Point>, points: &[Point]| -> Vec<Point> {
            let first = ring.iter().next().map(|p| p.at);
            points
                .iter()
                .filter(|p| first.is_none_or(|f| p.at < f))
                .copied()
                .collect()
        };
        let older = before(&self.sessions, &h.sessions);
        self.sessions.prepend(older);
        let older = before(&self.running, &h.running);
        self.running.prepend(older);
        let older = before(&self.pending, &h.pending);
        self.pending.prepend(older);
        let older = before(&self.nodes, &h.nodes);
        self.nodes.prepend(older);
        let (ended, open) = history_episodes(&h, &self.config);
        self.episodes.prepend(ended);
        self.history_open = open;
        if let (Some(h), Some(o)) = (open, self.open.as_mut())
            && o.started_before_watch
            && o.direction == h.direction
            && h.started_at < o.started_at
        {
            o.started_at = h.started_at;
            o.from_history = true;
        }
        self.history = HistoryState::Loaded;
    }

    /// The points of every series taken after `after` (all when `None`),
    /// for the JSON lines.
    pub fn points_after(&self, after: Option<Timestamp>) -> SeriesPoints {
        let pick = |ring: &Ring<Point>| -> Vec<Point> {
            ring.iter()
                .filter(|p| after.is_none_or(|a| p.at > a))
                .copied()
                .collect()
        };
        SeriesPoints {
            sessions: pick(&self.sessions),
            running: pick(&self.running),
            pending: pick(&self.pending),
            nodes: pick(&self.nodes),
        }
    }

    /// The open episode was under way before the watch started: its running
    /// time is a lower bound ("≥ N s").
    pub fn open_is_lower_bound(&self) -> bool {
        self.open.as_ref().is_some_and(|o| o.started_before_watch)
    }

    /// The open episode's start came from the history read at start.
    pub fn open_from_history(&self) -> bool {
        self.open.as_ref().is_some_and(|o| o.from_history)
    }

    fn finish(&self, open: OpenEpisode, at: Timestamp) -> Episode {
        let seconds = seconds_between(open.started_at, at).max(0.0);
        let target = match open.direction {
            Direction::ScaleUp => self.config.targets.scale_up_seconds,
            Direction::ScaleDown => self.config.targets.scale_down_seconds,
        };
        let slowest = match open.direction {
            Direction::ScaleUp => slowest_phase(open.started_at, open.new_pods.values()),
            Direction::ScaleDown => None,
        };
        Episode {
            direction: open.direction,
            started_at: open.started_at,
            ended_at: at,
            seconds,
            target_seconds: target,
            within_target: seconds <= target,
            from_pods: open.from_pods,
            sessions: open.sessions,
            started_before_watch: open.started_before_watch,
            from_history: open.from_history,
            slowest_phase: slowest.map(|(p, _)| p),
            slowest_phase_seconds: slowest.map(|(_, s)| s),
        }
    }

    /// The open episode: its direction and when it started.
    /// The sessions figure as the screen and the lines show it: `3`, `?`, or
    /// at the idle floor `0 (0.27 req/s)`: exporter scrapes and probes are
    /// no player.
    pub fn sessions_shown(&self) -> String {
        match self.figures.sessions {
            None => "?".to_string(),
            Some(s) if s >= 0.001 && self.idle.no_sessions(s) => {
                format!("0 ({} req/s)", crate::domain::model::rate_text(s))
            }
            Some(s) => crate::domain::quantity::num(s),
        }
    }

    pub fn open_episode(&self) -> Option<(Direction, Timestamp)> {
        self.open.as_ref().map(|o| (o.direction, o.started_at))
    }

    /// Whether `--until` holds now. A condition holds only on what was read
    /// in the latest frame: a source that could not be read (a gap) is never
    /// healthy, scaled or idle, and neither is the last good data kept
    /// through an outage, nor a check that could not judge (`error`).
    pub fn holds(&self, until: Until) -> bool {
        if self.frames == 0 || !self.current {
            return false;
        }
        match until {
            Until::Healthy => {
                !self.findings.is_empty()
                    && !self
                        .findings
                        .values()
                        .any(|(o, _)| matches!(o, Outcome::Fail | Outcome::Error))
            }
            Until::Scaled => matches!(
                self.figures.band,
                Some(Band::Green | Band::Idle | Band::Expected)
            ),
            Until::Idle => {
                self.figures.sessions.is_some_and(|s| Self::whole(s) == 0)
                    && self.figures.running == Some(0)
                    && self.figures.pending == Some(0)
                    && self.pods.is_empty()
            }
        }
    }

    /// Why `--until` could not be judged on the latest frame, or `None` when
    /// it was judged (it holds, or what was read shows it does not). A gate
    /// that gives up undecided exits 3 (incomplete), not 1: the condition may
    /// well hold on what could not be read.
    pub fn undecided(&self, until: Until) -> Option<String> {
        if self.frames == 0 {
            return Some("nothing was read yet".into());
        }
        let sources_down = || -> Option<String> {
            let down: Vec<String> = [
                ("kubernetes API", &self.api_error),
                ("prometheus", &self.prometheus_error),
            ]
            .into_iter()
            .filter_map(|(what, e)| e.as_ref().map(|e| format!("{what}: {e}")))
            .collect();
            Some(if down.is_empty() {
                "a source could not be read".into()
            } else {
                down.join("; ")
            })
        };
        match until {
            Until::Healthy => {
                let (fail, error): (Vec<&String>, Vec<&String>) = (
                    self.findings
                        .iter()
                        .filter(|(_, (o, _))| *o == Outcome::Fail)
                        .map(|(id, _)| id)
                        .collect(),
                    self.findings
                        .iter()
                        .filter(|(_, (o, _))| *o == Outcome::Error)
                        .map(|(id, _)| id)
                        .collect(),
                );
                if !fail.is_empty() {
                    return None;
                }
                if !self.current {
                    return sources_down();
                }
                if self.findings.is_empty() {
                    return Some("no check was judged".into());
                }
                (!error.is_empty()).then(|| {
                    let ids: Vec<&str> = error.iter().map(|s| s.as_str()).collect();
                    format!("checks could not look: {}", ids.join(", "))
                })
            }
            Until::Scaled => {
                if !self.current || self.figures.band.is_none() {
                    sources_down()
                } else {
                    None
                }
            }
            Until::Idle => {
                let f = &self.figures;
                // Each source judges what it read this frame: pods seen by
                // the API are pods through an outage of Prometheus, and
                // sessions Prometheus sees are sessions while the API is down.
                let api_read = self.api_error.is_none() && self.last_api_ok == self.last_at;
                let prom_read =
                    self.prometheus_error.is_none() && self.last_prometheus_ok == self.last_at;
                let busy_pods = api_read
                    && (f.running.is_some_and(|r| r > 0)
                        || f.pending.is_some_and(|p| p > 0)
                        || !self.pods.is_empty());
                let busy_sessions = prom_read && f.sessions.is_some_and(|s| Self::whole(s) > 0);
                if busy_pods || busy_sessions {
                    return None;
                }
                if !self.current || f.sessions.is_none() || f.running.is_none() {
                    sources_down()
                } else {
                    None
                }
            }
        }
    }

    /// A banner line when a source is down, with the time of its last good data.
    pub fn banner(&self) -> Option<String> {
        // The age ticks with every sample, like the clock.
        let since = |t: Option<Timestamp>| match (t, self.last_at) {
            (Some(t), Some(now)) => format!(
                "last good data {}, {:.0}s ago",
                t.strftime("%H:%M:%SZ"),
                seconds_between(t, now).max(0.0)
            ),
            (Some(t), None) => format!("last good data {}", t.strftime("%H:%M:%SZ")),
            (None, _) => "no data yet".to_string(),
        };
        let mut parts = Vec::new();
        if let Some(e) = &self.api_error {
            parts.push(format!(
                "Kubernetes API lost ({e}); {}",
                since(self.last_api_ok)
            ));
        }
        if let Some(e) = &self.prometheus_error {
            parts.push(format!(
                "Prometheus unavailable ({e}); {}",
                since(self.last_prometheus_ok)
            ));
        }
        (!parts.is_empty()).then(|| parts.join(" · "))
    }

    /// The episode summary printed on exit.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        if self.episodes.is_empty() {
            out.push_str("No scaling episodes seen.\n");
        } else {
            out.push_str("Scaling episodes:\n");
            for e in self.episodes.iter() {
                out.push_str(&episode_line(e));
                out.push('\n');
            }
        }
        if let Some((d, since)) = self.open_episode()
            && let Some(now) = self.last_at
        {
            out.push_str(&format!(
                "  {} still in progress after {}{:.0}s\n",
                d.word(),
                if self.open_is_lower_bound() {
                    "≥ "
                } else {
                    ""
                },
                seconds_between(since, now)
            ));
        }
        out
    }
}

/// One line per episode: direction, duration against target, slowest phase.
pub fn episode_line(e: &Episode) -> String {
    let verdict = if e.within_target {
        "✓ within"
    } else {
        "✗ over"
    };
    let mut line = format!(
        "  {} {} → {} sessions: {}{:.0}s{} ({verdict} the {:.0}s target)",
        e.direction.word(),
        e.from_pods,
        e.sessions,
        if e.started_before_watch {
            "at least "
        } else {
            ""
        },
        e.seconds,
        if e.from_history { " from history" } else { "" },
        e.target_seconds
    );
    if let (Some(p), Some(s)) = (e.slowest_phase, e.slowest_phase_seconds) {
        line.push_str(&format!(", slowest: {} {:.0}s", p.word(), s));
    }
    line
}

/// The episodes inside a history, measured at its step, as the live model
/// measures them: a scale-up is open while whole sessions exceed running
/// pods, a scale-down while they fall short. `rate(...[1m])` climbs over its
/// window after a rise, so an episode starts where the sessions began to
/// move (walking back over the climb), not where they crossed the pods; and
/// the sessions it was for are the level reached within one rate window
/// after it ended; pods ahead of a rate still moving toward them are its lag,
/// not an episode. Returns the ended episodes, oldest first, and the one
/// still under way at the last point.
pub fn history_episodes(h: &History, config: &Config) -> (Vec<Episode>, Option<HistoryOpen>) {
    let running: BTreeMap<i64, f64> = h
        .running
        .iter()
        .map(|p| (p.at.as_millisecond(), p.value))
        .collect();
    let aligned: Vec<(Timestamp, f64, usize)> = h
        .sessions
        .iter()
        .filter_map(|s| {
            let r = running.get(&s.at.as_millisecond())?;
            Some((s.at, s.value, r.round().max(0.0) as usize))
        })
        .collect();
    let mut ended = Vec::new();
    let mut open: Option<(Direction, usize)> = None;
    // Where the previous episode ended: a walk back never crosses it.
    let mut floor = 0;
    for (i, &(_, s, r)) in aligned.iter().enumerate() {
        let sessions = Model::whole(s);
        if let Some((direction, start)) = open {
            let done = match direction {
                Direction::ScaleUp => r >= sessions,
                Direction::ScaleDown => r <= sessions,
            };
            if done {
                ended.push(history_episode(&aligned, direction, start, i, config));
                open = None;
                floor = i;
            }
            continue;
        }
        let direction = match sessions.cmp(&r) {
            std::cmp::Ordering::Greater => Direction::ScaleUp,
            std::cmp::Ordering::Less => Direction::ScaleDown,
            std::cmp::Ordering::Equal => continue,
        };
        // Pods ahead of a rate still climbing toward them (or still falling
        // toward them) are the rate's lag, not an episode.
        let trend = i.checked_sub(1).map_or(0.0, |p| s - aligned[p].1);
        let lagging = match direction {
            Direction::ScaleUp => trend < -0.01,
            Direction::ScaleDown => trend > 0.01,
        };
        if lagging {
            continue;
        }
        let mut start = i;
        let moving = |a: f64, b: f64| match direction {
            Direction::ScaleUp => a < b - 0.01,
            Direction::ScaleDown => a > b + 0.01,
        };
        while start > floor && moving(aligned[start - 1].1, aligned[start].1) {
            start -= 1;
        }
        open = Some((direction, start));
    }
    let still = open.map(|(direction, start)| HistoryOpen {
        direction,
        started_at: aligned[start].0,
        before_window: start == 0,
    });
    (ended, still)
}

/// One episode of a history, from point `start` to point `end`.
fn history_episode(
    aligned: &[(Timestamp, f64, usize)],
    direction: Direction,
    start: usize,
    end: usize,
    config: &Config,
) -> Episode {
    let (started_at, _, from_pods) = aligned[start];
    let ended_at = aligned[end].0;
    let settle = crate::domain::promql::SESSIONS_WINDOW_SECS;
    let levels = aligned[start..]
        .iter()
        .take_while(|p| seconds_between(ended_at, p.0) <= settle)
        .map(|p| Model::whole(p.1));
    let sessions = match direction {
        Direction::ScaleUp => levels.max(),
        Direction::ScaleDown => levels.min(),
    }
    .unwrap_or_default();
    let seconds = seconds_between(started_at, ended_at).max(0.0);
    let target = match direction {
        Direction::ScaleUp => config.targets.scale_up_seconds,
        Direction::ScaleDown => config.targets.scale_down_seconds,
    };
    Episode {
        direction,
        started_at,
        ended_at,
        seconds,
        target_seconds: target,
        within_target: seconds <= target,
        from_pods,
        sessions,
        started_before_watch: start == 0,
        from_history: true,
        slowest_phase: None,
        slowest_phase_seconds: None,
    }
}

/// The slowest stage over the pods a scale-up created: KEDA activation
/// (episode start → first pod created), pod Pending (created → containers
/// started) and container start (started → Ready), each the worst pod's.
fn slowest_phase<'a>(
    started: Timestamp,
    pods: impl Iterator<Item = &'a PodInfo>,
) -> Option<(Phase, f64)> {
    let mut first_created: Option<Timestamp> = None;
    let mut pending: Option<f64> = None;
    let mut start: Option<f64> = None;
    for p in pods {
        let Some(created) = p.created else { continue };
        first_created = Some(first_created.map_or(created, |f| f.min(created)));
        let started_at = p
            .containers
            .iter()
            .filter(|c| !c.sidecar || p.containers.len() == 1)
            .filter_map(|c| c.started_at)
            .min()
            .or_else(|| p.containers.iter().filter_map(|c| c.started_at).min());
        if let Some(s) = started_at {
            let d = seconds_between(created, s).max(0.0);
            pending = Some(pending.map_or(d, |x: f64| x.max(d)));
            if let Some(ready) = p.ready_since {
                let d = seconds_between(s, ready).max(0.0);
                start = Some(start.map_or(d, |x: f64| x.max(d)));
            }
        }
    }
    let activation = first_created.map(|c| seconds_between(started, c).max(0.0));
    [
        (Phase::KedaActivation, activation),
        (Phase::PodPending, pending),
        (Phase::ContainerStart, start),
    ]
    .into_iter()
    .filter_map(|(p, s)| s.map(|s| (p, s)))
    .fold(None, |best: Option<(Phase, f64)>, (p, s)| match best {
        Some((_, b)) if b >= s => best,
        _ => Some((p, s)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Area;
    use crate::domain::snapshot::ContainerInfo;
    use crate::settings::Settings;

    fn t(secs: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + secs).unwrap()
    }

    fn config() -> Config {
        let s = Settings::defaults();
        Config {
            interval_secs: 2.0,
            window_secs: 600.0,
            targets: s.targets,
            bands: s.bands,
        }
    }

    /// Exporter scrapes and probes at the idle floor are no player: the
    /// screen and the lines say "sessions 0 (0.267 req/s)", not "0.27".
    #[test]
    fn sessions_at_the_idle_floor_are_shown_as_zero_with_the_rate() {
        let mut m = Model::new(config());
        assert_eq!(m.sessions_shown(), "?");
        m.idle = crate::domain::model::Idle {
            floor: Some(crate::domain::model::IdleFloor {
                series: 1,
                scrape_secs: 15.0,
                probes: None,
            }),
            activation: Some(0.5),
            subtracted: 0.0,
        };
        m.figures.sessions = Some(0.0667);
        assert_eq!(m.sessions_shown(), "0 (0.067 req/s)");
        m.figures.sessions = Some(0.0);
        assert_eq!(m.sessions_shown(), "0");
        m.figures.sessions = Some(3.0);
        assert_eq!(m.sessions_shown(), "3");
    }

    fn pod(name: &str, phase: &str, created: i64) -> PodInfo {
        PodInfo {
            name: name.into(),
            namespace: "default".into(),
            phase: phase.into(),
            node: None,
            created: Some(t(created)),
            deleting: None,
            grace_period_secs: None,
            ready: phase == "Running",
            ready_since: None,
            restarts: 0,
            containers: Vec::new(),
            scheduled: None,
            nominated_node: None,
        }
    }

    fn started(mut p: PodInfo, started: i64, ready: i64) -> PodInfo {
        p.containers = vec![ContainerInfo {
            name: "game".into(),
            ready: true,
            restarts: 0,
            state: "running".into(),
            waiting_reason: None,
            terminated_reason: None,
            message: None,
            started_at: Some(t(started)),
            sidecar: false,
        }];
        p.ready_since = Some(t(ready));
        p
    }

    fn obs(at: i64, sessions: f64, pods: Vec<PodInfo>) -> Observation {
        let mut o = Observation::new(t(at));
        o.sessions = Some(sessions);
        o.nodes = Some(2);
        o.pods = Some(Arc::new(pods));
        o
    }

    fn running(n: usize) -> Vec<PodInfo> {
        (0..n)
            .map(|i| pod(&format!("p{i}"), "Running", -600))
            .collect()
    }

    fn finding(id: &str, outcome: Outcome) -> Finding {
        Finding {
            id: id.into(),
            area: Area::Keda,
            title: id.into(),
            outcome,
            message: format!("{id} is {}", outcome.word()),
            evidence: Vec::new(),
            remediation: None,
            needs: Vec::new(),
            blocked_by: None,
            runbook: String::new(),
            unread_source: None,
        }
    }

    #[test]
    fn the_same_pod_list_again_is_no_news_and_a_new_list_is_compared_row_by_row() {
        let mut m = Model::new(config());
        let first = obs(0, 3.0, running(3));
        let list = first.pods.clone();
        m.observe(first);
        // The next frame shares the list (nothing changed): nothing to show.
        let mut again = obs(2, 3.0, Vec::new());
        again.pods = list.clone();
        m.observe(again);
        assert!(m.highlighted.is_empty(), "{:?}", m.highlighted);
        assert_eq!((m.figures.running, m.figures.pending), (Some(3), Some(0)));
        // A new list with one pod Pending: that row, and the counts, move.
        let mut pods = running(3);
        pods[1].phase = "Pending".into();
        let u = m.observe(obs(4, 3.0, pods));
        assert!(u.changed);
        assert!(m.highlighted.contains("p1"), "{:?}", m.highlighted);
        assert!(!m.highlighted.contains("p0"), "{:?}", m.highlighted);
        assert_eq!((m.figures.running, m.figures.pending), (Some(2), Some(1)));
        assert_eq!(m.pods.get("p1").map(|p| p.phase.as_str()), Some("Pending"));
    }

    #[test]
    fn the_model_s_pods_are_in_name_order_one_per_name_whatever_order_they_came_in() {
        let mut pods = running(3);
        pods.reverse();
        pods.push(pod("p1", "Pending", -10));
        let list = Arc::new(pods);
        let kept = Pods::of(&list);
        let names: Vec<&String> = kept.keys().collect();
        assert_eq!(names, ["p0", "p1", "p2"]);
        // The later of two pods with one name wins, as a map by name keeps it.
        assert_eq!(kept.get("p1").map(|p| p.phase.as_str()), Some("Pending"));
        assert!(kept.get("p9").is_none());
        // A list in name order is shared, not copied.
        let sorted = Arc::new(running(3));
        assert!(Arc::ptr_eq(&Pods::of(&sorted).0, &sorted));
    }

    #[test]
    fn a_scale_up_is_timed_from_the_rise_until_pods_catch_up() {
        let mut m = Model::new(config());
        m.observe(obs(0, 2.0, running(2)));
        assert!(m.open_episode().is_none());
        // Sessions rise to 3: the episode starts.
        m.observe(obs(10, 3.0, running(2)));
        assert_eq!(m.open_episode(), Some((Direction::ScaleUp, t(10))));
        // KEDA creates p2 at 14 s; it is Pending.
        let mut pods = running(2);
        pods.push(pod("p2", "Pending", 14));
        assert!(
            m.observe(obs(16, 3.0, pods.clone()))
                .episodes_ended
                .is_empty()
        );
        // It starts at 30 s and is Ready at 33 s.
        pods[2] = started(pod("p2", "Running", 14), 30, 33);
        let u = m.observe(obs(34, 3.0, pods));
        assert_eq!(u.episodes_ended.len(), 1);
        let e = &u.episodes_ended[0];
        assert_eq!(e.direction, Direction::ScaleUp);
        assert_eq!(e.seconds, 24.0);
        assert!(e.within_target);
        assert_eq!((e.from_pods, e.sessions), (2, 3));
        assert_eq!(e.slowest_phase, Some(Phase::PodPending));
        assert_eq!(e.slowest_phase_seconds, Some(16.0));
        assert!(m.open_episode().is_none());
        assert!(
            m.summary().contains("scale-up 2 → 3 sessions: 24s"),
            "{}",
            m.summary()
        );
    }

    #[test]
    fn a_slow_scale_up_misses_the_target_and_names_keda_activation() {
        let mut m = Model::new(config());
        m.observe(obs(0, 1.0, running(1)));
        m.observe(obs(2, 2.0, running(1)));
        let mut pods = running(1);
        pods.push(started(pod("p1", "Running", 40), 42, 44));
        let u = m.observe(obs(46, 2.0, pods));
        let e = &u.episodes_ended[0];
        assert_eq!(e.seconds, 44.0);
        assert!(!e.within_target);
        assert_eq!(e.slowest_phase, Some(Phase::KedaActivation));
        assert_eq!(e.slowest_phase_seconds, Some(38.0));
        assert!(episode_line(e).contains("✗ over the 30s target"));
    }

    #[test]
    fn a_scale_down_ends_when_the_surplus_pods_are_gone() {
        let mut m = Model::new(config());
        m.observe(obs(0, 3.0, running(3)));
        m.observe(obs(5, 1.0, running(3)));
        assert_eq!(m.open_episode(), Some((Direction::ScaleDown, t(5))));
        // A terminating pod no longer counts as running.
        let mut pods = running(3);
        pods[2].deleting = Some(t(40));
        assert!(m.observe(obs(40, 1.0, pods)).episodes_ended.is_empty());
        let u = m.observe(obs(75, 1.0, running(1)));
        let e = &u.episodes_ended[0];
        assert_eq!(e.direction, Direction::ScaleDown);
        assert_eq!(e.seconds, 70.0);
        assert_eq!(e.target_seconds, 60.0);
        assert!(!e.within_target);
        assert_eq!(e.slowest_phase, None);
    }

    #[test]
    fn a_gap_found_on_the_first_frame_is_a_lower_bound() {
        let mut m = Model::new(config());
        m.observe(obs(0, 3.0, running(2)));
        assert_eq!(m.open_episode(), Some((Direction::ScaleUp, t(0))));
        let u = m.observe(obs(12, 3.0, running(3)));
        let e = &u.episodes_ended[0];
        assert!(e.started_before_watch);
        assert_eq!(e.seconds, 12.0);
        assert!(
            episode_line(e).contains("at least 12s"),
            "{}",
            episode_line(e)
        );
    }

    #[test]
    fn rings_stay_bounded_and_cover_the_window() {
        let mut c = config();
        c.window_secs = 20.0;
        c.interval_secs = 2.0;
        let mut m = Model::new(c);
        assert_eq!(m.sessions.capacity(), 11);
        for i in 0..1000 {
            m.observe(obs(i * 2, (i % 7) as f64, running(3)));
        }
        assert!(m.sessions.len() <= 11);
        assert!(m.running.len() <= 11);
        let first = m.sessions.iter().next().unwrap().at;
        let last = m.sessions.last().unwrap().at;
        assert!(seconds_between(first, last) <= 20.0);
        assert!(m.episodes.len() <= m.episodes.capacity());
    }

    #[test]
    fn frequent_changes_are_merged_into_one_point_per_interval() {
        let mut m = Model::new(config());
        for ms in (0..10_000).step_by(250) {
            let mut o = obs(0, 3.0, running(3));
            o.at = Timestamp::from_millisecond(t(0).as_millisecond() + ms).unwrap();
            m.observe(o);
        }
        // 10 s of changes every 250 ms at a 2 s interval: about 6 points, not 40.
        assert!(m.running.len() <= 7, "{}", m.running.len());
    }

    #[test]
    fn changed_rows_are_highlighted_for_one_frame() {
        let mut m = Model::new(config());
        m.observe(obs(0, 3.0, running(3)));
        assert!(m.highlighted.contains("p0"));
        let u = m.observe(obs(2, 3.0, running(3)));
        assert!(!u.changed);
        assert!(m.highlighted.is_empty());
        let mut pods = running(3);
        pods[1].restarts = 1;
        let u = m.observe(obs(4, 3.0, pods.clone()));
        assert!(u.changed);
        assert_eq!(
            m.highlighted.iter().collect::<Vec<_>>(),
            vec!["p1"],
            "only the changed row"
        );
        pods.pop();
        m.observe(obs(6, 3.0, pods));
        assert!(m.highlighted.contains("p2"), "a removed row");
        assert!(m.highlighted.contains("running"));
        m.observe(obs(8, 3.0, running(2)));
        assert!(!m.highlighted.contains("p1") || m.highlighted.len() == 1);
    }

    #[test]
    fn findings_that_change_are_reported_once() {
        let mut m = Model::new(config());
        let mut o = obs(0, 3.0, running(3));
        o.findings = vec![finding("keda.ready", Outcome::Pass)];
        let u = m.observe(o.clone());
        assert!(u.findings_changed.is_empty(), "a first pass is no news");
        o.at = t(2);
        assert!(m.observe(o.clone()).findings_changed.is_empty());
        o.at = t(4);
        o.findings = vec![finding("keda.ready", Outcome::Fail)];
        let u = m.observe(o);
        assert_eq!(u.findings_changed.len(), 1);
        assert!(u.findings_changed[0].turned_bad());
        assert_eq!(u.findings_changed[0].from, Some(Outcome::Pass));
    }

    #[test]
    fn a_check_failing_from_the_start_is_reported() {
        let mut m = Model::new(config());
        let mut o = obs(0, 3.0, running(3));
        o.findings = vec![
            finding("keda.ready", Outcome::Fail),
            finding("keda.paused", Outcome::Pass),
        ];
        let u = m.observe(o);
        assert_eq!(u.findings_changed.len(), 1);
        assert_eq!(u.findings_changed[0].id, "keda.ready");
        assert!(u.findings_changed[0].turned_bad());
    }

    #[test]
    fn until_conditions() {
        let mut m = Model::new(config());
        assert!(!m.holds(Until::Scaled), "nothing seen yet");
        let mut o = obs(0, 3.0, running(3));
        o.findings = vec![finding("keda.ready", Outcome::Pass)];
        m.observe(o.clone());
        assert!(m.holds(Until::Scaled));
        assert!(m.holds(Until::Healthy));
        assert!(!m.holds(Until::Idle));
        o.at = t(2);
        o.pods = Some(Arc::new(running(2)));
        o.findings = vec![finding("keda.ready", Outcome::Fail)];
        m.observe(o);
        assert!(!m.holds(Until::Scaled), "3 sessions on 2 pods is yellow");
        assert!(!m.holds(Until::Healthy));
        m.observe(obs(4, 0.0, Vec::new()));
        assert!(m.holds(Until::Idle));
        assert!(m.holds(Until::Scaled), "idle is scaled too");
        let mut pending = obs(6, 0.0, vec![pod("p9", "Pending", 5)]);
        pending.nodes = None;
        m.observe(pending);
        assert!(!m.holds(Until::Idle), "a pending pod is not idle");
    }

    #[test]
    fn a_warm_pool_and_the_hpas_tolerance_are_expected_as_status_judges_them() {
        let mut scaling = crate::domain::model::Scaling::from_parts(None, None, Some(15.0));
        scaling.min = 2;
        let mut m = Model::new(config());
        let mut o = obs(0, 0.0, running(2));
        o.scaling = Some(scaling.clone());
        m.observe(o);
        assert_eq!(m.figures.band, Some(Band::Expected));
        assert!(m.holds(Until::Scaled), "a warm pool is scaled as designed");
        // Without the model the same pods are red.
        let mut plain = Model::new(config());
        plain.observe(obs(0, 0.0, running(2)));
        assert_eq!(plain.figures.band, Some(Band::Red));
        // 3 sessions on 2 pods is yellow and the HPA moves (1.5 is beyond
        // 1 + 0.1), so it is not expected.
        let mut o = obs(2, 3.0, running(2));
        scaling.min = 0;
        o.scaling = Some(scaling);
        m.observe(o);
        assert_eq!(m.figures.band, Some(Band::Yellow));
    }

    #[test]
    fn until_never_holds_on_a_gap() {
        let mut m = Model::new(config());
        let mut ok = obs(0, 0.0, Vec::new());
        ok.findings = vec![finding("pods.crashloop", Outcome::Pass)];
        m.observe(ok.clone());
        assert!(m.holds(Until::Healthy) && m.holds(Until::Idle) && m.holds(Until::Scaled));

        // The pod list answers 500: no pods, a banner, the crashloop check in error.
        let mut gap = Observation::new(t(2));
        gap.sessions = Some(0.0);
        gap.api_error = Some("pods: HTTP 500 Internal Server Error".into());
        gap.findings = vec![finding("pods.crashloop", Outcome::Error)];
        m.observe(gap);
        for u in [Until::Healthy, Until::Scaled, Until::Idle] {
            assert!(!m.holds(u), "{u:?} held on a gap");
        }

        // Prometheus down, the API fine: the sessions are last good data.
        let mut prom_down = ok.clone();
        prom_down.at = t(4);
        prom_down.sessions = None;
        prom_down.prometheus_error = Some("no answer".into());
        m.observe(prom_down);
        assert!(!m.holds(Until::Scaled) && !m.holds(Until::Idle) && !m.holds(Until::Healthy));

        // A check that could not judge blocks healthy even with both sources read.
        let mut error = ok.clone();
        error.at = t(6);
        error.findings.push(finding("hpa.exists", Outcome::Error));
        m.observe(error);
        assert!(!m.holds(Until::Healthy));
        assert!(m.holds(Until::Idle));
        ok.at = t(8);
        m.observe(ok);
        assert!(m.holds(Until::Healthy));
    }

    #[test]
    fn an_until_that_gives_up_on_a_gap_is_undecided_not_false() {
        let mut m = Model::new(config());
        for u in [Until::Healthy, Until::Scaled, Until::Idle] {
            assert!(m.undecided(u).is_some(), "{u:?}: nothing read yet");
        }
        // Read, and judged not to hold: decided.
        let mut busy = obs(0, 3.0, running(2));
        busy.findings = vec![finding("keda.ready", Outcome::Fail)];
        m.observe(busy.clone());
        for u in [Until::Healthy, Until::Scaled, Until::Idle] {
            assert!(!m.holds(u), "{u:?}");
            assert_eq!(m.undecided(u), None, "{u:?} was judged on what was read");
        }
        // The pod list answers 500 and the failing check could not look.
        let mut gap = Observation::new(t(2));
        gap.sessions = Some(0.0);
        gap.api_error = Some("pods: HTTP 500 Internal Server Error".into());
        gap.findings = vec![finding("keda.ready", Outcome::Error)];
        m.observe(gap);
        for u in [Until::Healthy, Until::Scaled, Until::Idle] {
            assert!(!m.holds(u), "{u:?}");
            let why = m.undecided(u).unwrap_or_default();
            assert!(why.contains("HTTP 500"), "{u:?}: {why:?}");
        }
        // Both sources read, one check in error and none failing: undecided.
        let mut error = obs(4, 3.0, running(3));
        error.findings = vec![
            finding("keda.ready", Outcome::Pass),
            finding("hpa.exists", Outcome::Error),
        ];
        m.observe(error);
        assert!(
            m.undecided(Until::Healthy)
                .is_some_and(|w| w.contains("hpa.exists"))
        );
        assert_eq!(m.undecided(Until::Scaled), None);
    }

    #[test]
    fn an_outage_keeps_the_last_data_and_shows_a_banner_until_it_recovers() {
        let mut m = Model::new(config());
        m.observe(obs(0, 3.0, running(3)));
        let mut down = Observation::new(t(10));
        down.api_error = Some("connection refused".into());
        down.prometheus_error = Some("timed out".into());
        let u = m.observe(down);
        assert!(u.changed);
        let banner = m.banner().unwrap();
        assert!(
            banner.contains("Kubernetes API lost (connection refused)"),
            "{banner}"
        );
        assert!(banner.contains("last good data"), "{banner}");
        assert!(banner.ends_with(", 10s ago"), "the age ticks: {banner}");
        assert_eq!(m.figures.running, Some(3));
        assert_eq!(m.figures.sessions, Some(3.0));
        m.observe(obs(20, 3.0, running(3)));
        assert!(m.banner().is_none());
    }

    /// A step-second history from `from` to `to` (seconds after `t(0)`).
    fn series(from: i64, to: i64, value: impl Fn(i64) -> f64) -> Vec<Point> {
        (from..=to)
            .map(|s| Point {
                at: t(s),
                value: value(s),
            })
            .collect()
    }

    /// Sessions 2 → 6 at 0 s as `rate(...[1m])` shows it (a climb over the
    /// minute), running pods following at 25 s.
    fn scale_up_history() -> History {
        History {
            sessions: series(-300, 60, |s| {
                if s <= 0 {
                    2.0
                } else {
                    2.0 + 4.0 * (s.min(60) as f64) / 60.0
                }
            }),
            running: series(-300, 60, |s| if s < 25 { 2.0 } else { 6.0 }),
            pending: series(-300, 60, |s| if (5..25).contains(&s) { 4.0 } else { 0.0 }),
            nodes: series(-300, 60, |_| 3.0),
            step_secs: 1.0,
        }
    }

    #[test]
    fn a_scale_up_in_the_history_is_measured_from_where_sessions_began_to_rise() {
        let (ended, open) = history_episodes(&scale_up_history(), &config());
        assert_eq!(open, None);
        assert_eq!(ended.len(), 1, "{ended:?}");
        let e = &ended[0];
        assert_eq!(e.direction, Direction::ScaleUp);
        assert_eq!(e.started_at, t(0));
        assert_eq!(e.ended_at, t(25));
        assert_eq!(e.seconds, 25.0);
        assert!(e.from_history && !e.started_before_watch);
        assert_eq!((e.from_pods, e.sessions), (2, 6));
        assert!(e.within_target);
        assert!(
            episode_line(e).contains("sessions: 25s from history (✓ within the 30s target)"),
            "{}",
            episode_line(e)
        );
    }

    #[test]
    fn a_scale_down_in_the_history_and_one_still_open_at_its_end() {
        let h = History {
            sessions: series(0, 200, |s| {
                if s < 10 {
                    4.0
                } else if s < 150 {
                    1.0
                } else {
                    5.0
                }
            }),
            running: series(0, 200, |s| if s < 80 { 4.0 } else { 1.0 }),
            pending: Vec::new(),
            nodes: Vec::new(),
            step_secs: 1.0,
        };
        let (ended, open) = history_episodes(&h, &config());
        assert_eq!(ended.len(), 1, "{ended:?}");
        assert_eq!(ended[0].direction, Direction::ScaleDown);
        assert_eq!(
            ended[0].seconds, 71.0,
            "from 9 s (the last level point) to 80 s"
        );
        assert_eq!(
            open,
            Some(HistoryOpen {
                direction: Direction::ScaleUp,
                started_at: t(149),
                before_window: false,
            })
        );
        // A gap from the first point on is only a lower bound.
        let steady = History {
            sessions: series(0, 100, |_| 4.0),
            running: series(0, 100, |_| 2.0),
            ..History::default()
        };
        let (ended, open) = history_episodes(&steady, &config());
        assert!(ended.is_empty());
        assert!(open.is_some_and(|o| o.before_window && o.started_at == t(0)));
        // Points of one series without the other's are not compared.
        let lopsided = History {
            sessions: series(0, 10, |_| 4.0),
            running: series(20, 30, |_| 2.0),
            ..History::default()
        };
        assert_eq!(history_episodes(&lopsided, &config()), (Vec::new(), None));
    }

    #[test]
    fn an_episode_under_way_at_start_dates_from_the_oldest_pending_pod() {
        let mut m = Model::new(config());
        let mut pods = running(2);
        pods.push(pod("p8", "Pending", -300));
        pods.push(pod("p9", "Pending", -120));
        m.observe(obs(0, 4.0, pods));
        assert_eq!(m.open_episode(), Some((Direction::ScaleUp, t(-300))));
        assert!(m.open_is_lower_bound());
        assert!(!m.open_from_history());
        m.observe(obs(2, 4.0, running(2)));
        assert!(
            m.summary()
                .contains("scale-up still in progress after ≥ 302s"),
            "{}",
            m.summary()
        );
    }

    #[test]
    fn the_history_fills_the_chart_and_dates_the_open_episode_whenever_it_arrives() {
        // The history answers after the first frame: its points go first and
        // its open gap moves the episode's start back.
        let mut c = config();
        c.interval_secs = 1.0;
        let mut m = Model::new(c);
        m.observe(obs(0, 4.0, running(2)));
        assert_eq!(m.open_episode(), Some((Direction::ScaleUp, t(0))));
        let h = History {
            sessions: series(-400, 0, |_| 4.0),
            running: series(-400, 0, |_| 2.0),
            pending: series(-400, 0, |_| 2.0),
            nodes: series(-400, 0, |_| 3.0),
            step_secs: 1.0,
        };
        m.backfill(Ok(h.clone()));
        assert_eq!(m.history, HistoryState::Loaded);
        assert_eq!(m.open_episode(), Some((Direction::ScaleUp, t(-400))));
        assert!(m.open_from_history() && m.open_is_lower_bound());
        assert_eq!(
            m.sessions.len(),
            401,
            "400 history points, then the live one"
        );
        assert_eq!(m.sessions.iter().next().unwrap().at, t(-400));
        assert_eq!(m.pending.len(), 401);
        let after = m.points_after(Some(t(-1)));
        assert_eq!((after.sessions.len(), after.nodes.len()), (1, 1));

        // Before the first frame: the first frame takes the history's start.
        let mut m = Model::new(config());
        m.backfill(Ok(h));
        m.observe(obs(1, 4.0, running(2)));
        assert_eq!(m.open_episode(), Some((Direction::ScaleUp, t(-400))));
        // Episodes that ended inside the history are listed first.
        let mut m = Model::new(config());
        m.backfill(Ok(scale_up_history()));
        m.observe(obs(61, 6.0, running(6)));
        assert_eq!(m.episodes.len(), 1);
        assert!(
            m.summary()
                .contains("scale-up 2 → 6 sessions: 25s from history"),
            "{}",
            m.summary()
        );

        let mut m = Model::new(config());
        m.backfill(Err("Prometheus timeout: query timed out".into()));
        assert_eq!(
            m.history,
            HistoryState::Failed("Prometheus timeout: query timed out".into())
        );
        assert!(m.sessions.is_empty());
    }
}
