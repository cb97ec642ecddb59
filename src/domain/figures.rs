//! The figures derived from a Snapshot, computed once and read by the status
//! view, the checks and the watch view, so the three cannot disagree: game pods
//! by phase, sessions, running pods, the sessions-per-pod ratio and its band,
//! the scale-down arithmetic and the HPA's metric values as numbers.

use super::model::scaling::hpa_holding;
use super::model::{Expectation, Idle, Scaling};
use super::promql;
use super::quantity::{self, num};
use super::snapshot::{HpaMetric, Lookup, PodInfo, PodPhase, ScaledObjectInfo, Snapshot};
use super::snapshot::{KEDA_DEFAULT_COOLDOWN_PERIOD, KEDA_DEFAULT_POLLING_INTERVAL};
use crate::settings::{Bands, Settings};
use serde::Serialize;

/// Sessions below this rate always count as none. With the scrape spacing
/// and the nginx series measured, the idle floor and KEDA's activation
/// threshold decide instead (`model::Idle`): one exporter at a 15 s scrape
/// alone reads 0.067 req/s.
pub const NO_SESSIONS: f64 = 0.05;

/// The sessions query's rate window (the runbook's `[1m]`): the last request
/// stays in the rate this long.
pub const RATE_WINDOW_SECS: i64 = promql::SESSIONS_WINDOW_SECS as i64;

/// The HPA's scale-down stabilization when `behavior` is unset
/// (autoscaling/v2 `HPAScaleDownStabilizationWindowSeconds`, 300 s).
pub const HPA_DEFAULT_SCALE_DOWN_STABILIZATION_SECS: i64 = 300;

/// The HPA controller's default sync period
/// (kube-controller-manager `--horizontal-pod-autoscaler-sync-period`, 15 s).
pub const HPA_SYNC_SECS: i64 = 15;

/// Everything derived from one Snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    /// The game pods by phase, from the pod list; `None` when it was not read.
    pub pods: Option<GamePods>,
    /// Active sessions (the nginx request rate); `None` when unknown.
    pub sessions: Option<f64>,
    /// Running game pods per kube-state-metrics; `None` when unknown.
    pub running_pods: Option<f64>,
    /// Pending game pods per kube-state-metrics; `None` when unknown.
    pub pending_pods: Option<f64>,
    /// Nodes per kube-state-metrics.
    pub nodes: Option<f64>,
    /// Sessions per running pod and its band.
    pub ratio: Ratio,
    /// The KEDA HPA's metrics as numbers, in the HPA's order.
    pub hpa_metrics: Vec<MetricValue>,
    /// When the Deployment should be down after the last request.
    pub scale_down: ScaleDown,
    /// What "no sessions" is: the idle floor and KEDA's activation threshold.
    pub idle: Idle,
    /// Who decides at each replica count and what they decide.
    pub scaling: Scaling,
    /// The running pods judged against what the scaling model expects for
    /// the sessions; `None` when either is unknown.
    pub expectation: Option<Expectation>,
}

impl Figures {
    pub fn of(snap: &Snapshot, settings: &Settings) -> Figures {
        let sessions = snap.prom_value(promql::SESSIONS);
        let running_pods = running_pods(snap);
        let pending_pods = match one_sample(snap, promql::PENDING_PODS) {
            Answer::Value(v) => Some(v),
            Answer::Empty if running_pods.is_some() => Some(0.0),
            _ => None,
        };
        let idle = Idle::of(snap, settings);
        let scaling = Scaling::of(snap, settings);
        let expectation = expect(
            &scaling,
            &idle,
            sessions,
            running_pods,
            hpa_holding(snap.keda_hpa(&settings.scaled_object)),
        );
        Figures {
            pods: snap.pods.as_deref().map(GamePods::count),
            sessions,
            running_pods,
            pending_pods,
            nodes: snap.prom_value(promql::NODES),
            ratio: Ratio::of(sessions, running_pods, &settings.bands, &idle)
                .judged(expectation.as_ref()),
            hpa_metrics: snap
                .keda_hpa(&settings.scaled_object)
                .map(|h| h.metrics.iter().map(MetricValue::of).collect())
                .unwrap_or_default(),
            scale_down: ScaleDown::of(snap, settings),
            idle,
            scaling,
            expectation,
        }
    }
}

/// The running pods against the model, for sessions and pods both known.
pub fn expect(
    scaling: &Scaling,
    idle: &Idle,
    sessions: Option<f64>,
    running: Option<f64>,
    stabilizing: bool,
) -> Option<Expectation> {
    let (sessions, running) = (sessions?, running?);
    Some(scaling.expect(
        sessions,
        idle.no_sessions(sessions),
        running.round() as i64,
        stabilizing,
    ))
}

/// What a one-series query (`sum(...)`, `count(...)` without `by`) answered.
enum Answer {
    Value(f64),
    /// The query ran and matched no series.
    Empty,
    /// Not asked, failed, or an answer such a query cannot give.
    Unknown,
}

fn one_sample(snap: &Snapshot, key: &str) -> Answer {
    match snap.prometheus.get(key).and_then(|a| a.samples.as_deref()) {
        Some([one]) => Answer::Value(one.value),
        Some([]) => Answer::Empty,
        _ => Answer::Unknown,
    }
}

/// Running game pods per kube-state-metrics (`sum`, not the runbook's
/// `count`). A `sum` without `by` answers one sample; several are not an
/// answer to the query that was sent, so they are unknown rather than added
/// up. An empty `sum` is zero running pods when kube-state-metrics' series
/// exist at all, and unknown when they do not.
fn running_pods(snap: &Snapshot) -> Option<f64> {
    match one_sample(snap, promql::RUNNING_PODS) {
        Answer::Value(v) => Some(v),
        Answer::Empty => snap
            .prometheus
            .get(promql::KSM_SERIES)
            .and_then(|a| a.samples.as_ref())
            .filter(|s| !s.is_empty())
            .map(|_| 0.0),
        Answer::Unknown => None,
    }
}

/// The game pods of the pod list, counted once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GamePods {
    pub total: usize,
    /// Phase Running and not being deleted (see `is_running`).
    pub running: usize,
    /// The Ready condition is True.
    pub ready: usize,
    /// Phase Pending and not being deleted.
    pub pending: usize,
    pub failed: usize,
    pub succeeded: usize,
    pub crash_looping: usize,
    /// Being deleted (kubectl shows them as Terminating, whatever their
    /// phase): draining, not running, and not counted by the PromQL either.
    pub terminating: usize,
    /// The longest deletion grace period of the draining pods.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub draining_grace_secs: Option<i64>,
    pub restarts: i64,
}

/// A running game pod: phase Running and not being deleted. A pod being
/// deleted keeps phase Running until its containers stop, but kubectl shows
/// it as Terminating and it takes no new session, so it is counted apart.
pub fn is_running(p: &PodInfo) -> bool {
    p.phase == PodPhase::Running && p.deleting.is_none()
}

/// A pod waiting to run: phase Pending and not being deleted.
pub fn is_pending(p: &PodInfo) -> bool {
    p.phase == PodPhase::Pending && p.deleting.is_none()
}

/// "4 draining (deleted, grace period 300 s)": pods being deleted after a
/// scale-down, which take no new session and are not counted as running.
pub fn draining_text(n: usize, grace_secs: Option<i64>) -> String {
    match grace_secs {
        Some(g) => format!("{n} draining (deleted, grace period {g} s)"),
        None => format!("{n} draining (deleted)"),
    }
}

impl GamePods {
    pub fn count<'a>(pods: impl IntoIterator<Item = &'a PodInfo>) -> GamePods {
        let mut n = GamePods::default();
        for p in pods {
            n.total += 1;
            n.running += usize::from(is_running(p));
            n.pending += usize::from(is_pending(p));
            n.ready += usize::from(p.ready);
            n.failed += usize::from(p.phase == PodPhase::Failed);
            n.succeeded += usize::from(p.phase == PodPhase::Succeeded);
            n.crash_looping += usize::from(p.crash_looping().is_some());
            n.terminating += usize::from(p.deleting.is_some());
            if p.deleting.is_some() {
                n.draining_grace_secs = n.draining_grace_secs.max(p.grace_period_secs);
            }
            n.restarts += i64::from(p.restarts);
        }
        n
    }
}

/// The runbook's sessions-per-pod bands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Band {
    Green,
    Yellow,
    Red,
    /// No sessions and no pods: scaled to zero, as designed.
    Idle,
    /// Outside the bands, but the pods are what KEDA and the HPA keep for
    /// these sessions by design: a warm pool (minReplicaCount), the HPA's
    /// tolerance, or a scale-down held by its stabilization window.
    Expected,
    /// The inputs could not be read.
    Unknown,
}

impl Band {
    pub fn word(self) -> &'static str {
        match self {
            Band::Green => "green",
            Band::Yellow => "yellow",
            Band::Red => "red",
            Band::Idle => "idle",
            Band::Expected => "expected",
            Band::Unknown => "unknown",
        }
    }
}

/// Sessions per running pod and the band it falls in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ratio {
    /// `None` when either input is unknown or there is no running pod.
    pub per_pod: Option<f64>,
    pub band: Band,
}

impl Ratio {
    pub fn of(sessions: Option<f64>, pods: Option<f64>, bands: &Bands, idle: &Idle) -> Ratio {
        let (per_pod, band) = band(sessions, pods, bands, idle);
        Ratio { per_pod, band }
    }

    /// A yellow or red ratio whose pods the scaling model expects (and that
    /// force-activation does not hold up with no sessions) is `Expected`.
    pub fn judged(self, expectation: Option<&Expectation>) -> Ratio {
        match (self.band, expectation) {
            (Band::Yellow | Band::Red, Some(e)) if e.holds && !e.forced => Ratio {
                band: Band::Expected,
                ..self
            },
            _ => self,
        }
    }
}

/// The runbook's sessions-per-pod bands. Sessions the idle model calls none
/// (the exporter's own scrapes, or at most KEDA's activation threshold) with
/// no pod are idle.
pub fn band(
    rate: Option<f64>,
    pods: Option<f64>,
    bands: &Bands,
    idle: &Idle,
) -> (Option<f64>, Band) {
    let (Some(rate), Some(pods)) = (rate, pods) else {
        return (None, Band::Unknown);
    };
    let no_sessions = idle.no_sessions(rate);
    if pods < 0.5 {
        return if no_sessions {
            (None, Band::Idle)
        } else {
            (None, Band::Red)
        };
    }
    let ratio = rate / pods;
    let band = if ratio >= bands.green_min && ratio <= bands.green_max {
        Band::Green
    } else if ratio >= bands.yellow_min && ratio <= bands.yellow_max {
        Band::Yellow
    } else {
        Band::Red
    };
    (Some(ratio), band)
}

/// One HPA metric with its values read as numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricValue {
    pub name: String,
    /// The current value; `None` when the HPA has none (`<unknown>`).
    pub current: Option<f64>,
    pub target: Option<f64>,
    /// The target is an `AverageValue` (per pod).
    pub average: bool,
}

impl MetricValue {
    pub fn of(m: &HpaMetric) -> MetricValue {
        MetricValue {
            name: m.name.clone(),
            current: m.current.as_deref().and_then(quantity::parse),
            target: m.target.as_deref().and_then(quantity::parse),
            average: m.target_type.as_deref() == Some("AverageValue"),
        }
    }
}

/// The one way a metric is written for a person: `name 1/1 (avg)`, with
/// quantities as numbers (`1000m` reads `1`), `<unknown>` as kubectl writes a
/// missing current value, `?` for a missing target.
impl std::fmt::Display for MetricValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let current = self.current.map_or_else(|| "<unknown>".into(), num);
        let target = self.target.map_or_else(|| "?".into(), num);
        let avg = if self.average { " (avg)" } else { "" };
        write!(f, "{} {current}/{target}{avg}", self.name)
    }
}

/// How the Deployment comes down after the last request, and how long that
/// takes: the rate window lets the last request go, then KEDA (to zero) or
/// the HPA (to a floor above zero) acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScaleDown {
    /// The replicas it comes down to: `idleReplicaCount`, else
    /// `minReplicaCount` (KEDA's default 0 when the ScaledObject was not read).
    pub floor: i64,
    pub path: ScaleDownPath,
    /// The ScaledObject was not read, so KEDA's defaults stand in.
    pub defaults: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScaleDownPath {
    /// KEDA scales 1 → 0 after `cooldownPeriod`, noticed at its next poll.
    ToZero { cooldown: i64, polling: i64 },
    /// The HPA scales down after its scale-down stabilization window and one sync.
    ToFloor { stabilization: i64 },
}

impl ScaleDown {
    pub fn of(snap: &Snapshot, settings: &Settings) -> ScaleDown {
        let so = snap
            .scaled_object
            .as_ref()
            .and_then(Lookup::found)
            .filter(|so| so.name == settings.scaled_object);
        let min = so.map_or(0, ScaledObjectInfo::min_replicas_or_default);
        let floor = so.and_then(|so| so.idle_replicas).unwrap_or(min).max(0);
        let path = if floor == 0 {
            ScaleDownPath::ToZero {
                cooldown: so.map_or(
                    KEDA_DEFAULT_COOLDOWN_PERIOD,
                    ScaledObjectInfo::cooldown_period_or_default,
                ),
                polling: so.map_or(
                    KEDA_DEFAULT_POLLING_INTERVAL,
                    ScaledObjectInfo::polling_interval_or_default,
                ),
            }
        } else {
            ScaleDownPath::ToFloor {
                stabilization: so
                    .and_then(|so| so.scale_down_stabilization)
                    .or_else(|| {
                        snap.keda_hpa(&settings.scaled_object)
                            .and_then(|h| h.scale_down_stabilization.map(i64::from))
                    })
                    .unwrap_or(HPA_DEFAULT_SCALE_DOWN_STABILIZATION_SECS),
            }
        };
        ScaleDown {
            floor,
            path,
            defaults: so.is_none(),
        }
    }

    /// Seconds from the last request until the Deployment is at its floor.
    pub fn expected_secs(&self) -> i64 {
        match self.path {
            ScaleDownPath::ToZero { cooldown, polling } => RATE_WINDOW_SECS + cooldown + polling,
            ScaleDownPath::ToFloor { stabilization } => {
                RATE_WINDOW_SECS + stabilization + HPA_SYNC_SECS
            }
        }
    }

    /// The arithmetic in words, as a check's evidence shows it.
    pub fn arithmetic(&self) -> String {
        let total = self.expected_secs();
        match self.path {
            ScaleDownPath::ToZero { cooldown, polling } => {
                let defaults = if self.defaults {
                    " (KEDA defaults: ScaledObject not read)"
                } else {
                    ""
                };
                format!(
                    "KEDA scales to 0 about {total} s after the last request: {RATE_WINDOW_SECS} s rate window + cooldownPeriod {cooldown} s + pollingInterval {polling} s{defaults}"
                )
            }
            ScaleDownPath::ToFloor { stabilization } => format!(
                "the HPA scales down to {} about {total} s after the last request: {RATE_WINDOW_SECS} s rate window + scale-down stabilization {stabilization} s + HPA sync {HPA_SYNC_SECS} s",
                self.floor
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::snapshot::{HpaInfo, PromAnswer, Sample};

    fn bands() -> Bands {
        Settings::defaults().bands
    }

    fn answer(samples: Option<Vec<f64>>) -> PromAnswer {
        PromAnswer {
            query: "q".into(),
            samples: samples.map(|v| {
                v.into_iter()
                    .map(|value| Sample {
                        labels: Default::default(),
                        value,
                        timestamp: 0.0,
                    })
                    .collect()
            }),
            error: None,
        }
    }

    fn snap_with(answers: &[(&str, Option<Vec<f64>>)]) -> Snapshot {
        let mut s = Snapshot::new(jiff::Timestamp::UNIX_EPOCH, "default");
        for (key, samples) in answers {
            s.prometheus
                .insert(key.to_string(), answer(samples.clone()));
        }
        s
    }

    fn pod(name: &str, phase: &str) -> PodInfo {
        PodInfo {
            name: name.into(),
            namespace: "default".into(),
            phase: phase.into(),
            node: None,
            created: None,
            deleting: None,
            grace_period_secs: None,
            ready: phase == "Running",
            ready_since: None,
            restarts: 1,
            containers: Vec::new(),
            scheduled: None,
            nominated_node: None,
        }
    }

    #[test]
    fn bands_follow_the_runbook() {
        let b = bands();
        assert_eq!(
            band(Some(3.0), Some(3.0), &b, &Idle::default()),
            (Some(1.0), Band::Green)
        );
        assert_eq!(
            band(Some(1.3), Some(1.0), &b, &Idle::default()).1,
            Band::Yellow
        );
        assert_eq!(
            band(Some(0.6), Some(1.0), &b, &Idle::default()).1,
            Band::Yellow
        );
        assert_eq!(
            band(Some(0.4), Some(1.0), &b, &Idle::default()).1,
            Band::Red
        );
        assert_eq!(
            band(Some(2.0), Some(1.0), &b, &Idle::default()).1,
            Band::Red
        );
    }

    #[test]
    fn zero_sessions_and_zero_pods_is_idle_not_red() {
        assert_eq!(
            band(Some(0.0), Some(0.0), &bands(), &Idle::default()),
            (None, Band::Idle)
        );
        assert_eq!(
            band(Some(0.01), Some(0.0), &bands(), &Idle::default()),
            (None, Band::Idle)
        );
    }

    #[test]
    fn sessions_without_pods_is_red_and_unknown_inputs_are_unknown() {
        let b = bands();
        assert_eq!(
            band(Some(2.0), Some(0.0), &b, &Idle::default()),
            (None, Band::Red)
        );
        assert_eq!(
            band(None, Some(2.0), &b, &Idle::default()),
            (None, Band::Unknown)
        );
        assert_eq!(
            band(Some(2.0), None, &b, &Idle::default()),
            (None, Band::Unknown)
        );
    }

    #[test]
    fn pods_are_counted_once_by_phase_and_terminating_pods_do_not_run() {
        let mut leaving = pod("c", "Running");
        leaving.deleting = Some(jiff::Timestamp::UNIX_EPOCH);
        let mut crashing = pod("e", "Running");
        crashing
            .containers
            .push(crate::domain::snapshot::ContainerInfo {
                name: "game".into(),
                ready: false,
                restarts: 4,
                state: "waiting".into(),
                waiting_reason: Some("CrashLoopBackOff".into()),
                terminated_reason: None,
                message: None,
                started_at: None,
                sidecar: false,
            });
        let pods = [
            pod("a", "Running"),
            pod("b", "Pending"),
            leaving,
            pod("d", "Failed"),
            crashing,
            pod("f", "Succeeded"),
        ];
        let n = GamePods::count(&pods);
        assert_eq!(n.total, 6);
        assert_eq!(n.running, 2, "the terminating pod is not running");
        assert_eq!(n.terminating, 1);
        assert_eq!(n.pending, 1);
        assert_eq!(n.failed, 1);
        assert_eq!(n.succeeded, 1);
        assert_eq!(n.crash_looping, 1);
        assert_eq!(n.ready, 3);
        assert_eq!(n.restarts, 6);
    }

    #[test]
    fn running_pods_read_one_sample_and_zero_only_when_kube_state_metrics_answers() {
        let running = |r: Option<Vec<f64>>, ksm: Option<Vec<f64>>| {
            running_pods(&snap_with(&[
                (promql::RUNNING_PODS, r),
                (promql::KSM_SERIES, ksm),
            ]))
        };
        assert_eq!(running(Some(vec![3.0]), None), Some(3.0));
        assert_eq!(running(Some(vec![]), Some(vec![120.0])), Some(0.0));
        assert_eq!(running(Some(vec![]), Some(vec![])), None);
        assert_eq!(running(Some(vec![]), None), None);
        assert_eq!(running(None, Some(vec![120.0])), None);
        // A `sum` never answers two samples; such an answer is not added up.
        assert_eq!(running(Some(vec![2.0, 3.0]), Some(vec![1.0])), None);
    }

    #[test]
    fn figures_put_sessions_pods_and_band_together() {
        let snap = snap_with(&[
            (promql::SESSIONS, Some(vec![4.0])),
            (promql::RUNNING_PODS, Some(vec![4.0])),
            (promql::PENDING_PODS, Some(vec![])),
            (promql::NODES, Some(vec![2.0])),
        ]);
        let f = Figures::of(&snap, &Settings::defaults());
        assert_eq!(f.sessions, Some(4.0));
        assert_eq!(f.running_pods, Some(4.0));
        assert_eq!(
            f.pending_pods,
            Some(0.0),
            "an empty sum with pods known is 0"
        );
        assert_eq!(f.nodes, Some(2.0));
        assert_eq!(
            f.ratio,
            Ratio {
                per_pod: Some(1.0),
                band: Band::Green
            }
        );
        assert_eq!(f.pods, None, "the pod list was not read");
        let unread = Figures::of(&snap_with(&[]), &Settings::defaults());
        assert_eq!(unread.ratio.band, Band::Unknown);
        assert_eq!(unread.pending_pods, None);
    }

    #[test]
    fn metric_values_read_as_numbers_in_one_format() {
        let m = |current: Option<&str>, target: Option<&str>, kind: &str| {
            MetricValue::of(&HpaMetric {
                type_: "External".into(),
                name: "s0-prometheus".into(),
                target_type: Some(kind.into()),
                target: target.map(Into::into),
                current: current.map(Into::into),
            })
            .to_string()
        };
        assert_eq!(
            m(Some("1000m"), Some("1"), "AverageValue"),
            "s0-prometheus 1/1 (avg)"
        );
        assert_eq!(m(Some("2500m"), Some("1"), "Value"), "s0-prometheus 2.5/1");
        assert_eq!(
            m(None, Some("1"), "AverageValue"),
            "s0-prometheus <unknown>/1 (avg)"
        );
        assert_eq!(m(Some("334m"), None, "Value"), "s0-prometheus 0.33/?");
    }

    fn scaled_object(min: Option<i64>, stabilization: Option<i64>) -> Snapshot {
        let mut snap = Snapshot::new(jiff::Timestamp::UNIX_EPOCH, "default");
        snap.scaled_object = Some(Lookup::Found(ScaledObjectInfo {
            name: Settings::defaults().scaled_object,
            target_api_version: None,
            target_kind: None,
            target_name: "spice-runner".into(),
            polling_interval: Some(10),
            cooldown_period: None,
            initial_cooldown_period: None,
            min_replicas: min,
            max_replicas: None,
            idle_replicas: None,
            fallback: None,
            hpa_name_override: None,
            scale_down_stabilization: stabilization,
            triggers: Vec::new(),
            annotations: Default::default(),
            conditions: Vec::new(),
            hpa_name: None,
            last_active_time: None,
            external_metric_names: Vec::new(),
            paused_replica_count: None,
            hpa_behavior: None,
            scaling_modifiers: None,
        }));
        snap
    }

    #[test]
    fn scale_down_to_zero_is_window_plus_cooldown_plus_polling() {
        let s = ScaleDown::of(&scaled_object(None, None), &Settings::defaults());
        assert_eq!(s.floor, 0);
        assert_eq!(s.expected_secs(), 60 + 300 + 10);
        assert_eq!(
            s.arithmetic(),
            "KEDA scales to 0 about 370 s after the last request: 60 s rate window + cooldownPeriod 300 s + pollingInterval 10 s"
        );
        let unread = ScaleDown::of(
            &Snapshot::new(jiff::Timestamp::UNIX_EPOCH, "default"),
            &Settings::defaults(),
        );
        assert!(unread.defaults);
        assert_eq!(unread.expected_secs(), 60 + 300 + 30);
    }

    #[test]
    fn scale_down_to_a_floor_is_window_plus_stabilization_plus_sync() {
        let s = ScaleDown::of(&scaled_object(Some(2), Some(120)), &Settings::defaults());
        assert_eq!(s.floor, 2);
        assert_eq!(s.expected_secs(), 60 + 120 + 15);
        // Without the ScaledObject's own window, the HPA's, else 300 s.
        let mut snap = scaled_object(Some(1), None);
        let defaulted = ScaleDown::of(&snap, &Settings::defaults());
        assert_eq!(defaulted.expected_secs(), 60 + 300 + 15);
        snap.hpas = Some(vec![HpaInfo {
            name: snap.keda_hpa_name(&Settings::defaults().scaled_object),
            min_replicas: Some(1),
            max_replicas: 10,
            current_replicas: Some(1),
            desired_replicas: 1,
            metrics: Vec::new(),
            conditions: Vec::new(),
            last_scale_time: None,
            scale_down_stabilization: Some(30),
            owners: Vec::new(),
            behavior: None,
        }]);
        let from_hpa = ScaleDown::of(&snap, &Settings::defaults());
        assert_eq!(from_hpa.expected_secs(), 60 + 30 + 15);
        assert!(from_hpa.arithmetic().contains("down to 1 about 105 s"));
    }
}
