//! "Scaling too fast" (runbook symptom): the running-pod count changing
//! direction again and again. Measured from history, over the last 30
//! minutes: how often the count changed and how often it reversed (up then
//! down, or down then up).

use serde::Serialize;

/// The span judged, seconds before the end.
pub const WINDOW_SECS: f64 = 30.0 * 60.0;
/// This many reversals in the window is flapping: one up-and-down is a
/// game session ending, four is the autoscaler undoing its own decisions.
pub const REVERSALS_LIMIT: usize = 4;

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Flapping {
    /// Times the running-pod count changed in the window.
    pub changes: usize,
    /// Times it changed direction.
    pub reversals: usize,
    pub window_seconds: f64,
    pub flapping: bool,
    /// The window had points to judge.
    pub measured: bool,
}

impl Flapping {
    /// One line for reports, timelines and diagnose.
    pub fn line(&self) -> String {
        if !self.measured {
            return "flapping: no running-pod history in the last 30 min".into();
        }
        format!(
            "{}: {} replica changes and {} direction reversals in the last {:.0} min (limit {})",
            if self.flapping {
                "flapping"
            } else {
                "no flapping"
            },
            self.changes,
            self.reversals,
            self.window_seconds / 60.0,
            REVERSALS_LIMIT
        )
    }
}

/// Measures the running-pod series' last [`WINDOW_SECS`] before `end`.
pub fn measure(running: &[(f64, f64)], end: f64) -> Flapping {
    let from = end - WINDOW_SECS;
    let values: Vec<f64> = running
        .iter()
        .filter(|p| p.0 >= from && p.0 <= end)
        .map(|p| p.1.round())
        .collect();
    let mut changes = 0;
    let mut reversals = 0;
    let mut last_dir = 0i8;
    for w in values.windows(2) {
        let dir = match w[1].total_cmp(&w[0]) {
            std::cmp::Ordering::Greater => 1,
            std::cmp::Ordering::Less => -1,
            std::cmp::Ordering::Equal => continue,
        };
        changes += 1;
        if last_dir != 0 && dir != last_dir {
            reversals += 1;
        }
        last_dir = dir;
    }
    Flapping {
        changes,
        reversals,
        window_seconds: WINDOW_SECS,
        flapping: reversals >= REVERSALS_LIMIT,
        measured: values.len() >= 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(values: &[f64]) -> Vec<(f64, f64)> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| (i as f64 * 60.0, *v))
            .collect()
    }

    #[test]
    fn up_and_down_every_few_minutes_is_flapping() {
        let s = series(&[2.0, 4.0, 2.0, 4.0, 2.0, 4.0, 4.0, 2.0]);
        let f = measure(&s, 7.0 * 60.0);
        assert_eq!((f.changes, f.reversals), (6, 5));
        assert!(f.flapping);
        assert!(f.line().starts_with("flapping: 6 replica changes"));
    }

    #[test]
    fn a_steady_climb_and_one_session_ending_are_not() {
        let f = measure(&series(&[1.0, 2.0, 3.0, 4.0, 5.0, 4.0]), 300.0);
        assert_eq!((f.changes, f.reversals), (5, 1));
        assert!(!f.flapping);
    }

    #[test]
    fn only_the_last_thirty_minutes_count() {
        let mut v = vec![2.0, 4.0, 2.0, 4.0, 2.0, 4.0];
        v.extend(vec![4.0; 40]);
        let s = series(&v);
        let f = measure(&s, s.last().map_or(0.0, |p| p.0));
        assert_eq!(f.changes, 0);
        assert!(!f.flapping && f.measured);
    }
}
