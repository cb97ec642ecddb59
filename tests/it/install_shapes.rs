//! Install shapes beyond the runbook's one install (issue 19): a
//! multi-tenant Prometheus (Mimir) and its tenant, the Loki gateway, the
//! Deployment named by the ScaledObject, where Karpenter runs, and
//! `config view` with what discovery found. Each scenario is an upstream
//! install shape (see its objects.yaml).

use crate::diagnose::{assert_outcome, check, diagnose, fix, message, table};
use crate::support::spice::Cluster;
use crate::support::tenant::TenantFront;

/// Mimir's nginx gateway (`mimir/mimir-nginx:80`, API under `/prometheus`)
/// in front of the scenario's real Prometheus, enforcing a tenant.
fn mimir(scenario: &str) -> (Cluster, TenantFront) {
    let c = Cluster::start(scenario);
    let port = c.prom.as_ref().expect("a Prometheus").port();
    let front = TenantFront::start(port, "/prometheus");
    c.sim
        .set_proxy_upstream("mimir", "mimir-nginx", "80", &front.url());
    (c, front)
}

/// No tenant set: the plugin reads the Prometheus the trigger names with the
/// tenant the trigger's customHeaders send, and says both in the header.
#[test]
fn mimir_is_read_with_the_tenant_of_the_triggers_custom_headers() {
    let (c, front) = mimir("mimir-tenant");
    let (run, report) = diagnose(&c, &[]);
    assert_eq!(run.code, 0, "stderr: {}\n{}", run.stderr, table(&report));
    let read_from = report["readFrom"].as_str().unwrap_or_default();
    assert!(
        read_from.contains(
            "Prometheus mimir/mimir-nginx:80/prometheus (ScaledObject trigger, tenant spice-prod from the ScaledObject's trigger)"
        ),
        "{read_from}"
    );
    let seen = front.seen();
    assert!(!seen.is_empty(), "Mimir was not read");
    assert!(
        seen.iter().all(|t| t.as_deref() == Some("spice-prod")),
        "every request carries the trigger's tenant: {seen:?}"
    );
    let evidence = check(&report, "keda.trigger")["evidence"].to_string();
    assert!(evidence.contains("tenant: spice-prod"), "{evidence}");
}

/// The tenant is in a TriggerAuthentication the plugin cannot read: every
/// read is 401 `no org id`, an error (exit 3) whose hint is the tenant
/// setting, never a token; the setting then reads it, and says so.
#[test]
fn mimir_without_a_tenant_is_incomplete_with_the_tenant_hint_and_the_setting_reads_it() {
    let (c, front) = mimir("mimir-tenant-auth");
    let (run, report) = diagnose(&c, &[]);
    assert_eq!(run.code, 3, "stderr: {}\n{}", run.stderr, table(&report));
    assert_outcome(&report, "prometheus.reachable", "error");
    assert!(
        message(&report, "prometheus.reachable").contains("no org id"),
        "{}",
        table(&report)
    );
    let hint = fix(&report, "prometheus.reachable");
    assert!(
        hint.contains("set prometheusTenant (X-Scope-OrgID)")
            && !hint.contains("SPICE_PROMETHEUS_TOKEN"),
        "{hint}"
    );
    assert!(
        front.seen().iter().all(Option::is_none),
        "{:?}",
        front.seen()
    );

    let run = c.spice_env(
        &["diagnose", "-o", "json"],
        &[("SPICE_PROMETHEUS_TENANT", "spice-prod")],
    );
    let report = run.json();
    assert_eq!(run.code, 0, "stderr: {}\n{}", run.stderr, table(&report));
    let read_from = report["readFrom"].as_str().unwrap_or_default();
    assert!(
        read_from.contains("(ScaledObject trigger, tenant spice-prod)"),
        "{read_from}"
    );
    assert!(
        front.seen().contains(&Some("spice-prod".to_string())),
        "{:?}",
        front.seen()
    );
}

/// A set tenant other than the trigger's: the plugin reads its own (no
/// second guess) and keda.trigger warns with both tenants.
#[test]
fn a_prometheus_tenant_other_than_the_triggers_warns_with_both() {
    let (c, front) = mimir("mimir-tenant");
    let (_, report) = diagnose(&c, &["--prometheus-tenant", "spice-staging"]);
    assert_outcome(&report, "keda.trigger", "warn");
    let msg = message(&report, "keda.trigger");
    assert!(
        msg.contains("tenant spice-prod") && msg.contains("tenant spice-staging"),
        "{msg}"
    );
    let seen = front.seen();
    assert!(
        !seen.is_empty() && seen.iter().all(|t| t.as_deref() == Some("spice-staging")),
        "{seen:?}"
    );
    // The tenant goes into a header: anything but a tenant ID is refused.
    let bad = c.spice(&["diagnose", "--prometheus-tenant", "a\r\nX-Injected: 1"]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("prometheusTenant"), "{}", bad.stderr);
    assert!(!bad.stderr.contains("X-Injected: 1\n"), "{}", bad.stderr);
}
