//! The Snapshot: everything one collect step read, as plain data. Checks and
//! the status view are pure functions of it; it round-trips through JSON so an
//! incident can be saved and replayed offline. It never holds secrets: pods are
//! summarised (no env, no volumes), trigger metadata is reduced to known,
//! non-secret keys, URLs lose their credentials.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub use super::kinds::{ContainerState, GapSource, PodPhase};

pub const API_VERSION: &str = "spice.kubectl.dev/v1alpha1";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    pub api_version: String,
    pub kind: String,
    /// When the collect step started; every age is measured from here.
    pub captured_at: Timestamp,
    pub context: Option<String>,
    /// The API server URL (never with credentials).
    pub server: Option<String>,
    pub namespace: String,
    /// Which optional APIs the cluster serves; `None` when discovery failed.
    #[serde(default)]
    pub apis: Apis,
    /// `None`: not read (see `gaps`).
    #[serde(default)]
    pub pods: Option<Vec<PodInfo>>,
    #[serde(default)]
    pub deployment: Option<Lookup<DeploymentInfo>>,
    #[serde(default)]
    pub scaled_object: Option<Lookup<ScaledObjectInfo>>,
    /// Set when the ScaledObject was not found because the namespace itself
    /// does not exist: the namespaces holding a ScaledObject that targets a
    /// Deployment of the configured name (issue 19 item 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_missing: Option<Vec<String>>,
    /// Every HPA in the namespace (the one KEDA owns is picked by name).
    #[serde(default)]
    pub hpas: Option<Vec<HpaInfo>>,
    #[serde(default)]
    pub nodes: Option<Vec<NodeInfo>>,
    #[serde(default)]
    pub node_pools: Option<Vec<NodePoolInfo>>,
    #[serde(default)]
    pub node_claims: Option<Vec<NodeClaimInfo>>,
    #[serde(default)]
    pub events: Option<Vec<EventInfo>>,
    #[serde(default)]
    pub operator_pods: Option<Vec<PodInfo>>,
    /// Where KEDA's pods were looked for and found, and how that place was
    /// known (`None`: an older snapshot, or not read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keda_found: Option<KedaFound>,
    /// KEDA's metrics API server pods (`keda-operator-metrics-apiserver`),
    /// which serve the HPA its external metric.
    #[serde(default)]
    pub metrics_apiserver_pods: Option<Vec<PodInfo>>,
    /// KEDA operator log lines about this ScaledObject (newest last), after up
    /// to 10 error lines about other ScaledObjects kept as context only (the
    /// checks tell them apart with `keda_log::about`).
    #[serde(default)]
    pub operator_logs: Option<Vec<LogLine>>,
    /// Alerting rules Prometheus has loaded (to spot the runbook's flawed forms).
    #[serde(default)]
    pub prometheus_rules: Option<Vec<RuleInfo>>,
    /// The Loki read and how it was chosen (`diagnose` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loki_read: Option<ReadFrom>,
    /// Heartbeat data from Loki; `None` when Loki was not reached (see gaps).
    #[serde(default)]
    pub loki: Option<LokiData>,
    /// The Prometheus the answers came from and how it was chosen (`None`:
    /// an older snapshot).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prometheus_read: Option<ReadFrom>,
    /// Prometheus answers, keyed by the query's purpose (see `domain::promql`).
    #[serde(default)]
    pub prometheus: BTreeMap<String, PromAnswer>,
    #[serde(default)]
    pub gaps: Vec<Gap>,
    /// Cluster Autoscaler's status ConfigMap; `None`: not there or not read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_autoscaler: Option<ClusterAutoscalerInfo>,
    /// Karpenter's controller pods (`app.kubernetes.io/name=karpenter` in
    /// `kube-system` on EKS add-on installs, `karpenter` elsewhere).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub karpenter_pods: Option<Vec<PodInfo>>,
    /// The nginx pods (labelled `app=<nginxService>`) with the probes the
    /// kubelet sends them, for the idle floor; `None`: not read (an older
    /// snapshot, or the read failed), so probes are not counted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nginx_pods: Option<Vec<super::probes::NginxPod>>,
    /// The API server's `/version` gitVersion (`v1.33.0`); `None`: not read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_version: Option<String>,
    /// The game's Deployment as the ScaledObject's scaleTargetRef names it,
    /// read instead of the configured default (issue 19 item 6); `None`: the
    /// configured one (or the one set) was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_target: Option<TargetFound>,
}

impl Snapshot {
    pub fn new(captured_at: Timestamp, namespace: &str) -> Snapshot {
        Snapshot {
            api_version: API_VERSION.to_string(),
            kind: "Snapshot".to_string(),
            captured_at,
            context: None,
            server: None,
            namespace: namespace.to_string(),
            apis: Apis::default(),
            pods: None,
            deployment: None,
            scaled_object: None,
            namespace_missing: None,
            hpas: None,
            nodes: None,
            node_pools: None,
            node_claims: None,
            events: None,
            operator_pods: None,
            keda_found: None,
            metrics_apiserver_pods: None,
            operator_logs: None,
            prometheus_rules: None,
            loki_read: None,
            loki: None,
            prometheus_read: None,
            prometheus: BTreeMap::new(),
            gaps: Vec::new(),
            cluster_autoscaler: None,
            karpenter_pods: None,
            nginx_pods: None,
            server_version: None,
            scale_target: None,
        }
    }

    /// The gap recorded for a source, if any (`snap.gap(GapSource::Pods)`,
    /// or by its string).
    pub fn gap(&self, source: impl Into<GapSource>) -> Option<&Gap> {
        let source = source.into();
        self.gaps.iter().find(|g| g.source == source)
    }

    /// The HPA KEDA made for the ScaledObject: `status.hpaName`, else the
    /// configured `advanced.horizontalPodAutoscalerConfig.name`, else
    /// `keda-hpa-<scaledobject>`.
    pub fn keda_hpa_name(&self, scaled_object: &str) -> String {
        if let Some(Lookup::Found(so)) = &self.scaled_object
            && let Some(name) = so.keda_hpa_name()
        {
            return name.to_string();
        }
        format!("keda-hpa-{scaled_object}")
    }

    pub fn keda_hpa(&self, scaled_object: &str) -> Option<&HpaInfo> {
        let name = self.keda_hpa_name(scaled_object);
        self.hpas.as_ref()?.iter().find(|h| h.name == name)
    }

    pub fn prom_value(&self, key: &str) -> Option<f64> {
        self.prometheus.get(key)?.scalar()
    }
}

/// The largest snapshot file `--from` reads. A snapshot of a busy cluster is
/// a few MB; a file far larger is not one, and reading it would only cost memory.
pub const MAX_FILE_BYTES: usize = 64 * 1024 * 1024;

/// How deep brackets may nest in a YAML snapshot. The Snapshot's own
/// deepest value is under 10 levels; serde_json stops at 128 by itself, and
/// this keeps the YAML parser, which reads the whole tree first, as bounded.
const MAX_YAML_NESTING: usize = 128;

/// Parses a snapshot file's bytes. The format is decided once, from the
/// content: JSON when the first non-blank character is `{`, else YAML. Errors
/// name the place (line, column), never the content: the file may be anything
/// the user pointed at, a token file included.
pub fn parse_file(bytes: &[u8]) -> Result<Snapshot, String> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    let snapshot: Snapshot = if first == Some(&b'{') {
        serde_json::from_slice(bytes).map_err(|e| json_error(&e))?
    } else {
        if first.is_none() {
            return Err("the file is empty".into());
        }
        if let Some(line) = nested_too_deep(bytes, MAX_YAML_NESTING) {
            return Err(format!(
                "YAML nested deeper than {MAX_YAML_NESTING} levels at line {line}"
            ));
        }
        serde_norway::from_slice(bytes).map_err(|e| yaml_error(&e))?
    };
    if snapshot.kind != "Snapshot" || snapshot.api_version != API_VERSION {
        return Err(format!(
            "its kind and apiVersion are not those of a {API_VERSION} Snapshot"
        ));
    }
    Ok(snapshot)
}

fn json_error(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let at = format!("at line {} column {}", e.line(), e.column());
    match e.classify() {
        Category::Eof => format!("unexpected end of file at line {}", e.line()),
        // Syntax messages are serde_json's fixed words ("expected value",
        // "recursion limit exceeded"), never the input's text.
        Category::Syntax => {
            let text = e.to_string();
            let what = text.split(" at line ").next().unwrap_or("invalid JSON");
            format!("invalid JSON {at}: {what}")
        }
        Category::Data => data_error(&e.to_string(), &at),
        Category::Io => format!("cannot read the JSON {at}"),
    }
}

fn yaml_error(e: &serde_norway::Error) -> String {
    let at = match e.location() {
        Some(l) => format!("at line {} column {}", l.line(), l.column()),
        None => "in the file".into(),
    };
    let text = e.to_string();
    if text.starts_with("recursion limit exceeded") {
        return format!("YAML nested too deeply {at}");
    }
    if text.starts_with("repetition limit exceeded") {
        return "YAML aliases repeat too often (an alias bomb?)".into();
    }
    format!(
        "not valid YAML for a snapshot {at}: {}",
        data_error(&text, "").trim_end()
    )
}

/// A data error without the value that caused it: serde's messages quote it
/// (`invalid type: string "..."`), and that text is the file's, not ours.
/// Field names in "missing field" are the Snapshot's own.
fn data_error(text: &str, at: &str) -> String {
    let head = text.split(" at line ").next().unwrap_or(text);
    if head.starts_with("missing field `") && head.len() < 80 {
        format!("{head} {at}")
    } else {
        format!("a value has the wrong type or shape {at}")
    }
}

/// The 1-based line where `[`/`{` nesting first exceeds `limit`, counting
/// brackets outside quotes only roughly: balanced brackets inside strings
/// never add up, so a real snapshot never comes near the limit.
pub(crate) fn nested_too_deep(bytes: &[u8], limit: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut line = 1;
    for b in bytes {
        match b {
            b'\n' => line += 1,
            b'[' | b'{' => {
                depth += 1;
                if depth > limit {
                    return Some(line);
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// A single object that was read: it exists, or the API said it does not.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Lookup<T> {
    Found(T),
    Missing,
}

impl<T> Lookup<T> {
    pub fn found(&self) -> Option<&T> {
        match self {
            Lookup::Found(t) => Some(t),
            Lookup::Missing => None,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Apis {
    pub keda: Option<bool>,
    pub karpenter: Option<bool>,
    /// The karpenter.sh version NodePools and NodeClaims were read at: `v1`,
    /// or `v1beta1` on Karpenter before 1.0 (v0.32–v0.37).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub karpenter_version: Option<String>,
}

/// Where KEDA runs, as the collect step found it: the settings say where to
/// look first; the APIService `v1beta1.external.metrics.k8s.io` names the
/// namespace of KEDA's metrics server; the pods carry the Helm chart's
/// labels or the release manifests' (issue 19).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KedaFound {
    /// The namespace the operator pods were read in.
    pub namespace: String,
    /// How it was known.
    pub how: KedaHow,
    /// The selectors that matched (the configured ones when none did).
    pub operator_selector: String,
    pub metrics_apiserver_selector: String,
    /// Every namespace looked in (the first is the configured one).
    #[serde(default)]
    pub searched: Vec<String>,
}

/// The workload the collect step read because the ScaledObject's
/// scaleTargetRef names it, and the pod selector taken from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetFound {
    /// `Deployment` or `StatefulSet`.
    pub kind: String,
    pub name: String,
    /// The configured Deployment it replaces.
    pub instead_of: String,
    /// kubectl's string of its `spec.selector`; `None`: the configured
    /// selector was kept (set, or the Deployment could not be read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,
    /// The workload does not exist (its GET answered 404); read only for a
    /// StatefulSet (a missing Deployment is `deployment: Missing`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub missing: bool,
    /// A StatefulSet's `spec.podManagementPolicy` (`OrderedReady`, the
    /// default, or `Parallel`); `None` when it was not read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_management_policy: Option<String>,
}

/// An HTTP API the collect step read (Prometheus, Loki), and why that one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReadFrom {
    /// `monitoring/prometheus-operated:9090`, or a URL without credentials.
    pub address: String,
    /// `setting`, `default`, or `ScaledObject trigger`.
    pub how: String,
    /// Why the first choice was not read (the configured Service's 404).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instead_of: Option<String>,
    /// The tenant sent as `X-Scope-OrgID` (a multi-tenant Prometheus).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// Where that tenant came from: `setting` or `ScaledObject trigger`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_from: Option<String>,
}

/// `ReadFrom::how` of the Loki chart's gateway, read when the configured
/// Loki Service did not exist.
pub const LOKI_GATEWAY_HOW: &str = "gateway";

/// How the KEDA namespace was known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum KedaHow {
    /// The setting (flag, env or config file) said so.
    Setting,
    /// The default namespace held KEDA's pods.
    Default,
    /// The APIService named the metrics server's namespace.
    ApiService,
    /// A namespace KEDA's installers use (AKS add-on, OpenShift) held them.
    WellKnown,
    /// No namespace looked in held KEDA's pods.
    NotFound,
}

impl KedaHow {
    pub fn describe(self) -> &'static str {
        match self {
            KedaHow::Setting => "setting",
            KedaHow::Default => "default",
            KedaHow::ApiService => "APIService",
            KedaHow::WellKnown => "well-known namespace",
            KedaHow::NotFound => "not found",
        }
    }
}

/// Something the collect step could not read, and how to fix that.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Gap {
    /// Which source: `pods`, `scaledobject`, `hpa`, `nodes`, `prometheus`, ...
    pub source: GapSource,
    pub reason: GapReason,
    /// One line: what went wrong.
    pub message: String,
    /// One line: what to do about it.
    pub hint: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum GapReason {
    /// RBAC denied the read.
    Forbidden,
    /// The API (CRD) is not served by this cluster.
    NotInstalled,
    /// The object does not exist.
    NotFound,
    /// The source did not answer (connection refused, no endpoints, DNS).
    Unreachable,
    /// The source was too slow.
    Timeout,
    /// The credentials were rejected.
    Unauthorized,
    /// The source answered with an error.
    Error,
}

impl std::fmt::Display for GapReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            GapReason::Forbidden => "forbidden",
            GapReason::NotInstalled => "not installed",
            GapReason::NotFound => "not found",
            GapReason::Unreachable => "unreachable",
            GapReason::Timeout => "timed out",
            GapReason::Unauthorized => "unauthorized",
            GapReason::Error => "error",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    #[serde(rename = "type")]
    pub type_: String,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Timestamp>,
}

pub fn condition<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodInfo {
    pub name: String,
    pub namespace: String,
    /// `status.phase`; empty if the API had none yet.
    pub phase: PodPhase,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    pub created: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleting: Option<Timestamp>,
    /// `metadata.deletionGracePeriodSeconds`: how long a deleted pod may
    /// drain before it is killed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_period_secs: Option<i64>,
    /// The Ready condition is True.
    pub ready: bool,
    /// When the Ready condition last became True.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_since: Option<Timestamp>,
    pub restarts: i32,
    #[serde(default)]
    pub containers: Vec<ContainerInfo>,
    /// The PodScheduled condition (its reason/message say why a pod is Pending).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled: Option<Condition>,
    /// `status.nominatedNodeName` (preemption).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nominated_node: Option<String>,
}

impl PodInfo {
    /// The first container waiting with `CrashLoopBackOff`, if any.
    pub fn crash_looping(&self) -> Option<&ContainerInfo> {
        self.containers
            .iter()
            .find(|c| c.waiting_reason.as_deref() == Some("CrashLoopBackOff"))
    }

    /// What kubectl shows in its STATUS column: a waiting/terminated reason
    /// wins over the phase, deletion shows as Terminating.
    pub fn display_status(&self) -> String {
        if self.deleting.is_some() {
            return "Terminating".into();
        }
        for c in &self.containers {
            if let Some(r) = &c.waiting_reason
                && (r != "ContainerCreating" || self.phase == PodPhase::Pending)
            {
                return r.clone();
            }
        }
        for c in &self.containers {
            if let Some(r) = &c.terminated_reason {
                return r.clone();
            }
        }
        if self.phase == PodPhase::Unset {
            "Unknown".into()
        } else {
            self.phase.to_string()
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerInfo {
    pub name: String,
    pub ready: bool,
    pub restarts: i32,
    /// running | waiting | terminated | unknown (no status yet)
    pub state: ContainerState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminated_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Timestamp>,
    /// Declared in the pod spec (a container with no status yet is still listed).
    #[serde(default)]
    pub sidecar: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentInfo {
    pub name: String,
    pub replicas: Option<i32>,
    pub ready_replicas: i32,
    pub available_replicas: i32,
    pub status_replicas: i32,
}

/// A KEDA ScaledObject, reduced to what the runbook looks at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScaledObjectInfo {
    pub name: String,
    pub target_api_version: Option<String>,
    pub target_kind: Option<String>,
    pub target_name: String,
    /// As written in the spec; `None` means KEDA's default applies.
    pub polling_interval: Option<i64>,
    pub cooldown_period: Option<i64>,
    pub initial_cooldown_period: Option<i64>,
    pub min_replicas: Option<i64>,
    pub max_replicas: Option<i64>,
    pub idle_replicas: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<Fallback>,
    /// `advanced.horizontalPodAutoscalerConfig.name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hpa_name_override: Option<String>,
    /// `advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.stabilizationWindowSeconds`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_down_stabilization: Option<i64>,
    pub triggers: Vec<TriggerInfo>,
    /// Only KEDA's own annotations (`autoscaling.keda.sh/*`: pause, force-activation).
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    #[serde(default)]
    pub conditions: Vec<Condition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hpa_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_active_time: Option<Timestamp>,
    #[serde(default)]
    pub external_metric_names: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused_replica_count: Option<i64>,
    /// `advanced.horizontalPodAutoscalerConfig.behavior`, which KEDA copies
    /// to its HPA as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hpa_behavior: Option<BehaviorInfo>,
    /// `advanced.scalingModifiers`: when present the HPA scales on KEDA's
    /// `composite-metric` against its target, not on the trigger's threshold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scaling_modifiers: Option<ScalingModifiersInfo>,
}

/// `advanced.scalingModifiers` of a ScaledObject (kedacore/keda v2.20
/// `apis/keda/v1alpha1/scaledobject_types.go` ScalingModifiers).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScalingModifiersInfo {
    /// The formula as written, cut to `FORMULA_MAX` characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub formula: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activation_target: Option<String>,
    /// `AverageValue` (KEDA's default) or `Value`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric_type: Option<String>,
}

/// The longest scalingModifiers formula a snapshot keeps.
pub const FORMULA_MAX: usize = 200;

/// An HPA's `behavior` (autoscaling/v2 HorizontalPodAutoscalerBehavior) as
/// written; unset fields take the API's defaults in `domain::model`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BehaviorInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_up: Option<ScalingRulesInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_down: Option<ScalingRulesInfo>,
}

/// One direction of `behavior` (autoscaling/v2 HPAScalingRules).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScalingRulesInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stabilization_window_seconds: Option<i64>,
    /// `Max`, `Min` or `Disabled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub select_policy: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<ScalingPolicyInfo>,
    /// `tolerance` (feature gate HPAConfigurableTolerance: alpha, off, in
    /// 1.33–1.34; beta, on, from 1.35; a server with it off drops the field),
    /// as the quantity written (`"0.05"`, `"50m"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerance: Option<String>,
}

/// One scaling policy: `Pods` or `Percent`, `value` per `periodSeconds`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScalingPolicyInfo {
    #[serde(rename = "type")]
    pub type_: String,
    pub value: i64,
    pub period_seconds: i64,
}

pub const PAUSED: &str = "autoscaling.keda.sh/paused";
pub const PAUSED_REPLICAS: &str = "autoscaling.keda.sh/paused-replicas";
pub const PAUSED_SCALE_IN: &str = "autoscaling.keda.sh/paused-scale-in";
pub const PAUSED_SCALE_OUT: &str = "autoscaling.keda.sh/paused-scale-out";
/// KEDA ≥ 2.18: the ScaledObject counts as active whatever its triggers say.
pub const FORCE_ACTIVATION: &str = "autoscaling.keda.sh/force-activation";

/// KEDA's defaults (keda v2.20): see notes/keda-prometheus-facts.md §1.2.
pub const KEDA_DEFAULT_POLLING_INTERVAL: i64 = 30;
pub const KEDA_DEFAULT_COOLDOWN_PERIOD: i64 = 300;
pub const KEDA_DEFAULT_MIN_REPLICAS: i64 = 0;
pub const KEDA_DEFAULT_MAX_REPLICAS: i64 = 100;
pub const KEDA_DEFAULT_ACTIVATION_THRESHOLD: f64 = 0.0;

impl ScaledObjectInfo {
    /// The HPA KEDA made for it, when the object names one: `status.hpaName`
    /// (what KEDA made), else `advanced.horizontalPodAutoscalerConfig.name`
    /// (what it will make). `None`: KEDA's default `keda-hpa-<name>`.
    pub fn keda_hpa_name(&self) -> Option<&str> {
        [&self.hpa_name, &self.hpa_name_override]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .find(|n| !n.is_empty())
    }

    pub fn polling_interval_or_default(&self) -> i64 {
        self.polling_interval
            .unwrap_or(KEDA_DEFAULT_POLLING_INTERVAL)
    }
    pub fn cooldown_period_or_default(&self) -> i64 {
        self.cooldown_period.unwrap_or(KEDA_DEFAULT_COOLDOWN_PERIOD)
    }
    pub fn min_replicas_or_default(&self) -> i64 {
        self.min_replicas.unwrap_or(KEDA_DEFAULT_MIN_REPLICAS)
    }
    pub fn max_replicas_or_default(&self) -> i64 {
        self.max_replicas.unwrap_or(KEDA_DEFAULT_MAX_REPLICAS)
    }

    /// Fully paused as KEDA sees it: `paused-replicas` present, or `paused`
    /// true by KEDA's `getBoolAnnotation` (kedacore/keda v2.20.2
    /// `apis/keda/v1alpha1/scaledobject_types.go`). `paused-scale-in` and
    /// `paused-scale-out` also set the Paused condition True, but KEDA keeps
    /// its scale loop and the HPA, so they are not a pause of autoscaling.
    pub fn paused(&self) -> bool {
        if self.annotations.contains_key(PAUSED_REPLICAS) || self.bool_annotation(PAUSED) {
            return true;
        }
        if self.annotations.contains_key(PAUSED) || self.one_way_paused() {
            return false;
        }
        condition(&self.conditions, "Paused").is_some_and(|c| c.status == "True")
    }

    /// Scale-in or scale-out paused by its annotation (one direction only).
    pub fn one_way_paused(&self) -> bool {
        self.bool_annotation(PAUSED_SCALE_IN) || self.bool_annotation(PAUSED_SCALE_OUT)
    }

    /// An annotation read as KEDA's `getBoolAnnotation` reads it: absent is
    /// false, a Go boolean is itself, any other value is taken as true.
    pub fn bool_annotation(&self, key: &str) -> bool {
        self.annotations
            .get(key)
            .is_some_and(|v| parse_go_bool(v).unwrap_or(true))
    }

    /// The first prometheus trigger.
    pub fn prometheus_trigger(&self) -> Option<&TriggerInfo> {
        self.triggers.iter().find(|t| t.type_ == "prometheus")
    }
}

/// Go's `strconv.ParseBool`, which KEDA applies to its annotations: exactly
/// `1 t T TRUE true True` and `0 f F FALSE false False`; anything else
/// (` true`, `yes`, `FaLsE`) is not a boolean.
pub fn parse_go_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fallback {
    pub failure_threshold: Option<i64>,
    pub replicas: Option<i64>,
    /// `static` (the default), `currentReplicas`, `currentReplicasIfHigher`,
    /// `currentReplicasIfLower` (KEDA 2.17+) or `scalingModifiers` (2.20+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub behavior: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TriggerInfo {
    #[serde(rename = "type")]
    pub type_: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric_type: Option<String>,
    /// Only the non-secret keys the checks read (query, threshold, ...).
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authentication_ref: Option<String>,
}

/// Trigger metadata keys kept in a snapshot; everything else (bearerToken,
/// password, customAuthValue, ...) is dropped at collect time.
pub const TRIGGER_KEYS_KEPT: &[&str] = &[
    "serverAddress",
    "query",
    "threshold",
    "activationThreshold",
    "ignoreNullValues",
    "namespace",
    "metricName",
    "unsafeSsl",
    "timeout",
    "authModes",
    // Kept as its tenant alone (`X-Scope-OrgID=<tenant>`): other headers
    // may carry credentials and never enter a snapshot.
    "customHeaders",
];

impl TriggerInfo {
    pub fn threshold(&self) -> Option<f64> {
        self.metadata.get("threshold")?.trim().parse().ok()
    }
    /// `None` when absent (KEDA's default is 0) or unparsable.
    pub fn activation_threshold(&self) -> Option<f64> {
        self.metadata
            .get("activationThreshold")?
            .trim()
            .parse()
            .ok()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HpaInfo {
    pub name: String,
    pub min_replicas: Option<i32>,
    pub max_replicas: i32,
    pub current_replicas: Option<i32>,
    pub desired_replicas: i32,
    #[serde(default)]
    pub metrics: Vec<HpaMetric>,
    #[serde(default)]
    pub conditions: Vec<Condition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_scale_time: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_down_stabilization: Option<i32>,
    /// Names of the ScaledObjects that own it (ownerReferences).
    #[serde(default)]
    pub owners: Vec<String>,
    /// `spec.behavior` as the API server serves it (defaults filled in).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub behavior: Option<BehaviorInfo>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HpaMetric {
    /// External, Resource, Pods, Object, ContainerResource.
    #[serde(rename = "type")]
    pub type_: String,
    pub name: String,
    /// Value, AverageValue or Utilization, with the target as written ("1", "500m").
    pub target_type: Option<String>,
    pub target: Option<String>,
    /// The current value as the HPA reports it (`<unknown>` when absent).
    pub current: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeInfo {
    pub name: String,
    pub ready: bool,
    pub unschedulable: bool,
    pub created: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_pool: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    /// `status.allocatable.cpu` in cores: what `watch` measures node CPU use
    /// against, as `kubectl top nodes` does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocatable_cpu: Option<f64>,
    /// `status.allocatable.memory` in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocatable_memory: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodePoolInfo {
    pub name: String,
    pub consolidation_policy: Option<String>,
    pub consolidate_after: Option<String>,
    pub nodes: Option<i64>,
    #[serde(default)]
    pub conditions: Vec<Condition>,
    /// `spec.disruption.budgets`, in order (Karpenter's CRD default is one
    /// budget of `nodes: 10%`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub budgets: Vec<BudgetInfo>,
    /// `spec.limits`: resource name → quantity as written.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub limits: BTreeMap<String, String>,
    /// `status.resources`: what the pool's nodes hold now.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub resources: BTreeMap<String, String>,
}

/// One NodePool disruption budget (karpenter.sh/v1 `Budget`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BudgetInfo {
    /// `"0"`, `"3"` or a percentage `"10%"`.
    pub nodes: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
}

/// Cluster Autoscaler's status ConfigMap (`kube-system/cluster-autoscaler-status`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterAutoscalerInfo {
    /// `namespace/name` of the ConfigMap read.
    pub config_map: String,
    /// Its `status` key (YAML in CA ≥ 1.30, plain text before), bounded.
    pub status: String,
    /// The `cluster-autoscaler.kubernetes.io/last-updated` annotation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_updated: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeClaimInfo {
    pub name: String,
    pub node_pool: Option<String>,
    pub node_name: Option<String>,
    pub created: Option<Timestamp>,
    #[serde(default)]
    pub conditions: Vec<Condition>,
}

/// NodeClaim condition types: kubernetes-sigs/karpenter v1.14.1
/// `pkg/apis/v1/nodeclaim_status.go` (`Launched`, `Registered`,
/// `Initialized`, the three that make `Ready`), the same in v0.37
/// `pkg/apis/v1beta1/nodeclaim_status.go`.
impl NodeClaimInfo {
    fn is(&self, type_: &str) -> bool {
        condition(&self.conditions, type_).is_some_and(|c| c.status == "True")
    }
    pub fn launched(&self) -> bool {
        self.is("Launched")
    }
    pub fn registered(&self) -> bool {
        self.is("Registered")
    }
    pub fn initialized(&self) -> bool {
        self.is("Initialized")
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventInfo {
    pub object_kind: String,
    pub object_name: String,
    /// Normal or Warning.
    #[serde(rename = "type")]
    pub type_: String,
    pub reason: String,
    pub message: String,
    pub count: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    pub last_seen: Option<Timestamp>,
}

/// One Prometheus instant query and its answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PromAnswer {
    pub query: String,
    /// The samples, when the query ran (empty = no series matched).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub samples: Option<Vec<Sample>>,
    /// Why it did not run or failed: Prometheus's own `errorType: error`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl PromAnswer {
    /// The single value of a one-element answer; 0 for an empty `sum(...)`-style
    /// answer is NOT assumed here: an empty result is `None`.
    pub fn scalar(&self) -> Option<f64> {
        let samples = self.samples.as_ref()?;
        match samples.as_slice() {
            [one] => Some(one.value),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sample {
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// `+Inf` (a shipped alert's ratio at zero pods) is written as Prometheus
    /// writes it, the string `"+Inf"`: JSON has no infinity.
    #[serde(with = "prom_float")]
    pub value: f64,
    /// Sample time, unix seconds.
    pub timestamp: f64,
}

/// A sample value: a JSON number, or Prometheus's `"+Inf"`, `"-Inf"`,
/// `"NaN"` for what JSON cannot hold.
mod prom_float {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        if v.is_nan() {
            s.serialize_str("NaN")
        } else if v.is_infinite() {
            s.serialize_str(if *v > 0.0 { "+Inf" } else { "-Inf" })
        } else {
            s.serialize_f64(*v)
        }
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Number(f64),
        Text(String),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        match Either::deserialize(d)? {
            Either::Number(v) => Ok(v),
            Either::Text(t) => match t.as_str() {
                "+Inf" | "Inf" => Ok(f64::INFINITY),
                "-Inf" => Ok(f64::NEG_INFINITY),
                "NaN" => Ok(f64::NAN),
                other => other.parse().map_err(|_| {
                    serde::de::Error::custom("a sample value: a number, +Inf, -Inf or NaN")
                }),
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogLine {
    pub pod: String,
    pub line: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleInfo {
    pub group: String,
    pub name: String,
    pub query: String,
    /// firing | pending | inactive
    #[serde(default)]
    pub state: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LokiData {
    /// The LogQL selecting heartbeat events (the `lokiQuery` setting).
    pub query: String,
    /// Heartbeat events in the last 5 minutes (`sum(count_over_time(<query>[5m]))`);
    /// `None` when the query matched no stream at all.
    pub heartbeats_5m: Option<f64>,
    /// Distinct sessions still heartbeating with `event_data_status="active"`
    /// in the last 2 minutes.
    pub active_sessions_2m: Option<f64>,
    /// Stream label names Loki knows (read when the query matched nothing).
    #[serde(default)]
    pub labels: Vec<String>,
    /// An error from a query that ran but failed (bad LogQL, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::time::{Duration, Instant};

    /// Parsing is linear; a generous bound still catches a quadratic parser.
    const BOUND: Duration = Duration::from_secs(1);

    fn example() -> String {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/scenarios/examples/healthy.snapshot.json"
        );
        std::fs::read_to_string(path).expect("example snapshot")
    }

    #[test]
    fn the_example_parses_as_json_and_as_yaml() {
        let text = example();
        let snap = parse_file(text.as_bytes()).expect("JSON");
        let yaml = serde_norway::to_string(&snap).expect("to YAML");
        parse_file(yaml.as_bytes()).expect("YAML");
    }

    #[test]
    fn errors_name_the_place_never_the_content() {
        for text in [
            "hunter2-token\n",
            "kind: hunter2\n",
            "{\"apiVersion\": \"hunter2\"}",
            "{\"pods\": \"hunter2\"}",
            "- hunter2",
        ] {
            let e = parse_file(text.as_bytes()).unwrap_err();
            assert!(!e.contains("hunter2"), "{text}: {e}");
        }
        let e = parse_file(b"  \n\t").unwrap_err();
        assert_eq!(e, "the file is empty");
        let text = example();
        let e = parse_file(&text.as_bytes()[..text.len() - 40]).unwrap_err();
        assert!(e.starts_with("unexpected end of file at line "), "{e}");
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 128,
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        #[test]
        fn any_bytes_parse_or_fail_without_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
            let start = Instant::now();
            let _ = parse_file(&bytes);
            prop_assert!(start.elapsed() < BOUND);
        }

        #[test]
        fn a_damaged_snapshot_parses_or_fails_without_panic(
            cut in any::<prop::sample::Index>(),
            at in any::<prop::sample::Index>(),
            byte in any::<u8>(),
        ) {
            let mut bytes = example().into_bytes();
            let i = at.index(bytes.len());
            bytes[i] = byte;
            bytes.truncate(cut.index(bytes.len() + 1));
            let start = Instant::now();
            if let Err(e) = parse_file(&bytes) {
                prop_assert!(!e.contains('\n') && e.len() < 200, "{}", e);
            }
            prop_assert!(start.elapsed() < BOUND);
        }

        /// Whatever a ScaledObject's trigger query says, the checks that read
        /// it as PromQL judge it without panicking.
        #[test]
        fn any_trigger_query_is_judged_without_panic(query in prop_oneof![
            any::<String>(),
            "(sum|rate|max|count|avg|\\(|\\)|\\[|\\]|\\{|\\}|\"|=~|=|,| by |[0-9]{1,3}[smhdwy]|nginx_http_requests_total|service|:){0,24}",
        ]) {
            let mut snap = crate::checks::testkit::healthy();
            let Some(Lookup::Found(so)) = snap.scaled_object.as_mut() else {
                panic!("the healthy snapshot has a ScaledObject");
            };
            so.triggers[0].metadata.insert("query".into(), query);
            let settings = crate::settings::Settings::defaults();
            let start = Instant::now();
            let findings = crate::checks::run(&snap, &settings, &crate::checks::Selection::default());
            prop_assert!(!findings.is_empty());
            prop_assert!(start.elapsed() < BOUND);
        }
    }
}
