//! `nodes.scale-up`: Nodes come for Pending pods. The check's docs, its evaluation and its
//! unit tests.

use super::*;
use crate::checks::shell_arg;

pub static CHECK: Check = Check {
    id: CheckId::NodesScaleUp,
    title: "Nodes come for Pending pods",
    runbook: "Quick Validation Checklist: Nodes scale up when pods pending",
    needs: &[],
    reads: "pods (phase, scheduled), events (Pod Nominated/FailedScheduling/TriggeredScaleUp/\
            NotTriggerScaleUp, NodePool), nodeClaims, nodePools (limits, resources), \
            karpenterPods, clusterAutoscaler, apis.karpenter, capturedAt",
    docs: Docs {
        what: "For game pods the scheduler marked Unschedulable, looks for a node on the way: \
               Karpenter's Nominated event on the pod, or a NodeClaim not yet initialized \
               that was created after the pod; a NodePool at its spec.limits is named. Without \
               Karpenter, Cluster Autoscaler's TriggeredScaleUp / NotTriggerScaleUp events and \
               status ConfigMap, with its timings.",
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
    source: file!(),
    eval: scale_up,
};

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

/// What Karpenter said of a NodePool's limits on a pod.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum LimitSaid {
    /// Every instance type would take the NodePool past one of its limits.
    InstanceTypes,
    /// `spec.limits.nodes` is used up (Karpenter v1.11 and later).
    Nodes,
}

/// Karpenter's own word that a NodePool is at its limits, on a pod: Warning
/// FailedScheduling "Failed to schedule pod, ERR" (kubernetes-sigs/karpenter
/// v1.14.1 `pkg/controllers/provisioning/scheduling/events.go`
/// `PodFailedToScheduleEvent`), where ERR (`scheduler.go`
/// `addToNewNodeClaim`) names the NodePool in the shape of its release:
///
/// - v1.0–v1.2: `all available instance types exceed limits for nodepool: "NAME"`
/// - v1.3–v1.4: `all available instance types exceed limits for nodepool "NAME"`
/// - v1.5–v1.14.1: `all available instance types exceed limits for nodepool
///   (NodePool=NAME)` (awslabs/operatorpkg `serrors.Wrap`: `ERR (key=value, ...)`,
///   keys sorted; `klog.KRef("", NAME)` prints NAME)
/// - v1.11–v1.14.1 also: `node limits have been exhausted for nodepool
///   (NodePool=NAME)` once `spec.limits.nodes` is used up
///
/// With several NodePools, the errors are joined by `; ` (multierr).
const LIMITS_SAID: &[(&str, LimitSaid)] = &[
    ("exceed limits for nodepool", LimitSaid::InstanceTypes),
    (
        "node limits have been exhausted for nodepool",
        LimitSaid::Nodes,
    ),
];

/// What Karpenter's event `message` says of NodePool `pool`'s limits, in any
/// of the shapes of [`LIMITS_SAID`].
pub(super) fn limits_said(message: &str, pool: &str) -> Option<LimitSaid> {
    message.split("; ").find_map(|part| {
        let (phrase, said) = LIMITS_SAID.iter().find(|(p, _)| part.contains(p))?;
        let rest = part.split_once(phrase).map_or("", |(_, r)| r);
        let quoted = rest
            .trim_start_matches(':')
            .trim_start()
            .strip_prefix('"')
            .and_then(|r| r.split_once('"'))
            .map(|(name, _)| name);
        let keyed = rest
            .split_once("NodePool=")
            .map(|(_, r)| r.split([',', ')']).next().unwrap_or(r).trim());
        (quoted == Some(pool) || keyed == Some(pool)).then_some(*said)
    })
}

/// The `spec.limits` fields to raise for what Karpenter said of `pool`.
pub(super) fn said_fields(pool: &NodePoolInfo, said: LimitSaid) -> String {
    let fields: Vec<String> = match said {
        LimitSaid::Nodes => vec!["spec.limits.nodes".into()],
        LimitSaid::InstanceTypes => pool
            .limits
            .keys()
            .map(|k| format!("spec.limits.{k}"))
            .collect(),
    };
    if fields.is_empty() {
        "spec.limits".into()
    } else {
        fields.join(", ")
    }
}

/// The verdict when the waiting pods have no node because a NodePool reached
/// its `spec.limits` (its `status.resources`, or Karpenter's event, say so).
fn at_limits(
    ctx: &Ctx,
    waiting: &[&PodInfo],
    pools: &[NodePoolInfo],
    evidence: &[String],
) -> Option<Verdict> {
    let snap = ctx.snap;
    let events: Vec<&crate::snapshot::EventInfo> = waiting
        .iter()
        .flat_map(|p| events_for(snap, "Pod", &p.name))
        .collect();
    let said = |pool: &str| events.iter().find_map(|e| limits_said(&e.message, pool));
    let full: Vec<(&NodePoolInfo, Vec<na::Reached>, Option<LimitSaid>)> = pools
        .iter()
        .map(|p| (p, na::limits_reached(p), said(&p.name)))
        .filter(|(_, r, said)| !r.is_empty() || said.is_some())
        .collect();
    let (pool, reached, said) = full.first()?;
    let what = if reached.is_empty() {
        match said {
            Some(LimitSaid::Nodes) => "Karpenter says its node limit is used up".to_string(),
            _ => "Karpenter says all instance types exceed them".to_string(),
        }
    } else {
        reached
            .iter()
            .map(|(r, used, limit)| format!("{r} {used} of {limit}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let fields = match (reached.is_empty(), said) {
        (true, Some(said)) => said_fields(pool, *said),
        _ => reached
            .iter()
            .map(|(r, _, _)| format!("spec.limits.{r}"))
            .collect::<Vec<_>>()
            .join(", "),
    };
    let first = waiting.first()?;
    let mut ev = evidence.to_vec();
    ev.push(format!(
        "nodepool/{}: spec.limits {}; status.resources {}",
        pool.name,
        map_text(&pool.limits),
        map_text(&pool.resources)
    ));
    Some(
        with_evidence(
            Verdict::fail(format!(
                "{} {} FailedScheduling with no node coming: NodePool {} reached spec.limits ({what}) \
                 (oldest {}, {})",
                waiting.len(),
                if waiting.len() == 1 { "pod" } else { "pods" },
                pool.name,
                first.name,
                human_duration(pod_age(snap, first))
            )),
            ev,
        )
        .fix(format!(
            "Karpenter launches no node that would take NodePool {} past its limits: raise {fields} \
             on the NodePool (its nodes hold what status.resources says), or let another NodePool \
             take these pods.",
            pool.name
        ))
        .command(format!(
            "kubectl get nodepool {} -o jsonpath='{{.spec.limits}}{{\"\\n\"}}{{.status.resources}}'",
            shell_arg(&pool.name)
        )),
    )
}

fn map_text(m: &std::collections::BTreeMap<String, String>) -> String {
    if m.is_empty() {
        return "(none)".into();
    }
    m.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Karpenter's controller pods as evidence: where they run, or that none
/// was found where Karpenter runs.
fn controller_line(snap: &Snapshot) -> Option<String> {
    if let Some(g) = snap.gap("karpenter-pods") {
        return Some(format!(
            "Karpenter's controller pods could not be read: {} ({})",
            g.message, g.hint
        ));
    }
    let pods = snap.karpenter_pods.as_ref()?;
    Some(if pods.is_empty() {
        "no Karpenter controller pod found in kube-system or karpenter (label app.kubernetes.io/name=karpenter)".into()
    } else {
        format!(
            "Karpenter controller: {}",
            pods.iter()
                .take(4)
                .map(|p| format!("{} {}", p.name, p.phase))
                .collect::<Vec<_>>()
                .join(", ")
        )
    })
}

pub(super) fn scale_up(ctx: &Ctx) -> Verdict {
    let snap = ctx.snap;
    let Some(pods) = &snap.pods else {
        return ctx.not_read("pods", "game pods");
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
    let describe_pod = crate::checks::pods::describe_pod(ctx, &oldest.name);

    match karpenter(snap) {
        Some(false) if ca_seen(snap) => return ca::scale_up(ctx, &stuck, pod_lines),
        // Cluster Autoscaler's status could not be read (403): what adds
        // nodes here is unknown, not absent.
        Some(false) if snap.gap("cluster-autoscaler-status").is_some() => {
            return ctx.not_read("cluster-autoscaler-status", "Cluster Autoscaler's status");
        }
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
                |_| ctx.not_read("nodepools", "Karpenter NodePools"),
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
            return ctx.not_read("nodeclaims", "Karpenter NodeClaims");
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
        evidence.extend(controller_line(snap));
        evidence.push(if flying.is_empty() {
            "no NodeClaim in flight".into()
        } else {
            format!(
                "NodeClaims in flight (created before these pods): {}",
                flying.join(", ")
            )
        });
        let command = match pools {
            [one] => format!("kubectl describe nodepool {}", shell_arg(&one.name)),
            _ => "kubectl describe nodepools".into(),
        };
        if let Some(v) = at_limits(ctx, &waiting, pools, &evidence) {
            return v;
        }
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
        .command(format!("kubectl describe nodeclaim {}", shell_arg(name)));
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

#[cfg(test)]
mod tests {
    use super::super::tests::*;
    use super::*;

    use crate::checks::Outcome;
    use crate::checks::testkit::{
        cond, eval, event, expect, gap, healthy, node_claim as claim, nominated as nominated_event,
        pending_pod,
    };

    #[test]
    fn a_forbidden_cluster_autoscaler_status_is_an_error_naming_it_not_no_autoscaler() {
        let mut s = healthy();
        s.apis.karpenter = Some(false);
        s.node_pools = None;
        s.pods
            .as_mut()
            .unwrap()
            .push(pending_pod("spice-runner-7d9c8b5f4-zz9zz", 300));
        gap(
            &mut s,
            "cluster-autoscaler-status",
            GapReason::Forbidden,
            "configmaps \"cluster-autoscaler-status\" is forbidden",
        );
        let v = eval(scale_up, &s);
        assert_eq!(v.outcome, Outcome::Error, "{v:?}");
        assert!(v.message.contains("cluster-autoscaler-status"), "{v:?}");
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
    fn a_nodepool_at_its_limits_fails_naming_spec_limits() {
        let mut s = healthy();
        s.pods.as_mut().unwrap().push(pending_pod(POD, 90));
        let pool = &mut s.node_pools.as_mut().unwrap()[0];
        pool.limits = [("cpu".to_string(), "8".to_string())].into();
        pool.resources = [("cpu".to_string(), "8".to_string())].into();
        let v = eval(scale_up, &s);
        expect(
            &v,
            Outcome::Fail,
            "NodePool default reached spec.limits (cpu 8 of 8)",
        );
        assert!(v.fix.unwrap_or_default().contains("raise spec.limits.cpu"));

        // Below the limit, but Karpenter says so on the pod.
        s.node_pools.as_mut().unwrap()[0].resources = [("cpu".to_string(), "4".to_string())].into();
        let mut e = event(
            "Pod",
            POD,
            "Warning",
            "FailedScheduling",
            "Failed to schedule pod, all available instance types exceed limits for nodepool: \"default\"",
            20,
        );
        e.source = Some("karpenter".into());
        s.events = Some(vec![e]);
        expect(
            &eval(scale_up, &s),
            Outcome::Fail,
            "reached spec.limits (Karpenter says all instance types exceed them)",
        );
    }

    /// Karpenter's FailedScheduling words for a NodePool at its limits, as
    /// each release writes them (kubernetes-sigs/karpenter
    /// `pkg/controllers/provisioning/scheduling/scheduler.go` and `events.go`
    /// at v1.0.0, v1.3.0 and v1.14.1; awslabs/operatorpkg `serrors/serrors.go`).
    #[test]
    fn karpenters_limit_words_of_every_release_name_the_nodepool() {
        use LimitSaid::*;
        let lines = [
            // v1.0–v1.2: fmt.Errorf("... for nodepool: %q", name)
            (
                "Failed to schedule pod, all available instance types exceed limits for nodepool: \"default\"",
                InstanceTypes,
            ),
            // v1.3–v1.4: fmt.Errorf("... for nodepool %q", name)
            (
                "Failed to schedule pod, all available instance types exceed limits for nodepool \"default\"",
                InstanceTypes,
            ),
            // v1.5–v1.14.1: serrors.Wrap(err, "NodePool", klog.KRef("", name))
            (
                "Failed to schedule pod, all available instance types exceed limits for nodepool (NodePool=default)",
                InstanceTypes,
            ),
            // v1.11–v1.14.1, spec.limits.nodes used up.
            (
                "Failed to schedule pod, node limits have been exhausted for nodepool (NodePool=default)",
                Nodes,
            ),
        ];
        for (line, said) in lines {
            assert_eq!(limits_said(line, "default"), Some(said), "{line}");
            assert_eq!(limits_said(line, "def"), None, "{line}");
            assert_eq!(limits_said(line, "default-spot"), None, "{line}");
        }
        // Two NodePools (multierr joins with "; "): each is named only for
        // what is said of it.
        let two = "Failed to schedule pod, did not tolerate taint (taint=nvidia.com/gpu=true:NoSchedule); \
                   all available instance types exceed limits for nodepool (NodePool=default-spot)";
        assert_eq!(limits_said(two, "default-spot"), Some(InstanceTypes));
        assert_eq!(limits_said(two, "default"), None);
        // The scheduler's own FailedScheduling says nothing of limits.
        assert_eq!(
            limits_said("0/3 nodes are available: 3 Insufficient cpu.", "default"),
            None
        );
    }

    /// Karpenter v1.14.1's words are enough when `status.resources` is still
    /// below `spec.limits` (no instance type fits in what is left).
    #[test]
    fn a_nodepool_karpenter_v1_14_says_is_at_its_limits_fails_naming_the_field() {
        let mut s = healthy();
        s.pods.as_mut().unwrap().push(pending_pod(POD, 90));
        let pool = &mut s.node_pools.as_mut().unwrap()[0];
        pool.limits = [("cpu".to_string(), "10".to_string())].into();
        pool.resources = [("cpu".to_string(), "8".to_string())].into();
        let said = |message: &str| {
            let mut e = event("Pod", POD, "Warning", "FailedScheduling", message, 20);
            e.source = Some("karpenter".into());
            Some(vec![e])
        };
        // kubernetes-sigs/karpenter v1.14.1 scheduler.go addToNewNodeClaim.
        s.events = said(
            "Failed to schedule pod, all available instance types exceed limits for nodepool (NodePool=default)",
        );
        let v = eval(scale_up, &s);
        expect(
            &v,
            Outcome::Fail,
            "NodePool default reached spec.limits (Karpenter says all instance types exceed them)",
        );
        assert!(
            v.fix.unwrap_or_default().contains("raise spec.limits.cpu"),
            "fix"
        );

        s.node_pools.as_mut().unwrap()[0].limits = [
            ("cpu".to_string(), "10".to_string()),
            ("nodes".to_string(), "2".to_string()),
        ]
        .into();
        s.events = said(
            "Failed to schedule pod, node limits have been exhausted for nodepool (NodePool=default)",
        );
        let v = eval(scale_up, &s);
        expect(
            &v,
            Outcome::Fail,
            "NodePool default reached spec.limits (Karpenter says its node limit is used up)",
        );
        assert!(
            v.fix
                .unwrap_or_default()
                .contains("raise spec.limits.nodes on"),
            "fix"
        );

        // Another NodePool's limits are not this one's.
        s.events = said(
            "Failed to schedule pod, all available instance types exceed limits for nodepool (NodePool=gpu)",
        );
        expect(
            &eval(scale_up, &s),
            Outcome::Fail,
            "1 pod FailedScheduling with no node coming (oldest",
        );
    }
}
