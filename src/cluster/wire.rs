//! The shapes pods, nodes and events are decoded into straight off the wire:
//! only the fields the checks and views read (see `convert`), never the full
//! k8s-openapi structs. A real node is 5–20 KB of JSON (images, conditions,
//! managedFields) and a pod several KB; decoded whole, a list costs about ten
//! times its JSON in memory, and the watch stores would keep all of it. Serde
//! skips every field not named here while it parses, so what stays in memory
//! is a few hundred bytes an object.
//!
//! The types implement `kube::Resource`, so the same `Api<T>` lists them in
//! `collect` and watches them into the reflector stores of `live`.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::{ClusterResourceScope, NamespaceResourceScope};
use serde::{Deserialize, Deserializer};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// The node labels the snapshot keeps (Karpenter's pool and capacity type,
/// the well-known instance type and zone); any other label is dropped while
/// parsing. Karpenter's: kubernetes-sigs/karpenter v1.14.1
/// `pkg/apis/v1/labels.go` (`NodePoolLabelKey`, `CapacityTypeLabelKey`),
/// the same in v0.37 `pkg/apis/v1beta1/labels.go`.
pub const NODE_LABELS: [&str; 4] = [
    "karpenter.sh/nodepool",
    "karpenter.sh/capacity-type",
    "node.kubernetes.io/instance-type",
    "topology.kubernetes.io/zone",
];

/// A field that may be absent or `null`: both are its default.
fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A field read leniently, for times: one the client cannot hold (a year
/// 9999 time, valid RFC 3339 that the API server accepts, is past what
/// `jiff` represents) or that is no time at all is unknown for that object,
/// never the failure of the whole list or watch it came in.
fn lenient<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let value = Option::<serde_json::Value>::deserialize(d)?;
    Ok(value.and_then(|v| T::deserialize(v).ok()))
}

/// Labels, keeping only [`NODE_LABELS`]. Pods keep none, as no check reads a
/// pod label (the selector already chose them on the server).
fn kept_labels<'de, D>(d: D) -> Result<Option<BTreeMap<String, String>>, D::Error>
where
    D: Deserializer<'de>,
{
    let all: Option<BTreeMap<String, String>> = Option::deserialize(d)?;
    let kept: BTreeMap<String, String> = all
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, _)| NODE_LABELS.contains(&k.as_str()))
        .collect();
    Ok((!kept.is_empty()).then_some(kept))
}

/// The metadata fields read: identity (name, namespace, resourceVersion, which
/// the reflector store keys on), times, and the kept labels. Annotations,
/// ownerReferences and managedFields are skipped while parsing.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct SlimMeta {
    name: Option<String>,
    namespace: Option<String>,
    resource_version: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    creation_timestamp: Option<Time>,
    #[serde(default, deserialize_with = "lenient")]
    deletion_timestamp: Option<Time>,
    /// How long a deleted pod may drain (set with `deletionTimestamp`).
    #[serde(default, deserialize_with = "lenient")]
    deletion_grace_period_seconds: Option<i64>,
    #[serde(default, deserialize_with = "kept_labels")]
    labels: Option<BTreeMap<String, String>>,
}

/// `metadata` as the small subset above, in kube's `ObjectMeta` (what
/// `kube::Resource` hands out); every other field stays empty.
fn slim_meta<'de, D>(d: D) -> Result<ObjectMeta, D::Error>
where
    D: Deserializer<'de>,
{
    let m = Option::<SlimMeta>::deserialize(d)?.unwrap_or_default();
    Ok(ObjectMeta {
        name: m.name,
        namespace: m.namespace,
        resource_version: m.resource_version,
        creation_timestamp: m.creation_timestamp,
        deletion_timestamp: m.deletion_timestamp,
        deletion_grace_period_seconds: m.deletion_grace_period_seconds,
        labels: m.labels,
        ..ObjectMeta::default()
    })
}

/// A condition as pods, nodes and most CRDs write it.
#[derive(Deserialize, Clone, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    #[serde(rename = "type", default)]
    pub type_: String,
    #[serde(default)]
    pub status: String,
    pub reason: Option<String>,
    pub message: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub last_transition_time: Option<Time>,
}

macro_rules! resource {
    ($t:ty, $kind:literal, $plural:literal, $scope:ty) => {
        impl kube::Resource for $t {
            type DynamicType = ();
            type Scope = $scope;

            fn kind(_: &()) -> Cow<'_, str> {
                $kind.into()
            }
            fn group(_: &()) -> Cow<'_, str> {
                "".into()
            }
            fn version(_: &()) -> Cow<'_, str> {
                "v1".into()
            }
            fn plural(_: &()) -> Cow<'_, str> {
                $plural.into()
            }
            fn meta(&self) -> &ObjectMeta {
                &self.metadata
            }
            fn meta_mut(&mut self) -> &mut ObjectMeta {
                &mut self.metadata
            }
        }
    };
}

/// A pod: its phase, conditions, placement and container states.
#[derive(Deserialize, Clone, Debug, Default)]
pub struct Pod {
    #[serde(default, deserialize_with = "slim_meta")]
    pub metadata: ObjectMeta,
    #[serde(default, deserialize_with = "nullable")]
    pub spec: PodSpec,
    #[serde(default, deserialize_with = "nullable")]
    pub status: PodStatus,
}
resource!(Pod, "Pod", "pods", NamespaceResourceScope);

#[derive(Deserialize, Clone, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub struct PodSpec {
    pub node_name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub containers: Vec<Container>,
    #[serde(default, deserialize_with = "nullable")]
    pub init_containers: Vec<Container>,
}

/// A container of the spec: its name, and for an init container whether it
/// is a native sidecar (`restartPolicy: Always`).
#[derive(Deserialize, Clone, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    #[serde(default)]
    pub name: String,
    pub restart_policy: Option<String>,
}

#[derive(Deserialize, Clone, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub struct PodStatus {
    pub phase: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub conditions: Vec<Condition>,
    #[serde(default, deserialize_with = "nullable")]
    pub container_statuses: Vec<ContainerStatus>,
    #[serde(default, deserialize_with = "nullable")]
    pub init_container_statuses: Vec<ContainerStatus>,
    pub nominated_node_name: Option<String>,
}

#[derive(Deserialize, Clone, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub struct ContainerStatus {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub ready: bool,
    #[serde(default)]
    pub restart_count: i32,
    #[serde(default, deserialize_with = "nullable")]
    pub state: ContainerState,
}

#[derive(Deserialize, Clone, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub struct ContainerState {
    pub waiting: Option<StateDetail>,
    pub running: Option<StateDetail>,
    pub terminated: Option<StateDetail>,
}

/// What any of the three container states carries that is read.
#[derive(Deserialize, Clone, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub struct StateDetail {
    pub reason: Option<String>,
    pub message: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub started_at: Option<Time>,
}

/// A node as the plain list and the watch send it, reduced while parsing to
/// Ready, cordoned, allocatable CPU and memory, and the kept labels.
#[derive(Deserialize, Clone, Debug, Default)]
pub struct Node {
    #[serde(default, deserialize_with = "slim_meta")]
    pub metadata: ObjectMeta,
    #[serde(default, deserialize_with = "nullable")]
    pub spec: NodeSpec,
    #[serde(default, deserialize_with = "nullable")]
    pub status: NodeStatus,
}
resource!(Node, "Node", "nodes", ClusterResourceScope);

#[derive(Deserialize, Clone, Debug, Default)]
pub struct NodeSpec {
    #[serde(default, deserialize_with = "nullable")]
    pub unschedulable: bool,
}

#[derive(Deserialize, Clone, Debug, Default)]
pub struct NodeStatus {
    /// The Ready condition's status is `True` (every other condition, with
    /// its message, is dropped while parsing).
    #[serde(default, rename = "conditions", deserialize_with = "ready_condition")]
    pub ready: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub allocatable: Allocatable,
}

/// What a node offers to pods, as quantities (`kubectl top nodes` divides
/// usage by these).
#[derive(Deserialize, Clone, Debug, Default)]
pub struct Allocatable {
    pub cpu: Option<String>,
    pub memory: Option<String>,
}

fn ready_condition<'de, D>(d: D) -> Result<bool, D::Error>
where
    D: Deserializer<'de>,
{
    let conditions: Vec<Condition> = nullable(d)?;
    Ok(conditions
        .iter()
        .any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// A core/v1 event: what it is about, what happened, and when and how often
/// (both the core/v1 and the events.k8s.io recorders' fields, see
/// `convert::event_seen`).
#[derive(Deserialize, Clone, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    #[serde(default, deserialize_with = "slim_meta")]
    pub metadata: ObjectMeta,
    #[serde(default, deserialize_with = "nullable")]
    pub involved_object: ObjectReference,
    #[serde(rename = "type")]
    pub type_: Option<String>,
    pub reason: Option<String>,
    pub message: Option<String>,
    pub count: Option<i32>,
    #[serde(default, deserialize_with = "lenient")]
    pub first_timestamp: Option<Time>,
    #[serde(default, deserialize_with = "lenient")]
    pub last_timestamp: Option<Time>,
    #[serde(default, deserialize_with = "lenient")]
    pub event_time: Option<MicroTime>,
    pub series: Option<EventSeries>,
    pub source: Option<EventSource>,
    pub reporting_component: Option<String>,
}
resource!(Event, "Event", "events", NamespaceResourceScope);

pub use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;

#[derive(Deserialize, Clone, Debug, Default)]
pub struct ObjectReference {
    pub kind: Option<String>,
    pub name: Option<String>,
}

#[derive(Deserialize, Clone, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub struct EventSeries {
    pub count: Option<i32>,
    #[serde(default, deserialize_with = "lenient")]
    pub last_observed_time: Option<MicroTime>,
}

#[derive(Deserialize, Clone, Debug, Default)]
pub struct EventSource {
    pub component: Option<String>,
}

/// `ListMeta` as a Table carries it.
#[derive(Deserialize, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub struct PageMeta {
    #[serde(rename = "continue")]
    pub continue_: Option<String>,
    pub remaining_item_count: Option<i64>,
}

/// The nodes as a `meta.k8s.io/v1` Table, asked with `includeObject=Metadata`
/// as `kubectl get nodes -L …` asks. kube-apiserver fills the cells with the
/// node printer (kubernetes pkg/printers/internalversion/printers.go
/// `printNode`, v1.33: Name, Status, Roles, Age, Version, then the wide
/// columns), where Status is `Ready` or `NotReady` (or `Unknown`), followed by
/// `,SchedulingDisabled` when the node is cordoned; each row's object is the
/// node's PartialObjectMetadata (k8s.io/apiserver
/// pkg/endpoints/handlers/response.go `asTable`). A row is a few hundred
/// bytes of cells plus the node's metadata, against 5–20 KB for the node.
///
/// A server (or proxy) that ignores `as=Table` answers the plain `NodeList`
/// instead; its items are decoded as small nodes in the same pass and stand
/// for the Table, so the list is not asked for a second time.
#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct NodeTable {
    pub kind: String,
    #[serde(default)]
    pub api_version: String,
    #[serde(default, deserialize_with = "nullable")]
    pub metadata: PageMeta,
    #[serde(default, deserialize_with = "nullable")]
    pub column_definitions: Vec<Column>,
    #[serde(default, deserialize_with = "nullable")]
    pub rows: Vec<Row>,
    /// The nodes of a plain `NodeList` answer.
    #[serde(default, deserialize_with = "nullable")]
    pub items: Vec<Node>,
}

#[derive(Deserialize, Debug, Default)]
pub struct Column {
    #[serde(default)]
    pub name: String,
}

#[derive(Deserialize, Debug, Default)]
pub struct Row {
    #[serde(default, deserialize_with = "nullable")]
    pub cells: Vec<serde_json::Value>,
    pub object: Option<RowObject>,
}

#[derive(Deserialize, Debug, Default)]
pub struct RowObject {
    #[serde(default, deserialize_with = "slim_meta")]
    pub metadata: ObjectMeta,
}

/// Why a Table answer cannot stand for the node list.
#[derive(Debug, PartialEq, Eq)]
pub struct NotATable(pub String);

impl NodeTable {
    /// The rows as nodes: name and labels from the row's metadata, Ready and
    /// cordoned from the Status cell. Allocatable is not in a Table; it stays
    /// empty (`kube_node_status_allocatable` from kube-state-metrics, or the
    /// watch's plain node objects, carry it).
    /// A plain `NodeList` gives its items as they are.
    pub fn nodes(self) -> Result<Vec<Node>, NotATable> {
        if self.kind == "NodeList" && self.api_version == "v1" {
            return Ok(self.items);
        }
        if self.kind != "Table" {
            return Err(NotATable(format!("a {} instead of a Table", self.kind)));
        }
        let column = |name: &str| {
            self.column_definitions
                .iter()
                .position(|c| c.name.eq_ignore_ascii_case(name))
        };
        let (Some(name_col), Some(status_col)) = (column("Name"), column("Status")) else {
            return Err(NotATable("a Table without Name and Status columns".into()));
        };
        let mut nodes = Vec::with_capacity(self.rows.len());
        for row in self.rows {
            let cell = |i: usize| row.cells.get(i).and_then(|v| v.as_str()).unwrap_or("");
            let status: Vec<&str> = cell(status_col).split(',').collect();
            let mut metadata = row.object.map(|o| o.metadata).unwrap_or_default();
            if metadata.name.is_none() {
                metadata.name = Some(cell(name_col).to_string());
            }
            nodes.push(Node {
                metadata,
                spec: NodeSpec {
                    unschedulable: status.contains(&"SchedulingDisabled"),
                },
                status: NodeStatus {
                    ready: status.contains(&"Ready"),
                    allocatable: Allocatable::default(),
                },
            });
        }
        Ok(nodes)
    }
}

/// A Deployment: its name, the replicas it asks for and those it has. The
/// pod template (volumes, affinity, containers: most of a Deployment's JSON,
/// and the largest decoder k8s-openapi has) is skipped while parsing.
#[derive(Deserialize, Clone, Debug, Default)]
pub struct Deployment {
    #[serde(default, deserialize_with = "slim_meta")]
    pub metadata: ObjectMeta,
    pub spec: Option<DeploymentSpec>,
    pub status: Option<DeploymentStatus>,
}

impl kube::Resource for Deployment {
    type DynamicType = ();
    type Scope = NamespaceResourceScope;

    fn kind(_: &()) -> Cow<'_, str> {
        "Deployment".into()
    }
    fn group(_: &()) -> Cow<'_, str> {
        "apps".into()
    }
    fn version(_: &()) -> Cow<'_, str> {
        "v1".into()
    }
    fn plural(_: &()) -> Cow<'_, str> {
        "deployments".into()
    }
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

#[derive(Deserialize, Clone, Debug, Default)]
pub struct DeploymentSpec {
    pub replicas: Option<i32>,
    /// `spec.selector` as the API server sent it (matchLabels,
    /// matchExpressions), kept as JSON: read only to follow a ScaledObject's
    /// scaleTargetRef (`cluster::target::selector_string`).
    #[serde(default)]
    pub selector: Option<serde_json::Value>,
}

#[derive(Deserialize, Clone, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentStatus {
    pub replicas: Option<i32>,
    pub ready_replicas: Option<i32>,
    pub available_replicas: Option<i32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A node as kubelet and Karpenter leave it (trimmed from a real EKS
    /// node, k8s.io/api core/v1 v1.33 shape): images, every condition,
    /// managedFields and labels the snapshot does not keep.
    fn real_node() -> serde_json::Value {
        serde_json::json!({
            "kind": "Node", "apiVersion": "v1",
            "metadata": {
                "name": "ip-10-0-1-7.eu-west-1.compute.internal",
                "uid": "0b7f6f3c-7f0e-4f1a-9c51-1d2b3c4d5e6f",
                "resourceVersion": "48213",
                "creationTimestamp": "2026-08-24T09:00:00Z",
                "labels": {
                    "beta.kubernetes.io/arch": "amd64",
                    "karpenter.sh/nodepool": "default",
                    "karpenter.sh/capacity-type": "spot",
                    "node.kubernetes.io/instance-type": "m6i.large",
                    "topology.kubernetes.io/zone": "eu-west-1a",
                    "kubernetes.io/hostname": "ip-10-0-1-7"
                },
                "annotations": {"node.alpha.kubernetes.io/ttl": "0"},
                "managedFields": [{"manager": "kubelet", "operation": "Update", "apiVersion": "v1",
                    "time": "2026-08-24T09:00:00Z", "fieldsType": "FieldsV1",
                    "fieldsV1": {"f:status": {"f:images": {}}}}]
            },
            "spec": {"providerID": "aws:///eu-west-1a/i-0abc", "unschedulable": true},
            "status": {
                "allocatable": {"cpu": "1930m", "memory": "7291656Ki", "pods": "29"},
                "capacity": {"cpu": "2", "memory": "7934728Ki", "pods": "29"},
                "conditions": [
                    {"type": "MemoryPressure", "status": "False", "reason": "KubeletHasSufficientMemory",
                     "message": "kubelet has sufficient memory available"},
                    {"type": "Ready", "status": "True", "reason": "KubeletReady",
                     "message": "kubelet is posting ready status"}
                ],
                "images": [{"names": ["public.ecr.aws/karpenter/controller@sha256:ab"], "sizeBytes": 48213}],
                "nodeInfo": {"kubeletVersion": "v1.33.1-eks-1fb4a2b"}
            }
        })
    }

    #[test]
    fn a_node_keeps_ready_cordon_allocatable_and_four_labels_only() {
        let node: Node = serde_json::from_value(real_node()).expect("a node");
        assert!(node.status.ready && node.spec.unschedulable);
        assert_eq!(node.status.allocatable.cpu.as_deref(), Some("1930m"));
        assert_eq!(node.status.allocatable.memory.as_deref(), Some("7291656Ki"));
        let labels = node.metadata.labels.as_ref().expect("labels");
        assert_eq!(labels.len(), 4, "{labels:?}");
        assert!(node.metadata.managed_fields.is_none());
        assert!(node.metadata.annotations.is_none());
        assert_eq!(node.metadata.resource_version.as_deref(), Some("48213"));
    }

    #[test]
    fn a_year_9999_time_is_unknown_for_its_object_and_fails_no_list() {
        let far = "9999-12-31T23:59:59Z";
        let pods: kube::core::ObjectList<Pod> = serde_json::from_value(serde_json::json!({
            "kind": "PodList", "apiVersion": "v1", "metadata": {},
            "items": [
                {"metadata": {"name": "future", "creationTimestamp": far},
                 "status": {"phase": "Running",
                            "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": far}],
                            "containerStatuses": [{"name": "c", "ready": true,
                                                   "state": {"running": {"startedAt": far}}}]}},
                {"metadata": {"name": "now", "creationTimestamp": "2026-08-24T09:00:00Z"}}
            ]
        }))
        .expect("one odd time fails no list");
        assert_eq!(pods.items.len(), 2);
        let future = &pods.items[0];
        assert_eq!(future.metadata.name.as_deref(), Some("future"));
        assert!(future.metadata.creation_timestamp.is_none());
        assert!(pods.items[1].metadata.creation_timestamp.is_some());

        let event: Event = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "e"}, "reason": "Odd", "count": 2,
            "firstTimestamp": far, "lastTimestamp": far, "eventTime": far,
            "series": {"count": 3, "lastObservedTime": far}
        }))
        .expect("an event");
        assert!(event.last_timestamp.is_none() && event.event_time.is_none());
        assert_eq!(event.reason.as_deref(), Some("Odd"));
        // Not a time at all is unknown too.
        let event: Event =
            serde_json::from_value(serde_json::json!({"lastTimestamp": 42})).expect("an event");
        assert!(event.last_timestamp.is_none());
    }

    #[test]
    fn nulls_are_defaults_and_a_node_without_conditions_is_not_ready() {
        let node: Node = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "n", "labels": null},
            "spec": null,
            "status": {"conditions": null}
        }))
        .expect("a node");
        assert!(!node.status.ready && !node.spec.unschedulable);
        assert!(node.metadata.labels.is_none());
    }

    /// A page of `GET /api/v1/nodes` as kube-apiserver answers with
    /// `Accept: application/json;as=Table;v=v1;g=meta.k8s.io` and
    /// `includeObject=Metadata&limit=2` (k8s.io/apimachinery
    /// pkg/apis/meta/v1/types.go `Table`, `TableRow`, `ListMeta`).
    #[test]
    fn a_kube_apiserver_node_table_page_gives_nodes_and_its_continue_token() {
        let page: NodeTable = serde_json::from_value(serde_json::json!({
            "kind": "Table", "apiVersion": "meta.k8s.io/v1",
            "metadata": {"resourceVersion": "48213",
                         "continue": "eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6NDgyMTMsInN0YXJ0IjoiYlx1MDAwMCJ9",
                         "remainingItemCount": 3},
            "columnDefinitions": [
                {"name": "Name", "type": "string", "format": "name", "description": "", "priority": 0},
                {"name": "Status", "type": "string", "format": "", "description": "", "priority": 0},
                {"name": "Roles", "type": "string", "format": "", "description": "", "priority": 0},
                {"name": "Age", "type": "string", "format": "", "description": "", "priority": 0},
                {"name": "Version", "type": "string", "format": "", "description": "", "priority": 0},
                {"name": "Internal-IP", "type": "string", "format": "", "description": "", "priority": 1}
            ],
            "rows": [
                {"cells": ["a", "Ready", "<none>", "5d", "v1.33.1", "10.0.1.7"],
                 "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                            "metadata": {"name": "a", "creationTimestamp": "2026-08-24T09:00:00Z",
                                         "labels": {"karpenter.sh/nodepool": "default", "kubernetes.io/os": "linux"},
                                         "managedFields": [{"manager": "kubelet"}]}}},
                {"cells": ["b", "NotReady,SchedulingDisabled", "<none>", "2m", "v1.33.1", "10.0.1.8"],
                 "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                            "metadata": {"name": "b", "creationTimestamp": "2026-08-24T09:03:00Z"}}}
            ]
        }))
        .expect("a Table");
        assert_eq!(page.metadata.remaining_item_count, Some(3));
        assert!(page.metadata.continue_.is_some());
        let nodes = page.nodes().expect("nodes");
        assert_eq!(nodes.len(), 2);
        assert!(nodes[0].status.ready && !nodes[0].spec.unschedulable);
        assert_eq!(
            nodes[0].metadata.labels.as_ref().map(|l| l.len()),
            Some(1),
            "only the kept labels"
        );
        assert!(!nodes[1].status.ready && nodes[1].spec.unschedulable);
        assert!(nodes[1].metadata.creation_timestamp.is_some());
    }

    #[test]
    fn a_node_list_answered_for_the_table_gives_its_nodes() {
        let list: NodeTable = serde_json::from_value(serde_json::json!({
            "kind": "NodeList", "apiVersion": "v1",
            "metadata": {"continue": "next"}, "items": [real_node()]
        }))
        .expect("decodes");
        assert_eq!(list.metadata.continue_.as_deref(), Some("next"));
        let nodes = list.nodes().expect("the list's nodes");
        assert_eq!(nodes.len(), 1);
        assert_eq!(
            nodes[0].metadata.name.as_deref(),
            Some("ip-10-0-1-7.eu-west-1.compute.internal")
        );
        assert!(nodes[0].status.ready);
        assert!(nodes[0].status.allocatable.cpu.is_some());
    }

    #[test]
    fn a_list_of_another_kind_is_never_read_as_zero_nodes() {
        let list: NodeTable = serde_json::from_value(serde_json::json!({
            "kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": []
        }))
        .expect("decodes");
        assert!(list.nodes().is_err());
    }

    /// The last page of a paginated pod list: no continue token.
    #[test]
    fn a_pod_page_decodes_into_the_small_pod() {
        let page: kube::core::ObjectList<Pod> = serde_json::from_value(serde_json::json!({
            "kind": "PodList", "apiVersion": "v1",
            "metadata": {"resourceVersion": "9"},
            "items": [{
                "metadata": {"name": "p", "namespace": "default", "labels": {"app": "spice-runner"},
                             "managedFields": [{"manager": "kube-controller-manager"}]},
                "spec": {"nodeName": "n", "containers": [{"name": "game", "image": "g", "env": [{"name": "X", "value": "secret"}]}]},
                "status": {"phase": "Running", "containerStatuses": [
                    {"name": "game", "ready": true, "restartCount": 2, "state": {"running": {"startedAt": "2026-08-24T09:00:05Z"}}}]}
            }]
        }))
        .expect("a page");
        assert!(page.metadata.continue_.is_none());
        let pod = &page.items[0];
        assert_eq!(pod.spec.node_name.as_deref(), Some("n"));
        assert_eq!(pod.status.container_statuses[0].restart_count, 2);
        assert!(pod.metadata.labels.is_none(), "no pod label is kept");
    }

    #[test]
    fn a_deployment_keeps_its_counts_and_skips_its_pod_template() {
        use kube::Resource;
        let d: Deployment = serde_json::from_value(serde_json::json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "spice-runner", "namespace": "game",
                         "creationTimestamp": "9999-12-31T23:59:59Z"},
            "spec": {"replicas": 3, "template": {"spec": {"containers": [{"name": "game"}],
                     "volumes": [{"name": "v", "emptyDir": {}}]}}},
            "status": {"replicas": 3, "readyReplicas": 2, "availableReplicas": 1}
        }))
        .expect("decodes");
        assert_eq!(d.metadata.name.as_deref(), Some("spice-runner"));
        assert!(d.metadata.creation_timestamp.is_none());
        assert_eq!(d.spec.as_ref().and_then(|s| s.replicas), Some(3));
        let status = d.status.expect("status");
        assert_eq!(
            (
                status.replicas,
                status.ready_replicas,
                status.available_replicas
            ),
            (Some(3), Some(2), Some(1))
        );
        assert_eq!(
            Deployment::url_path(&(), Some("game")),
            "/apis/apps/v1/namespaces/game/deployments"
        );
    }
}
