//! Evidence as `diagnose` prints it: grouped (the same message once, with a
//! count and the objects), ranked (the event naming the cause before the
//! symptoms), then cut. `pending-no-node`: Karpenter's
//! NoCompatibleInstanceTypes leads nodes.scale-up instead of hiding behind
//! the scheduler's repeated FailedScheduling.

use crate::support::spice::Cluster;

#[test]
fn pending_no_node_leads_with_karpenters_cause_and_shows_the_schedulers_message_once() {
    let c = Cluster::without_prometheus("pending-no-node");
    let run = c.spice(&["diagnose"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    let row = lines
        .iter()
        .position(|l| l.contains("✗ fail  nodes.scale-up"))
        .unwrap_or_else(|| panic!("{}", run.stdout));
    assert!(
        lines[row + 1].contains("Warning NoCompatibleInstanceTypes"),
        "the cause is the first evidence line:\n{}",
        run.stdout
    );
    // The scheduler's message: once per check, for both pods, counts added.
    let scheduler: Vec<&&str> = lines
        .iter()
        .filter(|l| l.contains("Warning FailedScheduling"))
        .collect();
    assert!(!scheduler.is_empty(), "{}", run.stdout);
    for l in &scheduler {
        assert!(
            l.trim_start().starts_with(
                "2× spice-runner-7d9c8b5f4-6vtrl, spice-runner-7d9c8b5f4-s8gcf: Warning FailedScheduling (x12 in all"
            ),
            "grouped with a count and the objects: {l}\n{}",
            run.stdout
        );
    }
    // Wide shows every group, the cause still first.
    let wide = c.spice(&["diagnose", "-o", "wide"]);
    let lines: Vec<&str> = wide.stdout.lines().collect();
    let row = lines
        .iter()
        .position(|l| l.contains("fail  nodes.scale-up"))
        .unwrap_or_else(|| panic!("{}", wide.stdout));
    assert!(
        lines[row + 1].contains("NoCompatibleInstanceTypes"),
        "{}",
        wide.stdout
    );
    assert!(!wide.stdout.contains("more (-o wide)"), "{}", wide.stdout);
}
