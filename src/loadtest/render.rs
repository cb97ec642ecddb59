//! Renderers of a [`TestReport`]: text (verdicts, sessions, a timeline and a
//! chart), JSON, JUnit XML (one testcase per verdict) and Markdown. They only
//! format; every decision is in the report. Text from the cluster goes
//! through [`clean`] where it is written.

use super::{Outcome, Result as RunResult, Sample, ScaleReport, TestReport, Verdict};
use crate::report::{Styles, num};
use std::fmt::Write as _;

/// Makes untrusted text safe for a terminal, on one line: the project's one
/// neutraliser (`report::text::neutralise`) shows control characters
/// (including ESC, so no escape sequence survives) and the bidirectional
/// overrides that can reorder what a reader sees as visible `\uXXXX` escapes.
pub fn clean(s: &str) -> String {
    // One line: a newline from the cluster must not start a line of its own.
    crate::report::text::neutralise(&s.replace('\n', " ")).into_owned()
}

/// Seconds as the reports show them: one decimal at most, e.g. `3.9s`.
pub fn secs(v: f64) -> String {
    num((v * 10.0).round() / 10.0) + "s"
}

fn result_word(r: RunResult) -> &'static str {
    match r {
        RunResult::Pass => "PASS",
        RunResult::Fail => "FAIL",
        RunResult::Interrupted => "INTERRUPTED",
        RunResult::Incomplete => "INCOMPLETE",
    }
}

fn mark(st: &Styles, o: Outcome) -> String {
    let text = format!("{} {}", o.mark(), o.word());
    match o {
        Outcome::Pass => st.good(&text),
        Outcome::Fail => st.bad(&text),
        Outcome::Skip | Outcome::NotJudged => st.dim(&text),
    }
}

/// The human report.
pub fn text(r: &TestReport, st: &Styles) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} — context {}, namespace {}",
        st.bold(&format!("kubectl spice test {}", r.test.name())),
        clean(r.context.as_deref().unwrap_or("in-cluster")),
        clean(&r.namespace)
    );
    let p = &r.plan;
    let _ = writeln!(
        s,
        "{} session(s) at {} req/s each to {}; baseline {} pod(s), {} session(s) seen",
        p.sessions,
        num(p.rate_per_session),
        clean(&p.target),
        r.baseline_pods,
        r.baseline_sessions.map_or("?".into(), num)
    );
    let ss = &r.sessions;
    let ms = |v: Option<f64>| v.map_or("-".into(), |v| format!("{} ms", num(v)));
    let _ = writeln!(
        s,
        "Requests: {} planned, {} sent, {} ok, {} errors, {} req/s sent; latency p50 {}, p95 {}, max {}{}",
        num(ss.planned.round()),
        ss.requests,
        ss.ok,
        ss.errors,
        num(ss.delivered_per_second),
        ms(ss.latency_p50_ms),
        ms(ss.latency_p95_ms),
        ms(ss.latency_max_ms),
        ss.first_error
            .as_ref()
            .map(|e| format!(" (first error: {})", clean(e)))
            .unwrap_or_default()
    );
    s.push_str("\nVerdicts\n");
    for v in &r.verdicts {
        verdict_lines(&mut s, v, st);
    }
    if !r.nodes_launched.is_empty() {
        s.push_str("\nNodes launched\n");
        for n in &r.nodes_launched {
            let _ = writeln!(
                s,
                "  {} at +{}: node {} {}",
                clean(&n.node_claim),
                secs(n.created_at_seconds),
                clean(n.node.as_deref().unwrap_or("(not yet)")),
                n.launch_seconds
                    .map_or("not registered yet".into(), |l| format!(
                        "registered after {}",
                        secs(l)
                    ))
            );
        }
    }
    s.push_str("\nTimeline\n");
    for e in &r.events {
        let detail = if e.detail.is_empty() {
            String::new()
        } else {
            format!(" ({})", clean(&e.detail))
        };
        let _ = writeln!(
            s,
            "  {:>7}  {} {}{detail}",
            format!("+{}", secs(e.t)),
            e.event.words(),
            clean(&e.object)
        );
    }
    s.push('\n');
    s.push_str(&chart(&r.samples));
    let passed = r
        .verdicts
        .iter()
        .filter(|v| v.outcome == Outcome::Pass)
        .count();
    if let Some(sc) = &r.scale {
        scale_lines(&mut s, sc, st);
    }
    let word = result_word(r.result);
    let word = match r.result {
        RunResult::Pass => st.good(word),
        _ => st.bad(word),
    };
    let _ = writeln!(
        s,
        "\nResult: {word} ({passed}/{} verdicts passed, {} elapsed)",
        r.verdicts.len(),
        secs(r.elapsed_seconds)
    );
    s
}

/// `--scale-to-zero`: the write and its undoing; a failed put-back says
/// what was left and the command that fixes it.
fn scale_lines(s: &mut String, sc: &ScaleReport, st: &Styles) {
    let (kind, name) = sc.workload();
    let name = clean(&format!("{}/{name}", sc.namespace));
    match sc.failure() {
        None => {
            let _ = writeln!(
                s,
                "\nScale: {} {kind} {name} scaled from {} to {} replicas and put back to {}",
                st.good("✓"),
                sc.from,
                sc.to,
                sc.from
            );
        }
        Some(failure) => {
            let _ = writeln!(s, "\nScale: {}", st.bad(&format!("✗ {}", clean(&failure))));
            if let Some(cmd) = &sc.command {
                let _ = writeln!(s, "  run: {}", clean(cmd));
            }
        }
    }
}

fn verdict_lines(s: &mut String, v: &Verdict, st: &Styles) {
    let _ = writeln!(
        s,
        "  {:<12} {:<24} {}{}",
        mark(st, v.outcome),
        v.id,
        v.expect,
        v.measured
            .as_ref()
            .map(|m| format!(": {}", clean(m)))
            .unwrap_or_default()
    );
    if !v.message.is_empty() && v.outcome != Outcome::Pass {
        let _ = writeln!(s, "  {:<12} {}", "", clean(&v.message));
    } else if !v.message.is_empty() {
        let _ = writeln!(s, "  {:<12} {}", "", st.dim(&clean(&v.message)));
    }
    if let Some(rc) = &v.root_cause {
        let line = match &rc.check {
            Some(id) => format!(
                "{} ({}): {} — {}",
                rc.label(),
                rc.symptom,
                clean(id),
                clean(&rc.message)
            ),
            None => format!("root cause ({}): {}", rc.symptom, clean(&rc.message)),
        };
        let _ = writeln!(s, "  {:<12} {}", "", st.bold(&line));
        if let Some(fix) = &rc.fix {
            let _ = writeln!(s, "  {:<12} fix: {}", "", clean(fix));
        }
    }
}

/// One row of the chart: its name and how to read it from a sample.
type Series = (&'static str, fn(&Sample) -> f64);

/// A text chart: one column per sample (at most 60, evenly picked), one row
/// per series, the height of each block relative to the series' maximum.
pub fn chart(samples: &[Sample]) -> String {
    if samples.is_empty() {
        return "No samples.\n".into();
    }
    let width = 60usize;
    let picked: Vec<&Sample> = if samples.len() <= width {
        samples.iter().collect()
    } else {
        (0..width)
            .map(|i| &samples[i * (samples.len() - 1) / (width - 1)])
            .collect()
    };
    let rows: [Series; 5] = [
        ("sending", |s| s.sending as f64),
        ("seen", |s| s.seen_sessions.unwrap_or(0.0)),
        ("pending", |s| s.pending as f64),
        ("running", |s| s.running as f64),
        ("nodes", |s| s.nodes as f64),
    ];
    const BLOCKS: [char; 9] = [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let mut out = String::from("Chart (sessions sending and seen by Prometheus, pods, nodes)\n");
    for (name, f) in rows.iter() {
        let values: Vec<f64> = picked.iter().map(|s| f(s)).collect();
        let max = values.iter().copied().fold(0.0f64, f64::max);
        let line: String = values
            .iter()
            .map(|v| {
                if max <= 0.0 {
                    BLOCKS[0]
                } else {
                    BLOCKS[((v / max) * 8.0).round().clamp(0.0, 8.0) as usize]
                }
            })
            .collect();
        let _ = writeln!(out, "  {name:<8}│{line}│ max {}", num(max));
    }
    let last = picked.last().map_or(0.0, |s| s.t);
    let _ = writeln!(
        out,
        "  {:<8} +0s{:>w$}",
        "",
        format!("+{}", secs(last)),
        w = picked.len().saturating_sub(1)
    );
    out
}

/// JUnit XML: one testsuite, one testcase per verdict.
pub fn junit(r: &TestReport) -> String {
    let failures = r
        .verdicts
        .iter()
        .filter(|v| v.outcome == Outcome::Fail)
        .count();
    let skipped = r
        .verdicts
        .iter()
        .filter(|v| matches!(v.outcome, Outcome::Skip | Outcome::NotJudged))
        .count();
    // The put-back is a testcase of its own: an error when it failed.
    let errors = r.scale.as_ref().map_or(0, |sc| usize::from(!sc.restored));
    let tests = r.verdicts.len() + usize::from(r.scale.is_some());
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        s,
        "<testsuites name=\"kubectl spice test\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\" time=\"{t}\">",
        t = r.elapsed_seconds
    );
    let _ = writeln!(
        s,
        "  <testsuite name=\"spice.test.{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\" time=\"{}\" timestamp=\"{}\">",
        r.test.name(),
        r.elapsed_seconds,
        r.started_at
    );
    for v in &r.verdicts {
        let _ = write!(
            s,
            "    <testcase classname=\"spice.test.{}\" name=\"{}\">",
            r.test.name(),
            xml(&format!("{}: {}", v.id, v.expect))
        );
        match v.outcome {
            Outcome::Pass => {}
            Outcome::Fail => {
                let _ = write!(
                    s,
                    "<failure message=\"{}\">{}</failure>",
                    xml(&v.message),
                    xml(&failure_body(v))
                );
            }
            Outcome::Skip | Outcome::NotJudged => {
                let _ = write!(s, "<skipped message=\"{}\"/>", xml(&v.message));
            }
        }
        s.push_str("</testcase>\n");
    }
    if let Some(sc) = &r.scale {
        let _ = write!(
            s,
            "    <testcase classname=\"spice.test.{}\" name=\"{}\">",
            r.test.name(),
            xml(&format!(
                "scale.put-back: {} {}/{} is put back to {} replicas",
                sc.workload().0,
                sc.namespace,
                sc.workload().1,
                sc.from
            ))
        );
        if let Some(failure) = sc.failure() {
            let _ = write!(
                s,
                "<error message=\"{}\">{}</error>",
                xml(&failure),
                xml(&format!("run: {}", sc.command.as_deref().unwrap_or("-")))
            );
        }
        s.push_str("</testcase>\n");
    }
    s.push_str("  </testsuite>\n</testsuites>\n");
    s
}

fn failure_body(v: &Verdict) -> String {
    let mut body = format!(
        "measured: {}\n{}",
        v.measured.as_deref().unwrap_or("-"),
        v.message
    );
    if let Some(rc) = &v.root_cause {
        let _ = write!(
            body,
            "\n{} ({}): {} {}",
            rc.label(),
            rc.symptom,
            rc.check.as_deref().unwrap_or("-"),
            rc.message
        );
        if let Some(f) = &rc.fix {
            let _ = write!(body, "\nfix: {f}");
        }
    }
    body
}

/// XML text: the five entities escaped, and characters XML 1.0 cannot hold
/// (most control characters) written as visible escapes instead.
fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in clean_keep_newlines(s).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

fn clean_keep_newlines(s: &str) -> String {
    s.split('\n').map(clean).collect::<Vec<_>>().join("\n")
}

/// Markdown for an incident or change ticket.
pub fn markdown(r: &TestReport) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "## kubectl spice test {}: {}\n",
        r.test.name(),
        result_word(r.result)
    );
    let _ = writeln!(
        s,
        "Context `{}`, namespace `{}`, started {}, {} elapsed. {} session(s) at {} req/s; {} requests, {} errors.\n",
        md(r.context.as_deref().unwrap_or("in-cluster")),
        md(&r.namespace),
        r.started_at,
        secs(r.elapsed_seconds),
        r.plan.sessions,
        num(r.plan.rate_per_session),
        r.sessions.requests,
        r.sessions.errors
    );
    s.push_str(
        "| Result | Verdict | Expectation | Measured | Root cause |\n|---|---|---|---|---|\n",
    );
    for v in &r.verdicts {
        let cause = v
            .root_cause
            .as_ref()
            .map(|rc| {
                format!(
                    "{}{}: {}",
                    if rc.warning_only {
                        "(warning only) "
                    } else {
                        ""
                    },
                    rc.check.as_deref().unwrap_or("none found"),
                    rc.message
                )
            })
            // No chain ran: why it failed or was not judged (the first
            // error, what blocked it, the source that could not be read).
            .or_else(|| (v.outcome != Outcome::Pass).then(|| v.message.clone()))
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "| {} {} | `{}` | {} | {} | {} |",
            v.outcome.mark(),
            v.outcome.word(),
            v.id,
            md(&v.expect),
            md(v.measured.as_deref().unwrap_or("-")),
            md(&cause)
        );
    }
    if let Some(sc) = &r.scale {
        match sc.failure() {
            None => {
                let _ = writeln!(
                    s,
                    "\n✓ {} `{}` scaled from {} to {} replicas for the test and put back to {}.",
                    if sc.statefulset.is_some() {
                        "StatefulSet"
                    } else {
                        "Deployment"
                    },
                    md(&format!("{}/{}", sc.namespace, sc.workload().1)),
                    sc.from,
                    sc.to,
                    sc.from
                );
            }
            Some(failure) => {
                let _ = writeln!(
                    s,
                    "\n**✗ Put-back failed**: {}. Run `{}`",
                    md(&failure),
                    clean(sc.command.as_deref().unwrap_or("-")).replace('`', "'")
                );
            }
        }
    }
    s.push_str("\n<details><summary>Timeline</summary>\n\n");
    for e in &r.events {
        let _ = writeln!(
            s,
            "- +{} {} {} {}",
            secs(e.t),
            e.event.words(),
            md(&e.object),
            md(&e.detail)
        );
    }
    s.push_str("\n</details>\n");
    s
}

/// Markdown table text: cleaned, one line, pipes and markup characters escaped.
fn md(s: &str) -> String {
    let mut out = String::new();
    for c in clean(&s.replace('\n', " ")).chars() {
        if matches!(c, '|' | '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The live progress line: elapsed / planned, sessions, pods by phase, nodes,
/// the next expectation and its deadline.
pub fn progress(
    elapsed: f64,
    planned: f64,
    sending: usize,
    c: &super::track::Counts,
    next: Option<&(String, f64)>,
) -> String {
    let next = next
        .map(|(what, by)| format!("  next: {what} (by +{})", secs(*by)))
        .unwrap_or_default();
    format!(
        "+{}/{}  sessions {sending}  pods: {} pending, {} running, {} ready, {} terminating  nodes {}{next}",
        secs(elapsed),
        secs(planned),
        c.pending,
        c.running,
        c.ready,
        c.terminating,
        c.nodes
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_escapes_control_and_bidi_characters() {
        assert_eq!(clean("ok\x1b[31mred"), "ok\\u001b[31mred");
        assert_eq!(clean("a\u{202E}b"), "a\\u202eb");
        assert_eq!(clean("line\nnext"), "line next");
        assert_eq!(clean("plain é"), "plain é");
    }

    #[test]
    fn xml_and_markdown_escape_their_markup() {
        assert_eq!(xml("a<b & \"c\"\x07"), "a&lt;b &amp; &quot;c&quot;\\u0007");
        assert_eq!(md("a|b `x`\nc"), "a\\|b \\`x\\` c");
    }

    #[test]
    fn the_chart_scales_each_row_to_its_maximum() {
        let samples: Vec<Sample> = (0..4)
            .map(|i| Sample {
                t: i as f64,
                sending: 1,
                seen_sessions: Some(i as f64 / 4.0),
                ratio: None,
                pending: 0,
                running: i,
                ready: i,
                nodes: 3,
            })
            .collect();
        let c = chart(&samples);
        assert!(c.contains("  sending │████│ max 1"), "{c}");
        assert!(c.contains("  running │ ▃▅█│ max 3"), "{c}");
        assert!(c.contains("  pending │    │ max 0"), "{c}");
    }
}
