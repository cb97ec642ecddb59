//! The scrape spacing of the nginx series, as the plugin measures it
//! (`domain::promql::nginx_samples_5m` read by `domain::model::spacing`),
//! against a real Prometheus holding series of every age and interval: the
//! query is PromQL (subqueries over `timestamp()`), so only a real
//! Prometheus can say it is right.
//!
//! The series are backfilled every 15 s (some every 30 s or 60 s) around the
//! time the history was written, and every query is evaluated at a fixed
//! time 7 s after that: the answers cannot drift with the machine's load.

use crate::support::prom::{History, Prom, url_encode};
use kubectl_spice::domain::model::{Spacing, spacing};
use kubectl_spice::domain::promql;
use kubectl_spice::settings::Settings;
use kubectl_spice::snapshot::{PromAnswer, Sample, Snapshot};
use serde_json::Value;
use std::time::{SystemTime, UNIX_EPOCH};

/// A gauge sampled from `from` seconds on (`None`: since before the window),
/// until `until` (`None`: still scraped), every `every` seconds (a multiple
/// of the history's 15 s).
fn series(from: Option<i64>, until: Option<i64>, every: i64) -> Steps {
    let mut steps = Vec::new();
    let mut t = -1800;
    while t <= 1800 {
        let live = from.is_none_or(|f| t >= f) && until.is_none_or(|u| t < u);
        let on_beat = (t + 1800) % every == 0;
        steps.push((t, (live && on_beat).then_some(1.0)));
        t += 15;
    }
    steps
}

/// A gauge's samples: (seconds from now, value or none).
type Steps = Vec<(i64, Option<f64>)>;

/// The plugin's answer to `query` at unix time `at`, as the snapshot keeps it.
fn answer(prom: &Prom, query: &str, at: f64) -> PromAnswer {
    let (code, body) = prom.get(&format!(
        "/api/v1/query?query={}&time={at:.3}",
        url_encode(query)
    ));
    let v: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(code, 200, "{query}: {body}");
    let samples = v["data"]["result"]
        .as_array()
        .unwrap_or_else(|| panic!("{query}: {body}"))
        .iter()
        .map(|r| Sample {
            labels: serde_json::from_value(r["metric"].clone()).expect("labels"),
            value: r["value"][1]
                .as_str()
                .and_then(|s| s.parse().ok())
                .expect("a value"),
            timestamp: r["value"][0].as_f64().expect("a time"),
        })
        .collect();
    PromAnswer {
        query: query.into(),
        samples: Some(samples),
        error: None,
    }
}

#[test]
fn the_scrape_spacing_is_measured_right_at_any_age_and_not_yet_when_too_young() {
    // (service label, the series, what the plugin must read)
    let cases: Vec<(&str, Steps, Spacing)> = vec![
        (
            "steady-15s",
            series(None, None, 15),
            Spacing::Measured(15.0),
        ),
        (
            "steady-30s",
            series(None, None, 30),
            Spacing::Measured(30.0),
        ),
        (
            "steady-60s",
            series(None, None, 60),
            Spacing::Measured(60.0),
        ),
        // A Prometheus (or target) 30 s and 90 s old: 3 and 7 samples,
        // read as 100 s and 43 s by 5 minutes over the samples.
        (
            "young-30s",
            series(Some(-30), None, 15),
            Spacing::Measured(15.0),
        ),
        (
            "young-90s",
            series(Some(-90), None, 15),
            Spacing::Measured(15.0),
        ),
        // Two samples: one interval, too few to tell.
        ("young-15s", series(Some(-15), None, 15), Spacing::NotYet),
        // A target that went away 2 minutes ago.
        (
            "gone-2m",
            series(None, Some(-120), 15),
            Spacing::Measured(15.0),
        ),
    ];
    let mut history = History::new();
    for (service, steps, _) in &cases {
        history.gauge_steps(
            "nginx_http_requests_total",
            &[("service", service), ("instance", "10.244.1.17:9113")],
            steps,
        );
    }
    let written = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs() as f64;
    let prom = Prom::start(&history);
    // The history's "now" is `written` or the second after; 7 s later the
    // sample at "now" is in and the next one (15 s on) is not.
    let at = written + 7.0;
    let mut settings = Settings::defaults();
    let mut wrong = Vec::new();
    for (service, _, want) in &cases {
        settings.nginx_service = service.to_string();
        let mut snap = Snapshot::new(
            jiff::Timestamp::from_second(at as i64).expect("a time"),
            "default",
        );
        for q in [
            promql::nginx_samples_5m(&settings),
            promql::nginx_series(&settings),
        ] {
            let a = answer(&prom, &q.promql, at);
            snap.prometheus.insert(q.key.to_string(), a);
        }
        let got = spacing(&snap);
        let close = match (got, want) {
            (Spacing::Measured(g), Spacing::Measured(w)) => (g - w).abs() < 0.01,
            (g, w) => g == *w,
        };
        if !close {
            wrong.push(format!("{service}: {got:?}, want {want:?}"));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}
