//! Checks of the keda area.

use super::Check;

pub static CHECKS: &[Check] = &[];
