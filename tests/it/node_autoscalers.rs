//! Node autoscalers as they are (issue 18 items 7–8's node half, issue 19
//! items 7 and 9): Karpenter's disruption budgets and NodePool limits, and
//! Cluster Autoscaler instead of Karpenter. Each scenario is built from
//! upstream shapes (its scenario.yaml names the file and version) and judged
//! end to end with the real binary.

use crate::diagnose::{
    assert_outcome, assert_root_cause, assert_summary_counts, check, diagnose, fix, message, table,
};
use crate::support::spice::Cluster;

/// The healthy variants: exit 0, nothing failing.
fn assert_healthy(scenario: &str) -> serde_json::Value {
    let c = Cluster::start(scenario);
    let (run, report) = diagnose(&c, &[]);
    assert_eq!(
        run.code,
        0,
        "{scenario}: stderr: {}\n{}",
        run.stderr,
        table(&report)
    );
    assert_eq!(
        report["summary"]["fail"],
        0,
        "{scenario}:\n{}",
        table(&report)
    );
    assert!(
        report["rootCause"].is_null(),
        "{scenario}:\n{}",
        table(&report)
    );
    assert_summary_counts(&report);
    report
}

/// A NodePool budget of nodes "0" with empty nodes: the root cause is the
/// budget, and the fix names the field.
#[test]
fn a_zero_disruption_budget_keeping_empty_nodes_is_the_root_cause() {
    let c = Cluster::start("karpenter-budget-zero");
    let (run, report) = diagnose(&c, &[]);
    assert_root_cause(&run, &report, "nodes.scale-down");
    let m = message(&report, "nodes.scale-down");
    assert!(
        m.contains(
            "NodePool default's disruption budget spec.disruption.budgets[0] (nodes: \"0\")"
        ),
        "{m}"
    );
    assert!(m.contains("2 empty Karpenter node(s) stay"), "{m}");
    assert!(
        fix(&report, "nodes.scale-down").contains("spec.disruption.budgets[0]"),
        "{}",
        table(&report)
    );
    // Karpenter's own word, from the NodePool event in `default`.
    let evidence = check(&report, "nodes.scale-down")["evidence"].to_string();
    assert!(
        evidence.contains(
            "DisruptionBlocked (x23, 40s ago, karpenter): No allowed disruptions for disruption reason Empty due to blocking budget"
        ),
        "{evidence}"
    );
}

/// A budget of nodes "0" scheduled for another time is not active: healthy.
/// (Its window is 31 December 22:00 UTC for 4 h; inside it the same
/// scenario must say the budget is active, so the test holds either way.)
#[test]
fn a_zero_budget_scheduled_for_another_time_is_not_active() {
    let now = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC);
    let in_window = (now.month() == 12 && now.day() == 31 && now.hour() >= 22)
        || (now.month() == 1 && now.day() == 1 && now.hour() < 2);
    let report = if in_window {
        let c = Cluster::start("karpenter-budget-scheduled");
        diagnose(&c, &[]).1
    } else {
        assert_healthy("karpenter-budget-scheduled")
    };
    let evidence = check(&report, "nodes.scale-down")["evidence"].to_string();
    let expected = if in_window {
        "active now"
    } else {
        "not active now"
    };
    assert!(
        evidence.contains(&format!(
            "NodePool default spec.disruption.budgets[1] (nodes: \\\"0\\\", schedule: \\\"0 22 31 12 *\\\", duration: 4h): {expected}"
        )),
        "{evidence}"
    );
}

/// A NodePool at its `spec.limits` with Pending pods: broken, and the fix
/// names `spec.limits`.
#[test]
fn a_nodepool_at_its_limits_names_spec_limits() {
    let c = Cluster::start("karpenter-limits-reached");
    let (run, report) = diagnose(&c, &[]);
    assert_root_cause(&run, &report, "pods.pending");
    assert_outcome(&report, "nodes.scale-up", "fail");
    let m = message(&report, "nodes.scale-up");
    assert!(
        m.contains("NodePool default reached spec.limits (cpu 8 of 8)"),
        "{m}"
    );
    let f = fix(&report, "nodes.scale-up");
    assert!(f.contains("raise spec.limits.cpu"), "{f}");
    // The root cause's fix names the field too.
    let f = fix(&report, "pods.pending");
    assert!(
        f.contains("NodePool default reached its limits (cpu 8 of 8): raise spec.limits.cpu"),
        "{f}"
    );
    let evidence = check(&report, "nodes.scale-up")["evidence"].to_string();
    assert!(
        evidence.contains("exceed limits for nodepool"),
        "{evidence}"
    );
    // Karpenter's controller, found where the EKS add-on runs it.
    assert!(
        evidence.contains("Karpenter controller: karpenter-6f9d8c7b5d-w4xkq Running"),
        "{evidence}"
    );
}

/// Cluster Autoscaler scaling up within its timings: healthy, and the
/// verdicts say what Cluster Autoscaler said, not "no node autoscaler known".
#[test]
fn cluster_autoscaler_scaling_up_is_healthy() {
    let report = assert_healthy("cluster-autoscaler-scale-up");
    assert_outcome(&report, "nodes.scale-up", "pass");
    let m = message(&report, "nodes.scale-up");
    assert!(
        m.contains(
            "1 unschedulable pod, Cluster Autoscaler scaling up: eks-game-5cc6a1f2-9e3b-4d7a-b812-3f0c6d9e2a47 2->3 (max: 20)"
        ),
        "{m}"
    );
    let evidence = check(&report, "nodes.scale-up")["evidence"].to_string();
    assert!(evidence.contains("scaleUp InProgress"), "{evidence}");
    assert!(evidence.contains("YAML, CA ≥ 1.30"), "{evidence}");
    let ready = message(&report, "nodes.ready");
    assert!(
        ready.contains("Cluster Autoscaler node groups eks-game-5cc6a1f2"),
        "{ready}"
    );
    assert!(!ready.contains("from Karpenter"), "{ready}");
    // pods.pending sees the node coming from Cluster Autoscaler.
    assert!(
        check(&report, "pods.pending")["evidence"]
            .to_string()
            .contains("node coming: node group eks-game-5cc6a1f2-9e3b-4d7a-b812-3f0c6d9e2a47 2->3"),
        "{}",
        table(&report)
    );
}

/// Cluster Autoscaler refusing at the node group's max size: broken, and the
/// fix names the node group's maximum.
#[test]
fn cluster_autoscaler_at_max_size_names_the_node_group_maximum() {
    let c = Cluster::start("cluster-autoscaler-max-size");
    let (run, report) = diagnose(&c, &[]);
    assert_root_cause(&run, &report, "pods.pending");
    assert_outcome(&report, "nodes.scale-up", "fail");
    let m = message(&report, "nodes.scale-up");
    assert!(m.contains("Cluster Autoscaler will not add a node"), "{m}");
    assert!(m.contains("1 max node group size reached"), "{m}");
    let f = fix(&report, "nodes.scale-up");
    assert!(
        f.contains("node group eks-game-5cc6a1f2-9e3b-4d7a-b812-3f0c6d9e2a47 (at its maxSize 2)"),
        "{f}"
    );
    let f = fix(&report, "pods.pending");
    assert!(
        f.contains("node group eks-game-5cc6a1f2-9e3b-4d7a-b812-3f0c6d9e2a47 is at its maxSize 2"),
        "{f}"
    );
}

/// Cluster Autoscaler removing an empty node: healthy.
#[test]
fn cluster_autoscaler_scaling_down_is_healthy() {
    let report = assert_healthy("cluster-autoscaler-scale-down");
    assert_outcome(&report, "nodes.scale-down", "pass");
    let m = message(&report, "nodes.scale-down");
    assert!(
        m.contains(
            "Cluster Autoscaler is removing node(s) ip-10-0-78-9.us-west-2.compute.internal"
        ),
        "{m}"
    );
    let evidence = check(&report, "nodes.scale-down")["evidence"].to_string();
    assert!(
        evidence.contains(
            "ScaleDown (14s ago, cluster-autoscaler): marked the node as toBeDeleted/unschedulable"
        ),
        "{evidence}"
    );
    assert!(evidence.contains("scale-down-unneeded-time"), "{evidence}");
}

/// Karpenter's controller installed with its Helm chart in `karpenter`
/// (not the EKS add-on's `kube-system`) is found there too.
#[test]
fn karpenters_controller_is_found_in_the_karpenter_namespace() {
    let mut s = crate::support::scenario::Scenario::load("karpenter-limits-reached");
    let mut ns = s
        .of_kind("Namespace")
        .find(|n| n["metadata"]["name"] == "kube-system")
        .cloned()
        .expect("kube-system");
    ns["metadata"]["name"] = "karpenter".into();
    ns["metadata"]["labels"]["kubernetes.io/metadata.name"] = "karpenter".into();
    ns["metadata"]["uid"] = "4e1c9a72-3b5d-4f08-8d26-c7a0e5b9f312".into();
    s.objects.push(ns);
    for o in &mut s.objects {
        if o["kind"] == "Pod" && o["metadata"]["name"] == "karpenter-6f9d8c7b5d-w4xkq" {
            o["metadata"]["namespace"] = "karpenter".into();
        }
    }
    let c = Cluster::with(s, true);
    let (_, report) = diagnose(&c, &[]);
    let evidence = check(&report, "nodes.scale-up")["evidence"].to_string();
    assert!(
        evidence.contains("Karpenter controller: karpenter-6f9d8c7b5d-w4xkq Running"),
        "{evidence}"
    );
}

/// Node events are recorded in `default` (a Node has no namespace): with the
/// game in `games`, Cluster Autoscaler's ScaleDown on a node is still read.
#[test]
fn node_events_are_read_in_default_when_the_game_runs_elsewhere() {
    let mut s = crate::support::scenario::Scenario::load("cluster-autoscaler-scale-down");
    s.name = "cluster-autoscaler-scale-down-in-games".into();
    for o in &mut s.objects {
        let cluster_scoped_subject = o["kind"] == "Event"
            && matches!(
                o["involvedObject"]["kind"].as_str(),
                Some("Node" | "NodePool" | "NodeClaim")
            );
        if o["metadata"]["namespace"] == "default" && !cluster_scoped_subject {
            o["metadata"]["namespace"] = "games".into();
            if o["involvedObject"]["namespace"] == "default" {
                o["involvedObject"]["namespace"] = "games".into();
            }
        }
    }
    let c = Cluster::with(s, true);
    let (_, report) = diagnose(&c, &["-n", "games", "--only", "nodes.*"]);
    let m = message(&report, "nodes.scale-down");
    assert!(
        m.contains(
            "Cluster Autoscaler is removing node(s) ip-10-0-78-9.us-west-2.compute.internal"
        ),
        "{}",
        table(&report)
    );
}

/// Idle at night on a shared cluster: the game's two Karpenter nodes still
/// run another workload's pod each (a Prometheus StatefulSet pod, a
/// `spice-runner-admin` Deployment pod), so Karpenter rightly keeps them and
/// no lingering node is reported. The DaemonSet pods and a finished Job pod
/// beside them do not hold a node (Karpenter `IsReschedulable`); without the
/// admin pod, its node lingers and is the one named.
#[test]
fn idle_nodes_other_workloads_hold_are_not_lingering_and_daemonsets_do_not_hold() {
    let report = assert_healthy("idle-nodes-held");
    assert_outcome(&report, "nodes.scale-down", "pass");
    let evidence = check(&report, "nodes.scale-down")["evidence"].to_string();
    for node in [
        "ip-10-0-45-112.us-west-2.compute.internal: no spice-runner pods, but 1 other pod",
        "ip-10-0-78-9.us-west-2.compute.internal: no spice-runner pods, but 1 other pod",
    ] {
        assert!(evidence.contains(node), "{node}: {evidence}");
    }
    // The admin pod shares the game's name prefix but is not a game pod.
    assert_outcome(&report, "sessions.ratio", "pass");
    assert!(
        message(&report, "sessions.ratio").contains("0 pods"),
        "{}",
        table(&report)
    );

    let mut s = crate::support::scenario::Scenario::load("idle-nodes-held");
    s.objects
        .retain(|o| o["metadata"]["name"] != "spice-runner-admin-6f7d8c9b5-x2k4p");
    let c = Cluster::with(s, true);
    let (run, report) = diagnose(&c, &["--only", "nodes.*"]);
    assert_eq!(run.code, 0, "{}", table(&report));
    assert_outcome(&report, "nodes.scale-down", "warn");
    let said = message(&report, "nodes.scale-down");
    assert!(
        said.contains("1 Karpenter node(s) with no spice-runner pods")
            && said.contains("ip-10-0-78-9")
            && !said.contains("ip-10-0-45-112"),
        "{said}"
    );
}

/// Karpenter 1.14.1 names the NodePool at its limits its own way
/// (`(NodePool=default)`, not `"default"`): with `status.resources` still
/// below `spec.limits` (no instance type fits in the 2 vCPU left), its
/// FailedScheduling alone tells, and both the root cause and nodes.scale-up
/// name the field to raise.
#[test]
fn karpenter_v1_14_saying_a_nodepool_is_at_its_limits_names_spec_limits() {
    let c = Cluster::start("karpenter-limits-reached-v1-14");
    let (run, report) = diagnose(&c, &[]);
    assert_root_cause(&run, &report, "pods.pending");
    let f = fix(&report, "pods.pending");
    assert!(
        f.contains(
            "NodePool default is at its limits (Karpenter says every instance type would exceed \
             them): raise spec.limits.cpu"
        ),
        "{f}"
    );
    assert_outcome(&report, "nodes.scale-up", "fail");
    let m = message(&report, "nodes.scale-up");
    assert!(
        m.contains(
            "NodePool default reached spec.limits (Karpenter says all instance types exceed them)"
        ),
        "{m}"
    );
    assert!(
        fix(&report, "nodes.scale-up").contains("raise spec.limits.cpu"),
        "{}",
        table(&report)
    );
    let evidence = check(&report, "nodes.scale-up")["evidence"].to_string();
    assert!(
        evidence.contains("spec.limits cpu=10; status.resources cpu=8"),
        "{evidence}"
    );
}
