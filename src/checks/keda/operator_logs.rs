//! `keda.operator-logs`: KEDA operator logs show no scaler errors. The check's docs, its evaluation and its
//! unit tests.

use super::*;
use crate::checks::shell_arg;

pub static CHECK: Check = Check {
    id: CheckId::KedaOperatorLogs,
    title: "KEDA operator logs show no scaler errors",
    runbook: "Troubleshooting: No Pods Scaling Up, Check 3",
    needs: &[CheckId::KedaOperator],
    reads: "operatorLogs, gaps[keda-operator-logs]",
    docs: Docs {
        what: "Operator log lines about this ScaledObject with scaler errors (`error executing prometheus query`, `prometheus query api returned error`, `error getting scale decision`, `returned multiple elements`, ERROR). A line counts only when its structured fields name this ScaledObject (\"scaledObject.Name\", \"scaledobject.Name\", a scaler's \"name\"); other ScaledObjects' errors are listed as context, never as evidence.",
        why: "The runbook greps for \"querying prometheus\", which KEDA never logs: successful queries are silent at info level, only failures are logged.",
        fix: "Fix what the quoted error names: serverAddress reachable from the keda namespace, a query that parses and returns one element.",
    },
    source: file!(),
    eval: operator_logs,
};

/// One evidence line naming the other ScaledObjects whose errors the log
/// holds, so the engineer sees them without taking them for ours.
fn other_objects_context(ctx: &Ctx) -> Option<String> {
    let mut others: Vec<String> = ctx
        .snap
        .operator_logs
        .iter()
        .flatten()
        .filter(|l| keda_log::is_error(&l.line))
        .filter_map(
            |l| match keda_log::about(&l.line, ctx.ns(), &ctx.settings.scaled_object) {
                keda_log::About::Other(o) => Some(o),
                _ => None,
            },
        )
        .collect();
    let total = others.len();
    others.sort();
    others.dedup();
    (total > 0).then(|| {
        format!(
            "context, not counted: {total} error line(s) about other ScaledObjects ({})",
            others.join(", ")
        )
    })
}

/// A log line as the report quotes it: the parsed message and `"error"`
/// field, each bounded, rather than a prefix of the raw line, whose console
/// layout puts the error (the part that says what is wrong) past any prefix
/// worth printing. A line without them (a stack-trace line) is quoted as is,
/// bounded. Tabs, which separate the console's columns, become spaces.
fn quote_log_line(line: &str) -> String {
    let clean = |t: &str| truncate(t.trim(), QUOTE_CHARS).replace('\t', " ");
    match keda_log::message_and_error(line) {
        (None, None) => clean(line),
        (msg, error) => {
            let msg = msg.map(|m| format!("\"{}\"", clean(&m)));
            let error = error.map(|e| format!("error \"{}\"", clean(&e)));
            msg.into_iter().chain(error).collect::<Vec<_>>().join(", ")
        }
    }
}

/// The console encoder's first column, the time zap logged the line.
fn log_time(line: &str) -> Option<&str> {
    let (time, _) = line.split_once('\t')?;
    let time = time.trim();
    (!time.is_empty() && !time.starts_with('{')).then_some(truncate_str(time, 40))
}

/// At most `max` bytes of `text`, cut at a character boundary.
fn truncate_str(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The command that shows the operator's lines about scaling: the loggers
/// that log a failed Prometheus query or scale decision, and the
/// ScaledObject's name (the runbook's "querying prometheus" is never logged).
pub(crate) fn log_grep(namespace: &str, selector: &str, scaled_object: &str) -> String {
    format!(
        "kubectl logs -n {namespace} -l {} --tail=500 | grep -E {}",
        shell_arg(selector),
        shell_arg(&format!("prometheus_scaler|scale_handler|{scaled_object}"))
    )
}

pub(super) fn operator_logs(ctx: &Ctx) -> Verdict {
    let gap = ctx.snap.gap("keda-operator-logs");
    let ns = keda_namespace(ctx);
    let grep = log_grep(ns, keda_operator_selector(ctx), &ctx.settings.scaled_object);
    let not_logged = "KEDA never logs the runbook's \"querying prometheus\": successful queries are silent at info level; failures log `error executing prometheus query` (prometheus_scaler) and `error getting scale decision` (scale_handler)";
    match (&ctx.snap.operator_logs, gap) {
        (Some(_), _) => {}
        (None, Some(_)) => return ctx.not_read("keda-operator-logs", "the operator logs were"),
        (None, None) => {
            return Verdict::skip(
                "the KEDA operator logs were not collected (no Running operator pod, or `status` only)",
            );
        }
    }
    let ours: Vec<&crate::domain::snapshot::LogLine> = our_log_lines(ctx).collect();
    let errors: Vec<&crate::domain::snapshot::LogLine> = ours
        .iter()
        .copied()
        .filter(|l| is_scaler_error(&l.line))
        .collect();
    let context = other_objects_context(ctx);
    if errors.is_empty() {
        if gap.is_some() {
            let v = ctx.not_read("keda-operator-logs", "the operator logs were");
            return Verdict {
                message: format!(
                    "no scaler errors in the {} lines about {} read, but some operator logs could not be read: {}",
                    ours.len(),
                    ctx.settings.scaled_object,
                    v.message
                ),
                ..v
            }
            .evidence(not_logged);
        }
        let v = Verdict::pass(format!(
            "no scaler errors in {} KEDA operator log lines about {} (success is silent)",
            ours.len(),
            ctx.settings.scaled_object
        ))
        .evidence(not_logged);
        return match context {
            Some(c) => v.evidence(c),
            None => v,
        };
    }
    // Newest last in the snapshot: quote the newest three, newest first.
    let newest = errors.last().expect("not empty");
    let mut v = Verdict::fail(format!(
        "{} scaler error line(s) in the KEDA operator logs, newest: {}",
        errors.len(),
        quote_log_line(&newest.line)
    ))
    .fix(scaler_error_fix(&newest.line))
    .command(grep);
    for l in errors.iter().rev().take(3) {
        v = v.evidence(format!(
            "{}: {}",
            l.pod,
            match log_time(&l.line) {
                Some(t) => format!("{t} {}", quote_log_line(&l.line)),
                None => quote_log_line(&l.line),
            }
        ));
    }
    if let Some(g) = gap {
        v = v.evidence(format!(
            "some operator logs could not be read: {}",
            g.message
        ));
    }
    if let Some(c) = context {
        v = v.evidence(c);
    }
    v.evidence(not_logged)
}

#[cfg(test)]
mod tests {
    use super::super::tests::*;
    use super::*;

    use crate::checks::testkit::*;
    use crate::domain::snapshot::GapReason;

    #[test]
    fn clean_logs_pass_and_say_querying_prometheus_is_never_logged() {
        let mut s = healthy();
        s.operator_logs = Some(vec![log(
            "2026-11-27T11:59:00Z\tINFO\tReconciling ScaledObject\t{\"controllerKind\": \"ScaledObject\", \"ScaledObject\": {\"name\":\"spice-runner-keda\",\"namespace\":\"default\"}, \"namespace\": \"default\", \"name\": \"spice-runner-keda\"}",
        )]);
        let v = eval(operator_logs, &s);
        expect(&v, Outcome::Pass, "no scaler errors in 1");
        assert!(
            v.evidence
                .iter()
                .any(|e| e.contains("never logs") && e.contains("querying prometheus"))
        );
    }

    #[test]
    fn scaler_errors_fail_quoting_three_newest_truncated() {
        let mut s = healthy();
        let long = "x".repeat(500);
        s.operator_logs = Some(vec![
            log(
                "t1\tERROR\tprometheus_scaler\terror executing prometheus query\t{\"type\": \"ScaledObject\", \"namespace\": \"default\", \"name\": \"spice-runner-keda\", \"error\": \"dial tcp 10.0.0.1:9090: connect: connection refused\"}",
            ),
            log(
                "t2\tINFO\tReconciling ScaledObject\t{\"controllerKind\": \"ScaledObject\", \"name\": \"spice-runner-keda\"}",
            ),
            log(&format!(
                "t3\tERROR\tscale_handler\terror getting scale decision\t{{\"scaledObject.Namespace\": \"default\", \"scaledObject.Name\": \"spice-runner-keda\", \"error\": \"{long}\"}}"
            )),
            log(
                "t4\tERROR\tprometheus_scaler\tprometheus query api returned error\t{\"type\": \"ScaledObject\", \"namespace\": \"default\", \"name\": \"spice-runner-keda\", \"error\": \"prometheus query api returned error. status: 400\"}",
            ),
            log(
                "t5\tERROR\tprometheus_scaler\terror executing prometheus query\t{\"type\": \"ScaledObject\", \"namespace\": \"default\", \"name\": \"spice-runner-keda\", \"error\": \"prometheus query sum(x) by (pod) returned multiple elements\"}",
            ),
        ]);
        let v = eval(operator_logs, &s);
        expect(&v, Outcome::Fail, "4 scaler error line(s)");
        assert!(
            v.message.contains(
                "newest: \"error executing prometheus query\", error \"prometheus query sum(x) by (pod) returned multiple elements\""
            ),
            "{}",
            v.message
        );
        assert!(v.fix.as_deref().unwrap().contains("sum(...)"));
        let quoted: Vec<&String> = v
            .evidence
            .iter()
            .filter(|e| e.starts_with("keda-operator"))
            .collect();
        assert_eq!(quoted.len(), 3);
        assert!(quoted[0].contains("t5") && quoted[2].contains("t3"));
        // Each quoted field is bounded (~200 characters), the line with them.
        assert!(
            quoted.iter().all(|q| q.chars().count() < 300),
            "{quoted:#?}"
        );
        assert!(quoted[2].contains(&format!("error \"{}…\"", "x".repeat(200))));
        assert!(
            v.command
                .as_deref()
                .unwrap()
                .starts_with("kubectl logs -n keda -l app.kubernetes.io/name=keda-operator")
        );
    }

    #[test]
    fn the_scaler_error_field_is_quoted_past_a_long_console_prefix_without_tabs() {
        let mut s = healthy();
        // KEDA v2.19 pkg/scalers/prometheus_scaler.go logs "error executing
        // prometheus query" with the scaler's fields first and the HTTP
        // client's error last, well past 120 characters into the line.
        s.operator_logs = Some(vec![log(
            "2026-08-24T09:33:06Z\tERROR\tprometheus_scaler\terror executing prometheus query\t{\"type\": \"ScaledObject\", \"namespace\": \"default\", \"name\": \"spice-runner-keda\", \"error\": \"Get \\\"http://prometheus.observability:9090/api/v1/query?query=sum%28rate%28nginx_http_requests_total%5B1m%5D%29%29\\\": dial tcp: lookup prometheus.observability on 10.96.0.10:53: no such host\"}",
        )]);
        let v = eval(operator_logs, &s);
        expect(&v, Outcome::Fail, "no such host");
        expect(&v, Outcome::Fail, "\"error executing prometheus query\"");
        for text in std::iter::once(&v.message).chain(&v.evidence) {
            assert!(!text.contains('\t'), "a raw TAB: {text:?}");
        }
        assert!(
            v.evidence
                .iter()
                .any(|e| e.contains("2026-08-24T09:33:06Z") && e.contains("no such host")),
            "{v:#?}"
        );
    }

    #[test]
    fn operator_logs_not_read_is_error_or_skip() {
        let mut s = healthy();
        s.operator_logs = None;
        gap(
            &mut s,
            "keda-operator-logs",
            GapReason::Forbidden,
            "pods/log is forbidden",
        );
        expect(&eval(operator_logs, &s), Outcome::Error, "forbidden");
        // Partly read: what was read is clean, the rest is unknown.
        s.operator_logs = Some(vec![]);
        expect(
            &eval(operator_logs, &s),
            Outcome::Error,
            "some operator logs could not be read",
        );
        s.operator_logs = Some(vec![log(
            "t\tERROR\tprometheus_scaler\terror executing prometheus query\t{\"type\": \"ScaledObject\", \"namespace\": \"default\", \"name\": \"spice-runner-keda\", \"error\": \"x\"}",
        )]);
        expect(&eval(operator_logs, &s), Outcome::Fail, "1 scaler error");
        let mut s = healthy();
        s.operator_logs = None;
        expect(&eval(operator_logs, &s), Outcome::Skip, "not collected");
    }
}
