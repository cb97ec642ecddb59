//! Checks of the nodes area: node health, and whether Karpenter adds nodes
//! for Pending game pods and removes them when sessions end. The plugin only
//! lists the game's pods, so "empty" here means "no spice-runner pods".

use super::pods::{
    age, events_for, is_pending, not_read, pod_age, quote_event, shorten, why_pending,
    with_evidence,
};
use super::{Area, Check, Ctx, Docs, Verdict};
use crate::cluster::promql;
use crate::report::{human_duration, num};
use crate::settings::parse_duration;
use crate::snapshot::{GapReason, NodeClaimInfo, NodeInfo, NodePoolInfo, PodInfo, Snapshot};

pub static CHECKS: &[Check] = &[
    Check {
        id: "nodes.ready",
        area: Area::Nodes,
        title: "Nodes Ready",
        runbook: "Kubectl Monitoring Commands: Watch Pods and Nodes Together",
        needs: &[],
        reads: "nodes (ready, unschedulable, created, nodePool), capturedAt",
        docs: Docs {
            what: "Checks that every node is Ready and schedulable. Karpenter nodes younger than \
                   2 minutes that are not Ready yet are reported as still registering.",
            why: "Pods on a NotReady node serve no sessions and new pods cannot land there; a \
                  cordoned node takes no new pods, so scale-ups need other capacity.",
            fix: "`kubectl describe node` shows the failing condition (kubelet not posting \
                  status, network plugin, pressure). Fix the node, or cordon, drain and delete \
                  it. Uncordon nodes whose maintenance is over.",
        },
        eval: ready,
    },
    Check {
        id: "nodes.scale-up",
        area: Area::Nodes,
        title: "Nodes come for Pending pods",
        runbook: "Quick Validation Checklist: Nodes scale up when pods pending",
        needs: &[],
        reads: "pods (phase, scheduled), events (Pod Nominated/FailedScheduling, NodePool), \
                nodeClaims, nodePools, apis.karpenter, capturedAt",
        docs: Docs {
            what: "For game pods the scheduler marked Unschedulable, looks for a node on the way: \
                   Karpenter's Nominated event on the pod, or a NodeClaim not yet initialized \
                   that was created after the pod.",
            why: "Pod-per-session means a scale-up often needs a new node. If Karpenter creates \
                  no NodeClaim, the pods stay Pending for good; a NodeClaim that does not \
                  register within a few minutes points at the cloud side (Karpenter gives up \
                  after 15 minutes).",
            fix: "No NodeClaim: check the NodePool's limits (spec.limits vs status.resources), \
                  its requirements and taints against the pod's requests, nodeSelector and \
                  tolerations, NoCompatibleInstanceTypes events and the Karpenter controller \
                  logs. A slow NodeClaim: `kubectl describe nodeclaim` (Launched/Registered \
                  conditions).",
        },
        eval: scale_up,
    },
    Check {
        id: "nodes.scale-down",
        area: Area::Nodes,
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
        eval: scale_down,
    },
];

// ---------------------------------------------------------------------------
// Karpenter helpers, shared with pods.pending.

/// A node on its way for a Pending pod.
pub(super) struct Coming {
    /// `nodeclaim/NAME` or `node/NAME`.
    pub target: String,
    /// How it was found: "nominated" (event) or "launching" (NodeClaim).
    pub via: &'static str,
    /// Age of the NodeClaim while it has no usable node yet, when known.
    pub claim_age: Option<i64>,
}

/// A NodeClaim that has no usable node yet.
fn in_flight(c: &NodeClaimInfo) -> bool {
    !c.initialized()
}

/// Karpenter's nomination target from `Pod should schedule on: nodeclaim/X[, node/Y]`.
fn nomination_target(message: &str) -> (Option<&str>, Option<&str>) {
    let rest = message
        .split_once("schedule on:")
        .map(|(_, r)| r)
        .unwrap_or(message);
    let mut claim = None;
    let mut node = None;
    for part in rest.split(',').map(str::trim) {
        if let Some(n) = part.strip_prefix("nodeclaim/") {
            claim = Some(n);
        } else if let Some(n) = part.strip_prefix("node/") {
            node = Some(n);
        }
    }
    (claim, node)
}

/// Whether a node is on its way for a Pending pod: Karpenter nominated it for
/// a NodeClaim (or node), or a NodeClaim still in flight was created after it.
pub(super) fn node_coming(snap: &Snapshot, pod: &PodInfo) -> Option<Coming> {
    let claims = snap.node_claims.as_deref();
    for e in events_for(snap, "Pod", &pod.name) {
        if e.reason != "Nominated" {
            continue;
        }
        let (claim, node) = nomination_target(&e.message);
        if let Some(name) = claim {
            match claims.map(|cs| cs.iter().find(|c| c.name == name)) {
                // The NodeClaim exists: it is coming (or already here).
                Some(Some(c)) => {
                    return Some(Coming {
                        target: format!("nodeclaim/{name}"),
                        via: "nominated",
                        claim_age: c.created.filter(|_| in_flight(c)).map(|t| age(snap, t)),
                    });
                }
                // NodeClaims not read: trust the event.
                None => {
                    return Some(Coming {
                        target: format!("nodeclaim/{name}"),
                        via: "nominated",
                        claim_age: None,
                    });
                }
                // Gone (launch failed or timed out): not coming any more.
                Some(None) => {}
            }
        } else if let Some(name) = node {
            return Some(Coming {
                target: format!("node/{name}"),
                via: "nominated",
                claim_age: None,
            });
        }
    }
    let pod_created = pod.created;
    claims?
        .iter()
        .filter(|c| in_flight(c))
        .filter(|c| match (c.created, pod_created) {
            (Some(c), Some(p)) => c >= p,
            _ => true,
        })
        .max_by_key(|c| c.created)
        .map(|c| Coming {
            target: format!("nodeclaim/{}", c.name),
            via: "launching",
            claim_age: c.created.map(|t| age(snap, t)),
        })
}

/// Whether Karpenter is installed: `Some(true)`/`Some(false)`, `None` if unknown.
fn karpenter(snap: &Snapshot) -> Option<bool> {
    if snap.apis.karpenter == Some(true) || snap.node_pools.is_some() {
        return Some(true);
    }
    if snap.apis.karpenter == Some(false)
        || snap
            .gap("nodepools")
            .is_some_and(|g| g.reason == GapReason::NotInstalled)
    {
        return Some(false);
    }
    None
}

fn node_line(snap: &Snapshot, n: &NodeInfo) -> String {
    let mut parts = vec![if n.ready { "Ready" } else { "NotReady" }.to_string()];
    if n.unschedulable {
        parts.push("SchedulingDisabled".into());
    }
    parts.push(match &n.node_pool {
        Some(p) => format!("nodepool {p}"),
        None => "not Karpenter".into(),
    });
    let kind: Vec<&str> = [&n.instance_type, &n.capacity_type, &n.zone]
        .into_iter()
        .flatten()
        .map(|s| s.as_str())
        .collect();
    if !kind.is_empty() {
        parts.push(kind.join(" "));
    }
    if let Some(t) = n.created {
        parts.push(format!("age {}", human_duration(age(snap, t))));
    }
    format!("{}: {}", n.name, parts.join(", "))
}

// ---------------------------------------------------------------------------

/// Karpenter nodes that are not Ready this young are still registering.
const REGISTERING_SECS: i64 = 120;

fn ready(ctx: &Ctx) -> Verdict {
    let snap = ctx.snap;
    let Some(nodes) = &snap.nodes else {
        return not_read(ctx, "nodes", "nodes");
    };
    if nodes.is_empty() {
        return Verdict::warn("no nodes in the cluster: nothing can run")
            .fix("Check the cluster's node groups and Karpenter's NodePools; the API server lists no Node.")
            .command("kubectl get nodes");
    }
    let total = nodes.len();
    let mut broken = Vec::new();
    let mut registering = Vec::new();
    let mut cordoned = Vec::new();
    for n in nodes {
        let young = n.created.is_some_and(|t| age(snap, t) < REGISTERING_SECS);
        if !n.ready && n.node_pool.is_some() && young {
            registering.push(n);
        } else if !n.ready {
            broken.push(n);
        } else if n.unschedulable {
            cordoned.push(n);
        }
    }
    let names = |v: &[&NodeInfo]| {
        shorten(
            &v.iter()
                .map(|n| n.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            200,
        )
    };
    let lines = |v: &[&NodeInfo]| v.iter().map(|n| node_line(snap, n)).collect::<Vec<_>>();
    if !broken.is_empty() {
        return with_evidence(
            Verdict::fail(format!(
                "{} of {total} nodes NotReady: {}",
                broken.len(),
                names(&broken)
            )),
            lines(&broken)
                .into_iter()
                .chain(lines(&registering))
                .chain(lines(&cordoned)),
        )
        .fix(
            "Pods there serve no sessions. `kubectl describe node NAME` shows the failing \
             condition (kubelet not posting status, network plugin, pressure): fix the node, or \
             cordon, drain and delete it so its pods and capacity move elsewhere.",
        )
        .command("kubectl get nodes");
    }
    if !registering.is_empty() || !cordoned.is_empty() {
        let mut parts = Vec::new();
        if !registering.is_empty() {
            parts.push(format!(
                "{} Karpenter node(s) still registering: {}",
                registering.len(),
                names(&registering)
            ));
        }
        if !cordoned.is_empty() {
            parts.push(format!(
                "{} of {total} nodes cordoned: {}",
                cordoned.len(),
                names(&cordoned)
            ));
        }
        let fix = if cordoned.is_empty() {
            "New Karpenter nodes turn Ready within a minute or two; re-run. If they stay \
             NotReady, see the NodeClaim (`kubectl get nodeclaims`)."
        } else {
            "Cordoned nodes take no new pods: uncordon them when their maintenance is over \
             (Karpenter's own disruption uses the karpenter.sh/disrupted taint, not cordon)."
        };
        return with_evidence(
            Verdict::warn(parts.join("; ")),
            lines(&registering).into_iter().chain(lines(&cordoned)),
        )
        .fix(fix)
        .command("kubectl get nodes");
    }
    let karpenter_nodes = nodes.iter().filter(|n| n.node_pool.is_some()).count();
    Verdict::pass(format!(
        "{total}/{total} nodes Ready and schedulable ({karpenter_nodes} from Karpenter)"
    ))
}

/// Pending game pods the scheduler could not place.
fn unschedulable<'a>(snap: &Snapshot, pods: &'a [PodInfo]) -> Vec<&'a PodInfo> {
    pods.iter()
        .filter(|p| is_pending(p))
        .filter(|p| match &p.scheduled {
            Some(c) => c.status == "False",
            None => events_for(snap, "Pod", &p.name)
                .iter()
                .any(|e| e.reason == "FailedScheduling"),
        })
        .collect()
}

/// A NodeClaim this old without a node is slow to register.
const SLOW_CLAIM_SECS: i64 = 300;

fn scale_up(ctx: &Ctx) -> Verdict {
    let snap = ctx.snap;
    let ns = ctx.ns();
    let Some(pods) = &snap.pods else {
        return not_read(ctx, "pods", "game pods");
    };
    let stuck = unschedulable(snap, pods);
    if stuck.is_empty() {
        return Verdict::pass("no unschedulable pods: nothing waiting for a node");
    }
    let oldest = stuck
        .iter()
        .max_by_key(|p| pod_age(snap, p))
        .copied()
        .unwrap_or(stuck[0]);
    let pod_lines: Vec<String> = stuck
        .iter()
        .take(10)
        .map(|p| {
            format!(
                "{} Pending {}: {}",
                p.name,
                human_duration(pod_age(snap, p)),
                why_pending(p)
            )
        })
        .collect();
    let n = stuck.len();
    let pods_word = if n == 1 { "pod" } else { "pods" };
    let describe_pod = format!("kubectl describe pod {} -n {ns}", oldest.name);

    match karpenter(snap) {
        Some(false) => {
            return with_evidence(
                Verdict::warn(format!(
                    "{n} {pods_word} unschedulable and no node autoscaler known to the plugin \
                     (Karpenter not installed)"
                )),
                pod_lines,
            )
            .fix(
                "If Cluster Autoscaler or a managed autoscaler runs, check that it serves these \
                 pods; otherwise add nodes or lower the pods' requests.",
            )
            .command(describe_pod);
        }
        None => {
            return snap.gap("nodepools").map_or_else(
                || Verdict::skip("Karpenter's presence is unknown (API discovery failed)"),
                |_| not_read(ctx, "nodepools", "Karpenter NodePools"),
            );
        }
        Some(true) => {}
    }

    // Karpenter batches pods for a few seconds before it creates a NodeClaim:
    // a pod younger than the scale-up target may simply not be seen yet.
    let target = ctx.settings.targets.scale_up_seconds;
    let mut coming = Vec::new();
    let mut waiting = Vec::new();
    let mut fresh = Vec::new();
    for p in &stuck {
        match node_coming(snap, p) {
            Some(c) => coming.push((*p, c)),
            None if pod_age(snap, p) as f64 <= target => fresh.push(*p),
            None => waiting.push(*p),
        }
    }
    waiting.sort_by_key(|p| std::cmp::Reverse(pod_age(snap, p)));

    if let Some(first) = waiting.first() {
        // Without NodeClaims we cannot say nothing is coming.
        if snap.node_claims.is_none() {
            return not_read(ctx, "nodeclaims", "Karpenter NodeClaims");
        }
        let mut evidence = pod_lines;
        let sched: Vec<String> = waiting
            .iter()
            .flat_map(|p| events_for(snap, "Pod", &p.name))
            .filter(|e| e.reason == "FailedScheduling")
            .take(5)
            .map(|e| format!("{}: {}", e.object_name, quote_event(snap, e)))
            .collect();
        evidence.extend(sched);
        let pools = snap.node_pools.as_deref().unwrap_or_default();
        if pools.is_empty() {
            evidence.push("no NodePool exists: Karpenter has nothing to launch from".into());
        }
        for pool in pools {
            evidence.push(pool_line(pool));
            evidence.extend(
                events_for(snap, "NodePool", &pool.name)
                    .into_iter()
                    .filter(|e| e.type_ == "Warning")
                    .take(3)
                    .map(|e| format!("nodepool/{}: {}", pool.name, quote_event(snap, e))),
            );
        }
        let claims = snap.node_claims.as_deref().unwrap_or_default();
        let flying: Vec<&str> = claims
            .iter()
            .filter(|c| in_flight(c))
            .map(|c| c.name.as_str())
            .collect();
        evidence.push(if flying.is_empty() {
            "no NodeClaim in flight".into()
        } else {
            format!(
                "NodeClaims in flight (created before these pods): {}",
                flying.join(", ")
            )
        });
        let command = match pools {
            [one] => format!("kubectl describe nodepool {}", one.name),
            _ => "kubectl describe nodepools".into(),
        };
        return with_evidence(
            Verdict::fail(format!(
                "{} {} FailedScheduling with no node coming (oldest {}, {}): {}",
                waiting.len(),
                if waiting.len() == 1 { "pod" } else { "pods" },
                first.name,
                human_duration(pod_age(snap, first)),
                shorten(&why_pending(first), 160)
            )),
            evidence,
        )
        .fix(
            "Karpenter is not launching a node for these pods. Check the NodePool's limits \
             (spec.limits vs status.resources), its requirements and taints against the pods' \
             requests, nodeSelector and tolerations, NoCompatibleInstanceTypes events and the \
             Karpenter controller logs; `kubectl get nodeclaims` lists what it is launching.",
        )
        .command(command);
    }

    let target_s = human_duration(target.round() as i64);
    let fresh_lines = fresh.iter().map(|p| {
        format!(
            "{} Pending {}: no node nominated yet (younger than the {target_s} target)",
            p.name,
            human_duration(pod_age(snap, p))
        )
    });
    let evidence: Vec<String> = coming
        .iter()
        .map(|(p, c)| {
            let claim_age = c
                .claim_age
                .map(|a| format!(", NodeClaim age {}", human_duration(a)))
                .unwrap_or_default();
            format!(
                "{} Pending {}: node coming: {} ({}{claim_age})",
                p.name,
                human_duration(pod_age(snap, p)),
                c.target,
                c.via
            )
        })
        .chain(fresh_lines)
        .collect();
    let mut targets: Vec<&str> = coming.iter().map(|(_, c)| c.target.as_str()).collect();
    targets.sort();
    targets.dedup();
    let slow = coming
        .iter()
        .filter(|(_, c)| c.claim_age.is_some_and(|a| a > SLOW_CLAIM_SECS))
        .max_by_key(|(_, c)| c.claim_age);
    if let Some((_, c)) = slow {
        let name = c.target.trim_start_matches("nodeclaim/");
        return with_evidence(
            Verdict::warn(format!(
                "node coming for {n} unschedulable {pods_word}, but {} is {} old and has no \
                 node yet: registration slow",
                c.target,
                human_duration(c.claim_age.unwrap_or(0))
            )),
            evidence,
        )
        .fix(
            "A node usually registers within 1–2 minutes; Karpenter deletes a NodeClaim that \
             has not registered after 15 minutes and tries again. Its Launched/Registered \
             conditions say where it is stuck (capacity errors, node bootstrap, CNI).",
        )
        .command(format!("kubectl describe nodeclaim {name}"));
    }
    let message = if targets.is_empty() {
        format!(
            "{n} unschedulable {pods_word}, younger than the {target_s} target: Karpenter has not \
             acted yet"
        )
    } else {
        format!(
            "{n} unschedulable {pods_word}, node coming: {}",
            targets.join(", ")
        )
    };
    with_evidence(Verdict::pass(message), evidence)
}

fn pool_line(pool: &NodePoolInfo) -> String {
    let mut s = format!("nodepool/{}", pool.name);
    if let Some(n) = pool.nodes {
        s.push_str(&format!(": {n} nodes"));
    }
    if let Some(c) = pool
        .conditions
        .iter()
        .find(|c| c.type_ == "Ready" && c.status != "True")
    {
        s.push_str(&format!(
            ", Ready={} {}: {}",
            c.status,
            c.reason.as_deref().unwrap_or(""),
            c.message.as_deref().unwrap_or("")
        ));
    }
    s
}

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
/// How long past consolidateAfter an empty node may stay before we say so.
const LINGER_SLACK_SECS: i64 = 300;

fn scale_down(ctx: &Ctx) -> Verdict {
    let snap = ctx.snap;
    match karpenter(snap) {
        Some(false) => return Verdict::skip("Karpenter not installed"),
        None => {
            return snap.gap("nodepools").map_or_else(
                || Verdict::skip("Karpenter's presence is unknown (API discovery failed)"),
                |_| not_read(ctx, "nodepools", "Karpenter NodePools"),
            );
        }
        Some(true) => {}
    }
    let Some(pools) = &snap.node_pools else {
        return not_read(ctx, "nodepools", "Karpenter NodePools");
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
            p.name
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
                .command(format!("kubectl describe node {}", n0.name));
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
    use crate::checks::testkit::{
        ago, cond, eval, event, expect, gap, healthy, node_claim as claim,
        nominated as nominated_event, pending_pod, set_prom,
    };

    const POD: &str = "spice-runner-7d9c8b5f4-ddddd";

    #[test]
    fn healthy_passes_everywhere() {
        let s = healthy();
        expect(
            &eval(ready, &s),
            Outcome::Pass,
            "3/3 nodes Ready and schedulable",
        );
        expect(
            &eval(scale_up, &s),
            Outcome::Pass,
            "nothing waiting for a node",
        );
        expect(
            &eval(scale_down, &s),
            Outcome::Pass,
            "NodePool default: WhenEmptyOrUnderutilized after 30s",
        );
    }

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
    fn ready_outcomes() {
        let mut s = healthy();
        s.nodes.as_mut().unwrap()[1].ready = false;
        let v = eval(ready, &s);
        expect(&v, Outcome::Fail, "1 of 3 nodes NotReady: node-b");
        assert_eq!(v.command.as_deref(), Some("kubectl get nodes"));

        // A young Karpenter node is registering, a young unmanaged one is broken.
        s.nodes.as_mut().unwrap()[1].created = Some(ago(60));
        expect(&eval(ready, &s), Outcome::Warn, "still registering: node-b");
        s.nodes.as_mut().unwrap()[1].node_pool = None;
        expect(&eval(ready, &s), Outcome::Fail, "NotReady");

        let mut s = healthy();
        s.nodes.as_mut().unwrap()[2].unschedulable = true;
        expect(
            &eval(ready, &s),
            Outcome::Warn,
            "1 of 3 nodes cordoned: node-sys",
        );

        s.nodes = Some(vec![]);
        expect(&eval(ready, &s), Outcome::Warn, "no nodes");

        s.nodes = None;
        gap(&mut s, "nodes", GapReason::Forbidden, "cannot list nodes");
        expect(&eval(ready, &s), Outcome::Error, "cannot list nodes");
    }

    #[test]
    fn scale_up_with_nomination_passes_and_slow_claim_warns() {
        let mut s = healthy();
        s.pods.as_mut().unwrap().push(pending_pod(POD, 60));
        s.events = Some(vec![nominated_event(POD, "default-x7k2p", 50)]);
        s.node_claims = Some(vec![claim("default-x7k2p", 55, false)]);
        let v = eval(scale_up, &s);
        expect(&v, Outcome::Pass, "node coming: nodeclaim/default-x7k2p");

        s.node_claims = Some(vec![claim("default-x7k2p", 420, false)]);
        let v = eval(scale_up, &s);
        expect(&v, Outcome::Warn, "registration slow");
        assert_eq!(
            v.command.as_deref(),
            Some("kubectl describe nodeclaim default-x7k2p")
        );
    }

    #[test]
    fn scale_up_with_launching_claim_and_no_event_passes() {
        let mut s = healthy();
        s.pods.as_mut().unwrap().push(pending_pod(POD, 60));
        s.node_claims = Some(vec![claim("default-abcde", 40, false)]);
        expect(
            &eval(scale_up, &s),
            Outcome::Pass,
            "nodeclaim/default-abcde",
        );
        // NodeClaims not read but a nomination seen: still coming.
        s.node_claims = None;
        s.events = Some(vec![nominated_event(POD, "default-abcde", 30)]);
        expect(
            &eval(scale_up, &s),
            Outcome::Pass,
            "nodeclaim/default-abcde",
        );
    }

    #[test]
    fn scale_up_with_nothing_coming_fails() {
        let mut s = healthy();
        s.pods.as_mut().unwrap().push(pending_pod(POD, 90));
        let mut e = event(
            "Pod",
            POD,
            "Warning",
            "FailedScheduling",
            "0/3 nodes are available: 3 Insufficient cpu.",
            40,
        );
        e.count = 3;
        let np = event(
            "NodePool",
            "default",
            "Warning",
            "NoCompatibleInstanceTypes",
            "NodePool requirements filtered out all compatible available instance types",
            30,
        );
        // The nominated claim is gone: not coming any more.
        s.events = Some(vec![e, np, nominated_event(POD, "default-gone", 80)]);
        let v = eval(scale_up, &s);
        expect(
            &v,
            Outcome::Fail,
            "1 pod FailedScheduling with no node coming",
        );
        assert_eq!(
            v.command.as_deref(),
            Some("kubectl describe nodepool default")
        );
        assert!(
            v.evidence
                .iter()
                .any(|l| l.contains("Warning FailedScheduling (x3, 40s ago): 0/3 nodes")),
            "{v:#?}"
        );
        assert!(
            v.evidence
                .iter()
                .any(|l| l.contains("NoCompatibleInstanceTypes")),
            "{v:#?}"
        );
        assert!(v.fix.unwrap().contains("kubectl get nodeclaims"));

        // A claim from before the pod does not count.
        s.node_claims = Some(vec![claim("default-older", 300, false)]);
        expect(&eval(scale_up, &s), Outcome::Fail, "no node coming");

        // No NodeClaims read and no nomination: cannot judge.
        s.node_claims = None;
        s.events = Some(vec![]);
        gap(
            &mut s,
            "nodeclaims",
            GapReason::Forbidden,
            "cannot list nodeclaims",
        );
        expect(
            &eval(scale_up, &s),
            Outcome::Error,
            "cannot list nodeclaims",
        );
    }

    #[test]
    fn scale_up_gives_karpenter_time_for_fresh_pods() {
        let mut s = healthy();
        s.pods.as_mut().unwrap().push(pending_pod(POD, 12));
        let v = eval(scale_up, &s);
        expect(&v, Outcome::Pass, "Karpenter has not acted yet");
        assert!(v.evidence[0].contains("no node nominated yet"), "{v:#?}");

        // With an older pod that has nothing coming, the fail names the oldest.
        s.pods
            .as_mut()
            .unwrap()
            .push(pending_pod("spice-runner-7d9c8b5f4-zzzzz", 200));
        expect(
            &eval(scale_up, &s),
            Outcome::Fail,
            "1 pod FailedScheduling with no node coming (oldest spice-runner-7d9c8b5f4-zzzzz, 3m20s)",
        );
    }

    #[test]
    fn scale_up_nominated_to_a_ready_claim_is_not_slow() {
        let mut s = healthy();
        s.pods.as_mut().unwrap().push(pending_pod(POD, 600));
        s.events = Some(vec![nominated_event(POD, "default-x7k2p", 500)]);
        s.node_claims = Some(vec![claim("default-x7k2p", 900, true)]);
        expect(
            &eval(scale_up, &s),
            Outcome::Pass,
            "node coming: nodeclaim/default-x7k2p",
        );
    }

    #[test]
    fn scale_up_without_nodepools_or_knowledge() {
        let mut s = healthy();
        s.pods.as_mut().unwrap().push(pending_pod(POD, 90));
        s.node_pools = Some(vec![]);
        let v = eval(scale_up, &s);
        expect(&v, Outcome::Fail, "no node coming");
        assert!(v.evidence.iter().any(|l| l.contains("no NodePool exists")));
        assert_eq!(v.command.as_deref(), Some("kubectl describe nodepools"));

        // Discovery failed and NodePools were not read: unknown, not a failure.
        s.apis.karpenter = None;
        s.node_pools = None;
        expect(&eval(scale_up, &s), Outcome::Skip, "unknown");
        expect(&eval(scale_down, &s), Outcome::Skip, "unknown");
    }

    #[test]
    fn scale_up_without_karpenter_warns_or_passes() {
        let mut s = healthy();
        s.apis.karpenter = Some(false);
        s.node_pools = None;
        s.node_claims = None;
        expect(&eval(scale_up, &s), Outcome::Pass, "nothing waiting");
        s.pods.as_mut().unwrap().push(pending_pod(POD, 90));
        expect(
            &eval(scale_up, &s),
            Outcome::Warn,
            "no node autoscaler known to the plugin",
        );
    }

    #[test]
    fn scale_up_ignores_scheduled_pending_pods_and_needs_pods() {
        let mut s = healthy();
        let mut p = pending_pod(POD, 90);
        p.scheduled = Some(cond("PodScheduled", "True", "Scheduled", ""));
        s.pods.as_mut().unwrap().push(p);
        expect(&eval(scale_up, &s), Outcome::Pass, "nothing waiting");
        s.pods = None;
        gap(&mut s, "pods", GapReason::Timeout, "pods timed out");
        expect(&eval(scale_up, &s), Outcome::Error, "pods timed out");
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

    #[test]
    fn nominations_parse() {
        assert_eq!(
            nomination_target("Pod should schedule on: nodeclaim/default-x, node/ip-1"),
            (Some("default-x"), Some("ip-1"))
        );
        assert_eq!(
            nomination_target("Pod should schedule on: node/ip-1"),
            (None, Some("ip-1"))
        );
        let s = healthy();
        let mut p = pending_pod(POD, 30);
        p.created = Some(ago(30));
        let mut s2 = s.clone();
        s2.events = Some(vec![event(
            "Pod",
            POD,
            "Normal",
            "Nominated",
            "Pod should schedule on: node/node-a",
            20,
        )]);
        let c = node_coming(&s2, &p).expect("coming");
        assert_eq!(c.target, "node/node-a");
        assert!(node_coming(&s, &p).is_none());
    }
}
