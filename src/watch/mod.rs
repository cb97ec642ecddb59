//! `kubectl spice watch`: a pure model of the live view (`model`), fed by the
//! watch-based sources in `cluster::live`, printed by `commands::watch`.

pub mod model;
pub mod render;
pub mod view;
