//! Real clusters beside the one clean cluster (issue 9, KEDA items): other
//! ScaledObjects in the namespace, KEDA 2.19 / 2.20.0 / 2.20.2 and their HPA
//! health conditions, one-direction pauses, and events recorded through
//! events.k8s.io. Each scenario is built from upstream shapes (see its
//! scenario.yaml) and judged end to end with the real binary.

use crate::diagnose::{
    assert_outcome, assert_root_cause, assert_summary_counts, check, diagnose, message, table,
};
use crate::support::spice::Cluster;

/// kedacore/keda#6359: another ScaledObject's errors in the shared operator
/// log are never evidence against ours.
#[test]
fn a_failing_neighbour_scaled_object_is_not_blamed_on_ours() {
    let c = Cluster::start("other-scaledobject-failing");
    let (run, report) = diagnose(&c, &[]);
    assert_eq!(run.code, 0, "stderr: {}\n{}", run.stderr, table(&report));
    assert!(report["rootCause"].is_null(), "{}", table(&report));
    for id in ["keda.operator-logs", "keda.ready", "keda.events"] {
        assert_outcome(&report, id, "pass");
    }
    let logs = check(&report, "keda.operator-logs");
    assert!(
        message(&report, "keda.operator-logs").contains("log lines about spice-runner-keda"),
        "{logs}"
    );
    // The neighbour's lines are context, shown with -o wide, never quoted as ours.
    let evidence = logs["evidence"].to_string();
    assert!(
        evidence.contains(
            "not counted: 4 error line(s) about other ScaledObjects (default/internal-app-3)"
        ),
        "{evidence}"
    );
    assert!(
        !evidence.contains("context deadline exceeded"),
        "{evidence}"
    );
    let wide = c.spice(&["diagnose", "-o", "wide", "--color", "never"]);
    assert_eq!(wide.code, 0, "{}", wide.stderr);
    assert!(
        wide.stdout.contains("default/internal-app-3"),
        "{}",
        wide.stdout
    );
    assert_summary_counts(&report);
}

/// A healthy cluster of each supported KEDA version diagnoses clean.
#[test]
fn healthy_clusters_of_keda_2_19_2_20_0_and_2_20_2_exit_0() {
    for scenario in ["healthy", "keda-2.20.0", "keda-2.20.2"] {
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
        for id in [
            "keda.ready",
            "keda.metrics-apiserver",
            "hpa.conditions",
            "keda.events",
        ] {
            assert_outcome(&report, id, "pass");
        }
    }
}

/// KEDA 2.20.0–2.20.1 turn Ready False (HPAMetricsUnavailable) and 2.20.2
/// sets HPAActive False when the HPA cannot read its metric: either way the
/// HPA checks still run and the root cause names the metrics API server.
#[test]
fn keda_2_20_hpa_health_blames_the_metrics_apiserver_and_never_blocks_the_hpa_checks() {
    for (scenario, ready_says) in [
        ("hpa-inactive", None),
        (
            "keda-2.20.0-hpa-unhealthy",
            Some("Ready=False (HPAMetricsUnavailable"),
        ),
        (
            "keda-2.20.2-hpa-unhealthy",
            Some("HPAActive=False (FailedGetExternalMetric"),
        ),
    ] {
        let c = Cluster::start(scenario);
        let (run, report) = diagnose(&c, &[]);
        assert_root_cause(&run, &report, "keda.metrics-apiserver");
        let root = message(&report, "keda.metrics-apiserver");
        assert!(
            root.contains(
                "keda-operator-metrics-apiserver-5c7d9f8b6-p4t7n: CrashLoopBackOff, 6 restarts"
            ),
            "{scenario}: {root}"
        );
        match ready_says {
            None => assert_outcome(&report, "keda.ready", "pass"),
            Some(says) => {
                assert_outcome(&report, "keda.ready", "warn");
                assert!(
                    message(&report, "keda.ready").contains(says),
                    "{scenario}: {}",
                    message(&report, "keda.ready")
                );
            }
        }
        // The HPA's own evidence is judged, not skipped behind keda.ready.
        for id in ["hpa.exists", "keda.active"] {
            assert!(
                check(&report, id)["blockedBy"].is_null(),
                "{scenario} {id}:\n{}",
                table(&report)
            );
        }
        assert_outcome(&report, "hpa.conditions", "fail");
        assert!(
            message(&report, "hpa.conditions").contains("FailedGetExternalMetric"),
            "{scenario}: {}",
            message(&report, "hpa.conditions")
        );
        assert_summary_counts(&report);
    }
}

/// `paused-scale-in` sets Paused True but is not a pause: KEDA keeps the HPA
/// and keeps scaling out. It is reported as what it is, keda.active is
/// judged, and status shows no PAUSED.
#[test]
fn a_one_way_pause_is_reported_as_such_and_status_does_not_say_paused() {
    let c = Cluster::start("keda-paused-scale-in");
    let (run, report) = diagnose(&c, &[]);
    assert_eq!(run.code, 0, "stderr: {}\n{}", run.stderr, table(&report));
    assert_outcome(&report, "keda.paused", "warn");
    let said = message(&report, "keda.paused");
    assert!(
        said.contains("scale-in is paused: sessions end but pods stay")
            && said.contains("autoscaling.keda.sh/paused-scale-in=true"),
        "{said}"
    );
    assert_outcome(&report, "keda.active", "pass");
    assert_outcome(&report, "hpa.exists", "pass");
    let status = c.spice(&["status", "-o", "json"]);
    assert_eq!(status.code, 0, "{}", status.stderr);
    assert_eq!(status.json()["keda"]["paused"], false, "{}", status.stdout);
    assert_eq!(
        status.json()["keda"]["pausedScaleIn"],
        true,
        "{}",
        status.stdout
    );
    let table_view = c.spice(&["status", "--color", "never"]);
    assert_eq!(table_view.code, 0, "{}", table_view.stderr);
    assert!(
        !table_view.stdout.contains("PAUSED")
            && !table_view.stdout.contains("not paused")
            && table_view
                .stdout
                .contains("! scale-in paused (pods stay when sessions end)"),
        "{}",
        table_view.stdout
    );
}

/// KEDA 2.20 writes KEDAScalerFailed through events.k8s.io: first seen 20
/// minutes ago, last seen 5 s ago in its series. That is ongoing (fail),
/// with the series' count.
#[test]
fn an_events_k8s_io_series_keeps_a_20_minute_old_event_current() {
    let c = Cluster::start("keda-2.20.2-trigger-failing");
    let (run, report) = diagnose(&c, &[]);
    assert_root_cause(&run, &report, "keda.ready");
    assert_outcome(&report, "keda.events", "fail");
    let events = check(&report, "keda.events");
    let said = format!("{} {}", events["message"], events["evidence"]);
    assert!(said.contains("KEDAScalerFailed"), "{said}");
    assert!(said.contains("count 240"), "{said}");
    assert!(!said.contains("may be over"), "{said}");
    assert!(
        ["4s ago", "5s ago", "6s ago", "7s ago"]
            .iter()
            .any(|a| said.contains(a)),
        "aged by series.lastObservedTime: {said}"
    );
}

/// `fallback.behavior` decides how many replicas fallback holds:
/// currentReplicasIfHigher with 3 running and fallback.replicas 2 holds 3.
#[test]
fn fallback_behavior_is_read_before_saying_what_fallback_holds() {
    let c = Cluster::start("keda-fallback");
    let (run, report) = diagnose(&c, &[]);
    assert_eq!(run.code, 1, "stderr: {}\n{}", run.stderr, table(&report));
    // The trigger's own errors are the first broken link; fallback follows from them.
    assert_root_cause(&run, &report, "keda.operator-logs");
    assert_outcome(&report, "keda.ready", "pass");
    assert_outcome(&report, "keda.fallback", "fail");
    let fallback = check(&report, "keda.fallback");
    let evidence = fallback["evidence"].to_string();
    assert!(
        evidence.contains(
            "after 3 failed queries KEDA holds 3 replicas: the current 3 if higher than fallback.replicas 2 (behavior currentReplicasIfHigher)"
        ),
        "{fallback}"
    );
    assert!(
        message(&report, "keda.fallback").contains("FallbackExists"),
        "{fallback}"
    );
}
