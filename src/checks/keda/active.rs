//! `keda.active`: KEDA's Active agrees with the sessions. The check's docs, its evaluation and its
//! unit tests.

use super::*;

pub static CHECK: Check = Check {
    id: CheckId::KedaActive,
    title: "KEDA's Active agrees with the sessions",
    runbook: "Quick Health Checks §2 (ACTIVE); Quick Validation Checklist",
    needs: &[CheckId::KedaReady, CheckId::PrometheusNginxMetric],
    reads: "scaledObject.conditions[Active], scaledObject.triggers (activationThreshold), scaledObject.minReplicaCount, prometheus[sessions]",
    docs: Docs {
        what: "The Active condition against the sessions Prometheus reports and the trigger's activationThreshold (active means value > activationThreshold).",
        why: "Sessions above the activation threshold with Active not True means KEDA's query does not see the traffic the plugin sees, so 0→1 never happens.",
        fix: "Make the trigger's query and serverAddress the ones the plugin reads (see keda.trigger); if traffic just started or stopped, re-run after one pollingInterval.",
    },
    source: file!(),
    eval: active,
};

pub(super) fn active(ctx: &Ctx) -> Verdict {
    let so = match scaled_object(ctx) {
        Ok(so) => so,
        Err(v) => return v,
    };
    if so.paused() {
        return Verdict::skip(
            "the ScaledObject is paused (see keda.paused): KEDA does not evaluate its triggers",
        );
    }
    let s = match sessions(ctx) {
        Ok(s) => s,
        Err(why) => return Verdict::skip(format!("sessions unknown: {why}")),
    };
    let trigger = so.prometheus_trigger();
    let activation = trigger
        .and_then(TriggerInfo::activation_threshold)
        .unwrap_or(KEDA_DEFAULT_ACTIVATION_THRESHOLD);
    let min = so.min_replicas_or_default();
    let cond = condition(&so.conditions, "Active");
    let status = cond.map_or("absent", |c| c.status.as_str());
    let shown = cond.map_or("no Active condition".to_string(), cond_text);
    // The trigger's value: the rate less what its query subtracts last
    // (`... - 0.25`, the exporter's scrapes).
    let subtracted = ctx.figures.idle.subtracted;
    let numbers = format!(
        "{}{} vs activationThreshold {}",
        ctx.figures.idle.sessions_text(s),
        if subtracted > 0.0 {
            format!(
                ", {} after the trigger query's - {},",
                num((s - subtracted).max(0.0)),
                num(subtracted)
            )
        } else {
            String::new()
        },
        num(activation)
    );
    let cmd = describe_so(ctx);
    let evidence = format!(
        "KEDA is active when its query's value > activationThreshold; it polls every {} s",
        so.polling_interval_or_default()
    );
    if s - subtracted > activation {
        if status == "True" {
            return Verdict::pass(format!("Active=True with {numbers}")).evidence(evidence);
        }
        return Verdict::fail(format!(
            "KEDA reports {shown} although {numbers}: its trigger does not see the traffic"
        ))
        .evidence(evidence)
        .fix("make the trigger's query and serverAddress match the sessions query the plugin reads (keda.trigger); if traffic started within the last pollingInterval, re-run")
        .command(cmd);
    }
    match status {
        "True" if min >= 1 => Verdict::pass(format!(
            "Active=True with {numbers}: expected, minReplicaCount {min} ≥ 1 keeps KEDA active"
        ))
        .evidence(evidence),
        "True" if ctx.figures.scaling.force_activation => Verdict::warn(format!(
            "Active=True with {numbers}: forced, not traffic: {}",
            ctx.figures.scaling.force_activation_text().unwrap_or_default()
        ))
        .evidence(evidence)
        .fix(format!(
            "remove the annotation {} from the ScaledObject when the forced activation is over",
            crate::domain::snapshot::FORCE_ACTIVATION
        ))
        .command(cmd),
        "True" => Verdict::warn(format!(
            "Active=True with {numbers}: scale-to-zero will not happen while KEDA sees activity"
        ))
        .evidence(evidence)
        .fix("compare the trigger's query with the sessions query (keda.trigger); if sessions just ended, re-run after the rate window (1m) plus one pollingInterval")
        .command(cmd),
        "False" => {
            let cooling = cond.and_then(|c| c.reason.as_deref()) == Some("ScalerCooldown");
            let message = if cooling {
                format!(
                    "{shown} with {numbers}: traffic stopped, KEDA waits cooldownPeriod {} s before scaling to zero",
                    so.cooldown_period_or_default()
                )
            } else {
                format!("idle: {shown} with {numbers}")
            };
            Verdict::pass(message).evidence(evidence)
        }
        _ => Verdict::warn(format!(
            "KEDA reports {shown} with {numbers}: it could not evaluate the trigger"
        ))
        .evidence(evidence)
        .fix("see keda.ready, keda.events and keda.operator-logs for the trigger's error")
        .command(cmd),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::*;
    use super::*;

    use crate::checks::testkit::*;
    use crate::domain::snapshot::GapReason;

    #[test]
    fn active_with_sessions_passes() {
        expect(
            &eval(active, &healthy()),
            Outcome::Pass,
            "Active=True with 3 sessions",
        );
    }

    /// The closed loop's trigger subtracts its exporter's scrapes: 0.24 req/s
    /// is 0 for KEDA, so Active=False is idle, not a trigger that is blind.
    #[test]
    fn what_the_trigger_query_subtracts_is_not_traffic_for_keda() {
        let mut s = healthy();
        so_mut(&mut s).triggers[0].metadata.insert(
            "query".into(),
            r#"sum(rate(nginx_http_requests_total{service="spice-runner-nginx"}[12s])) - 0.25"#
                .into(),
        );
        set_prom(&mut s, promql::SESSIONS, Some(0.24));
        set_cond(
            &mut s,
            cond(
                "Active",
                "False",
                "ScalerNotActive",
                "Scaling is not performed because triggers are not active",
            ),
        );
        let v = eval(active, &s);
        expect(&v, Outcome::Pass, "idle: Active=False");
        assert!(
            v.message
                .contains("0 after the trigger query's - 0.25, vs activationThreshold 0.2"),
            "{v:#?}"
        );
    }

    #[test]
    fn inactive_with_sessions_fails() {
        let mut s = healthy();
        set_cond(
            &mut s,
            cond(
                "Active",
                "False",
                "ScalerNotActive",
                "Scaling is not performed because triggers are not active",
            ),
        );
        let v = eval(active, &s);
        expect(&v, Outcome::Fail, "does not see the traffic");
        assert!(v.message.contains("3 sessions vs activationThreshold 0.2"));
        let mut s = healthy();
        without_cond(&mut s, "Active");
        expect(&eval(active, &s), Outcome::Fail, "no Active condition");
    }

    #[test]
    fn active_without_sessions_warns_unless_min_replicas_keeps_it_active() {
        let mut s = healthy();
        set_prom(&mut s, promql::SESSIONS, Some(0.0));
        expect(
            &eval(active, &s),
            Outcome::Warn,
            "scale-to-zero will not happen",
        );
        so_mut(&mut s).min_replicas = Some(1);
        expect(&eval(active, &s), Outcome::Pass, "minReplicaCount 1");
    }

    #[test]
    fn inactive_without_sessions_passes_and_explains_cooldown() {
        let mut s = healthy();
        set_prom(&mut s, promql::SESSIONS, Some(0.1));
        set_cond(
            &mut s,
            cond(
                "Active",
                "False",
                "ScalerCooldown",
                "Scaler cooling down because triggers are not active",
            ),
        );
        expect(
            &eval(active, &s),
            Outcome::Pass,
            "waits cooldownPeriod 30 s",
        );
        set_cond(
            &mut s,
            cond(
                "Active",
                "False",
                "ScalerNotActive",
                "Scaling is not performed because triggers are not active",
            ),
        );
        expect(&eval(active, &s), Outcome::Pass, "idle");
        set_cond(
            &mut s,
            cond(
                "Active",
                "Unknown",
                "UnknownState",
                "ScaledObject check failed",
            ),
        );
        expect(&eval(active, &s), Outcome::Warn, "could not evaluate");
    }

    #[test]
    fn active_skips_without_sessions_or_when_paused() {
        let mut s = healthy();
        set_prom(&mut s, promql::SESSIONS, None);
        expect(&eval(active, &s), Outcome::Skip, "matched no series");
        s.prometheus.remove(promql::SESSIONS);
        gap(&mut s, "prometheus", GapReason::Unreachable, "no endpoints");
        expect(&eval(active, &s), Outcome::Skip, "no endpoints");
        let mut s = healthy();
        so_mut(&mut s)
            .annotations
            .insert(PAUSED.into(), "true".into());
        expect(&eval(active, &s), Outcome::Skip, "paused");
    }

    #[test]
    fn active_is_judged_while_only_one_direction_is_paused() {
        let mut s = healthy();
        pause_by(&mut s, PAUSED_SCALE_IN, "true");
        expect(
            &eval(active, &s),
            Outcome::Pass,
            "Active=True with 3 sessions",
        );
    }
}
