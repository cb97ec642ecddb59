//! `alerts.pod-session-ratio`: PodSessionRatioAnomaly. The check's docs, its evaluation and its
//! unit tests.

use super::*;

pub static CHECK: Check = Check {
    id: CheckId::AlertsPodSessionRatio,
    title: "PodSessionRatioAnomaly",
    runbook: "Alert Rules: Pod-to-Session Ratio Out of Range",
    needs: &[
        CheckId::PrometheusNginxMetric,
        CheckId::PrometheusKubeStateMetrics,
    ],
    reads: "Prometheus |sessions/running − 1| now and over 5 min; loaded alert rules",
    docs: Docs {
        what: "The runbook's PodSessionRatioAnomaly (|sessions/running pods − 1| > 0.5 for 5m), evaluated with sum(kube_pod_status_phase{phase=\"Running\"}); and any loaded rule that counts pods with count(kube_pod_status_phase...) or selects them with the runbook's pod=~\"<deployment>-.*\".",
        why: "kube-state-metrics emits a 0/1 series for every phase of every pod, so count(...{phase=\"Running\"}) counts all pods, not the Running ones: the runbook's alert compares sessions with the wrong number. Its pod=~\"spice-runner-.*\" also counts the spice-runner-nginx pods, so a healthy game looks overprovisioned.",
        fix: "When it fires, pods do not follow sessions (see sessions.ratio). In the rule, replace count(kube_pod_status_phase{...}) with sum(kube_pod_status_phase{...}), and match pods by the Deployment's pod-name shape (kubectl spice alerts prints the corrected rule).",
    },
    source: file!(),
    eval: pod_session_ratio,
};

/// Points of the 30 s subquery over 5 min that make `for: 5m`: 5m / 30s.
/// Prometheus 2.x evaluates a subquery over the closed range [t−5m, t] and
/// returns 10 points, or 11 when t falls on a 30 s boundary; 3.x made ranges
/// left-open, (t−5m, t], and returns 10 always (promql/engine.go, subquery
/// alignment; 3.0 migration guide, "left-open range selectors"). A threshold of
/// 11 could only be met at an aligned instant on 2.x and never on 3.x, so a
/// ratio held for an hour read as "pending".
const RATIO_POINTS: f64 = 10.0;

/// Counts pods of a phase with `count(...)` and never with `sum(...)`: the
/// runbook's ratio, "running pods" and success-rate forms. The correct success
/// rate, `sum(...Running) / count(...Running)`, has a `sum` and is left alone.
fn counts_pods(r: &RuleInfo) -> bool {
    let q = compact(&r.query);
    q.contains("count(kube_pod_status_phase") && !q.contains("sum(kube_pod_status_phase")
}

fn ratio_text(x: f64) -> String {
    if x.is_infinite() {
        "+Inf (sessions with no Running pod)".to_string()
    } else {
        format!("{x:.2}")
    }
}

/// Too few sessions per pod with the running pods at or below the HPA's
/// minimum (max(minReplicaCount, 1)): the case the shipped rule leaves out
/// (a warm pool, the last pod before KEDA's 1 → 0, force-activation). The
/// reason, from the scaling model.
fn at_the_minimum(ctx: &Ctx) -> Option<String> {
    let f = &ctx.figures;
    let (sessions, running) = (f.sessions?, f.running_pods?);
    if running < 0.5 || sessions >= running || running.round() as i64 > f.scaling.hpa_min() {
        return None;
    }
    Some(
        f.scaling
            .force_activation_text()
            .filter(|_| f.expectation.as_ref().is_some_and(|e| e.forced))
            .or_else(|| f.expectation.as_ref().and_then(|e| e.why.clone()))
            .unwrap_or_else(|| {
                format!(
                    "{} running at the HPA's minimum {}",
                    num(running),
                    f.scaling.hpa_min()
                )
            }),
    )
}

pub(super) fn pod_session_ratio(ctx: &Ctx) -> Verdict {
    let now = match samples(ctx, promql::ALERT_RATIO_NOW) {
        Ok(s) => s,
        Err(v) => return v,
    };
    // Exactly the rule `kubectl spice alerts` ships: a series now means it
    // holds, with the ratio as its value (+Inf for sessions over no pod).
    let shipped = promql::pod_session_ratio_alert_expr(ctx.settings);
    if let Some(v) = other_expression(
        ctx,
        promql::ALERT_RATIO_NOW,
        &shipped,
        "PodSessionRatioAnomaly",
    ) {
        return v;
    }
    let expr = shipped.split_whitespace().collect::<Vec<_>>().join(" ");
    let held = value(ctx, promql::ALERT_RATIO_FOR)
        .ok()
        .flatten()
        .unwrap_or(0.0);
    let bands = &ctx.settings.bands;
    let band_text = format!("{}–{}", num(bands.yellow_min), num(bands.yellow_max));
    let v = match now.first().map(|s| s.value) {
        None => match (sessions_now(ctx).ok(), running_pods(ctx).ok()) {
            (Some(s), Some(r)) if r >= 0.5 => Verdict::pass(format!(
                "PodSessionRatioAnomaly ok (ratio {:.2}, within {band_text})",
                s / r
            )),
            _ => Verdict::pass(format!(
                "PodSessionRatioAnomaly quiet: the shipped rule has no value (no sessions over no running pod, or a ratio within {band_text})"
            )),
        },
        // Pods the scaling model expects (a warm pool at minReplicaCount,
        // the last pod before KEDA's 1 → 0): the shipped rule stays quiet
        // at or below the HPA's minimum, and so does this check.
        Some(x) if x < bands.yellow_min && at_the_minimum(ctx).is_some() => {
            Verdict::pass(format!(
                "PodSessionRatioAnomaly quiet: sessions / running pods = {}, but the running pods are at the HPA's minimum: {}",
                ratio_text(x),
                at_the_minimum(ctx).unwrap_or_default()
            ))
            .evidence(format!(
                "the shipped rule fires below {} sessions per pod only while the running pods exceed kube_horizontalpodautoscaler_spec_min_replicas (max(minReplicaCount, 1))",
                num(bands.yellow_min)
            ))
        }
        Some(x) if held >= RATIO_POINTS => Verdict::fail(format!(
            "PodSessionRatioAnomaly firing: sessions / running pods = {}, outside {band_text} for the whole 5 min",
            ratio_text(x)
        ))
        .fix("pods do not follow sessions: sessions.ratio and sessions.traffic say in which direction")
        .command(query_command(ctx, &expr)),
        Some(x) => Verdict::warn(format!(
            "PodSessionRatioAnomaly pending: sessions / running pods = {}, outside {band_text}, held at {} of {} points in 5 min (fires at {})",
            ratio_text(x),
            num(held.min(RATIO_POINTS)),
            num(RATIO_POINTS),
            num(RATIO_POINTS)
        ))
        .fix("pods lag or outlive sessions right now: see sessions.ratio; it fires if this lasts 5 min")
        .command(query_command(ctx, &expr)),
    };
    let v = v.evidence(format!("shipped expression: {expr}, for: 5m"));
    let (rules, unread) = flawed_rules(ctx, counts_pods);
    let v = match unread {
        Some(line) => v.evidence(line),
        None => v,
    };
    let v = with_rules(
        ctx,
        v,
        &rules,
        "counts pods with count(kube_pod_status_phase...): that counts every pod in every phase, not the Running ones",
        format!(
            "replace count(kube_pod_status_phase{{...}}) with sum(kube_pod_status_phase{{...}}); the corrected PodSessionRatioAnomaly is: {expr}"
        ),
    );
    // The runbook's pod=~"<deployment>-.*" also matches the nginx pods.
    let deployment = &ctx.settings.deployment;
    let loose = format!("pod=~\"{deployment}-.*\"");
    let (loose_rules, _) = flawed_rules(ctx, |r| compact(&r.query).contains(&loose));
    with_rules(
        ctx,
        v,
        &loose_rules,
        &format!(
            "selects pods with {loose}, which also matches the {deployment}-nginx pods and any other {deployment}-* workload"
        ),
        format!(
            "select the Deployment's own pods by their name shape, pod=~\"{}\" (kubectl spice alerts prints the corrected rules)",
            promql::deployment_pod_regex(deployment)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::super::tests::*;
    use super::*;

    use crate::checks::testkit::*;
    use crate::domain::snapshot::GapReason;

    #[test]
    fn ratio_ok() {
        expect(
            &eval(pod_session_ratio, &healthy()),
            Outcome::Pass,
            "ok (ratio 1.00, within 0.5–1.5)",
        );
    }

    #[test]
    fn ratio_firing_after_the_whole_window() {
        let mut s = healthy();
        set_prom(&mut s, promql::ALERT_RATIO_NOW, Some(0.67));
        // 10 points: Prometheus 3 always, 2.x between 30 s boundaries; 11:
        // 2.x on a boundary. Both are the whole window.
        for points in [10.0, 11.0] {
            set_prom(&mut s, promql::ALERT_RATIO_FOR, Some(points));
            expect(
                &eval(pod_session_ratio, &s),
                Outcome::Fail,
                "firing: sessions / running pods = 0.67, outside 0.5–1.5",
            );
        }
        set_prom(&mut s, promql::ALERT_RATIO_FOR, Some(9.0));
        expect(
            &eval(pod_session_ratio, &s),
            Outcome::Warn,
            "held at 9 of 10 points",
        );
        set_prom(&mut s, promql::ALERT_RATIO_FOR, Some(11.0));
        let v = eval(pod_session_ratio, &s);
        expect(
            &v,
            Outcome::Fail,
            "firing: sessions / running pods = 0.67, outside 0.5–1.5",
        );
        assert!(
            v.command
                .as_deref()
                .unwrap_or("")
                .contains("or+vector%280%29")
        );
    }

    #[test]
    fn ratio_pending_says_how_long_it_held() {
        let mut s = healthy();
        set_prom(&mut s, promql::ALERT_RATIO_NOW, Some(0.67));
        set_prom(&mut s, promql::ALERT_RATIO_FOR, Some(4.0));
        expect(
            &eval(pod_session_ratio, &s),
            Outcome::Warn,
            "pending: sessions / running pods = 0.67, outside 0.5–1.5, held at 4 of 10 points",
        );
        set_prom(&mut s, promql::ALERT_RATIO_FOR, None);
        expect(
            &eval(pod_session_ratio, &s),
            Outcome::Warn,
            "held at 0 of 10",
        );
    }

    #[test]
    fn ratio_with_sessions_and_no_running_pod_is_infinite() {
        let mut s = healthy();
        set_prom(&mut s, promql::ALERT_RATIO_NOW, Some(f64::INFINITY));
        set_prom(&mut s, promql::ALERT_RATIO_FOR, Some(11.0));
        expect(&eval(pod_session_ratio, &s), Outcome::Fail, "+Inf");
        set_prom(&mut s, promql::ALERT_RATIO_FOR, Some(3.0));
        expect(&eval(pod_session_ratio, &s), Outcome::Warn, "+Inf");
    }

    #[test]
    fn an_answer_to_an_older_expression_is_not_taken_for_the_shipped_rule() {
        let mut s = healthy();
        if let Some(a) = s.prometheus.get_mut(promql::ALERT_RATIO_NOW) {
            a.query = "abs(sum(rate(x[5m])) / sum(y) - 1)".into();
        }
        set_prom(&mut s, promql::ALERT_RATIO_NOW, Some(0.99));
        set_prom(&mut s, promql::ALERT_RATIO_FOR, Some(10.0));
        expect(
            &eval(pod_session_ratio, &s),
            Outcome::Skip,
            "the snapshot answers another expression",
        );
    }

    #[test]
    fn the_shipped_rule_quiet_at_no_sessions_and_no_pods_passes() {
        let mut s = healthy();
        set_prom(&mut s, promql::ALERT_RATIO_NOW, None);
        set_prom(&mut s, promql::RUNNING_PODS, Some(0.0));
        set_prom(&mut s, promql::SESSIONS, Some(0.0));
        expect(
            &eval(pod_session_ratio, &s),
            Outcome::Pass,
            "quiet: the shipped rule has no value",
        );
    }

    #[test]
    fn ratio_without_prometheus_is_an_error() {
        let mut s = healthy();
        set_prom_error(&mut s, promql::ALERT_RATIO_NOW, "Prometheus timeout: slow");
        expect(&eval(pod_session_ratio, &s), Outcome::Error, "slow");
    }

    #[test]
    fn a_loaded_rule_with_the_runbooks_pod_regex_warns() {
        let mut s = healthy();
        s.prometheus_rules = Some(vec![rule(
            "spice",
            "PodSessionRatioAnomaly",
            r#"sum(rate(nginx_http_requests_total{service="spice-runner-nginx"}[5m])) / sum(kube_pod_status_phase{namespace="default", pod=~"spice-runner-.*", phase="Running"}) < 0.5"#,
        )]);
        let v = eval(pod_session_ratio, &s);
        expect(
            &v,
            Outcome::Warn,
            "selects pods with pod=~\"spice-runner-.*\", which also matches the spice-runner-nginx pods",
        );
        assert!(
            v.fix
                .as_deref()
                .unwrap_or("")
                .contains("pod=~\"spice-runner-[bcdfghjklmnpqrstvwxz2456789]{1,10}-"),
            "{v:#?}"
        );
        // The runbook's own rule has both flaws: one warning, both findings.
        s.prometheus_rules = Some(vec![rule("spice", "PodSessionRatioAnomaly", RUNBOOK_RATIO)]);
        let v = eval(pod_session_ratio, &s);
        expect(&v, Outcome::Warn, "counts pods with count(");
        assert!(
            v.evidence
                .iter()
                .any(|e| e.contains("also matches the spice-runner-nginx pods")),
            "{v:#?}"
        );
    }

    #[test]
    fn a_loaded_rule_that_counts_pods_warns() {
        let mut s = healthy();
        s.prometheus_rules = Some(vec![
            rule("spice", "PodSessionRatioAnomaly", RUNBOOK_RATIO),
            rule(
                "spice",
                "PodSuccessRate",
                r#"sum(kube_pod_status_phase{phase="Running"}) / count(kube_pod_status_phase{phase="Running"}) < 0.99"#,
            ),
        ]);
        let v = eval(pod_session_ratio, &s);
        expect(
            &v,
            Outcome::Warn,
            "the loaded rule spice/PodSessionRatioAnomaly counts pods with count(",
        );
        assert!(!v.message.contains("PodSuccessRate"), "{v:#?}");
        assert!(
            v.fix
                .as_deref()
                .unwrap_or("")
                .contains("sum(kube_pod_status_phase{namespace=")
        );
        assert!(
            v.command
                .as_deref()
                .unwrap_or("")
                .contains("/api/v1/rules?type=alert")
        );
        assert!(
            v.evidence
                .iter()
                .any(|e| e.contains("the corrected alert now: PodSessionRatioAnomaly ok"))
        );
    }

    #[test]
    fn a_firing_ratio_keeps_its_fail_and_names_the_flawed_rule() {
        let mut s = healthy();
        set_prom(&mut s, promql::ALERT_RATIO_NOW, Some(1.0));
        set_prom(&mut s, promql::ALERT_RATIO_FOR, Some(11.0));
        s.prometheus_rules = Some(vec![rule("spice", "PodSessionRatioAnomaly", RUNBOOK_RATIO)]);
        let v = eval(pod_session_ratio, &s);
        expect(&v, Outcome::Fail, "firing");
        assert!(
            v.evidence
                .iter()
                .any(|e| e.contains("spice/PodSessionRatioAnomaly counts pods"))
        );
    }

    #[test]
    fn unread_rules_are_mentioned() {
        let mut s = healthy();
        s.prometheus_rules = None;
        gap(
            &mut s,
            "prometheus-rules",
            GapReason::Forbidden,
            "rules forbidden",
        );
        let v = eval(pod_session_ratio, &s);
        expect(&v, Outcome::Pass, "ok");
        assert!(v.evidence.iter().any(|e| e.contains("rules forbidden")));
    }
}
