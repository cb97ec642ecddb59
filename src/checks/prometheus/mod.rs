//! Checks of the prometheus area: is Prometheus there, and does it hold the two
//! series every other number comes from (nginx requests, kube-state-metrics pod
//! phases). Also the helpers the sessions and alerts checks share to read an
//! answer and to print the read-only command that repeats a query.

use super::{Check, CheckId, Ctx, Docs, Verdict, shell_arg};
use crate::domain::promql;
use crate::domain::quantity::human_duration;
use crate::domain::snapshot::{GapReason, Sample};
use crate::settings::{Endpoint, redact_url};

pub(super) mod kube_state_metrics;
pub(super) mod nginx_metric;
pub(super) mod reachable;

use nginx_metric::nginx_sample_spacing;
use nginx_metric::promql_window;

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
            let url = format!(
                "/api/v1/namespaces/{}/services/{}{port}/proxy{path}{sep}{query}",
                s.namespace, s.name
            );
            format!("kubectl get --raw {}", shell_arg(&url))
        }
        Endpoint::Url(u) => {
            let url = format!("{}{path}{sep}{query}", redact_url(u));
            format!("curl -s {}", shell_arg(&url))
        }
    }
}

/// The Prometheus the collect step read instead of the configured one (the
/// one the ScaledObject's trigger names): its Service and route prefix.
pub(super) fn read_instead(ctx: &Ctx) -> Option<(crate::settings::ServiceRef, String)> {
    let read = ctx
        .snap
        .prometheus_read
        .as_ref()
        .filter(|r| r.how == "ScaledObject trigger")?;
    // `NS/NAME:PORT` then the prefix (`/prometheus`), if any.
    let slash = read.address.find('/')?;
    let (service, prefix) = match read.address[slash + 1..].find('/') {
        Some(at) => read.address.split_at(slash + 1 + at),
        None => (read.address.as_str(), ""),
    };
    let service = crate::settings::ServiceRef::parse(service).ok()?;
    Some((service, prefix.to_string()))
}

/// The read-only command that GETs `path` from the Prometheus that was
/// read: the one the trigger names (under its route prefix) when the collect
/// step read that one, else the configured one.
pub(crate) fn prometheus_command(ctx: &Ctx, path: &str, params: &[(&str, &str)]) -> String {
    match read_instead(ctx) {
        Some((service, prefix)) => api_command(
            &Endpoint::Service(service),
            &format!("{prefix}{path}"),
            params,
        ),
        None => api_command(&ctx.settings.prometheus, path, params),
    }
}

/// The command that runs one PromQL instant query against the Prometheus
/// that was read.
pub(crate) fn query_command(ctx: &Ctx, promql: &str) -> String {
    prometheus_command(ctx, "/api/v1/query", &[("query", promql)])
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
        .unread("prometheus")
        .evidence(format!("query: {}", answer.query))
        .fix("check the settings used in the query (kubectl spice config view) and Prometheus's logs")
        .command(query_command(ctx, &answer.query)))
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

/// When a `[window]` holds fewer than two samples of the nginx series,
/// `rate()` over it is empty (or flickers) although the series is fine. Says
/// so, with the window the query needs (two scrape intervals), as a message
/// and a fix; `None` when the window is wide enough or the spacing unknown.
pub(crate) fn window_shortfall(ctx: &Ctx, window_secs: f64) -> Option<(String, String)> {
    let spacing = nginx_sample_spacing(ctx)?;
    if window_secs >= 2.0 * spacing - 0.5 {
        return None;
    }
    // The sessions query's own answer outranks the estimate: when its [1m]
    // rate returned a value, a window that wide is not empty, whatever the
    // sample counts suggest.
    let sessions_answered = ctx
        .snap
        .prometheus
        .get(promql::SESSIONS)
        .and_then(|a| a.samples.as_ref())
        .is_some_and(|s| !s.is_empty());
    if sessions_answered && window_secs >= promql::SESSIONS_WINDOW_SECS {
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

#[cfg(test)]
mod tests {
    use super::reachable::reachable;
    use super::*;

    use crate::checks::Outcome;

    use crate::checks::testkit::*;

    use crate::domain::snapshot::PromAnswer;
    use crate::settings::Settings;

    pub(super) fn fresh_at(secs_ago: f64) -> f64 {
        now().as_second() as f64 - secs_ago
    }

    #[test]
    fn healthy_passes() {
        crate::checks::testkit::assert_healthy_passes(crate::checks::Area::Prometheus);
    }

    pub(super) fn unreachable(
        reason: GapReason,
        message: &str,
    ) -> crate::domain::snapshot::Snapshot {
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
        for c in crate::checks::of_area(crate::checks::Area::Prometheus) {
            assert_eq!(eval(c.eval, &s).outcome, Outcome::Error, "{}", c.id);
        }
    }

    #[test]
    fn no_prometheus_in_the_snapshot_is_a_skip() {
        let mut s = healthy();
        s.prometheus.clear();
        for c in crate::checks::of_area(crate::checks::Area::Prometheus) {
            expect(&eval(c.eval, &s), Outcome::Skip, "not in this snapshot");
        }
    }

    #[test]
    fn direct_urls_give_a_curl_command() {
        let mut settings = Settings::defaults();
        settings.prometheus = Endpoint::Url("https://prom.example:9090/".into());
        assert_eq!(
            query_command(&Ctx::new(&healthy(), &settings), "up == 0"),
            "curl -s 'https://prom.example:9090/api/v1/query?query=up+%3D%3D+0'"
        );
    }
}
