//! The metric history `watch` starts with: one Prometheus `query_range` per
//! series over the window, so the first frame shows the past the way a
//! Grafana panel opens with it, instead of one point at the right edge.

use super::error::Failure;
use super::prometheus::{HttpApi, parse_query_answer, vet};
use super::promql::Query;
use crate::snapshot::{GapReason, Sample};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// Prometheus refuses a range of more than 11,000 points per series; far
/// fewer than that fill any terminal's chart, so the step grows with the
/// window past this many points.
const MAX_POINTS: f64 = 1000.0;

/// The smallest step asked for: Prometheus evaluates no finer than its
/// samples, and a second is finer than any scrape interval.
const MIN_STEP_SECS: f64 = 1.0;

/// Each series' points, `(unix seconds, value)`, oldest first, by query key.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ranges {
    pub series: BTreeMap<&'static str, Vec<(f64, f64)>>,
    /// Seconds between points.
    pub step_secs: f64,
}

/// The step for a window read at an interval: the interval, at least a
/// second, and coarse enough to stay under [`MAX_POINTS`].
pub fn step_secs(window: Duration, interval: Duration) -> f64 {
    interval
        .as_secs_f64()
        .max(MIN_STEP_SECS)
        .max(window.as_secs_f64() / MAX_POINTS)
        .ceil()
}

#[derive(Deserialize)]
struct Envelope {
    status: String,
    data: Option<Matrix>,
}

#[derive(Deserialize)]
struct Matrix {
    #[serde(rename = "resultType")]
    result_type: String,
    result: Vec<RangeSeries>,
}

#[derive(Deserialize)]
struct RangeSeries {
    #[serde(default)]
    values: Vec<(f64, String)>,
}

/// Parses a `query_range` answer into points, vetted as the instant
/// answers are (a `-5` sessions is a data problem, not a point). An error
/// answer is worded by the instant-query parser.
pub(crate) fn parse_range(
    status: u16,
    body: &str,
    query: &Query,
    where_: &str,
    proxied: bool,
) -> Result<Vec<(f64, f64)>, Failure> {
    let env = serde_json::from_str::<Envelope>(body)
        .ok()
        .filter(|e| status == 200 && e.status == "success");
    let Some(matrix) = env.and_then(|e| e.data) else {
        return Err(parse_query_answer(status, body, where_, proxied)
            .err()
            .unwrap_or_else(|| bad(where_, "success without a range")));
    };
    if matrix.result_type != "matrix" {
        return Err(bad(
            where_,
            &format!(
                "result type {:?} where a range was expected",
                matrix.result_type
            ),
        ));
    }
    // The queries are sums and counts: one series, or none when nothing
    // matched (no points: an empty past, not zero).
    let mut samples = Vec::new();
    for series in matrix.result {
        for (at, text) in series.values {
            let value = text
                .parse::<f64>()
                .map_err(|_| bad(where_, "a sample value is not a number"))?;
            samples.push(Sample {
                labels: BTreeMap::new(),
                value,
                timestamp: at,
            });
        }
    }
    let samples = vet(query.key, &query.promql, samples).map_err(|message| Failure {
        reason: GapReason::Error,
        message,
        hint: String::new(),
    })?;
    let mut points: Vec<(f64, f64)> = samples.iter().map(|s| (s.timestamp, s.value)).collect();
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    Ok(points)
}

fn bad(where_: &str, what: &str) -> Failure {
    Failure {
        reason: GapReason::Error,
        message: format!("{where_}: unexpected answer: {what}"),
        hint: "is that address Prometheus? it must serve /api/v1/query_range".into(),
    }
}

/// One `/api/v1/query_range` request for `q` with `params`, bounded by
/// `timeout` (`slow` is the hint when it runs out), parsed as a range.
pub(super) async fn query_range(
    api: &HttpApi,
    q: &Query,
    params: &[(&str, &str)],
    timeout: Duration,
    slow: &str,
) -> Result<Vec<(f64, f64)>, Failure> {
    match tokio::time::timeout(timeout, api.get("/api/v1/query_range", params)).await {
        Ok(Ok((status, body))) => parse_range(status, &body, q, &api.describe(), api.is_proxy()),
        Ok(Err(f)) => Err(f),
        Err(_) => Err(Failure::timed_out(&api.describe(), timeout, slow)),
    }
}

/// Reads every query over `window` before `end_unix`, all at once, each
/// bounded by `timeout`. Any series that cannot be read fails the history:
/// a chart with one line missing would read as zero.
pub async fn read(
    api: &HttpApi,
    queries: &[Query],
    window: Duration,
    interval: Duration,
    timeout: Duration,
    end_unix: f64,
) -> Result<Ranges, Failure> {
    let step = step_secs(window, interval);
    let start = (end_unix - window.as_secs_f64()).to_string();
    let end = end_unix.to_string();
    let step_text = step.to_string();
    let reads = queries.iter().map(|q| {
        let params = [
            ("query", q.promql.as_str()),
            ("start", start.as_str()),
            ("end", end.as_str()),
            ("step", step_text.as_str()),
        ];
        async move {
            let res = query_range(
                api,
                q,
                &params,
                timeout,
                "Prometheus is slow; raise --request-timeout",
            )
            .await;
            (q.key, res)
        }
    });
    let mut ranges = Ranges {
        series: BTreeMap::new(),
        step_secs: step,
    };
    for (key, res) in futures::future::join_all(reads).await {
        ranges.series.insert(key, res?);
    }
    Ok(ranges)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_step_is_the_interval_at_least_a_second_and_bounded_in_points() {
        let s = Duration::from_secs;
        assert_eq!(step_secs(s(600), s(2)), 2.0);
        assert_eq!(step_secs(s(600), Duration::from_millis(100)), 1.0);
        assert_eq!(step_secs(s(86_400), s(1)), 87.0);
    }

    fn query() -> Query {
        Query {
            key: crate::domain::promql::SESSIONS,
            promql: "sum(rate(x[1m]))".into(),
        }
    }

    #[test]
    fn a_matrix_answer_becomes_points_and_bad_ones_failures() {
        let body = r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1800000002,"3"],[1800000000,"2.5"]]}]}}"#;
        let points = parse_range(200, body, &query(), "p", false).expect("parses");
        assert_eq!(points, vec![(1_800_000_000.0, 2.5), (1_800_000_002.0, 3.0)]);

        let empty = r#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#;
        assert_eq!(
            parse_range(200, empty, &query(), "p", false),
            Ok(Vec::new())
        );

        let negative = r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1800000000,"-5"]]}]}}"#;
        let f = parse_range(200, negative, &query(), "p", false).expect_err("-5 sessions");
        assert!(
            f.message.contains("cannot be a number of sessions"),
            "{}",
            f.message
        );

        let error = r#"{"status":"error","errorType":"bad_data","error":"exceeded maximum resolution of 11,000 points per timeseries"}"#;
        let f = parse_range(400, error, &query(), "p", false).expect_err("rejected");
        assert!(
            f.message.starts_with("Prometheus bad_data: exceeded"),
            "{}",
            f.message
        );

        let vector = r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
        let f = parse_range(200, vector, &query(), "p", false).expect_err("not a range");
        assert!(
            f.message.contains("where a range was expected"),
            "{}",
            f.message
        );
    }
}
