//! The kube-state-metrics stand-in of the closed loop (`support::ksm`): its
//! exposition has kube-state-metrics v2.20's shape (names, help, label order,
//! one 0/1 series per phase and per Ready status, value format), Prometheus's
//! own linter accepts it, and it serves the simulator's objects at scrape
//! time.

use crate::support::ksm::{self, Ksm, Objects};
use crate::support::prom::binary;
use crate::support::scenario::Scenario;
use crate::support::sim::Sim;
use serde_json::json;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

fn objects() -> Objects {
    Objects {
        deployments: vec![json!({
            "metadata": {"namespace": "default", "name": "spice-runner", "generation": 3},
            "spec": {"replicas": 2},
            "status": {"replicas": 2, "readyReplicas": 1, "availableReplicas": 1,
                       "unavailableReplicas": 1, "updatedReplicas": 2},
        })],
        // No minReplicas: kube-state-metrics says 1, the API's default.
        hpas: vec![json!({
            "metadata": {"namespace": "default", "name": "keda-hpa-spice-runner-keda", "generation": 2},
            "spec": {"maxReplicas": 200},
            "status": {"currentReplicas": 2, "desiredReplicas": 3},
        })],
        nodes: vec![json!({
            "metadata": {"name": "ip-10-0-1-1", "creationTimestamp": "2026-12-07T07:30:00Z"},
            "spec": {"providerID": "aws:///us-west-2a/i-0abc", "podCIDR": "10.244.1.0/24"},
            "status": {
                "nodeInfo": {"kernelVersion": "6.1.0", "osImage": "Bottlerocket",
                             "containerRuntimeVersion": "containerd://1.7.2",
                             "kubeletVersion": "v1.33.1", "systemUUID": "ec2-uuid"},
                "conditions": [{"type": "MemoryPressure", "status": "False"},
                               {"type": "Ready", "status": "True"}],
                "addresses": [{"type": "InternalIP", "address": "10.0.1.1"},
                              {"type": "Hostname", "address": "ip-10-0-1-1"}],
            },
        })],
        pods: vec![
            json!({
                "metadata": {"namespace": "default", "name": "spice-runner-7d9c8b5f4-aaaaa",
                             "uid": "u-a", "creationTimestamp": "2026-12-07T08:00:00Z",
                             "ownerReferences": [{"kind": "ReplicaSet", "name": "spice-runner-7d9c8b5f4",
                                                  "controller": true}]},
                "spec": {"nodeName": "ip-10-0-1-1", "priorityClassName": "game"},
                "status": {"phase": "Running", "hostIP": "10.0.1.1", "podIP": "10.244.1.7",
                           "conditions": [{"type": "Ready", "status": "True"}],
                           "containerStatuses": [{"name": "spice-runner", "restartCount": 1,
                                                  "state": {"running": {}}}]},
            }),
            json!({
                "metadata": {"namespace": "default", "name": "spice-runner-7d9c8b5f4-bbbbb",
                             "uid": "u-b", "creationTimestamp": "2026-12-07T08:01:00Z"},
                "status": {"phase": "Pending",
                           "conditions": [{"type": "PodScheduled", "status": "True"},
                                          {"type": "Ready", "status": "False"}],
                           "containerStatuses": [{"name": "spice-runner", "restartCount": 0,
                                                  "state": {"waiting": {"reason": "Bad \"image\""}}}]},
            }),
            // Being deleted: still Running, with its deletion time.
            json!({
                "metadata": {"namespace": "default", "name": "spice-runner-7d9c8b5f4-ccccc",
                             "uid": "u-c", "creationTimestamp": "2026-12-07T07:00:00Z",
                             "deletionTimestamp": "2026-12-07T08:02:30Z"},
                "status": {"phase": "Running"},
            }),
            // No phase yet: no phase series at all.
            json!({
                "metadata": {"namespace": "keda", "name": "keda-operator-x",
                             "uid": "u-d", "creationTimestamp": "2026-12-07T08:00:00Z"},
                "status": {},
            }),
        ],
    }
}

/// What kube-state-metrics v2.20.0 writes for [`objects`], written out by
/// hand from its generators (internal/store/*.go) and docs/metrics.
const EXPECTED: &str = r#"# HELP kube_deployment_status_replicas [STABLE] The number of replicas per deployment.
# TYPE kube_deployment_status_replicas gauge
kube_deployment_status_replicas{namespace="default",deployment="spice-runner"} 2
# HELP kube_deployment_status_replicas_ready [STABLE] The number of ready replicas per deployment.
# TYPE kube_deployment_status_replicas_ready gauge
kube_deployment_status_replicas_ready{namespace="default",deployment="spice-runner"} 1
# HELP kube_deployment_status_replicas_available [STABLE] The number of available replicas per deployment.
# TYPE kube_deployment_status_replicas_available gauge
kube_deployment_status_replicas_available{namespace="default",deployment="spice-runner"} 1
# HELP kube_deployment_status_replicas_unavailable [STABLE] The number of unavailable replicas per deployment.
# TYPE kube_deployment_status_replicas_unavailable gauge
kube_deployment_status_replicas_unavailable{namespace="default",deployment="spice-runner"} 1
# HELP kube_deployment_status_replicas_updated [STABLE] The number of updated replicas per deployment.
# TYPE kube_deployment_status_replicas_updated gauge
kube_deployment_status_replicas_updated{namespace="default",deployment="spice-runner"} 2
# HELP kube_deployment_spec_replicas [STABLE] Number of desired pods for a deployment.
# TYPE kube_deployment_spec_replicas gauge
kube_deployment_spec_replicas{namespace="default",deployment="spice-runner"} 2
# HELP kube_deployment_metadata_generation [STABLE] Sequence number representing a specific generation of the desired state.
# TYPE kube_deployment_metadata_generation gauge
kube_deployment_metadata_generation{namespace="default",deployment="spice-runner"} 3
# HELP kube_horizontalpodautoscaler_metadata_generation [STABLE] The generation observed by the HorizontalPodAutoscaler controller.
# TYPE kube_horizontalpodautoscaler_metadata_generation gauge
kube_horizontalpodautoscaler_metadata_generation{namespace="default",horizontalpodautoscaler="keda-hpa-spice-runner-keda"} 2
# HELP kube_horizontalpodautoscaler_spec_max_replicas [STABLE] Upper limit for the number of pods that can be set by the autoscaler; cannot be smaller than MinReplicas.
# TYPE kube_horizontalpodautoscaler_spec_max_replicas gauge
kube_horizontalpodautoscaler_spec_max_replicas{namespace="default",horizontalpodautoscaler="keda-hpa-spice-runner-keda"} 200
# HELP kube_horizontalpodautoscaler_spec_min_replicas [STABLE] Lower limit for the number of pods that can be set by the autoscaler, default 1.
# TYPE kube_horizontalpodautoscaler_spec_min_replicas gauge
kube_horizontalpodautoscaler_spec_min_replicas{namespace="default",horizontalpodautoscaler="keda-hpa-spice-runner-keda"} 1
# HELP kube_horizontalpodautoscaler_status_current_replicas [STABLE] Current number of replicas of pods managed by this autoscaler.
# TYPE kube_horizontalpodautoscaler_status_current_replicas gauge
kube_horizontalpodautoscaler_status_current_replicas{namespace="default",horizontalpodautoscaler="keda-hpa-spice-runner-keda"} 2
# HELP kube_horizontalpodautoscaler_status_desired_replicas [STABLE] Desired number of replicas of pods managed by this autoscaler.
# TYPE kube_horizontalpodautoscaler_status_desired_replicas gauge
kube_horizontalpodautoscaler_status_desired_replicas{namespace="default",horizontalpodautoscaler="keda-hpa-spice-runner-keda"} 3
# HELP kube_node_info [STABLE] Information about a cluster node.
# TYPE kube_node_info gauge
kube_node_info{node="ip-10-0-1-1",kernel_version="6.1.0",os_image="Bottlerocket",container_runtime_version="containerd://1.7.2",kubelet_version="v1.33.1",kubeproxy_version="deprecated",provider_id="aws:///us-west-2a/i-0abc",pod_cidr="10.244.1.0/24",system_uuid="ec2-uuid",internal_ip="10.0.1.1"} 1
# HELP kube_node_created [STABLE] Unix creation timestamp
# TYPE kube_node_created gauge
kube_node_created{node="ip-10-0-1-1"} 1.7966286e+09
# HELP kube_node_status_condition [STABLE] The condition of a cluster node.
# TYPE kube_node_status_condition gauge
kube_node_status_condition{node="ip-10-0-1-1",condition="MemoryPressure",status="true"} 0
kube_node_status_condition{node="ip-10-0-1-1",condition="MemoryPressure",status="false"} 1
kube_node_status_condition{node="ip-10-0-1-1",condition="MemoryPressure",status="unknown"} 0
kube_node_status_condition{node="ip-10-0-1-1",condition="Ready",status="true"} 1
kube_node_status_condition{node="ip-10-0-1-1",condition="Ready",status="false"} 0
kube_node_status_condition{node="ip-10-0-1-1",condition="Ready",status="unknown"} 0
# HELP kube_pod_container_status_restarts_total [STABLE] The number of container restarts per container.
# TYPE kube_pod_container_status_restarts_total counter
kube_pod_container_status_restarts_total{namespace="default",pod="spice-runner-7d9c8b5f4-aaaaa",uid="u-a",container="spice-runner"} 1
kube_pod_container_status_restarts_total{namespace="default",pod="spice-runner-7d9c8b5f4-bbbbb",uid="u-b",container="spice-runner"} 0
# HELP kube_pod_container_status_waiting_reason [STABLE] Describes the reason the container is currently in waiting state.
# TYPE kube_pod_container_status_waiting_reason gauge
kube_pod_container_status_waiting_reason{namespace="default",pod="spice-runner-7d9c8b5f4-bbbbb",uid="u-b",container="spice-runner",reason="Bad \"image\""} 1
# HELP kube_pod_created [STABLE] Unix creation timestamp
# TYPE kube_pod_created gauge
kube_pod_created{namespace="default",pod="spice-runner-7d9c8b5f4-aaaaa",uid="u-a"} 1.7966304e+09
kube_pod_created{namespace="default",pod="spice-runner-7d9c8b5f4-bbbbb",uid="u-b"} 1.79663046e+09
kube_pod_created{namespace="default",pod="spice-runner-7d9c8b5f4-ccccc",uid="u-c"} 1.7966268e+09
kube_pod_created{namespace="keda",pod="keda-operator-x",uid="u-d"} 1.7966304e+09
# HELP kube_pod_deletion_timestamp Unix deletion timestamp
# TYPE kube_pod_deletion_timestamp gauge
kube_pod_deletion_timestamp{namespace="default",pod="spice-runner-7d9c8b5f4-ccccc",uid="u-c"} 1.79663055e+09
# HELP kube_pod_info [STABLE] Information about pod.
# TYPE kube_pod_info gauge
kube_pod_info{namespace="default",pod="spice-runner-7d9c8b5f4-aaaaa",uid="u-a",host_ip="10.0.1.1",pod_ip="10.244.1.7",node="ip-10-0-1-1",created_by_kind="ReplicaSet",created_by_name="spice-runner-7d9c8b5f4",priority_class="game",host_network="false"} 1
kube_pod_info{namespace="default",pod="spice-runner-7d9c8b5f4-bbbbb",uid="u-b",host_ip="",pod_ip="",node="",created_by_kind="",created_by_name="",priority_class="",host_network="false"} 1
kube_pod_info{namespace="default",pod="spice-runner-7d9c8b5f4-ccccc",uid="u-c",host_ip="",pod_ip="",node="",created_by_kind="",created_by_name="",priority_class="",host_network="false"} 1
kube_pod_info{namespace="keda",pod="keda-operator-x",uid="u-d",host_ip="",pod_ip="",node="",created_by_kind="",created_by_name="",priority_class="",host_network="false"} 1
# HELP kube_pod_status_phase [STABLE] The pods current phase.
# TYPE kube_pod_status_phase gauge
kube_pod_status_phase{namespace="default",pod="spice-runner-7d9c8b5f4-aaaaa",uid="u-a",phase="Pending"} 0
kube_pod_status_phase{namespace="default",pod="spice-runner-7d9c8b5f4-aaaaa",uid="u-a",phase="Succeeded"} 0
kube_pod_status_phase{namespace="default",pod="spice-runner-7d9c8b5f4-aaaaa",uid="u-a",phase="Failed"} 0
kube_pod_status_phase{namespace="default",pod="spice-runner-7d9c8b5f4-aaaaa",uid="u-a",phase="Unknown"} 0
kube_pod_status_phase{namespace="default",pod="spice-runner-7d9c8b5f4-aaaaa",uid="u-a",phase="Running"} 1
kube_pod_status_phase{namespace="default",pod="spice-runner-7d9c8b5f4-bbbbb",uid="u-b",phase="Pending"} 1
kube_pod_status_phase{namespace="default",pod="spice-runner-7d9c8b5f4-bbbbb",uid="u-b",phase="Succeeded"} 0
kube_pod_status_phase{namespace="default",pod="spice-runner-7d9c8b5f4-bbbbb",uid="u-b",phase="Failed"} 0
kube_pod_status_phase{namespace="default",pod="spice-runner-7d9c8b5f4-bbbbb",uid="u-b",phase="Unknown"} 0
kube_pod_status_phase{namespace="default",pod="spice-runner-7d9c8b5f4-bbbbb",uid="u-b",phase="Running"} 0
kube_pod_status_phase{namespace="default",pod="spice-runner-7d9c8b5f4-ccccc",uid="u-c",phase="Pending"} 0
kube_pod_status_phase{namespace="default",pod="spice-runner-7d9c8b5f4-ccccc",uid="u-c",phase="Succeeded"} 0
kube_pod_status_phase{namespace="default",pod="spice-runner-7d9c8b5f4-ccccc",uid="u-c",phase="Failed"} 0
kube_pod_status_phase{namespace="default",pod="spice-runner-7d9c8b5f4-ccccc",uid="u-c",phase="Unknown"} 0
kube_pod_status_phase{namespace="default",pod="spice-runner-7d9c8b5f4-ccccc",uid="u-c",phase="Running"} 1
# HELP kube_pod_status_ready [STABLE] Describes whether the pod is ready to serve requests.
# TYPE kube_pod_status_ready gauge
kube_pod_status_ready{namespace="default",pod="spice-runner-7d9c8b5f4-aaaaa",uid="u-a",condition="true"} 1
kube_pod_status_ready{namespace="default",pod="spice-runner-7d9c8b5f4-aaaaa",uid="u-a",condition="false"} 0
kube_pod_status_ready{namespace="default",pod="spice-runner-7d9c8b5f4-aaaaa",uid="u-a",condition="unknown"} 0
kube_pod_status_ready{namespace="default",pod="spice-runner-7d9c8b5f4-bbbbb",uid="u-b",condition="true"} 0
kube_pod_status_ready{namespace="default",pod="spice-runner-7d9c8b5f4-bbbbb",uid="u-b",condition="false"} 1
kube_pod_status_ready{namespace="default",pod="spice-runner-7d9c8b5f4-bbbbb",uid="u-b",condition="unknown"} 0
"#;

#[test]
fn the_stand_in_writes_what_kube_state_metrics_v2_writes_for_the_same_objects() {
    let text = ksm::exposition(&objects());
    if text != EXPECTED {
        let first = text.lines().zip(EXPECTED.lines()).position(|(a, b)| a != b);
        panic!("first differing line {first:?}\n--- got ---\n{text}");
    }
}

#[test]
fn values_are_written_as_go_writes_them() {
    for (v, want) in [
        (0.0, "0"),
        (1.0, "1"),
        (2.0, "2"),
        (200.0, "200"),
        (999_999.0, "999999"),
        (1_000_000.0, "1e+06"),
        (1_796_630_400.0, "1.7966304e+09"),
        (0.25, "0.25"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (f64::NAN, "NaN"),
        (f64::INFINITY, "+Inf"),
    ] {
        assert_eq!(ksm::go_float(v), want, "{v}");
    }
}

#[test]
fn prometheus_s_own_linter_accepts_the_exposition() {
    let mut lint = Command::new(binary("promtool"))
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run promtool");
    lint.stdin
        .take()
        .expect("stdin")
        .write_all(ksm::exposition(&objects()).as_bytes())
        .expect("write the exposition");
    let out = lint.wait_with_output().expect("promtool");
    // Lint findings (exit 3) are kube-state-metrics' own naming; a parse
    // error (exit 1) is the exposition's fault.
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() || out.status.code() == Some(3),
        "{}: {said}",
        out.status
    );
    assert!(!said.contains("error while linting"), "{said}");
}

#[test]
fn the_stand_in_serves_the_simulator_s_objects_at_scrape_time() {
    let sim = Sim::start(Scenario::load("healthy"));
    let ksm = Ksm::serve(sim.store_reader());
    let scrape = || {
        let mut s = TcpStream::connect(ksm.target()).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: ksm\r\n\r\n")
            .expect("send");
        let mut answer = String::new();
        s.read_to_string(&mut answer).expect("read");
        answer
    };
    let first = scrape();
    assert!(first.starts_with("HTTP/1.1 200 OK\r\n"), "{first}");
    assert!(
        first.contains(&format!("Content-Type: {}\r\n", ksm::CONTENT_TYPE)),
        "{first}"
    );
    let pods: Vec<&str> = first
        .lines()
        .filter(|l| l.starts_with("kube_pod_status_phase{") && l.ends_with(" 1"))
        .collect();
    assert!(!pods.is_empty(), "{first}");
    assert!(pods.iter().all(|l| l.contains("uid=\"")), "{pods:#?}");
    // A pod the API server gets now is in the next scrape.
    sim.apply(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"namespace": "default", "name": "spice-runner-7d9c8b5f4-zzzzz"},
        "status": {"phase": "Pending"},
    }));
    let second = scrape();
    let new_pod =
        "kube_pod_status_phase{namespace=\"default\",pod=\"spice-runner-7d9c8b5f4-zzzzz\",uid=\"";
    assert!(
        second
            .lines()
            .any(|l| l.starts_with(new_pod) && l.ends_with(",phase=\"Pending\"} 1")),
        "{second}"
    );
    let mut s = TcpStream::connect(ksm.target()).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    s.write_all(b"GET /other HTTP/1.1\r\n\r\n").expect("send");
    let mut other = String::new();
    s.read_to_string(&mut other).expect("read");
    assert!(other.starts_with("HTTP/1.1 404"), "{other}");
}
