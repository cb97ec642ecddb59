//! Checks of the hpa area.

use super::Check;

pub static CHECKS: &[Check] = &[];
