//! Objects of realistic size for big simulated clusters, so a benchmark pays
//! what a real cluster's lists cost. A node here is about 10 KB of JSON, as
//! an EKS node launched by Karpenter is (k8s.io/api core/v1 types.go v1.33:
//! `status.images` with the kubelet's cached images, five conditions, the
//! addresses, `nodeInfo`, capacity and allocatable, and `metadata.managedFields`
//! of kubelet, Karpenter and kube-controller-manager); a pod about 5 KB, as
//! a Deployment's pod with one container and the projected service-account
//! volume is after the kubelet reported it.

use serde_json::{Value, json};

/// A 64-hex-digit digest that differs per (seed, index).
fn digest(seed: usize, i: usize) -> String {
    let mut x = (seed as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (i as u64);
    (0..4)
        .map(|_| {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            format!("{x:016x}")
        })
        .collect()
}

/// The images a kubelet lists for a node that has run a few workloads.
fn images(i: usize) -> Vec<Value> {
    const REPOS: [&str; 22] = [
        "602401143452.dkr.ecr.eu-west-1.amazonaws.com/amazon-k8s-cni",
        "602401143452.dkr.ecr.eu-west-1.amazonaws.com/amazon-k8s-cni-init",
        "602401143452.dkr.ecr.eu-west-1.amazonaws.com/amazon/aws-network-policy-agent",
        "602401143452.dkr.ecr.eu-west-1.amazonaws.com/eks/kube-proxy",
        "602401143452.dkr.ecr.eu-west-1.amazonaws.com/eks/pause",
        "602401143452.dkr.ecr.eu-west-1.amazonaws.com/eks/coredns",
        "602401143452.dkr.ecr.eu-west-1.amazonaws.com/eks/aws-ebs-csi-driver",
        "602401143452.dkr.ecr.eu-west-1.amazonaws.com/eks/csi-node-driver-registrar",
        "602401143452.dkr.ecr.eu-west-1.amazonaws.com/eks/livenessprobe",
        "quay.io/prometheus/node-exporter",
        "registry.k8s.io/kube-state-metrics/kube-state-metrics",
        "grafana/alloy",
        "grafana/loki",
        "public.ecr.aws/karpenter/controller",
        "ghcr.io/kedacore/keda",
        "ghcr.io/kedacore/keda-metrics-apiserver",
        "ghcr.io/spice-runner/game-server",
        "docker.io/library/nginx",
        "nginx/nginx-prometheus-exporter",
        "quay.io/prometheus/prometheus",
        "quay.io/prometheus-operator/prometheus-config-reloader",
        "public.ecr.aws/aws-observability/aws-for-fluent-bit",
    ];
    REPOS
        .iter()
        .enumerate()
        .map(|(k, repo)| {
            json!({
                "names": [format!("{repo}@sha256:{}", digest(i, k)), format!("{repo}:v1.{k}.{}", i % 7)],
                "sizeBytes": 10_000_000 + (k * 7_919_311) % 90_000_000,
            })
        })
        .collect()
}

/// The fields a manager owns, as `managedFields[].fieldsV1` spells them.
fn fields(paths: &[&str]) -> Value {
    let mut root = serde_json::Map::new();
    for path in paths {
        let mut cur = &mut root;
        for part in path.split('.') {
            cur = cur
                .entry(format!("f:{part}"))
                .or_insert_with(|| json!({}))
                .as_object_mut()
                .expect("an object");
        }
        cur.insert(".".into(), json!({}));
    }
    Value::Object(root)
}

fn managed(manager: &str, sub: Option<&str>, paths: &[&str]) -> Value {
    let mut m = json!({
        "manager": manager, "operation": "Update", "apiVersion": "v1",
        "time": "2026-08-24T09:00:00Z", "fieldsType": "FieldsV1", "fieldsV1": fields(paths),
    });
    if let Some(s) = sub {
        m["subresource"] = s.into();
    }
    m
}

/// Node `i` of a Karpenter pool, Ready unless `ready` is false.
pub fn node(i: usize, pool: &str, ready: bool) -> Value {
    let zone = ["eu-west-1a", "eu-west-1b", "eu-west-1c"][i % 3];
    let ip = format!("10.{}.{}.{}", 16 + i / 65_536, (i / 256) % 256, i % 256);
    let name = format!("ip-{}.eu-west-1.compute.internal", ip.replace('.', "-"));
    let condition = |t: &str, s: &str, reason: &str, message: &str| {
        json!({"type": t, "status": s, "lastHeartbeatTime": "$NOW-20s", "lastTransitionTime": "$NOW-2d",
               "reason": reason, "message": message})
    };
    json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {
            "name": name,
            "creationTimestamp": "$NOW-2d",
            "labels": {
                "beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/instance-type": "m6i.large",
                "beta.kubernetes.io/os": "linux", "failure-domain.beta.kubernetes.io/region": "eu-west-1",
                "failure-domain.beta.kubernetes.io/zone": zone, "k8s.io/cloud-provider-aws": digest(0, 1)[..32],
                "karpenter.k8s.aws/instance-category": "m", "karpenter.k8s.aws/instance-cpu": "2",
                "karpenter.k8s.aws/instance-family": "m6i", "karpenter.k8s.aws/instance-generation": "6",
                "karpenter.k8s.aws/instance-memory": "8192", "karpenter.k8s.aws/instance-size": "large",
                "karpenter.sh/capacity-type": if i.is_multiple_of(4) { "on-demand" } else { "spot" },
                "karpenter.sh/initialized": "true", "karpenter.sh/nodepool": pool, "karpenter.sh/registered": "true",
                "kubernetes.io/arch": "amd64", "kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                "node.kubernetes.io/instance-type": "m6i.large", "topology.ebs.csi.aws.com/zone": zone,
                "topology.k8s.aws/zone-id": "euw1-az1", "topology.kubernetes.io/region": "eu-west-1",
                "topology.kubernetes.io/zone": zone,
            },
            "annotations": {
                "alpha.kubernetes.io/provided-node-ip": ip,
                "csi.volume.kubernetes.io/nodeid": format!("{{\"ebs.csi.aws.com\":\"i-0{}\"}}", &digest(i, 99)[..16]),
                "karpenter.k8s.aws/ec2nodeclass-hash": "15616957348189460630",
                "karpenter.sh/nodepool-hash": "6821555240594823858",
                "node.alpha.kubernetes.io/ttl": "0",
                "volumes.kubernetes.io/controller-managed-attach-detach": "true",
            },
            "finalizers": ["karpenter.sh/termination"],
            "ownerReferences": [{"apiVersion": "karpenter.sh/v1", "blockOwnerDeletion": true, "kind": "NodeClaim",
                                 "name": format!("{pool}-{}", &digest(i, 7)[..5]), "uid": "6b1f5c1e-2d7a-4c8e-9f3b-0a1b2c3d4e5f"}],
            "managedFields": [
                managed("karpenter", None, &["metadata.labels.karpenter.sh/nodepool", "metadata.labels.karpenter.sh/capacity-type",
                    "metadata.labels.karpenter.sh/initialized", "metadata.labels.karpenter.sh/registered",
                    "metadata.annotations.karpenter.sh/nodepool-hash", "metadata.finalizers", "metadata.ownerReferences", "spec.taints"]),
                managed("kubelet", None, &["metadata.annotations.alpha.kubernetes.io/provided-node-ip",
                    "metadata.annotations.volumes.kubernetes.io/controller-managed-attach-detach",
                    "metadata.labels.beta.kubernetes.io/arch", "metadata.labels.beta.kubernetes.io/os",
                    "metadata.labels.kubernetes.io/arch", "metadata.labels.kubernetes.io/hostname",
                    "metadata.labels.kubernetes.io/os", "spec.providerID"]),
                managed("kubelet", Some("status"), &["status.allocatable.cpu", "status.allocatable.ephemeral-storage",
                    "status.allocatable.memory", "status.allocatable.pods", "status.capacity.cpu", "status.capacity.memory",
                    "status.conditions", "status.daemonEndpoints.kubeletEndpoint.Port", "status.images", "status.nodeInfo.bootID",
                    "status.nodeInfo.containerRuntimeVersion", "status.nodeInfo.kernelVersion", "status.nodeInfo.kubeletVersion",
                    "status.nodeInfo.osImage", "status.nodeInfo.systemUUID", "status.addresses"]),
                managed("kube-controller-manager", None, &["metadata.annotations.node.alpha.kubernetes.io/ttl", "spec.podCIDR", "spec.podCIDRs"]),
                managed("aws-cloud-controller-manager", Some("status"), &["metadata.labels.topology.k8s.aws/zone-id",
                    "metadata.labels.topology.kubernetes.io/region", "metadata.labels.topology.kubernetes.io/zone"]),
            ],
        },
        "spec": {"providerID": format!("aws:///{zone}/i-0{}", &digest(i, 99)[..16])},
        "status": {
            "addresses": [{"address": ip, "type": "InternalIP"}, {"address": name, "type": "InternalDNS"}, {"address": name, "type": "Hostname"}],
            "allocatable": {"cpu": "1930m", "ephemeral-storage": "95491281146", "hugepages-1Gi": "0", "hugepages-2Mi": "0", "memory": "7291656Ki", "pods": "29"},
            "capacity": {"cpu": "2", "ephemeral-storage": "104845292Ki", "hugepages-1Gi": "0", "hugepages-2Mi": "0", "memory": "7934728Ki", "pods": "29"},
            "conditions": [
                condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                condition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                if ready { condition("Ready", "True", "KubeletReady", "kubelet is posting ready status") }
                else { condition("Ready", "Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status.") },
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "images": images(i),
            "nodeInfo": {"architecture": "amd64", "bootID": "a3c6f1de-5b8e-4f43-9a0d-7c2b1e6f9d10",
                "containerRuntimeVersion": "containerd://1.7.27", "kernelVersion": "6.1.134-152.225.amzn2023.x86_64",
                "kubeProxyVersion": "", "kubeletVersion": "v1.33.1-eks-1fb4a2b", "machineID": "ec2b1a5c0f9d4e7a8b6c3d2e1f0a9b8c",
                "operatingSystem": "linux", "osImage": "Amazon Linux 2023.7.20250512", "systemUUID": "ec2b1a5c-0f9d-4e7a-8b6c-3d2e1f0a9b8c"},
        },
    })
}

/// A running pod of some other workload (`app` label `app`, in `namespace`)
/// on `node`.
pub fn pod(i: usize, namespace: &str, app: &str, node: &str) -> Value {
    let hash = &digest(i / 50, 3)[..10];
    let name = format!("{app}-{hash}-{i:05x}");
    let conditions: Vec<Value> = ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"]
        .iter()
        .map(|t| json!({"type": t, "status": "True", "lastProbeTime": null, "lastTransitionTime": "$NOW-1h"}))
        .collect();
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": name, "namespace": namespace, "generateName": format!("{app}-{hash}-"),
            "creationTimestamp": "$NOW-1h",
            "labels": {"app": app, "pod-template-hash": hash, "app.kubernetes.io/part-of": "platform"},
            "ownerReferences": [{"apiVersion": "apps/v1", "blockOwnerDeletion": true, "controller": true,
                                 "kind": "ReplicaSet", "name": format!("{app}-{hash}"), "uid": "3f6c2b1a-9d8e-4f7a-8b6c-5d4e3f2a1b0c"}],
            "managedFields": [
                managed("kube-controller-manager", None, &["metadata.generateName", "metadata.labels.app",
                    "metadata.labels.pod-template-hash", "metadata.ownerReferences", "spec.containers",
                    "spec.dnsPolicy", "spec.enableServiceLinks", "spec.restartPolicy", "spec.schedulerName",
                    "spec.securityContext", "spec.terminationGracePeriodSeconds"]),
                managed("kubelet", Some("status"), &["status.conditions", "status.containerStatuses", "status.hostIP",
                    "status.hostIPs", "status.phase", "status.podIP", "status.podIPs", "status.startTime"]),
            ],
        },
        "spec": {
            "containers": [{
                "name": app, "image": format!("registry.example.com/platform/{app}:1.4.{}", i % 9),
                "imagePullPolicy": "IfNotPresent",
                "ports": [{"containerPort": 8080, "name": "http", "protocol": "TCP"}],
                "env": [{"name": "LOG_LEVEL", "value": "info"}, {"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}}],
                "resources": {"limits": {"memory": "256Mi"}, "requests": {"cpu": "100m", "memory": "128Mi"}},
                "readinessProbe": {"failureThreshold": 3, "httpGet": {"path": "/healthz", "port": "http", "scheme": "HTTP"},
                                   "periodSeconds": 10, "successThreshold": 1, "timeoutSeconds": 1},
                "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
                "volumeMounts": [{"mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "name": "kube-api-access-x7k2p", "readOnly": true}],
            }],
            "dnsPolicy": "ClusterFirst", "enableServiceLinks": true, "nodeName": node,
            "preemptionPolicy": "PreemptLowerPriority", "priority": 0, "restartPolicy": "Always",
            "schedulerName": "default-scheduler", "securityContext": {}, "serviceAccount": "default",
            "serviceAccountName": "default", "terminationGracePeriodSeconds": 30,
            "tolerations": [
                {"effect": "NoExecute", "key": "node.kubernetes.io/not-ready", "operator": "Exists", "tolerationSeconds": 300},
                {"effect": "NoExecute", "key": "node.kubernetes.io/unreachable", "operator": "Exists", "tolerationSeconds": 300},
            ],
            "volumes": [{"name": "kube-api-access-x7k2p", "projected": {"defaultMode": 420, "sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {"configMap": {"items": [{"key": "ca.crt", "path": "ca.crt"}], "name": "kube-root-ca.crt"}},
                {"downwardAPI": {"items": [{"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}, "path": "namespace"}]}},
            ]}}],
        },
        "status": {
            "phase": "Running", "qosClass": "Burstable", "startTime": "$NOW-1h",
            "hostIP": "10.16.0.1", "hostIPs": [{"ip": "10.16.0.1"}],
            "podIP": format!("10.17.{}.{}", (i / 256) % 256, i % 256), "podIPs": [{"ip": format!("10.17.{}.{}", (i / 256) % 256, i % 256)}],
            "conditions": conditions,
            "containerStatuses": [{
                "name": app, "ready": true, "restartCount": 0, "started": true,
                "image": format!("registry.example.com/platform/{app}:1.4.{}", i % 9),
                "imageID": format!("registry.example.com/platform/{app}@sha256:{}", digest(i % 9, 1)),
                "containerID": format!("containerd://{}", digest(i, 2)),
                "lastState": {}, "state": {"running": {"startedAt": "$NOW-1h"}},
                "volumeMounts": [{"mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "name": "kube-api-access-x7k2p", "readOnly": true, "recursiveReadOnly": "Disabled"}],
            }],
        },
    })
}

/// `count` Ready nodes of pool `default`, numbered from `first`.
pub fn nodes(first: usize, count: usize) -> Vec<Value> {
    (first..first + count)
        .map(|i| node(i, "default", true))
        .collect()
}

/// `count` running pods of other workloads: half in `default` beside the
/// game (other `app` labels, so only the label selector keeps them out),
/// half spread over platform namespaces; on the nodes `node_names` cycles.
pub fn other_pods(count: usize, node_names: &[String]) -> Vec<Value> {
    const APPS: [&str; 5] = ["api", "matchmaker", "leaderboard", "chat", "store"];
    const NAMESPACES: [&str; 4] = ["platform", "payments", "monitoring", "ingress"];
    (0..count)
        .map(|i| {
            let ns = if i % 2 == 0 {
                "default"
            } else {
                NAMESPACES[(i / 2) % 4]
            };
            let node = node_names
                .get(i % node_names.len().max(1))
                .map_or("", String::as_str);
            pod(i, ns, APPS[i % 5], node)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn objects_have_the_size_of_real_ones() {
        let node = serde_json::to_vec(&super::node(4_321, "default", true))
            .unwrap()
            .len();
        assert!((8_000..14_000).contains(&node), "node {node} bytes");
        let pod = serde_json::to_vec(&super::pod(77, "platform", "api", "n"))
            .unwrap()
            .len();
        assert!((3_500..7_000).contains(&pod), "pod {pod} bytes");
    }
}
