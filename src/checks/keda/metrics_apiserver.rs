//! `keda.metrics-apiserver`: KEDA's metrics API server is running. The check's docs, its evaluation and its
//! unit tests.

use super::*;

pub static CHECK: Check = Check {
    id: CheckId::KedaMetricsApiserver,
    title: "KEDA's metrics API server is running",
    runbook: "Quick Health Checks §3 (the HPA's metric comes from it)",
    needs: &[CheckId::KedaInstalled],
    reads: "metricsApiserverPods, gaps[keda-metrics-apiserver]",
    docs: Docs {
        what: "The keda-operator-metrics-apiserver pods (kedaNamespace, kedaMetricsApiserverSelector) are Running and Ready.",
        why: "It serves external.metrics.k8s.io: the HPA reads s0-prometheus from it to go from 1 to N pods. When it is down, KEDA's own loop still works (Ready, Active), but the HPA reports FailedGetExternalMetric and freezes; KEDA 2.20.0–2.20.1 then turn Ready False (HPAMetricsUnavailable) and 2.20.2 sets HPAActive False.",
        fix: "Read its logs (`kubectl logs -n keda <pod> --previous`) and events: an OOMKilled loop wants a higher memory limit (Helm resources.metricServer); check `kubectl get apiservice v1beta1.external.metrics.k8s.io` is Available.",
    },
    source: file!(),
    eval: metrics_apiserver,
};

pub(super) fn metrics_apiserver(ctx: &Ctx) -> Verdict {
    keda_pods(
        ctx,
        KedaPods {
            pods: ctx.snap.metrics_apiserver_pods.as_ref(),
            source: "keda-metrics-apiserver",
            what: "keda-operator-metrics-apiserver",
            selector: keda_metrics_apiserver_selector(ctx),
            none_fix: "every KEDA install runs its metrics server beside the operator (keda-operator-metrics-apiserver from the Helm chart, keda-metrics-apiserver from the release manifests): repair the install, or set kedaMetricsApiserverSelector to its pods' labels (`kubectl get apiservice v1beta1.external.metrics.k8s.io` names its Service)",
            down: "while it is down external.metrics.k8s.io is unavailable and the HPA cannot read s0-prometheus (FailedGetExternalMetric), so pods stop following sessions",
            some_fix: "look at the pods that are not Ready; the API server's calls to an unready replica fail, so the HPA sees the metric only some of the time",
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::checks::testkit::*;
    use crate::domain::snapshot::GapReason;

    #[test]
    fn metrics_apiserver_outcomes_name_the_pod() {
        expect(
            &eval(metrics_apiserver, &healthy()),
            Outcome::Pass,
            "1/1 keda-operator-metrics-apiserver pods Running and Ready",
        );
        let mut s = healthy();
        {
            let p = &mut s.metrics_apiserver_pods.as_mut().unwrap()[0];
            p.ready = false;
            p.restarts = 6;
            p.containers[0].ready = false;
            p.containers[0].waiting_reason = Some("CrashLoopBackOff".into());
        }
        let v = eval(metrics_apiserver, &s);
        expect(
            &v,
            Outcome::Fail,
            "0/1 keda-operator-metrics-apiserver pods Ready (keda-operator-metrics-apiserver-5c7d9f8b6-p4t7n: CrashLoopBackOff, 6 restarts)",
        );
        assert!(v.fix.unwrap().contains("FailedGetExternalMetric"));
        assert_eq!(
            v.command.as_deref(),
            Some(
                "kubectl get pods -n keda -l app.kubernetes.io/name=keda-operator-metrics-apiserver"
            )
        );
        s.metrics_apiserver_pods = Some(vec![]);
        expect(
            &eval(metrics_apiserver, &s),
            Outcome::Fail,
            "no keda-operator-metrics-apiserver pods",
        );
        s.metrics_apiserver_pods = None;
        gap(
            &mut s,
            "keda-metrics-apiserver",
            GapReason::Forbidden,
            "pods is forbidden",
        );
        expect(&eval(metrics_apiserver, &s), Outcome::Error, "forbidden");
    }
}
