//! Checks of the sessions area: do pods follow sessions (the runbook's
//! sessions-per-pod ratio), and does the Deployment scale up under traffic and
//! back down without it.

use super::prometheus::{query_command, samples, value};
use super::{Check, CheckId, Ctx, Docs, Verdict};
use crate::domain::figures::{Band, Ratio, draining_text};
use crate::domain::model::rate_text;
use crate::domain::promql;
use crate::domain::quantity::num;
use crate::domain::snapshot::Lookup;

pub(super) mod flapping;
pub(super) mod ratio;
pub(super) mod traffic;

/// Active sessions now, the figure status and watch show too. An answer that
/// could not be read is its gap or error; an empty `sum(rate(...))` means
/// there is no nginx series at all: that is unknown, not zero
/// (prometheus.nginx-metric says why).
pub(crate) fn sessions_now(ctx: &Ctx) -> Result<f64, Verdict> {
    let answered = samples(ctx, promql::SESSIONS)?;
    match ctx.figures.sessions {
        Some(v) => Ok(v),
        None if !answered.is_empty() => Err(not_one_series(answered.len(), "sessions")),
        None => Err(Verdict::skip(format!(
            "sessions unknown: no nginx_http_requests_total{{service=\"{}\"}} series with a rate (see prometheus.nginx-metric)",
            promql::escape(&ctx.settings.nginx_service)
        ))),
    }
}

/// Running pods per kube-state-metrics (`sum`, not the runbook's `count`),
/// the figure status shows too. An empty `sum` is zero pods when
/// kube-state-metrics' series exist at all (`Figures::running_pods`).
pub(crate) fn running_pods(ctx: &Ctx) -> Result<f64, Verdict> {
    let answered = samples(ctx, promql::RUNNING_PODS)?;
    if let Some(v) = ctx.figures.running_pods {
        return Ok(v);
    }
    if !answered.is_empty() {
        return Err(not_one_series(answered.len(), "running pods"));
    }
    samples(ctx, promql::KSM_SERIES)?;
    Err(Verdict::skip(
        "running pods unknown: no kube_pod_status_phase series (see prometheus.kube-state-metrics)",
    ))
}

/// Names the game pods being deleted (draining after a scale-down): they are
/// neither running pods in the figures nor in the PromQL, although
/// kube-state-metrics' phase series still says Running for them.
fn with_draining(ctx: &Ctx, v: Verdict) -> Verdict {
    match ctx.figures.pods {
        Some(p) if p.terminating > 0 => v.evidence(format!(
            "{}: not running pods (kube_pod_deletion_timestamp is set; kube_pod_status_phase still says Running)",
            draining_text(p.terminating, p.draining_grace_secs)
        )),
        _ => v,
    }
}

/// The idle model's word on a rate that is no sessions: the floor it sits
/// at (exporter scrapes, probes) and KEDA's activation threshold.
fn with_idle(ctx: &Ctx, mut v: Verdict, sessions: f64) -> Verdict {
    let idle = ctx.figures.idle;
    if let Some(said) = idle.not_players(sessions) {
        v = v.evidence(said);
    }
    match idle.evidence() {
        Some(e) => v.evidence(e),
        None => v,
    }
}

/// With no players, the idle floor above the trigger's activationThreshold
/// keeps KEDA active (it activates on a value strictly above the threshold),
/// so a ScaledObject with minReplicaCount 0 never scales to zero: the cause,
/// named with the fix. `None` when the floor is below it or not measured.
fn floor_keeps_keda_active(ctx: &Ctx, sessions: f64) -> Option<Verdict> {
    let idle = ctx.figures.idle;
    if !idle.no_sessions(sessions) || ctx.figures.scale_down.floor != 0 {
        return None;
    }
    let (floor, activation) = idle.floor_above_activation()?;
    let ns = ctx.ns();
    Some(
        Verdict::fail(format!(
            "KEDA never scales to zero: the idle floor {} req/s ({}, no players){} is above activationThreshold {}",
            rate_text(floor.rate()),
            floor.sources(),
            if idle.subtracted > 0.0 {
                format!(
                    " less the {} the trigger query subtracts",
                    rate_text(idle.subtracted)
                )
            } else {
                String::new()
            },
            rate_text(activation)
        ))
        .evidence(format!("idle floor {}", floor.arithmetic()))
        .evidence(format!(
            "KEDA counts the trigger active while its value is above activationThreshold (strictly): {} > {} with no player, so the ScaledObject stays Active and the HPA keeps at least 1 pod",
            rate_text(floor.rate() - idle.subtracted),
            rate_text(activation)
        ))
        .fix(format!(
            "raise the trigger's activationThreshold above the floor (e.g. \"{}\", below one session's 1 req/s), or subtract the exporter's scrapes{} in the trigger query",
            rate_text((floor.rate() * 2.0).clamp(0.2, 0.5)),
            if floor.probes.is_some_and(|p| p.count > 0) {
                " and probes"
            } else {
                ""
            }
        ))
        .command(format!(
            "kubectl edit scaledobject {} -n {ns}",
            crate::checks::shell_arg(&ctx.settings.scaled_object)
        )),
    )
}

/// With no players, `autoscaling.keda.sh/force-activation` holds the
/// ScaledObject Active and the pods up: the cause, named with its fix (and
/// the Active condition's message). `None` without the annotation or with
/// players.
pub(crate) fn forced_active(ctx: &Ctx, running: f64) -> Option<Verdict> {
    let e = ctx.figures.expectation.as_ref()?;
    let scaling = &ctx.figures.scaling;
    if !e.forced || running < scaling.floor() as f64 + 0.5 {
        return None;
    }
    let why = scaling.force_activation_text()?;
    let so = crate::checks::shell_arg(&ctx.settings.scaled_object);
    Some(
        Verdict::warn(format!(
            "no sessions, {} running {}: pods never go to zero: {why}",
            num(running),
            pods_word(running)
        ))
        .fix(format!(
            "remove the annotation {} from ScaledObject {so} when the forced activation is over (cooldownPeriod does not apply while it is set)",
            crate::domain::snapshot::FORCE_ACTIVATION
        ))
        .command(format!(
            "kubectl annotate scaledobject {so} -n {} {}-",
            ctx.ns(),
            crate::domain::snapshot::FORCE_ACTIVATION
        )),
    )
}

/// The scaling model's word on the running pods (tolerance, warm pool,
/// stabilization), as evidence.
pub(crate) fn with_model(ctx: &Ctx, v: Verdict) -> Verdict {
    let Some(e) = ctx.figures.expectation.as_ref() else {
        return v;
    };
    let v = match e.why.clone() {
        Some(why) => v.evidence(why),
        None => v,
    };
    if e.within_tolerance {
        let v = match ctx.figures.scaling.tolerance_served.text() {
            Some(served) => v.evidence(served),
            None => v,
        };
        v.evidence(ctx.figures.scaling.tolerance_fix())
    } else {
        v
    }
}

/// A one-series query (`sum` without `by`) that answered several series was
/// not answered as asked; its value is unknown rather than added up.
fn not_one_series(n: usize, what: &str) -> Verdict {
    Verdict::skip(format!(
        "{what} unknown: Prometheus answered {n} series where a sum answers one"
    ))
}

fn pods_word(n: f64) -> &'static str {
    if (n - 1.0).abs() < 1e-9 {
        "pod"
    } else {
        "pods"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::checks::testkit::*;

    use crate::domain::snapshot::Snapshot;

    pub(super) fn with(sessions: Option<f64>, running: Option<f64>) -> Snapshot {
        let mut s = healthy();
        set_prom(&mut s, promql::SESSIONS, sessions);
        set_prom(&mut s, promql::RUNNING_PODS, running);
        s
    }

    #[test]
    fn healthy_passes() {
        crate::checks::testkit::assert_healthy_passes(crate::checks::Area::Sessions);
    }
}
