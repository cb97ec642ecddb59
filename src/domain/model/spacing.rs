//! The scrape spacing of the nginx series: how far apart its samples are,
//! measured from Prometheus's own sample times (`promql::nginx_samples_5m`).
//!
//! It used to be 5 minutes divided by the samples the densest series had in
//! them. That is right only for a series older than the window: on a
//! Prometheus (or an exporter target) a minute old, 3 samples at a 4 s scrape
//! read as "scraped every 100 s", and the scaling model built its advice on
//! that. The span between the first and the last sample, divided by the
//! intervals between them, is right at any age; with fewer than two
//! intervals there is nothing to tell yet, and the model says so and falls
//! back to its assumed interval.

use crate::domain::promql;
use crate::domain::snapshot::Snapshot;

/// What the snapshot tells about the scrape spacing of the nginx series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Spacing {
    /// Seconds between two samples of the densest series.
    Measured(f64),
    /// The nginx series exists, but none has the three samples (two
    /// intervals) it takes to tell: a Prometheus or a target seconds old.
    NotYet,
    /// Not asked (an older snapshot), not answered, or no nginx series.
    Unknown,
}

impl Spacing {
    /// The measured seconds, if any.
    pub fn secs(self) -> Option<f64> {
        match self {
            Spacing::Measured(s) => Some(s),
            Spacing::NotYet | Spacing::Unknown => None,
        }
    }
}

/// The scrape spacing of the nginx series, read from the snapshot.
///
/// The answer holds one sample per series that has at least two intervals
/// in the last 5 minutes, labelled `spice_spacing="seconds"`: its span
/// divided by its intervals. The densest series counts (the smallest
/// spacing): a target that appeared a minute ago, or went away, is scraped as
/// often as the rest. An empty answer while the nginx series exists
/// (`promql::NGINX_SERIES`) is a series too young to tell.
///
/// Snapshots written before carry the old answer, samples per series in 5
/// minutes without the label: those still read as 5 minutes divided by the
/// densest count (one sample or none gives 300 s), as they always did.
pub fn spacing(snap: &Snapshot) -> Spacing {
    let Some(samples) = snap
        .prometheus
        .get(promql::NGINX_SAMPLES_5M)
        .and_then(|a| a.samples.as_ref())
    else {
        return Spacing::Unknown;
    };
    let finite = || samples.iter().filter(|s| s.value.is_finite());
    let labelled = |s: &&crate::domain::snapshot::Sample| {
        s.labels.get(promql::SPACING_LABEL).map(String::as_str) == Some(promql::SPACING_SECONDS)
    };
    if samples
        .iter()
        .any(|s| s.labels.contains_key(promql::SPACING_LABEL))
        || samples.is_empty()
    {
        let densest = finite()
            .filter(labelled)
            .map(|s| s.value)
            .filter(|v| *v > 0.0)
            .reduce(f64::min);
        return match densest {
            Some(secs) => Spacing::Measured(to_tenths(secs)),
            None if nginx_series_exists(snap) => Spacing::NotYet,
            None => Spacing::Unknown,
        };
    }
    match finite().map(|s| s.value).reduce(f64::max) {
        Some(most) => Spacing::Measured(promql::SPACING_WINDOW_SECS / most.max(1.0)),
        None => Spacing::Unknown,
    }
}

/// A measured spacing to a tenth of a second. Scrape times jitter by
/// milliseconds, so a 4 s scrape measures 4.0004 s, and every latency built
/// on it rounds the spacing up (`ceil`): 5 s, flipping the advice between
/// runs. No scrape interval is set finer than a tenth.
fn to_tenths(secs: f64) -> f64 {
    let tenths = (secs * 10.0).round() / 10.0;
    if tenths > 0.0 { tenths } else { secs }
}

/// The measured scrape spacing in seconds; `None` when it was not measured
/// (see [`spacing`] for why).
pub fn scrape_spacing(snap: &Snapshot) -> Option<f64> {
    spacing(snap).secs()
}

/// Whether Prometheus has any nginx series (its newest sample time answered).
fn nginx_series_exists(snap: &Snapshot) -> bool {
    snap.prometheus
        .get(promql::NGINX_SERIES)
        .and_then(|a| a.samples.as_ref())
        .is_some_and(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::snapshot::{PromAnswer, Sample};
    use std::collections::BTreeMap;

    const NOW: f64 = 1_796_633_335.0;

    fn sample(instance: &str, label: Option<&str>, value: f64) -> Sample {
        let mut labels = BTreeMap::from([("instance".to_string(), instance.to_string())]);
        if let Some(l) = label {
            labels.insert(promql::SPACING_LABEL.to_string(), l.to_string());
        }
        Sample {
            labels,
            value,
            timestamp: NOW,
        }
    }

    fn snap(spacing: Option<Vec<Sample>>, nginx_series: usize) -> Snapshot {
        let mut s = Snapshot::new(
            jiff::Timestamp::from_second(NOW as i64).expect("a time"),
            "default",
        );
        if let Some(samples) = spacing {
            s.prometheus.insert(
                promql::NGINX_SAMPLES_5M.into(),
                PromAnswer {
                    query: "the spacing query".into(),
                    samples: Some(samples),
                    error: None,
                },
            );
        }
        s.prometheus.insert(
            promql::NGINX_SERIES.into(),
            PromAnswer {
                query: "timestamp(nginx)".into(),
                samples: Some(
                    (0..nginx_series)
                        .map(|i| sample(&format!("i{i}"), None, NOW - 2.0))
                        .collect(),
                ),
                error: None,
            },
        );
        s
    }

    fn seconds(instance: &str, secs: f64) -> Sample {
        sample(instance, Some(promql::SPACING_SECONDS), secs)
    }

    #[test]
    fn the_densest_measured_series_is_the_spacing() {
        // A 15 s target beside one that went away after a few 30 s scrapes.
        let s = snap(Some(vec![seconds("a", 15.0), seconds("b", 30.0)]), 2);
        assert_eq!(spacing(&s), Spacing::Measured(15.0));
        assert_eq!(scrape_spacing(&s), Some(15.0));
    }

    #[test]
    fn the_jitter_of_scrape_times_is_rounded_off_to_a_tenth() {
        // A 4 s scrape over two intervals, its times a few ms late.
        let s = snap(Some(vec![seconds("a", 4.0004)]), 1);
        assert_eq!(spacing(&s), Spacing::Measured(4.0));
        let s = snap(Some(vec![seconds("a", 7.4996)]), 1);
        assert_eq!(spacing(&s), Spacing::Measured(7.5));
        // Finer than a tenth is kept as measured, not made 0.
        let s = snap(Some(vec![seconds("a", 0.04)]), 1);
        assert_eq!(spacing(&s), Spacing::Measured(0.04));
    }

    #[test]
    fn a_series_too_young_to_tell_is_not_measured_yet() {
        // Prometheus answered, the nginx series exists, but no series has
        // two intervals yet: the query leaves it out.
        let s = snap(Some(vec![]), 1);
        assert_eq!(spacing(&s), Spacing::NotYet);
        assert_eq!(scrape_spacing(&s), None);
    }

    #[test]
    fn no_answer_or_no_nginx_series_is_unknown() {
        assert_eq!(spacing(&snap(None, 1)), Spacing::Unknown);
        assert_eq!(spacing(&snap(Some(vec![]), 0)), Spacing::Unknown);
        // A nonsensical zero or NaN is no measurement.
        let s = snap(Some(vec![seconds("a", 0.0), seconds("b", f64::NAN)]), 2);
        assert_eq!(spacing(&s), Spacing::NotYet);
    }

    #[test]
    fn the_model_falls_back_to_its_assumed_spacing_and_says_it_is_not_measured_yet() {
        use crate::domain::model::Scaling;
        use crate::domain::model::scaling::ASSUMED_SCRAPE_SECS;
        use crate::settings::Settings;
        let young = Scaling::of(&snap(Some(vec![]), 1), &Settings::defaults());
        assert!(!young.scrape_measured && young.scrape_not_yet);
        assert_eq!(young.scrape_secs, ASSUMED_SCRAPE_SECS);
        let text = young.zero_to_one_text();
        assert!(
            text.contains("scrape spacing 15 s assumed, not measured yet: fewer than 3 nginx samples in Prometheus (the first"),
            "{text}"
        );
        let unasked = Scaling::of(&snap(None, 1), &Settings::defaults());
        assert!(!unasked.scrape_not_yet);
        assert!(
            unasked
                .zero_to_one_text()
                .contains("scrape spacing 15 s assumed (the"),
            "{}",
            unasked.zero_to_one_text()
        );
        let measured = Scaling::of(
            &snap(Some(vec![seconds("a", 4.0)]), 1),
            &Settings::defaults(),
        );
        assert_eq!(measured.scrape_secs, 4.0);
        assert!(
            measured
                .zero_to_one_text()
                .contains("scrape spacing 4 s measured"),
            "{}",
            measured.zero_to_one_text()
        );
    }

    #[test]
    fn an_older_snapshot_s_sample_counts_still_read_as_before() {
        // Samples per series in 5 minutes, unlabelled: 20 at 15 s, and a
        // target that appeared 45 s ago with 3.
        let s = snap(
            Some(vec![sample("a", None, 20.0), sample("b", None, 3.0)]),
            2,
        );
        assert_eq!(spacing(&s), Spacing::Measured(15.0));
        let one = snap(Some(vec![sample("a", None, 1.0)]), 1);
        assert_eq!(spacing(&one), Spacing::Measured(300.0));
    }
}
