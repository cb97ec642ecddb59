//! The resources the simulated cluster knows: what discovery lists and what
//! the REST paths serve. A kind missing here cannot be put in a scenario.

use serde_json::{Value, json};

#[derive(Debug)]
pub struct ResDef {
    pub group: &'static str,
    pub version: &'static str,
    pub plural: &'static str,
    pub singular: &'static str,
    pub kind: &'static str,
    pub namespaced: bool,
    pub short_names: &'static [&'static str],
    pub categories: &'static [&'static str],
    /// The `meta.installed` entry without which the group is not served.
    pub addon: Option<&'static str>,
    /// Subresources listed by discovery: (name, kind, verbs).
    pub subresources: &'static [(&'static str, &'static str, &'static [&'static str])],
    /// Field selector labels beyond `metadata.name` / `metadata.namespace`.
    pub fields: &'static [&'static str],
    /// A view of objects stored under another resource (events.k8s.io/v1 events
    /// are core events): (group, plural) of the stored resource.
    pub view_of: Option<(&'static str, &'static str)>,
}

const RW: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];
const STATUS_VERBS: &[&str] = &["get", "patch", "update"];
const NO_SUBS: &[(&str, &str, &[&str])] = &[];
const POD_FIELDS: &[&str] = &[
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "spec.hostNetwork",
    "status.phase",
    "status.podIP",
    "status.nominatedNodeName",
];
const EVENT_FIELDS: &[&str] = &[
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
];
const EVENT_V1_FIELDS: &[&str] = &[
    "regarding.kind",
    "regarding.namespace",
    "regarding.name",
    "regarding.uid",
    "regarding.apiVersion",
    "regarding.resourceVersion",
    "regarding.fieldPath",
    "reason",
    "reportingController",
    "deprecatedSource",
    "type",
];

macro_rules! res {
    ($group:expr, $version:expr, $plural:expr, $singular:expr, $kind:expr, $namespaced:expr,
     short: $short:expr, cat: $cat:expr, addon: $addon:expr, subs: $subs:expr, fields: $fields:expr) => {
        ResDef {
            group: $group,
            version: $version,
            plural: $plural,
            singular: $singular,
            kind: $kind,
            namespaced: $namespaced,
            short_names: $short,
            categories: $cat,
            addon: $addon,
            subresources: $subs,
            fields: $fields,
            view_of: None,
        }
    };
}

pub static RESOURCES: &[ResDef] = &[
    res!("", "v1", "pods", "pod", "Pod", true, short: &["po"], cat: &["all"], addon: None,
        subs: &[("log", "Pod", &["get"]), ("status", "Pod", STATUS_VERBS)], fields: POD_FIELDS),
    res!("", "v1", "nodes", "node", "Node", false, short: &["no"], cat: &[], addon: None,
        subs: &[("status", "Node", STATUS_VERBS)], fields: &["spec.unschedulable"]),
    res!("", "v1", "events", "event", "Event", true, short: &["ev"], cat: &[], addon: None,
        subs: NO_SUBS, fields: EVENT_FIELDS),
    res!("", "v1", "services", "service", "Service", true, short: &["svc"], cat: &["all"], addon: None,
        subs: &[("proxy", "ServiceProxyOptions", &["create", "delete", "get", "patch", "update"]),
                ("status", "Service", STATUS_VERBS)], fields: &[]),
    res!("", "v1", "endpoints", "endpoints", "Endpoints", true, short: &["ep"], cat: &[], addon: None,
        subs: NO_SUBS, fields: &[]),
    res!("", "v1", "namespaces", "namespace", "Namespace", false, short: &["ns"], cat: &[], addon: None,
        subs: &[("status", "Namespace", STATUS_VERBS)], fields: &["status.phase"]),
    res!("", "v1", "configmaps", "configmap", "ConfigMap", true, short: &["cm"], cat: &[], addon: None,
        subs: NO_SUBS, fields: &[]),
    res!("apps", "v1", "deployments", "deployment", "Deployment", true, short: &["deploy"], cat: &["all"],
        addon: None, subs: &[("scale", "Scale", STATUS_VERBS), ("status", "Deployment", STATUS_VERBS)], fields: &[]),
    res!("apps", "v1", "replicasets", "replicaset", "ReplicaSet", true, short: &["rs"], cat: &["all"],
        addon: None, subs: &[("scale", "Scale", STATUS_VERBS), ("status", "ReplicaSet", STATUS_VERBS)], fields: &[]),
    res!("apps", "v1", "statefulsets", "statefulset", "StatefulSet", true, short: &["sts"], cat: &["all"],
        addon: None, subs: &[("scale", "Scale", STATUS_VERBS), ("status", "StatefulSet", STATUS_VERBS)], fields: &[]),
    res!("apps", "v1", "daemonsets", "daemonset", "DaemonSet", true, short: &["ds"], cat: &["all"],
        addon: None, subs: &[("status", "DaemonSet", STATUS_VERBS)], fields: &[]),
    res!("autoscaling", "v2", "horizontalpodautoscalers", "horizontalpodautoscaler", "HorizontalPodAutoscaler",
        true, short: &["hpa"], cat: &["all"], addon: None,
        subs: &[("status", "HorizontalPodAutoscaler", STATUS_VERBS)], fields: &[]),
    ResDef {
        group: "events.k8s.io",
        version: "v1",
        plural: "events",
        singular: "event",
        kind: "Event",
        namespaced: true,
        short_names: &["ev"],
        categories: &[],
        addon: None,
        subresources: NO_SUBS,
        fields: EVENT_V1_FIELDS,
        view_of: Some(("", "events")),
    },
    // The aggregation layer's registrations (kube-aggregator, Kubernetes
    // v1.33 staging/src/k8s.io/kube-aggregator/pkg/apis/apiregistration/v1/
    // types.go): cluster-scoped, always served. KEDA's metrics server
    // registers v1beta1.external.metrics.k8s.io, whose spec.service names
    // its Service and namespace.
    res!("apiregistration.k8s.io", "v1", "apiservices", "apiservice", "APIService", false, short: &[],
        cat: &["api-extensions"], addon: None, subs: &[("status", "APIService", STATUS_VERBS)], fields: &[]),
    res!("keda.sh", "v1alpha1", "scaledobjects", "scaledobject", "ScaledObject", true, short: &["so"],
        cat: &["keda"], addon: Some("keda"), subs: &[("status", "ScaledObject", STATUS_VERBS)], fields: &[]),
    res!("keda.sh", "v1alpha1", "scaledjobs", "scaledjob", "ScaledJob", true, short: &["sj"],
        cat: &["keda"], addon: Some("keda"), subs: &[("status", "ScaledJob", STATUS_VERBS)], fields: &[]),
    res!("keda.sh", "v1alpha1", "triggerauthentications", "triggerauthentication", "TriggerAuthentication",
        true, short: &["ta", "triggerauth"], cat: &["keda"], addon: Some("keda"),
        subs: &[("status", "TriggerAuthentication", STATUS_VERBS)], fields: &[]),
    res!("keda.sh", "v1alpha1", "clustertriggerauthentications", "clustertriggerauthentication",
        "ClusterTriggerAuthentication", false, short: &["cta", "clustertriggerauth"], cat: &["keda"],
        addon: Some("keda"), subs: &[("status", "ClusterTriggerAuthentication", STATUS_VERBS)], fields: &[]),
    res!("karpenter.sh", "v1", "nodepools", "nodepool", "NodePool", false, short: &[], cat: &["karpenter"],
        addon: Some("karpenter"), subs: &[("status", "NodePool", STATUS_VERBS)], fields: &[]),
    res!("karpenter.sh", "v1", "nodeclaims", "nodeclaim", "NodeClaim", false, short: &[], cat: &["karpenter"],
        addon: Some("karpenter"), subs: &[("status", "NodeClaim", STATUS_VERBS)], fields: &[]),
    // Karpenter before 1.0 (v0.32–v0.37) serves only karpenter.sh/v1beta1
    // (kubernetes-sigs/karpenter v0.35 pkg/apis/crds/karpenter.sh_nodepools.yaml).
    res!("karpenter.sh", "v1beta1", "nodepools", "nodepool", "NodePool", false, short: &[], cat: &["karpenter"],
        addon: Some("karpenter-v1beta1"), subs: &[("status", "NodePool", STATUS_VERBS)], fields: &[]),
    res!("karpenter.sh", "v1beta1", "nodeclaims", "nodeclaim", "NodeClaim", false, short: &[], cat: &["karpenter"],
        addon: Some("karpenter-v1beta1"), subs: &[("status", "NodeClaim", STATUS_VERBS)], fields: &[]),
    // The resource metrics API as metrics-server v0.7 serves it through the
    // aggregation layer (NodeMetrics: k8s.io/metrics
    // pkg/apis/metrics/v1beta1/types.go, Kubernetes v1.33: metadata,
    // timestamp, window, usage{cpu, memory}). Off unless a test installs
    // "metrics-server": then a real server answers 404 for the group.
    res!("metrics.k8s.io", "v1beta1", "nodes", "", "NodeMetrics", false, short: &[], cat: &[],
        addon: Some("metrics-server"), subs: NO_SUBS, fields: &[]),
];

impl ResDef {
    /// `v1` or `apps/v1`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// Where objects of this resource are stored: (group, plural).
    pub fn storage(&self) -> (&'static str, &'static str) {
        self.view_of.unwrap_or((self.group, self.plural))
    }

    pub fn served(&self, installed: &[String]) -> bool {
        self.addon.is_none_or(|a| installed.iter().any(|i| i == a))
    }

    /// A stored object as this resource shows it (converted for views).
    pub fn present(&self, stored: &Value) -> Value {
        if self.view_of.is_some() {
            core_event_to_v1(stored)
        } else {
            stored.clone()
        }
    }

    /// The value of a field selector label for an object as this resource
    /// presents it; `None` when the label is not supported.
    pub fn field(&self, obj: &Value, label: &str) -> Option<String> {
        let path = match label {
            "metadata.name" | "metadata.namespace" => label,
            l if self.fields.contains(&l) => l,
            _ => return None,
        };
        let path = match path {
            "source" => "source.component",
            "deprecatedSource" => "deprecatedSource.component",
            p => p,
        };
        let mut cur = obj;
        for part in path.split('.') {
            cur = &cur[part];
        }
        Some(match cur {
            Value::String(s) => s.clone(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => n.to_string(),
            _ if matches!(label, "spec.unschedulable" | "spec.hostNetwork") => "false".into(),
            _ => String::new(),
        })
    }
}

/// The served definition for a kind as objects spell it (`apiVersion`, `kind`).
pub fn def_for_kind(api_version: &str, kind: &str) -> Option<&'static ResDef> {
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let same_kind = || {
        RESOURCES
            .iter()
            .filter(|d| d.group == group && d.kind == kind)
    };
    same_kind()
        .find(|d| d.version == version)
        .or_else(|| same_kind().next())
}

/// The definition serving `/api(s)/<group>/<version>/<plural>`.
pub fn def_for_path(group: &str, version: &str, plural: &str) -> Option<&'static ResDef> {
    RESOURCES
        .iter()
        .find(|d| d.group == group && d.version == version && d.plural == plural)
}

/// The definition that stores objects at (group, plural).
pub fn storage_def(storage: (&str, &str)) -> &'static ResDef {
    RESOURCES
        .iter()
        .find(|d| d.view_of.is_none() && (d.group, d.plural) == storage)
        .expect("storage resource exists")
}

/// events.k8s.io/v1 Event → core v1 Event (what the store keeps).
pub fn v1_event_to_core(ev: &Value) -> Value {
    let mut out = json!({"apiVersion": "v1", "kind": "Event", "metadata": ev["metadata"].clone()});
    let pairs = [
        ("regarding", "involvedObject"),
        ("note", "message"),
        ("reason", "reason"),
        ("type", "type"),
        ("eventTime", "eventTime"),
        ("series", "series"),
        ("action", "action"),
        ("related", "related"),
        ("reportingController", "reportingComponent"),
        ("reportingInstance", "reportingInstance"),
        ("deprecatedSource", "source"),
        ("deprecatedFirstTimestamp", "firstTimestamp"),
        ("deprecatedLastTimestamp", "lastTimestamp"),
        ("deprecatedCount", "count"),
    ];
    for (from, to) in pairs {
        if !ev[from].is_null() {
            out[to] = ev[from].clone();
        }
    }
    out
}

/// Core v1 Event → events.k8s.io/v1 Event.
pub fn core_event_to_v1(ev: &Value) -> Value {
    let mut out = json!({"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": ev["metadata"].clone()});
    let pairs = [
        ("involvedObject", "regarding"),
        ("message", "note"),
        ("reason", "reason"),
        ("type", "type"),
        ("eventTime", "eventTime"),
        ("series", "series"),
        ("action", "action"),
        ("related", "related"),
        ("reportingComponent", "reportingController"),
        ("reportingInstance", "reportingInstance"),
        ("source", "deprecatedSource"),
        ("firstTimestamp", "deprecatedFirstTimestamp"),
        ("lastTimestamp", "deprecatedLastTimestamp"),
        ("count", "deprecatedCount"),
    ];
    for (from, to) in pairs {
        if !ev[from].is_null() {
            out[to] = ev[from].clone();
        }
    }
    out
}
