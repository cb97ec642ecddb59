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
