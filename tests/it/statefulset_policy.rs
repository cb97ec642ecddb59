//! A StatefulSet KEDA scales with podManagementPolicy OrderedReady: its pods
//! start one at a time, so `keda.scaledobject` warns, saying the fix cannot be
//! made in place; the read is the StatefulSet GET the collect step already
//! makes to follow it.

use crate::diagnose::{assert_outcome, check, diagnose, message, table};
use crate::support::spice::Cluster;

#[test]
fn an_ordered_ready_statefulset_target_warns_that_its_pods_start_one_at_a_time_and_exits_0() {
    let c = Cluster::start("target-statefulset-ordered-ready");
    let (run, report) = diagnose(&c, &[]);
    // A warning, not a failure: the game still scales.
    assert_eq!(run.code, 0, "stderr: {}\n{}", run.stderr, table(&report));
    assert_outcome(&report, "keda.scaledobject", "warn");
    assert_eq!(
        message(&report, "keda.scaledobject"),
        "StatefulSet spice-runner has podManagementPolicy OrderedReady: its pods start one at a time, each only after the one before is Running and Ready, so a rise of N sessions waits N pod start-ups"
    );
    let finding = check(&report, "keda.scaledobject");
    let fix = finding["remediation"]["fix"].as_str().unwrap_or_default();
    assert!(
        fix.contains("podManagementPolicy: Parallel")
            && fix.contains("cannot be changed on an existing StatefulSet")
            && fix.contains("kubectl delete statefulset spice-runner -n default --cascade=orphan"),
        "{finding:#}"
    );
    // Judged on the pods it followed: the 3 ordinal pods, no other finding.
    assert_outcome(&report, "sessions.ratio", "pass");
    assert_eq!(report["summary"]["fail"], 0, "{}", table(&report));
}
