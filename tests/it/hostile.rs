//! Issue 10, items 1 and 7, end to end: one scenario full of hostile text
//! (`tests/scenarios/hostile`), a hostile kube context name, a Loki that
//! rejects queries with hostile text, and a hostile snapshot file, run through
//! every command and output format of the real binary. Each run must exit
//! with its contract's code, never panic, print a bounded amount, and let no
//! control or bidi character reach the terminal except, with `--color
//! always`, the plugin's own SGR sequences. JSON, YAML and JUnit must parse,
//! Markdown must stay inert, and the hostile text must still be shown.

use crate::support::loki::{FakeLoki, LokiConfig};
use crate::support::spice::{Cluster, Run};
use serde_json::Value;

/// No run prints more than this (the scenario's text is a few kilobytes).
const MAX_OUTPUT: usize = 512 * 1024;

/// The same hostile text the scenario files carry, for the channels a test
/// fills itself. It starts with `[tag]`, so a test can find where it went.
fn hostile(tag: &str) -> String {
    format!(
        "[{tag}] \u{1b}[2J\u{1b}[H\u{1b}]0;owned-{tag}\u{7}\u{1b}]8;;https://attacker.invalid/\u{1b}\\click\u{1b}]8;;\u{1b}\\\
         \u{1b}]52;c;Y3VybCBhdHRhY2tlcg==\u{7}\r\u{0}\u{8}\u{7f}\u{9b}31m\u{85}\u{202e}gnp.exe\u{2066}x\u{2069}\u{200f}\u{61c}\u{2028}\u{fffe}\u{ffff}\
         \u{fdd0} <img src=x onerror=alert(1)> [x](javascript:alert(1)) | cell | ```"
    )
}

/// What must never reach a terminal raw. Written out here, independently of
/// the plugin's own list, so the test is an oracle and not a mirror.
fn forbidden(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{8}' | '\u{b}'..='\u{1f}' | '\u{7f}'..='\u{9f}'
        | '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        | '\u{fdd0}'..='\u{fdef}' | '\u{fffe}' | '\u{ffff}')
}

/// Exit code, no panic, bounded size, and no forbidden character in stdout
/// or stderr except ESC starting an SGR sequence on a coloured stdout.
fn assert_safe(what: &str, run: &Run, code: i32, color: bool) {
    assert_eq!(run.code, code, "{what}: exit code\nstderr: {}", run.stderr);
    assert!(
        !run.stderr.contains("panicked"),
        "{what}: panic\n{}",
        run.stderr
    );
    let size = run.stdout.len() + run.stderr.len();
    assert!(size < MAX_OUTPUT, "{what}: {size} bytes of output");
    for (stream, text, may_colour) in [
        ("stdout", &run.stdout, color),
        ("stderr", &run.stderr, false),
    ] {
        for (i, c) in text.char_indices().filter(|(_, c)| forbidden(*c)) {
            let sgr = c == '\u{1b}' && may_colour && is_sgr(&text[i + 1..]);
            assert!(
                sgr,
                "{what}: raw U+{:04X} on {stream} at {i}: {:?}",
                c as u32,
                &text[i.saturating_sub(40)..(i + 40).min(text.len())]
            );
        }
    }
}

/// `[` digits and semicolons `m`: what follows the ESC of an SGR sequence.
fn is_sgr(after_esc: &str) -> bool {
    let Some(rest) = after_esc.strip_prefix('[') else {
        return false;
    };
    let params = rest
        .find(|c: char| !(c.is_ascii_digit() || c == ';'))
        .unwrap_or(rest.len());
    rest[params..].starts_with('m')
}

/// The kubeconfig with the context renamed to hostile text (a kubeconfig
/// handed over by a colleague is a file the plugin did not write).
fn hostile_context(c: &Cluster) -> String {
    let name = "sim\u{1b}]0;ctx\u{7}\u{202e}\u{9b}2J";
    // A YAML double-quoted scalar spells every control as an escape.
    let escaped: String = name
        .chars()
        .map(|c| match c {
            '"' | '\\' => format!("\\{c}"),
            c if forbidden(c) => format!("\\u{:04x}", c as u32),
            c => c.to_string(),
        })
        .collect();
    let quoted = format!("\"{escaped}\"");
    let text = std::fs::read_to_string(&c.kubeconfig).expect("kubeconfig");
    let text = text
        .replace(
            "- name: sim\n  context:",
            &format!("- name: {quoted}\n  context:"),
        )
        .replace(
            "current-context: sim",
            &format!("current-context: {quoted}"),
        );
    std::fs::write(&c.kubeconfig, text).expect("write kubeconfig");
    name.to_string()
}

/// No line starts with the fake summary or the fake passing check that the
/// scenario's messages carry after a newline (ignoring indentation and a
/// Markdown table's leading pipe).
fn no_forged_lines(what: &str, stdout: &str) {
    for line in stdout.lines() {
        let start = line.trim_start_matches(|c: char| c.is_whitespace() || c == '|');
        let forged = start.starts_with("37 checks: 37 pass, 0 warn, 0 fail")
            || (start.starts_with("✓ pass") && line.contains("keda.forged"));
        assert!(!forged, "{what}: a forged line:\n{line}\n\n{stdout}");
    }
}

/// Every tag that reached the output, shown harmlessly.
fn tags_in(text: &str) -> Vec<&'static str> {
    [
        "so-ready",
        "hpa-cond",
        "keda-event",
        "event-message",
        "event-reason",
        "event-source",
        "waiting",
        "scheduler",
        "loki",
        "prom",
        "gap",
    ]
    .into_iter()
    .filter(|t| text.contains(&format!("[{t}] \\u001b[2J")))
    .collect()
}

/// The human formats: plain and coloured.
fn human_runs(c: &Cluster, base: &[&str], formats: &[&str], code: i32) -> Vec<(String, Run)> {
    let mut runs = Vec::new();
    for format in formats {
        for color in ["never", "always"] {
            let mut args = base.to_vec();
            args.extend(["-o", format, "--color", color]);
            let run = c.spice(&args);
            let what = args.join(" ");
            assert_safe(&what, &run, code, color == "always");
            if color == "always" {
                assert!(run.stdout.contains("\u{1b}["), "{what}: no colour at all");
            }
            runs.push((what, run));
        }
    }
    runs
}

/// JSON, YAML, JUnit and Markdown of diagnose: valid for their format.
fn data_formats_hold(c: &Cluster, base: &[&str]) -> Value {
    let mut args = base.to_vec();
    args.extend(["-o", "json"]);
    let json = c.spice(&args);
    assert_safe(&args.join(" "), &json, 1, false);
    let report = json.json();
    let checks = report["checks"].as_array().expect("checks").len();

    let args = [base, &["-o", "yaml"]].concat();
    let yaml = c.spice(&args);
    assert_safe(&args.join(" "), &yaml, 1, false);
    let parsed: Result<Value, _> = serde_norway::from_str(&yaml.stdout);
    assert!(parsed.is_ok(), "yaml: {:?}", parsed.err());

    let args = [base, &["-o", "junit"]].concat();
    let junit = c.spice(&args);
    assert_safe(&args.join(" "), &junit, 1, false);
    let doc = roxmltree::Document::parse(&junit.stdout)
        .unwrap_or_else(|e| panic!("junit is not XML ({e}):\n{}", junit.stdout));
    let cases = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .count();
    assert_eq!(cases, checks, "{}", junit.stdout);

    let args = [base, &["-o", "markdown"]].concat();
    let md = c.spice(&args);
    assert_safe(&args.join(" "), &md, 1, false);
    assert!(!md.stdout.contains("<img"), "raw HTML:\n{}", md.stdout);
    assert!(
        !md.stdout.contains("[x](javascript"),
        "a link:\n{}",
        md.stdout
    );
    let rows = md.stdout.lines().filter(|l| l.starts_with("| ")).count();
    assert_eq!(rows, checks + 1, "one table row per check:\n{}", md.stdout);
    report
}

#[test]
fn hostile_cluster_text_never_reaches_the_terminal_raw() {
    let c = Cluster::start("hostile");
    let _loki = FakeLoki::serve(&c, LokiConfig::new().bad_query(&hostile("loki")));
    let context = hostile_context(&c);

    let status = human_runs(&c, &["status"], &["table", "wide"], 0);
    let shown = tags_in(&status[2].1.stdout);
    for tag in ["so-ready", "hpa-cond", "scheduler"] {
        assert!(shown.contains(&tag), "status -o wide shows {shown:?}");
    }
    for format in ["json", "yaml"] {
        let run = c.spice(&["status", "-o", format]);
        assert_safe(&format!("status -o {format}"), &run, 0, false);
    }
    let json = c.spice(&["status", "-o", "json"]);
    assert_eq!(json.json()["context"], context.as_str(), "same data");

    let diagnose = human_runs(&c, &["diagnose"], &["table", "wide"], 1);
    let report = data_formats_hold(&c, &["diagnose"]);
    assert_eq!(report["context"], context.as_str(), "same data");
    // The operator log line is read, but its hostile fields are not valid
    // JSON (a raw control character), so no field names the ScaledObject and
    // the check does not count it as ours.
    let shown = tags_in(&diagnose[2].1.stdout);
    for tag in [
        "so-ready",
        "keda-event",
        "event-message",
        "event-reason",
        "waiting",
        "scheduler",
        "loki",
    ] {
        assert!(shown.contains(&tag), "diagnose -o wide shows {shown:?}");
    }

    // Cluster text with newlines in it must not start a report line of its
    // own, in status, diagnose or piped watch.
    no_forged_lines("status -o table", &status[0].1.stdout);
    no_forged_lines("status -o wide", &status[2].1.stdout);
    no_forged_lines("diagnose -o table", &diagnose[0].1.stdout);
    no_forged_lines("diagnose -o wide", &diagnose[2].1.stdout);
    assert!(diagnose[2].1.stdout.contains("⏎37 checks: 37 pass"));
    let md = c.spice(&["diagnose", "-o", "markdown"]);
    no_forged_lines("diagnose -o markdown", &md.stdout);

    // Piped watch prints the checks that turn bad, with their messages.
    let watch = c.spice(&["watch", "-o", "text", "--timeout", "3s"]);
    assert_safe("watch -o text", &watch, 0, false);
    let shown = tags_in(&watch.stdout);
    assert!(shown.contains(&"so-ready"), "watch shows {shown:?}");
    no_forged_lines("watch -o text", &watch.stdout);
    for args in [
        &["snapshot", "-o", "-"][..],
        &["alerts"],
        &["dashboard"],
        &["config", "view"],
        &["explain", "keda.ready"],
    ] {
        let run = c.spice(args);
        assert_safe(&args.join(" "), &run, 0, false);
    }
}

/// A snapshot file is untrusted too: whoever sends it chose every string in
/// it, Prometheus's error text and the gaps included.
#[test]
fn hostile_snapshot_files_replay_safely() {
    let c = Cluster::start("hostile");
    let saved = c.spice(&["snapshot", "-o", "-"]);
    assert_eq!(saved.code, 0, "{}", saved.stderr);
    let mut snap = saved.json();
    for answer in snap["prometheus"]
        .as_object_mut()
        .expect("prometheus answers")
        .values_mut()
    {
        answer["samples"] = Value::Null;
        answer["error"] = hostile("prom").into();
    }
    snap["gaps"]
        .as_array_mut()
        .expect("gaps")
        .push(serde_json::json!({
            "source": hostile("gap-source"),
            "reason": "forbidden",
            "message": hostile("gap"),
            "hint": hostile("gap-hint"),
        }));
    let file = c.dir.path().join("hostile.snapshot.json");
    std::fs::write(&file, serde_json::to_string(&snap).expect("json")).expect("write");
    let from = file.to_str().expect("utf-8 path");

    let status = human_runs(&c, &["status", "--from", from], &["table", "wide"], 0);
    let shown = tags_in(&status[0].1.stdout);
    assert!(shown.contains(&"gap"), "status shows {shown:?}");
    let diagnose = human_runs(&c, &["diagnose", "--from", from], &["table", "wide"], 1);
    let shown = tags_in(&diagnose[2].1.stdout);
    assert!(shown.contains(&"prom"), "diagnose -o wide shows {shown:?}");
    data_formats_hold(&c, &["diagnose", "--from", from]);
}
