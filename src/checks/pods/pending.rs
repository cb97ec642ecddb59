//! `pods.pending`: No pods stuck Pending. The check's docs, its evaluation and its
//! unit tests.

use super::*;
use crate::checks::nodes::claims_unreadable;

pub static CHECK: Check = Check {
    id: CheckId::PodsPending,
    title: "No pods stuck Pending",
    runbook: "Quick Validation Checklist: No CrashLoopBackOff or Pending pods",
    needs: &[],
    reads: "pods (phase, created, scheduled), events (Pod Nominated, FailedScheduling), \
            nodeClaims, capturedAt",
    docs: Docs {
        what: "Finds game pods Pending longer than the scale-up target (targets.scaleUp, 30 s) \
               and quotes why: the PodScheduled condition or the waiting container. A pod \
               Karpenter nominated for a new node (Nominated event, or an uninitialized \
               NodeClaim created after the pod) is a warning while it is younger than 5 \
               minutes.",
        why: "Every Pending pod is a session without a pod. The runbook expects Pending only \
              briefly (Test 1: Pending at 30 s, Running at 45 s).",
        fix: "Unschedulable with no node coming: see nodes.scale-up (NodePool limits, \
              requirements, instance types) or the pod's requests, nodeSelector and \
              tolerations. Scheduled but not starting: the pod's events name the cause \
              (image pull, volume). A new node per scale-up cannot meet a 30 s target: keep \
              spare capacity (a low-priority placeholder Deployment).",
    },
    source: file!(),
    eval: pending,
};

/// A Pending pod with a node on the way stays a warning this long.
const NODE_COMING_GRACE_SECS: i64 = 300;

pub(super) fn pending(ctx: &Ctx) -> Verdict {
    let pods = match game_pods(ctx) {
        Ok(p) => p,
        Err(v) => return v,
    };
    let snap = ctx.snap;
    let target = ctx.settings.targets.scale_up_seconds;
    let target_s = human_duration(target.round() as i64);
    let mut waiting: Vec<(&PodInfo, i64)> = pods
        .iter()
        .filter(|p| is_pending(p))
        .map(|p| (p, pod_age(snap, p)))
        .collect();
    if waiting.is_empty() {
        return Verdict::pass("no Pending pods");
    }
    waiting.sort_by_key(|(p, a)| (std::cmp::Reverse(*a), p.name.clone()));
    let (late, young): (Vec<_>, Vec<_>) = waiting.iter().partition(|(_, a)| *a as f64 > target);
    if late.is_empty() {
        return with_evidence(
            Verdict::pass(format!(
                "{} Pending for less than the {target_s} target: scale-up in progress",
                plural(young.len(), "pod", "pods")
            )),
            young.iter().map(|(p, a)| {
                format!(
                    "{} Pending {}: {}",
                    p.name,
                    human_duration(*a),
                    why_pending(p)
                )
            }),
        );
    }

    let mut evidence = Vec::new();
    let mut stuck: Vec<(&PodInfo, i64)> = Vec::new();
    let mut undecided: Vec<(&PodInfo, i64)> = Vec::new();
    let claims_gap = claims_unreadable(snap);
    let mut coming_first: Option<String> = None;
    for (p, a) in &late {
        let coming = node_coming(snap, p);
        let why = why_pending(p);
        let line = match &coming {
            Some(c) => format!(
                "{} Pending {}: {}; node coming: {} ({})",
                p.name,
                human_duration(*a),
                why.trim_end_matches('.'),
                c.target,
                c.via
            ),
            None => format!("{} Pending {}: {why}", p.name, human_duration(*a)),
        };
        evidence.push(line);
        match coming {
            Some(c) if *a < NODE_COMING_GRACE_SECS => {
                coming_first.get_or_insert(c.target);
            }
            // Without NodeClaims, an unschedulable pod nothing was nominated
            // for may still have a node on its way: "cannot tell", not stuck.
            None if claims_gap.is_some() && unschedulable(p) => undecided.push((*p, *a)),
            _ => stuck.push((p, *a)),
        }
    }
    let mut evidence = capped(evidence, 10);
    let event_lines: Vec<String> = late
        .iter()
        .flat_map(|(p, _)| events_for(snap, "Pod", &p.name))
        .filter(|e| e.type_ == "Warning")
        .map(|e| format!("{}: {}", e.object_name, quote_event(snap, e)))
        .take(5)
        .collect();
    evidence.extend(event_lines);
    if !young.is_empty() {
        evidence.push(format!(
            "{} Pending for less than {target_s} (not counted)",
            plural(young.len(), "more pod", "more pods")
        ));
    }

    if let (Some(first), Some(gap), true) = (undecided.first(), claims_gap, stuck.is_empty()) {
        return cannot_tell(ctx, late.len(), *first, gap, evidence);
    }
    if let Some((p, a)) = stuck.first() {
        let unschedulable = unschedulable(p);
        let cap = crate::checks::nodes::capacity_cap(snap);
        let fix = if let (true, Some(cap)) = (unschedulable, cap.as_deref()) {
            cap
        } else if unschedulable {
            "No node fits the pod and none is on the way: see nodes.scale-up (Karpenter NodePool \
             limits and requirements, NoCompatibleInstanceTypes events), or lower the pod's \
             requests and check its nodeSelector, affinity and tolerations."
        } else {
            "The pod is bound to a node but does not start: the Events in `kubectl describe pod` \
             name the cause (image pull, volume mount, missing ConfigMap or Secret)."
        };
        return with_evidence(
            Verdict::fail(format!(
                "{} Pending longer than {target_s} (oldest {}, {}): {}",
                plural(late.len(), "pod", "pods"),
                p.name,
                human_duration(*a),
                shorten(&why_pending(p), 200)
            )),
            evidence,
        )
        .fix(fix)
        .command(describe_pod(ctx, &p.name));
    }
    let (p, a) = (late[0].0, late[0].1);
    with_evidence(
        Verdict::warn(format!(
            "{} Pending longer than {target_s} (oldest {}, {}): node coming: {}",
            plural(late.len(), "pod", "pods"),
            p.name,
            human_duration(a),
            coming_first.unwrap_or_default()
        )),
        evidence,
    )
    .fix(format!(
        "Karpenter is bringing up a node (usually 1–2 minutes), so this scale-up misses the \
         {target_s} target. To meet it, keep spare capacity (a low-priority placeholder \
         Deployment that game pods preempt). If the node does not come, see nodes.scale-up."
    ))
    .command(describe_pod(ctx, &p.name))
}

/// The verdict when the oldest late pods are unschedulable and NodeClaims
/// could not be read: whether a node is coming is unknown, so it warns and
/// names the gap rather than claiming none is on the way.
fn cannot_tell(
    ctx: &Ctx,
    late: usize,
    (p, a): (&PodInfo, i64),
    g: &crate::snapshot::Gap,
    evidence: Vec<String>,
) -> Verdict {
    let target_s = human_duration(ctx.settings.targets.scale_up_seconds.round() as i64);
    let fix = if g.hint.is_empty() {
        "Let the plugin read Karpenter's NodeClaims (get, list on nodeclaims.karpenter.sh), then \
         run it again; meanwhile `kubectl get nodeclaims` shows what Karpenter is launching."
            .to_string()
    } else {
        format!(
            "{}; then run it again to learn whether a node is coming for these pods.",
            g.hint.trim_end_matches('.')
        )
    };
    with_evidence(
        Verdict::warn(format!(
            "{} Pending longer than {target_s} (oldest {}, {}): cannot tell whether a node is coming: NodeClaims could not be read ({}: {})",
            plural(late, "pod", "pods"),
            p.name,
            human_duration(a),
            g.reason,
            g.message
        )),
        evidence,
    )
    .fix(fix)
    .command(describe_pod(ctx, &p.name))
}

/// The scheduler said the pod fits no node (PodScheduled is not True).
fn unschedulable(p: &PodInfo) -> bool {
    p.scheduled.as_ref().is_some_and(|c| c.status != "True")
}

#[cfg(test)]
mod tests {
    use super::super::tests::*;
    use super::*;

    use crate::checks::Outcome;
    use crate::checks::testkit::{
        ago, cond, eval, event, expect, healthy, node_claim as claim, nominated, pending_pod,
    };

    #[test]
    fn young_pending_pods_pass_with_a_note() {
        let mut s = healthy();
        pods(&mut s).push(pending_pod("spice-runner-7d9c8b5f4-ddddd", 10));
        let v = eval(pending, &s);
        expect(
            &v,
            Outcome::Pass,
            "1 pod Pending for less than the 30s target",
        );
        assert!(v.evidence[0].contains("Insufficient cpu"));
    }

    #[test]
    fn old_pending_pod_with_no_node_coming_fails_with_scheduler_reason() {
        let mut s = healthy();
        pods(&mut s).push(pending_pod("spice-runner-7d9c8b5f4-ddddd", 90));
        let mut e = event(
            "Pod",
            "spice-runner-7d9c8b5f4-ddddd",
            "Warning",
            "FailedScheduling",
            "0/3 nodes are available: 3 Insufficient cpu.",
            40,
        );
        e.count = 3;
        s.events = Some(vec![e]);
        let v = eval(pending, &s);
        expect(
            &v,
            Outcome::Fail,
            "1 pod Pending longer than 30s (oldest spice-runner-7d9c8b5f4-ddddd, 1m30s): Unschedulable: 0/3 nodes",
        );
        assert_eq!(
            v.command.as_deref(),
            Some("kubectl describe pod spice-runner-7d9c8b5f4-ddddd -n default")
        );
        assert!(
            v.evidence
                .iter()
                .any(|e| e
                    .contains("Warning FailedScheduling (x3, 40s ago): 0/3 nodes are available")),
            "{v:#?}"
        );
    }

    #[test]
    fn unreadable_nodeclaims_warn_that_a_coming_node_is_unknown_instead_of_failing() {
        use crate::snapshot::GapReason;
        let without_claims = |reason: GapReason, message: &str| {
            let mut s = healthy();
            pods(&mut s).push(pending_pod("spice-runner-7d9c8b5f4-ddddd", 90));
            s.node_claims = None;
            crate::checks::testkit::gap(&mut s, "nodeclaims", reason, message);
            s
        };
        let mut s = without_claims(GapReason::Forbidden, "nodeclaims.karpenter.sh is forbidden");
        let v = eval(pending, &s);
        expect(&v, Outcome::Warn, "cannot tell whether a node is coming");
        expect(&v, Outcome::Warn, "nodeclaims.karpenter.sh is forbidden");
        assert!(!v.message.contains("none is on the way"), "{v:#?}");
        assert_eq!(
            v.fix.as_deref(),
            Some("the hint; then run it again to learn whether a node is coming for these pods.")
        );

        // A pod bound to a node does not wait for one: it still fails.
        let bound = pods(&mut s).last_mut().expect("pod");
        bound.scheduled = Some(cond("PodScheduled", "True", "", ""));
        bound.node = Some("node-a".into());
        expect(&eval(pending, &s), Outcome::Fail, "Pending longer than 30s");

        // Karpenter not installed is no gap: nothing can be coming.
        let s = without_claims(
            GapReason::NotInstalled,
            "the server could not find the resource",
        );
        expect(&eval(pending, &s), Outcome::Fail, "Unschedulable");
    }

    #[test]
    fn pending_with_nominated_node_warns_then_fails_after_five_minutes() {
        let mut s = healthy();
        pods(&mut s).push(pending_pod("spice-runner-7d9c8b5f4-ddddd", 90));
        s.events = Some(vec![nominated(
            "spice-runner-7d9c8b5f4-ddddd",
            "default-x7k2p",
            60,
        )]);
        s.node_claims = Some(vec![claim("default-x7k2p", 60, false)]);
        let v = eval(pending, &s);
        expect(&v, Outcome::Warn, "node coming: nodeclaim/default-x7k2p");

        pods(&mut s)[3].created = Some(ago(400));
        expect(&eval(pending, &s), Outcome::Fail, "Pending longer than 30s");
    }

    #[test]
    fn pending_with_launching_nodeclaim_warns() {
        let mut s = healthy();
        pods(&mut s).push(pending_pod("spice-runner-7d9c8b5f4-ddddd", 90));
        s.node_claims = Some(vec![
            claim("default-old", 3600, true),
            claim("default-new", 80, false),
        ]);
        expect(
            &eval(pending, &s),
            Outcome::Warn,
            "node coming: nodeclaim/default-new",
        );
        // A claim created before the pod is someone else's.
        s.node_claims = Some(vec![claim("default-new", 120, false)]);
        expect(&eval(pending, &s), Outcome::Fail, "Unschedulable");
    }

    #[test]
    fn scheduled_pending_pod_quotes_the_waiting_container() {
        let mut s = healthy();
        let mut p = pending_pod("spice-runner-7d9c8b5f4-ddddd", 120);
        p.scheduled = Some(cond("PodScheduled", "True", "Scheduled", ""));
        p.containers[0].waiting_reason = Some("ImagePullBackOff".into());
        p.containers[0].message = Some("Back-off pulling image \"spice:bad\"".into());
        pods(&mut s).push(p);
        let v = eval(pending, &s);
        expect(&v, Outcome::Fail, "container spice-runner ImagePullBackOff");
        assert!(v.fix.unwrap().contains("image pull"));
    }

    /// The root cause's fix names the NodePool field to raise from Karpenter
    /// v1.14.1's FailedScheduling alone (kubernetes-sigs/karpenter v1.14.1
    /// `pkg/controllers/provisioning/scheduling/scheduler.go`
    /// `addToNewNodeClaim`, `events.go` `PodFailedToScheduleEvent`), while
    /// `status.resources` is still below `spec.limits`.
    #[test]
    fn karpenter_v1_14_saying_a_nodepool_is_at_its_limits_names_the_field_to_raise() {
        let pod = "spice-runner-7d9c8b5f4-ddddd";
        let mut s = healthy();
        pods(&mut s).push(pending_pod(pod, 90));
        let pool = &mut s.node_pools.as_mut().unwrap()[0];
        pool.limits = [("cpu".to_string(), "10".to_string())].into();
        pool.resources = [("cpu".to_string(), "8".to_string())].into();
        let said = |message: &str| {
            let mut e = event("Pod", pod, "Warning", "FailedScheduling", message, 20);
            e.source = Some("karpenter".into());
            Some(vec![e])
        };
        s.events = said(
            "Failed to schedule pod, all available instance types exceed limits for nodepool (NodePool=default)",
        );
        let v = eval(pending, &s);
        expect(&v, Outcome::Fail, "1 pod Pending longer than 30s");
        assert_eq!(
            v.fix.as_deref(),
            Some(
                "NodePool default is at its limits (Karpenter says every instance type would \
                 exceed them): raise spec.limits.cpu on the NodePool, or Karpenter adds no node \
                 (see nodes.scale-up)."
            )
        );
        s.events = said(
            "Failed to schedule pod, node limits have been exhausted for nodepool (NodePool=default)",
        );
        let fix = eval(pending, &s).fix.unwrap_or_default();
        assert!(
            fix.contains("(Karpenter says its node limit is used up): raise spec.limits.nodes"),
            "{fix}"
        );
        // Said of another NodePool: the generic fix.
        s.events = said(
            "Failed to schedule pod, all available instance types exceed limits for nodepool (NodePool=gpu)",
        );
        let fix = eval(pending, &s).fix.unwrap_or_default();
        assert!(fix.starts_with("No node fits the pod"), "{fix}");
    }
}
