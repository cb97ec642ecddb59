//! The runbook's checks as pure functions of a Snapshot and the Settings.
//!
//! Every check is registered once in `REGISTRY`, in the runbook's chain order
//! (traffic → Prometheus → KEDA → HPA → pods → nodes → sessions → Loki →
//! alerts), with its docs and the ids it `needs`. `run` evaluates them in that
//! order; a check whose need failed is reported as `skip` ("blocked by …")
//! instead of piling a second, misleading failure on the first. No network, no
//! clock (ages come from `snapshot.captured_at`), no printing here.

pub mod alerts;
pub mod hpa;
pub mod keda;
pub mod loki;
pub mod nodes;
pub mod pods;
pub mod prometheus;
pub mod sessions;

use crate::settings::Settings;
use crate::snapshot::Snapshot;
use serde::Serialize;

/// The areas of the report, in display order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Area {
    Keda,
    Hpa,
    Pods,
    Prometheus,
    Sessions,
    Nodes,
    Loki,
    Alerts,
}

impl Area {
    pub fn title(self) -> &'static str {
        match self {
            Area::Keda => "KEDA",
            Area::Hpa => "HPA",
            Area::Pods => "Pods",
            Area::Prometheus => "Prometheus",
            Area::Sessions => "Sessions",
            Area::Nodes => "Nodes",
            Area::Loki => "Loki",
            Area::Alerts => "Alerts",
        }
    }
    pub const ALL: [Area; 8] = [
        Area::Keda,
        Area::Hpa,
        Area::Pods,
        Area::Prometheus,
        Area::Sessions,
        Area::Nodes,
        Area::Loki,
        Area::Alerts,
    ];
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Outcome {
    Pass,
    Warn,
    Fail,
    /// Not evaluated: blocked by a failed need, silenced, or not applicable.
    Skip,
    /// Could not look: the data it needs could not be read (forbidden, source down).
    Error,
}

impl Outcome {
    pub fn word(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Warn => "warn",
            Outcome::Fail => "fail",
            Outcome::Skip => "skip",
            Outcome::Error => "error",
        }
    }
    pub fn mark(self) -> &'static str {
        match self {
            Outcome::Pass => "✓",
            Outcome::Warn => "!",
            Outcome::Fail => "✗",
            Outcome::Skip => "–",
            Outcome::Error => "?",
        }
    }
}

/// What a check says, before the runner adds its identity.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub outcome: Outcome,
    /// One line with the observed values.
    pub message: String,
    /// Quoted facts behind the message (log lines, events, arithmetic).
    pub evidence: Vec<String>,
    /// For warn/fail: what to change.
    pub fix: Option<String>,
    /// For warn/fail: the exact read-only command to look closer.
    pub command: Option<String>,
}

impl Verdict {
    fn new(outcome: Outcome, message: impl Into<String>) -> Verdict {
        Verdict {
            outcome,
            message: message.into(),
            evidence: Vec::new(),
            fix: None,
            command: None,
        }
    }
    pub fn pass(message: impl Into<String>) -> Verdict {
        Verdict::new(Outcome::Pass, message)
    }
    pub fn warn(message: impl Into<String>) -> Verdict {
        Verdict::new(Outcome::Warn, message)
    }
    pub fn fail(message: impl Into<String>) -> Verdict {
        Verdict::new(Outcome::Fail, message)
    }
    pub fn skip(message: impl Into<String>) -> Verdict {
        Verdict::new(Outcome::Skip, message)
    }
    pub fn error(message: impl Into<String>) -> Verdict {
        Verdict::new(Outcome::Error, message)
    }
    pub fn evidence(mut self, line: impl Into<String>) -> Verdict {
        self.evidence.push(line.into());
        self
    }
    pub fn fix(mut self, fix: impl Into<String>) -> Verdict {
        self.fix = Some(fix.into());
        self
    }
    pub fn command(mut self, command: impl Into<String>) -> Verdict {
        self.command = Some(command.into());
        self
    }
}

/// What a check's evaluate function sees.
pub struct Ctx<'a> {
    pub snap: &'a Snapshot,
    pub settings: &'a Settings,
}

impl Ctx<'_> {
    /// The `error` verdict for a source that could not be read, with its reason
    /// and hint, or `None` when the source has no gap.
    pub fn gap_verdict(&self, source: &str) -> Option<Verdict> {
        let g = self.snap.gap(source)?;
        let v = Verdict::error(format!(
            "could not read {source}: {} ({})",
            g.message, g.reason
        ));
        Some(if g.hint.is_empty() {
            v
        } else {
            v.fix(g.hint.clone())
        })
    }

    /// `-n <namespace>` for commands.
    pub fn ns(&self) -> &str {
        &self.settings.namespace
    }
}

/// Docs of a check: what it looks at, why, and how to fix what it finds.
#[derive(Debug, Clone, Copy)]
pub struct Docs {
    pub what: &'static str,
    pub why: &'static str,
    pub fix: &'static str,
}

/// A registered check.
pub struct Check {
    pub id: &'static str,
    pub area: Area,
    pub title: &'static str,
    /// The runbook section it automates.
    pub runbook: &'static str,
    /// Ids whose failure blocks this check.
    pub needs: &'static [&'static str],
    /// What it reads from the Snapshot.
    pub reads: &'static str,
    pub docs: Docs,
    pub eval: fn(&Ctx) -> Verdict,
}

/// Every check, in the runbook's chain order. Each area module lists its own.
pub fn registry() -> Vec<&'static Check> {
    let mut all: Vec<&'static Check> = Vec::new();
    all.extend(prometheus::CHECKS.iter());
    all.extend(keda::CHECKS.iter());
    all.extend(hpa::CHECKS.iter());
    all.extend(pods::CHECKS.iter());
    all.extend(nodes::CHECKS.iter());
    all.extend(sessions::CHECKS.iter());
    all.extend(loki::CHECKS.iter());
    all.extend(alerts::CHECKS.iter());
    all
}

pub fn find(id: &str) -> Option<&'static Check> {
    registry().into_iter().find(|c| c.id == id)
}

/// A check's result in the report.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    pub id: String,
    pub area: Area,
    pub title: String,
    pub outcome: Outcome,
    pub message: String,
    pub evidence: Vec<String>,
    pub remediation: Option<Remediation>,
    pub needs: Vec<String>,
    pub blocked_by: Option<String>,
    pub runbook: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Remediation {
    pub fix: Option<String>,
    pub command: Option<String>,
}

/// Which checks to run and how.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Ids or globs (`keda.*`); empty = all.
    pub only: Vec<String>,
    pub skip: Vec<String>,
    /// Silenced by the config file: shown as skipped with this reason.
    pub silenced: Vec<String>,
    /// Run only these ids, in this order (a `--symptom` chain).
    pub chain: Option<Vec<&'static str>>,
}

/// `keda.*` matches `keda.ready`; `*` matches everything; otherwise exact.
pub fn glob_match(pattern: &str, id: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == id,
        Some((prefix, suffix)) => {
            id.len() >= prefix.len() + suffix.len()
                && id.starts_with(prefix)
                && id.ends_with(suffix)
        }
    }
}

/// Runs the selected checks in chain order, resolving `needs` into skips.
pub fn run(snap: &Snapshot, settings: &Settings, sel: &Selection) -> Vec<Finding> {
    let ctx = Ctx { snap, settings };
    let registry = registry();
    let order: Vec<&'static Check> = match &sel.chain {
        Some(ids) => ids
            .iter()
            .filter_map(|id| registry.iter().find(|c| c.id == *id).copied())
            .collect(),
        None => registry.clone(),
    };
    let mut findings: Vec<Finding> = Vec::with_capacity(order.len());
    // Outcomes of every check, including those not shown, so `needs` resolve
    // even when --only hides the need.
    let mut outcomes: std::collections::BTreeMap<&'static str, (Outcome, Option<String>)> =
        Default::default();
    // A check is blocked by a need that failed, or by whatever failure blocked
    // that need: the whole chain below a failed link reports the same root. A
    // need that could not look (error) blocks only its direct dependents, so
    // checks further down that read other sources still run (fail forward).
    let blocker =
        |check: &Check,
         outcomes: &std::collections::BTreeMap<&'static str, (Outcome, Option<String>)>| {
            check.needs.iter().find_map(|n| match outcomes.get(*n) {
                Some((Outcome::Fail, _)) | Some((Outcome::Error, _)) => Some(n.to_string()),
                Some((_, Some(root)))
                    if outcomes
                        .get(root.as_str())
                        .is_some_and(|(o, _)| *o == Outcome::Fail) =>
                {
                    Some(root.clone())
                }
                _ => None,
            })
        };
    for check in registry.iter().copied().chain(order.iter().copied()) {
        if outcomes.contains_key(check.id) {
            continue;
        }
        let blocked = blocker(check, &outcomes);
        let outcome = if blocked.is_some() {
            Outcome::Skip
        } else {
            (check.eval)(&ctx).outcome
        };
        outcomes.insert(check.id, (outcome, blocked));
    }
    for check in order {
        let selected = (sel.only.is_empty() || sel.only.iter().any(|p| glob_match(p, check.id)))
            && !sel.skip.iter().any(|p| glob_match(p, check.id));
        if !selected {
            continue;
        }
        let blocked_by = outcomes.get(check.id).and_then(|(_, b)| b.clone());
        let verdict = if sel.silenced.iter().any(|p| glob_match(p, check.id)) {
            Verdict::skip("silenced in the config file")
        } else if let Some(b) = &blocked_by {
            if outcomes
                .get(b.as_str())
                .is_some_and(|(o, _)| *o == Outcome::Error)
            {
                Verdict::skip(format!("blocked by {b} (could not look)"))
            } else {
                Verdict::skip(format!("blocked by {b}"))
            }
        } else {
            (check.eval)(&ctx)
        };
        let remediation = match (&verdict.fix, &verdict.command) {
            (None, None) => None,
            (fix, command) => Some(Remediation {
                fix: fix.clone(),
                command: command.clone(),
            }),
        };
        findings.push(Finding {
            id: check.id.to_string(),
            area: check.area,
            title: check.title.to_string(),
            outcome: verdict.outcome,
            message: verdict.message,
            evidence: verdict.evidence,
            remediation,
            needs: check.needs.iter().map(|s| s.to_string()).collect(),
            blocked_by,
            runbook: check.runbook.to_string(),
        });
    }
    findings
}

/// The first failing link of the chain: the first `fail` in chain order that
/// nothing blocked.
pub fn root_cause(findings: &[Finding]) -> Option<&Finding> {
    findings
        .iter()
        .find(|f| f.outcome == Outcome::Fail && f.blocked_by.is_none())
}

/// The runbook's troubleshooting trees, in its order.
pub fn symptom_chain(symptom: &str) -> Option<Vec<&'static str>> {
    Some(match symptom {
        // A paused ScaledObject makes every later link moot, so it is asked first.
        "no-scale-up" => vec![
            "keda.paused",
            "sessions.traffic",
            "prometheus.reachable",
            "prometheus.nginx-metric",
            "keda.scaledobject",
            "keda.ready",
            "keda.trigger",
            "keda.operator-logs",
            "keda.active",
            "hpa.metric",
            "pods.pending",
            "nodes.scale-up",
        ],
        "no-scale-down" => vec!["sessions.traffic", "keda.cooldown", "loki.zombies"],
        "too-fast" => vec!["keda.polling-interval", "keda.cooldown", "hpa.conditions"],
        "too-slow" => vec![
            "keda.activation-threshold",
            "keda.polling-interval",
            "pods.startup",
            "pods.pending",
            "nodes.scale-up",
        ],
        _ => return None,
    })
}

#[cfg(test)]
pub mod testkit;

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn every_check_is_registered_once_with_docs_and_known_needs() {
        let all = registry();
        let ids: BTreeSet<&str> = all.iter().map(|c| c.id).collect();
        assert_eq!(ids.len(), all.len(), "duplicate check ids");
        for c in &all {
            let (area, _) = c.id.split_once('.').expect("ids are area.problem");
            assert_eq!(
                area.to_ascii_lowercase(),
                format!("{:?}", c.area).to_ascii_lowercase(),
                "{}",
                c.id
            );
            assert!(
                !c.title.is_empty() && !c.runbook.is_empty() && !c.reads.is_empty(),
                "{}",
                c.id
            );
            assert!(
                !c.docs.what.is_empty() && !c.docs.why.is_empty() && !c.docs.fix.is_empty(),
                "{}",
                c.id
            );
            for n in c.needs {
                assert!(ids.contains(n), "{} needs unknown {n}", c.id);
                let pos_need = all.iter().position(|x| x.id == *n).expect("need");
                let pos = all.iter().position(|x| x.id == c.id).expect("self");
                assert!(
                    pos_need < pos,
                    "{} needs {n}, which must come earlier in chain order",
                    c.id
                );
            }
        }
    }

    #[test]
    fn the_issue_s_check_ids_all_exist() {
        for id in [
            "keda.installed",
            "keda.scaledobject",
            "keda.ready",
            "keda.active",
            "keda.paused",
            "keda.fallback",
            "keda.min-replicas",
            "keda.max-replicas",
            "keda.trigger",
            "keda.activation-threshold",
            "keda.polling-interval",
            "keda.cooldown",
            "keda.operator",
            "keda.operator-logs",
            "keda.events",
            "hpa.exists",
            "hpa.conditions",
            "hpa.metric",
            "pods.crashloop",
            "pods.pending",
            "pods.success-rate",
            "pods.startup",
            "pods.sidecar",
            "prometheus.reachable",
            "prometheus.nginx-metric",
            "prometheus.kube-state-metrics",
            "sessions.ratio",
            "sessions.traffic",
            "nodes.ready",
            "nodes.scale-up",
            "nodes.scale-down",
            "loki.reachable",
            "loki.heartbeats",
            "loki.zombies",
            "alerts.pod-session-ratio",
            "alerts.keda-not-responding",
        ] {
            assert!(find(id).is_some(), "{id} is not registered");
        }
        for s in ["no-scale-up", "no-scale-down", "too-fast", "too-slow"] {
            for id in symptom_chain(s).expect("chain") {
                assert!(find(id).is_some(), "chain {s}: {id}");
            }
        }
    }

    #[test]
    fn globs_match_areas() {
        assert!(glob_match("keda.*", "keda.ready"));
        assert!(!glob_match("keda.*", "hpa.exists"));
        assert!(glob_match("*", "hpa.exists"));
        assert!(glob_match("pods.pending", "pods.pending"));
        assert!(!glob_match("pods.pend", "pods.pending"));
    }
}
