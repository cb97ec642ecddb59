//! The pure domain layer: the Snapshot (everything one collect step read), the
//! figures derived from it once (game pods by phase, sessions, ratio and band,
//! scaling-time arithmetic, HPA metric values) and the PromQL builders.
//!
//! Nothing here does I/O, renders, or reads the clock: checks, reports and
//! the watch view all read the same figures, so they cannot disagree. Imports
//! point down only: this module may use `settings` and `keda_log`, never
//! `checks`, `report`, `cluster`, `commands`, `cli` or `watch` (the layers
//! test in `tests/it/layers.rs` enforces it).

pub mod address;
pub mod figures;
pub mod flapping;
pub mod kinds;
pub mod load;
pub mod model;
pub mod node_autoscalers;
pub mod probes;
pub mod promql;
pub mod quantity;
pub mod recording;
pub mod snapshot;
pub mod text;
