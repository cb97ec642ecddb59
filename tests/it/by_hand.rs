//! A simulated cluster to try the plugin by hand, as a new user would:
//!
//! ```text
//! SPICE_BY_HAND_SCENARIO=broken-chain SPICE_BY_HAND_MINUTES=20 \
//!   cargo test --test it by_hand -- --ignored --nocapture
//! ```
//!
//! prints a kubeconfig path, then serves the scenario (with its Prometheus)
//! until the given minutes are up (default 10, at most 120). In another
//! terminal: `KUBECONFIG=<path> kubectl spice watch`.

use crate::support::scenario::scenarios_dir;
use crate::support::spice::Cluster;
use std::time::{Duration, Instant};

#[test]
#[ignore = "serves a scenario for minutes, for trying the plugin by hand"]
fn serve_a_scenario_by_hand() {
    let name = std::env::var("SPICE_BY_HAND_SCENARIO").unwrap_or_else(|_| "healthy".into());
    let minutes: u64 = std::env::var("SPICE_BY_HAND_MINUTES")
        .ok()
        .and_then(|m| m.parse().ok())
        .unwrap_or(10)
        .min(120);
    if let Err(why) = scenario_name(&name) {
        panic!("{why}");
    }
    let cluster = Cluster::start(&name);
    // One kubeconfig per server: two servers never overwrite each other's.
    let link = std::env::temp_dir().join(format!(
        "spice-by-hand-{name}-{}.kubeconfig",
        std::process::id()
    ));
    std::fs::copy(&cluster.kubeconfig, &link).expect("copy the kubeconfig");
    println!(
        "scenario {name} served for {minutes} min; KUBECONFIG={}",
        link.display()
    );
    let until = Instant::now() + Duration::from_secs(minutes * 60);
    while Instant::now() < until {
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// `name` when it is a scenario (a folder under tests/scenarios/ with
/// objects.yaml), else one line saying which names are: `broken-chain` is
/// a snapshot example (`kubectl spice diagnose --example broken-chain`),
/// not a scenario.
fn scenario_name(name: &str) -> Result<(), String> {
    let dir = scenarios_dir();
    if !name.is_empty()
        && !name.contains(['/', '.'])
        && dir.join(name).join("objects.yaml").is_file()
    {
        return Ok(());
    }
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| e.path().join("objects.yaml").is_file())
                .filter_map(|e| e.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    let example = if dir
        .join("examples")
        .join(format!("{name}.snapshot.json"))
        .is_file()
    {
        format!(" ({name} is a snapshot example: kubectl spice diagnose --example {name})")
    } else {
        String::new()
    };
    Err(format!(
        "SPICE_BY_HAND_SCENARIO={name:?} is no scenario{example}; the scenarios: {}",
        names.join(", ")
    ))
}

#[test]
fn a_by_hand_scenario_name_is_checked_and_an_example_name_is_pointed_to_its_command() {
    assert_eq!(scenario_name("healthy"), Ok(()));
    let why = scenario_name("broken-chain").expect_err("an example, not a scenario");
    assert!(
        why.contains("kubectl spice diagnose --example broken-chain"),
        "{why}"
    );
    assert!(why.contains("pending-no-node"), "{why}");
    assert!(scenario_name("../healthy").is_err());
    assert!(scenario_name("").is_err());
}
