//! The constant a KEDA trigger query subtracts last, e.g. the exporter's own
//! scrapes in `sum(rate(nginx_http_requests_total{...}[1m])) - 0.25`: the
//! value KEDA compares with `activationThreshold` is the rate minus it, so an
//! idle floor the query subtracts does not keep KEDA active (the sessions
//! checks advise exactly that subtraction as a fix).

/// The non-negative number `query` subtracts at its top level, last:
/// `<expr> - <number>` where `<expr>` ends with a closing parenthesis or
/// brace and holds no comparison or set operator at its top level (those
/// bind looser than `-`, so the number would not be subtracted from the
/// whole). Anything else is `None`: nothing is assumed subtracted.
pub fn subtracted(query: &str) -> Option<f64> {
    let (left, right) = query.trim().rsplit_once('-')?;
    let c: f64 = right.trim().parse().ok()?;
    if !c.is_finite() || c < 0.0 {
        return None;
    }
    let left = left.trim_end();
    if !(left.ends_with(')') || left.ends_with('}')) || !top_level_is_arithmetic(left) {
        return None;
    }
    Some(c)
}

/// Whether `expr` is balanced and has no comparison (`== != > < >= <=`) or
/// set operator (`and`, `or`, `unless`) outside brackets and strings.
fn top_level_is_arithmetic(expr: &str) -> bool {
    let mut depth: i32 = 0;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    let mut word = String::new();
    for ch in expr.chars() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if ch == '\\' {
                escaped = true;
            } else if ch == q {
                quote = None;
            }
            continue;
        }
        match ch {
            '"' | '\'' | '`' => quote = Some(ch),
            '(' | '{' | '[' => depth += 1,
            ')' | '}' | ']' => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            '=' | '!' | '<' | '>' if depth == 0 => return false,
            _ => {}
        }
        if depth == 0 && ch.is_ascii_alphabetic() {
            word.push(ch.to_ascii_lowercase());
        } else {
            if matches!(word.as_str(), "and" | "or" | "unless") {
                return false;
            }
            word.clear();
        }
    }
    depth == 0 && quote.is_none() && !matches!(word.as_str(), "and" | "or" | "unless")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_constant_subtracted_last_is_read() {
        let lab =
            r#"sum(rate(nginx_http_requests_total{service="spice-runner-nginx"}[12s])) - 0.25"#;
        assert_eq!(subtracted(lab), Some(0.25));
        assert_eq!(subtracted("sum(rate(x[1m]))-0.067 "), Some(0.067));
        assert_eq!(
            subtracted("sum(rate(x[1m])) + sum(rate(y[1m])) - 1"),
            Some(1.0)
        );
        // Braces end a bare selector.
        assert_eq!(subtracted(r#"x{a="b"} - 0.1"#), Some(0.1));
    }

    #[test]
    fn anything_else_subtracts_nothing() {
        for q in [
            "sum(rate(nginx_http_requests_total[1m]))",
            "sum(rate(a[1m])) - sum(rate(b[1m]))",
            // A comparison or set operator binds looser: not subtracted from all.
            "sum(rate(a[1m])) > 0 - 0.25",
            "sum(rate(a[1m])) > bool (1) - 0.25",
            "vector(1) and on() (x) - 0.25",
            "vector(1) unless (x) - 0.25",
            // Inside brackets or a label value, not at the top.
            "sum(rate(a[1m]) - 0.25)",
            r#"sum(rate(a{l="x - 1"}[1m]))"#,
            // A negative exponent, an unbalanced or empty left side.
            "x - 1e-1",
            "sum(rate(a[1m]))) - 0.25",
            "- 0.25",
            "sum(x) - NaN",
            "sum(x) - -1",
        ] {
            assert_eq!(subtracted(q), None, "{q}");
        }
        // A label value with an operator in it is no operator.
        assert_eq!(subtracted(r#"sum(rate(a{l=">"}[1m])) - 0.5"#), Some(0.5));
    }
}
