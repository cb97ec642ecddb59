//! Property tests of the renderers: whatever text the cluster sends, the
//! human formats (through the writer every command uses) carry no control or
//! bidi character but the plugin's own SGR, Markdown stays inert, and JUnit
//! stays well-formed XML.

use super::diagnose::{DiagnoseReport, render_junit, render_markdown, render_table as diagnose};
use super::status::{StatusReport, render_table as status};
use super::text::{SafeWriter, is_unsafe};
use super::{Styles, write_data};
use crate::checks::testkit::{self, cond, event, pending_pod};
use crate::checks::{self, Selection};
use crate::settings::Settings;
use crate::snapshot::{GapReason, LogLine, Snapshot};
use proptest::prelude::*;
use std::io::Write;

const ESC: char = '\u{1b}';

/// Characters an attacker would pick, mixed with any character at all.
fn hostile() -> impl Strategy<Value = String> {
    let nasty = prop::sample::select(vec![
        '\u{1b}', '\u{7}', '\r', '\0', '\u{8}', '\u{7f}', '\u{9b}', '\u{85}', '\u{9d}', '\u{202e}',
        '\u{2066}', '\u{2069}', '\u{200f}', '\u{61c}', '\u{2028}', '\u{fffe}', '\u{ffff}',
        '\u{fdd0}', '\u{fdd1}', '<', '>', '&', '"', '\'', '[', ']', '(', ')', '|', '`', '\n', '\t',
        '\\', '*', '_', '#', ']',
    ]);
    let any_char = prop_oneof![3 => nasty, 1 => any::<char>(), 2 => prop::char::range('a', 'z')];
    prop::collection::vec(any_char, 0..24).prop_map(|cs| cs.into_iter().collect())
}

/// The healthy test snapshot with `t` in every place the cluster writes text.
fn snapshot_with(t: &str) -> Snapshot {
    let mut s = testkit::healthy();
    s.context = Some(format!("ctx{t}"));
    let mut stuck = pending_pod(&format!("spice-runner-{t}"), 300);
    stuck.scheduled = Some(cond("PodScheduled", "False", t, t));
    stuck.containers[0].message = Some(t.into());
    stuck.containers[0].waiting_reason = Some(t.into());
    stuck.node = Some(format!("node{t}"));
    s.pods.get_or_insert_default().push(stuck);
    if let Some(crate::snapshot::Lookup::Found(so)) = &mut s.scaled_object {
        so.conditions = vec![
            cond("Ready", "False", t, t),
            cond("Active", "Unknown", t, t),
        ];
    }
    for h in s.hpas.iter_mut().flatten() {
        h.conditions = vec![cond("ScalingActive", "False", t, t)];
        h.metrics[0].current = Some(t.into());
    }
    for n in s.nodes.iter_mut().flatten() {
        n.name = format!("{}{t}", n.name);
        n.ready = false;
    }
    let mut e = event("ScaledObject", "spice-runner-keda", "Warning", t, t, 30);
    e.source = Some(t.into());
    s.events = Some(vec![e]);
    s.operator_logs = Some(vec![LogLine {
        pod: "keda-operator".into(),
        line: format!("ERROR\tprometheus_scaler\t{t}\t{{\"ScaledObject\": \"spice-runner-keda\"}}"),
    }]);
    testkit::set_prom_error(&mut s, crate::domain::promql::NODES, t);
    if let Some(l) = &mut s.loki {
        l.error = Some(t.into());
    }
    testkit::gap(&mut s, "prometheus-rules", GapReason::Forbidden, t);
    s
}

/// Renders with `render` into the same writer `crate::run` wraps stdout in.
fn through_writer(render: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> String {
    let mut bytes = Vec::new();
    {
        let mut w = SafeWriter::new(&mut bytes);
        render(&mut w).expect("rendered");
        w.flush().expect("flushed");
    }
    String::from_utf8(bytes).expect("utf-8")
}

/// No unsafe character, and every ESC begins one of the plugin's SGR
/// sequences (`ESC [ digits/semicolons m`).
fn assert_terminal_safe(out: &str) {
    assert!(
        !out.chars().any(|c| is_unsafe(c) && c != '\u{1b}'),
        "unsafe character in {out:?}"
    );
    for (i, _) in out.match_indices('\u{1b}') {
        let rest = &out[i + 1..];
        let params: String = rest
            .chars()
            .skip(1)
            .take_while(|c| c.is_ascii_digit() || *c == ';')
            .collect();
        assert!(
            rest.starts_with('[') && rest[1 + params.len()..].starts_with('m'),
            "ESC that is not the plugin's SGR at {i} in {out:?}"
        );
    }
}

/// `md` without its code spans and fenced blocks (where text is inert), by
/// CommonMark's rule: a run of N backticks opens a span that the next run of
/// exactly N backticks closes.
fn outside_code_spans(md: &str) -> String {
    let mut out = String::new();
    let mut rest = md;
    while let Some(start) = rest.find('`') {
        out.push_str(&rest[..start]);
        // A backslash-escaped backtick (odd count of backslashes) is text.
        let slashes = out.chars().rev().take_while(|c| *c == '\\').count();
        if slashes % 2 == 1 {
            out.push('`');
            rest = &rest[start + 1..];
            continue;
        }
        let ticks = rest[start..].chars().take_while(|c| *c == '`').count();
        let body = &rest[start + ticks..];
        let mut close = None;
        let mut at = 0;
        while let Some(i) = body[at..].find('`') {
            let run = body[at + i..].chars().take_while(|c| *c == '`').count();
            if run == ticks {
                close = Some(at + i);
                break;
            }
            at += i + run;
        }
        match close {
            Some(i) => rest = &body[i + ticks..],
            None => {
                out.push_str(&rest[start..start + ticks]);
                rest = body;
            }
        }
    }
    out.push_str(rest);
    out
}

fn report(snap: &Snapshot) -> DiagnoseReport {
    let findings = checks::run(snap, &Settings::defaults(), &Selection::default());
    DiagnoseReport::build(snap, findings, None)
}

proptest! {
    // No regression files: a failure prints its minimal input, which becomes
    // a named unit test.
    #![proptest_config(ProptestConfig {
        cases: 48,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn status_and_diagnose_text_never_carry_foreign_controls(t in hostile(), color: bool, wide: bool) {
        let snap = snapshot_with(&t);
        let settings = Settings::defaults();
        let st = Styles { color };
        let r = StatusReport::build(&snap, &settings);
        let out = through_writer(|w| status(w, &r, &snap, &settings, &st, wide));
        assert_terminal_safe(&out);
        prop_assert!(color || !out.contains(ESC), "colour off, ESC in {}", out);
        let out = through_writer(|w| diagnose(w, &report(&snap), "spice-runner", &st, wide));
        assert_terminal_safe(&out);
        prop_assert!(color || !out.contains(ESC), "colour off, ESC in {}", out);
    }

    #[test]
    fn markdown_is_inert_and_keeps_its_table(t in hostile()) {
        let snap = snapshot_with(&t);
        let r = report(&snap);
        let out = through_writer(|w| render_markdown(w, &r, &format!("dep{t}")));
        assert_terminal_safe(&out);
        prop_assert!(!out.contains(ESC), "ESC in {}", out);
        // The plugin's Markdown has no HTML and no links of its own, so any
        // `<` or unescaped `[` would have come from the cluster.
        let prose = outside_code_spans(&out);
        prop_assert!(!prose.contains('<'), "{}", out);
        let unescaped_bracket = prose
            .match_indices('[')
            .any(|(i, _)| !prose[..i].ends_with('\\'));
        prop_assert!(!unescaped_bracket, "{}", out);
        // Every row of the checks table has exactly its four cell borders.
        let rows: Vec<&str> = out.lines().filter(|l| l.starts_with("| ")).collect();
        prop_assert_eq!(rows.len(), r.checks.len() + 1);
        for row in rows {
            let borders = row
                .match_indices('|')
                .filter(|(i, _)| !row[..*i].ends_with('\\'))
                .count();
            prop_assert_eq!(borders, 4, "{}", row);
        }
    }

    #[test]
    fn junit_is_always_well_formed_xml(t in hostile(), warn_fails: bool) {
        let snap = snapshot_with(&t);
        let mut r = report(&snap);
        // Hostile text in the fields the cluster never fills, too.
        for f in &mut r.checks {
            f.evidence.push(t.clone());
            f.id = format!("{}{t}", f.id);
        }
        let mut raw = Vec::new();
        render_junit(&mut raw, &r, warn_fails).expect("rendered");
        let raw = String::from_utf8(raw).expect("utf-8");
        let doc = roxmltree::Document::parse(&raw);
        prop_assert!(doc.is_ok(), "{:?}\n{}", doc.err(), raw);
        let cases = doc
            .expect("parsed")
            .descendants()
            .filter(|n| n.has_tag_name("testcase"))
            .count();
        prop_assert_eq!(cases, r.checks.len());
        let written = through_writer(|w| render_junit(w, &r, warn_fails));
        prop_assert!(roxmltree::Document::parse(&written).is_ok());
    }

    #[test]
    fn json_through_the_writer_is_the_same_data(t in hostile()) {
        let snap = snapshot_with(&t);
        let written = through_writer(|w| write_data(w, &snap, crate::report::Output::Json));
        assert_terminal_safe(&written);
        let back: serde_json::Value = serde_json::from_str(&written).expect("json");
        prop_assert_eq!(back, serde_json::to_value(&snap).expect("value"));
    }
}

/// The issue's own examples, named after what broke.
mod regressions {
    use super::*;

    fn one_message(message: &str) -> DiagnoseReport {
        let mut r = report(&testkit::healthy());
        r.checks[0].outcome = crate::checks::Outcome::Fail;
        r.checks[0].message = message.into();
        r
    }

    #[test]
    fn u_fffe_and_u_ffff_no_longer_make_junit_unparseable() {
        let r = one_message("bad \u{fffe} and \u{ffff} and \u{1}");
        let mut out = Vec::new();
        render_junit(&mut out, &r, false).expect("rendered");
        let xml = String::from_utf8(out).expect("utf-8");
        let doc = roxmltree::Document::parse(&xml).expect("well-formed");
        let failure = doc
            .descendants()
            .find(|n| n.has_tag_name("failure"))
            .expect("a failure");
        assert_eq!(
            failure.attribute("message"),
            Some("bad \\ufffe and \\uffff and \\u0001")
        );
    }

    #[test]
    fn markdown_shows_raw_html_and_javascript_links_as_text() {
        let r = one_message("<img src=x onerror=alert(1)> [x](javascript:alert(1)) a|b\nc");
        let mut out = Vec::new();
        render_markdown(&mut out, &r, "spice-runner").expect("rendered");
        let md = String::from_utf8(out).expect("utf-8");
        assert!(
            md.contains("&lt;img src=x onerror=alert(1)&gt; \\[x\\](javascript:alert(1)) a\\|b c"),
            "{md}"
        );
    }

    #[test]
    fn a_report_failing_only_on_an_alert_says_so_and_names_no_root_cause() {
        let mut snap = testkit::healthy();
        testkit::set_prom(
            &mut snap,
            crate::domain::promql::ALERT_RATIO_NOW,
            Some(0.67),
        );
        testkit::set_prom(
            &mut snap,
            crate::domain::promql::ALERT_RATIO_FOR,
            Some(10.0),
        );
        let r = report(&snap);
        assert_eq!(r.summary.fail, 1, "{:?}", r.summary);
        assert_eq!(r.root_cause, None);
        let text = through_writer(|w| diagnose(w, &r, "spice-runner", &Styles::plain(), false));
        assert!(
            text.contains(
                "✗ no link of the scaling chain fails, but alerts.pod-session-ratio does"
            ),
            "{text}"
        );
        assert!(
            !text.contains("nothing failed") && !text.contains("ROOT CAUSE"),
            "{text}"
        );
        let md = through_writer(|w| render_markdown(w, &r, "spice-runner"));
        assert!(
            md.contains(
                "**No link of the scaling chain fails,** but alerts.pod-session-ratio does"
            ),
            "{md}"
        );
        assert!(!md.contains("No check failed"), "{md}");
    }

    #[test]
    fn an_unread_pod_list_makes_the_report_incomplete_and_names_it_never_nothing_failed() {
        let mut snap = testkit::healthy();
        snap.pods = None;
        testkit::gap(
            &mut snap,
            "pods",
            GapReason::Error,
            "the server has received a request it could not handle",
        );
        let r = report(&snap);
        assert_eq!(r.summary.fail, 0, "{:?}", r.summary);
        assert!(r.summary.incomplete);
        assert_eq!(r.summary.unread_sources.len(), 1, "{:?}", r.summary);
        let pods = &r.summary.unread_sources[0];
        assert_eq!(
            (pods.source.as_str(), pods.reason.as_str()),
            ("pods", "error")
        );
        assert!(
            pods.checks.contains(&"pods.crashloop".to_string()),
            "{pods:?}"
        );
        let errors = r
            .checks
            .iter()
            .filter(|f| f.outcome == checks::Outcome::Error)
            .count();
        let blocked = r
            .checks
            .iter()
            .filter(|f| {
                f.blocked_by
                    .as_deref()
                    .is_some_and(|b| pods.checks.iter().any(|c| c == b))
            })
            .count();
        assert_eq!(r.summary.could_not_run, errors + blocked);
        assert_eq!(pods.checks.len(), r.summary.could_not_run);
        let text = through_writer(|w| diagnose(w, &r, "spice-runner", &Styles::plain(), false));
        let head = text.lines().nth(2).unwrap_or_default();
        assert!(
            head.starts_with(&format!(
                "INCOMPLETE: {} checks could not run (1 source could not be read); nothing that was read failed",
                r.summary.could_not_run
            )),
            "{text}"
        );
        assert!(
            text.contains("? pods (error): the server has received"),
            "{text}"
        );
        assert!(
            !text.contains("nothing failed;") && !text.contains("healthy"),
            "{text}"
        );
        let json = serde_json::to_value(&r).expect("json");
        assert_eq!(json["summary"]["incomplete"], true);
        assert_eq!(json["summary"]["unreadSources"][0]["source"], "pods");
        let crashloop = json["checks"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["id"] == "pods.crashloop"))
            .expect("pods.crashloop");
        assert_eq!(crashloop["unreadSource"], "pods");

        // Healthy: complete, and none of the new fields claim otherwise.
        let r = report(&testkit::healthy());
        assert!(!r.summary.incomplete && r.summary.unread_sources.is_empty());
        assert!(r.incomplete_line().is_none());
    }
}
