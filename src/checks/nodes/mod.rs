//! Checks of the nodes area: node health, and whether Karpenter adds nodes
//! for Pending game pods and removes them when sessions end. The plugin only
//! lists the game's pods, so "empty" here means "no spice-runner pods".

use super::pods::{
    age, events_for, is_pending, pod_age, quote_event, shorten, why_pending, with_evidence,
};
use super::{Check, CheckId, Ctx, Docs, Verdict};
use crate::domain::node_autoscalers::{self as na, CaStatus};
use crate::domain::promql;
use crate::domain::quantity::human_duration;
use crate::domain::snapshot::{
    EventInfo, GapReason, NodeClaimInfo, NodeInfo, NodePoolInfo, PodInfo, Snapshot,
};
use crate::settings::parse_duration;

pub(super) mod ca;
pub(super) mod ready;
pub(super) mod scale_down;
pub(super) mod scale_up;

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

/// Karpenter's nomination target from `Pod should schedule on: nodeclaim/X[, node/Y]`
/// (Normal `Nominated` on the pod: kubernetes-sigs/karpenter v1.14.1
/// `pkg/controllers/provisioning/scheduling/events.go` `NominatePodEvent`,
/// the same since v1.0; reason in `pkg/events/reason.go`).
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
    if let Some(c) = ca::coming(snap, pod) {
        return Some(c);
    }
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

/// The gap that keeps [`node_coming`] from seeing NodeClaims: without them a
/// `None` from it means "cannot tell", not "none is coming". Karpenter not
/// being installed is no such gap: then no NodeClaim can be on its way.
pub(super) fn claims_unreadable(snap: &Snapshot) -> Option<&crate::snapshot::Gap> {
    if snap.node_claims.is_some() {
        return None;
    }
    snap.gap("nodeclaims")
        .filter(|g| g.reason != GapReason::NotInstalled)
}

/// Cluster Autoscaler's events: its recorder's component name, or the
/// reasons only it writes.
pub(super) fn from_ca(e: &EventInfo) -> bool {
    e.source.as_deref() == Some(ca::SOURCE)
        || matches!(e.reason.as_str(), "TriggeredScaleUp" | "NotTriggerScaleUp")
}

/// Whether Cluster Autoscaler runs: its status ConfigMap, or its events.
pub(super) fn ca_seen(snap: &Snapshot) -> bool {
    snap.cluster_autoscaler.is_some() || snap.events.iter().flatten().any(from_ca)
}

/// Cluster Autoscaler's status, read from its ConfigMap.
pub(super) fn ca_status(snap: &Snapshot) -> Option<CaStatus> {
    snap.cluster_autoscaler
        .as_ref()
        .and_then(|c| CaStatus::parse(&c.status))
}

/// Why no node autoscaler adds a node, when it is a cap the cluster set: a
/// NodePool at its `spec.limits` (by its `status.resources`, or by Karpenter's
/// FailedScheduling on a Pending pod), or a Cluster Autoscaler node group at its
/// maximum size. One sentence with the field to change, for pods.pending.
pub(super) fn capacity_cap(snap: &Snapshot) -> Option<String> {
    for pool in snap.node_pools.iter().flatten() {
        let reached = na::limits_reached(pool);
        if let Some((r, used, limit)) = reached.first() {
            return Some(format!(
                "NodePool {} reached its limits ({r} {used} of {limit}): raise spec.limits.{r} on \
                 the NodePool, or Karpenter adds no node (see nodes.scale-up).",
                pool.name
            ));
        }
    }
    // Karpenter's own word on a Pending pod: status.resources may still be
    // below the limit when no instance type fits in what is left.
    let pending: Vec<&str> = snap
        .pods
        .iter()
        .flatten()
        .filter(|p| is_pending(p))
        .map(|p| p.name.as_str())
        .collect();
    for pool in snap.node_pools.iter().flatten() {
        let said = snap
            .events
            .iter()
            .flatten()
            .filter(|e| e.object_kind == "Pod" && pending.contains(&e.object_name.as_str()))
            .find_map(|e| scale_up::limits_said(&e.message, &pool.name));
        if let Some(said) = said {
            let what = match said {
                scale_up::LimitSaid::Nodes => "its node limit is used up",
                scale_up::LimitSaid::InstanceTypes => "every instance type would exceed them",
            };
            return Some(format!(
                "NodePool {} is at its limits (Karpenter says {what}): raise {} on the \
                 NodePool, or Karpenter adds no node (see nodes.scale-up).",
                pool.name,
                scale_up::said_fields(pool, said)
            ));
        }
    }
    let status = ca_status(snap)?;
    let g = status
        .groups
        .iter()
        .find(|g| matches!((g.target, g.max_size), (Some(t), Some(m)) if t >= m))?;
    let refused = snap.events.iter().flatten().any(|e| {
        e.reason == "NotTriggerScaleUp" && e.message.contains("max node group size reached")
    });
    refused.then(|| {
        format!(
            "Cluster Autoscaler node group {} is at its maxSize {}: raise the node group's \
             maximum size, or it adds no node (see nodes.scale-up).",
            g.name,
            g.max_size.unwrap_or_default()
        )
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

// ---------------------------------------------------------------------------

/// A NodeClaim this old without a node is slow to register.
const SLOW_CLAIM_SECS: i64 = 300;

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

/// How long past consolidateAfter an empty node may stay before we say so.
const LINGER_SLACK_SECS: i64 = 300;

/// One node's readiness, pool and kind, for evidence lines.
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

#[cfg(test)]
mod tests {
    use super::*;
    use super::{ready::ready, scale_down::scale_down, scale_up::scale_up};

    use crate::checks::Outcome;

    use crate::checks::testkit::{ago, eval, event, expect, healthy, pending_pod};

    pub(super) const POD: &str = "spice-runner-7d9c8b5f4-ddddd";

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
