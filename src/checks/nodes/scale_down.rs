//! `nodes.scale-down`: Nodes go when sessions end. The check's docs, its evaluation and its
//! unit tests.

use super::*;
use crate::checks::shell_arg;
use crate::domain::quantity::num;
use crate::domain::text::one_line;

pub static CHECK: Check = Check {
    id: CheckId::NodesScaleDown,
    title: "Nodes go when sessions end",
    runbook: "Quick Validation Checklist: Nodes scale down when utilization low",
    needs: &[],
    reads: "nodePools (consolidationPolicy, consolidateAfter, budgets), nodes, pods (node), \
            events (NodePool/Node/NodeClaim DisruptionBlocked, Unconsolidatable; Node ScaleDown), \
            clusterAutoscaler, prometheus[sessions, sessionsMax5m], apis.karpenter, capturedAt",
    docs: Docs {
        what: "Checks each Karpenter NodePool consolidates (consolidationPolicy WhenEmpty or \
               WhenEmptyOrUnderutilized, the default; consolidateAfter not Never), and, with \
               no sessions, looks for Karpenter nodes with no spice-runner pods that are \
               older than consolidateAfter + 5 minutes; a disruption budget of 0 active now \
               (spec.disruption.budgets, with its cron schedule and duration) that keeps them \
               fails. Without Karpenter, reads Cluster Autoscaler's node events and status.",
        why: "When sessions end, pods go, and the nodes they used should follow; a node that \
              lingers costs money. The plugin sees only the game's pods, so a node may still \
              be held by other workloads.",
        fix: "Set spec.disruption.consolidateAfter to a duration (e.g. 30s) on the NodePool. \
              For lingering nodes, `kubectl describe node` shows why Karpenter keeps them \
              (DisruptionBlocked / Unconsolidatable events: do-not-disrupt annotations, \
              PodDisruptionBudgets, other pods, disruption budgets).",
    },
    source: file!(),
    eval: scale_down,
};

/// The policies Karpenter v1 knows (Balanced since v1.14), and its default
/// (kubernetes-sigs/karpenter v1.14.1 `pkg/apis/v1/nodepool.go`: enum
/// `WhenEmpty;WhenEmptyOrUnderutilized;Balanced`, default
/// `WhenEmptyOrUnderutilized`; budget reasons `Underutilized`, `Empty`,
/// `Drifted`).
const POLICIES: &[&str] = &["WhenEmpty", "WhenEmptyOrUnderutilized", "Balanced"];

const DEFAULT_POLICY: &str = "WhenEmptyOrUnderutilized";

/// The policies of karpenter.sh/v1beta1 (Karpenter before 1.0) and its default
/// (kubernetes-sigs/karpenter v0.35 pkg/apis/v1beta1/nodepool.go).
const V1BETA1_POLICIES: &[&str] = &["WhenEmpty", "WhenUnderutilized"];

const V1BETA1_DEFAULT_POLICY: &str = "WhenUnderutilized";

/// The consolidation policies of the karpenter.sh version the NodePools were
/// read at, its default, and that version's name for messages.
fn policies(snap: &Snapshot) -> (&'static [&'static str], &'static str, String) {
    match snap.apis.karpenter_version.as_deref() {
        Some("v1beta1") => (
            V1BETA1_POLICIES,
            V1BETA1_DEFAULT_POLICY,
            "karpenter.sh/v1beta1 (Karpenter before 1.0)".into(),
        ),
        Some(v) => (POLICIES, DEFAULT_POLICY, format!("karpenter.sh/{v}")),
        None => (POLICIES, DEFAULT_POLICY, "karpenter.sh/v1".into()),
    }
}

pub(super) fn scale_down(ctx: &Ctx) -> Verdict {
    let snap = ctx.snap;
    match karpenter(snap) {
        Some(false) if ca_seen(snap) => return ca::scale_down(ctx),
        Some(false) if snap.gap("cluster-autoscaler-status").is_some() => {
            return ctx.not_read("cluster-autoscaler-status", "Cluster Autoscaler's status");
        }
        Some(false) => return Verdict::skip("Karpenter not installed"),
        None => {
            return snap.gap("nodepools").map_or_else(
                || Verdict::skip("Karpenter's presence is unknown (API discovery failed)"),
                |_| ctx.not_read("nodepools", "Karpenter NodePools"),
            );
        }
        Some(true) => {}
    }
    let Some(pools) = &snap.node_pools else {
        return ctx.not_read("nodepools", "Karpenter NodePools");
    };
    if pools.is_empty() {
        return Verdict::skip("no Karpenter NodePool: Karpenter manages no nodes");
    }

    // Consolidation settings per pool, in the terms of the version read.
    let (known, default_policy, version) = policies(snap);
    let mut after: std::collections::BTreeMap<&str, Option<i64>> = Default::default();
    let mut summary = Vec::new();
    let mut problems = Vec::new();
    for p in pools {
        let policy = p.consolidation_policy.as_deref().unwrap_or(default_policy);
        let ca = p.consolidate_after.as_deref().unwrap_or("0s");
        let secs = if ca.eq_ignore_ascii_case("never") {
            None
        } else {
            parse_duration(ca).ok().map(|d| d.as_secs() as i64)
        };
        after.insert(p.name.as_str(), secs);
        if ca.eq_ignore_ascii_case("never") {
            problems.push((
                p,
                format!(
                    "NodePool {}: consolidation disabled (consolidateAfter: Never)",
                    p.name
                ),
            ));
        } else if !known.contains(&policy) {
            problems.push((
                p,
                format!(
                    "NodePool {}: consolidationPolicy {policy} is not one {version} knows ({})",
                    p.name,
                    known.join(", ")
                ),
            ));
        } else {
            summary.push(format!("NodePool {}: {policy} after {ca}", p.name));
        }
    }
    let disruption_cmd = |p: &NodePoolInfo| {
        format!(
            "kubectl get nodepool {} -o jsonpath='{{.spec.disruption}}'",
            shell_arg(&p.name)
        )
    };
    if let Some((p0, first)) = problems.first() {
        let rest: Vec<String> = problems.iter().skip(1).map(|(_, m)| m.clone()).collect();
        return with_evidence(
            Verdict::warn(first.clone()),
            rest.into_iter().chain(summary),
        )
        .fix(format!(
            "Set spec.disruption.consolidationPolicy to {default_policy} (or WhenEmpty) and \
             consolidateAfter to a duration such as 30s, so nodes go when sessions end \
             (NodePools read as {version})."
        ))
        .command(disruption_cmd(p0));
    }

    // Disruption budgets: which pools' budgets block disrupting empty nodes
    // now, and every scheduled budget's state, as evidence.
    let now = snap.captured_at;
    let mut budget_notes = Vec::new();
    for p in pools {
        for (i, b) in p.budgets.iter().enumerate() {
            let state = match na::budget_state(b, now) {
                na::BudgetState::Always
                    if na::allowed(b, p.nodes.unwrap_or(0).max(1)) == Some(0) =>
                {
                    "active (no schedule): Karpenter disrupts no node".to_string()
                }
                na::BudgetState::Always => continue,
                na::BudgetState::Active { since, until } => format!(
                    "active now (since {}, until {})",
                    short_time(since),
                    short_time(until)
                ),
                na::BudgetState::Inactive => "not active now".to_string(),
                na::BudgetState::Invalid(why) => format!("ignored: {why}"),
            };
            budget_notes.push(format!(
                "NodePool {} spec.disruption.budgets[{i}] ({}): {state}",
                p.name,
                na::budget_text(b)
            ));
        }
    }
    let blocking = |pool: &str| {
        pools.iter().find(|p| p.name == pool).and_then(|p| {
            na::blocking_budget(p, "Empty", p.nodes.unwrap_or(0), now).map(|b| (p, b))
        })
    };

    // Lingering nodes: only meaningful when there are no sessions.
    let sessions = snap
        .prom_value(promql::SESSIONS_MAX_5M)
        .or_else(|| snap.prom_value(promql::SESSIONS));
    let mut notes = Vec::new();
    match (sessions, &snap.nodes, &snap.pods) {
        (Some(s), Some(nodes), Some(pods)) if s < 0.5 || ctx.figures.idle.no_sessions(s) => {
            let idle_text = if s < 0.001 {
                "sessions are 0".to_string()
            } else {
                format!("there are {}", ctx.figures.idle.sessions_text(s))
            };
            let lingering: Vec<(&NodeInfo, i64)> = nodes
                .iter()
                .filter_map(|n| {
                    let pool = n.node_pool.as_deref()?;
                    let grace = after.get(pool).copied().flatten().unwrap_or(0) + LINGER_SLACK_SECS;
                    let a = age(snap, n.created?);
                    let has_game_pod = pods
                        .iter()
                        .any(|p| p.node.as_deref() == Some(n.name.as_str()));
                    (!has_game_pod && a > grace).then_some((n, a))
                })
                .collect();
            // Nodes another workload holds are not empty to Karpenter either.
            let (held, lingering) = split_held(snap, lingering);
            if lingering.is_empty() && !held.is_empty() {
                return with_evidence(
                    Verdict::pass(format!(
                        "{} (read as {version}); {} {} without spice-runner pods kept by other workloads' pods",
                        summary.join("; "),
                        held.len(),
                        if held.len() == 1 { "node" } else { "nodes" }
                    )),
                    held.into_iter().chain(budget_notes),
                );
            }
            notes.extend(held);
            let blocked = lingering
                .iter()
                .find_map(|(n, _)| n.node_pool.as_deref().and_then(blocking).map(|b| (*n, b)));
            if let Some((n0, (pool, (i, budget, state)))) = blocked {
                let names: Vec<&str> = lingering.iter().map(|(n, _)| n.name.as_str()).collect();
                let when = match state {
                    na::BudgetState::Active { until, .. } => {
                        format!("active now, until {}", short_time(until))
                    }
                    _ => "active at all times (no schedule)".to_string(),
                };
                let mut evidence: Vec<String> =
                    lingering.iter().map(|(n, _)| node_line(snap, n)).collect();
                evidence.extend(karpenter_events(snap, pool, &names));
                evidence.extend(budget_notes);
                evidence.extend(summary);
                return with_evidence(
                    Verdict::fail(format!(
                        "consolidation blocked: NodePool {}'s disruption budget \
                         spec.disruption.budgets[{i}] ({}) is {when} and allows 0 nodes, so {} \
                         empty Karpenter node(s) stay while {}: {}",
                        pool.name,
                        na::budget_text(budget),
                        lingering.len(),
                        idle_text,
                        shorten(&names.join(", "), 200)
                    )),
                    evidence,
                )
                .fix(format!(
                    "Karpenter disrupts no node of NodePool {} while spec.disruption.budgets[{i}] \
                     allows 0. If empty nodes should go at this time, change that budget: a \
                     non-zero nodes (e.g. \"10%\"), a schedule/duration that leaves this time out, \
                     or reasons: [Underutilized, Drifted] so that Empty nodes still go.",
                    pool.name
                ))
                .command(format!(
                    "kubectl get nodepool {} -o jsonpath='{{.spec.disruption.budgets}}'",
                    shell_arg(&pool.name)
                ))
                .evidence(format!("first empty node: {}", n0.name));
            }
            if let Some((n0, _)) = lingering.first() {
                let names: Vec<&str> = lingering.iter().map(|(n, _)| n.name.as_str()).collect();
                let pool = pools
                    .iter()
                    .find(|p| n0.node_pool.as_deref() == Some(p.name.as_str()));
                let quoted = pool
                    .map(|p| karpenter_events(snap, p, &names))
                    .unwrap_or_default();
                return with_evidence(
                    Verdict::warn(format!(
                        "empty nodes lingering: {} Karpenter node(s) with no spice-runner pods \
                         while {}: {}",
                        lingering.len(),
                        idle_text,
                        shorten(&names.join(", "), 200)
                    )),
                    lingering
                        .iter()
                        .map(|(n, _)| node_line(snap, n))
                        .chain(quoted)
                        .chain(notes)
                        .chain(budget_notes)
                        .chain(summary),
                )
                .fix(
                    "Karpenter removes a node consolidateAfter after it is empty or \
                     underutilized. If these stay, other pods hold them (the plugin sees only \
                     spice-runner pods) or disruption is blocked: karpenter.sh/do-not-disrupt \
                     annotations, PodDisruptionBudgets, NodePool disruption budgets. The node's \
                     DisruptionBlocked/Unconsolidatable events say which.",
                )
                .command(format!("kubectl describe node {}", shell_arg(&n0.name)));
            }
        }
        (Some(_), Some(_), Some(_)) => {}
        (None, _, _) => notes.push(
            "sessions unknown (Prometheus not read): lingering empty nodes not looked for".into(),
        ),
        _ => notes.push("nodes or pods not read: lingering empty nodes not looked for".into()),
    }
    with_evidence(
        Verdict::pass(format!("{} (read as {version})", summary.join("; "))),
        budget_notes.into_iter().chain(notes),
    )
}

/// Lingering candidates that other pods hold, by kube-state-metrics
/// (`promql::node_reschedulable_pods`): one evidence line each, and the rest,
/// which are empty as far as anything read can tell. When that answer is
/// missing, every candidate stays, with a line saying other workloads were
/// not read.
fn split_held<'a>(
    snap: &Snapshot,
    lingering: Vec<(&'a NodeInfo, i64)>,
) -> (Vec<String>, Vec<(&'a NodeInfo, i64)>) {
    if lingering.is_empty() {
        return (Vec::new(), lingering);
    }
    let Some(samples) = snap
        .prometheus
        .get(promql::NODE_HELD_PODS)
        .and_then(|a| a.samples.as_ref())
    else {
        return (
            vec![
                "other workloads' pods on these nodes not read (kube-state-metrics kube_pod_info unanswered): a pod of another workload keeps a node".into(),
            ],
            lingering,
        );
    };
    let held_by = |node: &str| {
        samples
            .iter()
            .filter(|s| s.labels.get("node").map(String::as_str) == Some(node))
            .map(|s| s.value)
            .sum::<f64>()
    };
    let mut notes = Vec::new();
    let mut empty = Vec::new();
    for (n, a) in lingering {
        let pods = held_by(&n.name);
        if pods >= 0.5 {
            notes.push(format!(
                "{}: no spice-runner pods, but {} other {} (not DaemonSet, not static) keep it: Karpenter removes only empty or underutilized nodes",
                one_line(&n.name),
                num(pods),
                if pods < 1.5 { "pod" } else { "pods" }
            ));
        } else {
            empty.push((n, a));
        }
    }
    (notes, empty)
}

/// `09:00 UTC` (today) or `2026-12-07 09:00 UTC`: when a budget window turns.
fn short_time(t: jiff::Timestamp) -> String {
    let dt = t.to_zoned(jiff::tz::TimeZone::UTC).datetime();
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute()
    )
}

/// Karpenter's own words on why it keeps nodes: Normal DisruptionBlocked on
/// the NodePool ("No allowed disruptions for disruption reason Empty due to
/// blocking budget") and Unconsolidatable / DisruptionBlocked on the Nodes
/// and their NodeClaims (kubernetes-sigs/karpenter v1.6, unchanged in
/// v1.14.1: `pkg/controllers/disruption/events/events.go`, reasons in
/// `pkg/events/reason.go`), all in `default`.
fn karpenter_events(snap: &Snapshot, pool: &NodePoolInfo, nodes: &[&str]) -> Vec<String> {
    const REASONS: &[&str] = &["DisruptionBlocked", "Unconsolidatable"];
    let mut out: Vec<String> = events_for(snap, "NodePool", &pool.name)
        .into_iter()
        .filter(|e| REASONS.contains(&e.reason.as_str()))
        .take(3)
        .map(|e| format!("nodepool/{}: {}", pool.name, quote_event(snap, e)))
        .collect();
    let claims: Vec<&str> = snap
        .node_claims
        .iter()
        .flatten()
        .filter(|c| c.node_name.as_deref().is_some_and(|n| nodes.contains(&n)))
        .map(|c| c.name.as_str())
        .collect();
    for (kind, names) in [("Node", nodes.to_vec()), ("NodeClaim", claims)] {
        for name in names.iter().take(5) {
            out.extend(
                events_for(snap, kind, name)
                    .into_iter()
                    .filter(|e| REASONS.contains(&e.reason.as_str()))
                    .take(2)
                    .map(|e| format!("{}/{name}: {}", kind.to_lowercase(), quote_event(snap, e))),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::checks::Outcome;
    use crate::checks::testkit::{ago, eval, expect, gap, healthy, set_prom, set_prom_error};
    use crate::domain::snapshot::Sample;
    use std::collections::BTreeMap;

    #[test]
    fn karpenter_v1beta1_policies_are_judged_in_their_own_terms() {
        let mut s = healthy();
        s.apis.karpenter_version = Some("v1beta1".into());
        let pool = &mut s.node_pools.as_mut().unwrap()[0];
        pool.consolidation_policy = Some("WhenUnderutilized".into());
        pool.consolidate_after = None;
        expect(
            &eval(scale_down, &s),
            Outcome::Pass,
            "NodePool default: WhenUnderutilized after 0s (read as karpenter.sh/v1beta1 (Karpenter before 1.0))",
        );
        // The same policy read through v1 is one v1 does not know.
        s.apis.karpenter_version = Some("v1".into());
        expect(
            &eval(scale_down, &s),
            Outcome::Warn,
            "consolidationPolicy WhenUnderutilized is not one karpenter.sh/v1 knows",
        );
        // v1beta1's default policy applies when the field is unset.
        s.apis.karpenter_version = Some("v1beta1".into());
        s.node_pools.as_mut().unwrap()[0].consolidation_policy = None;
        expect(&eval(scale_down, &s), Outcome::Pass, "WhenUnderutilized");
    }

    #[test]
    fn scale_down_skips_without_karpenter() {
        let mut s = healthy();
        s.apis.karpenter = Some(false);
        s.node_pools = None;
        expect(
            &eval(scale_down, &s),
            Outcome::Skip,
            "Karpenter not installed",
        );

        let mut s = healthy();
        s.apis.karpenter = None;
        s.node_pools = None;
        gap(
            &mut s,
            "nodepools",
            GapReason::NotInstalled,
            "no such resource",
        );
        expect(
            &eval(scale_down, &s),
            Outcome::Skip,
            "Karpenter not installed",
        );

        let mut s = healthy();
        s.node_pools = None;
        gap(
            &mut s,
            "nodepools",
            GapReason::Forbidden,
            "cannot list nodepools",
        );
        expect(
            &eval(scale_down, &s),
            Outcome::Error,
            "cannot list nodepools",
        );
    }

    #[test]
    fn scale_down_policy_outcomes() {
        let mut s = healthy();
        let pool = &mut s.node_pools.as_mut().unwrap()[0];
        pool.consolidation_policy = None;
        pool.consolidate_after = None;
        expect(
            &eval(scale_down, &s),
            Outcome::Pass,
            "WhenEmptyOrUnderutilized after 0s",
        );

        s.node_pools.as_mut().unwrap()[0].consolidate_after = Some("Never".into());
        let v = eval(scale_down, &s);
        expect(&v, Outcome::Warn, "consolidation disabled");
        assert_eq!(
            v.command.as_deref(),
            Some("kubectl get nodepool default -o jsonpath='{.spec.disruption}'")
        );

        let pool = &mut s.node_pools.as_mut().unwrap()[0];
        pool.consolidate_after = Some("1m".into());
        pool.consolidation_policy = Some("WhenUnderutilized".into());
        expect(&eval(scale_down, &s), Outcome::Warn, "WhenUnderutilized");

        s.node_pools = Some(vec![]);
        expect(
            &eval(scale_down, &s),
            Outcome::Skip,
            "no Karpenter NodePool",
        );
    }

    #[test]
    fn scale_down_warns_on_lingering_empty_nodes() {
        let mut s = healthy();
        s.pods = Some(vec![]);
        set_prom(&mut s, promql::SESSIONS, Some(0.0));
        set_prom(&mut s, promql::SESSIONS_MAX_5M, Some(0.0));
        let v = eval(scale_down, &s);
        expect(
            &v,
            Outcome::Warn,
            "empty nodes lingering: 2 Karpenter node(s)",
        );
        assert!(v.message.contains("no spice-runner pods"));
        assert_eq!(v.command.as_deref(), Some("kubectl describe node node-a"));

        // Young nodes are within consolidateAfter + 5 min.
        for n in s.nodes.as_mut().unwrap() {
            n.created = Some(ago(200));
        }
        expect(&eval(scale_down, &s), Outcome::Pass, "NodePool default");

        // With sessions, empty nodes are not judged.
        let mut s = healthy();
        s.pods = Some(vec![]);
        expect(&eval(scale_down, &s), Outcome::Pass, "NodePool default");

        // Sessions unknown: noted.
        s.prometheus.clear();
        let v = eval(scale_down, &s);
        expect(&v, Outcome::Pass, "NodePool default");
        assert!(v.evidence[0].contains("sessions unknown"));
    }

    /// A node Karpenter keeps because another workload's pod runs on it is
    /// not lingering: only a node with nothing but DaemonSet or static pods
    /// (or nothing) is, as Karpenter's `IsReschedulable` counts them.
    #[test]
    fn nodes_other_workloads_hold_are_not_lingering_and_unread_holders_are_said() {
        let mut s = healthy();
        s.pods = Some(vec![]);
        set_prom(&mut s, promql::SESSIONS, Some(0.0));
        set_prom(&mut s, promql::SESSIONS_MAX_5M, Some(0.0));
        let names: Vec<String> = s
            .nodes
            .as_ref()
            .unwrap()
            .iter()
            .map(|n| n.name.clone())
            .collect();
        assert!(names.len() >= 2, "{names:?}");
        let held = |node: &str, pods: f64| Sample {
            labels: BTreeMap::from([("node".to_string(), node.to_string())]),
            value: pods,
            timestamp: 0.0,
        };

        // Both held by other pods (e.g. a Prometheus StatefulSet's pod).
        set_prom(&mut s, promql::NODE_HELD_PODS, None);
        s.prometheus
            .get_mut(promql::NODE_HELD_PODS)
            .unwrap()
            .samples = Some(names.iter().map(|n| held(n, 2.0)).collect());
        let v = eval(scale_down, &s);
        expect(&v, Outcome::Pass, "NodePool default");
        assert!(
            v.evidence.iter().any(|l| l.contains(&names[0])
                && l.contains("2 other pods (not DaemonSet, not static) keep it")),
            "{v:#?}"
        );

        // One held, the other with nothing Karpenter counts: that one lingers.
        s.prometheus
            .get_mut(promql::NODE_HELD_PODS)
            .unwrap()
            .samples = Some(vec![held(&names[0], 1.0)]);
        let v = eval(scale_down, &s);
        expect(
            &v,
            Outcome::Warn,
            "empty nodes lingering: 1 Karpenter node(s)",
        );
        assert!(
            v.message.contains(&names[1]) && !v.message.contains(&names[0]),
            "{v:#?}"
        );
        assert!(
            v.evidence.iter().any(|l| l.contains("1 other pod ")),
            "{v:#?}"
        );

        // Prometheus did not answer that query: still a warning, and it says
        // what was not read.
        set_prom_error(&mut s, promql::NODE_HELD_PODS, "query timed out");
        let v = eval(scale_down, &s);
        expect(
            &v,
            Outcome::Warn,
            "empty nodes lingering: 2 Karpenter node(s)",
        );
        assert!(
            v.evidence
                .iter()
                .any(|l| l.contains("other workloads' pods on these nodes not read")),
            "{v:#?}"
        );
    }

    #[test]
    fn a_zero_budget_active_now_with_empty_nodes_fails_naming_the_budget() {
        let mut s = healthy();
        s.pods = Some(vec![]);
        set_prom(&mut s, promql::SESSIONS, Some(0.0));
        set_prom(&mut s, promql::SESSIONS_MAX_5M, Some(0.0));
        s.node_pools.as_mut().unwrap()[0].budgets = vec![crate::domain::snapshot::BudgetInfo {
            nodes: "0".into(),
            schedule: None,
            duration: None,
            reasons: vec![],
        }];
        let mut e = crate::checks::testkit::event(
            "NodePool",
            "default",
            "Normal",
            "DisruptionBlocked",
            "No allowed disruptions for disruption reason Empty due to blocking budget",
            20,
        );
        e.source = Some("karpenter".into());
        s.events = Some(vec![e]);
        let v = eval(scale_down, &s);
        expect(
            &v,
            Outcome::Fail,
            "consolidation blocked: NodePool default's disruption budget spec.disruption.budgets[0] (nodes: \"0\")",
        );
        assert!(
            v.evidence.iter().any(|l| l.contains("DisruptionBlocked")),
            "{v:#?}"
        );
        assert!(
            v.fix
                .unwrap_or_default()
                .contains("spec.disruption.budgets[0]")
        );

        // Scheduled outside the current time: not active, the usual warn.
        s.node_pools.as_mut().unwrap()[0].budgets[0].schedule = Some("@yearly".into());
        s.node_pools.as_mut().unwrap()[0].budgets[0].duration = Some("1h".into());
        let v = eval(scale_down, &s);
        expect(&v, Outcome::Warn, "empty nodes lingering");
        assert!(
            v.evidence.iter().any(|l| l.contains("not active now")),
            "{v:#?}"
        );
    }

    #[test]
    fn lingering_nodes_quote_unconsolidatable_on_the_node_and_its_nodeclaim() {
        let mut s = healthy();
        s.pods = Some(vec![]);
        set_prom(&mut s, promql::SESSIONS, Some(0.0));
        set_prom(&mut s, promql::SESSIONS_MAX_5M, Some(0.0));
        let node = s.nodes.as_ref().unwrap()[0].name.clone();
        let mut claim = crate::checks::testkit::node_claim("default-4kq9z", 9000, true);
        claim.node_name = Some(node.clone());
        s.node_claims = Some(vec![claim]);
        // karpenter v1.6 pkg/controllers/disruption/events/events.go Unconsolidatable:
        // the same message on the Node and on its NodeClaim.
        let msg = "pdb default/spice-runner-nginx prevents pod evictions";
        let on_node =
            crate::checks::testkit::event("Node", &node, "Normal", "Unconsolidatable", msg, 60);
        let on_claim = crate::checks::testkit::event(
            "NodeClaim",
            "default-4kq9z",
            "Normal",
            "Unconsolidatable",
            msg,
            60,
        );
        s.events = Some(vec![on_node, on_claim]);
        let v = eval(scale_down, &s);
        expect(&v, Outcome::Warn, "empty nodes lingering");
        assert!(
            v.evidence
                .iter()
                .any(|l| l.starts_with(&format!("node/{node}: Normal Unconsolidatable"))),
            "{v:#?}"
        );
        assert!(
            v.evidence
                .iter()
                .any(|l| l.starts_with("nodeclaim/default-4kq9z: Normal Unconsolidatable")),
            "{v:#?}"
        );
    }
}
