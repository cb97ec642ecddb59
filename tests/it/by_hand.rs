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
    let cluster = Cluster::start(&name);
    let link = std::env::temp_dir().join("spice-by-hand.kubeconfig");
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
