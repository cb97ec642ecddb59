//! Kubernetes objects → the Snapshot's plain summaries. Only what the checks
//! and views read is kept; nothing secret (env, volumes, trigger auth) is.

use super::wire::{self, Deployment, Event, Node, Pod};
use crate::snapshot::*;
use jiff::Timestamp;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use serde_json::Value;
use std::collections::BTreeMap;

fn ts(t: &Option<k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>) -> Option<Timestamp> {
    t.as_ref().map(|t| t.0)
}

fn ts_str(v: &Value) -> Option<Timestamp> {
    v.as_str()?.parse().ok()
}

pub fn pod(p: &Pod) -> PodInfo {
    let meta = &p.metadata;
    let status = &p.status;
    let ready_cond = status.conditions.iter().find(|c| c.type_ == "Ready");
    let ready = ready_cond.is_some_and(|c| c.status == "True");
    let scheduled = status
        .conditions
        .iter()
        .find(|c| c.type_ == "PodScheduled")
        .map(condition);
    // A native sidecar is an init container with restartPolicy Always; a
    // plain init container has finished before the pod runs and is left out.
    let names = p
        .spec
        .containers
        .iter()
        .map(|c| (c.name.as_str(), false))
        .chain(
            p.spec
                .init_containers
                .iter()
                .filter(|c| c.restart_policy.as_deref() == Some("Always"))
                .map(|c| (c.name.as_str(), true)),
        );
    let containers: Vec<ContainerInfo> = names
        .map(|(name, sidecar)| {
            let st = status
                .container_statuses
                .iter()
                .chain(status.init_container_statuses.iter())
                .find(|s| s.name == name);
            container(name, sidecar, st)
        })
        .collect();
    PodInfo {
        name: meta.name.clone().unwrap_or_default(),
        namespace: meta.namespace.clone().unwrap_or_default(),
        phase: status.phase.as_deref().unwrap_or_default().into(),
        node: p.spec.node_name.clone(),
        created: ts(&meta.creation_timestamp),
        deleting: ts(&meta.deletion_timestamp),
        grace_period_secs: meta.deletion_grace_period_seconds,
        ready,
        ready_since: if ready {
            ready_cond.and_then(|c| ts(&c.last_transition_time))
        } else {
            None
        },
        restarts: containers.iter().map(|c| c.restarts).sum(),
        containers,
        scheduled,
        nominated_node: status.nominated_node_name.clone(),
    }
}

fn condition(c: &wire::Condition) -> Condition {
    Condition {
        type_: c.type_.clone(),
        status: c.status.clone(),
        reason: c.reason.clone(),
        message: c.message.clone(),
        last_transition_time: ts(&c.last_transition_time),
    }
}

/// One container of the spec with its status, if the kubelet reported one.
fn container(name: &str, sidecar: bool, st: Option<&wire::ContainerStatus>) -> ContainerInfo {
    let Some(s) = st else {
        return ContainerInfo {
            name: name.to_string(),
            ready: false,
            restarts: 0,
            state: "unknown".into(),
            waiting_reason: None,
            terminated_reason: None,
            message: None,
            started_at: None,
            sidecar,
        };
    };
    let state = &s.state;
    let (state_name, waiting_reason, terminated_reason, message, started_at) =
        if let Some(w) = &state.waiting {
            ("waiting", w.reason.clone(), None, w.message.clone(), None)
        } else if let Some(t) = &state.terminated {
            (
                "terminated",
                None,
                t.reason.clone(),
                t.message.clone(),
                ts(&t.started_at),
            )
        } else if let Some(r) = &state.running {
            ("running", None, None, None, ts(&r.started_at))
        } else {
            ("unknown", None, None, None, None)
        };
    ContainerInfo {
        name: name.to_string(),
        ready: s.ready,
        restarts: s.restart_count,
        state: state_name.into(),
        waiting_reason,
        terminated_reason,
        message,
        started_at,
        sidecar,
    }
}

pub fn deployment(d: &Deployment) -> DeploymentInfo {
    let status = d.status.clone().unwrap_or_default();
    DeploymentInfo {
        name: d.metadata.name.clone().unwrap_or_default(),
        replicas: d.spec.as_ref().and_then(|s| s.replicas),
        ready_replicas: status.ready_replicas.unwrap_or(0),
        available_replicas: status.available_replicas.unwrap_or(0),
        status_replicas: status.replicas.unwrap_or(0),
    }
}

pub fn node(n: &Node) -> NodeInfo {
    let label = |k: &str| n.metadata.labels.as_ref().and_then(|l| l.get(k)).cloned();
    NodeInfo {
        name: n.metadata.name.clone().unwrap_or_default(),
        ready: n.status.ready,
        unschedulable: n.spec.unschedulable,
        created: ts(&n.metadata.creation_timestamp),
        node_pool: label("karpenter.sh/nodepool"),
        instance_type: label("node.kubernetes.io/instance-type"),
        capacity_type: label("karpenter.sh/capacity-type"),
        zone: label("topology.kubernetes.io/zone"),
        allocatable_cpu: allocatable(n.status.allocatable.cpu.as_deref()),
        allocatable_memory: allocatable(n.status.allocatable.memory.as_deref()),
    }
}

/// A node's allocatable quantity as a number (cores, bytes); absent when the
/// node was read as a Table row, which carries none.
fn allocatable(quantity: Option<&str>) -> Option<f64> {
    crate::domain::quantity::parse(quantity?)
}

/// When an event was last seen and how many times, from either API that
/// writes events. The core/v1 recorder fills `lastTimestamp` and `count`; the
/// events.k8s.io recorder (kube-scheduler, KEDA 2.20) fills `eventTime` once and
/// counts repeats in `series {count, lastObservedTime}`, leaving the others
/// empty. A repeating events.k8s.io event is therefore as recent as its
/// series says, not as its first `eventTime`; the latest time and the larger
/// count win, so an event written through both views is never aged or
/// undercounted.
pub fn event_seen(e: &Event) -> (Option<Timestamp>, i32) {
    let series = e.series.as_ref();
    let latest = [
        series.and_then(|s| s.last_observed_time.as_ref().map(|t| t.0)),
        ts(&e.last_timestamp),
        e.event_time.as_ref().map(|t| t.0),
    ]
    .into_iter()
    .flatten()
    .max()
    .or_else(|| ts(&e.first_timestamp))
    .or_else(|| ts(&e.metadata.creation_timestamp));
    let count = e
        .count
        .unwrap_or(1)
        .max(series.and_then(|s| s.count).unwrap_or(1))
        .max(1);
    (latest, count)
}

pub fn event(e: &Event) -> EventInfo {
    let (last_seen, count) = event_seen(e);
    EventInfo {
        object_kind: e.involved_object.kind.clone().unwrap_or_default(),
        object_name: e.involved_object.name.clone().unwrap_or_default(),
        type_: e.type_.clone().unwrap_or_else(|| "Normal".into()),
        reason: e.reason.clone().unwrap_or_default(),
        message: e.message.clone().unwrap_or_default().trim().to_string(),
        count,
        source: e
            .source
            .as_ref()
            .and_then(|s| s.component.clone())
            .or_else(|| e.reporting_component.clone())
            .filter(|s| !s.is_empty()),
        last_seen,
    }
}

fn quantity(q: &Option<k8s_openapi::apimachinery::pkg::api::resource::Quantity>) -> Option<String> {
    q.as_ref().map(|q| q.0.clone())
}

pub fn hpa(h: &HorizontalPodAutoscaler) -> HpaInfo {
    let spec = h.spec.clone().unwrap_or_default();
    let status = h.status.clone().unwrap_or_default();
    let current = status.current_metrics.clone().unwrap_or_default();
    let mut metrics = Vec::new();
    for (i, m) in spec.metrics.clone().unwrap_or_default().iter().enumerate() {
        let (name, target_type, target) = match (&m.external, &m.resource, &m.pods, &m.object) {
            (Some(e), _, _, _) => (
                e.metric.name.clone(),
                Some(e.target.type_.clone()),
                quantity(&e.target.average_value).or_else(|| quantity(&e.target.value)),
            ),
            (_, Some(r), _, _) => (
                r.name.clone(),
                Some(r.target.type_.clone()),
                r.target
                    .average_utilization
                    .map(|u| format!("{u}%"))
                    .or_else(|| quantity(&r.target.average_value)),
            ),
            (_, _, Some(p), _) => (
                p.metric.name.clone(),
                Some(p.target.type_.clone()),
                quantity(&p.target.average_value),
            ),
            (_, _, _, Some(o)) => (
                o.metric.name.clone(),
                Some(o.target.type_.clone()),
                quantity(&o.target.value),
            ),
            _ => (String::new(), None, None),
        };
        // The status slot of a metric that could not be fetched is an empty
        // MetricStatus; match by name where possible, else by position.
        let cur = current
            .iter()
            .find(|c| c.external.as_ref().is_some_and(|e| e.metric.name == name))
            .or_else(|| current.get(i));
        let current_value = cur.and_then(|c| {
            c.external
                .as_ref()
                .and_then(|e| {
                    quantity(&e.current.average_value).or_else(|| quantity(&e.current.value))
                })
                .or_else(|| {
                    c.resource.as_ref().and_then(|r| {
                        r.current
                            .average_utilization
                            .map(|u| format!("{u}%"))
                            .or_else(|| quantity(&r.current.average_value))
                    })
                })
                .or_else(|| {
                    c.pods
                        .as_ref()
                        .and_then(|p| quantity(&p.current.average_value))
                })
        });
        metrics.push(HpaMetric {
            type_: m.type_.clone(),
            name,
            target_type,
            target,
            current: current_value,
        });
    }
    HpaInfo {
        name: h.metadata.name.clone().unwrap_or_default(),
        min_replicas: spec.min_replicas,
        max_replicas: spec.max_replicas,
        current_replicas: status.current_replicas,
        desired_replicas: status.desired_replicas,
        metrics,
        conditions: status
            .conditions
            .unwrap_or_default()
            .iter()
            .map(|c| Condition {
                type_: c.type_.clone(),
                status: c.status.clone(),
                reason: c.reason.clone(),
                message: c.message.clone(),
                last_transition_time: ts(&c.last_transition_time),
            })
            .collect(),
        last_scale_time: ts(&status.last_scale_time),
        scale_down_stabilization: spec
            .behavior
            .as_ref()
            .and_then(|b| b.scale_down.as_ref())
            .and_then(|d| d.stabilization_window_seconds),
        owners: h
            .metadata
            .owner_references
            .clone()
            .unwrap_or_default()
            .iter()
            .filter(|o| o.kind == "ScaledObject")
            .map(|o| o.name.clone())
            .collect(),
        behavior: spec.behavior.as_ref().map(behavior),
    }
}

fn conditions(v: &Value) -> Vec<Condition> {
    v.as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|c| {
                    Some(Condition {
                        type_: c.get("type")?.as_str()?.to_string(),
                        status: c
                            .get("status")
                            .and_then(Value::as_str)
                            .unwrap_or("Unknown")
                            .to_string(),
                        reason: c.get("reason").and_then(Value::as_str).map(str::to_string),
                        message: c.get("message").and_then(Value::as_str).map(str::to_string),
                        last_transition_time: c.get("lastTransitionTime").and_then(ts_str),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

fn int(v: &Value) -> Option<i64> {
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
}

/// A ScaledObject from its JSON (KEDA's CRD has no Rust types we depend on).
pub fn scaled_object(obj: &Value) -> ScaledObjectInfo {
    let spec = &obj["spec"];
    let status = &obj["status"];
    let target = &spec["scaleTargetRef"];
    let annotations = obj["metadata"]["annotations"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(k, _)| k.starts_with("autoscaling.keda.sh/"))
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect::<BTreeMap<_, _>>()
        })
        .unwrap_or_default();
    let triggers = spec["triggers"]
        .as_array()
        .map(|ts| {
            ts.iter()
                .map(|t| TriggerInfo {
                    type_: t["type"].as_str().unwrap_or_default().to_string(),
                    name: t["name"].as_str().map(str::to_string),
                    metric_type: t["metricType"].as_str().map(str::to_string),
                    metadata: t["metadata"]
                        .as_object()
                        .map(|m| {
                            m.iter()
                                .filter(|(k, _)| TRIGGER_KEYS_KEPT.contains(&k.as_str()))
                                .map(|(k, v)| {
                                    let text = match v {
                                        Value::String(s) => s.clone(),
                                        other => other.to_string(),
                                    };
                                    let text = if k == "serverAddress" {
                                        crate::settings::redact_url(&text)
                                    } else if k == "customHeaders" {
                                        crate::domain::address::tenant_of_custom_headers(&text)
                                            .map(|t| format!("X-Scope-OrgID={t}"))
                                            .unwrap_or_default()
                                    } else {
                                        text
                                    };
                                    (k.clone(), text)
                                })
                                .filter(|(k, v)| k != "customHeaders" || !v.is_empty())
                                .collect()
                        })
                        .unwrap_or_default(),
                    authentication_ref: t["authenticationRef"]["name"].as_str().map(str::to_string),
                })
                .collect()
        })
        .unwrap_or_default();
    let hpa_config = &spec["advanced"]["horizontalPodAutoscalerConfig"];
    ScaledObjectInfo {
        name: obj["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        target_api_version: target["apiVersion"].as_str().map(str::to_string),
        target_kind: target["kind"].as_str().map(str::to_string),
        target_name: target["name"].as_str().unwrap_or_default().to_string(),
        polling_interval: int(&spec["pollingInterval"]),
        cooldown_period: int(&spec["cooldownPeriod"]),
        initial_cooldown_period: int(&spec["initialCooldownPeriod"]),
        min_replicas: int(&spec["minReplicaCount"]),
        max_replicas: int(&spec["maxReplicaCount"]),
        idle_replicas: int(&spec["idleReplicaCount"]),
        fallback: spec["fallback"].as_object().map(|_| Fallback {
            failure_threshold: int(&spec["fallback"]["failureThreshold"]),
            replicas: int(&spec["fallback"]["replicas"]),
            behavior: spec["fallback"]["behavior"].as_str().map(str::to_string),
        }),
        hpa_name_override: hpa_config["name"].as_str().map(str::to_string),
        scale_down_stabilization: int(
            &hpa_config["behavior"]["scaleDown"]["stabilizationWindowSeconds"],
        ),
        triggers,
        annotations,
        conditions: conditions(&status["conditions"]),
        hpa_name: status["hpaName"].as_str().map(str::to_string),
        last_active_time: ts_str(&status["lastActiveTime"]),
        external_metric_names: status["externalMetricNames"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
        paused_replica_count: int(&status["pausedReplicaCount"]),
        hpa_behavior: hpa_config["behavior"]
            .as_object()
            .map(|_| behavior_json(&hpa_config["behavior"])),
        scaling_modifiers: spec["advanced"]["scalingModifiers"].as_object().map(|_| {
            let m = &spec["advanced"]["scalingModifiers"];
            let text = |v: &Value| match v {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            };
            ScalingModifiersInfo {
                formula: m["formula"]
                    .as_str()
                    .map(|f| f.chars().take(FORMULA_MAX).collect()),
                target: text(&m["target"]),
                activation_target: text(&m["activationTarget"]),
                metric_type: m["metricType"].as_str().map(str::to_string),
            }
        }),
    }
}

/// `behavior` from a ScaledObject's JSON (the same shape as the HPA's).
fn behavior_json(b: &Value) -> BehaviorInfo {
    let rules = |r: &Value| {
        r.as_object().map(|_| ScalingRulesInfo {
            stabilization_window_seconds: int(&r["stabilizationWindowSeconds"]),
            select_policy: r["selectPolicy"].as_str().map(str::to_string),
            policies: r["policies"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .filter_map(|p| {
                            Some(ScalingPolicyInfo {
                                type_: p["type"].as_str()?.to_string(),
                                value: int(&p["value"])?,
                                period_seconds: int(&p["periodSeconds"])?,
                            })
                        })
                        .collect()
                })
                .unwrap_or_default(),
            tolerance: match &r["tolerance"] {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            },
        })
    };
    BehaviorInfo {
        scale_up: rules(&b["scaleUp"]),
        scale_down: rules(&b["scaleDown"]),
    }
}

/// An HPA's `behavior` from its typed spec.
fn behavior(
    b: &k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscalerBehavior,
) -> BehaviorInfo {
    let rules = |r: &k8s_openapi::api::autoscaling::v2::HPAScalingRules| ScalingRulesInfo {
        stabilization_window_seconds: r.stabilization_window_seconds.map(i64::from),
        select_policy: r.select_policy.clone(),
        policies: r
            .policies
            .iter()
            .flatten()
            .map(|p| ScalingPolicyInfo {
                type_: p.type_.clone(),
                value: i64::from(p.value),
                period_seconds: i64::from(p.period_seconds),
            })
            .collect(),
        tolerance: r.tolerance.as_ref().map(|q| q.0.clone()),
    };
    BehaviorInfo {
        scale_up: b.scale_up.as_ref().map(rules),
        scale_down: b.scale_down.as_ref().map(rules),
    }
}

pub fn node_pool(obj: &Value) -> NodePoolInfo {
    NodePoolInfo {
        name: obj["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        consolidation_policy: obj["spec"]["disruption"]["consolidationPolicy"]
            .as_str()
            .map(str::to_string),
        consolidate_after: obj["spec"]["disruption"]["consolidateAfter"]
            .as_str()
            .map(str::to_string),
        nodes: int(&obj["status"]["nodes"]),
        conditions: conditions(&obj["status"]["conditions"]),
        budgets: obj["spec"]["disruption"]["budgets"]
            .as_array()
            .map(|bs| bs.iter().take(50).map(budget).collect())
            .unwrap_or_default(),
        limits: quantities(&obj["spec"]["limits"]),
        resources: quantities(&obj["status"]["resources"]),
    }
}

/// A budget's `nodes` is a string in karpenter.sh/v1 (`"10%"`, `"0"`);
/// a bare number is read as written.
fn budget(b: &Value) -> BudgetInfo {
    let text = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    BudgetInfo {
        nodes: text(&b["nodes"]).unwrap_or_else(|| "10%".into()),
        schedule: b["schedule"].as_str().map(str::to_string),
        duration: text(&b["duration"]),
        reasons: b["reasons"]
            .as_array()
            .map(|rs| {
                rs.iter()
                    .filter_map(|r| r.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// A resource list (`{cpu: "8", memory: 32Gi}`) as strings, at most 32.
fn quantities(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .map(|m| {
            m.iter()
                .take(32)
                .filter_map(|(k, v)| {
                    let q = match v {
                        Value::String(s) => s.clone(),
                        Value::Number(n) => n.to_string(),
                        _ => return None,
                    };
                    Some((k.clone(), q))
                })
                .collect()
        })
        .unwrap_or_default()
}

pub fn node_claim(obj: &Value) -> NodeClaimInfo {
    NodeClaimInfo {
        name: obj["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        node_pool: obj["metadata"]["labels"]["karpenter.sh/nodepool"]
            .as_str()
            .map(str::to_string),
        node_name: obj["status"]["nodeName"].as_str().map(str::to_string),
        created: ts_str(&obj["metadata"]["creationTimestamp"]),
        conditions: conditions(&obj["status"]["conditions"]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event_from(json: serde_json::Value) -> Event {
        serde_json::from_value(json).expect("an Event")
    }

    fn at(text: &str) -> Option<Timestamp> {
        Some(text.parse().expect("a time"))
    }

    #[test]
    fn custom_headers_keep_only_the_tenant_and_never_other_headers() {
        let so = |headers: &str| {
            scaled_object(&serde_json::json!({
                "metadata": {"name": "x"},
                "spec": {"scaleTargetRef": {"name": "d"}, "triggers": [{"type": "prometheus",
                    "metadata": {"customHeaders": headers}}]}
            }))
        };
        let kept = so("Authorization=Bearer s3cret,X-Scope-OrgID=tenant-a");
        assert_eq!(
            kept.triggers[0]
                .metadata
                .get("customHeaders")
                .map(String::as_str),
            Some("X-Scope-OrgID=tenant-a")
        );
        let none = so("Authorization=Bearer s3cret");
        assert_eq!(none.triggers[0].metadata.get("customHeaders"), None);
    }

    #[test]
    fn core_v1_events_use_last_timestamp_and_count() {
        let e = event_from(serde_json::json!({
            "metadata": {"name": "x", "creationTimestamp": "2026-08-24T09:00:00Z"},
            "involvedObject": {},
            "count": 7,
            "firstTimestamp": "2026-08-24T09:00:00Z",
            "lastTimestamp": "2026-08-24T09:20:00Z",
            "eventTime": null
        }));
        assert_eq!(event_seen(&e), (at("2026-08-24T09:20:00Z"), 7));
    }

    /// kube-scheduler and KEDA 2.20 write through events.k8s.io: a trigger
    /// failing for 20 minutes has its first eventTime 20 minutes ago and
    /// its series seconds ago, and no lastTimestamp or count at all.
    #[test]
    fn events_k8s_io_series_is_the_latest_sighting_and_count() {
        let e = event_from(serde_json::json!({
            "metadata": {"name": "x", "creationTimestamp": "2026-08-24T09:00:00Z"},
            "involvedObject": {},
            "eventTime": "2026-08-24T09:00:00.000000Z",
            "firstTimestamp": null,
            "lastTimestamp": null,
            "series": {"count": 240, "lastObservedTime": "2026-08-24T09:19:55.123456Z"}
        }));
        let (seen, count) = event_seen(&e);
        assert_eq!(
            seen.map(|t| t.as_second()),
            at("2026-08-24T09:19:55Z").map(|t| t.as_second())
        );
        assert_eq!(count, 240);
        let single = event_from(serde_json::json!({
            "metadata": {"name": "x"},
            "involvedObject": {},
            "eventTime": "2026-08-24T09:00:00.000000Z"
        }));
        assert_eq!(event_seen(&single), (at("2026-08-24T09:00:00Z"), 1));
    }

    #[test]
    fn the_latest_time_and_the_larger_count_win_and_old_fields_are_fallbacks() {
        let both = event_from(serde_json::json!({
            "metadata": {"name": "x"},
            "involvedObject": {},
            "count": 3,
            "lastTimestamp": "2026-08-24T09:30:00Z",
            "eventTime": "2026-08-24T09:10:00.000000Z",
            "series": {"count": 2, "lastObservedTime": "2026-08-24T09:25:00.000000Z"}
        }));
        assert_eq!(event_seen(&both), (at("2026-08-24T09:30:00Z"), 3));
        let bare = event_from(serde_json::json!({
            "metadata": {"name": "x", "creationTimestamp": "2026-08-24T08:00:00Z"},
            "involvedObject": {},
            "count": 0
        }));
        assert_eq!(event_seen(&bare), (at("2026-08-24T08:00:00Z"), 1));
    }

    // A game pod as the kubelet reports it (k8s.io/api core/v1 types.go,
    // v1.33): the app container in CrashLoopBackOff, a native sidecar (an
    // init container with restartPolicy Always) running, not Ready.
    #[test]
    fn a_pod_keeps_its_phase_container_states_and_native_sidecars() {
        let obj: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "spice-runner-7d9f-abcde", "namespace": "game",
                         "creationTimestamp": "2026-08-24T09:00:00Z"},
            "spec": {
                "nodeName": "ip-10-0-1-7",
                "containers": [{"name": "game"}],
                "initContainers": [{"name": "alloy", "restartPolicy": "Always"},
                                   {"name": "migrate"}]
            },
            "status": {
                "phase": "Running",
                "conditions": [
                    {"type": "Ready", "status": "False", "lastTransitionTime": "2026-08-24T09:01:00Z"},
                    {"type": "PodScheduled", "status": "True", "lastTransitionTime": "2026-08-24T09:00:01Z"}
                ],
                "containerStatuses": [{
                    "name": "game", "ready": false, "restartCount": 4, "image": "g", "imageID": "",
                    "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s restarting failed container"}}
                }],
                "initContainerStatuses": [{
                    "name": "alloy", "ready": true, "restartCount": 1, "image": "a", "imageID": "",
                    "state": {"running": {"startedAt": "2026-08-24T09:00:05Z"}}
                }]
            }
        }))
        .expect("a Pod");
        let info = pod(&obj);
        assert_eq!(info.phase, "Running");
        assert_eq!(info.node.as_deref(), Some("ip-10-0-1-7"));
        assert!(!info.ready);
        assert_eq!(info.ready_since, None, "only a Ready pod has a ready time");
        assert_eq!(info.restarts, 5);
        let names: Vec<(&str, bool)> = info
            .containers
            .iter()
            .map(|c| (c.name.as_str(), c.sidecar))
            .collect();
        // A plain init container is not a sidecar and is left out.
        assert_eq!(names, [("game", false), ("alloy", true)]);
        let game = &info.containers[0];
        assert_eq!(game.state, "waiting");
        assert_eq!(game.waiting_reason.as_deref(), Some("CrashLoopBackOff"));
        assert_eq!(info.containers[1].state, "running");
        assert_eq!(info.containers[1].started_at, at("2026-08-24T09:00:05Z"));
        assert_eq!(
            info.scheduled.as_ref().map(|c| c.status.as_str()),
            Some("True")
        );
    }

    // The HPA KEDA creates for a ScaledObject (keda v2.17
    // controllers/keda/hpa.go): one External metric `s0-prometheus`, with
    // the value the metrics API server reported in milli-units.
    #[test]
    fn an_hpa_keeps_its_external_metric_target_current_and_owner() {
        let obj: HorizontalPodAutoscaler = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "keda-hpa-spice-runner-keda",
                         "ownerReferences": [{"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
                                              "name": "spice-runner-keda", "uid": "u"}]},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "spice-runner"},
                "minReplicas": 1, "maxReplicas": 50,
                "metrics": [{"type": "External", "external": {
                    "metric": {"name": "s0-prometheus", "selector": {"matchLabels": {"scaledobject.keda.sh/name": "spice-runner-keda"}}},
                    "target": {"type": "AverageValue", "averageValue": "1"}}}],
                "behavior": {"scaleDown": {"stabilizationWindowSeconds": 15}}
            },
            "status": {
                "currentReplicas": 3, "desiredReplicas": 3,
                "currentMetrics": [{"type": "External", "external": {
                    "metric": {"name": "s0-prometheus"},
                    "current": {"averageValue": "1000m"}}}],
                "conditions": [{"type": "ScalingActive", "status": "True", "reason": "ValidMetricFound",
                                "lastTransitionTime": "2026-08-24T09:00:00Z"}]
            }
        }))
        .expect("an HPA");
        let info = hpa(&obj);
        assert_eq!(info.metrics.len(), 1);
        let m = &info.metrics[0];
        assert_eq!(m.name, "s0-prometheus");
        assert_eq!(m.target_type.as_deref(), Some("AverageValue"));
        assert_eq!(m.target.as_deref(), Some("1"));
        assert_eq!(m.current.as_deref(), Some("1000m"));
        assert_eq!(info.scale_down_stabilization, Some(15));
        assert_eq!(info.owners, ["spice-runner-keda"]);
        assert_eq!(
            info.conditions[0].reason.as_deref(),
            Some("ValidMetricFound")
        );
    }

    // behavior as autoscaling/v2 serves it (k8s.io/api v0.33 HPAScalingRules,
    // tolerance alpha in 1.33) and a ScaledObject's advanced section (keda
    // v2.20 scaledobject_types.go): policies, selectPolicy, tolerance and
    // scalingModifiers reach the snapshot, and the model reads them.
    #[test]
    fn behavior_tolerance_and_scaling_modifiers_reach_the_model() {
        let obj: HorizontalPodAutoscaler = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "keda-hpa-spice-runner-keda"},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "spice-runner"},
                "maxReplicas": 50,
                "behavior": {
                    "scaleUp": {"tolerance": "50m", "selectPolicy": "Max",
                                "policies": [{"type": "Pods", "value": 4, "periodSeconds": 15}]},
                    "scaleDown": {"selectPolicy": "Disabled", "stabilizationWindowSeconds": 60,
                                  "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]}
                }
            }
        }))
        .expect("an HPA");
        let h = hpa(&obj);
        let so = scaled_object(&serde_json::json!({
            "metadata": {"name": "spice-runner-keda",
                         "annotations": {"autoscaling.keda.sh/force-activation": "true"}},
            "spec": {
                "scaleTargetRef": {"name": "spice-runner"},
                "advanced": {
                    "scalingModifiers": {"formula": "a + b", "target": "2", "activationTarget": "0.5", "metricType": "AverageValue"},
                    "horizontalPodAutoscalerConfig": {"behavior": {"scaleDown": {
                        "policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}]}}}
                },
                "triggers": [{"type": "prometheus", "metadata": {"threshold": "5", "query": "q"}}]
            }
        }));
        assert_eq!(
            so.hpa_behavior
                .as_ref()
                .and_then(|b| b.scale_down.as_ref())
                .map(|d| d.policies.len()),
            Some(1)
        );
        let m = crate::domain::model::Scaling::from_parts(Some(&so), Some(&h), None);
        // The HPA's own behavior is what runs.
        assert!((m.up.tolerance - 0.05).abs() < 1e-9, "{m:?}");
        assert!(m.up.tolerance_written);
        assert_eq!(m.down.select, crate::domain::model::Select::Disabled);
        assert_eq!(m.down.stabilization_secs, 60);
        assert_eq!(
            m.target.value, 2.0,
            "scalingModifiers' target, not threshold 5"
        );
        assert!(m.force_activation);
        assert!(!m.scrape_measured);
    }

    // A ScaledObject as the runbook ships it (keda v2.17
    // apis/keda/v1alpha1/scaledobject_types.go): counts may be written as
    // strings, and a token in serverAddress's query must never be kept.
    #[test]
    fn a_scaled_object_reads_counts_written_as_text_and_redacts_its_server_address() {
        let info = scaled_object(&serde_json::json!({
            "metadata": {"name": "spice-runner-keda",
                         "annotations": {"autoscaling.keda.sh/paused": "true", "other": "x"}},
            "spec": {
                "scaleTargetRef": {"name": "spice-runner"},
                "pollingInterval": "15", "cooldownPeriod": 60, "minReplicaCount": 0,
                "triggers": [{"type": "prometheus", "metadata": {
                    "serverAddress": "http://prometheus.observability:9090/?token=s3cret",
                    "query": "sum(rate(nginx_http_requests_total[1m]))", "threshold": "1"}}]
            },
            "status": {"hpaName": "keda-hpa-spice-runner-keda", "pausedReplicaCount": 0}
        }));
        assert_eq!(info.polling_interval, Some(15));
        assert_eq!(info.cooldown_period, Some(60));
        assert_eq!(info.target_name, "spice-runner");
        assert_eq!(
            info.annotations.keys().collect::<Vec<_>>(),
            ["autoscaling.keda.sh/paused"]
        );
        let server = &info.triggers[0].metadata["serverAddress"];
        assert!(!server.contains("s3cret"), "{server}");
        assert_eq!(info.paused_replica_count, Some(0));
    }

    // A node Karpenter launched (karpenter v1 pkg/apis/v1/labels.go) and its
    // NodePool without `status.nodes` (before v1.1).
    #[test]
    fn a_node_keeps_its_karpenter_labels_and_a_pool_its_disruption() {
        let node_obj: Node = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "ip-10-0-1-7", "labels": {
                "karpenter.sh/nodepool": "default", "karpenter.sh/capacity-type": "spot",
                "node.kubernetes.io/instance-type": "m6i.large", "topology.kubernetes.io/zone": "eu-west-1a"}},
            "spec": {"unschedulable": true},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]}
        }))
        .expect("a Node");
        let n = node(&node_obj);
        assert!(n.ready && n.unschedulable);
        assert_eq!(n.node_pool.as_deref(), Some("default"));
        assert_eq!(n.capacity_type.as_deref(), Some("spot"));
        let pool = node_pool(&serde_json::json!({
            "metadata": {"name": "default"},
            "spec": {"disruption": {"consolidationPolicy": "WhenEmptyOrUnderutilized", "consolidateAfter": "1m"}},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]}
        }));
        assert_eq!(pool.nodes, None, "no count is not a count of zero");
        assert_eq!(pool.consolidate_after.as_deref(), Some("1m"));
        assert_eq!(pool.conditions[0].type_, "Ready");
    }

    // What a 1.37 server adds to the objects the plugin reads (kubernetes
    // CHANGELOG-1.33 to -1.37): pod `status.observedGeneration` and
    // `observedGeneration` on conditions, the in-place resize conditions
    // (`PodResizePending`, `PodResizeInProgress`), `PodReadyToStartContainers`,
    // container `allocatedResources`/`resources`/`stopSignal`, HPA conditions
    // with `observedGeneration` (1.37) and the per-HPA `tolerance` (beta,
    // on by default, from 1.35). Unknown fields are skipped, the conditions
    // read by type stay what they were, the tolerance reaches the model.
    #[test]
    fn objects_of_a_1_37_server_read_as_those_of_1_33() {
        let obj: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "spice-runner-7d9c8b5f4-k2x9m", "namespace": "default",
                         "generation": 2, "creationTimestamp": "2026-12-07T09:00:00Z"},
            "spec": {"nodeName": "ip-10-0-45-112", "containers": [{"name": "spice-runner"}],
                     "initContainers": [{"name": "alloy", "restartPolicy": "Always"}]},
            "status": {
                "observedGeneration": 2,
                "phase": "Running",
                "conditions": [
                    {"type": "PodReadyToStartContainers", "status": "True", "observedGeneration": 2,
                     "lastTransitionTime": "2026-12-07T09:00:02Z"},
                    {"type": "PodResizePending", "status": "True", "reason": "Deferred",
                     "observedGeneration": 2, "lastTransitionTime": "2026-12-07T09:05:00Z"},
                    {"type": "Ready", "status": "True", "observedGeneration": 2,
                     "lastTransitionTime": "2026-12-07T09:00:09Z"},
                    {"type": "PodScheduled", "status": "True", "observedGeneration": 1,
                     "lastTransitionTime": "2026-12-07T09:00:01Z"}
                ],
                "containerStatuses": [{
                    "name": "spice-runner", "ready": true, "restartCount": 0, "image": "g", "imageID": "",
                    "allocatedResources": {"cpu": "1"}, "resources": {"requests": {"cpu": "1"}},
                    "stopSignal": "SIGTERM",
                    "state": {"running": {"startedAt": "2026-12-07T09:00:05Z"}}
                }],
                "initContainerStatuses": [{
                    "name": "alloy", "ready": true, "restartCount": 0, "image": "a", "imageID": "",
                    "state": {"running": {"startedAt": "2026-12-07T09:00:03Z"}}
                }]
            }
        }))
        .expect("a 1.37 Pod");
        let info = pod(&obj);
        assert!(info.ready);
        assert_eq!(info.phase, "Running");
        assert_eq!(info.ready_since, at("2026-12-07T09:00:09Z"));
        assert_eq!(
            info.scheduled.as_ref().map(|c| c.status.as_str()),
            Some("True")
        );
        assert_eq!(info.containers.len(), 2, "{:?}", info.containers);
        let h: HorizontalPodAutoscaler = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "keda-hpa-spice-runner-keda", "namespace": "default"},
            "spec": {"maxReplicas": 200, "minReplicas": 1,
                     "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "spice-runner"},
                     "behavior": {"scaleUp": {"tolerance": "50m", "stabilizationWindowSeconds": 0}}},
            "status": {"currentReplicas": 3, "desiredReplicas": 3,
                       "conditions": [{"type": "ScalingActive", "status": "True", "reason": "ValidMetricFound",
                                       "observedGeneration": 4, "lastTransitionTime": "2026-12-07T09:00:00Z"}]}
        }))
        .expect("a 1.37 HPA");
        let info = hpa(&h);
        assert_eq!(info.conditions[0].type_, "ScalingActive");
        let up = info.behavior.and_then(|b| b.scale_up).expect("scaleUp");
        assert_eq!(up.tolerance.as_deref(), Some("50m"));
    }
}
