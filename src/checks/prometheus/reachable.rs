//! `prometheus.reachable`: Prometheus answers. The check's docs, its evaluation and its
//! unit tests.

use super::*;

pub static CHECK: Check = Check {
    id: CheckId::PrometheusReachable,
    title: "Prometheus answers",
    runbook: "Prometheus Queries (Access Prometheus)",
    needs: &[],
    reads: "Prometheus answers; gap prometheus",
    docs: Docs {
        what: "Whether Prometheus answered the plugin's queries, through the API server's service proxy (prometheusService) or prometheusUrl.",
        why: "KEDA's trigger, the sessions-per-pod ratio and the alerts all come from Prometheus; if the plugin cannot ask it, those checks cannot judge anything.",
        fix: "Point prometheusService (NS/SVC:PORT) or --prometheus-url at Prometheus; a 403 needs verb get on services/proxy in Prometheus's namespace.",
    },
    source: file!(),
    eval: reachable,
};

pub(super) fn reachable(ctx: &Ctx) -> Verdict {
    let instead = read_instead(ctx);
    let at = match &instead {
        Some((s, prefix)) => format!("service {s}{prefix} (from the ScaledObject's trigger)"),
        None => ctx.settings.prometheus.to_string(),
    };
    let answers = &ctx.snap.prometheus;
    let answered = answers.values().filter(|a| a.samples.is_some()).count();
    if answered > 0 {
        let mut v = Verdict::pass(format!("Prometheus answers at {at}"))
            .evidence(format!("{answered} of {} queries answered", answers.len()));
        for (key, a) in answers {
            if let Some(e) = a.error.as_deref().filter(|_| a.samples.is_none()) {
                v = v.evidence(format!("{key} failed: {e}"));
            }
        }
        return v;
    }
    let Some(gap) = ctx.snap.gap("prometheus") else {
        return Verdict::skip("not in this snapshot: Prometheus was not queried");
    };
    let mut v = Verdict::error(format!(
        "could not read prometheus at {at}: {} ({})",
        gap.message, gap.reason
    ))
    .unread("prometheus");
    let service = match (&instead, &ctx.settings.prometheus) {
        (Some((s, _)), _) => Some(s),
        (None, Endpoint::Service(s)) => Some(s),
        (None, Endpoint::Url(_)) => None,
    };
    let hint = if gap.hint.is_empty() && gap.reason == GapReason::Forbidden {
        match service {
            Some(s) => format!(
                "grant verb \"get\" on resource \"services/proxy\" in API group \"\" in namespace {}, or use --prometheus-url",
                s.namespace
            ),
            None => "set SPICE_PROMETHEUS_TOKEN to a token Prometheus accepts".to_string(),
        }
    } else {
        gap.hint.clone()
    };
    if !hint.is_empty() {
        v = v.fix(hint);
    }
    let command = match (gap.reason, service) {
        (GapReason::Forbidden, Some(s)) => {
            format!("kubectl auth can-i get services/proxy -n {}", s.namespace)
        }
        (GapReason::NotFound, Some(s)) => format!("kubectl get services -n {}", s.namespace),
        _ => match &instead {
            Some((s, prefix)) => api_command(
                &Endpoint::Service(s.clone()),
                &format!("{prefix}/-/ready"),
                &[],
            ),
            None => api_command(&ctx.settings.prometheus, "/-/ready", &[]),
        },
    };
    v.command(command)
}

#[cfg(test)]
mod tests {
    use super::super::tests::*;
    use super::*;

    use crate::checks::Outcome;
    use crate::checks::testkit::*;

    #[test]
    fn reachable_pass_names_the_endpoint() {
        let v = eval(reachable, &healthy());
        expect(&v, Outcome::Pass, "service observability/prometheus:9090");
    }

    #[test]
    fn the_prometheus_read_from_the_trigger_is_the_one_named_with_its_prefix() {
        let mut s = unreachable(GapReason::Unauthorized, "HTTP 401: no org id");
        s.prometheus_read = Some(crate::domain::snapshot::ReadFrom {
            address: "mimir/mimir-nginx:80/prometheus".into(),
            how: "ScaledObject trigger".into(),
            instead_of: Some("observability/prometheus:9090: not found".into()),
            tenant: None,
            tenant_from: None,
        });
        let v = eval(reachable, &s);
        expect(
            &v,
            Outcome::Error,
            "could not read prometheus at service mimir/mimir-nginx:80/prometheus (from the ScaledObject's trigger)",
        );
        assert_eq!(
            v.command.as_deref(),
            Some(
                "kubectl get --raw /api/v1/namespaces/mimir/services/mimir-nginx:80/proxy/prometheus/-/ready"
            )
        );
        assert!(!v.message.contains("observability"), "{v:#?}");
        let mut s = healthy();
        s.prometheus_read = Some(crate::domain::snapshot::ReadFrom {
            address: "monitoring/prometheus-operated:9090".into(),
            how: "ScaledObject trigger".into(),
            instead_of: None,
            tenant: None,
            tenant_from: None,
        });
        expect(
            &eval(reachable, &s),
            Outcome::Pass,
            "Prometheus answers at service monitoring/prometheus-operated:9090 (from the ScaledObject's trigger)",
        );
    }

    #[test]
    fn reachable_with_one_failed_query_is_still_reachable() {
        let mut s = healthy();
        set_prom_error(
            &mut s,
            promql::SESSIONS_MAX_5M,
            "Prometheus bad_data: parse error",
        );
        gap(
            &mut s,
            "prometheus",
            GapReason::Error,
            "Prometheus bad_data: parse error",
        );
        let v = eval(reachable, &s);
        expect(&v, Outcome::Pass, "answers");
        assert!(
            v.evidence.iter().any(|e| e.contains("parse error")),
            "{v:#?}"
        );
    }

    #[test]
    fn forbidden_prometheus_gives_the_rbac_command() {
        let s = unreachable(GapReason::Forbidden, "services \"prometheus\" is forbidden");
        let v = eval(reachable, &s);
        expect(&v, Outcome::Error, "forbidden");
        assert_eq!(
            v.command.as_deref(),
            Some("kubectl auth can-i get services/proxy -n observability")
        );
    }

    #[test]
    fn forbidden_without_a_hint_gets_the_rbac_hint() {
        let mut s = unreachable(GapReason::Forbidden, "forbidden");
        s.gaps[0].hint.clear();
        let v = eval(reachable, &s);
        assert!(
            v.fix.as_deref().unwrap_or("").contains("services/proxy"),
            "{v:#?}"
        );
    }

    #[test]
    fn timed_out_prometheus_is_an_error() {
        let s = unreachable(GapReason::Timeout, "no answer within 10s");
        expect(&eval(reachable, &s), Outcome::Error, "timed out");
    }

    #[test]
    fn not_found_service_suggests_listing_services() {
        let s = unreachable(GapReason::NotFound, "services \"prometheus\" not found");
        let v = eval(reachable, &s);
        expect(&v, Outcome::Error, "not found");
        assert_eq!(
            v.command.as_deref(),
            Some("kubectl get services -n observability")
        );
    }
}
