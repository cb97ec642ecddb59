//! The reads behind `report` and `timeline`: every series over a past
//! period in one round of `query_range` requests, and the period's pod
//! counts as instant queries at its end.
//!
//! Prometheus refuses more than 11,000 points per series in one answer. A
//! week at the 15 s a 30 s scale-up target needs is 40,320 points, so the
//! period is cut into chunks of at most [`CHUNK_POINTS`] points, asked a
//! few at a time; a coarser step would hide every scale-up shorter than it.
//! The chunks are half a day, not the 10,000 points the limit allows: a
//! pod sum's cost grows with the pods and the points, and on a 2,000-pod
//! game one 10,000-point chunk alone outlasts the default 10 s
//! `--request-timeout` (`tests/it/history_cost.rs`).

use super::error::Failure;
use super::history::{Ranges, query_range};
use super::prometheus::{HttpApi, parse_query_answer};
use super::promql::Query;
use crate::snapshot::Sample;
use std::collections::BTreeMap;
use std::time::Duration;

/// Points asked per request: 12 h at 15 s, well under Prometheus's
/// 11,000 limit.
pub const CHUNK_POINTS: f64 = 2_880.0;
/// Requests in flight at once: each answer is parsed through text values
/// and samples before it shrinks to points, so a week's twenty answers at
/// once would hold several times the points' memory.
const IN_FLIGHT: usize = 4;
/// Most requests one series may need (bounds the work and the memory:
/// 64 × 2,880 points of 16 bytes is 2.9 MB per series; 31 days at 15 s is
/// 63 chunks).
pub const MAX_CHUNKS: usize = 64;

/// The chunks `[start, end]` of a period at `step`, each at most
/// [`CHUNK_POINTS`] points, none overlapping.
pub fn chunks(start: f64, end: f64, step: f64) -> Vec<(f64, f64)> {
    let span = CHUNK_POINTS * step;
    let mut out = Vec::new();
    let mut from = start;
    while from <= end && out.len() < MAX_CHUNKS {
        let to = (from + span - step).min(end);
        out.push((from, to));
        from = to + step;
    }
    out
}

/// The step for a period: `preferred`, or coarser when the period would
/// need more than [`MAX_CHUNKS`] chunks.
pub fn step_for(period_secs: f64, preferred: f64) -> f64 {
    preferred
        .max(1.0)
        .max((period_secs / (CHUNK_POINTS * MAX_CHUNKS as f64)).ceil())
}

/// Reads every query over `[start, end]` at `step`, [`IN_FLIGHT`] chunks
/// at a time, each request bounded by `timeout`.
pub async fn read(
    api: &HttpApi,
    queries: &[Query],
    start: f64,
    end: f64,
    step: f64,
    timeout: Duration,
) -> Result<Ranges, Failure> {
    let parts = chunks(start, end, step);
    let step_text = step.to_string();
    let reads = queries.iter().flat_map(|q| {
        let step_text = step_text.clone();
        parts.iter().map(move |&(from, to)| {
            let (from, to, step_text) = (from.to_string(), to.to_string(), step_text.clone());
            async move {
                let params = [
                    ("query", q.promql.as_str()),
                    ("start", from.as_str()),
                    ("end", to.as_str()),
                    ("step", step_text.as_str()),
                ];
                let res = query_range(
                    api,
                    q,
                    &params,
                    timeout,
                    "Prometheus is slow over this period; raise --request-timeout or shorten --since",
                )
                .await;
                (q.key, res)
            }
        })
    });
    let mut series: BTreeMap<&'static str, Vec<(f64, f64)>> = BTreeMap::new();
    // Each answer joins its series as it comes (the chunks are not all held
    // twice), into room for the whole period; the first failure ends the
    // read and drops the requests still out (a period whose chunks time out
    // is not waited for to the last one).
    let points = parts
        .iter()
        .map(|(from, to)| ((to - from) / step).floor() as usize + 1)
        .sum::<usize>();
    use futures::StreamExt;
    let mut answers = futures::stream::iter(reads).buffer_unordered(IN_FLIGHT);
    while let Some((key, res)) = answers.next().await {
        series
            .entry(key)
            .or_insert_with(|| Vec::with_capacity(points))
            .extend(res?);
    }
    for points in series.values_mut() {
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        points.dedup_by(|a, b| a.0 == b.0);
    }
    Ok(Ranges {
        series,
        step_secs: step,
    })
}

/// The samples of one instant query evaluated at `at`, within `timeout`.
async fn samples_at(
    api: &HttpApi,
    promql: &str,
    at: f64,
    timeout: Duration,
) -> Result<Vec<Sample>, Failure> {
    let at = at.to_string();
    let params = [("query", promql), ("time", at.as_str())];
    let answer = tokio::time::timeout(timeout, api.get("/api/v1/query", &params));
    match answer.await {
        Ok(Ok((status, body))) => {
            parse_query_answer(status, &body, &api.describe(), api.is_proxy())
        }
        Ok(Err(f)) => Err(f),
        Err(_) => Err(Failure::timed_out(
            &api.describe(),
            timeout,
            "Prometheus is slow over this period; raise --request-timeout or shorten --since",
        )),
    }
}

/// One instant query evaluated at `at`: the sum of its samples, `None` when
/// nothing matched.
pub async fn instant_at(
    api: &HttpApi,
    promql: &str,
    at: f64,
    timeout: Duration,
) -> Result<Option<f64>, Failure> {
    let samples = samples_at(api, promql, at, timeout).await?;
    Ok((!samples.is_empty()).then(|| samples.iter().map(|s| s.value).sum()))
}

/// Most labelled samples one instant query may bring back (the nodes
/// created in a month of a big game are far fewer).
pub const MAX_LABELLED: usize = 5_000;

/// One instant query evaluated at `at`, its samples by the value of
/// `label` (at most [`MAX_LABELLED`]; a sample without the label is left out).
pub async fn instant_by(
    api: &HttpApi,
    promql: &str,
    label: &str,
    at: f64,
    timeout: Duration,
) -> Result<Vec<(String, f64)>, Failure> {
    let samples = samples_at(api, promql, at, timeout).await?;
    Ok(samples
        .into_iter()
        .filter(|s| s.value.is_finite())
        .filter_map(|s| Some((s.labels.get(label)?.clone(), s.value)))
        .take(MAX_LABELLED)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_week_at_fifteen_seconds_is_half_days_under_the_point_limit() {
        let week = 7.0 * 86_400.0;
        let c = chunks(0.0, week, 15.0);
        // 40,321 points: fourteen half days and the week's last point.
        assert_eq!(c.len(), 15);
        assert_eq!(c[0], (0.0, 43_185.0));
        assert_eq!(c[1].0, 43_200.0);
        assert_eq!(c.last().map(|c| c.1), Some(week));
        for (a, b) in &c {
            assert!((b - a) / 15.0 + 1.0 <= 2_880.0);
        }
        for w in c.windows(2) {
            assert_eq!(w[1].0, w[0].1 + 15.0, "no point twice, none left out");
        }
    }

    #[test]
    fn a_month_keeps_the_fifteen_second_step() {
        assert_eq!(step_for(31.0 * 86_400.0, 15.0), 15.0);
    }

    #[test]
    fn a_long_period_gets_a_coarser_step_not_more_requests() {
        assert_eq!(step_for(7.0 * 86_400.0, 15.0), 15.0);
        let year = 365.0 * 86_400.0;
        let step = step_for(year, 15.0);
        assert!(chunks(0.0, year, step).len() <= MAX_CHUNKS);
        assert!(chunks(0.0, year, step).last().map(|c| c.1) == Some(year));
    }
}
