//! What the load-test view of `watch` reads besides the Snapshot: node CPU
//! and memory use from the metrics API (what `kubectl top nodes` shows) and
//! the heartbeat rate from Loki. Both are polled on their own clocks; a
//! [`Polled`] value is the latest answer or why there is none.

use jiff::Timestamp;

/// One node's use as metrics-server reports it (`NodeMetrics.usage`).
#[derive(Debug, Clone, PartialEq)]
pub struct NodeUsage {
    pub name: String,
    /// CPU in cores (`usage.cpu`, e.g. `187920567n` = 0.19).
    pub cpu_cores: f64,
    /// Memory working set in bytes (`usage.memory`, e.g. `1557236Ki`).
    pub memory_bytes: f64,
}

/// The latest answer of a polled source.
#[derive(Debug, Clone, PartialEq)]
pub struct Polled<T> {
    /// The last good answer and when it came; kept through a later failure.
    pub latest: Option<(T, Timestamp)>,
    /// Why the latest poll gave no answer (one line), or `None` after a good one.
    pub gap: Option<String>,
    /// Polls finished so far (answered or failed).
    pub polls: u64,
}

impl<T> Default for Polled<T> {
    fn default() -> Self {
        Polled {
            latest: None,
            gap: None,
            polls: 0,
        }
    }
}

impl<T> Polled<T> {
    /// The current value: the latest answer when the latest poll succeeded.
    pub fn current(&self) -> Option<&T> {
        match (&self.latest, &self.gap) {
            (Some((v, _)), None) => Some(v),
            _ => None,
        }
    }
}
