//! `prometheus.nginx-metric`: nginx request series is scraped and fresh. The check's docs, its evaluation and its
//! unit tests.

use super::*;

pub static CHECK: Check = Check {
    id: CheckId::PrometheusNginxMetric,
    title: "nginx request series is scraped and fresh",
    runbook: "Troubleshooting: No Pods Scaling Up, Check 2",
    needs: &[CheckId::PrometheusReachable],
    reads: "Prometheus timestamp(nginx_http_requests_total{service=...}), the spacing of its samples over 5m (changes(timestamp(...)[5m:1s]))",
    docs: Docs {
        what: "Whether nginx_http_requests_total{service=\"<nginxService>\"} exists, its newest sample is under 2 minutes old, and the sessions query's [1m] rate window holds two samples at the series' scrape interval (the span of its samples over the last 5 minutes divided by the intervals between them; not measured while a series has fewer than 3 samples).",
        why: "KEDA scales on the rate of this counter. The exporter adds no service label itself: a ServiceMonitor (the Service's name) or the exporter's -prometheus.const-labels must put it there. The runbook's Heartbeat Event Rate query also filters status=\"200\", which matches nothing: stub_status has no status label.",
        fix: "Scrape the exporter with service=\"<nginxService>\" (ServiceMonitor on that Service, relabel __meta_kubernetes_service_name to service, or -prometheus.const-labels=service=<name>), or set nginxService to the label the series carry. A stale series means the exporter is down or its scrape fails: look at its target on /api/v1/targets. Prometheus scrapes every 1m by default (the Prometheus Operator every 30s): then rate(...[1m]) is empty although the series is fine; widen the window to two scrape intervals or more, or scrape every 15s.",
    },
    source: file!(),
    eval: nginx_metric,
};

/// A newest sample older than this means the exporter or its scrape is broken
/// (a healthy target is scraped every 15-60 s).
const STALE_AFTER_SECS: f64 = 120.0;

fn captured_secs(ctx: &Ctx) -> f64 {
    ctx.snap.captured_at.as_millisecond() as f64 / 1000.0
}

pub(super) fn nginx_metric(ctx: &Ctx) -> Verdict {
    let series = match samples(ctx, promql::NGINX_SERIES) {
        Ok(s) => s,
        Err(v) => return v,
    };
    let svc = &ctx.settings.nginx_service;
    let metric = format!(
        "nginx_http_requests_total{{service=\"{}\"}}",
        promql::escape(svc)
    );
    if series.is_empty() {
        return Verdict::fail(format!(
            "Prometheus has no {metric}: is the exporter scraped with that service label?"
        ))
        .evidence("the exporter adds no service label itself: a ServiceMonitor sets it to the Service's name, or the exporter's -prometheus.const-labels sets it")
        .evidence("the command lists the service and job labels nginx_http_requests_total has")
        .fix(format!(
            "scrape the exporter with service=\"{svc}\": a ServiceMonitor on the Service named {svc}, a relabel of __meta_kubernetes_service_name to service, or -prometheus.const-labels=service={svc}; or set nginxService to the label the series carry"
        ))
        .command(query_command(
            ctx,
            "count by (service, job) (nginx_http_requests_total)",
        ));
    }
    let now = captured_secs(ctx);
    let newest = series
        .iter()
        .map(|s| s.value)
        .fold(f64::NEG_INFINITY, f64::max);
    let age = (now - newest).max(0.0);
    let age_text = human_duration(age.round() as i64);
    if age > STALE_AFTER_SECS {
        return Verdict::fail(format!(
            "{metric} is stale: newest sample {age_text} old (over 2m): the exporter is down or its scrape fails"
        ))
        .evidence(format!("{} series, newest sample at unix {newest:.0}, snapshot at unix {now:.0}", series.len()))
        .fix("check that the nginx exporter runs next to nginx and that Prometheus's target for it is up (health and lastError on /api/v1/targets)")
        .command(prometheus_command(
            ctx,
            "/api/v1/targets",
            &[("state", "active")],
        ));
    }
    if let Some((message, fix)) = window_shortfall(ctx, promql::SESSIONS_WINDOW_SECS) {
        let query = promql::nginx_samples_5m(ctx.settings).promql;
        return Verdict::fail(format!("{metric} is fresh ({age_text} old), but {message}"))
            .evidence(format!(
                "the sessions query {} is the runbook's and KEDA's",
                promql::sessions(ctx.settings).promql
            ))
            .evidence(format!("scrape spacing per series over 5m: {query}"))
            .fix(fix)
            .command(query_command(ctx, &query));
    }
    let mut v = if series.len() == 1 {
        Verdict::pass(format!("{metric} is fresh ({age_text} old)"))
    } else {
        Verdict::pass(format!(
            "{metric} is fresh ({age_text} old, {} series)",
            series.len()
        ))
    };
    if series.len() > 1 {
        let stale = series
            .iter()
            .filter(|s| now - s.value > STALE_AFTER_SECS)
            .count();
        v = v.evidence(format!(
            "{} series (one per exporter target); sum(rate(...)) adds them up",
            series.len()
        ));
        if stale > 0 {
            v = v.evidence(format!(
                "{stale} of them have no sample in the last 2m (a target that went away)"
            ));
        }
    }
    v
}

/// The scrape interval of the nginx series in seconds, measured from the
/// sample times of the densest series (`domain::model::spacing`); `None`
/// when it was not measured, no series exists, or the series is too young
/// to tell.
pub(crate) fn nginx_sample_spacing(ctx: &Ctx) -> Option<f64> {
    crate::domain::model::scrape_spacing(ctx.snap)
}

/// A rate window as PromQL writes it (`1m`, `90s`, `2m30s`).
pub(super) fn promql_window(secs: f64) -> String {
    let secs = secs.ceil() as i64;
    match (secs / 60, secs % 60) {
        (0, s) => format!("{s}s"),
        (m, 0) => format!("{m}m"),
        (m, s) => format!("{m}m{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::*;
    use super::*;

    use crate::checks::Outcome;
    use crate::checks::testkit::*;
    use crate::settings::Settings;

    #[test]
    fn missing_nginx_series_fails_and_says_how_the_label_gets_there() {
        let mut s = healthy();
        set_prom(&mut s, promql::NGINX_SERIES, None);
        let v = eval(nginx_metric, &s);
        expect(
            &v,
            Outcome::Fail,
            r#"no nginx_http_requests_total{service="spice-runner-nginx"}"#,
        );
        let fix = v.fix.as_deref().unwrap_or("");
        assert!(fix.contains("ServiceMonitor") && fix.contains("-prometheus.const-labels"));
        let cmd = v.command.as_deref().unwrap_or("");
        assert!(
            cmd.starts_with("kubectl get --raw '/api/v1/namespaces/observability/services/prometheus:9090/proxy/api/v1/query?query=count+by+%28service%2C+job%29"),
            "{cmd}"
        );
    }

    /// The look commands repeat a query on the Prometheus that answered it:
    /// the one the ScaledObject's trigger names, under its route prefix,
    /// never the configured one the collect step did not read.
    #[test]
    fn look_commands_query_the_prometheus_read_from_the_trigger_with_its_prefix() {
        let mut s = healthy();
        s.prometheus_read = Some(crate::domain::snapshot::ReadFrom {
            address: "mimir/mimir-nginx:80/prometheus".into(),
            how: "ScaledObject trigger".into(),
            instead_of: Some("observability/prometheus:9090: not found".into()),
            tenant: None,
            tenant_from: None,
        });
        set_prom(&mut s, promql::NGINX_SERIES, None);
        let v = eval(nginx_metric, &s);
        let cmd = v.command.as_deref().unwrap_or("");
        assert!(
            cmd.starts_with("kubectl get --raw '/api/v1/namespaces/mimir/services/mimir-nginx:80/proxy/prometheus/api/v1/query?query=count+by+%28service%2C+job%29"),
            "{cmd}"
        );
        set_prom(&mut s, promql::NGINX_SERIES, Some(fresh_at(200.0)));
        let v = eval(nginx_metric, &s);
        assert_eq!(
            v.command.as_deref(),
            Some(
                "kubectl get --raw '/api/v1/namespaces/mimir/services/mimir-nginx:80/proxy/prometheus/api/v1/targets?state=active'"
            )
        );
        // Read from the configured Prometheus (a setting or the default):
        // its own address, as before.
        s.prometheus_read.as_mut().unwrap().how = "default".into();
        let v = eval(nginx_metric, &s);
        assert!(
            v.command.as_deref().unwrap_or("").starts_with(
                "kubectl get --raw '/api/v1/namespaces/observability/services/prometheus:9090/proxy/api/v1/targets"
            ),
            "{v:#?}"
        );
    }

    #[test]
    fn stale_nginx_series_fails() {
        let mut s = healthy();
        set_prom(&mut s, promql::NGINX_SERIES, Some(fresh_at(200.0)));
        let v = eval(nginx_metric, &s);
        expect(&v, Outcome::Fail, "stale: newest sample 3m20s old");
        assert!(
            v.command
                .as_deref()
                .unwrap_or("")
                .contains("/api/v1/targets")
        );
    }

    #[test]
    fn fresh_nginx_series_passes_with_its_age() {
        let v = eval(nginx_metric, &healthy());
        expect(&v, Outcome::Pass, "fresh (10s old)");
    }

    #[test]
    fn a_rate_window_under_two_scrape_intervals_fails_with_the_window_it_needs() {
        let mut s = healthy();
        // Prometheus's default 1m scrape interval: 5 samples in 5 minutes,
        // and the sessions query's [1m] rate answers nothing.
        set_prom(&mut s, promql::NGINX_SAMPLES_5M, Some(5.0));
        set_prom(&mut s, promql::SESSIONS, None);
        let v = eval(nginx_metric, &s);
        expect(&v, Outcome::Fail, "scraped every 1m");
        expect(
            &v,
            Outcome::Fail,
            "a [1m] rate window holds fewer than two samples",
        );
        expect(&v, Outcome::Fail, "needs a window of at least [2m]");
        assert!(v.fix.as_deref().unwrap_or("").contains("[4m]"), "{v:#?}");
        assert!(
            v.command
                .as_deref()
                .unwrap_or("")
                .contains("changes%28timestamp%28nginx_http_requests_total"),
            "{v:#?}"
        );

        // 15 s (20 samples) and the Prometheus Operator's 30 s (10, or 11 when
        // the window's edges catch one more) leave [1m] two samples or more.
        for samples in [20.0, 21.0, 10.0, 11.0] {
            set_prom(&mut s, promql::NGINX_SAMPLES_5M, Some(samples));
            expect(&eval(nginx_metric, &s), Outcome::Pass, "fresh");
        }
        // Not measured (an older snapshot): nothing to say about the window.
        s.prometheus.remove(promql::NGINX_SAMPLES_5M);
        expect(&eval(nginx_metric, &s), Outcome::Pass, "fresh");
    }

    #[test]
    fn a_new_sparse_target_beside_a_15s_series_is_not_read_as_a_slow_scrape() {
        let mut s = healthy();
        // One target scraped every 15 s for the whole window, and a target
        // that appeared 45 s ago with 3 samples: the spacing is the 15 s one.
        set_prom_samples(&mut s, promql::NGINX_SAMPLES_5M, &[20.0, 3.0]);
        set_prom(&mut s, promql::SESSIONS, None);
        expect(&eval(nginx_metric, &s), Outcome::Pass, "fresh");
        let settings = Settings::defaults();
        let ctx = Ctx::new(&s, &settings);
        assert_eq!(nginx_sample_spacing(&ctx), Some(15.0));
    }

    #[test]
    fn a_sessions_answer_means_its_window_is_not_empty() {
        let mut s = healthy();
        // The counts alone suggest a 1m scrape, but the sessions query's own
        // [1m] rate returned a value: the window is not empty.
        set_prom(&mut s, promql::NGINX_SAMPLES_5M, Some(5.0));
        set_prom(&mut s, promql::SESSIONS, Some(4.0));
        let v = eval(nginx_metric, &s);
        expect(&v, Outcome::Pass, "fresh");
        assert!(!v.message.contains("read as none"), "{v:#?}");
    }

    #[test]
    fn several_nginx_series_pass_with_a_count() {
        let mut s = healthy();
        set_prom_samples(
            &mut s,
            promql::NGINX_SERIES,
            &[fresh_at(5.0), fresh_at(12.0), fresh_at(180.0)],
        );
        let v = eval(nginx_metric, &s);
        expect(&v, Outcome::Pass, "fresh (5s old, 3 series)");
        assert!(v.evidence.iter().any(|e| e.contains("1 of them")), "{v:#?}");
    }

    #[test]
    fn a_rejected_nginx_query_is_an_error_with_the_query() {
        let mut s = healthy();
        set_prom_error(&mut s, promql::NGINX_SERIES, "Prometheus bad_data: boom");
        let v = eval(nginx_metric, &s);
        expect(&v, Outcome::Error, "boom");
        assert!(v.evidence[0].contains("timestamp(nginx_http_requests_total"));
    }
}
