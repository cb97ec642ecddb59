//! The `diagnose` report: findings grouped by area, the root cause first,
//! rendered as a table, JSON/YAML, JUnit (for CI) or Markdown (for an incident).

use super::Styles;
use super::text::{is_unsafe, neutralise};
use crate::checks::{Area, Finding, Outcome, root_cause};
use crate::domain::text::one_line;
use crate::snapshot::{API_VERSION, Gap, Snapshot};
use serde::Serialize;
use std::io::{self, Write};

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DiagnoseReport {
    pub api_version: String,
    pub kind: String,
    pub captured_at: jiff::Timestamp,
    pub context: Option<String>,
    pub namespace: String,
    pub symptom: Option<String>,
    /// Which KEDA, Prometheus and Loki were read, and how each was found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_from: Option<String>,
    pub summary: Summary,
    /// The first failing link of the chain (a check id), or null.
    pub root_cause: Option<String>,
    pub checks: Vec<Finding>,
    pub gaps: Vec<Gap>,
    /// Set when the snapshot is a replay (`--from FILE`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replay: Option<super::replay::Replay>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub pass: usize,
    pub warn: usize,
    pub fail: usize,
    pub skip: usize,
    pub error: usize,
    /// fail if any check failed, else warn if any warned, else pass.
    pub outcome: Outcome,
    /// Some checks could not run because a source that exists could not be
    /// read (a check in `error`): the run is no pass whatever `outcome` says,
    /// and exits 3 unless a check failed.
    pub incomplete: bool,
    /// The checks in `error` and the checks they blocked.
    pub could_not_run: usize,
    /// Each source that could not be read, with why and the checks it kept
    /// from running (empty when nothing is incomplete).
    pub unread_sources: Vec<UnreadSource>,
}

/// A source that exists but could not be read, and what it kept from running.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct UnreadSource {
    /// The gap's source (`pods`, `prometheus`, …), or the check's id when a
    /// check could not judge for a reason of its own.
    pub source: String,
    /// `forbidden`, `unreachable`, `timed out`, `unauthorized`, `error`, …
    pub reason: String,
    /// One line: what went wrong.
    pub message: String,
    /// One line: what to do about it (empty when there is nothing to say).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub hint: String,
    /// The checks in `error` on this source and the checks they blocked.
    pub checks: Vec<String>,
}

/// The sources the `error` findings could not read, in the order of the
/// first check that needed each, and how many checks could not run.
fn unread_sources(snap: &Snapshot, findings: &[Finding]) -> (usize, Vec<UnreadSource>) {
    let mut sources: Vec<UnreadSource> = Vec::new();
    let mut could_not_run = 0;
    for f in findings.iter().filter(|f| f.outcome == Outcome::Error) {
        let blocked = findings
            .iter()
            .filter(|b| b.outcome == Outcome::Skip && b.blocked_by.as_deref() == Some(&f.id))
            .map(|b| b.id.clone());
        let mut checks = vec![f.id.clone()];
        checks.extend(blocked);
        could_not_run += checks.len();
        let source = f.unread_source.clone().unwrap_or_else(|| f.id.clone());
        if let Some(known) = sources.iter_mut().find(|s| s.source == source) {
            known.checks.extend(checks);
            continue;
        }
        let gap = f.unread_source.as_deref().and_then(|src| snap.gap(src));
        let hint = f
            .remediation
            .as_ref()
            .and_then(|r| r.fix.clone())
            .unwrap_or_default();
        sources.push(match gap {
            Some(g) => UnreadSource {
                source,
                reason: g.reason.to_string(),
                message: one_line(&g.message).into_owned(),
                hint: if g.hint.is_empty() {
                    hint
                } else {
                    one_line(&g.hint).into_owned()
                },
                checks,
            },
            None => UnreadSource {
                source,
                reason: "error".into(),
                message: f.message.clone(),
                hint,
                checks,
            },
        });
    }
    (could_not_run, sources)
}

impl DiagnoseReport {
    pub fn build(snap: &Snapshot, findings: Vec<Finding>, symptom: Option<&str>) -> DiagnoseReport {
        let count = |o: Outcome| findings.iter().filter(|f| f.outcome == o).count();
        let (pass, warn, fail, skip, error) = (
            count(Outcome::Pass),
            count(Outcome::Warn),
            count(Outcome::Fail),
            count(Outcome::Skip),
            count(Outcome::Error),
        );
        let outcome = if fail > 0 {
            Outcome::Fail
        } else if warn > 0 {
            Outcome::Warn
        } else {
            Outcome::Pass
        };
        let (could_not_run, unread_sources) = unread_sources(snap, &findings);
        let mut gaps = snap.gaps.clone();
        gaps.sort_by(|a, b| a.source.cmp(&b.source));
        DiagnoseReport {
            api_version: API_VERSION.into(),
            kind: "DiagnoseReport".into(),
            captured_at: snap.captured_at,
            context: snap.context.clone(),
            namespace: snap.namespace.clone(),
            symptom: symptom.map(str::to_string),
            read_from: super::sources::read_from(snap, true),
            summary: Summary {
                pass,
                warn,
                fail,
                skip,
                error,
                outcome,
                incomplete: error > 0,
                could_not_run,
                unread_sources,
            },
            root_cause: root_cause(&findings).map(|f| f.id.clone()),
            checks: findings,
            gaps,
            replay: None,
        }
    }

    fn find(&self, id: &str) -> Option<&Finding> {
        self.checks.iter().find(|f| f.id == id)
    }

    pub fn summary_line(&self) -> String {
        let s = &self.summary;
        let incomplete = if s.incomplete {
            format!(" · INCOMPLETE: {} could not run", s.could_not_run)
        } else {
            String::new()
        };
        format!(
            "{} checks: {} pass, {} warn, {} fail, {} skip, {} error{incomplete}",
            self.checks.len(),
            s.pass,
            s.warn,
            s.fail,
            s.skip,
            s.error
        )
    }

    /// `INCOMPLETE: N checks could not run`, the headline of a run that could
    /// not look everywhere (with `nothing that was read failed` when true).
    pub fn incomplete_line(&self) -> Option<String> {
        let s = &self.summary;
        if !s.incomplete {
            return None;
        }
        let n = s.could_not_run;
        let checks = if n == 1 { "check" } else { "checks" };
        let sources = s.unread_sources.len();
        let tail = if s.fail > 0 {
            String::new()
        } else {
            "; nothing that was read failed".to_string()
        };
        Some(format!(
            "INCOMPLETE: {n} {checks} could not run ({sources} source{} could not be read){tail}",
            if sources == 1 { "" } else { "s" }
        ))
    }
}

fn styled(st: &Styles, o: Outcome, text: &str) -> String {
    match o {
        Outcome::Pass => st.good(text),
        Outcome::Warn => st.warn(text),
        Outcome::Fail => st.bad(text),
        Outcome::Skip => st.dim(text),
        Outcome::Error => st.warn(text),
    }
}

fn badge(st: &Styles, o: Outcome) -> String {
    styled(st, o, &format!("{} {:<5}", o.mark(), o.word()))
}

/// The ids of the failing checks, for a report whose failures are none of
/// them a link of the chain (see `checks::root_cause`).
fn failing(r: &DiagnoseReport) -> String {
    let ids: Vec<&str> = r
        .checks
        .iter()
        .filter(|f| f.outcome == Outcome::Fail)
        .map(|f| f.id.as_str())
        .collect();
    ids.join(", ")
}

fn remediation(out: &mut dyn Write, st: &Styles, f: &Finding, indent: &str) -> io::Result<()> {
    if let Some(r) = &f.remediation {
        if let Some(fix) = &r.fix {
            writeln!(out, "{indent}{} {fix}", st.bold("fix:"))?;
        }
        if let Some(cmd) = &r.command {
            writeln!(out, "{indent}{} {cmd}", st.bold("look:"))?;
        }
    }
    Ok(())
}

/// The human report. `wide` shows evidence for every check, not just problems.
pub fn render_table(
    out: &mut dyn Write,
    r: &DiagnoseReport,
    deployment: &str,
    st: &Styles,
    wide: bool,
) -> io::Result<()> {
    let when = r.captured_at.strftime("%Y-%m-%d %H:%M:%S UTC");
    if let Some(replay) = &r.replay {
        writeln!(out, "{}", st.warn(&replay.line()))?;
    }
    writeln!(
        out,
        "{} in namespace {} · context {} · {}{}",
        st.bold(deployment),
        st.bold(&r.namespace),
        r.context.as_deref().unwrap_or("in-cluster"),
        st.dim(&when.to_string()),
        r.symptom
            .as_ref()
            .map(|s| format!(" · symptom {s}"))
            .unwrap_or_default()
    )?;
    if let Some(line) = &r.read_from {
        writeln!(out, "{}", st.dim(line))?;
    }
    writeln!(out)?;
    match r.root_cause.as_deref().and_then(|id| r.find(id)) {
        Some(f) => {
            writeln!(
                out,
                "{} {} {}",
                st.bad("ROOT CAUSE"),
                st.bad(&format!("✗ {}", f.id)),
                f.message
            )?;
            for e in super::evidence::arrange(&f.evidence).iter().take(3) {
                writeln!(out, "  {}", st.dim(e))?;
            }
            remediation(out, st, f, "  ")?;
            let blocked: Vec<&str> = r
                .checks
                .iter()
                .filter(|c| c.blocked_by.as_deref() == Some(f.id.as_str()))
                .map(|c| c.id.as_str())
                .collect();
            if !blocked.is_empty() {
                writeln!(
                    out,
                    "  {}",
                    st.dim(&format!("blocks: {}", blocked.join(", ")))
                )?;
            }
        }
        None if r.summary.fail > 0 => {
            writeln!(
                out,
                "{}",
                st.bad(&format!(
                    "✗ no link of the scaling chain fails, but {} does: an alert restates a symptom, see it below",
                    failing(r)
                ))
            )?;
        }
        // An incomplete run says so below, never that nothing failed.
        None if r.summary.incomplete => {}
        None if r.summary.warn == 0 => {
            writeln!(out, "{}", st.good("✓ pod-per-session scaling is healthy"))?;
        }
        None => writeln!(
            out,
            "{}",
            st.warn("! nothing failed; see the warnings below")
        )?,
    }
    if let Some(line) = r.incomplete_line() {
        if r.summary.fail > 0 {
            writeln!(out)?;
        }
        writeln!(out, "{}", st.warn(&line))?;
        for u in &r.summary.unread_sources {
            writeln!(
                out,
                "  {} {} ({}): {}",
                st.warn(Outcome::Error.mark()),
                st.bold(&u.source),
                u.reason,
                u.message
            )?;
            writeln!(
                out,
                "    {}",
                st.dim(&format!("checks: {}", u.checks.join(", ")))
            )?;
            if !u.hint.is_empty() {
                writeln!(out, "    {} {}", st.bold("fix:"), u.hint)?;
            }
        }
    }
    let id_width = r.checks.iter().map(|f| f.id.len()).max().unwrap_or(10) + 2;
    // A symptom's chain reads top to bottom in the runbook's order; the full
    // report is grouped by area.
    let groups: Vec<(String, Vec<&Finding>)> = match &r.symptom {
        Some(symptom) => vec![(
            format!("CHAIN {symptom} (runbook order)"),
            r.checks.iter().collect(),
        )],
        None => Area::ALL
            .iter()
            .map(|a| {
                (
                    a.title().to_uppercase(),
                    r.checks.iter().filter(|f| f.area == *a).collect(),
                )
            })
            .collect(),
    };
    for (title, in_group) in groups {
        if in_group.is_empty() {
            continue;
        }
        writeln!(out)?;
        writeln!(out, "{}", st.bold(&title))?;
        for f in in_group {
            writeln!(
                out,
                "  {} {:<id_width$}{}",
                badge(st, f.outcome),
                f.id,
                f.message
            )?;
            let indent = " ".repeat(2 + 8 + id_width);
            let problem = matches!(f.outcome, Outcome::Warn | Outcome::Fail | Outcome::Error);
            if wide || problem {
                let max = if wide { usize::MAX } else { 3 };
                // Grouped and ranked first: the cut never hides a cause
                // behind repeats of its symptom.
                let evidence = super::evidence::arrange(&f.evidence);
                for e in evidence.iter().take(max) {
                    writeln!(out, "{indent}{}", st.dim(e))?;
                }
                if evidence.len() > max {
                    writeln!(
                        out,
                        "{indent}{}",
                        st.dim(&format!("… {} more (-o wide)", evidence.len() - max))
                    )?;
                }
                if Some(f.id.as_str()) != r.root_cause.as_deref() {
                    remediation(out, st, f, &indent)?;
                }
            }
        }
    }
    writeln!(out)?;
    writeln!(out, "{}", styled(st, r.summary.outcome, &r.summary_line()))?;
    Ok(())
}

/// `s` with the characters both XML and HTML (inside Markdown) read as
/// markup turned into entities, and every other character written by `other`.
fn escape(s: &str, other: impl Fn(char, &mut String)) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => other(c, &mut out),
        }
    }
    out
}

/// Text for an XML element or attribute. Markup characters and quotes
/// become entities, and every character XML 1.0 forbids (C0 controls,
/// U+FFFE, U+FFFF) or a terminal would act on is shown as `\uXXXX`, never
/// dropped. Newline and tab stay: element text keeps them as they are, and
/// the only multi-line attribute values (messages) read well enough with
/// them folded to spaces, as XML does.
fn xml_escape(s: &str) -> String {
    escape(s, |c, out| match c {
        '"' => out.push_str("&quot;"),
        '\'' => out.push_str("&apos;"),
        c if is_unsafe(c) => out.push_str(&neutralise(c.encode_utf8(&mut [0; 4]))),
        c => out.push(c),
    })
}

/// JUnit XML: one testsuite per area, one testcase per check. fail →
/// `<failure>`, error → `<error>`, skip → `<skipped>`; warn is a failure only
/// with `--fail-on warn`.
pub fn render_junit(out: &mut dyn Write, r: &DiagnoseReport, warn_fails: bool) -> io::Result<()> {
    let failing =
        |f: &Finding| f.outcome == Outcome::Fail || (warn_fails && f.outcome == Outcome::Warn);
    let failures = r.checks.iter().filter(|f| failing(f)).count();
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        out,
        r#"<testsuites name="kubectl-spice diagnose" tests="{}" failures="{failures}" errors="{}" skipped="{}">"#,
        r.checks.len(),
        r.summary.error,
        r.summary.skip
    )?;
    for area in Area::ALL {
        let cases: Vec<&Finding> = r.checks.iter().filter(|f| f.area == area).collect();
        if cases.is_empty() {
            continue;
        }
        writeln!(
            out,
            r#"  <testsuite name="{}" tests="{}" failures="{}" errors="{}" skipped="{}" timestamp="{}">"#,
            xml_escape(area.title()),
            cases.len(),
            cases.iter().filter(|f| failing(f)).count(),
            cases.iter().filter(|f| f.outcome == Outcome::Error).count(),
            cases.iter().filter(|f| f.outcome == Outcome::Skip).count(),
            r.captured_at
        )?;
        if let Some(replay) = &r.replay {
            writeln!(
                out,
                r#"    <properties><property name="replay" value="{}"/></properties>"#,
                xml_escape(&replay.line())
            )?;
        }
        for f in cases {
            let class = f.id.split('.').next().unwrap_or("spice");
            write!(
                out,
                r#"    <testcase classname="spice.{}" name="{}""#,
                xml_escape(class),
                xml_escape(&f.id)
            )?;
            let mut body = f.evidence.join("\n");
            if let Some(rem) = &f.remediation {
                for (label, v) in [("fix", &rem.fix), ("look", &rem.command)] {
                    if let Some(v) = v {
                        body.push_str(&format!("\n{label}: {v}"));
                    }
                }
            }
            let msg = xml_escape(&f.message);
            match f.outcome {
                _ if failing(f) => {
                    writeln!(out, ">")?;
                    writeln!(
                        out,
                        r#"      <failure message="{msg}" type="{}">{}</failure>"#,
                        f.outcome.word(),
                        xml_escape(body.trim())
                    )?;
                    writeln!(out, "    </testcase>")?;
                }
                Outcome::Error => {
                    writeln!(out, ">")?;
                    writeln!(
                        out,
                        r#"      <error message="{msg}">{}</error>"#,
                        xml_escape(body.trim())
                    )?;
                    writeln!(out, "    </testcase>")?;
                }
                Outcome::Skip => {
                    writeln!(out, ">")?;
                    writeln!(out, r#"      <skipped message="{msg}"/>"#)?;
                    writeln!(out, "    </testcase>")?;
                }
                _ => {
                    writeln!(out, ">")?;
                    writeln!(
                        out,
                        "      <system-out>{}: {msg}</system-out>",
                        f.outcome.word()
                    )?;
                    writeln!(out, "    </testcase>")?;
                }
            }
        }
        writeln!(out, "  </testsuite>")?;
    }
    writeln!(out, "</testsuites>")
}

/// Untrusted text as inert Markdown that also fits in a table cell: HTML
/// becomes entities (so `<img src=…>` is shown, not loaded), every
/// punctuation character Markdown acts on is backslash-escaped (so
/// `[x](javascript:…)` is no link and `|` does not split a cell), and a
/// line break becomes a space.
fn md_text(s: &str) -> String {
    escape(s, |c, out| match c {
        '\n' => out.push(' '),
        '\\' | '`' | '*' | '_' | '[' | ']' | '#' | '|' | '!' | '~' => {
            out.push('\\');
            out.push(c);
        }
        c => out.push(c),
    })
}

/// The longest run of `mark` in `s`.
fn longest_run(s: &str, mark: char) -> usize {
    s.split(|c| c != mark).map(str::len).max().unwrap_or(0)
}

/// `s` as a code span: the delimiter is one backtick longer than any run
/// inside, so the text cannot close it early; a line break becomes a space.
fn md_code(s: &str) -> String {
    let ticks = "`".repeat(longest_run(s, '`') + 1);
    let body = s.replace(['\n', '\r'], " ");
    let pad = if body.starts_with('`') || body.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{ticks}{pad}{body}{pad}{ticks}")
}

/// `s` as a fenced code block whose fence no line inside can close.
fn md_fence(s: &str, lang: &str) -> String {
    let fence = "`".repeat(longest_run(s, '`').max(2) + 1);
    format!("{fence}{lang}\n{s}\n{fence}")
}

/// Markdown to paste into an incident channel or document.
pub fn render_markdown(
    out: &mut dyn Write,
    r: &DiagnoseReport,
    deployment: &str,
) -> io::Result<()> {
    if let Some(replay) = &r.replay {
        writeln!(out, "> **{}**", md_text(&replay.line()))?;
        writeln!(out)?;
    }
    writeln!(
        out,
        "### kubectl spice diagnose: {} in {} (context {}, {})",
        md_text(deployment),
        md_code(&r.namespace),
        md_code(r.context.as_deref().unwrap_or("in-cluster")),
        r.captured_at.strftime("%Y-%m-%d %H:%M:%S UTC")
    )?;
    writeln!(out)?;
    match r.root_cause.as_deref().and_then(|id| r.find(id)) {
        Some(f) => {
            writeln!(
                out,
                "**Root cause:** {}: {}",
                md_code(&f.id),
                md_text(&f.message)
            )?;
            if let Some(rem) = &f.remediation {
                if let Some(fix) = &rem.fix {
                    writeln!(out, "\n**Fix:** {}", md_text(fix))?;
                }
                if let Some(cmd) = &rem.command {
                    writeln!(out, "\n{}", md_fence(cmd, "sh"))?;
                }
            }
        }
        None if r.summary.fail > 0 => writeln!(
            out,
            "**No link of the scaling chain fails,** but {} does: an alert restates a symptom.",
            md_text(&failing(r))
        )?,
        None if r.summary.incomplete => {}
        None => writeln!(out, "**No check failed.**")?,
    }
    if let Some(line) = r.incomplete_line() {
        writeln!(out, "\n**{}**\n", md_text(&line))?;
        for u in &r.summary.unread_sources {
            writeln!(
                out,
                "- {} ({}): {}; checks {}{}",
                md_code(&u.source),
                md_text(&u.reason),
                md_text(&u.message),
                md_text(&u.checks.join(", ")),
                if u.hint.is_empty() {
                    String::new()
                } else {
                    format!(". Fix: {}", md_text(&u.hint))
                }
            )?;
        }
    }
    writeln!(out)?;
    writeln!(out, "| | check | result |")?;
    writeln!(out, "|---|---|---|")?;
    for f in &r.checks {
        writeln!(
            out,
            "| {} {} | {} | {} |",
            f.outcome.mark(),
            f.outcome.word(),
            md_code(&f.id.replace('|', "\\|")),
            md_text(&f.message)
        )?;
    }
    writeln!(out)?;
    writeln!(out, "{}", r.summary_line())
}
