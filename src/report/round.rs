//! Derived rates in data output rounded to what their sources can tell: a
//! per-second rate of a counter over a one-minute window scraped every 15 s
//! resolves about 0.017/s, so three decimals keep every real digit and drop
//! the float noise (`2.9999999999999996` is `3.0`).

use serde::{Serialize, Serializer};

/// `v` to three decimals.
pub fn rate(v: f64) -> f64 {
    if v.is_finite() {
        (v * 1000.0).round() / 1000.0
    } else {
        v
    }
}

/// `#[serde(serialize_with = "crate::report::round::option")]` for an `Option<f64>` rate.
pub fn option<S: Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    v.map(rate).serialize(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_noise_is_gone_and_real_digits_stay() {
        assert_eq!(
            serde_json::to_string(&rate(2.9999999999999996)).unwrap(),
            "3.0"
        );
        assert_eq!(
            serde_json::to_string(&rate(0.9999999999999999)).unwrap(),
            "1.0"
        );
        assert_eq!(serde_json::to_string(&rate(1.0 / 15.0)).unwrap(), "0.067");
        assert_eq!(serde_json::to_string(&rate(0.2)).unwrap(), "0.2");
    }
}
