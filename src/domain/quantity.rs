//! Numbers as Kubernetes writes them (quantities such as `1000m`, `2Ki`) and
//! as a person reads them (`1`, `2.5`, `0.33`, ages such as `3m12s`).

/// A Kubernetes quantity (`resource.Quantity`: a decimal number with an
/// optional SI or binary suffix, `1000m`, `1.5`, `2Ki`, `1e3`) as a number.
/// `None` for anything else (`<unknown>`, an empty string, a non-finite value).
pub fn parse(q: &str) -> Option<f64> {
    let q = q.trim();
    if let Ok(v) = q.parse::<f64>() {
        return v.is_finite().then_some(v);
    }
    // Two-letter suffixes first, so `Mi` is never read as `M` followed by junk.
    const SUFFIXES: &[(&str, f64)] = &[
        ("Ki", 1024.0),
        ("Mi", 1_048_576.0),
        ("Gi", 1_073_741_824.0),
        ("Ti", 1_099_511_627_776.0),
        ("Pi", 1_125_899_906_842_624.0),
        ("Ei", 1_152_921_504_606_846_976.0),
        ("n", 1e-9),
        ("u", 1e-6),
        ("m", 1e-3),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("P", 1e15),
        ("E", 1e18),
    ];
    SUFFIXES.iter().find_map(|(suffix, factor)| {
        let n: f64 = q.strip_suffix(suffix)?.parse().ok()?;
        let v = n * factor;
        v.is_finite().then_some(v)
    })
}

/// A number without noise: 3, 2.5, 0.33.
pub fn num(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round() as i64)
    } else {
        let s = format!("{v:.2}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// A duration like kubectl prints ages: 45s, 3m12s, 2h5m, 4d3h.
pub fn human_duration(secs: i64) -> String {
    let s = secs.max(0);
    if s < 60 {
        format!("{s}s")
    } else if s < 600 {
        if s % 60 == 0 {
            format!("{}m", s / 60)
        } else {
            format!("{}m{}s", s / 60, s % 60)
        }
    } else if s < 3600 {
        format!("{}m", s / 60)
    } else if s < 86_400 {
        let m = (s % 3600) / 60;
        if m == 0 {
            format!("{}h", s / 3600)
        } else {
            format!("{}h{}m", s / 3600, m)
        }
    } else {
        let h = (s % 86_400) / 3600;
        if h == 0 {
            format!("{}d", s / 86_400)
        } else {
            format!("{}d{}h", s / 86_400, h)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn quantities_read_as_kubernetes_writes_them() {
        assert_eq!(parse("1000m"), Some(1.0));
        assert_eq!(parse("1"), Some(1.0));
        assert_eq!(parse(" 2500m "), Some(2.5));
        assert_eq!(parse("2Ki"), Some(2048.0));
        assert_eq!(parse("1.5k"), Some(1500.0));
        assert_eq!(parse("1e3"), Some(1000.0));
        assert_eq!(parse("<unknown>"), None);
        assert_eq!(parse(""), None);
        assert_eq!(parse("NaN"), None);
        assert_eq!(parse("inf"), None);
        assert_eq!(parse("1e308k"), None);
    }

    #[test]
    fn numbers_read_without_noise() {
        assert_eq!(num(1.0), "1");
        assert_eq!(num(0.999_999_999_9), "1");
        assert_eq!(num(2.5), "2.5");
        assert_eq!(num(1.0 / 3.0), "0.33");
        assert_eq!(num(0.334), "0.33");
        assert_eq!(num(-4.0), "-4");
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 256,
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        /// Whatever text a metric value holds, parsing never panics and never
        /// yields a number that cannot be printed.
        #[test]
        fn any_text_parses_to_a_finite_number_or_none(q in any::<String>()) {
            if let Some(v) = parse(&q) {
                prop_assert!(v.is_finite());
            }
        }

        /// A milli-quantity reads as its value: `1000m` is 1, `250m` is 0.25.
        #[test]
        fn milli_quantities_divide_by_a_thousand(n in 0u32..10_000_000) {
            let v = parse(&format!("{n}m")).expect("a quantity");
            prop_assert!((v - f64::from(n) / 1000.0).abs() < 1e-9);
        }
    }
}
