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
