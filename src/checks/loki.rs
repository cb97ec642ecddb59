//! Checks of the loki area.

use super::Check;

pub static CHECKS: &[Check] = &[];
