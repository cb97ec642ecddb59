//! What the node autoscalers do, from what they wrote: Karpenter's NodePool
//! disruption budgets (a cron schedule and a duration: is a budget active
//! now, how many nodes may it disrupt), its `spec.limits` against
//! `status.resources`, and Cluster Autoscaler's status ConfigMap. Pure: the
//! time is the snapshot's.
//!
//! Sources: kubernetes-sigs/karpenter v1.6 `pkg/apis/v1/nodepool.go`, the
//! same in v1.14.1 (which adds only `spec.replicas` and the `Balanced` policy)
//! (Budget:
//! `nodes` an int or a percentage, default `10%`; `schedule` a cron in UTC
//! with the `@daily`-style macros; `duration` how long from each schedule hit
//! the budget is active; `reasons` Empty, Drifted, Underutilized, none = all;
//! the most restrictive active budget wins; a percentage is rounded up, as
//! `GetAllowedDisruptionsByReason` does with `GetScaledValueFromIntOrPercent`),
//! and kubernetes/autoscaler cluster-autoscaler-1.33.0
//! `clusterstate/api/types.go` (the YAML status of CA ≥ 1.30) and
//! `clusterstate/utils/status.go`.

use crate::domain::quantity;
use crate::domain::snapshot::{BudgetInfo, NodePoolInfo};
use jiff::Timestamp;
use jiff::civil::Weekday;
use jiff::tz::TimeZone;
use serde::Deserialize;

// ---------------------------------------------------------------------------
// Cron (the five fields robfig/cron's standard parser reads, as Karpenter does).

/// One cron field: the values it matches, and whether it was `*` (which
/// decides how day-of-month and day-of-week combine).
#[derive(Debug, Clone, PartialEq)]
struct Field {
    values: Vec<u32>,
    star: bool,
}

fn name_value(s: &str, names: &[&str], base: u32) -> Option<u32> {
    let lower = s.to_ascii_lowercase();
    names
        .iter()
        .position(|n| *n == lower)
        .map(|i| i as u32 + base)
        .or_else(|| s.parse().ok())
}

fn field(text: &str, min: u32, max: u32, names: &[&str], base: u32) -> Option<Field> {
    let mut values = Vec::new();
    let star = text.starts_with('*') || text.starts_with('?');
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (r, s.parse::<u32>().ok().filter(|s| *s > 0)?),
            None => (part, 1),
        };
        let (lo, hi) = if range == "*" || range == "?" {
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            (name_value(a, names, base)?, name_value(b, names, base)?)
        } else {
            let v = name_value(range, names, base)?;
            // `5/10` means from 5 to the end, every 10.
            (v, if part.contains('/') { max } else { v })
        };
        if lo < min || hi > max || lo > hi {
            return None;
        }
        values.extend((lo..=hi).step_by(step as usize));
    }
    Some(Field { values, star })
}

/// A parsed five-field cron schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct Cron {
    minute: Field,
    hour: Field,
    dom: Field,
    month: Field,
    dow: Field,
}

const MONTHS: &[&str] = &[
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const DAYS: &[&str] = &["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

impl Cron {
    /// `None` for what Karpenter's CRD validation would reject.
    pub fn parse(text: &str) -> Option<Cron> {
        let text = match text.trim() {
            "@yearly" | "@annually" => "0 0 1 1 *",
            "@monthly" => "0 0 1 * *",
            "@weekly" => "0 0 * * 0",
            "@daily" | "@midnight" => "0 0 * * *",
            "@hourly" => "0 * * * *",
            t => t,
        };
        let parts: Vec<&str> = text.split_whitespace().collect();
        let [mi, h, dom, mo, dow] = parts.as_slice() else {
            return None;
        };
        let mut dow = field(dow, 0, 7, DAYS, 0)?;
        // 7 is Sunday too.
        for v in &mut dow.values {
            if *v == 7 {
                *v = 0;
            }
        }
        Some(Cron {
            minute: field(mi, 0, 59, &[], 0)?,
            hour: field(h, 0, 23, &[], 0)?,
            dom: field(dom, 1, 31, &[], 0)?,
            month: field(mo, 1, 12, MONTHS, 1)?,
            dow,
        })
    }

    /// Whether the schedule fires at this minute (UTC).
    fn matches(&self, t: Timestamp) -> bool {
        let dt = t.to_zoned(TimeZone::UTC).datetime();
        let dow = match dt.weekday() {
            Weekday::Sunday => 0,
            w => w.to_monday_one_offset() as u32,
        };
        let day_dom = self.dom.values.contains(&(dt.day() as u32));
        let day_dow = self.dow.values.contains(&dow);
        // robfig/cron: when either day field is `*`, both must match;
        // otherwise either one suffices.
        let day = if self.dom.star || self.dow.star {
            day_dom && day_dow
        } else {
            day_dom || day_dow
        };
        self.minute.values.contains(&(dt.minute() as u32))
            && self.hour.values.contains(&(dt.hour() as u32))
            && self.month.values.contains(&(dt.month() as u32))
            && day
    }

    /// The latest time at or before `now` (to the minute) the schedule fired,
    /// looking back at most `window_secs`.
    pub fn last_fire(&self, now: Timestamp, window_secs: i64) -> Option<Timestamp> {
        let start = now.as_second() - now.as_second().rem_euclid(60);
        let minutes = window_secs.clamp(0, MAX_LOOKBACK_SECS) / 60;
        (0..=minutes)
            .map(|m| start - m * 60)
            .filter_map(|s| Timestamp::from_second(s).ok())
            .find(|t| self.matches(*t))
    }
}

/// The longest budget duration looked back over (a week; Karpenter allows
/// any, but longer windows are not seen in practice).
const MAX_LOOKBACK_SECS: i64 = 7 * 24 * 3600;

// ---------------------------------------------------------------------------
// Karpenter budgets.

/// Whether a budget is active now, and since when (its schedule's last hit).
#[derive(Debug, Clone, PartialEq)]
pub enum BudgetState {
    /// No schedule: always active.
    Always,
    /// Active since this schedule hit, until `until`.
    Active { since: Timestamp, until: Timestamp },
    /// Scheduled, not active now.
    Inactive,
    /// The schedule or duration cannot be read (the budget is ignored).
    Invalid(String),
}

pub fn budget_state(b: &BudgetInfo, now: Timestamp) -> BudgetState {
    let Some(schedule) = b.schedule.as_deref() else {
        return BudgetState::Always;
    };
    let Some(cron) = Cron::parse(schedule) else {
        return BudgetState::Invalid(format!("schedule {schedule:?} is not a cron expression"));
    };
    let Some(duration) = b
        .duration
        .as_deref()
        .and_then(|d| crate::settings::parse_duration(d).ok())
    else {
        return BudgetState::Invalid("a schedule without a readable duration".into());
    };
    let secs = duration.as_secs() as i64;
    match cron.last_fire(now, secs) {
        Some(since) => {
            let until = Timestamp::from_second(since.as_second() + secs).unwrap_or(since);
            if now < until {
                BudgetState::Active { since, until }
            } else {
                BudgetState::Inactive
            }
        }
        None => BudgetState::Inactive,
    }
}

/// How many of `nodes` a budget's `nodes` allows to be disrupted at once:
/// an integer, or a percentage rounded up. `None` if unreadable.
pub fn allowed(b: &BudgetInfo, nodes: i64) -> Option<i64> {
    let n = b.nodes.trim();
    match n.strip_suffix('%') {
        Some(p) => {
            let p: f64 = p.parse().ok()?;
            Some(((p / 100.0) * nodes as f64).ceil() as i64)
        }
        None => n.parse().ok(),
    }
}

/// The budget that blocks disruption for `reason` (Empty, Underutilized,
/// Drifted) now: the active one allowing 0 nodes, with its index.
pub fn blocking_budget<'a>(
    pool: &'a NodePoolInfo,
    reason: &str,
    nodes: i64,
    now: Timestamp,
) -> Option<(usize, &'a BudgetInfo, BudgetState)> {
    pool.budgets.iter().enumerate().find_map(|(i, b)| {
        let applies = b.reasons.is_empty() || b.reasons.iter().any(|r| r == reason);
        if !applies {
            return None;
        }
        let state = budget_state(b, now);
        let active = matches!(state, BudgetState::Always | BudgetState::Active { .. });
        // A pool with nodes to judge has at least one: "10%" of an unknown
        // count is never read as 0.
        (active && allowed(b, nodes.max(1)) == Some(0)).then_some((i, b, state))
    })
}

/// One budget as its YAML reads: `nodes: "0", schedule: "0 9 * * mon-fri",
/// duration: 8h, reasons: [Empty]`.
pub fn budget_text(b: &BudgetInfo) -> String {
    let mut s = format!("nodes: {:?}", b.nodes);
    if let Some(sc) = &b.schedule {
        s.push_str(&format!(", schedule: {sc:?}"));
    }
    if let Some(d) = &b.duration {
        s.push_str(&format!(", duration: {d}"));
    }
    if !b.reasons.is_empty() {
        s.push_str(&format!(", reasons: [{}]", b.reasons.join(", ")));
    }
    s
}

/// A resource at its limit: (name, used, limit) as written.
pub type Reached = (String, String, String);

/// The resources a NodePool has reached its `spec.limits` on.
pub fn limits_reached(pool: &NodePoolInfo) -> Vec<Reached> {
    pool.limits
        .iter()
        .filter_map(|(name, limit)| {
            let used = pool.resources.get(name)?;
            let (u, l) = (quantity::parse(used)?, quantity::parse(limit)?);
            (u >= l).then(|| (name.clone(), used.clone(), limit.clone()))
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Cluster Autoscaler's status ConfigMap.

/// Cluster Autoscaler's defaults (cluster-autoscaler-1.33.0 `config/const.go`
/// DefaultScanInterval, DefaultScaleDownUnneededTime; `config/flags/flags.go`
/// scale-down-delay-after-add, max-node-provision-time).
pub const CA_SCAN_INTERVAL_SECS: i64 = 10;
pub const CA_SCALE_DOWN_UNNEEDED_SECS: i64 = 600;
pub const CA_SCALE_DOWN_DELAY_AFTER_ADD_SECS: i64 = 600;
pub const CA_MAX_NODE_PROVISION_SECS: i64 = 900;

/// What the plugin reads of one node group in CA's status.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CaNodeGroup {
    pub name: String,
    pub health: String,
    pub target: Option<i64>,
    pub min_size: Option<i64>,
    pub max_size: Option<i64>,
    /// `NoActivity`, `InProgress`, `Backoff`, ...
    pub scale_up: String,
    pub backoff: Option<String>,
    /// `NoCandidates`, `CandidatesPresent`.
    pub scale_down: String,
    pub candidates: Option<i64>,
}

/// CA's status: the YAML of CA ≥ 1.30, or the plain text of older versions.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CaStatus {
    /// `yaml` or `text`.
    pub format: &'static str,
    pub time: Option<String>,
    pub autoscaler: Option<String>,
    pub health: String,
    pub scale_up: String,
    pub scale_down: String,
    pub groups: Vec<CaNodeGroup>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct YStatus {
    time: Option<String>,
    autoscaler_status: Option<String>,
    cluster_wide: YWide,
    node_groups: Vec<YGroup>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct YWide {
    health: YCond,
    scale_up: YCond,
    scale_down: YCond,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct YCond {
    status: String,
    candidates: Option<i64>,
    cloud_provider_target: Option<i64>,
    min_size: Option<i64>,
    max_size: Option<i64>,
    backoff_info: Option<YBackoff>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct YBackoff {
    error_code: String,
    error_message: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct YGroup {
    name: String,
    health: YCond,
    scale_up: YCond,
    scale_down: YCond,
}

/// The first word after `key:` on a line of CA's plain-text status.
fn text_value(line: &str, key: &str) -> Option<String> {
    let rest = line.trim().strip_prefix(key)?.trim();
    rest.split_whitespace().next().map(str::to_string)
}

/// `name=VALUE` inside a plain-text status line (`maxSize=20)`).
fn text_number(line: &str, name: &str) -> Option<i64> {
    let at = line.find(&format!("{name}="))?;
    let digits: String = line[at + name.len() + 1..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().ok()
}

impl CaStatus {
    /// Reads the `status` key of `cluster-autoscaler-status`; `None` when it
    /// is neither shape.
    pub fn parse(text: &str) -> Option<CaStatus> {
        if text
            .trim_start()
            .starts_with("Cluster-autoscaler status at")
        {
            return Some(Self::parse_text(text));
        }
        // Untrusted text: a flow-bracket bomb never reaches the parser.
        if crate::domain::snapshot::nested_too_deep(text.as_bytes(), 32).is_some() {
            return None;
        }
        let y: YStatus = serde_norway::from_str(text).ok()?;
        if y.autoscaler_status.is_none() && y.node_groups.is_empty() {
            return None;
        }
        Some(CaStatus {
            format: "yaml",
            time: y.time,
            autoscaler: y.autoscaler_status,
            health: y.cluster_wide.health.status,
            scale_up: y.cluster_wide.scale_up.status,
            scale_down: y.cluster_wide.scale_down.status,
            groups: y
                .node_groups
                .into_iter()
                .map(|g| CaNodeGroup {
                    name: g.name,
                    health: g.health.status,
                    target: g.health.cloud_provider_target,
                    min_size: g.health.min_size,
                    max_size: g.health.max_size,
                    scale_up: g.scale_up.status,
                    backoff: g
                        .scale_up
                        .backoff_info
                        .filter(|b| !b.error_code.is_empty() || !b.error_message.is_empty())
                        .map(|b| format!("{}: {}", b.error_code, b.error_message)),
                    scale_down: g.scale_down.status,
                    candidates: g.scale_down.candidates,
                })
                .collect(),
        })
    }

    /// CA before 1.30: `Cluster-wide:` then `NodeGroups:` blocks of
    /// `Name:`, `Health:`, `ScaleUp:`, `ScaleDown:` lines.
    fn parse_text(text: &str) -> CaStatus {
        let mut s = CaStatus {
            format: "text",
            ..Default::default()
        };
        let mut in_groups = false;
        for line in text.lines() {
            let t = line.trim();
            if let Some(rest) = t.strip_prefix("Cluster-autoscaler status at") {
                s.time = Some(rest.trim().trim_end_matches(':').to_string());
            } else if t.starts_with("NodeGroups:") {
                in_groups = true;
            } else if let Some(name) = text_value(t, "Name:") {
                s.groups.push(CaNodeGroup {
                    name,
                    ..Default::default()
                });
            } else if let Some(v) = text_value(t, "Health:") {
                match s.groups.last_mut().filter(|_| in_groups) {
                    Some(g) => {
                        g.health = v;
                        g.target = text_number(t, "cloudProviderTarget");
                        g.min_size = text_number(t, "minSize");
                        g.max_size = text_number(t, "maxSize");
                    }
                    None => s.health = v,
                }
            } else if let Some(v) = text_value(t, "ScaleUp:") {
                match s.groups.last_mut().filter(|_| in_groups) {
                    Some(g) => g.scale_up = v,
                    None => s.scale_up = v,
                }
            } else if let Some(v) = text_value(t, "ScaleDown:") {
                let candidates = text_number(t, "candidates");
                match s.groups.last_mut().filter(|_| in_groups) {
                    Some(g) => {
                        g.scale_down = v;
                        g.candidates = candidates;
                    }
                    None => s.scale_down = v,
                }
            }
        }
        s
    }
}

/// A `TriggeredScaleUp` message's scale-ups: `pod triggered scale-up:
/// [{eks-spice-ng 3->4 (max: 20)}]` (cluster-autoscaler-1.33.0
/// `processors/status/eventing_scale_up_processor.go`, the format of
/// `processors/nodegroupset/nodegroup_set_processor.go` ScaleUpInfo.String):
/// (group, from, to, max).
pub fn triggered_scale_ups(message: &str) -> Vec<(String, i64, i64, i64)> {
    let mut out = Vec::new();
    let mut rest = message;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        let inner = &rest[open + 1..open + close];
        rest = &rest[open + close + 1..];
        let mut words = inner.split_whitespace();
        let (Some(group), Some(sizes)) = (words.next(), words.next()) else {
            continue;
        };
        let Some((from, to)) = sizes.split_once("->") else {
            continue;
        };
        let max = inner
            .split_once("(max:")
            .and_then(|(_, m)| m.trim().trim_end_matches(')').trim().parse().ok());
        if let (Ok(from), Ok(to), Some(max)) = (from.parse(), to.parse(), max) {
            out.push((group.to_string(), from, to, max));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().expect("time")
    }

    fn budget(nodes: &str, schedule: Option<&str>, duration: Option<&str>) -> BudgetInfo {
        BudgetInfo {
            nodes: nodes.into(),
            schedule: schedule.map(str::to_string),
            duration: duration.map(str::to_string),
            reasons: vec![],
        }
    }

    #[test]
    fn cron_fields_macros_and_day_rules() {
        let c = Cron::parse("0 9 * * mon-fri").expect("cron");
        // Monday 2026-12-07 09:00 UTC.
        assert!(c.matches(at("2026-12-07T09:00:00Z")));
        assert!(!c.matches(at("2026-12-06T09:00:00Z")), "Sunday");
        assert!(!c.matches(at("2026-12-07T09:01:00Z")));
        assert!(
            Cron::parse("@daily")
                .expect("daily")
                .matches(at("2026-12-07T00:00:00Z"))
        );
        assert!(
            Cron::parse("*/15 * * * *")
                .expect("step")
                .matches(at("2026-12-07T03:45:00Z"))
        );
        // Both day fields restricted: either matches (the 1st, or a Sunday).
        let c = Cron::parse("0 0 1 * 0").expect("cron");
        assert!(c.matches(at("2026-12-06T00:00:00Z")));
        assert!(c.matches(at("2026-12-01T00:00:00Z")));
        assert!(!c.matches(at("2026-12-02T00:00:00Z")));
        assert!(Cron::parse("0 9 * *").is_none());
        assert!(Cron::parse("61 * * * *").is_none());
    }

    #[test]
    fn budgets_active_now_or_not_and_what_they_allow() {
        let now = at("2026-12-07T10:30:00Z"); // a Monday
        let office = budget("0", Some("0 9 * * mon-fri"), Some("8h"));
        assert!(matches!(
            budget_state(&office, now),
            BudgetState::Active { .. }
        ));
        assert_eq!(
            budget_state(&office, at("2026-12-07T17:00:00Z")),
            BudgetState::Inactive
        );
        assert_eq!(
            budget_state(&office, at("2026-12-06T10:30:00Z")),
            BudgetState::Inactive
        );
        assert_eq!(
            budget_state(&budget("0", None, None), now),
            BudgetState::Always
        );
        assert!(matches!(
            budget_state(&budget("0", Some("0 9 * * *"), None), now),
            BudgetState::Invalid(_)
        ));
        assert_eq!(allowed(&budget("10%", None, None), 2), Some(1));
        assert_eq!(allowed(&budget("0%", None, None), 20), Some(0));
        assert_eq!(allowed(&budget("3", None, None), 2), Some(3));
        assert_eq!(allowed(&budget("x", None, None), 2), None);
    }

    #[test]
    fn a_blocking_budget_is_the_active_one_at_zero_for_the_reason() {
        let now = at("2026-12-07T10:30:00Z");
        let mut pool = NodePoolInfo {
            name: "default".into(),
            consolidation_policy: None,
            consolidate_after: None,
            nodes: Some(2),
            conditions: vec![],
            budgets: vec![
                budget("10%", None, None),
                budget("0", Some("0 9 * * mon-fri"), Some("8h")),
            ],
            limits: Default::default(),
            resources: Default::default(),
        };
        let (i, _, _) = blocking_budget(&pool, "Empty", 2, now).expect("blocked");
        assert_eq!(i, 1);
        assert!(blocking_budget(&pool, "Empty", 2, at("2026-12-07T20:00:00Z")).is_none());
        pool.budgets[1].reasons = vec!["Drifted".into()];
        assert!(blocking_budget(&pool, "Empty", 2, now).is_none());
        // An unknown node count never turns a percentage into 0.
        pool.budgets = vec![budget("10%", None, None)];
        assert!(blocking_budget(&pool, "Empty", 0, now).is_none());
    }

    #[test]
    fn limits_reached_compare_quantities() {
        let mut pool = NodePoolInfo {
            name: "default".into(),
            consolidation_policy: None,
            consolidate_after: None,
            nodes: Some(2),
            conditions: vec![],
            budgets: vec![],
            limits: [
                ("cpu".to_string(), "8".to_string()),
                ("memory".to_string(), "64Gi".to_string()),
            ]
            .into(),
            resources: [
                ("cpu".to_string(), "8".to_string()),
                ("memory".to_string(), "15432Mi".to_string()),
            ]
            .into(),
        };
        assert_eq!(
            limits_reached(&pool),
            vec![("cpu".to_string(), "8".to_string(), "8".to_string())]
        );
        pool.resources.insert("cpu".into(), "7500m".into());
        assert!(limits_reached(&pool).is_empty());
    }

    #[test]
    fn ca_status_yaml_and_plain_text() {
        let yaml = r#"time: "2026-12-07 04:28:19.546750398 +0000 UTC"
autoscalerStatus: "Running"
clusterWide:
  health:
    status: "Healthy"
  scaleUp:
    status: "InProgress"
  scaleDown:
    status: "NoCandidates"
nodeGroups:
  - name: "eks-spice-ng"
    health:
      status: "Healthy"
      cloudProviderTarget: 4
      minSize: 1
      maxSize: 20
    scaleUp:
      status: "Backoff"
      backoffInfo:
        errorCode: "QUOTA_EXCEEDED"
        errorMessage: "Quota 'CPUS' exceeded."
    scaleDown:
      status: "CandidatesPresent"
      candidates: 1
"#;
        let s = CaStatus::parse(yaml).expect("yaml");
        assert_eq!(s.format, "yaml");
        assert_eq!(s.scale_up, "InProgress");
        let g = &s.groups[0];
        assert_eq!(
            (g.target, g.min_size, g.max_size),
            (Some(4), Some(1), Some(20))
        );
        assert_eq!(
            g.backoff.as_deref(),
            Some("QUOTA_EXCEEDED: Quota 'CPUS' exceeded.")
        );
        assert_eq!(g.candidates, Some(1));

        let text = "Cluster-autoscaler status at 2023-11-24 04:28:19.546750398 +0000 UTC:\nCluster-wide:\n  Health:      Healthy (ready=3 unready=0 notStarted=0 longNotStarted=0 registered=3 longUnregistered=0)\n  ScaleUp:     NoActivity (ready=3 registered=3)\n  ScaleDown:   NoCandidates (candidates=0)\n\nNodeGroups:\n  Name:        eks-spice-ng\n  Health:      Healthy (ready=3 unready=0 notStarted=0 longNotStarted=0 registered=3 longUnregistered=0 cloudProviderTarget=3 (minSize=1, maxSize=3))\n  ScaleUp:     NoActivity (ready=3 cloudProviderTarget=3)\n  ScaleDown:   CandidatesPresent (candidates=1)\n";
        let s = CaStatus::parse(text).expect("text");
        assert_eq!(s.format, "text");
        assert_eq!(s.health, "Healthy");
        assert_eq!(s.scale_up, "NoActivity");
        let g = &s.groups[0];
        assert_eq!(g.name, "eks-spice-ng");
        assert_eq!((g.target, g.max_size), (Some(3), Some(3)));
        assert_eq!(
            (g.scale_down.as_str(), g.candidates),
            ("CandidatesPresent", Some(1))
        );
        assert!(CaStatus::parse("hello: world").is_none());
        let bomb = format!("autoscalerStatus: {}{}", "[".repeat(5000), "]".repeat(5000));
        assert!(CaStatus::parse(&bomb).is_none());
    }

    #[test]
    fn triggered_scale_up_messages() {
        assert_eq!(
            triggered_scale_ups("pod triggered scale-up: [{eks-spice-ng 3->4 (max: 20)}]"),
            vec![("eks-spice-ng".to_string(), 3, 4, 20)]
        );
        assert_eq!(
            triggered_scale_ups("pod triggered scale-up: [{a 1->2 (max: 3)} {b 5->6 (max: 9)}]")
                .len(),
            2
        );
        assert!(triggered_scale_ups("pod triggered scale-up: []").is_empty());
    }
}
