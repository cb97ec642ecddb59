//! Every sample of the plugin's output in README.md is produced by a test.
//! A sample is marked in the README:
//!
//! ```text
//! <!-- sample: NAME -->
//! ```fenced block```
//! <!-- /sample -->
//! ```
//!
//! Most are the real binary's output, run here against a shipped example or
//! a simulated cluster, and compared exactly. A replay's "N ago" is fixed by
//! `SPICE_TEST_NOW` (a clock only tests set). Samples of runs whose timings
//! are real (`test single` on the closed loop, `report` and `timeline` on a
//! backfilled Prometheus) are checked by the test that runs them, through
//! [`check_masked`]: every number is masked on both sides, so the words, the
//! verdicts and the advice cannot drift while the measured seconds may.
//!
//! On drift a test fails and prints the new text; `SPICE_BLESS=1` rewrites
//! the README's blocks instead.

use crate::support::sim::Fault;
use crate::support::spice::{BIN, Cluster, run_bin};
use std::path::PathBuf;
use std::sync::Mutex;

/// The clock of a replay in the samples: three hours after the shipped
/// healthy example was taken (read from it, so regenerating the examples
/// moves the clock with them).
fn now() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/scenarios/examples/healthy.snapshot.json"
    );
    let text = std::fs::read_to_string(path).expect("the healthy example");
    let snap: serde_json::Value = serde_json::from_str(&text).expect("json");
    let taken: jiff::Timestamp = snap["capturedAt"]
        .as_str()
        .and_then(|t| t.parse().ok())
        .expect("capturedAt");
    let later = taken
        .checked_add(jiff::SignedDuration::from_hours(3))
        .expect("time");
    jiff::Timestamp::from_second(later.as_second())
        .expect("time")
        .to_string()
}

/// Samples checked by the test that produces them (see [`check_masked`]).
const MASKED: &[&str] = &["test-single-failing", "report-week", "timeline-week"];

/// Serialises reading and rewriting the README between tests.
static README: Mutex<()> = Mutex::new(());

fn readme_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("README.md")
}

fn bless() -> bool {
    std::env::var("SPICE_BLESS").is_ok_and(|v| v == "1")
}

/// One marked sample: its name and the line range of its block's content.
struct Sample {
    name: String,
    /// Index of the first content line (after the opening fence).
    first: usize,
    /// Index of the closing fence.
    fence: usize,
}

fn samples(text: &str) -> Vec<Sample> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some(name) = lines[i]
            .strip_prefix("<!-- sample: ")
            .and_then(|r| r.strip_suffix(" -->"))
        else {
            i += 1;
            continue;
        };
        assert!(
            lines.get(i + 1).is_some_and(|l| l.starts_with("```")),
            "README line {}: sample {name} is not followed by a fenced block",
            i + 2
        );
        let fence = (i + 2..lines.len())
            .find(|&j| lines[j] == "```")
            .unwrap_or_else(|| panic!("sample {name}: the block never closes"));
        assert_eq!(
            lines.get(fence + 1).copied(),
            Some("<!-- /sample -->"),
            "sample {name}: no <!-- /sample --> right after its block"
        );
        out.push(Sample {
            name: name.to_string(),
            first: i + 2,
            fence,
        });
        i = fence + 2;
    }
    out
}

/// The text of a sample's block.
fn block(text: &str, s: &Sample) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut b = lines[s.first..s.fence].join("\n");
    b.push('\n');
    b
}

/// `text` with the block of sample `name` replaced by `new`.
fn replaced(text: &str, name: &str, new: &str) -> String {
    let all = samples(text);
    let s = all
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no sample {name} in the README"));
    let lines: Vec<&str> = text.lines().collect();
    let mut out: Vec<&str> = lines[..s.first].to_vec();
    out.extend(new.lines());
    out.extend(&lines[s.fence..]);
    let mut joined = out.join("\n");
    joined.push('\n');
    joined
}

fn readme() -> String {
    std::fs::read_to_string(readme_path()).expect("README.md")
}

/// Compares `produced` with the README's sample `name` by `same`; with
/// `SPICE_BLESS=1` writes it there instead. The error says what to run.
fn compare(name: &str, produced: &str, same: impl Fn(&str, &str) -> bool) -> Result<(), String> {
    let _guard = README.lock().unwrap_or_else(|e| e.into_inner());
    let text = readme();
    let all = samples(&text);
    let Some(s) = all.iter().find(|s| s.name == name) else {
        return Err(format!("no <!-- sample: {name} --> in the README"));
    };
    let current = block(&text, s);
    if same(&current, produced) {
        return Ok(());
    }
    if bless() {
        std::fs::write(readme_path(), replaced(&text, name, produced)).expect("write README.md");
        return Ok(());
    }
    Err(format!(
        "README sample {name} drifted (SPICE_BLESS=1 rewrites it); the binary now prints:\n{produced}"
    ))
}

/// Every number (and every generated pod-name suffix) made `#`.
fn masked(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_number = false;
    for c in text.chars() {
        if c.is_ascii_digit() || (in_number && c == '.') {
            if !in_number {
                out.push('#');
            }
            in_number = true;
        } else {
            in_number = false;
            out.push(c);
        }
    }
    // spice-runner-<hash>-<suffix>: random per run.
    let mut words: Vec<String> = Vec::new();
    for w in out.split(' ') {
        words.push(match w.strip_prefix("spice-runner-") {
            Some(rest) if rest.matches('-').count() == 1 && !rest.starts_with("nginx") => {
                "spice-runner-POD".to_string()
            }
            _ => w.to_string(),
        });
    }
    words.join(" ")
}

/// For the samples of runs with real timings: the README's sample `name`
/// against `produced`, numbers and chart bars masked (see the module docs).
/// `keep` picks the lines that must not drift (the words around the
/// timings); the README's kept lines must appear in the run's, in order, so
/// a sample may be an excerpt. With `SPICE_BLESS=1` the whole output is
/// written.
pub fn check_masked(name: &str, produced: &str, keep: impl Fn(&str) -> bool) {
    if let Err(e) = compare(name, produced, |readme, run| is_excerpt(readme, run, &keep)) {
        panic!("{e}");
    }
}

/// Whether the kept lines of `readme`, masked, appear in those of `run`, in
/// order. A line `…` alone marks where an excerpt leaves lines out.
fn is_excerpt(readme: &str, run: &str, keep: &impl Fn(&str) -> bool) -> bool {
    let pick = |t: &str| -> Vec<String> {
        t.lines()
            .filter(|l| keep(l) && l.trim() != "…")
            .map(|l| masked(&unbarred(l)))
            .collect()
    };
    let run = pick(run);
    let mut at = run.iter();
    pick(readme).iter().all(|l| at.any(|r| r == l))
}

/// A chart row's bars (between the first and the last `│`) made `…`.
fn unbarred(line: &str) -> String {
    match (line.find('│'), line.rfind('│')) {
        (Some(a), Some(b)) if b > a => format!("{}│…│{}", &line[..a], &line[b + '│'.len_utf8()..]),
        _ => line.to_string(),
    }
}

/// The plugin's text output for `args`, run from the repository root.
fn spice(args: &[&str]) -> String {
    let home = tempfile::tempdir().expect("tempdir");
    let mut cmd_args = args.to_vec();
    cmd_args.extend(["--color", "never"]);
    // The test binary runs in the repository root: `--from` paths are the
    // README's.
    let run = run_bin(BIN, &cmd_args, &[("SPICE_TEST_NOW", &now())], home.path());
    assert!(run.code <= 3, "{args:?}: {}", run.stderr);
    run.stdout
}

/// `diagnose` on the healthy scenario while the API server cannot read pods
/// (etcd timing out): the INCOMPLETE paragraph at the top.
fn incomplete_pods() -> String {
    let c = Cluster::start("healthy");
    let status = serde_json::json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": "Internal error occurred: etcdserver: request timed out",
        "reason": "InternalError",
        "details": {"causes": [{"message": "etcdserver: request timed out"}]},
        "code": 500,
    });
    c.sim.inject(
        "/api/v1/namespaces/default/pods",
        Fault::raw(500, "application/json", status.to_string()),
    );
    let run = c.spice(&["diagnose", "--color", "never"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    let paragraph: Vec<&str> = run
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("INCOMPLETE"))
        .take_while(|l| !l.is_empty())
        .collect();
    assert!(!paragraph.is_empty(), "{}", run.stdout);
    format!("{}\n", paragraph.join("\n"))
}

/// The samples this module produces exactly, by name.
fn produce(name: &str) -> Option<String> {
    Some(match name {
        "status-healthy" => spice(&[
            "status",
            "--from",
            "tests/scenarios/examples/healthy.snapshot.json",
        ]),
        "diagnose-no-scale-up" => spice(&[
            "diagnose",
            "--example",
            "broken-chain",
            "--symptom",
            "no-scale-up",
        ]),
        "explain-runbook-wc-header" => spice(&["explain", "runbook", "wc-header"]),
        "diagnose-incomplete-pods" => incomplete_pods(),
        _ => return None,
    })
}

#[test]
fn every_readme_sample_is_what_the_binary_prints_now() {
    let text = readme();
    let all = samples(&text);
    let mut drift = Vec::new();
    for s in &all {
        if MASKED.contains(&s.name.as_str()) {
            continue;
        }
        let Some(produced) = produce(&s.name) else {
            drift.push(format!(
                "sample {} has no producer in tests/it/readme_samples.rs",
                s.name
            ));
            continue;
        };
        if let Err(e) = compare(&s.name, &produced, |a, b| a == b) {
            drift.push(e);
        }
    }
    for name in [
        "status-healthy",
        "diagnose-no-scale-up",
        "explain-runbook-wc-header",
        "diagnose-incomplete-pods",
    ]
    .iter()
    .chain(MASKED)
    {
        if !all.iter().any(|s| s.name == *name) {
            drift.push(format!("the README lost its sample {name}"));
        }
    }
    assert!(drift.is_empty(), "{}", drift.join("\n\n"));
}

#[test]
fn every_output_block_of_the_readme_is_a_marked_sample() {
    let text = readme();
    let all = samples(&text);
    let lines: Vec<&str> = text.lines().collect();
    let mut inside = false;
    let mut unmarked = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        if !l.starts_with("```") {
            continue;
        }
        if inside {
            inside = false;
            continue;
        }
        inside = true;
        // Commands (sh) and inputs (yaml) are not output; a bare or `text`
        // block is the plugin's output and must be a sample.
        let lang = l.trim_start_matches('`');
        if (lang.is_empty() || lang == "text") && !all.iter().any(|s| s.first == i + 1) {
            unmarked.push(format!(
                "line {}: {}",
                i + 1,
                lines.get(i + 1).unwrap_or(&"")
            ));
        }
    }
    assert!(
        unmarked.is_empty(),
        "output blocks without <!-- sample: NAME -->:\n{}",
        unmarked.join("\n")
    );
}

#[test]
fn masking_hides_numbers_and_pod_suffixes_but_not_words() {
    assert_eq!(
        masked("pod created spice-runner-7d9c8b5f4-cs6gb at 3.95s, 2 of 3"),
        "pod created spice-runner-POD at #s, # of #"
    );
    assert_ne!(masked("fix: raise it"), masked("fix: lower it"));
    assert_eq!(
        masked("spice-runner-nginx-5c6b8d9f47-q7wzt"),
        "spice-runner-nginx-#c#b#d#f#-q#wzt"
    );
}

#[test]
fn a_masked_sample_holds_other_timings_but_not_other_words_or_order() {
    let all = |_: &str| true;
    let readme = "fix: raise spec.pollingInterval to 5\n…\nResult: FAIL (4/6, 27.1s)\n  seen │▁▂▃│ max 0.48\n";
    let run = "header\nfix: raise spec.pollingInterval to 7\nmore\nResult: FAIL (3/6, 30s)\n  seen │▅▅▅▅▅│ max 0.4\n";
    assert!(is_excerpt(readme, run, &all));
    let other_advice = run.replace("raise", "lower");
    assert!(!is_excerpt(readme, &other_advice, &all));
    let other_order =
        "Result: FAIL (3/6, 30s)\nfix: raise spec.pollingInterval to 7\n  seen │▅│ max 0.4\n";
    assert!(!is_excerpt(readme, other_order, &all));
}
