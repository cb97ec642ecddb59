//! The verdicts, driven by small snapshots built in code: one pod's life
//! through Pending, Running, Ready and gone, at chosen seconds.

use super::*;
use crate::checks::testkit::{cond, node, node_claim, pending_pod, running_pod};
use crate::snapshot::Snapshot;

fn plan(kind: Kind, sessions: usize) -> Plan {
    Plan {
        kind,
        sessions,
        rate_per_session: 1.0,
        duration_seconds: 60.0,
        ramp_seconds: 0.0,
        target: "service default/spice-runner-nginx:80".into(),
        pod_within_seconds: 30.0,
        running_within_seconds: 45.0,
        within_seconds: 180.0,
        gone_within_seconds: 120.0,
        scale_up_target_seconds: 30.0,
        scale_down_target_seconds: 60.0,
        tolerance: 0.17,
        green_min: 0.8,
        green_max: 1.2,
        pending_grace_seconds: 20.0,
        max_requests_per_second: 100.0,
        settle_seconds: Some(180.0),
        min_delivered: 0.9,
        max_errors: 0.01,
    }
}

fn t0() -> jiff::Timestamp {
    jiff::Timestamp::from_second(1_800_000_000).unwrap()
}

fn at(s: f64) -> jiff::Timestamp {
    t0() + jiff::SignedDuration::from_secs_f64(s)
}

fn snap(pods: Vec<PodInfo>) -> Snapshot {
    let mut s = Snapshot::new(t0(), "default");
    s.pods = Some(pods);
    s.nodes = Some(vec![node("node-a", Some("default"))]);
    s.node_claims = Some(Vec::new());
    s
}

/// A pod that is scheduled and starting (ContainerCreating).
fn starting(name: &str) -> PodInfo {
    let mut p = pending_pod(name, 1);
    p.scheduled = Some(cond("PodScheduled", "True", "Scheduled", ""));
    p
}

fn outcome(test: &Test, id: &str) -> Outcome {
    test.verdicts()
        .iter()
        .find(|v| v.id == id)
        .expect("verdict")
        .outcome
}

const POD: &str = "spice-runner-7d9c8b5f4-x1";

/// What the sessions measured: `planned` requests, `ok` answered, `errors`
/// failed, `in_flight` neither yet.
fn stats(planned: f64, ok: u64, errors: u64, in_flight: u64) -> driver::SessionStats {
    driver::SessionStats {
        sessions: 1,
        planned,
        requests: ok + errors + in_flight,
        ok,
        errors,
        capped: 0,
        delayed: 0,
        in_flight,
        delivered_per_second: 1.0,
        latency_p50_ms: None,
        latency_p95_ms: None,
        latency_max_ms: None,
        first_error: (errors > 0)
            .then(|| "HTTP 503: no endpoints available for service \"spice-runner-nginx\"".into()),
        last_error: None,
    }
}

#[test]
fn delivery_arithmetic_for_every_outcome() {
    // 90 % delivered and no error: the edge passes.
    assert_eq!(
        delivery(&stats(100.0, 90, 0, 0), 0.9, 0.01).0,
        Outcome::Pass
    );
    // In flight leaves the plan: neither delivered nor lost (85 of 95).
    let (o, m) = delivery(&stats(100.0, 85, 0, 5), 0.9, 0.01);
    assert_eq!(o, Outcome::Fail);
    assert_eq!(
        m,
        "85 requests delivered for 95 planned (89.5%), 0 error(s) (0%)"
    );
    assert_eq!(
        delivery(&stats(100.0, 86, 0, 5), 0.9, 0.01).0,
        Outcome::Pass
    );
    // The case: every answer an error, one request still in flight
    // reads 0 delivered, never 1.
    let (o, m) = delivery(&stats(6.0, 0, 5, 1), 0.9, 0.01);
    assert_eq!(o, Outcome::Fail);
    assert!(
        m.starts_with("0 requests delivered for 5 planned (0%)"),
        "{m}"
    );
    // 89 % delivered: fails.
    let (o, m) = delivery(&stats(100.0, 89, 0, 0), 0.9, 0.01);
    assert_eq!(o, Outcome::Fail);
    assert_eq!(
        m,
        "89 requests delivered for 100 planned (89%), 0 error(s) (0%)"
    );
    // 1 error in 100 answers is not under 1 %; 1 in 101 is.
    assert_eq!(
        delivery(&stats(100.0, 99, 1, 0), 0.9, 0.01).0,
        Outcome::Fail
    );
    assert_eq!(
        delivery(&stats(100.0, 100, 1, 0), 0.9, 0.01).0,
        Outcome::Pass
    );
    // --max-errors 0: no error at all.
    assert_eq!(delivery(&stats(10.0, 10, 0, 0), 0.9, 0.0).0, Outcome::Pass);
    assert_eq!(delivery(&stats(10.0, 100, 1, 0), 0.9, 0.0).0, Outcome::Fail);
    // Every request failed: 0 % delivered, 100 % errors.
    let (o, m) = delivery(&stats(11.0, 0, 11, 0), 0.9, 0.01);
    assert_eq!(o, Outcome::Fail);
    assert_eq!(
        m,
        "0 requests delivered for 11 planned (0%), 11 error(s) (100%)"
    );
    // Nothing planned yet: nothing to judge.
    assert_eq!(delivery(&stats(0.5, 0, 0, 0), 0.9, 0.01).0, Outcome::Skip);
    // More than planned (a tick that fired in its grace period) is simply
    // delivered, shown as 100 %.
    let (o, m) = delivery(&stats(10.0, 11, 0, 0), 0.9, 0.01);
    assert_eq!(o, Outcome::Pass);
    assert_eq!(
        m,
        "11 requests delivered for 10 planned (100%), 0 error(s) (0%)"
    );
}

#[test]
fn delivery_fails_early_only_with_enough_seconds_and_answers_and_blocks_the_rest() {
    let mut test = Test::new(plan(Kind::Multi, 1), t0(), &snap(vec![]), Some(0.0));
    test.observe(at(3.0), &snap(vec![]), 1, Some(0.0));
    // Before 5 s: not judged, however bad.
    assert!(!test.judge_delivery(&stats(3.0, 0, 4, 0), false));
    test.observe(at(5.5), &snap(vec![]), 1, Some(0.0));
    // 5 s but only 4 answers: not yet.
    assert!(!test.judge_delivery(&stats(5.5, 0, 4, 0), false));
    // Delivering well: an early judgment never passes.
    assert!(!test.judge_delivery(&stats(5.5, 6, 0, 0), false));
    assert_eq!(outcome(&test, DELIVERED), Outcome::NotJudged);
    assert!(test.wants_sessions());
    // One stray error early on (5 of 6 answers fine) is over 1 % but is no
    // run that cannot deliver: the whole run's judgment weighs it.
    assert!(!test.judge_delivery(&stats(5.5, 5, 1, 0), false));
    assert_eq!(outcome(&test, DELIVERED), Outcome::NotJudged);
    assert!(test.judge_delivery(&stats(5.5, 0, 6, 0), false));
    assert_eq!(outcome(&test, DELIVERED), Outcome::Fail);
    assert!(!test.wants_sessions(), "a run that cannot deliver stops");
    let v = test.verdicts().iter().find(|v| v.id == DELIVERED).unwrap();
    assert!(
        v.message
            .contains("first error: HTTP 503: no endpoints available for service"),
        "{}",
        v.message
    );
    for v in test.verdicts().iter().filter(|v| v.id != DELIVERED) {
        assert_eq!(v.outcome, Outcome::NotJudged, "{v:?}");
        assert_eq!(v.blocked_by, Some(DELIVERED), "{v:?}");
    }
    assert!(test.done(), "blocked verdicts are settled");
    assert_eq!(test.result(), Result::Fail);
    // Judged once: a later good measurement changes nothing.
    assert!(!test.judge_delivery(&stats(20.0, 20, 0, 0), true));
    assert_eq!(outcome(&test, DELIVERED), Outcome::Fail);
    // Every format says why: the quoted error and what it blocked.
    let report = test.report(Result::Fail, None, "default".into(), stats(5.5, 0, 6, 0));
    let md = render::markdown(&report);
    assert!(
        md.contains("first error: HTTP 503: no endpoints available for service")
            && md.contains("not judged: blocked by sessions.delivered"),
        "{md}"
    );
    let text = render::text(&report, &crate::report::Styles::plain());
    assert!(
        text.contains("(first error: HTTP 503: no endpoints available for service"),
        "{text}"
    );
    let xml = render::junit(&report);
    assert_eq!(xml.matches("<failure ").count(), 1, "{xml}");
}

#[test]
fn an_unread_source_leaves_the_run_incomplete_unless_a_verdict_failed() {
    let mut p = plan(Kind::Load, 1);
    p.duration_seconds = 10.0;
    let pod = || running_pod("spice-runner-7d9c8b5f4-l1", 5);
    let mut test = Test::new(p.clone(), t0(), &snap(vec![]), Some(0.0));
    test.observe(at(11.0), &snap(vec![pod()]), 1, None);
    test.sessions_stopped(at(11.0), 1);
    test.judge_delivery(&stats(11.0, 11, 0, 0), true);
    test.observe(at(20.0), &snap(vec![]), 0, None);
    let v = test
        .verdicts()
        .iter()
        .find(|v| v.id == "load.ratio-in-band")
        .unwrap();
    assert_eq!(v.outcome, Outcome::NotJudged);
    assert_eq!(
        v.unread.as_deref(),
        Some("Prometheus did not answer the sessions query")
    );
    assert!(test.done(), "{:?}", test.verdicts());
    assert_eq!(test.result(), Result::Incomplete);
    // The same gap with a failed verdict: the failure wins.
    let mut test = Test::new(p, t0(), &snap(vec![]), Some(0.0));
    test.observe(at(11.0), &snap(vec![]), 1, None);
    assert_eq!(outcome(&test, "load.pods-in-band"), Outcome::Fail);
    assert_eq!(test.result(), Result::Fail);
}

#[test]
fn single_passes_when_the_pod_comes_runs_and_goes_in_time() {
    let mut test = Test::new(plan(Kind::Single, 1), t0(), &snap(vec![]), Some(0.0));
    assert!(
        test.observe(at(1.0), &snap(vec![]), 1, Some(0.0))
            .is_empty()
    );
    test.observe(at(4.0), &snap(vec![starting(POD)]), 1, Some(0.5));
    test.observe(at(12.0), &snap(vec![running_pod(POD, 8)]), 1, Some(1.0));
    assert!(!test.wants_sessions(), "scale-up judged: the session stops");
    test.sessions_stopped(at(12.5), 1);
    assert!(!test.judge_delivery(&stats(12.5, 13, 0, 0), true));
    let mut terminating = running_pod(POD, 30);
    terminating.deleting = Some(at(40.0));
    test.observe(at(40.0), &snap(vec![terminating]), 0, Some(0.1));
    assert_eq!(outcome(&test, "single.scale-down"), Outcome::Pass);
    assert!(!test.done(), "the pod is not gone yet");
    test.observe(at(42.0), &snap(vec![]), 0, Some(0.0));
    assert!(test.done());
    assert!(!test.failed(), "{:?}", test.verdicts());
    let v = test
        .verdicts()
        .iter()
        .find(|v| v.id == "single.pod-created")
        .unwrap();
    assert_eq!(v.measured.as_deref(), Some("4s"));
    let kinds: Vec<EventKind> = test.events().iter().map(|e| e.event).collect();
    assert_eq!(
        kinds,
        [
            EventKind::PodCreated,
            EventKind::PodRunning,
            EventKind::PodReady,
            EventKind::SessionsStopped,
            EventKind::PodTerminating,
            EventKind::PodGone
        ]
    );
}

#[test]
fn a_slow_pod_start_fails_running_with_the_phase_that_was_slow() {
    let mut test = Test::new(plan(Kind::Single, 1), t0(), &snap(vec![]), Some(0.0));
    test.observe(at(5.0), &snap(vec![starting(POD)]), 1, Some(1.0));
    let failed = test.observe(at(30.5), &snap(vec![starting(POD)]), 1, Some(1.0));
    assert_eq!(
        failed,
        vec![Failed {
            id: "single.scale-up",
            symptom: "too-slow"
        }]
    );
    let failed = test.observe(at(45.5), &snap(vec![starting(POD)]), 1, Some(1.0));
    assert_eq!(failed[0].id, "single.pod-running");
    let v = test
        .verdicts()
        .iter()
        .find(|v| v.id == "single.pod-running")
        .unwrap();
    assert!(
        v.message
            .contains("pod start is the slow phase: created at 5s, still ContainerCreating"),
        "{}",
        v.message
    );
    assert_eq!(outcome(&test, "single.pod-created"), Outcome::Pass);
    assert!(!test.wants_sessions());
}

#[test]
fn no_pod_at_all_is_no_scale_up_for_every_scale_up_verdict() {
    let mut test = Test::new(plan(Kind::Single, 1), t0(), &snap(vec![]), Some(0.0));
    let failed = test.observe(at(31.0), &snap(vec![]), 1, Some(1.0));
    assert!(
        failed.iter().all(|f| f.symptom == "no-scale-up"),
        "{failed:?}"
    );
    assert_eq!(failed.len(), 2, "pod-created and scale-up: {failed:?}");
    for f in &failed {
        test.attach_root_cause(
            f.id,
            RootCause {
                symptom: f.symptom.into(),
                check: Some("keda.paused".into()),
                message: "paused".into(),
                fix: None,
                warning_only: false,
            },
        );
    }
    let with_cause = test
        .verdicts()
        .iter()
        .filter(|v| v.root_cause.is_some())
        .count();
    assert_eq!(with_cause, 2);
}

#[test]
fn multi_lands_at_baseline_plus_n_and_goes_back() {
    let base = vec![running_pod("spice-runner-7d9c8b5f4-b0", 600)];
    let mut test = Test::new(plan(Kind::Multi, 2), t0(), &snap(base.clone()), Some(1.0));
    assert_eq!(test.baseline_pods, 1);
    let mut three = base.clone();
    three.push(running_pod("spice-runner-7d9c8b5f4-n1", 5));
    test.observe(at(10.0), &snap(three.clone()), 2, Some(2.0));
    assert!(test.wants_sessions(), "2 of 3 pods: keep going");
    three.push(running_pod("spice-runner-7d9c8b5f4-n2", 5));
    test.observe(at(20.0), &snap(three), 2, Some(3.0));
    assert_eq!(outcome(&test, "multi.pods-at-target"), Outcome::Pass);
    test.sessions_stopped(at(20.0), 2);
    test.judge_delivery(&stats(40.0, 40, 0, 1), true);
    test.observe(at(50.0), &snap(base), 0, Some(1.0));
    assert!(test.done() && !test.failed(), "{:?}", test.verdicts());
}

#[test]
fn load_judges_the_band_and_pending_pods_without_a_node() {
    let mut p = plan(Kind::Load, 6);
    p.duration_seconds = 30.0;
    let mut test = Test::new(p, t0(), &snap(vec![]), Some(0.0));
    let mut pods: Vec<PodInfo> = (0..5)
        .map(|i| running_pod(&format!("spice-runner-7d9c8b5f4-r{i}"), 5))
        .collect();
    pods.push(pending_pod("spice-runner-7d9c8b5f4-p0", 1));
    test.observe(at(5.0), &snap(pods.clone()), 6, Some(6.0));
    let failed = test.observe(at(26.0), &snap(pods.clone()), 6, Some(6.0));
    assert_eq!(failed[0].id, "load.pending-has-node", "{failed:?}");

    let mut other = Test::new(
        {
            let mut p = plan(Kind::Load, 6);
            p.duration_seconds = 30.0;
            p
        },
        t0(),
        &snap(vec![]),
        Some(0.0),
    );
    other.observe(at(5.0), &snap(pods.clone()), 6, Some(6.0));
    let mut with_claim = snap(pods.clone());
    with_claim.node_claims = Some(vec![node_claim("default-new", 1, false)]);
    other.observe(at(8.0), &with_claim, 6, Some(6.0));
    other.observe(at(26.0), &with_claim, 6, Some(6.0));
    other.observe(at(31.0), &with_claim, 6, Some(6.3));
    assert_eq!(outcome(&other, "load.pending-has-node"), Outcome::Pass);
    assert_eq!(outcome(&other, "load.pods-in-band"), Outcome::Pass);
    assert_eq!(outcome(&other, "load.ratio-in-band"), Outcome::Fail);
    assert_eq!(other.node_launches().len(), 1);
}

#[test]
fn junit_has_a_testcase_per_verdict_and_markdown_a_row_each() {
    let mut test = Test::new(plan(Kind::Single, 1), t0(), &snap(vec![]), Some(0.0));
    let failed = test.observe(at(31.0), &snap(vec![]), 1, Some(1.0));
    test.attach_root_cause(
        failed[0].id,
        RootCause {
            symptom: "no-scale-up".into(),
            check: Some("keda.paused".into()),
            message: "paused by <annotation> & \u{1b}[31mred".into(),
            fix: Some("kubectl annotate ...".into()),
            warning_only: false,
        },
    );
    // A chain with no failing link gives only its first warning: a lead,
    // labelled as one in every format.
    test.attach_root_cause(
        failed[1].id,
        RootCause {
            symptom: "no-scale-up".into(),
            check: Some("keda.polling-interval".into()),
            message: "pollingInterval 2 s".into(),
            fix: None,
            warning_only: true,
        },
    );
    let stats = stats(31.0, 31, 0, 0);
    let report = test.report(
        Result::Interrupted,
        Some("ctx".into()),
        "default".into(),
        stats,
    );
    let xml = render::junit(&report);
    // sessions.delivered and the 5 of single.
    assert_eq!(xml.matches("<testcase ").count(), 6, "{xml}");
    assert_eq!(xml.matches("<failure ").count(), 2, "{xml}");
    assert_eq!(xml.matches("<skipped ").count(), 4, "{xml}");
    assert!(
        xml.contains("paused by &lt;annotation&gt; &amp; \\u001b[31mred"),
        "{xml}"
    );
    assert!(!xml.contains('\u{1b}'), "{xml}");
    assert!(
        xml.contains("root cause (no-scale-up): keda.paused")
            && xml
                .contains("no check failed; nearest warning (no-scale-up): keda.polling-interval"),
        "{xml}"
    );
    let text = render::text(&report, &crate::report::Styles::plain());
    assert!(
        text.contains("no check failed; nearest warning (no-scale-up): keda.polling-interval — pollingInterval 2 s"),
        "{text}"
    );
    let md = render::markdown(&report);
    assert!(md.contains("(warning only) keda.polling-interval"), "{md}");
    assert!(
        md.starts_with("## kubectl spice test single: INTERRUPTED"),
        "{md}"
    );
    let rows = md.lines().filter(|l| l.starts_with('|')).count();
    assert_eq!(rows, 8, "header, rule and 6 rows: {md}");
    assert!(
        md.contains("keda.paused: paused by \\<annotation\\>"),
        "{md}"
    );
}

#[test]
fn a_crash_looping_or_failed_pod_fails_load_at_once() {
    let mut test = Test::new(plan(Kind::Load, 2), t0(), &snap(vec![]), Some(0.0));
    let mut crashing = running_pod("spice-runner-7d9c8b5f4-c0", 5);
    crashing.containers[0].waiting_reason = Some("CrashLoopBackOff".into());
    crashing.restarts = 4;
    let mut failed = running_pod("spice-runner-7d9c8b5f4-f0", 5);
    failed.phase = "Failed".into();
    test.observe(at(5.0), &snap(vec![crashing, failed]), 2, Some(2.0));
    assert_eq!(outcome(&test, "load.no-crashloop"), Outcome::Fail);
    assert_eq!(outcome(&test, "load.no-failed-pods"), Outcome::Fail);
    assert_eq!(outcome(&test, "load.pods-in-band"), Outcome::NotJudged);
    let kinds: Vec<EventKind> = test.events().iter().map(|e| e.event).collect();
    assert!(kinds.contains(&EventKind::PodCrashLoop) && kinds.contains(&EventKind::PodFailed));
}

fn scale(restored: bool, left_at: Option<i32>) -> ScaleReport {
    ScaleReport {
        deployment: "spice-runner".into(),
        statefulset: None,
        namespace: "default".into(),
        from: 2,
        to: 0,
        restored,
        left_at,
        error: (!restored).then(|| "HTTP 500 Internal Server Error: etcd \u{1b}[31mdown".into()),
        command: (!restored).then(|| scale_command("default", "spice-runner", 2)),
    }
}

#[test]
fn the_put_back_command_is_exact_and_quotes_what_is_not_a_name() {
    assert_eq!(
        scale_command("default", "spice-runner", 2),
        "kubectl scale deployment/spice-runner --replicas=2 -n default"
    );
    assert_eq!(
        scale_command("team a", "game'; rm -rf /\nx", 3),
        "kubectl scale 'deployment/game'\\''; rm -rf /⏎x' --replicas=3 -n 'team a'"
    );
    assert_eq!(
        scale_command("-n", "x", 1),
        "kubectl scale deployment/x --replicas=1 -n '-n'"
    );
}

#[test]
fn a_failed_put_back_names_the_count_left_and_the_reason() {
    assert_eq!(scale(true, None).failure(), None);
    assert_eq!(
        scale(false, Some(0)).failure().unwrap(),
        "could not put deployment default/spice-runner back to 2 replicas: HTTP 500 Internal Server Error: etcd \u{1b}[31mdown; the game was left at 0 replicas"
    );
    assert!(
        scale(false, None)
            .failure()
            .unwrap()
            .ends_with("the game may still be at 0 replicas (its count could not be read)")
    );
}

#[test]
fn every_format_carries_the_put_back_and_a_failed_one_as_an_error() {
    let test = Test::new(plan(Kind::Single, 1), t0(), &snap(vec![]), Some(0.0));
    let stats = driver::SessionStats {
        sessions: 1,
        planned: 0.0,
        requests: 0,
        ok: 0,
        errors: 0,
        capped: 0,
        delayed: 0,
        in_flight: 0,
        delivered_per_second: 0.0,
        latency_p50_ms: None,
        latency_p95_ms: None,
        latency_max_ms: None,
        first_error: None,
        last_error: None,
    };
    let mut report = test.report(Result::Pass, None, "default".into(), stats);
    // Without --scale-to-zero there is no field and no testcase.
    let json = serde_json::to_value(&report).unwrap();
    assert!(json.get("scale").is_none(), "{json:#}");
    let plain = render::junit(&report);

    report.scale = Some(scale(true, None));
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["scale"]["restored"], true);
    assert_eq!(json["scale"]["from"], 2);
    assert!(json["scale"].get("command").is_none(), "{json:#}");
    let xml = render::junit(&report);
    assert_eq!(
        xml.matches("<testcase ").count(),
        plain.matches("<testcase ").count() + 1
    );
    assert!(!xml.contains("<error "), "{xml}");
    let text = render::text(&report, &crate::report::Styles::plain());
    assert!(
        text.contains(
            "Scale: ✓ deployment default/spice-runner scaled from 2 to 0 replicas and put back to 2"
        ),
        "{text}"
    );

    report.scale = Some(scale(false, Some(0)));
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["scale"]["restored"], false);
    assert_eq!(json["scale"]["leftAt"], 0);
    assert_eq!(
        json["scale"]["command"],
        "kubectl scale deployment/spice-runner --replicas=2 -n default"
    );
    let xml = render::junit(&report);
    assert!(xml.contains("errors=\"1\""), "{xml}");
    assert_eq!(xml.matches("<error ").count(), 1, "{xml}");
    assert!(
        xml.contains("the game was left at 0 replicas")
            && xml.contains("run: kubectl scale deployment/spice-runner --replicas=2 -n default"),
        "{xml}"
    );
    assert!(!xml.contains('\u{1b}'), "{xml}");
    let text = render::text(&report, &crate::report::Styles::plain());
    assert!(
        text.contains("the game was left at 0 replicas")
            && text
                .contains("  run: kubectl scale deployment/spice-runner --replicas=2 -n default"),
        "{text}"
    );
    assert!(!text.contains('\u{1b}'), "{text}");
    let md = render::markdown(&report);
    assert!(
        md.contains("**✗ Put-back failed**")
            && md.contains("left at 0 replicas")
            && md.contains("`kubectl scale deployment/spice-runner --replicas=2 -n default`"),
        "{md}"
    );
}

/// A StatefulSet KEDA scales: every format names it (`scale.statefulset` in
/// JSON, no `deployment` field) and the put-back command scales it.
#[test]
fn a_statefulset_put_back_names_the_statefulset_in_every_format() {
    let sts = |restored: bool| ScaleReport {
        deployment: String::new(),
        statefulset: Some("spice-game".into()),
        command: (!restored).then(|| scale_command_of("statefulset", "default", "spice-game", 2)),
        ..scale(restored, Some(0))
    };
    let json = serde_json::to_value(sts(true)).unwrap();
    assert_eq!(json["statefulset"], "spice-game");
    assert!(json.get("deployment").is_none(), "{json:#}");
    let test = Test::new(plan(Kind::Single, 1), t0(), &snap(vec![]), Some(0.0));
    let stats = driver::SessionStats {
        sessions: 1,
        planned: 0.0,
        requests: 0,
        ok: 0,
        errors: 0,
        capped: 0,
        delayed: 0,
        in_flight: 0,
        delivered_per_second: 0.0,
        latency_p50_ms: None,
        latency_p95_ms: None,
        latency_max_ms: None,
        first_error: None,
        last_error: None,
    };
    let mut report = test.report(Result::Pass, None, "default".into(), stats);
    report.scale = Some(sts(true));
    let text = render::text(&report, &crate::report::Styles::plain());
    assert!(
        text.contains(
            "Scale: ✓ statefulset default/spice-game scaled from 2 to 0 replicas and put back to 2"
        ),
        "{text}"
    );
    assert!(render::junit(&report).contains("scale.put-back: statefulset default/spice-game"));
    assert!(render::markdown(&report).contains("✓ StatefulSet `default/spice-game` scaled"));
    report.scale = Some(sts(false));
    let failed = report.scale.as_ref().unwrap().failure().unwrap();
    assert!(
        failed.starts_with("could not put statefulset default/spice-game back to 2 replicas"),
        "{failed}"
    );
    let text = render::text(&report, &crate::report::Styles::plain());
    assert!(
        text.contains("  run: kubectl scale statefulset/spice-game --replicas=2 -n default"),
        "{text}"
    );
}

/// `test` reads the scaling model: 30 sessions on top of nothing want 30
/// pods, and 33 held still is where the HPA leaves them (33 × 0.9 ≤ 30 + 1
/// session ramping: within its 0.1 tolerance), so it passes once steady;
/// 36 is beyond the tolerance and fails. The old ±1 failed both.
#[test]
fn multi_accepts_the_count_the_models_tolerance_holds_and_no_other() {
    let pods = |n: usize| -> Vec<PodInfo> {
        (0..n)
            .map(|i| running_pod(&format!("spice-runner-7d9c8b5f4-p{i}"), 5))
            .collect()
    };
    let mut held = Test::new(plan(Kind::Multi, 30), t0(), &snap(vec![]), Some(0.0));
    assert_eq!(held.expected_pods(), (30, 27, 34));
    held.observe(at(10.0), &snap(pods(33)), 30, Some(30.0));
    held.observe(at(25.0), &snap(pods(33)), 30, Some(30.0));
    assert_eq!(outcome(&held, "multi.pods-at-target"), Outcome::Pass);
    let v = held
        .verdicts()
        .iter()
        .find(|v| v.id == "multi.pods-at-target")
        .cloned();
    assert!(
        v.is_some_and(|v| v.message.contains("expected 30, the HPA holds 27–34")),
        "{:?}",
        held.verdicts()
    );

    let mut beyond = Test::new(plan(Kind::Multi, 30), t0(), &snap(vec![]), Some(0.0));
    beyond.observe(at(10.0), &snap(pods(36)), 30, Some(30.0));
    beyond.observe(at(25.0), &snap(pods(36)), 30, Some(30.0));
    beyond.observe(at(181.0), &snap(pods(36)), 30, Some(30.0));
    assert_eq!(outcome(&beyond, "multi.pods-at-target"), Outcome::Fail);
}
