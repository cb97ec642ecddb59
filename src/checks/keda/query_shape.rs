//! A small reader of PromQL, enough to tell what shape of answer KEDA's Prometheus
//! scaler gets from the trigger query and which rate window it uses.

/// The query without whitespace, to compare two queries' text.
pub(super) fn compact(q: &str) -> String {
    q.chars().filter(|c| !c.is_whitespace()).collect()
}

/// What a PromQL expression returns, as far as KEDA's scaler cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shape {
    /// At most one vector element (a top-level aggregation without grouping).
    Single,
    /// Possibly several elements (a bare selector, `rate(...)`, `sum by (x)`).
    Many,
    /// A scalar result, which KEDA's scaler cannot decode.
    Scalar,
    /// Cannot tell (a recording rule, a leading number).
    Unknown,
}

const AGGREGATIONS: &[&str] = &[
    "sum",
    "min",
    "max",
    "avg",
    "group",
    "stddev",
    "stdvar",
    "count",
    "quantile",
    "count_values",
    "topk",
    "bottomk",
    "limitk",
    "limit_ratio",
];

/// The index just past a quoted string starting at `i`.
fn skip_string(b: &[u8], i: usize) -> Option<usize> {
    let quote = b[i];
    let mut j = i + 1;
    while j < b.len() {
        if b[j] == b'\\' && quote != b'`' {
            j += 2;
            continue;
        }
        if b[j] == quote {
            return Some(j + 1);
        }
        j += 1;
    }
    None
}

/// The index of the bracket closing the one at `open`.
fn matching_close(b: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0i32;
    let mut i = open;
    while i < b.len() {
        match b[i] {
            b'"' | b'\'' | b'`' => {
                i = skip_string(b, i)?;
                continue;
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

fn ident_end(b: &[u8], start: usize) -> usize {
    let mut i = start;
    while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b':') {
        i += 1;
    }
    i
}

/// The top-level arguments between `open` and `close`.
fn split_args(e: &str, open: usize, close: usize) -> Vec<&str> {
    let b = e.as_bytes();
    let mut args = Vec::new();
    let mut depth = 0i32;
    let mut start = open + 1;
    let mut i = open + 1;
    while i < close {
        match b[i] {
            b'"' | b'\'' | b'`' => {
                i = skip_string(b, i).unwrap_or(close);
                continue;
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth -= 1,
            b',' if depth == 0 => {
                args.push(&e[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    args.push(&e[start..close]);
    args
}

/// The expression without a trailing range or subquery (`x[1m]` → `x`).
fn strip_range(e: &str) -> &str {
    let b = e.as_bytes();
    let mut depth = 0i32;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' | b'\'' | b'`' => {
                i = skip_string(b, i).unwrap_or(b.len());
                continue;
            }
            b'[' if depth == 0 => return e[..i].trim(),
            b'(' | b'{' | b'[' => depth += 1,
            b')' | b'}' | b']' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    e.trim()
}

/// `by (...)` / `without (...)` at `i`: whether it splits the result into
/// several elements, and the index past it.
fn grouping_clause(e: &str, i: usize) -> Option<(bool, usize)> {
    let b = e.as_bytes();
    let end = ident_end(b, i);
    let kw = e[i..end].to_ascii_lowercase();
    if kw != "by" && kw != "without" {
        return None;
    }
    let open = skip_ws(b, end);
    if open >= b.len() || b[open] != b'(' {
        return None;
    }
    let close = matching_close(b, open)?;
    let labels = e[open + 1..close].trim();
    Some((kw == "without" || !labels.is_empty(), close + 1))
}

/// Whether a query returns a single element, judged by its leading term
/// (`sum(a) / sum(b)` and `sum(a) or vector(0)` are single).
pub(super) fn shape(expr: &str) -> Shape {
    let e = expr.trim();
    let b = e.as_bytes();
    if b.is_empty() {
        return Shape::Unknown;
    }
    if b[0] == b'(' {
        return match matching_close(b, 0) {
            Some(close) => shape(&e[1..close]),
            None => Shape::Unknown,
        };
    }
    if b[0] == b'{' {
        return Shape::Many;
    }
    if !(b[0].is_ascii_alphabetic() || b[0] == b'_' || b[0] == b':') {
        return if e.parse::<f64>().is_ok() {
            Shape::Scalar
        } else {
            Shape::Unknown
        };
    }
    let end = ident_end(b, 0);
    let name = e[..end].to_ascii_lowercase();
    let mut k = skip_ws(b, end);
    if AGGREGATIONS.contains(&name.as_str()) {
        let mut splits = None;
        if let Some((many, next)) = grouping_clause(e, k) {
            splits = Some(many);
            k = skip_ws(b, next);
        }
        if k >= b.len() || b[k] != b'(' {
            return Shape::Many;
        }
        let Some(close) = matching_close(b, k) else {
            return Shape::Unknown;
        };
        if splits.is_none() {
            splits = grouping_clause(e, skip_ws(b, close + 1)).map(|(many, _)| many);
        }
        if splits == Some(true) {
            return Shape::Many;
        }
        return match name.as_str() {
            "topk" | "bottomk" | "limitk" | "limit_ratio" | "count_values" => Shape::Many,
            _ => Shape::Single,
        };
    }
    if k < b.len() && b[k] == b'(' {
        let Some(close) = matching_close(b, k) else {
            return Shape::Unknown;
        };
        let args = split_args(e, k, close);
        return match name.as_str() {
            "scalar" | "time" | "pi" => Shape::Scalar,
            "vector" | "absent" | "absent_over_time" => Shape::Single,
            "histogram_quantile" | "quantile_over_time" => args
                .get(1)
                .map_or(Shape::Unknown, |a| shape(strip_range(a))),
            _ => args
                .first()
                .map_or(Shape::Unknown, |a| shape(strip_range(a))),
        };
    }
    // A bare selector. A recording rule (`level:metric:ops`) may already be
    // aggregated to one series; a raw metric has one series per target.
    if name.contains(':') {
        Shape::Unknown
    } else {
        Shape::Many
    }
}

/// The first range in a query (`[1m]`, `[5m:15s]` → its range), in seconds.
pub(super) fn rate_window_secs(query: &str) -> Option<i64> {
    let b = query.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' | b'\'' | b'`' => {
                i = skip_string(b, i)?;
                continue;
            }
            b'[' => {
                let close = matching_close(b, i)?;
                let inner = &query[i + 1..close];
                let range = inner.split(':').next().unwrap_or("");
                return promql_duration_secs(range.trim());
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// `1m`, `90s`, `1h30m`, `500ms` → seconds (rounded down).
fn promql_duration_secs(text: &str) -> Option<i64> {
    if text.is_empty() {
        return None;
    }
    let mut millis: i64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let n: i64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit_ms = match &rest[..unit_len] {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 7 * 86_400_000,
            "y" => 365 * 86_400_000,
            _ => return None,
        };
        rest = &rest[unit_len..];
        millis = millis.checked_add(n.checked_mul(unit_ms)?)?;
    }
    Some(millis / 1000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn query_shapes() {
        use Shape::*;
        for (q, want) in [
            (
                r#"sum(rate(nginx_http_requests_total{service="x"}[1m]))"#,
                Single,
            ),
            ("SUM(rate(x[1m]))", Single),
            ("sum by () (rate(x[1m]))", Single),
            ("(sum(x))", Single),
            ("sum(x) / sum(y)", Single),
            ("sum(x) or vector(0)", Single),
            ("ceil(sum(rate(x[1m])))", Single),
            ("max_over_time(sum(rate(x[1m]))[5m:15s])", Single),
            (r#"sum(rate(x{pod=~"a[0-9]+"}[1m]))"#, Single),
            ("quantile(0.9, x)", Single),
            ("histogram_quantile(0.9, sum by (le) (rate(x[1m])))", Many),
            ("rate(x[1m])", Many),
            ("x", Many),
            (r#"{__name__="x"}"#, Many),
            ("sum by (pod) (rate(x[1m]))", Many),
            ("sum(rate(x[1m])) by (pod)", Many),
            ("sum without (pod) (x)", Many),
            ("topk(1, x)", Many),
            ("rate(x[1m]) > 0", Many),
            ("scalar(sum(x))", Scalar),
            ("1", Scalar),
            ("job:x:rate1m", Unknown),
            ("", Unknown),
            ("sum(x", Unknown),
        ] {
            assert_eq!(shape(q), want, "{q}");
        }
    }

    #[test]
    fn rate_windows_parse() {
        assert_eq!(rate_window_secs("sum(rate(x[1m]))"), Some(60));
        assert_eq!(rate_window_secs("sum(rate(x[1m30s]))"), Some(90));
        assert_eq!(rate_window_secs("max_over_time(x[5m:15s])"), Some(300));
        assert_eq!(
            rate_window_secs(r#"sum(rate(x{pod=~"a[0-9]"}[2m]))"#),
            Some(120)
        );
        assert_eq!(rate_window_secs("sum(x)"), None);
        assert_eq!(rate_window_secs("rate(x[$__rate_interval])"), None);
    }

    /// PromQL-ish text: the reader's brackets, quotes and keywords, plus
    /// multi-byte characters at every position a byte index could split.
    fn promql_like() -> impl Strategy<Value = String> {
        let token = prop_oneof![
            Just("sum".to_string()),
            Just("by".to_string()),
            Just("without".to_string()),
            Just("rate".to_string()),
            Just("scalar".to_string()),
            Just("vector".to_string()),
            Just(" ".to_string()),
            "[()\\[\\]{}\"'`\\\\:,=~!<>/*+-]",
            "[0-9]{1,3}(ms|s|m|h|d|w|y)?",
            "[a-z_]{1,6}",
            "[é€😀\\u{0}]",
        ];
        prop::collection::vec(token, 0..40).prop_map(|t| t.concat())
    }

    proptest! {
        // No regression files: a failure prints its minimal input, which
        // becomes a named unit test.
        #![proptest_config(ProptestConfig {
            cases: 512,
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        #[test]
        fn the_reader_never_panics_on_promql_like_text(q in promql_like()) {
            let _ = shape(&q);
            let _ = rate_window_secs(&q);
            prop_assert!(!compact(&q).chars().any(char::is_whitespace));
        }

        #[test]
        fn the_reader_never_panics_on_any_text(q in any::<String>()) {
            let _ = shape(&q);
            let _ = rate_window_secs(&q);
        }
    }
}
