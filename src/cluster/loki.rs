//! Heartbeat events from Loki (Grafana Faro events sent by the Alloy sidecar),
//! through the same HTTP client as Prometheus: Loki's query API has the same
//! envelope, but its errors are plain text.

use super::prometheus::{Failure, HttpApi, parse_query_answer};
use crate::snapshot::{GapReason, LokiData};

/// Runs the heartbeat queries; reads the label names when nothing matched, so
/// the report can say which labels exist instead of "no heartbeats".
pub async fn collect(
    api: &HttpApi,
    query: &str,
    tenant: Option<&str>,
) -> Result<LokiData, Failure> {
    // A multi-tenant Loki reads the tenant from this header (Loki's
    // `auth_enabled: true`); without it every request answers "no org id".
    let headers: Vec<(&str, &str)> = tenant.map(|t| ("X-Scope-OrgID", t)).into_iter().collect();
    let heartbeats = crate::domain::promql::heartbeats_5m_logql(query);
    let active = crate::domain::promql::active_sessions_logql(query);
    let (a, b) = tokio::join!(
        instant(api, &heartbeats, &headers),
        instant(api, &active, &headers)
    );
    let mut data = LokiData {
        query: query.to_string(),
        heartbeats_5m: None,
        active_sessions_2m: None,
        labels: vec![],
        error: None,
    };
    match a {
        Ok(v) => data.heartbeats_5m = v,
        Err(f) if f.reason == GapReason::Error && f.message.starts_with("Loki rejected") => {
            data.error = Some(f.message)
        }
        Err(f) => return Err(f),
    }
    match b {
        Ok(v) => data.active_sessions_2m = v,
        Err(f) => {
            if data.error.is_none() {
                data.error = Some(f.message);
            }
        }
    }
    if data.heartbeats_5m.is_none() {
        let (status, body) = api
            .get_with_headers("/loki/api/v1/labels", &[("since", "1h")], &headers)
            .await?;
        if status == 200
            && let Ok(v) = serde_json::from_str::<serde_json::Value>(&body)
        {
            {
                data.labels = v["data"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|l| l.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
                data.labels.sort();
            }
        }
    }
    Ok(data)
}

/// The runbook's Heartbeat Rate: heartbeat events per second over the last
/// minute, `sum(rate(<lokiQuery> [1m]))`; `None` when no stream matched.
pub async fn heartbeat_rate(
    api: &HttpApi,
    query: &str,
    tenant: Option<&str>,
) -> Result<Option<f64>, Failure> {
    let headers: Vec<(&str, &str)> = tenant.map(|t| ("X-Scope-OrgID", t)).into_iter().collect();
    instant(api, &format!("sum(rate({query} [1m]))"), &headers).await
}

/// The step of the heartbeat range read over `period_secs`: at least a
/// minute, whole minutes, and no more than about 2,000 points (Loki refuses
/// more than 11,000 points per series, `pkg/loghttp/params.go` in Loki v3.x,
/// like Prometheus).
pub fn heartbeat_step(period_secs: f64) -> f64 {
    ((period_secs / 2000.0 / 60.0).ceil() * 60.0).max(60.0)
}

/// Heartbeat events per step over `[start, end]` (unix seconds):
/// `sum(count_over_time(<lokiQuery> [step]))` through Loki's
/// `/loki/api/v1/query_range` (its answer is Prometheus's matrix; a step with
/// no event has no point). One request: a month at the coarsest step is
/// under 2,000 points.
pub async fn heartbeat_range(
    api: &HttpApi,
    query: &str,
    tenant: Option<&str>,
    start: f64,
    end: f64,
    step: f64,
) -> Result<Vec<(f64, f64)>, Failure> {
    let headers: Vec<(&str, &str)> = tenant.map(|t| ("X-Scope-OrgID", t)).into_iter().collect();
    let logql = format!("sum(count_over_time({query} [{step:.0}s]))");
    let (start, end, step_text) = (
        format!("{start:.0}"),
        format!("{end:.0}"),
        format!("{step:.0}"),
    );
    let params = [
        ("query", logql.as_str()),
        ("start", start.as_str()),
        ("end", end.as_str()),
        ("step", step_text.as_str()),
    ];
    let (status, body) = api
        .get_with_headers("/loki/api/v1/query_range", &params, &headers)
        .await?;
    if let Some(f) = plain_text_error(api, status, &body, !headers.is_empty()) {
        return Err(f);
    }
    let q = super::promql::Query {
        key: "heartbeats",
        promql: logql.clone(),
    };
    super::history::parse_range(status, &body, &q, &api.describe(), api.is_proxy()).map_err(as_loki)
}

/// Loki's errors are plain text, not JSON (a 400 for LogQL it rejects): the
/// failure for an answer outside 2xx that is not JSON, else `None`.
fn plain_text_error(api: &HttpApi, status: u16, body: &str, tenant_sent: bool) -> Option<Failure> {
    if (200..300).contains(&status) || body.trim_start().starts_with('{') {
        return None;
    }
    let first = crate::error::quote(body.lines().next().unwrap_or(""));
    if let Some(f) = no_org_id(status, &first, api, tenant_sent) {
        return Some(f);
    }
    let rejected = status == 400;
    Some(Failure {
        reason: if rejected {
            GapReason::Error
        } else {
            GapReason::Unreachable
        },
        message: if rejected {
            format!("Loki rejected the query: {first}")
        } else {
            format!("{} answered HTTP {status}: {first}", api.describe())
        },
        hint: if rejected {
            "check the lokiQuery setting (kubectl spice config view)".into()
        } else {
            "is Loki running? check its pods, or set --loki-url".into()
        },
    })
}

/// One instant metric query; `None` when it matched nothing.
async fn instant(
    api: &HttpApi,
    logql: &str,
    headers: &[(&str, &str)],
) -> Result<Option<f64>, Failure> {
    let (status, body) = api
        .get_with_headers("/loki/api/v1/query", &[("query", logql)], headers)
        .await?;
    if let Some(f) = plain_text_error(api, status, &body, !headers.is_empty()) {
        return Err(f);
    }
    let samples =
        parse_query_answer(status, &body, &api.describe(), api.is_proxy()).map_err(as_loki)?;
    // NaN or an infinity is no count of events, and a snapshot's JSON could
    // not carry it: it reads as no value.
    Ok(samples.first().map(|s| s.value).filter(|v| v.is_finite()))
}

/// A failure the Prometheus answer parser worded, in Loki's words (its
/// query path is `/loki/api/v1/query`).
fn as_loki(mut f: Failure) -> Failure {
    f.message = f.message.replace("Prometheus", "Loki");
    f.hint = f
        .hint
        .replace("Prometheus", "Loki")
        .replace("/api/v1/query", "/loki/api/v1/query")
        .replace("--prometheus-service", "the lokiService setting")
        .replace("--prometheus-url", "--loki-url");
    f
}

/// A multi-tenant Loki (`auth_enabled: true`) answers a request without a
/// tenant with HTTP 401 and the plain text `no org id` (dskit's
/// `user.ErrNoOrgID`, written by its HTTP auth middleware). That is not a
/// Loki that is down: it wants `X-Scope-OrgID`, which the lokiTenant setting
/// sends.
fn no_org_id(status: u16, first_line: &str, api: &HttpApi, sent: bool) -> Option<Failure> {
    if status != 401 || !first_line.eq_ignore_ascii_case("no org id") {
        return None;
    }
    let hint = if sent {
        "Loki is multi-tenant and did not take the lokiTenant sent as X-Scope-OrgID: check the tenant, and that nothing between (a gateway) drops the header"
    } else {
        "Loki is multi-tenant (auth_enabled) and wants the tenant in X-Scope-OrgID: set lokiTenant (--loki-tenant, SPICE_LOKI_TENANT or the config file) to the tenant the heartbeats are written under"
    };
    Some(Failure {
        reason: GapReason::Unauthorized,
        message: format!("{} answered HTTP 401: no org id", api.describe()),
        hint: hint.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_loki_that_is_not_loki_is_told_loki_s_own_query_path() {
        let f = crate::cluster::prometheus::parse_query_answer(
            200,
            "<html>a login page</html>",
            "http://loki:3100",
            false,
        )
        .expect_err("not an API answer");
        let f = as_loki(f);
        assert!(f.hint.contains("/loki/api/v1/query"), "{}", f.hint);
        assert!(!f.hint.contains("Prometheus"), "{}", f.hint);
    }
}
