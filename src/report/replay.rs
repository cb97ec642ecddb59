//! A report built from a saved snapshot (`--from FILE`) says so, in every
//! format: a line at the top of the human ones, a `replay` field in the
//! data ones, a property in JUnit. A replay never reads as a live run.

use super::human_duration;
use serde::Serialize;
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Replay {
    /// The file as it was named on the command line.
    pub file: String,
    /// When the snapshot was taken.
    pub captured_at: jiff::Timestamp,
    /// Seconds from the capture to this run (0 when the capture is later).
    pub age_seconds: i64,
}

impl Replay {
    pub fn of(file: &Path, captured_at: jiff::Timestamp, now: jiff::Timestamp) -> Replay {
        Replay {
            file: file.display().to_string(),
            captured_at,
            age_seconds: (now.as_second() - captured_at.as_second()).max(0),
        }
    }

    /// `replay of snapshot taken 2026-12-07 04:52:36 UTC, 3h ago (FILE)`.
    pub fn line(&self) -> String {
        format!(
            "replay of snapshot taken {}, {} ago ({})",
            self.captured_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
            human_duration(self.age_seconds),
            crate::domain::text::one_line(&self.file)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_says_replay_when_taken_and_how_long_ago() {
        let at = jiff::Timestamp::from_second(1_800_000_000).unwrap();
        let r = Replay::of(
            Path::new("x.json"),
            at,
            at + jiff::SignedDuration::from_secs(3 * 3600),
        );
        assert_eq!(r.age_seconds, 10_800);
        assert!(
            r.line()
                .starts_with("replay of snapshot taken 2027-01-15 08:00:00 UTC, 3h ago (x.json)"),
            "{}",
            r.line()
        );
    }
}
