//! Checks of the sessions area: do pods follow sessions (the runbook's
//! sessions-per-pod ratio), and does the Deployment scale up under traffic and
//! back down without it.

use super::prometheus::{query_command, samples, value};
use super::{Area, Check, Ctx, Docs, Verdict};
use crate::cluster::promql;
use crate::report::num;
use crate::report::status::{Band, band};
use crate::snapshot::{KEDA_DEFAULT_COOLDOWN_PERIOD, KEDA_DEFAULT_POLLING_INTERVAL, Lookup};

pub static CHECKS: &[Check] = &[
    Check {
        id: "sessions.ratio",
        area: Area::Sessions,
        title: "sessions per running pod",
        runbook: "Prometheus Queries: Sessions Per Pod Ratio",
        needs: &["prometheus.nginx-metric", "prometheus.kube-state-metrics"],
        reads: "Prometheus sessions and running pods; pod list",
        docs: Docs {
            what: "Active sessions (nginx request rate) divided by Running pods, in the runbook's bands: green 0.8-1.2, yellow 0.5-0.8 or 1.2-1.5, red beyond (settings ratio.*).",
            why: "Pod-per-session means one pod per session. The runbook divides by count(kube_pod_status_phase{phase=\"Running\"}), which counts every pod (kube-state-metrics emits a 0/1 series per phase); the plugin divides by sum(...), the Running pods. The runbook's pod=~\"spice-runner-.*\" also matches the nginx pods (spice-runner-nginx-<hash>-<suffix>) and any other spice-runner-* workload, so it overcounts pods on a healthy cluster. The plugin matches the Deployment's ReplicaSet pod names exactly, <deployment>-<pod-template-hash>-<5 chars>, both from Kubernetes' name alphabet bcdfghjklmnpqrstvwxz2456789 (the hash is 1-10 characters, one per decimal digit of a 32-bit FNV hash). It chose the name shape over a join on kube_pod_owner because it needs only kube_pod_status_phase, which every kube-state-metrics install exports, and it keeps the query one selector that alerts and dashboards can copy; a Deployment name over 46 characters can make Kubernetes truncate the generated pod names, which are then not matched.",
            fix: "Above 1, pods lag sessions: look at KEDA's threshold (1), the HPA and Pending pods. Below 1, pods outlive sessions: cooldownPeriod, the HPA's scale-down stabilization (300 s by default), minReplicaCount. Fix dashboards and alerts to use sum, not count.",
        },
        eval: ratio,
    },
    Check {
        id: "sessions.traffic",
        area: Area::Sessions,
        title: "pods follow traffic up and down",
        runbook: "Troubleshooting: Pods Not Scaling Down, Check 1",
        needs: &["prometheus.nginx-metric"],
        reads: "Prometheus sessions (now, max over 5 min) and running pods; pod list; ScaledObject",
        docs: Docs {
            what: "Traffic with no Running pod (not scaling up), or no traffic for 5 minutes with pods above minReplicaCount after the expected time to scale down (not scaling down).",
            why: "With minReplicaCount 0, KEDA scales to zero about 60 s (the rate window) + cooldownPeriod + one pollingInterval after the last request; above zero the HPA scales down after its stabilization window (300 s by default).",
            fix: "Not scaling up: follow keda.* (Active, trigger, operator logs), hpa.* and pods.pending. Not scaling down: the query must fall to or below activationThreshold without sessions; check the ScaledObject's Active condition, pause annotations, fallback and cooldownPeriod.",
        },
        eval: traffic,
    },
];

/// Sessions below this rate count as none (nginx also counts the exporter's
/// own stub_status scrapes); the same cut as `report::status::band`.
pub(crate) const NO_SESSIONS: f64 = 0.05;

/// Active sessions now. An empty `sum(rate(...))` means there is no nginx
/// series at all: that is unknown, not zero (prometheus.nginx-metric says why).
pub(crate) fn sessions_now(ctx: &Ctx) -> Result<f64, Verdict> {
    match value(ctx, promql::SESSIONS)? {
        Some(v) => Ok(v),
        None => Err(Verdict::skip(format!(
            "sessions unknown: no nginx_http_requests_total{{service=\"{}\"}} series with a rate (see prometheus.nginx-metric)",
            promql::escape(&ctx.settings.nginx_service)
        ))),
    }
}

/// Running pods per kube-state-metrics (`sum`, not the runbook's `count`). An
/// empty `sum` is zero pods when kube-state-metrics' series exist at all.
pub(crate) fn running_pods(ctx: &Ctx) -> Result<f64, Verdict> {
    if let Some(v) = value(ctx, promql::RUNNING_PODS)? {
        return Ok(v);
    }
    match samples(ctx, promql::KSM_SERIES) {
        Ok(s) if !s.is_empty() => Ok(0.0),
        Ok(_) => Err(Verdict::skip(
            "running pods unknown: no kube_pod_status_phase series (see prometheus.kube-state-metrics)",
        )),
        Err(v) => Err(v),
    }
}

/// Pods in phase Running in the pod list (what kube-state-metrics counts).
fn listed_running(ctx: &Ctx) -> Option<f64> {
    let pods = ctx.snap.pods.as_ref()?;
    Some(pods.iter().filter(|p| p.phase == "Running").count() as f64)
}

fn pods_word(n: f64) -> &'static str {
    if (n - 1.0).abs() < 1e-9 {
        "pod"
    } else {
        "pods"
    }
}

fn ratio_query(ctx: &Ctx) -> String {
    let sessions = promql::sessions(ctx.settings).promql;
    let running = promql::running_pods(ctx.settings).promql;
    format!("{sessions} / {running}")
}

/// Game pods in phase Pending (from the pod list; 0 when it was not read).
fn pending_pods(ctx: &Ctx) -> f64 {
    ctx.snap
        .pods
        .as_ref()
        .map(|p| p.iter().filter(|p| p.phase == "Pending").count() as f64)
        .unwrap_or(0.0)
}

fn ratio(ctx: &Ctx) -> Verdict {
    let rate = match sessions_now(ctx) {
        Ok(v) => v,
        Err(v) => return v,
    };
    let running = match running_pods(ctx) {
        Ok(v) => v,
        Err(v) => return v,
    };
    let b = ctx.settings.bands;
    let (per_pod, band) = band(Some(rate), Some(running), &b);
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
            return Verdict::pass(format!("idle: {} sessions, 0 pods", num(rate)))
                .evidence(format!("query: {query}"));
        }
        (Band::Unknown, _) => return Verdict::skip("sessions or running pods unknown"),
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
    v = v.evidence(format!("query: {query}"));
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
    if matches!(v.outcome, super::Outcome::Pass) {
        return v;
    }
    let too_few_pods = per_pod.is_none_or(|r| r > b.green_max);
    let fix = if too_few_pods {
        "pods lag sessions: KEDA's threshold must be 1 (one pod per session per second of requests); check keda.active, hpa.metric, and Pending pods (pods.pending, nodes.scale-up)"
    } else {
        "pods outlive sessions: lower cooldownPeriod (scale to zero) and the HPA's scale-down stabilization (advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.stabilizationWindowSeconds, 300 s by default); check minReplicaCount"
    };
    v.fix(fix).command(query_command(ctx.settings, &query))
}

fn traffic(ctx: &Ctx) -> Verdict {
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
    let describe = format!("kubectl describe scaledobject {so_name} -n {ns}");
    let running_text = format!("{} running {}", num(running), pods_word(running));

    if sessions >= NO_SESSIONS {
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
                ctx.settings.selector
            ))
        } else {
            v.fix("KEDA did not scale from zero: see keda.ready, keda.active and keda.trigger (the query must rise above activationThreshold), and the operator's logs")
                .command(describe)
        };
        return v;
    }

    // No traffic now: how far down should the Deployment be, and by when?
    let min = so.map_or(0, |so| so.min_replicas_or_default());
    let floor = so.and_then(|so| so.idle_replicas).unwrap_or(min).max(0);
    let floor_f = floor as f64;
    if running < floor_f + 0.5 {
        return if running < 0.5 {
            Verdict::pass(format!("idle: {} sessions, 0 pods", num(sessions)))
        } else {
            Verdict::pass(format!(
                "no sessions, {running_text} = minReplicaCount {floor}"
            ))
        };
    }
    let recent = match value(ctx, promql::SESSIONS_MAX_5M) {
        Ok(v) => v.unwrap_or(0.0),
        Err(v) if v.outcome == super::Outcome::Skip => {
            return Verdict::skip(format!(
                "no sessions, {running_text}: how long traffic has been gone is not in this snapshot"
            ));
        }
        Err(v) => return v,
    };
    if recent >= NO_SESSIONS {
        return Verdict::pass(format!(
            "scale-down in progress: 0 sessions now, up to {} in the last 5 min, {running_text}",
            num(recent)
        ));
    }

    let defaults = if so.is_some() {
        ""
    } else {
        " (KEDA defaults: ScaledObject not read)"
    };
    let (expected, arithmetic) = if floor == 0 {
        let cooldown = so.map_or(KEDA_DEFAULT_COOLDOWN_PERIOD, |so| {
            so.cooldown_period_or_default()
        });
        let polling = so.map_or(KEDA_DEFAULT_POLLING_INTERVAL, |so| {
            so.polling_interval_or_default()
        });
        (
            60 + cooldown + polling,
            format!(
                "KEDA scales to 0 about {} s after the last request: 60 s rate window + cooldownPeriod {cooldown} s + pollingInterval {polling} s{defaults}",
                60 + cooldown + polling
            ),
        )
    } else {
        let stabilization = so
            .and_then(|so| so.scale_down_stabilization)
            .or_else(|| {
                ctx.snap
                    .keda_hpa(so_name)
                    .and_then(|h| h.scale_down_stabilization.map(i64::from))
            })
            .unwrap_or(300);
        (
            60 + stabilization + 15,
            format!(
                "the HPA scales down to {floor} about {} s after the last request: 60 s rate window + scale-down stabilization {stabilization} s + HPA sync 15 s",
                60 + stabilization + 15
            ),
        )
    };
    let message =
        format!("not scaling down: no traffic for 5 min, {running_text} (minReplicaCount {floor})");
    let fix = "the trigger must fall to or below activationThreshold without sessions (nginx also counts the exporter's scrapes): check the ScaledObject's Active condition, pause annotations and fallback (keda.active, keda.paused, keda.fallback, keda.cooldown)";
    if expected <= 300 {
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
    use super::*;
    use crate::checks::Outcome;
    use crate::checks::testkit::*;
    use crate::snapshot::{GapReason, Snapshot};

    fn with(sessions: Option<f64>, running: Option<f64>) -> Snapshot {
        let mut s = healthy();
        set_prom(&mut s, promql::SESSIONS, sessions);
        set_prom(&mut s, promql::RUNNING_PODS, running);
        s
    }

    #[test]
    fn healthy_passes() {
        crate::checks::testkit::assert_healthy_passes(CHECKS);
    }

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
