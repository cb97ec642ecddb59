//! Cluster Autoscaler (GKE, AKS, EKS managed node groups): what it says on
//! the pods it was asked about, on the nodes it removes, and in its status
//! ConfigMap, judged with its own timings.
//!
//! Event shapes are upstream's (kubernetes/autoscaler cluster-autoscaler-1.33.0):
//! `processors/status/eventing_scale_up_processor.go` writes Normal
//! `TriggeredScaleUp` "pod triggered scale-up: [{GROUP 3->4 (max: 20)}]" and
//! Normal `NotTriggerScaleUp` "pod didn't trigger scale-up: 1 max node group
//! size reached" (the reasons of `core/scaleup/orchestrator/skippedreasons.go`)
//! on the pod; `core/scaledown/actuation/actuator.go` Normal `ScaleDown`
//! "marked the node as toBeDeleted/unschedulable" and Warning
//! `ScaleDownFailed` on the node. Node events land in `default` (the node has
//! no namespace), pod events in the pod's.

use super::*;
use crate::checks::pods::describe_pod;
use crate::checks::shell_arg;

/// The component name on Cluster Autoscaler's events.
pub(super) const SOURCE: &str = "cluster-autoscaler";

/// The command that prints Cluster Autoscaler's status.
const STATUS_COMMAND: &str =
    "kubectl get configmap cluster-autoscaler-status -n kube-system -o jsonpath='{.data.status}'";

/// The timings a verdict is judged with, as evidence.
fn timings() -> String {
    format!(
        "Cluster Autoscaler scans every {} (scan-interval), gives a new node {} to register \
         (max-node-provision-time), removes a node unneeded for {} (scale-down-unneeded-time) \
         and none within {} after a scale-up (scale-down-delay-after-add): its defaults, \
         cluster-autoscaler-1.33 config/const.go and config/flags/flags.go",
        human_duration(na::CA_SCAN_INTERVAL_SECS),
        human_duration(na::CA_MAX_NODE_PROVISION_SECS),
        human_duration(na::CA_SCALE_DOWN_UNNEEDED_SECS),
        human_duration(na::CA_SCALE_DOWN_DELAY_AFTER_ADD_SECS),
    )
}

/// The latest of Cluster Autoscaler's scale-up verdicts on a pod.
fn pod_verdict<'a>(snap: &'a Snapshot, pod: &PodInfo) -> Option<&'a EventInfo> {
    events_for(snap, "Pod", &pod.name).into_iter().find(|e| {
        from_ca(e)
            && matches!(
                e.reason.as_str(),
                "TriggeredScaleUp" | "NotTriggerScaleUp" | "FailedScaleUp"
            )
    })
}

/// A node on its way for a Pending pod from Cluster Autoscaler: its latest
/// word on the pod is `TriggeredScaleUp`, younger than max-node-provision-time.
pub(super) fn coming(snap: &Snapshot, pod: &PodInfo) -> Option<Coming> {
    let e = pod_verdict(snap, pod)?;
    if e.reason != "TriggeredScaleUp" {
        return None;
    }
    if e.last_seen
        .is_some_and(|t| age(snap, t) > na::CA_MAX_NODE_PROVISION_SECS)
    {
        return None;
    }
    let groups = na::triggered_scale_ups(&e.message);
    let target = match groups.first() {
        Some((g, from, to, _)) => format!("node group {g} {from}->{to}"),
        None => "a Cluster Autoscaler node group".into(),
    };
    Some(Coming {
        target,
        via: "Cluster Autoscaler TriggeredScaleUp",
        claim_age: None,
    })
}

fn group_line(g: &na::CaNodeGroup) -> String {
    let mut s = format!("node group {}: {}", g.name, g.health);
    if let (Some(t), Some(max)) = (g.target, g.max_size) {
        s.push_str(&format!(
            ", cloudProviderTarget {t} (minSize {}, maxSize {max})",
            g.min_size.map_or("?".into(), |m| m.to_string())
        ));
    }
    s.push_str(&format!(", scaleUp {}", g.scale_up));
    if let Some(b) = &g.backoff {
        s.push_str(&format!(" ({b})"));
    }
    s.push_str(&format!(", scaleDown {}", g.scale_down));
    if let Some(c) = g.candidates {
        s.push_str(&format!(" ({c} candidates)"));
    }
    s
}

fn status_lines(status: Option<&CaStatus>, snap: &Snapshot) -> Vec<String> {
    let Some(s) = status else {
        return vec![match &snap.cluster_autoscaler {
            Some(c) => format!(
                "{}: status not readable as Cluster Autoscaler's",
                c.config_map
            ),
            None => match snap.gap("cluster-autoscaler-status") {
                Some(g) => format!(
                    "cluster-autoscaler-status ConfigMap could not be read: {} ({})",
                    g.message, g.hint
                ),
                None => "cluster-autoscaler-status ConfigMap not read (kube-system)".into(),
            },
        }];
    };
    let mut v = vec![format!(
        "Cluster Autoscaler status ({}, {}): {}, health {}, scaleUp {}, scaleDown {}",
        snap.cluster_autoscaler
            .as_ref()
            .map_or("", |c| c.config_map.as_str()),
        if s.format == "yaml" {
            "YAML, CA ≥ 1.30"
        } else {
            "plain text, CA < 1.30"
        },
        s.autoscaler.as_deref().unwrap_or("Running"),
        s.health,
        s.scale_up,
        s.scale_down
    )];
    v.extend(s.groups.iter().take(10).map(group_line));
    v
}

/// `nodes.scale-up` on a cluster whose nodes Cluster Autoscaler adds.
pub(super) fn scale_up(ctx: &Ctx, stuck: &[&PodInfo], pod_lines: Vec<String>) -> Verdict {
    let snap = ctx.snap;
    let status = ca_status(snap);
    let n = stuck.len();
    let pods_word = if n == 1 { "pod" } else { "pods" };
    let mut refused = Vec::new();
    let mut triggered = Vec::new();
    let mut silent = Vec::new();
    for p in stuck {
        match pod_verdict(snap, p) {
            Some(e) if e.reason == "TriggeredScaleUp" => triggered.push((*p, e)),
            Some(e) => refused.push((*p, e)),
            None => silent.push(*p),
        }
    }
    let quoted = |list: &[(&PodInfo, &EventInfo)]| -> Vec<String> {
        list.iter()
            .take(5)
            .map(|(p, e)| format!("{}: {}", p.name, quote_event(snap, e)))
            .collect()
    };
    let mut evidence = pod_lines;
    if let Some((p0, e0)) = refused.first() {
        evidence.extend(quoted(&refused));
        evidence.extend(status_lines(status.as_ref(), snap));
        evidence.push(timings());
        let at_max: Vec<&na::CaNodeGroup> = status
            .iter()
            .flat_map(|s| &s.groups)
            .filter(|g| matches!((g.target, g.max_size), (Some(t), Some(m)) if t >= m))
            .collect();
        let max_reached = e0.message.contains("max node group size reached") || !at_max.is_empty();
        let fix = if max_reached {
            let groups = if at_max.is_empty() {
                "the node group".to_string()
            } else {
                at_max
                    .iter()
                    .map(|g| {
                        format!(
                            "node group {} (at its maxSize {})",
                            g.name,
                            g.max_size.unwrap_or_default()
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            format!(
                "Cluster Autoscaler never grows a node group past its maximum: raise the maximum \
                 size of {groups} (EKS managed node group scalingConfig.maxSize, GKE node pool \
                 --max-nodes, AKS node pool --max-count, or the --nodes=MIN:MAX:GROUP flag), or \
                 lower the pods' requests."
            )
        } else {
            "Cluster Autoscaler found no node group that would fit these pods: its reason names \
             why (node selectors, taints, resources, max total nodes); fix the pods' \
             requirements or add a node group that fits them."
                .to_string()
        };
        return with_evidence(
            Verdict::fail(format!(
                "{n} {pods_word} unschedulable and Cluster Autoscaler will not add a node \
                 (oldest {}, {}): {}",
                p0.name,
                human_duration(pod_age(snap, p0)),
                shorten(&e0.message, 200)
            )),
            evidence,
        )
        .fix(fix)
        .command(STATUS_COMMAND);
    }
    evidence.extend(quoted(&triggered));
    evidence.extend(status_lines(status.as_ref(), snap));
    evidence.push(timings());
    let backoff: Vec<&na::CaNodeGroup> = status
        .iter()
        .flat_map(|s| &s.groups)
        .filter(|g| g.scale_up == "Backoff")
        .collect();
    if let Some(g) = backoff.first() {
        return with_evidence(
            Verdict::warn(format!(
                "{n} unschedulable {pods_word}; Cluster Autoscaler backs off node group {} after a \
                 failed scale-up: {}",
                g.name,
                g.backoff.as_deref().unwrap_or("no reason given")
            )),
            evidence,
        )
        .fix(
            "The cloud refused the new node (quota, capacity, instance type): fix what the \
             backoff names; Cluster Autoscaler retries after the backoff.",
        )
        .command(STATUS_COMMAND);
    }
    let scan_slack = 3 * na::CA_SCAN_INTERVAL_SECS;
    let late_silent: Vec<&PodInfo> = silent
        .iter()
        .copied()
        .filter(|p| pod_age(snap, p) > scan_slack)
        .collect();
    if let Some(p) = late_silent.first() {
        return with_evidence(
            Verdict::warn(format!(
                "{} unschedulable {} with no word from Cluster Autoscaler (oldest {}, {}): it \
                 scans every {}",
                late_silent.len(),
                if late_silent.len() == 1 {
                    "pod"
                } else {
                    "pods"
                },
                p.name,
                human_duration(pod_age(snap, p)),
                human_duration(na::CA_SCAN_INTERVAL_SECS)
            )),
            evidence,
        )
        .fix(
            "Cluster Autoscaler writes TriggeredScaleUp or NotTriggerScaleUp on every pod it \
             considers: none means it is not running, or ignores the pods (they are younger \
             than --new-pod-scale-up-delay, or their priority is below the cutoff). See its \
             status and logs.",
        )
        .command(describe_pod(ctx, &p.name));
    }
    let mut groups: Vec<String> = triggered
        .iter()
        .flat_map(|(_, e)| na::triggered_scale_ups(&e.message))
        .map(|(g, from, to, max)| format!("{g} {from}->{to} (max: {max})"))
        .collect();
    groups.sort();
    groups.dedup();
    let message = if groups.is_empty() {
        format!(
            "{n} unschedulable {pods_word}, younger than Cluster Autoscaler's next scans (every {})",
            human_duration(na::CA_SCAN_INTERVAL_SECS)
        )
    } else {
        format!(
            "{n} unschedulable {pods_word}, Cluster Autoscaler scaling up: {}",
            groups.join(", ")
        )
    };
    with_evidence(Verdict::pass(message), evidence)
}

/// `nodes.scale-down` on a cluster whose nodes Cluster Autoscaler removes.
pub(super) fn scale_down(ctx: &Ctx) -> Verdict {
    let snap = ctx.snap;
    let status = ca_status(snap);
    let node_events: Vec<&EventInfo> = snap
        .events
        .iter()
        .flatten()
        .filter(|e| e.object_kind == "Node" && from_ca(e))
        .collect();
    let mut evidence: Vec<String> = node_events
        .iter()
        .take(5)
        .map(|e| format!("node/{}: {}", e.object_name, quote_event(snap, e)))
        .collect();
    evidence.extend(status_lines(status.as_ref(), snap));
    evidence.push(timings());
    if let Some(e) = node_events.iter().find(|e| {
        e.reason == "ScaleDownFailed"
            && e.last_seen
                .is_none_or(|t| age(snap, t) < na::CA_SCALE_DOWN_UNNEEDED_SECS)
    }) {
        return with_evidence(
            Verdict::warn(format!(
                "Cluster Autoscaler failed to remove node {}: {}",
                e.object_name,
                shorten(&e.message, 200)
            )),
            evidence,
        )
        .fix(
            "Cluster Autoscaler could not drain or delete the node (PodDisruptionBudgets, pods \
             that cannot move, the cloud API): its message says which; it retries on later scans.",
        )
        .command(format!(
            "kubectl describe node {}",
            shell_arg(&e.object_name)
        ));
    }
    let removing: Vec<&str> = node_events
        .iter()
        .filter(|e| matches!(e.reason.as_str(), "ScaleDown" | "ScaleDownEmpty"))
        .map(|e| e.object_name.as_str())
        .collect();
    let message = match (&status, removing.is_empty()) {
        (_, false) => format!(
            "Cluster Autoscaler is removing node(s) {}",
            shorten(&removing.join(", "), 200)
        ),
        (Some(s), true) => {
            let candidates: i64 = s.groups.iter().filter_map(|g| g.candidates).sum();
            format!(
                "Cluster Autoscaler scale-down {}{}",
                if s.scale_down.is_empty() {
                    "status unknown"
                } else {
                    s.scale_down.as_str()
                },
                if candidates > 0 {
                    format!(
                        " ({candidates} candidate node(s): removed once unneeded for {})",
                        human_duration(na::CA_SCALE_DOWN_UNNEEDED_SECS)
                    )
                } else {
                    String::new()
                }
            )
        }
        (None, true) => {
            "Cluster Autoscaler runs (its events); its status ConfigMap was not read".to_string()
        }
    };
    with_evidence(Verdict::pass(message), evidence)
}

/// How `nodes.ready` names the nodes' origin on a Cluster Autoscaler cluster.
pub(super) fn ready_note(snap: &Snapshot) -> String {
    let groups: Vec<String> = ca_status(snap)
        .map(|s| s.groups.into_iter().map(|g| g.name).collect())
        .unwrap_or_default();
    if groups.is_empty() {
        "Cluster Autoscaler, no Karpenter".into()
    } else {
        format!(
            "Cluster Autoscaler node groups {}, no Karpenter",
            shorten(&groups.join(", "), 120)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::POD;
    use super::super::{scale_down::scale_down, scale_up::scale_up};
    use super::*;
    use crate::checks::Outcome;
    use crate::checks::testkit::{eval, event, expect, healthy, pending_pod};
    use crate::domain::snapshot::ClusterAutoscalerInfo;

    fn ca_cluster() -> Snapshot {
        let mut s = healthy();
        s.apis.karpenter = Some(false);
        s.node_pools = None;
        s.node_claims = None;
        for n in s.nodes.as_mut().into_iter().flatten() {
            n.node_pool = None;
        }
        s.cluster_autoscaler = Some(ClusterAutoscalerInfo {
            config_map: "kube-system/cluster-autoscaler-status".into(),
            status: "time: \"x\"\nautoscalerStatus: Running\nclusterWide:\n  health:\n    status: Healthy\n  scaleUp:\n    status: NoActivity\n  scaleDown:\n    status: NoCandidates\nnodeGroups:\n- name: eks-spice-ng\n  health:\n    status: Healthy\n    cloudProviderTarget: 3\n    minSize: 1\n    maxSize: 3\n  scaleUp:\n    status: NoActivity\n  scaleDown:\n    status: NoCandidates\n".into(),
            last_updated: None,
        });
        s
    }

    fn ca_event(reason: &str, message: &str, secs: i64) -> EventInfo {
        let mut e = event("Pod", POD, "Normal", reason, message, secs);
        e.source = Some(SOURCE.into());
        e
    }

    #[test]
    fn a_triggered_scale_up_is_a_node_coming() {
        let mut s = ca_cluster();
        s.pods.as_mut().unwrap().push(pending_pod(POD, 60));
        s.events = Some(vec![ca_event(
            "TriggeredScaleUp",
            "pod triggered scale-up: [{eks-spice-ng 3->4 (max: 20)}]",
            50,
        )]);
        let v = eval(scale_up, &s);
        expect(
            &v,
            Outcome::Pass,
            "Cluster Autoscaler scaling up: eks-spice-ng 3->4 (max: 20)",
        );
        assert!(node_coming(&s, &s.pods.as_ref().unwrap()[3]).is_some());
    }

    #[test]
    fn not_triggered_at_max_size_fails_naming_the_group_max() {
        let mut s = ca_cluster();
        s.pods.as_mut().unwrap().push(pending_pod(POD, 90));
        s.events = Some(vec![ca_event(
            "NotTriggerScaleUp",
            "pod didn't trigger scale-up: 1 max node group size reached",
            20,
        )]);
        let v = eval(scale_up, &s);
        expect(&v, Outcome::Fail, "Cluster Autoscaler will not add a node");
        let fix = v.fix.unwrap_or_default();
        assert!(
            fix.contains("node group eks-spice-ng (at its maxSize 3)"),
            "{fix}"
        );
        assert!(node_coming(&s, &s.pods.as_ref().unwrap()[3]).is_none());
    }

    #[test]
    fn scale_down_reads_node_events_and_status() {
        let mut s = ca_cluster();
        expect(
            &eval(scale_down, &s),
            Outcome::Pass,
            "scale-down NoCandidates",
        );
        let mut e = event(
            "Node",
            "node-a",
            "Normal",
            "ScaleDown",
            "marked the node as toBeDeleted/unschedulable",
            30,
        );
        e.source = Some(SOURCE.into());
        s.events = Some(vec![e.clone()]);
        expect(
            &eval(scale_down, &s),
            Outcome::Pass,
            "Cluster Autoscaler is removing node(s) node-a",
        );
        e.type_ = "Warning".into();
        e.reason = "ScaleDownFailed".into();
        e.message = "failed to drain the node".into();
        s.events = Some(vec![e]);
        expect(
            &eval(scale_down, &s),
            Outcome::Warn,
            "failed to remove node node-a",
        );
    }
}
