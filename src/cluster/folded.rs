//! Several instant queries as one request (issue 21, 4b): `watch` polls its
//! status queries every interval through the API server's service proxy,
//! and each is a request. Folded, each query's result is tagged with a
//! label naming it (`label_replace`) and the results are joined with `or`
//! (their label sets differ by that label, so none hides another); the
//! answer is split back by the label, and each part vetted as its own
//! query's answer. Slow-moving series (the node count, whether
//! kube-state-metrics runs at all, the scrape spacing, which pods hold each
//! node) are polled less often than the rest.

use super::promql::{self, Query};
use crate::snapshot::Sample;
use std::collections::BTreeMap;
use std::time::Duration;

/// The label that says which query a folded answer's sample belongs to.
pub const KEY_LABEL: &str = "spice_query";

/// How often the slow queries are polled, at the least.
pub const SLOW_EVERY: Duration = Duration::from_secs(30);

/// Whether the query with `key` moves slowly enough to poll every
/// [`SLOW_EVERY`] only.
pub fn is_slow(key: &str) -> bool {
    matches!(
        key,
        promql::NODES | promql::KSM_SERIES | promql::NGINX_SAMPLES_5M | promql::NODE_HELD_PODS
    )
}

/// `queries` as one query.
pub fn fold(queries: &[Query]) -> String {
    queries
        .iter()
        .map(|q| {
            format!(
                "label_replace({}, \"{KEY_LABEL}\", \"{}\", \"\", \"\")",
                q.promql,
                promql::escape(q.key)
            )
        })
        .collect::<Vec<_>>()
        .join(" or ")
}

/// A folded answer's samples by the key of the query each came from, the
/// tagging label removed; samples without it (none, from a Prometheus that
/// honours `label_replace`) are dropped.
pub fn split(samples: Vec<Sample>) -> BTreeMap<String, Vec<Sample>> {
    let mut by_key: BTreeMap<String, Vec<Sample>> = BTreeMap::new();
    for mut s in samples {
        if let Some(key) = s.labels.remove(KEY_LABEL) {
            by_key.entry(key).or_default().push(s);
        }
    }
    by_key
}

/// Every how many polls of `interval` the slow queries are due.
pub fn slow_every(interval: Duration) -> u64 {
    let i = interval.as_millis().max(1);
    (SLOW_EVERY.as_millis().div_ceil(i)).max(1) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Settings;

    #[test]
    fn a_fold_tags_each_query_and_its_answer_splits_back() {
        let s = Settings::defaults();
        let queries = [promql::sessions(&s), promql::nodes()];
        let folded = fold(&queries);
        assert_eq!(
            folded,
            format!(
                "label_replace({}, \"spice_query\", \"sessions\", \"\", \"\") or label_replace(count(kube_node_info), \"spice_query\", \"nodes\", \"\", \"\")",
                queries[0].promql
            )
        );
        let sample = |key: Option<&str>, v: f64| Sample {
            labels: key
                .map(|k| BTreeMap::from([(KEY_LABEL.to_string(), k.to_string())]))
                .unwrap_or_default(),
            value: v,
            timestamp: 1.0,
        };
        let by = split(vec![
            sample(Some("sessions"), 3.0),
            sample(Some("nodes"), 5.0),
            sample(None, 9.0),
        ]);
        assert_eq!(by.len(), 2);
        assert_eq!(by["sessions"][0].value, 3.0);
        assert!(by["nodes"][0].labels.is_empty());
    }

    #[test]
    fn slow_queries_come_every_thirty_seconds_at_any_interval() {
        assert!(is_slow(promql::NODES) && !is_slow(promql::SESSIONS));
        assert_eq!(slow_every(Duration::from_secs(2)), 15);
        assert_eq!(slow_every(Duration::from_secs(60)), 1);
        assert_eq!(slow_every(Duration::ZERO), 30_000);
    }
}
