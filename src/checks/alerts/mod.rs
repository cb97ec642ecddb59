//! Checks of the alerts area: the runbook's two alert rules, evaluated with
//! their flaws corrected (`sum` instead of `count` for Running pods, `and on()`
//! instead of a bare `and`), and the rules Prometheus has loaded, scanned for
//! those flawed forms.

use super::prometheus::{prometheus_command, query_command, samples, value};
use super::sessions::{running_pods, sessions_now};
use super::{Check, CheckId, Ctx, Docs, Outcome, Verdict};
use crate::domain::promql;
use crate::domain::quantity::num;
use crate::domain::snapshot::RuleInfo;

pub(super) mod keda_not_responding;
pub(super) mod pod_session_ratio;

fn rules_command(ctx: &Ctx) -> String {
    prometheus_command(ctx, "/api/v1/rules", &[("type", "alert")])
}

fn rule_name(r: &RuleInfo) -> String {
    if r.group.is_empty() {
        r.name.clone()
    } else {
        format!("{}/{}", r.group, r.name)
    }
}

fn compact(query: &str) -> String {
    query.chars().filter(|c| !c.is_whitespace()).collect()
}

/// A saved snapshot's answer to another expression than the one shipped now
/// (taken by an older plugin) is not evaluated as if it were the shipped rule.
fn other_expression(ctx: &Ctx, key: &str, shipped: &str, alert: &str) -> Option<Verdict> {
    let asked = &ctx.snap.prometheus.get(key)?.query;
    (compact(asked) != compact(shipped)).then(|| {
        Verdict::skip(format!(
            "{alert} not evaluated: the snapshot answers another expression than the rule `kubectl spice alerts` ships (an older plugin's); take a new snapshot"
        ))
    })
}

/// The loaded rules that match `flawed`, or a line saying they were not read.
fn flawed_rules<'a>(
    ctx: &Ctx<'a>,
    flawed: impl Fn(&RuleInfo) -> bool,
) -> (Vec<&'a RuleInfo>, Option<String>) {
    match &ctx.snap.prometheus_rules {
        Some(rules) => (rules.iter().filter(|r| flawed(r)).collect(), None),
        None => (
            Vec::new(),
            ctx.snap
                .gap("prometheus-rules")
                .map(|g| format!("loaded alert rules not read: {}", g.message)),
        ),
    }
}

/// Adds what the rule scan found to the evaluation: a pass (or skip) becomes
/// a warn about the rules; a warn or fail keeps its outcome and gains evidence.
fn with_rules(ctx: &Ctx, v: Verdict, rules: &[&RuleInfo], problem: &str, fix: String) -> Verdict {
    if rules.is_empty() {
        return v;
    }
    let names: Vec<String> = rules.iter().map(|r| rule_name(r)).collect();
    let finding = format!(
        "the loaded rule{} {} {problem}",
        if names.len() == 1 { "" } else { "s" },
        names.join(", ")
    );
    let mut v = match v.outcome {
        Outcome::Warn | Outcome::Fail => v.evidence(finding),
        _ => {
            let mut w = Verdict::warn(finding)
                .fix(fix)
                .command(rules_command(ctx))
                .evidence(format!("the corrected alert now: {}", v.message));
            for e in v.evidence {
                w = w.evidence(e);
            }
            w
        }
    };
    for r in rules {
        v = v.evidence(format!("{}: {}", rule_name(r), r.query));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::checks::testkit::*;

    pub(super) const RUNBOOK_RATIO: &str = r#"abs(sum(rate(nginx_http_requests_total{service="spice-runner-nginx"}[5m])) / count(kube_pod_status_phase{namespace="default",phase="Running",pod=~"spice-runner-.*"}) - 1) > 0.5"#;

    pub(super) const RUNBOOK_KEDA: &str = r#"changes(kube_deployment_status_replicas{deployment="spice-runner"}[10m]) == 0 and rate(nginx_http_requests_total{service="spice-runner-nginx"}[5m]) > 5"#;

    #[test]
    fn healthy_passes() {
        crate::checks::testkit::assert_healthy_passes(crate::checks::Area::Alerts);
    }

    pub(super) fn keda_holds(
        rate: f64,
        running: f64,
        held: f64,
    ) -> crate::domain::snapshot::Snapshot {
        let mut s = healthy();
        set_prom(&mut s, promql::SESSIONS, Some(rate));
        set_prom(&mut s, promql::RUNNING_PODS, Some(running));
        set_prom(&mut s, promql::ALERT_KEDA_NOW, Some(running + 2.0));
        set_prom(&mut s, promql::ALERT_KEDA_FOR, Some(held));
        s
    }
}
