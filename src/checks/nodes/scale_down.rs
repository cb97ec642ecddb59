//! `nodes.scale-down`: Nodes go when sessions end. The check's docs, its evaluation and its
//! unit tests.

use super::*;
use crate::checks::shell_arg;

pub static CHECK: Check = Check {
    id: CheckId::NodesScaleDown,
    title: "Nodes go when sessions end",
    runbook: "Quick Validation Checklist: Nodes scale down when utilization low",
    needs: &[],
    reads: "nodePools (consolidationPolicy, consolidateAfter), nodes, pods (node), \
            prometheus[sessions, sessionsMax5m], apis.karpenter, capturedAt",
    docs: Docs {
        what: "Checks each Karpenter NodePool consolidates (consolidationPolicy WhenEmpty or \
               WhenEmptyOrUnderutilized, the default; consolidateAfter not Never), and, with \
               no sessions, looks for Karpenter nodes with no spice-runner pods that are \
               older than consolidateAfter + 5 minutes.",
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

/// The policies Karpenter v1 knows (Balanced since v1.14), and its default.
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

    // Lingering nodes: only meaningful when there are no sessions.
    let sessions = snap
        .prom_value(promql::SESSIONS_MAX_5M)
        .or_else(|| snap.prom_value(promql::SESSIONS));
    let mut notes = Vec::new();
    match (sessions, &snap.nodes, &snap.pods) {
        (Some(s), Some(nodes), Some(pods)) if s < 0.5 => {
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
            if let Some((n0, _)) = lingering.first() {
                let names: Vec<&str> = lingering.iter().map(|(n, _)| n.name.as_str()).collect();
                return with_evidence(
                    Verdict::warn(format!(
                        "empty nodes lingering: {} Karpenter node(s) with no spice-runner pods \
                         while sessions are {}: {}",
                        lingering.len(),
                        num(s),
                        shorten(&names.join(", "), 200)
                    )),
                    lingering
                        .iter()
                        .map(|(n, _)| node_line(snap, n))
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
        notes,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::checks::Outcome;
    use crate::checks::testkit::{ago, eval, expect, gap, healthy, set_prom};

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
}
