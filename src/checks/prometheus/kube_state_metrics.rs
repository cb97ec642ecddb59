//! `prometheus.kube-state-metrics`: kube-state-metrics is scraped. The check's docs, its evaluation and its
//! unit tests.

use super::*;

pub static CHECK: Check = Check {
    id: CheckId::PrometheusKubeStateMetrics,
    title: "kube-state-metrics is scraped",
    runbook: "Prometheus Queries: Running Pods",
    needs: &[CheckId::PrometheusReachable],
    reads: "Prometheus count(kube_pod_status_phase)",
    docs: Docs {
        what: "Whether Prometheus has any kube_pod_status_phase series (in any namespace).",
        why: "Running pods, the sessions-per-pod ratio and both runbook alerts are computed from kube-state-metrics series.",
        fix: "Deploy kube-state-metrics and add a scrape job or ServiceMonitor for its metrics port (8080).",
    },
    source: file!(),
    eval: kube_state_metrics,
};

pub(super) fn kube_state_metrics(ctx: &Ctx) -> Verdict {
    match value(ctx, promql::KSM_SERIES) {
        Err(v) => v,
        Ok(Some(n)) if n > 0.0 => Verdict::pass(format!(
            "kube-state-metrics is scraped ({} kube_pod_status_phase series)",
            n.round() as i64
        )),
        Ok(_) => Verdict::fail(
            "Prometheus has no kube_pod_status_phase series: kube-state-metrics is not scraped",
        )
        .evidence("running pods, the sessions-per-pod ratio and the runbook's alerts all need it")
        .fix("deploy kube-state-metrics and scrape its metrics port (8080) with a scrape job or ServiceMonitor")
        .command("kubectl get pods -A -l app.kubernetes.io/name=kube-state-metrics"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::checks::Outcome;
    use crate::checks::testkit::*;

    #[test]
    fn missing_kube_state_metrics_fails() {
        let mut s = healthy();
        set_prom(&mut s, promql::KSM_SERIES, None);
        expect(
            &eval(kube_state_metrics, &s),
            Outcome::Fail,
            "kube-state-metrics is not scraped",
        );
    }

    #[test]
    fn kube_state_metrics_passes_with_the_series_count() {
        expect(
            &eval(kube_state_metrics, &healthy()),
            Outcome::Pass,
            "45 kube_pod_status_phase series",
        );
    }
}
