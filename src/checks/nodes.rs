//! Checks of the nodes area.

use super::Check;

pub static CHECKS: &[Check] = &[];
