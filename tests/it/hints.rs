//! Hints that lead somewhere: the shipped examples work from any directory
//! (`diagnose --example broken-chain`, the no-kubeconfig hint names it), and
//! a bad config value says the file, the line and the valid form instead of
//! sending the user to `config view`, which fails on the same value.

use crate::support::spice::BIN;
use std::process::{Command, Stdio};

/// The binary run in `dir` (not the repository), with a clean environment.
fn run_in(dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", dir)
        .env("XDG_CONFIG_HOME", dir.join(".config"))
        .stdin(Stdio::null())
        .output()
        .expect("run the binary");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_no_kubeconfig_hint_names_an_embedded_example_that_runs_from_any_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, _, err) = run_in(dir.path(), &["diagnose"]);
    assert_eq!(code, 2, "{err}");
    let hint = err
        .lines()
        .find(|l| l.starts_with("hint:"))
        .unwrap_or_else(|| panic!("{err}"));
    let try_it = hint
        .split_once("kubectl spice ")
        .map(|(_, c)| c)
        .unwrap_or_else(|| panic!("{hint}"));
    assert_eq!(try_it, "diagnose --example broken-chain", "{hint}");
    let args: Vec<&str> = try_it.split(' ').collect();
    let (code, out, err) = run_in(dir.path(), &args);
    assert_eq!(code, 1, "the broken example fails its checks: {err}");
    assert!(out.contains("ROOT CAUSE ✗ pods.pending"), "{out}");
    assert!(out.starts_with("replay of snapshot taken "), "{out}");

    let (code, _, err) = run_in(dir.path(), &["diagnose", "--example", "nope"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("the examples are: broken-chain, healthy"),
        "{err}"
    );
}

#[test]
fn a_bad_config_value_names_file_line_and_form_and_never_sends_to_config_view() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("c.yaml");
    std::fs::write(&file, "namespace: default\ntargets:\n  scaleUp: fast\n").expect("write");
    let config = file.to_str().expect("utf-8");
    let (code, _, err) = run_in(
        dir.path(),
        &["diagnose", "--example", "healthy", "--config", config],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&format!(
            "{config}: line 3: targets.scaleUp: \"fast\" is not a duration (e.g. 30s"
        )),
        "{err}"
    );
    // The command the hint names works despite the bad file (plain
    // `config view` would fail on the same value).
    hint_command_works(dir.path(), &err);

    // An unknown key: the hint's command lists the keys, and works.
    std::fs::write(&file, "scaleUpSeconds: 30\n").expect("write");
    let (code, _, err) = run_in(
        dir.path(),
        &["diagnose", "--example", "healthy", "--config", config],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("line 1: unknown key `scaleUpSeconds`"),
        "{err}"
    );
    hint_command_works(dir.path(), &err);
}

/// The `kubectl spice …` command at the end of the hint line runs, exit 0,
/// and lists the keys.
fn hint_command_works(dir: &std::path::Path, err: &str) {
    let hint = err
        .lines()
        .find(|l| l.starts_with("hint:"))
        .unwrap_or_else(|| panic!("{err}"));
    let command = hint
        .split_once("kubectl spice ")
        .map(|(_, c)| c.trim())
        .unwrap_or_else(|| panic!("{hint}"));
    assert_eq!(command, "config view --config /dev/null", "{hint}");
    let (code, out, e) = run_in(dir, &command.split(' ').collect::<Vec<_>>());
    assert_eq!(code, 0, "{hint}: {e}");
    assert!(out.contains("targets.scaleUp"), "{out}");
}
