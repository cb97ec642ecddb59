//! `kubectl spice status`: the runbook's "Quick Health Checks" and "Key
//! Metrics Summary" on one screen. `StatusReport::build` is pure (snapshot +
//! settings in, data out); `render_table` only formats.

use super::text::neutralise;
use super::{Styles, human_duration, num};
/// The band moved to the domain layer; its old path stays for the checks.
pub use crate::domain::figures::{Band, band};
use crate::domain::figures::{Figures, GamePods, MetricValue, draining_text};
use crate::domain::promql;
use crate::domain::snapshot::*;
use crate::domain::text::one_line;
use crate::settings::Settings;
use serde::Serialize;
use std::io::{self, Write};

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusReport {
    pub api_version: String,
    pub kind: String,
    pub captured_at: jiff::Timestamp,
    pub context: Option<String>,
    pub namespace: String,
    pub selector: String,
    /// Which KEDA, Prometheus and Loki were read, and how each was found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_from: Option<String>,
    pub pods: Option<PodsView>,
    pub keda: Option<KedaView>,
    pub hpa: Option<HpaView>,
    pub nodes: Option<NodesView>,
    pub karpenter: Option<KarpenterView>,
    pub sessions: SessionsView,
    pub gaps: Vec<Gap>,
    /// Set when the snapshot is a replay (`--from FILE`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replay: Option<super::replay::Replay>,
    /// Notes that are not failures (e.g. "KEDA is not installed").
    #[serde(skip)]
    pub pod_list: Vec<PodRow>,
    /// The scaling model in words (who decides, tolerance, latencies), for
    /// `-o wide`.
    #[serde(skip)]
    pub scaling_lines: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodsView {
    /// The figures' counts, flattened so the JSON keeps its shape.
    #[serde(flatten)]
    pub counts: GamePods,
    pub items: Vec<PodRow>,
    /// The pods an on-call engineer acts on (Pending, Failed, crash-looping),
    /// oldest first, each with why it is stuck.
    pub stuck: Vec<StuckPod>,
}

/// A pod that is not serving, and why, in the words the table prints.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StuckPod {
    pub name: String,
    pub age_seconds: Option<i64>,
    pub why: String,
}

/// The view reads as its counts (`pods.running`), as it did when it held
/// copies of them.
impl std::ops::Deref for PodsView {
    type Target = GamePods;
    fn deref(&self) -> &GamePods {
        &self.counts
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodRow {
    pub name: String,
    pub phase: PodPhase,
    pub status: String,
    /// Ready containers / all containers, as kubectl's READY column.
    pub ready: String,
    pub restarts: i32,
    pub age_seconds: Option<i64>,
    pub node: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KedaView {
    pub name: String,
    pub scale_target_kind: Option<String>,
    pub scale_target_name: String,
    /// Ready condition: true, false, or null when Unknown or absent.
    pub ready: Option<bool>,
    pub ready_reason: Option<String>,
    pub ready_message: Option<String>,
    pub active: Option<bool>,
    pub active_reason: Option<String>,
    pub paused: bool,
    /// A one-way pause (`paused-scale-in` / `paused-scale-out`): KEDA keeps
    /// scaling the other way, so it is not `paused`.
    pub paused_scale_in: bool,
    pub paused_scale_out: bool,
    pub min_replicas: i64,
    pub max_replicas: i64,
    pub triggers: Vec<String>,
    pub polling_interval: i64,
    pub cooldown_period: i64,
    pub threshold: Option<f64>,
    pub activation_threshold: Option<f64>,
    /// Keys whose value is KEDA's default because the spec omits them.
    pub defaulted: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HpaView {
    pub name: String,
    pub min_replicas: Option<i32>,
    pub max_replicas: i32,
    pub current_replicas: Option<i32>,
    pub desired_replicas: i32,
    pub metrics: Vec<HpaMetric>,
    /// Conditions that are not in their healthy state.
    pub unhealthy_conditions: Vec<HpaCondition>,
}

/// An HPA condition off its healthy state, and whether that is still the
/// normal state of a KEDA HPA (shown dim, not as a warning).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HpaCondition {
    #[serde(flatten)]
    pub condition: Condition,
    pub benign: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodesView {
    pub total: usize,
    pub ready: usize,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KarpenterView {
    pub node_pools: Vec<NodePoolInfo>,
    pub node_claims: usize,
    pub launched: usize,
    pub not_registered: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionsView {
    /// Active sessions ≈ nginx requests per second.
    #[serde(serialize_with = "super::round::option")]
    pub rate: Option<f64>,
    /// Running pods per kube-state-metrics (`sum`, not the runbook's `count`).
    pub running_pods: Option<f64>,
    #[serde(serialize_with = "super::round::option")]
    pub per_pod: Option<f64>,
    pub band: Band,
    pub pending_pods: Option<f64>,
    pub nodes: Option<f64>,
    pub query: String,
    /// Why the session count is unknown, when it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unknown_reason: Option<String>,
    /// Why the running-pod count is unknown while Prometheus answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub running_pods_unknown_reason: Option<String>,
    /// The request rate nginx reports with no players (the exporter's own
    /// scrapes), when the scrape spacing and the series were measured.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "super::round::option"
    )]
    pub idle_floor: Option<f64>,
    /// "0.067 req/s is not players: exporter scrapes (...)" when the rate
    /// is traffic but no sessions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_players: Option<String>,
    /// What the scaling model says of the running pods for these sessions
    /// (a warm pool, the HPA's tolerance, a held scale-down), when it
    /// explains them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scaling_note: Option<String>,
    /// The pods the scaling model expects for these sessions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_pods: Option<i64>,
}

fn age(snap: &Snapshot, t: Option<jiff::Timestamp>) -> Option<i64> {
    t.map(|t| snap.captured_at.as_second() - t.as_second())
}

fn cond_bool(c: Option<&Condition>) -> Option<bool> {
    match c.map(|c| c.status.as_str()) {
        Some("True") => Some(true),
        Some("False") => Some(false),
        _ => None,
    }
}

impl StatusReport {
    pub fn build(snap: &Snapshot, settings: &Settings) -> StatusReport {
        let figures = Figures::of(snap, settings);
        let pods = snap.pods.as_ref().zip(figures.pods).map(|(pods, n)| {
            let items: Vec<PodRow> = pods
                .iter()
                .map(|p| PodRow {
                    name: p.name.clone(),
                    phase: p.phase.clone(),
                    status: p.display_status(),
                    ready: format!(
                        "{}/{}",
                        p.containers.iter().filter(|c| c.ready).count(),
                        p.containers.len()
                    ),
                    restarts: p.restarts,
                    age_seconds: age(snap, p.created),
                    node: p.node.clone(),
                })
                .collect();
            PodsView {
                counts: n,
                items,
                stuck: stuck_pods(snap, pods),
            }
        });
        let keda = snap
            .scaled_object
            .as_ref()
            .and_then(Lookup::found)
            .map(|so| {
                let ready = condition(&so.conditions, "Ready");
                let active = condition(&so.conditions, "Active");
                let trigger = so.prometheus_trigger();
                let mut defaulted = Vec::new();
                if so.polling_interval.is_none() {
                    defaulted.push("pollingInterval".into());
                }
                if so.cooldown_period.is_none() {
                    defaulted.push("cooldownPeriod".into());
                }
                if so.min_replicas.is_none() {
                    defaulted.push("minReplicaCount".into());
                }
                if so.max_replicas.is_none() {
                    defaulted.push("maxReplicaCount".into());
                }
                if trigger.is_some_and(|t| !t.metadata.contains_key("activationThreshold")) {
                    defaulted.push("activationThreshold".into());
                }
                KedaView {
                    name: so.name.clone(),
                    scale_target_kind: so.target_kind.clone(),
                    scale_target_name: so.target_name.clone(),
                    ready: cond_bool(ready),
                    ready_reason: ready.and_then(|c| c.reason.clone()),
                    ready_message: ready.and_then(|c| c.message.clone()),
                    active: cond_bool(active),
                    active_reason: active.and_then(|c| c.reason.clone()),
                    paused: so.paused(),
                    paused_scale_in: so.bool_annotation(crate::snapshot::PAUSED_SCALE_IN),
                    paused_scale_out: so.bool_annotation(crate::snapshot::PAUSED_SCALE_OUT),
                    min_replicas: so.min_replicas_or_default(),
                    max_replicas: so.max_replicas_or_default(),
                    triggers: so.triggers.iter().map(|t| t.type_.clone()).collect(),
                    polling_interval: so.polling_interval_or_default(),
                    cooldown_period: so.cooldown_period_or_default(),
                    threshold: trigger.and_then(TriggerInfo::threshold),
                    activation_threshold: trigger.map(|t| {
                        t.activation_threshold()
                            .unwrap_or(KEDA_DEFAULT_ACTIVATION_THRESHOLD)
                    }),
                    defaulted,
                }
            });
        let hpa = snap.keda_hpa(&settings.scaled_object).map(|h| HpaView {
            name: h.name.clone(),
            min_replicas: h.min_replicas,
            max_replicas: h.max_replicas,
            current_replicas: h.current_replicas,
            desired_replicas: h.desired_replicas,
            metrics: h.metrics.clone(),
            unhealthy_conditions: h
                .conditions
                .iter()
                .filter(|c| match c.type_.as_str() {
                    "AbleToScale" | "ScalingActive" => c.status != "True",
                    "ScalingLimited" => c.status == "True",
                    _ => false,
                })
                .map(|c| HpaCondition {
                    condition: c.clone(),
                    benign: benign_hpa_condition(c, h.current_replicas),
                })
                .collect(),
        });
        let nodes = snap.nodes.as_ref().map(|ns| NodesView {
            total: ns.len(),
            ready: ns.iter().filter(|n| n.ready).count(),
        });
        let karpenter = match (&snap.node_pools, &snap.node_claims) {
            (Some(pools), claims) => {
                let claims = claims.clone().unwrap_or_default();
                Some(KarpenterView {
                    node_pools: pools.clone(),
                    node_claims: claims.len(),
                    launched: claims.iter().filter(|c| c.launched()).count(),
                    not_registered: claims
                        .iter()
                        .filter(|c| !c.registered())
                        .map(|c| c.name.clone())
                        .collect(),
                })
            }
            _ => None,
        };
        let sessions = SessionsView {
            rate: figures.sessions,
            running_pods: figures.running_pods,
            per_pod: figures.ratio.per_pod,
            band: figures.ratio.band,
            pending_pods: figures.pending_pods,
            nodes: figures.nodes,
            query: promql::sessions(settings).promql,
            idle_floor: figures.idle.floor.map(|f| f.rate()),
            not_players: figures.sessions.and_then(|s| figures.idle.not_players(s)),
            scaling_note: figures.expectation.as_ref().and_then(|e| e.why.clone()),
            expected_pods: figures.expectation.as_ref().map(|e| e.desired),
            unknown_reason: figures
                .sessions
                .is_none()
                .then(|| sessions_unknown(snap, settings)),
            running_pods_unknown_reason: (figures.running_pods.is_none()
                && snap.gap("prometheus").is_none())
            .then(|| "no kube_pod_status_phase series (is kube-state-metrics scraped?)".into()),
        };
        // A snapshot saved for diagnose also holds sources status does not
        // show (Loki, alert rules, operator logs); their gaps are not status's.
        let mut gaps: Vec<Gap> = snap
            .gaps
            .iter()
            .filter(|g| {
                ![
                    GapSource::Loki,
                    GapSource::PrometheusRules,
                    GapSource::KedaOperatorLogs,
                ]
                .contains(&g.source)
            })
            .cloned()
            .collect();
        gaps.sort_by(|a, b| a.source.cmp(&b.source));
        StatusReport {
            api_version: API_VERSION.into(),
            kind: "Status".into(),
            captured_at: snap.captured_at,
            context: snap.context.clone(),
            namespace: snap.namespace.clone(),
            selector: settings.selector.clone(),
            read_from: super::sources::read_from(snap, false),
            pod_list: pods.as_ref().map(|p| p.items.clone()).unwrap_or_default(),
            scaling_lines: figures.scaling.lines(),
            pods,
            keda,
            hpa,
            nodes,
            karpenter,
            sessions,
            replay: None,
            gaps,
        }
    }
}

/// Pending, Failed and crash-looping pods, oldest first, each with why.
fn stuck_pods(snap: &Snapshot, pods: &[PodInfo]) -> Vec<StuckPod> {
    let mut stuck: Vec<&PodInfo> = pods
        .iter()
        .filter(|pod| {
            pod.phase == "Pending" || pod.crash_looping().is_some() || pod.phase == "Failed"
        })
        .collect();
    stuck.sort_by_key(|pod| pod.created);
    stuck
        .into_iter()
        .map(|pod| {
            let why = if let Some(c) = pod.crash_looping() {
                format!("CrashLoopBackOff ({} restarts of {})", c.restarts, c.name)
            } else if let Some(sc) = pod.scheduled.as_ref().filter(|c| c.status != "True") {
                let message = sc.message.as_deref().unwrap_or("");
                format!(
                    "{} {}: {}",
                    pod.display_status(),
                    sc.reason.as_deref().unwrap_or("not scheduled"),
                    one_line(message)
                )
            } else {
                pod.display_status()
            };
            StuckPod {
                name: pod.name.clone(),
                age_seconds: age(snap, pod.created),
                why,
            }
        })
        .collect()
}

/// At zero replicas ScalingActive=False/ScalingDisabled and
/// ScalingLimited/TooFewReplicas are the normal state of a KEDA HPA.
fn benign_hpa_condition(c: &Condition, current_replicas: Option<i32>) -> bool {
    let at_zero = current_replicas.unwrap_or(0) == 0;
    c.reason.as_deref() == Some("ScalingDisabled")
        || (at_zero && c.reason.as_deref() == Some("TooFewReplicas"))
}

/// Why the session count is unknown: Prometheus's error for the query, or
/// that no series of the nginx service exists.
fn sessions_unknown(snap: &Snapshot, settings: &Settings) -> String {
    snap.prometheus
        .get(crate::domain::promql::SESSIONS)
        .and_then(|a| a.error.clone())
        .unwrap_or_else(|| {
            // Status does not measure the scrape spacing: an empty rate() is
            // either no series or a window shorter than two scrapes, and only
            // diagnose can tell which.
            format!(
                "the sessions query returned nothing: no nginx_http_requests_total{{service=\"{}\"}} series, or its [1m] window holds fewer than two scrapes (kubectl spice diagnose tells which)",
                settings.nginx_service
            )
        })
}

const LABEL_WIDTH: usize = 10;

fn head(st: &Styles, label: &str) -> String {
    st.bold(&format!("{label:<LABEL_WIDTH$}"))
}

fn cont() -> String {
    " ".repeat(LABEL_WIDTH)
}

fn mark_bool(st: &Styles, v: Option<bool>, healthy: bool) -> String {
    match v {
        Some(b) if b == healthy => st.good(&format!("✓ {}", if b { "True" } else { "False" })),
        Some(b) => st.bad(&format!("✗ {}", if b { "True" } else { "False" })),
        None => st.warn("? Unknown"),
    }
}

fn gap_lines(out: &mut dyn Write, st: &Styles, label: &str, gap: &Gap) -> io::Result<()> {
    let mark = match gap.reason {
        GapReason::NotInstalled => st.warn("–"),
        _ => st.bad("✗"),
    };
    writeln!(
        out,
        "{}{mark} {}: {}",
        head(st, label),
        gap.reason,
        one_line(&gap.message)
    )?;
    if !gap.hint.is_empty() {
        writeln!(
            out,
            "{}  {}",
            cont(),
            st.dim(&format!("hint: {}", gap.hint))
        )?;
    }
    Ok(())
}

fn secs(v: i64) -> String {
    format!("{v}s")
}

/// The human view. `wide` adds the pod list.
pub fn render_table(
    out: &mut dyn Write,
    r: &StatusReport,
    snap: &Snapshot,
    settings: &Settings,
    st: &Styles,
    wide: bool,
) -> io::Result<()> {
    let when = r.captured_at.strftime("%Y-%m-%d %H:%M:%S UTC");
    if let Some(replay) = &r.replay {
        writeln!(out, "{}", st.warn(&replay.line()))?;
    }
    writeln!(
        out,
        "{} in namespace {} · context {} · {}",
        st.bold(settings.workload_name()),
        st.bold(&r.namespace),
        r.context.as_deref().unwrap_or("in-cluster"),
        st.dim(&when.to_string())
    )?;
    if let Some(line) = &r.read_from {
        writeln!(out, "{}", st.dim(line))?;
    }
    writeln!(out)?;

    render_sessions(out, r, snap, settings, st)?;
    render_pods(out, r, snap, st)?;
    render_keda(out, r, snap, settings, st)?;
    render_hpa(out, r, snap, settings, st)?;
    if wide {
        for (i, line) in r.scaling_lines.iter().enumerate() {
            let label = if i == 0 { head(st, "SCALING") } else { cont() };
            writeln!(out, "{label}{}", one_line(line))?;
        }
    }
    render_rest(out, r, snap, st, wide)
}

/// SESSIONS: sessions, running pods and the ratio's band, or why they are unknown.
fn render_sessions(
    out: &mut dyn Write,
    r: &StatusReport,
    snap: &Snapshot,
    settings: &Settings,
    st: &Styles,
) -> io::Result<()> {
    // Sessions first: it is the question the whole tool answers.
    let s = &r.sessions;
    if let Some(g) = snap
        .gap("prometheus")
        .filter(|_| s.rate.is_none() && s.running_pods.is_none())
    {
        gap_lines(out, st, "SESSIONS", g)?;
    } else {
        // Traffic at the idle floor is no player: "0 active", and the line
        // below says what the req/s are (not "0.27 active").
        let rate = match (s.rate, &s.not_players) {
            (Some(_), Some(_)) => "0".to_string(),
            (rate, _) => rate.map(num).unwrap_or_else(|| "?".into()),
        };
        let running = s.running_pods.map(num).unwrap_or_else(|| "?".into());
        let ratio = match s.band {
            Band::Green => st.good(&format!(
                "✓ {} per pod (green)",
                s.per_pod.map(num).unwrap_or_default()
            )),
            Band::Yellow => st.warn(&format!(
                "! {} per pod (yellow)",
                s.per_pod.map(num).unwrap_or_default()
            )),
            Band::Red => match s.per_pod {
                Some(p) => st.bad(&format!("✗ {} per pod (red)", num(p))),
                None => st.bad("✗ sessions but no running pods (red)"),
            },
            Band::Idle => st.good("✓ idle: no sessions, no pods"),
            Band::Expected => st.good(&format!(
                "✓ {} per pod: expected{}",
                s.per_pod.map(num).unwrap_or_default(),
                s.scaling_note
                    .as_deref()
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default()
            )),
            Band::Unknown => st.warn("? ratio unknown"),
        };
        writeln!(
            out,
            "{}{rate} active · {running} running pods · {ratio}",
            head(st, "SESSIONS")
        )?;
        let mut extra = Vec::new();
        if let Some(p) = s.pending_pods {
            extra.push(format!("{} pending", num(p)));
        }
        if let Some(n) = s.nodes {
            extra.push(format!("{} nodes", num(n)));
        }
        extra.push(format!(
            "bands green {}–{}, yellow {}–{}",
            num(settings.bands.green_min),
            num(settings.bands.green_max),
            num(settings.bands.yellow_min),
            num(settings.bands.yellow_max)
        ));
        writeln!(
            out,
            "{}{}",
            cont(),
            st.dim(&format!("{} (from Prometheus)", extra.join(" · ")))
        )?;
        if let Some(said) = s.not_players.as_deref().map(one_line) {
            writeln!(out, "{}  {}", cont(), st.dim(&said))?;
        }
        if s.band != Band::Expected
            && let Some(note) = s.scaling_note.as_deref().map(one_line)
        {
            writeln!(out, "{}  {}", cont(), st.dim(&note))?;
        }
        if let Some(why) = s.unknown_reason.as_deref().map(one_line) {
            writeln!(
                out,
                "{}  {}",
                cont(),
                st.warn(&format!("! sessions unknown: {why}"))
            )?;
        }
        if let Some(why) = s.running_pods_unknown_reason.as_deref().map(one_line) {
            writeln!(
                out,
                "{}  {}",
                cont(),
                st.warn(&format!("! running pods unknown: {why}"))
            )?;
        }
    }

    Ok(())
}

/// PODS: the counts and the stuck pods, each with why.
fn render_pods(
    out: &mut dyn Write,
    r: &StatusReport,
    snap: &Snapshot,
    st: &Styles,
) -> io::Result<()> {
    match (&r.pods, snap.gap("pods")) {
        (Some(p), _) => {
            let crash = if p.crash_looping > 0 {
                st.bad(&format!("{} CrashLoopBackOff", p.crash_looping))
            } else {
                "0 CrashLoopBackOff".into()
            };
            let pending = if p.pending > 0 {
                st.warn(&format!("{} Pending", p.pending))
            } else {
                "0 Pending".into()
            };
            let failed = if p.failed > 0 {
                st.bad(&format!("{} Failed", p.failed))
            } else {
                "0 Failed".into()
            };
            // Terminating pods are not counted as Running (the figures' one
            // definition, and the PromQL's), so they are named when there
            // are any: draining after a scale-down, with their grace period.
            let terminating = if p.terminating > 0 {
                format!(", {}", draining_text(p.terminating, p.draining_grace_secs))
            } else {
                String::new()
            };
            writeln!(
                out,
                "{}{} total: {} Running ({} ready), {pending}, {failed}, {crash}{terminating} · {} restarts",
                head(st, "PODS"),
                p.total,
                p.running,
                p.ready,
                p.restarts
            )?;
            for pod in p.stuck.iter().take(5) {
                let age = pod
                    .age_seconds
                    .map(human_duration)
                    .unwrap_or_else(|| "?".into());
                writeln!(
                    out,
                    "{}  {} {} for {age}: {}",
                    cont(),
                    st.warn("!"),
                    one_line(&pod.name),
                    one_line(&pod.why)
                )?;
            }
            if p.stuck.len() > 5 {
                writeln!(
                    out,
                    "{}  {}",
                    cont(),
                    st.dim(&format!(
                        "… and {} more (-o wide lists every pod)",
                        p.stuck.len() - 5
                    ))
                )?;
            }
            if p.total == 0 {
                writeln!(
                    out,
                    "{}{}",
                    cont(),
                    st.dim(&format!("no pods match {} (scaled to zero?)", r.selector))
                )?;
            }
        }
        (None, Some(g)) => gap_lines(out, st, "PODS", g)?,
        (None, None) => writeln!(out, "{}?", head(st, "PODS"))?,
    }

    Ok(())
}

/// KEDA: the ScaledObject's conditions, replicas, trigger, polling and cooldown.
fn render_keda(
    out: &mut dyn Write,
    r: &StatusReport,
    snap: &Snapshot,
    settings: &Settings,
    st: &Styles,
) -> io::Result<()> {
    match (&r.keda, &snap.scaled_object, snap.gap("scaledobject")) {
        (Some(k), _, _) => {
            let paused = match (k.paused, k.paused_scale_in, k.paused_scale_out) {
                (true, _, _) => st.warn("! paused"),
                (false, true, true) => st.warn("! scale-in and scale-out paused"),
                (false, true, false) => st.warn("! scale-in paused (pods stay when sessions end)"),
                (false, false, true) => {
                    st.warn("! scale-out paused (no new pods for new sessions)")
                }
                (false, false, false) => "not paused".into(),
            };
            writeln!(
                out,
                "{}{} → {}/{} · READY {} · ACTIVE {} · {paused}",
                head(st, "KEDA"),
                k.name,
                k.scale_target_kind.as_deref().unwrap_or("Deployment"),
                k.scale_target_name,
                mark_bool(st, k.ready, true),
                match k.active {
                    Some(a) => {
                        let word = if a { "True" } else { "False" };
                        // Active=False is healthy when idle; the checks judge it.
                        if a {
                            st.good(&format!("✓ {word}"))
                        } else {
                            format!("– {word}")
                        }
                    }
                    None => st.warn("? Unknown"),
                },
            )?;
            if k.ready != Some(true)
                && let (Some(reason), msg) = (&k.ready_reason, &k.ready_message)
            {
                writeln!(
                    out,
                    "{}  {}",
                    cont(),
                    st.bad(&one_line(&format!(
                        "{reason}: {}",
                        msg.as_deref().unwrap_or("")
                    )))
                )?;
            }
            let d = |key: &str| {
                if k.defaulted.iter().any(|x| x == key) {
                    " (default)"
                } else {
                    ""
                }
            };
            let trigger = match (k.threshold, k.activation_threshold) {
                (Some(t), Some(a)) => format!(
                    "threshold {} · activation {}{}",
                    num(t),
                    num(a),
                    d("activationThreshold")
                ),
                (Some(t), None) => format!("threshold {}", num(t)),
                _ => "no prometheus trigger".into(),
            };
            writeln!(
                out,
                "{}replicas {}{}–{}{} · triggers {} · {trigger}",
                cont(),
                k.min_replicas,
                d("minReplicaCount"),
                k.max_replicas,
                d("maxReplicaCount"),
                if k.triggers.is_empty() {
                    "none".into()
                } else {
                    k.triggers.join(",")
                },
            )?;
            writeln!(
                out,
                "{}polling {}{} · cooldown {}{}",
                cont(),
                secs(k.polling_interval),
                d("pollingInterval"),
                secs(k.cooldown_period),
                d("cooldownPeriod")
            )?;
        }
        (None, Some(Lookup::Missing), _) => {
            writeln!(
                out,
                "{}{} ScaledObject {:?} not found in namespace {}",
                head(st, "KEDA"),
                st.bad("✗"),
                settings.scaled_object,
                r.namespace
            )?;
            writeln!(
                out,
                "{}  {}",
                cont(),
                st.dim(&format!(
                    "hint: kubectl get scaledobjects -n {}",
                    r.namespace
                ))
            )?;
        }
        (_, _, Some(g)) => gap_lines(out, st, "KEDA", g)?,
        _ => writeln!(out, "{}?", head(st, "KEDA"))?,
    }

    Ok(())
}

/// HPA: replicas, the metric against its target, and conditions off their healthy state.
fn render_hpa(
    out: &mut dyn Write,
    r: &StatusReport,
    snap: &Snapshot,
    settings: &Settings,
    st: &Styles,
) -> io::Result<()> {
    match (&r.hpa, snap.gap("hpa")) {
        (Some(h), _) => {
            let metric = h
                .metrics
                .iter()
                .map(|m| MetricValue::of(m).to_string())
                .collect::<Vec<_>>()
                .join(", ");
            writeln!(
                out,
                "{}{} · replicas {} → {} (min {}, max {}) · {}",
                head(st, "HPA"),
                h.name,
                h.current_replicas
                    .map(|c| c.to_string())
                    .unwrap_or_else(|| "?".into()),
                h.desired_replicas,
                h.min_replicas.unwrap_or(1),
                h.max_replicas,
                if metric.is_empty() {
                    "no metrics".into()
                } else {
                    metric
                }
            )?;
            for HpaCondition {
                condition: c,
                benign,
            } in &h.unhealthy_conditions
            {
                let text = one_line(&format!(
                    "{}={} {}: {}",
                    c.type_,
                    c.status,
                    c.reason.as_deref().unwrap_or(""),
                    c.message.as_deref().unwrap_or("")
                ))
                .into_owned();
                writeln!(
                    out,
                    "{}  {}",
                    cont(),
                    if *benign {
                        st.dim(&text)
                    } else {
                        st.warn(&format!("! {text}"))
                    }
                )?;
            }
        }
        (None, Some(g)) => gap_lines(out, st, "HPA", g)?,
        (None, None) => {
            let name = snap.keda_hpa_name(&settings.scaled_object);
            if snap
                .gap("scaledobject")
                .is_some_and(|g| g.reason == GapReason::NotInstalled)
            {
                writeln!(
                    out,
                    "{}{}",
                    head(st, "HPA"),
                    st.dim(&format!("– {name} not found (no KEDA)"))
                )?;
                return Ok(());
            }
            let why = if matches!(snap.scaled_object, Some(Lookup::Found(ref so)) if so.paused()) {
                " (KEDA deletes it while the ScaledObject is paused)"
            } else {
                ""
            };
            writeln!(
                out,
                "{}{} {name} not found{why}",
                head(st, "HPA"),
                st.warn("!")
            )?;
        }
    }

    Ok(())
}

/// NODES, Karpenter, the gaps not shown in place, and the wide pod list.
fn render_rest(
    out: &mut dyn Write,
    r: &StatusReport,
    snap: &Snapshot,
    st: &Styles,
    wide: bool,
) -> io::Result<()> {
    match (&r.nodes, snap.gap("nodes")) {
        (Some(n), _) => {
            let ready = if n.ready < n.total {
                st.warn(&format!("{} Ready", n.ready))
            } else {
                format!("{} Ready", n.ready)
            };
            writeln!(out, "{}{} total, {ready}", head(st, "NODES"), n.total)?;
        }
        (None, Some(g)) => gap_lines(out, st, "NODES", g)?,
        (None, None) => writeln!(out, "{}?", head(st, "NODES"))?,
    }
    match (&r.karpenter, snap.gap("nodepools")) {
        (Some(k), _) => {
            let pools = k
                .node_pools
                .iter()
                .map(|p| format!("{} ({} nodes)", p.name, p.nodes.unwrap_or(0)))
                .collect::<Vec<_>>()
                .join(", ");
            let pending = if k.not_registered.is_empty() {
                "all registered".to_string()
            } else {
                st.warn(&format!(
                    "{} not yet registered: {}",
                    k.not_registered.len(),
                    k.not_registered.join(", ")
                ))
            };
            // Karpenter before 1.0 is read at v1beta1: say so, since fields differ.
            let version = match snap.apis.karpenter_version.as_deref() {
                Some(v) if v != "v1" => format!(" (karpenter.sh/{v})"),
                _ => String::new(),
            };
            writeln!(
                out,
                "{}Karpenter{version} NodePools {} · NodeClaims {} ({} launched, {pending})",
                cont(),
                if pools.is_empty() {
                    "none".into()
                } else {
                    pools
                },
                k.node_claims,
                k.launched
            )?;
        }
        (None, Some(g)) if g.reason == GapReason::NotInstalled => {
            writeln!(
                out,
                "{}{}",
                cont(),
                st.dim("Karpenter not installed (no karpenter.sh API)")
            )?;
            if let Some(ca) = snap
                .cluster_autoscaler
                .as_ref()
                .and_then(|c| crate::domain::node_autoscalers::CaStatus::parse(&c.status))
            {
                let groups: Vec<String> = ca
                    .groups
                    .iter()
                    .take(5)
                    .map(|g| match (g.target, g.max_size) {
                        (Some(t), Some(m)) => format!("{} {t}/{m}", g.name),
                        _ => g.name.clone(),
                    })
                    .collect();
                writeln!(
                    out,
                    "{}Cluster Autoscaler: scaleUp {} · scaleDown {} · node groups {}",
                    cont(),
                    one_line(&ca.scale_up),
                    one_line(&ca.scale_down),
                    one_line(&groups.join(", "))
                )?;
            }
        }
        (None, Some(g)) => {
            writeln!(
                out,
                "{}{} Karpenter {}: {}",
                cont(),
                st.bad("✗"),
                g.reason,
                one_line(&g.message)
            )?;
            writeln!(out, "{}  {}", cont(), st.dim(&format!("hint: {}", g.hint)))?;
        }
        (None, None) => {}
    }

    // Gaps not already shown in place of a section.
    let shown = [
        "prometheus",
        "pods",
        "scaledobject",
        "hpa",
        "nodes",
        "nodepools",
    ];
    let rest: Vec<&Gap> = r
        .gaps
        .iter()
        .filter(|g| !shown.contains(&g.source.as_str()))
        .collect();
    if !rest.is_empty() {
        writeln!(out)?;
        writeln!(out, "{}", st.bold("COULD NOT CHECK"))?;
        for g in rest {
            writeln!(
                out,
                "  {} {} ({}): {}",
                st.warn("?"),
                g.source,
                g.reason,
                one_line(&g.message)
            )?;
            if !g.hint.is_empty() {
                writeln!(out, "    {}", st.dim(&format!("hint: {}", g.hint)))?;
            }
        }
    }

    if wide && !r.pod_list.is_empty() {
        writeln!(out)?;
        let mut table = tabled::builder::Builder::default();
        table.push_record(["NAME", "STATUS", "READY", "RESTARTS", "AGE", "NODE"]);
        // Cells are neutralised before the table measures them, so an
        // escaped control widens its column instead of breaking alignment.
        let cell = |s: &str| neutralise(s).into_owned();
        for p in &r.pod_list {
            table.push_record([
                cell(&p.name),
                cell(&p.status),
                p.ready.clone(),
                p.restarts.to_string(),
                p.age_seconds
                    .map(human_duration)
                    .unwrap_or_else(|| "?".into()),
                cell(p.node.as_deref().unwrap_or("<none>")),
            ]);
        }
        writeln!(out, "{}", crate::report::plain_table(table))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_view_carries_the_decisions_so_json_has_them_too() {
        use crate::checks::testkit::{self, cond, pending_pod};
        let mut snap = testkit::healthy();
        snap.pods
            .get_or_insert_with(Vec::new)
            .push(pending_pod("stuck-1", 120));
        testkit::set_prom(&mut snap, crate::domain::promql::SESSIONS, None);
        let hpa = snap
            .hpas
            .as_mut()
            .and_then(|h| h.first_mut())
            .expect("an HPA");
        hpa.current_replicas = Some(0);
        hpa.conditions = vec![cond("ScalingLimited", "True", "TooFewReplicas", "min")];
        let report = StatusReport::build(&snap, &Settings::defaults());
        let json = serde_json::to_value(&report).expect("JSON");
        let stuck = &json["pods"]["stuck"];
        assert_eq!(stuck[0]["name"], "stuck-1", "{stuck}");
        assert!(
            stuck[0]["why"].as_str().unwrap().contains("Unschedulable"),
            "{stuck}"
        );
        let condition = &json["hpa"]["unhealthyConditions"][0];
        assert_eq!(condition["reason"], "TooFewReplicas");
        assert_eq!(condition["benign"], true);
        assert!(
            json["sessions"]["unknownReason"]
                .as_str()
                .is_some_and(|r| r.contains("spice-runner-nginx")),
            "{}",
            json["sessions"]
        );
    }
}
