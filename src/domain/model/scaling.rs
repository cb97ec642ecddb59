//! Who decides at each replica count, and what they decide (issue 18 items 2,
//! 3, 4, 6 and 10): KEDA's loop for 0↔1, the HPA for 1↔N with its tolerance,
//! stabilization windows and policies, the effective target (the trigger's
//! threshold or `scalingModifiers`), and the latencies of 0→1, 1→N, N→M and
//! 1→0. Computed once from the Snapshot; checks, `status` and `watch` read it.
//!
//! Upstream, re-read for this (facts carried over, no code):
//! - kubernetes `pkg/controller/podautoscaler/replica_calculator.go` (the
//!   v1.33+ form with `Tolerances`): `Tolerances.isWithin(r)` is
//!   `1 − scaleDown ≤ r ≤ 1 + scaleUp`; `GetExternalPerPodMetricReplicas`
//!   (KEDA's AverageValue) keeps `statusReplicas` while
//!   metric / (target × statusReplicas) is within, else ceil(metric /
//!   target); `GetExternalMetricReplicas` (Value) → `getUsageRatioReplicaCount`:
//!   within tolerance of metric / target keep the count, else ceil(ratio ×
//!   ready pods) (the model takes every pod as ready: it cannot know which
//!   will be). The default tolerance is 0.1
//!   (`--horizontal-pod-autoscaler-tolerance`); per-HPA
//!   `behavior.scaleUp/scaleDown.tolerance` is HPAConfigurableTolerance,
//!   alpha (off) in 1.33 and 1.34, beta (on) from 1.35
//!   (`pkg/features/kube_features.go`).
//! - kubernetes `pkg/controller/podautoscaler/horizontal.go` (v1.33+):
//!   `stabilizeRecommendationWithBehaviors` (up: the lowest recommendation of
//!   the scale-up window, down: the highest of the scale-down window),
//!   `calculateScaleUpLimitWithScalingRules` and
//!   `calculateScaleDownLimitWithBehaviors`: each policy proposes from
//!   `periodStartReplicas = current − added + deleted` within its period
//!   (events of both directions); `Max` takes the largest change, `Min` the
//!   smallest, `Disabled` keeps the current count; a Percent scale-up rounds
//!   up (`math.Ceil`), a Percent scale-down truncates (`int32(...)`); the
//!   sync period is 15 s. Defaults (autoscaling/v2
//!   `SetDefaults_HorizontalPodAutoscalerBehavior`): scale-up window 0,
//!   policies 4 Pods / 15 s and 100 Percent / 15 s, Max; scale-down window
//!   300 s, 100 Percent / 15 s, Max.
//! - kedacore/keda v2.20.2 `pkg/scaling/executor/scale_scaledobjects.go`
//!   (`RequestScale`): active (or force-activation) at 0 replicas, or below
//!   minReplicaCount with idleReplicaCount set → `scaleFromZeroOrIdle`:
//!   max(minReplicaCount, 1); active above that → only lastActiveTime moves
//!   (the HPA decides); inactive above idleReplicaCount, or above 0 with
//!   minReplicaCount 0 → `scaleToZeroOrIdle`: idleReplicaCount (else 0)
//!   once lastActiveTime + cooldownPeriod has passed, never while
//!   `paused-scale-in` is set; inactive below minReplicaCount without
//!   idleReplicaCount → minReplicaCount.
//!   v2.20.2 `controllers/keda/hpa.go`: the HPA's minReplicas is
//!   max(minReplicaCount, 1) (`GetHPAMinReplicas`); behavior is copied from
//!   `advanced.horizontalPodAutoscalerConfig.behavior`, with scaleDown (or
//!   scaleUp) `selectPolicy: Disabled` for paused-scale-in (-out); with
//!   `advanced.scalingModifiers` the HPA gets one metric,
//!   `composite-metric`, with `scalingModifiers.target` and `metricType`
//!   (AverageValue by default); the triggers' thresholds are not used for
//!   replicas. The `autoscaling.keda.sh/force-activation` annotation (KEDA ≥
//!   2.18) keeps the ScaledObject active whatever the triggers say.

use super::super::figures::{HPA_SYNC_SECS, RATE_WINDOW_SECS};
use super::super::quantity;
use super::super::snapshot::{
    BehaviorInfo, FORCE_ACTIVATION, HpaInfo, KEDA_DEFAULT_COOLDOWN_PERIOD,
    KEDA_DEFAULT_MAX_REPLICAS, KEDA_DEFAULT_POLLING_INTERVAL, Lookup, PAUSED_SCALE_IN,
    ScaledObjectInfo, ScalingRulesInfo, Snapshot, condition,
};
use super::rate_text;
use super::spacing::{Spacing, spacing};
use crate::settings::Settings;

/// The HPA's cluster-wide tolerance (kube-controller-manager
/// `--horizontal-pod-autoscaler-tolerance`, 0.1).
pub const HPA_DEFAULT_TOLERANCE: f64 = 0.1;

/// The scale-down stabilization window when `behavior` leaves it unset.
pub const HPA_DEFAULT_DOWN_WINDOW_SECS: i64 = 300;

/// The scrape interval assumed when it was not measured (Prometheus
/// Operator's usual ServiceMonitor interval).
pub const ASSUMED_SCRAPE_SECS: f64 = 15.0;

/// The field that sets the HPA's scale-up tolerance through KEDA.
pub const TOLERANCE_FIELD: &str =
    "advanced.horizontalPodAutoscalerConfig.behavior.scaleUp.tolerance";

/// How a direction picks among its policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Select {
    Max,
    Min,
    /// The HPA never changes replicas in this direction.
    Disabled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyKind {
    Pods,
    Percent,
}

/// One scaling policy: at most `value` pods (or percent) per `period_secs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub kind: PolicyKind,
    pub value: i64,
    pub period_secs: i64,
}

impl Policy {
    fn text(&self) -> String {
        match self.kind {
            PolicyKind::Pods => format!(
                "{} {} per {} s",
                self.value,
                if self.value == 1 { "pod" } else { "pods" },
                self.period_secs
            ),
            PolicyKind::Percent => format!("{} % per {} s", self.value, self.period_secs),
        }
    }
}

/// One direction of the HPA's behavior, with the API's defaults filled in.
#[derive(Debug, Clone, PartialEq)]
pub struct Rules {
    pub stabilization_secs: i64,
    pub select: Select,
    pub policies: Vec<Policy>,
    pub tolerance: f64,
    /// The tolerance was written on the HPA (not the cluster-wide default).
    pub tolerance_written: bool,
}

impl Rules {
    pub fn default_up() -> Rules {
        Rules {
            stabilization_secs: 0,
            select: Select::Max,
            policies: vec![
                Policy {
                    kind: PolicyKind::Pods,
                    value: 4,
                    period_secs: 15,
                },
                Policy {
                    kind: PolicyKind::Percent,
                    value: 100,
                    period_secs: 15,
                },
            ],
            tolerance: HPA_DEFAULT_TOLERANCE,
            tolerance_written: false,
        }
    }

    pub fn default_down() -> Rules {
        Rules {
            stabilization_secs: HPA_DEFAULT_DOWN_WINDOW_SECS,
            select: Select::Max,
            policies: vec![Policy {
                kind: PolicyKind::Percent,
                value: 100,
                period_secs: 15,
            }],
            tolerance: HPA_DEFAULT_TOLERANCE,
            tolerance_written: false,
        }
    }

    /// `info` over `default`, field by field, as the API server defaults it.
    pub fn of(info: Option<&ScalingRulesInfo>, default: Rules) -> Rules {
        let Some(info) = info else { return default };
        let policies: Vec<Policy> = info
            .policies
            .iter()
            .filter_map(|p| {
                let kind = match p.type_.as_str() {
                    "Pods" => PolicyKind::Pods,
                    "Percent" => PolicyKind::Percent,
                    _ => return None,
                };
                (p.value > 0 && p.period_seconds > 0).then_some(Policy {
                    kind,
                    value: p.value,
                    period_secs: p.period_seconds,
                })
            })
            .collect();
        let tolerance = info
            .tolerance
            .as_deref()
            .and_then(quantity::parse)
            .filter(|t| t.is_finite() && *t >= 0.0);
        Rules {
            stabilization_secs: info
                .stabilization_window_seconds
                .map_or(default.stabilization_secs, |s| s.clamp(0, 3600)),
            select: match info.select_policy.as_deref() {
                Some("Min") => Select::Min,
                Some("Disabled") => Select::Disabled,
                _ => Select::Max,
            },
            policies: if policies.is_empty() {
                default.policies
            } else {
                policies
            },
            tolerance: tolerance.unwrap_or(default.tolerance),
            tolerance_written: tolerance.is_some(),
        }
    }

    /// "1 pod per 60 s" or "4 pods per 15 s or 100 % per 15 s, whichever is more".
    pub fn policies_text(&self) -> String {
        let list: Vec<String> = self.policies.iter().map(Policy::text).collect();
        match self.select {
            Select::Disabled => "selectPolicy Disabled: never".into(),
            _ if list.len() == 1 => list.join(""),
            Select::Max => format!("{}, whichever is more", list.join(" or ")),
            Select::Min => format!("{}, whichever is less", list.join(" or ")),
        }
    }

    /// The most one sync may scale up to from `current`, given `added`
    /// replicas in each policy's period (`horizontal.go`
    /// `calculateScaleUpLimitWithScalingRules`).
    fn up_limit(&self, current: i64, changes: &[(i64, i64)], now: i64) -> i64 {
        let pick = match self.select {
            Select::Disabled => return current,
            Select::Min => i64::min,
            Select::Max => i64::max,
        };
        let mut result: Option<i64> = None;
        for p in &self.policies {
            let start = current - changed_within(changes, now, p.period_secs);
            let proposed = match p.kind {
                PolicyKind::Pods => start + p.value,
                PolicyKind::Percent => {
                    (start as f64 * (1.0 + p.value as f64 / 100.0)).ceil() as i64
                }
            };
            result = Some(result.map_or(proposed, |r| pick(r, proposed)));
        }
        result.unwrap_or(current)
    }

    /// The least one sync may scale down to from `current`
    /// (`calculateScaleDownLimitWithBehaviors`).
    fn down_limit(&self, current: i64, changes: &[(i64, i64)], now: i64) -> i64 {
        let pick = match self.select {
            Select::Disabled => return current,
            Select::Min => i64::max,
            Select::Max => i64::min,
        };
        let mut result: Option<i64> = None;
        for p in &self.policies {
            // changes are negative for a scale-down
            let start = current - changed_within(changes, now, p.period_secs);
            let proposed = match p.kind {
                PolicyKind::Pods => start - p.value,
                PolicyKind::Percent => (start as f64 * (1.0 - p.value as f64 / 100.0)) as i64,
            };
            result = Some(result.map_or(proposed, |r| pick(r, proposed)));
        }
        result.unwrap_or(current)
    }

    /// Seconds from the HPA's first step until `from` reaches `to` under
    /// these policies, syncing every 15 s; `None` when the direction is
    /// disabled (it never gets there).
    pub fn steps_secs(&self, from: i64, to: i64) -> Option<i64> {
        if from == to {
            return Some(0);
        }
        if self.select == Select::Disabled {
            return None;
        }
        let up = to > from;
        let mut current = from;
        let mut changes: Vec<(i64, i64)> = Vec::new();
        let mut t = 0;
        // Bounded: 100 000 syncs is 17 days.
        for _ in 0..100_000 {
            let next = if up {
                to.min(self.up_limit(current, &changes, t))
            } else {
                to.max(self.down_limit(current, &changes, t))
            };
            if next != current {
                changes.push((t, next - current));
                current = next;
            }
            if current == to {
                return Some(t);
            }
            t += HPA_SYNC_SECS;
        }
        None
    }
}

/// Replicas changed in the `period` seconds before `now` (a change exactly
/// `period` ago is out, as upstream's `timestamp.After(cutoff)`).
fn changed_within(changes: &[(i64, i64)], now: i64, period: i64) -> i64 {
    changes
        .iter()
        .filter(|(at, _)| *at > now - period)
        .map(|(_, d)| d)
        .sum()
}

/// What the HPA scales on.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// The target value (per pod for AverageValue).
    pub value: f64,
    /// `AverageValue` (per pod) rather than `Value`.
    pub average: bool,
    pub source: TargetSource,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TargetSource {
    /// The prometheus trigger's `threshold`.
    Threshold,
    /// `advanced.scalingModifiers`: the HPA scales on `composite-metric`.
    Composite {
        /// The formula, as written (untrusted: neutralise before printing).
        formula: Option<String>,
        activation: Option<f64>,
    },
    /// Nothing readable: the runbook's threshold 1 assumed.
    Assumed,
}

impl Target {
    /// "threshold 1 (AverageValue, per pod)" or "scalingModifiers target 5
    /// (composite-metric, AverageValue)".
    pub fn text(&self) -> String {
        let kind = if self.average {
            "AverageValue, per pod"
        } else {
            "Value"
        };
        match &self.source {
            TargetSource::Threshold => format!("threshold {} ({kind})", rate_text(self.value)),
            TargetSource::Composite { .. } => format!(
                "scalingModifiers target {} (composite-metric, {kind}; the trigger's threshold is not used)",
                rate_text(self.value)
            ),
            TargetSource::Assumed => {
                format!("threshold {} assumed ({kind})", rate_text(self.value))
            }
        }
    }
}

/// Where the behavior came from.
#[derive(Debug, Clone, PartialEq)]
pub enum BehaviorSource {
    /// The HPA's `spec.behavior` (the API server filled its defaults).
    Hpa(String),
    /// The ScaledObject's `advanced.horizontalPodAutoscalerConfig.behavior`.
    ScaledObject,
    /// Nothing written: the autoscaling/v2 defaults.
    Defaults,
}

impl BehaviorSource {
    pub fn text(&self) -> String {
        match self {
            BehaviorSource::Hpa(name) => format!("HPA {name} spec.behavior"),
            BehaviorSource::ScaledObject => {
                "ScaledObject advanced.horizontalPodAutoscalerConfig.behavior".into()
            }
            BehaviorSource::Defaults => "autoscaling/v2 defaults, behavior unset".into(),
        }
    }
}

/// The whole loop, as KEDA and the HPA run it for this game.
#[derive(Debug, Clone, PartialEq)]
pub struct Scaling {
    /// KEDA's poll, s: governs 0→1 and the 1→0 check only.
    pub polling_secs: i64,
    /// KEDA's cooldownPeriod, s: governs 1→0 only.
    pub cooldown_secs: i64,
    /// minReplicaCount (0 when unread).
    pub min: i64,
    pub max: i64,
    /// idleReplicaCount, when written.
    pub idle_replicas: Option<i64>,
    pub target: Target,
    pub up: Rules,
    pub down: Rules,
    pub behavior_source: BehaviorSource,
    /// The measured scrape spacing of the nginx series, s.
    pub scrape_secs: f64,
    pub scrape_measured: bool,
    /// The nginx series is too young to measure the spacing yet (so it is
    /// assumed, and the model says why).
    pub scrape_not_yet: bool,
    /// `autoscaling.keda.sh/force-activation` is set (true by Go's ParseBool).
    pub force_activation: bool,
    /// `autoscaling.keda.sh/paused-scale-in` is set: KEDA never scales to
    /// zero or idle.
    pub pause_scale_in: bool,
    /// The ScaledObject's Active condition: status and message.
    pub active: Option<(String, Option<String>)>,
    /// The ScaledObject was not read: KEDA's defaults stand in.
    pub defaults: bool,
    /// The ScaledObject sets a tolerance its HPA does not carry: the API
    /// server dropped it (HPAConfigurableTolerance off). One line, said where
    /// the tolerance is.
    pub tolerance_dropped: Option<String>,
    /// Whether this cluster serves the per-HPA tolerance, from what it shows.
    pub tolerance_served: ToleranceServed,
}

/// Whether the API server serves `behavior.scaleUp/scaleDown.tolerance`
/// (kubernetes `pkg/features/kube_features.go`: HPAConfigurableTolerance is
/// alpha, off by default, in 1.33 and 1.34, beta and on by default from
/// 1.35; the API server drops the field when the gate is off,
/// `pkg/registry/autoscaling/horizontalpodautoscaler/strategy.go`).
#[derive(Debug, Clone, PartialEq, Default)]
pub enum ToleranceServed {
    /// Nothing tells (no version read, no tolerance written anywhere).
    #[default]
    Unknown,
    /// The ScaledObject asks for a tolerance and the HPA KEDA wrote has
    /// `spec.behavior` without it: the API server dropped it.
    Dropped,
    /// The API server is older than 1.33: the field does not exist.
    TooOld(String),
    /// The HPA carries the tolerance written.
    Served,
    /// 1.35 or newer: the gate is on by default.
    OnByDefault(String),
    /// 1.33 or 1.34: served only with the alpha gate on.
    Gated(String),
}

/// `v1.33.0`, `v1.31.4-eks-1fb4a2b`, `1.35` → (1, 33).
pub fn parse_version(v: &str) -> Option<(u32, u32)> {
    let v = v.trim().trim_start_matches('v');
    let mut parts = v.split(['.', '-', '+']);
    let major = parts.next()?.parse().ok()?;
    let minor: String = parts
        .next()?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    Some((major, minor.parse().ok()?))
}

impl ToleranceServed {
    /// From the ScaledObject's behavior, the HPA's, and `/version`.
    pub fn of(
        so: Option<&ScaledObjectInfo>,
        hpa: Option<&HpaInfo>,
        server_version: Option<&str>,
    ) -> ToleranceServed {
        let asked = |b: Option<&BehaviorInfo>| {
            b.is_some_and(|b| {
                [&b.scale_up, &b.scale_down]
                    .iter()
                    .any(|r| r.as_ref().is_some_and(|r| r.tolerance.is_some()))
            })
        };
        let version = server_version.and_then(parse_version);
        let shown = server_version.map(|v| v.to_string()).unwrap_or_default();
        if let Some((1, minor)) = version
            && minor < 33
        {
            return ToleranceServed::TooOld(shown);
        }
        if asked(so.and_then(|s| s.hpa_behavior.as_ref())) {
            match hpa {
                Some(h) if asked(h.behavior.as_ref()) => return ToleranceServed::Served,
                // The HPA's behavior is read and the field is not in it.
                Some(h) if h.behavior.is_some() => return ToleranceServed::Dropped,
                _ => {}
            }
        }
        if asked(hpa.and_then(|h| h.behavior.as_ref())) {
            return ToleranceServed::Served;
        }
        match version {
            Some((1, minor)) if minor >= 35 => ToleranceServed::OnByDefault(shown),
            Some((1, _)) => ToleranceServed::Gated(shown),
            _ => ToleranceServed::Unknown,
        }
    }

    /// One line for the evidence, when there is something to say.
    pub fn text(&self) -> Option<String> {
        match self {
            ToleranceServed::Dropped => Some(format!(
                "the HPA has no tolerance: the API server dropped it; needs Kubernetes ≥ 1.33 with HPAConfigurableTolerance (the ScaledObject sets {TOLERANCE_FIELD} or scaleDown's, the HPA KEDA wrote has spec.behavior without it)"
            )),
            ToleranceServed::TooOld(v) => Some(format!(
                "the API server is {v}: per-HPA tolerance needs Kubernetes ≥ 1.33 (HPAConfigurableTolerance), only the cluster-wide --horizontal-pod-autoscaler-tolerance applies"
            )),
            _ => None,
        }
    }
}

/// What the model expects of the running pods for some sessions.
#[derive(Debug, Clone, PartialEq)]
pub struct Expectation {
    /// The count the loop settles at for these sessions from the current
    /// count (tolerance included), clamped to the HPA's range.
    pub desired: i64,
    /// The running count is what the loop leaves alone (or is on its way
    /// down within the stabilization window / policies).
    pub holds: bool,
    /// Why, in one line ("31 sessions / 30 pods = 1.03, within tolerance
    /// 0.1: no change until 34 sessions"); `None` when there is nothing to
    /// explain (the plain one pod per session).
    pub why: Option<String>,
    /// The pods are a warm pool (minReplicaCount) with no sessions.
    pub warm_pool: bool,
    /// No sessions, but force-activation holds KEDA active and the pods up.
    pub forced: bool,
    /// More sessions than pods, held by the HPA's tolerance alone.
    pub within_tolerance: bool,
}

impl Scaling {
    pub fn of(snap: &Snapshot, settings: &Settings) -> Scaling {
        let so = snap
            .scaled_object
            .as_ref()
            .and_then(Lookup::found)
            .filter(|so| so.name == settings.scaled_object);
        let hpa = snap.keda_hpa(&settings.scaled_object);
        let mut s = Scaling::with_spacing(so, hpa, snap);
        s.tolerance_served = ToleranceServed::of(so, hpa, snap.server_version.as_deref());
        s
    }

    /// The model of whatever ScaledObject the snapshot holds (for `test`,
    /// which judges the snapshot it was handed).
    pub fn of_snapshot(snap: &Snapshot) -> Scaling {
        let so = snap.scaled_object.as_ref().and_then(Lookup::found);
        let hpa = so.and_then(|so| snap.keda_hpa(&so.name));
        Scaling::with_spacing(so, hpa, snap)
    }

    /// [`Scaling::from_parts`] with the scrape spacing the snapshot tells:
    /// measured, or assumed and (while the nginx series is too young) said
    /// to be not measured yet.
    fn with_spacing(
        so: Option<&ScaledObjectInfo>,
        hpa: Option<&HpaInfo>,
        snap: &Snapshot,
    ) -> Scaling {
        let spacing = spacing(snap);
        let mut s = Scaling::from_parts(so, hpa, spacing.secs());
        s.scrape_not_yet = spacing == Spacing::NotYet;
        s
    }

    pub fn from_parts(
        so: Option<&ScaledObjectInfo>,
        hpa: Option<&HpaInfo>,
        scrape: Option<f64>,
    ) -> Scaling {
        let (behavior, behavior_source): (Option<&BehaviorInfo>, BehaviorSource) = match (
            hpa.and_then(|h| h.behavior.as_ref()),
            so.and_then(|s| s.hpa_behavior.as_ref()),
        ) {
            (Some(b), _) => (
                Some(b),
                BehaviorSource::Hpa(hpa.map(|h| h.name.clone()).unwrap_or_default()),
            ),
            (None, Some(b)) => (Some(b), BehaviorSource::ScaledObject),
            (None, None) => (None, BehaviorSource::Defaults),
        };
        let mut down = Rules::of(
            behavior.and_then(|b| b.scale_down.as_ref()),
            Rules::default_down(),
        );
        // The older snapshot fields, when behavior itself was not kept.
        if behavior.is_none()
            && let Some(s) = so
                .and_then(|s| s.scale_down_stabilization)
                .or_else(|| hpa.and_then(|h| h.scale_down_stabilization.map(i64::from)))
        {
            down.stabilization_secs = s.max(0);
        }
        let up = Rules::of(
            behavior.and_then(|b| b.scale_up.as_ref()),
            Rules::default_up(),
        );
        let tolerance_dropped = dropped_tolerance(so, hpa);
        let trigger = so.and_then(ScaledObjectInfo::prometheus_trigger);
        let target = match so.and_then(|s| s.scaling_modifiers.as_ref()) {
            Some(m) => Target {
                value: m
                    .target
                    .as_deref()
                    .and_then(quantity::parse)
                    .filter(|t| *t > 0.0)
                    .unwrap_or(1.0),
                average: m.metric_type.as_deref() != Some("Value"),
                source: TargetSource::Composite {
                    formula: m.formula.clone(),
                    activation: m.activation_target.as_deref().and_then(quantity::parse),
                },
            },
            None => match trigger.and_then(|t| t.threshold()).filter(|t| *t > 0.0) {
                Some(value) => Target {
                    value,
                    average: trigger.and_then(|t| t.metric_type.as_deref()) != Some("Value"),
                    source: TargetSource::Threshold,
                },
                None => Target {
                    value: 1.0,
                    average: true,
                    source: TargetSource::Assumed,
                },
            },
        };
        Scaling {
            polling_secs: so.map_or(
                KEDA_DEFAULT_POLLING_INTERVAL,
                ScaledObjectInfo::polling_interval_or_default,
            ),
            cooldown_secs: so.map_or(
                KEDA_DEFAULT_COOLDOWN_PERIOD,
                ScaledObjectInfo::cooldown_period_or_default,
            ),
            min: so
                .map_or(0, ScaledObjectInfo::min_replicas_or_default)
                .max(0),
            max: so.map_or(
                KEDA_DEFAULT_MAX_REPLICAS,
                ScaledObjectInfo::max_replicas_or_default,
            ),
            idle_replicas: so.and_then(|s| s.idle_replicas),
            target,
            up,
            down,
            behavior_source,
            scrape_secs: scrape.unwrap_or(ASSUMED_SCRAPE_SECS),
            scrape_measured: scrape.is_some(),
            scrape_not_yet: false,
            force_activation: so.is_some_and(|s| s.bool_annotation(FORCE_ACTIVATION)),
            pause_scale_in: so.is_some_and(|s| s.bool_annotation(PAUSED_SCALE_IN)),
            active: so.and_then(|s| {
                condition(&s.conditions, "Active").map(|c| (c.status.clone(), c.message.clone()))
            }),
            defaults: so.is_none(),
            tolerance_dropped,
            tolerance_served: ToleranceServed::of(so, hpa, None),
        }
    }

    /// The HPA's lower bound: KEDA writes max(minReplicaCount, 1).
    pub fn hpa_min(&self) -> i64 {
        self.min.max(1)
    }

    /// The pods kept with no sessions: idleReplicaCount, else minReplicaCount.
    pub fn floor(&self) -> i64 {
        self.idle_replicas.unwrap_or(self.min).max(0)
    }

    /// The HPA's replica calculator for KEDA's one external metric, from
    /// `current` (> 0) replicas, before min/max and behavior: within the
    /// tolerance the count stays.
    pub fn calculate(&self, metric: f64, current: i64) -> i64 {
        let t = self.target.value;
        if current <= 0 || t <= 0.0 || !metric.is_finite() {
            return current.max(0);
        }
        let ratio = if self.target.average {
            metric / (t * current as f64)
        } else {
            metric / t
        };
        if self.within(ratio) {
            return current;
        }
        if self.target.average {
            (metric / t).ceil() as i64
        } else {
            (ratio * current as f64).ceil() as i64
        }
    }

    /// `Tolerances.isWithin`: 1 − down ≤ ratio ≤ 1 + up.
    pub fn within(&self, ratio: f64) -> bool {
        (1.0 - self.down.tolerance) <= ratio && ratio <= (1.0 + self.up.tolerance)
    }

    /// Where the loop settles from `current` for a metric value, once KEDA
    /// and the HPA have both acted: KEDA takes 0 → max(min, 1) when active
    /// and 1 → 0 when idle with minReplicaCount 0; the HPA keeps the count
    /// within tolerance, else ceil(metric / target), clamped to
    /// [max(min, 1), max], and never moves a direction whose selectPolicy is
    /// Disabled.
    pub fn desired(&self, metric: f64, active: bool, current: i64) -> i64 {
        let active = active || self.force_activation;
        if !active {
            // scaleToZeroOrIdle, after the cooldown, unless paused-scale-in.
            let idle_target = match self.idle_replicas {
                Some(idle) if current > idle => Some(idle.max(0)),
                None if current > 0 && self.min == 0 => Some(0),
                _ => None,
            };
            if let Some(to) = idle_target {
                return if self.pause_scale_in { current } else { to };
            }
            if self.idle_replicas.is_some() {
                // At or below idleReplicaCount: KEDA leaves it there.
                return current.max(0);
            }
            if current < self.min {
                return self.min;
            }
            if current == 0 {
                // KEDA leaves it at zero; the HPA does not act at zero.
                return 0;
            }
        }
        let current = if current == 0 {
            self.hpa_min()
        } else {
            current
        };
        let wanted = self
            .calculate(metric, current)
            .clamp(self.hpa_min(), self.max.max(1));
        if (wanted > current && self.up.select == Select::Disabled)
            || (wanted < current && self.down.select == Select::Disabled)
        {
            return current;
        }
        wanted
    }

    /// The count the loop settles at for `metric` from `from` replicas:
    /// KEDA's 0 → max(min, 1) when active, then the HPA's calculator until
    /// it holds (a count within tolerance stays), clamped to
    /// [max(min, 1), max]. The one place `test`, the checks and the views
    /// get "the pods N sessions want" from.
    pub fn settles_at(&self, metric: f64, from: i64) -> i64 {
        let active = metric > 0.0;
        let mut current = from.max(0);
        // Bounded: the calculator reaches its fixed point in two steps.
        for _ in 0..16 {
            let next = self.desired(metric, active, current);
            if next == current {
                break;
            }
            current = next;
        }
        current
    }

    /// ceil(metric / target): the count the calculator moves to once the
    /// metric is beyond tolerance (AverageValue), for a check's explanation
    /// of a threshold.
    pub fn ceil_pods(&self, metric: f64) -> i64 {
        let t = self.target.value;
        if t <= 0.0 || !metric.is_finite() {
            return 0;
        }
        (metric / t).ceil().max(0.0) as i64
    }

    /// What the HPA's calculator alone wants for `metric` from `current`
    /// replicas (tolerance included), bounded below by the HPA's minimum but
    /// not capped by maxReplicaCount: "the pods the sessions want".
    pub fn wanted(&self, metric: f64, current: i64) -> i64 {
        let current = if current <= 0 {
            self.hpa_min()
        } else {
            current
        };
        self.calculate(metric, current).max(self.hpa_min())
    }

    /// The lowest and highest replica counts the HPA leaves alone for some
    /// metric in [`low`, `high`]: the count is within tolerance of it, or is
    /// ceil(metric / target) itself; clamped to [max(min, 1), max].
    pub fn holds_between(&self, low: f64, high: f64) -> (i64, i64) {
        let (lo_m, hi_m) = (low.min(high).max(0.0), high.max(low).max(0.0));
        let (first, last) = (self.hpa_min(), self.max.max(self.hpa_min()));
        let holds = |n: i64| {
            let t = self.target.value.max(f64::MIN_POSITIVE);
            let per = if self.target.average { t * n as f64 } else { t };
            // Within tolerance for some metric of the interval.
            let within = hi_m >= per * (1.0 - self.down.tolerance)
                && lo_m <= per * (1.0 + self.up.tolerance);
            // ceil is monotone and steps by one: every count between
            // ceil(low / target) and ceil(high / target) is one of them.
            let ceil_is_n = self.target.average
                && ((lo_m / t).ceil() as i64..=(hi_m / t).ceil() as i64).contains(&n);
            within || ceil_is_n
        };
        // Bounded by maxReplicaCount (at most a few thousand).
        let lo = (first..=last.min(first + 100_000))
            .find(|n| holds(*n))
            .unwrap_or(first);
        let hi = (lo..=last.min(first + 100_000))
            .rev()
            .find(|n| holds(*n))
            .unwrap_or(lo);
        (lo, hi)
    }

    /// The smallest whole session count at which `pods` pods grow, and the
    /// largest at which they shrink (AverageValue): the tolerance band.
    pub fn band(&self, pods: i64) -> (i64, i64) {
        let edge = self.target.value * pods as f64;
        let grow = (edge * (1.0 + self.up.tolerance) + 1e-9).floor() as i64 + 1;
        let shrink = (edge * (1.0 - self.down.tolerance) - 1e-9).ceil() as i64 - 1;
        (grow, shrink.max(0))
    }

    /// Judge `running` pods against `sessions` (the trigger's value), with
    /// `no_sessions` the idle model's verdict on them and `stabilizing` the
    /// HPA's own word that it holds a scale-down (AbleToScale
    /// ScaleDownStabilized) or a policy limits it.
    pub fn expect(
        &self,
        sessions: f64,
        no_sessions: bool,
        running: i64,
        stabilizing: bool,
    ) -> Expectation {
        let active = !no_sessions || self.force_activation;
        // The metric the HPA sees: the sessions query, or the composite
        // metric, which the model takes to follow the sessions.
        let desired = self.desired(if no_sessions { 0.0 } else { sessions }, active, running);
        let floor = self.floor();
        if no_sessions && !self.force_activation {
            let warm = running > 0 && running <= floor;
            return Expectation {
                desired: floor,
                holds: running == floor || (running > floor && stabilizing),
                why: (floor > 0).then(|| {
                    format!(
                        "minReplicaCount {} keeps {floor} {} warm with no sessions, by design",
                        self.min,
                        if floor == 1 { "pod" } else { "pods" }
                    )
                }),
                warm_pool: warm,
                forced: false,
                within_tolerance: false,
            };
        }
        let mut why = None;
        let mut within_tolerance = false;
        let holds = if running == desired {
            if running > 0
                && self.target.average
                && running != (sessions / self.target.value).ceil() as i64
            {
                let ratio = sessions / (self.target.value * running as f64);
                if running == self.hpa_min() && sessions < self.target.value * running as f64 {
                    why = Some(format!(
                        "{} sessions, {running} {}: minReplicaCount {} keeps them",
                        rate_text(sessions),
                        pods_word(running),
                        self.min
                    ));
                } else if running == self.max && ratio > 1.0 {
                    why = Some(format!("maxReplicaCount {} caps the pods", self.max));
                } else if self.within(ratio) {
                    why = Some(self.tolerance_text(sessions, running));
                    within_tolerance = ratio > 1.0;
                }
            }
            true
        } else if running > desired && stabilizing {
            why = Some(format!(
                "scale-down from {running} to {desired} under way: the HPA holds it for its {} s stabilization window and policy {}",
                self.down.stabilization_secs,
                self.down.policies_text()
            ));
            true
        } else {
            running > desired && self.down.select == Select::Disabled
        };
        let forced = no_sessions && self.force_activation;
        if forced {
            why = self.force_activation_text();
        }
        Expectation {
            desired,
            holds,
            why,
            warm_pool: false,
            forced,
            within_tolerance,
        }
    }

    /// "31 sessions / 30 pods = 1.03, within tolerance 0.1: no change until
    /// 34 sessions".
    pub fn tolerance_text(&self, sessions: f64, pods: i64) -> String {
        let ratio = sessions / (self.target.value * pods as f64);
        let (grow, shrink) = self.band(pods);
        let per = if (self.target.value - 1.0).abs() > 1e-9 {
            format!(" × {}", rate_text(self.target.value))
        } else {
            String::new()
        };
        let (tol, edge) = if ratio >= 1.0 {
            (
                self.up.tolerance,
                format!("no change until {grow} sessions"),
            )
        } else {
            (
                self.down.tolerance,
                format!("no change until {shrink} sessions"),
            )
        };
        format!(
            "{} sessions / {pods}{per} pods = {ratio:.2}, within tolerance {}: {edge}",
            rate_text(sessions),
            rate_text(tol)
        )
    }

    /// The fix for a tolerance that leaves sessions without a pod, as this
    /// cluster can take it: the per-HPA field only where the API server
    /// serves it, else the cluster-wide flag.
    pub fn tolerance_fix(&self) -> String {
        const FLAG: &str = "kube-controller-manager's cluster-wide --horizontal-pod-autoscaler-tolerance (e.g. 0.01; on a managed control plane ask the provider)";
        let lead = "to give every session its pod above 10 pods, lower the HPA's tolerance";
        match &self.tolerance_served {
            ToleranceServed::TooOld(v) => format!(
                "{lead}: the API server is {v}, older than 1.33, so no HPA can carry its own tolerance; lower {FLAG}, or upgrade to Kubernetes ≥ 1.33 for {TOLERANCE_FIELD}"
            ),
            ToleranceServed::Dropped => format!(
                "{lead}: the API server dropped the ScaledObject's tolerance (HPAConfigurableTolerance is off: alpha in 1.33 and 1.34, on by default from 1.35), so enable that feature gate on kube-apiserver and kube-controller-manager, or lower {FLAG}"
            ),
            ToleranceServed::OnByDefault(v) => {
                format!(
                    "{lead}: on the ScaledObject set {TOLERANCE_FIELD} (e.g. \"0.01\"; KEDA passes behavior through to the HPA; served by this {v} API server: HPAConfigurableTolerance is on by default from 1.35)"
                )
            }
            ToleranceServed::Gated(v) => format!(
                "{lead}: on the ScaledObject set {TOLERANCE_FIELD} (e.g. \"0.01\"; KEDA passes behavior through to the HPA; this {v} API server serves it only with the alpha feature gate HPAConfigurableTolerance on: if the HPA then shows no tolerance, the gate is off), or lower {FLAG}"
            ),
            _ => format!(
                "{lead}: on the ScaledObject set {TOLERANCE_FIELD} (e.g. \"0.01\"; KEDA passes behavior through to the HPA; Kubernetes ≥ 1.33 with the HPAConfigurableTolerance feature gate, on by default from 1.35), or lower {FLAG}"
            ),
        }
    }

    /// Seconds from a first session to a new pod at 0 replicas: the rate
    /// ramp (one scrape must land in the [1m] window), the scrape spacing,
    /// then KEDA's next poll.
    pub fn zero_to_one_secs(&self) -> i64 {
        self.scrape_secs.ceil() as i64 + self.polling_secs
    }

    /// How the scrape spacing is known: " measured", " assumed", or
    /// " assumed, not measured yet: ..." while the series is too young.
    pub fn scrape_how(&self) -> &'static str {
        if self.scrape_measured {
            " measured"
        } else if self.scrape_not_yet {
            " assumed, not measured yet: fewer than 3 nginx samples in Prometheus"
        } else {
            " assumed"
        }
    }

    pub fn zero_to_one_text(&self) -> String {
        format!(
            "0→1 (KEDA): ≈ {} s = scrape spacing {} s{} (the first request must be scraped into the [1m] rate) + pollingInterval {} s",
            self.zero_to_one_secs(),
            rate_text(self.scrape_secs),
            self.scrape_how(),
            self.polling_secs
        )
    }

    /// The share of the [1m] rate window a new session at 1 req/s needs
    /// before `pods` pods grow by one: the metric must pass
    /// target × pods × (1 + tolerance), so the ramp is window × tolerance ×
    /// pods; from 10 pods on (tolerance 0.1) one session alone never does.
    pub fn ramp_secs(&self, pods: i64) -> Option<i64> {
        let share = self.up.tolerance * pods.max(1) as f64 * self.target.value;
        (share < 1.0).then(|| (RATE_WINDOW_SECS as f64 * share).ceil() as i64)
    }

    /// Seconds from one more session to one more pod at 1 pod (the HPA):
    /// the rate ramp, the scrape spacing that brings it to Prometheus, and
    /// up to one 15 s HPA sync.
    pub fn one_to_n_secs(&self) -> i64 {
        HPA_SYNC_SECS
            + self.scrape_secs.ceil() as i64
            + self.ramp_secs(1).unwrap_or(RATE_WINDOW_SECS)
    }

    pub fn one_to_n_text(&self) -> String {
        format!(
            "1→N (HPA): ≈ {} s = HPA sync {HPA_SYNC_SECS} s + scrape spacing {} s + the [1m] rate ramp {} s past tolerance {} (pollingInterval does not apply)",
            self.one_to_n_secs(),
            rate_text(self.scrape_secs),
            self.ramp_secs(1).unwrap_or(RATE_WINDOW_SECS),
            rate_text(self.up.tolerance)
        )
    }

    /// Seconds from the last session of `from` pods until `to` pods remain
    /// (N→M, the HPA): the rate window, the stabilization window, then the
    /// policies' steps, one sync each. `None` when scale-down is Disabled.
    pub fn shrink_secs(&self, from: i64, to: i64) -> Option<i64> {
        let steps = self.down.steps_secs(from, to)?;
        Some(RATE_WINDOW_SECS + self.down.stabilization_secs + HPA_SYNC_SECS + steps)
    }

    /// Seconds from the last session until 1 → 0 (KEDA): the rate window,
    /// cooldownPeriod, and KEDA's next poll. `None` when KEDA never scales
    /// to zero (minReplicaCount above 0, or force-activation).
    pub fn one_to_zero_secs(&self) -> Option<i64> {
        (self.min == 0 && !self.force_activation)
            .then_some(RATE_WINDOW_SECS + self.cooldown_secs + self.polling_secs)
    }

    /// The Active condition's message, cut to one line (for evidence).
    pub fn active_message(&self) -> Option<String> {
        let (status, message) = self.active.as_ref()?;
        Some(format!(
            "Active={status}{}",
            message
                .as_deref()
                .map(|m| format!(": \"{}\"", super::super::text::one_line(&bounded(m, 200))))
                .unwrap_or_default()
        ))
    }

    /// Why the pods never go to zero when force-activation holds KEDA
    /// active.
    pub fn force_activation_text(&self) -> Option<String> {
        self.force_activation.then(|| {
            format!(
                "annotation {FORCE_ACTIVATION} holds the ScaledObject Active with no traffic (KEDA ≥ 2.18), so KEDA never scales 1 → 0{}",
                self.active_message()
                    .map(|m| format!("; {m}"))
                    .unwrap_or_default()
            )
        })
    }

    /// The wide view: who decides, tolerance and latencies, one line each.
    pub fn lines(&self) -> Vec<String> {
        let mut out = vec![
            format!(
                "who decides: KEDA 0↔1 (poll {} s, cooldown {} s{}), the HPA {}↔{} ({})",
                self.polling_secs,
                self.cooldown_secs,
                if self.force_activation {
                    ", force-activation: never idle"
                } else {
                    ""
                },
                self.hpa_min(),
                self.max,
                self.target.text()
            ),
            format!(
                "tolerance: up {}, down {}{}: the HPA changes N pods only beyond N × {} × (1 ± tolerance) sessions (10 pods: up to {}, 30 pods: up to {})",
                rate_text(self.up.tolerance),
                rate_text(self.down.tolerance),
                if self.up.tolerance_written || self.down.tolerance_written {
                    " (set on the HPA)"
                } else if self.tolerance_served == ToleranceServed::Dropped
                    && self.tolerance_dropped.is_none()
                {
                    // Said on its own line below when the directions are known.
                    " (cluster default: the API server dropped the ScaledObject's tolerance)"
                } else {
                    " (cluster default)"
                },
                rate_text(self.target.value),
                self.band(10).0 - 1,
                self.band(30).0 - 1
            ),
            self.zero_to_one_text(),
            self.one_to_n_text(),
        ];
        if let Some(dropped) = &self.tolerance_dropped {
            // Right under the tolerance it explains.
            out.insert(2, format!("tolerance not in effect: {dropped}"));
        }
        out.push(match self.down.select {
            Select::Disabled => "N→M (HPA): never: scaleDown selectPolicy Disabled".into(),
            _ => format!(
                "N→M (HPA): after the {} s stabilization window, {} ({})",
                self.down.stabilization_secs,
                self.down.policies_text(),
                self.behavior_source.text()
            ),
        });
        out.push(match self.one_to_zero_secs() {
            Some(s) => format!(
                "1→0 (KEDA): ≈ {s} s = [1m] rate window + cooldownPeriod {} s + pollingInterval {} s",
                self.cooldown_secs, self.polling_secs
            ),
            None if self.force_activation => {
                format!("1→0 (KEDA): never: {FORCE_ACTIVATION} is set")
            }
            None => format!("1→0: never: minReplicaCount {}", self.min),
        });
        out
    }
}

/// "the ScaledObject sets scaleUp.tolerance 0.01 but HPA keda-hpa-x has
/// none: …" when the ScaledObject's behavior writes a tolerance the HPA
/// KEDA made from it does not carry. KEDA copies the behavior verbatim; an
/// API server with HPAConfigurableTolerance off (alpha, off by default, in
/// 1.33–1.34; absent before) drops the field on write, and the HPA keeps the
/// cluster-wide 0.1. `None` without an HPA, or without its behavior (then
/// nothing was copied yet).
fn dropped_tolerance(so: Option<&ScaledObjectInfo>, hpa: Option<&HpaInfo>) -> Option<String> {
    let wrote = so?.hpa_behavior.as_ref()?;
    let hpa = hpa?;
    let has = hpa.behavior.as_ref()?;
    let lost: Vec<String> = [
        ("scaleUp", &wrote.scale_up, &has.scale_up),
        ("scaleDown", &wrote.scale_down, &has.scale_down),
    ]
    .into_iter()
    .filter_map(|(dir, wrote, has)| {
        let value = wrote.as_ref()?.tolerance.as_deref()?;
        quantity::parse(value).filter(|t| t.is_finite() && *t >= 0.0)?;
        let kept = has.as_ref().and_then(|r| r.tolerance.as_deref());
        kept.is_none()
            .then(|| format!("{dir}.tolerance {}", bounded(value, 16)))
    })
    .collect();
    if lost.is_empty() {
        return None;
    }
    Some(format!(
        "the ScaledObject sets {} but HPA {} has none: this API server dropped it (Kubernetes before 1.35 keeps a per-HPA tolerance only with the HPAConfigurableTolerance feature gate on), so the HPA uses the cluster-wide tolerance",
        lost.join(" and "),
        bounded(&hpa.name, 63)
    ))
}

/// At most `max` characters of untrusted text.
fn bounded(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max).collect();
    cut.push('…');
    cut
}

fn pods_word(n: i64) -> &'static str {
    if n == 1 { "pod" } else { "pods" }
}

/// The HPA's own word that it holds a scale-down or a policy limits it:
/// AbleToScale True with reason ScaleDownStabilized, or ScalingLimited True
/// with ScaleDownLimit/ScaleUpLimit.
pub fn hpa_holding(hpa: Option<&HpaInfo>) -> bool {
    let Some(h) = hpa else { return false };
    h.conditions.iter().any(|c| {
        c.status == "True"
            && matches!(
                c.reason.as_deref(),
                Some("ScaleDownStabilized" | "ScaleDownLimit" | "ScaleUpLimit")
            )
    }) || h.current_replicas.is_some_and(|c| c > h.desired_replicas)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// KEDA copies the ScaledObject's behavior to its HPA verbatim; a
    /// Kubernetes 1.33–1.34 API server with HPAConfigurableTolerance off
    /// (its default) drops `tolerance` on write. The HPA then uses 0.1, and
    /// the plugin says so instead of "set on the HPA" or "set the field".
    #[test]
    fn a_tolerance_the_api_server_dropped_is_said_and_never_modelled() {
        use crate::checks::testkit::{hpa, scaled_object};
        let rules = |tol: Option<&str>| ScalingRulesInfo {
            tolerance: tol.map(str::to_string),
            ..ScalingRulesInfo::default()
        };
        let mut so = scaled_object();
        so.hpa_behavior = Some(BehaviorInfo {
            scale_up: Some(rules(Some("0.01"))),
            scale_down: None,
        });
        // 1.33 / 1.34 without the gate: the HPA's scaleUp has no tolerance.
        let mut old = hpa(30);
        old.behavior = Some(BehaviorInfo {
            scale_up: Some(rules(None)),
            scale_down: Some(rules(None)),
        });
        let s = Scaling::from_parts(Some(&so), Some(&old), Some(15.0));
        assert!((s.up.tolerance - 0.1).abs() < 1e-9, "{s:?}");
        let dropped = s.tolerance_dropped.clone().expect("dropped");
        assert!(
            dropped.starts_with("the ScaledObject sets scaleUp.tolerance 0.01 but HPA ")
                && dropped.contains("has none: this API server dropped it"),
            "{dropped}"
        );
        assert_eq!(s.tolerance_served, ToleranceServed::Dropped);
        assert!(
            s.tolerance_fix().contains("on by default from 1.35"),
            "{}",
            s.tolerance_fix()
        );
        assert!(
            !s.tolerance_fix().contains("e.g. \"0.01\""),
            "{}",
            s.tolerance_fix()
        );
        let wide = s.lines().join("\n");
        assert!(
            wide.contains("tolerance: up 0.1, down 0.1 (cluster default): ")
                && wide.contains(
                    "\ntolerance not in effect: the ScaledObject sets scaleUp.tolerance 0.01"
                ),
            "{wide}"
        );
        // 1.35+: the HPA carries it; nothing is said, the model uses it.
        let mut new = old.clone();
        new.behavior = Some(BehaviorInfo {
            scale_up: Some(rules(Some("10m"))),
            scale_down: Some(rules(None)),
        });
        let s = Scaling::from_parts(Some(&so), Some(&new), Some(15.0));
        assert_eq!(s.tolerance_dropped, None);
        assert!((s.up.tolerance - 0.01).abs() < 1e-9, "{s:?}");
        assert!(
            s.tolerance_fix().contains(
                "with the HPAConfigurableTolerance feature gate, on by default from 1.35"
            ),
            "{}",
            s.tolerance_fix()
        );
        // No HPA behavior yet (KEDA has not written it) or no HPA: no claim.
        let mut bare = old.clone();
        bare.behavior = None;
        assert_eq!(
            Scaling::from_parts(Some(&so), Some(&bare), None).tolerance_dropped,
            None
        );
        assert_eq!(
            Scaling::from_parts(Some(&so), None, None).tolerance_dropped,
            None
        );
    }

    fn scaling(min: i64, max: i64, threshold: f64) -> Scaling {
        let mut s = Scaling::from_parts(None, None, Some(15.0));
        s.min = min;
        s.max = max;
        s.target.value = threshold;
        s.defaults = false;
        s
    }

    /// Cases from kubernetes v1.33 replica_calculator.go
    /// (GetExternalPerPodMetricReplicas: ratio = metric / (target × current),
    /// within 1 ± 0.1 keep current, else ceil(metric / target)) and
    /// horizontal.go (clamp to [minReplicas, maxReplicas]), with KEDA's
    /// scale_scaledobjects.go for 0 replicas (active → max(min, 1), idle with
    /// min 0 → 0). Columns: metric, active, current, min, max, threshold →
    /// desired.
    #[test]
    fn desired_replicas_follow_the_upstream_replica_calculator_and_keda_loop() {
        type Case = (f64, bool, i64, i64, i64, f64, i64, &'static str);
        let cases: &[Case] = &[
            (3.0, true, 3, 0, 200, 1.0, 3, "at target"),
            (30.0, true, 28, 0, 200, 1.0, 28, "1.07 within tolerance"),
            (31.0, true, 30, 0, 200, 1.0, 30, "1.03 within"),
            (33.0, true, 30, 0, 200, 1.0, 30, "1.10 is still within (≤)"),
            (34.0, true, 30, 0, 200, 1.0, 34, "1.13 scales to ceil(34/1)"),
            (27.0, true, 30, 0, 200, 1.0, 30, "0.90 is within (≥)"),
            (26.0, true, 30, 0, 200, 1.0, 26, "0.87 shrinks"),
            (11.0, true, 10, 0, 200, 1.0, 10, "1.10 within at 10 pods"),
            (12.0, true, 10, 0, 200, 1.0, 12, "1.2 beyond"),
            (
                2.0,
                true,
                1,
                0,
                200,
                1.0,
                2,
                "below 10 pods one session moves",
            ),
            (
                7.0,
                true,
                2,
                0,
                200,
                5.0,
                2,
                "threshold 5: 0.7 → ceil(7/5)=2",
            ),
            (0.5, true, 1, 0, 200, 1.0, 1, "clamped to max(min,1)"),
            (500.0, true, 100, 0, 200, 1.0, 200, "clamped to max"),
            (0.0, true, 4, 2, 200, 1.0, 2, "to minReplicaCount"),
            (5.0, true, 0, 0, 200, 1.0, 5, "KEDA 0→1 then the HPA"),
            (0.0, false, 1, 0, 200, 1.0, 0, "KEDA 1→0 after cooldown"),
            (0.0, false, 2, 2, 200, 1.0, 2, "warm pool kept"),
            (
                0.0,
                false,
                0,
                2,
                200,
                1.0,
                2,
                "KEDA restores minReplicaCount",
            ),
            (0.0, false, 0, 0, 200, 1.0, 0, "idle at zero stays"),
            (3.0, true, 1, 2, 200, 1.0, 3, "active below min: the HPA"),
        ];
        for &(metric, active, current, min, max, threshold, want, why) in cases {
            let s = scaling(min, max, threshold);
            assert_eq!(s.desired(metric, active, current), want, "{why}");
        }
    }

    /// One function gives "the pods N sessions want" to checks and `test`:
    /// from below the HPA jumps to ceil(metric / target), from near it the
    /// tolerance keeps the count.
    #[test]
    fn settles_at_and_holds_between_follow_the_calculator_with_tolerance() {
        let s = scaling(0, 200, 1.0);
        assert_eq!(s.settles_at(5.0, 0), 5, "0 → 1 (KEDA) → 5 (HPA)");
        assert_eq!(s.settles_at(3.06, 2), 4, "ceil of a rate just above 3");
        assert_eq!(s.settles_at(3.06, 3), 3, "1.02 within tolerance");
        assert_eq!(s.settles_at(31.0, 30), 30);
        assert_eq!(s.settles_at(31.0, 0), 31);
        assert_eq!(s.settles_at(0.0, 3), 0, "idle, minReplicaCount 0");
        assert_eq!(scaling(2, 200, 1.0).settles_at(0.0, 0), 2);
        assert_eq!(scaling(0, 10, 1.0).settles_at(31.0, 2), 10, "capped");
        assert_eq!(scaling(0, 10, 1.0).wanted(31.0, 2), 31, "not capped");
        // 6 sessions ± one: 5..7 (ceil), and 6 within tolerance of nothing else.
        assert_eq!(s.holds_between(5.0, 7.0), (5, 7));
        // 30 ± 0 at 30 pods: the HPA leaves 28..33 alone (0.9..1.1 of 30 is
        // within for 28 ≤ n ≤ 33).
        assert_eq!(s.holds_between(30.0, 30.0), (28, 33));
        assert_eq!(scaling(0, 200, 5.0).holds_between(7.0, 7.0), (2, 2));
    }

    fn behavior(tolerance: Option<&str>) -> BehaviorInfo {
        BehaviorInfo {
            scale_up: Some(ScalingRulesInfo {
                tolerance: tolerance.map(str::to_string),
                ..ScalingRulesInfo::default()
            }),
            scale_down: None,
        }
    }

    fn so_asking(tolerance: Option<&str>) -> ScaledObjectInfo {
        let snap = crate::checks::testkit::healthy();
        let mut so = snap
            .scaled_object
            .as_ref()
            .and_then(Lookup::found)
            .cloned()
            .expect("the healthy snapshot has a ScaledObject");
        so.hpa_behavior = Some(behavior(tolerance));
        so
    }

    fn hpa_with(b: Option<BehaviorInfo>) -> HpaInfo {
        let snap = crate::checks::testkit::healthy();
        let mut h = snap
            .hpas
            .as_ref()
            .and_then(|l| l.first())
            .cloned()
            .expect("the healthy snapshot has an HPA");
        h.behavior = b;
        h
    }

    /// The ScaledObject asks for scaleUp.tolerance, the HPA KEDA wrote has
    /// spec.behavior without it: the API server dropped it (gate off), and
    /// the fix does not promise the field.
    #[test]
    fn a_tolerance_the_api_server_dropped_is_said_and_not_promised() {
        let so = so_asking(Some("0.01"));
        let hpa = hpa_with(Some(behavior(None)));
        let t = ToleranceServed::of(Some(&so), Some(&hpa), Some("v1.33.0"));
        assert_eq!(t, ToleranceServed::Dropped);
        let said = t.text().unwrap_or_default();
        assert!(
            said.starts_with("the HPA has no tolerance: the API server dropped it; needs Kubernetes ≥ 1.33 with HPAConfigurableTolerance"),
            "{said}"
        );
        let mut m = Scaling::from_parts(Some(&so), Some(&hpa), Some(15.0));
        m.tolerance_served = t;
        assert_eq!(m.up.tolerance, 0.1, "the HPA's own: the cluster default");
        let fix = m.tolerance_fix();
        assert!(!fix.contains("set advanced."), "{fix}");
        assert!(
            fix.contains("enable that feature gate")
                && fix.contains("--horizontal-pod-autoscaler-tolerance"),
            "{fix}"
        );
    }

    #[test]
    fn a_tolerance_the_hpa_carries_is_served() {
        let so = so_asking(Some("0.01"));
        let hpa = hpa_with(Some(behavior(Some("10m"))));
        let t = ToleranceServed::of(Some(&so), Some(&hpa), Some("v1.33.0"));
        assert_eq!(t, ToleranceServed::Served);
        assert_eq!(t.text(), None);
        let m = Scaling::from_parts(Some(&so), Some(&hpa), Some(15.0));
        assert!((m.up.tolerance - 0.01).abs() < 1e-9);
    }

    /// Older than 1.33 no HPA has the field: the fix is kube-controller-
    /// manager's flag, never the ScaledObject field.
    #[test]
    fn before_1_33_the_fix_is_the_cluster_wide_flag() {
        let so = so_asking(None);
        let t = ToleranceServed::of(Some(&so), None, Some("v1.31.4-eks-1fb4a2b"));
        assert_eq!(t, ToleranceServed::TooOld("v1.31.4-eks-1fb4a2b".into()));
        let mut m = scaling(0, 200, 1.0);
        m.tolerance_served = t;
        let fix = m.tolerance_fix();
        assert!(
            fix.contains("older than 1.33")
                && fix.contains(
                    "kube-controller-manager's cluster-wide --horizontal-pod-autoscaler-tolerance"
                ),
            "{fix}"
        );
        assert!(!fix.contains("on the ScaledObject set"), "{fix}");
    }

    /// kubernetes pkg/features/kube_features.go: alpha (off) in 1.33 and
    /// 1.34, beta (on by default) from 1.35.
    #[test]
    fn the_server_version_says_whether_the_gate_is_on_by_default() {
        let t = |v| ToleranceServed::of(None, None, Some(v));
        assert_eq!(t("v1.35.1"), ToleranceServed::OnByDefault("v1.35.1".into()));
        assert_eq!(t("v1.34.2"), ToleranceServed::Gated("v1.34.2".into()));
        assert_eq!(t("v1.33.0"), ToleranceServed::Gated("v1.33.0".into()));
        assert_eq!(
            ToleranceServed::of(None, None, None),
            ToleranceServed::Unknown
        );
        assert_eq!(parse_version("v1.33.0"), Some((1, 33)));
        assert_eq!(parse_version("v1.30+"), Some((1, 30)));
        assert_eq!(parse_version("junk"), None);
        let mut m = scaling(0, 200, 1.0);
        m.tolerance_served = t("v1.35.1");
        assert!(
            m.tolerance_fix()
                .contains("on the ScaledObject set advanced.")
        );
        m.tolerance_served = t("v1.34.2");
        let fix = m.tolerance_fix();
        assert!(fix.contains("only with the alpha feature gate"), "{fix}");
    }

    /// kedacore/keda v2.20.2 scale_scaledobjects.go: with idleReplicaCount
    /// KEDA scales an inactive target down to it (not to minReplicaCount),
    /// back to max(min, 1) once active; paused-scale-in stops the way down.
    #[test]
    fn idle_replica_count_and_paused_scale_in_follow_keda_2_20() {
        let mut s = scaling(3, 200, 1.0);
        s.idle_replicas = Some(0);
        assert_eq!(s.desired(0.0, false, 5), 0, "inactive above idle → idle");
        assert_eq!(s.desired(0.0, false, 0), 0, "at idle it stays");
        assert_eq!(
            s.desired(2.0, true, 0),
            3,
            "active from idle → max(min, 1), then the HPA"
        );
        assert_eq!(s.desired(5.0, true, 0), 5);
        let mut p = scaling(0, 200, 1.0);
        p.pause_scale_in = true;
        assert_eq!(
            p.desired(0.0, false, 4),
            4,
            "paused-scale-in: never to zero"
        );
    }

    #[test]
    fn value_targets_scale_by_the_ratio_times_current() {
        // GetExternalMetricReplicas: ceil(metric / target × current).
        let mut s = scaling(0, 200, 10.0);
        s.target.average = false;
        assert_eq!(s.desired(30.0, true, 2), 6);
        assert_eq!(s.desired(10.5, true, 2), 2, "1.05 within");
    }

    #[test]
    fn per_hpa_tolerance_moves_the_band() {
        let mut s = scaling(0, 200, 1.0);
        s.up.tolerance = 0.01;
        assert_eq!(s.desired(31.0, true, 30), 31);
        assert_eq!(s.band(30), (31, 26));
        let d = scaling(0, 200, 1.0);
        assert_eq!(d.band(30), (34, 26));
        assert_eq!(
            d.tolerance_text(31.0, 30),
            "31 sessions / 30 pods = 1.03, within tolerance 0.1: no change until 34 sessions"
        );
    }

    #[test]
    fn sessions_28_to_30_on_28_pods_hold_and_are_explained() {
        let s = scaling(0, 200, 1.0);
        let e = s.expect(30.0, false, 28, false);
        assert!(e.holds, "{e:?}");
        assert_eq!(e.desired, 28);
        assert!(e.within_tolerance);
        let why = e.why.unwrap_or_default();
        assert!(why.contains("within tolerance 0.1"), "{why}");
    }

    #[test]
    fn a_warm_pool_at_idle_is_expected() {
        let s = scaling(2, 200, 1.0);
        let e = s.expect(0.0, true, 2, false);
        assert!(e.holds && e.warm_pool, "{e:?}");
        assert!(e.why.unwrap_or_default().contains("minReplicaCount 2"));
        // Three at idle with a floor of two: not held, unless the HPA says
        // it is stabilizing.
        assert!(!s.expect(0.0, true, 3, false).holds);
        assert!(s.expect(0.0, true, 3, true).holds);
    }

    /// horizontal.go calculateScaleDownLimitWithBehaviors: one step per
    /// period from the replicas at the period's start.
    #[test]
    fn a_one_pod_per_60_s_policy_makes_20_to_5_take_14_minutes_of_steps() {
        let mut r = Rules::default_down();
        r.policies = vec![Policy {
            kind: PolicyKind::Pods,
            value: 1,
            period_secs: 60,
        }];
        assert_eq!(r.steps_secs(20, 5), Some(14 * 60));
        // The default 100 % per 15 s does it in one sync.
        assert_eq!(Rules::default_down().steps_secs(20, 5), Some(0));
        // 50 % per 60 s: 20 → 10 → 5.
        r.policies = vec![Policy {
            kind: PolicyKind::Percent,
            value: 50,
            period_secs: 60,
        }];
        assert_eq!(r.steps_secs(20, 5), Some(60));
        r.select = Select::Disabled;
        assert_eq!(r.steps_secs(20, 5), None);
    }

    /// calculateScaleUpLimitWithScalingRules with the defaults: max(4 pods,
    /// 100 %) per 15 s: 1 → 5 → 10 → 20 → 40.
    #[test]
    fn default_scale_up_policies_double_or_add_four_per_15_s() {
        let r = Rules::default_up();
        assert_eq!(r.steps_secs(1, 5), Some(0));
        assert_eq!(r.steps_secs(1, 40), Some(45));
        let mut min = Rules::default_up();
        min.select = Select::Min;
        // Min: min(+4, ×2) per 15 s: 1 → 2 → 4 → 8.
        assert_eq!(min.steps_secs(1, 8), Some(30));
    }

    #[test]
    fn disabled_scale_down_never_shrinks_and_force_activation_never_reaches_zero() {
        let mut s = scaling(0, 200, 1.0);
        s.down.select = Select::Disabled;
        assert_eq!(s.desired(2.0, true, 10), 10);
        assert_eq!(s.shrink_secs(10, 2), None);
        s.force_activation = true;
        assert_eq!(s.desired(0.0, false, 1), 1);
        assert_eq!(s.one_to_zero_secs(), None);
    }

    #[test]
    fn latencies_split_by_who_decides() {
        let mut s = scaling(0, 200, 1.0);
        s.polling_secs = 5;
        s.cooldown_secs = 30;
        assert_eq!(s.zero_to_one_secs(), 15 + 5);
        assert_eq!(s.one_to_n_secs(), 15 + 15 + 6);
        assert_eq!(s.ramp_secs(5), Some(30));
        assert_eq!(
            s.ramp_secs(10),
            None,
            "one session alone never grows 10 pods"
        );
        assert_eq!(s.one_to_zero_secs(), Some(60 + 30 + 5));
        assert_eq!(s.shrink_secs(10, 5), Some(60 + 300 + 15));
    }
}
