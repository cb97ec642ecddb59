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
    pub step_secs: f64,
}

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
    pub heartbeats: Option<Result<Option<f64>, String>>,
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
}

impl Verdict {
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "FAIL",
            Verdict::NoData => "no data",
            Verdict::Unknown => "unknown",
        }
    }
    pub fn mark(self) -> &'static str {
        match self {
            Verdict::Pass => "✓",
            Verdict::Fail => "✗",
            Verdict::NoData => "-",
            Verdict::Unknown => "?",
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
    pub flapping: flapping::Flapping,
    pub worst_episodes: Vec<WorstEpisode>,
    /// Every episode, oldest first (the HTML chart draws them).
    pub episodes: Vec<Episode>,
    /// Sources that could not be read: why.
    pub unread: Vec<String>,
    pub notes: Vec<String>,
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
            WorstEpisode {
                episode: e.clone(),
                max_pending,
                nodes_before: nb,
                nodes_after: na,
                cause: cause(e, s, max_pending, nb, na),
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
        Some(Ok(v)) => Metric {
            id: "heartbeats",
            title: "Heartbeats per session",
            value: *v,
            shown: v.map_or("no sessions".into(), |v| format!("{v:.3}/s")),
            target: format!("≈ {hb_target}/s (±25 %)"),
            verdict: match v {
                None => Verdict::NoData,
                Some(v) if (v - hb_target).abs() <= hb_target * 0.25 => Verdict::Pass,
                Some(_) => Verdict::Fail,
            },
            detail: String::new(),
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
        flapping,
        worst_episodes,
        episodes: eps,
        unread,
        notes,
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
            }),
            heartbeats: None,
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

    #[test]
    fn percentiles_are_nearest_rank() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0];
        assert_eq!(percentile(&v, 50.0), Some(5.0));
        assert_eq!(percentile(&v, 95.0), Some(10.0));
        assert_eq!(percentile(&[], 50.0), None);
    }
}
