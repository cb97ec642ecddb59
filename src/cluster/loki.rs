//! Heartbeat events from Loki (Grafana Faro events sent by the Alloy sidecar),
//! through the same HTTP client as Prometheus: Loki's query API has the same
//! envelope, but its errors are plain text.

use super::prometheus::{ApiFailure, HttpApi, parse_query_answer};
use crate::snapshot::{GapReason, LokiData};

/// Runs the heartbeat queries; reads the label names when nothing matched, so
/// the report can say which labels exist instead of "no heartbeats".
pub async fn collect(api: &HttpApi, query: &str) -> Result<LokiData, ApiFailure> {
    let heartbeats = format!("sum(count_over_time({query} [5m]))");
    let active = format!(
        "count(sum by (session_id) (count_over_time({query} | event_data_status=\"active\" [2m])))"
    );
    let (a, b) = tokio::join!(instant(api, &heartbeats), instant(api, &active));
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
        let (status, body) = api.get("/loki/api/v1/labels", &[("since", "1h")]).await?;
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

/// One instant metric query; `None` when it matched nothing.
async fn instant(api: &HttpApi, logql: &str) -> Result<Option<f64>, ApiFailure> {
    let (status, body) = api.get("/loki/api/v1/query", &[("query", logql)]).await?;
    if !(200..300).contains(&status) && !body.trim_start().starts_with('{') {
        let first = crate::error::quote(body.lines().next().unwrap_or(""));
        return Err(ApiFailure {
            reason: if status == 400 {
                GapReason::Error
            } else {
                GapReason::Unreachable
            },
            message: if status == 400 {
                format!("Loki rejected the query: {first}")
            } else {
                format!("{} answered HTTP {status}: {first}", api.describe())
            },
            hint: if status == 400 {
                "check the lokiQuery setting (kubectl spice config view)".into()
            } else {
                "is Loki running? check its pods, or set --loki-url".into()
            },
        });
    }
    let samples =
        parse_query_answer(status, &body, &api.describe(), api.is_proxy()).map_err(|mut f| {
            f.message = f.message.replace("Prometheus", "Loki");
            f.hint = f.hint.replace("Prometheus", "Loki");
            f.hint = f
                .hint
                .replace("--prometheus-service", "the lokiService setting")
                .replace("--prometheus-url", "--loki-url");
            f
        })?;
    // NaN or an infinity is no count of events, and a snapshot's JSON could
    // not carry it: it reads as no value.
    Ok(samples.first().map(|s| s.value).filter(|v| v.is_finite()))
}
