//! `test --scale-to-zero`'s one write goes to the workload the ScaledObject's
//! scaleTargetRef names, as every read command follows it: another
//! Deployment by name, a StatefulSet through `statefulsets/NAME/scale`; any
//! other kind, or a `--deployment` that is not KEDA's target, is refused
//! before anything is written.
//!
//! The runs are short: `--settle 1s` on a game with 3 pods and no simulated
//! controller fails the settle at once (exit 2, no session sent), after the
//! scale-down and before the put-back, so each run writes exactly twice.

use crate::support::scenario::Scenario;
use crate::support::spice::{Cluster, Run};

const SETTLE_FAILS: &[&str] = &[
    "test",
    "single",
    "--scale-to-zero",
    "--yes",
    "--settle",
    "1s",
];

/// Every request that is not a read, as `METHOD /path?query`.
fn writes(c: &Cluster) -> Vec<String> {
    c.sim
        .requests()
        .into_iter()
        .filter(|r| !r.starts_with("GET ") && !r.starts_with("HEAD "))
        // kube-rs sends an empty query: `PATCH /path?`.
        .map(|r| r.trim_end_matches('?').to_string())
        .collect()
}

fn replicas(c: &Cluster, path: &str) -> i64 {
    c.sim.get_raw(path).json()["spec"]["replicas"]
        .as_i64()
        .unwrap_or_else(|| panic!("no spec.replicas at {path}"))
}

fn settled_out_and_put_back(run: &Run, workload: &str) {
    assert_eq!(run.code, 2, "{}", run.stderr);
    for line in [
        format!("scaled {workload} from 3 to 0 replicas; 3 is put back on exit"),
        format!("put {workload} back to 3 replicas"),
        // The settle watched the followed workload's 3 pods (never the
        // configured selector's), and nothing was sent.
        "did not reach 0 pods and no sessions within --settle 1s (now 3 pod(s)".to_string(),
        "nothing was sent".to_string(),
    ] {
        assert!(run.stderr.contains(&line), "{line}\n---\n{}", run.stderr);
    }
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    // The settle's hint does not suggest the flag the run already has.
    assert!(
        run.stderr
            .contains("hint: wait for players to leave (KEDA scales the game up again")
            && !run.stderr.contains("use --scale-to-zero"),
        "{}",
        run.stderr
    );
}

#[test]
fn scale_to_zero_writes_the_deployment_scale_target_ref_names_and_never_the_configured_one() {
    let c = Cluster::start("target-other-deployment");
    let run = c.spice(SETTLE_FAILS);
    settled_out_and_put_back(&run, "deployment default/spice-game");
    let game_scale = "/apis/apps/v1/namespaces/default/deployments/spice-game/scale";
    assert_eq!(
        writes(&c),
        [format!("PATCH {game_scale}"), format!("PATCH {game_scale}")],
        "the scale-down and the put-back, nothing else"
    );
    let requests = c.sim.requests();
    let touched: Vec<&String> = requests
        .iter()
        .filter(|r| r.contains("/deployments/spice-runner/") || r.contains("spice-runner-admin"))
        .collect();
    assert!(touched.is_empty(), "{touched:?}");
    assert_eq!(
        replicas(
            &c,
            "/apis/apps/v1/namespaces/default/deployments/spice-game"
        ),
        3
    );
    assert_eq!(
        replicas(
            &c,
            "/apis/apps/v1/namespaces/default/deployments/spice-runner-admin"
        ),
        1
    );
}

#[test]
fn scale_to_zero_scales_a_statefulset_target_through_its_own_scale_and_puts_it_back() {
    let c = Cluster::start("target-statefulset");
    let dry = c.spice(&["test", "single", "--dry-run", "--scale-to-zero", "--yes"]);
    for line in [
        "scale the StatefulSet to 0 (a write; needs --yes, given)",
        "✓ the scale of statefulset default/spice-runner is readable (3 replicas now)",
    ] {
        assert!(dry.stdout.contains(line), "{line}\n---\n{}", dry.stdout);
    }
    assert!(writes(&c).is_empty(), "a dry run wrote: {:?}", writes(&c));

    let run = c.spice(SETTLE_FAILS);
    settled_out_and_put_back(&run, "statefulset default/spice-runner");
    let sts_scale = "/apis/apps/v1/namespaces/default/statefulsets/spice-runner/scale";
    assert_eq!(
        writes(&c),
        [format!("PATCH {sts_scale}"), format!("PATCH {sts_scale}")]
    );
    let requests = c.sim.requests();
    // The put-back read the StatefulSet's scale before it patched.
    let reads = requests
        .iter()
        .filter(|r| r.trim_end_matches('?') == format!("GET {sts_scale}"))
        .count();
    assert!(reads >= 3, "{requests:?}");
    let deployment_scale: Vec<&String> = requests
        .iter()
        .filter(|r| r.contains("/deployments/") && r.trim_end_matches('?').ends_with("/scale"))
        .collect();
    assert!(deployment_scale.is_empty(), "{deployment_scale:?}");
    assert_eq!(
        replicas(
            &c,
            "/apis/apps/v1/namespaces/default/statefulsets/spice-runner"
        ),
        3
    );
}

/// The scenario with the ScaledObject's scaleTargetRef replaced.
fn targeting(name: &str, target: serde_json::Value) -> Cluster {
    let mut s = Scenario::load(name);
    let mut replaced = 0;
    for so in s.objects.iter_mut().filter(|o| o["kind"] == "ScaledObject") {
        so["spec"]["scaleTargetRef"] = target.clone();
        replaced += 1;
    }
    assert_eq!(replaced, 1, "one ScaledObject in {name}");
    Cluster::with(s, false)
}

fn refused(c: &Cluster, args: &[&str], first: &str, hint: &[&str]) {
    let run = c.spice(args);
    assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
    let mut lines = run.stderr.lines();
    let error = lines.next().unwrap_or_default();
    assert!(
        error.starts_with("error: --scale-to-zero: ") && error.contains(first),
        "{args:?}: {}",
        run.stderr
    );
    assert!(error.ends_with("; nothing was changed"), "{}", run.stderr);
    let hint_line = lines.next().unwrap_or_default();
    assert!(hint_line.starts_with("hint: "), "{}", run.stderr);
    for h in hint {
        assert!(hint_line.contains(h), "{h}: {}", run.stderr);
    }
    assert!(
        writes(c).is_empty(),
        "a refused write wrote: {:?}",
        writes(c)
    );
    let scale_reads: Vec<String> = c
        .sim
        .requests()
        .into_iter()
        .filter(|r| r.trim_end_matches('?').ends_with("/scale"))
        .collect();
    assert!(scale_reads.is_empty(), "{scale_reads:?}");
}

#[test]
fn a_rollout_target_or_a_deployment_setting_that_is_not_keda_s_target_is_refused_before_any_write()
{
    let rollout = targeting(
        "target-other-deployment",
        serde_json::json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": "spice-game"}),
    );
    refused(
        &rollout,
        SETTLE_FAILS,
        "ScaledObject default/spice-runner-keda scales Rollout spice-game (argoproj.io/v1alpha1), which --scale-to-zero does not write",
        &[
            "without --scale-to-zero",
            "--selector",
            "--deployment spice-game",
        ],
    );
    let dry = rollout.spice(&["test", "single", "--dry-run", "--scale-to-zero", "--yes"]);
    assert_eq!(dry.code, 1, "{}\n{}", dry.stdout, dry.stderr);
    assert!(
        dry.stdout.contains(
            "✗ --scale-to-zero: ScaledObject default/spice-runner-keda scales Rollout spice-game"
        ) && dry.stdout.contains("(a real run would refuse; hint: ")
            && dry.stdout.contains(
                "  - refuse --scale-to-zero: the ScaledObject's target is not a workload it writes (✗ below)"
            )
            && !dry.stdout.contains("scale the Deployment to 0"),
        "{}",
        dry.stdout
    );
    assert!(writes(&rollout).is_empty());

    // --deployment names a Deployment that exists, but KEDA scales another.
    let other = Cluster::without_prometheus("target-other-deployment");
    let mut args = SETTLE_FAILS.to_vec();
    args.extend(["--deployment", "spice-runner-admin"]);
    refused(
        &other,
        &args,
        "scales Deployment spice-game, but the deployment setting (flag --deployment) names spice-runner-admin",
        &["drop the deployment setting", "--deployment spice-game"],
    );
    // A StatefulSet target with --deployment given: the same.
    let sts = Cluster::without_prometheus("target-statefulset");
    let mut args = SETTLE_FAILS.to_vec();
    args.extend(["--deployment", "spice-runner"]);
    refused(
        &sts,
        &args,
        "scales StatefulSet spice-runner, but the deployment setting (flag --deployment) names Deployment spice-runner",
        &[
            "drop the deployment setting",
            "statefulsets/spice-runner/scale",
        ],
    );
}
