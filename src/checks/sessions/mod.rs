//! Checks of the sessions area: do pods follow sessions (the runbook's
//! sessions-per-pod ratio), and does the Deployment scale up under traffic and
//! back down without it.

use super::prometheus::{query_command, samples, value};
use super::{Check, CheckId, Ctx, Docs, Verdict};
use crate::cluster::promql;
use crate::report::num;
use crate::report::status::{Band, band};
use crate::snapshot::{KEDA_DEFAULT_COOLDOWN_PERIOD, KEDA_DEFAULT_POLLING_INTERVAL, Lookup};

pub(super) mod ratio;
pub(super) mod traffic;

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

    use crate::snapshot::Snapshot;

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
