//! `kubectl spice version` and `--version`: the version, a real commit of
//! this repository, and the Kubernetes API version Cargo.toml selects.

use crate::support::spice::{BIN, run_bin};
use std::path::Path;
use std::process::Command;

fn spice(args: &[&str]) -> crate::support::spice::Run {
    let home = tempfile::tempdir().expect("tempdir");
    let run = run_bin(BIN, args, &[], home.path());
    assert_eq!(run.code, 0, "{args:?}: {}\n{}", run.stdout, run.stderr);
    run
}

/// `1.33` for Cargo.toml's `k8s-openapi = { ..., features = ["v1_33"] }`.
fn kube_api_from_cargo_toml() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    let text = std::fs::read_to_string(&path).expect("Cargo.toml");
    let line = text
        .lines()
        .find(|l| l.starts_with("k8s-openapi"))
        .expect("k8s-openapi dependency");
    let feature = line
        .split('"')
        .find(|p| p.starts_with("v1_"))
        .expect("a v1_* feature");
    feature.trim_start_matches('v').replace('_', ".")
}

#[test]
fn version_flag_and_command_print_the_same() {
    let command = spice(&["version"]).stdout;
    let flag = spice(&["--version"]).stdout;
    assert_eq!(command, flag);
    let first = command.lines().next().unwrap_or_default();
    assert_eq!(
        first,
        format!("kubectl spice {}", env!("CARGO_PKG_VERSION"))
    );
    assert!(command.contains("git commit: "), "{command}");
    assert!(
        command.contains(&format!("kube API:   {}", kube_api_from_cargo_toml())),
        "{command}"
    );
    let short = spice(&["-V"]).stdout;
    assert_eq!(short.trim(), first);
}

#[test]
fn version_json_is_a_version_object() {
    let v = spice(&["version", "-o", "json"]).json();
    assert_eq!(v["apiVersion"], "spice.kubectl.dev/v1alpha1");
    assert_eq!(v["kind"], "Version");
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(v["kubeApiVersion"], kube_api_from_cargo_toml().as_str());
    assert!(v["platform"].as_str().is_some_and(|p| p.contains('/')));
    let commit = v["gitCommit"].as_str().expect("gitCommit");
    // Built from this checkout (the tests run in one), so it is a commit of
    // this repository; "unknown" only where git is missing.
    let git = Command::new("git")
        .args(["-C", env!("CARGO_MANIFEST_DIR"), "cat-file", "-e"])
        .arg(format!("{commit}^{{commit}}"))
        .output();
    match git {
        Ok(out) if Command::new("git").arg("--version").output().is_ok() => assert!(
            out.status.success(),
            "gitCommit {commit:?} is not a commit of this repository"
        ),
        _ => assert_eq!(commit, "unknown"),
    }

    let y: serde_json::Value =
        serde_norway::from_str(&spice(&["version", "-o", "yaml"]).stdout).expect("YAML");
    assert_eq!(y, v);
}
