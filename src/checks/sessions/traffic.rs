//! `sessions.traffic`: pods follow traffic up and down. The check's docs, its evaluation and its
//! unit tests.

use super::*;
use crate::checks::shell_arg;

pub static CHECK: Check = Check {
    id: CheckId::SessionsTraffic,
    title: "pods follow traffic up and down",
    runbook: "Troubleshooting: Pods Not Scaling Down, Check 1",
    needs: &[CheckId::PrometheusNginxMetric],
    reads: "Prometheus sessions (now, max over 5 min) and running pods; pod list; ScaledObject",
    docs: Docs {
        what: "Traffic with no Running pod (not scaling up), or no traffic for 5 minutes with pods above minReplicaCount after the expected time to scale down (not scaling down).",
        why: "With minReplicaCount 0, KEDA scales to zero about 60 s (the rate window) + cooldownPeriod + one pollingInterval after the last request; above zero the HPA scales down after its stabilization window (300 s by default).",
        fix: "Not scaling up: follow keda.* (Active, trigger, operator logs), hpa.* and pods.pending. Not scaling down: the query must fall to or below activationThreshold without sessions; check the ScaledObject's Active condition, pause annotations, fallback and cooldownPeriod.",
    },
    source: file!(),
    eval: traffic,
};

/// The window `promql::SESSIONS_MAX_5M` looks back over: traffic gone this
/// long is gone.
const NO_TRAFFIC_SECS: i64 = 300;

/// Running game pods in the pod list, counted as status and watch count them.
fn listed_running(ctx: &Ctx) -> Option<f64> {
    ctx.figures.pods.map(|p| p.running as f64)
}

pub(super) fn traffic(ctx: &Ctx) -> Verdict {
    let v = traffic_verdict(ctx);
    let v = match sessions_now(ctx) {
        Ok(s) => with_idle(ctx, v, s),
        Err(_) => v,
    };
    with_draining(ctx, v)
}

fn traffic_verdict(ctx: &Ctx) -> Verdict {
    let sessions = match sessions_now(ctx) {
        Ok(v) => v,
        Err(v) => return v,
    };
    let (running, source) = match running_pods(ctx) {
        Ok(r) => (r, "kube-state-metrics"),
        Err(e) => match listed_running(ctx) {
            Some(r) => (r, "the pod list"),
            None => return e,
        },
    };
    let so = ctx
        .snap
        .scaled_object
        .as_ref()
        .and_then(Lookup::found)
        .filter(|so| so.name == ctx.settings.scaled_object);
    let ns = ctx.ns();
    let so_name = &ctx.settings.scaled_object;
    let describe = format!(
        "kubectl describe scaledobject {} -n {ns}",
        shell_arg(so_name)
    );
    let running_text = format!("{} running {}", num(running), pods_word(running));

    let idle = ctx.figures.idle;
    if let Some(v) = floor_keeps_keda_active(ctx, sessions) {
        return v;
    }
    if let Some(v) = forced_active(ctx, running) {
        return v;
    }
    if !idle.no_sessions(sessions) {
        if running >= 0.5 {
            return Verdict::pass(format!("{} sessions, {running_text}", num(sessions)))
                .evidence(format!("running pods from {source}"));
        }
        let pending = value(ctx, promql::PENDING_PODS)
            .ok()
            .flatten()
            .unwrap_or(0.0);
        let mut v = Verdict::fail(format!(
            "not scaling up: {} sessions, 0 running pods{}",
            num(sessions),
            if pending >= 0.5 {
                format!(" ({} Pending)", num(pending))
            } else {
                String::new()
            }
        ))
        .evidence(format!("running pods from {source}"));
        v = if pending >= 0.5 {
            v.fix(
                "pods were created but do not run: see pods.pending and nodes.scale-up (Karpenter)",
            )
            .command(format!(
                "kubectl get pods -l {} -n {ns} --field-selector=status.phase=Pending",
                shell_arg(&ctx.settings.selector)
            ))
        } else {
            v.fix("KEDA did not scale from zero: see keda.ready, keda.active and keda.trigger (the query must rise above activationThreshold), and the operator's logs")
                .command(describe)
        };
        return v;
    }

    // No traffic now: how far down should the Deployment be, and by when?
    let scale_down = ctx.figures.scale_down;
    let floor = scale_down.floor;
    if running < floor as f64 + 0.5 {
        return if running < 0.5 {
            Verdict::pass(format!(
                "idle: {}, 0 pods",
                ctx.figures.idle.sessions_text(sessions)
            ))
        } else {
            Verdict::pass(format!(
                "no sessions, {running_text} = minReplicaCount {floor}"
            ))
        };
    }
    let recent = match value(ctx, promql::SESSIONS_MAX_5M) {
        Ok(v) => v.unwrap_or(0.0),
        Err(v) if v.outcome == crate::checks::Outcome::Skip => {
            return Verdict::skip(format!(
                "no sessions, {running_text}: how long traffic has been gone is not in this snapshot"
            ));
        }
        Err(v) => return v,
    };
    if !idle.no_sessions(recent) {
        return Verdict::pass(format!(
            "scale-down in progress: 0 sessions now, up to {} in the last 5 min, {running_text}",
            num(recent)
        ));
    }

    let (expected, arithmetic) = (scale_down.expected_secs(), scale_down.arithmetic());
    let message =
        format!("not scaling down: no traffic for 5 min, {running_text} (minReplicaCount {floor})");
    let fix = "the trigger must fall to or below activationThreshold without sessions (nginx also counts the exporter's scrapes): check the ScaledObject's Active condition, pause annotations and fallback (keda.active, keda.paused, keda.fallback, keda.cooldown)";
    if expected <= NO_TRAFFIC_SECS {
        return Verdict::fail(message)
            .evidence(format!("{arithmetic}: less than the 5 min without traffic"))
            .fix(fix)
            .command(describe);
    }
    // The 5-minute window is shorter than the expected time: use KEDA's own
    // record of the last active poll when scaling to zero.
    if floor == 0
        && let Some(so) = so
        && let Some(last) = so.last_active_time
    {
        let since = ctx.snap.captured_at.as_second() - last.as_second();
        let due = so.cooldown_period_or_default() + 2 * so.polling_interval_or_default();
        if since > due {
            return Verdict::fail(message)
                .evidence(arithmetic)
                .evidence(format!(
                    "the trigger was last active {since} s ago, past cooldownPeriod + 2 pollingIntervals = {due} s"
                ))
                .fix(fix)
                .command(describe);
        }
    }
    Verdict::pass(format!(
        "scale-down pending: no traffic for 5 min, {running_text}; not due yet"
    ))
    .evidence(arithmetic)
}

#[cfg(test)]
mod tests {
    use super::super::tests::*;
    use super::*;

    use crate::checks::Outcome;
    use crate::checks::testkit::*;

    #[test]
    fn traffic_without_pods_is_not_scaling_up() {
        let mut s = with(Some(2.0), None);
        s.pods = Some(vec![]);
        let v = eval(traffic, &s);
        expect(
            &v,
            Outcome::Fail,
            "not scaling up: 2 sessions, 0 running pods",
        );
        assert_eq!(
            v.command.as_deref(),
            Some("kubectl describe scaledobject spice-runner-keda -n default")
        );
    }

    #[test]
    fn traffic_with_only_pending_pods_points_at_scheduling() {
        let mut s = with(Some(2.0), None);
        set_prom(&mut s, promql::PENDING_PODS, Some(2.0));
        let v = eval(traffic, &s);
        expect(&v, Outcome::Fail, "0 running pods (2 Pending)");
        assert!(v.fix.as_deref().unwrap_or("").contains("pods.pending"));
    }

    #[test]
    fn running_pods_fall_back_to_the_pod_list() {
        let mut s = healthy();
        set_prom_error(&mut s, promql::RUNNING_PODS, "Prometheus execution: boom");
        let v = eval(traffic, &s);
        expect(&v, Outcome::Pass, "3 sessions, 3 running pods");
        assert!(v.evidence[0].contains("pod list"));
    }

    #[test]
    fn no_traffic_for_5_minutes_with_pods_is_not_scaling_down() {
        let mut s = with(Some(0.0), Some(3.0));
        set_prom(&mut s, promql::SESSIONS_MAX_5M, Some(0.0));
        let v = eval(traffic, &s);
        expect(
            &v,
            Outcome::Fail,
            "not scaling down: no traffic for 5 min, 3 running pods (minReplicaCount 0)",
        );
        assert!(
            v.evidence[0].contains(
                "95 s after the last request: 60 s rate window + cooldownPeriod 30 s + pollingInterval 5 s"
            ),
            "{v:#?}"
        );
    }

    #[test]
    fn recently_stopped_traffic_is_scale_down_in_progress() {
        let mut s = with(Some(0.0), Some(3.0));
        set_prom(&mut s, promql::SESSIONS_MAX_5M, Some(3.0));
        expect(&eval(traffic, &s), Outcome::Pass, "scale-down in progress");
    }

    #[test]
    fn long_cooldown_is_not_due_yet_unless_keda_was_last_active_long_ago() {
        let mut s = with(Some(0.0), Some(3.0));
        set_prom(&mut s, promql::SESSIONS_MAX_5M, Some(0.0));
        if let Some(Lookup::Found(so)) = s.scaled_object.as_mut() {
            so.cooldown_period = None; // KEDA's 300 s
            so.last_active_time = Some(ago(200));
        }
        let v = eval(traffic, &s);
        expect(&v, Outcome::Pass, "not due yet");
        assert!(v.evidence[0].contains("365 s"), "{v:#?}");
        if let Some(Lookup::Found(so)) = s.scaled_object.as_mut() {
            so.last_active_time = Some(ago(400));
        }
        let v = eval(traffic, &s);
        expect(&v, Outcome::Fail, "not scaling down");
        assert!(v.evidence[1].contains("last active 400 s ago"), "{v:#?}");
    }

    #[test]
    fn pods_at_min_replicas_without_traffic_pass() {
        let mut s = with(Some(0.0), Some(2.0));
        if let Some(Lookup::Found(so)) = s.scaled_object.as_mut() {
            so.min_replicas = Some(2);
        }
        expect(
            &eval(traffic, &s),
            Outcome::Pass,
            "no sessions, 2 running pods = minReplicaCount 2",
        );
    }

    #[test]
    fn above_a_nonzero_min_the_hpa_stabilization_counts() {
        let mut s = with(Some(0.0), Some(4.0));
        set_prom(&mut s, promql::SESSIONS_MAX_5M, Some(0.0));
        if let Some(Lookup::Found(so)) = s.scaled_object.as_mut() {
            so.min_replicas = Some(2);
            so.scale_down_stabilization = Some(60);
        }
        let v = eval(traffic, &s);
        expect(&v, Outcome::Fail, "(minReplicaCount 2)");
        assert!(v.evidence[0].contains("stabilization 60 s"), "{v:#?}");
    }

    #[test]
    fn idle_and_unknown_history() {
        let mut s = with(Some(0.0), None);
        s.pods = Some(vec![]);
        expect(
            &eval(traffic, &s),
            Outcome::Pass,
            "idle: 0 sessions, 0 pods",
        );
        let mut s = with(Some(0.0), Some(3.0));
        s.prometheus.remove(promql::SESSIONS_MAX_5M);
        expect(&eval(traffic, &s), Outcome::Skip, "not in this snapshot");
    }

    #[test]
    fn traffic_with_unknown_sessions_skips() {
        expect(
            &eval(traffic, &with(None, Some(3.0))),
            Outcome::Skip,
            "sessions unknown",
        );
    }
}
