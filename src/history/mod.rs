//! `report` and `timeline`: the runbook's Key Metrics measured over a past
//! period, and an incident's story in one list, from what the cluster keeps
//! (Prometheus history) and what is still there (events, the operator log).
//!
//! Pure: the command reads the series (`cluster::range`) and hands them
//! here; nothing in this module touches a network or the clock.

pub use crate::domain::flapping;
pub mod html;
pub mod render;
pub mod timeline;

/// Where the running and pending pods of a read came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReadFrom {
    /// One sentence, as the text output prints it.
    pub pods: String,
    /// The recording rules read, when any point came from them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub recording_rules: Vec<String>,
    /// The first recorded point; before it, the sums of the pod series.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recorded_since: Option<Timestamp>,
    /// The parts of the period summed from the pod series, `[from, to]`.
    pub raw: Vec<[Timestamp; 2]>,
    /// Seconds the sums of the pod series took (0 when none was read).
    pub raw_seconds: f64,
}

use crate::domain::figures::{Band, band};
use crate::domain::model::Idle;
use crate::settings::{Bands, Targets};
use crate::watch::model::{self as wm, Direction, Episode};
use jiff::Timestamp;
use serde::Serialize;

pub const API_VERSION: &str = "spice.kubectl.dev/v1alpha1";

/// The series a report is computed from: `(unix seconds, value)` points,
/// oldest first, as `query_range` answered them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Series {
    pub sessions: Vec<(f64, f64)>,
    pub running: Vec<(f64, f64)>,
    pub pending: Vec<(f64, f64)>,
    pub nodes: Vec<(f64, f64)>,
    /// The KEDA HPA's desired replicas.
    pub desired: Vec<(f64, f64)>,
    /// `metadata.generation` of the Deployment and of the KEDA HPA.
    pub deployment_generation: Vec<(f64, f64)>,
    pub hpa_generation: Vec<(f64, f64)>,
    pub step_secs: f64,
}

/// Heartbeat events from Loki over the period: `(t, events in (t - step, t])`
/// as `query_range` answered `sum(count_over_time(<lokiQuery> [step]))`,
/// which leaves out the steps with no event.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Heartbeats {
    pub points: Vec<(f64, f64)>,
    /// The first evaluation time asked for and the step.
    pub start: f64,
    pub step_secs: f64,
}

/// A stretch with sessions open and no heartbeat.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HeartbeatGap {
    pub from: Timestamp,
    pub to: Timestamp,
    /// The sessions open during it, on average.
    pub sessions: f64,
}

/// Heartbeats missing this long while sessions are open is a miss.
pub const HEARTBEAT_GAP_SECS: f64 = 600.0;

/// Pod counts over the period, from kube-state-metrics (instant queries over
/// `[period]` at its end).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodCounts {
    /// Game pods that existed during the period.
    pub created: f64,
    /// Of those, the ones that were Ready at some point.
    pub ready: f64,
    /// Pods seen in phase Failed.
    pub failed: f64,
    /// Container restarts over the period.
    pub restarts: f64,
    /// `kube_pod_created` answered nothing while game pods existed (other
    /// pod series answered): the success rate cannot be measured.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub creation_series_missing: bool,
}

/// One node that joined during the period, from kube-state-metrics: the
/// Node object's creation (`kube_node_created`: the kubelet registered) to
/// its first `kube_node_status_condition{condition="Ready",status="true"}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeLaunch {
    /// The node's name (from the cluster: bounded, one line).
    pub node: String,
    pub created_at: Timestamp,
    /// Seconds to Ready; `None`: not Ready by the end of the period.
    pub ready_seconds: Option<f64>,
}

/// Node launch times over the period.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeLaunchStats {
    pub count: usize,
    /// Launched but never Ready by the end of the period.
    pub not_ready: usize,
    pub p50_seconds: Option<f64>,
    pub p95_seconds: Option<f64>,
    pub max_seconds: Option<f64>,
    /// The slowest (never Ready first), at most five.
    pub slowest: Vec<NodeLaunch>,
}

/// What the report is computed from, besides the series.
#[derive(Debug, Clone)]
pub struct Inputs {
    pub since: Timestamp,
    pub until: Timestamp,
    pub series: Series,
    /// `Err`: why the pod counts could not be read.
    pub pods: Result<PodCounts, String>,
    /// Heartbeats per second per session over the period; `None` when Loki
    /// is not configured, `Err` when it could not be read.
    pub heartbeats: Option<Result<Heartbeats, String>>,
    /// The nodes created during the period; `Err`: why they could not be read.
    pub launches: Result<Vec<NodeLaunch>, String>,
    pub targets: Targets,
    pub bands: Bands,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Verdict {
    Pass,
    Fail,
    /// Not measurable over the period (no episode, no data).
    NoData,
    /// The source could not be read.
    Unknown,
    /// Measured, but the runbook gives no target to judge it against.
    NotJudged,
}

impl Verdict {
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "FAIL",
            Verdict::NoData => "no data",
            Verdict::Unknown => "unknown",
            Verdict::NotJudged => "not judged",
        }
    }
    pub fn mark(self) -> &'static str {
        match self {
            Verdict::Pass => "✓",
            Verdict::Fail => "✗",
            Verdict::NoData => "-",
            Verdict::Unknown => "?",
            Verdict::NotJudged => "·",
        }
    }
}

/// One Key Metric against its runbook target.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Metric {
    /// Stable id: `scaleUp`, `scaleDown`, `sessionsPerPod`, `podSuccess`,
    /// `heartbeats`, `sessionMinutesWithoutPod`, `flapping`.
    pub id: &'static str,
    pub title: &'static str,
    pub value: Option<f64>,
    /// The value as a person reads it ("p95 42 s").
    pub shown: String,
    pub target: String,
    pub verdict: Verdict,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EpisodeStats {
    pub count: usize,
    pub over_target: usize,
    pub target_seconds: f64,
    pub p50_seconds: Option<f64>,
    pub p95_seconds: Option<f64>,
    pub max_seconds: Option<f64>,
}

/// Seconds spent in each ratio band over the period.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BandTime {
    pub green_seconds: f64,
    pub yellow_seconds: f64,
    pub red_seconds: f64,
    pub idle_seconds: f64,
    pub unknown_seconds: f64,
}

impl BandTime {
    fn add(&mut self, b: Band, secs: f64) {
        match b {
            // Pods the scaling model expects (a warm pool, a held scale-down)
            // are healthy time: counted with green.
            Band::Green | Band::Expected => self.green_seconds += secs,
            Band::Yellow => self.yellow_seconds += secs,
            Band::Red => self.red_seconds += secs,
            Band::Idle => self.idle_seconds += secs,
            Band::Unknown => self.unknown_seconds += secs,
        }
    }
    pub fn rows(&self) -> [(&'static str, f64); 5] {
        [
            ("green", self.green_seconds),
            ("yellow", self.yellow_seconds),
            ("red", self.red_seconds),
            ("idle", self.idle_seconds),
            ("unknown", self.unknown_seconds),
        ]
    }
    pub fn total(&self) -> f64 {
        self.rows().iter().map(|r| r.1).sum()
    }
}

/// One of the worst episodes, with what history shows around it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorstEpisode {
    #[serde(flatten)]
    pub episode: Episode,
    /// The most pods Pending during the episode.
    pub max_pending: f64,
    /// Nodes at its start and at its end.
    pub nodes_before: Option<f64>,
    pub nodes_after: Option<f64>,
    /// What history says held it back (the diagnose chain judged on history).
    pub cause: String,
    /// The `diagnose --symptom` chain for the episode's symptom, each link
    /// judged on what history can tell at that time, or said not to be.
    pub chain: Vec<ChainLink>,
}

/// How a link of the diagnose chain reads in history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum LinkOutcome {
    Pass,
    /// This link held the episode back.
    Fail,
    /// History cannot tell (conditions, logs and events are not kept).
    NotJudged,
}

/// One link of the chain for a past episode.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChainLink {
    /// The check id `diagnose` uses for this link.
    pub check: &'static str,
    pub outcome: LinkOutcome,
    pub says: String,
}

/// Where the history starts when it does not reach back to `since`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Coverage {
    pub first_point: Option<Timestamp>,
    pub last_point: Option<Timestamp>,
    /// The period asked for is not fully covered (retention shorter than
    /// `--since`, or Prometheus started later).
    pub partial: bool,
}

/// `kind: Report`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub since: Timestamp,
    pub until: Timestamp,
    pub step_seconds: f64,
    pub coverage: Coverage,
    pub metrics: Vec<Metric>,
    pub scale_up: EpisodeStats,
    pub scale_down: EpisodeStats,
    pub bands: BandTime,
    pub session_minutes_without_pod: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pods: Option<PodCounts>,
    /// Nodes added over the period (rises of the node count).
    pub node_launches: usize,
    /// Each node launch's time (kube-state-metrics); `None` when unread.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_launch_times: Option<NodeLaunchStats>,
    /// Stretches with sessions and no heartbeat (Loki read).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub heartbeat_gaps: Vec<HeartbeatGap>,
    pub flapping: flapping::Flapping,
    pub worst_episodes: Vec<WorstEpisode>,
    /// Every episode, oldest first (the HTML chart draws them).
    pub episodes: Vec<Episode>,
    /// Sources that could not be read: why.
    pub unread: Vec<String>,
    pub notes: Vec<String>,
    /// Where the pod counts came from: the recording rules or every pod
    /// series (a live read; `None` when replayed from a snapshot).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_from: Option<ReadFrom>,
    /// Some target was missed.
    pub failed: bool,
    /// Some source could not be read.
    pub incomplete: bool,
}

impl Series {
    /// `sum(kube_pod_status_phase{...})` answers nothing at all, not 0, when
    /// the game has no pod (kube-state-metrics drops a deleted pod's
    /// series): where kube-state-metrics answered for nodes at that point
    /// (`count(kube_node_info)`, so it was up), no pod series is 0 pods.
    pub fn fill_absent_pods(&mut self) {
        for pods in [&mut self.running, &mut self.pending] {
            let have: std::collections::BTreeSet<i64> =
                pods.iter().map(|p| (p.0 * 1000.0) as i64).collect();
            let missing: Vec<(f64, f64)> = self
                .nodes
                .iter()
                .filter(|n| !have.contains(&((n.0 * 1000.0) as i64)))
                .map(|n| (n.0, 0.0))
                .collect();
            if !missing.is_empty() {
                pods.extend(missing);
                pods.sort_by(|a, b| a.0.total_cmp(&b.0));
            }
        }
    }
}

fn ts(secs: f64) -> Option<Timestamp> {
    Timestamp::from_millisecond((secs * 1000.0).round() as i64).ok()
}

fn points(v: &[(f64, f64)]) -> Vec<wm::Point> {
    v.iter()
        .filter_map(|&(t, value)| Some(wm::Point { at: ts(t)?, value }))
        .collect()
}

/// The episodes in the series, as `watch` finds them in its history.
pub fn episodes(series: &Series, targets: Targets, bands: Bands) -> Vec<Episode> {
    let h = wm::History {
        sessions: points(&series.sessions),
        running: points(&series.running),
        pending: points(&series.pending),
        nodes: points(&series.nodes),
        step_secs: series.step_secs,
    };
    let config = wm::Config {
        interval_secs: series.step_secs.max(1.0),
        window_secs: 0.0,
        targets,
        bands,
    };
    let (mut ended, _) = wm::history_episodes(&h, &config);
    // An episode under way at the first point is not measured from its start.
    for e in &mut ended {
        if e.started_before_watch {
            e.within_target = true;
        }
    }
    ended
}

/// The p-th percentile (nearest rank) of sorted values.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

fn stats(eps: &[&Episode], target: f64) -> EpisodeStats {
    let mut secs: Vec<f64> = eps
        .iter()
        .filter(|e| !e.started_before_watch)
        .map(|e| e.seconds)
        .collect();
    secs.sort_by(f64::total_cmp);
    EpisodeStats {
        count: secs.len(),
        over_target: secs.iter().filter(|s| **s > target).count(),
        target_seconds: target,
        p50_seconds: percentile(&secs, 50.0),
        p95_seconds: percentile(&secs, 95.0),
        max_seconds: secs.last().copied(),
    }
}

/// The value of a series at `t` (the last point at or before it).
pub fn at(series: &[(f64, f64)], t: f64) -> Option<f64> {
    let i = series.partition_point(|p| p.0 <= t);
    i.checked_sub(1).map(|i| series[i].1)
}

fn in_span(series: &[(f64, f64)], from: f64, to: f64) -> impl Iterator<Item = f64> + '_ {
    series
        .iter()
        .filter(move |p| p.0 >= from && p.0 <= to)
        .map(|p| p.1)
}

fn secs(t: Timestamp) -> f64 {
    t.as_millisecond() as f64 / 1000.0
}

/// What history says held a slow scale-up or scale-down back: the
/// `diagnose --symptom too-slow` chain (KEDA → pods → nodes) judged on the
/// series alone.
fn cause(e: &Episode, s: &Series, max_pending: f64, nb: Option<f64>, na: Option<f64>) -> String {
    let (from, to) = (secs(e.started_at), secs(e.ended_at));
    match e.direction {
        Direction::ScaleUp => {
            let first_rise = s
                .running
                .iter()
                .chain(s.pending.iter())
                .filter(|p| p.0 >= from && p.0 <= to)
                .find(|p| p.1 > e.from_pods as f64 + 0.5)
                .map(|p| p.0 - from);
            if matches!((nb, na), (Some(b), Some(a)) if a > b) && max_pending >= 1.0 {
                format!(
                    "pods waited Pending (up to {max_pending:.0}) while nodes were launched ({:.0} → {:.0}): node provisioning",
                    nb.unwrap_or_default(),
                    na.unwrap_or_default()
                )
            } else if max_pending >= 1.0 {
                format!(
                    "pods waited Pending (up to {max_pending:.0}) with no new node: scheduling or image pull"
                )
            } else if first_rise.is_none_or(|d| d > e.target_seconds / 2.0) {
                format!(
                    "no new pod for {:.0} s after sessions rose: KEDA/HPA reacted late (pollingInterval, activationThreshold)",
                    first_rise.unwrap_or(to - from)
                )
            } else {
                "pods were created in time but became Running late: container start".into()
            }
        }
        Direction::ScaleDown => {
            "pods outlived their sessions: cooldownPeriod or the HPA's scale-down stabilization"
                .into()
        }
    }
}

/// The launch times of the nodes created in the period.
pub fn launch_stats(launches: &[NodeLaunch]) -> NodeLaunchStats {
    let mut secs: Vec<f64> = launches.iter().filter_map(|l| l.ready_seconds).collect();
    secs.sort_by(f64::total_cmp);
    let mut slowest = launches.to_vec();
    slowest.sort_by(|a, b| {
        let key = |l: &NodeLaunch| l.ready_seconds.unwrap_or(f64::INFINITY);
        key(b)
            .total_cmp(&key(a))
            .then(a.created_at.cmp(&b.created_at))
    });
    slowest.truncate(5);
    NodeLaunchStats {
        count: launches.len(),
        not_ready: launches
            .iter()
            .filter(|l| l.ready_seconds.is_none())
            .count(),
        p50_seconds: percentile(&secs, 50.0),
        p95_seconds: percentile(&secs, 95.0),
        max_seconds: secs.last().copied(),
        slowest,
    }
}

/// Most Loki steps walked (a month at 5 min is 8,928).
const HEARTBEAT_STEPS_LIMIT: usize = 20_000;

/// Heartbeats per session-second over the period, and the stretches of at
/// least [`HEARTBEAT_GAP_SECS`] with sessions open and no heartbeat. Loki's
/// history starts at its first heartbeat (retention, or a Loki installed
/// later): the steps before it are not counted as a gap.
pub fn heartbeat_figures(
    h: &Heartbeats,
    s: &Series,
    until: f64,
) -> (Option<f64>, Vec<HeartbeatGap>) {
    let step = h.step_secs.max(1.0);
    let sstep = s.step_secs.max(1.0);
    // Each point by the step it ends (Loki may round the start it was sent).
    let index = |t: f64| ((t - h.start) / step).round() as i64;
    let events: std::collections::BTreeMap<i64, f64> =
        h.points.iter().map(|p| (index(p.0), p.1)).collect();
    let Some(first) = h.points.iter().find(|p| p.1 > 0.0).map(|p| p.0) else {
        return (None, Vec::new());
    };
    let (mut total_events, mut session_secs) = (0.0, 0.0);
    let mut gaps = Vec::new();
    let mut open: Option<(f64, f64, f64)> = None; // (from, to, session-seconds)
    let close = |open: &mut Option<(f64, f64, f64)>, gaps: &mut Vec<HeartbeatGap>| {
        if let Some((from, to, ss)) = open.take()
            && to - from >= HEARTBEAT_GAP_SECS
            && gaps.len() < 10
            && let (Some(f), Some(t)) = (ts(from), ts(to))
        {
            gaps.push(HeartbeatGap {
                from: f,
                to: t,
                sessions: (ss / (to - from)).max(0.0),
            });
        }
    };
    for k in 0..HEARTBEAT_STEPS_LIMIT {
        let t = h.start + k as f64 * step;
        if t > until + 0.5 {
            break;
        }
        if t < first {
            continue;
        }
        let n = events.get(&(k as i64)).copied().unwrap_or(0.0);
        let ss: f64 = in_span(&s.sessions, t - step + 0.001, t)
            .map(|v| v * sstep)
            .sum();
        let covered = s.sessions.iter().any(|p| p.0 > t - step && p.0 <= t);
        if !covered {
            close(&mut open, &mut gaps);
            continue;
        }
        total_events += n;
        session_secs += ss;
        if n <= 0.0 && ss / step >= 0.5 {
            open = Some(match open {
                Some((from, _, acc)) => (from, t, acc + ss),
                None => (t - step, t, ss),
            });
        } else {
            close(&mut open, &mut gaps);
        }
    }
    close(&mut open, &mut gaps);
    let rate = (session_secs >= 1.0).then(|| total_events / session_secs);
    (rate, gaps)
}

/// The first time in `[from, to]` a series reaches `level`, in seconds after `from`.
fn reached(series: &[(f64, f64)], from: f64, to: f64, level: f64) -> Option<f64> {
    series
        .iter()
        .find(|p| p.0 >= from && p.0 <= to && p.1 >= level - 0.5)
        .map(|p| p.0 - from)
}

/// The diagnose chain of an episode's symptom judged on history: a slow
/// scale-up is `diagnose --symptom too-slow` (KEDA's reaction, pod startup,
/// Pending pods, node scale-up), a slow scale-down `--symptom no-scale-down`.
/// Conditions, operator logs and events are not in Prometheus: the links
/// that need them are said not to be judged, never guessed.
fn chain(e: &Episode, s: &Series, launches: Option<&[NodeLaunch]>) -> Vec<ChainLink> {
    let (from, to) = (secs(e.started_at), secs(e.ended_at));
    let half = e.target_seconds / 2.0;
    let step = s.step_secs.max(1.0);
    let link = |check, outcome, says: String| ChainLink {
        check,
        outcome,
        says,
    };
    let mut out = Vec::new();
    // The sessions metric KEDA reads: a gap in it around the episode.
    let pts: Vec<f64> = s
        .sessions
        .iter()
        .filter(|p| p.0 >= from - 120.0 && p.0 <= to)
        .map(|p| p.0)
        .collect();
    let widest = pts.windows(2).map(|w| w[1] - w[0]).fold(0.0, f64::max).max(
        pts.first()
            .map_or(to - from, |f| f - (from - 120.0))
            .max(0.0)
            - step,
    );
    out.push(if widest > 2.0 * step.max(30.0) {
        link(
            "prometheus.nginx-metric",
            LinkOutcome::Fail,
            format!("the sessions series has no point for {widest:.0} s around it: KEDA read nothing then"),
        )
    } else {
        link(
            "prometheus.nginx-metric",
            LinkOutcome::Pass,
            "the sessions series has a point every step around it".into(),
        )
    });
    match e.direction {
        Direction::ScaleUp => {
            let want = e.sessions as f64;
            let hpa = if s.desired.is_empty() {
                None
            } else {
                reached(&s.desired, from, to, e.from_pods as f64 + 1.0)
            };
            let total: Vec<(f64, f64)> = s
                .running
                .iter()
                .map(|&(t, r)| (t, r + at(&s.pending, t).unwrap_or(0.0)))
                .collect();
            let created = reached(&total, from, to, e.from_pods as f64 + 1.0);
            let reaction = hpa.or(created);
            let react_text = |d: f64| match hpa {
                Some(_) => format!("the HPA wanted more pods {d:.0} s after sessions rose"),
                None => format!("the first new pod appeared {d:.0} s after sessions rose"),
            };
            out.push(if e.from_pods == 0 {
                match reaction {
                    Some(d) if d <= half => link(
                        "keda.activation-threshold",
                        LinkOutcome::Pass,
                        format!("activated from zero: {}", react_text(d)),
                    ),
                    Some(d) => link(
                        "keda.activation-threshold",
                        LinkOutcome::Fail,
                        format!("activation from zero was late: {}", react_text(d)),
                    ),
                    None => link(
                        "keda.activation-threshold",
                        LinkOutcome::Fail,
                        "KEDA did not activate from zero during it".into(),
                    ),
                }
            } else {
                link(
                    "keda.activation-threshold",
                    LinkOutcome::Pass,
                    format!(
                        "KEDA was already active ({} pods): the threshold gates only 0 → 1",
                        e.from_pods
                    ),
                )
            });
            out.push(match reaction {
                Some(d) if d <= half => {
                    link("keda.polling-interval", LinkOutcome::Pass, react_text(d))
                }
                Some(d) => link(
                    "keda.polling-interval",
                    LinkOutcome::Fail,
                    format!("{}: KEDA/HPA reacted late (pollingInterval)", react_text(d)),
                ),
                None => link(
                    "keda.polling-interval",
                    LinkOutcome::Fail,
                    "no new pod during the episode".into(),
                ),
            });
            let pending_points = s
                .pending
                .iter()
                .filter(|p| p.0 >= from && p.0 <= to && p.1 >= 0.5)
                .count();
            let pending_secs = pending_points as f64 * step;
            let max_pending = in_span(&s.pending, from, to).fold(0.0, f64::max);
            let pending_held = pending_secs > half;
            let running_at = reached(&s.running, from, to, want);
            out.push(match (created, running_at) {
                (Some(c), Some(r)) if !pending_held && r - c > half => link(
                    "pods.startup",
                    LinkOutcome::Fail,
                    format!(
                        "pods were there at +{c:.0} s but Running at +{r:.0} s: container start (image pull, readiness)"
                    ),
                ),
                _ => link(
                    "pods.startup",
                    LinkOutcome::Pass,
                    "no slow container start seen".into(),
                ),
            });
            out.push(if pending_held {
                link(
                    "pods.pending",
                    LinkOutcome::Fail,
                    format!("up to {max_pending:.0} pods Pending for ≈ {pending_secs:.0} s"),
                )
            } else {
                link(
                    "pods.pending",
                    LinkOutcome::Pass,
                    if max_pending >= 1.0 {
                        format!("pods Pending only briefly (≈ {pending_secs:.0} s)")
                    } else {
                        "no pod Pending".into()
                    },
                )
            });
            let during: Vec<&NodeLaunch> = launches
                .unwrap_or_default()
                .iter()
                .filter(|l| {
                    let c = secs(l.created_at);
                    c >= from - 60.0 && c <= to
                })
                .collect();
            out.push(match (launches, during.first(), pending_held) {
                (None, _, _) => link(
                    "nodes.scale-up",
                    LinkOutcome::NotJudged,
                    "node launches could not be read".into(),
                ),
                (Some(_), Some(l), true) => link(
                    "nodes.scale-up",
                    LinkOutcome::Fail,
                    format!(
                        "the pods waited for a node: {} registered at +{:.0} s, {}",
                        l.node,
                        secs(l.created_at) - from,
                        l.ready_seconds
                            .map_or("not Ready by the end".into(), |r| format!(
                                "Ready {r:.0} s later"
                            ))
                    ),
                ),
                (Some(_), None, true) => link(
                    "nodes.scale-up",
                    LinkOutcome::Fail,
                    "pods waited and no node was added: capacity, limits or the node autoscaler"
                        .into(),
                ),
                (Some(_), _, false) => link(
                    "nodes.scale-up",
                    LinkOutcome::Pass,
                    if during.is_empty() {
                        "no pod waited for a node".into()
                    } else {
                        format!("{} node(s) added, no pod waited long", during.len())
                    },
                ),
            });
        }
        Direction::ScaleDown => {
            out.push(link(
                "sessions.traffic",
                LinkOutcome::Pass,
                format!("sessions fell to {}", e.sessions),
            ));
            let fell = if s.desired.is_empty() {
                None
            } else {
                s.desired
                    .iter()
                    .find(|p| p.0 >= from && p.0 <= to && p.1 <= e.sessions as f64 + 0.5)
                    .map(|p| p.0 - from)
            };
            out.push(match (s.desired.is_empty(), fell) {
                (true, _) => link(
                    "keda.cooldown",
                    LinkOutcome::NotJudged,
                    "the HPA's desired replicas are not in history".into(),
                ),
                (false, Some(d)) if d <= e.target_seconds => link(
                    "keda.cooldown",
                    LinkOutcome::Pass,
                    format!("the HPA wanted fewer pods {d:.0} s after sessions fell: the pods ended slowly (terminationGracePeriodSeconds)"),
                ),
                (false, Some(d)) => link(
                    "keda.cooldown",
                    LinkOutcome::Fail,
                    format!("the HPA held the pods {d:.0} s after sessions fell: cooldownPeriod or scale-down stabilization"),
                ),
                (false, None) => link(
                    "keda.cooldown",
                    LinkOutcome::Fail,
                    "the HPA did not want fewer pods during the episode: cooldownPeriod or scale-down stabilization".into(),
                ),
            });
            out.push(link(
                "loki.zombies",
                LinkOutcome::NotJudged,
                "sessions still sending heartbeats then are not kept in Prometheus".into(),
            ));
        }
    }
    for check in ["keda.ready", "keda.operator-logs", "hpa.conditions"] {
        out.push(link(
            check,
            LinkOutcome::NotJudged,
            "conditions and logs are not kept in history: run diagnose during the next one".into(),
        ));
    }
    out
}

/// The chain of a worst episode in one line: the links that held it back
/// with what history says, then the ones history cannot judge.
pub fn chain_line(chain: &[ChainLink]) -> String {
    let mut parts: Vec<String> = chain
        .iter()
        .filter(|l| l.outcome == LinkOutcome::Fail)
        .map(|l| format!("✗ {}: {}", l.check, l.says))
        .collect();
    let passed: Vec<&str> = chain
        .iter()
        .filter(|l| l.outcome == LinkOutcome::Pass)
        .map(|l| l.check)
        .collect();
    if !passed.is_empty() {
        parts.push(format!("✓ {}", passed.join(", ")));
    }
    let unjudged: Vec<&str> = chain
        .iter()
        .filter(|l| l.outcome == LinkOutcome::NotJudged)
        .map(|l| l.check)
        .collect();
    if !unjudged.is_empty() {
        parts.push(format!("not judged from history: {}", unjudged.join(", ")));
    }
    parts.join(" · ")
}

/// The pod success target in percent (the setting is a fraction, 0.99).
fn success_percent(target: f64) -> f64 {
    if target <= 1.0 {
        target * 100.0
    } else {
        target
    }
}

/// Builds the report.
pub fn build(inp: &Inputs) -> Report {
    let s = &inp.series;
    let step = s.step_secs.max(1.0);
    let eps = episodes(s, inp.targets, inp.bands);
    let ups: Vec<&Episode> = eps
        .iter()
        .filter(|e| e.direction == Direction::ScaleUp)
        .collect();
    let downs: Vec<&Episode> = eps
        .iter()
        .filter(|e| e.direction == Direction::ScaleDown)
        .collect();
    let scale_up = stats(&ups, inp.targets.scale_up_seconds);
    let scale_down = stats(&downs, inp.targets.scale_down_seconds);

    // Time in each band and session-minutes with no pod, point by point.
    let mut bands = BandTime::default();
    let mut no_pod_minutes = 0.0;
    let mut weighted_ratio = (0.0, 0.0);
    let idle = Idle::default();
    for &(t, sessions) in &s.sessions {
        let running = at(&s.running, t);
        let (ratio, b) = band(Some(sessions), running, &inp.bands, &idle);
        bands.add(b, step);
        if let Some(r) = ratio {
            weighted_ratio.0 += r * step;
            weighted_ratio.1 += step;
        }
        if running.is_some_and(|r| r < 0.5) && sessions >= 0.5 {
            no_pod_minutes += sessions.round() * step / 60.0;
        }
    }
    let node_launches = s
        .nodes
        .windows(2)
        .map(|w| (w[1].1 - w[0].1).max(0.0).round() as usize)
        .sum();
    let flapping = flapping::measure(&s.running, secs(inp.until));

    let mut worst: Vec<&Episode> = eps.iter().filter(|e| !e.started_before_watch).collect();
    worst.sort_by(|a, b| {
        (b.seconds / b.target_seconds)
            .total_cmp(&(a.seconds / a.target_seconds))
            .then(a.started_at.cmp(&b.started_at))
    });
    let worst_episodes = worst
        .into_iter()
        .take(5)
        .map(|e| {
            let (from, to) = (secs(e.started_at), secs(e.ended_at));
            let max_pending = in_span(&s.pending, from, to).fold(0.0, f64::max);
            let nb = at(&s.nodes, from);
            let na = at(&s.nodes, to);
            let chain = chain(e, s, inp.launches.as_deref().ok());
            // A scale-down's cause is the HPA's reaction when history has
            // it (held by cooldown, or pods ending slowly after it let go).
            let cooldown = chain
                .iter()
                .find(|l| l.check == "keda.cooldown" && l.outcome != LinkOutcome::NotJudged);
            let cause = match (e.direction, cooldown) {
                (Direction::ScaleDown, Some(l)) => l.says.clone(),
                _ => cause(e, s, max_pending, nb, na),
            };
            WorstEpisode {
                episode: e.clone(),
                max_pending,
                nodes_before: nb,
                nodes_after: na,
                cause,
                chain,
            }
        })
        .collect();

    let mut unread = Vec::new();
    let mut metrics = Vec::new();
    let ep_metric = |id, title, st: &EpisodeStats| {
        let verdict = match st.p95_seconds {
            None => Verdict::NoData,
            Some(_) if st.over_target > 0 => Verdict::Fail,
            Some(_) => Verdict::Pass,
        };
        Metric {
            id,
            title,
            value: st.p95_seconds,
            shown: match (st.p50_seconds, st.p95_seconds, st.max_seconds) {
                (Some(a), Some(b), Some(c)) => {
                    format!("p50 {a:.0} s · p95 {b:.0} s · max {c:.0} s")
                }
                _ => "no episode".into(),
            },
            target: format!("< {:.0} s", st.target_seconds),
            verdict,
            detail: format!("{} episodes, {} over target", st.count, st.over_target),
        }
    };
    metrics.push(ep_metric("scaleUp", "Scale-up time", &scale_up));
    metrics.push(ep_metric("scaleDown", "Scale-down time", &scale_down));

    let mean_ratio = (weighted_ratio.1 > 0.0).then(|| weighted_ratio.0 / weighted_ratio.1);
    let total = bands.total();
    let green_share = (total > 0.0).then(|| (bands.green_seconds + bands.idle_seconds) / total);
    metrics.push(Metric {
        id: "sessionsPerPod",
        title: "Sessions per pod",
        value: mean_ratio,
        shown: mean_ratio.map_or("no data".into(), |r| format!("{r:.2} on average")),
        target: format!(
            "1.0 ({:.1}–{:.1})",
            inp.bands.green_min, inp.bands.green_max
        ),
        verdict: match mean_ratio {
            None => Verdict::NoData,
            Some(r) if r >= inp.bands.green_min && r <= inp.bands.green_max => Verdict::Pass,
            Some(_) => Verdict::Fail,
        },
        detail: green_share.map_or(String::new(), |g| {
            format!("{:.1} % of the time green or idle", g * 100.0)
        }),
    });
    metrics.push(Metric {
        id: "sessionMinutesWithoutPod",
        title: "Session-minutes with no pod",
        value: Some(no_pod_minutes),
        shown: format!("{no_pod_minutes:.1}"),
        target: "0 (beyond scale-up)".into(),
        verdict: Verdict::Pass,
        detail: "players waiting for a first pod (0→1), counted in scale-up too".into(),
    });
    metrics.push(match &inp.pods {
        Ok(p) if p.creation_series_missing => Metric {
            id: "podSuccess",
            title: "Pod success rate",
            value: None,
            shown: "cannot measure".into(),
            target: format!("> {:.0} %", success_percent(inp.targets.pod_success_rate)),
            verdict: Verdict::NoData,
            detail: format!(
                "kube_pod_created is not in Prometheus while {}: kube-state-metrics writes it (its pods collector); scrape kube-state-metrics with pods in --resources",
                // The pods seen may be Ready ones, or (no Ready series
                // either) only running or pending ones in the phase series.
                if p.ready > 0.0 {
                    format!("{:.0} game pods were Ready", p.ready)
                } else {
                    "kube_pod_status_phase shows game pods".to_string()
                }
            ),
        },
        Ok(p) => {
            let rate = (p.created > 0.0).then(|| p.ready / p.created * 100.0);
            let target = success_percent(inp.targets.pod_success_rate);
            Metric {
                id: "podSuccess",
                title: "Pod success rate",
                value: rate,
                shown: rate.map_or("no pod".into(), |r| format!("{r:.2} %")),
                target: format!("> {target:.0} %"),
                verdict: match rate {
                    None => Verdict::NoData,
                    Some(r) if r >= target => Verdict::Pass,
                    Some(_) => Verdict::Fail,
                },
                detail: format!(
                    "{:.0} of {:.0} pods Ready, {:.0} failed, {:.0} restarts",
                    p.ready, p.created, p.failed, p.restarts
                ),
            }
        }
        Err(e) => {
            unread.push(format!("pod counts: {e}"));
            Metric {
                id: "podSuccess",
                title: "Pod success rate",
                value: None,
                shown: "could not be read".into(),
                target: format!("> {:.0} %", success_percent(inp.targets.pod_success_rate)),
                verdict: Verdict::Unknown,
                detail: String::new(),
            }
        }
    });
    let hb_target = inp.targets.heartbeat_per_session;
    let mut heartbeat_gaps = Vec::new();
    metrics.push(match &inp.heartbeats {
        None => Metric {
            id: "heartbeats",
            title: "Heartbeats per session",
            value: None,
            shown: "Loki not configured".into(),
            target: format!("≈ {hb_target}/s"),
            verdict: Verdict::NoData,
            detail: String::new(),
        },
        Some(Err(e)) => {
            unread.push(format!("Loki: {e}"));
            Metric {
                id: "heartbeats",
                title: "Heartbeats per session",
                value: None,
                shown: "could not be read".into(),
                target: format!("≈ {hb_target}/s"),
                verdict: Verdict::Unknown,
                detail: String::new(),
            }
        }
        Some(Ok(h)) => {
            let (v, gaps) = heartbeat_figures(h, s, secs(inp.until));
            let detail = match gaps.first() {
                Some(g) => format!(
                    "no heartbeat from {} to {} ({:.0} min) while {:.1} sessions were open{}",
                    g.from.strftime("%Y-%m-%d %H:%M"),
                    g.to.strftime("%H:%M"),
                    (secs(g.to) - secs(g.from)) / 60.0,
                    g.sessions,
                    if gaps.len() > 1 {
                        format!("; {} more such stretches", gaps.len() - 1)
                    } else {
                        String::new()
                    }
                ),
                None if v.is_none() => "Loki answered no heartbeat for the period".into(),
                None => String::new(),
            };
            heartbeat_gaps = gaps;
            Metric {
                id: "heartbeats",
                title: "Heartbeats per session",
                value: v,
                shown: v.map_or("no heartbeats".into(), |v| format!("{v:.3}/s")),
                target: format!("≈ {hb_target}/s (±25 %)"),
                verdict: match v {
                    None if s.sessions.iter().any(|p| p.1 >= 0.5) => Verdict::Fail,
                    None => Verdict::NoData,
                    Some(_) if !heartbeat_gaps.is_empty() => Verdict::Fail,
                    Some(v) if (v - hb_target).abs() <= hb_target * 0.25 => Verdict::Pass,
                    Some(_) => Verdict::Fail,
                },
                detail,
            }
        }
    });
    let node_launch_times = match &inp.launches {
        Ok(l) => Some(launch_stats(l)),
        Err(e) => {
            unread.push(format!("node launches: {e}"));
            None
        }
    };
    metrics.push(match &node_launch_times {
        None => Metric {
            id: "nodeLaunch",
            title: "Node launch time",
            value: None,
            shown: "could not be read".into(),
            target: "no runbook target".into(),
            verdict: Verdict::Unknown,
            detail: String::new(),
        },
        Some(n) => Metric {
            id: "nodeLaunch",
            title: "Node launch time",
            value: n.p95_seconds,
            shown: match (n.p50_seconds, n.p95_seconds, n.max_seconds) {
                (Some(a), Some(b), Some(c)) => {
                    format!("p50 {a:.0} s · p95 {b:.0} s · max {c:.0} s")
                }
                _ if n.count > 0 => "never Ready".into(),
                _ => "no node launched".into(),
            },
            target: "no runbook target".into(),
            verdict: if n.count > 0 {
                Verdict::NotJudged
            } else {
                Verdict::NoData
            },
            detail: format!(
                "{} node{} registered → Ready{}{}",
                n.count,
                if n.count == 1 { "" } else { "s" },
                if n.not_ready > 0 {
                    format!(", {} never Ready", n.not_ready)
                } else {
                    String::new()
                },
                n.slowest
                    .first()
                    .and_then(|l| l.ready_seconds.map(|r| (l, r)))
                    .map_or(String::new(), |(l, r)| format!(
                        "; slowest {} ({r:.0} s, {})",
                        l.node,
                        l.created_at.strftime("%Y-%m-%d %H:%M")
                    ))
            ),
        },
    });
    metrics.push(Metric {
        id: "flapping",
        title: "Flapping (last 30 min)",
        value: Some(flapping.reversals as f64),
        shown: format!(
            "{} replica changes, {} reversals",
            flapping.changes, flapping.reversals
        ),
        target: format!("< {} reversals", flapping::REVERSALS_LIMIT),
        verdict: if flapping.flapping {
            Verdict::Fail
        } else {
            Verdict::Pass
        },
        detail: String::new(),
    });

    let first = s.sessions.first().map(|p| p.0);
    let last = s.sessions.last().map(|p| p.0);
    let partial = first.is_none_or(|f| f > secs(inp.since) + 2.0 * step);
    let mut notes = Vec::new();
    if let (true, Some(f)) = (partial, first.and_then(ts)) {
        notes.push(format!(
            "history reaches back only to {f} (Prometheus retention shorter than the period, or no data before): figures cover what is there"
        ));
    } else if first.is_none() {
        notes.push("Prometheus holds no sessions history for the period".into());
    }
    let failed = metrics.iter().any(|m| m.verdict == Verdict::Fail);
    let incomplete = !unread.is_empty();
    Report {
        api_version: API_VERSION,
        kind: "Report",
        since: inp.since,
        until: inp.until,
        step_seconds: step,
        coverage: Coverage {
            first_point: first.and_then(ts),
            last_point: last.and_then(ts),
            partial,
        },
        metrics,
        scale_up,
        scale_down,
        bands,
        session_minutes_without_pod: no_pod_minutes,
        pods: inp.pods.as_ref().ok().copied(),
        node_launches,
        node_launch_times,
        heartbeat_gaps,
        flapping,
        worst_episodes,
        episodes: eps,
        unread,
        notes,
        read_from: None,
        failed,
        incomplete,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Settings;

    fn series_of(sessions: &[f64], running: &[f64], step: f64) -> Series {
        let t0 = 1_800_000_000.0;
        let pts = |v: &[f64]| {
            v.iter()
                .enumerate()
                .map(|(i, x)| (t0 + i as f64 * step, *x))
                .collect()
        };
        Series {
            sessions: pts(sessions),
            running: pts(running),
            pending: pts(&vec![0.0; running.len()]),
            nodes: pts(&vec![1.0; running.len()]),
            step_secs: step,
            ..Series::default()
        }
    }

    fn inputs(series: Series) -> Inputs {
        let d = Settings::defaults();
        let t0 = series.sessions.first().map_or(0.0, |p| p.0);
        let t1 = series.sessions.last().map_or(0.0, |p| p.0);
        Inputs {
            since: ts(t0).unwrap_or_default(),
            until: ts(t1).unwrap_or_default(),
            series,
            pods: Ok(PodCounts {
                created: 100.0,
                ready: 100.0,
                failed: 0.0,
                restarts: 0.0,
                creation_series_missing: false,
            }),
            heartbeats: None,
            launches: Ok(vec![]),
            targets: d.targets,
            bands: d.bands,
        }
    }

    #[test]
    fn a_slow_scale_up_fails_its_target_and_leads_the_worst_episodes() {
        // 15 s step: sessions jump 0 → 3, pods follow 60 s later; later a
        // fast one (15 s) from 3 → 4.
        let mut s = vec![0.0; 4];
        s.extend(vec![3.0; 10]);
        s.extend(vec![4.0; 6]);
        let mut r = vec![0.0; 8];
        r.extend(vec![3.0; 7]);
        r.extend(vec![4.0; 5]);
        let report = build(&inputs(series_of(&s, &r, 15.0)));
        assert_eq!(report.scale_up.count, 2, "{:?}", report.episodes);
        assert_eq!(report.scale_up.over_target, 1);
        // Measured from the last point before the rise (the rate climbs from there).
        assert_eq!(report.scale_up.max_seconds, Some(75.0));
        assert!(report.failed);
        assert_eq!(report.worst_episodes[0].episode.seconds, 75.0);
        assert!(
            report.worst_episodes[0]
                .cause
                .contains("KEDA/HPA reacted late"),
            "{}",
            report.worst_episodes[0].cause
        );
        assert!(report.session_minutes_without_pod > 0.0);
    }

    #[test]
    fn a_quiet_period_passes_and_a_short_history_is_noted() {
        let report = build(&inputs(series_of(&[2.0; 20], &[2.0; 20], 15.0)));
        assert!(!report.failed, "{:?}", report.metrics);
        assert_eq!(report.bands.green_seconds, 300.0);
        let mut inp = inputs(series_of(&[2.0; 20], &[2.0; 20], 15.0));
        inp.since = ts(1_700_000_000.0).unwrap_or_default();
        let report = build(&inp);
        assert!(report.coverage.partial);
        assert!(
            report.notes[0].contains("reaches back only"),
            "{:?}",
            report.notes
        );
    }

    #[test]
    fn unread_pod_counts_make_the_report_incomplete_not_failed() {
        let mut inp = inputs(series_of(&[2.0; 20], &[2.0; 20], 15.0));
        inp.pods = Err("timed out".into());
        let report = build(&inp);
        assert!(report.incomplete && !report.failed);
    }

    #[test]
    fn no_pod_series_while_kube_state_metrics_answers_is_zero_pods() {
        let mut s = Series {
            running: vec![(0.0, 2.0), (30.0, 1.0)],
            nodes: vec![(0.0, 1.0), (30.0, 1.0), (60.0, 1.0), (90.0, 1.0)],
            ..Series::default()
        };
        s.fill_absent_pods();
        assert_eq!(
            s.running,
            vec![(0.0, 2.0), (30.0, 1.0), (60.0, 0.0), (90.0, 0.0)]
        );
        assert_eq!(s.pending.len(), 4);
        // Without kube-state-metrics (no node series) nothing is invented.
        let mut s = Series::default();
        s.fill_absent_pods();
        assert!(s.running.is_empty());
    }

    fn launch(node: &str, created: f64, ready: Option<f64>) -> NodeLaunch {
        NodeLaunch {
            node: node.into(),
            created_at: ts(created).unwrap_or_default(),
            ready_seconds: ready,
        }
    }

    #[test]
    fn node_launch_times_are_measured_but_not_judged_without_a_runbook_target() {
        let mut inp = inputs(series_of(&[2.0; 20], &[2.0; 20], 15.0));
        inp.launches = Ok(vec![
            launch("ip-10-0-1-1", 1_800_000_010.0, Some(40.0)),
            launch("ip-10-0-1-2", 1_800_000_020.0, Some(55.0)),
            launch("ip-10-0-1-3", 1_800_000_030.0, Some(120.0)),
            launch("ip-10-0-1-4", 1_800_000_040.0, None),
        ]);
        let report = build(&inp);
        let n = report.node_launch_times.as_ref().expect("read");
        assert_eq!((n.count, n.not_ready), (4, 1));
        assert_eq!(n.p50_seconds, Some(55.0));
        assert_eq!(n.max_seconds, Some(120.0));
        // Never Ready first, then the slowest.
        assert_eq!(n.slowest[0].node, "ip-10-0-1-4");
        assert_eq!(n.slowest[1].node, "ip-10-0-1-3");
        let m = report
            .metrics
            .iter()
            .find(|m| m.id == "nodeLaunch")
            .expect("row");
        assert_eq!(m.verdict, Verdict::NotJudged);
        assert_eq!(m.target, "no runbook target");
        assert!(m.shown.contains("p95 120 s"), "{}", m.shown);
        assert!(m.detail.contains("1 never Ready"), "{}", m.detail);
        assert!(!report.failed && !report.incomplete);
        // Unread: a gap (exit 3), never a pass.
        inp.launches = Err("timed out".into());
        let report = build(&inp);
        assert!(report.incomplete);
        assert!(report.unread.iter().any(|u| u.starts_with("node launches")));
    }

    fn heartbeats_at(s: &Series, rate: impl Fn(f64) -> f64, step: f64) -> Heartbeats {
        let start = s.sessions[0].0 + step;
        let end = s.sessions.last().map_or(0.0, |p| p.0);
        let mut points = Vec::new();
        let mut t = start;
        while t <= end {
            // Events in (t - step, t]: the sessions then times the rate.
            let n: f64 = in_span(&s.sessions, t - step + 0.001, t)
                .map(|v| v * s.step_secs)
                .sum::<f64>()
                * rate(t);
            if n > 0.0 {
                points.push((t, n.round()));
            }
            t += step;
        }
        Heartbeats {
            points,
            start,
            step_secs: step,
        }
    }

    #[test]
    fn heartbeats_per_session_pass_near_the_target_and_a_silent_stretch_with_sessions_fails() {
        // Two hours of 3 sessions at 15 s.
        let s = series_of(&[3.0; 480], &[3.0; 480], 15.0);
        let mut inp = inputs(s.clone());
        inp.heartbeats = Some(Ok(heartbeats_at(&s, |_| 0.2, 60.0)));
        let report = build(&inp);
        let m = report
            .metrics
            .iter()
            .find(|m| m.id == "heartbeats")
            .expect("row");
        assert_eq!(m.verdict, Verdict::Pass, "{m:?}");
        assert!((m.value.unwrap_or(0.0) - 0.2).abs() < 0.01, "{m:?}");
        assert!(report.heartbeat_gaps.is_empty());
        // The heartbeats stop for the last 40 minutes; the sessions do not.
        let stop = s.sessions[0].0 + 80.0 * 60.0;
        inp.heartbeats = Some(Ok(heartbeats_at(
            &s,
            |t| if t > stop { 0.0 } else { 0.2 },
            60.0,
        )));
        let report = build(&inp);
        let m = report
            .metrics
            .iter()
            .find(|m| m.id == "heartbeats")
            .expect("row");
        assert_eq!(m.verdict, Verdict::Fail, "{m:?}");
        assert!(m.detail.starts_with("no heartbeat from"), "{}", m.detail);
        assert_eq!(report.heartbeat_gaps.len(), 1);
        let g = &report.heartbeat_gaps[0];
        assert!((secs(g.from) - stop).abs() <= 60.0, "{g:?}");
        assert!((g.sessions - 3.0).abs() < 0.1, "{g:?}");
        assert!(report.failed);
        // Loki's history starting late is not a gap.
        inp.heartbeats = Some(Ok(heartbeats_at(
            &s,
            |t| if t < stop { 0.0 } else { 0.2 },
            60.0,
        )));
        let report = build(&inp);
        assert!(
            report.heartbeat_gaps.is_empty(),
            "{:?}",
            report.heartbeat_gaps
        );
    }

    #[test]
    fn a_missing_creation_series_cannot_be_measured_and_is_no_gap() {
        let mut inp = inputs(series_of(&[2.0; 20], &[2.0; 20], 15.0));
        inp.pods = Ok(PodCounts {
            created: 0.0,
            ready: 4.0,
            failed: 0.0,
            restarts: 0.0,
            creation_series_missing: true,
        });
        let report = build(&inp);
        let m = report
            .metrics
            .iter()
            .find(|m| m.id == "podSuccess")
            .expect("row");
        assert_eq!(m.shown, "cannot measure");
        assert_eq!(m.verdict, Verdict::NoData);
        assert!(m.detail.contains("kube_pod_created") && m.detail.contains("kube-state-metrics"));
        assert!(
            m.detail.contains("while 4 game pods were Ready"),
            "{}",
            m.detail
        );
        assert!(!report.failed && !report.incomplete);
        // No Ready series either: the pods were seen in the phase series,
        // never "while 0 game pods were Ready".
        inp.pods = Ok(PodCounts {
            created: 0.0,
            ready: 0.0,
            failed: 0.0,
            restarts: 0.0,
            creation_series_missing: true,
        });
        let report = build(&inp);
        let m = report
            .metrics
            .iter()
            .find(|m| m.id == "podSuccess")
            .expect("row");
        assert!(
            m.detail
                .contains("while kube_pod_status_phase shows game pods:"),
            "{}",
            m.detail
        );
        assert!(!m.detail.contains("0 game pods"), "{}", m.detail);
    }

    #[test]
    fn the_worst_episode_is_judged_link_by_link_and_says_what_history_cannot_tell() {
        // 0 → 3 sessions; 3 pods Pending for 150 s while a node launches.
        let mut sessions = vec![0.0; 4];
        sessions.extend(vec![3.0; 20]);
        let mut running = vec![0.0; 4 + 11];
        running.extend(vec![3.0; 9]);
        let mut s = series_of(&sessions, &running, 15.0);
        let t0 = s.sessions[0].0;
        s.pending = s
            .running
            .iter()
            .map(|&(t, r)| (t, if t >= t0 + 60.0 && r < 1.0 { 3.0 } else { 0.0 }))
            .collect();
        s.desired = s.sessions.clone();
        let mut inp = inputs(s);
        inp.launches = Ok(vec![launch("ip-10-0-9-9", t0 + 100.0, Some(50.0))]);
        let report = build(&inp);
        let w = &report.worst_episodes[0];
        let link = |id: &str| {
            w.chain
                .iter()
                .find(|l| l.check == id)
                .unwrap_or_else(|| panic!("{id}: {:?}", w.chain))
        };
        assert_eq!(link("pods.pending").outcome, LinkOutcome::Fail);
        let node = link("nodes.scale-up");
        assert_eq!(node.outcome, LinkOutcome::Fail);
        assert!(
            node.says.contains("ip-10-0-9-9") && node.says.contains("Ready 50 s later"),
            "{}",
            node.says
        );
        assert_eq!(link("keda.polling-interval").outcome, LinkOutcome::Pass);
        assert_eq!(link("prometheus.nginx-metric").outcome, LinkOutcome::Pass);
        for id in ["keda.ready", "keda.operator-logs", "hpa.conditions"] {
            assert_eq!(link(id).outcome, LinkOutcome::NotJudged);
        }
        let line = chain_line(&w.chain);
        assert!(
            line.contains("not judged from history: keda.ready"),
            "{line}"
        );
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0];
        assert_eq!(percentile(&v, 50.0), Some(5.0));
        assert_eq!(percentile(&v, 95.0), Some(10.0));
        assert_eq!(percentile(&[], 50.0), None);
    }
}
