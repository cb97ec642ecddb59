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

/// Cluster Autoscaler's status ConfigMap forbidden: the plugin cannot see
/// what CA says, which is not "no node autoscaler": `nodes.scale-up` is an
/// error naming the ConfigMap and the RBAC to grant.
#[test]
fn a_forbidden_cluster_autoscaler_status_is_a_gap_with_the_rbac_fix() {
    let mut s = crate::support::scenario::Scenario::load("cluster-autoscaler-scale-up");
    // Without its status and its events (both unreadable or gone) nothing
    // says Cluster Autoscaler runs; the 403 must still be said.
    s.objects
        .retain(|o| o["kind"] != "Event" || o["source"]["component"] != "cluster-autoscaler");
    s.meta.forbidden.push(crate::support::scenario::Forbidden {
        verb: "get".into(),
        resource: "configmaps".into(),
        group: String::new(),
        namespace: Some("kube-system".into()),
    });
    // Its base (pending-no-node) holds a Helm install in `karpenter`: forbid
    // that one too, or the controller is rightly found there.
    s.meta.forbidden.push(crate::support::scenario::Forbidden {
        verb: "list".into(),
        resource: "pods".into(),
        group: String::new(),
        namespace: Some("karpenter".into()),
    });
    let c = Cluster::with(s, true);
    let (_, report) = diagnose(&c, &[]);
    assert_outcome(&report, "nodes.scale-up", "error");
    // The pending pod still fails pods.pending (exit 1 wins over 3); the
    // run says it is incomplete and which source it could not read.
    assert_eq!(report["summary"]["incomplete"], true, "{}", table(&report));
    assert_eq!(
        report["summary"]["unreadSources"][0]["source"],
        "cluster-autoscaler-status"
    );
    let msg = message(&report, "nodes.scale-up");
    assert!(msg.contains("cluster-autoscaler-status"), "{msg}");
    let hint = fix(&report, "nodes.scale-up");
    assert!(
        hint.contains("configmaps") && hint.contains("kube-system"),
        "{hint}"
    );
}

/// `karpenterNamespace` overrides the search: only that namespace is read
/// for Karpenter's controller; a 403 there is said with the RBAC, not "no
/// controller pod found".
#[test]
fn karpenter_namespace_is_the_only_place_read_and_a_403_there_is_said() {
    let c = Cluster::start("karpenter-limits-reached");
    let (_, report) = {
        let run = c.spice_env(
            &["diagnose", "-o", "json"],
            &[("SPICE_KARPENTER_NAMESPACE", "kube-system")],
        );
        let report = run.json();
        (run, report)
    };
    let evidence = check(&report, "nodes.scale-up")["evidence"].to_string();
    assert!(
        evidence.contains("Karpenter controller: karpenter-6f9d8c7b5d-w4xkq Running"),
        "{evidence}"
    );
    let karpenter_lists = |c: &Cluster, ns: &str| {
        c.sim
            .requests()
            .iter()
            .filter(|r| {
                r.contains(&format!("/api/v1/namespaces/{ns}/pods?"))
                    && r.contains("app.kubernetes.io%2Fname%3Dkarpenter")
            })
            .count()
    };
    assert_eq!(
        karpenter_lists(&c, "karpenter"),
        0,
        "{:#?}",
        c.sim.requests()
    );
    assert!(
        karpenter_lists(&c, "kube-system") >= 1,
        "{:#?}",
        c.sim.requests()
    );

    let mut s = crate::support::scenario::Scenario::load("karpenter-limits-reached");
    s.meta.forbidden.push(crate::support::scenario::Forbidden {
        verb: "list".into(),
        resource: "pods".into(),
        group: String::new(),
        namespace: Some("kube-system".into()),
    });
    // Its base (pending-no-node) holds a Helm install in `karpenter`: forbid
    // that one too, or the controller is rightly found there.
    s.meta.forbidden.push(crate::support::scenario::Forbidden {
        verb: "list".into(),
        resource: "pods".into(),
        group: String::new(),
        namespace: Some("karpenter".into()),
    });
    let c = Cluster::with(s, true);
    let (_, report) = diagnose(&c, &[]);
    let evidence = check(&report, "nodes.scale-up")["evidence"].to_string();
    assert!(
        evidence.contains("Karpenter's controller pods could not be read")
            && !evidence.contains("no Karpenter controller pod found"),
        "{evidence}"
    );
}

/// Loki behind the usual chart's gateway: the configured `observability/loki`
/// does not exist, the gateway probed beside the Loki reads does, so Loki
/// is read through it (one more round, only then) and the header says so;
/// readiness comes from the query, not `/ready`.
#[test]
fn loki_behind_the_charts_gateway_is_found_and_read_through_it() {
    use crate::support::loki::{FakeLoki, LokiConfig};
    let c = Cluster::start("loki-gateway");
    let loki = FakeLoki::start(LokiConfig::heartbeats(180.0, 3.0));
    c.sim
        .set_proxy_upstream("observability", "loki-gateway", "80", &loki.url());
    let (run, report) = diagnose(&c, &[]);
    assert_eq!(run.code, 0, "stderr: {}\n{}", run.stderr, table(&report));
    assert_outcome(&report, "loki.reachable", "pass");
    assert!(
        message(&report, "loki.reachable").contains("observability/loki-gateway:80"),
        "{}",
        table(&report)
    );
    assert_outcome(&report, "loki.heartbeats", "pass");
    let read_from = report["readFrom"].as_str().unwrap_or_default();
    assert!(
        read_from.ends_with("Loki observability/loki-gateway:80 (gateway)"),
        "{read_from}"
    );
    assert!(
        loki.seen()
            .iter()
            .any(|r| r.starts_with("/loki/api/v1/query"))
            && !loki.seen().iter().any(|r| r == "/ready"),
        "{:?}",
        loki.seen()
    );
    // The gateway's Service without endpoints (Loki down behind it) is no
    // gateway to read: Loki is not installed at the configured Service.
    drop(loki);
    let c = Cluster::start("loki-gateway");
    let (run, report) = diagnose(&c, &[]);
    assert_eq!(run.code, 0, "stderr: {}\n{}", run.stderr, table(&report));
    assert_outcome(&report, "loki.reachable", "skip");
}

/// `config view` stays offline and says which values the cluster would
/// decide; `--discover` reads the cluster and shows what it found and what
/// said so (table and JSON).
#[test]
fn config_view_says_what_is_discoverable_offline_and_shows_it_with_discover() {
    let (c, _front) = mimir("mimir-tenant");
    let setting = |view: &serde_json::Value, key: &str| {
        view["settings"]
            .as_array()
            .and_then(|a| a.iter().find(|s| s["key"] == key))
            .cloned()
            .unwrap_or_default()
    };

    c.sim.reset_requests();
    let offline = c.spice(&["config", "view", "-o", "json"]);
    assert_eq!(offline.code, 0, "{}", offline.stderr);
    assert!(c.sim.requests().is_empty(), "{:#?}", c.sim.requests());
    let view = offline.json();
    assert_eq!(view["discovered"], false);
    let prom = setting(&view, "prometheusService");
    assert_eq!(prom["value"], "observability/prometheus:9090", "{prom}");
    assert_eq!(prom["source"]["kind"], "default", "{prom}");
    assert!(
        prom["discoverable"]
            .as_str()
            .is_some_and(|d| d.contains("ScaledObject trigger serverAddress")),
        "{prom}"
    );
    let table = c.spice(&["config", "view"]);
    assert!(
        table.stdout.contains("default (else discovered*)")
            && table
                .stdout
                .contains("kubectl spice config view --discover"),
        "{}",
        table.stdout
    );

    let found = c.spice(&["config", "view", "--discover", "-o", "json"]);
    assert_eq!(found.code, 0, "{}", found.stderr);
    let view = found.json();
    assert_eq!(view["discovered"], true);
    let prom = setting(&view, "prometheusService");
    assert_eq!(prom["value"], "mimir/mimir-nginx:80/prometheus", "{prom}");
    assert_eq!(prom["source"]["kind"], "discovered", "{prom}");
    assert_eq!(
        prom["source"]["from"], "ScaledObject trigger serverAddress",
        "{prom}"
    );
    let tenant = setting(&view, "prometheusTenant");
    assert_eq!(tenant["value"], "spice-prod", "{tenant}");
    assert_eq!(
        tenant["source"]["from"], "ScaledObject trigger customHeaders",
        "{tenant}"
    );
    // A value that is set is never replaced by what the cluster says.
    let set = c.spice(&[
        "config",
        "view",
        "--discover",
        "-o",
        "json",
        "--prometheus-service",
        "mimir/mimir-nginx:80",
    ]);
    let prom = setting(&set.json(), "prometheusService");
    assert_eq!(prom["source"]["kind"], "flag", "{prom}");
    let table = c.spice(&["config", "view", "--discover"]);
    assert!(
        table
            .stdout
            .contains("discovered: ScaledObject trigger customHeaders"),
        "{}",
        table.stdout
    );
}

/// KEDA found through the APIService (the AKS add-on in kube-system) is
/// shown with that source.
#[test]
fn config_view_discover_names_the_apiservice_for_keda() {
    let c = Cluster::start("keda-aks-addon");
    let run = c.spice(&["config", "view", "--discover", "-o", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let view = run.json();
    let keda = view["settings"]
        .as_array()
        .and_then(|a| a.iter().find(|s| s["key"] == "kedaNamespace"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(keda["value"], "kube-system", "{keda}");
    assert_eq!(
        keda["source"]["from"], "APIService v1beta1.external.metrics.k8s.io",
        "{keda}"
    );
}
