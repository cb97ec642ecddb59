//! `sessions.ratio`: sessions per running pod. The check's docs, its evaluation and its
//! unit tests.

use super::*;

pub static CHECK: Check = Check {
    id: CheckId::SessionsRatio,
    title: "sessions per running pod",
    runbook: "Prometheus Queries: Sessions Per Pod Ratio",
    needs: &[
        CheckId::PrometheusNginxMetric,
        CheckId::PrometheusKubeStateMetrics,
    ],
    reads: "Prometheus sessions and running pods; pod list",
    docs: Docs {
        what: "Active sessions (nginx request rate) divided by Running pods, in the runbook's bands: green 0.8-1.2, yellow 0.5-0.8 or 1.2-1.5, red beyond (settings ratio.*).",
        why: "Pod-per-session means one pod per session. The runbook divides by count(kube_pod_status_phase{phase=\"Running\"}), which counts every pod (kube-state-metrics emits a 0/1 series per phase); the plugin divides by sum(...), the Running pods. The runbook's pod=~\"spice-runner-.*\" also matches the nginx pods (spice-runner-nginx-<hash>-<suffix>) and any other spice-runner-* workload, so it overcounts pods on a healthy cluster. The plugin matches the Deployment's ReplicaSet pod names exactly, <deployment>-<pod-template-hash>-<5 chars>, both from Kubernetes' name alphabet bcdfghjklmnpqrstvwxz2456789 (the hash is 1-10 characters, one per decimal digit of a 32-bit FNV hash). It chose the name shape over a join on kube_pod_owner because it needs only kube_pod_status_phase, which every kube-state-metrics install exports, and it keeps the query one selector that alerts and dashboards can copy; a Deployment name over 46 characters can make Kubernetes truncate the generated pod names, which are then not matched.",
        fix: "Above 1, pods lag sessions: look at KEDA's threshold (1), the HPA and Pending pods. Below 1, pods outlive sessions: cooldownPeriod, the HPA's scale-down stabilization (300 s by default), minReplicaCount. Fix dashboards and alerts to use sum, not count.",
    },
    source: file!(),
    eval: ratio,
};

fn ratio_query(ctx: &Ctx) -> String {
    let sessions = promql::sessions(ctx.settings).promql;
    let running = promql::running_pods(ctx.settings).promql;
    format!("{sessions} / {running}")
}

/// Game pods Pending in the pod list (0 when it was not read).
fn pending_pods(ctx: &Ctx) -> f64 {
    ctx.figures.pods.map_or(0.0, |p| p.pending as f64)
}

pub(super) fn ratio(ctx: &Ctx) -> Verdict {
    let v = ratio_verdict(ctx);
    let v = match sessions_now(ctx) {
        Ok(s) => with_idle(ctx, v, s),
        Err(_) => v,
    };
    with_draining(ctx, v)
}

fn ratio_verdict(ctx: &Ctx) -> Verdict {
    let rate = match sessions_now(ctx) {
        Ok(v) => v,
        Err(v) => return v,
    };
    let running = match running_pods(ctx) {
        Ok(v) => v,
        Err(v) => return v,
    };
    if let Some(v) = floor_keeps_keda_active(ctx, rate) {
        return v;
    }
    if let Some(v) = forced_active(ctx, running) {
        return v.evidence(format!("query: {}", ratio_query(ctx)));
    }
    let b = ctx.settings.bands;
    // The figures' ratio is of these same two figures.
    let Ratio { per_pod, band } = ctx.figures.ratio;
    let query = ratio_query(ctx);
    let observed = format!(
        "{} sessions / {} running {}",
        num(rate),
        num(running),
        pods_word(running)
    );
    let green = format!("{}–{}", num(b.green_min), num(b.green_max));
    let mut v = match (band, per_pod) {
        (Band::Idle, _) => {
            return Verdict::pass(format!(
                "idle: {}, 0 pods",
                ctx.figures.idle.sessions_text(rate)
            ))
            .evidence(format!("query: {query}"));
        }
        (Band::Unknown, _) => return Verdict::skip("sessions or running pods unknown"),
        // Outside the bands by design: the model expects these pods.
        (Band::Expected, r) => {
            let why = ctx
                .figures
                .expectation
                .as_ref()
                .and_then(|e| e.why.clone())
                .unwrap_or_else(|| "what KEDA and the HPA keep for these sessions".into());
            return Verdict::pass(format!(
                "{observed} = {}: expected, {why}",
                r.map_or_else(|| "-".into(), |r| format!("{r:.2}"))
            ))
            .evidence(format!("query: {query}"));
        }
        (Band::Green, Some(r)) => Verdict::pass(format!("{observed} = {r:.2} (green {green})")),
        (Band::Yellow, Some(r)) => {
            Verdict::warn(format!("{observed} = {r:.2} (yellow: green is {green})"))
        }
        // Pods exist for every session but some are still Pending: scale-up
        // is under way (pods.pending and nodes.scale-up judge the wait).
        (Band::Red, Some(r)) if r > b.yellow_max && running + pending_pods(ctx) + 0.5 >= rate => {
            Verdict::warn(format!(
                "{observed} = {r:.2} (red, but {} more pods are Pending: scale-up in progress)",
                num(pending_pods(ctx))
            ))
        }
        (Band::Red, Some(r)) => Verdict::fail(format!(
            "{observed} = {r:.2} (red: outside {}–{})",
            num(b.yellow_min),
            num(b.yellow_max)
        )),
        (_, None) => Verdict::fail(format!("{observed} (red: sessions with no pod)")),
    };
    v = with_model(ctx, v.evidence(format!("query: {query}")));
    if let Some(total) = ctx.snap.pods.as_ref().map(|p| p.len() as f64)
        && (total - running).abs() >= 0.5
    {
        let runbook = if total > 0.0 {
            format!("{:.2}", rate / total)
        } else {
            "no value".to_string()
        };
        v = v.evidence(format!(
            "the runbook's count(kube_pod_status_phase{{..., phase=\"Running\"}}) counts all {} pods (one 0/1 series per pod and phase) and would give {runbook}; sum(...) counts the {} Running (its pod=~\"{}-.*\" adds the nginx pods on top)",
            num(total),
            num(running),
            ctx.settings.deployment
        ));
    }
    if matches!(v.outcome, crate::checks::Outcome::Pass) {
        return v;
    }
    let too_few_pods = per_pod.is_none_or(|r| r > b.green_max);
    let fix = if too_few_pods {
        "pods lag sessions: KEDA's threshold must be 1 (one pod per session per second of requests); check keda.active, hpa.metric, and Pending pods (pods.pending, nodes.scale-up)".to_string()
    } else {
        outlive_fix(ctx)
    };
    v.fix(fix).command(query_command(ctx, &query))
}

/// Pods above what the model expects: what holds them, from the model.
fn outlive_fix(ctx: &Ctx) -> String {
    let m = &ctx.figures.scaling;
    let desired = ctx.figures.expectation.as_ref().map(|e| e.desired);
    let expects = desired.map_or(String::new(), |d| {
        format!(" (the model expects {d} for these sessions)")
    });
    if m.floor() == 0
        && ctx
            .figures
            .sessions
            .is_some_and(|s| ctx.figures.idle.no_sessions(s))
    {
        format!(
            "pods outlive sessions{expects}: KEDA scales 1 → 0 cooldownPeriod {} s after the trigger goes idle: lower spec.cooldownPeriod; above 1 pod the HPA's scale-down stabilization ({} s) and policies ({}) apply: advanced.horizontalPodAutoscalerConfig.behavior.scaleDown",
            m.cooldown_secs,
            m.down.stabilization_secs,
            m.down.policies_text()
        )
    } else {
        format!(
            "pods outlive sessions{expects}: the HPA shrinks N → M after its scale-down stabilization window ({} s) at {}: set advanced.horizontalPodAutoscalerConfig.behavior.scaleDown (stabilizationWindowSeconds, policies) on the ScaledObject; minReplicaCount {} is the floor",
            m.down.stabilization_secs,
            m.down.policies_text(),
            m.min
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::*;
    use super::*;

    use crate::checks::Outcome;
    use crate::checks::testkit::*;
    use crate::domain::snapshot::GapReason;

    #[test]
    fn green_ratio_passes_with_the_arithmetic() {
        let v = eval(ratio, &healthy());
        expect(
            &v,
            Outcome::Pass,
            "3 sessions / 3 running pods = 1.00 (green 0.8–1.2)",
        );
        assert!(
            v.evidence[0].contains("sum(kube_pod_status_phase"),
            "{v:#?}"
        );
    }

    #[test]
    fn yellow_ratio_warns() {
        let v = eval(ratio, &with(Some(4.0), Some(3.0)));
        expect(
            &v,
            Outcome::Warn,
            "4 sessions / 3 running pods = 1.33 (yellow",
        );
        assert!(
            v.fix
                .as_deref()
                .unwrap_or("")
                .starts_with("pods lag sessions")
        );
        assert!(
            v.command
                .as_deref()
                .unwrap_or("")
                .contains("kubectl get --raw")
        );
    }

    #[test]
    fn red_ratio_fails_and_low_ratio_points_at_scale_down() {
        let v = eval(ratio, &with(Some(1.0), Some(3.0)));
        expect(&v, Outcome::Fail, "= 0.33 (red: outside 0.5–1.5)");
        assert!(
            v.fix
                .as_deref()
                .unwrap_or("")
                .starts_with("pods outlive sessions")
        );
    }

    #[test]
    fn sessions_without_pods_are_red() {
        let v = eval(ratio, &with(Some(2.5), None));
        expect(&v, Outcome::Fail, "2.5 sessions / 0 running pods (red");
    }

    #[test]
    fn red_while_the_missing_pods_are_pending_is_scale_up_in_progress() {
        // 4 sessions, 2 Running + 2 Pending: pods exist for every session.
        let mut s = with(Some(4.0), Some(2.0));
        if let Some(p) = s.pods.as_mut() {
            p.truncate(2);
            p.push(pending_pod("spice-runner-7d9c8b5f4-ddddd", 90));
            p.push(pending_pod("spice-runner-7d9c8b5f4-eeeee", 90));
        }
        expect(
            &eval(ratio, &s),
            Outcome::Warn,
            "2 more pods are Pending: scale-up in progress",
        );
        // With only one of them Pending, pods still lag sessions: red.
        if let Some(p) = s.pods.as_mut() {
            p.pop();
        }
        expect(&eval(ratio, &s), Outcome::Fail, "= 2.00 (red");
    }

    #[test]
    fn no_sessions_no_pods_is_idle() {
        let mut s = with(Some(0.0), None);
        s.pods = Some(vec![]);
        expect(&eval(ratio, &s), Outcome::Pass, "idle: 0 sessions, 0 pods");
    }

    #[test]
    fn ratio_says_what_the_runbook_count_would_give() {
        let mut s = with(Some(2.0), Some(2.0));
        if let Some(p) = s.pods.as_mut() {
            p[2] = pending_pod("spice-runner-7d9c8b5f4-ccccc", 30);
        }
        let v = eval(ratio, &s);
        expect(&v, Outcome::Pass, "2 sessions / 2 running pods = 1.00");
        assert!(
            v.evidence
                .iter()
                .any(|e| e.contains("counts all 3 pods") && e.contains("would give 0.67")),
            "{v:#?}"
        );
    }

    #[test]
    fn ratio_with_unknown_sessions_or_pods_skips() {
        expect(
            &eval(ratio, &with(None, Some(3.0))),
            Outcome::Skip,
            "sessions unknown",
        );
        let mut s = with(Some(3.0), None);
        set_prom(&mut s, promql::KSM_SERIES, None);
        expect(&eval(ratio, &s), Outcome::Skip, "running pods unknown");
    }

    #[test]
    fn ratio_without_prometheus_is_an_error() {
        let mut s = healthy();
        set_prom_error(&mut s, promql::SESSIONS, "no endpoints available");
        gap(
            &mut s,
            "prometheus",
            GapReason::Unreachable,
            "no endpoints available",
        );
        expect(
            &eval(ratio, &s),
            Outcome::Error,
            "could not read prometheus",
        );
    }

    fn so_of(
        s: &mut crate::domain::snapshot::Snapshot,
    ) -> &mut crate::domain::snapshot::ScaledObjectInfo {
        match s.scaled_object.as_mut() {
            Some(crate::domain::snapshot::Lookup::Found(so)) => so,
            _ => panic!("the healthy snapshot has a ScaledObject"),
        }
    }

    #[test]
    fn a_warm_pool_at_idle_is_expected_not_red() {
        // minReplicaCount 2, no players: the 2 pods are the design.
        let mut s = with(Some(0.0), Some(2.0));
        so_of(&mut s).min_replicas = Some(2);
        if let Some(p) = s.pods.as_mut() {
            p.truncate(2);
        }
        let v = eval(ratio, &s);
        expect(
            &v,
            Outcome::Pass,
            "expected, minReplicaCount 2 keeps 2 pods warm",
        );
        assert!(v.fix.is_none(), "{v:#?}");
        // One more than the pool is pods outliving sessions again, and the
        // fix comes from the model (the HPA's window and policy).
        let mut s = with(Some(0.0), Some(3.0));
        so_of(&mut s).min_replicas = Some(2);
        let v = eval(ratio, &s);
        expect(&v, Outcome::Fail, "(red");
        let fix = v.fix.unwrap_or_default();
        assert!(fix.contains("stabilization window (300 s)"), "{fix}");
        assert!(fix.contains("minReplicaCount 2 is the floor"), "{fix}");
    }

    #[test]
    fn sessions_within_the_hpas_tolerance_are_explained() {
        let mut s = with(Some(31.0), Some(30.0));
        s.hpas.as_mut().unwrap()[0].current_replicas = Some(30);
        let v = eval(ratio, &s);
        expect(&v, Outcome::Pass, "31 sessions / 30 running pods = 1.03");
        assert!(
            v.evidence.iter().any(|e| e
                == "31 sessions / 30 pods = 1.03, within tolerance 0.1: no change until 34 sessions"),
            "{v:#?}"
        );
        assert!(
            v.evidence
                .iter()
                .any(|e| e
                    .contains("advanced.horizontalPodAutoscalerConfig.behavior.scaleUp.tolerance")),
            "{v:#?}"
        );
    }

    #[test]
    fn sessions_28_to_30_on_28_pods_pass_within_tolerance_not_sessions_with_no_pod() {
        let mut s = with(Some(30.0), Some(28.0));
        s.hpas.as_mut().unwrap()[0].current_replicas = Some(28);
        let v = eval(ratio, &s);
        expect(&v, Outcome::Pass, "30 sessions / 28 running pods = 1.07");
        let all = format!("{v:#?}");
        assert!(!all.contains("with no pod"), "{all}");
        assert!(
            all.contains(
                "30 sessions / 28 pods = 1.07, within tolerance 0.1: no change until 31 sessions"
            ),
            "{all}"
        );
    }

    #[test]
    fn force_activation_at_idle_names_the_annotation_not_cooldown() {
        let mut s = with(Some(0.0), Some(1.0));
        let so = so_of(&mut s);
        so.annotations.insert(
            crate::domain::snapshot::FORCE_ACTIVATION.into(),
            "true".into(),
        );
        let v = eval(ratio, &s);
        expect(
            &v,
            Outcome::Warn,
            "autoscaling.keda.sh/force-activation holds",
        );
        let fix = v.fix.unwrap_or_default();
        assert!(fix.contains("remove the annotation"), "{fix}");
        assert!(!fix.contains("lower cooldownPeriod"), "{fix}");
    }
}
