//! Numbers as a person and a parser read them: derived rates rounded to what
//! their sources can tell (no `2.9999999999999996` in JSON), counts with
//! their noun in the right number ("1 gap").

use crate::support::scenario::scenarios_dir;
use crate::support::spice::{BIN, Cluster, run_bin};
use serde_json::Value;

/// Every number in `v` whose text has more than three decimals, with its path.
fn noisy(v: &Value, path: &str, out: &mut Vec<String>) {
    match v {
        Value::Number(n) if n.is_f64() => {
            let text = n.to_string();
            if text.split_once('.').is_some_and(|(_, d)| d.len() > 3) {
                out.push(format!("{path} = {text}"));
            }
        }
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, x)| noisy(x, &format!("{path}[{i}]"), out)),
        Value::Object(o) => o
            .iter()
            .for_each(|(k, x)| noisy(x, &format!("{path}.{k}"), out)),
        _ => {}
    }
}

#[test]
fn status_json_has_no_float_noise_in_its_rates() {
    let home = tempfile::tempdir().expect("tempdir");
    let file = scenarios_dir().join("examples/healthy.snapshot.json");
    let run = run_bin(
        BIN,
        &[
            "status",
            "-o",
            "json",
            "--from",
            file.to_str().expect("utf-8"),
        ],
        &[],
        home.path(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json = run.json();
    let mut found = Vec::new();
    noisy(&json, "", &mut found);
    assert!(found.is_empty(), "float noise: {found:?}");
    // 3 sessions / 3 pods, and the exporter's 1-in-15-s floor.
    assert_eq!(json["sessions"]["perPod"].as_f64(), Some(1.0), "{json}");
    assert_eq!(
        json["sessions"]["idleFloor"].as_f64(),
        Some(0.067),
        "{json}"
    );
}

#[test]
fn one_missing_source_is_one_gap_in_the_snapshot_line() {
    let c = Cluster::start("healthy");
    let out = c.dir.path().join("s.json");
    let run = c.spice(&["snapshot", "-o", out.to_str().expect("utf-8")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains(" (1 gap) to "), "{}", run.stderr);
}
