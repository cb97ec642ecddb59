//! Checks of the pods area.

use super::Check;

pub static CHECKS: &[Check] = &[];
