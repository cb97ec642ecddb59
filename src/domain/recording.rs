//! The recording rules `kubectl spice alerts` ships for `report` and
//! `timeline`, and the pure part of reading them back.
//!
//! Over a week, the running and pending game-pod sums are Prometheus's own
//! CPU (every pod series at every 15 s step): on a 2,000-pod game about
//! three seconds per half day each. A recording rule evaluates the same
//! expression once per interval as the data comes in, so the week is one
//! cheap series. `report` reads the recorded series where it has points
//! and the raw sum only for the rest of the period (the rule installed
//! after the period began, or not at all).
//!
//! The recorded series carry the game's `namespace` and `deployment` and a
//! digest of the exact expression (`spice_expr`), and `report` selects on
//! all three: a series recorded for another namespace, another workload,
//! another pod selector or an older expression is never read.

use super::promql::{self, Query};
use crate::settings::Settings;

/// The group's name and evaluation interval: the report's 15 s step
/// (Prometheus's default evaluation interval is 1 m,
/// kube-prometheus-stack's 30 s, either too coarse for a 30 s target).
pub const GROUP_SUFFIX: &str = "spice.recording";
pub const INTERVAL_SECS: f64 = 15.0;

/// `level:metric:operations` (prometheus.io/docs/practices/rules).
pub const RUNNING_RECORD: &str = "spice:game_pods_running:sum";
pub const PENDING_RECORD: &str = "spice:game_pods_pending:sum";

/// The label holding the expression's digest.
pub const DIGEST_LABEL: &str = "spice_expr";

/// The range-read keys of the recorded series.
pub const RECORDED_RUNNING: &str = "recordedRunningPods";
pub const RECORDED_PENDING: &str = "recordedPendingPods";

/// One recording rule: its name, expression and labels.
#[derive(Debug, Clone, PartialEq)]
pub struct Recording {
    pub record: &'static str,
    /// The key of the raw series it stands for (`promql::RUNNING_PODS`...).
    pub raw_key: &'static str,
    /// The key it is read under.
    pub key: &'static str,
    pub expr: String,
    pub labels: Vec<(&'static str, String)>,
}

/// 64-bit FNV-1a: a digest stable across versions and platforms (the
/// standard library's hasher is neither).
fn fnv1a(text: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The digest label's value for an expression: 12 hex digits.
pub fn digest(expr: &str) -> String {
    format!("{:012x}", fnv1a(expr) >> 16)
}

/// The recorded expression: the raw range sum (`promql::running_pods_over_range`),
/// or 0 where kube-state-metrics is up (`count(kube_node_info)` answers)
/// and no game pod series is: the value `report` gives the raw sum there
/// (`history::Series::fill_absent_pods`). So a recorded series has a point
/// wherever the rule ran and kube-state-metrics was scraped, and a missing
/// point means the rule did not run then.
fn recorded_expr(raw: &str) -> String {
    format!("({raw}) or on() (0 * count(kube_node_info))")
}

/// The two rules for the settings' namespace and game pods.
pub fn recordings(s: &Settings) -> [Recording; 2] {
    let make = |record, raw: Query, key| {
        let expr = recorded_expr(&raw.promql);
        Recording {
            record,
            raw_key: raw.key,
            key,
            labels: vec![
                ("namespace", s.namespace.clone()),
                ("deployment", s.deployment.clone()),
                (DIGEST_LABEL, digest(&expr)),
            ],
            expr,
        }
    };
    [
        make(
            RUNNING_RECORD,
            promql::running_pods_over_range(s),
            RECORDED_RUNNING,
        ),
        make(
            PENDING_RECORD,
            promql::pending_pods_over_range(s),
            RECORDED_PENDING,
        ),
    ]
}

/// The range queries of the recorded series: the rule's name with every
/// label it writes, so only this rule's series answers (`max`: one series
/// even where two Prometheus replicas' copies meet, as behind Thanos).
pub fn recorded_queries(s: &Settings) -> Vec<Query> {
    recordings(s)
        .into_iter()
        .map(|r| {
            let matchers: Vec<String> = r
                .labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", promql::escape(v)))
                .collect();
            Query {
                key: r.key,
                promql: format!("max({}{{{}}})", r.record, matchers.join(", ")),
            }
        })
        .collect()
}

/// Runs of missing points closer than this are read as one part (a raw
/// read's cost is its points; each part is a request more).
const MERGE_GAP_SECS: f64 = 3600.0;
/// Most parts read raw; beyond, the span from the first to the last.
pub const MAX_PARTS: usize = 8;

fn key(t: f64) -> i64 {
    (t * 1000.0).round() as i64
}

/// The parts `[a, b]` of the step grid `start, start + step, … ≤ end`
/// where a recorded series has no point: what must be read raw. Empty
/// when the recorded series cover every point.
pub fn raw_parts(recorded: &[&[(f64, f64)]], start: f64, end: f64, step: f64) -> Vec<(f64, f64)> {
    let have: Vec<std::collections::BTreeSet<i64>> = recorded
        .iter()
        .map(|s| s.iter().map(|p| key(p.0)).collect())
        .collect();
    let mut parts: Vec<(f64, f64)> = Vec::new();
    let n = ((end - start) / step).floor().max(0.0) as u64;
    for i in 0..=n {
        let t = start + i as f64 * step;
        if have.iter().all(|h| h.contains(&key(t))) {
            continue;
        }
        match parts.last_mut() {
            Some(last) if t - last.1 <= MERGE_GAP_SECS => last.1 = t,
            _ => parts.push((t, t)),
        }
    }
    if parts.len() > MAX_PARTS {
        let (first, last) = (parts[0].0, parts[parts.len() - 1].1);
        parts = vec![(first, last)];
    }
    parts
}

/// The recorded points, with the raw ones where the recorded series has
/// none, in time order.
pub fn merge(recorded: Vec<(f64, f64)>, raw: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    let have: std::collections::BTreeSet<i64> = recorded.iter().map(|p| key(p.0)).collect();
    let mut out = recorded;
    out.extend(raw.into_iter().filter(|p| !have.contains(&key(p.0))));
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rules_record_the_report_sums_with_labels_that_pin_the_settings() {
        let s = Settings::defaults();
        let [running, pending] = recordings(&s);
        assert_eq!(running.record, "spice:game_pods_running:sum");
        assert_eq!(pending.record, "spice:game_pods_pending:sum");
        assert!(
            running
                .expr
                .starts_with(&format!("({})", promql::running_pods_over_range(&s).promql)),
            "{}",
            running.expr
        );
        assert!(
            running
                .expr
                .ends_with(" or on() (0 * count(kube_node_info))")
        );
        assert_eq!(running.labels[0], ("namespace", s.namespace.clone()));
        assert_eq!(running.labels[1], ("deployment", s.deployment.clone()));
        assert_ne!(running.labels[2], pending.labels[2]);
        let q = recorded_queries(&s);
        assert_eq!(
            q[0].promql,
            format!(
                "max(spice:game_pods_running:sum{{namespace=\"{}\", deployment=\"{}\", spice_expr=\"{}\"}})",
                s.namespace,
                s.deployment,
                digest(&running.expr)
            )
        );
    }

    #[test]
    fn another_namespace_workload_or_expression_selects_another_series() {
        let s = Settings::defaults();
        let base = &recorded_queries(&s)[0].promql;
        let mut other_ns = s.clone();
        other_ns.namespace = "games-2".into();
        let mut other_dep = s.clone();
        other_dep.deployment = "spice-runner-2".into();
        let mut sts = s.clone();
        sts.pod_names = crate::settings::PodNames::StatefulSet(s.deployment.clone());
        let mut digests = vec![digest(&recordings(&s)[0].expr)];
        for o in [other_ns, other_dep, sts] {
            let q = &recorded_queries(&o)[0].promql;
            assert_ne!(q, base);
            digests.push(digest(&recordings(&o)[0].expr));
        }
        digests.sort();
        digests.dedup();
        assert_eq!(digests.len(), 4, "each expression has its own digest");
        // Stable: the label of a rule installed by an older build of the
        // same expression still matches.
        assert_eq!(digest(""), "cbf29ce48422");
    }

    #[test]
    fn without_recorded_points_the_whole_grid_is_raw() {
        assert_eq!(raw_parts(&[&[], &[]], 0.0, 600.0, 15.0), vec![(0.0, 600.0)]);
    }

    #[test]
    fn a_rule_installed_mid_period_leaves_only_the_part_before_raw() {
        let rec: Vec<(f64, f64)> = (40..=80).map(|i| (i as f64 * 15.0, 1.0)).collect();
        assert_eq!(
            raw_parts(&[&rec, &rec], 0.0, 1200.0, 15.0),
            vec![(0.0, 585.0)]
        );
        // Fully covered: nothing raw, no second round.
        let all: Vec<(f64, f64)> = (0..=80).map(|i| (i as f64 * 15.0, 1.0)).collect();
        assert!(raw_parts(&[&all, &all], 0.0, 1200.0, 15.0).is_empty());
        // One of the two rules missing a point is enough to read it raw.
        let mut gap = all.clone();
        gap.remove(10);
        assert_eq!(
            raw_parts(&[&all, &gap], 0.0, 1200.0, 15.0),
            vec![(150.0, 150.0)]
        );
    }

    #[test]
    fn gaps_close_together_are_one_part_and_many_are_one_span() {
        let step = 15.0;
        let day = 86_400.0;
        let grid = |from: f64, to: f64| {
            let mut v = Vec::new();
            let mut t = from;
            while t <= to {
                v.push((t, 1.0));
                t += step;
            }
            v
        };
        // Recorded everywhere but two gaps 30 min apart, and one 5 h later.
        let mut rec = grid(0.0, day);
        rec.retain(|p| {
            !((1000.0 * step..1010.0 * step).contains(&p.0)
                || (1130.0 * step..1140.0 * step).contains(&p.0)
                || (2330.0 * step..2335.0 * step).contains(&p.0))
        });
        assert_eq!(
            raw_parts(&[&rec], 0.0, day, step),
            vec![
                (1000.0 * step, 1139.0 * step),
                (2330.0 * step, 2334.0 * step)
            ]
        );
        // A gap every two hours: more than MAX_PARTS parts, one span.
        let mut holes = grid(0.0, day);
        holes.retain(|p| (p.0 / step) as i64 % 480 != 7);
        let parts = raw_parts(&[&holes], 0.0, day, step);
        assert_eq!(parts, vec![(7.0 * step, (480.0 * 11.0 + 7.0) * step)]);
    }

    #[test]
    fn the_merge_keeps_recorded_points_and_fills_the_rest_from_raw() {
        let rec = vec![(30.0, 5.0), (45.0, 6.0)];
        let raw = vec![(0.0, 1.0), (15.0, 2.0), (30.0, 99.0)];
        assert_eq!(
            merge(rec, raw),
            vec![(0.0, 1.0), (15.0, 2.0), (30.0, 5.0), (45.0, 6.0)]
        );
    }
}
