//! Checks of the sessions area.

use super::Check;

pub static CHECKS: &[Check] = &[];
