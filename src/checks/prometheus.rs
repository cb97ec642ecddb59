//! Checks of the prometheus area.

use super::Check;

pub static CHECKS: &[Check] = &[];
