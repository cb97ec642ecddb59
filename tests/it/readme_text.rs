//! The README and the test runner as a newcomer meets them: no references
//! to the project's issue numbers in user-facing text, and `run.sh` asks
//! for each package once.

fn repo_file(name: &str) -> String {
    std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(name))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn the_readme_names_no_issue_numbers() {
    let readme = repo_file("README.md").to_lowercase();
    let hits: Vec<&str> = readme
        .lines()
        .filter(|l| {
            l.match_indices("issue ")
                .any(|(i, m)| l[i + m.len()..].starts_with(|c: char| c.is_ascii_digit()))
        })
        .collect();
    assert!(hits.is_empty(), "{hits:#?}");
}

#[test]
fn run_sh_installs_prometheus_once() {
    let run = repo_file("tests/run.sh");
    let asks = run.matches("need+=(prometheus)").count();
    assert_eq!(asks, 1, "{run}");
}

/// The cells of the README's "Supported versions" row for `component`.
fn support_row(readme: &str, component: &str) -> Vec<String> {
    let section = readme
        .split("## Supported versions")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("a Supported versions section");
    let row = section
        .lines()
        .find(|l| l.starts_with(&format!("| {component} |")))
        .unwrap_or_else(|| panic!("no {component} row:\n{section}"));
    row.split('|').map(|c| c.trim().to_string()).collect()
}

/// `1.35`, `2.20.2`: the version numbers in a cell.
fn versions_in(cell: &str) -> Vec<String> {
    cell.split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .map(|t| t.trim_matches('.'))
        .filter(|t| t.contains('.') && t.split('.').all(|p| !p.is_empty()))
        .map(str::to_string)
        .collect()
}

/// The README claims a Kubernetes minor or a KEDA release only where
/// `versions::RUNS` runs it (a healthy and a broken cluster each), never a
/// range (whose middle no scenario runs), and names that test in the row.
#[test]
fn the_readme_claims_only_the_kubernetes_and_keda_versions_a_scenario_runs() {
    use crate::versions::{RUNS, scenario_of};
    let readme = repo_file("README.md");
    let keda_of: Vec<String> = RUNS
        .iter()
        .map(|r| scenario_of(r).keda_version().expect("a KEDA operator pod"))
        .collect();
    let mut run_keda = keda_of.clone();
    run_keda.sort();
    run_keda.dedup();
    let mut run_kube: Vec<String> = RUNS.iter().map(|r| r.kubernetes.to_string()).collect();
    run_kube.sort();
    run_kube.dedup();
    for (component, ran) in [("Kubernetes", &run_kube), ("KEDA", &run_keda)] {
        let row = support_row(&readme, component);
        let claimed = &row[2];
        assert!(
            !claimed.contains('–') && !claimed.contains(" - ") && !claimed.contains(".x"),
            "{component}: a range claims versions no scenario runs: {claimed}"
        );
        let mut versions = versions_in(claimed);
        versions.sort();
        assert_eq!(&versions, ran, "{component}: README claims {claimed}");
        assert!(
            row[4].contains("versions::every_claimed_kubernetes_and_keda_pair_diagnoses_its_healthy_cluster_clean")
                && row[4].contains("versions::every_claimed_kubernetes_and_keda_pair_names_the_root_cause_of_its_broken_cluster"),
            "{component}: the row names no test: {}",
            row[4]
        );
        // Each healthy and broken: both kinds of run at every version.
        for v in ran {
            let at: Vec<_> = RUNS
                .iter()
                .zip(&keda_of)
                .filter(|(r, keda)| r.kubernetes == v || *keda == v)
                .map(|(r, _)| r)
                .collect();
            assert!(
                at.iter().any(|r| r.root_cause.is_none())
                    && at.iter().any(|r| r.root_cause.is_some()),
                "{component} {v}: needs a healthy and a broken run"
            );
        }
    }
}
