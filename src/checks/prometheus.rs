//! Checks of the prometheus area: is Prometheus there, and does it hold the two
//! series every other number comes from (nginx requests, kube-state-metrics pod
//! phases). Also the helpers the sessions and alerts checks share to read an
//! answer and to print the read-only command that repeats a query.

use super::{Area, Check, Ctx, Docs, Verdict};
use crate::cluster::promql;
use crate::report::human_duration;
use crate::settings::{Endpoint, Settings, redact_url};
use crate::snapshot::{GapReason, Sample};

pub static CHECKS: &[Check] = &[
    Check {
        id: "prometheus.reachable",
        area: Area::Prometheus,
        title: "Prometheus answers",
        runbook: "Prometheus Queries (Access Prometheus)",
        needs: &[],
        reads: "Prometheus answers; gap prometheus",
        docs: Docs {
            what: "Whether Prometheus answered the plugin's queries, through the API server's service proxy (prometheusService) or prometheusUrl.",
            why: "KEDA's trigger, the sessions-per-pod ratio and the alerts all come from Prometheus; if the plugin cannot ask it, those checks cannot judge anything.",
            fix: "Point prometheusService (NS/SVC:PORT) or --prometheus-url at Prometheus; a 403 needs verb get on services/proxy in Prometheus's namespace.",
        },
        eval: reachable,
    },
    Check {
        id: "prometheus.nginx-metric",
        area: Area::Prometheus,
        title: "nginx request series is scraped and fresh",
        runbook: "Troubleshooting: No Pods Scaling Up, Check 2",
        needs: &["prometheus.reachable"],
        reads: "Prometheus timestamp(nginx_http_requests_total{service=...}), count_over_time(nginx_http_requests_total{service=...}[5m])",
        docs: Docs {
            what: "Whether nginx_http_requests_total{service=\"<nginxService>\"} exists, its newest sample is under 2 minutes old, and the sessions query's [1m] rate window holds two samples at the series' scrape interval (5 minutes divided by the samples in them).",
            why: "KEDA scales on the rate of this counter. The exporter adds no service label itself: a ServiceMonitor (the Service's name) or the exporter's -prometheus.const-labels must put it there. The runbook's Heartbeat Event Rate query also filters status=\"200\", which matches nothing: stub_status has no status label.",
            fix: "Scrape the exporter with service=\"<nginxService>\" (ServiceMonitor on that Service, relabel __meta_kubernetes_service_name to service, or -prometheus.const-labels=service=<name>), or set nginxService to the label the series carry. A stale series means the exporter is down or its scrape fails: look at its target on /api/v1/targets. Prometheus scrapes every 1m by default (the Prometheus Operator every 30s): then rate(...[1m]) is empty although the series is fine; widen the window to two scrape intervals or more, or scrape every 15s.",
        },
        eval: nginx_metric,
    },
    Check {
        id: "prometheus.kube-state-metrics",
        area: Area::Prometheus,
        title: "kube-state-metrics is scraped",
        runbook: "Prometheus Queries: Running Pods",
        needs: &["prometheus.reachable"],
        reads: "Prometheus count(kube_pod_status_phase)",
        docs: Docs {
            what: "Whether Prometheus has any kube_pod_status_phase series (in any namespace).",
            why: "Running pods, the sessions-per-pod ratio and both runbook alerts are computed from kube-state-metrics series.",
            fix: "Deploy kube-state-metrics and add a scrape job or ServiceMonitor for its metrics port (8080).",
        },
        eval: kube_state_metrics,
    },
];

/// A newest sample older than this means the exporter or its scrape is broken
/// (a healthy target is scraped every 15-60 s).
const STALE_AFTER_SECS: f64 = 120.0;

/// The read-only command that GETs `path` with `params` from an HTTP API the
/// way the plugin reaches it: `kubectl get --raw` through the service proxy,
/// or curl for a direct URL.
pub(crate) fn api_command(endpoint: &Endpoint, path: &str, params: &[(&str, &str)]) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    let sep = if query.is_empty() { "" } else { "?" };
    match endpoint {
        Endpoint::Service(s) => {
            let port = if s.port.is_empty() {
                String::new()
            } else {
                format!(":{}", s.port)
            };
            format!(
                "kubectl get --raw '/api/v1/namespaces/{}/services/{}{port}/proxy{path}{sep}{query}'",
                s.namespace, s.name
            )
        }
        Endpoint::Url(u) => format!("curl -s '{}{path}{sep}{query}'", redact_url(u)),
    }
}

/// The command that runs one PromQL instant query against the configured Prometheus.
pub(crate) fn query_command(settings: &Settings, promql: &str) -> String {
    api_command(&settings.prometheus, "/api/v1/query", &[("query", promql)])
}

/// The samples of one Prometheus answer (empty: no series matched), or the
/// verdict that says why there are none: `error` when Prometheus could not
/// answer, `skip` when the snapshot never asked.
pub(crate) fn samples<'a>(ctx: &Ctx<'a>, key: &str) -> Result<&'a [Sample], Verdict> {
    let Some(answer) = ctx.snap.prometheus.get(key) else {
        return Err(ctx.gap_verdict("prometheus").unwrap_or_else(|| {
            Verdict::skip(format!(
                "not in this snapshot: Prometheus was not asked for {key}"
            ))
        }));
    };
    if let Some(samples) = &answer.samples {
        return Ok(samples);
    }
    let error = answer.error.as_deref().unwrap_or("no answer recorded");
    // When Prometheus as a whole was unreachable, its gap says so with the hint.
    if let Some(gap) = ctx.snap.gap("prometheus")
        && gap.message == error
        && let Some(v) = ctx.gap_verdict("prometheus")
    {
        return Err(v);
    }
    Err(Verdict::error(format!("Prometheus could not answer: {error}"))
        .evidence(format!("query: {}", answer.query))
        .fix("check the settings used in the query (kubectl spice config view) and Prometheus's logs")
        .command(query_command(ctx.settings, &answer.query)))
}

/// The value of a one-series answer (`sum(...)` and friends); `None` when no
/// series matched.
pub(crate) fn value(ctx: &Ctx, key: &str) -> Result<Option<f64>, Verdict> {
    let s = samples(ctx, key)?;
    Ok(if s.is_empty() {
        None
    } else {
        Some(s.iter().map(|x| x.value).sum())
    })
}

fn captured_secs(ctx: &Ctx) -> f64 {
    ctx.snap.captured_at.as_millisecond() as f64 / 1000.0
}

fn reachable(ctx: &Ctx) -> Verdict {
    let at = ctx.settings.prometheus.to_string();
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
    ));
    let service = match &ctx.settings.prometheus {
        Endpoint::Service(s) => Some(s),
        Endpoint::Url(_) => None,
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
        _ => api_command(&ctx.settings.prometheus, "/-/ready", &[]),
    };
    v.command(command)
}

fn nginx_metric(ctx: &Ctx) -> Verdict {
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
            ctx.settings,
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
        .command(api_command(
            &ctx.settings.prometheus,
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
            .evidence(format!("samples per series in 5m: {query}"))
            .fix(fix)
            .command(query_command(ctx.settings, &query));
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

/// The scrape interval of the nginx series in seconds, measured as 5 minutes
/// divided by the samples the sparsest series has in them; `None` when it
/// was not measured or no series exists. One sample or none in 5 minutes
/// gives 300 s (at least).
pub(crate) fn nginx_sample_spacing(ctx: &Ctx) -> Option<f64> {
    let answer = ctx.snap.prometheus.get(promql::NGINX_SAMPLES_5M)?;
    let fewest = answer
        .samples
        .as_ref()?
        .iter()
        .map(|s| s.value)
        .filter(|v| v.is_finite())
        .reduce(f64::min)?;
    Some(promql::SPACING_WINDOW_SECS / fewest.max(1.0))
}

/// A rate window as PromQL writes it (`1m`, `90s`, `2m30s`).
fn promql_window(secs: f64) -> String {
    let secs = secs.ceil() as i64;
    match (secs / 60, secs % 60) {
        (0, s) => format!("{s}s"),
        (m, 0) => format!("{m}m"),
        (m, s) => format!("{m}m{s}s"),
    }
}

/// When a `[window]` holds fewer than two samples of the nginx series,
/// `rate()` over it is empty (or flickers) although the series is fine. Says
/// so, with the window the query needs (two scrape intervals), as a message
/// and a fix; `None` when the window is wide enough or the spacing unknown.
pub(crate) fn window_shortfall(ctx: &Ctx, window_secs: f64) -> Option<(String, String)> {
    let spacing = nginx_sample_spacing(ctx)?;
    if window_secs >= 2.0 * spacing - 0.5 {
        return None;
    }
    let every = human_duration(spacing.round() as i64);
    let needs = promql_window(2.0 * spacing);
    let safe = promql_window(4.0 * spacing);
    let message = format!(
        "a [{}] rate window holds fewer than two samples of the nginx series, which is scraped every {every}: rate() over it is empty, so sessions read as none; the query needs a window of at least [{needs}]",
        promql_window(window_secs)
    );
    let fix = format!(
        "widen the rate window to [{needs}] or more ([{safe}], four scrape intervals, survives a missed scrape) in the ScaledObject's trigger query, dashboards and alerts; or scrape the nginx exporter every 15s (ServiceMonitor endpoints[].interval: 15s)"
    );
    Some((message, fix))
}

fn kube_state_metrics(ctx: &Ctx) -> Verdict {
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
    use crate::snapshot::PromAnswer;

    fn fresh_at(secs_ago: f64) -> f64 {
        now().as_second() as f64 - secs_ago
    }

    #[test]
    fn healthy_passes() {
        crate::checks::testkit::assert_healthy_passes(CHECKS);
    }

    #[test]
    fn reachable_pass_names_the_endpoint() {
        let v = eval(reachable, &healthy());
        expect(&v, Outcome::Pass, "service observability/prometheus:9090");
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

    fn unreachable(reason: GapReason, message: &str) -> crate::snapshot::Snapshot {
        let mut s = healthy();
        for a in s.prometheus.values_mut() {
            *a = PromAnswer {
                query: a.query.clone(),
                samples: None,
                error: Some(message.into()),
            };
        }
        gap(&mut s, "prometheus", reason, message);
        s
    }

    #[test]
    fn unreachable_prometheus_is_an_error_not_a_failure() {
        let s = unreachable(GapReason::Unreachable, "no endpoints available");
        let v = eval(reachable, &s);
        expect(&v, Outcome::Error, "no endpoints available");
        assert_eq!(v.fix.as_deref(), Some("the hint"));
        assert!(
            v.command
                .as_deref()
                .unwrap_or("")
                .contains("/proxy/-/ready")
        );
        // The checks that need Prometheus say error too, never fail.
        for c in CHECKS {
            assert_eq!(eval(c.eval, &s).outcome, Outcome::Error, "{}", c.id);
        }
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

    #[test]
    fn no_prometheus_in_the_snapshot_is_a_skip() {
        let mut s = healthy();
        s.prometheus.clear();
        for c in CHECKS {
            expect(&eval(c.eval, &s), Outcome::Skip, "not in this snapshot");
        }
    }

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
        // Prometheus's default 1m scrape interval: 5 samples in 5 minutes.
        set_prom(&mut s, promql::NGINX_SAMPLES_5M, Some(5.0));
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
                .contains("count_over_time"),
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

    #[test]
    fn direct_urls_give_a_curl_command() {
        let mut settings = Settings::defaults();
        settings.prometheus = Endpoint::Url("https://prom.example:9090/".into());
        assert_eq!(
            query_command(&settings, "up == 0"),
            "curl -s 'https://prom.example:9090/api/v1/query?query=up+%3D%3D+0'"
        );
    }
}
