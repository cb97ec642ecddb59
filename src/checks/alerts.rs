//! Checks of the alerts area.

use super::Check;

pub static CHECKS: &[Check] = &[];
