//! Checks of the sessions area: do pods follow sessions (the runbook's
//! sessions-per-pod ratio), and does the Deployment scale up under traffic and
//! back down without it.

use super::prometheus::{query_command, samples, value};
use super::{Check, CheckId, Ctx, Docs, Verdict};
use crate::domain::figures::{Band, NO_SESSIONS, Ratio, draining_text};
use crate::domain::promql;
use crate::domain::quantity::num;
use crate::domain::snapshot::Lookup;

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
