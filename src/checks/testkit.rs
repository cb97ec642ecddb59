//! Builders for small snapshots in unit tests: start from `healthy()` (the
//! runbook's setup, working: 3 sessions, 3 Running pods, KEDA Ready/Active,
//! HPA 3/3, 3 Ready nodes) and change only what a test is about.

use super::{Ctx, Outcome, Verdict};
use crate::domain::promql;
use crate::domain::snapshot::*;
use crate::settings::Settings;
use jiff::{SignedDuration, Timestamp};
use std::collections::BTreeMap;

/// The fixed "now" of every test snapshot.
pub fn now() -> Timestamp {
    "2026-11-27T12:00:00Z".parse().expect("valid time")
}

/// `secs` seconds before `now()`.
pub fn ago(secs: i64) -> Timestamp {
    now() - SignedDuration::from_secs(secs)
}

pub fn cond(type_: &str, status: &str, reason: &str, message: &str) -> Condition {
    Condition {
        type_: type_.into(),
        status: status.into(),
        reason: Some(reason.into()),
        message: Some(message.into()),
        last_transition_time: Some(ago(600)),
    }
}

pub fn container(name: &str) -> ContainerInfo {
    ContainerInfo {
        name: name.into(),
        ready: true,
        restarts: 0,
        state: "running".into(),
        waiting_reason: None,
        terminated_reason: None,
        message: None,
        started_at: Some(ago(580)),
        sidecar: false,
    }
}

/// A Running, Ready game pod created `age` seconds ago, Ready 20 s later.
pub fn running_pod(name: &str, age: i64) -> PodInfo {
    PodInfo {
        name: name.into(),
        namespace: "default".into(),
        phase: "Running".into(),
        node: Some("node-a".into()),
        created: Some(ago(age)),
        deleting: None,
        grace_period_secs: None,
        ready: true,
        ready_since: Some(ago(age - 20)),
        restarts: 0,
        containers: vec![container("spice-runner"), container("alloy")],
        scheduled: Some(cond("PodScheduled", "True", "Scheduled", "")),
        nominated_node: None,
    }
}

/// A Pending, unschedulable game pod created `age` seconds ago.
pub fn pending_pod(name: &str, age: i64) -> PodInfo {
    let mut p = running_pod(name, age);
    p.phase = "Pending".into();
    p.node = None;
    p.ready = false;
    p.ready_since = None;
    for c in &mut p.containers {
        c.ready = false;
        c.state = "waiting".into();
        c.waiting_reason = Some("ContainerCreating".into());
        c.started_at = None;
    }
    p.scheduled = Some(cond(
        "PodScheduled",
        "False",
        "Unschedulable",
        "0/3 nodes are available: 3 Insufficient cpu.",
    ));
    p
}

pub fn node(name: &str, pool: Option<&str>) -> NodeInfo {
    NodeInfo {
        name: name.into(),
        ready: true,
        unschedulable: false,
        created: Some(ago(86_400)),
        node_pool: pool.map(str::to_string),
        instance_type: Some("m6i.large".into()),
        capacity_type: Some("on-demand".into()),
        zone: Some("us-west-2a".into()),
        allocatable_cpu: Some(1.93),
        allocatable_memory: Some(7_291_944_960.0),
    }
}

pub fn event(
    kind: &str,
    name: &str,
    type_: &str,
    reason: &str,
    message: &str,
    secs_ago: i64,
) -> EventInfo {
    EventInfo {
        object_kind: kind.into(),
        object_name: name.into(),
        type_: type_.into(),
        reason: reason.into(),
        message: message.into(),
        count: 1,
        source: None,
        last_seen: Some(ago(secs_ago)),
    }
}

pub fn scaled_object() -> ScaledObjectInfo {
    let mut metadata = BTreeMap::new();
    metadata.insert(
        "serverAddress".into(),
        "http://prometheus.observability.svc:9090".into(),
    );
    metadata.insert(
        "query".into(),
        r#"sum(rate(nginx_http_requests_total{service="spice-runner-nginx"}[1m]))"#.into(),
    );
    metadata.insert("threshold".into(), "1".into());
    metadata.insert("activationThreshold".into(), "0.2".into());
    ScaledObjectInfo {
        name: "spice-runner-keda".into(),
        target_api_version: Some("apps/v1".into()),
        target_kind: Some("Deployment".into()),
        target_name: "spice-runner".into(),
        polling_interval: Some(5),
        cooldown_period: Some(30),
        initial_cooldown_period: None,
        min_replicas: Some(0),
        max_replicas: Some(200),
        idle_replicas: None,
        fallback: None,
        hpa_name_override: None,
        scale_down_stabilization: None,
        triggers: vec![TriggerInfo {
            type_: "prometheus".into(),
            name: None,
            metric_type: None,
            metadata,
            authentication_ref: None,
        }],
        annotations: BTreeMap::new(),
        conditions: vec![
            cond(
                "Ready",
                "True",
                "ScaledObjectReady",
                "ScaledObject is defined correctly and is ready for scaling",
            ),
            cond(
                "Active",
                "True",
                "ScalerActive",
                "Scaling is performed because triggers are active",
            ),
            cond(
                "Fallback",
                "False",
                "NoFallbackFound",
                "No fallbacks are active on this scaled object",
            ),
            cond(
                "Paused",
                "False",
                "ScaledObjectUnpaused",
                "pause annotation removed for ScaledObject",
            ),
        ],
        hpa_name: Some("keda-hpa-spice-runner-keda".into()),
        last_active_time: Some(ago(5)),
        external_metric_names: vec!["s0-prometheus".into()],
        paused_replica_count: None,
        hpa_behavior: None,
        scaling_modifiers: None,
    }
}

pub fn hpa(replicas: i32) -> HpaInfo {
    HpaInfo {
        name: "keda-hpa-spice-runner-keda".into(),
        min_replicas: Some(1),
        max_replicas: 200,
        current_replicas: Some(replicas),
        desired_replicas: replicas,
        metrics: vec![HpaMetric {
            type_: "External".into(),
            name: "s0-prometheus".into(),
            target_type: Some("AverageValue".into()),
            target: Some("1".into()),
            current: Some("1".into()),
        }],
        conditions: vec![
            cond(
                "AbleToScale",
                "True",
                "ReadyForNewScale",
                "recommended size matches current size",
            ),
            cond(
                "ScalingActive",
                "True",
                "ValidMetricFound",
                "the HPA was able to successfully calculate a replica count from external metric s0-prometheus",
            ),
            cond(
                "ScalingLimited",
                "False",
                "DesiredWithinRange",
                "the desired count is within the acceptable range",
            ),
        ],
        last_scale_time: Some(ago(300)),
        scale_down_stabilization: None,
        owners: vec!["spice-runner-keda".into()],
        behavior: None,
    }
}

/// A one-sample Prometheus answer.
pub fn answer(query: &str, value: f64) -> PromAnswer {
    PromAnswer {
        query: query.into(),
        samples: Some(vec![Sample {
            labels: BTreeMap::new(),
            value,
            timestamp: now().as_second() as f64,
        }]),
        error: None,
    }
}

/// An empty Prometheus answer (no series matched).
pub fn empty(query: &str) -> PromAnswer {
    PromAnswer {
        query: query.into(),
        samples: Some(vec![]),
        error: None,
    }
}

/// The runbook's setup, working.
pub fn healthy() -> Snapshot {
    let mut s = Snapshot::new(now(), "default");
    s.context = Some("test".into());
    s.apis = Apis {
        keda: Some(true),
        karpenter: Some(true),
        karpenter_version: Some("v1".into()),
    };
    s.pods = Some(vec![
        running_pod("spice-runner-7d9c8b5f4-aaaaa", 600),
        running_pod("spice-runner-7d9c8b5f4-bbbbb", 500),
        running_pod("spice-runner-7d9c8b5f4-ccccc", 400),
    ]);
    s.deployment = Some(Lookup::Found(DeploymentInfo {
        name: "spice-runner".into(),
        replicas: Some(3),
        ready_replicas: 3,
        available_replicas: 3,
        status_replicas: 3,
    }));
    s.scaled_object = Some(Lookup::Found(scaled_object()));
    s.hpas = Some(vec![hpa(3)]);
    s.nodes = Some(vec![
        node("node-a", Some("default")),
        node("node-b", Some("default")),
        node("node-sys", None),
    ]);
    s.node_pools = Some(vec![NodePoolInfo {
        name: "default".into(),
        consolidation_policy: Some("WhenEmptyOrUnderutilized".into()),
        consolidate_after: Some("30s".into()),
        nodes: Some(2),
        conditions: vec![cond("Ready", "True", "Ready", "")],
        budgets: vec![BudgetInfo {
            nodes: "10%".into(),
            schedule: None,
            duration: None,
            reasons: vec![],
        }],
        limits: Default::default(),
        resources: Default::default(),
    }]);
    s.node_claims = Some(vec![]);
    s.events = Some(vec![]);
    s.operator_pods = Some(vec![{
        let mut p = running_pod("keda-operator-6b8f9d7c5d-xk2lp", 86_400);
        p.namespace = "keda".into();
        p.containers = vec![container("keda-operator")];
        p
    }]);
    s.metrics_apiserver_pods = Some(vec![{
        let mut p = running_pod("keda-operator-metrics-apiserver-5c7d9f8b6-p4t7n", 86_400);
        p.namespace = "keda".into();
        p.containers = vec![container("keda-operator-metrics-apiserver")];
        p
    }]);
    s.operator_logs = Some(vec![]);
    s.prometheus_rules = Some(vec![]);
    s.loki = Some(LokiData {
        query: r#"{job="faro"} | logfmt | event_name="game_session_heartbeat""#.into(),
        heartbeats_5m: Some(3.0 * 0.2 * 300.0),
        active_sessions_2m: Some(3.0),
        labels: vec![],
        error: None,
    });
    let settings = Settings::defaults();
    let mut put = |q: promql::Query, v: Option<f64>| {
        let a = match v {
            Some(v) => answer(&q.promql, v),
            None => empty(&q.promql),
        };
        s.prometheus.insert(q.key.to_string(), a);
    };
    put(promql::sessions(&settings), Some(3.0));
    put(promql::running_pods(&settings), Some(3.0));
    put(promql::pending_pods(&settings), Some(0.0));
    put(promql::nodes(), Some(3.0));
    put(
        promql::nginx_series(&settings),
        Some(now().as_second() as f64 - 10.0),
    );
    put(promql::ksm_series(), Some(45.0));
    put(promql::sessions_max_5m(&settings), Some(3.0));
    for q in promql::alert_queries(&settings) {
        // Healthy: neither shipped alert's expression has a value.
        put(q, None);
    }
    // The last 30 min of running pods (diagnose --symptom too-fast): steady.
    let end = now().as_millisecond() as f64 / 1000.0;
    s.prometheus.insert(
        promql::RUNNING_PODS_30M.into(),
        PromAnswer {
            query: String::new(),
            samples: Some(
                (0..120)
                    .map(|i| Sample {
                        labels: Default::default(),
                        value: 3.0,
                        timestamp: end - f64::from(119 - i) * 15.0,
                    })
                    .collect(),
            ),
            error: None,
        },
    );
    s
}

/// Sets the value (or emptiness) of one Prometheus answer by key.
pub fn set_prom(s: &mut Snapshot, key: &str, value: Option<f64>) {
    let query = s
        .prometheus
        .get(key)
        .map(|a| a.query.clone())
        .unwrap_or_else(|| key.to_string());
    let a = match value {
        Some(v) => answer(&query, v),
        None => empty(&query),
    };
    s.prometheus.insert(key.to_string(), a);
}

/// Records a gap for a source.
pub fn gap(s: &mut Snapshot, source: &str, reason: GapReason, message: &str) {
    s.gaps.push(Gap {
        source: source.into(),
        reason,
        message: message.into(),
        hint: "the hint".into(),
    });
}

/// Evaluates one check function against a snapshot with default settings.
pub fn eval(f: fn(&Ctx) -> Verdict, s: &Snapshot) -> Verdict {
    let settings = Settings::defaults();
    f(&Ctx::new(s, &settings))
}

/// Asserts the outcome and that the message contains `needle`.
#[track_caller]
pub fn expect(v: &Verdict, outcome: Outcome, needle: &str) {
    assert_eq!(v.outcome, outcome, "{v:#?}");
    assert!(
        v.message.contains(needle),
        "message {:?} lacks {needle:?}",
        v.message
    );
    if matches!(outcome, Outcome::Warn | Outcome::Fail) {
        assert!(
            v.fix.is_some() || v.command.is_some(),
            "a {outcome:?} needs a remediation: {v:#?}"
        );
    }
}

/// Sets one Prometheus answer to several series (labelled `instance=i0`, `i1`, ...).
pub fn set_prom_samples(s: &mut Snapshot, key: &str, values: &[f64]) {
    set_prom(s, key, None);
    if let Some(a) = s.prometheus.get_mut(key) {
        a.samples = Some(
            values
                .iter()
                .enumerate()
                .map(|(i, v)| Sample {
                    labels: BTreeMap::from([("instance".to_string(), format!("i{i}"))]),
                    value: *v,
                    timestamp: now().as_second() as f64,
                })
                .collect(),
        );
    }
}

/// Makes one Prometheus answer a failed query with Prometheus's error text.
pub fn set_prom_error(s: &mut Snapshot, key: &str, message: &str) {
    set_prom(s, key, None);
    if let Some(a) = s.prometheus.get_mut(key) {
        a.samples = None;
        a.error = Some(message.into());
    }
}

/// An alerting rule as Prometheus's /api/v1/rules reports it.
pub fn rule(group: &str, name: &str, query: &str) -> RuleInfo {
    RuleInfo {
        group: group.into(),
        name: name.into(),
        query: query.into(),
        state: "inactive".into(),
    }
}

/// A Karpenter NodeClaim created `age` seconds ago: Launched, and with
/// `ready` also Registered and Initialized (with a node), else still in flight.
pub fn node_claim(name: &str, age: i64, ready: bool) -> NodeClaimInfo {
    let mut conditions = vec![cond("Launched", "True", "Launched", "")];
    if ready {
        conditions.push(cond("Registered", "True", "Registered", ""));
        conditions.push(cond("Initialized", "True", "Initialized", ""));
    }
    NodeClaimInfo {
        name: name.into(),
        node_pool: Some("default".into()),
        node_name: ready.then(|| format!("node-{name}")),
        created: Some(ago(age)),
        conditions,
    }
}

/// Karpenter's Nominated event on a pod, for a NodeClaim.
pub fn nominated(pod: &str, claim: &str, secs_ago: i64) -> EventInfo {
    event(
        "Pod",
        pod,
        "Normal",
        "Nominated",
        &format!("Pod should schedule on: nodeclaim/{claim}"),
        secs_ago,
    )
}

/// Asserts every check of an area passes on the healthy snapshot.
#[track_caller]
pub fn assert_healthy_passes(area: super::Area) {
    let s = healthy();
    for c in super::of_area(area) {
        let v = eval(c.eval, &s);
        assert_eq!(v.outcome, Outcome::Pass, "{}: {v:#?}", c.id);
    }
}

/// Evaluates one check function against a snapshot with these settings.
pub fn eval_with(f: fn(&Ctx) -> Verdict, s: &Snapshot, settings: &Settings) -> Verdict {
    f(&Ctx::new(s, settings))
}

/// `healthy()` with KEDA scaling StatefulSet `spice-runner` and the collect
/// step having followed it (selector `app=spice-runner` from its
/// spec.selector), and the settings it is judged by.
pub fn statefulset_target() -> (Snapshot, Settings) {
    let mut s = healthy();
    if let Some(Lookup::Found(so)) = s.scaled_object.as_mut() {
        so.target_kind = Some("StatefulSet".into());
    }
    // The configured Deployment the collect step read is not the target.
    s.deployment = Some(Lookup::Missing);
    s.scale_target = Some(crate::domain::snapshot::TargetFound {
        kind: "StatefulSet".into(),
        name: "spice-runner".into(),
        instead_of: "spice-runner".into(),
        selector: Some("app=spice-runner".into()),
        missing: false,
        pod_management_policy: Some("Parallel".into()),
    });
    let mut settings = Settings::defaults();
    settings.follow_statefulset("spice-runner");
    (s, settings)
}
