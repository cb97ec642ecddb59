//! `kind: Timeline`: one chronological list for an incident ticket, from
//! the metric history (episodes, band changes, flapping), the Kubernetes
//! events still kept, and the KEDA operator's log errors about our
//! ScaledObject. Every string from the cluster is made one line and
//! bounded here; the renderers neutralise it where they write.

use super::{API_VERSION, Series, at, episodes, flapping};
use crate::domain::figures::{Band, band};
use crate::domain::model::Idle;
use crate::domain::snapshot::Snapshot;
use crate::settings::{Bands, Targets};
use crate::watch::model::Direction;
use jiff::Timestamp;
use serde::Serialize;

/// Longest sentence kept from one event or log line, in characters.
const SENTENCE_LIMIT: usize = 300;
/// Most band changes listed: a flapping hour would bury everything else.
const BAND_CHANGES_LIMIT: usize = 60;
/// Most spec changes listed.
const GENERATION_CHANGES_LIMIT: usize = 40;
/// How long Kubernetes keeps events by default (kube-apiserver `--event-ttl`).
pub const EVENTS_TTL_SECS: f64 = 3600.0;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    pub at: Timestamp,
    /// `history`, `event`, `keda-operator`.
    pub source: String,
    /// What it is about (`Deployment/spice-runner`), when it is an object.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub object: String,
    pub sentence: String,
    /// A warning, a failure or an episode over its target.
    pub bad: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Timeline {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub since: Timestamp,
    pub until: Timestamp,
    pub entries: Vec<Entry>,
    pub flapping: flapping::Flapping,
    /// Where a source does not reach back to `since`, or could not be read.
    pub notes: Vec<String>,
    /// Some source could not be read.
    pub incomplete: bool,
}

/// One line, at most [`SENTENCE_LIMIT`] characters.
pub fn sentence(text: &str) -> String {
    let one = crate::domain::text::one_line(text.trim());
    let mut s: String = one.chars().take(SENTENCE_LIMIT).collect();
    if one.chars().count() > SENTENCE_LIMIT {
        s.push('…');
    }
    s
}

/// The time a KEDA log line was written: a console line's first column, or
/// a JSON line's `ts` (seconds or RFC 3339).
pub fn log_time(line: &str) -> Option<Timestamp> {
    let t = line.trim_start();
    if t.starts_with('{') {
        let v: serde_json::Value = serde_json::from_str(t).ok()?;
        return match v.get("ts")? {
            serde_json::Value::Number(n) => {
                Timestamp::from_millisecond((n.as_f64()? * 1000.0) as i64).ok()
            }
            serde_json::Value::String(s) => s.parse().ok(),
            _ => None,
        };
    }
    t.split(['\t', ' ']).next()?.parse().ok()
}

fn secs(t: Timestamp) -> f64 {
    t.as_millisecond() as f64 / 1000.0
}

/// What the timeline is built from.
pub struct TimelineInputs<'a> {
    pub since: Timestamp,
    pub until: Timestamp,
    /// `Err`: why the history could not be read.
    pub series: Result<&'a Series, String>,
    pub snapshot: &'a Snapshot,
    pub namespace: &'a str,
    pub deployment: &'a str,
    pub scaled_object: &'a str,
    pub targets: Targets,
    pub bands: Bands,
}

pub fn build(inp: &TimelineInputs<'_>) -> Timeline {
    let mut entries = Vec::new();
    let mut notes = Vec::new();
    let mut incomplete = false;
    let (from, to) = (secs(inp.since), secs(inp.until));
    let inside = |t: Timestamp| secs(t) >= from && secs(t) <= to;
    let mut flap = flapping::Flapping::default();
    match &inp.series {
        Ok(s) => {
            for e in episodes(s, inp.targets, inp.bands) {
                let verb = match e.direction {
                    Direction::ScaleUp => "rose to",
                    Direction::ScaleDown => "fell to",
                };
                entries.push(Entry {
                    at: e.started_at,
                    source: "history".into(),
                    object: String::new(),
                    sentence: format!(
                        "{} began: sessions {verb} {} with {} pods running; took {}{:.0} s (target {:.0} s{})",
                        e.direction.word(),
                        e.sessions,
                        e.from_pods,
                        if e.started_before_watch { "at least " } else { "" },
                        e.seconds,
                        e.target_seconds,
                        if e.within_target { "" } else { ", missed" }
                    ),
                    bad: !e.within_target,
                });
            }
            let idle = Idle::default();
            let mut last: Option<Band> = None;
            let mut changes = 0;
            for &(t, sessions) in &s.sessions {
                let (ratio, b) = band(Some(sessions), at(&s.running, t), &inp.bands, &idle);
                if last.is_some_and(|l| l != b) {
                    changes += 1;
                    if changes <= BAND_CHANGES_LIMIT
                        && let Ok(at) = Timestamp::from_millisecond((t * 1000.0) as i64)
                    {
                        entries.push(Entry {
                            at,
                            source: "history".into(),
                            object: String::new(),
                            sentence: format!(
                                "ratio band {} → {}: {sessions:.1} sessions{}",
                                last.map_or("", Band::word),
                                b.word(),
                                ratio.map_or(" and no pod".into(), |r| format!(", {r:.2} per pod"))
                            ),
                            bad: matches!(b, Band::Red),
                        });
                    }
                }
                last = Some(b);
            }
            if changes > BAND_CHANGES_LIMIT {
                notes.push(format!(
                    "{changes} band changes; the first {BAND_CHANGES_LIMIT} are listed"
                ));
            }
            // Spec changes: `metadata.generation` grows by one per change of
            // the spec (kube-state-metrics keeps it for the Deployment and the
            // HPA; KEDA rewrites its HPA when the ScaledObject's scaling spec
            // changes, and exports no generation of the ScaledObject itself).
            // The HPA by the name the ScaledObject gives it, as it was read.
            let hpa = inp.snapshot.keda_hpa_name(inp.scaled_object);
            let mut spec_changes = 0;
            for (kind, name, series) in [
                ("Deployment", inp.deployment, &s.deployment_generation),
                ("HorizontalPodAutoscaler", hpa.as_str(), &s.hpa_generation),
            ] {
                for w in series.windows(2) {
                    let (before, after) = (w[0].1, w[1].1);
                    if after <= before {
                        continue;
                    }
                    spec_changes += 1;
                    if spec_changes > GENERATION_CHANGES_LIMIT || w[1].0 < from {
                        continue;
                    }
                    if let Ok(at) = Timestamp::from_millisecond((w[1].0 * 1000.0) as i64) {
                        entries.push(Entry {
                            at,
                            source: "history".into(),
                            // The sentence names it.
                            object: String::new(),
                            sentence: sentence(&format!(
                                "{kind} {name} spec changed (generation {before:.0} → {after:.0})"
                            )),
                            bad: false,
                        });
                    }
                }
            }
            if spec_changes > GENERATION_CHANGES_LIMIT {
                notes.push(format!(
                    "{spec_changes} spec changes; the first {GENERATION_CHANGES_LIMIT} are listed"
                ));
            }
            flap = flapping::measure(&s.running, to);
            if flap.flapping
                && let Ok(at) = Timestamp::from_millisecond((to * 1000.0) as i64)
            {
                entries.push(Entry {
                    at,
                    source: "history".into(),
                    object: String::new(),
                    sentence: flap.line(),
                    bad: true,
                });
            }
        }
        Err(e) => {
            incomplete = true;
            notes.push(format!("no metric history: {}", sentence(e)));
        }
    }

    let snap = inp.snapshot;
    match &snap.events {
        Some(events) => {
            let mut oldest: Option<Timestamp> = None;
            for ev in events {
                let Some(t) = ev.last_seen else { continue };
                oldest = Some(oldest.map_or(t, |o| o.min(t)));
                if !inside(t) {
                    continue;
                }
                let count = if ev.count > 1 {
                    format!(" (×{})", ev.count)
                } else {
                    String::new()
                };
                entries.push(Entry {
                    at: t,
                    source: "event".into(),
                    object: sentence(&format!("{}/{}", ev.object_kind, ev.object_name)),
                    sentence: sentence(&format!("{}: {}{count}", ev.reason, ev.message)),
                    bad: ev.type_ == "Warning",
                });
            }
            let reach = snap.captured_at.as_millisecond() as f64 / 1000.0 - EVENTS_TTL_SECS;
            if from < reach {
                notes.push(format!(
                    "Kubernetes events reach back about 1 h (their TTL){}: earlier ones are gone",
                    oldest.map_or(String::new(), |o| format!(", the oldest kept is from {o}"))
                ));
            }
        }
        None => {
            incomplete = true;
            notes.push("Kubernetes events could not be read".into());
        }
    }
    match &snap.operator_logs {
        Some(lines) => {
            for l in lines {
                if !crate::keda_log::is_error(&l.line)
                    || crate::keda_log::about(&l.line, inp.namespace, inp.scaled_object)
                        != crate::keda_log::About::Ours
                {
                    continue;
                }
                let Some(t) = log_time(&l.line).filter(|t| inside(*t)) else {
                    continue;
                };
                let (msg, err) = crate::keda_log::message_and_error(&l.line);
                let text = match (msg, err) {
                    (Some(m), Some(e)) => format!("{m}: {e}"),
                    (Some(m), None) => m,
                    (None, Some(e)) => e,
                    (None, None) => l.line.clone(),
                };
                entries.push(Entry {
                    at: t,
                    source: "keda-operator".into(),
                    object: sentence(&format!("ScaledObject/{}", inp.scaled_object)),
                    sentence: sentence(&text),
                    bad: true,
                });
            }
            if from < snap.captured_at.as_millisecond() as f64 / 1000.0 - 1800.0 {
                notes.push(
                    "the KEDA operator log is read for its last 30 min (500 lines): earlier errors are not listed".into(),
                );
            }
        }
        None => notes.push("the KEDA operator log was not read".into()),
    }
    entries.sort_by(|a, b| a.at.cmp(&b.at).then(a.source.cmp(&b.source)));
    Timeline {
        api_version: API_VERSION,
        kind: "Timeline",
        since: inp.since,
        until: inp.until,
        entries,
        flapping: flap,
        notes,
        incomplete,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_times_are_read_from_console_and_json_lines() {
        let console = "2026-12-07T04:00:00Z\tERROR\tscale_handler\terror\t{\"name\":\"x\"}";
        assert_eq!(
            log_time(console).map(|t| t.as_second()),
            Some(1_796_616_000)
        );
        let json = r#"{"level":"error","ts":1796616000.5,"msg":"m"}"#;
        assert_eq!(log_time(json).map(|t| t.as_second()), Some(1_796_616_000));
        assert_eq!(log_time("goroutine 1 [running]:"), None);
    }

    #[test]
    fn generation_steps_are_spec_changes_one_line_each() {
        let t0 = 1_800_000_000.0;
        let pts = |v: &[f64]| -> Vec<(f64, f64)> {
            v.iter()
                .enumerate()
                .map(|(i, x)| (t0 + i as f64 * 15.0, *x))
                .collect()
        };
        let series = Series {
            sessions: pts(&[2.0; 6]),
            running: pts(&[2.0; 6]),
            nodes: pts(&[1.0; 6]),
            deployment_generation: pts(&[7.0, 7.0, 8.0, 8.0, 8.0, 9.0]),
            hpa_generation: pts(&[3.0, 3.0, 3.0, 4.0, 4.0, 4.0]),
            step_secs: 15.0,
            ..Series::default()
        };
        let ts = |x: f64| Timestamp::from_second(x as i64).unwrap_or_default();
        let snap = Snapshot::new(ts(t0 + 90.0), "default");
        let d = crate::settings::Settings::defaults();
        let t = build(&TimelineInputs {
            since: ts(t0),
            until: ts(t0 + 90.0),
            series: Ok(&series),
            snapshot: &snap,
            namespace: "default",
            deployment: "spice-runner",
            scaled_object: "spice-runner-keda",
            targets: d.targets,
            bands: d.bands,
        });
        let changes: Vec<(i64, &str)> = t
            .entries
            .iter()
            .filter(|e| e.sentence.contains("spec changed"))
            .map(|e| (e.at.as_second() - t0 as i64, e.sentence.as_str()))
            .collect();
        assert_eq!(
            changes,
            vec![
                (
                    30,
                    "Deployment spice-runner spec changed (generation 7 → 8)"
                ),
                (
                    45,
                    "HorizontalPodAutoscaler keda-hpa-spice-runner-keda spec changed (generation 3 → 4)"
                ),
                (
                    75,
                    "Deployment spice-runner spec changed (generation 8 → 9)"
                ),
            ]
        );
    }

    /// The ScaledObject names its HPA (`advanced.horizontalPodAutoscalerConfig.name`):
    /// the HPA's spec changes are told under that name, not `keda-hpa-<name>`.
    #[test]
    fn an_hpa_spec_change_names_the_hpa_the_scaledobject_names() {
        let t0 = 1_800_000_000.0;
        let pts = |v: &[f64]| -> Vec<(f64, f64)> {
            v.iter()
                .enumerate()
                .map(|(i, x)| (t0 + i as f64 * 15.0, *x))
                .collect()
        };
        let series = Series {
            sessions: pts(&[2.0; 4]),
            running: pts(&[2.0; 4]),
            nodes: pts(&[1.0; 4]),
            hpa_generation: pts(&[3.0, 3.0, 4.0, 4.0]),
            step_secs: 15.0,
            ..Series::default()
        };
        let ts = |x: f64| Timestamp::from_second(x as i64).unwrap_or_default();
        let mut snap = crate::checks::testkit::healthy();
        snap.captured_at = ts(t0 + 60.0);
        if let Some(crate::snapshot::Lookup::Found(so)) = &mut snap.scaled_object {
            so.hpa_name_override = Some("spice-game-hpa".into());
            so.hpa_name = Some("spice-game-hpa".into());
        }
        let d = crate::settings::Settings::defaults();
        let t = build(&TimelineInputs {
            since: ts(t0),
            until: ts(t0 + 60.0),
            series: Ok(&series),
            snapshot: &snap,
            namespace: "default",
            deployment: "spice-runner",
            scaled_object: "spice-runner-keda",
            targets: d.targets,
            bands: d.bands,
        });
        let changes: Vec<&str> = t
            .entries
            .iter()
            .filter(|e| e.sentence.contains("spec changed"))
            .map(|e| e.sentence.as_str())
            .collect();
        assert_eq!(
            changes,
            ["HorizontalPodAutoscaler spice-game-hpa spec changed (generation 3 → 4)"]
        );
    }

    #[test]
    fn sentences_are_one_bounded_line() {
        let s = sentence(&format!("a\nb{}", "x".repeat(1000)));
        assert!(!s.contains('\n'));
        assert!(s.chars().count() <= SENTENCE_LIMIT + 1);
    }
}
