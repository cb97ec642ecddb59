//! Completion: the bash script `kubectl spice completion bash` prints works
//! in a real bash, and the real kubectl completes `kubectl spice ...` through
//! the `kubectl_complete-spice` shim the README documents. Candidates include
//! subcommands, flags, check ids, and contexts and namespaces from the
//! kubeconfig.

use crate::support::spice::{BIN, Run, run_bin};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

const KUBECONFIG: &str = "apiVersion: v1
kind: Config
clusters:
- name: eu-cluster
  cluster: {server: 'https://127.0.0.1:1'}
users:
- name: oncall
  user: {token: not-a-secret}
contexts:
- name: prod-eu
  context: {cluster: eu-cluster, user: oncall, namespace: games}
- name: staging
  context: {cluster: eu-cluster, user: oncall, namespace: games-staging}
current-context: staging
";

/// A temp dir with a kubeconfig, `kubectl-spice` and the README's shim in `bin/`.
struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("kubeconfig"), KUBECONFIG).expect("kubeconfig");
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).expect("bin");
        std::os::unix::fs::symlink(BIN, bin.join("kubectl-spice")).expect("symlink");
        let shim = bin.join("kubectl_complete-spice");
        std::fs::write(&shim, "#!/bin/sh\nexec kubectl-spice __complete \"$@\"\n").expect("shim");
        std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        Setup { dir }
    }
    fn path(&self) -> &Path {
        self.dir.path()
    }
    fn kubeconfig(&self) -> PathBuf {
        self.path().join("kubeconfig")
    }
    fn env_path(&self) -> String {
        format!(
            "{}:{}",
            self.path().join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        )
    }
    fn run(&self, program: &str, args: &[&str]) -> Run {
        let kc = self.kubeconfig();
        let path = self.env_path();
        let run = run_bin(
            program,
            args,
            &[("PATH", &path), ("KUBECONFIG", kc.to_str().expect("utf-8"))],
            self.path(),
        );
        assert_eq!(
            run.code, 0,
            "{program} {args:?}: {}\n{}",
            run.stdout, run.stderr
        );
        run
    }
}

/// The values of a Cobra-protocol answer, and its directive.
fn cobra(run: &Run) -> (Vec<String>, String) {
    let mut lines: Vec<&str> = run.stdout.lines().filter(|l| !l.is_empty()).collect();
    let directive = lines.pop().expect("a directive line").to_string();
    assert!(directive.starts_with(':'), "last line {directive:?}");
    let values = lines
        .iter()
        .map(|l| l.split('\t').next().unwrap_or_default().to_string())
        .collect();
    (values, directive)
}

#[test]
fn complete_hook_offers_subcommands_then_flags() {
    let s = Setup::new();
    let (values, directive) = cobra(&s.run(BIN, &["__complete", ""]));
    for sub in [
        "status",
        "diagnose",
        "explain",
        "alerts",
        "dashboard",
        "completion",
        "man",
        "version",
    ] {
        assert!(values.contains(&sub.to_string()), "{sub} in {values:?}");
    }
    assert!(
        values.iter().all(|v| !v.starts_with('-')),
        "no flags before `-`: {values:?}"
    );
    assert_eq!(directive, ":4");
    let (values, _) = cobra(&s.run(BIN, &["__complete", "diagnose", "--fa"]));
    assert_eq!(values, ["--fail-on"]);
    let (values, _) = cobra(&s.run(BIN, &["__complete", "alerts", "-o", ""]));
    assert_eq!(values, ["prometheusrule", "rules", "recording-rules"]);
}

#[test]
fn complete_hook_offers_check_ids_contexts_and_namespaces() {
    let s = Setup::new();
    let (values, _) = cobra(&s.run(BIN, &["__complete", "explain", "keda.re"]));
    assert_eq!(values, ["keda.ready"]);
    let (values, _) = cobra(&s.run(
        BIN,
        &["__complete", "diagnose", "--only", "keda.ready,hpa.e"],
    ));
    assert_eq!(values, ["keda.ready,hpa.exists"]);
    let (values, _) = cobra(&s.run(BIN, &["__complete", "diagnose", "--skip", "po"]));
    assert!(values.contains(&"pods.*".to_string()), "{values:?}");
    assert!(values.contains(&"pods.crashloop".to_string()), "{values:?}");
    let (values, _) = cobra(&s.run(BIN, &["__complete", "status", "--context", ""]));
    assert_eq!(values, ["prod-eu", "staging"]);
    let (values, _) = cobra(&s.run(BIN, &["__complete", "--context=p"]));
    assert_eq!(values, ["--context=prod-eu"]);
    let (values, _) = cobra(&s.run(BIN, &["__complete", "status", "-n", "g"]));
    assert_eq!(values, ["games", "games-staging"]);
    let (values, _) = cobra(&s.run(BIN, &["__complete", "--cluster", ""]));
    assert_eq!(values, ["eu-cluster"]);
}

#[test]
fn complete_hook_survives_a_broken_kubeconfig() {
    let s = Setup::new();
    std::fs::write(s.kubeconfig(), "{ not: [yaml").expect("write");
    let run = s.run(BIN, &["__complete", "--context", ""]);
    assert!(run.stderr.is_empty(), "{}", run.stderr);
    let (values, directive) = cobra(&run);
    assert!(values.is_empty(), "{values:?}");
    assert_eq!(directive, ":4");
}

#[test]
fn real_kubectl_completes_the_plugin_through_the_shim() {
    let s = Setup::new();
    let kubectl = if Path::new("/usr/bin/kubectl").exists() {
        "/usr/bin/kubectl"
    } else {
        "kubectl"
    };
    let (values, directive) =
        cobra(&s.run(kubectl, &["__complete", "spice", "explain", "keda.re"]));
    assert_eq!(values, ["keda.ready"]);
    assert_eq!(directive, ":4");
    let (values, _) = cobra(&s.run(kubectl, &["__complete", "spice", "--context", ""]));
    assert_eq!(values, ["prod-eu", "staging"]);
}

#[test]
fn bash_script_completes_in_a_real_bash() {
    let s = Setup::new();
    let script = s.run(BIN, &["completion", "bash"]).stdout;
    std::fs::write(s.path().join("spice.bash"), &script).expect("script");
    // Stand in for bash's completion machinery: set COMP_WORDS/COMP_CWORD and
    // call the function the script registered, as bash does on <TAB>.
    let driver = r#"
cd "$(dirname "$0")"
source ./spice.bash
complete -p kubectl-spice >/dev/null || { echo "not registered"; exit 3; }
fn=$(complete -p kubectl-spice | sed 's/.* -F \([^ ]*\) .*/\1/')
t() {
  COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); COMP_TYPE=9
  COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
  COMPREPLY=()
  "$fn" kubectl-spice "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
  echo "$(printf '%s ' "${COMPREPLY[@]}")|"
}
t kubectl-spice dash
t kubectl-spice explain keda.rea
t kubectl-spice --context ''
t kubectl-spice completion f
"#;
    std::fs::write(s.path().join("driver.bash"), driver).expect("driver");
    let driver_path = s.path().join("driver.bash");
    let run = s.run("bash", &[driver_path.to_str().expect("utf-8")]);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines,
        ["dashboard |", "keda.ready |", "prod-eu staging |", "fish |"],
        "{}",
        run.stderr
    );
}

#[test]
fn every_shell_gets_a_script_that_calls_back() {
    let s = Setup::new();
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let script = s.run(BIN, &["completion", shell]).stdout;
        assert!(
            script.contains("_KUBECTL_SPICE_COMPLETE"),
            "{shell}:\n{script}"
        );
        assert!(script.contains("kubectl-spice"), "{shell}:\n{script}");
    }
    let home = tempfile::tempdir().expect("tempdir");
    let run = run_bin(BIN, &["completion", "tcsh"], &[], home.path());
    assert_eq!(run.code, 2, "{}", run.stderr);
}

#[test]
fn complete_hook_offers_runbook_then_the_runbooks_flaws() {
    let s = Setup::new();
    let (values, _) = cobra(&s.run(BIN, &["__complete", "explain", "runb"]));
    assert_eq!(values, ["runbook"]);
    let (values, _) = cobra(&s.run(BIN, &["__complete", "explain", "runbook", "wc"]));
    assert_eq!(values, ["wc-header"]);
    let (values, _) = cobra(&s.run(BIN, &["__complete", "explain", "runbook", ""]));
    assert!(values.len() >= 15, "{values:?}");
    assert!(values.contains(&"alloy-grep".to_string()), "{values:?}");
}
