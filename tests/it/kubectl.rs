//! The real kubectl finds the plugin on PATH and dispatches to it.

use crate::support::spice::{BIN, Cluster, run_bin};
use std::path::Path;

fn path_with_plugin() -> String {
    let dir = Path::new(BIN).parent().expect("bin dir");
    format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

fn kubectl() -> &'static str {
    if Path::new("/usr/bin/kubectl").exists() {
        "/usr/bin/kubectl"
    } else {
        "kubectl"
    }
}

#[test]
fn kubectl_plugin_list_finds_kubectl_spice() {
    let home = tempfile::tempdir().expect("tempdir");
    let run = run_bin(
        kubectl(),
        &["plugin", "list"],
        &[("PATH", &path_with_plugin())],
        home.path(),
    );
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(all.contains("kubectl-spice"), "kubectl plugin list:\n{all}");
    assert!(!all.contains("kubectl-spice is not executable"), "{all}");
}

#[test]
fn kubectl_spice_status_runs_through_kubectl_dispatch() {
    let c = Cluster::start("healthy");
    let kc = c.kubeconfig.to_str().expect("path");
    let run = run_bin(
        kubectl(),
        &["spice", "status", "-o", "json", "--kubeconfig", kc],
        &[("PATH", &path_with_plugin())],
        c.dir.path(),
    );
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    let j = run.json();
    assert_eq!(j["kind"], "Status");
    assert_eq!(j["pods"]["total"], 3);
    // Help and usage errors speak as `kubectl spice`.
    let help = run_bin(
        kubectl(),
        &["spice", "--help"],
        &[("PATH", &path_with_plugin())],
        c.dir.path(),
    );
    assert_eq!(help.code, 0);
    assert!(
        help.stdout.contains("Usage: kubectl spice"),
        "{}",
        help.stdout
    );
    let bad = run_bin(
        kubectl(),
        &["spice", "stauts"],
        &[("PATH", &path_with_plugin())],
        c.dir.path(),
    );
    assert_ne!(bad.code, 0);
    assert!(bad.stderr.contains("kubectl spice"), "{}", bad.stderr);
}
